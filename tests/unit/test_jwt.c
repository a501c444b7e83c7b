/* lib/jwt.c: ES256 access tokens, and every token libjwt alone would accept. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <jwt.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "lib/auth.h"
#include "lib/err.h"
#include "lib/jwt.h"
#include "lib/util.h"

#define NOW 1800000000LL

static char dir1[64];     /* k1 only */
static char dir2[64];     /* k1 and k2 (rotation) */
static char dirx[64];     /* k9: a key nobody trusts */
static char dirbad[64];   /* scratch for load failures */

/* Writes <dir>/<kid>.key and .pub for a fresh P-256 key. */
static void gen_key(const char *dir, const char *kid)
{
	char path[256];
	EVP_PKEY *pkey = EVP_EC_gen("P-256");
	FILE *f;

	assert_non_null(pkey);
	snprintf(path, sizeof(path), "%s/%s.key", dir, kid);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(PEM_write_PrivateKey(f, pkey, NULL, NULL, 0, NULL, NULL), 1);
	fclose(f);
	snprintf(path, sizeof(path), "%s/%s.pub", dir, kid);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(PEM_write_PUBKEY(f, pkey), 1);
	fclose(f);
	EVP_PKEY_free(pkey);
}

static void copy_file(const char *from, const char *to)
{
	char buf[8192];
	FILE *in = fopen(from, "r"), *out = fopen(to, "w");
	size_t n;

	assert_non_null(in);
	assert_non_null(out);
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
		assert_int_equal(fwrite(buf, 1, n, out), n);
	fclose(in);
	fclose(out);
}

static char *slurp(const char *dir, const char *name, size_t *len)
{
	char path[256];
	char *buf = calloc(1, 16384);
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "r");
	assert_non_null(f);
	*len = fread(buf, 1, 16383, f);
	fclose(f);
	return buf;
}

static void rm_dir(const char *dir)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "# could not remove %s\n", dir);
}

static int setup(void **state)
{
	char p1[256], p2[256];

	(void)state;
	snprintf(dir1, sizeof(dir1), "/tmp/test_jwt.XXXXXX");
	snprintf(dir2, sizeof(dir2), "/tmp/test_jwt.XXXXXX");
	snprintf(dirx, sizeof(dirx), "/tmp/test_jwt.XXXXXX");
	snprintf(dirbad, sizeof(dirbad), "/tmp/test_jwt.XXXXXX");
	if (!mkdtemp(dir1) || !mkdtemp(dir2) || !mkdtemp(dirx) || !mkdtemp(dirbad))
		return -1;
	gen_key(dir1, "k1");
	gen_key(dirx, "k9");
	/* dir2 holds the same k1 and a newer k2. */
	snprintf(p1, sizeof(p1), "%s/k1.key", dir1);
	snprintf(p2, sizeof(p2), "%s/k1.key", dir2);
	copy_file(p1, p2);
	snprintf(p1, sizeof(p1), "%s/k1.pub", dir1);
	snprintf(p2, sizeof(p2), "%s/k1.pub", dir2);
	copy_file(p1, p2);
	gen_key(dir2, "k2");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	rm_dir(dir1);
	rm_dir(dir2);
	rm_dir(dirx);
	rm_dir(dirbad);
	return 0;
}

static struct shop_jwt_keys *load(const char *dir, const char *active, int need_private)
{
	struct shop_jwt_keys *k = NULL;

	assert_int_equal(shop_jwt_keys_load(&k, dir, active, need_private), 0);
	assert_non_null(k);
	return k;
}

/* A token signed by hand: header alg/kid, any payload, with the PEM given. */
static char *sign_raw(jwt_alg_t alg, const char *pem, size_t pemlen, const char *kid,
    const char *payload_json)
{
	jwt_t *jwt = NULL;
	char *tok, *copy;

	assert_int_equal(jwt_new(&jwt), 0);
	assert_int_equal(jwt_set_alg(jwt, alg, (const unsigned char *)pem, (int)pemlen), 0);
	if (kid)
		assert_int_equal(jwt_add_header(jwt, "kid", kid), 0);
	assert_int_equal(jwt_add_grants_json(jwt, payload_json), 0);
	tok = jwt_encode_str(jwt);
	assert_non_null(tok);
	copy = strdup(tok);
	free(tok);
	jwt_free(jwt);
	return copy;
}

