-- The payments worker's inbox (workers/payments): one row per event it
-- applied, in the same transaction as the effect, so that a redelivered
-- event changes nothing (lib/outbox.h). It consumes order.payment_orphaned
-- (a payment that arrived after its order expired or was cancelled) and asks
-- for that payment's refund. Run in database shop_payments; idempotent.
CREATE TABLE IF NOT EXISTS processed_events (
	consumer VARCHAR(64) NOT NULL,
	event_id CHAR(36) NOT NULL,
	processed_at DATETIME(3) NOT NULL,
	PRIMARY KEY (consumer, event_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
