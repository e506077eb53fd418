#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# Prometheus metrics (--metrics): the quick start's Gateway with XDP on the
# node's veth and the agent serving /metrics on the node's loopback. Traffic
# from the client namespace shows in the workers' counters (requests, 4xx),
# the listener's XDP counters and the XDP verdicts; a route added and a route
# to a missing Service show in the change counters, the serving histogram and
# the problems gauge, and their responses in the counters per route (a
# redirect's too), which keep what a killed worker counted; an
# EndpointSlice-only change counts under the fast path. The text is checked
# against the exposition format (prom_format.py). 40 idle connections (more
# than the server's slots) do not lock out a scrape and are closed after 2 s;
# other paths get 404, other methods 405, a NUL or TLS bytes 400, a head too
# large 431, and answers arrive whole with bytes left unread behind them. A
# listener that takes another's XDP counter slot starts from zero. Scrapes
# within 100 ms share one rendering, unless the generation changed. A bad
# --metrics address stops the agent with a message naming it.
# Prints TAP. Needs root.
set -uo pipefail
BUILD=${XGW_BUILD:?XGW_BUILD must name the build directory}
SRC=${XGW_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
ID=$$
NS_N=xm$ID-n NS_C=xm$ID-c
PIN=/sys/fs/bpf/xgw-metrics-$ID
TMP=$(mktemp -d /tmp/xgw-metrics.XXXXXX)
CONF=$TMP/config
PORT=9464
. "$SRC/selftests/e2e/lib.sh"
E2E_NETNS=("$NS_C" "$NS_N")
E2E_PATHS=("$PIN" "$TMP")
cx() { ip netns exec "$NS_C" "$@"; }
nx() { nsenter --net=/run/netns/"$NS_N" "$@"; }
code() { cx curl -s --max-time 1 -o /dev/null -w '%{http_code}' -H "Host: $1" "http://10.27.100.1/"; }
scrape() { nx curl -s --max-time 2 "http://127.0.0.1:$PORT/metrics" >"$TMP/m.txt"; }
# the sum of the samples of metric $1 whose labels contain $2 (or all)
metric() {
	awk -v name="$1" -v want="${2:-}" '
		$1 == name || index($1, name "{") == 1 { if (want == "" || index($1, want)) s += $2; seen = 1 }
		END { if (seen) printf "%d\n", s; else print "none" }' "$TMP/m.txt"
}

format_ok() { python3 "$SRC/selftests/e2e/prom_format.py" "$TMP/m.txt"; }

e2e_begin 13

if ! e2e_node_client "$NS_N" "$NS_C" "xm$ID" 10.27; then
	echo "Bail out! cannot create namespaces"
	exit 1
fi
ip -n "$NS_N" addr add 10.27.1.10/32 dev lo
ip -n "$NS_N" link set lo up
mkdir -p "$CONF"
sed 's/10\.23\.1\.10/10.27.1.10/' "$SRC/examples/quickstart/backend.yaml" >"$CONF/backend.yaml"
cp "$SRC/examples/quickstart/gateway.yaml" "$CONF/gateway.yaml"
nsenter --net=/run/netns/"$NS_N" "$BUILD/tools/xgw-echo" --listen 10.27.1.10:8080 --name backend-1 --mode json --quiet \
	</dev/null >/dev/null 2>&1 &
PIDS+=($!)
# started directly, not through nx(): $! must be the process itself (lib.sh)
nsenter --net=/run/netns/"$NS_N" "$BUILD/agent/xgw-agent" --config-dir "$CONF" --workers 2 \
	--address-pool 10.27.100.0/24 --interface "xm$ID-n" --pin-dir "$PIN" \
	--status-file "$TMP/status.json" --workers-file "$TMP/workers.json" \
	--metrics "127.0.0.1:$PORT" </dev/null >"$TMP/agent.log" 2>&1 &
AGENT=$!
PIDS+=($AGENT)

serves() { [ "$(code app.yourdomain.com)" = 200 ]; }
wait_for 100 serves
programmed() { scrape && [ "$(metric xgw_generation_programmed)" = 1 ]; }
wait_for 50 programmed
hdr=$(nx curl -s --max-time 2 -D - -o /dev/null "http://127.0.0.1:$PORT/metrics" | tr -d '\r')
if programmed && grep -qi '^content-type: text/plain; version=0.0.4' <<<"$hdr" &&
	[ "$(metric xgw_generation)" -ge 1 ] && [ "$(metric xgw_gateways)" = 1 ] &&
	[ "$(metric xgw_listener_attached_routes 'listener="http"')" = 1 ] &&
	[ "$(metric xgw_worker_up)" = 2 ]; then
	ok "GET /metrics: text format 0.0.4; generation programmed, 1 Gateway, 1 route attached, 2 workers up"
else
	not_ok "GET /metrics: generation programmed, 1 Gateway, 1 route attached, 2 workers up" \
		"$hdr" "$(head -c 600 "$TMP/m.txt")" "$(tail -3 "$TMP/agent.log")"
fi

# the exposition format, as a scraper parses it
if format_ok
then ok "every line parses as the text exposition format; histograms cumulative, +Inf = _count"
else not_ok "the text parses as the exposition format" "$(head -c 400 "$TMP/m.txt")"; fi

# traffic: 30 requests served, 10 for a host no route has (404)
for _ in $(seq 30); do code app.yourdomain.com >/dev/null; done
for _ in $(seq 10); do code nobody.example >/dev/null; done
counted() { scrape && [ "$(metric xgw_worker_requests_total)" -ge 40 ] && [ "$(metric xgw_worker_responses_4xx_total)" -ge 10 ]; }
wait_for 60 counted # the agent asks the workers every 2 s
if counted && [ "$(metric xgw_worker_conns_accepted_total)" -ge 40 ]; then
	ok "workers' counters: $(metric xgw_worker_requests_total) requests, $(metric xgw_worker_responses_4xx_total) 4xx, $(metric xgw_worker_conns_accepted_total) connections"
else
	not_ok "workers' counters count the 40 requests and 10 4xx" "$(grep '^xgw_worker_' "$TMP/m.txt" | head -12)"
fi
syns=$(metric xgw_listener_syns_total 'address="10.27.100.1",port="80",protocol="tcp"')
pass=$(metric xgw_xdp_packets_total 'verdict="pass_listener"')
if [ "$syns" != none ] && [ "$syns" -ge 40 ] && [ "$pass" -ge 200 ] &&
	[ "$(metric xgw_listener_packets_total 'address="10.27.100.1"')" -ge "$pass" ]; then
	ok "XDP counters: $syns SYNs and $(metric xgw_listener_packets_total 'address="10.27.100.1"') packets to 10.27.100.1:80, $pass pass_listener verdicts"
else
	not_ok "XDP counters count the connections" "syns $syns pass $pass" "$(grep -E '^xgw_(xdp|listener)_' "$TMP/m.txt" | head)"
fi

# a change: a second route, a route to a Service that does not exist, a redirect
scrape
routes=$(metric xgw_config_changes_total 'path="routes"') served=$(metric xgw_change_to_serving_seconds_count)
gen=$(metric xgw_generation)
cat >"$TMP/more.yaml" <<EOF
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: second, namespace: default}
spec:
  parentRefs: [{name: eg}]
  hostnames: [second.example]
  rules: [{backendRefs: [{name: backend-1, port: 80}]}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: broken, namespace: default}
