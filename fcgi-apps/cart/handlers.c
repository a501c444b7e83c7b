/* The cart's handlers. The request layer has already checked that a user is
 * signed in and validated the body against routes.c; here are the rules
 * that depend on data:
 *
 *   - Every answer is the whole cart, as GET /cart shows it:
 *       {items:[{product_id, name, quantity, unit_price_cents,
 *                line_total_cents, available}], total_cents, currency}
 *     with the products' current prices, oldest line first.
 *   - The cart's currency is the currency of its oldest available line;
 *     null when it has none. Adding a product priced in another currency →
 *     400 CURRENCY_MISMATCH.
 *   - A line whose product was archived since it was added (or whose
 *     product's seller has since changed the currency, so that it no longer
 *     matches the cart's) stays in the cart, flagged "available": false, and
 *     is left out of total_cents. It is not dropped silently: the user sees
 *     why, and ordering the cart refuses it (409 PRODUCT_UNAVAILABLE or 400
 *     CURRENCY_MISMATCH, from the orders app) until it is removed. Archiving
 *     is final in the catalog, so such a line never becomes available again.
 *   - POST /cart/items adds to the line of that product when there is one
 *     (200, the quantity grew) and creates it otherwise (201, a line was
 *     created). Unknown or archived product → 404; a quantity above 1000 →
 *     400 OUT_OF_RANGE; more than 100 lines → 400 CART_FULL.
 *   - PUT sets a line's quantity (0 removes it); PUT and DELETE of a product
 *     that is not in the cart → 404. DELETE /cart empties it (200).
 *
 * POST runs in one transaction that first locks the user's cart rows, so
 * that two concurrent adds cannot both pass the limits. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "fcgi-apps/cart/cart.h"
#include "lib/db.h"
#include "lib/err.h"
#include "lib/json.h"
#include "lib/req.h"

/* Refusals a transaction body returns (positive: shop_db_tx hands them back
 * as they are, after rolling back). */
enum refusal {
	REFUSE_NO_PRODUCT = 1,
	REFUSE_CURRENCY,
	REFUSE_QUANTITY,
	REFUSE_FULL,
};

static bool is_active(const struct shop_row *row)
{
	const char *s = shop_row_str(row, CV_STATUS);

	return s != NULL && strcmp(s, "ACTIVE") == 0;
}

/* The cart's currency: that of its oldest line whose product is ACTIVE,
 * skipping the line of product skip (0: none). NULL when there is none. */
static const char *cart_currency(const struct shop_rows *rows, long long skip)
{
	for (size_t i = 0; i < rows->n; i++) {
		const struct shop_row *row = &rows->row[i];

		if (shop_row_int(row, CV_PRODUCT) != skip && is_active(row) &&
		    !shop_row_null(row, CV_CURRENCY))
			return shop_row_str(row, CV_CURRENCY);
	}
	return NULL;
}

/* The cart view of the rows of SQL_CART_VIEW. */
static json_object *cart_json(const struct shop_rows *rows)
{
	json_object *o = json_object_new_object(), *items = json_object_new_array();
	const char *currency = cart_currency(rows, 0);
	long long total = 0;

	for (size_t i = 0; i < rows->n; i++) {
		const struct shop_row *row = &rows->row[i];
		json_object *it = json_object_new_object();
		long long qty = shop_row_int(row, CV_QUANTITY), price = shop_row_int(row, CV_PRICE);
		bool avail = is_active(row) && currency != NULL && !shop_row_null(row, CV_CURRENCY) &&
		    strcmp(shop_row_str(row, CV_CURRENCY), currency) == 0;
		const char *name = shop_row_str(row, CV_NAME);

		json_object_object_add(it, "product_id", shop_json_int(shop_row_int(row, CV_PRODUCT)));
		json_object_object_add(it, "name", name ?
		    shop_json_strn(name, row->len[CV_NAME]) : NULL);
		json_object_object_add(it, "quantity", shop_json_int(qty));
		json_object_object_add(it, "unit_price_cents", shop_json_int(price));
		json_object_object_add(it, "line_total_cents", shop_json_int(price * qty));
		json_object_object_add(it, "available", json_object_new_boolean(avail));
		json_object_array_add(items, it);
		if (avail)
			total += price * qty;
	}
	json_object_object_add(o, "items", items);
	json_object_object_add(o, "total_cents", shop_json_int(total));
	json_object_object_add(o, "currency", shop_json_str(currency));
	return o;
}

/* Reads the cart and answers it with status and message. */
static void answer_cart(struct shop_req *r, int status, const char *message)
{
	struct shop_rows rows;
	int rc;

	rc = shop_db_query(r->db, r->arena, &rows, SQL_CART_VIEW, "i", r->auth.user_id);
	if (rc < 0) {
		shop_res_fail(r, rc);
		return;
	}
	shop_res_ok(r, status, message, cart_json(&rows));
}

static void not_in_cart(struct shop_req *r)
{
	shop_res_error(r, 404, "Product not in cart", "NOT_FOUND", "product_id", NULL);
}

/* GET /api/v1/cart */

void h_cart_get(struct shop_req *r)
{
	answer_cart(r, 200, "Cart");
}

/* DELETE /api/v1/cart */

void h_cart_clear(struct shop_req *r)
{
	int rc = shop_db_exec(r->db, SQL_CART_CLEAR, "i", r->auth.user_id);

	if (rc < 0) {
		shop_res_fail(r, rc);
		return;
	}
	answer_cart(r, 200, "Cart emptied");
}

