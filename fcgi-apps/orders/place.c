/* POST /api/v1/orders: place an order, reserving its stock before the answer.
 *
 * Body {address_id?} orders the user's cart; {address_id?, items:[{product_id,
 * quantity}]} orders those lines (1..100, each product once: a repeated
 * product_id → 400 DUPLICATE_PRODUCT). The Idempotency-Key header is required
 * (lib/idem.h): a stored answer for the key is replayed before anything else.
 *
 * For an order of items, the read comes first, on its own (autocommit, no
 * transaction: it is a consistent read that locks nothing either way):
 *   1. one statement reads the products, their available stock, the
 *      server's clock and the address (SQL_PLACE_READ_*). A product that is
 *      not ACTIVE (archived, or unknown) → 409 PRODUCT_UNAVAILABLE, one
 *      error per such line (field items[i].product_id). 409 and not 404 or
 *      400: the request is well-formed and names the resource /orders; what
 *      it asks conflicts with the catalog's current state (as OUT_OF_STOCK
 *      does), and an archived product must not be told apart from an
 *      unknown one;
 *   2. one currency for every line, else 400 CURRENCY_MISMATCH (per line that
 *      differs from the first);
 *   3. a line plainly short in that read → 409 OUT_OF_STOCK (precheck_stock):
 *      the losers of a flash sale stop here, having written and locked
 *      nothing;
 *   4. the address: address_id must be one of the user's addresses, else 400
 *      UNKNOWN_ADDRESS (field address_id; 400 and not 404, which would say
 *      that /orders is missing; another user's address gets the same answer
 *      as an unknown one); without address_id the user's default address, or
 *      none (null: pick-up); "address_id": null counts as absent. The
 *      address is copied into the order.
 * Then ONE transaction of writes (shop_db_tx, retried whole on deadlock):
 *   5. (an order of the cart: its rows are locked first, so that ordering the
 *      cart empties exactly the cart ordered; none → 400 CART_EMPTY; then
 *      steps 1-4 inside the transaction, on the cart's lines);
 *   6. the order row (PENDING_PAYMENT, created_at the read's clock,
 *      expires_at that + [orders] expiry_seconds), its lines, the
 *      order.placed event, the cart emptied when the cart was ordered, the
 *      ledger rows (RESERVE, ref "order:<id>", actor the user), and the
 *      answer, 201 {order}, stored under the key; nothing of it is read
 *      back: the answer is made of what was written;
 *   7. the stock, last, in product_id order (so that two orders lock rows in
 *      the same order and cannot deadlock each other, and the contended
 *      stock rows are held for the shortest time: from their UPDATE to the
 *      COMMIT, one round trip, whatever the size of the order):
 *        UPDATE stock SET reserved = reserved + q
 *         WHERE product_id = ? AND on_hand - reserved >= q
 *      the first short line rolls everything back at once; then, holding no
 *      lock, the available figures are read and every line short in them
 *      (the one that failed always) gets its error: 409 OUT_OF_STOCK, field
 *      items[i].quantity, detail "only N left";
 *   8. COMMIT, then the answer is sent.
 * Lines are indexed as in the request, or for a cart as GET /cart lists it
 * (oldest line first).
 *
 * Refusals that depend on the state of the data (CART_EMPTY,
 * PRODUCT_UNAVAILABLE, CURRENCY_MISMATCH, UNKNOWN_ADDRESS, OUT_OF_STOCK) are
 * stored under the key too, in a small transaction of their own after the
 * rollback, so that a retry with the same key gets the same answer even if
 * stock arrived meanwhile. Failures (503, 500) are not stored: the request
 * had no effect and may be retried with the same key.
 *
 * Two requests with one key: both may run the transaction, but the key's
 * row (primary key (user_id, idem_key)) admits one; the second blocks on
 * the first's insert, gets a duplicate key once it commits, rolls back all
 * it did and replays the first one's answer. The key is stored before the
 * stock is touched, so the second waits holding no stock row. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "fcgi-apps/orders/orders.h"
#include "lib/db.h"
#include "lib/err.h"
#include "lib/idem.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/outbox.h"
#include "lib/req.h"
#include "lib/util.h"

static const struct shop_idem_stmts idem_stmts = {
	.get = SQL_IDEM_GET, .put = SQL_IDEM_PUT, .del_expired = SQL_IDEM_DEL_EXPIRED,
};

/* Refusals (positive: shop_db_tx hands them back after rolling back). Each
 * leaves its answer in ctx->status / ctx->errors, except REFUSE_RESERVE,
 * whose errors are made after the rollback (short_after_rollback). */
