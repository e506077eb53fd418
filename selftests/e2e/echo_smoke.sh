#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# xgw-echo --mode json against what echo-basic does beyond the echo: ?delay
# (answered late without holding up other connections, pipelined requests in
# order, Go's error for a bad duration), the /retry/ simulator (responseCode,
# TCP RST, delayRetry, uuids counted apart) and the /ws WebSocket echo (a small
# python3 socket client: handshake, masked text, 126/127 lengths, fragments
# around a ping, oversize close 1009, close), and the HTTPS port of
# --tls-listen (echo-basic's 8443: the "tls" member with the SNI, ALPN h2 or
# HTTP/1.1, client certificates verified against --client-ca and reported,
# pipelined and delayed requests over TLS). Loopback only; every wait is
# bounded; only the echo this script started is killed. Prints TAP.
set -uo pipefail
BUILD=${XGW_BUILD:?XGW_BUILD must name the build directory}
ECHO=$BUILD/tools/xgw-echo
TMP=$(mktemp -d /tmp/xgw-echo-smoke.XXXXXX)
ECHO_PID=""
GRPC_PID=""
n=0
failed=0

ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; shift; for l in "$@"; do echo "#   $l"; done; }
expect() { # name, want, got
	if [ "$3" = "$2" ]; then ok "$1"; else not_ok "$1" "want: $2" "got: $3"; fi
}

stop() { # pid
	[ -n "$1" ] || return 0
	kill -TERM "$1" 2>/dev/null
	for _ in $(seq 30); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
	kill -KILL "$1" 2>/dev/null
	wait "$1" 2>/dev/null
}

