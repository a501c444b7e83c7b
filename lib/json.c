/* JSON input parsing (json-c) and the response envelope.
 *
 * shop_json_parse() is stricter than json-c's strict mode:
 *   - exactly n bytes, one value, only JSON whitespace after it;
 *   - depth at most SHOP_JSON_MAX_DEPTH nested arrays/objects;
 *   - strings and keys must be valid UTF-8 (no overlong forms, no surrogates)
 *     without NUL ("\u0000" is refused) and without raw control characters;
 *     a lone surrogate escape ("\ud800") is turned into U+FFFD by json-c;
 *   - NaN, Infinity and numbers that overflow a double are refused, and so
 *     are 'single-quoted' strings and numbers such as "1." (json-c's strict
 *     mode lets both pass): the text is checked against RFC 8259's grammar
 *     for numbers and literals;
 *   - a top-level null is refused: it cannot be told from a failure;
 *   - duplicate keys in an object are refused ("duplicate key"): json-c would
 *     silently keep the last one, and two readers of one body must never
 *     disagree on its meaning. They are found by counting the members in the
 *     text (each ':' outside a string is one) against those in the tree.
 * Integers beyond int64 are saturated by json-c (to INT64_MIN, INT64_MAX or
 * UINT64_MAX); shop_validate_body() treats those values as OUT_OF_RANGE. */
#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/json.h"
#include "lib/util.h"

static json_object *nn(json_object *o)
{
	if (!o) {
		fprintf(stderr, "shop: out of memory in json-c\n");
		abort();
	}
	return o;
}

static bool json_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Length of the RFC 8259 number at s, or 0 when it is not one (json-c
 * accepts "1." and the like):
 * -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)? */
static size_t number_len(const char *s, size_t n)
{
	size_t i = 0, d;

	if (i < n && s[i] == '-')
		i++;
	if (i < n && s[i] == '0') {
		i++;
	} else {
		for (d = i; i < n && s[i] >= '0' && s[i] <= '9'; i++)
			;
		if (i == d)
			return 0;
	}
	if (i < n && s[i] == '.') {
		for (d = ++i; i < n && s[i] >= '0' && s[i] <= '9'; i++)
			;
		if (i == d)
			return 0;
	}
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < n && (s[i] == '+' || s[i] == '-'))
			i++;
		for (d = i; i < n && s[i] >= '0' && s[i] <= '9'; i++)
			;
		if (i == d)
			return 0;
	}
	/* A number must end at a delimiter ("01" and "1x" are not numbers). */
	if (i < n && !strchr(" \t\n\r,]}", s[i]))
		return 0;
	return i;
}

/* Scans valid JSON text: counts the object members (':' outside strings) and
 * finds raw control characters or \u0000 inside strings. */
static const char *scan_text(const char *s, size_t n, size_t *members)
{
	bool in_str = false;
	size_t i, count = 0;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (!in_str) {
			if (c == '"')
				in_str = true;
			else if (c == ':')
				count++;
			else if (c == '-' || (c >= '0' && c <= '9')) {
				size_t k = number_len(s + i, n - i);

				if (!k)
					return "invalid number";
				i += k - 1;
			} else if (c == 't' || c == 'f' || c == 'n') {
				size_t k = c == 'f' ? 5 : 4;

				if (n - i < k || (memcmp(s + i, "true", k) && memcmp(s + i, "false", k) &&
				    memcmp(s + i, "null", k)))
					return "malformed JSON";
				i += k - 1;
			} else if (!strchr(" \t\n\r{}[],", c) || c == 0) {
				return "malformed JSON"; /* json-c accepts 'single quotes' */
			}
			continue;
		}
		if (c == '"') {
			in_str = false;
		} else if (c == '\\') {
			if (i + 1 < n && s[i + 1] == 'u' && i + 5 < n &&
			    !memcmp(s + i + 2, "0000", 4))
				return "NUL in string";
			i++; /* skip the escaped character */
		} else if (c < 0x20) {
			return "control character in string";
		}
	}
	*members = count;
	return NULL;
}

/* Checks what the text scan cannot see and counts members. */
static const char *walk(json_object *o, size_t *members)
{
	const char *why;
	size_t i, len;

	switch (json_object_get_type(o)) {
	case json_type_string:
		if (!shop_utf8_valid(json_object_get_string(o),
		    (size_t)json_object_get_string_len(o)))
			return "invalid UTF-8 or NUL in string";
		return NULL;
	case json_type_double:
		if (!isfinite(json_object_get_double(o)))
			return "invalid number";
		return NULL;
	case json_type_array:
		len = json_object_array_length(o);
		for (i = 0; i < len; i++) {
			why = walk(json_object_array_get_idx(o, i), members);
			if (why)
				return why;
		}
		return NULL;
	case json_type_object: {
		json_object_object_foreach(o, key, val) {
			if (!shop_utf8_valid(key, strlen(key)))
				return "invalid UTF-8 in key";
			(*members)++;
			why = walk(val, members);
			if (why)
				return why;
		}
		return NULL;
	}
	default:
		return NULL;
	}
}

