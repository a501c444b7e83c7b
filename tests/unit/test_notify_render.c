/* Unit tests of the notification worker's templates, money formatting and
 * HTML escaping (workers/notify/render.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/err.h"
#include "lib/util.h"
#include "workers/notify/notify_worker.h"

#ifndef NW_TEMPLATES_DIR
#define NW_TEMPLATES_DIR "workers/notify/templates"
#endif

static void money_is(long long minor, const char *cur, const char *want)
{
	char buf[48];
	int n = nw_money_format(buf, sizeof(buf), minor, cur);

	assert_int_equal(n, (int)strlen(want));
	assert_string_equal(buf, want);
}

static void test_money(void **state)
{
	(void)state;
	money_is(1299, "EUR", "\xe2\x82\xac" "12.99");
	money_is(5, "EUR", "\xe2\x82\xac" "0.05");
	money_is(0, "EUR", "\xe2\x82\xac" "0.00");
	money_is(123456789, "EUR", "\xe2\x82\xac" "1,234,567.89");
	money_is(1299, "USD", "$12.99");
	money_is(100000, "USD", "$1,000.00");
	money_is(99, "GBP", "\xc2\xa3" "0.99");
	/* JPY has no minor unit: 1299 is ¥1,299, not ¥12.99 */
	money_is(1299, "JPY", "\xc2\xa5" "1,299");
	money_is(0, "JPY", "\xc2\xa5" "0");
	money_is(999, "JPY", "\xc2\xa5" "999");
	money_is(1299, "KRW", "KRW 1,299");
	money_is(1299, "CHF", "CHF 12.99");
	money_is(1234, "KWD", "KWD 1.234");
	money_is(LLONG_MAX, "USD", "$92,233,720,368,547,758.07");
	assert_int_equal(nw_currency_decimals("JPY"), 0);
	assert_int_equal(nw_currency_decimals("EUR"), 2);
	assert_int_equal(nw_currency_decimals("BHD"), 3);
}

static void test_money_refused(void **state)
{
	char buf[48], small[6];

	(void)state;
	/* amounts in mails are never negative */
	assert_int_equal(nw_money_format(buf, sizeof(buf), -1, "EUR"), SHOP_EINVAL);
	assert_int_equal(nw_money_format(buf, sizeof(buf), LLONG_MIN, "USD"), SHOP_EINVAL);
	assert_int_equal(nw_money_format(buf, sizeof(buf), -100, "JPY"), SHOP_EINVAL);
	assert_int_equal(nw_money_format(buf, sizeof(buf), 1, "eur"), SHOP_EINVAL);
	assert_int_equal(nw_money_format(buf, sizeof(buf), 1, "EU"), SHOP_EINVAL);
	assert_int_equal(nw_money_format(buf, sizeof(buf), 1, "EURO"), SHOP_EINVAL);
	assert_int_equal(nw_money_format(buf, sizeof(buf), 1, NULL), SHOP_EINVAL);
	assert_int_equal(nw_money_format(small, sizeof(small), 123456, "USD"), SHOP_ETOOBIG);
}

static void test_html_escape(void **state)
{
	struct nw_buf b = { 0 };
	static const char in[] = "<a href=\"x\">Tom & Jerry's</a>\xc3\xa9";

	(void)state;
	nw_html_escape(&b, in, strlen(in));
	assert_string_equal(b.p,
	    "&lt;a href=&quot;x&quot;&gt;Tom &amp; Jerry&#39;s&lt;/a&gt;\xc3\xa9");
	nw_buf_free(&b);
	nw_html_escape(&b, "plain", 5);
	assert_string_equal(b.p, "plain");
	nw_buf_free(&b);
}

