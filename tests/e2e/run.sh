#!/bin/sh
# End-to-end suite of the shop: starts a real stack (MariaDB, RabbitMQ, the
# pools, nginx) on free loopback ports in a temporary directory through
# tests/harness/stack.sh, runs the Python suite against it (TAP on stdout,
# one line per test function), and always stops the stack again.
#
# Usage:
#   tests/e2e/run.sh [FILTER...]            all tests, or those whose name
#                                           contains one of the FILTERs
#   SHOP_E2E_FILTER="identity tokens.alg" tests/e2e/run.sh
#   tests/e2e/run.sh --list                 the test names ("identity.logout", ...)
#
# Environment:
#   SHOP_E2E_BASE_URL   use an already running stack at this URL (no start/stop);
#                       then SHOP_VAR should name its var directory (demo logins,
#                       JWT keys; default: $top_srcdir/var)
#   SHOP_E2E_KEEP=1     keep the temporary directory and leave the stack running
#                       for a post-mortem (prints how to stop it)
#   SHOP_E2E_FILTER     like the FILTER arguments (comma or blank separated)
#   top_builddir        a build directory whose binaries the stack runs as they are
#                       (make check sets it; by hand: top_builddir=build tests/e2e/run.sh);
#                       unset, ./shop builds in its default build directory
#   SHOP_AUTH_RATE/_BURST  login/register/refresh limits of the stack (default here
#                       200 r/s, burst 100, so that ratelimit.* can exceed them)
#   PYTHON              the interpreter (python3; standard library only)
# Under `make check`, automake's TAP driver runs this with $top_srcdir and
# $top_builddir exported.
set -u

here=$(cd "$(dirname "$0")" && pwd)
: "${top_srcdir:=$(cd "$here/../.." && pwd)}"
export top_srcdir
# top_builddir (set by `make check`): the harness uses that build's binaries as
# they are; unset, ./shop builds in its default build directory.
[ -n "${top_builddir:-}" ] && export top_builddir
PYTHON=${PYTHON:-python3}

if [ "${1:-}" = "--list" ]; then
	exec "$PYTHON" "$top_srcdir/tests/e2e/suite.py" --list
fi

if ! command -v "$PYTHON" >/dev/null 2>&1; then
	echo "Bail out! $PYTHON not found"
	exit 1
fi

if [ -n "${SHOP_E2E_BASE_URL:-}" ]; then
	: "${SHOP_VAR:=$top_srcdir/var}"
	export SHOP_VAR SHOP_E2E_BASE_URL
	exec "$PYTHON" "$top_srcdir/tests/e2e/suite.py" "$@"
fi

stack="$top_srcdir/tests/harness/stack.sh"
if [ ! -f "$stack" ]; then
	echo "Bail out! $stack is missing"
	exit 1
fi

# Login/register/refresh limits of this stack: low enough that the rate-limit
# test can exceed them (the test profile's default, 10000 r/s, cannot be), high
# enough that the other tests rarely meet them (a 429 is retried after
# Retry-After, and counted in the test's notes).
: "${SHOP_AUTH_RATE:=200}" "${SHOP_AUTH_BURST:=100}"
export SHOP_AUTH_RATE SHOP_AUTH_BURST

dir=$(mktemp -d "${TMPDIR:-/tmp}/shop-e2e.XXXXXX") || { echo "Bail out! mktemp failed"; exit 1; }
started=0

show_logs() {
	logdir=${SHOP_LOG_DIR:-$dir/log}
	echo "# logs under $logdir:"
	for f in "$logdir"/*.log; do
		[ -s "$f" ] || continue
		case $f in */mariadb-install.log) continue ;; esac
		echo "# --- tail of $f"
		tail -n 12 "$f" | sed 's/^/#   /'
	done
}

cleanup() {
	rc=$?
	if [ "${SHOP_E2E_KEEP:-0}" = 1 ]; then
		echo "# SHOP_E2E_KEEP=1: the stack in $dir is left running (${SHOP_BASE_URL:-}); rerun against it with"
		echo "#   SHOP_E2E_BASE_URL=${SHOP_BASE_URL:-} SHOP_VAR=$dir tests/e2e/run.sh; stop it with: $stack clean $dir"
		exit $rc
	fi
	if [ "$started" = 1 ]; then
		sh "$stack" stop "$dir" >"$dir.stop.log" 2>&1 ||
			{ echo "# stack.sh stop failed:"; sed 's/^/#   /' "$dir.stop.log"; }
		# removes the directory (and SIGKILLs anything stop left behind)
		sh "$stack" clean "$dir" >>"$dir.stop.log" 2>&1 || true
		rm -f "$dir.stop.log"
	fi
	rm -rf "$dir"
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

started=1
if ! sh "$stack" start "$dir" >"$dir/start.log" 2>&1; then
	[ -f "$dir/stack.env" ] && . "$dir/stack.env"
	echo "Bail out! the test stack did not start (tests/harness/stack.sh start)"
	echo "# --- tail of stack.sh start output"
	tail -n 30 "$dir/start.log" | sed 's/^/#   /'
	show_logs
	exit 1
fi
if [ ! -f "$dir/stack.env" ]; then
	echo "Bail out! stack.sh start wrote no $dir/stack.env"
	tail -n 30 "$dir/start.log" | sed 's/^/#   /'
	exit 1
fi
set -a
. "$dir/stack.env"
set +a
if [ -z "${SHOP_BASE_URL:-}" ]; then
	echo "Bail out! $dir/stack.env sets no SHOP_BASE_URL"
	exit 1
fi
SHOP_E2E_BASE_URL=$SHOP_BASE_URL
export SHOP_E2E_BASE_URL

"$PYTHON" "$top_srcdir/tests/e2e/suite.py" "$@"
rc=$?
if [ "$rc" -ne 0 ]; then
	show_logs
fi
# A graceful stop, then the logs read for sanitizer reports: in a build with
# --enable-sanitizers every program writes its AddressSanitizer, LeakSanitizer
# (at exit) and UndefinedBehaviorSanitizer findings to its log.
if [ "${SHOP_E2E_KEEP:-0}" != 1 ]; then
	sh "$stack" stop "$dir" >"$dir.stop.log" 2>&1 ||
		{ echo "# stack.sh stop failed:"; sed 's/^/#   /' "$dir.stop.log"; }
	found=$(grep -l -E 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error: ' \
	    "${SHOP_LOG_DIR:-$dir/log}"/*.log 2>/dev/null || true)
	if [ -n "$found" ]; then
		echo "Bail out! sanitizer reports in: $found"
		for f in $found; do
			echo "# --- $f"
			grep -E -A25 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error: ' "$f" |
			    head -n 60 | sed 's/^/#   /'
		done
		rc=1
	fi
fi
exit $rc
