#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# The packet benchmark of the L4 tier:
#  1. ns per packet under BPF_PROG_TEST_RUN (xdp_pkt table): the floors (bare
#     XDP_PASS, parse + hash lookup) and xgw's XDP program on each path, with
#     the ratios to the floor and to Katran's figures from this machine;
#  2. packets per second through a veth pair: a live-frames generator in one
#     namespace, the receiver natively attached in the other, for bare
#     XDP_DROP, bare XDP_PASS, xgw dropping (a Gateway address, no listener)
#     and xgw forwarding (every flow owned by another node: IPIP + XDP_TX).
# Each part runs --runs times (default 3); a summary gives the per-row minimum
# of the ns figures (each run's figure is already the median of its rounds)
# and the per-row maximum of the packet rates: on a shared machine, other jobs
# only ever add time. --cpu C pins the table runs to CPU C (taskset): the
# new-flow rows depend on which CPU's LRU lists they use.
# Needs root. Namespaces are private (xpb<pid>-g/-n), addresses from 10/8.
# Usage: xdp_pkt.sh [BUILD_DIR] [--seconds S] [--rounds R] [--calls N] [--runs N] [--cpu C]
set -uo pipefail
BUILD=${XGW_BUILD:-${1:-build}}
[ $# -gt 0 ] && [ "${1#--}" = "$1" ] && shift
SECS=5 ROUNDS=3 CALLS=200000 RUNS=3 CPU=""
while [ $# -gt 0 ]; do
	case "$1" in
	--seconds) SECS=$2; shift 2 ;;
	--rounds) ROUNDS=$2; shift 2 ;;
	--calls) CALLS=$2; shift 2 ;;
	--runs) RUNS=$2; shift 2 ;;
	--cpu) CPU=$2; shift 2 ;;
	*) echo "xdp_pkt.sh: unknown option $1" >&2; exit 2 ;;
	esac
done
RUN=$BUILD/selftests/bench/xdp_pkt
[ -x "$RUN" ] || { echo "xdp_pkt.sh: $RUN not built (ninja -C $BUILD)" >&2; exit 2; }
# the receiver's packet counts are the veth driver's (ethtool -S)
command -v ethtool >/dev/null ||
	{ echo "xdp_pkt.sh: missing: ethtool; install with: apt-get install ethtool" >&2; exit 2; }
NS_G=xpb$$-g NS_N=xpb$$-n
ATT=""
OUT=$(mktemp -d /tmp/xdp_pkt.XXXXXX)
PIN=()
[ -n "$CPU" ] && PIN=(taskset -c "$CPU")

