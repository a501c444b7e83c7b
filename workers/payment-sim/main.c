/* shop-payment-sim: the built-in "sim" payment provider (API.md "Payments").
 *
 *   shop-payment-sim -c var/shop.conf [-P PIDFILE]
 *
 * Consumes payments.requests (payment.requested and refund.requested,
 * docs/events.md) through the worker runner (lib/worker.h). For each event
 * whose provider is "sim" it charges (sim.c decides by payment_method) or
 * refunds (always succeeds), and delivers the outcome as a signed webhook,
 * exactly as a real provider would: a POST of
 *   {"id": "evt_<payment_id>_<succeeded|failed|refunded>",
 *    "type": "payment.succeeded" | "payment.failed" | "refund.succeeded",
 *    "created": unix, "data": {payment_id, provider_ref, amount_cents,
 *    currency, reason (failures only)}}
 * (for a refund, provider_ref and amount are the refunded charge's)
 * to [payment-sim] webhook_url with Content-Type application/json and
 * Shop-Signature t=<now>,v1=<HMAC> (fcgi-apps/payments/signature.c). The
 * event id is stable per outcome, so a repeated delivery is de-duplicated
 * by the app. Events of other providers are acked and ignored.
 *
 * Nothing waits inside the process, and nothing is lost if it dies: a
 * message is acked only once its outcome was delivered (2xx), or once a copy
 * carrying the decided outcome ("sim" in the payload: outcome, provider_ref,
 * reason, due_ms, created, tries) was republished, with publisher confirms,
 * to payments.requests.retry with a per-message expiration, from which the
 * broker returns it to payments.requests when it expires. That is how
 *   - pm_card_slow waits slow_ms without holding up other charges, and
 *   - a failed delivery (connection refused, 5xx, 408, 429) is retried with
 *     back-off, 200 ms doubling up to 30 s, webhook_max_attempts times in
 *     all (default 100, ~45 min), then dead-lettered to payments.requests.dlq;
 * and the outcome and provider_ref stay the same across every attempt. Any
 * other 4xx means the webhook is wrong (a bug): logged and dead-lettered at
 * once. Caveat: a queue expires messages from its head only, so a slow
 * charge can wait behind a longer back-off already queued in
 * payments.requests.retry (at most 30 s more); this happens only while
 * deliveries are failing.
 *
 * Configuration [payment-sim]: webhook_url (default <http.base_url>/api/v1/
 * payments/webhook), webhook_secret_file (default: payments.webhook_secret_file,
 * then <shop.var_dir>/webhook-secret), slow_ms (2000), webhook_max_attempts
 * (100), webhook_timeout_ms (5000), plus the runner's keys and [amqp]. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <json-c/json.h>

#include "fcgi-apps/payments/signature.h"
#include "lib/amqp.h"
#include "lib/conf.h"
#include "lib/err.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/util.h"
#include "lib/worker.h"
#include "workers/payment-sim/provider.h"

#define QUEUE "payments.requests"
#define RETRY_QUEUE QUEUE ".retry"
#define WEBHOOK_PATH "/api/v1/payments/webhook"
#define BACKOFF_MIN_MS 200
#define BACKOFF_MAX_MS 30000
#define CONFIRM_TIMEOUT_MS 10000
#define EARLY_MS 5               /* an expiration this close to due counts as due */

struct sim {
	const struct provider_ops *provider;
	char url[1024];
	unsigned char secret[PAY_SECRET_MAX];
	size_t secretlen;
	unsigned max_attempts;
	long timeout_ms;
	CURL *curl;
	struct shop_amqp_conf ac;
	struct shop_amqp *amqp;      /* our own, for republishing (no heartbeats) */
};

/* What the webhook tells (its event id ends in the name, outcome_name). */
enum outcome { OUT_SUCCEEDED, OUT_FAILED, OUT_REFUNDED };

/* The payment a webhook is about: its data. */
struct subject {
	long long payment_id;
	long long amount_cents;
	const char *currency;
};

