/* The identity app's SQL: the statements (prepared once per connection by
 * lib/db) and the functions that run them. Nothing here knows about HTTP. */
#include <stdio.h>
#include <string.h>

#include "fcgi-apps/identity/identity.h"
#include "lib/auth.h"
#include "lib/db.h"
#include "lib/err.h"
#include "lib/mem.h"
#include "lib/outbox.h"
#include "lib/util.h"

#define RFC3339(col) "DATE_FORMAT(" col ", '%Y-%m-%dT%H:%i:%sZ')"
/* The columns of struct idn_user, in this order (see user_from_row). */
#define USER_COLS "id, email, name, phone, roles, " RFC3339("created_at") ", " \
	RFC3339("disabled_at")
#define ADDR_COLS "id, line1, line2, city, postal_code, country, is_default"

const char *const identity_sql[IDN_SQL_COUNT] = {
	[SQL_USER_INSERT] =
		"INSERT INTO users (email, password_hash, name, roles, created_at, updated_at) "
		"VALUES (?, ?, ?, 'CUSTOMER', UTC_TIMESTAMP(3), UTC_TIMESTAMP(3))",
	[SQL_USER_BY_ID] =
		"SELECT " USER_COLS " FROM users WHERE id = ?",
	[SQL_USER_BY_EMAIL] =
		"SELECT " USER_COLS ", password_hash FROM users WHERE email = ?",
	[SQL_USER_UPDATE_PROFILE] =
		"UPDATE users SET name = IF(?, ?, name), phone = IF(?, ?, phone), "
		"updated_at = UTC_TIMESTAMP(3) WHERE id = ?",
	[SQL_USER_SET_ROLES] =
		"UPDATE users SET roles = ?, updated_at = UTC_TIMESTAMP(3) WHERE id = ?",
	[SQL_USER_DISABLE] =
		"UPDATE users SET disabled_at = COALESCE(disabled_at, UTC_TIMESTAMP(3)), "
		"updated_at = UTC_TIMESTAMP(3) WHERE id = ?",
	[SQL_USER_LOCK] =
		"SELECT id FROM users WHERE id = ? FOR UPDATE",
	[SQL_USER_LIST] =
		"SELECT " USER_COLS " FROM users "
		"WHERE id < ? AND (? IS NULL OR FIND_IN_SET(?, roles) > 0) "
		"ORDER BY id DESC LIMIT ?",
	[SQL_USER_LIST_EMAIL] =
		"SELECT " USER_COLS " FROM users "
		"WHERE email = ? AND id < ? AND (? IS NULL OR FIND_IN_SET(?, roles) > 0) "
		"ORDER BY id DESC LIMIT ?",
	[SQL_RT_INSERT] =
		"INSERT INTO refresh_tokens (token_hash, family_id, user_id, created_at, expires_at) "
		"VALUES (?, ?, ?, UTC_TIMESTAMP(3), UTC_TIMESTAMP(3) + INTERVAL ? SECOND)",
	[SQL_RT_LOCK] =
		"SELECT id, family_id, user_id, used_at IS NOT NULL, revoked_at IS NOT NULL, "
		"expires_at <= UTC_TIMESTAMP(3) FROM refresh_tokens WHERE token_hash = ? FOR UPDATE",
	[SQL_RT_MARK_USED] =
		"UPDATE refresh_tokens SET used_at = UTC_TIMESTAMP(3) WHERE id = ?",
	[SQL_RT_REVOKE_FAMILY] =
		"UPDATE refresh_tokens SET revoked_at = UTC_TIMESTAMP(3) "
		"WHERE family_id = ? AND revoked_at IS NULL",
	[SQL_RT_REVOKE_USER] =
		"UPDATE refresh_tokens SET revoked_at = UTC_TIMESTAMP(3) "
		"WHERE user_id = ? AND revoked_at IS NULL",
	[SQL_RT_FAMILY_OF] =
		"SELECT family_id FROM refresh_tokens WHERE token_hash = ?",
	[SQL_RT_PURGE_USER] =
		"DELETE FROM refresh_tokens WHERE user_id = ? AND expires_at < UTC_TIMESTAMP(3)",
	[SQL_ADDR_LIST] =
		"SELECT " ADDR_COLS " FROM addresses WHERE user_id = ? ORDER BY id",
	[SQL_ADDR_COUNT] =
		"SELECT COUNT(*) FROM addresses WHERE user_id = ?",
	[SQL_ADDR_CLEAR_DEFAULT] =
		"UPDATE addresses SET is_default = 0 WHERE user_id = ? AND is_default = 1",
	[SQL_ADDR_INSERT] =
		"INSERT INTO addresses (user_id, line1, line2, city, postal_code, country, "
		"is_default, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, UTC_TIMESTAMP(3))",
	[SQL_ADDR_GET] =
		"SELECT " ADDR_COLS " FROM addresses WHERE id = ? AND user_id = ?",
	[SQL_ADDR_DELETE] =
		"DELETE FROM addresses WHERE id = ? AND user_id = ?",
	[SQL_ADDR_PROMOTE_NEWEST] =
		"UPDATE addresses SET is_default = 1 WHERE user_id = ? ORDER BY id DESC LIMIT 1",
	[SQL_OUTBOX_ADD] = SHOP_OUTBOX_INSERT_SQL,
};

