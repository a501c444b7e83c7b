#!/usr/bin/env python3
"""Keeps docs/openapi.yaml and the code in step; prints TAP.

Fails when
  (a) a route the code serves is missing from the document:
      - every {"METHOD", "/pattern", handler, SHOP_ACCESS_X, ...} line of
        fcgi-apps/*/routes.c (identity also serves /.well-known/jwks.json);
      - every exact nginx location (`location = /path`) of nginx/*.conf* that
        is not internal, not /_..., not under /api/v1 (the apps own those),
        not a bare `return 3xx/4xx/5xx` and not in a server that listens on
        a unix socket only (nginx's own status for the apps, no client
        reaches it);
      - every prefix location outside /api (`location /docs/ui/`, not `/`):
        the document must have an operation under it (`/docs/ui/{file}`),
        and when the location only serves names its `if ($uri !~ "...")`
        allows, every value the document lists for the path parameter must
        be one of them;
  (b) the document has a path+method that nothing serves (no routes.c line,
      no exact, prefix or regex nginx location);
and also when the document does not parse, a $ref does not resolve, an
example does not match its schema, x-access disagrees with the route's
SHOP_ACCESS_*, the body and query fields disagree with the route's field
tables (bounds may use #defines of lib/*.h, of routes.c or of the project
headers it includes; a SHOP_ROUTE_RAW_BODY route must be documented with
x-raw-body: true and a body schema), or the document breaks the house rules
(see lint()).

The /docs page (docs/index.html, Swagger UI) must load only files of its
own origin that nginx serves, read /docs/openapi.yaml and name no online
validator.

Standard library only. When PyYAML or openapi-spec-validator are installed
they are used as extra checks, and skipped otherwise. The real OpenAPI
validators (npm packages) and js-yaml, the YAML parser of Swagger UI, run in
tests/docs/validate_openapi.py, which imports this file.

Usage: check_openapi.py [--root DIR]   (default: $top_srcdir, else ../..)
"""

import glob
import json
import os
import re
import shutil
import sys
import tempfile

# ---------------------------------------------------------------- YAML subset


class YamlError(Exception):
    pass


_INT = re.compile(r'-?(0|[1-9][0-9]*)$')
_FLOAT = re.compile(r'-?(0|[1-9][0-9]*)\.[0-9]+([eE][-+]?[0-9]+)?$')
# Plain scalars that other YAML parsers read differently: refuse, ask to quote.
_AMBIGUOUS = re.compile(
    r'(yes|no|on|off|[-+]?\.inf|\.nan)$|[-+]?\.[0-9]+$|'
    r'[-+]?[0-9][0-9_]*(\.[0-9_]*)?([eE][-+]?[0-9]+)?$|'  # 012, 1_0, 1e3, +1
    r'0[xob][0-9a-fA-F_]+$|'
    r'[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}([Tt ].*)?$|'        # timestamps
    r'[0-9]+(:[0-5]?[0-9])+(\.[0-9]*)?$',                 # sexagesimal
    re.IGNORECASE)
_KEY = re.compile(r'''("(?:[^"\\]|\\.)*"|'(?:[^']|'')*'|[^\s#'"\[\]{},&*!|>%@`-][^#]*?|-[^\s#][^#]*?)\s*:(?=\s|$)''')


def _plain(s, where):
    """Resolves a plain scalar the way YAML 1.1 core schema (PyYAML) does,
    refusing the forms where parsers disagree."""
    if s in ('', '~', 'null', 'Null', 'NULL'):
        return None
    if s in ('true', 'True', 'TRUE'):
        return True
    if s in ('false', 'False', 'FALSE'):
        return False
    if _INT.match(s):
        return int(s)
    if _FLOAT.match(s):
        return float(s)
    if _AMBIGUOUS.match(s):
        raise YamlError('%s: ambiguous plain scalar %r: quote it' % (where, s))
    if s[0] in '&*!|>%@`"\'':
        raise YamlError('%s: unsupported scalar start in %r' % (where, s))
    return s


def _dq(s, i, where):
    """Parses a double-quoted scalar starting at s[i] == '"'. Returns (value, next index)."""
    out = []
    i += 1
    esc = {'"': '"', '\\': '\\', '/': '/', 'n': '\n', 't': '\t', 'r': '\r',
           'b': '\b', 'f': '\f', '0': '\0', ' ': ' ', 'e': '\x1b'}
    while i < len(s):
        c = s[i]
        if c == '"':
            return ''.join(out), i + 1
        if c == '\\':
            i += 1
            if i >= len(s):
                break
            c = s[i]
            if c in esc:
                out.append(esc[c])
            elif c in 'xuU':
                n = {'x': 2, 'u': 4, 'U': 8}[c]
                h = s[i + 1:i + 1 + n]
                if len(h) != n or not re.match(r'[0-9a-fA-F]+$', h):
                    raise YamlError('%s: bad \\%s escape' % (where, c))
                out.append(chr(int(h, 16)))
                i += n
            else:
                raise YamlError('%s: unsupported escape \\%s' % (where, c))
        else:
            out.append(c)
        i += 1
    raise YamlError('%s: unterminated double-quoted scalar (multi-line quoted scalars are not supported)' % where)


def _sq(s, i, where):
    out = []
    i += 1
    while i < len(s):
        c = s[i]
        if c == "'":
            if s[i + 1:i + 2] == "'":
                out.append("'")
                i += 2
                continue
            return ''.join(out), i + 1
        out.append(c)
        i += 1
    raise YamlError('%s: unterminated single-quoted scalar' % where)


def _strip_comment(s):
    """Drops a ' #' comment outside quotes (s has no leading blanks)."""
    q = None
    i = 0
    while i < len(s):
        c = s[i]
        if q:
            if c == '\\' and q == '"':
                i += 2
                continue
            if c == q:
                q = None
        elif c in '"\'' and (i == 0 or s[i - 1] in ' \t[{,:'):
            q = c
        elif c == '#' and (i == 0 or s[i - 1] in ' \t'):
            return s[:i].rstrip()
        i += 1
    return s.rstrip()


class _Flow:
    """Flow collections ([a, b], {k: v}) and JSON, possibly over several lines."""

    def __init__(self, text, where):
        self.s = text
        self.i = 0
        self.where = where

    def ws(self):
        while self.i < len(self.s) and self.s[self.i] in ' \t\n':
            self.i += 1

    def value(self):
        self.ws()
        s = self.s
        if self.i >= len(s):
            raise YamlError('%s: flow value expected' % self.where)
        c = s[self.i]
        if c == '[':
            self.i += 1
            out = []
            self.ws()
            if s[self.i:self.i + 1] == ']':
                self.i += 1
                return out
            while True:
                out.append(self.value())
                self.ws()
                c = s[self.i:self.i + 1]
                self.i += 1
                if c == ']':
                    return out
                if c != ',':
                    raise YamlError('%s: expected , or ] in flow sequence' % self.where)
                self.ws()
                if s[self.i:self.i + 1] == ']':
                    self.i += 1
                    return out
        if c == '{':
            self.i += 1
            out = {}
            self.ws()
            if s[self.i:self.i + 1] == '}':
                self.i += 1
                return out
            while True:
                k = self.key()
                if not isinstance(k, str):
                    raise YamlError('%s: flow mapping keys must be strings' % self.where)
                if k in out:
                    raise YamlError('%s: duplicate key %r' % (self.where, k))
                self.ws()
                if s[self.i:self.i + 1] != ':':
                    raise YamlError('%s: expected : after key %r' % (self.where, k))
                self.i += 1
                out[k] = self.value()
                self.ws()
                c = s[self.i:self.i + 1]
                self.i += 1
                if c == '}':
                    return out
                if c != ',':
                    raise YamlError('%s: expected , or } in flow mapping' % self.where)
                self.ws()
                if s[self.i:self.i + 1] == '}':
                    self.i += 1
                    return out
        if c == '"':
            v, self.i = _dq(s, self.i, self.where)
            return v
        if c == "'":
            v, self.i = _sq(s, self.i, self.where)
            return v
        j = self.i
        while j < len(s) and s[j] not in ',[]{}\n' and not (s[j] == ':' and (j + 1 >= len(s) or s[j + 1] in ' \n,[]{}')):
            j += 1
        v = s[self.i:j].strip()
        self.i = j
        if not v:
            raise YamlError('%s: empty flow value' % self.where)
        return _plain(v, self.where)

    def key(self):
        self.ws()
        s = self.s
        c = s[self.i:self.i + 1]
        if c == '"':
            v, self.i = _dq(s, self.i, self.where)
            return v
        if c == "'":
            v, self.i = _sq(s, self.i, self.where)
            return v
        j = self.i
        while j < len(s) and s[j] not in ',[]{}\n' and not (s[j] == ':' and (j + 1 >= len(s) or s[j + 1] in ' \n,[]{}')):
            j += 1
        v = s[self.i:j].strip()
        self.i = j
        r = _plain(v, self.where)
        return r if isinstance(r, str) else v


