/* Declarative validation of JSON bodies and query strings.
 *
 * Body rules:
 *   - the body must be an object; every key must be declared (UNKNOWN_FIELD);
 *   - absent REQUIRED field → REQUIRED; JSON null → INVALID_TYPE unless the
 *     field is NULLABLE (REQUIRED|NULLABLE: the key must be there, null is ok);
 *   - STRING: valid UTF-8 without NUL and without control characters (C0, DEL,
 *     C1, U+2028/9), except \n \r \t when MULTILINE (else INVALID_FORMAT);
 *     length in code points within [min, max] (INVALID_LENGTH); then .format
 *     (INVALID_FORMAT);
 *   - INT: a JSON integer (1.0 and 1e3 are INVALID_TYPE) within [min, max]
 *     (OUT_OF_RANGE). json-c saturates integers beyond int64, so INT64_MIN and
 *     INT64_MAX themselves are always OUT_OF_RANGE;
 *   - arrays: the count within [min, max] (INVALID_LENGTH); each element of an
 *     OBJECT_ARRAY must be an object ("items[2]" INVALID_TYPE), each of a
 *     STRING_ARRAY a single-line string passing .format.
 * Bounds: min = max = 0 means unbounded. For lengths and counts (never
 * negative) max = 0 alone also means "no upper bound".
 *
 * Query rules (shop_query_parse):
 *   - "" or NULL is an empty query; pairs are split on '&'; an empty pair
 *     ("a=1&&b=2", a trailing '&'), a pair without '=' or with an empty name
 *     is INVALID_FORMAT;
 *   - names and values are percent-decoded: '+' is a space, '%' must be
 *     followed by two hex digits (else INVALID_FORMAT); the decoded text must
 *     be valid UTF-8 without NUL or control characters (INVALID_FORMAT);
 *   - undeclared names → UNKNOWN_FIELD, a repeated name → DUPLICATE_FIELD;
 *   - STRING values follow the body's string rules (so "" is accepted only
 *     when min is 0 and there is no format that refuses it);
 *   - INT values are strict decimals (shop_parse_int): "" or "1.0" or "+1"
 *     → INVALID_TYPE, beyond the bounds or int64 → OUT_OF_RANGE.
 * Field names echoed back in errors are cut at a UTF-8 boundary; names from a
 * query are echoed only when they are printable ASCII. */
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "lib/err.h"
#include "lib/mem.h"
#include "lib/util.h"
#include "lib/validate.h"

static const char UNKNOWN_FIELD[] = "UNKNOWN_FIELD";
static const char REQUIRED[] = "REQUIRED";
static const char INVALID_TYPE[] = "INVALID_TYPE";
static const char OUT_OF_RANGE[] = "OUT_OF_RANGE";
static const char INVALID_LENGTH[] = "INVALID_LENGTH";
static const char INVALID_FORMAT[] = "INVALID_FORMAT";
static const char DUPLICATE_FIELD[] = "DUPLICATE_FIELD";

/* Cuts s back to its longest valid UTF-8 prefix. */
static void utf8_trim(char *s)
{
	size_t n = strlen(s);

	while (n > 0 && !shop_utf8_valid(s, n))
		n--;
	s[n] = '\0';
}

void shop_verrs_add(struct shop_verrs *errs, const char *field, const char *code,
    const char *detail_fmt, ...)
{
	struct shop_verr *e;
	va_list ap;

	if (!errs || errs->n >= SHOP_MAX_VERRS)
		return;
	e = &errs->e[errs->n++];
	snprintf(e->field, sizeof(e->field), "%s", field ? field : "");
	utf8_trim(e->field);
	e->code = code;
	e->detail[0] = '\0';
	if (detail_fmt) {
		va_start(ap, detail_fmt);
		vsnprintf(e->detail, sizeof(e->detail), detail_fmt, ap);
		va_end(ap);
		utf8_trim(e->detail);
	}
}

/* Validation state: errors counted even beyond what errs can hold. */
struct vctx {
	struct shop_verrs *errs;
	unsigned found;
};

static void verr(struct vctx *v, const char *field, const char *code, const char *detail)
{
	v->found++;
	shop_verrs_add(v->errs, field, code, "%s", detail);
}

static bool unbounded(long long min, long long max)
{
	return min == 0 && max == 0;
}

