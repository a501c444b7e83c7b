/* RabbitMQ over rabbitmq-c 0.11 (see amqp.h).
 *
 * One connection and channel 1 per handle. The library gives no help with
 * publisher confirms: after confirm.select every publish on the channel gets
 * the next delivery tag (1, 2, ...), and the broker answers with basic.ack
 * or basic.nack frames (multiple = every tag up to delivery_tag), preceded by
 * a basic.return for a mandatory message that no queue took. A basic.return
 * carries no delivery tag: the returned message is recognized by its
 * message_id (= event_id), else it is the one the next single ack names.
 *
 * A channel that both consumes and publishes (a worker republishing to its
 * retry queue) can receive deliveries while it waits for confirms: they are
 * read whole and kept in the handle, and shop_amqp_next returns them first.
 *
 * Heartbeats are only serviced inside library calls, so every wait here is
 * a library call (amqp_simple_wait_frame_noblock) with a deadline. Any
 * library or socket failure, a timeout while waiting for the broker, or a
 * channel/connection close from the server marks the handle dead: every
 * later call returns SHOP_EUNAVAIL and the owner closes it and reconnects. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include <amqp.h>
#include <amqp_tcp_socket.h>

#include "lib/amqp.h"
#include "lib/conf.h"
#include "lib/err.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/util.h"

#define CHANNEL 1
#define FRAME_MAX 131072
#define UNROUTED_MAX_LENGTH 100000
#define MAX_HEADERS 8

/* A FIFO of deliveries read while waiting for something else. */
struct dq {
	struct shop_amqp_delivery *v;
	size_t head, n, cap;
};

struct shop_amqp {
	amqp_connection_state_t conn;
	bool chan_open;            /* channel 1 open (not closed by the server) */
	bool conn_open;            /* logged in, not closed by the server */
	bool dead;                 /* a failure happened: only shop_amqp_close is left */
	bool confirm;              /* confirm.select done */
	uint64_t next_tag;         /* delivery tag of the next publish (confirm mode) */
	unsigned timeout_ms;
	char host[128];
	unsigned port;
	struct dq pending;
};

/* The last connection failure of this thread: logged once per change. */
static _Thread_local char last_fail[200];

void shop_amqp_conf_from(struct shop_amqp_conf *c, const struct shop_conf *conf)
{
	memset(c, 0, sizeof(*c));
	c->host = shop_conf_get(conf, "amqp.host", "127.0.0.1");
	c->port = (unsigned)shop_conf_int(conf, "amqp.port", 5673);
	c->vhost = shop_conf_get(conf, "amqp.vhost", "shop");
	c->user = shop_conf_get(conf, "amqp.user", "shop");
	c->password = shop_conf_get(conf, "amqp.password", "");
	c->heartbeat = (unsigned)shop_conf_int(conf, "amqp.heartbeat", 30);
	c->timeout_ms = (unsigned)shop_conf_int(conf, "amqp.timeout_ms", 5000);
}

static struct timeval tv_ms(long long ms)
{
	struct timeval tv;

	if (ms < 0)
		ms = 0;
	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)((ms % 1000) * 1000);
	return tv;
}

static void dead(struct shop_amqp *a)
{
	a->dead = true;
}

/* ------------------------------------------------------------------ */
/* Replies and server closes */

static void bytes_text(char *out, size_t outsz, amqp_bytes_t b)
{
	size_t n = b.len < outsz - 1 ? b.len : outsz - 1;

	if (n)
		memcpy(out, b.bytes, n);
	out[n] = '\0';
}

/* The server closed the channel or the connection: answer close-ok, log why. */
static void server_closed(struct shop_amqp *a, const amqp_method_t *m, const char *what)
{
	char text[200];

	if (m->id == AMQP_CHANNEL_CLOSE_METHOD) {
		const amqp_channel_close_t *c = m->decoded;
		amqp_channel_close_ok_t ok = { 0 };

		bytes_text(text, sizeof(text), c->reply_text);
		shop_log_error("amqp: %s: channel closed by the broker: %u %s", what,
		    (unsigned)c->reply_code, text);
		amqp_send_method(a->conn, CHANNEL, AMQP_CHANNEL_CLOSE_OK_METHOD, &ok);
		a->chan_open = false;
	} else if (m->id == AMQP_CONNECTION_CLOSE_METHOD) {
		const amqp_connection_close_t *c = m->decoded;
		amqp_connection_close_ok_t ok = { 0 };

		bytes_text(text, sizeof(text), c->reply_text);
		shop_log_error("amqp: %s: connection closed by the broker: %u %s", what,
		    (unsigned)c->reply_code, text);
		amqp_send_method(a->conn, 0, AMQP_CONNECTION_CLOSE_OK_METHOD, &ok);
		a->chan_open = false;
		a->conn_open = false;
	}
	dead(a);
}

