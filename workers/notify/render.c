/* Templates, money and HTML escaping for the notification mails
 * (notify_worker.h).
 *
 * The template language is a small logic-less subset of mustache: values,
 * one list ("lines"), and sections that show or hide a block on whether a
 * value is empty. A section tag alone on its line takes its line with it,
 * so that templates can be laid out one tag per line without leaving blank
 * lines in the mail. Unknown keys are errors, never silently empty: every
 * template is rendered once at start with every key (nw_templates_load). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/err.h"
#include "lib/mem.h"
#include "lib/util.h"
#include "workers/notify/notify_worker.h"

#define TEMPLATE_MAX (256 * 1024)   /* bytes of one template file */

const char *const nw_var_keys[NW_V_COUNT] = {
	[NW_V_NAME] = "name",
	[NW_V_EMAIL] = "email",
	[NW_V_ORDER_NUMBER] = "order_number",
	[NW_V_TOTAL] = "total",
	[NW_V_AMOUNT] = "amount",
	[NW_V_CURRENCY] = "currency",
	[NW_V_EXPIRES_AT] = "expires_at",
	[NW_V_CARRIER] = "carrier",
	[NW_V_TRACKING_NUMBER] = "tracking_number",
	[NW_V_REASON] = "reason",
};

const char *const nw_line_keys[NW_L_COUNT] = {
	[NW_L_NAME] = "name",
	[NW_L_QUANTITY] = "quantity",
	[NW_L_UNIT_PRICE] = "unit_price",
	[NW_L_LINE_TOTAL] = "line_total",
};

/* ---- kinds ---- */

const struct nw_kind_info nw_kinds[NW_KIND_COUNT] = {
	[NW_WELCOME] = { "user.registered", "WELCOME", "welcome", false },
	[NW_ORDER_PLACED] = { "order.placed", "ORDER_PLACED", "order_placed", true },
	[NW_PAYMENT_SUCCEEDED] = { "payment.succeeded", "PAYMENT_SUCCEEDED", "payment_succeeded",
		true },
	[NW_PAYMENT_FAILED] = { "payment.failed", "PAYMENT_FAILED", "payment_failed", true },
	[NW_ORDER_CANCELLED] = { "order.cancelled", "ORDER_CANCELLED", "order_cancelled", true },
	[NW_ORDER_EXPIRED] = { "order.expired", "ORDER_EXPIRED", "order_expired", true },
	[NW_ORDER_SHIPPED] = { "order.shipped", "ORDER_SHIPPED", "order_shipped", true },
	[NW_ORDER_DELIVERED] = { "order.delivered", "ORDER_DELIVERED", "order_delivered", true },
	[NW_ORDER_REFUNDED] = { "order.refunded", "ORDER_REFUNDED", "order_refunded", true },
};

int nw_kind_of(const char *event_type)
{
	for (int k = 0; k < NW_KIND_COUNT; k++) {
		if (strcmp(nw_kinds[k].event_type, event_type) == 0)
			return k;
	}
	return -1;
}

/* ---- buffer ---- */

void nw_buf_add(struct nw_buf *b, const void *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;

		while (cap < b->len + n + 1)
			cap *= 2;
		b->p = shop_xrealloc(b->p, cap);
		b->cap = cap;
	}
	if (n)
		memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void nw_buf_adds(struct nw_buf *b, const char *s)
{
	nw_buf_add(b, s, strlen(s));
}

void nw_buf_addc(struct nw_buf *b, char c)
{
	nw_buf_add(b, &c, 1);
}

