/* The identity app's handlers. Every input has been validated against the
 * route's field list (routes.c) before a handler runs. */
#include <stdlib.h>
#include <string.h>

#include "fcgi-apps/identity/identity.h"
#include "lib/auth.h"
#include "lib/cursor.h"
#include "lib/err.h"
#include "lib/json.h"
#include "lib/jwt.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/password.h"
#include "lib/req.h"
#include "lib/util.h"

#define LIST_DEFAULT 20

static struct idn_ctx *ctx_of(struct shop_req *r)
{
	return r->app_ctx;
}

/* Emails are stored and looked up lower-cased (ASCII letters only: the
 * domain is case-insensitive, and no mail system treats local parts as
 * case-sensitive in practice). */
static char *lower_email(struct shop_req *r, const char *s)
{
	char *e = shop_arena_strdup(r->arena, s);
	char *p;

	for (p = e; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	return e;
}

static json_object *roles_json(unsigned roles)
{
	json_object *a = json_object_new_array();
	unsigned bit;

	for (bit = SHOP_ROLE_CUSTOMER; bit <= SHOP_ROLE_ADMIN; bit <<= 1)
		if (roles & bit)
			json_object_array_add(a, shop_json_str(shop_role_name(bit)));
	return a;
}

/* {id, email, name, phone, roles, created_at}; admins also see disabled_at. */
static json_object *user_json(const struct idn_user *u, bool admin)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "id", shop_json_int(u->id));
	json_object_object_add(o, "email", shop_json_str(u->email));
	json_object_object_add(o, "name", shop_json_str(u->name));
	json_object_object_add(o, "phone", shop_json_str(u->phone));
	json_object_object_add(o, "roles", roles_json(u->roles));
	json_object_object_add(o, "created_at", shop_json_str(u->created_at));
	if (admin)
		json_object_object_add(o, "disabled_at", shop_json_str(u->disabled_at));
	return o;
}

static json_object *wrap(const char *name, json_object *v)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, name, v);
	return o;
}

static json_object *addr_json(const struct idn_addr *a)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "id", shop_json_int(a->id));
	json_object_object_add(o, "line1", shop_json_str(a->line1));
	json_object_object_add(o, "line2", shop_json_str(a->line2));
	json_object_object_add(o, "city", shop_json_str(a->city));
	json_object_object_add(o, "postal_code", shop_json_str(a->postal_code));
	json_object_object_add(o, "country", shop_json_str(a->country));
	json_object_object_add(o, "is_default", json_object_new_boolean(a->is_default));
	return o;
}

/* Answers a login or refresh: a fresh access token next to the refresh token. */
static void answer_tokens(struct shop_req *r, const struct idn_user *u, const char *refresh,
    const char *message)
{
	struct idn_ctx *ctx = ctx_of(r);
	json_object *data;
	char *access = NULL;
	int rc;

	rc = shop_jwt_sign(ctx->keys, u->id, u->roles, shop_now(), ctx->access_ttl, &access);
	if (rc) {
		shop_res_fail(r, rc);
		return;
	}
	data = json_object_new_object();
	json_object_object_add(data, "access_token", shop_json_str(access));
	json_object_object_add(data, "token_type", shop_json_str("Bearer"));
	json_object_object_add(data, "expires_in", shop_json_int(ctx->access_ttl));
	json_object_object_add(data, "refresh_token", shop_json_str(refresh));
	json_object_object_add(data, "user", user_json(u, false));
	free(access);
	shop_res_header(r, "Cache-Control", "no-store");
	shop_res_ok(r, 200, message, data);
}

static void bad_credentials(struct shop_req *r)
{
	shop_res_error(r, 401, "Invalid email or password", "BAD_CREDENTIALS", NULL, NULL);
}

