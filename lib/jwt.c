/* Access tokens: ES256 JWTs. Signing goes through libjwt 1.10; verification
 * does not: libjwt parses the PEM key on every jwt_decode (~0.5 ms of CPU,
 * most of an auth check that misses the cache, see STACK-NOTES), takes alg
 * from the token and checks no claim. Here every public key is parsed once,
 * at shop_jwt_keys_load, into an EVP_PKEY; a token is taken apart by hand
 * (strict base64url, strict JSON), its signature checked with OpenSSL 3's EVP
 * interface, and only then are its claims read.
 *
 * Threads: the key set is read-only after shop_jwt_keys_load, and so are its
 * EVP_PKEYs. OpenSSL 3 lets several threads use one EVP_PKEY at the same time
 * as long as nothing modifies it and each operation has its own context
 * (openssl-threads(7)); shop_jwt_verify makes its own EVP_MD_CTX (and with it
 * its own EVP_PKEY_CTX) on every call, so one struct shop_jwt_keys may serve
 * every thread of a process. Loading initialises each key for verification
 * once, so that no state cached inside the EVP_PKEY is first filled in
 * concurrently. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <jwt.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "lib/auth.h"
#include "lib/err.h"
#include "lib/json.h"
#include "lib/jwt.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/util.h"

#define KID_MAX 64
#define KEYFILE_MAX (16 * 1024)
#define TOKEN_MAX 8192
#define HEADER_MAX 1024
#define PAYLOAD_MAX 4096
#define MAX_KEYS 64
#define ID_MAX 9007199254740991LL /* 2^53 - 1: ids are JSON-safe integers */
#define SIG_LEN 64                /* ES256: R || S, 32 bytes each, big-endian */
#define SIG_DER_MAX 72            /* SEQUENCE { INTEGER r, INTEGER s }, 33-byte each at most */

/* The order n of P-256's base point, big-endian (SEC 2, FIPS 186-4 D.1.2.3). */
static const unsigned char p256_order[32] = {
	0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
};

struct jwt_key {
	char kid[KID_MAX + 1];
	EVP_PKEY *pub;        /* parsed once; shared read-only by verifying threads */
	char *priv_pem;       /* NULL when not loaded or absent (libjwt signs with it) */
	size_t priv_len;
	char x[48], y[48];    /* base64url of the 32-byte coordinates */
};

struct shop_jwt_keys {
	size_t n;
	struct jwt_key *keys; /* sorted by kid */
	int active;           /* index of the signing key, -1: none */
};

static bool kid_valid(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n > KID_MAX)
		return false;
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '_' || c == '-'))
			return false;
	}
	return true;
}

/* Reads a whole small file into a malloc'd NUL-terminated buffer. */
static int read_file(const char *dir, const char *kid, const char *ext, char **out, size_t *len)
{
	char path[4096];
	char *buf = NULL;
	size_t got = 0;
	ssize_t k;
	int fd = -1, ret = SHOP_EIO;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s%s", dir, kid, ext) >= sizeof(path))
		return SHOP_EINVAL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ret = errno == ENOENT ? SHOP_ENOTFOUND : SHOP_EIO;
		goto out;
	}
	buf = shop_xmalloc(KEYFILE_MAX + 1);
	for (;;) {
		k = read(fd, buf + got, KEYFILE_MAX + 1 - got);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			goto out;
		if (k == 0)
			break;
		got += (size_t)k;
		if (got > KEYFILE_MAX) {
			ret = SHOP_EINVAL;
			goto out;
		}
	}
	buf[got] = '\0';
	*out = buf;
	*len = got;
	buf = NULL;
	ret = 0;
out:
	if (ret != 0 && ret != SHOP_ENOTFOUND)
		shop_log_error("jwt: cannot read key file %s: %s", path, shop_strerror(ret));
	if (fd >= 0)
		close(fd);
	free(buf);
	return ret;
}

/* True when pkey is an EC key on P-256. */
static bool is_p256(EVP_PKEY *pkey)
{
	char group[64];
	size_t glen = 0;

	if (!EVP_PKEY_is_a(pkey, "EC"))
		return false;
	if (!EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group,
	    sizeof(group), &glen))
		return false;
	return strcmp(group, "prime256v1") == 0 || strcmp(group, "P-256") == 0;
}

