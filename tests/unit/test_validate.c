/* Unit tests of lib/validate.c: bodies, query strings and formats. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "lib/err.h"
#include "lib/json.h"
#include "lib/mem.h"
#include "lib/validate.h"

static const struct shop_field line_fields[] = {
	{ .name = "product_id", .type = SHOP_T_INT, .flags = SHOP_F_REQUIRED, .min = 1, .max = 9007199254740991LL },
	{ .name = "quantity", .type = SHOP_T_INT, .flags = SHOP_F_REQUIRED, .min = 1, .max = 1000 },
	{ .name = NULL },
};

static const struct shop_field addr_fields[] = {
	{ .name = "city", .type = SHOP_T_STRING, .flags = SHOP_F_REQUIRED, .min = 1, .max = 10 },
	{ .name = "country", .type = SHOP_T_STRING, .flags = SHOP_F_REQUIRED, .format = shop_fmt_country },
	{ .name = NULL },
};

static const struct shop_field spec[] = {
	{ .name = "name", .type = SHOP_T_STRING, .flags = SHOP_F_REQUIRED, .min = 1, .max = 5 },
	{ .name = "note", .type = SHOP_T_STRING, .flags = SHOP_F_NULLABLE | SHOP_F_MULTILINE, .max = 100 },
	{ .name = "email", .type = SHOP_T_STRING, .format = shop_fmt_email },
	{ .name = "delta", .type = SHOP_T_INT },
	{ .name = "price", .type = SHOP_T_INT, .min = 0, .max = 1000000 },
	{ .name = "restock", .type = SHOP_T_BOOL },
	{ .name = "address", .type = SHOP_T_OBJECT, .fields = addr_fields },
	{ .name = "items", .type = SHOP_T_OBJECT_ARRAY, .min = 1, .max = 3, .fields = line_fields },
	{ .name = "roles", .type = SHOP_T_STRING_ARRAY, .min = 1, .max = 3, .format = shop_fmt_role },
	{ .name = "any", .type = SHOP_T_STRING },
	{ .name = NULL },
};

/* Validates JSON text against spec; returns the result, errs filled. */
static int run(const char *text, struct shop_verrs *errs)
{
	const char *why;
	json_object *o = shop_json_parse(text, strlen(text), &why);
	int rc;

	if (!o)
		fail_msg("test body does not parse (%s): %s", why, text);
	memset(errs, 0, sizeof(*errs));
	rc = shop_validate_body(o, spec, errs);
	json_object_put(o);
	return rc;
}

/* Asserts that text fails with exactly one error (field, code). */
static void one_error(const char *text, const char *field, const char *code)
{
	struct shop_verrs errs;
	int rc = run(text, &errs);
	unsigned i;

	if (rc != SHOP_EINVAL || errs.n != 1 || strcmp(errs.e[0].field, field) ||
	    strcmp(errs.e[0].code, code)) {
		for (i = 0; i < errs.n; i++)
			print_message("# got %s %s (%s)\n", errs.e[i].field, errs.e[i].code,
			    errs.e[i].detail);
		fail_msg("%s: expected %s %s, rc %d, %u errors", text, field, code, rc, errs.n);
	}
}

static void ok_body(const char *text)
{
	struct shop_verrs errs;
	int rc = run(text, &errs);

	if (rc != 0 || errs.n != 0)
		fail_msg("%s: refused, first error %s %s", text, errs.n ? errs.e[0].field : "",
		    errs.n ? errs.e[0].code : "");
}