class _Block:
    def __init__(self, text):
        if '\t' in ''.join(re.findall(r'^[ \t]*', text, re.M)):
            raise YamlError('tabs in indentation')
        self.lines = text.split('\n')
        self.n = 0  # current line index

    def where(self, n=None):
        return 'line %d' % ((self.n if n is None else n) + 1)

    def next_sig(self):
        """Index of the next line that is not blank or a comment, or None."""
        n = self.n
        while n < len(self.lines):
            t = self.lines[n].strip()
            if t and not t.startswith('#'):
                return n
            n += 1
        return None

    @staticmethod
    def indent(line):
        return len(line) - len(line.lstrip(' '))

    def document(self):
        n = self.next_sig()
        if n is None:
            return None
        if self.lines[n].strip() == '---':
            self.n = n + 1
            n = self.next_sig()
        if self.indent(self.lines[n]) != 0:
            raise YamlError('%s: the document must start at column 0' % self.where(n))
        v = self.node(0)
        n = self.next_sig()
        if n is not None:
            raise YamlError('%s: unexpected content (bad indentation?)' % self.where(n))
        return v

    def node(self, ind):
        n = self.next_sig()
        self.n = n
        body = self.lines[n][ind:]
        if body == '-' or body.startswith('- '):
            return self.seq(ind)
        return self.map(ind)

    def seq(self, ind):
        out = []
        while True:
            n = self.next_sig()
            if n is None or self.indent(self.lines[n]) != ind:
                break
            body = self.lines[n][ind:]
            if not (body == '-' or body.startswith('- ')):
                break
            self.n = n
            rest = body[1:].lstrip(' ')
            if not rest or rest.startswith('#'):
                self.n = n + 1
                m = self.next_sig()
                if m is None or self.indent(self.lines[m]) <= ind:
                    out.append(None)
                else:
                    out.append(self.node(self.indent(self.lines[m])))
                continue
            col = len(self.lines[n]) - len(rest)
            if rest == '-' or rest.startswith('- '):
                # "- - x": a nested sequence on the same line
                self.lines[n] = ' ' * col + rest
                out.append(self.node(col))
                continue
            if rest[0] in '[{' or not _KEY.match(rest):
                out.append(self.inline(rest, ind, n))
                continue
            # "- key: value": a mapping whose first key sits on the dash line
            self.lines[n] = ' ' * col + rest
            out.append(self.map(col))
        return out

    def map(self, ind):
        out = {}
        while True:
            n = self.next_sig()
            if n is None:
                break
            line = self.lines[n]
            li = self.indent(line)
            if li < ind:
                break
            if li > ind:
                raise YamlError('%s: unexpected indentation' % self.where(n))
            body = line[ind:]
            if body == '-' or body.startswith('- '):
                break
            m = _KEY.match(body)
            if not m:
                raise YamlError('%s: expected "key: value", got %r' % (self.where(n), body.strip()))
            raw = m.group(1)
            if raw[0] == '"':
                key = _dq(raw, 0, self.where(n))[0]
            elif raw[0] == "'":
                key = _sq(raw, 0, self.where(n))[0]
            else:
                key = raw.rstrip()
                if not isinstance(_plain(key, self.where(n)), str):
                    raise YamlError('%s: key %r is not a string for other parsers: quote it' % (self.where(n), key))
            if key in out:
                raise YamlError('%s: duplicate key %r' % (self.where(n), key))
            rest = body[m.end():].lstrip(' ')
            self.n = n
            if not rest or rest.startswith('#'):
                self.n = n + 1
                m2 = self.next_sig()
                if m2 is not None and self.indent(self.lines[m2]) > ind:
                    out[key] = self.node(self.indent(self.lines[m2]))
                elif m2 is not None and self.indent(self.lines[m2]) == ind and \
                        (self.lines[m2][ind:] == '-' or self.lines[m2][ind:].startswith('- ')):
                    out[key] = self.seq(ind)
                else:
                    out[key] = None
                continue
            out[key] = self.inline(rest, ind, n)
        return out

    def inline(self, rest, ind, n):
        """A value written after "key: " or "- " on line n (indentation ind)."""
        where = self.where(n)
        if rest[0] in '|>':
            return self.block_scalar(rest, ind, n)
        if rest[0] in '[{':
            text = _strip_comment(rest)
            m = n
            while True:
                try:
                    f = _Flow(text, where)
                    v = f.value()
                    f.ws()
                    if f.i != len(f.s):
                        raise YamlError('%s: trailing characters after flow collection' % where)
                    self.n = m + 1
                    return v
                except YamlError:
                    m += 1
                    if m >= len(self.lines) or (self.lines[m].strip() and self.indent(self.lines[m]) <= ind):
                        raise
                    text += '\n' + _strip_comment(self.lines[m].strip())
        if rest[0] == '"':
            v, i = _dq(rest, 0, where)
        elif rest[0] == "'":
            v, i = _sq(rest, 0, where)
        else:
            plain = re.split(r'\s#', rest, 1)[0].rstrip()
            if ': ' in plain or plain.endswith(':'):
                raise YamlError('%s: ": " inside a plain scalar: quote it' % where)
            v, i = _plain(plain, where), len(rest)
        tail = rest[i:].strip()
        if tail and not tail.startswith('#'):
            raise YamlError('%s: trailing characters %r after scalar' % (where, tail))
        self.n = n + 1
        m = self.next_sig()
        if m is not None and self.indent(self.lines[m]) > ind:
            raise YamlError('%s: multi-line plain scalars are not supported: use | or >' % self.where(m))
        return v

    def block_scalar(self, rest, ind, n):
        head = _strip_comment(rest)
        if not re.match(r'[|>][-+]?$', head):
            raise YamlError('%s: unsupported block scalar header %r' % (self.where(n), head))
        style, chomp = head[0], head[1:2]
        m = n + 1
        raw = []
        while m < len(self.lines):
            line = self.lines[m]
            if line.strip() and self.indent(line) <= ind:
                break
            raw.append(line)
            m += 1
        self.n = m
        bi = None
        for line in raw:
            if line.strip():
                bi = self.indent(line)
                break
        if bi is None:
            return '' if chomp != '+' else '\n' * len(raw)
        lines = []
        for line in raw:
            if line.strip():
                if self.indent(line) < bi:
                    raise YamlError('%s: block scalar line less indented than its first line' % self.where(n))
                lines.append(line[bi:])
            else:
                lines.append(line[bi:] if len(line) > bi else '')
        trailing = 0
        while lines and lines[-1] == '':
            lines.pop()
            trailing += 1
        if style == '|':
            text = '\n'.join(lines)
        else:
            parts = []
            prev = None
            empty = 0
            for line in lines:
                if line == '':
                    empty += 1
                    continue
                kind = 'more' if line[0] in ' \t' else 'normal'
                if prev is None:
                    parts.append('\n' * empty)
                elif prev == 'normal' and kind == 'normal':
                    parts.append(' ' if empty == 0 else '\n' * empty)
                else:
                    parts.append('\n' + '\n' * empty)
                parts.append(line)
                prev = kind
                empty = 0
            text = ''.join(parts)
        if chomp == '-':
            return text
        if chomp == '+':
            return text + '\n' * (1 + trailing)
        return text + '\n'


def parse_yaml(text):
    """Parses the YAML subset described at the top of docs/openapi.yaml.
    Raises YamlError naming the line on anything outside the subset."""
    return _Block(text.replace('\r\n', '\n')).document()


# ------------------------------------------------------------------ the code

METHODS = ('GET', 'POST', 'PUT', 'DELETE', 'PATCH')
ACCESS = ('PUBLIC', 'USER', 'SELLER', 'ADMIN', 'LOOPBACK')
_ROUTE = re.compile(r'\{\s*"(GET|POST|PUT|DELETE|PATCH|HEAD)"\s*,\s*"(/[^"]*)"\s*,\s*&?\s*[A-Za-z_]\w*\s*'
                    r'(?:,\s*(SHOP_ACCESS_[A-Z]+)(?:\s*,\s*(\w+)\s*,\s*(\w+)(?:\s*,\s*([\w\s|]*\w))?)?)?')


def strip_c_comments(src):
    out = []
    i = 0
    while i < len(src):
        if src.startswith('/*', i):
            j = src.find('*/', i + 2)
            i = len(src) if j < 0 else j + 2
            out.append(' ')
        elif src.startswith('//', i):
            j = src.find('\n', i)
            i = len(src) if j < 0 else j
        elif src[i] == '"':
            j = i + 1
            while j < len(src) and src[j] != '"':
                j += 2 if src[j] == '\\' else 1
            out.append(src[i:j + 1])
            i = j + 1
        else:
            out.append(src[i])
            i += 1
    return ''.join(out)


def parse_routes_c(src, name, consts=None):
    """({(METHOD, pattern): (where, ACCESS or None)}, duplicates,
    {(METHOD, pattern): (body fields or None, query fields or None)}) from
    one routes.c text. Field lists are None when the route declares none
    (NULL) and 'unknown' when the table could not be read; the body is 'raw'
    when the route's flags say SHOP_ROUTE_RAW_BODY (lib/router.h: the layer
    hands the bytes to the handler unparsed and unvalidated)."""
    routes = {}
    inputs = {}
    dups = []
    src = strip_c_comments(src)
    tables = parse_field_tables(src, consts or {})
    for m in _ROUTE.finditer(src):
        line = src.count('\n', 0, m.start()) + 1
        key = (m.group(1), m.group(2))
        acc = m.group(3)[len('SHOP_ACCESS_'):] if m.group(3) else None
        if key in routes:
            dups.append('%s %s (%s:%d)' % (key[0], key[1], name, line))
        routes[key] = ('%s:%d' % (name, line), acc)
        if m.group(4):
            inputs[key] = tuple(None if t == 'NULL' else tables.get(t, 'unknown') for t in (m.group(4), m.group(5)))
            if m.group(6) and 'SHOP_ROUTE_RAW_BODY' in m.group(6):
                inputs[key] = ('raw', inputs[key][1])
    return routes, dups, inputs


# The field tables (lib/validate.h: struct shop_field), read from the C
# source: positional {"name", SHOP_T_X, flags, min, max, format, fields} or
# designated {.name = ..., .type = ...} initializers, with the file's simple
# #define macros expanded and integer constant expressions evaluated.

_FIELD_ORDER = ('name', 'type', 'flags', 'min', 'max', 'format', 'fields')


def c_defines(src):
    """{name: (params or None, body)} of the #define lines of a C text."""
    out = {}
    src = src.replace('\\\n', ' ')
    for m in re.finditer(r'^[ \t]*#[ \t]*define[ \t]+(\w+)(\(([^)]*)\))?[ \t]*(.*)$', src, re.M):
        params = [p.strip() for p in m.group(3).split(',')] if m.group(2) else None
        out[m.group(1)] = (params, strip_c_comments(m.group(4)).strip())
    return out


