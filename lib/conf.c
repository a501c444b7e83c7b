/* Configuration: an INI file plus SHOP_<SECTION>_<KEY> environment overrides.
 *
 * The syntax is strict; anything else is a syntax error:
 *   - blank lines and lines whose first non-blank character is '#' or ';';
 *   - "[section]", section names of [a-z0-9_-], blanks allowed around;
 *   - "key = value" inside a section, key of [a-z0-9_-]; the value runs to
 *     the end of the line, blanks trimmed. A '#' preceded by a blank starts
 *     a comment ("profile = dev   # dev | test", as docs/runtime.md shows),
 *     so a value cannot contain " #";
 *   - a key given twice in the same section is an error; NUL bytes are errors;
 *     CRLF line ends are accepted.
 * The environment is read once, at load: SHOP_* variables are copied, so a
 * later setenv() does not change a loaded configuration. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/conf.h"
#include "lib/err.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/util.h"

extern char **environ;

struct entry {
	char *key;   /* "section.key" from the file, or "SHOP_..." from the env */
	char *value;
};

struct shop_conf {
	struct entry *file;
	size_t nfile, capfile;
	struct entry *env;
	size_t nenv;
};

static bool name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

static bool blank(char c)
{
	return c == ' ' || c == '\t';
}

static const struct entry *find(const struct entry *e, size_t n, const char *key)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcmp(e[i].key, key))
			return &e[i];
	return NULL;
}

static void add_file(struct shop_conf *c, const char *section, const char *key,
    const char *val, size_t vlen)
{
	size_t sl = strlen(section), kl = strlen(key);
	struct entry *e;

	if (c->nfile == c->capfile) {
		c->capfile = c->capfile ? 2 * c->capfile : 32;
		c->file = shop_xrealloc(c->file, c->capfile * sizeof(*c->file));
	}
	e = &c->file[c->nfile++];
	e->key = shop_xmalloc(sl + kl + 2);
	memcpy(e->key, section, sl);
	e->key[sl] = '.';
	memcpy(e->key + sl + 1, key, kl + 1);
	e->value = shop_xmalloc(vlen + 1);
	memcpy(e->value, val, vlen);
	e->value[vlen] = '\0';
}

/* Parses one line (NUL-terminated, without its newline). Returns 0 or an
 * error message. */
static const char *parse_line(struct shop_conf *c, char *line, char section[64])
{
	char *p = line, *end, *key, *val;
	char keybuf[64], full[130];
	size_t n;

	while (blank(*p))
		p++;
	if (*p == '\0' || *p == '#' || *p == ';')
		return NULL;
	if (*p == '[') {
		p++;
		while (blank(*p))
			p++;
		key = p;
		while (name_char(*p))
			p++;
		n = (size_t)(p - key);
		while (blank(*p))
			p++;
		if (*p != ']' || n == 0)
			return "bad section header";
		if (n >= 64)
			return "section name too long";
		p++;
		while (blank(*p))
			p++;
		if (*p != '\0' && *p != '#')
			return "text after section header";
		memcpy(section, key, n);
		section[n] = '\0';
		return NULL;
	}
	key = p;
	while (name_char(*p))
		p++;
	n = (size_t)(p - key);
	if (n == 0)
		return "expected a key";
	if (n >= sizeof(keybuf))
		return "key too long";
	memcpy(keybuf, key, n);
	keybuf[n] = '\0';
	while (blank(*p))
		p++;
	if (*p != '=')
		return "expected '=' after the key";
	if (section[0] == '\0')
		return "key outside a section";
	p++;
	while (blank(*p))
		p++;
	val = p;
	/* A comment starts at a '#' that follows a blank (or opens the value). */
	for (end = p; *end; end++)
		if (*end == '#' && (end == val || blank(end[-1])))
			break;
	while (end > val && blank(end[-1]))
		end--;
	snprintf(full, sizeof(full), "%s.%s", section, keybuf);
	if (find(c->file, c->nfile, full))
		return "key set twice";
	add_file(c, section, keybuf, val, (size_t)(end - val));
	return NULL;
}

