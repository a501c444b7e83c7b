/* Small helpers: encodings, randomness, hashing, time, strict parsing. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/sha.h>
#include <sodium.h>

#include "lib/err.h"
#include "lib/log.h"
#include "lib/util.h"

static pthread_once_t sodium_once = PTHREAD_ONCE_INIT;

static void sodium_setup(void)
{
	if (sodium_init() < 0) {
		fprintf(stderr, "shop: sodium_init failed\n");
		abort();
	}
}

static void need_sodium(void)
{
	pthread_once(&sodium_once, sodium_setup);
}

static const char b64url_alpha[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int shop_b64url_encode(char *out, size_t outsz, const void *in, size_t n)
{
	const unsigned char *p = in;
	size_t need, i, o = 0;

	if (n > (size_t)INT_MAX / 4 * 3 - 3)
		return SHOP_ETOOBIG;
	need = n / 3 * 4 + (n % 3 ? n % 3 + 1 : 0);
	if (outsz < need + 1)
		return SHOP_ETOOBIG;
	for (i = 0; i + 3 <= n; i += 3) {
		unsigned v = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8 | p[i + 2];

		out[o++] = b64url_alpha[v >> 18 & 63];
		out[o++] = b64url_alpha[v >> 12 & 63];
		out[o++] = b64url_alpha[v >> 6 & 63];
		out[o++] = b64url_alpha[v & 63];
	}
	if (n - i == 1) {
		unsigned v = (unsigned)p[i] << 16;

		out[o++] = b64url_alpha[v >> 18 & 63];
		out[o++] = b64url_alpha[v >> 12 & 63];
	} else if (n - i == 2) {
		unsigned v = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8;

		out[o++] = b64url_alpha[v >> 18 & 63];
		out[o++] = b64url_alpha[v >> 12 & 63];
		out[o++] = b64url_alpha[v >> 6 & 63];
	}
	out[o] = '\0';
	return (int)o;
}

static int b64url_val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

int shop_b64url_decode(void *out, size_t outsz, const char *in, size_t n)
{
	unsigned char *q = out;
	size_t i, need, o = 0;
	unsigned acc = 0;
	int bits = 0;

	if (n % 4 == 1)
		return SHOP_EINVAL;
	if (n > (size_t)INT_MAX)
		return SHOP_ETOOBIG;
	need = n / 4 * 3 + (n % 4 ? n % 4 - 1 : 0);
	for (i = 0; i < n; i++)
		if (b64url_val((unsigned char)in[i]) < 0)
			return SHOP_EINVAL;
	if (need > outsz)
		return SHOP_ETOOBIG;
	for (i = 0; i < n; i++) {
		acc = (acc << 6 | (unsigned)b64url_val((unsigned char)in[i])) & 0xffffff;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			q[o++] = (unsigned char)(acc >> bits);
		}
	}
	/* Canonical form: the unused low bits of the last character are zero. */
	if (bits && (acc & ((1u << bits) - 1)))
		return SHOP_EINVAL;
	return (int)o;
}

void shop_hex_encode(char *out, const void *in, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = in;
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = hex[p[i] >> 4];
		out[2 * i + 1] = hex[p[i] & 15];
	}
	out[2 * n] = '\0';
}

void shop_random_bytes(void *out, size_t n)
{
	need_sodium();
	randombytes_buf(out, n);
}

/* OpenSSL rather than libsodium here: it uses the CPU's SHA extensions, and
 * hashing a token is most of the auth app's cache hit. */
void shop_sha256(unsigned char out[32], const void *in, size_t n)
{
	SHA256(in, n, out);
}

void shop_sha256_small(unsigned char out[32], const void *in, size_t n)
{
	need_sodium();
	crypto_hash_sha256(out, in, n);
}

void shop_hmac_sha256(unsigned char out[32], const void *key, size_t keylen,
    const void *msg, size_t n)
{
	crypto_auth_hmacsha256_state st;

	need_sodium();
	crypto_auth_hmacsha256_init(&st, key, keylen);
	crypto_auth_hmacsha256_update(&st, msg, n);
	crypto_auth_hmacsha256_final(&st, out);
	sodium_memzero(&st, sizeof(st));
}

