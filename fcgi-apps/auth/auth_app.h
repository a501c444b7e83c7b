/* shop-auth: answers nginx's auth subrequest (docs/runtime.md "The auth
 * subrequest") and GET /healthz.
 *
 *   rules.c     which level a method + URI needs
 *   cache.c     verified tokens and user status, per process
 *   check.c     the decision for one subrequest
 *   auth_sql.c  the one statement: a user's roles and disabled flag
 *   health.c    /healthz: every pool's /_ping and the database
 *   main.c      configuration, the raw handler */
#ifndef SHOP_AUTH_APP_H
#define SHOP_AUTH_APP_H

#include <stddef.h>

#include "fcgi-apps/auth/cache.h"

struct shop_arena;
struct shop_db;
struct shop_jwt_keys;
struct shop_req;

#define AUTH_USER_TTL_MAX 30 /* seconds: a disabled user's tokens die within 2x this */

struct auth_pool {
	char *name;
	char *socket;
};

struct auth_ctx {
	struct shop_jwt_keys *keys;
	struct auth_tcache *tokens;
	struct auth_ucache *users;
	double user_ttl_ms;          /* a user's status is refetched after this */
	struct auth_pool *pools;     /* [auth] health_sockets */
	size_t npools;
	char *metrics_dir;           /* [shop] metrics_dir, NULL: none */
	char *nginx_status_socket;   /* [auth] nginx_status_socket, NULL: none */
};

/* The answer to one subrequest. */
struct auth_verdict {
	int status;                  /* 200, 401 or 403 */
	const char *error;           /* X-Shop-Auth-Error (static), NULL on 200 */
	long long user_id;           /* 0: anonymous */
	unsigned roles;              /* effective roles: the token's that the user still has */
	long long exp;               /* the token's expiry (unix s) when user_id > 0 */
};

/* Decides method + uri with the Authorization header value authz (NULL when
 * absent). db is used only when the user's status is not cached; a is
 * scratch memory for the query. Never fails: the verdict says it all. */
void auth_decide(struct auth_ctx *ctx, struct shop_db *db, struct shop_arena *a,
    const char *method, const char *uri, const char *authz, struct auth_verdict *v);

enum auth_sql { AUTH_SQL_USER, AUTH_SQL_COUNT };
extern const char *const auth_sql[AUTH_SQL_COUNT];

/* Reads user id's status. Returns 0 (absent users included) or a failure code. */
int auth_user_fetch(struct shop_db *db, struct shop_arena *a, long long id, struct auth_user *u);

/* Parses "name:/path name:/path" into ctx->pools. Returns 0 or SHOP_EINVAL. */
int auth_health_parse(struct auth_ctx *ctx, const char *spec);
/* Answers GET /healthz. */
void auth_health(struct shop_req *r, struct auth_ctx *ctx);

/* Answers GET /metrics (metrics.c). */
void auth_metrics(struct shop_req *r, struct auth_ctx *ctx);
/* Reads nginx's stub_status page s into active, accepted, handled,
 * requests, reading, writing, waiting. Returns 0, or -1 when s is not one. */
int auth_nginx_status_parse(const char *s, unsigned long long v[7]);

#endif
