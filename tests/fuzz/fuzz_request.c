/* The whole request layer (lib/req.c) as a pool runs it: FastCGI params and
 * body in, one response out, through shop_req_serve() with the route table
 * of every app. The handlers are replaced by one that does what handlers
 * do with a request (path ids, the typed query and body accessors, the
 * Idempotency-Key of the routes that take one, the webhook's signature and
 * raw body) and answers 200 with what it read; no database is reached.
 *
 * Input: FastCGI params, one "NAME=value" per line (REQUEST_METHOD,
 * DOCUMENT_URI or REQUEST_URI, QUERY_STRING, CONTENT_TYPE, CONTENT_LENGTH,
 * SHOP_USER_ID, SHOP_USER_ROLES, REQUEST_ID, HTTP_* headers, ...), an empty
 * line, then the body bytes as nginx would pass them.
 * Properties: exactly one response, "Status: NNN" with NNN below 500 (bad
 * input is a 4xx, never a 5xx or a crash), headers without stray CR/LF, a
 * Content-Length equal to the body's length, and a body that is the JSON
 * envelope of API.md with "code" equal to the status (SUCCESS for 2xx,
 * ERROR with an "errors" array otherwise); a 405 names the allowed methods. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fcgiapp.h>

#include "fcgi-apps/payments/signature.h"
#include "lib/app.h"
#include "lib/idem.h"
#include "lib/json.h"
#include "lib/mem.h"
#include "lib/req.h"
#include "lib/serve.h"
#include "lib/util.h"
#include "tests/fuzz/fuzz.h"

#define MAX_PARAMS 64
#define OUT_CHUNK 4096

static const char secret[] = "whsec_fuzz_0123456789abcdef0123456789abcdef";

static struct shop_app app = { .name = "fuzz" };
static char request_id[] = "REQUEST_ID=fuzz";
static struct shop_arena *arena;

/* The response as written: chunks of OUT_CHUNK collected in a growing buffer. */
struct sink {
	unsigned char chunk[OUT_CHUNK];
	char *buf;
	size_t len, cap;
};

static void sink_flush(FCGX_Stream *st, int do_close)
{
	struct sink *s = st->data;
	size_t n = (size_t)(st->wrNext - s->chunk);

	(void)do_close;
	if (s->len + n + 1 > s->cap) {
		s->cap = 2 * (s->len + n + 1);
		s->buf = shop_xrealloc(s->buf, s->cap);
	}
	memcpy(s->buf + s->len, s->chunk, n);
	s->len += n;
	s->buf[s->len] = '\0';
	st->wrNext = s->chunk;
}

/* The body is all there is: past it, the stream is at its end. */
static void source_end(FCGX_Stream *st)
{
	st->isClosed = 1;
}

/* Routes that take an Idempotency-Key (orders/place.c, payments/handlers.c,
 * payments/refund.c). */
static bool takes_idem_key(const struct shop_route *rt)
{
	return strcmp(rt->method, "POST") == 0 &&
	    (strcmp(rt->pattern, "/api/v1/orders") == 0 ||
	    strcmp(rt->pattern, "/api/v1/payments") == 0 ||
	    strcmp(rt->pattern, "/api/v1/payments/{id}/refund") == 0);
}

static void stub(struct shop_req *r)
{
	const struct shop_route *rt = r->route;
	json_object *d = json_object_new_object();
	struct shop_idem key;

	FUZZ_CHECK(rt != NULL && r->arena == arena);
	for (unsigned i = 0; i < r->match.nparams; i++) {
		char name[64];
		long long id;

		snprintf(name, sizeof(name), "%.*s", (int)r->match.params[i].namelen,
		    r->match.params[i].name);
		id = shop_req_id(r, name);
		FUZZ_CHECK(id == r->match.params[i].id && id >= 1 && id <= FUZZ_MAX_ID);
		json_object_object_add(d, name, json_object_new_int64(id));
	}
	for (const struct shop_field *f = rt->query; f && f->name; f++) {
		const char *s;
		long long v;

		if (f->type == SHOP_T_INT && shop_req_qint(r, f->name, &v))
			json_object_object_add(d, f->name, json_object_new_int64(v));
		else if (f->type == SHOP_T_STRING && shop_req_qstr(r, f->name, &s))
			json_object_object_add(d, f->name, shop_json_str(s));
	}
	for (const struct shop_field *f = rt->body; f && f->name; f++) {
		json_object *v = shop_req_bget(r, f->name);

		if (v)
			json_object_object_add(d, f->name, json_object_get(v));
	}
	if (takes_idem_key(rt) && shop_idem_start(r, &key) != 0) {
		json_object_put(d); /* answered 400 */
		return;
	}
	if (rt->flags & SHOP_ROUTE_RAW_BODY) {
		size_t len = 0;
		const char *body = shop_req_raw_body(r, &len);
		json_object *ev;

		if (pay_sig_verify(shop_req_header(r, "Shop-Signature"), secret, sizeof(secret) - 1,
		    body ? body : "", len, FUZZ_NOW, 300) != 0) {
			json_object_put(d);
			shop_res_error(r, 400, "Invalid signature", "INVALID_SIGNATURE", NULL, NULL);
			return;
		}
		ev = body ? shop_json_parse(body, len, NULL) : NULL;
		if (!ev) {
			json_object_put(d);
			shop_res_error(r, 400, "Malformed JSON", "MALFORMED_JSON", NULL, NULL);
			return;
		}
		json_object_object_add(d, "event", ev);
	}
	shop_res_ok(r, 200, "Read", d);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_quiet_log();
	app.routes = fuzz_routes(stub, &app.nroutes);
	arena = shop_arena_new(16 * 1024);
	return 0;
}

