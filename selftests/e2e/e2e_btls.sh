#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# BackendTLSPolicy end to end: the agent and one worker in a namespace, real
# HTTPS backends (selftests/e2e/tls_backend.py, Python's ssl), a client in
# another namespace speaking plain HTTP to the Gateway. Checks the server
# name the backend sees, CA verification (right CA: 200; another CA: 502),
# the hostname check, subjectAltNames (URI match: 200; DNS mismatch: 502),
# the Gateway's client certificate (spec.tls.backend) presented to a backend
# that requires one, keep-alive reuse of TLS connections, a policy without a
# usable CA (500, and its status), conflicts, that a plain backend beside
# them is untouched, and HTTP/2 over TLS (ALPN h2) to an h2c Service port with
# a policy: the backend there is the Gateway's own HTTPS listener (hairpin),
# the only HTTP/2-over-TLS server at hand. Prints TAP. Needs root, openssl,
# curl and python3.
set -uo pipefail
BUILD=${XGW_BUILD:?XGW_BUILD must name the build directory}
SRC=${XGW_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
ID=$$
NS_N=xbtls$ID-n NS_C=xbtls$ID-c
PIN=/sys/fs/bpf/xgw-btls-$ID
TMP=$(mktemp -d /tmp/xgw-btls.XXXXXX)
CONF=$TMP/config
PKI=$TMP/pki
STATUS=$TMP/status.json
GW=10.26.100.1
BE=10.26.1.10
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
e2e_begin 13

# --- certificates ----------------------------------------------------------
mkdir -p "$CONF" "$PKI"
ca backend-ca && ca other-ca && ca client-ca &&
	leaf backend backend-ca 'DNS:backend.example.test,URI:spiffe://example.test/backend' \
		ec serverAuth &&
	leaf gw-client client-ca DNS:gw-client ec clientAuth || {
	echo "Bail out! openssl cannot make the test certificates: $(tail -3 "$TMP/openssl.log")"
	exit 1
}
configmap() { # name, CA
	printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: %s, namespace: default}\n' "$1"
	printf 'data:\n  ca.crt: |\n'
	sed 's/^/    /' "$PKI/$2.crt"
}
{
	configmap backend-ca backend-ca
	echo ---
	configmap other-ca other-ca
	echo ---
	printf 'apiVersion: v1\nkind: Secret\nmetadata: {name: gw-client, namespace: default}\n'
	printf 'type: kubernetes.io/tls\ndata:\n'
	printf '  tls.crt: %s\n' "$(base64 -w0 <"$PKI/gw-client.crt")"
	printf '  tls.key: %s\n' "$(base64 -w0 <"$PKI/gw-client.key")"
	echo ---
	printf 'apiVersion: v1\nkind: Secret\nmetadata: {name: serving, namespace: default}\n'
	printf 'type: kubernetes.io/tls\ndata:\n'
	printf '  tls.crt: %s\n' "$(base64 -w0 <"$PKI/backend.crt")"
	printf '  tls.key: %s\n' "$(base64 -w0 <"$PKI/backend.key")"
} >"$CONF/pki.yaml"

