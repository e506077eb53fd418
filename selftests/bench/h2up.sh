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
# connections); the figures are medians over the rounds. Prints req/s per target and client protocol, and xgw / haproxy.
#
# Loopback only; every process is stopped by its own PID and the temporary
# files removed on exit. Not part of the test suite: it wants both cores.
#
# Usage: selftests/bench/h2up.sh [-d SECONDS] [-r ROUNDS] [-c CONNS] [-m STREAMS]
#                                [--proxy-cpu N] [--lg-cpu N]
set -euo pipefail
SRC=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${XGW_BUILD:-$SRC/build}
DUR=5 ROUNDS=3 CONNS=16 STREAMS=32 PCPU=0 LCPU=1
while [ $# -gt 0 ]; do
	case $1 in
	-d) DUR=$2; shift 2 ;;
	-r) ROUNDS=$2; shift 2 ;;
	-c) CONNS=$2; shift 2 ;;
	-m) STREAMS=$2; shift 2 ;;
	--proxy-cpu) PCPU=$2; shift 2 ;;
	--lg-cpu) LCPU=$2; shift 2 ;;
	*) echo "usage: $0 [-d S] [-r N] [-c CONNS] [-m STREAMS] [--proxy-cpu N] [--lg-cpu N]" >&2
	   exit 2 ;;
	esac
done
[[ $DUR =~ ^[0-9]+$ && $DUR -ge 1 && $DUR -le 120 ]] || { echo "-d: 1..120" >&2; exit 2; }
[[ $ROUNDS =~ ^[0-9]+$ && $ROUNDS -ge 1 && $ROUNDS -le 20 ]] || { echo "-r: 1..20" >&2; exit 2; }
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
	[ -n "$L_IN" ] && exec {L_IN}>&- 2>/dev/null
	for n in "${!PID[@]}"; do kill -TERM "${PID[$n]}" 2>/dev/null || true; done
	for n in "${!PID[@]}"; do
		p=${PID[$n]}
		for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
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

mkfifo "$TMP/ctl"
taskset -c "$PCPU" "$BUILD/selftests/worker-launch" --worker "$BUILD/user/xgw-worker" \
	--upstream "$ECHO_PORT" --h2c "$ECHO_PORT" --log-level warn <"$TMP/ctl" >"$TMP/launch.out" \
	2>"$TMP/worker.log" &
PID[xgw]=$!
exec {L_IN}>"$TMP/ctl"
for _ in $(seq 50); do grep -q '^pid' "$TMP/launch.out" && break; sleep 0.1; done
XGW_PORT=$(awk '/^port/ {print $2}' "$TMP/launch.out")
# stopped by its PID too: worker-launch stops it only on its stdin's EOF
PID[worker]=$(awk '/^pid/ {print $2}' "$TMP/launch.out")
echo "snap 1 0" >&"$L_IN"
for _ in $(seq 50); do grep -q '^ack 1 0' "$TMP/launch.out" && break; sleep 0.1; done
grep -q '^ack 1 0' "$TMP/launch.out" || { echo "worker did not take the snapshot" >&2; exit 1; }

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
taskset -c "$PCPU" haproxy -f "$TMP/haproxy.cfg" -db >"$TMP/haproxy.log" 2>&1 &
PID[haproxy]=$!
up "$HA_H2" || { echo "haproxy did not start:" >&2; cat "$TMP/haproxy.log" >&2; exit 1; }

# req/s counts the responses done. Not "succeeded": h2load's HTTP/1.1 parser
# counts HAProxy's status lines without a reason phrase (from an HTTP/2
# backend) as failures. A run with no response done, or with errors, is ERR.
run() { # proto(h2|h1) port -> req/s
	local args=(-D "$DUR" -c "$CONNS" -H ':authority: h2c.test')
	if [ "$1" = h1 ]; then args+=(--h1); else args+=(-m "$STREAMS"); fi
	taskset -c "$LCPU" h2load "${args[@]}" "http://127.0.0.1:$2/bench" 2>&1 |
		awk '/^finished in/ {gsub(",", "", $4); print int($4)}
		     /^requests:/ {if ($6 + 0 == 0 || $12 + 0 > 0) bad = 1}
		     END {if (bad) print "ERR"}' | tr '\n' ' ' || true
}

declare -A R=()
for round in $(seq "$ROUNDS"); do
	for proto in h2 h1; do
		# the echo's h2c port answers HTTP/1.1 with 400: direct is h2c only
		[ "$proto" = h2 ] && R[direct-$proto]+="$(run "$proto" "$ECHO_PORT")"$'\n'
		R[xgw-$proto]+="$(run "$proto" "$XGW_PORT")"$'\n'
		if [ "$proto" = h2 ]; then port=$HA_H2; else port=$HA_H1; fi
		R[haproxy-$proto]+="$(run "$proto" "$port")"$'\n'
	done
	echo "round $round done" >&2
done
median() { sort -n | grep -v '^ *$' | awk '{a[NR] = $1} END {print NR ? a[int((NR + 1) / 2)] : 0}'; }

echo "h2load -> proxy -> xgw-echo (h2c); ${DUR}s x $ROUNDS rounds, $CONNS connections" \
	"($STREAMS streams each over h2c), proxy on cpu $PCPU, load on cpu $LCPU"
printf "%-10s %-8s %10s\n" target client req/s
for proto in h2 h1; do
	for t in direct xgw haproxy; do
		[ -n "${R[$t-$proto]:-}" ] || continue
		[[ ${R[$t-$proto]} == *ERR* ]] && echo "$t $proto: a run had errors" >&2
		printf "%-10s %-8s %10s\n" "$t" "$proto" "$(median <<<"${R[$t-$proto]//ERR/}")"
	done
	x=$(median <<<"${R[xgw-$proto]//ERR/}")
	h=$(median <<<"${R[haproxy-$proto]//ERR/}")
	awk -v x="$x" -v h="$h" -v p="$proto" 'BEGIN {printf "xgw / haproxy (%s client): %.2f\n", p, h ? x / h : 0}'
done
