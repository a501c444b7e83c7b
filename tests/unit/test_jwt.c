/* lib/jwt.c: ES256 access tokens, and every token libjwt alone would accept. */
#include <pthread.h>
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
#include <openssl/ec.h>
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

/* ---- Tokens built by hand with OpenSSL: any header, any payload bytes,
 * any signature bytes (libjwt only signs JSON it wrote itself). ---- */

/* The order n of P-256, big-endian. */
static const unsigned char p256_n[32] = {
	0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
};

static char *b64n(const void *p, size_t n)
{
	size_t sz = 4 * (n / 3 + 1) + 1;
	char *out = malloc(sz);

	assert_non_null(out);
	assert_true(shop_b64url_encode(out, sz, p, n) >= 0);
	return out;
}

static EVP_PKEY *read_key(const char *dir, const char *kid)
{
	char name[64], *pem;
	size_t len;
	EVP_PKEY *pkey;
	BIO *bio;

	snprintf(name, sizeof(name), "%s.key", kid);
	pem = slurp(dir, name, &len);
	bio = BIO_new_mem_buf(pem, (int)len);
	assert_non_null(bio);
	pkey = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	assert_non_null(pkey);
	BIO_free(bio);
	free(pem);
	return pkey;
}

/* R || S (32 bytes each, big-endian) of an ES256 signature over msg. */
static void es256_sign(EVP_PKEY *pkey, const char *msg, size_t n, unsigned char sig[64])
{
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	unsigned char der[80];
	const unsigned char *p = der;
	size_t dlen = sizeof(der);
	ECDSA_SIG *es;

	assert_non_null(m);
	assert_int_equal(EVP_DigestSignInit(m, NULL, EVP_sha256(), NULL, pkey), 1);
	assert_int_equal(EVP_DigestSign(m, der, &dlen, (const unsigned char *)msg, n), 1);
	es = d2i_ECDSA_SIG(NULL, &p, (long)dlen);
	assert_non_null(es);
	assert_int_equal(BN_bn2binpad(ECDSA_SIG_get0_r(es), sig, 32), 32);
	assert_int_equal(BN_bn2binpad(ECDSA_SIG_get0_s(es), sig + 32, 32), 32);
	ECDSA_SIG_free(es);
	EVP_MD_CTX_free(m);
}

/* "<h64>.<p64>.<base64url of sig[0..siglen)>" (malloc'd). */
static char *join(const char *h64, const char *p64, const unsigned char *sig, size_t siglen)
{
	char *s64 = b64n(sig, siglen), *tok;
	size_t sz = strlen(h64) + strlen(p64) + strlen(s64) + 3;

	tok = malloc(sz);
	assert_non_null(tok);
	snprintf(tok, sz, "%s.%s.%s", h64, p64, s64);
	free(s64);
	return tok;
}

/* Signs the already encoded "<h64>.<p64>" with pkey; sig receives R || S. */
static char *sign_encoded(EVP_PKEY *pkey, const char *h64, const char *p64, unsigned char sig[64])
{
	char msg[8192];
	int n = snprintf(msg, sizeof(msg), "%s.%s", h64, p64);

	assert_true(n > 0 && (size_t)n < sizeof(msg));
	es256_sign(pkey, msg, (size_t)n, sig);
	return join(h64, p64, sig, 64);
}

/* A token with header text and payload bytes, signed by <dir>/<keykid>.key. */
static char *sign_custom(const char *dir, const char *keykid, const char *header,
    const void *payload, size_t plen, unsigned char sig[64])
{
	EVP_PKEY *pkey = read_key(dir, keykid);
	char *h64 = b64n(header, strlen(header)), *p64 = b64n(payload, plen), *tok;
	unsigned char tmp[64];

	tok = sign_encoded(pkey, h64, p64, sig ? sig : tmp);
	free(h64);
	free(p64);
	EVP_PKEY_free(pkey);
	return tok;
}

#define HDR_K1 "{\"alg\":\"ES256\",\"kid\":\"k1\",\"typ\":\"JWT\"}"

static char *sign_k1_text(const char *payload, unsigned char sig[64])
{
	return sign_custom(dir1, "k1", HDR_K1, payload, strlen(payload), sig);
}

