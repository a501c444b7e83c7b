/* The pool runner (see pool.h and STACK-NOTES "FastCGI pool models").
 *
 * Master: binds the socket, writes the pid file, forks the workers, respawns
 * any that dies (with back-off when it dies young), and on SIGTERM/SIGINT
 * stops them (SIGKILL after a grace period). It is single-threaded and takes
 * its signals synchronously with sigtimedwait().
 *
 * Worker: every signal is blocked in every thread; a signal thread takes
 * SIGTERM/SIGINT with sigwait(), sets the stop flag and wakes the main
 * thread through an eventfd. The process has one epoll set with the listen
 * socket (EPOLLEXCLUSIVE: every worker process watches it; edge-triggered)
 * and each idle connection (EPOLLONESHOT), and every handler thread waits
 * in epoll_wait on it and serves the event it gets itself (leader/follower:
 * no hand-off between threads, one wake-up per request on a kept
 * connection). A handler
 * lets libfcgi read the request from that connection (FCGX_Request with no
 * listen socket, ipcFd set), serves it, and after FCGX_Finish_r parks the
 * connection in epoll again when the web server keeps it (FCGI_KEEP_CONN)
 * or closes it. So a connection kept idle by nginx holds no thread. The
 * main thread only waits for the stop (and resumes accepting after an
 * out-of-descriptors pause), then runs the drain.
 *
 * libfcgi facts this relies on, checked by experiment with libfcgi 2.4.2
 * (tests/unit/test_pool.c covers each):
 *   - with listen_sock -1 and ipcFd set, FCGX_Accept_r reads the request from
 *     ipcFd; when the peer has closed the connection or sent garbage, it
 *     closes ipcFd, sets it to -1, tries accept(-1), fails and returns < 0;
 *   - keepConnection must be 1 before FCGX_Accept_r, which first finishes the
 *     previous request and would otherwise close ipcFd; BEGIN_REQUEST then
 *     sets it from the FCGI_KEEP_CONN flag;
 *   - FCGX_Finish_r leaves ipcFd open (>= 0) exactly when keepConnection is
 *     set and no stream error happened; otherwise it closes it (after a
 *     shutdown and a short poll() for the peer's EOF).
 *   - FCGX_Init installs handlers for SIGTERM/SIGUSR1/SIGPIPE when they are at
 *     their defaults: the worker puts its own dispositions back afterwards. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <fcgiapp.h>

#include "lib/err.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/metrics.h"
#include "lib/pool.h"
#include "lib/util.h"

#define LISTEN_BACKLOG 1024
#define IO_TIMEOUT_S 30          /* SO_RCVTIMEO/SO_SNDTIMEO on connections */
#define STOP_GRACE_MS 10000      /* master: SIGKILL the workers after this */
#define DRAIN_MS 8000            /* a stopping worker serves its kept connections this long */
#define DRAIN_POLL_MS 50
#define YOUNG_MS 1000            /* a worker dying this soon gets a back-off */
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000
#define ACCEPT_PAUSE_MS 100      /* listen socket ignored this long after EMFILE */
#define DRAIN_MAX (1024 * 1024)  /* unread request body drained for keep-alive */

static double mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

/* ------------------------------------------------------------------ */
/* Worker process */

enum conn_state { C_FREE, C_IDLE, C_BUSY };

struct worker {
	const struct shop_pool_opts *o;
	int lfd, epfd;
	int stopfd;                /* eventfd: the signal thread wakes the main thread */
	int pausefd;               /* eventfd: a handler asks the main thread to resume accepting */
	int quitfd;                /* eventfd in epfd, written once, never read: handlers leave */
	atomic_bool stop;
	atomic_bool failed;        /* a handler's epoll_wait failed: exit 1 */

	pthread_mutex_t mu;        /* guards everything below */
	pthread_cond_t cv;         /* a handler thread became ready */
	bool listening;            /* lfd is in epfd */
	bool stopping;             /* never listen again */
	double paused_until;       /* listening resumes then (out of descriptors); 0: not paused */
	bool closing;              /* no more re-arming: handlers close kept connections */
	size_t nconn;              /* connections open (accepted, not yet closed) */
	unsigned char *state;      /* enum conn_state by fd */
	unsigned char *inset;      /* by fd: 1 when in epfd (closing it takes it out) */
	size_t nstate;
	unsigned ready;            /* handler threads through thread_init */
};

