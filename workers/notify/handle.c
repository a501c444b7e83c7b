/* The notification worker's configuration, handler and delivery state
 * machine (notify_worker.h).
 *
 * For each event that maps to a kind:
 *
 * 1. Read what the mail needs: the user (email, name) and, for an order's
 *    event, the order (owner, total, currency) and its lines. A missing user
 *    or order, or an order of another user, can never succeed: the message
 *    is dead-lettered (SHOP_EINVAL) without a claim, for an operator to see.
 * 2. One transaction: claim the event (consumer "notify") and insert the
 *    notification (PENDING, attempts 0, recipient, subject naming the order
 *    number) with its Message-ID "<n<id>.<random>@<mail_from's domain>>".
 *    An event already claimed finds its row by event_id instead.
 * 3. By the row's status:
 *      SENT      ack, nothing else (a redelivery after the outcome was
 *                recorded);
 *      FAILED    dead-lettered again (attempts were used up);
 *      PENDING,
 *      SENDING   deliver (4). SENDING means a send may have happened:
 *                spool delivery knows, since <id>.eml exists exactly when it
 *                was written (deliver.c), and then only SENT is recorded;
 *                this process also remembers the ids it sent but could not
 *                record (the database was down), and records those without
 *                sending again.
 * 4. Build the message, record the intent (SENDING, attempts + 1) and
 *    commit, send, then record the outcome and commit:
 *      sent      SENT, sent_at;
 *      refused   PENDING with last_error and a retry code (the runner
 *                backs off through notify.events.retry), or FAILED and
 *                SHOP_EINVAL (dead-lettered to notify.events.dlq) when the
 *                attempts reach max_attempts, the runner's own count of this
 *                message does, or the refusal is permanent (SMTP 5xx, an
 *                address that is not plain ASCII).
 *
 * What can still send twice, by SMTP only: a crash (or a lost database)
 * between the server's "250" to the end of DATA and our commit of SENT. No
 * client can know whether a server that accepted a message did so when the
 * process died in between; the window is kept to the one UPDATE after
 * curl_easy_perform returns (about a millisecond), no logging or other work
 * sits in it, and a resend carries the same Message-ID, by which receiving
 * systems and people can tell the two copies are one mail. Likewise an SMTP
 * failure after the data was sent (a timeout waiting for "250") is recorded
 * as a failure and retried, though the server may have accepted it. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <json-c/json.h>

#include "lib/conf.h"
#include "lib/db.h"
#include "lib/err.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/metrics.h"
#include "lib/outbox.h"
#include "lib/util.h"
#include "workers/notify/notify_worker.h"

#ifndef NW_TEMPLATES_DIR
#define NW_TEMPLATES_DIR "workers/notify/templates"
#endif

#define MAX_ID 9007199254740991LL
#define DUPLICATE 1           /* the transaction's "already claimed": rolled back */
#define UNRECORDED_MAX 64     /* sent, SENT not recorded: remembered by this process */
#define DEFAULT_FROM "Shop <shop@shop.test>"

struct nw_state {
	struct nw_templates tpl;
	struct nw_deliver dlv;
	char from_name[128];
	char from_addr[256];
	const char *msgid_domain;     /* in from_addr */
	long long max_attempts;
	long long unrecorded[UNRECORDED_MAX];
	unsigned nunrecorded, unrecorded_next;
};

/* One event's notification while it is handled (arena memory). */
struct note {
	struct shop_worker_ctx *w;
	const struct shop_event *ev;
	enum nw_kind kind;
	long long user_id, order_id;
	/* payload */
	const char *carrier, *tracking, *reason, *expires_at;
	long long amount;
	const char *amount_currency;  /* NULL: no amount in the payload */
	/* database */
	const char *email, *name;
	long long total;
	const char *currency;
	struct nw_var vars[NW_V_COUNT];
	struct nw_record *lines;
	size_t nlines;
	/* the row */
	long long id, attempts;
	const char *status, *recipient, *subject, *message_id;
	char subject_buf[256];
	char message_id_buf[300];
};

/* ---- configuration ---- */

static const char *key(const struct shop_worker_ctx *w, char *buf, size_t n, const char *k)
{
	snprintf(buf, n, "%s.%s", w->name, k);
	return buf;
}

static const char *cget(const struct shop_worker_ctx *w, const char *k, const char *def)
{
	char buf[128];

	return shop_conf_get(w->conf, key(w, buf, sizeof(buf), k), def);
}

