/* lib/outbox.c without a database: event ids (TAP through cmocka). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <ctype.h>
#include <string.h>

#include "lib/err.h"
#include "lib/outbox.h"

static void test_event_id_is_uuid_v4(void **state)
{
	char id[37];

	(void)state;
	for (int n = 0; n < 1000; n++) {
		memset(id, 'x', sizeof(id));
		shop_event_id(id);
		assert_int_equal(strlen(id), 36);
		for (int i = 0; i < 36; i++) {
			if (i == 8 || i == 13 || i == 18 || i == 23)
				assert_int_equal(id[i], '-');
			else
				assert_true(isxdigit((unsigned char)id[i]) &&
				    !isupper((unsigned char)id[i]));
		}
		assert_int_equal(id[14], '4');                   /* version */
		assert_non_null(strchr("89ab", id[19]));        /* variant */
	}
}

static void test_event_ids_differ(void **state)
{
	static char ids[2000][37];

	(void)state;
	for (int i = 0; i < 2000; i++)
		shop_event_id(ids[i]);
	for (int i = 0; i < 2000; i++)
		for (int j = i + 1; j < 2000; j++)
			assert_string_not_equal(ids[i], ids[j]);
}

static void test_claim_refuses_empty(void **state)
{
	(void)state;
	/* Refused before the database is touched. */
	assert_int_equal(shop_inbox_claim(NULL, 0, "inventory", ""), SHOP_EINVAL);
	assert_int_equal(shop_inbox_claim(NULL, 0, NULL, "x"), SHOP_EINVAL);
	assert_int_equal(shop_outbox_add(NULL, 0, NULL, "order", 1, NULL, NULL), SHOP_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_event_id_is_uuid_v4),
		cmocka_unit_test(test_event_ids_differ),
		cmocka_unit_test(test_claim_refuses_empty),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