/* A context: name, order_number, total, reason (empty), two lines. */
static const struct nw_var vars[] = {
	{ "name", "Zo\xc3\xab <b>&" },
	{ "order_number", "42" },
	{ "total", "$3.00" },
	{ "reason", "" },
};
static const struct nw_var line1[] = {
	{ "name", "Mug <XL>" }, { "quantity", "2" }, { "unit_price", "$1.00" },
	{ "line_total", "$2.00" },
};
static const struct nw_var line2[] = {
	{ "name", "Pen" }, { "quantity", "1" }, { "unit_price", "$1.00" },
	{ "line_total", "$1.00" },
};
static const struct nw_record lines[] = { { line1, 4 }, { line2, 4 } };
static const struct nw_tctx ctx = { vars, 4, lines, 2 };

static char *render(const char *tpl, const struct nw_tctx *c, bool html, int *rc, char *err)
{
	static struct nw_buf b;

	nw_buf_free(&b);
	*rc = nw_render(&b, tpl, strlen(tpl), c, html, err, 160);
	return b.p;
}

static void test_render_values(void **state)
{
	char err[160];
	int rc;
	char *out;

	(void)state;
	out = render("Hello {{name}}, order #{{ order_number }}: {{total}}.", &ctx, false, &rc, err);
	assert_int_equal(rc, 0);
	assert_string_equal(out, "Hello Zo\xc3\xab <b>&, order #42: $3.00.");
	/* the HTML part escapes every value, never the template itself */
	out = render("<p>Hello {{name}}</p>", &ctx, true, &rc, err);
	assert_int_equal(rc, 0);
	assert_string_equal(out, "<p>Hello Zo\xc3\xab &lt;b&gt;&amp;</p>");
	out = render("no tags at all { } }} {", &ctx, false, &rc, err);
	assert_int_equal(rc, 0);
	assert_string_equal(out, "no tags at all { } }} {");
	out = render("", &ctx, false, &rc, err);
	assert_int_equal(rc, 0);
	assert_string_equal(out, "");
}

static void test_render_lines(void **state)
{
	char err[160];
	int rc;
	char *out;

	(void)state;
	/* section tags alone on their lines take their lines with them;
	 * inside, the line's keys shadow the scalars (name) */
	out = render("Items:\n{{#lines}}\n  {{quantity}} x {{name}} = {{line_total}} ({{order_number}})\n"
	    "{{/lines}}\nTotal {{total}}\n", &ctx, false, &rc, err);
	assert_int_equal(rc, 0);
	assert_string_equal(out, "Items:\n  2 x Mug <XL> = $2.00 (42)\n  1 x Pen = $1.00 (42)\n"
	    "Total $3.00\n");
	out = render("<ul>{{#lines}}<li>{{name}}</li>{{/lines}}</ul>", &ctx, true, &rc, err);
	assert_int_equal(rc, 0);
	assert_string_equal(out, "<ul><li>Mug &lt;XL&gt;</li><li>Pen</li></ul>");
	/* no lines: the inverted section */
	{
		struct nw_tctx none = { vars, 4, NULL, 0 };

		out = render("{{#lines}}x{{/lines}}{{^lines}}(empty){{/lines}}", &none, false, &rc, err);
		assert_int_equal(rc, 0);
		assert_string_equal(out, "(empty)");
	}
}

static void test_render_sections(void **state)
{
	char err[160];
	int rc;
	char *out;

	(void)state;
	out = render("A{{#reason}} because {{reason}}{{/reason}}.{{^reason}} No reason.{{/reason}}",
	    &ctx, false, &rc, err);
	assert_int_equal(rc, 0);
	assert_string_equal(out, "A. No reason.");
	out = render("{{#total}}[{{total}}]{{/total}}", &ctx, false, &rc, err);
	assert_int_equal(rc, 0);
	assert_string_equal(out, "[$3.00]");
	/* nested sections of the same key */
	out = render("{{#total}}a{{#total}}b{{/total}}c{{/total}}", &ctx, false, &rc, err);
	assert_int_equal(rc, 0);
	assert_string_equal(out, "abc");
	/* standalone with indentation and CRLF line ends */
	out = render("x\r\n  {{#reason}}  \r\nhidden\r\n  {{/reason}}\r\ny", &ctx, false, &rc, err);
	assert_int_equal(rc, 0);
	assert_string_equal(out, "x\r\ny");
}

