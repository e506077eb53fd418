#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# Hot reload under load: keep-alive load (wrk), a stream of new connections and
# a WebSocket run against a route that exists throughout while 200 changes are applied:
# routes added and removed, endpoints changed, a listener added and removed.
# Not one request may fail. Then a listener is removed under two open
# connections: the idle one is closed, the busy one gets its answer first.
# Prints TAP. Needs root and wrk.
set -uo pipefail
BUILD=${XGW_BUILD:?XGW_BUILD must name the build directory}
SRC=${XGW_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
CHANGES=${XGW_RELOAD_CHANGES:-200}
ID=$$
NS_N=xr$ID-n NS_C=xr$ID-c
PIN=/sys/fs/bpf/xgw-reload-$ID
TMP=$(mktemp -d /tmp/xgw-reload.XXXXXX)
CONF=$TMP/config
STATUS=$TMP/status.json
. "$SRC/selftests/e2e/lib.sh"
E2E_NETNS=("$NS_C" "$NS_N")
E2E_PATHS=("$PIN" "$TMP")
cx() { ip netns exec "$NS_C" "$@"; }

endpoints() { # the EndpointSlice of backend-1 with the given addresses
	{
		printf 'apiVersion: v1\nkind: Service\nmetadata: {name: backend-1, namespace: default}\n'
		printf 'spec: {ports: [{name: http, port: 80, targetPort: 8080}]}\n---\n'
		printf 'apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n'
		printf 'metadata: {name: backend-1-x, namespace: default, labels: {kubernetes.io/service-name: backend-1}}\n'
		printf 'addressType: IPv4\nports: [{name: http, port: 8080}]\nendpoints:\n'
		for a in "$@"; do printf -- '- addresses: [%s]\n' "$a"; done
	} >"$CONF/backend.yaml.tmp" && mv "$CONF/backend.yaml.tmp" "$CONF/backend.yaml"
}
listener() { # the class, Gateway and stable route; with (1) or without (0) a listener on 8080
	{
		printf 'apiVersion: gateway.networking.k8s.io/v1\nkind: GatewayClass\nmetadata: {name: xgw}\n'
		printf 'spec: {controllerName: xgw.io/gateway-controller}\n---\n'
		printf 'apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\n'
		printf 'metadata: {name: eg, namespace: default}\nspec:\n  gatewayClassName: xgw\n  listeners:\n'
		printf '  - {name: http, protocol: HTTP, port: 80, allowedRoutes: {namespaces: {from: All}}}\n'
		[ "$1" = 1 ] && printf '  - {name: alt, protocol: HTTP, port: 8080, allowedRoutes: {namespaces: {from: All}}}\n'
		printf -- '---\napiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\n'
		printf 'metadata: {name: backend, namespace: default}\nspec:\n  parentRefs: [{name: eg}]\n'
		printf '  hostnames: [app.yourdomain.com]\n  rules: [{backendRefs: [{name: backend-1, port: 80}]}]\n'
	} >"$CONF/gateway.yaml.tmp" && mv "$CONF/gateway.yaml.tmp" "$CONF/gateway.yaml"
}


if ! command -v wrk >/dev/null; then
	printf 'TAP version 13\n1..0 # SKIP wrk is not installed (scripts/setup.sh installs it)\n'
	exit 0
fi
e2e_begin 11

if ! e2e_node_client "$NS_N" "$NS_C" "xr$ID" 10.24; then
	echo "Bail out! cannot create namespaces"
	exit 1
fi
for b in 10 11 12; do ip -n "$NS_N" addr add "10.24.1.$b/32" dev lo; done

mkdir -p "$CONF"
sed 's/10\.23\.1\.10/10.24.1.10/' "$SRC/examples/quickstart/backend.yaml" >"$CONF/backend.yaml"
listener 0
for b in 10 11 12; do
	nsenter --net=/run/netns/"$NS_N" "$BUILD/tools/xgw-echo" --listen "10.24.1.$b:8080" \
		--name "backend-$b" --mode json --quiet </dev/null >/dev/null 2>&1 &
	PIDS+=($!)
done
nsenter --net=/run/netns/"$NS_N" "$BUILD/agent/xgw-agent" --config-dir "$CONF" \
	--address-pool 10.24.100.0/24 --interface "xr$ID-n" --workers 2 --pin-dir "$PIN" \
	--status-file "$STATUS" --workers-file "$TMP/workers.json" </dev/null >"$TMP/agent.log" 2>&1 &
AGENT=$!
PIDS+=($AGENT)

up() { [ "$(cx curl -s --max-time 1 -o /dev/null -w '%{http_code}' -H 'Host: app.yourdomain.com' http://10.24.100.1/)" = 200 ]; }
for _ in $(seq 100); do up && break; sleep 0.1; done
if up; then ok "the stable route serves before the changes"
else not_ok "the stable route serves before the changes" "$(tail -5 "$TMP/agent.log")"; exit 1; fi

# Load for the whole run: 20 keep-alive connections (bounded by -d), and
# new connections one after another (bounded by count and by a stop file).
cx timeout 60 wrk -t1 -c20 -d30s -H "Host: app.yourdomain.com" http://10.24.100.1/ >"$TMP/wrk.out" 2>&1 &
WRK=$!
PIDS+=($WRK)
(
	ok=0 bad=0
	for _ in $(seq 5000); do
		[ -e "$TMP/stop" ] && break
		c=$(cx curl -s --max-time 2 -o /dev/null -w '%{http_code}' -H 'Host: app.yourdomain.com' http://10.24.100.1/new)
		if [ "$c" = 200 ]; then ok=$((ok + 1)); else bad=$((bad + 1)); echo "$c" >>"$TMP/newconn.bad"; fi
	done
	echo "$ok $bad" >"$TMP/newconn.out"
) &
NEWCONN=$!
PIDS+=($NEWCONN)
# A WebSocket through the gateway for the whole run: a message echoed every
# 50 ms until the stop file (60 s at most); it must see every one.
cat >"$TMP/ws.py" <<'PY'
import base64, os, socket, struct, sys, time
gw, stop, out = sys.argv[1], sys.argv[2], sys.argv[3]
s = socket.create_connection((gw, 80), timeout=5)
def recv_exact(n):
    b = b""
    while len(b) < n:
        d = s.recv(n - len(b))
        if not d:
            raise EOFError("closed")
        b += d
    return b
def frame(op, payload):
    mask = os.urandom(4)
    return bytes([0x80 | op, 0x80 | len(payload)]) + mask + bytes(b ^ mask[i & 3] for i, b in enumerate(payload))
key = base64.b64encode(os.urandom(16)).decode()
s.sendall(("GET /ws HTTP/1.1\r\nHost: app.yourdomain.com\r\nUpgrade: websocket\r\n"
           "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: %s\r\n\r\n" % key).encode())
head = b""
while b"\r\n\r\n" not in head:
    head += s.recv(1)
sent = echoed = 0
err = "" if head.startswith(b"HTTP/1.1 101") else "handshake: " + head.split(b"\r\n")[0].decode()
t_end = time.monotonic() + 60
while not err and not os.path.exists(stop) and time.monotonic() < t_end:
    msg = b"m%d" % sent
    try:
        s.sendall(frame(1, msg))
        sent += 1
        b0, b1 = recv_exact(2)
        if recv_exact(b1 & 0x7f) == msg:
            echoed += 1
        else:
            err = "wrong echo"
    except (OSError, EOFError) as e:
        err = str(e)
    time.sleep(0.05)
open(out, "w").write("%d %d %s\n" % (sent, echoed, err or "-"))
PY
ip netns exec "$NS_C" timeout 70 python3 "$TMP/ws.py" 10.24.100.1 "$TMP/stop" "$TMP/ws.out" &
WS=$!
PIDS+=($WS)
sleep 1

gen0=$(grep -c "generation .* worker(s) serving it" "$TMP/agent.log")
t0=$(date +%s.%N)
for i in $(seq "$CHANGES"); do
	case $((i % 4)) in
	0)
		printf 'apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: r%d, namespace: default}\nspec:\n  parentRefs: [{name: eg}]\n  hostnames: [h%d.example.com]\n  rules: [{backendRefs: [{name: backend-1, port: 80}]}]\n' \
			"$i" "$i" >"$CONF/r$i.yaml.tmp" && mv "$CONF/r$i.yaml.tmp" "$CONF/r$i.yaml" ;;
	1) rm -f "$CONF/r$((i - 5)).yaml" ;;
	2) if [ $((i % 8)) = 2 ]; then endpoints 10.24.1.10 10.24.1.11; else endpoints 10.24.1.12 10.24.1.10; fi ;;
	3) listener $(((i / 4) % 2)) ;;
	esac
	sleep 0.04
