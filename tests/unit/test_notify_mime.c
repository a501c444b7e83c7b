/* Unit tests of the notification worker's MIME messages
 * (workers/notify/mime.c): the message is parsed back by a small, strict
 * reader written here (headers, unfolding, the boundary, both parts,
 * quoted-printable and RFC 2047 decoding) and compared with its input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/err.h"
#include "lib/mem.h"
#include "workers/notify/notify_worker.h"

/* ---- a strict reader ---- */

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1; /* RFC 2045: upper case only in what we produce */
}

/* Decodes quoted-printable; fails the test on anything malformed. */
static char *qp_decode(const char *s, size_t n)
{
	char *out = shop_xmalloc(n + 1);
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] != '=') {
			assert_true(s[i] == '\r' || s[i] == '\n' || s[i] == '\t' ||
			    (s[i] >= 32 && s[i] < 127));
			out[k++] = s[i];
			continue;
		}
		if (i + 2 < n && s[i + 1] == '\r' && s[i + 2] == '\n') {
			i += 2; /* soft line break */
			continue;
		}
		assert_true(i + 2 < n);
		assert_true(hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0);
		out[k++] = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
		i += 2;
	}
	out[k] = '\0';
	return out;
}

static int b64val(char c)
{
	const char *tab = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const char *p = c ? strchr(tab, c) : NULL;

	return p ? (int)(p - tab) : -1;
}

/* Decodes an unfolded header value made of encoded-words =?UTF-8?B?...?=
 * (blanks between adjacent words ignored, RFC 2047 6.2) or plain text. */
static char *header_decode(const char *v)
{
	char *out = shop_xcalloc(1, strlen(v) + 1);
	size_t k = 0;
	const char *p = v;

	if (strncmp(p, "=?", 2) != 0) {
		memcpy(out, v, strlen(v) + 1);
		return out;
	}
	while (*p) {
		const char *e;
		unsigned acc = 0, bits = 0;

		assert_true(strncmp(p, "=?UTF-8?B?", 10) == 0);
		p += 10;
		e = strstr(p, "?=");
		assert_non_null(e);
		/* RFC 2047: an encoded-word is at most 75 characters */
		assert_true(e + 2 - (p - 10) <= 75);
		for (; p < e; p++) {
			if (*p == '=')
				continue;
			assert_true(b64val(*p) >= 0);
			acc = (acc << 6) | (unsigned)b64val(*p);
			bits += 6;
			if (bits >= 8) {
				bits -= 8;
				out[k++] = (char)((acc >> bits) & 0xff);
			}
		}
		p = e + 2;
		while (*p == ' ')
			p++;
	}
	out[k] = '\0';
	return out;
}

struct parsed {
	char *names[32];
	char *values[32];       /* unfolded */
	unsigned n;
	const char *body;
	size_t body_len;
};

static void parse_headers(const char *msg, size_t len, struct parsed *ps)
{
	const char *p = msg, *end = msg + len;

	ps->n = 0;
	while (p < end) {
		const char *eol = strstr(p, "\r\n"), *colon;
		char *val;
		size_t vl = 0;

		assert_non_null(eol);
		if (eol == p) {
			ps->body = eol + 2;
			ps->body_len = (size_t)(end - ps->body);
			return;
		}
		colon = memchr(p, ':', (size_t)(eol - p));
		assert_non_null(colon);
		assert_true(ps->n < 32);
		ps->names[ps->n] = shop_xmalloc((size_t)(colon - p) + 1);
		memcpy(ps->names[ps->n], p, (size_t)(colon - p));
		ps->names[ps->n][colon - p] = '\0';
		val = shop_xmalloc(len + 1);
		p = colon + 1;
		for (;;) {
			/* a folded line continues the header: CRLF is removed, the blank kept */
			while (p < eol)
				val[vl++] = *p++;
			p = eol + 2;
			if (*p != ' ' && *p != '\t')
				break;
			eol = strstr(p, "\r\n");
			assert_non_null(eol);
		}
		val[vl] = '\0';
		{
			char *v = val;

			while (*v == ' ')
				v++;
			ps->values[ps->n] = shop_xstrdup(v);
		}
		free(val);
		ps->n++;
	}
	fail_msg("no end of headers");
}

