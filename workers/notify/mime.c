/* The MIME message of a notification (notify_worker.h): RFC 5322 headers,
 * RFC 2045/2046 multipart/alternative with quoted-printable parts, RFC 2047
 * encoded-words for a Subject or a display name that is not plain ASCII.
 *
 * Quoted-printable keeps the mostly-ASCII text readable in the raw message
 * and never produces "=_", so the boundary (which starts with "=_") can
 * never occur inside a part. A '.' or "From " at the start of a line is
 * encoded too, so that neither SMTP dot-stuffing nor an mbox reader can
 * touch the text. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "lib/err.h"
#include "lib/util.h"
#include "workers/notify/notify_worker.h"

#define LINE_MAX_COLS 78       /* RFC 5322: lines SHOULD be at most 78 characters */
#define QP_MAX_COLS 76         /* RFC 2045: encoded lines at most 76, soft break included */
#define EW_CHUNK 30            /* bytes of text per encoded-word: 52 columns each */

static const char hexdig[] = "0123456789ABCDEF";

static void b64_encode(struct nw_buf *b, const unsigned char *in, size_t n)
{
	static const char tab[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)in[i] << 16;
		char q[4];

		if (i + 1 < n)
			v |= (unsigned)in[i + 1] << 8;
		if (i + 2 < n)
			v |= in[i + 2];
		q[0] = tab[(v >> 18) & 63];
		q[1] = tab[(v >> 12) & 63];
		q[2] = i + 1 < n ? tab[(v >> 6) & 63] : '=';
		q[3] = i + 2 < n ? tab[v & 63] : '=';
		nw_buf_add(b, q, 4);
	}
}

/* ---- quoted-printable ---- */

static bool at_line_end(const char *s, size_t n, size_t i)
{
	return i + 1 >= n || s[i + 1] == '\n' || (s[i + 1] == '\r' && i + 2 < n && s[i + 2] == '\n');
}

void nw_qp_encode(struct nw_buf *b, const char *s, size_t n)
{
	size_t col = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		bool literal;

		if (c == '\r' && i + 1 < n && s[i + 1] == '\n')
			continue; /* the '\n' writes the line break */
		if (c == '\n') {
			nw_buf_add(b, "\r\n", 2);
			col = 0;
			continue;
		}
		for (int pass = 0; pass < 2; pass++) {
			literal = (c >= 33 && c <= 126 && c != '=') ||
			    ((c == ' ' || c == '\t') && !at_line_end(s, n, i));
			if (col == 0 && c == '.')
				literal = false;
			if (col == 0 && c == 'F' && n - i >= 5 && memcmp(s + i, "From ", 5) == 0)
				literal = false;
			if (col + (literal ? 1 : 3) <= QP_MAX_COLS - 1)
				break;
			nw_buf_add(b, "=\r\n", 3); /* soft line break, then decide again at column 0 */
			col = 0;
		}
		if (literal) {
			nw_buf_addc(b, (char)c);
			col++;
		} else {
			char e[3] = { '=', hexdig[c >> 4], hexdig[c & 15] };

			nw_buf_add(b, e, 3);
			col += 3;
		}
	}
}

/* ---- headers ---- */

static bool needs_encoding(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p >= 0x80 || (p[0] == '=' && p[1] == '?'))
			return true;
	}
	return false;
}

/* Appends encoded-words of s, the first after col columns; each following
 * one on a folded line. Returns the column after the last. */
static size_t encoded_words(struct nw_buf *b, const char *s, size_t col)
{
	size_t n = strlen(s), i = 0;

	while (i < n) {
		size_t k = n - i > EW_CHUNK ? EW_CHUNK : n - i;

		/* never split a UTF-8 sequence between two words */
		while (i + k < n && k > 1 && ((unsigned char)s[i + k] & 0xc0) == 0x80)
			k--;
		if (i > 0) {
			nw_buf_add(b, "\r\n ", 3);
			col = 1;
		}
		nw_buf_adds(b, "=?UTF-8?B?");
		b64_encode(b, (const unsigned char *)s + i, k);
		nw_buf_adds(b, "?=");
		col += 12 + 4 * ((k + 2) / 3);
		i += k;
	}
	return col;
}

