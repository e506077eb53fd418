#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# tls.sh: xgw's TLS benchmark against nginx and HAProxy, in one invocation.
#
# The same backend (xgw-bench-backend: fixed 200, 100-byte body) sits behind
#   nginx    1 worker, upstream keepalive, access_log off, TLS 1.2-1.3,
#            ssl_session_tickets on with a key file (stateless tickets)
#   haproxy  nbthread 1, http-reuse always, its default tickets
#   xgw      xgw-agent in standalone mode with 1 worker, HTTPS listeners
# each serving the same ECDSA P-256 certificate on one port and the same
# RSA-2048 certificate on another (same CA, same SAN), with OpenSSL's
# default cipher suites and groups. Each proxy runs alone on the proxy core
# (default 0); the load generators and the backend share the other core
# (default 1). Measured per round (rounds interleaved, medians over rounds):
#   full-ec, full-rsa  full TLS 1.3 handshakes/s: xgw-bench-handshake keeps K
#                      connections in flight, each a new handshake offering no
#                      session, one GET, the response, close_notify, close
#   res-ec, res-rsa    the same, each connection resuming from the latest
#                      session ticket; the share actually resumed is printed
#   h1                 HTTPS HTTP/1.1 keep-alive requests/s (wrk, ECDSA port)
#   h2                 HTTP/2 requests/s over TLS (h2load, multiplexed
#                      streams, ECDSA certificate, ALPN h2)
# Printed per target and load: rate, p50/p99 (h1, h2), CPU us per unit (the
# serving process alone: utime+stime from /proc/PID/stat over the run /
# handshakes or requests), core us per unit (busy time of the proxy core,
# softirq included), others% (share of the proxy core taken by other
# processes: noise) and lg-core% (busy share of the load generator + backend
# core: near 100 %, that core and not the proxy limits the rate, and CPU us
# per unit is the figure to compare). Ratios xgw/nginx and xgw/haproxy
# follow, for the rate and for units per CPU-second. Then, unless
# --no-callgrind, each handshake load runs once more with the server under
# valgrind --tool=callgrind for a fixed count of handshakes (-n), giving
# user-space instructions per handshake: a figure that other processes on
# the machine do not move (the kernel's TCP work is not in it).
#
# Everything runs inside one network namespace that the script creates
# (addresses in 10.78.0.0/16) and deletes on exit, with every process stopped
# by its own PID, the agent's pins and the temporary files removed.
#
# Needs root, a build (meson setup build && ninja -C build) and
#   apt-get install wrk nginx haproxy nghttp2-client openssl curl valgrind
# (without h2load the h2 load is skipped, without valgrind the callgrind
# measurements). It is not part of the test suite.
#
# Usage: selftests/bench/tls.sh [options]
#   -d SECONDS        measured run per target, load and round (default 5)
#   -r ROUNDS         interleaved rounds, 1..20 (default 3)
#   -w SECONDS        warm-up before each measured run (default 1)
#   -c CONNS          wrk and h2load connections (default 50)
#   -m STREAMS        h2load concurrent streams per connection (default 10)
#   -k CONNS          handshake client connections in flight (default 32)
#   -L LIST           loads among full-ec,full-rsa,res-ec,res-rsa,h1,h2
#                     (default all)
#   -T LIST           targets among nginx,haproxy,xgw (default all)
#   -n HANDSHAKES     handshakes per callgrind measurement (default 300)
#   --cg-requests N   requests per callgrind measurement of h1 and h2
#                     (h2load, 10 connections, keep-alive; default 20000)
#   --no-callgrind    skip the callgrind measurements
#   --max-noise PCT   measure a run again when more than PCT % of the proxy
#                     core went to other processes (default 10)
#   --retries N       at most N such repeats per run, 0..5 (default 1)
#   --proxy-cpu N     core for the proxy (default 0)
#   --lg-cpu N        core for the load generators and the backend (default 1)
#   -B DIR            build directory (default $XGW_BUILD or <repo>/build)
#   -o DIR            keep configs, logs and raw outputs in DIR
set -euo pipefail

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${XGW_BUILD:-$SRC/build}
DUR=5 ROUNDS=3 WARM=1 CONNS=50 STREAMS=10 HS_CONNS=32 MAX_NOISE=10 RETRIES=1
LOADS=full-ec,full-rsa,res-ec,res-rsa,h1,h2 TARGETS=nginx,haproxy,xgw PROXY_CPU=0 LG_CPU=1 KEEP=""
CG_N=300 CG_REQ=20000 CALLGRIND=1

