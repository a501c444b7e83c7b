/* The runner of a background worker (see worker.h).
 *
 * One thread does everything, in this loop:
 *   - (re)connect to RabbitMQ when there is no connection and its back-off
 *     has passed (200 ms doubling to 5 s): connect, declare the whole
 *     topology (lib/topology.c), confirm.select (retries are republished
 *     with confirms), basic.qos + basic.consume;
 *   - shop_amqp_next with a timeout of at most SLICE_MS and never past the
 *     next tick, so heartbeats are serviced and SIGTERM is seen within
 *     SLICE_MS;
 *   - handle the delivery, if one came (below);
 *   - run tick() when due (also while RabbitMQ is down: a sweep needs only
 *     the database), unless the database is known to be down.
 * SIGTERM/SIGINT are blocked and read from a signalfd between deliveries,
 * so the message in hand is always finished (acked, retried or
 * dead-lettered) before the process exits.
 *
 * The database down (SHOP_EDBDOWN from the handler) is not the event's
 * fault, so it does not use up the event's attempts: the message goes back
 * to its queue (nack with requeue), the AMQP connection is closed (so that
 * the prefetched messages go back too and nothing is consumed meanwhile),
 * and the runner pings the database with back-off (200 ms doubling to 5 s)
 * until it answers; then it reconnects and consumes again. Any other
 * failure goes through Q.retry with back-off and counts as an attempt.
 *
 * A delivery without an event id (header event_id, else message_id) is
 * dead-lettered at once, like a body that is not a JSON object: a consumer
 * cannot claim it in its inbox. The event type is the event_type header,
 * which stays right after a retry (a message back from Q.retry carries Q as
 * its routing key); the routing key only when the header is missing. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "lib/amqp.h"
#include "lib/conf.h"
#include "lib/db.h"
#include "lib/err.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/metrics.h"
#include "lib/topology.h"
#include "lib/util.h"
#include "lib/worker.h"

#define ARENA_CHUNK (16 * 1024)
#define SLICE_MS 250             /* longest wait between two looks at the signals */
#define BACKOFF_MIN_MS 200       /* reconnects (RabbitMQ, MariaDB) */
#define BACKOFF_MAX_MS 5000
#define RETRY_MIN_MS 200         /* Q.retry expiration: 200 ms doubling ... */
#define RETRY_MAX_MS 30000       /* ... at most 30 s */
#define CONFIRM_TIMEOUT_MS 10000

struct runner {
	const struct shop_worker *w;
	struct shop_worker_ctx ctx;
	struct shop_amqp_conf ac;
	struct shop_amqp *amqp;
	char retry_queue[160];
	unsigned prefetch;
	unsigned max_attempts;
	int sfd;                     /* signalfd of SIGTERM/SIGINT */
	bool stop;
	/* RabbitMQ */
	double amqp_at;              /* next connect attempt (monotonic ms) */
	unsigned amqp_backoff;
	bool amqp_down;              /* logged as down */
	/* MariaDB, when a handler found it down */
	bool db_down;
	double db_at;
	unsigned db_backoff;
};

static int usage(const char *prog)
{
	fprintf(stderr, "usage: %s -c CONF [-P PIDFILE]\n", prog);
	return 2;
}