static char *sign_k1(const char *payload_json)
{
	size_t len;
	char *pem = slurp(dir1, "k1.key", &len), *tok;

	tok = sign_raw(JWT_ALG_ES256, pem, len, "k1", payload_json);
	free(pem);
	return tok;
}

static int verify(const struct shop_jwt_keys *k, const char *tok)
{
	struct shop_claims c;

	return shop_jwt_verify(k, tok, NOW, &c);
}

#define GOOD_CLAIMS(extra) \
	"{\"iss\":\"shop\",\"aud\":\"shop-api\",\"sub\":\"42\",\"iat\":1799999990," \
	"\"exp\":1800000900,\"jti\":\"abc\",\"roles\":[\"CUSTOMER\"]" extra "}"

static void test_good_token(void **state)
{
	struct shop_jwt_keys *k = load(dir1, NULL, 1);
	struct shop_claims c;
	char *tok = NULL;

	(void)state;
	assert_int_equal(shop_jwt_sign(k, 42, SHOP_ROLE_CUSTOMER | SHOP_ROLE_ADMIN, NOW, 900, &tok), 0);
	assert_non_null(tok);
	assert_int_equal(shop_jwt_verify(k, tok, NOW, &c), 0);
	assert_int_equal(c.user_id, 42);
	assert_int_equal(c.roles, SHOP_ROLE_CUSTOMER | SHOP_ROLE_ADMIN);
	assert_int_equal(c.iat, NOW);
	assert_int_equal(c.exp, NOW + 900);
	assert_string_equal(c.kid, "k1");
	assert_true(strlen(c.jti) >= 16);
	/* Still good one second before exp, expired at exp. */
	assert_int_equal(shop_jwt_verify(k, tok, NOW + 899, &c), 0);
	assert_int_equal(shop_jwt_verify(k, tok, NOW + 900, &c), SHOP_EEXPIRED);
	free(tok);

	/* Hand-made tokens with optional shapes that are fine. */
	tok = sign_k1(GOOD_CLAIMS(",\"nbf\":1799999999"));
	assert_int_equal(verify(k, tok), 0);
	free(tok);
	tok = sign_k1("{\"iss\":\"shop\",\"aud\":[\"other\",\"shop-api\"],\"sub\":\"7\","
	    "\"iat\":1,\"exp\":1800000001,\"jti\":\"j\",\"roles\":[]}");
	assert_int_equal(verify(k, tok), 0);
	free(tok);
	shop_jwt_keys_free(k);
}

static void test_jti_unique(void **state)
{
	struct shop_jwt_keys *k = load(dir1, NULL, 1);
	struct shop_claims a, b;
	char *t1, *t2;

	(void)state;
	assert_int_equal(shop_jwt_sign(k, 1, SHOP_ROLE_CUSTOMER, NOW, 900, &t1), 0);
	assert_int_equal(shop_jwt_sign(k, 1, SHOP_ROLE_CUSTOMER, NOW, 900, &t2), 0);
	assert_int_equal(shop_jwt_verify(k, t1, NOW, &a), 0);
	assert_int_equal(shop_jwt_verify(k, t2, NOW, &b), 0);
	assert_string_not_equal(a.jti, b.jti);
	free(t1);
	free(t2);
	shop_jwt_keys_free(k);
}

static char *b64(const char *s)
{
	char *out = malloc(4 * strlen(s) / 3 + 8);

	assert_true(shop_b64url_encode(out, 4 * strlen(s) / 3 + 8, s, strlen(s)) >= 0);
	return out;
}