/* Checks the reply of the last RPC. Returns 0 or SHOP_EUNAVAIL (handle dead). */
static int rpc_check(struct shop_amqp *a, const char *what)
{
	amqp_rpc_reply_t r = amqp_get_rpc_reply(a->conn);

	switch (r.reply_type) {
	case AMQP_RESPONSE_NORMAL:
		return 0;
	case AMQP_RESPONSE_SERVER_EXCEPTION:
		server_closed(a, &r.reply, what);
		return SHOP_EUNAVAIL;
	case AMQP_RESPONSE_LIBRARY_EXCEPTION:
		shop_log_warn("amqp: %s: %s", what, amqp_error_string2(r.library_error));
		a->chan_open = a->conn_open = false;
		break;
	default:
		shop_log_warn("amqp: %s: no reply", what);
		break;
	}
	dead(a);
	return SHOP_EUNAVAIL;
}

/* ------------------------------------------------------------------ */
/* Connect and close */

static void connect_failed(const struct shop_amqp_conf *c, const char *why)
{
	char msg[sizeof(last_fail)];

	snprintf(msg, sizeof(msg), "%s:%u vhost %s user %s: %s", c->host ? c->host : "?",
	    c->port, c->vhost ? c->vhost : "?", c->user ? c->user : "?", why);
	if (strcmp(msg, last_fail) != 0) {
		shop_log_warn("amqp: cannot connect to %s", msg);
		snprintf(last_fail, sizeof(last_fail), "%s", msg);
	} else {
		shop_log_debug("amqp: cannot connect to %s", msg);
	}
}

int shop_amqp_connect(struct shop_amqp **handle, const struct shop_amqp_conf *c)
{
	struct shop_amqp *a;
	amqp_socket_t *sock;
	amqp_rpc_reply_t r;
	struct timeval tv;
	char why[160];
	int st;

	*handle = NULL;
	a = shop_xcalloc(1, sizeof(*a));
	a->timeout_ms = c->timeout_ms ? c->timeout_ms : 5000;
	snprintf(a->host, sizeof(a->host), "%s", c->host ? c->host : "127.0.0.1");
	a->port = c->port;
	a->conn = amqp_new_connection();
	sock = a->conn ? amqp_tcp_socket_new(a->conn) : NULL;
	if (!sock) {
		/* Out of memory is the one failure that is not returned. */
		shop_log_error("amqp: out of memory");
		abort();
	}
	tv = tv_ms(a->timeout_ms);
	amqp_set_handshake_timeout(a->conn, &tv);
	amqp_set_rpc_timeout(a->conn, &tv);
	st = amqp_socket_open_noblock(sock, a->host, (int)c->port, &tv);
	if (st != AMQP_STATUS_OK) {
		/* rabbitmq-c keeps the socket's own error to itself. */
		snprintf(why, sizeof(why), "%s%s", amqp_error_string2(st),
		    st == AMQP_STATUS_SOCKET_ERROR ? " (refused or unreachable)" : "");
		goto out;
	}
	r = amqp_login(a->conn, c->vhost ? c->vhost : "/", 0, FRAME_MAX, (int)c->heartbeat,
	    AMQP_SASL_METHOD_PLAIN, c->user ? c->user : "", c->password ? c->password : "");
	if (r.reply_type != AMQP_RESPONSE_NORMAL) {
		if (r.reply_type == AMQP_RESPONSE_SERVER_EXCEPTION &&
		    r.reply.id == AMQP_CONNECTION_CLOSE_METHOD) {
			const amqp_connection_close_t *cc = r.reply.decoded;
			char text[120];

			bytes_text(text, sizeof(text), cc->reply_text);
			snprintf(why, sizeof(why), "login refused: %u %s",
			    (unsigned)cc->reply_code, text);
		} else if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION) {
			/* RabbitMQ drops the socket on bad credentials. */
			snprintf(why, sizeof(why), "login failed: %s",
			    amqp_error_string2(r.library_error));
		} else {
			snprintf(why, sizeof(why), "login failed");
		}
		goto out;
	}
	a->conn_open = true;
	amqp_channel_open(a->conn, CHANNEL);
	r = amqp_get_rpc_reply(a->conn);
	if (r.reply_type != AMQP_RESPONSE_NORMAL) {
		snprintf(why, sizeof(why), "channel.open failed");
		goto out;
	}
	a->chan_open = true;
	if (last_fail[0]) {
		shop_log_info("amqp: connected to %s:%u", a->host, a->port);
		last_fail[0] = '\0';
	}
	*handle = a;
	return 0;