static const char *hget(const struct parsed *ps, const char *name)
{
	const char *found = NULL;

	for (unsigned i = 0; i < ps->n; i++) {
		if (strcasecmp(ps->names[i], name) == 0) {
			assert_null(found); /* each header once */
			found = ps->values[i];
		}
	}
	return found;
}

static void parsed_free(struct parsed *ps)
{
	for (unsigned i = 0; i < ps->n; i++) {
		free(ps->names[i]);
		free(ps->values[i]);
	}
	ps->n = 0;
}

/* Every line ends with CRLF and is at most 78 characters. */
static void check_lines(const char *msg, size_t len)
{
	size_t col = 0;

	for (size_t i = 0; i < len; i++) {
		if (msg[i] == '\r') {
			assert_true(i + 1 < len && msg[i + 1] == '\n');
			i++;
			col = 0;
			continue;
		}
		assert_true(msg[i] != '\n');
		col++;
		if (col > 78)
			fail_msg("line over 78 characters at byte %zu", i);
	}
	assert_int_equal(col, 0); /* ends with CRLF */
}

/* "\n" → "\r\n" (what the text looks like once decoded) */
static char *crlf(const char *s)
{
	char *out = shop_xmalloc(2 * strlen(s) + 1);
	size_t k = 0;

	for (; *s; s++) {
		if (*s == '\n')
			out[k++] = '\r';
		out[k++] = *s;
	}
	out[k] = '\0';
	return out;
}

/* ---- the tests ---- */

static const char text[] =
	"Hello Zo\xc3\xab,\n"
	"\n"
	".a line starting with a dot\n"
	"From here on, a line an mbox reader would mangle\n"
	"trailing blanks   \n"
	"tab at the end\t\n"
	"a=b and =?UTF-8?B?not a word?=\n"
	"a very long line: 0123456789 0123456789 0123456789 0123456789 0123456789 "
	"0123456789 0123456789 0123456789 0123456789 0123456789 \xe2\x82\xac" "12.99 "
	"\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac"
	"\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac"
	"\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\n"
	"-- \n"
	"The shop";
static const char html[] =
	"<!DOCTYPE html>\n<html lang=\"en\"><body><p>Hello Zo&euml; &amp; co,</p>"
	"<p>caf\xc3\xa9 \xe2\x82\xac" "12.99</p></body></html>\n";

static void build(struct nw_buf *b, const char *subject, const char *to_name, const char *boundary)
{
	struct nw_mail m = {
		.from_name = "Shop",
		.from_addr = "shop@shop.test",
		.to_name = to_name,
		.to_addr = "zoe@example.com",
		.subject = subject,
		.message_id = "<n42.0123456789abcdef@shop.test>",
		.date = 1795349100, /* Sun, 22 Nov 2026 12:05:00 UTC */
		.text = text,
		.html = html,
		.boundary = boundary,
	};

	assert_int_equal(nw_mime_build(b, &m), 0);
}