void nw_buf_free(struct nw_buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

/* ---- money ---- */

int nw_currency_decimals(const char *code)
{
	/* ISO 4217 currencies whose minor unit is not the cent. */
	static const char zero[] =
	    "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF ";
	static const char three[] = "BHD IQD JOD KWD LYD OMR TND ";

	if (!code || strlen(code) != 3)
		return SHOP_EINVAL;
	for (int i = 0; i < 3; i++) {
		if (code[i] < 'A' || code[i] > 'Z')
			return SHOP_EINVAL;
	}
	for (size_t i = 0; i + 4 <= sizeof(zero) - 1; i += 4) {
		if (memcmp(zero + i, code, 3) == 0)
			return 0;
	}
	for (size_t i = 0; i + 4 <= sizeof(three) - 1; i += 4) {
		if (memcmp(three + i, code, 3) == 0)
			return 3;
	}
	return 2;
}

/* The symbol written before the amount, when one names the currency
 * unambiguously for our readers; NULL: the code and a space. */
static const char *currency_symbol(const char *code)
{
	static const struct { const char *code, *sym; } syms[] = {
		{ "EUR", "\xe2\x82\xac" },  /* € */
		{ "USD", "$" },
		{ "GBP", "\xc2\xa3" },      /* £ */
		{ "JPY", "\xc2\xa5" },      /* ¥ */
	};

	for (size_t i = 0; i < SHOP_ARRAY_LEN(syms); i++) {
		if (strcmp(syms[i].code, code) == 0)
			return syms[i].sym;
	}
	return NULL;
}

int nw_money_format(char *out, size_t outsz, long long minor, const char *currency)
{
	int dec = nw_currency_decimals(currency);
	unsigned long long v, unit = 1, whole, frac;
	char digits[32], grouped[48], fracs[8];
	const char *sym;
	size_t nd, ng = 0;
	int n;

	if (dec < 0 || minor < 0)
		return SHOP_EINVAL;
	for (int i = 0; i < dec; i++)
		unit *= 10;
	v = (unsigned long long)minor;
	whole = v / unit;
	frac = v % unit;
	/* 1234567 → "1,234,567" */
	nd = (size_t)snprintf(digits, sizeof(digits), "%llu", whole);
	for (size_t i = 0; i < nd; i++) {
		if (i > 0 && (nd - i) % 3 == 0)
			grouped[ng++] = ',';
		grouped[ng++] = digits[i];
	}
	grouped[ng] = '\0';
	fracs[0] = '\0';
	if (dec > 0) {
		/* ".05": dec digits, leading zeros kept */
		fracs[0] = '.';
		for (int i = dec; i > 0; i--) {
			fracs[i] = (char)('0' + frac % 10);
			frac /= 10;
		}
		fracs[dec + 1] = '\0';
	}
	sym = currency_symbol(currency);
	if (sym)
		n = snprintf(out, outsz, "%s%s%s", sym, grouped, fracs);
	else
		n = snprintf(out, outsz, "%s %s%s", currency, grouped, fracs);
	if (n < 0 || (size_t)n >= outsz)
		return SHOP_ETOOBIG;
	return n;
}

/* ---- HTML ---- */

void nw_html_escape(struct nw_buf *b, const char *s, size_t n)
{
	size_t start = 0;

	for (size_t i = 0; i < n; i++) {
		const char *rep;

		switch (s[i]) {
		case '&': rep = "&amp;"; break;
		case '<': rep = "&lt;"; break;
		case '>': rep = "&gt;"; break;
		case '"': rep = "&quot;"; break;
		case '\'': rep = "&#39;"; break;
		default: continue;
		}
		nw_buf_add(b, s + start, i - start);
		nw_buf_adds(b, rep);
		start = i + 1;
	}
	nw_buf_add(b, s + start, n - start);
}

/* ---- templates ---- */

struct tpl {
	const char *start, *end;       /* the whole template: line bounds for standalone tags */
	const struct nw_tctx *c;
	bool html;
	char *err;
	size_t errsz;
};

/* A tag: [at, after) is "{{ ... }}"; sigil is '#', '^', '/' or 0;
 * key [k, k + klen). */
struct tag {
	const char *at, *after;
	char sigil;
	const char *k;
	size_t klen;
};

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static int fail(const struct tpl *t, const char *at, const char *what, const char *k, size_t klen)
{
	snprintf(t->err, t->errsz, "%s%s%.*s%s at byte %zu", what, k ? " \"" : "",
	    (int)(k ? klen : 0), k ? k : "", k ? "\"" : "", (size_t)(at - t->start));
	return SHOP_EINVAL;
}

/* Parses the tag starting at p ("{{"). Returns 0 or SHOP_EINVAL. */
static int parse_tag(const struct tpl *t, const char *p, const char *e, struct tag *g)
{
	const char *q = p + 2, *close = NULL;

	for (const char *x = q; x + 1 < e; x++) {
		if (x[0] == '}' && x[1] == '}') {
			close = x;
			break;
		}
	}
	if (!close)
		return fail(t, p, "unterminated tag", NULL, 0);
	g->at = p;
	g->after = close + 2;
	while (q < close && is_blank(*q))
		q++;
	g->sigil = 0;
	if (q < close && (*q == '#' || *q == '^' || *q == '/'))
		g->sigil = *q++;
	while (q < close && is_blank(*q))
		q++;
	g->k = q;
	while (q < close && !is_blank(*q))
		q++;
	g->klen = (size_t)(q - g->k);
	while (q < close && is_blank(*q))
		q++;
	if (g->klen == 0 || q != close)
		return fail(t, p, "malformed tag", NULL, 0);
	for (size_t i = 0; i < g->klen; i++) {
		char c = g->k[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
			return fail(t, p, "malformed key", g->k, g->klen);
	}
	return 0;
}

/* A section tag alone on its line (only blanks around it): the bounds of
 * the whole line, newline included, in *ls and *le. */
static bool standalone(const struct tpl *t, const struct tag *g, const char **ls, const char **le)
{
	const char *a = g->at, *b = g->after;

	if (!g->sigil)
		return false;
	while (a > t->start && is_blank(a[-1]))
		a--;
	if (a > t->start && a[-1] != '\n')
		return false;
	while (b < t->end && (is_blank(*b) || *b == '\r'))
		b++;
	if (b < t->end && *b != '\n')
		return false;
	if (b < t->end)
		b++;
	*ls = a;
	*le = b;
	return true;
}

static bool key_is(const struct tag *g, const char *key)
{
	return strlen(key) == g->klen && memcmp(g->k, key, g->klen) == 0;
}

/* The value of a key: the line's first (inside a lines section), then the
 * scalars. NULL when the key is unknown. */
static const char *lookup(const struct tpl *t, const struct nw_record *rec, const struct tag *g)
{
	if (rec) {
		for (size_t i = 0; i < rec->nvars; i++) {
			if (key_is(g, rec->vars[i].key))
				return rec->vars[i].value ? rec->vars[i].value : "";
		}
	}
	for (size_t i = 0; i < t->c->nvars; i++) {
		if (key_is(g, t->c->vars[i].key))
			return t->c->vars[i].value ? t->c->vars[i].value : "";
	}
	return NULL;
}

/* Finds the {{/key}} that closes the section opened by g, scanning from
 * g->after to e. Returns 0 with *close filled, or SHOP_EINVAL. */
static int find_close(const struct tpl *t, const struct tag *open, const char *e, struct tag *close)
{
	unsigned depth = 1;
	const char *p = open->after;

	while (p + 1 < e) {
		struct tag g;
		int rc;

		if (p[0] != '{' || p[1] != '{') {
			p++;
			continue;
		}
		rc = parse_tag(t, p, e, &g);
		if (rc)
			return rc;
		if (g.klen == open->klen && memcmp(g.k, open->k, g.klen) == 0) {
			if (g.sigil == '#' || g.sigil == '^') {
				depth++;
			} else if (g.sigil == '/' && --depth == 0) {
				*close = g;
				return 0;
			}
		}
		p = g.after;
	}
	return fail(t, open->at, "unclosed section", open->k, open->klen);
}

static int render_range(const struct tpl *t, struct nw_buf *out, const char *p, const char *e,
    const struct nw_record *rec)
{
	while (p < e) {
		const char *q = p, *ls, *le, *body, *body_end, *next;
		struct tag g, close;
		const char *v;
		int rc;

		while (q + 1 < e && !(q[0] == '{' && q[1] == '{'))
			q++;
		if (q + 1 >= e) {
			nw_buf_add(out, p, (size_t)(e - p));
			return 0;
		}
		rc = parse_tag(t, q, e, &g);
		if (rc)
			return rc;
		if (g.sigil == 0) {
			nw_buf_add(out, p, (size_t)(q - p));
			v = lookup(t, rec, &g);
			if (!v)
				return fail(t, g.at, "unknown key", g.k, g.klen);
			if (t->html)
				nw_html_escape(out, v, strlen(v));
			else
				nw_buf_adds(out, v);
			p = g.after;
			continue;
		}
		if (g.sigil == '/')
			return fail(t, g.at, "unexpected end of section", g.k, g.klen);
		if (standalone(t, &g, &ls, &le)) {
			nw_buf_add(out, p, (size_t)(ls - p));
			body = le;
		} else {
			nw_buf_add(out, p, (size_t)(q - p));
			body = g.after;
		}
		rc = find_close(t, &g, e, &close);
		if (rc)
			return rc;
		if (standalone(t, &close, &ls, &le)) {
			body_end = ls > body ? ls : body;
			next = le;
		} else {
			body_end = close.at;
			next = close.after;
		}
		if (key_is(&g, "lines") && !rec) {
			if (g.sigil == '#') {
				for (size_t i = 0; i < t->c->nlines; i++) {
					rc = render_range(t, out, body, body_end, &t->c->lines[i]);
					if (rc)
						return rc;
				}
			} else if (t->c->nlines == 0) {
				rc = render_range(t, out, body, body_end, rec);
				if (rc)
					return rc;
			}
		} else {
			v = lookup(t, rec, &g);
			if (!v)
				return fail(t, g.at, "unknown key", g.k, g.klen);
			if ((g.sigil == '#') == (v[0] != '\0')) {
				rc = render_range(t, out, body, body_end, rec);
				if (rc)
					return rc;
			}
		}
		p = next;
	}
	return 0;
}

int nw_render(struct nw_buf *out, const char *tpl, size_t len, const struct nw_tctx *c,
    bool html, char *err, size_t errsz)
{
	struct tpl t = { tpl, tpl + len, c, html, err, errsz };

	if (errsz)
		err[0] = '\0';
	nw_buf_add(out, "", 0); /* NUL-terminated even when empty */
	return render_range(&t, out, tpl, tpl + len, NULL);
}

int nw_render_subject(char *out, size_t outsz, const char *tpl, const struct nw_tctx *c,
    char *err, size_t errsz)
{
	struct nw_buf b = { 0 };
	size_t n = 0;
	bool blank = true;   /* at the start, or after a blank: drop further blanks */
	int rc;

	rc = nw_render(&b, tpl, strlen(tpl), c, false, err, errsz);
	if (rc)
		goto out;
	for (size_t i = 0; i < b.len; i++) {
		unsigned char ch = (unsigned char)b.p[i];

		if (ch < 0x20 || ch == 0x7f)
			ch = ' ';
		if (ch == ' ') {
			if (blank)
				continue;
			blank = true;
		} else {
			blank = false;
		}
		b.p[n++] = (char)ch;
	}
	while (n > 0 && b.p[n - 1] == ' ')
		n--;
	if (n > outsz - 1) {
		n = outsz - 1;
		while (n > 0 && ((unsigned char)b.p[n] & 0xc0) == 0x80)
			n--; /* not in the middle of a character */
	}
	memcpy(out, b.p, n);
	out[n] = '\0';
out:
	nw_buf_free(&b);
	return rc;
}

/* Reads a whole template file (UTF-8, at most TEMPLATE_MAX bytes). */
static int read_file(const char *path, char **out, size_t *outlen, char *err, size_t errsz)
{
	struct nw_buf b = { 0 };
	char chunk[8192];
	int fd, rc = 0;

	*out = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errsz, "%s: %s", path, strerror(errno));
		return SHOP_EIO;
	}
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(err, errsz, "%s: %s", path, strerror(errno));
			rc = SHOP_EIO;
			goto out;
		}
		if (n == 0)
			break;
		if (b.len + (size_t)n > TEMPLATE_MAX) {
			snprintf(err, errsz, "%s: larger than %d bytes", path, TEMPLATE_MAX);
			rc = SHOP_EINVAL;
			goto out;
		}
		nw_buf_add(&b, chunk, (size_t)n);
	}
	nw_buf_add(&b, "", 0);
	if (!shop_utf8_valid(b.p, b.len)) {
		snprintf(err, errsz, "%s: not UTF-8 (or holds a NUL)", path);
		rc = SHOP_EINVAL;
		goto out;
	}
	*out = b.p;
	*outlen = b.len;
	b.p = NULL;
