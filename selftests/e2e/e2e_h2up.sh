#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# HTTP/2 to backends (user/h2up.c): the worker alone (worker-launch plays the
# agent with H2C clusters), xgw-echo --h2c-port as the h2c backend and
# xgw-echo --mode grpc as the gRPC one; clients are curl over HTTP/1.1 and
# with --http2-prior-knowledge, h2load and nghttp. Checks the echo's view
# (proto HTTP/2.0; an HTTP/2 request's Host standing in for a missing
# :authority), request bodies (Content-Length and chunked, from both
# client protocols) arriving intact, many concurrent streams sharing few
# upstream connections (counters) and their frames gathered into few
# writes (the kernel's count of data segments), gRPC trailers reaching HTTP/2 clients as a
# trailing HEADERS frame and HTTP/1.1 clients as chunked trailers, the
# gateway's own gRPC answers (no route: grpc-status 12 trailers-only; refused
# endpoint: 14), a backend dying before or after its response head (502, or
# an aborted response; the worker lives on), streams refused by GOAWAY (sent
# again on a new connection: a GET, and a POST whose body was whole in the
# buffer; a 3 MB one gets 502), and Upgrade to an h2c backend (502).
# Loopback only; every wait is bounded.
# Prints TAP.
set -uo pipefail
BUILD=${XGW_BUILD:?XGW_BUILD must name the build directory}
. "$(dirname "$0")/lib.sh"
WORKER=$BUILD/user/xgw-worker
ECHO=$BUILD/tools/xgw-echo
LAUNCH=$BUILD/selftests/worker-launch
TMP=$(mktemp -d /tmp/xgw-e2e-h2up.XXXXXX)
E2E_PATHS+=("$TMP")
SVC=/gateway_api_conformance.echo_basic.grpcecho.GrpcEcho

expect() { # name, want, got
	if [ "$3" = "$2" ]; then ok "$1"; else not_ok "$1" "want: $2" "got: ${3:0:300}"; fi
}
expect_match() { # name, regex, got
	if [[ $3 =~ $2 ]]; then ok "$1"; else not_ok "$1" "want match: $2" "got: ${3:0:400}"; fi
}

e2e_begin 39
for f in "$WORKER" "$ECHO" "$LAUNCH"; do
	[ -x "$f" ] || { echo "Bail out! $f not built"; exit 1; }
done
for c in curl h2load nghttp python3 ss; do
	command -v $c >/dev/null || { echo "Bail out! $c missing"; exit 1; }
done

# --- backends on free ports (bounded tries) ----------------------------------
start_echo() { # var-name, extra args...
	local var=$1 p pid; shift
	for _ in 1 2 3 4 5; do
		p=$((20000 + RANDOM % 20000))
		"$ECHO" --listen "127.0.0.1:$p" --name h2up-pod --namespace h2up-ns --quiet "${@/PORT/$p}" \
			2>>"$TMP/echo.log" &
		pid=$!
		if wait_for 20 bash -c "exec 3<>/dev/tcp/127.0.0.1/$p"; then
			PIDS+=("$pid")
			printf -v "$var" %s "$p"
			return 0
		fi
		kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
	done
	return 1
}
start_echo H2C_PORT --mode json --h2c-port PORT || { echo "Bail out! h2c echo did not start"; exit 1; }
start_echo GRPC_PORT --mode grpc || { echo "Bail out! grpc echo did not start"; exit 1; }

# --- the worker ----------------------------------------------------------------
# (its HTTP/1.1 "main" cluster is unused here: pointed at the gRPC echo, so that
# the h2c echo's endpoint pool is the h2c cluster's alone)
mkfifo "$TMP/ctl"
"$LAUNCH" --worker "$WORKER" --upstream "$GRPC_PORT" --h2c "$H2C_PORT" --grpc "$GRPC_PORT" \
	--log-level info <"$TMP/ctl" >"$TMP/launch.out" 2>"$TMP/worker.log" &
PIDS+=($!)
exec {L_IN}>"$TMP/ctl"
cmd() { # one command to worker-launch, its answer line
	local before
	before=$(wc -l <"$TMP/launch.out")
	echo "$1" >&"$L_IN"
	for _ in $(seq 50); do
		[ "$(wc -l <"$TMP/launch.out")" -gt "$before" ] && break
		sleep 0.1
	done
	tail -n 1 "$TMP/launch.out"
}
wait_for 50 grep -q '^pid' "$TMP/launch.out" || { echo "Bail out! worker-launch did not start"; exit 1; }
PORT=$(awk '/^port/ {print $2}' "$TMP/launch.out")
WPID=$(awk '/^pid/ {print $2}' "$TMP/launch.out")
# stopped by its PID too: worker-launch stops it only on its stdin's EOF
PIDS+=("$WPID")
expect "snapshot with H2C clusters accepted" "ack 1 0" "$(cmd 'snap 1 0')"
GW=http://127.0.0.1:$PORT
stat() { # counter name from the stats line
	cmd stats | tr ' ' '\n' | awk -v k="$1" 'f {print; exit} $0 == k {f = 1}'
}

