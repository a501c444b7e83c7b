/* lib/idem.c against test doubles of the request layer and the database
 * layer (defined here, so that the linker takes them instead of lib/req.o
 * and lib/db.o): the key checks, what the request hash covers, and the
 * decisions of replay and store. The real thing (a key row serializing two
 * concurrent requests) is exercised against MariaDB by the orders tests. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/db.h"
#include "lib/err.h"
#include "lib/idem.h"
#include "lib/json.h"
#include "lib/mem.h"
#include "lib/req.h"

/* ------------------------------------------------------------------ */
/* The doubles */

static struct fake {
	/* the request */
	const char *key_header;     /* NULL: absent */
	const char *body;           /* NULL: none */
	/* the answer */
	int status;
	char code[64];
	char body_out[256];
	bool replayed_header;
	int answers;
	/* the database */
	bool row;                   /* SHOP_IDEM_GET finds a row */
	bool row_expired;           /* ... older than 24 h */
	unsigned char row_hash[32];
	long long row_status;
	const char *row_body;
	int get_rc, del_rc, put_rc;
	unsigned gets, dels, puts;
	long long put_user, put_status;
	char put_key[256], put_body[256];
	unsigned char put_hash[32];
} f;

static const struct shop_idem_stmts stmts = { .get = 7, .put = 8, .del_expired = 9 };

const char *shop_req_header(const struct shop_req *r, const char *name)
{
	(void)r;
	return strcmp(name, "Idempotency-Key") == 0 ? f.key_header : NULL;
}

const char *shop_req_raw_body(const struct shop_req *r, size_t *len)
{
	(void)r;
	if (len)
		*len = f.body ? strlen(f.body) : 0;
	return f.body;
}

void shop_res_error(struct shop_req *r, int status, const char *message,
    const char *code, const char *field, const char *detail)
{
	(void)r, (void)message, (void)field, (void)detail;
	f.status = status;
	snprintf(f.code, sizeof(f.code), "%s", code ? code : "");
	f.answers++;
}

void shop_res_raw(struct shop_req *r, int status, const char *content_type,
    const char *body, size_t len)
{
	(void)r;
	assert_string_equal(content_type, "application/json");
	f.status = status;
	snprintf(f.body_out, sizeof(f.body_out), "%.*s", (int)len, body);
	f.answers++;
}

void shop_res_fail(struct shop_req *r, int err)
{
	(void)r;
	f.status = err == SHOP_EDBDOWN || err == SHOP_EUNAVAIL ? 503 : 500;
	f.answers++;
}

/* The transaction runs its function once, as a real one without conflicts. */
int shop_db_tx(struct shop_db *db, shop_tx_fn fn, void *ctx)
{
	return fn(db, ctx);
}

void shop_res_header(struct shop_req *r, const char *name, const char *value)
{
	(void)r;
	if (strcmp(name, "Idempotent-Replayed") == 0 && strcmp(value, "true") == 0)
		f.replayed_header = true;
}

int shop_db_query(struct shop_db *db, struct shop_arena *a, struct shop_rows *out,
    unsigned stmt, const char *types, ...)
{
	struct shop_row *row;
	char status[24];

	(void)db;
	assert_int_equal(stmt, stmts.get);
	assert_string_equal(types, "is");
	f.gets++;
	out->n = 0;
	out->row = NULL;
	if (f.get_rc < 0)
		return f.get_rc;
	if (!f.row)
		return 0;
	row = shop_arena_calloc(a, sizeof(*row));
	row->ncols = 4;
	row->col = shop_arena_calloc(a, 4 * sizeof(*row->col));
	row->len = shop_arena_calloc(a, 4 * sizeof(*row->len));
	row->col[0] = shop_arena_strndup(a, (const char *)f.row_hash, 32);
	row->len[0] = 32;
	snprintf(status, sizeof(status), "%lld", f.row_status);
	row->col[1] = shop_arena_strdup(a, status);
	row->len[1] = strlen(status);
	row->col[2] = shop_arena_strdup(a, f.row_body);
	row->len[2] = strlen(f.row_body);
	row->col[3] = f.row_expired ? "1" : "0";
	row->len[3] = 1;
	out->n = 1;
	out->row = row;
	return 0;
}