/* Is the count or length n within [min, max]? max 0 means no upper bound. */
static bool len_ok(size_t n, long long min, long long max)
{
	if (min > 0 && n < (unsigned long long)min)
		return false;
	if (max > 0 && n > (unsigned long long)max)
		return false;
	return true;
}

static void len_detail(char *buf, size_t sz, const char *what, long long min, long long max)
{
	if (max > 0)
		snprintf(buf, sz, "%s must be between %lld and %lld", what, min, max);
	else
		snprintf(buf, sz, "%s must be at least %lld", what, min);
}

/* The control characters refused in strings: C0, DEL, C1, U+2028, U+2029.
 * s is valid UTF-8. multiline allows \n, \r and \t. */
static bool has_control(const char *s, size_t n, bool multiline)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i;

	for (i = 0; i < n; i++) {
		if (p[i] < 0x20) {
			if (multiline && (p[i] == '\n' || p[i] == '\r' || p[i] == '\t'))
				continue;
			return true;
		}
		if (p[i] == 0x7f)
			return true;
		if (p[i] == 0xc2 && i + 1 < n && p[i + 1] >= 0x80 && p[i + 1] <= 0x9f)
			return true;
		if (p[i] == 0xe2 && i + 2 < n && p[i + 1] == 0x80 &&
		    (p[i + 2] == 0xa8 || p[i + 2] == 0xa9))
			return true;
	}
	return false;
}

/* Checks one string value against f (length, characters, format). */
static void check_string(struct vctx *v, const char *path, const struct shop_field *f,
    const char *s, size_t n, bool count_is_length)
{
	char detail[128];

	if (!shop_utf8_valid(s, n)) {
		verr(v, path, INVALID_FORMAT, "must be valid UTF-8 without NUL");
		return;
	}
	if (has_control(s, n, (f->flags & SHOP_F_MULTILINE) != 0)) {
		verr(v, path, INVALID_FORMAT, "must not contain control characters");
		return;
	}
	if (count_is_length && !len_ok(shop_utf8_len(s, n), f->min, f->max)) {
		len_detail(detail, sizeof(detail), "length", f->min, f->max);
		verr(v, path, INVALID_LENGTH, detail);
		return;
	}
	if (f->format && !f->format(s, n))
		verr(v, path, INVALID_FORMAT, "has an invalid format");
}

static void check_int(struct vctx *v, const char *path, const struct shop_field *f, long long x)
{
	char detail[128];

	if (x == INT64_MIN || x == INT64_MAX) {
		verr(v, path, OUT_OF_RANGE, "number out of range");
		return;
	}
	if (unbounded(f->min, f->max))
		return;
	if (x < f->min || x > f->max) {
		snprintf(detail, sizeof(detail), "must be between %lld and %lld", f->min, f->max);
		verr(v, path, OUT_OF_RANGE, detail);
	}
}

/* path + "." + name, or path + "[i]", cut at a UTF-8 boundary. */
static void path_join(char out[96], const char *path, const char *name)
{
	int n;

	/* Truncation is fine: the field name is cut at a character boundary. */
	if (path[0])
		n = snprintf(out, 96, "%s.%s", path, name);
	else
		n = snprintf(out, 96, "%s", name);
	if (n >= 96)
		utf8_trim(out);
}

static void path_index(char out[96], const char *path, size_t i)
{
	if (snprintf(out, 96, "%s[%zu]", path, i) >= 96)
		utf8_trim(out);
}

static void check_object(struct vctx *v, const char *path, json_object *o,
    const struct shop_field *fields);

