#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# GatewayClass parameters: a class whose spec.parametersRef names an XgwConfig.
# The agent, started without --workers, runs the XgwConfig's spec.workers; the
# class's Gateway takes its address from the XgwConfig's addressPools (not
# the agent's --address-pool) and serves there. A reference to an XgwConfig
# that does not exist makes the class InvalidParameters and its Gateway
# Pending, and it is not served; put back, it serves again. A change of
# spec.workers resizes the running pool without a failed request (3 -> 5 -> 2).
# A GatewayClass defined twice
# is logged once, and resolved once the copy goes.
# Prints TAP. Needs root.
set -uo pipefail
BUILD=${XGW_BUILD:?XGW_BUILD must name the build directory}
SRC=${XGW_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
ID=$$
NS_N=xk$ID-n NS_C=xk$ID-c
PIN=/sys/fs/bpf/xgw-classconfig-$ID
TMP=$(mktemp -d /tmp/xgw-classconfig.XXXXXX)
CONF=$TMP/config
STATUS=$TMP/status.json
. "$SRC/selftests/e2e/lib.sh"
E2E_NETNS=("$NS_C" "$NS_N")
E2E_PATHS=("$PIN" "$TMP")
cx() { ip netns exec "$NS_C" "$@"; }
status() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))" "$STATUS" "$1" 2>/dev/null; }

class() { # the XgwConfig that GatewayClass xgw names
	printf 'apiVersion: gateway.networking.k8s.io/v1\nkind: GatewayClass\nmetadata: {name: xgw}\nspec:\n  controllerName: xgw.io/gateway-controller\n  parametersRef: {group: xgw.io, kind: XgwConfig, name: %s}\n' \
		"$1" >"$CONF/class.yaml.tmp" && mv "$CONF/class.yaml.tmp" "$CONF/class.yaml"
}
config() { # workers
	printf 'apiVersion: xgw.io/v1alpha1\nkind: XgwConfig\nmetadata: {name: edge}\nspec:\n  addressPools: [10.26.200.0/29]\n  workers: %s\n' \
		"$1" >"$CONF/config.yaml.tmp" && mv "$CONF/config.yaml.tmp" "$CONF/config.yaml"
}
code() { cx curl -s --max-time 1 -o /dev/null -w '%{http_code}' -H 'Host: app.yourdomain.com' "http://$1/"; }

e2e_begin 7

if ! e2e_node_client "$NS_N" "$NS_C" "xk$ID" 10.26 ||
	! ip -n "$NS_C" route add 10.26.200.0/24 via 10.26.0.1; then
	echo "Bail out! cannot create namespaces"
	exit 1
fi
ip -n "$NS_N" addr add 10.26.1.10/32 dev lo
mkdir -p "$CONF"
sed 's/10\.23\.1\.10/10.26.1.10/' "$SRC/examples/quickstart/backend.yaml" >"$CONF/backend.yaml"
# the quickstart's Gateway and route, of class xgw (its GatewayClass is class())
awk 'BEGIN { RS = "\n---\n"; ORS = "\n---\n" } !/kind: GatewayClass/' \
	"$SRC/examples/quickstart/gateway.yaml" >"$CONF/gateway.yaml"
class edge
config 3
nsenter --net=/run/netns/"$NS_N" "$BUILD/tools/xgw-echo" --listen 10.26.1.10:8080 \
	--name backend-1 --mode json --quiet </dev/null >/dev/null 2>&1 &
PIDS+=($!)
nsenter --net=/run/netns/"$NS_N" "$BUILD/agent/xgw-agent" --config-dir "$CONF" \
	--address-pool 10.26.100.0/24 --interface "xk$ID-n" --pin-dir "$PIN" \
	--status-file "$STATUS" --workers-file "$TMP/workers.json" </dev/null >"$TMP/agent.log" 2>&1 &
AGENT=$!
PIDS+=($AGENT)

serves() { [ "$(code 10.26.200.1)" = 200 ]; }
wait_for 100 serves
workers=$(pgrep -c -P "$AGENT" -f xgw-worker)
if [ "$workers" = 3 ] && grep -q "3 worker(s), as the XgwConfig" "$TMP/agent.log"; then
	ok "without --workers, the agent runs the XgwConfig's 3 workers"
else
	not_ok "without --workers, the agent runs the XgwConfig's 3 workers" "$workers running; $(head -3 "$TMP/agent.log")"
fi
addr=$(status "[g['status']['addresses'] for g in d['gateways']][0][0]['value']")
if serves && [ "$addr" = 10.26.200.1 ] && [ "$(code 10.26.100.1)" != 200 ]; then
	ok "the Gateway's address comes from the XgwConfig's pool, 10.26.200.0/29, and serves"
else
	not_ok "the Gateway's address comes from the XgwConfig's pool and serves" "address $addr; $(tail -3 "$TMP/agent.log")"
fi

