-- The inventory worker's inbox: one row per event it applied to stock, in
-- the same transaction as the effect, so that a redelivered event changes
-- nothing (lib/outbox.h). Run as root after `USE shop_catalog`; idempotent.
CREATE TABLE IF NOT EXISTS processed_events (
	consumer VARCHAR(64) NOT NULL,
	event_id CHAR(36) NOT NULL,
	processed_at DATETIME(3) NOT NULL,
	PRIMARY KEY (consumer, event_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
