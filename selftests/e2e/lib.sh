# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# Shared by the end-to-end tests (sourced): TAP results, processes started by
# the test and stopped by PID, and clean-up of what the test made. A test sets
# PIDS+=($!) for each process it starts (start them with nsenter or ip directly,
# never through a shell function, so that $! is the process itself), adds its
# namespaces to E2E_NETNS and its files/pins to E2E_PATHS, then calls
# e2e_begin N.

PIDS=()
E2E_NETNS=()
E2E_PATHS=()
n=0
failed=0

ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { # name, detail lines...
	n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; shift
	local l
	for l in "$@"; do echo "#   $l"; done
}

# Stop every process in PIDS (TERM, then KILL after 10 s), delete the
# namespaces and remove the paths. Runs on every exit path.
e2e_cleanup() {
	local p ns
	for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	for p in "${PIDS[@]}"; do
		for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	for ns in "${E2E_NETNS[@]}"; do ip netns del "$ns" 2>/dev/null || true; done
	[ ${#E2E_PATHS[@]} -gt 0 ] && rm -rf "${E2E_PATHS[@]}"
	return 0
}

e2e_begin() { # planned test count
	trap e2e_cleanup EXIT
	trap 'exit 130' INT TERM
	echo "TAP version 13"
	echo "1..$1"
}

# Retry <command...> every 100 ms, <tries> times at most.
wait_for() {
	local tries=$1; shift
	for _ in $(seq "$tries"); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
	return 1
}

# Run "<command...>", which prints an HTTP status, <count> times; print the
# statuses that are not 200 (nothing when all are).
e2e_not_200() { # count command...
	local n=$1 c
	shift
	for _ in $(seq "$n"); do
		c=$("$@")
		[ "$c" = 200 ] || echo -n "$c "
	done
}

# Does agent <pid> run exactly <n> worker processes?
e2e_workers() { [ "$(pgrep -c -P "$1" -f xgw-worker)" = "$2" ]; }

# A node namespace <ns_n> and a client namespace <ns_c> joined by the veth
# pair <if>-n / <if>-c on <net>.0.0/24 (node .1, client .2); the client routes
# <net>.100.0/24, the Gateway address pool, through the node. <net> is "10.N".
e2e_node_client() { # ns_n ns_c if net
	local nn=$1 nc=$2 ifp=$3 net=$4 ns
	ip netns add "$nn" && ip netns add "$nc" &&
		ip link add "$ifp-c" netns "$nc" type veth peer name "$ifp-n" netns "$nn" || return 1
	for ns in "$nn" "$nc"; do ip -n "$ns" link set lo up; done
	ip -n "$nn" addr add "$net.0.1/24" dev "$ifp-n" &&
		ip -n "$nc" addr add "$net.0.2/24" dev "$ifp-c" &&
		ip -n "$nn" link set "$ifp-n" up && ip -n "$nc" link set "$ifp-c" up &&
		ip -n "$nc" route add "$net.100.0/24" via "$net.0.1"
}

# --- a test PKI: files in $PKI, openssl's complaints in $TMP/openssl.log ----
ossl() { openssl "$@" 2>>"$TMP/openssl.log"; }
ca() { # name: a self-signed P-256 CA
	ossl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
		-subj "/CN=$1" -keyout "$PKI/$1.key" -out "$PKI/$1.crt" \
		-addext basicConstraints=critical,CA:TRUE -addext keyUsage=keyCertSign,cRLSign
}
leaf() { # name, CA, SAN, key type (ec|rsa), extended key usage
	local kopt=(-newkey ec -pkeyopt ec_paramgen_curve:P-256)
	[ "$4" = rsa ] && kopt=(-newkey rsa:2048)
	ossl req "${kopt[@]}" -nodes -subj "/CN=$1" -keyout "$PKI/$1.key" -out "$PKI/$1.csr" &&
		printf 'subjectAltName=%s\nextendedKeyUsage=%s\n' "$3" "$5" >"$PKI/$1.ext" &&
		ossl x509 -req -in "$PKI/$1.csr" -CA "$PKI/$2.crt" -CAkey "$PKI/$2.key" \
			-CAcreateserial -days 2 -extfile "$PKI/$1.ext" -out "$PKI/$1.crt"
}
