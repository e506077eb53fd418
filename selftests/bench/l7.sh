#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# l7.sh: xgw's L7 benchmark against nginx and HAProxy, in one invocation.
#
# The same backend (xgw-bench-backend: fixed 200, 100-byte body) sits behind
#   nginx    1 worker, upstream keepalive, access_log off
#   haproxy  nbthread 1, http-reuse always, maxconn below the file limit
#   xgw      xgw-agent in standalone mode with 1 worker (the real data path:
#            local route + sk_lookup steering to the worker's socket)
# Each proxy runs alone on the proxy core (default 0); wrk and the backend
# share the other core (default 1). wrk loads each over HTTP/1.1 keep-alive.
# Rounds are interleaved (backend, nginx, haproxy, xgw[, xgw with N routes])
# and the figures are medians over rounds. Printed per target:
#   req/s, p50 and p99 (wrk), CPU us/req of the serving process alone
#   (utime+stime from /proc/PID/stat over the run / requests), core us/req
#   (busy time of the proxy core, softirq included / requests), others%
#   (noise: the share of the proxy core / of the wrk+backend core taken by
#   other processes; noisy runs are repeated, see --max-noise), wrk-core%
#   (busy share of the wrk + backend core: near 100 %, that core and not the
#   proxy limits req/s, and CPU us/req is the figure to compare), and
#   instructions per proxied request under valgrind --tool=callgrind for a
#   fixed count of requests (xgw-bench-client, N requests over K keep-alive
#   connections; the counters are zeroed once the target serves and dumped
#   after the last response; an idle interval of the same length is
#   subtracted). Callgrind counts user-space instructions only: the kernel's
#   TCP work, most of a proxied request on loopback, is not in that figure.
# --routes N[,N...] adds an xgw target per N, with N generated HTTPRoutes
# (one PathPrefix and one Exact match each) besides the benchmarked route, on
# the hostnames --routes-host says, and reports the req/s drop and the
# worker's VmRSS.
#
# Everything runs inside one network namespace that the script creates
# (addresses in 10.77.0.0/16) and deletes on exit, with every process stopped
# by its own PID, the agent's pins and the temporary files removed.
#
# Needs root, a build (meson setup build && ninja -C build) and
#   apt-get install wrk nginx haproxy valgrind
# It is not part of the test suite: it takes minutes and wants both cores.
#
# Usage: selftests/bench/l7.sh [options]
#   -d SECONDS        measured wrk run per target and round (default 10)
#   -r ROUNDS         interleaved rounds, 1..20 (default 3)
#   -c CONNS          wrk connections (default 50)
#   -w SECONDS        warm-up before each measured run (default 2)
#   --max-noise PCT   measure a run again when more than PCT % of either core
#                     went to other processes (default 10)
#   --retries N       at most N such repeats per run, 0..5 (default 2); the
#                     least noisy attempt is kept
#   --routes LIST     comma list of route counts, e.g. 1000,5000 (default none)
#   --routes-host H   where the generated routes live: "other" (5 hostnames
#                     besides the benchmarked one, default), "shared" (the
#                     benchmarked hostname is one of the 5, so its catch-all
#                     route comes after N/5 more specific ones) or "same"
#                     (all N on the benchmarked hostname)
#   -n REQUESTS       requests per callgrind measurement (default 20000)
#   -k CONNS          connections for the callgrind client (default 50)
#   --no-callgrind    skip the callgrind measurements
#   -T LIST           targets among backend,nginx,haproxy,xgw (default all)
#   --proxy-cpu N     core for the proxy (default 0)
#   --lg-cpu N        core for wrk and the backend (default 1)
#   -B DIR            build directory (default $XGW_BUILD or <repo>/build)
#   -o DIR            keep configs, logs and raw outputs in DIR
set -euo pipefail

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${XGW_BUILD:-$SRC/build}
DUR=10 ROUNDS=3 CONNS=50 WARM=2 MAX_NOISE=10 RETRIES=2 ROUTES="" ROUTES_HOST=other CG_N=20000 CG_K=50 CALLGRIND=1
TARGETS=backend,nginx,haproxy,xgw PROXY_CPU=0 LG_CPU=1 KEEP=""

