/* A tiny app for the pool and request-layer tests and for load tests by hand
 * (built as tests/unit/echo_app; test_pool.c includes this file with
 * ECHO_APP_NO_MAIN defined and runs the app in a forked child).
 *
 *   GET    /hello              public   {"hello":"world"}
 *   GET    /pid                public   {"pid":N} (which worker process answered)
 *   GET    /slow?ms=N          public   answers after N ms (0..5000)
 *   GET    /items/{id}?limit=  public   {"id","limit"}
 *   POST   /items              user     {name (required), qty?} → 201 echo
 *   PUT    /items/{id}         seller   {name?, qty?} → {"id","empty"}
 *   DELETE /items/{id}         admin
 *   GET    /hdr                public   echoes Idempotency-Key, request id; sets X-Test
 *   GET    /noanswer           public   answers nothing (the layer's 500)
 *   GET    /down               public   shop_res_fail(SHOP_EDBDOWN)
 *   POST   /raw                public   SHOP_ROUTE_RAW_BODY: the bytes as received,
 *                                       raw (application/octet-stream) */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "lib/app.h"
#include "lib/err.h"
#include "lib/json.h"
#include "lib/req.h"
#include "lib/util.h"

static void h_hello(struct shop_req *r)
{
	json_object *d = json_object_new_object();

	json_object_object_add(d, "hello", shop_json_str("world"));
	shop_res_ok(r, 200, "Hello", d);
}

static void h_pid(struct shop_req *r)
{
	json_object *d = json_object_new_object();

	json_object_object_add(d, "pid", shop_json_int(getpid()));
	shop_res_ok(r, 200, "Pid", d);
}

static void h_slow(struct shop_req *r)
{
	long long ms = 100;
	struct timespec ts;

	shop_req_qint(r, "ms", &ms);
	ts.tv_sec = (time_t)(ms / 1000);
	ts.tv_nsec = (long)(ms % 1000) * 1000000L;
	nanosleep(&ts, NULL);
	shop_res_ok(r, 200, "Slept", NULL);
}

static void h_item_get(struct shop_req *r)
{
	json_object *d = json_object_new_object();
	long long limit = 20;

	shop_req_qint(r, "limit", &limit);
	json_object_object_add(d, "id", shop_json_int(shop_req_id(r, "id")));
	json_object_object_add(d, "limit", shop_json_int(limit));
	shop_res_ok(r, 200, "Item", d);
}

static void h_item_post(struct shop_req *r)
{
	json_object *d = json_object_new_object();
	long long qty = 1;

	shop_req_bint(r, "qty", &qty);
	json_object_object_add(d, "name", shop_json_str(shop_req_bstr(r, "name")));
	json_object_object_add(d, "qty", shop_json_int(qty));
	json_object_object_add(d, "user_id", shop_json_int(r->auth.user_id));
	shop_res_ok(r, 201, "Created", d);
}

static void h_item_put(struct shop_req *r)
{
	json_object *d = json_object_new_object();

	json_object_object_add(d, "id", shop_json_int(shop_req_id(r, "id")));
	json_object_object_add(d, "empty",
	    json_object_new_boolean(json_object_object_length(r->body) == 0));
	shop_res_ok(r, 200, "Updated", d);
}

static void h_item_delete(struct shop_req *r)
{
	shop_res_ok(r, 200, "Deleted", NULL);
}

static void h_hdr(struct shop_req *r)
{
	json_object *d = json_object_new_object();

	json_object_object_add(d, "key", shop_json_str(shop_req_header(r, "Idempotency-Key")));
	json_object_object_add(d, "request_id", shop_json_str(r->request_id));
	shop_res_header(r, "X-Test", "yes");
	shop_res_header(r, "X-Bad", "a\r\nInjected: 1");
	shop_res_ok(r, 200, "Headers", d);
}

static void h_noanswer(struct shop_req *r)
{
	(void)r;
}

static void h_down(struct shop_req *r)
{
	shop_res_fail(r, SHOP_EDBDOWN);
}

/* The raw bytes back, and whether the layer parsed anything (it must not). */
static void h_raw(struct shop_req *r)
{
	size_t n = 0;
	const char *b = shop_req_raw_body(r, &n);

	shop_res_header(r, "X-Parsed", r->body ? "yes" : "no");
	shop_res_raw(r, 200, "application/octet-stream", b, b ? n : 0);
}

static const struct shop_field q_slow[] = {
	{ .name = "ms", .type = SHOP_T_INT, .min = 0, .max = 5000 },
	{ 0 },
};

static const struct shop_field q_item[] = {
	{ .name = "limit", .type = SHOP_T_INT, .min = 1, .max = 100 },
	{ 0 },
};

static const struct shop_field b_item[] = {
	{ .name = "name", .type = SHOP_T_STRING, .flags = SHOP_F_REQUIRED, .min = 1, .max = 50 },
	{ .name = "qty", .type = SHOP_T_INT, .min = 1, .max = 1000 },
	{ 0 },
};

static const struct shop_field b_item_opt[] = {
	{ .name = "name", .type = SHOP_T_STRING, .min = 1, .max = 50 },
	{ .name = "qty", .type = SHOP_T_INT, .min = 1, .max = 1000 },
	{ 0 },
};

static const struct shop_route echo_routes[] = {
	{ "GET", "/hello", h_hello, SHOP_ACCESS_PUBLIC, NULL, NULL },
	{ "GET", "/pid", h_pid, SHOP_ACCESS_PUBLIC, NULL, NULL },
	{ "GET", "/slow", h_slow, SHOP_ACCESS_PUBLIC, NULL, q_slow },
	{ "GET", "/items/{id}", h_item_get, SHOP_ACCESS_PUBLIC, NULL, q_item },
	{ "POST", "/items", h_item_post, SHOP_ACCESS_USER, b_item, NULL },
	{ "PUT", "/items/{id}", h_item_put, SHOP_ACCESS_SELLER, b_item_opt, NULL },
	{ "DELETE", "/items/{id}", h_item_delete, SHOP_ACCESS_ADMIN, NULL, NULL },
	{ "GET", "/hdr", h_hdr, SHOP_ACCESS_PUBLIC, NULL, NULL },
	{ "GET", "/noanswer", h_noanswer, SHOP_ACCESS_PUBLIC, NULL, NULL },
	{ "GET", "/down", h_down, SHOP_ACCESS_PUBLIC, NULL, NULL },
	{ "POST", "/raw", h_raw, SHOP_ACCESS_PUBLIC, NULL, NULL, SHOP_ROUTE_RAW_BODY },
};

static const struct shop_app echo_app = {
	.name = "echo",
	.routes = echo_routes,
	.nroutes = SHOP_ARRAY_LEN(echo_routes),
	.uses_db = false,
};

#ifndef ECHO_APP_NO_MAIN
int main(int argc, char **argv)
{
	return shop_app_main(&echo_app, argc, argv);
}
#endif
