/* POST /api/v1/payments/webhook: the provider's signed events (API.md).
 *
 * Order of checks, and nothing changes on any refusal:
 *   1. Shop-Signature over the raw body (signature.c): absent, malformed,
 *      stale or future t (|now - t| > webhook_tolerance), or no matching v1
 *      → 400 INVALID_SIGNATURE.
 *   2. The body, strictly: JSON (400 MALFORMED_JSON), then exactly
 *      {id, type, created, data: {payment_id, provider_ref, amount_cents,
 *      currency, reason?}} with the types and formats of ev_fields below
 *      (400 VALIDATION_FAILED / UNKNOWN_FIELD ...). data.reason is the
 *      provider's failure code on payment.failed (optional).
 *   3. One transaction: the event id goes into webhook_events (a replayed id
 *      finds its row: 200 "already processed", nothing else happens), then
 *        payment.succeeded  PROCESSING → SUCCEEDED, only with the payment's
 *                           exact amount and currency, + outbox payment.succeeded
 *        payment.failed     PROCESSING → FAILED (which frees the order for
 *                           another payment), + outbox payment.failed
 *        refund.succeeded   SUCCEEDED with refund_requested_at set (refund.c)
 *                           → REFUNDED, only for the payment's exact amount and
 *                           currency (no partial refunds), + outbox
 *                           payment.refunded with the admin's restock flag
 *        any other type     recorded only
 *      A payment event for a payment that is not PROCESSING (out of order,
 *      or the other outcome already arrived), a refund for a payment that is
 *      not SUCCEEDED with a refund asked for (never asked, or refunded
 *      already), another amount, or an unknown payment id: recorded with its
 *      result and nothing changes.
 *   Answer 200 {received: true} whenever the event is recorded.
 *
 * Why an unknown payment id is 200 and not 404: the signature proves that
 * the provider sent it, and a provider retries anything but a 2xx for days.
 * A payment row exists before the provider can hear of it (payment.requested
 * is written in the transaction that creates the row), so an unknown id will
 * never become known: retrying cannot help. It is recorded (result
 * UNKNOWN_PAYMENT) and logged for an operator instead. A 5xx (database down)
 * is the only answer that asks the provider to try again. */
#include <stdbool.h>
#include <string.h>

#include <json-c/json.h>

#include "fcgi-apps/payments/payments.h"
#include "lib/db.h"
#include "lib/err.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/outbox.h"
#include "lib/req.h"
#include "lib/util.h"
#include "lib/validate.h"

#define MAX_AMOUNT 1000000000000000LL /* 10^15 cents */

/* Refusals of the transaction (positive). */
enum { REFUSE_DUPLICATE = 1 };

/* [A-Za-z0-9_.-]+ : event ids, provider refs, types, reasons */
static bool fmt_token(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '_' || c == '.' || c == '-'))
			return false;
	}
	return n > 0;
}

static const struct shop_field data_fields[] = {
	{ .name = "payment_id", .type = SHOP_T_INT, .flags = SHOP_F_REQUIRED, .min = 1,
	  .max = PAY_MAX_ID },
	{ .name = "provider_ref", .type = SHOP_T_STRING, .flags = SHOP_F_REQUIRED, .min = 1,
	  .max = 64, .format = fmt_token },
	{ .name = "amount_cents", .type = SHOP_T_INT, .flags = SHOP_F_REQUIRED, .min = 0,
	  .max = MAX_AMOUNT },
	{ .name = "currency", .type = SHOP_T_STRING, .flags = SHOP_F_REQUIRED, .min = 3, .max = 3,
	  .format = shop_fmt_currency },
	{ .name = "reason", .type = SHOP_T_STRING, .flags = SHOP_F_NULLABLE, .min = 1, .max = 64,
	  .format = fmt_token },
	{ .name = NULL },
};

static const struct shop_field ev_fields[] = {
	{ .name = "id", .type = SHOP_T_STRING, .flags = SHOP_F_REQUIRED, .min = 1, .max = 64,
	  .format = fmt_token },
	{ .name = "type", .type = SHOP_T_STRING, .flags = SHOP_F_REQUIRED, .min = 1, .max = 64,
	  .format = fmt_token },
	{ .name = "created", .type = SHOP_T_INT, .flags = SHOP_F_REQUIRED, .min = 0,
	  .max = PAY_SIG_MAX_T },
	{ .name = "data", .type = SHOP_T_OBJECT, .flags = SHOP_F_REQUIRED, .fields = data_fields },
	{ .name = NULL },
};

