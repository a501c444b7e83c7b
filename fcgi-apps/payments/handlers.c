/* POST /payments and GET /payments/{id}. The request layer has already
 * checked that a user is signed in and validated the body (routes.c); here
 * are the data-dependent rules:
 *
 *   - Only the order's owner pays it: another user's order, or an unknown
 *     one, is 404 (never reveal that it exists).
 *   - The order must be PENDING_PAYMENT (else 409 ORDER_NOT_PAYABLE), and
 *     have no live payment: a PROCESSING one → 409 PAYMENT_IN_PROGRESS, a
 *     SUCCEEDED one → 409 ALREADY_PAID. The unique key on active_order_id
 *     makes this hold between concurrent requests too (the loser's INSERT
 *     finds the winner's row: PAYMENT_IN_PROGRESS).
 *   - Amount and currency are the order's total, never the client's.
 *   - The payment (PROCESSING, provider = [payments] provider), the
 *     payment.requested event and the idempotency key are one transaction;
 *     the answer is 202: the provider's webhook decides later.
 *   - Idempotency-Key (lib/idem.h), as API.md says: the first answer to a
 *     key is kept, the 202 and a refusal (404, 409) alike, so the same key
 *     and body always get the same answer; paying again after a failed
 *     payment takes a new key.
 *   - GET: the payment's user or an ADMIN; anyone else 404. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "fcgi-apps/payments/payments.h"
#include "lib/auth.h"
#include "lib/db.h"
#include "lib/err.h"
#include "lib/idem.h"
#include "lib/json.h"
#include "lib/mem.h"
#include "lib/outbox.h"
#include "lib/req.h"

/* Refusals a transaction body returns (positive: shop_db_tx hands them back
 * as they are, after rolling back). */
enum refusal {
	REFUSE_NOT_FOUND = 1,
	REFUSE_NOT_PAYABLE,
	REFUSE_IN_PROGRESS,
	REFUSE_ALREADY_PAID,
	REFUSE_IDEM_TAKEN,
};

const struct shop_idem_stmts pay_idem_stmts = {
	.get = SQL_IDEM_GET, .put = SQL_IDEM_PUT, .del_expired = SQL_IDEM_DEL_EXPIRED,
};

static json_object *col_json(const struct shop_row *row, unsigned i)
{
	if (shop_row_null(row, i))
		return NULL;
	return shop_json_strn(row->col[i], row->len[i]);
}

/* API.md's Payment (plus failure_reason: null unless FAILED, and
 * refund_requested_at: null unless an admin asked for a refund). */
static json_object *payment_json(const struct shop_row *row)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "id", shop_json_int(shop_row_int(row, PAY_ID)));
	json_object_object_add(o, "order_id", shop_json_int(shop_row_int(row, PAY_ORDER)));
	json_object_object_add(o, "amount_cents", shop_json_int(shop_row_int(row, PAY_AMOUNT)));
	json_object_object_add(o, "currency", col_json(row, PAY_CURRENCY));
	json_object_object_add(o, "status", col_json(row, PAY_STATUS));
	json_object_object_add(o, "provider", col_json(row, PAY_PROVIDER));
	json_object_object_add(o, "provider_ref", col_json(row, PAY_PROVIDER_REF));
	json_object_object_add(o, "failure_reason", col_json(row, PAY_FAILURE));
	json_object_object_add(o, "refund_requested_at", col_json(row, PAY_REFUND_REQUESTED));
	json_object_object_add(o, "created_at", col_json(row, PAY_CREATED));
	json_object_object_add(o, "updated_at", col_json(row, PAY_UPDATED));
	return o;
}

/* {"payment": {...}} */
json_object *pay_wrap_payment(const struct shop_row *row)
{
	json_object *d = json_object_new_object();

	json_object_object_add(d, "payment", payment_json(row));
	return d;
}

/* POST /api/v1/payments */

struct create_ctx {
	struct shop_req *r;
	const struct pay_ctx *app;
	const struct shop_idem *key;
	long long order_id;
	const char *method;
	/* out: the stored answer */
	char *text;
	size_t len;
};

/* The live payment of the order, if any: REFUSE_IN_PROGRESS,
 * REFUSE_ALREADY_PAID, 0 when none, or a failure code. */
static int live_check(struct shop_db *db, struct shop_arena *a, long long order_id)
{
	struct shop_rows rows;
	int rc = shop_db_query(db, a, &rows, SQL_LIVE_PAYMENT, "i", order_id);

	if (rc < 0)
		return rc;
	if (rows.n == 0)
		return 0;
	return strcmp(shop_row_str(&rows.row[0], 1), "SUCCEEDED") == 0 ?
	    REFUSE_ALREADY_PAID : REFUSE_IN_PROGRESS;
}

static int requested_event(struct shop_db *db, struct create_ctx *c, long long id,
    long long user_id, long long amount, const char *currency)
{
	json_object *p = json_object_new_object();
	int rc;

	json_object_object_add(p, "payment_id", shop_json_int(id));
	json_object_object_add(p, "order_id", shop_json_int(c->order_id));
	json_object_object_add(p, "user_id", shop_json_int(user_id));
	json_object_object_add(p, "amount_cents", shop_json_int(amount));
	json_object_object_add(p, "currency", shop_json_str(currency));
	json_object_object_add(p, "payment_method", shop_json_str(c->method));
	json_object_object_add(p, "provider", shop_json_str(c->app->provider));
	rc = shop_outbox_add(db, SQL_OUTBOX_INSERT, "payment.requested", "payment", id, p,
	    c->r->request_id);
	json_object_put(p);
	return rc;
}

