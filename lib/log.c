/* Logging: one JSON object per line, written with a single write(2).
 *
 * Strings are escaped for JSON: '"', '\\', control characters (as \n, \t,
 * ... or \u00XX) and DEL; bytes that are not valid UTF-8 become U+FFFD.
 * A message longer than MSG_MAX bytes is cut (the line stays valid JSON). */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/util.h"

#define MSG_MAX 4096
#define LINE_MAX_ (6 * MSG_MAX + 1024)
#define CTX_MAX 64

static char log_app[64] = "shop";
static int log_fd = 2;
static enum shop_log_level log_min = SHOP_LOG_INFO;

struct log_ctx {
	char request_id[CTX_MAX + 1];
	char user_id[CTX_MAX + 1];
	char route[CTX_MAX + 1];
};

static _Thread_local struct log_ctx ctx;

void shop_log_init(const char *app, int fd, enum shop_log_level min)
{
	if (app)
		snprintf(log_app, sizeof(log_app), "%s", app);
	log_fd = fd;
	log_min = min;
}

enum shop_log_level shop_log_level_parse(const char *s)
{
	if (!s)
		return SHOP_LOG_INFO;
	if (!strcasecmp(s, "debug"))
		return SHOP_LOG_DEBUG;
	if (!strcasecmp(s, "info"))
		return SHOP_LOG_INFO;
	if (!strcasecmp(s, "warn") || !strcasecmp(s, "warning"))
		return SHOP_LOG_WARN;
	if (!strcasecmp(s, "error"))
		return SHOP_LOG_ERROR;
	return SHOP_LOG_INFO;
}

static void ctx_set(char dst[CTX_MAX + 1], const char *src)
{
	size_t n;

	if (!src) {
		dst[0] = '\0';
		return;
	}
	n = strnlen(src, CTX_MAX);
	memcpy(dst, src, n);
	dst[n] = '\0';
}

void shop_log_set_request(const char *request_id, const char *user_id, const char *route)
{
	ctx_set(ctx.request_id, request_id);
	ctx_set(ctx.user_id, user_id);
	ctx_set(ctx.route, route);
}

void shop_log_clear_request(void)
{
	ctx.request_id[0] = ctx.user_id[0] = ctx.route[0] = '\0';
}

const char *shop_log_request_id(void)
{
	return ctx.request_id[0] ? ctx.request_id : NULL;
}

struct line {
	char buf[LINE_MAX_];
	size_t len;
};

static void put(struct line *l, const char *s, size_t n)
{
	/* Keep room for the closing "}\n". */
	if (n > sizeof(l->buf) - 2 - l->len)
		n = sizeof(l->buf) - 2 - l->len;
	memcpy(l->buf + l->len, s, n);
	l->len += n;
}

static void puts_(struct line *l, const char *s)
{
	put(l, s, strlen(s));
}

/* Length of the UTF-8 sequence starting with byte c (0: not a lead byte). */
static size_t lead_len(unsigned char c)
{
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		return 2;
	if (c >= 0xe0 && c <= 0xef)
		return 3;
	if (c >= 0xf0 && c <= 0xf4)
		return 4;
	return 0;
}

/* Appends s[0..n) as a quoted JSON string. */
static void put_str(struct line *l, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;

	put(l, "\"", 1);
	while (i < n) {
		unsigned char c = p[i];
		char esc[8];
		size_t k;

		/* Stop before the escape of one character could be cut. */
		if (sizeof(l->buf) - l->len < 2 + 8 + 1)
			break;
		if (c == '"') {
			put(l, "\\\"", 2);
		} else if (c == '\\') {
			put(l, "\\\\", 2);
		} else if (c == '\n') {
			put(l, "\\n", 2);
		} else if (c == '\r') {
			put(l, "\\r", 2);
		} else if (c == '\t') {
			put(l, "\\t", 2);
		} else if (c < 0x20 || c == 0x7f) {
			snprintf(esc, sizeof(esc), "\\u%04x", c);
			put(l, esc, 6);
		} else if (c < 0x80) {
			put(l, (const char *)p + i, 1);
		} else {
			k = lead_len(c);
			if (k && k <= n - i && shop_utf8_valid((const char *)p + i, k)) {
				put(l, (const char *)p + i, k);
				i += k;
				continue;
			}
			put(l, "\\ufffd", 6);
		}
		i++;
	}
	put(l, "\"", 1);
}

static void put_key_str(struct line *l, const char *key, const char *val)
{
	put(l, ",\"", 2);
	puts_(l, key);
	put(l, "\":", 2);
	put_str(l, val, strlen(val));
}

static const char *level_name(enum shop_log_level lvl)
{
	switch (lvl) {
	case SHOP_LOG_DEBUG:
		return "debug";
	case SHOP_LOG_INFO:
		return "info";
	case SHOP_LOG_WARN:
		return "warn";
	case SHOP_LOG_ERROR:
		return "error";
	}
	return "info";
}

static void put_time(struct line *l)
{
	struct timespec ts;
	struct tm tm;
	char t[40];
	size_t n;

	clock_gettime(CLOCK_REALTIME, &ts);
	if (!gmtime_r(&ts.tv_sec, &tm)) {
		put(l, "\"1970-01-01T00:00:00.000Z\"", 26);
		return;
	}
	n = strftime(t, sizeof(t), "\"%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(t + n, sizeof(t) - n, ".%03ldZ\"", (long)(ts.tv_nsec / 1000000));
	puts_(l, t);
}

static void emit(enum shop_log_level lvl, const char *msg, size_t msglen,
    bool done, int status, double duration_ms)
{
	struct line l;
	ssize_t w;
	size_t off = 0;
	int saved = errno;

	l.len = 0;
	put(&l, "{\"time\":", 8);
	put_time(&l);
	put_key_str(&l, "level", level_name(lvl));
	put_key_str(&l, "app", log_app);
	if (ctx.request_id[0])
		put_key_str(&l, "request_id", ctx.request_id);
	if (ctx.user_id[0])
		put_key_str(&l, "user_id", ctx.user_id);
	if (ctx.route[0])
		put_key_str(&l, "route", ctx.route);
	if (done) {
		char num[64];
		int k;

		if (!(duration_ms >= 0 && duration_ms < 1e12))
			duration_ms = 0;
		k = snprintf(num, sizeof(num), ",\"status\":%d,\"duration_ms\":%.2f",
		    status, duration_ms);
		if (k > 0 && (size_t)k < sizeof(num))
			put(&l, num, (size_t)k);
	}
	put(&l, ",\"msg\":", 7);
	put_str(&l, msg, msglen);
	/* put() always leaves room for these two bytes. */
	l.buf[l.len++] = '}';
	l.buf[l.len++] = '\n';

	while (off < l.len) {
		w = write(log_fd, l.buf + off, l.len - off);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		off += (size_t)w;
	}
	errno = saved;
}

void shop_log(enum shop_log_level lvl, const char *fmt, ...)
{
	char msg[MSG_MAX];
	va_list ap;
	int n;

	if (lvl < log_min)
		return;
	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	if ((size_t)n >= sizeof(msg))
		n = sizeof(msg) - 1;
	emit(lvl, msg, (size_t)n, false, 0, 0);
}

void shop_log_request_done(int status, double duration_ms)
{
	if (SHOP_LOG_INFO < log_min)
		return;
	emit(SHOP_LOG_INFO, "request", 7, true, status, duration_ms);
}
