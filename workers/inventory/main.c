/* shop-inventory: the settlement worker of the catalog domain (inventory.h). */
#include "lib/topology.h"
#include "lib/util.h"
#include "lib/worker.h"
#include "workers/inventory/inventory.h"

static const char *const routing_keys[] = {
	"order.paid", "order.cancelled", "order.expired", "order.refunded", NULL
};

static const struct shop_worker worker = {
	.name = "inventory",
	.queue = "inventory.settlement",
	.routing_keys = routing_keys,
	.sql = inventory_sql,
	.nsql = INV_SQL_COUNT,
	.handle = inventory_handle,
};

int main(int argc, char **argv)
{
	return shop_worker_main(&worker, argc, argv);
}