/* With w->mu held. */
static void state_set(struct worker *w, int fd, enum conn_state s)
{
	if ((size_t)fd >= w->nstate) {
		size_t n = w->nstate ? w->nstate : 256;

		while (n <= (size_t)fd)
			n *= 2;
		w->state = shop_xrealloc(w->state, n);
		w->inset = shop_xrealloc(w->inset, n);
		memset(w->state + w->nstate, C_FREE, n - w->nstate);
		memset(w->inset + w->nstate, 0, n - w->nstate);
		w->nstate = n;
	}
	w->state[fd] = (unsigned char)s;
	if (s == C_FREE)
		w->inset[fd] = 0;
}

static void wake(int efd)
{
	uint64_t one = 1;

	if (write(efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		shop_log_error("worker: eventfd write: %s", strerror(errno));
}

static const int stop_signals[] = { SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 };

static void *signal_main(void *arg)
{
	struct worker *w = arg;
	sigset_t set;
	int sig;

	sigemptyset(&set);
	for (size_t i = 0; i < sizeof(stop_signals) / sizeof(stop_signals[0]); i++)
		sigaddset(&set, stop_signals[i]);
	for (;;) {
		if (sigwait(&set, &sig) != 0)
			continue;
		if (sig == SIGTERM || sig == SIGINT || sig == SIGQUIT)
			break;
		shop_log_info("worker %d: signal %d ignored", (int)getpid(), sig);
	}
	atomic_store(&w->stop, true);
	wake(w->stopfd);
	return NULL;
}

/* Reads whatever request body the handler left unread, so that the next
 * request on a kept connection starts at a record boundary. A body too big
 * to drain closes the connection instead. */
static void drain_stdin(FCGX_Request *req)
{
	char buf[8192];
	size_t total = 0;
	int n;

	while ((n = FCGX_GetStr(buf, sizeof(buf), req->in)) > 0) {
		total += (size_t)n;
		if (total > DRAIN_MAX) {
			req->keepConnection = 0;
			break;
		}
	}
}

static bool readable_now(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, 0) > 0 && (p.revents & POLLIN);
}

/* A connection this thread held was closed by libfcgi. Its number may
 * already be another connection's: its state is left alone (accept_one
 * resets it). Nobody waits on the count (the drain polls it), so no thread
 * is woken. */
static void conn_gone(struct worker *w)
{
	pthread_mutex_lock(&w->mu);
	w->nconn--;
	pthread_mutex_unlock(&w->mu);
}

/* Closes a connection this thread holds. */
static void conn_close(struct worker *w, int fd)
{
	pthread_mutex_lock(&w->mu);
	state_set(w, fd, C_FREE);
	w->nconn--;
	pthread_mutex_unlock(&w->mu);
	close(fd);
}

/* Hands a connection this thread holds to epoll until its next request
 * (added the first time, re-armed after). False when the worker is closing
 * or epoll failed: the caller still holds it. */
static bool conn_park(struct worker *w, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLONESHOT | EPOLLRDHUP, .data.fd = fd };
	int op;

	pthread_mutex_lock(&w->mu);
	if (w->closing) {
		pthread_mutex_unlock(&w->mu);
		return false;
	}
	op = w->inset[fd] ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
	/* Idle before it is armed: the thread its event wakes must find it so. */
	state_set(w, fd, C_IDLE);
	if (epoll_ctl(w->epfd, op, fd, &ev) == 0) {
		w->inset[fd] = 1;
		pthread_mutex_unlock(&w->mu);
		return true;
	}
	state_set(w, fd, C_BUSY);
	pthread_mutex_unlock(&w->mu);
	shop_log_error("worker: epoll %s: %s", op == EPOLL_CTL_ADD ? "add" : "re-arm",
	    strerror(errno));
	return false;
}

/* A parked connection's event: true when this thread now holds it. False
 * when the main thread closed it meanwhile (an idle one, at the end of a
 * stop): the event is stale. */
static bool conn_take(struct worker *w, int fd)
{
	bool ok;

	pthread_mutex_lock(&w->mu);
	ok = (size_t)fd < w->nstate && w->state[fd] == C_IDLE;
	if (ok)
		w->state[fd] = C_BUSY;
	pthread_mutex_unlock(&w->mu);
	return ok;
}