static void test_render_errors(void **state)
{
	char err[160];
	int rc;

	(void)state;
	render("Hello {{nmae}}", &ctx, false, &rc, err);
	assert_int_equal(rc, SHOP_EINVAL);
	assert_non_null(strstr(err, "unknown key \"nmae\""));
	render("Hello {{name", &ctx, false, &rc, err);
	assert_int_equal(rc, SHOP_EINVAL);
	assert_non_null(strstr(err, "unterminated"));
	render("{{#lines}}open", &ctx, false, &rc, err);
	assert_int_equal(rc, SHOP_EINVAL);
	assert_non_null(strstr(err, "unclosed section \"lines\""));
	render("stray {{/lines}}", &ctx, false, &rc, err);
	assert_int_equal(rc, SHOP_EINVAL);
	render("{{}}", &ctx, false, &rc, err);
	assert_int_equal(rc, SHOP_EINVAL);
	render("{{na me}}", &ctx, false, &rc, err);
	assert_int_equal(rc, SHOP_EINVAL);
	render("{{Name}}", &ctx, false, &rc, err);
	assert_int_equal(rc, SHOP_EINVAL);
	/* an unknown key inside a section that is not shown is still an error
	 * when the section is shown; nw_templates_load renders both ways */
	render("{{#total}}{{bogus}}{{/total}}", &ctx, false, &rc, err);
	assert_int_equal(rc, SHOP_EINVAL);
}

static void test_subject(void **state)
{
	char out[256], small[7], err[160];

	(void)state;
	assert_int_equal(nw_render_subject(out, sizeof(out), "  Your order #{{order_number}}\r\n"
	    "has\tshipped  ", &ctx, err, sizeof(err)), 0);
	assert_string_equal(out, "Your order #42 has shipped");
	assert_int_equal(nw_render_subject(out, sizeof(out), "Hi {{name}}", &ctx, err,
	    sizeof(err)), 0);
	assert_string_equal(out, "Hi Zo\xc3\xab <b>&");
	/* cut at a character boundary, never inside the UTF-8 of ë */
	assert_int_equal(nw_render_subject(small, sizeof(small), "Hi {{name}}", &ctx, err,
	    sizeof(err)), 0);
	assert_string_equal(small, "Hi Zo");
	assert_int_equal(nw_render_subject(out, sizeof(out), "{{oops}}", &ctx, err, sizeof(err)),
	    SHOP_EINVAL);
}

static void test_kinds(void **state)
{
	(void)state;
	assert_int_equal(nw_kind_of("user.registered"), NW_WELCOME);
	assert_int_equal(nw_kind_of("order.shipped"), NW_ORDER_SHIPPED);
	assert_int_equal(nw_kind_of("order.refunded"), NW_ORDER_REFUNDED);
	assert_int_equal(nw_kind_of("order.paid"), -1);
	assert_int_equal(nw_kind_of(""), -1);
	for (int k = 0; k < NW_KIND_COUNT; k++)
		assert_int_equal(nw_kind_of(nw_kinds[k].event_type), k);
}

/* The templates of the repository: all there, all valid, and every order
 * subject names the order number. */
