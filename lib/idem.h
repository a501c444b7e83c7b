/* Idempotency keys of API.md: the same key from the same user with the same
 * body within 24 h returns the first response (same status, same body) and
 * does nothing again; the same key with a different body → 409
 * IDEMPOTENCY_KEY_REUSED; concurrent requests with one key act once.
 *
 * Each app that needs it has a table
 *   idempotency_keys(user_id BIGINT NOT NULL, idem_key VARCHAR(255) NOT NULL,
 *                    request_hash BINARY(32) NOT NULL, status SMALLINT NOT NULL,
 *                    response MEDIUMTEXT NOT NULL, created_at DATETIME(3) NOT NULL,
 *                    PRIMARY KEY (user_id, idem_key), KEY (created_at))
 * and the three statements below in its statement table. The key row is
 * inserted inside the same transaction as the effect: a concurrent request
 * with the same key blocks on it, then sees it. */
#ifndef SHOP_IDEM_H
#define SHOP_IDEM_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

struct shop_req;

/* The key's row, its age told apart (expired: 1), so that the common case,
 * a new key, costs this one statement. */
#define SHOP_IDEM_GET_SQL \
	"SELECT request_hash, status, response," \
	" created_at <= UTC_TIMESTAMP(3) - INTERVAL 24 HOUR FROM idempotency_keys" \
	" WHERE user_id = ? AND idem_key = ?"
#define SHOP_IDEM_PUT_SQL \
	"INSERT INTO idempotency_keys (user_id, idem_key, request_hash, status, response, created_at)" \
	" VALUES (?, ?, ?, ?, ?, UTC_TIMESTAMP(3))"
/* A key older than 24 h is free again. */
#define SHOP_IDEM_DEL_EXPIRED_SQL \
	"DELETE FROM idempotency_keys WHERE user_id = ? AND idem_key = ?" \
	" AND created_at <= UTC_TIMESTAMP(3) - INTERVAL 24 HOUR"

struct shop_idem_stmts {
	unsigned get, put, del_expired;
};

struct shop_idem {
	char key[256];
	unsigned char hash[32];   /* SHA-256 of method, path and raw body */
};

/* Reads and checks the Idempotency-Key header (1..255 printable ASCII) and
 * hashes the request. Returns 0, or answers 400 IDEMPOTENCY_KEY_MISSING /
 * IDEMPOTENCY_KEY_INVALID itself and returns SHOP_EINVAL. */
int shop_idem_start(struct shop_req *r, struct shop_idem *k);

/* Before doing anything (outside a transaction): when a stored response
 * exists, answers it (or 409 IDEMPOTENCY_KEY_REUSED when the body differs)
 * and returns 1; returns 0 when the request is new (removing an expired row
 * of the same key); a db failure code otherwise. */
int shop_idem_replay(struct shop_req *r, const struct shop_idem_stmts *s, const struct shop_idem *k);

/* Inside the effect's transaction, once the answer is known: stores it. The
 * handler serializes its envelope itself (shop_json_success + shop_json_text),
 * stores it here, commits, and only then answers it with shop_res_raw(), so
 * that a failed commit can still answer 503. Returns 0, SHOP_EDUP when a
 * concurrent request stored the key first (roll back, then call
 * shop_idem_replay to answer what it stored), or a db failure code. */
int shop_idem_store(struct shop_req *r, const struct shop_idem_stmts *s, const struct shop_idem *k,
    int status, const char *body, size_t len);

/* When storing the key found it taken (SHOP_EDUP): a concurrent request with
 * this key acted first, and its stored answer is ours. Answers it, or, in
 * the rare case that row is gone already (it expired in between), 409
 * IDEMPOTENCY_CONFLICT asking the client to retry; a db failure → 503. */
void shop_idem_answer_winner(struct shop_req *r, const struct shop_idem_stmts *s,
    const struct shop_idem *k);

/* Answers a refusal that the effect's transaction decided (and rolled back)
 * and keeps it under the key, so that the same key and body get the same
 * answer again: stores envelope (its "code" is the status) with one
 * statement of its own (autocommit: one row, atomic alone), then answers
 * it. When a concurrent request with this key stored first, answers what
 * that one stored. When storing fails, the refusal is
 * still answered: nothing happened, and a retry is judged afresh. Takes
 * ownership of envelope. */
void shop_idem_refuse(struct shop_req *r, const struct shop_idem_stmts *s, const struct shop_idem *k,
    json_object *envelope);

#endif
