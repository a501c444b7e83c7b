/* GET /healthz: asks every pool of [auth] health_sockets for GET /_ping over
 * FastCGI (in parallel, so one hung pool costs one timeout, not one each),
 * and pings the database itself. */
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "fcgi-apps/auth/auth_app.h"
#include "lib/db.h"
#include "lib/err.h"
#include "lib/fcgic.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/req.h"

#define PING_TIMEOUT_MS 1000
#define MAX_POOLS 32

int auth_health_parse(struct auth_ctx *ctx, const char *spec)
{
	const char *p = spec ? spec : "";
	size_t n = 0;

	ctx->pools = shop_xcalloc(MAX_POOLS, sizeof(*ctx->pools));
	for (;;) {
		const char *w, *colon;
		size_t len;

		p += strspn(p, " \t,");
		if (*p == '\0')
			break;
		w = p;
		len = strcspn(p, " \t,");
		p += len;
		colon = memchr(w, ':', len);
		if (colon == NULL || colon == w || colon[1] != '/' || n == MAX_POOLS) {
			shop_log_error("auth: bad health_sockets entry %.*s (want name:/path)",
			    (int)len, w);
			return SHOP_EINVAL;
		}
		ctx->pools[n].name = shop_xmalloc((size_t)(colon - w) + 1);
		memcpy(ctx->pools[n].name, w, (size_t)(colon - w));
		ctx->pools[n].name[colon - w] = '\0';
		ctx->pools[n].socket = shop_xmalloc(len - (size_t)(colon - w));
		memcpy(ctx->pools[n].socket, colon + 1, len - (size_t)(colon - w) - 1);
		ctx->pools[n].socket[len - (size_t)(colon - w) - 1] = '\0';
		n++;
	}
	ctx->npools = n;
	return 0;
}

struct probe {
	const struct auth_pool *pool;
	pthread_t thread;
	bool started;
	bool up;
};

static void *probe_run(void *arg)
{
	struct probe *pr = arg;
	int status = 0;

	pr->up = shop_fcgi_get(pr->pool->socket, "GET", "/_ping", PING_TIMEOUT_MS, &status) == 0 &&
	    status == 200;
	return NULL;
}

void auth_health(struct shop_req *r, struct auth_ctx *ctx)
{
	struct probe pr[MAX_POOLS];
	json_object *o = json_object_new_object(), *down = json_object_new_array();
	const char *text;
	size_t i, len;
	bool db_up, ok;

	for (i = 0; i < ctx->npools; i++) {
		pr[i] = (struct probe){ .pool = &ctx->pools[i] };
		pr[i].started = pthread_create(&pr[i].thread, NULL, probe_run, &pr[i]) == 0;
	}
	db_up = r->db != NULL && shop_db_ping(r->db) == 0;
	for (i = 0; i < ctx->npools; i++) {
		if (pr[i].started)
			pthread_join(pr[i].thread, NULL);
		else
			probe_run(&pr[i]);
		if (!pr[i].up)
			json_object_array_add(down, shop_json_str(pr[i].pool->name));
	}
	if (!db_up)
		json_object_array_add(down, shop_json_str("database"));

	ok = json_object_array_length(down) == 0;
	if (ok) {
		json_object_object_add(o, "status", shop_json_str("ok"));
		json_object_put(down);
	} else {
		json_object_object_add(o, "status", shop_json_str("down"));
		json_object_object_add(o, "down", down);
		shop_log_warn("health: %zu component(s) down", json_object_array_length(down));
	}
	text = shop_json_text(o, &len);
	shop_res_header(r, "Cache-Control", "no-store");
	shop_res_raw(r, ok ? 200 : 503, "application/json", text, len);
	json_object_put(o);
}
