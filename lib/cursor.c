/* Keyset cursors: base64url (no padding) of "v1|<sort>|<value>|<id>".
 *
 * Decoding is strict: canonical base64url (shop_b64url_decode), exactly four
 * '|'-separated fields, version "v1", the expected sort name, value a strict
 * decimal int64 (shop_parse_int: no '+', no leading zeros) and id a strict
 * decimal in 1 .. 2^53 - 1. Cursors are not signed: they only carry where a
 * client's own listing stopped, and every value is range-checked, so a forged
 * one can only skip rows the client may see anyway. */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "lib/cursor.h"
#include "lib/err.h"
#include "lib/util.h"

#define MAX_ID 9007199254740991LL
#define SORT_MAX 16

static bool sort_ok(const char *sort)
{
	size_t i, n;

	if (!sort)
		return false;
	n = strlen(sort);
	if (n < 1 || n > SORT_MAX)
		return false;
	for (i = 0; i < n; i++)
		if (!((sort[i] >= 'a' && sort[i] <= 'z') || sort[i] == '_' || sort[i] == '-'))
			return false;
	return true;
}

int shop_cursor_encode(char out[SHOP_CURSOR_MAX], const char *sort, long long value, long long id)
{
	char text[80];
	int n;

	out[0] = '\0';
	if (!sort_ok(sort) || id < 1 || id > MAX_ID)
		return SHOP_EINVAL;
	/* At most 3 + 16 + 1 + 20 + 1 + 16 = 57 bytes → 76 characters. */
	n = snprintf(text, sizeof(text), "v1|%s|%lld|%lld", sort, value, id);
	if (n < 0 || (size_t)n >= sizeof(text))
		return SHOP_EINVAL;
	if (shop_b64url_encode(out, SHOP_CURSOR_MAX, text, (size_t)n) < 0)
		return SHOP_EINVAL;
	return 0;
}

int shop_cursor_decode(const char *s, const char *sort, long long *value, long long *id)
{
	char text[SHOP_CURSOR_MAX];
	const char *f[4];
	size_t flen[4], slen;
	int n, i, k;
	long long v, d;

	if (!s || !sort_ok(sort))
		return SHOP_EINVAL;
	slen = strnlen(s, SHOP_CURSOR_MAX);
	if (slen == 0 || slen >= SHOP_CURSOR_MAX)
		return SHOP_EINVAL;
	n = shop_b64url_decode(text, sizeof(text) - 1, s, slen);
	if (n < 0)
		return SHOP_EINVAL;
	/* Split on '|' into exactly four fields. */
	f[0] = text;
	for (i = 0, k = 0; i < n; i++) {
		if (text[i] != '|')
			continue;
		if (k == 3)
			return SHOP_EINVAL;
		flen[k] = (size_t)(text + i - f[k]);
		f[++k] = text + i + 1;
	}
	if (k != 3)
		return SHOP_EINVAL;
	flen[3] = (size_t)(text + n - f[3]);
	if (flen[0] != 2 || memcmp(f[0], "v1", 2))
		return SHOP_EINVAL;
	if (flen[1] != strlen(sort) || memcmp(f[1], sort, flen[1]))
		return SHOP_EINVAL;
	if (shop_parse_int(f[2], flen[2], LLONG_MIN, LLONG_MAX, &v) < 0)
		return SHOP_EINVAL;
	if (shop_parse_int(f[3], flen[3], 1, MAX_ID, &d) < 0)
		return SHOP_EINVAL;
	if (value)
		*value = v;
	if (id)
		*id = d;
	return 0;
}