/* Reads pending signals (never blocks). */
static void check_signals(struct runner *r)
{
	struct signalfd_siginfo si;

	while (read(r->sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (!r->stop)
			shop_log_info("signal %u: stopping after the message in hand",
			    (unsigned)si.ssi_signo);
		r->stop = true;
	}
}

/* Sleeps up to ms, waking at once on SIGTERM/SIGINT. */
static void nap(struct runner *r, double ms)
{
	struct pollfd p = { .fd = r->sfd, .events = POLLIN };

	if (ms > 0)
		poll(&p, 1, (int)(ms + 0.999));
	check_signals(r);
}

static unsigned next_backoff(unsigned ms)
{
	return ms >= BACKOFF_MAX_MS / 2 ? BACKOFF_MAX_MS : 2 * ms;
}

/* The expiration of retry number attempt (1, 2, ...): 200 ms doubling, at most 30 s. */
static unsigned retry_delay_ms(unsigned attempt)
{
	unsigned ms = RETRY_MIN_MS;

	for (unsigned i = 1; i < attempt && ms < RETRY_MAX_MS; i++)
		ms *= 2;
	return ms < RETRY_MAX_MS ? ms : RETRY_MAX_MS;
}

static void amqp_drop(struct runner *r)
{
	shop_amqp_close(r->amqp);
	r->amqp = NULL;
}

/* Connects and sets up the channel: topology, confirms, consumer. */
static int amqp_up(struct runner *r)
{
	const struct shop_worker *w = r->w;
	bool listed = false;
	int rc;

	rc = shop_amqp_connect(&r->amqp, &r->ac);
	if (rc)
		return rc;
	for (size_t i = 0; i < shop_ntopology; i++)
		listed |= strcmp(shop_topology[i].name, w->queue) == 0;
	rc = shop_amqp_declare_topology(r->amqp, shop_topology, shop_ntopology);
	if (rc == 0 && !listed) {
		/* A queue not (yet) in lib/topology.c: declared from the worker. */
		struct shop_amqp_queue own = { w->queue, w->routing_keys };

		rc = shop_amqp_declare_topology(r->amqp, &own, 1);
	}
	if (rc == 0)
		rc = shop_amqp_confirm_select(r->amqp);
	if (rc == 0)
		rc = shop_amqp_consume(r->amqp, w->queue, r->prefetch);
	if (rc)
		amqp_drop(r);
	return rc;
}

static void amqp_try_up(struct runner *r)
{
	if (shop_mono_ms() < r->amqp_at)
		return;
	if (amqp_up(r) == 0) {
		shop_log_info("consuming %s (prefetch %u)%s", r->w->queue, r->prefetch,
		    r->amqp_down ? ": RabbitMQ is back" : "");
		r->amqp_down = false;
		r->amqp_backoff = BACKOFF_MIN_MS;
		return;
	}
	if (!r->amqp_down)
		shop_log_warn("RabbitMQ unavailable at %s:%u: retrying with back-off up to %d ms",
		    r->ac.host, r->ac.port, BACKOFF_MAX_MS);
	r->amqp_down = true;
	r->amqp_at = shop_mono_ms() + r->amqp_backoff;
	r->amqp_backoff = next_backoff(r->amqp_backoff);
}

static void amqp_lost(struct runner *r)
{
	amqp_drop(r);
	if (!r->amqp_down)
		shop_log_warn("lost the RabbitMQ connection: reconnecting");
	r->amqp_down = true;
	r->amqp_at = shop_mono_ms(); /* at once, then with back-off */
	r->amqp_backoff = BACKOFF_MIN_MS;
}

/* The database is down: give the message back and stop consuming until it answers. */
static void db_lost(struct runner *r, const struct shop_amqp_delivery *d)
{
	shop_log_warn("database unavailable: event %s goes back to %s; consuming again when"
	    " the database answers", d->event_id, r->w->queue);
	if (r->amqp)
		shop_amqp_nack(r->amqp, d->tag, true);
	amqp_drop(r);
	r->db_down = true;
	r->db_backoff = BACKOFF_MIN_MS;
	r->db_at = shop_mono_ms() + r->db_backoff;
}

static void db_try_up(struct runner *r)
{
	if (shop_mono_ms() < r->db_at)
		return;
	if (shop_db_ping(r->ctx.db) == 0) {
		shop_log_info("database answers again");
		r->db_down = false;
		r->amqp_at = 0;
		return;
	}
	r->db_backoff = next_backoff(r->db_backoff);
	r->db_at = shop_mono_ms() + r->db_backoff;
}

/* Republishes d to Q.retry with x-attempt + 1, then acks the original. */
static void retry(struct runner *r, const struct shop_amqp_delivery *d, int why)
{
	unsigned attempt = d->attempt + 1;
	struct shop_amqp_msg m = {
		.exchange = "",
		.routing_key = r->retry_queue,
		.body = d->body,
		.len = d->len,
		.event_id = d->event_id,
		.event_type = d->event_type,
		.request_id = d->request_id,
		.occurred_at = d->occurred_at,
		.attempt = attempt,
		.expiration_ms = retry_delay_ms(attempt),
	};
	bool ok = false;
	int rc;

	if (attempt >= r->max_attempts) {
		shop_log_error("event %s (%s) failed %u times (last: %s): dead-lettered to %s.dlq",
		    d->event_id, d->event_type, attempt, shop_strerror(why), r->w->queue);
		shop_metrics_event(r->w->queue, SHOP_MEV_DEAD);
		if (shop_amqp_nack(r->amqp, d->tag, false) != 0)
			amqp_lost(r);
		return;
	}
	shop_log_warn("event %s (%s) failed (%s): retry %u of %u in %u ms", d->event_id,
	    d->event_type, shop_strerror(why), attempt, r->max_attempts - 1, m.expiration_ms);
	shop_metrics_event(r->w->queue, SHOP_MEV_FAILED);
	rc = shop_amqp_publish(r->amqp, &m, 1, &ok, CONFIRM_TIMEOUT_MS);
	if (rc == 0) {
		if (shop_amqp_ack(r->amqp, d->tag) != 0)
			amqp_lost(r); /* redelivered, then a no-op thanks to the inbox */
		return;
	}
	if (rc == SHOP_ECONFLICT) {
		/* Returned or nacked: Q.retry is missing or the broker refused.
		 * Requeue it and reconnect, which declares the topology again. */
		shop_log_error("event %s: cannot republish to %s: requeued", d->event_id,
		    r->retry_queue);
		shop_amqp_nack(r->amqp, d->tag, true);
	}
	/* Connection lost: the broker redelivers the unacked message. */
	amqp_lost(r);
}

static void handle(struct runner *r, struct shop_amqp_delivery *d)
{
	const struct shop_worker *w = r->w;
	struct shop_event ev;
	json_object *body;
	const char *why = NULL;
	double t0 = shop_mono_ms();
	int rc;

	shop_log_set_request(d->request_id[0] ? d->request_id : NULL, NULL, NULL);
	body = shop_json_parse(d->body, d->len, &why);
	if (!body || !json_object_is_type(body, json_type_object) || !d->event_id[0]) {
		shop_log_error("event %s (%s): %s: dead-lettered to %s.dlq",
		    d->event_id[0] ? d->event_id : "(no event_id)", d->event_type,
		    !d->event_id[0] ? "no event_id header" :
		    body ? "body is not a JSON object" : why ? why : "body is not JSON",
		    w->queue);
		shop_metrics_event(w->queue, SHOP_MEV_DEAD);
		if (shop_amqp_nack(r->amqp, d->tag, false) != 0)
			amqp_lost(r);
		goto out;
	}
	ev = (struct shop_event){
		.event_id = d->event_id,
		.event_type = d->event_type,
		.request_id = d->request_id,
		.occurred_at = d->occurred_at,
		.attempt = d->attempt,
		.redelivered = d->redelivered,
		.payload = body,
	};
	rc = w->handle(&r->ctx, &ev);
	shop_arena_reset(r->ctx.arena);
	if (rc == 0) {
		/* One line per event, with the request id of the request that
		 * caused it: a grep for the id follows it through every worker. */
		shop_log_info("event %s (%s) handled in %.2f ms", d->event_id, d->event_type,
		    shop_mono_ms() - t0);
		shop_metrics_event(w->queue, SHOP_MEV_CONSUMED);
		if (shop_amqp_ack(r->amqp, d->tag) != 0)
			amqp_lost(r);
	} else if (rc == SHOP_EINVAL) {
		shop_log_error("event %s (%s) cannot be handled: dead-lettered to %s.dlq",
		    d->event_id, d->event_type, w->queue);
		shop_metrics_event(w->queue, SHOP_MEV_DEAD);
		if (shop_amqp_nack(r->amqp, d->tag, false) != 0)
			amqp_lost(r);
	} else if (rc == SHOP_EDBDOWN && r->ctx.db) {
		shop_metrics_event(w->queue, SHOP_MEV_FAILED);
		db_lost(r, d);
	} else {
		retry(r, d, rc);
	}
out:
	if (body)
		json_object_put(body);
	shop_log_clear_request();
}

static void run_tick(struct runner *r)
{
	int rc = r->w->tick(&r->ctx);

	shop_arena_reset(r->ctx.arena);
	shop_log_clear_request();
	if (rc != 0)
		shop_log_warn("tick failed: %s (next in %u ms)", shop_strerror(rc), r->w->tick_ms);
}

static void loop(struct runner *r)
{
	const struct shop_worker *w = r->w;
	bool ticks = w->tick && w->tick_ms > 0;
	double next_tick = shop_mono_ms() + (ticks ? w->tick_ms : 0);

	while (!r->stop) {
		double now = shop_mono_ms(), wait = SLICE_MS;
		struct shop_amqp_delivery d;
		int rc;

		if (r->db_down)
			db_try_up(r);
		else if (!r->amqp)
			amqp_try_up(r);

		if (ticks && now >= next_tick && !r->db_down) {
			run_tick(r);
			now = shop_mono_ms();
			next_tick = now + w->tick_ms;
		}
		if (ticks && next_tick - now < wait)
			wait = next_tick - now > 0 ? next_tick - now : 0;
		if (!r->amqp) {
			double at = r->db_down ? r->db_at : r->amqp_at;

			if (at - now < wait)
				wait = at - now;
			nap(r, wait);
			continue;
		}
		rc = shop_amqp_next(r->amqp, &d, (int)wait);
		if (rc == 0) {
			handle(r, &d);
			shop_amqp_delivery_free(&d);
		} else if (rc < 0) {
			amqp_lost(r);
		}
		check_signals(r);
	}
}

int shop_worker_main(const struct shop_worker *w, int argc, char **argv)
{
	const char *conf_path = NULL, *pidfile = NULL;
	struct shop_conf *conf = NULL;
	struct runner r = { .w = w, .sfd = -1 };
	struct shop_db_conf dbc;
	sigset_t set;
	char k[128];
	long long v;
	bool inited = false, pid_written = false, metrics = false;
	int opt, rc = 1;

	optind = 1;
	while ((opt = getopt(argc, argv, "c:P:h")) != -1) {
		switch (opt) {
		case 'c':
			conf_path = optarg;
			break;
		case 'P':
			pidfile = optarg;
			break;
		default:
			return usage(argv[0]);
		}
	}
	if (optind != argc)
		return usage(argv[0]);
	if (shop_conf_load(&conf, conf_path) != 0) {
		fprintf(stderr, "%s: cannot load %s\n", argv[0],
		    conf_path ? conf_path : "the configuration");
		return 1;
	}
	shop_log_init(w->name, 2,
	    shop_log_level_parse(shop_conf_app(conf, w->name, "shop", "log_level", "info")));

	/* SIGTERM/SIGINT only through the signalfd: no EINTR in the client libraries. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	r.sfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (r.sfd < 0) {
		shop_log_error("signalfd: %s", strerror(errno));
		goto out;
	}

	if (!pidfile) {
		snprintf(k, sizeof(k), "%s.pidfile", w->name);
		pidfile = shop_conf_get(conf, k, NULL);
		if (pidfile && !*pidfile)
			pidfile = NULL;
	}
	snprintf(k, sizeof(k), "%s.prefetch", w->name);
	v = shop_conf_int(conf, k, 32);
	r.prefetch = v >= 1 && v <= 65535 ? (unsigned)v : 32;
	snprintf(k, sizeof(k), "%s.max_attempts", w->name);
	v = shop_conf_int(conf, k, 5);
	r.max_attempts = v >= 1 && v <= 1000 ? (unsigned)v : 5;
	if (snprintf(r.retry_queue, sizeof(r.retry_queue), "%s.retry", w->queue) >=
	    (int)sizeof(r.retry_queue)) {
		shop_log_error("queue name too long: %s", w->queue);
		goto out;
	}
	shop_amqp_conf_from(&r.ac, conf);
	r.amqp_backoff = BACKOFF_MIN_MS;

	r.ctx.conf = conf;
	r.ctx.name = w->name;
	r.ctx.arena = shop_arena_new(ARENA_CHUNK);
	if (w->sql) {
		if (shop_db_library_init() != 0) {
			shop_log_error("cannot initialise the database client library");
			goto out;
		}
		shop_db_conf_from(&dbc, conf, w->name);
		r.ctx.db = shop_db_new(&dbc, w->sql, w->nsql);
	}
	if (w->init && (rc = w->init(&r.ctx)) != 0) {
		shop_log_error("init failed: %s", shop_strerror(rc));
		rc = 1;
		goto out;
	}
	inited = true;
	if (pidfile) {
		if (shop_pidfile_write(pidfile) != 0) {
			rc = 1;
			goto out;
		}
		pid_written = true;
	}
	metrics = shop_metrics_open(shop_conf_get(conf, "shop.metrics_dir", NULL), w->name,
	    SHOP_METRICS_WORKER) == 0;
	shop_metrics_queue(w->queue);
	shop_log_info("started (pid %d, queue %s, prefetch %u, max_attempts %u)", (int)getpid(),
	    w->queue, r.prefetch, r.max_attempts);
	loop(&r);
	shop_log_info("stopped");
	rc = 0;
out:
	amqp_drop(&r);
	if (inited && w->fini)
		w->fini(&r.ctx);
	if (r.ctx.db)
		shop_db_free(r.ctx.db);
	if (r.ctx.arena)
		shop_arena_free(r.ctx.arena);
	if (metrics)
		shop_metrics_close();
	if (pid_written)
		unlink(pidfile);
	if (r.sfd >= 0)
		close(r.sfd);
	shop_conf_free(conf);
	return rc;
}
