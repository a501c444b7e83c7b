/* Helpers shared by the libFuzzer targets of tests/fuzz (README.md there).
 *
 * Every target is a pure function of its input: no network, no clock (a
 * fixed FUZZ_NOW stands for "now" wherever the code takes it as an
 * argument), and no file but the test keys of tests/fuzz/keys. A broken
 * property aborts with FUZZ_CHECK, which libFuzzer reports as a crash and
 * saves the input for. */
#ifndef SHOP_FUZZ_H
#define SHOP_FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/router.h"

/* 2026-09-21T11:06:40Z: "now" for the targets whose code takes it as an
 * argument (tokens, webhook signatures). The seeds are made for it. */
#define FUZZ_NOW 1790000000LL
#define FUZZ_MAX_ID 9007199254740991LL /* 2^53 - 1 */

/* Aborts with the failed property and where it is. */
#define FUZZ_CHECK(cond) \
	((cond) ? (void)0 : fuzz_fail(__FILE__, __LINE__, #cond))
void fuzz_fail(const char *file, int line, const char *what) __attribute__((noreturn));

/* libFuzzer's entry points, declared for -Wmissing-prototypes. */
int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Every route of every domain app, in one table (the apps' own tables,
 * copied; no two apps share a pattern). With stub non-NULL, each route's
 * handler is replaced by it. The table lives until the process ends or
 * the next call, which frees it: a target calls this once. */
const struct shop_route *fuzz_routes(shop_handler stub, size_t *n);

/* A NUL-terminated copy of data[0..n) (malloc'd; caller frees). */
char *fuzz_strndup(const uint8_t *data, size_t n);

/* Splits s in place at the first '\n' (replaced by NUL); returns what
 * follows it, or NULL (s unchanged) when there is none. */
char *fuzz_cut_line(char *s);

/* Quiets the shop's log: errors only, to stderr. */
void fuzz_quiet_log(void);

/* With SHOP_FUZZ_TRACE set in the environment, prints to stderr what a
 * target saw (to read what an input does: fuzz_x -runs=0 FILE). */
void fuzz_trace(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The directory of the test keys: $SHOP_FUZZ_KEYS, else the one compiled in. */
const char *fuzz_keys_dir(void);

#endif
