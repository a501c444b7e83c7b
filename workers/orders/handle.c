/* The order worker's handler and expiry sweep (order_worker.h).
 *
 * payment.succeeded, in one transaction: claim the event (consumer
 * "order-worker"; already claimed → nothing, ack), then
 *   UPDATE orders SET status = 'PAID', payment_id = ? WHERE id = ?
 *     AND status = 'PENDING_PAYMENT' AND total_cents = ? AND currency = ?
 * and when it changed the order, order.paid with the items into the outbox.
 * When it did not (the order expired or was cancelled first, was paid
 * by another payment, or the payment is for another amount or currency),
 * the money was taken for an order that this payment will not fulfil: the
 * claim is committed with order.payment_orphaned {order_id, user_id (null
 * without an order), payment_id, amount_cents, currency, order_status,
 * reason} in the outbox, which the payments worker (workers/payments) turns
 * into a refund request of that payment, and a warning names the reason.
 * Its refund later (payment.refunded) finds the order in no refundable
 * state, or paid by another payment, and changes nothing here; the order's
 * stock was released already. A second event of the payment that paid the
 * order changes nothing.
 *
 * payment.failed: the claim only. The order stays PENDING_PAYMENT and may be
 * paid again until it expires.
 *
 * payment.refunded, in one transaction: claim, then read the order under
 * its row lock (SELECT ... FOR UPDATE) for the status it has now, then
 *   UPDATE orders SET status = 'REFUNDED' WHERE id = ?
 *     AND status IN ('PAID', 'SHIPPED', 'DELIVERED') AND payment_id = ?
 * and order.refunded {order_id, user_id, payment_id, total_cents, currency,
 * restock, items} with restock = (the old status was PAID) OR the payment's
 * restock. These are the order state machine's refund transitions: PAID →
 * REFUNDED, and (issue 4) SHIPPED → REFUNDED and DELIVERED → REFUNDED. A
 * refund for an order in any other state, or of a payment that is not the
 * one that paid the order (the refund of a late payment: the order expired
 * or was cancelled first), changes no order: the claim alone is committed
 * and a warning says why; the stock of such an order was released already.
 *
 * The sweep (tick): up to OW_SWEEP_BATCH due orders, oldest expiry first;
 * each in its own transaction: the conditional UPDATE to EXPIRED and, when it
 * changed the order, order.expired with the items. A payment that committed
 * first keeps its order (the UPDATE then changes nothing), and a payment
 * arriving after the expiry finds the order EXPIRED (warning above). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "lib/conf.h"
#include "lib/db.h"
#include "lib/err.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/outbox.h"
#include "lib/util.h"
#include "workers/orders/order_worker.h"

#define MAX_ID 9007199254740991LL
#define DUPLICATE 1 /* the transaction's "already handled": rolled back, then acked */

int ow_init(struct shop_worker_ctx *w)
{
	struct ow_state *s = shop_xcalloc(1, sizeof(*s));
	char key[96];

	snprintf(key, sizeof(key), "%s.expiry_sweep_ms", w->name);
	s->sweep_ms = shop_conf_int(w->conf, key, OW_DEFAULT_SWEEP_MS);
	if (s->sweep_ms < OW_TICK_MS || s->sweep_ms > 3600 * 1000) {
		shop_log_warn("%s %lld out of range %d..3600000: using %d", key, s->sweep_ms,
		    OW_TICK_MS, OW_DEFAULT_SWEEP_MS);
		s->sweep_ms = OW_DEFAULT_SWEEP_MS;
	}
	s->next_sweep = 0; /* the first tick sweeps at once */
	w->user = s;
	shop_log_info("expiry sweep every %lld ms, at most %d orders each", s->sweep_ms,
	    OW_SWEEP_BATCH);
	return 0;
}

void ow_fini(struct shop_worker_ctx *w)
{
	free(w->user);
	w->user = NULL;
}

static bool get_int(json_object *obj, const char *key, long long min, long long max,
    long long *out)
{
	json_object *v;

	if (!json_object_object_get_ex(obj, key, &v) || !json_object_is_type(v, json_type_int))
		return false;
	*out = (long long)json_object_get_int64(v);
	return *out >= min && *out <= max;
}

