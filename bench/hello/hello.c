/* shop-bench-hello: the smallest FastCGI responder the benchmark measures
 * beside the shop (bench/README.md, "The peers").
 *
 *   shop-bench-hello -s SOCKET [-p PROCS] [-t THREADS] [-P PIDFILE]
 *
 * It runs on the shop's own pool runner (lib/pool.h: a master, PROCS
 * worker processes, an epoll thread and THREADS handler threads each) and
 * answers every request with the same small JSON envelope, reading nothing
 * and asking nobody. Behind the same nginx with the same kept-alive
 * upstream, it is what a request costs before any of the shop's own work:
 * nginx, the FastCGI exchange and libfcgi. Logs go to stderr (JSON lines);
 * SIGTERM stops it gracefully, as it stops the shop's pools.
 *
 * Not installed: it is built with the shop only so that `./shop bench`
 * finds it in the build directory. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <fcgiapp.h>

#include "lib/log.h"
#include "lib/pool.h"
#include "lib/util.h"

static const char body[] =
	"{\"status\":\"SUCCESS\",\"code\":200,\"message\":\"Hello\",\"data\":{\"hello\":\"world\"}}";

static void serve(FCGX_Request *req, void *thread_state)
{
	char head[128];
	int n;

	(void)thread_state;
	n = snprintf(head, sizeof(head),
	    "Status: 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n",
	    (int)(sizeof(body) - 1));
	if (n < 0 || (size_t)n >= sizeof(head))
		return;
	if (FCGX_PutStr(head, n, req->out) < 0)
		return;
	FCGX_PutStr(body, (int)(sizeof(body) - 1), req->out);
}

static int usage(const char *prog)
{
	fprintf(stderr, "usage: %s -s SOCKET [-p PROCS] [-t THREADS] [-P PIDFILE]\n", prog);
	return 2;
}

int main(int argc, char **argv)
{
	struct shop_pool_opts o = {
		.name = "bench-hello",
		.procs = 2,
		.threads = 4,
		.serve = serve,
	};
	long long v;
	int opt;

	while ((opt = getopt(argc, argv, "s:p:t:P:h")) != -1) {
		switch (opt) {
		case 's':
			o.socket_path = optarg;
			break;
		case 'p':
			if (shop_parse_int(optarg, strlen(optarg), 1, 256, &v) != 0) {
				fprintf(stderr, "%s: -p wants 1..256\n", argv[0]);
				return 2;
			}
			o.procs = (unsigned)v;
			break;
		case 't':
			if (shop_parse_int(optarg, strlen(optarg), 1, 1024, &v) != 0) {
				fprintf(stderr, "%s: -t wants 1..1024\n", argv[0]);
				return 2;
			}
			o.threads = (unsigned)v;
			break;
		case 'P':
			o.pidfile = optarg;
			break;
		default:
			return usage(argv[0]);
		}
	}
	if (optind != argc || o.socket_path == NULL)
		return usage(argv[0]);
	shop_log_init(o.name, 2, SHOP_LOG_INFO);
	return shop_pool_run(&o);
}
