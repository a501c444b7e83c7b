/* Path routing: shop_route_match() over the real route table of every app.
 *
 * Input: "METHOD\nPATH" (without the newline the whole input is the path
 * and the method is GET).
 * Properties: a match is a route of that method whose pattern, with each
 * parameter replaced by the id found, gives back the path byte for byte,
 * and every id is in 1 .. 2^53 - 1; SHOP_EMETHOD comes with a non-empty
 * Allow list that does not name the method; nothing else is returned. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/err.h"
#include "lib/router.h"
#include "tests/fuzz/fuzz.h"

static const struct shop_route *routes;
static size_t nroutes;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	routes = fuzz_routes(NULL, &nroutes);
	return 0;
}

/* The path the pattern gives with m's ids in place of its parameters. */
static void render(const struct shop_match *m, char *out, size_t outsz)
{
	const char *p = m->route->pattern;
	size_t o = 0;
	unsigned k = 0;

	while (*p && o + 1 < outsz) {
		if (*p == '{') {
			const char *close = strchr(p, '}');
			int w;

			FUZZ_CHECK(close && k < m->nparams);
			FUZZ_CHECK(m->params[k].namelen == (size_t)(close - p - 1) &&
			    memcmp(m->params[k].name, p + 1, m->params[k].namelen) == 0);
			w = snprintf(out + o, outsz - o, "%lld", m->params[k].id);
			FUZZ_CHECK(w > 0 && (size_t)w < outsz - o);
			o += (size_t)w;
			k++;
			p = close + 1;
			continue;
		}
		out[o++] = *p++;
	}
	out[o] = '\0';
	FUZZ_CHECK(k == m->nparams);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *in = fuzz_strndup(data, size), *path = fuzz_cut_line(in);
	const char *method = path ? in : "GET";
	struct shop_match m;
	char back[8192];
	int rc;

	if (!path)
		path = in;
	rc = shop_route_match(routes, nroutes, method, path, &m);
	switch (rc) {
	case 0:
		FUZZ_CHECK(m.route != NULL && strcmp(m.route->method, method) == 0);
		for (unsigned i = 0; i < m.nparams; i++)
			FUZZ_CHECK(m.params[i].id >= 1 && m.params[i].id <= FUZZ_MAX_ID);
		FUZZ_CHECK(strlen(path) < sizeof(back));
		render(&m, back, sizeof(back));
		FUZZ_CHECK(strcmp(back, path) == 0);
		break;
	case SHOP_EMETHOD:
		FUZZ_CHECK(m.route == NULL && m.allow[0] != '\0');
		/* The method may be a prefix of an allowed one ("PU" of "PUT"):
		 * compare whole list items. */
		for (const char *a = m.allow; *a;) {
			size_t len = strcspn(a, ",");

			FUZZ_CHECK(!(len == strlen(method) && memcmp(a, method, len) == 0));
			a += len;
			while (*a == ',' || *a == ' ')
				a++;
		}
		break;
	case SHOP_ENOTFOUND:
		FUZZ_CHECK(m.route == NULL);
		break;
	default:
		FUZZ_CHECK(!"unexpected return code");
	}
	free(in);
	return 0;
}
