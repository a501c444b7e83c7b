/* Logging: one JSON object per line on the log fd (stderr by default):
 * {"time":"2026-11-21T12:00:00.123Z","level":"info","app":"catalog",
 *  "request_id":"...","user_id":"...","route":"GET /api/v1/products/{id}",
 *  "status":200,"duration_ms":1.52,"msg":"..."}
 * The request fields come from the calling thread's context and are omitted
 * when unset. Secrets must never be passed to these functions. */
#ifndef SHOP_LOG_H
#define SHOP_LOG_H

enum shop_log_level { SHOP_LOG_DEBUG, SHOP_LOG_INFO, SHOP_LOG_WARN, SHOP_LOG_ERROR };

/* Sets the app name, the fd written to (one write(2) per line, so lines of
 * several processes do not interleave) and the lowest level written.
 * Call once, before threads start. */
void shop_log_init(const char *app, int fd, enum shop_log_level min);
/* Parses "debug", "info", "warn", "error"; unknown → SHOP_LOG_INFO. */
enum shop_log_level shop_log_level_parse(const char *s);

/* The calling thread's request context. The strings are copied (truncated
 * to 64 bytes each); NULL clears a field. */
void shop_log_set_request(const char *request_id, const char *user_id, const char *route);
void shop_log_clear_request(void);
/* The calling thread's request id, or NULL. */
const char *shop_log_request_id(void);

void shop_log(enum shop_log_level lvl, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* The access line of a finished request: msg "request", with status and duration. */
void shop_log_request_done(int status, double duration_ms);

#define shop_log_debug(...) shop_log(SHOP_LOG_DEBUG, __VA_ARGS__)
#define shop_log_info(...) shop_log(SHOP_LOG_INFO, __VA_ARGS__)
#define shop_log_warn(...) shop_log(SHOP_LOG_WARN, __VA_ARGS__)
#define shop_log_error(...) shop_log(SHOP_LOG_ERROR, __VA_ARGS__)

#endif