/* value with every control character replaced by a blank (header injection
 * is impossible after this: no CR, no LF). */
static void clean(char *out, size_t outsz, const char *value)
{
	size_t n = 0;

	const unsigned char *p = (const unsigned char *)value;

	for (; *p && n + 1 < outsz; p++)
		out[n++] = (*p < 0x20 || *p == 0x7f) ? ' ' : (char)*p;
	if ((*p & 0xc0) == 0x80) {
		/* cut in the middle of a UTF-8 sequence: drop its first bytes too */
		while (n > 0 && ((unsigned char)out[n - 1] & 0xc0) == 0x80)
			n--;
		if (n > 0)
			n--;
	}
	out[n] = '\0';
}

void nw_header_text(struct nw_buf *b, const char *name, const char *value)
{
	char v[1024];
	size_t col = strlen(name) + 2;
	const char *p;

	clean(v, sizeof(v), value);
	nw_buf_adds(b, name);
	nw_buf_adds(b, ": ");
	if (needs_encoding(v)) {
		encoded_words(b, v, col);
		nw_buf_add(b, "\r\n", 2);
		return;
	}
	/* plain ASCII, folded before a blank where a line would pass 78 columns */
	p = v;
	while (*p) {
		const char *sp = strchr(p + 1, ' ');
		size_t wl = sp ? (size_t)(sp - p) : strlen(p);

		if (p != v && col + wl > LINE_MAX_COLS) {
			nw_buf_add(b, "\r\n", 2);
			col = 0;
		}
		nw_buf_add(b, p, wl);
		col += wl;
		p += wl;
	}
	nw_buf_add(b, "\r\n", 2);
}

static bool is_atext_phrase(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9'))
			continue;
		if (*p == ' ' || strchr("!#$%&'*+-/=?^_`{|}~", *p))
			continue;
		return false;
	}
	return true;
}

/* "Name: display <addr>" with the display name as atoms, a quoted string
 * or encoded-words. */
static void address_header(struct nw_buf *b, const char *hname, const char *display,
    const char *addr)
{
	char d[512];
	size_t col = strlen(hname) + 2;

	clean(d, sizeof(d), display ? display : "");
	nw_buf_adds(b, hname);
	nw_buf_adds(b, ": ");
	if (d[0] == '\0') {
		nw_buf_adds(b, addr);
		nw_buf_add(b, "\r\n", 2);
		return;
	}
	if (needs_encoding(d)) {
		col = encoded_words(b, d, col);
	} else if (is_atext_phrase(d)) {
		nw_buf_adds(b, d);
		col += strlen(d);
	} else {
		nw_buf_addc(b, '"');
		for (const char *p = d; *p; p++) {
			if (*p == '"' || *p == '\\') {
				nw_buf_addc(b, '\\');
				col++;
			}
			nw_buf_addc(b, *p);
		}
		nw_buf_addc(b, '"');
		col += strlen(d) + 2;
	}
	if (col + strlen(addr) + 3 > LINE_MAX_COLS)
		nw_buf_add(b, "\r\n", 2); /* the blank below starts the folded line */
	nw_buf_add(b, " <", 2);
	nw_buf_adds(b, addr);
	nw_buf_add(b, ">\r\n", 3);
}

bool nw_addr_valid(const char *addr)
{
	const char *at = NULL;
	size_t n = addr ? strlen(addr) : 0;

	if (n < 3 || n > 254)
		return false;
	for (const char *p = addr; *p; p++) {
		unsigned char c = (unsigned char)*p;

		if (c <= 32 || c >= 127 || strchr("()<>[]:;\\,\"", c))
			return false;
		if (c == '@') {
			if (at)
				return false;
			at = p;
		}
	}
	return at && at != addr && at[1] != '\0' && at[1] != '.' && addr[n - 1] != '.';
}

