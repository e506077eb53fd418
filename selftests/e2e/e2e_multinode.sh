#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# End to end, multi-node L4 tier: a router namespace spreads the Gateway
# address over node namespaces by ECMP (L4 hash); each node runs xgw-agent +
# workers with XDP attached natively on its veth, and an echo backend that
# names the node. Long-lived connections are opened, then node 4 joins (it
# was announced unhealthy, so that every node shares the ring history) and
# node 1 leaves, changing ECMP and the Maglev ring at once. Checks that every
# connection not owned by node 1 keeps working on the same node, that new
# connections spread over the nodes within 10 % of even, that second chance
# and the encapsulation counters moved, that a next hop whose MAC changes is
# followed in xgw_nexthops without a reconcile (neighbour events), and that an
# agent restart with --keep-bpf re-adopts the pinned maps without losing a
# connection or a flow-table entry. Prints TAP. Needs root.
set -uo pipefail
BUILD=${XGW_BUILD:?XGW_BUILD must name the build directory}
SRC=${XGW_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
ID=$$
P=xm$ID
NS_R=$P-r NS_C=$P-c
VIP=10.61.100.1
TMP=$(mktemp -d /tmp/xgw-e2e-mn.XXXXXX)
PY=$(command -v python3 || true)
CONNS=60    # long-lived connections
SPREAD=3000 # new connections for the spread check
declare -A AGENT ECHO
PIDS=()
n=0
failed=0

ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; shift; for l in "$@"; do echo "#   $l"; done; }
ns_of() { echo "$P-n$1"; }
pin_of() { echo "/sys/fs/bpf/xgw-mn$ID-n$1"; }

stop_pid() { # pid: TERM, wait up to 10 s, KILL
	local p=$1
	kill -TERM "$p" 2>/dev/null || true
	for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
	kill -KILL "$p" 2>/dev/null || true
	wait "$p" 2>/dev/null || true
}

