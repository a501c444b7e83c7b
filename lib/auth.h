/* The auth context nginx hands over: after auth_request succeeds, nginx sets
 * the FastCGI params SHOP_USER_ID and SHOP_USER_ROLES from the auth app's
 * answer, overwriting anything a client sent (clients can only reach HTTP_*
 * params). Apps trust these params and never parse tokens themselves. */
#ifndef SHOP_AUTH_H
#define SHOP_AUTH_H

#include <stdbool.h>
#include <stddef.h>

#define SHOP_ROLE_CUSTOMER 0x1u
#define SHOP_ROLE_SELLER 0x2u
#define SHOP_ROLE_ADMIN 0x4u
#define SHOP_ROLE_ALL (SHOP_ROLE_CUSTOMER | SHOP_ROLE_SELLER | SHOP_ROLE_ADMIN)

struct shop_auth {
	long long user_id; /* 0: anonymous */
	unsigned roles;    /* SHOP_ROLE_* bits */
};

/* Parses "CUSTOMER,SELLER" (comma-separated, no blanks, known names, no
 * repeats) into bits. Returns 0 or SHOP_EINVAL. */
int shop_roles_parse(const char *s, size_t n, unsigned *roles);
/* Writes "CUSTOMER,SELLER" (canonical order) into out. Returns the length. */
size_t shop_roles_format(char *out, size_t outsz, unsigned roles);
/* The role name of a single bit ("ADMIN"), or NULL. */
const char *shop_role_name(unsigned bit);

/* Fills a from the two params (either may be NULL). A malformed pair yields
 * the anonymous context and SHOP_EINVAL. */
int shop_auth_from_params(struct shop_auth *a, const char *user_id, const char *roles);

static inline bool shop_auth_has(const struct shop_auth *a, unsigned role)
{
	return (a->roles & role) != 0;
}

/* The object rule of API.md: its owner (a signed-in user whose id is
 * owner_id) or an ADMIN may see or change it. Anonymous never owns. */
static inline bool shop_auth_owner_or_admin(const struct shop_auth *a, long long owner_id)
{
	if (shop_auth_has(a, SHOP_ROLE_ADMIN))
		return true;
	return a->user_id > 0 && a->user_id == owner_id;
}

#endif