static void test_alg_none(void **state)
{
	struct shop_jwt_keys *k = load(dir1, NULL, 1);
	char *h1 = b64("{\"alg\":\"none\",\"kid\":\"k1\"}");
	char *h2 = b64("{\"alg\":\"none\"}");
	char *p = b64(GOOD_CLAIMS(""));
	char tok[2048];

	(void)state;
	snprintf(tok, sizeof(tok), "%s.%s.", h1, p);
	assert_int_equal(verify(k, tok), SHOP_EAUTH);
	snprintf(tok, sizeof(tok), "%s.%s.AAAA", h1, p);
	assert_int_equal(verify(k, tok), SHOP_EAUTH);
	snprintf(tok, sizeof(tok), "%s.%s.", h2, p);
	assert_int_equal(verify(k, tok), SHOP_EAUTH);
	/* libjwt's own "none" token */
	{
		jwt_t *jwt = NULL;
		char *t;

		assert_int_equal(jwt_new(&jwt), 0);
		assert_int_equal(jwt_add_header(jwt, "kid", "k1"), 0);
		assert_int_equal(jwt_add_grants_json(jwt, GOOD_CLAIMS("")), 0);
		t = jwt_encode_str(jwt);
		assert_non_null(t);
		assert_int_equal(verify(k, t), SHOP_EAUTH);
		free(t);
		jwt_free(jwt);
	}
	free(h1);
	free(h2);
	free(p);
	shop_jwt_keys_free(k);
}

static void test_hs256_with_public_pem(void **state)
{
	struct shop_jwt_keys *k = load(dir1, NULL, 1);
	size_t len;
	char *pub = slurp(dir1, "k1.pub", &len), *tok;
	jwt_t *jwt = NULL;

	(void)state;
	tok = sign_raw(JWT_ALG_HS256, pub, len, "k1", GOOD_CLAIMS(""));
	/* The trap itself: libjwt alone accepts it when handed the PEM. */
	assert_int_equal(jwt_decode(&jwt, tok, (const unsigned char *)pub, (int)len), 0);
	jwt_free(jwt);
	assert_int_equal(verify(k, tok), SHOP_EAUTH);
	free(tok);
	/* Same with a trailing NUL counted in the secret. */
	tok = sign_raw(JWT_ALG_HS256, pub, len + 1, "k1", GOOD_CLAIMS(""));
	assert_int_equal(verify(k, tok), SHOP_EAUTH);
	free(tok);
	free(pub);
	shop_jwt_keys_free(k);
}

static void test_other_algs_and_headers(void **state)
{
	struct shop_jwt_keys *k = load(dir1, NULL, 1);
	char *tok, *h, *dot, buf[4096];

	(void)state;
	tok = sign_k1(GOOD_CLAIMS(""));
	assert_int_equal(verify(k, tok), 0);
	dot = strchr(tok, '.');
	/* The same signed parts with a header naming another alg or case. */
	h = b64("{\"alg\":\"es256\",\"kid\":\"k1\",\"typ\":\"JWT\"}");
	snprintf(buf, sizeof(buf), "%s%s", h, dot);
	assert_int_equal(verify(k, buf), SHOP_EAUTH);
	free(h);
	h = b64("{\"alg\":\"ES256\",\"kid\":\"k1\",\"crit\":[\"exp\"]}");
	snprintf(buf, sizeof(buf), "%s%s", h, dot);
	assert_int_equal(verify(k, buf), SHOP_EAUTH);
	free(h);
	h = b64("[\"ES256\"]");
	snprintf(buf, sizeof(buf), "%s%s", h, dot);
	assert_int_equal(verify(k, buf), SHOP_EAUTH);
	free(h);
	/* No kid at all. */
	{
		size_t len;
		char *pem = slurp(dir1, "k1.key", &len), *t;

		t = sign_raw(JWT_ALG_ES256, pem, len, NULL, GOOD_CLAIMS(""));
		assert_int_equal(verify(k, t), SHOP_EAUTH);
		free(t);
		free(pem);
	}
	free(tok);
	shop_jwt_keys_free(k);
}

static void test_expired(void **state)
{
	struct shop_jwt_keys *k = load(dir1, NULL, 1);
	struct shop_claims c;
	char *tok = NULL;

	(void)state;
	assert_int_equal(shop_jwt_sign(k, 5, SHOP_ROLE_CUSTOMER, NOW - 1000, 900, &tok), 0);
	assert_int_equal(shop_jwt_verify(k, tok, NOW, &c), SHOP_EEXPIRED);
	free(tok);
	/* Expired and a wrong issuer: not "only exp failed". */
	tok = sign_k1("{\"iss\":\"evil\",\"aud\":\"shop-api\",\"sub\":\"42\",\"iat\":1,"
	    "\"exp\":2,\"jti\":\"abc\",\"roles\":[]}");
	assert_int_equal(verify(k, tok), SHOP_EAUTH);
	free(tok);
	/* exp missing or not an integer */
	tok = sign_k1("{\"iss\":\"shop\",\"aud\":\"shop-api\",\"sub\":\"42\",\"iat\":1,"
	    "\"jti\":\"abc\",\"roles\":[]}");
	assert_int_equal(verify(k, tok), SHOP_EAUTH);
	free(tok);
	tok = sign_k1("{\"iss\":\"shop\",\"aud\":\"shop-api\",\"sub\":\"42\",\"iat\":1,"
	    "\"exp\":\"1800000900\",\"jti\":\"abc\",\"roles\":[]}");
	assert_int_equal(verify(k, tok), SHOP_EAUTH);
	free(tok);
	shop_jwt_keys_free(k);
}

