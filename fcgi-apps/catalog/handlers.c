/* The catalog's handlers. The request layer has already matched the route,
 * checked its access level (SELLER means SELLER or ADMIN) and validated the
 * query and body against routes.c; here are the data-dependent rules:
 *
 *   - A product's owner is the user whose id is its seller_id. The owner and
 *     ADMIN may see an ARCHIVED product and its full stock record; everyone
 *     else gets 404 for it, as for an unknown id.
 *   - PUT/DELETE/adjust on another seller's product answer 404, never 403,
 *     so that they do not reveal that the product exists.
 *   - An ARCHIVED product may still be updated and its stock adjusted by its
 *     owner or an ADMIN (for example to correct data or count returned goods);
 *     it stays ARCHIVED: status is not a field any route sets.
 *   - DELETE archives; archiving an archived product answers 200 again.
 *
 * Writes run in shop_db_tx (retried whole on deadlock), so the product, its
 * stock row and its ledger row are created together, and a stock change and
 * its ledger row are one transaction. */
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "fcgi-apps/catalog/catalog.h"
#include "lib/auth.h"
#include "lib/cursor.h"
#include "lib/db.h"
#include "lib/err.h"
#include "lib/json.h"
#include "lib/mem.h"
#include "lib/req.h"

/* Refusals a transaction body returns (positive: shop_db_tx hands them back
 * as they are, after rolling back). */
enum refusal {
	REFUSE_NOT_FOUND = 1,
	REFUSE_BAD_CATEGORY,
	REFUSE_INSUFFICIENT,
};

enum sort_order { SORT_NEWEST, SORT_PRICE, SORT_PRICE_DESC };

#define DEFAULT_LIMIT 20

static bool is_archived(const char *status)
{
	return status != NULL && strcmp(status, "ARCHIVED") == 0;
}

static json_object *col_json(const struct shop_row *row, unsigned i)
{
	if (shop_row_null(row, i))
		return NULL;
	return shop_json_strn(row->col[i], row->len[i]);
}

static json_object *product_json(const struct shop_row *row)
{
	json_object *o = json_object_new_object();
	json_object *images = NULL;

	if (!shop_row_null(row, PC_IMAGES))
		images = shop_json_parse(row->col[PC_IMAGES], row->len[PC_IMAGES], NULL);
	if (images == NULL || !json_object_is_type(images, json_type_array)) {
		json_object_put(images);
		images = json_object_new_array();
	}
	json_object_object_add(o, "id", shop_json_int(shop_row_int(row, PC_ID)));
	json_object_object_add(o, "sku", col_json(row, PC_SKU));
	json_object_object_add(o, "name", col_json(row, PC_NAME));
	json_object_object_add(o, "description", col_json(row, PC_DESCRIPTION));
	json_object_object_add(o, "price_cents", shop_json_int(shop_row_int(row, PC_PRICE)));
	json_object_object_add(o, "currency", col_json(row, PC_CURRENCY));
	json_object_object_add(o, "category_id", shop_json_int(shop_row_int(row, PC_CATEGORY)));
	json_object_object_add(o, "seller_id", shop_json_int(shop_row_int(row, PC_SELLER)));
	json_object_object_add(o, "status", col_json(row, PC_STATUS));
	json_object_object_add(o, "images", images);
	json_object_object_add(o, "created_at", col_json(row, PC_CREATED));
	json_object_object_add(o, "updated_at", col_json(row, PC_UPDATED));
	return o;
}

/* {"<name>": v} */
static json_object *wrap(const char *name, json_object *v)
{
	json_object *d = json_object_new_object();

	json_object_object_add(d, name, v);
	return d;
}

static void product_not_found(struct shop_req *r)
{
	shop_res_error(r, 404, "Product not found", "NOT_FOUND", NULL, NULL);
}

static void bad_query(struct shop_req *r, const char *field, const char *detail)
{
	shop_res_error(r, 400, "Invalid query", "INVALID_QUERY", field, detail);
}

static void bad_field(struct shop_req *r, const char *field, const char *code, const char *detail)
{
	shop_res_error(r, 400, "Validation failed", code, field, detail);
}

/* GET /api/v1/products */

