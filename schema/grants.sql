-- Least privilege for the apps' database users.
--
-- ./shop creates every user named here ('shop_<app>'@'localhost', password
-- from var/secrets/db-<app>), revokes everything it had, then applies this
-- file as root, so this file is the whole truth about what each app may do.
-- It is applied again whenever it changes.
--
-- No user gets DDL (CREATE, ALTER, DROP, INDEX, REFERENCES, ...), GRANT
-- OPTION or any global privilege: migrations run as root (schema/<domain>/).
-- Users are 'localhost' only: the apps connect over the unix socket.

-- identity owns shop_identity (users, refresh tokens, addresses) and is its
-- only writer: it reads and writes its own rows.
GRANT SELECT, INSERT, UPDATE, DELETE ON shop_identity.* TO 'shop_identity'@'localhost';

-- auth verifies tokens without a database, then checks that the token's user
-- still exists and is not disabled (and reads its current roles): those three
-- columns of users are all it may see; no password hashes, no emails, no writes.
GRANT SELECT (id, roles, disabled_at) ON shop_identity.users TO 'shop_auth'@'localhost';

-- catalog owns shop_catalog (categories, products, stock, stock ledger) and
-- reads and writes its own rows.
GRANT SELECT, INSERT, UPDATE, DELETE ON shop_catalog.* TO 'shop_catalog'@'localhost';

-- cart owns shop_cart (carts, cart items): its own rows, and it reads the
-- products it adds to a cart (existence, price, active) from the catalog.
GRANT SELECT, INSERT, UPDATE, DELETE ON shop_cart.* TO 'shop_cart'@'localhost';
GRANT SELECT ON shop_catalog.products TO 'shop_cart'@'localhost';

-- orders (the app and the orders worker) owns shop_orders (orders, order
-- items, outbox, processed_events). Placing an order prices it from the
-- catalog, reserves stock in the same transaction (stock rows, a ledger entry
-- for each movement; never a product), empties the user's cart and copies the
-- shipping address. It may not touch anything else of those schemas.
GRANT SELECT, INSERT, UPDATE, DELETE ON shop_orders.* TO 'shop_orders'@'localhost';
GRANT SELECT ON shop_catalog.products TO 'shop_orders'@'localhost';
GRANT SELECT, UPDATE ON shop_catalog.stock TO 'shop_orders'@'localhost';
GRANT INSERT ON shop_catalog.stock_ledger TO 'shop_orders'@'localhost';
GRANT SELECT, DELETE ON shop_cart.cart_items TO 'shop_orders'@'localhost';
GRANT SELECT ON shop_identity.addresses TO 'shop_orders'@'localhost';

-- payments owns shop_payments (payments, outbox, processed_events) and reads
-- the order it is asked to pay (owner, status, total) from shop_orders.
GRANT SELECT, INSERT, UPDATE, DELETE ON shop_payments.* TO 'shop_payments'@'localhost';
GRANT SELECT ON shop_orders.orders TO 'shop_payments'@'localhost';

-- Refunds (POST /payments/{id}/refund, the refund webhook, order.refunded,
-- the restock) need nothing new: payments, the orders worker and the
-- inventory worker each write only their own schema with the grants above.

-- shipping (the app and the shipping worker) owns shop_shipping (shipments,
-- shipment events, outbox, processed_events). It reads the order it ships
-- (owner, status, items). The exception, like the stock reservation of
-- orders: API.md wants the order SHIPPED / DELIVERED once the ship / deliver
-- answer is sent, so the shipping app moves the order in the same transaction
-- as the shipment (and its outbox event), guarded in SQL
-- (WHERE status = 'PAID' for ship, 'SHIPPED' for deliver). It may change the
-- order's status and updated_at and nothing else: no other column, no other
-- table of shop_orders, no INSERT or DELETE there.
GRANT SELECT, INSERT, UPDATE, DELETE ON shop_shipping.* TO 'shop_shipping'@'localhost';
GRANT SELECT ON shop_orders.orders TO 'shop_shipping'@'localhost';
GRANT SELECT ON shop_orders.order_items TO 'shop_shipping'@'localhost';
GRANT UPDATE (status, updated_at) ON shop_orders.orders TO 'shop_shipping'@'localhost';

-- notify (the app and the notify worker) owns shop_notify (notifications,
-- processed_events). A mail needs its recipient: the user's id, email and
-- name, and no other column of users (no password hash, no roles); and the
-- order it tells about: number, lines, totals. Read only.
GRANT SELECT, INSERT, UPDATE, DELETE ON shop_notify.* TO 'shop_notify'@'localhost';
GRANT SELECT (id, email, name) ON shop_identity.users TO 'shop_notify'@'localhost';
GRANT SELECT ON shop_orders.orders TO 'shop_notify'@'localhost';
GRANT SELECT ON shop_orders.order_items TO 'shop_notify'@'localhost';

-- The outbox relay reads the outboxes of the domains that emit events and
-- marks a row sent: it may change sent_at and nothing else, and sees no
-- other table. (The inventory worker is the catalog domain's and runs as
-- shop_catalog, above; the shipping and notify workers run as their
-- domain's user; notify emits no events.)
GRANT SELECT, UPDATE (sent_at) ON shop_identity.outbox TO 'shop_relay'@'localhost';
GRANT SELECT, UPDATE (sent_at) ON shop_orders.outbox TO 'shop_relay'@'localhost';
GRANT SELECT, UPDATE (sent_at) ON shop_payments.outbox TO 'shop_relay'@'localhost';
GRANT SELECT, UPDATE (sent_at) ON shop_shipping.outbox TO 'shop_relay'@'localhost';