/* {order_id, user_id, items:[{product_id, quantity}], ...} with the order's
 * lines read from the database. Returns 0 or a failure code. */
static int items_json(struct shop_db *db, struct shop_arena *a, long long order_id,
    json_object **out)
{
	struct shop_rows rows;
	json_object *arr;
	int rc;

	*out = NULL;
	rc = shop_db_query(db, a, &rows, OW_SQL_ITEMS, "i", order_id);
	if (rc < 0)
		return rc;
	if (rows.n == 0)
		return SHOP_EDB; /* an order always has lines */
	arr = json_object_new_array();
	for (size_t i = 0; i < rows.n; i++) {
		json_object *it = json_object_new_object();

		json_object_object_add(it, "product_id", shop_json_int(shop_row_int(&rows.row[i], 0)));
		json_object_object_add(it, "quantity", shop_json_int(shop_row_int(&rows.row[i], 1)));
		json_object_array_add(arr, it);
	}
	*out = arr;
	return 0;
}

/* payment.succeeded */

struct pay {
	struct shop_worker_ctx *w;
	const struct shop_event *ev;
	long long payment_id, order_id, amount;
	const char *currency;
	bool paid;
	bool again;               /* already paid by this very payment */
	char why[160];            /* when not paid: the reason */
};

/* order.payment_orphaned: the payment took money for an order it did not
 * pay; the payments worker asks for its refund (reason: NO_ORDER,
 * ORDER_<status> or AMOUNT_MISMATCH). */
static int orphaned(struct shop_db *db, struct pay *p, const struct shop_row *row,
    const char *reason)
{
	json_object *payload = json_object_new_object();
	int rc;

	json_object_object_add(payload, "order_id", shop_json_int(p->order_id));
	json_object_object_add(payload, "user_id", row ? shop_json_int(shop_row_int(row, 0)) : NULL);
	json_object_object_add(payload, "payment_id", shop_json_int(p->payment_id));
	json_object_object_add(payload, "amount_cents", shop_json_int(p->amount));
	json_object_object_add(payload, "currency", shop_json_str(p->currency));
	json_object_object_add(payload, "order_status", row ? shop_json_str(shop_row_str(row, 1)) :
	    NULL);
	json_object_object_add(payload, "reason", shop_json_str(reason));
	rc = shop_outbox_add(db, OW_SQL_OUTBOX, "order.payment_orphaned", "order", p->order_id,
	    payload, p->ev->request_id);
	json_object_put(payload);
	return rc;
}

static int pay_tx(struct shop_db *db, void *arg)
{
	struct pay *p = arg;
	json_object *payload, *items;
	struct shop_rows rows;
	const struct shop_row *row;
	const char *status;
	int rc, changed;

	p->paid = false;
	p->again = false;
	p->why[0] = '\0';
	rc = shop_inbox_claim(db, OW_SQL_CLAIM, OW_CONSUMER, p->ev->event_id);
	if (rc == SHOP_EDUP)
		return DUPLICATE;
	if (rc < 0)
		return rc;
	changed = shop_db_exec(db, OW_SQL_PAY, "iiis", p->payment_id, p->order_id, p->amount,
	    p->currency);
	if (changed < 0)
		return changed;
	rc = shop_db_query(db, p->w->arena, &rows, OW_SQL_ORDER, "i", p->order_id);
	if (rc < 0)
		return rc;
	if (rows.n == 0) {
		snprintf(p->why, sizeof(p->why), "no such order");
		return orphaned(db, p, NULL, "NO_ORDER");
	}
	row = &rows.row[0];
	status = shop_row_str(row, 1);
	if (changed == 0) {
		char reason[40];

		if (shop_row_int(row, 4) == p->payment_id) {
			p->again = true; /* this payment paid it already (another event of it) */
			return 0;
		}
		if (strcmp(status, "PENDING_PAYMENT") != 0) {
			snprintf(p->why, sizeof(p->why), "the order is %s", status);
			snprintf(reason, sizeof(reason), "ORDER_%s", status);
		} else {
			snprintf(p->why, sizeof(p->why), "amount %lld %s differs from the order's %lld %s",
			    p->amount, p->currency, shop_row_int(row, 2), shop_row_str(row, 3));
			snprintf(reason, sizeof(reason), "AMOUNT_MISMATCH");
		}
		return orphaned(db, p, row, reason);
	}
	rc = items_json(db, p->w->arena, p->order_id, &items);
	if (rc < 0)
		return rc;
	payload = json_object_new_object();
	json_object_object_add(payload, "order_id", shop_json_int(p->order_id));
	json_object_object_add(payload, "user_id", shop_json_int(shop_row_int(row, 0)));
	json_object_object_add(payload, "payment_id", shop_json_int(p->payment_id));
	json_object_object_add(payload, "total_cents", shop_json_int(shop_row_int(row, 2)));
	json_object_object_add(payload, "currency", shop_json_str(shop_row_str(row, 3)));
	json_object_object_add(payload, "items", items);
	rc = shop_outbox_add(db, OW_SQL_OUTBOX, "order.paid", "order", p->order_id, payload,
	    p->ev->request_id);
	json_object_put(payload);
	if (rc < 0)
		return rc;
	p->paid = true;
	return 0;
}