spec:
  parentRefs: [{name: eg}]
  hostnames: [broken.example]
  rules: [{backendRefs: [{name: missing, port: 80}]}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: redir, namespace: default}
spec:
  parentRefs: [{name: eg}]
  hostnames: [redir.example]
  rules: [{filters: [{type: RequestRedirect, requestRedirect: {hostname: app.yourdomain.com, statusCode: 301}}]}]
EOF
mv "$TMP/more.yaml" "$CONF/more.yaml"
changed() { scrape && [ "$(metric xgw_generation_programmed)" = 1 ] && [ "$(metric xgw_generation)" -gt "$gen" ]; }
wait_for 50 changed
if changed && [ "$(code second.example)" = 200 ] &&
	[ "$(metric xgw_config_changes_total 'path="routes"')" -gt "$routes" ] &&
	[ "$(metric xgw_reconcile_duration_seconds_count 'path="routes"')" -ge 1 ] &&
	[ "$(metric xgw_change_to_serving_seconds_count)" -gt "$served" ] &&
	[ "$(metric xgw_config_problems)" -ge 1 ] &&
	[ "$(metric xgw_route_parents 'kind="HTTPRoute",accepted="true"')" = 4 ] &&
	[ "$(metric xgw_route_parents_unresolved 'kind="HTTPRoute"')" = 1 ] &&
	[ "$(metric xgw_listener_attached_routes 'listener="http"')" = 4 ]; then
	ok "a change of routes alone: generation $gen -> $(metric xgw_generation), counted as a snapshot patch (path=\"routes\"), serving histogram counted, $(metric xgw_config_problems) problem(s), 4 routes attached, 1 unresolved"
