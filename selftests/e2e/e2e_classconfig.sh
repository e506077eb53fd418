#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# GatewayClass parameters: a class whose spec.parametersRef names an XgwConfig.
# The agent, started without --workers, runs the XgwConfig's spec.workers; the
# class's Gateway takes its address from the XgwConfig's addressPools (not
# the agent's --address-pool) and serves there. A reference to an XgwConfig
# that does not exist makes the class InvalidParameters and its Gateway
# Pending, and it is not served; put back, it serves again. A spec.workers
# that differs from what runs is said in the log. A GatewayClass defined twice
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

e2e_begin 6

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

config 5
said() { grep -q "XgwConfig edge: workers 5, but this agent runs 3" "$TMP/agent.log"; }
if wait_for 50 said && serves; then ok "spec.workers changed: the log says it applies when the agent starts"
else not_ok "spec.workers changed: the log says so" "$(tail -3 "$TMP/agent.log")"; fi

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