static void test_repo_templates(void **state)
{
	struct nw_templates t;
	char err[512], subject[256];
	const char *dir = NW_TEMPLATES_DIR;
	struct nw_var v[NW_V_COUNT];
	struct nw_tctx c = { v, NW_V_COUNT, lines, 2 };
	int rc;

	(void)state;
	rc = nw_templates_load(&t, dir, err, sizeof(err));
	if (rc)
		fail_msg("templates in %s: %s", dir, err);
	for (size_t i = 0; i < NW_V_COUNT; i++)
		v[i] = (struct nw_var){ nw_var_keys[i], "" };
	v[NW_V_ORDER_NUMBER].value = "123";
	v[NW_V_NAME].value = "Ann";
	for (int k = 0; k < NW_KIND_COUNT; k++) {
		struct nw_buf b = { 0 };

		assert_int_equal(nw_render_subject(subject, sizeof(subject), t.t[k].subject, &c,
		    err, sizeof(err)), 0);
		if (nw_kinds[k].order && !strstr(subject, "#123"))
			fail_msg("%s: the subject \"%s\" does not name the order", nw_kinds[k].file,
			    subject);
		assert_int_equal(nw_render(&b, t.t[k].html, strlen(t.t[k].html), &c, true, err,
		    sizeof(err)), 0);
		assert_non_null(strstr(b.p, "Ann"));
		nw_buf_free(&b);
	}
	assert_non_null(strstr(t.t[NW_ORDER_SHIPPED].text, "{{tracking_number}}"));
	assert_non_null(strstr(t.t[NW_ORDER_SHIPPED].text, "{{carrier}}"));
	assert_non_null(strstr(t.t[NW_PAYMENT_FAILED].text, "{{reason}}"));
	assert_non_null(strstr(t.t[NW_ORDER_PLACED].html, "{{#lines}}"));
	nw_templates_free(&t);
}

static void write_file(const char *dir, const char *name, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* A broken copy of the templates is refused at load, naming the file. */
static void test_broken_templates(void **state)
{
	char dir[] = "/tmp/test_notify_tplXXXXXX", err[512], cmd[600];
	struct nw_templates t;

	(void)state;
	assert_non_null(mkdtemp(dir));
	assert_int_equal(nw_templates_load(&t, dir, err, sizeof(err)), SHOP_EIO);
	assert_non_null(strstr(err, "welcome.txt"));
	for (int k = 0; k < NW_KIND_COUNT; k++) {
		char name[64];

		snprintf(name, sizeof(name), "%s.txt", nw_kinds[k].file);
		write_file(dir, name, "Subject: Order #{{order_number}}\n\nHi {{name}}\n");
		snprintf(name, sizeof(name), "%s.html", nw_kinds[k].file);
		write_file(dir, name, "<p>{{name}}</p>");
	}
	assert_int_equal(nw_templates_load(&t, dir, err, sizeof(err)), 0);
	assert_string_equal(t.t[NW_WELCOME].subject, "Order #{{order_number}}");
	assert_string_equal(t.t[NW_WELCOME].text, "Hi {{name}}\n");
	nw_templates_free(&t);
	/* a typo in a hidden branch is found too */
	write_file(dir, "order_expired.html", "<p>{{^reason}}{{resaon}}{{/reason}}</p>");
	assert_int_equal(nw_templates_load(&t, dir, err, sizeof(err)), SHOP_EINVAL);
	assert_non_null(strstr(err, "order_expired.html"));
	assert_non_null(strstr(err, "resaon"));
	write_file(dir, "order_expired.html", "<p>ok</p>");
	write_file(dir, "order_shipped.txt", "Hello\n");
	assert_int_equal(nw_templates_load(&t, dir, err, sizeof(err)), SHOP_EINVAL);
	assert_non_null(strstr(err, "Subject"));
	write_file(dir, "order_shipped.txt", "Subject: x\n\n\xff\n");
	assert_int_equal(nw_templates_load(&t, dir, err, sizeof(err)), SHOP_EINVAL);
	assert_non_null(strstr(err, "UTF-8"));
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_money),
		cmocka_unit_test(test_money_refused),
		cmocka_unit_test(test_html_escape),
		cmocka_unit_test(test_render_values),
		cmocka_unit_test(test_render_lines),
		cmocka_unit_test(test_render_sections),
		cmocka_unit_test(test_render_errors),
		cmocka_unit_test(test_subject),
		cmocka_unit_test(test_kinds),
		cmocka_unit_test(test_repo_templates),
		cmocka_unit_test(test_broken_templates),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