void h_register(struct shop_req *r)
{
	struct idn_ctx *ctx = ctx_of(r);
	json_object *pw = shop_req_bget(r, "password");
	const char *email = lower_email(r, shop_req_bstr(r, "email")), *old_hash;
	char hash[SHOP_PWHASH_MAX];
	struct idn_user u;
	long long id;
	int rc;

	/* Spare the argon2 work for an email that is plainly taken; the unique
	 * key still decides a race. */
	rc = idn_user_by_email(r->db, r->arena, email, &u, &old_hash);
	if (rc == 0)
		goto taken;
	if (rc != SHOP_ENOTFOUND)
		goto fail;
	rc = shop_password_hash(hash, json_object_get_string(pw),
	    (size_t)json_object_get_string_len(pw), ctx->pw_ops, ctx->pw_mem);
	if (rc)
		goto fail;
	rc = idn_user_insert(r->db, email, hash, shop_req_bstr(r, "name"), &id);
	if (rc == SHOP_EDUP)
		goto taken;
	if (rc)
		goto fail;
	rc = idn_user_get(r->db, r->arena, id, &u);
	if (rc)
		goto fail;
	shop_log_info("user %lld registered", id);
	shop_res_ok(r, 201, "Registered", wrap("user", user_json(&u, false)));
	return;
taken:
	shop_res_error(r, 409, "Email already registered", "EMAIL_TAKEN", "email", NULL);
	return;
fail:
	shop_res_fail(r, rc);
}

void h_login(struct shop_req *r)
{
	struct idn_ctx *ctx = ctx_of(r);
	json_object *pwj = shop_req_bget(r, "password");
	const char *pw = json_object_get_string(pwj);
	size_t pwlen = (size_t)json_object_get_string_len(pwj);
	const char *email = lower_email(r, shop_req_bstr(r, "email")), *hash = NULL;
	char refresh[IDN_REFRESH_MAX];
	struct idn_user u;
	bool ok;
	int rc;

	rc = idn_user_by_email(r->db, r->arena, email, &u, &hash);
	if (rc == SHOP_ENOTFOUND) {
		/* Same work as for a real account, so timing tells nothing. */
		(void)shop_password_verify(ctx->dummy_hash, pw, pwlen);
		bad_credentials(r);
		return;
	}
	if (rc) {
		shop_res_fail(r, rc);
		return;
	}
	ok = shop_password_verify(hash, pw, pwlen);
	if (!ok || u.disabled_at != NULL) {
		bad_credentials(r);
		return;
	}
	(void)idn_refresh_purge(r->db, u.id);
	rc = idn_refresh_issue(r->db, u.id, NULL, ctx->refresh_ttl, refresh);
	if (rc) {
		shop_res_fail(r, rc);
		return;
	}
	answer_tokens(r, &u, refresh, "Logged in");
}

void h_refresh(struct shop_req *r)
{
	struct idn_ctx *ctx = ctx_of(r);
	enum idn_refresh_outcome outcome;
	char next[IDN_REFRESH_MAX];
	struct idn_user u;
	int rc;

	rc = idn_refresh_rotate(r->db, r->arena, shop_req_bstr(r, "refresh_token"),
	    ctx->refresh_ttl, &outcome, &u, next);
	if (rc) {
		shop_res_fail(r, rc);
		return;
	}
	switch (outcome) {
	case IDN_REFRESH_OK:
		answer_tokens(r, &u, next, "Token refreshed");
		break;
	case IDN_REFRESH_REUSED:
		shop_log_warn("refresh token reused: family revoked");
		shop_res_error(r, 401, "Refresh token already used; the session is revoked",
		    "TOKEN_REUSED", NULL, NULL);
		break;
	case IDN_REFRESH_INVALID:
		shop_res_error(r, 401, "Invalid refresh token", "INVALID_TOKEN", NULL, NULL);
		break;
	}
}

/* Logout answers 200 for an unknown, expired or already revoked token too:
 * what the client asked for (this token no longer works) holds either way,
 * and a different answer would tell a caller which tokens exist. */
