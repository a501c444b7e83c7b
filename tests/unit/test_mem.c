/* Unit tests of lib/mem.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/mem.h"

static void test_xalloc(void **state)
{
	char *p, *q;
	int *z;
	size_t i;

	(void)state;
	p = shop_xmalloc(0);
	assert_non_null(p);
	free(p);
	z = shop_xcalloc(16, sizeof(*z));
	for (i = 0; i < 16; i++)
		assert_int_equal(z[i], 0);
	z = shop_xrealloc(z, 4096 * sizeof(*z));
	z[4095] = 1;
	free(z);
	q = shop_xstrdup("hello");
	assert_string_equal(q, "hello");
	free(q);
}

static void test_arena_alignment(void **state)
{
	struct shop_arena *a = shop_arena_new(1024);
	size_t i;

	(void)state;
	for (i = 0; i < 500; i++) {
		size_t n = (i * 7) % 300;
		unsigned char *p = shop_arena_alloc(a, n);

		assert_non_null(p);
		assert_int_equal((uintptr_t)p % 16, 0);
		memset(p, 0xab, n);
	}
	/* zero-size allocations are distinct, valid pointers */
	assert_ptr_not_equal(shop_arena_alloc(a, 0), shop_arena_alloc(a, 0));
	shop_arena_free(a);
}

static void test_arena_no_overlap(void **state)
{
	struct shop_arena *a = shop_arena_new(256);
	unsigned char *ptrs[200];
	size_t sizes[200], i, j;

	(void)state;
	for (i = 0; i < 200; i++) {
		sizes[i] = 1 + (i * 13) % 200;
		if (i % 17 == 0)
			sizes[i] = 5000; /* large: own chunk */
		ptrs[i] = shop_arena_alloc(a, sizes[i]);
		memset(ptrs[i], (int)(i & 0xff), sizes[i]);
	}
	for (i = 0; i < 200; i++)
		for (j = 0; j < sizes[i]; j++)
			assert_int_equal(ptrs[i][j], i & 0xff);
	shop_arena_free(a);
}

static void test_arena_large_keeps_chunk(void **state)
{
	struct shop_arena *a = shop_arena_new(4096);
	char *p1, *big, *p2;

	(void)state;
	p1 = shop_arena_alloc(a, 16);
	big = shop_arena_alloc(a, 1 << 20);
	memset(big, 1, 1 << 20);
	p2 = shop_arena_alloc(a, 16);
	/* the small allocation after a large one still comes from the first chunk */
	assert_ptr_equal(p2, p1 + 16);
	shop_arena_free(a);
}

static void test_arena_reset(void **state)
{
	struct shop_arena *a = shop_arena_new(512);
	char *first, *again;
	int round;

	(void)state;
	first = shop_arena_alloc(a, 10);
	for (round = 0; round < 50; round++) {
		int i;

		for (i = 0; i < 100; i++)
			memset(shop_arena_alloc(a, 100), 0x5a, 100);
		shop_arena_alloc(a, 100000);
		shop_arena_reset(a);
		again = shop_arena_alloc(a, 10);
		/* reset keeps the first chunk and starts over in it */
		assert_ptr_equal(again, first);
	}
	shop_arena_reset(NULL);
	shop_arena_free(a);
	shop_arena_free(NULL);
}

static void test_arena_strings(void **state)
{
	struct shop_arena *a = shop_arena_new(0);
	char *s, *big;
	char *z;
	size_t i;

	(void)state;
	assert_string_equal(shop_arena_strdup(a, "abc"), "abc");
	assert_string_equal(shop_arena_strdup(a, ""), "");
	assert_string_equal(shop_arena_strndup(a, "abcdef", 3), "abc");
	s = shop_arena_strndup(a, "a\0b", 3);
	assert_memory_equal(s, "a\0b\0", 4);
	assert_string_equal(shop_arena_printf(a, "%s-%d-%05.1f", "x", 42, 3.14159), "x-42-003.1");
	big = shop_arena_printf(a, "%0*d", 10000, 7);
	assert_int_equal(strlen(big), 10000);
	assert_int_equal(big[9999], '7');
	assert_int_equal(big[0], '0');
	z = shop_arena_calloc(a, 3000);
	for (i = 0; i < 3000; i++)
		assert_int_equal(z[i], 0);
	shop_arena_free(a);
}

#ifdef __SANITIZE_ADDRESS__
/* ASan's allocator would report the impossible size below and exit on its
 * own; told to return NULL instead, it lets shop_xmalloc's own
 * out-of-memory path run, as without sanitizers. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
	return "allocator_may_return_null=1";
}
#endif

static void test_xmalloc_oom_aborts(void **state)
{
	pid_t pid;
	int st;

	(void)state;
	/* Out-of-memory must abort, never return NULL. Run it in a child. */
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		freopen("/dev/null", "w", stderr);
		shop_xmalloc(SIZE_MAX - 64);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFSIGNALED(st));
	assert_int_equal(WTERMSIG(st), SIGABRT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_xalloc),
		cmocka_unit_test(test_arena_alignment),
		cmocka_unit_test(test_arena_no_overlap),
		cmocka_unit_test(test_arena_large_keeps_chunk),
		cmocka_unit_test(test_arena_reset),
		cmocka_unit_test(test_arena_strings),
		cmocka_unit_test(test_xmalloc_oom_aborts),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
