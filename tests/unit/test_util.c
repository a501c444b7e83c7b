/* Unit tests of lib/util.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <string.h>

#include "lib/err.h"
#include "lib/util.h"

static void test_b64url_vectors(void **state)
{
	/* RFC 4648 test vectors, without padding. */
	static const char *const in[] = { "", "f", "fo", "foo", "foob", "fooba", "foobar" };
	static const char *const out[] = { "", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE", "Zm9vYmFy" };
	char buf[16], dec[16];
	size_t i;

	(void)state;
	for (i = 0; i < SHOP_ARRAY_LEN(in); i++) {
		int n = shop_b64url_encode(buf, sizeof(buf), in[i], strlen(in[i]));

		assert_int_equal(n, (int)strlen(out[i]));
		assert_string_equal(buf, out[i]);
		n = shop_b64url_decode(dec, sizeof(dec), out[i], strlen(out[i]));
		assert_int_equal(n, (int)strlen(in[i]));
		assert_memory_equal(dec, in[i], (size_t)n);
	}
}

static void test_b64url_alphabet(void **state)
{
	unsigned char bin[3] = { 0xfb, 0xff, 0xbf };
	unsigned char dec[3];
	char buf[8];

	(void)state;
	assert_int_equal(shop_b64url_encode(buf, sizeof(buf), bin, 3), 4);
	assert_string_equal(buf, "-_-_");
	assert_int_equal(shop_b64url_decode(dec, sizeof(dec), "-_-_", 4), 3);
	assert_memory_equal(dec, bin, 3);
}

static void test_b64url_strict(void **state)
{
	char dec[32];

	(void)state;
	/* padding, standard alphabet, whitespace */
	assert_int_equal(shop_b64url_decode(dec, sizeof(dec), "Zg==", 4), SHOP_EINVAL);
	assert_int_equal(shop_b64url_decode(dec, sizeof(dec), "Zm9v+/", 6), SHOP_EINVAL);
	assert_int_equal(shop_b64url_decode(dec, sizeof(dec), "Zm9 v", 5), SHOP_EINVAL);
	assert_int_equal(shop_b64url_decode(dec, sizeof(dec), "Zm9v\n", 5), SHOP_EINVAL);
	/* impossible length */
	assert_int_equal(shop_b64url_decode(dec, sizeof(dec), "Z", 1), SHOP_EINVAL);
	assert_int_equal(shop_b64url_decode(dec, sizeof(dec), "Zm9vY", 5), SHOP_EINVAL);
	/* non-canonical trailing bits: "Zh" decodes to 'f' too but with stray bits */
	assert_int_equal(shop_b64url_decode(dec, sizeof(dec), "Zh", 2), SHOP_EINVAL);
	assert_int_equal(shop_b64url_decode(dec, sizeof(dec), "Zm9", 3), SHOP_EINVAL);
	assert_int_equal(shop_b64url_decode(dec, sizeof(dec), "Zm8", 3), 2);
	/* embedded NUL */
	assert_int_equal(shop_b64url_decode(dec, sizeof(dec), "Zm\0v", 4), SHOP_EINVAL);
	/* too small an output */
	assert_int_equal(shop_b64url_decode(dec, 2, "Zm9v", 4), SHOP_ETOOBIG);
	assert_int_equal(shop_b64url_decode(dec, 0, "", 0), 0);
}

static void test_b64url_sizes(void **state)
{
	unsigned char in[64];
	char buf[128];
	unsigned char dec[64];
	size_t n;

	(void)state;
	for (n = 0; n < sizeof(in); n++)
		in[n] = (unsigned char)(n * 37 + 1);
	for (n = 0; n <= sizeof(in); n++) {
		size_t need = (n * 4 + 2) / 3 + 1;
		int k;

		assert_int_equal(shop_b64url_encode(buf, need - 1, in, n), SHOP_ETOOBIG);
		k = shop_b64url_encode(buf, need, in, n);
		assert_int_equal(k, (int)need - 1);
		assert_int_equal(buf[k], '\0');
		assert_int_equal(shop_b64url_decode(dec, n, buf, (size_t)k), (int)n);
		assert_memory_equal(dec, in, n);
	}
}

static void test_hex(void **state)
{
	char out[9];

	(void)state;
	shop_hex_encode(out, "\x00\xab\xff\x10", 4);
	assert_string_equal(out, "00abff10");
	shop_hex_encode(out, "", 0);
	assert_string_equal(out, "");
}

