#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# Resizing the worker pool while a new worker cannot serve. Worker 3 refuses
# every snapshot that serves app.yourdomain.com (the XGW_FAILPOINT_SNAPSHOT_REJECT
# test hook), so when XgwConfig spec.workers grows 3 -> 5 it never serves:
# sk_lookup must keep spreading new connections over the 3 that do. Then a
# shrink to 4 comes while worker 3 still does not serve: worker 4 retires, and
# worker 3 must stay out of sk_lookup's count. Requests on new connections
# throughout must all get 200.
# Prints TAP. Needs root.
set -uo pipefail
BUILD=${XGW_BUILD:?XGW_BUILD must name the build directory}
SRC=${XGW_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
ID=$$
NS_N=xz$ID-n NS_C=xz$ID-c
PIN=/sys/fs/bpf/xgw-resize-$ID
TMP=$(mktemp -d /tmp/xgw-resize.XXXXXX)
CONF=$TMP/config
. "$SRC/selftests/e2e/lib.sh"
E2E_NETNS=("$NS_C" "$NS_N")
E2E_PATHS=("$PIN" "$TMP")
cx() { ip netns exec "$NS_C" "$@"; }
config() { # workers
	printf 'apiVersion: xgw.io/v1alpha1\nkind: XgwConfig\nmetadata: {name: edge}\nspec:\n  addressPools: [10.28.200.0/29]\n  workers: %s\n' \
		"$1" >"$CONF/config.yaml.tmp" && mv "$CONF/config.yaml.tmp" "$CONF/config.yaml"
}
code() { cx curl -s --max-time 1 -o /dev/null -w '%{http_code}' -H 'Host: app.yourdomain.com' http://10.28.200.1/; }
running() { e2e_workers "$AGENT" "$1"; }

e2e_begin 3

if ! e2e_node_client "$NS_N" "$NS_C" "xz$ID" 10.28 ||
	! ip -n "$NS_C" route add 10.28.200.0/24 via 10.28.0.1; then
	echo "Bail out! cannot create namespaces"
	exit 1
fi
ip -n "$NS_N" addr add 10.28.1.10/32 dev lo
mkdir -p "$CONF"
sed 's/10\.23\.1\.10/10.28.1.10/' "$SRC/examples/quickstart/backend.yaml" >"$CONF/backend.yaml"
awk 'BEGIN { RS = "\n---\n"; ORS = "\n---\n" } !/kind: GatewayClass/' \
	"$SRC/examples/quickstart/gateway.yaml" >"$CONF/gateway.yaml"
printf 'apiVersion: gateway.networking.k8s.io/v1\nkind: GatewayClass\nmetadata: {name: xgw}\nspec:\n  controllerName: xgw.io/gateway-controller\n  parametersRef: {group: xgw.io, kind: XgwConfig, name: edge}\n' \
	>"$CONF/class.yaml"
config 3
nsenter --net=/run/netns/"$NS_N" "$BUILD/tools/xgw-echo" --listen 10.28.1.10:8080 \
	--name backend-1 --mode json --quiet </dev/null >/dev/null 2>&1 &
PIDS+=($!)
XGW_FAILPOINT_SNAPSHOT_REJECT=3:app.yourdomain.com nsenter --net=/run/netns/"$NS_N" \
	"$BUILD/agent/xgw-agent" --config-dir "$CONF" --address-pool 10.28.100.0/24 \
	--interface "xz$ID-n" --pin-dir "$PIN" --status-file "$TMP/status.json" \
	--workers-file "$TMP/workers.json" </dev/null >"$TMP/agent.log" 2>&1 &
AGENT=$!
PIDS+=($AGENT)

serves() { [ "$(code)" = 200 ]; }
if wait_for 100 serves && running 3; then ok "3 workers, as the XgwConfig says, serve"
else not_ok "3 workers serve" "$(tail -3 "$TMP/agent.log")"; fi

config 5
wait_for 50 running 5
sleep 1 # worker 3 has refused the snapshot by now; 4 serves it
bad=$(e2e_not_200 60 code)
if running 5 && [ -z "$bad" ] && ! grep -q "workers: 5 take new connections" "$TMP/agent.log"; then
	ok "3 -> 5 with worker 3 refusing the snapshot: not counted by sk_lookup, 60 requests all 200"
else
	not_ok "3 -> 5 with a worker that does not serve" "not 200: $bad" "$(grep 'workers:' "$TMP/agent.log" | tail -3)"
fi

config 4
retired() { running 4 && grep -q "workers: 4, every retired one gone" "$TMP/agent.log"; }
bad=$(e2e_not_200 60 code)
wait_for 100 retired
bad+=$(e2e_not_200 60 code)
if retired && [ -z "$bad" ]; then
	ok "5 -> 4 while worker 3 still does not serve: it stays out of sk_lookup's count, 120 requests all 200"
else
	not_ok "5 -> 4 while a new worker does not serve" "not 200: $bad" "$(grep -E 'workers|retired' "$TMP/agent.log" | tail -4)"
fi
exit 0
