/* Unit tests of lib/log.c: every line is one valid JSON object. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/json.h"
#include "lib/log.h"

static char logpath[64];
static int logfd = -1;

static int setup(void **state)
{
	(void)state;
	snprintf(logpath, sizeof(logpath), "/tmp/test_log.XXXXXX");
	logfd = mkstemp(logpath);
	if (logfd < 0)
		return -1;
	unlink(logpath);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	close(logfd);
	return 0;
}

static void reset(enum shop_log_level min)
{
	assert_int_equal(ftruncate(logfd, 0), 0);
	assert_int_equal(lseek(logfd, 0, SEEK_SET), 0);
	shop_log_init("testapp", logfd, min);
	shop_log_clear_request();
}

/* Reads everything logged so far. The caller frees. */
static char *slurp(size_t *len)
{
	off_t end = lseek(logfd, 0, SEEK_END);
	char *buf = malloc((size_t)end + 1);

	assert_non_null(buf);
	assert_int_equal(pread(logfd, buf, (size_t)end, 0), (ssize_t)end);
	buf[end] = '\0';
	*len = (size_t)end;
	return buf;
}

/* Parses line number idx (0-based) of the log as JSON. */
static json_object *line(size_t idx)
{
	size_t len, i, start = 0, k = 0;
	char *buf = slurp(&len);
	json_object *o = NULL;
	const char *why;

	for (i = 0; i < len; i++) {
		if (buf[i] != '\n')
			continue;
		if (k == idx) {
			o = shop_json_parse(buf + start, i - start, &why);
			if (!o)
				fail_msg("line %zu is not JSON (%s): %.*s", idx, why, (int)(i - start), buf + start);
			break;
		}
		k++;
		start = i + 1;
	}
	free(buf);
	if (!o)
		fail_msg("no line %zu", idx);
	return o;
}

static size_t nlines(void)
{
	size_t len, i, n = 0;
	char *buf = slurp(&len);

	for (i = 0; i < len; i++)
		n += buf[i] == '\n';
	free(buf);
	return n;
}

static const char *field(json_object *o, const char *name)
{
	json_object *v;

	if (!json_object_object_get_ex(o, name, &v))
		return NULL;
	return json_object_get_string(v);
}

static void test_fields(void **state)
{
	json_object *o;
	const char *t;

	(void)state;
	reset(SHOP_LOG_DEBUG);
	shop_log_info("hello %d", 42);
	o = line(0);
	assert_string_equal(field(o, "level"), "info");
	assert_string_equal(field(o, "app"), "testapp");
	assert_string_equal(field(o, "msg"), "hello 42");
	assert_null(field(o, "request_id"));
	assert_null(field(o, "user_id"));
	assert_null(field(o, "route"));
	assert_null(field(o, "status"));
	t = field(o, "time");
	assert_non_null(t);
	/* 2026-11-21T12:00:00.123Z */
	assert_int_equal(strlen(t), 24);
	assert_int_equal(t[4], '-');
	assert_int_equal(t[10], 'T');
	assert_int_equal(t[19], '.');
	assert_int_equal(t[23], 'Z');
	assert_int_equal(strspn(t + 20, "0123456789"), 3);
	json_object_put(o);
	/* the key order of the documented example */
	{
		size_t len;
		char *buf = slurp(&len);

		assert_true(strncmp(buf, "{\"time\":\"", 9) == 0);
		assert_non_null(strstr(buf, "\",\"level\":\"info\",\"app\":\"testapp\",\"msg\":\"hello 42\"}\n"));
		free(buf);
	}
}

static void test_levels(void **state)
{
	json_object *o;

	(void)state;
	reset(SHOP_LOG_WARN);
	shop_log_debug("no");
	shop_log_info("no");
	shop_log_request_done(200, 1.0);
	shop_log_warn("yes1");
	shop_log_error("yes2");
	assert_int_equal(nlines(), 2);
	o = line(0);
	assert_string_equal(field(o, "level"), "warn");
	json_object_put(o);
	o = line(1);
	assert_string_equal(field(o, "level"), "error");
	json_object_put(o);

	assert_int_equal(shop_log_level_parse("debug"), SHOP_LOG_DEBUG);
	assert_int_equal(shop_log_level_parse("info"), SHOP_LOG_INFO);
	assert_int_equal(shop_log_level_parse("warn"), SHOP_LOG_WARN);
	assert_int_equal(shop_log_level_parse("error"), SHOP_LOG_ERROR);
	assert_int_equal(shop_log_level_parse("bogus"), SHOP_LOG_INFO);
	assert_int_equal(shop_log_level_parse(""), SHOP_LOG_INFO);
	assert_int_equal(shop_log_level_parse(NULL), SHOP_LOG_INFO);
}

static void test_escaping(void **state)
{
	json_object *o;
	size_t len;
	char *buf;

	(void)state;
	reset(SHOP_LOG_DEBUG);
	shop_log_info("q\"b\\s/ nl\n cr\r tab\t bell\a esc\x1b del\x7f end");
	o = line(0);
	assert_string_equal(field(o, "msg"), "q\"b\\s/ nl\n cr\r tab\t bell\a esc\x1b del\x7f end");
	json_object_put(o);
	buf = slurp(&len);
	assert_non_null(strstr(buf, "q\\\"b\\\\s/ nl\\n cr\\r tab\\t bell\\u0007 esc\\u001b del\\u007f end"));
	assert_int_equal(memchr(buf, '\n', len), buf + len - 1); /* one line */
	free(buf);

	/* valid UTF-8 passes, invalid bytes become U+FFFD */
	reset(SHOP_LOG_DEBUG);
	shop_log_info("ok \xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80 bad \xff \xc0\xaf \xed\xa0\x80 \xe2\x82 cut \xc3");
	o = line(0);
	assert_string_equal(field(o, "msg"),
	    "ok \xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80 bad \xef\xbf\xbd "
	    "\xef\xbf\xbd\xef\xbf\xbd \xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd "
	    "\xef\xbf\xbd\xef\xbf\xbd cut \xef\xbf\xbd");
	json_object_put(o);
}

