#!/bin/sh
# Runs libFuzzer targets, each for FUZZ_SECONDS (default 60), each from a
# scratch copy of its seed corpus (the repository's corpus never grows), and
# prints one line per target. Exits 1 when any target found a crash, a leak,
# a timeout or a broken property; its input is kept as
# <bindir>/artifacts/<target>-crash-... and the whole output in
# <bindir>/fuzz_<target>.log.
#
#   tests/fuzz/run.sh SRCDIR BINDIR [TARGET...]
#
# SRCDIR is tests/fuzz of the source tree (corpus/, dict/, keys/), BINDIR the
# directory of the fuzz_<target> programs. Without TARGETs, every corpus/*.
set -u

src=$1
bin=$2
shift 2
secs=${FUZZ_SECONDS:-60}
case $secs in
''|*[!0-9]*) echo "FUZZ_SECONDS must be a number of seconds" >&2; exit 2 ;;
esac

if [ $# -eq 0 ]; then
	set -- $(cd "$src/corpus" && ls)
fi

scratch=$(mktemp -d "${TMPDIR:-/tmp}/shop-fuzz.XXXXXX") || exit 2
trap 'rm -rf "$scratch"' EXIT INT TERM
mkdir -p "$bin/artifacts" || exit 2

# Leaks are findings (LeakSanitizer is on by default with ASan on Linux;
# said here so that an inherited ASAN_OPTIONS cannot turn it off quietly).
ASAN_OPTIONS="detect_leaks=1:${ASAN_OPTIONS:-}"
UBSAN_OPTIONS="print_stacktrace=1:${UBSAN_OPTIONS:-}"
SHOP_FUZZ_KEYS="$src/keys"
export ASAN_OPTIONS UBSAN_OPTIONS SHOP_FUZZ_KEYS

failed=0
total_runs=0
start=$(date +%s)
printf '%-20s %12s %8s %7s %8s  %s\n' target executions exec/s cov corpus result
for t in "$@"; do
	prog="$bin/fuzz_$t"
	log="$bin/fuzz_$t.log"
	if [ ! -x "$prog" ] || [ ! -d "$src/corpus/$t" ]; then
		printf '%-20s %s\n' "fuzz_$t" "MISSING (no program or no corpus/$t)"
		failed=1
		continue
	fi
	mkdir -p "$scratch/$t"
	cp "$src/corpus/$t"/* "$scratch/$t/"
	seeds=$(ls "$scratch/$t" | wc -l)
	dict=
	[ -f "$src/dict/$t.dict" ] && dict="-dict=$src/dict/$t.dict"
	t0=$(date +%s)
	# -timeout: one input taking 10 s is a hang; -rss_limit_mb: a runaway
	# allocation is a finding, not a dead machine.
	"$prog" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix="$bin/artifacts/$t-" \
		$dict "$scratch/$t" >"$log" 2>&1
	rc=$?
	el=$(($(date +%s) - t0))
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
	cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1 | sed 's/cov: //')
	grown=$(ls "$scratch/$t" | wc -l)
	if [ $rc -eq 0 ] && ! grep -q -e '^==[0-9]*==ERROR' -e 'runtime error:' -e 'property broken' "$log"; then
		result="ok (${el} s)"
	else
		why=$(grep -m 1 -o -e 'ERROR: [A-Za-z]*Sanitizer: [a-z-]*' -e 'ERROR: libFuzzer: [a-z-]*' \
			-e 'runtime error: .*' -e 'property broken: .*' "$log")
		art=$(sed -n 's/.*Test unit written to //p' "$log" | tail -n 1)
		result="FAILED: ${why:-exit $rc} ${art:+(input: $art)} (log: $log)"
		failed=1
	fi
	total_runs=$((total_runs + ${runs:-0}))
	printf '%-20s %12s %8s %7s %8s  %s\n' "fuzz_$t" "${runs:-?}" "${speed:-?}" "${cov:-?}" \
		"$seeds>$grown" "$result"
	rm -rf "${scratch:?}/$t"
done
printf 'fuzz: %d targets, %d executions in %d s: %s\n' $# "$total_runs" \
	$(($(date +%s) - start)) "$([ $failed -eq 0 ] && echo 'no findings' || echo 'FINDINGS above')"
exit $failed