static int on_succeeded(struct shop_worker_ctx *w, const struct shop_event *ev)
{
	struct pay p = { .w = w, .ev = ev };
	json_object *v;
	int rc;

	if (!get_int(ev->payload, "payment_id", 1, MAX_ID, &p.payment_id) ||
	    !get_int(ev->payload, "order_id", 1, MAX_ID, &p.order_id) ||
	    !get_int(ev->payload, "amount_cents", 0, INT64_MAX, &p.amount) ||
	    !json_object_object_get_ex(ev->payload, "currency", &v) ||
	    !json_object_is_type(v, json_type_string) || json_object_get_string_len(v) != 3) {
		shop_log_error("payment.succeeded %s: payment_id, order_id, amount_cents or currency"
		    " missing or invalid", ev->event_id);
		return SHOP_EINVAL;
	}
	p.currency = json_object_get_string(v);

	rc = shop_db_tx(w->db, pay_tx, &p);
	if (rc == DUPLICATE) {
		shop_log_info("payment.succeeded %s: already handled", ev->event_id);
		return 0;
	}
	if (rc != 0)
		return rc;
	if (p.paid)
		shop_log_info("order %lld PAID by payment %lld", p.order_id, p.payment_id);
	else if (p.again)
		shop_log_info("order %lld was already paid by payment %lld", p.order_id, p.payment_id);
	else
		shop_log_warn("payment %lld for order %lld not applied: %s; order.payment_orphaned"
		    " asks for its refund", p.payment_id, p.order_id, p.why);
	return 0;
}

/* payment.refunded */

struct refund {
	struct shop_worker_ctx *w;
	const struct shop_event *ev;
	long long payment_id, order_id;
	bool admin_restock;       /* the payment's restock: the goods came back */
	bool refunded, restock;   /* out */
	char was[24];             /* out: the status before */
	char why[160];            /* out: when not refunded, the reason */
};

static bool refundable(const char *status)
{
	return strcmp(status, "PAID") == 0 || strcmp(status, "SHIPPED") == 0 ||
	    strcmp(status, "DELIVERED") == 0;
}