static void test_request_context(void **state)
{
	json_object *o;
	char longid[200];

	(void)state;
	reset(SHOP_LOG_DEBUG);
	assert_null(shop_log_request_id());
	shop_log_set_request("req-1", "42", "GET /api/v1/products/{id}");
	assert_string_equal(shop_log_request_id(), "req-1");
	shop_log_request_done(201, 1.5);
	shop_log_set_request("req-2", NULL, NULL);
	shop_log_warn("second");
	shop_log_clear_request();
	assert_null(shop_log_request_id());
	shop_log_error("third");

	o = line(0);
	assert_string_equal(field(o, "request_id"), "req-1");
	assert_string_equal(field(o, "user_id"), "42");
	assert_string_equal(field(o, "route"), "GET /api/v1/products/{id}");
	assert_string_equal(field(o, "status"), "201");
	assert_string_equal(field(o, "msg"), "request");
	{
		json_object *d;

		assert_true(json_object_object_get_ex(o, "duration_ms", &d));
		assert_true(json_object_is_type(d, json_type_double));
		assert_true(json_object_get_double(d) > 1.49 && json_object_get_double(d) < 1.51);
	}
	json_object_put(o);
	o = line(1);
	assert_string_equal(field(o, "request_id"), "req-2");
	assert_null(field(o, "user_id"));
	assert_null(field(o, "route"));
	json_object_put(o);
	o = line(2);
	assert_null(field(o, "request_id"));
	json_object_put(o);

	/* truncated to 64 bytes; a hostile id stays valid JSON */
	reset(SHOP_LOG_DEBUG);
	memset(longid, 'x', sizeof(longid) - 1);
	longid[sizeof(longid) - 1] = '\0';
	longid[3] = '"';
	longid[4] = '\n';
	shop_log_set_request(longid, "\xff", NULL);
	assert_int_equal(strlen(shop_log_request_id()), 64);
	shop_log_info("x");
	o = line(0);
	assert_int_equal(strlen(field(o, "request_id")), 64);
	assert_string_equal(field(o, "user_id"), "\xef\xbf\xbd");
	json_object_put(o);
	shop_log_clear_request();
}

static void *other_thread(void *arg)
{
	(void)arg;
	/* a new thread starts without context */
	if (shop_log_request_id() != NULL)
		return (void *)1;
	shop_log_set_request("thread-req", "7", NULL);
	shop_log_info("from thread");
	return NULL;
}

static void test_thread_local(void **state)
{
	pthread_t t;
	void *ret;
	json_object *o;

	(void)state;
	reset(SHOP_LOG_DEBUG);
	shop_log_set_request("main-req", NULL, NULL);
	assert_int_equal(pthread_create(&t, NULL, other_thread, NULL), 0);
	assert_int_equal(pthread_join(t, &ret), 0);
	assert_null(ret);
	assert_string_equal(shop_log_request_id(), "main-req");
	o = line(0);
	assert_string_equal(field(o, "request_id"), "thread-req");
	json_object_put(o);
	shop_log_clear_request();
}

static void *writer(void *arg)
{
	int i;
	char big[3000];

	memset(big, 'a' + (int)(intptr_t)arg, sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	for (i = 0; i < 200; i++)
		shop_log_info("%s %d", big, i);
	return NULL;
}

static void test_concurrent_lines(void **state)
{
	pthread_t t[4];
	size_t i, n;

	(void)state;
	reset(SHOP_LOG_DEBUG);
	for (i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&t[i], NULL, writer, (void *)(intptr_t)i), 0);
	for (i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	n = nlines();
	assert_int_equal(n, 800);
	/* lines never interleave: each one is a whole JSON object */
	for (i = 0; i < n; i += 37) {
		json_object *o = line(i);

		assert_int_equal(strlen(field(o, "msg")) > 3000, 1);
		json_object_put(o);
	}
}

static void test_long_message(void **state)
{
	size_t n = 100000, len;
	char *big = malloc(n + 1), *buf;
	json_object *o;

	(void)state;
	assert_non_null(big);
	/* worst case for escaping: every byte needs \u00XX */
	memset(big, 0x01, n);
	big[n] = '\0';
	reset(SHOP_LOG_DEBUG);
	shop_log_info("%s", big);
	/* multi-byte characters cut at the limit */
	memset(big, 0, n);
	for (len = 0; len + 3 <= n; len += 3)
		memcpy(big + len, "\xe2\x82\xac", 3);
	shop_log_info("x%s", big);
	assert_int_equal(nlines(), 2);
	o = line(0);
	assert_true(strlen(field(o, "msg")) > 1000);
	json_object_put(o);
	o = line(1);
	assert_true(strlen(field(o, "msg")) > 1000);
	json_object_put(o);
	buf = slurp(&len);
	assert_true(len < 64 * 1024);
	free(buf);
	free(big);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fields),
		cmocka_unit_test(test_levels),
		cmocka_unit_test(test_escaping),
		cmocka_unit_test(test_request_context),
		cmocka_unit_test(test_thread_local),
		cmocka_unit_test(test_concurrent_lines),
		cmocka_unit_test(test_long_message),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, setup, teardown);
}