out:
	nw_buf_free(&b);
	close(fd);
	return rc;
}

/* Splits a .txt template: "Subject: ...\n", blank lines, then the body. */
static int split_text(char *all, size_t len, struct nw_tpl *tp, const char *path, char *err,
    size_t errsz)
{
	static const char prefix[] = "Subject:";
	char *nl = memchr(all, '\n', len), *s, *body;
	size_t slen;

	if (len < sizeof(prefix) - 1 || memcmp(all, prefix, sizeof(prefix) - 1) != 0 || !nl) {
		snprintf(err, errsz, "%s: the first line must be \"Subject: ...\"", path);
		return SHOP_EINVAL;
	}
	s = all + sizeof(prefix) - 1;
	while (s < nl && is_blank(*s))
		s++;
	slen = (size_t)(nl - s);
	while (slen > 0 && (is_blank(s[slen - 1]) || s[slen - 1] == '\r'))
		slen--;
	if (slen == 0) {
		snprintf(err, errsz, "%s: empty subject", path);
		return SHOP_EINVAL;
	}
	tp->subject = shop_xmalloc(slen + 1);
	memcpy(tp->subject, s, slen);
	tp->subject[slen] = '\0';
	body = nl + 1;
	while (body < all + len && (*body == '\n' || *body == '\r'))
		body++;
	tp->text = shop_xstrdup(body);
	return 0;
}

