#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
#
# Build the libFuzzer target for user/http1.c with clang and run it on the
# committed seed corpus; print a single TAP result.
#
#   selftests/fuzz/run.sh [SECONDS [OUTDIR]]
#
# SECONDS (argument or environment, default 10) bounds the run; OUTDIR
# (default /tmp/xgw-fuzz-$$) receives the binary, the growing corpus, the log
# and any crash-* reproducer. Exits 0 when the fuzzer found nothing.
# Needs clang with compiler-rt (Debian: clang-14, libclang-rt-14-dev).
# XGW_FUZZ_CFLAGS adds compiler flags: "-msse4.2" fuzzes the SSE4.2 scans
# against the portable ones (the default build has the SSE2 scans on x86-64).
set -u

# Read first: in bash SECONDS counts up from the assignment, and 0 would mean "forever" to libFuzzer.
secs=${1:-${SECONDS:-10}}
case $secs in
'' | 0 | *[!0-9]*) secs=10 ;;
esac
out=${2:-/tmp/xgw-fuzz-$$}
root=$(cd "$(dirname "$0")/../.." && pwd)
seeds=$root/selftests/fuzz/corpus/http1
dict=$root/selftests/fuzz/http1.dict

mkdir -p "$out/corpus" || exit 1
echo "1..1"
if ! (cd "$root" && clang -g -O1 -fsanitize=fuzzer,address,undefined \
	-fno-sanitize-recover=undefined -Iinclude -Iuser ${XGW_FUZZ_CFLAGS:-} \
	user/http1.c selftests/fuzz/http1_ref.c selftests/fuzz/fuzz_http1.c \
	-o "$out/fuzz_http1") >"$out/build.log" 2>&1; then
	echo "not ok 1 - fuzz_http1 # build failed, see $out/build.log"
	sed 's/^/# /' "$out/build.log"
	exit 1
fi

# New inputs go to $out/corpus; the committed seeds are only read.
"$out/fuzz_http1" -max_total_time="$secs" -max_len=20000 -dict="$dict" -print_final_stats=1 \
	-artifact_prefix="$out/" "$out/corpus" "$seeds" >"$out/fuzz.log" 2>&1
rc=$?
runs=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$out/fuzz.log" | tail -n 1)
if [ "$rc" -eq 0 ] && [ -n "$runs" ]; then
	echo "ok 1 - fuzz_http1 ($runs runs in ${secs}s)"
	exit 0
fi
crash=$(ls "$out"/crash-* "$out"/leak-* "$out"/timeout-* "$out"/oom-* 2>/dev/null | head -n 1)
echo "not ok 1 - fuzz_http1 (exit $rc) ${crash:-no reproducer written}"
tail -n 40 "$out/fuzz.log" | sed 's/^/# /'
[ "$rc" -ne 0 ] && exit "$rc"
exit 1
