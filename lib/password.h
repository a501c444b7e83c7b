/* Password hashing with argon2id (libsodium crypto_pwhash_str). */
#ifndef SHOP_PASSWORD_H
#define SHOP_PASSWORD_H

#include <stdbool.h>
#include <stddef.h>

#define SHOP_PWHASH_MAX 128 /* >= crypto_pwhash_STRBYTES */

/* Hashes pw with the given limits (0, 0: libsodium's INTERACTIVE limits).
 * out gets the self-describing string. Returns 0 or SHOP_ESYS (the memory
 * limit could not be met). */
int shop_password_hash(char out[SHOP_PWHASH_MAX], const char *pw, size_t n,
    unsigned long long opslimit, size_t memlimit);
/* True when pw matches hash. Takes about as long for any wrong password. */
bool shop_password_verify(const char *hash, const char *pw, size_t n);

#endif
