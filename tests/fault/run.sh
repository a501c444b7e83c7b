#!/bin/sh
# The short form of the fault scenarios, for make check: one private stack
# (tests/harness/stack.sh), every scenario once with a small load, TAP on
# stdout (one line per scenario, the summary table as comments). The long
# form is ./shop chaos (tests/fault/chaos.sh).
#
# Usage: tests/fault/run.sh [--only NAME,...]   (rabbitmq workers pools mariadb webhooks)
# Environment: top_builddir (make check sets it): the build whose binaries the
# stack runs; SHOP_FAULT_KEEP=1 leaves the stack running for a post-mortem.
set -u
here=$(cd "$(dirname "$0")" && pwd)

# One test stack at a time on this machine: under `make -j2 check` the
# end-to-end suite of this build may be running; let it finish first (its
# .trs appears when it is done; a log untouched for 10 min is a dead run).
# (automake names its log tests/e2e/run.sh.log: .sh is no test extension here.)
e2e_running() {
	for base in "$top_builddir/tests/e2e/run.sh" "$top_builddir/tests/e2e/run"; do
		if [ -f "$base.log" ] && [ ! -f "$base.trs" ] &&
		    [ $(( $(date +%s) - $(stat -c %Y "$base.log" 2>/dev/null || echo 0) )) -lt 600 ]; then
			return 0
		fi
	done
	return 1
}
if [ -n "${top_builddir:-}" ]; then
	said=
	while e2e_running; do
		[ -n "$said" ] || echo "# waiting for the end-to-end suite of this build to finish (one test stack at a time)"
		said=1
		sleep 1
	done
fi
keep=
[ "${SHOP_FAULT_KEEP:-0}" = 1 ] && keep=--keep
exec bash "$here/chaos.sh" --short --tap $keep "$@"
