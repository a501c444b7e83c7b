/* lib/amqp.c against a real RabbitMQ (TAP through cmocka).
 *
 * The broker comes from the environment:
 *   SHOP_TEST_AMQP_HOST, SHOP_TEST_AMQP_PORT (both required),
 *   SHOP_TEST_AMQP_VHOST (default "shop"), SHOP_TEST_AMQP_USER ("shop"),
 *   SHOP_TEST_AMQP_PASSWORD ("")
 * e.g. from a test stack: . DIR/stack.env; SHOP_TEST_AMQP_HOST=127.0.0.1
 * SHOP_TEST_AMQP_PORT=$SHOP_AMQP_PORT SHOP_TEST_AMQP_PASSWORD=$SHOP_AMQP_PASSWORD.
 * Without them the program prints "1..0 # SKIP no broker".
 *
 * Every test uses queues of its own (test-amqp.<pid>.<n>, with their .retry
 * and .dlq), deleted at the end; the shop's own topology is declared too
 * (idempotent, as every worker does). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <amqp.h>
#include <amqp_tcp_socket.h>

#include "lib/amqp.h"
#include "lib/err.h"
#include "lib/log.h"
#include "lib/outbox.h"
#include "lib/topology.h"
#include "lib/util.h"

#define WAIT_MS 5000
#define MAX_QUEUES 16

static struct shop_amqp_conf bc;
static char qnames[MAX_QUEUES][96];
static size_t nq;

/* A new test queue bound to shop.events with key "<queue>.key". */
struct tq {
	char name[96];
	char key[112];
	char retry[112];
	char dlq[112];
	const char *keys[2];
	struct shop_amqp_queue q;
};

static void tq_init(struct tq *t)
{
	assert_true(nq < MAX_QUEUES);
	snprintf(t->name, sizeof(t->name), "test-amqp.%d.%zu", (int)getpid(), nq);
	snprintf(qnames[nq++], sizeof(qnames[0]), "%s", t->name);
	snprintf(t->key, sizeof(t->key), "%s.key", t->name);
	snprintf(t->retry, sizeof(t->retry), "%s.retry", t->name);
	snprintf(t->dlq, sizeof(t->dlq), "%s.dlq", t->name);
	t->keys[0] = t->key;
	t->keys[1] = NULL;
	t->q.name = t->name;
	t->q.routing_keys = t->keys;
}

static struct shop_amqp *connect_ok(void)
{
	struct shop_amqp *a = NULL;

	assert_int_equal(shop_amqp_connect(&a, &bc), 0);
	assert_non_null(a);
	return a;
}

/* Connected, with the shop's topology and t's queues declared. */
static struct shop_amqp *setup_queue(struct tq *t)
{
	struct shop_amqp *a = connect_ok();

	tq_init(t);
	assert_int_equal(shop_amqp_declare_topology(a, shop_topology, shop_ntopology), 0);
	assert_int_equal(shop_amqp_declare_topology(a, &t->q, 1), 0);
	return a;
}

static struct shop_amqp_msg msg(const char *exchange, const char *key, const char *body,
    const char *event_id)
{
	return (struct shop_amqp_msg){
		.exchange = exchange,
		.routing_key = key,
		.body = body,
		.len = strlen(body),
		.event_id = event_id,
		.event_type = "test.event",
		.request_id = "req-123",
		.occurred_at = "2026-11-21T12:00:00.123Z",
	};
}

/* The next delivery on a consuming handle whose event_id is id (others are
 * left unacked, so the broker requeues them at close). */
static void expect_delivery(struct shop_amqp *a, const char *id, struct shop_amqp_delivery *d)
{
	double end = shop_mono_ms() + WAIT_MS;

	for (;;) {
		int rc = shop_amqp_next(a, d, 200);

		assert_true(rc >= 0);
		if (rc == 0) {
			if (strcmp(d->event_id, id) == 0)
				return;
			shop_amqp_delivery_free(d);
		}
		assert_true(shop_mono_ms() < end);
	}
}

