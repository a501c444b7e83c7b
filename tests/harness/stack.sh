#!/usr/bin/env bash
# Test stacks: the real `./shop up`, in the test profile, with all its state
# in a directory of its own and every server on free loopback ports: MariaDB,
# RabbitMQ (topology declared), the pools, nginx and the workers (outbox relay,
# inventory, orders, payment simulator, shipping, notify), plus a real SMTP
# listener (smtp_sink.py, started before ./shop up) that the notify worker
# delivers to. It never touches the stack of var/ (or any other directory) nor
# its ports.
#
#   stack.sh start DIR   start a stack in DIR (created if needed) and write
#                        DIR/stack.env; a stack (and SMTP sink) already running
#                        in DIR is reused
#   stack.sh stop DIR    ./shop down for DIR (it stops the SMTP sink too), then
#                        SIGKILL whatever is left
#   stack.sh clean DIR   kill the stack at once (SIGKILL: its data is thrown
#                        away, no need for a graceful stop), then remove DIR
#
# DIR/stack.env is sourceable shell (every line "export NAME=value"):
#   SHOP_BASE_URL SHOP_VAR SHOP_ROOT SHOP_CONF SHOP_PROFILE
#   SHOP_HTTP_PORT SHOP_DB_PORT SHOP_AMQP_PORT SHOP_MGMT_PORT SHOP_DIST_PORT SHOP_EPMD_PORT
#   SHOP_DB_SOCKET SHOP_DB_DEFAULTS_FILE (mariadb --defaults-file=...: root over the socket)
#   SHOP_DB_ROOT_PASSWORD SHOP_DB_ROOT_PASSWORD_FILE
#   SHOP_AMQP_USER SHOP_AMQP_PASSWORD SHOP_AMQP_VHOST SHOP_AMQP_URL
#   SHOP_MGMT_URL (RabbitMQ management API; logs in as SHOP_AMQP_USER/PASSWORD,
#     e.g. GET $SHOP_MGMT_URL/api/queues/$SHOP_AMQP_VHOST/inventory.settlement)
#   SHOP_DEMO_LOGINS SHOP_KEYS_DIR SHOP_LOG_DIR (<app>.log, <worker>.log, ...)
#   SHOP_WEBHOOK_SECRET_FILE (the payment webhook's signing secret)
#   SHOP_WEBHOOK_URL (where the payment simulator posts: nginx's webhook route)
#   SHOP_SMTP_PORT (the SMTP sink on 127.0.0.1; the notify worker's smtp_port)
#   SHOP_SMTP_DIR (DIR/smtp-received: per message <n>.eml, the raw data, and
#     <n>.json {mail_from, rcpt_tos, data, ...}, written atomically, .json last;
#     see smtp_sink.py)
#
# Environment: inside `make check` (top_builddir set) the binaries of that
# build are used as they are (SHOP_BUILD=$top_builddir, SHOP_SKIP_BUILD=1);
# otherwise ./shop builds as usual. SHOP_DEMO_PRODUCTS (300), SHOP_APPS,
# SHOP_WORKERS and the rate limits SHOP_AUTH_RATE/_BURST, SHOP_API_RATE/_BURST
# pass through. SHOP_SMTP_PYTHON: the interpreter for the sink (default: the
# first of /usr/bin/python3 and python3 that imports aiosmtpd).
# Also when started as "sh stack.sh": the rest is bash.
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
REPO=$(cd "$HERE/../.." && pwd -P)

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//' >&2; exit 2; }

cmd=${1:-}
dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || usage
mkdir -p "$dir"
dir=$(cd "$dir" && pwd -P)
[ "$dir" != "$REPO/var" ] && [ "$dir" != "$REPO" ] && [ "$dir" != / ] ||
	{ echo "stack.sh: refusing to use $dir" >&2; exit 2; }

# One start or stop at a time per directory.
exec 9>"$dir/.stack.lock"
flock 9

