/* The webhook signature (fcgi-apps/payments/signature.c): the strict
 * Shop-Signature parser, the verifier against known HMAC-SHA256 vectors
 * (computed independently with Python's hmac module), the time window, the
 * signer, and the secret file reader. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fcgi-apps/payments/signature.h"
#include "lib/err.h"

#define SECRET "whsec_test"
#define BODY "{\"id\":\"evt_1\"}"
#define T 1700000000LL
/* HMAC-SHA256("whsec_test", "1700000000." BODY) and (..., "1700000000.") */
#define GOOD "c89214b5b5da833daed6f0b8c5bb6bd58cea9022bd80ccc78230f3942d632925"
#define GOOD_EMPTY "5967f3c560522fa40cf2876ebc3c3a08551dd6959aaade3b413460591895bdcc"
#define OTHER "0000000000000000000000000000000000000000000000000000000000000000"

static int verify_at(const char *hdr, const char *body, long long now)
{
	return pay_sig_verify(hdr, SECRET, strlen(SECRET), body, strlen(body), now, 300);
}

static int verify(const char *hdr)
{
	return verify_at(hdr, BODY, T);
}

static void test_good(void **state)
{
	(void)state;
	assert_int_equal(verify("t=1700000000,v1=" GOOD), 0);
	/* order of items does not matter */
	assert_int_equal(verify("v1=" GOOD ",t=1700000000"), 0);
	/* an empty body is signed like any other */
	assert_int_equal(verify_at("t=1700000000,v1=" GOOD_EMPTY, "", T), 0);
	/* no header at all */
	assert_int_equal(verify(NULL), SHOP_EINVAL);
}

static void test_two_v1(void **state)
{
	(void)state;
	assert_int_equal(verify("t=1700000000,v1=" OTHER ",v1=" GOOD), 0);
	assert_int_equal(verify("t=1700000000,v1=" GOOD ",v1=" OTHER), 0);
	assert_int_equal(verify("t=1700000000,v1=" OTHER ",v1=" OTHER), SHOP_EAUTH);
	/* at most 8 */
	assert_int_equal(verify("t=1700000000,v1=" OTHER ",v1=" OTHER ",v1=" OTHER ",v1=" OTHER
	    ",v1=" OTHER ",v1=" OTHER ",v1=" OTHER ",v1=" GOOD), 0);
	assert_int_equal(verify("t=1700000000,v1=" OTHER ",v1=" OTHER ",v1=" OTHER ",v1=" OTHER
	    ",v1=" OTHER ",v1=" OTHER ",v1=" OTHER ",v1=" OTHER ",v1=" GOOD), SHOP_EINVAL);
}

static void test_bad_hex(void **state)
{
	char up[] = "t=1700000000,v1=" GOOD;
	char *p;

	(void)state;
	/* upper case is not canonical */
	for (p = up + 16; *p; p++)
		if (*p >= 'a' && *p <= 'f')
			*p = (char)(*p - 'a' + 'A');
	assert_int_equal(verify(up), SHOP_EINVAL);
	assert_int_equal(verify("t=1700000000,v1=g89214b5b5da833daed6f0b8c5bb6bd58cea9022bd80ccc78230f3942d632925"),
	    SHOP_EINVAL);
	/* 63 and 65 digits */
	assert_int_equal(verify("t=1700000000,v1=c89214b5b5da833daed6f0b8c5bb6bd58cea9022bd80ccc78230f3942d63292"),
	    SHOP_EINVAL);
	assert_int_equal(verify("t=1700000000,v1=" GOOD "5"), SHOP_EINVAL);
	/* a bad v1 spoils the header even when another v1 is good */
	assert_int_equal(verify("t=1700000000,v1=" GOOD ",v1=xyz"), SHOP_EINVAL);
	/* a good-looking but wrong MAC */
	assert_int_equal(verify("t=1700000000,v1=d89214b5b5da833daed6f0b8c5bb6bd58cea9022bd80ccc78230f3942d632925"),
	    SHOP_EAUTH);
}

