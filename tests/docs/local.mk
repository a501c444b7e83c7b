# docs/openapi.yaml against the code (tests/docs/check_openapi.py, TAP):
# every route of fcgi-apps/*/routes.c and every exact nginx location is
# documented, every prefix location outside the API has its operation, every
# documented operation is served, inputs and x-access agree with the route
# tables, the YAML parses, every $ref resolves, examples match their schemas,
# and the /docs page (docs/index.html, Swagger UI) loads only files of its own
# origin that nginx serves. Python 3 standard library only; PyYAML and
# openapi-spec-validator are used when installed.
#
# The document through real OpenAPI validators (tests/docs/validate_openapi.py,
# TAP): npm packages pinned by docs/package-lock.json, installed by
# docs/assets.sh under $(top_builddir)/docs-assets (run by the test when they
# are missing; it fails when they cannot be installed), and js-yaml, the YAML
# parser of Swagger UI, reading the document as check_openapi.py does.
TESTS += tests/docs/check_openapi.py tests/docs/validate_openapi.py
EXTRA_DIST += tests/docs/check_openapi.py tests/docs/validate_openapi.py tests/docs/validate_openapi.mjs