static void test_body_ok(void **state)
{
	(void)state;
	ok_body("{\"name\":\"Ann\"}");
	ok_body("{\"name\":\"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\"}"); /* 5 code points, 10 bytes */
	ok_body("{\"name\":\"a\",\"note\":null}");
	ok_body("{\"name\":\"a\",\"note\":\"line1\\nline2\\r\\n\\tx\"}");
	ok_body("{\"name\":\"a\",\"email\":\"a.b+c@example.com\",\"delta\":-5,\"price\":0,"
	    "\"restock\":false,\"address\":{\"city\":\"Paris\",\"country\":\"FR\"},"
	    "\"items\":[{\"product_id\":1,\"quantity\":1000},{\"product_id\":9007199254740991,\"quantity\":1}],"
	    "\"roles\":[\"ADMIN\",\"SELLER\"],\"any\":\"\"}");
	ok_body("{\"name\":\"a\",\"delta\":-9223372036854775807}");
	ok_body("{\"name\":\"a\",\"delta\":9223372036854775806}");
	ok_body("{\"name\":\"a\",\"any\":\"x\"}");
}

static void test_body_structure(void **state)
{
	struct shop_verrs errs;
	json_object *arr = json_object_new_array();

	(void)state;
	memset(&errs, 0, sizeof(errs));
	assert_int_equal(shop_validate_body(arr, spec, &errs), SHOP_EINVAL);
	assert_int_equal(errs.n, 1);
	assert_string_equal(errs.e[0].field, "");
	assert_string_equal(errs.e[0].code, "INVALID_TYPE");
	json_object_put(arr);
	memset(&errs, 0, sizeof(errs));
	assert_int_equal(shop_validate_body(NULL, spec, &errs), SHOP_EINVAL);

	one_error("{}", "name", "REQUIRED");
	one_error("{\"name\":\"a\",\"owner_id\":1}", "owner_id", "UNKNOWN_FIELD");
	one_error("{\"name\":\"a\",\"address\":{\"city\":\"x\",\"country\":\"FR\",\"zip\":1}}",
	    "address.zip", "UNKNOWN_FIELD");
	one_error("{\"name\":\"a\",\"items\":[{\"product_id\":1,\"quantity\":1,\"price\":1}]}",
	    "items[0].price", "UNKNOWN_FIELD");
	one_error("{\"name\":\"a\",\"address\":{\"city\":\"x\"}}", "address.country", "REQUIRED");
	one_error("{\"name\":null}", "name", "INVALID_TYPE");
	one_error("{\"name\":\"a\",\"delta\":null}", "delta", "INVALID_TYPE");
}

static void test_body_types(void **state)
{
	(void)state;
	one_error("{\"name\":1}", "name", "INVALID_TYPE");
	one_error("{\"name\":[\"a\"]}", "name", "INVALID_TYPE");
	one_error("{\"name\":\"a\",\"delta\":\"1\"}", "delta", "INVALID_TYPE");
	one_error("{\"name\":\"a\",\"delta\":1.0}", "delta", "INVALID_TYPE");
	one_error("{\"name\":\"a\",\"delta\":1e3}", "delta", "INVALID_TYPE");
	one_error("{\"name\":\"a\",\"delta\":true}", "delta", "INVALID_TYPE");
	one_error("{\"name\":\"a\",\"restock\":1}", "restock", "INVALID_TYPE");
	one_error("{\"name\":\"a\",\"restock\":\"true\"}", "restock", "INVALID_TYPE");
	one_error("{\"name\":\"a\",\"address\":[]}", "address", "INVALID_TYPE");
	one_error("{\"name\":\"a\",\"items\":{}}", "items", "INVALID_TYPE");
	one_error("{\"name\":\"a\",\"items\":[1]}", "items[0]", "INVALID_TYPE");
	one_error("{\"name\":\"a\",\"items\":[{\"product_id\":1,\"quantity\":1},{\"product_id\":\"2\",\"quantity\":1}]}",
	    "items[1].product_id", "INVALID_TYPE");
	one_error("{\"name\":\"a\",\"roles\":[\"ADMIN\",7]}", "roles[1]", "INVALID_TYPE");
}