die() {
	echo "l7.sh: $*" >&2
	exit 2
}
usage() {
	sed -n '/^# Usage:/,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
	exit "${1:-0}"
}

while [ $# -gt 0 ]; do
	case $1 in
	-d) DUR=$2; shift 2 ;;
	-r) ROUNDS=$2; shift 2 ;;
	-c) CONNS=$2; shift 2 ;;
	-w) WARM=$2; shift 2 ;;
	--max-noise) MAX_NOISE=$2; shift 2 ;;
	--retries) RETRIES=$2; shift 2 ;;
	--routes) ROUTES=$2; shift 2 ;;
	--routes-host) ROUTES_HOST=$2; shift 2 ;;
	-n) CG_N=$2; shift 2 ;;
	-k) CG_K=$2; shift 2 ;;
	--no-callgrind) CALLGRIND=0; shift ;;
	-T) TARGETS=$2; shift 2 ;;
	--proxy-cpu) PROXY_CPU=$2; shift 2 ;;
	--lg-cpu) LG_CPU=$2; shift 2 ;;
	-B) BUILD=$2; shift 2 ;;
	-o) KEEP=$2; shift 2 ;;
	-h | --help) usage 0 ;;
	*) echo "l7.sh: unknown option $1" >&2; usage 2 ;;
	esac
done
for v in DUR ROUNDS CONNS WARM MAX_NOISE RETRIES CG_N CG_K PROXY_CPU LG_CPU; do
	[[ ${!v} =~ ^[0-9]+$ ]] || die "$v must be a non-negative integer"
done
[ "$DUR" -ge 1 ] && [ "$DUR" -le 600 ] || die "-d must be 1..600"
[ "$ROUNDS" -ge 1 ] && [ "$ROUNDS" -le 20 ] || die "-r must be 1..20"
[ "$CONNS" -ge 1 ] && [ "$CONNS" -le 5000 ] || die "-c must be 1..5000"
[ "$RETRIES" -le 5 ] || die "--retries must be 0..5"
[ "$CG_N" -ge 1 ] && [ "$CG_N" -le 1000000 ] || die "-n must be 1..1000000"
[ "$CG_K" -ge 1 ] && [ "$CG_K" -le 1000 ] || die "-k must be 1..1000"
[[ $ROUTES =~ ^([0-9]+(,[0-9]+)*)?$ ]] || die "--routes takes a comma list of counts"
case $ROUTES_HOST in other | shared | same) ;; *) die "--routes-host: other, shared or same" ;; esac
[ "$(id -u)" = 0 ] || die "needs root (network namespace, BPF)"
NCPU=$(nproc)
[ "$PROXY_CPU" -lt "$NCPU" ] && [ "$LG_CPU" -lt "$NCPU" ] || die "cpu index out of range (nproc $NCPU)"
[ "$PROXY_CPU" != "$LG_CPU" ] || echo "l7.sh: warning: proxy and load generator share cpu $LG_CPU" >&2

missing=()
for t in wrk nginx haproxy valgrind callgrind_control taskset nsenter curl; do
	command -v "$t" >/dev/null || missing+=("$t")
