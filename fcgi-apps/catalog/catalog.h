/* The catalog app: products, categories and inventory (stock and its
 * ledger) in the database shop_catalog. Routes in routes.c, handlers in
 * handlers.c, every SQL statement in catalog_sql.c, the full-text search
 * expression builder in search.c. */
#ifndef SHOP_CATALOG_H
#define SHOP_CATALOG_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/router.h"

/* The app's statements, indexes into catalog_sql[]. */
enum catalog_stmt {
	SQL_PRODUCT_GET,
	SQL_LIST_NEWEST,
	SQL_LIST_PRICE,
	SQL_LIST_PRICE_DESC,
	SQL_SEARCH_NEWEST,
	SQL_SEARCH_PRICE,
	SQL_SEARCH_PRICE_DESC,
	SQL_PRODUCT_INSERT,
	SQL_PRODUCT_OWNER_LOCK,
	SQL_PRODUCT_OWNER,
	SQL_PRODUCT_UPDATE,
	SQL_PRODUCT_ARCHIVE,
	SQL_CATEGORY_EXISTS,
	SQL_CATEGORY_LIST,
	SQL_CATEGORY_INSERT,
	SQL_CATEGORY_PATHS_INSERT,
	SQL_STOCK_INSERT,
	SQL_STOCK_ENSURE,
	SQL_STOCK_GET,
	SQL_STOCK_ADJUST,
	SQL_LEDGER_INSERT,
	SQL_COUNT
};

/* Columns of every statement that returns products (SQL_PRODUCT_GET and the
 * lists), in this order. */
enum catalog_product_col {
	PC_ID,
	PC_SKU,
	PC_NAME,
	PC_DESCRIPTION,
	PC_PRICE,
	PC_CURRENCY,
	PC_CATEGORY,
	PC_SELLER,
	PC_STATUS,
	PC_IMAGES,
	PC_CREATED,
	PC_UPDATED,
	PC_NCOLS
};

extern const char *const catalog_sql[SQL_COUNT];

extern const struct shop_route catalog_routes[];
extern const size_t catalog_nroutes;

struct shop_req;

void h_products_list(struct shop_req *r);
void h_product_get(struct shop_req *r);
void h_product_create(struct shop_req *r);
void h_product_update(struct shop_req *r);
void h_product_archive(struct shop_req *r);
void h_categories_list(struct shop_req *r);
void h_category_create(struct shop_req *r);
void h_inventory_get(struct shop_req *r);
void h_inventory_adjust(struct shop_req *r);

/* Formats used by routes.c. */
bool catalog_fmt_sort(const char *s, size_t n);   /* newest | price | -price */

/* InnoDB's full-text limits (innodb_ft_min_token_size, _max_token_size). */
#define CATALOG_FT_MIN_WORD 3
#define CATALOG_FT_MAX_WORD 84

/* Turns a user's search text q[0..n) into a MariaDB BOOLEAN MODE expression
 * in which the user's text can never act as an operator: "+w1* +w2*", one
 * term per word (a run of letters, digits and '_'; every other character,
 * operators included, separates words), all words required, each matching
 * as a prefix. InnoDB's default stopwords and words shorter than
 * CATALOG_FT_MIN_WORD or longer than CATALOG_FT_MAX_WORD characters are left
 * out (they are not in the index, so requiring them would find nothing).
 * out needs 2 * n + 1 bytes at most. Returns the number of words written
 * (0: nothing searchable, out is ""), or SHOP_ETOOBIG when outsz is short. */
int catalog_search_expr(char *out, size_t outsz, const char *q, size_t n);

#endif