static long long cint(const struct shop_worker_ctx *w, const char *k, long long def,
    long long min, long long max)
{
	char buf[128];
	long long v = shop_conf_int(w->conf, key(w, buf, sizeof(buf), k), def);

	if (v < min || v > max) {
		shop_log_warn("%s %lld out of range %lld..%lld: using %lld", buf, v, min, max, def);
		v = def;
	}
	return v;
}

static int conf_smtp(struct shop_worker_ctx *w, struct nw_state *s)
{
	struct nw_deliver *d = &s->dlv;
	const char *host = cget(w, "smtp_host", "127.0.0.1");
	const char *tls = cget(w, "smtp_starttls", "try");
	long long port = cint(w, "smtp_port", 25, 1, 65535);
	bool v6 = strchr(host, ':') != NULL;

	if (!*host || strpbrk(host, "/@?#[] \t")) {
		shop_log_error("%s.smtp_host: not a host name or address", w->name);
		return SHOP_EINVAL;
	}
	snprintf(d->url, sizeof(d->url), "smtp://%s%s%s:%lld/%s", v6 ? "[" : "", host,
	    v6 ? "]" : "", port, s->msgid_domain);
	if (strcmp(tls, "off") == 0) {
		d->use_ssl = CURLUSESSL_NONE;
	} else if (strcmp(tls, "try") == 0) {
		d->use_ssl = CURLUSESSL_TRY;
	} else if (strcmp(tls, "required") == 0) {
		d->use_ssl = CURLUSESSL_ALL;
	} else {
		shop_log_error("%s.smtp_starttls: off, try or required", w->name);
		return SHOP_EINVAL;
	}
	d->user = cget(w, "smtp_user", NULL);
	if (d->user && !*d->user)
		d->user = NULL;
	d->password = cget(w, "smtp_password", "");
	if (d->user && d->use_ssl != CURLUSESSL_ALL)
		shop_log_warn("%s.smtp_user is set but smtp_starttls is not \"required\": the"
		    " credentials may cross the network in clear", w->name);
	d->connect_timeout_ms = (long)cint(w, "smtp_connect_timeout", 10, 1, 300) * 1000;
	d->timeout_ms = (long)cint(w, "smtp_timeout", 60, 1, 3600) * 1000;
	snprintf(d->mail_from, sizeof(d->mail_from), "<%s>", s->from_addr);
	shop_log_info("delivery smtp to %s%s%s:%lld, STARTTLS %s%s", v6 ? "[" : "", host,
	    v6 ? "]" : "", port, tls, d->user ? ", AUTH as the configured user" : "");
	return 0;
}

static int conf_spool(struct shop_worker_ctx *w, struct nw_state *s)
{
	const char *dir = cget(w, "spool_dir", NULL);
	const char *var = shop_conf_get(w->conf, "shop.var_dir", NULL);
	int n;

	if (!dir || !*dir)
		dir = shop_conf_get(w->conf, "mail.spool_dir", NULL);
	if (dir && *dir)
		n = snprintf(s->dlv.spool_dir, sizeof(s->dlv.spool_dir), "%s", dir);
	else if (var && *var)
		n = snprintf(s->dlv.spool_dir, sizeof(s->dlv.spool_dir), "%s/mail", var);
	else {
		shop_log_error("%s.spool_dir is not set (nor mail.spool_dir, shop.var_dir)", w->name);
		return SHOP_EINVAL;
	}
	if (n < 0 || (size_t)n >= sizeof(s->dlv.spool_dir)) {
		shop_log_error("%s.spool_dir: path too long", w->name);
		return SHOP_EINVAL;
	}
	shop_log_info("delivery spool to %s", s->dlv.spool_dir);
	return 0;
}

