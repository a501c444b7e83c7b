/* The database layer (see db.h) over MariaDB Connector/C.
 *
 * One MYSQL connection per handle, opened on first use. Each statement of
 * the app's table is prepared on first use and kept; a lost connection
 * closes every statement and marks the handle disconnected, and the next
 * call connects and prepares again. The only plain (non-prepared) queries
 * are the fixed session set-up and START TRANSACTION / COMMIT / ROLLBACK.
 *
 * Results are buffered with mysql_stmt_store_result and every column is
 * bound as MYSQL_TYPE_STRING (the client converts numbers and dates to
 * text), with buffers sized from max_length (STMT_ATTR_UPDATE_MAX_LENGTH);
 * a column that still does not fit is fetched again with
 * mysql_stmt_fetch_column into a buffer of its real length. */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <errmsg.h>
#include <mysql.h>
#include <mysqld_error.h>

#include "lib/conf.h"
#include "lib/db.h"
#include "lib/err.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/metrics.h"

#define MAX_PARAMS 64
#define TX_ATTEMPTS 5
#define MIN_COLBUF 64
#define ER_CLIENT_INTERACTION_TIMEOUT_ 4031 /* MySQL 8: idle session closed */

struct shop_db {
	struct shop_db_conf c;     /* strings belong to the configuration */
	const char *const *sql;
	size_t nsql;
	MYSQL *my;                 /* NULL: disconnected */
	MYSQL_STMT **st;           /* nsql prepared statements, NULL until first use */
	bool in_tx;
	bool tx_broken;            /* deadlock or lost connection inside the transaction */
	bool lost;                 /* the last failure was a lost established connection */
	bool executing;            /* inside mysql_stmt_execute */
	bool maybe_done;           /* lost during execute: the server may have run it */
	unsigned char *is_write;   /* by statement: 1 no result set, 0 query or unknown */
	long long last_id;
	unsigned last_errno;
	uint64_t rnd;              /* back-off jitter */
};

/* A bound value; lives in the caller's frame until the statement ran
 * (the client reads buffers and lengths at execute time). */
struct param {
	char type;
	long long i;
	const void *p;
	size_t n;
	unsigned long len;
};

void shop_db_conf_from(struct shop_db_conf *c, const struct shop_conf *conf, const char *app)
{
	char k[128];
	const char *v;

	memset(c, 0, sizeof(*c));
	snprintf(k, sizeof(k), "%s.db_user", app);
	c->user = shop_conf_get(conf, k, NULL);
	snprintf(k, sizeof(k), "%s.db_password", app);
	c->password = shop_conf_get(conf, k, NULL);
	snprintf(k, sizeof(k), "%s.db_name", app);
	c->database = shop_conf_get(conf, k, NULL);
	v = shop_conf_get(conf, "db.socket", NULL);
	c->socket = v && *v ? v : NULL;
	c->host = shop_conf_get(conf, "db.host", "127.0.0.1");
	c->port = (unsigned)shop_conf_int(conf, "db.port", 3306);
	c->connect_timeout = (unsigned)shop_conf_int(conf, "db.connect_timeout", 2);
	c->rw_timeout = (unsigned)shop_conf_int(conf, "db.rw_timeout", 10);
}

int shop_db_library_init(void)
{
	return mysql_library_init(0, NULL, NULL) == 0 ? 0 : SHOP_EDB;
}

struct shop_db *shop_db_new(const struct shop_db_conf *c, const char *const *sql, size_t nsql)
{
	struct shop_db *db = shop_xcalloc(1, sizeof(*db));
	struct timespec ts;

	db->c = *c;
	db->sql = sql;
	db->nsql = nsql;
	db->st = shop_xcalloc(nsql ? nsql : 1, sizeof(*db->st));
	db->is_write = shop_xcalloc(nsql ? nsql : 1, 1);
	clock_gettime(CLOCK_REALTIME, &ts);
	db->rnd = ((uint64_t)ts.tv_nsec << 20) ^ (uint64_t)(uintptr_t)db ^ (uint64_t)ts.tv_sec;
	db->rnd |= 1;
	return db;
}

/* Closes the connection first: that detaches every statement, so closing
 * them afterwards only frees memory (no round trip on a dead socket). */
