/* The notify app's routes and the fields each one accepts. The request
 * layer checks access and validates the query before a handler runs;
 * anything undeclared is refused (INVALID_QUERY). */
#include "fcgi-apps/notify/notify.h"
#include "lib/cursor.h"
#include "lib/router.h"
#include "lib/util.h"
#include "lib/validate.h"

static const struct shop_field q_list[] = {
	{ .name = "limit", .type = SHOP_T_INT, .min = 1, .max = 100 },
	{ .name = "cursor", .type = SHOP_T_STRING, .min = 1, .max = SHOP_CURSOR_MAX - 1 },
	{ .name = NULL },
};

/* One route per line: tests/docs grep these lines. */
const struct shop_route notify_routes[] = {
	{"GET", "/api/v1/notifications", h_notifications_list, SHOP_ACCESS_USER, NULL, q_list},
};

const size_t notify_nroutes = SHOP_ARRAY_LEN(notify_routes);
