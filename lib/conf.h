/* Configuration: one INI-style file (shop.conf) with environment overrides.
 *
 *   # comment
 *   [section]
 *   key = value            (value runs to end of line, surrounding blanks trimmed)
 *
 * Keys are addressed as "section.key". The environment variable
 * SHOP_<SECTION>_<KEY> (upper case, '.' and '-' as '_') overrides the file:
 * "identity.db_password" ← SHOP_IDENTITY_DB_PASSWORD. */
#ifndef SHOP_CONF_H
#define SHOP_CONF_H

#include <stdbool.h>

struct shop_conf;

/* Loads path (NULL: environment only). Returns 0, SHOP_EIO when the file
 * cannot be read, or SHOP_EINVAL on a syntax error (logged with its line).
 * On success *out is owned by the caller: shop_conf_free(). */
int shop_conf_load(struct shop_conf **out, const char *path);
void shop_conf_free(struct shop_conf *c);

/* The value of key, or def when unset. The string lives as long as c. */
const char *shop_conf_get(const struct shop_conf *c, const char *key, const char *def);
/* An integer value; def when unset or not a valid integer (then logged). */
long long shop_conf_int(const struct shop_conf *c, const char *key, long long def);
/* "1", "true", "yes", "on" are true; "0", "false", "no", "off" false; else def. */
bool shop_conf_bool(const struct shop_conf *c, const char *key, bool def);
/* "<app>.<key>" if set, else "<fallback_section>.<key>", else def. */
const char *shop_conf_app(const struct shop_conf *c, const char *app,
    const char *fallback_section, const char *key, const char *def);

#endif
