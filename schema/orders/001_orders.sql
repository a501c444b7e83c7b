-- Orders: orders and their lines, the outbox (lib/outbox.h), the
-- idempotency keys of POST /orders (lib/idem.h) and the order worker's inbox.
-- Run as root after `USE shop_orders`; idempotent.
-- Times are DATETIME(3) in UTC (the apps' sessions run with time_zone +00:00
-- and write UTC_TIMESTAMP(3) explicitly). Money is BIGINT cents + CHAR(3).

CREATE TABLE IF NOT EXISTS orders (
	id               BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
	user_id          BIGINT UNSIGNED NOT NULL,
	status           ENUM('PENDING_PAYMENT', 'PAID', 'SHIPPED', 'DELIVERED', 'CANCELLED',
	                      'EXPIRED', 'REFUNDED') NOT NULL,
	total_cents      BIGINT NOT NULL,
	currency         CHAR(3) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
	-- a snapshot of the address at ordering time (JSON object), NULL: pick-up
	shipping_address TEXT NULL,
	-- the payment that paid it (set by the order worker on payment.succeeded)
	payment_id       BIGINT UNSIGNED NULL,
	created_at       DATETIME(3) NOT NULL,
	updated_at       DATETIME(3) NOT NULL,
	expires_at       DATETIME(3) NOT NULL,
	PRIMARY KEY (id),
	-- GET /orders: a user's orders, newest first (keyset on id)
	KEY ix_orders_user (user_id, id),
	-- GET /orders?status= (and /admin/orders?user=&status=)
	KEY ix_orders_user_status (user_id, status, id),
	-- the order worker's expiry sweep
	KEY ix_orders_status_expiry (status, expires_at),
	-- GET /admin/orders?status=, newest first
	KEY ix_orders_status_id (status, id),
	CONSTRAINT ck_orders_total CHECK (total_cents >= 0),
	CONSTRAINT ck_orders_address CHECK (shipping_address IS NULL OR JSON_VALID(shipping_address))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- The lines, with the product's sku, name and price copied at ordering time.
CREATE TABLE IF NOT EXISTS order_items (
	order_id         BIGINT UNSIGNED NOT NULL,
	line_no          SMALLINT UNSIGNED NOT NULL,
	product_id       BIGINT UNSIGNED NOT NULL,
	sku              VARCHAR(64) CHARACTER SET ascii COLLATE ascii_general_ci NOT NULL,
	name             VARCHAR(200) NOT NULL,
	quantity         INT UNSIGNED NOT NULL,
	unit_price_cents BIGINT NOT NULL,
	line_total_cents BIGINT NOT NULL,
	PRIMARY KEY (order_id, line_no),
	UNIQUE KEY uq_order_items_product (order_id, product_id),
	CONSTRAINT fk_order_items_order FOREIGN KEY (order_id) REFERENCES orders (id),
	CONSTRAINT ck_order_items_quantity CHECK (quantity BETWEEN 1 AND 1000)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Events out (lib/outbox.h): order.placed, order.cancelled, order.paid, order.expired.
CREATE TABLE IF NOT EXISTS outbox (
	id             BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
	event_id       CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
	event_type     VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
	aggregate_type VARCHAR(32) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
	aggregate_id   BIGINT NOT NULL,
	payload        MEDIUMTEXT NOT NULL,
	request_id     VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NULL,
	occurred_at    DATETIME(3) NOT NULL,
	sent_at        DATETIME(3) NULL,
	PRIMARY KEY (id),
	UNIQUE KEY uq_outbox_event (event_id),
	KEY ix_outbox_unsent (sent_at, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Idempotency keys of POST /orders (lib/idem.h): the first answer to a key,
-- replayed for 24 h.
CREATE TABLE IF NOT EXISTS idempotency_keys (
	user_id      BIGINT NOT NULL,
	idem_key     VARCHAR(255) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
	request_hash BINARY(32) NOT NULL,
	status       SMALLINT NOT NULL,
	response     MEDIUMTEXT NOT NULL,
	created_at   DATETIME(3) NOT NULL,
	PRIMARY KEY (user_id, idem_key),
	KEY ix_idempotency_created (created_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- The order worker's inbox (lib/outbox.h): events it has handled.
CREATE TABLE IF NOT EXISTS processed_events (
	consumer     VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
	event_id     CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
	processed_at DATETIME(3) NOT NULL,
	PRIMARY KEY (consumer, event_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
