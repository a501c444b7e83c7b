/* Access tokens: ES256 JWTs, and everything about them, behind one module.
 * Signing uses libjwt 1.10. Verification does not (libjwt takes the algorithm
 * from the token, checks no claim and parses the PEM key on every call): each
 * public key is parsed once, at load, and tokens are checked with OpenSSL 3
 * and json-c here, with ES256 pinned, a known kid required, and exp, nbf,
 * iss, aud, sub, roles and jti checked.
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
 * (a bad key file, no key at all, no signing key when one is needed).
 * The set is read-only once loaded: any number of threads may sign and
 * verify with it at the same time; free it only when none uses it. */
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

/* Verifies token at time now: three base64url segments (strict: no padding,
 * nothing around them), a header that is a JSON object (strict, no duplicate
 * members) with alg exactly "ES256", a kid of this set, no "crit", typ "JWT"
 * (any case) when present; a signature of exactly 64 bytes (R || S, each in
 * [1, n-1]; a high S is valid) made by that kid's key over
 * "<header>.<payload>"; then, and only then, a payload that is a JSON object
 * with iss and aud as above (aud a string or an array holding it), exp an
 * integer > now, nbf (when present) an integer <= now, iat an integer,
 * sub a decimal string of an id in [1, 2^53 - 1] (shop_parse_int), roles an
 * array of known role names without repeats (may be empty), jti a non-empty
 * string of at most 47 bytes. Unknown header members (jku, jwk, x5u,
 * ...) are ignored and never used.
 * Returns 0 with *c filled, SHOP_EEXPIRED when only exp failed (*c filled
 * too), else SHOP_EAUTH (*c zeroed). Thread-safe. */
int shop_jwt_verify(const struct shop_jwt_keys *k, const char *token, long long now,
    struct shop_claims *c);

/* The JWK Set {"keys":[{"kty":"EC","crv":"P-256","alg":"ES256","use":"sig","kid",..,"x","y"}]}
 * of every public key. Returns a new object (caller owns). */
json_object *shop_jwt_jwks(const struct shop_jwt_keys *k);

#endif