json_object *shop_json_parse(const char *s, size_t n, const char **why)
{
	struct json_tokener *tok = NULL;
	json_object *o = NULL;
	enum json_tokener_error e;
	size_t end, i, text_members = 0, tree_members = 0;
	const char *reason = NULL;

	if (n == 0) {
		reason = "empty body";
		goto out;
	}
	if (n > INT_MAX) {
		reason = "body too big";
		goto out;
	}
	/* json-c counts the top level: depth d allows d - 1 nested containers. */
	tok = json_tokener_new_ex(SHOP_JSON_MAX_DEPTH + 1);
	if (!tok) {
		fprintf(stderr, "shop: out of memory in json-c\n");
		abort();
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	o = json_tokener_parse_ex(tok, s, (int)n);
	e = json_tokener_get_error(tok);
	if (!o && e == json_tokener_continue) {
		/* A number or literal at the very end: a NUL tells json-c it ended. */
		o = json_tokener_parse_ex(tok, "", 1);
		e = json_tokener_get_error(tok);
		end = n;
	} else {
		end = json_tokener_get_parse_end(tok);
	}
	if (!o) {
		switch (e) {
		case json_tokener_success:
			reason = "null is not accepted here";
			break;
		case json_tokener_error_depth:
			reason = "nesting too deep";
			break;
		case json_tokener_error_parse_utf8_string:
			reason = "invalid UTF-8";
			break;
		case json_tokener_continue:
		case json_tokener_error_parse_eof:
			reason = "unexpected end of JSON";
			break;
		default:
			reason = "malformed JSON";
			break;
		}
		goto out;
	}
	for (i = end; i < n; i++) {
		if (!json_ws(s[i])) {
			reason = "trailing characters after JSON value";
			goto out;
		}
	}
	reason = scan_text(s, end, &text_members);
	if (reason)
		goto out;
	reason = walk(o, &tree_members);
	if (reason)
		goto out;
	if (tree_members != text_members)
		reason = "duplicate key";
out:
	if (tok)
		json_tokener_free(tok);
	if (reason) {
		json_object_put(o);
		o = NULL;
	}
	if (why)
		*why = reason;
	return o;
}

json_object *shop_json_error_item(const char *field, const char *code, const char *detail)
{
	json_object *o = nn(json_object_new_object());

	if (field)
		json_object_object_add(o, "field", shop_json_str(field));
	json_object_object_add(o, "code", shop_json_str(code ? code : "ERROR"));
	if (detail)
		json_object_object_add(o, "detail", shop_json_str(detail));
	return o;
}

json_object *shop_json_success(int code, const char *message, json_object *data)
{
	json_object *o = nn(json_object_new_object());

	json_object_object_add(o, "status", shop_json_str("SUCCESS"));
	json_object_object_add(o, "code", nn(json_object_new_int(code)));
	json_object_object_add(o, "message", shop_json_str(message ? message : ""));
	if (data)
		json_object_object_add(o, "data", data);
	return o;
}

json_object *shop_json_error(int code, const char *message, json_object *errors)
{
	json_object *o = nn(json_object_new_object());

	json_object_object_add(o, "status", shop_json_str("ERROR"));
	json_object_object_add(o, "code", nn(json_object_new_int(code)));
	json_object_object_add(o, "message", shop_json_str(message ? message : ""));
	json_object_object_add(o, "errors", errors ? errors : nn(json_object_new_array()));
	return o;
}

json_object *shop_json_list(json_object *items, const char *next_cursor)
{
	json_object *o = nn(json_object_new_object());

	json_object_object_add(o, "items", items ? items : nn(json_object_new_array()));
	json_object_object_add(o, "next_cursor", shop_json_str(next_cursor));
	return o;
}

json_object *shop_json_str(const char *s)
{
	if (!s)
		return NULL;
	return nn(json_object_new_string(s));
}

json_object *shop_json_strn(const char *s, size_t n)
{
	if (!s)
		return NULL;
	if (n > INT_MAX)
		n = INT_MAX;
	return nn(json_object_new_string_len(s, (int)n));
}

json_object *shop_json_int(long long v)
{
	return nn(json_object_new_int64(v));
}

const char *shop_json_text(json_object *obj, size_t *len)
{
	size_t l = 0;
	const char *s;

	s = json_object_to_json_string_length(obj,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &l);
	if (!s) {
		s = "null";
		l = 4;
	}
	if (len)
		*len = l;
	return s;
}
