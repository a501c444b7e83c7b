#!/usr/bin/env bash
# Leaks that grow with requests: one pool (orders) and one worker (inventory)
# of a private test stack run under valgrind (memcheck, --leak-check=full) in
# place of their normal processes, on the same socket / queue with the same
# arguments, serve a load of N rounds (tests/valgrind/load.py: 5-6 requests
# to the orders pool and one order.cancelled event for the inventory worker
# per round), stop gracefully (SIGTERM) and write their leak summaries; then
# the same again with 10 x N rounds. The bytes "definitely" plus
# "indirectly lost" of each of the two programs must not grow from the first
# run to the second: what a program leaks once (at start or stop) is the
# same in both runs, what it leaks per request or per event is ten times
# more in the second.
#
#   tests/valgrind/run.sh [N]            (N default 50)
#
# Environment: SHOP_BUILD, the build whose programs run (default: $top_builddir
# inside make, else build/ of the checkout; a normal build: valgrind and
# ASan do not mix); VG_STACK_DIR, the stack's directory (default: a new temp
# directory, removed at the end); VG_KEEP=1 leaves the stack running (without
# its orders pool and inventory worker, stopped by the runs) and the
# directory in place. The valgrind logs are kept in $VG_OUT (default
# <build>/tests/valgrind/logs): <program>-<rounds>.<pid>.log. VG_PRELOAD: a
# shared library preloaded into the two programs only (to check that a leak
# planted in a library call is seen).
# Output is TAP (one test per program, the rest as "# " comments), so that
# it can also run as a test of make check. Exit 0: no growth; 1: a leak
# grows, a log has no leak summary, the load failed, or it cannot run (no
# valgrind, no build, the stack would not start: "Bail out!"). A build with
# AddressSanitizer is skipped (1..0 # SKIP): valgrind cannot run it, and
# LeakSanitizer checks that build already.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
REPO=$(cd "$HERE/../.." && pwd -P)
N=${1:-50}
[[ $N =~ ^[1-9][0-9]*$ ]] || { echo "usage: $0 [N]" >&2; exit 2; }

bail() { echo "Bail out! $*"; exit 1; }

BUILD=${SHOP_BUILD:-${top_builddir:-$REPO/build}}
BUILD=$(cd "$BUILD" && pwd -P)
POOL=orders
WORKER=inventory
POOL_BIN=$BUILD/fcgi-apps/orders/shop-orders
WORKER_BIN=$BUILD/workers/inventory/shop-inventory
OUT=${VG_OUT:-$BUILD/tests/valgrind/logs}

for b in "$POOL_BIN" "$WORKER_BIN"; do
	[ -x "$b" ] || bail "$b is missing: build first (make)"
	if [ "$(nm "$b" 2>/dev/null | grep -c __asan_init)" != 0 ]; then
		echo "1..0 # SKIP $b is built with AddressSanitizer: valgrind needs a normal build"
		exit 0
	fi
done
command -v valgrind >/dev/null || bail "valgrind is not installed (apt-get install valgrind)"
echo "1..2"

if [ -n "${VG_STACK_DIR:-}" ]; then
	STACK=$VG_STACK_DIR
	mkdir -p "$STACK"
	own_dir=
else
	STACK=$(mktemp -d "${TMPDIR:-/tmp}/shop-vg.XXXXXX")
	own_dir=1