static int list_query(struct shop_req *r, struct shop_rows *rows, enum sort_order sort,
    const char *search, long long min_price, long long max_price, long long seller,
    long long category, long long key_value, long long key_id, long long fetch)
{
	/* No seller filter: every seller id. */
	long long seller_lo = seller > 0 ? seller : 0, seller_hi = seller > 0 ? seller : LLONG_MAX;

	if (search == NULL) {
		switch (sort) {
		case SORT_NEWEST:
			return shop_db_query(r->db, r->arena, rows, SQL_LIST_NEWEST, "iiiiiiii",
			    min_price, max_price, seller_lo, seller_hi, category, category, key_id, fetch);
		case SORT_PRICE:
			return shop_db_query(r->db, r->arena, rows, SQL_LIST_PRICE, "iiiiiiiiii",
			    min_price, max_price, seller_lo, seller_hi, category, category,
			    key_value, key_value, key_id, fetch);
		case SORT_PRICE_DESC:
			return shop_db_query(r->db, r->arena, rows, SQL_LIST_PRICE_DESC, "iiiiiiiiii",
			    min_price, max_price, seller_lo, seller_hi, category, category,
			    key_value, key_value, key_id, fetch);
		}
	} else {
		switch (sort) {
		case SORT_NEWEST:
			return shop_db_query(r->db, r->arena, rows, SQL_SEARCH_NEWEST, "iiiiiisii",
			    min_price, max_price, seller_lo, seller_hi, category, category, search,
			    key_id, fetch);
		case SORT_PRICE:
			return shop_db_query(r->db, r->arena, rows, SQL_SEARCH_PRICE, "iiiiiisiiii",
			    min_price, max_price, seller_lo, seller_hi, category, category, search,
			    key_value, key_value, key_id, fetch);
		case SORT_PRICE_DESC:
			return shop_db_query(r->db, r->arena, rows, SQL_SEARCH_PRICE_DESC, "iiiiiisiiii",
			    min_price, max_price, seller_lo, seller_hi, category, category, search,
			    key_value, key_value, key_id, fetch);
		}
	}
	return SHOP_EINVAL;
}

void h_products_list(struct shop_req *r)
{
	const char *sort_name = "newest", *cursor = NULL, *q = NULL, *search = NULL;
	long long min_price = 0, max_price = LLONG_MAX, seller = 0, category = 0;
	long long limit = DEFAULT_LIMIT, key_value, key_id;
	char next[SHOP_CURSOR_MAX];
	enum sort_order sort;
	struct shop_rows rows;
	json_object *items;
	size_t shown;
	int rc;

	shop_req_qint(r, "limit", &limit);
	shop_req_qint(r, "seller", &seller);
	shop_req_qint(r, "category", &category);
	shop_req_qint(r, "min_price", &min_price);
	shop_req_qint(r, "max_price", &max_price);
	if (min_price > max_price) {
		bad_query(r, "min_price", "min_price is greater than max_price");
		return;
	}
	shop_req_qstr(r, "sort", &sort_name);
	if (strcmp(sort_name, "price") == 0)
		sort = SORT_PRICE;
	else if (strcmp(sort_name, "-price") == 0)
		sort = SORT_PRICE_DESC;
	else
		sort = SORT_NEWEST;

	/* The keyset: the last row of the previous page, or a bound before
	 * every row. A cursor made for another sort does not decode. */
	if (shop_req_qstr(r, "cursor", &cursor)) {
		if (shop_cursor_decode(cursor, sort_name, &key_value, &key_id) != 0) {
			bad_query(r, "cursor", "malformed cursor, or made for another sort");
			return;
		}
	} else if (sort == SORT_PRICE) {
		key_value = -1;
		key_id = 0;
	} else {
		key_value = LLONG_MAX;
		key_id = LLONG_MAX;
	}

	if (shop_req_qstr(r, "q", &q)) {
		size_t n = strlen(q), sz = 2 * n + 1;
		char *expr = shop_arena_alloc(r->arena, sz);

		rc = catalog_search_expr(expr, sz, q, n);
		if (rc < 0) {
			shop_res_fail(r, rc);
			return;
		}
		if (rc == 0) {
			/* Only stopwords, short words or punctuation: nothing can match. */
			shop_res_ok(r, 200, "Products", shop_json_list(json_object_new_array(), NULL));
			return;
		}
		search = expr;
	}

	rc = list_query(r, &rows, sort, search, min_price, max_price, seller, category,
	    key_value, key_id, limit + 1);
	if (rc < 0) {
		shop_res_fail(r, rc);
		return;
	}
	items = json_object_new_array();
	shown = rows.n > (size_t)limit ? (size_t)limit : rows.n;
	for (size_t i = 0; i < shown; i++)
		json_object_array_add(items, product_json(&rows.row[i]));
	if (rows.n > (size_t)limit) {
		const struct shop_row *last = &rows.row[shown - 1];
		long long id = shop_row_int(last, PC_ID);
		long long value = sort == SORT_NEWEST ? id : shop_row_int(last, PC_PRICE);

		if (shop_cursor_encode(next, sort_name, value, id) != 0) {
			json_object_put(items);
			shop_res_fail(r, SHOP_EINVAL);
			return;
		}
		shop_res_ok(r, 200, "Products", shop_json_list(items, next));
		return;
	}
	shop_res_ok(r, 200, "Products", shop_json_list(items, NULL));
}

