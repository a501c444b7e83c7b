/* Unit tests of lib/conf.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/conf.h"
#include "lib/err.h"
#include "lib/log.h"

static char path[64];

/* Writes text (n bytes) to a fresh temporary file; returns its path. */
static const char *write_conf(const char *text, size_t n)
{
	int fd;

	snprintf(path, sizeof(path), "/tmp/test_conf.XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, n), (ssize_t)n);
	close(fd);
	return path;
}

static int load_text(struct shop_conf **c, const char *text)
{
	int rc = shop_conf_load(c, write_conf(text, strlen(text)));

	unlink(path);
	return rc;
}

static int setup(void **state)
{
	int devnull = open("/dev/null", O_WRONLY);

	(void)state;
	/* syntax errors are logged: keep the TAP output clean */
	shop_log_init("test_conf", devnull, SHOP_LOG_DEBUG);
	unsetenv("SHOP_DB_PORT");
	unsetenv("SHOP_IDENTITY_DB_PASSWORD");
	unsetenv("SHOP_MY_APP_THREADS");
	return 0;
}

static void test_basic(void **state)
{
	struct shop_conf *c;

	(void)state;
	assert_int_equal(load_text(&c,
	    "# comment\n"
	    "; another\n"
	    "\n"
	    "[shop]\n"
	    "var_dir = /abs/var\n"
	    "log_level=debug\n"
	    "  profile  =   dev                 # dev | test\n"
	    "[db]\r\n"
	    "port = 3307\r\n"
	    "neg = -12\n"
	    "bad_int = 12x\n"
	    "big = 99999999999999999999\n"
	    "yes = on\n"
	    "no = FALSE\n"
	    "maybe = perhaps\n"
	    "\t[jwt]  \n"
	    "active_kid =                  # empty: newest key\n"
	    "empty =\n"
	    "url = http://x/y#frag\n"
	    "pw = a#b c\n"
	    "spaces = a  b\t c\n"
	    "[identity]\n"
	    "db_password = s3cr=t\n"
	    "threads = 4\n"
	    "[shop]\n"
	    "reopened = 1\n"), 0);
	assert_string_equal(shop_conf_get(c, "shop.var_dir", NULL), "/abs/var");
	assert_string_equal(shop_conf_get(c, "shop.log_level", NULL), "debug");
	assert_string_equal(shop_conf_get(c, "shop.profile", NULL), "dev");
	assert_string_equal(shop_conf_get(c, "shop.reopened", NULL), "1");
	assert_string_equal(shop_conf_get(c, "jwt.active_kid", "x"), "");
	assert_string_equal(shop_conf_get(c, "jwt.empty", "x"), "");
	assert_string_equal(shop_conf_get(c, "jwt.url", NULL), "http://x/y#frag");
	assert_string_equal(shop_conf_get(c, "jwt.pw", NULL), "a#b c");
	assert_string_equal(shop_conf_get(c, "jwt.spaces", NULL), "a  b\t c");
	assert_string_equal(shop_conf_get(c, "identity.db_password", NULL), "s3cr=t");
	assert_null(shop_conf_get(c, "shop.missing", NULL));
	assert_string_equal(shop_conf_get(c, "nosection.x", "def"), "def");
	assert_null(shop_conf_get(c, "var_dir", NULL));
	assert_null(shop_conf_get(c, "SHOP.var_dir", NULL));

	assert_int_equal(shop_conf_int(c, "db.port", 0), 3307);
	assert_int_equal(shop_conf_int(c, "db.neg", 0), -12);
	assert_int_equal(shop_conf_int(c, "db.bad_int", 7), 7);
	assert_int_equal(shop_conf_int(c, "db.big", 7), 7);
	assert_int_equal(shop_conf_int(c, "db.missing", 5), 5);
	assert_int_equal(shop_conf_int(c, "jwt.empty", 5), 5);

	assert_true(shop_conf_bool(c, "db.yes", false));
	assert_false(shop_conf_bool(c, "db.no", true));
	assert_true(shop_conf_bool(c, "db.maybe", true));
	assert_false(shop_conf_bool(c, "db.maybe", false));
	assert_true(shop_conf_bool(c, "db.missing", true));
	assert_true(shop_conf_bool(c, "shop.reopened", false));

	assert_string_equal(shop_conf_app(c, "identity", "db", "threads", "1"), "4");
	assert_string_equal(shop_conf_app(c, "identity", "db", "port", "1"), "3307");
	assert_string_equal(shop_conf_app(c, "identity", "db", "nothing", "1"), "1");
	assert_string_equal(shop_conf_app(c, NULL, "db", "port", "1"), "3307");
	assert_string_equal(shop_conf_app(c, "identity", NULL, "port", "1"), "1");
	shop_conf_free(c);
	shop_conf_free(NULL);
}

static void test_env_override(void **state)
{
	struct shop_conf *c;

	(void)state;
	setenv("SHOP_DB_PORT", "4000", 1);
	setenv("SHOP_IDENTITY_DB_PASSWORD", "from-env", 1);
	setenv("SHOP_MY_APP_THREADS", "9", 1);
	assert_int_equal(load_text(&c, "[db]\nport = 3307\n[identity]\ndb_password = file\n"), 0);
	/* the environment is read at load time */
	unsetenv("SHOP_DB_PORT");
	assert_int_equal(shop_conf_int(c, "db.port", 0), 4000);
	assert_string_equal(shop_conf_get(c, "identity.db_password", NULL), "from-env");
	/* '-' and '.' both become '_' */
	assert_string_equal(shop_conf_get(c, "my-app.threads", NULL), "9");
	assert_string_equal(shop_conf_app(c, "my-app", "db", "threads", "1"), "9");
	shop_conf_free(c);

	/* environment only */
	assert_int_equal(shop_conf_load(&c, NULL), 0);
	assert_string_equal(shop_conf_get(c, "identity.db_password", NULL), "from-env");
	assert_null(shop_conf_get(c, "db.port", NULL));
	shop_conf_free(c);
	unsetenv("SHOP_IDENTITY_DB_PASSWORD");
	unsetenv("SHOP_MY_APP_THREADS");
}

static void test_syntax_errors(void **state)
{
	static const char *const bad[] = {
		"key = value\n",                 /* outside a section */
		"[db\nport = 1\n",
		"[]\n",
		"[d b]\n",
		"[DB]\n",                        /* upper case */
		"[db] x\n",
		"[db]\nport\n",                  /* no '=' */
		"[db]\n= 1\n",
		"[db]\nPort = 1\n",
		"[db]\npo rt = 1\n",
		"[db]\nport: 1\n",
		"[db]\nport = 1\nport = 2\n",    /* set twice */
		"[db]\n\"port\" = 1\n",
		"[db]\nport.x = 1\n",
	};
	struct shop_conf *c = (struct shop_conf *)1;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (load_text(&c, bad[i]) != SHOP_EINVAL)
			fail_msg("accepted: %s", bad[i]);
		assert_null(c);
	}
	/* a NUL byte in the file */
	assert_int_equal(shop_conf_load(&c, write_conf("[db]\nport = 1\0 2\n", 16)), SHOP_EINVAL);
	unlink(path);
	assert_null(c);
}