static void test_body_change(void **state)
{
	char body[] = BODY;

	(void)state;
	for (size_t i = 0; i < strlen(body); i++) {
		body[i] ^= 0x01;
		assert_int_equal(verify_at("t=1700000000,v1=" GOOD, body, T), SHOP_EAUTH);
		body[i] ^= 0x01;
	}
	assert_int_equal(verify_at("t=1700000000,v1=" GOOD, body, T), 0);
	/* one byte more or less */
	assert_int_equal(verify_at("t=1700000000,v1=" GOOD, BODY " ", T), SHOP_EAUTH);
	assert_int_equal(pay_sig_verify("t=1700000000,v1=" GOOD, SECRET, strlen(SECRET), BODY,
	    strlen(BODY) - 1, T, 300), SHOP_EAUTH);
	/* another secret */
	assert_int_equal(pay_sig_verify("t=1700000000,v1=" GOOD, "whsec_tesu", 10, BODY,
	    strlen(BODY), T, 300), SHOP_EAUTH);
	/* the timestamp is part of what is signed */
	assert_int_equal(verify_at("t=1700000001,v1=" GOOD, BODY, T), SHOP_EAUTH);
}

static void test_time_window(void **state)
{
	(void)state;
	/* stale: 300 s is still fine, 301 s is not */
	assert_int_equal(verify_at("t=1700000000,v1=" GOOD, BODY, T + 300), 0);
	assert_int_equal(verify_at("t=1700000000,v1=" GOOD, BODY, T + 301), SHOP_EEXPIRED);
	/* future alike */
	assert_int_equal(verify_at("t=1700000000,v1=" GOOD, BODY, T - 300), 0);
	assert_int_equal(verify_at("t=1700000000,v1=" GOOD, BODY, T - 301), SHOP_EEXPIRED);
	/* far away, and a stale t with a wrong MAC is refused for its time */
	assert_int_equal(verify_at("t=1700000000,v1=" GOOD, BODY, 0), SHOP_EEXPIRED);
	assert_int_equal(verify_at("t=1,v1=" OTHER, BODY, T), SHOP_EEXPIRED);
	assert_int_equal(verify_at("t=99999999999,v1=" OTHER, BODY, T), SHOP_EEXPIRED);
}

static void test_malformed(void **state)
{
	static const char *const bad[] = {
		"",
		"v1=" GOOD,                                   /* missing t */
		"t=1700000000",                               /* missing v1 */
		"t=1700000000,t=1700000000,v1=" GOOD,         /* duplicate t */
		"t=1700000000,v1=" GOOD ",t=1700000001",      /* duplicate t, later */
		"t=,v1=" GOOD,
		"t=-1700000000,v1=" GOOD,
		"t=+1700000000,v1=" GOOD,
		"t=01700000000,v1=" GOOD,                     /* leading zero */
		"t=1700000000.5,v1=" GOOD,
		"t=1e9,v1=" GOOD,
		"t=999999999999,v1=" GOOD,                    /* 12 digits */
		"t=1700000000,v1=",
		"t=1700000000,=" GOOD,
		"t=1700000000,v1" GOOD,
		"t=1700000000,,v1=" GOOD,                     /* empty item */
		"t=1700000000,v1=" GOOD ",",                  /* trailing comma */
		",t=1700000000,v1=" GOOD,
		"t=1700000000;v1=" GOOD,
		"T=1700000000,v1=" GOOD,                      /* keys are lower case */
		"t=1700000000,V1=" GOOD,
		/* whitespace, anywhere */
		" t=1700000000,v1=" GOOD,
		"t=1700000000,v1=" GOOD " ",
		"t=1700000000, v1=" GOOD,
		"t =1700000000,v1=" GOOD,
		"t= 1700000000,v1=" GOOD,
		"t=1700000000,v1=" GOOD "\t",
		"t=1700000000,\nv1=" GOOD,
		/* an ignored scheme still has to be well-formed */
		"t=1700000000,v1=" GOOD ",v0=",
		"t=1700000000,v1=" GOOD ",v0=a b",
		"t=1700000000,v1=" GOOD ",V_0=x",
		"t=1700000000,v1=" GOOD ",v0=\x80",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = verify(bad[i]);

		if (rc != SHOP_EINVAL)
			fail_msg("header #%zu \"%s\": %d, wanted SHOP_EINVAL", i, bad[i], rc);
	}
}

static void test_unknown_keys(void **state)
{
	(void)state;
	assert_int_equal(verify("t=1700000000,v0=abc,v1=" GOOD ",v2=" OTHER), 0);
	assert_int_equal(verify("scheme=x,t=1700000000,v1=" GOOD), 0);
	/* an unknown scheme alone does not pass */
	assert_int_equal(verify("t=1700000000,v2=" GOOD), SHOP_EINVAL);
}

