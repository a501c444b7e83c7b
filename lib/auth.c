/* Roles and the auth context nginx hands over. */
#include <string.h>

#include "lib/auth.h"
#include "lib/err.h"
#include "lib/util.h"

#define MAX_ID 9007199254740991LL

static const struct {
	unsigned bit;
	const char *name;
} roles_tab[] = {
	{ SHOP_ROLE_CUSTOMER, "CUSTOMER" },
	{ SHOP_ROLE_SELLER, "SELLER" },
	{ SHOP_ROLE_ADMIN, "ADMIN" },
};

const char *shop_role_name(unsigned bit)
{
	size_t i;

	for (i = 0; i < SHOP_ARRAY_LEN(roles_tab); i++)
		if (roles_tab[i].bit == bit)
			return roles_tab[i].name;
	return NULL;
}

/* An empty string is refused: every user has at least one role. */
int shop_roles_parse(const char *s, size_t n, unsigned *roles)
{
	unsigned r = 0;
	size_t start = 0, i;

	*roles = 0;
	if (!s || n == 0)
		return SHOP_EINVAL;
	while (start <= n) {
		const char *tok = s + start;
		const char *comma = memchr(tok, ',', n - start);
		size_t len = comma ? (size_t)(comma - tok) : n - start;
		unsigned bit = 0;

		for (i = 0; i < SHOP_ARRAY_LEN(roles_tab); i++) {
			if (strlen(roles_tab[i].name) == len && !memcmp(roles_tab[i].name, tok, len)) {
				bit = roles_tab[i].bit;
				break;
			}
		}
		if (!bit || (r & bit))
			return SHOP_EINVAL;
		r |= bit;
		start += len + 1;
		if (!comma)
			break;
	}
	*roles = r;
	return 0;
}

/* Unknown bits are ignored. The result is cut when outsz is too small
 * (only whole names are written); the return value is the length written. */
size_t shop_roles_format(char *out, size_t outsz, unsigned roles)
{
	size_t len = 0, i;

	if (outsz == 0)
		return 0;
	out[0] = '\0';
	for (i = 0; i < SHOP_ARRAY_LEN(roles_tab); i++) {
		size_t nl = strlen(roles_tab[i].name), sep = len ? 1 : 0;

		if (!(roles & roles_tab[i].bit))
			continue;
		if (len + sep + nl + 1 > outsz)
			break;
		if (sep)
			out[len++] = ',';
		memcpy(out + len, roles_tab[i].name, nl + 1);
		len += nl;
	}
	return len;
}

/* Both NULL (or both empty): anonymous, 0. A user id (1 .. 2^53 - 1) needs
 * valid roles and roles need a user id; anything else is SHOP_EINVAL with
 * the anonymous context. */
int shop_auth_from_params(struct shop_auth *a, const char *user_id, const char *roles)
{
	long long id;
	unsigned r;

	a->user_id = 0;
	a->roles = 0;
	if (user_id && !*user_id)
		user_id = NULL;
	if (roles && !*roles)
		roles = NULL;
	if (!user_id && !roles)
		return 0;
	if (!user_id || !roles)
		return SHOP_EINVAL;
	if (shop_parse_int(user_id, strlen(user_id), 1, MAX_ID, &id) < 0)
		return SHOP_EINVAL;
	if (shop_roles_parse(roles, strlen(roles), &r) < 0)
		return SHOP_EINVAL;
	a->user_id = id;
	a->roles = r;
	return 0;
}
