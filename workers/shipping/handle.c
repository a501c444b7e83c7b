/* The shipping worker's handler (shipping_worker.h).
 *
 * order.paid {order_id, user_id, ...}, in one transaction: claim the event
 * (consumer "shipping"; already claimed → nothing, ack), INSERT the PENDING
 * shipment and its PENDING history row. When the order has a shipment
 * already (order.paid of the same order under another event id), the
 * INSERT's duplicate key leaves it as it is and only the claim commits. A
 * payload without a positive order_id and user_id can never succeed: it is
 * dead-lettered (SHOP_EINVAL). */
#include <stdbool.h>
#include <string.h>

#include <json-c/json.h>

#include "lib/db.h"
#include "lib/err.h"
#include "lib/log.h"
#include "lib/outbox.h"
#include "workers/shipping/shipping_worker.h"

#define MAX_ID 9007199254740991LL  /* 2^53 - 1: ids stay exact in JSON */
#define DUPLICATE 1                /* the transaction's "already handled": rolled back, then acked */

struct create {
	const struct shop_event *ev;
	long long order_id, user_id;
	bool existed;              /* the order had a shipment already */
};

static bool get_id(json_object *obj, const char *key, long long *out)
{
	json_object *v;

	if (!json_object_object_get_ex(obj, key, &v) || !json_object_is_type(v, json_type_int))
		return false;
	*out = (long long)json_object_get_int64(v);
	return *out >= 1 && *out <= MAX_ID;
}

static int create_tx(struct shop_db *db, void *arg)
{
	struct create *c = arg;
	int rc;

	c->existed = false;
	rc = shop_inbox_claim(db, SW_SQL_CLAIM, SW_CONSUMER, c->ev->event_id);
	if (rc == SHOP_EDUP)
		return DUPLICATE;
	if (rc < 0)
		return rc;
	rc = shop_db_exec(db, SW_SQL_CREATE, "ii", c->order_id, c->user_id);
	if (rc == SHOP_EDUP) {
		c->existed = true;
		return 0;
	}
	if (rc < 0)
		return rc;
	rc = shop_db_exec(db, SW_SQL_EVENT, "i", c->order_id);
	if (rc < 0)
		return rc;
	return rc == 1 ? 0 : SHOP_EDB;
}

int sw_handle(struct shop_worker_ctx *w, const struct shop_event *ev)
{
	struct create c = { .ev = ev };
	int rc;

	if (strcmp(ev->event_type, "order.paid") != 0) {
		shop_log_error("event %s: unexpected type %s", ev->event_id, ev->event_type);
		return SHOP_EINVAL;
	}
	if (!get_id(ev->payload, "order_id", &c.order_id) ||
	    !get_id(ev->payload, "user_id", &c.user_id)) {
		shop_log_error("event %s (%s): payload needs order_id and user_id,"
		    " positive integers", ev->event_id, ev->event_type);
		return SHOP_EINVAL;
	}
	rc = shop_db_tx(w->db, create_tx, &c);
	if (rc == DUPLICATE) {
		shop_log_info("event %s (order %lld) already handled", ev->event_id, c.order_id);
		return 0;
	}
	if (rc < 0)
		return rc;
	if (c.existed)
		shop_log_warn("order %lld has a shipment already: event %s changed nothing",
		    c.order_id, ev->event_id);
	else
		shop_log_info("order %lld: shipment PENDING (event %s)", c.order_id, ev->event_id);
	return 0;
}