/* Renders every part of a template with every key set (and one line), then
 * with every key empty (and no line), so that both sides of each section
 * are checked. */
static int check_template(const struct nw_tpl *tp, const char *file, char *err, size_t errsz)
{
	struct nw_var vars[NW_V_COUNT], lvars[NW_L_COUNT];
	struct nw_record line = { lvars, NW_L_COUNT };
	struct nw_tctx c = { vars, NW_V_COUNT, &line, 1 };
	char why[160], subject[256];
	int rc = 0;

	for (int pass = 0; pass < 2 && rc == 0; pass++) {
		struct nw_buf b = { 0 };

		for (size_t i = 0; i < NW_V_COUNT; i++)
			vars[i] = (struct nw_var){ nw_var_keys[i], pass == 0 ? "x" : "" };
		for (size_t i = 0; i < NW_L_COUNT; i++)
			lvars[i] = (struct nw_var){ nw_line_keys[i], pass == 0 ? "x" : "" };
		c.nlines = pass == 0 ? 1 : 0;
		if ((rc = nw_render_subject(subject, sizeof(subject), tp->subject, &c, why,
		    sizeof(why))) != 0)
			snprintf(err, errsz, "%s.txt subject: %s", file, why);
		else if ((rc = nw_render(&b, tp->text, strlen(tp->text), &c, false, why,
		    sizeof(why))) != 0)
			snprintf(err, errsz, "%s.txt: %s", file, why);
		else if ((rc = nw_render(&b, tp->html, strlen(tp->html), &c, true, why,
		    sizeof(why))) != 0)
			snprintf(err, errsz, "%s.html: %s", file, why);
		nw_buf_free(&b);
	}
	return rc;
}

int nw_templates_load(struct nw_templates *t, const char *dir, char *err, size_t errsz)
{
	char path[1024];
	int rc = 0;

	memset(t, 0, sizeof(*t));
	for (size_t k = 0; k < NW_KIND_COUNT && rc == 0; k++) {
		struct nw_tpl *tp = &t->t[k];
		char *all = NULL;
		size_t len = 0;

		snprintf(path, sizeof(path), "%s/%s.txt", dir, nw_kinds[k].file);
		rc = read_file(path, &all, &len, err, errsz);
		if (rc == 0)
			rc = split_text(all, len, tp, path, err, errsz);
		free(all);
		if (rc)
			break;
		snprintf(path, sizeof(path), "%s/%s.html", dir, nw_kinds[k].file);
		rc = read_file(path, &tp->html, &len, err, errsz);
		if (rc == 0)
			rc = check_template(tp, nw_kinds[k].file, err, errsz);
	}
	if (rc)
		nw_templates_free(t);
	return rc;
}

void nw_templates_free(struct nw_templates *t)
{
	for (size_t k = 0; k < NW_KIND_COUNT; k++) {
		free(t->t[k].subject);
		free(t->t[k].text);
		free(t->t[k].html);
	}
	memset(t, 0, sizeof(*t));
}