cleanup() {
	if [ -n "$ATT" ]; then
		kill -TERM "$ATT" 2>/dev/null
		wait "$ATT" 2>/dev/null
	fi
	ip netns del "$NS_G" 2>/dev/null
	ip netns del "$NS_N" 2>/dev/null
	rm -rf "$OUT"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for r in $(seq "$RUNS"); do
	echo "== BPF_PROG_TEST_RUN, ns per packet, run $r of $RUNS ($(nproc) CPUs${CPU:+, pinned to CPU $CPU}, load average $(cut -d' ' -f1-3 /proc/loadavg), kernel $(uname -r))"
	"${PIN[@]}" "$RUN" table --rounds "$ROUNDS" --calls "$CALLS" --repeat 1000000 | tee "$OUT/table.$r"
	[ "${PIPESTATUS[0]}" = 0 ] || exit 1
done
echo
echo "== per-row minimum of the $RUNS runs (ns/pkt; ratios recomputed from the minima)"
# Columns: name (46 characters), mode, raw ns, ns/pkt, x floor, x Katran. The
# floor of a row is parse + hash lookup of its family; Katran's figure is
# ns/pkt over x Katran of any run. Noise only ever adds time, so each row's
# figure is its minimum raw time, and a per-call row's is that less the
# minimum per-call overhead (bare XDP_PASS per call less bare XDP_PASS), not
# the minimum of each run's difference: a run whose overhead row alone was
# slowed would make every per-call row look faster than it is.
awk '
FNR == 1 || /^per-call|^rounds|^$/ { next }
{
	name = substr($0, 1, 46); sub(/ +$/, "", name)
	n = split(substr($0, 47), f, " ")
	raw = f[2] + 0
	if (!(name in min)) { order[++rows] = name; min[name] = raw }
	else if (raw < min[name]) min[name] = raw
	percall[name] = f[1] == "per-call"
	if (f[5] != "-" && f[5] + 0 > 0) katran[name] = f[3] / f[5]
	floorof[name] = f[4] == "-" ? "" : (name ~ /v6/ ? "parse + hash lookup v6 (floor)" : "parse + hash lookup v4 (floor)")
}
END {
	bare = "bare XDP_PASS (floor)"; bare1 = "bare XDP_PASS, one call per packet"
	overhead = min[bare1] - min[bare]
	for (i = 1; i <= rows; i++)
		if (percall[order[i]] && order[i] != bare1) min[order[i]] -= overhead
	printf "%-46s %8s %9s %9s\n", "path", "ns/pkt", "x floor", "x Katran"
	for (i = 1; i <= rows; i++) {
		nm = order[i]; fl = "-"; kt = "-"
		if (floorof[nm] != "") fl = sprintf("%.2f", min[nm] / min[floorof[nm]])
		if (nm in katran) kt = sprintf("%.2f", min[nm] / katran[nm])
		printf "%-46s %8.1f %9s %9s\n", nm, min[nm], fl, kt
	}
	printf "per-call overhead subtracted: %.1f ns (minimum per call less minimum repeat mode)\n", overhead
}' "$OUT"/table.*

echo
echo "== veth packet rate: live-frames generator in $NS_G -> receiver natively on n0 in $NS_N, $SECS s per run"
ip netns add "$NS_G" && ip netns add "$NS_N" &&
	ip link add g0 netns "$NS_G" type veth peer name n0 netns "$NS_N" || exit 1
ip -n "$NS_G" link set lo up
ip -n "$NS_N" link set lo up
ip -n "$NS_G" addr add 10.62.0.2/24 dev g0
ip -n "$NS_N" addr add 10.62.0.1/24 dev n0
ip -n "$NS_G" link set g0 up
ip -n "$NS_N" link set n0 up
# Frames that xgw sends back with XDP_TX enter g0 only if g0 runs XDP: drop them there.
nsenter --net=/run/netns/"$NS_G" "$RUN" attach --ifname g0 --prog drop >/dev/null &
GDROP=$!
sleep 0.5

xstat() { ip netns exec "$NS_N" ethtool -S n0 | awk -v k="$1" '$1 == k":" {s += $2} END {print s + 0}'; }
printf '%-44s %10s %12s %10s %10s\n' "receiver on n0" "gen Mpps" "rx Mpps" "drop" "tx"
for r in $(seq "$RUNS"); do for mode in drop pass xgw-drop xgw-fwd; do
	pkt=ack4
	[ "$mode" = xgw-drop ] && pkt=ack4-81 # a Gateway address, port 81: no listener
	nsenter --net=/run/netns/"$NS_N" "$RUN" attach --ifname n0 --prog "$mode" >/dev/null &
	ATT=$!
	sleep 0.5
	p0=$(xstat rx_queue_0_xdp_packets) d0=$(xstat rx_queue_0_xdp_drops) t0=$(xstat rx_queue_0_xdp_tx)
	s0=$(date +%s.%N)
	gen=$(nsenter --net=/run/netns/"$NS_G" "$RUN" gen --ifname g0 --seconds "$SECS" --pkt $pkt | sed -n 's/.*: \([0-9.]*\) Mpps/\1/p')
	p1=$(xstat rx_queue_0_xdp_packets) d1=$(xstat rx_queue_0_xdp_drops) t1=$(xstat rx_queue_0_xdp_tx)
	el=$(echo "$(date +%s.%N) - $s0" | bc -l)
	kill -TERM "$ATT"; wait "$ATT" 2>/dev/null; ATT=""
	case $mode in
	drop) name="bare XDP_DROP" ;;
	pass) name="bare XDP_PASS (to the stack)" ;;
	xgw-drop) name="xgw: Gateway address, no listener (drop)" ;;
	xgw-fwd) name="xgw: owned by another node (IPIP + XDP_TX)" ;;
	esac
	awk -v n="$name" -v g="$gen" -v p=$((p1 - p0)) -v d=$((d1 - d0)) -v t=$((t1 - t0)) -v s="$el" \
		'BEGIN {printf "%-44s %10s %12.3f %10.3f %10.3f\n", n, g, p / s / 1e6, d / s / 1e6, t / s / 1e6}' |
		tee -a "$OUT/veth"
done; done
kill -TERM "$GDROP"; wait "$GDROP" 2>/dev/null
echo
echo "== per-row maximum of the $RUNS runs (Mpps)"
awk '{ name = substr($0, 1, 44); sub(/ +$/, "", name); split(substr($0, 45), f, " ")
	if (!(name in rx)) order[++rows] = name
	for (i = 1; i <= 4; i++) if (f[i] + 0 > best[name, i]) best[name, i] = f[i] + 0
	rx[name] = 1 }
END { for (i = 1; i <= rows; i++) { nm = order[i]
	printf "%-44s %10.3f %12.3f %10.3f %10.3f\n", nm, best[nm, 1], best[nm, 2], best[nm, 3], best[nm, 4] } }' "$OUT/veth"
