/* The shop's RabbitMQ topology: every consumer queue and the routing keys it
 * is bound to, as docs/events.md lists them. Every worker declares the whole
 * table at start (shop_amqp_declare_topology), and so does
 * `shop-outbox-relay -T`, which ./shop up runs. A new consumer queue is one
 * more line in lib/topology.c and one more row in docs/events.md. */
#ifndef SHOP_TOPOLOGY_H
#define SHOP_TOPOLOGY_H

#include <stddef.h>

#include "lib/amqp.h"

extern const struct shop_amqp_queue shop_topology[];
extern const size_t shop_ntopology;

#endif