/* The decided outcome, carried by republished copies. */
struct state {
	enum outcome outcome;
	char provider_ref[65];
	char reason[65];
	long long due_ms;            /* wall clock: the outcome is told from then on */
	long long created;           /* the webhook event's "created" */
	unsigned tries;              /* failed deliveries so far */
};

static const char *jstr(json_object *o, const char *name)
{
	json_object *v;

	if (!json_object_object_get_ex(o, name, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static bool jint(json_object *o, const char *name, long long *out)
{
	json_object *v;

	if (!json_object_object_get_ex(o, name, &v) || !json_object_is_type(v, json_type_int))
		return false;
	*out = (long long)json_object_get_int64(v);
	return true;
}

/* payment.requested's payload → req. Returns 0 or SHOP_EINVAL. */
static int read_request(json_object *p, struct charge_request *req, const char **provider)
{
	memset(req, 0, sizeof(*req));
	if (!jint(p, "payment_id", &req->payment_id) || req->payment_id <= 0 ||
	    !jint(p, "order_id", &req->order_id) || !jint(p, "user_id", &req->user_id) ||
	    !jint(p, "amount_cents", &req->amount_cents) || req->amount_cents < 0)
		return SHOP_EINVAL;
	req->currency = jstr(p, "currency");
	req->payment_method = jstr(p, "payment_method");
	*provider = jstr(p, "provider");
	if (!req->currency || strlen(req->currency) != 3 || !req->payment_method || !*provider)
		return SHOP_EINVAL;
	return 0;
}

/* refund.requested's payload → req. Returns 0 or SHOP_EINVAL. */
static int read_refund(json_object *p, struct refund_request *req, const char **provider)
{
	memset(req, 0, sizeof(*req));
	if (!jint(p, "payment_id", &req->payment_id) || req->payment_id <= 0 ||
	    !jint(p, "order_id", &req->order_id) || !jint(p, "user_id", &req->user_id) ||
	    !jint(p, "amount_cents", &req->amount_cents) || req->amount_cents < 0)
		return SHOP_EINVAL;
	req->currency = jstr(p, "currency");
	req->provider_ref = jstr(p, "provider_ref");
	*provider = jstr(p, "provider");
	if (!req->currency || strlen(req->currency) != 3 || !req->provider_ref ||
	    !*req->provider_ref || strlen(req->provider_ref) > 64 || !*provider)
		return SHOP_EINVAL;
	return 0;
}

static int read_state(json_object *o, struct state *st)
{
	const char *outcome = jstr(o, "outcome"), *ref = jstr(o, "provider_ref");
	const char *reason = jstr(o, "reason");
	long long tries;

	memset(st, 0, sizeof(*st));
	if (!outcome || !ref || !jint(o, "due_ms", &st->due_ms) ||
	    !jint(o, "created", &st->created) || !jint(o, "tries", &tries) || tries < 0 ||
	    strlen(ref) >= sizeof(st->provider_ref) ||
	    (reason && strlen(reason) >= sizeof(st->reason)))
		return SHOP_EINVAL;
	if (strcmp(outcome, "succeeded") == 0)
		st->outcome = OUT_SUCCEEDED;
	else if (strcmp(outcome, "failed") == 0)
		st->outcome = OUT_FAILED;
	else if (strcmp(outcome, "refunded") == 0)
		st->outcome = OUT_REFUNDED;
	else
		return SHOP_EINVAL;
	snprintf(st->provider_ref, sizeof(st->provider_ref), "%s", ref);
	snprintf(st->reason, sizeof(st->reason), "%s", reason ? reason : "");
	st->tries = tries > 1000000 ? 1000000 : (unsigned)tries;
	return 0;
}

static const char *outcome_name(enum outcome o)
{
	return o == OUT_SUCCEEDED ? "succeeded" : o == OUT_FAILED ? "failed" : "refunded";
}

/* The webhook's event type. */
static const char *outcome_type(enum outcome o)
{
	return o == OUT_SUCCEEDED ? "payment.succeeded" : o == OUT_FAILED ? "payment.failed" :
	    "refund.succeeded";
}

static json_object *state_json(const struct state *st)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "outcome", shop_json_str(outcome_name(st->outcome)));
	json_object_object_add(o, "provider_ref", shop_json_str(st->provider_ref));
	json_object_object_add(o, "reason", st->reason[0] ? shop_json_str(st->reason) : NULL);
	json_object_object_add(o, "due_ms", shop_json_int(st->due_ms));
	json_object_object_add(o, "created", shop_json_int(st->created));
	json_object_object_add(o, "tries", shop_json_int(st->tries));
	return o;
}

/* ------------------------------------------------------------------ */
/* Later: a copy with the state, back through payments.requests.retry */

static int amqp_up(struct sim *s)
{
	int rc;

	if (s->amqp)
		return 0;
	rc = shop_amqp_connect(&s->amqp, &s->ac);
	if (rc == 0)
		rc = shop_amqp_confirm_select(s->amqp);
	if (rc != 0) {
		shop_amqp_close(s->amqp);
		s->amqp = NULL;
	}
	return rc;
}

static int later(struct sim *s, const struct shop_event *ev, const struct state *st,
    long long delay_ms)
{
	json_object *copy = NULL;
	struct shop_amqp_msg m = {
		.exchange = "",
		.routing_key = RETRY_QUEUE,
		.event_id = ev->event_id,
		.event_type = ev->event_type,
		.request_id = ev->request_id[0] ? ev->request_id : NULL,
		.occurred_at = ev->occurred_at,
		.expiration_ms = delay_ms < 1 ? 1 :
		    delay_ms > 3600000 ? 3600000 : (unsigned)delay_ms,
	};
	bool ok = false;
	int rc = SHOP_EUNAVAIL;

	if (json_object_deep_copy(ev->payload, &copy, NULL) != 0 || !copy)
		goto out;
	json_object_object_del(copy, "sim");
	json_object_object_add(copy, "sim", state_json(st));
	m.body = shop_json_text(copy, &m.len);
	for (int i = 0; i < 2; i++) {
		rc = amqp_up(s);
		if (rc == 0)
			rc = shop_amqp_publish(s->amqp, &m, 1, &ok, CONFIRM_TIMEOUT_MS);
		if (rc == 0)
			break;
		/* A connection idle for long may be gone: once more on a new one. */
		shop_amqp_close(s->amqp);
		s->amqp = NULL;
		if (rc == SHOP_ECONFLICT)
			break;
	}
	if (rc != 0) {
		shop_log_warn("payment event %s: cannot republish to %s: %s", ev->event_id,
		    RETRY_QUEUE, shop_strerror(rc));
		rc = SHOP_EUNAVAIL; /* the runner retries the original */
	}
out:
	if (copy)
		json_object_put(copy);
	return rc;
}

static unsigned backoff_ms(unsigned tries)
{
	unsigned ms = BACKOFF_MIN_MS;

	for (unsigned i = 1; i < tries && ms < BACKOFF_MAX_MS; i++)
		ms *= 2;
	return ms > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : ms;
}

/* ------------------------------------------------------------------ */
/* The webhook */

struct sink {
	char buf[256];
	size_t n;
};

static size_t sink_write(char *p, size_t size, size_t nmemb, void *arg)
{
	struct sink *k = arg;
	size_t n = size * nmemb, room = sizeof(k->buf) - 1 - k->n;

	memcpy(k->buf + k->n, p, n < room ? n : room);
	k->n += n < room ? n : room;
	k->buf[k->n] = '\0';
	return n;
}

static bool request_id_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 64)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '.' || c == '_' || c == '-'))
			return false;
	}
	return true;
}

