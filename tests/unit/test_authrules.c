/* The auth app's decisions: fcgi-apps/auth/rules.c (the level each request
 * needs, from method and raw URI), cache.c (verified tokens, user status) and
 * check.c (the verdict for one subrequest, without a database). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <stdlib.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "fcgi-apps/auth/auth_app.h"
#include "fcgi-apps/auth/cache.h"
#include "fcgi-apps/auth/rules.h"
#include "lib/auth.h"
#include "lib/jwt.h"
#include "lib/log.h"
#include "lib/util.h"

struct rcase {
	const char *method, *uri;
	enum auth_level want;
};

static void run(const struct rcase *c, size_t n)
{
	size_t i;
	int bad = 0;

	for (i = 0; i < n; i++) {
		enum auth_level got = auth_rule(c[i].method, c[i].uri);

		if (got != c[i].want) {
			print_error("%s %s: got %s, want %s\n", c[i].method, c[i].uri,
			    auth_level_name(got), auth_level_name(c[i].want));
			bad++;
		}
	}
	if (bad)
		fail_msg("%d rule(s) wrong", bad);
}

static void test_admin(void **state)
{
	static const struct rcase c[] = {
		{ "GET", "/api/v1/admin/users", AUTH_ADMIN },
		{ "GET", "/api/v1/admin/users?email=a@b.c", AUTH_ADMIN },
		{ "PUT", "/api/v1/admin/users/3/roles", AUTH_ADMIN },
		{ "POST", "/api/v1/admin/users/3/disable", AUTH_ADMIN },
		{ "GET", "/api/v1/admin/orders?status=PAID", AUTH_ADMIN },
		{ "POST", "/api/v1/admin/shipments/9/ship", AUTH_ADMIN },
		{ "GET", "/api/v1/admin", AUTH_ADMIN },
		{ "GET", "/api/v1/admin/", AUTH_ADMIN },
		{ "POST", "/api/v1/categories", AUTH_ADMIN },
		{ "PUT", "/api/v1/categories/4", AUTH_ADMIN },
		{ "POST", "/api/v1/payments/12/refund", AUTH_ADMIN },
		{ "POST", "/api/v1/payments/12/refund/", AUTH_ADMIN },
		{ "POST", "/api/v1/payments/12/refunds", AUTH_USER },
		/* a look-alike is not the admin area, but still needs a user */
		{ "GET", "/api/v1/administrators", AUTH_USER },
	};

	(void)state;
	run(c, sizeof(c) / sizeof(c[0]));
}

static void test_seller(void **state)
{
	static const struct rcase c[] = {
		{ "POST", "/api/v1/products", AUTH_SELLER },
		{ "PUT", "/api/v1/products/17", AUTH_SELLER },
		{ "DELETE", "/api/v1/products/17", AUTH_SELLER },
		{ "PATCH", "/api/v1/products/17", AUTH_SELLER },
		{ "POST", "/api/v1/inventory/17/adjust", AUTH_SELLER },
		{ "POST", "/api/v1/inventory/17/adjust?x=1", AUTH_SELLER },
	};

	(void)state;
	run(c, sizeof(c) / sizeof(c[0]));
}

static void test_public(void **state)
{
	static const struct rcase c[] = {
		{ "GET", "/api/v1/products", AUTH_PUBLIC },
		{ "GET", "/api/v1/products?q=caf%C3%A9&sort=-price", AUTH_PUBLIC },
		{ "HEAD", "/api/v1/products", AUTH_PUBLIC },
		{ "GET", "/api/v1/products/17", AUTH_PUBLIC },
		{ "GET", "/api/v1/categories", AUTH_PUBLIC },
		{ "GET", "/api/v1/inventory/17", AUTH_PUBLIC },
		/* token ignored */
		{ "POST", "/api/v1/auth/login", AUTH_NONE },
		{ "POST", "/api/v1/auth/register", AUTH_NONE },
		{ "POST", "/api/v1/auth/refresh", AUTH_NONE },
		{ "POST", "/api/v1/auth/logout", AUTH_NONE },
		{ "GET", "/.well-known/jwks.json", AUTH_NONE },
		{ "POST", "/api/v1/payments/webhook", AUTH_NONE },
		{ "GET", "/healthz", AUTH_NONE },
		{ "GET", "/docs/openapi.yaml", AUTH_NONE },
	};

	(void)state;
	run(c, sizeof(c) / sizeof(c[0]));
}

