/* RabbitMQ over rabbitmq-c 0.11: one connection and one channel per handle
 * (never shared between threads), publishing with confirms and mandatory,
 * consuming with manual acks and a bounded prefetch, and the shop's topology.
 *
 * Topology (declared by shop_amqp_declare_topology, idempotent):
 *   exchange "shop.events"   topic, durable, alternate-exchange "shop.unrouted"
 *   exchange "shop.unrouted" fanout, durable → queue "shop.unrouted" (classic,
 *                            durable, x-max-length 100000): events no queue wants
 *                            yet, visible to operators
 *   exchange "shop.dlx"      direct, durable: dead letters
 *   for each consumer queue Q with its routing keys (docs/events.md):
 *     Q          quorum, durable, x-dead-letter-exchange "shop.dlx",
 *                x-dead-letter-routing-key "Q.dlq", bound to shop.events per key
 *     Q.retry    quorum, durable, x-dead-letter-exchange "" (default),
 *                x-dead-letter-routing-key Q: a message published here with a
 *                per-message expiration returns to Q when it expires (back-off)
 *     Q.dlq      quorum, durable, bound to shop.dlx with key "Q.dlq"
 * Messages: persistent, content_type application/json, message_id = event_id,
 * headers event_id, event_type, request_id, occurred_at (strings) and
 * x-attempt (int, retries only). */
#ifndef SHOP_AMQP_H
#define SHOP_AMQP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct shop_conf;

struct shop_amqp_conf {
	const char *host;
	unsigned port;
	const char *vhost;
	const char *user;
	const char *password;
	unsigned heartbeat;       /* seconds; 0 off (default 30) */
	unsigned timeout_ms;      /* connect and RPC timeout (default 5000) */
};

/* Fills c from the [amqp] section (strings belong to conf). */
void shop_amqp_conf_from(struct shop_amqp_conf *c, const struct shop_conf *conf);

struct shop_amqp;

/* Connects, logs in, opens channel 1. Returns 0 with *out (caller frees with
 * shop_amqp_close) or SHOP_EUNAVAIL (broker down, refused, bad login). */
int shop_amqp_connect(struct shop_amqp **out, const struct shop_amqp_conf *c);
/* Closes politely if still open and frees. NULL is fine. */
void shop_amqp_close(struct shop_amqp *a);

/* One consumer queue of the topology. */
struct shop_amqp_queue {
	const char *name;                 /* "inventory.settlement" */
	const char *const *routing_keys;  /* NULL-terminated */
};
/* Declares the topology above for the given queues. Returns 0 or SHOP_EUNAVAIL. */
int shop_amqp_declare_topology(struct shop_amqp *a, const struct shop_amqp_queue *queues, size_t n);

struct shop_amqp_msg {
	const char *exchange;             /* "shop.events"; "" = default exchange */
	const char *routing_key;
	const char *body;
	size_t len;
	const char *event_id;
	const char *event_type;
	const char *request_id;           /* may be NULL */
	const char *occurred_at;          /* RFC 3339 */
	unsigned attempt;                 /* > 0: header x-attempt */
	unsigned expiration_ms;           /* > 0: per-message TTL (retry queues) */
};

/* Puts the channel in confirm mode (once per handle). Returns 0 or SHOP_EUNAVAIL. */
int shop_amqp_confirm_select(struct shop_amqp *a);
/* Publishes msgs[0..n) in order, persistent and mandatory, then waits up to
 * timeout_ms for every confirm. ok[i] is true only when message i was acked
 * by the broker and not returned (basic.return = unroutable = not ok).
 * Returns 0 when every message is ok, SHOP_ECONFLICT when some were nacked or
 * returned (see ok[]), SHOP_EUNAVAIL when the connection failed or timed out
 * (the handle is then dead: close it and reconnect). */
int shop_amqp_publish(struct shop_amqp *a, const struct shop_amqp_msg *msgs, size_t n,
    bool *ok, int timeout_ms);

/* Starts consuming queue with manual acks and basic.qos prefetch. */
int shop_amqp_consume(struct shop_amqp *a, const char *queue, unsigned prefetch);

struct shop_amqp_delivery {
	uint64_t tag;
	bool redelivered;
	char routing_key[128];
	char event_id[64];
	char event_type[64];
	char request_id[65];
	char occurred_at[40];
	unsigned attempt;                 /* x-attempt header, 0 when absent */
	char *body;                       /* malloc'd, NUL-terminated; freed by shop_amqp_delivery_free */
	size_t len;
};

/* Waits up to timeout_ms for the next delivery. Returns 0 with *d filled,
 * 1 on timeout (heartbeats are serviced meanwhile), SHOP_EUNAVAIL when the
 * connection or channel died. */
int shop_amqp_next(struct shop_amqp *a, struct shop_amqp_delivery *d, int timeout_ms);
void shop_amqp_delivery_free(struct shop_amqp_delivery *d);
int shop_amqp_ack(struct shop_amqp *a, uint64_t tag);
/* requeue false: dead-letters the message (to Q.dlq). */
int shop_amqp_nack(struct shop_amqp *a, uint64_t tag, bool requeue);

#endif
