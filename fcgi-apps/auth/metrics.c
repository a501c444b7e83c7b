/* GET /metrics (nginx lets only loopback clients through): every live
 * program's shared counters under [shop] metrics_dir (lib/metrics.h), then
 * nginx's own connection figures, read from its stub_status on the unix
 * socket [auth] nginx_status_socket. Prometheus text format 0.0.4. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "fcgi-apps/auth/auth_app.h"
#include "lib/log.h"
#include "lib/metrics.h"
#include "lib/req.h"

#define STATUS_TIMEOUT_MS 500
#define STATUS_MAX 4096

/* Reads stub_status:
 *   Active connections: 3
 *   server accepts handled requests
 *    16 16 31
 *   Reading: 0 Writing: 1 Waiting: 2
 * Returns 0 when all seven figures were read. */
int auth_nginx_status_parse(const char *s, unsigned long long v[7])
{
	const char *p = strstr(s, "Active connections:");

	if (p == NULL || sscanf(p, "Active connections: %llu", &v[0]) != 1)
		return -1;
	p = strstr(p, "requests");
	if (p == NULL || sscanf(p + 8, " %llu %llu %llu", &v[1], &v[2], &v[3]) != 3)
		return -1;
	p = strstr(p, "Reading:");
	if (p == NULL ||
	    sscanf(p, "Reading: %llu Writing: %llu Waiting: %llu", &v[4], &v[5], &v[6]) != 3)
		return -1;
	return 0;
}

/* One "GET /" to nginx's stub_status on a unix socket, HTTP/1.0 (nginx
 * closes the connection after its answer), STATUS_TIMEOUT_MS in all: a
 * plain socket rather than an HTTP client library, whose TLS and protocol
 * libraries every auth process would map (and touch at start-up) for the
 * sake of this one local read. Returns 0 with the body (NUL-terminated) at
 * *body inside buf, or -1 with *why set. */
static int status_fetch(const char *path, char *buf, size_t cap, char **body, const char **why)
{
	static const char req[] = "GET / HTTP/1.0\r\nHost: localhost\r\n\r\n";
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timespec t0, t;
	size_t len = 0, sent = 0, plen = strlen(path);
	int fd, left, rc = -1;
	ssize_t n;
	char *p;

	*why = "bad socket path";
	if (plen == 0 || plen >= sizeof(sa.sun_path))
		return -1;
	memcpy(sa.sun_path, path, plen + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		*why = strerror(errno);
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 && errno != EINPROGRESS &&
	    errno != EAGAIN) {
		*why = strerror(errno);
		goto out;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = sent < sizeof(req) - 1 ? POLLOUT : POLLIN };

		clock_gettime(CLOCK_MONOTONIC, &t);
		left = STATUS_TIMEOUT_MS - (int)((t.tv_sec - t0.tv_sec) * 1000 +
		    (t.tv_nsec - t0.tv_nsec) / 1000000);
		if (left <= 0 || poll(&pfd, 1, left) == 0) {
			*why = "timed out";
			goto out;
		}
		if (sent < sizeof(req) - 1) {
			n = send(fd, req + sent, sizeof(req) - 1 - sent, MSG_NOSIGNAL);
			if (n < 0 && errno != EAGAIN && errno != EINTR) {
				*why = strerror(errno);
				goto out;
			}
			sent += n > 0 ? (size_t)n : 0;
			continue;
		}
		n = recv(fd, buf + len, cap - 1 - len, 0);
		if (n == 0)
			break;
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			*why = strerror(errno);
			goto out;
		}
		len += (size_t)n;
		if (len == cap - 1) {
			*why = "answer too long: not a stub_status page";
			goto out;
		}
	}
	buf[len] = '\0';
	p = strstr(buf, "\r\n\r\n");
	if (len < 12 || strncmp(buf, "HTTP/1.", 7) != 0 || strncmp(buf + 8, " 200", 4) != 0 ||
	    p == NULL) {
		*why = "not 200";
		goto out;
	}
	*body = p + 4;
	rc = 0;
out:
	close(fd);
	return rc;
}

static int nginx_status(const char *socket, unsigned long long v[7])
{
	char buf[STATUS_MAX], *body;
	const char *why;

	if (socket == NULL || socket[0] == '\0')
		return -1;
	if (status_fetch(socket, buf, sizeof(buf), &body, &why) != 0) {
		shop_log_warn("metrics: nginx status on %s: %s", socket, why);
		return -1;
	}
	return auth_nginx_status_parse(body, v);
}

static void render_nginx(FILE *out, const char *socket)
{
	static const char *const state[4] = { "active", "reading", "writing", "waiting" };
	unsigned long long v[7];
	int up = nginx_status(socket, v) == 0;

	fputs("# HELP nginx_up Whether nginx's stub_status answered this scrape.\n"
	    "# TYPE nginx_up gauge\n", out);
	fprintf(out, "nginx_up %d\n", up);
	fputs("# HELP nginx_connections Client connections of nginx by state"
	    " (active: all open ones).\n# TYPE nginx_connections gauge\n", out);
	if (up) {
		fprintf(out, "nginx_connections{state=\"%s\"} %llu\n", state[0], v[0]);
		for (int i = 1; i < 4; i++)
			fprintf(out, "nginx_connections{state=\"%s\"} %llu\n", state[i], v[3 + i]);
	}
	fputs("# HELP nginx_connections_accepted_total Client connections nginx accepted.\n"
	    "# TYPE nginx_connections_accepted_total counter\n", out);
	if (up)
		fprintf(out, "nginx_connections_accepted_total %llu\n", v[1]);
	fputs("# HELP nginx_connections_handled_total Client connections nginx handled.\n"
	    "# TYPE nginx_connections_handled_total counter\n", out);
	if (up)
		fprintf(out, "nginx_connections_handled_total %llu\n", v[2]);
	fputs("# HELP nginx_http_requests_total Client requests nginx read.\n"
	    "# TYPE nginx_http_requests_total counter\n", out);
	if (up)
		fprintf(out, "nginx_http_requests_total %llu\n", v[3]);
}

void auth_metrics(struct shop_req *r, struct auth_ctx *ctx)
{
	char *text = NULL;
	size_t len = 0;
	FILE *out;

	if (strcmp(r->method, "GET") != 0 && strcmp(r->method, "HEAD") != 0) {
		shop_res_header(r, "Allow", "GET, HEAD");
		shop_res_raw(r, 405, "text/plain; charset=utf-8", "method not allowed\n", 19);
		return;
	}
	out = open_memstream(&text, &len);
	if (out == NULL) {
		shop_res_raw(r, 500, "text/plain; charset=utf-8", "out of memory\n", 14);
		return;
	}
	shop_metrics_render(ctx->metrics_dir, out);
	render_nginx(out, ctx->nginx_status_socket);
	if (fclose(out) != 0 || text == NULL) {
		free(text);
		shop_res_raw(r, 500, "text/plain; charset=utf-8", "out of memory\n", 14);
		return;
	}
	shop_res_header(r, "Cache-Control", "no-store");
	shop_res_raw(r, 200, "text/plain; version=0.0.4; charset=utf-8", text, len);
	free(text);
}