# ./shop with only this stack's settings (none inherited from a caller's stack).
shop() {
	env -u SHOP_HTTP_PORT -u SHOP_DB_PORT -u SHOP_AMQP_PORT -u SHOP_MGMT_PORT \
	    -u SHOP_DIST_PORT -u SHOP_EPMD_PORT -u SHOP_PROFILE -u SHOP_BASE_URL \
	    -u SHOP_SMTP_PORT \
	    SHOP_VAR="$dir" "$@" "$REPO/shop" "${SHOP_CMD[@]}" 9>&-
}

free_ports() { # N → N distinct free loopback ports
	python3 - "$1" <<-'EOF'
	import socket, sys
	socks = []
	for _ in range(int(sys.argv[1])):
	    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
	    s.bind(("127.0.0.1", 0))
	    socks.append(s)
	print(" ".join(str(s.getsockname()[1]) for s in socks))
	EOF
}

write_env() {
	local v=$dir http db amqp mgmt dist epmd smtp= k
	# The settings ./shop up remembered.
	while IFS='=' read -r k val; do
		case $k in
		SHOP_HTTP_PORT) http=$val ;; SHOP_DB_PORT) db=$val ;; SHOP_AMQP_PORT) amqp=$val ;;
		SHOP_MGMT_PORT) mgmt=$val ;; SHOP_DIST_PORT) dist=$val ;; SHOP_EPMD_PORT) epmd=$val ;;
		SHOP_SMTP_PORT) smtp=$val ;;
		esac
	done < "$v/shop.env"
	local amqp_pw root_pw
	amqp_pw=$(cat "$v/secrets/amqp")
	root_pw=$(cat "$v/secrets/db-root")
	{
		e() { printf 'export %s=%q\n' "$1" "$2"; }
		e SHOP_BASE_URL "http://127.0.0.1:$http"
		e SHOP_VAR "$v"
		e SHOP_ROOT "$REPO"
		e SHOP_CONF "$v/shop.conf"
		e SHOP_PROFILE test
		e SHOP_HTTP_PORT "$http"
		e SHOP_DB_PORT "$db"
		e SHOP_AMQP_PORT "$amqp"
		e SHOP_MGMT_PORT "$mgmt"
		e SHOP_DIST_PORT "$dist"
		e SHOP_EPMD_PORT "$epmd"
		e SHOP_DB_SOCKET "$v/run/mysqld.sock"
		e SHOP_DB_DEFAULTS_FILE "$v/secrets/root.cnf"
		e SHOP_DB_ROOT_PASSWORD "$root_pw"
		e SHOP_DB_ROOT_PASSWORD_FILE "$v/secrets/db-root"
		e SHOP_AMQP_USER shop
		e SHOP_AMQP_PASSWORD "$amqp_pw"
		e SHOP_AMQP_VHOST shop
		e SHOP_AMQP_URL "amqp://shop:$amqp_pw@127.0.0.1:$amqp/shop"
		e SHOP_MGMT_URL "http://127.0.0.1:$mgmt"
		e SHOP_DEMO_LOGINS "$v/demo-logins.json"
		e SHOP_KEYS_DIR "$v/keys"
		e SHOP_WEBHOOK_SECRET_FILE "$v/webhook-secret"
		e SHOP_WEBHOOK_URL "http://127.0.0.1:$http/api/v1/payments/webhook"
		e SHOP_LOG_DIR "$v/log"
		e SHOP_SMTP_PORT "$smtp"
		e SHOP_SMTP_DIR "$v/smtp-received"
	} > "$v/stack.env.tmp"
	chmod 600 "$v/stack.env.tmp"
	mv "$v/stack.env.tmp" "$v/stack.env"
}