enum ev_type { EV_SUCCEEDED, EV_FAILED, EV_REFUND, EV_OTHER };

struct wh_ctx {
	struct shop_req *r;
	const char *id, *type, *provider_ref, *currency, *reason;
	enum ev_type kind;
	long long payment_id, amount;
	const char *result; /* out: what was done */
};

static const char *str_of(json_object *o, const char *name)
{
	json_object *v = NULL;

	if (!json_object_object_get_ex(o, name, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static long long int_of(json_object *o, const char *name)
{
	json_object *v = NULL;

	if (!json_object_object_get_ex(o, name, &v))
		return 0;
	return (long long)json_object_get_int64(v);
}

/* payment.refunded, from the locked row (restock: the admin's flag). */
static int emit_refunded(struct shop_db *db, struct wh_ctx *w, const struct shop_row *row)
{
	json_object *p = json_object_new_object();
	int rc;

	json_object_object_add(p, "payment_id", shop_json_int(w->payment_id));
	json_object_object_add(p, "order_id", shop_json_int(shop_row_int(row, PAY_ORDER)));
	json_object_object_add(p, "user_id", shop_json_int(shop_row_int(row, PAY_USER)));
	json_object_object_add(p, "amount_cents", shop_json_int(shop_row_int(row, PAY_AMOUNT)));
	json_object_object_add(p, "currency", shop_json_str(shop_row_str(row, PAY_CURRENCY)));
	json_object_object_add(p, "restock",
	    json_object_new_boolean(shop_row_int(row, PAY_REFUND_RESTOCK) != 0));
	rc = shop_outbox_add(db, SQL_OUTBOX_INSERT, "payment.refunded", "payment", w->payment_id, p,
	    w->r->request_id);
	json_object_put(p);
	return rc;
}

/* The outbox event of an applied change, from the locked row. */
static int emit(struct shop_db *db, struct wh_ctx *w, const struct shop_row *row)
{
	json_object *p;
	bool ok = w->kind == EV_SUCCEEDED;
	int rc;

	if (w->kind == EV_REFUND)
		return emit_refunded(db, w, row);
	p = json_object_new_object();
	json_object_object_add(p, "payment_id", shop_json_int(w->payment_id));
	json_object_object_add(p, "order_id", shop_json_int(shop_row_int(row, PAY_ORDER)));
	json_object_object_add(p, "user_id", shop_json_int(shop_row_int(row, PAY_USER)));
	json_object_object_add(p, "amount_cents", shop_json_int(shop_row_int(row, PAY_AMOUNT)));
	json_object_object_add(p, "currency", shop_json_str(shop_row_str(row, PAY_CURRENCY)));
	json_object_object_add(p, "provider_ref", shop_json_str(w->provider_ref));
	if (!ok)
		json_object_object_add(p, "reason", shop_json_str(w->reason));
	rc = shop_outbox_add(db, SQL_OUTBOX_INSERT, ok ? "payment.succeeded" : "payment.failed",
	    "payment", w->payment_id, p, w->r->request_id);
	json_object_put(p);
	return rc;
}

static int webhook_tx(struct shop_db *db, void *arg)
{
	struct wh_ctx *w = arg;
	struct shop_rows rows;
	const struct shop_row *row = NULL;
	bool apply = false;
	int rc;

	/* The row first (locked), then the event: every delivery of one event
	 * takes the locks in the same order. */
	rc = shop_db_query(db, w->r->arena, &rows, SQL_PAYMENT_LOCK, "i", w->payment_id);
	if (rc < 0)
		return rc;
	if (rows.n == 1)
		row = &rows.row[0];

	if (w->kind == EV_OTHER) {
		w->result = "UNKNOWN_TYPE";
	} else if (!row) {
		w->result = "UNKNOWN_PAYMENT";
	} else if (w->kind == EV_REFUND && strcmp(shop_row_str(row, PAY_STATUS), "SUCCEEDED") != 0) {
		w->result = "NOT_SUCCEEDED";
	} else if (w->kind == EV_REFUND && shop_row_null(row, PAY_REFUND_REQUESTED)) {
		w->result = "REFUND_NOT_REQUESTED";
	} else if (w->kind != EV_REFUND && strcmp(shop_row_str(row, PAY_STATUS), "PROCESSING") != 0) {
		w->result = "NOT_PROCESSING";
	} else if (w->kind != EV_FAILED && (shop_row_int(row, PAY_AMOUNT) != w->amount ||
	    strcmp(shop_row_str(row, PAY_CURRENCY), w->currency) != 0)) {
		w->result = "AMOUNT_MISMATCH";
	} else {
		w->result = "APPLIED";
		apply = true;
	}

	rc = shop_db_exec(db, SQL_WEBHOOK_INSERT, "ssis", w->id, w->type, w->payment_id, w->result);
	if (rc == SHOP_EDUP)
		return REFUSE_DUPLICATE;
	if (rc < 0 || !apply)
		return rc < 0 ? rc : 0;

	if (w->kind == EV_SUCCEEDED)
		rc = shop_db_exec(db, SQL_PAYMENT_SUCCEED, "siis", w->provider_ref, w->payment_id,
		    w->amount, w->currency);
	else if (w->kind == EV_FAILED)
		rc = shop_db_exec(db, SQL_PAYMENT_FAIL, "ssi", w->provider_ref,
		    w->reason ? w->reason : "declined", w->payment_id);
	else
		rc = shop_db_exec(db, SQL_PAYMENT_REFUND, "i", w->payment_id);
	if (rc < 0)
		return rc;
	if (rc != 1)
		return SHOP_EDB; /* the row is locked and qualified: cannot happen */
	return emit(db, w, row);
}

static void bad_signature(struct shop_req *r, int rc)
{
	const char *detail = rc == SHOP_EEXPIRED ? "timestamp outside the tolerance" :
	    rc == SHOP_EAUTH ? "no signature matches" : "missing or malformed Shop-Signature";

	shop_log_warn("webhook refused: %s", detail);
	shop_res_error(r, 400, "Invalid signature", "INVALID_SIGNATURE", NULL, detail);
}

void h_webhook(struct shop_req *r)
{
	const struct pay_ctx *app = r->app_ctx;
	struct wh_ctx w = { .r = r };
	struct shop_verrs errs = { 0 };
	json_object *ev, *data = NULL;
	const char *body, *why = NULL;
	size_t len = 0;
	int rc;

	body = shop_req_raw_body(r, &len);
	rc = pay_sig_verify(shop_req_header(r, "Shop-Signature"), app->secret, app->secretlen,
	    body ? body : "", body ? len : 0, shop_now(), app->tolerance);
	if (rc) {
		bad_signature(r, rc);
		return;
	}

	ev = body ? shop_json_parse(body, len, &why) : NULL;
	if (!ev) {
		shop_res_error(r, 400, "Malformed JSON", "MALFORMED_JSON", NULL,
		    body ? why : "empty body");
		return;
	}
	if (!json_object_is_type(ev, json_type_object) ||
	    shop_validate_body(ev, ev_fields, &errs) != 0) {
		shop_res_verrs(r, 400, "Validation failed", "VALIDATION_FAILED", &errs);
		json_object_put(ev);
		return;
	}
	json_object_object_get_ex(ev, "data", &data);
	w.id = str_of(ev, "id");
	w.type = str_of(ev, "type");
	w.payment_id = int_of(data, "payment_id");
	w.provider_ref = str_of(data, "provider_ref");
	w.amount = int_of(data, "amount_cents");
	w.currency = str_of(data, "currency");
	w.reason = str_of(data, "reason");
	if (strcmp(w.type, "payment.succeeded") == 0)
		w.kind = EV_SUCCEEDED;
	else if (strcmp(w.type, "payment.failed") == 0)
		w.kind = EV_FAILED;
	else if (strcmp(w.type, "refund.succeeded") == 0)
		w.kind = EV_REFUND;
	else
		w.kind = EV_OTHER;

	rc = shop_db_tx(r->db, webhook_tx, &w);
	if (rc == REFUSE_DUPLICATE) {
		json_object *d = json_object_new_object();

		json_object_object_add(d, "received", json_object_new_boolean(1));
		shop_log_info("webhook %s: already processed", w.id);
		shop_res_ok(r, 200, "Event already processed", d);
	} else if (rc == 0) {
		json_object *d = json_object_new_object();

		json_object_object_add(d, "received", json_object_new_boolean(1));
		if (strcmp(w.result, "APPLIED") == 0)
			shop_log_info("webhook %s (%s) applied to payment %lld", w.id, w.type,
			    w.payment_id);
		else
			shop_log_warn("webhook %s (%s) for payment %lld recorded, nothing changed: %s",
			    w.id, w.type, w.payment_id, w.result);
		shop_res_ok(r, 200, "Received", d);
	} else {
		shop_res_fail(r, rc);
	}
	json_object_put(ev); /* the strings in w live until here */
}