static int refund_tx(struct shop_db *db, void *arg)
{
	struct refund *f = arg;
	json_object *payload, *items;
	struct shop_rows rows;
	const struct shop_row *row;
	const char *status;
	int rc;

	f->refunded = false;
	f->restock = false;
	f->was[0] = '\0';
	f->why[0] = '\0';
	rc = shop_inbox_claim(db, OW_SQL_CLAIM, OW_CONSUMER, f->ev->event_id);
	if (rc == SHOP_EDUP)
		return DUPLICATE;
	if (rc < 0)
		return rc;
	/* The old status under the row lock: restock depends on it, and the
	 * shipping app may be moving the order at this moment. */
	rc = shop_db_query(db, f->w->arena, &rows, OW_SQL_ORDER_LOCK, "i", f->order_id);
	if (rc < 0)
		return rc;
	if (rows.n == 0) {
		snprintf(f->why, sizeof(f->why), "no such order");
		return 0;
	}
	row = &rows.row[0];
	status = shop_row_str(row, 1);
	snprintf(f->was, sizeof(f->was), "%s", status ? status : "?");
	if (!status || !refundable(status)) {
		snprintf(f->why, sizeof(f->why), "the order is %s", f->was);
		return 0;
	}
	if (shop_row_int(row, 4) != f->payment_id) {
		snprintf(f->why, sizeof(f->why), "the order was paid by payment %lld",
		    shop_row_int(row, 4));
		return 0;
	}
	rc = shop_db_exec(db, OW_SQL_REFUND, "ii", f->order_id, f->payment_id);
	if (rc < 0)
		return rc;
	if (rc != 1)
		return SHOP_EDB; /* locked and qualified: cannot happen */
	f->restock = strcmp(status, "PAID") == 0 || f->admin_restock;
	rc = items_json(db, f->w->arena, f->order_id, &items);
	if (rc < 0)
		return rc;
	payload = json_object_new_object();
	json_object_object_add(payload, "order_id", shop_json_int(f->order_id));
	json_object_object_add(payload, "user_id", shop_json_int(shop_row_int(row, 0)));
	json_object_object_add(payload, "payment_id", shop_json_int(f->payment_id));
	json_object_object_add(payload, "total_cents", shop_json_int(shop_row_int(row, 2)));
	json_object_object_add(payload, "currency", shop_json_str(shop_row_str(row, 3)));
	json_object_object_add(payload, "restock", json_object_new_boolean(f->restock));
	json_object_object_add(payload, "items", items);
	rc = shop_outbox_add(db, OW_SQL_OUTBOX, "order.refunded", "order", f->order_id, payload,
	    f->ev->request_id);
	json_object_put(payload);
	if (rc < 0)
		return rc;
	f->refunded = true;
	return 0;
}

static int on_refunded(struct shop_worker_ctx *w, const struct shop_event *ev)
{
	struct refund f = { .w = w, .ev = ev };
	json_object *v;
	int rc;

	if (!get_int(ev->payload, "payment_id", 1, MAX_ID, &f.payment_id) ||
	    !get_int(ev->payload, "order_id", 1, MAX_ID, &f.order_id)) {
		shop_log_error("payment.refunded %s: payment_id or order_id missing or invalid",
		    ev->event_id);
		return SHOP_EINVAL;
	}
	if (json_object_object_get_ex(ev->payload, "restock", &v)) {
		if (!json_object_is_type(v, json_type_boolean)) {
			shop_log_error("payment.refunded %s: restock is not a boolean", ev->event_id);
			return SHOP_EINVAL;
		}
		f.admin_restock = json_object_get_boolean(v) != 0;
	}

	rc = shop_db_tx(w->db, refund_tx, &f);
	if (rc == DUPLICATE) {
		shop_log_info("payment.refunded %s: already handled", ev->event_id);
		return 0;
	}
	if (rc != 0)
		return rc;
	if (f.refunded)
		shop_log_info("order %lld %s → REFUNDED by the refund of payment %lld (restock %s)",
		    f.order_id, f.was, f.payment_id, f.restock ? "yes" : "no");
	else
		shop_log_warn("refund of payment %lld for order %lld not applied to the order: %s",
		    f.payment_id, f.order_id, f.why);
	return 0;
}

/* payment.failed: only the claim (the order stays payable). */

static int claim_tx(struct shop_db *db, void *arg)
{
	const struct shop_event *ev = arg;
	int rc = shop_inbox_claim(db, OW_SQL_CLAIM, OW_CONSUMER, ev->event_id);

	return rc == SHOP_EDUP ? DUPLICATE : rc;
}