else
	not_ok "a change shows in the change counters, histogram, problems and attached routes" \
		"$(grep -E '^xgw_(generation|config|change_to_serving_seconds_count|route_parents|listener_attached)' "$TMP/m.txt")"
fi

# responses per route: the workers' counters per route, merged
for _ in $(seq 3); do code broken.example >/dev/null; code redir.example >/dev/null; done
per_route() {
	scrape && [ "$(metric xgw_route_responses_total 'route="backend",code="2xx"')" -ge 31 ] &&
		[ "$(metric xgw_route_responses_total 'route="broken",code="5xx"')" = 3 ] &&
		[ "$(metric xgw_route_responses_total 'route="redir",code="3xx"')" = 3 ]
}
wait_for 60 per_route
if per_route && format_ok && [ "$(metric xgw_route_responses_total 'route="second",code="2xx"')" -ge 1 ] &&
	[ "$(metric xgw_route_responses_total 'code="4xx"')" = 0 ] &&
	[ "$(metric xgw_route_responses_total 'namespace="default"')" = "$(metric xgw_route_responses_total)" ]; then
	ok "responses per route: backend $(metric xgw_route_responses_total 'route="backend",code="2xx"') 2xx, broken 3 5xx, redir 3 3xx, second 1 2xx; the 404s no route matched are not counted under a route"
else
	not_ok "responses per route" "$(grep '^xgw_route_responses_total' "$TMP/m.txt" | grep -v ' 0$')"
fi

# A worker killed: what it counted stays in the totals (the agent keeps the
# counts of workers that are gone), and its successor's add to them.
sleep 2.5 # every worker's counters sent since the last requests
scrape
before=$(metric xgw_route_responses_total 'route="backend",code="2xx"')
w0=$(pgrep -P "$AGENT" -f 'xgw-worker --id 0')
kill -KILL "$w0"
restarted() { p=$(pgrep -P "$AGENT" -f 'xgw-worker --id 0') && [ "$p" != "$w0" ]; }
wait_for 50 restarted
for _ in $(seq 8); do code app.yourdomain.com >/dev/null; done
kept() { scrape && [ "$(metric xgw_route_responses_total 'route="backend",code="2xx"')" -ge $((before + 8)) ]; }
wait_for 60 kept
if restarted && kept; then
	ok "a worker killed and restarted: the route's 2xx total went on from $before to $(metric xgw_route_responses_total 'route="backend",code="2xx"'), never down"
else
	not_ok "a killed worker's counts stay in the totals" "before $before, now $(metric xgw_route_responses_total 'route="backend",code="2xx"')"
