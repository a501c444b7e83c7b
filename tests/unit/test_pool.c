/* The pool, the request layer and the FastCGI client against a real pool:
 * a forked child runs shop_app_main() with the echo app (echo_app.c) on a
 * socket in a temporary directory; the tests speak FastCGI to it, with
 * shop_fcgi_get() and with records written here (keep-alive, bodies,
 * garbage). Worker processes are found through /proc. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <fastcgi.h>
#include <json-c/json.h>

#include "lib/err.h"
#include "lib/fcgic.h"

#define ECHO_APP_NO_MAIN
#include "tests/unit/echo_app.c"

#define PROCS 2
#define THREADS 3

static char dir[256], sock_path[300], pid_path[300], log_path[300];
static pid_t master = -1;

/* ------------------------------------------------------------------ */
/* Helpers: time, processes, addresses */

static void sun_set(struct sockaddr_un *sa, const char *path)
{
	size_t n = strlen(path);

	assert_true(n < sizeof(sa->sun_path));
	memcpy(sa->sun_path, path, n + 1);
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static void nap(int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* Waits for pid to exit within ms; returns its status or -1. */
static int wait_exit(pid_t pid, int ms)
{
	double end = now_ms() + ms;
	int status;

	do {
		pid_t r = waitpid(pid, &status, WNOHANG);

		if (r == pid)
			return status;
		if (r < 0)
			return -1;
		nap(5);
	} while (now_ms() < end);
	return -1;
}

/* The children of ppid (from /proc/<pid>/stat), up to max. */
static int children(pid_t ppid, pid_t *out, int max)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	int n = 0;

	if (!d)
		return 0;
	while ((e = readdir(d)) && n < max) {
		char path[300], buf[512], *p;
		int fd, ppid_of;
		ssize_t k;

		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/stat", e->d_name);
		fd = open(path, O_RDONLY);
		if (fd < 0)
			continue;
		k = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (k <= 0)
			continue;
		buf[k] = '\0';
		p = strrchr(buf, ')'); /* "pid (comm) S ppid ..." */
		if (!p || sscanf(p + 2, "%*c %d", &ppid_of) != 1)
			continue;
		if (ppid_of == ppid) {
			char state = p[2];

			if (state != 'Z')
				out[n++] = (pid_t)atoi(e->d_name);
		}
	}
	closedir(d);
	return n;
}

static pid_t start_pool(const char *procs)
{
	pid_t pid = fork();

	if (pid == 0) {
		int fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND, 0600);
		char threads[8];
		char *argv[] = { "echo_app", "-s", sock_path, "-p", (char *)procs, "-t", threads,
			"-P", pid_path, NULL };

		/* the pool goes when the test goes, however it ends */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		snprintf(threads, sizeof(threads), "%d", THREADS);
		if (fd >= 0)
			dup2(fd, 2);
		_exit(shop_app_main(&echo_app, 9, argv));
	}
	return pid;
}

static bool wait_ready(int ms)
{
	double end = now_ms() + ms;
	int status = 0;

	do {
		if (shop_fcgi_get(sock_path, "GET", "/_ping", 500, &status) == 0 && status == 200)
			return true;
		nap(10);
	} while (now_ms() < end);
	return false;
}

/* ------------------------------------------------------------------ */
/* A FastCGI client that writes its own records */

struct resp {
	int status;
	char head[4096];
	char body[70000];
	size_t blen;
	json_object *json;
};

