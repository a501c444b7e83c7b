/* JSON bodies: shop_json_parse() and shop_validate_body() with the body
 * table of every route of every app, plus one table that holds every field
 * type and flag; then the typed body accessors the handlers use, and the
 * error envelope the request layer would answer.
 *
 * Input: one byte choosing the table, then the body as sent.
 * Properties:
 *   - what parses re-parses after serialization, to an equal value (what
 *     the shop stores or echoes stays readable by the shop);
 *   - a body that validates holds declared keys only, every required one,
 *     and values of the declared type within the declared bounds, lengths
 *     and formats, checked again here independently of validate.c;
 *   - a body that fails has 1..SHOP_MAX_VERRS errors, and the envelope
 *     made of them serializes to JSON that shop_json_parse accepts (valid
 *     UTF-8 however the field names were cut). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/err.h"
#include "lib/json.h"
#include "lib/req.h"
#include "lib/util.h"
#include "lib/validate.h"
#include "tests/fuzz/fuzz.h"

#define MAX_SPECS 48

static const struct shop_field rep_line[] = {
	{ .name = "product_id", .type = SHOP_T_INT, .flags = SHOP_F_REQUIRED, .min = 1,
	  .max = FUZZ_MAX_ID },
	{ .name = "quantity", .type = SHOP_T_INT, .flags = SHOP_F_REQUIRED, .min = 1, .max = 1000 },
	{ .name = "note", .type = SHOP_T_STRING, .flags = SHOP_F_NULLABLE | SHOP_F_MULTILINE,
	  .min = 0, .max = 500 },
	{ .name = NULL },
};

static const struct shop_field rep_address[] = {
	{ .name = "line1", .type = SHOP_T_STRING, .flags = SHOP_F_REQUIRED, .min = 1, .max = 200,
	  .format = shop_fmt_text },
	{ .name = "country", .type = SHOP_T_STRING, .flags = SHOP_F_REQUIRED, .min = 2, .max = 2,
	  .format = shop_fmt_country },
	{ .name = "phone", .type = SHOP_T_STRING, .format = shop_fmt_phone },
	{ .name = NULL },
};

/* Every type and flag of validate.h in one table. */
static const struct shop_field representative[] = {
	{ .name = "email", .type = SHOP_T_STRING, .min = 1, .max = 254, .format = shop_fmt_email },
	{ .name = "sku", .type = SHOP_T_STRING, .min = 1, .max = 64, .format = shop_fmt_sku },
	{ .name = "currency", .type = SHOP_T_STRING, .min = 3, .max = 3, .format = shop_fmt_currency },
	{ .name = "roles", .type = SHOP_T_STRING_ARRAY, .min = 0, .max = 3, .format = shop_fmt_role },
	{ .name = "tags", .type = SHOP_T_STRING_ARRAY },
	{ .name = "items", .type = SHOP_T_OBJECT_ARRAY, .min = 1, .max = 50, .fields = rep_line },
	{ .name = "address", .type = SHOP_T_OBJECT, .flags = SHOP_F_NULLABLE, .fields = rep_address },
	{ .name = "restock", .type = SHOP_T_BOOL },
	{ .name = "delta", .type = SHOP_T_INT, .min = -1000, .max = 1000 },
	{ .name = "count", .type = SHOP_T_INT },
	{ .name = "text", .type = SHOP_T_STRING, .flags = SHOP_F_MULTILINE, .max = 10000 },
	{ .name = "id", .type = SHOP_T_INT, .flags = SHOP_F_REQUIRED | SHOP_F_NULLABLE, .min = 1,
	  .max = FUZZ_MAX_ID },
	{ .name = NULL },
};

static const struct shop_field *specs[MAX_SPECS];
static size_t nspecs;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	size_t n, i;
	const struct shop_route *routes = fuzz_routes(NULL, &n);

	(void)argc;
	(void)argv;
	specs[nspecs++] = representative;
	for (i = 0; i < n && nspecs < MAX_SPECS; i++)
		if (routes[i].body)
			specs[nspecs++] = routes[i].body;
	return 0;
}

static bool len_within(size_t n, long long min, long long max)
{
	return (min <= 0 || n >= (size_t)min) && (max <= 0 || n <= (size_t)max);
}

static bool no_control(const char *s, size_t n, bool multiline)
{
	const unsigned char *p = (const unsigned char *)s;

	for (size_t i = 0; i < n; i++) {
		if (p[i] < 0x20 && !(multiline && (p[i] == '\n' || p[i] == '\r' || p[i] == '\t')))
			return false;
		if (p[i] == 0x7f)
			return false;
	}
	return true;
}

static void valid_string(const struct shop_field *f, json_object *v, bool count_length)
{
	const char *s;
	size_t n;

	FUZZ_CHECK(json_object_is_type(v, json_type_string));
	s = json_object_get_string(v);
	n = (size_t)json_object_get_string_len(v);
	FUZZ_CHECK(strlen(s) == n);
	FUZZ_CHECK(n == 0 || shop_utf8_valid(s, n));
	FUZZ_CHECK(no_control(s, n, count_length && (f->flags & SHOP_F_MULTILINE)));
	if (count_length)
		FUZZ_CHECK(len_within(shop_utf8_len(s, n), f->min, f->max));
	FUZZ_CHECK(!f->format || f->format(s, n));
}