fi

# an EndpointSlice alone changes (a second endpoint, not ready): the fast path
eps=$(metric xgw_config_changes_total 'path="endpoints"')
{ cat "$CONF/backend.yaml"; printf -- '- addresses:\n  - "10.27.1.11"\n  conditions:\n    ready: false\n'; } >"$TMP/be.yaml"
mv "$TMP/be.yaml" "$CONF/backend.yaml"
fast() { scrape && [ "$(metric xgw_config_changes_total 'path="endpoints"')" -gt "$eps" ]; }
wait_for 50 fast
if fast && [ "$(metric xgw_reconcile_duration_seconds_count 'path="endpoints"')" -ge 1 ] &&
	[ "$(metric xgw_config_errors_total)" = 0 ] && [ "$(code app.yourdomain.com)" = 200 ]; then
	ok "an EndpointSlice-only change: counted under path=\"endpoints\" with its reconcile time; no error counted"
else
	not_ok "an EndpointSlice-only change counts under path=endpoints" "$(grep -E '^xgw_config_(changes|errors)' "$TMP/m.txt")"
fi

# 40 idle connections (more than the server's 32 slots; a slow scraper, or a
# client that never sends) do not lock out the next scrape: the longest idle
# gives its slot up. The idle ones are closed 2 s after they connected.
nsenter --net=/run/netns/"$NS_N" python3 - "$PORT" "$TMP/idle.ok" <<'EOF' &
import socket, sys, time
idle = [socket.create_connection(('127.0.0.1', int(sys.argv[1])), timeout=2) for _ in range(40)]
for s in idle[:10]:
    s.sendall(b'GET /metr')  # half a request line
open(sys.argv[2], 'w').write('open\n')
time.sleep(3)
closed = 0
for s in idle:
    try:
        closed += s.recv(1) == b''
    except OSError:
        closed += 1
open(sys.argv[2], 'a').write('%d closed\n' % closed)
EOF
IDLE=$!
PIDS+=($IDLE)
wait_for 30 test -e "$TMP/idle.ok"
t0=$(date +%s%N)
if [ -e "$TMP/idle.ok" ] && scrape && [ "$(metric xgw_generation_programmed)" = 1 ] && [ $(( ($(date +%s%N) - t0) / 1000000 )) -lt 1500 ]; then
	idle_ok=1
else
	idle_ok=0
fi
wait "$IDLE" 2>/dev/null
if [ "$idle_ok" = 1 ] && grep -q "^40 closed" "$TMP/idle.ok"; then
	ok "40 idle connections (10 with half a request): a scrape is still answered; all 40 closed after 2 s"
else
	not_ok "a scrape is answered beside 40 idle connections, which are closed" "$(cat "$TMP/idle.ok")" "$(tail -3 "$TMP/agent.log")"
fi

