/* The notify app (shop-notify): a user's notifications, in the database
 * shop_notify, written by the notification worker (workers/notify).
 *
 *   routes.c     the route table and the fields each route accepts
 *   handlers.c   GET /api/v1/notifications
 *   notify_sql.c every SQL statement
 *   main.c       the app description */
#ifndef SHOP_NOTIFY_H
#define SHOP_NOTIFY_H

#include <stddef.h>

#include "lib/router.h"

#define NTF_DEFAULT_LIMIT 20

/* The statements, indexes into notify_sql[]. */
enum ntf_stmt {
	SQL_LIST_USER,
	SQL_COUNT
};

/* Columns of SQL_LIST_USER, in this order. */
enum ntf_col {
	NC_ID,
	NC_KIND,
	NC_CHANNEL,
	NC_SUBJECT,
	NC_STATUS,
	NC_CREATED,
	NC_SENT,
	NC_NCOLS
};

extern const char *const notify_sql[SQL_COUNT];

extern const struct shop_route notify_routes[];
extern const size_t notify_nroutes;

struct shop_req;

void h_notifications_list(struct shop_req *r);

#endif
