/* Delivery of a built message (notify_worker.h): a spool directory or SMTP.
 *
 * Spool: <spool_dir>/<notification id>.eml appears atomically and only
 * complete: the message is written to a temporary ".<id>.<pid>.<random>.tmp"
 * (a name no reader of *.eml picks up), fsynced, then renamed to <id>.eml
 * with RENAME_NOREPLACE (link + unlink where the file system lacks it), and
 * the directory is fsynced. So the existence of <id>.eml is the proof that
 * the notification was delivered, which the handler asks before sending
 * again after a crash; a second writer racing the first finds the name
 * taken and counts as delivered, and never replaces the first file. (A
 * program that takes mail out of the spool may remove <id>.eml once the
 * notification is SENT; removed earlier, in the instant between the rename
 * and the commit, a crash there would have the mail written again.)
 *
 * SMTP (libcurl): one easy handle kept for the process so that its
 * connection is reused between mails (not past 60 s idle: servers drop idle
 * clients), STARTTLS per smtp_starttls, AUTH when smtp_user is set,
 * bounded connect and total times. Neither the body nor a credential is
 * ever logged: libcurl's verbose mode stays off and only its error text and
 * the last SMTP reply code are reported. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "lib/err.h"
#include "lib/log.h"
#include "lib/util.h"
#include "workers/notify/notify_worker.h"

#define STALE_TMP_SECONDS 600     /* temporary files older than this are a crash's leftovers */
#define CONN_MAX_IDLE_S 60L       /* do not reuse an SMTP connection idle longer */

static int mkdir_p(const char *path)
{
	char tmp[512];
	size_t n = strlen(path);

	if (n == 0 || n >= sizeof(tmp))
		return -1;
	memcpy(tmp, path, n + 1);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0750) != 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(tmp, 0750) != 0 && errno != EEXIST)
		return -1;
	return 0;
}

/* Removes ".*.tmp" files older than STALE_TMP_SECONDS (a crash mid-write). */
static void sweep_tmp(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	time_t now = time(NULL);
	unsigned removed = 0;

	if (!d)
		return;
	while ((e = readdir(d)) != NULL) {
		size_t n = strlen(e->d_name);
		struct stat st;

		if (e->d_name[0] != '.' || n < 5 || strcmp(e->d_name + n - 4, ".tmp") != 0)
			continue;
		if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
		    !S_ISREG(st.st_mode) || now - st.st_mtime < STALE_TMP_SECONDS)
			continue;
		if (unlinkat(dirfd(d), e->d_name, 0) == 0)
			removed++;
	}
	closedir(d);
	if (removed)
		shop_log_info("spool: removed %u unfinished temporary files", removed);
}

int nw_deliver_init(struct nw_deliver *d)
{
	CURL *c;

	if (d->mode == NW_DELIVER_SPOOL) {
		if (mkdir_p(d->spool_dir) != 0) {
			shop_log_error("spool_dir %s: %s", d->spool_dir, strerror(errno));
			return SHOP_EIO;
		}
		if (access(d->spool_dir, W_OK | X_OK) != 0) {
			shop_log_error("spool_dir %s: not writable: %s", d->spool_dir, strerror(errno));
			return SHOP_EIO;
		}
		sweep_tmp(d->spool_dir);
		return 0;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK || !(c = curl_easy_init())) {
		shop_log_error("cannot initialise libcurl");
		return SHOP_EIO;
	}
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "smtp");
	curl_easy_setopt(c, CURLOPT_URL, d->url);
	curl_easy_setopt(c, CURLOPT_MAIL_FROM, d->mail_from);
	curl_easy_setopt(c, CURLOPT_USE_SSL, d->use_ssl);
	if (d->user && d->user[0]) {
		curl_easy_setopt(c, CURLOPT_USERNAME, d->user);
		curl_easy_setopt(c, CURLOPT_PASSWORD, d->password ? d->password : "");
	}
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, d->connect_timeout_ms);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, d->timeout_ms);
	curl_easy_setopt(c, CURLOPT_MAXAGE_CONN, CONN_MAX_IDLE_S);
	curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
	d->curl = c;
	return 0;
}

void nw_deliver_fini(struct nw_deliver *d)
{
	if (d->curl) {
		curl_easy_cleanup(d->curl);
		d->curl = NULL;
		curl_global_cleanup();
	}
}

static void eml_path(char *out, size_t outsz, const struct nw_deliver *d, long long id)
{
	snprintf(out, outsz, "%s/%lld.eml", d->spool_dir, id);
}

