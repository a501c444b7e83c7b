/* The orders app's handlers besides placement (place.c): reading, listing
 * and cancelling orders. The request layer has already checked the access
 * level (a user; ADMIN for /admin/orders) and validated query and body.
 *
 *   - GET /orders/{id}: the owner or an ADMIN; anyone else gets 404, as for
 *     an unknown id.
 *   - Lists are newest first, keyset-paginated on id (cursor sort "id").
 *   - POST /orders/{id}/cancel: the owner only (anyone else, ADMIN included,
 *     404); only from PENDING_PAYMENT (else 409 ILLEGAL_TRANSITION). The
 *     status change and the order.cancelled event are one transaction; the
 *     inventory worker releases the reservation when it consumes the event. */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "fcgi-apps/orders/orders.h"
#include "lib/auth.h"
#include "lib/cursor.h"
#include "lib/db.h"
#include "lib/err.h"
#include "lib/json.h"
#include "lib/mem.h"
#include "lib/outbox.h"
#include "lib/req.h"

enum refusal {
	REFUSE_NOT_FOUND = 1,
	REFUSE_ILLEGAL,
};

#define DEFAULT_LIMIT 20

static json_object *col_json(const struct shop_row *row, unsigned i)
{
	if (shop_row_null(row, i))
		return NULL;
	return shop_json_strn(row->col[i], row->len[i]);
}

json_object *ord_item_json(const struct shop_row *row, unsigned off)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "product_id", shop_json_int(shop_row_int(row, off + IC_PRODUCT)));
	json_object_object_add(o, "sku", col_json(row, off + IC_SKU));
	json_object_object_add(o, "name", col_json(row, off + IC_NAME));
	json_object_object_add(o, "quantity", shop_json_int(shop_row_int(row, off + IC_QUANTITY)));
	json_object_object_add(o, "unit_price_cents", shop_json_int(shop_row_int(row, off + IC_PRICE)));
	json_object_object_add(o, "line_total_cents", shop_json_int(shop_row_int(row, off + IC_TOTAL)));
	return o;
}

json_object *ord_order_json(const struct shop_row *row, json_object *items)
{
	json_object *o = json_object_new_object(), *addr = NULL;

	if (!shop_row_null(row, OC_ADDRESS)) {
		addr = shop_json_parse(row->col[OC_ADDRESS], row->len[OC_ADDRESS], NULL);
		if (addr != NULL && !json_object_is_type(addr, json_type_object)) {
			json_object_put(addr);
			addr = NULL;
		}
	}
	json_object_object_add(o, "id", shop_json_int(shop_row_int(row, OC_ID)));
	json_object_object_add(o, "user_id", shop_json_int(shop_row_int(row, OC_USER)));
	json_object_object_add(o, "status", col_json(row, OC_STATUS));
	json_object_object_add(o, "items", items);
	json_object_object_add(o, "total_cents", shop_json_int(shop_row_int(row, OC_TOTAL)));
	json_object_object_add(o, "currency", col_json(row, OC_CURRENCY));
	json_object_object_add(o, "shipping_address", addr);
	json_object_object_add(o, "created_at", col_json(row, OC_CREATED));
	json_object_object_add(o, "updated_at", col_json(row, OC_UPDATED));
	json_object_object_add(o, "expires_at", col_json(row, OC_EXPIRES));
	return o;
}

/* {"order": {...}} for order id with its items, read with db into arena a.
 * Returns 0, SHOP_ENOTFOUND or a failure code; *row gets the order row. */
static int order_read(struct shop_db *db, struct shop_arena *a, long long id,
    struct shop_rows *orow, json_object **out)
{
	struct shop_rows items;
	json_object *arr;
	int rc;

	*out = NULL;
	rc = shop_db_query(db, a, orow, SQL_ORDER_GET, "i", id);
	if (rc < 0)
		return rc;
	if (orow->n == 0)
		return SHOP_ENOTFOUND;
	rc = shop_db_query(db, a, &items, SQL_ITEMS_GET, "i", id);
	if (rc < 0)
		return rc;
	arr = json_object_new_array();
	for (size_t i = 0; i < items.n; i++)
		json_object_array_add(arr, ord_item_json(&items.row[i], 0));
	*out = ord_order_json(&orow->row[0], arr);
	return 0;
}

static json_object *wrap(const char *name, json_object *v)
{
	json_object *d = json_object_new_object();

	json_object_object_add(d, name, v);
	return d;
}