enum refusal {
	REFUSE_CART_EMPTY = 1,
	REFUSE_UNAVAILABLE,
	REFUSE_CURRENCY,
	REFUSE_ADDRESS,
	REFUSE_OUT_OF_STOCK,
	REFUSE_RESERVE,
};

struct line {
	long long product_id, quantity;
	/* from the catalog */
	const char *sku, *name, *currency;
	long long price;
	long long available;       /* a first look, without a lock */
	bool found;
};

struct place_ctx {
	struct shop_req *r;
	const struct ord_ctx *app;
	const struct shop_idem *key;
	bool from_cart;
	bool has_address;
	long long address_id;
	size_t n;
	struct line *lines;        /* the request's lines, or the cart's (read in the tx) */
	size_t *by_product;        /* indexes of lines in product_id order */
	/* from the read (SQL_PLACE_READ_*) */
	const char *now;           /* the server's clock, 'YYYY-MM-DD hh:mm:ss.fff' */
	const char *expires;       /* now + expiry, the same way */
	const char *address;       /* JSON text, or NULL: pick-up */
	size_t short_line;         /* REFUSE_RESERVE: the line whose UPDATE failed */
	/* the answer: refusals and success alike */
	int status;
	const char *message;
	json_object *errors;       /* refusals: the error entries */
	const char *text;          /* the serialized envelope (arena) */
	size_t len;
};

static int cmp_product(const void *a, const void *b, void *arg)
{
	const struct line *lines = arg;
	long long x = lines[*(const size_t *)a].product_id, y = lines[*(const size_t *)b].product_id;

	return x < y ? -1 : x > y;
}

static void sort_lines(struct place_ctx *c)
{
	c->by_product = shop_arena_alloc(c->r->arena, (c->n ? c->n : 1) * sizeof(*c->by_product));
	for (size_t i = 0; i < c->n; i++)
		c->by_product[i] = i;
	qsort_r(c->by_product, c->n, sizeof(*c->by_product), cmp_product, c->lines);
}

static void add_error(struct place_ctx *c, size_t i, const char *what, const char *code,
    const char *detail)
{
	char field[48];

	snprintf(field, sizeof(field), "items[%zu].%s", i, what);
	if (c->errors == NULL)
		c->errors = json_object_new_array();
	json_object_array_add(c->errors, shop_json_error_item(field, code, detail));
}

static void add_short(struct place_ctx *c, size_t i, long long available)
{
	char detail[64];

	snprintf(detail, sizeof(detail), "only %lld left", available > 0 ? available : 0);
	add_error(c, i, "quantity", "OUT_OF_STOCK", detail);
}

/* The lines' product ids as JSON array text (arena). */
static const char *ids_json(struct place_ctx *c)
{
	json_object *ids = json_object_new_array();
	const char *text;

	for (size_t i = 0; i < c->n; i++)
		json_object_array_add(ids, shop_json_int(c->lines[i].product_id));
	text = shop_arena_strdup(c->r->arena, shop_json_text(ids, NULL));
	json_object_put(ids);
	return text;
}

/* Step 5: the cart's lines, locked. */
static int read_cart(struct shop_db *db, struct place_ctx *c)
{
	struct shop_rows rows;
	int rc;

	rc = shop_db_query(db, c->r->arena, &rows, SQL_CART_LOCK, "i", c->r->auth.user_id);
	if (rc < 0)
		return rc;
	c->n = rows.n;
	if (c->n == 0) {
		c->status = 400;
		c->message = "Cart is empty";
		c->errors = json_object_new_array();
		json_object_array_add(c->errors, shop_json_error_item(NULL, "CART_EMPTY",
		    "add items to the cart, or send items"));
		return REFUSE_CART_EMPTY;
	}
	c->lines = shop_arena_calloc(c->r->arena, c->n * sizeof(*c->lines));
	for (size_t i = 0; i < c->n; i++) {
		c->lines[i].product_id = shop_row_int(&rows.row[i], 0);
		c->lines[i].quantity = shop_row_int(&rows.row[i], 1);
	}
	sort_lines(c);
	return 0;
}

