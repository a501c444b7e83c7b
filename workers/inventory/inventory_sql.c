/* The inventory worker's statements (shop_catalog, as user shop_catalog).
 *
 * The guards (reserved >= q) make a settlement or release that does not
 * match a reservation change no row instead of driving a counter negative;
 * with CLIENT_FOUND_ROWS (lib/db.h) a matching row always counts 1, also
 * when q is 0 (refused before this anyway). */
#include "lib/outbox.h"
#include "workers/inventory/inventory.h"

const char *const inventory_sql[INV_SQL_COUNT] = {
	[INV_SQL_CLAIM] = SHOP_INBOX_CLAIM_SQL,
	[INV_SQL_SETTLE] =
		"UPDATE stock SET on_hand = on_hand - ?, reserved = reserved - ?,"
		" updated_at = UTC_TIMESTAMP()"
		" WHERE product_id = ? AND reserved >= ?",
	[INV_SQL_RELEASE] =
		"UPDATE stock SET reserved = reserved - ?, updated_at = UTC_TIMESTAMP()"
		" WHERE product_id = ? AND reserved >= ?",
	/* The goods of a refunded order are back on the shelf. */
	[INV_SQL_RESTOCK] =
		"UPDATE stock SET on_hand = on_hand + ?, updated_at = UTC_TIMESTAMP()"
		" WHERE product_id = ?",
	[INV_SQL_LEDGER] =
		"INSERT INTO stock_ledger (product_id, delta_on_hand, delta_reserved, kind,"
		" reason, ref, created_at)"
		" VALUES (?, ?, ?, ?, ?, ?, UTC_TIMESTAMP())",
};