static void test_body_ranges(void **state)
{
	(void)state;
	one_error("{\"name\":\"a\",\"price\":-1}", "price", "OUT_OF_RANGE");
	one_error("{\"name\":\"a\",\"price\":1000001}", "price", "OUT_OF_RANGE");
	one_error("{\"name\":\"a\",\"price\":99999999999999999999}", "price", "OUT_OF_RANGE");
	one_error("{\"name\":\"a\",\"price\":-99999999999999999999}", "price", "OUT_OF_RANGE");
	/* unbounded fields still refuse what json-c had to saturate */
	one_error("{\"name\":\"a\",\"delta\":99999999999999999999}", "delta", "OUT_OF_RANGE");
	one_error("{\"name\":\"a\",\"delta\":9223372036854775808}", "delta", "OUT_OF_RANGE");
	one_error("{\"name\":\"a\",\"delta\":18446744073709551615}", "delta", "OUT_OF_RANGE");
	one_error("{\"name\":\"a\",\"delta\":-9223372036854775809}", "delta", "OUT_OF_RANGE");
	one_error("{\"name\":\"a\",\"items\":[{\"product_id\":1,\"quantity\":0}]}",
	    "items[0].quantity", "OUT_OF_RANGE");
	one_error("{\"name\":\"a\",\"items\":[{\"product_id\":9007199254740992,\"quantity\":1}]}",
	    "items[0].product_id", "OUT_OF_RANGE");
	one_error("{\"name\":\"a\",\"items\":[]}", "items", "INVALID_LENGTH");
	one_error("{\"name\":\"a\",\"items\":[{\"product_id\":1,\"quantity\":1},{\"product_id\":1,\"quantity\":1},"
	    "{\"product_id\":1,\"quantity\":1},{\"product_id\":1,\"quantity\":1}]}", "items", "INVALID_LENGTH");
	one_error("{\"name\":\"a\",\"roles\":[]}", "roles", "INVALID_LENGTH");
}

static void test_body_strings(void **state)
{
	char big[20000];

	(void)state;
	one_error("{\"name\":\"\"}", "name", "INVALID_LENGTH");
	one_error("{\"name\":\"abcdef\"}", "name", "INVALID_LENGTH");
	one_error("{\"name\":\"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\"}", "name", "INVALID_LENGTH");
	one_error("{\"name\":\"a\\nb\"}", "name", "INVALID_FORMAT");
	one_error("{\"name\":\"a\\tb\"}", "name", "INVALID_FORMAT");
	one_error("{\"name\":\"a\\u007f\"}", "name", "INVALID_FORMAT");
	one_error("{\"name\":\"a\\u0085\"}", "name", "INVALID_FORMAT");   /* C1 control */
	one_error("{\"name\":\"a\\u2028\"}", "name", "INVALID_FORMAT");   /* line separator */
	one_error("{\"name\":\"a\",\"note\":\"x\\u0001\"}", "note", "INVALID_FORMAT");
	one_error("{\"name\":\"a\",\"note\":\"x\\u001b[31m\"}", "note", "INVALID_FORMAT");
	one_error("{\"name\":\"a\",\"email\":\"not-an-email\"}", "email", "INVALID_FORMAT");
	one_error("{\"name\":\"a\",\"address\":{\"city\":\"x\",\"country\":\"fr\"}}",
	    "address.country", "INVALID_FORMAT");
	one_error("{\"name\":\"a\",\"roles\":[\"ADMIN\",\"ROOT\"]}", "roles[1]", "INVALID_FORMAT");
	one_error("{\"name\":\"a\",\"roles\":[\"ADMIN\\n\"]}", "roles[0]", "INVALID_FORMAT");
	/* long strings: the length is checked, nothing overflows */
	memcpy(big, "{\"name\":\"a\",\"note\":\"", 20);
	memset(big + 20, 'x', sizeof(big) - 23);
	memcpy(big + sizeof(big) - 3, "\"}", 3);
	one_error(big, "note", "INVALID_LENGTH");
}

