/* Process-shared metrics (see metrics.h).
 *
 * The file is one struct shm. Keyed tables (routes with their status,
 * queues, schemas) are open-addressed: a slot is claimed by moving its state
 * EMPTY -> BUSY with a compare-and-swap, writing the key, then publishing it
 * READY. A process killed between the two leaves a BUSY slot that others
 * pass over after a short wait; the same key may then live in two slots,
 * which the renderer adds together. Readers only ever load. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/err.h"
#include "lib/log.h"
#include "lib/metrics.h"

#define MAGIC 0x31534d53u /* "SMS1" */
#define VERSION 1u
#define KEY_MAX 96
#define PROC_SLOTS 256
#define ROUTE_SLOTS 383
#define QUEUE_SLOTS 15
#define SCHEMA_SLOTS 15
#define MAX_FILES 64
#define BUSY_SPINS 1000

enum { K_EMPTY, K_BUSY, K_READY };

struct key {
	_Atomic uint32_t state;
	int32_t status;
	char text[KEY_MAX];
};

struct route_slot {
	struct key k;
	_Atomic uint64_t sum_us;
	_Atomic uint64_t b[SHOP_METRICS_BUCKETS + 1]; /* per bucket, not cumulative; last: +Inf */
};

struct queue_slot {
	struct key k;
	_Atomic uint64_t n[3]; /* consumed, failed, dead-lettered */
};

struct schema_slot {
	struct key k;
	_Atomic int64_t backlog;
	_Atomic int64_t oldest_us;
	_Atomic uint64_t published;
};

struct proc_slot {
	_Atomic int32_t pid;
	_Atomic int32_t busy;
};

struct shm {
	_Atomic uint32_t magic;
	uint32_t version;
	uint32_t kind;
	int32_t pid;                    /* the owner: a pool's master, a worker */
	int64_t started;                /* unix seconds */
	char program[48];
	_Atomic uint32_t procs;         /* configured */
	_Atomic uint32_t threads;       /* per process */
	_Atomic uint64_t db_errors[3];
	_Atomic uint64_t emails_sent;
	struct proc_slot proc[PROC_SLOTS];
	struct route_slot route[ROUTE_SLOTS + 1];   /* the last: "other" */
	struct queue_slot queue[QUEUE_SLOTS + 1];
	struct schema_slot schema[SCHEMA_SLOTS + 1];
};

const double shop_metrics_bucket_le[SHOP_METRICS_BUCKETS] = {
	0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
};

static struct shm private_shm;
static struct shm *M = &private_shm;
static char *file_path;
static int self_slot = -1;

static void init_other(struct key *k)
{
	snprintf(k->text, sizeof(k->text), "other");
	atomic_store(&k->state, K_READY);
}

static void shm_init(struct shm *m, const char *program, enum shop_metrics_kind kind)
{
	m->version = VERSION;
	m->kind = (uint32_t)kind;
	m->pid = (int32_t)getpid();
	m->started = (int64_t)time(NULL);
	snprintf(m->program, sizeof(m->program), "%s", program);
	init_other(&m->route[ROUTE_SLOTS].k);
	init_other(&m->queue[QUEUE_SLOTS].k);
	init_other(&m->schema[SCHEMA_SLOTS].k);
	atomic_store_explicit(&m->magic, MAGIC, memory_order_release);
}