/* Checks the response bytes against the properties above. */
static void check_response(const char *out, size_t len)
{
	const char *p = out, *end = out + len, *body;
	json_object *env, *v;
	long long status = 0, clen = -1;
	bool json = false, allow = false;

	FUZZ_CHECK(strlen(out) == len); /* no NUL anywhere */
	body = strstr(out, "\r\n\r\n");
	FUZZ_CHECK(body != NULL);
	body += 4;
	while (p < body - 2) {
		const char *eol = strstr(p, "\r\n");
		size_t n;

		FUZZ_CHECK(eol != NULL);
		n = (size_t)(eol - p);
		FUZZ_CHECK(!memchr(p, '\n', n) && !memchr(p, '\r', n));
		if (n > 8 && memcmp(p, "Status: ", 8) == 0)
			status = strtoll(p + 8, NULL, 10);
		else if (n > 16 && memcmp(p, "Content-Length: ", 16) == 0)
			clen = strtoll(p + 16, NULL, 10);
		else if (n == 30 && memcmp(p, "Content-Type: application/json", 30) == 0)
			json = true;
		else if (n > 7 && memcmp(p, "Allow: ", 7) == 0)
			allow = true;
		else
			FUZZ_CHECK(memchr(p, ':', n) != NULL);
		p = eol + 2;
	}
	FUZZ_CHECK(status >= 200 && status < 500);
	FUZZ_CHECK(clen == end - body);
	FUZZ_CHECK(json);
	FUZZ_CHECK(status != 405 || allow);

	env = shop_json_parse(body, (size_t)(end - body), NULL);
	FUZZ_CHECK(env != NULL && json_object_is_type(env, json_type_object));
	FUZZ_CHECK(json_object_object_get_ex(env, "code", &v) &&
	    json_object_get_int64(v) == status);
	FUZZ_CHECK(json_object_object_get_ex(env, "message", &v) &&
	    json_object_is_type(v, json_type_string));
	FUZZ_CHECK(json_object_object_get_ex(env, "status", &v));
	if (status < 300) {
		FUZZ_CHECK(strcmp(json_object_get_string(v), "SUCCESS") == 0);
	} else {
		FUZZ_CHECK(strcmp(json_object_get_string(v), "ERROR") == 0);
		FUZZ_CHECK(json_object_object_get_ex(env, "errors", &v) &&
		    json_object_is_type(v, json_type_array));
		for (size_t i = 0; i < json_object_array_length(v); i++) {
			json_object *e = json_object_array_get_idx(v, i), *c;

			FUZZ_CHECK(json_object_is_type(e, json_type_object));
			FUZZ_CHECK(json_object_object_get_ex(e, "code", &c) &&
			    json_object_is_type(c, json_type_string));
		}
	}
	json_object_put(env);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *sep = NULL;
	char *head, *line, *envp[MAX_PARAMS + 2];
	unsigned char *body;
	size_t hlen, blen, np = 0;
	struct sink out = { .len = 0 };
	FCGX_Stream in_st = { 0 }, out_st = { 0 };
	FCGX_Request fr = { 0 };

	/* Params up to the first empty line; without one, there is no body. */
	for (size_t i = 0; i + 1 < size; i++) {
		if (data[i] == '\n' && data[i + 1] == '\n') {
			sep = data + i;
			break;
		}
	}
	hlen = sep ? (size_t)(sep - data) : size;
	blen = sep ? size - hlen - 2 : 0;
	head = fuzz_strndup(data, hlen);
	body = shop_xmalloc(blen ? blen : 1);
	if (blen)
		memcpy(body, sep + 2, blen);

	for (line = head; line && np < MAX_PARAMS;) {
		char *next = fuzz_cut_line(line);

		if (strchr(line, '='))
			envp[np++] = line;
		line = next;
	}
	/* After the input's own, so that the input's REQUEST_ID wins. */
	envp[np++] = request_id;
	envp[np] = NULL;

	in_st.rdNext = in_st.stopUnget = body;
	in_st.stop = body + blen;
	in_st.isReader = 1;
	in_st.fillBuffProc = source_end;
	out_st.wrNext = out.chunk;
	out_st.stop = out.chunk + OUT_CHUNK;
	out_st.emptyBuffProc = sink_flush;
	out_st.data = &out;
	fr.in = &in_st;
	fr.out = &out_st;
	fr.envp = envp;

	shop_req_serve(&fr, &app, arena, NULL, NULL, NULL, NULL);
	sink_flush(&out_st, 1);
	fuzz_trace("%s", out.buf);
	check_response(out.buf, out.len);

	shop_arena_reset(arena);
	free(out.buf);
	free(body);
	free(head);
	return 0;
}