out:
	connect_failed(c, why);
	a->dead = true;
	shop_amqp_close(a);
	return SHOP_EUNAVAIL;
}

static void dq_clear(struct dq *q);

void shop_amqp_close(struct shop_amqp *a)
{
	if (!a)
		return;
	if (a->conn) {
		/* Politely when the connection still works (the broker requeues
		 * what was not acked either way). */
		if (!a->dead) {
			if (a->chan_open)
				amqp_channel_close(a->conn, CHANNEL, AMQP_REPLY_SUCCESS);
			if (a->conn_open)
				amqp_connection_close(a->conn, AMQP_REPLY_SUCCESS);
		}
		amqp_destroy_connection(a->conn);
	}
	dq_clear(&a->pending);
	free(a->pending.v);
	free(a);
}

/* ------------------------------------------------------------------ */
/* Topology */

static amqp_table_entry_t str_entry(const char *key, const char *val)
{
	amqp_table_entry_t e;

	memset(&e, 0, sizeof(e));
	e.key = amqp_cstring_bytes(key);
	e.value.kind = AMQP_FIELD_KIND_UTF8;
	e.value.value.bytes = amqp_cstring_bytes(val);
	return e;
}

static amqp_table_entry_t int_entry(const char *key, int64_t val)
{
	amqp_table_entry_t e;

	memset(&e, 0, sizeof(e));
	e.key = amqp_cstring_bytes(key);
	e.value.kind = AMQP_FIELD_KIND_I64;
	e.value.value.i64 = val;
	return e;
}

static int decl_exchange(struct shop_amqp *a, const char *name, const char *type,
    amqp_table_entry_t *args, int nargs)
{
	amqp_table_t t = { .num_entries = nargs, .entries = args };
	char what[160];

	snprintf(what, sizeof(what), "exchange.declare %s", name);
	amqp_exchange_declare(a->conn, CHANNEL, amqp_cstring_bytes(name), amqp_cstring_bytes(type),
	    0, 1, 0, 0, t);
	return rpc_check(a, what);
}

static int decl_queue(struct shop_amqp *a, const char *name, amqp_table_entry_t *args, int nargs)
{
	amqp_table_t t = { .num_entries = nargs, .entries = args };
	char what[160];

	snprintf(what, sizeof(what), "queue.declare %s", name);
	amqp_queue_declare(a->conn, CHANNEL, amqp_cstring_bytes(name), 0, 1, 0, 0, t);
	return rpc_check(a, what);
}

static int decl_bind(struct shop_amqp *a, const char *q, const char *ex, const char *key)
{
	char what[200];

	snprintf(what, sizeof(what), "queue.bind %s to %s key %s", q, ex, key);
	amqp_queue_bind(a->conn, CHANNEL, amqp_cstring_bytes(q), amqp_cstring_bytes(ex),
	    amqp_cstring_bytes(key), amqp_empty_table);
	return rpc_check(a, what);
}

