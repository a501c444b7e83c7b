/* Every SQL statement of the payments app, prepared once per connection
 * (lib/db.h). Values are always bound, never spliced into the text.
 *
 * active_order_id is a generated column (schema/payments/001_payments.sql):
 * a status change to FAILED or REFUNDED frees the order for a new payment by
 * itself, and its unique key refuses a second live payment. A SUCCEEDED
 * payment with a refund pending is still live: its order stays paid until
 * the provider confirms the refund. */
#include "fcgi-apps/payments/payments.h"
#include "lib/idem.h"
#include "lib/outbox.h"

#define RFC3339(col) "DATE_FORMAT(" col ", '%Y-%m-%dT%H:%i:%sZ')"

#define PAYMENT_COLS \
	"id, order_id, user_id, amount_cents, currency, status, provider, provider_ref," \
	" failure_reason, " RFC3339("created_at") ", " RFC3339("updated_at") "," \
	" " RFC3339("refund_requested_at") ", refund_restock"

const char *const payments_sql[SQL_COUNT] = {
	/* order id → user_id, status, total_cents, currency (the orders
	 * domain's table: read only, granted in schema/grants.sql) */
	[SQL_ORDER_GET] =
		"SELECT user_id, status, total_cents, currency FROM shop_orders.orders WHERE id = ?",
	/* order id → its live payment (PROCESSING or SUCCEEDED), if any */
	[SQL_LIVE_PAYMENT] =
		"SELECT id, status FROM payments WHERE active_order_id = ?",
	/* order_id, user_id, amount_cents, currency, provider, payment_method */
	[SQL_PAYMENT_INSERT] =
		"INSERT INTO payments (order_id, user_id, amount_cents, currency, status, provider,"
		" payment_method, created_at, updated_at)"
		" VALUES (?, ?, ?, ?, 'PROCESSING', ?, ?, UTC_TIMESTAMP(3), UTC_TIMESTAMP(3))",
	[SQL_PAYMENT_GET] =
		"SELECT " PAYMENT_COLS " FROM payments WHERE id = ?",
	/* id → the same columns, the row locked for the webhook's change */
	[SQL_PAYMENT_LOCK] =
		"SELECT " PAYMENT_COLS " FROM payments WHERE id = ? FOR UPDATE",
	/* provider_ref, id, amount_cents, currency: only a PROCESSING payment of
	 * exactly that amount succeeds */
	[SQL_PAYMENT_SUCCEED] =
		"UPDATE payments SET status = 'SUCCEEDED', provider_ref = ?,"
		" updated_at = UTC_TIMESTAMP(3)"
		" WHERE id = ? AND status = 'PROCESSING' AND amount_cents = ? AND currency = ?",
	/* provider_ref, failure_reason, id */
	[SQL_PAYMENT_FAIL] =
		"UPDATE payments SET status = 'FAILED', provider_ref = ?, failure_reason = ?,"
		" updated_at = UTC_TIMESTAMP(3)"
		" WHERE id = ? AND status = 'PROCESSING'",
	/* refund_restock (0/1), id: only a SUCCEEDED payment not yet asked to
	 * refund (schema/payments/002_refunds.sql) */
	[SQL_REFUND_REQUEST] =
		"UPDATE payments SET refund_requested_at = UTC_TIMESTAMP(3), refund_restock = ?,"
		" updated_at = UTC_TIMESTAMP(3)"
		" WHERE id = ? AND status = 'SUCCEEDED' AND refund_requested_at IS NULL",
	/* id: the provider's refund.succeeded, only for a refund that was asked for */
	[SQL_PAYMENT_REFUND] =
		"UPDATE payments SET status = 'REFUNDED', updated_at = UTC_TIMESTAMP(3)"
		" WHERE id = ? AND status = 'SUCCEEDED' AND refund_requested_at IS NOT NULL",
	/* event_id, type, payment_id (NULL: none), result */
	[SQL_WEBHOOK_INSERT] =
		"INSERT INTO webhook_events (event_id, type, payment_id, result, received_at)"
		" VALUES (?, ?, ?, ?, UTC_TIMESTAMP(3))",
	[SQL_OUTBOX_INSERT] = SHOP_OUTBOX_INSERT_SQL,
	[SQL_IDEM_GET] = SHOP_IDEM_GET_SQL,
	[SQL_IDEM_PUT] = SHOP_IDEM_PUT_SQL,
	[SQL_IDEM_DEL_EXPIRED] = SHOP_IDEM_DEL_EXPIRED_SQL,
	/* Only the payments worker runs it (statements are prepared on first
	 * use): schema/payments/003_payments_worker.sql */
	[SQL_INBOX_CLAIM] = SHOP_INBOX_CLAIM_SQL,
};