int shop_db_exec(struct shop_db *db, unsigned stmt, const char *types, ...)
{
	va_list ap;

	(void)db;
	va_start(ap, types);
	if (stmt == stmts.del_expired) {
		assert_string_equal(types, "is");
		f.dels++;
		va_end(ap);
		return f.del_rc;
	}
	assert_int_equal(stmt, stmts.put);
	assert_string_equal(types, "isbis");
	f.puts++;
	f.put_user = va_arg(ap, long long);
	snprintf(f.put_key, sizeof(f.put_key), "%s", va_arg(ap, const char *));
	{
		const void *h = va_arg(ap, const void *);
		size_t n = va_arg(ap, size_t);

		assert_int_equal(n, 32);
		memcpy(f.put_hash, h, 32);
	}
	f.put_status = va_arg(ap, long long);
	snprintf(f.put_body, sizeof(f.put_body), "%s", va_arg(ap, const char *));
	va_end(ap);
	return f.put_rc;
}

long long shop_row_int(const struct shop_row *row, unsigned col)
{
	return row->col[col] ? strtoll(row->col[col], NULL, 10) : 0;
}

bool shop_row_null(const struct shop_row *row, unsigned col)
{
	return row->col[col] == NULL;
}

/* ------------------------------------------------------------------ */
/* Fixtures */

static struct shop_req req;

static int setup(void **state)
{
	(void)state;
	memset(&f, 0, sizeof(f));
	memset(&req, 0, sizeof(req));
	req.arena = shop_arena_new(4096);
	req.method = "POST";
	req.path = "/api/v1/orders";
	req.auth.user_id = 42;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	shop_arena_free(req.arena);
	return 0;
}

/* Starts with header key and body; asserts success; returns the hash. */
static void start_ok(const char *key, const char *body, struct shop_idem *k)
{
	f.key_header = key;
	f.body = body;
	assert_int_equal(shop_idem_start(&req, k), 0);
	assert_int_equal(f.answers, 0);
	assert_string_equal(k->key, key);
}

/* ------------------------------------------------------------------ */
/* shop_idem_start */

static void test_key_missing(void **state)
{
	struct shop_idem k;

	(void)state;
	f.key_header = NULL;
	assert_int_equal(shop_idem_start(&req, &k), SHOP_EINVAL);
	assert_int_equal(f.status, 400);
	assert_string_equal(f.code, "IDEMPOTENCY_KEY_MISSING");
	f.key_header = "";
	assert_int_equal(shop_idem_start(&req, &k), SHOP_EINVAL);
	assert_string_equal(f.code, "IDEMPOTENCY_KEY_MISSING");
}

static void test_key_invalid(void **state)
{
	static const char *const bad[] = { "tab\there", "nl\n", "caf\xc3\xa9", "del\x7f" };
	char longkey[300];
	struct shop_idem k;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		f.key_header = bad[i];
		f.answers = 0;
		assert_int_equal(shop_idem_start(&req, &k), SHOP_EINVAL);
		assert_int_equal(f.status, 400);
		assert_string_equal(f.code, "IDEMPOTENCY_KEY_INVALID");
		assert_int_equal(f.answers, 1);
	}
	memset(longkey, 'a', 256);
	longkey[256] = '\0';
	f.key_header = longkey;
	assert_int_equal(shop_idem_start(&req, &k), SHOP_EINVAL);
	assert_string_equal(f.code, "IDEMPOTENCY_KEY_INVALID");
}