static void test_handmade_control(void **state)
{
	struct shop_jwt_keys *k = load(dir1, NULL, 0);
	struct shop_claims c;
	char *tok = sign_k1_text(GOOD_CLAIMS(""), NULL);

	(void)state;
	/* The hand signer makes tokens the verifier takes: the refusals below
	 * are about what they test, not about the signer. */
	assert_int_equal(shop_jwt_verify(k, tok, NOW, &c), 0);
	assert_int_equal(c.user_id, 42);
	assert_int_equal(c.roles, SHOP_ROLE_CUSTOMER);
	assert_string_equal(c.jti, "abc");
	assert_string_equal(c.kid, "k1");
	free(tok);
	shop_jwt_keys_free(k);
}

static void test_sig_length(void **state)
{
	struct shop_jwt_keys *k = load(dir1, NULL, 0);
	char *h64 = b64("{\"alg\":\"ES256\",\"kid\":\"k1\"}"), *p64 = b64(GOOD_CLAIMS(""));
	EVP_PKEY *pkey = read_key(dir1, "k1");
	unsigned char sig[64], longer[66];
	char *tok;

	(void)state;
	tok = sign_encoded(pkey, h64, p64, sig);
	assert_int_equal(verify(k, tok), 0);
	free(tok);
	/* 63 bytes: the last or the first byte cut off. */
	tok = join(h64, p64, sig, 63);
	assert_int_equal(verify(k, tok), SHOP_EAUTH);
	free(tok);
	tok = join(h64, p64, sig + 1, 63);
	assert_int_equal(verify(k, tok), SHOP_EAUTH);
	free(tok);
	/* 65 bytes: a zero byte after, or before (a DER-style sign byte). */
	memcpy(longer, sig, 64);
	longer[64] = 0;
	tok = join(h64, p64, longer, 65);
	assert_int_equal(verify(k, tok), SHOP_EAUTH);
	free(tok);
	longer[0] = 0;
	memcpy(longer + 1, sig, 64);
	tok = join(h64, p64, longer, 65);
	assert_int_equal(verify(k, tok), SHOP_EAUTH);
	free(tok);
	/* 66 and 32 bytes, and the DER form libjwt 1.10 itself never accepted. */
	longer[65] = 0;
	tok = join(h64, p64, longer, 66);
	assert_int_equal(verify(k, tok), SHOP_EAUTH);
	free(tok);
	tok = join(h64, p64, sig, 32);
	assert_int_equal(verify(k, tok), SHOP_EAUTH);
	free(tok);
	{
		ECDSA_SIG *es = ECDSA_SIG_new();
		unsigned char *der = NULL;
		int dlen;

		assert_int_equal(ECDSA_SIG_set0(es, BN_bin2bn(sig, 32, NULL),
		    BN_bin2bn(sig + 32, 32, NULL)), 1);
		dlen = i2d_ECDSA_SIG(es, &der);
		assert_true(dlen > 0);
		tok = join(h64, p64, der, (size_t)dlen);
		assert_int_equal(verify(k, tok), SHOP_EAUTH);
		free(tok);
		OPENSSL_free(der);
		ECDSA_SIG_free(es);
	}
	EVP_PKEY_free(pkey);
	free(h64);
	free(p64);
	shop_jwt_keys_free(k);
}

/* dst = a - b over 32-byte big-endian numbers (a >= b). */
static void sub256(unsigned char dst[32], const unsigned char a[32], const unsigned char b[32])
{
	int i, borrow = 0;

	for (i = 31; i >= 0; i--) {
		int d = a[i] - b[i] - borrow;

		borrow = d < 0;
		dst[i] = (unsigned char)(d + (borrow ? 256 : 0));
	}
}