static void test_io_errors(void **state)
{
	struct shop_conf *c;

	(void)state;
	assert_int_equal(shop_conf_load(&c, "/nonexistent/shop.conf"), SHOP_EIO);
	assert_null(c);
	assert_int_equal(shop_conf_load(&c, "/tmp"), SHOP_EIO);
	assert_null(c);
	/* an empty file is fine */
	assert_int_equal(load_text(&c, ""), 0);
	assert_null(shop_conf_get(c, "db.port", NULL));
	shop_conf_free(c);
	/* no final newline */
	assert_int_equal(load_text(&c, "[db]\nport = 5"), 0);
	assert_int_equal(shop_conf_int(c, "db.port", 0), 5);
	shop_conf_free(c);
}

static void test_long_lines(void **state)
{
	struct shop_conf *c;
	size_t n = 100000;
	char *text = malloc(n + 32);

	(void)state;
	assert_non_null(text);
	memcpy(text, "[db]\nlong = ", 12);
	memset(text + 12, 'v', n);
	memcpy(text + 12 + n, "\n", 2);
	assert_int_equal(load_text(&c, text), 0);
	assert_int_equal(strlen(shop_conf_get(c, "db.long", "")), n);
	shop_conf_free(c);
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_basic),
		cmocka_unit_test(test_env_override),
		cmocka_unit_test(test_syntax_errors),
		cmocka_unit_test(test_io_errors),
		cmocka_unit_test(test_long_lines),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, setup, NULL);
}
