-- Identity: users, refresh tokens, addresses. Run in database shop_identity.
-- Idempotent: every statement may run again on an up-to-date schema.
-- Times are DATETIME(3) in UTC (the apps' sessions run with time_zone +00:00
-- and write UTC_TIMESTAMP(3) explicitly).

CREATE TABLE IF NOT EXISTS users (
	id            BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
	-- stored lower-cased by the app; compared byte for byte
	email         VARCHAR(254) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
	-- argon2id string (libsodium crypto_pwhash_str)
	password_hash VARCHAR(128) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
	name          VARCHAR(100) NOT NULL,
	phone         VARCHAR(32) NULL,
	roles         SET('CUSTOMER', 'SELLER', 'ADMIN') NOT NULL DEFAULT 'CUSTOMER',
	disabled_at   DATETIME(3) NULL,
	created_at    DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
	updated_at    DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
	PRIMARY KEY (id),
	UNIQUE KEY uq_users_email (email)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Refresh tokens: only the SHA-256 of the token is stored. A family is every
-- token descended from one login; presenting a used token revokes its family.
CREATE TABLE IF NOT EXISTS refresh_tokens (
	id          BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
	token_hash  BINARY(32) NOT NULL,
	family_id   BINARY(16) NOT NULL,
	user_id     BIGINT UNSIGNED NOT NULL,
	created_at  DATETIME(3) NOT NULL,
	expires_at  DATETIME(3) NOT NULL,
	used_at     DATETIME(3) NULL,
	revoked_at  DATETIME(3) NULL,
	PRIMARY KEY (id),
	UNIQUE KEY uq_refresh_hash (token_hash),
	KEY ix_refresh_family (family_id),
	KEY ix_refresh_user (user_id, expires_at),
	CONSTRAINT fk_refresh_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Addresses. At most one default per user, enforced by the unique key on
-- default_owner (user_id for the default address, NULL for the others).
CREATE TABLE IF NOT EXISTS addresses (
	id            BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
	user_id       BIGINT UNSIGNED NOT NULL,
	line1         VARCHAR(200) NOT NULL,
	line2         VARCHAR(200) NULL,
	city          VARCHAR(100) NOT NULL,
	postal_code   VARCHAR(20) NOT NULL,
	country       CHAR(2) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
	is_default    TINYINT(1) NOT NULL DEFAULT 0,
	default_owner BIGINT UNSIGNED AS (IF(is_default, user_id, NULL)) PERSISTENT,
	created_at    DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
	PRIMARY KEY (id),
	UNIQUE KEY uq_addresses_default (default_owner),
	KEY ix_addresses_user (user_id, id),
	CONSTRAINT fk_addresses_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
