# docs/openapi.yaml against the code (tests/docs/check_openapi.py, TAP):
# every route of fcgi-apps/*/routes.c and every exact nginx location is
# documented, every documented operation is served, inputs and x-access agree
# with the route tables, the YAML parses, every $ref resolves, examples match
# their schemas, and the /docs page (run under node when present) reads and
# renders the document. Python 3 standard library only; PyYAML,
# openapi-spec-validator and node are used when installed.
TESTS += tests/docs/check_openapi.py
EXTRA_DIST += tests/docs/check_openapi.py
