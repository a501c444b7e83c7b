/* lib/worker.c against a real RabbitMQ (TAP through cmocka): a worker
 * without a database runs in a child process on a queue of its own, its
 * handler reports every call through a pipe, and the parent publishes
 * events and watches what happens: ack, retry with back-off and x-attempt,
 * dead-lettering, ticks, the request id in the log context, SIGTERM.
 *
 * Broker from SHOP_TEST_AMQP_HOST/PORT/VHOST/USER/PASSWORD (see
 * test_amqp.c); without them: "1..0 # SKIP no broker". */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <amqp.h>
#include <amqp_tcp_socket.h>

#include "lib/amqp.h"
#include "lib/err.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/outbox.h"
#include "lib/util.h"
#include "lib/worker.h"

#define WAIT_MS 8000

static struct shop_amqp_conf bc;
static char queue[96], key[112], dlq[112], pidfile[128];
static const char *keys[2];
static int report_fd = -1;       /* child: write end */
static int report_rd = -1;       /* parent: read end */
static pid_t child;

/* ---- the worker (child side) ---- */

static void report(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void report(const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	if (n < 0 || n > (int)sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	if (write(report_fd, line, (size_t)n) != n)
		_exit(3);
}

/* Payload {"id": N, "fail_until": K}: fails (SHOP_EDB) while attempt < K;
 * {"id": N, "poison": true}: SHOP_EINVAL. */
static int handle(struct shop_worker_ctx *w, const struct shop_event *ev)
{
	json_object *v;
	long long id = 0, fail_until = 0;
	const char *rid = shop_log_request_id();
	int rc = 0;

	(void)w;
	if (json_object_object_get_ex(ev->payload, "id", &v))
		id = json_object_get_int64(v);
	if (json_object_object_get_ex(ev->payload, "fail_until", &v))
		fail_until = json_object_get_int64(v);
	if (json_object_object_get_ex(ev->payload, "poison", &v))
		rc = SHOP_EINVAL;
	else if (ev->attempt < fail_until)
		rc = SHOP_EDB;
	report("event %lld %u %d %s %s %.0f", id, ev->attempt, rc, ev->event_type,
	    rid ? rid : "-", shop_mono_ms());
	return rc;
}

static int tick(struct shop_worker_ctx *w)
{
	(void)w;
	report("tick");
	return 0;
}

static _Noreturn void run_worker(void)
{
	static const struct shop_worker w = {
		.name = "testw",
		.queue = queue,
		.routing_keys = keys,
		.handle = handle,
		.tick = tick,
		.tick_ms = 100,
	};
	char port[16];
	char *argv[] = { "test-worker", "-P", pidfile, NULL };

	snprintf(port, sizeof(port), "%u", bc.port);
	setenv("SHOP_AMQP_HOST", bc.host, 1);
	setenv("SHOP_AMQP_PORT", port, 1);
	setenv("SHOP_AMQP_VHOST", bc.vhost, 1);
	setenv("SHOP_AMQP_USER", bc.user, 1);
	setenv("SHOP_AMQP_PASSWORD", bc.password, 1);
	setenv("SHOP_TESTW_MAX_ATTEMPTS", "3", 1);
	setenv("SHOP_TESTW_PREFETCH", "8", 1);
	setenv("SHOP_TESTW_LOG_LEVEL", "error", 1);
	_exit(shop_worker_main(&w, 3, argv));
}

/* ---- the parent side ---- */

/* The next line the worker reported, or NULL after ms. */
static const char *next_line(int ms)
{
	static char buf[8192];
	static size_t have;
	double end = shop_mono_ms() + ms;

	for (;;) {
		char *nl = memchr(buf, '\n', have);
		static char line[512];
		struct pollfd p = { .fd = report_rd, .events = POLLIN };
		double left;
		ssize_t n;

		if (nl) {
			size_t len = (size_t)(nl - buf);

			if (len >= sizeof(line))
				len = sizeof(line) - 1;
			memcpy(line, buf, len);
			line[len] = '\0';
			have -= (size_t)(nl - buf) + 1;
			memmove(buf, nl + 1, have);
			return line;
		}
		left = end - shop_mono_ms();
		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			return NULL;
		n = read(report_rd, buf + have, sizeof(buf) - have);
		if (n <= 0)
			return NULL;
		have += (size_t)n;
	}
}

struct seen {
	long long id;
	unsigned attempt;
	int rc;
	char type[64], rid[80];
	double at;
};

/* The next "event" line (ticks are skipped). */
static bool next_event(struct seen *s, int ms)
{
	double end = shop_mono_ms() + ms;
	const char *l;

	while ((l = next_line((int)(end - shop_mono_ms()))) != NULL) {
		if (sscanf(l, "event %lld %u %d %63s %79s %lf", &s->id, &s->attempt, &s->rc,
		    s->type, s->rid, &s->at) == 6)
			return true;
	}
	return false;
}

static void publish(const char *body, const char *request_id)
{
	struct shop_amqp *a = NULL;
	struct shop_amqp_msg m;
	char id[37];
	bool ok = false;

	shop_event_id(id);
	m = (struct shop_amqp_msg){
		.exchange = "shop.events",
		.routing_key = key,
		.body = body,
		.len = strlen(body),
		.event_id = id,
		.event_type = "test.thing",
		.request_id = request_id,
		.occurred_at = "2026-11-21T12:00:00.000Z",
	};
	assert_int_equal(shop_amqp_connect(&a, &bc), 0);
	assert_int_equal(shop_amqp_publish(a, &m, 1, &ok, 5000), 0);
	assert_true(ok);
	shop_amqp_close(a);
}

/* How many messages Q.dlq holds (a passive declare). */
static int dlq_count(void)
{
	amqp_connection_state_t conn = amqp_new_connection();
	amqp_socket_t *sock = amqp_tcp_socket_new(conn);
	amqp_queue_declare_ok_t *ok;
	int n = -1;

	if (amqp_socket_open(sock, bc.host, (int)bc.port) != AMQP_STATUS_OK)
		goto out;
	if (amqp_login(conn, bc.vhost, 0, 131072, 0, AMQP_SASL_METHOD_PLAIN, bc.user,
	    bc.password).reply_type != AMQP_RESPONSE_NORMAL)
		goto out;
	amqp_channel_open(conn, 1);
	ok = amqp_queue_declare(conn, 1, amqp_cstring_bytes(dlq), 1, 0, 0, 0, amqp_empty_table);
	if (ok)
		n = (int)ok->message_count;
	amqp_connection_close(conn, AMQP_REPLY_SUCCESS);
out:
	amqp_destroy_connection(conn);
	return n;
}

static void wait_dlq(int want)
{
	double end = shop_mono_ms() + WAIT_MS;
	int n;

	while ((n = dlq_count()) != want && shop_mono_ms() < end)
		usleep(50000);
	assert_int_equal(n, want);
}

static int start(void **state)
{
	int fds[2];
	double end;

	(void)state;
	if (pipe(fds) != 0)
		return -1;
	child = fork();
	if (child < 0)
		return -1;
	if (child == 0) {
		close(fds[0]);
		report_fd = fds[1];
		run_worker();
	}
	close(fds[1]);
	report_rd = fds[0];
	/* Ready when it ticks and the pid file exists (it consumes by then or soon). */
	end = shop_mono_ms() + WAIT_MS;
	while (shop_mono_ms() < end && access(pidfile, F_OK) != 0)
		usleep(20000);
	return next_line(WAIT_MS) ? 0 : -1;
}

static void test_ack(void **state)
{
	struct seen s;

	(void)state;
	publish("{\"id\":1}", "req-one");
	assert_true(next_event(&s, WAIT_MS));
	assert_int_equal(s.id, 1);
	assert_int_equal(s.attempt, 0);
	assert_int_equal(s.rc, 0);
	assert_string_equal(s.type, "test.thing");
	assert_string_equal(s.rid, "req-one");
	/* Acked: not seen again. */
	assert_false(next_event(&s, 600));
}

static void test_retry_then_success(void **state)
{
	struct seen s[3];

	(void)state;
	publish("{\"id\":2,\"fail_until\":2}", "req-two");
	for (int i = 0; i < 3; i++) {
		assert_true(next_event(&s[i], WAIT_MS));
		assert_int_equal(s[i].id, 2);
		assert_int_equal(s[i].attempt, (unsigned)i);
		assert_string_equal(s[i].type, "test.thing");
		assert_string_equal(s[i].rid, "req-two");
	}
	assert_int_equal(s[0].rc, SHOP_EDB);
	assert_int_equal(s[1].rc, SHOP_EDB);
	assert_int_equal(s[2].rc, 0);
	/* Back-off: 200 ms, then 400 ms. */
	assert_true(s[1].at - s[0].at >= 180);
	assert_true(s[2].at - s[1].at >= 380);
	assert_false(next_event(&s[0], 600));
	wait_dlq(0);
}

static void test_gives_up_after_max_attempts(void **state)
{
	struct seen s;

	(void)state;
	publish("{\"id\":3,\"fail_until\":100}", NULL);
	for (unsigned i = 0; i < 3; i++) {
		assert_true(next_event(&s, WAIT_MS));
		assert_int_equal(s.id, 3);
		assert_int_equal(s.attempt, i);
		assert_string_equal(s.rid, "-");
	}
	wait_dlq(1);
	assert_false(next_event(&s, 1000));
}

static void test_poison_and_garbage(void **state)
{
	struct seen s;

	(void)state;
	publish("{\"id\":4,\"poison\":true}", NULL);
	assert_true(next_event(&s, WAIT_MS));
	assert_int_equal(s.id, 4);
	assert_int_equal(s.rc, SHOP_EINVAL);
	wait_dlq(2);
	/* Not JSON, and JSON that is not an object: never reach the handler. */
	publish("not json", NULL);
	publish("[1,2]", NULL);
	wait_dlq(4);
	assert_false(next_event(&s, 300));
}

static void test_ticks(void **state)
{
	const char *l;
	int ticks = 0;
	double end = shop_mono_ms() + 600;

	(void)state;
	while (shop_mono_ms() < end && (l = next_line((int)(end - shop_mono_ms()) + 1)) != NULL)
		ticks += strcmp(l, "tick") == 0;
	assert_true(ticks >= 3);
}

static void test_sigterm(void **state)
{
	double t0;
	int status = -1;

	(void)state;
	t0 = shop_mono_ms();
	assert_int_equal(kill(child, SIGTERM), 0);
	while (waitpid(child, &status, 0) < 0 && errno == EINTR)
		;
	assert_true(shop_mono_ms() - t0 < 2000);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_not_equal(access(pidfile, F_OK), 0);
	child = 0;
}

static int cleanup(void **state)
{
	amqp_connection_state_t conn = amqp_new_connection();
	amqp_socket_t *sock = amqp_tcp_socket_new(conn);
	static const char *const suffix[] = { "", ".retry", ".dlq" };

	(void)state;
	if (child > 0) {
		kill(child, SIGKILL);
		waitpid(child, NULL, 0);
	}
	unlink(pidfile);
	if (amqp_socket_open(sock, bc.host, (int)bc.port) != AMQP_STATUS_OK)
		goto out;
	if (amqp_login(conn, bc.vhost, 0, 131072, 0, AMQP_SASL_METHOD_PLAIN, bc.user,
	    bc.password).reply_type != AMQP_RESPONSE_NORMAL)
		goto out;
	amqp_channel_open(conn, 1);
	for (int i = 0; i < 3; i++) {
		char q[128];

		snprintf(q, sizeof(q), "%s%s", queue, suffix[i]);
		amqp_queue_delete(conn, 1, amqp_cstring_bytes(q), 0, 0);
	}
	amqp_connection_close(conn, AMQP_REPLY_SUCCESS);
out:
	amqp_destroy_connection(conn);
	return 0;
}

static const char *env(const char *k, const char *def)
{
	const char *v = getenv(k);

	return v && *v ? v : def;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ack),
		cmocka_unit_test(test_retry_then_success),
		cmocka_unit_test(test_gives_up_after_max_attempts),
		cmocka_unit_test(test_poison_and_garbage),
		cmocka_unit_test(test_ticks),
		cmocka_unit_test(test_sigterm),
	};
	const char *port = env("SHOP_TEST_AMQP_PORT", NULL);

	if (!env("SHOP_TEST_AMQP_HOST", NULL) || !port) {
		printf("1..0 # SKIP no broker (set SHOP_TEST_AMQP_HOST and SHOP_TEST_AMQP_PORT)\n");
		return 0;
	}
	shop_log_init("test_worker", 2, SHOP_LOG_WARN);
	bc.host = env("SHOP_TEST_AMQP_HOST", NULL);
	bc.port = (unsigned)atoi(port);
	bc.vhost = env("SHOP_TEST_AMQP_VHOST", "shop");
	bc.user = env("SHOP_TEST_AMQP_USER", "shop");
	bc.password = env("SHOP_TEST_AMQP_PASSWORD", "");
	bc.heartbeat = 30;
	bc.timeout_ms = 5000;
	snprintf(queue, sizeof(queue), "test-worker.%d", (int)getpid());
	snprintf(key, sizeof(key), "%s.key", queue);
	snprintf(dlq, sizeof(dlq), "%s.dlq", queue);
	snprintf(pidfile, sizeof(pidfile), "/tmp/test-worker.%d.pid", (int)getpid());
	keys[0] = key;
	signal(SIGPIPE, SIG_IGN);
	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, start, cleanup);
}
