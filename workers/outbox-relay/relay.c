/* One schema's relay loop (see relay.h).
 *
 * Each round: read up to `batch` unsent rows in id order, publish them all
 * to shop.events (persistent, mandatory, routing key = event type), wait for
 * every confirm, then mark sent, in one transaction and by their ids (64,
 * 8, then 1 at a time), the confirmed rows that come before the first
 * unconfirmed one. A row that was
 * nacked or returned stays unsent, and so does everything after it, so that
 * the events of one aggregate reach the broker in order (the rows after it
 * that were confirmed are published again next round: consumers are
 * idempotent). Every delivery is therefore at least once.
 *
 * RabbitMQ down: nothing is read; reconnect with back-off (200 ms doubling
 * to 5 s). MariaDB down: rows stay where they are; retry with the same
 * back-off (lib/db reconnects by itself). Each outage is logged once when it
 * starts and once when it ends. While idle the thread waits inside the
 * AMQP library (shop_amqp_next), which services heartbeats and notices a
 * broker that went away. */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/err.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/metrics.h"
#include "lib/topology.h"
#include "lib/util.h"
#include "workers/outbox-relay/relay.h"

#define SLICE_MS 250
#define BACKOFF_MIN_MS 200
#define BACKOFF_MAX_MS 5000
#define CONFIRM_TIMEOUT_MS 15000
#define BACKLOG_EVERY_MS 1000

struct relay {
	const struct relay_opts *o;
	const char *schema;
	struct shop_db *db;
	struct shop_amqp *amqp;
	struct shop_arena *arena;
	struct shop_amqp_msg *msgs;
	long long *ids;
	bool *ok;
	double amqp_at;
	unsigned amqp_backoff;
	bool amqp_down;
	unsigned db_backoff;
	bool db_down;
	double measured_at;     /* the backlog's last measurement (metrics) */
};

struct mark {
	const long long *ids;
	size_t n;
};

static bool stopping(const struct relay *r)
{
	return atomic_load(&r->o->stop);
}

static unsigned next_backoff(unsigned ms)
{
	return ms >= BACKOFF_MAX_MS / 2 ? BACKOFF_MAX_MS : 2 * ms;
}

static void amqp_drop(struct relay *r)
{
	shop_amqp_close(r->amqp);
	r->amqp = NULL;
}

/* Waits ms (until stop): inside the AMQP library when connected. */
static void idle(struct relay *r, double ms)
{
	double end = shop_mono_ms() + ms;

	for (;;) {
		double left = end - shop_mono_ms();
		int slice = left > SLICE_MS ? SLICE_MS : (int)left;

		if (left <= 0 || stopping(r))
			return;
		if (r->amqp) {
			struct shop_amqp_delivery d;
			int rc = shop_amqp_next(r->amqp, &d, slice);

			if (rc == 0) {
				shop_amqp_delivery_free(&d); /* never consumes: cannot happen */
			} else if (rc < 0) {
				amqp_drop(r);
				if (!r->amqp_down)
					shop_log_warn("%s: lost the RabbitMQ connection: reconnecting",
					    r->schema);
				r->amqp_down = true;
				r->amqp_at = 0;
			}
		} else {
			struct pollfd p = { .fd = r->o->stop_fd, .events = POLLIN };

			poll(&p, 1, slice > 0 ? slice : 0);
		}
	}
}

static int amqp_up(struct relay *r)
{
	int rc = shop_amqp_connect(&r->amqp, &r->o->ac);

	if (rc)
		return rc;
	rc = shop_amqp_declare_topology(r->amqp, shop_topology, shop_ntopology);
	if (rc == 0)
		rc = shop_amqp_confirm_select(r->amqp);
	if (rc)
		amqp_drop(r);
	return rc;
}

