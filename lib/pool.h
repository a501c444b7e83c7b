/* The pool runner: a master process that binds one unix socket (mode 0600),
 * pre-forks N worker processes and respawns any that dies (with back-off
 * when they die young), and on SIGTERM/SIGINT asks every worker to stop,
 * waits for them (SIGKILL after a grace period), removes the socket and the
 * pid file.
 *
 * A worker process runs T handler threads that wait together on one epoll
 * set (the listen socket and every idle FastCGI connection) and each serve
 * the connection whose event they get: a connection nginx keeps alive while
 * idle holds no thread (STACK-NOTES "FastCGI pool models"), and a request
 * costs no hand-off between threads. On stop, a worker stops accepting,
 * serves its kept connections until the web server drops them (8 s at
 * most), closes the idle ones, finishes the requests in hand and exits. */
#ifndef SHOP_POOL_H
#define SHOP_POOL_H

#include <fcgiapp.h>

struct shop_pool_opts {
	const char *name;         /* for logs */
	const char *socket_path;
	const char *pidfile;      /* may be NULL */
	/* Where the pool's shared counters live (lib/metrics.h); NULL: not
	 * published. The file is made once the socket is bound. */
	const char *metrics_dir;
	unsigned procs;           /* worker processes, >= 1 */
	unsigned threads;         /* handler threads per process, >= 1 */
	/* In each worker process after fork, before threads; non-zero exits it. */
	int (*proc_init)(void *arg);
	/* Per handler thread: set-up, one call per request, tear-down. */
	void *(*thread_init)(void *arg);
	void (*serve)(FCGX_Request *req, void *thread_state);
	void (*thread_fini)(void *thread_state);
	void *arg;
};

/* Runs the master until stopped. Returns the exit status for main(). */
int shop_pool_run(const struct shop_pool_opts *o);

#endif