done
[ ${#missing[@]} = 0 ] || die "missing: ${missing[*]}; install with: apt-get install wrk nginx haproxy valgrind curl"
AGENT_BIN=$BUILD/agent/xgw-agent WORKER_BIN=$BUILD/user/xgw-worker XGWCTL=$BUILD/tools/xgwctl
BACKEND_BIN=$BUILD/selftests/bench/xgw-bench-backend CLIENT_BIN=$BUILD/selftests/bench/xgw-bench-client
for b in "$AGENT_BIN" "$WORKER_BIN" "$XGWCTL" "$BACKEND_BIN" "$CLIENT_BIN"; do
	[ -x "$b" ] || die "$b not built: meson setup $BUILD && ninja -C $BUILD"
done

ID=$$
NS=xgwb-$ID
NSPATH=/run/netns/$NS
PIN=/sys/fs/bpf/xgw-bench-$ID
TMP=$(mktemp -d /tmp/xgw-bench.XXXXXX)
chmod 755 "$TMP"
BE_ADDR=10.77.0.1 BE_PORT=9001
NGINX_ADDR=10.77.0.2 NGINX_PORT=8081
HAPROXY_ADDR=10.77.0.3 HAPROXY_PORT=8082
GW_ADDR=10.77.1.1 GW_PORT=80
HOST=bench.example
HZ=$(getconf CLK_TCK)
TIMEFORMAT='%3U %3S' # bash's time: wrk's CPU seconds (user, system)

# ---------------------------------------------------------------- processes
declare -A PID=()
NS_MADE=0

# start, stop, cleanup, nsx, ticks, core_busy, to_us
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
trap cleanup EXIT
trap 'exit 130' INT TERM

# wait_http URL HOST TRIES: until one request answers 200 (tries x 100 ms)
wait_http() {
	for _ in $(seq "$3"); do
		[ "$(nsx curl -s -m 1 -o /dev/null -w '%{http_code}' -H "Host: $2" "$1" 2>/dev/null)" = 200 ] &&
			return 0
		sleep 0.1
	done
	return 1
}
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }

# ---------------------------------------------------------------- configs
ip netns add "$NS"
NS_MADE=1
ip -n "$NS" link set lo up
for a in $BE_ADDR $NGINX_ADDR $HAPROXY_ADDR; do ip -n "$NS" addr add "$a/32" dev lo; done
NOFILE=$(ulimit -Hn)
ulimit -n "$NOFILE"
mkdir -p "$TMP/nginx"

nginx_conf() { # MASTER(on|off) -> nginx.conf
	cat <<EOF
worker_processes 1;
master_process $1;
daemon off;
user root;
pid $TMP/nginx/nginx-$1.pid;
error_log $TMP/nginx/error-$1.log warn;
worker_rlimit_nofile 16384;
events { worker_connections 8000; }
http {
    access_log off;
    client_body_temp_path $TMP/nginx/body;
    proxy_temp_path $TMP/nginx/proxy;
    fastcgi_temp_path $TMP/nginx/fcgi;
    uwsgi_temp_path $TMP/nginx/uwsgi;
    scgi_temp_path $TMP/nginx/scgi;
    keepalive_requests 1000000;
    keepalive_timeout 60s;
    upstream be {
        server $BE_ADDR:$BE_PORT;
        keepalive 128;
        keepalive_requests 1000000;
        keepalive_timeout 60s;
    }
    server {
        listen $NGINX_ADDR:$NGINX_PORT backlog=4096;
        location / {
            proxy_pass http://be;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
    }
}
EOF
}
nginx_conf on >"$TMP/nginx.conf"
nginx_conf off >"$TMP/nginx-single.conf"

# HAProxy refuses to start when maxconn needs more descriptors than the limit.
HA_MAXCONN=$(((NOFILE - 100) / 2))
[ "$HA_MAXCONN" -gt 8000 ] && HA_MAXCONN=8000
cat >"$TMP/haproxy.cfg" <<EOF
global
    nbthread 1
    maxconn $HA_MAXCONN
    tune.maxaccept 64

defaults
    mode http
    timeout connect 5s
    timeout client 60s
    timeout server 60s
    timeout http-keep-alive 60s
    option http-keep-alive
    http-reuse always

frontend fe
    bind $HAPROXY_ADDR:$HAPROXY_PORT backlog 4096
    default_backend be

backend be
    server s1 $BE_ADDR:$BE_PORT
EOF

# xgw_conf DIR N: the Gateway, the benchmarked route and N generated routes.
xgw_conf() {
	local dir=$1 n=$2 i h
	mkdir -p "$dir"
	cat >"$dir/gateway.yaml" <<EOF
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: xgw-bench}
spec: {controllerName: xgw.io/gateway-controller}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: bench, namespace: default}
spec:
  gatewayClassName: xgw-bench
  addresses: [{type: IPAddress, value: "$GW_ADDR"}]
  listeners:
  - {name: http, protocol: HTTP, port: $GW_PORT, allowedRoutes: {namespaces: {from: All}}}
---
$(backend_yaml)
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: bench, namespace: default, creationTimestamp: "2026-01-01T00:00:00Z"}
spec:
  parentRefs: [{name: bench}]
  hostnames: [$HOST]
  rules:
  - matches: [{path: {type: PathPrefix, value: /}}]
    backendRefs: [{name: backend, port: 80}]
