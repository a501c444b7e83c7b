/* Unit tests of lib/json.c: hostile input and the envelope. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/json.h"

static json_object *parse(const char *s, const char **why)
{
	return shop_json_parse(s, strlen(s), why);
}

/* Asserts that s is refused, with a reason. */
static void refused(const char *s, size_t n)
{
	const char *why = NULL;
	json_object *o = shop_json_parse(s, n, &why);

	if (o)
		fail_msg("accepted: %.*s", (int)n, s);
	assert_non_null(why);
}

#define REFUSE(lit) refused(lit, sizeof(lit) - 1)

static void test_accepts(void **state)
{
	static const char *const ok[] = {
		"{}", "[]", "0", "-0", "1", "-1", "1.5", "1e3", "1E-3", "-0.0", "0.5e+10", "[0,-0,10,-1.25E+2]", "true", "false", "\"\"", "[null]",
		" {\"a\":1} ", "\n\t\r{}\n", "{\"a\":[1,2,{\"b\":null}],\"c\":\"d\"}",
		"\"\\u00e9\\n\\\"\\\\\\/\"", "\"h\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"",
		"9223372036854775807", "-9223372036854775808", "{\"a\\\\u0000\":1}",
		"{\"a\":1,\"A\":2}", "[{\"a\":1},{\"a\":2}]",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		const char *why = "unset";
		json_object *o = parse(ok[i], &why);

		if (!o)
			fail_msg("refused %s: %s", ok[i], why);
		assert_null(why);
		json_object_put(o);
	}
}

static void test_values(void **state)
{
	const char *why;
	json_object *o, *v;

	(void)state;
	o = parse("{\"a\":[1,2],\"s\":\"x\\u00e9\",\"n\":-42}", &why);
	assert_non_null(o);
	assert_true(json_object_object_get_ex(o, "n", &v));
	assert_int_equal(json_object_get_int64(v), -42);
	assert_true(json_object_object_get_ex(o, "s", &v));
	assert_string_equal(json_object_get_string(v), "x\xc3\xa9");
	json_object_put(o);
	/* a number alone at the very end of the input */
	o = parse("12345", &why);
	assert_non_null(o);
	assert_int_equal(json_object_get_int64(o), 12345);
	json_object_put(o);
	/* only n bytes are read */
	o = shop_json_parse("[1]garbage", 3, &why);
	assert_non_null(o);
	json_object_put(o);
	o = shop_json_parse("12", 1, &why);
	assert_non_null(o);
	assert_int_equal(json_object_get_int64(o), 1);
	json_object_put(o);
	/* why may be NULL */
	assert_null(shop_json_parse("{", 1, NULL));
}

static void test_malformed(void **state)
{
	(void)state;
	REFUSE("");
	REFUSE("   ");
	REFUSE("{");
	REFUSE("[1,2");
	REFUSE("\"abc");
	REFUSE("tru");
	REFUSE("{}x");
	REFUSE("{} {}");
	REFUSE("1 2");
	REFUSE("[1,]");
	REFUSE("{\"a\":1,}");
	REFUSE("{a:1}");
	REFUSE("{'a':1}");
	REFUSE("'a'");
	REFUSE("[\"a\",'b']");
	REFUSE("{\"a\":'b'}");
	REFUSE("null");
	REFUSE("[1;2]");
	REFUSE("[True]");
	REFUSE("[nul]");
	REFUSE("/*c*/{}");
	REFUSE("{}//c");
	REFUSE("01");
	REFUSE("+1");
	REFUSE(".5");
	REFUSE("1.");
	REFUSE("[1.]");
	REFUSE("{\"a\":1.}");
	REFUSE("1.e3");
	REFUSE("-.5");
	REFUSE("1e");
	REFUSE("1e+");
	REFUSE("[-]");
	REFUSE("[00]");
	REFUSE("[-01]");
	REFUSE("[1.5.5]");
	REFUSE("[1e5e5]");
	REFUSE("[1-2]");
	REFUSE("-");
	REFUSE("0x10");
	REFUSE("NaN");
	REFUSE("[NaN]");
	REFUSE("Infinity");
	REFUSE("-Infinity");
	REFUSE("[1e999]");
	REFUSE("\xef\xbb\xbf{}"); /* BOM */
	REFUSE("{\"a\" 1}");
	REFUSE("[\"a\" \"b\"]");
	REFUSE("{\"a\":1}}");
	REFUSE("\"\\x41\"");
	REFUSE("\"\\u12\"");
}

