/* The shipping app (shop-shipping): the shipment of a paid order, read by
 * its owner or an ADMIN, shipped and delivered by an ADMIN, in the database
 * shop_shipping. The shipping worker (workers/shipping) creates the PENDING
 * shipment on order.paid; this app moves it PENDING → SHIPPED → DELIVERED,
 * each time in one transaction with the order's own status in
 * shop_orders.orders (PAID → SHIPPED → DELIVERED), a history row and the
 * order.shipped / order.delivered event, so that GET /orders/{id} shows the
 * new status when the answer is sent.
 *
 *   routes.c       the route table and the fields each route accepts
 *   handlers.c     the handlers and the shipment JSON
 *   shipping_sql.c every SQL statement
 *   main.c         the app description */
#ifndef SHOP_SHIPPING_H
#define SHOP_SHIPPING_H

#include "lib/router.h"

#define SHIP_MAX_ID 9007199254740991LL /* 2^53 - 1: ids stay exact in JSON */
#define SHIP_MAX_CARRIER 64            /* code points of carrier */
#define SHIP_MAX_TRACKING 64           /* code points of tracking_number */

/* The statements, indexes into shipping_sql[]. */
enum ship_stmt {
	SQL_OUTBOX_INSERT,
	SQL_SHIPMENT_GET,
	SQL_EVENTS_GET,
	SQL_SHIP,
	SQL_DELIVER,
	SQL_EVENT_INSERT,
	SQL_ORDER_SHIP,
	SQL_ORDER_DELIVER,
	SQL_ORDER_STATE,
	SQL_COUNT
};

/* Columns of SQL_SHIPMENT_GET, in this order. */
enum ship_col {
	SC_ORDER,
	SC_USER,
	SC_STATUS,
	SC_CARRIER,
	SC_TRACKING,
	SC_NCOLS
};

extern const char *const shipping_sql[SQL_COUNT];

extern const struct shop_route shipping_routes[];
extern const size_t shipping_nroutes;

struct shop_req;

void h_shipment_get(struct shop_req *r);
void h_shipment_ship(struct shop_req *r);
void h_shipment_deliver(struct shop_req *r);

#endif
