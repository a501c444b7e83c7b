/* Settlement and release of an order's reservations, and the restock of a
 * refunded order (inventory.h).
 *
 * One transaction per event: claim the event id (processed_events, consumer
 * "inventory"), then for each product of the order in product_id order (the
 * order in which every writer of stock locks rows, so no deadlock cycle):
 *   order.paid                     on_hand -= q, reserved -= q; ledger SETTLE
 *   order.cancelled, order.expired reserved -= q;               ledger RELEASE
 *   order.refunded, restock true   on_hand += q;                ledger RESTOCK
 *                                                  (ref "refund:<order id>")
 *   order.refunded, restock false  nothing but the claim (the goods are with
 *                                  the customer)
 * each required to change exactly one row; settle and release are guarded by
 * reserved >= q. A guard that changes nothing means the books disagree with
 * the event (a reservation that was never made or already released, a
 * product without a stock row): that is a bug to look at, not something to
 * retry, so the whole event is rolled back and dead-lettered (SHOP_EINVAL),
 * and the counters never go negative. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/db.h"
#include "lib/err.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/outbox.h"
#include "workers/inventory/inventory.h"

#define MAX_ITEMS 1000
#define MAX_QUANTITY 1000000000LL
#define DUPLICATE 1 /* the transaction's "already handled": rolled back, then acked */

struct item {
	long long product_id;
	long long quantity;
};

/* What an event does to each product's stock. */
enum move { MOVE_SETTLE, MOVE_RELEASE, MOVE_RESTOCK, MOVE_NONE };

static const char *const move_kind[] = {
	[MOVE_SETTLE] = "SETTLE", [MOVE_RELEASE] = "RELEASE", [MOVE_RESTOCK] = "RESTOCK",
	[MOVE_NONE] = NULL,
};
static const char *const move_done[] = {
	[MOVE_SETTLE] = "settled", [MOVE_RELEASE] = "released", [MOVE_RESTOCK] = "restocked",
	[MOVE_NONE] = "refunded without restock: left",
};

struct apply {
	const struct shop_event *ev;
	const struct item *items;
	size_t n;
	enum move move;
	char ref[40];
	long long refused;        /* the product whose guard changed no row */
};

static bool get_id(json_object *obj, const char *key, long long max, long long *out)
{
	json_object *v;

	if (!json_object_object_get_ex(obj, key, &v) || !json_object_is_type(v, json_type_int))
		return false;
	*out = json_object_get_int64(v);
	return *out >= 1 && *out <= max;
}

static int by_product(const void *a, const void *b)
{
	const struct item *x = a, *y = b;

	return (x->product_id > y->product_id) - (x->product_id < y->product_id);
}

/* Reads items[] into it (arena), sorted by product and merged. Returns the count or -1. */
static long parse_items(json_object *payload, struct shop_arena *arena, struct item **out)
{
	json_object *arr;
	struct item *it;
	size_t n, m = 0;

	if (!json_object_object_get_ex(payload, "items", &arr) ||
	    !json_object_is_type(arr, json_type_array))
		return -1;
	n = json_object_array_length(arr);
	if (n == 0 || n > MAX_ITEMS)
		return -1;
	it = shop_arena_alloc(arena, n * sizeof(*it));
	for (size_t i = 0; i < n; i++) {
		json_object *e = json_object_array_get_idx(arr, i);

		if (!e || !json_object_is_type(e, json_type_object) ||
		    !get_id(e, "product_id", INT64_MAX, &it[i].product_id) ||
		    !get_id(e, "quantity", MAX_QUANTITY, &it[i].quantity))
			return -1;
	}
	qsort(it, n, sizeof(*it), by_product);
	for (size_t i = 0; i < n; i++) {
		if (m > 0 && it[m - 1].product_id == it[i].product_id) {
			it[m - 1].quantity += it[i].quantity;
			if (it[m - 1].quantity > MAX_QUANTITY)
				return -1;
		} else {
			it[m++] = it[i];
		}
	}
	*out = it;
	return (long)m;
}

