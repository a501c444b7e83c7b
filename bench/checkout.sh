#!/usr/bin/env bash
# The checkout benchmark of the order flow (bench/README.md).
#
#   bench/checkout.sh
#
# Starts a private stack (tests/harness/stack.sh, test profile, free loopback
# ports, its own temporary directory), prepares data through the API
# (bench/prepare.py), then measures:
#   1. POST /api/v1/orders, two random lines, unique Idempotency-Key per
#      request (wrk + bench/orders.lua), run twice
#   2. the flash sale: BENCH_BUYERS buyers, each exactly once, racing for one
#      product with BENCH_FLASH_STOCK units (wrk + bench/flash.lua); then the
#      books: orders of that product and its reserved stock
#   3. POST /payments -> order PAID, polled (bench/paid.py); BENCH_PAID=0 skips
# and prints a table (also written to bench/results/checkout-latest.md) with
# the machine's context and, per scenario, where the time went (bench/probe.py).
# The stack is stopped on exit, whatever happens. The targets are printed
# beside the figures, never asserted; the exit status is 1 only when the
# benchmark could not run or the flash sale's books are wrong.
#
# Environment (defaults):
#   BENCH_DURATION=20s BENCH_THREADS=2 BENCH_CONNS=32     scenario 1 (wrk -t -c -d)
#   BENCH_PRODUCTS=200                                   products drawn from
#   BENCH_BUYERS=1000 BENCH_FLASH_STOCK=100 BENCH_FLASH_CONNS=256
#   BENCH_FLASH_MAX=30      seconds the flash sale may take at most (wrk -d)
#   BENCH_PAID=200 BENCH_PAID_CONC=8 BENCH_PAID_POLL_MS=10
#   BENCH_DIR               the stack's directory (default: a new mktemp -d)
#   BENCH_KEEP=1            stop the stack gracefully and keep its directory
#                           (logs) instead of removing it
#   BENCH_RESULTS           where to write the table (bench/results/checkout-latest.md)
#   BENCH_REV               what was measured, for the table (default: git's HEAD)
#   SHOP_BUILD, SHOP_SKIP_BUILD, SHOP_API_RATE/BURST, SHOP_AUTH_RATE/BURST pass
#   through to ./shop (the rate limits default to 1000000 here).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
REPO=$(cd "$HERE/.." && pwd -P)
export PYTHONDONTWRITEBYTECODE=1

DURATION=${BENCH_DURATION:-20s}
THREADS=${BENCH_THREADS:-2}
CONNS=${BENCH_CONNS:-32}
PRODUCTS=${BENCH_PRODUCTS:-200}
BUYERS=${BENCH_BUYERS:-1000}
FLASH_STOCK=${BENCH_FLASH_STOCK:-100}
FLASH_CONNS=${BENCH_FLASH_CONNS:-256}
FLASH_MAX=${BENCH_FLASH_MAX:-30}
PAID=${BENCH_PAID:-200}
PAID_CONC=${BENCH_PAID_CONC:-8}
PAID_POLL_MS=${BENCH_PAID_POLL_MS:-10}
RESULTS=${BENCH_RESULTS:-$HERE/results/checkout-latest.md}

say() { printf 'bench: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

command -v wrk > /dev/null || die "wrk is not installed (apt-get install wrk)"
command -v python3 > /dev/null || die "python3 is not installed"
command -v mariadb > /dev/null || die "the mariadb client is not installed"
for v in THREADS CONNS PRODUCTS BUYERS FLASH_STOCK FLASH_CONNS FLASH_MAX PAID PAID_CONC; do
	[[ ${!v} =~ ^[0-9]+$ ]] || die "BENCH_$v must be a number, not '${!v}'"
done
[ "$PRODUCTS" -ge 2 ] || die "BENCH_PRODUCTS must be at least 2"
[ "$BUYERS" -ge "$FLASH_CONNS" ] || die "BENCH_BUYERS ($BUYERS) must be at least BENCH_FLASH_CONNS ($FLASH_CONNS)"
[ "$FLASH_CONNS" -ge "$THREADS" ] || die "BENCH_FLASH_CONNS must be at least BENCH_THREADS"

# ---------------------------------------------------------------- the stack

DIR=${BENCH_DIR:-$(mktemp -d /tmp/shop-bench.XXXXXX)}
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd -P)
W=$DIR/bench                    # our files; wrk's command line names DIR (probe.py)
WRK_PID=

cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	if [ -n "$WRK_PID" ] && kill -0 "$WRK_PID" 2>/dev/null; then
		kill "$WRK_PID" 2>/dev/null || true
		wait "$WRK_PID" 2>/dev/null || true
	fi
	if [ -n "${BENCH_KEEP:-}" ]; then
		say "stopping the stack (kept: $DIR)"
		"$REPO/tests/harness/stack.sh" stop "$DIR" || true
	else
		say "stopping the stack"
		"$REPO/tests/harness/stack.sh" clean "$DIR" || true
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

NPROC=$(nproc)
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
STARTED=$(date -u +%Y-%m-%dT%H:%M:%SZ)
if [ -n "${BENCH_REV:-}" ]; then
	REV=$BENCH_REV
else
	REV=$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)
	DIRTY=$(git -C "$REPO" status --porcelain --untracked-files=no 2>/dev/null | head -1) || DIRTY=
	[ -z "$DIRTY" ] || REV="$REV (with local changes)"
fi
CPU_MODEL=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
WRK_VERSION=$(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2 || true)
say "machine: $NPROC CPUs ($CPU_MODEL), load average $LOAD0"

say "starting a stack in $DIR"
SHOP_API_RATE=${SHOP_API_RATE:-1000000} SHOP_API_BURST=${SHOP_API_BURST:-1000000} \
SHOP_AUTH_RATE=${SHOP_AUTH_RATE:-1000000} SHOP_AUTH_BURST=${SHOP_AUTH_BURST:-1000000} \
	"$REPO/tests/harness/stack.sh" start "$DIR" >&2
# shellcheck disable=SC1091
. "$DIR/stack.env"
mkdir -p "$W"
chmod 700 "$W"
POOLS=$(awk -F' = ' '/^\[orders\]/{s=1;next} /^\[/{s=0} s&&$1=="procs"{p=$2} s&&$1=="threads"{t=$2} END{print p"x"t}' "$SHOP_CONF")

say "preparing data: $PRODUCTS products, 1 flash product ($FLASH_STOCK units), $BUYERS buyers"
python3 "$HERE/prepare.py" "$W" --products "$PRODUCTS" --buyers "$BUYERS" --flash-stock "$FLASH_STOCK" >&2
TAG=$(date +%s)-$$

# BENCH line of a wrk or paid.py output → shell variables b_<key>
parse() { # FILE
	local line kv
	line=$(grep '^BENCH ' "$1" | tail -1) || return 1
	unset "${!b_@}"
	for kv in ${line#BENCH }; do
		printf -v "b_${kv%%=*}" '%s' "${kv#*=}"
	done
}

ROWS=()       # table rows (markdown)
DETAILS=()    # "where the time goes" blocks
OK=1

# CPU seconds (user + system) of this shell's finished children so far: the
# client's (wrk's, paid.py's) own CPU time is the difference around it.
# (`times` must run in this shell, not in a pipe or $(...): a forked shell
# has no finished children.)
child_cpu() { # VAR
	times > "$W/times.txt"
	printf -v "$1" '%s' "$(awk 'NR == 2 {
		t = 0
		for (i = 1; i <= 2; i++) { split($i, p, /[ms]/); t += p[1] * 60 + p[2] }
		print t }' "$W/times.txt")"
}
client_cpu_since() { # START: CLIENT_CPU = CPU seconds of the children since START
	local now
	child_cpu now
	CLIENT_CPU=$(awk -v a="$1" -v b="$now" 'BEGIN { print b - a }')
}
CLIENT_CPU=0
probe_snap() { python3 "$HERE/probe.py" snap "$DIR" "$W/$1.json"; }
probe_report() { # NAME BEFORE AFTER [URI_PREFIX]
	local out
	out=$(python3 "$HERE/probe.py" report "$DIR" "$W/$2.json" "$W/$3.json" "$CLIENT_CPU" ${4:+"$4"} 2>&1 || true)
	DETAILS+=("**$1**" "" "$(sed 's/^/    /' <<< "$out")" "")
	sed 's/^/bench:   /' <<< "$out" >&2
}
meets() { # awk condition → "met" / "missed"
	if awk "BEGIN { exit !($1) }"; then echo met; else echo missed; fi
}

# ---------------------------------------------------------------- 1. orders

