/* Unit tests of lib/auth.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "lib/auth.h"
#include "lib/err.h"

#define P(s, r) shop_roles_parse(s, strlen(s), r)

static void test_roles_parse(void **state)
{
	static const char *const bad[] = {
		"", ",", "CUSTOMER,", ",CUSTOMER", "CUSTOMER,,SELLER", "customer", "Admin",
		"CUSTOMER, SELLER", " ADMIN", "ADMIN ", "ADMIN,ADMIN", "CUSTOMER,SELLER,CUSTOMER",
		"ROOT", "ADMINS", "ADMI", "CUSTOMER;SELLER", "ADMIN\n", "CUSTOMER,SELLER,ADMIN,X",
	};
	unsigned r = 99;
	size_t i;

	(void)state;
	assert_int_equal(P("CUSTOMER", &r), 0);
	assert_int_equal(r, SHOP_ROLE_CUSTOMER);
	assert_int_equal(P("SELLER,CUSTOMER", &r), 0);
	assert_int_equal(r, SHOP_ROLE_CUSTOMER | SHOP_ROLE_SELLER);
	assert_int_equal(P("ADMIN,SELLER,CUSTOMER", &r), 0);
	assert_int_equal(r, SHOP_ROLE_ALL);
	/* only n bytes are read */
	assert_int_equal(shop_roles_parse("ADMIN,garbage", 5, &r), 0);
	assert_int_equal(r, SHOP_ROLE_ADMIN);
	assert_int_equal(shop_roles_parse("ADMIN\0SELLER", 12, &r), SHOP_EINVAL);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		r = 99;
		if (P(bad[i], &r) != SHOP_EINVAL)
			fail_msg("accepted '%s'", bad[i]);
		assert_int_equal(r, 0);
	}
	assert_int_equal(shop_roles_parse(NULL, 0, &r), SHOP_EINVAL);
}

static void test_roles_format(void **state)
{
	char out[64];
	unsigned r;

	(void)state;
	assert_int_equal(shop_roles_format(out, sizeof(out), SHOP_ROLE_ALL), 21);
	assert_string_equal(out, "CUSTOMER,SELLER,ADMIN");
	assert_int_equal(shop_roles_format(out, sizeof(out), SHOP_ROLE_ADMIN | SHOP_ROLE_CUSTOMER), 14);
	assert_string_equal(out, "CUSTOMER,ADMIN");
	assert_int_equal(shop_roles_format(out, sizeof(out), 0), 0);
	assert_string_equal(out, "");
	assert_int_equal(shop_roles_format(out, sizeof(out), 0x100 | SHOP_ROLE_SELLER), 6);
	assert_string_equal(out, "SELLER");
	/* too small: only whole names, always terminated */
	assert_int_equal(shop_roles_format(out, 10, SHOP_ROLE_ALL), 8);
	assert_string_equal(out, "CUSTOMER");
	assert_int_equal(shop_roles_format(out, 3, SHOP_ROLE_ALL), 0);
	assert_string_equal(out, "");
	assert_int_equal(shop_roles_format(out, 0, SHOP_ROLE_ALL), 0);
	/* format and parse agree */
	for (r = 1; r <= SHOP_ROLE_ALL; r++) {
		unsigned back;

		shop_roles_format(out, sizeof(out), r);
		assert_int_equal(shop_roles_parse(out, strlen(out), &back), 0);
		assert_int_equal(back, r);
	}
	assert_string_equal(shop_role_name(SHOP_ROLE_CUSTOMER), "CUSTOMER");
	assert_string_equal(shop_role_name(SHOP_ROLE_SELLER), "SELLER");
	assert_string_equal(shop_role_name(SHOP_ROLE_ADMIN), "ADMIN");
	assert_null(shop_role_name(0));
	assert_null(shop_role_name(SHOP_ROLE_ALL));
	assert_null(shop_role_name(8));
}

static void test_from_params(void **state)
{
	static const char *const bad_ids[] = {
		"0", "-1", "01", "+1", "1.0", "1e3", "abc", " 1", "1 ", "9007199254740992",
		"99999999999999999999",
	};
	struct shop_auth a;
	size_t i;

	(void)state;
	assert_int_equal(shop_auth_from_params(&a, "42", "CUSTOMER,SELLER"), 0);
	assert_int_equal(a.user_id, 42);
	assert_int_equal(a.roles, SHOP_ROLE_CUSTOMER | SHOP_ROLE_SELLER);
	assert_true(shop_auth_has(&a, SHOP_ROLE_SELLER));
	assert_false(shop_auth_has(&a, SHOP_ROLE_ADMIN));
	assert_int_equal(shop_auth_from_params(&a, "9007199254740991", "ADMIN"), 0);
	assert_true(a.user_id == 9007199254740991LL);

	assert_int_equal(shop_auth_from_params(&a, NULL, NULL), 0);
	assert_int_equal(a.user_id, 0);
	assert_int_equal(a.roles, 0);
	assert_int_equal(shop_auth_from_params(&a, "", ""), 0);
	assert_int_equal(a.user_id, 0);

	assert_int_equal(shop_auth_from_params(&a, "42", NULL), SHOP_EINVAL);
	assert_int_equal(a.user_id, 0);
	assert_int_equal(shop_auth_from_params(&a, NULL, "ADMIN"), SHOP_EINVAL);
	assert_int_equal(a.roles, 0);
	assert_int_equal(shop_auth_from_params(&a, "42", "ROOT"), SHOP_EINVAL);
	assert_int_equal(a.user_id, 0);
	assert_int_equal(a.roles, 0);
	for (i = 0; i < sizeof(bad_ids) / sizeof(bad_ids[0]); i++) {
		a.user_id = 5;
		a.roles = 5;
		if (shop_auth_from_params(&a, bad_ids[i], "ADMIN") != SHOP_EINVAL)
			fail_msg("accepted user id '%s'", bad_ids[i]);
		assert_int_equal(a.user_id, 0);
		assert_int_equal(a.roles, 0);
	}
}

static void test_owner_or_admin(void **state)
{
	struct shop_auth anon = { 0 }, alice = { 7, SHOP_ROLE_CUSTOMER },
	    admin = { 9, SHOP_ROLE_CUSTOMER | SHOP_ROLE_ADMIN };

	(void)state;
	assert_true(shop_auth_owner_or_admin(&alice, 7));
	assert_false(shop_auth_owner_or_admin(&alice, 8));
	assert_true(shop_auth_owner_or_admin(&admin, 7));
	/* anonymous never owns, not even an object whose owner reads as 0 */
	assert_false(shop_auth_owner_or_admin(&anon, 0));
	assert_false(shop_auth_owner_or_admin(&anon, 7));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roles_parse),
		cmocka_unit_test(test_roles_format),
		cmocka_unit_test(test_from_params),
		cmocka_unit_test(test_owner_or_admin),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
