/* The payments app: payments of orders and the provider's signed webhook, in
 * the database shop_payments (reading shop_orders.orders). The app never
 * calls a provider: POST /payments writes payment.requested to the outbox,
 * the provider's worker (workers/payment-sim for "sim") charges and answers
 * through POST /payments/webhook. A refund works the same way: POST
 * /payments/{id}/refund writes refund.requested, the provider answers with
 * the webhook refund.succeeded. Routes in routes.c, POST/GET /payments in
 * handlers.c, the refund request in refund.c and refund_request.c (shared
 * with the payments worker), the webhook in webhook.c, every SQL statement
 * in payments_sql.c, the signature in signature.c. */
#ifndef PAY_PAYMENTS_H
#define PAY_PAYMENTS_H

#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>

#include "fcgi-apps/payments/signature.h"
#include "lib/idem.h"
#include "lib/router.h"

/* The app's statements, indexes into payments_sql[]. */
enum pay_stmt {
	SQL_ORDER_GET,
	SQL_LIVE_PAYMENT,
	SQL_PAYMENT_INSERT,
	SQL_PAYMENT_GET,
	SQL_PAYMENT_LOCK,
	SQL_PAYMENT_SUCCEED,
	SQL_PAYMENT_FAIL,
	SQL_REFUND_REQUEST,
	SQL_PAYMENT_REFUND,
	SQL_WEBHOOK_INSERT,
	SQL_OUTBOX_INSERT,
	SQL_IDEM_GET,
	SQL_IDEM_PUT,
	SQL_IDEM_DEL_EXPIRED,
	SQL_INBOX_CLAIM,        /* the payments worker's (workers/payments) */
	SQL_COUNT
};

/* Columns of SQL_PAYMENT_GET, in this order. */
enum pay_col {
	PAY_ID,
	PAY_ORDER,
	PAY_USER,
	PAY_AMOUNT,
	PAY_CURRENCY,
	PAY_STATUS,
	PAY_PROVIDER,
	PAY_PROVIDER_REF,
	PAY_FAILURE,
	PAY_CREATED,
	PAY_UPDATED,
	PAY_REFUND_REQUESTED,  /* NULL unless a refund was asked for */
	PAY_REFUND_RESTOCK,    /* "0" / "1" */
	PAY_NCOLS
};

extern const char *const payments_sql[SQL_COUNT];

extern const struct shop_route payments_routes[];
extern const size_t payments_nroutes;

/* Per process, from [payments] (main.c). */
struct pay_ctx {
	char provider[33];                    /* provider (default "sim") */
	long long tolerance;                  /* webhook_tolerance, seconds (default 300) */
	unsigned char secret[PAY_SECRET_MAX]; /* webhook_secret_file's content */
	size_t secretlen;
};

#define PAY_MAX_ID 9007199254740991LL /* 2^53 - 1: ids stay exact in JSON */

struct shop_req;
struct shop_row;

void h_payment_create(struct shop_req *r);
void h_payment_get(struct shop_req *r);
void h_payment_refund(struct shop_req *r);
void h_webhook(struct shop_req *r);

/* Shared by handlers.c and refund.c. */
extern const struct shop_idem_stmts pay_idem_stmts;

/* The start of an idempotent route (POST /payments, its refund): the
 * Idempotency-Key checked (400) and an answer stored under it replayed.
 * Returns 0 when the request is to be acted on; otherwise it is answered. */
int pay_idem_begin(struct shop_req *r, struct shop_idem *key);

/* A refusal of an idempotent route: the transaction's code and its answer. */
struct pay_refusal {
	int rc;
	int status;
	const char *message, *code, *detail;
};

/* Answers the outcome rc of an idempotent route's transaction: 0, the 202
 * in text; one of refusals (ended by an entry with rc 0), kept under the key,
 * its error naming field (NULL: none); idem_taken, the answer of the
 * concurrent request that stored the key first; anything else a failure. */
void pay_idem_answer(struct shop_req *r, struct shop_idem *key, int rc, const char *text,
    size_t len, const struct pay_refusal *refusals, const char *field, int idem_taken);
/* API.md's Payment from a SQL_PAYMENT_GET/LOCK row: {"payment": {...}}.
 * Cannot fail; the caller owns the result. */
json_object *pay_wrap_payment(const struct shop_row *row);

struct shop_db;
struct shop_rows;
struct shop_arena;

/* Why pay_refund_request refused (positive, so that shop_db_tx hands them
 * back after rolling back). */
enum pay_refund_refusal {
	PAY_REFUND_NOT_FOUND = 1,    /* no such payment */
	PAY_REFUND_NOT_REFUNDABLE,   /* not SUCCEEDED (PROCESSING, FAILED, REFUNDED) */
	PAY_REFUND_IN_PROGRESS,      /* refund_requested_at is set already */
	PAY_REFUND_IDEM_TAKEN,       /* (refund.c) a concurrent request stored the key */
};

/* Inside the caller's transaction, with the statements of payments_sql[]
 * (refund_request.c): locks payment id (of order order_id when > 0: another
 * order's payment counts as not found), and when it is SUCCEEDED without a
 * pending refund sets refund_requested_at and refund_restock and writes
 * refund.requested (docs/events.md) caused by request_id (NULL: the log
 * context's). On success returns 0 with *out = the payment's SQL_PAYMENT_GET
 * row after the change (arena a); otherwise a pay_refund_refusal, before
 * any write, or a db failure code. */
int pay_refund_request(struct shop_db *db, struct shop_arena *a, long long id, long long order_id,
    bool restock, const char *request_id, struct shop_rows *out);

#endif
