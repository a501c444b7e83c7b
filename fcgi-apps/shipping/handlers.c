/* The shipping app's handlers. The request layer has already checked the
 * access level (a user; ADMIN for /admin/shipments) and validated the body.
 *
 *   - GET /shipments/{order_id}: the order's owner or an ADMIN; anyone else
 *     gets 404, as for an order that has no shipment (unknown, or not paid
 *     yet: the shipping worker creates the shipment on order.paid).
 *   - POST /admin/shipments/{order_id}/ship and .../deliver move the
 *     shipment PENDING → SHIPPED → DELIVERED and the order PAID → SHIPPED →
 *     DELIVERED in one transaction, with a history row and the order.shipped
 *     / order.delivered event (docs/events.md). Both guarded UPDATEs must
 *     change their row, else everything is rolled back:
 *       no shipment, and the order unknown, PENDING_PAYMENT or PAID (its
 *       shipment is not created yet)              → 404 NOT_FOUND
 *       no shipment, the order CANCELLED, EXPIRED or REFUNDED; or the
 *       shipment not in the state the step starts at (deliver before ship,
 *       ship twice); or the order not in its own (refunded meanwhile)
 *                                                  → 409 ILLEGAL_TRANSITION
 *     and 200 {"shipment": {...}} once done. */
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "fcgi-apps/shipping/shipping.h"
#include "lib/auth.h"
#include "lib/db.h"
#include "lib/err.h"
#include "lib/json.h"
#include "lib/outbox.h"
#include "lib/req.h"

/* Refusals a transaction body returns (positive: shop_db_tx hands them back
 * as they are, after rolling back). */
enum refusal {
	REFUSE_NOT_FOUND = 1,
	REFUSE_ILLEGAL,
};

static json_object *col_json(const struct shop_row *row, unsigned i)
{
	if (shop_row_null(row, i))
		return NULL;
	return shop_json_strn(row->col[i], row->len[i]);
}

/* {"shipment": {order_id, status, carrier, tracking_number, events:[{status, at}]}}
 * from a row of SQL_SHIPMENT_GET and the rows of SQL_EVENTS_GET. */
static json_object *shipment_json(const struct shop_row *row, const struct shop_rows *events)
{
	json_object *o = json_object_new_object(), *arr = json_object_new_array();
	json_object *d = json_object_new_object();

	for (size_t i = 0; i < events->n; i++) {
		json_object *e = json_object_new_object();

		json_object_object_add(e, "status", col_json(&events->row[i], 0));
		json_object_object_add(e, "at", col_json(&events->row[i], 1));
		json_object_array_add(arr, e);
	}
	json_object_object_add(o, "order_id", shop_json_int(shop_row_int(row, SC_ORDER)));
	json_object_object_add(o, "status", col_json(row, SC_STATUS));
	json_object_object_add(o, "carrier", col_json(row, SC_CARRIER));
	json_object_object_add(o, "tracking_number", col_json(row, SC_TRACKING));
	json_object_object_add(o, "events", arr);
	json_object_object_add(d, "shipment", o);
	return d;
}

/* The shipment of order id and its history, read with db into arena a.
 * Returns 0, SHOP_ENOTFOUND or a failure code. */
static int shipment_read(struct shop_db *db, struct shop_arena *a, long long id,
    struct shop_rows *srow, struct shop_rows *events)
{
	int rc;

	rc = shop_db_query(db, a, srow, SQL_SHIPMENT_GET, "i", id);
	if (rc < 0)
		return rc;
	if (srow->n == 0)
		return SHOP_ENOTFOUND;
	return shop_db_query(db, a, events, SQL_EVENTS_GET, "i", id);
}

static void shipment_not_found(struct shop_req *r)
{
	shop_res_error(r, 404, "Shipment not found", "NOT_FOUND", NULL, NULL);
}

/* GET /api/v1/shipments/{order_id} */

void h_shipment_get(struct shop_req *r)
{
	long long id = shop_req_id(r, "order_id");
	struct shop_rows srow, events;
	int rc;

	rc = shipment_read(r->db, r->arena, id, &srow, &events);
	if (rc == SHOP_ENOTFOUND) {
		shipment_not_found(r);
		return;
	}
	if (rc < 0) {
		shop_res_fail(r, rc);
		return;
	}
	if (!shop_auth_owner_or_admin(&r->auth, shop_row_int(&srow.row[0], SC_USER))) {
		shipment_not_found(r);
		return;
	}
	shop_res_ok(r, 200, "Shipment", shipment_json(&srow.row[0], &events));
}

/* POST /api/v1/admin/shipments/{order_id}/ship and .../deliver */

/* One step of the shipment's life. */
struct step {
	unsigned shipment_stmt;   /* SQL_SHIP or SQL_DELIVER */
	unsigned order_stmt;      /* SQL_ORDER_SHIP or SQL_ORDER_DELIVER */
	const char *event_type;   /* order.shipped, order.delivered */
	const char *message;      /* the answer's */
};

static const struct step step_ship = {
	SQL_SHIP, SQL_ORDER_SHIP, "order.shipped", "Order shipped",
};
static const struct step step_deliver = {
	SQL_DELIVER, SQL_ORDER_DELIVER, "order.delivered", "Order delivered",
};