int shop_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

bool shop_ct_equal(const void *a, const void *b, size_t n)
{
	if (n == 0)
		return true;
	need_sodium();
	return sodium_memcmp(a, b, n) == 0;
}

long long shop_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec;
}

long long shop_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

double shop_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

/* Times outside years 1970..9999 are clamped to those bounds. */
void shop_time_rfc3339(char out[21], long long unix_seconds)
{
	struct tm tm;
	time_t t;

	if (unix_seconds < 0)
		unix_seconds = 0;
	if (unix_seconds > 253402300799LL)
		unix_seconds = 253402300799LL;
	t = (time_t)unix_seconds;
	if (!gmtime_r(&t, &tm) || strftime(out, 21, "%Y-%m-%dT%H:%M:%SZ", &tm) != 20)
		memcpy(out, "1970-01-01T00:00:00Z", 21);
}

int shop_parse_int(const char *s, size_t n, long long min, long long max, long long *out)
{
	unsigned long long v = 0, lim;
	bool neg = false;
	size_t i = 0;

	if (!s || n == 0)
		return SHOP_EINVAL;
	if (s[0] == '-') {
		neg = true;
		i = 1;
		if (n == 1)
			return SHOP_EINVAL;
	}
	/* No leading zeros; "-0" is refused as well. */
	if (s[i] == '0' && (n - i > 1 || neg))
		return SHOP_EINVAL;
	lim = neg ? (unsigned long long)LLONG_MAX + 1 : (unsigned long long)LLONG_MAX;
	for (; i < n; i++) {
		unsigned d;

		if (s[i] < '0' || s[i] > '9')
			return SHOP_EINVAL;
		d = (unsigned)(s[i] - '0');
		if (v > (lim - d) / 10)
			return SHOP_EINVAL;
		v = v * 10 + d;
	}
	{
		long long r;

		if (neg)
			r = v == (unsigned long long)LLONG_MAX + 1 ? LLONG_MIN : -(long long)v;
		else
			r = (long long)v;
		if (r < min || r > max)
			return SHOP_EINVAL;
		if (out)
			*out = r;
	}
	return 0;
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), or 0 when it is
 * invalid: NUL, stray continuation, overlong, surrogate, > U+10FFFF, truncated. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];

	if (c == 0)
		return 0;
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		if (n < 2 || (s[1] & 0xc0) != 0x80)
			return 0;
		return 2;
	}
	if (c >= 0xe0 && c <= 0xef) {
		if (n < 3 || (s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80)
			return 0;
		if (c == 0xe0 && s[1] < 0xa0)
			return 0; /* overlong */
		if (c == 0xed && s[1] >= 0xa0)
			return 0; /* surrogate */
		return 3;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		if (n < 4 || (s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80 ||
		    (s[3] & 0xc0) != 0x80)
			return 0;
		if (c == 0xf0 && s[1] < 0x90)
			return 0; /* overlong */
		if (c == 0xf4 && s[1] >= 0x90)
			return 0; /* > U+10FFFF */
		return 4;
	}
	return 0;
}

bool shop_utf8_valid(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;

	while (i < n) {
		size_t k = utf8_seq(p + i, n - i);

		if (!k)
			return false;
		i += k;
	}
	return true;
}

size_t shop_utf8_len(const char *s, size_t n)
{
	size_t i, len = 0;

	for (i = 0; i < n; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			len++;
	return len;
}

/* Through a temporary file and rename(2), so that a reader never sees a
 * half-written pid. */
int shop_pidfile_write(const char *path)
{
	char tmp[4096], buf[32];
	int fd, n, rc = SHOP_EIO;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid()) >= (int)sizeof(tmp))
		return SHOP_EINVAL;
	n = snprintf(buf, sizeof(buf), "%d\n", (int)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		goto out;
	if (write(fd, buf, (size_t)n) != n) {
		close(fd);
		unlink(tmp);
		goto out;
	}
	if (close(fd) < 0 || rename(tmp, path) < 0) {
		unlink(tmp);
		goto out;
	}
	rc = 0;
out:
	if (rc)
		shop_log_error("cannot write pid file %s: %s", path, strerror(errno));
	return rc;
}