static void test_nbf_future(void **state)
{
	struct shop_jwt_keys *k = load(dir1, NULL, 1);
	char *tok;

	(void)state;
	tok = sign_k1(GOOD_CLAIMS(",\"nbf\":1800000001"));
	assert_int_equal(verify(k, tok), SHOP_EAUTH);
	free(tok);
	tok = sign_k1(GOOD_CLAIMS(",\"nbf\":1800000000"));
	assert_int_equal(verify(k, tok), 0);
	free(tok);
	shop_jwt_keys_free(k);
}

static void test_bad_claims(void **state)
{
	static const char *const bad[] = {
		/* wrong iss */
		"{\"iss\":\"shop2\",\"aud\":\"shop-api\",\"sub\":\"42\",\"iat\":1,\"exp\":1800000900,\"jti\":\"a\",\"roles\":[]}",
		/* no iss */
		"{\"aud\":\"shop-api\",\"sub\":\"42\",\"iat\":1,\"exp\":1800000900,\"jti\":\"a\",\"roles\":[]}",
		/* wrong aud, aud array without us, aud a number */
		"{\"iss\":\"shop\",\"aud\":\"shop\",\"sub\":\"42\",\"iat\":1,\"exp\":1800000900,\"jti\":\"a\",\"roles\":[]}",
		"{\"iss\":\"shop\",\"aud\":[\"x\",\"y\"],\"sub\":\"42\",\"iat\":1,\"exp\":1800000900,\"jti\":\"a\",\"roles\":[]}",
		"{\"iss\":\"shop\",\"aud\":1,\"sub\":\"42\",\"iat\":1,\"exp\":1800000900,\"jti\":\"a\",\"roles\":[]}",
		/* sub: number, zero, negative, leading zero, junk */
		"{\"iss\":\"shop\",\"aud\":\"shop-api\",\"sub\":42,\"iat\":1,\"exp\":1800000900,\"jti\":\"a\",\"roles\":[]}",
		"{\"iss\":\"shop\",\"aud\":\"shop-api\",\"sub\":\"0\",\"iat\":1,\"exp\":1800000900,\"jti\":\"a\",\"roles\":[]}",
		"{\"iss\":\"shop\",\"aud\":\"shop-api\",\"sub\":\"-4\",\"iat\":1,\"exp\":1800000900,\"jti\":\"a\",\"roles\":[]}",
		"{\"iss\":\"shop\",\"aud\":\"shop-api\",\"sub\":\"042\",\"iat\":1,\"exp\":1800000900,\"jti\":\"a\",\"roles\":[]}",
		"{\"iss\":\"shop\",\"aud\":\"shop-api\",\"sub\":\"4x\",\"iat\":1,\"exp\":1800000900,\"jti\":\"a\",\"roles\":[]}",
		/* roles: missing, not an array, unknown name, repeated, list in one string */
		"{\"iss\":\"shop\",\"aud\":\"shop-api\",\"sub\":\"42\",\"iat\":1,\"exp\":1800000900,\"jti\":\"a\"}",
		"{\"iss\":\"shop\",\"aud\":\"shop-api\",\"sub\":\"42\",\"iat\":1,\"exp\":1800000900,\"jti\":\"a\",\"roles\":\"ADMIN\"}",
		"{\"iss\":\"shop\",\"aud\":\"shop-api\",\"sub\":\"42\",\"iat\":1,\"exp\":1800000900,\"jti\":\"a\",\"roles\":[\"ROOT\"]}",
		"{\"iss\":\"shop\",\"aud\":\"shop-api\",\"sub\":\"42\",\"iat\":1,\"exp\":1800000900,\"jti\":\"a\",\"roles\":[\"ADMIN\",\"ADMIN\"]}",
		"{\"iss\":\"shop\",\"aud\":\"shop-api\",\"sub\":\"42\",\"iat\":1,\"exp\":1800000900,\"jti\":\"a\",\"roles\":[\"CUSTOMER,ADMIN\"]}",
		"{\"iss\":\"shop\",\"aud\":\"shop-api\",\"sub\":\"42\",\"iat\":1,\"exp\":1800000900,\"jti\":\"a\",\"roles\":[\"admin\"]}",
		/* no iat, no jti, empty jti */
		"{\"iss\":\"shop\",\"aud\":\"shop-api\",\"sub\":\"42\",\"exp\":1800000900,\"jti\":\"a\",\"roles\":[]}",
		"{\"iss\":\"shop\",\"aud\":\"shop-api\",\"sub\":\"42\",\"iat\":1,\"exp\":1800000900,\"roles\":[]}",
		"{\"iss\":\"shop\",\"aud\":\"shop-api\",\"sub\":\"42\",\"iat\":1,\"exp\":1800000900,\"jti\":\"\",\"roles\":[]}",
	};
	struct shop_jwt_keys *k = load(dir1, NULL, 1);
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *tok = sign_k1(bad[i]);

		if (verify(k, tok) != SHOP_EAUTH)
			fail_msg("claims %zu accepted: %s", i, bad[i]);
		free(tok);
	}
	shop_jwt_keys_free(k);
}