int nw_init(struct shop_worker_ctx *w)
{
	struct nw_state *s = shop_xcalloc(1, sizeof(*s));
	const char *mode = cget(w, "delivery", "spool");
	const char *from = cget(w, "mail_from", DEFAULT_FROM);
	const char *dir = cget(w, "templates_dir", NW_TEMPLATES_DIR);
	char err[512];
	int rc;

	if (!*dir)
		dir = NW_TEMPLATES_DIR;
	s->max_attempts = cint(w, "max_attempts", 5, 1, 1000);
	if (nw_mailbox_parse(from, s->from_name, sizeof(s->from_name), s->from_addr,
	    sizeof(s->from_addr)) != 0) {
		shop_log_error("%s.mail_from: not a mailbox (\"Shop <shop@shop.test>\")", w->name);
		rc = SHOP_EINVAL;
		goto out;
	}
	s->msgid_domain = strchr(s->from_addr, '@') + 1;
	rc = nw_templates_load(&s->tpl, dir, err, sizeof(err));
	if (rc) {
		shop_log_error("templates: %s", err);
		goto out;
	}
	if (strcmp(mode, "spool") == 0) {
		s->dlv.mode = NW_DELIVER_SPOOL;
		rc = conf_spool(w, s);
	} else if (strcmp(mode, "smtp") == 0) {
		s->dlv.mode = NW_DELIVER_SMTP;
		rc = conf_smtp(w, s);
	} else {
		shop_log_error("%s.delivery: spool or smtp", w->name);
		rc = SHOP_EINVAL;
	}
	if (rc == 0)
		rc = nw_deliver_init(&s->dlv);
	if (rc)
		goto out;
	shop_log_info("templates from %s, mail from %s, max_attempts %lld", dir, s->from_addr,
	    s->max_attempts);
	w->user = s;
	return 0;
out:
	nw_templates_free(&s->tpl);
	free(s);
	return rc;
}

void nw_fini(struct shop_worker_ctx *w)
{
	struct nw_state *s = w->user;

	if (!s)
		return;
	nw_deliver_fini(&s->dlv);
	nw_templates_free(&s->tpl);
	free(s);
	w->user = NULL;
}

/* ---- the event ---- */

static bool get_int(json_object *obj, const char *k, long long min, long long max,
    long long *out)
{
	json_object *v;

	if (!json_object_object_get_ex(obj, k, &v) || !json_object_is_type(v, json_type_int))
		return false;
	*out = (long long)json_object_get_int64(v);
	return *out >= min && *out <= max;
}

/* A string of the payload (NULL when absent, not a string, or empty). */
static const char *get_str(json_object *obj, const char *k)
{
	json_object *v;

	if (!json_object_object_get_ex(obj, k, &v) || !json_object_is_type(v, json_type_string) ||
	    json_object_get_string_len(v) == 0)
		return NULL;
	return json_object_get_string(v);
}

static int parse_event(struct note *n)
{
	json_object *p = n->ev->payload;
	long long v;

	if (!get_int(p, "user_id", 1, MAX_ID, &n->user_id)) {
		shop_log_error("%s %s: user_id missing or invalid", n->ev->event_type,
		    n->ev->event_id);
		return SHOP_EINVAL;
	}
	if (nw_kinds[n->kind].order && !get_int(p, "order_id", 1, MAX_ID, &n->order_id)) {
		shop_log_error("%s %s: order_id missing or invalid", n->ev->event_type,
		    n->ev->event_id);
		return SHOP_EINVAL;
	}
	n->carrier = get_str(p, "carrier");
	n->tracking = get_str(p, "tracking_number");
	n->reason = get_str(p, "reason");
	n->expires_at = get_str(p, "expires_at");
	n->amount_currency = get_str(p, "currency");
	if (get_int(p, "amount_cents", 0, INT64_MAX, &v) ||
	    get_int(p, "total_cents", 0, INT64_MAX, &v))
		n->amount = v;
	else
		n->amount_currency = NULL;
	return 0;
}

/* A formatted amount in arena memory; SHOP_EINVAL for a bad currency. */
static int money(struct note *n, long long minor, const char *currency, const char **out)
{
	char *buf = shop_arena_alloc(n->w->arena, 48);

	if (nw_money_format(buf, 48, minor, currency) < 0) {
		shop_log_error("%s %s: cannot format %lld %s", n->ev->event_type, n->ev->event_id,
		    minor, currency ? currency : "(none)");
		return SHOP_EINVAL;
	}
	*out = buf;
	return 0;
}

/* "2026-11-21T12:15:00Z" → "2026-11-21 12:15 UTC"; anything else as is. */
static const char *when(struct note *n, const char *rfc3339)
{
	const char *s = rfc3339;

	if (!s)
		return "";
	if (strlen(s) >= 16 && s[4] == '-' && s[7] == '-' && s[10] == 'T' && s[13] == ':')
		return shop_arena_printf(n->w->arena, "%.10s %.5s UTC", s, s + 11);
	return s;
}