/* Serves the requests of a connection this thread holds until it must wait
 * for the next one (parked in epoll) or is closed. */
static void serve_conn(struct worker *w, FCGX_Request *req, int fd, void *ts)
{
	int keep;

	for (;;) {
		req->ipcFd = fd;
		req->keepConnection = 1; /* else the finish inside FCGX_Accept_r closes fd */
		if (FCGX_Accept_r(req) < 0) {
			/* Peer closed, timed out or sent garbage: libfcgi closed fd. */
			if (req->ipcFd >= 0)
				close(req->ipcFd);
			req->ipcFd = -1;
			conn_gone(w);
			return;
		}
		/* The web server's FCGI_KEEP_CONN flag for this request. */
		keep = req->keepConnection;
		shop_metrics_busy(1);
		w->o->serve(req, ts);
		shop_metrics_busy(-1);
		drain_stdin(req);
		/* A connection the web server does not keep is closed here, at
		 * once: libfcgi's own close would wait in poll() for the peer's
		 * EOF, holding this thread (and a wake-up) for nothing, since the
		 * whole request was read. */
		req->keepConnection = 1;
		FCGX_Finish_r(req);
		if (req->ipcFd < 0) {
			conn_gone(w); /* closed by libfcgi: an I/O error */
			return;
		}
		req->ipcFd = -1;
		if (!keep) {
			conn_close(w, fd);
			return;
		}
		if (conn_park(w, fd))
			return;
		/* Closing: a request the web server already sent on this kept
		 * connection is served; an idle connection is closed. */
		if (!readable_now(fd)) {
			conn_close(w, fd);
			return;
		}
	}
}

static void set_timeouts(int fd)
{
	struct timeval tv = { .tv_sec = IO_TIMEOUT_S };

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

/* Takes the listen socket out of epoll for ACCEPT_PAUSE_MS (out of
 * descriptors); the main thread puts it back. */
static void pause_accepting(struct worker *w, int err)
{
	static double last_warn;
	bool woke = false;

	pthread_mutex_lock(&w->mu);
	if (w->listening) {
		epoll_ctl(w->epfd, EPOLL_CTL_DEL, w->lfd, NULL);
		w->listening = false;
		w->paused_until = mono_ms() + ACCEPT_PAUSE_MS;
		woke = true;
		if (mono_ms() - last_warn > 1000) {
			shop_log_warn("worker: accept: %s (pausing)", strerror(err));
			last_warn = mono_ms();
		}
	}
	pthread_mutex_unlock(&w->mu);
	if (woke)
		wake(w->pausefd);
}

/* Accepts one connection; this thread holds it. -1 when none was pending
 * (another thread or process took it) or accept failed. */
static int accept_one(struct worker *w)
{
	int fd;

	for (;;) {
		fd = accept4(w->lfd, NULL, NULL, SOCK_CLOEXEC); /* a blocking fd */
		if (fd >= 0)
			break;
		if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return -1;
		/* Out of descriptors or memory, or anything else: the listen
		 * socket is edge-triggered, so connections left pending would
		 * wait for the next one; a pause adds it back, which looks again. */
		pause_accepting(w, errno);
		return -1;
	}
	set_timeouts(fd);
	pthread_mutex_lock(&w->mu);
	state_set(w, fd, C_BUSY);
	w->inset[fd] = 0; /* a new file: not in epfd whatever its number held before */
	w->nconn++;
	pthread_mutex_unlock(&w->mu);
	return fd;
}

/* Accepts every pending connection (the listen socket is edge-triggered:
 * one wake-up per burst, not one per thread). Returns the first, which this
 * thread holds, or -1; the others are parked for the other threads. */
static int accept_pending(struct worker *w, FCGX_Request *req, void *ts)
{
	int first = -1, fd;

	while ((fd = accept_one(w)) >= 0) {
		if (first < 0) {
			first = fd;
		} else if (!conn_park(w, fd)) {
			/* Closing (a late accept): serve what nginx sent. */
			if (readable_now(fd))
				serve_conn(w, req, fd, ts);
			else
				conn_close(w, fd);
		}
	}
	return first;
}

/* Every handler thread waits in epoll_wait on the process's one epoll set
 * (the listen socket and every parked connection) and serves the event it
 * gets itself: a request on a kept connection costs one wake-up, and no
 * hand-off between threads. A new connection is served by the thread that
 * accepted it when its request is already there (nginx writes it right
 * after connecting), else parked. */
static void *handler_main(void *arg)
{
	struct worker *w = arg;
	const struct shop_pool_opts *o = w->o;
	struct epoll_event ev;
	FCGX_Request req;
	void *ts = NULL;
	int n, fd;

	if (o->thread_init)
		ts = o->thread_init(o->arg);
	if (FCGX_InitRequest(&req, -1, 0) != 0) {
		shop_log_error("worker: FCGX_InitRequest failed");
		_exit(1);
	}
	pthread_mutex_lock(&w->mu);
	w->ready++;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);

	for (;;) {
		n = epoll_wait(w->epfd, &ev, 1, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			shop_log_error("worker: epoll_wait: %s", strerror(errno));
			atomic_store(&w->failed, true);
			atomic_store(&w->stop, true);
			wake(w->stopfd);
			break;
		}
		if (n == 0)
			continue;
		fd = ev.data.fd;
		if (fd == w->quitfd)
			break;
		if (fd == w->lfd) {
			fd = accept_pending(w, &req, ts);
			if (fd < 0)
				continue;
			if (!readable_now(fd)) {
				if (conn_park(w, fd))
					continue;
				if (!readable_now(fd)) {
					conn_close(w, fd);
					continue;
				}
			}
		} else if (!conn_take(w, fd)) {
			continue;
		}
		serve_conn(w, &req, fd, ts);
	}
	if (o->thread_fini)
		o->thread_fini(ts);
	return NULL;
}