/* {"id": "evt_<payment_id>_<outcome>", "type", "created", "data"}; for a
 * refund, provider_ref is the refunded charge's. */
static json_object *event_json(const struct subject *sub, const struct state *st,
    char *id, size_t idsz)
{
	json_object *ev = json_object_new_object(), *data = json_object_new_object();

	snprintf(id, idsz, "evt_%lld_%s", sub->payment_id, outcome_name(st->outcome));
	json_object_object_add(data, "payment_id", shop_json_int(sub->payment_id));
	json_object_object_add(data, "provider_ref", shop_json_str(st->provider_ref));
	json_object_object_add(data, "amount_cents", shop_json_int(sub->amount_cents));
	json_object_object_add(data, "currency", shop_json_str(sub->currency));
	if (st->outcome == OUT_FAILED)
		json_object_object_add(data, "reason", shop_json_str(st->reason));
	json_object_object_add(ev, "id", shop_json_str(id));
	json_object_object_add(ev, "type", shop_json_str(outcome_type(st->outcome)));
	json_object_object_add(ev, "created", shop_json_int(st->created));
	json_object_object_add(ev, "data", data);
	return ev;
}

/* POSTs the outcome. Returns 0 (2xx), SHOP_EUNAVAIL (try again later) or
 * SHOP_EINVAL (refused for good). */