static void test_unknown_kid(void **state)
{
	struct shop_jwt_keys *k = load(dir1, NULL, 1);
	struct shop_jwt_keys *x = load(dirx, NULL, 1);
	size_t len;
	char *pem, *tok = NULL;

	(void)state;
	/* Signed by k9, which dir1 does not hold. */
	assert_int_equal(shop_jwt_sign(x, 42, SHOP_ROLE_CUSTOMER, NOW, 900, &tok), 0);
	assert_int_equal(verify(x, tok), 0);
	assert_int_equal(verify(k, tok), SHOP_EAUTH);
	free(tok);
	/* Signed by k9 but claiming to be k1. */
	pem = slurp(dirx, "k9.key", &len);
	tok = sign_raw(JWT_ALG_ES256, pem, len, "k1", GOOD_CLAIMS(""));
	assert_int_equal(verify(k, tok), SHOP_EAUTH);
	free(tok);
	/* A kid that would be a path. */
	tok = sign_raw(JWT_ALG_ES256, pem, len, "../k1", GOOD_CLAIMS(""));
	assert_int_equal(verify(k, tok), SHOP_EAUTH);
	free(tok);
	free(pem);
	shop_jwt_keys_free(k);
	shop_jwt_keys_free(x);
}

/* Replaces the character at pos with another base64url character. */
static void flip(char *tok, size_t pos)
{
	tok[pos] = tok[pos] == 'A' ? 'B' : 'A';
}

static void test_tampered(void **state)
{
	struct shop_jwt_keys *k = load(dir1, NULL, 1);
	char *tok = NULL, *copy;
	char *d1, *d2;
	size_t i, n;

	(void)state;
	assert_int_equal(shop_jwt_sign(k, 42, SHOP_ROLE_CUSTOMER, NOW, 900, &tok), 0);
	d1 = strchr(tok, '.');
	d2 = strchr(d1 + 1, '.');
	n = strlen(tok);
	/* Every single character of the payload and signature, one at a time. */
	for (i = (size_t)(d1 - tok) + 1; i < n; i++) {
		if (tok + i == d2)
			continue;
		copy = strdup(tok);
		flip(copy, i);
		if (verify(k, copy) != SHOP_EAUTH)
			fail_msg("tampered byte %zu accepted", i);
		free(copy);
	}
	/* Truncated or extended signature, missing parts, extra part. */
	copy = strdup(tok);
	copy[n - 2] = '\0';
	assert_int_equal(verify(k, copy), SHOP_EAUTH);
	free(copy);
	copy = malloc(n + 8);
	snprintf(copy, n + 8, "%sAAAA", tok);
	assert_int_equal(verify(k, copy), SHOP_EAUTH);
	snprintf(copy, n + 8, "%s.x", tok);
	assert_int_equal(verify(k, copy), SHOP_EAUTH);
	free(copy);
	d2[1] = '\0';
	assert_int_equal(verify(k, tok), SHOP_EAUTH);
	assert_int_equal(verify(k, ""), SHOP_EAUTH);
	assert_int_equal(verify(k, "a.b"), SHOP_EAUTH);
	assert_int_equal(verify(k, "..."), SHOP_EAUTH);
	assert_int_equal(verify(k, "not a token"), SHOP_EAUTH);
	free(tok);
	shop_jwt_keys_free(k);
}

