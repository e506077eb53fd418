#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# Endpoint choice with real clients through the agent and a worker:
# sessionPersistence (cookie and header) sends a client back to the pod that
# served it while new clients still spread; an endpoint that leaves ends its
# sessions; and a Service annotated xgw.io/load-balancer: least-request sends
# new requests away from the endpoint that has one in flight. Prints TAP.
# Needs root.
set -uo pipefail
BUILD=${XGW_BUILD:?XGW_BUILD must name the build directory}
SRC=${XGW_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
ID=$$
NS_N=xa$ID-n NS_C=xa$ID-c
PIN=/sys/fs/bpf/xgw-affinity-$ID
TMP=$(mktemp -d /tmp/xgw-affinity.XXXXXX)
CONF=$TMP/config
STATUS=$TMP/status.json
GW=10.26.100.1
. "$SRC/selftests/e2e/lib.sh"
E2E_NETNS=("$NS_C" "$NS_N")
E2E_PATHS=("$PIN" "$TMP")
cx() { ip netns exec "$NS_C" "$@"; }

# Service <name> with the endpoints 10.26.1.<n> for each n given, and an annotation.
service() {
	local name=$1 ann=$2
	shift 2
	{
		printf 'apiVersion: v1\nkind: Service\nmetadata: {name: %s, namespace: default%s}\n' "$name" "$ann"
		printf 'spec: {ports: [{name: http, port: 80, targetPort: 8080}]}\n---\n'
		printf 'apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n'
		printf 'metadata: {name: %s-x, namespace: default, labels: {kubernetes.io/service-name: %s}}\n' "$name" "$name"
		printf 'addressType: IPv4\nports: [{name: http, port: 8080}]\nendpoints:\n'
		local e
		for e in "$@"; do printf -- '- addresses: [10.26.1.%s]\n' "$e"; done
	} >"$CONF/svc-$name.yaml.tmp" && mv "$CONF/svc-$name.yaml.tmp" "$CONF/svc-$name.yaml"
}
# The pod that answered (xgw-echo's JSON "pod"), or the HTTP failure.
pod_of() { python3 -c 'import json,sys; print(json.load(sys.stdin).get("pod","?"))' 2>/dev/null || echo error; }
get() { # host, extra curl args...
	local host=$1
	shift
	cx curl -s --max-time 5 -H "Host: $host" "$@" "http://$GW/app/x" | pod_of
}
generation() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(d['generation'] if d['programmed'] else 0)" "$STATUS" 2>/dev/null || echo 0; }
wait_gen_after() { # wait until a programmed generation newer than $1
	local g=$1
	for _ in $(seq 100); do [ "$(generation)" -gt "$g" ] && return 0; sleep 0.1; done
	return 1
}

e2e_begin 7

if ! e2e_node_client "$NS_N" "$NS_C" "xa$ID" 10.26; then
	echo "Bail out! cannot create namespaces"
	exit 1
fi
for b in 10 11 12 20 21; do ip -n "$NS_N" addr add "10.26.1.$b/32" dev lo; done

mkdir -p "$CONF"
{
	printf 'apiVersion: gateway.networking.k8s.io/v1\nkind: GatewayClass\nmetadata: {name: xgw}\n'
	printf 'spec: {controllerName: xgw.io/gateway-controller}\n---\n'
	printf 'apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\n'
	printf 'metadata: {name: eg, namespace: default}\nspec:\n  gatewayClassName: xgw\n  listeners:\n'
	printf '  - {name: http, protocol: HTTP, port: 80, allowedRoutes: {namespaces: {from: All}}}\n'
	for r in cookie:Cookie header:Header lr:none; do
		name=${r%%:*} type=${r#*:}
		printf -- '---\napiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\n'
		printf 'metadata: {name: %s, namespace: default}\nspec:\n  parentRefs: [{name: eg}]\n' "$name"
		printf '  hostnames: [%s.test]\n  rules:\n  - matches: [{path: {type: PathPrefix, value: /app}}]\n' "$name"
		if [ "$type" = none ]; then
			printf '    backendRefs: [{name: slow, port: 80}]\n'
		else
			printf '    sessionPersistence: {type: %s, sessionName: my-session, idleTimeout: 1h}\n' "$type"
			printf '    backendRefs: [{name: web, port: 80}]\n'
		fi
	done
} >"$CONF/gateway.yaml"
service web "" 10 11 12
service slow ", annotations: {xgw.io/load-balancer: least-request}" 20 21
for b in 10 11 12 20 21; do
	nsenter --net=/run/netns/"$NS_N" "$BUILD/tools/xgw-echo" --listen "10.26.1.$b:8080" \
		--name "pod-$b" --mode json --quiet </dev/null >/dev/null 2>&1 &
	PIDS+=($!)
done
# One worker: least-request counts what this worker has in flight.
nsenter --net=/run/netns/"$NS_N" "$BUILD/agent/xgw-agent" --config-dir "$CONF" \
	--address-pool 10.26.100.0/24 --interface "xa$ID-n" --workers 1 --pin-dir "$PIN" \
	--status-file "$STATUS" </dev/null >"$TMP/agent.log" 2>&1 &
PIDS+=($!)

up() { [ "$(get cookie.test)" != error ]; }
if ! wait_for 100 up; then
	echo "Bail out! the gateway does not serve: $(tail -5 "$TMP/agent.log")"
	exit 1
fi

# Cookie: the first answer sets it; 20 more with the jar all reach that pod.
hdrs=$(cx curl -s --max-time 5 -D - -o /dev/null -c "$TMP/jar" -H "Host: cookie.test" "http://$GW/app/x")
first=$(get cookie.test -b "$TMP/jar")
pods=$(for _ in $(seq 20); do get cookie.test -b "$TMP/jar" -c "$TMP/jar"; done | sort -u | tr '\n' ' ')
if echo "$hdrs" | grep -qiE '^set-cookie: my-session=[A-Za-z0-9_-]{22}; Path=/app; HttpOnly' &&
	[ "$pods" = "$first " ]; then
	ok "cookie session: Set-Cookie my-session (Path=/app, HttpOnly), 21 requests all to $first"
else
	not_ok "cookie session sticks" "headers: $(echo "$hdrs" | grep -i set-cookie)" "pods: $pods (first $first)"
fi
spread=$(for _ in $(seq 30); do get cookie.test; done | sort -u | wc -l)
if [ "$spread" = 3 ]; then ok "clients without the cookie spread over all 3 pods"
else not_ok "clients without the cookie spread" "$spread distinct pods in 30 requests"; fi

# Header: the token comes back in my-session and is sent in the request header.
tok=$(cx curl -s --max-time 5 -D - -o /dev/null -H "Host: header.test" "http://$GW/app/x" |
	tr -d '\r' | awk -F': ' 'tolower($1) == "my-session" {print $2}')
hpods=$(for _ in $(seq 20); do get header.test -H "my-session: $tok"; done | sort -u | tr '\n' ' ')
if [ -n "$tok" ] && [ "$(echo "$hpods" | wc -w)" = 1 ]; then
	ok "header session: token in my-session, 20 requests with it all to $hpods"
else
	not_ok "header session sticks" "token '$tok', pods: $hpods"
fi

# The cookie's pod leaves the Service: its sessions move, the client gets a new cookie.
g=$(generation)
gone=${first#pod-}
service web "" $(for b in 10 11 12; do [ "$b" != "$gone" ] && echo "$b"; done)
wait_gen_after "$g"
moved=$(get cookie.test -b "$TMP/jar" -c "$TMP/jar")
again=$(for _ in $(seq 10); do get cookie.test -b "$TMP/jar" -c "$TMP/jar"; done | sort -u | tr '\n' ' ')
if [ "$moved" != "$first" ] && [ "$moved" != error ] && [ "$again" = "$moved " ]; then
	ok "endpoint $first removed: the session moved to $moved and sticks there"
else
	not_ok "a removed endpoint ends its sessions" "first $first, then $moved, then $again"
fi
# A forged or stale token is ignored, not an error.
if [ "$(get cookie.test -b 'my-session=AAAAAAAAAAAAAAAAAAAAAA')" != error ] &&
	[ "$(get cookie.test -b 'my-session=garbage;;=')" != error ]; then
	ok "garbage tokens start a new session"
else
	not_ok "garbage tokens start a new session"
fi

# Least request: a request in flight on one pod sends the next ones to the other.
cx curl -s --max-time 15 -H "Host: lr.test" "http://$GW/app/slow?delay=6s" -o "$TMP/slow.json" &
SLOW=$!
PIDS+=($SLOW)
# In flight once the worker holds a connection to one of the two pods (none before).
inflight() { ip netns exec "$NS_N" ss -Htn state established '( dst 10.26.1.20:8080 or dst 10.26.1.21:8080 )' | grep -q .; }
wait_for 50 inflight
quick=$(for _ in $(seq 10); do get lr.test; done | sort | uniq -c | tr -s ' ' | tr '\n' ' ')
wait "$SLOW"
busy=$(pod_of <"$TMP/slow.json")
if [ "$(echo "$quick" | wc -w)" = 2 ] && ! echo "$quick" | grep -q "$busy" && [ "$busy" != error ]; then
	ok "least-request: while $busy has a request in flight, 10 new ones all went to the other ($quick)"
else
	not_ok "least-request avoids the busy endpoint" "busy $busy; quick: $quick"
fi
even=$(for _ in $(seq 20); do get lr.test; done | sort | uniq -c | awk '{print $1}' | tr '\n' ' ')
if [ "$(echo "$even" | wc -w)" = 2 ]; then ok "least-request without load uses both pods ($even)"
else not_ok "least-request without load uses both pods" "$even"; fi
exit $((failed > 0))