static void valid_object(json_object *o, const struct shop_field *fields);

static void valid_value(const struct shop_field *f, json_object *v)
{
	size_t n, i;
	long long x;

	switch (f->type) {
	case SHOP_T_STRING:
		valid_string(f, v, true);
		break;
	case SHOP_T_INT:
		FUZZ_CHECK(json_object_is_type(v, json_type_int));
		x = json_object_get_int64(v);
		FUZZ_CHECK(x != INT64_MIN && x != INT64_MAX);
		if (!(f->min == 0 && f->max == 0))
			FUZZ_CHECK(x >= f->min && x <= f->max);
		break;
	case SHOP_T_BOOL:
		FUZZ_CHECK(json_object_is_type(v, json_type_boolean));
		break;
	case SHOP_T_OBJECT:
		FUZZ_CHECK(json_object_is_type(v, json_type_object));
		valid_object(v, f->fields);
		break;
	case SHOP_T_OBJECT_ARRAY:
	case SHOP_T_STRING_ARRAY:
		FUZZ_CHECK(json_object_is_type(v, json_type_array));
		n = json_object_array_length(v);
		FUZZ_CHECK(len_within(n, f->min, f->max));
		for (i = 0; i < n; i++) {
			json_object *e = json_object_array_get_idx(v, i);

			if (f->type == SHOP_T_OBJECT_ARRAY) {
				FUZZ_CHECK(json_object_is_type(e, json_type_object));
				valid_object(e, f->fields);
			} else {
				valid_string(f, e, false);
			}
		}
		break;
	}
}

static const struct shop_field *declared(const struct shop_field *fields, const char *key)
{
	for (const struct shop_field *f = fields; f && f->name; f++)
		if (strcmp(f->name, key) == 0)
			return f;
	return NULL;
}

static void valid_object(json_object *o, const struct shop_field *fields)
{
	{
		json_object_object_foreach(o, key, val) {
			const struct shop_field *f = declared(fields, key);

			FUZZ_CHECK(f != NULL);
			if (val == NULL)
				FUZZ_CHECK(f->flags & SHOP_F_NULLABLE);
			else
				valid_value(f, val);
		}
	}
	for (const struct shop_field *f = fields; f && f->name; f++)
		if (f->flags & SHOP_F_REQUIRED)
			FUZZ_CHECK(json_object_object_get_ex(o, f->name, NULL));
}

/* What the handlers read, through the accessors of lib/req.h. */
static void read_fields(json_object *body, const struct shop_field *spec)
{
	struct shop_req r = { .body = body };

	for (const struct shop_field *f = spec; f->name; f++) {
		json_object *v = shop_req_bget(&r, f->name);
		long long x;
		bool b;

		switch (f->type) {
		case SHOP_T_STRING:
			FUZZ_CHECK((shop_req_bstr(&r, f->name) != NULL) == (v != NULL));
			break;
		case SHOP_T_INT:
			FUZZ_CHECK(shop_req_bint(&r, f->name, &x) == (v != NULL));
			break;
		case SHOP_T_BOOL:
			FUZZ_CHECK(shop_req_bbool(&r, f->name, &b) == (v != NULL));
			break;
		default:
			break;
		}
	}
}

/* Serializes obj and parses it back: it must come back equal. */
static void reparse(json_object *obj)
{
	size_t len = 0;
	const char *text = shop_json_text(obj, &len);
	const char *why = NULL;
	json_object *back = shop_json_parse(text, len, &why);

	FUZZ_CHECK(back != NULL);
	FUZZ_CHECK(json_object_equal(obj, back));
	json_object_put(back);
}

/* The envelope the request layer answers for these errors (shop_res_verrs). */
static void error_envelope(const struct shop_verrs *errs)
{
	json_object *list = json_object_new_array(), *env;

	for (unsigned i = 0; i < errs->n; i++) {
		const struct shop_verr *e = &errs->e[i];

		json_object_array_add(list, shop_json_error_item(e->field[0] ? e->field : NULL,
		    e->code, e->detail[0] ? e->detail : NULL));
	}
	env = shop_json_error(400, "Validation failed", list);
	reparse(env);
	json_object_put(env);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct shop_field *spec;
	struct shop_verrs errs = { 0 };
	const char *why = NULL;
	json_object *body;
	int rc;

	if (size < 1)
		return 0;
	spec = specs[data[0] % nspecs];
	body = shop_json_parse((const char *)data + 1, size - 1, &why);
	if (body == NULL) {
		FUZZ_CHECK(why != NULL);
		return 0;
	}
	reparse(body);
	rc = shop_validate_body(body, spec, &errs);
	fuzz_trace("validate: %d, %u errors%s%s%s%s", rc, errs.n, errs.n ? ", first: " : "",
	    errs.n ? errs.e[0].field : "", errs.n ? " " : "", errs.n ? errs.e[0].code : "");
	if (rc == 0) {
		FUZZ_CHECK(errs.n == 0);
		FUZZ_CHECK(json_object_is_type(body, json_type_object));
		valid_object(body, spec);
		read_fields(body, spec);
	} else {
		FUZZ_CHECK(rc == SHOP_EINVAL);
		FUZZ_CHECK(errs.n >= 1 && errs.n <= SHOP_MAX_VERRS);
		error_envelope(&errs);
	}
	json_object_put(body);
	return 0;
}