/* R and S must each be in [1, n - 1]; a high S (n - S) is valid ES256. */
static void test_sig_scalars(void **state)
{
	struct shop_jwt_keys *k = load(dir1, NULL, 0);
	char *h64 = b64("{\"alg\":\"ES256\",\"kid\":\"k1\"}"), *p64 = b64(GOOD_CLAIMS(""));
	EVP_PKEY *pkey = read_key(dir1, "k1");
	unsigned char sig[64], bad[64];
	char *tok;

	(void)state;
	tok = sign_encoded(pkey, h64, p64, sig);
	assert_int_equal(verify(k, tok), 0);
	free(tok);
	/* R = 0 */
	memcpy(bad, sig, 64);
	memset(bad, 0, 32);
	tok = join(h64, p64, bad, 64);
	assert_int_equal(verify(k, tok), SHOP_EAUTH);
	free(tok);
	/* S = 0 */
	memcpy(bad, sig, 64);
	memset(bad + 32, 0, 32);
	tok = join(h64, p64, bad, 64);
	assert_int_equal(verify(k, tok), SHOP_EAUTH);
	free(tok);
	/* R = S = 0 */
	memset(bad, 0, 64);
	tok = join(h64, p64, bad, 64);
	assert_int_equal(verify(k, tok), SHOP_EAUTH);
	free(tok);
	/* S = n, R = n, S = 2^256 - 1 */
	memcpy(bad, sig, 64);
	memcpy(bad + 32, p256_n, 32);
	tok = join(h64, p64, bad, 64);
	assert_int_equal(verify(k, tok), SHOP_EAUTH);
	free(tok);
	memcpy(bad, sig, 64);
	memcpy(bad, p256_n, 32);
	tok = join(h64, p64, bad, 64);
	assert_int_equal(verify(k, tok), SHOP_EAUTH);
	free(tok);
	memcpy(bad, sig, 64);
	memset(bad + 32, 0xff, 32);
	tok = join(h64, p64, bad, 64);
	assert_int_equal(verify(k, tok), SHOP_EAUTH);
	free(tok);
	/* S = 1: in range, but not the signature. */
	memcpy(bad, sig, 64);
	memset(bad + 32, 0, 31);
	bad[63] = 1;
	tok = join(h64, p64, bad, 64);
	assert_int_equal(verify(k, tok), SHOP_EAUTH);
	free(tok);
	/* (R, n - S) is the same signature's twin: valid, high S or low. */
	memcpy(bad, sig, 32);
	sub256(bad + 32, p256_n, sig + 32);
	tok = join(h64, p64, bad, 64);
	assert_int_equal(verify(k, tok), 0);
	free(tok);
	/* R and S swapped. */
	memcpy(bad, sig + 32, 32);
	memcpy(bad + 32, sig, 32);
	tok = join(h64, p64, bad, 64);
	assert_int_equal(verify(k, tok), SHOP_EAUTH);
	free(tok);
	EVP_PKEY_free(pkey);
	free(h64);
	free(p64);
	shop_jwt_keys_free(k);
}