EOF
	[ "$n" -gt 0 ] || return 0
	for ((i = 0; i < n; i++)); do
		case $ROUTES_HOST in
		same) h=$HOST ;;
		shared) if [ $((i % 5)) = 0 ]; then h=$HOST; else h=h$((i % 5)).$HOST; fi ;;
		*) h=h$((i % 5)).$HOST ;;
		esac
		cat <<EOF
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r$i, namespace: default}
spec:
  parentRefs: [{name: bench}]
  hostnames: [$h]
  rules:
  - matches: [{path: {type: PathPrefix, value: /api/v1/svc-$i}}, {path: {type: Exact, value: /svc-$i}}]
    backendRefs: [{name: backend, port: 80}]
EOF
	done >"$dir/routes.yaml"
}

# xgw_start NAME CONFDIR [WORKER_BIN]: agent pinned to the proxy core (its
# worker inherits the mask); waits for "programmed" and a 200 through it.
xgw_start() {
	local name=$1 conf=$2 wbin=${3:-$WORKER_BIN} w
	rm -f "$TMP/status-$name.json"
	start "$name" "$PROXY_CPU" -- "$AGENT_BIN" --config-dir "$conf" --workers 1 \
		--worker-bin "$wbin" --pin-dir "$PIN" --status-file "$TMP/status-$name.json" --workers-file "$TMP/workers-$name.json" \
		--log-level warn
	for _ in $(seq 600); do
		kill -0 "${PID[$name]}" 2>/dev/null || break
		# Captured, not piped into grep -q: with pipefail, grep's early exit
		# would fail the pipeline on a long status (SIGPIPE).
		st=$("$XGWCTL" status --status-file "$TMP/status-$name.json" 2>/dev/null) || true
		[[ $st == *"data plane programmed"* ]] && break
		sleep 0.1
	done
	if ! wait_http "http://$GW_ADDR:$GW_PORT/" "$HOST" 300; then
		echo "l7.sh: xgw ($name) does not serve; agent log:" >&2
		tail -20 "$TMP/$name.log" >&2
		stop "$name"
		return 1
	fi
	w=$(pgrep -P "${PID[$name]}" | head -1) || true
	[ -n "$w" ] || { stop "$name"; return 1; }
	WPID=$w
}

# attached N STATUS: the listener reports N attached routes
attached() {
	local st
	st=$("$XGWCTL" status --status-file "$1" 2>/dev/null) || true
	sed -n 's/.*listener http (attachedRoutes \([0-9]*\)).*/\1/p' <<<"$st" | head -1
}

# ---------------------------------------------------------------- load runs
RES=$TMP/results.tsv
: >"$RES"