void h_logout(struct shop_req *r)
{
	int rc = idn_refresh_revoke(r->db, r->arena, shop_req_bstr(r, "refresh_token"));

	if (rc) {
		shop_res_fail(r, rc);
		return;
	}
	shop_res_ok(r, 200, "Logged out", NULL);
}

void h_jwks(struct shop_req *r)
{
	struct idn_ctx *ctx = ctx_of(r);

	shop_res_header(r, "Cache-Control", "public, max-age=300");
	shop_res_raw(r, 200, "application/json", ctx->jwks, ctx->jwks_len);
}

void h_me_get(struct shop_req *r)
{
	struct idn_user u;
	int rc = idn_user_get(r->db, r->arena, r->auth.user_id, &u);

	if (rc) {
		shop_res_fail(r, rc);
		return;
	}
	shop_res_ok(r, 200, "OK", wrap("user", user_json(&u, false)));
}

void h_me_put(struct shop_req *r)
{
	const char *name = shop_req_bstr(r, "name");
	json_object *phone = NULL;
	bool set_phone;
	struct idn_user u;
	int rc;

	/* "phone": null clears the phone; an absent field keeps it. */
	set_phone = json_object_object_get_ex(r->body, "phone", &phone);
	rc = idn_user_update_profile(r->db, r->auth.user_id, name != NULL, name, set_phone,
	    phone ? json_object_get_string(phone) : NULL);
	if (rc == 0)
		rc = idn_user_get(r->db, r->arena, r->auth.user_id, &u);
	if (rc) {
		shop_res_fail(r, rc);
		return;
	}
	shop_res_ok(r, 200, "Profile updated", wrap("user", user_json(&u, false)));
}

/* Every address at once: at most IDN_MAX_ADDRESSES, so next_cursor is
 * always null and the route takes no limit/cursor. */
void h_addr_list(struct shop_req *r)
{
	struct idn_addr *a;
	json_object *items;
	size_t i, n;
	int rc = idn_addr_list(r->db, r->arena, r->auth.user_id, &a, &n);

	if (rc) {
		shop_res_fail(r, rc);
		return;
	}
	items = json_object_new_array();
	for (i = 0; i < n; i++)
		json_object_array_add(items, addr_json(&a[i]));
	shop_res_ok(r, 200, "OK", shop_json_list(items, NULL));
}

void h_addr_create(struct shop_req *r)
{
	struct idn_addr in = {
		.line1 = shop_req_bstr(r, "line1"),
		.line2 = shop_req_bstr(r, "line2"),
		.city = shop_req_bstr(r, "city"),
		.postal_code = shop_req_bstr(r, "postal_code"),
		.country = shop_req_bstr(r, "country"),
	}, out;
	int rc;

	(void)shop_req_bbool(r, "is_default", &in.is_default);
	rc = idn_addr_create(r->db, r->arena, r->auth.user_id, &in, &out);
	if (rc == SHOP_ECONFLICT) {
		shop_res_error(r, 409, "Too many addresses", "ADDRESS_LIMIT_REACHED", NULL,
		    shop_arena_printf(r->arena, "at most %d addresses per user",
		    IDN_MAX_ADDRESSES));
		return;
	}
	if (rc) {
		shop_res_fail(r, rc);
		return;
	}
	shop_res_ok(r, 201, "Address added", wrap("address", addr_json(&out)));
}

void h_addr_delete(struct shop_req *r)
{
	int rc = idn_addr_delete(r->db, r->arena, r->auth.user_id, shop_req_id(r, "id"));

	if (rc == SHOP_ENOTFOUND) {
		shop_res_error(r, 404, "Address not found", "NOT_FOUND", NULL, NULL);
		return;
	}
	if (rc) {
		shop_res_fail(r, rc);
		return;
	}
	shop_res_ok(r, 200, "Address deleted", NULL);
}