die() {
	echo "tls.sh: $*" >&2
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
	-w) WARM=$2; shift 2 ;;
	-c) CONNS=$2; shift 2 ;;
	-m) STREAMS=$2; shift 2 ;;
	-k) HS_CONNS=$2; shift 2 ;;
	-L) LOADS=$2; shift 2 ;;
	-T) TARGETS=$2; shift 2 ;;
	-n) CG_N=$2; shift 2 ;;
	--cg-requests) CG_REQ=$2; shift 2 ;;
	--no-callgrind) CALLGRIND=0; shift ;;
	--max-noise) MAX_NOISE=$2; shift 2 ;;
	--retries) RETRIES=$2; shift 2 ;;
	--proxy-cpu) PROXY_CPU=$2; shift 2 ;;
	--lg-cpu) LG_CPU=$2; shift 2 ;;
	-B) BUILD=$2; shift 2 ;;
	-o) KEEP=$2; shift 2 ;;
	-h | --help) usage 0 ;;
	*) echo "tls.sh: unknown option $1" >&2; usage 2 ;;
	esac
done
for v in DUR ROUNDS WARM CONNS STREAMS HS_CONNS MAX_NOISE RETRIES PROXY_CPU LG_CPU CG_N CG_REQ; do
	[[ ${!v} =~ ^[0-9]+$ ]] || die "$v must be a non-negative integer"
done
[ "$DUR" -ge 1 ] && [ "$DUR" -le 600 ] || die "-d must be 1..600"
[ "$ROUNDS" -ge 1 ] && [ "$ROUNDS" -le 20 ] || die "-r must be 1..20"
[ "$CONNS" -ge 1 ] && [ "$CONNS" -le 5000 ] || die "-c must be 1..5000"
[ "$STREAMS" -ge 1 ] && [ "$STREAMS" -le 1000 ] || die "-m must be 1..1000"
[ "$HS_CONNS" -ge 1 ] && [ "$HS_CONNS" -le 5000 ] || die "-k must be 1..5000"
[ "$RETRIES" -le 5 ] || die "--retries must be 0..5"
[ "$CG_N" -ge 1 ] && [ "$CG_N" -le 100000 ] || die "-n must be 1..100000"
[ "$CG_REQ" -ge 100 ] && [ "$CG_REQ" -le 1000000 ] || die "--cg-requests must be 100..1000000"
IFS=, read -r -a TLIST <<<"$TARGETS"
for t in "${TLIST[@]}"; do
	case $t in nginx | haproxy | xgw) ;; *) die "unknown target $t" ;; esac
done
IFS=, read -r -a LLIST <<<"$LOADS"
for l in "${LLIST[@]}"; do
	case $l in full-ec | full-rsa | res-ec | res-rsa | h1 | h2) ;; *) die "unknown load $l" ;; esac
done

# A missing tool skips the benchmark (exit 0) rather than failing it.
skip() {
	echo "tls.sh: SKIP: $*"
	exit 0
}
[ "$(id -u)" = 0 ] || skip "needs root (network namespace, BPF)"
NCPU=$(nproc)
[ "$PROXY_CPU" -lt "$NCPU" ] && [ "$LG_CPU" -lt "$NCPU" ] || die "cpu index out of range (nproc $NCPU)"
[ "$PROXY_CPU" != "$LG_CPU" ] || echo "tls.sh: warning: proxy and load generator share cpu $LG_CPU" >&2
missing=()
for t in wrk nginx haproxy openssl taskset nsenter curl; do
	command -v "$t" >/dev/null || missing+=("$t")