static int on_failed(struct shop_worker_ctx *w, const struct shop_event *ev)
{
	long long order_id = 0, payment_id = 0;
	int rc;

	get_int(ev->payload, "order_id", 1, MAX_ID, &order_id);
	get_int(ev->payload, "payment_id", 1, MAX_ID, &payment_id);
	rc = shop_db_tx(w->db, claim_tx, (void *)ev);
	if (rc == DUPLICATE)
		return 0;
	if (rc != 0)
		return rc;
	shop_log_info("payment %lld for order %lld failed: the order stays payable", payment_id,
	    order_id);
	return 0;
}

int ow_handle(struct shop_worker_ctx *w, const struct shop_event *ev)
{
	if (strcmp(ev->event_type, "payment.succeeded") == 0)
		return on_succeeded(w, ev);
	if (strcmp(ev->event_type, "payment.failed") == 0)
		return on_failed(w, ev);
	if (strcmp(ev->event_type, "payment.refunded") == 0)
		return on_refunded(w, ev);
	/* The queue is bound to nothing else: a message that cannot be ours. */
	shop_log_error("unexpected event type %s (%s)", ev->event_type, ev->event_id);
	return SHOP_EINVAL;
}

/* The expiry sweep */

struct expire {
	struct shop_worker_ctx *w;
	long long order_id;
	bool expired;
};

static int expire_tx(struct shop_db *db, void *arg)
{
	struct expire *e = arg;
	json_object *payload, *items;
	struct shop_rows rows;
	int rc;

	e->expired = false;
	rc = shop_db_exec(db, OW_SQL_EXPIRE, "i", e->order_id);
	if (rc <= 0)
		return rc; /* paid or cancelled meanwhile: nothing to do */
	rc = shop_db_query(db, e->w->arena, &rows, OW_SQL_ORDER, "i", e->order_id);
	if (rc < 0)
		return rc;
	if (rows.n != 1)
		return SHOP_EDB;
	rc = items_json(db, e->w->arena, e->order_id, &items);
	if (rc < 0)
		return rc;
	payload = json_object_new_object();
	json_object_object_add(payload, "order_id", shop_json_int(e->order_id));
	json_object_object_add(payload, "user_id", shop_json_int(shop_row_int(&rows.row[0], 0)));
	json_object_object_add(payload, "items", items);
	rc = shop_outbox_add(db, OW_SQL_OUTBOX, "order.expired", "order", e->order_id, payload, NULL);
	json_object_put(payload);
	if (rc < 0)
		return rc;
	e->expired = true;
	return 0;
}

/* Deletes idempotency keys past their 24 h, a batch at a time. */
static int purge_keys(struct shop_worker_ctx *w)
{
	int rc = shop_db_exec(w->db, OW_SQL_IDEM_PURGE, "i", (long long)OW_PURGE_BATCH);

	if (rc > 0)
		shop_log_info("purged %d idempotency keys older than 24 h", rc);
	return rc < 0 ? rc : 0;
}

int ow_tick(struct shop_worker_ctx *w)
{
	struct ow_state *s = w->user;
	struct shop_rows due;
	double now = shop_mono_ms();
	unsigned expired = 0;
	int rc, last = 0;

	if (now >= s->next_purge) {
		s->next_purge = now + OW_PURGE_MS;
		rc = purge_keys(w);
		if (rc < 0)
			return rc;
	}
	if (now < s->next_sweep)
		return 0;
	s->next_sweep = now + (double)s->sweep_ms;
	/* No request caused this: events get no request id (not the last delivery's). */
	shop_log_clear_request();
	rc = shop_db_query(w->db, w->arena, &due, OW_SQL_DUE, "i", (long long)OW_SWEEP_BATCH);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < due.n; i++) {
		struct expire e = { .w = w, .order_id = shop_row_int(&due.row[i], 0) };

		rc = shop_db_tx(w->db, expire_tx, &e);
		if (rc < 0) {
			shop_log_warn("expiring order %lld failed: %s", e.order_id, shop_strerror(rc));
			last = rc;
			if (rc == SHOP_EDBDOWN)
				break;
			continue;
		}
		if (e.expired) {
			expired++;
			shop_log_info("order %lld EXPIRED", e.order_id);
		}
	}
	if (expired > 0 && due.n == OW_SWEEP_BATCH)
		s->next_sweep = now; /* more may be due: sweep again at the next tick */
	return last;
}