static void test_body_many_errors(void **state)
{
	struct shop_verrs errs;
	char text[4096];
	size_t n = 0;
	int i;

	(void)state;
	/* every error is reported, up to the limit, and the result is EINVAL */
	n += (size_t)snprintf(text + n, sizeof(text) - n, "{\"name\":1");
	for (i = 0; i < 40; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, ",\"x%d\":%d", i, i);
	snprintf(text + n, sizeof(text) - n, "}");
	assert_int_equal(run(text, &errs), SHOP_EINVAL);
	assert_int_equal(errs.n, SHOP_MAX_VERRS);
	for (i = 0; i < (int)errs.n; i++)
		assert_non_null(errs.e[i].code);
}

static void test_field_path_truncation(void **state)
{
	static const struct shop_field flat[] = { { .name = NULL } };
	struct shop_verrs errs;
	char text[512];
	const char *why;
	json_object *o;
	int n;

	(void)state;
	/* a long unknown key made of 2-byte characters: the field is cut at a
	 * character boundary and stays valid UTF-8 */
	n = snprintf(text, sizeof(text), "{\"a");
	while (n < 400)
		n += snprintf(text + n, sizeof(text) - (size_t)n, "\xc3\xa9");
	snprintf(text + n, sizeof(text) - (size_t)n, "\":1}");
	o = shop_json_parse(text, strlen(text), &why);
	assert_non_null(o);
	memset(&errs, 0, sizeof(errs));
	assert_int_equal(shop_validate_body(o, flat, &errs), SHOP_EINVAL);
	assert_int_equal(errs.n, 1);
	assert_string_equal(errs.e[0].code, "UNKNOWN_FIELD");
	assert_true(strlen(errs.e[0].field) < sizeof(errs.e[0].field));
	assert_true(strlen(errs.e[0].field) >= 90);
	assert_int_equal(strlen(errs.e[0].field) % 2, 1); /* "a" + whole "é"s */
	json_object_put(o);
}

static void test_verrs_add(void **state)
{
	struct shop_verrs errs;
	unsigned i;

	(void)state;
	memset(&errs, 0, sizeof(errs));
	shop_verrs_add(&errs, NULL, "REQUIRED", NULL);
	assert_string_equal(errs.e[0].field, "");
	assert_string_equal(errs.e[0].detail, "");
	shop_verrs_add(&errs, "f", "X", "%d items", 3);
	assert_string_equal(errs.e[1].detail, "3 items");
	for (i = 0; i < 40; i++)
		shop_verrs_add(&errs, "f", "X", "n");
	assert_int_equal(errs.n, SHOP_MAX_VERRS);
}

/* Query strings. */

static const struct shop_field qspec[] = {
	{ .name = "limit", .type = SHOP_T_INT, .min = 1, .max = 100 },
	{ .name = "q", .type = SHOP_T_STRING, .max = 20 },
	{ .name = "sort", .type = SHOP_T_STRING, .min = 1, .max = 16 },
	{ .name = "min_price", .type = SHOP_T_INT, .min = 0, .max = 1000000 },
	{ .name = "email", .type = SHOP_T_STRING, .format = shop_fmt_email },
	{ .name = NULL },
};


static int q_setup(void **state)
{
	*state = shop_arena_new(1024);
	return 0;
}

static int q_teardown(void **state)
{
	shop_arena_free(*state);
	return 0;
}

static const char *qget(const struct shop_query *q, const char *name, size_t *len)
{
	unsigned i;

	for (i = 0; i < q->n; i++)
		if (!strcmp(q->p[i].name, name)) {
			if (len)
				*len = q->p[i].len;
			return q->p[i].value;
		}
	return NULL;
}

static void q_bad(struct shop_arena *a, const char *raw, const char *field, const char *code)
{
	struct shop_query q;
	struct shop_verrs errs;
	int rc;

	memset(&errs, 0, sizeof(errs));
	rc = shop_query_parse(a, raw, qspec, &q, &errs);
	if (rc != SHOP_EINVAL || errs.n < 1 || strcmp(errs.e[0].field, field) ||
	    strcmp(errs.e[0].code, code))
		fail_msg("'%s': expected %s %s, got rc %d %s %s", raw, field, code, rc,
		    errs.n ? errs.e[0].field : "-", errs.n ? errs.e[0].code : "-");
}

