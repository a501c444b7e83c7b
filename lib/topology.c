/* The consumer queues of docs/events.md and their bindings (see topology.h). */
#include "lib/topology.h"
#include "lib/util.h"

static const char *const inventory_keys[] = {
	"order.paid", "order.cancelled", "order.expired", "order.refunded", NULL
};
static const char *const orders_keys[] = {
	"payment.succeeded", "payment.failed", "payment.refunded", NULL
};
static const char *const payments_keys[] = {
	"payment.requested", "refund.requested", NULL
};
static const char *const shipping_keys[] = {
	"order.paid", NULL
};
static const char *const payments_orders_keys[] = {
	"order.payment_orphaned", NULL
};
static const char *const notify_keys[] = {
	"user.registered", "order.placed", "payment.succeeded", "payment.failed",
	"order.cancelled", "order.expired", "order.shipped", "order.delivered",
	"order.refunded", NULL
};

const struct shop_amqp_queue shop_topology[] = {
	{ "inventory.settlement", inventory_keys },   /* workers/inventory */
	{ "orders.payments", orders_keys },           /* workers/orders */
	{ "payments.requests", payments_keys },       /* workers/payment-sim */
	{ "shipping.orders", shipping_keys },         /* workers/shipping */
	{ "notify.events", notify_keys },             /* workers/notify */
	{ "payments.orders", payments_orders_keys },  /* workers/payments */
};

const size_t shop_ntopology = SHOP_ARRAY_LEN(shop_topology);