static void test_other_kids_key(void **state)
{
	struct shop_jwt_keys *k = load(dir2, NULL, 0); /* knows k1 and k2 */
	char *tok;

	(void)state;
	/* Header says k2, signed by k1 (a key the verifier also trusts). */
	tok = sign_custom(dir2, "k1", "{\"alg\":\"ES256\",\"kid\":\"k2\"}", GOOD_CLAIMS(""),
	    strlen(GOOD_CLAIMS("")), NULL);
	assert_int_equal(verify(k, tok), SHOP_EAUTH);
	free(tok);
	tok = sign_custom(dir2, "k2", "{\"alg\":\"ES256\",\"kid\":\"k1\"}", GOOD_CLAIMS(""),
	    strlen(GOOD_CLAIMS("")), NULL);
	assert_int_equal(verify(k, tok), SHOP_EAUTH);
	free(tok);
	/* The controls: each kid with its own key. */
	tok = sign_custom(dir2, "k2", "{\"alg\":\"ES256\",\"kid\":\"k2\"}", GOOD_CLAIMS(""),
	    strlen(GOOD_CLAIMS("")), NULL);
	assert_int_equal(verify(k, tok), 0);
	free(tok);
	tok = sign_custom(dir2, "k1", "{\"alg\":\"ES256\",\"kid\":\"k1\"}", GOOD_CLAIMS(""),
	    strlen(GOOD_CLAIMS("")), NULL);
	assert_int_equal(verify(k, tok), 0);
	free(tok);
	/* A key carried in the header is never used: jwk/jku/x5u/x5c ignored. */
	tok = sign_custom(dirx, "k9", "{\"alg\":\"ES256\",\"kid\":\"k1\",\"jku\":\"https://evil/jwks\","
	    "\"jwk\":{\"kty\":\"EC\",\"crv\":\"P-256\",\"kid\":\"k9\"},\"x5u\":\"https://evil/c\","
	    "\"x5c\":[\"AAAA\"]}", GOOD_CLAIMS(""), strlen(GOOD_CLAIMS("")), NULL);
	assert_int_equal(verify(k, tok), SHOP_EAUTH);
	free(tok);
	tok = sign_custom(dir2, "k1", "{\"alg\":\"ES256\",\"kid\":\"k1\",\"jku\":\"https://evil/jwks\","
	    "\"x5u\":\"https://evil/c\"}", GOOD_CLAIMS(""), strlen(GOOD_CLAIMS("")), NULL);
	assert_int_equal(verify(k, tok), 0);
	free(tok);
	/* typ is "JWT" in any case (libjwt 1.10's rule), or absent. */
	tok = sign_custom(dir2, "k1", "{\"typ\":\"jwt\",\"kid\":\"k1\",\"alg\":\"ES256\"}",
	    GOOD_CLAIMS(""), strlen(GOOD_CLAIMS("")), NULL);
	assert_int_equal(verify(k, tok), 0);
	free(tok);
	/* Header oddities, each correctly signed by k1. */
	{
		static const char *const hdrs[] = {
			"{\"alg\":\"ES256\",\"kid\":\"k1\",\"alg\":\"ES256\"}", /* duplicate member */
			"{\"alg\":\"ES256\",\"kid\":\"k2\",\"kid\":\"k1\"}",
			"{\"alg\":\"ES256\",\"kid\":[\"k1\"]}",
			"{\"alg\":[\"ES256\"],\"kid\":\"k1\"}",
			"{\"alg\":\"ES256 \",\"kid\":\"k1\"}",
			"{\"alg\":\"ES384\",\"kid\":\"k1\"}",
			"{\"alg\":\"ES256\",\"kid\":\"\"}",
			"{\"alg\":\"ES256\",\"kid\":\"k1\",\"crit\":[]}",
			"{\"alg\":\"ES256\",\"kid\":\"k1\",\"typ\":\"at+jwt\"}",
			"{\"alg\":\"ES256\",\"kid\":\"k1\",\"typ\":\"JWS\"}",
			"{\"alg\":\"ES256\",\"kid\":\"k1\",\"typ\":5}",
			"{\"alg\":\"ES256\",\"kid\":\"k1\"}x",
			"{\"alg\":\"ES256\",\"kid\":\"k1\"",
			"{'alg':'ES256','kid':'k1'}",
			"",
		};
		size_t i;

		for (i = 0; i < sizeof(hdrs) / sizeof(hdrs[0]); i++) {
			tok = sign_custom(dir2, "k1", hdrs[i], GOOD_CLAIMS(""),
			    strlen(GOOD_CLAIMS("")), NULL);
			if (verify(k, tok) != SHOP_EAUTH)
				fail_msg("header %zu accepted: %s", i, hdrs[i]);
			free(tok);
		}
	}
	shop_jwt_keys_free(k);
}

static void test_trailing_data(void **state)
{
	static const char *const tails[] = {
		"=", "==", " ", "\n", "\r\n", "\t", ".", "..", ".x", "A", "AA", "AAAA", "%3D", "\x01",
	};
	struct shop_jwt_keys *k = load(dir1, NULL, 0);
	char *tok = sign_k1_text(GOOD_CLAIMS(""), NULL), buf[4096];
	size_t i;

	(void)state;
	assert_int_equal(verify(k, tok), 0);
	for (i = 0; i < sizeof(tails) / sizeof(tails[0]); i++) {
		snprintf(buf, sizeof(buf), "%s%s", tok, tails[i]);
		if (verify(k, buf) != SHOP_EAUTH)
			fail_msg("tail %zu accepted", i);
		snprintf(buf, sizeof(buf), "%s%s", tails[i], tok);
		if (verify(k, buf) != SHOP_EAUTH)
			fail_msg("head %zu accepted", i);
	}
	/* "Bearer " left in, and two tokens glued. */
	snprintf(buf, sizeof(buf), "Bearer %s", tok);
	assert_int_equal(verify(k, buf), SHOP_EAUTH);
	snprintf(buf, sizeof(buf), "%s.%s", tok, tok);
	assert_int_equal(verify(k, buf), SHOP_EAUTH);
	free(tok);
	/* Trailing data inside the signed payload, correctly signed. */
	tok = sign_k1_text(GOOD_CLAIMS("") "x", NULL);
	assert_int_equal(verify(k, tok), SHOP_EAUTH);
	free(tok);
	tok = sign_k1_text(GOOD_CLAIMS("") "{}", NULL);
	assert_int_equal(verify(k, tok), SHOP_EAUTH);
	free(tok);
	tok = sign_k1_text(GOOD_CLAIMS("") ",", NULL);
	assert_int_equal(verify(k, tok), SHOP_EAUTH);
	free(tok);
	shop_jwt_keys_free(k);
}

