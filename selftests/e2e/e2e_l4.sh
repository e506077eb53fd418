#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# The worker's L4 path without agent or BPF: worker-launch --l4 plays the
# agent with a snapshot of TCP, TLS and UDP listeners (see its header), in a
# network namespace whose lo carries the Gateway addresses 10.0.0.1-6 and
# fd00::1-2; xgw-echo --mode tcp/udp/dns are the backends, l4_client.py and
# openssl s_client the clients. Checks: TCP weights 3:1, half-close, reset
# without backend or endpoint, failover from a refused endpoint; TLS
# passthrough by exact, wildcard and catch-all server name (the backend saw
# the name), a name without a route reset, a ClientHello split over records
# and writes, a garbage hello; TLS terminate to a plain backend; UDP replies
# from the Gateway address and port, several clients, idle expiry, the
# session cap; IPv4 and IPv6. Prints TAP.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
BUILD=${XGW_BUILD:?XGW_BUILD must name the build directory}
SRC=${XGW_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
WORKER=$BUILD/user/xgw-worker
ECHO=$BUILD/tools/xgw-echo
LAUNCH=$BUILD/selftests/worker-launch
CLIENT=$SRC/selftests/e2e/l4_client.py
NS=xgw-l4w-$$
TMP=$(mktemp -d /tmp/xgw-e2e-l4.XXXXXX)
E2E_PATHS+=("$TMP")
LAUNCH_PID=""

expect() { # name, want, got
	if [ "$3" = "$2" ]; then ok "$1"; else not_ok "$1" "want: $2" "got: $3"; fi
}
expect_match() { # name, regex, got
	if [[ $3 =~ $2 ]]; then ok "$1"; else not_ok "$1" "want match: $2" "got: ${3:0:300}"; fi
}

l4_cleanup() {
	[ -n "$LAUNCH_PID" ] && exec {L_IN}>&- 2>/dev/null
	e2e_cleanup
}
e2e_begin 35
trap l4_cleanup EXIT
if [ "$(id -u)" != 0 ]; then
	for i in $(seq 35); do echo "ok $i # SKIP needs root (network namespace)"; done
	exit 0
fi
for f in "$WORKER" "$ECHO" "$LAUNCH"; do
	[ -x "$f" ] || { echo "Bail out! $f not built"; exit 1; }
done
command -v python3 >/dev/null && command -v openssl >/dev/null ||
	{ echo "Bail out! python3 and openssl needed"; exit 1; }

ip netns add "$NS" || { echo "Bail out! ip netns add"; exit 1; }
E2E_NETNS+=("$NS")
IN=(nsenter --net=/run/netns/"$NS")
"${IN[@]}" ip link set lo up
for a in 1 2 3 4 5 6; do "${IN[@]}" ip addr add 10.0.0.$a/32 dev lo; done
for a in 1 2; do "${IN[@]}" ip addr add fd00::$a/128 dev lo nodad; done
cl() { timeout 20 "${IN[@]}" python3 "$CLIENT" "$@"; }

# --- certificates: the backends' (any name) and the gateway's term.test ----
for c in backend term.test; do
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
		-subj "/CN=$c" -addext "subjectAltName=DNS:$c" \
		-keyout "$TMP/$c.key" -out "$TMP/$c.crt" 2>/dev/null ||
		{ echo "Bail out! openssl req"; exit 1; }
done

# --- backends, on 127.0.0.1 inside the namespace ---------------------------
"${IN[@]}" "$ECHO" --mode tcp --listen 127.0.0.1:3001 --name tcp-a-1-1 --namespace l4 --quiet \
	2>"$TMP/tcp-a.log" &
PIDS+=($!)
"${IN[@]}" "$ECHO" --mode tcp --listen 127.0.0.1:3002 --name tcp-b-1-1 --namespace l4 --quiet \
	2>"$TMP/tcp-b.log" &
PIDS+=($!)
for i in 1 2 3; do
	name=(tls-exact tls-wild tls-any)
	"${IN[@]}" "$ECHO" --mode tcp --tls-listen 127.0.0.1:844$i --cert "$TMP/backend.crt" \
		--key "$TMP/backend.key" --name "${name[$((i - 1))]}-1-1" --quiet \
		2>"$TMP/tls-$i.log" &
	PIDS+=($!)
done
"${IN[@]}" "$ECHO" --mode udp --listen 127.0.0.1:8080 --name udp-1-1 --quiet 2>"$TMP/udp.log" &
PIDS+=($!)
"${IN[@]}" "$ECHO" --mode dns --listen 127.0.0.1:5353 --dns-a 10.9.8.7 --quiet 2>"$TMP/dns.log" &
PIDS+=($!)
up() { "${IN[@]}" bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null; }
for p in 3001 3002 8441 8442 8443; do
	wait_for 50 up $p || { echo "Bail out! backend on port $p did not start"; exit 1; }
done

# --- the worker, driven through worker-launch on a pipe pair ---------------
mkfifo "$TMP/in" "$TMP/out"
"${IN[@]}" "$LAUNCH" --worker "$WORKER" --l4 --tcp-up 3001,3002 --tls-up 8441,8442,8443 \
	--udp-up 8080 --cert "$TMP/term.test.crt" --key "$TMP/term.test.key" \
	--worker-arg=--udp-idle-timeout-ms=1500 --worker-arg=--udp-max-sessions=25 \
	--log-level debug \
	<"$TMP/in" >"$TMP/out" 2>"$TMP/worker.log" &
LAUNCH_PID=$!
PIDS+=($LAUNCH_PID)
exec {L_IN}>"$TMP/in" {L_OUT}<"$TMP/out"
cmd() { # one command, one answer line (10 s at most)
	local line
	echo "$*" >&"$L_IN"
	IFS= read -r -t 10 line <&"$L_OUT" || line="(no answer)"
	echo "$line"
}
read -r -t 10 PORTLINE <&"$L_OUT"
read -r -t 10 _PIDLINE <&"$L_OUT"
P=${PORTLINE#port }
[[ $P =~ ^[0-9]+$ ]] || { echo "Bail out! worker-launch: $PORTLINE"; exit 1; }
expect "snapshot of L4 listeners accepted" "ack 1 0" "$(cmd snap 1 0)"
stat() { cmd stats | sed -n "s/.* $1 \([0-9]*\).*/\1/p"; }

# --- TCP -----------------------------------------------------------------
W='Gateway API Test TCP Server'
expect "TCP: echo through the proxy (IPv4)" "$W|PONG|false|hello|" \
	"$(cl tcp 10.0.0.1 "$P" PING IS_TLS hello)"
expect "TCP: echo through the proxy (IPv6)" "$W|PONG|" "$(cl tcp fd00::1 "$P" PING)"
expect "TCP: weights 3:1 over 40 connections" "tcp-a-1-1=30 tcp-b-1-1=10" \
	"$(cl weights 10.0.0.1 "$P" 40)"
expect "TCP: the client's FIN reaches the backend, its answer and FIN come back" \
	"$W|PONG|" "$(cl halfclose 10.0.0.1 "$P")"
expect "TCP: 3 MB each way through bounded buffers" "$((3000000 + ${#W} + 2))" \
	"$(cl big 10.0.0.1 "$P" 3000000)"
expect "TCP: a rule without backends resets" "reset" "$(cl refused 10.0.0.3 "$P")"
expect "TCP: a Service without endpoints resets" "reset" "$(cl refused 10.0.0.5 "$P")"
out=""
for _ in 1 2 3 4; do out+="$(cl tcp 10.0.0.4 "$P" PING) "; done
expect "TCP: a refused endpoint is skipped for the next one" \
	"$W|PONG| $W|PONG| $W|PONG| $W|PONG| " "$out"
expect_match "TCP: connections counted (l4_conns)" '^[1-9][0-9]+$' "$(stat l4_conns)"

# --- TLS passthrough -----------------------------------------------------
expect "TLS passthrough: exact name (IPv4)" "tls-exact-1-1 exact.test true -" \
	"$(cl tls 10.0.0.2 "$P" exact.test)"
expect "TLS passthrough: exact name (IPv6)" "tls-exact-1-1 exact.test true -" \
	"$(cl tls fd00::2 "$P" exact.test)"
expect "TLS passthrough: server name case-insensitive" "tls-exact-1-1 exact.test true -" \
	"$(cl tls 10.0.0.2 "$P" EXACT.test | sed 's/EXACT/exact/')"
expect "TLS passthrough: wildcard" "tls-wild-1-1 a.b.wild.test true -" \
	"$(cl tls 10.0.0.2 "$P" a.b.wild.test)"
expect "TLS passthrough: the bare wildcard suffix is not the wildcard's" \
	"tls-any-1-1 wild.test true -" "$(cl tls 10.0.0.2 "$P" wild.test)"
expect "TLS passthrough: another name -> the catch-all vhost" "tls-any-1-1 other.test true -" \
	"$(cl tls 10.0.0.2 "$P" other.test)"
expect "TLS passthrough: no server name -> the catch-all vhost" "tls-any-1-1 - true -" \
	"$(cl tls 10.0.0.2 "$P" -)"
expect "TLS passthrough: ClientHello in two records and two writes" \
	"tls-exact-1-1 exact.test true -" "$(cl split 10.0.0.2 "$P" exact.test)"
got=$( (printf 'TEST\n'; sleep 1) | timeout 10 "${IN[@]}" openssl s_client -quiet -no_ign_eof \
	-connect "10.0.0.2:$P" -servername x.wild.test 2>/dev/null | grep -o '"serverName":"[^"]*"')
expect "TLS passthrough: openssl s_client -servername reaches the wildcard's backend" \
	'"serverName":"x.wild.test"' "$got"
expect "TLS passthrough: a name without a route is reset" "reset" \
	"$(cl tls 10.0.0.6 "$P" other.test | sed -n 's/^error ConnectionResetError.*/reset/p')"
expect "TLS passthrough: the listener's one name still passes" "tls-exact-1-1 exact.test true -" \
	"$(cl tls 10.0.0.6 "$P" exact.test)"
bad0=$(stat bad_requests)
expect "TLS: a garbage hello is closed" "closed" "$(cl garbage 10.0.0.2 "$P")"
expect "TLS: the garbage hello is counted (bad_requests)" "$((bad0 + 1))" "$(stat bad_requests)"

# --- TLS terminate -------------------------------------------------------
expect "TLS terminate: plaintext to the plain backend, gateway's certificate" \
	"tcp-a-1-1 - false term.test" "$(cl tls 10.0.0.2 "$P" term.test)"
expect "TLS terminate: IPv6" "tcp-a-1-1 - false term.test" "$(cl tls fd00::2 "$P" term.test)"

# --- UDP -----------------------------------------------------------------
expect "UDP: reply from the gateway address and port (IPv4)" "10.0.0.1 $P udp-1-1" \
	"$(cl udp-src 10.0.0.1 "$P")"
expect "UDP: reply from the gateway address and port (IPv6)" "fd00::1 $P udp-1-1" \
	"$(cl udp-src fd00::1 "$P")"
expect "UDP: 20 clients each get their own answer" "ok 20" "$(cl udp 10.0.0.1 "$P" 20)"
s0=$(stat udp_sessions)
expect_match "UDP: sessions counted" '^[0-9]+$' "$s0"
sleep 2
cl udp 10.0.0.1 "$P" 1 >/dev/null
cl udp 10.0.0.1 "$P" 1 >/dev/null
expect "UDP: idle sessions expired; new clients, new sessions" "$((s0 + 2))" \
	"$(stat udp_sessions)"
sleep 2
e0=$(stat upstream_errors)
expect "UDP: 30 new clients, a table of 25: 25 answered" "answered 25" \
	"$(cl udp-cap 10.0.0.1 "$P" 30)"
expect "UDP: the 5 turned away are counted (upstream_errors)" "$((e0 + 5))" \
	"$(stat upstream_errors)"
expect "UDP: TCP listener on the same port unaffected" "$W|PONG|" \
	"$(cl tcp 10.0.0.1 "$P" PING)"

# --- the DNS backend itself ----------------------------------------------
expect "xgw-echo --mode dns: A answer, malformed query ignored" \
	"id=1234 qr=1 rcode=0 an=1 a=10.9.8.7 malformed=ignored" "$(cl dns 127.0.0.1 5353)"

expect "drain: the worker exits" "exit 0" "$( (cmd drain >/dev/null; cmd wait 40))"
[ "$failed" = 0 ] || { echo "# worker log:"; tail -n 30 "$TMP/worker.log" | sed 's/^/#   /'; }
exit $((failed > 0))
