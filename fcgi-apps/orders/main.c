/* shop-orders: the orders FastCGI pool (docs/runtime.md).
 *
 *   shop-orders -c var/shop.conf [-s SOCKET] [-p PROCS] [-t THREADS] [-P PIDFILE]
 *
 * Configuration section [orders]: socket, procs, threads, db_user
 * (shop_orders), db_password, db_name (shop_orders), expiry_seconds (900:
 * how long a placed order stays payable before the order worker expires it
 * and its reservation is released). */
#include <stdlib.h>

#include "fcgi-apps/orders/orders.h"
#include "lib/app.h"
#include "lib/conf.h"
#include "lib/log.h"
#include "lib/mem.h"

static int ord_init(const struct shop_conf *conf, void **app_ctx)
{
	struct ord_ctx *c = shop_xcalloc(1, sizeof(*c));

	c->expiry_seconds = shop_conf_int(conf, "orders.expiry_seconds", ORD_DEFAULT_EXPIRY);
	if (c->expiry_seconds < 1 || c->expiry_seconds > 30LL * 86400) {
		shop_log_warn("orders.expiry_seconds %lld out of range 1..2592000: using %d",
		    c->expiry_seconds, ORD_DEFAULT_EXPIRY);
		c->expiry_seconds = ORD_DEFAULT_EXPIRY;
	}
	*app_ctx = c;
	return 0;
}

int main(int argc, char **argv)
{
	struct shop_app app = {
		.name = "orders",
		.routes = orders_routes,
		.nroutes = orders_nroutes,
		.sql = orders_sql,
		.nsql = SQL_COUNT,
		.uses_db = true,
		.init = ord_init,
	};

	return shop_app_main(&app, argc, argv);
}