done
[ ${#missing[@]} = 0 ] ||
	skip "missing: ${missing[*]}; install with: apt-get install wrk nginx haproxy openssl curl nghttp2-client"
H2LOAD=1
if ! command -v h2load >/dev/null; then
	echo "tls.sh: h2load is missing (apt-get install nghttp2-client): no h2 load" >&2
	H2LOAD=0
fi
if [ "$CALLGRIND" = 1 ] && ! { command -v valgrind && command -v callgrind_control; } >/dev/null; then
	echo "tls.sh: valgrind is missing (apt-get install valgrind): no callgrind measurements" >&2
	CALLGRIND=0
fi
# Captured, not piped into grep -q: with pipefail, grep's early exit would
# fail the pipeline (SIGPIPE).
v=$(haproxy -vv 2>&1) || true
[[ $v == *USE_OPENSSL=1* ]] || skip "this haproxy is built without OpenSSL"
v=$(nginx -V 2>&1) || true
[[ $v == *--with-http_ssl_module* ]] || skip "this nginx is built without http_ssl_module"
NGINX_H2=0
[[ $v == *--with-http_v2_module* ]] && NGINX_H2=1
AGENT_BIN=$BUILD/agent/xgw-agent WORKER_BIN=$BUILD/user/xgw-worker XGWCTL=$BUILD/tools/xgwctl
BACKEND_BIN=$BUILD/selftests/bench/xgw-bench-backend HS_BIN=$BUILD/selftests/bench/xgw-bench-handshake
for b in "$AGENT_BIN" "$WORKER_BIN" "$XGWCTL" "$BACKEND_BIN" "$HS_BIN"; do
	[ -x "$b" ] || die "$b not built: meson setup $BUILD && ninja -C $BUILD"
done

ID=$$
NS=xgwt-$ID
NSPATH=/run/netns/$NS
PIN=/sys/fs/bpf/xgw-tlsbench-$ID
TMP=$(mktemp -d /tmp/xgw-tlsbench.XXXXXX)
chmod 755 "$TMP"
BE_ADDR=10.78.0.1 BE_PORT=9001
NGINX_ADDR=10.78.0.2
HAPROXY_ADDR=10.78.0.3
GW_ADDR=10.78.1.1
# the same ports on every target: ECDSA, RSA, and (nginx, haproxy) h2 with ECDSA
PORT_EC=443 PORT_RSA=8443 PORT_H2=9443
HOST=bench.example
HZ=$(getconf CLK_TCK)

# ---------------------------------------------------------------- processes
declare -A PID=()
NS_MADE=0

# start, stop, cleanup, nsx, ticks, core_busy, to_us
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
trap cleanup EXIT
trap 'exit 130' INT TERM

# wait_ok URL TRIES: until one request answers 200 (tries x 100 ms)
wait_ok() {
	for _ in $(seq "$2"); do
		[ "$(nsx curl -sk -m 1 -o /dev/null -w '%{http_code}' -H "Host: $HOST" "$1" 2>/dev/null)" = 200 ] &&
			return 0
		sleep 0.1
	done
	return 1
}

# ---------------------------------------------------------------- network
ip netns add "$NS"
NS_MADE=1
ip -n "$NS" link set lo up
for a in $BE_ADDR $NGINX_ADDR $HAPROXY_ADDR; do ip -n "$NS" addr add "$a/32" dev lo; done
# Every handshake is a new connection: reuse TIME_WAIT ports, use them all.
nsx sysctl -qw net.ipv4.tcp_tw_reuse=1 net.ipv4.ip_local_port_range="1024 65535" \
	net.core.somaxconn=4096 net.ipv4.tcp_max_syn_backlog=4096
NOFILE=$(ulimit -Hn)
ulimit -n "$NOFILE"

# ---------------------------------------------------------------- certificates
PKI=$TMP/pki
mkdir -p "$PKI" "$TMP/nginx" "$TMP/conf"
ossl() { openssl "$@" 2>>"$TMP/openssl.log"; }
leaf() { # name key-options...
	local n=$1
	shift
	ossl req "$@" -nodes -subj "/CN=$HOST" -keyout "$PKI/$n.key" -out "$PKI/$n.csr" &&
		printf 'subjectAltName=DNS:%s\nextendedKeyUsage=serverAuth\n' "$HOST" >"$PKI/$n.ext" &&
		ossl x509 -req -in "$PKI/$n.csr" -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" -CAcreateserial \
			-days 2 -extfile "$PKI/$n.ext" -out "$PKI/$n.crt" &&
		cat "$PKI/$n.crt" "$PKI/$n.key" >"$PKI/$n.pem"
}
ossl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=bench CA" \
	-keyout "$PKI/ca.key" -out "$PKI/ca.crt" -addext basicConstraints=critical,CA:TRUE \
	-addext keyUsage=keyCertSign,cRLSign &&
	leaf ec -newkey ec -pkeyopt ec_paramgen_curve:P-256 &&
	leaf rsa -newkey rsa:2048 || die "openssl cannot make the certificates: $(tail -3 "$TMP/openssl.log")"
# nginx: 80 bytes = AES-256-CBC + HMAC-SHA256 tickets, like xgw's
openssl rand 80 >"$TMP/nginx/ticket.key"

# ---------------------------------------------------------------- configs
h2_listen=""
if [ "$NGINX_H2" = 1 ]; then
	h2_listen="
    server {
        listen $NGINX_ADDR:$PORT_H2 ssl http2 backlog=4096;
        ssl_certificate $PKI/ec.crt;
        ssl_certificate_key $PKI/ec.key;
        location / { proxy_pass http://be; proxy_http_version 1.1; proxy_set_header Connection \"\"; }
    }"
fi
cat >"$TMP/nginx.conf" <<EOF
worker_processes 1;
daemon off;
user root;
pid $TMP/nginx/nginx.pid;
error_log $TMP/nginx/error.log warn;
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
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_session_tickets on;
    ssl_session_ticket_key $TMP/nginx/ticket.key;
    upstream be {
        server $BE_ADDR:$BE_PORT;
        keepalive 128;
        keepalive_requests 1000000;
        keepalive_timeout 60s;
    }
    server {
        listen $NGINX_ADDR:$PORT_EC ssl backlog=4096;
        ssl_certificate $PKI/ec.crt;
        ssl_certificate_key $PKI/ec.key;
        location / { proxy_pass http://be; proxy_http_version 1.1; proxy_set_header Connection ""; }
    }
    server {
        listen $NGINX_ADDR:$PORT_RSA ssl backlog=4096;
        ssl_certificate $PKI/rsa.crt;
        ssl_certificate_key $PKI/rsa.key;
        location / { proxy_pass http://be; proxy_http_version 1.1; proxy_set_header Connection ""; }
    }$h2_listen
}
EOF

# under callgrind: no master process, the one process serves
sed -e 's|^worker_processes 1;|worker_processes 1;\nmaster_process off;|' \
	-e "s|nginx/nginx.pid|nginx/nginx-single.pid|" "$TMP/nginx.conf" >"$TMP/nginx-single.conf"

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
    bind $HAPROXY_ADDR:$PORT_EC ssl crt $PKI/ec.pem alpn http/1.1 backlog 4096
    bind $HAPROXY_ADDR:$PORT_RSA ssl crt $PKI/rsa.pem alpn http/1.1 backlog 4096
    bind $HAPROXY_ADDR:$PORT_H2 ssl crt $PKI/ec.pem alpn h2,http/1.1 backlog 4096
    default_backend be

backend be
    server s1 $BE_ADDR:$BE_PORT
EOF

secret() { # name, certificate
	printf 'apiVersion: v1\nkind: Secret\nmetadata: {name: %s, namespace: default}\n' "$1"
	printf 'type: kubernetes.io/tls\ndata:\n'
	printf '  tls.crt: %s\n' "$(base64 -w0 <"$PKI/$2.crt")"
	printf '  tls.key: %s\n' "$(base64 -w0 <"$PKI/$2.key")"
}
secret bench-ec ec >"$TMP/conf/secret-ec.yaml"
secret bench-rsa rsa >"$TMP/conf/secret-rsa.yaml"
cat >"$TMP/conf/gateway.yaml" <<EOF
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
  - {name: https-ec, protocol: HTTPS, port: $PORT_EC, tls: {certificateRefs: [{name: bench-ec}]}}
  - {name: https-rsa, protocol: HTTPS, port: $PORT_RSA, tls: {certificateRefs: [{name: bench-rsa}]}}
  - {name: https-h2, protocol: HTTPS, port: $PORT_H2, tls: {certificateRefs: [{name: bench-ec}]}}
---
$(backend_yaml)
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: bench, namespace: default}
spec:
  parentRefs: [{name: bench}]
  hostnames: [$HOST]
  rules:
  - matches: [{path: {type: PathPrefix, value: /}}]
    backendRefs: [{name: backend, port: 80}]
EOF

VG=(valgrind --tool=callgrind --vgdb=yes --compress-strings=no --compress-pos=no)

# target_start TARGET [cg]: starts it on the proxy core (with cg: under
# callgrind, the serving process alone) and waits until both TLS ports
# answer; sets SPID (the process that serves) and ADDR.
target_start() {
	local w vg=() cg=${2:-}
	[ -n "$cg" ] && vg=("${VG[@]}" --callgrind-out-file="$TMP/cg-$1.out")
	case $1 in
	nginx)
		ADDR=$NGINX_ADDR
		if [ -n "$cg" ]; then
			start nginx "$PROXY_CPU" -- "${vg[@]}" nginx -c "$TMP/nginx-single.conf" \
				-e "$TMP/nginx/stderr-cg.log"
		else
			start nginx "$PROXY_CPU" -- nginx -c "$TMP/nginx.conf" -e "$TMP/nginx/stderr.log"
		fi
		;;
	haproxy)
		ADDR=$HAPROXY_ADDR
		start haproxy "$PROXY_CPU" -- "${vg[@]}" haproxy -db -f "$TMP/haproxy.cfg"
		;;
	xgw)
		ADDR=$GW_ADDR
		rm -f "$TMP/status-xgw.json"
		w=$WORKER_BIN
		if [ -n "$cg" ]; then
			printf '#!/bin/sh\nexec %s "$@"\n' "${vg[*]} $WORKER_BIN" >"$TMP/worker-cg.sh"
			chmod 755 "$TMP/worker-cg.sh"
			w=$TMP/worker-cg.sh
		fi
		start xgw "$PROXY_CPU" -- "$AGENT_BIN" --config-dir "$TMP/conf" --workers 1 \
			--worker-bin "$w" --pin-dir "$PIN" --status-file "$TMP/status-xgw.json" --workers-file "$TMP/workers-xgw.json" \
			--log-level warn
		;;
	esac
	if ! wait_ok "https://$ADDR:$PORT_EC/" 600 || ! wait_ok "https://$ADDR:$PORT_RSA/" 100; then
		echo "tls.sh: $1 does not serve HTTPS; its log:" >&2
		tail -5 "$TMP/$1.log" >&2
		stop "$1"
		return 1
	fi
	case $1 in
	haproxy) SPID=${PID[haproxy]} ;;
	nginx) [ -n "$cg" ] && SPID=${PID[nginx]} || SPID=$(pgrep -P "${PID[nginx]}" | head -1) ;;
	*)
		w=$(pgrep -P "${PID[$1]}" | head -1) || true
		[ -n "$w" ] || { stop "$1"; return 1; }
		SPID=$w
		;;
	esac
}