static int deliver(struct sim *s, const struct shop_event *ev, const struct subject *req,
    const struct state *st)
{
	struct curl_slist *hdrs = NULL;
	struct sink sink = { .n = 0 };
	char id[96], sig[PAY_SIG_HEADER_SIZE], sighdr[PAY_SIG_HEADER_SIZE + 32], rid[96];
	json_object *body = event_json(req, st, id, sizeof(id));
	const char *text;
	size_t len;
	long status = 0;
	double t0 = shop_mono_ms();
	CURLcode cc;
	int rc;

	text = shop_json_text(body, &len);
	rc = pay_sig_sign(sig, sizeof(sig), shop_now(), s->secret, s->secretlen, text, len);
	if (rc < 0)
		goto out;
	snprintf(sighdr, sizeof(sighdr), "Shop-Signature: %s", sig);
	hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
	hdrs = curl_slist_append(hdrs, sighdr);
	hdrs = curl_slist_append(hdrs, "Expect:");
	if (request_id_ok(ev->request_id)) {
		snprintf(rid, sizeof(rid), "X-Request-Id: %s", ev->request_id);
		hdrs = curl_slist_append(hdrs, rid);
	}
	if (!hdrs) {
		rc = SHOP_EUNAVAIL;
		goto out;
	}
	curl_easy_setopt(s->curl, CURLOPT_URL, s->url);
	curl_easy_setopt(s->curl, CURLOPT_POST, 1L);
	curl_easy_setopt(s->curl, CURLOPT_POSTFIELDS, text);
	curl_easy_setopt(s->curl, CURLOPT_POSTFIELDSIZE, (long)len);
	curl_easy_setopt(s->curl, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(s->curl, CURLOPT_WRITEFUNCTION, sink_write);
	curl_easy_setopt(s->curl, CURLOPT_WRITEDATA, &sink);
	cc = curl_easy_perform(s->curl);
	if (cc != CURLE_OK) {
		shop_log_warn("payment %lld: webhook %s not delivered: %s", req->payment_id, id,
		    curl_easy_strerror(cc));
		rc = SHOP_EUNAVAIL;
		goto out;
	}
	curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &status);
	if (status >= 200 && status < 300) {
		shop_log_info("payment %lld: webhook %s delivered (HTTP %ld, %.1f ms)",
		    req->payment_id, id, status, shop_mono_ms() - t0);
		rc = 0;
	} else if (status >= 500 || status == 408 || status == 429) {
		shop_log_warn("payment %lld: webhook %s answered HTTP %ld: will retry",
		    req->payment_id, id, status);
		rc = SHOP_EUNAVAIL;
	} else {
		shop_log_error("payment %lld: webhook %s refused with HTTP %ld (a bug): %s",
		    req->payment_id, id, status, sink.buf);
		rc = SHOP_EINVAL;
	}
out:
	curl_slist_free_all(hdrs);
	json_object_put(body);
	return rc;
}

/* ------------------------------------------------------------------ */
/* The worker */

/* A new charge: the provider decides, st is the outcome to tell. */
static int decide_charge(struct sim *s, const struct charge_request *req, struct state *st)
{
	struct charge_result res;
	int rc = s->provider->charge(req, &res);

	if (rc != 0)
		return rc;
	memset(st, 0, sizeof(*st));
	st->outcome = res.outcome == CHARGE_SUCCEEDED ? OUT_SUCCEEDED : OUT_FAILED;
	snprintf(st->provider_ref, sizeof(st->provider_ref), "%s", res.provider_ref);
	snprintf(st->reason, sizeof(st->reason), "%s", res.reason);
	st->due_ms = shop_now_ms() + res.delay_ms;
	st->created = st->due_ms / 1000;
	shop_log_info("payment %lld charged by %s: %s%s%s in %u ms", req->payment_id,
	    s->provider->name, outcome_name(st->outcome), st->reason[0] ? " " : "",
	    st->reason, res.delay_ms);
	return 0;
}