static int declare_queue(struct shop_amqp *a, const struct shop_amqp_queue *q)
{
	char retry[160], dlq[160];
	amqp_table_entry_t args[3];
	int rc;

	if (snprintf(retry, sizeof(retry), "%s.retry", q->name) >= (int)sizeof(retry) ||
	    snprintf(dlq, sizeof(dlq), "%s.dlq", q->name) >= (int)sizeof(dlq)) {
		shop_log_error("amqp: queue name too long: %s", q->name);
		return SHOP_EINVAL;
	}
	args[0] = str_entry("x-queue-type", "quorum");
	args[1] = str_entry("x-dead-letter-exchange", "shop.dlx");
	args[2] = str_entry("x-dead-letter-routing-key", dlq);
	if ((rc = decl_queue(a, q->name, args, 3)) != 0)
		return rc;
	for (const char *const *k = q->routing_keys; k && *k; k++)
		if ((rc = decl_bind(a, q->name, "shop.events", *k)) != 0)
			return rc;

	/* Expired messages go back to Q through the default exchange. */
	args[1] = str_entry("x-dead-letter-exchange", "");
	args[2] = str_entry("x-dead-letter-routing-key", q->name);
	if ((rc = decl_queue(a, retry, args, 3)) != 0)
		return rc;

	if ((rc = decl_queue(a, dlq, args, 1)) != 0)
		return rc;
	return decl_bind(a, dlq, "shop.dlx", dlq);
}

