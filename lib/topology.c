/* The consumer queues of docs/events.md and their bindings (see topology.h). */
#include "lib/topology.h"
#include "lib/util.h"

static const char *const inventory_keys[] = {
	"order.paid", "order.cancelled", "order.expired", NULL
};
static const char *const orders_keys[] = {
	"payment.succeeded", "payment.failed", NULL
};
static const char *const payments_keys[] = {
	"payment.requested", NULL
};

const struct shop_amqp_queue shop_topology[] = {
	{ "inventory.settlement", inventory_keys },   /* workers/inventory */
	{ "orders.payments", orders_keys },           /* workers/orders */
	{ "payments.requests", payments_keys },       /* workers/payment-sim */
};

const size_t shop_ntopology = SHOP_ARRAY_LEN(shop_topology);