/* A new refund: it succeeds; the webhook names the refunded charge. */
static int decide_refund(struct sim *s, const struct refund_request *req, struct state *st)
{
	struct refund_result res;
	int rc = s->provider->refund(req, &res);

	if (rc != 0)
		return rc;
	memset(st, 0, sizeof(*st));
	st->outcome = OUT_REFUNDED;
	snprintf(st->provider_ref, sizeof(st->provider_ref), "%s", req->provider_ref);
	st->due_ms = shop_now_ms() + res.delay_ms;
	st->created = st->due_ms / 1000;
	shop_log_info("payment %lld (charge %s) refunded by %s as %s in %u ms", req->payment_id,
	    req->provider_ref, s->provider->name, res.refund_ref, res.delay_ms);
	return 0;
}

/* payment.requested → charge, refund.requested → refund; each told by one
 * webhook, delivered now or later (a republished copy with the state). */
static int sim_handle(struct shop_worker_ctx *w, const struct shop_event *ev)
{
	struct sim *s = w->user;
	struct charge_request req;
	struct refund_request rreq;
	struct subject sub;
	struct state st;
	json_object *stobj;
	const char *provider = NULL;
	bool refund;
	long long now;
	int rc;

	if (strcmp(ev->event_type, "payment.requested") == 0) {
		refund = false;
		rc = read_request(ev->payload, &req, &provider);
		sub = (struct subject){ req.payment_id, req.amount_cents, req.currency };
	} else if (strcmp(ev->event_type, "refund.requested") == 0) {
		refund = true;
		rc = read_refund(ev->payload, &rreq, &provider);
		sub = (struct subject){ rreq.payment_id, rreq.amount_cents, rreq.currency };
	} else {
		shop_log_error("event %s: unexpected type %s", ev->event_id, ev->event_type);
		return SHOP_EINVAL;
	}
	if (rc != 0) {
		shop_log_error("event %s: not a %s payload", ev->event_id, ev->event_type);
		return SHOP_EINVAL;
	}
	if (strcmp(provider, s->provider->name) != 0) {
		shop_log_info("payment %lld is for provider %s: ignored", sub.payment_id, provider);
		return 0;
	}
	if (json_object_object_get_ex(ev->payload, "sim", &stobj)) {
		if (read_state(stobj, &st) != 0 || refund != (st.outcome == OUT_REFUNDED)) {
			shop_log_error("event %s: malformed sim state", ev->event_id);
			return SHOP_EINVAL;
		}
	} else {
		rc = refund ? decide_refund(s, &rreq, &st) : decide_charge(s, &req, &st);
		if (rc != 0)
			return rc;
	}

	now = shop_now_ms();
	if (st.due_ms > now + EARLY_MS)
		return later(s, ev, &st, st.due_ms - now);

	rc = deliver(s, ev, &sub, &st);
	if (rc != SHOP_EUNAVAIL)
		return rc;
	st.tries++;
	if (st.tries >= s->max_attempts) {
		shop_log_error("payment %lld: webhook not delivered after %u attempts",
		    sub.payment_id, st.tries);
		return SHOP_EINVAL; /* dead-lettered: an operator's turn */
	}
	return later(s, ev, &st, backoff_ms(st.tries));
}

