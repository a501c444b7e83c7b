/* shop-identity: users, passwords, tokens, addresses (API.md "Authentication").
 * Keys are loaded once per worker process; a rotated key needs a restart. */
#include <stdlib.h>
#include <string.h>

#include "fcgi-apps/identity/identity.h"
#include "lib/app.h"
#include "lib/conf.h"
#include "lib/err.h"
#include "lib/json.h"
#include "lib/jwt.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/password.h"
#include "lib/util.h"

static long long clamp(long long v, long long lo, long long hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

static int idn_init(const struct shop_conf *conf, void **app_ctx)
{
	struct idn_ctx *ctx = shop_xcalloc(1, sizeof(*ctx));
	const char *dir = shop_conf_get(conf, "jwt.keys_dir", NULL);
	unsigned char rnd[24];
	char pw[40];
	json_object *jwks = NULL;
	const char *text;
	size_t len;
	int rc = SHOP_EINVAL;

	if (dir == NULL || dir[0] == '\0') {
		shop_log_error("identity: jwt.keys_dir is not set");
		goto out;
	}
	rc = shop_jwt_keys_load(&ctx->keys, dir, shop_conf_get(conf, "jwt.active_kid", NULL), 1);
	if (rc)
		goto out;
	ctx->access_ttl = clamp(shop_conf_int(conf, "jwt.access_ttl", 900), 60, 86400);
	ctx->refresh_ttl = clamp(shop_conf_int(conf, "identity.refresh_ttl", 2592000), 300,
	    31536000);
	ctx->pw_ops = (unsigned long long)clamp(shop_conf_int(conf, "identity.pwhash_ops", 2), 1,
	    16);
	ctx->pw_mem = (size_t)clamp(shop_conf_int(conf, "identity.pwhash_mem", 67108864), 8192,
	    1LL << 32);

	/* A hash of a random password with the live limits: verifying it for an
	 * unknown email costs what a real account costs. */
	shop_random_bytes(rnd, sizeof(rnd));
	shop_b64url_encode(pw, sizeof(pw), rnd, sizeof(rnd));
	rc = shop_password_hash(ctx->dummy_hash, pw, strlen(pw), ctx->pw_ops, ctx->pw_mem);
	if (rc)
		goto out;

	jwks = shop_jwt_jwks(ctx->keys);
	text = shop_json_text(jwks, &len);
	ctx->jwks = shop_xmalloc(len + 1);
	memcpy(ctx->jwks, text, len + 1);
	ctx->jwks_len = len;
	json_object_put(jwks);
	shop_log_info("identity: keys loaded, access_ttl %lld s, refresh_ttl %lld s", ctx->access_ttl,
	    ctx->refresh_ttl);
	*app_ctx = ctx;
	ctx = NULL;
	rc = 0;
out:
	if (ctx) {
		shop_jwt_keys_free(ctx->keys);
		free(ctx);
	}
	return rc;
}

int main(int argc, char **argv)
{
	const struct shop_app app = {
		.name = "identity",
		.routes = identity_routes,
		.nroutes = identity_nroutes,
		.sql = identity_sql,
		.nsql = IDN_SQL_COUNT,
		.uses_db = true,
		.init = idn_init,
	};

	return shop_app_main(&app, argc, argv);
}
