/* The orders app (shop-orders): orders with stock reserved at placement,
 * idempotent POST /orders, cancel, lists, in the database shop_orders.
 *
 *   routes.c     the route table and the fields each route accepts
 *   place.c      POST /orders: the one transaction that reserves and orders
 *   handlers.c   the other handlers (get, lists, cancel) and the order JSON
 *   orders_sql.c every SQL statement
 *   main.c       configuration ([orders] expiry_seconds), the app description */
#ifndef SHOP_ORDERS_H
#define SHOP_ORDERS_H

#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>

#include "lib/router.h"

#define ORD_MAX_ID 9007199254740991LL /* 2^53 - 1: ids stay exact in JSON */
#define ORD_MAX_QUANTITY 1000         /* of one product in an order line */
#define ORD_MAX_LINES 100             /* lines in a direct order */
#define ORD_DEFAULT_EXPIRY 900        /* [orders] expiry_seconds */

/* Per-process state (main.c). */
struct ord_ctx {
	long long expiry_seconds;
};

/* The statements, indexes into orders_sql[]. */
enum ord_stmt {
	SQL_IDEM_GET,
	SQL_IDEM_PUT,
	SQL_IDEM_DEL_EXPIRED,
	SQL_OUTBOX_INSERT,
	SQL_CART_LOCK,
	SQL_CART_CLEAR,
	SQL_PLACE_READ_DEFAULT,
	SQL_PLACE_READ_ADDR,
	SQL_STOCK_RESERVE,
	SQL_STOCK_OF,
	SQL_LEDGER_RESERVE,
	SQL_ORDER_INSERT,
	SQL_ITEMS_INSERT,
	SQL_ORDER_GET,
	SQL_ITEMS_GET,
	SQL_ITEMS_OF,
	SQL_LIST_USER,
	SQL_LIST_USER_STATUS,
	SQL_ADMIN_LIST,
	SQL_ADMIN_LIST_STATUS,
	SQL_ORDER_CANCEL,
	SQL_ORDER_STATE,
	SQL_COUNT
};

/* Columns of SQL_PLACE_READ_*, in this order. */
enum ord_read_col {
	RC_ID,
	RC_SKU,
	RC_NAME,
	RC_PRICE,
	RC_CURRENCY,
	RC_STATUS,
	RC_AVAILABLE,
	RC_NOW,
	RC_EXPIRES,
	RC_ADDR_ID,
	RC_ADDR_LINE1,  /* then line2, city, postal_code, country */
	RC_NCOLS = RC_ADDR_LINE1 + 5
};

/* Columns of SQL_ORDER_GET and the lists, in this order. */
enum ord_col {
	OC_ID,
	OC_USER,
	OC_STATUS,
	OC_TOTAL,
	OC_CURRENCY,
	OC_ADDRESS,
	OC_CREATED,
	OC_UPDATED,
	OC_EXPIRES,
	OC_NCOLS
};

/* Columns of SQL_ITEMS_GET; SQL_ITEMS_OF has order_id first, then these. */
enum ord_item_col {
	IC_PRODUCT,
	IC_SKU,
	IC_NAME,
	IC_QUANTITY,
	IC_PRICE,
	IC_TOTAL,
	IC_NCOLS
};

extern const char *const orders_sql[SQL_COUNT];

extern const struct shop_route orders_routes[];
extern const size_t orders_nroutes;

struct shop_req;
struct shop_row;
struct shop_rows;

void h_order_place(struct shop_req *r);
void h_orders_list(struct shop_req *r);
void h_order_get(struct shop_req *r);
void h_order_cancel(struct shop_req *r);
void h_admin_orders(struct shop_req *r);

/* One order line as JSON from a row of SQL_ITEMS_GET starting at column
 * off (0, or 1 for SQL_ITEMS_OF). Returns a new object. */
json_object *ord_item_json(const struct shop_row *row, unsigned off);
/* The order JSON of API.md from an order row and its items (a JSON array,
 * taken). Returns a new object. */
json_object *ord_order_json(const struct shop_row *row, json_object *items);

/* ?status= values: one of the order states. */
bool ord_fmt_status(const char *s, size_t n);

#endif