static int apply(struct shop_db *db, void *arg)
{
	struct apply *a = arg;
	const char *kind = move_kind[a->move];
	int rc;

	a->refused = 0;
	rc = shop_inbox_claim(db, INV_SQL_CLAIM, INVENTORY_CONSUMER, a->ev->event_id);
	if (rc == SHOP_EDUP)
		return DUPLICATE;
	if (rc)
		return rc;
	for (size_t i = 0; a->move != MOVE_NONE && i < a->n; i++) {
		long long p = a->items[i].product_id, q = a->items[i].quantity;
		long long d_on_hand, d_reserved;

		switch (a->move) {
		case MOVE_SETTLE:
			rc = shop_db_exec(db, INV_SQL_SETTLE, "iiii", q, q, p, q);
			d_on_hand = -q;
			d_reserved = -q;
			break;
		case MOVE_RELEASE:
			rc = shop_db_exec(db, INV_SQL_RELEASE, "iii", q, p, q);
			d_on_hand = 0;
			d_reserved = -q;
			break;
		default:
			rc = shop_db_exec(db, INV_SQL_RESTOCK, "ii", q, p);
			d_on_hand = q;
			d_reserved = 0;
			break;
		}
		if (rc < 0)
			return rc;
		if (rc != 1) {
			a->refused = p;
			return SHOP_EINVAL;
		}
		rc = shop_db_exec(db, INV_SQL_LEDGER, "iiisss", p, d_on_hand, d_reserved, kind,
		    a->ev->event_type, a->ref);
		if (rc < 0)
			return rc;
	}
	return 0;
}

int inventory_handle(struct shop_worker_ctx *w, const struct shop_event *ev)
{
	struct apply a = { .ev = ev };
	struct item *items = NULL;
	long long order_id;
	json_object *v;
	long n;
	int rc;

	if (strcmp(ev->event_type, "order.paid") == 0) {
		a.move = MOVE_SETTLE;
	} else if (strcmp(ev->event_type, "order.cancelled") == 0 ||
	    strcmp(ev->event_type, "order.expired") == 0) {
		a.move = MOVE_RELEASE;
	} else if (strcmp(ev->event_type, "order.refunded") == 0) {
		if (!json_object_object_get_ex(ev->payload, "restock", &v) ||
		    !json_object_is_type(v, json_type_boolean)) {
			shop_log_error("event %s (order.refunded): restock missing or not a boolean",
			    ev->event_id);
			return SHOP_EINVAL;
		}
		a.move = json_object_get_boolean(v) ? MOVE_RESTOCK : MOVE_NONE;
	} else {
		shop_log_error("event %s: unexpected type %s", ev->event_id, ev->event_type);
		return SHOP_EINVAL;
	}
	if (!get_id(ev->payload, "order_id", INT64_MAX, &order_id) ||
	    (n = parse_items(ev->payload, w->arena, &items)) < 0) {
		shop_log_error("event %s (%s): payload needs order_id and items"
		    " [{product_id, quantity}] of positive integers", ev->event_id, ev->event_type);
		return SHOP_EINVAL;
	}
	a.items = items;
	a.n = (size_t)n;
	snprintf(a.ref, sizeof(a.ref), "%s:%lld", a.move == MOVE_RESTOCK ? "refund" : "order",
	    order_id);

	rc = shop_db_tx(w->db, apply, &a);
	if (rc == DUPLICATE) {
		shop_log_info("event %s (%s, order %lld) already handled", ev->event_id,
		    ev->event_type, order_id);
		return 0;
	}
	if (rc == SHOP_EINVAL && a.refused) {
		shop_log_error("event %s (%s, order %lld): product %lld %s: the books disagree"
		    " with the event; nothing changed", ev->event_id, ev->event_type, order_id,
		    a.refused, a.move == MOVE_RESTOCK ? "has no stock row" :
		    "has less reserved stock than the order holds");
		return SHOP_EINVAL;
	}
	if (rc == 0)
		shop_log_info("order %lld: %s %ld products (event %s)", order_id,
		    move_done[a.move], n, ev->event_id);
	return rc;
}
