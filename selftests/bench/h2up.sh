#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# h2up.sh: HTTP/2 to backends (user/h2up.c) against HAProxy.
#
#   h2load -> { xgw-worker, haproxy } -> xgw-echo --h2c-port (JSON echo, h2c)
#
# xgw is the worker alone, as e2e_h2up.sh runs it: worker-launch plays the
# agent and hands it a snapshot whose cluster "h2c.test" is H2C (no agent, no
# BPF: the L7 data path only). HAProxy (nbthread 1) has `proto h2` on its
# server line and takes h2c with prior knowledge on its bind line (`proto h2`),
# HTTP/1.1 on a second one. The proxy runs alone on the proxy core (default 0);
# h2load and the echo share the other (default 1). Each round loads the echo
# directly (h2c only: its port refuses HTTP/1.1), then each proxy, with
# h2load over h2c (C connections, M streams each) and over HTTP/1.1 (C
# connections); the figures are medians over the rounds. Prints req/s per
# target and client protocol, the serving process's CPU time per request
# (utime + stime from /proc/PID/stat over the run), the echo's (which shares
# the load generator's core: what a proxy's writes cost that core), and
# xgw / haproxy for both. With --callgrind N, the worker and HAProxy then run again under
# valgrind --tool=callgrind for N requests of each client protocol: user-space
# instructions per request, a figure the other processes of the machine do
# not move. With --strace N, both run again under strace for N requests of
# each client protocol: system calls per request, the writes among them
# (write, writev, send, sendto, sendmsg) and their mean size in bytes.
#
# Loopback only; every process is stopped by its own PID and the temporary
# files removed on exit. Not part of the test suite: it wants both cores.
#
# Usage: selftests/bench/h2up.sh [-d SECONDS] [-r ROUNDS] [-c CONNS] [-m STREAMS]
#                                [--proxy-cpu N] [--lg-cpu N] [--callgrind N] [--strace N]
#                                [--forwarded] [-o DIR]
# xgw adds Forwarded, X-Forwarded-For, -Host and -Proto to each request; HAProxy
# adds none unless told: --forwarded makes it add the same four, so that the
# echo parses and answers the same request behind both (its JSON answer
# lists the headers: 439 bytes instead of 243).
# -o DIR keeps the configuration, logs and callgrind files there.
set -euo pipefail
SRC=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${XGW_BUILD:-$SRC/build}
DUR=5 ROUNDS=3 CONNS=16 STREAMS=32 PCPU=0 LCPU=1 CG_N=0 ST_N=0 FWD="" KEEP=""
while [ $# -gt 0 ]; do
	case $1 in
	-d) DUR=$2; shift 2 ;;
	-r) ROUNDS=$2; shift 2 ;;
	-c) CONNS=$2; shift 2 ;;
	-m) STREAMS=$2; shift 2 ;;
	--proxy-cpu) PCPU=$2; shift 2 ;;
	--lg-cpu) LCPU=$2; shift 2 ;;
	--callgrind) CG_N=$2; shift 2 ;;
	--strace) ST_N=$2; shift 2 ;;
	--forwarded) FWD=1; shift ;;
	-o) KEEP=$2; shift 2 ;;
	*) echo "usage: $0 [-d S] [-r N] [-c CONNS] [-m STREAMS] [--proxy-cpu N] [--lg-cpu N] [--callgrind N] [--strace N] [--forwarded] [-o DIR]" >&2
	   exit 2 ;;
	esac
done
[[ $DUR =~ ^[0-9]+$ && $DUR -ge 1 && $DUR -le 120 ]] || { echo "-d: 1..120" >&2; exit 2; }
[[ $ROUNDS =~ ^[0-9]+$ && $ROUNDS -ge 1 && $ROUNDS -le 20 ]] || { echo "-r: 1..20" >&2; exit 2; }
[[ $CG_N =~ ^[0-9]+$ && $CG_N -le 1000000 ]] || { echo "--callgrind: 0..1000000" >&2; exit 2; }
[[ $ST_N =~ ^[0-9]+$ && $ST_N -le 1000000 ]] || { echo "--strace: 0..1000000" >&2; exit 2; }
if [ "$ST_N" -gt 0 ] && ! command -v strace >/dev/null; then
	echo "strace missing (apt-get install strace)" >&2
	exit 1
fi
if [ "$CG_N" -gt 0 ] && ! command -v callgrind_control >/dev/null; then
	echo "valgrind missing (apt-get install valgrind)" >&2
	exit 1
fi
for t in h2load haproxy taskset; do
	command -v $t >/dev/null || { echo "$t missing (apt-get install nghttp2-client haproxy)" >&2; exit 1; }
