/* Every SQL statement of the catalog app, prepared once per connection
 * (lib/db.h). Values are always bound, never spliced into the text.
 *
 * Product lists are keyset-paginated on (sort value, id), with id breaking
 * ties, so that pages neither skip nor repeat a product while others are
 * added. One statement per sort order (and one more per order for full-text
 * search); absent filters are bound as neutral values that the optimizer
 * folds away at execution time (MariaDB optimizes each EXECUTE with the
 * bound values):
 *   price range   BETWEEN min AND max         (absent: 0 .. LLONG_MAX)
 *   seller        BETWEEN seller AND seller   (absent: 0 .. LLONG_MAX)
 *   category      (? = 0 OR category_id IN (descendants of ?))  (absent: 0)
 * and the first page uses a keyset bound before every row (newest: id <
 * LLONG_MAX; price: (-1, 0); -price: (LLONG_MAX, LLONG_MAX)).
 *
 * Plans seen with ANALYZE on 10,000 products (rows read for a page of 20):
 *   newest            range on PRIMARY from the cursor, 21 rows
 *   price / -price    range on ix_products_price from the cursor, 21 rows,
 *                     first page or deep (status is not a leading column of
 *                     that index on purpose: see 001_catalog.sql)
 *   seller            ref on ix_products_seller (seller_id, status), in id
 *                     order; a deep page of a seller with thousands of
 *                     products reads the rows before the cursor (MariaDB
 *                     10.11 costs that ref below the range; 7,000 rows ~7 ms)
 *   category          descendants materialized from category_paths' primary
 *                     key, then PRIMARY/ix_products_price in sort order,
 *                     filtered (a leaf holding 1/30 of the products: ~300 rows)
 *   q (full text)     ft_products_text, then a filesort of the matches */
#include "fcgi-apps/catalog/catalog.h"

#define PRODUCT_COLS \
	"p.id, p.sku, p.name, p.description, p.price_cents, p.currency, p.category_id," \
	" p.seller_id, p.status, p.images," \
	" DATE_FORMAT(p.created_at, '%Y-%m-%dT%H:%i:%sZ')," \
	" DATE_FORMAT(p.updated_at, '%Y-%m-%dT%H:%i:%sZ')"

/* Parameters: min_price, max_price, seller_lo, seller_hi, category, category. */
#define LIST_WHERE \
	" FROM products p" \
	" WHERE p.status = 'ACTIVE'" \
	" AND p.price_cents BETWEEN ? AND ?" \
	" AND p.seller_id BETWEEN ? AND ?" \
	" AND (? = 0 OR p.category_id IN" \
	" (SELECT cp.descendant_id FROM category_paths cp WHERE cp.ancestor_id = ?))"

/* Parameter: the boolean-mode expression built by catalog_search_expr(). */
#define SEARCH_AND " AND MATCH (p.name, p.description) AGAINST (? IN BOOLEAN MODE)"

/* Keysets. newest: last id. price / -price: last price, last price, last id. Then limit. */
#define KEY_NEWEST " AND p.id < ? ORDER BY p.id DESC LIMIT ?"
#define KEY_PRICE \
	" AND p.price_cents >= ? AND (p.price_cents > ? OR p.id > ?)" \
	" ORDER BY p.price_cents, p.id LIMIT ?"
#define KEY_PRICE_DESC \
	" AND p.price_cents <= ? AND (p.price_cents < ? OR p.id < ?)" \
	" ORDER BY p.price_cents DESC, p.id DESC LIMIT ?"