static void order_not_found(struct shop_req *r)
{
	shop_res_error(r, 404, "Order not found", "NOT_FOUND", NULL, NULL);
}

/* GET /api/v1/orders/{id} */

void h_order_get(struct shop_req *r)
{
	long long id = shop_req_id(r, "id");
	struct shop_rows orow;
	json_object *order;
	int rc;

	rc = order_read(r->db, r->arena, id, &orow, &order);
	if (rc == SHOP_ENOTFOUND) {
		order_not_found(r);
		return;
	}
	if (rc < 0) {
		shop_res_fail(r, rc);
		return;
	}
	if (!shop_auth_owner_or_admin(&r->auth, shop_row_int(&orow.row[0], OC_USER))) {
		json_object_put(order);
		order_not_found(r);
		return;
	}
	shop_res_ok(r, 200, "Order", wrap("order", order));
}

/* Lists */

/* Answers a page: rows holds up to limit + 1 orders, newest first. */
static void answer_page(struct shop_req *r, const struct shop_rows *rows, long long limit)
{
	size_t shown = rows->n > (size_t)limit ? (size_t)limit : rows->n;
	json_object *ids = json_object_new_array(), *items, **lines;
	struct shop_rows irows;
	char next[SHOP_CURSOR_MAX];
	size_t k = 0;
	int rc;

	if (shown == 0) {
		json_object_put(ids);
		shop_res_ok(r, 200, "Orders", shop_json_list(json_object_new_array(), NULL));
		return;
	}
	for (size_t i = 0; i < shown; i++)
		json_object_array_add(ids, shop_json_int(shop_row_int(&rows->row[i], OC_ID)));
	rc = shop_db_query(r->db, r->arena, &irows, SQL_ITEMS_OF, "s", shop_json_text(ids, NULL));
	json_object_put(ids);
	if (rc < 0) {
		shop_res_fail(r, rc);
		return;
	}
	/* irows is in ascending order id, the page in descending: walk both. */
	lines = shop_arena_calloc(r->arena, shown * sizeof(*lines));
	for (size_t i = shown; i-- > 0;) {
		long long id = shop_row_int(&rows->row[i], OC_ID);

		lines[i] = json_object_new_array();
		while (k < irows.n && shop_row_int(&irows.row[k], 0) < id)
			k++;
		while (k < irows.n && shop_row_int(&irows.row[k], 0) == id)
			json_object_array_add(lines[i], ord_item_json(&irows.row[k++], 1));
	}
	items = json_object_new_array();
	for (size_t i = 0; i < shown; i++)
		json_object_array_add(items, ord_order_json(&rows->row[i], lines[i]));
	if (rows->n > (size_t)limit) {
		long long last = shop_row_int(&rows->row[shown - 1], OC_ID);

		if (shop_cursor_encode(next, "id", last, last) != 0) {
			json_object_put(items);
			shop_res_fail(r, SHOP_EINVAL);
			return;
		}
		shop_res_ok(r, 200, "Orders", shop_json_list(items, next));
		return;
	}
	shop_res_ok(r, 200, "Orders", shop_json_list(items, NULL));
}

/* Reads limit and the keyset (the id before which the page starts).
 * Returns false when it answered 400. */
static bool page_args(struct shop_req *r, long long *limit, long long *before)
{
	const char *cursor;
	long long value;

	*limit = DEFAULT_LIMIT;
	*before = LLONG_MAX;
	shop_req_qint(r, "limit", limit);
	if (shop_req_qstr(r, "cursor", &cursor)) {
		if (shop_cursor_decode(cursor, "id", &value, before) != 0 || value != *before) {
			shop_res_error(r, 400, "Invalid query", "INVALID_QUERY", "cursor",
			    "malformed cursor");
			return false;
		}
	}
	return true;
}

/* GET /api/v1/orders */

void h_orders_list(struct shop_req *r)
{
	const char *status = NULL;
	long long limit, before;
	struct shop_rows rows;
	int rc;

	if (!page_args(r, &limit, &before))
		return;
	if (shop_req_qstr(r, "status", &status))
		rc = shop_db_query(r->db, r->arena, &rows, SQL_LIST_USER_STATUS, "isii",
		    r->auth.user_id, status, before, limit + 1);
	else
		rc = shop_db_query(r->db, r->arena, &rows, SQL_LIST_USER, "iii",
		    r->auth.user_id, before, limit + 1);
	if (rc < 0) {
		shop_res_fail(r, rc);
		return;
	}
	answer_page(r, &rows, limit);
}

/* GET /api/v1/admin/orders */

