#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# Control-plane scale benchmark (not a test): the standalone agent with
# ROUTES HTTPRoutes across LISTENERS Gateway listeners and ENDPOINTS endpoints.
#
#   selftests/bench/scale.sh [-r ROUTES] [-l LISTENERS] [-e ENDPOINTS] [-a ADDS] [-E CHANGES]
#                            [-w WORKERS] [-k LOG]
#
# Prints:
#   - the time from the manifests landing in the watched folder (one rename)
#     until every worker serves the generation that holds all of them;
#   - the RSS of the agent and of each worker at that scale;
#   - the time of a Prometheus scrape of the agent at that scale (--metrics);
#   - for ADDS single routes added one at a time on top, the time from the
#     file's rename until a request to the new hostname returns 200 instead of
#     404 (p50, p99, max), measured by a client polling every 1 ms, and the
#     agent's own account of each from its log: folder load and reconcile,
#     sent to the workers, all serving (each from the folder read);
#   - for CHANGES endpoint changes after that (a Service's EndpointSlice, in a
#     file of its own, moved between two backends), the time from the file's
#     rename until a request reaches the new backend, and the agent's account
#     of the same generations, which take its fast path for endpoint changes;
#   - with -k LOG, the agent's log is kept in LOG.
# Runs in one network namespace it creates (10.0.0.0/8 addresses inside it)
# and removes on every path; bounded in time and count.
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${XGW_BUILD:-$ROOT/build}
ROUTES=10000 LISTENERS=1000 ENDPOINTS=50000 ADDS=100 CHANGES=100 WORKERS=2 KEEP=""
while getopts "r:l:e:a:E:w:k:" o; do
	case $o in
	r) ROUTES=$OPTARG ;; l) LISTENERS=$OPTARG ;; e) ENDPOINTS=$OPTARG ;;
	a) ADDS=$OPTARG ;; E) CHANGES=$OPTARG ;; w) WORKERS=$OPTARG ;; k) KEEP=$OPTARG ;;
	*) sed -n '2,24p' "$0"; exit 2 ;;
	esac
done
for v in ROUTES LISTENERS ENDPOINTS ADDS CHANGES WORKERS; do
	[[ ${!v} =~ ^[0-9]+$ ]] && [ "${!v}" -gt 0 ] || { echo "scale: -${v,,} must be a positive integer" >&2; exit 2; }
done
[ "$(id -u)" = 0 ] || { echo "scale: needs root (namespaces, BPF)" >&2; exit 2; }
[ -x "$BUILD/agent/xgw-agent" ] || { echo "scale: build first (scripts/setup.sh)" >&2; exit 2; }

NS=xgw-scale-$$
PIN=/sys/fs/bpf/xgw-scale-$$
TMP=$(mktemp -d /tmp/xgw-scale.XXXXXX)
CONF=$TMP/config STAGE=$TMP/stage
PIDS=()
cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	for p in "${PIDS[@]}"; do
		for _ in $(seq 150); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	ip netns del "$NS" 2>/dev/null || true
	[ -z "$KEEP" ] || cp "$TMP/agent.log" "$KEEP" 2>/dev/null || true
	rm -rf "$PIN" "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ip netns add "$NS"
ip -n "$NS" link set lo up
ip -n "$NS" addr add 10.30.1.10/32 dev lo
ip -n "$NS" addr add 10.30.1.11/32 dev lo
mkdir -p "$CONF" "$STAGE"

