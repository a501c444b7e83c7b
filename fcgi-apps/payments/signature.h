/* The webhook signature of API.md, shared by the payments app (verifies) and
 * the sim provider (signs):
 *
 *   Shop-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>
 *
 * The header is parsed strictly: comma-separated key=value items, no blanks
 * anywhere, no empty item; exactly one t (decimal digits, no sign, no leading
 * zero); one to PAY_SIG_MAX_V1 v1 values, each exactly 64 lower-case hex
 * digits (a provider rotating its secret sends one per secret: any match
 * passes); items with other keys ([a-z0-9]+, e.g. a future "v2") are ignored
 * so that a provider can add schemes, but their values must still be visible
 * ASCII; at most PAY_SIG_MAX_HEADER bytes. Anything else is malformed.
 * Pure functions: no I/O, no clock, no allocation kept. */
#ifndef PAY_SIGNATURE_H
#define PAY_SIGNATURE_H

#include <stddef.h>

#define PAY_SIG_MAX_HEADER 2048
#define PAY_SIG_MAX_V1 8
#define PAY_SIG_MAX_T 99999999999LL    /* 11 digits: beyond any real clock */
/* "t=" 11 digits ",v1=" 64 hex, NUL */
#define PAY_SIG_HEADER_SIZE 96
#define PAY_SECRET_MAX 1024

/* Verifies header hdr (NUL-terminated, NULL = absent) for body[0..len) with
 * secret[0..secretlen) at time now, allowing |now - t| <= tolerance seconds.
 * Returns 0 when some v1 matches (compared in constant time), SHOP_EINVAL
 * when the header is absent or malformed, SHOP_EEXPIRED when t is further
 * than tolerance from now (past or future), SHOP_EAUTH when no v1 matches.
 * The timestamp is checked before any HMAC is computed. */
int pay_sig_verify(const char *hdr, const void *secret, size_t secretlen, const void *body,
    size_t len, long long now, long long tolerance);

/* Writes the header value "t=<t>,v1=<hex>" for body at time t into out
 * (PAY_SIG_HEADER_SIZE bytes suffice). Returns its length, or SHOP_EINVAL
 * (t out of range) / SHOP_ETOOBIG (out too small). */
int pay_sig_sign(char *out, size_t outsz, long long t, const void *secret, size_t secretlen,
    const void *body, size_t len);

/* Reads a signing secret from path into out[0..outsz): the whole file, one
 * trailing "\n" or "\r\n" stripped. Returns 0 with *len set, SHOP_EIO when
 * it cannot be read, SHOP_EINVAL when it is empty, SHOP_ETOOBIG when longer
 * than outsz. The secret is never logged. */
int pay_secret_load(const char *path, unsigned char *out, size_t outsz, size_t *len);

#endif