static void check_value(struct vctx *v, const char *path, const struct shop_field *f,
    json_object *val)
{
	char sub[96], detail[128];
	size_t i, len;

	switch (f->type) {
	case SHOP_T_STRING:
		if (!json_object_is_type(val, json_type_string)) {
			verr(v, path, INVALID_TYPE, "must be a string");
			return;
		}
		check_string(v, path, f, json_object_get_string(val),
		    (size_t)json_object_get_string_len(val), true);
		return;
	case SHOP_T_INT:
		if (!json_object_is_type(val, json_type_int)) {
			verr(v, path, INVALID_TYPE, "must be an integer");
			return;
		}
		check_int(v, path, f, json_object_get_int64(val));
		return;
	case SHOP_T_BOOL:
		if (!json_object_is_type(val, json_type_boolean))
			verr(v, path, INVALID_TYPE, "must be true or false");
		return;
	case SHOP_T_OBJECT:
		if (!json_object_is_type(val, json_type_object)) {
			verr(v, path, INVALID_TYPE, "must be an object");
			return;
		}
		check_object(v, path, val, f->fields);
		return;
	case SHOP_T_OBJECT_ARRAY:
	case SHOP_T_STRING_ARRAY:
		if (!json_object_is_type(val, json_type_array)) {
			verr(v, path, INVALID_TYPE, "must be an array");
			return;
		}
		len = json_object_array_length(val);
		if (!len_ok(len, f->min, f->max)) {
			len_detail(detail, sizeof(detail), "count", f->min, f->max);
			verr(v, path, INVALID_LENGTH, detail);
			return;
		}
		for (i = 0; i < len; i++) {
			json_object *el = json_object_array_get_idx(val, i);

			path_index(sub, path, i);
			if (f->type == SHOP_T_OBJECT_ARRAY) {
				if (!json_object_is_type(el, json_type_object)) {
					verr(v, sub, INVALID_TYPE, "must be an object");
					continue;
				}
				check_object(v, sub, el, f->fields);
			} else {
				struct shop_field one = {
					.name = f->name, .type = SHOP_T_STRING,
					.format = f->format,
				};

				if (!json_object_is_type(el, json_type_string)) {
					verr(v, sub, INVALID_TYPE, "must be a string");
					continue;
				}
				check_string(v, sub, &one, json_object_get_string(el),
				    (size_t)json_object_get_string_len(el), false);
			}
		}
		return;
	}
	verr(v, path, INVALID_TYPE, "unsupported field type");
}

static const struct shop_field *find_field(const struct shop_field *fields, const char *name,
    size_t n)
{
	const struct shop_field *f;

	for (f = fields; f && f->name; f++)
		if (strlen(f->name) == n && !memcmp(f->name, name, n))
			return f;
	return NULL;
}

static void check_object(struct vctx *v, const char *path, json_object *o,
    const struct shop_field *fields)
{
	const struct shop_field *f;
	char sub[96];

	{
		json_object_object_foreach(o, key, val) {
			(void)val;
			if (!find_field(fields, key, strlen(key))) {
				path_join(sub, path, key);
				verr(v, sub, UNKNOWN_FIELD, "unknown field");
			}
		}
	}
	for (f = fields; f && f->name; f++) {
		json_object *val = NULL;

		path_join(sub, path, f->name);
		if (!json_object_object_get_ex(o, f->name, &val)) {
			if (f->flags & SHOP_F_REQUIRED)
				verr(v, sub, REQUIRED, "is required");
			continue;
		}
		if (!val) {
			if (!(f->flags & SHOP_F_NULLABLE))
				verr(v, sub, INVALID_TYPE, "must not be null");
			continue;
		}
		check_value(v, sub, f, val);
	}
}

int shop_validate_body(json_object *body, const struct shop_field *spec, struct shop_verrs *errs)
{
	struct vctx v = { .errs = errs, .found = 0 };

	if (!json_object_is_type(body, json_type_object)) {
		verr(&v, "", INVALID_TYPE, "the body must be a JSON object");
		return SHOP_EINVAL;
	}
	check_object(&v, "", body, spec);
	return v.found ? SHOP_EINVAL : 0;
}

/* Query strings. */

/* Percent-decodes s[0..n) into out (n + 1 bytes). Returns the length or -1. */
static long pct_decode(char *out, const char *s, size_t n)
{
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		if (s[i] == '+') {
			out[o++] = ' ';
		} else if (s[i] == '%') {
			int hi, lo;

			if (n - i < 3)
				return -1;
			hi = shop_hexval(s[i + 1]);
			lo = shop_hexval(s[i + 2]);
			if (hi < 0 || lo < 0)
				return -1;
			out[o++] = (char)(hi << 4 | lo);
			i += 2;
		} else {
			out[o++] = s[i];
		}
	}
	out[o] = '\0';
	return (long)o;
}

/* A query name fit to be echoed in an error: printable ASCII, else "". */
static void echo_name(char out[96], const char *s, size_t n)
{
	size_t i;

	if (n >= 96)
		n = 95;
	for (i = 0; i < n; i++) {
		if (s[i] < 0x21 || s[i] > 0x7e) {
			out[0] = '\0';
			return;
		}
	}
	memcpy(out, s, n);
	out[n] = '\0';
}

