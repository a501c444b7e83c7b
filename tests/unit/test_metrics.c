/* Unit tests of lib/metrics.c: counts of forked processes add up in the one
 * file, keys beyond a table's size go to "other", a dead program's file is
 * skipped, a stopped one's removed, and the rendering is the text format. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/metrics.h"

static char dir[64];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/test_metrics.XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* The rendering of dir as a string (caller frees). */
static char *render(int *programs)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	assert_non_null(f);
	*programs = shop_metrics_render(dir, f);
	assert_int_equal(fclose(f), 0);
	return text;
}

/* The value of the sample line starting with prefix ("name{labels}"), -1 if none. */
static long long sample(const char *text, const char *prefix)
{
	size_t n = strlen(prefix);

	for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (strncmp(p, prefix, n) == 0 && p[n] == ' ')
			return atoll(p + n + 1);
	return -1;
}

static void forked_processes_add_up(void **state)
{
	const char *route = "GET /api/v1/products/{id}";
	int programs;
	char *text;

	(void)state;
	assert_int_equal(shop_metrics_open(dir, "catalog", SHOP_METRICS_POOL), 0);
	shop_metrics_pool_shape(4, 2);
	for (unsigned i = 0; i < 4; i++) {
		pid_t pid = fork();

		assert_true(pid >= 0);
		if (pid == 0) {
			shop_metrics_proc_self(i);
			for (int k = 0; k < 1000; k++)
				shop_metrics_request(route, k % 10 ? 200 : 404, 3.0);
			shop_metrics_db_error(SHOP_MDB_DEADLOCK);
			_exit(0);
		}
		shop_metrics_proc_set(i, pid);
	}
	for (int i = 0; i < 4; i++) {
		int st;

		assert_true(wait(&st) > 0);
		assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	text = render(&programs);
	assert_int_equal(programs, 1);
	assert_int_equal(sample(text, "shop_http_requests_total{app=\"catalog\",route=\"GET "
	    "/api/v1/products/{id}\",status=\"200\"}"), 3600);
	assert_int_equal(sample(text, "shop_http_requests_total{app=\"catalog\",route=\"GET "
	    "/api/v1/products/{id}\",status=\"404\"}"), 400);
	/* one histogram per route, whatever the status; 3 ms is in le=0.005 */
	assert_int_equal(sample(text, "shop_http_request_duration_seconds_count{app=\"catalog\","
	    "route=\"GET /api/v1/products/{id}\"}"), 4000);
	assert_int_equal(sample(text, "shop_http_request_duration_seconds_bucket{app=\"catalog\","
	    "route=\"GET /api/v1/products/{id}\",le=\"0.0025\"}"), 0);
	assert_int_equal(sample(text, "shop_http_request_duration_seconds_bucket{app=\"catalog\","
	    "route=\"GET /api/v1/products/{id}\",le=\"0.005\"}"), 4000);
	assert_int_equal(sample(text, "shop_db_errors_total{app=\"catalog\",kind=\"deadlock\"}"), 4);
	/* the children are gone: no process running, none busy */
	assert_int_equal(sample(text, "shop_pool_processes{app=\"catalog\",state=\"running\"}"), 0);
	assert_int_equal(sample(text, "shop_pool_processes{app=\"catalog\",state=\"configured\"}"), 4);
	free(text);
	shop_metrics_close();
}

static void busy_threads_of_live_processes(void **state)
{
	int programs, fds[2], hold[2];
	char *text, c;
	pid_t pid;

	(void)state;
	assert_int_equal(shop_metrics_open(dir, "orders", SHOP_METRICS_POOL), 0);
	shop_metrics_pool_shape(1, 4);
	assert_int_equal(pipe(fds), 0);
	assert_int_equal(pipe(hold), 0);
	shop_metrics_proc_set(0, 0); /* as the pool's master does before it forks */
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* Counts at once (before the parent records its pid), tells the
		 * parent, then lives until the parent closes hold (or exits). */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(hold[1]);
		shop_metrics_proc_self(0);
		shop_metrics_busy(1);
		shop_metrics_busy(1);
		shop_metrics_busy(-1);
		c = 'x';
		if (write(fds[1], &c, 1) != 1)
			_exit(1);
		while (read(hold[0], &c, 1) > 0)
			;
		_exit(0);
	}
	close(hold[0]);
	assert_int_equal(read(fds[0], &c, 1), 1);
	shop_metrics_proc_set(0, pid);
	text = render(&programs);
	assert_int_equal(sample(text, "shop_pool_processes{app=\"orders\",state=\"running\"}"), 1);
	assert_int_equal(sample(text, "shop_pool_threads{app=\"orders\",state=\"busy\"}"), 1);
	assert_int_equal(sample(text, "shop_pool_threads{app=\"orders\",state=\"idle\"}"), 3);
	free(text);
	close(hold[1]);
	waitpid(pid, NULL, 0);
	/* respawned in the slot: its busy count starts again */
	shop_metrics_proc_set(0, 0);
	close(fds[0]);
	close(fds[1]);
	shop_metrics_close();
}

