/* The sim provider (provider.h): a card processor's outcomes by payment
 * method, decided at once; a slow card is an outcome with a delay. Refunds
 * always succeed, at once. */
#include <stdio.h>
#include <string.h>

#include "lib/conf.h"
#include "lib/err.h"
#include "lib/util.h"
#include "workers/payment-sim/provider.h"

static unsigned slow_ms = 2000;

static int sim_init(const struct shop_conf *conf)
{
	long long v = shop_conf_int(conf, "payment-sim.slow_ms", 2000);

	if (v < 0 || v > 600000)
		return SHOP_EINVAL;
	slow_ms = (unsigned)v;
	return 0;
}

static int sim_charge(const struct charge_request *req, struct charge_result *res)
{
	unsigned char rnd[12];
	char hex[2 * sizeof(rnd) + 1];
	const char *m = req->payment_method;

	memset(res, 0, sizeof(*res));
	shop_random_bytes(rnd, sizeof(rnd));
	shop_hex_encode(hex, rnd, sizeof(rnd));
	snprintf(res->provider_ref, sizeof(res->provider_ref), "sim_%s", hex);
	if (strcmp(m, "pm_card_ok") == 0) {
		res->outcome = CHARGE_SUCCEEDED;
	} else if (strcmp(m, "pm_card_slow") == 0) {
		res->outcome = CHARGE_SUCCEEDED;
		res->delay_ms = slow_ms;
	} else if (strcmp(m, "pm_card_declined") == 0) {
		res->outcome = CHARGE_FAILED;
		snprintf(res->reason, sizeof(res->reason), "card_declined");
	} else {
		res->outcome = CHARGE_FAILED;
		snprintf(res->reason, sizeof(res->reason), "unknown_payment_method");
	}
	return 0;
}

static int sim_refund(const struct refund_request *req, struct refund_result *res)
{
	unsigned char rnd[12];
	char hex[2 * sizeof(rnd) + 1];

	(void)req;
	memset(res, 0, sizeof(*res));
	shop_random_bytes(rnd, sizeof(rnd));
	shop_hex_encode(hex, rnd, sizeof(rnd));
	snprintf(res->refund_ref, sizeof(res->refund_ref), "simre_%s", hex);
	return 0;
}

const struct provider_ops sim_provider = {
	.name = "sim",
	.init = sim_init,
	.charge = sim_charge,
	.refund = sim_refund,
};