static bool digits_only(const char *s, size_t n)
{
	size_t i = (n > 0 && s[0] == '-') ? 1 : 0;

	if (i == n)
		return false;
	for (; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

static void check_query_value(struct vctx *v, const char *name, const struct shop_field *f,
    const char *val, size_t len)
{
	long long x;

	switch (f->type) {
	case SHOP_T_STRING:
		check_string(v, name, f, val, len, true);
		return;
	case SHOP_T_INT:
		if (shop_parse_int(val, len, LLONG_MIN, LLONG_MAX, &x) < 0) {
			if (digits_only(val, len) && !(val[0] == '0' || (val[0] == '-' && val[1] == '0')))
				verr(v, name, OUT_OF_RANGE, "number out of range");
			else
				verr(v, name, INVALID_TYPE, "must be a decimal integer");
			return;
		}
		check_int(v, name, f, x);
		return;
	default:
		verr(v, name, INVALID_TYPE, "unsupported query parameter type");
		return;
	}
}

int shop_query_parse(struct shop_arena *a, const char *raw, const struct shop_field *spec,
    struct shop_query *out, struct shop_verrs *errs)
{
	struct vctx v = { .errs = errs, .found = 0 };
	const struct shop_field *f;
	size_t npairs = 1, rawlen, start, i;
	char fname[96];

	out->n = 0;
	out->p = NULL;
	rawlen = raw ? strlen(raw) : 0;
	if (rawlen > 0) {
		for (i = 0; i < rawlen; i++)
			if (raw[i] == '&')
				npairs++;
		out->p = shop_arena_alloc(a, npairs * sizeof(*out->p));
	}

	for (start = 0; rawlen > 0 && start <= rawlen;) {
		const char *pair = raw + start, *eq, *amp;
		size_t plen, nlen, vlen;
		char *name, *val;
		long dn, dv;
		unsigned j;

		amp = memchr(pair, '&', rawlen - start);
		plen = amp ? (size_t)(amp - pair) : rawlen - start;
		start += plen + 1;
		if (plen == 0) {
			verr(&v, "", INVALID_FORMAT, "empty query parameter");
			continue;
		}
		eq = memchr(pair, '=', plen);
		nlen = eq ? (size_t)(eq - pair) : plen;
		echo_name(fname, pair, nlen);
		if (!eq || nlen == 0) {
			verr(&v, fname, INVALID_FORMAT, "expected name=value");
			continue;
		}
		vlen = plen - nlen - 1;
		name = shop_arena_alloc(a, nlen + 1);
		val = shop_arena_alloc(a, vlen + 1);
		dn = pct_decode(name, pair, nlen);
		dv = pct_decode(val, eq + 1, vlen);
		if (dn < 0 || dv < 0) {
			verr(&v, fname, INVALID_FORMAT, "bad percent-encoding");
			continue;
		}
		if (dn == 0 || !shop_utf8_valid(name, (size_t)dn) ||
		    has_control(name, (size_t)dn, false)) {
			verr(&v, fname, INVALID_FORMAT, "invalid parameter name");
			continue;
		}
		echo_name(fname, name, (size_t)dn);
		f = find_field(spec, name, (size_t)dn);
		if (!f) {
			verr(&v, fname, UNKNOWN_FIELD, "unknown query parameter");
			continue;
		}
		for (j = 0; j < out->n; j++)
			if (!strcmp(out->p[j].name, f->name))
				break;
		if (j < out->n) {
			verr(&v, f->name, DUPLICATE_FIELD, "query parameter repeated");
			continue;
		}
		/* Recorded before its value is checked, so that a repeat of a bad
		 * value is still reported as a repeat; the query is refused anyway. */
		out->p[out->n].name = f->name;
		out->p[out->n].value = val;
		out->p[out->n].len = (size_t)dv;
		out->n++;
		check_query_value(&v, f->name, f, val, (size_t)dv);
	}

	for (f = spec; f && f->name; f++) {
		unsigned j;

		if (!(f->flags & SHOP_F_REQUIRED))
			continue;
		for (j = 0; j < out->n; j++)
			if (!strcmp(out->p[j].name, f->name))
				break;
		if (j == out->n)
			verr(&v, f->name, REQUIRED, "is required");
	}
	if (v.found) {
		out->n = 0;
		return SHOP_EINVAL;
	}
	return 0;
}

/* Formats. */

static bool is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* Conservative: local part [A-Za-z0-9._%+-]{1,64} without leading, trailing
 * or doubled dots; a domain of at least two dot-separated labels of
 * [A-Za-z0-9-]{1,63} not starting or ending with '-', the last one not all
 * digits; 254 bytes at most. */
bool shop_fmt_email(const char *s, size_t n)
{
	const char *at = memchr(s, '@', n);
	size_t i, local, labels = 0, lablen = 0;
	bool tld_digits = true;

	if (n > 254 || !at)
		return false;
	local = (size_t)(at - s);
	if (local == 0 || local > 64 || s[0] == '.' || s[local - 1] == '.')
		return false;
	for (i = 0; i < local; i++) {
		char c = s[i];

		if (!is_alnum(c) && c != '.' && c != '_' && c != '%' && c != '+' && c != '-')
			return false;
		if (c == '.' && s[i + 1] == '.')
			return false;
	}
	for (i = local + 1; i <= n; i++) {
		char c = i < n ? s[i] : '.';

		if (c == '.') {
			if (lablen == 0 || lablen > 63 || s[i - 1] == '-')
				return false;
			labels++;
			if (i < n) {
				lablen = 0;
				tld_digits = true;
			}
			continue;
		}
		if (!is_alnum(c) && c != '-')
			return false;
		if (c == '-' && lablen == 0)
			return false;
		if (c < '0' || c > '9')
			tld_digits = false;
		lablen++;
	}
	return labels >= 2 && !tld_digits;
}

bool shop_fmt_currency(const char *s, size_t n)
{
	static const char codes[] = "EUR USD GBP CHF JPY SEK NOK DKK PLN CZK CAD AUD ";
	size_t i;

	if (n != 3)
		return false;
	for (i = 0; i + 4 <= sizeof(codes) - 1; i += 4)
		if (!memcmp(codes + i, s, 3))
			return true;
	return false;
}

/* ISO 3166-1 alpha-2, officially assigned codes. */
bool shop_fmt_country(const char *s, size_t n)
{
	static const char codes[] =
	    "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI "
	    "BJ BL BM BN BO BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN "
	    "CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK "
	    "FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM "
	    "HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN "
	    "KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK "
	    "ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP "
	    "NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW "
	    "SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF "
	    "TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI "
	    "VN VU WF WS YE YT ZA ZM ZW ";
	size_t i;

	if (n != 2 || s[0] < 'A' || s[0] > 'Z' || s[1] < 'A' || s[1] > 'Z')
		return false;
	for (i = 0; i + 3 <= sizeof(codes) - 1; i += 3)
		if (codes[i] == s[0] && codes[i + 1] == s[1])
			return true;
	return false;
}

bool shop_fmt_sku(const char *s, size_t n)
{
	size_t i;

	if (n < 1 || n > 64)
		return false;
	for (i = 0; i < n; i++)
		if (!is_alnum(s[i]) && s[i] != '.' && s[i] != '_' && s[i] != '-')
			return false;
	return true;
}

bool shop_fmt_role(const char *s, size_t n)
{
	return (n == 8 && !memcmp(s, "CUSTOMER", 8)) || (n == 6 && !memcmp(s, "SELLER", 6)) ||
	    (n == 5 && !memcmp(s, "ADMIN", 5));
}

/* An optional leading '+', then digits, ' ', '-', '(' and ')'; 3 to 32
 * characters with at least 3 digits. */
bool shop_fmt_phone(const char *s, size_t n)
{
	size_t i, digits = 0;

	if (n < 3 || n > 32)
		return false;
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (c >= '0' && c <= '9')
			digits++;
		else if (c == '+' && i == 0)
			continue;
		else if (c != ' ' && c != '-' && c != '(' && c != ')')
			return false;
	}
	return digits >= 3;
}

bool shop_fmt_single_line(const char *s, size_t n)
{
	return !has_control(s, n, false);
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

bool shop_fmt_text(const char *s, size_t n)
{
	return n > 0 && shop_fmt_single_line(s, n) && !is_blank(s[0]) && !is_blank(s[n - 1]);
}