/* With w->mu held. */
static int listen_watch(struct worker *w)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLEXCLUSIVE | EPOLLET, .data.fd = w->lfd };

	if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->lfd, &ev) < 0)
		return -1;
	w->listening = true;
	w->paused_until = 0;
	return 0;
}

/* The main thread until the stop flag is set: waits for it, and puts the
 * listen socket back after a pause. */
static void wait_for_stop(struct worker *w)
{
	struct pollfd p[2] = { { .fd = w->stopfd, .events = POLLIN },
			       { .fd = w->pausefd, .events = POLLIN } };
	uint64_t v;
	int timeout;

	while (!atomic_load(&w->stop)) {
		pthread_mutex_lock(&w->mu);
		timeout = -1;
		if (w->paused_until > 0) {
			double left = w->paused_until - mono_ms();

			if (left <= 0 && listen_watch(w) < 0) {
				shop_log_error("worker: epoll add listen: %s", strerror(errno));
				w->paused_until = mono_ms() + ACCEPT_PAUSE_MS;
				timeout = ACCEPT_PAUSE_MS;
			} else if (left > 0) {
				timeout = (int)left + 1;
			}
		}
		pthread_mutex_unlock(&w->mu);
		if (poll(p, 2, timeout) < 0 && errno != EINTR) {
			shop_log_error("worker: poll: %s", strerror(errno));
			break;
		}
		if ((p[1].revents & POLLIN) && read(w->pausefd, &v, sizeof(v)) < 0 &&
		    errno != EAGAIN)
			shop_log_error("worker: eventfd read: %s", strerror(errno));
	}
}

/* Stop: no more accepting (the pool's other processes take the new
 * connections). The web server may be sending a request on a kept
 * connection at any instant, so closing one races with it: the handlers
 * keep serving them until the web server closes them (nginx: upstream
 * keepalive_timeout and keepalive_requests), for DRAIN_MS at most. Then the
 * idle ones are closed, and the handlers finish what they hold (serving
 * what was already sent on it) and leave. */
