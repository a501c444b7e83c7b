/* The order worker (orders domain): consumes orders.payments and drives an
 * order's state from its payment's events, and expires unpaid orders.
 *
 *   payment.succeeded  PENDING_PAYMENT → PAID when the order still waits for
 *                      exactly that amount and currency; then order.paid
 *                      (with the items) goes to the outbox, and the inventory
 *                      worker settles the reservation.
 *                      Otherwise (a late payment: the order expired or was
 *                      cancelled) order.payment_orphaned asks the payments
 *                      domain to refund the payment.
 *   payment.failed     nothing but the claim: the order stays payable until
 *                      it expires.
 *   payment.refunded   PAID, SHIPPED or DELIVERED → REFUNDED (the order's own
 *                      payment only); then order.refunded (items, restock)
 *                      goes to the outbox, and the inventory worker returns
 *                      the stock when restock is true. restock = the order
 *                      was PAID (nothing left the warehouse) or the admin
 *                      said the goods came back (the payment's restock).
 *   tick               every [order-worker] expiry_sweep_ms (1000): up to 100
 *                      PENDING_PAYMENT orders past expires_at → EXPIRED, each
 *                      in its own transaction with its order.expired event.
 *
 *   main.c                 the worker's description and configuration
 *   handle.c               the handler and the sweep
 *   order_worker_sql.c     every SQL statement */
#ifndef SHOP_ORDER_WORKER_H
#define SHOP_ORDER_WORKER_H

#include "lib/worker.h"

/* The consumer name in processed_events. */
#define OW_CONSUMER "order-worker"
#define OW_SWEEP_BATCH 100               /* orders expired per sweep, at most */
#define OW_DEFAULT_SWEEP_MS 1000         /* [order-worker] expiry_sweep_ms */
#define OW_TICK_MS 50                    /* how often the runner asks; the sweep runs when due */
#define OW_PURGE_MS 60000                /* idempotency keys past 24 h: purged once a minute */
#define OW_PURGE_BATCH 1000

enum ow_stmt {
	OW_SQL_CLAIM,        /* consumer, event_id */
	OW_SQL_OUTBOX,       /* shop_outbox_add */
	OW_SQL_PAY,          /* payment_id, order id, total_cents, currency */
	OW_SQL_ORDER,        /* order id → user_id, status, total_cents, currency, payment_id */
	OW_SQL_ORDER_LOCK,   /* the same, FOR UPDATE */
	OW_SQL_REFUND,       /* order id, payment_id */
	OW_SQL_ITEMS,        /* order id → product_id, quantity */
	OW_SQL_DUE,          /* limit → ids of PENDING_PAYMENT orders past expires_at */
	OW_SQL_EXPIRE,       /* order id */
	OW_SQL_IDEM_PURGE,   /* limit: idempotency keys older than 24 h */
	OW_SQL_COUNT
};

extern const char *const ow_sql[OW_SQL_COUNT];

/* The worker's own state (init). */
struct ow_state {
	long long sweep_ms;
	double next_sweep;       /* monotonic ms */
	double next_purge;       /* monotonic ms */
};

int ow_init(struct shop_worker_ctx *w);
void ow_fini(struct shop_worker_ctx *w);
int ow_handle(struct shop_worker_ctx *w, const struct shop_event *ev);
int ow_tick(struct shop_worker_ctx *w);

#endif