for run in 1 2; do
	say "scenario 1, run $run: wrk -t$THREADS -c$CONNS -d$DURATION --latency (POST /orders, 2 lines)"
	probe_snap "o$run-a"
	child_cpu cpu0
	wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency -s "$HERE/orders.lua" "$SHOP_BASE_URL" \
	    -- "$W/customer.token" "$W/products.txt" "o$run-$TAG" > "$W/orders-$run.out" 2>&1 ||
		{ cat "$W/orders-$run.out" >&2; die "wrk failed (scenario 1, run $run)"; }
	client_cpu_since "$cpu0"
	probe_snap "o$run-b"
	parse "$W/orders-$run.out" || { cat "$W/orders-$run.out" >&2; die "no BENCH line from wrk"; }
	sed 's/^/bench:   /' "$W/orders-$run.out" >&2
	target="≥ 1,000/s, p99 ≤ 50 ms: $(meets "$b_rps >= 1000 && $b_p99_ms <= 50")"
	notes="201: $b_status201; non-201 by status: $b_statuses; socket errors: $b_sockerr; $CONNS connections, $DURATION"
	ROWS+=("| 1. POST /orders (2 lines), run $run | $b_requests | $b_rps | $b_p50_ms | $b_p99_ms | $b_non201 | $target | $notes |")
	probe_report "1. POST /orders, run $run" "o$run-a" "o$run-b"
done

# ---------------------------------------------------------------- 2. flash sale

# flash_sale N LABEL PRODUCT: one race of every buyer for PRODUCT.
flash_sale() {
	local n=$1 label=$2 product=$3 deadline cpu0 done_dir=$W/flash-done-$1 out=$W/flash-$1.out
	say "scenario 2$n: flash sale, $label; $BUYERS buyers, $FLASH_CONNS connections, product $product ($FLASH_STOCK units)"
	mkdir -p "$done_dir"
	probe_snap "f$n-a"
	child_cpu cpu0
	START_MS=$(( $(date +%s%3N) + 500 ))
	wrk -t"$THREADS" -c"$FLASH_CONNS" -d"${FLASH_MAX}s" --timeout "${FLASH_MAX}s" --latency \
	    -s "$HERE/flash.lua" "$SHOP_BASE_URL" \
	    -- "$W/buyers.tokens" "$product" "f$n-$TAG" "$done_dir" "$THREADS" "$START_MS" \
	    > "$out" 2>&1 &
	WRK_PID=$!
	# Every thread writes its file once it has all its answers and stops;
	# then wrk only sleeps out -d: interrupt that (SIGINT) once its threads
	# are gone, so that the signal reaches the sleeping main thread.
	deadline=$(( $(date +%s) + FLASH_MAX + 5 ))
	while kill -0 "$WRK_PID" 2>/dev/null; do
		if [ "$(find "$done_dir" -type f | wc -l)" -ge "$THREADS" ] &&
		    [ "$(find "/proc/$WRK_PID/task" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)" -le 1 ]; then
			kill -INT "$WRK_PID" 2>/dev/null || true
			break
		fi
		[ "$(date +%s)" -lt "$deadline" ] || break
		sleep 0.05
	done
	wait "$WRK_PID" || { cat "$out" >&2; WRK_PID=; die "wrk failed (flash sale $n)"; }
	WRK_PID=
	client_cpu_since "$cpu0"
	probe_snap "f$n-b"
	parse "$out" || { cat "$out" >&2; die "no BENCH line from wrk (flash sale $n)"; }
	grep -E '^(BENCH|  [0-9]|  Socket|  Non-2xx)' "$out" | sed 's/^/bench:   /' >&2 || true

	# The books, as the database root: orders (and units) of the product, its stock.
	local sql books target notes non2xx orders units onhand reserved
	sql="SELECT COUNT(DISTINCT i.order_id), COALESCE(SUM(i.quantity), 0)
	       FROM shop_orders.order_items i WHERE i.product_id = $product;
	     SELECT on_hand, reserved FROM shop_catalog.stock WHERE product_id = $product;"
	read -r -d '' orders units onhand reserved < <(mariadb --defaults-file="$SHOP_DB_DEFAULTS_FILE" \
	    --batch --skip-column-names -e "$sql" | tr '\t' '\n'; printf '\0') || true
	books="orders of the product: $orders ($units units), stock on_hand $onhand reserved $reserved"
	if [ "$b_status201" = "$FLASH_STOCK" ] && [ "$orders" = "$FLASH_STOCK" ] && [ "$units" = "$FLASH_STOCK" ] &&
	    [ "$reserved" = "$FLASH_STOCK" ] && [ "$b_requests" = "$BUYERS" ] &&
	    [ "$((b_status201 + b_status409))" = "$BUYERS" ]; then
		books="books OK: $books"
	else
		books="BOOKS WRONG: $books"
		OK=
	fi
	say "flash sale $n: $b_status201 × 201, $b_status409 × 409 ($b_out_of_stock OUT_OF_STOCK), $b_other other; $books"
	non2xx=$((b_requests - b_status201))
	target="exactly $FLASH_STOCK orders, p99 ≤ 100 ms: $(meets "$b_status201 == $FLASH_STOCK && $b_p99_ms <= 100")"
	notes="201: $b_status201, 409: $b_status409 (OUT_OF_STOCK $b_out_of_stock), other: $b_other ($b_statuses), socket errors: $b_sockerr, answers $b_requests of $b_expected; race over in $b_seconds s; $books; $FLASH_CONNS connections"
	ROWS+=("| 2$n. flash sale, $BUYERS buyers for $FLASH_STOCK units; $label | $b_requests | $b_rps | $b_p50_ms | $b_p99_ms | $non2xx | $target | $notes |")
	probe_report "2$n. flash sale, $label" "f$n-a" "f$n-b"
}

