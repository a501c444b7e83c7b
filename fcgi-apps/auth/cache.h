/* The auth app's per-process caches, both fixed-size, 4-way set-associative
 * (a full set gives up its least useful entry) and guarded by striped mutexes:
 *   - verified tokens, keyed by the SHA-256 of the token text;
 *   - user status (exists, disabled, roles), keyed by user id.
 * Memory is bounded by the slot counts; nothing is ever evicted by age, an
 * entry is only believed while the caller's freshness rule holds. */
#ifndef SHOP_AUTH_CACHE_H
#define SHOP_AUTH_CACHE_H

#include <stdbool.h>

struct auth_tok {
	long long user_id;
	unsigned roles;      /* SHOP_ROLE_* from the token */
	long long exp;       /* unix seconds */
};

enum auth_ustate { AUTH_U_ACTIVE, AUTH_U_DISABLED, AUTH_U_ABSENT };

struct auth_user {
	enum auth_ustate state;
	unsigned roles;      /* SHOP_ROLE_* from the database */
	double fetched_ms;   /* monotonic (shop_mono_ms) */
};

struct auth_tcache;
struct auth_ucache;

/* slots is rounded up to a power of two (at least 64). Cannot fail
 * (out-of-memory aborts). */
struct auth_tcache *auth_tcache_new(unsigned slots);
void auth_tcache_free(struct auth_tcache *c);
/* True with *out filled when key is cached and its exp > now: an expired
 * token is never answered from the cache. */
bool auth_tcache_get(struct auth_tcache *c, const unsigned char key[32], long long now,
    struct auth_tok *out);
void auth_tcache_put(struct auth_tcache *c, const unsigned char key[32], const struct auth_tok *t);

struct auth_ucache *auth_ucache_new(unsigned slots);
void auth_ucache_free(struct auth_ucache *c);
/* True with *out filled when user_id is cached and was fetched less than
 * max_age_ms before now_ms. */
bool auth_ucache_get(struct auth_ucache *c, long long user_id, double now_ms, double max_age_ms,
    struct auth_user *out);
void auth_ucache_put(struct auth_ucache *c, long long user_id, const struct auth_user *u);

#endif