# --- plain requests --------------------------------------------------------------
body=$(curl -s -m 5 -H 'Host: h2c.test' "$GW/h1?x=1")
expect_match "HTTP/1.1 client: the h2c backend saw HTTP/2" '"proto": "HTTP/2.0"' "$body"
expect_match "HTTP/1.1 client: :authority from Host, path as sent" \
	'"path": "/h1\?x=1",.*"host": "h2c.test"' "$(tr -d '\n' <<<"$body")"
body=$(curl -s -m 5 --http2-prior-knowledge -H 'Host: h2c.test' "$GW/h2")
expect_match "HTTP/2 client: the h2c backend saw HTTP/2" '"proto": "HTTP/2.0"' "$body"
expect_match "X-Forwarded-For added on the way" '"X-Forwarded-For"' "$body"
expect "HTTP/1.1 request to the h2c echo port itself: 400" 400 \
	"$(curl -s -m 5 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$H2C_PORT/")"
# An HTTP/2 request with Host and no :authority (curl always sends :authority):
# Host stands in for it (h2.c); method and path reach the backend as sent.
body=$(timeout 20 python3 - "$PORT" "$(dirname "$0")" <<'PY'
import sys
sys.path.insert(0, sys.argv[2])
from h2_abuse import DATA, END_HEADERS, END_STREAM, GOAWAY, HEADERS, RST_STREAM, SETTINGS
from h2_abuse import connect, frame, frames, literal
s = connect("127.0.0.1", int(sys.argv[1]))
s.sendall(frame(HEADERS, END_STREAM | END_HEADERS, 1,
                literal(b":method", b"DELETE") + literal(b":scheme", b"http") +
                literal(b":path", b"/noauth?q=1") + literal(b"host", b"h2c.test")))
body = b""
for typ, flags, sid, payload in frames(s, 1000):
    if typ == SETTINGS and not flags & 1:
        s.sendall(frame(SETTINGS, 1, 0))
    elif typ == DATA and sid == 1:
        body += payload
    if typ == GOAWAY or (sid == 1 and (typ == RST_STREAM or flags & END_STREAM)):
        break
print(body.decode(errors="replace"))
PY
)
expect_match "HTTP/2 client with Host and no :authority: routed by Host, method and path as sent" \
	'"path": "/noauth\?q=1",.*"host": "h2c.test",.*"method": "DELETE"' "$(tr -d '\n' <<<"$body")"

