/* The database layer over the MariaDB client: one connection per worker
 * thread, connected lazily, with the app's statements prepared on first use
 * and prepared again after a reconnect. Only prepared statements: SQL text
 * comes from the app's statement table (its *_sql.c), values are bound.
 *
 * Sessions run with time_zone '+00:00', sql_mode STRICT_ALL_TABLES plus the
 * server defaults, autocommit on, utf8mb4. Rows are counted as "found"
 * (CLIENT_FOUND_ROWS): an UPDATE that matches a row but changes nothing
 * reports 1. */
#ifndef SHOP_DB_H
#define SHOP_DB_H

#include <stdbool.h>
#include <stddef.h>

struct shop_arena;
struct shop_conf;

struct shop_db_conf {
	const char *host;     /* used when socket is NULL */
	unsigned port;
	const char *socket;   /* unix socket path, preferred */
	const char *user;
	const char *password;
	const char *database;
	unsigned connect_timeout; /* seconds */
	unsigned rw_timeout;      /* seconds, read and write */
};

/* Fills c from configuration: "<app>.db_user", "<app>.db_password",
 * "<app>.db_name", then "db.socket", "db.host", "db.port", timeouts.
 * The strings belong to conf. */
void shop_db_conf_from(struct shop_db_conf *c, const struct shop_conf *conf, const char *app);

/* mysql_library_init: once per process, before any thread uses the client. */
int shop_db_library_init(void);

struct shop_db;

/* A handle for one thread. sql[i] is statement i of the app; the table must
 * outlive the handle. Does not connect (the first statement does). Cannot
 * fail (out-of-memory aborts). */
struct shop_db *shop_db_new(const struct shop_db_conf *c, const char *const *sql, size_t nsql);
void shop_db_free(struct shop_db *db);

/* Parameter types, one letter per '?' in the statement:
 *   'i'  long long
 *   's'  const char * (NUL-terminated; NULL pointer binds SQL NULL)
 *   'b'  const void *, size_t (bytes; NULL pointer binds SQL NULL)
 *
 * Failure codes for every statement call: SHOP_EDUP (duplicate key),
 * SHOP_ERETRY (deadlock 1213 / lock wait timeout 1205), SHOP_EDBDOWN (cannot
 * connect, or the connection was lost; outside a transaction a lost
 * connection is reconnected and the statement retried once first),
 * SHOP_EDB (anything else: logged with the server's message). */

/* Runs an INSERT/UPDATE/DELETE. Returns the affected (found) row count >= 0
 * or a failure code. */
int shop_db_exec(struct shop_db *db, unsigned stmt, const char *types, ...);
/* The AUTO_INCREMENT id of the last INSERT on this handle. */
long long shop_db_last_id(const struct shop_db *db);

/* A result: every column comes back as text (NULL for SQL NULL) copied
 * into the arena, so rows stay valid after the next statement. */
struct shop_row {
	unsigned ncols;
	const char **col;   /* col[i] is NUL-terminated text or NULL */
	size_t *len;
};
struct shop_rows {
	size_t n;
	struct shop_row *row;
};

/* Runs a SELECT and buffers every row into arena a. Returns 0 or a failure code. */
int shop_db_query(struct shop_db *db, struct shop_arena *a, struct shop_rows *out,
    unsigned stmt, const char *types, ...);

/* Column accessors: shop_row_int returns 0 for NULL or non-numeric text. */
long long shop_row_int(const struct shop_row *row, unsigned col);
const char *shop_row_str(const struct shop_row *row, unsigned col);
bool shop_row_null(const struct shop_row *row, unsigned col);

/* A transaction: BEGIN, fn(db, ctx), COMMIT. fn returns 0 to commit; any
 * other value rolls back and is returned as is (a handler's own "refused"
 * codes are positive, failures negative). When fn or COMMIT fails with
 * SHOP_ERETRY, or the connection is lost before COMMIT was sent, the whole
 * transaction is retried (up to 5 attempts, short randomized back-off), so fn
 * must have no effect outside the database. Never leaves a transaction open. */
typedef int (*shop_tx_fn)(struct shop_db *db, void *ctx);
int shop_db_tx(struct shop_db *db, shop_tx_fn fn, void *ctx);

/* Connects if needed and pings. Returns 0 or SHOP_EDBDOWN. */
int shop_db_ping(struct shop_db *db);

/* The server error number of the last failure on this handle (0 if none). */
unsigned shop_db_errno(const struct shop_db *db);

#endif
