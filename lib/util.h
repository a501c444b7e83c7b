/* Small helpers: encodings, randomness, hashing, time, strict parsing. */
#ifndef SHOP_UTIL_H
#define SHOP_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SHOP_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* base64url without padding. Encode writes NUL-terminated text and returns its
 * length, or SHOP_ETOOBIG when out (size outsz) is too small; needs
 * 4 * ceil(n / 3) + 1 bytes at most. Decode rejects padding, '+', '/',
 * whitespace and non-canonical trailing bits; returns the decoded length or
 * SHOP_EINVAL / SHOP_ETOOBIG. */
int shop_b64url_encode(char *out, size_t outsz, const void *in, size_t n);
int shop_b64url_decode(void *out, size_t outsz, const char *in, size_t n);

/* Lower-case hex; out needs 2n + 1 bytes. */
void shop_hex_encode(char *out, const void *in, size_t n);

/* Cryptographically secure random bytes (libsodium). Cannot fail. */
void shop_random_bytes(void *out, size_t n);

/* SHA-256 of in; out is 32 bytes. */
void shop_sha256(unsigned char out[32], const void *in, size_t n);
/* The same digest with libsodium, for short inputs (a request's
 * fingerprint): as fast there, and a process whose only use of OpenSSL
 * would be this digest never runs OpenSSL's algorithm fetching, which maps
 * about 1.8 MB of libcrypto into each process that does. Cannot fail. */
void shop_sha256_small(unsigned char out[32], const void *in, size_t n);
/* HMAC-SHA256; out is 32 bytes. */
void shop_hmac_sha256(unsigned char out[32], const void *key, size_t keylen,
    const void *msg, size_t n);
/* Constant-time equality of two buffers of length n. */
bool shop_ct_equal(const void *a, const void *b, size_t n);

/* The value of a hexadecimal digit (either case), or -1. */
int shop_hexval(char c);

/* Wall-clock seconds and milliseconds since the epoch; monotonic ms. */
long long shop_now(void);
long long shop_now_ms(void);
double shop_mono_ms(void);

/* RFC 3339 UTC ("2026-11-21T12:00:00Z") of a unix time; out needs 21 bytes. */
void shop_time_rfc3339(char out[21], long long unix_seconds);

/* Strict decimal integer: optional '-', digits only, no blanks, no '+',
 * no leading zeros ("0" itself is fine), within [min, max].
 * Returns 0 or SHOP_EINVAL. */
int shop_parse_int(const char *s, size_t n, long long min, long long max, long long *out);

/* True when s[0..n) is valid UTF-8 without NUL, without overlong forms or
 * surrogates. */
bool shop_utf8_valid(const char *s, size_t n);
/* Number of code points in valid UTF-8. */
size_t shop_utf8_len(const char *s, size_t n);

/* Writes "<pid>\n" of this process to path atomically. Returns 0, or
 * SHOP_EIO / SHOP_EINVAL (path too long), logged. */
int shop_pidfile_write(const char *path);

#endif
