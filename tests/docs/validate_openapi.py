#!/usr/bin/env python3
"""docs/openapi.yaml through real OpenAPI validators; prints TAP.

The validators are npm packages pinned by docs/package-lock.json and
installed by docs/assets.sh under $top_builddir/docs-assets (./shop's build
runs it; so does this test, which is a no-op when they are there already).
When they cannot be installed (no node or npm, no registry) the test fails:
it never skips.

  - @apidevtools/swagger-parser reads the file, validates it against the
    OpenAPI 3.0 JSON Schema and resolves every $ref;
  - @seriousme/openapi-schema-validator validates it against the official
    OpenAPI 3.0 schema (2021-09-28);
  - js-yaml, the YAML parser Swagger UI (the /docs page) bundles, must read
    the document exactly as tests/docs/check_openapi.py's parser does, and
    agree with it on the corner cases that parser accepts;
  - self-tests: both validators must refuse broken copies of the document
    (planted faults, and one broken copy written to disk).

Usage: validate_openapi.py [FILE]   (default: $top_srcdir/docs/openapi.yaml;
$top_builddir defaults to $top_srcdir/build)
"""

import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True

import check_openapi  # noqa: E402  (its YAML parser, corpus and TAP)

PARSER = '@apidevtools/swagger-parser'
SCHEMA = '@seriousme/openapi-schema-validator'


def run_node(node, assets, path, corpus=None, plant=False):
    cmd = [node, os.path.join(HERE, 'validate_openapi.mjs'), assets, path]
    if corpus:
        cmd.append(corpus)
    if plant:
        cmd.append('--plant')
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=300)
    if p.returncode != 0:
        raise RuntimeError('%s exited %d:\n%s' % (' '.join(cmd), p.returncode,
                                                  p.stderr.decode(errors='replace')[-3000:]))
    return json.loads(p.stdout)


def main(argv):
    root = os.path.abspath(os.environ.get('top_srcdir') or os.path.join(HERE, '..', '..'))
    build = os.path.abspath(os.environ.get('top_builddir') or os.path.join(root, 'build'))
    path = os.path.abspath(argv[1]) if len(argv) > 1 else os.path.join(root, 'docs', 'openapi.yaml')
    rel = os.path.relpath(path, root) if path.startswith(root + os.sep) else path
    assets = os.path.join(build, 'docs-assets')
    tap = check_openapi.Tap()
    print('TAP version 13')

    # 1. the validators, installed (or already there: then silent and quick)
    p = subprocess.run([os.path.join(root, 'docs', 'assets.sh'), build],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=900)
    out = p.stdout.decode(errors='replace').strip()
    with open(path, encoding='utf-8') as f:
        text = f.read()
    broken_text = text.replace('\n      responses:\n', '\n      responsez:\n', 1)
    res = None
    if p.returncode == 0:
        node = 'node'
        with tempfile.TemporaryDirectory(prefix='docs-validate-') as tmp:
            corpus = os.path.join(tmp, 'corpus.json')
            with open(corpus, 'w') as f:
                json.dump(check_openapi.YAML_CORPUS, f)
            broken = os.path.join(tmp, 'broken.yaml')
            with open(broken, 'w', encoding='utf-8') as f:
                f.write(broken_text)
            try:
                # 2. the document, the corner cases of the YAML subset,
                # planted faults; then a broken copy on disk
                res = run_node(node, assets, path, corpus=corpus, plant=True)
                res_broken = run_node(node, assets, broken)
            except (OSError, RuntimeError, ValueError, subprocess.TimeoutExpired) as e:
                out = '%s\n%s' % (out, e)
    if res is None:
        tap.ok(False, 'docs/assets.sh installs the OpenAPI validators under %s and they run' % assets, [out])
        print('1..%d' % tap.n)
        return 1
    v = res['versions']
    tap.ok(True, 'OpenAPI validators under %s: %s %s, %s %s' % (assets, PARSER, v[PARSER], SCHEMA, v[SCHEMA]),
           [out] if out else ())

    r = res['swaggerParser']
    tap.ok(r['ok'], '%s %s accepts %s (OpenAPI 3.0 schema, every $ref resolved)' % (PARSER, v[PARSER], rel), r['errors'])
    r = res['schemaValidator']
    tap.ok(r['ok'], '%s %s accepts %s (official schema %s)' % (SCHEMA, v[SCHEMA], rel, res.get('schemaId')), r['errors'])

    try:
        mine = check_openapi.parse_yaml(text)
        theirs = res['parsed'].get('ok')
        diff = None if 'ok' in res['parsed'] else 'js-yaml: %s' % res['parsed'].get('err')
        if diff is None:
            mine = json.loads(json.dumps(mine))
            diff = check_openapi._first_diff(mine, theirs)
    except check_openapi.YamlError as e:
        diff = 'check_openapi.py: %s' % e
    tap.ok(diff is None, 'js-yaml %s (the parser of Swagger UI) reads %s as check_openapi.py does' % (v['js-yaml'], rel),
           ['first difference: %s' % diff] if diff else ())

    diffs = []
    accepted = 0
    for t, got in zip(check_openapi.YAML_CORPUS, res.get('corpus') or []):
        try:
            want = json.loads(json.dumps(check_openapi.parse_yaml(t)))
        except check_openapi.YamlError:
            continue  # refused by the subset: nothing to agree on
        accepted += 1
        if got.get('ok', object()) != want:
            diffs.append('%r: js-yaml %s, check_openapi.py %s' % (t, got, want))
    tap.ok(not diffs and accepted > 0 and len(res.get('corpus') or []) == len(check_openapi.YAML_CORPUS),
           'js-yaml agrees with check_openapi.py on the corner cases it accepts (%d of %d inputs)' % (
               accepted, len(check_openapi.YAML_CORPUS)), diffs)

    planted = res.get('planted') or []
    missed = ['%s: %s accepts it' % (pl['name'], who) for pl in planted
              for who, key in ((PARSER, 'swaggerParser'), (SCHEMA, 'schemaValidator')) if pl[key]['ok']]
    tap.ok(len(planted) >= 10 and not missed,
           'self-test: both validators refuse %d broken copies of the document' % len(planted),
           missed + ['refused: %s' % ', '.join(pl['name'] for pl in planted)] if missed else ())

    caught = [who for who, key in ((PARSER, 'swaggerParser'), (SCHEMA, 'schemaValidator')) if not res_broken[key]['ok']]
    tap.ok(broken_text != text and len(caught) == 2,
           'self-test: a copy on disk with "responsez:" for "responses:" fails both validators',
           ['refused by: %s' % caught] + res_broken['swaggerParser']['errors'][:2] + res_broken['schemaValidator']['errors'][:2]
           if len(caught) != 2 else ())

    print('1..%d' % tap.n)
    return 1 if tap.failed else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
