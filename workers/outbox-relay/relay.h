/* The outbox relay: one thread per domain schema, each with its own
 * database handle and its own AMQP connection with confirms, publishing that
 * schema's unsent outbox rows to shop.events in id order (docs/events.md). */
#ifndef SHOP_RELAY_H
#define SHOP_RELAY_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <pthread.h>

#include "lib/amqp.h"
#include "lib/db.h"

enum relay_stmt {
	RELAY_SQL_PENDING,     /* limit → id, event_id, event_type, payload, request_id, occurred_at */
	RELAY_SQL_MARK_SENT,   /* id */
	RELAY_SQL_MARK_SENT_8, /* 8 ids */
	RELAY_SQL_MARK_SENT_64, /* 64 ids */
	RELAY_SQL_BACKLOG,     /* → rows unsent, age in ms of the oldest of them (NULL: none) */
	RELAY_SQL_COUNT
};

/* A schema the relay may read: its name and its statement table, whose SQL
 * names the schema explicitly. */
struct relay_schema {
	const char *name;
	const char *const *sql;
};

/* The schema of that name from the fixed whitelist (relay_sql.c), or NULL. */
const struct relay_schema *relay_schema_find(const char *name, size_t len);

struct relay_opts {
	struct shop_db_conf dbc;
	struct shop_amqp_conf ac;
	unsigned batch;          /* rows per publish round */
	unsigned poll_ms;        /* sleep when nothing is pending */
	int stop_fd;             /* readable once the relay stops */
	atomic_bool stop;
};

struct relay_thread {
	const struct relay_opts *o;
	const struct relay_schema *s;
	pthread_t tid;
	bool started;
};

/* The loop of one schema's thread (arg: struct relay_thread). Returns when
 * o->stop is set, after the batch in hand is published and marked. */
void *relay_thread_main(void *arg);

#endif
