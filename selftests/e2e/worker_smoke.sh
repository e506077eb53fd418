#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# The worker alone, without agent or BPF: worker-launch plays the agent
# (snapshots over the control socket), xgw-echo is the upstream, curl and
# bash's /dev/tcp are the clients. Checks 503 before the first snapshot,
# routing (host, path, IPv4/IPv6 listeners), the gateway's own 404/500/502/503,
# proxy headers, keep-alive, request bodies, a malformed request, snapshot
# swap and rejection, stats, the agent going away, and drain. Snapshot format
# 2: method, header, query and regex matches, redirect, URL rewrite, request
# and response header filters, a mirror, request and backendRequest timeouts
# (a small python3 server, "aux", logs what it gets and sleeps on /slow-*),
# and a regex that does not compile. Snapshot format 3: retries (aux's
# /retry/KEY?fail=N&code=C fails N times per KEY, with status C or a TCP
# reset, then answers 200) and a CORS filter. Loopback only; every wait is
# bounded.
# Prints TAP.
set -uo pipefail
BUILD=${XGW_BUILD:?XGW_BUILD must name the build directory}
WORKER=$BUILD/user/xgw-worker
ECHO=$BUILD/tools/xgw-echo
LAUNCH=$BUILD/selftests/worker-launch
TMP=$(mktemp -d /tmp/xgw-worker-smoke.XXXXXX)
ECHO_PID=""
AUX_PID=""
LAUNCH_PID=""
n=0
failed=0

ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; shift; for l in "$@"; do echo "#   $l"; done; }
expect() { # name, want, got
	if [ "$3" = "$2" ]; then ok "$1"; else not_ok "$1" "want: $2" "got: $3"; fi
}
expect_match() { # name, regex, got
	if [[ $3 =~ $2 ]]; then ok "$1"; else not_ok "$1" "want match: $2" "got: ${3:0:300}"; fi
}

cleanup() {
	local p
	[ -n "$LAUNCH_PID" ] && exec {L_IN}>&- 2>/dev/null
	for p in $LAUNCH_PID $ECHO_PID $AUX_PID; do kill -TERM "$p" 2>/dev/null || true; done
	for p in $LAUNCH_PID $ECHO_PID $AUX_PID; do
		for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "TAP version 13"
echo "1..80"
for f in "$WORKER" "$ECHO" "$LAUNCH"; do
	[ -x "$f" ] || { echo "Bail out! $f not built"; exit 1; }
done
command -v curl >/dev/null || { echo "Bail out! curl missing"; exit 1; }
command -v python3 >/dev/null || { echo "Bail out! python3 missing"; exit 1; }

# --- upstream: xgw-echo on a free port (bounded tries) ----------------------
for _ in 1 2 3 4 5; do
	UP_PORT=$((20000 + RANDOM % 20000))
	"$ECHO" --listen "127.0.0.1:$UP_PORT" --mode json --quiet 2>"$TMP/echo.log" &
	ECHO_PID=$!
	for _ in $(seq 20); do
		curl -s -o /dev/null "http://127.0.0.1:$UP_PORT/health" && break 2
		kill -0 "$ECHO_PID" 2>/dev/null || break
		sleep 0.1
	done
	kill "$ECHO_PID" 2>/dev/null; wait "$ECHO_PID" 2>/dev/null; ECHO_PID=""
done
[ -n "$ECHO_PID" ] || { echo "Bail out! xgw-echo did not start"; exit 1; }

# --- aux: logs each request, sleeps on /slow-* (bounded), port 0 -----------
cat >"$TMP/aux.py" <<'PY'
import http.server, socket, struct, sys, threading, time, urllib.parse
log = open(sys.argv[1], "a", buffering=1)
tries = {}
lock = threading.Lock()
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def retry(self):
        u = urllib.parse.urlsplit(self.path)
        q = dict(urllib.parse.parse_qsl(u.query))
        data = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        with lock:
            n = tries[u.path] = tries.get(u.path, 0) + 1
        log.write("TRY %s %d %.3f\n" % (u.path, n, time.monotonic()))
        if n <= int(q.get("fail", "0")):
            if q.get("code", "rst") == "rst":
                self.request.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                        struct.pack("ii", 1, 0))
                self.request.close()
                self.close_connection = True
                return
            if q["code"] == "sleep":
                time.sleep(1)
                code = 200
            else:
                code = int(q["code"])
        else:
            code = 200
        body = ("try %d%s\n" % (n, " " + data.decode() if data else "")).encode()
        try:
            self.send_response(code)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except OSError:
            pass
    def do_GET(self):
        if self.path.startswith(("/retry/", "/mixed", "/rtmo")):
            return self.retry()
        log.write("%s %s host=%s conn=%s\n" % (self.command, self.path,
                  self.headers.get("Host"), self.headers.get("Connection")))
        n = int(self.headers.get("Content-Length") or 0)
        if n:
            self.rfile.read(n)
        if self.path.startswith(("/slow-req", "/slow-be")):
            time.sleep(2)
        elif self.path.startswith("/slow-ok"):
            time.sleep(1)
        body = b"aux\n"
        try:
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except OSError:
            pass
    do_POST = do_GET
    def log_message(self, *a):
        pass