# measure ROUND TARGET URL SERVING_PID: warm-up, then one wrk run; appends
# round, target, req/s, p50, p99, CPU us/req, core us/req, errors, VmRSS kB,
# others% on the proxy core, others% on the wrk + backend core, busy% of the
# wrk + backend core (near 100: the load generator side is the limit).
measure() {
	local round=$1 tgt=$2 url=$3 spid=$4 raw=$TMP/wrk-$1-$2.txt try best=""
	local c0 c1 b0 b1 l0 l1 e0 e1 t0 t1 wcpu reqs rps p50 p99 err cpu core po lo lb noise line
	[ "$WARM" -gt 0 ] && nsx timeout $((WARM + 15)) taskset -c "$LG_CPU" wrk -t1 -c"$CONNS" \
		-d"${WARM}s" -H "Host: $HOST" "$url" >/dev/null 2>&1 || true
	for ((try = 0; try <= RETRIES; try++)); do
		c0=$(ticks "$spid") e0=$(ticks "${PID[backend]}")
		b0=$(core_busy "$PROXY_CPU") l0=$(core_busy "$LG_CPU") t0=$(date +%s.%N)
		{ time nsx timeout $((DUR + 30)) taskset -c "$LG_CPU" wrk -t1 -c"$CONNS" -d"${DUR}s" \
			--latency -H "Host: $HOST" "$url" >"$raw" 2>&1 || true; } 2>"$TMP/time"
		c1=$(ticks "$spid") e1=$(ticks "${PID[backend]}")
		b1=$(core_busy "$PROXY_CPU") l1=$(core_busy "$LG_CPU") t1=$(date +%s.%N)
		wcpu=$(awk '{print $1 + $2}' "$TMP/time")
		reqs=$(awk '/requests in/ {print $1; exit}' "$raw")
		rps=$(awk '/^Requests\/sec:/ {printf "%.0f", $2}' "$raw")
		p50=$(to_us "$(awk '$1 == "50%" {print $2}' "$raw")")
		p99=$(to_us "$(awk '$1 == "99%" {print $2}' "$raw")")
		err=$(awk '/Socket errors:/ {gsub(",", ""); e += $4 + $6 + $8 + $10}
			/Non-2xx/ {e += $NF} END {print e + 0}' "$raw")
		if [ -z "$reqs" ] || [ "$reqs" = 0 ]; then
			echo "l7.sh: $tgt produced no result:" >&2
			cat "$raw" >&2
			reqs=0 rps=0 p50=0 p99=0
		fi
		cpu=$(awk -v a="$c0" -v b="$c1" -v n="$reqs" -v hz="$HZ" \
			'BEGIN {printf "%.3f", n ? (b - a) / hz * 1e6 / n : 0}')
		core=$(awk -v a="$b0" -v b="$b1" -v n="$reqs" -v hz="$HZ" \
			'BEGIN {printf "%.3f", n ? (b - a) / hz * 1e6 / n : 0}')
		# Noise: the share of each core that went to processes other than
		# the one measured (proxy core), or than wrk and the backend (the
		# other core). Other engineers' builds and tests show up here.
		if [ "$tgt" = backend ]; then e1=$e0; fi
		read -r po lo lb < <(awk -v c="$((c1 - c0))" -v b="$((b1 - b0))" -v l="$((l1 - l0))" \
			-v e="$((e1 - e0))" -v w="$wcpu" -v t0="$t0" -v t1="$t1" -v hz="$HZ" 'BEGIN {
			t = (t1 - t0) * hz; p = 100 * (b - c) / t; q = 100 * (l - e - w * hz) / t
			printf "%.0f %.0f %.0f\n", (p < 0 ? 0 : p), (q < 0 ? 0 : q), 100 * l / t }')
		noise=$((po > lo ? po : lo))
		line=$(printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s' "$round" "$tgt" "$rps" "$p50" \
			"$p99" "$cpu" "$core" "$err" "$(rss_kb "$spid")" "$po" "$lo" "$lb")
		printf '  %-10s %8s req/s  p50 %5s us  p99 %6s us  cpu %6s us/req  core %6s us/req  others %s%%/%s%%  wrk core busy %s%%  err %s\n' \
			"$tgt" "$rps" "$p50" "$p99" "$cpu" "$core" "$po" "$lo" "$lb" "$err"
		if [ -z "$best" ] || [ "$noise" -lt "$best" ]; then
			best=$noise
			BEST_LINE=$line
		fi
		[ "$noise" -le "$MAX_NOISE" ] && break
		[ "$try" -lt "$RETRIES" ] && echo "             noisy (others > $MAX_NOISE %): measuring again"
	done
	printf '%s\n' "$BEST_LINE" >>"$RES"
}

IFS=, read -r -a TLIST <<<"$TARGETS"
for t in "${TLIST[@]}"; do
	case $t in backend | nginx | haproxy | xgw) ;; *) die "unknown target $t" ;; esac
done
IFS=, read -r -a RLIST <<<"$ROUTES"

xgw_conf "$TMP/conf-0" 0
for n in "${RLIST[@]}"; do xgw_conf "$TMP/conf-$n" "$n"; done

echo "# l7.sh $(date -u +%FT%TZ) host $(uname -n) kernel $(uname -r) cpus $NCPU" \
	"($(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo))"