def _expand(text, macros, depth=0):
    if depth > 8:
        return text
    out = []
    i = 0
    for m in re.finditer(r'\b([A-Za-z_]\w*)\b', text):
        name = m.group(1)
        if name not in macros or m.start() < i:
            continue
        params, body = macros[name]
        out.append(text[i:m.start()])
        if params is None:
            out.append(body)
            i = m.end()
            continue
        j = m.end()
        while j < len(text) and text[j] in ' \t':
            j += 1
        if j >= len(text) or text[j] != '(':
            out.append(name)
            i = m.end()
            continue
        depth_p, k, args, start = 0, j, [], j + 1
        while k < len(text):
            c = text[k]
            if c == '(':
                depth_p += 1
            elif c == ')':
                depth_p -= 1
                if depth_p == 0:
                    args.append(text[start:k].strip())
                    break
            elif c == ',' and depth_p == 1:
                args.append(text[start:k].strip())
                start = k + 1
            k += 1
        rep = body
        for p, a in zip(params, args):
            rep = re.sub(r'\b%s\b' % re.escape(p), a, rep)
        out.append(rep)
        i = k + 1
    out.append(text[i:])
    res = ''.join(out)
    return res if res == text else _expand(res, macros, depth + 1)


def c_int(expr, consts):
    """Evaluates an integer constant expression (names from consts), or None."""
    e = expr
    for _ in range(8):
        e2 = re.sub(r'\b([A-Za-z_]\w*)\b', lambda m: '(%s)' % consts[m.group(1)][1]
                    if m.group(1) in consts and consts[m.group(1)][0] is None else m.group(1), e)
        if e2 == e:
            break
        e = e2
    e = re.sub(r'\((?:long long|long|int|unsigned|int64_t|size_t)\)', '', e)
    e = re.sub(r'\b(0[xX][0-9a-fA-F]+|[0-9]+)(?:[uU]?[lL]{0,2}|[lL]{1,2}[uU]?)\b', r'\1', e)
    if not re.match(r'^[\s0-9xXa-fA-F+\-*/()<>|&]+$', e):
        return None
    try:
        return int(eval(e.replace('/', '//'), {'__builtins__': {}}, {}))
    except Exception:
        return None


def _split_top(s, sep=','):
    parts, depth, cur = [], 0, []
    for c in s:
        if c in '({[':
            depth += 1
        elif c in ')}]':
            depth -= 1
        if c == sep and depth == 0:
            parts.append(''.join(cur).strip())
            cur = []
        else:
            cur.append(c)
    if ''.join(cur).strip():
        parts.append(''.join(cur).strip())
    return parts


def parse_field_tables(src, consts):
    """{table name: [field dict]} for every struct shop_field array of src."""
    macros = dict(consts)
    macros.update(c_defines(src))
    tables = {}
    for m in re.finditer(r'struct\s+shop_field\s+(\w+)\s*\[\s*\]\s*=\s*\{', src):
        depth, j = 1, m.end()
        while j < len(src) and depth:
            depth += {'{': 1, '}': -1}.get(src[j], 0)
            j += 1
        body = _expand(src[m.end():j - 1], {k: v for k, v in macros.items() if v[0] is not None or v[1].startswith('{')})
        fields = []
        for entry in _split_top(body):
            entry = entry.strip()
            if not (entry.startswith('{') and entry.endswith('}')):
                continue
            items = _split_top(entry[1:-1])
            f = {}
            for pos, it in enumerate(items):
                dm = re.match(r'\.(\w+)\s*=\s*(.*)$', it, re.S)
                if dm:
                    f[dm.group(1)] = dm.group(2).strip()
                elif pos < len(_FIELD_ORDER):
                    f[_FIELD_ORDER[pos]] = it
            name = f.get('name', 'NULL')
            if name in ('NULL', '0', ''):
                break
            nm = re.match(r'^"([^"]*)"$', name)
            fields.append({
                'name': nm.group(1) if nm else name,
                'type': f.get('type', 'SHOP_T_STRING').replace('SHOP_T_', ''),
                'flags': set(re.findall(r'SHOP_F_(\w+)', f.get('flags', ''))),
                'min': c_int(f.get('min', '0'), macros),
                'max': c_int(f.get('max', '0'), macros),
                'nested': f.get('fields', 'NULL') not in ('NULL', '0'),
            })
        tables[m.group(1)] = fields
    return tables


def lib_constants(root):
    consts = {}
    for h in sorted(glob.glob(os.path.join(root, 'lib', '*.h'))):
        with open(h, encoding='utf-8', errors='replace') as f:
            consts.update(c_defines(f.read()))
    return consts


def included_constants(root, src, seen=None):
    """The #define lines of the project headers a C text includes
    (#include "fcgi-apps/cart/cart.h", relative to root), and of the headers
    those include in turn: an app's bounds may live in its own header."""
    seen = set() if seen is None else seen
    consts = {}
    for inc in re.findall(r'^[ \t]*#[ \t]*include[ \t]+"([^"]+)"', src, re.M):
        path = os.path.normpath(os.path.join(root, inc))
        if path in seen or not path.startswith(os.path.abspath(root) + os.sep) or not os.path.isfile(path):
            continue
        seen.add(path)
        with open(path, encoding='utf-8', errors='replace') as f:
            text = f.read()
        consts.update(included_constants(root, text, seen))
        consts.update(c_defines(text))
    return consts


def code_routes(root, inputs=None):
    """Routes of fcgi-apps/*/routes.c; fills inputs (when a dict) with each
    route's (body fields, query fields)."""
    routes, dups, files = {}, [], []
    lib = lib_constants(root)
    for path in sorted(glob.glob(os.path.join(root, 'fcgi-apps', '*', 'routes.c'))):
        rel = os.path.relpath(path, root)
        with open(path, encoding='utf-8', errors='replace') as f:
            src = f.read()
        consts = dict(lib)
        consts.update(included_constants(root, src))
        r, d, inp = parse_routes_c(src, rel, consts)
        files.append((rel, len(r)))
        dups += d
        if inputs is not None:
            inputs.update(inp)
        for k, v in r.items():
            if k in routes:
                dups.append('%s %s (%s and %s)' % (k[0], k[1], routes[k][0], v[0]))
            routes[k] = v
    return routes, dups, files


def _strip_nginx_comments(src):
    """nginx comments run from # to the end of the line, outside quotes."""
    return re.sub(r'''("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')|#[^\n]*''', lambda m: m.group(1) or '', src)


def _block_end(src, j):
    """The index just past the } that closes the block whose body starts at j."""
    depth = 1
    while j < len(src) and depth:
        if src[j] == '{':
            depth += 1
        elif src[j] == '}':
            depth -= 1
        j += 1
    return j


def _drop_private_servers(src):
    """Removes the server blocks that listen on unix sockets only: no client
    reaches them (nginx's own status for the apps), so they are no routes."""
    out, i = [], 0
    for m in re.finditer(r'(?<![\w$])server\s*\{', src):
        if m.start() < i:
            continue
        j = _block_end(src, m.end())
        listens = re.findall(r'(?:^|[;\s])listen\s+([^;\s]+)', _top_level(src[m.end():j - 1]))
        if listens and all(x.startswith('unix:') for x in listens):
            out.append(src[i:m.start()])
            i = j
    out.append(src[i:])
    return ''.join(out)


def _nginx_blocks(src):
    """Yields (modifier, path, body) for every location block of an nginx
    config, leaving out the servers no client reaches."""
    src = _drop_private_servers(_strip_nginx_comments(src))
    for m in re.finditer(r'(?:^|[;{}\s])location\s+(=|\^~|~\*?|)\s*("[^"]*"|\'[^\']*\'|[^\s{]+)\s*\{', src):
        j = _block_end(src, m.end())
        path = m.group(2).strip('"\'')
        yield m.group(1), path, src[m.end():j - 1]


def _top_level(body):
    """The directives of a block body outside nested blocks."""
    out, depth = [], 0
    for ch in body:
        if ch == '{':
            depth += 1
        elif ch == '}':
            depth -= 1
        elif depth == 0:
            out.append(ch)
    return ''.join(out)


def parse_nginx(src):
    """(exact {path: methods}, prefixes [path], regexes [re]) of one config text."""
    exact, prefixes, regexes = {}, [], []
    for mod, path, body in _nginx_blocks(src):
        top = _top_level(body)
        if re.search(r'(^|[;\s])internal\s*;', top) or path.startswith('@'):
            continue
        directives = [d.strip() for d in top.split(';') if d.strip()]
        if directives and all(re.match(r'(return\s+[345][0-9][0-9]\b|deny\s|allow\s|access_log\s|add_header\s|default_type\s)', d) for d in directives) \
                and any(d.startswith('return') for d in directives):
            continue  # a location that only redirects or refuses is not a route
        methods = {'GET'}
        le = re.search(r'limit_except\s+([A-Z ]+)\{', body)
        if le:
            methods = set(le.group(1).split()) - {'HEAD'}
        if mod == '=':
            exact.setdefault(path, set()).update(methods)
        elif mod in ('', '^~'):
            prefixes.append(path)
        else:
            try:
                regexes.append(re.compile(path, re.I if mod == '~*' else 0))
            except re.error:
                pass
    return exact, prefixes, regexes


def nginx_routes(root):
    exact, prefixes, regexes, files = {}, [], [], []
    for path in sorted(glob.glob(os.path.join(root, 'nginx', '**', '*.conf*'), recursive=True)):
        if not os.path.isfile(path):
            continue
        with open(path, encoding='utf-8', errors='replace') as f:
            e, p, r = parse_nginx(f.read())
        files.append(os.path.relpath(path, root))
        for k, v in e.items():
            exact.setdefault(k, set()).update(v)
        prefixes += p
        regexes += r
    return exact, prefixes, regexes, files


def nginx_route_set(exact):
    """The exact locations that are routes the document must list."""
    out = {}
    for path, methods in exact.items():
        if path.startswith('/_') or path.startswith('/api/'):
            continue
        for m in methods:
            out[(m, path)] = 'nginx'
    return out