/* "CUSTOMER,SELLER" from a SET column; "" is no role at all. */
static unsigned roles_of(const char *s)
{
	unsigned roles = 0;

	if (s == NULL || s[0] == '\0' || shop_roles_parse(s, strlen(s), &roles) != 0)
		return 0;
	return roles;
}

static void user_from_row(const struct shop_row *row, struct idn_user *u)
{
	u->id = shop_row_int(row, 0);
	u->email = shop_row_str(row, 1);
	u->name = shop_row_str(row, 2);
	u->phone = shop_row_str(row, 3);
	u->roles = roles_of(shop_row_str(row, 4));
	u->created_at = shop_row_str(row, 5);
	u->disabled_at = shop_row_str(row, 6);
}

static void addr_from_row(const struct shop_row *row, struct idn_addr *a)
{
	a->id = shop_row_int(row, 0);
	a->line1 = shop_row_str(row, 1);
	a->line2 = shop_row_str(row, 2);
	a->city = shop_row_str(row, 3);
	a->postal_code = shop_row_str(row, 4);
	a->country = shop_row_str(row, 5);
	a->is_default = shop_row_int(row, 6) != 0;
}

struct register_tx {
	const char *email, *hash, *name;
	long long id;
};

/* The user and its user.registered event (the welcome mail), together. */
static int register_tx(struct shop_db *db, void *arg)
{
	struct register_tx *t = arg;
	json_object *ev;
	int rc;

	rc = shop_db_exec(db, SQL_USER_INSERT, "sss", t->email, t->hash, t->name);
	if (rc < 0)
		return rc;
	t->id = shop_db_last_id(db);
	ev = json_object_new_object();
	json_object_object_add(ev, "user_id", json_object_new_int64(t->id));
	json_object_object_add(ev, "email", json_object_new_string(t->email));
	json_object_object_add(ev, "name", json_object_new_string(t->name));
	rc = shop_outbox_add(db, SQL_OUTBOX_ADD, "user.registered", "user", t->id, ev, NULL);
	json_object_put(ev);
	return rc;
}

int idn_user_insert(struct shop_db *db, const char *email, const char *hash, const char *name,
    long long *id)
{
	struct register_tx t = { .email = email, .hash = hash, .name = name };
	int rc = shop_db_tx(db, register_tx, &t);

	if (rc)
		return rc;
	*id = t.id;
	return 0;
}

int idn_user_get(struct shop_db *db, struct shop_arena *a, long long id, struct idn_user *u)
{
	struct shop_rows rows;
	int rc = shop_db_query(db, a, &rows, SQL_USER_BY_ID, "i", id);

	if (rc)
		return rc;
	if (rows.n == 0)
		return SHOP_ENOTFOUND;
	user_from_row(&rows.row[0], u);
	return 0;
}

