/* Idempotency keys (see idem.h).
 *
 * The request hash covers the method, the path and the raw body bytes, each
 * preceded by its length, so that no two different requests can be framed
 * into the same hashed text. The body is compared byte for byte: a client
 * that retries sends the same bytes; one that re-serializes its JSON
 * differently is, for this purpose, sending another body.
 *
 * A replayed answer carries the header "Idempotent-Replayed: true". */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "lib/db.h"
#include "lib/err.h"
#include "lib/idem.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/req.h"
#include "lib/util.h"

#define HEADER "Idempotency-Key"

/* 1..255 printable ASCII characters (blank included, as isprint says). */
static bool key_valid(const char *s, size_t n)
{
	if (n == 0 || n > 255)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c > 0x7e)
			return false;
	}
	return true;
}

/* Appends "<len>:" and the bytes of s[0..n) at *p (room checked by the caller). */
static char *frame(char *p, const char *s, size_t n)
{
	int k = snprintf(p, 24, "%zu:", n);

	p += k;
	if (n > 0)
		memcpy(p, s, n);
	return p + n;
}

int shop_idem_start(struct shop_req *r, struct shop_idem *k)
{
	const char *h = shop_req_header(r, HEADER), *body;
	size_t n, blen = 0, mlen, plen;
	char *buf, *p;

	if (h == NULL || *h == '\0') {
		shop_res_error(r, 400, "Idempotency-Key header required", "IDEMPOTENCY_KEY_MISSING",
		    HEADER, "send a unique key of 1-255 printable ASCII characters");
		return SHOP_EINVAL;
	}
	n = strlen(h);
	if (!key_valid(h, n)) {
		shop_res_error(r, 400, "Invalid Idempotency-Key", "IDEMPOTENCY_KEY_INVALID", HEADER,
		    "1-255 printable ASCII characters");
		return SHOP_EINVAL;
	}
	memcpy(k->key, h, n + 1);

	body = shop_req_raw_body(r, &blen);
	mlen = strlen(r->method);
	plen = strlen(r->path);
	buf = shop_arena_alloc(r->arena, mlen + plen + blen + 3 * 24);
	p = frame(buf, r->method, mlen);
	p = frame(p, r->path, plen);
	p = frame(p, body ? body : "", body ? blen : 0);
	shop_sha256_small(k->hash, buf, (size_t)(p - buf));
	return 0;
}

int shop_idem_replay(struct shop_req *r, const struct shop_idem_stmts *s, const struct shop_idem *k)
{
	const struct shop_row *row;
	struct shop_rows rows;
	long long status;
	int rc;

	rc = shop_db_query(r->db, r->arena, &rows, s->get, "is", r->auth.user_id, k->key);
	if (rc < 0)
		return rc;
	if (rows.n == 0)
		return 0; /* new */
	row = &rows.row[0];
	if (shop_row_int(row, 3) != 0) {
		/* Older than 24 h: that row must go before ours can be stored. */
		rc = shop_db_exec(r->db, s->del_expired, "is", r->auth.user_id, k->key);
		return rc < 0 ? rc : 0;
	}
	if (shop_row_null(row, 0) || row->len[0] != sizeof(k->hash) ||
	    !shop_ct_equal(row->col[0], k->hash, sizeof(k->hash))) {
		shop_res_error(r, 409, "Idempotency key reused with another request",
		    "IDEMPOTENCY_KEY_REUSED", HEADER,
		    "this key was used for a different request within 24 h");
		return 1;
	}
	status = shop_row_int(row, 1);
	if (status < 100 || status > 599 || shop_row_null(row, 2)) {
		shop_log_error("idem: stored response of a key is unusable (status %lld)", status);
		return SHOP_EDB;
	}
	shop_res_header(r, "Idempotent-Replayed", "true");
	shop_res_raw(r, (int)status, "application/json", row->col[2], row->len[2]);
	return 1;
}

int shop_idem_store(struct shop_req *r, const struct shop_idem_stmts *s, const struct shop_idem *k,
    int status, const char *body, size_t len)
{
	const char *text = shop_arena_strndup(r->arena, body, len);
	int rc;

	rc = shop_db_exec(r->db, s->put, "isbis", r->auth.user_id, k->key,
	    (const void *)k->hash, sizeof(k->hash), (long long)status, text);
	if (rc == SHOP_EDUP)
		return SHOP_EDUP;
	return rc < 0 ? rc : 0;
}

void shop_idem_answer_winner(struct shop_req *r, const struct shop_idem_stmts *s,
    const struct shop_idem *k)
{
	int rc = shop_idem_replay(r, s, k);

	if (rc < 0) {
		shop_res_fail(r, rc);
	} else if (rc == 0) {
		/* The winner's row expired between its insert and our read. */
		shop_log_warn("idem: a key stored concurrently is gone");
		shop_res_error(r, 409, "Concurrent request with this key", "IDEMPOTENCY_CONFLICT",
		    NULL, "retry the request");
	}
}

void shop_idem_refuse(struct shop_req *r, const struct shop_idem_stmts *s, const struct shop_idem *k,
    json_object *envelope)
{
	json_object *code;
	const char *text;
	size_t len = 0;
	int status, rc;

	status = json_object_object_get_ex(envelope, "code", &code) ?
	    json_object_get_int(code) : 500;
	text = shop_json_text(envelope, &len);
	text = shop_arena_strndup(r->arena, text, len);
	json_object_put(envelope);

	/* Outside any transaction: the key's row alone, one statement. */
	rc = shop_idem_store(r, s, k, status, text, len);
	if (rc == SHOP_EDUP) {
		shop_idem_answer_winner(r, s, k);
		return;
	}
	if (rc != 0)
		shop_log_warn("idem: a refusal could not be stored: %s", shop_strerror(rc));
	shop_res_raw(r, status, "application/json", text, len);
}
