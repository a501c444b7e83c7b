/* The FastCGI request/response layer (see req.h).
 *
 * shop_req_serve() (called by app.c for each request, declared below since
 * it is the layer's own entry and no part of the public interface) reads
 * the params, routes, checks access, validates the query and body, calls
 * the handler, writes the one response and logs the access line. Every
 * shop_res_* call only records the answer; it is written once, at the end,
 * with FCGX_PutStr (never FCGX_FPrintF: its formatter lacks %zu). */
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <fcgiapp.h>

#include "lib/app.h"
#include "lib/auth.h"
#include "lib/db.h"
#include "lib/err.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/metrics.h"
#include "lib/req.h"
#include "lib/serve.h"
#include "lib/util.h"

struct res_header {
	const char *name, *value;
	struct res_header *next;
};

struct req_priv {
	FCGX_Request *fr;
	/* the answer */
	bool answered;
	int status;
	const char *ctype;
	char *body;
	size_t len;
	struct res_header *headers, **tail;
	/* the request body as read */
	bool body_read;
	int body_rc;          /* 0, SHOP_ETOOBIG or SHOP_EIO */
	char *raw;            /* NULL when empty */
	size_t rawlen;
};

static struct req_priv *priv(const struct shop_req *r)
{
	return r->priv;
}

/* ------------------------------------------------------------------ */
/* Params and accessors */

const char *shop_req_param(const struct shop_req *r, const char *name)
{
	return FCGX_GetParam(name, priv(r)->fr->envp);
}

const char *shop_req_header(const struct shop_req *r, const char *name)
{
	char key[128] = "HTTP_";
	size_t n = strlen(name), i;

	if (strcasecmp(name, "Content-Type") == 0)
		return shop_req_param(r, "CONTENT_TYPE");
	if (strcasecmp(name, "Content-Length") == 0)
		return shop_req_param(r, "CONTENT_LENGTH");
	if (n == 0 || n > sizeof(key) - 6)
		return NULL;
	for (i = 0; i < n; i++) {
		char c = name[i];

		if (c >= 'a' && c <= 'z')
			c = (char)(c - 'a' + 'A');
		else if (c == '-')
			c = '_';
		key[5 + i] = c;
	}
	key[5 + n] = '\0';
	return shop_req_param(r, key);
}

/* Reads the request body (at most SHOP_MAX_BODY + 1 bytes) once. */
static int read_body(struct shop_req *r)
{
	struct req_priv *p = priv(r);
	static _Thread_local char buf[SHOP_MAX_BODY + 1];
	size_t n = 0;
	int k;

	if (p->body_read)
		return p->body_rc;
	p->body_read = true;
	while (n < sizeof(buf)) {
		k = FCGX_GetStr(buf + n, (int)(sizeof(buf) - n), p->fr->in);
		if (k <= 0)
			break;
		n += (size_t)k;
	}
	if (n > SHOP_MAX_BODY) {
		p->body_rc = SHOP_ETOOBIG;
		return p->body_rc;
	}
	if (FCGX_GetError(p->fr->in) != 0) {
		p->body_rc = SHOP_EIO;
		return p->body_rc;
	}
	if (n > 0) {
		p->raw = shop_arena_strndup(r->arena, buf, n);
		p->rawlen = n;
	}
	return 0;
}

const char *shop_req_raw_body(const struct shop_req *r, size_t *len)
{
	struct req_priv *p = priv(r);

	/* Raw apps get no body handling: read it when first asked for. */
	if (!p->body_read)
		read_body((struct shop_req *)r);
	if (len)
		*len = p->rawlen;
	return p->raw;
}

long long shop_req_id(const struct shop_req *r, const char *name)
{
	size_t n = strlen(name);

	for (unsigned i = 0; i < r->match.nparams; i++) {
		if (r->match.params[i].namelen == n &&
		    memcmp(r->match.params[i].name, name, n) == 0)
			return r->match.params[i].id;
	}
	return 0;
}

bool shop_req_qstr(const struct shop_req *r, const char *name, const char **out)
{
	for (unsigned i = 0; i < r->query.n; i++) {
		if (strcmp(r->query.p[i].name, name) == 0) {
			*out = r->query.p[i].value;
			return true;
		}
	}
	return false;
}

bool shop_req_qint(const struct shop_req *r, const char *name, long long *out)
{
	for (unsigned i = 0; i < r->query.n; i++) {
		if (strcmp(r->query.p[i].name, name) == 0)
			return shop_parse_int(r->query.p[i].value, r->query.p[i].len,
				   LLONG_MIN, LLONG_MAX, out) == 0;
	}
	return false;
}

