/* Helpers shared by the fuzz targets (fuzz.h). */
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "lib/mem.h"
#include "tests/fuzz/fuzz.h"

/* The apps' route tables. Declared here rather than through the apps'
 * headers, which are private to each app and not meant to meet in one
 * translation unit. */
extern const struct shop_route identity_routes[], catalog_routes[], cart_routes[],
    orders_routes[], payments_routes[], shipping_routes[], notify_routes[];
extern const size_t identity_nroutes, catalog_nroutes, cart_nroutes, orders_nroutes,
    payments_nroutes, shipping_nroutes, notify_nroutes;

void fuzz_fail(const char *file, int line, const char *what)
{
	fprintf(stderr, "%s:%d: property broken: %s\n", file, line, what);
	abort();
}

/* The last table made, kept so that LeakSanitizer sees it as reachable. */
static struct shop_route *table;

const struct shop_route *fuzz_routes(shop_handler stub, size_t *n)
{
	static const struct {
		const struct shop_route *routes;
		const size_t *n;
	} apps[] = {
		{ identity_routes, &identity_nroutes },
		{ catalog_routes, &catalog_nroutes },
		{ cart_routes, &cart_nroutes },
		{ orders_routes, &orders_nroutes },
		{ payments_routes, &payments_nroutes },
		{ shipping_routes, &shipping_nroutes },
		{ notify_routes, &notify_nroutes },
	};
	struct shop_route *all;
	size_t total = 0, i, j, k = 0;

	for (i = 0; i < sizeof(apps) / sizeof(apps[0]); i++)
		total += *apps[i].n;
	all = shop_xcalloc(total, sizeof(*all));
	for (i = 0; i < sizeof(apps) / sizeof(apps[0]); i++) {
		for (j = 0; j < *apps[i].n; j++) {
			all[k] = apps[i].routes[j];
			if (stub)
				all[k].handler = stub;
			k++;
		}
	}
	*n = total;
	free(table);
	table = all;
	return all;
}

char *fuzz_strndup(const uint8_t *data, size_t n)
{
	char *s = shop_xmalloc(n + 1);

	if (n)
		memcpy(s, data, n);
	s[n] = '\0';
	return s;
}

char *fuzz_cut_line(char *s)
{
	char *nl = strchr(s, '\n');

	if (!nl)
		return NULL;
	*nl = '\0';
	return nl + 1;
}

/* Every level is written, so that the log's own escaping of what a client
 * sent is exercised too, but into /dev/null: a run prints only findings. */
void fuzz_quiet_log(void)
{
	int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);

	shop_log_init("fuzz", fd >= 0 ? fd : 2, fd >= 0 ? SHOP_LOG_DEBUG : SHOP_LOG_ERROR);
}

void fuzz_trace(const char *fmt, ...)
{
	static int on = -1;
	va_list ap;

	if (on < 0)
		on = getenv("SHOP_FUZZ_TRACE") != NULL;
	if (!on)
		return;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

const char *fuzz_keys_dir(void)
{
	const char *d = getenv("SHOP_FUZZ_KEYS");

#ifdef FUZZ_KEYS_DIR
	if (!d || !*d)
		d = FUZZ_KEYS_DIR;
#endif
	if (!d || !*d) {
		fprintf(stderr, "fuzz: set SHOP_FUZZ_KEYS to tests/fuzz/keys\n");
		abort();
	}
	return d;
}