static void test_huge_header(void **state)
{
	static char hdr[PAY_SIG_MAX_HEADER + 100];
	size_t n;

	(void)state;
	/* just at the limit, padded with an ignored item: fine */
	n = (size_t)snprintf(hdr, sizeof(hdr), "t=1700000000,v1=" GOOD ",x=");
	memset(hdr + n, 'a', PAY_SIG_MAX_HEADER - n);
	hdr[PAY_SIG_MAX_HEADER] = '\0';
	assert_int_equal(verify(hdr), 0);
	/* one byte more: refused before anything else */
	hdr[PAY_SIG_MAX_HEADER] = 'a';
	hdr[PAY_SIG_MAX_HEADER + 1] = '\0';
	assert_int_equal(verify(hdr), SHOP_EINVAL);
	/* much more, without a NUL close by */
	memset(hdr, 'a', sizeof(hdr) - 1);
	hdr[sizeof(hdr) - 1] = '\0';
	assert_int_equal(verify(hdr), SHOP_EINVAL);
}

static void test_sign(void **state)
{
	char out[PAY_SIG_HEADER_SIZE], small[20];
	int n;

	(void)state;
	n = pay_sig_sign(out, sizeof(out), T, SECRET, strlen(SECRET), BODY, strlen(BODY));
	assert_int_equal(n, (int)strlen("t=1700000000,v1=" GOOD));
	assert_string_equal(out, "t=1700000000,v1=" GOOD);
	assert_int_equal(verify(out), 0);
	/* the longest timestamp fits */
	n = pay_sig_sign(out, sizeof(out), PAY_SIG_MAX_T, SECRET, strlen(SECRET), "", 0);
	assert_true(n > 0 && (size_t)n < sizeof(out));
	assert_int_equal(pay_sig_sign(out, sizeof(out), -1, SECRET, 1, "", 0), SHOP_EINVAL);
	assert_int_equal(pay_sig_sign(small, sizeof(small), T, SECRET, 1, "", 0), SHOP_ETOOBIG);
}

static void test_secret_load(void **state)
{
	char path[] = "/tmp/shop-test-secret-XXXXXX";
	unsigned char s[64];
	size_t len = 0;
	int fd;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "abc123\n", 7), 7);
	assert_int_equal(pay_secret_load(path, s, sizeof(s), &len), 0);
	assert_int_equal(len, 6);
	assert_memory_equal(s, "abc123", 6);
	/* CRLF, and only one newline is stripped */
	assert_int_equal(ftruncate(fd, 0), 0);
	assert_int_equal(pwrite(fd, "abc\r\n", 5, 0), 5);
	assert_int_equal(pay_secret_load(path, s, sizeof(s), &len), 0);
	assert_int_equal(len, 3);
	assert_int_equal(ftruncate(fd, 0), 0);
	assert_int_equal(pwrite(fd, "abc\n\n", 5, 0), 5);
	assert_int_equal(pay_secret_load(path, s, sizeof(s), &len), 0);
	assert_int_equal(len, 4);
	/* empty, or only a newline */
	assert_int_equal(ftruncate(fd, 0), 0);
	assert_int_equal(pay_secret_load(path, s, sizeof(s), &len), SHOP_EINVAL);
	assert_int_equal(pwrite(fd, "\n", 1, 0), 1);
	assert_int_equal(pay_secret_load(path, s, sizeof(s), &len), SHOP_EINVAL);
	/* too long for the buffer */
	assert_int_equal(pwrite(fd, "0123456789", 10, 0), 10);
	assert_int_equal(pay_secret_load(path, s, 4, &len), SHOP_ETOOBIG);
	close(fd);
	unlink(path);
	/* absent */
	assert_int_equal(pay_secret_load(path, s, sizeof(s), &len), SHOP_EIO);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_two_v1),
		cmocka_unit_test(test_bad_hex),
		cmocka_unit_test(test_body_change),
		cmocka_unit_test(test_time_window),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_unknown_keys),
		cmocka_unit_test(test_huge_header),
		cmocka_unit_test(test_sign),
		cmocka_unit_test(test_secret_load),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