/* Pads a base64url text with '=' to a multiple of 4 (at least one '='). */
static char *padded(const char *s)
{
	size_t n = strlen(s), pad = (4 - n % 4) % 4, i;
	char *out = malloc(n + 5);

	assert_non_null(out);
	if (pad == 0)
		pad = 4;
	memcpy(out, s, n);
	for (i = 0; i < pad; i++)
		out[n + i] = '=';
	out[n + pad] = '\0';
	return out;
}

static void test_padding(void **state)
{
	struct shop_jwt_keys *k = load(dir1, NULL, 0);
	EVP_PKEY *pkey = read_key(dir1, "k1");
	/* Lengths that are not multiples of 3: a real padded form exists. */
	char *h64 = b64("{\"alg\":\"ES256\",\"kid\":\"k1\"}");
	char *p64 = b64(GOOD_CLAIMS(",\"x\":1")), *hp, *pp, *tok, *s64, buf[4096];
	unsigned char sig[64];

	(void)state;
	assert_true(strlen(h64) % 4 != 0);
	assert_true(strlen(p64) % 4 != 0);
	tok = sign_encoded(pkey, h64, p64, sig);
	assert_int_equal(verify(k, tok), 0);
	free(tok);
	/* Padded header, padded payload, each signed over its padded text. */
	hp = padded(h64);
	pp = padded(p64);
	tok = sign_encoded(pkey, hp, p64, sig);
	assert_int_equal(verify(k, tok), SHOP_EAUTH);
	free(tok);
	tok = sign_encoded(pkey, h64, pp, sig);
	assert_int_equal(verify(k, tok), SHOP_EAUTH);
	free(tok);
	tok = sign_encoded(pkey, hp, pp, sig);
	assert_int_equal(verify(k, tok), SHOP_EAUTH);
	free(tok);
	/* A padded signature (64 bytes: 86 characters, "==" to make 88). */
	tok = sign_encoded(pkey, h64, p64, sig);
	s64 = b64n(sig, 64);
	assert_int_equal(strlen(s64), 86);
	snprintf(buf, sizeof(buf), "%s.%s.%s==", h64, p64, s64);
	assert_int_equal(verify(k, buf), SHOP_EAUTH);
	snprintf(buf, sizeof(buf), "%s.%s.%s=", h64, p64, s64);
	assert_int_equal(verify(k, buf), SHOP_EAUTH);
	/* Standard base64 ('+' and '/') instead of base64url. */
	{
		char std[128];
		size_t i;
		int changed = 0;

		snprintf(std, sizeof(std), "%s", s64);
		for (i = 0; std[i]; i++) {
			if (std[i] == '-' || std[i] == '_') {
				std[i] = std[i] == '-' ? '+' : '/';
				changed = 1;
			}
		}
		if (changed) {
			snprintf(buf, sizeof(buf), "%s.%s.%s", h64, p64, std);
			assert_int_equal(verify(k, buf), SHOP_EAUTH);
		}
	}
	free(s64);
	free(tok);
	free(hp);
	free(pp);
	free(h64);
	free(p64);
	EVP_PKEY_free(pkey);
	shop_jwt_keys_free(k);
}