fi
mkdir -p "$OUT"
rm -f "$OUT"/*.log

# Every valgrind process this script started and has not seen exit.
declare -A VG_PIDS=()

cleanup() {
	local pid
	for pid in "${VG_PIDS[@]}"; do
		kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
	done
	if [ -z "${VG_KEEP:-}" ]; then
		"$REPO/tests/harness/stack.sh" clean "$STACK" >/dev/null 2>&1 || true
		[ -z "$own_dir" ] || rm -rf "$STACK"
	fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM

t_start=$SECONDS
echo "# valgrind: a test stack in $STACK (build $BUILD)"
if ! SHOP_BUILD=$BUILD SHOP_SKIP_BUILD=1 "$REPO/tests/harness/stack.sh" start "$STACK" >"$OUT/stack.txt" 2>&1; then
	sed 's/^/# /' "$OUT/stack.txt"
	bail "the test stack did not start"
fi
# shellcheck disable=SC1091
. "$STACK/stack.env"
RUN=$SHOP_VAR/run

wait_for() { # SECONDS CMD...: polls CMD every 0.2 s
	local end=$((SECONDS + $1))
	shift
	until "$@"; do
		[ $SECONDS -lt $end ] || return 1
		sleep 0.2
	done
}
alive() { kill -0 "$1" 2>/dev/null; }
dead() { ! kill -0 "$1" 2>/dev/null; }

# The pid in a pid file of this stack.
pid_of() { local p=; [ ! -f "$RUN/$1.pid" ] || read -r p < "$RUN/$1.pid" || true; echo "$p"; }

# Stops the stack's own process NAME (SIGTERM, as ./shop does) and waits.
stop_normal() {
	local name=$1 pid
	pid=$(pid_of "$name")
	[ -n "$pid" ] && alive "$pid" || return 0
	kill -TERM "$pid"
	wait_for 30 dead "$pid" || bail "$name (pid $pid) does not stop"
}

# The user the stack runs its servers as (./shop drops root to "shop" when it can).
RUN_AS=$(stat -c %U "$SHOP_VAR/shop.conf")
PREFIX=()
if [ "$(id -u)" = 0 ] && [ "$RUN_AS" != root ]; then
	PREFIX=(setpriv --reuid="$RUN_AS" --regid="$RUN_AS" --init-groups)
	chown "$RUN_AS:" "$OUT"
fi

# Leaks are read from the LEAK SUMMARY; ERROR SUMMARY then counts the other
# errors only (invalid reads and writes, uninitialised values, bad frees).
VG=(valgrind --tool=memcheck --leak-check=full --show-leak-kinds=definite,indirect
	--errors-for-leak-kinds=none --num-callers=40)

# Starts CMD under valgrind as the stack would start the program; sets VG_PID.
vg_start() { # NAME ROUNDS CMD...
	local name=$1 rounds=$2
	shift 2
	(
		[ -z "${VG_PRELOAD:-}" ] || export LD_PRELOAD=$VG_PRELOAD
		exec setsid "${PREFIX[@]}" "${VG[@]}" --log-file="$OUT/$name-$rounds.%p.log" "$@" \
		    </dev/null >>"$SHOP_LOG_DIR/$name.log" 2>&1
	) &
	VG_PID=$!
	VG_PIDS[$name]=$VG_PID
}

api_ok() { # the orders pool answers through nginx (401 without a token: the pool is up)
	local code
	code=$(curl -s -o /dev/null -w '%{http_code}' "$SHOP_BASE_URL/api/v1/orders/1" \
	    -H 'Authorization: Bearer x') || return 1
	[ "$code" != 502 ] && [ "$code" != 504 ] && [ "$code" != 000 ]
}
consuming() { # the worker is a consumer of its queue
	curl -sf -u "$SHOP_AMQP_USER:$SHOP_AMQP_PASSWORD" \
	    "$SHOP_MGMT_URL/api/queues/$SHOP_AMQP_VHOST/inventory.settlement" |
	    python3 -c 'import json,sys; sys.exit(0 if json.load(sys.stdin).get("consumers", 0) >= 1 else 1)'
}
pool_up() { [ -S "$RUN/$POOL.sock" ] && [ -s "$RUN/$POOL.pid" ] && api_ok; }

# One run: both programs under valgrind, the load, a graceful stop.
run() { # ROUNDS
	local rounds=$1 ppid wpid rc=0
	stop_normal "$POOL"
	stop_normal "$WORKER"
	rm -f "$RUN/$POOL.sock" "$RUN/$POOL.pid" "$RUN/$WORKER.pid"
	# One process, two threads: what a request leaks stays in one log.
	vg_start "$POOL" "$rounds" "$POOL_BIN" -c "$SHOP_CONF" -s "$RUN/$POOL.sock" -P "$RUN/$POOL.pid" -p 1 -t 2
	ppid=$VG_PID
	vg_start "$WORKER" "$rounds" "$WORKER_BIN" -c "$SHOP_CONF" -P "$RUN/$WORKER.pid"
	wpid=$VG_PID
	wait_for 120 pool_up || bail "the orders pool under valgrind did not come up"
	wait_for 120 consuming || bail "the inventory worker under valgrind does not consume"

	python3 "$HERE/load.py" "$SHOP_BASE_URL" "$SHOP_DEMO_LOGINS" "$rounds" >"$OUT/load-$rounds.txt" 2>&1 ||
	    rc=1
	sed 's/^/# /' "$OUT/load-$rounds.txt"

	kill -TERM "$ppid" "$wpid"
	# The leak check runs at exit: a few seconds under valgrind.
	wait_for 120 dead "$ppid" && wait_for 120 dead "$wpid" ||
	    bail "a program under valgrind did not stop within 120 s"
	unset "VG_PIDS[$POOL]" "VG_PIDS[$WORKER]"
	return $rc
}

# "definitely lost" + "indirectly lost" bytes over the logs of NAME-ROUNDS.*,
# or "?" when a log has no leak summary (a process killed before its exit).
lost() { # NAME ROUNDS
	local f total=0 d i
	for f in "$OUT/$1-$2".*.log; do
		[ -f "$f" ] || { echo "?"; return; }
		if grep -q 'All heap blocks were freed' "$f"; then
			continue
		fi
		d=$(sed -n 's/.*definitely lost: \([0-9,]*\) bytes.*/\1/p' "$f" | tr -d , | tail -n 1)
		i=$(sed -n 's/.*indirectly lost: \([0-9,]*\) bytes.*/\1/p' "$f" | tr -d , | tail -n 1)
		[ -n "$d" ] && [ -n "$i" ] || { echo "?"; return; }
		total=$((total + d + i))
	done
	echo "$total"
}
errors() { # NAME ROUNDS → memcheck errors (leaks aside) over the logs
	local f n total=0
	for f in "$OUT/$1-$2".*.log; do
		[ -f "$f" ] || continue
		n=$(sed -n 's/.*ERROR SUMMARY: \([0-9,]*\) errors.*/\1/p' "$f" | tr -d , | tail -n 1)
		total=$((total + ${n:-0}))
	done
	echo "$total"
}