def served_by_nginx(method, path, exact, prefixes, regexes):
    if path in exact:
        return method in exact[path]
    if method != 'GET':
        return False
    for p in prefixes:
        if p not in ('/', '/api/', '/api/v1/', '/api/v1') and path.startswith(p):
            return True
    return any(r.search(path) for r in regexes)


_URI_FILTER = re.compile(r'''(?:^|[;\s])if\s*\(\s*\$uri\s*!~\s*("(?:[^"\\]|\\.)*"|'[^']*'|[^\s)]+)\s*\)\s*\{\s*return\s+404\s*;\s*\}''')


def nginx_prefix_locations(root):
    """{prefix: [regex, ...]} of the prefix locations outside /api/ (but
    `/`) of nginx/*.conf*, each with the patterns its `if ($uri !~ "...")
    { return 404; }` lines allow (empty: any name under it)."""
    out = {}
    for path in sorted(glob.glob(os.path.join(root, 'nginx', '**', '*.conf*'), recursive=True)):
        if not os.path.isfile(path):
            continue
        with open(path, encoding='utf-8', errors='replace') as f:
            src = f.read()
        for mod, loc, body in _nginx_blocks(src):
            if mod not in ('', '^~') or loc == '/' or loc.startswith('/api/') or loc.startswith('/_') \
                    or loc.startswith('@'):
                continue  # (a named location: only nginx itself goes there)
            pats = [m.group(1).strip('"\'') for m in _URI_FILTER.finditer(body)]
            out.setdefault(loc, []).extend(pats)
    return out


def check_prefixes(prefix_locs, ops, doc=None):
    """For each prefix location: (prefix, [errors]). The document must have a
    GET under it; where the location allows only some names, the documented
    path parameter must list them in an enum, each one a name nginx serves."""
    out = []
    for loc in sorted(prefix_locs):
        errs = []
        under = sorted(k for k in ops if k[0] == 'GET' and k[1].startswith(loc) and k[1] != loc)
        if not under:
            errs.append('nginx serves GET %s... ; docs/openapi.yaml has no operation under it '
                        '(document it as a path with a parameter, %s{file})' % (loc, loc))
        pats = []
        for p in prefix_locs[loc]:
            try:
                pats.append(re.compile(p))
            except re.error as e:
                errs.append('%s: cannot read the pattern %r: %s' % (loc, p, e))
        for k in under:
            params = re.findall(r'\{([^}]+)\}', k[1])
            if not pats:
                continue
            enums = {}
            for prm in (ops[k].get('parameters') or []):
                prm = deref(doc, prm) if doc is not None else prm
                if isinstance(prm, dict) and prm.get('in') == 'path':
                    enums[prm.get('name')] = (prm.get('schema') or {}).get('enum')
            if len(params) != 1 or not enums.get(params[0]):
                errs.append('%s %s: nginx serves only some names under %s; list them as the enum of one path parameter'
                            % (k[0], k[1], loc))
                continue
            for v in enums[params[0]]:
                uri = k[1].replace('{%s}' % params[0], str(v))
                if not all(p.search(uri) for p in pats):
                    errs.append('%s %s: %s is listed, but nginx answers 404 for it (%s)' % (
                        k[0], k[1], uri, ' and '.join(p.pattern for p in pats)))
        out.append((loc, errs))
    return out


# --------------------------------------------------------------- the document

def doc_operations(doc):
    ops = {}
    for path, item in (doc.get('paths') or {}).items():
        for m, op in (item or {}).items():
            if m.upper() in METHODS + ('HEAD', 'OPTIONS', 'TRACE') and m == m.lower():
                ops[(m.upper(), path)] = op
    return ops


def resolve_ptr(doc, ref):
    if not isinstance(ref, str) or not ref.startswith('#/'):
        raise KeyError('only local refs are allowed: %r' % (ref,))
    node = doc
    for part in ref[2:].split('/'):
        part = part.replace('~1', '/').replace('~0', '~')
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            raise KeyError(ref)
    return node


def all_refs(node, where='#'):
    if isinstance(node, dict):
        for k, v in node.items():
            if k == '$ref':
                yield where, v
            else:
                yield from all_refs(v, where + '/' + str(k).replace('~', '~0').replace('/', '~1'))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from all_refs(v, '%s/%d' % (where, i))


def deref(doc, node, seen=None):
    seen = seen or set()
    while isinstance(node, dict) and '$ref' in node:
        ref = node['$ref']
        if ref in seen:
            raise KeyError('$ref cycle at %s' % ref)
        seen.add(ref)
        node = resolve_ptr(doc, ref)
    return node


def check_refs(doc):
    errs = []
    for where, ref in all_refs(doc):
        try:
            resolve_ptr(doc, ref)
        except KeyError as e:
            errs.append('%s: unresolved $ref %s' % (where, e))
    return errs


def _is_date_time(s):
    return re.match(r'\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$', s) is not None


def validate(doc, value, schema, where, errs):
    """A small JSON Schema (OpenAPI 3.0 dialect) validator for the keywords this document uses."""
    schema = deref(doc, schema)
    if not isinstance(schema, dict):
        return
    if value is None:
        if schema.get('nullable') or not schema:
            return
        if 'type' in schema or 'properties' in schema or 'enum' in schema:
            errs.append('%s: null but not nullable' % where)
            return
    for sub in schema.get('allOf', []):
        if value is None and schema.get('nullable'):
            break
        validate(doc, value, sub, where, errs)
    if value is None:
        return
    t = schema.get('type')
    ok = {'object': isinstance(value, dict), 'array': isinstance(value, list),
          'string': isinstance(value, str), 'boolean': isinstance(value, bool),
          'integer': isinstance(value, int) and not isinstance(value, bool),
          'number': isinstance(value, (int, float)) and not isinstance(value, bool)}
    if t and not ok.get(t, True):
        errs.append('%s: %r is not of type %s' % (where, value, t))
        return
    if 'enum' in schema and value not in schema['enum']:
        errs.append('%s: %r not in enum %s' % (where, value, schema['enum']))
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if 'minimum' in schema and value < schema['minimum']:
            errs.append('%s: %r below minimum %r' % (where, value, schema['minimum']))
        if 'maximum' in schema and value > schema['maximum']:
            errs.append('%s: %r above maximum %r' % (where, value, schema['maximum']))
    if isinstance(value, str):
        if len(value) < schema.get('minLength', 0):
            errs.append('%s: %r shorter than %d' % (where, value, schema['minLength']))
        if 'maxLength' in schema and len(value) > schema['maxLength']:
            errs.append('%s: %r longer than %d' % (where, value, schema['maxLength']))
        if 'pattern' in schema and not re.search(schema['pattern'], value):
            errs.append('%s: %r does not match %s' % (where, value, schema['pattern']))
        fmt = schema.get('format')
        if fmt == 'date-time' and not _is_date_time(value):
            errs.append('%s: %r is not an RFC 3339 date-time' % (where, value))
        if fmt == 'email' and not re.match(r'[^@\s]+@[^@\s]+\.[^@\s]+$', value):
            errs.append('%s: %r is not an email address' % (where, value))
        if fmt == 'uri' and not re.match(r'[a-z][a-z0-9+.-]*:\S+$', value):
            errs.append('%s: %r is not a URI' % (where, value))
    if isinstance(value, list):
        if len(value) < schema.get('minItems', 0):
            errs.append('%s: fewer than %d items' % (where, schema['minItems']))
        if 'maxItems' in schema and len(value) > schema['maxItems']:
            errs.append('%s: more than %d items' % (where, schema['maxItems']))
        if schema.get('uniqueItems') and len({json.dumps(v, sort_keys=True) for v in value}) != len(value):
            errs.append('%s: items are not unique' % where)
        if 'items' in schema:
            for i, v in enumerate(value):
                validate(doc, v, schema['items'], '%s[%d]' % (where, i), errs)
    if isinstance(value, dict):
        props = schema.get('properties', {})
        for r in schema.get('required', []):
            if r not in value:
                errs.append('%s: required property %r missing' % (where, r))
        if len(value) < schema.get('minProperties', 0):
            errs.append('%s: fewer than %d properties' % (where, schema['minProperties']))
        for k, v in value.items():
            if k in props:
                validate(doc, v, props[k], '%s.%s' % (where, k), errs)
            elif schema.get('additionalProperties') is False:
                errs.append('%s: property %r not allowed' % (where, k))
            elif isinstance(schema.get('additionalProperties'), dict):
                validate(doc, v, schema['additionalProperties'], '%s.%s' % (where, k), errs)


def check_examples(doc):
    """Every example (media types, parameters, headers, schemas) matches its schema."""
    errs = []
    n = [0]

    def media(where, mt):
        if not isinstance(mt, dict) or 'schema' not in mt:
            return
        if 'example' in mt:
            n[0] += 1
            validate(doc, mt['example'], mt['schema'], where + '.example', errs)
        for name, ex in (mt.get('examples') or {}).items():
            ex = deref(doc, ex)
            n[0] += 1
            validate(doc, ex.get('value'), mt['schema'], '%s.examples.%s' % (where, name), errs)

    def walk_schema(where, s):
        if isinstance(s, dict):
            if 'example' in s and '$ref' not in s:
                n[0] += 1
                validate(doc, s['example'], s, where + '.example', errs)
            for k, v in s.items():
                if k in ('properties',):
                    for pk, pv in v.items():
                        walk_schema('%s.%s' % (where, pk), pv)
                elif k in ('items', 'additionalProperties'):
                    walk_schema(where + '[]', v)
                elif k in ('allOf', 'oneOf', 'anyOf'):
                    for i, sub in enumerate(v):
                        walk_schema('%s.%s[%d]' % (where, k, i), sub)

    comps = doc.get('components') or {}
    for name, s in (comps.get('schemas') or {}).items():
        walk_schema('schemas.' + name, s)
    for kind in ('parameters', 'headers'):
        for name, p in (comps.get(kind) or {}).items():
            if 'example' in p and 'schema' in p:
                n[0] += 1
                validate(doc, p['example'], p['schema'], '%s.%s.example' % (kind, name), errs)
    for name, r in (comps.get('responses') or {}).items():
        for ct, mt in (r.get('content') or {}).items():
            media('responses.%s.%s' % (name, ct), mt)
    for (m, path), op in doc_operations(doc).items():
        w = '%s %s' % (m, path)
        for p in op.get('parameters', []):
            p = deref(doc, p)
            if 'example' in p and 'schema' in p:
                n[0] += 1
                validate(doc, p['example'], p['schema'], '%s param %s.example' % (w, p.get('name')), errs)
        rb = deref(doc, op.get('requestBody') or {})
        for ct, mt in (rb.get('content') or {}).items():
            media(w + ' requestBody', mt)
        for code, r in (op.get('responses') or {}).items():
            if '$ref' in r:
                continue
            for ct, mt in (r.get('content') or {}).items():
                media('%s %s' % (w, code), mt)
            for hn, h in (r.get('headers') or {}).items():
                if 'example' in h and 'schema' in h:
                    n[0] += 1
                    validate(doc, h['example'], h['schema'], '%s %s header %s' % (w, code, hn), errs)
    return errs, n[0]


