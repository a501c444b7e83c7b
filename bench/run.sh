#!/usr/bin/env bash
# ./shop bench: the shop beside its peers, on a private stack (bench/README.md).
#
#   ./shop bench            (builds first, then runs this)
#   bench/run.sh            (uses the build in SHOP_BUILD, default build/, as it is)
#
# Starts a private stack (tests/harness/stack.sh: test profile, free loopback
# ports, a directory of its own) with BENCH_PRODUCTS demo products, adds the
# peers to its nginx (bench/peers.conf.in: nginx's own "return 200", the
# FastCGI hello responder of bench/hello/, PHP-FPM running bench/php/product.php
# against the same MariaDB), and measures with wrk on loopback, every figure
# twice, the runs of the read scenarios interleaved (run 1 of each, then run 2):
#   the peers and GET /api/v1/products/{id} (cache off), at -c64 and -c256;
#   the same with the microcache on, and how soon a change shows (visible.py);
#   GET /api/v1/products?q=&category=; GET /users/me and GET /products/{id}
#   with tokens;
#   the webhook → PAID + settled + emailed path at BENCH_WEBHOOK_RATE/s
#   (webhooks.py); the flash sale (flash.lua, cold and warm); POST /orders
#   with 2 lines (orders.lua);
# then the memory of the pools and workers. Prints a table with the ratios
# and the targets (printed, never asserted) and writes it to
# bench/results/latest.md. The stack and the peers are stopped on exit,
# whatever happens. Exit status 1 only when the benchmark could not run or
# the flash sale's books are wrong.
#
# Environment (defaults):
#   BENCH_DURATION=10s BENCH_WARMUP=2s BENCH_THREADS=2   each wrk run; warm-up per target
#   BENCH_CONNS=64 BENCH_CONNS_HIGH=256 BENCH_ORDER_CONNS=32
#   BENCH_PRODUCTS=10000     demo products loaded (at least 10,000 for the record)
#   BENCH_PHP_CHILDREN=8     PHP-FPM workers (static pool)
#   BENCH_WEBHOOK_RATE=500 BENCH_WEBHOOK_SECONDS=5
#   BENCH_BUYERS=1000 BENCH_FLASH_STOCK=100 BENCH_FLASH_CONNS=256 BENCH_FLASH_MAX=30
#   BENCH_DIR      the stack's directory (default: a new mktemp -d under /tmp)
#   BENCH_KEEP=1   stop the stack gracefully and keep its directory (logs)
#   BENCH_RESULTS  where the table goes (bench/results/latest.md)
#   BENCH_REV      what was measured, for the table (default: git's HEAD)
#   SHOP_BUILD (default build/), SHOP_SKIP_BUILD (default 1: `./shop bench`
#   has built already), the SHOP_*_RATE/_BURST limits (default 10^6 here).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
REPO=$(cd "$HERE/.." && pwd -P)
export PYTHONDONTWRITEBYTECODE=1

DURATION=${BENCH_DURATION:-10s}
WARMUP=${BENCH_WARMUP:-2s}
THREADS=${BENCH_THREADS:-2}
CONNS=${BENCH_CONNS:-64}
CONNS_HIGH=${BENCH_CONNS_HIGH:-256}
ORDER_CONNS=${BENCH_ORDER_CONNS:-32}
PRODUCTS=${BENCH_PRODUCTS:-10000}
PHP_CHILDREN=${BENCH_PHP_CHILDREN:-8}
WEBHOOK_RATE=${BENCH_WEBHOOK_RATE:-500}
WEBHOOK_SECONDS=${BENCH_WEBHOOK_SECONDS:-5}
BUYERS=${BENCH_BUYERS:-1000}
FLASH_STOCK=${BENCH_FLASH_STOCK:-100}
FLASH_CONNS=${BENCH_FLASH_CONNS:-256}
FLASH_MAX=${BENCH_FLASH_MAX:-30}
RESULTS=${BENCH_RESULTS:-$HERE/results/latest.md}
export SHOP_BUILD=${SHOP_BUILD:-$REPO/build}
export SHOP_SKIP_BUILD=${SHOP_SKIP_BUILD:-1}
HELLO=$SHOP_BUILD/bench/hello/shop-bench-hello

say() { printf 'bench: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

# ---------------------------------------------------------------- what it needs

for v in THREADS CONNS CONNS_HIGH ORDER_CONNS PRODUCTS PHP_CHILDREN WEBHOOK_RATE WEBHOOK_SECONDS \
    BUYERS FLASH_STOCK FLASH_CONNS FLASH_MAX; do
	[[ ${!v} =~ ^[0-9]+$ ]] && [ "${!v}" -gt 0 ] || die "BENCH_$v must be a positive number, not '${!v}'"
done
[[ $DURATION =~ ^[0-9]+[sm]?$ ]] || die "BENCH_DURATION must be like 10s, not '$DURATION'"
[[ $WARMUP =~ ^[0-9]+[sm]?$ ]] || die "BENCH_WARMUP must be like 2s, not '$WARMUP'"
[ "$BUYERS" -ge "$FLASH_CONNS" ] || die "BENCH_BUYERS ($BUYERS) must be at least BENCH_FLASH_CONNS ($FLASH_CONNS)"
command -v wrk > /dev/null || die "wrk is not installed (apt-get install wrk)"
command -v python3 > /dev/null || die "python3 is not installed"
command -v mariadb > /dev/null || die "the mariadb client is not installed (apt-get install mariadb-client)"
PHPFPM=$(command -v php-fpm 2>/dev/null || ls /usr/sbin/php-fpm[0-9]* 2>/dev/null | sort -V | tail -n 1 || true)
[ -n "$PHPFPM" ] && [ -x "$PHPFPM" ] ||
	die "php-fpm is not installed: the LEMP peer needs it (apt-get install php-fpm php-mysql)"
"$PHPFPM" -m 2>/dev/null | grep -qx pdo_mysql ||
	die "PHP's pdo_mysql is missing: the LEMP peer needs it (apt-get install php-mysql)"
[ -x "$HELLO" ] || die "$HELLO is missing: build the shop with bench/local.mk (./shop bench builds)"
[ -x "$SHOP_BUILD/fcgi-apps/catalog/shop-catalog" ] ||
	die "no shop build in $SHOP_BUILD (./shop bench builds; or set SHOP_BUILD)"

# ---------------------------------------------------------------- the stack

DIR=${BENCH_DIR:-$(mktemp -d /tmp/shop-bench.XXXXXX)}
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd -P)
W=$DIR/bench                    # our files (wrk's command lines name DIR: probe.py)
WRK_PID= PHP_PID= HELLO_STARTED= BG_PID=

