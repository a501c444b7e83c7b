/* The auth app's only statement: what it needs to know about a token's user.
 * Its database user may read shop_identity.users (id, roles, disabled_at). */
#include <string.h>

#include "fcgi-apps/auth/auth_app.h"
#include "lib/auth.h"
#include "lib/db.h"

const char *const auth_sql[AUTH_SQL_COUNT] = {
	[AUTH_SQL_USER] = "SELECT roles, disabled_at IS NOT NULL FROM users WHERE id = ?",
};

int auth_user_fetch(struct shop_db *db, struct shop_arena *a, long long id, struct auth_user *u)
{
	struct shop_rows rows;
	const char *roles;
	int rc = shop_db_query(db, a, &rows, AUTH_SQL_USER, "i", id);

	if (rc)
		return rc;
	u->roles = 0;
	if (rows.n == 0) {
		u->state = AUTH_U_ABSENT;
		return 0;
	}
	roles = shop_row_str(&rows.row[0], 0);
	if (roles && roles[0] && shop_roles_parse(roles, strlen(roles), &u->roles) != 0)
		u->roles = 0;
	u->state = shop_row_int(&rows.row[0], 1) ? AUTH_U_DISABLED : AUTH_U_ACTIVE;
	return 0;
}
