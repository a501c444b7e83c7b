/* A minimal FastCGI client: one request over a unix socket, as nginx would
 * send it. Used by the health check to ask each pool for "GET /_ping". */
#ifndef SHOP_FCGIC_H
#define SHOP_FCGIC_H

/* Sends method + uri (no body) to the responder at socket_path and reads
 * the answer within timeout_ms. On 0, *status holds the HTTP status of the
 * answer ("Status:" header, 200 when absent). Returns SHOP_EUNAVAIL when the
 * socket refuses, SHOP_EIO on a protocol error or timeout. */
int shop_fcgi_get(const char *socket_path, const char *method, const char *uri,
    int timeout_ms, int *status);

#endif
