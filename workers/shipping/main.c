/* shop-shipping-worker: the shipping worker (shipping_worker.h).
 *
 *   shop-shipping-worker -c var/shop.conf [-P PIDFILE]
 *
 * Configuration section [shipping-worker]: db_user (shop_shipping),
 * db_password, db_name (shop_shipping), prefetch, max_attempts
 * (lib/worker.h). */
#include "lib/worker.h"
#include "workers/shipping/shipping_worker.h"

static const char *const routing_keys[] = {
	"order.paid", NULL
};

static const struct shop_worker worker = {
	.name = "shipping-worker",
	.queue = "shipping.orders",
	.routing_keys = routing_keys,
	.sql = sw_sql,
	.nsql = SW_SQL_COUNT,
	.handle = sw_handle,
};

int main(int argc, char **argv)
{
	return shop_worker_main(&worker, argc, argv);
}