static void stop_serving(struct worker *w)
{
	double deadline = mono_ms() + DRAIN_MS;
	size_t open;

	pthread_mutex_lock(&w->mu);
	w->stopping = true;
	w->paused_until = 0;
	if (w->listening)
		epoll_ctl(w->epfd, EPOLL_CTL_DEL, w->lfd, NULL);
	w->listening = false;
	pthread_mutex_unlock(&w->mu);

	for (;;) {
		pthread_mutex_lock(&w->mu);
		open = w->nconn;
		pthread_mutex_unlock(&w->mu);
		if (open == 0 || mono_ms() >= deadline || atomic_load(&w->failed))
			break;
		poll(NULL, 0, DRAIN_POLL_MS);
	}
	if (open > 0)
		shop_log_info("worker %d: %zu kept connection(s) still open after %d ms: closing"
		    " the idle ones", (int)getpid(), open, DRAIN_MS);

	pthread_mutex_lock(&w->mu);
	for (size_t fd = 0; fd < w->nstate; fd++) {
		if (w->state[fd] != C_IDLE)
			continue;
		epoll_ctl(w->epfd, EPOLL_CTL_DEL, (int)fd, NULL);
		close((int)fd);
		state_set(w, (int)fd, C_FREE);
		w->nconn--;
	}
	w->closing = true;
	pthread_mutex_unlock(&w->mu);
	wake(w->quitfd);
}

static void block_signals(void)
{
	sigset_t set;

	sigemptyset(&set);
	for (size_t i = 0; i < sizeof(stop_signals) / sizeof(stop_signals[0]); i++)
		sigaddset(&set, stop_signals[i]);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
}

static _Noreturn void worker_main(const struct shop_pool_opts *o, int lfd, pid_t master)
{
	struct worker w = { .o = o, .lfd = lfd, .epfd = -1, .stopfd = -1, .pausefd = -1,
			    .quitfd = -1 };
	struct sigaction sa = { .sa_handler = SIG_DFL };
	struct epoll_event ev;
	pthread_t *th, sigth;
	sigset_t set;
	int rc;

	/* Die with the master; the signal thread turns it into a clean stop. */
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != master)
		_exit(0);

	/* The master blocked SIGCHLD and the stop signals; keep the latter. */
	block_signals();
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);

	if (FCGX_Init() != 0) {
		shop_log_error("worker: FCGX_Init failed");
		_exit(1);
	}
	/* Undo libfcgi's handlers: our signals are taken by sigwait. */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);

	if (o->proc_init && o->proc_init(o->arg) != 0) {
		shop_log_error("worker %d: process init failed", (int)getpid());
		_exit(1);
	}

	pthread_mutex_init(&w.mu, NULL);
	pthread_cond_init(&w.cv, NULL);
	w.epfd = epoll_create1(EPOLL_CLOEXEC);
	w.stopfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	w.pausefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	w.quitfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (w.epfd < 0 || w.stopfd < 0 || w.pausefd < 0 || w.quitfd < 0) {
		shop_log_error("worker: epoll/eventfd: %s", strerror(errno));
		_exit(1);
	}
	ev.events = EPOLLIN;
	ev.data.fd = w.quitfd;
	if (epoll_ctl(w.epfd, EPOLL_CTL_ADD, w.quitfd, &ev) < 0) {
		shop_log_error("worker: epoll add eventfd: %s", strerror(errno));
		_exit(1);
	}

	th = shop_xcalloc(o->threads, sizeof(*th));
	for (unsigned i = 0; i < o->threads; i++) {
		if (pthread_create(&th[i], NULL, handler_main, &w) != 0) {
			shop_log_error("worker: cannot start handler threads");
			_exit(1);
		}
	}
	if (pthread_create(&sigth, NULL, signal_main, &w) != 0) {
		shop_log_error("worker: cannot start the signal thread");
		_exit(1);
	}
	/* Accept only when every handler thread is ready. */
	pthread_mutex_lock(&w.mu);
	while (w.ready < o->threads)
		pthread_cond_wait(&w.cv, &w.mu);
	if (!atomic_load(&w.stop) && listen_watch(&w) < 0) {
		shop_log_error("worker: epoll add listen: %s", strerror(errno));
		_exit(1);
	}
	pthread_mutex_unlock(&w.mu);

	wait_for_stop(&w);
	stop_serving(&w);

	for (unsigned i = 0; i < o->threads; i++)
		pthread_join(th[i], NULL);
	rc = atomic_load(&w.failed) ? 1 : 0;
	/* Still in sigwait when the loop ended without a signal. */
	pthread_cancel(sigth);
	pthread_join(sigth, NULL);
	free(th);
	free(w.state);
	free(w.inset);
	close(w.lfd);
	close(w.epfd);
	close(w.stopfd);
	close(w.pausefd);
	close(w.quitfd);
	_exit(rc);
}

/* ------------------------------------------------------------------ */
/* Master process */