int nw_spool_exists(const struct nw_deliver *d, long long id)
{
	char path[600];
	struct stat st;

	eml_path(path, sizeof(path), d, id);
	if (stat(path, &st) == 0)
		return 1;
	if (errno == ENOENT)
		return 0;
	shop_log_error("spool: %s: %s", path, strerror(errno));
	return SHOP_EIO;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Moves tmp to path unless path exists. 0: moved; 1: path existed (tmp
 * removed); -1: failed (errno). */
static int place_noreplace(const char *tmp, const char *path)
{
	if (renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno == EEXIST) {
		unlink(tmp);
		return 1;
	}
	if (errno != EINVAL && errno != ENOSYS)
		return -1;
	/* no RENAME_NOREPLACE on this file system: link() never replaces either */
	if (link(tmp, path) != 0) {
		int e = errno;

		if (e == EEXIST) {
			unlink(tmp);
			return 1;
		}
		errno = e;
		return -1;
	}
	unlink(tmp);
	return 0;
}

/* The reason of a spool failure, for last_error and the log. */
static void fail(struct nw_send_result *r, const char *op, long long id, int err)
{
	snprintf(r->err, sizeof(r->err), "spool: %s %lld.eml: %s", op, id, strerror(err));
}

static int spool_write(struct nw_deliver *d, long long id, const char *msg, size_t len,
    struct nw_send_result *r)
{
	char tmp[640], path[600], hex[17];
	unsigned char rnd[8];
	int fd = -1, dfd, placed, rc = SHOP_EIO;

	shop_random_bytes(rnd, sizeof(rnd));
	shop_hex_encode(hex, rnd, sizeof(rnd));
	snprintf(tmp, sizeof(tmp), "%s/.%lld.%d.%s.tmp", d->spool_dir, id, (int)getpid(), hex);
	eml_path(path, sizeof(path), d, id);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
	if (fd < 0) {
		fail(r, "create", id, errno);
		goto out;
	}
	if (write_all(fd, msg, len) != 0 || fsync(fd) != 0) {
		fail(r, "write", id, errno);
		goto out;
	}
	if (close(fd) != 0) {
		fd = -1;
		fail(r, "close", id, errno);
		goto out;
	}
	fd = -1;
	placed = place_noreplace(tmp, path);
	if (placed < 0) {
		fail(r, "rename", id, errno);
		goto out;
	}
	if (placed == 1)
		shop_log_warn("spool: %s was written meanwhile by another process: kept as is", path);
	/* the rename itself must survive a power cut before we record SENT */
	dfd = open(d->spool_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	if (rc)
		unlink(tmp);
	return rc;
}

struct reader {
	const char *p;
	size_t left;
};

static size_t read_cb(char *buf, size_t size, size_t nitems, void *arg)
{
	struct reader *rd = arg;
	size_t n = size * nitems;

	if (n > rd->left)
		n = rd->left;
	memcpy(buf, rd->p, n);
	rd->p += n;
	rd->left -= n;
	return n;
}

static int smtp_send(struct nw_deliver *d, const char *rcpt, const char *msg, size_t len,
    struct nw_send_result *r)
{
	CURL *c = d->curl;
	struct curl_slist *to = NULL;
	struct reader rd = { msg, len };
	char errbuf[CURL_ERROR_SIZE], rcpt_arg[300];
	long code = 0;
	CURLcode cc;

	snprintf(rcpt_arg, sizeof(rcpt_arg), "<%s>", rcpt);
	to = curl_slist_append(NULL, rcpt_arg);
	if (!to) {
		snprintf(r->err, sizeof(r->err), "smtp: out of memory");
		return SHOP_EUNAVAIL;
	}
	errbuf[0] = '\0';
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(c, CURLOPT_MAIL_RCPT, to);
	curl_easy_setopt(c, CURLOPT_READFUNCTION, read_cb);
	curl_easy_setopt(c, CURLOPT_READDATA, &rd);
	curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)len);
	cc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_setopt(c, CURLOPT_MAIL_RCPT, NULL);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, NULL);
	curl_slist_free_all(to);
	if (cc == CURLE_OK)
		return 0;
	snprintf(r->err, sizeof(r->err), "smtp: %s (reply %ld)", errbuf[0] ? errbuf :
	    curl_easy_strerror(cc), code);
	/* A 5xx refusal of the sender, the recipient or the message is final;
	 * authentication failures (530, 534, 535, 538) are a configuration
	 * problem that a retry after a fix can cure. */
	r->permanent = code >= 500 && code <= 599 && code != 530 && code != 534 && code != 535 &&
	    code != 538 && cc != CURLE_LOGIN_DENIED;
	return SHOP_EUNAVAIL;
}

int nw_deliver_send(struct nw_deliver *d, long long id, const char *rcpt, const char *msg,
    size_t len, struct nw_send_result *r)
{
	r->err[0] = '\0';
	r->permanent = false;
	if (d->mode == NW_DELIVER_SPOOL)
		return spool_write(d, id, msg, len, r);
	return smtp_send(d, rcpt, msg, len, r);
}
