/* shop-cart: the cart FastCGI pool (docs/runtime.md).
 *
 *   shop-cart -c var/shop.conf [-s SOCKET] [-p PROCS] [-t THREADS] [-P PIDFILE]
 *
 * Configuration section [cart]: socket, procs, threads, db_user (shop_cart),
 * db_password, db_name (shop_cart). */
#include "fcgi-apps/cart/cart.h"
#include "lib/app.h"

int main(int argc, char **argv)
{
	struct shop_app app = {
		.name = "cart",
		.routes = cart_routes,
		.nroutes = cart_nroutes,
		.sql = cart_sql,
		.nsql = SQL_COUNT,
		.uses_db = true,
	};

	return shop_app_main(&app, argc, argv);
}
