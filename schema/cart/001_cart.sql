-- Cart: one row per (user, product). Run as root after `USE shop_cart`;
-- idempotent. Prices are never stored here: GET /cart reads the current ones
-- from shop_catalog.products, and ordering the cart snapshots them then.
-- Times are DATETIME(3) in UTC (the apps' sessions run with time_zone +00:00
-- and write UTC_TIMESTAMP(3) explicitly).

CREATE TABLE IF NOT EXISTS cart_items (
	user_id    BIGINT UNSIGNED NOT NULL,
	product_id BIGINT UNSIGNED NOT NULL,
	quantity   INT UNSIGNED NOT NULL,
	added_at   DATETIME(3) NOT NULL,
	PRIMARY KEY (user_id, product_id),
	CONSTRAINT ck_cart_items_quantity CHECK (quantity BETWEEN 1 AND 1000)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
