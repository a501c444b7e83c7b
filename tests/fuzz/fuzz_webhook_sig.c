/* The webhook signature: pay_sig_verify() of a Shop-Signature header and a
 * raw body, as the payments app gets them from outside.
 *
 * Input: the header, '\n', then the body (without a newline: a header and
 * an empty body). The secret is fixed, "now" is FUZZ_NOW, the tolerance
 * 300 s as in the shop.
 * Properties: the verdict is one of 0, SHOP_EINVAL, SHOP_EEXPIRED,
 * SHOP_EAUTH; a header of more than PAY_SIG_MAX_HEADER bytes is malformed;
 * a header that passes carries, as one of its v1 values, the signature
 * pay_sig_sign() makes for its t and this body. Besides, for this body,
 * signing at a time the input chooses and verifying must agree with the
 * tolerance rule. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fcgi-apps/payments/signature.h"
#include "lib/err.h"
#include "tests/fuzz/fuzz.h"

#define TOLERANCE 300

static const char secret[] = "whsec_fuzz_0123456789abcdef0123456789abcdef";

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

/* The value of the t item of a header that verified (it has exactly one). */
static long long header_t(const char *hdr)
{
	const char *p = hdr;

	for (;;) {
		if (p[0] == 't' && p[1] == '=')
			return strtoll(p + 2, NULL, 10);
		p = strchr(p, ',');
		FUZZ_CHECK(p != NULL);
		p++;
	}
}

static void passed(const char *hdr, const char *body, size_t len)
{
	char want[PAY_SIG_HEADER_SIZE];
	const char *v1, *p;
	size_t hlen = strlen(hdr);
	bool found = false;
	int n;

	n = pay_sig_sign(want, sizeof(want), header_t(hdr), secret, sizeof(secret) - 1, body, len);
	FUZZ_CHECK(n > 0);
	v1 = strstr(want, ",v1=") + 1;
	/* One of the header's items is exactly that v1 item. */
	for (p = hdr; p < hdr + hlen;) {
		size_t item = strcspn(p, ",");

		if (item == strlen(v1) && memcmp(p, v1, item) == 0)
			found = true;
		p += item + 1;
	}
	FUZZ_CHECK(found);
}

static void sign_verify(const uint8_t *data, size_t size, const char *body, size_t len)
{
	char hdr[PAY_SIG_HEADER_SIZE];
	long long skew = 0;
	int n, rc;

	if (size >= 2)
		skew = (long long)(int16_t)(data[0] | data[1] << 8) % 1000;
	n = pay_sig_sign(hdr, sizeof(hdr), FUZZ_NOW + skew, secret, sizeof(secret) - 1, body, len);
	FUZZ_CHECK(n > 0 && (size_t)n < sizeof(hdr));
	rc = pay_sig_verify(hdr, secret, sizeof(secret) - 1, body, len, FUZZ_NOW, TOLERANCE);
	if (skew >= -TOLERANCE && skew <= TOLERANCE)
		FUZZ_CHECK(rc == 0);
	else
		FUZZ_CHECK(rc == SHOP_EEXPIRED);
	/* Another secret never passes. */
	if (rc == 0)
		FUZZ_CHECK(pay_sig_verify(hdr, secret, sizeof(secret) - 2, body, len, FUZZ_NOW,
		    TOLERANCE) == SHOP_EAUTH);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *hdr = fuzz_strndup(data, size), *rest = fuzz_cut_line(hdr);
	const char *body = "";
	size_t len = 0;
	int rc;

	/* The body is the raw bytes after the newline, NULs included. */
	if (rest) {
		len = size - (size_t)(rest - hdr);
		body = (const char *)data + (rest - hdr);
	}
	rc = pay_sig_verify(hdr, secret, sizeof(secret) - 1, body, len, FUZZ_NOW, TOLERANCE);
	FUZZ_CHECK(rc == 0 || rc == SHOP_EINVAL || rc == SHOP_EEXPIRED || rc == SHOP_EAUTH);
	if (strlen(hdr) > PAY_SIG_MAX_HEADER)
		FUZZ_CHECK(rc == SHOP_EINVAL);
	if (rc == 0)
		passed(hdr, body, len);
	sign_verify(data, size, body, len);
	free(hdr);
	return 0;
}
