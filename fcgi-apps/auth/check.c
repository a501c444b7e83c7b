/* The decision for one auth subrequest: route rule, bearer token, token
 * verification (cached), user status (cached), role check. */
#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "fcgi-apps/auth/auth_app.h"
#include "fcgi-apps/auth/rules.h"
#include "lib/auth.h"
#include "lib/err.h"
#include "lib/jwt.h"
#include "lib/log.h"
#include "lib/util.h"

#define TOKEN_MAX 8192

/* The token of "Bearer <token>" (scheme case-insensitive, one or more
 * spaces), or NULL when the header is anything else. Only the characters a
 * JWT can hold are accepted. */
static const char *bearer(const char *h)
{
	const char *t;
	size_t n;

	if (strncasecmp(h, "Bearer", 6) != 0 || h[6] != ' ')
		return NULL;
	for (t = h + 6; *t == ' '; t++)
		;
	n = strspn(t, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.");
	if (n == 0 || n > TOKEN_MAX || t[n] != '\0')
		return NULL;
	return t;
}

static void verdict(struct auth_verdict *v, int status, const char *error)
{
	v->status = status;
	v->error = error;
	if (status != 200) {
		v->user_id = 0;
		v->roles = 0;
		v->exp = 0;
	}
}

/* The token's claims, from the cache or verified now. 0, SHOP_EEXPIRED or
 * SHOP_EAUTH. */
static int token_claims(struct auth_ctx *ctx, const char *token, struct auth_tok *t)
{
	unsigned char key[32];
	struct shop_claims c;
	long long now = shop_now();
	int rc;

	shop_sha256(key, token, strlen(token));
	if (auth_tcache_get(ctx->tokens, key, now, t))
		return 0;
	rc = shop_jwt_verify(ctx->keys, token, now, &c);
	if (rc)
		return rc == SHOP_EEXPIRED ? SHOP_EEXPIRED : SHOP_EAUTH;
	t->user_id = c.user_id;
	t->roles = c.roles;
	t->exp = c.exp;
	auth_tcache_put(ctx->tokens, key, t);
	return 0;
}

/* The user's status: cached for user_ttl_ms. When the database cannot be
 * asked, a cached status up to twice that old is still used (so a disabled
 * user's tokens die within 2 x [auth] user_cache_ttl <= 60 s in any case);
 * older or none: SHOP_EDBDOWN, and the caller fails closed. */
static int user_status(struct auth_ctx *ctx, struct shop_db *db, struct shop_arena *a,
    long long id, struct auth_user *u)
{
	double now = shop_mono_ms();
	int rc;

	if (auth_ucache_get(ctx->users, id, now, ctx->user_ttl_ms, u))
		return 0;
	rc = db ? auth_user_fetch(db, a, id, u) : SHOP_EDBDOWN;
	if (rc == 0) {
		u->fetched_ms = now;
		auth_ucache_put(ctx->users, id, u);
		return 0;
	}
	if (auth_ucache_get(ctx->users, id, now, 2 * ctx->user_ttl_ms, u))
		return 0;
	shop_log_warn("auth: user status unavailable (%s): refusing", shop_strerror(rc));
	return SHOP_EDBDOWN;
}

void auth_decide(struct auth_ctx *ctx, struct shop_db *db, struct shop_arena *a,
    const char *method, const char *uri, const char *authz, struct auth_verdict *v)
{
	enum auth_level level = auth_rule(method, uri);
	struct auth_tok t;
	struct auth_user u;
	const char *token;
	int rc;

	memset(v, 0, sizeof(*v));
	if (level == AUTH_NONE) {
		verdict(v, 200, NULL);
		return;
	}
	if (authz == NULL || authz[0] == '\0') {
		if (level == AUTH_PUBLIC) {
			verdict(v, 200, NULL);
			return;
		}
		verdict(v, 401, "UNAUTHENTICATED");
		return;
	}
	token = bearer(authz);
	if (token == NULL) {
		verdict(v, 401, "INVALID_TOKEN");
		return;
	}
	rc = token_claims(ctx, token, &t);
	if (rc == SHOP_EEXPIRED) {
		verdict(v, 401, "TOKEN_EXPIRED");
		return;
	}
	if (rc) {
		verdict(v, 401, "INVALID_TOKEN");
		return;
	}

	/* The status cannot be read: fail closed. A public route is still
	 * served, to an anonymous caller (we vouch for nobody); elsewhere a 401
	 * rather than a 5xx, as nginx turns any other answer of an auth
	 * subrequest into a bare 500, while a 401 with this code lets nginx
	 * answer 503 in the envelope. */
	if (user_status(ctx, db, a, t.user_id, &u) != 0) {
		if (level == AUTH_PUBLIC)
			verdict(v, 200, NULL);
		else
			verdict(v, 401, "SERVICE_UNAVAILABLE");
		return;
	}
	if (u.state != AUTH_U_ACTIVE) {
		verdict(v, 401, "INVALID_TOKEN");
		return;
	}

	v->user_id = t.user_id;
	v->exp = t.exp;
	/* Roles taken away since the token was signed are gone now; roles
	 * granted since need a new token (refresh). A token left with no role
	 * at all speaks for nobody any more (and apps would read a user without
	 * roles as malformed): it is refused, and a refresh gives a current one. */
	v->roles = t.roles & u.roles;
	if (v->roles == 0) {
		verdict(v, 401, "INVALID_TOKEN");
		return;
	}
	switch (level) {
	case AUTH_SELLER:
		if (!(v->roles & (SHOP_ROLE_SELLER | SHOP_ROLE_ADMIN))) {
			verdict(v, 403, "FORBIDDEN");
			return;
		}
		break;
	case AUTH_ADMIN:
		if (!(v->roles & SHOP_ROLE_ADMIN)) {
			verdict(v, 403, "FORBIDDEN");
			return;
		}
		break;
	default:
		break;
	}
	verdict(v, 200, NULL);
}