# ---------------------------------------------------------------- load runs
RES=$TMP/results.tsv
: >"$RES"

# load KIND SECONDS OUT: one run of load KIND against $ADDR into OUT; prints
# "units rate p50 p99 errors resumed% tickets-per-connection" (units:
# handshakes or requests).
load() {
	local kind=$1 d=$2 out=$3 port=$PORT_EC extra=() r
	case $kind in
	full-* | res-*)
		[[ $kind == *-rsa ]] && port=$PORT_RSA
		[[ $kind == res-* ]] && extra=(-R)
		nsx timeout $((d + 20)) taskset -c "$LG_CPU" "$HS_BIN" -c "$HS_CONNS" -d "$d" "${extra[@]}" \
			-H "$HOST" "$ADDR" "$port" >"$out" 2>&1 || true
		awk '/^conns / { printf "%d %.0f 0 0 %d %.1f %.2f\n", $2, $12, $6 + $8, $2 ? 100 * $4 / $2 : 0,
				$2 ? $14 / $2 : 0; f = 1 }
			END { if (!f) print "0 0 0 0 1 0 0" }' "$out"
		;;
	h1)
		nsx timeout $((d + 20)) taskset -c "$LG_CPU" wrk -t1 -c"$CONNS" -d"${d}s" --latency \
			-H "Host: $HOST" "https://$ADDR:$port/" >"$out" 2>&1 || true
		r=$(awk '/requests in/ {print $1; exit}' "$out")
		printf '%s %s %s %s %s 0 0\n' "${r:-0}" "$(awk '/^Requests\/sec:/ {printf "%.0f", $2}' "$out")" \
			"$(to_us "$(awk '$1 == "50%" {print $2}' "$out")")" \
			"$(to_us "$(awk '$1 == "99%" {print $2}' "$out")")" \
			"$(awk '/Socket errors:/ {gsub(",", ""); e += $4 + $6 + $8 + $10}
				/Non-2xx/ {e += $NF} END {print e + 0}' "$out")"
		;;
	h2)
		rm -f "$out.log"
		nsx timeout $((d + 20)) taskset -c "$LG_CPU" h2load -c"$CONNS" -m"$STREAMS" -t1 -D"$d" \
			-H ":authority: $HOST" --log-file="$out.log" "https://$ADDR:$PORT_H2/" >"$out" 2>&1 || true
		# h2load logs each request's latency (third column, us): p50 and p99 from there
		read -r p50 p99 < <(cut -f3 "$out.log" 2>/dev/null | sort -n | awk '{ v[++n] = $1 }
			END { if (n) printf "%d %d\n", v[int(n * 0.5) + 1], v[int(n * 0.99) + 1]; else print "0 0" }')
		awk -v p50="$p50" -v p99="$p99" '
			/^finished in/ { gsub(",", ""); rate = $4 }
			/^requests:/ { ok = $8; bad = $10 + $12 + $14 }
			/^status codes:/ { gsub(",", ""); non2xx = $5 + $7 + $9 }
			END { printf "%d %.0f %d %d %d 0 0\n", ok, rate, p50, p99, bad + non2xx }' "$out"
		;;
	esac
}

