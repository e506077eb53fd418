#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# The whole test suite: install and build (scripts/setup.sh), then the format
# check, unit tests, BPF_PROG_TEST_RUN tests, end-to-end tests in network
# namespaces, and a short fuzz run. Needs root (BPF, namespaces). Ends with
# the line "N passed, N failed" counting every test case.
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export XGW_BUILD=${XGW_BUILD:-$ROOT/build}
FUZZ_SECONDS=${XGW_FUZZ_SECONDS:-20}
if [ "$(id -u)" != 0 ]; then
	exec sudo -E "$0" "$@"
fi
"$ROOT/scripts/setup.sh" || { echo "0 passed, 1 failed"; exit 1; }

results=$(mktemp -d /tmp/xgw-test.XXXXXX)
trap 'rm -rf "$results"' EXIT

# 1. formatting: one kernel-style .clang-format for all C, bpf/ included
cd "$ROOT"
if git ls-files '*.c' '*.h' | xargs clang-format --dry-run -Werror >"$results/format.log" 2>&1; then
	echo "ok 1 - clang-format" >"$results/format.tap"
else
	echo "not ok 1 - clang-format" >"$results/format.tap"
	head -40 "$results/format.log"
fi

# 2. meson tests (unit, bpf, e2e): every one speaks TAP
meson test -C "$XGW_BUILD" --print-errorlogs --timeout-multiplier 2 | tee "$results/meson.log" | grep -vE '^\s*$'

# 3. a short libFuzzer run of the HTTP/1.1 parser
if [ -x "$ROOT/selftests/fuzz/run.sh" ]; then
	"$ROOT/selftests/fuzz/run.sh" "$FUZZ_SECONDS" "$results/fuzz" >"$results/fuzz.tap" 2>"$results/fuzz.log" ||
		tail -20 "$results/fuzz.log"
	cat "$results/fuzz.tap"
fi

python3 - "$XGW_BUILD/meson-logs/testlog.json" "$results" <<'PY'
import json, os, re, sys
log, results = sys.argv[1], sys.argv[2]
passed = failed = skipped = 0
def tap(text, name):
    global passed, failed, skipped
    p = f = s = 0
    for line in text.splitlines():
        todo = re.search(r'#\s*TODO\b', line, re.I)
        if re.match(r'^not ok\b', line):
            if todo:
                s += 1  # an expected failure (TAP TODO): counted with the skipped
            else:
                f += 1
                print(f"FAILED: {name}: {line}")
        elif re.match(r'^ok\b', line):
            if re.search(r'#\s*SKIP\b', line, re.I):
                s += 1
            else:
                p += 1  # a TODO that passes counts as passed; meson reports it UNEXPECTEDPASS
    return p, f, s
if os.path.exists(log):
    for line in open(log):
        t = json.loads(line)
        p, f, s = tap(t.get('stdout') or '', t['name'])
        if t['result'] not in ('OK', 'SKIP', 'EXPECTEDFAIL') and f == 0:
            f = 1  # crashed, timed out, or exited non-zero without saying why
            why = ''
            if t['result'] == 'UNEXPECTEDPASS':
                why = ' (an expected failure passes now: take it off its expected-failures list)'
            print(f"FAILED: {t['name']}: {t['result']}{why}")
        passed += p; failed += f; skipped += s
else:
    failed += 1
    print("FAILED: meson test wrote no log")
for name in ('format.tap', 'fuzz.tap'):
    path = os.path.join(results, name)
    if os.path.exists(path):
        p, f, s = tap(open(path).read(), name)
        if p + f + s == 0:
            f = 1
            print(f"FAILED: {name}: no result")
        passed += p; failed += f; skipped += s
print(f"{passed} passed, {failed} failed" + (f", {skipped} skipped" if skipped else ""))
sys.exit(1 if failed else 0)
PY