static void test_connect_refused(void **state)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	struct shop_amqp_conf c = bc;
	struct shop_amqp *a = NULL;
	socklen_t len = sizeof(sin);
	double t0;
	int fd;

	(void)state;
	/* A port nobody listens on: bound, read, closed. */
	fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	close(fd);
	c.host = "127.0.0.1";
	c.port = ntohs(sin.sin_port);
	t0 = shop_mono_ms();
	assert_int_equal(shop_amqp_connect(&a, &c), SHOP_EUNAVAIL);
	assert_null(a);
	assert_true(shop_mono_ms() - t0 < 1000);

	/* Bad credentials: refused, not hanging. */
	c = bc;
	c.password = "not-the-password";
	t0 = shop_mono_ms();
	assert_int_equal(shop_amqp_connect(&a, &c), SHOP_EUNAVAIL);
	assert_true(shop_mono_ms() - t0 < 3000);
}

static void test_declare_twice(void **state)
{
	struct shop_amqp *a;
	struct tq t;

	(void)state;
	a = setup_queue(&t);
	/* Again on the same connection and on a new one: idempotent. */
	assert_int_equal(shop_amqp_declare_topology(a, shop_topology, shop_ntopology), 0);
	assert_int_equal(shop_amqp_declare_topology(a, &t.q, 1), 0);
	shop_amqp_close(a);
	a = connect_ok();
	assert_int_equal(shop_amqp_declare_topology(a, &t.q, 1), 0);
	assert_int_equal(shop_amqp_declare_topology(a, shop_topology, shop_ntopology), 0);
	shop_amqp_close(a);
}

static void test_publish_consume_ack(void **state)
{
	struct shop_amqp *a, *c;
	struct shop_amqp_delivery d;
	struct shop_amqp_msg m;
	char id[37];
	bool ok = false;
	struct tq t;

	(void)state;
	a = setup_queue(&t);
	shop_event_id(id);
	m = msg("shop.events", t.key, "{\"n\":1}", id);
	assert_int_equal(shop_amqp_confirm_select(a), 0);
	assert_int_equal(shop_amqp_publish(a, &m, 1, &ok, WAIT_MS), 0);
	assert_true(ok);

	c = connect_ok();
	assert_int_equal(shop_amqp_consume(c, t.name, 10), 0);
	expect_delivery(c, id, &d);
	assert_string_equal(d.body, "{\"n\":1}");
	assert_int_equal(d.len, 7);
	assert_string_equal(d.event_type, "test.event");
	assert_string_equal(d.request_id, "req-123");
	assert_string_equal(d.occurred_at, "2026-11-21T12:00:00.123Z");
	assert_string_equal(d.routing_key, t.key);
	assert_int_equal(d.attempt, 0);
	assert_false(d.redelivered);
	assert_int_equal(shop_amqp_ack(c, d.tag), 0);
	shop_amqp_delivery_free(&d);
	/* Acked: gone, also after a reconnect. */
	assert_int_equal(shop_amqp_next(c, &d, 300), 1);
	shop_amqp_close(c);
	c = connect_ok();
	assert_int_equal(shop_amqp_consume(c, t.name, 10), 0);
	assert_int_equal(shop_amqp_next(c, &d, 300), 1);
	shop_amqp_close(c);
	shop_amqp_close(a);
}

/* A plain rabbitmq-c connection for what the shop's API does not do. */
static amqp_connection_state_t raw_connect(void)
{
	amqp_connection_state_t conn = amqp_new_connection();
	amqp_socket_t *sock = amqp_tcp_socket_new(conn);

	assert_int_equal(amqp_socket_open(sock, bc.host, (int)bc.port), AMQP_STATUS_OK);
	assert_int_equal(amqp_login(conn, bc.vhost, 0, 131072, 0, AMQP_SASL_METHOD_PLAIN, bc.user,
	    bc.password).reply_type, AMQP_RESPONSE_NORMAL);
	amqp_channel_open(conn, 1);
	assert_int_equal(amqp_get_rpc_reply(conn).reply_type, AMQP_RESPONSE_NORMAL);
	return conn;
}