/* GET /api/v1/products/{id} */

void h_product_get(struct shop_req *r)
{
	long long id = shop_req_id(r, "id");
	struct shop_rows rows;
	const struct shop_row *row;
	int rc;

	rc = shop_db_query(r->db, r->arena, &rows, SQL_PRODUCT_GET, "i", id);
	if (rc < 0) {
		shop_res_fail(r, rc);
		return;
	}
	if (rows.n == 0) {
		product_not_found(r);
		return;
	}
	row = &rows.row[0];
	if (is_archived(shop_row_str(row, PC_STATUS)) && !shop_auth_owner_or_admin(&r->auth, shop_row_int(row, PC_SELLER))) {
		product_not_found(r);
		return;
	}
	shop_res_ok(r, 200, "Product", wrap("product", product_json(row)));
}

/* Checks, inside a transaction, that category id exists. Returns 0,
 * REFUSE_BAD_CATEGORY or a failure code. */
static int category_check(struct shop_db *db, struct shop_arena *a, long long id)
{
	struct shop_rows rows;
	int rc = shop_db_query(db, a, &rows, SQL_CATEGORY_EXISTS, "i", id);

	if (rc < 0)
		return rc;
	return rows.n == 0 ? REFUSE_BAD_CATEGORY : 0;
}

/* Reads product id (locking its row when lock) and checks that the caller
 * may manage it. Returns 0, REFUSE_NOT_FOUND or a failure code. */
static int owner_check(struct shop_db *db, struct shop_req *r, long long id, bool lock)
{
	struct shop_rows rows;
	int rc = shop_db_query(db, r->arena, &rows, lock ? SQL_PRODUCT_OWNER_LOCK : SQL_PRODUCT_OWNER,
	    "i", id);

	if (rc < 0)
		return rc;
	if (rows.n == 0 || !shop_auth_owner_or_admin(&r->auth, shop_row_int(&rows.row[0], 0)))
		return REFUSE_NOT_FOUND;
	return 0;
}

/* Reads the product back into *rows, inside the transaction that wrote it. */
static int product_reread(struct shop_db *db, struct shop_arena *a, long long id,
    struct shop_rows *rows)
{
	int rc = shop_db_query(db, a, rows, SQL_PRODUCT_GET, "i", id);

	if (rc < 0)
		return rc;
	return rows->n == 1 ? 0 : SHOP_EDB;
}

/* The answer to a product write (create or update) from its transaction's
 * outcome: the product as stored, or the refusal. */
static void answer_product_write(struct shop_req *r, int rc, int status, const char *message,
    const struct shop_rows *rows)
{
	switch (rc) {
	case 0:
		shop_res_ok(r, status, message, wrap("product", product_json(&rows->row[0])));
		break;
	case REFUSE_NOT_FOUND:
		product_not_found(r);
		break;
	case REFUSE_BAD_CATEGORY:
		bad_field(r, "category_id", "UNKNOWN_CATEGORY", "no such category");
		break;
	case SHOP_EDUP:
		shop_res_error(r, 409, "SKU already taken", "SKU_TAKEN", "sku", NULL);
		break;
	default:
		shop_res_fail(r, rc);
		break;
	}
}