static int coord_b64(EVP_PKEY *pkey, const char *param, char out[48])
{
	BIGNUM *bn = NULL;
	unsigned char bin[32];
	int ret = SHOP_EINVAL;

	if (!EVP_PKEY_get_bn_param(pkey, param, &bn))
		goto out;
	if (BN_bn2binpad(bn, bin, sizeof(bin)) != (int)sizeof(bin))
		goto out;
	if (shop_b64url_encode(out, 48, bin, sizeof(bin)) < 0)
		goto out;
	ret = 0;
out:
	BN_free(bn);
	return ret;
}

static EVP_PKEY *parse_pem(const char *pem, size_t len, bool private)
{
	BIO *bio = BIO_new_mem_buf(pem, (int)len);
	EVP_PKEY *pkey;

	if (bio == NULL)
		return NULL;
	if (private)
		pkey = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	else
		pkey = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
	BIO_free(bio);
	return pkey;
}

/* True when pkey can be set up for an ES256 verification. Done once per key
 * at load, on the loading thread, before any verifying thread sees it. */
static bool verify_ready(EVP_PKEY *pkey)
{
	EVP_MD_CTX *mctx = EVP_MD_CTX_new();
	bool ok;

	ok = mctx != NULL && EVP_DigestVerifyInit(mctx, NULL, EVP_sha256(), NULL, pkey) == 1;
	EVP_MD_CTX_free(mctx);
	ERR_clear_error();
	return ok;
}

/* Loads "<kid>.pub" (and "<kid>.key" when want_private) into key. */
static int load_key(struct jwt_key *key, const char *dir, bool want_private)
{
	EVP_PKEY *pub = NULL, *priv = NULL;
	char *pub_pem = NULL;
	size_t pub_len = 0;
	int ret;

	ret = read_file(dir, key->kid, ".pub", &pub_pem, &pub_len);
	if (ret == SHOP_ENOTFOUND) {
		shop_log_error("jwt: key %s has a private key but no .pub file", key->kid);
		return SHOP_EINVAL;
	}
	if (ret)
		return ret;
	ret = SHOP_EINVAL;
	pub = parse_pem(pub_pem, pub_len, false);
	if (pub == NULL || !is_p256(pub)) {
		shop_log_error("jwt: %s.pub is not a P-256 public key", key->kid);
		goto out;
	}
	if (!verify_ready(pub)) {
		shop_log_error("jwt: %s.pub cannot verify ES256 signatures", key->kid);
		goto out;
	}
	if (coord_b64(pub, OSSL_PKEY_PARAM_EC_PUB_X, key->x) ||
	    coord_b64(pub, OSSL_PKEY_PARAM_EC_PUB_Y, key->y)) {
		shop_log_error("jwt: %s.pub: cannot read the point", key->kid);
		goto out;
	}
	if (want_private) {
		ret = read_file(dir, key->kid, ".key", &key->priv_pem, &key->priv_len);
		if (ret == SHOP_ENOTFOUND) {
			ret = 0; /* verification-only key (being rotated out) */
			goto out;
		}
		if (ret)
			goto out;
		ret = SHOP_EINVAL;
		priv = parse_pem(key->priv_pem, key->priv_len, true);
		if (priv == NULL || !is_p256(priv) || EVP_PKEY_eq(pub, priv) != 1) {
			shop_log_error("jwt: %s.key is not the P-256 private key of %s.pub",
			    key->kid, key->kid);
			goto out;
		}
	}
	ret = 0;
out:
	if (ret == 0) {
		key->pub = pub;
		pub = NULL;
	}
	EVP_PKEY_free(pub);
	EVP_PKEY_free(priv);
	free(pub_pem);
	return ret;
}

static int kid_cmp(const void *a, const void *b)
{
	return strcmp(((const struct jwt_key *)a)->kid, ((const struct jwt_key *)b)->kid);
}

void shop_jwt_keys_free(struct shop_jwt_keys *k)
{
	size_t i;

	if (k == NULL)
		return;
	for (i = 0; i < k->n; i++) {
		EVP_PKEY_free(k->keys[i].pub);
		if (k->keys[i].priv_pem) {
			OPENSSL_cleanse(k->keys[i].priv_pem, k->keys[i].priv_len);
			free(k->keys[i].priv_pem);
		}
	}
	free(k->keys);
	free(k);
}

static const struct jwt_key *find_kid(const struct shop_jwt_keys *k, const char *kid)
{
	size_t i;

	for (i = 0; i < k->n; i++)
		if (strcmp(k->keys[i].kid, kid) == 0)
			return &k->keys[i];
	return NULL;
}