static void full_table_counts_as_other(void **state)
{
	char route[64], *text;
	int programs;

	(void)state;
	assert_int_equal(shop_metrics_open(dir, "auth", SHOP_METRICS_POOL), 0);
	for (int i = 0; i < 1000; i++) {
		snprintf(route, sizeof(route), "GET /r%d", i);
		shop_metrics_request(route, 200, 1.0);
	}
	text = render(&programs);
	/* 383 routes claimed their slot (the probe visits every slot before
	 * giving up), the 617 after them are "other" */
	assert_int_equal(sample(text, "shop_http_requests_total{app=\"auth\",route=\"GET /r0\","
	    "status=\"200\"}"), 1);
	assert_int_equal(sample(text, "shop_http_requests_total{app=\"auth\",route=\"GET /r382\","
	    "status=\"200\"}"), 1);
	assert_int_equal(sample(text, "shop_http_requests_total{app=\"auth\",route=\"GET /r383\","
	    "status=\"200\"}"), -1);
	assert_int_equal(sample(text, "shop_http_requests_total{app=\"auth\",route=\"other\","
	    "status=\"0\"}"), 617);
	free(text);
	shop_metrics_close();
}

static void workers_events_outbox_mail(void **state)
{
	int programs;
	char *text;

	(void)state;
	assert_int_equal(shop_metrics_open(dir, "notify-worker", SHOP_METRICS_WORKER), 0);
	shop_metrics_queue("notify.events");
	text = render(&programs);
	assert_int_equal(sample(text, "shop_events_total{worker=\"notify-worker\",queue="
	    "\"notify.events\",outcome=\"consumed\"}"), 0);
	free(text);
	shop_metrics_event("notify.events", SHOP_MEV_CONSUMED);
	shop_metrics_event("notify.events", SHOP_MEV_CONSUMED);
	shop_metrics_event("notify.events", SHOP_MEV_FAILED);
	shop_metrics_event("notify.events", SHOP_MEV_DEAD);
	shop_metrics_email_sent();
	shop_metrics_outbox("shop_orders", 12, 1.5);
	shop_metrics_outbox_published("shop_orders", 7);
	text = render(&programs);
	assert_int_equal(sample(text, "shop_events_total{worker=\"notify-worker\",queue="
	    "\"notify.events\",outcome=\"consumed\"}"), 2);
	assert_int_equal(sample(text, "shop_events_total{worker=\"notify-worker\",queue="
	    "\"notify.events\",outcome=\"failed\"}"), 1);
	assert_int_equal(sample(text, "shop_events_total{worker=\"notify-worker\",queue="
	    "\"notify.events\",outcome=\"dead_lettered\"}"), 1);
	assert_int_equal(sample(text, "shop_emails_sent_total"), 1);
	assert_int_equal(sample(text, "shop_outbox_backlog{schema=\"shop_orders\"}"), 12);
	assert_int_equal(sample(text, "shop_outbox_published_total{schema=\"shop_orders\"}"), 7);
	assert_non_null(strstr(text, "shop_outbox_oldest_age_seconds{schema=\"shop_orders\"} 1.500\n"));
	assert_non_null(strstr(text, "# TYPE shop_events_total counter\n"));
	free(text);
	shop_metrics_close();
}

static void gone_and_stopped_programs(void **state)
{
	char path[128], *text;
	struct stat st;
	int programs, fd;
	pid_t pid;

	(void)state;
	/* a program killed without closing: its file stays, but is skipped */
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (shop_metrics_open(dir, "killed", SHOP_METRICS_WORKER) != 0)
			_exit(1);
		shop_metrics_email_sent();
		_exit(0);
	}
	waitpid(pid, NULL, 0);
	snprintf(path, sizeof(path), "%s/killed.metrics", dir);
	assert_int_equal(stat(path, &st), 0);
	text = render(&programs);
	assert_int_equal(programs, 0);
	assert_null(strstr(text, "killed"));
	free(text);
	/* a stopped one removes its file */
	assert_int_equal(shop_metrics_open(dir, "stopped", SHOP_METRICS_WORKER), 0);
	snprintf(path, sizeof(path), "%s/stopped.metrics", dir);
	assert_int_equal(stat(path, &st), 0);
	shop_metrics_close();
	assert_int_not_equal(stat(path, &st), 0);
	/* a foreign file of the wrong size is ignored */
	snprintf(path, sizeof(path), "%s/junk.metrics", dir);
	fd = open(path, O_CREAT | O_WRONLY, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "junk", 4), 4);
	close(fd);
	text = render(&programs);
	assert_int_equal(programs, 0);
	free(text);
}

static void counts_without_a_file(void **state)
{
	(void)state;
	/* before open, or with no directory: private memory, no crash */
	shop_metrics_request("GET /x", 200, 1.0);
	shop_metrics_busy(1);
	shop_metrics_busy(-1);
	assert_int_equal(shop_metrics_open(NULL, "anon", SHOP_METRICS_WORKER), 0);
	shop_metrics_event("q", SHOP_MEV_CONSUMED);
	shop_metrics_close();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(forked_processes_add_up),
		cmocka_unit_test(busy_threads_of_live_processes),
		cmocka_unit_test(full_table_counts_as_other),
		cmocka_unit_test(workers_events_outbox_mail),
		cmocka_unit_test(gone_and_stopped_programs),
		cmocka_unit_test(counts_without_a_file),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, setup, teardown);
}
