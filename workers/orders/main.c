/* shop-order-worker: the order worker (order_worker.h).
 *
 *   shop-order-worker -c var/shop.conf [-P PIDFILE]
 *
 * Configuration section [order-worker]: db_user (shop_orders), db_password,
 * db_name (shop_orders), prefetch, max_attempts (lib/worker.h),
 * expiry_sweep_ms (1000). */
#include "lib/worker.h"
#include "workers/orders/order_worker.h"

static const char *const routing_keys[] = {
	"payment.succeeded", "payment.failed", "payment.refunded", NULL
};

static const struct shop_worker worker = {
	.name = "order-worker",
	.queue = "orders.payments",
	.routing_keys = routing_keys,
	.sql = ow_sql,
	.nsql = OW_SQL_COUNT,
	.init = ow_init,
	.handle = ow_handle,
	.tick = ow_tick,
	.tick_ms = OW_TICK_MS,
	.fini = ow_fini,
};

int main(int argc, char **argv)
{
	return shop_worker_main(&worker, argc, argv);
}