static void test_query_ok(void **state)
{
	struct shop_arena *a = *state;
	struct shop_query q;
	struct shop_verrs errs;
	size_t len;

	memset(&errs, 0, sizeof(errs));
	assert_int_equal(shop_query_parse(a, "", qspec, &q, &errs), 0);
	assert_int_equal(q.n, 0);
	assert_int_equal(shop_query_parse(a, NULL, qspec, &q, &errs), 0);
	assert_int_equal(q.n, 0);
	assert_int_equal(shop_query_parse(a, "", NULL, &q, &errs), 0);

	assert_int_equal(shop_query_parse(a, "limit=20&q=red+shoes%21&sort=-price", qspec, &q, &errs), 0);
	assert_int_equal(q.n, 3);
	assert_string_equal(qget(&q, "limit", NULL), "20");
	assert_string_equal(qget(&q, "q", &len), "red shoes!");
	assert_int_equal(len, 10);
	assert_string_equal(qget(&q, "sort", NULL), "-price");
	assert_null(qget(&q, "min_price", NULL));

	/* UTF-8 percent-encoded, '+' and %2B, an encoded '&' and '=' */
	assert_int_equal(shop_query_parse(a, "q=caf%C3%A9+%2B+a%26b%3Dc", qspec, &q, &errs), 0);
	assert_string_equal(qget(&q, "q", NULL), "caf\xc3\xa9 + a&b=c");
	/* an empty string value is fine when min is 0 */
	assert_int_equal(shop_query_parse(a, "q=", qspec, &q, &errs), 0);
	assert_string_equal(qget(&q, "q", &len), "");
	assert_int_equal(len, 0);
	/* an encoded name */
	assert_int_equal(shop_query_parse(a, "%6cimit=1", qspec, &q, &errs), 0);
	assert_string_equal(qget(&q, "limit", NULL), "1");
	assert_int_equal(shop_query_parse(a, "min_price=0&limit=100", qspec, &q, &errs), 0);
	assert_int_equal(errs.n, 0);
}