# The manifests: 50 listeners per Gateway (ports 8000..), routes spread evenly
# over the listeners with one hostname each, endpoints spread over 1 Service
# per 50 endpoints. Service svc-live has the one real backend; every tenth
# route and every added route point at it.
python3 - "$STAGE" "$ROUTES" "$LISTENERS" "$ENDPOINTS" <<'PY'
import os, sys
stage, routes, listeners, endpoints = sys.argv[1], *map(int, sys.argv[2:])
per_gw = 50
gws = (listeners + per_gw - 1) // per_gw
services = max(1, endpoints // 50)
def w(name, docs):
    with open(os.path.join(stage, name), 'w') as f:
        f.write('\n---\n'.join(docs) + '\n')
w('00-class.yaml', ['apiVersion: gateway.networking.k8s.io/v1\nkind: GatewayClass\nmetadata: {name: xgw}\nspec: {controllerName: xgw.io/gateway-controller}'])
docs = []
for g in range(gws):
    n = min(per_gw, listeners - g * per_gw)
    ls = ''.join(f'  - {{name: l{i}, protocol: HTTP, port: {8000 + i}, allowedRoutes: {{namespaces: {{from: All}}}}}}\n' for i in range(n))
    docs.append(f'apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: {{name: gw{g}, namespace: default}}\nspec:\n  gatewayClassName: xgw\n  listeners:\n{ls}')
w('01-gateways.yaml', docs)
docs = ['apiVersion: v1\nkind: Service\nmetadata: {name: svc-live, namespace: default}\nspec: {ports: [{name: http, port: 80, targetPort: 8080}]}',
        'apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: svc-live-a, namespace: default, labels: {kubernetes.io/service-name: svc-live}}\naddressType: IPv4\nports: [{name: http, port: 8080}]\nendpoints: [{addresses: [10.30.1.10]}]']
for s in range(services):
    docs.append(f'apiVersion: v1\nkind: Service\nmetadata: {{name: svc{s}, namespace: default}}\nspec: {{ports: [{{name: http, port: 80, targetPort: 8080}}]}}')
    eps = ''.join(f'- addresses: [10.{40 + (s * 50 + e) // 65536}.{((s * 50 + e) // 256) % 256}.{(s * 50 + e) % 256}]\n' for e in range(50))
    docs.append(f'apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {{name: svc{s}-a, namespace: default, labels: {{kubernetes.io/service-name: svc{s}}}}}\naddressType: IPv4\nports: [{{name: http, port: 8080}}]\nendpoints:\n{eps}')
w('02-services.yaml', docs)
# the Service whose endpoints move, with its slice in a file of its own
w('03-move.yaml', ['apiVersion: v1\nkind: Service\nmetadata: {name: svc-move, namespace: default}\nspec: {ports: [{name: http, port: 80, targetPort: 8080}]}',
                   'apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: move, namespace: default}\nspec:\n  parentRefs: [{name: gw0, sectionName: l0}]\n  hostnames: [move.example.com]\n  rules: [{backendRefs: [{name: svc-move, port: 80}]}]'])
w('04-move-eps.yaml', ['apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: svc-move-a, namespace: default, labels: {kubernetes.io/service-name: svc-move}}\naddressType: IPv4\nports: [{name: http, port: 8080}]\nendpoints: [{addresses: [10.30.1.10]}]'])
chunk = 1000
for c in range(0, routes, chunk):
    docs = []
    for r in range(c, min(routes, c + chunk)):
        lst = r % listeners
        svc = 'svc-live' if r % 10 == 0 else f'svc{r % services}'
        docs.append(f'apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {{name: r{r}, namespace: default}}\nspec:\n  parentRefs: [{{name: gw{lst // per_gw}, sectionName: l{lst % per_gw}}}]\n  hostnames: [h{r}.example.com]\n  rules: [{{backendRefs: [{{name: {svc}, port: 80}}]}}]')
    w(f'10-routes-{c // chunk:03d}.yaml', docs)
PY
echo "# scale: $ROUTES HTTPRoutes, $LISTENERS listeners, $ENDPOINTS endpoints, $WORKERS workers; manifests $(du -sh "$STAGE" | cut -f1)"

# The prober renames the new route's file into the folder, then polls GET /
# with its Host header every 1 ms until it gets 200, and prints the elapsed ms
# (from the rename; 10 s at most).
cat >"$TMP/probe.py" <<'PY'
# rename src to dst, then poll until a 200 (holding EXPECT, if given) comes back
import os, socket, sys, time
src, dst, host, addr, port = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
expect = sys.argv[6].encode() if len(sys.argv) > 6 else None
t0 = time.monotonic()
os.rename(src, dst)
deadline = t0 + 10
req = f'GET / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n'.encode()
while time.monotonic() < deadline:
    try:
        s = socket.create_connection((addr, port), timeout=1)
        s.sendall(req)
        head = s.recv(64)
        while expect is not None:
            d = s.recv(4096)
            if not d:
                break
            head += d
        s.close()
        if head.startswith(b'HTTP/1.1 200') and (expect is None or expect in head):
            print(f'{(time.monotonic() - t0) * 1000:.2f}')
            sys.exit(0)
    except OSError:
        pass
    time.sleep(0.001)
print('timeout')
sys.exit(1)
PY

nsenter --net=/run/netns/"$NS" "$BUILD/tools/xgw-echo" --listen 10.30.1.10:8080 --name live-a --mode plain --quiet \
	</dev/null >/dev/null 2>&1 &
PIDS+=($!)
nsenter --net=/run/netns/"$NS" "$BUILD/tools/xgw-echo" --listen 10.30.1.11:8080 --name live-b --mode plain --quiet \
	</dev/null >/dev/null 2>&1 &
PIDS+=($!)
nsenter --net=/run/netns/"$NS" "$BUILD/agent/xgw-agent" --config-dir "$CONF" --address-pool 10.31.0.0/16 \
	--workers "$WORKERS" --pin-dir "$PIN" --status-file "$TMP/status.json" --workers-file "$TMP/workers.json" \
	--metrics 127.0.0.1:9464 </dev/null >"$TMP/agent.log" 2>&1 &
AGENT=$!
PIDS+=($AGENT)
for _ in $(seq 100); do grep -q "all .* worker(s) serving it" "$TMP/agent.log" && break; sleep 0.1; done

# Phase 1: everything at once (rename keeps it one event per file, all within ms).
t0=$(date +%s.%N)
mv "$STAGE"/*.yaml "$CONF"/
done_line=""
for _ in $(seq 1200); do # 120 s at most
	done_line=$(grep -E "generation [0-9]+: $LISTENERS listener\(s\)" "$TMP/agent.log" | tail -1)
	if [ -n "$done_line" ]; then
		gen=$(sed -n 's/.*generation \([0-9]*\):.*/\1/p' <<<"$done_line")
		grep -q "generation $gen: all $WORKERS worker(s) serving it" "$TMP/agent.log" && break
	fi
	sleep 0.01
done
t1=$(date +%s.%N)
if ! grep -q "generation ${gen:-x}: all $WORKERS worker(s) serving it" "$TMP/agent.log"; then
	echo "scale: the agent did not program $LISTENERS listeners within 120 s" >&2
	tail -5 "$TMP/agent.log" >&2
	exit 1
fi
# The agent's own timestamps are more exact than polling the log.
ms=$(python3 - "$TMP/agent.log" "$gen" "$t0" <<'PY'
import re, sys, datetime
log, gen, t0 = sys.argv[1], sys.argv[2], float(sys.argv[3])
for line in open(log):
    if f'generation {gen}: all' in line:
        ts = datetime.datetime.strptime(line.split()[0], '%Y-%m-%dT%H:%M:%S.%fZ').replace(tzinfo=datetime.timezone.utc)
        print(f'{(ts.timestamp() - t0) * 1000:.0f}')
        break
PY
)
rss() { awk '/VmRSS/ {printf "%.1f", $2 / 1024}' "/proc/$1/status"; }
echo "files written -> all workers serving: ${ms} ms (generation $gen; $(grep -c 'all .* serving it' "$TMP/agent.log") generations in all)"
echo "rss: agent $(rss "$AGENT") MB"
for w in $(pgrep -P "$AGENT" -f xgw-worker); do echo "rss: worker pid $w $(rss "$w") MB"; done
snap=$(sed -n "s/.*generation $gen: .*snapshot \([0-9]*\) bytes.*/\1/p" "$TMP/agent.log")
echo "snapshot: $snap bytes"
# A Prometheus scrape at this scale: it is rendered on the agent's event loop.
for _ in $(seq 5); do
	ip netns exec "$NS" curl -s -o /dev/null -w '%{time_total} %{size_download}\n' http://127.0.0.1:9464/metrics
done | sort -n | awk 'NR == 3 { printf "metrics scrape: %.1f ms, %d bytes (median of 5)\n", $1 * 1000, $2 }'

# Phase 2: one route at a time, on an existing listener (gw0/l0, port 8000).
gwaddr=$(sed -n 's/.*Gateway default\/gw0: address \([0-9.]*\).*/\1/p' "$TMP/agent.log" | head -1)
: >"$TMP/adds.txt"
for i in $(seq "$ADDS"); do
	printf 'apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: add%d, namespace: default}\nspec:\n  parentRefs: [{name: gw0, sectionName: l0}]\n  hostnames: [add%d.example.com]\n  rules: [{backendRefs: [{name: svc-live, port: 80}]}]\n' \
		"$i" "$i" >"$TMP/add$i.yaml"
	ip netns exec "$NS" python3 "$TMP/probe.py" "$TMP/add$i.yaml" "$CONF/add$i.yaml" \
		"add$i.example.com" "$gwaddr" 8000 >>"$TMP/adds.txt"
done
gen_adds=$(sed -n 's/.*generation \([0-9]*\): all .* serving it.*/\1/p' "$TMP/agent.log" | tail -1)
: >"$TMP/moves.txt"
for i in $(seq "$CHANGES"); do
	if [ $((i % 2)) = 1 ]; then to=10.30.1.11 name=live-b; else to=10.30.1.10 name=live-a; fi
	printf 'apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: svc-move-a, namespace: default, labels: {kubernetes.io/service-name: svc-move}}\naddressType: IPv4\nports: [{name: http, port: 8080}]\nendpoints: [{addresses: [%s]}]\n' \
		"$to" >"$TMP/move$i.yaml"
	ip netns exec "$NS" python3 "$TMP/probe.py" "$TMP/move$i.yaml" "$CONF/04-move-eps.yaml" \
		move.example.com "$gwaddr" 8000 "Server name: $name" >>"$TMP/moves.txt"
done
python3 - "$TMP/adds.txt" "$TMP/moves.txt" <<'PY'
import sys
def q(ms, p):
    return ms[min(len(ms) - 1, int(round(p / 100 * (len(ms) - 1))))]
for path, what in ((sys.argv[1], 'route addition -> 200'), (sys.argv[2], 'endpoint change -> the new backend')):
    v = [l.strip() for l in open(path)]
    if not v:
        continue
    bad = sum(1 for x in v if x == 'timeout')
    ms = sorted(float(x) for x in v if x != 'timeout')
    if not ms:
        print(f'{what}: all timed out'); sys.exit(1)
    print(f'{what}: n={len(ms)} p50 {q(ms, 50):.1f} ms  p99 {q(ms, 99):.1f} ms  max {ms[-1]:.1f} ms  timeouts {bad}')
PY
python3 - "$TMP/agent.log" "$gen" "$gen_adds" <<'PY'
import re, sys
log, first, last_add = sys.argv[1], int(sys.argv[2]), int(sys.argv[3] or 0)
kind, rec, sent, serving = {}, {}, {}, {}
for line in open(log):
    m = re.search(r'generation (\d+): .*\(load ([\d.]+) ms, .*reconcile ([\d.]+) ms, memfd [\d.]+ ms, sent to the workers after ([\d.]+) ms', line)
    if m and int(m.group(1)) > first:
        g = int(m.group(1))
        kind[g] = ('endpoints' if 'endpoints only' in line else
                   'patched' if 'snapshot patched' in line else 'full')
        # the folder's load and the reconcile: from the folder read
        rec[g], sent[g] = float(m.group(2)) + float(m.group(3)), float(m.group(4))
    m = re.search(r'generation (\d+): all .* serving it \(([\d.]+) ms', line)
    if m and int(m.group(1)) > first:
        serving[int(m.group(1))] = float(m.group(2))
def q(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(round(p / 100 * (len(v) - 1))))] if v else float('nan')
for label, sel in (('route additions', lambda g: g <= last_add),
                   ('endpoint changes', lambda g: g > last_add)):
    gens = [g for g in rec if sel(g)]
    if not gens:
        continue
    fast = sum(1 for g in gens if kind[g] == 'endpoints')
    patched = sum(1 for g in gens if kind[g] == 'patched')
    print(f'agent, {label} ({len(gens)} generations, {fast} on the endpoint fast path, '
          f'{patched} patching the snapshot):')
    for name, d in (('reconcile', rec), ('sent to the workers', sent), ('all workers serving', serving)):
        v = [d[g] for g in gens if g in d]
        print(f'  {name}: p50 {q(v, 50):.1f} ms  p99 {q(v, 99):.1f} ms  (from the folder read)')
PY
