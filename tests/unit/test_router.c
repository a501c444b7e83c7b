/* Unit tests of lib/router.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "lib/err.h"
#include "lib/router.h"
#include "lib/util.h"

static void h1(struct shop_req *r) { (void)r; }
static void h2(struct shop_req *r) { (void)r; }
static void h3(struct shop_req *r) { (void)r; }

static const struct shop_route routes[] = {
	{ "GET", "/api/v1/products", h1, SHOP_ACCESS_PUBLIC, NULL, NULL },
	{ "POST", "/api/v1/products", h2, SHOP_ACCESS_SELLER, NULL, NULL },
	{ "GET", "/api/v1/products/{id}", h1, SHOP_ACCESS_PUBLIC, NULL, NULL },
	{ "PUT", "/api/v1/products/{id}", h2, SHOP_ACCESS_SELLER, NULL, NULL },
	{ "DELETE", "/api/v1/products/{id}", h3, SHOP_ACCESS_SELLER, NULL, NULL },
	{ "POST", "/api/v1/orders/{id}/cancel", h1, SHOP_ACCESS_USER, NULL, NULL },
	{ "PUT", "/api/v1/carts/{cart_id}/items/{product_id}", h2, SHOP_ACCESS_USER, NULL, NULL },
	{ "GET", "/api/v1/products/search", h3, SHOP_ACCESS_PUBLIC, NULL, NULL },
	{ "GET", "/api/v1/products", h3, SHOP_ACCESS_PUBLIC, NULL, NULL }, /* shadowed */
};

static int match(const char *method, const char *path, struct shop_match *m)
{
	return shop_route_match(routes, SHOP_ARRAY_LEN(routes), method, path, m);
}

static void test_literal(void **state)
{
	struct shop_match m;

	(void)state;
	assert_int_equal(match("GET", "/api/v1/products", &m), 0);
	assert_ptr_equal(m.route, &routes[0]); /* first match wins */
	assert_int_equal(m.nparams, 0);
	assert_int_equal(match("POST", "/api/v1/products", &m), 0);
	assert_ptr_equal(m.route, &routes[1]);
	assert_int_equal(match("GET", "/api/v1/products/search", &m), 0);
	assert_ptr_equal(m.route, &routes[7]);
}

static void test_params(void **state)
{
	struct shop_match m;

	(void)state;
	assert_int_equal(match("GET", "/api/v1/products/42", &m), 0);
	assert_ptr_equal(m.route, &routes[2]);
	assert_int_equal(m.nparams, 1);
	assert_int_equal(m.params[0].namelen, 2);
	assert_memory_equal(m.params[0].name, "id", 2);
	assert_int_equal(m.params[0].id, 42);

	assert_int_equal(match("PUT", "/api/v1/carts/7/items/9007199254740991", &m), 0);
	assert_ptr_equal(m.route, &routes[6]);
	assert_int_equal(m.nparams, 2);
	assert_int_equal(m.params[0].namelen, 7);
	assert_memory_equal(m.params[0].name, "cart_id", 7);
	assert_int_equal(m.params[0].id, 7);
	assert_memory_equal(m.params[1].name, "product_id", 10);
	assert_true(m.params[1].id == 9007199254740991LL);

	assert_int_equal(match("POST", "/api/v1/orders/1/cancel", &m), 0);
	assert_int_equal(m.params[0].id, 1);
	assert_int_equal(match("DELETE", "/api/v1/products/1000000", &m), 0);
	assert_ptr_equal(m.route, &routes[4]);
}

static void test_bad_ids(void **state)
{
	static const char *const bad[] = {
		"0", "00", "01", "-1", "+1", "1e3", "1.0", "0x1", " 1", "1 ", "%31", "1%00",
		"9007199254740992", "99999999999999999999", "12345678901234567", "abc", "",
		"..", "../x", "1/", "1;", "１",
	};
	char path[128];
	struct shop_match m;
	size_t i;

	(void)state;
	for (i = 0; i < SHOP_ARRAY_LEN(bad); i++) {
		int rc;

		snprintf(path, sizeof(path), "/api/v1/products/%s", bad[i]);
		rc = match("GET", path, &m);
		if (rc == 0 && m.route != &routes[7])
			fail_msg("'%s' matched", path);
		assert_int_not_equal(rc, SHOP_EMETHOD);
		snprintf(path, sizeof(path), "/api/v1/orders/%s/cancel", bad[i]);
		assert_int_equal(match("POST", path, &m), SHOP_ENOTFOUND);
	}
}