static void raw_close(amqp_connection_state_t conn)
{
	amqp_channel_close(conn, 1, AMQP_REPLY_SUCCESS);
	amqp_connection_close(conn, AMQP_REPLY_SUCCESS);
	amqp_destroy_connection(conn);
}

static void test_unrouted(void **state)
{
	struct shop_amqp *a, *c;
	struct shop_amqp_delivery d;
	struct shop_amqp_msg m;
	amqp_connection_state_t raw;
	char id[37], key[96];
	bool ok = false;
	struct tq t;

	(void)state;
	a = connect_ok();
	assert_int_equal(shop_amqp_declare_topology(a, shop_topology, shop_ntopology), 0);
	/* A queue of the test's own on the shop.unrouted fanout sees a copy of
	 * everything the alternate exchange takes (shop.unrouted itself may
	 * hold a backlog). */
	tq_init(&t);
	raw = raw_connect();
	amqp_queue_declare(raw, 1, amqp_cstring_bytes(t.name), 0, 1, 0, 0, amqp_empty_table);
	assert_int_equal(amqp_get_rpc_reply(raw).reply_type, AMQP_RESPONSE_NORMAL);
	amqp_queue_bind(raw, 1, amqp_cstring_bytes(t.name), amqp_cstring_bytes("shop.unrouted"),
	    amqp_cstring_bytes(""), amqp_empty_table);
	assert_int_equal(amqp_get_rpc_reply(raw).reply_type, AMQP_RESPONSE_NORMAL);
	raw_close(raw);

	shop_event_id(id);
	snprintf(key, sizeof(key), "test-amqp.%d.nobody", (int)getpid());
	m = msg("shop.events", key, "{}", id);
	/* The alternate exchange takes it: confirmed, not returned. */
	assert_int_equal(shop_amqp_publish(a, &m, 1, &ok, WAIT_MS), 0);
	assert_true(ok);
	c = connect_ok();
	assert_int_equal(shop_amqp_consume(c, t.name, 100), 0);
	expect_delivery(c, id, &d);
	assert_string_equal(d.routing_key, key);
	assert_int_equal(shop_amqp_ack(c, d.tag), 0);
	shop_amqp_delivery_free(&d);
	shop_amqp_close(c);
	shop_amqp_close(a);
}

static void test_returned(void **state)
{
	struct shop_amqp *a;
	struct shop_amqp_msg m[4];
	char id[4][37], nowhere[96];
	bool ok[4];
	struct tq t;

	(void)state;
	a = setup_queue(&t);
	snprintf(nowhere, sizeof(nowhere), "test-amqp.%d.no-such-queue", (int)getpid());
	for (int i = 0; i < 4; i++)
		shop_event_id(id[i]);
	/* The default exchange has no alternate: mandatory makes it come back. */
	m[0] = msg("shop.events", t.key, "{}", id[0]);
	m[1] = msg("", nowhere, "{}", id[1]);
	m[2] = msg("shop.events", t.key, "{}", id[2]);
	m[3] = msg("", nowhere, "{}", NULL); /* no message id: matched by the ack after it */
	assert_int_equal(shop_amqp_publish(a, m, 4, ok, WAIT_MS), SHOP_ECONFLICT);
	assert_true(ok[0]);
	assert_false(ok[1]);
	assert_true(ok[2]);
	assert_false(ok[3]);
	/* The handle still works. */
	assert_int_equal(shop_amqp_publish(a, m, 1, ok, WAIT_MS), 0);
	assert_true(ok[0]);
	shop_amqp_close(a);
}