stop_pid() { # PID [SECONDS]: SIGTERM, wait, then SIGKILL
	local pid=$1 n=$((${2:-10} * 10))
	kill -0 "$pid" 2>/dev/null || return 0
	kill "$pid" 2>/dev/null || true
	while [ "$n" -gt 0 ] && kill -0 "$pid" 2>/dev/null; do sleep 0.1; n=$((n - 1)); done
	kill -9 "$pid" 2>/dev/null || true
}

cleanup() {
	local rc=$? pid
	trap - EXIT INT TERM
	for pid in $WRK_PID $BG_PID; do
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	[ -z "$PHP_PID" ] || stop_pid "$PHP_PID" 10
	if [ -n "$HELLO_STARTED" ] && [ -r "$DIR/run/bench-hello.pid" ]; then
		read -r pid < "$DIR/run/bench-hello.pid" || pid=
		[ -z "$pid" ] || stop_pid "$pid" 10
	fi
	if [ -n "${BENCH_KEEP:-}" ]; then
		say "stopping the stack (kept: $DIR)"
		"$REPO/tests/harness/stack.sh" stop "$DIR" >&2 || true
	else
		say "stopping the stack"
		"$REPO/tests/harness/stack.sh" clean "$DIR" >&2 || true
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

T_START=$(date +%s)
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
PHP_VERSION=$("$PHPFPM" -v 2>/dev/null | head -1 | cut -d' ' -f1-2)
NGINX_VERSION=$(nginx -v 2>&1 | sed 's/.*nginx\///')
MARIADB_VERSION=$(mariadb --version | sed -n 's/.*Distrib \([^,-]*\).*/\1/p')
say "machine: $NPROC CPUs ($CPU_MODEL), load average $LOAD0"

say "starting a stack in $DIR ($PRODUCTS demo products)"
# The payment simulator holds pm_card_slow outcomes back for its longest
# (10 min): the webhooks of the background scenario are webhooks.py's alone.
SHOP_DEMO_PRODUCTS=$PRODUCTS SHOP_PAYMENT_SIM_SLOW_MS=600000 \
SHOP_API_RATE=${SHOP_API_RATE:-1000000} SHOP_API_BURST=${SHOP_API_BURST:-1000000} \
SHOP_AUTH_RATE=${SHOP_AUTH_RATE:-1000000} SHOP_AUTH_BURST=${SHOP_AUTH_BURST:-1000000} \
	"$REPO/tests/harness/stack.sh" start "$DIR" >&2
# shellcheck disable=SC1091
. "$DIR/stack.env"
mkdir -p "$W"
chmod 700 "$W"
T_STACK=$(date +%s)
pool_shape() { # APP → "PxT"
	awk -v app="[$1]" -F' = ' '$0 == app {s=1; next} /^\[/ {s=0}
	    s && $1 == "procs" {p=$2} s && $1 == "threads" {t=$2} END {print p "x" t}' "$SHOP_CONF"
}
sqlr() { mariadb --defaults-file="$SHOP_DB_DEFAULTS_FILE" --batch --skip-column-names "$@"; }

# The data: the demo catalog (schema/demo/catalog.sql: a category tree and
# BENCH_PRODUCTS products with stock, deterministic for a given count),
# loaded by ./shop up; checked here.
ACTIVE=$(sqlr -e "SELECT COUNT(*) FROM shop_catalog.products WHERE status = 'ACTIVE'")
[ "$ACTIVE" -ge "$PRODUCTS" ] || die "the catalog has $ACTIVE active products, not $PRODUCTS"
sqlr -e "SELECT id FROM shop_catalog.products WHERE status = 'ACTIVE' AND sku LIKE 'DEMO-%'
    ORDER BY id LIMIT $PRODUCTS" > "$W/ids.txt"
[ "$(wc -l < "$W/ids.txt")" -ge "$PRODUCTS" ] || die "fewer than $PRODUCTS demo products"
for p in nginx hello php; do sed "s|^|/bench/$p/api/v1/products/|" "$W/ids.txt" > "$W/paths-$p.txt"; done
sed 's|^|/api/v1/products/|' "$W/ids.txt" > "$W/paths-shop.txt"
head -n 100 "$W/paths-shop.txt" > "$W/paths-hot.txt"      # a hot set: 100 products
# Searches a customer would type: one or two words of a product's name, in
# a category above its own (so that the category's subtree is searched).
sqlr -e "SELECT DISTINCT CONCAT('/api/v1/products?q=',
        REPLACE(LOWER(SUBSTRING_INDEX(p.name, ' ', IF(p.id % 2 = 0, -1, -2))), ' ', '%20'),
        '&category=', cp.ancestor_id)
    FROM shop_catalog.products p
    JOIN shop_catalog.category_paths cp ON cp.descendant_id = p.category_id AND cp.depth IN (1, 2)
    WHERE p.status = 'ACTIVE' AND p.sku LIKE 'DEMO-%' ORDER BY 1" > "$W/paths-search.txt"
echo "/api/v1/users/me" > "$W/paths-me.txt"
say "data: $ACTIVE active products, $(wc -l < "$W/paths-search.txt") distinct searches"

say "preparing: 200 products for orders, 2 flash products, $BUYERS buyers (bench/prepare.py)"
python3 "$HERE/prepare.py" "$W" --products 200 --buyers "$BUYERS" --flash-stock "$FLASH_STOCK" >&2
T_PREP=$(date +%s)

