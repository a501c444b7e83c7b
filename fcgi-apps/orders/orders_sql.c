/* Every SQL statement of the orders app, prepared once per connection
 * (lib/db.h). Values are always bound, never spliced into the text.
 *
 * Outside shop_orders the app's user may (schema/grants.sql): read
 * shop_catalog.products; read and update shop_catalog.stock; insert into
 * shop_catalog.stock_ledger; read and delete shop_cart.cart_items; read
 * shop_identity.addresses.
 *
 * Sets of values (the product ids of an order, its lines, the orders of a
 * page) are bound as one JSON array and expanded with JSON_TABLE, so that a
 * statement serves any number of lines in one round trip; the joins then
 * walk the primary keys (eq_ref). */
#include "fcgi-apps/orders/orders.h"
#include "lib/idem.h"
#include "lib/outbox.h"

#define RFC3339(col) "DATE_FORMAT(" col ", '%Y-%m-%dT%H:%i:%sZ')"

/* The columns of enum ord_col. */
#define ORDER_COLS \
	"o.id, o.user_id, o.status, o.total_cents, o.currency, o.shipping_address, " \
	RFC3339("o.created_at") ", " RFC3339("o.updated_at") ", " RFC3339("o.expires_at")

/* The columns of enum ord_item_col. */
#define ITEM_COLS \
	"i.product_id, i.sku, i.name, i.quantity, i.unit_price_cents, i.line_total_cents"

/* The columns of enum ord_read_col; ADDR_ON is the address's join condition. */
#define PLACE_READ(ADDR_ON) \
	"SELECT p.id, p.sku, p.name, p.price_cents, p.currency, p.status," \
	" COALESCE(s.on_hand - s.reserved, 0)," \
	" CAST(UTC_TIMESTAMP(3) AS CHAR), CAST(UTC_TIMESTAMP(3) + INTERVAL ? SECOND AS CHAR)," \
	" a.id, a.line1, a.line2, a.city, a.postal_code, a.country" \
	" FROM JSON_TABLE(?, '$[*]' COLUMNS (id BIGINT UNSIGNED PATH '$')) j" \
	" JOIN shop_catalog.products p ON p.id = j.id" \
	" LEFT JOIN shop_catalog.stock s ON s.product_id = p.id" \
	" LEFT JOIN shop_identity.addresses a ON " ADDR_ON

/* Keyset pages, newest first: the last id seen (first page: 2^63 - 1), limit. */
#define PAGE " AND o.id < ? ORDER BY o.id DESC LIMIT ?"