static void test_payload_not_json(void **state)
{
	static const char *const bad[] = {
		"not json",
		"{",
		"[]",
		"null",
		"\"" "x" "\"",
		"42",
		"{\"iss\":\"shop\",}",
		"{\"iss\":'shop'}",
		/* a claim twice: json-c would keep the last, silently */
		"{\"iss\":\"shop\",\"aud\":\"shop-api\",\"sub\":\"1\",\"sub\":\"42\",\"iat\":1,"
		"\"exp\":1800000900,\"jti\":\"a\",\"roles\":[]}",
		"{\"iss\":\"shop\",\"aud\":\"shop-api\",\"sub\":\"42\",\"iat\":1,\"exp\":1,"
		"\"exp\":1800000900,\"jti\":\"a\",\"roles\":[]}",
		/* a NUL inside a string, escaped or raw */
		"{\"iss\":\"shop\",\"aud\":\"shop-api\",\"sub\":\"42\",\"iat\":1,"
		"\"exp\":1800000900,\"jti\":\"a\\u0000b\",\"roles\":[]}",
		/* invalid UTF-8 */
		"{\"iss\":\"shop\",\"aud\":\"shop-api\",\"sub\":\"42\",\"iat\":1,"
		"\"exp\":1800000900,\"jti\":\"a\xff\",\"roles\":[]}",
		/* NaN, a number json-c's strict mode lets through */
		"{\"iss\":\"shop\",\"aud\":\"shop-api\",\"sub\":\"42\",\"iat\":1,"
		"\"exp\":NaN,\"jti\":\"a\",\"roles\":[]}",
	};
	struct shop_jwt_keys *k = load(dir1, NULL, 0);
	size_t i;
	char *tok;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		tok = sign_k1_text(bad[i], NULL);
		if (verify(k, tok) != SHOP_EAUTH)
			fail_msg("payload %zu accepted: %s", i, bad[i]);
		free(tok);
	}
	/* Raw bytes: binary, and claims with a NUL byte after them. */
	{
		static const char bin[] = "\x00\x01\x02\xff\xfe";
		char withnul[256];
		size_t n = sizeof(GOOD_CLAIMS(""));   /* includes the NUL */

		tok = sign_custom(dir1, "k1", HDR_K1, bin, sizeof(bin) - 1, NULL);
		assert_int_equal(verify(k, tok), SHOP_EAUTH);
		free(tok);
		memcpy(withnul, GOOD_CLAIMS(""), n);
		tok = sign_custom(dir1, "k1", HDR_K1, withnul, n, NULL);
		assert_int_equal(verify(k, tok), SHOP_EAUTH);
		free(tok);
	}
	/* An empty payload segment. */
	tok = sign_custom(dir1, "k1", HDR_K1, "", 0, NULL);
	assert_int_equal(verify(k, tok), SHOP_EAUTH);
	free(tok);
	shop_jwt_keys_free(k);
}