void h_admin_orders(struct shop_req *r)
{
	const char *status = NULL;
	long long limit, before, user = 0;
	bool by_status, by_user;
	struct shop_rows rows;
	int rc;

	if (!page_args(r, &limit, &before))
		return;
	by_status = shop_req_qstr(r, "status", &status);
	by_user = shop_req_qint(r, "user", &user);
	if (by_user && by_status)
		rc = shop_db_query(r->db, r->arena, &rows, SQL_LIST_USER_STATUS, "isii",
		    user, status, before, limit + 1);
	else if (by_user)
		rc = shop_db_query(r->db, r->arena, &rows, SQL_LIST_USER, "iii",
		    user, before, limit + 1);
	else if (by_status)
		rc = shop_db_query(r->db, r->arena, &rows, SQL_ADMIN_LIST_STATUS, "sii",
		    status, before, limit + 1);
	else
		rc = shop_db_query(r->db, r->arena, &rows, SQL_ADMIN_LIST, "ii", before, limit + 1);
	if (rc < 0) {
		shop_res_fail(r, rc);
		return;
	}
	answer_page(r, &rows, limit);
}

/* POST /api/v1/orders/{id}/cancel */

struct cancel_ctx {
	struct shop_req *r;
	long long id;
	const char *status;      /* on REFUSE_ILLEGAL: the order's state */
	json_object *order;      /* on success */
};

/* {order_id, user_id, items:[{product_id, quantity}]} of order.cancelled
 * and order.expired, from the rows of SQL_ITEMS_GET. */
static json_object *release_payload(long long id, long long user_id, const struct shop_rows *items)
{
	json_object *p = json_object_new_object(), *arr = json_object_new_array();

	for (size_t i = 0; i < items->n; i++) {
		json_object *it = json_object_new_object();

		json_object_object_add(it, "product_id",
		    shop_json_int(shop_row_int(&items->row[i], IC_PRODUCT)));
		json_object_object_add(it, "quantity",
		    shop_json_int(shop_row_int(&items->row[i], IC_QUANTITY)));
		json_object_array_add(arr, it);
	}
	json_object_object_add(p, "order_id", shop_json_int(id));
	json_object_object_add(p, "user_id", shop_json_int(user_id));
	json_object_object_add(p, "items", arr);
	return p;
}

static int cancel_tx(struct shop_db *db, void *arg)
{
	struct cancel_ctx *c = arg;
	struct shop_req *r = c->r;
	struct shop_rows rows, items;
	json_object *payload;
	int rc;

	json_object_put(c->order);
	c->order = NULL;
	rc = shop_db_exec(db, SQL_ORDER_CANCEL, "ii", c->id, r->auth.user_id);
	if (rc < 0)
		return rc;
	if (rc == 0) {
		rc = shop_db_query(db, r->arena, &rows, SQL_ORDER_STATE, "ii", c->id, r->auth.user_id);
		if (rc < 0)
			return rc;
		if (rows.n == 0)
			return REFUSE_NOT_FOUND;
		c->status = shop_row_str(&rows.row[0], 0);
		return REFUSE_ILLEGAL;
	}
	rc = shop_db_query(db, r->arena, &items, SQL_ITEMS_GET, "i", c->id);
	if (rc < 0)
		return rc;
	payload = release_payload(c->id, r->auth.user_id, &items);
	rc = shop_outbox_add(db, SQL_OUTBOX_INSERT, "order.cancelled", "order", c->id, payload,
	    r->request_id);
	json_object_put(payload);
	if (rc < 0)
		return rc;
	rc = order_read(db, r->arena, c->id, &rows, &c->order);
	return rc == SHOP_ENOTFOUND ? SHOP_EDB : rc;
}

void h_order_cancel(struct shop_req *r)
{
	struct cancel_ctx c = { .r = r, .id = shop_req_id(r, "id") };
	char detail[64];
	int rc;

	rc = shop_db_tx(r->db, cancel_tx, &c);
	switch (rc) {
	case 0:
		shop_res_ok(r, 200, "Order cancelled", wrap("order", c.order));
		return;
	case REFUSE_NOT_FOUND:
		order_not_found(r);
		break;
	case REFUSE_ILLEGAL:
		snprintf(detail, sizeof(detail), "the order is %s", c.status ? c.status : "?");
		shop_res_error(r, 409, "Illegal state transition", "ILLEGAL_TRANSITION", "status",
		    detail);
		break;
	default:
		shop_res_fail(r, rc);
		break;
	}
	json_object_put(c.order);
}
