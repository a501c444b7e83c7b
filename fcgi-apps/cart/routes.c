/* The cart's routes and the fields each one accepts. The request layer
 * checks access and validates the body against these tables before a
 * handler runs; anything undeclared is refused (UNKNOWN_FIELD). */
#include "fcgi-apps/cart/cart.h"
#include "lib/router.h"
#include "lib/util.h"
#include "lib/validate.h"

static const struct shop_field b_item_add[] = {
	{ .name = "product_id", .type = SHOP_T_INT, .flags = SHOP_F_REQUIRED, .min = 1,
	  .max = CART_MAX_ID },
	{ .name = "quantity", .type = SHOP_T_INT, .flags = SHOP_F_REQUIRED, .min = 1,
	  .max = CART_MAX_QUANTITY },
	{ .name = NULL },
};

/* 0 removes the line. */
static const struct shop_field b_item_set[] = {
	{ .name = "quantity", .type = SHOP_T_INT, .flags = SHOP_F_REQUIRED, .min = 0,
	  .max = CART_MAX_QUANTITY },
	{ .name = NULL },
};

/* One route per line: tests/docs grep these lines. */
const struct shop_route cart_routes[] = {
	{"GET", "/api/v1/cart", h_cart_get, SHOP_ACCESS_USER, NULL, NULL},
	{"DELETE", "/api/v1/cart", h_cart_clear, SHOP_ACCESS_USER, NULL, NULL},
	{"POST", "/api/v1/cart/items", h_item_add, SHOP_ACCESS_USER, b_item_add, NULL},
	{"PUT", "/api/v1/cart/items/{product_id}", h_item_set, SHOP_ACCESS_USER, b_item_set, NULL},
	{"DELETE", "/api/v1/cart/items/{product_id}", h_item_delete, SHOP_ACCESS_USER, NULL, NULL},
};

const size_t cart_nroutes = SHOP_ARRAY_LEN(cart_routes);