static void test_claim_types(void **state)
{
	static const char *const bad[] = {
		/* exp as a string, far in the future; as a float; as a bool */
		"{\"iss\":\"shop\",\"aud\":\"shop-api\",\"sub\":\"42\",\"iat\":1,\"exp\":\"9999999999\",\"jti\":\"a\",\"roles\":[]}",
		"{\"iss\":\"shop\",\"aud\":\"shop-api\",\"sub\":\"42\",\"iat\":1,\"exp\":9999999999.0,\"jti\":\"a\",\"roles\":[]}",
		"{\"iss\":\"shop\",\"aud\":\"shop-api\",\"sub\":\"42\",\"iat\":1,\"exp\":true,\"jti\":\"a\",\"roles\":[]}",
		"{\"iss\":\"shop\",\"aud\":\"shop-api\",\"sub\":\"42\",\"iat\":1,\"exp\":null,\"jti\":\"a\",\"roles\":[]}",
		/* nbf and iat not integers */
		"{\"iss\":\"shop\",\"aud\":\"shop-api\",\"sub\":\"42\",\"iat\":1,\"nbf\":\"1\",\"exp\":1800000900,\"jti\":\"a\",\"roles\":[]}",
		"{\"iss\":\"shop\",\"aud\":\"shop-api\",\"sub\":\"42\",\"iat\":1,\"nbf\":null,\"exp\":1800000900,\"jti\":\"a\",\"roles\":[]}",
		"{\"iss\":\"shop\",\"aud\":\"shop-api\",\"sub\":\"42\",\"iat\":\"1\",\"exp\":1800000900,\"jti\":\"a\",\"roles\":[]}",
		"{\"iss\":\"shop\",\"aud\":\"shop-api\",\"sub\":\"42\",\"iat\":1.5,\"exp\":1800000900,\"jti\":\"a\",\"roles\":[]}",
		/* sub: leading zero, 2^53, blanks, plus, empty */
		"{\"iss\":\"shop\",\"aud\":\"shop-api\",\"sub\":\"01\",\"iat\":1,\"exp\":1800000900,\"jti\":\"a\",\"roles\":[]}",
		"{\"iss\":\"shop\",\"aud\":\"shop-api\",\"sub\":\"9007199254740992\",\"iat\":1,\"exp\":1800000900,\"jti\":\"a\",\"roles\":[]}",
		"{\"iss\":\"shop\",\"aud\":\"shop-api\",\"sub\":\" 1\",\"iat\":1,\"exp\":1800000900,\"jti\":\"a\",\"roles\":[]}",
		"{\"iss\":\"shop\",\"aud\":\"shop-api\",\"sub\":\"1 \",\"iat\":1,\"exp\":1800000900,\"jti\":\"a\",\"roles\":[]}",
		"{\"iss\":\"shop\",\"aud\":\"shop-api\",\"sub\":\"+1\",\"iat\":1,\"exp\":1800000900,\"jti\":\"a\",\"roles\":[]}",
		"{\"iss\":\"shop\",\"aud\":\"shop-api\",\"sub\":\"\",\"iat\":1,\"exp\":1800000900,\"jti\":\"a\",\"roles\":[]}",
		/* roles: a repeat among others, non-strings, nested */
		"{\"iss\":\"shop\",\"aud\":\"shop-api\",\"sub\":\"42\",\"iat\":1,\"exp\":1800000900,\"jti\":\"a\",\"roles\":[\"CUSTOMER\",\"SELLER\",\"CUSTOMER\"]}",
		"{\"iss\":\"shop\",\"aud\":\"shop-api\",\"sub\":\"42\",\"iat\":1,\"exp\":1800000900,\"jti\":\"a\",\"roles\":[1]}",
		"{\"iss\":\"shop\",\"aud\":\"shop-api\",\"sub\":\"42\",\"iat\":1,\"exp\":1800000900,\"jti\":\"a\",\"roles\":[null]}",
		"{\"iss\":\"shop\",\"aud\":\"shop-api\",\"sub\":\"42\",\"iat\":1,\"exp\":1800000900,\"jti\":\"a\",\"roles\":[[\"ADMIN\"]]}",
		"{\"iss\":\"shop\",\"aud\":\"shop-api\",\"sub\":\"42\",\"iat\":1,\"exp\":1800000900,\"jti\":\"a\",\"roles\":[\"\"]}",
		/* iss/aud of other types; jti of 48 characters, or not a string */
		"{\"iss\":[\"shop\"],\"aud\":\"shop-api\",\"sub\":\"42\",\"iat\":1,\"exp\":1800000900,\"jti\":\"a\",\"roles\":[]}",
		"{\"iss\":\"shop\",\"aud\":[[\"shop-api\"]],\"sub\":\"42\",\"iat\":1,\"exp\":1800000900,\"jti\":\"a\",\"roles\":[]}",
		"{\"iss\":\"shop\",\"aud\":\"shop-api\",\"sub\":\"42\",\"iat\":1,\"exp\":1800000900,"
		"\"jti\":\"012345678901234567890123456789012345678901234567\",\"roles\":[]}",
		"{\"iss\":\"shop\",\"aud\":\"shop-api\",\"sub\":\"42\",\"iat\":1,\"exp\":1800000900,\"jti\":7,\"roles\":[]}",
	};
	struct shop_jwt_keys *k = load(dir1, NULL, 0);
	struct shop_claims c;
	size_t i;
	char *tok;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		tok = sign_k1_text(bad[i], NULL);
		if (verify(k, tok) != SHOP_EAUTH)
			fail_msg("claims %zu accepted: %s", i, bad[i]);
		free(tok);
	}
	/* The edges that pass: sub 2^53 - 1, jti of 47 characters, every role. */
	tok = sign_k1_text("{\"iss\":\"shop\",\"aud\":\"shop-api\",\"sub\":\"9007199254740991\",\"iat\":1,"
	    "\"exp\":1800000900,\"jti\":\"01234567890123456789012345678901234567890123456\","
	    "\"roles\":[\"ADMIN\",\"SELLER\",\"CUSTOMER\"]}", NULL);
	assert_int_equal(shop_jwt_verify(k, tok, NOW, &c), 0);
	assert_int_equal(c.user_id, 9007199254740991LL);
	assert_int_equal(strlen(c.jti), 47);
	assert_int_equal(c.roles, SHOP_ROLE_ALL);
	assert_int_equal(c.iat, 1);
	assert_int_equal(c.nbf, 0);
	assert_int_equal(c.exp, 1800000900);
	free(tok);
	/* A refusal leaves nothing behind in c. */
	tok = sign_k1_text(bad[0], NULL);
	assert_int_equal(shop_jwt_verify(k, tok, NOW, &c), SHOP_EAUTH);
	assert_int_equal(c.user_id, 0);
	assert_int_equal(c.kid[0], '\0');
	free(tok);
	shop_jwt_keys_free(k);
}

