/* A minimal FastCGI client: one responder request over a unix socket.
 *
 * Records sent: BEGIN_REQUEST (role RESPONDER, no KEEP_CONN), one PARAMS
 * record with the CGI variables, an empty PARAMS, an empty STDIN. Records
 * read: STDOUT (the first bytes are kept to find the "Status:" header),
 * STDERR (ignored) and END_REQUEST, which ends the exchange. Every wait is
 * a poll() against one deadline. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <fastcgi.h>

#include "lib/err.h"
#include "lib/fcgic.h"

#define HEAD_MAX 4096 /* STDOUT bytes kept to find the status line */

static long long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits for events on fd until the deadline. Returns 0 or SHOP_EIO. */
static int wait_fd(int fd, short events, long long deadline)
{
	struct pollfd p = { .fd = fd, .events = events };
	long long left;
	int rc;

	for (;;) {
		left = deadline - mono_ms();
		if (left <= 0)
			return SHOP_EIO;
		rc = poll(&p, 1, (int)left);
		if (rc > 0)
			return 0;
		if (rc < 0 && errno != EINTR)
			return SHOP_EIO;
	}
}

static int write_all(int fd, const unsigned char *p, size_t n, long long deadline)
{
	ssize_t w;

	while (n > 0) {
		w = send(fd, p, n, MSG_NOSIGNAL);
		if (w > 0) {
			p += w;
			n -= (size_t)w;
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (wait_fd(fd, POLLOUT, deadline))
				return SHOP_EIO;
			continue;
		}
		return SHOP_EIO;
	}
	return 0;
}

/* Reads exactly n bytes. Returns 0 or SHOP_EIO (error, EOF or timeout). */
static int read_all(int fd, unsigned char *p, size_t n, long long deadline)
{
	ssize_t r;

	while (n > 0) {
		r = recv(fd, p, n, 0);
		if (r > 0) {
			p += r;
			n -= (size_t)r;
			continue;
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (wait_fd(fd, POLLIN, deadline))
				return SHOP_EIO;
			continue;
		}
		return SHOP_EIO;
	}
	return 0;
}

static void put_header(unsigned char *h, unsigned type, size_t len)
{
	h[0] = FCGI_VERSION_1;
	h[1] = (unsigned char)type;
	h[2] = 0;
	h[3] = 1; /* request id 1 */
	h[4] = (unsigned char)(len >> 8);
	h[5] = (unsigned char)len;
	h[6] = 0; /* padding */
	h[7] = 0;
}

/* Appends one name-value pair to buf. Returns false when it does not fit. */
static bool put_pair(unsigned char *buf, size_t cap, size_t *off, const char *name,
    const char *value)
{
	size_t nl = strlen(name), vl = strlen(value);
	size_t need = nl + vl + (nl < 128 ? 1 : 4) + (vl < 128 ? 1 : 4);
	size_t lens[2] = { nl, vl };
	unsigned char *p;

	if (need > cap - *off)
		return false;
	p = buf + *off;
	for (int i = 0; i < 2; i++) {
		if (lens[i] < 128) {
			*p++ = (unsigned char)lens[i];
		} else {
			*p++ = (unsigned char)(0x80 | (lens[i] >> 24));
			*p++ = (unsigned char)(lens[i] >> 16);
			*p++ = (unsigned char)(lens[i] >> 8);
			*p++ = (unsigned char)lens[i];
		}
	}
	memcpy(p, name, nl);
	memcpy(p + nl, value, vl);
	*off += need;
	return true;
}

/* The status of a CGI response head: "Status: 404 Not Found" → 404; 200 when
 * the head has no Status line. Returns 0 or SHOP_EIO when the head is
 * incomplete or the status malformed. */
static int parse_status(const char *head, size_t n, int *status)
{
	const char *p = head, *end = head + n, *eol;
	size_t len;

	*status = 200;
	while (p < end) {
		eol = memchr(p, '\n', (size_t)(end - p));
		if (!eol)
			return SHOP_EIO; /* no blank line within the kept bytes */
		len = (size_t)(eol - p);
		if (len > 0 && p[len - 1] == '\r')
			len--;
		if (len == 0)
			return 0; /* end of the head */
		if (len >= 7 && strncasecmp(p, "Status:", 7) == 0) {
			const char *s = p + 7;

			while (s < p + len && (*s == ' ' || *s == '\t'))
				s++;
			if (p + len - s < 3 || s[0] < '1' || s[0] > '5' || s[1] < '0' ||
			    s[1] > '9' || s[2] < '0' || s[2] > '9' ||
			    (p + len - s > 3 && s[3] != ' '))
				return SHOP_EIO;
			*status = (s[0] - '0') * 100 + (s[1] - '0') * 10 + (s[2] - '0');
		}
		p = eol + 1;
	}
	return SHOP_EIO;
}