int idn_user_by_email(struct shop_db *db, struct shop_arena *a, const char *email,
    struct idn_user *u, const char **hash)
{
	struct shop_rows rows;
	int rc = shop_db_query(db, a, &rows, SQL_USER_BY_EMAIL, "s", email);

	if (rc)
		return rc;
	if (rows.n == 0)
		return SHOP_ENOTFOUND;
	user_from_row(&rows.row[0], u);
	*hash = shop_row_str(&rows.row[0], 7);
	return 0;
}

int idn_user_update_profile(struct shop_db *db, long long id, bool set_name, const char *name,
    bool set_phone, const char *phone)
{
	int rc = shop_db_exec(db, SQL_USER_UPDATE_PROFILE, "isisi", (long long)set_name, name,
	    (long long)set_phone, phone, id);

	if (rc < 0)
		return rc;
	return rc == 0 ? SHOP_ENOTFOUND : 0;
}

int idn_user_set_roles(struct shop_db *db, long long id, unsigned roles)
{
	char text[64];
	int rc;

	shop_roles_format(text, sizeof(text), roles);
	rc = shop_db_exec(db, SQL_USER_SET_ROLES, "si", text, id);
	if (rc < 0)
		return rc;
	return rc == 0 ? SHOP_ENOTFOUND : 0;
}

static int disable_tx(struct shop_db *db, void *ctx)
{
	long long id = *(long long *)ctx;
	int rc;

	rc = shop_db_exec(db, SQL_USER_DISABLE, "i", id);
	if (rc < 0)
		return rc;
	if (rc == 0)
		return SHOP_ENOTFOUND;
	rc = shop_db_exec(db, SQL_RT_REVOKE_USER, "i", id);
	return rc < 0 ? rc : 0;
}

int idn_user_disable(struct shop_db *db, long long id)
{
	return shop_db_tx(db, disable_tx, &id);
}

int idn_user_list(struct shop_db *db, struct shop_arena *a, const char *email, const char *role,
    long long before, unsigned max, struct idn_user **out, size_t *n)
{
	struct shop_rows rows;
	size_t i;
	int rc;

	if (before <= 0)
		before = 9007199254740992LL; /* above every id */
	if (email)
		rc = shop_db_query(db, a, &rows, SQL_USER_LIST_EMAIL, "sissi", email, before, role,
		    role, (long long)max);
	else
		rc = shop_db_query(db, a, &rows, SQL_USER_LIST, "issi", before, role, role,
		    (long long)max);
	if (rc)
		return rc;
	*out = shop_arena_calloc(a, (rows.n ? rows.n : 1) * sizeof(**out));
	for (i = 0; i < rows.n; i++)
		user_from_row(&rows.row[i], &(*out)[i]);
	*n = rows.n;
	return 0;
}

/* A fresh token's text and the hash that is stored. */
static void new_token(char token[IDN_REFRESH_MAX], unsigned char hash[32])
{
	unsigned char rnd[IDN_REFRESH_BYTES];

	shop_random_bytes(rnd, sizeof(rnd));
	shop_b64url_encode(token, IDN_REFRESH_MAX, rnd, sizeof(rnd));
	shop_sha256(hash, token, strlen(token));
}

int idn_refresh_issue(struct shop_db *db, long long user_id, const unsigned char *family,
    long long ttl, char token[IDN_REFRESH_MAX])
{
	unsigned char hash[32], fam[IDN_FAMILY_BYTES];
	int rc;

	if (family == NULL) {
		shop_random_bytes(fam, sizeof(fam));
		family = fam;
	}
	new_token(token, hash);
	rc = shop_db_exec(db, SQL_RT_INSERT, "bbii", hash, sizeof(hash), family,
	    (size_t)IDN_FAMILY_BYTES, user_id, ttl);
	if (rc < 0) {
		memset(token, 0, IDN_REFRESH_MAX);
		return rc;
	}
	return 0;
}

