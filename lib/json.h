/* JSON input parsing and the response envelope of API.md.
 *
 *   {"status":"SUCCESS","code":200,"message":"...","data":{...}}
 *   {"status":"ERROR","code":409,"message":"...","errors":[{"field":"...","code":"OUT_OF_STOCK","detail":"..."}]}
 *   lists: data = {"items":[...],"next_cursor":"..." | null}
 */
#ifndef SHOP_JSON_H
#define SHOP_JSON_H

#include <json-c/json.h>
#include <stddef.h>

#define SHOP_JSON_MAX_DEPTH 16

/* Parses exactly n bytes as one JSON value: strict mode, UTF-8 validated,
 * depth at most SHOP_JSON_MAX_DEPTH, nothing but whitespace after the value.
 * Returns the value (caller owns: json_object_put) or NULL, with a short
 * reason in *why (static string) when why is not NULL. */
json_object *shop_json_parse(const char *s, size_t n, const char **why);

/* One error entry {"field","code","detail"}; field and detail may be NULL
 * (then omitted). Returns a new object (caller owns). */
json_object *shop_json_error_item(const char *field, const char *code, const char *detail);

/* Envelopes. Each takes ownership of data / errors (which may be NULL:
 * data is then omitted, errors becomes []), returns a new object. */
json_object *shop_json_success(int code, const char *message, json_object *data);
json_object *shop_json_error(int code, const char *message, json_object *errors);
/* {"items": items, "next_cursor": cursor or null}; takes ownership of items. */
json_object *shop_json_list(json_object *items, const char *next_cursor);

/* Convenience constructors used by handlers. shop_json_str(NULL) is JSON null. */
json_object *shop_json_str(const char *s);
json_object *shop_json_strn(const char *s, size_t n);
json_object *shop_json_int(long long v);

/* Serializes compactly (no spaces, '/' not escaped). The string belongs to obj. */
const char *shop_json_text(json_object *obj, size_t *len);

#endif
