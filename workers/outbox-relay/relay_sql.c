/* The relay's statements, one table per schema. The SQL names the schema
 * (the relay's user has no default database and reads several outboxes), so
 * the text is built here at compile time from a fixed whitelist of schema
 * names: nothing from the configuration reaches it except the choice of
 * table.
 *
 * Pending rows are read in id order through ix_outbox_unsent (sent_at, id).
 * A row is marked sent by its own id, never by a range: a lower id still
 * uncommitted when the batch was read must not be marked without having
 * been published. The ids go 64, then 8, then 1 at a time (IN lists of a
 * fixed length, each prepared once): 17 statements for 500 rows. */
#include <string.h>

#include "lib/util.h"
#include "workers/outbox-relay/relay.h"

#define PENDING(schema) \
	"SELECT id, event_id, event_type, payload, request_id," \
	" CONCAT(SUBSTRING(DATE_FORMAT(occurred_at, '%Y-%m-%dT%H:%i:%s.%f'), 1, 23), 'Z')" \
	" FROM " schema ".outbox WHERE sent_at IS NULL ORDER BY id LIMIT ?"
#define MARK_SENT(schema) \
	"UPDATE " schema ".outbox SET sent_at = UTC_TIMESTAMP(3) WHERE id = ? AND sent_at IS NULL"
#define IDS_8 "?,?,?,?,?,?,?,?"
#define IDS_64 IDS_8 "," IDS_8 "," IDS_8 "," IDS_8 "," IDS_8 "," IDS_8 "," IDS_8 "," IDS_8
#define MARK_SENT_N(schema, ids) \
	"UPDATE " schema ".outbox SET sent_at = UTC_TIMESTAMP(3) WHERE id IN (" ids ")" \
	" AND sent_at IS NULL"
/* For the metrics, once a second: both halves read ix_outbox_unsent. */
#define BACKLOG(schema) \
	"SELECT COUNT(*), (SELECT TIMESTAMPDIFF(MICROSECOND, occurred_at, UTC_TIMESTAMP(6)) DIV 1000" \
	" FROM " schema ".outbox WHERE sent_at IS NULL ORDER BY id LIMIT 1)" \
	" FROM " schema ".outbox WHERE sent_at IS NULL"
#define RELAY_SQL(schema) { \
	[RELAY_SQL_PENDING] = PENDING(schema), \
	[RELAY_SQL_MARK_SENT] = MARK_SENT(schema), \
	[RELAY_SQL_MARK_SENT_8] = MARK_SENT_N(schema, IDS_8), \
	[RELAY_SQL_MARK_SENT_64] = MARK_SENT_N(schema, IDS_64), \
	[RELAY_SQL_BACKLOG] = BACKLOG(schema), \
}

static const char *const identity_sql[RELAY_SQL_COUNT] = RELAY_SQL("shop_identity");
static const char *const catalog_sql[RELAY_SQL_COUNT] = RELAY_SQL("shop_catalog");
static const char *const cart_sql[RELAY_SQL_COUNT] = RELAY_SQL("shop_cart");
static const char *const orders_sql[RELAY_SQL_COUNT] = RELAY_SQL("shop_orders");
static const char *const payments_sql[RELAY_SQL_COUNT] = RELAY_SQL("shop_payments");
static const char *const shipping_sql[RELAY_SQL_COUNT] = RELAY_SQL("shop_shipping");
static const char *const notify_sql[RELAY_SQL_COUNT] = RELAY_SQL("shop_notify");

static const struct relay_schema schemas[] = {
	{ "shop_identity", identity_sql },
	{ "shop_catalog", catalog_sql },
	{ "shop_cart", cart_sql },
	{ "shop_orders", orders_sql },
	{ "shop_payments", payments_sql },
	{ "shop_shipping", shipping_sql },
	{ "shop_notify", notify_sql },
};

const struct relay_schema *relay_schema_find(const char *name, size_t len)
{
	for (size_t i = 0; i < SHOP_ARRAY_LEN(schemas); i++)
		if (strlen(schemas[i].name) == len && memcmp(schemas[i].name, name, len) == 0)
			return &schemas[i];
	return NULL;
}
