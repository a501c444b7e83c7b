/* The auth app's cost per check, measured in one run: a token verified now
 * (cache miss: ES256 through shop_jwt_verify) against a token found in the cache, plus the
 * anonymous path for scale. No database: the user's status is cached first.
 * Prints a table of per-check CPU times (thread CPU clock) and ratios.
 * Not a test. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "fcgi-apps/auth/auth_app.h"
#include "lib/auth.h"
#include "lib/jwt.h"
#include "lib/log.h"
#include "lib/util.h"

#define NTOKENS 1000
#define HIT_ROUNDS 500
#define THREADS 4

static struct auth_ctx ctx;
static char *tokens[NTOKENS];
static char *headers[NTOKENS];

static int gen_key(const char *dir)
{
	char path[256];
	EVP_PKEY *pkey = EVP_EC_gen("P-256");
	FILE *f;

	if (pkey == NULL)
		return -1;
	snprintf(path, sizeof(path), "%s/bench.key", dir);
	f = fopen(path, "w");
	if (f == NULL || PEM_write_PrivateKey(f, pkey, NULL, NULL, 0, NULL, NULL) != 1)
		return -1;
	fclose(f);
	snprintf(path, sizeof(path), "%s/bench.pub", dir);
	f = fopen(path, "w");
	if (f == NULL || PEM_write_PUBKEY(f, pkey) != 1)
		return -1;
	fclose(f);
	EVP_PKEY_free(pkey);
	return 0;
}

/* CPU time of the calling thread in ms: other processes on a busy machine
 * do not inflate it the way they inflate wall-clock time. */
static double cpu_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static double run_checks(size_t from, size_t n, size_t rounds, const char *uri, bool anon)
{
	struct auth_verdict v;
	double t0 = cpu_ms();
	size_t r, i;

	for (r = 0; r < rounds; r++)
		for (i = from; i < from + n; i++) {
			auth_decide(&ctx, NULL, NULL, "GET", uri, anon ? NULL : headers[i], &v);
			if (v.status != 200) {
				fprintf(stderr, "unexpected verdict %d %s\n", v.status,
				    v.error ? v.error : "");
				exit(1);
			}
		}
	return (cpu_ms() - t0) * 1000.0 / (double)(n * rounds); /* µs per check */
}

struct worker {
	size_t from;
	double us;
};

static void *hit_worker(void *arg)
{
	struct worker *w = arg;

	w->us = run_checks(w->from, NTOKENS / THREADS, HIT_ROUNDS, "/api/v1/users/me", false);
	return NULL;
}

int main(void)
{
	char dir[] = "/tmp/bench-auth.XXXXXX";
	struct auth_user u = { .state = AUTH_U_ACTIVE, .roles = SHOP_ROLE_CUSTOMER };
	struct worker w[THREADS];
	pthread_t th[THREADS];
	struct shop_jwt_keys *signer = NULL;
	double miss, hit, hit_mt = 0, anon, verify;
	size_t i, len;
	char cmd[64];

	shop_log_init("bench-auth", 2, SHOP_LOG_WARN);
	if (mkdtemp(dir) == NULL || gen_key(dir) != 0 ||
	    shop_jwt_keys_load(&signer, dir, NULL, 1) != 0 ||
	    shop_jwt_keys_load(&ctx.keys, dir, NULL, 0) != 0) {
		fprintf(stderr, "bench-auth: key set-up failed\n");
		return 1;
	}
	ctx.tokens = auth_tcache_new(4096);
	ctx.users = auth_ucache_new(4096);
	ctx.user_ttl_ms = 1e12; /* the status never goes stale here */
	u.fetched_ms = shop_mono_ms();
	for (i = 0; i < NTOKENS; i++) {
		if (shop_jwt_sign(signer, (long long)i + 1, SHOP_ROLE_CUSTOMER, shop_now(), 900,
		    &tokens[i]) != 0)
			return 1;
		len = strlen(tokens[i]) + 8;
		headers[i] = malloc(len);
		snprintf(headers[i], len, "Bearer %s", tokens[i]);
		auth_ucache_put(ctx.users, (long long)i + 1, &u);
	}

	/* The verification alone, for reference. */
	{
		struct shop_claims c;
		double t0 = cpu_ms();

		for (i = 0; i < NTOKENS / 4; i++)
			shop_jwt_verify(ctx.keys, tokens[i], shop_now(), &c);
		verify = (cpu_ms() - t0) * 1000.0 / (NTOKENS / 4);
	}
	/* Every token once: all misses (then cached). */
	miss = run_checks(0, NTOKENS, 1, "/api/v1/users/me", false);
	/* The same tokens again and again: all hits. */
	hit = run_checks(0, NTOKENS, HIT_ROUNDS, "/api/v1/users/me", false);
	for (i = 0; i < THREADS; i++) {
		w[i].from = i * (NTOKENS / THREADS);
		pthread_create(&th[i], NULL, hit_worker, &w[i]);
	}
	for (i = 0; i < THREADS; i++) {
		pthread_join(th[i], NULL);
		hit_mt += w[i].us / THREADS;
	}
	anon = run_checks(0, NTOKENS, HIT_ROUNDS, "/api/v1/products/17", true);

	printf("%-44s %12s %10s\n", "check (one thread unless said)", "us/check", "vs hit");
	printf("%-44s %12.2f %10.1f\n", "shop_jwt_verify alone (ES256, OpenSSL, key parsed once)", verify, verify / hit);
	printf("%-44s %12.2f %10.1f\n", "token cache miss (verify + insert)", miss, miss / hit);
	printf("%-44s %12.2f %10.1f\n", "token cache hit", hit, 1.0);
	printf("%-44s %12.2f %10.1f\n", "token cache hit, 4 threads (per thread)", hit_mt,
	    hit_mt / hit);
	printf("%-44s %12.2f %10.1f\n", "anonymous public route (no token)", anon, anon / hit);

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "bench-auth: could not remove %s\n", dir);
	for (i = 0; i < NTOKENS; i++) {
		free(tokens[i]);
		free(headers[i]);
	}
	auth_tcache_free(ctx.tokens);
	auth_ucache_free(ctx.users);
	shop_jwt_keys_free(ctx.keys);
	shop_jwt_keys_free(signer);
	return 0;
}