static void test_user(void **state)
{
	static const struct rcase c[] = {
		{ "GET", "/api/v1/users/me", AUTH_USER },
		{ "PUT", "/api/v1/users/me", AUTH_USER },
		{ "DELETE", "/api/v1/users/me/addresses/3", AUTH_USER },
		{ "GET", "/api/v1/cart", AUTH_USER },
		{ "POST", "/api/v1/orders", AUTH_USER },
		{ "POST", "/api/v1/payments", AUTH_USER },
		{ "GET", "/api/v1/payments/4", AUTH_USER },
		{ "POST", "/api/v1/payments/webhook/x", AUTH_USER },
		{ "GET", "/api/v1/payments/webhook", AUTH_USER },
		{ "GET", "/api/v1/notifications", AUTH_USER },
		{ "GET", "/api/v1/productsX", AUTH_USER },
		{ "GET", "/api/v1/shipments/5", AUTH_USER },
		{ "OPTIONS", "/api/v1/products", AUTH_SELLER },
		{ "GET", "/", AUTH_USER },
		{ "GET", "/metrics", AUTH_USER },
		{ "get", "/api/v1/products", AUTH_SELLER },
	};

	(void)state;
	run(c, sizeof(c) / sizeof(c[0]));
}

static void test_unusual_paths(void **state)
{
	static const struct rcase c[] = {
		/* escapes and dot segments: decided on what nginx routes, at least USER */
		{ "GET", "/api/v1/%61dmin/users", AUTH_ADMIN },
		{ "GET", "/api/v1/products/../admin/users", AUTH_ADMIN },
		{ "GET", "/api/v1/products/%2e%2e/admin/users", AUTH_ADMIN },
		{ "GET", "/api/v1/products%2F..%2Fadmin/users", AUTH_ADMIN },
		{ "GET", "//api/v1/admin/users", AUTH_ADMIN },
		{ "GET", "/api//v1/admin/users", AUTH_ADMIN },
		{ "GET", "/api/v1/./admin/users", AUTH_ADMIN },
		{ "POST", "/api/v1/./products", AUTH_SELLER },
		{ "GET", "/api/v1/products/%31%37", AUTH_USER },
		{ "GET", "/api/v1/products/17/..", AUTH_USER },
		{ "POST", "/api/v1/auth/%6cogin", AUTH_USER },
		{ "POST", "/api/v1/payments/%31/refund", AUTH_ADMIN },
		{ "GET", "/api/v1/products/x/../../admin", AUTH_ADMIN },
		/* cannot be normalized: ADMIN */
		{ "GET", "/api/v1/products/%zz", AUTH_ADMIN },
		{ "GET", "/api/v1/products/%2", AUTH_ADMIN },
		{ "GET", "/api/v1/products/%", AUTH_ADMIN },
		{ "GET", "/api/v1/products/%00", AUTH_ADMIN },
		{ "GET", "/../api/v1/products", AUTH_ADMIN },
		{ "GET", "/api/../../v1", AUTH_ADMIN },
		{ "GET", "api/v1/products", AUTH_ADMIN },
		{ "GET", "http://host/api/v1/products", AUTH_ADMIN },
		{ "GET", "", AUTH_ADMIN },
		{ "GET", "?x=/api/v1/products", AUTH_ADMIN },
		/* not dot segments */
		{ "GET", "/.well-known/jwks.json", AUTH_NONE },
		{ "GET", "/api/v1/products/...", AUTH_PUBLIC },
		{ "GET", "/api/v1/products/.hidden", AUTH_PUBLIC },
	};

	(void)state;
	run(c, sizeof(c) / sizeof(c[0]));
	assert_int_equal(auth_rule(NULL, "/api/v1/products"), AUTH_ADMIN);
	assert_int_equal(auth_rule("GET", NULL), AUTH_ADMIN);
}

static void test_long_path(void **state)
{
	static char buf[8192];

	(void)state;
	memset(buf, 'a', sizeof(buf) - 1);
	buf[0] = '/';
	assert_int_equal(auth_rule("GET", buf), AUTH_ADMIN);
	memcpy(buf, "/api/v1/products/", 17);
	buf[4000] = '\0';
	assert_int_equal(auth_rule("GET", buf), AUTH_PUBLIC);
	/* A long escaped path decodes within bounds. */
	{
		size_t i;

		for (i = 17; i + 3 < 4096; i += 3)
			memcpy(buf + i, "%41", 3);
		buf[i] = '\0';
		assert_int_equal(auth_rule("GET", buf), AUTH_USER);
	}
}