static void test_nack_dead_letters(void **state)
{
	struct shop_amqp *a, *c;
	struct shop_amqp_delivery d;
	struct shop_amqp_msg m;
	char id[37];
	bool ok;
	struct tq t;

	(void)state;
	a = setup_queue(&t);
	shop_event_id(id);
	m = msg("shop.events", t.key, "{\"poison\":true}", id);
	assert_int_equal(shop_amqp_publish(a, &m, 1, &ok, WAIT_MS), 0);
	c = connect_ok();
	assert_int_equal(shop_amqp_consume(c, t.name, 1), 0);
	expect_delivery(c, id, &d);
	assert_int_equal(shop_amqp_nack(c, d.tag, false), 0);
	shop_amqp_delivery_free(&d);
	assert_int_equal(shop_amqp_next(c, &d, 300), 1);
	shop_amqp_close(c);

	c = connect_ok();
	assert_int_equal(shop_amqp_consume(c, t.dlq, 1), 0);
	expect_delivery(c, id, &d);
	assert_string_equal(d.body, "{\"poison\":true}");
	assert_string_equal(d.event_type, "test.event");
	assert_int_equal(shop_amqp_ack(c, d.tag), 0);
	shop_amqp_delivery_free(&d);
	shop_amqp_close(c);
	shop_amqp_close(a);
}

static void test_requeue(void **state)
{
	struct shop_amqp *a;
	struct shop_amqp_delivery d;
	struct shop_amqp_msg m;
	char id[37];
	bool ok;
	struct tq t;

	(void)state;
	a = setup_queue(&t);
	shop_event_id(id);
	m = msg("shop.events", t.key, "{}", id);
	assert_int_equal(shop_amqp_publish(a, &m, 1, &ok, WAIT_MS), 0);
	assert_int_equal(shop_amqp_consume(a, t.name, 1), 0);
	expect_delivery(a, id, &d);
	assert_false(d.redelivered);
	assert_int_equal(shop_amqp_nack(a, d.tag, true), 0);
	shop_amqp_delivery_free(&d);
	expect_delivery(a, id, &d);
	assert_true(d.redelivered);
	assert_int_equal(shop_amqp_ack(a, d.tag), 0);
	shop_amqp_delivery_free(&d);
	shop_amqp_close(a);
}

static void test_retry_queue(void **state)
{
	struct shop_amqp *a;
	struct shop_amqp_delivery d;
	struct shop_amqp_msg m;
	char id[37];
	bool ok = false;
	double t0;
	struct tq t;

	(void)state;
	a = setup_queue(&t);
	assert_int_equal(shop_amqp_confirm_select(a), 0);
	assert_int_equal(shop_amqp_consume(a, t.name, 10), 0);
	shop_event_id(id);
	m = msg("", t.retry, "{\"retry\":1}", id);
	m.event_type = "order.paid";
	m.attempt = 3;
	m.expiration_ms = 400;
	t0 = shop_mono_ms();
	/* Publishing on the consuming channel, as the worker runner does. */
	assert_int_equal(shop_amqp_publish(a, &m, 1, &ok, WAIT_MS), 0);
	assert_true(ok);
	expect_delivery(a, id, &d);
	/* Back through the default exchange with Q as the routing key. */
	assert_true(shop_mono_ms() - t0 >= 350);
	assert_int_equal(d.attempt, 3);
	assert_string_equal(d.event_type, "order.paid");
	assert_string_equal(d.routing_key, t.name);
	assert_string_equal(d.body, "{\"retry\":1}");
	assert_int_equal(shop_amqp_ack(a, d.tag), 0);
	shop_amqp_delivery_free(&d);
	shop_amqp_close(a);
}

/* Deliveries that arrive while a publish waits for its confirms are kept, in order. */
static void test_deliveries_during_publish(void **state)
{
	enum { N = 300 };
	static struct shop_amqp_msg m[N];
	static char ids[N][37];
	static bool ok[N];
	struct shop_amqp *a;
	struct shop_amqp_delivery d;
	struct tq t;

	(void)state;
	a = setup_queue(&t);
	assert_int_equal(shop_amqp_consume(a, t.name, 1000), 0);
	for (int i = 0; i < N; i++) {
		shop_event_id(ids[i]);
		m[i] = msg("shop.events", t.key, "{}", ids[i]);
	}
	assert_int_equal(shop_amqp_publish(a, m, N, ok, WAIT_MS), 0);
	for (int i = 0; i < N; i++)
		assert_true(ok[i]);
	for (int i = 0; i < N; i++) {
		assert_int_equal(shop_amqp_next(a, &d, WAIT_MS), 0);
		assert_string_equal(d.event_id, ids[i]);
		assert_int_equal(shop_amqp_ack(a, d.tag), 0);
		shop_amqp_delivery_free(&d);
	}
	assert_int_equal(shop_amqp_next(a, &d, 200), 1);
	shop_amqp_close(a);
}