int shop_metrics_open(const char *dir, const char *program, enum shop_metrics_kind kind)
{
	char *tmp = NULL, *path = NULL;
	struct shm *m;
	int fd = -1, rc = SHOP_EIO;

	if (dir == NULL || dir[0] == '\0') {
		m = mmap(NULL, sizeof(*m), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
		    -1, 0);
		if (m == MAP_FAILED) {
			shop_log_error("metrics: mmap: %s", strerror(errno));
			return SHOP_EIO;
		}
		shm_init(m, program, kind);
		M = m;
		return 0;
	}
	if (mkdir(dir, 0750) != 0 && errno != EEXIST) {
		shop_log_error("metrics: mkdir %s: %s", dir, strerror(errno));
		return SHOP_EIO;
	}
	if (asprintf(&path, "%s/%s.metrics", dir, program) < 0 ||
	    asprintf(&tmp, "%s/.%s.metrics.%d", dir, program, (int)getpid()) < 0) {
		path = tmp = NULL;
		rc = SHOP_EIO;
		goto out;
	}
	fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (fd < 0 || ftruncate(fd, (off_t)sizeof(*m)) != 0) {
		shop_log_error("metrics: %s: %s", tmp, strerror(errno));
		goto out;
	}
	m = mmap(NULL, sizeof(*m), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED) {
		shop_log_error("metrics: mmap %s: %s", tmp, strerror(errno));
		goto out;
	}
	shm_init(m, program, kind);
	if (rename(tmp, path) != 0) {
		shop_log_error("metrics: rename to %s: %s", path, strerror(errno));
		munmap(m, sizeof(*m));
		goto out;
	}
	free(tmp);
	tmp = NULL;
	M = m;
	file_path = path;
	path = NULL;
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	if (tmp) {
		unlink(tmp);
		free(tmp);
	}
	free(path);
	return rc;
}

void shop_metrics_close(void)
{
	if (file_path) {
		/* Only the owner removes it: a pool's worker process inherits
		 * the path but must not. */
		if (M->pid == (int32_t)getpid())
			unlink(file_path);
		free(file_path);
		file_path = NULL;
	}
	if (M != &private_shm) {
		munmap(M, sizeof(*M));
		M = &private_shm;
	}
}

void shop_metrics_pool_shape(unsigned procs, unsigned threads)
{
	atomic_store(&M->procs, procs);
	atomic_store(&M->threads, threads);
}

void shop_metrics_proc_set(unsigned slot, pid_t pid)
{
	if (slot >= PROC_SLOTS)
		return;
	/* The busy count starts again only with the slot empty: once the
	 * process runs, it may already be counting. */
	if (pid == 0)
		atomic_store(&M->proc[slot].busy, 0);
	atomic_store(&M->proc[slot].pid, (int32_t)pid);
}

void shop_metrics_proc_self(unsigned slot)
{
	self_slot = slot < PROC_SLOTS ? (int)slot : -1;
}

void shop_metrics_busy(int delta)
{
	if (self_slot >= 0)
		atomic_fetch_add_explicit(&M->proc[self_slot].busy, delta, memory_order_relaxed);
}

static uint32_t key_hash(const char *s, size_t n, int status)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 16777619u;
	return h ^ ((uint32_t)status * 2654435761u);
}

static bool key_is(const struct key *k, const char *s, size_t n, int status)
{
	return k->status == status && strncmp(k->text, s, n) == 0 && k->text[n] == '\0';
}

/* The slot of key (s, status) in a table of n slots of size stride (the
 * key at the start of each), claiming an empty one; the slot after the last
 * ("other") when the table is full. */
static struct key *claim(void *base, size_t stride, size_t n, const char *s, int status)
{
	size_t len = strnlen(s, KEY_MAX - 1);
	uint32_t h = key_hash(s, len, status);

	for (size_t i = 0; i < n; i++) {
		struct key *k = (struct key *)((char *)base + ((h + i) % n) * stride);
		uint32_t st = atomic_load_explicit(&k->state, memory_order_acquire);

		if (st == K_EMPTY) {
			uint32_t want = K_EMPTY;

			if (atomic_compare_exchange_strong(&k->state, &want, K_BUSY)) {
				k->status = status;
				memcpy(k->text, s, len);
				k->text[len] = '\0';
				atomic_store_explicit(&k->state, K_READY, memory_order_release);
				return k;
			}
			st = want;
		}
		for (int spin = 0; st == K_BUSY && spin < BUSY_SPINS; spin++) {
			sched_yield();
			st = atomic_load_explicit(&k->state, memory_order_acquire);
		}
		if (st == K_READY && key_is(k, s, len, status))
			return k;
	}
	return (struct key *)((char *)base + n * stride);
}