const char *const catalog_sql[SQL_COUNT] = {
	[SQL_PRODUCT_GET] =
		"SELECT " PRODUCT_COLS " FROM products p WHERE p.id = ?",

	[SQL_LIST_NEWEST] = "SELECT " PRODUCT_COLS LIST_WHERE KEY_NEWEST,
	[SQL_LIST_PRICE] = "SELECT " PRODUCT_COLS LIST_WHERE KEY_PRICE,
	[SQL_LIST_PRICE_DESC] = "SELECT " PRODUCT_COLS LIST_WHERE KEY_PRICE_DESC,
	[SQL_SEARCH_NEWEST] = "SELECT " PRODUCT_COLS LIST_WHERE SEARCH_AND KEY_NEWEST,
	[SQL_SEARCH_PRICE] = "SELECT " PRODUCT_COLS LIST_WHERE SEARCH_AND KEY_PRICE,
	[SQL_SEARCH_PRICE_DESC] = "SELECT " PRODUCT_COLS LIST_WHERE SEARCH_AND KEY_PRICE_DESC,

	/* sku, name, description, price_cents, currency, category_id, seller_id */
	[SQL_PRODUCT_INSERT] =
		"INSERT INTO products (sku, name, description, price_cents, currency,"
		" category_id, seller_id, status, images, created_at, updated_at)"
		" VALUES (?, ?, ?, ?, ?, ?, ?, 'ACTIVE', '[]', UTC_TIMESTAMP(), UTC_TIMESTAMP())",
	/* id → seller_id, status; locks the row for an update of the product */
	[SQL_PRODUCT_OWNER_LOCK] =
		"SELECT seller_id, status FROM products WHERE id = ? FOR UPDATE",
	/* id → seller_id, status; no lock (a product's seller never changes) */
	[SQL_PRODUCT_OWNER] =
		"SELECT seller_id, status FROM products WHERE id = ?",
	/* Each field: a flag (1: set it) then its value; then the id. */
	[SQL_PRODUCT_UPDATE] =
		"UPDATE products SET"
		" sku = IF(? = 1, ?, sku),"
		" name = IF(? = 1, ?, name),"
		" description = IF(? = 1, ?, description),"
		" price_cents = IF(? = 1, ?, price_cents),"
		" currency = IF(? = 1, ?, currency),"
		" category_id = IF(? = 1, ?, category_id),"
		" updated_at = UTC_TIMESTAMP()"
		" WHERE id = ?",
	/* id; an archived product is left as it is (updated_at included) */
	[SQL_PRODUCT_ARCHIVE] =
		"UPDATE products SET status = 'ARCHIVED', updated_at = UTC_TIMESTAMP()"
		" WHERE id = ? AND status <> 'ARCHIVED'",

	[SQL_CATEGORY_EXISTS] =
		"SELECT id FROM categories WHERE id = ?",
	[SQL_CATEGORY_LIST] =
		"SELECT id, name, parent_id FROM categories ORDER BY id",
	/* name, parent_id (0: a root) */
	[SQL_CATEGORY_INSERT] =
		"INSERT INTO categories (name, parent_id, created_at)"
		" VALUES (?, NULLIF(?, 0), UTC_TIMESTAMP())",
	/* new id, parent id (0: none), new id, new id: the parent's ancestors
	 * become the new category's, plus itself at depth 0 */
	[SQL_CATEGORY_PATHS_INSERT] =
		"INSERT INTO category_paths (ancestor_id, descendant_id, depth)"
		" SELECT ancestor_id, ?, depth + 1 FROM category_paths WHERE descendant_id = ?"
		" UNION ALL SELECT ?, ?, 0",

	/* product_id, on_hand */
	[SQL_STOCK_INSERT] =
		"INSERT INTO stock (product_id, on_hand, reserved, updated_at)"
		" VALUES (?, ?, 0, UTC_TIMESTAMP())",
	/* product_id: creates an empty stock row when there is none */
	[SQL_STOCK_ENSURE] =
		"INSERT IGNORE INTO stock (product_id, on_hand, reserved, updated_at)"
		" VALUES (?, 0, 0, UTC_TIMESTAMP())",
	/* product_id → seller_id, status, on_hand, reserved (0, 0 without a stock row) */
	[SQL_STOCK_GET] =
		"SELECT p.seller_id, p.status, COALESCE(s.on_hand, 0), COALESCE(s.reserved, 0)"
		" FROM products p LEFT JOIN stock s ON s.product_id = p.id WHERE p.id = ?",
	/* delta, product_id, delta: one conditional UPDATE, so that concurrent
	 * reservations can never make available negative */
	[SQL_STOCK_ADJUST] =
		"UPDATE stock SET on_hand = on_hand + ?, updated_at = UTC_TIMESTAMP()"
		" WHERE product_id = ? AND on_hand + ? >= reserved",
	/* product_id, delta_on_hand, delta_reserved, kind, reason, actor (0: none), ref */
	[SQL_LEDGER_INSERT] =
		"INSERT INTO stock_ledger (product_id, delta_on_hand, delta_reserved, kind,"
		" reason, actor_user_id, ref, created_at)"
		" VALUES (?, ?, ?, ?, ?, NULLIF(?, 0), ?, UTC_TIMESTAMP())",
};
