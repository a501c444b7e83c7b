/* Every SQL statement of the order worker (user shop_orders, database
 * shop_orders), prepared once per connection (lib/db.h). */
#include "lib/outbox.h"
#include "workers/orders/order_worker.h"

const char *const ow_sql[OW_SQL_COUNT] = {
	[OW_SQL_CLAIM] = SHOP_INBOX_CLAIM_SQL,
	[OW_SQL_OUTBOX] = SHOP_OUTBOX_INSERT_SQL,
	/* Only an order that still waits, for exactly this amount. */
	[OW_SQL_PAY] =
		"UPDATE orders SET status = 'PAID', payment_id = ?, updated_at = UTC_TIMESTAMP(3)"
		" WHERE id = ? AND status = 'PENDING_PAYMENT' AND total_cents = ? AND currency = ?",
	[OW_SQL_ORDER] =
		"SELECT user_id, status, total_cents, currency, payment_id FROM orders WHERE id = ?",
	[OW_SQL_ORDER_LOCK] =
		"SELECT user_id, status, total_cents, currency, payment_id FROM orders WHERE id = ?"
		" FOR UPDATE",
	/* Only a paid order (shipped or not), refunded by its own payment. */
	[OW_SQL_REFUND] =
		"UPDATE orders SET status = 'REFUNDED', updated_at = UTC_TIMESTAMP(3)"
		" WHERE id = ? AND status IN ('PAID', 'SHIPPED', 'DELIVERED') AND payment_id = ?",
	[OW_SQL_ITEMS] =
		"SELECT product_id, quantity FROM order_items WHERE order_id = ? ORDER BY line_no",
	/* ix_orders_status_expiry: a range on (status, expires_at) */
	[OW_SQL_DUE] =
		"SELECT id FROM orders WHERE status = 'PENDING_PAYMENT'"
		" AND expires_at <= UTC_TIMESTAMP(3) ORDER BY expires_at LIMIT ?",
	/* Only an order that still waits: a payment that won the race keeps it. */
	[OW_SQL_EXPIRE] =
		"UPDATE orders SET status = 'EXPIRED', updated_at = UTC_TIMESTAMP(3)"
		" WHERE id = ? AND status = 'PENDING_PAYMENT' AND expires_at <= UTC_TIMESTAMP(3)",
	/* ix_idempotency_created; a bounded batch per run */
	[OW_SQL_IDEM_PURGE] =
		"DELETE FROM idempotency_keys WHERE created_at <= UTC_TIMESTAMP(3) - INTERVAL 24 HOUR"
		" ORDER BY created_at LIMIT ?",
};