static void test_nul_and_control(void **state)
{
	(void)state;
	REFUSE("\"a\\u0000b\"");
	REFUSE("{\"k\":\"\\u0000\"}");
	REFUSE("{\"a\\u0000b\":1}");           /* NUL in a key */
	REFUSE("[\"x\", {\"y\":[\"\\u0000\"]}]");
	REFUSE("\"a\0b\"");                     /* raw NUL in a string */
	REFUSE("{}\0");                         /* NUL after the value */
	REFUSE("1\0");
	REFUSE("\0{}");
	REFUSE("\"a\tb\"");                     /* raw control characters */
	REFUSE("\"a\nb\"");
	REFUSE("\"\x01\"");
	REFUSE("{\"a\x1f\":1}");
}

static void test_utf8(void **state)
{
	(void)state;
	REFUSE("\"\xff\"");
	REFUSE("\"\xc3\"");
	REFUSE("\"\xc0\xaf\"");                  /* overlong */
	REFUSE("\"\xe0\x80\xaf\"");
	REFUSE("\"\xed\xa0\x80\"");              /* encoded surrogate */
	REFUSE("\"\xf4\x90\x80\x80\"");          /* > U+10FFFF */
	REFUSE("{\"\xc0\xaf\":1}");              /* in a key */
	REFUSE("[\"ok\",\"\x80\"]");
	REFUSE("{\"\xff\":1}");
}

static void test_lone_surrogate_escape(void **state)
{
	const char *why;
	json_object *o;

	(void)state;
	/* json-c replaces a lone surrogate escape with U+FFFD: valid UTF-8 results. */
	o = parse("\"\\ud800\"", &why);
	if (o) {
		const char *s = json_object_get_string(o);

		assert_string_equal(s, "\xef\xbf\xbd");
		json_object_put(o);
	}
	/* a proper pair is fine */
	o = parse("\"\\ud83d\\ude00\"", &why);
	assert_non_null(o);
	assert_string_equal(json_object_get_string(o), "\xf0\x9f\x98\x80");
	json_object_put(o);
}

static void test_depth(void **state)
{
	char buf[512];
	const char *why;
	json_object *o;
	int d, i;

	(void)state;
	for (d = 1; d <= 40; d++) {
		size_t n = 0;

		for (i = 0; i < d; i++)
			buf[n++] = (i % 2) ? '[' : '{', n += 0;
		/* build {"a":[{"a":[... alternately */
		n = 0;
		for (i = 0; i < d; i++) {
			if (i % 2 == 0) {
				memcpy(buf + n, "{\"a\":", 5);
				n += 5;
			} else {
				buf[n++] = '[';
			}
		}
		buf[n++] = '1';
		for (i = d - 1; i >= 0; i--)
			buf[n++] = (i % 2 == 0) ? '}' : ']';
		o = shop_json_parse(buf, n, &why);
		if (d <= SHOP_JSON_MAX_DEPTH) {
			if (!o)
				fail_msg("depth %d refused: %s", d, why);
			json_object_put(o);
		} else {
			if (o)
				fail_msg("depth %d accepted", d);
			assert_string_equal(why, "nesting too deep");
		}
	}
}

static void test_deep_bomb(void **state)
{
	size_t n = 1 << 20, i;
	char *buf = malloc(n);
	const char *why;

	(void)state;
	assert_non_null(buf);
	for (i = 0; i < n; i++)
		buf[i] = '[';
	assert_null(shop_json_parse(buf, n, &why));
	assert_string_equal(why, "nesting too deep");
	free(buf);
}

static void test_big_numbers(void **state)
{
	const char *why;
	json_object *o;

	(void)state;
	/* Parsed (json-c saturates); validate refuses them as OUT_OF_RANGE. */
	o = parse("99999999999999999999", &why);
	assert_non_null(o);
	assert_true(json_object_is_type(o, json_type_int));
	assert_true(json_object_get_int64(o) == INT64_MAX);
	json_object_put(o);
	o = parse("-99999999999999999999", &why);
	assert_non_null(o);
	assert_true(json_object_get_int64(o) == INT64_MIN);
	json_object_put(o);
	o = parse("1.0", &why);
	assert_non_null(o);
	assert_true(json_object_is_type(o, json_type_double));
	json_object_put(o);
}

static void test_duplicate_keys(void **state)
{
	const char *why;
	json_object *o;

	(void)state;
	REFUSE("{\"a\":1,\"a\":2}");
	REFUSE("{\"a\":{\"x\":1},\"a\":2}");
	REFUSE("{\"a\":{\"x\":1,\"x\":1}}");
	REFUSE("[{\"q\":1},{\"q\":1,\"b\":2,\"q\":3}]");
	REFUSE("{\"quantity\":1,\"quant\\u0069ty\":1000}");  /* the same key, escaped */
	o = parse("{\"a\":1,\"a\":2}", &why);
	assert_null(o);
	assert_string_equal(why, "duplicate key");
	/* colons inside strings are not members */
	o = parse("{\"a:b\":\"c:d\",\"e\":\"\\\":\"}", &why);
	assert_non_null(o);
	json_object_put(o);
}