static void test_key_valid(void **state)
{
	char longkey[300];
	struct shop_idem k;

	(void)state;
	start_ok("a", "{}", &k);
	start_ok("order 2026-11-21 #1 (retry ok) ~!@$%^&*", "{}", &k);
	memset(longkey, 'z', 255);
	longkey[255] = '\0';
	start_ok(longkey, "{}", &k);
}

static void test_hash(void **state)
{
	struct shop_idem a, b;

	(void)state;
	start_ok("k", "{\"items\":[]}", &a);
	start_ok("k", "{\"items\":[]}", &b);
	assert_memory_equal(a.hash, b.hash, 32);
	/* the key itself is not hashed: it is the row's identity */
	start_ok("other", "{\"items\":[]}", &b);
	assert_memory_equal(a.hash, b.hash, 32);
	/* the body byte for byte */
	start_ok("k", "{\"items\": []}", &b);
	assert_memory_not_equal(a.hash, b.hash, 32);
	/* no body and an empty body are the same request */
	start_ok("k", NULL, &a);
	start_ok("k", "", &b);
	assert_memory_equal(a.hash, b.hash, 32);
	/* the path and the method */
	start_ok("k", "{}", &a);
	req.path = "/api/v1/payments";
	start_ok("k", "{}", &b);
	assert_memory_not_equal(a.hash, b.hash, 32);
	req.path = "/api/v1/orders";
	req.method = "PUT";
	start_ok("k", "{}", &b);
	assert_memory_not_equal(a.hash, b.hash, 32);
	/* framed: moving bytes between path and body changes the hash */
	req.method = "POST";
	req.path = "/a";
	start_ok("k", "bc", &a);
	req.path = "/ab";
	start_ok("k", "c", &b);
	assert_memory_not_equal(a.hash, b.hash, 32);
}

/* ------------------------------------------------------------------ */
/* shop_idem_replay */

static void test_replay_new(void **state)
{
	struct shop_idem k;

	(void)state;
	start_ok("k1", "{}", &k);
	assert_int_equal(shop_idem_replay(&req, &stmts, &k), 0);
	assert_int_equal(f.gets, 1);
	assert_int_equal(f.dels, 0); /* no row: nothing to delete */
	assert_int_equal(f.answers, 0);
	/* a row older than 24 h: it goes, and the request is new */
	f.row = true;
	f.row_expired = true;
	f.row_status = 201;
	f.row_body = "{}";
	memcpy(f.row_hash, k.hash, 32);
	assert_int_equal(shop_idem_replay(&req, &stmts, &k), 0);
	assert_int_equal(f.gets, 2);
	assert_int_equal(f.dels, 1);
	assert_int_equal(f.answers, 0);
}

static void test_replay_same(void **state)
{
	struct shop_idem k;

	(void)state;
	start_ok("k1", "{\"a\":1}", &k);
	f.row = true;
	memcpy(f.row_hash, k.hash, 32);
	f.row_status = 409;
	f.row_body = "{\"status\":\"ERROR\",\"code\":409}";
	assert_int_equal(shop_idem_replay(&req, &stmts, &k), 1);
	assert_int_equal(f.status, 409);
	assert_string_equal(f.body_out, f.row_body);
	assert_true(f.replayed_header);
	assert_int_equal(f.dels, 0);
}

static void test_replay_other_body(void **state)
{
	struct shop_idem k;

	(void)state;
	start_ok("k1", "{\"a\":1}", &k);
	f.row = true;
	memcpy(f.row_hash, k.hash, 32);
	f.row_hash[31] ^= 1;
	f.row_status = 201;
	f.row_body = "{}";
	assert_int_equal(shop_idem_replay(&req, &stmts, &k), 1);
	assert_int_equal(f.status, 409);
	assert_string_equal(f.code, "IDEMPOTENCY_KEY_REUSED");
	assert_false(f.replayed_header);
}

