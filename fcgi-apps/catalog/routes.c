/* The catalog's routes and the fields each one accepts. The request layer
 * checks access and validates the query and body against these tables
 * before a handler runs; anything undeclared is refused (UNKNOWN_FIELD,
 * INVALID_QUERY). Data-dependent rules (owner-only) are in handlers.c. */
#include <string.h>

#include "fcgi-apps/catalog/catalog.h"
#include "lib/cursor.h"
#include "lib/router.h"
#include "lib/util.h"
#include "lib/validate.h"

#define MAX_ID 9007199254740991LL /* 2^53 - 1: ids stay exact in JSON */
#define MAX_PRICE_CENTS 10000000000LL      /* a product's price, 10^10 */
#define MAX_PRICE_FILTER 1000000000000LL   /* ?min_price= / ?max_price=, 10^12 */
#define MAX_STOCK 1000000000LL             /* initial_stock and |delta|, 10^9 */

bool catalog_fmt_sort(const char *s, size_t n)
{
	return (n == 6 && memcmp(s, "newest", 6) == 0) ||
	    (n == 5 && memcmp(s, "price", 5) == 0) ||
	    (n == 6 && memcmp(s, "-price", 6) == 0);
}

static const struct shop_field q_products_list[] = {
	{ .name = "q", .type = SHOP_T_STRING, .min = 1, .max = 200, .format = shop_fmt_single_line },
	{ .name = "category", .type = SHOP_T_INT, .min = 1, .max = MAX_ID },
	{ .name = "min_price", .type = SHOP_T_INT, .min = 0, .max = MAX_PRICE_FILTER },
	{ .name = "max_price", .type = SHOP_T_INT, .min = 0, .max = MAX_PRICE_FILTER },
	{ .name = "seller", .type = SHOP_T_INT, .min = 1, .max = MAX_ID },
	{ .name = "sort", .type = SHOP_T_STRING, .min = 1, .max = 6, .format = catalog_fmt_sort },
	{ .name = "limit", .type = SHOP_T_INT, .min = 1, .max = 100 },
	{ .name = "cursor", .type = SHOP_T_STRING, .min = 1, .max = SHOP_CURSOR_MAX - 1 },
	{ .name = NULL },
};

static const struct shop_field b_product_create[] = {
	{ .name = "sku", .type = SHOP_T_STRING, .flags = SHOP_F_REQUIRED, .min = 1, .max = 64,
	  .format = shop_fmt_sku },
	{ .name = "name", .type = SHOP_T_STRING, .flags = SHOP_F_REQUIRED, .min = 1, .max = 200,
	  .format = shop_fmt_text },
	{ .name = "description", .type = SHOP_T_STRING, .flags = SHOP_F_REQUIRED | SHOP_F_MULTILINE,
	  .min = 0, .max = 10000 },
	{ .name = "price_cents", .type = SHOP_T_INT, .flags = SHOP_F_REQUIRED, .min = 0,
	  .max = MAX_PRICE_CENTS },
	{ .name = "currency", .type = SHOP_T_STRING, .flags = SHOP_F_REQUIRED, .min = 3, .max = 3,
	  .format = shop_fmt_currency },
	{ .name = "category_id", .type = SHOP_T_INT, .flags = SHOP_F_REQUIRED, .min = 1, .max = MAX_ID },
	{ .name = "initial_stock", .type = SHOP_T_INT, .min = 0, .max = MAX_STOCK },
	{ .name = NULL },
};

/* The same fields, none required, and not the stock: initial_stock is
 * UNKNOWN_FIELD here (stock changes go through /inventory/{id}/adjust). */
static const struct shop_field b_product_update[] = {
	{ .name = "sku", .type = SHOP_T_STRING, .min = 1, .max = 64, .format = shop_fmt_sku },
	{ .name = "name", .type = SHOP_T_STRING, .min = 1, .max = 200, .format = shop_fmt_text },
	{ .name = "description", .type = SHOP_T_STRING, .flags = SHOP_F_MULTILINE, .min = 0, .max = 10000 },
	{ .name = "price_cents", .type = SHOP_T_INT, .min = 0, .max = MAX_PRICE_CENTS },
	{ .name = "currency", .type = SHOP_T_STRING, .min = 3, .max = 3, .format = shop_fmt_currency },
	{ .name = "category_id", .type = SHOP_T_INT, .min = 1, .max = MAX_ID },
	{ .name = NULL },
};

static const struct shop_field b_category_create[] = {
	{ .name = "name", .type = SHOP_T_STRING, .flags = SHOP_F_REQUIRED, .min = 1, .max = 100,
	  .format = shop_fmt_text },
	{ .name = "parent_id", .type = SHOP_T_INT, .flags = SHOP_F_NULLABLE, .min = 1, .max = MAX_ID },
	{ .name = NULL },
};

static const struct shop_field b_inventory_adjust[] = {
	{ .name = "delta", .type = SHOP_T_INT, .flags = SHOP_F_REQUIRED, .min = -MAX_STOCK, .max = MAX_STOCK },
	{ .name = "reason", .type = SHOP_T_STRING, .flags = SHOP_F_REQUIRED, .min = 1, .max = 200,
	  .format = shop_fmt_text },
	{ .name = NULL },
};

/* One route per line: tests/docs grep these lines. */
const struct shop_route catalog_routes[] = {
	{"GET", "/api/v1/products", h_products_list, SHOP_ACCESS_PUBLIC, NULL, q_products_list},
	{"GET", "/api/v1/products/{id}", h_product_get, SHOP_ACCESS_PUBLIC, NULL, NULL},
	{"POST", "/api/v1/products", h_product_create, SHOP_ACCESS_SELLER, b_product_create, NULL},
	{"PUT", "/api/v1/products/{id}", h_product_update, SHOP_ACCESS_SELLER, b_product_update, NULL},
	{"DELETE", "/api/v1/products/{id}", h_product_archive, SHOP_ACCESS_SELLER, NULL, NULL},
	{"GET", "/api/v1/categories", h_categories_list, SHOP_ACCESS_PUBLIC, NULL, NULL},
	{"POST", "/api/v1/categories", h_category_create, SHOP_ACCESS_ADMIN, b_category_create, NULL},
	{"GET", "/api/v1/inventory/{product_id}", h_inventory_get, SHOP_ACCESS_PUBLIC, NULL, NULL},
	{"POST", "/api/v1/inventory/{product_id}/adjust", h_inventory_adjust, SHOP_ACCESS_SELLER, b_inventory_adjust, NULL},
};

const size_t catalog_nroutes = SHOP_ARRAY_LEN(catalog_routes);