static void disconnect(struct shop_db *db)
{
	if (db->my) {
		mysql_close(db->my);
		db->my = NULL;
	}
	for (size_t i = 0; i < db->nsql; i++) {
		if (db->st[i]) {
			mysql_stmt_close(db->st[i]);
			db->st[i] = NULL;
		}
	}
}

void shop_db_free(struct shop_db *db)
{
	if (!db)
		return;
	if (db->in_tx && db->my)
		mysql_real_query(db->my, "ROLLBACK", 8);
	disconnect(db);
	free(db->st);
	free(db->is_write);
	free(db);
}

/* Server and client errors meaning the connection is gone. */
static bool conn_error(unsigned e)
{
	switch (e) {
	case CR_CONNECTION_ERROR:
	case CR_CONN_HOST_ERROR:
	case CR_SERVER_GONE_ERROR:
	case CR_SERVER_LOST:
	case CR_SERVER_LOST_EXTENDED:
	case CR_COMMANDS_OUT_OF_SYNC: /* the protocol state is unknown: start over */
	case CR_ERR_NET_READ:
	case CR_ERR_NET_WRITE:
	case ER_CONNECTION_KILLED:
	case ER_SERVER_SHUTDOWN:
	case ER_CON_COUNT_ERROR:
	case ER_CLIENT_INTERACTION_TIMEOUT_:
		return true;
	}
	return false;
}

/* Errors whose server message may quote a bound value: logged without it. */
static bool quotes_values(unsigned e)
{
	switch (e) {
	case ER_DUP_ENTRY:
	case ER_DUP_ENTRY_WITH_KEY_NAME:
	case ER_TRUNCATED_WRONG_VALUE:
	case ER_TRUNCATED_WRONG_VALUE_FOR_FIELD:
		return true;
	}
	return false;
}

/* Maps and logs (once) a failure of statement idx (-1: a fixed query). */
static int fail(struct shop_db *db, long idx, unsigned e, const char *msg)
{
	db->last_errno = e;
	if (e == ER_DUP_ENTRY || e == ER_DUP_ENTRY_WITH_KEY_NAME)
		return SHOP_EDUP; /* expected: the caller answers 409 */
	if (e == ER_LOCK_DEADLOCK || e == ER_LOCK_WAIT_TIMEOUT) {
		shop_metrics_db_error(SHOP_MDB_DEADLOCK);
		shop_log_info("db: statement %ld: %s (%u), will retry", idx,
		    e == ER_LOCK_DEADLOCK ? "deadlock" : "lock wait timeout", e);
		if (db->in_tx)
			db->tx_broken = true;
		return SHOP_ERETRY;
	}
	if (conn_error(e)) {
		shop_metrics_db_error(SHOP_MDB_CONNECTION);
		shop_log_warn("db: statement %ld: connection lost (%u: %s)", idx, e, msg);
		db->lost = db->my != NULL;
		/* Lost while waiting for the answer (a read timeout, a crash):
		 * the statement may have run. "Gone away" and "killed" mean it
		 * did not (or was rolled back). */
		db->maybe_done = db->executing &&
		    (e == CR_SERVER_LOST || e == CR_SERVER_LOST_EXTENDED ||
		     e == CR_ERR_NET_READ);
		disconnect(db);
		if (db->in_tx)
			db->tx_broken = true;
		return SHOP_EDBDOWN;
	}
	shop_metrics_db_error(SHOP_MDB_OTHER);
	if (quotes_values(e))
		shop_log_error("db: statement %ld failed: error %u", idx, e);
	else
		shop_log_error("db: statement %ld failed: error %u: %s", idx, e, msg);
	return SHOP_EDB;
}

static int stmt_fail(struct shop_db *db, long idx, MYSQL_STMT *st)
{
	return fail(db, idx, mysql_stmt_errno(st), mysql_stmt_error(st));
}

static int query_fail(struct shop_db *db, const char *what)
{
	unsigned e = mysql_errno(db->my);
	char msg[256];

	snprintf(msg, sizeof(msg), "%s: %s", what, mysql_error(db->my));
	return fail(db, -1, e, msg);
}

/* Runs one of the fixed session/transaction statements. */
static int plain(struct shop_db *db, const char *q)
{
	if (mysql_real_query(db->my, q, strlen(q)) != 0)
		return query_fail(db, q);
	return 0;
}

