/* shop-notify: the notifications FastCGI pool (docs/runtime.md).
 *
 *   shop-notify -c var/shop.conf [-s SOCKET] [-p PROCS] [-t THREADS] [-P PIDFILE]
 *
 * Configuration section [notify]: socket, procs, threads, db_user
 * (shop_notify), db_password, db_name (shop_notify). */
#include "fcgi-apps/notify/notify.h"
#include "lib/app.h"

int main(int argc, char **argv)
{
	struct shop_app app = {
		.name = "notify",
		.routes = notify_routes,
		.nroutes = notify_nroutes,
		.sql = notify_sql,
		.nsql = SQL_COUNT,
		.uses_db = true,
	};

	return shop_app_main(&app, argc, argv);
}