cleanup() {
	stop "$ECHO_PID"
	stop "$GRPC_PID"
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "TAP version 13"
echo "1..29"
[ -x "$ECHO" ] || { echo "Bail out! $ECHO not built"; exit 1; }
command -v curl >/dev/null || { echo "Bail out! curl missing"; exit 1; }
command -v python3 >/dev/null || { echo "Bail out! python3 missing"; exit 1; }
command -v openssl >/dev/null || { echo "Bail out! openssl missing"; exit 1; }

# A CA, the server's certificate for abc.example.com, a client of that CA and one of another.
mkcert() { # name, CA name or "", extension lines
	local name=$1 ca=$2
	openssl genrsa -out "$TMP/$name.key" 2048 2>/dev/null || return 1
	printf '%b' "$3" >"$TMP/$name.ext"
	if [ -z "$ca" ]; then
		openssl req -x509 -new -key "$TMP/$name.key" -out "$TMP/$name.crt" -days 2 \
			-subj "/CN=$name" -addext basicConstraints=critical,CA:TRUE \
			-addext keyUsage=critical,keyCertSign 2>/dev/null
	else
		openssl req -new -key "$TMP/$name.key" -out "$TMP/$name.csr" -subj "/CN=$name" \
			2>/dev/null &&
			openssl x509 -req -in "$TMP/$name.csr" -CA "$TMP/$ca.crt" -CAkey "$TMP/$ca.key" \
				-CAcreateserial -out "$TMP/$name.crt" -days 2 \
				-extfile "$TMP/$name.ext" 2>/dev/null
	fi
}
if ! { mkcert ca "" "" && mkcert other-ca "" "" &&
	mkcert server ca "subjectAltName=DNS:abc.example.com\nextendedKeyUsage=serverAuth\n" &&
	mkcert client ca "extendedKeyUsage=clientAuth\n" &&
	mkcert stranger other-ca "extendedKeyUsage=clientAuth\n"; }; then
	echo "Bail out! openssl could not make the test certificates"
	exit 1
fi

for _ in 1 2 3 4 5; do
	PORT=$((20000 + RANDOM % 20000))
	TLS_PORT=$((PORT + 1))
	"$ECHO" --listen "127.0.0.1:$PORT" --mode json --name echo-smoke-a-b --namespace ns \
		--tls-listen "127.0.0.1:$TLS_PORT" --cert "$TMP/server.crt" --key "$TMP/server.key" \
		--client-ca "$TMP/ca.crt" 2>"$TMP/echo.log" &
	ECHO_PID=$!
	for _ in $(seq 20); do
		curl -s -o /dev/null "http://127.0.0.1:$PORT/health" && break 2
		kill -0 "$ECHO_PID" 2>/dev/null || break
		sleep 0.1
	done
	kill "$ECHO_PID" 2>/dev/null; wait "$ECHO_PID" 2>/dev/null; ECHO_PID=""
done
[ -n "$ECHO_PID" ] || { echo "Bail out! xgw-echo did not start"; exit 1; }
URL=http://127.0.0.1:$PORT
C=(curl -s -m 5)

# --- ?delay ----------------------------------------------------------------
"${C[@]}" -o /dev/null -w '%{http_code} %{time_total}' "$URL/slow?delay=300ms" >"$TMP/delay" &
DELAY_CURL=$!
sleep 0.1
fast=$("${C[@]}" -o /dev/null -w '%{http_code} %{time_total}' "$URL/fast")
running=no
kill -0 "$DELAY_CURL" 2>/dev/null && running=yes
wait "$DELAY_CURL"
read -r dcode dtime <"$TMP/delay"
read -r fcode ftime <<<"$fast"
if [ "$dcode" = 200 ] && awk -v t="$dtime" 'BEGIN { exit !(t >= 0.3 && t < 1.0) }'; then
	ok "delay=300ms answered 200 after ${dtime}s"
else
	not_ok "delay=300ms answered 200 in [0.3, 1) s" "got: $dcode ${dtime}s"
fi
if [ "$fcode" = 200 ] && [ "$running" = yes ] && awk -v t="$ftime" 'BEGIN { exit !(t < 0.15) }'; then
	ok "another connection answered in ${ftime}s while the delayed one waited"
else
	not_ok "another connection answered at once" "got: $fcode ${ftime}s, delayed still running: $running"
fi
got=$("${C[@]}" -w ' %{http_code}' "$URL/x?delay=abc")
expect "a bad duration gets Go's error and 500" '{"message":"time: invalid duration \"abc\""} 500' "$got"

# Three pipelined requests on one connection (over TLS with a CA file): a
# delayed one, one with a body larger than the first read (over TLS its record
# is read in pieces), a last one; answered in order, the delayed one first.
cat >"$TMP/pipeline.py" <<'PY'
import socket, ssl, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
if len(sys.argv) > 2:
    ctx = ssl.create_default_context(cafile=sys.argv[2])
    s = ctx.wrap_socket(s, server_hostname="abc.example.com")
t0 = time.monotonic()
body = b"b" * 12000
s.sendall(b"GET /one?delay=200ms HTTP/1.1\r\nHost: a\r\n\r\n"
          b"POST /two HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n\r\n%s"
          b"GET /three HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n" % (len(body), body))
data = b""
while True:
    b = s.recv(65536)
    if not b:
        break
    data += b
dt = time.monotonic() - t0
i = [data.find(b'"path": "/%s"' % p) for p in (b"one?delay=200ms", b"two", b"three")]
print("order=%s statuses=%d late=%s" % ("ok" if 0 <= i[0] < i[1] < i[2] else "bad",
      data.count(b"HTTP/1.1 200 OK"), 0.2 <= dt < 1.0))
PY
got=$(python3 "$TMP/pipeline.py" "$PORT" 2>&1)
expect "pipelined: delayed answer first, then the next two" "order=ok statuses=3 late=True" "$got"

# --- /retry/ ---------------------------------------------------------------
codes=""
for _ in 1 2 3; do
	codes+=$("${C[@]}" -o /dev/null -w '%{http_code} ' "$URL/retry/x?uuid=u-503&succeedAfter=2&responseCode=503")
done
expect "retry responseCode=503 succeedAfter=2: 503, 503, 200" "503 503 200 " "$codes"
got=$("${C[@]}" -o /dev/null -w '%{http_code}' "$URL/retry/x?uuid=u-other&succeedAfter=1&responseCode=503")
expect "a second uuid is counted apart" "503" "$got"
got=$("${C[@]}" -o /dev/null -w '%{http_code}' "$URL/retry/x?uuid=u-503&succeedAfter=2&responseCode=503")
expect "the first uuid still succeeds" "200" "$got"
got=$("${C[@]}" -D - -o /dev/null "$URL/retry/x?uuid=u-503b&succeedAfter=1&responseCode=503" |
	tr -d '\r' | grep -ci '^content-length: 0$')
expect "a failing attempt has an empty body" "1" "$got"
rcs=""
for _ in 1 2 3; do
	"${C[@]}" -o /dev/null "$URL/retry/y?uuid=u-rst&succeedAfter=2"
	rc=$?
	case $rc in 52 | 56) rcs+="reset " ;; *) rcs+="$rc " ;; esac
