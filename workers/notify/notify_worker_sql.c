/* Every SQL statement of the notification worker (user shop_notify,
 * database shop_notify), prepared once per connection (lib/db.h).
 *
 * Outside shop_notify the user may only read (schema/grants.sql):
 * shop_identity.users (id, email, name) for the recipient, and
 * shop_orders.orders and order_items for the order number, lines and totals
 * of the mails. */
#include "lib/outbox.h"
#include "workers/notify/notify_worker.h"

/* A notification's delivery is a guarded state machine:
 *   PENDING ─(intent, attempts + 1)→ SENDING ─(outcome)→ SENT
 *                     ↑                       └─(known failure)→ PENDING (last_error)
 *                     └── redelivery of SENDING: sent or not, decided by the handler
 *   PENDING | SENDING ─(attempts used up, or a permanent refusal)→ FAILED */
const char *const nw_sql[NW_SQL_COUNT] = {
	[NW_SQL_CLAIM] = SHOP_INBOX_CLAIM_SQL,
	[NW_SQL_USER] =
		"SELECT email, name FROM shop_identity.users WHERE id = ?",
	[NW_SQL_ORDER] =
		"SELECT user_id, total_cents, currency FROM shop_orders.orders WHERE id = ?",
	/* order id, limit (NW_MAX_LINES) */
	[NW_SQL_ITEMS] =
		"SELECT name, quantity, unit_price_cents, line_total_cents"
		" FROM shop_orders.order_items WHERE order_id = ? ORDER BY line_no LIMIT ?",
	[NW_SQL_INSERT] =
		"INSERT INTO notifications (user_id, event_id, kind, channel, recipient, subject,"
		" status, attempts, created_at)"
		" VALUES (?, ?, ?, 'email', ?, ?, 'PENDING', 0, UTC_TIMESTAMP(3))",
	/* set in the creating transaction: it needs the row's id */
	[NW_SQL_MESSAGE_ID] =
		"UPDATE notifications SET message_id = ? WHERE id = ?",
	[NW_SQL_BY_EVENT] =
		"SELECT id, status, attempts, recipient, subject, message_id"
		" FROM notifications WHERE event_id = ?",
	/* the intent, committed before the send */
	[NW_SQL_SENDING] =
		"UPDATE notifications SET status = 'SENDING', attempts = attempts + 1"
		" WHERE id = ? AND status IN ('PENDING', 'SENDING')",
	/* the outcome, committed right after the send */
	[NW_SQL_SENT] =
		"UPDATE notifications SET status = 'SENT', sent_at = UTC_TIMESTAMP(3), last_error = NULL"
		" WHERE id = ? AND status IN ('PENDING', 'SENDING')",
	[NW_SQL_RETRY] =
		"UPDATE notifications SET status = 'PENDING', last_error = ?"
		" WHERE id = ? AND status = 'SENDING'",
	[NW_SQL_FAILED] =
		"UPDATE notifications SET status = 'FAILED', last_error = ?"
		" WHERE id = ? AND status IN ('PENDING', 'SENDING')",
};
