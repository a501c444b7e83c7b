/* Every SQL statement of the shipping app, prepared once per connection
 * (lib/db.h). Values are always bound, never spliced into the text.
 *
 * Outside shop_shipping the app's user may (schema/grants.sql): read
 * shop_orders.orders, and update its status and updated_at, which the
 * statements below do only from the state the transition starts at (PAID
 * for ship, SHIPPED for deliver). A transition locks the shipment row first,
 * then the order row. */
#include "fcgi-apps/shipping/shipping.h"
#include "lib/outbox.h"

#define RFC3339(col) "DATE_FORMAT(" col ", '%Y-%m-%dT%H:%i:%sZ')"

const char *const shipping_sql[SQL_COUNT] = {
	[SQL_OUTBOX_INSERT] = SHOP_OUTBOX_INSERT_SQL,

	/* order_id → the shipment (enum ship_col) */
	[SQL_SHIPMENT_GET] =
		"SELECT order_id, user_id, status, carrier, tracking_number"
		" FROM shipments WHERE order_id = ?",
	/* order_id → status, at of each history row, oldest first */
	[SQL_EVENTS_GET] =
		"SELECT status, " RFC3339("at") " FROM shipment_events"
		" WHERE order_id = ? ORDER BY id",

	/* carrier, tracking_number, order_id: only from PENDING */
	[SQL_SHIP] =
		"UPDATE shipments SET status = 'SHIPPED', carrier = ?, tracking_number = ?,"
		" updated_at = UTC_TIMESTAMP(3) WHERE order_id = ? AND status = 'PENDING'",
	/* order_id: only from SHIPPED */
	[SQL_DELIVER] =
		"UPDATE shipments SET status = 'DELIVERED', updated_at = UTC_TIMESTAMP(3)"
		" WHERE order_id = ? AND status = 'SHIPPED'",
	/* order_id: the history row of the status the shipment just entered */
	[SQL_EVENT_INSERT] =
		"INSERT INTO shipment_events (order_id, status, at)"
		" SELECT order_id, status, updated_at FROM shipments WHERE order_id = ?",

	/* order id: PAID → SHIPPED */
	[SQL_ORDER_SHIP] =
		"UPDATE shop_orders.orders SET status = 'SHIPPED', updated_at = UTC_TIMESTAMP(3)"
		" WHERE id = ? AND status = 'PAID'",
	/* order id: SHIPPED → DELIVERED */
	[SQL_ORDER_DELIVER] =
		"UPDATE shop_orders.orders SET status = 'DELIVERED', updated_at = UTC_TIMESTAMP(3)"
		" WHERE id = ? AND status = 'SHIPPED'",
	/* order id → status */
	[SQL_ORDER_STATE] =
		"SELECT status FROM shop_orders.orders WHERE id = ?",
};