static int bucket_of(double ms)
{
	double s = ms / 1000.0;
	int i;

	for (i = 0; i < SHOP_METRICS_BUCKETS; i++)
		if (s <= shop_metrics_bucket_le[i])
			break;
	return i;
}

void shop_metrics_request(const char *route, int status, double ms)
{
	struct route_slot *r;

	if (route == NULL || route[0] == '\0')
		route = "unmatched";
	r = (struct route_slot *)claim(M->route, sizeof(M->route[0]), ROUTE_SLOTS, route, status);
	if (ms < 0)
		ms = 0;
	atomic_fetch_add_explicit(&r->b[bucket_of(ms)], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&r->sum_us, (uint64_t)(ms * 1000.0), memory_order_relaxed);
}

void shop_metrics_db_error(enum shop_metrics_db_error kind)
{
	if ((unsigned)kind < 3)
		atomic_fetch_add_explicit(&M->db_errors[kind], 1, memory_order_relaxed);
}

void shop_metrics_event(const char *queue, enum shop_metrics_outcome outcome)
{
	struct queue_slot *q;

	if ((unsigned)outcome >= 3)
		return;
	q = (struct queue_slot *)claim(M->queue, sizeof(M->queue[0]), QUEUE_SLOTS,
	    queue ? queue : "", 0);
	atomic_fetch_add_explicit(&q->n[outcome], 1, memory_order_relaxed);
}

void shop_metrics_queue(const char *queue)
{
	claim(M->queue, sizeof(M->queue[0]), QUEUE_SLOTS, queue ? queue : "", 0);
}

void shop_metrics_email_sent(void)
{
	atomic_fetch_add_explicit(&M->emails_sent, 1, memory_order_relaxed);
}

static struct schema_slot *schema_slot(const char *schema)
{
	return (struct schema_slot *)claim(M->schema, sizeof(M->schema[0]), SCHEMA_SLOTS,
	    schema ? schema : "", 0);
}

void shop_metrics_outbox(const char *schema, long long backlog, double oldest_age_s)
{
	struct schema_slot *s = schema_slot(schema);

	atomic_store_explicit(&s->backlog, backlog, memory_order_relaxed);
	atomic_store_explicit(&s->oldest_us, (int64_t)(oldest_age_s * 1e6), memory_order_relaxed);
}

void shop_metrics_outbox_published(const char *schema, unsigned long n)
{
	atomic_fetch_add_explicit(&schema_slot(schema)->published, n, memory_order_relaxed);
}

/* ------------------------------------------------------------------ rendering */

struct file {
	const struct shm *m;
};

static uint64_t ld(const _Atomic uint64_t *p)
{
	return atomic_load_explicit(p, memory_order_relaxed);
}

static bool ready(const struct key *k)
{
	return atomic_load_explicit(&k->state, memory_order_acquire) == K_READY;
}

/* A label value: backslash, double quote and newline escaped. */
static void label(FILE *out, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			fputc('\\', out);
		if (*s == '\n') {
			fputs("\\n", out);
			continue;
		}
		fputc(*s, out);
	}
}

static bool alive(pid_t pid)
{
	return pid > 0 && (kill(pid, 0) == 0 || errno == EPERM);
}

static int by_program(const void *a, const void *b)
{
	const struct file *x = a, *y = b;

	return strcmp(x->m->program, y->m->program);
}

