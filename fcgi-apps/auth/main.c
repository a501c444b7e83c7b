/* shop-auth: nginx's auth_request target. Every request comes to the raw
 * handler (no routing): DOCUMENT_URI /healthz is the health check, /metrics
 * the Prometheus figures of the whole shop (metrics.c), anything else is an auth subrequest carrying SHOP_ORIG_METHOD, SHOP_ORIG_URI and
 * HTTP_AUTHORIZATION. Answers 200 with X-Shop-User-Id / X-Shop-User-Roles
 * (both left out for an anonymous request), or 401/403 with
 * X-Shop-Auth-Error: INVALID_TOKEN | TOKEN_EXPIRED | UNAUTHENTICATED |
 * FORBIDDEN | SERVICE_UNAVAILABLE (the user's status could not be read:
 * fail closed; nginx may map it to a 503 envelope). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fcgi-apps/auth/auth_app.h"
#include "lib/app.h"
#include "lib/auth.h"
#include "lib/conf.h"
#include "lib/err.h"
#include "lib/jwt.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/req.h"
#include "lib/util.h"

#define TOKEN_SLOTS 4096
#define USER_SLOTS 4096

static void ctx_free(struct auth_ctx *ctx)
{
	size_t i;

	if (ctx == NULL)
		return;
	shop_jwt_keys_free(ctx->keys);
	auth_tcache_free(ctx->tokens);
	auth_ucache_free(ctx->users);
	for (i = 0; ctx->pools && i < ctx->npools; i++) {
		free(ctx->pools[i].name);
		free(ctx->pools[i].socket);
	}
	free(ctx->pools);
	free(ctx->metrics_dir);
	free(ctx->nginx_status_socket);
	free(ctx);
}

/* A copy of a configuration value, NULL when unset or empty. */
static char *conf_dup(const struct shop_conf *conf, const char *key)
{
	const char *v = shop_conf_get(conf, key, NULL);

	return v && *v ? shop_xstrdup(v) : NULL;
}

static int auth_init(const struct shop_conf *conf, void **app_ctx)
{
	struct auth_ctx *ctx = shop_xcalloc(1, sizeof(*ctx));
	const char *dir = shop_conf_get(conf, "jwt.keys_dir", NULL);
	long long ttl = shop_conf_int(conf, "auth.user_cache_ttl", AUTH_USER_TTL_MAX);
	int rc = SHOP_EINVAL;

	if (dir == NULL || dir[0] == '\0') {
		shop_log_error("auth: jwt.keys_dir is not set");
		goto out;
	}
	/* Public keys only: this process never signs. */
	rc = shop_jwt_keys_load(&ctx->keys, dir, NULL, 0);
	if (rc)
		goto out;
	rc = auth_health_parse(ctx, shop_conf_get(conf, "auth.health_sockets", ""));
	if (rc)
		goto out;
	if (ttl < 0 || ttl > AUTH_USER_TTL_MAX) {
		shop_log_warn("auth: user_cache_ttl %lld out of 0..%d, using %d", ttl,
		    AUTH_USER_TTL_MAX, AUTH_USER_TTL_MAX);
		ttl = AUTH_USER_TTL_MAX;
	}
	ctx->user_ttl_ms = (double)ttl * 1000.0;
	ctx->metrics_dir = conf_dup(conf, "shop.metrics_dir");
	ctx->nginx_status_socket = conf_dup(conf, "auth.nginx_status_socket");
	ctx->tokens = auth_tcache_new(TOKEN_SLOTS);
	ctx->users = auth_ucache_new(USER_SLOTS);
	*app_ctx = ctx;
	ctx = NULL;
out:
	ctx_free(ctx);
	return rc;
}

static void auth_raw(struct shop_req *r)
{
	struct auth_ctx *ctx = r->app_ctx;
	struct auth_verdict v;
	const char *method, *uri;
	char id[24], roles[64];

	if (strcmp(r->path, "/healthz") == 0) {
		auth_health(r, ctx);
		return;
	}
	if (strcmp(r->path, "/metrics") == 0) {
		auth_metrics(r, ctx);
		return;
	}
	method = shop_req_param(r, "SHOP_ORIG_METHOD");
	uri = shop_req_param(r, "SHOP_ORIG_URI");
	if (method == NULL || uri == NULL || method[0] == '\0' || uri[0] == '\0') {
		/* Not a subrequest as nginx sends it: a configuration error. */
		shop_log_error("auth: request without SHOP_ORIG_METHOD/SHOP_ORIG_URI");
		shop_res_raw(r, 500, "text/plain", "", 0);
		return;
	}
	auth_decide(ctx, r->db, r->arena, method, uri, shop_req_param(r, "HTTP_AUTHORIZATION"),
	    &v);
	if (v.status == 200 && v.user_id > 0) {
		snprintf(id, sizeof(id), "%lld", v.user_id);
		shop_roles_format(roles, sizeof(roles), v.roles);
		shop_res_header(r, "X-Shop-User-Id", id);
		shop_res_header(r, "X-Shop-User-Roles", roles);
		/* nginx may keep this yes for the rest of the current second
		 * (nginx/shop-cache.conf, the auth cache): only while the token
		 * stays valid past the next second. Refusals and anonymous
		 * answers are never kept. */
		if (v.exp > shop_now() + 1)
			shop_res_header(r, "X-Accel-Expires", "1");
		shop_log_set_request(r->request_id, id, "AUTH");
	} else if (v.error) {
		shop_res_header(r, "X-Shop-Auth-Error", v.error);
		shop_log_debug("auth: %s %.*s refused: %s", method, (int)strcspn(uri, "?"), uri,
		    v.error);
	}
	shop_res_raw(r, v.status, "text/plain", "", 0);
}

int main(int argc, char **argv)
{
	const struct shop_app app = {
		.name = "auth",
		.sql = auth_sql,
		.nsql = AUTH_SQL_COUNT,
		.uses_db = true,
		.init = auth_init,
		.raw = auth_raw,
	};

	return shop_app_main(&app, argc, argv);
}