json_object *shop_req_bget(const struct shop_req *r, const char *name)
{
	json_object *v = NULL;

	if (!r->body || !json_object_object_get_ex(r->body, name, &v))
		return NULL;
	return v; /* NULL for JSON null */
}

const char *shop_req_bstr(const struct shop_req *r, const char *name)
{
	json_object *v = shop_req_bget(r, name);

	return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

bool shop_req_bint(const struct shop_req *r, const char *name, long long *out)
{
	json_object *v = shop_req_bget(r, name);

	if (!v || !json_object_is_type(v, json_type_int))
		return false;
	*out = (long long)json_object_get_int64(v);
	return true;
}

bool shop_req_bbool(const struct shop_req *r, const char *name, bool *out)
{
	json_object *v = shop_req_bget(r, name);

	if (!v || !json_object_is_type(v, json_type_boolean))
		return false;
	*out = json_object_get_boolean(v) != 0;
	return true;
}

/* ------------------------------------------------------------------ */
/* Answers */

static bool begin_answer(struct shop_req *r)
{
	struct req_priv *p = priv(r);

	if (p->answered) {
		shop_log_error("a second answer to one request was ignored");
		return false;
	}
	p->answered = true;
	return true;
}

/* Records an envelope (takes ownership of obj). */
static void answer_json(struct shop_req *r, int status, json_object *obj)
{
	struct req_priv *p = priv(r);
	const char *text;
	size_t len = 0;

	text = shop_json_text(obj, &len);
	p->status = status;
	p->ctype = "application/json";
	p->body = shop_arena_strndup(r->arena, text, len);
	p->len = len;
	json_object_put(obj);
}

void shop_res_ok(struct shop_req *r, int status, const char *message, json_object *data)
{
	if (!begin_answer(r)) {
		json_object_put(data);
		return;
	}
	answer_json(r, status, shop_json_success(status, message, data));
}

void shop_res_errors(struct shop_req *r, int status, const char *message, json_object *errors)
{
	if (!begin_answer(r)) {
		json_object_put(errors);
		return;
	}
	answer_json(r, status, shop_json_error(status, message, errors));
}

void shop_res_error(struct shop_req *r, int status, const char *message,
    const char *code, const char *field, const char *detail)
{
	json_object *errors = json_object_new_array();

	if (code)
		json_object_array_add(errors, shop_json_error_item(field, code, detail));
	shop_res_errors(r, status, message, errors);
}

/* Entries keep each error's own code (fallback_code when it has none); an
 * empty list gives one entry with fallback_code. */
void shop_res_verrs(struct shop_req *r, int status, const char *message, const char *fallback_code,
    const struct shop_verrs *errs)
{
	json_object *errors = json_object_new_array();
	unsigned n = errs ? errs->n : 0;

	if (n > SHOP_MAX_VERRS)
		n = SHOP_MAX_VERRS;
	for (unsigned i = 0; i < n; i++) {
		const struct shop_verr *e = &errs->e[i];

		json_object_array_add(errors, shop_json_error_item(e->field[0] ? e->field : NULL,
		    e->code ? e->code : fallback_code, e->detail[0] ? e->detail : NULL));
	}
	if (n == 0 && fallback_code)
		json_object_array_add(errors, shop_json_error_item(NULL, fallback_code, NULL));
	shop_res_errors(r, status, message, errors);
}

void shop_res_fail(struct shop_req *r, int err)
{
	switch (err) {
	case SHOP_EDBDOWN:
	case SHOP_EUNAVAIL:
		shop_log_warn("service unavailable: %s", shop_strerror(err));
		shop_res_error(r, 503, "Service unavailable", "SERVICE_UNAVAILABLE", NULL, NULL);
		break;
	case SHOP_ENOTFOUND:
		shop_res_error(r, 404, "Not found", "NOT_FOUND", NULL, NULL);
		break;
	default:
		shop_log_error("request failed: %s", shop_strerror(err));
		shop_res_error(r, 500, "Internal error", "INTERNAL", NULL, NULL);
		break;
	}
}

static bool has_crlf(const char *s)
{
	return strpbrk(s, "\r\n") != NULL;
}

void shop_res_raw(struct shop_req *r, int status, const char *content_type,
    const char *body, size_t len)
{
	struct req_priv *p = priv(r);

	if (!begin_answer(r))
		return;
	p->status = status;
	p->ctype = content_type && !has_crlf(content_type) ?
	    shop_arena_strdup(r->arena, content_type) : "application/octet-stream";
	p->body = shop_arena_strndup(r->arena, body ? body : "", body ? len : 0);
	p->len = body ? len : 0;
}

void shop_res_header(struct shop_req *r, const char *name, const char *value)
{
	struct req_priv *p = priv(r);
	struct res_header *h;

	if (!*name || strpbrk(name, "\r\n: \t") || has_crlf(value)) {
		shop_log_error("response header refused (bad characters)");
		return;
	}
	h = shop_arena_calloc(r->arena, sizeof(*h));
	h->name = shop_arena_strdup(r->arena, name);
	h->value = shop_arena_strdup(r->arena, value);
	*p->tail = h;
	p->tail = &h->next;
}

const char *shop_res_body(const struct shop_req *r, size_t *len, int *status)
{
	struct req_priv *p = priv(r);

	if (!p->answered)
		return NULL;
	if (len)
		*len = p->len;
	if (status)
		*status = p->status;
	return p->body;
}

/* ------------------------------------------------------------------ */
/* Serving one request */

static const char *reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 202: return "Accepted";
	case 204: return "No Content";
	case 304: return "Not Modified";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 410: return "Gone";
	case 413: return "Payload Too Large";
	case 415: return "Unsupported Media Type";
	case 422: return "Unprocessable Entity";
	case 429: return "Too Many Requests";
	case 500: return "Internal Server Error";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	}
	return "Unknown";
}