# ---------------------------------------------------------------- the peers

RUN_USER=$(stat -c %U "$SHOP_VAR/run")
RUN_GROUP=$(stat -c %G "$SHOP_VAR/run")
as_stack_user() {
	if [ "$(id -u)" = 0 ] && [ "$RUN_USER" != root ]; then
		setpriv --reuid="$RUN_USER" --regid="$RUN_GROUP" --clear-groups "$@"
	else
		"$@"
	fi
}
# NAME=VALUE... < template > file: replaces each @NAME@.
render() {
	python3 -c '
import sys
s = sys.stdin.read()
for kv in sys.argv[1:]:
    k, _, v = kv.partition("=")
    s = s.replace("@" + k + "@", v)
sys.stdout.write(s)' "$@"
}
wait_for() { # SECONDS CMD...: polls every 50 ms
	local end=$(($(date +%s) + $1)); shift
	until "$@"; do
		[ "$(date +%s)" -lt "$end" ] || return 1
		sleep 0.05
	done
}
http_code() { curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$@" || true; }

# The hello responder, the shop's pool runner at the shop's pool size.
HELLO_SHAPE=$(pool_shape catalog)
HELLO_SOCK=$SHOP_VAR/run/bench-hello.sock
HELLO_STARTED=1
as_stack_user setsid "$HELLO" -s "$HELLO_SOCK" -p "${HELLO_SHAPE%x*}" -t "${HELLO_SHAPE#*x}" \
    -P "$SHOP_VAR/run/bench-hello.pid" < /dev/null >> "$SHOP_VAR/log/bench-hello.log" 2>&1 &
wait_for 10 test -S "$HELLO_SOCK" || { tail -n 20 "$SHOP_VAR/log/bench-hello.log" >&2; die "the hello responder did not start"; }

# PHP-FPM: Debian's, its own php.ini, a static pool as the stack's user.
PHP_SOCK=$SHOP_VAR/run/bench-php.sock
DB_PASSWORD=$(head -n 1 "$SHOP_VAR/secrets/db-catalog")
umask 077
render WORK="$W" USER="$RUN_USER" GROUP="$RUN_GROUP" SOCKET="$PHP_SOCK" CHILDREN="$PHP_CHILDREN" \
    DB_SOCKET="$SHOP_DB_SOCKET" DB_PASSWORD="$DB_PASSWORD" < "$HERE/php/pool.conf.in" > "$W/php-fpm.conf"
umask 022
PHP_FLAGS=()
[ "$(id -u)" != 0 ] || PHP_FLAGS=(-R)
"$PHPFPM" -F -y "$W/php-fpm.conf" "${PHP_FLAGS[@]}" < /dev/null > "$W/php-fpm.out" 2>&1 &
PHP_PID=$!
wait_for 10 test -S "$PHP_SOCK" || { cat "$W/php-fpm.out" "$W/php-fpm.log" >&2 2>/dev/null; die "php-fpm did not start"; }

# The ceiling answers with the body of a real product's answer.
FIRST_ID=$(head -n 1 "$W/ids.txt")
CEILING_BODY=$(curl -s --max-time 5 "$SHOP_BASE_URL/api/v1/products/$FIRST_ID")
case $CEILING_BODY in
*"'"*|*'\'*|*'$'*|'') die "cannot use product $FIRST_ID's answer as the ceiling's body: $CEILING_BODY" ;;
esac

# nginx: bench-peers.conf (server level) and, when nginx.conf includes
# bench-http/, the hello upstream with kept-alive connections as the pools
# have; otherwise hello is reached without keepalive (and the table says so).
HELLO_PASS=unix:$HELLO_SOCK
HELLO_NOTE="no keepalive: nginx.conf lacks \"include bench-http/*.conf\""
if grep -q 'include bench-http/\*\.conf;' "$SHOP_VAR/nginx/nginx.conf"; then
	mkdir -p "$SHOP_VAR/nginx/bench-http"
	render HELLO_SOCKET="$HELLO_SOCK" < "$HERE/upstreams.conf.in" > "$SHOP_VAR/nginx/bench-http/upstreams.conf"
	HELLO_PASS=bench_hello
	HELLO_NOTE="kept-alive upstream (keepalive 32), as the pools"
fi
GEN=0
MICROCACHE=off
AUTHCACHE=on
# Renders bench-peers.conf with the microcache on or off (and the auth cache,
# on unless said), reloads nginx and waits until its new workers answer.
nginx_peers() { # on|off [on|off]
	MICROCACHE=$1 AUTHCACHE=${2:-on}
	GEN=$((GEN + 1))
	{
		render MICROCACHE_SWITCH="set \$shop_microcache $([ "$1" = on ] && echo shop_microcache || echo off);" \
		    AUTHCACHE_SWITCH="set \$shop_authcache $([ "$AUTHCACHE" = on ] && echo shop_authcache || echo off);" \
		    CEILING_BODY="$CEILING_BODY" HELLO_PASS="$HELLO_PASS" PHP_SOCKET="$PHP_SOCK" \
		    PHP_SCRIPT="$HERE/php/product.php" < "$HERE/peers.conf.in"
		printf '\n# which rendering answers (bench/run.sh waits for it after a reload)\n'
		printf 'location = /bench/generation {\n\treturn 200 "%s";\n}\n' "$GEN"
	} > "$SHOP_VAR/nginx/bench-peers.conf"
	# (as the stack's user: nginx -t as root would create the cache and temp
	# directories for the user nginx defaults to)
	as_stack_user nginx -p "$SHOP_VAR/nginx/" -c "$SHOP_VAR/nginx/nginx.conf" -e "$SHOP_VAR/log/nginx-error.log" -t -q ||
		die "nginx refuses the peers' configuration ($SHOP_VAR/nginx/bench-peers.conf)"
	kill -HUP "$(cat "$SHOP_VAR/nginx/nginx.pid")"
	wait_for 20 eval '[ "$(curl -s --max-time 2 "$SHOP_BASE_URL/bench/generation")" = "$GEN" ]' ||
		die "nginx did not take the peers' configuration"
}
nginx_peers off
for p in nginx hello php; do
	c=$(http_code "$SHOP_BASE_URL/bench/$p/api/v1/products/$FIRST_ID")
	[ "$c" = 200 ] || { tail -n 5 "$SHOP_VAR/log/nginx-error.log" "$W/php-fpm.log" >&2 2>/dev/null; die "peer $p answers $c"; }
done
say "peers: nginx return 200, hello ($HELLO_SHAPE, $HELLO_NOTE), $PHP_VERSION ($PHP_CHILDREN workers)"

# ---------------------------------------------------------------- measuring

# BENCH line of an output → shell variables b_<key>
parse() { # FILE
	local line kv
	line=$(grep '^BENCH ' "$1" | tail -1) || return 1
	unset "${!b_@}"
	for kv in ${line#BENCH }; do
		printf -v "b_${kv%%=*}" '%s' "${kv#*=}"
	done
}
# CPU seconds (user + system) of this shell's finished children (see checkout.sh).
child_cpu() { # VAR
	times > "$W/times.txt"
	printf -v "$1" '%s' "$(awk 'NR == 2 {
		t = 0
		for (i = 1; i <= 2; i++) { split($i, p, /[ms]/); t += p[1] * 60 + p[2] }
		print t }' "$W/times.txt")"
}
client_cpu_since() { local now; child_cpu now; CLIENT_CPU=$(awk -v a="$1" -v b="$now" 'BEGIN { print b - a }'); }
CLIENT_CPU=0
DETAILS=()
probe_snap() { python3 "$HERE/probe.py" snap "$DIR" "$W/$1.json"; }
probe_report() { # TITLE BEFORE AFTER [REQUESTS]
	local out
	out=$(python3 "$HERE/probe.py" report "$DIR" "$W/$2.json" "$W/$3.json" "$CLIENT_CPU" ${4:+"$4"} 2>&1 || true)
	DETAILS+=("**$1**" "" "$(sed 's/^/    /' <<< "$out")" "")
	sed 's/^/bench:   /' <<< "$out" >&2
}
meets() { if awk "BEGIN { exit !($1) }"; then echo met; else echo missed; fi; }
lines_of() { [ -f "$1" ] && wc -l < "$1" || echo 0; }

declare -A RPS P50 P99 TMO US NREQ   # KEY,RUN → figures
ROWS=()
LABEL_OF=()
declare -A LABEL

# One wrk run of the GET scenarios. KEY names the figure (ratios), LABEL the row.
wrk_get() { # KEY RUN CONNS PATHS DIST TOKENS LABEL [PROBE_REQUESTS]
	local key=$1 run=$2 conns=$3 paths=$4 dist=$5 tokens=$6 label=$7 probe=${8:-} out
	local applog0 applog1 authlog0 authlog1 cpu0 cpu note=""
	out=$W/$key-$run.out
	say "$label, run $run: wrk -t$THREADS -c$conns -d$DURATION"
	probe_snap "$key-$run-a"
	applog0=$(lines_of "$SHOP_LOG_DIR/catalog.log")
	authlog0=$(lines_of "$SHOP_LOG_DIR/auth.log")
	child_cpu cpu0
	wrk -t"$THREADS" -c"$conns" -d"$DURATION" --timeout 2s --latency -s "$HERE/get.lua" \
	    "$SHOP_BASE_URL" -- "$W/$paths" "$dist" "${tokens:+$W/$tokens}" > "$out" 2>&1 ||
		{ cat "$out" >&2; die "wrk failed ($label, run $run)"; }
	client_cpu_since "$cpu0"
	probe_snap "$key-$run-b"
	applog1=$(lines_of "$SHOP_LOG_DIR/catalog.log")
	authlog1=$(lines_of "$SHOP_LOG_DIR/auth.log")
	parse "$out" || { cat "$out" >&2; die "no BENCH line from wrk ($label)"; }
	RPS[$key,$run]=$b_rps P50[$key,$run]=$b_p50_ms P99[$key,$run]=$b_p99_ms TMO[$key,$run]=$b_timeouts
	NREQ[$key,$run]=$b_requests
	LABEL[$key]=$label
	if [ "$MICROCACHE" = on ] && [ "$b_requests" -gt 0 ]; then
		# the catalog app's log lines in the window = the requests that missed
		note="microcache: $(awk -v m="$((applog1 - applog0))" -v n="$b_requests" \
		    'BEGIN { printf "%.1f%% of requests answered by nginx (%d reached the pool)", 100 * (1 - m / n), m }')"
	fi
	if [ -n "$tokens" ] && [ "$b_requests" -gt 0 ]; then
		# the auth app's log lines in the window = the auth subrequests it answered
		note="auth cache $AUTHCACHE: $(awk -v m="$((authlog1 - authlog0))" -v n="$b_requests" \
		    'BEGIN { printf "the auth pool asked for %.1f%% of requests (%d)", 100 * m / n, m }')"
	fi
	python3 "$HERE/probe.py" brief "$W/$key-$run-a.json" "$W/$key-$run-b.json" "$CLIENT_CPU" \
	    > "$W/$key-$run.cpu" 2>&1 || true
	cpu=$(head -n 1 "$W/$key-$run.cpu")
	# CPU of the request path per request (µs): robust to other tenants
	US[$key,$run]=$(awk -v n="$b_requests" '$1 == "PATH_SECONDS" && n > 0 { printf "%.0f", $2 * 1e6 / n }' "$W/$key-$run.cpu")
	ROWS+=("$(printf '%02d' "${label%%.*}")$run| $label | $run | $conns | $b_requests | $b_rps | $b_p50_ms | $b_p99_ms | $b_max_ms | $b_non2xx | $b_timeouts | $b_sockerr | ${US[$key,$run]:-?} | $cpu | $note |")
	say "  $b_rps req/s, p50 $b_p50_ms ms, p99 $b_p99_ms ms, non-2xx $b_non2xx, timeouts $b_timeouts; cpu: $cpu${note:+; $note}"
	if [ -n "$probe" ]; then
		probe_report "$label, run $run" "$key-$run-a" "$key-$run-b" "$probe"
	fi
}
warm() { # PATHS [TOKENS]
	wrk -t"$THREADS" -c16 -d"$WARMUP" -s "$HERE/get.lua" "$SHOP_BASE_URL" -- "$W/$1" uniform \
	    "${2:+$W/$2}" > /dev/null 2>&1 || die "wrk failed (warm-up of $1)"
}

say "warming up every target for $WARMUP"
for p in nginx hello php shop search; do warm "paths-$p.txt"; done
warm paths-me.txt buyers.tokens
warm paths-shop.txt buyers.tokens
VISIBLE=()
T_READS0=$(date +%s)
for run in 1 2; do
	[ "$MICROCACHE" = off ] || nginx_peers off
	probe=; [ "$run" = 1 ] && probe=1
	wrk_get ceiling "$run" "$CONNS" paths-nginx.txt uniform "" "1. nginx return 200 (the ceiling)"
	wrk_get hello "$run" "$CONNS" paths-hello.txt uniform "" "2. FastCGI hello (bench/hello)"
	wrk_get php "$run" "$CONNS" paths-php.txt uniform "" "3. PHP-FPM GET /products/{id} (LEMP peer)" ${probe:+"GET /bench/php/"}
	wrk_get product "$run" "$CONNS" paths-shop.txt uniform "" "4. shop GET /products/{id}, microcache off" ${probe:+"GET /api/v1/products/"}
	wrk_get product256 "$run" "$CONNS_HIGH" paths-shop.txt uniform "" "5. shop GET /products/{id}, microcache off"
	wrk_get search "$run" "$CONNS" paths-search.txt uniform "" "6. shop GET /products?q=&category=" ${probe:+"GET /api/v1/products"}
	wrk_get authproduct "$run" "$CONNS" paths-shop.txt uniform buyers.tokens "7. shop GET /products/{id} with a token" ${probe:+"GET /api/v1/products/"}
	wrk_get me "$run" "$CONNS" paths-me.txt uniform buyers.tokens "8. shop GET /users/me (authenticated)" ${probe:+"GET /api/v1/users/me"}
	nginx_peers off off
	wrk_get authproductnc "$run" "$CONNS" paths-shop.txt uniform buyers.tokens "9. shop GET /products/{id} with a token, auth cache off" ${probe:+"GET /api/v1/products/"}
	nginx_peers on
	# a product change under load: how soon anonymous readers see it
	python3 "$HERE/visible.py" "$W" "$(sed -n "$((run * 7))p" "$W/ids.txt")" > "$W/visible-$run.out" 2>&1 &
	BG_PID=$!
	wrk_get micro "$run" "$CONNS" paths-shop.txt uniform "" "10. shop GET /products/{id}, microcache on" ${probe:+"GET /api/v1/products/"}
	wrk_get microzipf "$run" "$CONNS" paths-shop.txt zipf "" "11. the same, popular products (Zipf over $PRODUCTS ids)"
	wrk_get microhot "$run" "$CONNS" paths-hot.txt uniform "" "12. the same, a hot set of 100 products"
	wait "$BG_PID" || { cat "$W/visible-$run.out" >&2; die "visible.py failed"; }
	BG_PID=
	parse "$W/visible-$run.out" || die "no BENCH line from visible.py"
	VISIBLE+=("$b_visible_max_ms/$b_stale_max_ms/$b_never")
	say "  change visible after at most $b_visible_max_ms ms (stale answers up to $b_stale_max_ms ms; never: $b_never)"
done
nginx_peers off
T_READS1=$(date +%s)

# The background path, before anything queues mail: webhook → PAID + settled + emailed.
WEBHOOK_COUNT=$((WEBHOOK_RATE * WEBHOOK_SECONDS))
BG_ROWS=()
for run in 1 2; do
	say "webhooks, run $run: $WEBHOOK_COUNT orders paid by webhook at $WEBHOOK_RATE/s (bench/webhooks.py)"
	python3 "$HERE/webhooks.py" "$W" --rate "$WEBHOOK_RATE" --count "$WEBHOOK_COUNT" \
	    --probe "$HERE/probe.py" --stack "$DIR" \
	    > "$W/webhooks-$run.out" 2>&1 || { cat "$W/webhooks-$run.out" >&2; die "webhooks.py failed"; }
	parse "$W/webhooks-$run.out" || { cat "$W/webhooks-$run.out" >&2; die "no BENCH line from webhooks.py"; }
	grep -v '^PROBE ' "$W/webhooks-$run.out" | sed 's/^/bench:   /' >&2
	DETAILS+=("**webhook → PAID + settled + emailed, run $run** (the sending and the wait for the effects; each step from the stack's timestamps)" ""
	    "$(sed -n 's/^STEP /    step: /p; s/^PROBE /    /p' "$W/webhooks-$run.out")" "")
	target="p99 ≤ 250 ms at 500/s: $(meets "$b_p99_ms <= 250 && $b_rps >= 0.95 * 500 && $b_done == $b_requests")"
	BG_ROWS+=("| webhook → PAID + settled + emailed, run $run | $b_requests | $b_rps | $b_p50_ms | $b_p99_ms | $b_max_ms | $target | done $b_done of $b_requests, webhook non-200 $b_non200; PAID p50/p99 $b_paid_p50_ms/$b_paid_p99_ms ms, settled $b_settled_p50_ms/$b_settled_p99_ms, emailed $b_emailed_p50_ms/$b_emailed_p99_ms; sends at most $b_late_ms ms behind schedule; mail queue drained first in $b_drain_s s |")
done

# The flash sale (bench/checkout.sh's, cold then warm), then POST /orders.
mapfile -t FLASH < "$W/flash.products"
TAG=$(date +%s)-$$
OK=1
flash_sale() { # N LABEL PRODUCT
	local n=$1 label=$2 product=$3 deadline done_dir=$W/flash-done-$1 out=$W/flash-$1.out
	local orders units onhand reserved books target sql
	say "flash sale $n ($label): $BUYERS buyers, $FLASH_CONNS connections, $FLASH_STOCK units"
	mkdir -p "$done_dir"
	START_MS=$(( $(date +%s%3N) + 500 ))
	wrk -t"$THREADS" -c"$FLASH_CONNS" -d"${FLASH_MAX}s" --timeout "${FLASH_MAX}s" --latency \
	    -s "$HERE/flash.lua" "$SHOP_BASE_URL" \
	    -- "$W/buyers.tokens" "$product" "f$n-$TAG" "$done_dir" "$THREADS" "$START_MS" > "$out" 2>&1 &
	WRK_PID=$!
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
	parse "$out" || { cat "$out" >&2; die "no BENCH line from wrk (flash sale $n)"; }
	sql="SELECT COUNT(DISTINCT i.order_id), COALESCE(SUM(i.quantity), 0)
	       FROM shop_orders.order_items i WHERE i.product_id = $product;
	     SELECT on_hand, reserved FROM shop_catalog.stock WHERE product_id = $product;"
	read -r -d '' orders units onhand reserved < <(sqlr -e "$sql" | tr '\t' '\n'; printf '\0') || true
	books="orders $orders ($units units), reserved $reserved of $onhand"
	if [ "$b_status201" = "$FLASH_STOCK" ] && [ "$orders" = "$FLASH_STOCK" ] && [ "$units" = "$FLASH_STOCK" ] &&
	    [ "$reserved" = "$FLASH_STOCK" ] && [ "$b_requests" = "$BUYERS" ] &&
	    [ "$((b_status201 + b_status409))" = "$BUYERS" ]; then
		books="books OK: $books"
	else
		books="BOOKS WRONG: $books"
		OK=
	fi
	target="exactly $FLASH_STOCK orders, p99 ≤ 100 ms: $(meets "$b_status201 == $FLASH_STOCK && $b_p99_ms <= 100")"
	BG_ROWS+=("| flash sale, $label | $b_requests | $b_rps | $b_p50_ms | $b_p99_ms | $b_max_ms | $target | 201: $b_status201, 409: $b_status409 (OUT_OF_STOCK $b_out_of_stock), other: $b_other ($b_statuses), socket errors $b_sockerr; race over in $b_seconds s; $books; $FLASH_CONNS connections |")
	say "  $b_status201 × 201, $b_status409 × 409, p99 $b_p99_ms ms; $books"
}
flash_sale a "cold: each buyer's first request" "${FLASH[0]}"
flash_sale b "warm: the same buyers again" "${FLASH[1]}"

for run in 1 2; do
	say "POST /orders, run $run: wrk -t$THREADS -c$ORDER_CONNS -d$DURATION (bench/orders.lua)"
	probe=; [ "$run" = 1 ] && probe_snap "o$run-a"
	child_cpu cpu0
	wrk -t"$THREADS" -c"$ORDER_CONNS" -d"$DURATION" --latency -s "$HERE/orders.lua" "$SHOP_BASE_URL" \
	    -- "$W/customer.token" "$W/products.txt" "o$run-$TAG" > "$W/orders-$run.out" 2>&1 ||
		{ cat "$W/orders-$run.out" >&2; die "wrk failed (POST /orders, run $run)"; }
	client_cpu_since "$cpu0"
	parse "$W/orders-$run.out" || { cat "$W/orders-$run.out" >&2; die "no BENCH line from wrk (orders)"; }
	target="≥ 1,000/s, p99 ≤ 50 ms: $(meets "$b_rps >= 1000 && $b_p99_ms <= 50")"
	BG_ROWS+=("| POST /orders (2 lines), run $run | $b_requests | $b_rps | $b_p50_ms | $b_p99_ms | $b_max_ms | $target | 201: $b_status201; other statuses: $b_statuses; socket errors $b_sockerr; $ORDER_CONNS connections |")
	say "  $b_rps orders/s, p50 $b_p50_ms ms, p99 $b_p99_ms ms"
	if [ "$run" = 1 ]; then
		probe_snap "o$run-b"
		probe_report "POST /orders, run $run" "o$run-a" "o$run-b" "POST /api/v1/orders"
	fi
done
T_END=$(date +%s)

# ---------------------------------------------------------------- memory

# RSS (and PSS: shared pages divided among their sharers) of every process
# of the app tier: the pools (masters and worker processes) and the
# background workers; php-fpm and hello beside them, as peers.
python3 - "$DIR" > "$W/mem.txt" <<'EOF2' || die "reading the processes' memory failed"
import os, sys
stack = sys.argv[1]
procs = {}
for p in os.listdir("/proc"):
    if not p.isdigit():
        continue
    try:
        cmd = open("/proc/%s/cmdline" % p, "rb").read().replace(b"\0", b" ").decode()
        st = open("/proc/%s/stat" % p).read()
        comm = st[st.index("(") + 1:st.rindex(")")]
        ppid = int(st[st.rindex(")") + 2:].split()[1])
        mem = {}
        for line in open("/proc/%s/smaps_rollup" % p):
            k, _, v = line.partition(":")
            if k in ("Rss", "Pss"):
                mem[k] = int(v.split()[0])
    except (OSError, ValueError, IndexError):
        continue
    procs[int(p)] = (ppid, comm, cmd, mem.get("Rss", 0), mem.get("Pss", 0))
POOLS = {"shop-" + a for a in ("auth", "identity", "catalog", "cart", "orders", "payments",
                               "shipping", "notify")}
groups = {}
tier_rss = tier_pss = 0
pool_max = (0, "-")
for pid, (ppid, comm, cmd, rss, pss) in procs.items():
    parent = procs.get(ppid)
    if stack not in cmd and not (parent and stack in parent[2]):
        continue
    if comm.startswith("php-fpm"):
        name, peer = "php-fpm (peer)", True
    elif comm == "shop-bench-hell":
        name, peer = "shop-bench-hello (peer)", True
    elif comm.startswith("shop-"):
        name, peer = comm, False
    else:
        continue
    kind = "worker process" if parent and parent[1] == comm else "master" if comm in POOLS \
        or peer else "worker"
    g = groups.setdefault((peer, name, kind), [0, 0, 0, 0])
    g[0] += 1
    g[1] = max(g[1], rss)
    g[2] += rss
    g[3] += pss
    if not peer:
        tier_rss += rss
        tier_pss += pss
        if comm in POOLS and rss > pool_max[0]:
            pool_max = (rss, "%s %s" % (comm, kind))
for (peer, name, kind), g in sorted(groups.items()):
    print("| %s | %s | %d | %.1f | %.1f | %.1f |" % (name, kind, g[0], g[1] / 1024.0, g[2] / 1024.0,
                                                    g[3] / 1024.0))
print("TOTAL %.1f %.1f %.1f %s" % (tier_rss / 1024.0, tier_pss / 1024.0, pool_max[0] / 1024.0,
                                   pool_max[1].replace(" ", "_")))
EOF2
MEM_TABLE=$(grep -v '^TOTAL' "$W/mem.txt" || true)
read -r _ MEM_RSS MEM_PSS POOL_MAX POOL_MAX_NAME < <(grep '^TOTAL' "$W/mem.txt")
POOL_MAX_NAME=${POOL_MAX_NAME//_/ }

# ---------------------------------------------------------------- the table

mean() { # KEY → mean req/s of runs 1 and 2
	awk -v a="${RPS[$1,1]:-0}" -v b="${RPS[$1,2]:-0}" 'BEGIN { printf "%.0f", (a + b) / 2 }'
}
ratio() { # A B FMT → mean(A) / mean(B), and per pair
	awk -v a1="${RPS[$1,1]}" -v a2="${RPS[$1,2]}" -v b1="${RPS[$2,1]}" -v b2="${RPS[$2,2]}" -v f="$3" 'BEGIN {
		m = (a1 + a2) / (b1 + b2)
		if (f == "pct") printf "%.0f%% (runs: %.0f%%, %.0f%%)", 100 * m, 100 * a1 / b1, 100 * a2 / b2
		else printf "%.2f× (runs: %.2f×, %.2f×)", m, a1 / b1, a2 / b2 }'
}
# CPU per request: B's µs ÷ A's µs (how many of A one core serves per B),
# from the sums of both runs' CPU and requests
cpur() { # A B FMT
	awk -v a1="${US[$1,1]:-0}" -v a2="${US[$1,2]:-0}" -v b1="${US[$2,1]:-0}" -v b2="${US[$2,2]:-0}" \
	    -v n1="${NREQ[$1,1]:-0}" -v n2="${NREQ[$1,2]:-0}" -v m1="${NREQ[$2,1]:-0}" -v m2="${NREQ[$2,2]:-0}" -v f="$3" 'BEGIN {
		if (a1 <= 0 || a2 <= 0 || b1 <= 0 || b2 <= 0) { print "?"; exit }
		a = (a1 * n1 + a2 * n2) / (n1 + n2); b = (b1 * m1 + b2 * m2) / (m1 + m2)
		if (f == "pct") printf "%.0f%% (%.0f µs vs %.0f µs)", 100 * b / a, a, b
		else printf "%.2f× (%.0f µs vs %.0f µs)", b / a, a, b }'
}
rv() { awk -v a="${RPS[$1,1]}" -v a2="${RPS[$1,2]}" -v b="${RPS[$2,1]}" -v b2="${RPS[$2,2]}" 'BEGIN { print (a + a2) / (b + b2) }'; }
maxp99() { awk -v a="${P99[$1,1]}" -v b="${P99[$1,2]}" 'BEGIN { print (a > b ? a : b) }'; }
R_PHP=$(rv product php)
R_AUTH=$(rv authproduct product)
R_MICROZ=$(rv microzipf ceiling)
R_MICROH=$(rv microhot ceiling)
VIS_MAX=0; VIS_NEVER=0
for v in "${VISIBLE[@]}"; do
	IFS=/ read -r vm _ vn <<< "$v"
	VIS_MAX=$(awk -v a="$VIS_MAX" -v b="$vm" 'BEGIN { print (b > a ? b : a) }')
	VIS_NEVER=$((VIS_NEVER + vn))