start() {
	local t0=${EPOCHREALTIME/./} extra=() smtp_port=
	if [ -n "${top_builddir:-}" ]; then
		extra+=(SHOP_BUILD="$(cd "$top_builddir" && pwd -P)" SHOP_SKIP_BUILD=1)
	fi
	extra+=(SHOP_DEMO_PRODUCTS="${SHOP_DEMO_PRODUCTS:-300}")
	if [ ! -s "$dir/shop.env" ]; then
		# A new stack: ports now; ./shop remembers them in DIR/shop.env.
		local p
		read -r -a p <<< "$(free_ports 7)"
		extra+=(SHOP_PROFILE=test SHOP_HTTP_PORT="${p[0]}" SHOP_DB_PORT="${p[1]}"
			SHOP_AMQP_PORT="${p[2]}" SHOP_MGMT_PORT="${p[3]}" SHOP_DIST_PORT="${p[4]}"
			SHOP_EPMD_PORT="${p[5]}")
		smtp_port=${p[6]}
	else
		smtp_port=$(sed -n 's/^SHOP_SMTP_PORT=\([0-9][0-9]*\)$/\1/p' "$dir/shop.env")
		# A stack from before the sink: a port now (./shop up refuses it while
		# that stack runs: stop it first).
		[ -n "$smtp_port" ] || smtp_port=$(free_ports 1)
	fi
	# The SMTP sink first: the notify worker delivers as soon as it runs.
	sink_start "$smtp_port"
	extra+=(SHOP_SMTP_PORT="$smtp_port")
	SHOP_CMD=(up)
	if ! shop "${extra[@]}" > "$dir/up.log" 2>&1; then
		echo "stack.sh: ./shop up failed for $dir; last lines of $dir/up.log:" >&2
		tail -n 30 "$dir/up.log" >&2
		exit 1
	fi
	write_env
	local d=$((${EPOCHREALTIME/./} - t0))
	printf 'stack.sh: stack up in %d.%02d s: %s (%s/stack.env)\n' $((d / 1000000)) \
	    $((d % 1000000 / 10000)) "$(. "$dir/stack.env" && echo "$SHOP_BASE_URL")" "$dir"
}

stop() {
	if [ -s "$dir/shop.env" ]; then
		SHOP_CMD=(down)
		shop > "$dir/down.log" 2>&1 || { echo "stack.sh: ./shop down failed for $dir:" >&2; tail -n 20 "$dir/down.log" >&2; }
	fi
	# ./shop down stops it too; not when up failed before writing shop.env.
	sink_stop
	kill_left
}

# ---- the SMTP sink: DIR/run/smtp-sink.pid, DIR/log/smtp-sink.log,
# messages in DIR/smtp-received/.

SINK_PIDFILE=$dir/run/smtp-sink.pid

sink_pid() { # → the sink's pid when it runs for this DIR (on PORT, when given)
	local pid= cmd
	[ -r "$SINK_PIDFILE" ] && read -r pid < "$SINK_PIDFILE" 2>/dev/null || true
	[[ $pid =~ ^[0-9]+$ ]] || return 0
	cmd=$(tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null) || return 0
	[[ $cmd == *smtp_sink.py* && $cmd == *" $dir/smtp-received "* ]] || return 0
	[ -z "${1:-}" ] || [[ $cmd == *" --port $1 "* ]] || return 0
	echo "$pid"
}

sink_python() {
	local py
	for py in ${SHOP_SMTP_PYTHON:-} /usr/bin/python3 python3; do
		command -v "$py" >/dev/null 2>&1 || continue
		"$py" -c 'import aiosmtpd' >/dev/null 2>&1 && { command -v "$py"; return 0; }
	done
	return 1
}

