/* Events out (outbox rows) and in (processed_events claims): see outbox.h. */
#include <stdio.h>
#include <string.h>

#include "lib/db.h"
#include "lib/err.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/outbox.h"
#include "lib/util.h"

void shop_event_id(char out[37])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char b[16];
	size_t o = 0;

	shop_random_bytes(b, sizeof(b));
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40); /* version 4 */
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80); /* variant 10 */
	for (size_t i = 0; i < sizeof(b); i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		out[o++] = hex[b[i] >> 4];
		out[o++] = hex[b[i] & 0x0f];
	}
	out[o] = '\0';
}

int shop_outbox_add(struct shop_db *db, unsigned stmt, const char *event_type,
    const char *aggregate_type, long long aggregate_id, json_object *payload,
    const char *request_id)
{
	char id[37];
	const char *text;
	size_t len;
	int rc;

	if (!event_type || !aggregate_type || !payload)
		return SHOP_EINVAL;
	shop_event_id(id);
	text = shop_json_text(payload, &len);
	if (!request_id)
		request_id = shop_log_request_id();
	if (request_id && !request_id[0])
		request_id = NULL;
	rc = shop_db_exec(db, stmt, "sssiss", id, event_type, aggregate_type, aggregate_id, text,
	    request_id);
	return rc < 0 ? rc : 0;
}

int shop_inbox_claim(struct shop_db *db, unsigned stmt, const char *consumer,
    const char *event_id)
{
	int rc;

	if (!consumer || !event_id || !event_id[0])
		return SHOP_EINVAL;
	rc = shop_db_exec(db, stmt, "ss", consumer, event_id);
	return rc < 0 ? rc : 0;
}