/* Returns true when connected. */
static bool amqp_ready(struct relay *r)
{
	if (r->amqp)
		return true;
	if (shop_mono_ms() < r->amqp_at)
		return false;
	if (amqp_up(r) == 0) {
		shop_log_info("%s: publishing to RabbitMQ%s", r->schema,
		    r->amqp_down ? " again" : "");
		r->amqp_down = false;
		r->amqp_backoff = BACKOFF_MIN_MS;
		return true;
	}
	if (!r->amqp_down)
		shop_log_warn("%s: RabbitMQ unavailable at %s:%u: rows stay pending; retrying"
		    " with back-off up to %d ms", r->schema, r->o->ac.host, r->o->ac.port,
		    BACKOFF_MAX_MS);
	r->amqp_down = true;
	r->amqp_at = shop_mono_ms() + r->amqp_backoff;
	r->amqp_backoff = next_backoff(r->amqp_backoff);
	return false;
}

static void db_failed(struct relay *r, int rc, const char *what)
{
	if (!r->db_down)
		shop_log_warn("%s: %s: %s: retrying with back-off up to %d ms", r->schema, what,
		    shop_strerror(rc), BACKOFF_MAX_MS);
	r->db_down = true;
	idle(r, r->db_backoff);
	r->db_backoff = next_backoff(r->db_backoff);
}

static void db_ok(struct relay *r)
{
	if (r->db_down)
		shop_log_info("%s: database answers again", r->schema);
	r->db_down = false;
	r->db_backoff = BACKOFF_MIN_MS;
}

#define I8 "iiiiiiii"
#define I64 I8 I8 I8 I8 I8 I8 I8 I8
#define A8(p) (p)[0], (p)[1], (p)[2], (p)[3], (p)[4], (p)[5], (p)[6], (p)[7]
#define A64(p) A8(p), A8((p) + 8), A8((p) + 16), A8((p) + 24), A8((p) + 32), A8((p) + 40), \
	A8((p) + 48), A8((p) + 56)