echo "# wrk $(wrk -v 2>&1 | awk 'NR == 1 {print $2}') | $(nginx -v 2>&1 | sed 's|.*: ||')" \
	"| haproxy $(haproxy -v | awk 'NR == 1 {print $3}') | $(valgrind --version)" \
	"| xgw $(git -C "$SRC" describe --always --dirty 2>/dev/null || echo unknown)"
echo "# -d $DUR -r $ROUNDS -c $CONNS -w $WARM --max-noise $MAX_NOISE --retries $RETRIES routes ${ROUTES:-none} ($ROUTES_HOST)" \
	"callgrind ${CG_N} req/${CG_K} conns; proxy cpu $PROXY_CPU, wrk + backend cpu $LG_CPU"

start backend "$LG_CPU" -- "$BACKEND_BIN" -a "$BE_ADDR" -p "$BE_PORT" -b 100
wait_http "http://$BE_ADDR:$BE_PORT/" "$HOST" 50 || die "the backend does not answer"

for ((round = 1; round <= ROUNDS; round++)); do
	echo "== round $round/$ROUNDS"
	for t in "${TLIST[@]}"; do
		case $t in
		backend)
			taskset -p -c "$PROXY_CPU" "${PID[backend]}" >/dev/null
			measure "$round" backend "http://$BE_ADDR:$BE_PORT/" "${PID[backend]}"
			taskset -p -c "$LG_CPU" "${PID[backend]}" >/dev/null
			;;
		nginx)
			start nginx "$PROXY_CPU" -- nginx -c "$TMP/nginx.conf" -e "$TMP/nginx/stderr.log"
			if wait_http "http://$NGINX_ADDR:$NGINX_PORT/" "$HOST" 50; then
				measure "$round" nginx "http://$NGINX_ADDR:$NGINX_PORT/" "$(pgrep -P "${PID[nginx]}" | head -1)"
			else
				echo "l7.sh: nginx does not serve: $(tail -3 "$TMP/nginx.log")" >&2
			fi
			stop nginx
			;;
		haproxy)
			start haproxy "$PROXY_CPU" -- haproxy -db -f "$TMP/haproxy.cfg"
			if wait_http "http://$HAPROXY_ADDR:$HAPROXY_PORT/" "$HOST" 50; then
				measure "$round" haproxy "http://$HAPROXY_ADDR:$HAPROXY_PORT/" "${PID[haproxy]}"
			else
				echo "l7.sh: haproxy does not serve: $(tail -3 "$TMP/haproxy.log")" >&2
			fi
			stop haproxy
			;;
		xgw)
			for n in 0 "${RLIST[@]}"; do
				label=xgw
				[ "$n" = 0 ] || label=xgw-r$n
				ts=$(date +%s.%N)
				xgw_start xgw "$TMP/conf-$n" || continue
				STARTED=$(awk -v a="$ts" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b - a}')
				got=$(attached "$TMP/status-xgw.json") || true
				[ "$got" = $((n + 1)) ] ||
					echo "l7.sh: warning: $label has $got attached routes, expected $((n + 1))" >&2
				measure "$round" "$label" "http://$GW_ADDR:$GW_PORT/" "$WPID"
				ts=$(date +%s.%N)
				stop xgw
				echo "             serving ${STARTED}s after start; stopped in" \
					"$(awk -v a="$ts" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b - a}')s"
			done
			;;
		esac
	done
done