/* POST /api/v1/products */

struct create_ctx {
	struct shop_req *r;
	const char *sku, *name, *description, *currency;
	long long price_cents, category_id, initial_stock;
	struct shop_rows rows; /* the product, read back */
};

static int create_tx(struct shop_db *db, void *arg)
{
	struct create_ctx *c = arg;
	long long id;
	int rc;

	rc = category_check(db, c->r->arena, c->category_id);
	if (rc != 0)
		return rc;
	rc = shop_db_exec(db, SQL_PRODUCT_INSERT, "sssisii", c->sku, c->name, c->description,
	    c->price_cents, c->currency, c->category_id, c->r->auth.user_id);
	if (rc < 0)
		return rc;
	id = shop_db_last_id(db);
	rc = shop_db_exec(db, SQL_STOCK_INSERT, "ii", id, c->initial_stock);
	if (rc < 0)
		return rc;
	rc = shop_db_exec(db, SQL_LEDGER_INSERT, "iiissis", id, c->initial_stock, 0LL, "INITIAL",
	    "initial stock", c->r->auth.user_id, (const char *)NULL);
	if (rc < 0)
		return rc;
	return product_reread(db, c->r->arena, id, &c->rows);
}

void h_product_create(struct shop_req *r)
{
	struct create_ctx c = { .r = r };
	int rc;

	c.sku = shop_req_bstr(r, "sku");
	c.name = shop_req_bstr(r, "name");
	c.description = shop_req_bstr(r, "description");
	c.currency = shop_req_bstr(r, "currency");
	shop_req_bint(r, "price_cents", &c.price_cents);
	shop_req_bint(r, "category_id", &c.category_id);
	if (!shop_req_bint(r, "initial_stock", &c.initial_stock))
		c.initial_stock = 0;

	rc = shop_db_tx(r->db, create_tx, &c);
	answer_product_write(r, rc, 201, "Product created", &c.rows);
}

/* PUT /api/v1/products/{id} */

struct update_ctx {
	struct shop_req *r;
	long long id;
	const char *sku, *name, *description, *currency;
	bool has_price, has_category;
	long long price_cents, category_id;
	struct shop_rows rows;
};

static int update_tx(struct shop_db *db, void *arg)
{
	struct update_ctx *c = arg;
	int rc;

	rc = owner_check(db, c->r, c->id, true);
	if (rc != 0)
		return rc;
	if (c->has_category) {
		rc = category_check(db, c->r->arena, c->category_id);
		if (rc != 0)
			return rc;
	}
	if (c->sku || c->name || c->description || c->currency || c->has_price || c->has_category) {
		rc = shop_db_exec(db, SQL_PRODUCT_UPDATE, "isisisiiisiii",
		    (long long)(c->sku != NULL), c->sku,
		    (long long)(c->name != NULL), c->name,
		    (long long)(c->description != NULL), c->description,
		    (long long)c->has_price, c->price_cents,
		    (long long)(c->currency != NULL), c->currency,
		    (long long)c->has_category, c->category_id,
		    c->id);
		if (rc < 0)
			return rc;
	}
	return product_reread(db, c->r->arena, c->id, &c->rows);
}

void h_product_update(struct shop_req *r)
{
	struct update_ctx c = { .r = r };
	int rc;

	c.id = shop_req_id(r, "id");
	c.sku = shop_req_bstr(r, "sku");
	c.name = shop_req_bstr(r, "name");
	c.description = shop_req_bstr(r, "description");
	c.currency = shop_req_bstr(r, "currency");
	c.has_price = shop_req_bint(r, "price_cents", &c.price_cents);
	c.has_category = shop_req_bint(r, "category_id", &c.category_id);

	rc = shop_db_tx(r->db, update_tx, &c);
	answer_product_write(r, rc, 200, "Product updated", &c.rows);
}

/* DELETE /api/v1/products/{id} */