static int conn_open(int timeout_ms)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000 };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	sun_set(&sa, sock_path);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int send_all(int fd, const void *p, size_t n)
{
	const char *c = p;

	while (n > 0) {
		ssize_t w = send(fd, c, n, MSG_NOSIGNAL);

		if (w <= 0)
			return -1;
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

static int recv_all(int fd, void *p, size_t n)
{
	char *c = p;

	while (n > 0) {
		ssize_t r = recv(fd, c, n, 0);

		if (r <= 0)
			return -1;
		c += r;
		n -= (size_t)r;
	}
	return 0;
}

static void rec_header(unsigned char *h, int type, size_t len)
{
	h[0] = FCGI_VERSION_1;
	h[1] = (unsigned char)type;
	h[2] = 0;
	h[3] = 1;
	h[4] = (unsigned char)(len >> 8);
	h[5] = (unsigned char)len;
	h[6] = 0;
	h[7] = 0;
}

static int send_record(int fd, int type, const void *data, size_t len)
{
	unsigned char h[8];

	rec_header(h, type, len);
	if (send_all(fd, h, 8) < 0)
		return -1;
	return len ? send_all(fd, data, len) : 0;
}

/* params: name, value, ..., NULL. */
static int send_request(int fd, const char *const *params, const char *body, size_t blen,
    bool keep)
{
	unsigned char begin[8] = { 0, FCGI_RESPONDER, keep ? FCGI_KEEP_CONN : 0 };
	unsigned char buf[8192];
	size_t off = 0;

	for (int i = 0; params[i]; i += 2) {
		size_t nl = strlen(params[i]), vl = strlen(params[i + 1]);

		assert_true(nl < 128 && vl < 128 && off + 2 + nl + vl < sizeof(buf));
		buf[off++] = (unsigned char)nl;
		buf[off++] = (unsigned char)vl;
		memcpy(buf + off, params[i], nl);
		off += nl;
		memcpy(buf + off, params[i + 1], vl);
		off += vl;
	}
	if (send_record(fd, FCGI_BEGIN_REQUEST, begin, 8) < 0 ||
	    send_record(fd, FCGI_PARAMS, buf, off) < 0 ||
	    send_record(fd, FCGI_PARAMS, NULL, 0) < 0)
		return -1;
	while (blen > 0) {
		size_t n = blen > 32768 ? 32768 : blen;

		if (send_record(fd, FCGI_STDIN, body, n) < 0)
			return -1;
		body += n;
		blen -= n;
	}
	return send_record(fd, FCGI_STDIN, NULL, 0);
}

static int read_response(int fd, struct resp *r)
{
	static char out[200000];
	unsigned char h[8], content[65536 + 256];
	size_t n = 0, clen;
	char *sep;

	memset(r, 0, sizeof(*r));
	for (;;) {
		if (recv_all(fd, h, 8) < 0)
			return -1;
		clen = ((size_t)h[4] << 8 | h[5]) + h[6];
		if (recv_all(fd, content, clen) < 0)
			return -1;
		clen -= h[6];
		if (h[1] == FCGI_STDOUT) {
			if (n + clen > sizeof(out))
				return -1;
			memcpy(out + n, content, clen);
			n += clen;
		} else if (h[1] == FCGI_END_REQUEST) {
			break;
		}
	}
	sep = memmem(out, n, "\r\n\r\n", 4);
	if (!sep || (size_t)(sep - out) >= sizeof(r->head))
		return -1;
	memcpy(r->head, out, (size_t)(sep - out) + 2);
	r->blen = n - (size_t)(sep + 4 - out);
	if (r->blen >= sizeof(r->body))
		return -1;
	memcpy(r->body, sep + 4, r->blen);
	if (sscanf(r->head, "Status: %d", &r->status) != 1)
		r->status = 200;
	r->json = json_tokener_parse(r->body);
	return 0;
}

static void resp_free(struct resp *r)
{
	if (r->json)
		json_object_put(r->json);
	r->json = NULL;
}

/* The value of a response header, or NULL (static buffer). */
static const char *header(const struct resp *r, const char *name)
{
	static char val[512];
	const char *p = r->head;
	size_t nl = strlen(name);

	while (*p) {
		const char *eol = strstr(p, "\r\n");

		if (!eol)
			break;
		if (strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
			const char *v = p + nl + 1;

			while (*v == ' ')
				v++;
			snprintf(val, sizeof(val), "%.*s", (int)(eol - v), v);
			return val;
		}
		p = eol + 2;
	}
	return NULL;
}

/* The first error code of an error envelope, or "". */
static const char *err_code(const struct resp *r, int i)
{
	json_object *errors, *item, *code;

	if (!r->json || !json_object_object_get_ex(r->json, "errors", &errors) ||
	    (int)json_object_array_length(errors) <= i)
		return "";
	item = json_object_array_get_idx(errors, (size_t)i);
	if (!json_object_object_get_ex(item, "code", &code))
		return "";
	return json_object_get_string(code);
}

static long long data_int(const struct resp *r, const char *name)
{
	json_object *data, *v;

	if (!r->json || !json_object_object_get_ex(r->json, "data", &data) ||
	    !json_object_object_get_ex(data, name, &v))
		return -1;
	return json_object_get_int64(v);
}

static const char *data_str(const struct resp *r, const char *name)
{
	json_object *data, *v;

	if (!r->json || !json_object_object_get_ex(r->json, "data", &data) ||
	    !json_object_object_get_ex(data, name, &v) || json_object_is_type(v, json_type_null))
		return NULL;
	return json_object_get_string(v);
}

struct call {
	const char *method, *uri, *ctype, *body, *user, *roles, *request_id, *clen;
	size_t blen;     /* 0: strlen(body) */
	const char *extra_name, *extra_value;
};

/* One request on a new connection (no keep-alive). Returns 0 or -1. */
static int call(const struct call *c, struct resp *r)
{
	const char *params[40];
	char path[512], clen[32];
	const char *q = strchr(c->uri, '?');
	size_t blen = c->body ? (c->blen ? c->blen : strlen(c->body)) : 0;
	int n = 0, fd, rc;

	snprintf(path, sizeof(path), "%.*s", q ? (int)(q - c->uri) : (int)strlen(c->uri), c->uri);
	params[n++] = "REQUEST_METHOD";
	params[n++] = c->method;
	params[n++] = "DOCUMENT_URI";
	params[n++] = path;
	params[n++] = "REQUEST_URI";
	params[n++] = c->uri;
	params[n++] = "QUERY_STRING";
	params[n++] = q ? q + 1 : "";
	if (c->ctype) {
		params[n++] = "CONTENT_TYPE";
		params[n++] = c->ctype;
	}
	if (c->clen) {
		params[n++] = "CONTENT_LENGTH";
		params[n++] = c->clen;
	} else if (c->body) {
		snprintf(clen, sizeof(clen), "%zu", blen);
		params[n++] = "CONTENT_LENGTH";
		params[n++] = clen;
	}
	if (c->user) {
		params[n++] = "SHOP_USER_ID";
		params[n++] = c->user;
		params[n++] = "SHOP_USER_ROLES";
		params[n++] = c->roles ? c->roles : "";
	}
	if (c->request_id) {
		params[n++] = "REQUEST_ID";
		params[n++] = c->request_id;
	}
	if (c->extra_name) {
		params[n++] = c->extra_name;
		params[n++] = c->extra_value;
	}
	params[n] = NULL;

	fd = conn_open(3000);
	if (fd < 0)
		return -1;
	rc = send_request(fd, params, c->body, blen, false);
	if (rc == 0)
		rc = read_response(fd, r);
	close(fd);
	return rc;
}

static int get(const char *uri, struct resp *r)
{
	struct call c = { .method = "GET", .uri = uri };

	return call(&c, r);
}

/* ------------------------------------------------------------------ */
/* Set-up: a stale socket file first, then the pool on it. */

static int setup(void **state)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	(void)state;
	signal(SIGPIPE, SIG_IGN);
	snprintf(dir, sizeof(dir), "/tmp/shop-test-pool-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(sock_path, sizeof(sock_path), "%s/echo.sock", dir);
	snprintf(pid_path, sizeof(pid_path), "%s/echo.pid", dir);
	snprintf(log_path, sizeof(log_path), "%s/echo.log", dir);

	/* A stale socket: bound, then its owner gone. */
	sun_set(&sa, sock_path);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -1;
	close(fd);

	master = start_pool("2");
	if (master < 0 || !wait_ready(5000)) {
		fprintf(stderr, "# the pool did not start; see %s\n", log_path);
		return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	char cmd[700];

	(void)state;
	if (master > 0 && wait_exit(master, 0) < 0) {
		kill(master, SIGKILL);
		wait_exit(master, 2000);
	}
	/* The pool's log goes to this test's log (stderr), not to the TAP stream. */
	snprintf(cmd, sizeof(cmd), "grep -v '\"msg\":\"request\"' %s >&2; rm -rf %s", log_path,
	    dir);
	if (system(cmd) != 0)
		return 0;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Tests */

static void test_started(void **state)
{
	struct stat st;
	pid_t kids[8];
	char buf[32] = "";
	double t0;
	int fd;

	(void)state;
	assert_int_equal(lstat(sock_path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0600);
	fd = open(pid_path, O_RDONLY);
	assert_true(fd >= 0);
	assert_true(read(fd, buf, sizeof(buf) - 1) > 0);
	close(fd);
	assert_int_equal(atoi(buf), master);
	/* the first worker may answer before the master forked the second */
	for (t0 = now_ms(); children(master, kids, 8) != PROCS && now_ms() - t0 < 2000;)
		nap(5);
	assert_int_equal(children(master, kids, 8), PROCS);
}

static void test_second_pool_refused(void **state)
{
	pid_t other;
	int status;

	(void)state;
	other = start_pool("1");
	status = wait_exit(other, 3000);
	assert_true(status >= 0);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) != 0);
	/* and the first one still answers */
	assert_true(wait_ready(1000));
}

static void test_fcgic(void **state)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char mute[300];
	double t0;
	int status = 0, fd;

	(void)state;
	assert_int_equal(shop_fcgi_get(sock_path, "GET", "/hello", 2000, &status), 0);
	assert_int_equal(status, 200);
	assert_int_equal(shop_fcgi_get(sock_path, "GET", "/nope?x=1", 2000, &status), 0);
	assert_int_equal(status, 404);
	assert_int_equal(shop_fcgi_get(sock_path, "GET", "/_ping", 2000, &status), 0);
	assert_int_equal(status, 200);
	assert_int_equal(shop_fcgi_get(sock_path, "GET", "/down", 2000, &status), 0);
	assert_int_equal(status, 503);

	snprintf(mute, sizeof(mute), "%s/nobody.sock", dir);
	assert_int_equal(shop_fcgi_get(mute, "GET", "/_ping", 500, &status), SHOP_EUNAVAIL);

	/* A socket that accepts and never answers: SHOP_EIO at the timeout. */
	sun_set(&sa, mute);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 8), 0);
	t0 = now_ms();
	assert_int_equal(shop_fcgi_get(mute, "GET", "/_ping", 200, &status), SHOP_EIO);
	assert_true(now_ms() - t0 < 1000);
	close(fd);
	unlink(mute);
}

