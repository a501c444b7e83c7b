/* Cursors: shop_cursor_decode() of what a client sends as ?cursor=.
 *
 * Input: the cursor text, tried with every sort name the apps use ("id",
 * "newest", "price", "-price"). Properties: a cursor that decodes is
 * canonical (encoding what it decoded to gives back the same text) and
 * carries an id in 1 .. 2^53 - 1; one made for a sort decodes for no other
 * sort. Besides, the first 16 bytes taken as two integers must survive an
 * encode/decode round trip for every sort. */
#include <stdlib.h>
#include <string.h>

#include "lib/cursor.h"
#include "lib/err.h"
#include "tests/fuzz/fuzz.h"

static const char *const sorts[] = { "id", "newest", "price", "-price" };
#define NSORTS (sizeof(sorts) / sizeof(sorts[0]))

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

static void round_trip(const uint8_t *data, size_t size)
{
	long long value, id, v2, id2;
	char out[SHOP_CURSOR_MAX];
	size_t i;

	if (size < 16)
		return;
	memcpy(&value, data, sizeof(value));
	memcpy(&id, data + 8, sizeof(id));
	for (i = 0; i < NSORTS; i++) {
		int rc = shop_cursor_encode(out, sorts[i], value, id);

		if (id < 1 || id > FUZZ_MAX_ID) {
			FUZZ_CHECK(rc == SHOP_EINVAL);
			continue;
		}
		FUZZ_CHECK(rc == 0);
		FUZZ_CHECK(strlen(out) < SHOP_CURSOR_MAX);
		FUZZ_CHECK(shop_cursor_decode(out, sorts[i], &v2, &id2) == 0);
		FUZZ_CHECK(v2 == value && id2 == id);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_strndup(data, size), again[SHOP_CURSOR_MAX];
	unsigned decoded = 0;
	size_t i;

	for (i = 0; i < NSORTS; i++) {
		long long value = 0, id = 0;

		if (shop_cursor_decode(s, sorts[i], &value, &id) != 0)
			continue;
		decoded++;
		FUZZ_CHECK(id >= 1 && id <= FUZZ_MAX_ID);
		FUZZ_CHECK(shop_cursor_encode(again, sorts[i], value, id) == 0);
		FUZZ_CHECK(strcmp(again, s) == 0);
	}
	FUZZ_CHECK(decoded <= 1);
	round_trip(data, size);
	free(s);
	return 0;
}