# A Service <name> whose port "https" (443) goes to <BE>:<target>, and its slice.
service() { # name target
	cat <<EOF
---
apiVersion: v1
kind: Service
metadata: {name: $1, namespace: default}
spec:
  ports: [{name: https, port: 443, targetPort: $2}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: $1-x
  namespace: default
  labels: {kubernetes.io/service-name: $1}
addressType: IPv4
ports: [{name: https, port: $2, protocol: TCP}]
endpoints: [{addresses: ["$BE"], conditions: {ready: true}}]
EOF
}
# A BackendTLSPolicy <name> on Service <svc>: CA ConfigMap, hostname, SANs (YAML).
policy() { # name svc ca hostname [sans]
	cat <<EOF
---
apiVersion: gateway.networking.k8s.io/v1
kind: BackendTLSPolicy
metadata: {name: $1, namespace: default}
spec:
  targetRefs: [{group: "", kind: Service, name: $2, sectionName: https}]
  validation:
    caCertificateRefs: [{group: "", kind: ConfigMap, name: $3}]
    hostname: $4
EOF
	[ -n "${5:-}" ] && printf '    subjectAltNames: %s\n' "$5"
	return 0
}
rule() { # path svc port
	printf '  - matches: [{path: {type: PathPrefix, value: /%s}}]\n' "$1"
	printf '    backendRefs: [{name: %s, port: %s}]\n' "$2" "$3"
}
{
	cat <<'EOF'
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
    backend:
      clientCertificateRef: {name: gw-client}
  listeners:
  - {name: http, protocol: HTTP, port: 80}
  - {name: https, protocol: HTTPS, port: 443, tls: {certificateRefs: [{name: serving}]}}
---
# the HTTPS listener: the HTTP/2-over-TLS backend of svc-h2 (hairpin)
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: inner, namespace: default}
spec:
  parentRefs: [{name: eg, sectionName: https}]
  rules: [{backendRefs: [{name: plain, port: 80}]}]
---
apiVersion: v1
kind: Service
metadata: {name: svc-h2, namespace: default}
spec:
  ports: [{name: https, port: 443, appProtocol: kubernetes.io/h2c}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: svc-h2-x
  namespace: default
  labels: {kubernetes.io/service-name: svc-h2}
addressType: IPv4
ports: [{name: https, port: 443, protocol: TCP}]
endpoints: [{addresses: ["10.26.100.1"], conditions: {ready: true}}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r, namespace: default}
spec:
  parentRefs: [{name: eg, sectionName: http}]
  rules:
EOF
	rule ok svc-ok 443
	rule wrongca svc-wrongca 443
	rule hostbad svc-hostbad 443
	rule sanuri svc-sanuri 443
	rule sanbad svc-sanbad 443
	rule mtls svc-mtls 443
	rule noca svc-noca 443
	rule plain plain 80
	rule h2tls svc-h2 443
	service svc-ok 9443
	service svc-wrongca 9443
	service svc-hostbad 9443
	service svc-sanuri 9443
	service svc-sanbad 9443
	service svc-mtls 9444
	service svc-noca 9443
	policy p-ok svc-ok backend-ca backend.example.test
	policy p-wrongca svc-wrongca other-ca backend.example.test
	policy p-hostbad svc-hostbad backend-ca other.example.test
	policy p-sanuri svc-sanuri backend-ca sni.example.test \
		'[{type: URI, uri: "spiffe://example.test/backend"}]'
	policy p-sanbad svc-sanbad backend-ca backend.example.test \
		'[{type: Hostname, hostname: nope.example.test}]'
	policy p-mtls svc-mtls backend-ca backend.example.test
	policy p-noca svc-noca missing-ca backend.example.test
	policy p-h2 svc-h2 backend-ca backend.example.test
	# p-ok-2 is younger (same file: then by name) and targets svc-ok's port too
	policy p-ok-2 svc-ok other-ca backend.example.test
} >"$CONF/gateway.yaml"
sed 's/10\.23\.1\.10/10.26.1.10/; s/"10.26.1.10"/"10.26.1.10"/' \
	"$SRC/examples/quickstart/backend.yaml" |
	sed 's/name: backend-1$/name: plain/; s/service-name: backend-1/service-name: plain/' \
		>"$CONF/plain.yaml"

# --- the node, the client, the backends, the agent -------------------------
e2e_node_client "$NS_N" "$NS_C" "xbt$ID" 10.26 || {
	echo "Bail out! cannot create namespaces"
	exit 1
}
ip -n "$NS_N" addr add "$BE/32" dev lo
nsenter --net=/run/netns/"$NS_N" python3 "$SRC/selftests/e2e/tls_backend.py" "$BE" 9443 \
	"$PKI/backend.crt" "$PKI/backend.key" </dev/null >"$TMP/be1.log" 2>&1 &
PIDS+=($!)
nsenter --net=/run/netns/"$NS_N" python3 "$SRC/selftests/e2e/tls_backend.py" "$BE" 9444 \
	"$PKI/backend.crt" "$PKI/backend.key" "$PKI/client-ca.crt" </dev/null >"$TMP/be2.log" 2>&1 &
PIDS+=($!)
nsenter --net=/run/netns/"$NS_N" "$BUILD/tools/xgw-echo" --listen "$BE:8080" \
	--name plain --namespace default --mode json --quiet </dev/null >/dev/null 2>&1 &
PIDS+=($!)
nsenter --net=/run/netns/"$NS_N" "$BUILD/agent/xgw-agent" --config-dir "$CONF" \
	--address-pool 10.26.100.0/24 --workers 1 --pin-dir "$PIN" --status-file "$STATUS" \
	--workers-file "$TMP/workers.json" </dev/null >"$TMP/agent.log" 2>&1 &
PIDS+=($!)

get() { cx curl -s --max-time 5 "$@"; }
code() { get -o /dev/null -w '%{http_code}' "http://$GW/$1"; }
field() { # path key: the backend's JSON answer's <key>
	get "http://$GW/$1" | python3 -c "import json,sys; print(json.load(sys.stdin).get('$2'))" \
		2>/dev/null
}
up() { [ "$(code plain)" = 200 ]; }
if ! wait_for 150 up; then
	not_ok "the Gateway serves" "$(tail -5 "$TMP/agent.log")"
	exit 1
fi

# 1. SNI = the policy's hostname; the chain verifies against the ConfigMap's CA.
sni=$(field ok sni)
if [ "$sni" = backend.example.test ] && [ "$(code ok)" = 200 ]; then
	ok "TLS to the backend: SNI $sni, chain verified against the policy's CA"
else
	not_ok "TLS to the backend" "sni: $sni, code: $(code ok)" "$(tail -5 "$TMP/agent.log")"
fi

# 2. Keep-alive: two requests one after the other take the same TLS connection.
p1=$(field ok client_port) p2=$(field ok client_port)
if [ -n "$p1" ] && [ "$p1" != None ] && [ "$p1" = "$p2" ]; then
	ok "keep-alive: the second request reuses the TLS connection (port $p1)"
else
	not_ok "keep-alive reuse of TLS connections" "ports: $p1 / $p2"
fi

# 3. Another CA: the chain does not verify.
c=$(code wrongca)
if [ "$c" = 502 ]; then
	ok "a certificate the policy's CA did not sign: 502"
else
	not_ok "a certificate the policy's CA did not sign: 502" "got $c"
fi

# 4. Hostname not in the certificate (no subjectAltNames: the hostname is checked).
c=$(code hostbad)
if [ "$c" = 502 ]; then
	ok "a certificate without the policy's hostname: 502"
else
	not_ok "a certificate without the policy's hostname: 502" "got $c"
fi

# 5. subjectAltNames: a URI SAN matches (the hostname is then only the SNI).
sni=$(field sanuri sni)
if [ "$sni" = sni.example.test ] && [ "$(code sanuri)" = 200 ]; then
	ok "subjectAltNames URI matches: 200, SNI is still the hostname ($sni)"
else
	not_ok "subjectAltNames URI matches" "sni: $sni, code: $(code sanuri)"
fi

# 6. subjectAltNames: a DNS SAN the certificate does not have.
c=$(code sanbad)
if [ "$c" = 502 ]; then
	ok "subjectAltNames that the certificate does not have: 502"
else
	not_ok "subjectAltNames that the certificate does not have: 502" "got $c"
fi

# 7. The Gateway's client certificate, to a backend that requires one.
cn=$(field mtls peer_cn)
if [ "$cn" = gw-client ]; then
	ok "the Gateway presents spec.tls.backend.clientCertificateRef (backend saw CN $cn)"
else
	not_ok "the Gateway presents its client certificate" "peer CN: $cn"
fi

# 8. A policy whose CA ConfigMap does not exist: requests fail, status says why.
c=$(code noca)
pst() { # policy: "Accepted/reason ResolvedRefs/reason" of its first ancestor
	python3 - "$STATUS" "$1" <<'EOF'
import json, sys
st = json.load(open(sys.argv[1]))
for p in st.get("backendTLSPolicies", []):
    if p["name"] == sys.argv[2]:
        a = p["status"]["ancestors"][0]
        c = {x["type"]: x["status"] + "/" + x["reason"] for x in a["conditions"]}
        print(a["ancestorRef"]["name"], c.get("Accepted"), c.get("ResolvedRefs"))
EOF
}
s=$(pst p-noca)
if [ "$c" = 500 ] && [ "$s" = "eg False/NoValidCACertificate False/InvalidCACertificateRef" ]; then
	ok "a policy without a usable CA: 500; status Accepted=False NoValidCACertificate"
else
	not_ok "a policy without a usable CA" "code $c, status: $s"
fi

# 9. Statuses: the accepted policy, the conflicting younger one.
s1=$(pst p-ok) s2=$(pst p-ok-2)
if [ "$s1" = "eg True/Accepted True/ResolvedRefs" ] &&
	[ "${s2% *}" = "eg False/Conflicted" ]; then
	ok "status.ancestors: p-ok Accepted, p-ok-2 (younger, same Service port) Conflicted"
else
	not_ok "policy statuses" "p-ok: $s1" "p-ok-2: $s2"
fi

# 10. A backend without a policy is still spoken to in plain HTTP.
c=$(code plain)
if [ "$c" = 200 ]; then
	ok "a Service without a policy: plain HTTP as before"
else
	not_ok "a Service without a policy: plain HTTP as before" "got $c"
fi

# 11. HTTP/2 over TLS: the h2c port with a policy is spoken to in h2 with ALPN;
# the Gateway's HTTPS listener answers it (the request reaches xgw-echo with
# X-Forwarded-Proto https), and the workers count an upstream HTTP/2
# connection and a downstream HTTP/2 session, which only this hop makes.
counter() { # name: the sum over the workers
	python3 -c 'import json,sys; print(sum(w.get(sys.argv[2],0) for w in json.load(open(sys.argv[1]))["workers"]))' \
		"$TMP/workers.json" "$1" 2>/dev/null
}
xfp=$(get "http://$GW/h2tls" |
	python3 -c 'import json,sys; print(json.load(sys.stdin)["headers"]["X-Forwarded-Proto"][0])' \
		2>/dev/null)
# the workers file is written every 2 s, with the counters of the last poll
h2_counted() { [ "$(counter h2up_conns)" -ge 1 ] && [ "$(counter h2_sessions)" -ge 1 ]; }
wait_for 60 h2_counted
h2up=$(counter h2up_conns) h2s=$(counter h2_sessions)
if [ "$xfp" = https ] && [ "${h2up:-0}" -ge 1 ] && [ "${h2s:-0}" -ge 1 ]; then
	ok "HTTP/2 over TLS (ALPN h2) to an h2c port with a policy ($h2up h2up_conns, $h2s h2_sessions)"
else
	not_ok "HTTP/2 over TLS to an h2c port with a policy" "X-Forwarded-Proto: $xfp" \
		"h2up_conns $h2up, h2_sessions $h2s" "$(tail -3 "$TMP/agent.log")"
fi

# 12. The failures were logged and counted (upstream_errors), the worker stayed up.
errs_counted() { [ "$(counter upstream_errors)" -ge 3 ]; }
wait_for 60 errs_counted
errs=$(counter upstream_errors)
if grep -q 'backend TLS default/p-' "$TMP/agent.log" && [ "${errs:-0}" -ge 3 ] &&
	[ "$(code ok)" = 200 ]; then
	ok "handshake failures are logged and counted ($errs upstream_errors)"
else
	not_ok "handshake failures are logged and counted" "upstream_errors: $errs" \
		"$(grep -c 'backend TLS' "$TMP/agent.log") log lines"
fi
# 13. A CA change is a live edit: other-ca's ConfigMap now holds backend-ca,
# so p-wrongca's backend verifies (a new client context), and svc-ok's pooled
# connection is still the one it was (its context did not change).
p1=$(field ok client_port)
{
	configmap backend-ca backend-ca
	echo ---
	configmap other-ca backend-ca
	echo ---
	sed -n '/^kind: Secret/,$p' "$CONF/pki.yaml" | sed '1s/^/apiVersion: v1\n/'
} >"$TMP/pki.yaml.new"
mv "$TMP/pki.yaml.new" "$CONF/pki.yaml"
fixed() { [ "$(code wrongca)" = 200 ]; }
if wait_for 100 fixed && [ "$(field ok client_port)" = "$p1" ]; then
	ok "a changed CA ConfigMap applies live; unchanged policies keep their pooled connections"
else
	not_ok "a changed CA ConfigMap applies live" "wrongca: $(code wrongca)" \
		"svc-ok port before $p1, after $(field ok client_port)" "$(tail -3 "$TMP/agent.log")"
fi
grep -E "backend TLS|BackendTLSPolicy" "$TMP/agent.log" | sed "s/^/# /"
[ "$failed" -eq 0 ]
