#!/usr/bin/env bash
# The fault scenarios against a private stack: `./shop chaos` (the long form,
# after ./shop built) and tests/fault/run.sh (the short form, in make check).
# It starts a stack with tests/harness/stack.sh in a new temporary directory
# (never var/ nor its ports), runs tests/fault/chaos.py against it, prints
# the summary table (scenario, requests, failures, events lost, duplicates,
# invariant held), writes it to a file, and removes the stack again.
#
#   ./shop chaos [--orders N] [--rounds R] [--out FILE] [--only NAME,...]
#                [--customers N] [--keep] [--stack DIR]
#
#   --orders N    orders per scenario (default 500; the short form 120); the
#                 customers place them at a steady rate while the fault runs
#   --rounds R    every scenario R times in a row on the same stack (default 2)
#   --out FILE    where the table goes too (default: the build directory's
#                 chaos-summary.txt; the short form writes none unless asked)
#   --only NAMES  some of: rabbitmq workers pools mariadb webhooks
#   --keep        leave the stack running afterwards (prints how to remove it)
#   --stack DIR   use the stack already running in DIR (started with
#                 tests/harness/stack.sh start DIR); it is left running
#   --short, --tap  the make check form (tests/fault/run.sh passes them)
#
# Environment: SHOP_BUILD (the build whose binaries run; default build/ of
# the checkout, or top_builddir under make check), PYTHON (python3).
# Exit status: 0 when every invariant held, 1 otherwise, 2 on bad usage.
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
REPO=$(cd "$HERE/../.." && pwd -P)
BUILD=${SHOP_BUILD:-${top_builddir:-$REPO/build}}
BUILD=$(cd "$BUILD" 2>/dev/null && pwd -P) || { echo "chaos: no build directory $BUILD" >&2; exit 2; }
PYTHON=${PYTHON:-python3}
STACK=$REPO/tests/harness/stack.sh

args=() out= keep= given= tap= short=
while [ $# -gt 0 ]; do
	case $1 in
	--out) out=${2:?--out FILE}; shift 2 ;;
	--out=*) out=${1#--out=}; shift ;;
	--keep) keep=1; shift ;;
	--stack) given=${2:?--stack DIR}; shift 2 ;;
	--stack=*) given=${1#--stack=}; shift ;;
	--tap) tap=1; args+=("$1"); shift ;;
	--short) short=1; args+=("$1"); shift ;;
	-h|--help) sed -n '2,/^if \[ -z/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) args+=("$1"); shift ;;
	esac
done
[ -n "$out" ] || [ -n "$short" ] || out=$BUILD/chaos-summary.txt
[ -z "$out" ] || args+=(--out "$out")

say() { if [ -n "$tap" ]; then echo "# $*"; else echo "chaos: $*"; fi; }
bail() { if [ -n "$tap" ]; then echo "Bail out! $*"; else echo "chaos: $*" >&2; fi; exit 1; }

show_logs() {
	local f
	say "logs under $dir/log:"
	for f in "$dir"/log/*.log; do
		[ -s "$f" ] || continue
		case $f in */mariadb-install.log|*/nginx-access.log) continue ;; esac
		say "--- tail of $f"
		tail -n 8 "$f" | while IFS= read -r l; do say "  $l"; done
	done
}

if [ -n "$given" ]; then
	dir=$(cd "$given" && pwd -P) || bail "no directory $given"
	[ -f "$dir/stack.env" ] || bail "$dir/stack.env missing: start it with $STACK start $dir"
	[ "$dir" != "$REPO/var" ] || bail "refusing to run faults against $REPO/var"
	started=
else
	dir=$(mktemp -d "${TMPDIR:-/tmp}/shop-chaos.XXXXXX") || bail "mktemp failed"
	started=1
	cleanup() {
		local rc=$?
		if [ -n "$keep" ]; then
			say "the stack in $dir is left running ($(. "$dir/stack.env" 2>/dev/null && echo "$SHOP_BASE_URL"));" \
			    "remove it with: $STACK clean $dir"
		else
			bash "$STACK" clean "$dir" >/dev/null 2>&1 || say "stack.sh clean $dir failed"
		fi
		rm -f "$dir.start.log"
		exit $rc
	}
	trap cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM HUP
	t0=${EPOCHREALTIME/./}
	# top_builddir: the harness runs that build's binaries as they are (no build)
	if ! top_builddir=$BUILD bash "$STACK" start "$dir" > "$dir.start.log" 2>&1; then
		cat "$dir.start.log" | while IFS= read -r l; do say "  $l"; done
		rm -f "$dir.start.log"
		show_logs
		bail "the stack did not start (tests/harness/stack.sh start $dir)"
	fi
	t1=${EPOCHREALTIME/./}
	rm -f "$dir.start.log"
	say "stack up in $(( (t1 - t0) / 1000000 )).$(( (t1 - t0) % 1000000 / 100000 )) s in $dir (build $BUILD)"
fi

set -a
. "$dir/stack.env"
set +a
"$PYTHON" "$HERE/chaos.py" "${args[@]}"
rc=$?
[ "$rc" = 0 ] || show_logs
exit $rc