static void test_long_string(void **state)
{
	size_t n = 200000, i;
	char *buf = malloc(n + 2);
	const char *why;
	json_object *o;

	(void)state;
	assert_non_null(buf);
	buf[0] = '"';
	for (i = 1; i <= n; i++)
		buf[i] = 'x';
	buf[n + 1] = '"';
	o = shop_json_parse(buf, n + 2, &why);
	assert_non_null(o);
	assert_int_equal(json_object_get_string_len(o), (int)n);
	json_object_put(o);
	free(buf);
}

static void test_envelope(void **state)
{
	json_object *o, *d, *errs;
	size_t len;
	const char *s;

	(void)state;
	d = json_object_new_object();
	json_object_object_add(d, "url", shop_json_str("http://x/y"));
	json_object_object_add(d, "n", shop_json_int(9007199254740991LL));
	json_object_object_add(d, "nul", shop_json_str(NULL));
	json_object_object_add(d, "bin", shop_json_strn("a\"b\\c\n", 6));
	o = shop_json_success(201, "Created", d);
	s = shop_json_text(o, &len);
	assert_string_equal(s, "{\"status\":\"SUCCESS\",\"code\":201,\"message\":\"Created\",\"data\":"
	    "{\"url\":\"http://x/y\",\"n\":9007199254740991,\"nul\":null,\"bin\":\"a\\\"b\\\\c\\n\"}}");
	assert_int_equal(len, strlen(s));
	json_object_put(o);

	o = shop_json_success(200, "OK", NULL);
	assert_string_equal(shop_json_text(o, NULL), "{\"status\":\"SUCCESS\",\"code\":200,\"message\":\"OK\"}");
	json_object_put(o);

	o = shop_json_error(400, "Bad", NULL);
	assert_string_equal(shop_json_text(o, NULL),
	    "{\"status\":\"ERROR\",\"code\":400,\"message\":\"Bad\",\"errors\":[]}");
	json_object_put(o);

	errs = json_object_new_array();
	json_object_array_add(errs, shop_json_error_item("items[0].quantity", "OUT_OF_STOCK", "only 3 left"));
	json_object_array_add(errs, shop_json_error_item(NULL, "X", NULL));
	o = shop_json_error(409, "Insufficient stock", errs);
	assert_string_equal(shop_json_text(o, NULL),
	    "{\"status\":\"ERROR\",\"code\":409,\"message\":\"Insufficient stock\",\"errors\":"
	    "[{\"field\":\"items[0].quantity\",\"code\":\"OUT_OF_STOCK\",\"detail\":\"only 3 left\"},"
	    "{\"code\":\"X\"}]}");
	json_object_put(o);

	o = shop_json_list(json_object_new_array(), NULL);
	assert_string_equal(shop_json_text(o, NULL), "{\"items\":[],\"next_cursor\":null}");
	json_object_put(o);
	o = shop_json_list(json_object_new_array(), "abc");
	assert_string_equal(shop_json_text(o, NULL), "{\"items\":[],\"next_cursor\":\"abc\"}");
	json_object_put(o);

	assert_string_equal(shop_json_text(NULL, &len), "null");
	assert_int_equal(len, 4);
}

static void test_roundtrip(void **state)
{
	const char *in = "{\"a\":\"\\u0001\xc3\xa9/\",\"b\":[true,false,null,-5]}";
	const char *why;
	json_object *o = parse(in, &why);
	json_object *o2;
	const char *out;

	(void)state;
	assert_non_null(o);
	out = shop_json_text(o, NULL);
	assert_string_equal(out, "{\"a\":\"\\u0001\xc3\xa9/\",\"b\":[true,false,null,-5]}");
	o2 = parse(out, &why);
	assert_non_null(o2);
	assert_true(json_object_equal(o, o2));
	json_object_put(o);
	json_object_put(o2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_accepts),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_nul_and_control),
		cmocka_unit_test(test_utf8),
		cmocka_unit_test(test_lone_surrogate_escape),
		cmocka_unit_test(test_depth),
		cmocka_unit_test(test_deep_bomb),
		cmocka_unit_test(test_big_numbers),
		cmocka_unit_test(test_duplicate_keys),
		cmocka_unit_test(test_long_string),
		cmocka_unit_test(test_envelope),
		cmocka_unit_test(test_roundtrip),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