static void put(FCGX_Request *fr, const char *s, size_t n)
{
	if (n > 0)
		FCGX_PutStr(s, (int)n, fr->out);
}

static void puts_(FCGX_Request *fr, const char *s)
{
	put(fr, s, strlen(s));
}

static void write_response(struct shop_req *r)
{
	struct req_priv *p = priv(r);
	char head[256];
	int n;

	if (p->status < 100 || p->status > 599)
		p->status = 500;
	n = snprintf(head, sizeof(head), "Status: %d %s\r\nContent-Length: %zu\r\n", p->status,
	    reason(p->status), p->len);
	put(p->fr, head, (size_t)n);
	puts_(p->fr, "Content-Type: ");
	puts_(p->fr, p->ctype ? p->ctype : "application/json");
	puts_(p->fr, "\r\n");
	for (struct res_header *h = p->headers; h; h = h->next) {
		puts_(p->fr, h->name);
		puts_(p->fr, ": ");
		puts_(p->fr, h->value);
		puts_(p->fr, "\r\n");
	}
	puts_(p->fr, "\r\n");
	put(p->fr, p->body, p->len);
}

static const char *skip_ows(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

/* "application/json", optionally "; charset=utf-8" (any case, optional
 * blanks, optionally quoted). */
static bool json_ctype(const char *ct)
{
	const char *p;

	if (!ct)
		return false;
	p = skip_ows(ct);
	if (strncasecmp(p, "application/json", 16) != 0)
		return false;
	p = skip_ows(p + 16);
	if (*p == '\0')
		return true;
	if (*p != ';')
		return false;
	p = skip_ows(p + 1);
	if (strncasecmp(p, "charset", 7) != 0)
		return false;
	p = skip_ows(p + 7);
	if (*p != '=')
		return false;
	p = skip_ows(p + 1);
	if (strncasecmp(p, "utf-8", 5) == 0)
		p += 5;
	else if (strncasecmp(p, "\"utf-8\"", 7) == 0)
		p += 7;
	else
		return false;
	return *skip_ows(p) == '\0';
}

static bool valid_request_id(const char *s)
{
	size_t n = 0;

	if (!s)
		return false;
	for (; s[n]; n++) {
		char c = s[n];

		if (n >= 64 || !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
			return false;
	}
	return n > 0;
}

static bool access_ok(struct shop_req *r, enum shop_access access)
{
	unsigned need = 0;

	switch (access) {
	case SHOP_ACCESS_PUBLIC:
		return true;
	case SHOP_ACCESS_USER:
		break;
	case SHOP_ACCESS_SELLER:
		need = SHOP_ROLE_SELLER | SHOP_ROLE_ADMIN;
		break;
	case SHOP_ACCESS_ADMIN:
		need = SHOP_ROLE_ADMIN;
		break;
	}
	if (r->auth.user_id <= 0) {
		shop_res_error(r, 401, "Authentication required", "UNAUTHENTICATED", NULL, NULL);
		return false;
	}
	if (need && !(r->auth.roles & need)) {
		shop_res_error(r, 403, "Forbidden", "FORBIDDEN", NULL, NULL);
		return false;
	}
	return true;
}

static bool check_query(struct shop_req *r)
{
	struct shop_verrs errs = { 0 };
	json_object *list;
	const char *qs = shop_req_param(r, "QUERY_STRING");

	if (shop_query_parse(r->arena, qs ? qs : "", r->route->query, &r->query, &errs) == 0)
		return true;
	list = json_object_new_array();
	for (unsigned i = 0; i < errs.n && i < SHOP_MAX_VERRS; i++) {
		const struct shop_verr *e = &errs.e[i];
		char detail[192];

		snprintf(detail, sizeof(detail), "%s%s%s", e->code ? e->code : "INVALID",
		    e->detail[0] ? ": " : "", e->detail);
		json_object_array_add(list, shop_json_error_item(e->field[0] ? e->field : NULL,
		    "INVALID_QUERY", detail));
	}
	if (json_object_array_length(list) == 0)
		json_object_array_add(list, shop_json_error_item(NULL, "INVALID_QUERY", NULL));
	shop_res_errors(r, 400, "Invalid query", list);
	return false;
}

/* True when the param is present and non-empty. */
static bool param_set(const struct shop_req *r, const char *name)
{
	const char *v = shop_req_param(r, name);

	return v && *v;
}

/* Reads, types, parses and validates the body. Returns false when it answered. */
static bool check_body(struct shop_req *r)
{
	struct req_priv *p = priv(r);
	struct shop_verrs errs = { 0 };
	const char *cl = shop_req_param(r, "CONTENT_LENGTH");
	const char *why = NULL;
	long long clen = -1;
	int rc;

	if (cl && *cl) {
		if (shop_parse_int(cl, strlen(cl), 0, LLONG_MAX, &clen) != 0) {
			shop_res_error(r, 400, "Invalid Content-Length", "BAD_REQUEST", NULL, NULL);
			return false;
		}
		if (clen > SHOP_MAX_BODY) {
			shop_res_error(r, 413, "Payload too large", "PAYLOAD_TOO_LARGE", NULL,
			    "the body is limited to 65536 bytes");
			return false;
		}
	}
	rc = read_body(r);
	if (rc == SHOP_ETOOBIG) {
		shop_res_error(r, 413, "Payload too large", "PAYLOAD_TOO_LARGE", NULL,
		    "the body is limited to 65536 bytes");
		return false;
	}
	if (rc != 0 || (clen >= 0 && (size_t)clen != p->rawlen)) {
		shop_res_error(r, 400, "Incomplete request body", "BAD_REQUEST", NULL, NULL);
		return false;
	}
	if (r->route->flags & SHOP_ROUTE_RAW_BODY) {
		/* Kept as sent for the handler (router.h): only the media type is
		 * checked, as for any JSON body; no body at all is the handler's call. */
		if ((p->rawlen > 0 || param_set(r, "CONTENT_TYPE")) &&
		    !json_ctype(shop_req_param(r, "CONTENT_TYPE"))) {
			shop_res_error(r, 415, "Content-Type must be application/json",
			    "UNSUPPORTED_MEDIA_TYPE", NULL, NULL);
			return false;
		}
		return true;
	}
	if (!r->route->body) {
		if (p->rawlen > 0) {
			shop_res_error(r, 400, "This route takes no body", "BODY_NOT_ALLOWED",
			    NULL, NULL);
			return false;
		}
		return true;
	}
	if (p->rawlen == 0 && !param_set(r, "CONTENT_TYPE")) {
		/* No body at all: the spec decides ({} passes when every field is
		 * optional). A body declared as JSON but empty is malformed JSON. */
		r->body = json_object_new_object();
	} else {
		if (!json_ctype(shop_req_param(r, "CONTENT_TYPE"))) {
			shop_res_error(r, 415, "Content-Type must be application/json",
			    "UNSUPPORTED_MEDIA_TYPE", NULL, NULL);
			return false;
		}
		r->body = shop_json_parse(p->raw, p->rawlen, &why);
		if (!r->body) {
			shop_res_error(r, 400, "Malformed JSON", "MALFORMED_JSON", NULL, why);
			return false;
		}
	}
	if (shop_validate_body(r->body, r->route->body, &errs) != 0) {
		shop_res_verrs(r, 400, "Validation failed", "VALIDATION_FAILED", &errs);
		return false;
	}
	return true;
}

static void ping(struct shop_req *r)
{
	if (r->db && shop_db_ping(r->db) != 0) {
		shop_res_error(r, 503, "Database unavailable", "SERVICE_UNAVAILABLE", NULL, NULL);
		return;
	}
	shop_res_ok(r, 200, "pong", NULL);
}

/* Routes the request and runs its handler; route (size n) receives the
 * route's name for the log and the metrics ("" when none matched). */
static void dispatch(struct shop_req *r, const struct shop_app *app, const char *uid,
    char *route, size_t n)
{
	int rc;

	if (strcmp(r->method, "GET") == 0 && strcmp(r->path, "/_ping") == 0) {
		snprintf(route, n, "GET /_ping");
		shop_log_set_request(r->request_id, uid, route);
		ping(r);
		return;
	}
	if (app->raw) {
		snprintf(route, n, "%s %s", r->method, r->path);
		shop_log_set_request(r->request_id, uid, route);
		app->raw(r);
		return;
	}
	/* HEAD is GET whose answer nginx sends without its body. */
	rc = shop_route_match(app->routes, app->nroutes,
	    strcmp(r->method, "HEAD") == 0 ? "GET" : r->method, r->path, &r->match);
	if (rc == SHOP_EMETHOD) {
		shop_res_header(r, "Allow", r->match.allow);
		shop_res_error(r, 405, "Method not allowed", "METHOD_NOT_ALLOWED", NULL, NULL);
		return;
	}
	if (rc != 0) {
		shop_res_error(r, 404, "Not found", "NOT_FOUND", NULL, NULL);
		return;
	}
	r->route = r->match.route;
	snprintf(route, n, "%s %s", r->route->method, r->route->pattern);
	shop_log_set_request(r->request_id, uid, route);

	if (!access_ok(r, r->route->access) || !check_query(r) || !check_body(r))
		return;
	r->route->handler(r);
}

void shop_req_serve(FCGX_Request *fr, const struct shop_app *app, struct shop_arena *arena,
    struct shop_db *db, const struct shop_conf *conf, void *app_ctx, void *thread_ctx)
{
	struct req_priv p = { .fr = fr };
	struct shop_req r = {
		.arena = arena, .db = db, .conf = conf, .app_ctx = app_ctx,
		.thread_ctx = thread_ctx, .priv = &p,
	};
	double t0 = shop_mono_ms(), ms;
	const char *s, *q;
	char uid[24], route[160] = "";

	p.tail = &p.headers;

	s = shop_req_param(&r, "REQUEST_METHOD");
	r.method = s ? s : "";
	s = shop_req_param(&r, "DOCUMENT_URI");
	if (s && *s) {
		r.path = s;
	} else {
		s = shop_req_param(&r, "REQUEST_URI");
		s = s && *s ? s : "/";
		q = strchr(s, '?');
		r.path = q ? shop_arena_strndup(arena, s, (size_t)(q - s)) : s;
	}
	s = shop_req_param(&r, "REQUEST_ID");
	if (valid_request_id(s)) {
		r.request_id = s;
	} else {
		unsigned char raw[16];
		char *hex = shop_arena_alloc(arena, 2 * sizeof(raw) + 1);

		shop_random_bytes(raw, sizeof(raw));
		shop_hex_encode(hex, raw, sizeof(raw));
		r.request_id = hex;
	}
	if (shop_auth_from_params(&r.auth, shop_req_param(&r, "SHOP_USER_ID"),
	    shop_req_param(&r, "SHOP_USER_ROLES")) != 0)
		shop_log_warn("malformed SHOP_USER_ID/SHOP_USER_ROLES: treated as anonymous");
	uid[0] = '\0';
	if (r.auth.user_id > 0)
		snprintf(uid, sizeof(uid), "%lld", r.auth.user_id);
	shop_log_set_request(r.request_id, uid[0] ? uid : NULL, NULL);

	dispatch(&r, app, uid[0] ? uid : NULL, route, sizeof(route));

	if (!p.answered) {
		shop_log_error("the handler answered nothing");
		p.headers = NULL;
		p.tail = &p.headers;
		shop_res_error(&r, 500, "Internal error", "INTERNAL", NULL, NULL);
	}
	write_response(&r);
	ms = shop_mono_ms() - t0;
	shop_metrics_request(route, p.status, ms);
	shop_log_request_done(p.status, ms);
	shop_log_clear_request();
	if (r.body)
		json_object_put(r.body);
}
