/* Unit tests of lib/cursor.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "lib/cursor.h"
#include "lib/err.h"
#include "lib/util.h"

/* base64url of arbitrary text, to forge cursors. */
static const char *forge(const char *text)
{
	static char out[SHOP_CURSOR_MAX * 2];

	assert_true(shop_b64url_encode(out, sizeof(out), text, strlen(text)) >= 0);
	return out;
}

static void test_roundtrip(void **state)
{
	static const long long values[] = { 0, 1, -1, 1999, LLONG_MAX, LLONG_MIN, 1795262400000LL };
	static const long long ids[] = { 1, 2, 9007199254740991LL };
	char c[SHOP_CURSOR_MAX];
	size_t i, j;

	(void)state;
	for (i = 0; i < SHOP_ARRAY_LEN(values); i++) {
		for (j = 0; j < SHOP_ARRAY_LEN(ids); j++) {
			long long v = 0, id = 0;

			assert_int_equal(shop_cursor_encode(c, "price", values[i], ids[j]), 0);
			assert_true(strlen(c) < SHOP_CURSOR_MAX);
			assert_int_equal(shop_cursor_decode(c, "price", &v, &id), 0);
			assert_true(v == values[i]);
			assert_true(id == ids[j]);
		}
	}
	/* the longest sort and the extreme values fit */
	assert_int_equal(shop_cursor_encode(c, "abcdefghijklmnop", LLONG_MIN, 9007199254740991LL), 0);
	assert_int_equal(shop_cursor_decode(c, "abcdefghijklmnop", NULL, NULL), 0);
	/* the cursor is URL-safe */
	assert_int_equal(strspn(c, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
	    strlen(c));
	/* it is the documented text form */
	assert_int_equal(shop_cursor_encode(c, "newest", 17, 5), 0);
	assert_string_equal(c, forge("v1|newest|17|5"));
}

static void test_encode_bad(void **state)
{
	char c[SHOP_CURSOR_MAX];

	(void)state;
	assert_int_equal(shop_cursor_encode(c, "", 1, 1), SHOP_EINVAL);
	assert_int_equal(shop_cursor_encode(c, NULL, 1, 1), SHOP_EINVAL);
	assert_int_equal(shop_cursor_encode(c, "Price", 1, 1), SHOP_EINVAL);
	assert_int_equal(shop_cursor_encode(c, "a|b", 1, 1), SHOP_EINVAL);
	assert_int_equal(shop_cursor_encode(c, "price1", 1, 1), SHOP_EINVAL);
	assert_int_equal(shop_cursor_encode(c, "abcdefghijklmnopq", 1, 1), SHOP_EINVAL);
	assert_int_equal(shop_cursor_encode(c, "price", 1, 0), SHOP_EINVAL);
	assert_int_equal(shop_cursor_encode(c, "price", 1, -1), SHOP_EINVAL);
	assert_string_equal(c, "");
}

static void test_decode_bad(void **state)
{
	static const char *const bad_text[] = {
		"v1|price|1", "v1|price|1|2|3", "v2|price|1|2", "V1|price|1|2", "|price|1|2",
		"v1|newest|1|2", "v1|pric|1|2", "v1|prices|1|2", "v1|price||2", "v1|price|1|",
		"v1|price|1|0", "v1|price|1|-1", "v1|price|01|2", "v1|price|1|02", "v1|price|+1|2",
		"v1|price|1|+2", "v1|price|1.5|2", "v1|price|1|2.0", "v1|price|1e3|2", "v1|price| 1|2",
		"v1|price|1|2 ", "v1|price|1|9007199254740992", "v1|price|99999999999999999999|2",
		"v1|price|-0|2", "v1|price|1|2\n", "v1|price|0x1|2", "v1|price|1|2|",
		"", "v1",
	};
	long long v = 77, id = 88;
	char big[300];
	size_t i;

	(void)state;
	for (i = 0; i < SHOP_ARRAY_LEN(bad_text); i++)
		if (shop_cursor_decode(forge(bad_text[i]), "price", &v, &id) != SHOP_EINVAL)
			fail_msg("accepted '%s'", bad_text[i]);
	/* an embedded NUL */
	{
		char c[64];

		assert_true(shop_b64url_encode(c, sizeof(c), "v1|price|1\0|2", 14) > 0);
		assert_int_equal(shop_cursor_decode(c, "price", &v, &id), SHOP_EINVAL);
		assert_true(shop_b64url_encode(c, sizeof(c), "v1|price\0|1|2", 14) > 0);
		assert_int_equal(shop_cursor_decode(c, "price", &v, &id), SHOP_EINVAL);
	}
	/* broken encodings */
	assert_int_equal(shop_cursor_decode("", "price", &v, &id), SHOP_EINVAL);
	assert_int_equal(shop_cursor_decode(NULL, "price", &v, &id), SHOP_EINVAL);
	assert_int_equal(shop_cursor_decode("djF8cHJpY2V8MXwy==", "price", &v, &id), SHOP_EINVAL);
	assert_int_equal(shop_cursor_decode("djF8cHJpY2V8MXwy", "price", &v, &id), 0);
	assert_int_equal(v, 1);
	assert_int_equal(id, 2);
	v = 77;
	assert_int_equal(shop_cursor_decode("djF8cHJpY2V8MXwy ", "price", &v, &id), SHOP_EINVAL);
	assert_int_equal(shop_cursor_decode("djF8cHJpY2V8MXw", "price", &v, &id), SHOP_EINVAL);
	assert_int_equal(shop_cursor_decode("djF8cHJpY2V8MXwy+", "price", &v, &id), SHOP_EINVAL);
	assert_int_equal(shop_cursor_decode("djF8cHJpY2V8MXwy%3D", "price", &v, &id), SHOP_EINVAL);
	/* "...MXwz" is "v1|price|1|3": valid, but not canonical with extra bits */
	assert_int_equal(shop_cursor_decode("djF8cHJpY2V8MXwz", "price", NULL, NULL), 0);
	assert_int_equal(shop_cursor_decode("djF8cHJpY2V8MXwzB", "price", &v, &id), SHOP_EINVAL);
	/* the wrong sort, or a bad expected sort */
	assert_int_equal(shop_cursor_decode("djF8cHJpY2V8MXwy", "newest", &v, &id), SHOP_EINVAL);
	assert_int_equal(shop_cursor_decode("djF8cHJpY2V8MXwy", "", &v, &id), SHOP_EINVAL);
	/* something huge */
	memset(big, 'A', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(shop_cursor_decode(big, "price", &v, &id), SHOP_EINVAL);
	assert_int_equal(v, 77);
	/* every single-character mutation of a valid cursor is refused, or is
	 * itself the canonical cursor of what it decodes to */
	{
		char c[SHOP_CURSOR_MAX], m[SHOP_CURSOR_MAX];
		const char *alpha = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=+/ .";
		size_t k, a;

		assert_int_equal(shop_cursor_encode(c, "price", 1999, 42), 0);
		for (k = 0; k < strlen(c); k++) {
			for (a = 0; a < strlen(alpha); a++) {
				long long v2, id2;

				memcpy(m, c, sizeof(c));
				if (m[k] == alpha[a])
					continue;
				m[k] = alpha[a];
				if (shop_cursor_decode(m, "price", &v2, &id2) == 0) {
					char again[SHOP_CURSOR_MAX];

					assert_true(id2 >= 1 && id2 <= 9007199254740991LL);
					assert_int_equal(shop_cursor_encode(again, "price", v2, id2), 0);
					assert_string_equal(again, m);
				}
			}
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_encode_bad),
		cmocka_unit_test(test_decode_bad),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