status=0
run "$N" || load_failed=1
run $((10 * N)) || load_failed=1
[ -z "${load_failed:-}" ] || status=1

k=0
for name in "$POOL" "$WORKER"; do
	k=$((k + 1))
	a=$(lost "$name" "$N")
	b=$(lost "$name" $((10 * N)))
	e=$(($(errors "$name" "$N") + $(errors "$name" $((10 * N)))))
	what="shop-$name: definitely + indirectly lost $a B after $N rounds, $b B after $((10 * N)); $e memcheck errors"
	if [ "$a" = "?" ] || [ "$b" = "?" ]; then
		echo "not ok $k - $what: a log without a leak summary ($OUT/$name-*.log)"
		status=1
	elif [ "$b" -gt "$a" ]; then
		echo "not ok $k - $what: the leak grows with requests ($OUT/$name-$((10 * N)).*.log)"
		status=1
	elif [ -n "${load_failed:-}" ]; then
		echo "not ok $k - $what: the load failed (above)"
	else
		echo "ok $k - $what"
	fi
	[ "$e" = 0 ] || echo "# shop-$name: memcheck errors other than leaks: see $OUT/$name-*.log"
done
echo "# valgrind: $([ $status = 0 ] && echo 'no leak grows with requests' || echo FAILED) in $((SECONDS - t_start)) s; logs in $OUT"
exit $status
