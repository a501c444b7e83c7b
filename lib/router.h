/* The route table: method + path pattern with parameters, the role the route
 * needs, and the fields it accepts. Path parameters ("{id}", "{product_id}")
 * are always positive integer ids (1 .. 2^53-1); a segment that is not one
 * does not match. */
#ifndef SHOP_ROUTER_H
#define SHOP_ROUTER_H

#include <stddef.h>

#include "lib/validate.h"

struct shop_req;
typedef void (*shop_handler)(struct shop_req *r);

enum shop_access {
	SHOP_ACCESS_PUBLIC,   /* anyone; the user, if nginx vouched for one, is known */
	SHOP_ACCESS_USER,     /* any authenticated user */
	SHOP_ACCESS_SELLER,   /* SELLER or ADMIN */
	SHOP_ACCESS_ADMIN,    /* ADMIN */
};

struct shop_route {
	const char *method;               /* "GET", "POST", "PUT", "DELETE" */
	const char *pattern;              /* "/api/v1/products/{id}" */
	shop_handler handler;
	enum shop_access access;
	const struct shop_field *body;    /* accepted JSON body; NULL: no body allowed */
	const struct shop_field *query;   /* accepted query parameters; NULL: none */
	unsigned flags;                   /* SHOP_ROUTE_*; optional (0) */
};

/* The body is read (at most 64 KiB) and must be declared application/json,
 * but it is neither parsed nor validated: the handler reads the exact bytes
 * with shop_req_raw_body() (r->body stays NULL). For signed payloads
 * (webhooks), whose signature covers the bytes as sent. body must be NULL. */
#define SHOP_ROUTE_RAW_BODY 0x1

#define SHOP_MAX_PATH_PARAMS 4

struct shop_match {
	const struct shop_route *route;
	unsigned nparams;
	struct { const char *name; size_t namelen; long long id; } params[SHOP_MAX_PATH_PARAMS];
	char allow[64]; /* on SHOP_EMETHOD: the methods allowed, "GET, PUT" */
};

/* Finds the route for method and path (no query string). Returns 0 with m
 * filled, SHOP_ENOTFOUND when no pattern matches the path, or SHOP_EMETHOD
 * when one matches the path but not the method (m->allow then lists them). */
int shop_route_match(const struct shop_route *routes, size_t n, const char *method,
    const char *path, struct shop_match *m);

#endif
