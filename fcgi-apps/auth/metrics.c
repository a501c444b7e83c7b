/* GET /metrics (nginx lets only loopback clients through): every live
 * program's shared counters under [shop] metrics_dir (lib/metrics.h), then
 * nginx's own connection figures, read from its stub_status on the unix
 * socket [auth] nginx_status_socket. Prometheus text format 0.0.4. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "fcgi-apps/auth/auth_app.h"
#include "lib/log.h"
#include "lib/metrics.h"
#include "lib/req.h"

#define STATUS_TIMEOUT_MS 500L
#define STATUS_MAX 4096

struct status_buf {
	char data[STATUS_MAX];
	size_t len;
};

static size_t collect(char *p, size_t size, size_t n, void *arg)
{
	struct status_buf *b = arg;
	size_t len = size * n;

	if (len > sizeof(b->data) - 1 - b->len)
		return 0; /* not a stub_status page: stop */
	memcpy(b->data + b->len, p, len);
	b->len += len;
	b->data[b->len] = '\0';
	return len;
}

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

static int nginx_status(const char *socket, unsigned long long v[7])
{
	struct status_buf b = { .len = 0 };
	long code = 0;
	CURLcode rc;
	CURL *c;

	if (socket == NULL || socket[0] == '\0')
		return -1;
	c = curl_easy_init();
	if (c == NULL)
		return -1;
	curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, socket);
	curl_easy_setopt(c, CURLOPT_URL, "http://localhost/");
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, STATUS_TIMEOUT_MS);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	rc = curl_easy_perform(c);
	if (rc == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_cleanup(c);
	if (rc != CURLE_OK || code != 200) {
		shop_log_warn("metrics: nginx status on %s: %s", socket,
		    rc != CURLE_OK ? curl_easy_strerror(rc) : "not 200");
		return -1;
	}
	return auth_nginx_status_parse(b.data, v);
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