static void test_routing(void **state)
{
	struct call del = { .method = "DELETE", .uri = "/hello" };
	struct resp r;

	(void)state;
	assert_int_equal(get("/hello", &r), 0);
	assert_int_equal(r.status, 200);
	assert_string_equal(header(&r, "Content-Type"), "application/json");
	assert_int_equal(atoi(header(&r, "Content-Length")), (int)r.blen);
	assert_non_null(r.json);
	assert_string_equal(data_str(&r, "hello"), "world");
	resp_free(&r);

	assert_int_equal(get("/nope", &r), 0);
	assert_int_equal(r.status, 404);
	assert_string_equal(err_code(&r, 0), "NOT_FOUND");
	resp_free(&r);

	assert_int_equal(get("/items/abc", &r), 0);
	assert_int_equal(r.status, 404);
	resp_free(&r);

	assert_int_equal(call(&del, &r), 0);
	assert_int_equal(r.status, 405);
	assert_string_equal(err_code(&r, 0), "METHOD_NOT_ALLOWED");
	assert_string_equal(header(&r, "Allow"), "GET");
	resp_free(&r);

	assert_int_equal(get("/items/42?limit=5", &r), 0);
	assert_int_equal(r.status, 200);
	assert_int_equal(data_int(&r, "id"), 42);
	assert_int_equal(data_int(&r, "limit"), 5);
	resp_free(&r);

	/* DOCUMENT_URI absent: REQUEST_URI up to '?' */
	{
		const char *params[] = { "REQUEST_METHOD", "GET", "REQUEST_URI", "/items/7?limit=3",
			"QUERY_STRING", "limit=3", NULL };
		int fd = conn_open(3000);

		assert_true(fd >= 0);
		assert_int_equal(send_request(fd, params, NULL, 0, false), 0);
		assert_int_equal(read_response(fd, &r), 0);
		close(fd);
		assert_int_equal(r.status, 200);
		assert_int_equal(data_int(&r, "id"), 7);
		resp_free(&r);
	}
}