static int db_connect(struct shop_db *db)
{
	unsigned ct = db->c.connect_timeout ? db->c.connect_timeout : 2;
	unsigned rw = db->c.rw_timeout ? db->c.rw_timeout : 10;
	unsigned proto = db->c.socket ? MYSQL_PROTOCOL_SOCKET : MYSQL_PROTOCOL_TCP;
	my_bool no = 0;
	char setup[200];
	int n;
	MYSQL *m;

	/* A lock wait ends with 1205 (retried) before the client's read
	 * timeout would cut the connection with the outcome unknown. */
	n = snprintf(setup, sizeof(setup),
	    "SET time_zone = '+00:00', sql_mode = CONCAT(@@sql_mode, ',STRICT_ALL_TABLES'),"
	    " innodb_lock_wait_timeout = %u", rw > 2 ? rw / 2 : 1);

	db->lost = false;
	m = mysql_init(NULL);
	if (!m)
		return SHOP_EDBDOWN;
	mysql_options(m, MYSQL_OPT_CONNECT_TIMEOUT, &ct);
	mysql_options(m, MYSQL_OPT_READ_TIMEOUT, &rw);
	mysql_options(m, MYSQL_OPT_WRITE_TIMEOUT, &rw);
	mysql_options(m, MYSQL_OPT_PROTOCOL, &proto);
	mysql_options(m, MYSQL_SET_CHARSET_NAME, "utf8mb4");
	mysql_options(m, MYSQL_OPT_RECONNECT, &no);
	if (!mysql_real_connect(m, db->c.socket ? NULL : db->c.host, db->c.user, db->c.password,
	    db->c.database, db->c.socket ? 0 : db->c.port, db->c.socket, CLIENT_FOUND_ROWS)) {
		db->last_errno = mysql_errno(m);
		shop_metrics_db_error(SHOP_MDB_CONNECTION);
		shop_log_warn("db: cannot connect to %s: %u: %s",
		    db->c.socket ? db->c.socket : db->c.host, mysql_errno(m), mysql_error(m));
		mysql_close(m);
		return SHOP_EDBDOWN;
	}
	db->my = m;
	if (mysql_real_query(m, setup, (unsigned long)n) != 0) {
		db->last_errno = mysql_errno(m);
		shop_metrics_db_error(SHOP_MDB_OTHER);
		shop_log_error("db: session set-up failed: %u: %s", mysql_errno(m), mysql_error(m));
		disconnect(db);
		return SHOP_EDBDOWN;
	}
	return 0;
}

/* The prepared statement idx, preparing it on first use. */
static int prepared(struct shop_db *db, unsigned idx, MYSQL_STMT **out)
{
	my_bool one = 1;
	MYSQL_STMT *st;
	int rc;

	if (db->st[idx]) {
		*out = db->st[idx];
		return 0;
	}
	st = mysql_stmt_init(db->my);
	if (!st)
		return query_fail(db, "mysql_stmt_init");
	if (mysql_stmt_prepare(st, db->sql[idx], strlen(db->sql[idx])) != 0) {
		rc = stmt_fail(db, idx, st);
		mysql_stmt_close(st); /* not in db->st: disconnect() left it to us */
		return rc;
	}
	mysql_stmt_attr_set(st, STMT_ATTR_UPDATE_MAX_LENGTH, &one);
	db->is_write[idx] = mysql_stmt_field_count(st) == 0;
	db->st[idx] = st;
	*out = st;
	return 0;
}

static int bind_params(struct shop_db *db, unsigned idx, MYSQL_STMT *st,
    struct param *ps, unsigned np)
{
	MYSQL_BIND b[MAX_PARAMS];

	if (mysql_stmt_param_count(st) != np) {
		shop_log_error("db: statement %u takes %lu parameters, %u given", idx,
		    mysql_stmt_param_count(st), np);
		db->last_errno = 0;
		return SHOP_EDB;
	}
	if (np == 0)
		return 0;
	memset(b, 0, sizeof(b[0]) * np);
	for (unsigned i = 0; i < np; i++) {
		switch (ps[i].type) {
		case 'i':
			b[i].buffer_type = MYSQL_TYPE_LONGLONG;
			b[i].buffer = (void *)&ps[i].i;
			break;
		case 's':
		case 'b':
			if (!ps[i].p) {
				b[i].buffer_type = MYSQL_TYPE_NULL;
				break;
			}
			b[i].buffer_type = ps[i].type == 's' ? MYSQL_TYPE_STRING : MYSQL_TYPE_BLOB;
			b[i].buffer = (void *)ps[i].p;
			b[i].buffer_length = ps[i].n;
			ps[i].len = (unsigned long)ps[i].n;
			b[i].length = &ps[i].len;
			break;
		}
	}
	/* mysql_stmt_bind_param copies the bind array; execute reads the buffers. */
	if (mysql_stmt_bind_param(st, b) != 0)
		return stmt_fail(db, idx, st);
	return 0;
}