int shop_jwt_keys_load(struct shop_jwt_keys **out, const char *dir, const char *active_kid,
    int need_private)
{
	struct shop_jwt_keys *k = shop_xcalloc(1, sizeof(*k));
	struct dirent *de;
	DIR *d = NULL;
	size_t i;
	int ret = SHOP_EIO;

	*out = NULL;
	k->active = -1;
	k->keys = shop_xcalloc(MAX_KEYS, sizeof(*k->keys));
	d = opendir(dir);
	if (d == NULL) {
		shop_log_error("jwt: cannot open keys_dir %s", dir);
		goto out;
	}
	/* Every kid that has a .pub or a .key file (a lone .key is refused in load_key). */
	while ((de = readdir(d)) != NULL) {
		size_t len = strlen(de->d_name), klen;

		if (len <= 4)
			continue;
		if (strcmp(de->d_name + len - 4, ".pub") != 0 &&
		    !(need_private && strcmp(de->d_name + len - 4, ".key") == 0))
			continue;
		klen = len - 4;
		if (!kid_valid(de->d_name, klen)) {
			shop_log_warn("jwt: ignoring key file with a bad kid: %s", de->d_name);
			continue;
		}
		for (i = 0; i < k->n; i++)
			if (strlen(k->keys[i].kid) == klen &&
			    memcmp(k->keys[i].kid, de->d_name, klen) == 0)
				break;
		if (i < k->n)
			continue;
		if (k->n == MAX_KEYS) {
			shop_log_error("jwt: more than %d keys in %s", MAX_KEYS, dir);
			ret = SHOP_EINVAL;
			goto out;
		}
		memcpy(k->keys[k->n].kid, de->d_name, klen);
		k->keys[k->n].kid[klen] = '\0';
		k->n++;
	}
	ret = SHOP_EINVAL;
	if (k->n == 0) {
		shop_log_error("jwt: no key in %s", dir);
		goto out;
	}
	qsort(k->keys, k->n, sizeof(*k->keys), kid_cmp);
	for (i = 0; i < k->n; i++) {
		ret = load_key(&k->keys[i], dir, need_private);
		if (ret)
			goto out;
	}
	ret = SHOP_EINVAL;
	if (active_kid != NULL && active_kid[0] != '\0') {
		const struct jwt_key *a = find_kid(k, active_kid);

		if (a != NULL && a->priv_pem != NULL)
			k->active = (int)(a - k->keys);
		else if (need_private) {
			shop_log_error("jwt: active_kid %s has no key pair in %s", active_kid, dir);
			goto out;
		}
	} else {
		for (i = k->n; i-- > 0;)
			if (k->keys[i].priv_pem != NULL) {
				k->active = (int)i;
				break;
			}
	}
	if (need_private && k->active < 0) {
		shop_log_error("jwt: no signing key (<kid>.key) in %s", dir);
		goto out;
	}
	*out = k;
	k = NULL;
	ret = 0;
out:
	if (d)
		closedir(d);
	shop_jwt_keys_free(k);
	return ret;
}

int shop_jwt_sign(const struct shop_jwt_keys *k, long long user_id, unsigned roles,
    long long now, long long ttl, char **out)
{
	const struct jwt_key *key;
	jwt_t *jwt = NULL;
	unsigned char rnd[16];
	char jti[32], sub[24], rolesjson[64];
	char *tok = NULL;
	size_t o;
	unsigned bit;
	int ret = SHOP_EINVAL;

	*out = NULL;
	if (k == NULL || k->active < 0 || user_id < 1 || user_id > ID_MAX || ttl < 1 ||
	    (roles & ~SHOP_ROLE_ALL) != 0)
		return SHOP_EINVAL;
	key = &k->keys[k->active];
	shop_random_bytes(rnd, sizeof(rnd));
	shop_b64url_encode(jti, sizeof(jti), rnd, sizeof(rnd));
	snprintf(sub, sizeof(sub), "%lld", user_id);
	o = (size_t)snprintf(rolesjson, sizeof(rolesjson), "{\"roles\":[");
	for (bit = SHOP_ROLE_CUSTOMER; bit <= SHOP_ROLE_ADMIN; bit <<= 1)
		if (roles & bit)
			o += (size_t)snprintf(rolesjson + o, sizeof(rolesjson) - o, "%s\"%s\"",
			    rolesjson[o - 1] == '[' ? "" : ",", shop_role_name(bit));
	snprintf(rolesjson + o, sizeof(rolesjson) - o, "]}");

	ret = SHOP_ESYS;
	if (jwt_new(&jwt) != 0)
		goto out;
	if (jwt_set_alg(jwt, JWT_ALG_ES256, (const unsigned char *)key->priv_pem,
	    (int)key->priv_len) != 0 ||
	    jwt_add_header(jwt, "kid", key->kid) != 0 ||
	    jwt_add_grant(jwt, "iss", SHOP_JWT_ISS) != 0 ||
	    jwt_add_grant(jwt, "aud", SHOP_JWT_AUD) != 0 ||
	    jwt_add_grant(jwt, "sub", sub) != 0 ||
	    jwt_add_grant_int(jwt, "iat", (long)now) != 0 ||
	    jwt_add_grant_int(jwt, "exp", (long)(now + ttl)) != 0 ||
	    jwt_add_grant(jwt, "jti", jti) != 0 ||
	    jwt_add_grants_json(jwt, rolesjson) != 0)
		goto out;
	tok = jwt_encode_str(jwt);
	if (tok == NULL)
		goto out;
	*out = shop_xstrdup(tok);
	ret = 0;
out:
	if (ret)
		shop_log_error("jwt: signing failed");
	free(tok);
	jwt_free(jwt);
	return ret;
}

