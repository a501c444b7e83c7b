#!/bin/sh
# Prints the closing line of a test run, "N passed, N failed", counted from
# the TAP results automake recorded for each test (*.trs files).
# Usage: summary.sh TEST...   (run from the build directory)
pass=0 fail=0
for t in "$@"; do
	trs="${t%.sh}"; trs="${trs%.py}.trs"
	[ -f "$trs" ] || trs="$t.trs"
	[ -f "$trs" ] || { fail=$((fail + 1)); continue; }
	p=$(grep -c '^:test-result: \(PASS\|XFAIL\)' "$trs")
	f=$(grep -c '^:test-result: \(FAIL\|XPASS\|ERROR\)' "$trs")
	pass=$((pass + p)) fail=$((fail + f))
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
