#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# End to end: a client namespace and a gateway namespace joined by veth, XDP
# attached natively on the gateway's veth, agent + workers + echo backend in
# the gateway namespace, on the quick start's manifests. Checks the quick
# start's two requests, the XDP drop of a SYN to an unlistened port (counted),
# the maps' BTF field names (and that xgwctl refuses another layout), IPv6,
# live reload, bad input (broken YAML, a route to a missing Service, a
# smuggling-shaped request), a worker crash, and the clean-up on exit. Prints
# TAP. Needs root.
set -uo pipefail
BUILD=${XGW_BUILD:?XGW_BUILD must name the build directory}
SRC=${XGW_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
ID=$$
NS_N=xe$ID-n NS_C=xe$ID-c
IF_N=xe$ID-n IF_C=xe$ID-c
PIN=/sys/fs/bpf/xgw-e2e-$ID
TMP=$(mktemp -d /tmp/xgw-e2e.XXXXXX)
CONF=$TMP/config
STATUS=$TMP/status.json
WORKERS=$TMP/workers.json
AGENT_LOG=$TMP/agent.log
AGENT=""
. "$SRC/selftests/e2e/lib.sh"
E2E_NETNS=("$NS_C" "$NS_N")
E2E_PATHS=("$PIN" "$PIN-old" "$TMP")
cx() { ip netns exec "$NS_C" "$@"; }
e2e_begin 22

# --- topology --------------------------------------------------------------
ip netns add "$NS_N" && ip netns add "$NS_C" &&
	ip link add "$IF_C" netns "$NS_C" type veth peer name "$IF_N" netns "$NS_N" || {
	echo "Bail out! cannot create namespaces"
	exit 1
}
for ns in "$NS_N" "$NS_C"; do
	ip -n "$ns" link set lo up
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
done
ip -n "$NS_N" addr add 10.23.0.1/24 dev "$IF_N"
ip -n "$NS_C" addr add 10.23.0.2/24 dev "$IF_C"
ip -n "$NS_N" addr add fd00:23::1/64 dev "$IF_N" nodad
ip -n "$NS_C" addr add fd00:23::2/64 dev "$IF_C" nodad
ip -n "$NS_N" addr add 10.23.1.10/32 dev lo
ip -n "$NS_N" link set "$IF_N" up
ip -n "$NS_C" link set "$IF_C" up
ip -n "$NS_C" route add 10.23.100.0/24 via 10.23.0.1
ip -n "$NS_C" -6 route add fd00:23:100::/64 via fd00:23::1

mkdir -p "$CONF"
cp "$SRC"/examples/quickstart/*.yaml "$CONF"/

nsenter --net=/run/netns/"$NS_N" "$BUILD/tools/xgw-echo" --listen 10.23.1.10:8080 --name backend-1 --namespace default \
	--mode plain --quiet </dev/null >"$TMP/echo.log" 2>&1 &
PIDS+=($!)
# nsenter execs the agent: $! is the agent's own PID
nsenter --net=/run/netns/"$NS_N" "$BUILD/agent/xgw-agent" --config-dir "$CONF" --address-pool 10.23.100.0/24 \
	--interface "$IF_N" --xdp-mode native --workers 2 --pin-dir "$PIN" \
	--status-file "$STATUS" --workers-file "$WORKERS" </dev/null >"$AGENT_LOG" 2>&1 &
AGENT=$!
PIDS+=($AGENT)

programmed() {
	"$BUILD/tools/xgwctl" status --status-file "$STATUS" 2>/dev/null | grep -q "data plane programmed"
}

# 1-2: the agent programs the quick start and reports the address
if wait_for 100 programmed; then ok "agent programs the quick start (status: programmed)"
else not_ok "agent programs the quick start (status: programmed)" "$(tail -5 "$AGENT_LOG")"; fi
ADDR=$("$BUILD/tools/xgwctl" status --status-file "$STATUS" 2>/dev/null |
	sed -n 's/^Gateway default\/eg  address \([^ ,]*\).*/\1/p')
if [ "$ADDR" = 10.23.100.1 ] && grep -q "Gateway default/eg: address 10.23.100.1 (from the address pool)" "$AGENT_LOG"; then
	ok "Gateway gets 10.23.100.1 from the pool, in status and log"
else
	not_ok "Gateway gets 10.23.100.1 from the pool, in status and log" "status address: '$ADDR'"
	ADDR=10.23.100.1
fi

# 3-4: the quick start's two requests
body=$(cx curl -sS --max-time 5 -H "Host: app.yourdomain.com" "http://$ADDR/hello?x=1" 2>&1)
if grep -q "Server name: backend-1" <<<"$body" && grep -q "URI: /hello?x=1" <<<"$body"; then
	ok "app.yourdomain.com is answered by backend-1"
else
	not_ok "app.yourdomain.com is answered by backend-1" "$body"
fi
code=$(cx curl -sS --max-time 5 -o /dev/null -w '%{http_code}' -H "Host: unknown.example" "http://$ADDR/")
[ "$code" = 404 ] && ok "unknown host gets 404 from the gateway" || not_ok "unknown host gets 404 from the gateway" "got $code"

# 5: XDP is attached natively
if ip -n "$NS_N" link show "$IF_N" | grep -q "prog/xdp id"; then ok "XDP attached in native mode on the gateway veth"
else not_ok "XDP attached in native mode on the gateway veth" "$(ip -n "$NS_N" link show "$IF_N")"; fi

# 6: a SYN to an unlistened port of the Gateway address is dropped in XDP and counted
stat() { "$BUILD/tools/xgwctl" maps --pin-dir "$PIN" | awk -v k="$1" '$1 == k {print $2}'; }
before=$(stat drop_no_listener)
cx curl -sS --max-time 2 --connect-timeout 1 "http://$ADDR:8081/" >/dev/null 2>&1
rc=$?
after=$(stat drop_no_listener)
# curl's connect timeout (28), not a refusal (7): the SYN never reached the stack
if [ "$rc" = 28 ] && [ "${after:-0}" -gt "${before:-0}" ]; then
	ok "SYN to port 8081 is dropped in XDP and counted (drop_no_listener $before -> $after)"
else
	not_ok "SYN to port 8081 is dropped in XDP and counted" "curl rc $rc, drop_no_listener $before -> $after"
fi

# 7: per-listener counters
line=$("$BUILD/tools/xgwctl" maps --pin-dir "$PIN" | grep "10.23.100.1:80 ")
syns=$(awk '{print $6}' <<<"$line")
if [ -n "$line" ] && [ "${syns:-0}" -ge 2 ]; then ok "per-listener counters count packets and SYNs ($line)"
else not_ok "per-listener counters count packets and SYNs" "$line"; fi

# 7b: the workers' own counters, through xgwctl (the agent writes them every 2 s)
wreq() { "$BUILD/tools/xgwctl" workers --workers-file "$WORKERS" 2>/dev/null | awk '$1 == "requests" {print $NF}'; }
wreq_grew() { [ "$(wreq)" -ge "$1" ] 2>/dev/null; }
before=$(wreq)
for _ in 1 2 3 4 5; do cx curl -s -o /dev/null -H "Host: app.yourdomain.com" "http://10.23.100.1/"; done
if wait_for 60 wreq_grew $((${before:-0} + 5)); then
	ok "xgwctl workers: the workers' request counters ($(wreq) requests in all)"
else
	not_ok "xgwctl workers: the workers' request counters" \
		"$("$BUILD/tools/xgwctl" workers --workers-file "$WORKERS" 2>&1 | head -8)"
fi

# 8: bpftool prints the listeners map with BTF field names
dump=$(bpftool map dump pinned "$PIN/xgw_listeners" 2>&1)
if grep -q '"port": 20480' <<<"$dump" && grep -q '"family": 4' <<<"$dump" && grep -q '"id": 0' <<<"$dump" &&
	grep -q '"flow_token": [1-9]' <<<"$dump"; then
	ok "bpftool map dump shows the listener by field name"
else
	not_ok "bpftool map dump shows the listener by field name" "$(head -20 <<<"$dump")"
fi

# 8b: xgwctl refuses maps of another layout (pinned by an agent of another
# version) instead of reading them through its own structs: here, the
# listeners and flows of an agent from before flow tokens
mkdir -p "$PIN-old"
bpftool map create "$PIN-old/xgw_listeners" type hash key 24 value 16 entries 4 name xgw_listeners &&
	bpftool map create "$PIN-old/xgw_flows" type hash key 40 value 8 entries 4 name xgw_flows
out=$("$BUILD/tools/xgwctl" flows --pin-dir "$PIN-old" 2>&1)
rc=$?
if [ $rc = 1 ] && grep -q "xgw_listeners: keys of 24 bytes and values of 16, where this xgwctl reads 24 and 20: pinned by an agent of another version" <<<"$out"; then
	ok "xgwctl refuses a pinned map of another layout"
else
	not_ok "xgwctl refuses a pinned map of another layout" "rc $rc" "$out"
fi
rm -rf "$PIN-old"

# 9: keep-alive: two requests on one connection
out=$(cx curl -sv --max-time 5 -H "Host: app.yourdomain.com" "http://$ADDR/a" "http://$ADDR/b" 2>&1)
if [ "$(grep -c "Server name: backend-1" <<<"$out")" = 2 ] && grep -qi "re-using existing connection" <<<"$out"; then
	ok "keep-alive: two requests on one client connection"
else
	not_ok "keep-alive: two requests on one client connection" "$(grep -iE '^< HTTP|connection' <<<"$out" | head)"
fi

# 10: a chunked request body is proxied
out=$(head -c 70000 /dev/zero | tr '\0' 'x' | cx curl -sS --max-time 5 -H "Host: app.yourdomain.com" \
	-H "Transfer-Encoding: chunked" --data-binary @- -o /dev/null -w '%{http_code}' "http://$ADDR/upload")
[ "$out" = 200 ] && ok "chunked request body (70 kB) is proxied" || not_ok "chunked request body (70 kB) is proxied" "got $out"

# 11: a request with both Content-Length and Transfer-Encoding gets 400 and close
raw=$(cx timeout 5 bash -c "exec 3<>/dev/tcp/$ADDR/80; printf 'POST / HTTP/1.1\r\nHost: app.yourdomain.com\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n' >&3; cat <&3" 2>&1)
if head -1 <<<"$raw" | grep -q "^HTTP/1.1 400"; then ok "CL + TE request gets 400 and the connection closes"
else not_ok "CL + TE request gets 400 and the connection closes" "$(head -3 <<<"$raw")"; fi

# 12: live reload: a new route in a new file serves without restart
cat >"$CONF/v2.yaml" <<'Y'
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: v2, namespace: default}
spec:
  parentRefs: [{name: eg}]
  hostnames: [v2.example.com]
  rules:
  - matches: [{path: {type: Exact, value: /only}}]
    backendRefs: [{name: backend-1, port: 80}]
