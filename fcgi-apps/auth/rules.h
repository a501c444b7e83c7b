/* The auth app's route rules: which level of authentication a request needs,
 * decided from the original method and URI alone (data-independent rules;
 * owner-only checks stay in the domain apps). */
#ifndef SHOP_AUTH_RULES_H
#define SHOP_AUTH_RULES_H

enum auth_level {
	AUTH_NONE,    /* token ignored: login/refresh/webhook/JWKS must work with a stale header */
	AUTH_PUBLIC,  /* anonymous allowed; a presented token must still be valid */
	AUTH_USER,    /* any authenticated user */
	AUTH_SELLER,  /* SELLER or ADMIN */
	AUTH_ADMIN,   /* ADMIN */
};

/* The level method + uri needs. uri is the original request's path, either
 * nginx's normalized $uri or the raw $request_uri (whose query string is
 * ignored); a path that nginx would rewrite before routing
 * (percent-escapes, dot segments, repeated slashes) is normalized the same way
 * and then needs at least AUTH_USER; a path that cannot be normalized (bad
 * escape, %00, ".." above the root, not starting with '/', too long) needs
 * AUTH_ADMIN. Never fails; NULL arguments give AUTH_ADMIN. */
enum auth_level auth_rule(const char *method, const char *uri);

/* "NONE", "PUBLIC", "USER", "SELLER", "ADMIN". */
const char *auth_level_name(enum auth_level l);

#endif
