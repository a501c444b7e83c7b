/* The shipping worker (shipping domain): consumes shipping.orders and, for
 * each order.paid, creates the order's shipment in PENDING with its first
 * history row, once: in one transaction with the inbox claim (consumer
 * "shipping"), and a shipment that already exists for the order (another
 * event of the same order) is left as it is.
 *
 *   main.c                    the worker's description
 *   handle.c                  the handler
 *   shipping_worker_sql.c     every SQL statement */
#ifndef SHOP_SHIPPING_WORKER_H
#define SHOP_SHIPPING_WORKER_H

#include "lib/worker.h"

/* The consumer name in processed_events. */
#define SW_CONSUMER "shipping"

enum sw_stmt {
	SW_SQL_CLAIM,        /* consumer, event_id */
	SW_SQL_CREATE,       /* order_id, user_id: the PENDING shipment */
	SW_SQL_EVENT,        /* order_id: its PENDING history row */
	SW_SQL_COUNT
};

extern const char *const sw_sql[SW_SQL_COUNT];

int sw_handle(struct shop_worker_ctx *w, const struct shop_event *ev);

#endif
