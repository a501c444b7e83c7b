/* The cart app (shop-cart): one cart per user, in the database shop_cart,
 * with current prices read from shop_catalog.products.
 *
 *   routes.c    the route table and the fields each route accepts
 *   handlers.c  the handlers: HTTP in, envelope out
 *   cart_sql.c  every SQL statement
 *   main.c      the app description */
#ifndef SHOP_CART_H
#define SHOP_CART_H

#include <stddef.h>

#include "lib/router.h"

#define CART_MAX_ID 9007199254740991LL /* 2^53 - 1: ids stay exact in JSON */
#define CART_MAX_QUANTITY 1000         /* of one product in a cart */
#define CART_MAX_LINES 100             /* distinct products in a cart */

/* The statements, indexes into cart_sql[]. */
enum cart_stmt {
	SQL_CART_VIEW,
	SQL_CART_LOCK,
	SQL_PRODUCT_GET,
	SQL_ITEM_INSERT,
	SQL_ITEM_ADD,
	SQL_ITEM_SET,
	SQL_ITEM_DELETE,
	SQL_CART_CLEAR,
	SQL_COUNT
};

/* Columns of SQL_CART_VIEW, in this order. */
enum cart_view_col {
	CV_PRODUCT,
	CV_QUANTITY,
	CV_NAME,
	CV_PRICE,
	CV_CURRENCY,
	CV_STATUS,
	CV_NCOLS
};

extern const char *const cart_sql[SQL_COUNT];

extern const struct shop_route cart_routes[];
extern const size_t cart_nroutes;

struct shop_req;

void h_cart_get(struct shop_req *r);
void h_cart_clear(struct shop_req *r);
void h_item_add(struct shop_req *r);
void h_item_set(struct shop_req *r);
void h_item_delete(struct shop_req *r);

#endif