c404=$(nx curl -s --max-time 2 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/")
c405=$(nx curl -s --max-time 2 -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$PORT/metrics")
chead=$(nx curl -s --max-time 2 -o /dev/null -w '%{http_code} %{size_download}' -I "http://127.0.0.1:$PORT/metrics")
# raw requests: the answer arrives whole even with unread bytes behind it (a
# body, a second request, a head too large), never cut short by a reset
raw=$(nsenter --net=/run/netns/"$NS_N" python3 - "$PORT" <<'EOF'
import socket, sys
def ask(data):
    s = socket.create_connection(('127.0.0.1', int(sys.argv[1])), timeout=3)
    s.sendall(data)
    got = b''
    try:
        while True:
            d = s.recv(65536)
            if not d:
                break
            got += d
    except OSError as e:
        return 'reset' if not got else got.split(b' ')[1].decode() + '+' + type(e).__name__
    head, _, body = got.partition(b'\r\n\r\n')
    length = [int(l.split(b':')[1]) for l in head.split(b'\r\n') if l.lower().startswith(b'content-length:')]
    return got.split(b' ')[1].decode() + ('' if length and length[0] == len(body) else '-short')
print(ask(b'POST /metrics HTTP/1.1\r\nContent-Length: 100000\r\n\r\n' + b'x' * 100000),
      ask(b'GET /metrics HTTP/1.1\r\n\r\nGET /metrics HTTP/1.1\r\n\r\n' + b'y' * 50000),
      ask(b'GET /metrics HTTP/1.1\r\nX: ' + b'z' * 5000 + b'\r\n\r\n'),
      ask(b'GET /metrics\0 HTTP/1.1\r\n\r\n'),
      ask(b'\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n'))
EOF
)
if [ "$c404" = 404 ] && [ "$c405" = 405 ] && [ "$chead" = "200 0" ] && [ "$raw" = "405 200 431 400 400" ]; then
	ok "GET / is 404, POST /metrics is 405, HEAD /metrics is 200 without a body; with bytes left unread 405, 200 and 431 arrive whole; a NUL or TLS bytes get 400"
else
	not_ok "other paths 404, other methods 405, HEAD without a body, answers whole" "$c404 $c405 $chead" "raw: $raw"
fi

# Two scrapes 30 ms apart get the same text (one rendering for a burst of
# scrapes): even the counters' age, in milliseconds, is the same; 200 ms later
# the text is new.
burst=$(nsenter --net=/run/netns/"$NS_N" python3 - "$PORT" <<'EOF'
import sys, time, urllib.request
url = 'http://127.0.0.1:%s/metrics' % sys.argv[1]
get = lambda: urllib.request.urlopen(url, timeout=2).read()
a = get(); time.sleep(0.03); b = get(); time.sleep(0.2); c = get()
print('same' if a == b else 'differ', 'same' if a == c else 'differ')
EOF
)
if [ "$burst" = "same differ" ]; then
	ok "two scrapes 30 ms apart: one rendering, the same text; 200 ms later a new one"
else
	not_ok "a burst of scrapes shares one rendering" "$burst"
fi

# The Gateway's listener moves to port 8080: the new listener takes the old
# one's XDP counter slot (the snapshot's listener index), and starts from zero.
old=$(metric xgw_listener_packets_total 'port="80"')
sed 's/^    port: 80$/    port: 8080/' "$CONF/gateway.yaml" >"$TMP/gw.yaml" && mv "$TMP/gw.yaml" "$CONF/gateway.yaml"
moved() { [ "$(cx curl -s --max-time 1 -o /dev/null -w '%{http_code}' -H 'Host: app.yourdomain.com' http://10.27.100.1:8080/)" = 200 ]; }
wait_for 50 moved
scrape
new=$(metric xgw_listener_packets_total 'port="8080"')
if moved && [ "$new" != none ] && [ "$new" -ge 1 ] && [ "$new" -lt 60 ] && [ "$old" -ge 200 ]; then
	ok "a listener moved to port 8080: its XDP counters start from zero ($new packets), not from the $old of the slot's last owner"
else
	not_ok "a new listener's XDP counters start from zero" "port 80 had $old, port 8080 has $new"
fi

out=$(nx timeout 10 "$BUILD/agent/xgw-agent" --config-dir "$CONF" --workers 1 \
	--pin-dir "$PIN-bad" --status-file "$TMP/s2.json" --workers-file "$TMP/w2.json" \
	--metrics "localhost:nine" </dev/null 2>&1)
rc=$?
rm -rf "$PIN-bad"
if [ "$rc" = 1 ] && grep -q -- "--metrics localhost:nine: not ADDR:PORT" <<<"$out" && moved; then
	ok "a bad --metrics address: the agent says so and stops (exit 1); the running one still serves"
else
	not_ok "a bad --metrics address stops the agent with a message" "rc $rc" "$(tail -3 <<<"$out")"
fi
exit 0