/* Buffers the result of an executed statement into the arena. */
static int fetch_rows(struct shop_db *db, unsigned idx, MYSQL_STMT *st, struct shop_arena *a,
    struct shop_rows *out)
{
	MYSQL_RES *meta = NULL;
	MYSQL_FIELD *fields;
	MYSQL_BIND *b = NULL;
	unsigned long *lens = NULL;
	my_bool *nulls = NULL, *errs = NULL;
	char **bufs = NULL;
	unsigned nc;
	size_t nrows, r = 0;
	int rc = 0, f;

	out->n = 0;
	out->row = NULL;
	if (mysql_stmt_store_result(st) != 0)
		return stmt_fail(db, idx, st);
	nc = mysql_stmt_field_count(st);
	meta = mysql_stmt_result_metadata(st);
	if (nc == 0 || !meta)
		goto out;
	fields = mysql_fetch_fields(meta);
	nrows = (size_t)mysql_stmt_num_rows(st);

	b = shop_xcalloc(nc, sizeof(*b));
	lens = shop_xcalloc(nc, sizeof(*lens));
	nulls = shop_xcalloc(nc, sizeof(*nulls));
	errs = shop_xcalloc(nc, sizeof(*errs));
	bufs = shop_xcalloc(nc, sizeof(*bufs));
	for (unsigned i = 0; i < nc; i++) {
		size_t sz = fields[i].max_length + 1;

		if (sz < MIN_COLBUF)
			sz = MIN_COLBUF;
		bufs[i] = shop_xmalloc(sz);
		b[i].buffer_type = MYSQL_TYPE_STRING;
		b[i].buffer = bufs[i];
		b[i].buffer_length = sz;
		b[i].length = &lens[i];
		b[i].is_null = &nulls[i];
		b[i].error = &errs[i];
	}
	if (mysql_stmt_bind_result(st, b) != 0) {
		rc = stmt_fail(db, idx, st);
		goto out;
	}
	out->row = nrows ? shop_arena_calloc(a, nrows * sizeof(*out->row)) : NULL;
	while (r < nrows && ((f = mysql_stmt_fetch(st)) == 0 || f == MYSQL_DATA_TRUNCATED)) {
		struct shop_row *row = &out->row[r++];

		row->ncols = nc;
		row->col = shop_arena_calloc(a, nc * sizeof(*row->col));
		row->len = shop_arena_calloc(a, nc * sizeof(*row->len));
		for (unsigned i = 0; i < nc; i++) {
			char *v;

			if (nulls[i])
				continue;
			v = shop_arena_alloc(a, lens[i] + 1);
			if (lens[i] < b[i].buffer_length) {
				memcpy(v, bufs[i], lens[i]);
			} else {
				/* Did not fit: fetch it again, whole. */
				MYSQL_BIND one = { 0 };
				unsigned long got = 0;

				one.buffer_type = MYSQL_TYPE_STRING;
				one.buffer = v;
				one.buffer_length = lens[i] + 1;
				one.length = &got;
				if (mysql_stmt_fetch_column(st, &one, i, 0) != 0) {
					rc = stmt_fail(db, idx, st);
					goto out;
				}
			}
			v[lens[i]] = '\0';
			row->col[i] = v;
			row->len[i] = lens[i];
		}
	}
	if (r < nrows) {
		rc = stmt_fail(db, idx, st);
		goto out;
	}
	out->n = r;
out:
	if (meta)
		mysql_free_result(meta);
	if (db->my)
		mysql_stmt_free_result(st);
	if (bufs)
		for (unsigned i = 0; i < nc; i++)
			free(bufs[i]);
	free(bufs);
	free(errs);
	free(nulls);
	free(lens);
	free(b);
	if (rc)
		out->n = 0;
	return rc;
}

/* One attempt: connect if needed, prepare, bind, execute, collect. */
/* Marks the handle as executing (until the next run_once) so that fail()
 * knows a lost connection may have happened after the server ran it. */