static void test_query_bad(void **state)
{
	struct shop_arena *a = *state;
	struct shop_query q;
	struct shop_verrs errs;

	q_bad(a, "limit", "limit", "INVALID_FORMAT");
	q_bad(a, "=1", "", "INVALID_FORMAT");
	q_bad(a, "limit=1&", "", "INVALID_FORMAT");
	q_bad(a, "&limit=1", "", "INVALID_FORMAT");
	q_bad(a, "limit=1&&q=a", "", "INVALID_FORMAT");
	q_bad(a, "foo=1", "foo", "UNKNOWN_FIELD");
	q_bad(a, "Limit=1", "Limit", "UNKNOWN_FIELD");
	q_bad(a, "limit=1&limit=2", "limit", "DUPLICATE_FIELD");
	q_bad(a, "limit=1&%6Cimit=1", "limit", "DUPLICATE_FIELD");
	q_bad(a, "limit=", "limit", "INVALID_TYPE");
	q_bad(a, "limit=abc", "limit", "INVALID_TYPE");
	q_bad(a, "limit=1.0", "limit", "INVALID_TYPE");
	q_bad(a, "limit=1e1", "limit", "INVALID_TYPE");
	q_bad(a, "limit=+5", "limit", "INVALID_TYPE");
	q_bad(a, "limit=%2B5", "limit", "INVALID_TYPE");
	q_bad(a, "limit=05", "limit", "INVALID_TYPE");
	q_bad(a, "limit=+", "limit", "INVALID_TYPE");     /* '+' is a space */
	q_bad(a, "limit=0x10", "limit", "INVALID_TYPE");
	q_bad(a, "limit=0", "limit", "OUT_OF_RANGE");
	q_bad(a, "limit=101", "limit", "OUT_OF_RANGE");
	q_bad(a, "limit=-1", "limit", "OUT_OF_RANGE");
	q_bad(a, "limit=99999999999999999999", "limit", "OUT_OF_RANGE");
	q_bad(a, "min_price=-99999999999999999999", "min_price", "OUT_OF_RANGE");
	q_bad(a, "q=%", "q", "INVALID_FORMAT");
	q_bad(a, "q=%4", "q", "INVALID_FORMAT");
	q_bad(a, "q=%zz", "q", "INVALID_FORMAT");
	q_bad(a, "q=%G1", "q", "INVALID_FORMAT");
	q_bad(a, "q=%%41", "q", "INVALID_FORMAT");
	q_bad(a, "q=%00", "q", "INVALID_FORMAT");         /* NUL */
	q_bad(a, "q=a%0Ab", "q", "INVALID_FORMAT");       /* control character */
	q_bad(a, "q=a%09b", "q", "INVALID_FORMAT");
	q_bad(a, "q=%7F", "q", "INVALID_FORMAT");
	q_bad(a, "q=%C3", "q", "INVALID_FORMAT");         /* truncated UTF-8 */
	q_bad(a, "q=%C0%AF", "q", "INVALID_FORMAT");      /* overlong */
	q_bad(a, "q=%ED%A0%80", "q", "INVALID_FORMAT");   /* surrogate */
	q_bad(a, "q=\xff", "q", "INVALID_FORMAT");        /* raw invalid byte */
	q_bad(a, "q=aaaaaaaaaaaaaaaaaaaaa", "q", "INVALID_LENGTH");
	q_bad(a, "sort=", "sort", "INVALID_LENGTH");
	q_bad(a, "email=", "email", "INVALID_FORMAT");
	q_bad(a, "email=x", "email", "INVALID_FORMAT");
	q_bad(a, "%zz=1", "%zz", "INVALID_FORMAT");
	q_bad(a, "%00=1", "%00", "INVALID_FORMAT");
	q_bad(a, "li%0Amit=1", "li%0Amit", "INVALID_FORMAT");

	/* a name that is not printable ASCII is not echoed */
	memset(&errs, 0, sizeof(errs));
	assert_int_equal(shop_query_parse(a, "\xc3\xa9=1", qspec, &q, &errs), SHOP_EINVAL);
	assert_string_equal(errs.e[0].field, "");
	assert_string_equal(errs.e[0].code, "UNKNOWN_FIELD");
	/* no spec: nothing is accepted */
	memset(&errs, 0, sizeof(errs));
	assert_int_equal(shop_query_parse(a, "limit=1", NULL, &q, &errs), SHOP_EINVAL);
	assert_string_equal(errs.e[0].code, "UNKNOWN_FIELD");
	assert_int_equal(q.n, 0);
	/* several errors are all reported */
	memset(&errs, 0, sizeof(errs));
	assert_int_equal(shop_query_parse(a, "limit=0&foo=1&q=%zz", qspec, &q, &errs), SHOP_EINVAL);
	assert_int_equal(errs.n, 3);
}

static void test_query_required(void **state)
{
	static const struct shop_field req[] = {
		{ .name = "id", .type = SHOP_T_INT, .flags = SHOP_F_REQUIRED, .min = 1, .max = 10 },
		{ .name = "flag", .type = SHOP_T_BOOL },
		{ .name = NULL },
	};
	struct shop_arena *a = *state;
	struct shop_query q;
	struct shop_verrs errs;

	memset(&errs, 0, sizeof(errs));
	assert_int_equal(shop_query_parse(a, "", req, &q, &errs), SHOP_EINVAL);
	assert_string_equal(errs.e[0].field, "id");
	assert_string_equal(errs.e[0].code, "REQUIRED");
	memset(&errs, 0, sizeof(errs));
	assert_int_equal(shop_query_parse(a, "id=3", req, &q, &errs), 0);
	/* only STRING and INT are allowed in a query spec */
	memset(&errs, 0, sizeof(errs));
	assert_int_equal(shop_query_parse(a, "id=3&flag=true", req, &q, &errs), SHOP_EINVAL);
	assert_string_equal(errs.e[0].field, "flag");
}