struct rotate_ctx {
	struct shop_arena *a;
	unsigned char hash[32];
	long long ttl;
	enum idn_refresh_outcome outcome;
	struct idn_user *u;
	char *next;
};

/* Runs inside one transaction, possibly more than once (lib/db retries on
 * deadlock): every outcome is decided from what the locked row says. A
 * refusal that changed something (a revoked family) still commits: it returns
 * 0 with the outcome in ctx. */
static int rotate_tx(struct shop_db *db, void *arg)
{
	struct rotate_ctx *c = arg;
	struct shop_rows rows;
	const struct shop_row *row;
	unsigned char family[IDN_FAMILY_BYTES];
	long long id, user_id;
	int rc;

	c->outcome = IDN_REFRESH_INVALID;
	rc = shop_db_query(db, c->a, &rows, SQL_RT_LOCK, "b", c->hash, sizeof(c->hash));
	if (rc)
		return rc;
	if (rows.n == 0)
		return 0;
	row = &rows.row[0];
	id = shop_row_int(row, 0);
	if (row->col[1] == NULL || row->len[1] != sizeof(family))
		return SHOP_EDB;
	memcpy(family, row->col[1], sizeof(family));
	user_id = shop_row_int(row, 2);
	if (shop_row_int(row, 3)) {
		/* Used before: someone holds a copy. Revoke every descendant. */
		c->outcome = IDN_REFRESH_REUSED;
		rc = shop_db_exec(db, SQL_RT_REVOKE_FAMILY, "b", family, sizeof(family));
		return rc < 0 ? rc : 0;
	}
	if (shop_row_int(row, 4) || shop_row_int(row, 5))
		return 0; /* revoked or expired */
	rc = idn_user_get(db, c->a, user_id, c->u);
	if (rc == SHOP_ENOTFOUND)
		return 0;
	if (rc)
		return rc;
	if (c->u->disabled_at != NULL) {
		rc = shop_db_exec(db, SQL_RT_REVOKE_FAMILY, "b", family, sizeof(family));
		return rc < 0 ? rc : 0;
	}
	rc = shop_db_exec(db, SQL_RT_MARK_USED, "i", id);
	if (rc < 0)
		return rc;
	rc = idn_refresh_issue(db, user_id, family, c->ttl, c->next);
	if (rc)
		return rc;
	c->outcome = IDN_REFRESH_OK;
	return 0;
}

int idn_refresh_rotate(struct shop_db *db, struct shop_arena *a, const char *token, long long ttl,
    enum idn_refresh_outcome *outcome, struct idn_user *u, char next[IDN_REFRESH_MAX])
{
	struct rotate_ctx c = { .a = a, .ttl = ttl, .u = u, .next = next };
	int rc;

	shop_sha256(c.hash, token, strlen(token));
	rc = shop_db_tx(db, rotate_tx, &c);
	*outcome = c.outcome;
	return rc;
}

int idn_refresh_revoke(struct shop_db *db, struct shop_arena *a, const char *token)
{
	unsigned char hash[32];
	struct shop_rows rows;
	int rc;

	shop_sha256(hash, token, strlen(token));
	rc = shop_db_query(db, a, &rows, SQL_RT_FAMILY_OF, "b", hash, sizeof(hash));
	if (rc || rows.n == 0)
		return rc;
	if (rows.row[0].col[0] == NULL || rows.row[0].len[0] != IDN_FAMILY_BYTES)
		return SHOP_EDB;
	rc = shop_db_exec(db, SQL_RT_REVOKE_FAMILY, "b", rows.row[0].col[0],
	    (size_t)IDN_FAMILY_BYTES);
	return rc < 0 ? rc : 0;
}

int idn_refresh_purge(struct shop_db *db, long long user_id)
{
	int rc = shop_db_exec(db, SQL_RT_PURGE_USER, "i", user_id);

	return rc < 0 ? rc : 0;
}

