-- Catalog and inventory: categories (with a closure table for "this category
-- and its descendants"), products, stock and the stock ledger.
-- Run as root after `USE shop_catalog`; idempotent (IF NOT EXISTS everywhere).
--
-- Times are DATETIME in UTC: the apps' sessions run with time_zone '+00:00'
-- and the defaults use UTC_TIMESTAMP(), so scripts run by root with another
-- session time zone still store UTC.

CREATE TABLE IF NOT EXISTS categories (
	id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
	name VARCHAR(100) NOT NULL,
	parent_id BIGINT UNSIGNED NULL,
	-- NULLs are distinct in a UNIQUE key: compare roots under parent 0.
	parent_key BIGINT UNSIGNED AS (COALESCE(parent_id, 0)) PERSISTENT,
	created_at DATETIME NOT NULL DEFAULT (UTC_TIMESTAMP()),
	PRIMARY KEY (id),
	UNIQUE KEY uq_categories_parent_name (parent_key, name),
	KEY ix_categories_parent (parent_id),
	CONSTRAINT fk_categories_parent FOREIGN KEY (parent_id) REFERENCES categories (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Closure of the category tree: one row per (ancestor, descendant) pair,
-- including (c, c) at depth 0. Categories are never moved or deleted, so a
-- row is written once, when its category is created.
CREATE TABLE IF NOT EXISTS category_paths (
	ancestor_id BIGINT UNSIGNED NOT NULL,
	descendant_id BIGINT UNSIGNED NOT NULL,
	depth INT UNSIGNED NOT NULL,
	PRIMARY KEY (ancestor_id, descendant_id),
	KEY ix_category_paths_descendant (descendant_id),
	CONSTRAINT fk_category_paths_ancestor FOREIGN KEY (ancestor_id) REFERENCES categories (id),
	CONSTRAINT fk_category_paths_descendant FOREIGN KEY (descendant_id) REFERENCES categories (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS products (
	id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
	-- SKUs are [A-Za-z0-9._-]; unique regardless of case.
	sku VARCHAR(64) CHARACTER SET ascii COLLATE ascii_general_ci NOT NULL,
	name VARCHAR(200) NOT NULL,
	description TEXT NOT NULL,
	price_cents BIGINT NOT NULL,
	currency CHAR(3) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
	category_id BIGINT UNSIGNED NOT NULL,
	seller_id BIGINT UNSIGNED NOT NULL,
	status ENUM('ACTIVE', 'ARCHIVED') NOT NULL DEFAULT 'ACTIVE',
	images JSON NOT NULL DEFAULT '[]',
	created_at DATETIME NOT NULL DEFAULT (UTC_TIMESTAMP()),
	updated_at DATETIME NOT NULL DEFAULT (UTC_TIMESTAMP()),
	PRIMARY KEY (id),
	UNIQUE KEY uq_products_sku (sku),
	-- The lists' keysets: newest walks PRIMARY, price/-price walk
	-- (price_cents, id), status rides along for index condition pushdown.
	-- status is deliberately not a leading column: an equality on it would
	-- offer the optimizer a "ref" access that it prefers to the keyset range
	-- and that reads every row before the cursor on deep pages.
	KEY ix_products_price (price_cents, id, status),
	KEY ix_products_category (category_id, status, id),
	KEY ix_products_seller (seller_id, status, id),
	FULLTEXT KEY ft_products_text (name, description),
	CONSTRAINT fk_products_category FOREIGN KEY (category_id) REFERENCES categories (id),
	CONSTRAINT ck_products_price CHECK (price_cents >= 0),
	CONSTRAINT ck_products_images CHECK (JSON_TYPE(images) = 'ARRAY')
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- One row per product. available = on_hand - reserved. The orders domain
-- reserves (reserved += q WHERE on_hand - reserved >= q) inside its own
-- transaction; settlement does on_hand -= q, reserved -= q.
CREATE TABLE IF NOT EXISTS stock (
	product_id BIGINT UNSIGNED NOT NULL,
	on_hand BIGINT NOT NULL DEFAULT 0,
	reserved BIGINT NOT NULL DEFAULT 0,
	updated_at DATETIME NOT NULL DEFAULT (UTC_TIMESTAMP()),
	PRIMARY KEY (product_id),
	CONSTRAINT fk_stock_product FOREIGN KEY (product_id) REFERENCES products (id),
	CONSTRAINT ck_stock_levels CHECK (reserved >= 0 AND on_hand >= reserved)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Every change of stock, in the transaction that made it. For each product,
-- SUM(delta_on_hand) = on_hand and SUM(delta_reserved) = reserved.
CREATE TABLE IF NOT EXISTS stock_ledger (
	id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
	product_id BIGINT UNSIGNED NOT NULL,
	delta_on_hand BIGINT NOT NULL DEFAULT 0,
	delta_reserved BIGINT NOT NULL DEFAULT 0,
	kind ENUM('INITIAL', 'ADJUST', 'RESERVE', 'RELEASE', 'SETTLE', 'RESTOCK') NOT NULL,
	reason VARCHAR(200) NULL,
	actor_user_id BIGINT UNSIGNED NULL,
	ref VARCHAR(100) CHARACTER SET ascii COLLATE ascii_bin NULL,  -- an order id, an event id
	created_at DATETIME NOT NULL DEFAULT (UTC_TIMESTAMP()),
	PRIMARY KEY (id),
	KEY ix_stock_ledger_product (product_id, id),
	KEY ix_stock_ledger_ref (ref),
	CONSTRAINT fk_stock_ledger_product FOREIGN KEY (product_id) REFERENCES products (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
