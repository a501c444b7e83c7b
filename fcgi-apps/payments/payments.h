/* The payments app: payments of orders and the provider's signed webhook, in
 * the database shop_payments (reading shop_orders.orders). The app never
 * calls a provider: POST /payments writes payment.requested to the outbox,
 * the provider's worker (workers/payment-sim for "sim") charges and answers
 * through POST /payments/webhook. Routes in routes.c, POST/GET /payments in
 * handlers.c, the webhook in webhook.c, every SQL statement in
 * payments_sql.c, the signature in signature.c. */
#ifndef PAY_PAYMENTS_H
#define PAY_PAYMENTS_H

#include <stddef.h>

#include "fcgi-apps/payments/signature.h"
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
	SQL_WEBHOOK_INSERT,
	SQL_OUTBOX_INSERT,
	SQL_IDEM_GET,
	SQL_IDEM_PUT,
	SQL_IDEM_DEL_EXPIRED,
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
void h_webhook(struct shop_req *r);

#endif