done
expect "retry without responseCode: reset, reset, then 0 (200)" "reset reset 0 " "$rcs"
got=$("${C[@]}" -o /dev/null -w '%{http_code} %{time_total}' \
	"$URL/retry?uuid=u-slow&succeedAfter=1&responseCode=500&delayRetry=200ms")
read -r rcode rtime <<<"$got"
if [ "$rcode" = 500 ] && awk -v t="$rtime" 'BEGIN { exit !(t >= 0.2 && t < 1.0) }'; then
	ok "delayRetry=200ms delays the failing answer (${rtime}s)"
else
	not_ok "delayRetry=200ms delays the failing answer" "got: $got"
fi
got=$("${C[@]}" -o /dev/null -w '%{http_code}' "$URL/retry?succeedAfter=1")
expect "retry without uuid: 400" "400" "$got"
if grep -q 'GET /retry/y?uuid=u-rst&succeedAfter=2 HTTP/1.1" reset' "$TMP/echo.log" &&
	grep -q 'GET /retry/x?uuid=u-503&succeedAfter=2&responseCode=503 HTTP/1.1" 503' "$TMP/echo.log"; then
	ok "retry attempts are logged with their request URI"
else
	not_ok "retry attempts are logged with their request URI" "$(tail -3 "$TMP/echo.log")"
fi

# --- /ws -------------------------------------------------------------------
cat >"$TMP/ws.py" <<'PY'
import base64, hashlib, os, socket, struct, sys

port, case = int(sys.argv[1]), sys.argv[2]
s = socket.create_connection(("127.0.0.1", port), timeout=5)
buf = b""

def recv_exact(n):
    global buf
    while len(buf) < n:
        b = s.recv(65536)
        if not b:
            raise EOFError("eof")
        buf += b
    out, buf = buf[:n], buf[n:]
    return out

def frame(op, payload, fin=True):
    mask = os.urandom(4)
    h = bytes([(0x80 if fin else 0) | op])
    n = len(payload)
    if n < 126:
        h += bytes([0x80 | n])
    elif n < 65536:
        h += bytes([0x80 | 126]) + struct.pack("!H", n)
    else:
        h += bytes([0x80 | 127]) + struct.pack("!Q", n)
    return h + mask + bytes(b ^ mask[i & 3] for i, b in enumerate(payload))

def read_frame():
    b0, b1 = recv_exact(2)
    if b1 & 0x80:
        raise ValueError("server frame is masked")
    n = b1 & 0x7f
    if n == 126:
        n = struct.unpack("!H", recv_exact(2))[0]
    elif n == 127:
        n = struct.unpack("!Q", recv_exact(8))[0]
    return b0, recv_exact(n)

key = base64.b64encode(os.urandom(16)).decode()
s.sendall(("GET /ws HTTP/1.1\r\nHost: echo\r\nUpgrade: websocket\r\n"
           "Connection: keep-alive, Upgrade\r\nSec-WebSocket-Version: 13\r\n"
           "Sec-WebSocket-Key: %s\r\n\r\n" % key).encode())
while b"\r\n\r\n" not in buf:
    buf += s.recv(4096)
