/* The notification worker (notify domain): consumes notify.events and sends
 * one email per event of docs/events.md that concerns a customer.
 *
 *   event              kind               what the mail says
 *   user.registered    WELCOME            welcome
 *   order.placed       ORDER_PLACED       the lines and the total, pay before expiry
 *   payment.succeeded  PAYMENT_SUCCEEDED  payment received (receipt with lines)
 *   payment.failed     PAYMENT_FAILED     the reason, the order stays payable
 *   order.cancelled    ORDER_CANCELLED
 *   order.expired      ORDER_EXPIRED
 *   order.shipped      ORDER_SHIPPED      carrier and tracking number
 *   order.delivered    ORDER_DELIVERED
 *   order.refunded     ORDER_REFUNDED     the amount refunded
 *
 * Each event gets exactly one row in shop_notify.notifications (UNIQUE
 * event_id), created in the transaction that claims the event; delivery
 * (handle.c) records its intent before and its outcome after each send, so
 * that a redelivered message or a restart never sends a mail twice when the
 * first send is known to have gone.
 *
 *   main.c            the worker's description
 *   handle.c          configuration, the handler and the delivery state machine
 *   render.c          templates ({{placeholders}}), money, HTML escaping
 *   mime.c            the MIME message (multipart/alternative, QP, RFC 2047)
 *   deliver.c         delivery: spool files or SMTP (libcurl)
 *   notify_worker_sql.c   every SQL statement
 *   templates/        <kind>.txt (first line "Subject: ...") and <kind>.html */
#ifndef SHOP_NOTIFY_WORKER_H
#define SHOP_NOTIFY_WORKER_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/worker.h"

#define NW_CONSUMER "notify"          /* the consumer name in processed_events */
#define NW_MAX_LINES 200              /* order lines shown in a mail, at most */

/* Notification kinds, in the order of the ENUM of the notifications table. */
enum nw_kind {
	NW_WELCOME,
	NW_ORDER_PLACED,
	NW_PAYMENT_SUCCEEDED,
	NW_PAYMENT_FAILED,
	NW_ORDER_CANCELLED,
	NW_ORDER_EXPIRED,
	NW_ORDER_SHIPPED,
	NW_ORDER_DELIVERED,
	NW_ORDER_REFUNDED,
	NW_KIND_COUNT
};

struct nw_kind_info {
	const char *event_type;   /* "order.placed" */
	const char *name;         /* "ORDER_PLACED" (the notifications.kind value) */
	const char *file;         /* "order_placed": templates/<file>.txt, .html */
	bool order;               /* the event names an order (order_id) */
};

extern const struct nw_kind_info nw_kinds[NW_KIND_COUNT];

/* The kind of an event type, or -1 when none. */
int nw_kind_of(const char *event_type);

/* ---- render.c: a growable buffer, money, HTML escaping, templates ---- */

/* A byte buffer, always NUL-terminated once anything was added. Growing
 * aborts on out-of-memory (lib/mem.h); free with nw_buf_free. */
struct nw_buf {
	char *p;
	size_t len, cap;
};

void nw_buf_add(struct nw_buf *b, const void *s, size_t n);
void nw_buf_adds(struct nw_buf *b, const char *s);
void nw_buf_addc(struct nw_buf *b, char c);
void nw_buf_free(struct nw_buf *b);

/* Minor-unit digits of an ISO-4217 code (JPY 0, KWD 3, most 2), or
 * SHOP_EINVAL when code is not three upper-case letters. */
int nw_currency_decimals(const char *code);

/* Formats an amount in minor units for people: "€1,234.50", "$12.99",
 * "£0.05", "¥1,299", "CHF 12.99" (a symbol where one is unambiguous, else
 * the code and a space). Returns the length written, SHOP_EINVAL for a
 * negative amount or a bad code (amounts in mails are never negative), or
 * SHOP_ETOOBIG when out is too small (48 bytes always suffice). */
int nw_money_format(char *out, size_t outsz, long long minor, const char *currency);

/* Appends s[0..n) with & < > " ' escaped as HTML entities. */
void nw_html_escape(struct nw_buf *b, const char *s, size_t n);

/* The keys a template may use: the scalars, and those of each order line.
 * handle.c fills them in this order. */
