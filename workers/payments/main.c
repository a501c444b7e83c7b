/* shop-payments-worker: the payments domain's consumer (docs/events.md).
 *
 *   shop-payments-worker -c var/shop.conf [-P PIDFILE]
 *
 * Consumes payments.orders: order.payment_orphaned, written by the order
 * worker when a payment succeeded for an order that it could not pay (the
 * order expired or was cancelled first, or the amount differs). The money
 * was taken for nothing, so the payment is refunded the way an admin's POST
 * /payments/{id}/refund does it, in one transaction with the inbox claim
 * (consumer "payments-worker", shop_payments.processed_events):
 * pay_refund_request (fcgi-apps/payments/refund_request.c) sets
 * refund_requested_at and writes refund.requested with restock false (the
 * order's reservation was released already); the provider's webhook
 * refund.succeeded then makes the payment REFUNDED, and the order worker
 * leaves the order as it is.
 *
 * A payment that is no longer SUCCEEDED, has a refund pending already (an
 * admin was first) or is unknown: the claim alone is committed and a
 * warning says why. A payload without payment_id and order_id can never
 * succeed: dead-lettered.
 *
 * Configuration section [payments-worker]: db_user (shop_payments),
 * db_password, db_name (shop_payments), prefetch, max_attempts
 * (lib/worker.h), and [amqp]. */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <json-c/json.h>

#include "fcgi-apps/payments/payments.h"
#include "lib/db.h"
#include "lib/err.h"
#include "lib/log.h"
#include "lib/outbox.h"
#include "lib/worker.h"

#define CONSUMER "payments-worker"
#define DUPLICATE 1 /* the transaction's "already handled": rolled back, then acked */

struct orphan {
	struct shop_worker_ctx *w;
	const struct shop_event *ev;
	long long payment_id, order_id;
	int refused;                  /* out: a pay_refund_refusal, or 0 */
};

static bool get_id(json_object *obj, const char *key, long long *out)
{
	json_object *v;

	if (!json_object_object_get_ex(obj, key, &v) || !json_object_is_type(v, json_type_int))
		return false;
	*out = (long long)json_object_get_int64(v);
	return *out >= 1 && *out <= PAY_MAX_ID;
}

static int orphan_tx(struct shop_db *db, void *arg)
{
	struct orphan *o = arg;
	struct shop_rows pay;
	int rc;

	o->refused = 0;
	rc = shop_inbox_claim(db, SQL_INBOX_CLAIM, CONSUMER, o->ev->event_id);
	if (rc == SHOP_EDUP)
		return DUPLICATE;
	if (rc < 0)
		return rc;
	rc = pay_refund_request(db, o->w->arena, o->payment_id, o->order_id, false,
	    o->ev->request_id[0] ? o->ev->request_id : NULL, &pay);
	if (rc > 0) {
		/* Refused before any write: commit the claim alone. */
		o->refused = rc;
		return 0;
	}
	return rc;
}

static const char *refusal_name(int refused)
{
	switch (refused) {
	case PAY_REFUND_NOT_FOUND:
		return "no such payment of that order";
	case PAY_REFUND_NOT_REFUNDABLE:
		return "the payment is not SUCCEEDED";
	case PAY_REFUND_IN_PROGRESS:
		return "a refund was requested already";
	default:
		return "refused";
	}
}

static int handle(struct shop_worker_ctx *w, const struct shop_event *ev)
{
	struct orphan o = { .w = w, .ev = ev };
	int rc;

	if (strcmp(ev->event_type, "order.payment_orphaned") != 0) {
		shop_log_error("event %s: unexpected type %s", ev->event_id, ev->event_type);
		return SHOP_EINVAL;
	}
	if (!get_id(ev->payload, "payment_id", &o.payment_id) ||
	    !get_id(ev->payload, "order_id", &o.order_id)) {
		shop_log_error("order.payment_orphaned %s: payment_id or order_id missing or invalid",
		    ev->event_id);
		return SHOP_EINVAL;
	}
	rc = shop_db_tx(w->db, orphan_tx, &o);
	if (rc == DUPLICATE) {
		shop_log_info("order.payment_orphaned %s: already handled", ev->event_id);
		return 0;
	}
	if (rc != 0)
		return rc;
	if (o.refused)
		shop_log_warn("payment %lld of order %lld not refunded: %s", o.payment_id, o.order_id,
		    refusal_name(o.refused));
	else
		shop_log_info("payment %lld of order %lld came too late: refund requested",
		    o.payment_id, o.order_id);
	return 0;
}

static const char *const routing_keys[] = { "order.payment_orphaned", NULL };

int main(int argc, char **argv)
{
	const struct shop_worker w = {
		.name = "payments-worker",
		.queue = "payments.orders",
		.routing_keys = routing_keys,
		.sql = payments_sql,
		.nsql = SQL_COUNT,
		.handle = handle,
	};

	return shop_worker_main(&w, argc, argv);
}
