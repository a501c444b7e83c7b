/* The auth app's decision for one nginx subrequest: auth_rule() on the
 * original method and URI (with its normalization of what nginx would
 * rewrite), the Authorization header's "Bearer <token>", token verification
 * with the test keys of tests/fuzz/keys, and the user's status, served from
 * a cache filled here (no database: an unknown user is "database down").
 *
 * Input: "METHOD\nURI\nAUTHORIZATION" (the last line absent: no header).
 * The token check runs on the real clock, as in the app; the seed tokens
 * expire in 2100.
 * Properties:
 *   - a query string or fragment never changes the rule;
 *   - a URI is never less protected than its normalized path (an
 *     independent normalizer here: percent-decoding, slashes merged, dot
 *     segments resolved), a URI that needs normalizing needs a user at
 *     least, and one that cannot be normalized needs an admin;
 *   - a verdict is 200, 401 or 403; 200 on a route that needs a user names
 *     an active user, with roles the user still has, that the route's level
 *     admits; refusals name no user and carry an error code. */
#include <stdlib.h>
#include <string.h>

#include "fcgi-apps/auth/auth_app.h"
#include "fcgi-apps/auth/rules.h"
#include "lib/auth.h"
#include "lib/jwt.h"
#include "lib/mem.h"
#include "lib/util.h"
#include "tests/fuzz/fuzz.h"

#define PATH_MAX_LEN 4096

/* The users the database would know. Tokens in the seeds name 1..7. */
static const struct {
	long long id;
	enum auth_ustate state;
	unsigned roles;
} users[] = {
	{ 1, AUTH_U_ACTIVE, SHOP_ROLE_ADMIN | SHOP_ROLE_CUSTOMER },
	{ 2, AUTH_U_ACTIVE, SHOP_ROLE_SELLER | SHOP_ROLE_CUSTOMER },
	{ 3, AUTH_U_ACTIVE, SHOP_ROLE_CUSTOMER },
	{ 4, AUTH_U_DISABLED, SHOP_ROLE_CUSTOMER },
	{ 5, AUTH_U_ABSENT, 0 },
	{ 6, AUTH_U_ACTIVE, SHOP_ROLE_CUSTOMER }, /* its tokens say ADMIN: taken away */
};

static struct auth_ctx ctx;
static struct shop_arena *arena;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	double now = shop_mono_ms();

	(void)argc;
	(void)argv;
	fuzz_quiet_log();
	if (shop_jwt_keys_load(&ctx.keys, fuzz_keys_dir(), NULL, 0) != 0)
		fuzz_fail(__FILE__, __LINE__, "cannot load the test keys");
	ctx.users = auth_ucache_new(64);
	ctx.user_ttl_ms = 1e15; /* never stale during a run */
	for (size_t i = 0; i < sizeof(users) / sizeof(users[0]); i++) {
		struct auth_user u = {
			.state = users[i].state, .roles = users[i].roles, .fetched_ms = now,
		};

		auth_ucache_put(ctx.users, users[i].id, &u);
	}
	arena = shop_arena_new(1024);
	return 0;
}

/* The path as nginx routes it, written out the simple way: decode, then
 * keep a stack of segments. Returns false when nginx would refuse it. */
static bool canonical(const char *s, size_t n, char *out, size_t outsz)
{
	char *dec = shop_xmalloc(n + 1);
	size_t d = 0, o = 0, i;
	bool ok = false;

	for (i = 0; i < n; i++) {
		if (s[i] != '%') {
			dec[d++] = s[i];
			continue;
		}
		if (i + 2 >= n || shop_hexval(s[i + 1]) < 0 || shop_hexval(s[i + 2]) < 0)
			goto out;
		dec[d] = (char)(shop_hexval(s[i + 1]) << 4 | shop_hexval(s[i + 2]));
		if (dec[d++] == '\0')
			goto out;
		i += 2;
	}
	dec[d] = '\0';
	for (char *seg = strtok(dec, "/"); seg; seg = strtok(NULL, "/")) {
		if (strcmp(seg, ".") == 0)
			continue;
		if (strcmp(seg, "..") == 0) {
			if (o == 0)
				goto out;
			while (out[--o] != '/')
				;
			continue;
		}
		FUZZ_CHECK(o + 1 + strlen(seg) < outsz);
		out[o++] = '/';
		memcpy(out + o, seg, strlen(seg));
		o += strlen(seg);
	}
	if (o == 0)
		out[o++] = '/';
	out[o] = '\0';
	ok = true;
out:
	free(dec);
	return ok;
}