static void test_replay_db_down(void **state)
{
	struct shop_idem k;

	(void)state;
	start_ok("k1", "{}", &k);
	f.get_rc = SHOP_EDBDOWN;
	assert_int_equal(shop_idem_replay(&req, &stmts, &k), SHOP_EDBDOWN);
	assert_int_equal(f.answers, 0);
	f.get_rc = 0;
	f.row = true;
	f.row_expired = true;
	f.row_status = 201;
	f.row_body = "{}";
	f.del_rc = SHOP_ERETRY;
	assert_int_equal(shop_idem_replay(&req, &stmts, &k), SHOP_ERETRY);
}

/* ------------------------------------------------------------------ */
/* shop_idem_store */

static void test_store(void **state)
{
	static const char body[] = "{\"status\":\"SUCCESS\",\"code\":201}trailing";
	struct shop_idem k;

	(void)state;
	start_ok("k2", "{}", &k);
	f.put_rc = 1;
	/* len bounds the body: bytes after it are not stored */
	assert_int_equal(shop_idem_store(&req, &stmts, &k, 201, body, strlen(body) - 8), 0);
	assert_int_equal(f.puts, 1);
	assert_int_equal(f.put_user, 42);
	assert_string_equal(f.put_key, "k2");
	assert_memory_equal(f.put_hash, k.hash, 32);
	assert_int_equal(f.put_status, 201);
	assert_string_equal(f.put_body, "{\"status\":\"SUCCESS\",\"code\":201}");
	assert_int_equal(f.answers, 0);

	f.put_rc = SHOP_EDUP;
	assert_int_equal(shop_idem_store(&req, &stmts, &k, 201, "{}", 2), SHOP_EDUP);
	f.put_rc = SHOP_ERETRY;
	assert_int_equal(shop_idem_store(&req, &stmts, &k, 201, "{}", 2), SHOP_ERETRY);
}

static json_object *refusal(void)
{
	json_object *errs = json_object_new_array();

	json_object_array_add(errs, shop_json_error_item("order_id", "ORDER_NOT_PAYABLE", NULL));
	return shop_json_error(409, "The order cannot be paid", errs);
}

static void test_refuse(void **state)
{
	struct shop_idem k;

	(void)state;
	/* stored under the key, then answered with the envelope's status */
	start_ok("k3", "{}", &k);
	f.put_rc = 1;
	shop_idem_refuse(&req, &stmts, &k, refusal());
	assert_int_equal(f.puts, 1);
	assert_int_equal(f.put_status, 409);
	assert_non_null(strstr(f.put_body, "ORDER_NOT_PAYABLE"));
	assert_int_equal(f.answers, 1);
	assert_int_equal(f.status, 409);
	assert_string_equal(f.body_out, f.put_body);

	/* a concurrent request stored the key first: its answer is replayed */
	f.answers = 0;
	f.put_rc = SHOP_EDUP;
	f.row = true;
	memcpy(f.row_hash, k.hash, 32);
	f.row_status = 201;
	f.row_body = "{\"status\":\"SUCCESS\",\"code\":201}";
	shop_idem_refuse(&req, &stmts, &k, refusal());
	assert_int_equal(f.answers, 1);
	assert_int_equal(f.status, 201);
	assert_string_equal(f.body_out, f.row_body);

	/* storing failed: the refusal is answered all the same */
	f.answers = 0;
	f.row = false;
	f.put_rc = SHOP_EDBDOWN;
	shop_idem_refuse(&req, &stmts, &k, refusal());
	assert_int_equal(f.answers, 1);
	assert_int_equal(f.status, 409);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_key_missing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_key_invalid, setup, teardown),
		cmocka_unit_test_setup_teardown(test_key_valid, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hash, setup, teardown),
		cmocka_unit_test_setup_teardown(test_replay_new, setup, teardown),
		cmocka_unit_test_setup_teardown(test_replay_same, setup, teardown),
		cmocka_unit_test_setup_teardown(test_replay_other_body, setup, teardown),
		cmocka_unit_test_setup_teardown(test_replay_db_down, setup, teardown),
		cmocka_unit_test_setup_teardown(test_store, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refuse, setup, teardown),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
