/* The webhook signature: parse, verify, sign (signature.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fcgi-apps/payments/signature.h"
#include "lib/err.h"
#include "lib/mem.h"
#include "lib/util.h"

struct parsed {
	const char *t;          /* the timestamp's text, as signed */
	size_t tlen;
	long long tval;
	unsigned nv1;
	unsigned char v1[PAY_SIG_MAX_V1][32];
};

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1; /* upper case is not canonical: refused */
}

static bool key_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* One item key=value; s[0..n) without the comma. */
static int parse_item(struct parsed *p, const char *s, size_t n)
{
	const char *eq = memchr(s, '=', n);
	size_t klen, vlen;
	const char *v;

	if (!eq || eq == s || eq + 1 == s + n)
		return SHOP_EINVAL;
	klen = (size_t)(eq - s);
	v = eq + 1;
	vlen = n - klen - 1;
	for (size_t i = 0; i < klen; i++) {
		if (!key_char(s[i]))
			return SHOP_EINVAL;
	}
	for (size_t i = 0; i < vlen; i++) {
		if (v[i] <= ' ' || v[i] > '~')
			return SHOP_EINVAL; /* blanks, controls, non-ASCII */
	}
	if (klen == 1 && s[0] == 't') {
		if (p->t)
			return SHOP_EINVAL; /* two timestamps: which one was signed? */
		if (vlen > 11 || v[0] < '0' || v[0] > '9' ||
		    shop_parse_int(v, vlen, 0, PAY_SIG_MAX_T, &p->tval) != 0)
			return SHOP_EINVAL;
		p->t = v;
		p->tlen = vlen;
		return 0;
	}
	if (klen == 2 && s[0] == 'v' && s[1] == '1') {
		if (p->nv1 == PAY_SIG_MAX_V1 || vlen != 64)
			return SHOP_EINVAL;
		for (size_t i = 0; i < 32; i++) {
			int hi = hexval(v[2 * i]), lo = hexval(v[2 * i + 1]);

			if (hi < 0 || lo < 0)
				return SHOP_EINVAL;
			p->v1[p->nv1][i] = (unsigned char)(hi << 4 | lo);
		}
		p->nv1++;
		return 0;
	}
	return 0; /* another scheme: ignored */
}

static int parse_header(struct parsed *p, const char *hdr)
{
	size_t n;
	const char *s, *end;

	memset(p, 0, sizeof(*p));
	if (!hdr)
		return SHOP_EINVAL;
	n = strnlen(hdr, PAY_SIG_MAX_HEADER + 1);
	if (n == 0 || n > PAY_SIG_MAX_HEADER)
		return SHOP_EINVAL;
	s = hdr;
	end = hdr + n;
	for (;;) {
		const char *comma = memchr(s, ',', (size_t)(end - s));
		const char *stop = comma ? comma : end;
		int rc = parse_item(p, s, (size_t)(stop - s));

		if (rc)
			return rc;
		if (!comma)
			break;
		s = comma + 1; /* a trailing comma leaves an empty item: refused */
	}
	if (!p->t || p->nv1 == 0)
		return SHOP_EINVAL;
	return 0;
}

/* HMAC-SHA256(secret, t "." body) */
static void mac(unsigned char out[32], const void *secret, size_t secretlen, const char *t,
    size_t tlen, const void *body, size_t len)
{
	size_t n = tlen + 1 + len;
	char *msg = shop_xmalloc(n ? n : 1);

	memcpy(msg, t, tlen);
	msg[tlen] = '.';
	if (len)
		memcpy(msg + tlen + 1, body, len);
	shop_hmac_sha256(out, secret, secretlen, msg, n);
	free(msg);
}

int pay_sig_verify(const char *hdr, const void *secret, size_t secretlen, const void *body,
    size_t len, long long now, long long tolerance)
{
	struct parsed p;
	unsigned char want[32];
	bool ok = false;
	long long skew;
	int rc;

	rc = parse_header(&p, hdr);
	if (rc)
		return rc;
	skew = now - p.tval;
	if (skew > tolerance || skew < -tolerance)
		return SHOP_EEXPIRED;
	mac(want, secret, secretlen, p.t, p.tlen, body, len);
	for (unsigned i = 0; i < p.nv1; i++)
		ok |= shop_ct_equal(want, p.v1[i], sizeof(want)); /* every one: no early exit */
	explicit_bzero(want, sizeof(want));
	return ok ? 0 : SHOP_EAUTH;
}

int pay_sig_sign(char *out, size_t outsz, long long t, const void *secret, size_t secretlen,
    const void *body, size_t len)
{
	unsigned char m[32];
	char ts[24], hex[65];
	int tlen, n;

	if (t < 0 || t > PAY_SIG_MAX_T)
		return SHOP_EINVAL;
	tlen = snprintf(ts, sizeof(ts), "%lld", t);
	mac(m, secret, secretlen, ts, (size_t)tlen, body, len);
	shop_hex_encode(hex, m, sizeof(m));
	explicit_bzero(m, sizeof(m));
	n = snprintf(out, outsz, "t=%s,v1=%s", ts, hex);
	if (n < 0 || (size_t)n >= outsz)
		return SHOP_ETOOBIG;
	return n;
}

int pay_secret_load(const char *path, unsigned char *out, size_t outsz, size_t *len)
{
	unsigned char buf[PAY_SECRET_MAX + 3];
	size_t n = 0;
	ssize_t k;
	int fd, rc = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return SHOP_EIO;
	for (;;) {
		k = read(fd, buf + n, sizeof(buf) - n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			rc = SHOP_EIO;
			goto out;
		}
		if (k == 0)
			break;
		n += (size_t)k;
		if (n == sizeof(buf))
			break;
	}
	if (n > 0 && buf[n - 1] == '\n') {
		n--;
		if (n > 0 && buf[n - 1] == '\r')
			n--;
	}
	if (n == 0) {
		rc = SHOP_EINVAL;
		goto out;
	}
	if (n > outsz || n > PAY_SECRET_MAX) {
		rc = SHOP_ETOOBIG;
		goto out;
	}
	memcpy(out, buf, n);
	*len = n;
out:
	explicit_bzero(buf, sizeof(buf));
	close(fd);
	return rc;
}