static void test_message_roundtrip(void **state)
{
	static const char subject[] = "Your order #123 has shipped \xe2\x80\x94 caf\xc3\xa9 "
	    "\xe5\xb1\xb1\xe7\x94\xb0 \xf0\x9f\x93\xa6 and a long tail to need several words";
	struct nw_buf b = { 0 };
	struct parsed ps, part;
	const char *ct, *bnd, *p, *q, *end;
	char delim[128], *dec, *want;
	size_t dl;

	(void)state;
	build(&b, subject, "Zo\xc3\xab M\xc3\xbcller", NULL);
	check_lines(b.p, b.len);
	parse_headers(b.p, b.len, &ps);
	assert_non_null(hget(&ps, "Date"));
	assert_string_equal(hget(&ps, "From"), "Shop <shop@shop.test>");
	assert_string_equal(hget(&ps, "Message-ID"), "<n42.0123456789abcdef@shop.test>");
	assert_string_equal(hget(&ps, "MIME-Version"), "1.0");
	dec = header_decode(hget(&ps, "Subject"));
	assert_string_equal(dec, subject);
	free(dec);
	/* To: the display name as encoded-words, then the address */
	{
		const char *to = hget(&ps, "To");
		const char *lt = strrchr(to, '<');
		char *name;

		assert_non_null(lt);
		assert_string_equal(lt, "<zoe@example.com>");
		name = shop_xstrdup(to);
		name[lt - to - 1] = '\0';
		dec = header_decode(name);
		assert_string_equal(dec, "Zo\xc3\xab M\xc3\xbcller");
		free(dec);
		free(name);
	}
	ct = hget(&ps, "Content-Type");
	assert_non_null(ct);
	assert_true(strncmp(ct, "multipart/alternative;", 22) == 0);
	bnd = strstr(ct, "boundary=\"");
	assert_non_null(bnd);
	bnd += 10;
	dl = (size_t)snprintf(delim, sizeof(delim), "\r\n--%.*s", (int)(strchr(bnd, '"') - bnd),
	    bnd);
	/* the boundary never occurs inside a part: exactly 3 delimiters */
	{
		unsigned count = 0;

		for (const char *x = b.p; (x = strstr(x, delim + 2)) != NULL; x++)
			count++;
		assert_int_equal(count, 3);
	}
	end = b.p + b.len;
	/* part 1 starts after the first delimiter line (the preamble before it) */
	p = strstr(ps.body, delim + 2);
	assert_non_null(p);
	p += dl - 2 + 2; /* delimiter without its leading CRLF, then CRLF */
	q = strstr(p, delim);
	assert_non_null(q);
	parse_headers(p, (size_t)(q - p), &part);
	assert_string_equal(hget(&part, "Content-Type"), "text/plain; charset=UTF-8");
	assert_string_equal(hget(&part, "Content-Transfer-Encoding"), "quoted-printable");
	dec = qp_decode(part.body, part.body_len);
	want = crlf(text);
	assert_string_equal(dec, want);
	free(dec);
	free(want);
	parsed_free(&part);
	/* part 2 */
	p = q + dl;
	assert_true(p[0] == '\r' && p[1] == '\n');
	p += 2;
	q = strstr(p, delim);
	assert_non_null(q);
	parse_headers(p, (size_t)(q - p), &part);
	assert_string_equal(hget(&part, "Content-Type"), "text/html; charset=UTF-8");
	assert_string_equal(hget(&part, "Content-Transfer-Encoding"), "quoted-printable");
	dec = qp_decode(part.body, part.body_len);
	want = crlf(html);
	assert_string_equal(dec, want);
	free(dec);
	free(want);
	parsed_free(&part);
	/* the close delimiter ends the message */
	q += dl;
	assert_true(strncmp(q, "--\r\n", 4) == 0);
	assert_true(q + 4 == end);
	parsed_free(&ps);
	nw_buf_free(&b);
}

