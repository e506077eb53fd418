#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# tcp.sh: xgw's TCP proxy (the data path of a TCPRoute listener in the worker)
# against HAProxy "mode tcp" and nginx "stream", in one invocation.
#
# The same backend (xgw-bench-backend: fixed 200, 100-byte body) sits behind
#   haproxy  nbthread 1, mode tcp
#   nginx    1 worker, stream { proxy_pass } (needs ngx_stream_module:
#            apt-get install libnginx-mod-stream; skipped without it)
#   xgw      xgw-worker with a TCP listener, driven by worker-launch --l4 (no
#            agent or BPF: the worker's own socket is the listener)
# Each proxy runs alone on the proxy core (default 0); wrk and the backend
# share the other core (default 1). Two loads per target, wrk over HTTP/1.1
# through the TCP proxy (the proxy sees bytes only):
#   ka     keep-alive: the relay cost of small messages both ways
#   close  "Connection: close": a TCP connection per request (accept, the
#          backend connect, relay, both closes)
# Printed per target and load: req/s (median over rounds), p99, and CPU
# us/req of the proxy process (utime+stime over the run / requests).
#
# Everything runs in a network namespace of its own (10.0.0.0/8 on lo),
# deleted on exit, every process stopped by PID. Needs root, a build and
#   apt-get install wrk haproxy [libnginx-mod-stream]
# Not part of the test suite: it takes a minute or more and wants both cores.
#
# Usage: selftests/bench/tcp.sh [-d SECONDS] [-r ROUNDS] [-c CONNS] [-T LIST]
#   -d  measured wrk run per target, load and round (default 5)
#   -r  rounds, 1..10 (default 3)
#   -c  wrk connections (default 50)
#   -T  targets among backend,haproxy,nginx,xgw (default all)
set -uo pipefail
BUILD=${XGW_BUILD:-$(cd "$(dirname "$0")/../.." && pwd)/build}
DUR=5 ROUNDS=3 CONNS=50 TARGETS=backend,haproxy,nginx,xgw
PROXY_CPU=0 LG_CPU=1
while getopts "d:r:c:T:" o; do
	case $o in
	d) DUR=$OPTARG ;;
	r) ROUNDS=$OPTARG ;;
	c) CONNS=$OPTARG ;;
	T) TARGETS=$OPTARG ;;
	*) sed -n '2,29p' "$0"; exit 2 ;;
	esac
done
[[ $DUR =~ ^[0-9]+$ && $ROUNDS =~ ^[0-9]+$ && $ROUNDS -ge 1 && $ROUNDS -le 10 ]] ||
	{ echo "tcp.sh: bad -d or -r" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "tcp.sh: needs root" >&2; exit 1; }
for b in wrk haproxy; do command -v $b >/dev/null || { echo "tcp.sh: $b missing" >&2; exit 1; }; done

NS=xgw-bench-tcp-$$
NSPATH=/run/netns/$NS
TMP=$(mktemp -d /tmp/xgw-bench-tcp.XXXXXX)
PIN=/nonexistent KEEP=${KEEP:-}
declare -A PID
NS_MADE=0
. "$(dirname "$0")/lib.sh"
trap cleanup EXIT
trap 'exit 130' INT TERM

ip netns add "$NS" && NS_MADE=1 || exit 1
nsx ip link set lo up
for a in 1 2 3; do nsx ip addr add 10.0.0.$a/32 dev lo; done
BE_PORT=8080
start backend "$LG_CPU" -- "$BUILD/selftests/bench/xgw-bench-backend" -a 127.0.0.1 -p $BE_PORT

# HAProxy refuses to start when maxconn needs more descriptors than the limit.
HA_MAXCONN=$((($(ulimit -n) - 100) / 2))
cat >"$TMP/haproxy.cfg" <<EOF
global
    nbthread 1
    maxconn $HA_MAXCONN
defaults
    mode tcp
    timeout connect 5s
    timeout client 300s
    timeout server 300s
frontend f
    bind 10.0.0.2:8000
    default_backend b
backend b
    server s1 127.0.0.1:$BE_PORT
EOF
NGX_MOD=/usr/lib/nginx/modules/ngx_stream_module.so
cat >"$TMP/nginx.conf" <<EOF
load_module $NGX_MOD;
worker_processes 1;
daemon off;
pid $TMP/nginx.pid;
error_log stderr warn;
events { worker_connections 20000; }
stream {
    server { listen 10.0.0.3:8000; proxy_pass 127.0.0.1:$BE_PORT; }
}
EOF

