#!/usr/bin/env bash
# CI's brief fuzz run: every libFuzzer target for FUZZ_SECONDS (default 5)
# from its seed corpus, in a fuzzing build of its own.
#
#   tests/fuzz/ci.sh BUILD_DIR
#
# Installs clang and its libFuzzer runtime when missing (as root, apt-get),
# makes the configure script when missing, configures BUILD_DIR with
# CC=clang --enable-fuzzing (once), builds, and runs make fuzz-smoke (or
# make fuzz when FUZZ_SECONDS is given). About 75 s on 2 cores.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
repo=$PWD
build=${1:?usage: tests/fuzz/ci.sh BUILD_DIR}

need=()
command -v clang >/dev/null || need+=(clang)
# The runtime of the default clang (Debian 12: clang 14).
if command -v clang >/dev/null; then
	rt=$(clang -print-resource-dir)/lib/linux/libclang_rt.fuzzer-x86_64.a
	[ -f "$rt" ] || need+=("libclang-rt-$(clang -dumpversion | cut -d. -f1)-dev")
else
	need+=(libclang-rt-14-dev)
fi
if [ ${#need[@]} -gt 0 ]; then
	[ "$(id -u)" = 0 ] || { echo "ci.sh: install ${need[*]} (apt-get install ${need[*]})" >&2; exit 1; }
	echo "ci.sh: installing ${need[*]}"
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${need[@]}" >/dev/null
fi

[ -x "$repo/configure" ] || (cd "$repo" && autoreconf -fi)
mkdir -p "$build"
cd "$build"
[ -f Makefile ] || CC=clang "$repo/configure" -q --enable-werror --enable-fuzzing
make -j2 >/dev/null
if [ -n "${FUZZ_SECONDS:-}" ]; then
	make fuzz
else
	make fuzz-smoke
fi
