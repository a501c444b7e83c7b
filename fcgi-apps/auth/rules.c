/* The auth app's route rules: a table, first match wins, default AUTH_USER.
 * Only rules that need no data live here (API.md "who" column); the domain
 * apps check ownership themselves and check the route's role again. */
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "fcgi-apps/auth/rules.h"
#include "lib/util.h"

#define PATH_MAX_LEN 4096

struct rule {
	const char *method;   /* NULL: any method; "GET" also matches HEAD */
	const char *pattern;  /* literal segments, "*" matches one non-empty segment */
	bool prefix;          /* also matches pattern + "/..." */
	enum auth_level level;
};

static const struct rule rules[] = {
	{ NULL, "/api/v1/admin", true, AUTH_ADMIN },
	/* register, login, refresh, logout: a stale access token in the
	 * Authorization header must not stop a client from logging in again. */
	{ NULL, "/api/v1/auth", true, AUTH_NONE },
	{ "GET", "/.well-known/jwks.json", false, AUTH_NONE },
	{ "GET", "/healthz", false, AUTH_NONE },
	{ "GET", "/docs", true, AUTH_NONE },
	{ "POST", "/api/v1/payments/webhook", false, AUTH_NONE },
	{ "POST", "/api/v1/payments/*/refund", false, AUTH_ADMIN },
	{ "GET", "/api/v1/categories", true, AUTH_PUBLIC },
	{ NULL, "/api/v1/categories", true, AUTH_ADMIN },
	{ "GET", "/api/v1/products", true, AUTH_PUBLIC },
	{ NULL, "/api/v1/products", true, AUTH_SELLER },
	{ "GET", "/api/v1/inventory", true, AUTH_PUBLIC },
	{ NULL, "/api/v1/inventory", true, AUTH_SELLER },
};

const char *auth_level_name(enum auth_level l)
{
	switch (l) {
	case AUTH_NONE:
		return "NONE";
	case AUTH_PUBLIC:
		return "PUBLIC";
	case AUTH_USER:
		return "USER";
	case AUTH_SELLER:
		return "SELLER";
	case AUTH_ADMIN:
		return "ADMIN";
	}
	return "ADMIN";
}

static bool path_match(const char *pattern, const char *path, size_t n, bool prefix)
{
	const char *p = pattern;
	size_t i = 0;

	while (*p) {
		if (*p == '*') {
			if (i == n || path[i] == '/')
				return false;
			while (i < n && path[i] != '/')
				i++;
			p++;
			continue;
		}
		if (i == n || *p != path[i])
			return false;
		p++;
		i++;
	}
	/* One slash more at the end is judged as the path without it: "/x/"
	 * is never less protected than "/x" (the apps' routers answer 404 for
	 * it, but a prefix location of nginx passes it on). */
	return i == n || (path[i] == '/' && (prefix || i + 1 == n));
}

static enum auth_level match(const char *method, const char *path, size_t n)
{
	bool get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
	size_t i;

	for (i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
		const struct rule *r = &rules[i];

		if (r->method != NULL &&
		    !(strcmp(r->method, "GET") == 0 ? get : strcmp(r->method, method) == 0))
			continue;
		if (path_match(r->pattern, path, n, r->prefix))
			return r->level;
	}
	return AUTH_USER;
}

/* True when nginx would rewrite the path before matching locations. */
static bool needs_normalizing(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (s[i] == '%')
			return true;
		if (s[i] != '/' || i + 1 == n)
			continue;
		if (s[i + 1] == '/')
			return true;
		if (s[i + 1] == '.') {
			size_t j = i + 2;

			if (j < n && s[j] == '.')
				j++;
			if (j == n || s[j] == '/')
				return true;
		}
	}
	return false;
}

/* Decodes %XX, merges slashes, resolves "." and ".." as nginx does. Returns
 * the length written to out (size PATH_MAX_LEN + 1), or -1 when nginx would
 * refuse the path or it cannot be decoded. */
static int normalize(const char *s, size_t n, char *out)
{
	char dec[PATH_MAX_LEN + 1];
	size_t d = 0, o = 0, i, seg;

	for (i = 0; i < n; i++) {
		char c = s[i];

		if (c == '%') {
			int hi, lo;

			if (i + 2 >= n)
				return -1;
			hi = shop_hexval(s[i + 1]);
			lo = shop_hexval(s[i + 2]);
			if (hi < 0 || lo < 0)
				return -1;
			c = (char)(hi << 4 | lo);
			if (c == '\0')
				return -1;
			i += 2;
		}
		dec[d++] = c;
	}
	/* Segment by segment; a ".." drops the last segment written. */
	for (i = 0; i < d; i = seg) {
		size_t len;

		while (i < d && dec[i] == '/')
			i++;
		for (seg = i; seg < d && dec[seg] != '/'; seg++)
			;
		len = seg - i;
		if (len == 0 || (len == 1 && dec[i] == '.'))
			continue;
		if (len == 2 && dec[i] == '.' && dec[i + 1] == '.') {
			if (o == 0)
				return -1;
			while (o > 0 && out[o - 1] != '/')
				o--;
			o--; /* the '/' before the dropped segment */
			continue;
		}
		out[o++] = '/';
		memcpy(out + o, dec + i, len);
		o += len;
	}
	if (o == 0 || (d > 0 && dec[d - 1] == '/'))
		out[o++] = '/';
	out[o] = '\0';
	return (int)o;
}

enum auth_level auth_rule(const char *method, const char *uri)
{
	char norm[PATH_MAX_LEN + 1];
	enum auth_level l;
	size_t n;
	int len;

	if (method == NULL || uri == NULL)
		return AUTH_ADMIN;
	n = strcspn(uri, "?#");
	if (n == 0 || n > PATH_MAX_LEN || uri[0] != '/')
		return AUTH_ADMIN;
	if (!needs_normalizing(uri, n))
		return match(method, uri, n);
	/* A path no client needs: decide on what nginx will route, and never
	 * let it through without a user. */
	len = normalize(uri, n, norm);
	if (len < 0)
		return AUTH_ADMIN;
	l = match(method, norm, (size_t)len);
	return l < AUTH_USER ? AUTH_USER : l;
}