struct advance {
	struct shop_req *r;
	const struct step *step;
	long long id;
	const char *carrier, *tracking;   /* ship only */
	const char *what;                 /* on REFUSE_ILLEGAL: "shipment" or "order" */
	const char *status;               /* on REFUSE_ILLEGAL: its state */
	json_object *data;                /* on success: {"shipment": ...} */
};

/* No shipment to move: the order's state says whether that is "not (yet)
 * there" (404) or "can never be shipped" (409). */
static int refuse_without_shipment(struct shop_db *db, struct advance *c)
{
	struct shop_rows rows;
	const char *s;
	int rc;

	rc = shop_db_query(db, c->r->arena, &rows, SQL_ORDER_STATE, "i", c->id);
	if (rc < 0)
		return rc;
	if (rows.n == 0)
		return REFUSE_NOT_FOUND;
	s = shop_row_str(&rows.row[0], 0);
	if (s == NULL || strcmp(s, "PENDING_PAYMENT") == 0 || strcmp(s, "PAID") == 0)
		return REFUSE_NOT_FOUND;
	c->what = "order";
	c->status = s;
	return REFUSE_ILLEGAL;
}

/* {order_id, user_id, carrier, tracking_number} of order.shipped and order.delivered. */
static json_object *event_payload(const struct shop_row *row)
{
	json_object *p = json_object_new_object();

	json_object_object_add(p, "order_id", shop_json_int(shop_row_int(row, SC_ORDER)));
	json_object_object_add(p, "user_id", shop_json_int(shop_row_int(row, SC_USER)));
	json_object_object_add(p, "carrier", col_json(row, SC_CARRIER));
	json_object_object_add(p, "tracking_number", col_json(row, SC_TRACKING));
	return p;
}

static int advance_tx(struct shop_db *db, void *arg)
{
	struct advance *c = arg;
	struct shop_req *r = c->r;
	struct shop_rows srow, events;
	json_object *payload;
	int rc;

	json_object_put(c->data);
	c->data = NULL;
	c->what = c->status = NULL;
	if (c->step->shipment_stmt == SQL_SHIP)
		rc = shop_db_exec(db, SQL_SHIP, "ssi", c->carrier, c->tracking, c->id);
	else
		rc = shop_db_exec(db, c->step->shipment_stmt, "i", c->id);
	if (rc < 0)
		return rc;
	if (rc == 0) {
		rc = shop_db_query(db, r->arena, &srow, SQL_SHIPMENT_GET, "i", c->id);
		if (rc < 0)
			return rc;
		if (srow.n == 0)
			return refuse_without_shipment(db, c);
		c->what = "shipment";
		c->status = shop_row_str(&srow.row[0], SC_STATUS);
		return REFUSE_ILLEGAL;
	}
	rc = shop_db_exec(db, c->step->order_stmt, "i", c->id);
	if (rc < 0)
		return rc;
	if (rc == 0) {
		rc = shop_db_query(db, r->arena, &srow, SQL_ORDER_STATE, "i", c->id);
		if (rc < 0)
			return rc;
		if (srow.n == 0)
			return SHOP_EDB; /* a shipment without its order: never */
		c->what = "order";
		c->status = shop_row_str(&srow.row[0], 0);
		return REFUSE_ILLEGAL;
	}
	rc = shop_db_exec(db, SQL_EVENT_INSERT, "i", c->id);
	if (rc < 0)
		return rc;
	rc = shipment_read(db, r->arena, c->id, &srow, &events);
	if (rc < 0)
		return rc == SHOP_ENOTFOUND ? SHOP_EDB : rc;
	payload = event_payload(&srow.row[0]);
	rc = shop_outbox_add(db, SQL_OUTBOX_INSERT, c->step->event_type, "shipment", c->id,
	    payload, r->request_id);
	json_object_put(payload);
	if (rc < 0)
		return rc;
	c->data = shipment_json(&srow.row[0], &events);
	return 0;
}

static void advance(struct shop_req *r, const struct step *step)
{
	struct advance c = { .r = r, .step = step, .id = shop_req_id(r, "order_id") };
	char detail[64];
	int rc;

	if (step == &step_ship) {
		c.carrier = shop_req_bstr(r, "carrier");
		c.tracking = shop_req_bstr(r, "tracking_number");
	}
	rc = shop_db_tx(r->db, advance_tx, &c);
	switch (rc) {
	case 0:
		shop_res_ok(r, 200, step->message, c.data);
		return;
	case REFUSE_NOT_FOUND:
		shipment_not_found(r);
		break;
	case REFUSE_ILLEGAL:
		snprintf(detail, sizeof(detail), "the %s is %s", c.what ? c.what : "shipment",
		    c.status ? c.status : "?");
		shop_res_error(r, 409, "Illegal state transition", "ILLEGAL_TRANSITION", "status",
		    detail);
		break;
	default:
		shop_res_fail(r, rc);
		break;
	}
	json_object_put(c.data);
}

void h_shipment_ship(struct shop_req *r)
{
	advance(r, &step_ship);
}

void h_shipment_deliver(struct shop_req *r)
{
	advance(r, &step_deliver);
}
