/* An app: a FastCGI responder program, run as a pool. main() fills a
 * struct shop_app and calls shop_app_main().
 *
 * Command line:  shop-<name> -c CONF [-s SOCKET] [-p PROCS] [-t THREADS] [-P PIDFILE]
 * Configuration (section [<name>], environment overrides as in conf.h):
 *   socket, procs (default 2), threads (default 4), pidfile,
 *   db_user, db_password, db_name   (see db.h)
 *   log_level in [shop] or [<name>]
 * Logs go to stderr as JSON lines.
 *
 * Every app also answers "GET /_ping" itself (nginx never routes it from
 * outside): 200 when its database answers (or it has none), else 503. The
 * health check of /healthz asks each pool this over its socket. */
#ifndef SHOP_APP_H
#define SHOP_APP_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/router.h"

struct shop_conf;

struct shop_app {
	const char *name;                    /* "catalog": config section, log app name */
	const struct shop_route *routes;
	size_t nroutes;
	const char *const *sql;              /* the app's statements, indexed by the app's enum */
	size_t nsql;
	bool uses_db;                        /* false: no database handle (r->db NULL) */
	/* Once per worker process, after fork, before threads. Returns 0 or a
	 * failure code (the process then exits and is respawned with back-off). */
	int (*init)(const struct shop_conf *conf, void **app_ctx);
	/* Once per worker thread. */
	int (*thread_init)(void *app_ctx, void **thread_ctx);
	void (*thread_fini)(void *thread_ctx);
	/* When set, every request goes here with no routing, access check or
	 * body handling (the auth app answers nginx's subrequests this way). */
	shop_handler raw;
};

/* Runs the pool until SIGTERM/SIGINT; returns the process exit status. */
int shop_app_main(const struct shop_app *app, int argc, char **argv);

#endif