static int load_file(struct shop_conf *c, const char *path)
{
	char section[64] = "";
	char *line = NULL;
	size_t cap = 0;
	unsigned lineno = 0;
	ssize_t len;
	FILE *f;
	int rc = 0;

	f = fopen(path, "re");
	if (!f) {
		shop_log_error("conf: cannot open %s: %s", path, strerror(errno));
		return SHOP_EIO;
	}
	while ((len = getline(&line, &cap, f)) >= 0) {
		const char *why;

		lineno++;
		if (len > 0 && line[len - 1] == '\n')
			line[--len] = '\0';
		if (len > 0 && line[len - 1] == '\r')
			line[--len] = '\0';
		if (strlen(line) != (size_t)len) {
			why = "NUL byte in line";
		} else {
			why = parse_line(c, line, section);
		}
		if (why) {
			shop_log_error("conf: %s:%u: %s", path, lineno, why);
			rc = SHOP_EINVAL;
			goto out;
		}
	}
	if (ferror(f)) {
		shop_log_error("conf: cannot read %s: %s", path, strerror(errno));
		rc = SHOP_EIO;
	}
out:
	free(line);
	fclose(f);
	return rc;
}

static void load_env(struct shop_conf *c)
{
	size_t i, n = 0, cap = 0;
	char **e;

	for (e = environ; e && *e; e++) {
		const char *eq = strchr(*e, '=');

		if (strncmp(*e, "SHOP_", 5) || !eq)
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 16;
			c->env = shop_xrealloc(c->env, cap * sizeof(*c->env));
		}
		i = (size_t)(eq - *e);
		c->env[n].key = shop_xmalloc(i + 1);
		memcpy(c->env[n].key, *e, i);
		c->env[n].key[i] = '\0';
		c->env[n].value = shop_xstrdup(eq + 1);
		n++;
	}
	c->nenv = n;
}

int shop_conf_load(struct shop_conf **out, const char *path)
{
	struct shop_conf *c = shop_xcalloc(1, sizeof(*c));
	int rc;

	*out = NULL;
	if (path) {
		rc = load_file(c, path);
		if (rc < 0) {
			shop_conf_free(c);
			return rc;
		}
	}
	load_env(c);
	*out = c;
	return 0;
}

void shop_conf_free(struct shop_conf *c)
{
	size_t i;

	if (!c)
		return;
	for (i = 0; i < c->nfile; i++) {
		free(c->file[i].key);
		free(c->file[i].value);
	}
	for (i = 0; i < c->nenv; i++) {
		free(c->env[i].key);
		free(c->env[i].value);
	}
	free(c->file);
	free(c->env);
	free(c);
}

const char *shop_conf_get(const struct shop_conf *c, const char *key, const char *def)
{
	char envname[160];
	const struct entry *e;
	size_t i, n;

	if (!c || !key)
		return def;
	n = strlen(key);
	if (n + 6 <= sizeof(envname)) {
		memcpy(envname, "SHOP_", 5);
		for (i = 0; i < n; i++) {
			char ch = key[i];

			envname[5 + i] = (ch == '.' || ch == '-') ? '_' :
			    (char)toupper((unsigned char)ch);
		}
		envname[5 + n] = '\0';
		e = find(c->env, c->nenv, envname);
		if (e)
			return e->value;
	}
	e = find(c->file, c->nfile, key);
	return e ? e->value : def;
}

long long shop_conf_int(const struct shop_conf *c, const char *key, long long def)
{
	const char *s = shop_conf_get(c, key, NULL);
	long long v;

	if (!s)
		return def;
	if (shop_parse_int(s, strlen(s), LLONG_MIN, LLONG_MAX, &v) < 0) {
		shop_log_warn("conf: %s is not an integer, using %lld", key, def);
		return def;
	}
	return v;
}

bool shop_conf_bool(const struct shop_conf *c, const char *key, bool def)
{
	static const char *const yes[] = { "1", "true", "yes", "on" };
	static const char *const no[] = { "0", "false", "no", "off" };
	const char *s = shop_conf_get(c, key, NULL);
	size_t i;

	if (!s)
		return def;
	for (i = 0; i < SHOP_ARRAY_LEN(yes); i++) {
		if (!strcasecmp(s, yes[i]))
			return true;
		if (!strcasecmp(s, no[i]))
			return false;
	}
	shop_log_warn("conf: %s is not a boolean, using %s", key, def ? "true" : "false");
	return def;
}

const char *shop_conf_app(const struct shop_conf *c, const char *app,
    const char *fallback_section, const char *key, const char *def)
{
	char full[160];
	const char *v;
	int n;

	if (app) {
		n = snprintf(full, sizeof(full), "%s.%s", app, key);
		if (n > 0 && (size_t)n < sizeof(full)) {
			v = shop_conf_get(c, full, NULL);
			if (v)
				return v;
		}
	}
	if (fallback_section) {
		n = snprintf(full, sizeof(full), "%s.%s", fallback_section, key);
		if (n > 0 && (size_t)n < sizeof(full)) {
			v = shop_conf_get(c, full, NULL);
			if (v)
				return v;
		}
	}
	return def;
}
