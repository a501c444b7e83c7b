/* A payment provider as the shop sees it: something that charges a payment,
 * refunds a charge, and tells the outcome later through the signed webhook.
 * The payments app never calls a provider; it writes payment.requested or
 * refund.requested (docs/events.md) with the provider's name, and that
 * provider's worker charges or refunds and delivers the outcome to POST
 * /api/v1/payments/webhook. A real provider would be a struct like
 * sim_provider whose charge() and refund() call its API (and whose webhook
 * comes from the provider itself, not from us). */
#ifndef PAY_PROVIDER_H
#define PAY_PROVIDER_H

#include <stdbool.h>

struct shop_conf;

struct charge_request {
	long long payment_id, order_id, user_id;
	long long amount_cents;
	const char *currency;         /* ISO-4217 */
	const char *payment_method;   /* the client's token ("pm_card_ok", ...) */
};

enum charge_outcome { CHARGE_SUCCEEDED, CHARGE_FAILED };

struct charge_result {
	enum charge_outcome outcome;
	char provider_ref[65];        /* the provider's id of the charge */
	char reason[65];              /* on CHARGE_FAILED: a code ("card_declined") */
	unsigned delay_ms;            /* the outcome is known this long after the charge */
};

/* A full refund of a charge that succeeded. */
struct refund_request {
	long long payment_id, order_id, user_id;
	long long amount_cents;
	const char *currency;         /* ISO-4217 */
	const char *provider_ref;     /* the charge's id, from its webhook */
};

struct refund_result {
	char refund_ref[65];          /* the provider's id of the refund (logs) */
	unsigned delay_ms;            /* the refund is confirmed this long after */
};

struct provider_ops {
	const char *name;             /* payments.provider / the event's "provider" */
	/* Once at start (optional). Returns 0 or a failure code. */
	int (*init)(const struct shop_conf *conf);
	/* Charges req and fills res. Returns 0, SHOP_EINVAL when the request can
	 * never be charged (poison), or SHOP_EUNAVAIL (try again later). Must be
	 * quick: a slow outcome is a delay_ms, never a wait. */
	int (*charge)(const struct charge_request *req, struct charge_result *res);
	/* Refunds req and fills res. The outcome is always a success told later
	 * by the webhook refund.succeeded (a refund of a settled charge is not
	 * declined). Returns 0, SHOP_EINVAL (poison) or SHOP_EUNAVAIL; quick. */
	int (*refund)(const struct refund_request *req, struct refund_result *res);
};

/* The built-in simulator (API.md): payment_method pm_card_ok succeeds,
 * pm_card_declined fails (card_declined), pm_card_slow succeeds after
 * [payment-sim] slow_ms (default 2000), anything else fails
 * (unknown_payment_method). provider_ref is "sim_" + 24 random hex digits.
 * A refund always succeeds at once (refund_ref "simre_" + 24 hex digits). */
extern const struct provider_ops sim_provider;

#endif
