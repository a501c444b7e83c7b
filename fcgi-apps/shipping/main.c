/* shop-shipping: the shipping FastCGI pool (shipping.h).
 *
 *   shop-shipping -c var/shop.conf [-s SOCKET] [-p PROCS] [-t THREADS] [-P PIDFILE]
 *
 * Configuration section [shipping]: socket, procs, threads, pidfile, db_user
 * (shop_shipping), db_password, db_name (shop_shipping). */
#include "fcgi-apps/shipping/shipping.h"
#include "lib/app.h"

int main(int argc, char **argv)
{
	struct shop_app app = {
		.name = "shipping",
		.routes = shipping_routes,
		.nroutes = shipping_nroutes,
		.sql = shipping_sql,
		.nsql = SQL_COUNT,
		.uses_db = true,
	};

	return shop_app_main(&app, argc, argv);
}