ticks_of() { local t=0 p; for p in "$@"; do t=$((t + $(ticks "$p"))); done; echo $t; }
# run TARGET LOAD URL PIDS...: one wrk run (LOAD ka or close); prints "req/s p99 us/req"
run() {
	local url=$3 hdr=() t0 t1 out rps p99 hz
	shift 3
	[ "$LOAD" = close ] && hdr=(-H "Connection: close")
	t0=$(ticks_of "$@")
	out=$(taskset -c "$LG_CPU" nsenter --net="$NSPATH" wrk -t1 -c"$CONNS" -d"${DUR}s" --latency "${hdr[@]}" "$url" 2>&1)
	t1=$(ticks_of "$@")
	rps=$(awk '/^Requests\/sec/ {printf "%.0f", $2}' <<<"$out")
	p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
	hz=$(getconf CLK_TCK)
	if [ -z "$rps" ] || [ "$rps" = 0 ]; then echo "0 - -"; return; fi
	echo "$rps ${p99:--} $(awk -v t=$((t1 - t0)) -v hz="$hz" -v n="$rps" -v d="$DUR" \
		'BEGIN { printf "%.1f", t / hz * 1e6 / (n * d) }')"
}

declare -A RES
up() { nsx bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null; }
wait_for() { # tries, command...: every 100 ms
	local n=$1
	shift
	for _ in $(seq "$n"); do "$@" && return 0; sleep 0.1; done
	return 1
}
for round in $(seq "$ROUNDS"); do
	for t in ${TARGETS//,/ }; do
		pids=() url=""
		case $t in
		backend)
			url=http://127.0.0.1:$BE_PORT/ pids=("${PID[backend]}")
			;;
		haproxy)
			start haproxy "$PROXY_CPU" -- haproxy -db -f "$TMP/haproxy.cfg"
			wait_for 50 up 10.0.0.2 8000 || { echo "# haproxy did not start"; continue; }
			url=http://10.0.0.2:8000/ pids=("${PID[haproxy]}")
			;;
		nginx)
			[ -e "$NGX_MOD" ] || { [ "$round" = 1 ] && echo "# nginx: no stream module, skipped"; continue; }
			start nginx "$PROXY_CPU" -- nginx -c "$TMP/nginx.conf"
			wait_for 50 up 10.0.0.3 8000 || { echo "# nginx did not start"; continue; }
			url=http://10.0.0.3:8000/ pids=($(pgrep -P "${PID[nginx]}" | head -1))
			;;
		xgw)
			mkfifo "$TMP/in.$round" 2>/dev/null
			taskset -c "$PROXY_CPU" nsenter --net="$NSPATH" "$BUILD/selftests/worker-launch" \
				--worker "$BUILD/user/xgw-worker" --l4 --tcp-up $BE_PORT,$BE_PORT \
				--log-level warn <"$TMP/in.$round" >"$TMP/launch.$round" 2>"$TMP/xgw.log" &
			PID[xgw]=$!
			exec {XIN}>"$TMP/in.$round"
			echo "snap 1 0" >&"$XIN"
			for _ in $(seq 50); do grep -q '^ack 1 0' "$TMP/launch.$round" && break; sleep 0.1; done
			port=$(sed -n 's/^port //p' "$TMP/launch.$round")
			wpid=$(sed -n 's/^pid //p' "$TMP/launch.$round")
			grep -q '^ack 1 0' "$TMP/launch.$round" || { echo "# xgw did not start"; exec {XIN}>&-; stop xgw; continue; }
			url=http://10.0.0.1:$port/ pids=("$wpid")
			;;
		esac
		for LOAD in ka close; do
			taskset -c "$LG_CPU" nsenter --net="$NSPATH" wrk -t1 -c"$CONNS" -d1s "$url" >/dev/null 2>&1 # warm-up
			RES[$t,$LOAD,$round]=$(run "$t" "$LOAD" "$url" "${pids[@]}")
		done
		case $t in
		haproxy | nginx) stop "$t" ;;
		xgw) exec {XIN}>&-; stop xgw ;;
		esac
	done
done

median() { tr ' ' '\n' | grep -v -e '^-$' -e '^$' | sort -n | awk '{a[NR] = $1} END { if (NR) print a[int((NR + 1) / 2)]; else print "-" }'; }
printf '%-8s %-6s %10s %10s %10s\n' target load req/s p99@1 us/req
for t in ${TARGETS//,/ }; do
	for LOAD in ka close; do
		rps="" p99="" cpu=""
		for round in $(seq "$ROUNDS"); do
			r=${RES[$t,$LOAD,$round]:-}
			[ -n "$r" ] || continue
			read -r a b c <<<"$r"
			rps+="$a " p99+="$b " cpu+="$c "
		done
		[ -n "$rps" ] || continue
		printf '%-8s %-6s %10s %10s %10s\n' "$t" "$LOAD" "$(median <<<"$rps")" \
			"$(tr ' ' '\n' <<<"$p99" | grep -v '^$' | head -1)" "$(median <<<"$cpu")"
	done
done