static int create_tx(struct shop_db *db, void *arg)
{
	struct create_ctx *c = arg;
	struct shop_req *r = c->r;
	struct shop_rows order, pay;
	const struct shop_row *o;
	json_object *env;
	const char *text, *currency;
	long long amount, id;
	size_t len;
	int rc;

	c->text = NULL;
	rc = shop_db_query(db, r->arena, &order, SQL_ORDER_GET, "i", c->order_id);
	if (rc < 0)
		return rc;
	if (order.n == 0 || shop_row_int(&order.row[0], 0) != r->auth.user_id)
		return REFUSE_NOT_FOUND;
	o = &order.row[0];
	if (shop_row_null(o, 1) || strcmp(shop_row_str(o, 1), "PENDING_PAYMENT") != 0)
		return REFUSE_NOT_PAYABLE;
	amount = shop_row_int(o, 2);
	currency = shop_row_str(o, 3);
	if (currency == NULL)
		return SHOP_EDB;

	rc = live_check(db, r->arena, c->order_id);
	if (rc != 0)
		return rc;
	rc = shop_db_exec(db, SQL_PAYMENT_INSERT, "iiisss", c->order_id, r->auth.user_id, amount,
	    currency, c->app->provider, c->method);
	if (rc == SHOP_EDUP)
		return REFUSE_IN_PROGRESS; /* a concurrent request's live payment */
	if (rc < 0)
		return rc;
	id = shop_db_last_id(db);
	rc = requested_event(db, c, id, r->auth.user_id, amount, currency);
	if (rc < 0)
		return rc;
	rc = shop_db_query(db, r->arena, &pay, SQL_PAYMENT_GET, "i", id);
	if (rc < 0)
		return rc;
	if (pay.n != 1)
		return SHOP_EDB;

	env = shop_json_success(202, "Payment accepted", pay_wrap_payment(&pay.row[0]));
	text = shop_json_text(env, &len);
	c->text = shop_arena_strndup(r->arena, text, len);
	c->len = len;
	json_object_put(env);
	rc = shop_idem_store(r, &pay_idem_stmts, c->key, 202, c->text, c->len);
	if (rc == SHOP_EDUP)
		return REFUSE_IDEM_TAKEN;
	return rc < 0 ? rc : 0;
}

int pay_idem_begin(struct shop_req *r, struct shop_idem *key)
{
	int rc;

	if (shop_idem_start(r, key) != 0)
		return 1; /* answered 400 */
	rc = shop_idem_replay(r, &pay_idem_stmts, key);
	if (rc < 0)
		shop_res_fail(r, rc);
	return rc != 0;
}

void pay_idem_answer(struct shop_req *r, struct shop_idem *key, int rc, const char *text,
    size_t len, const struct pay_refusal *refusals, const char *field, int idem_taken)
{
	const struct pay_refusal *f;
	json_object *errs;

	if (rc == 0) {
		shop_res_raw(r, 202, "application/json", text, len);
		return;
	}
	if (rc == idem_taken) {
		/* A concurrent request with this key acted first: its answer is
		 * ours. (A loser with the same key but refused finds the
		 * winner's key through shop_idem_refuse too.) */
		shop_idem_answer_winner(r, &pay_idem_stmts, key);
		return;
	}
	for (f = refusals; f->rc != 0; f++) {
		if (f->rc != rc)
			continue;
		errs = json_object_new_array();
		json_object_array_add(errs, shop_json_error_item(field, f->code, f->detail));
		shop_idem_refuse(r, &pay_idem_stmts, key, shop_json_error(f->status, f->message, errs));
		return;
	}
	shop_res_fail(r, rc);
}

static const struct pay_refusal create_refusals[] = {
	{ REFUSE_NOT_FOUND, 404, "Order not found", "NOT_FOUND", NULL },
	{ REFUSE_NOT_PAYABLE, 409, "The order cannot be paid", "ORDER_NOT_PAYABLE",
	  "only an order in PENDING_PAYMENT can be paid" },
	{ REFUSE_IN_PROGRESS, 409, "A payment of this order is in progress", "PAYMENT_IN_PROGRESS",
	  NULL },
	{ REFUSE_ALREADY_PAID, 409, "The order is already paid", "ALREADY_PAID", NULL },
	{ 0 },
};

void h_payment_create(struct shop_req *r)
{
	struct shop_idem key;
	struct create_ctx c = { .r = r, .app = r->app_ctx, .key = &key };
	int rc;

	if (pay_idem_begin(r, &key) != 0)
		return;
	shop_req_bint(r, "order_id", &c.order_id);
	c.method = shop_req_bstr(r, "payment_method");

	rc = shop_db_tx(r->db, create_tx, &c);
	/* The refusals are about the order: field order_id. */
	pay_idem_answer(r, &key, rc, c.text, c.len, create_refusals, "order_id", REFUSE_IDEM_TAKEN);
}

/* GET /api/v1/payments/{id} */

void h_payment_get(struct shop_req *r)
{
	struct shop_rows rows;
	const struct shop_row *row;
	int rc;

	rc = shop_db_query(r->db, r->arena, &rows, SQL_PAYMENT_GET, "i", shop_req_id(r, "id"));
	if (rc < 0) {
		shop_res_fail(r, rc);
		return;
	}
	row = rows.n == 1 ? &rows.row[0] : NULL;
	if (!row || !shop_auth_owner_or_admin(&r->auth, shop_row_int(row, PAY_USER))) {
		shop_res_error(r, 404, "Payment not found", "NOT_FOUND", NULL, NULL);
		return;
	}
	shop_res_ok(r, 200, "Payment", pay_wrap_payment(row));
}
