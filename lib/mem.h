/* Allocation that aborts on out-of-memory, and the per-request arena.
 *
 * Linking this file also sets, before main(), how much a process maps and
 * keeps (mem.c, mem_start): at most two malloc arenas, and OpenSSL without
 * its configuration file and legacy name tables; MALLOC_ARENA_MAX,
 * GLIBC_TUNABLES or OPENSSL_CONF in the environment leave the libraries'
 * defaults. */
#ifndef SHOP_MEM_H
#define SHOP_MEM_H

#include <stdarg.h>
#include <stddef.h>

/* malloc/calloc/realloc/strdup that abort() with a message on failure:
 * out-of-memory is the only failure that is not returned. */
void *shop_xmalloc(size_t n);
void *shop_xcalloc(size_t nmemb, size_t size);
void *shop_xrealloc(void *p, size_t n);
char *shop_xstrdup(const char *s);

/* An arena (nginx's pool idea): many allocations, one release.
 * Allocations are 16-byte aligned and live until shop_arena_reset() or
 * shop_arena_free(). Allocation aborts on out-of-memory, never returns NULL. */
struct shop_arena;

struct shop_arena *shop_arena_new(size_t chunk_size);
/* Releases every allocation; keeps the first chunk for reuse. */
void shop_arena_reset(struct shop_arena *a);
void shop_arena_free(struct shop_arena *a);
void *shop_arena_alloc(struct shop_arena *a, size_t n);
void *shop_arena_calloc(struct shop_arena *a, size_t n);
char *shop_arena_strdup(struct shop_arena *a, const char *s);
char *shop_arena_strndup(struct shop_arena *a, const char *s, size_t n);
char *shop_arena_printf(struct shop_arena *a, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
char *shop_arena_vprintf(struct shop_arena *a, const char *fmt, va_list ap);

#endif
