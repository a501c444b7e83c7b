/* lib/password.c: argon2id hashing and verification. Uses the smallest
 * limits libsodium accepts (the test profile's 1 / 8192) to stay fast. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "lib/err.h"
#include "lib/password.h"

#define OPS 1
#define MEM 8192

static void test_hash_verify(void **state)
{
	const char *pw = "correct horse battery staple";
	char h[SHOP_PWHASH_MAX];

	(void)state;
	assert_int_equal(shop_password_hash(h, pw, strlen(pw), OPS, MEM), 0);
	assert_true(strncmp(h, "$argon2id$", 10) == 0);
	assert_true(shop_password_verify(h, pw, strlen(pw)));
	/* The hash never contains the password. */
	assert_null(strstr(h, "horse"));
}

static void test_wrong_password(void **state)
{
	const char *pw = "correct horse battery staple";
	char h[SHOP_PWHASH_MAX];

	(void)state;
	assert_int_equal(shop_password_hash(h, pw, strlen(pw), OPS, MEM), 0);
	assert_false(shop_password_verify(h, "correct horse battery stapl", 27));
	assert_false(shop_password_verify(h, "Correct horse battery staple", strlen(pw)));
	assert_false(shop_password_verify(h, "", 0));
	/* The length counts: a prefix of the right password is wrong. */
	assert_false(shop_password_verify(h, pw, strlen(pw) - 1));
}

static void test_salted(void **state)
{
	const char *pw = "same password twice";
	char a[SHOP_PWHASH_MAX], b[SHOP_PWHASH_MAX];

	(void)state;
	assert_int_equal(shop_password_hash(a, pw, strlen(pw), OPS, MEM), 0);
	assert_int_equal(shop_password_hash(b, pw, strlen(pw), OPS, MEM), 0);
	assert_string_not_equal(a, b);
	assert_true(shop_password_verify(a, pw, strlen(pw)));
	assert_true(shop_password_verify(b, pw, strlen(pw)));
}

static void test_bytes_not_strings(void **state)
{
	/* Passwords are byte strings: an embedded NUL is part of them. */
	const char pw[] = "abc\0defghijk";
	char h[SHOP_PWHASH_MAX];

	(void)state;
	assert_int_equal(shop_password_hash(h, pw, sizeof(pw) - 1, OPS, MEM), 0);
	assert_true(shop_password_verify(h, pw, sizeof(pw) - 1));
	assert_false(shop_password_verify(h, pw, 3));
}

static void test_bad_hash(void **state)
{
	(void)state;
	assert_false(shop_password_verify(NULL, "x", 1));
	assert_false(shop_password_verify("", "x", 1));
	assert_false(shop_password_verify("$argon2id$v=19$m=8,t=1,p=1$AAAA$AAAA", "x", 1));
	assert_false(shop_password_verify("plaintext-password", "plaintext-password", 18));
}

static void test_limits(void **state)
{
	const char *pw = "limits-password";
	char h[SHOP_PWHASH_MAX];

	(void)state;
	/* 0, 0: libsodium's interactive limits, written into the string. */
	assert_int_equal(shop_password_hash(h, pw, strlen(pw), 0, 0), 0);
	assert_non_null(strstr(h, "m=65536,t=2"));
	assert_true(shop_password_verify(h, pw, strlen(pw)));
	assert_int_equal(shop_password_hash(h, pw, strlen(pw), 3, 16384), 0);
	assert_non_null(strstr(h, "m=16,t=3"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hash_verify),
		cmocka_unit_test(test_wrong_password),
		cmocka_unit_test(test_salted),
		cmocka_unit_test(test_bytes_not_strings),
		cmocka_unit_test(test_bad_hash),
		cmocka_unit_test(test_limits),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