/* [payment-sim] webhook_url, else the stack's own base URL + the route. */
static int webhook_url(const struct shop_conf *conf, char *out, size_t outsz)
{
	const char *url = shop_conf_get(conf, "payment-sim.webhook_url", NULL);
	const char *base = shop_conf_get(conf, "http.base_url", NULL);
	int n;

	if (url && *url)
		n = snprintf(out, outsz, "%s", url);
	else if (base && *base)
		n = snprintf(out, outsz, "%s%s", base, WEBHOOK_PATH);
	else
		n = snprintf(out, outsz, "http://127.0.0.1:%lld%s",
		    shop_conf_int(conf, "http.port", 8080), WEBHOOK_PATH);
	if (n < 0 || (size_t)n >= outsz)
		return SHOP_EINVAL;
	if (strncmp(out, "http://", 7) != 0 && strncmp(out, "https://", 8) != 0)
		return SHOP_EINVAL;
	return 0;
}

static int sim_init(struct shop_worker_ctx *w)
{
	const struct shop_conf *conf = w->conf;
	struct sim *s = shop_xcalloc(1, sizeof(*s));
	const char *path = shop_conf_get(conf, "payment-sim.webhook_secret_file", NULL);
	char def[4096];
	long long v;
	int rc = SHOP_EINVAL;

	s->provider = &sim_provider;
	if (s->provider->init && (rc = s->provider->init(conf)) != 0) {
		shop_log_error("payment-sim: bad configuration (slow_ms 0..600000)");
		goto out;
	}
	if (webhook_url(conf, s->url, sizeof(s->url)) != 0) {
		shop_log_error("payment-sim: webhook_url must be an http(s) URL");
		rc = SHOP_EINVAL;
		goto out;
	}
	if (!path || !*path)
		path = shop_conf_get(conf, "payments.webhook_secret_file", NULL);
	if (!path || !*path) {
		snprintf(def, sizeof(def), "%s/webhook-secret",
		    shop_conf_get(conf, "shop.var_dir", "var"));
		path = def;
	}
	rc = pay_secret_load(path, s->secret, sizeof(s->secret), &s->secretlen);
	if (rc != 0) {
		shop_log_error("payment-sim: cannot use the webhook secret file %s: %s", path,
		    shop_strerror(rc));
		goto out;
	}
	v = shop_conf_int(conf, "payment-sim.webhook_max_attempts", 100);
	s->max_attempts = v >= 1 && v <= 100000 ? (unsigned)v : 100;
	v = shop_conf_int(conf, "payment-sim.webhook_timeout_ms", 5000);
	s->timeout_ms = v >= 100 && v <= 60000 ? (long)v : 5000;

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK || !(s->curl = curl_easy_init())) {
		shop_log_error("payment-sim: cannot initialise libcurl");
		rc = SHOP_ESYS;
		goto out;
	}
	curl_easy_setopt(s->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(s->curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(s->curl, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(s->curl, CURLOPT_CONNECTTIMEOUT_MS,
	    s->timeout_ms < 2000 ? s->timeout_ms : 2000L);
	curl_easy_setopt(s->curl, CURLOPT_TIMEOUT_MS, s->timeout_ms);
	curl_easy_setopt(s->curl, CURLOPT_USERAGENT, "shop-payment-sim");

	shop_amqp_conf_from(&s->ac, conf);
	s->ac.heartbeat = 0; /* idle between republishes; a dead one is replaced */
	shop_log_info("payment-sim: webhook %s, webhook_max_attempts %u", s->url, s->max_attempts);
	w->user = s;
	s = NULL;
	rc = 0;
out:
	if (s) {
		if (s->curl)
			curl_easy_cleanup(s->curl);
		explicit_bzero(s, sizeof(*s));
		free(s);
	}
	return rc;
}

static void sim_fini(struct shop_worker_ctx *w)
{
	struct sim *s = w->user;

	if (!s)
		return;
	shop_amqp_close(s->amqp);
	curl_easy_cleanup(s->curl);
	curl_global_cleanup();
	explicit_bzero(s, sizeof(*s));
	free(s);
	w->user = NULL;
}

static const char *const routing_keys[] = { "payment.requested", "refund.requested", NULL };

int main(int argc, char **argv)
{
	const struct shop_worker w = {
		.name = "payment-sim",
		.queue = QUEUE,
		.routing_keys = routing_keys,
		.init = sim_init,
		.handle = sim_handle,
		.fini = sim_fini,
	};

	return shop_worker_main(&w, argc, argv);
}
