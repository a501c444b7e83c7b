/* Error codes shared by every module: 0 is success, a negative SHOP_E* a failure
 * (libuv's convention). */
#ifndef SHOP_ERR_H
#define SHOP_ERR_H

enum shop_err {
	SHOP_OK = 0,
	SHOP_EINVAL = -1,     /* malformed or invalid input */
	SHOP_ENOTFOUND = -2,  /* no such thing */
	SHOP_EMETHOD = -3,    /* path known, method not allowed */
	SHOP_ECONFLICT = -4,  /* state conflict */
	SHOP_EDUP = -5,       /* unique key already taken */
	SHOP_EDB = -6,        /* database error (a bug or a constraint) */
	SHOP_EDBDOWN = -7,    /* database unreachable: the request had no effect */
	SHOP_ERETRY = -8,     /* deadlock or lock wait timeout: retry the transaction */
	SHOP_EIO = -9,        /* file or socket I/O */
	SHOP_ETOOBIG = -10,   /* input over a size limit */
	SHOP_EAUTH = -11,     /* bad credentials or token */
	SHOP_EEXPIRED = -12,  /* token expired */
	SHOP_EFORBIDDEN = -13,/* authenticated but not allowed */
	SHOP_ESYS = -14,      /* system call failed; errno tells */
	SHOP_EUNAVAIL = -15,  /* a dependency (broker, provider) is unavailable */
};

/* The name of an error code ("SHOP_EINVAL: invalid input"). Never NULL. */
const char *shop_strerror(int err);

#endif