def error_codes_in_examples(doc):
    codes = set()

    def walk(node):
        if isinstance(node, dict):
            if node.get('status') == 'ERROR' and isinstance(node.get('errors'), list):
                for e in node['errors']:
                    if isinstance(e, dict) and isinstance(e.get('code'), str):
                        codes.add(e['code'])
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)
    walk(doc)
    return codes


def lint(doc):
    """The house rules of this document."""
    errs = []
    if doc.get('openapi') != '3.0.3':
        errs.append('openapi must be 3.0.3')
    servers = [s.get('url') for s in doc.get('servers') or []]
    if 'http://127.0.0.1:8080' not in servers:
        errs.append('servers must list http://127.0.0.1:8080')
    tags = {t.get('name') for t in doc.get('tags') or []}
    schemes = (doc.get('components') or {}).get('securitySchemes') or {}
    b = schemes.get('bearerAuth') or {}
    if b.get('type') != 'http' or b.get('scheme') != 'bearer' or 'ES256' not in (b.get('description') or ''):
        errs.append('components.securitySchemes.bearerAuth must be http bearer, described as ES256')
    opids = {}
    for path in (doc.get('paths') or {}):
        if not path.startswith('/'):
            errs.append('path %r must start with /' % path)
        if path.startswith('/api/') and not path.startswith('/api/v1/'):
            errs.append('path %r: API paths are written in full, /api/v1/...' % path)
    for (m, path), op in sorted(doc_operations(doc).items()):
        w = '%s %s' % (m, path)
        api = path.startswith('/api/v1/') or path.startswith('/.well-known/')
        oid = op.get('operationId')
        if not oid:
            errs.append('%s: no operationId' % w)
        elif oid in opids:
            errs.append('%s: operationId %s already used by %s' % (w, oid, opids[oid]))
        else:
            opids[oid] = w
        if not op.get('summary'):
            errs.append('%s: no summary' % w)
        if not op.get('tags') or any(t not in tags for t in op['tags']):
            errs.append('%s: tags must be declared at the top: %s' % (w, op.get('tags')))
        acc = op.get('x-access')
        if acc not in ACCESS:
            errs.append('%s: x-access must be one of %s' % (w, ', '.join(ACCESS)))
        sec = op.get('security')
        resp = op.get('responses') or {}
        codes = set(resp)
        if any(not isinstance(c, str) for c in codes):
            errs.append('%s: response codes must be strings (quote them)' % w)
        if not any(str(c).startswith('2') for c in codes):
            errs.append('%s: no 2xx response' % w)
        if acc in ('USER', 'SELLER', 'ADMIN'):
            if not sec or {} in sec or not any('bearerAuth' in s for s in sec):
                errs.append('%s: x-access %s needs security: [bearerAuth: []]' % (w, acc))
            if '401' not in codes:
                errs.append('%s: a protected operation answers 401' % w)
            if acc in ('SELLER', 'ADMIN') and '403' not in codes:
                errs.append('%s: x-access %s answers 403' % (w, acc))
        elif acc in ('PUBLIC', 'LOOPBACK') and sec and {} not in sec:
            errs.append('%s: a %s operation must not require a token' % (w, acc))
        if acc == 'LOOPBACK':
            if path.startswith('/api/') or path.startswith('/.well-known/'):
                errs.append('%s: LOOPBACK is for nginx-only operations outside the API' % w)
            if '403' not in codes:
                errs.append('%s: a LOOPBACK operation answers 403 to other clients' % w)
        # path parameters: declared exactly once, and only those in the template
        params = [deref(doc, p) for p in ((doc['paths'][path].get('parameters') or []) + (op.get('parameters') or []))]
        declared = {p.get('name') for p in params if p.get('in') == 'path'}
        tmpl = set(re.findall(r'\{([^}]+)\}', path))
        if declared != tmpl:
            errs.append('%s: path parameters %s declared, template has %s' % (w, sorted(declared), sorted(tmpl)))
        for p in params:
            if p.get('in') == 'path' and not p.get('required'):
                errs.append('%s: path parameter %s must be required' % (w, p.get('name')))
        if api:
            for c in ('400', '429', '500', '502', '503', '504'):
                if c not in codes:
                    errs.append('%s: missing %s response' % (w, c))
            if path.startswith('/api/v1/') and (acc != 'PUBLIC' or sec) and '404' not in codes and '{' in path:
                errs.append('%s: an operation on one resource answers 404' % w)
        rb = op.get('requestBody')
        if rb:
            rb = deref(doc, rb)
            if m not in ('POST', 'PUT', 'PATCH'):
                errs.append('%s: a body on %s' % (w, m))
            sch = ((rb.get('content') or {}).get('application/json') or {}).get('schema')
            if not sch:
                errs.append('%s: requestBody must be application/json with a schema' % w)
            elif deref(doc, sch).get('additionalProperties') is not False:
                errs.append('%s: request body schema must have additionalProperties: false (unknown fields are 400 UNKNOWN_FIELD)' % w)
            for c in ('400', '413', '415'):
                if c not in codes:
                    errs.append('%s: a body operation answers %s' % (w, c))
        for c, r in resp.items():
            r = deref(doc, r)
            if 'X-Request-Id' not in (r.get('headers') or {}):
                errs.append('%s %s: response must declare the X-Request-Id header' % (w, c))
            if c == '429' and 'Retry-After' not in (r.get('headers') or {}):
                errs.append('%s 429: must declare Retry-After' % w)
            if c == '405' and 'Allow' not in (r.get('headers') or {}):
                errs.append('%s 405: must declare Allow' % w)
            if path.startswith('/api/v1/'):
                sch = ((r.get('content') or {}).get('application/json') or {}).get('schema')
                want = 'ErrorEnvelope' if c[0] in '45' else 'SuccessEnvelope'
                if not sch or not _uses(doc, sch, '#/components/schemas/' + want):
                    errs.append('%s %s: the schema must be (or extend) %s' % (w, c, want))
    # the error-code catalogue in ErrorItem names every code the examples use
    cat = (((doc.get('components') or {}).get('schemas') or {}).get('ErrorItem') or {})
    text = json.dumps(cat)
    for code in sorted(error_codes_in_examples(doc)):
        if '`%s`' % code not in text:
            errs.append('error code %s is used in an example but not listed in ErrorItem.code' % code)
    return errs


def _uses(doc, schema, ref, depth=0):
    if depth > 8 or not isinstance(schema, dict):
        return False
    if schema.get('$ref') == ref:
        return True
    if '$ref' in schema:
        return _uses(doc, resolve_ptr(doc, schema['$ref']), ref, depth + 1)
    return any(_uses(doc, s, ref, depth + 1) for s in schema.get('allOf', []))


# ------------------------------------------------------------ the comparison

def compare(code, nginx_exact, nginx_prefixes, nginx_regexes, ops):
    """Returns (missing, unserved, access_mismatch): routes without a document
    entry, document operations nothing serves, x-access != SHOP_ACCESS_*."""
    wanted = dict(code)
    wanted.update({k: (v, None) for k, v in nginx_route_set(nginx_exact).items() if k not in wanted})
    missing = sorted(k for k in wanted if k not in ops)
    unserved = sorted(k for k in ops if k not in code and not (
        not k[1].startswith('/api/') and served_by_nginx(k[0], k[1], nginx_exact, nginx_prefixes, nginx_regexes)))
    mismatch = sorted((k, code[k][1], ops[k].get('x-access')) for k in code
                      if k in ops and code[k][1] and ops[k].get('x-access') != code[k][1])
    return missing, unserved, mismatch


def merged_schema(doc, schema, depth=0):
    """A schema with $ref and allOf folded into one dict (properties and
    required merged, the outer keywords winning)."""
    schema = deref(doc, schema)
    if not isinstance(schema, dict) or depth > 8:
        return {}
    out = {}
    for sub in schema.get('allOf', []):
        m = merged_schema(doc, sub, depth + 1)
        props = dict(out.get('properties', {}))
        props.update(m.get('properties', {}))
        req = list(out.get('required', [])) + [r for r in m.get('required', []) if r not in out.get('required', [])]
        out.update(m)
        if props:
            out['properties'] = props
        if req:
            out['required'] = req
    for k, v in schema.items():
        if k == 'allOf':
            continue
        if k == 'properties':
            props = dict(out.get('properties', {}))
            props.update(v)
            out['properties'] = props
        elif k == 'required':
            out['required'] = list(out.get('required', [])) + [r for r in v if r not in out.get('required', [])]
        else:
            out[k] = v
    return out


_CTYPE = {'STRING': 'string', 'INT': 'integer', 'BOOL': 'boolean', 'OBJECT': 'object',
          'OBJECT_ARRAY': 'array', 'STRING_ARRAY': 'array'}


