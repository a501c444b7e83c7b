#!/usr/bin/env bash
# Installs the npm packages pinned by docs/package-lock.json into
# BUILD_DIR/docs-assets: swagger-ui-dist (the files of the /docs page, which
# nginx serves from there under /docs/ui/) and the OpenAPI validators that
# `make check` runs on docs/openapi.yaml (tests/docs/validate_openapi.sh).
#
#   docs/assets.sh BUILD_DIR
#
# `npm ci` with the lock file's exact versions and integrity hashes, no
# install scripts, no audit, no funding notes. A stamp (the SHA-256 of
# package.json and package-lock.json) makes a second run with an unchanged
# lock do nothing and print nothing; an install prints one line. The new tree
# is built beside the old one and swapped in whole, under a lock, so that
# nginx and a concurrent run never see a half-installed tree.
#
# Needs node (18 or later) and npm: on Debian 12, `apt-get install nodejs npm`.
# Fails, saying why, when they are missing or the registry cannot be reached.
set -euo pipefail

me=docs/assets.sh
die() { echo "$me: $*" >&2; exit 1; }

[ $# -eq 1 ] && [ -n "$1" ] || { echo "usage: $me BUILD_DIR" >&2; exit 2; }
src=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
mkdir -p "$1" || die "cannot create $1"
build=$(cd "$1" && pwd -P)
dest=$build/docs-assets
umask 022

want=$(cat "$src/package.json" "$src/package-lock.json" | sha256sum | cut -d' ' -f1)
installed() {
	[ -f "$dest/.stamp" ] && [ "$(cat "$dest/.stamp")" = "$want" ] &&
		[ -f "$dest/node_modules/swagger-ui-dist/swagger-ui-bundle.js" ]
}
installed && exit 0

# One install at a time per build directory (make check may run two tests
# that both want the tree).
exec 9>"$build/.docs-assets.lock"
flock 9
installed && exit 0

command -v node >/dev/null 2>&1 || die "node is not installed: apt-get install nodejs npm"
command -v npm >/dev/null 2>&1 || die "npm is not installed: apt-get install npm"
major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null) || die "node does not run"
[ "$major" -ge 18 ] 2>/dev/null || die "node $(node --version) is too old: 18 or later is needed"

t0=$(date +%s)
tmp=$(mktemp -d "$build/.docs-assets.new.XXXXXX")
log=$build/docs-assets.npm.log
rm -f "$log"
trap 'rm -rf "$tmp"' EXIT
cp "$src/package.json" "$src/package-lock.json" "$tmp/"
# SCARF_ANALYTICS: swagger-ui-dist depends on a package whose install script
# reports the install; --ignore-scripts keeps it (and every other script) from
# running at all.
if ! (cd "$tmp" && SCARF_ANALYTICS=false npm ci --ignore-scripts --no-audit --no-fund \
	--no-update-notifier --loglevel=error --fetch-retries=2 --fetch-retry-mintimeout=2000 \
	--fetch-retry-maxtimeout=10000) >"$tmp/npm.log" 2>&1; then
	cp "$tmp/npm.log" "$log"
	registry=$(npm config get registry 2>/dev/null || echo '?')
	grep -v 'Unknown user config' "$log" | head -n 8 | sed 's/^/  /' >&2 || true
	if grep -Eq 'ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENETUNREACH|EHOSTUNREACH|network' "$log"; then
		die "npm ci failed: the npm registry ($registry) is unreachable (full log: $log)"
	fi
	die "npm ci failed (full log: $log)"
fi
[ -f "$tmp/node_modules/swagger-ui-dist/swagger-ui-bundle.js" ] || {
	cp "$tmp/npm.log" "$log"
	die "npm ci left no node_modules/swagger-ui-dist/swagger-ui-bundle.js (log: $log)"; }
rm -f "$tmp/npm.log"
echo "$want" >"$tmp/.stamp"
chmod 755 "$tmp"
rm -rf "$dest.old"
[ ! -e "$dest" ] || mv "$dest" "$dest.old"
mv "$tmp" "$dest"
trap - EXIT
rm -rf "$dest.old"
what=$(node -e '
	const l = require(process.argv[1]), top = l.packages[""].dependencies;
	const n = Object.keys(l.packages).length - 1;
	console.log(Object.keys(top).map(k => k + " " + l.packages["node_modules/" + k].version).join(", ") +
		" (" + n + " packages)");' "$dest/package-lock.json")
echo "$me: installed $what into $dest in $(($(date +%s) - t0)) s"