static void test_query(void **state)
{
	static const char *bad[] = { "/items/1?limit=0", "/items/1?limit=abc", "/items/1?x=1",
		"/items/1?limit=1&limit=2", "/items/1?limit=%zz", "/hello?a=b" };
	struct resp r;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(get(bad[i], &r), 0);
		if (r.status != 400)
			fail_msg("%s → %d", bad[i], r.status);
		assert_string_equal(err_code(&r, 0), "INVALID_QUERY");
		resp_free(&r);
	}
}

static void test_access(void **state)
{
	struct call post = { .method = "POST", .uri = "/items", .ctype = "application/json",
		.body = "{\"name\":\"x\"}" };
	struct call put = { .method = "PUT", .uri = "/items/3", .ctype = "application/json",
		.body = "{}" };
	struct call del = { .method = "DELETE", .uri = "/items/3" };
	struct resp r;

	(void)state;
	assert_int_equal(call(&post, &r), 0);
	assert_int_equal(r.status, 401);
	assert_string_equal(err_code(&r, 0), "UNAUTHENTICATED");
	resp_free(&r);

	post.user = "12";
	post.roles = "CUSTOMER";
	assert_int_equal(call(&post, &r), 0);
	assert_int_equal(r.status, 201);
	assert_int_equal(data_int(&r, "user_id"), 12);
	resp_free(&r);

	/* malformed auth params: anonymous */
	post.user = "12x";
	assert_int_equal(call(&post, &r), 0);
	assert_int_equal(r.status, 401);
	resp_free(&r);

	put.user = "12";
	put.roles = "CUSTOMER";
	assert_int_equal(call(&put, &r), 0);
	assert_int_equal(r.status, 403);
	assert_string_equal(err_code(&r, 0), "FORBIDDEN");
	resp_free(&r);
	put.roles = "CUSTOMER,SELLER";
	assert_int_equal(call(&put, &r), 0);
	assert_int_equal(r.status, 200);
	resp_free(&r);
	put.roles = "ADMIN";
	assert_int_equal(call(&put, &r), 0);
	assert_int_equal(r.status, 200);
	resp_free(&r);

	assert_int_equal(call(&del, &r), 0);
	assert_int_equal(r.status, 401);
	resp_free(&r);
	del.user = "5";
	del.roles = "SELLER";
	assert_int_equal(call(&del, &r), 0);
	assert_int_equal(r.status, 403);
	resp_free(&r);
	del.roles = "ADMIN";
	assert_int_equal(call(&del, &r), 0);
	assert_int_equal(r.status, 200);
	resp_free(&r);
}