/* Step 4: the address of the read's rows (every row carries it alike). */
static int take_address(struct place_ctx *c, const struct shop_rows *rows)
{
	static const char *const keys[] = { "line1", "line2", "city", "postal_code", "country" };
	const struct shop_row *row = &rows->row[0];
	json_object *a;

	c->address = NULL;
	if (shop_row_null(row, RC_ADDR_ID)) {
		if (!c->has_address)
			return 0;
		c->status = 400;
		c->message = "Unknown address";
		c->errors = json_object_new_array();
		json_object_array_add(c->errors, shop_json_error_item("address_id", "UNKNOWN_ADDRESS",
		    "not one of your addresses"));
		return REFUSE_ADDRESS;
	}
	a = json_object_new_object();
	for (unsigned i = 0; i < SHOP_ARRAY_LEN(keys); i++) {
		unsigned k = RC_ADDR_LINE1 + i;

		json_object_object_add(a, keys[i], shop_row_null(row, k) ? NULL :
		    shop_json_strn(row->col[k], row->len[k]));
	}
	c->address = shop_arena_strdup(c->r->arena, shop_json_text(a, NULL));
	json_object_put(a);
	return 0;
}

/* Step 3: a first look at the stock, from the read: lines plainly short are
 * refused before anything is written or locked, so that the losers of a
 * flash sale neither insert an order to roll back nor queue on the
 * contended stock row. It can only refuse what the read showed short;
 * whatever it lets through, the guarded UPDATE of reserve() decides. */
static int precheck_stock(struct place_ctx *c)
{
	size_t shorts = 0;

	for (size_t i = 0; i < c->n; i++) {
		const struct line *l = &c->lines[i];

		if (l->available >= l->quantity)
			continue;
		add_short(c, i, l->available);
		shorts++;
	}
	if (shorts == 0)
		return 0;
	c->status = 409;
	c->message = "Insufficient stock";
	return REFUSE_OUT_OF_STOCK;
}

/* Steps 1 to 4: the products, the currency, the stock at first look, the
 * clock and the address, in one statement. */
static int read_products(struct shop_db *db, struct place_ctx *c)
{
	struct shop_rows rows;
	const char *currency;
	char detail[96];
	size_t k = 0;
	int rc;

	for (size_t i = 0; i < c->n; i++)
		c->lines[i].found = false;
	if (c->has_address)
		rc = shop_db_query(db, c->r->arena, &rows, SQL_PLACE_READ_ADDR, "isii",
		    c->app->expiry_seconds, ids_json(c), c->address_id, c->r->auth.user_id);
	else
		rc = shop_db_query(db, c->r->arena, &rows, SQL_PLACE_READ_DEFAULT, "isi",
		    c->app->expiry_seconds, ids_json(c), c->r->auth.user_id);
	if (rc < 0)
		return rc;
	/* Match rows to lines: at most 100 x 100 comparisons (the join's rows
	 * come in no promised order). */
	for (size_t j = 0; j < rows.n; j++) {
		const struct shop_row *row = &rows.row[j];
		long long id = shop_row_int(row, RC_ID);
		const char *status = shop_row_str(row, RC_STATUS);

		for (size_t i = 0; i < c->n; i++) {
			struct line *l = &c->lines[i];

			if (l->product_id != id)
				continue;
			if (status == NULL || strcmp(status, "ACTIVE") != 0)
				break;
			l->found = true;
			l->sku = shop_row_str(row, RC_SKU);
			l->name = shop_row_str(row, RC_NAME);
			l->price = shop_row_int(row, RC_PRICE);
			l->currency = shop_row_str(row, RC_CURRENCY);
			l->available = shop_row_int(row, RC_AVAILABLE);
			break;
		}
	}
	for (size_t i = 0; i < c->n; i++) {
		if (!c->lines[i].found) {
			add_error(c, i, "product_id", "PRODUCT_UNAVAILABLE",
			    "no such product, or no longer sold");
			k++;
		}
	}
	if (k > 0) {
		c->status = 409;
		c->message = "Product unavailable";
		return REFUSE_UNAVAILABLE;
	}
	currency = c->lines[0].currency;
	for (size_t i = 1; i < c->n; i++) {
		if (strcmp(c->lines[i].currency, currency) != 0) {
			snprintf(detail, sizeof(detail), "priced in %s; the order is in %s",
			    c->lines[i].currency, currency);
			add_error(c, i, "product_id", "CURRENCY_MISMATCH", detail);
			k++;
		}
	}
	if (k > 0) {
		c->status = 400;
		c->message = "Currency mismatch";
		return REFUSE_CURRENCY;
	}
	rc = precheck_stock(c);
	if (rc != 0)
		return rc;
	c->now = shop_row_str(&rows.row[0], RC_NOW);
	c->expires = shop_row_str(&rows.row[0], RC_EXPIRES);
	if (c->now == NULL || c->expires == NULL)
		return SHOP_EDB;
	return take_address(c, &rows);
}