const char *const orders_sql[SQL_COUNT] = {
	[SQL_IDEM_GET] = SHOP_IDEM_GET_SQL,
	[SQL_IDEM_PUT] = SHOP_IDEM_PUT_SQL,
	[SQL_IDEM_DEL_EXPIRED] = SHOP_IDEM_DEL_EXPIRED_SQL,
	[SQL_OUTBOX_INSERT] = SHOP_OUTBOX_INSERT_SQL,

	/* user_id → product_id, quantity in the cart's order (GET /cart's);
	 * locks the user's cart rows and the gap after them, so that the cart
	 * ordered is exactly the cart emptied. */
	[SQL_CART_LOCK] =
		"SELECT product_id, quantity FROM shop_cart.cart_items WHERE user_id = ?"
		" ORDER BY added_at, product_id FOR UPDATE",
	/* user_id */
	[SQL_CART_CLEAR] =
		"DELETE FROM shop_cart.cart_items WHERE user_id = ?",

	/* The read before placing an order, one round trip: expiry seconds,
	 * JSON array of product ids, then the address's key (PLACE_READ_DEFAULT:
	 * user_id; PLACE_READ_ADDR: address id, user_id) → per product that
	 * exists (enum ord_read_col): id, sku, name, price_cents, currency,
	 * status, available; the server's clock now and now + expiry as text
	 * (UTC_TIMESTAMP is one value within a statement; the order row is
	 * written with these, so the answer needs no read of it); the address,
	 * or NULLs (a.id NULL: none). A consistent read: no lock on products
	 * nor on stock; available is only a first look, the guarded UPDATE of
	 * SQL_STOCK_RESERVE decides. The address is a const table of the join
	 * (unique key), read once. */
	[SQL_PLACE_READ_DEFAULT] = PLACE_READ("a.default_owner = ?"),
	[SQL_PLACE_READ_ADDR] = PLACE_READ("a.id = ? AND a.user_id = ?"),

	/* quantity, product_id, quantity: reserves and locks the stock row; no
	 * row changes when fewer than quantity are available (or there is no
	 * stock row at all), and available can never go below 0. */
	[SQL_STOCK_RESERVE] =
		"UPDATE shop_catalog.stock SET reserved = reserved + ?, updated_at = UTC_TIMESTAMP()"
		" WHERE product_id = ? AND on_hand - reserved >= ?",
	/* JSON array of product ids → product_id, available: a consistent read
	 * after a refused reservation was rolled back (no lock held or taken) */
	[SQL_STOCK_OF] =
		"SELECT s.product_id, s.on_hand - s.reserved"
		" FROM JSON_TABLE(?, '$[*]' COLUMNS (id BIGINT UNSIGNED PATH '$')) j"
		" JOIN shop_catalog.stock s ON s.product_id = j.id",
	/* actor user_id, ref ("order:<id>"), JSON array of [product_id, quantity] */
	[SQL_LEDGER_RESERVE] =
		"INSERT INTO shop_catalog.stock_ledger (product_id, delta_on_hand, delta_reserved,"
		" kind, reason, actor_user_id, ref, created_at)"
		" SELECT j.pid, 0, j.q, 'RESERVE', NULL, ?, ?, UTC_TIMESTAMP()"
		" FROM JSON_TABLE(?, '$[*]' COLUMNS (pid BIGINT UNSIGNED PATH '$[0]',"
		" q BIGINT PATH '$[1]')) j",

	/* user_id, total_cents, currency, shipping_address (JSON text or NULL),
	 * created_at (= updated_at), expires_at: the times as the read before
	 * the order gave them (SQL_PLACE_READ_*) */
	[SQL_ORDER_INSERT] =
		"INSERT INTO orders (user_id, status, total_cents, currency, shipping_address,"
		" created_at, updated_at, expires_at)"
		" VALUES (?, 'PENDING_PAYMENT', ?, ?, ?, ?, ?, ?)",
	/* order_id, JSON array of {product_id, sku, name, quantity,
	 * unit_price_cents, line_total_cents}: line_no is the position (1..n) */
	[SQL_ITEMS_INSERT] =
		"INSERT INTO order_items (order_id, line_no, product_id, sku, name, quantity,"
		" unit_price_cents, line_total_cents)"
		" SELECT ?, j.line_no, j.product_id, j.sku, j.name, j.quantity,"
		" j.unit_price_cents, j.line_total_cents"
		" FROM JSON_TABLE(?, '$[*]' COLUMNS ("
		" line_no FOR ORDINALITY,"
		" product_id BIGINT UNSIGNED PATH '$.product_id' ERROR ON EMPTY,"
		" sku VARCHAR(64) CHARACTER SET ascii PATH '$.sku' ERROR ON EMPTY,"
		" name VARCHAR(200) CHARACTER SET utf8mb4 PATH '$.name' ERROR ON EMPTY,"
		" quantity INT UNSIGNED PATH '$.quantity' ERROR ON EMPTY,"
		" unit_price_cents BIGINT PATH '$.unit_price_cents' ERROR ON EMPTY,"
		" line_total_cents BIGINT PATH '$.line_total_cents' ERROR ON EMPTY)) j",

	/* id → the order (enum ord_col) */
	[SQL_ORDER_GET] =
		"SELECT " ORDER_COLS " FROM orders o WHERE o.id = ?",
	/* order_id → its lines (enum ord_item_col) */
	[SQL_ITEMS_GET] =
		"SELECT " ITEM_COLS " FROM order_items i WHERE i.order_id = ? ORDER BY i.line_no",
	/* JSON array of order ids → order_id, then the lines of each */
	[SQL_ITEMS_OF] =
		"SELECT i.order_id, " ITEM_COLS
		" FROM JSON_TABLE(?, '$[*]' COLUMNS (id BIGINT UNSIGNED PATH '$')) j"
		" JOIN order_items i ON i.order_id = j.id ORDER BY i.order_id, i.line_no",

	/* user_id, then PAGE (ix_orders_user); also GET /admin/orders?user= */
	[SQL_LIST_USER] =
		"SELECT " ORDER_COLS " FROM orders o WHERE o.user_id = ?" PAGE,
	/* user_id, status, then PAGE (ix_orders_user, status filtered) */
	[SQL_LIST_USER_STATUS] =
		"SELECT " ORDER_COLS " FROM orders o WHERE o.user_id = ? AND o.status = ?" PAGE,
	/* PAGE (PRIMARY) */
	[SQL_ADMIN_LIST] =
		"SELECT " ORDER_COLS " FROM orders o WHERE 1 = 1" PAGE,
	/* status, then PAGE (ix_orders_status_id) */
	[SQL_ADMIN_LIST_STATUS] =
		"SELECT " ORDER_COLS " FROM orders o WHERE o.status = ?" PAGE,

	/* id, user_id: only the owner, only from PENDING_PAYMENT */
	[SQL_ORDER_CANCEL] =
		"UPDATE orders SET status = 'CANCELLED', updated_at = UTC_TIMESTAMP(3)"
		" WHERE id = ? AND user_id = ? AND status = 'PENDING_PAYMENT'",
	/* id, user_id → status */
	[SQL_ORDER_STATE] =
		"SELECT status FROM orders WHERE id = ? AND user_id = ?",
};
