/* Metrics shared by every process of one program.
 *
 * Each program (a pool: its master and every worker process; a background
 * worker) keeps its counters in one file mapped MAP_SHARED,
 * <metrics_dir>/<program>.metrics: a pool's master creates it before it
 * forks, so its worker processes add into the same memory with atomic
 * operations, and a figure is the pool's sum, not one process's. Whoever
 * serves /metrics maps every file of the directory read-only and renders
 * them (shop_metrics_render), skipping a file whose program is gone.
 *
 * Every recording function is lock-free and does nothing harmful before
 * shop_metrics_open (or after a failed one): the program then counts into
 * private memory. Keys (routes, queues, schemas) are claimed in fixed
 * tables; when a table is full, new keys are counted under "other". */
#ifndef SHOP_METRICS_H
#define SHOP_METRICS_H

#include <stdio.h>
#include <sys/types.h>

enum shop_metrics_kind { SHOP_METRICS_POOL, SHOP_METRICS_WORKER };

/* Creates <dir>/<program>.metrics afresh (a new file renamed into place, so
 * a reader never sees a half-made one) and maps it; dir NULL or empty:
 * anonymous shared memory (counted, never rendered). Call once, before
 * fork and before threads. Returns 0, or a failure code (logged; the
 * program then counts in private memory). */
int shop_metrics_open(const char *dir, const char *program, enum shop_metrics_kind kind);
/* Removes the file (a program stopping cleanly; a stopped program has no
 * figures) and unmaps it. */
void shop_metrics_close(void);

/* Pools: the configured shape (master, once), each worker process's slot
 * (master: 0 before it forks one and when it is gone, which sets the
 * slot's busy count to 0; the pid once forked), the slot of the calling
 * process (the worker process, after fork) and a handler thread entering
 * (+1) or leaving (-1) a request. */
void shop_metrics_pool_shape(unsigned procs, unsigned threads);
void shop_metrics_proc_set(unsigned slot, pid_t pid);
void shop_metrics_proc_self(unsigned slot);
void shop_metrics_busy(int delta);

/* An answered request: route ("GET /api/v1/products/{id}", NULL or "" when
 * no route matched), HTTP status, duration in milliseconds. */
void shop_metrics_request(const char *route, int status, double ms);

enum shop_metrics_db_error { SHOP_MDB_CONNECTION, SHOP_MDB_DEADLOCK, SHOP_MDB_OTHER };
void shop_metrics_db_error(enum shop_metrics_db_error kind);

enum shop_metrics_outcome { SHOP_MEV_CONSUMED, SHOP_MEV_FAILED, SHOP_MEV_DEAD };
/* A message of queue handled: consumed (acked), failed (sent to retry) or
 * dead-lettered. */
void shop_metrics_event(const char *queue, enum shop_metrics_outcome outcome);
/* The queue a worker consumes, shown (at 0) before its first message. */
void shop_metrics_queue(const char *queue);

void shop_metrics_email_sent(void);

/* The outbox relay: a schema's rows not yet published, the age of the
 * oldest of them (0 when none), and rows published. */
void shop_metrics_outbox(const char *schema, long long backlog, double oldest_age_s);
void shop_metrics_outbox_published(const char *schema, unsigned long n);

/* Writes every live program's figures under dir in the Prometheus text
 * exposition format (version 0.0.4) to out. Returns the number of programs
 * rendered. */
int shop_metrics_render(const char *dir, FILE *out);

/* The latency buckets' upper bounds, in seconds. */
#define SHOP_METRICS_BUCKETS 12
extern const double shop_metrics_bucket_le[SHOP_METRICS_BUCKETS];

#endif