/* ---- caches ---- */

static void key_of(unsigned char key[32], unsigned n)
{
	shop_sha256(key, &n, sizeof(n));
}

static void test_tcache(void **state)
{
	struct auth_tcache *c = auth_tcache_new(64);
	struct auth_tok t = { .user_id = 7, .roles = SHOP_ROLE_SELLER, .exp = 1000 }, out;
	unsigned char k[32], k2[32];
	unsigned i, hits = 0;

	(void)state;
	key_of(k, 1);
	key_of(k2, 2);
	assert_false(auth_tcache_get(c, k, 10, &out));
	auth_tcache_put(c, k, &t);
	assert_true(auth_tcache_get(c, k, 999, &out));
	assert_int_equal(out.user_id, 7);
	assert_int_equal(out.roles, SHOP_ROLE_SELLER);
	/* never answered once expired */
	assert_false(auth_tcache_get(c, k, 1000, &out));
	assert_false(auth_tcache_get(c, k2, 10, &out));
	/* the same key is replaced, not duplicated */
	t.exp = 2000;
	auth_tcache_put(c, k, &t);
	assert_true(auth_tcache_get(c, k, 1500, &out));
	/* bounded: far more keys than slots, recent ones still found */
	for (i = 10; i < 10000; i++) {
		key_of(k2, i);
		t.user_id = i;
		t.exp = 5000 + i;
		auth_tcache_put(c, k2, &t);
	}
	for (i = 10; i < 10000; i++) {
		key_of(k2, i);
		if (auth_tcache_get(c, k2, 10, &out)) {
			assert_int_equal(out.user_id, i);
			hits++;
		}
	}
	assert_true(hits <= 64);
	assert_true(hits >= 32);
	auth_tcache_free(c);
}

static void test_ucache(void **state)
{
	struct auth_ucache *c = auth_ucache_new(64);
	struct auth_user u = { .state = AUTH_U_DISABLED, .roles = 0, .fetched_ms = 1000 }, out;
	long long id;

	(void)state;
	assert_false(auth_ucache_get(c, 5, 1000, 30000, &out));
	auth_ucache_put(c, 5, &u);
	assert_true(auth_ucache_get(c, 5, 30999, 30000, &out));
	assert_int_equal(out.state, AUTH_U_DISABLED);
	assert_false(auth_ucache_get(c, 5, 31000, 30000, &out));
	assert_false(auth_ucache_get(c, 6, 1000, 30000, &out));
	assert_false(auth_ucache_get(c, 0, 1000, 30000, &out));
	for (id = 100; id < 5000; id++) {
		u.fetched_ms = (double)id;
		auth_ucache_put(c, id, &u);
	}
	/* the newest entries survive */
	assert_true(auth_ucache_get(c, 4999, 5000, 30000, &out));
	assert_true(out.fetched_ms == 4999.0);
	auth_ucache_free(c);
}

/* ---- the decision, with keys and a cached (or unreachable) database ---- */

static char keydir[64];
static struct shop_jwt_keys *signer;
static struct auth_ctx actx;

static int decide_setup(void **state)
{
	char path[128];
	EVP_PKEY *pkey = EVP_EC_gen("P-256");
	FILE *f;

	(void)state;
	shop_log_init("test", 2, SHOP_LOG_ERROR);
	snprintf(keydir, sizeof(keydir), "/tmp/test_authrules.XXXXXX");
	if (pkey == NULL || mkdtemp(keydir) == NULL)
		return -1;
	snprintf(path, sizeof(path), "%s/k1.key", keydir);
	f = fopen(path, "w");
	if (f == NULL || PEM_write_PrivateKey(f, pkey, NULL, NULL, 0, NULL, NULL) != 1)
		return -1;
	fclose(f);
	snprintf(path, sizeof(path), "%s/k1.pub", keydir);
	f = fopen(path, "w");
	if (f == NULL || PEM_write_PUBKEY(f, pkey) != 1)
		return -1;
	fclose(f);
	EVP_PKEY_free(pkey);
	if (shop_jwt_keys_load(&signer, keydir, NULL, 1) != 0 ||
	    shop_jwt_keys_load(&actx.keys, keydir, NULL, 0) != 0)
		return -1;
	actx.tokens = auth_tcache_new(4096);
	actx.users = auth_ucache_new(4096);
	actx.user_ttl_ms = 30000;
	return 0;
}