int idn_addr_list(struct shop_db *db, struct shop_arena *a, long long user_id,
    struct idn_addr **out, size_t *n)
{
	struct shop_rows rows;
	size_t i;
	int rc = shop_db_query(db, a, &rows, SQL_ADDR_LIST, "i", user_id);

	if (rc)
		return rc;
	*out = shop_arena_calloc(a, (rows.n ? rows.n : 1) * sizeof(**out));
	for (i = 0; i < rows.n; i++)
		addr_from_row(&rows.row[i], &(*out)[i]);
	*n = rows.n;
	return 0;
}

struct addr_ctx {
	struct shop_arena *a;
	long long user_id;
	const struct idn_addr *in;
	struct idn_addr *out;
	long long id;
};

/* The user's row lock serializes every change to their addresses, so the
 * count and the one-default rule hold under concurrent requests. */
static int lock_user(struct shop_db *db, struct shop_arena *a, long long user_id)
{
	struct shop_rows rows;
	int rc = shop_db_query(db, a, &rows, SQL_USER_LOCK, "i", user_id);

	if (rc)
		return rc;
	return rows.n == 0 ? SHOP_ENOTFOUND : 0;
}

static int addr_create_tx(struct shop_db *db, void *arg)
{
	struct addr_ctx *c = arg;
	struct shop_rows rows;
	long long count, id;
	bool def;
	int rc;

	rc = lock_user(db, c->a, c->user_id);
	if (rc)
		return rc;
	rc = shop_db_query(db, c->a, &rows, SQL_ADDR_COUNT, "i", c->user_id);
	if (rc)
		return rc;
	count = rows.n ? shop_row_int(&rows.row[0], 0) : 0;
	if (count >= IDN_MAX_ADDRESSES)
		return SHOP_ECONFLICT;
	def = c->in->is_default || count == 0;
	if (def) {
		rc = shop_db_exec(db, SQL_ADDR_CLEAR_DEFAULT, "i", c->user_id);
		if (rc < 0)
			return rc;
	}
	rc = shop_db_exec(db, SQL_ADDR_INSERT, "isssssi", c->user_id, c->in->line1, c->in->line2,
	    c->in->city, c->in->postal_code, c->in->country, (long long)def);
	if (rc < 0)
		return rc;
	id = shop_db_last_id(db);
	rc = shop_db_query(db, c->a, &rows, SQL_ADDR_GET, "ii", id, c->user_id);
	if (rc)
		return rc;
	if (rows.n == 0)
		return SHOP_EDB;
	addr_from_row(&rows.row[0], c->out);
	return 0;
}

int idn_addr_create(struct shop_db *db, struct shop_arena *a, long long user_id,
    const struct idn_addr *in, struct idn_addr *out)
{
	struct addr_ctx c = { .a = a, .user_id = user_id, .in = in, .out = out };

	return shop_db_tx(db, addr_create_tx, &c);
}

static int addr_delete_tx(struct shop_db *db, void *arg)
{
	struct addr_ctx *c = arg;
	struct shop_rows rows;
	bool was_default;
	int rc;

	rc = lock_user(db, c->a, c->user_id);
	if (rc)
		return rc;
	rc = shop_db_query(db, c->a, &rows, SQL_ADDR_GET, "ii", c->id, c->user_id);
	if (rc)
		return rc;
	if (rows.n == 0)
		return SHOP_ENOTFOUND;
	was_default = shop_row_int(&rows.row[0], 6) != 0;
	rc = shop_db_exec(db, SQL_ADDR_DELETE, "ii", c->id, c->user_id);
	if (rc < 0)
		return rc;
	if (was_default) {
		rc = shop_db_exec(db, SQL_ADDR_PROMOTE_NEWEST, "i", c->user_id);
		if (rc < 0)
			return rc;
	}
	return 0;
}

int idn_addr_delete(struct shop_db *db, struct shop_arena *a, long long user_id, long long id)
{
	struct addr_ctx c = { .a = a, .user_id = user_id, .id = id };

	return shop_db_tx(db, addr_delete_tx, &c);
}
