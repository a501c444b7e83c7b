/* Declarative input validation (kcgi's idea): each route lists the fields it
 * accepts, with a type, bounds and an optional format check. The request layer
 * validates the whole body and query before the handler runs; anything
 * undeclared is refused (UNKNOWN_FIELD). Handlers only see checked values.
 *
 * Error codes put in the envelope: UNKNOWN_FIELD, REQUIRED, INVALID_TYPE,
 * OUT_OF_RANGE, INVALID_LENGTH, INVALID_FORMAT, DUPLICATE_FIELD (query). */
#ifndef SHOP_VALIDATE_H
#define SHOP_VALIDATE_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

enum shop_ftype {
	SHOP_T_STRING,       /* JSON string; min/max bound its length in code points */
	SHOP_T_INT,          /* JSON integer (no fraction, no exponent); min/max bound the value */
	SHOP_T_BOOL,         /* JSON true/false */
	SHOP_T_OBJECT,       /* JSON object validated against .fields */
	SHOP_T_OBJECT_ARRAY, /* array of objects validated against .fields; min/max bound the count */
	SHOP_T_STRING_ARRAY, /* array of strings, each checked by .format; min/max bound the count */
};

/* Field flags. */
#define SHOP_F_REQUIRED 0x01 /* must be present */
#define SHOP_F_NULLABLE 0x02 /* JSON null accepted (treated as absent by accessors) */
#define SHOP_F_MULTILINE 0x04 /* strings: \n and \t allowed (other control characters never are) */

/* A format check for a string: returns true when s[0..n) is acceptable.
 * The string is already known to be valid UTF-8 without NUL. */
typedef bool (*shop_format_fn)(const char *s, size_t n);

struct shop_field {
	const char *name;              /* NULL ends a field list */
	enum shop_ftype type;
	unsigned flags;
	long long min, max;            /* see enum shop_ftype; both 0 means unbounded */
	shop_format_fn format;         /* optional */
	const struct shop_field *fields; /* OBJECT and OBJECT_ARRAY element schema */
};

#define SHOP_MAX_VERRS 16

struct shop_verr {
	char field[96];   /* "items[2].quantity"; "" for the body as a whole */
	const char *code; /* static string, one of the codes above */
	char detail[128];
};

struct shop_verrs {
	unsigned n;
	struct shop_verr e[SHOP_MAX_VERRS];
};

/* Appends an error (silently dropped beyond SHOP_MAX_VERRS). */
void shop_verrs_add(struct shop_verrs *errs, const char *field, const char *code,
    const char *detail_fmt, ...) __attribute__((format(printf, 4, 5)));

/* Validates a JSON body against spec (a NULL-name-terminated list). The body
 * must be an object. Returns 0, or SHOP_EINVAL with every error found in errs. */
int shop_validate_body(json_object *body, const struct shop_field *spec, struct shop_verrs *errs);

/* A parsed query string: name/value pairs, percent-decoded, in arena memory. */
struct shop_query {
	unsigned n;
	struct shop_qpair { const char *name; const char *value; size_t len; } *p;
};

struct shop_arena;
/* Parses and validates a raw query string against spec, where SHOP_T_STRING
 * and SHOP_T_INT are the only types allowed (INT parsed strictly from decimal).
 * Unknown or repeated names, bad percent-encoding, invalid UTF-8, NUL, values
 * out of range → SHOP_EINVAL with errs (the handler answers 400 INVALID_QUERY).
 * spec NULL accepts no parameters. */
int shop_query_parse(struct shop_arena *a, const char *raw, const struct shop_field *spec,
    struct shop_query *out, struct shop_verrs *errs);

/* Formats shared by the domains. */
bool shop_fmt_email(const char *s, size_t n);      /* local@domain.tld, ≤ 254, no blanks */
bool shop_fmt_currency(const char *s, size_t n);   /* ISO-4217 code the shop accepts (EUR, USD, GBP, ...) */
bool shop_fmt_country(const char *s, size_t n);    /* ISO-3166 alpha-2, upper case */
bool shop_fmt_sku(const char *s, size_t n);        /* [A-Za-z0-9._-]{1,64} */
bool shop_fmt_role(const char *s, size_t n);       /* CUSTOMER | SELLER | ADMIN */
bool shop_fmt_phone(const char *s, size_t n);      /* [+]digits, blanks, '-', '(', ')', 3..32 */
bool shop_fmt_single_line(const char *s, size_t n);/* no control characters at all */
bool shop_fmt_text(const char *s, size_t n);       /* single line, not empty, no blank at either end */

#endif