static void test_body(void **state)
{
	static char big[SHOP_MAX_BODY + 10];
	struct call c = { .method = "POST", .uri = "/items", .ctype = "application/json",
		.user = "1", .roles = "CUSTOMER" };
	struct resp r;

	(void)state;
	/* content types */
	c.body = "{\"name\":\"a\",\"qty\":2}";
	const char *ok_types[] = { "application/json", "application/json; charset=utf-8",
		"Application/JSON;charset=UTF-8", "application/json ; charset=\"utf-8\"" };
	for (size_t i = 0; i < sizeof(ok_types) / sizeof(ok_types[0]); i++) {
		c.ctype = ok_types[i];
		assert_int_equal(call(&c, &r), 0);
		if (r.status != 201)
			fail_msg("%s → %d", ok_types[i], r.status);
		assert_int_equal(data_int(&r, "qty"), 2);
		resp_free(&r);
	}
	const char *bad_types[] = { "text/plain", "application/json; charset=latin1",
		"application/jsonx", "", NULL };
	for (size_t i = 0; i < sizeof(bad_types) / sizeof(bad_types[0]); i++) {
		c.ctype = bad_types[i];
		assert_int_equal(call(&c, &r), 0);
		assert_int_equal(r.status, 415);
		assert_string_equal(err_code(&r, 0), "UNSUPPORTED_MEDIA_TYPE");
		resp_free(&r);
	}
	c.ctype = "application/json";

	/* malformed JSON */
	c.body = "{\"name\":";
	assert_int_equal(call(&c, &r), 0);
	assert_int_equal(r.status, 400);
	assert_string_equal(err_code(&r, 0), "MALFORMED_JSON");
	resp_free(&r);

	/* validation: unknown field, wrong type, required */
	c.body = "{\"name\":\"a\",\"roles\":[\"ADMIN\"]}";
	assert_int_equal(call(&c, &r), 0);
	assert_int_equal(r.status, 400);
	assert_string_equal(err_code(&r, 0), "UNKNOWN_FIELD");
	resp_free(&r);
	c.body = "{\"qty\":5}";
	assert_int_equal(call(&c, &r), 0);
	assert_int_equal(r.status, 400);
	assert_string_equal(err_code(&r, 0), "REQUIRED");
	resp_free(&r);
	c.body = "[1,2]";
	assert_int_equal(call(&c, &r), 0);
	assert_int_equal(r.status, 400);
	resp_free(&r);

	/* An empty body declared as JSON is malformed JSON. */
	c.body = NULL;
	assert_int_equal(call(&c, &r), 0);
	assert_int_equal(r.status, 400);
	assert_string_equal(err_code(&r, 0), "MALFORMED_JSON");
	resp_free(&r);
	/* No body at all: required fields → 400; all optional → {} */
	c.ctype = NULL;
	assert_int_equal(call(&c, &r), 0);
	assert_int_equal(r.status, 400);
	assert_string_equal(err_code(&r, 0), "REQUIRED");
	resp_free(&r);
	c.ctype = "application/json";
	{
		struct call put = { .method = "PUT", .uri = "/items/9", .user = "1",
			.roles = "SELLER" };

		assert_int_equal(call(&put, &r), 0);
		assert_int_equal(r.status, 200);
		assert_non_null(strstr(r.body, "\"empty\":true"));
		resp_free(&r);
	}

	/* Content-Length strict */
	c.body = "{\"name\":\"a\"}";
	c.clen = "+12";
	assert_int_equal(call(&c, &r), 0);
	assert_int_equal(r.status, 400);
	resp_free(&r);
	c.clen = "5"; /* does not match the body */
	assert_int_equal(call(&c, &r), 0);
	assert_int_equal(r.status, 400);
	resp_free(&r);
	c.clen = NULL;

	/* too big: by Content-Length, and by the bytes themselves */
	memset(big, ' ', sizeof(big));
	c.body = big;
	c.blen = sizeof(big);
	assert_int_equal(call(&c, &r), 0);
	assert_int_equal(r.status, 413);
	assert_string_equal(err_code(&r, 0), "PAYLOAD_TOO_LARGE");
	resp_free(&r);
	c.clen = "";
	assert_int_equal(call(&c, &r), 0);
	assert_int_equal(r.status, 413);
	resp_free(&r);
	c.clen = NULL;
	c.blen = 0;

	/* a body where none is taken */
	{
		struct call g = { .method = "GET", .uri = "/hello", .ctype = "application/json",
			.body = "{}" };

		assert_int_equal(call(&g, &r), 0);
		assert_int_equal(r.status, 400);
		resp_free(&r);
	}
}