static int decide_teardown(void **state)
{
	char cmd[96];

	(void)state;
	shop_jwt_keys_free(signer);
	shop_jwt_keys_free(actx.keys);
	auth_tcache_free(actx.tokens);
	auth_ucache_free(actx.users);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", keydir);
	return system(cmd) == 0 ? 0 : -1;
}

static void cache_user(long long id, enum auth_ustate st, unsigned roles, double age_ms)
{
	struct auth_user u = { .state = st, .roles = roles, .fetched_ms = shop_mono_ms() - age_ms };

	auth_ucache_put(actx.users, id, &u);
}

/* "Bearer <token>" for user id with roles, issued at now - age, ttl 900 s. */
static char *bearer_for(long long id, unsigned roles, long long age)
{
	char *tok = NULL, *h;

	assert_int_equal(shop_jwt_sign(signer, id, roles, shop_now() - age, 900, &tok), 0);
	h = malloc(strlen(tok) + 8);
	snprintf(h, strlen(tok) + 8, "Bearer %s", tok);
	free(tok);
	return h;
}

static struct auth_verdict decide(const char *method, const char *uri, const char *authz)
{
	struct auth_verdict v;

	/* db NULL: the database is unreachable. */
	auth_decide(&actx, NULL, NULL, method, uri, authz, &v);
	return v;
}

static void expect(struct auth_verdict v, int status, const char *error)
{
	assert_int_equal(v.status, status);
	if (error == NULL)
		assert_null(v.error);
	else
		assert_string_equal(v.error, error);
}

static void test_decide_token(void **state)
{
	char *cust = bearer_for(11, SHOP_ROLE_CUSTOMER, 0);
	char *seller = bearer_for(12, SHOP_ROLE_CUSTOMER | SHOP_ROLE_SELLER, 0);
	char *expired = bearer_for(11, SHOP_ROLE_CUSTOMER, 901);
	char buf[2048];
	struct auth_verdict v;

	(void)state;
	cache_user(11, AUTH_U_ACTIVE, SHOP_ROLE_CUSTOMER, 0);
	cache_user(12, AUTH_U_ACTIVE, SHOP_ROLE_CUSTOMER | SHOP_ROLE_SELLER, 0);

	v = decide("GET", "/api/v1/users/me", cust);
	expect(v, 200, NULL);
	assert_int_equal(v.user_id, 11);
	assert_int_equal(v.roles, SHOP_ROLE_CUSTOMER);
	/* twice: the second answer comes from the cache, same verdict */
	v = decide("GET", "/api/v1/users/me", cust);
	expect(v, 200, NULL);
	assert_int_equal(v.user_id, 11);

	expect(decide("GET", "/api/v1/users/me", NULL), 401, "UNAUTHENTICATED");
	expect(decide("GET", "/api/v1/users/me", ""), 401, "UNAUTHENTICATED");
	expect(decide("GET", "/api/v1/users/me", expired), 401, "TOKEN_EXPIRED");
	expect(decide("GET", "/api/v1/products/3", expired), 401, "TOKEN_EXPIRED");
	expect(decide("GET", "/api/v1/admin/users", cust), 403, "FORBIDDEN");
	expect(decide("POST", "/api/v1/products", cust), 403, "FORBIDDEN");
	expect(decide("POST", "/api/v1/products", seller), 200, NULL);
	expect(decide("GET", "/api/v1/admin/users", seller), 403, "FORBIDDEN");

	/* the header's shape */
	expect(decide("GET", "/api/v1/users/me", "Basic dTpw"), 401, "INVALID_TOKEN");
	expect(decide("GET", "/api/v1/users/me", "Bearer"), 401, "INVALID_TOKEN");
	expect(decide("GET", "/api/v1/users/me", "Bearer "), 401, "INVALID_TOKEN");
	expect(decide("GET", "/api/v1/users/me", "Bearerx"), 401, "INVALID_TOKEN");
	expect(decide("GET", "/api/v1/users/me", "Bearer a.b.c"), 401, "INVALID_TOKEN");
	snprintf(buf, sizeof(buf), "bEARER   %s", cust + 7);
	expect(decide("GET", "/api/v1/users/me", buf), 200, NULL);
	snprintf(buf, sizeof(buf), "%s ", cust);
	expect(decide("GET", "/api/v1/users/me", buf), 401, "INVALID_TOKEN");
	snprintf(buf, sizeof(buf), "%s,x", cust);
	expect(decide("GET", "/api/v1/users/me", buf), 401, "INVALID_TOKEN");

	/* public routes: anonymous fine, a bad token is not */
	v = decide("GET", "/api/v1/products", NULL);
	expect(v, 200, NULL);
	assert_int_equal(v.user_id, 0);
	expect(decide("GET", "/api/v1/products", "Bearer x.y.z"), 401, "INVALID_TOKEN");
	v = decide("GET", "/api/v1/products", seller);
	expect(v, 200, NULL);
	assert_int_equal(v.user_id, 12);
	/* token ignored where it does not matter */
	v = decide("POST", "/api/v1/auth/refresh", expired);
	expect(v, 200, NULL);
	assert_int_equal(v.user_id, 0);
	free(cust);
	free(seller);
	free(expired);
}