int shop_amqp_declare_topology(struct shop_amqp *a, const struct shop_amqp_queue *queues, size_t n)
{
	amqp_table_entry_t args[1];
	int rc;

	if (a->dead)
		return SHOP_EUNAVAIL;
	if ((rc = decl_exchange(a, "shop.unrouted", "fanout", NULL, 0)) != 0)
		return rc;
	args[0] = int_entry("x-max-length", UNROUTED_MAX_LENGTH);
	if ((rc = decl_queue(a, "shop.unrouted", args, 1)) != 0)
		return rc;
	if ((rc = decl_bind(a, "shop.unrouted", "shop.unrouted", "")) != 0)
		return rc;
	args[0] = str_entry("alternate-exchange", "shop.unrouted");
	if ((rc = decl_exchange(a, "shop.events", "topic", args, 1)) != 0)
		return rc;
	if ((rc = decl_exchange(a, "shop.dlx", "direct", NULL, 0)) != 0)
		return rc;
	for (size_t i = 0; i < n; i++)
		if ((rc = declare_queue(a, &queues[i])) != 0)
			return rc;
	amqp_maybe_release_buffers(a->conn);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Deliveries */

static void dq_push(struct dq *q, const struct shop_amqp_delivery *d)
{
	if (q->n == q->cap) {
		size_t cap = q->cap ? 2 * q->cap : 16;
		struct shop_amqp_delivery *v = shop_xcalloc(cap, sizeof(*v));

		for (size_t i = 0; i < q->n; i++)
			v[i] = q->v[(q->head + i) % q->cap];
		free(q->v);
		q->v = v;
		q->head = 0;
		q->cap = cap;
	}
	q->v[(q->head + q->n) % q->cap] = *d;
	q->n++;
}

static bool dq_pop(struct dq *q, struct shop_amqp_delivery *d)
{
	if (q->n == 0)
		return false;
	*d = q->v[q->head];
	q->head = (q->head + 1) % q->cap;
	q->n--;
	return true;
}

static void dq_clear(struct dq *q)
{
	struct shop_amqp_delivery d;

	while (dq_pop(q, &d))
		shop_amqp_delivery_free(&d);
}

void shop_amqp_delivery_free(struct shop_amqp_delivery *d)
{
	if (!d)
		return;
	free(d->body);
	d->body = NULL;
	d->len = 0;
}

static const amqp_field_value_t *header(const amqp_basic_properties_t *p, const char *key)
{
	size_t n = strlen(key);

	if (!(p->_flags & AMQP_BASIC_HEADERS_FLAG))
		return NULL;
	for (int i = 0; i < p->headers.num_entries; i++) {
		const amqp_table_entry_t *e = &p->headers.entries[i];

		if (e->key.len == n && memcmp(e->key.bytes, key, n) == 0)
			return &e->value;
	}
	return NULL;
}

/* Copies a string header (truncated to the field). */
static void header_str(char *out, size_t outsz, const amqp_basic_properties_t *p,
    const char *key)
{
	const amqp_field_value_t *v = header(p, key);

	out[0] = '\0';
	if (v && (v->kind == AMQP_FIELD_KIND_UTF8 || v->kind == AMQP_FIELD_KIND_BYTES))
		bytes_text(out, outsz, v->value.bytes);
}

static long long header_int(const amqp_basic_properties_t *p, const char *key)
{
	const amqp_field_value_t *v = header(p, key);

	if (!v)
		return 0;
	switch (v->kind) {
	case AMQP_FIELD_KIND_I8: return v->value.i8;
	case AMQP_FIELD_KIND_U8: return v->value.u8;
	case AMQP_FIELD_KIND_I16: return v->value.i16;
	case AMQP_FIELD_KIND_U16: return v->value.u16;
	case AMQP_FIELD_KIND_I32: return v->value.i32;
	case AMQP_FIELD_KIND_U32: return v->value.u32;
	case AMQP_FIELD_KIND_I64: return v->value.i64;
	case AMQP_FIELD_KIND_U64: return v->value.u64 > INT64_MAX ? 0 : (long long)v->value.u64;
	default: return 0;
	}
}

/* Reads the content of a basic.deliver just received into d. The method's
 * fields are copied before the content is read. Returns 0 or SHOP_EUNAVAIL. */
static int read_delivery(struct shop_amqp *a, const amqp_basic_deliver_t *m,
    struct shop_amqp_delivery *d)
{
	const amqp_basic_properties_t *p;
	amqp_message_t msg;
	amqp_rpc_reply_t r;
	long long attempt;

	memset(d, 0, sizeof(*d));
	d->tag = m->delivery_tag;
	d->redelivered = m->redelivered != 0;
	bytes_text(d->routing_key, sizeof(d->routing_key), m->routing_key);

	r = amqp_read_message(a->conn, CHANNEL, &msg, 0);
	if (r.reply_type != AMQP_RESPONSE_NORMAL) {
		if (r.reply_type == AMQP_RESPONSE_SERVER_EXCEPTION)
			server_closed(a, &r.reply, "reading a delivery");
		else
			shop_log_warn("amqp: reading a delivery: %s",
			    amqp_error_string2(r.library_error));
		dead(a);
		return SHOP_EUNAVAIL;
	}
	p = &msg.properties;
	header_str(d->event_id, sizeof(d->event_id), p, "event_id");
	if (!d->event_id[0] && (p->_flags & AMQP_BASIC_MESSAGE_ID_FLAG))
		bytes_text(d->event_id, sizeof(d->event_id), p->message_id);
	header_str(d->event_type, sizeof(d->event_type), p, "event_type");
	if (!d->event_type[0]) {
		size_t n = strnlen(d->routing_key, sizeof(d->event_type) - 1);

		memcpy(d->event_type, d->routing_key, n);
		d->event_type[n] = '\0';
	}
	header_str(d->request_id, sizeof(d->request_id), p, "request_id");
	header_str(d->occurred_at, sizeof(d->occurred_at), p, "occurred_at");
	attempt = header_int(p, "x-attempt");
	d->attempt = attempt > 0 && attempt < 1000000 ? (unsigned)attempt : 0;
	d->len = msg.body.len;
	d->body = shop_xmalloc(d->len + 1);
	if (d->len)
		memcpy(d->body, msg.body.bytes, d->len);
	d->body[d->len] = '\0';
	amqp_destroy_message(&msg);
	return 0;
}

/* Reads and drops the content of a basic.return; *message_id gets its id. */
static int read_return(struct shop_amqp *a, const amqp_basic_return_t *m, char *message_id,
    size_t idsz)
{
	char text[120], key[128];
	amqp_message_t msg;
	amqp_rpc_reply_t r;

	bytes_text(text, sizeof(text), m->reply_text);
	bytes_text(key, sizeof(key), m->routing_key);
	message_id[0] = '\0';
	r = amqp_read_message(a->conn, CHANNEL, &msg, 0);
	if (r.reply_type != AMQP_RESPONSE_NORMAL) {
		if (r.reply_type == AMQP_RESPONSE_SERVER_EXCEPTION)
			server_closed(a, &r.reply, "reading a returned message");
		dead(a);
		return SHOP_EUNAVAIL;
	}
	if (msg.properties._flags & AMQP_BASIC_MESSAGE_ID_FLAG)
		bytes_text(message_id, idsz, msg.properties.message_id);
	shop_log_warn("amqp: message %s to routing key %s returned: %u %s",
	    message_id[0] ? message_id : "(no id)", key, (unsigned)m->reply_code, text);
	amqp_destroy_message(&msg);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Publishing with confirms */

int shop_amqp_confirm_select(struct shop_amqp *a)
{
	if (a->dead)
		return SHOP_EUNAVAIL;
	if (a->confirm)
		return 0;
	amqp_confirm_select(a->conn, CHANNEL);
	if (rpc_check(a, "confirm.select") != 0)
		return SHOP_EUNAVAIL;
	a->confirm = true;
	a->next_tag = 1;
	return 0;
}

enum { P_WAIT, P_RETURNED, P_DONE };

static int publish_one(struct shop_amqp *a, const struct shop_amqp_msg *m)
{
	amqp_basic_properties_t p;
	amqp_table_entry_t h[MAX_HEADERS];
	char expiration[24];
	int nh = 0, st;

	memset(&p, 0, sizeof(p));
	p._flags = AMQP_BASIC_CONTENT_TYPE_FLAG | AMQP_BASIC_DELIVERY_MODE_FLAG |
	    AMQP_BASIC_HEADERS_FLAG;
	p.content_type = amqp_cstring_bytes("application/json");
	p.delivery_mode = 2; /* persistent */
	if (m->event_id) {
		p._flags |= AMQP_BASIC_MESSAGE_ID_FLAG;
		p.message_id = amqp_cstring_bytes(m->event_id);
		h[nh++] = str_entry("event_id", m->event_id);
	}
	if (m->event_type)
		h[nh++] = str_entry("event_type", m->event_type);
	if (m->request_id && m->request_id[0])
		h[nh++] = str_entry("request_id", m->request_id);
	if (m->occurred_at)
		h[nh++] = str_entry("occurred_at", m->occurred_at);
	if (m->attempt > 0) {
		h[nh] = int_entry("x-attempt", 0);
		h[nh].value.kind = AMQP_FIELD_KIND_I32;
		h[nh].value.value.i32 = (int32_t)m->attempt;
		nh++;
	}
	p.headers.num_entries = nh;
	p.headers.entries = h;
	if (m->expiration_ms > 0) {
		snprintf(expiration, sizeof(expiration), "%u", m->expiration_ms);
		p._flags |= AMQP_BASIC_EXPIRATION_FLAG;
		p.expiration = amqp_cstring_bytes(expiration);
	}
	st = amqp_basic_publish(a->conn, CHANNEL,
	    amqp_cstring_bytes(m->exchange ? m->exchange : ""),
	    amqp_cstring_bytes(m->routing_key ? m->routing_key : ""), 1, 0, &p,
	    (amqp_bytes_t){ .len = m->len, .bytes = (void *)m->body });
	if (st != AMQP_STATUS_OK) {
		shop_log_warn("amqp: publish to %s failed: %s",
		    m->routing_key ? m->routing_key : "", amqp_error_string2(st));
		dead(a);
		return SHOP_EUNAVAIL;
	}
	return 0;
}

/* Settles the messages an ack or nack names. */
static void settle(unsigned char *state, bool *ok, size_t n, uint64_t first, uint64_t tag,
    bool multiple, bool acked, size_t *left)
{
	for (size_t i = 0; i < n; i++) {
		uint64_t t = first + i;

		if (state[i] == P_DONE || t > tag || (!multiple && t != tag))
			continue;
		ok[i] = acked && state[i] != P_RETURNED;
		state[i] = P_DONE;
		(*left)--;
	}
}

int shop_amqp_publish(struct shop_amqp *a, const struct shop_amqp_msg *msgs, size_t n,
    bool *ok, int timeout_ms)
{
	unsigned char *state = NULL;
	double deadline;
	uint64_t first;
	size_t left = n;
	bool return_next = false; /* a return we could not match: the next single ack */
	int rc = 0;

	for (size_t i = 0; i < n; i++)
		ok[i] = false;
	if (a->dead)
		return SHOP_EUNAVAIL;
	if (!a->confirm && (rc = shop_amqp_confirm_select(a)) != 0)
		return rc;
	if (n == 0)
		return 0;
	state = shop_xcalloc(n, 1);
	first = a->next_tag;
	for (size_t i = 0; i < n; i++) {
		if ((rc = publish_one(a, &msgs[i])) != 0)
			goto out;
		a->next_tag++;
	}

	deadline = shop_mono_ms() + (timeout_ms > 0 ? timeout_ms : 0);
	while (left > 0) {
		amqp_frame_t f;
		struct timeval tv;
		double now = shop_mono_ms();
		int st;

		if (now >= deadline) {
			shop_log_warn("amqp: %zu of %zu confirms missing after %d ms", left, n,
			    timeout_ms);
			dead(a);
			rc = SHOP_EUNAVAIL;
			goto out;
		}
		tv = tv_ms((long long)(deadline - now) + 1);
		st = amqp_simple_wait_frame_noblock(a->conn, &f, &tv);
		if (st == AMQP_STATUS_TIMEOUT)
			continue;
		if (st != AMQP_STATUS_OK) {
			shop_log_warn("amqp: waiting for confirms: %s", amqp_error_string2(st));
			dead(a);
			rc = SHOP_EUNAVAIL;
			goto out;
		}
		if (f.frame_type != AMQP_FRAME_METHOD)
			continue;
		switch (f.payload.method.id) {
		case AMQP_BASIC_ACK_METHOD: {
			const amqp_basic_ack_t *m = f.payload.method.decoded;

			if (return_next && !m->multiple && m->delivery_tag >= first &&
			    m->delivery_tag < first + n &&
			    state[m->delivery_tag - first] == P_WAIT)
				state[m->delivery_tag - first] = P_RETURNED;
			return_next = false;
			settle(state, ok, n, first, m->delivery_tag, m->multiple, true, &left);
			break;
		}
		case AMQP_BASIC_NACK_METHOD: {
			const amqp_basic_nack_t *m = f.payload.method.decoded;

			shop_log_warn("amqp: broker nacked delivery tag %" PRIu64 "%s",
			    m->delivery_tag, m->multiple ? " (and earlier)" : "");
			settle(state, ok, n, first, m->delivery_tag, m->multiple, false, &left);
			break;
		}
		case AMQP_BASIC_RETURN_METHOD: {
			amqp_basic_return_t ret = *(amqp_basic_return_t *)f.payload.method.decoded;
			char id[128];
			bool found = false;

			if ((rc = read_return(a, &ret, id, sizeof(id))) != 0)
				goto out;
			for (size_t i = 0; id[0] && i < n && !found; i++) {
				if (state[i] == P_WAIT && msgs[i].event_id &&
				    strcmp(msgs[i].event_id, id) == 0) {
					state[i] = P_RETURNED;
					found = true;
				}
			}
			return_next = !found;
			break;
		}
		case AMQP_BASIC_DELIVER_METHOD: {
			amqp_basic_deliver_t m = *(amqp_basic_deliver_t *)f.payload.method.decoded;
			struct shop_amqp_delivery d;

			if ((rc = read_delivery(a, &m, &d)) != 0)
				goto out;
			dq_push(&a->pending, &d);
			break;
		}
		case AMQP_CHANNEL_CLOSE_METHOD:
		case AMQP_CONNECTION_CLOSE_METHOD:
			server_closed(a, &f.payload.method, "waiting for confirms");
			rc = SHOP_EUNAVAIL;
			goto out;
		case AMQP_BASIC_CANCEL_METHOD:
			shop_log_warn("amqp: the broker cancelled the consumer");
			dead(a);
			rc = SHOP_EUNAVAIL;
			goto out;
		default:
			break;
		}
		amqp_maybe_release_buffers(a->conn);
	}
	for (size_t i = 0; i < n; i++)
		if (!ok[i])
			rc = SHOP_ECONFLICT;
out:
	if (a->conn)
		amqp_maybe_release_buffers(a->conn);
	free(state);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Consuming */

int shop_amqp_consume(struct shop_amqp *a, const char *q, unsigned prefetch)
{
	char what[160];

	if (a->dead)
		return SHOP_EUNAVAIL;
	if (prefetch == 0 || prefetch > 65535)
		prefetch = prefetch ? 65535 : 1;
	amqp_basic_qos(a->conn, CHANNEL, 0, (uint16_t)prefetch, 0);
	if (rpc_check(a, "basic.qos") != 0)
		return SHOP_EUNAVAIL;
	snprintf(what, sizeof(what), "basic.consume %s", q);
	amqp_basic_consume(a->conn, CHANNEL, amqp_cstring_bytes(q), amqp_empty_bytes, 0, 0, 0,
	    amqp_empty_table);
	return rpc_check(a, what);
}

int shop_amqp_next(struct shop_amqp *a, struct shop_amqp_delivery *d, int timeout_ms)
{
	double deadline = shop_mono_ms() + (timeout_ms > 0 ? timeout_ms : 0);
	int rc = 1;

	if (dq_pop(&a->pending, d))
		return 0;
	if (a->dead)
		return SHOP_EUNAVAIL;
	for (;;) {
		double now = shop_mono_ms();
		amqp_frame_t f;
		struct timeval tv;
		int st;

		/* Also with no time left: one non-blocking look, which services
		 * heartbeats and takes what is already buffered. */
		tv = tv_ms(now < deadline ? (long long)(deadline - now) + 1 : 0);
		st = amqp_simple_wait_frame_noblock(a->conn, &f, &tv);
		if (st == AMQP_STATUS_TIMEOUT) {
			rc = 1;
			break;
		}
		if (st != AMQP_STATUS_OK) {
			shop_log_warn("amqp: connection to %s:%u lost: %s", a->host, a->port,
			    amqp_error_string2(st));
			dead(a);
			rc = SHOP_EUNAVAIL;
			break;
		}
		if (f.frame_type == AMQP_FRAME_METHOD) {
			switch (f.payload.method.id) {
			case AMQP_BASIC_DELIVER_METHOD: {
				amqp_basic_deliver_t m =
				    *(amqp_basic_deliver_t *)f.payload.method.decoded;

				rc = read_delivery(a, &m, d);
				goto out;
			}
			case AMQP_BASIC_RETURN_METHOD: {
				amqp_basic_return_t ret =
				    *(amqp_basic_return_t *)f.payload.method.decoded;
				char id[128];

				/* Of a publish whose wait was given up: drop it. */
				if ((rc = read_return(a, &ret, id, sizeof(id))) != 0)
					goto out;
				break;
			}
			case AMQP_CHANNEL_CLOSE_METHOD:
			case AMQP_CONNECTION_CLOSE_METHOD:
				server_closed(a, &f.payload.method, "consuming");
				rc = SHOP_EUNAVAIL;
				goto out;
			case AMQP_BASIC_CANCEL_METHOD:
				shop_log_warn("amqp: the broker cancelled the consumer");
				dead(a);
				rc = SHOP_EUNAVAIL;
				goto out;
			default:
				break; /* stray confirms */
			}
		}
		amqp_maybe_release_buffers(a->conn);
		if (shop_mono_ms() >= deadline) {
			rc = 1;
			break;
		}
	}
out:
	amqp_maybe_release_buffers(a->conn);
	return rc;
}

int shop_amqp_ack(struct shop_amqp *a, uint64_t tag)
{
	int st;

	if (a->dead)
		return SHOP_EUNAVAIL;
	st = amqp_basic_ack(a->conn, CHANNEL, tag, 0);
	if (st != AMQP_STATUS_OK) {
		shop_log_warn("amqp: basic.ack failed: %s", amqp_error_string2(st));
		dead(a);
		return SHOP_EUNAVAIL;
	}
	return 0;
}

int shop_amqp_nack(struct shop_amqp *a, uint64_t tag, bool requeue)
{
	int st;

	if (a->dead)
		return SHOP_EUNAVAIL;
	st = amqp_basic_nack(a->conn, CHANNEL, tag, 0, requeue);
	if (st != AMQP_STATUS_OK) {
		shop_log_warn("amqp: basic.nack failed: %s", amqp_error_string2(st));
		dead(a);
		return SHOP_EUNAVAIL;
	}
	return 0;
}