/* SHOP_ROUTE_RAW_BODY: the exact bytes reach the handler unparsed (not even
 * JSON), the media type and the size limit are checked as usual. */
static void test_raw_body(void **state)
{
	static char big[SHOP_MAX_BODY + 10];
	static const char odd[] = "{\"b\":1,  \"a\":[1 ,2],\"b\":\"dup\"}\n";
	struct call c = { .method = "POST", .uri = "/raw", .ctype = "application/json" };
	struct resp r;

	(void)state;
	/* JSON that the layer would normalise or refuse (duplicate key, blanks) */
	c.body = odd;
	assert_int_equal(call(&c, &r), 0);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.blen, strlen(odd));
	assert_memory_equal(r.body, odd, strlen(odd));
	assert_string_equal(header(&r, "X-Parsed"), "no");
	resp_free(&r);
	/* not JSON at all, with a NUL inside: still the bytes */
	c.body = "not json\0tail";
	c.blen = 13;
	assert_int_equal(call(&c, &r), 0);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.blen, 13);
	assert_memory_equal(r.body, "not json\0tail", 13);
	resp_free(&r);
	c.blen = 0;
	/* the media type is checked */
	c.body = "{}";
	c.ctype = "text/plain";
	assert_int_equal(call(&c, &r), 0);
	assert_int_equal(r.status, 415);
	assert_string_equal(err_code(&r, 0), "UNSUPPORTED_MEDIA_TYPE");
	resp_free(&r);
	/* no body at all: the handler gets none */
	c.body = NULL;
	c.ctype = NULL;
	assert_int_equal(call(&c, &r), 0);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.blen, 0);
	resp_free(&r);
	/* the 64 KiB limit holds */
	memset(big, 'x', sizeof(big));
	c.ctype = "application/json";
	c.body = big;
	c.blen = sizeof(big);
	assert_int_equal(call(&c, &r), 0);
	assert_int_equal(r.status, 413);
	resp_free(&r);
	c.blen = SHOP_MAX_BODY;
	assert_int_equal(call(&c, &r), 0);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.blen, SHOP_MAX_BODY);
	resp_free(&r);
}

static void test_layer_misc(void **state)
{
	struct call c = { .method = "GET", .uri = "/hdr", .request_id = "abc-123.X_y",
		.extra_name = "HTTP_IDEMPOTENCY_KEY", .extra_value = "key-1" };
	struct resp r;
	const char *id;

	(void)state;
	assert_int_equal(call(&c, &r), 0);
	assert_int_equal(r.status, 200);
	assert_string_equal(data_str(&r, "key"), "key-1");
	assert_string_equal(data_str(&r, "request_id"), "abc-123.X_y");
	assert_string_equal(header(&r, "X-Test"), "yes");
	assert_null(header(&r, "X-Bad"));
	assert_null(header(&r, "Injected"));
	resp_free(&r);

	/* generated ids: absent, or not well-formed */
	c.request_id = NULL;
	assert_int_equal(call(&c, &r), 0);
	id = data_str(&r, "request_id");
	assert_non_null(id);
	assert_int_equal(strlen(id), 32);
	assert_int_equal(strspn(id, "0123456789abcdef"), 32);
	resp_free(&r);
	c.request_id = "bad id";
	assert_int_equal(call(&c, &r), 0);
	assert_int_equal(strlen(data_str(&r, "request_id")), 32);
	resp_free(&r);

	assert_int_equal(get("/noanswer", &r), 0);
	assert_int_equal(r.status, 500);
	assert_string_equal(err_code(&r, 0), "INTERNAL");
	resp_free(&r);

	assert_int_equal(get("/down", &r), 0);
	assert_int_equal(r.status, 503);
	assert_string_equal(err_code(&r, 0), "SERVICE_UNAVAILABLE");
	resp_free(&r);
}

static void test_keepalive(void **state)
{
	const char *params[] = { "REQUEST_METHOD", "GET", "DOCUMENT_URI", "/hello", NULL };
	const char *post[] = { "REQUEST_METHOD", "POST", "DOCUMENT_URI", "/nope",
		"CONTENT_LENGTH", "10", NULL };
	struct resp r;
	char b;
	int fd = conn_open(3000);

	(void)state;
	assert_true(fd >= 0);
	for (int i = 0; i < 20; i++) {
		assert_int_equal(send_request(fd, params, NULL, 0, true), 0);
		assert_int_equal(read_response(fd, &r), 0);
		assert_int_equal(r.status, 200);
		resp_free(&r);
		/* a body the handler never reads is drained: the next request works */
		if (i == 10) {
			assert_int_equal(send_request(fd, post, "0123456789", 10, true), 0);
			assert_int_equal(read_response(fd, &r), 0);
			assert_int_equal(r.status, 404);
			resp_free(&r);
		}
	}
	/* without KEEP_CONN the server closes after the answer */
	assert_int_equal(send_request(fd, params, NULL, 0, false), 0);
	assert_int_equal(read_response(fd, &r), 0);
	assert_int_equal(r.status, 200);
	resp_free(&r);
	assert_int_equal(recv(fd, &b, 1, 0), 0);
	close(fd);
}

