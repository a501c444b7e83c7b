/* Access tokens: ES256 JWTs, and everything about them, behind one module.
 * libjwt 1.10 takes the algorithm from the token and checks no claim; so this
 * module pins ES256 in the header before anything else, requires a known kid,
 * always passes the key, and checks exp, nbf, iss and aud itself.
 *
 * Keys live in a directory: "<kid>.key" (PKCS#8 PEM private key, P-256) and
 * "<kid>.pub" (PEM public key). kid is [A-Za-z0-9_-]{1,64}. Every .pub key
 * verifies; the signing key is the private key named by "jwt.active_kid", or
 * else the newest .key file by kid order (kids sort by creation time). */
#ifndef SHOP_JWT_H
#define SHOP_JWT_H

#include <json-c/json.h>
#include <stddef.h>

#define SHOP_JWT_ISS "shop"
#define SHOP_JWT_AUD "shop-api"

struct shop_jwt_keys;

/* Loads the keys under dir. need_private: a signing key must exist.
 * active_kid may be NULL. Returns 0, SHOP_EIO (unreadable), or SHOP_EINVAL
 * (a bad key file, no key at all, no signing key when one is needed). */
int shop_jwt_keys_load(struct shop_jwt_keys **out, const char *dir, const char *active_kid,
    int need_private);
void shop_jwt_keys_free(struct shop_jwt_keys *k);

struct shop_claims {
	long long user_id;  /* sub */
	unsigned roles;     /* SHOP_ROLE_* bits */
	long long iat, nbf, exp;
	char jti[48];
	char kid[65];
};

/* Signs an access token for user_id with roles, iat = now, exp = now + ttl,
 * a random jti, header kid. Returns 0 with *out malloc'd (caller frees) or a
 * failure code. */
int shop_jwt_sign(const struct shop_jwt_keys *k, long long user_id, unsigned roles,
    long long now, long long ttl, char **out);

/* Verifies token at time now: header alg must be ES256 and kid known,
 * signature valid, iss/aud as above, exp > now, nbf <= now (when present),
 * sub a positive id, roles an array of known role names.
 * Returns 0 with *c filled, SHOP_EEXPIRED when only exp failed, else SHOP_EAUTH. */
int shop_jwt_verify(const struct shop_jwt_keys *k, const char *token, long long now,
    struct shop_claims *c);

/* The JWK Set {"keys":[{"kty":"EC","crv":"P-256","alg":"ES256","use":"sig","kid",..,"x","y"}]}
 * of every public key. Returns a new object (caller owns). */
json_object *shop_jwt_jwks(const struct shop_jwt_keys *k);

#endif