struct archive_ctx {
	struct shop_req *r;
	long long id;
	struct shop_rows rows;
};

static int archive_tx(struct shop_db *db, void *arg)
{
	struct archive_ctx *c = arg;
	int rc;

	rc = owner_check(db, c->r, c->id, true);
	if (rc != 0)
		return rc;
	rc = shop_db_exec(db, SQL_PRODUCT_ARCHIVE, "i", c->id);
	if (rc < 0)
		return rc;
	return product_reread(db, c->r->arena, c->id, &c->rows);
}

void h_product_archive(struct shop_req *r)
{
	struct archive_ctx c = { .r = r, .id = shop_req_id(r, "id") };
	int rc;

	rc = shop_db_tx(r->db, archive_tx, &c);
	if (rc == 0)
		shop_res_ok(r, 200, "Product archived", wrap("product", product_json(&c.rows.row[0])));
	else if (rc == REFUSE_NOT_FOUND)
		product_not_found(r);
	else
		shop_res_fail(r, rc);
}

/* GET /api/v1/categories */

static json_object *category_json(long long id, const char *name, size_t namelen, long long parent_id)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "id", shop_json_int(id));
	json_object_object_add(o, "name", shop_json_strn(name, namelen));
	json_object_object_add(o, "parent_id", parent_id > 0 ? shop_json_int(parent_id) : NULL);
	return o;
}

void h_categories_list(struct shop_req *r)
{
	struct shop_rows rows;
	json_object *items;
	int rc;

	rc = shop_db_query(r->db, r->arena, &rows, SQL_CATEGORY_LIST, "");
	if (rc < 0) {
		shop_res_fail(r, rc);
		return;
	}
	items = json_object_new_array();
	for (size_t i = 0; i < rows.n; i++) {
		const struct shop_row *row = &rows.row[i];

		json_object_array_add(items, category_json(shop_row_int(row, 0),
		    row->col[1] ? row->col[1] : "", row->col[1] ? row->len[1] : 0,
		    shop_row_null(row, 2) ? 0 : shop_row_int(row, 2)));
	}
	shop_res_ok(r, 200, "Categories", shop_json_list(items, NULL));
}

/* POST /api/v1/categories */

struct category_ctx {
	struct shop_req *r;
	const char *name;
	long long parent_id; /* 0: a root */
	long long id;
};

static int category_tx(struct shop_db *db, void *arg)
{
	struct category_ctx *c = arg;
	int rc;

	if (c->parent_id > 0) {
		rc = category_check(db, c->r->arena, c->parent_id);
		if (rc != 0)
			return rc;
	}
	rc = shop_db_exec(db, SQL_CATEGORY_INSERT, "si", c->name, c->parent_id);
	if (rc < 0)
		return rc;
	c->id = shop_db_last_id(db);
	rc = shop_db_exec(db, SQL_CATEGORY_PATHS_INSERT, "iiii", c->id, c->parent_id, c->id, c->id);
	return rc < 0 ? rc : 0;
}

void h_category_create(struct shop_req *r)
{
	struct category_ctx c = { .r = r };
	int rc;

	c.name = shop_req_bstr(r, "name");
	if (!shop_req_bint(r, "parent_id", &c.parent_id))
		c.parent_id = 0;

	rc = shop_db_tx(r->db, category_tx, &c);
	switch (rc) {
	case 0:
		shop_res_ok(r, 201, "Category created",
		    wrap("category", category_json(c.id, c.name, strlen(c.name), c.parent_id)));
		break;
	case REFUSE_BAD_CATEGORY:
		bad_field(r, "parent_id", "UNKNOWN_CATEGORY", "no such category");
		break;
	case SHOP_EDUP:
		shop_res_error(r, 409, "Category already exists", "CATEGORY_EXISTS", "name",
		    "a category of that name exists under this parent");
		break;
	default:
		shop_res_fail(r, rc);
		break;
	}
}

/* GET /api/v1/inventory/{product_id} */

static json_object *stock_json(long long product_id, long long on_hand, long long reserved, bool full)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "product_id", shop_json_int(product_id));
	if (full) {
		json_object_object_add(o, "on_hand", shop_json_int(on_hand));
		json_object_object_add(o, "reserved", shop_json_int(reserved));
	}
	json_object_object_add(o, "available", shop_json_int(on_hand - reserved));
	return o;
}

