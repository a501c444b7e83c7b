-- Events out (lib/outbox.h): user.registered (the welcome notification).
-- Run as root after `USE shop_identity`; idempotent.
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
