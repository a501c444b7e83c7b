/* The FastCGI request/response layer. For each request the layer:
 *   - takes the request id from the REQUEST_ID param (nginx's, already
 *     checked there) and the user from SHOP_USER_ID/SHOP_USER_ROLES;
 *   - matches the route (404 NOT_FOUND / 405 METHOD_NOT_ALLOWED with Allow);
 *   - enforces the route's access (401 UNAUTHENTICATED / 403 FORBIDDEN);
 *   - parses and validates the query (400 INVALID_QUERY) and, for routes that
 *     take a body, reads at most 64 KiB (413 PAYLOAD_TOO_LARGE), requires
 *     Content-Type application/json (415 UNSUPPORTED_MEDIA_TYPE), parses it
 *     (400 MALFORMED_JSON) and validates it (400 VALIDATION_FAILED, or
 *     UNKNOWN_FIELD errors); a body sent to a route that takes none → 400;
 *     no body at all (no bytes, no Content-Type) counts as {}, so it passes
 *     where every field is optional, while an empty body declared as JSON
 *     is malformed JSON;
 *   - calls the handler, which answers with exactly one shop_res_* call;
 *   - writes the response and one access log line, then resets the arena.
 * A handler that answers nothing produces a 500 envelope (and a log line). */
#ifndef SHOP_REQ_H
#define SHOP_REQ_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

#include "lib/auth.h"
#include "lib/router.h"
#include "lib/validate.h"

#define SHOP_MAX_BODY (64 * 1024)

struct shop_arena;
struct shop_db;
struct shop_conf;

struct shop_req {
	struct shop_arena *arena;     /* request-scoped memory, freed after the response */
	const struct shop_route *route;
	const char *method;
	const char *path;             /* without the query string */
	const char *request_id;       /* never NULL (generated when nginx sent none) */
	struct shop_auth auth;        /* user_id 0: anonymous (public routes) */
	json_object *body;            /* validated body, or NULL; owned by the layer */
	struct shop_query query;      /* validated query */
	struct shop_match match;      /* path parameters */
	struct shop_db *db;           /* this worker thread's database handle */
	const struct shop_conf *conf;
	void *app_ctx;                /* the app's per-process context (shop_app.init) */
	void *thread_ctx;             /* the app's per-thread context (shop_app.thread_init) */
	void *priv;                   /* the layer's own state */
};

/* A request header by its HTTP name ("Idempotency-Key"), or NULL. */
const char *shop_req_header(const struct shop_req *r, const char *name);
/* A raw FastCGI param ("REMOTE_ADDR"), or NULL. */
const char *shop_req_param(const struct shop_req *r, const char *name);
/* The raw body bytes as read (NUL-terminated), or NULL when there was none. */
const char *shop_req_raw_body(const struct shop_req *r, size_t *len);

/* A path parameter by name ("id"); the route pattern guarantees it exists. */
long long shop_req_id(const struct shop_req *r, const char *name);

/* Query accessors: false when the parameter is absent. */
bool shop_req_qstr(const struct shop_req *r, const char *name, const char **out);
bool shop_req_qint(const struct shop_req *r, const char *name, long long *out);

/* Body accessors on the validated body (absent or null → NULL / false). */
json_object *shop_req_bget(const struct shop_req *r, const char *name);
const char *shop_req_bstr(const struct shop_req *r, const char *name);
bool shop_req_bint(const struct shop_req *r, const char *name, long long *out);
bool shop_req_bbool(const struct shop_req *r, const char *name, bool *out);

/* Answers. Exactly one per request; a second call is logged and ignored.
 * shop_res_ok takes ownership of data (may be NULL). */
void shop_res_ok(struct shop_req *r, int status, const char *message, json_object *data);
/* An error envelope with one entry {field?, code, detail?}; code NULL gives errors []. */
void shop_res_error(struct shop_req *r, int status, const char *message,
    const char *code, const char *field, const char *detail);
/* An error envelope with a list of entries (takes ownership of errors, a JSON array). */
void shop_res_errors(struct shop_req *r, int status, const char *message, json_object *errors);
/* An error envelope from validation errors. */
void shop_res_verrs(struct shop_req *r, int status, const char *message, const char *fallback_code,
    const struct shop_verrs *errs);
/* Answers a failure code of lib/: SHOP_EDBDOWN/SHOP_EUNAVAIL → 503
 * SERVICE_UNAVAILABLE, SHOP_ENOTFOUND → 404, anything else → 500 INTERNAL
 * (logged). */
void shop_res_fail(struct shop_req *r, int err);
/* A non-envelope answer (JWKS, health, metrics). body is copied. */
void shop_res_raw(struct shop_req *r, int status, const char *content_type,
    const char *body, size_t len);
/* An extra response header, sent with the answer (name and value copied). */
void shop_res_header(struct shop_req *r, const char *name, const char *value);

/* The serialized response body once a shop_res_* call was made (for
 * idempotent replays), or NULL. */
const char *shop_res_body(const struct shop_req *r, size_t *len, int *status);

#endif
