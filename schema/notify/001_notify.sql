-- Notifications: one row per customer event (UNIQUE event_id), the mail it
-- became and how its delivery went, and the notify worker's inbox.
-- Run as root in database shop_notify. Idempotent.
-- Times are DATETIME(3) in UTC (the sessions run with time_zone +00:00 and
-- write UTC_TIMESTAMP(3) explicitly).

CREATE TABLE IF NOT EXISTS notifications (
	id          BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
	user_id     BIGINT UNSIGNED NOT NULL,
	-- the event that caused it: at most one notification (and one mail) per event
	event_id    CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
	kind        ENUM('WELCOME', 'ORDER_PLACED', 'PAYMENT_SUCCEEDED', 'PAYMENT_FAILED',
	                 'ORDER_CANCELLED', 'ORDER_EXPIRED', 'ORDER_SHIPPED', 'ORDER_DELIVERED',
	                 'ORDER_REFUNDED') NOT NULL,
	channel     ENUM('email') NOT NULL DEFAULT 'email',
	-- the address it was (or is to be) sent to, as it was when the event came
	recipient   VARCHAR(254) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
	subject     VARCHAR(255) NOT NULL,
	-- PENDING: not sent (yet, or the last attempt failed: last_error);
	-- SENDING: a send was started (committed before it) and its outcome not
	-- recorded: after a crash, the worker finds out whether it went
	-- (workers/notify/handle.c); SENT; FAILED: attempts used up, dead-lettered
	status      ENUM('PENDING', 'SENDING', 'SENT', 'FAILED') NOT NULL DEFAULT 'PENDING',
	attempts    INT UNSIGNED NOT NULL DEFAULT 0,
	-- the mail's Message-ID header, "<n<id>.<random>@shop.test>", the same on
	-- every attempt; set in the transaction that creates the row (it needs the id)
	message_id  VARCHAR(255) CHARACTER SET ascii COLLATE ascii_bin NULL,
	last_error  VARCHAR(512) NULL,
	created_at  DATETIME(3) NOT NULL,
	sent_at     DATETIME(3) NULL,
	PRIMARY KEY (id),
	UNIQUE KEY uq_notifications_event (event_id),
	UNIQUE KEY uq_notifications_message (message_id),
	-- GET /notifications: a user's, newest first (keyset on id)
	KEY ix_notifications_user (user_id, id),
	-- operators: what is stuck or failed
	KEY ix_notifications_status (status, id),
	CONSTRAINT ck_notifications_sent CHECK (status <> 'SENT' OR sent_at IS NOT NULL)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- The notify worker's inbox (lib/outbox.h): events it has handled.
CREATE TABLE IF NOT EXISTS processed_events (
	consumer     VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
	event_id     CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
	processed_at DATETIME(3) NOT NULL,
	PRIMARY KEY (consumer, event_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