/* Reads the user, the order and its lines, and fills the template values. */
static int load(struct note *n)
{
	struct shop_db *db = n->w->db;
	struct shop_arena *a = n->w->arena;
	struct shop_rows rows;
	const char *v[NW_V_COUNT] = { 0 };
	int rc;

	rc = shop_db_query(db, a, &rows, NW_SQL_USER, "i", n->user_id);
	if (rc < 0)
		return rc;
	if (rows.n == 0) {
		shop_log_error("%s %s: no user %lld", n->ev->event_type, n->ev->event_id, n->user_id);
		return SHOP_EINVAL;
	}
	n->email = shop_row_str(&rows.row[0], 0);
	n->name = shop_row_str(&rows.row[0], 1);
	v[NW_V_NAME] = n->name;
	v[NW_V_EMAIL] = n->email;
	if (nw_kinds[n->kind].order) {
		rc = shop_db_query(db, a, &rows, NW_SQL_ORDER, "i", n->order_id);
		if (rc < 0)
			return rc;
		if (rows.n == 0 || shop_row_int(&rows.row[0], 0) != n->user_id) {
			shop_log_error("%s %s: no order %lld of user %lld", n->ev->event_type,
			    n->ev->event_id, n->order_id, n->user_id);
			return SHOP_EINVAL;
		}
		n->total = shop_row_int(&rows.row[0], 1);
		n->currency = shop_row_str(&rows.row[0], 2);
		v[NW_V_ORDER_NUMBER] = shop_arena_printf(a, "%lld", n->order_id);
		v[NW_V_CURRENCY] = n->currency;
		if ((rc = money(n, n->total, n->currency, &v[NW_V_TOTAL])) != 0)
			return rc;
		if (n->amount_currency)
			rc = money(n, n->amount, n->amount_currency, &v[NW_V_AMOUNT]);
		else
			v[NW_V_AMOUNT] = v[NW_V_TOTAL];
		if (rc)
			return rc;
		rc = shop_db_query(db, a, &rows, NW_SQL_ITEMS, "ii", n->order_id,
		    (long long)NW_MAX_LINES);
		if (rc < 0)
			return rc;
		n->nlines = rows.n;
		n->lines = shop_arena_calloc(a, (rows.n ? rows.n : 1) * sizeof(*n->lines));
		for (size_t i = 0; i < rows.n; i++) {
			const struct shop_row *r = &rows.row[i];
			struct nw_var *lv = shop_arena_calloc(a, NW_L_COUNT * sizeof(*lv));

			for (size_t k = 0; k < NW_L_COUNT; k++)
				lv[k].key = nw_line_keys[k];
			lv[NW_L_NAME].value = shop_row_str(r, 0);
			lv[NW_L_QUANTITY].value = shop_row_str(r, 1);
			rc = money(n, shop_row_int(r, 2), n->currency, &lv[NW_L_UNIT_PRICE].value);
			if (rc == 0)
				rc = money(n, shop_row_int(r, 3), n->currency, &lv[NW_L_LINE_TOTAL].value);
			if (rc)
				return rc;
			n->lines[i] = (struct nw_record){ lv, NW_L_COUNT };
		}
	}
	v[NW_V_EXPIRES_AT] = when(n, n->expires_at);
	v[NW_V_CARRIER] = n->carrier;
	v[NW_V_TRACKING_NUMBER] = n->tracking;
	v[NW_V_REASON] = n->reason;
	for (size_t k = 0; k < NW_V_COUNT; k++)
		n->vars[k] = (struct nw_var){ nw_var_keys[k], v[k] ? v[k] : "" };
	return 0;
}

static struct nw_tctx tctx(const struct note *n)
{
	return (struct nw_tctx){ n->vars, NW_V_COUNT, n->lines, n->nlines };
}

/* ---- the claim ---- */

static int claim_tx(struct shop_db *db, void *arg)
{
	struct note *n = arg;
	struct nw_state *s = n->w->user;
	unsigned char rnd[8];
	char hex[17];
	int rc;

	rc = shop_inbox_claim(db, NW_SQL_CLAIM, NW_CONSUMER, n->ev->event_id);
	if (rc == SHOP_EDUP)
		return DUPLICATE;
	if (rc < 0)
		return rc;
	rc = shop_db_exec(db, NW_SQL_INSERT, "issss", n->user_id, n->ev->event_id,
	    nw_kinds[n->kind].name, n->email, n->subject_buf);
	if (rc == SHOP_EDUP)
		return DUPLICATE; /* a row without its claim: treat it as claimed */
	if (rc < 0)
		return rc;
	n->id = shop_db_last_id(db);
	shop_random_bytes(rnd, sizeof(rnd));
	shop_hex_encode(hex, rnd, sizeof(rnd));
	snprintf(n->message_id_buf, sizeof(n->message_id_buf), "<n%lld.%s@%s>", n->id, hex,
	    s->msgid_domain);
	rc = shop_db_exec(db, NW_SQL_MESSAGE_ID, "si", n->message_id_buf, n->id);
	if (rc < 0)
		return rc;
	return rc == 1 ? 0 : SHOP_EDB;
}