done
t1=$(date +%s.%N)
sleep 1
touch "$TMP/stop"
wait "$NEWCONN" 2>/dev/null
wait "$WRK" 2>/dev/null
wait "$WS" 2>/dev/null
gen1=$(grep -c "generation .* worker(s) serving it" "$TMP/agent.log")

reqs=$(awk '/requests in/ {print $1}' "$TMP/wrk.out")
if [ -n "$reqs" ] && [ "$reqs" -gt 0 ] && ! grep -qE "Non-2xx|Socket errors" "$TMP/wrk.out"; then
	ok "keep-alive load: $reqs requests, 0 non-2xx, 0 socket errors across $CHANGES changes"
else
	not_ok "keep-alive load: 0 non-2xx and 0 socket errors across $CHANGES changes" "$(grep -E 'requests in|Non-2xx|Socket' "$TMP/wrk.out")"
fi
read -r nok nbad <"$TMP/newconn.out" 2>/dev/null || { nok=0; nbad=1; }
if [ "$nbad" = 0 ] && [ "$nok" -gt 0 ]; then ok "new connections: $nok requests, all 200"
else not_ok "new connections: all 200" "$nok ok, $nbad failed: $(sort "$TMP/newconn.bad" 2>/dev/null | uniq -c | tr '\n' ' ')"; fi
read -r wsent wechoed werr <"$TMP/ws.out" 2>/dev/null || { wsent=0; wechoed=0; werr="no result"; }
if [ "$werr" = - ] && [ "$wsent" -gt 50 ] && [ "$wechoed" = "$wsent" ]; then
	ok "a WebSocket open across the $CHANGES changes: $wechoed of $wsent messages echoed"