mapfile -t FLASH < "$W/flash.products"
flash_sale a "cold: each buyer's first request" "${FLASH[0]}"
flash_sale b "warm: the same buyers again" "${FLASH[1]}"

# ---------------------------------------------------------------- 3. pay → PAID

if [ "$PAID" -gt 0 ]; then
	say "scenario 3: $PAID orders paid with pm_card_ok, $PAID_CONC clients, polled every $PAID_POLL_MS ms"
	probe_snap p-a
	child_cpu cpu0
	python3 "$HERE/paid.py" "$W" --orders "$PAID" --concurrency "$PAID_CONC" --poll-ms "$PAID_POLL_MS" \
	    > "$W/paid.out" 2>&1 || { cat "$W/paid.out" >&2; die "paid.py failed"; }
	client_cpu_since "$cpu0"
	probe_snap p-b
	parse "$W/paid.out" || { cat "$W/paid.out" >&2; die "no BENCH line from paid.py"; }
	sed 's/^/bench:   /' "$W/paid.out" >&2
	notes="PAID: $b_paid of $b_requests, POST /payments non-202: $b_post_non202, not PAID within 10 s: $b_timeouts; POST /payments itself p50 $b_post_p50_ms / p99 $b_post_p99_ms ms; polled every $PAID_POLL_MS ms ($b_polls GETs); req/s = payments settled per second with $PAID_CONC clients"
	ROWS+=("| 3. POST /payments → order PAID | $b_requests | $b_rps | $b_p50_ms | $b_p99_ms | $((b_post_non202 + b_timeouts)) | (none) | $notes |")
	probe_report "3. pay → PAID (the POST /payments part; the rest runs in the workers)" p-a p-b /api/v1/payments
fi

# ---------------------------------------------------------------- the table

LOAD1=$(cut -d' ' -f1-3 /proc/loadavg)
{
	echo "# Checkout benchmark"
	echo
	echo "- when: $STARTED; commit $REV; profile test (MariaDB without fsync per commit)"
	echo "- machine: nproc $NPROC ($CPU_MODEL); load average at start $LOAD0, at the end $LOAD1"
	echo "- stack: private (tests/harness/stack.sh), orders pool ${POOLS} (procs x threads), nginx rate limits raised to ${SHOP_API_RATE:-1000000} r/s"
	echo "- client: $WRK_VERSION on the same machine (-t$THREADS); bench/checkout.sh"
	echo
	echo "| scenario | requests | req/s | p50 ms | p99 ms | non-2xx | target | notes |"
	echo "|---|---:|---:|---:|---:|---:|---|---|"
	printf '%s\n' "${ROWS[@]}"
	echo
	echo "Latencies are measured per request on the client (wrk: from writing the request to its"
	echo "last byte; scenario 3: bench/paid.py, POST to the GET that shows PAID)."
	echo
	echo "## Where the time goes"
	echo
	echo "cpu: share of ONE core over the scenario's window per component (100% = one core busy"
	echo "the whole time; the machine has $NPROC), \"others\" = busy time of everything else on the"
	echo "machine. nginx request_time − upstream_response_time = nginx + the auth subrequest;"
	echo "upstream − the app's duration_ms = waiting for a pool thread + FastCGI; duration_ms = the"
	echo "app's own work (database round trips and row-lock waits included)."
	echo
	printf '%s\n' "${DETAILS[@]}"
} > "$W/table.md"
mkdir -p "$(dirname "$RESULTS")"
cp "$W/table.md" "$RESULTS"
echo
cat "$W/table.md"
echo
say "written to $RESULTS"
[ -n "$OK" ] || die "the flash sale's books are wrong (see the table)"