/* Parses n bytes as one JSON object with shop_json_parse (strict, UTF-8
 * checked, duplicate members refused: two readers of a token must never
 * disagree on a claim). Returns the object (caller owns) or NULL. */
static json_object *parse_object(const char *buf, int n)
{
	json_object *obj;

	if (n <= 0)
		return NULL;
	obj = shop_json_parse(buf, (size_t)n, NULL);
	if (obj != NULL && !json_object_is_type(obj, json_type_object)) {
		json_object_put(obj);
		obj = NULL;
	}
	return obj;
}

/* A string member, or NULL when absent, not a string, or holding a NUL. */
static const char *get_str(json_object *o, const char *name)
{
	json_object *v;
	const char *s;

	if (!json_object_object_get_ex(o, name, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	s = json_object_get_string(v);
	if (strlen(s) != (size_t)json_object_get_string_len(v))
		return NULL;
	return s;
}

/* 0 when name is absent (*present false) or an integer; SHOP_EAUTH otherwise. */
static int get_int(json_object *o, const char *name, bool *present, long long *out)
{
	json_object *v;

	*present = false;
	if (!json_object_object_get_ex(o, name, &v))
		return 0;
	if (!json_object_is_type(v, json_type_int))
		return SHOP_EAUTH;
	errno = 0;
	*out = json_object_get_int64(v);
	/* json-c clamps values beyond 64 bits to the limits: such an exp
	 * would never expire. */
	if (errno != 0 || *out == INT64_MAX || *out == INT64_MIN)
		return SHOP_EAUTH;
	*present = true;
	return 0;
}

static bool aud_ok(json_object *payload)
{
	json_object *v;
	size_t i, n;

	if (!json_object_object_get_ex(payload, "aud", &v))
		return false;
	if (json_object_is_type(v, json_type_string))
		return strcmp(json_object_get_string(v), SHOP_JWT_AUD) == 0;
	if (!json_object_is_type(v, json_type_array))
		return false;
	n = json_object_array_length(v);
	for (i = 0; i < n; i++) {
		json_object *e = json_object_array_get_idx(v, i);

		if (json_object_is_type(e, json_type_string) &&
		    strcmp(json_object_get_string(e), SHOP_JWT_AUD) == 0)
			return true;
	}
	return false;
}

/* roles: an array of role names, each known and none repeated (the rules of
 * shop_roles_parse, one name per element). An empty array is accepted here:
 * it means no role at all, and the route rules decide what that may reach. */
static int roles_from(json_object *payload, unsigned *roles)
{
	json_object *v;
	size_t i, n;

	*roles = 0;
	if (!json_object_object_get_ex(payload, "roles", &v) ||
	    !json_object_is_type(v, json_type_array))
		return SHOP_EAUTH;
	n = json_object_array_length(v);
	for (i = 0; i < n; i++) {
		json_object *e = json_object_array_get_idx(v, i);
		unsigned bit;

		if (!json_object_is_type(e, json_type_string))
			return SHOP_EAUTH;
		for (bit = SHOP_ROLE_CUSTOMER; bit <= SHOP_ROLE_ADMIN; bit <<= 1)
			if (strcmp(json_object_get_string(e), shop_role_name(bit)) == 0)
				break;
		if (bit > SHOP_ROLE_ADMIN || (*roles & bit) != 0)
			return SHOP_EAUTH;
		*roles |= bit;
	}
	return 0;
}

/* Checks every claim; exp last, so that SHOP_EEXPIRED means only exp failed. */
static int check_claims(json_object *payload, long long now, struct shop_claims *c)
{
	const char *s;
	bool present;
	long long exp = 0;

	s = get_str(payload, "iss");
	if (s == NULL || strcmp(s, SHOP_JWT_ISS) != 0)
		return SHOP_EAUTH;
	if (!aud_ok(payload))
		return SHOP_EAUTH;
	s = get_str(payload, "sub");
	if (s == NULL || shop_parse_int(s, strlen(s), 1, ID_MAX, &c->user_id) != 0)
		return SHOP_EAUTH;
	if (roles_from(payload, &c->roles) != 0)
		return SHOP_EAUTH;
	s = get_str(payload, "jti");
	if (s == NULL || s[0] == '\0' || strlen(s) >= sizeof(c->jti))
		return SHOP_EAUTH;
	memcpy(c->jti, s, strlen(s) + 1);
	if (get_int(payload, "iat", &present, &c->iat) != 0 || !present)
		return SHOP_EAUTH;
	c->nbf = 0;
	if (get_int(payload, "nbf", &present, &c->nbf) != 0 || (present && c->nbf > now))
		return SHOP_EAUTH;
	if (get_int(payload, "exp", &present, &exp) != 0 || !present)
		return SHOP_EAUTH;
	c->exp = exp;
	if (exp <= now)
		return SHOP_EEXPIRED;
	return 0;
}

/* True when the 32-byte big-endian scalar is in [1, n - 1]. OpenSSL's ECDSA
 * verification refuses the others as well; this keeps the rule visible and
 * independent of it. A high S (n/2 < S < n) is valid ES256 (RFC 7518 does
 * not ask for low S) and is accepted. */
static bool scalar_ok(const unsigned char v[32])
{
	static const unsigned char zero[32];

	return memcmp(v, zero, sizeof(zero)) != 0 && memcmp(v, p256_order, 32) < 0;
}

/* Verifies the ES256 signature sig (R || S) over msg with pkey.
 * Returns 0, or SHOP_EAUTH for a bad signature or a failure of OpenSSL
 * (allocation, a provider missing: logged, never the token's fault). */
static int es256_verify(EVP_PKEY *pkey, const unsigned char sig[SIG_LEN], const char *msg,
    size_t msglen)
{
	EVP_MD_CTX *mctx = NULL;
	ECDSA_SIG *esig = NULL;
	BIGNUM *r = NULL, *s = NULL;
	unsigned char der[SIG_DER_MAX], *p = der;
	int derlen, rc, ret = SHOP_EAUTH;

	if (!scalar_ok(sig) || !scalar_ok(sig + 32))
		return SHOP_EAUTH;
	esig = ECDSA_SIG_new();
	r = BN_bin2bn(sig, 32, NULL);
	s = BN_bin2bn(sig + 32, 32, NULL);
	if (esig == NULL || r == NULL || s == NULL || ECDSA_SIG_set0(esig, r, s) != 1) {
		shop_log_error("jwt: OpenSSL cannot hold a signature (out of memory?)");
		BN_free(r);
		BN_free(s);
		goto out;
	}
	/* esig owns r and s now. */
	derlen = i2d_ECDSA_SIG(esig, NULL);
	if (derlen <= 0 || derlen > (int)sizeof(der) || i2d_ECDSA_SIG(esig, &p) != derlen) {
		shop_log_error("jwt: cannot DER-encode a signature");
		goto out;
	}
	/* Our own context on every call: the EVP_PKEY itself is only read. */
	mctx = EVP_MD_CTX_new();
	if (mctx == NULL || EVP_DigestVerifyInit(mctx, NULL, EVP_sha256(), NULL, pkey) != 1) {
		shop_log_error("jwt: cannot set up an ES256 verification");
		goto out;
	}
	/* 1: valid; 0: invalid; < 0: malformed or an internal failure. */
	rc = EVP_DigestVerify(mctx, der, (size_t)derlen, (const unsigned char *)msg, msglen);
	if (rc == 1)
		ret = 0;
out:
	if (ret != 0)
		ERR_clear_error(); /* this thread's queue: nothing else reads it */
	EVP_MD_CTX_free(mctx);
	ECDSA_SIG_free(esig);
	return ret;
}

int shop_jwt_verify(const struct shop_jwt_keys *k, const char *token, long long now,
    struct shop_claims *c)
{
	const struct jwt_key *key;
	const char *dot1, *dot2, *s;
	json_object *header = NULL, *payload = NULL, *v;
	char hbuf[HEADER_MAX], pbuf[PAYLOAD_MAX];
	unsigned char sig[SIG_LEN + 8]; /* room to see a longer one for what it is */
	size_t len;
	int plen, ret = SHOP_EAUTH;

	memset(c, 0, sizeof(*c));
	if (k == NULL || token == NULL)
		return SHOP_EAUTH;
	len = strnlen(token, TOKEN_MAX + 1);
	if (len == 0 || len > TOKEN_MAX)
		return SHOP_EAUTH;
	/* Exactly three segments, none empty. */
	dot1 = memchr(token, '.', len);
	if (dot1 == NULL)
		return SHOP_EAUTH;
	dot2 = memchr(dot1 + 1, '.', len - (size_t)(dot1 + 1 - token));
	if (dot2 == NULL || memchr(dot2 + 1, '.', len - (size_t)(dot2 + 1 - token)) != NULL ||
	    dot1 == token || dot2 == dot1 + 1 || dot2 + 1 == token + len)
		return SHOP_EAUTH;

	/* The header: alg pinned to ES256, kid known, no "crit" extension we
	 * would be obliged to understand, typ (when present) "JWT" in any case,
	 * as libjwt 1.10 required. Other members (jku, jwk, x5u, x5c, ...) are
	 * ignored: the key is only ever the one named by kid in our own set. */
	header = parse_object(hbuf, shop_b64url_decode(hbuf, sizeof(hbuf), token,
	    (size_t)(dot1 - token)));
	if (header == NULL)
		goto out;
	s = get_str(header, "alg");
	if (s == NULL || strcmp(s, "ES256") != 0)
		goto out;
	if (json_object_object_get_ex(header, "crit", &v))
		goto out;
	if (json_object_object_get_ex(header, "typ", &v)) {
		s = get_str(header, "typ");
		if (s == NULL || strcasecmp(s, "JWT") != 0)
			goto out;
	}
	s = get_str(header, "kid");
	if (s == NULL || !kid_valid(s, strlen(s)))
		goto out;
	key = find_kid(k, s);
	if (key == NULL)
		goto out;
	memcpy(c->kid, key->kid, sizeof(c->kid));

	/* The signature: exactly 64 bytes in canonical base64url. */
	if (shop_b64url_decode(sig, sizeof(sig), dot2 + 1, len - (size_t)(dot2 + 1 - token)) !=
	    SIG_LEN)
		goto out;
	/* The payload's base64url now (cheap, and a refusal before the costly
	 * step); its JSON only once the signature over it is known good. */
	plen = shop_b64url_decode(pbuf, sizeof(pbuf), dot1 + 1, (size_t)(dot2 - dot1 - 1));
	if (plen <= 0)
		goto out;
	/* Signed input: the ASCII of "<header b64>.<payload b64>". */
	if (es256_verify(key->pub, sig, token, (size_t)(dot2 - token)) != 0)
		goto out;
	payload = parse_object(pbuf, plen);
	if (payload == NULL)
		goto out;
	ret = check_claims(payload, now, c);
out:
	if (ret != 0 && ret != SHOP_EEXPIRED) {
		/* Keep what we tell callers to nothing but the verdict. */
		memset(c, 0, sizeof(*c));
	}
	json_object_put(header);
	json_object_put(payload);
	return ret;
}

json_object *shop_jwt_jwks(const struct shop_jwt_keys *k)
{
	json_object *set = json_object_new_object(), *arr = json_object_new_array();
	size_t i;

	for (i = 0; k != NULL && i < k->n; i++) {
		json_object *j = json_object_new_object();

		json_object_object_add(j, "kty", json_object_new_string("EC"));
		json_object_object_add(j, "crv", json_object_new_string("P-256"));
		json_object_object_add(j, "alg", json_object_new_string("ES256"));
		json_object_object_add(j, "use", json_object_new_string("sig"));
		json_object_object_add(j, "kid", json_object_new_string(k->keys[i].kid));
		json_object_object_add(j, "x", json_object_new_string(k->keys[i].x));
		json_object_object_add(j, "y", json_object_new_string(k->keys[i].y));
		json_object_array_add(arr, j);
	}
	json_object_object_add(set, "keys", arr);
	return set;
}