int shop_fcgi_get(const char *socket_path, const char *method, const char *uri,
    int timeout_ms, int *status)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	unsigned char out[2048], hdr[FCGI_HEADER_LEN], body[65536 + 256];
	char head[HEAD_MAX], path[1024];
	const char *query, *q;
	size_t off, plen, nhead = 0, clen;
	long long deadline = mono_ms() + (timeout_ms > 0 ? timeout_ms : 1);
	int fd = -1, rc = SHOP_EIO;
	bool ended = false;

	if (strlen(socket_path) >= sizeof(sa.sun_path))
		return SHOP_EUNAVAIL;
	memcpy(sa.sun_path, socket_path, strlen(socket_path) + 1);

	q = strchr(uri, '?');
	query = q ? q + 1 : "";
	plen = q ? (size_t)(q - uri) : strlen(uri);
	if (plen >= sizeof(path))
		return SHOP_EIO;
	memcpy(path, uri, plen);
	path[plen] = '\0';

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return SHOP_EIO;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		/* ENOENT/ECONNREFUSED: no pool; EAGAIN: its backlog is full. */
		rc = SHOP_EUNAVAIL;
		goto out;
	}

	/* BEGIN_REQUEST, PARAMS, empty PARAMS, empty STDIN in one write. */
	put_header(out, FCGI_BEGIN_REQUEST, 8);
	memset(out + 8, 0, 8);
	out[9] = FCGI_RESPONDER; /* roleB0; flags 0: close after the answer */
	off = 16 + FCGI_HEADER_LEN;
	if (!put_pair(out, sizeof(out) - 16, &off, "REQUEST_METHOD", method) ||
	    !put_pair(out, sizeof(out) - 16, &off, "DOCUMENT_URI", path) ||
	    !put_pair(out, sizeof(out) - 16, &off, "SCRIPT_NAME", path) ||
	    !put_pair(out, sizeof(out) - 16, &off, "REQUEST_URI", uri) ||
	    !put_pair(out, sizeof(out) - 16, &off, "QUERY_STRING", query) ||
	    !put_pair(out, sizeof(out) - 16, &off, "CONTENT_LENGTH", "") ||
	    !put_pair(out, sizeof(out) - 16, &off, "SERVER_PROTOCOL", "HTTP/1.1") ||
	    !put_pair(out, sizeof(out) - 16, &off, "GATEWAY_INTERFACE", "CGI/1.1")) {
		rc = SHOP_EIO;
		goto out;
	}
	put_header(out + 16, FCGI_PARAMS, off - 16 - FCGI_HEADER_LEN);
	put_header(out + off, FCGI_PARAMS, 0);
	off += FCGI_HEADER_LEN;
	put_header(out + off, FCGI_STDIN, 0);
	off += FCGI_HEADER_LEN;
	if (write_all(fd, out, off, deadline))
		goto out;

	while (!ended) {
		if (read_all(fd, hdr, sizeof(hdr), deadline))
			goto out;
		if (hdr[0] != FCGI_VERSION_1)
			goto out;
		clen = ((size_t)hdr[4] << 8 | hdr[5]) + hdr[6];
		if (read_all(fd, body, clen, deadline))
			goto out;
		clen -= hdr[6];
		switch (hdr[1]) {
		case FCGI_STDOUT:
			if (nhead < sizeof(head)) {
				size_t take = clen < sizeof(head) - nhead ? clen : sizeof(head) - nhead;

				memcpy(head + nhead, body, take);
				nhead += take;
			}
			break;
		case FCGI_STDERR:
			break;
		case FCGI_END_REQUEST:
			if (clen < 8 || body[4] != FCGI_REQUEST_COMPLETE)
				goto out;
			ended = true;
			break;
		default:
			goto out;
		}
	}
	rc = parse_status(head, nhead, status);
out:
	if (fd >= 0)
		close(fd);
	return rc;
}