/* A server error (a queue that does not exist) kills the handle cleanly. */
static void test_channel_error(void **state)
{
	struct shop_amqp *a = connect_ok();
	struct shop_amqp_delivery d;
	char name[96];

	(void)state;
	snprintf(name, sizeof(name), "test-amqp.%d.missing", (int)getpid());
	assert_int_equal(shop_amqp_consume(a, name, 1), SHOP_EUNAVAIL);
	assert_int_equal(shop_amqp_next(a, &d, 0), SHOP_EUNAVAIL);
	assert_int_equal(shop_amqp_ack(a, 1), SHOP_EUNAVAIL);
	shop_amqp_close(a);
}

/* Deletes the test queues with a plain rabbitmq-c connection. */
static int cleanup(void **state)
{
	amqp_connection_state_t conn = amqp_new_connection();
	amqp_socket_t *sock = amqp_tcp_socket_new(conn);
	amqp_rpc_reply_t r;

	(void)state;
	if (amqp_socket_open(sock, bc.host, (int)bc.port) != AMQP_STATUS_OK)
		goto out;
	r = amqp_login(conn, bc.vhost, 0, 131072, 0, AMQP_SASL_METHOD_PLAIN, bc.user, bc.password);
	if (r.reply_type != AMQP_RESPONSE_NORMAL)
		goto out;
	amqp_channel_open(conn, 1);
	for (size_t i = 0; i < nq; i++) {
		static const char *const suffix[] = { "", ".retry", ".dlq" };

		for (int s = 0; s < 3; s++) {
			char q[128];

			snprintf(q, sizeof(q), "%s%s", qnames[i], suffix[s]);
			amqp_queue_delete(conn, 1, amqp_cstring_bytes(q), 0, 0);
			if (amqp_get_rpc_reply(conn).reply_type != AMQP_RESPONSE_NORMAL)
				goto out;
		}
	}
	amqp_channel_close(conn, 1, AMQP_REPLY_SUCCESS);
	amqp_connection_close(conn, AMQP_REPLY_SUCCESS);
out:
	amqp_destroy_connection(conn);
	return 0;
}

static const char *env(const char *k, const char *def)
{
	const char *v = getenv(k);

	return v && *v ? v : def;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_connect_refused),
		cmocka_unit_test(test_declare_twice),
		cmocka_unit_test(test_publish_consume_ack),
		cmocka_unit_test(test_unrouted),
		cmocka_unit_test(test_returned),
		cmocka_unit_test(test_nack_dead_letters),
		cmocka_unit_test(test_requeue),
		cmocka_unit_test(test_retry_queue),
		cmocka_unit_test(test_deliveries_during_publish),
		cmocka_unit_test(test_channel_error),
	};
	const char *port = env("SHOP_TEST_AMQP_PORT", NULL);

	if (!env("SHOP_TEST_AMQP_HOST", NULL) || !port) {
		printf("1..0 # SKIP no broker (set SHOP_TEST_AMQP_HOST and SHOP_TEST_AMQP_PORT)\n");
		return 0;
	}
	/* Diagnostics on stderr (the TAP stream is stdout); the warnings of
	 * refused connections and returned messages are expected. */
	shop_log_init("test_amqp", 2, SHOP_LOG_WARN);
	bc.host = env("SHOP_TEST_AMQP_HOST", NULL);
	bc.port = (unsigned)atoi(port);
	bc.vhost = env("SHOP_TEST_AMQP_VHOST", "shop");
	bc.user = env("SHOP_TEST_AMQP_USER", "shop");
	bc.password = env("SHOP_TEST_AMQP_PASSWORD", "");
	bc.heartbeat = 30;
	bc.timeout_ms = 5000;
	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, cleanup);
}
