/* Names of the SHOP_E* codes. */
#include "lib/err.h"

const char *shop_strerror(int err)
{
	switch (err) {
	case SHOP_OK:
		return "SHOP_OK: success";
	case SHOP_EINVAL:
		return "SHOP_EINVAL: invalid input";
	case SHOP_ENOTFOUND:
		return "SHOP_ENOTFOUND: not found";
	case SHOP_EMETHOD:
		return "SHOP_EMETHOD: method not allowed";
	case SHOP_ECONFLICT:
		return "SHOP_ECONFLICT: state conflict";
	case SHOP_EDUP:
		return "SHOP_EDUP: duplicate key";
	case SHOP_EDB:
		return "SHOP_EDB: database error";
	case SHOP_EDBDOWN:
		return "SHOP_EDBDOWN: database unreachable";
	case SHOP_ERETRY:
		return "SHOP_ERETRY: transaction must be retried";
	case SHOP_EIO:
		return "SHOP_EIO: I/O error";
	case SHOP_ETOOBIG:
		return "SHOP_ETOOBIG: input too big";
	case SHOP_EAUTH:
		return "SHOP_EAUTH: bad credentials or token";
	case SHOP_EEXPIRED:
		return "SHOP_EEXPIRED: token expired";
	case SHOP_EFORBIDDEN:
		return "SHOP_EFORBIDDEN: forbidden";
	case SHOP_ESYS:
		return "SHOP_ESYS: system call failed";
	case SHOP_EUNAVAIL:
		return "SHOP_EUNAVAIL: dependency unavailable";
	}
	return "SHOP_E?: unknown error";
}