head, buf = buf.split(b"\r\n\r\n", 1)
want = base64.b64encode(hashlib.sha1((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest())
lines = head.split(b"\r\n")
accept = [l.split(b":", 1)[1].strip() for l in lines if l.lower().startswith(b"sec-websocket-accept:")]
if not lines[0].startswith(b"HTTP/1.1 101") or accept != [want]:
    print("handshake: %r" % head)
    sys.exit(0)
res = ["101"]
if case == "basic":
    s.sendall(frame(1, b"hello xgw"))
    res.append("%x:%s" % read_frame())
    s.sendall(frame(9, b"pp"))
    res.append("%x:%s" % read_frame())
    s.sendall(frame(8, struct.pack("!H", 1000)))
    op, p = read_frame()
    res.append("%x:%d" % (op, struct.unpack("!H", p)[0]))
elif case == "sizes":
    for n in (200, 70000):
        data = os.urandom(n)
        s.sendall(frame(2, data))
        op, p = read_frame()
        res.append("%x:%d:%s" % (op, len(p), p == data))
    # A text message in two fragments, with a ping between them.
    s.sendall(frame(1, b"foo", fin=False) + frame(9, b"") + frame(0, b"bar"))
    res.append("%x:%s" % read_frame())
    res.append("%x:%s" % read_frame())
    s.sendall(frame(8, b""))
    res.append("%x:%d" % (read_frame()[0], 0))
elif case == "big":
    s.sendall(frame(2, b"x" * ((1 << 20) + 1)))
    op, p = read_frame()
    res.append("%x:%d" % (op, struct.unpack("!H", p)[0]))
try:
    res.append("eof" if s.recv(1) == b"" else "data")
except ConnectionResetError:
    res.append("reset")
print(" ".join(res))
PY
got=$(python3 "$TMP/ws.py" "$PORT" basic 2>&1)
expect "ws: 101 + accept, text echoed, ping->pong, close 1000 echoed, then EOF" \
	"101 81:b'hello xgw' 8a:b'pp' 88:1000 eof" "$got"
got=$(python3 "$TMP/ws.py" "$PORT" sizes 2>&1)
expect "ws: 126/127 lengths echoed, fragments reassembled around a ping" \
	"101 82:200:True 82:70000:True 8a:b'' 81:b'foobar' 88:0 eof" "$got"
got=$(python3 "$TMP/ws.py" "$PORT" big 2>&1)
expect "ws: a message over 1 MiB is closed with 1009" "101 88:1009 eof" "$got"
got=$("${C[@]}" -o /dev/null -w '%{http_code}' -H 'Upgrade: websocket' -H 'Connection: Upgrade' \
	-H 'Sec-WebSocket-Version: 8' -H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==' "$URL/ws")
expect "ws: version 8 is refused with 400" "400" "$got"
got=$("${C[@]}" -o /dev/null -w '%{http_code}' -X POST "$URL/ws")
expect "ws: POST is refused with 405" "405" "$got"

# --- HTTPS (--tls-listen) -----------------------------------------------------
HTTPS=https://abc.example.com:$TLS_PORT
T=("${C[@]}" --cacert "$TMP/ca.crt" --resolve "abc.example.com:$TLS_PORT:127.0.0.1")
# The fields of the echo's JSON that a TLS test looks at, on one line.
tls_fields() {
	python3 -c '
import json, sys
try:
    e = json.load(sys.stdin)
except ValueError as err:
    print("not JSON:", err)
    sys.exit(0)
t = e.get("tls")
if t is None:
    print(e["proto"], "no-tls")
    sys.exit(0)
peer = t.get("peerCertificates")
want = open(sys.argv[1]).read() if len(sys.argv) > 1 else None
# curl sends the chain it builds from its --cacert too: only the first is checked
out = [e["proto"], t["version"][:5], repr(t["serverName"]), t.get("negotiatedProtocol", "-"),
       "cipher" if t["cipherSuite"].startswith("TLS_") else repr(t["cipherSuite"]),
       "peers=%s" % ("-" if peer is None else "yes")]
if want is not None:
    out.append("peer0=%s" % (bool(peer) and peer[0] == want))
print(" ".join(out))' "$@"
}
got=$("${T[@]}" --http1.1 "$HTTPS/tls" | tls_fields)
expect "https HTTP/1.1: the SNI, ALPN http/1.1 and the cipher are reported" \
	"HTTP/1.1 TLSv1 'abc.example.com' http/1.1 cipher peers=-" "$got"
got=$("${T[@]}" --http2 "$HTTPS/tls" | tls_fields)
expect "https with ALPN h2: served by the HTTP/2 echo" \
	"HTTP/2.0 TLSv1 'abc.example.com' h2 cipher peers=-" "$got"
got=$("${C[@]}" -k --http1.1 "https://127.0.0.1:$TLS_PORT/tls" | tls_fields)
expect "https without SNI: serverName is empty" "HTTP/1.1 TLSv1 '' http/1.1 cipher peers=-" "$got"
got=$("${T[@]}" --http1.1 --cert "$TMP/client.crt" --key "$TMP/client.key" "$HTTPS/tls" |
	tls_fields "$TMP/client.crt")
expect "https with a client certificate of --client-ca: reported as PEM" \
	"HTTP/1.1 TLSv1 'abc.example.com' http/1.1 cipher peers=yes peer0=True" "$got"
got=$("${T[@]}" --http2 --cert "$TMP/client.crt" --key "$TMP/client.key" "$HTTPS/tls" |
	tls_fields "$TMP/client.crt")
expect "https h2 with a client certificate: reported as PEM" \
	"HTTP/2.0 TLSv1 'abc.example.com' h2 cipher peers=yes peer0=True" "$got"
"${T[@]}" -o /dev/null --cert "$TMP/stranger.crt" --key "$TMP/stranger.key" "$HTTPS/tls"
rc=$?
if [ "$rc" -ne 0 ] && grep -q 'TLS handshake failed: .*certificate' "$TMP/echo.log"; then
	ok "a client certificate of another CA is refused in the handshake (curl $rc), and logged"
else
	not_ok "a client certificate of another CA is refused" "curl: $rc" "$(tail -2 "$TMP/echo.log")"
fi
got=$("${C[@]}" "$URL/plain" | tls_fields)
expect "the plain port reports no tls" "HTTP/1.1 no-tls" "$got"
got=$(python3 "$TMP/pipeline.py" "$TLS_PORT" "$TMP/ca.crt" 2>&1)
expect "https pipelined: delayed, large body, last: in order" "order=ok statuses=3 late=True" "$got"
got=$(curl -s -m 5 -o /dev/null -w '%{http_code}' --resolve "abc.example.com:$TLS_PORT:127.0.0.1" \
	"$HTTPS/tls")
expect "https without the CA: the client refuses the certificate (000)" "000" "$got"

# gRPC over TLS (--mode grpc, ALPN h2): the EchoResponse's tls_assertions.
"$ECHO" --listen "127.0.0.1:$((TLS_PORT + 1))" --mode grpc --name grpc-smoke-a-b --namespace ns \
	--tls-listen "127.0.0.1:$((TLS_PORT + 2))" --cert "$TMP/server.crt" --key "$TMP/server.key" \
	2>"$TMP/grpc.log" &
GRPC_PID=$!
# Debian's python3 has python3-grpcio (scripts/setup.sh), as the conformance runner uses it.
got=$(/usr/bin/python3 - "$((TLS_PORT + 2))" "$TMP/ca.crt" "$(dirname "$0")/../conformance" <<'PY' 2>&1
import sys, time
sys.path.insert(0, sys.argv[3])
import grpc
from grpcclient import _fields
creds = grpc.ssl_channel_credentials(root_certificates=open(sys.argv[2], "rb").read())
opts = [("grpc.ssl_target_name_override", "abc.example.com")]
err = None
for _ in range(20):  # the echo may still be starting
    try:
        with grpc.secure_channel("127.0.0.1:" + sys.argv[1], creds, options=opts) as ch:
            raw = ch.unary_unary("/gateway_api_conformance.echo_basic.grpcecho.GrpcEcho/Echo")(
                b"", timeout=5)
        break
    except grpc.RpcError as e:
        err = e
        time.sleep(0.1)
else:
    print("rpc failed:", err.code(), err.details())
    sys.exit(0)
a = dict(_fields(dict(_fields(raw))[1]))
t = {n: v.decode() for n, v in _fields(a.get(5, b""))}
print(t.get(1, "")[:5], t.get(2), t.get(3), "cipher" if t.get(4, "").startswith("TLS_") else t.get(4))
PY
)
expect "grpc over TLS: tls_assertions with the SNI and ALPN h2" "TLSv1 h2 abc.example.com cipher" "$got"

# --- what was there before still is ------------------------------------------
got=$("${C[@]}" -w ' %{http_code}' "$URL/health")
expect "/health" "OK 200" "$got"
got=$(curl -s -m 2 -o /dev/null -w '%{http_code}' "$URL/status/418?delay=5s")
expect "/status/418?delay=5s: 400 at once (echo-basic matches the raw URI, never waits)" "400" "$got"

kill -0 "$ECHO_PID" 2>/dev/null || not_ok "xgw-echo still running"
[ "$n" = 29 ] || echo "# planned 29, ran $n"
exit $((failed > 0))