else
	not_ok "a WebSocket open across the $CHANGES changes: every message echoed" "$wechoed of $wsent echoed; $werr"
fi
applied=$((gen1 - gen0))
secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", b-a}')
# route changes alone (a file of its own each) patch the snapshot that serves
patched=$(grep -c "snapshot patched: reconcile" "$TMP/agent.log")
if [ "$applied" -ge 20 ] && [ "$patched" -ge 5 ]; then
	ok "the agent applied $applied generations in $secs s of changes, $patched by patching the snapshot"
else not_ok "the agent applied the changes, route changes by patching the snapshot" "$applied generations, $patched patched"; fi
# the last state holds: the last added route serves, the removed ones do not
last=$(( (CHANGES / 4) * 4 ))
c1=$(cx curl -s --max-time 2 -o /dev/null -w '%{http_code}' -H "Host: h$last.example.com" http://10.24.100.1/)
c2=$(cx curl -s --max-time 2 -o /dev/null -w '%{http_code}' -H "Host: h4.example.com" http://10.24.100.1/)
if [ "$c1" = 200 ] && [ "$c2" = 404 ]; then ok "final state: route r$last serves, removed route r4 is gone"
else not_ok "final state: route r$last serves, removed route r4 is gone" "r$last: $c1, r4: $c2"; fi
# and status.json, whose route statuses the status writer mostly copied from
# its previous document (those a patching pass kept), names exactly the routes
# in the folder, each accepted by eg and its references resolved
lastgen=$(sed -n 's/.*generation \([0-9]*\): all .* serving it.*/\1/p' "$TMP/agent.log" | tail -1)
status_routes() {
	python3 - "$STATUS" "$lastgen" "$CONF" <<'PY'
import glob, json, os, sys
d = json.load(open(sys.argv[1]))
want = {"backend"} | {os.path.basename(f)[:-5] for f in glob.glob(os.path.join(sys.argv[3], "r*.yaml"))}
got = {r["name"]: r for r in d["httpRoutes"]}
ok = d["generation"] == int(sys.argv[2]) and d["programmed"] and set(got) == want
for r in got.values():
    conds = {c["type"]: c["status"] for p in r["status"]["parents"] for c in p["conditions"]}
    ok = ok and [p["parentRef"]["name"] for p in r["status"]["parents"]] == ["eg"] and \
        conds.get("Accepted") == "True" and conds.get("ResolvedRefs") == "True"
sys.exit(not ok)
PY
}
wait_for 50 status_routes
if status_routes; then ok "final state: status.json of generation $lastgen names the $(ls "$CONF"/r*.yaml | wc -l) added routes and the stable one, each accepted"
else not_ok "final state: status.json names exactly the routes in the folder, each accepted" "$(head -c 300 "$STATUS")"; fi

# The folder's events name the files that change, and a load reads those
# alone: a file changed behind a symbolic link (as in a ConfigMap volume) is
# not named, so it is not read until SIGHUP reads the whole folder.
linked() {
	printf 'apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\n'
	printf 'metadata: {name: linked, namespace: default}\nspec:\n  parentRefs: [{name: eg}]\n'
	printf '  hostnames: [%s]\n  rules: [{backendRefs: [{name: backend-1, port: 80}]}]\n' "$1"
}
serves() { [ "$(cx curl -s --max-time 1 -o /dev/null -w '%{http_code}' -H "Host: $1" http://10.24.100.1/)" = 200 ]; }
linked la.example.com >"$TMP/linked.yaml"
ln -s "$TMP/linked.yaml" "$CONF/linked.yaml"
wait_for 50 serves la.example.com && l_a=ok || l_a=no
linked lb.example.com >"$TMP/linked.new" && mv "$TMP/linked.new" "$TMP/linked.yaml"
sleep 0.5
serves lb.example.com && l_early=yes || l_early=no
kill -HUP "$AGENT"
wait_for 50 serves lb.example.com && l_b=ok || l_b=no
if [ "$l_a" = ok ] && [ "$l_early" = no ] && [ "$l_b" = ok ]; then
	ok "a manifest behind a symbolic link: read when the link came, its target's change read on SIGHUP (not before)"
else
	not_ok "a manifest behind a symbolic link: read when the link came, its target's change on SIGHUP" \
		"link read: $l_a, change read before SIGHUP: $l_early, after: $l_b"
fi
rm -f "$CONF/linked.yaml"
gone() { ! serves "$1"; }
wait_for 50 gone lb.example.com # applied alone, before the endpoint change below

# A ConfigMap volume, as the kubelet writes one: the manifest is a link through
# `..data` into a timestamped directory, and an update writes a new directory,
# points a new link at it and renames that link over `..data`. No event names
# the manifest; the link renamed into place makes the agent read the folder.
mkdir "$CONF/..2026_11_27_a"
linked ca.example.com >"$CONF/..2026_11_27_a/cm.yaml"
ln -s ..2026_11_27_a "$CONF/..data"
ln -s ..data/cm.yaml "$CONF/cm.yaml"
wait_for 50 serves ca.example.com && c_a=ok || c_a=no
mkdir "$CONF/..2026_11_27_b"
linked cb.example.com >"$CONF/..2026_11_27_b/cm.yaml"
ln -s ..2026_11_27_b "$CONF/..data_tmp"
mv -T "$CONF/..data_tmp" "$CONF/..data"
rm -rf "$CONF/..2026_11_27_a"
wait_for 50 serves cb.example.com && c_b=ok || c_b=no
gone ca.example.com && c_gone=yes || c_gone=no
if [ "$c_a" = ok ] && [ "$c_b" = ok ] && [ "$c_gone" = yes ]; then
	ok "a ConfigMap volume: the manifest read through its links, and the kubelet's swap of ..data applied without SIGHUP"
else
	not_ok "a ConfigMap volume: the kubelet's swap of ..data applied without SIGHUP" \
		"first version served: $c_a, second served: $c_b, first gone: $c_gone"
fi
rm -rf "$CONF/cm.yaml" "$CONF/..data" "$CONF"/..2026_11_27_*
wait_for 50 gone cb.example.com

# An endpoint change alone takes the agent's fast path (no full reconcile) and
# moves the traffic: every request then reaches the one endpoint left.
only12() {
	for _ in 1 2 3 4 5 6; do
		cx curl -s --max-time 1 -H 'Host: app.yourdomain.com' http://10.24.100.1/ |
			grep -q '"pod": "backend-12"' || return 1
	done
}
fast0=$(grep -c "endpoints only: reconcile" "$TMP/agent.log")
endpoints 10.24.1.12
wait_for 50 only12
fast1=$(grep -c "endpoints only: reconcile" "$TMP/agent.log")
# and status.json tells that generation, programmed, with the routes' statuses
fastgen=$(sed -n 's/.*generation \([0-9]*\): .*endpoints only: reconcile.*/\1/p' "$TMP/agent.log" | tail -1)
status_at() { python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); sys.exit(not (d["generation"] == int(sys.argv[2]) and d["programmed"] and any(r["name"] == "backend" for r in d["httpRoutes"])))' "$STATUS" "$fastgen"; }
wait_for 50 status_at
if only12 && [ "$fast1" -gt "$fast0" ] && status_at; then
	ok "an endpoint change takes the fast path ($fast1 generations in all), moves the traffic, and status.json says generation $fastgen is programmed"
else
	not_ok "an endpoint change takes the fast path, moves the traffic, and status.json tells" \
		"fast-path generations $fast0 -> $fast1 (last $fastgen); $(grep "generation" "$TMP/agent.log" | tail -2); status: $(head -c 120 "$STATUS")"
fi

# A listener removed under open connections: an idle keep-alive connection is
# closed by the server, one with a request in flight gets its answer (with
# Connection: close) and is closed after it; neither sees a 404.
listener 1
alt_up() { [ "$(cx curl -s --max-time 1 -o /dev/null -w '%{http_code}' -H 'Host: app.yourdomain.com' http://10.24.100.1:8080/)" = 200 ]; }
wait_for 50 alt_up
cat >"$TMP/gone.py" <<'EOF'
import socket, sys, threading, time
gw, go = sys.argv[1], sys.argv[2]
def answer(s):
    data = b""
    while b"\r\n\r\n" not in data:
        d = s.recv(4096)
        if not d:
            return "EOF"
        data += d
    head, body = data.split(b"\r\n\r\n", 1)
    n = int([l.split(b":")[1] for l in head.split(b"\r\n") if l.lower().startswith(b"content-length")][0])
    while len(body) < n:
        body += s.recv(n - len(body))
    close = b"connection: close" in head.lower()
    return head.split(b" ")[1].decode() + ("+close" if close else "")
def req(s, path):
    s.sendall(f"GET {path} HTTP/1.1\r\nHost: app.yourdomain.com\r\n\r\n".encode())
    return answer(s)
def upload(s):
    # The head now, the body in pieces after the listener is gone: the
    # client's packets must still reach the worker while it drains.
    s.sendall(b"POST /up HTTP/1.1\r\nHost: app.yourdomain.com\r\nContent-Length: 200000\r\n\r\n")
    time.sleep(0.6)
    for _ in range(20):
        s.sendall(b"x" * 10000)
        time.sleep(0.05)
    return answer(s)
def after(s):
    s.settimeout(6)
    try:
        return "EOF" if not s.recv(1) else "data"
    except socket.timeout:
        return "open"
def fresh():
    try:
        socket.create_connection((gw, 8080), timeout=1.5).close()
        return "connected"
    except socket.timeout:
        return "refused"
    except OSError as e:
        return "error " + str(e)
idle = socket.create_connection((gw, 8080), timeout=5)
busy = socket.create_connection((gw, 8080), timeout=5)
up = socket.create_connection((gw, 8080), timeout=8)
first = req(idle, "/") + "," + req(busy, "/")
res = {}
t = threading.Thread(target=lambda: res.__setitem__("busy", req(busy, "/?delay=3s")))
u = threading.Thread(target=lambda: res.__setitem__("up", upload(up)))
t.start()
u.start()
time.sleep(0.3)
open(go, "w").close()  # the test removes the listener now
res["idle"] = after(idle)
t.join()
u.join()
print(first, res["idle"], res["busy"], after(busy), res["up"], fresh())
EOF
cx python3 "$TMP/gone.py" 10.24.100.1 "$TMP/gone.go" >"$TMP/gone.out" 2>&1 &
GONE=$!
PIDS+=($GONE)
wait_for 50 test -e "$TMP/gone.go"
listener 0
wait "$GONE" 2>/dev/null
drained=$("$BUILD/tools/xgwctl" maps --pin-dir "$PIN" 2>/dev/null | awk '$1 == "drop_draining" {print $2}')
if [ "$(cat "$TMP/gone.out")" = "200,200 EOF 200+close EOF 200+close refused" ] &&
	[ "${drained:-0}" -gt 0 ]; then
	ok "listener removed: idle connection closed, in-flight request answered, upload finished; new connections dropped in XDP while it drains ($drained SYNs)"
else
	not_ok "listener removed: idle closed, in-flight answered, upload finished, new refused" \
		"got: $(cat "$TMP/gone.out"), drop_draining ${drained:-none}"
fi
exit $((failed > 0))
