/* shop-outbox-relay: publishes the outbox rows of every domain schema to
 * RabbitMQ with confirms (relay.c), one thread per schema.
 *
 *   shop-outbox-relay -c CONF [-P PIDFILE]   run until SIGTERM/SIGINT
 *   shop-outbox-relay -c CONF -T             connect, declare the whole topology
 *                                            (lib/topology.c), exit 0; exit 1 when
 *                                            the broker is unreachable
 *
 * Configuration, section [outbox-relay]: db_user, db_password (the relay's
 * user reads and marks `<schema>.outbox` only), schemas (default
 * "shop_identity shop_orders shop_payments"; names from the whitelist of
 * relay_sql.c), batch (500), poll_ms (50), pidfile; [amqp] for the broker.
 *
 * SIGTERM/SIGINT are blocked in every thread and taken by the main thread
 * with sigwaitinfo; the schema threads finish the round in hand (publish,
 * confirms, mark) and return. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "lib/amqp.h"
#include "lib/conf.h"
#include "lib/db.h"
#include "lib/err.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/metrics.h"
#include "lib/topology.h"
#include "lib/util.h"
#include "workers/outbox-relay/relay.h"

#define NAME "outbox-relay"
#define MAX_SCHEMAS 16
#define DEFAULT_SCHEMAS "shop_identity shop_orders shop_payments"

static int usage(const char *prog)
{
	fprintf(stderr, "usage: %s -c CONF [-P PIDFILE] [-T]\n", prog);
	return 2;
}

/* -T: the topology, once. */
static int declare_only(const struct shop_amqp_conf *ac)
{
	struct shop_amqp *a = NULL;
	int rc;

	rc = shop_amqp_connect(&a, ac);
	if (rc == 0)
		rc = shop_amqp_declare_topology(a, shop_topology, shop_ntopology);
	shop_amqp_close(a);
	if (rc) {
		shop_log_error("cannot declare the topology on RabbitMQ at %s:%u (vhost %s): %s",
		    ac->host, ac->port, ac->vhost, shop_strerror(rc));
		fprintf(stderr, "shop-outbox-relay: RabbitMQ at %s:%u unreachable or refused\n",
		    ac->host, ac->port);
		return 1;
	}
	shop_log_info("topology declared: exchanges shop.events, shop.unrouted, shop.dlx;"
	    " %zu consumer queues", shop_ntopology);
	return 0;
}