static int execute(struct shop_db *db, MYSQL_STMT *st)
{
	db->executing = true;
	return mysql_stmt_execute(st);
}

static int run_once(struct shop_db *db, unsigned idx, struct param *ps, unsigned np,
    struct shop_arena *a, struct shop_rows *out)
{
	MYSQL_STMT *st;
	my_ulonglong n;
	int rc;

	db->maybe_done = false;
	db->executing = false;
	if (db->in_tx && db->tx_broken)
		return SHOP_ERETRY; /* the server already ended this transaction */
	if (!db->my) {
		if (db->in_tx) /* a reconnect would run outside the transaction */
			return SHOP_EDBDOWN;
		rc = db_connect(db);
		if (rc)
			return rc;
	}
	rc = prepared(db, idx, &st);
	if (rc)
		return rc;
	rc = bind_params(db, idx, st, ps, np);
	if (rc)
		return rc;
	if (execute(db, st) != 0) {
		unsigned e = mysql_stmt_errno(st);

		if (e == ER_NEED_REPREPARE || e == ER_UNKNOWN_STMT_HANDLER) {
			/* The server dropped or invalidated it: prepare afresh, once. */
			mysql_stmt_close(st);
			db->st[idx] = NULL;
			rc = prepared(db, idx, &st);
			if (rc)
				return rc;
			rc = bind_params(db, idx, st, ps, np);
			if (rc)
				return rc;
			if (execute(db, st) != 0)
				return stmt_fail(db, idx, st);
		} else {
			return stmt_fail(db, idx, st);
		}
	}
	if (out)
		return fetch_rows(db, idx, st, a, out);
	n = mysql_stmt_affected_rows(st);
	db->last_id = (long long)mysql_stmt_insert_id(st);
	if (mysql_stmt_field_count(st) > 0) {
		/* A statement with a result given to exec: discard the rows. */
		mysql_stmt_store_result(st);
		mysql_stmt_free_result(st);
		n = 0;
	}
	if (n == (my_ulonglong)-1)
		return 0;
	return n > INT_MAX ? INT_MAX : (int)n;
}

static int run(struct shop_db *db, unsigned idx, struct param *ps, unsigned np,
    struct shop_arena *a, struct shop_rows *out)
{
	int rc;

	if (idx >= db->nsql || !db->sql[idx]) {
		shop_log_error("db: no statement %u", idx);
		return SHOP_EDB;
	}
	rc = run_once(db, idx, ps, np, a, out);
	/* A connection that was working and got lost (server restart, idle
	 * timeout, killed): outside a transaction, reconnect and retry once,
	 * unless a write may have run already. */
	if (rc == SHOP_EDBDOWN && db->lost && !db->in_tx &&
	    !(db->maybe_done && db->is_write[idx]))
		rc = run_once(db, idx, ps, np, a, out);
	if (rc >= 0)
		db->last_errno = 0;
	return rc;
}

/* Collects the variadic parameters after types. Returns the count or -1. */
static int collect(struct param *ps, const char *types, va_list ap)
{
	unsigned n = 0;

	for (const char *t = types ? types : ""; *t; t++) {
		if (n == MAX_PARAMS) {
			shop_log_error("db: more than %d parameters", MAX_PARAMS);
			return -1;
		}
		ps[n].type = *t;
		switch (*t) {
		case 'i':
			ps[n].i = va_arg(ap, long long);
			break;
		case 's':
			ps[n].p = va_arg(ap, const char *);
			ps[n].n = ps[n].p ? strlen(ps[n].p) : 0;
			break;
		case 'b':
			ps[n].p = va_arg(ap, const void *);
			ps[n].n = va_arg(ap, size_t);
			break;
		default:
			shop_log_error("db: unknown parameter type '%c'", *t);
			return -1;
		}
		n++;
	}
	return (int)n;
}

int shop_db_exec(struct shop_db *db, unsigned stmt, const char *types, ...)
{
	struct param ps[MAX_PARAMS];
	va_list ap;
	int np;

	va_start(ap, types);
	np = collect(ps, types, ap);
	va_end(ap);
	if (np < 0)
		return SHOP_EDB;
	return run(db, stmt, ps, (unsigned)np, NULL, NULL);
}