# measure ROUND TARGET KIND: warm-up, then the measured run; appends round,
# target, kind, rate, p50, p99, CPU us/unit, core us/unit, errors,
# resumed%, others% on the proxy core, busy% of the load generator core,
# session tickets received per connection.
measure() {
	local round=$1 tgt=$2 kind=$3 raw=$TMP/$1-$2-$3.txt try best="" line noise
	local c0 c1 b0 b1 l0 l1 t0 t1 units rate p50 p99 err resp tpc cpu core po lb
	[ "$WARM" -gt 0 ] && load "$kind" "$WARM" "$raw.warm" >/dev/null
	for ((try = 0; try <= RETRIES; try++)); do
		c0=$(ticks "$SPID") b0=$(core_busy "$PROXY_CPU") l0=$(core_busy "$LG_CPU") t0=$(date +%s.%N)
		read -r units rate p50 p99 err resp tpc < <(load "$kind" "$DUR" "$raw")
		c1=$(ticks "$SPID") b1=$(core_busy "$PROXY_CPU") l1=$(core_busy "$LG_CPU") t1=$(date +%s.%N)
		if [ "$units" = 0 ]; then
			echo "tls.sh: $tgt $kind produced no result:" >&2
			tail -5 "$raw" >&2
		fi
		read -r cpu core po lb < <(awk -v c="$((c1 - c0))" -v b="$((b1 - b0))" -v l="$((l1 - l0))" \
			-v n="$units" -v t0="$t0" -v t1="$t1" -v hz="$HZ" 'BEGIN {
			t = (t1 - t0) * hz; p = 100 * (b - c) / t
			printf "%.2f %.2f %.0f %.0f\n", n ? c / hz * 1e6 / n : 0, n ? b / hz * 1e6 / n : 0,
				(p < 0 ? 0 : p), 100 * l / t }')
		line=$(printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s' "$round" "$tgt" "$kind" \
			"$rate" "$p50" "$p99" "$cpu" "$core" "$err" "$resp" "$po" "$lb" "$tpc")
		printf '  %-8s %-8s %8s/s  cpu %7s us  core %7s us  p50 %5s us  p99 %6s us  resumed %5s%%  err %s  others %s%%  lg-core %s%%\n' \
			"$tgt" "$kind" "$rate" "$cpu" "$core" "$p50" "$p99" "$resp" "$err" "$po" "$lb"
		noise=$po
		if [ -z "$best" ] || [ "$noise" -lt "$best" ]; then
			best=$noise
			BEST_LINE=$line
		fi
		[ "$noise" -le "$MAX_NOISE" ] && break
		[ "$try" -lt "$RETRIES" ] && echo "           noisy (others > $MAX_NOISE %): measuring again"
	done
	printf '%s\n' "$BEST_LINE" >>"$RES"
}

echo "# tls.sh $(date -u +%FT%TZ) host $(uname -n) kernel $(uname -r) cpus $NCPU" \
	"($(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)); load:$(uptime | sed 's/.*load average://')"
echo "# $(openssl version) | wrk $(wrk -v 2>&1 | awk 'NR == 1 {print $2}') | $(nginx -v 2>&1 | sed 's|.*: ||')" \
	"| haproxy $(haproxy -v | awk 'NR == 1 {print $3}')" \
	"| h2load $([ "$H2LOAD" = 1 ] && h2load --version | awk '{print $NF}' || echo none)" \
	"| xgw $(git -C "$SRC" describe --always --dirty 2>/dev/null || echo unknown)"
echo "# -d $DUR -r $ROUNDS -w $WARM; handshakes: $HS_CONNS in flight, TLS 1.3, 1 GET each;" \
	"wrk/h2load: $CONNS conns, h2 $STREAMS streams; proxy cpu $PROXY_CPU, load + backend cpu $LG_CPU"

start backend "$LG_CPU" -- "$BACKEND_BIN" -a "$BE_ADDR" -p "$BE_PORT" -b 100
for _ in $(seq 50); do
	[ "$(nsx curl -s -m 1 -o /dev/null -w '%{http_code}' "http://$BE_ADDR:$BE_PORT/" 2>/dev/null)" = 200 ] && break
	sleep 0.1
done

for ((round = 1; round <= ROUNDS; round++)); do
	echo "== round $round/$ROUNDS"
	for t in "${TLIST[@]}"; do
		target_start "$t" || continue
		for l in "${LLIST[@]}"; do
			if [ "$l" = h2 ]; then
				[ "$H2LOAD" = 1 ] || continue
				[ "$t" = nginx ] && [ "$NGINX_H2" = 0 ] && continue
			fi
			measure "$round" "$t" "$l"
		done
		stop "$t"
	done
done

# ---------------------------------------------------------------- callgrind
CG=$TMP/callgrind.tsv
: >"$CG"
# cg_measure TARGET KIND: zero the counters, run a fixed count of KIND, dump.
# Handshake loads: CG_N handshakes (with -R: one full handshake first for the
# ticket, counted in). h1, h2: CG_REQ requests with h2load over 10 keep-alive
# connections (h2: 10 streams each), their handshakes counted in.
cg_measure() {
	local tgt=$1 kind=$2 port=$PORT_EC extra=() f ir n r out
	out=$TMP/cg-$tgt-$kind.txt
	[[ $kind == *-rsa ]] && port=$PORT_RSA
	[[ $kind == res-* ]] && extra=(-R)
	callgrind_control -z "$SPID" >/dev/null 2>&1 || { echo "tls.sh: callgrind_control failed for $tgt" >&2; return 1; }
	case $kind in
	h1 | h2)
		[ "$kind" = h1 ] && extra=(--h1 -m1) || { extra=(-m10); port=$PORT_H2; }
		nsx timeout 900 taskset -c "$LG_CPU" h2load -c10 -t1 -n"$CG_REQ" "${extra[@]}" \
			-H ":authority: $HOST" "https://$ADDR:$port/" >"$out" 2>&1 || true
		read -r n r < <(awk '/^requests:/ { print $8, 0 }' "$out")
		;;
	*)
		nsx timeout 900 taskset -c "$LG_CPU" "$HS_BIN" -c 8 -d 880 -n "$CG_N" "${extra[@]}" -H "$HOST" \
			"$ADDR" "$port" >"$out" 2>&1 || true
		read -r n r < <(awk '/^conns / {print $2, $4}' "$out")
		;;
	esac
	callgrind_control -d "$SPID" >/dev/null 2>&1
	sleep 0.5
	f=$(ls -1v "$TMP/cg-$tgt.out".* 2>/dev/null | tail -1)
	ir=$(awk '/^(summary|totals):/ {print $2; exit}' "$f" 2>/dev/null)
	if [ -z "${n:-}" ] || [ "$n" = 0 ] || [ -z "$ir" ]; then
		echo "tls.sh: callgrind $tgt $kind: no result: $(tail -2 "$out")" >&2
		return 1
	fi
	printf '%s\t%s\t%s\t%s\t%s\n' "$tgt" "$kind" "$ir" "$n" "$r" >>"$CG"
	awk -v t="$tgt" -v k="$kind" -v i="$ir" -v n="$n" -v r="$r" 'BEGIN {
		u = (k == "h1" || k == "h2") ? "request" : "handshake"
		printf "  %-8s %-8s %d %ss (%d resumed): %.0f Ir -> %.0f instr/%s\n", t, k, n, u, r, i, i / n, u }'
}
if [ "$CALLGRIND" = 1 ]; then
	echo "== callgrind: $CG_N handshakes (8 in flight) or $CG_REQ requests (h1, h2) per load and target"
	for t in "${TLIST[@]}"; do
		ks=()
		for l in "${LLIST[@]}"; do
			case $l in
			h1) [ "$H2LOAD" = 1 ] || continue ;;
			h2) [ "$H2LOAD" = 1 ] && { [ "$t" != nginx ] || [ "$NGINX_H2" = 1 ]; } || continue ;;
			esac
			ks+=("$l")
		done
		[ ${#ks[@]} -gt 0 ] || continue
		target_start "$t" cg || continue
		for l in "${ks[@]}"; do cg_measure "$t" "$l" || true; done
		stop "$t"
	done
fi

# ---------------------------------------------------------------- summary
echo
echo "== summary: medians over $ROUNDS round(s) of ${DUR}s; rate [min..max]; units: handshakes (full-*, res-*) or requests (h1, h2)"
awk -F'\t' -v loads="$LOADS" -v targets="$TARGETS" -v cgfile="$CG" '
function med(k, col,   i, j, t, v, c) {
	c = cnt[k]
	for (i = 1; i <= c; i++) v[i] = val[k, i, col] + 0
	for (i = 1; i <= c; i++) for (j = i + 1; j <= c; j++) if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
	lo = v[1]; hi = v[c]
	return c % 2 ? v[(c + 1) / 2] : (v[c / 2] + v[c / 2 + 1]) / 2
}
function ratio(a, b) { return b > 0 ? sprintf("%.2f", a / b) : "n/a" }
FILENAME == cgfile { I[$1 SUBSEP $2] = $3 / $4; next }
{
	k = $2 SUBSEP $3
	c = ++cnt[k]
	for (f = 4; f <= 13; f++) val[k, c, f] = $f
	errs[k] += $9
}
END {
	nl = split(loads, L, ","); nt = split(targets, T, ",")
	printf "%-8s %-8s %9s %17s %10s %11s %10s %7s %7s %8s %9s %6s %7s %7s\n", "load", "target", "rate/s", "[min..max]",
		"CPU us/u", "core us/u", "instr/u", "p50 us", "p99 us", "resumed", "tickets/c", "errors", "others%", "lg-core%"
	for (i = 1; i <= nl; i++) for (j = 1; j <= nt; j++) {
		k = T[j] SUBSEP L[i]
		if (!(k in cnt)) {
			continue
		}
		R[k] = med(k, 4); l = lo; h = hi; C[k] = med(k, 7)
		printf "%-8s %-8s %9.0f %17s %10.2f %11.2f %10s %7.0f %7.0f %7.1f%% %9.2f %6d %7.0f %7.0f\n", L[i], T[j], R[k],
			l ".." h, C[k], med(k, 8), (k in I) ? sprintf("%.0f", I[k]) : "-", med(k, 5), med(k, 6), med(k, 10),
			med(k, 13), errs[k], med(k, 11), med(k, 12)
	}
	print ""
	for (i = 1; i <= nl; i++) {
		x = "xgw" SUBSEP L[i]
		if (!(x in R)) continue
		for (j = 1; j <= 2; j++) {
			p = j == 1 ? "nginx" : "haproxy"
			k = p SUBSEP L[i]
			if (!(k in R)) continue
			rr = R[k] > 0 ? R[x] / R[k] : 0; cr = C[x] > 0 ? C[k] / C[x] : 0
			printf "ratio xgw/%-7s %-8s rate %s  per-CPU-s %s  per-instr %s  (target 1.2 rate/per-CPU-s: %s)\n", p, L[i],
				ratio(R[x], R[k]), ratio(C[k], C[x]), ((x in I) && (k in I)) ? ratio(I[k], I[x]) : "n/a",
				(rr >= 1.2 ? "met" : "MISSED") "/" (cr >= 1.2 ? "met" : "MISSED")
		}
	}
	printf "(rate, per-CPU-s, per-instr: xgw over peer, higher is better; per-CPU-s = units per CPU-second of the serving\n"
	printf " process; per-instr = peer instructions per unit / xgw instructions per unit, user space, under callgrind;\n"
	printf " when lg-core%% is near 100 the load generator, not the proxy, limits the rate: compare per-CPU-s)\n"
}' "$CG" "$RES"
