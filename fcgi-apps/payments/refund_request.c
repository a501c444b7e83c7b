/* The refund request of a payment (payments.h, pay_refund_request): shared
 * by POST /payments/{id}/refund (refund.c) and the payments worker, which
 * asks for the refund of a payment that arrived too late for its order
 * (workers/payments). No HTTP here: only the payment's row, its change and
 * its event, inside the caller's transaction. */
#include <stdbool.h>
#include <string.h>

#include <json-c/json.h>

#include "fcgi-apps/payments/payments.h"
#include "lib/db.h"
#include "lib/err.h"
#include "lib/json.h"
#include "lib/outbox.h"

static int requested_event(struct shop_db *db, const struct shop_row *row, bool restock,
    const char *request_id)
{
	json_object *p = json_object_new_object();
	long long id = shop_row_int(row, PAY_ID);
	int rc;

	json_object_object_add(p, "payment_id", shop_json_int(id));
	json_object_object_add(p, "order_id", shop_json_int(shop_row_int(row, PAY_ORDER)));
	json_object_object_add(p, "user_id", shop_json_int(shop_row_int(row, PAY_USER)));
	json_object_object_add(p, "amount_cents", shop_json_int(shop_row_int(row, PAY_AMOUNT)));
	json_object_object_add(p, "currency", shop_json_str(shop_row_str(row, PAY_CURRENCY)));
	json_object_object_add(p, "provider", shop_json_str(shop_row_str(row, PAY_PROVIDER)));
	json_object_object_add(p, "provider_ref", shop_json_str(shop_row_str(row, PAY_PROVIDER_REF)));
	json_object_object_add(p, "restock", json_object_new_boolean(restock));
	rc = shop_outbox_add(db, SQL_OUTBOX_INSERT, "refund.requested", "payment", id, p,
	    request_id);
	json_object_put(p);
	return rc;
}

int pay_refund_request(struct shop_db *db, struct shop_arena *a, long long id, long long order_id,
    bool restock, const char *request_id, struct shop_rows *out)
{
	struct shop_rows rows;
	const struct shop_row *row;
	int rc;

	rc = shop_db_query(db, a, &rows, SQL_PAYMENT_LOCK, "i", id);
	if (rc < 0)
		return rc;
	if (rows.n == 0)
		return PAY_REFUND_NOT_FOUND;
	row = &rows.row[0];
	if (order_id > 0 && shop_row_int(row, PAY_ORDER) != order_id)
		return PAY_REFUND_NOT_FOUND;
	if (shop_row_null(row, PAY_STATUS) || strcmp(shop_row_str(row, PAY_STATUS), "SUCCEEDED") != 0)
		return PAY_REFUND_NOT_REFUNDABLE;
	if (!shop_row_null(row, PAY_REFUND_REQUESTED))
		return PAY_REFUND_IN_PROGRESS;
	rc = shop_db_exec(db, SQL_REFUND_REQUEST, "ii", restock ? 1LL : 0LL, id);
	if (rc < 0)
		return rc;
	if (rc != 1)
		return SHOP_EDB; /* the row is locked and qualified: cannot happen */
	rc = requested_event(db, row, restock, request_id);
	if (rc < 0)
		return rc;
	rc = shop_db_query(db, a, out, SQL_PAYMENT_GET, "i", id);
	if (rc < 0)
		return rc;
	return out->n == 1 ? 0 : SHOP_EDB;
}
