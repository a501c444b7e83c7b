/* Every SQL statement of the cart app, prepared once per connection
 * (lib/db.h). Values are always bound, never spliced into the text.
 * The app's user may read shop_catalog.products and nothing else outside
 * shop_cart (schema/grants.sql). */
#include "fcgi-apps/cart/cart.h"

const char *const cart_sql[SQL_COUNT] = {
	/* user_id → the lines with their products' current name, price,
	 * currency and status, oldest line first (columns: enum cart_view_col).
	 * A LEFT JOIN so that a line whose product vanished still shows (as
	 * unavailable): products are archived, never deleted, but the cart does
	 * not rely on it. */
	[SQL_CART_VIEW] =
		"SELECT c.product_id, c.quantity, p.name, p.price_cents, p.currency, p.status"
		" FROM cart_items c LEFT JOIN shop_catalog.products p ON p.id = c.product_id"
		" WHERE c.user_id = ? ORDER BY c.added_at, c.product_id",
	/* user_id → product_id, quantity; locks the user's whole cart (and the
	 * gap after it: no line can be added meanwhile), so that the line count,
	 * the quantity limit and the currency are checked against what stays. */
	[SQL_CART_LOCK] =
		"SELECT product_id, quantity FROM cart_items WHERE user_id = ? FOR UPDATE",
	/* id → status, currency */
	[SQL_PRODUCT_GET] =
		"SELECT status, currency FROM shop_catalog.products WHERE id = ?",
	/* user_id, product_id, quantity */
	[SQL_ITEM_INSERT] =
		"INSERT INTO cart_items (user_id, product_id, quantity, added_at)"
		" VALUES (?, ?, ?, UTC_TIMESTAMP(3))",
	/* quantity to add, user_id, product_id */
	[SQL_ITEM_ADD] =
		"UPDATE cart_items SET quantity = quantity + ? WHERE user_id = ? AND product_id = ?",
	/* quantity, user_id, product_id (found rows: 1 even when unchanged) */
	[SQL_ITEM_SET] =
		"UPDATE cart_items SET quantity = ? WHERE user_id = ? AND product_id = ?",
	/* user_id, product_id */
	[SQL_ITEM_DELETE] =
		"DELETE FROM cart_items WHERE user_id = ? AND product_id = ?",
	/* user_id */
	[SQL_CART_CLEAR] =
		"DELETE FROM cart_items WHERE user_id = ?",
};