/* More idle kept connections than handler threads: none holds a thread. */
static void test_idle_connections_hold_no_thread(void **state)
{
	const char *params[] = { "REQUEST_METHOD", "GET", "DOCUMENT_URI", "/hello", NULL };
	enum { N = PROCS * THREADS * 3 };
	int fds[N];
	struct resp r;
	double t0;

	(void)state;
	for (int i = 0; i < N; i++) {
		fds[i] = conn_open(3000);
		assert_true(fds[i] >= 0);
		assert_int_equal(send_request(fds[i], params, NULL, 0, true), 0);
		assert_int_equal(read_response(fds[i], &r), 0);
		assert_int_equal(r.status, 200);
		resp_free(&r);
	}
	t0 = now_ms();
	assert_int_equal(get("/hello", &r), 0);
	assert_int_equal(r.status, 200);
	resp_free(&r);
	assert_true(now_ms() - t0 < 1000);
	/* and each idle one still works */
	for (int i = 0; i < N; i++) {
		assert_int_equal(send_request(fds[i], params, NULL, 0, true), 0);
		assert_int_equal(read_response(fds[i], &r), 0);
		assert_int_equal(r.status, 200);
		resp_free(&r);
		close(fds[i]); /* the peer closing an idle kept connection */
	}
	assert_int_equal(get("/hello", &r), 0);
	assert_int_equal(r.status, 200);
	resp_free(&r);
}