static void check_rule(const char *method, const char *uri, enum auth_level level)
{
	size_t n = strcspn(uri, "?#");
	char *with_query, norm[PATH_MAX_LEN + 2];

	FUZZ_CHECK(level >= AUTH_NONE && level <= AUTH_ADMIN);
	if (uri[n] == '\0') {
		with_query = shop_xmalloc(n + 8);
		memcpy(with_query, uri, n);
		memcpy(with_query + n, "?a=1#b", 7);
		FUZZ_CHECK(auth_rule(method, with_query) == level);
		free(with_query);
	}
	if (n == 0 || n > PATH_MAX_LEN || uri[0] != '/') {
		FUZZ_CHECK(level == AUTH_ADMIN);
		return;
	}
	if (!canonical(uri, n, norm, sizeof(norm))) {
		FUZZ_CHECK(level == AUTH_ADMIN);
		return;
	}
	/* A canonical path holding '%' would be decoded twice by a second
	 * auth_rule() (nginx decodes once), and one holding '?' or '#' would
	 * be cut there: no second opinion for those. */
	if (strpbrk(norm, "%?#"))
		return;
	if (strlen(norm) != n || memcmp(norm, uri, n) != 0) {
		/* Rewritten by nginx (a trailing slash alone is not a rewrite). */
		if (!(strlen(norm) + 1 == n && uri[n - 1] == '/' && memcmp(norm, uri, n - 1) == 0))
			FUZZ_CHECK(level >= AUTH_USER);
	}
	FUZZ_CHECK(level >= auth_rule(method, norm));
}

static unsigned db_roles(long long id, enum auth_ustate *state)
{
	for (size_t i = 0; i < sizeof(users) / sizeof(users[0]); i++) {
		if (users[i].id == id) {
			*state = users[i].state;
			return users[i].roles;
		}
	}
	*state = AUTH_U_ABSENT;
	return 0;
}

static void check_verdict(enum auth_level level, const struct auth_verdict *v)
{
	enum auth_ustate state;
	unsigned roles;

	FUZZ_CHECK(v->status == 200 || v->status == 401 || v->status == 403);
	if (v->status != 200) {
		FUZZ_CHECK(v->error != NULL && v->user_id == 0 && v->roles == 0);
		FUZZ_CHECK(level != AUTH_NONE);
		return;
	}
	FUZZ_CHECK(v->error == NULL);
	if (level == AUTH_NONE)
		FUZZ_CHECK(v->user_id == 0);
	if (level >= AUTH_USER)
		FUZZ_CHECK(v->user_id > 0);
	if (v->user_id == 0) {
		FUZZ_CHECK(v->roles == 0);
		return;
	}
	roles = db_roles(v->user_id, &state);
	FUZZ_CHECK(state == AUTH_U_ACTIVE);
	FUZZ_CHECK(v->roles != 0 && (v->roles & ~roles) == 0);
	if (level == AUTH_SELLER)
		FUZZ_CHECK(v->roles & (SHOP_ROLE_SELLER | SHOP_ROLE_ADMIN));
	if (level == AUTH_ADMIN)
		FUZZ_CHECK(v->roles & SHOP_ROLE_ADMIN);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *method = fuzz_strndup(data, size), *uri, *authz;
	struct auth_verdict v;
	enum auth_level level;

	uri = fuzz_cut_line(method);
	if (!uri)
		goto out;
	authz = fuzz_cut_line(uri);
	level = auth_rule(method, uri);
	check_rule(method, uri, level);

	/* A fresh token cache for every input: each one is judged on its own. */
	ctx.tokens = auth_tcache_new(64);
	auth_decide(&ctx, NULL, arena, method, uri, authz, &v);
	fuzz_trace("rule %s, verdict %d %s user %lld roles %#x", auth_level_name(level), v.status,
	    v.error ? v.error : "-", v.user_id, v.roles);
	check_verdict(level, &v);
	/* Asked again, now from the token cache: the same verdict. */
	{
		struct auth_verdict again;

		auth_decide(&ctx, NULL, arena, method, uri, authz, &again);
		FUZZ_CHECK(again.status == v.status && again.user_id == v.user_id &&
		    again.roles == v.roles);
	}
	auth_tcache_free(ctx.tokens);
	ctx.tokens = NULL;
	shop_arena_reset(arena);
out:
	free(method);
	return 0;
}
