#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# The quick start: install, build, and run xgw in standalone mode on
# examples/quickstart/ (the Gateway API tutorial) inside two network
# namespaces of its own, so the host's networking is not touched:
#
#   xgw-qs-client  xqs-c 10.23.0.2/24  <--veth-->  xqs-n 10.23.0.1/24  xgw-qs-node
#                                                  XDP on xqs-n, sk_lookup,
#                                                  xgw-agent + workers,
#                                                  xgw-echo "backend-1" on 10.23.1.10:8080
#
# The Gateway gets its address from the pool 10.23.100.0/24. Ctrl-C stops
# everything and removes the namespaces.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${XGW_BUILD:-$ROOT/build}
if [ "$(id -u)" != 0 ]; then
	exec sudo -E "$0" "$@"
fi
"$ROOT/scripts/setup.sh"

NS_N=xgw-qs-node NS_C=xgw-qs-client
CONFIG=${XGW_CONFIG_DIR:-$ROOT/examples/quickstart}
STATUS=/run/xgw/status.json
PIDS=()
cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
	ip netns del "$NS_C" 2>/dev/null || true
	ip netns del "$NS_N" 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Leftovers of an earlier run that was killed: these namespaces are ours.
ip netns del "$NS_C" 2>/dev/null || true
ip netns del "$NS_N" 2>/dev/null || true
ip netns add "$NS_N"
ip netns add "$NS_C"
ip link add xqs-c netns "$NS_C" type veth peer name xqs-n netns "$NS_N"
ip -n "$NS_N" link set lo up
ip -n "$NS_C" link set lo up
ip -n "$NS_N" addr add 10.23.0.1/24 dev xqs-n
ip -n "$NS_C" addr add 10.23.0.2/24 dev xqs-c
ip -n "$NS_N" addr add 10.23.1.10/32 dev lo
ip -n "$NS_N" link set xqs-n up
ip -n "$NS_C" link set xqs-c up
ip -n "$NS_C" route add 10.23.100.0/24 via 10.23.0.1

nsenter --net=/run/netns/$NS_N "$BUILD/tools/xgw-echo" --listen 10.23.1.10:8080 \
	--name backend-1 --namespace default --mode plain --quiet &
PIDS+=($!)
# --netns: the agent enters the namespace itself and keeps the host's mount
# namespace, so its pins under /sys/fs/bpf/xgw stay visible to bpftool.
"$BUILD/agent/xgw-agent" --netns "$NS_N" --config-dir "$CONFIG" \
	--address-pool 10.23.100.0/24 --interface xqs-n --status-file "$STATUS" \
	--metrics 127.0.0.1:9464 &
AGENT=$!
PIDS+=($AGENT)

addr=""
for _ in $(seq 100); do
	kill -0 "$AGENT" 2>/dev/null || { echo "quickstart: xgw-agent exited" >&2; exit 1; }
	if "$BUILD/tools/xgwctl" status --status-file "$STATUS" 2>/dev/null | grep -q "data plane programmed"; then
		addr=$("$BUILD/tools/xgwctl" status --status-file "$STATUS" | sed -n 's/^Gateway default\/eg  address \([^ ,]*\).*/\1/p')
		[ -n "$addr" ] && break
	fi
	sleep 0.1
done
[ -n "$addr" ] || { echo "quickstart: the Gateway got no address" >&2; exit 1; }

echo
echo "== xgw is serving Gateway default/eg at $addr"
echo "\$ ip netns exec $NS_C curl -H \"Host: app.yourdomain.com\" http://$addr/"
ip netns exec "$NS_C" curl -sS --max-time 5 -H "Host: app.yourdomain.com" "http://$addr/" || true
echo "\$ ip netns exec $NS_C curl -H \"Host: unknown.example\" http://$addr/   (no route: 404)"
ip netns exec "$NS_C" curl -sS --max-time 5 -o /dev/null -w "HTTP %{http_code}\n" -H "Host: unknown.example" "http://$addr/" || true
cat <<MSG

Try it yourself (in another terminal, as root):
  ip netns exec $NS_C curl -H "Host: app.yourdomain.com" http://$addr/
  bpftool map dump pinned /sys/fs/bpf/xgw/xgw_listeners
  $BUILD/tools/xgwctl maps          # decoded maps and XDP counters
  $BUILD/tools/xgwctl status        # Gateway and route conditions
  ip netns exec $NS_N curl -s http://127.0.0.1:9464/metrics | grep -v '^#'   # Prometheus metrics
Edit $CONFIG/*.yaml: changes apply at once. Ctrl-C stops xgw and removes the namespaces.
MSG
wait "$AGENT"
