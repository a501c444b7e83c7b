/* The shipping worker's statements (shop_shipping, as user shop_shipping). */
#include "lib/outbox.h"
#include "workers/shipping/shipping_worker.h"

const char *const sw_sql[SW_SQL_COUNT] = {
	[SW_SQL_CLAIM] = SHOP_INBOX_CLAIM_SQL,
	/* order_id, user_id. A shipment that exists already fails with a
	 * duplicate key (SHOP_EDUP), which undoes only this statement: the
	 * handler then keeps the existing shipment and commits the claim. */
	[SW_SQL_CREATE] =
		"INSERT INTO shipments (order_id, user_id, status, created_at, updated_at)"
		" VALUES (?, ?, 'PENDING', UTC_TIMESTAMP(3), UTC_TIMESTAMP(3))",
	/* order_id: the history row of the shipment just created, at its time */
	[SW_SQL_EVENT] =
		"INSERT INTO shipment_events (order_id, status, at)"
		" SELECT order_id, status, created_at FROM shipments WHERE order_id = ?",
};