def compare_field(doc, where, f, schema, required, errs):
    s = merged_schema(doc, schema)
    want = _CTYPE.get(f['type'])
    if s.get('type') != want:
        errs.append('%s: type %s in the document, %s (SHOP_T_%s) in the code' % (where, s.get('type'), want, f['type']))
        return
    if ('REQUIRED' in f['flags']) != required:
        errs.append('%s: %srequired in the code, %srequired in the document' % (
            where, '' if 'REQUIRED' in f['flags'] else 'not ', '' if required else 'not '))
    if ('NULLABLE' in f['flags']) != bool(s.get('nullable')):
        errs.append('%s: nullable is %s in the code, %s in the document' % (
            where, 'NULLABLE' in f['flags'], bool(s.get('nullable'))))
    lo, hi = f['min'], f['max']
    if lo is None or hi is None:
        errs.append('%s: could not evaluate min/max in the code' % where)
        return
    if lo == 0 and hi == 0:
        return  # unbounded
    if f['type'] == 'STRING':
        if 'enum' in s:
            return
        got = (s.get('minLength', 0), s.get('maxLength'))
        if got != (lo, hi):
            errs.append('%s: length %s..%s in the document, %d..%d in the code' % (where, got[0], got[1], lo, hi))
    elif f['type'] == 'INT':
        got = (s.get('minimum'), s.get('maximum'))
        if got != (lo, hi):
            errs.append('%s: range %s..%s in the document, %d..%d in the code' % (where, got[0], got[1], lo, hi))
    elif f['type'] in ('STRING_ARRAY', 'OBJECT_ARRAY'):
        got = (s.get('minItems', 0), s.get('maxItems'))
        if got != (lo, hi):
            errs.append('%s: %s..%s items in the document, %d..%d in the code' % (where, got[0], got[1], lo, hi))


def compare_inputs(doc, key, op, body, query):
    """Differences between a route's field tables and its documented body
    and query parameters (names, types, required, nullable, bounds)."""
    errs = []
    path_item = doc['paths'][key[1]]
    params = [deref(doc, p) for p in (path_item.get('parameters') or []) + (op.get('parameters') or [])]
    qparams = {p['name']: p for p in params if p.get('in') == 'query'}
    if query == 'unknown' or body == 'unknown':
        return ['the route\'s field table could not be read from routes.c']
    qfields = {f['name']: f for f in (query or [])}
    for n in sorted(set(qparams) - set(qfields)):
        errs.append('query parameter %s is documented but the route does not accept it' % n)
    for n in sorted(set(qfields) - set(qparams)):
        errs.append('query parameter %s is accepted but not documented' % n)
    for n in sorted(set(qfields) & set(qparams)):
        compare_field(doc, 'query %s' % n, qfields[n], qparams[n].get('schema', {}), bool(qparams[n].get('required')), errs)
    rb = deref(doc, op.get('requestBody') or {})
    schema = ((rb.get('content') or {}).get('application/json') or {}).get('schema')
    raw_doc = op.get('x-raw-body') is True
    if body == 'raw':
        # The handler parses and checks the bytes itself (a signed webhook):
        # the document must say so and describe the body it expects.
        if not raw_doc:
            errs.append('the route takes its body raw (SHOP_ROUTE_RAW_BODY): the document must say x-raw-body: true')
        if not schema:
            errs.append('the route takes a raw JSON body but none is documented')
        return errs
    if raw_doc:
        errs.append('x-raw-body: true is documented but the route is not SHOP_ROUTE_RAW_BODY')
    if body is None:
        if schema:
            errs.append('a request body is documented but the route takes none')
        return errs
    if not schema:
        errs.append('the route takes a body (%s) but none is documented' % ', '.join(f['name'] for f in body))
        return errs
    s = merged_schema(doc, schema)
    props = s.get('properties', {})
    req = set(s.get('required', []))
    bfields = {f['name']: f for f in body}
    for n in sorted(set(props) - set(bfields)):
        errs.append('body field %s is documented but the route does not accept it (it would be UNKNOWN_FIELD)' % n)
    for n in sorted(set(bfields) - set(props)):
        errs.append('body field %s is accepted but not documented' % n)
    for n in sorted(set(bfields) & set(props)):
        if bfields[n]['nested']:
            continue
        compare_field(doc, 'body %s' % n, bfields[n], props[n], n in req, errs)
    # the layer validates an absent body as {}: it is optional exactly when no field is required
    need = any('REQUIRED' in f['flags'] for f in body)
    if bool(rb.get('required')) != need:
        errs.append('requestBody.required should be %s (%s)' % (
            'true' if need else 'false', 'a field is REQUIRED' if need else 'no field is REQUIRED: an absent body is {}'))
    return errs


def _shape(path):
    return re.sub(r'\{[^}]*\}', '{}', path)


# ---------------------------------------------------------------------- TAP

class Tap:
    def __init__(self):
        self.n = 0
        self.failed = 0

    def ok(self, cond, name, diag=()):
        self.n += 1
        if not cond:
            self.failed += 1
        print('%s %d - %s' % ('ok' if cond else 'not ok', self.n, name))
        for d in diag:
            for line in str(d).splitlines():
                print('# ' + line)
        sys.stdout.flush()
        return cond

    def skip(self, name, why):
        self.n += 1
        print('ok %d - %s # SKIP %s' % (self.n, name, why))

    def diag(self, msg):
        for line in str(msg).splitlines():
            print('# ' + line)


def body_op_with_fields(doc, ops):
    """The first (sorted) operation whose JSON body declares properties, or None."""
    for k in sorted(ops):
        rb = ops[k].get('requestBody')
        if not rb:
            continue
        sch = ((deref(doc, rb).get('content') or {}).get('application/json') or {}).get('schema')
        if sch and merged_schema(doc, sch).get('properties'):
            return k
    return None