/* Step 7: reserve every line in product_id order; the first short one
 * refuses (its errors are made after the rollback). */
static int reserve(struct shop_db *db, struct place_ctx *c)
{
	int rc;

	for (size_t k = 0; k < c->n; k++) {
		size_t i = c->by_product[k];
		struct line *l = &c->lines[i];

		rc = shop_db_exec(db, SQL_STOCK_RESERVE, "iii", l->quantity, l->product_id, l->quantity);
		if (rc < 0)
			return rc;
		if (rc != 1) {
			c->short_line = i;
			return REFUSE_RESERVE;
		}
	}
	return 0;
}

/* After a refused reservation was rolled back: the available figures, read
 * without a lock, and one error per line short in them; the line whose
 * UPDATE failed is always among them (stock may have come back since). */
static void short_after_rollback(struct shop_db *db, struct place_ctx *c)
{
	struct shop_rows rows;
	int rc;

	json_object_put(c->errors);
	c->errors = NULL;
	c->status = 409;
	c->message = "Insufficient stock";
	for (size_t i = 0; i < c->n; i++)
		c->lines[i].available = 0;
	rc = shop_db_query(db, c->r->arena, &rows, SQL_STOCK_OF, "s", ids_json(c));
	if (rc < 0)
		rows.n = 0; /* the figures are a courtesy: "only 0 left" then */
	for (size_t j = 0; j < rows.n; j++) {
		long long id = shop_row_int(&rows.row[j], 0);

		for (size_t i = 0; i < c->n; i++) {
			if (c->lines[i].product_id == id) {
				c->lines[i].available = shop_row_int(&rows.row[j], 1);
				break;
			}
		}
	}
	for (size_t i = 0; i < c->n; i++) {
		const struct line *l = &c->lines[i];

		/* The failed line's figure is told as read now, even when
		 * stock came back meanwhile: a retry may then succeed. */
		if (i == c->short_line || l->available < l->quantity)
			add_short(c, i, l->available);
	}
}

/* The lines as the JSON array SQL_ITEMS_INSERT expands, and the order's items. */
static void lines_json(const struct place_ctx *c, json_object **rows, json_object **items,
    json_object **event_items, json_object **ledger, long long *total)
{
	*rows = json_object_new_array();
	*items = json_object_new_array();
	*event_items = json_object_new_array();
	*ledger = json_object_new_array();
	*total = 0;
	for (size_t i = 0; i < c->n; i++) {
		const struct line *l = &c->lines[i];
		json_object *it = json_object_new_object(), *ev = json_object_new_object();
		json_object *pair = json_object_new_array();

		json_object_object_add(it, "product_id", shop_json_int(l->product_id));
		json_object_object_add(it, "sku", shop_json_str(l->sku));
		json_object_object_add(it, "name", shop_json_str(l->name));
		json_object_object_add(it, "quantity", shop_json_int(l->quantity));
		json_object_object_add(it, "unit_price_cents", shop_json_int(l->price));
		json_object_object_add(it, "line_total_cents", shop_json_int(l->price * l->quantity));
		json_object_array_add(*rows, json_object_get(it));
		json_object_array_add(*items, it);

		json_object_object_add(ev, "product_id", shop_json_int(l->product_id));
		json_object_object_add(ev, "quantity", shop_json_int(l->quantity));
		json_object_object_add(ev, "unit_price_cents", shop_json_int(l->price));
		json_object_array_add(*event_items, ev);

		json_object_array_add(pair, shop_json_int(l->product_id));
		json_object_array_add(pair, shop_json_int(l->quantity));
		json_object_array_add(*ledger, pair);
		*total += l->price * l->quantity;
	}
}