/* The row of an event claimed earlier. */
static int find_row(struct note *n)
{
	struct shop_rows rows;
	const struct shop_row *r;
	int rc;

	rc = shop_db_query(n->w->db, n->w->arena, &rows, NW_SQL_BY_EVENT, "s", n->ev->event_id);
	if (rc < 0)
		return rc;
	if (rows.n == 0)
		return SHOP_ENOTFOUND;
	r = &rows.row[0];
	n->id = shop_row_int(r, 0);
	n->status = shop_row_str(r, 1);
	n->attempts = shop_row_int(r, 2);
	n->recipient = shop_row_str(r, 3);
	n->subject = shop_row_str(r, 4);
	n->message_id = shop_row_str(r, 5);
	return 0;
}

/* ---- delivery ---- */

static bool unrecorded_has(const struct nw_state *s, long long id)
{
	for (unsigned i = 0; i < s->nunrecorded; i++) {
		if (s->unrecorded[i] == id)
			return true;
	}
	return false;
}

static void unrecorded_add(struct nw_state *s, long long id)
{
	if (unrecorded_has(s, id))
		return;
	s->unrecorded[s->unrecorded_next] = id;
	s->unrecorded_next = (s->unrecorded_next + 1) % UNRECORDED_MAX;
	if (s->nunrecorded < UNRECORDED_MAX)
		s->nunrecorded++;
}

static void unrecorded_del(struct nw_state *s, long long id)
{
	for (unsigned i = 0; i < s->nunrecorded; i++) {
		if (s->unrecorded[i] == id)
			s->unrecorded[i] = 0;
	}
}

/* Records SENT (autocommit). */
static int record_sent(struct note *n, const char *how)
{
	struct nw_state *s = n->w->user;
	int rc = shop_db_exec(n->w->db, NW_SQL_SENT, "i", n->id);

	if (rc < 0) {
		unrecorded_add(s, n->id);
		shop_log_error("notification %lld was delivered but SENT could not be recorded (%s):"
		    " not sending it again from this process", n->id, shop_strerror(rc));
		return rc;
	}
	unrecorded_del(s, n->id);
	shop_log_info("notification %lld (%s) SENT %s, %s", n->id, nw_kinds[n->kind].name, how,
	    n->message_id);
	return 0;
}

/* Records a failure: PENDING with a retry code, or FAILED and SHOP_EINVAL. */
static int record_failure(struct note *n, const char *why, bool final)
{
	int rc;

	if (final) {
		rc = shop_db_exec(n->w->db, NW_SQL_FAILED, "si", why, n->id);
		if (rc < 0)
			return rc;
		shop_log_error("notification %lld (%s) FAILED after %lld attempts: %s", n->id,
		    nw_kinds[n->kind].name, n->attempts, why);
		return SHOP_EINVAL;
	}
	rc = shop_db_exec(n->w->db, NW_SQL_RETRY, "si", why, n->id);
	if (rc < 0)
		return rc;
	shop_log_warn("notification %lld (%s) attempt %lld failed: %s", n->id,
	    nw_kinds[n->kind].name, n->attempts, why);
	return SHOP_EUNAVAIL;
}

/* The attempts are used up: ours, or the runner's count of this message
 * (a message can also have been retried for reasons before the send). */
static bool last_attempt(const struct note *n)
{
	const struct nw_state *s = n->w->user;

	return n->attempts >= s->max_attempts || (long long)n->ev->attempt + 1 >= s->max_attempts;
}