sink_start() { # PORT
	local port=$1 pid py log=$dir/log/smtp-sink.log
	pid=$(sink_pid "$port")
	if [ -n "$pid" ]; then
		echo "stack.sh: SMTP sink running (pid $pid, 127.0.0.1:$port)"
		return 0
	fi
	# One on another port (SHOP_SMTP_PORT changed): stop it.
	pid=$(sink_pid)
	[ -z "$pid" ] || sink_stop
	py=$(sink_python) || { echo "stack.sh: no python3 with aiosmtpd for the SMTP sink:" \
		"apt-get install python3-aiosmtpd (./shop up installs it)" >&2; exit 1; }
	mkdir -p "$dir/run" "$dir/log"
	rm -f "$SINK_PIDFILE"
	(
		# No descriptor of ours (the lock, a test driver's pipe) lives on in it.
		for fd in /proc/$BASHPID/fd/*; do
			fd=${fd##*/}
			[ "$fd" -gt 2 ] 2>/dev/null && eval "exec $fd>&-" 2>/dev/null || true
		done
		exec setsid "$py" "$HERE/smtp_sink.py" --host 127.0.0.1 --port "$port" \
		    --dir "$dir/smtp-received" --pidfile "$SINK_PIDFILE" </dev/null >>"$log" 2>&1
	) &
	local spawned=$! end=$((${EPOCHREALTIME/./} + 10000000))
	# Its pid file means it listens.
	until [ -n "$(sink_pid "$port")" ]; do
		if ! kill -0 "$spawned" 2>/dev/null || [ "${EPOCHREALTIME/./}" -gt "$end" ]; then
			kill -KILL "$spawned" 2>/dev/null || true
			echo "stack.sh: the SMTP sink did not start on 127.0.0.1:$port; last lines of $log:" >&2
			tail -n 10 "$log" >&2
			exit 1
		fi
		sleep 0.02
	done
	echo "stack.sh: SMTP sink started (pid $(sink_pid), 127.0.0.1:$port, $dir/smtp-received)"
}

sink_stop() { # SIGTERM, up to 5 s, then SIGKILL
	local pid end
	pid=$(sink_pid)
	[ -n "$pid" ] || { rm -f "$SINK_PIDFILE"; return 0; }
	kill -TERM "$pid" 2>/dev/null || true
	end=$((${EPOCHREALTIME/./} + 5000000))
	while kill -0 "$pid" 2>/dev/null && [ "${EPOCHREALTIME/./}" -lt "$end" ]; do sleep 0.02; done
	kill -KILL "$pid" 2>/dev/null || true
	rm -f "$SINK_PIDFILE"
}

# SIGKILL to whatever still runs from the stack's pid files (and its process group).
kill_left() {
	local f pid
	for f in "$dir"/nginx/nginx.pid "$dir"/run/*.pid; do
		[ -f "$f" ] || continue
		read -r pid < "$f" 2>/dev/null || continue
		[[ $pid =~ ^[0-9]+$ ]] || continue
		if kill -0 "$pid" 2>/dev/null && tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -qE "$dir/|epmd"; then
			[ -n "${quiet:-}" ] || echo "stack.sh: killing leftover pid $pid ($f)" >&2
			kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
		fi
		rm -f "$f"
	done
}

case $cmd in
start) start ;;
stop) stop ;;
clean)
	quiet=1 kill_left
	# A pool worker whose master went first, a server whose pid file is gone.
	for p in /proc/[0-9]*; do
		p=${p#/proc/}
		case $(cat "/proc/$p/comm" 2>/dev/null) in
		mariadbd|beam.smp|nginx|shop-*) pat="$dir/" ;;
		python*) pat=" $dir/smtp-received " ;; # the SMTP sink
		*) continue ;;
		esac
		tr '\0' ' ' < "/proc/$p/cmdline" 2>/dev/null | grep -qF -- "$pat" && kill -KILL "$p" 2>/dev/null || true
	done
	exec 9>&-
	# nginx's microcache and auth cache in memory (./shop's render_nginx
	# records where)
	mc=; [ -r "$dir/run/microcache" ] && read -r mc < "$dir/run/microcache" || true
	case $mc in /dev/shm/shop-microcache-*) rm -rf "$mc" "$mc-auth" ;; esac
	rm -rf "$dir" ;;
*) usage ;;
esac
