/* The shipping app's routes and the fields each one accepts. The request
 * layer checks access and validates the body against these tables before a
 * handler runs; anything undeclared is refused (UNKNOWN_FIELD): a client can
 * never set a shipment's status or owner. */
#include "fcgi-apps/shipping/shipping.h"
#include "lib/router.h"
#include "lib/util.h"
#include "lib/validate.h"

/* Both required, one line each, no blank at either end. */
static const struct shop_field b_ship[] = {
	{ .name = "carrier", .type = SHOP_T_STRING, .flags = SHOP_F_REQUIRED, .min = 1,
	  .max = SHIP_MAX_CARRIER, .format = shop_fmt_text },
	{ .name = "tracking_number", .type = SHOP_T_STRING, .flags = SHOP_F_REQUIRED, .min = 1,
	  .max = SHIP_MAX_TRACKING, .format = shop_fmt_text },
	{ .name = NULL },
};

/* Deliver takes no fields: no body, or {} (clients that always send JSON). */
static const struct shop_field b_none[] = {
	{ .name = NULL },
};

/* One route per line: tests/docs grep these lines. */
const struct shop_route shipping_routes[] = {
	{"GET", "/api/v1/shipments/{order_id}", h_shipment_get, SHOP_ACCESS_USER, NULL, NULL},
	{"POST", "/api/v1/admin/shipments/{order_id}/ship", h_shipment_ship, SHOP_ACCESS_ADMIN, b_ship, NULL},
	{"POST", "/api/v1/admin/shipments/{order_id}/deliver", h_shipment_deliver, SHOP_ACCESS_ADMIN, b_none, NULL},
};

const size_t shipping_nroutes = SHOP_ARRAY_LEN(shipping_routes);