enum nw_var_idx {
	NW_V_NAME,            /* the customer's name */
	NW_V_EMAIL,
	NW_V_ORDER_NUMBER,    /* "123" */
	NW_V_TOTAL,           /* the order total, formatted: "€12.99" */
	NW_V_AMOUNT,          /* the payment's (refund's) amount, formatted */
	NW_V_CURRENCY,        /* "EUR" */
	NW_V_EXPIRES_AT,      /* order.placed: "2026-11-21 12:15 UTC" */
	NW_V_CARRIER,         /* order.shipped, order.delivered */
	NW_V_TRACKING_NUMBER,
	NW_V_REASON,          /* payment.failed */
	NW_V_COUNT
};

enum nw_line_idx {
	NW_L_NAME,            /* the product's name as ordered */
	NW_L_QUANTITY,
	NW_L_UNIT_PRICE,      /* formatted */
	NW_L_LINE_TOTAL,      /* formatted */
	NW_L_COUNT
};

extern const char *const nw_var_keys[NW_V_COUNT];
extern const char *const nw_line_keys[NW_L_COUNT];

/* A template's values: key → text (UTF-8). */
struct nw_var {
	const char *key;
	const char *value;
};

/* One repeated record of a list section ({{#lines}}...{{/lines}}). */
struct nw_record {
	const struct nw_var *vars;
	size_t nvars;
};

/* The values a template is rendered with: scalars, and one list, "lines". */
struct nw_tctx {
	const struct nw_var *vars;
	size_t nvars;
	const struct nw_record *lines;
	size_t nlines;
};

/* Renders a template (mustache-like, no logic):
 *   {{key}}             the value (HTML-escaped when html is true)
 *   {{#lines}}..{{/lines}}  the block once per line; inside, the line's keys
 *                       (name, quantity, unit_price, line_total) shadow the
 *                       scalars
 *   {{#key}}..{{/key}}  the block when key's value is not empty
 *   {{^key}}..{{/key}}  the block when key's value is empty (or no lines)
 * Appends to out. Returns 0, or SHOP_EINVAL for an unknown key, an
 * unterminated tag or an unclosed section, with a reason in err. */
int nw_render(struct nw_buf *out, const char *tpl, size_t len, const struct nw_tctx *c,
    bool html, char *err, size_t errsz);

/* A kind's templates: the subject (from the first line "Subject: ..." of
 * the .txt file), the plain text body (the rest) and the HTML body. */
struct nw_tpl {
	char *subject;
	char *text;
	char *html;
};

struct nw_templates {
	struct nw_tpl t[NW_KIND_COUNT];
};

/* Loads <dir>/<file>.txt and .html of every kind and renders each once with
 * every known key, so that a typo in a template stops the worker at start
 * rather than a mail later. Returns 0, SHOP_EIO (a file is missing or
 * unreadable) or SHOP_EINVAL (a template is malformed), reason in err. */
int nw_templates_load(struct nw_templates *t, const char *dir, char *err, size_t errsz);
void nw_templates_free(struct nw_templates *t);

/* Renders a subject template into out (size outsz): controls become
 * blanks, blanks are collapsed and trimmed, and a subject longer than
 * outsz - 1 bytes is cut at a character boundary. Returns 0 or SHOP_EINVAL
 * (template error, reason in err). */
int nw_render_subject(char *out, size_t outsz, const char *tpl, const struct nw_tctx *c,
    char *err, size_t errsz);

/* ---- mime.c: the message ---- */

struct nw_mail {
	const char *from_name;    /* display name (UTF-8), may be "" */
	const char *from_addr;    /* addr-spec (ASCII) */
	const char *to_name;      /* display name (UTF-8), may be "" */
	const char *to_addr;      /* addr-spec (ASCII) */
	const char *subject;      /* UTF-8 */
	const char *message_id;   /* "<n12.3f9a...@shop.test>" */
	long long date;           /* unix seconds */
	const char *text;         /* plain text body, UTF-8, "\n" line ends */
	const char *html;         /* HTML body, UTF-8 */
	const char *boundary;     /* NULL: a random one */
};

/* Builds an RFC 5322 / MIME message: Date, From, To, Subject (RFC 2047
 * encoded-words when not plain ASCII), Message-ID, MIME-Version,
 * multipart/alternative with a text/plain and a text/html part, both UTF-8
 * and quoted-printable; CRLF line ends, no line over 78 characters.
 * Appends to out. Returns 0 or SHOP_EINVAL (an address that is not a plain
 * ASCII addr-spec, a message id that is not <...>). */
int nw_mime_build(struct nw_buf *out, const struct nw_mail *m);