/* Marks the rows by their ids, 64, then 8, then 1 at a time (relay_sql.c). */
static int mark_sent(struct shop_db *db, void *arg)
{
	const struct mark *m = arg;
	const long long *p = m->ids;
	size_t left = m->n;

	while (left > 0) {
		int rc;

		if (left >= 64) {
			rc = shop_db_exec(db, RELAY_SQL_MARK_SENT_64, I64, A64(p));
			p += 64, left -= 64;
		} else if (left >= 8) {
			rc = shop_db_exec(db, RELAY_SQL_MARK_SENT_8, I8, A8(p));
			p += 8, left -= 8;
		} else {
			rc = shop_db_exec(db, RELAY_SQL_MARK_SENT, "i", p[0]);
			p++, left--;
		}
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* The schema's backlog for the metrics, at most once a second. */
static void measure_backlog(struct relay *r)
{
	struct shop_rows rows;
	double now = shop_mono_ms();

	if (now < r->measured_at + BACKLOG_EVERY_MS)
		return;
	r->measured_at = now;
	if (shop_db_query(r->db, r->arena, &rows, RELAY_SQL_BACKLOG, "") != 0 || rows.n != 1)
		return;
	shop_metrics_outbox(r->schema, shop_row_int(&rows.row[0], 0),
	    shop_row_null(&rows.row[0], 1) ? 0.0 : (double)shop_row_int(&rows.row[0], 1) / 1000.0);
}

/* One round. Returns the number of rows published and marked, or -1 when
 * the round could not run (the caller has waited already). */
static long round_once(struct relay *r)
{
	struct shop_rows rows;
	struct mark m;
	double t0 = shop_mono_ms(), t1, t2;
	size_t n, k;
	int rc;

	rc = shop_db_query(r->db, r->arena, &rows, RELAY_SQL_PENDING, "i",
	    (long long)r->o->batch);
	if (rc) {
		db_failed(r, rc, "reading the outbox");
		return -1;
	}
	db_ok(r);
	n = rows.n;
	for (size_t i = 0; i < n; i++) {
		const struct shop_row *row = &rows.row[i];

		r->ids[i] = shop_row_int(row, 0);
		r->msgs[i] = (struct shop_amqp_msg){
			.exchange = "shop.events",
			.routing_key = shop_row_str(row, 2),
			.body = shop_row_str(row, 3),
			.len = row->len[3],
			.event_id = shop_row_str(row, 1),
			.event_type = shop_row_str(row, 2),
			.request_id = shop_row_str(row, 4),
			.occurred_at = shop_row_str(row, 5),
		};
	}
	if (n == 0)
		return 0;
	t1 = shop_mono_ms();
	rc = shop_amqp_publish(r->amqp, r->msgs, n, r->ok, CONFIRM_TIMEOUT_MS);
	t2 = shop_mono_ms();
	if (rc == SHOP_EUNAVAIL) {
		amqp_drop(r);
		shop_log_warn("%s: publishing %zu rows failed: they stay pending", r->schema, n);
		r->amqp_down = true;
		r->amqp_at = 0;
		return -1;
	}
	for (k = 0; k < n && r->ok[k]; k++)
		;
	if (k > 0) {
		m.ids = r->ids;
		m.n = k;
		rc = shop_db_tx(r->db, mark_sent, &m);
		if (rc) {
			/* Published but not marked: published again later (at least once). */
			db_failed(r, rc, "marking rows sent");
			return -1;
		}
		shop_metrics_outbox_published(r->schema, k);
	}
	shop_log_debug("%s: published %zu events (ids %lld..%lld): read %.1f ms, publish and"
	    " confirms %.1f ms, mark sent %.1f ms", r->schema, k, k ? r->ids[0] : 0,
	    k ? r->ids[k - 1] : 0, t1 - t0, t2 - t1, shop_mono_ms() - t2);
	if (k < n) {
		shop_log_error("%s: outbox row %lld (event %s, %s) was not confirmed by the broker:"
		    " it stays pending, and the rows after it wait", r->schema, r->ids[k],
		    r->msgs[k].event_id ? r->msgs[k].event_id : "?",
		    r->msgs[k].event_type ? r->msgs[k].event_type : "?");
		idle(r, r->amqp_backoff);
		r->amqp_backoff = next_backoff(r->amqp_backoff);
	}
	return (long)k;
}

void *relay_thread_main(void *arg)
{
	struct relay_thread *t = arg;
	const struct relay_opts *o = t->o;
	struct relay r = {
		.o = o,
		.schema = t->s->name,
		.amqp_backoff = BACKOFF_MIN_MS,
		.db_backoff = BACKOFF_MIN_MS,
	};

	r.db = shop_db_new(&o->dbc, t->s->sql, RELAY_SQL_COUNT);
	r.arena = shop_arena_new(256 * 1024);
	r.msgs = shop_xcalloc(o->batch, sizeof(*r.msgs));
	r.ids = shop_xcalloc(o->batch, sizeof(*r.ids));
	r.ok = shop_xcalloc(o->batch, sizeof(*r.ok));
	shop_log_info("%s: relaying %s.outbox (batch %u, poll %u ms)", r.schema, r.schema,
	    o->batch, o->poll_ms);

	while (!stopping(&r)) {
		long done;

		/* Also while the broker is away: that is when the backlog grows. */
		measure_backlog(&r);
		shop_arena_reset(r.arena);
		if (!amqp_ready(&r)) {
			idle(&r, r.amqp_at - shop_mono_ms());
			continue;
		}
		done = round_once(&r);
		shop_arena_reset(r.arena);
		/* A full batch: more may be waiting, go on at once. */
		if (done >= 0 && (unsigned long)done < o->batch)
			idle(&r, o->poll_ms);
	}

	amqp_drop(&r);
	shop_db_free(r.db);
	shop_arena_free(r.arena);
	free(r.msgs);
	free(r.ids);
	free(r.ok);
	return NULL;
}
