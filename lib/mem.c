/* Allocation that aborts on out-of-memory, and the per-request arena.
 *
 * The arena is a list of chunks. Small allocations are carved from the
 * current chunk (16-byte aligned); when it is full a new chunk of the
 * arena's chunk size is added. An allocation larger than a quarter of the
 * chunk size gets a chunk of its own, linked behind the current one so that
 * the current chunk's free space stays usable. Reset frees every chunk but
 * the first one.
 *
 * Start-up (mem_start, below): what a process of the shop maps and touches
 * before its first request, kept small; see mem.h. */
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "lib/mem.h"

#define ALIGN 16
#define DEFAULT_CHUNK 8192
/* malloc arenas per process (glibc's default: 8 per core, one more for each
 * thread that allocates while the others are busy). */
#define MALLOC_ARENAS 2

/* Runs before main() in every program that links libshop.a (every program
 * allocates through this file), so before any thread and before any library
 * initialises OpenSSL:
 *
 * - malloc keeps at most MALLOC_ARENAS arenas. Each handler thread would
 *   otherwise get an arena of its own, and each arena keeps up to the trim
 *   threshold (128 kB) of freed memory plus its own fragmentation; requests
 *   allocate mostly from their thread's shop_arena, so two arenas leave
 *   little to contend for.
 * - OpenSSL is initialised without its configuration file and without the
 *   table of legacy cipher and digest names. Nothing in the shop needs
 *   either (no TLS to MariaDB or RabbitMQ; ES256, SHA-256 and HMAC through
 *   EVP with the default provider), and the Connector/C library asks for
 *   both in mysql_library_init (libcurl in curl_global_init): reading the
 *   file and filling the table touch about 1.6 MB of libcrypto in each
 *   process (measured with /proc/PID/smaps). OpenSSL keeps the first choice,
 *   later requests are no-ops; what is lost is EVP_get_cipherbyname() and
 *   EVP_get_digestbyname() (they find nothing), not EVP_*_fetch(), which
 *   OpenSSL 3 itself and libssl use.
 *
 * An operator's explicit choice wins: with MALLOC_ARENA_MAX (or
 * GLIBC_TUNABLES) or OPENSSL_CONF in the environment, that part is left to
 * the libraries. Failures change nothing but the memory figures: ignored. */
__attribute__((constructor)) static void mem_start(void)
{
	if (getenv("MALLOC_ARENA_MAX") == NULL && getenv("GLIBC_TUNABLES") == NULL)
		(void)mallopt(M_ARENA_MAX, MALLOC_ARENAS);
	if (getenv("OPENSSL_CONF") == NULL)
		(void)OPENSSL_init_crypto(OPENSSL_INIT_NO_LOAD_CONFIG |
		    OPENSSL_INIT_NO_ADD_ALL_CIPHERS | OPENSSL_INIT_NO_ADD_ALL_DIGESTS, NULL);
}

static _Noreturn void oom(size_t n)
{
	/* No allocation here: write what we can and abort. */
	fprintf(stderr, "shop: out of memory allocating %zu bytes\n", n);
	abort();
}

void *shop_xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p)
		oom(n);
	return p;
}

void *shop_xcalloc(size_t nmemb, size_t size)
{
	void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);

	if (!p)
		oom(nmemb * size);
	return p;
}

void *shop_xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);

	if (!q)
		oom(n);
	return q;
}

char *shop_xstrdup(const char *s)
{
	size_t n = strlen(s);
	char *p = shop_xmalloc(n + 1);

	memcpy(p, s, n + 1);
	return p;
}

struct chunk {
	struct chunk *next;
	size_t size;          /* usable bytes in data */
	size_t used;
	/* keeps data 16-byte aligned whatever the header's size */
	_Alignas(ALIGN) unsigned char data[];
};

struct shop_arena {
	struct chunk *first;  /* kept by reset */
	struct chunk *cur;    /* small allocations come from here */
	size_t chunk_size;
};

static struct chunk *chunk_new(size_t size)
{
	struct chunk *c;

	if (size > SIZE_MAX - sizeof(*c))
		oom(size);
	c = shop_xmalloc(sizeof(*c) + size);
	c->next = NULL;
	c->size = size;
	c->used = 0;
	return c;
}

/* Returns a new arena whose chunks hold chunk_size bytes (0: a default).
 * Never NULL. */
struct shop_arena *shop_arena_new(size_t chunk_size)
{
	struct shop_arena *a = shop_xmalloc(sizeof(*a));

	if (chunk_size < 256)
		chunk_size = chunk_size ? 256 : DEFAULT_CHUNK;
	chunk_size = (chunk_size + ALIGN - 1) & ~(size_t)(ALIGN - 1);
	a->chunk_size = chunk_size;
	a->first = chunk_new(chunk_size);
	a->cur = a->first;
	return a;
}

void shop_arena_reset(struct shop_arena *a)
{
	struct chunk *c, *next;

	if (!a)
		return;
	for (c = a->first->next; c; c = next) {
		next = c->next;
		free(c);
	}
	a->first->next = NULL;
	a->first->used = 0;
	a->cur = a->first;
}

void shop_arena_free(struct shop_arena *a)
{
	struct chunk *c, *next;

	if (!a)
		return;
	for (c = a->first; c; c = next) {
		next = c->next;
		free(c);
	}
	free(a);
}

void *shop_arena_alloc(struct shop_arena *a, size_t n)
{
	struct chunk *c;
	size_t need;

	if (n == 0)
		n = 1;
	if (n > SIZE_MAX - ALIGN)
		oom(n);
	need = (n + ALIGN - 1) & ~(size_t)(ALIGN - 1);

	c = a->cur;
	if (c->size - c->used >= need) {
		void *p = c->data + c->used;

		c->used += need;
		return p;
	}
	if (need > a->chunk_size / 4) {
		/* A chunk of its own, inserted after cur: cur stays current. */
		c = chunk_new(need);
		c->used = need;
		c->next = a->cur->next;
		a->cur->next = c;
		return c->data;
	}
	c = chunk_new(a->chunk_size);
	c->next = a->cur->next;
	a->cur->next = c;
	a->cur = c;
	c->used = need;
	return c->data;
}

void *shop_arena_calloc(struct shop_arena *a, size_t n)
{
	void *p = shop_arena_alloc(a, n);

	memset(p, 0, n);
	return p;
}

char *shop_arena_strndup(struct shop_arena *a, const char *s, size_t n)
{
	char *p;

	if (n == SIZE_MAX)
		oom(n);
	p = shop_arena_alloc(a, n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *shop_arena_strdup(struct shop_arena *a, const char *s)
{
	return shop_arena_strndup(a, s, strlen(s));
}

char *shop_arena_vprintf(struct shop_arena *a, const char *fmt, va_list ap)
{
	va_list ap2;
	char *p;
	int len;

	va_copy(ap2, ap);
	len = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (len < 0) {
		/* Only an invalid format can get here; return an empty string. */
		p = shop_arena_alloc(a, 1);
		p[0] = '\0';
		return p;
	}
	p = shop_arena_alloc(a, (size_t)len + 1);
	vsnprintf(p, (size_t)len + 1, fmt, ap);
	return p;
}

char *shop_arena_printf(struct shop_arena *a, const char *fmt, ...)
{
	va_list ap;
	char *p;

	va_start(ap, fmt);
	p = shop_arena_vprintf(a, fmt, ap);
	va_end(ap);
	return p;
}
