/* Query strings: shop_query_parse() with the query table of every route
 * that takes one (and of one that takes none), then the typed accessors
 * shop_req_qstr() / shop_req_qint() the handlers use, then the cursor a
 * list route would decode.
 *
 * Input: one byte choosing the table, then the raw QUERY_STRING (cut at a
 * NUL, as a FastCGI param is).
 * Properties: on success every parameter is declared, appears once, holds
 * valid UTF-8 without NUL or control characters, and reads back through the
 * accessors within the table's bounds (integers) and lengths (strings);
 * on failure there is at least one error, and nothing is left in the query. */
#include <stdlib.h>
#include <string.h>

#include "lib/cursor.h"
#include "lib/err.h"
#include "lib/mem.h"
#include "lib/req.h"
#include "lib/util.h"
#include "lib/validate.h"
#include "tests/fuzz/fuzz.h"

#define MAX_SPECS 32

static const struct shop_field *specs[MAX_SPECS];
static size_t nspecs;
static struct shop_arena *arena;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	size_t n, i;
	const struct shop_route *routes = fuzz_routes(NULL, &n);

	(void)argc;
	(void)argv;
	specs[nspecs++] = NULL; /* a route without a query: everything is unknown */
	for (i = 0; i < n && nspecs < MAX_SPECS; i++)
		if (routes[i].query)
			specs[nspecs++] = routes[i].query;
	arena = shop_arena_new(4096);
	return 0;
}

static bool bounded(const struct shop_field *f)
{
	return !(f->min == 0 && f->max == 0);
}

static void check_ok(const struct shop_req *r, const struct shop_field *spec)
{
	const struct shop_field *f;
	unsigned seen = 0;

	for (unsigned i = 0; i < r->query.n; i++) {
		const struct shop_qpair *p = &r->query.p[i];

		FUZZ_CHECK(p->name && p->value);
		FUZZ_CHECK(strlen(p->value) == p->len);
		FUZZ_CHECK(shop_utf8_valid(p->value, p->len) || p->len == 0);
		for (unsigned j = 0; j < i; j++)
			FUZZ_CHECK(strcmp(r->query.p[j].name, p->name) != 0);
	}
	for (f = spec; f && f->name; f++) {
		const char *s = NULL;
		long long v;

		if (!shop_req_qstr(r, f->name, &s)) {
			FUZZ_CHECK(!(f->flags & SHOP_F_REQUIRED));
			continue;
		}
		seen++;
		if (f->type == SHOP_T_INT) {
			FUZZ_CHECK(shop_req_qint(r, f->name, &v));
			if (bounded(f))
				FUZZ_CHECK(v >= f->min && v <= f->max);
		} else {
			size_t len = shop_utf8_len(s, strlen(s));

			FUZZ_CHECK(f->type == SHOP_T_STRING);
			FUZZ_CHECK(f->min <= 0 || len >= (size_t)f->min);
			FUZZ_CHECK(f->max <= 0 || len <= (size_t)f->max);
			FUZZ_CHECK(!f->format || f->format(s, strlen(s)));
			FUZZ_CHECK((f->flags & SHOP_F_MULTILINE) || shop_fmt_single_line(s, strlen(s)));
		}
	}
	FUZZ_CHECK(seen == r->query.n);
}

/* What a list handler does with ?cursor= (and ?sort= on the catalog). */
static void use_cursor(const struct shop_req *r)
{
	static const char *const defaults[] = { "id", "newest" };
	const char *cursor, *sort;
	long long value, id;

	if (!shop_req_qstr(r, "cursor", &cursor))
		return;
	for (size_t i = 0; i < 2; i++) {
		if (!shop_req_qstr(r, "sort", &sort))
			sort = defaults[i];
		if (shop_cursor_decode(cursor, sort, &value, &id) == 0)
			FUZZ_CHECK(id >= 1 && id <= FUZZ_MAX_ID);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct shop_field *spec;
	struct shop_verrs errs = { 0 };
	struct shop_req r = { .arena = arena };
	char *raw;
	int rc;

	if (size < 1)
		return 0;
	spec = specs[data[0] % nspecs];
	raw = fuzz_strndup(data + 1, size - 1);
	rc = shop_query_parse(arena, raw, spec, &r.query, &errs);
	fuzz_trace("query: %d, %u params, %u errors%s%s", rc, r.query.n, errs.n,
	    errs.n ? ", first: " : "", errs.n ? errs.e[0].code : "");
	if (rc == 0) {
		FUZZ_CHECK(errs.n == 0);
		check_ok(&r, spec);
		use_cursor(&r);
	} else {
		FUZZ_CHECK(rc == SHOP_EINVAL);
		FUZZ_CHECK(errs.n >= 1 && errs.n <= SHOP_MAX_VERRS);
		FUZZ_CHECK(r.query.n == 0);
		for (unsigned i = 0; i < errs.n; i++) {
			FUZZ_CHECK(errs.e[i].code != NULL);
			FUZZ_CHECK(shop_utf8_valid(errs.e[i].field, strlen(errs.e[i].field)) ||
			    errs.e[i].field[0] == '\0');
			FUZZ_CHECK(shop_utf8_valid(errs.e[i].detail, strlen(errs.e[i].detail)) ||
			    errs.e[i].detail[0] == '\0');
		}
	}
	shop_arena_reset(arena);
	free(raw);
	return 0;
}