/* Splits the schemas setting (blanks or commas) against the whitelist. */
static int parse_schemas(const char *list, const struct relay_schema **out, size_t *n)
{
	const char *p = list;

	*n = 0;
	while (*p) {
		size_t len;
		const struct relay_schema *s;
		bool dup = false;

		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		len = strcspn(p, " \t,");
		if (len == 0)
			break;
		s = relay_schema_find(p, len);
		if (!s) {
			shop_log_error(NAME ".schemas: unknown schema '%.*s'", (int)len, p);
			return SHOP_EINVAL;
		}
		for (size_t i = 0; i < *n; i++)
			dup |= out[i] == s;
		if (!dup) {
			if (*n == MAX_SCHEMAS)
				return SHOP_EINVAL;
			out[(*n)++] = s;
		}
		p += len;
	}
	if (*n == 0) {
		shop_log_error(NAME ".schemas: no schema");
		return SHOP_EINVAL;
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *conf_path = NULL, *pidfile = NULL;
	const struct relay_schema *schemas[MAX_SCHEMAS];
	struct relay_thread threads[MAX_SCHEMAS];
	struct shop_conf *conf = NULL;
	struct relay_opts *o;
	bool topology_only = false, pid_written = false, metrics = false;
	size_t nschemas = 0;
	long long batch, poll_ms;
	sigset_t set;
	int opt, rc = 1;

	while ((opt = getopt(argc, argv, "c:P:Th")) != -1) {
		switch (opt) {
		case 'c':
			conf_path = optarg;
			break;
		case 'P':
			pidfile = optarg;
			break;
		case 'T':
			topology_only = true;
			break;
		default:
			return usage(argv[0]);
		}
	}
	if (optind != argc)
		return usage(argv[0]);
	if (shop_conf_load(&conf, conf_path) != 0) {
		fprintf(stderr, "%s: cannot load %s\n", argv[0],
		    conf_path ? conf_path : "the configuration");
		return 1;
	}
	shop_log_init(NAME, 2,
	    shop_log_level_parse(shop_conf_app(conf, NAME, "shop", "log_level", "info")));

	o = shop_xcalloc(1, sizeof(*o));
	o->stop_fd = -1;
	shop_amqp_conf_from(&o->ac, conf);
	signal(SIGPIPE, SIG_IGN);
	if (topology_only) {
		rc = declare_only(&o->ac);
		goto out;
	}

	if (parse_schemas(shop_conf_get(conf, NAME ".schemas", DEFAULT_SCHEMAS), schemas,
	    &nschemas) != 0) {
		rc = 2;
		goto out;
	}
	batch = shop_conf_int(conf, NAME ".batch", 500);
	poll_ms = shop_conf_int(conf, NAME ".poll_ms", 50);
	if (batch < 1 || batch > 10000 || poll_ms < 1 || poll_ms > 60000) {
		shop_log_error(NAME ".batch must be 1..10000 and " NAME ".poll_ms 1..60000");
		rc = 2;
		goto out;
	}
	o->batch = (unsigned)batch;
	o->poll_ms = (unsigned)poll_ms;
	shop_db_conf_from(&o->dbc, conf, NAME);
	o->dbc.database = NULL; /* the statements name their schema */
	if (shop_db_library_init() != 0) {
		shop_log_error("cannot initialise the database client library");
		goto out;
	}
	o->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (o->stop_fd < 0) {
		shop_log_error("eventfd: %s", strerror(errno));
		goto out;
	}
	if (!pidfile) {
		pidfile = shop_conf_get(conf, NAME ".pidfile", NULL);
		if (pidfile && !*pidfile)
			pidfile = NULL;
	}
	if (pidfile) {
		if (shop_pidfile_write(pidfile) != 0)
			goto out;
		pid_written = true;
	}
	metrics = shop_metrics_open(shop_conf_get(conf, "shop.metrics_dir", NULL), NAME,
	    SHOP_METRICS_WORKER) == 0;

	/* Blocked before the threads start, so that they inherit it. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);

	shop_log_info("started (pid %d, %zu schemas)", (int)getpid(), nschemas);
	memset(threads, 0, sizeof(threads));
	for (size_t i = 0; i < nschemas; i++) {
		threads[i].o = o;
		threads[i].s = schemas[i];
		if (pthread_create(&threads[i].tid, NULL, relay_thread_main, &threads[i]) != 0) {
			shop_log_error("cannot start the thread of %s", schemas[i]->name);
			atomic_store(&o->stop, true);
			break;
		}
		threads[i].started = true;
	}
	if (!atomic_load(&o->stop)) {
		siginfo_t si;
		int sig;

		while ((sig = sigwaitinfo(&set, &si)) < 0 && errno == EINTR)
			;
		shop_log_info("signal %d: stopping after the rounds in hand", sig);
		rc = 0;
	}
	atomic_store(&o->stop, true);
	{
		uint64_t one = 1;

		if (write(o->stop_fd, &one, sizeof(one)) < 0)
			shop_log_warn("eventfd write: %s", strerror(errno));
	}
	for (size_t i = 0; i < nschemas; i++)
		if (threads[i].started)
			pthread_join(threads[i].tid, NULL);
	shop_log_info("stopped");
out:
	if (metrics)
		shop_metrics_close();
	if (pid_written)
		unlink(pidfile);
	if (o->stop_fd >= 0)
		close(o->stop_fd);
	free(o);
	shop_conf_free(conf);
	return rc;
}