static void test_qp_rules(void **state)
{
	struct nw_buf b = { 0 };
	static const char long_line[] =
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx";

	(void)state;
	nw_qp_encode(&b, "a=b", 3);
	assert_string_equal(b.p, "a=3Db");
	nw_buf_free(&b);
	nw_qp_encode(&b, "end  \nnext\t", 11);
	assert_string_equal(b.p, "end =20\r\nnext=09");
	nw_buf_free(&b);
	nw_qp_encode(&b, ".\nFrom me\nFrom", 14);
	assert_string_equal(b.p, "=2E\r\n=46rom me\r\nFrom");
	nw_buf_free(&b);
	nw_qp_encode(&b, "caf\xc3\xa9\r\n", 7);
	assert_string_equal(b.p, "caf=C3=A9\r\n");
	nw_buf_free(&b);
	nw_qp_encode(&b, "\r", 1);
	assert_string_equal(b.p, "=0D");
	nw_buf_free(&b);
	nw_qp_encode(&b, long_line, strlen(long_line));
	{
		char *dec = qp_decode(b.p, b.len);
		const char *l = b.p;

		assert_string_equal(dec, long_line);
		free(dec);
		for (const char *e; (e = strstr(l, "\r\n")) != NULL; l = e + 2)
			assert_true(e - l <= 76 && e[-1] == '=');
		assert_true(strlen(l) <= 76);
	}
	nw_buf_free(&b);
}

static void test_subject_encoding(void **state)
{
	struct nw_buf b = { 0 };
	char *dec;

	(void)state;
	/* plain ASCII stays readable */
	nw_header_text(&b, "Subject", "Your order #123 has shipped");
	assert_string_equal(b.p, "Subject: Your order #123 has shipped\r\n");
	nw_buf_free(&b);
	/* non-ASCII: encoded-words */
	nw_header_text(&b, "Subject", "Caf\xc3\xa9");
	assert_string_equal(b.p, "Subject: =?UTF-8?B?Q2Fmw6k=?=\r\n");
	nw_buf_free(&b);
	/* something that looks like an encoded-word is encoded, not passed */
	nw_header_text(&b, "Subject", "=?UTF-8?B?QQ==?=");
	assert_true(strncmp(b.p, "Subject: =?UTF-8?B?PT9VVEYtOD9CP1FRPT0/PQ==?=", 44) == 0);
	nw_buf_free(&b);
	/* no header injection: CR/LF become blanks */
	nw_header_text(&b, "Subject", "hi\r\nBcc: victim@example.com");
	assert_string_equal(b.p, "Subject: hi  Bcc: victim@example.com\r\n");
	assert_null(strstr(b.p, "\r\nBcc"));
	nw_buf_free(&b);
	/* a long ASCII subject is folded at blanks */
	nw_header_text(&b, "Subject", "word word word word word word word word word word word "
	    "word word word word word word word word");
	assert_non_null(strstr(b.p, "\r\n word"));
	check_lines(b.p, b.len);
	nw_buf_free(&b);
	/* a long UTF-8 subject: several words, never a split character */
	{
		char s[400];

		for (int i = 0; i < 60; i++)
			memcpy(s + 3 * i, "\xe2\x82\xac", 3);
		s[180] = '\0';
		nw_header_text(&b, "Subject", s);
		check_lines(b.p, b.len);
		b.p[b.len - 2] = '\0';
		{
			/* unfold */
			char *u = shop_xstrdup(b.p + 9), *w = u;

			for (char *r = u; *r; r++) {
				if (*r == '\r' || *r == '\n')
					continue;
				*w++ = *r;
			}
			*w = '\0';
			dec = header_decode(u);
			assert_string_equal(dec, s);
			free(dec);
			free(u);
		}
	}
	nw_buf_free(&b);
}

