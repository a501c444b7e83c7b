/* The auth app's caches (see cache.h). */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fcgi-apps/auth/cache.h"
#include "lib/mem.h"

#define STRIPES 64 /* power of two; stripe k guards every set s with s % STRIPES == k */
#define WAYS 4     /* slots per set */

struct tslot {
	bool used;
	unsigned char key[32];
	struct auth_tok tok;
};

struct uslot {
	long long user_id; /* 0: empty */
	struct auth_user user;
};

struct auth_tcache {
	unsigned mask;
	pthread_mutex_t lock[STRIPES];
	struct tslot *slot;
};

struct auth_ucache {
	unsigned mask;
	pthread_mutex_t lock[STRIPES];
	struct uslot *slot;
};

static unsigned round_slots(unsigned n)
{
	unsigned s = STRIPES;

	while (s < n && s < (1u << 24))
		s <<= 1;
	return s;
}

static void locks_init(pthread_mutex_t *l)
{
	unsigned i;

	for (i = 0; i < STRIPES; i++)
		pthread_mutex_init(&l[i], NULL);
}

static void locks_destroy(pthread_mutex_t *l)
{
	unsigned i;

	for (i = 0; i < STRIPES; i++)
		pthread_mutex_destroy(&l[i]);
}

struct auth_tcache *auth_tcache_new(unsigned slots)
{
	struct auth_tcache *c = shop_xcalloc(1, sizeof(*c));
	unsigned n = round_slots(slots);

	c->mask = n - 1;
	c->slot = shop_xcalloc(n, sizeof(*c->slot));
	locks_init(c->lock);
	return c;
}

void auth_tcache_free(struct auth_tcache *c)
{
	if (c == NULL)
		return;
	locks_destroy(c->lock);
	free(c->slot);
	free(c);
}

/* The slots of a key's set: WAYS consecutive slots, all under one stripe
 * (sets never straddle stripes as WAYS divides the slot count). The key is
 * a SHA-256: its first bytes are already uniformly spread. */
static unsigned tset(const struct auth_tcache *c, const unsigned char key[32])
{
	uint32_t v;

	memcpy(&v, key, sizeof(v));
	return (v & c->mask) & ~(unsigned)(WAYS - 1);
}

bool auth_tcache_get(struct auth_tcache *c, const unsigned char key[32], long long now,
    struct auth_tok *out)
{
	unsigned set = tset(c, key), i;
	pthread_mutex_t *l = &c->lock[(set / WAYS) % STRIPES];
	bool hit = false;

	pthread_mutex_lock(l);
	for (i = set; i < set + WAYS; i++) {
		if (c->slot[i].used && memcmp(c->slot[i].key, key, 32) == 0) {
			hit = c->slot[i].tok.exp > now;
			if (hit)
				*out = c->slot[i].tok;
			break;
		}
	}
	pthread_mutex_unlock(l);
	return hit;
}

/* Replaces the same key, else an empty slot, else the entry that expires
 * first (an expired one first of all). */
void auth_tcache_put(struct auth_tcache *c, const unsigned char key[32], const struct auth_tok *t)
{
	unsigned set = tset(c, key), i, victim = set;
	pthread_mutex_t *l = &c->lock[(set / WAYS) % STRIPES];

	pthread_mutex_lock(l);
	for (i = set; i < set + WAYS; i++) {
		if (!c->slot[i].used || memcmp(c->slot[i].key, key, 32) == 0) {
			victim = i;
			break;
		}
		if (c->slot[i].tok.exp < c->slot[victim].tok.exp)
			victim = i;
	}
	c->slot[victim].used = true;
	memcpy(c->slot[victim].key, key, 32);
	c->slot[victim].tok = *t;
	pthread_mutex_unlock(l);
}

struct auth_ucache *auth_ucache_new(unsigned slots)
{
	struct auth_ucache *c = shop_xcalloc(1, sizeof(*c));
	unsigned n = round_slots(slots);

	c->mask = n - 1;
	c->slot = shop_xcalloc(n, sizeof(*c->slot));
	locks_init(c->lock);
	return c;
}

void auth_ucache_free(struct auth_ucache *c)
{
	if (c == NULL)
		return;
	locks_destroy(c->lock);
	free(c->slot);
	free(c);
}

/* Ids are sequential: a multiplicative hash spreads neighbours. */
static unsigned uset(const struct auth_ucache *c, long long id)
{
	return ((unsigned)(((uint64_t)id * 0x9E3779B97F4A7C15ull) >> 32) & c->mask) &
	    ~(unsigned)(WAYS - 1);
}

bool auth_ucache_get(struct auth_ucache *c, long long user_id, double now_ms, double max_age_ms,
    struct auth_user *out)
{
	unsigned set = uset(c, user_id), i;
	pthread_mutex_t *l = &c->lock[(set / WAYS) % STRIPES];
	bool hit = false;

	if (user_id == 0)
		return false;
	pthread_mutex_lock(l);
	for (i = set; i < set + WAYS; i++) {
		if (c->slot[i].user_id == user_id) {
			hit = now_ms - c->slot[i].user.fetched_ms < max_age_ms;
			if (hit)
				*out = c->slot[i].user;
			break;
		}
	}
	pthread_mutex_unlock(l);
	return hit;
}

/* Replaces the same id, else an empty slot, else the oldest fetch. */
void auth_ucache_put(struct auth_ucache *c, long long user_id, const struct auth_user *u)
{
	unsigned set = uset(c, user_id), i, victim = set;
	pthread_mutex_t *l = &c->lock[(set / WAYS) % STRIPES];

	pthread_mutex_lock(l);
	for (i = set; i < set + WAYS; i++) {
		if (c->slot[i].user_id == 0 || c->slot[i].user_id == user_id) {
			victim = i;
			break;
		}
		if (c->slot[i].user.fetched_ms < c->slot[victim].user.fetched_ms)
			victim = i;
	}
	c->slot[victim].user_id = user_id;
	c->slot[victim].user = *u;
	pthread_mutex_unlock(l);
}
