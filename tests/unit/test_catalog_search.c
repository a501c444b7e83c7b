/* Unit tests of catalog_search_expr(): the user's search text must never act
 * as a MariaDB boolean-mode operator. Prints TAP. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "fcgi-apps/catalog/catalog.h"
#include "lib/err.h"

static int expr(const char *q, char *out, size_t outsz)
{
	return catalog_search_expr(out, outsz, q, strlen(q));
}

static void check(const char *q, const char *want, int nwords)
{
	char out[2048];
	int n = expr(q, out, 2 * strlen(q) + 1);

	assert_int_equal(n, nwords);
	assert_string_equal(out, want);
}

static void test_plain_words(void **state)
{
	(void)state;
	check("lamp", "+lamp*", 1);
	check("oak desk lamp", "+oak* +desk* +lamp*", 3);
	check("  Coffee\tGrinder  ", "+Coffee* +Grinder*", 2);
	check("bike_light 2024", "+bike_light* +2024*", 2);
}

static void test_operators_neutralised(void **state)
{
	(void)state;
	check("+lamp -oak", "+lamp* +oak*", 2);
	check("\"desk lamp\"", "+desk* +lamp*", 2);
	check("lamp* (oak) <desk >chair ~steel", "+lamp* +oak* +desk* +chair* +steel*", 5);
	check("@3 lamp@5", "+lamp*", 1);
	check("+-*\"()<>~@", "", 0);
}

static void test_sql_metacharacters(void **state)
{
	(void)state;
	check("'; DROP TABLE products; --", "+DROP* +TABLE* +products*", 3);
	check("lamp' OR '1'='1", "+lamp*", 1);
	check("\\x00 %_ lamp", "+x00* +lamp*", 2);
}

static void test_stopwords_and_short_words(void **state)
{
	(void)state;
	check("the lamp", "+lamp*", 1);
	check("THE Lamp of a WITH", "+Lamp*", 1);
	check("tv", "", 0);
	check("a an the", "", 0);
	check("theatre", "+theatre*", 1);
}

static void test_utf8(void **state)
{
	(void)state;
	check("caf\xc3\xa9 cr\xc3\xa8me", "+caf\xc3\xa9* +cr\xc3\xa8me*", 2);
	/* An em dash and a euro sign separate words. */
	check("lamp\xe2\x80\x94oak \xe2\x82\xac" "100", "+lamp* +oak* +100*", 3);
	/* Three code points in six bytes is long enough. */
	check("\xc3\xa9\xc3\xa9\xc3\xa9", "+\xc3\xa9\xc3\xa9\xc3\xa9*", 1);
	check("\xc3\xa9\xc3\xa9", "", 0);
}

static void test_long_words(void **state)
{
	char q[200];

	(void)state;
	memset(q, 'x', 85);
	q[85] = '\0';
	check(q, "", 0);
	q[84] = '\0';
	assert_int_equal(expr(q, (char[200]){0}, 200), 1);
}

static void test_buffer_too_small(void **state)
{
	char out[8];

	(void)state;
	assert_int_equal(expr("lamp desk", out, sizeof(out)), SHOP_ETOOBIG);
	assert_int_equal(catalog_search_expr(out, 0, "lamp", 4), SHOP_ETOOBIG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_words),
		cmocka_unit_test(test_operators_neutralised),
		cmocka_unit_test(test_sql_metacharacters),
		cmocka_unit_test(test_stopwords_and_short_words),
		cmocka_unit_test(test_utf8),
		cmocka_unit_test(test_long_words),
		cmocka_unit_test(test_buffer_too_small),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