static void test_rotation(void **state)
{
	struct shop_jwt_keys *k1 = load(dir2, "k1", 1);
	struct shop_jwt_keys *k2 = load(dir2, NULL, 1); /* newest: k2 */
	struct shop_jwt_keys *ver = load(dir2, NULL, 0); /* verification only */
	struct shop_jwt_keys *old = load(dir1, NULL, 0);
	struct shop_claims c;
	char *t1 = NULL, *t2 = NULL;

	(void)state;
	assert_int_equal(shop_jwt_sign(k1, 1, SHOP_ROLE_SELLER, NOW, 900, &t1), 0);
	assert_int_equal(shop_jwt_sign(k2, 2, SHOP_ROLE_ADMIN, NOW, 900, &t2), 0);
	assert_int_equal(shop_jwt_verify(ver, t1, NOW, &c), 0);
	assert_string_equal(c.kid, "k1");
	assert_int_equal(c.roles, SHOP_ROLE_SELLER);
	assert_int_equal(shop_jwt_verify(ver, t2, NOW, &c), 0);
	assert_string_equal(c.kid, "k2");
	assert_int_equal(c.user_id, 2);
	/* A verifier that only knows k1 refuses k2's token. */
	assert_int_equal(shop_jwt_verify(old, t1, NOW, &c), 0);
	assert_int_equal(shop_jwt_verify(old, t2, NOW, &c), SHOP_EAUTH);
	/* Verification-only keys cannot sign. */
	free(t1);
	t1 = NULL;
	assert_int_not_equal(shop_jwt_sign(ver, 1, SHOP_ROLE_SELLER, NOW, 900, &t1), 0);
	assert_null(t1);
	free(t2);
	shop_jwt_keys_free(k1);
	shop_jwt_keys_free(k2);
	shop_jwt_keys_free(ver);
	shop_jwt_keys_free(old);
}

static void test_load_errors(void **state)
{
	struct shop_jwt_keys *k = (struct shop_jwt_keys *)&k;
	char p1[256], p2[256];

	(void)state;
	assert_int_equal(shop_jwt_keys_load(&k, "/nonexistent/keys", NULL, 0), SHOP_EIO);
	assert_null(k);
	/* empty directory */
	assert_int_equal(shop_jwt_keys_load(&k, dirbad, NULL, 0), SHOP_EINVAL);
	/* a private key without its .pub */
	snprintf(p1, sizeof(p1), "%s/k1.key", dir1);
	snprintf(p2, sizeof(p2), "%s/a1.key", dirbad);
	copy_file(p1, p2);
	assert_int_equal(shop_jwt_keys_load(&k, dirbad, NULL, 1), SHOP_EINVAL);
	/* ... and a .pub that is another key's */
	snprintf(p1, sizeof(p1), "%s/k9.pub", dirx);
	snprintf(p2, sizeof(p2), "%s/a1.pub", dirbad);
	copy_file(p1, p2);
	assert_int_equal(shop_jwt_keys_load(&k, dirbad, NULL, 1), SHOP_EINVAL);
	/* the verifier does not read .key files at all */
	k = NULL;
	assert_int_equal(shop_jwt_keys_load(&k, dirbad, NULL, 0), 0);
	shop_jwt_keys_free(k);
	/* active kid that does not exist */
	assert_int_equal(shop_jwt_keys_load(&k, dir1, "nope", 1), SHOP_EINVAL);
	/* a .pub that is not a key */
	snprintf(p2, sizeof(p2), "%s/a1.pub", dirbad);
	{
		FILE *f = fopen(p2, "w");

		assert_non_null(f);
		fputs("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", f);
		fclose(f);
	}
	assert_int_equal(shop_jwt_keys_load(&k, dirbad, NULL, 0), SHOP_EINVAL);
}

