/* POST /api/v1/payments/{id}/refund (ADMIN; API.md "Payments", docs/events.md).
 *
 * The request layer has checked the role (the auth app refuses a non-admin
 * with 403 before the request gets here, and the route says ADMIN too) and
 * validated the body {restock?: bool} (no body at all counts as {}). Here:
 *
 *   - Idempotency-Key (lib/idem.h) as in POST /payments: the first answer to
 *     a key is kept, the 202 and a refusal (404, 409) alike, so the same key
 *     and body always get the same answer.
 *   - One transaction: the payment row locked; unknown → 404 NOT_FOUND; not
 *     SUCCEEDED (PROCESSING, FAILED, REFUNDED) → 409 NOT_REFUNDABLE; a refund
 *     already asked for → 409 REFUND_IN_PROGRESS; else refund_requested_at
 *     and refund_restock are set, refund.requested goes to the outbox
 *     (pay_refund_request, refund_request.c) and the key is stored. The answer is 202 {payment}: the payment stays
 *     SUCCEEDED (with refund_requested_at) until the provider's webhook
 *     refund.succeeded makes it REFUNDED (webhook.c), and the workers then
 *     move the order and the stock (docs/events.md).
 *   - restock is the admin's word that the goods came back; the order worker
 *     returns the stock anyway when the order was not shipped yet. */
#include <stdbool.h>
#include <string.h>

#include <json-c/json.h>

#include "fcgi-apps/payments/payments.h"
#include "lib/db.h"
#include "lib/err.h"
#include "lib/idem.h"
#include "lib/json.h"
#include "lib/mem.h"
#include "lib/req.h"

struct refund_ctx {
	struct shop_req *r;
	const struct shop_idem *key;
	long long id;
	bool restock;
	/* out: the stored answer */
	char *text;
	size_t len;
};

static int refund_tx(struct shop_db *db, void *arg)
{
	struct refund_ctx *c = arg;
	struct shop_req *r = c->r;
	struct shop_rows pay;
	json_object *env;
	const char *text;
	size_t len;
	int rc;

	c->text = NULL;
	rc = pay_refund_request(db, r->arena, c->id, 0, c->restock, r->request_id, &pay);
	if (rc != 0)
		return rc;
	env = shop_json_success(202, "Refund requested", pay_wrap_payment(&pay.row[0]));
	text = shop_json_text(env, &len);
	c->text = shop_arena_strndup(r->arena, text, len);
	c->len = len;
	json_object_put(env);
	rc = shop_idem_store(r, &pay_idem_stmts, c->key, 202, c->text, c->len);
	if (rc == SHOP_EDUP)
		return PAY_REFUND_IDEM_TAKEN;
	return rc < 0 ? rc : 0;
}

static const struct pay_refusal refund_refusals[] = {
	{ PAY_REFUND_NOT_FOUND, 404, "Payment not found", "NOT_FOUND", NULL },
	{ PAY_REFUND_NOT_REFUNDABLE, 409, "The payment cannot be refunded", "NOT_REFUNDABLE",
	  "only a SUCCEEDED payment can be refunded" },
	{ PAY_REFUND_IN_PROGRESS, 409, "A refund of this payment is in progress",
	  "REFUND_IN_PROGRESS", "a refund was already requested" },
	{ 0 },
};

void h_payment_refund(struct shop_req *r)
{
	struct shop_idem key;
	struct refund_ctx c = { .r = r, .key = &key };
	int rc;

	if (pay_idem_begin(r, &key) != 0)
		return;
	c.id = shop_req_id(r, "id");
	if (!shop_req_bbool(r, "restock", &c.restock))
		c.restock = false;

	rc = shop_db_tx(r->db, refund_tx, &c);
	pay_idem_answer(r, &key, rc, c.text, c.len, refund_refusals, NULL, PAY_REFUND_IDEM_TAKEN);
}