# ---------------------------------------------------------------- callgrind
CG=$TMP/callgrind.tsv
: >"$CG"
# cg_ir FILE: total instructions in a callgrind dump
cg_ir() { awk '/^(summary|totals):/ {print $2; exit}' "$1" 2>/dev/null || echo 0; }
# cg_measure TARGET PID URL_ADDR PORT: zero, idle interval, zero, N requests, dump
cg_measure() {
	local tgt=$1 pid=$2 addr=$3 port=$4 out=$TMP/cg-$1.out t0 t1 secs idle busy f
	callgrind_control -z "$pid" >/dev/null 2>&1 || { echo "l7.sh: callgrind_control failed for $tgt" >&2; return 1; }
	t0=$(date +%s.%N)
	if ! nsx timeout 600 "$CLIENT_BIN" -n "$CG_N" -c "$CG_K" -H "$HOST" -t 590 "$addr" "$port" \
		>"$TMP/cg-$tgt-client.txt" 2>&1; then
		echo "l7.sh: callgrind client for $tgt: $(cat "$TMP/cg-$tgt-client.txt")" >&2
		return 1
	fi
	t1=$(date +%s.%N)
	callgrind_control -d "$pid" >/dev/null 2>&1
	secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN {s = b - a; if (s > 60) s = 60; printf "%.2f", s}')
	sleep "$secs"
	callgrind_control -d "$pid" >/dev/null 2>&1
	sleep 0.5
	f=$(ls -1v "$out".* 2>/dev/null | tail -2)
	busy=$(cg_ir "$(head -1 <<<"$f")")
	idle=$(cg_ir "$(tail -1 <<<"$f")")
	printf '%s\t%s\t%s\n' "$tgt" "$busy" "$idle" >>"$CG"
	awk -v t="$tgt" -v b="$busy" -v i="$idle" -v n="$CG_N" -v s="$secs" 'BEGIN {
		printf "  %-10s %d requests in %.1f s: %d Ir, idle %d Ir -> %.0f instr/req\n", t, n, s, b, i, (b - i) / n }'
}
VG=(valgrind --tool=callgrind --vgdb=yes --compress-strings=no --compress-pos=no)

if [ "$CALLGRIND" = 1 ]; then
	echo "== callgrind: $CG_N requests over $CG_K connections per target"
	for t in "${TLIST[@]}"; do
		case $t in
		nginx)
			start cg-nginx "$PROXY_CPU" -- "${VG[@]}" --callgrind-out-file="$TMP/cg-nginx.out" \
				nginx -c "$TMP/nginx-single.conf" -e "$TMP/nginx/stderr-cg.log"
			wait_http "http://$NGINX_ADDR:$NGINX_PORT/" "$HOST" 300 &&
				cg_measure nginx "${PID[cg-nginx]}" "$NGINX_ADDR" "$NGINX_PORT" || true
			stop cg-nginx
			;;
		haproxy)
			start cg-haproxy "$PROXY_CPU" -- "${VG[@]}" --callgrind-out-file="$TMP/cg-haproxy.out" \
				haproxy -db -f "$TMP/haproxy.cfg"
			wait_http "http://$HAPROXY_ADDR:$HAPROXY_PORT/" "$HOST" 300 &&
				cg_measure haproxy "${PID[cg-haproxy]}" "$HAPROXY_ADDR" "$HAPROXY_PORT" || true
			stop cg-haproxy
			;;
		xgw)
			cat >"$TMP/worker-cg.sh" <<EOF
#!/bin/sh
exec ${VG[*]} --callgrind-out-file=$TMP/cg-xgw.out $WORKER_BIN "\$@"
EOF
			chmod 755 "$TMP/worker-cg.sh"
			for n in 0 "${RLIST[@]}"; do
				label=xgw
				[ "$n" = 0 ] || label=xgw-r$n
				sed -i "s|--callgrind-out-file=[^ ]*|--callgrind-out-file=$TMP/cg-$label.out|" \
					"$TMP/worker-cg.sh"
				if xgw_start cg-xgw "$TMP/conf-$n" "$TMP/worker-cg.sh"; then
					cg_measure "$label" "$WPID" "$GW_ADDR" "$GW_PORT" || true
				fi
				stop cg-xgw
			done
			;;
		esac
	done
fi