static void test_round_trip_1000(void **state)
{
	struct shop_jwt_keys *s = load(dir2, NULL, 1);  /* signs with k2 */
	struct shop_jwt_keys *v = load(dir2, NULL, 0);
	struct shop_claims c;
	char seen[1000][48];
	long long uid;
	unsigned roles;
	int i;

	(void)state;
	for (i = 0; i < 1000; i++) {
		char *tok = NULL;

		uid = i == 999 ? 9007199254740991LL : (long long)i * 7919 + 1;
		roles = (unsigned)i & SHOP_ROLE_ALL;
		assert_int_equal(shop_jwt_sign(s, uid, roles, NOW + i, 900, &tok), 0);
		if (shop_jwt_verify(v, tok, NOW + i, &c) != 0)
			fail_msg("token %d refused: %s", i, tok);
		assert_int_equal(c.user_id, uid);
		assert_int_equal(c.roles, roles);
		assert_int_equal(c.iat, NOW + i);
		assert_int_equal(c.exp, NOW + i + 900);
		assert_string_equal(c.kid, "k2");
		memcpy(seen[i], c.jti, sizeof(seen[i]));
		/* And at exp it is expired, with the claims still filled. */
		assert_int_equal(shop_jwt_verify(v, tok, NOW + i + 900, &c), SHOP_EEXPIRED);
		assert_int_equal(c.user_id, uid);
		free(tok);
	}
	for (i = 1; i < 1000; i++)
		assert_string_not_equal(seen[i], seen[i - 1]);
	shop_jwt_keys_free(s);
	shop_jwt_keys_free(v);
}

/* One key set, many threads: each verification has its own context. */
#define MT_THREADS 4
#define MT_TOKENS 50

struct mt_arg {
	const struct shop_jwt_keys *k;
	char **tokens;
	int bad;
};

static void *mt_verify(void *p)
{
	struct mt_arg *a = p;
	struct shop_claims c;
	int round, i;

	for (round = 0; round < 2; round++)
		for (i = 0; i < MT_TOKENS; i++)
			if (shop_jwt_verify(a->k, a->tokens[i], NOW, &c) != 0 || c.user_id != i + 1)
				a->bad++;
	return NULL;
}

static void test_threads_share_keys(void **state)
{
	struct shop_jwt_keys *s = load(dir1, NULL, 1), *v = load(dir1, NULL, 0);
	char *tokens[MT_TOKENS];
	struct mt_arg args[MT_THREADS];
	pthread_t th[MT_THREADS];
	int i;

	(void)state;
	for (i = 0; i < MT_TOKENS; i++)
		assert_int_equal(shop_jwt_sign(s, i + 1, SHOP_ROLE_CUSTOMER, NOW, 900, &tokens[i]), 0);
	for (i = 0; i < MT_THREADS; i++) {
		args[i].k = v;
		args[i].tokens = tokens;
		args[i].bad = 0;
		assert_int_equal(pthread_create(&th[i], NULL, mt_verify, &args[i]), 0);
	}
	for (i = 0; i < MT_THREADS; i++) {
		assert_int_equal(pthread_join(th[i], NULL), 0);
		assert_int_equal(args[i].bad, 0);
	}
	for (i = 0; i < MT_TOKENS; i++)
		free(tokens[i]);
	shop_jwt_keys_free(s);
	shop_jwt_keys_free(v);
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
		cmocka_unit_test(test_handmade_control),
		cmocka_unit_test(test_sig_length),
		cmocka_unit_test(test_sig_scalars),
		cmocka_unit_test(test_other_kids_key),
		cmocka_unit_test(test_trailing_data),
		cmocka_unit_test(test_padding),
		cmocka_unit_test(test_payload_not_json),
		cmocka_unit_test(test_claim_types),
		cmocka_unit_test(test_round_trip_1000),
		cmocka_unit_test(test_threads_share_keys),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, setup, teardown);
}