void h_inventory_get(struct shop_req *r)
{
	long long id = shop_req_id(r, "product_id");
	const struct shop_row *row;
	struct shop_rows rows;
	bool manager;
	int rc;

	rc = shop_db_query(r->db, r->arena, &rows, SQL_STOCK_GET, "i", id);
	if (rc < 0) {
		shop_res_fail(r, rc);
		return;
	}
	if (rows.n == 0) {
		product_not_found(r);
		return;
	}
	row = &rows.row[0];
	manager = shop_auth_owner_or_admin(&r->auth, shop_row_int(row, 0));
	if (is_archived(shop_row_str(row, 1)) && !manager) {
		product_not_found(r);
		return;
	}
	shop_res_ok(r, 200, "Stock", stock_json(id, shop_row_int(row, 2), shop_row_int(row, 3), manager));
}

/* POST /api/v1/inventory/{product_id}/adjust */

struct adjust_ctx {
	struct shop_req *r;
	long long id, delta;
	const char *reason;
	long long on_hand, reserved; /* after the change; on refusal, as they are */
};

static int stock_read(struct shop_db *db, struct adjust_ctx *c)
{
	struct shop_rows rows;
	int rc = shop_db_query(db, c->r->arena, &rows, SQL_STOCK_GET, "i", c->id);

	if (rc < 0)
		return rc;
	if (rows.n != 1)
		return SHOP_EDB;
	c->on_hand = shop_row_int(&rows.row[0], 2);
	c->reserved = shop_row_int(&rows.row[0], 3);
	return 0;
}

static int adjust_tx(struct shop_db *db, void *arg)
{
	struct adjust_ctx *c = arg;
	int rc;

	rc = owner_check(db, c->r, c->id, false);
	if (rc != 0)
		return rc;
	rc = shop_db_exec(db, SQL_STOCK_ADJUST, "iii", c->delta, c->id, c->delta);
	if (rc < 0)
		return rc;
	if (rc == 0) {
		/* Either available would go below 0, or the product has no stock
		 * row yet (created outside this app): then create it and retry. */
		rc = shop_db_exec(db, SQL_STOCK_ENSURE, "i", c->id);
		if (rc < 0)
			return rc;
		if (rc == 1) {
			rc = shop_db_exec(db, SQL_STOCK_ADJUST, "iii", c->delta, c->id, c->delta);
			if (rc < 0)
				return rc;
		} else {
			rc = 0;
		}
		if (rc == 0) {
			rc = stock_read(db, c);
			return rc < 0 ? rc : REFUSE_INSUFFICIENT;
		}
	}
	rc = shop_db_exec(db, SQL_LEDGER_INSERT, "iiissis", c->id, c->delta, 0LL, "ADJUST", c->reason,
	    c->r->auth.user_id, (const char *)NULL);
	if (rc < 0)
		return rc;
	return stock_read(db, c);
}

void h_inventory_adjust(struct shop_req *r)
{
	struct adjust_ctx c = { .r = r };
	char detail[64];
	int rc;

	c.id = shop_req_id(r, "product_id");
	shop_req_bint(r, "delta", &c.delta);
	c.reason = shop_req_bstr(r, "reason");
	if (c.delta == 0) {
		bad_field(r, "delta", "OUT_OF_RANGE", "delta must not be 0");
		return;
	}

	rc = shop_db_tx(r->db, adjust_tx, &c);
	switch (rc) {
	case 0:
		shop_res_ok(r, 200, "Stock adjusted", stock_json(c.id, c.on_hand, c.reserved, true));
		break;
	case REFUSE_NOT_FOUND:
		product_not_found(r);
		break;
	case REFUSE_INSUFFICIENT:
		snprintf(detail, sizeof(detail), "only %lld available", c.on_hand - c.reserved);
		shop_res_error(r, 409, "Insufficient stock", "INSUFFICIENT_STOCK", "delta", detail);
		break;
	default:
		shop_res_fail(r, rc);
		break;
	}
}