Y
v2() { [ "$(cx curl -s --max-time 2 -o /dev/null -w '%{http_code}' -H "Host: v2.example.com" "http://$ADDR/only")" = 200 ]; }
if wait_for 50 v2; then ok "a route added to the folder serves without restart"
else not_ok "a route added to the folder serves without restart" "$(tail -5 "$AGENT_LOG")"; fi
code=$(cx curl -s --max-time 2 -o /dev/null -w '%{http_code}' -H "Host: v2.example.com" "http://$ADDR/only/not")
[ "$code" = 404 ] && ok "Exact path match does not match a longer path" || not_ok "Exact path match does not match a longer path" "got $code"

# 14: broken YAML in a file: logged with the file's name, the rest keeps serving,
#     and the file's last good version stays
printf 'apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: v2, namespace: default\n  spec: [\n' >"$CONF/v2.yaml"
sleep 0.5
if grep -q "v2.yaml" "$AGENT_LOG" && v2 &&
	[ "$(cx curl -s --max-time 2 -o /dev/null -w '%{http_code}' -H "Host: app.yourdomain.com" "http://$ADDR/")" = 200 ]; then
	ok "broken YAML is logged by file name; the last good version keeps serving"
else
	not_ok "broken YAML is logged by file name; the last good version keeps serving" "$(grep -i v2.yaml "$AGENT_LOG" | tail -3)"
fi

# 15: unknown kind (its own file) and a route to a missing Service: logged by
#     name; that route gets 500, the rest keeps serving
rm -f "$CONF/v2.yaml"
cat >"$CONF/typo.yaml" <<'Y'
apiVersion: gateway.networking.k8s.io/v1
kind: Gatewy
metadata: {name: typo, namespace: default}
Y
cat >"$CONF/ghost.yaml" <<'Y'
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: ghost, namespace: default}
spec:
  parentRefs: [{name: eg}]
  hostnames: [ghost.example.com]
  rules:
  - backendRefs: [{name: no-such-service, port: 80}]
Y
ghost() { [ "$(cx curl -s --max-time 2 -o /dev/null -w '%{http_code}' -H "Host: ghost.example.com" "http://$ADDR/")" = 500 ]; }
if wait_for 50 ghost && grep -q "unknown kind Gatewy" "$AGENT_LOG" && grep -q "HTTPRoute default/ghost.*no-such-service" "$AGENT_LOG"; then
	ok "unknown kind and a missing Service are logged by name; the route answers 500"
else
	not_ok "unknown kind and a missing Service are logged by name; the route answers 500" "$(grep -E 'Gatewy|ghost' "$AGENT_LOG" | tail -3)"
fi
if "$BUILD/tools/xgwctl" status --status-file "$STATUS" | grep -A4 "HTTPRoute default/ghost" | grep -q "ResolvedRefs.*False.*BackendNotFound"; then
	ok "status: ghost route ResolvedRefs=False BackendNotFound"
else
	not_ok "status: ghost route ResolvedRefs=False BackendNotFound" "$("$BUILD/tools/xgwctl" status --status-file "$STATUS" | tail -8)"
fi
rm -f "$CONF/typo.yaml" "$CONF/ghost.yaml"

# 17: IPv6: a Gateway with spec.addresses in fd00::/8
cat >"$CONF/v6.yaml" <<'Y'
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: eg6, namespace: default}
spec:
  gatewayClassName: xgw
  addresses: [{type: IPAddress, value: "fd00:23:100::10"}]
  listeners:
  - {name: http, protocol: HTTP, port: 8080, allowedRoutes: {namespaces: {from: All}}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r6, namespace: default}
spec:
  parentRefs: [{name: eg6}]
  rules: [{backendRefs: [{name: backend-1, port: 80}]}]
Y
v6() { cx curl -s --max-time 2 "http://[fd00:23:100::10]:8080/six" | grep -q "Server name: backend-1"; }
if wait_for 50 v6; then ok "IPv6 Gateway address is steered to a worker and proxied"
else not_ok "IPv6 Gateway address is steered to a worker and proxied" "$(tail -5 "$AGENT_LOG")"; fi

# 18: a worker that crashes is restarted on the same socket; nothing is refused
wpid=$(pgrep -P "$AGENT" -f xgw-worker | head -1)
if [ -n "$wpid" ]; then
	kill -KILL "$wpid"
	bad=0
	for i in $(seq 40); do
		c=$(cx curl -s --max-time 3 -o /dev/null -w '%{http_code}' -H "Host: app.yourdomain.com" "http://$ADDR/r$i")
		[ "$c" = 200 ] || bad=$((bad + 1))
	done
	if [ "$bad" = 0 ] && wait_for 50 grep -q "worker .* restarting" "$AGENT_LOG"; then
		ok "a killed worker is restarted and 40 requests meanwhile all succeed"
	else
		not_ok "a killed worker is restarted and 40 requests meanwhile all succeed" "$bad failed"
	fi
else
	not_ok "a killed worker is restarted and 40 requests meanwhile all succeed" "no worker process found"
fi

# 19-20: SIGTERM: workers drain, programs detach, pins and routes go
kill -TERM "$AGENT"
for _ in $(seq 150); do kill -0 "$AGENT" 2>/dev/null || break; sleep 0.1; done
if ! kill -0 "$AGENT" 2>/dev/null && wait "$AGENT"; then ok "agent exits 0 on SIGTERM"
else not_ok "agent exits 0 on SIGTERM" "$(tail -5 "$AGENT_LOG")"; fi
if [ ! -e "$PIN" ] && ! ip -n "$NS_N" link show "$IF_N" | grep -q "prog/xdp" &&
	! ip -n "$NS_N" route show table local | grep -q "10.23.100.1"; then
	ok "exit removes XDP, pins and local routes"
else
	not_ok "exit removes XDP, pins and local routes" "$(ls "$PIN" 2>&1)" "$(ip -n "$NS_N" route show table local | grep 10.23.100)"
fi

if [ "$failed" != 0 ]; then
	echo "# agent log (last 30 lines):"
	tail -30 "$AGENT_LOG" | sed 's/^/#   /'
fi
exit $((failed > 0))
