/* Events out and in, in the same transaction as the change they describe.
 *
 * Outbox: every domain schema has a table
 *   outbox(id BIGINT UNSIGNED AUTO_INCREMENT PRIMARY KEY, event_id CHAR(36) NOT NULL UNIQUE,
 *          event_type VARCHAR(64) NOT NULL, aggregate_type VARCHAR(32) NOT NULL,
 *          aggregate_id BIGINT NOT NULL, payload MEDIUMTEXT NOT NULL,
 *          request_id VARCHAR(64) NULL, occurred_at DATETIME(3) NOT NULL,
 *          sent_at DATETIME(3) NULL, KEY ix_outbox_unsent (sent_at, id))
 * and the app's statement table includes SHOP_OUTBOX_INSERT_SQL at an index of
 * its choosing. The relay publishes unsent rows in id order.
 *
 * Inbox: every consumer records the events it handled in its own schema:
 *   processed_events(consumer VARCHAR(64) NOT NULL, event_id CHAR(36) NOT NULL,
 *                    processed_at DATETIME(3) NOT NULL, PRIMARY KEY (consumer, event_id))
 * with SHOP_INBOX_CLAIM_SQL in its statement table. Claiming inside the
 * transaction that applies the effect makes a redelivered event change nothing. */
#ifndef SHOP_OUTBOX_H
#define SHOP_OUTBOX_H

#include <json-c/json.h>

struct shop_db;

#define SHOP_OUTBOX_INSERT_SQL \
	"INSERT INTO outbox (event_id, event_type, aggregate_type, aggregate_id, payload," \
	" request_id, occurred_at) VALUES (?, ?, ?, ?, ?, ?, UTC_TIMESTAMP(3))"

#define SHOP_INBOX_CLAIM_SQL \
	"INSERT INTO processed_events (consumer, event_id, processed_at)" \
	" VALUES (?, ?, UTC_TIMESTAMP(3))"

/* A new random event id (UUID v4 text, 36 chars + NUL). */
void shop_event_id(char out[37]);

/* Inserts an event row with statement stmt (SHOP_OUTBOX_INSERT_SQL) inside the
 * caller's transaction. payload is serialized (not consumed). request_id is
 * the request that caused it (NULL: the calling thread's log context).
 * Returns 0 or a db failure code. */
int shop_outbox_add(struct shop_db *db, unsigned stmt, const char *event_type,
    const char *aggregate_type, long long aggregate_id, json_object *payload,
    const char *request_id);

/* Claims event_id for consumer with statement stmt (SHOP_INBOX_CLAIM_SQL)
 * inside the caller's transaction. Returns 0 when this is the first time,
 * SHOP_EDUP when it was already handled (roll back, ack, do nothing), or a
 * db failure code. */
int shop_inbox_claim(struct shop_db *db, unsigned stmt, const char *consumer,
    const char *event_id);

#endif