static void test_query_long(void **state)
{
	struct shop_arena *a = *state;
	struct shop_query q;
	struct shop_verrs errs;
	static char raw[70000];
	size_t i;

	/* many pairs: all parsed, all refused as unknown, no overflow */
	for (i = 0; i + 4 < sizeof(raw); i += 4)
		memcpy(raw + i, "x=1&", 4);
	raw[i - 1] = '\0';
	memset(&errs, 0, sizeof(errs));
	assert_int_equal(shop_query_parse(a, raw, qspec, &q, &errs), SHOP_EINVAL);
	assert_int_equal(errs.n, SHOP_MAX_VERRS);
}

/* Formats. */

#define F(fn, s) fn(s, strlen(s))

static void test_fmt_email(void **state)
{
	static const char *const good[] = {
		"a@b.co", "first.last@example.com", "a+tag@sub.example.org", "A_B%c-d@x-y.example.de",
		"x@xn--p1ai.xn--p1ai", "1@2.com",
	};
	static const char *const bad[] = {
		"", "a", "@b.co", "a@", "a@b", "a@@b.co", "a@b@c.co", "a b@c.co", "a@b .co",
		".a@b.co", "a.@b.co", "a..b@c.co", "a@.b.co", "a@b.co.", "a@b..co", "a@-b.co",
		"a@b-.co", "a@b.c_o", "a@1.2.3.4", "a\"b@c.co", "a@b.co\n", "\xc3\xa9@b.co",
		"a@[127.0.0.1]", "(a)@b.co", "a@b,co",
	};
	char longmail[300];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (!F(shop_fmt_email, good[i]))
			fail_msg("refused %s", good[i]);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (F(shop_fmt_email, bad[i]))
			fail_msg("accepted %s", bad[i]);
	/* 64-byte local part is fine, 65 is not; 254 total is fine, 255 is not */
	memset(longmail, 'a', 64);
	memcpy(longmail + 64, "@b.co", 6);
	assert_true(F(shop_fmt_email, longmail));
	memset(longmail, 'a', 65);
	memcpy(longmail + 65, "@b.co", 6);
	assert_false(F(shop_fmt_email, longmail));
	memset(longmail, 'a', 10);
	longmail[10] = '@';
	for (i = 11; i < 254; i++)
		longmail[i] = (i % 50 == 0) ? '.' : 'b';
	memcpy(longmail + 250, ".com", 5);
	assert_int_equal(strlen(longmail), 254);
	assert_true(F(shop_fmt_email, longmail));
	memcpy(longmail + 250, ".comx", 6);
	assert_false(F(shop_fmt_email, longmail));
}

