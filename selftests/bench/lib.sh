# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# Shared by the benchmarks that run proxies in a network namespace of their own
# (l7.sh, tls.sh), sourced once they have set NS, NSPATH, TMP, PIN and KEEP and
# declared PID (an associative array, name -> PID) and NS_MADE.

# start NAME CPU -- CMD...: runs CMD pinned to CPU inside the namespace;
# taskset and nsenter exec, so PID[NAME] is the command's own PID.
start() {
	local name=$1 cpu=$2
	shift 3
	taskset -c "$cpu" nsenter --net="$NSPATH" "$@" </dev/null >"$TMP/$name.log" 2>&1 &
	PID[$name]=$!
}

# stop NAME: SIGTERM, up to 15 s, then SIGKILL; the process's own children
# (an nginx worker, xgw workers) are killed by PID if they outlive it.
stop() {
	local name=$1 pid=${PID[$1]:-} kids k
	[ -n "$pid" ] || return 0
	unset "PID[$name]"
	kids=$(pgrep -P "$pid" 2>/dev/null | tr '\n' ' ') || true
	kill -TERM "$pid" 2>/dev/null || true
	for _ in $(seq 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	for k in $kids; do kill -KILL "$k" 2>/dev/null || true; done
	return 0
}

cleanup() {
	local n
	for n in "${!PID[@]}"; do stop "$n"; done
	[ "$NS_MADE" = 1 ] && ip netns del "$NS" 2>/dev/null
	rm -rf "$PIN" 2>/dev/null || true
	if [ -n "$KEEP" ]; then
		mkdir -p "$KEEP" && cp -r "$TMP"/. "$KEEP"/ 2>/dev/null || true
	fi
	rm -rf "$TMP"
}

nsx() { nsenter --net="$NSPATH" "$@"; }

core_busy() { awk -v c="cpu$1" '$1 == c {print $2 + $3 + $4 + $7 + $8}' /proc/stat; }

ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }

to_us() { # wrk's "123.45us|1.23ms|1.02s" -> microseconds
	awk -v v="$1" 'BEGIN { u = v; sub(/^[0-9.]+/, "", u); n = v + 0
		f = u == "ms" ? 1e3 : u == "s" ? 1e6 : u == "m" ? 6e7 : 1; printf "%.0f", n * f }'
}

# backend_yaml: Service "backend" and its EndpointSlice, xgw-bench-backend at
# $BE_ADDR:$BE_PORT (for the standalone agent's folder).
backend_yaml() {
	cat <<EOF
apiVersion: v1
kind: Service
metadata: {name: backend, namespace: default}
spec:
  ports: [{name: http, port: 80, targetPort: $BE_PORT}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: backend-1
  namespace: default
  labels: {kubernetes.io/service-name: backend}
addressType: IPv4
ports: [{name: http, port: $BE_PORT, protocol: TCP}]
endpoints: [{addresses: ["$BE_ADDR"], conditions: {ready: true}}]
EOF
}