static void test_garbage(void **state)
{
	static const char junk[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
	unsigned char half[5] = { 1, 1, 0, 1, 0 };
	struct resp r;
	char b;
	int fd;

	(void)state;
	fd = conn_open(3000);
	assert_true(fd >= 0);
	assert_int_equal(send_all(fd, junk, sizeof(junk) - 1), 0);
	assert_true(recv(fd, &b, 1, 0) <= 0); /* closed, no answer */
	close(fd);

	/* half a header, then the peer goes away */
	fd = conn_open(3000);
	assert_int_equal(send_all(fd, half, sizeof(half)), 0);
	close(fd);

	/* a bad record version after a good request on a kept connection */
	{
		const char *params[] = { "REQUEST_METHOD", "GET", "DOCUMENT_URI", "/hello", NULL };

		fd = conn_open(3000);
		assert_int_equal(send_request(fd, params, NULL, 0, true), 0);
		assert_int_equal(read_response(fd, &r), 0);
		resp_free(&r);
		assert_int_equal(send_all(fd, "\x07\x07\x07\x07\x07\x07\x07\x07", 8), 0);
		assert_true(recv(fd, &b, 1, 0) <= 0);
		close(fd);
	}
	assert_int_equal(get("/hello", &r), 0);
	assert_int_equal(r.status, 200);
	resp_free(&r);
}

/* Concurrent clients on several connections at once. */
static void test_concurrency(void **state)
{
	enum { KIDS = 8, EACH = 50 };
	pid_t kids[KIDS];

	(void)state;
	for (int k = 0; k < KIDS; k++) {
		kids[k] = fork();
		if (kids[k] == 0) {
			struct resp r;
			int bad = 0;

			for (int i = 0; i < EACH; i++) {
				if (get(i % 2 ? "/hello" : "/items/5?limit=9", &r) != 0 ||
				    r.status != 200)
					bad++;
				resp_free(&r);
			}
			_exit(bad ? 1 : 0);
		}
	}
	for (int k = 0; k < KIDS; k++) {
		int st = wait_exit(kids[k], 20000);

		assert_true(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
}

static pid_t pid_answering(int timeout_ms)
{
	struct resp r;
	pid_t pid = -1;
	int fd = conn_open(timeout_ms);
	const char *params[] = { "REQUEST_METHOD", "GET", "DOCUMENT_URI", "/pid", NULL };

	if (fd < 0)
		return -1;
	if (send_request(fd, params, NULL, 0, false) == 0 && read_response(fd, &r) == 0 &&
	    r.status == 200)
		pid = (pid_t)data_int(&r, "pid");
	resp_free(&r);
	close(fd);
	return pid;
}

/* True once every thread of pid is stopped: kill(SIGSTOP) returns before
 * the process stops, and its threads stop one by one (the one the signal
 * woke passes the stop to the others), so a thread woken by a connection
 * meanwhile could still serve it. */
static bool all_threads_stopped(pid_t pid, int timeout_ms)
{
	char path[64], buf[512], *s;
	double t0 = now_ms();
	struct dirent *e;
	bool all;
	DIR *d;
	FILE *f;

	do {
		snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
		d = opendir(path);
		if (d == NULL)
			return false;
		all = true;
		while (all && (e = readdir(d)) != NULL) {
			if (e->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "/proc/%d/task/%.16s/stat", (int)pid, e->d_name);
			f = fopen(path, "r");
			if (f == NULL)
				continue;
			s = fgets(buf, sizeof(buf), f) ? strrchr(buf, ')') : NULL;
			fclose(f);
			if (s == NULL || (s[2] != 'T' && s[2] != 't'))
				all = false;
		}
		closedir(d);
		if (all)
			return true;
		poll(NULL, 0, 1);
	} while (now_ms() - t0 < timeout_ms);
	return false;
}

static void test_worker_killed(void **state)
{
	pid_t before[8], after[8], p = -1;
	double t0, took;
	int n;

	(void)state;
	n = children(master, before, 8);
	assert_int_equal(n, PROCS);
	/* Kill one; stop the other, so that only a new process can answer. */
	assert_int_equal(kill(before[0], SIGKILL), 0);
	assert_int_equal(kill(before[1], SIGSTOP), 0);
	t0 = now_ms();
	assert_true(all_threads_stopped(before[1], 1000));
	while (now_ms() - t0 < 1000) {
		p = pid_answering(100);
		if (p > 0)
			break;
	}
	took = now_ms() - t0;
	kill(before[1], SIGCONT);
	if (p <= 0)
		fail_msg("no new worker answered within 1 s");
	assert_true(p != before[0] && p != before[1]);
	fprintf(stderr, "# a new worker answered %.0f ms after SIGKILL\n", took);
	assert_true(took < 1000);

	n = children(master, after, 8);
	assert_int_equal(n, PROCS);
	/* the stopped-and-continued one still serves */
	assert_true(wait_ready(1000));
}

static void test_sigterm(void **state)
{
	const char *hello[] = { "REQUEST_METHOD", "GET", "DOCUMENT_URI", "/hello", NULL };
	const char *slow[] = { "REQUEST_METHOD", "GET", "DOCUMENT_URI", "/slow",
		"QUERY_STRING", "ms=300", NULL };
	struct resp r;
	struct stat st;
	pid_t kids[8];
	int idle, busy, status, n;
	double t0;

	(void)state;
	n = children(master, kids, 8);
	idle = conn_open(5000);
	busy = conn_open(5000);
	assert_true(idle >= 0 && busy >= 0);
	/* both become kept-alive connections */
	assert_int_equal(send_request(idle, hello, NULL, 0, true), 0);
	assert_int_equal(read_response(idle, &r), 0);
	resp_free(&r);
	assert_int_equal(send_request(busy, hello, NULL, 0, true), 0);
	assert_int_equal(read_response(busy, &r), 0);
	resp_free(&r);
	/* a slow request in hand when the stop comes */
	assert_int_equal(send_request(busy, slow, NULL, 0, true), 0);
	assert_int_equal(kill(master, SIGTERM), 0);

	assert_int_equal(read_response(busy, &r), 0);
	assert_int_equal(r.status, 200);
	resp_free(&r);
	/* Kept connections are still served while the web server may be
	 * sending on them (closing one would race with it)... */
	assert_int_equal(send_request(idle, hello, NULL, 0, true), 0);
	assert_int_equal(read_response(idle, &r), 0);
	assert_int_equal(r.status, 200);
	resp_free(&r);
	/* ...until the web server closes them: then the workers go at once. */
	close(busy);
	close(idle);
	t0 = now_ms();

	status = wait_exit(master, 5000);
	assert_true(status >= 0);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_true(now_ms() - t0 < 2000); /* not the drain's 8 s limit */
	master = -1;
	assert_int_equal(lstat(sock_path, &st), -1);
	assert_int_equal(lstat(pid_path, &st), -1);
	for (int i = 0; i < n; i++)
		assert_int_equal(kill(kids[i], 0), -1); /* the workers are gone too */
	assert_int_equal(shop_fcgi_get(sock_path, "GET", "/_ping", 500, &status), SHOP_EUNAVAIL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_started),
		cmocka_unit_test(test_second_pool_refused),
		cmocka_unit_test(test_fcgic),
		cmocka_unit_test(test_routing),
		cmocka_unit_test(test_query),
		cmocka_unit_test(test_access),
		cmocka_unit_test(test_body),
		cmocka_unit_test(test_raw_body),
		cmocka_unit_test(test_layer_misc),
		cmocka_unit_test(test_keepalive),
		cmocka_unit_test(test_idle_connections_hold_no_thread),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_concurrency),
		cmocka_unit_test(test_worker_killed),
		cmocka_unit_test(test_sigterm),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, setup, teardown);
}