done
LOAD1=$(cut -d' ' -f1-3 /proc/loadavg)
{
	echo "# Benchmark: the shop beside its peers"
	echo
	echo "- when: $STARTED; commit $REV; \`./shop bench\` (bench/run.sh), $((T_END - T_START)) s in all"
	echo "  (stack and data $((T_STACK - T_START)) s, preparation $((T_PREP - T_STACK)) s, reads $((T_READS1 - T_READS0)) s)"
	echo "- machine: nproc $NPROC ($CPU_MODEL); load average at the start $LOAD0, at the end $LOAD1;"
	echo "  the machine is shared: absolute figures are context, the ratios measured in this run are the figures"
	echo "- stack: private (tests/harness/stack.sh), profile test (MariaDB without fsync per commit, access log"
	echo "  unbuffered), nginx $NGINX_VERSION (2 workers), MariaDB $MARIADB_VERSION; pools procs x threads: catalog"
	echo "  $(pool_shape catalog), identity $(pool_shape identity), auth $(pool_shape auth), orders $(pool_shape orders); rate limits raised to 10^6 r/s"
	echo "- data: $ACTIVE active products (the demo catalog of $PRODUCTS, schema/demo/catalog.sql), requests drawn"
	echo "  uniformly over all $PRODUCTS ids unless said; $(wc -l < "$W/paths-search.txt") searches; $BUYERS users with tokens"
	echo "- peers, same nginx server, same MariaDB, same URL shape (/bench/<peer>/api/v1/products/{id}):"
	echo "  nginx \`return 200\` with a real product's body; bench/hello ($HELLO_SHAPE, $HELLO_NOTE);"
	echo "  $PHP_VERSION (Debian's, OPcache on), static pool of $PHP_CHILDREN, persistent PDO, prepared statement, json_encode"
	echo "- client: $WRK_VERSION on the same machine, -t$THREADS, -d$DURATION per run after a $WARMUP warm-up per target;"
	echo "  run 1 of every read scenario, then run 2"
	echo
	echo "## Reads"
	echo
	echo "| scenario | run | conns | requests | req/s | p50 ms | p99 ms | max ms | non-2xx | timeouts | socket errors | CPU µs per request | cpu (% of one core) | notes |"
	echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|"
	printf '%s\n' "${ROWS[@]}" | sort | sed 's/^[0-9]*|/|/' 
	echo
	echo "## Ratios and targets (targets are printed, never asserted)"
	echo
	echo "| figure | measured (req/s) | by CPU per request | target |"
	echo "|---|---|---|---|"
	echo "| shop GET /products/{id} ÷ PHP-FPM | $(ratio product php x) | $(cpur product php x) | ≥ 4×: $(meets "$R_PHP >= 4") |"
	echo "| shop GET /products/{id} p99, -c$CONNS | ${P99[product,1]} / ${P99[product,2]} ms | | ≤ 50 ms: $(meets "$(maxp99 product) <= 50") |"
	echo "| shop GET /products/{id}, -c$CONNS_HIGH: timeouts | ${TMO[product256,1]} / ${TMO[product256,2]} (p99 ${P99[product256,1]} / ${P99[product256,2]} ms) | | none: $(meets "${TMO[product256,1]} + ${TMO[product256,2]} == 0") |"
	echo "| with a token ÷ anonymous, GET /products/{id} | $(ratio authproduct product pct) | $(cpur authproduct product pct) | ≥ 85%: $(meets "$R_AUTH >= 0.85") |"
	echo "| the same with nginx's auth cache off ÷ anonymous | $(ratio authproductnc product pct) | $(cpur authproductnc product pct) | (context: every request asks the auth pool) |"
	echo "| GET /users/me ÷ anonymous GET /products/{id} | $(ratio me product pct) | $(cpur me product pct) | (context: another pool, the same shape of work) |"
	echo "| microcache on, a hot set of 100 products ÷ nginx return 200 | $(ratio microhot ceiling pct) | $(cpur microhot ceiling pct) | ≥ 40%: $(meets "$R_MICROH >= 0.40") |"
	echo "| microcache on, popular products (Zipf) ÷ nginx return 200 | $(ratio microzipf ceiling pct) | $(cpur microzipf ceiling pct) | (context: part of the reads hit, see the notes) |"
	echo "| microcache on, all $PRODUCTS products alike ÷ nginx return 200 | $(ratio micro ceiling pct) | $(cpur micro ceiling pct) | (context: a product read once a second or less is not cached) |"
	echo "| a product change visible to anonymous readers, under load | at most $VIS_MAX ms after the PUT's answer ($((2 * 5)) changes; never: $VIS_NEVER) | | ≤ 1 s: $(meets "$VIS_MAX <= 1000 && $VIS_NEVER == 0") |"
	echo "| hello ÷ nginx return 200 | $(ratio hello ceiling pct) | $(cpur hello ceiling pct) | (context: the FastCGI hop) |"
	echo "| shop GET /products/{id} ÷ hello | $(ratio product hello pct) | $(cpur product hello pct) | (context: the app and its query) |"
	echo "| microcache on ÷ off, all products alike | $(ratio micro product x) | $(cpur micro product x) | (context) |"
	echo
	echo "req/s: the sum of both runs' rates, and each run's own. By CPU per request: the CPU time of the"
	echo "request path (nginx, the pools, MariaDB, the peer; not the background workers, RabbitMQ, the SMTP"
	echo "sink) over the run ÷ its requests, both runs together: how many requests a core serves, which"
	echo "other tenants' load disturbs far less than req/s. Targets are judged on req/s."
	echo
	echo "## Writes and the background path"
	echo
	echo "| scenario | requests | req/s | p50 ms | p99 ms | max ms | target | notes |"
	echo "|---|---:|---:|---:|---:|---:|---|---|"
	printf '%s\n' "${BG_ROWS[@]}"
	echo
	echo "POST /orders and the flash sale as in bench/checkout.sh (bench/README.md); the webhook path: each"
	echo "order's payment.succeeded webhook sent on a fixed schedule (open loop), latency from its send to"
	echo "the last of: order PAID, stock settled, PAYMENT_SUCCEEDED mail accepted by the SMTP server (the"
	echo "harness's sink), read from the stack's own millisecond timestamps."
	echo
	echo "## Memory after the run"
	echo
	echo "| program | process | count | max RSS MB | RSS MB in all | PSS MB in all |"
	echo "|---|---|---:|---:|---:|---:|"
	echo "$MEM_TABLE"
	echo
	echo "- each pool process ≤ 8 MB RSS: the largest $POOL_MAX MB ($POOL_MAX_NAME): $(meets "$POOL_MAX <= 8")"
	echo "- all pools and workers together ≤ 150 MB: RSS $MEM_RSS MB (PSS $MEM_PSS MB, shared pages counted once): $(meets "$MEM_RSS <= 150")"
	echo
	echo "## Where the time goes (run 1)"
	echo
	echo "cpu: share of ONE core over the run per component (100% = one core busy the whole time; the"
	echo "machine has $NPROC); \"others\" = everything else on the machine. nginx: request_time and"
	echo "upstream_response_time from its access log; app: its own duration_ms (bench/README.md)."
	echo
	printf '%s\n' "${DETAILS[@]}"
} > "$W/table.md"
mkdir -p "$(dirname "$RESULTS")"
cp "$W/table.md" "$RESULTS"
echo
cat "$W/table.md"
echo
say "written to $RESULTS ($((T_END - T_START)) s)"
[ -n "$OK" ] || die "the flash sale's books are wrong (see the table)"