/* True for a plain ASCII addr-spec local@domain without blanks, controls or
 * the specials that would break a header or an SMTP command. */
bool nw_addr_valid(const char *addr);

/* Splits "Shop <shop@shop.test>" (or a bare "shop@shop.test") into a
 * display name and an address, copied into name/addr (sizes namesz/addrsz).
 * Returns 0 or SHOP_EINVAL. */
int nw_mailbox_parse(const char *s, char *name, size_t namesz, char *addr, size_t addrsz);

/* Appends the quoted-printable encoding of s[0..n) (RFC 2045 6.7): "\n" and
 * "\r\n" become hard CRLF line breaks, lines are at most 76 characters. */
void nw_qp_encode(struct nw_buf *b, const char *s, size_t n);

/* Appends "Name: value" CRLF, the value as is when it is short printable
 * ASCII (folded at blanks to 78 columns), else as RFC 2047 "B" encoded-words
 * of UTF-8 on folded lines. Controls in value are replaced by blanks. */
void nw_header_text(struct nw_buf *b, const char *name, const char *value);

/* The RFC 5322 date of a unix time: "Sat, 21 Nov 2026 12:00:00 +0000". */
void nw_date_rfc5322(char out[40], long long t);

/* ---- deliver.c ---- */

enum nw_delivery { NW_DELIVER_SPOOL, NW_DELIVER_SMTP };

struct nw_deliver {
	enum nw_delivery mode;
	char spool_dir[512];
	/* smtp */
	char url[600];            /* smtp://host:port/<EHLO domain> */
	long use_ssl;             /* CURLUSESSL_NONE / TRY / ALL */
	const char *user;         /* NULL: no AUTH; strings belong to the config */
	const char *password;
	char mail_from[300];      /* "<shop@shop.test>" */
	long connect_timeout_ms;
	long timeout_ms;
	void *curl;               /* CURL *, kept for connection reuse */
};

/* Outcome of one send: err holds a reason fit for last_error and the log
 * (never the body, never a credential); permanent is true when retrying
 * cannot help (an SMTP 5xx other than authentication). */
struct nw_send_result {
	char err[256];
	bool permanent;
};

/* Creates the spool directory if needed, removes temporary files left by a
 * crash (older than 10 minutes), or sets up libcurl. Returns 0 or SHOP_EIO. */
int nw_deliver_init(struct nw_deliver *d);
void nw_deliver_fini(struct nw_deliver *d);

/* Spool: 1 when <spool_dir>/<id>.eml exists (the notification was
 * delivered), 0 when not, SHOP_EIO when that cannot be told. */
int nw_spool_exists(const struct nw_deliver *d, long long id);

/* Delivers msg. Spool: writes a temporary file, fsyncs it, renames it to
 * <id>.eml without replacing one that exists (then it counts as delivered),
 * fsyncs the directory. SMTP: one transaction to rcpt. Returns 0 when the
 * message was handed over, or SHOP_EIO / SHOP_EUNAVAIL with r filled. */
int nw_deliver_send(struct nw_deliver *d, long long id, const char *rcpt, const char *msg,
    size_t len, struct nw_send_result *r);

/* ---- handle.c ---- */

enum nw_stmt {
	NW_SQL_CLAIM,         /* consumer, event_id */
	NW_SQL_USER,          /* user id → email, name */
	NW_SQL_ORDER,         /* order id → user_id, total_cents, currency */
	NW_SQL_ITEMS,         /* order id → name, quantity, unit_price_cents, line_total_cents */
	NW_SQL_INSERT,        /* user_id, event_id, kind, recipient, subject */
	NW_SQL_MESSAGE_ID,    /* message_id, id */
	NW_SQL_BY_EVENT,      /* event_id → id, status, attempts, recipient, subject, message_id */
	NW_SQL_SENDING,       /* id: PENDING|SENDING → SENDING, attempts + 1 */
	NW_SQL_SENT,          /* id: PENDING|SENDING → SENT, sent_at */
	NW_SQL_RETRY,         /* last_error, id: SENDING → PENDING */
	NW_SQL_FAILED,        /* last_error, id: PENDING|SENDING → FAILED */
	NW_SQL_COUNT
};

extern const char *const nw_sql[NW_SQL_COUNT];

int nw_init(struct shop_worker_ctx *w);
void nw_fini(struct shop_worker_ctx *w);
int nw_handle(struct shop_worker_ctx *w, const struct shop_event *ev);

#endif