class missing
invalid() {
	[ "$(status "[c['status']['conditions'][0]['reason'] for c in d['gatewayClasses']][0]")" = InvalidParameters ] &&
		[ "$(status "[c for c in d['gateways'][0]['status']['conditions'] if c['type'] == 'Accepted'][0]['reason']")" = Pending ]
}
wait_for 50 invalid
if invalid && ! serves && grep -q "GatewayClass xgw: parametersRef: XgwConfig missing not found" "$TMP/agent.log"; then
	ok "a parametersRef to no XgwConfig: class InvalidParameters, Gateway Pending, not served, and a log line"
else
	not_ok "a parametersRef to no XgwConfig: class InvalidParameters, Gateway Pending, not served" \
		"$(head -c 300 "$STATUS")" "$(tail -3 "$TMP/agent.log")"
fi

class edge
if wait_for 50 serves; then ok "the reference put back: served again at 10.26.200.1"
else not_ok "the reference put back: served again" "$(tail -3 "$TMP/agent.log")"; fi

# spec.workers changes while serving: 3 -> 5 -> 2 workers. Requests on new
# connections keep coming meanwhile, and slow requests started before the
# shrink (some on the workers that retire) finish.
running() { e2e_workers "$AGENT" "$1"; }
accepted() { # worker: the connections it accepted, from the counters file
	python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['workers'][int(sys.argv[2])]['conns_accepted'])" \
		"$TMP/workers.json" "$1" 2>/dev/null
}
config 5
bad=$(e2e_not_200 100 code 10.26.200.1)
grown() { running 5 && grep -q "workers: 5 take new connections" "$TMP/agent.log"; }
wait_for 50 grown
bad+=$(e2e_not_200 100 code 10.26.200.1)
spread() { [ "$(accepted 3)" -gt 0 ] 2>/dev/null && [ "$(accepted 4)" -gt 0 ] 2>/dev/null; }
wait_for 50 spread # the counters file is written every 2 s
if grown && spread && [ -z "$bad" ] && ! grep -q "but the agent was started with --workers" "$TMP/agent.log"; then
	ok "spec.workers 3 -> 5 while serving: 5 run, the new ones take connections ($(accepted 3), $(accepted 4)), 200 requests without a failure"
else
	not_ok "spec.workers 3 -> 5 while serving" "running $(pgrep -c -P "$AGENT" -f xgw-worker); new ones accepted $(accepted 3), $(accepted 4); not 200: $bad" "$(grep workers: "$TMP/agent.log" | tail -3)"
fi

for i in $(seq 10); do
	cx curl -s --max-time 10 -o /dev/null -w '%{http_code}\n' -H 'Host: app.yourdomain.com' \
		"http://10.26.200.1/slow?delay=3s" >"$TMP/slow.$i" &
	SLOW+=($!)
	PIDS+=($!)
done
sleep 0.5
config 2
bad=$(e2e_not_200 100 code 10.26.200.1)
shrunk() { running 2 && grep -q "workers: 2, every retired one gone" "$TMP/agent.log"; }
wait_for 100 shrunk
bad+=$(e2e_not_200 50 code 10.26.200.1)
for p in "${SLOW[@]}"; do wait "$p"; done
slow=$(cat "$TMP"/slow.* | sort | uniq -c | tr -s ' ')
if shrunk && [ -z "$bad" ] && [ "$slow" = " 10 200" ] && serves; then
	ok "spec.workers 5 -> 2 while serving: 3 retire and exit, 150 requests without a failure, 10 slow requests in flight finish with 200"
else
	not_ok "spec.workers 5 -> 2 while serving" "running $(pgrep -c -P "$AGENT" -f xgw-worker); not 200: $bad; slow: $slow" "$(grep -E "workers|retired" "$TMP/agent.log" | tail -5)"
fi

# The same GatewayClass in a second file: the last is used, the log says so
# once; the copy removed, the log says it is resolved.
cp "$CONF/class.yaml" "$TMP/zz-class.yaml" && mv "$TMP/zz-class.yaml" "$CONF/zz-class.yaml"
twice() { grep -q "GatewayClass xgw is defined more than once: $CONF/class.yaml document 1 (line 1) is ignored, $CONF/zz-class.yaml document 1 (line 1) is used" "$TMP/agent.log"; }
wait_for 50 twice
rm "$CONF/zz-class.yaml"
gone() { grep -q "resolved: GatewayClass xgw is defined more than once" "$TMP/agent.log"; }
wait_for 50 gone
if twice && gone && serves && [ "$(grep -c "GatewayClass xgw is defined more than once" "$TMP/agent.log")" = 2 ]; then
	ok "a GatewayClass defined twice: one log line, then resolved; still served"
else
	not_ok "a GatewayClass defined twice: one log line, then resolved" "$(grep -i "more than once" "$TMP/agent.log" | tail -3)"
fi
exit 0
