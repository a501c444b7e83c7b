/* The runner of a background worker: a process that consumes one queue with
 * manual acks, handles each event inside the worker's own code, and owns the
 * retry policy, reconnection and graceful stop, so that each worker is only
 * its handler.
 *
 * Command line:  shop-<name> -c CONF [-P PIDFILE]
 * Configuration, section [<name>]: db_user, db_password, db_name (db.h),
 * prefetch (default 32), max_attempts (default 5), pidfile; [amqp] for the
 * broker. Logs JSON lines to stderr with the event's request id in context.
 *
 * For each delivery: the body is parsed (a body that is not a JSON object is
 * dead-lettered at once), the log context gets the event's request id, and
 * handle() runs. Its result decides:
 *   0              done: ack
 *   SHOP_EINVAL    poison (can never succeed): nack without requeue → Q.dlq
 *   anything else  retry: the message is republished to Q.retry with
 *                  x-attempt + 1 and a back-off expiration (200 ms doubling,
 *                  at most 30 s), confirmed, then the original is acked; after
 *                  max_attempts it is dead-lettered instead.
 * The ack always follows the handler's commit, so a crash between the two
 * only redelivers, and the inbox (outbox.h) makes the second run a no-op.
 * Lost connections to MariaDB or RabbitMQ are re-established with back-off.
 * SIGTERM/SIGINT: finish the message in hand (ack or retry it), then exit 0. */
#ifndef SHOP_WORKER_H
#define SHOP_WORKER_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

struct shop_conf;
struct shop_db;
struct shop_arena;

struct shop_event {
	const char *event_id;
	const char *event_type;      /* = routing key */
	const char *request_id;      /* "" when none */
	const char *occurred_at;
	unsigned attempt;            /* 0 on the first delivery */
	bool redelivered;
	json_object *payload;        /* the parsed body (an object); owned by the runner */
};

struct shop_worker_ctx {
	const struct shop_conf *conf;
	struct shop_db *db;          /* NULL when the worker has no sql */
	struct shop_arena *arena;    /* reset after each event */
	void *user;                  /* the worker's own state (init) */
	const char *name;
};

struct shop_worker {
	const char *name;                    /* "inventory": config section, log app */
	const char *queue;                   /* consumed queue */
	const char *const *routing_keys;     /* what it is bound to (topology) */
	const char *const *sql;              /* statement table, may be NULL */
	size_t nsql;
	int (*init)(struct shop_worker_ctx *w);             /* optional */
	int (*handle)(struct shop_worker_ctx *w, const struct shop_event *ev);
	/* Optional periodic work (expiry sweeps) every tick_ms, on the same
	 * thread between deliveries; its failures are logged and retried next tick. */
	int (*tick)(struct shop_worker_ctx *w);
	unsigned tick_ms;
	void (*fini)(struct shop_worker_ctx *w);           /* optional */
};

int shop_worker_main(const struct shop_worker *w, int argc, char **argv);

#endif