static void test_jwks(void **state)
{
	struct shop_jwt_keys *k = load(dir2, NULL, 0);
	json_object *set = shop_jwt_jwks(k), *keys, *j, *v;
	size_t i, len;

	(void)state;
	assert_true(json_object_object_get_ex(set, "keys", &keys));
	assert_true(json_object_is_type(keys, json_type_array));
	assert_int_equal(json_object_array_length(keys), 2);
	for (i = 0; i < 2; i++) {
		static const char *const kids[] = { "k1", "k2" };
		unsigned char x[40], y[40], want_x[32], want_y[32];
		char name[16], *pem;
		BIGNUM *bn = NULL;
		EVP_PKEY *pkey;
		BIO *bio;

		j = json_object_array_get_idx(keys, i);
		assert_int_equal(json_object_object_length(j), 7);
		assert_true(json_object_object_get_ex(j, "kty", &v));
		assert_string_equal(json_object_get_string(v), "EC");
		assert_true(json_object_object_get_ex(j, "crv", &v));
		assert_string_equal(json_object_get_string(v), "P-256");
		assert_true(json_object_object_get_ex(j, "alg", &v));
		assert_string_equal(json_object_get_string(v), "ES256");
		assert_true(json_object_object_get_ex(j, "use", &v));
		assert_string_equal(json_object_get_string(v), "sig");
		assert_true(json_object_object_get_ex(j, "kid", &v));
		assert_string_equal(json_object_get_string(v), kids[i]);
		assert_true(json_object_object_get_ex(j, "x", &v));
		assert_int_equal(json_object_get_string_len(v), 43);
		assert_int_equal(shop_b64url_decode(x, sizeof(x), json_object_get_string(v), 43), 32);
		assert_true(json_object_object_get_ex(j, "y", &v));
		assert_int_equal(shop_b64url_decode(y, sizeof(y), json_object_get_string(v), 43), 32);
		/* The coordinates are the .pub's own. */
		snprintf(name, sizeof(name), "%s.pub", kids[i]);
		pem = slurp(dir2, name, &len);
		bio = BIO_new_mem_buf(pem, (int)len);
		pkey = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
		assert_non_null(pkey);
		assert_true(EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_EC_PUB_X, &bn));
		assert_int_equal(BN_bn2binpad(bn, want_x, 32), 32);
		BN_free(bn);
		bn = NULL;
		assert_true(EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_EC_PUB_Y, &bn));
		assert_int_equal(BN_bn2binpad(bn, want_y, 32), 32);
		BN_free(bn);
		assert_memory_equal(x, want_x, 32);
		assert_memory_equal(y, want_y, 32);
		EVP_PKEY_free(pkey);
		BIO_free(bio);
		free(pem);
	}
	json_object_put(set);
	shop_jwt_keys_free(k);
}

static void test_sign_refuses(void **state)
{
	struct shop_jwt_keys *k = load(dir1, NULL, 1);
	char *tok = NULL;

	(void)state;
	assert_int_equal(shop_jwt_sign(k, 0, SHOP_ROLE_CUSTOMER, NOW, 900, &tok), SHOP_EINVAL);
	assert_int_equal(shop_jwt_sign(k, 1, 0x10, NOW, 900, &tok), SHOP_EINVAL);
	assert_int_equal(shop_jwt_sign(k, 1, SHOP_ROLE_CUSTOMER, NOW, 0, &tok), SHOP_EINVAL);
	assert_null(tok);
	shop_jwt_keys_free(k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_token),
		cmocka_unit_test(test_jti_unique),
		cmocka_unit_test(test_alg_none),
		cmocka_unit_test(test_hs256_with_public_pem),
		cmocka_unit_test(test_other_algs_and_headers),
		cmocka_unit_test(test_expired),
		cmocka_unit_test(test_nbf_future),
		cmocka_unit_test(test_bad_claims),
		cmocka_unit_test(test_unknown_kid),
		cmocka_unit_test(test_tampered),
		cmocka_unit_test(test_rotation),
		cmocka_unit_test(test_load_errors),
		cmocka_unit_test(test_jwks),
		cmocka_unit_test(test_sign_refuses),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, setup, teardown);
}