static size_t load_files(const char *dir, struct file *files)
{
	struct dirent *de;
	size_t n = 0;
	DIR *d;
	int dfd;

	if (dir == NULL || (d = opendir(dir)) == NULL)
		return 0;
	dfd = dirfd(d);
	while (n < MAX_FILES && (de = readdir(d)) != NULL) {
		size_t len = strlen(de->d_name);
		struct shm *m;
		struct stat st;
		int fd;

		if (de->d_name[0] == '.' || len < 9 || strcmp(de->d_name + len - 8, ".metrics") != 0)
			continue;
		fd = openat(dfd, de->d_name, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		if (fstat(fd, &st) != 0 || st.st_size != (off_t)sizeof(struct shm)) {
			close(fd);
			continue;
		}
		m = mmap(NULL, sizeof(*m), PROT_READ, MAP_SHARED, fd, 0);
		close(fd);
		if (m == MAP_FAILED)
			continue;
		if (atomic_load_explicit(&m->magic, memory_order_acquire) != MAGIC ||
		    m->version != VERSION || !alive(m->pid)) {
			munmap(m, sizeof(*m));
			continue;
		}
		files[n++].m = m;
	}
	closedir(d);
	qsort(files, n, sizeof(*files), by_program);
	return n;
}

/* Whether slot i of a keyed table repeats the key of an earlier slot (the
 * earlier one renders both). */
static bool repeated(const void *base, size_t stride, size_t i, bool by_status)
{
	const struct key *k = (const struct key *)((const char *)base + i * stride);

	for (size_t j = 0; j < i; j++) {
		const struct key *e = (const struct key *)((const char *)base + j * stride);

		if (ready(e) && strcmp(e->text, k->text) == 0 &&
		    (!by_status || e->status == k->status))
			return true;
	}
	return false;
}

static bool same_key(const struct key *a, const struct key *b, bool by_status)
{
	return strcmp(a->text, b->text) == 0 && (!by_status || a->status == b->status);
}

static void family(FILE *out, const char *name, const char *type, const char *help)
{
	fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void render_requests(FILE *out, const struct file *f, size_t nf)
{
	family(out, "shop_http_requests_total", "counter",
	    "Requests answered by the pools, by app, route and status.");
	for (size_t i = 0; i < nf; i++) {
		const struct shm *m = f[i].m;

		for (size_t s = 0; s <= ROUTE_SLOTS; s++) {
			const struct route_slot *r = &m->route[s];
			uint64_t n = 0;

			if (!ready(&r->k) || repeated(m->route, sizeof(*r), s, true))
				continue;
			for (size_t t = s; t <= ROUTE_SLOTS; t++) {
				const struct route_slot *o = &m->route[t];

				if (ready(&o->k) && same_key(&o->k, &r->k, true))
					for (int b = 0; b <= SHOP_METRICS_BUCKETS; b++)
						n += ld(&o->b[b]);
			}
			if (n == 0)
				continue;
			fprintf(out, "shop_http_requests_total{app=\"");
			label(out, m->program);
			fprintf(out, "\",route=\"");
			label(out, r->k.text);
			fprintf(out, "\",status=\"%d\"} %llu\n", (int)r->k.status, (unsigned long long)n);
		}
	}
}

static void render_latency(FILE *out, const struct file *f, size_t nf)
{
	family(out, "shop_http_request_duration_seconds", "histogram",
	    "Time from the request's arrival in the pool to its answer written, by app and route.");
	for (size_t i = 0; i < nf; i++) {
		const struct shm *m = f[i].m;

		for (size_t s = 0; s <= ROUTE_SLOTS; s++) {
			const struct route_slot *r = &m->route[s];
			uint64_t b[SHOP_METRICS_BUCKETS + 1] = { 0 }, sum_us = 0, cum = 0;

			if (!ready(&r->k) || repeated(m->route, sizeof(*r), s, false))
				continue;
			for (size_t t = s; t <= ROUTE_SLOTS; t++) {
				const struct route_slot *o = &m->route[t];

				if (!ready(&o->k) || !same_key(&o->k, &r->k, false))
					continue;
				for (int k = 0; k <= SHOP_METRICS_BUCKETS; k++)
					b[k] += ld(&o->b[k]);
				sum_us += ld(&o->sum_us);
			}
			for (int k = 0; k <= SHOP_METRICS_BUCKETS; k++)
				cum += b[k];
			if (cum == 0)
				continue;
			cum = 0;
			for (int k = 0; k <= SHOP_METRICS_BUCKETS; k++) {
				cum += b[k];
				fprintf(out, "shop_http_request_duration_seconds_bucket{app=\"");
				label(out, m->program);
				fprintf(out, "\",route=\"");
				label(out, r->k.text);
				if (k < SHOP_METRICS_BUCKETS)
					fprintf(out, "\",le=\"%g\"} %llu\n", shop_metrics_bucket_le[k],
					    (unsigned long long)cum);
				else
					fprintf(out, "\",le=\"+Inf\"} %llu\n", (unsigned long long)cum);
			}
			fprintf(out, "shop_http_request_duration_seconds_sum{app=\"");
			label(out, m->program);
			fprintf(out, "\",route=\"");
			label(out, r->k.text);
			fprintf(out, "\"} %.6f\n", (double)sum_us / 1e6);
			fprintf(out, "shop_http_request_duration_seconds_count{app=\"");
			label(out, m->program);
			fprintf(out, "\",route=\"");
			label(out, r->k.text);
			fprintf(out, "\"} %llu\n", (unsigned long long)cum);
		}
	}
}

static void render_pools(FILE *out, const struct file *f, size_t nf)
{
	family(out, "shop_pool_processes", "gauge",
	    "Worker processes of a pool that are running, and configured.");
	for (size_t i = 0; i < nf; i++) {
		const struct shm *m = f[i].m;
		unsigned live = 0;

		if (m->kind != SHOP_METRICS_POOL)
			continue;
		for (size_t s = 0; s < PROC_SLOTS; s++)
			live += alive(atomic_load(&m->proc[s].pid));
		fprintf(out, "shop_pool_processes{app=\"");
		label(out, m->program);
		fprintf(out, "\",state=\"running\"} %u\n", live);
		fprintf(out, "shop_pool_processes{app=\"");
		label(out, m->program);
		fprintf(out, "\",state=\"configured\"} %u\n", (unsigned)atomic_load(&m->procs));
	}
	family(out, "shop_pool_threads", "gauge",
	    "Handler threads of a pool's running processes: serving a request (busy) or waiting (idle).");
	for (size_t i = 0; i < nf; i++) {
		const struct shm *m = f[i].m;
		unsigned threads = atomic_load(&m->threads), total = 0, busy = 0;

		if (m->kind != SHOP_METRICS_POOL)
			continue;
		for (size_t s = 0; s < PROC_SLOTS; s++) {
			int b = atomic_load(&m->proc[s].busy);

			if (!alive(atomic_load(&m->proc[s].pid)))
				continue;
			total += threads;
			busy += b < 0 ? 0 : (unsigned)b > threads ? threads : (unsigned)b;
		}
		fprintf(out, "shop_pool_threads{app=\"");
		label(out, m->program);
		fprintf(out, "\",state=\"busy\"} %u\n", busy);
		fprintf(out, "shop_pool_threads{app=\"");
		label(out, m->program);
		fprintf(out, "\",state=\"idle\"} %u\n", total - busy);
	}
}

static void render_db(FILE *out, const struct file *f, size_t nf)
{
	static const char *const kinds[3] = { "connection", "deadlock", "other" };

	family(out, "shop_db_errors_total", "counter",
	    "Database failures seen by a program: lost or refused connections, deadlocks and lock"
	    " wait timeouts (retried), other errors.");
	for (size_t i = 0; i < nf; i++)
		for (int k = 0; k < 3; k++) {
			fprintf(out, "shop_db_errors_total{app=\"");
			label(out, f[i].m->program);
			fprintf(out, "\",kind=\"%s\"} %llu\n", kinds[k],
			    (unsigned long long)ld(&f[i].m->db_errors[k]));
		}
}

static void render_events(FILE *out, const struct file *f, size_t nf)
{
	static const char *const outcomes[3] = { "consumed", "failed", "dead_lettered" };

	family(out, "shop_events_total", "counter",
	    "Messages a worker handled: consumed (acked), failed (to the retry queue),"
	    " dead_lettered (to the queue's DLQ).");
	for (size_t i = 0; i < nf; i++) {
		const struct shm *m = f[i].m;

		for (size_t s = 0; s <= QUEUE_SLOTS; s++) {
			const struct queue_slot *q = &m->queue[s];

			if (!ready(&q->k) || repeated(m->queue, sizeof(*q), s, false))
				continue;
			if (s == QUEUE_SLOTS && ld(&q->n[0]) + ld(&q->n[1]) + ld(&q->n[2]) == 0)
				continue;
			for (int o = 0; o < 3; o++) {
				uint64_t n = 0;

				for (size_t t = s; t <= QUEUE_SLOTS; t++)
					if (ready(&m->queue[t].k) && same_key(&m->queue[t].k, &q->k, false))
						n += ld(&m->queue[t].n[o]);
				fprintf(out, "shop_events_total{worker=\"");
				label(out, m->program);
				fprintf(out, "\",queue=\"");
				label(out, q->k.text);
				fprintf(out, "\",outcome=\"%s\"} %llu\n", outcomes[o], (unsigned long long)n);
			}
		}
	}
}

static void render_outbox(FILE *out, const struct file *f, size_t nf)
{
	static const struct {
		const char *name, *type, *help;
	} fam[3] = {
		{ "shop_outbox_backlog", "gauge", "Outbox rows not yet published, by schema." },
		{ "shop_outbox_oldest_age_seconds", "gauge",
		  "Age of the oldest outbox row not yet published (0: none), by schema." },
		{ "shop_outbox_published_total", "counter",
		  "Outbox rows published and confirmed by the broker, by schema." },
	};

	for (int k = 0; k < 3; k++) {
		family(out, fam[k].name, fam[k].type, fam[k].help);
		for (size_t i = 0; i < nf; i++) {
			const struct shm *m = f[i].m;

			for (size_t s = 0; s < SCHEMA_SLOTS; s++) {
				const struct schema_slot *sc = &m->schema[s];

				if (!ready(&sc->k) || repeated(m->schema, sizeof(*sc), s, false))
					continue;
				fprintf(out, "%s{schema=\"", fam[k].name);
				label(out, sc->k.text);
				if (k == 0)
					fprintf(out, "\"} %lld\n", (long long)atomic_load(&sc->backlog));
				else if (k == 1)
					fprintf(out, "\"} %.3f\n",
					    (double)atomic_load(&sc->oldest_us) / 1e6);
				else
					fprintf(out, "\"} %llu\n", (unsigned long long)ld(&sc->published));
			}
		}
	}
}

int shop_metrics_render(const char *dir, FILE *out)
{
	struct file files[MAX_FILES];
	size_t n = load_files(dir, files);
	uint64_t mails = 0;

	family(out, "shop_process_start_time_seconds", "gauge",
	    "When a program (a pool's master, a worker) started, in unix seconds.");
	for (size_t i = 0; i < n; i++) {
		fprintf(out, "shop_process_start_time_seconds{app=\"");
		label(out, files[i].m->program);
		fprintf(out, "\"} %lld\n", (long long)files[i].m->started);
	}
	render_requests(out, files, n);
	render_latency(out, files, n);
	render_pools(out, files, n);
	render_db(out, files, n);
	render_events(out, files, n);
	render_outbox(out, files, n);
	family(out, "shop_emails_sent_total", "counter",
	    "Notification mails handed to the mail server (or the spool).");
	for (size_t i = 0; i < n; i++)
		mails += ld(&files[i].m->emails_sent);
	fprintf(out, "shop_emails_sent_total %llu\n", (unsigned long long)mails);
	for (size_t i = 0; i < n; i++)
		munmap((void *)files[i].m, sizeof(struct shm));
	return (int)n;
}
