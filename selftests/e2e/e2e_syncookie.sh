#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# End to end, the XDP answers of the L4 tier on one node: the SYN-flood guard
# (--syn-rate 1: the first SYN of each second goes to the stack, the next
# ones get a SYN cookie from XDP, and the stack accepts the cookie ACKs with
# net.ipv4.tcp_syncookies=2) and ICMP echo answered in XDP (--icmp answer).
# Prints TAP. Needs root.
set -uo pipefail
BUILD=${XGW_BUILD:?XGW_BUILD must name the build directory}
SRC=${XGW_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
ID=$$
NS_N=xs$ID-n NS_C=xs$ID-c
PIN=/sys/fs/bpf/xgw-sc-$ID
TMP=$(mktemp -d /tmp/xgw-e2e-sc.XXXXXX)
PIDS=()
n=0
failed=0

ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; shift; for l in "$@"; do echo "#   $l"; done; }
cleanup() {
	local p
	for p in "${PIDS[@]}"; do
		kill -TERM "$p" 2>/dev/null || true
		for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	ip netns del "$NS_N" 2>/dev/null || true
	ip netns del "$NS_C" 2>/dev/null || true
	rm -rf "$PIN" "$TMP" 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "TAP version 13"
echo "1..4"
ip netns add "$NS_N" && ip netns add "$NS_C" &&
	ip link add c0 netns "$NS_C" type veth peer name n0 netns "$NS_N" || {
	echo "Bail out! cannot create namespaces"
	exit 1
}
for ns in "$NS_N" "$NS_C"; do ip -n "$ns" link set lo up; done
ip -n "$NS_N" addr add 10.64.0.1/24 dev n0
ip -n "$NS_C" addr add 10.64.0.2/24 dev c0
ip -n "$NS_N" link set n0 up
ip -n "$NS_C" link set c0 up
ip -n "$NS_C" route add 10.64.100.0/24 via 10.64.0.1
ip -n "$NS_N" addr add 10.64.1.10/32 dev lo
# A SYN-ACK made in XDP is answered by an ACK that the stack checks against its
# own cookie secret: cookies must be accepted at any time, not only after an
# overflow of the listener's SYN queue.
ip netns exec "$NS_N" sysctl -qw net.ipv4.tcp_syncookies=2
# The SYN-ACK goes back into c0 by XDP_TX: c0 must run XDP to take it.
ip -n "$NS_C" link set dev c0 xdpdrv obj "$BUILD/selftests/bench/xdp_pass.bpf.o" sec xdp
mkdir -p "$TMP/conf"
cp "$SRC"/examples/quickstart/gateway.yaml "$TMP/conf/"
sed 's/10.23.1.10/10.64.1.10/' "$SRC"/examples/quickstart/backend.yaml >"$TMP/conf/backend.yaml"

nsenter --net=/run/netns/"$NS_N" "$BUILD/tools/xgw-echo" --listen 10.64.1.10:8080 --name backend-1 \
	--mode plain --quiet </dev/null >"$TMP/echo.log" 2>&1 &
PIDS+=($!)
nsenter --net=/run/netns/"$NS_N" "$BUILD/agent/xgw-agent" --config-dir "$TMP/conf" \
	--address-pool 10.64.100.0/24 --interface n0 --xdp-mode native --workers 1 --pin-dir "$PIN" \
	--status-file "$TMP/status.json" --workers-file "$TMP/workers.json" --syn-rate 1 --icmp answer </dev/null >"$TMP/agent.log" 2>&1 &
PIDS+=($!)
programmed() { "$BUILD/tools/xgwctl" status --status-file "$TMP/status.json" 2>/dev/null | grep -q "data plane programmed"; }
for _ in $(seq 100); do programmed && break; sleep 0.1; done
stat() { "$BUILD/tools/xgwctl" maps --pin-dir "$PIN" 2>/dev/null | awk -v k="$1" '$1 == k {print $2}'; }

# 1-2: 20 connections in a burst: all answered, most SYNs by a cookie from XDP
good=0
for _ in $(seq 20); do
	ip netns exec "$NS_C" curl -s --max-time 3 -H "Host: app.yourdomain.com" http://10.64.100.1/ |
		grep -q "Server name: backend-1" && good=$((good + 1))
done
sc=$(stat tx_syncookie)
if [ $good = 20 ]; then ok "20 connections above the SYN rate all served"
else not_ok "20 connections above the SYN rate all served" "$good/20" "$(tail -3 "$TMP/agent.log")"; fi
if [ "${sc:-0}" -gt 0 ]; then ok "SYNs above the rate answered with cookies in XDP (tx_syncookie $sc)"
else not_ok "SYNs above the rate answered with cookies in XDP" "tx_syncookie ${sc:-none}"; fi

# 3-4: echo requests to the Gateway address are answered by XDP (checksum checked)
# ping(8) is not always installed: three echo requests from a raw socket.
cat >"$TMP/ping.py" <<'PYEOF'
import socket, struct, sys, time
def csum(b):
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    s = (s & 0xffff) + (s >> 16); s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
s.settimeout(1)
got = 0
for seq in range(3):
    body = struct.pack("!BBHHH", 8, 0, 0, 0x4747, seq) + b"xgw-ping"
    body = body[:2] + struct.pack("!H", csum(body)) + body[4:]
    s.sendto(body, (sys.argv[1], 0))
    end = time.time() + 1
    while time.time() < end:
        try: d = s.recv(2048)
        except socket.timeout: break
        ihl = (d[0] & 0xf) * 4
        if d[ihl] == 0 and struct.unpack("!HH", d[ihl + 4:ihl + 8]) == (0x4747, seq) and csum(d[ihl:]) == 0:
            got += 1
            break
print("replies", got)
sys.exit(0 if got == 3 else 1)
PYEOF
before=$(stat tx_icmp_echo)
if ip netns exec "$NS_C" python3 "$TMP/ping.py" 10.64.100.1 >"$TMP/ping.out" 2>&1; then
	ok "three echo requests to the Gateway address answered, checksums valid"
else
	not_ok "three echo requests to the Gateway address answered, checksums valid" "$(tail -3 "$TMP/ping.out")"
fi
after=$(stat tx_icmp_echo)
if [ $((${after:-0} - ${before:-0})) -ge 3 ]; then ok "echo replies built in XDP (tx_icmp_echo ${before:-0} -> $after)"
else not_ok "echo replies built in XDP" "tx_icmp_echo ${before:-0} -> ${after:-none}"; fi

[ $failed = 0 ]