static void test_decide_user_status(void **state)
{
	char *admin_tok = bearer_for(21, SHOP_ROLE_CUSTOMER | SHOP_ROLE_ADMIN, 0);
	char *disabled = bearer_for(22, SHOP_ROLE_CUSTOMER, 0);
	char *absent = bearer_for(23, SHOP_ROLE_CUSTOMER, 0);
	char *uncached = bearer_for(24, SHOP_ROLE_CUSTOMER, 0);
	char *stale = bearer_for(25, SHOP_ROLE_CUSTOMER, 0);
	char *old = bearer_for(26, SHOP_ROLE_CUSTOMER, 0);
	struct auth_verdict v;

	(void)state;
	/* ADMIN taken away since the token was signed */
	cache_user(21, AUTH_U_ACTIVE, SHOP_ROLE_CUSTOMER, 0);
	v = decide("GET", "/api/v1/users/me", admin_tok);
	expect(v, 200, NULL);
	assert_int_equal(v.roles, SHOP_ROLE_CUSTOMER);
	expect(decide("GET", "/api/v1/admin/users", admin_tok), 403, "FORBIDDEN");
	cache_user(21, AUTH_U_ACTIVE, SHOP_ROLE_CUSTOMER | SHOP_ROLE_ADMIN, 0);
	expect(decide("GET", "/api/v1/admin/users", admin_tok), 200, NULL);
	/* every role of the token taken away: the token is refused */
	cache_user(21, AUTH_U_ACTIVE, SHOP_ROLE_SELLER, 0);
	expect(decide("GET", "/api/v1/users/me", admin_tok), 401, "INVALID_TOKEN");

	cache_user(22, AUTH_U_DISABLED, SHOP_ROLE_CUSTOMER, 0);
	expect(decide("GET", "/api/v1/users/me", disabled), 401, "INVALID_TOKEN");
	expect(decide("GET", "/api/v1/products", disabled), 401, "INVALID_TOKEN");
	cache_user(23, AUTH_U_ABSENT, 0, 0);
	expect(decide("GET", "/api/v1/users/me", absent), 401, "INVALID_TOKEN");

	/* database down: fail closed without a status, public routes go anonymous */
	expect(decide("GET", "/api/v1/users/me", uncached), 401, "SERVICE_UNAVAILABLE");
	v = decide("GET", "/api/v1/products", uncached);
	expect(v, 200, NULL);
	assert_int_equal(v.user_id, 0);
	/* a status older than the TTL is still used while the database is down,
	 * up to twice the TTL */
	cache_user(25, AUTH_U_ACTIVE, SHOP_ROLE_CUSTOMER, 45000);
	expect(decide("GET", "/api/v1/users/me", stale), 200, NULL);
	cache_user(26, AUTH_U_ACTIVE, SHOP_ROLE_CUSTOMER, 61000);
	expect(decide("GET", "/api/v1/users/me", old), 401, "SERVICE_UNAVAILABLE");
	free(admin_tok);
	free(disabled);
	free(absent);
	free(uncached);
	free(stale);
	free(old);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_admin),
		cmocka_unit_test(test_seller),
		cmocka_unit_test(test_public),
		cmocka_unit_test(test_user),
		cmocka_unit_test(test_unusual_paths),
		cmocka_unit_test(test_long_path),
		cmocka_unit_test(test_tcache),
		cmocka_unit_test(test_ucache),
		cmocka_unit_test_setup_teardown(test_decide_token, decide_setup, decide_teardown),
		cmocka_unit_test_setup_teardown(test_decide_user_status, decide_setup,
		    decide_teardown),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
