/* GET /api/v1/notifications: the calling user's own notifications, newest
 * first, keyset-paginated on id (cursor sort "id"), each
 * {id, kind, channel, subject, status, created_at, sent_at}. The request
 * layer has checked that there is a user and validated limit and cursor's
 * length; a cursor that does not decode is 400 INVALID_QUERY. */
#include <limits.h>

#include <json-c/json.h>

#include "fcgi-apps/notify/notify.h"
#include "lib/auth.h"
#include "lib/cursor.h"
#include "lib/db.h"
#include "lib/err.h"
#include "lib/json.h"
#include "lib/req.h"

static json_object *col_json(const struct shop_row *row, unsigned i)
{
	if (shop_row_null(row, i))
		return NULL;
	return shop_json_strn(row->col[i], row->len[i]);
}

static json_object *item_json(const struct shop_row *row)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "id", shop_json_int(shop_row_int(row, NC_ID)));
	json_object_object_add(o, "kind", col_json(row, NC_KIND));
	json_object_object_add(o, "channel", col_json(row, NC_CHANNEL));
	json_object_object_add(o, "subject", col_json(row, NC_SUBJECT));
	json_object_object_add(o, "status", col_json(row, NC_STATUS));
	json_object_object_add(o, "created_at", col_json(row, NC_CREATED));
	json_object_object_add(o, "sent_at", col_json(row, NC_SENT));
	return o;
}

void h_notifications_list(struct shop_req *r)
{
	long long limit = NTF_DEFAULT_LIMIT, before = LLONG_MAX, value;
	const char *cursor;
	struct shop_rows rows;
	json_object *items;
	char next[SHOP_CURSOR_MAX];
	size_t shown;
	int rc;

	shop_req_qint(r, "limit", &limit);
	if (shop_req_qstr(r, "cursor", &cursor) &&
	    (shop_cursor_decode(cursor, "id", &value, &before) != 0 || value != before)) {
		shop_res_error(r, 400, "Invalid query", "INVALID_QUERY", "cursor", "malformed cursor");
		return;
	}
	rc = shop_db_query(r->db, r->arena, &rows, SQL_LIST_USER, "iii", r->auth.user_id, before,
	    limit + 1);
	if (rc < 0) {
		shop_res_fail(r, rc);
		return;
	}
	shown = rows.n > (size_t)limit ? (size_t)limit : rows.n;
	items = json_object_new_array();
	for (size_t i = 0; i < shown; i++)
		json_object_array_add(items, item_json(&rows.row[i]));
	if (rows.n > shown) {
		long long last = shop_row_int(&rows.row[shown - 1], NC_ID);

		if (shop_cursor_encode(next, "id", last, last) != 0) {
			json_object_put(items);
			shop_res_fail(r, SHOP_EINVAL);
			return;
		}
		shop_res_ok(r, 200, "Notifications", shop_json_list(items, next));
		return;
	}
	shop_res_ok(r, 200, "Notifications", shop_json_list(items, NULL));
}
