/* The app main (see app.h): command line and configuration, then the pool
 * with one arena, one database handle and the app's own context per
 * handler thread. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <fcgiapp.h>

#include "lib/app.h"
#include "lib/conf.h"
#include "lib/db.h"
#include "lib/err.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/pool.h"
#include "lib/serve.h"
#include "lib/util.h"

#define ARENA_CHUNK (16 * 1024)

struct run {
	const struct shop_app *app;
	const struct shop_conf *conf;
	struct shop_db_conf dbc;
	void *app_ctx;             /* set in each worker process by proc_init */
};

struct thread_state {
	struct run *run;
	struct shop_arena *arena;
	struct shop_db *db;
	void *thread_ctx;
};

static int proc_init(void *arg)
{
	struct run *run = arg;
	int rc;

	if (!run->app->init)
		return 0;
	rc = run->app->init(run->conf, &run->app_ctx);
	if (rc != 0)
		shop_log_error("%s: app init failed: %s", run->app->name, shop_strerror(rc));
	return rc;
}

static void *thread_init(void *arg)
{
	struct run *run = arg;
	struct thread_state *ts = shop_xcalloc(1, sizeof(*ts));
	int rc;

	ts->run = run;
	ts->arena = shop_arena_new(ARENA_CHUNK);
	if (run->app->uses_db)
		ts->db = shop_db_new(&run->dbc, run->app->sql, run->app->nsql);
	if (run->app->thread_init) {
		rc = run->app->thread_init(run->app_ctx, &ts->thread_ctx);
		if (rc != 0) {
			/* Before any request was accepted: the master respawns the
			 * process with back-off. */
			shop_log_error("%s: thread init failed: %s", run->app->name,
			    shop_strerror(rc));
			_exit(1);
		}
	}
	return ts;
}

static void serve(FCGX_Request *fr, void *arg)
{
	struct thread_state *ts = arg;
	struct run *run = ts->run;

	shop_req_serve(fr, run->app, ts->arena, ts->db, run->conf, run->app_ctx, ts->thread_ctx);
	shop_arena_reset(ts->arena);
}

static void thread_fini(void *arg)
{
	struct thread_state *ts = arg;

	if (ts->run->app->thread_fini)
		ts->run->app->thread_fini(ts->thread_ctx);
	if (ts->db)
		shop_db_free(ts->db);
	shop_arena_free(ts->arena);
	free(ts);
}

static int usage(const char *prog)
{
	fprintf(stderr, "usage: %s -c CONF [-s SOCKET] [-p PROCS] [-t THREADS] [-P PIDFILE]\n",
	    prog);
	return 2;
}

/* "<app>.<key>" from the configuration, or NULL. */
static const char *app_get(const struct shop_conf *conf, const char *app, const char *key)
{
	char k[128];
	const char *v;

	snprintf(k, sizeof(k), "%s.%s", app, key);
	v = shop_conf_get(conf, k, NULL);
	return v && *v ? v : NULL;
}

static long long app_int(const struct shop_conf *conf, const char *app, const char *key,
    long long def)
{
	char k[128];

	snprintf(k, sizeof(k), "%s.%s", app, key);
	return shop_conf_int(conf, k, def);
}

int shop_app_main(const struct shop_app *app, int argc, char **argv)
{
	const char *conf_path = NULL, *sock = NULL, *pidfile = NULL;
	long long procs = -1, threads = -1;
	struct shop_pool_opts o = { 0 };
	struct shop_conf *conf = NULL;
	struct run run = { .app = app };
	int opt, rc;

	optind = 1;
	while ((opt = getopt(argc, argv, "c:s:p:t:P:h")) != -1) {
		switch (opt) {
		case 'c':
			conf_path = optarg;
			break;
		case 's':
			sock = optarg;
			break;
		case 'p':
			if (shop_parse_int(optarg, strlen(optarg), 1, 256, &procs) != 0) {
				fprintf(stderr, "%s: -p wants 1..256\n", argv[0]);
				return 2;
			}
			break;
		case 't':
			if (shop_parse_int(optarg, strlen(optarg), 1, 1024, &threads) != 0) {
				fprintf(stderr, "%s: -t wants 1..1024\n", argv[0]);
				return 2;
			}
			break;
		case 'P':
			pidfile = optarg;
			break;
		default:
			return usage(argv[0]);
		}
	}
	if (optind != argc)
		return usage(argv[0]);

	/* No -c: the environment alone (SHOP_<SECTION>_<KEY>). */
	rc = shop_conf_load(&conf, conf_path);
	if (rc != 0) {
		fprintf(stderr, "%s: cannot load %s: %s\n", argv[0],
		    conf_path ? conf_path : "the configuration", shop_strerror(rc));
		return 1;
	}
	shop_log_init(app->name, 2,
	    shop_log_level_parse(shop_conf_app(conf, app->name, "shop", "log_level", "info")));

	if (!sock)
		sock = app_get(conf, app->name, "socket");
	if (!pidfile)
		pidfile = app_get(conf, app->name, "pidfile");
	if (procs < 0)
		procs = app_int(conf, app->name, "procs", 2);
	if (threads < 0)
		threads = app_int(conf, app->name, "threads", 4);
	if (!sock) {
		shop_log_error("no socket: give -s or set %s.socket", app->name);
		rc = 2;
		goto out;
	}
	if (procs < 1 || procs > 256 || threads < 1 || threads > 1024) {
		shop_log_error("%s.procs must be 1..256 and %s.threads 1..1024", app->name,
		    app->name);
		rc = 2;
		goto out;
	}
	if (shop_db_library_init() != 0) {
		shop_log_error("cannot initialise the database client library");
		rc = 1;
		goto out;
	}
	run.conf = conf;
	if (app->uses_db)
		shop_db_conf_from(&run.dbc, conf, app->name);

	o.name = app->name;
	o.socket_path = sock;
	o.pidfile = pidfile;
	o.procs = (unsigned)procs;
	o.threads = (unsigned)threads;
	o.proc_init = proc_init;
	o.thread_init = thread_init;
	o.serve = serve;
	o.thread_fini = thread_fini;
	o.arg = &run;
	o.metrics_dir = shop_conf_get(conf, "shop.metrics_dir", NULL);
	rc = shop_pool_run(&o);
out:
	shop_conf_free(conf);
	return rc;
}
