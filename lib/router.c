/* Route matching without allocation.
 *
 * A pattern is literal text with "{name}" parameters, each a whole path
 * segment. The path matches when the literal text is equal byte for byte
 * (case-sensitive; a trailing slash is one more byte, so it does not match)
 * and every parameter segment is a strict id: 1 to 16 decimal digits, no
 * leading zero, no sign, at most 2^53 - 1. Methods are compared exactly
 * ("HEAD" is not "GET"). The first route in table order that matches both
 * wins. */
#include <stdbool.h>
#include <string.h>

#include "lib/err.h"
#include "lib/router.h"

#define MAX_ID 9007199254740991LL /* 2^53 - 1 */

static bool parse_id(const char *s, size_t n, long long *out)
{
	long long v = 0;
	size_t i;

	if (n == 0 || n > 16 || s[0] == '0')
		return false;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	if (v > MAX_ID)
		return false;
	*out = v;
	return true;
}

/* Matches path against pattern; fills the parameters of m when m is not NULL. */
static bool match_path(const char *pat, const char *path, struct shop_match *m)
{
	const char *p = pat, *q = path;
	unsigned np = 0;

	while (*p) {
		if (*p == '{') {
			const char *close = strchr(p, '}');
			size_t seg = strcspn(q, "/");
			long long id;

			if (!close || np >= SHOP_MAX_PATH_PARAMS)
				return false; /* a broken pattern matches nothing */
			if (!parse_id(q, seg, &id))
				return false;
			if (m) {
				m->params[np].name = p + 1;
				m->params[np].namelen = (size_t)(close - p - 1);
				m->params[np].id = id;
			}
			np++;
			p = close + 1;
			q += seg;
			continue;
		}
		if (*p != *q)
			return false;
		p++;
		q++;
	}
	if (*q != '\0')
		return false;
	if (m)
		m->nparams = np;
	return true;
}

/* Appends method to the allow list unless it is there already or would not fit. */
static void allow_add(char allow[64], const char *method)
{
	size_t len = strlen(allow), ml = strlen(method);
	const char *p = allow;

	while ((p = strstr(p, method)) != NULL) {
		if ((p == allow || p[-1] == ' ') && (p[ml] == ',' || p[ml] == '\0'))
			return;
		p += ml;
	}
	if (len + (len ? 2 : 0) + ml + 1 > 64)
		return;
	if (len) {
		memcpy(allow + len, ", ", 2);
		len += 2;
	}
	memcpy(allow + len, method, ml + 1);
}

int shop_route_match(const struct shop_route *routes, size_t n, const char *method,
    const char *path, struct shop_match *m)
{
	bool path_known = false;
	size_t i;

	memset(m, 0, sizeof(*m));
	if (!method || !path)
		return SHOP_ENOTFOUND;
	for (i = 0; i < n; i++) {
		if (strcmp(routes[i].method, method) != 0)
			continue;
		if (match_path(routes[i].pattern, path, m)) {
			m->route = &routes[i];
			return 0;
		}
	}
	memset(m, 0, sizeof(*m));
	for (i = 0; i < n; i++) {
		if (match_path(routes[i].pattern, path, NULL)) {
			path_known = true;
			allow_add(m->allow, routes[i].method);
		}
	}
	return path_known ? SHOP_EMETHOD : SHOP_ENOTFOUND;
}