static void test_fmt_misc(void **state)
{
	char sku[70];

	(void)state;
	assert_true(F(shop_fmt_currency, "EUR"));
	assert_true(F(shop_fmt_currency, "USD"));
	assert_true(F(shop_fmt_currency, "AUD"));
	assert_false(F(shop_fmt_currency, "eur"));
	assert_false(F(shop_fmt_currency, "XXX"));
	assert_false(F(shop_fmt_currency, "EURO"));
	assert_false(F(shop_fmt_currency, "EU"));
	assert_false(F(shop_fmt_currency, "R U"));
	assert_false(shop_fmt_currency("EUR", 2));

	assert_true(F(shop_fmt_country, "FR"));
	assert_true(F(shop_fmt_country, "DE"));
	assert_true(F(shop_fmt_country, "US"));
	assert_true(F(shop_fmt_country, "AD"));
	assert_true(F(shop_fmt_country, "ZW"));
	assert_false(F(shop_fmt_country, "fr"));
	assert_false(F(shop_fmt_country, "Fr"));
	assert_false(F(shop_fmt_country, "XX"));
	assert_false(F(shop_fmt_country, "UK")); /* GB is the code */
	assert_false(F(shop_fmt_country, "FRA"));
	assert_false(F(shop_fmt_country, "F"));
	assert_false(F(shop_fmt_country, ""));
	assert_false(F(shop_fmt_country, "R "));
	{
		/* exactly the 249 assigned codes */
		char c[2];
		int n = 0;

		for (c[0] = 'A'; c[0] <= 'Z'; c[0]++)
			for (c[1] = 'A'; c[1] <= 'Z'; c[1]++)
				n += shop_fmt_country(c, 2);
		assert_int_equal(n, 249);
	}

	assert_true(F(shop_fmt_sku, "ABC-123_x.y"));
	assert_false(F(shop_fmt_sku, ""));
	assert_false(F(shop_fmt_sku, "a b"));
	assert_false(F(shop_fmt_sku, "a/b"));
	assert_false(F(shop_fmt_sku, "\xc3\xa9"));
	memset(sku, 'S', 64);
	sku[64] = '\0';
	assert_true(F(shop_fmt_sku, sku));
	sku[64] = 'S';
	sku[65] = '\0';
	assert_false(F(shop_fmt_sku, sku));

	assert_true(F(shop_fmt_role, "CUSTOMER"));
	assert_true(F(shop_fmt_role, "SELLER"));
	assert_true(F(shop_fmt_role, "ADMIN"));
	assert_false(F(shop_fmt_role, "admin"));
	assert_false(F(shop_fmt_role, "ADMINS"));
	assert_false(F(shop_fmt_role, "ROOT"));
	assert_false(F(shop_fmt_role, ""));
	assert_false(shop_fmt_role("ADMIN", 4));

	assert_true(F(shop_fmt_phone, "+33 1 23 45 67 89"));
	assert_true(F(shop_fmt_phone, "(555) 123-4567"));
	assert_true(F(shop_fmt_phone, "112"));
	assert_false(F(shop_fmt_phone, "12"));
	assert_false(F(shop_fmt_phone, "+-()"));
	assert_false(F(shop_fmt_phone, "1+23"));
	assert_false(F(shop_fmt_phone, "++123"));
	assert_false(F(shop_fmt_phone, "123abc"));
	assert_false(F(shop_fmt_phone, "123\n"));
	assert_false(F(shop_fmt_phone, "123456789012345678901234567890123"));

	assert_true(F(shop_fmt_single_line, "hello w\xc3\xb6rld"));
	assert_true(F(shop_fmt_single_line, ""));
	assert_false(F(shop_fmt_single_line, "a\nb"));
	assert_true(F(shop_fmt_text, "Blue mug"));
	assert_true(F(shop_fmt_text, "x"));
	assert_false(F(shop_fmt_text, ""));
	assert_false(F(shop_fmt_text, "   "));
	assert_false(F(shop_fmt_text, " lead"));
	assert_false(F(shop_fmt_text, "trail\t"));
	assert_false(F(shop_fmt_text, "two\nlines"));
	assert_false(F(shop_fmt_single_line, "a\tb"));
	assert_false(F(shop_fmt_single_line, "a\rb"));
	assert_false(F(shop_fmt_single_line, "\x7f"));
	assert_false(F(shop_fmt_single_line, "\xc2\x85"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_body_ok),
		cmocka_unit_test(test_body_structure),
		cmocka_unit_test(test_body_types),
		cmocka_unit_test(test_body_ranges),
		cmocka_unit_test(test_body_strings),
		cmocka_unit_test(test_body_many_errors),
		cmocka_unit_test(test_field_path_truncation),
		cmocka_unit_test(test_verrs_add),
		cmocka_unit_test_setup_teardown(test_query_ok, q_setup, q_teardown),
		cmocka_unit_test_setup_teardown(test_query_bad, q_setup, q_teardown),
		cmocka_unit_test_setup_teardown(test_query_required, q_setup, q_teardown),
		cmocka_unit_test_setup_teardown(test_query_long, q_setup, q_teardown),
		cmocka_unit_test(test_fmt_email),
		cmocka_unit_test(test_fmt_misc),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
