/* The payments app's routes and the fields each one accepts. The request
 * layer checks access and validates the body before a handler runs; the
 * webhook's body is signed, so the layer hands it over unparsed
 * (SHOP_ROUTE_RAW_BODY) and webhook.c verifies, then validates it. */
#include "fcgi-apps/payments/payments.h"
#include "lib/router.h"
#include "lib/util.h"
#include "lib/validate.h"

static const struct shop_field b_payment_create[] = {
	{ .name = "order_id", .type = SHOP_T_INT, .flags = SHOP_F_REQUIRED, .min = 1,
	  .max = PAY_MAX_ID },
	{ .name = "payment_method", .type = SHOP_T_STRING, .flags = SHOP_F_REQUIRED, .min = 1,
	  .max = 64, .format = shop_fmt_single_line },
	{ .name = NULL },
};

static const struct shop_field b_payment_refund[] = {
	{ .name = "restock", .type = SHOP_T_BOOL },
	{ .name = NULL },
};

/* One route per line: tests/docs grep these lines. */
const struct shop_route payments_routes[] = {
	{"POST", "/api/v1/payments", h_payment_create, SHOP_ACCESS_USER, b_payment_create, NULL},
	{"GET", "/api/v1/payments/{id}", h_payment_get, SHOP_ACCESS_USER, NULL, NULL},
	{"POST", "/api/v1/payments/{id}/refund", h_payment_refund, SHOP_ACCESS_ADMIN, b_payment_refund, NULL},
	{"POST", "/api/v1/payments/webhook", h_webhook, SHOP_ACCESS_PUBLIC, NULL, NULL, SHOP_ROUTE_RAW_BODY},
};

const size_t payments_nroutes = SHOP_ARRAY_LEN(payments_routes);
