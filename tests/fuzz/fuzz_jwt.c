/* Access tokens: shop_jwt_verify() of arbitrary token text, with the test
 * key set of tests/fuzz/keys (fuzz1: a key pair; fuzz2: a public key only).
 *
 * Input, by its first byte:
 *   'S'  then "<header JSON>\n<payload JSON>": the target encodes both and
 *        signs them with fuzz1's private key, so that the claim checks,
 *        which run only behind a good signature, are reached;
 *   'R'  then at least 17 bytes: user id, roles, ttl for shop_jwt_sign(),
 *        whose token must verify to the same claims, and expire on time;
 *   else the whole input is the token as a client sends it.
 * "now" is FUZZ_NOW. Properties: the verdict is 0, SHOP_EEXPIRED or
 * SHOP_EAUTH; on SHOP_EAUTH the claims are all zero; a token that passes
 * names kid fuzz1, has alg exactly ES256 and no "crit" in its header, an id
 * in 1 .. 2^53 - 1, known roles, exp > now >= nbf and a jti; an expired one
 * has exp <= now. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "lib/auth.h"
#include "lib/err.h"
#include "lib/json.h"
#include "lib/jwt.h"
#include "lib/util.h"
#include "tests/fuzz/fuzz.h"

#define TOKEN_MAX 8192

static struct shop_jwt_keys *keys;
static EVP_PKEY *signer;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char path[4096];
	BIO *bio;

	(void)argc;
	(void)argv;
	fuzz_quiet_log();
	if (shop_jwt_keys_load(&keys, fuzz_keys_dir(), "fuzz1", 1) != 0)
		fuzz_fail(__FILE__, __LINE__, "cannot load the test keys");
	snprintf(path, sizeof(path), "%s/fuzz1.key", fuzz_keys_dir());
	bio = BIO_new_file(path, "r");
	signer = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
	BIO_free(bio);
	if (!signer)
		fuzz_fail(__FILE__, __LINE__, "cannot read fuzz1.key");
	return 0;
}

/* Appends the base64url of in[0..n) at *o in tok. False when it does not fit. */
static bool put_b64(char *tok, size_t *o, const void *in, size_t n)
{
	int w;

	if (n > TOKEN_MAX)
		return false;
	w = shop_b64url_encode(tok + *o, TOKEN_MAX + 1 - *o, in, n);
	if (w < 0)
		return false;
	*o += (size_t)w;
	return true;
}

/* Signs tok[0..n) ("<header>.<payload>") with ES256 and appends ".<sig>". */
static bool sign(char *tok, size_t *o)
{
	EVP_MD_CTX *mctx = EVP_MD_CTX_new();
	unsigned char der[80], raw[64];
	const unsigned char *p = der;
	const BIGNUM *r, *s;
	ECDSA_SIG *esig = NULL;
	size_t derlen = sizeof(der);
	bool ok = false;

	FUZZ_CHECK(mctx != NULL);
	if (EVP_DigestSignInit(mctx, NULL, EVP_sha256(), NULL, signer) != 1 ||
	    EVP_DigestSign(mctx, der, &derlen, (const unsigned char *)tok, *o) != 1)
		goto out;
	esig = d2i_ECDSA_SIG(NULL, &p, (long)derlen);
	if (!esig)
		goto out;
	ECDSA_SIG_get0(esig, &r, &s);
	if (BN_bn2binpad(r, raw, 32) != 32 || BN_bn2binpad(s, raw + 32, 32) != 32)
		goto out;
	if (*o + 1 > TOKEN_MAX)
		goto out;
	tok[(*o)++] = '.';
	ok = put_b64(tok, o, raw, sizeof(raw));
out:
	ECDSA_SIG_free(esig);
	EVP_MD_CTX_free(mctx);
	FUZZ_CHECK(ok); /* signing our own key never fails */
	return ok;
}

/* A token whose header and payload are the input's, signed by fuzz1. */
static char *signed_token(const uint8_t *data, size_t size)
{
	const uint8_t *nl = memchr(data, '\n', size);
	char *tok = calloc(1, TOKEN_MAX + 1);
	size_t o = 0;

	FUZZ_CHECK(tok != NULL);
	if (!nl || !put_b64(tok, &o, data, (size_t)(nl - data)) || o + 1 > TOKEN_MAX)
		goto bad;
	tok[o++] = '.';
	if (!put_b64(tok, &o, nl + 1, size - (size_t)(nl + 1 - data)))
		goto bad;
	sign(tok, &o);
	return tok;
bad:
	free(tok);
	return NULL;
}