def self_test(tap, doc, ops):
    """The checker must be able to fail: plant differences in a temporary tree
    built from the document itself and expect exactly those to be found."""
    tmp = tempfile.mkdtemp(prefix='docs-selftest-')
    try:
        api = sorted(k for k in ops if k[1].startswith('/api/v1/') or k[1].startswith('/.well-known/'))
        dropped = api[0] if api else None
        lines = ['/* generated by the self-test */', 'static const struct shop_route routes[] = {',
                 '\t/* {"GET", "/api/v1/commented-out", h, SHOP_ACCESS_PUBLIC, NULL, NULL}, */']
        for k in api:
            if k == dropped:
                continue
            acc = ops[k].get('x-access') or 'PUBLIC'
            if k == api[-1]:
                acc = 'ADMIN' if acc != 'ADMIN' else 'USER'  # plant an access mismatch
            lines.append('\t{"%s", "%s", handle_x, SHOP_ACCESS_%s, NULL, NULL},' % (k[0], k[1], acc))
        lines.append('\t{ "DELETE",  "/api/v1/undocumented/{id}",\n\t  handle_y, SHOP_ACCESS_ADMIN, NULL, NULL },')
        lines.append('};')
        os.makedirs(os.path.join(tmp, 'fcgi-apps', 'demo'))
        with open(os.path.join(tmp, 'fcgi-apps', 'demo', 'routes.c'), 'w') as f:
            f.write('\n'.join(lines) + '\n')
        # nginx: what the document lists outside the API (a templated path
        # is a prefix location), a private server, and planted differences
        own = []
        for m, path in sorted({k for k in ops if k not in api}):
            if '{' in path:
                own.append('  location ^~ %s { alias /x/; if ($uri !~ "^%s(a|b)$") { return 404; } }' % (
                    path[:path.index('{')], re.escape(path[:path.index('{')])))
            else:
                own.append('  location = %s { %s root /x; }' % (
                    path, '' if m == 'GET' else 'limit_except %s { deny all; }' % m))
        os.makedirs(os.path.join(tmp, 'nginx'))
        with open(os.path.join(tmp, 'nginx', 'shop.conf.in'), 'w') as f:
            f.write('server {\n'
                    '  listen 127.0.0.1:@HTTP_PORT@;\n'
                    '  location = /_auth { internal; fastcgi_pass unix:/x; }\n' + '\n'.join(own) + '\n'
                    '  location = /status { stub_status; }  # planted: undocumented\n'
                    '  location ^~ /static/ { alias /x/; }  # planted: undocumented prefix\n'
                    '  location = /favicon.ico { return 404; }\n'
                    '  location /api/v1/products { fastcgi_pass unix:/catalog.sock; }\n'
                    '}\n'
                    'server {\n'
                    '  listen unix:/run/private.sock;\n'
                    '  location = / { stub_status; }  # no client reaches it\n'
                    '}\n')
        code, dups, _ = code_routes(tmp)
        ex, pre, rx, _ = nginx_routes(tmp)
        missing, unserved, mismatch = compare(code, ex, pre, rx, ops)
        prefix_errs = {loc: e for loc, e in check_prefixes(nginx_prefix_locations(tmp), ops, doc) if e}
        want_missing = [('DELETE', '/api/v1/undocumented/{id}'), ('GET', '/status')]
        want_unserved = [dropped] if dropped else []
        tap.ok(missing == want_missing, 'self-test: a route missing from the document is caught',
               ['found %s, expected %s' % (missing, want_missing)] if missing != want_missing else ())
        tap.ok(unserved == want_unserved, 'self-test: a documented operation nothing serves is caught',
               ['found %s, expected %s' % (unserved, want_unserved)] if unserved != want_unserved else ())
        tap.ok(len(mismatch) == 1 and mismatch[0][0] == api[-1], 'self-test: an x-access that differs from the code is caught',
               ['found %s' % (mismatch,)] if not (len(mismatch) == 1 and mismatch[0][0] == api[-1]) else ())
        # /static/ is undocumented; a templated path whose enum lists names
        # the location refuses (it allows only a and b) is caught too
        templated = sorted(k[1][:k[1].index('{')] for k in ops if k not in api and '{' in k[1])
        want_prefix = sorted(['/static/'] + templated)
        tap.ok(sorted(prefix_errs) == want_prefix,
               'self-test: an undocumented prefix location and names it does not serve are caught',
               [] if sorted(prefix_errs) == want_prefix else ['found %s, expected %s' % (prefix_errs, want_prefix)])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    # the field tables are read from C and compared with the document
    src = (
        '#define LIMIT_MAX 100\n'
        '#define NAME(flags) { "name", SHOP_T_STRING, flags, 1, 100, NULL, NULL }\n'
        'static const struct shop_field t_body[] = {\n'
        '\tNAME(SHOP_F_REQUIRED),\n'
        '\t{ .name = "count", .type = SHOP_T_INT, .flags = SHOP_F_NULLABLE, .min = -LIMIT_MAX, .max = 2 * LIMIT_MAX },\n'
        '\t{ "tags", SHOP_T_STRING_ARRAY, 0, 1, SHOP_CURSOR_MAX - 1, NULL, NULL },\n'
        '\t{ NULL },\n'
        '};\n')
    t = parse_field_tables(strip_c_comments(src), {'SHOP_CURSOR_MAX': (None, '128')}).get('t_body', [])
    got = [(f['name'], f['type'], sorted(f['flags']), f['min'], f['max']) for f in t]
    want = [('name', 'STRING', ['REQUIRED'], 1, 100), ('count', 'INT', ['NULLABLE'], -100, 200),
            ('tags', 'STRING_ARRAY', [], 1, 127)]
    tap.ok(got == want, 'self-test: field tables are read from C (macros, designated initializers, constants)',
           ['read %s' % got] if got != want else ())
    # constants from the headers a routes.c includes; raw-body routes
    tmp = tempfile.mkdtemp(prefix='docs-selftest-')
    try:
        os.makedirs(os.path.join(tmp, 'fcgi-apps', 'demo'))
        with open(os.path.join(tmp, 'fcgi-apps', 'demo', 'demo.h'), 'w') as f:
            f.write('#include "lib/none.h"\n#define DEMO_MAX_QTY (10 * 100)\n')
        with open(os.path.join(tmp, 'fcgi-apps', 'demo', 'routes.c'), 'w') as f:
            f.write('#include "fcgi-apps/demo/demo.h"\n'
                    'static const struct shop_field b_demo[] = {\n'
                    '\t{ .name = "quantity", .type = SHOP_T_INT, .flags = SHOP_F_REQUIRED, .min = 1, .max = DEMO_MAX_QTY },\n'
                    '\t{ .name = NULL },\n};\n'
                    'const struct shop_route demo_routes[] = {\n'
                    '\t{"POST", "/api/v1/demo", h_demo, SHOP_ACCESS_USER, b_demo, NULL},\n'
                    '\t{"POST", "/api/v1/demo/hook", h_hook, SHOP_ACCESS_PUBLIC, NULL, NULL, SHOP_ROUTE_RAW_BODY},\n'
                    '};\n')
        inp = {}
        code_routes(tmp, inp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    qty = (inp.get(('POST', '/api/v1/demo')) or ([{}],))[0]
    hook = (inp.get(('POST', '/api/v1/demo/hook')) or (None,))[0]
    fake = {'paths': {'/api/v1/demo/hook': {}}}
    k = ('POST', '/api/v1/demo/hook')
    undeclared = compare_inputs(fake, k, {}, 'raw', None)
    declared = compare_inputs(fake, k, {'x-raw-body': True, 'requestBody': {'content': {'application/json': {'schema': {'type': 'object'}}}}}, 'raw', None)
    claimed = compare_inputs(fake, k, {'x-raw-body': True}, None, None)
    good = (isinstance(qty, list) and qty[0].get('max') == 1000 and hook == 'raw' and len(undeclared) == 2
            and not declared and len(claimed) == 1)
    tap.ok(good, 'self-test: constants of included headers are read; raw-body routes need x-raw-body and a body schema',
           [] if good else ['quantity %s, hook body %r, undeclared %s, declared %s, claimed %s' % (qty, hook, undeclared, declared, claimed)])
    # An operation whose body takes no fields (EmptyObject) has nothing to
    # plant a difference on: the round trip below uses the first one that
    # declares fields (it once took the first body operation and crashed).
    fake = {'paths': {}, 'components': {'schemas': {'E': {'type': 'object', 'properties': {}}}}}
    fake_ops = {('POST', '/a'): {'requestBody': {'content': {'application/json': {'schema': {'$ref': '#/components/schemas/E'}}}}},
                ('POST', '/b'): {'requestBody': {'content': {'application/json': {'schema': {
                    'type': 'object', 'properties': {'x': {'type': 'integer'}}}}}}},
                ('GET', '/c'): {}}
    picked = body_op_with_fields(fake, fake_ops)
    tap.ok(picked == ('POST', '/b'), 'self-test: the round trip skips bodies without fields',
           [] if picked == ('POST', '/b') else ['picked %s' % (picked,)])
    k = body_op_with_fields(doc, ops)
    if k:
        op = ops[k]
        s = merged_schema(doc, deref(doc, op['requestBody'])['content']['application/json']['schema'])
        rev = {v: t for t, v in _CTYPE.items() if t not in ('OBJECT_ARRAY',)}
        fields = []
        for n, ps in s.get('properties', {}).items():
            ps = merged_schema(doc, ps)
            ty = rev.get(ps.get('type'), 'STRING')
            lo, hi = {'STRING': (ps.get('minLength', 0), ps.get('maxLength', 0)),
                      'INT': (ps.get('minimum', 0), ps.get('maximum', 0)),
                      'STRING_ARRAY': (ps.get('minItems', 0), ps.get('maxItems', 0))}.get(ty, (0, 0))
            if ty == 'STRING' and 'enum' in ps:
                lo, hi = 0, 0
            flags = {'REQUIRED'} if n in s.get('required', []) else set()
            if ps.get('nullable'):
                flags.add('NULLABLE')
            fields.append({'name': n, 'type': ty, 'flags': flags, 'min': lo, 'max': hi or 0, 'nested': False})
        same = compare_inputs(doc, k, op, fields, None)
        bad = [dict(f) for f in fields]
        bad[0]['max'] = (bad[0]['max'] or 0) + 7
        bad[0]['flags'] = bad[0]['flags'] ^ {'REQUIRED'}
        bad.append({'name': 'sneaky', 'type': 'STRING', 'flags': set(), 'min': 0, 'max': 0, 'nested': False})
        diff = compare_inputs(doc, k, op, bad, [{'name': 'page', 'type': 'INT', 'flags': set(), 'min': 1, 'max': 9, 'nested': False}])
        tap.ok(not same and len(diff) >= 4, 'self-test: body and query fields that differ from the code are caught (%s %s)' % k,
               ['round trip: %s' % same, 'planted: %s' % diff] if same or len(diff) < 4 else ())
    # the YAML parser refuses what other parsers would read differently
    bad = {'key: 2026-11-21T12:00:00Z\n': 'timestamp', 'a: 1\na: 2\n': 'duplicate key',
           'a: yes\n': 'yes', '200: x\n': 'int key', 'a: b\n  c\n': 'continuation',
           'a:\n\t- b\n': 'tab', 'a: "x\n': 'unterminated'}
    caught = []
    for text, what in bad.items():
        try:
            parse_yaml(text)
        except YamlError:
            caught.append(what)
    tap.ok(len(caught) == len(bad), 'self-test: the YAML parser refuses ambiguous input',
           ['not refused: %s' % sorted(set(bad.values()) - set(caught))] if len(caught) != len(bad) else ())


# The corners of the subset: on every input this parser accepts, js-yaml (the
# parser of Swagger UI, so of the /docs page) must read the same value
# (tests/docs/validate_openapi.py).
YAML_CORPUS = [
    'a: 1\nb: -2\nc: 1.5\nd: true\ne: null\nf: ~\ng:\nh: "x\\ty\\u00e9"\ni: \'it\'\'s\'\n',
    'k: |\n  line 1\n    indented\n\n  line 3\n\nnext: x\n',
    'k: |-\n  no newline\nk2: |+\n  keep\n\n\nk3: >\n  folded\n  text\n\n  para\n    more\n  back\n',
    'k: >-\n  a\n  b\n',
    'list:\n- a\n- b: 1\n  c: [x, "y", {z: 1}]\n-\n  - nested\n  - - deeper\n- {}\n- []\n',
    'flow: {"a": [1, 2,\n    3], b: {c: d},\n  e: \'f\'}\nafter: 1\n',
    '"quoted key": 1\n\'single\': 2\n/path/{id}: 3\nx-y: -price\n',
    'a: b # comment\n# full line\nc: "d # not a comment"\ne: f#g\n',
    'top:\n  - $ref: \'#/x\'\n  - name: n\n    in: query\n',
    'empty_block: |\nnext: 1\n',
    'a: 2026-11-21T12:00:00Z\n', 'a: yes\n', 'a: 012\n', 'a: 1e3\n', '200: x\n', 'a: 1\na: 2\n',
    'a: b\n  c\n', 'a: x: y\n', 'a:\n\t- b\n', 'a: "unterminated\n', 'a: [1, 2\n', 'a: {b: 1, b: 2}\n',
    ' a: 1\n', 'a: .5\n', 'a: &anchor x\n', 'a: !tag x\n',
]


def _py_parse_all(corpus):
    out = []
    for text in corpus:
        try:
            out.append({'ok': parse_yaml(text)})
        except YamlError as e:
            out.append({'err': str(e)})
    return out


def _page_urls(html):
    """Every URL docs/index.html names: attributes, CSS url() and @import,
    and the string literals of its scripts that look like a path or a URL."""
    urls = []
    for m in re.finditer(r"""\b(?:src|href|action|poster|data|srcset)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""", html, re.I):
        urls.append(next(g for g in m.groups() if g is not None).strip())
    urls += re.findall(r"""url\(\s*["']?([^"')\s]+)""", html)
    urls += re.findall(r"""@import\s+(?:url\()?\s*["']?([^"');\s]+)""", html)
    for script in re.findall(r'<script[^>]*>(.*?)</script>', html, re.S | re.I):
        urls += re.findall(r"""["'`](/[^"'`\s]*|[a-z][a-z0-9+.-]*://[^"'`\s]*|//[^"'`\s]+)["'`]""", script, re.I)
    return urls


def _documented_get(doc, ops, uri):
    """The documented GET operation path that uri is an instance of (path
    parameters with an enum must take one of its values), or None."""
    if ('GET', uri) in ops:
        return uri
    for (m, path), op in sorted(ops.items()):
        if m != 'GET' or '{' not in path:
            continue
        names = re.findall(r'\{([^}]+)\}', path)
        rx = '^' + re.sub(r'\\\{[^}]+\\\}', '([^/]+)', re.escape(path)) + '$'
        got = re.match(rx, uri)
        if not got:
            continue
        enums = {}
        for prm in (doc['paths'][path].get('parameters') or []) + (op.get('parameters') or []):
            prm = deref(doc, prm)
            if prm.get('in') == 'path':
                enums[prm.get('name')] = (prm.get('schema') or {}).get('enum')
        if all(enums.get(n) is None or v in enums[n] for n, v in zip(names, got.groups())):
            return path
    return None


def page_problems(html, doc, ops, ex, pre, rx):
    """(URL problems, unmet requirements, number of local URLs) of a /docs
    page: Swagger UI that loads only files of this origin which nginx serves
    and the document lists, reading /docs/openapi.yaml."""
    urls = _page_urls(html)
    errs = ['names another host: %s' % u for u in re.findall(r'(?:https?:)?//[A-Za-z0-9][^\s"\'<>)]*', html)
            if not u.startswith('//-')]
    local = 0
    for u in urls:
        if u.startswith('data:') or u.startswith('#'):
            continue
        if not u.startswith('/') or u.startswith('//'):
            if not any(u in e for e in errs):
                errs.append('%r is not a path of this origin (relative URLs resolve against /, the page is /docs)' % u)
            continue
        local += 1
        bare = re.split(r'[?#]', u)[0]
        op = _documented_get(doc, ops, bare)
        if op is None:
            errs.append('%s: docs/openapi.yaml lists no GET for it' % bare)
        elif not served_by_nginx('GET', op, ex, pre, rx):
            errs.append('%s: no nginx location serves %s' % (bare, op))
    need = {
        'loads Swagger UI from /docs/ui/': re.search(r'<script[^>]+src="/docs/ui/swagger-ui-bundle\.js"', html),
        'loads its style sheet from /docs/ui/': re.search(r'<link[^>]+href="/docs/ui/swagger-ui\.css"', html),
        'starts SwaggerUIBundle': 'SwaggerUIBundle(' in html,
        'reads /docs/openapi.yaml': re.search(r'\burl\s*:\s*["\']/docs/openapi\.yaml["\']', html),
        'has no online validator (validatorUrl: null)': re.search(r'\bvalidatorUrl\s*:\s*null\b', html),
        'takes no other document from the query (queryConfigEnabled is not true)':
            not re.search(r'\b(queryConfigEnabled\s*:\s*true|configUrl\s*:)', html),
    }
    return errs, [k for k, v in need.items() if not v], local


def page_check(tap, root, doc, ops, ex, pre, rx):
    path = os.path.join(root, 'docs', 'index.html')
    if not os.path.exists(path):
        tap.ok(False, 'docs/index.html exists')
        return
    with open(path, encoding='utf-8') as f:
        html = f.read()
    errs, missing, local = page_problems(html, doc, ops, ex, pre, rx)
    tap.ok(not errs and local > 0,
           'docs/index.html loads only files of its own origin that nginx serves and the document lists (%d URLs)' % local,
           errs)
    tap.ok(not missing, 'docs/index.html runs Swagger UI on /docs/openapi.yaml without an online validator',
           ['it does not: %s' % k for k in missing])
    # the same checks on a page with planted faults
    bad = html.replace('/docs/ui/swagger-ui.css', 'https://cdn.example/swagger-ui.css')
    bad = bad.replace('/docs/ui/favicon-16x16.png', 'ui/favicon-16x16.png')
    bad = bad.replace('/docs/ui/favicon-32x32.png', '/docs/ui/index.html')
    bad = bad.replace('validatorUrl: null', 'validatorUrl: "https://validator.example/debug"')
    bad = bad.replace('</body>', '<img src="//tracker.example/p.gif"><script src="/docs/ui/swagger-initializer.js"></script></body>')
    berrs, bmissing, _ = page_problems(bad, doc, ops, ex, pre, rx)
    want = ['cdn.example', 'ui/favicon-16x16.png', '/docs/ui/index.html', 'validator.example',
            'tracker.example', '/docs/ui/swagger-initializer.js']
    unseen = [w for w in want if not any(w in e for e in berrs)]
    good = not unseen and any('validator' in m for m in bmissing) and any('style sheet' in m for m in bmissing)
    tap.ok(good, 'self-test: a page that loads other hosts, relative or unlisted files, or an online validator is caught',
           [] if good else ['not caught: %s' % unseen, 'problems %s' % berrs, 'unmet %s' % bmissing])


def _first_diff(a, b, where='$'):
    if type(a) is not type(b):
        return '%s: %r vs %r' % (where, a, b)
    if isinstance(a, dict):
        for k in sorted(set(a) | set(b)):
            if k not in a or k not in b:
                return '%s.%s: only in %s' % (where, k, 'page' if k in a else 'test')
            d = _first_diff(a[k], b[k], '%s.%s' % (where, k))
            if d:
                return d
        return None
    if isinstance(a, list):
        if len(a) != len(b):
            return '%s: %d vs %d items' % (where, len(a), len(b))
        for i, (x, y) in enumerate(zip(a, b)):
            d = _first_diff(x, y, '%s[%d]' % (where, i))
            if d:
                return d
        return None
    return None if a == b else '%s: %r vs %r' % (where, a, b)


def main(argv):
    root = os.environ.get('top_srcdir') or os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..')
    if len(argv) > 2 and argv[1] == '--root':
        root = argv[2]
    root = os.path.abspath(root)
    tap = Tap()
    print('TAP version 13')

    ypath = os.path.join(root, 'docs', 'openapi.yaml')
    with open(ypath, encoding='utf-8') as f:
        text = f.read()
    try:
        doc = parse_yaml(text)
        tap.ok(isinstance(doc, dict), 'docs/openapi.yaml parses')
    except YamlError as e:
        tap.ok(False, 'docs/openapi.yaml parses', ['docs/openapi.yaml: %s' % e])
        print('1..%d' % tap.n)
        return 1

    try:
        import yaml  # Debian python3-yaml, when present
        other = yaml.safe_load(text)
        same = other == doc
        tap.ok(same, 'PyYAML reads the document the same way', () if same else
               ['first difference: %s' % _first_diff(doc, other)])
    except ImportError:
        tap.skip('PyYAML reads the document the same way', 'python3-yaml not installed')

    errs = check_refs(doc)
    tap.ok(not errs, 'every $ref resolves (%d refs)' % sum(1 for _ in all_refs(doc)), errs)

    errs = lint(doc)
    tap.ok(not errs, 'the document follows the house rules', errs)

    errs, n = check_examples(doc)
    tap.ok(not errs and n > 0, 'every example matches its schema (%d examples)' % n, errs)

    try:
        from openapi_spec_validator import validate as osv_validate
        try:
            osv_validate(json.loads(json.dumps(doc)))
            tap.ok(True, 'openapi-spec-validator accepts the document')
        except Exception as e:  # the validator's own error types
            tap.ok(False, 'openapi-spec-validator accepts the document', [str(e)[:2000]])
    except ImportError:
        tap.skip('openapi-spec-validator accepts the document', 'openapi-spec-validator not installed')

    ops = doc_operations(doc)
    inputs = {}
    code, dups, files = code_routes(root, inputs)
    ex, pre, rx, nfiles = nginx_routes(root)
    tap.ok(bool(files) and bool(code), 'routes found in fcgi-apps/*/routes.c (%d routes in %d files)' % (len(code), len(files)),
           ['%s: %d routes' % f for f in files] or ['no fcgi-apps/*/routes.c with route lines'])
    tap.ok(not dups, 'no route is declared twice', dups)
    tap.ok(bool(nfiles), 'nginx locations read from nginx/*.conf* (%d exact)' % len(ex),
           [', '.join(nfiles)] if nfiles else ['no nginx/*.conf* files'])

    missing, unserved, mismatch = compare(code, ex, pre, rx, ops)
    for k in sorted(set(code) | set(nginx_route_set(ex))):
        src = code[k][0] if k in code else 'nginx'
        diag = []
        if k in missing:
            near = [o for o in ops if o[0] == k[0] and _shape(o[1]) == _shape(k[1])]
            diag = ['%s serves it; docs/openapi.yaml has no paths.%s.%s' % (src, k[1], k[0].lower())]
            if near:
                diag.append('documented with other parameter names: %s' % ' '.join(p for _, p in near))
        tap.ok(k not in missing, 'documented: %s %s' % k, diag)
    for k in sorted(ops):
        tap.ok(k not in unserved, 'served: %s %s' % k,
               ['docs/openapi.yaml lists it but no routes.c line or nginx location serves it'] if k in unserved else ())
    for loc, errs in check_prefixes(nginx_prefix_locations(root), ops, doc):
        tap.ok(not errs, 'documented: GET %s... (nginx prefix location)' % loc, errs)
    tap.ok(not mismatch, 'x-access agrees with SHOP_ACCESS_* of routes.c',
           ['%s %s: code says %s, document says %s' % (k[0], k[1], c, d) for k, c, d in mismatch])
    for k in sorted(inputs):
        if k not in ops:
            continue
        errs = compare_inputs(doc, k, ops[k], *inputs[k])
        tap.ok(not errs, 'inputs agree with %s: %s %s' % (code[k][0].split(':')[0], k[0], k[1]), errs)

    self_test(tap, doc, ops)

    page_check(tap, root, doc, ops, ex, pre, rx)

    print('1..%d' % tap.n)
    return 1 if tap.failed else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