int shop_db_query(struct shop_db *db, struct shop_arena *a, struct shop_rows *out,
    unsigned stmt, const char *types, ...)
{
	struct param ps[MAX_PARAMS];
	va_list ap;
	int np;

	out->n = 0;
	out->row = NULL;
	va_start(ap, types);
	np = collect(ps, types, ap);
	va_end(ap);
	if (np < 0)
		return SHOP_EDB;
	return run(db, stmt, ps, (unsigned)np, a, out);
}

long long shop_db_last_id(const struct shop_db *db)
{
	return db->last_id;
}

unsigned shop_db_errno(const struct shop_db *db)
{
	return db->last_errno;
}

long long shop_row_int(const struct shop_row *row, unsigned col)
{
	const char *s = shop_row_str(row, col);
	char *end;
	long long v;

	if (!s || !*s)
		return 0;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || *end)
		return 0;
	return v;
}

const char *shop_row_str(const struct shop_row *row, unsigned col)
{
	return col < row->ncols ? row->col[col] : NULL;
}

bool shop_row_null(const struct shop_row *row, unsigned col)
{
	return col >= row->ncols || row->col[col] == NULL;
}

int shop_db_ping(struct shop_db *db)
{
	if (db->my && mysql_ping(db->my) == 0)
		return 0;
	if (db->my) {
		db->last_errno = mysql_errno(db->my);
		disconnect(db);
	}
	if (db->in_tx) {
		db->tx_broken = true;
		return SHOP_EDBDOWN;
	}
	return db_connect(db) == 0 ? 0 : SHOP_EDBDOWN;
}

/* ------------------------------------------------------------------ */
/* Transactions */

static void backoff(struct shop_db *db, int attempt)
{
	struct timespec ts;
	unsigned max_ms = 5u << attempt, ms;

	/* xorshift64 */
	db->rnd ^= db->rnd << 13;
	db->rnd ^= db->rnd >> 7;
	db->rnd ^= db->rnd << 17;
	ms = 1 + (unsigned)(db->rnd % max_ms);
	ts.tv_sec = 0;
	ts.tv_nsec = (long)ms * 1000000L;
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static int tx_begin(struct shop_db *db)
{
	int rc;

	if (!db->my && (rc = db_connect(db)) != 0)
		return rc;
	rc = plain(db, "START TRANSACTION");
	if (rc == SHOP_EDBDOWN && db->lost) {
		/* A stale connection found at BEGIN: nothing was done yet. */
		rc = db_connect(db);
		if (rc == 0)
			rc = plain(db, "START TRANSACTION");
	}
	return rc;
}

static void tx_rollback(struct shop_db *db)
{
	/* A lost connection has rolled back on the server already. */
	if (db->my && mysql_real_query(db->my, "ROLLBACK", 8) != 0)
		query_fail(db, "ROLLBACK");
}

int shop_db_tx(struct shop_db *db, shop_tx_fn fn, void *ctx)
{
	int rc = SHOP_ERETRY;
	bool retry;

	if (db->in_tx) {
		shop_log_error("db: nested transaction refused");
		return SHOP_EDB;
	}
	for (int attempt = 1; attempt <= TX_ATTEMPTS; attempt++) {
		if (attempt > 1)
			backoff(db, attempt);
		rc = tx_begin(db);
		if (rc != 0)
			return rc;
		db->in_tx = true;
		db->tx_broken = false;
		rc = fn(db, ctx);
		if (rc == 0 && db->tx_broken)
			rc = db->my ? SHOP_ERETRY : SHOP_EDBDOWN; /* fn ignored a failure */
		if (rc == 0) {
			if (!db->my) {
				rc = SHOP_EDBDOWN; /* lost before COMMIT was sent */
				retry = true;
			} else {
				rc = plain(db, "COMMIT");
				if (rc == 0) {
					db->in_tx = false;
					return 0;
				}
				/* A connection lost during COMMIT leaves the outcome
				 * unknown: not retried. */
				retry = rc == SHOP_ERETRY;
			}
		} else {
			/* fn's failure: a deadlock, or a connection lost before COMMIT. */
			retry = rc == SHOP_ERETRY || (rc == SHOP_EDBDOWN && !db->my);
		}
		tx_rollback(db);
		db->in_tx = false;
		db->tx_broken = false;
		if (!retry)
			return rc;
	}
	shop_log_warn("db: transaction gave up after %d attempts", TX_ATTEMPTS);
	return rc;
}
