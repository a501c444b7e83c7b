/* Opaque keyset cursors for lists: the sort name, the last row's sort value
 * and its id, base64url-encoded. Decoding checks the form strictly and that
 * the cursor was made for the same sort. */
#ifndef SHOP_CURSOR_H
#define SHOP_CURSOR_H

#include <stddef.h>

#define SHOP_CURSOR_MAX 128

/* Writes a NUL-terminated cursor into out (SHOP_CURSOR_MAX bytes). sort is
 * [a-z_-]{1,16}. Returns 0 or SHOP_EINVAL for a bad sort name. */
int shop_cursor_encode(char out[SHOP_CURSOR_MAX], const char *sort, long long value, long long id);
/* Returns 0, or SHOP_EINVAL when s is malformed, made for another sort, or id < 1. */
int shop_cursor_decode(const char *s, const char *sort, long long *value, long long *id);

#endif