static int deliver(struct note *n)
{
	struct nw_state *s = n->w->user;
	const struct nw_tpl *tp = &s->tpl.t[n->kind];
	struct nw_tctx c = tctx(n);
	struct nw_buf text = { 0 }, html = { 0 }, msg = { 0 };
	struct nw_send_result res;
	struct nw_mail m;
	char err[200];
	int rc;

	if (unrecorded_has(s, n->id)) {
		rc = record_sent(n, "(delivered earlier by this process)");
		goto out;
	}
	if (s->dlv.mode == NW_DELIVER_SPOOL) {
		rc = nw_spool_exists(&s->dlv, n->id);
		if (rc < 0)
			goto out;
		if (rc == 1) {
			rc = record_sent(n, "(its spool file was written before a restart)");
			goto out;
		}
	}
	if ((rc = nw_render(&text, tp->text, strlen(tp->text), &c, false, err, sizeof(err))) ||
	    (rc = nw_render(&html, tp->html, strlen(tp->html), &c, true, err, sizeof(err)))) {
		/* checked at start: cannot happen unless the templates changed under us */
		shop_log_error("notification %lld: template %s: %s", n->id, nw_kinds[n->kind].file, err);
		rc = record_failure(n, "template error", true);
		goto out;
	}
	m = (struct nw_mail){
		.from_name = s->from_name,
		.from_addr = s->from_addr,
		.to_name = n->name,
		.to_addr = n->recipient,
		.subject = n->subject,
		.message_id = n->message_id,
		.date = shop_now(),
		.text = text.p,
		.html = html.p,
	};
	if (nw_mime_build(&msg, &m) != 0) {
		rc = record_failure(n, "the recipient address is not a plain ASCII address", true);
		goto out;
	}

	/* The intent, committed before the send. */
	rc = shop_db_exec(n->w->db, NW_SQL_SENDING, "i", n->id);
	if (rc < 0)
		goto out;
	if (rc == 0) {
		/* SENT or FAILED meanwhile (another consumer of a redelivered copy) */
		shop_log_info("notification %lld: no longer to be sent", n->id);
		goto out;
	}
	n->attempts++;
	rc = nw_deliver_send(&s->dlv, n->id, n->recipient, msg.p, msg.len, &res);
	if (rc == 0) {
		shop_metrics_email_sent();
		/* The outcome, at once: nothing may sit between the send and this commit. */
		rc = record_sent(n, s->dlv.mode == NW_DELIVER_SPOOL ? "to the spool" : "by SMTP");
		goto out;
	}
	rc = record_failure(n, res.err, res.permanent || last_attempt(n));
out:
	nw_buf_free(&text);
	nw_buf_free(&html);
	nw_buf_free(&msg);
	return rc;
}

int nw_handle(struct shop_worker_ctx *w, const struct shop_event *ev)
{
	struct nw_state *s = w->user;
	struct note *n;
	struct nw_tctx c;
	char err[200];
	int kind = nw_kind_of(ev->event_type), rc;

	if (kind < 0) {
		/* The queue is bound to nothing else: a message that cannot be ours. */
		shop_log_error("unexpected event type %s (%s)", ev->event_type, ev->event_id);
		return SHOP_EINVAL;
	}
	n = shop_arena_calloc(w->arena, sizeof(*n));
	n->w = w;
	n->ev = ev;
	n->kind = (enum nw_kind)kind;
	if ((rc = parse_event(n)) != 0 || (rc = load(n)) != 0)
		return rc;
	c = tctx(n);
	rc = nw_render_subject(n->subject_buf, sizeof(n->subject_buf), s->tpl.t[kind].subject, &c,
	    err, sizeof(err));
	if (rc) {
		shop_log_error("%s %s: subject template: %s", ev->event_type, ev->event_id, err);
		return SHOP_EINVAL;
	}

	rc = shop_db_tx(w->db, claim_tx, n);
	if (rc == DUPLICATE) {
		rc = find_row(n);
		if (rc == SHOP_ENOTFOUND) {
			shop_log_warn("%s %s: claimed, but without a notification: nothing to send",
			    ev->event_type, ev->event_id);
			return 0;
		}
		if (rc < 0)
			return rc;
	} else if (rc != 0) {
		return rc;
	} else {
		n->status = "PENDING";
		n->attempts = 0;
		n->recipient = n->email;
		n->subject = n->subject_buf;
		n->message_id = n->message_id_buf;
		shop_log_info("notification %lld (%s) for event %s", n->id, nw_kinds[kind].name,
		    ev->event_id);
	}

	if (strcmp(n->status, "SENT") == 0) {
		shop_log_info("notification %lld was sent already: nothing to do", n->id);
		return 0;
	}
	if (strcmp(n->status, "FAILED") == 0) {
		shop_log_error("notification %lld FAILED earlier: dead-lettered again", n->id);
		return SHOP_EINVAL;
	}
	if (!n->message_id || !n->recipient || !n->subject)
		return SHOP_EDB; /* set in the creating transaction: cannot be NULL */
	return deliver(n);
}