struct slot {
	pid_t pid;            /* 0: not running */
	double started;
	double respawn_at;    /* when pid is 0 */
	unsigned backoff_ms;
	unsigned index;       /* its slot in the shared metrics */
};

/* Binds path (mode 0600), replacing a stale socket but refusing one a live
 * pool still answers on. Returns the listening fd or -1 (logged). */
static int bind_socket(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	size_t len = strlen(path);
	mode_t old;
	int fd, probe, rc;

	if (len == 0 || len >= sizeof(sa.sun_path)) {
		shop_log_error("pool: socket path too long or empty: %s", path);
		return -1;
	}
	memcpy(sa.sun_path, path, len + 1);

	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			shop_log_error("pool: %s exists and is not a socket", path);
			return -1;
		}
		probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		rc = probe >= 0 ? connect(probe, (struct sockaddr *)&sa, sizeof(sa)) : -1;
		if (probe >= 0)
			close(probe);
		if (rc == 0) {
			shop_log_error("pool: %s is in use by a running pool", path);
			return -1;
		}
		if (unlink(path) < 0 && errno != ENOENT) {
			shop_log_error("pool: unlink stale %s: %s", path, strerror(errno));
			return -1;
		}
	}

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		shop_log_error("pool: socket: %s", strerror(errno));
		return -1;
	}
	old = umask(0177);
	rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (rc < 0) {
		shop_log_error("pool: bind %s: %s", path, strerror(errno));
		goto out;
	}
	rc = listen(fd, LISTEN_BACKLOG);
	/* Shared by every worker's epoll: accept must never block. */
	if (rc == 0)
		rc = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	if (rc < 0) {
		shop_log_error("pool: listen %s: %s", path, strerror(errno));
		unlink(path);
	}
