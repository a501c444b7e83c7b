/* shop-catalog: the catalog and inventory FastCGI pool (docs/runtime.md).
 *
 *   shop-catalog -c var/shop.conf [-s SOCKET] [-p PROCS] [-t THREADS] [-P PIDFILE]
 *
 * Configuration section [catalog]: socket, procs, threads, db_user,
 * db_password, db_name (shop_catalog). */
#include "fcgi-apps/catalog/catalog.h"
#include "lib/app.h"

int main(int argc, char **argv)
{
	struct shop_app app = {
		.name = "catalog",
		.routes = catalog_routes,
		.nroutes = catalog_nroutes,
		.sql = catalog_sql,
		.nsql = SQL_COUNT,
		.uses_db = true,
	};

	return shop_app_main(&app, argc, argv);
}
