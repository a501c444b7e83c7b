/* Every SQL statement of the notify app (user shop_notify, database
 * shop_notify), prepared once per connection (lib/db.h). */
#include "fcgi-apps/notify/notify.h"

#define RFC3339(col) "DATE_FORMAT(" col ", '%Y-%m-%dT%H:%i:%sZ')"

const char *const notify_sql[SQL_COUNT] = {
	/* user_id, the last id seen (first page: 2^63 - 1), limit → enum ntf_col,
	 * newest first (ix_notifications_user). The API knows PENDING, SENT and
	 * FAILED: SENDING (a send started whose outcome is not recorded yet) is
	 * still PENDING for the user. */
	[SQL_LIST_USER] =
		"SELECT id, kind, channel, subject,"
		" IF(status = 'SENDING', 'PENDING', status), "
		RFC3339("created_at") ", " RFC3339("sent_at")
		" FROM notifications WHERE user_id = ? AND id < ? ORDER BY id DESC LIMIT ?",
};