# --- request bodies ------------------------------------------------------------------
head -c 300001 /dev/urandom >"$TMP/body.bin"
want=$(python3 -c '
import sys
h = 0xcbf29ce484222325
for b in open(sys.argv[1], "rb").read():
    h = ((h ^ b) * 0x100000001b3) & 0xffffffffffffffff
print("%016x" % h)' "$TMP/body.bin")
body_check() { # name, curl args...
	local name=$1 hd; shift
	hd=$(curl -s -m 10 -D - -o /dev/null -H 'Host: h2c.test' "$@" "$GW/post" | tr -d '\r')
	expect_match "$name" "x-echo-body-bytes: 300001.*x-echo-body-fnv1a: $want" "$(tr '\n' ' ' <<<"$hd")"
}
body_check "POST with Content-Length arrives intact (HTTP/1.1 client)" --data-binary @"$TMP/body.bin"
body_check "POST chunked arrives intact (HTTP/1.1 client)" -H 'Transfer-Encoding: chunked' \
	--data-binary @"$TMP/body.bin"
body_check "POST arrives intact (HTTP/2 client)" --http2-prior-knowledge --data-binary @"$TMP/body.bin"
# the streams' windows (256 KiB) are smaller than these: flow control has to turn over
head -c 3000000 /dev/urandom >"$TMP/body.bin"
want=$(python3 -c '
import sys
h = 0xcbf29ce484222325
for b in open(sys.argv[1], "rb").read():
    h = ((h ^ b) * 0x100000001b3) & 0xffffffffffffffff
print("%016x" % h)' "$TMP/body.bin")
hd=$(curl -s -m 20 -D - -o /dev/null -H 'Host: h2c.test' --data-binary @"$TMP/body.bin" "$GW/post" | tr -d '\r')
expect_match "3 MB body arrives intact" "x-echo-body-bytes: 3000000.*x-echo-body-fnv1a: $want" \
	"$(tr '\n' ' ' <<<"$hd")"

# --- response bodies: more than a connection's window (16 MiB) in all -----------------
sum=0
for i in $(seq 12); do
	got=$(curl -s -m 10 -o /dev/null -w '%{size_download}' -H 'Host: h2c.test' "$GW/bytes/2000000")
	sum=$((sum + ${got:-0}))
done
expect "24 MB of responses in sequence" 24000000 "$sum"
# small responses, each whole before the exchange reads it: their bytes must
# return to the connection's window all the same
out=$(timeout 60 h2load -n 3000 -c 1 -m 4 -H ':authority: h2c.test' "$GW/bytes/8000" 2>&1)
expect_match "24 MB of small responses on one connection (its window turns over)" \
	'status codes: 3000 2xx' "$out"
got=$(curl -s -m 10 --http2-prior-knowledge -H 'Host: h2c.test' "$GW/bytes/5000000" | md5sum)
want=$(python3 -c 'import sys; sys.stdout.write("".join(chr(97 + i % 26) for i in range(5000000)))' | md5sum)
expect "a 5 MB response to an HTTP/2 client arrives intact" "$want" "$got"

# --- many streams, few connections ------------------------------------------------------
segs() { # data segments sent on the worker's connections to the h2c echo
	ss -tinH state established dst "127.0.0.1:$H2C_PORT" |
		grep -o 'data_segs_out:[0-9]*' | awk -F: '{n += $2} END {print n + 0}'
}
c0=$(stat h2up_conns)
s0=$(stat h2up_streams)
g0=$(segs)
out=$(timeout 60 h2load -n 4000 -c 2 -m 64 -H ':authority: h2c.test' "$GW/load" 2>&1)
expect_match "h2load: 4000 requests, all 2xx" 'status codes: 4000 2xx' "$out"
# a HEADERS frame a request: written one by one they take thousands of
# segments (about 1,300-2,900 here), gathered a few dozen
g1=$(segs)
if [ "$((g1 - g0))" -lt 400 ]; then
	ok "4000 requests' frames went to the backend gathered ($((g1 - g0)) segments)"
else
	not_ok "4000 requests' frames went to the backend gathered" "segments: $((g1 - g0))"
fi
out=$(timeout 60 h2load -n 1000 -c 20 --h1 -H ':authority: h2c.test' "$GW/load1" 2>&1)
expect_match "h2load over HTTP/1.1: 1000 requests, all 2xx" 'status codes: 1000 2xx' "$out"
c1=$(stat h2up_conns)
s1=$(stat h2up_streams)
expect "5000 upstream streams" 5000 "$((s1 - s0))"
if [ "$((c1 - c0))" -le 6 ]; then
	ok "they shared few upstream connections ($((c1 - c0)) new)"
else
	not_ok "they shared few upstream connections" "new connections: $((c1 - c0))"
fi

# --- gRPC ----------------------------------------------------------------------------------
printf '\0\0\0\0\0' >"$TMP/empty.grpc"
out=$(nghttp -v -t 10 -H ':authority: grpc.test' -H 'content-type: application/grpc' -H 'te: trailers' \
	-d "$TMP/empty.grpc" "$GW$SVC/Echo" 2>&1 | tr -d '\0')
expect_match "gRPC over HTTP/2: DATA then grpc-status 0 in a trailing HEADERS with END_STREAM" \
	'recv DATA frame.*grpc-status: 0.*recv HEADERS frame <length=[0-9]+, flags=0x05' \
	"$(tr '\n' ' ' <<<"$out")"
expect_match "the EchoResponse names the method" "$SVC/Echo" "$out"
out=$(curl -s --raw -m 5 -H 'Host: grpc.test' -H 'content-type: application/grpc' -H 'TE: trailers' \
	--data-binary @"$TMP/empty.grpc" "$GW$SVC/EchoTwo" | tr -d '\0\r')
expect_match "gRPC over HTTP/1.1: grpc-status 0 as a chunked trailer" $'\n0\ngrpc-status: 0' "$out"
out=$(nghttp -v -t 10 -H ':authority: grpc.test' -H 'content-type: application/grpc' \
	-d "$TMP/empty.grpc" "$GW$SVC/EchoThree" 2>&1 | tr -d '\0')
expect_match "backend's UNIMPLEMENTED (EchoThree) passes" 'grpc-status: 12' "$out"
out=$(nghttp -v -t 10 -H ':authority: grpc.test' -H 'content-type: application/grpc' \
	-d "$TMP/empty.grpc" "$GW/other.Service/Method" 2>&1 | tr -d '\0')
expect_match "no route: :status 200, grpc-status 12, one HEADERS frame with END_STREAM" \
	':status: 200.*content-type: application/grpc.*grpc-status: 12.*recv HEADERS frame <length=[0-9]+, flags=0x05' \
	"$(tr '\n' ' ' <<<"$out")"
out=$(nghttp -v -t 10 -H ':authority: h2cdead.test' -H 'content-type: application/grpc+proto' \
	-d "$TMP/empty.grpc" "$GW$SVC/Echo" 2>&1 | tr -d '\0')
expect_match "refused endpoint, gRPC client: grpc-status 14" 'grpc-status: 14' "$out"

# --- failures ------------------------------------------------------------------------------
expect "refused h2c endpoint: 502" 502 \
	"$(curl -s -m 5 -o /dev/null -w '%{http_code}' -H 'Host: h2cdead.test' "$GW/")"
expect "backend closes before answering: 502" 502 \
	"$(curl -s -m 5 -o /dev/null -w '%{http_code}' -H 'Host: h2c.test' "$GW/x?h2abort=before")"
curl -s -m 5 -o /dev/null -H 'Host: h2c.test' "$GW/x?h2abort=after"
expect "backend dies mid-body: HTTP/1.1 client sees a truncated response (curl 18)" 18 "$?"
curl -s -m 5 -o /dev/null --http2-prior-knowledge -H 'Host: h2c.test' "$GW/x?h2abort=after"
rc=$?
if [ "$rc" = 92 ] || [ "$rc" = 16 ] || [ "$rc" = 18 ]; then
	ok "backend dies mid-body: HTTP/2 client's stream is reset (curl $rc)"
else
	not_ok "backend dies mid-body: HTTP/2 client's stream is reset" "curl exit: $rc"
fi
# the echo answers ?h2goaway with GOAWAY below the stream (not on a connection's first)
curl -s -m 5 -o /dev/null -H 'Host: h2c.test' "$GW/warm"
expect "stream refused by GOAWAY: a GET goes again on a new connection" 200 \
	"$(curl -s -m 5 -o /dev/null -w '%{http_code}' -H 'Host: h2c.test' "$GW/g?h2goaway")"
# RFC 9113, 8.7: a refused stream was not processed, so a POST goes again too
hd=$(curl -s -m 5 -D - -o /dev/null -H 'Host: h2c.test' -d xyz "$GW/p?h2goaway" | tr -d '\r' | tr '\n' ' ')
expect_match "stream refused by GOAWAY: a POST goes again, body and all" \
	'^HTTP/1.1 200 .*x-echo-body-bytes: 3 ' "$hd"
expect "stream refused by GOAWAY: an HTTP/2 client's GET goes again" 200 \
	"$(curl -s -m 5 -o /dev/null -w '%{http_code}' --http2-prior-knowledge -H 'Host: h2c.test' \
		"$GW/g2?h2goaway")"
# a body too big to be whole in the buffer when the request was routed: not replayable
curl -s -m 5 -o /dev/null -H 'Host: h2c.test' "$GW/warm" # not a connection's first stream
expect "stream refused by GOAWAY: a 3 MB POST (not whole in the buffer) gets 502" 502 \
	"$(curl -s -m 10 -o /dev/null -w '%{http_code}' -H 'Host: h2c.test' --data-binary @"$TMP/body.bin" \
		"$GW/p?h2goaway")"
expect "Upgrade to an h2c backend: 502" 502 \
	"$(curl -s -m 5 -o /dev/null -w '%{http_code}' -H 'Host: h2c.test' -H 'Connection: Upgrade' \
		-H 'Upgrade: websocket' -H 'Sec-WebSocket-Version: 13' \
		-H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==' "$GW/ws")"
expect "after all that the h2c backend still answers" 200 \
	"$(curl -s -m 5 -o /dev/null -w '%{http_code}' -H 'Host: h2c.test' "$GW/again")"
# a swap that removes the h2c endpoint orphans its pool: its idle connection
# closes; when the endpoint comes back, a new connection serves it
c0=$(stat h2up_conns)
cmd 'snap 2 2' >/dev/null
expect "h2c endpoint gone: 503" 503 \
	"$(curl -s -m 5 -o /dev/null -w '%{http_code}' -H 'Host: h2c.test' "$GW/gone")"
cmd 'snap 3 0' >/dev/null
expect "h2c endpoint back: 200" 200 \
	"$(curl -s -m 5 -o /dev/null -w '%{http_code}' -H 'Host: h2c.test' "$GW/back")"
expect "over one new connection (the orphaned ones were closed)" 1 "$(($(stat h2up_conns) - c0))"
if kill -0 "$WPID" 2>/dev/null; then ok "the worker is alive"; else not_ok "the worker is alive"; fi
exit $((failed > 0))