done
for f in user/xgw-worker tools/xgw-echo selftests/worker-launch; do
	[ -x "$BUILD/$f" ] || { echo "$BUILD/$f not built" >&2; exit 1; }
done

TMP=$(mktemp -d /tmp/xgw-bench-h2up.XXXXXX)
declare -A PID=()
L_IN=""
cleanup() {
	local n p
	[ -n "$L_IN" ] && exec {L_IN}>&-
	for n in "${!PID[@]}"; do kill -TERM "${PID[$n]}" 2>/dev/null || true; done
	for n in "${!PID[@]}"; do
		p=${PID[$n]}
		for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	if [ -n "$KEEP" ]; then mkdir -p "$KEEP" && cp -r "$TMP"/. "$KEEP"/; fi
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() { # a port nothing listens on (bounded tries)
	local p
	for _ in $(seq 20); do
		p=$((20000 + RANDOM % 20000))
		(exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return 0; }
	done
	return 1
}
up() { # port: wait until it accepts (5 s at most)
	for _ in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done
	return 1
}

ECHO_PORT=$(free_port)
taskset -c "$LCPU" "$BUILD/tools/xgw-echo" --listen "127.0.0.1:$ECHO_PORT" --h2c-port "$ECHO_PORT" \
	--mode json --quiet >"$TMP/echo.log" 2>&1 &
PID[echo]=$!
up "$ECHO_PORT" || { echo "xgw-echo did not start" >&2; exit 1; }

# start_xgw [WRAPPER]: worker-launch and its worker (under WRAPPER if given);
# sets XGW_PORT and PID[worker], waits until the snapshot is taken.
start_xgw() {
	local w=$BUILD/user/xgw-worker
	[ -n "${1:-}" ] && w=$1
	rm -f "$TMP/ctl" "$TMP/launch.out"
	mkfifo "$TMP/ctl"
	taskset -c "$PCPU" "$BUILD/selftests/worker-launch" --worker "$w" \
		--upstream "$ECHO_PORT" --h2c "$ECHO_PORT" --log-level warn <"$TMP/ctl" >"$TMP/launch.out" \
		2>"$TMP/worker.log" &
	PID[xgw]=$!
	exec {L_IN}>"$TMP/ctl"
	for _ in $(seq 300); do grep -q '^pid' "$TMP/launch.out" && break; sleep 0.1; done
	XGW_PORT=$(awk '/^port/ {print $2}' "$TMP/launch.out")
	# stopped by its PID too: worker-launch stops it only on its stdin's EOF
	PID[worker]=$(awk '/^pid/ {print $2}' "$TMP/launch.out")
	echo "snap 1 0" >&"$L_IN"
	for _ in $(seq 300); do grep -q '^ack 1 0' "$TMP/launch.out" && break; sleep 0.1; done
	grep -q '^ack 1 0' "$TMP/launch.out" || { echo "worker did not take the snapshot" >&2; exit 1; }
}
# stop_proc NAME: TERM, wait (10 s), KILL
stop_proc() {
	local p=${PID[$1]:-}
	[ -n "$p" ] || return 0
	kill -TERM "$p" 2>/dev/null || true
	for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
	kill -KILL "$p" 2>/dev/null || true
	wait "$p" 2>/dev/null || true
	unset "PID[$1]"
}
stop_xgw() {
	[ -n "$L_IN" ] && exec {L_IN}>&-
	L_IN=""
	stop_proc worker
	stop_proc xgw
}
start_xgw

HA_H2=$(free_port)
HA_H1=$(free_port)
cat >"$TMP/haproxy.cfg" <<EOF
global
	nbthread 1
	maxconn 8000
defaults
	mode http
	timeout connect 5s
	timeout client 60s
	timeout server 60s
	http-reuse always
frontend fe
	bind 127.0.0.1:$HA_H2 proto h2
	bind 127.0.0.1:$HA_H1
	default_backend be
backend be
	server echo 127.0.0.1:$ECHO_PORT proto h2
EOF
if [ -n "$FWD" ]; then
	cat >>"$TMP/haproxy.cfg" <<'EOF'
	option forwardfor
	http-request set-header Forwarded "for=%[src];proto=http;host=\"%[req.hdr(host)]\""
	http-request set-header X-Forwarded-Host %[req.hdr(host)]
	http-request set-header X-Forwarded-Proto http
EOF
fi
start_haproxy() { # [WRAPPER...]
	taskset -c "$PCPU" "$@" haproxy -f "$TMP/haproxy.cfg" -db >"$TMP/haproxy.log" 2>&1 &
	PID[haproxy]=$!
	for _ in $(seq 30); do up "$HA_H2" && return 0; done
	echo "haproxy did not start:" >&2
	cat "$TMP/haproxy.log" >&2
	exit 1
}
start_haproxy

# req/s counts the responses done. Not "succeeded": h2load's HTTP/1.1 parser
# counts HAProxy's status lines without a reason phrase (from an HTTP/2
# backend) as failures. A run with no response done, or with errors, is ERR.
ticks() { # utime + stime of PID, in clock ticks
	awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0
}
HZ=$(getconf CLK_TCK)
# run proto(h2|h1) port [pid]: "req/s cpu-us-per-request echo-cpu-us-per-request"
# (cpu 0 without pid)
run() {
	local args=(-D "$DUR" -c "$CONNS" -H ':authority: h2c.test') t0=0 t1=0 e0 e1 out
	if [ "$1" = h2 ]; then args+=(-m "$STREAMS"); else args+=(--h1); fi
	[ -n "${3:-}" ] && t0=$(ticks "$3")
	e0=$(ticks "${PID[echo]}")
	out=$(taskset -c "$LCPU" h2load "${args[@]}" "http://127.0.0.1:$2/bench" 2>&1 || true)
	[ -n "${3:-}" ] && t1=$(ticks "$3")
	e1=$(ticks "${PID[echo]}")
	awk -v dt=$((t1 - t0)) -v de=$((e1 - e0)) -v hz="$HZ" '/^finished in/ {gsub(",", "", $4); rate = int($4)}
		/^requests:/ {done = $6; if ($6 + 0 == 0 || $12 + 0 > 0) bad = 1}
		END {if (bad) print "ERR"; else printf "%d %.2f %.2f\n", rate, done ? dt * 1e6 / hz / done : 0,
			done ? de * 1e6 / hz / done : 0}' <<<"$out"
}

declare -A R=() CPU=() ECPU=()
for round in $(seq "$ROUNDS"); do
	for proto in h2 h1; do
		# the echo's h2c port answers HTTP/1.1 with 400: direct is h2c only
		if [ "$proto" = h2 ]; then
			read -r r c e < <(run "$proto" "$ECHO_PORT")
			R[direct-$proto]+="$r"$'\n' ECPU[direct-$proto]+="${e:-}"$'\n'
		fi
		read -r r c e < <(run "$proto" "$XGW_PORT" "${PID[worker]}")
		R[xgw-$proto]+="$r"$'\n' CPU[xgw-$proto]+="${c:-}"$'\n' ECPU[xgw-$proto]+="${e:-}"$'\n'
		if [ "$proto" = h2 ]; then port=$HA_H2; else port=$HA_H1; fi
		read -r r c e < <(run "$proto" "$port" "${PID[haproxy]}")
		R[haproxy-$proto]+="$r"$'\n' CPU[haproxy-$proto]+="${c:-}"$'\n'
		ECPU[haproxy-$proto]+="${e:-}"$'\n'
	done
	echo "round $round done" >&2
done
median() { grep -v '^ *$' | grep -v ERR | sort -g | awk '{a[NR] = $1} END {print NR ? a[int((NR + 1) / 2)] : 0}'; }

# strace: system calls and writes per request, N requests per client protocol
declare -A SC=()
st_run() { # target pid port proto
	local out n a sp
	if [ "$4" = h2 ]; then a=(-m "$STREAMS"); else a=(--h1); fi
	strace -f -qq -s 0 -o "$TMP/st-$1-$4" -p "$2" &
	sp=$!
	sleep 1 # attached
	out=$(taskset -c "$LCPU" h2load -n "$ST_N" -c "$CONNS" "${a[@]}" -H ':authority: h2c.test' \
		"http://127.0.0.1:$3/bench" 2>&1 || true)
	kill -INT "$sp" 2>/dev/null || true
	wait "$sp" 2>/dev/null || true
	n=$(awk '/^requests:/ {print $6}' <<<"$out")
	[ -n "$n" ] && [ "$n" -gt 0 ] || { echo "strace $1 $4: no result" >&2; return 1; }
	SC[$1-$4]=$(awk -v n="$n" '{
		if ($1 ~ /^[0-9]+$/) sub(/^[0-9]+ +/, "")
		if (!match($0, /^[a-z0-9_]+\(/)) next
		calls++
		name = substr($0, 1, RLENGTH - 1)
		if (name !~ /^(write|writev|send|sendto|sendmsg)$/) next
		writes++
		r = $0; sub(/.* = /, "", r)
		if (r + 0 > 0) bytes += r
	} END {printf "%.2f %.2f %.0f", calls / n, writes / n, writes ? bytes / writes : 0}' "$TMP/st-$1-$4")
	echo "  strace $1 $4: $n requests; per request: syscalls, writes, bytes/write: ${SC[$1-$4]}" >&2
}
if [ "$ST_N" -gt 0 ]; then
	for proto in h2 h1; do
		st_run xgw "${PID[worker]}" "$XGW_PORT" "$proto" || true
		if [ "$proto" = h2 ]; then port=$HA_H2; else port=$HA_H1; fi
		st_run haproxy "${PID[haproxy]}" "$port" "$proto" || true
	done
fi

# callgrind: instructions per request, N requests per client protocol
declare -A IR=()
cg_run() { # target pid port proto
	local out n ir f
	callgrind_control -z "$2" >/dev/null 2>&1 || { echo "callgrind_control failed for $1" >&2; return 1; }
	if [ "$4" = h2 ]; then a=(-m "$STREAMS"); else a=(--h1); fi
	out=$(taskset -c "$LCPU" h2load -n "$CG_N" -c "$CONNS" "${a[@]}" -H ':authority: h2c.test' \
		"http://127.0.0.1:$3/bench" 2>&1 || true)
	callgrind_control -d "$2" >/dev/null 2>&1
	sleep 0.5
	n=$(awk '/^requests:/ {print $6}' <<<"$out")
	f=$(ls -1v "$TMP/cg-$1.out".* 2>/dev/null | tail -1)
	ir=$(awk '/^(summary|totals):/ {print $2; exit}' "$f" 2>/dev/null)
	[ -n "$n" ] && [ "$n" -gt 0 ] && [ -n "$ir" ] || { echo "callgrind $1 $4: no result" >&2; return 1; }
	IR[$1-$4]=$(awk -v i="$ir" -v n="$n" 'BEGIN {printf "%.0f", i / n}')
	echo "  callgrind $1 $4: $n requests, ${IR[$1-$4]} instructions each" >&2
}
if [ "$CG_N" -gt 0 ]; then
	VG="valgrind --tool=callgrind --vgdb=yes --compress-strings=no --compress-pos=no"
	stop_xgw
	printf '#!/bin/sh\nexec %s --callgrind-out-file=%s %s "$@"\n' "$VG" "$TMP/cg-xgw.out" \
		"$BUILD/user/xgw-worker" >"$TMP/worker-cg.sh"
	chmod 755 "$TMP/worker-cg.sh"
	start_xgw "$TMP/worker-cg.sh"
	for proto in h2 h1; do cg_run xgw "${PID[worker]}" "$XGW_PORT" "$proto" || true; done
	stop_xgw
	stop_proc haproxy
	# shellcheck disable=SC2086
	start_haproxy $VG --callgrind-out-file="$TMP/cg-haproxy.out"
	cg_run haproxy "${PID[haproxy]}" "$HA_H2" h2 || true
	cg_run haproxy "${PID[haproxy]}" "$HA_H1" h1 || true
fi

echo "h2load -> proxy -> xgw-echo (h2c); ${DUR}s x $ROUNDS rounds, $CONNS connections" \
	"($STREAMS streams each over h2c), proxy on cpu $PCPU, load on cpu $LCPU"
printf "%-10s %-8s %10s %11s %12s %10s %24s\n" target client req/s "CPU us/req" "echo us/req" \
	"instr/req" "syscalls writes B/write"
for proto in h2 h1; do
	for t in direct xgw haproxy; do
		[ -n "${R[$t-$proto]:-}" ] || continue
		[[ ${R[$t-$proto]} == *ERR* ]] && echo "$t $proto: a run had errors" >&2
		printf "%-10s %-8s %10s %11s %12s %10s %24s\n" "$t" "$proto" "$(median <<<"${R[$t-$proto]}")" \
			"$([ -n "${CPU[$t-$proto]:-}" ] && median <<<"${CPU[$t-$proto]}" || echo -)" \
			"$(median <<<"${ECPU[$t-$proto]}")" "${IR[$t-$proto]:--}" "${SC[$t-$proto]:--}"
	done
	x=$(median <<<"${R[xgw-$proto]}") h=$(median <<<"${R[haproxy-$proto]}")
	xc=$(median <<<"${CPU[xgw-$proto]}") hc=$(median <<<"${CPU[haproxy-$proto]}")
	awk -v x="$x" -v h="$h" -v xc="$xc" -v hc="$hc" -v xi="${IR[xgw-$proto]:-0}" -v hi="${IR[haproxy-$proto]:-0}" \
		-v p="$proto" 'BEGIN {
		rate = h ? x / h : 0; cpu = (xc > 0) ? hc / xc : 0
		ins = (xi > 0 && hi > 0) ? sprintf("%.2f", hi / xi) : "n/a"
		printf "xgw / haproxy (%s client): rate %.2f, per CPU-second %.2f, per instruction %s\n", p, rate, cpu, ins }'
done