static bool all_zero(const void *p, size_t n)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

/* The header of a token that passed: alg ES256 exactly, no crit. */
static void header_ok(const char *tok)
{
	char buf[2048];
	int n = shop_b64url_decode(buf, sizeof(buf), tok, strcspn(tok, "."));
	json_object *h, *v;

	FUZZ_CHECK(n > 0);
	h = shop_json_parse(buf, (size_t)n, NULL);
	FUZZ_CHECK(h != NULL);
	FUZZ_CHECK(json_object_object_get_ex(h, "alg", &v) &&
	    strcmp(json_object_get_string(v), "ES256") == 0);
	FUZZ_CHECK(!json_object_object_get_ex(h, "crit", NULL));
	json_object_put(h);
}

static void check(const char *tok, int rc, const struct shop_claims *c)
{
	FUZZ_CHECK(rc == 0 || rc == SHOP_EEXPIRED || rc == SHOP_EAUTH);
	if (rc == SHOP_EAUTH) {
		FUZZ_CHECK(all_zero(c, sizeof(*c)));
		return;
	}
	FUZZ_CHECK(strcmp(c->kid, "fuzz1") == 0);
	FUZZ_CHECK(c->user_id >= 1 && c->user_id <= FUZZ_MAX_ID);
	FUZZ_CHECK((c->roles & ~SHOP_ROLE_ALL) == 0);
	FUZZ_CHECK(c->jti[0] != '\0' && strlen(c->jti) < sizeof(c->jti));
	FUZZ_CHECK(c->nbf <= FUZZ_NOW);
	if (rc == 0)
		FUZZ_CHECK(c->exp > FUZZ_NOW);
	else
		FUZZ_CHECK(c->exp <= FUZZ_NOW);
	header_ok(tok);
}

/* shop_jwt_sign() then shop_jwt_verify(): the same claims come back. */
static void round_trip(const uint8_t *data, size_t size)
{
	struct shop_claims c;
	long long uid, ttl;
	unsigned roles;
	char *tok = NULL;
	int rc;

	if (size < 17)
		return;
	memcpy(&uid, data, 8);
	memcpy(&ttl, data + 8, 8);
	roles = data[16];
	uid = uid < 0 ? -(uid + 1) : uid;
	uid = uid % (FUZZ_MAX_ID + 2);   /* 0 .. 2^53: both ends out of range */
	ttl = ttl % 100000;
	rc = shop_jwt_sign(keys, uid, roles, FUZZ_NOW, ttl, &tok);
	if (uid < 1 || uid > FUZZ_MAX_ID || ttl < 1 || (roles & ~SHOP_ROLE_ALL)) {
		FUZZ_CHECK(rc == SHOP_EINVAL && tok == NULL);
		return;
	}
	FUZZ_CHECK(rc == 0 && tok != NULL);
	rc = shop_jwt_verify(keys, tok, FUZZ_NOW, &c);
	FUZZ_CHECK(rc == 0);
	FUZZ_CHECK(c.user_id == uid && c.roles == roles && c.iat == FUZZ_NOW &&
	    c.exp == FUZZ_NOW + ttl);
	rc = shop_jwt_verify(keys, tok, FUZZ_NOW + ttl, &c);
	FUZZ_CHECK(rc == SHOP_EEXPIRED && c.user_id == uid);
	free(tok);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct shop_claims c;
	char *tok;
	int rc;

	if (size >= 1 && data[0] == 'R') {
		round_trip(data + 1, size - 1);
		return 0;
	}
	if (size >= 1 && data[0] == 'S')
		tok = signed_token(data + 1, size - 1);
	else
		tok = fuzz_strndup(data, size);
	if (!tok)
		return 0;
	rc = shop_jwt_verify(keys, tok, FUZZ_NOW, &c);
	fuzz_trace("verify: %d user %lld roles %#x exp %lld", rc, c.user_id, c.roles, c.exp);
	check(tok, rc, &c);
	free(tok);
	return 0;
}