static void test_not_found(void **state)
{
	static const char *const paths[] = {
		"", "/", "/api", "/api/v1", "/api/v1/", "/api/v1/products/", "/api/v1/products//",
		"/api/v1/products/1/", "//api/v1/products", "/api/v1/Products", "/API/v1/products",
		"/api/v1/productsx", "/api/v1/products/1/x", "/api/v1/orders/1", "/api/v1/orders/1/cancel/",
		"/api/v1/products/../products", "/api/v1/products/1?x=1", "/api/v1/products\n",
		"/api/v1/carts/1/items", "/api/v1/carts/1/items/", "/api/v1/carts//items/1",
	};
	struct shop_match m;
	size_t i;

	(void)state;
	for (i = 0; i < SHOP_ARRAY_LEN(paths); i++) {
		if (match("GET", paths[i], &m) != SHOP_ENOTFOUND)
			fail_msg("'%s' did not give ENOTFOUND", paths[i]);
		assert_null(m.route);
	}
	assert_int_equal(match(NULL, "/api/v1/products", &m), SHOP_ENOTFOUND);
	assert_int_equal(match("GET", NULL, &m), SHOP_ENOTFOUND);
	assert_int_equal(shop_route_match(routes, 0, "GET", "/api/v1/products", &m), SHOP_ENOTFOUND);
}

static void test_method(void **state)
{
	struct shop_match m;

	(void)state;
	assert_int_equal(match("PATCH", "/api/v1/products/5", &m), SHOP_EMETHOD);
	assert_null(m.route);
	assert_string_equal(m.allow, "GET, PUT, DELETE");
	assert_int_equal(match("DELETE", "/api/v1/products", &m), SHOP_EMETHOD);
	assert_string_equal(m.allow, "GET, POST"); /* the shadowed GET is not repeated */
	assert_int_equal(match("HEAD", "/api/v1/products", &m), SHOP_EMETHOD);
	assert_int_equal(match("get", "/api/v1/products", &m), SHOP_EMETHOD);
	assert_int_equal(match("GET", "/api/v1/orders/3/cancel", &m), SHOP_EMETHOD);
	assert_string_equal(m.allow, "POST");
	assert_int_equal(m.nparams, 0);
	/* a path that matches no pattern is not a method error, whatever the method */
	assert_int_equal(match("PATCH", "/api/v1/products/0", &m), SHOP_ENOTFOUND);
	assert_string_equal(m.allow, "");
}

static void test_allow_overflow(void **state)
{
	static const struct shop_route many[] = {
		{ "AAAAAAAAAAAAAAAAAAAA", "/x", h1, SHOP_ACCESS_PUBLIC, NULL, NULL },
		{ "BBBBBBBBBBBBBBBBBBBB", "/x", h1, SHOP_ACCESS_PUBLIC, NULL, NULL },
		{ "CCCCCCCCCCCCCCCCCCCC", "/x", h1, SHOP_ACCESS_PUBLIC, NULL, NULL },
		{ "DDDDDDDDDDDDDDDDDDDD", "/x", h1, SHOP_ACCESS_PUBLIC, NULL, NULL },
		{ "GET", "/x", h1, SHOP_ACCESS_PUBLIC, NULL, NULL },
	};
	struct shop_match m;

	(void)state;
	assert_int_equal(shop_route_match(many, SHOP_ARRAY_LEN(many), "PUT", "/x", &m), SHOP_EMETHOD);
	assert_true(strlen(m.allow) < sizeof(m.allow));
	/* C would need 65 bytes with the NUL: left out, the shorter GET still fits */
	assert_string_equal(m.allow, "AAAAAAAAAAAAAAAAAAAA, BBBBBBBBBBBBBBBBBBBB, GET");
}

static void test_too_many_params(void **state)
{
	static const struct shop_route r[] = {
		{ "GET", "/{a}/{b}/{c}/{d}", h1, SHOP_ACCESS_PUBLIC, NULL, NULL },
		{ "GET", "/{a}/{b}/{c}/{d}/{e}", h1, SHOP_ACCESS_PUBLIC, NULL, NULL },
	};
	struct shop_match m;

	(void)state;
	assert_int_equal(shop_route_match(r, 2, "GET", "/1/2/3/4", &m), 0);
	assert_int_equal(m.nparams, 4);
	assert_int_equal(m.params[3].id, 4);
	assert_int_equal(shop_route_match(r, 2, "GET", "/1/2/3/4/5", &m), SHOP_ENOTFOUND);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_literal),
		cmocka_unit_test(test_params),
		cmocka_unit_test(test_bad_ids),
		cmocka_unit_test(test_not_found),
		cmocka_unit_test(test_method),
		cmocka_unit_test(test_allow_overflow),
		cmocka_unit_test(test_too_many_params),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
