-- Payments: payments, verified provider webhooks, the outbox, idempotency keys.
-- Run in database shop_payments. Idempotent: every statement may run again on
-- an up-to-date schema. Times are DATETIME(3) in UTC (the app's sessions run
-- with time_zone +00:00 and write UTC_TIMESTAMP(3) explicitly).

-- One row per payment attempt. Amount and currency are copied from the order
-- (shop_orders.orders) when the payment is created, never taken from a client.
-- active_order_id is the order's id while the payment is live (PROCESSING or
-- SUCCEEDED) and NULL otherwise; computed by the server from status, so it can
-- never disagree with it. Its unique key makes a second live payment for one
-- order impossible, also between concurrent requests (the second INSERT fails
-- with a duplicate key), while failed attempts may be followed by new ones.
CREATE TABLE IF NOT EXISTS payments (
	id              BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
	order_id        BIGINT UNSIGNED NOT NULL,
	user_id         BIGINT UNSIGNED NOT NULL,
	amount_cents    BIGINT NOT NULL,
	currency        CHAR(3) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
	status          ENUM('PROCESSING', 'SUCCEEDED', 'FAILED', 'REFUNDED') NOT NULL
	                DEFAULT 'PROCESSING',
	provider        VARCHAR(32) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
	provider_ref    VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NULL,
	payment_method  VARCHAR(64) NOT NULL,
	active_order_id BIGINT UNSIGNED AS
	                (IF(status IN ('PROCESSING', 'SUCCEEDED'), order_id, NULL)) PERSISTENT,
	failure_reason  VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NULL,
	created_at      DATETIME(3) NOT NULL,
	updated_at      DATETIME(3) NOT NULL,
	PRIMARY KEY (id),
	UNIQUE KEY uq_payments_active_order (active_order_id),
	KEY ix_payments_order (order_id, id),
	KEY ix_payments_user (user_id, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Every verified webhook event, by the provider's event id: a replayed event
-- finds its row and changes nothing. payment_id and result (APPLIED, IGNORED:
-- not PROCESSING / amount mismatch / unknown payment / not handled yet) are
-- for operators.
CREATE TABLE IF NOT EXISTS webhook_events (
	event_id    VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
	type        VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
	payment_id  BIGINT UNSIGNED NULL,
	result      VARCHAR(32) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
	received_at DATETIME(3) NOT NULL,
	PRIMARY KEY (event_id),
	KEY ix_webhook_events_payment (payment_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Events for the outbox relay (lib/outbox.h).
CREATE TABLE IF NOT EXISTS outbox (
	id             BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
	event_id       CHAR(36) NOT NULL,
	event_type     VARCHAR(64) NOT NULL,
	aggregate_type VARCHAR(32) NOT NULL,
	aggregate_id   BIGINT NOT NULL,
	payload        MEDIUMTEXT NOT NULL,
	request_id     VARCHAR(64) NULL,
	occurred_at    DATETIME(3) NOT NULL,
	sent_at        DATETIME(3) NULL,
	PRIMARY KEY (id),
	UNIQUE KEY uq_outbox_event (event_id),
	KEY ix_outbox_unsent (sent_at, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Idempotency keys of POST /payments (lib/idem.h).
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
