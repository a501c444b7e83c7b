/* The orders app's routes and the fields each one accepts. The request
 * layer checks access and validates the query and body against these tables
 * before a handler runs; anything undeclared is refused (UNKNOWN_FIELD,
 * INVALID_QUERY): a client can never set a price, a status or an owner. */
#include <string.h>

#include "fcgi-apps/orders/orders.h"
#include "lib/cursor.h"
#include "lib/router.h"
#include "lib/util.h"
#include "lib/validate.h"

bool ord_fmt_status(const char *s, size_t n)
{
	static const char *const states[] = {
		"PENDING_PAYMENT", "PAID", "SHIPPED", "DELIVERED", "CANCELLED", "EXPIRED", "REFUNDED",
	};

	for (size_t i = 0; i < SHOP_ARRAY_LEN(states); i++) {
		if (strlen(states[i]) == n && memcmp(states[i], s, n) == 0)
			return true;
	}
	return false;
}

static const struct shop_field b_line[] = {
	{ .name = "product_id", .type = SHOP_T_INT, .flags = SHOP_F_REQUIRED, .min = 1,
	  .max = ORD_MAX_ID },
	{ .name = "quantity", .type = SHOP_T_INT, .flags = SHOP_F_REQUIRED, .min = 1,
	  .max = ORD_MAX_QUANTITY },
	{ .name = NULL },
};

/* {address_id?} orders the cart; {address_id?, items} orders those lines. */
static const struct shop_field b_place[] = {
	{ .name = "address_id", .type = SHOP_T_INT, .flags = SHOP_F_NULLABLE, .min = 1,
	  .max = ORD_MAX_ID },
	{ .name = "items", .type = SHOP_T_OBJECT_ARRAY, .min = 1, .max = ORD_MAX_LINES,
	  .fields = b_line },
	{ .name = NULL },
};

/* Cancel takes no fields: no body, or {} (clients that always send JSON). */
static const struct shop_field b_none[] = {
	{ .name = NULL },
};

static const struct shop_field q_list[] = {
	{ .name = "status", .type = SHOP_T_STRING, .min = 1, .max = 15, .format = ord_fmt_status },
	{ .name = "limit", .type = SHOP_T_INT, .min = 1, .max = 100 },
	{ .name = "cursor", .type = SHOP_T_STRING, .min = 1, .max = SHOP_CURSOR_MAX - 1 },
	{ .name = NULL },
};

static const struct shop_field q_admin_list[] = {
	{ .name = "status", .type = SHOP_T_STRING, .min = 1, .max = 15, .format = ord_fmt_status },
	{ .name = "user", .type = SHOP_T_INT, .min = 1, .max = ORD_MAX_ID },
	{ .name = "limit", .type = SHOP_T_INT, .min = 1, .max = 100 },
	{ .name = "cursor", .type = SHOP_T_STRING, .min = 1, .max = SHOP_CURSOR_MAX - 1 },
	{ .name = NULL },
};

/* One route per line: tests/docs grep these lines. */
const struct shop_route orders_routes[] = {
	{"POST", "/api/v1/orders", h_order_place, SHOP_ACCESS_USER, b_place, NULL},
	{"GET", "/api/v1/orders", h_orders_list, SHOP_ACCESS_USER, NULL, q_list},
	{"GET", "/api/v1/orders/{id}", h_order_get, SHOP_ACCESS_USER, NULL, NULL},
	{"POST", "/api/v1/orders/{id}/cancel", h_order_cancel, SHOP_ACCESS_USER, b_none, NULL},
	{"GET", "/api/v1/admin/orders", h_admin_orders, SHOP_ACCESS_ADMIN, NULL, q_admin_list},
};

const size_t orders_nroutes = SHOP_ARRAY_LEN(orders_routes);
