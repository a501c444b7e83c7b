/* The catalog's search text: catalog_search_expr() turns ?q= into a MariaDB
 * BOOLEAN MODE expression, exactly as the products list handler calls it
 * (out of 2 * n + 1 bytes).
 *
 * Input: the search text (any bytes; the handler only passes validated
 * UTF-8, the function must not care).
 * Properties: it never fails with that buffer (a failure there is a 500);
 * the expression is the returned number of terms "+word*" separated by one
 * blank, each word valid UTF-8 of 3..84 characters holding none of the
 * operators + - < > ( ) ~ * " @, no blank and no control character; the
 * same call with exactly the room it needs gives the same text, with one
 * byte less SHOP_ETOOBIG. */
#include <stdlib.h>
#include <string.h>

#include "fcgi-apps/catalog/catalog.h"
#include "lib/err.h"
#include "lib/util.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

static void check_terms(const char *out, int words)
{
	const char *p = out;
	int terms = 0;

	if (words == 0) {
		FUZZ_CHECK(out[0] == '\0');
		return;
	}
	for (;;) {
		size_t len;

		FUZZ_CHECK(*p == '+');
		p++;
		len = strcspn(p, " ");
		FUZZ_CHECK(len >= 2 && p[len - 1] == '*');
		FUZZ_CHECK(shop_utf8_valid(p, len - 1));
		FUZZ_CHECK(shop_utf8_len(p, len - 1) >= CATALOG_FT_MIN_WORD &&
		    shop_utf8_len(p, len - 1) <= CATALOG_FT_MAX_WORD);
		for (size_t i = 0; i < len - 1; i++) {
			unsigned char c = (unsigned char)p[i];

			FUZZ_CHECK(c > ' ' && c != 0x7f);
			FUZZ_CHECK(!strchr("+-<>()~*\"@", c));
		}
		terms++;
		p += len;
		if (*p == '\0')
			break;
		FUZZ_CHECK(*p == ' ');
		p++;
	}
	FUZZ_CHECK(terms == words);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t sz = 2 * size + 1, need;
	char *out = malloc(sz), *exact;
	int rc;

	FUZZ_CHECK(out != NULL);
	rc = catalog_search_expr(out, sz, (const char *)data, size);
	FUZZ_CHECK(rc >= 0);
	check_terms(out, rc);

	need = strlen(out) + 1;
	exact = malloc(need);
	FUZZ_CHECK(exact != NULL);
	FUZZ_CHECK(catalog_search_expr(exact, need, (const char *)data, size) == rc);
	FUZZ_CHECK(strcmp(exact, out) == 0);
	if (rc > 0)
		FUZZ_CHECK(catalog_search_expr(exact, need - 1, (const char *)data, size) ==
		    SHOP_ETOOBIG);
	free(exact);
	free(out);
	return 0;
}