out:
	if (rc < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static void spawn(const struct shop_pool_opts *o, struct slot *s, int lfd)
{
	pid_t master = getpid();
	pid_t pid;

	shop_metrics_proc_set(s->index, 0);
	pid = fork();

	if (pid == 0) {
		shop_metrics_proc_self((unsigned)s->index);
		worker_main(o, lfd, master);
	}
	if (pid < 0) {
		shop_log_error("pool %s: fork: %s", o->name, strerror(errno));
		s->pid = 0;
		s->backoff_ms = s->backoff_ms ? s->backoff_ms : BACKOFF_MIN_MS;
		s->respawn_at = mono_ms() + s->backoff_ms;
		return;
	}
	s->pid = pid;
	s->started = mono_ms();
	shop_metrics_proc_set(s->index, pid);
	shop_log_info("pool %s: worker %d started", o->name, (int)pid);
}

static void describe_exit(int status, char *buf, size_t n)
{
	if (WIFEXITED(status))
		snprintf(buf, n, "exited with status %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, n, "killed by signal %d", WTERMSIG(status));
	else
		snprintf(buf, n, "ended (status %d)", status);
}

/* Reaps dead workers; when running, schedules their respawn. Returns the
 * number still alive. */
static unsigned reap(const struct shop_pool_opts *o, struct slot *slots, bool stopping)
{
	char why[64];
	unsigned alive = 0;
	double now = mono_ms();
	pid_t pid;
	int status;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (unsigned i = 0; i < o->procs; i++) {
			struct slot *s = &slots[i];

			if (s->pid != pid)
				continue;
			s->pid = 0;
			shop_metrics_proc_set(s->index, 0);
			describe_exit(status, why, sizeof(why));
			if (stopping) {
				shop_log_info("pool %s: worker %d %s", o->name, (int)pid, why);
				break;
			}
			if (now - s->started < YOUNG_MS) {
				s->backoff_ms = s->backoff_ms ? s->backoff_ms * 2 : BACKOFF_MIN_MS;
				if (s->backoff_ms > BACKOFF_MAX_MS)
					s->backoff_ms = BACKOFF_MAX_MS;
			} else {
				s->backoff_ms = 0;
			}
			s->respawn_at = now + s->backoff_ms;
			shop_log_warn("pool %s: worker %d %s; respawning in %u ms", o->name,
			    (int)pid, why, s->backoff_ms);
			break;
		}
	}
	for (unsigned i = 0; i < o->procs; i++)
		alive += slots[i].pid != 0;
	return alive;
}

static void signal_all(const struct shop_pool_opts *o, struct slot *slots, int sig)
{
	for (unsigned i = 0; i < o->procs; i++)
		if (slots[i].pid > 0)
			kill(slots[i].pid, sig);
}

static void raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

int shop_pool_run(const struct shop_pool_opts *o)
{
	struct sigaction sa = { .sa_handler = SIG_IGN };
	struct slot *slots = NULL;
	struct timespec ts, *tsp;
	sigset_t set, old;
	siginfo_t si;
	double now, wake, deadline = 0;
	bool stopping = false, killed = false, metrics = false;
	int lfd = -1, sig, rc = 1;

	if (!o->socket_path || !o->serve || o->procs < 1 || o->threads < 1) {
		shop_log_error("pool: invalid options");
		return 2;
	}
	raise_nofile();
	sigemptyset(&sa.sa_mask);
	sigaction(SIGPIPE, &sa, NULL);

	sigemptyset(&set);
	for (size_t i = 0; i < sizeof(stop_signals) / sizeof(stop_signals[0]); i++)
		sigaddset(&set, stop_signals[i]);
	sigaddset(&set, SIGCHLD);
	sigprocmask(SIG_BLOCK, &set, &old);

	lfd = bind_socket(o->socket_path);
	if (lfd < 0)
		goto out;
	if (o->pidfile && shop_pidfile_write(o->pidfile) != 0)
		goto out;

	/* Before the fork: every worker process counts into the same file. */
	shop_metrics_open(o->metrics_dir, o->name, SHOP_METRICS_POOL);
	metrics = true;
	slots = shop_xcalloc(o->procs, sizeof(*slots));
	for (unsigned i = 0; i < o->procs; i++)
		slots[i].index = i;
	shop_metrics_pool_shape(o->procs, o->threads);
	shop_log_info("pool %s: master %d on %s, %u processes x %u threads", o->name,
	    (int)getpid(), o->socket_path, o->procs, o->threads);
	for (unsigned i = 0; i < o->procs; i++)
		spawn(o, &slots[i], lfd);

	for (;;) {
		now = mono_ms();
		if (stopping) {
			if (reap(o, slots, true) == 0)
				break;
			if (!killed && now >= deadline) {
				shop_log_warn("pool %s: workers still running after %d ms: SIGKILL",
				    o->name, STOP_GRACE_MS);
				signal_all(o, slots, SIGKILL);
				killed = true;
			}
			wake = killed ? now + 1000 : deadline;
		} else {
			wake = -1;
			for (unsigned i = 0; i < o->procs; i++) {
				struct slot *s = &slots[i];

				if (s->pid != 0)
					continue;
				if (s->respawn_at <= now)
					spawn(o, s, lfd);
				if (s->pid == 0 && (wake < 0 || s->respawn_at < wake))
					wake = s->respawn_at;
			}
		}
		tsp = NULL;
		if (wake >= 0) {
			double d = wake - mono_ms();

			if (d < 1)
				d = 1;
			ts.tv_sec = (time_t)(d / 1000);
			ts.tv_nsec = (long)((d - (double)ts.tv_sec * 1000) * 1e6);
			tsp = &ts;
		}
		sig = sigtimedwait(&set, &si, tsp);
		if (sig < 0)
			continue; /* EAGAIN (timeout) or EINTR */
		switch (sig) {
		case SIGCHLD:
			reap(o, slots, stopping);
			break;
		case SIGTERM:
		case SIGINT:
		case SIGQUIT:
			if (!stopping) {
				shop_log_info("pool %s: signal %d: stopping the workers", o->name, sig);
				stopping = true;
				deadline = mono_ms() + STOP_GRACE_MS;
				/* Workers keep accepting until they see their SIGTERM; the
				 * socket goes when the last one is gone. */
				signal_all(o, slots, SIGTERM);
			}
			break;
		default:
			shop_log_info("pool %s: signal %d ignored", o->name, sig);
			break;
		}
	}
	shop_log_info("pool %s: stopped", o->name);
	rc = 0;
out:
	if (lfd >= 0) {
		close(lfd);
		unlink(o->socket_path);
	}
	if (rc == 0 && o->pidfile)
		unlink(o->pidfile);
	if (metrics)
		shop_metrics_close();
	free(slots);
	sigprocmask(SIG_SETMASK, &old, NULL);
	return rc;
}
