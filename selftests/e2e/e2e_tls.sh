#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# HTTPS listeners end to end, with real clients (curl, openssl s_client, wrk,
# Python's ssl): TLS termination, SNI choosing among certificates on one
# address:port, ALPN, TLS 1.2 as the floor, session tickets resumed across
# two workers, client certificate validation (spec.tls.frontend), certificate
# rotation without dropping an open connection, and a bad Secret reported on
# its listener while the others keep serving. Prints TAP. Needs root, openssl
# and curl.
set -uo pipefail
BUILD=${XGW_BUILD:?XGW_BUILD must name the build directory}
SRC=${XGW_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
ID=$$
NS_N=xt$ID-n NS_C=xt$ID-c
PIN=/sys/fs/bpf/xgw-tls-$ID
TMP=$(mktemp -d /tmp/xgw-tls.XXXXXX)
CONF=$TMP/config
PKI=$TMP/pki
STATUS=$TMP/status.json
GW=10.25.100.1
. "$SRC/selftests/e2e/lib.sh"
E2E_NETNS=("$NS_C" "$NS_N")
E2E_PATHS=("$PIN" "$TMP")
cx() { ip netns exec "$NS_C" "$@"; }

for tool in openssl curl python3; do
	if ! command -v $tool >/dev/null; then
		printf 'TAP version 13\n1..0 # SKIP %s is not installed (scripts/setup.sh installs it)\n' $tool
		exit 0
	fi
done
e2e_begin 18

# --- certificates: a CA for servers, one for clients ---------------------
mkdir -p "$CONF" "$PKI"
ca server-ca && ca client-ca && ca other-ca &&
	leaf site-a server-ca DNS:a.example.test ec serverAuth &&
	leaf site-a2 server-ca DNS:a.example.test rsa serverAuth &&
	leaf site-wild server-ca 'DNS:*.wild.example.test' ec serverAuth &&
	leaf alice client-ca DNS:alice ec clientAuth &&
	leaf mallory other-ca DNS:mallory ec clientAuth || {
	echo "Bail out! openssl cannot make the test certificates: $(tail -3 "$TMP/openssl.log")"
	exit 1
}
secret() { # name, certificate
	{
		printf 'apiVersion: v1\nkind: Secret\nmetadata: {name: %s, namespace: default}\n' "$1"
		printf 'type: kubernetes.io/tls\ndata:\n'
		printf '  tls.crt: %s\n' "$(base64 -w0 <"$PKI/$2.crt")"
		printf '  tls.key: %s\n' "$(base64 -w0 <"$PKI/$2.key")"
	} >"$CONF/secret-$1.yaml.tmp" && mv "$CONF/secret-$1.yaml.tmp" "$CONF/secret-$1.yaml"
}
secret site-a site-a
secret site-wild site-wild
{
	printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: client-ca, namespace: default}\n'
	printf 'data:\n  ca.crt: |\n'
	sed 's/^/    /' "$PKI/client-ca.crt"
} >"$CONF/client-ca.yaml"
cp "$SRC/examples/quickstart/backend.yaml" "$CONF/backend.yaml"
sed -i 's/10\.23\.1\.10/10.25.1.10/' "$CONF/backend.yaml"
cat >"$CONF/gateway.yaml" <<'EOF'
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: xgw}
spec: {controllerName: xgw.io/gateway-controller}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: eg, namespace: default}
spec:
  gatewayClassName: xgw
  tls:
    frontend:
      perPort:
      - port: 8443
        tls:
          validation:
            caCertificateRefs: [{kind: ConfigMap, group: "", name: client-ca}]
  listeners:
  - name: http
    protocol: HTTP
    port: 80
  - name: site-a
    protocol: HTTPS
    port: 443
    hostname: a.example.test
    tls: {certificateRefs: [{name: site-a}]}
  - name: site-wild
    protocol: HTTPS
    port: 443
    hostname: "*.wild.example.test"
    tls: {certificateRefs: [{name: site-wild}]}
  - name: mtls
    protocol: HTTPS
    port: 8443
    tls: {certificateRefs: [{name: site-a}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: backend, namespace: default}
spec:
  parentRefs: [{name: eg}]
  rules: [{backendRefs: [{name: backend-1, port: 80}]}]
EOF

# --- the node and the client ---------------------------------------------
ip netns add "$NS_N" && ip netns add "$NS_C" &&
	ip link add "xt$ID-c" netns "$NS_C" type veth peer name "xt$ID-n" netns "$NS_N" || {
	echo "Bail out! cannot create namespaces"
	exit 1
}
for ns in "$NS_N" "$NS_C"; do ip -n "$ns" link set lo up; done
ip -n "$NS_N" addr add 10.25.0.1/24 dev "xt$ID-n"
ip -n "$NS_C" addr add 10.25.0.2/24 dev "xt$ID-c"
ip -n "$NS_N" addr add 10.25.1.10/32 dev lo
ip -n "$NS_N" link set "xt$ID-n" up
ip -n "$NS_C" link set "xt$ID-c" up
ip -n "$NS_C" route add 10.25.100.0/24 via 10.25.0.1

nsenter --net=/run/netns/"$NS_N" "$BUILD/tools/xgw-echo" --listen 10.25.1.10:8080 \
	--name backend-1 --namespace default --mode json --quiet </dev/null >/dev/null 2>&1 &
PIDS+=($!)
nsenter --net=/run/netns/"$NS_N" "$BUILD/agent/xgw-agent" --config-dir "$CONF" \
	--address-pool 10.25.100.0/24 --interface "xt$ID-n" --workers 2 --pin-dir "$PIN" \
	--status-file "$STATUS" --workers-file "$TMP/workers.json" </dev/null >"$TMP/agent.log" 2>&1 &
PIDS+=($!)

# curl to the Gateway for <host> on <port> (path $TPATH, default /), trusting the
# server CA; extra args follow.
tcurl() { # host port args...
	local h=$1 p=$2
	shift 2
	cx curl -s --max-time 5 --cacert "$PKI/server-ca.crt" --resolve "$h:$p:$GW" "$@" \
		"https://$h:$p${TPATH:-/}"
}
code() { tcurl "$@" -o /dev/null -w '%{http_code}'; }
# The subject CN the Gateway presents for server name <sni> on <port>.
served_cn() { # sni (empty: none) port
	local sni=(-servername "$1")
	[ -z "$1" ] && sni=(-noservername)
	echo | cx openssl s_client -connect "$GW:$2" "${sni[@]}" 2>/dev/null |
		openssl x509 -noout -subject 2>/dev/null | sed 's/.*CN *= *//'
}

up() { [ "$(code a.example.test 443)" = 200 ]; }
wait_for 150 up
body=$(tcurl a.example.test 443 --http1.1)
xfp=$(echo "$body" | python3 -c 'import json,sys; print(json.load(sys.stdin)["headers"]["X-Forwarded-Proto"][0])' 2>/dev/null)
if [ "$xfp" = https ]; then
	ok "HTTPS request answered through TLS; the backend sees X-Forwarded-Proto: https"
else
	not_ok "HTTPS request answered through TLS; the backend sees X-Forwarded-Proto: https" \
		"body: ${body:0:300}" "$(tail -5 "$TMP/agent.log")"
	exit 1
fi

a=$(served_cn a.example.test 443) w=$(served_cn x.wild.example.test 443) d=$(served_cn '' 443)
if [ "$a" = site-a ] && [ "$w" = site-wild ] && [ "$(code y.wild.example.test 443)" = 200 ]; then
	ok "SNI picks the listener's certificate on one address:port (exact, wildcard; no SNI: $d)"
else
	not_ok "SNI picks the listener's certificate on one address:port" "a=$a wild=$w none=$d"
fi

# RFC 9110 421: a request whose Host selects another certificate than the
# connection's server name (a coalesced HTTP/2 connection, or a client
# mixing names) is misdirected; one whose Host shares the server name's is not.
m1=$(tcurl a.example.test 443 --http1.1 -H 'Host: x.wild.example.test' -o /dev/null -w '%{http_code}')
m2=$(tcurl a.example.test 443 --http2 -H 'Host: x.wild.example.test' -o /dev/null -w '%{http_version} %{http_code}')
m3=$(tcurl x.wild.example.test 443 --http2 -H 'Host: y.wild.example.test' -o /dev/null -w '%{http_code}')
m4=$(tcurl a.example.test 443 --http1.1 -H 'Host: a.example.test:443' -o /dev/null -w '%{http_code}')
if [ "$m1" = 421 ] && [ "$m2" = "2 421" ] && [ "$m3" = 200 ] && [ "$m4" = 200 ]; then
	ok "misdirected requests get 421 (HTTP/1.1 and HTTP/2); a host under the same certificate is served"
else
	not_ok "misdirected requests get 421" "h1 other cert: $m1, h2 other cert: $m2, same wildcard: $m3, with port: $m4"
fi

alpn() { # offered list
	echo | cx openssl s_client -connect "$GW:443" -servername a.example.test -alpn "$1" 2>/dev/null |
		grep -aE '^(ALPN protocol|No ALPN)'
}
a1=$(alpn h2,http/1.1) a2=$(alpn http/1.1) a3=$(alpn spdy/3)
if [ "$a1" = "ALPN protocol: h2" ] && [ "$a2" = "ALPN protocol: http/1.1" ] &&
	[ "$a3" = "No ALPN negotiated" ]; then
	ok "ALPN: h2 when offered, else http/1.1, else none"
else
	not_ok "ALPN: h2 when offered, else http/1.1, else none" "$a1 / $a2 / $a3"
fi

# HTTP/2: over TLS (ALPN h2) and in cleartext with prior knowledge (h2c).
v=$(tcurl a.example.test 443 --http2 -o /dev/null -w '%{http_version} %{http_code}')
c=$(cx curl -s --max-time 3 --http2-prior-knowledge -o /dev/null -w '%{http_version} %{http_code}' \
	-H 'Host: a.example.test' "http://$GW/")
hd=$(tcurl a.example.test 443 --http2 -I -o /dev/null -w '%{http_version} %{http_code} %{size_download}')
if [ "$v" = "2 200" ] && [ "$c" = "2 200" ] && [ "$hd" = "2 200 0" ]; then
	ok "HTTP/2 over TLS (ALPN h2) and h2c with prior knowledge; HEAD has no body"
else
	not_ok "HTTP/2 over TLS and h2c" "h2: $v, h2c: $c, HEAD: $hd"
fi

# Bodies larger than the stream windows and send buffers, both ways, with and
# without a length (chunked on the HTTP/1.1 side).
python3 -c 'import sys; sys.stdout.write("".join(chr(97 + i % 26) for i in range(1000000)))' >"$TMP/pattern"
want=$(sha256sum <"$TMP/pattern" | cut -c1-64)
got1=$(TPATH=/bytes/1000000 tcurl a.example.test 443 --http2 | sha256sum | cut -c1-64)
got2=$(TPATH='/bytes/1000000?chunked' tcurl a.example.test 443 --http2 | sha256sum | cut -c1-64)
head -c 300000 "$TMP/pattern" >"$TMP/upload"
up1=$(tcurl a.example.test 443 --http2 --data-binary @"$TMP/upload" -o /dev/null -w '%{http_version} %{http_code}')
up2=$(cx sh -c "cat '$TMP/upload' | curl -s --max-time 5 --cacert '$PKI/server-ca.crt' --resolve a.example.test:443:$GW --http2 -T - -o /dev/null -w '%{http_version} %{http_code}' https://a.example.test/up")
if [ "$got1" = "$want" ] && [ "$got2" = "$want" ] && [ "$up1" = "2 200" ] && [ "$up2" = "2 200" ]; then
	ok "HTTP/2 bodies of 1 MB down (length and chunked) and 300 kB up (length and none), intact"
else
	not_ok "HTTP/2 large bodies" "down: $got1 / $got2 want $want, up: $up1 / $up2"
fi

# An interim response (the backend's 100 Continue) is not passed on to an
# HTTP/2 client: the final head that follows it is (h2.c).
up3=$(tcurl a.example.test 443 --http2 -H 'Expect: 100-continue' --data-binary @"$TMP/upload" \
	-o /dev/null -w '%{http_version} %{http_code} %{size_upload}')
if [ "$up3" = "2 200 300000" ]; then
	ok "HTTP/2 upload with Expect: 100-continue: the backend's 100 is dropped, its 200 arrives"
else
	not_ok "HTTP/2 upload with Expect: 100-continue" "got: $up3"
fi

# HTTP/2 abuse, each attack on its own h2c connection, each followed by a
# request on a new one: HPACK bomb (stream reset, connection goes on), rapid
# reset, CONTINUATION flood, SETTINGS flood (connection ended).
abuse=$(cx timeout 60 python3 "$SRC/selftests/e2e/h2_abuse.py" "$GW" 80 a.example.test 2>&1)
if [ $? = 0 ]; then
	ok "HTTP/2 abuse bounded: $(echo "$abuse" | sed 's/;.*//' | tr '\n' ' ')"
else
	not_ok "HTTP/2 abuse bounded" "$abuse"
fi

if command -v h2load >/dev/null; then
	cx timeout 30 h2load -n 2000 -c 4 -m 20 "https://$GW/" -H ':authority: a.example.test' \
		>"$TMP/h2load.out" 2>&1
	if grep -q '2000 succeeded' "$TMP/h2load.out" && grep -q '2000 2xx' "$TMP/h2load.out"; then
		ok "h2load: 2000 requests on 4 connections, 20 streams each at a time, all 2xx"
	else
		not_ok "h2load multiplexed" "$(grep -E 'requests:|status codes:' "$TMP/h2load.out")"
	fi
else
	ok "h2load multiplexed # SKIP h2load is not installed (package nghttp2-client)"
fi

v11=$(echo | cx openssl s_client -connect "$GW:443" -servername a.example.test -tls1_1 2>&1 | grep -c 'BEGIN CERTIFICATE')
v12=$(echo | cx openssl s_client -connect "$GW:443" -servername a.example.test -tls1_2 2>/dev/null | grep -c 'BEGIN CERTIFICATE')
if [ "$v11" = 0 ] && [ "$v12" = 1 ]; then
	ok "TLS 1.2 and 1.3 only: a TLS 1.1 client is refused"
else
	not_ok "TLS 1.2 and 1.3 only: a TLS 1.1 client is refused" "tls1.1 certs seen: $v11, tls1.2: $v12"
fi

# Python's ssl: one full handshake, then 8 resumptions from its ticket (the
# connections land on either worker), each with a request on it.
cat >"$TMP/resume.py" <<'EOF'
import socket, ssl, sys
gw, ca = sys.argv[1], sys.argv[2]
ctx = ssl.create_default_context(cafile=ca)
def req(sess=None):
    s = ctx.wrap_socket(socket.create_connection((gw, 443), timeout=3),
                        server_hostname="a.example.test", session=sess)
    s.sendall(b"GET / HTTP/1.1\r\nHost: a.example.test\r\nConnection: close\r\n\r\n")
    data = b""
    while True:
        d = s.recv(65536)
        if not d:
            break
        data += d
    out = (s.session, s.session_reused, data.split(b" ")[1].decode())
    s.close()
    return out
sess, _, st = req()
res = [req(sess) for _ in range(8)]
print(st, sum(1 for r in res if r[1]), ",".join(r[2] for r in res), sess.has_ticket)
EOF
r=$(cx python3 "$TMP/resume.py" "$GW" "$PKI/server-ca.crt" 2>&1)
if [ "$r" = "200 8 200,200,200,200,200,200,200,200 True" ]; then
	ok "session tickets: 8 of 8 reconnections resumed (2 workers share the ticket keys)"
else
	not_ok "session tickets resume on both workers" "got: $r"
fi

# TLS 1.3: a resumed connection gets a fresh ticket (clients use each one once),
# so a chain of reconnections resumes every time, not every other time.
req() { printf 'GET / HTTP/1.1\r\nHost: a.example.test\r\nConnection: close\r\n\r\n'; }
sc() {
	req | cx openssl s_client -connect "$GW:443" -servername a.example.test -tls1_3 -ign_eof "$@" \
		2>/dev/null | grep -E '^(New|Reused),' | cut -d, -f1
}
r="$(sc -sess_out "$TMP/s1.pem") $(sc -sess_in "$TMP/s1.pem" -sess_out "$TMP/s2.pem")"
r="$r $(sc -sess_in "$TMP/s2.pem" -sess_out "$TMP/s3.pem") $(sc -sess_in "$TMP/s3.pem")"
if [ "$r" = "New Reused Reused Reused" ]; then
	ok "TLS 1.3 ticket chain: each resumption brings a fresh ticket ($r)"
else
	not_ok "TLS 1.3 ticket chain: each resumption brings a fresh ticket" "got: $r"
fi

nocert=$(code a.example.test 8443)
good=$(code a.example.test 8443 --cert "$PKI/alice.crt" --key "$PKI/alice.key")
bad=$(code a.example.test 8443 --cert "$PKI/mallory.crt" --key "$PKI/mallory.key")
if [ "$nocert" = 000 ] && [ "$good" = 200 ] && [ "$bad" = 000 ]; then
	ok "client certificates: validated against the frontend CA (none and a foreign one refused)"
else
	not_ok "client certificates: validated against the frontend CA" \
		"no cert: $nocert, alice: $good, mallory: $bad"
fi

if command -v wrk >/dev/null; then
	cx timeout 20 wrk -t1 -c16 -d2s -H 'Host: a.example.test' "https://$GW/" >"$TMP/wrk.out" 2>&1
	reqs=$(awk '/requests in/ {print $1}' "$TMP/wrk.out")
	if [ -n "$reqs" ] && [ "$reqs" -gt 100 ] && ! grep -qE 'Socket errors|Non-2xx' "$TMP/wrk.out"; then
		ok "wrk over HTTPS keep-alive: $reqs requests, no errors"
	else
		not_ok "wrk over HTTPS keep-alive" "$(cat "$TMP/wrk.out")"
	fi
else
	ok "wrk over HTTPS keep-alive # SKIP wrk is not installed"
fi

# Rotation: a keep-alive connection made with the old certificate keeps working
# after the Secret changes; new connections get the new certificate (RSA now).
cat >"$TMP/keepalive.py" <<'EOF'
import socket, ssl, sys, time, os
gw, ca, go, done = sys.argv[1:5]
ctx = ssl.create_default_context(cafile=ca)
s = ctx.wrap_socket(socket.create_connection((gw, 443), timeout=5), server_hostname="a.example.test")
def req():
    s.sendall(b"GET / HTTP/1.1\r\nHost: a.example.test\r\n\r\n")
    head = b""
    while b"\r\n\r\n" not in head:
        d = s.recv(1)
        if not d:
            raise ConnectionError("closed")
        head += d
    n = int([l.split(b":")[1] for l in head.split(b"\r\n") if l.lower().startswith(b"content-length")][0])
    body = b""
    while len(body) < n:
        body += s.recv(n - len(body))
    return head.split(b" ")[1].decode()
first = req()
open(go, "w").close()
for _ in range(100):
    if os.path.exists(done):
        break
    time.sleep(0.1)
print(first, req(), req())
EOF
cx python3 "$TMP/keepalive.py" "$GW" "$PKI/server-ca.crt" "$TMP/ka.go" "$TMP/ka.done" >"$TMP/ka.out" 2>&1 &
KA=$!
PIDS+=($KA)
wait_for 50 test -e "$TMP/ka.go"
secret site-a site-a2
rotated() { [ "$(served_cn a.example.test 443)" = site-a2 ]; }
wait_for 100 rotated
rot=$?
touch "$TMP/ka.done"
wait "$KA" 2>/dev/null
kex=$(echo | cx openssl s_client -connect "$GW:443" -servername a.example.test 2>/dev/null | grep -o 'Server public key is [0-9]* bit')
if [ $rot = 0 ] && [ "$(cat "$TMP/ka.out")" = "200 200 200" ] && [ "$(code a.example.test 443)" = 200 ]; then
	ok "certificate rotation: new connections get the new one ($kex), an open one keeps working"
else
	not_ok "certificate rotation" "rotated: $rot, open connection: $(cat "$TMP/ka.out")"
fi

# A bad Secret: its listener says why; everything else keeps serving.
printf 'apiVersion: v1\nkind: Secret\nmetadata: {name: broken, namespace: default}\ntype: kubernetes.io/tls\ndata: {tls.crt: %s, tls.key: %s}\n' \
	"$(echo 'not a certificate' | base64 -w0)" "$(base64 -w0 <"$PKI/site-a.key")" >"$CONF/secret-broken.yaml"
sed -i 's/^  - name: mtls$/  - name: broken\n    protocol: HTTPS\n    port: 9443\n    tls: {certificateRefs: [{name: broken}]}\n  - name: mtls/' "$CONF/gateway.yaml"
reported() {
	python3 - "$STATUS" <<'EOF'
import json, sys
st = json.load(open(sys.argv[1]))
for gw in st.get("gateways", []):
    for l in gw.get("status", {}).get("listeners", []):
        if l.get("name") == "broken":
            c = {x["type"]: x for x in l.get("conditions", [])}
            r = c.get("ResolvedRefs", {})
            ok = r.get("status") == "False" and r.get("reason") == "InvalidCertificateRef" \
                and c.get("Programmed", {}).get("status") == "False"
            print(r.get("message", ""))
            sys.exit(0 if ok else 1)
sys.exit(1)
EOF
}
if wait_for 100 reported; then
	msg=$(reported)
	if [ "$(code a.example.test 443)" = 200 ] && [ "$(code x.wild.example.test 443)" = 200 ] &&
		[ "$(code a.example.test 9443)" = 000 ]; then
		ok "a malformed Secret is reported on its listener ($msg); the others keep serving"
	else
		not_ok "a malformed Secret: the other listeners keep serving"
	fi
else
	not_ok "a malformed Secret is reported on its listener" "$(head -c 2000 "$STATUS")"
fi

if kill -0 "${PIDS[1]}" 2>/dev/null && [ "$(code a.example.test 443)" = 200 ]; then
	ok "the agent and its workers are still up after the refused handshakes"
else
	not_ok "the agent and its workers are still up" "$(tail -5 "$TMP/agent.log")"
fi
if [ "$(cx curl -s --max-time 2 -o /dev/null -w '%{http_code}' -H 'Host: a.example.test' "http://$GW/")" = 200 ]; then
	ok "the plain HTTP listener beside them still serves"
else
	not_ok "the plain HTTP listener beside them still serves"
fi
exit $((failed > 0))