int nw_mailbox_parse(const char *s, char *name, size_t namesz, char *addr, size_t addrsz)
{
	const char *lt = strrchr(s, '<'), *gt, *a, *e;
	size_t n;

	if (namesz == 0 || addrsz == 0)
		return SHOP_EINVAL;
	name[0] = addr[0] = '\0';
	if (lt) {
		gt = strchr(lt, '>');
		if (!gt || gt[1 + strspn(gt + 1, " \t")] != '\0')
			return SHOP_EINVAL;
		a = lt + 1;
		n = (size_t)(gt - a);
		/* the display name: trimmed, outer quotes removed */
		e = lt;
		while (*s == ' ' || *s == '\t')
			s++;
		while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
			e--;
		if (e - s >= 2 && *s == '"' && e[-1] == '"') {
			s++;
			e--;
		}
		if ((size_t)(e - s) >= namesz)
			return SHOP_EINVAL;
		memcpy(name, s, (size_t)(e - s));
		name[e - s] = '\0';
	} else {
		a = s + strspn(s, " \t");
		n = strlen(a);
		while (n > 0 && (a[n - 1] == ' ' || a[n - 1] == '\t'))
			n--;
	}
	if (n >= addrsz)
		return SHOP_EINVAL;
	memcpy(addr, a, n);
	addr[n] = '\0';
	return nw_addr_valid(addr) ? 0 : SHOP_EINVAL;
}

void nw_date_rfc5322(char out[40], long long t)
{
	static const char *const days[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
		"Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	snprintf(out, 40, "%s, %02d %s %04d %02d:%02d:%02d +0000", days[tm.tm_wday % 7],
	    tm.tm_mday, months[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
	    tm.tm_sec);
}

static bool message_id_valid(const char *id)
{
	size_t n = id ? strlen(id) : 0;

	if (n < 5 || n > 250 || id[0] != '<' || id[n - 1] != '>' || !strchr(id, '@'))
		return false;
	for (size_t i = 1; i + 1 < n; i++) {
		unsigned char c = (unsigned char)id[i];

		if (c <= 32 || c >= 127 || c == '<' || c == '>')
			return false;
	}
	return true;
}

static void part(struct nw_buf *b, const char *boundary, const char *type, const char *body)
{
	nw_buf_adds(b, "--");
	nw_buf_adds(b, boundary);
	nw_buf_adds(b, "\r\nContent-Type: ");
	nw_buf_adds(b, type);
	nw_buf_adds(b, "; charset=UTF-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n");
	nw_qp_encode(b, body, strlen(body));
	nw_buf_add(b, "\r\n", 2); /* the CRLF before the next delimiter belongs to it */
}

int nw_mime_build(struct nw_buf *out, const struct nw_mail *m)
{
	char date[40], boundary[80];

	if (!nw_addr_valid(m->from_addr) || !nw_addr_valid(m->to_addr) ||
	    !message_id_valid(m->message_id))
		return SHOP_EINVAL;
	if (m->boundary) {
		snprintf(boundary, sizeof(boundary), "%s", m->boundary);
	} else {
		unsigned char rnd[12];
		char hex[25];

		shop_random_bytes(rnd, sizeof(rnd));
		shop_hex_encode(hex, rnd, sizeof(rnd));
		snprintf(boundary, sizeof(boundary), "=_shop_%s", hex);
	}
	nw_date_rfc5322(date, m->date);
	nw_buf_adds(out, "Date: ");
	nw_buf_adds(out, date);
	nw_buf_add(out, "\r\n", 2);
	address_header(out, "From", m->from_name, m->from_addr);
	address_header(out, "To", m->to_name, m->to_addr);
	nw_header_text(out, "Subject", m->subject ? m->subject : "");
	nw_buf_adds(out, "Message-ID: ");
	nw_buf_adds(out, m->message_id);
	nw_buf_adds(out, "\r\nMIME-Version: 1.0\r\n");
	nw_buf_adds(out, "Content-Type: multipart/alternative;\r\n boundary=\"");
	nw_buf_adds(out, boundary);
	nw_buf_adds(out, "\"\r\n\r\nThis is a multi-part message in MIME format.\r\n\r\n");
	part(out, boundary, "text/plain", m->text ? m->text : "");
	part(out, boundary, "text/html", m->html ? m->html : "");
	nw_buf_adds(out, "--");
	nw_buf_adds(out, boundary);
	nw_buf_adds(out, "--\r\n");
	return 0;
}