/* 'YYYY-MM-DD hh:mm:ss[.fff]' → 'YYYY-MM-DDThh:mm:ssZ' (arena), as
 * ORDER_COLS's DATE_FORMAT shows a stored time: the fraction cut off. */
static const char *rfc3339(struct shop_arena *a, const char *t)
{
	return shop_arena_printf(a, "%.10sT%.8sZ", t, strlen(t) >= 19 ? t + 11 : "00:00:00");
}

/* The order row of enum ord_col as SQL_ORDER_GET would read it back. */
static void order_row(struct place_ctx *c, long long id, long long total, struct shop_row *row)
{
	struct shop_arena *a = c->r->arena;
	const char *created = rfc3339(a, c->now);

	row->ncols = OC_NCOLS;
	row->col = shop_arena_calloc(a, OC_NCOLS * sizeof(*row->col));
	row->len = shop_arena_calloc(a, OC_NCOLS * sizeof(*row->len));
	row->col[OC_ID] = shop_arena_printf(a, "%lld", id);
	row->col[OC_USER] = shop_arena_printf(a, "%lld", c->r->auth.user_id);
	row->col[OC_STATUS] = "PENDING_PAYMENT";
	row->col[OC_TOTAL] = shop_arena_printf(a, "%lld", total);
	row->col[OC_CURRENCY] = c->lines[0].currency;
	row->col[OC_ADDRESS] = c->address;
	row->col[OC_CREATED] = created;
	row->col[OC_UPDATED] = created;
	row->col[OC_EXPIRES] = rfc3339(a, c->expires);
	for (unsigned i = 0; i < OC_NCOLS; i++)
		row->len[i] = row->col[i] ? strlen(row->col[i]) : 0;
}

static void set_answer(struct place_ctx *c, json_object *envelope)
{
	size_t len = 0;
	const char *text = shop_json_text(envelope, &len);

	c->text = shop_arena_strndup(c->r->arena, text, len);
	c->len = len;
	json_object_put(envelope);
}

static int place_tx(struct shop_db *db, void *arg)
{
	struct place_ctx *c = arg;
	struct shop_req *r = c->r;
	json_object *rows_json = NULL, *items = NULL, *ev_items = NULL, *ledger = NULL;
	json_object *order, *payload, *data;
	struct shop_row orow;
	const char *ref;
	long long id, total;
	int rc;

	/* A retried attempt starts afresh. */
	json_object_put(c->errors);
	c->errors = NULL;
	c->text = NULL;

	if (c->from_cart) {
		rc = read_cart(db, c);
		if (rc != 0)
			return rc;
		rc = read_products(db, c);
		if (rc != 0)
			return rc;
	}

	lines_json(c, &rows_json, &items, &ev_items, &ledger, &total);
	rc = shop_db_exec(db, SQL_ORDER_INSERT, "iisssss", r->auth.user_id, total,
	    c->lines[0].currency, c->address, c->now, c->now, c->expires);
	if (rc < 0)
		goto out;
	id = shop_db_last_id(db);
	rc = shop_db_exec(db, SQL_ITEMS_INSERT, "is", id, shop_json_text(rows_json, NULL));
	if (rc < 0)
		goto out;
	if ((size_t)rc != c->n) {
		rc = SHOP_EDB;
		goto out;
	}
	order_row(c, id, total, &orow);

	payload = json_object_new_object();
	json_object_object_add(payload, "order_id", shop_json_int(id));
	json_object_object_add(payload, "user_id", shop_json_int(r->auth.user_id));
	json_object_object_add(payload, "total_cents", shop_json_int(total));
	json_object_object_add(payload, "currency", shop_json_str(c->lines[0].currency));
	json_object_object_add(payload, "expires_at", shop_json_str(orow.col[OC_EXPIRES]));
	json_object_object_add(payload, "items", ev_items);
	ev_items = NULL;
	rc = shop_outbox_add(db, SQL_OUTBOX_INSERT, "order.placed", "order", id, payload,
	    r->request_id);
	json_object_put(payload);
	if (rc < 0)
		goto out;
	if (c->from_cart) {
		rc = shop_db_exec(db, SQL_CART_CLEAR, "i", r->auth.user_id);
		if (rc < 0)
			goto out;
	}
	ref = shop_arena_printf(r->arena, "order:%lld", id);
	rc = shop_db_exec(db, SQL_LEDGER_RESERVE, "iss", r->auth.user_id, ref,
	    shop_json_text(ledger, NULL));
	if (rc < 0)
		goto out;

	order = ord_order_json(&orow, items);
	items = NULL;
	data = json_object_new_object();
	json_object_object_add(data, "order", order);
	c->status = 201;
	set_answer(c, shop_json_success(201, "Order placed", data));
	rc = shop_idem_store(r, &idem_stmts, c->key, c->status, c->text, c->len);
	if (rc != 0)
		goto out;

	rc = reserve(db, c);
out:
	json_object_put(rows_json);
	json_object_put(items);
	json_object_put(ev_items);
	json_object_put(ledger);
	return rc;
}