static void test_sha256_hmac(void **state)
{
	unsigned char h[32];
	char hex[65];

	(void)state;
	shop_sha256(h, "abc", 3);
	shop_hex_encode(hex, h, 32);
	assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	shop_sha256(h, "", 0);
	shop_hex_encode(hex, h, 32);
	assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	/* The libsodium digest is the same digest, whatever the length. */
	{
		unsigned char buf[1000], h2[32];

		shop_sha256_small(h2, "abc", 3);
		shop_hex_encode(hex, h2, 32);
		assert_string_equal(hex,
		    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
		for (size_t n = 0; n < sizeof(buf); n += 37) {
			for (size_t i = 0; i < n; i++)
				buf[i] = (unsigned char)(i * 7 + n);
			shop_sha256(h, buf, n);
			shop_sha256_small(h2, buf, n);
			assert_memory_equal(h, h2, 32);
		}
	}
	/* RFC 4231 test case 2 */
	shop_hmac_sha256(h, "Jefe", 4, "what do ya want for nothing?", 28);
	shop_hex_encode(hex, h, 32);
	assert_string_equal(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
	/* RFC 4231 test case 6: a key longer than the block size */
	{
		unsigned char key[131];

		memset(key, 0xaa, sizeof(key));
		shop_hmac_sha256(h, key, sizeof(key),
		    "Test Using Larger Than Block-Size Key - Hash Key First", 54);
		shop_hex_encode(hex, h, 32);
		assert_string_equal(hex,
		    "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
	}
}

static void test_random_ct(void **state)
{
	unsigned char a[32], b[32];

	(void)state;
	shop_random_bytes(a, sizeof(a));
	shop_random_bytes(b, sizeof(b));
	assert_memory_not_equal(a, b, sizeof(a));
	assert_true(shop_ct_equal(a, a, sizeof(a)));
	assert_false(shop_ct_equal(a, b, sizeof(a)));
	memcpy(b, a, sizeof(a));
	b[31] ^= 1;
	assert_false(shop_ct_equal(a, b, sizeof(a)));
	assert_true(shop_ct_equal(a, b, 31));
	assert_true(shop_ct_equal(a, b, 0));
}

static void test_time(void **state)
{
	char out[21];
	long long now = shop_now();
	double m1, m2;

	(void)state;
	shop_time_rfc3339(out, 0);
	assert_string_equal(out, "1970-01-01T00:00:00Z");
	shop_time_rfc3339(out, 1795262400LL);
	assert_string_equal(out, "2026-11-21T12:00:00Z");
	shop_time_rfc3339(out, 951782400LL); /* leap day */
	assert_string_equal(out, "2000-02-29T00:00:00Z");
	shop_time_rfc3339(out, -5);
	assert_string_equal(out, "1970-01-01T00:00:00Z");
	shop_time_rfc3339(out, LLONG_MAX);
	assert_string_equal(out, "9999-12-31T23:59:59Z");
	assert_true(now > 1700000000LL);
	assert_true(shop_now_ms() / 1000 - now <= 1);
	m1 = shop_mono_ms();
	m2 = shop_mono_ms();
	assert_true(m2 >= m1);
}

static void test_parse_int(void **state)
{
	long long v = 42;

	(void)state;
	assert_int_equal(shop_parse_int("0", 1, LLONG_MIN, LLONG_MAX, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(shop_parse_int("123", 3, 0, 1000, &v), 0);
	assert_int_equal(v, 123);
	assert_int_equal(shop_parse_int("-17", 3, -20, 0, &v), 0);
	assert_int_equal(v, -17);
	assert_int_equal(shop_parse_int("9223372036854775807", 19, LLONG_MIN, LLONG_MAX, &v), 0);
	assert_true(v == LLONG_MAX);
	assert_int_equal(shop_parse_int("-9223372036854775808", 20, LLONG_MIN, LLONG_MAX, &v), 0);
	assert_true(v == LLONG_MIN);
	/* only the first n bytes count */
	assert_int_equal(shop_parse_int("12x", 2, 0, 100, &v), 0);
	assert_int_equal(v, 12);

	v = 7;
	assert_int_equal(shop_parse_int("9223372036854775808", 19, LLONG_MIN, LLONG_MAX, &v), SHOP_EINVAL);
	assert_int_equal(shop_parse_int("-9223372036854775809", 20, LLONG_MIN, LLONG_MAX, &v), SHOP_EINVAL);
	assert_int_equal(shop_parse_int("99999999999999999999", 20, LLONG_MIN, LLONG_MAX, &v), SHOP_EINVAL);
	assert_int_equal(shop_parse_int("", 0, LLONG_MIN, LLONG_MAX, &v), SHOP_EINVAL);
	assert_int_equal(shop_parse_int("-", 1, LLONG_MIN, LLONG_MAX, &v), SHOP_EINVAL);
	assert_int_equal(shop_parse_int("+1", 2, LLONG_MIN, LLONG_MAX, &v), SHOP_EINVAL);
	assert_int_equal(shop_parse_int("01", 2, LLONG_MIN, LLONG_MAX, &v), SHOP_EINVAL);
	assert_int_equal(shop_parse_int("-0", 2, LLONG_MIN, LLONG_MAX, &v), SHOP_EINVAL);
	assert_int_equal(shop_parse_int("00", 2, LLONG_MIN, LLONG_MAX, &v), SHOP_EINVAL);
	assert_int_equal(shop_parse_int(" 1", 2, LLONG_MIN, LLONG_MAX, &v), SHOP_EINVAL);
	assert_int_equal(shop_parse_int("1 ", 2, LLONG_MIN, LLONG_MAX, &v), SHOP_EINVAL);
	assert_int_equal(shop_parse_int("1e3", 3, LLONG_MIN, LLONG_MAX, &v), SHOP_EINVAL);
	assert_int_equal(shop_parse_int("1.0", 3, LLONG_MIN, LLONG_MAX, &v), SHOP_EINVAL);
	assert_int_equal(shop_parse_int("0x10", 4, LLONG_MIN, LLONG_MAX, &v), SHOP_EINVAL);
	assert_int_equal(shop_parse_int("1\0", 2, LLONG_MIN, LLONG_MAX, &v), SHOP_EINVAL);
	assert_int_equal(shop_parse_int("101", 3, 0, 100, &v), SHOP_EINVAL);
	assert_int_equal(shop_parse_int("0", 1, 1, 100, &v), SHOP_EINVAL);
	assert_int_equal(v, 7); /* untouched on failure */
}

static void test_utf8(void **state)
{
	(void)state;
	assert_true(shop_utf8_valid("", 0));
	assert_true(shop_utf8_valid("abc", 3));
	assert_true(shop_utf8_valid("\xc3\xa9", 2));             /* é */
	assert_true(shop_utf8_valid("\xe2\x82\xac", 3));         /* € */
	assert_true(shop_utf8_valid("\xf0\x9f\x98\x80", 4));     /* 😀 */
	assert_true(shop_utf8_valid("\xef\xbf\xbf", 3));         /* U+FFFF */
	assert_true(shop_utf8_valid("\xf4\x8f\xbf\xbf", 4));     /* U+10FFFF */
	assert_false(shop_utf8_valid("a\0b", 3));                /* NUL */
	assert_false(shop_utf8_valid("\x80", 1));                /* stray continuation */
	assert_false(shop_utf8_valid("\xc3", 1));                /* truncated */
	assert_false(shop_utf8_valid("\xe2\x82", 2));
	assert_false(shop_utf8_valid("\xc0\xaf", 2));            /* overlong '/' */
	assert_false(shop_utf8_valid("\xc1\xbf", 2));
	assert_false(shop_utf8_valid("\xe0\x80\xaf", 3));        /* overlong */
	assert_false(shop_utf8_valid("\xf0\x80\x80\xaf", 4));    /* overlong */
	assert_false(shop_utf8_valid("\xed\xa0\x80", 3));        /* surrogate U+D800 */
	assert_false(shop_utf8_valid("\xed\xbf\xbf", 3));        /* surrogate U+DFFF */
	assert_false(shop_utf8_valid("\xf4\x90\x80\x80", 4));    /* > U+10FFFF */
	assert_false(shop_utf8_valid("\xf5\x80\x80\x80", 4));
	assert_false(shop_utf8_valid("\xff", 1));
	assert_false(shop_utf8_valid("\xc3\x28", 2));            /* bad continuation */
	assert_int_equal(shop_utf8_len("", 0), 0);
	assert_int_equal(shop_utf8_len("abc", 3), 3);
	assert_int_equal(shop_utf8_len("h\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 10), 4);
}

static void test_hexval(void **state)
{
	const char *digits = "0123456789abcdef", *upper = "ABCDEF";

	(void)state;
	for (int i = 0; i < 16; i++)
		assert_int_equal(shop_hexval(digits[i]), i);
	for (int i = 0; i < 6; i++)
		assert_int_equal(shop_hexval(upper[i]), 10 + i);
	for (int c = -128; c < 128; c++) {
		if (!strchr("0123456789abcdefABCDEF", c) || c == 0)
			assert_int_equal(shop_hexval((char)c), -1);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_b64url_vectors),
		cmocka_unit_test(test_b64url_alphabet),
		cmocka_unit_test(test_b64url_strict),
		cmocka_unit_test(test_b64url_sizes),
		cmocka_unit_test(test_hex),
		cmocka_unit_test(test_hexval),
		cmocka_unit_test(test_sha256_hmac),
		cmocka_unit_test(test_random_ct),
		cmocka_unit_test(test_time),
		cmocka_unit_test(test_parse_int),
		cmocka_unit_test(test_utf8),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
