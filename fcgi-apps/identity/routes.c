/* The identity app's routes and the fields each one accepts. The request
 * layer refuses anything not declared here (UNKNOWN_FIELD): a client can
 * never set roles, ids or timestamps through these bodies. */
#include "fcgi-apps/identity/identity.h"
#include "lib/cursor.h"
#include "lib/router.h"
#include "lib/util.h"
#include "lib/validate.h"

#define EMAIL { "email", SHOP_T_STRING, SHOP_F_REQUIRED, 3, 254, shop_fmt_email, NULL }
#define NAME(flags) { "name", SHOP_T_STRING, flags, 1, 100, shop_fmt_text, NULL }

static const struct shop_field register_body[] = {
	EMAIL,
	{ "password", SHOP_T_STRING, SHOP_F_REQUIRED, 10, 256, NULL, NULL },
	NAME(SHOP_F_REQUIRED),
	{ NULL },
};

/* No minimum length at login: the answer to a short password is the same
 * 401 as to any wrong one. */
static const struct shop_field login_body[] = {
	EMAIL,
	{ "password", SHOP_T_STRING, SHOP_F_REQUIRED, 1, 256, NULL, NULL },
	{ NULL },
};

/* Any string: an unknown or malformed token is a 401, not a 400. */
static const struct shop_field refresh_body[] = {
	{ "refresh_token", SHOP_T_STRING, SHOP_F_REQUIRED, 1, 256, NULL, NULL },
	{ NULL },
};

static const struct shop_field me_body[] = {
	NAME(0),
	{ "phone", SHOP_T_STRING, SHOP_F_NULLABLE, 3, 32, shop_fmt_phone, NULL },
	{ NULL },
};

static const struct shop_field address_body[] = {
	{ "line1", SHOP_T_STRING, SHOP_F_REQUIRED, 1, 200, shop_fmt_text, NULL },
	{ "line2", SHOP_T_STRING, SHOP_F_NULLABLE, 0, 200, NULL, NULL },
	{ "city", SHOP_T_STRING, SHOP_F_REQUIRED, 1, 100, shop_fmt_text, NULL },
	{ "postal_code", SHOP_T_STRING, SHOP_F_REQUIRED, 1, 20, shop_fmt_text, NULL },
	{ "country", SHOP_T_STRING, SHOP_F_REQUIRED, 2, 2, shop_fmt_country, NULL },
	{ "is_default", SHOP_T_BOOL, 0, 0, 0, NULL, NULL },
	{ NULL },
};

static const struct shop_field admin_users_query[] = {
	{ "email", SHOP_T_STRING, 0, 3, 254, shop_fmt_email, NULL },
	{ "role", SHOP_T_STRING, 0, 1, 16, shop_fmt_role, NULL },
	{ "limit", SHOP_T_INT, 0, 1, 100, NULL, NULL },
	{ "cursor", SHOP_T_STRING, 0, 1, SHOP_CURSOR_MAX - 1, NULL, NULL },
	{ NULL },
};

static const struct shop_field roles_body[] = {
	{ "roles", SHOP_T_STRING_ARRAY, SHOP_F_REQUIRED, 1, 3, shop_fmt_role, NULL },
	{ NULL },
};

const struct shop_route identity_routes[] = {
	{"POST", "/api/v1/auth/register", h_register, SHOP_ACCESS_PUBLIC, register_body, NULL},
	{"POST", "/api/v1/auth/login", h_login, SHOP_ACCESS_PUBLIC, login_body, NULL},
	{"POST", "/api/v1/auth/refresh", h_refresh, SHOP_ACCESS_PUBLIC, refresh_body, NULL},
	{"POST", "/api/v1/auth/logout", h_logout, SHOP_ACCESS_PUBLIC, refresh_body, NULL},
	{"GET", "/.well-known/jwks.json", h_jwks, SHOP_ACCESS_PUBLIC, NULL, NULL},
	{"GET", "/api/v1/users/me", h_me_get, SHOP_ACCESS_USER, NULL, NULL},
	{"PUT", "/api/v1/users/me", h_me_put, SHOP_ACCESS_USER, me_body, NULL},
	{"GET", "/api/v1/users/me/addresses", h_addr_list, SHOP_ACCESS_USER, NULL, NULL},
	{"POST", "/api/v1/users/me/addresses", h_addr_create, SHOP_ACCESS_USER, address_body, NULL},
	{"DELETE", "/api/v1/users/me/addresses/{id}", h_addr_delete, SHOP_ACCESS_USER, NULL, NULL},
	{"GET", "/api/v1/admin/users", h_admin_users, SHOP_ACCESS_ADMIN, NULL, admin_users_query},
	{"PUT", "/api/v1/admin/users/{id}/roles", h_admin_roles, SHOP_ACCESS_ADMIN, roles_body, NULL},
	{"POST", "/api/v1/admin/users/{id}/disable", h_admin_disable, SHOP_ACCESS_ADMIN, NULL, NULL},
};

const size_t identity_nroutes = SHOP_ARRAY_LEN(identity_routes);
