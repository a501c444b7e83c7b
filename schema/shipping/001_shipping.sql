-- Shipping: one shipment per paid order, its status history, the outbox
-- (order.shipped, order.delivered) and the shipping worker's inbox.
-- Run in database shop_shipping. Idempotent: every statement may run again on
-- an up-to-date schema. Times are DATETIME(3) in UTC (the sessions run with
-- time_zone +00:00 and write UTC_TIMESTAMP(3) explicitly).

-- A shipment is created PENDING by the shipping worker when it consumes
-- order.paid (one per order: the primary key makes a redelivered event a
-- no-op), and moved SHIPPED → DELIVERED by an admin through the shipping app,
-- each in the same transaction as the order's own status (shop_orders.orders).
-- user_id is the order's owner, copied from the event: GET /shipments/{id}
-- answers the owner (or an ADMIN) without reading shop_orders.
CREATE TABLE IF NOT EXISTS shipments (
	order_id        BIGINT UNSIGNED NOT NULL,
	user_id         BIGINT UNSIGNED NOT NULL,
	status          ENUM('PENDING', 'SHIPPED', 'DELIVERED') NOT NULL DEFAULT 'PENDING',
	carrier         VARCHAR(64) NULL,
	tracking_number VARCHAR(64) NULL,
	created_at      DATETIME(3) NOT NULL,
	updated_at      DATETIME(3) NOT NULL,
	PRIMARY KEY (order_id),
	KEY ix_shipments_user (user_id, order_id),
	KEY ix_shipments_status (status, order_id),
	-- carrier and tracking number come together, with the shipping
	CONSTRAINT ck_shipments_shipped CHECK (status = 'PENDING' OR
	    (carrier IS NOT NULL AND tracking_number IS NOT NULL))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- The history of a shipment: one row per status it entered (events:[{status, at}]).
CREATE TABLE IF NOT EXISTS shipment_events (
	id       BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
	order_id BIGINT UNSIGNED NOT NULL,
	status   ENUM('PENDING', 'SHIPPED', 'DELIVERED') NOT NULL,
	at       DATETIME(3) NOT NULL,
	PRIMARY KEY (id),
	KEY ix_shipment_events_order (order_id, id),
	CONSTRAINT fk_shipment_events_shipment FOREIGN KEY (order_id)
	    REFERENCES shipments (order_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Events out (lib/outbox.h): order.shipped, order.delivered.
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

-- The shipping worker's inbox (lib/outbox.h): events it has handled.
CREATE TABLE IF NOT EXISTS processed_events (
	consumer     VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
	event_id     CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
	processed_at DATETIME(3) NOT NULL,
	PRIMARY KEY (consumer, event_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