# ---------------------------------------------------------------- summary
echo
echo "== summary: medians over $ROUNDS round(s) of ${DUR}s, $CONNS connections; req/s [min..max]"
awk -F'\t' -v routes="$ROUTES" -v cgfile="$CG" -v cgn="$CG_N" '
function med(k, col,   i, j, t, v, c) {
	c = cnt[k]
	for (i = 1; i <= c; i++) v[i] = val[k, i, col] + 0
	for (i = 1; i <= c; i++) for (j = i + 1; j <= c; j++) if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
	lo = v[1]; hi = v[c]
	return c % 2 ? v[(c + 1) / 2] : (v[c / 2] + v[c / 2 + 1]) / 2
}
function ratio(a, b) { return b > 0 ? sprintf("%.2f", a / b) : "n/a" }
FILENAME == cgfile { instr[$1] = ($2 - $3) / cgn; next }
{
	k = $2
	if (!(k in cnt)) order[++n] = k
	c = ++cnt[k]
	for (f = 3; f <= 12; f++) val[k, c, f] = $f
	errs[k] += $8
}
END {
	printf "%-12s %9s %17s %7s %7s %11s %12s %10s %7s %9s %9s\n", "target", "req/s", "[min..max]", "p50 us",
		"p99 us", "CPU us/req", "core us/req", "instr/req", "errors", "others%", "wrk-core%"
	for (i = 1; i <= n; i++) {
		k = order[i]
		R[k] = med(k, 3); l = lo; h = hi
		P50[k] = med(k, 4); P99[k] = med(k, 5); CPU[k] = med(k, 6); CORE[k] = med(k, 7); RSS[k] = med(k, 9)
		printf "%-12s %9.0f %17s %7.0f %7.0f %11.2f %12.2f %10s %7d %9s %9s\n", k, R[k], l ".." h, P50[k],
			P99[k], CPU[k], CORE[k], (k in instr) ? sprintf("%.0f", instr[k]) : "-", errs[k],
			sprintf("%.0f/%.0f", med(k, 10), med(k, 11)), sprintf("%.0f", med(k, 12))
	}
	if ("xgw" in R) {
		for (j = 1; j <= 2; j++) {
			p = j == 1 ? "nginx" : "haproxy"
			if (!(p in R)) continue
			printf "ratio xgw/%s: req/s %s  per-CPU-s %s  p99 %s  instr %s\n", p, ratio(R["xgw"], R[p]),
				ratio(CPU[p], CPU["xgw"]), ratio(P99["xgw"], P99[p]),
				(("xgw" in instr) && (p in instr)) ? ratio(instr["xgw"], instr[p]) : "n/a"
		}
		printf "(req/s and per-CPU-s: xgw over peer, higher is better; p99 and instr: xgw over peer, lower is better)\n"
		m = split(routes, rl, ",")
		for (j = 1; j <= m; j++) {
			k = "xgw-r" rl[j]
			if (!(k in R)) continue
			D[rl[j]] = R["xgw"] > 0 ? 100 * (1 - R[k] / R["xgw"]) : 0
			printf "routes %d: req/s %.0f vs %.0f with 1 route (drop %.1f %%)  instr/req %s vs %s  worker VmRSS %.1f MB (1 route: %.1f MB)\n",
				rl[j], R[k], R["xgw"], D[rl[j]], (k in instr) ? sprintf("%.0f", instr[k]) : "-",
				("xgw" in instr) ? sprintf("%.0f", instr["xgw"]) : "-", RSS[k] / 1024, RSS["xgw"] / 1024
		}
		if (("nginx" in R) && ("haproxy" in R)) {
			printf "target req/s >= 1.3x nginx and haproxy: %s\n",
				(R["xgw"] >= 1.3 * R["nginx"] && R["xgw"] >= 1.3 * R["haproxy"] ? "met" : "MISSED")
			printf "target requests per CPU-second >= 1.3x nginx and haproxy: %s\n",
				(CPU["xgw"] * 1.3 <= CPU["nginx"] && CPU["xgw"] * 1.3 <= CPU["haproxy"] ? "met" : "MISSED")
			printf "target p99 no worse than nginx or haproxy: %s\n",
				(P99["xgw"] <= P99["nginx"] && P99["xgw"] <= P99["haproxy"] ? "met" : "MISSED")
		}
		if ("xgw-r1000" in R)
			printf "target drop < 10 %% at 1000 routes: %s\n", (D[1000] < 10 ? "met" : "MISSED")
		if ("xgw-r5000" in R)
			printf "target worker VmRSS < 40 MB at 5000 routes: %s\n", (RSS["xgw-r5000"] < 40 * 1024 ? "met" : "MISSED")
	}
}' "$CG" "$RES"
