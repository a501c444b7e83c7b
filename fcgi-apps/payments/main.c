/* shop-payments: payments and the provider's webhook (API.md "Payments").
 *
 *   shop-payments -c var/shop.conf [-s SOCKET] [-p PROCS] [-t THREADS] [-P PIDFILE]
 *
 * Configuration section [payments]: socket, procs, threads, db_user,
 * db_password, db_name (shop_payments), provider (default sim),
 * webhook_secret_file (default <shop.var_dir>/webhook-secret; read once per
 * worker process, one trailing newline stripped: a new secret needs a
 * restart), webhook_tolerance (seconds, default 300). A missing or empty
 * secret file stops the process at start (and the pool respawns it with
 * back-off), so that an unverifiable webhook is never accepted. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fcgi-apps/payments/payments.h"
#include "lib/app.h"
#include "lib/conf.h"
#include "lib/err.h"
#include "lib/log.h"
#include "lib/mem.h"

static bool provider_name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 32)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
			return false;
	}
	return true;
}

static int pay_init(const struct shop_conf *conf, void **app_ctx)
{
	struct pay_ctx *ctx = shop_xcalloc(1, sizeof(*ctx));
	const char *provider = shop_conf_get(conf, "payments.provider", "sim");
	const char *path = shop_conf_get(conf, "payments.webhook_secret_file", NULL);
	const char *var = shop_conf_get(conf, "shop.var_dir", "var");
	char def[4096];
	int rc = SHOP_EINVAL;

	if (!provider_name_ok(provider)) {
		shop_log_error("payments: provider must be 1-32 of [a-z0-9_-]");
		goto out;
	}
	snprintf(ctx->provider, sizeof(ctx->provider), "%s", provider);
	ctx->tolerance = shop_conf_int(conf, "payments.webhook_tolerance", 300);
	if (ctx->tolerance < 1 || ctx->tolerance > 86400) {
		shop_log_error("payments: webhook_tolerance must be 1..86400 seconds");
		goto out;
	}
	if (path == NULL || path[0] == '\0') {
		snprintf(def, sizeof(def), "%s/webhook-secret", var);
		path = def;
	}
	rc = pay_secret_load(path, ctx->secret, sizeof(ctx->secret), &ctx->secretlen);
	if (rc) {
		shop_log_error("payments: cannot use the webhook secret file %s: %s", path,
		    shop_strerror(rc));
		goto out;
	}
	shop_log_info("payments: provider %s, webhook tolerance %lld s", ctx->provider,
	    ctx->tolerance);
	*app_ctx = ctx;
	ctx = NULL;
	rc = 0;
out:
	if (ctx) {
		explicit_bzero(ctx, sizeof(*ctx));
		free(ctx);
	}
	return rc;
}

int main(int argc, char **argv)
{
	const struct shop_app app = {
		.name = "payments",
		.routes = payments_routes,
		.nroutes = payments_nroutes,
		.sql = payments_sql,
		.nsql = SQL_COUNT,
		.uses_db = true,
		.init = pay_init,
	};

	return shop_app_main(&app, argc, argv);
}
