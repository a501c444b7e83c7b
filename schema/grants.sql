-- Least privilege for the apps' database users.
--
-- ./shop creates every user named here ('shop_<app>'@'localhost', password
-- from var/secrets/db-<app>), revokes everything it had, then applies this
-- file as root, so this file is the whole truth about what each app may do.
-- It is applied again whenever it changes.
--
-- No user gets DDL (CREATE, ALTER, DROP, INDEX, REFERENCES, ...), GRANT
-- OPTION or any global privilege: migrations run as root (schema/<domain>/).
-- Users are 'localhost' only: the apps connect over the unix socket.

-- identity owns shop_identity (users, refresh tokens, addresses) and is its
-- only writer: it reads and writes its own rows.
GRANT SELECT, INSERT, UPDATE, DELETE ON shop_identity.* TO 'shop_identity'@'localhost';

-- auth verifies tokens without a database, then checks that the token's user
-- still exists and is not disabled (and reads its current roles): those three
-- columns of users are all it may see; no password hashes, no emails, no writes.
GRANT SELECT (id, roles, disabled_at) ON shop_identity.users TO 'shop_auth'@'localhost';

-- catalog owns shop_catalog (categories, products, stock, stock ledger) and
-- reads and writes its own rows.
GRANT SELECT, INSERT, UPDATE, DELETE ON shop_catalog.* TO 'shop_catalog'@'localhost';