/* Reads the direct lines of the body; false when it answered 400. */
static bool body_lines(struct shop_req *r, struct place_ctx *c, json_object *arr)
{
	struct shop_verrs errs = { 0 };

	c->n = json_object_array_length(arr);
	c->lines = shop_arena_calloc(r->arena, c->n * sizeof(*c->lines));
	for (size_t i = 0; i < c->n; i++) {
		json_object *it = json_object_array_get_idx(arr, i), *v;

		if (json_object_object_get_ex(it, "product_id", &v))
			c->lines[i].product_id = (long long)json_object_get_int64(v);
		if (json_object_object_get_ex(it, "quantity", &v))
			c->lines[i].quantity = (long long)json_object_get_int64(v);
	}
	sort_lines(c);
	for (size_t k = 1; k < c->n; k++) {
		size_t i = c->by_product[k - 1], j = c->by_product[k];

		if (c->lines[i].product_id == c->lines[j].product_id) {
			char field[48];

			snprintf(field, sizeof(field), "items[%zu].product_id", i > j ? i : j);
			shop_verrs_add(&errs, field, "DUPLICATE_PRODUCT",
			    "product %lld is in items[%zu] already", c->lines[i].product_id,
			    i < j ? i : j);
		}
	}
	if (errs.n > 0) {
		shop_res_verrs(r, 400, "Validation failed", "VALIDATION_FAILED", &errs);
		return false;
	}
	return true;
}

void h_order_place(struct shop_req *r)
{
	struct place_ctx c = { .r = r, .app = r->app_ctx };
	struct shop_idem key;
	json_object *arr;
	int rc;

	if (shop_idem_start(r, &key) != 0)
		return;
	c.key = &key;
	c.has_address = shop_req_bint(r, "address_id", &c.address_id);
	arr = shop_req_bget(r, "items");
	if (arr != NULL) {
		if (!body_lines(r, &c, arr))
			return;
	} else {
		c.from_cart = true;
	}

	rc = shop_idem_replay(r, &idem_stmts, &key);
	if (rc != 0) {
		if (rc < 0)
			shop_res_fail(r, rc);
		return;
	}

	if (!c.from_cart) {
		/* Steps 1-4, before the transaction (see the top). */
		rc = read_products(r->db, &c);
		if (rc == 0)
			rc = shop_db_tx(r->db, place_tx, &c);
	} else {
		rc = shop_db_tx(r->db, place_tx, &c);
	}
	if (rc == REFUSE_RESERVE)
		short_after_rollback(r->db, &c);
	if (rc > 0) {
		/* A refusal: answered, and kept under the key. */
		shop_idem_refuse(r, &idem_stmts, &key, shop_json_error(c.status, c.message, c.errors));
		c.errors = NULL;
		return;
	}
	switch (rc) {
	case 0:
		shop_res_raw(r, c.status, "application/json", c.text, c.len);
		break;
	case SHOP_EDUP:
		shop_idem_answer_winner(r, &idem_stmts, &key);
		break;
	default:
		shop_res_fail(r, rc);
		break;
	}
	json_object_put(c.errors);
}