/* POST /api/v1/cart/items */

struct add_ctx {
	struct shop_req *r;
	long long product_id, quantity;
	bool created;            /* a new line */
	long long had;           /* the line's quantity before (0: none) */
	char product_currency[4], cart_currency[4];
};

static int add_tx(struct shop_db *db, void *arg)
{
	struct add_ctx *c = arg;
	struct shop_req *r = c->r;
	struct shop_rows lock, prod, view;
	const char *status, *cur;
	int rc;

	c->created = false;
	c->had = 0;
	/* Lock first: the reads below then see every line that stays. */
	rc = shop_db_query(db, r->arena, &lock, SQL_CART_LOCK, "i", r->auth.user_id);
	if (rc < 0)
		return rc;
	rc = shop_db_query(db, r->arena, &prod, SQL_PRODUCT_GET, "i", c->product_id);
	if (rc < 0)
		return rc;
	if (prod.n == 0)
		return REFUSE_NO_PRODUCT;
	status = shop_row_str(&prod.row[0], 0);
	cur = shop_row_str(&prod.row[0], 1);
	if (status == NULL || strcmp(status, "ACTIVE") != 0 || cur == NULL)
		return REFUSE_NO_PRODUCT;
	snprintf(c->product_currency, sizeof(c->product_currency), "%s", cur);

	rc = shop_db_query(db, r->arena, &view, SQL_CART_VIEW, "i", r->auth.user_id);
	if (rc < 0)
		return rc;
	cur = cart_currency(&view, c->product_id);
	if (cur != NULL && strcmp(cur, c->product_currency) != 0) {
		snprintf(c->cart_currency, sizeof(c->cart_currency), "%s", cur);
		return REFUSE_CURRENCY;
	}

	for (size_t i = 0; i < lock.n; i++) {
		if (shop_row_int(&lock.row[i], 0) == c->product_id)
			c->had = shop_row_int(&lock.row[i], 1);
	}
	if (c->had > 0) {
		if (c->had + c->quantity > CART_MAX_QUANTITY)
			return REFUSE_QUANTITY;
		rc = shop_db_exec(db, SQL_ITEM_ADD, "iii", c->quantity, r->auth.user_id, c->product_id);
		if (rc < 0)
			return rc;
		return rc == 1 ? 0 : SHOP_EDB;
	}
	if (lock.n >= CART_MAX_LINES)
		return REFUSE_FULL;
	rc = shop_db_exec(db, SQL_ITEM_INSERT, "iii", r->auth.user_id, c->product_id, c->quantity);
	if (rc < 0)
		return rc;
	c->created = true;
	return 0;
}

void h_item_add(struct shop_req *r)
{
	struct add_ctx c = { .r = r };
	char detail[96];
	int rc;

	shop_req_bint(r, "product_id", &c.product_id);
	shop_req_bint(r, "quantity", &c.quantity);

	rc = shop_db_tx(r->db, add_tx, &c);
	switch (rc) {
	case 0:
		if (c.created)
			answer_cart(r, 201, "Item added");
		else
			answer_cart(r, 200, "Quantity updated");
		break;
	case REFUSE_NO_PRODUCT:
		shop_res_error(r, 404, "Product not found", "NOT_FOUND", "product_id", NULL);
		break;
	case REFUSE_CURRENCY:
		snprintf(detail, sizeof(detail), "the product is priced in %s, the cart in %s",
		    c.product_currency, c.cart_currency);
		shop_res_error(r, 400, "Currency mismatch", "CURRENCY_MISMATCH", "product_id", detail);
		break;
	case REFUSE_QUANTITY:
		snprintf(detail, sizeof(detail), "the cart holds %lld; at most %d of a product",
		    c.had, CART_MAX_QUANTITY);
		shop_res_error(r, 400, "Validation failed", "OUT_OF_RANGE", "quantity", detail);
		break;
	case REFUSE_FULL:
		snprintf(detail, sizeof(detail), "at most %d products in a cart", CART_MAX_LINES);
		shop_res_error(r, 400, "Cart is full", "CART_FULL", "product_id", detail);
		break;
	default:
		shop_res_fail(r, rc);
		break;
	}
}

/* PUT /api/v1/cart/items/{product_id} */

void h_item_set(struct shop_req *r)
{
	long long pid = shop_req_id(r, "product_id"), qty = 0;
	int rc;

	shop_req_bint(r, "quantity", &qty);
	if (qty == 0)
		rc = shop_db_exec(r->db, SQL_ITEM_DELETE, "ii", r->auth.user_id, pid);
	else
		rc = shop_db_exec(r->db, SQL_ITEM_SET, "iii", qty, r->auth.user_id, pid);
	if (rc < 0) {
		shop_res_fail(r, rc);
		return;
	}
	if (rc == 0) {
		not_in_cart(r);
		return;
	}
	answer_cart(r, 200, qty == 0 ? "Item removed" : "Quantity set");
}

/* DELETE /api/v1/cart/items/{product_id} */

void h_item_delete(struct shop_req *r)
{
	long long pid = shop_req_id(r, "product_id");
	int rc = shop_db_exec(r->db, SQL_ITEM_DELETE, "ii", r->auth.user_id, pid);

	if (rc < 0) {
		shop_res_fail(r, rc);
		return;
	}
	if (rc == 0) {
		not_in_cart(r);
		return;
	}
	answer_cart(r, 200, "Item removed");
}