static void test_addresses(void **state)
{
	struct nw_buf b = { 0 };
	char name[64], addr[64];
	struct nw_mail m = {
		.from_name = "Shop", .from_addr = "shop@shop.test", .to_name = "",
		.to_addr = "a@b.c", .subject = "s", .message_id = "<n1.x@shop.test>",
		.text = "t", .html = "h",
	};

	(void)state;
	assert_true(nw_addr_valid("ann@example.com"));
	assert_true(nw_addr_valid("a.b+c@sub.example.org"));
	assert_false(nw_addr_valid("ann@"));
	assert_false(nw_addr_valid("@example.com"));
	assert_false(nw_addr_valid("a@b@c"));
	assert_false(nw_addr_valid("a b@c.d"));
	assert_false(nw_addr_valid("a@c.d\r\nRCPT TO:<x@y.z>"));
	assert_false(nw_addr_valid("a<b>@c.d"));
	assert_false(nw_addr_valid("z\xc3\xb6@c.d"));
	assert_false(nw_addr_valid(NULL));

	assert_int_equal(nw_mailbox_parse("Shop <shop@shop.test>", name, sizeof(name), addr,
	    sizeof(addr)), 0);
	assert_string_equal(name, "Shop");
	assert_string_equal(addr, "shop@shop.test");
	assert_int_equal(nw_mailbox_parse("\"The Shop\" <s@shop.test> ", name, sizeof(name), addr,
	    sizeof(addr)), 0);
	assert_string_equal(name, "The Shop");
	assert_string_equal(addr, "s@shop.test");
	assert_int_equal(nw_mailbox_parse(" s@shop.test ", name, sizeof(name), addr,
	    sizeof(addr)), 0);
	assert_string_equal(name, "");
	assert_string_equal(addr, "s@shop.test");
	assert_int_equal(nw_mailbox_parse("Shop <nope>", name, sizeof(name), addr, sizeof(addr)),
	    SHOP_EINVAL);
	assert_int_equal(nw_mailbox_parse("Shop <a@b.c> x", name, sizeof(name), addr,
	    sizeof(addr)), SHOP_EINVAL);

	/* display names: atoms as is, specials quoted, empty: the bare address */
	assert_int_equal(nw_mime_build(&b, &m), 0);
	assert_non_null(strstr(b.p, "\r\nTo: a@b.c\r\n"));
	nw_buf_free(&b);
	m.to_name = "O'Brien, \"Jr.\" \\ Co";
	assert_int_equal(nw_mime_build(&b, &m), 0);
	assert_non_null(strstr(b.p, "\r\nTo: \"O'Brien, \\\"Jr.\\\" \\\\ Co\" <a@b.c>\r\n"));
	nw_buf_free(&b);
	m.to_name = "Ann Lee";
	assert_int_equal(nw_mime_build(&b, &m), 0);
	assert_non_null(strstr(b.p, "\r\nTo: Ann Lee <a@b.c>\r\n"));
	nw_buf_free(&b);
	/* what cannot be sent is refused, not mangled */
	m.to_addr = "z\xc3\xb6@example.com";
	assert_int_equal(nw_mime_build(&b, &m), SHOP_EINVAL);
	m.to_addr = "a@b.c";
	m.message_id = "n1@shop.test";
	assert_int_equal(nw_mime_build(&b, &m), SHOP_EINVAL);
	m.message_id = "<n1 x@shop.test>";
	assert_int_equal(nw_mime_build(&b, &m), SHOP_EINVAL);
	nw_buf_free(&b);
}

static void test_date(void **state)
{
	char d[40];

	(void)state;
	nw_date_rfc5322(d, 0);
	assert_string_equal(d, "Thu, 01 Jan 1970 00:00:00 +0000");
	nw_date_rfc5322(d, 1795349100);
	assert_string_equal(d, "Sun, 22 Nov 2026 12:05:00 +0000");
}

static void test_fixed_boundary(void **state)
{
	struct nw_buf b = { 0 };

	(void)state;
	build(&b, "s", "", "=_shop_test");
	assert_non_null(strstr(b.p, "Content-Type: multipart/alternative;\r\n boundary=\"=_shop_test\""
	    "\r\n\r\n"));
	assert_non_null(strstr(b.p, "\r\n--=_shop_test\r\nContent-Type: text/plain; charset=UTF-8"
	    "\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nHello Zo=C3=AB,\r\n"));
	assert_non_null(strstr(b.p, "\r\n--=_shop_test--\r\n"));
	nw_buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_message_roundtrip),
		cmocka_unit_test(test_qp_rules),
		cmocka_unit_test(test_subject_encoding),
		cmocka_unit_test(test_addresses),
		cmocka_unit_test(test_date),
		cmocka_unit_test(test_fixed_boundary),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