cleanup() {
	local p i
	for p in "${PIDS[@]}"; do stop_pid "$p"; done
	for i in 1 2 3 4; do
		ip netns del "$(ns_of $i)" 2>/dev/null || true
		rm -rf "$(pin_of $i)" 2>/dev/null || true
	done
	ip netns del "$NS_R" 2>/dev/null || true
	ip netns del "$NS_C" 2>/dev/null || true
	[ -n "${XGW_E2E_KEEP_LOGS:-}" ] && cp -r "$TMP" /tmp/l4/e2e-logs; rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
trap '' PIPE # the connection driver may die: writes to its FIFO then fail, not kill us

echo "TAP version 13"
echo "1..13"
if [ -z "$PY" ]; then
	echo "Bail out! python3 is needed for the connection driver"
	exit 1
fi

# --- topology --------------------------------------------------------------
#   client 10.61.0.2 -- 10.61.0.1 router 10.61.i.1 -- 10.61.i.2 node i (i = 1..4)
# The underlay links carry encapsulated packets: MTU 1600, encap MTU 1600.
ip netns add "$NS_R" && ip netns add "$NS_C" &&
	ip link add c0 netns "$NS_C" type veth peer name rc netns "$NS_R" || {
	echo "Bail out! cannot create namespaces"
	exit 1
}
for i in 1 2 3 4; do
	ns=$(ns_of $i)
	ip netns add "$ns"
	ip link add "r$i" netns "$NS_R" mtu 1600 type veth peer name n0 netns "$ns" mtu 1600
done
for ns in "$NS_R" "$NS_C" $(for i in 1 2 3 4; do ns_of $i; done); do
	ip -n "$ns" link set lo up
	ip netns exec "$ns" sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
done
ip netns exec "$NS_R" sysctl -qw net.ipv4.ip_forward=1 net.ipv4.fib_multipath_hash_policy=1
ip -n "$NS_C" addr add 10.61.0.2/24 dev c0
ip -n "$NS_C" link set c0 up
# veth leaves TCP checksums to "hardware" (CHECKSUM_PARTIAL): a frame that XDP
# encapsulates loses that state, so the client must write real checksums, as
# every packet from a physical network has them.
ip netns exec "$NS_C" ethtool -K c0 tx off >/dev/null
ip -n "$NS_C" route add default via 10.61.0.1
ip -n "$NS_R" addr add 10.61.0.1/24 dev rc
ip -n "$NS_R" link set rc up
for i in 1 2 3 4; do
	ns=$(ns_of $i)
	ip -n "$NS_R" addr add "10.61.$i.1/24" dev "r$i"
	ip -n "$NS_R" link set "r$i" up
	# A frame sent with XDP_TX enters the peer veth only if the peer runs XDP.
	ip -n "$NS_R" link set dev "r$i" xdpdrv obj "$BUILD/selftests/bench/xdp_pass.bpf.o" sec xdp
	ip -n "$ns" addr add "10.61.$i.2/24" dev n0
	ip -n "$ns" link set n0 up
	ip -n "$ns" route add default via "10.61.$i.1"
	ip -n "$ns" addr add 10.61.200.1/32 dev lo # the echo backend
done
ecmp() { # node numbers
	local args=() i
	for i in "$@"; do args+=(nexthop via "10.61.$i.2" dev "r$i"); done
	ip -n "$NS_R" route replace "$VIP/32" "${args[@]}"
}
ecmp 1 2 3

# --- configuration: the same Gateway on every node, a node-specific backend --
nodes_yaml() { # "name:healthy" ...
	local s name healthy
	for s in "$@"; do
		name=${s%%:*} healthy=${s##*:}
		cat <<-YAML
		apiVersion: xgw.io/v1alpha1
		kind: XgwNode
		metadata:
		  name: node-$name
		spec:
		  address: 10.61.$name.2
		  healthy: $healthy
		---
		YAML
	done
}
for i in 1 2 3 4; do
	mkdir -p "$TMP/conf$i"
	cp "$SRC"/examples/quickstart/gateway.yaml "$TMP/conf$i/"
	sed 's/10.23.1.10/10.61.200.1/' "$SRC"/examples/quickstart/backend.yaml >"$TMP/conf$i/backend.yaml"
	# Node 4 is announced unhealthy from the start: it is outside the ring but
	# learns the ring's history, so that second chance works on it once it joins.
	nodes_yaml 1:true 2:true 3:true 4:false >"$TMP/conf$i/nodes.yaml"
done

start_agent() { # node [extra args]
	local i=$1 ns
	shift
	ns=$(ns_of "$i")
	nsenter --net=/run/netns/"$ns" "$BUILD/agent/xgw-agent" --config-dir "$TMP/conf$i" \
		--address-pool 10.61.100.0/24 --interface n0 --xdp-mode native --workers 1 \
		--pin-dir "$(pin_of "$i")" --status-file "$TMP/status$i.json" --workers-file "$TMP/workers$i.json" --node-name "node-$i" \
		--encap-mtu 1600 --ring-size 4093 --flow-table-size 65536 "$@" \
		</dev/null >>"$TMP/agent$i.log" 2>&1 &
	AGENT[$i]=$!
	PIDS+=($!)
}
for i in 1 2 3 4; do
	nsenter --net=/run/netns/"$(ns_of $i)" "$BUILD/tools/xgw-echo" --listen 10.61.200.1:8080 \
		--name "node-$i" --namespace default --mode plain --quiet </dev/null >"$TMP/echo$i.log" 2>&1 &
	ECHO[$i]=$!
	PIDS+=($!)
	# node 3 keeps its BPF state on exit: the restart check below
	if [ "$i" = 3 ]; then start_agent "$i" --keep-bpf; else start_agent "$i"; fi
done

programmed() { "$BUILD/tools/xgwctl" status --status-file "$TMP/status$1.json" 2>/dev/null | grep -q "data plane programmed"; }
wait_for() { # tries (x100 ms), command...
	local tries=$1; shift
	for _ in $(seq "$tries"); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
	return 1
}
stat() { # node counter
	"$BUILD/tools/xgwctl" maps --pin-dir "$(pin_of "$1")" 2>/dev/null | awk -v k="$2" '$1 == k {print $2}'
}
sum_stat() { # counter nodes...
	local c=$1 s=0 i v
	shift
	for i in "$@"; do v=$(stat "$i" "$c"); s=$((s + ${v:-0})); done
	echo $s
}

# 1: every agent programs its node in multi-node mode
all=1
for i in 1 2 3 4; do
	wait_for 150 programmed "$i" && grep -q "l4: multi-node mode, this node is node-$i" "$TMP/agent$i.log" || all=0
done
if [ $all = 1 ]; then ok "four agents programmed, multi-node mode"
else not_ok "four agents programmed, multi-node mode" "$(tail -n 3 "$TMP"/agent*.log)"; fi

# --- the connection driver ---------------------------------------------------
# hold: opens N keep-alive connections, one request each, prints the node of
# each; then on every line on stdin ("check") one more request on each,
# printing the node or "dead". spread: N new connections, counts per node.
cat >"$TMP/drive.py" <<'PYEOF'
import socket, sys, collections
VIP, PORT = sys.argv[2], 80
REQ = (b"GET / HTTP/1.1\r\nHost: app.yourdomain.com\r\n\r\n")
def ask(s):
    s.sendall(REQ)
    buf = b""
    while b"\r\n\r\n" not in buf:
        d = s.recv(4096)
        if not d: raise OSError("closed")
        buf += d
    head, _, body = buf.partition(b"\r\n\r\n")
    clen = 0
    for l in head.split(b"\r\n"):
        if l.lower().startswith(b"content-length:"): clen = int(l.split(b":")[1])
    while len(body) < clen:
        d = s.recv(4096)
        if not d: raise OSError("closed")
        body += d
    for l in body.split(b"\n"):
        if l.startswith(b"Server name:"): return l.split(b":", 1)[1].strip().decode()
    return "?"
def line(v): print(" ".join(v), flush=True)
if sys.argv[1] == "hold":
    socks = []
    for _ in range(int(sys.argv[3])):
        s = socket.create_connection((VIP, PORT), timeout=5); socks.append(s)
    line([ask(s) for s in socks])
    for cmd in sys.stdin:
        out = []
        for s in socks:
            try: out.append(ask(s))
            except OSError: out.append("dead")
        line(out)
else:
    c = collections.Counter()
    for _ in range(int(sys.argv[3])):
        try:
            s = socket.create_connection((VIP, PORT), timeout=5); c[ask(s)] += 1; s.close()
        except OSError: c["fail"] += 1
    line(["%s=%d" % kv for kv in sorted(c.items())])
PYEOF

mkfifo "$TMP/hold.in"
ip netns exec "$NS_C" "$PY" "$TMP/drive.py" hold "$VIP" "$CONNS" <"$TMP/hold.in" >"$TMP/hold.out" 2>"$TMP/hold.err" &
HOLD=$!
PIDS+=($HOLD)
exec 7>"$TMP/hold.in" # keeps the driver's stdin open
wait_for 100 test -s "$TMP/hold.out"
read -r -a first <<<"$(sed -n 1p "$TMP/hold.out")"

# 2: the long-lived connections spread over nodes 1-3
declare -A cnt=()
for s in "${first[@]}"; do cnt[$s]=$((${cnt[$s]:-0} + 1)); done
if [ "${#first[@]}" = "$CONNS" ] && [ -n "${cnt[node-1]:-}" ] && [ -n "${cnt[node-2]:-}" ] &&
	[ -n "${cnt[node-3]:-}" ] && [ -z "${cnt[node-4]:-}" ]; then
	ok "$CONNS connections opened on nodes 1-3 (1:${cnt[node-1]} 2:${cnt[node-2]} 3:${cnt[node-3]})"
else
	not_ok "$CONNS connections opened on nodes 1-3" "${first[*]:-none}" "$(tail -3 "$TMP/hold.err")"
fi

# 3: some flows crossed nodes: encapsulated by one, decapsulated by another
tx=$(sum_stat tx_remote 1 2 3) dx=$(sum_stat pass_decap 1 2 3)
if [ "$tx" -gt 0 ] && [ "$dx" -gt 0 ]; then ok "flows forwarded between nodes (tx_remote $tx, pass_decap $dx)"
else not_ok "flows forwarded between nodes" "tx_remote $tx pass_decap $dx"; fi

# 4-5: the next hop follows a MAC change. Node 2's encapsulated frames go to
# the MAC in xgw_nh_direct (the router's r2), which the agent resolved at
# start. r2 takes a new MAC and announces it (gratuitous ARP, arp_notify):
# the agent must rewrite the entry from the neighbour event alone, without a
# reconcile, or the frames it forwards go to the old MAC and are lost.
nh_mac() { # node: the MAC of n0's next hop (xgw_nh_direct below ifindex 4096, else xgw_nexthops)
	local ifi map key
	ifi=$(ip -n "$(ns_of "$1")" -o link show n0 | cut -d: -f1)
	map=xgw_nh_direct
	[ "$ifi" -ge 4096 ] && map=xgw_nexthops
	key=$(printf '%d %d %d %d' $((ifi & 255)) $((ifi >> 8 & 255)) $((ifi >> 16 & 255)) $((ifi >> 24)))
	# shellcheck disable=SC2086 # the key is four words
	bpftool -j map lookup pinned "$(pin_of "$1")/$map" key $key 2>/dev/null |
		"$PY" -c 'import json, sys
v = [int(b, 16) for b in json.load(sys.stdin)["value"]]
print(":".join("%02x" % b for b in v[:6]) if v[6] & 1 else "")'
}
r2_mac() { ip -n "$NS_R" -br link show r2 | awk '{print $3}'; }
nh_is() { [ "$(nh_mac "$1")" = "$2" ]; }
old_mac=$(r2_mac) new_mac=02:61:00:00:02:fe
if wait_for 50 nh_is 2 "$old_mac"; then
	reconciles=$(grep -c "generation" "$TMP/agent2.log")
	ip netns exec "$NS_R" sysctl -qw net.ipv4.conf.r2.arp_notify=1
	ip -n "$NS_R" link set dev r2 address "$new_mac"
	followed=0
	wait_for 50 nh_is 2 "$new_mac" && [ "$(grep -c "generation" "$TMP/agent2.log")" = "$reconciles" ] &&
		grep -q "l4: next hop of n0: $new_mac" "$TMP/agent2.log" && followed=1
	# A flushed neighbour (as garbage collection deletes it) is resolved again.
	resolving() { grep -c "l4: resolving 10.61.2.1" "$TMP/agent2.log"; }
	neigh_back() { ip -n "$(ns_of 2)" neigh show 10.61.2.1 dev n0 | grep -q "lladdr $new_mac"; }
	r0=$(resolving)
	ip -n "$(ns_of 2)" neigh flush dev n0
	# and xgwctl, in the node's namespace (for the interface's name), lists it
	nh_line=$(nsenter --net="/run/netns/$(ns_of 2)" "$BUILD/tools/xgwctl" maps --pin-dir "$(pin_of 2)" 2>&1 |
		grep -E "^  [0-9]+ +n0 +$new_mac +\(xgw_nh_direct\)")
	if [ $followed = 1 ] && wait_for 50 neigh_back && [ "$(resolving)" -gt "$r0" ] && nh_is 2 "$new_mac" &&
		[ -n "$nh_line" ]; then
		ok "node 2's next hop followed r2's MAC change ($old_mac -> $new_mac) without a reconcile, and a flushed neighbour was resolved again; xgwctl lists it"
	else
		not_ok "node 2's next hop followed r2's MAC change" "map: $(nh_mac 2); xgwctl: ${nh_line:-no line}" "$(grep "l4:" "$TMP/agent2.log" | tail -4)"
	fi
else
	not_ok "node 2's next hop followed r2's MAC change" "initial entry $(nh_mac 2), r2 is $old_mac" "$(grep "l4:" "$TMP/agent2.log" | tail -4)"
fi
tx0=$(stat 2 tx_remote)
echo check >&7
wait_for 150 test "$(wc -l <"$TMP/hold.out")" -ge 2
read -r -a after_mac <<<"$(sed -n 2p "$TMP/hold.out")"
tx1=$(stat 2 tx_remote)
same=0
for k in $(seq 0 $((CONNS - 1))); do [ "${after_mac[$k]:-}" = "${first[$k]:-x}" ] && same=$((same + 1)); done
if [ "$same" = "$CONNS" ] && [ "$tx1" -gt "$tx0" ]; then
	ok "all $CONNS connections work after the MAC change; node 2 forwarded through it (tx_remote $tx0 -> $tx1)"
else
	not_ok "all connections work after the MAC change" "same node $same of $CONNS, node 2 tx_remote $tx0 -> $tx1" "after: ${after_mac[*]:-}"
fi

# --- the change: node 4 joins, node 1 leaves -----------------------------------
for i in 2 3 4; do nodes_yaml 2:true 3:true 4:true >"$TMP/conf$i/nodes.yaml.new" && mv "$TMP/conf$i/nodes.yaml.new" "$TMP/conf$i/nodes.yaml"; done
ecmp 2 3 4
stop_pid "${AGENT[1]}"
stop_pid "${ECHO[1]}"
ring_changed() { grep -c "l4: ring slot" "$TMP/agent$1.log" | grep -qx 2; }
all=1
for i in 2 3 4; do wait_for 100 ring_changed "$i" || all=0; done

# 4: the agents took the new ring (previous ring kept for second chance), and
# xgwctl shows it: three nodes in the ring, about a third each
l4=$("$BUILD/tools/xgwctl" maps --pin-dir "$(pin_of 2)" 2>&1 | sed -n '/^L4 tier/,$p')
shares=$(grep -cE "^  [0-9]+ +10\.61\.[234]\.2 +3[23]\.[0-9]+%" <<<"$l4")
if [ $all = 1 ] && grep -q "multi-node, this node id" <<<"$l4" && grep -q "ring slot 1 (previous 0)" <<<"$l4" &&
	[ "$shares" = 3 ]; then
	ok "nodes 2-4 switched to the new ring; xgwctl shows it with a third per node"
else
	not_ok "nodes 2-4 switched to the new ring; xgwctl shows it with a third per node" "$(grep "l4:" "$TMP"/agent[234].log)" "$l4"
fi

# 6b: xgwctl flows decodes node 2's flow table: the client's flows, each with
# its listener (by the flow token) and its node; as many as xgw_flows holds
fl=$("$BUILD/tools/xgwctl" flows --pin-dir "$(pin_of 2)" --client 10.61.0.2 --limit 3 2>&1)
in_map=$("$BUILD/tools/xgwctl" maps --pin-dir "$(pin_of 2)" 2>/dev/null | awk '$1 == "flows" && $2 == "in" {print $NF}')
# (a flow of node 1, which left, stays where it is: "gone")
rows=$(grep -cE "^10\.61\.0\.2:[0-9]+ +$VIP:80 tcp \([0-9]+\) +[0-9] \((10\.61\.[1-4]\.2|gone: its packets stay here)\)$" <<<"$fl")
if [ "$rows" = 3 ] && grep -qx "${in_map:-x} flows of that client, 3 shown" <<<"$fl"; then
	ok "xgwctl flows: node 2's $in_map flows, decoded (client, listener, node)"
else
	not_ok "xgwctl flows: node 2's flows, decoded" "xgw_flows holds ${in_map:-?}" "$fl"
fi

sc0=$(sum_stat tx_second_chance 2 3 4)
echo check >&7
wait_for 150 test "$(wc -l <"$TMP/hold.out")" -ge 3
read -r -a second <<<"$(sed -n 3p "$TMP/hold.out")"

# 5: every connection that was not on node 1 still works, on the same node
lost=0 kept=0 gone=0
for k in $(seq 0 $((CONNS - 1))); do
	if [ "${first[$k]:-}" = node-1 ]; then gone=$((gone + 1)); continue; fi
	if [ "${second[$k]:-}" = "${first[$k]:-x}" ]; then kept=$((kept + 1)); else lost=$((lost + 1)); fi
done
if [ "${#second[@]}" = "$CONNS" ] && [ $lost = 0 ] && [ $kept -gt 0 ]; then
	ok "all $kept connections off node 1 survive ECMP + ring change ($gone were on node 1)"
else
	not_ok "connections off node 1 survive ECMP + ring change" "kept $kept lost $lost" "before: ${first[*]:-}" "after:  ${second[*]:-}"
fi

# 6: second chance carried some of them (rehashed by ECMP to a node that is
# not their owner under either ring, or to one the new ring names)
sc=$(sum_stat tx_second_chance 2 3 4)
if [ "$sc" -gt "$sc0" ]; then ok "second chance forwarded established flows ($sc0 -> $sc)"
else not_ok "second chance forwarded established flows" "$sc0 -> $sc"; fi

# 7: new connections spread over nodes 2-4 within 10 % of even
out=$(ip netns exec "$NS_C" "$PY" "$TMP/drive.py" spread "$VIP" "$SPREAD" 2>&1)
even=$((SPREAD / 3)) good=1
for i in 2 3 4; do
	c=$(tr ' ' '\n' <<<"$out" | sed -n "s/^node-$i=//p")
	[ -n "$c" ] && [ $((c > even ? c - even : even - c)) -le $((even / 10)) ] || good=0
done
grep -q "fail=\|node-1=" <<<"$out" && good=0
if [ $good = 1 ]; then ok "$SPREAD new connections spread within 10 % of even ($out)"
else not_ok "$SPREAD new connections spread within 10 % of even" "$out"; fi

# 8-9: an agent restart with --keep-bpf re-adopts its pinned maps. Node 3's
# workers go with its agent, so the connections it owns end; the flows it only
# forwards (first hop by ECMP) must not notice: XDP stays attached and the
# flow table and rings stay pinned. The flow table is counted too: the
# connections alone would not tell, since a flow that lost its entry mostly
# finds its node again by the ring or by second chance.
flows_of() { "$BUILD/tools/xgwctl" maps --pin-dir "$(pin_of "$1")" 2>/dev/null | awk '$1 == "flows" && $2 == "in" {print $NF}'; }
flows_before=$(flows_of 3)
stop_pid "${AGENT[3]}"
xdp_kept=0
ip -n "$(ns_of 3)" link show n0 | grep -q "prog/xdp" && xdp_kept=1
rm -f "$TMP/status3.json"
start_agent 3 --keep-bpf
if wait_for 150 programmed 3 && grep -q "xdp: replaced the program left on n0" "$TMP/agent3.log" &&
	grep -q "l4: adopted pinned state" "$TMP/agent3.log" && [ $xdp_kept = 1 ] &&
	[ "$(grep -c "l4: ring slot" "$TMP/agent3.log")" = 2 ] &&
	[ "${flows_before:-0}" -gt 0 ] && [ "$(flows_of 3)" -ge "$flows_before" ]; then
	ok "node 3 restarted with --keep-bpf: XDP stayed and was replaced in place, pinned L4 state adopted, ring unchanged, $flows_before flows kept"
else
	not_ok "node 3 restarted with --keep-bpf: XDP stayed and was replaced in place, pinned L4 state adopted, ring unchanged, flows kept" "xdp_kept $xdp_kept, flows $flows_before -> $(flows_of 3)" "$(grep "l4:" "$TMP/agent3.log" | tail -5)"
fi
echo check >&7
wait_for 150 test "$(wc -l <"$TMP/hold.out")" -ge 4
read -r -a third <<<"$(sed -n 4p "$TMP/hold.out")"
lost=0 kept=0
for k in $(seq 0 $((CONNS - 1))); do
	case "${first[$k]:-}" in node-1 | node-3) continue ;; esac
	if [ "${third[$k]:-}" = "${first[$k]:-x}" ]; then kept=$((kept + 1)); else lost=$((lost + 1)); fi
done
if [ $lost = 0 ] && [ $kept -gt 0 ]; then ok "after node 3's restart, all $kept connections on nodes 2 and 4 still work"
else not_ok "after node 3's restart, connections on nodes 2 and 4 still work" "kept $kept lost $lost" "after: ${third[*]:-}"; fi

# 10: clean exit removes the pins of nodes 2 and 4
exec 7>&-
for i in 2 4; do stop_pid "${AGENT[$i]}"; done
if [ ! -e "$(pin_of 2)" ] && [ ! -e "$(pin_of 4)" ]; then ok "agents exit and remove their pins"
else not_ok "agents exit and remove their pins" "$(ls "$(pin_of 2)" "$(pin_of 4)" 2>&1 | head -5)"; fi

[ $failed = 0 ]
