/* Unit tests of lib/mem.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/objects.h>

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

/* mem.c's start-up, 1: OpenSSL was initialised without a configuration
 * file, and a later request to read one (as mysql_library_init and
 * curl_global_init make) reads nothing: an object identifier that a
 * configuration file defines stays unknown. Nor was the table of legacy
 * names filled; fetching an algorithm, as the shop does, still works. */
static void test_start_openssl_without_config(void **state)
{
	char path[] = "/tmp/shop-test-mem-XXXXXX";
	OPENSSL_INIT_SETTINGS *set;
	EVP_MD *md;
	FILE *f;
	int fd;

	(void)state;
	if (getenv("OPENSSL_CONF") != NULL) {
		/* cmocka prints skips as "not ok # SKIP", a failure to automake */
		printf("# OPENSSL_CONF set: mem.c leaves OpenSSL's start-up alone, not checked\n");
		return;
	}
	assert_int_equal(OPENSSL_init_crypto(OPENSSL_INIT_ADD_ALL_DIGESTS, NULL), 1);
	assert_null(EVP_get_digestbyname("SHA256"));
	md = EVP_MD_fetch(NULL, "SHA256", NULL);
	assert_non_null(md);
	EVP_MD_free(md);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	fputs("openssl_conf = init\n[init]\noid_section = oids\n[oids]\n"
	    "shopTestOid = 1.3.6.1.4.1.55555.1\n", f);
	assert_int_equal(fclose(f), 0);
	set = OPENSSL_INIT_new();
	assert_non_null(set);
	assert_int_equal(OPENSSL_INIT_set_config_filename(set, path), 1);
	assert_int_equal(OPENSSL_init_crypto(OPENSSL_INIT_LOAD_CONFIG, set), 1);
	OPENSSL_INIT_free(set);
	unlink(path);
	assert_int_equal(OBJ_sn2nid("shopTestOid"), NID_undef);
}

#ifndef __SANITIZE_ADDRESS__ /* with ASan, malloc is ASan's allocator, not glibc's */
#define START_THREADS 6

/* Allocates, then waits until every thread has: a thread that ended would
 * hand its arena to the next one. */
static void *alloc_some(void *arg)
{
	void *p = malloc(1000);

	pthread_barrier_wait(arg);
	free(p);
	return NULL;
}

/* mem.c's start-up, 2: however many threads allocate, the process keeps at
 * most two malloc arenas (malloc_info lists one <heap> per arena). */
static void test_start_malloc_arenas(void **state)
{
	pthread_t th[START_THREADS];
	pthread_barrier_t all;
	char *buf = NULL;
	size_t len = 0, heaps = 0;
	const char *p;
	FILE *f;

	(void)state;
	if (getenv("MALLOC_ARENA_MAX") != NULL || getenv("GLIBC_TUNABLES") != NULL) {
		printf("# MALLOC_ARENA_MAX or GLIBC_TUNABLES set: mem.c leaves the arenas alone,"
		    " not checked\n");
		return;
	}
	assert_int_equal(pthread_barrier_init(&all, NULL, START_THREADS), 0);
	for (int i = 0; i < START_THREADS; i++)
		assert_int_equal(pthread_create(&th[i], NULL, alloc_some, &all), 0);
	for (int i = 0; i < START_THREADS; i++)
		assert_int_equal(pthread_join(th[i], NULL), 0);
	pthread_barrier_destroy(&all);
	f = open_memstream(&buf, &len);
	assert_non_null(f);
	assert_int_equal(malloc_info(0, f), 0);
	assert_int_equal(fclose(f), 0);
	for (p = buf; (p = strstr(p, "<heap nr=")) != NULL; p++)
		heaps++;
	free(buf);
	assert_true(heaps >= 1);
	assert_true(heaps <= 2);
}
#endif

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
		cmocka_unit_test(test_start_openssl_without_config),
#ifndef __SANITIZE_ADDRESS__
		cmocka_unit_test(test_start_malloc_arenas),
#endif
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
