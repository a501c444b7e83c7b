/* Password hashing with argon2id (libsodium). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "lib/err.h"
#include "lib/password.h"

_Static_assert(SHOP_PWHASH_MAX >= crypto_pwhash_argon2id_STRBYTES,
    "SHOP_PWHASH_MAX too small for an argon2id string");

static pthread_once_t sodium_once = PTHREAD_ONCE_INIT;

static void sodium_setup(void)
{
	if (sodium_init() < 0) {
		fprintf(stderr, "shop: sodium_init failed\n");
		abort();
	}
}

int shop_password_hash(char out[SHOP_PWHASH_MAX], const char *pw, size_t n,
    unsigned long long opslimit, size_t memlimit)
{
	pthread_once(&sodium_once, sodium_setup);
	if (opslimit == 0 && memlimit == 0) {
		opslimit = crypto_pwhash_argon2id_OPSLIMIT_INTERACTIVE;
		memlimit = crypto_pwhash_argon2id_MEMLIMIT_INTERACTIVE;
	}
	/* Out-of-range limits would make libsodium fail; clamp them into the
	 * accepted range instead of refusing to hash. */
	if (opslimit < crypto_pwhash_argon2id_OPSLIMIT_MIN)
		opslimit = crypto_pwhash_argon2id_OPSLIMIT_MIN;
	if (memlimit < crypto_pwhash_argon2id_MEMLIMIT_MIN)
		memlimit = crypto_pwhash_argon2id_MEMLIMIT_MIN;
	if (crypto_pwhash_argon2id_str(out, pw, n, opslimit, memlimit) != 0)
		return SHOP_ESYS;
	return 0;
}

bool shop_password_verify(const char *hash, const char *pw, size_t n)
{
	pthread_once(&sodium_once, sodium_setup);
	if (hash == NULL || strnlen(hash, SHOP_PWHASH_MAX) == SHOP_PWHASH_MAX)
		return false;
	/* crypto_pwhash_str_verify takes the algorithm and the limits from the
	 * string itself, so hashes made with older limits keep verifying. */
	return crypto_pwhash_str_verify(hash, pw, n) == 0;
}