s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
s.daemon_threads = True
print(s.server_address[1], flush=True)
s.serve_forever()
PY
python3 "$TMP/aux.py" "$TMP/aux.log" >"$TMP/aux.port" 2>"$TMP/aux.err" &
AUX_PID=$!
for _ in $(seq 50); do [ -s "$TMP/aux.port" ] && break; sleep 0.1; done
AUX_PORT=$(head -1 "$TMP/aux.port")
[[ $AUX_PORT =~ ^[0-9]+$ ]] || { echo "Bail out! aux server did not start"; exit 1; }
touch "$TMP/aux.log"

# --- the worker, driven through worker-launch on a pipe pair ---------------
mkfifo "$TMP/in" "$TMP/out"
"$LAUNCH" --worker "$WORKER" --upstream "$UP_PORT" --aux "$AUX_PORT" --log-level info \
	<"$TMP/in" >"$TMP/out" 2>"$TMP/worker.log" &
LAUNCH_PID=$!
exec {L_IN}>"$TMP/in" {L_OUT}<"$TMP/out"
cmd() { # one command, one answer line (10 s at most)
	local line
	echo "$*" >&"$L_IN"
	IFS= read -r -t 10 line <&"$L_OUT" || line="(no answer)"
	echo "$line"
}
read -r -t 10 PORTLINE <&"$L_OUT"
read -r -t 10 _PIDLINE <&"$L_OUT"
GW_PORT=${PORTLINE#port }
[[ $GW_PORT =~ ^[0-9]+$ ]] || { echo "Bail out! worker-launch: $PORTLINE"; exit 1; }
GW=http://127.0.0.1:$GW_PORT
C=(curl -s --max-time 5)

code() { "${C[@]}" -o /dev/null -w '%{http_code}' "$@"; }

# Wait until the worker accepts (it answers 503 until the first snapshot).
for _ in $(seq 50); do [ "$(code "$GW/")" = 000 ] || break; sleep 0.1; done
expect "503 before the first snapshot" 503 "$(code "$GW/")"
expect "snapshot 1 acknowledged" "ack 1 0" "$(cmd snap 1 0)"

body=$("${C[@]}" "$GW/hello?q=1")
expect_match "proxied to the upstream" '"path": "/hello\?q=1"' "$body"
expect_match "X-Forwarded-For added" '"X-Forwarded-For": \[[^]]*"127\.0\.0\.1"' "$body"
expect_match "X-Forwarded-Proto added" '"X-Forwarded-Proto": \[[^]]*"http"' "$body"
expect_match "X-Forwarded-Host added" '"X-Forwarded-Host"' "$body"
expect_match "Forwarded added (RFC 7239)" '"Forwarded": \[[^]]*"for=127\.0\.0\.1;proto=http;host=' "$body"
body=$("${C[@]}" "http://[::1]:$GW_PORT/v6")
expect_match "Forwarded for an IPv6 client: a quoted [node]" '"Forwarded": \[[^]]*"for=\\"\[::1\]\\";proto=http;host=' "$body"
body=$("${C[@]}" -H 'X-Forwarded-For: 192.0.2.1' -H 'Connection: keep-alive, X-Hop' -H 'X-Hop: 1' "$GW/")
expect_match "X-Forwarded-For appended" '"192\.0\.2\.1, 127\.0\.0\.1"' "$body"
if [[ $body == *X-Hop* ]]; then not_ok "header named by Connection removed" "$body"; else ok "header named by Connection removed"; fi
expect "IPv6 listener" 200 "$(code "http://[::1]:$GW_PORT/")"
expect "wildcard host" 200 "$(code -H 'Host: a.b.wild.test' "$GW/")"
expect "exact path on exact host" 200 "$(code -H 'Host: ONLY.test:80' "$GW/x")"
expect "no match: 404" 404 "$(code -H 'Host: only.test' "$GW/y")"
expect "rule without backends: 500" 500 "$(code "$GW/none")"
expect "Service without endpoints: 503" 503 "$(code "$GW/empty/a")"
expect "refused upstream: 502" 502 "$(code -H 'Host: dead.test' "$GW/")"
expect "status passed through" 418 "$(code "$GW/status/418")"

# --- snapshot format 2: matches ---------------------------------------------
body=$("${C[@]}" -H 'Host: hdr.test' -H 'X-Route: b' "$GW/h")
expect_match "header match: routed, backend filter applied" '"X-Matched": \[[^]]*"hdr"' "$body"
body=$("${C[@]}" -H 'Host: hdr.test' -H 'X-Route: c' "$GW/h")
if [[ $body == *X-Matched* ]]; then not_ok "header mismatch: next match" "$body"; else ok "header mismatch: next match"; fi
expect "method match: POST" 200 "$(code -X POST -H 'Host: only.test' "$GW/post")"
expect "method match: GET is no match" 404 "$(code -H 'Host: only.test' "$GW/post")"
expect "query match" 200 "$(code -H 'Host: only.test' "$GW/q?w=0&v=1")"
expect "query mismatch" 404 "$(code -H 'Host: only.test' "$GW/q?v=2&v=1")"
expect "regex path match" 200 "$(code -H 'Host: only.test' "$GW/re/42")"
expect "regex path anchored" 404 "$(code -H 'Host: only.test' "$GW/re/42/x")"

# --- filters ----------------------------------------------------------------
expect "redirect: status and Location" "301 https://example.org/moved/x?k=v" \
	"$("${C[@]}" -o /dev/null -w '%{http_code} %{redirect_url}' "$GW/redir/x?k=v")"
hdrs=$("${C[@]}" -o /dev/null -D - "$GW/redir")
expect_match "redirect: empty body" $'[Cc]ontent-[Ll]ength: 0\r' "$hdrs"
body=$("${C[@]}" "$GW/rewrite/x?y=1")
expect_match "URL rewrite: path prefix replaced, query kept" '"path": "/new/x\?y=1"' "$body"
expect_match "URL rewrite: Host replaced" '"host": "rewritten\.test"' "$body"
out=$("${C[@]}" -D "$TMP/hdrs.txt" -H 'X-Req-Set: old' -H 'X-Req-Add: orig' -H 'X-Req-Rm: gone' "$GW/hdrs")
expect_match "request header set" '"X-Req-Set": \[[^]]*"set"' "$out"
expect_match "request header add appends" '"X-Req-Add": \[[^]]*"orig",[^]]*"added"' "$out"
if [[ $out == *X-Req-Rm* || $out == *'"old"'* ]]; then not_ok "request header removed, old value replaced" "$out"; else ok "request header removed, old value replaced"; fi
rh=$(tr -d '\r' <"$TMP/hdrs.txt")
expect_match "response header set" $'\nX-Resp-Set: yes' "$rh"
expect_match "response header add" $'\nX-Resp-Add: also' "$rh"
if grep -qi '^content-type:' <<<"$rh"; then not_ok "response header removed" "$rh"; else ok "response header removed"; fi

expect "mirror: the client gets the main answer" 200 "$(code "$GW/mirror/1?m=1")"
for _ in $(seq 30); do grep -q '^GET /mirror/1?m=1 ' "$TMP/aux.log" && break; sleep 0.1; done
expect_match "mirror: the copy reached its cluster" 'GET /mirror/1\?m=1 host=127\.0\.0\.1:[0-9]+ conn=close' \
	"$(grep '^GET /mirror/1' "$TMP/aux.log" | head -1)"
expect "mirror: POST with a body" 200 "$(code --data-binary 'abc' "$GW/mirror/2")"
for _ in $(seq 30); do grep -q '^POST /mirror/2 ' "$TMP/aux.log" && break; sleep 0.1; done
expect_match "mirror: the POST copy reached its cluster" '^POST /mirror/2 ' "$(grep '^POST /mirror/2' "$TMP/aux.log" | head -1)"

t0=$(date +%s%N)
expect "request timeout: 504" 504 "$(code "$GW/slow-req")"
ms=$((($(date +%s%N) - t0) / 1000000))
if [ "$ms" -lt 1500 ]; then ok "request timeout: in time (${ms} ms)"; else not_ok "request timeout: in time" "took $ms ms"; fi
t0=$(date +%s%N)
expect "backendRequest timeout: 504" 504 "$(code "$GW/slow-be")"
ms=$((($(date +%s%N) - t0) / 1000000))
if [ "$ms" -lt 1500 ]; then ok "backendRequest timeout: in time (${ms} ms)"; else not_ok "backendRequest timeout: in time" "took $ms ms"; fi
expect "timeouts not reached: 200" 200 "$(code "$GW/slow-ok")"
out=$("${C[@]}" -w '%{http_code} %{num_connects}\n' -o /dev/null "$GW/slow-req" -o /dev/null "$GW/" | tr '\n' ' ')
expect_match "after a request timeout the next request is served" '^504 1 200 [01] $' "$out"

# --- snapshot format 3: retries --------------------------------------------
tries() { grep -c "^TRY $1 " "$TMP/aux.log"; }
expect "retry: 503 twice, 200 on the third try (attempts 2)" "try 3 200" \
	"$("${C[@]}" -w " %{http_code}" "$GW/retry/a?fail=2&code=503" | tr -d "\n")"
expect "retry: three tries reached the upstream" 3 "$(tries /retry/a)"
gaps=$(awk '$1 == "TRY" && $2 == "/retry/a" { if (p) printf "%d ", ($4 - p) * 1000; p = $4 }' "$TMP/aux.log")
if [[ $gaps =~ ^([0-9]+)\ ([0-9]+)\ $ ]] && [ "${BASH_REMATCH[1]}" -ge 195 ] && [ "${BASH_REMATCH[2]}" -ge 195 ]; then
	ok "retry: backoff of 200 ms between tries (${gaps}ms)"
else
	not_ok "retry: backoff of 200 ms between tries" "gaps: $gaps"
fi
expect "retry: attempts exhausted, the client gets the 503" 503 "$(code "$GW/retry/b?fail=3&code=503")"
expect "retry: no fourth try" 3 "$(tries /retry/b)"
expect "retry: a status not in codes is not retried" 502 "$(code "$GW/retry/c?fail=2&code=502")"
expect "retry: ... one try" 1 "$(tries /retry/c)"
expect "retry: connection reset before the answer retried" 200 "$(code "$GW/retry/d?fail=1")"
expect "retry: ... two tries" 2 "$(tries /retry/d)"
expect "retry: a POST with a body is sent again whole" "try 2 xyz 200" \
	"$("${C[@]}" -w " %{http_code}" --data-binary 'xyz' "$GW/retry/e?fail=1&code=500" | tr -d "\n")"
out=""
for i in 1 2 3 4; do out+="$(code "$GW/mixed/$i") "; done
expect "retry: refused endpoint, the next one answers" "200 200 200 200 " "$out"
# Passive health: the refused endpoint (dead.test's, and one of this cluster's)
# has failed 5 times in a row by now and is ejected: requests that would have
# gone to it reach aux.
out=""
for i in $(seq 30); do out+="$(code "$GW/eject/$i") "; done
bad=$(echo "$out" | tr ' ' '\n' | grep -vc '^200$')
tail20=$(echo "$out" | cut -d' ' -f11-30)
if [ "$bad" -le 5 ] && [ "$tail20" = "$(printf '200 %.0s' $(seq 20) | sed 's/ $//')" ] &&
	grep -q "ejected for 10 s: 5 failed exchanges in a row" "$TMP/worker.log"; then
	ok "passive health: a refused endpoint ejected ($bad of 30 requests failed first)"
else
	not_ok "passive health: a refused endpoint ejected" "$out"
fi
t0=$(date +%s%N)
expect "retry: a backendRequest timeout is a failed try" "try 2 200" \
	"$("${C[@]}" -w " %{http_code}" "$GW/rtmo/a?fail=1&code=sleep" | tr -d "\n")"
ms=$((($(date +%s%N) - t0) / 1000000))
if [ "$ms" -lt 900 ]; then ok "retry: ... the slow try abandoned (${ms} ms)"; else not_ok "retry: ... the slow try abandoned" "took $ms ms"; fi
t0=$(date +%s%N)
expect "retry: the request timeout ends retrying with 504" 504 "$(code "$GW/rtmo/b?fail=9&code=sleep")"
ms=$((($(date +%s%N) - t0) / 1000000))
n_b=$(tries /rtmo/b)
if [ "$ms" -lt 1500 ] && [ "$n_b" -ge 3 ] && [ "$n_b" -le 4 ]; then ok "retry: ... in time, after 3 or 4 tries (${ms} ms, $n_b)"; else not_ok "retry: ... in time, after 3 or 4 tries" "took $ms ms, $n_b tries"; fi

# --- snapshot format 3: CORS ------------------------------------------------
hdrs=$("${C[@]}" -D - -o "$TMP/pre.body" -X OPTIONS -H 'Origin: https://xpto.www.bar.com' \
	-H 'Access-Control-Request-Method: GET' -H 'Access-Control-Request-Headers: x-header-1' \
	"$GW/cors/x" | tr -d '\r')
expect_match "CORS preflight: 200 from the gateway" '^HTTP/1.1 200 OK' "$hdrs"
expect_match "CORS preflight: wildcard origin echoed" $'\nAccess-Control-Allow-Origin: https://xpto.www.bar.com\n' "$hdrs"
expect_match "CORS preflight: methods, headers, credentials, max age" \
	$'Credentials: true\nAccess-Control-Allow-Methods: GET, OPTIONS\nAccess-Control-Allow-Headers: x-header-1, x-header-2\nAccess-Control-Expose-Headers: x-header-3\nAccess-Control-Max-Age: 3600\n' "$hdrs"
expect "CORS preflight: not proxied (empty body)" 0 "$(wc -c <"$TMP/pre.body")"
hdrs=$("${C[@]}" -D - -o "$TMP/cors.body" -H 'Origin: https://www.foo.com' "$GW/cors/y" | tr -d '\r')
expect_match "CORS request: proxied, Allow-Origin and -Credentials added" \
	$'\nAccess-Control-Allow-Origin: https://www.foo.com\nAccess-Control-Allow-Credentials: true\nAccess-Control-Expose-Headers: x-header-3\n' "$hdrs"
expect_match "CORS request: reached the upstream" '"path": "/cors/y"' "$(cat "$TMP/cors.body")"
hdrs=$("${C[@]}" -D - -o /dev/null -H 'Origin: https://foobar.com' "$GW/cors/z" | tr -d '\r')
if grep -qi '^access-control-' <<<"$hdrs"; then not_ok "CORS request: other origin gets no CORS header" "$hdrs"; else ok "CORS request: other origin gets no CORS header"; fi

out=$("${C[@]}" -w '%{http_code} %{num_connects}\n' -o /dev/null "$GW/a" -o /dev/null "$GW/b" \
	-o /dev/null "$GW/c" | tr '\n' ' ')
expect "keep-alive: three requests, one connection" "200 1 200 0 200 0 " "$out"
head -c 1000000 /dev/zero >"$TMP/body"
expect "1 MB request body" 200 "$(code --data-binary @"$TMP/body" "$GW/post")"

# A request without Host in HTTP/1.1, by hand: 400 and a close.
bad=$(timeout 5 bash -c "exec 3<>/dev/tcp/127.0.0.1/$GW_PORT; printf 'GET / HTTP/1.1\r\n\r\n' >&3; cat <&3" 2>/dev/null | head -1 | tr -d '\r')
expect "malformed request: 400" "HTTP/1.1 400 Bad Request" "$bad"

expect "snapshot 2 acknowledged" "ack 2 0" "$(cmd snap 2 1)"
expect_match "corrupt snapshot rejected" '^ack 3 -[0-9]+$' "$(cmd bad 3)"
expect "still serving after the rejection" 200 "$(code "$GW/")"
expect_match "regex that does not compile: snapshot rejected" '^ack 4 -[0-9]+$' "$(cmd badre 4)"
expect "still serving generation 2 after it" 200 "$(code -H 'Host: only.test' "$GW/re/7")"
expect_match "stats" '^stats accepted [1-9][0-9]* active [0-9]+ requests [1-9]' "$(cmd stats)"

cmd closectl >/dev/null
expect "serving after the agent went away" 200 "$(code "$GW/")"

# Drain via SIGTERM (the control socket is gone): the worker exits 0.
kill -TERM "$(pgrep -P "$LAUNCH_PID" -x xgw-worker | head -1)" 2>/dev/null
expect "drained and exited 0" "exit 0" "$(cmd wait 35)"

if [ "$failed" -ne 0 ]; then
	echo "# worker log:"
	sed 's/^/#   /' "$TMP/worker.log" | tail -20
fi
exit $((failed ? 1 : 0))