void h_admin_users(struct shop_req *r)
{
	const char *email = NULL, *role = NULL, *cursor = NULL;
	long long limit = LIST_DEFAULT, before = 0, value;
	char next[SHOP_CURSOR_MAX];
	struct idn_user *u;
	json_object *items;
	size_t i, n;
	int rc;

	if (shop_req_qstr(r, "email", &email))
		email = lower_email(r, email);
	(void)shop_req_qstr(r, "role", &role);
	(void)shop_req_qint(r, "limit", &limit);
	if (shop_req_qstr(r, "cursor", &cursor) &&
	    shop_cursor_decode(cursor, "id", &value, &before) != 0) {
		shop_res_error(r, 400, "Invalid query", "INVALID_QUERY", "cursor", "malformed cursor");
		return;
	}
	/* One row more than asked tells whether there is a next page. */
	rc = idn_user_list(r->db, r->arena, email, role, before, (unsigned)limit + 1, &u, &n);
	if (rc) {
		shop_res_fail(r, rc);
		return;
	}
	items = json_object_new_array();
	for (i = 0; i < n && i < (size_t)limit; i++)
		json_object_array_add(items, user_json(&u[i], true));
	if (n > (size_t)limit && shop_cursor_encode(next, "id", u[limit - 1].id,
	    u[limit - 1].id) == 0) {
		shop_res_ok(r, 200, "OK", shop_json_list(items, next));
		return;
	}
	shop_res_ok(r, 200, "OK", shop_json_list(items, NULL));
}

static void refuse_self(struct shop_req *r)
{
	shop_res_error(r, 409, "Admins cannot lock themselves out", "SELF_LOCKOUT", NULL,
	    "use another admin account");
}

void h_admin_roles(struct shop_req *r)
{
	json_object *arr = shop_req_bget(r, "roles");
	long long id = shop_req_id(r, "id");
	unsigned roles = 0, bit;
	struct idn_user u;
	size_t i, n = json_object_array_length(arr);
	int rc;

	for (i = 0; i < n; i++) {
		json_object *e = json_object_array_get_idx(arr, i);

		if (shop_roles_parse(json_object_get_string(e),
		    (size_t)json_object_get_string_len(e), &bit) != 0) {
			/* The field's format already admits only role names. */
			shop_res_error(r, 400, "Validation failed", "INVALID_FORMAT", "roles", NULL);
			return;
		}
		roles |= bit;
	}
	if (id == r->auth.user_id && !(roles & SHOP_ROLE_ADMIN)) {
		refuse_self(r);
		return;
	}
	rc = idn_user_set_roles(r->db, id, roles);
	if (rc == 0)
		rc = idn_user_get(r->db, r->arena, id, &u);
	if (rc == SHOP_ENOTFOUND) {
		shop_res_error(r, 404, "User not found", "NOT_FOUND", NULL, NULL);
		return;
	}
	if (rc) {
		shop_res_fail(r, rc);
		return;
	}
	shop_log_info("roles of user %lld set", id);
	shop_res_ok(r, 200, "Roles updated", wrap("user", user_json(&u, true)));
}

/* Disabling keeps the row (orders refer to it), refuses every later login
 * and refresh, and revokes all refresh families; live access tokens die at
 * the auth app within its user cache TTL. */
void h_admin_disable(struct shop_req *r)
{
	long long id = shop_req_id(r, "id");
	struct idn_user u;
	int rc;

	if (id == r->auth.user_id) {
		refuse_self(r);
		return;
	}
	rc = idn_user_disable(r->db, id);
	if (rc == 0)
		rc = idn_user_get(r->db, r->arena, id, &u);
	if (rc == SHOP_ENOTFOUND) {
		shop_res_error(r, 404, "User not found", "NOT_FOUND", NULL, NULL);
		return;
	}
	if (rc) {
		shop_res_fail(r, rc);
		return;
	}
	shop_log_info("user %lld disabled", id);
	shop_res_ok(r, 200, "User disabled", wrap("user", user_json(&u, true)));
}
