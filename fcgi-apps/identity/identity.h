/* The identity app (shop-identity): users, passwords, tokens, addresses.
 *
 *   routes.c        the route table and the fields each route accepts
 *   handlers.c      the handlers: HTTP in, envelope out
 *   identity_sql.c  the statements and the functions that run them
 *   main.c          configuration, keys, the app description */
#ifndef SHOP_IDENTITY_H
#define SHOP_IDENTITY_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/password.h"
#include "lib/router.h"

struct shop_arena;
struct shop_db;
struct shop_jwt_keys;

#define IDN_MAX_ADDRESSES 20     /* per user; one more → 409 ADDRESS_LIMIT_REACHED */
#define IDN_REFRESH_BYTES 32     /* random bytes in a refresh token */
#define IDN_REFRESH_MAX 64       /* its base64url text, with the NUL */
#define IDN_FAMILY_BYTES 16      /* random id shared by a refresh token family */

/* Per-process state, built once by idn_init. */
struct idn_ctx {
	struct shop_jwt_keys *keys;
	long long access_ttl;        /* [jwt] access_ttl, seconds */
	long long refresh_ttl;       /* [identity] refresh_ttl, seconds */
	unsigned long long pw_ops;   /* [identity] pwhash_ops */
	size_t pw_mem;               /* [identity] pwhash_mem */
	char dummy_hash[SHOP_PWHASH_MAX]; /* verified for unknown emails (timing) */
	char *jwks;                  /* the JWK Set, serialized once */
	size_t jwks_len;
};

/* The statements, indexed by this enum (identity_sql.c). */
enum idn_sql {
	SQL_USER_INSERT,
	SQL_USER_BY_ID,
	SQL_USER_BY_EMAIL,
	SQL_USER_UPDATE_PROFILE,
	SQL_USER_SET_ROLES,
	SQL_USER_DISABLE,
	SQL_USER_LOCK,
	SQL_USER_LIST,
	SQL_USER_LIST_EMAIL,
	SQL_RT_INSERT,
	SQL_RT_LOCK,
	SQL_RT_MARK_USED,
	SQL_RT_REVOKE_FAMILY,
	SQL_RT_REVOKE_USER,
	SQL_RT_FAMILY_OF,
	SQL_RT_PURGE_USER,
	SQL_ADDR_LIST,
	SQL_ADDR_COUNT,
	SQL_ADDR_CLEAR_DEFAULT,
	SQL_ADDR_INSERT,
	SQL_ADDR_GET,
	SQL_ADDR_DELETE,
	SQL_ADDR_PROMOTE_NEWEST,
	SQL_OUTBOX_ADD,
	IDN_SQL_COUNT
};

extern const char *const identity_sql[IDN_SQL_COUNT];
extern const struct shop_route identity_routes[];
extern const size_t identity_nroutes;

/* A user as the API shows it; strings live in the request arena. */
struct idn_user {
	long long id;
	const char *email, *name, *phone;   /* phone may be NULL */
	unsigned roles;                     /* SHOP_ROLE_* */
	const char *created_at;             /* RFC 3339 */
	const char *disabled_at;            /* RFC 3339 or NULL */
};

struct idn_addr {
	long long id;
	const char *line1, *line2;          /* line2 may be NULL */
	const char *city, *postal_code, *country;
	bool is_default;
};

/* Users. Each returns 0 or a negative SHOP_E* code; SHOP_ENOTFOUND when the
 * user does not exist. */
int idn_user_insert(struct shop_db *db, const char *email, const char *hash, const char *name,
    long long *id);  /* with its user.registered event, in one transaction; SHOP_EDUP: email taken */
int idn_user_get(struct shop_db *db, struct shop_arena *a, long long id, struct idn_user *u);
/* The user with that (lower-cased) email and its password hash. */
int idn_user_by_email(struct shop_db *db, struct shop_arena *a, const char *email,
    struct idn_user *u, const char **hash);
/* Sets name when set_name, phone (NULL clears it) when set_phone. */
int idn_user_update_profile(struct shop_db *db, long long id, bool set_name, const char *name,
    bool set_phone, const char *phone);
int idn_user_set_roles(struct shop_db *db, long long id, unsigned roles);
/* Sets disabled_at (kept when already set) and revokes every refresh family. */
int idn_user_disable(struct shop_db *db, long long id);
/* Users with id < before (0: from the newest), newest first, at most max;
 * email and role (a role name) filter when not NULL. *out in the arena. */
int idn_user_list(struct shop_db *db, struct shop_arena *a, const char *email, const char *role,
    long long before, unsigned max, struct idn_user **out, size_t *n);

/* Refresh tokens. */
enum idn_refresh_outcome {
	IDN_REFRESH_OK,
	IDN_REFRESH_INVALID,   /* unknown, expired, revoked, or the user is disabled */
	IDN_REFRESH_REUSED,    /* already used: the family is now revoked */
};
/* Makes a token for user_id in family (NULL: a new family), valid ttl seconds.
 * token gets the text to hand to the client. */
int idn_refresh_issue(struct shop_db *db, long long user_id, const unsigned char *family,
    long long ttl, char token[IDN_REFRESH_MAX]);
/* Spends token in one transaction: on IDN_REFRESH_OK, *u is the user and
 * next holds the token that replaces it (same family). */
int idn_refresh_rotate(struct shop_db *db, struct shop_arena *a, const char *token, long long ttl,
    enum idn_refresh_outcome *outcome, struct idn_user *u, char next[IDN_REFRESH_MAX]);
/* Revokes the family of token. 0 also when the token is unknown. */
int idn_refresh_revoke(struct shop_db *db, struct shop_arena *a, const char *token);
/* Deletes the user's expired refresh tokens (housekeeping at login). */
int idn_refresh_purge(struct shop_db *db, long long user_id);

/* Addresses of one user, oldest first. */
int idn_addr_list(struct shop_db *db, struct shop_arena *a, long long user_id,
    struct idn_addr **out, size_t *n);
/* Adds *in (in->is_default asks for the default; the first address always
 * becomes it) and fills *out. SHOP_ECONFLICT: IDN_MAX_ADDRESSES reached;
 * SHOP_ENOTFOUND: no such user. */
int idn_addr_create(struct shop_db *db, struct shop_arena *a, long long user_id,
    const struct idn_addr *in, struct idn_addr *out);
/* Deletes the user's address id; when it was the default, the newest other
 * address becomes the default. SHOP_ENOTFOUND: not this user's address. */
int idn_addr_delete(struct shop_db *db, struct shop_arena *a, long long user_id, long long id);

/* Handlers (handlers.c). */
void h_register(struct shop_req *r);
void h_login(struct shop_req *r);
void h_refresh(struct shop_req *r);
void h_logout(struct shop_req *r);
void h_jwks(struct shop_req *r);
void h_me_get(struct shop_req *r);
void h_me_put(struct shop_req *r);
void h_addr_list(struct shop_req *r);
void h_addr_create(struct shop_req *r);
void h_addr_delete(struct shop_req *r);
void h_admin_users(struct shop_req *r);
void h_admin_roles(struct shop_req *r);
void h_admin_disable(struct shop_req *r);

#endif
