#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# A change that one worker cannot serve is served by none (two-phase commit,
# include/xgw/ctl.h). Worker 1 of 2 is made to refuse every snapshot with the
# hostname reject.test (the XGW_FAILPOINT_SNAPSHOT_REJECT fault injection):
# adding a route for it must leave both workers on the previous generation,
# report the refusal in status.json, and cost the stable route no request. A
# later good change then lands everywhere. Last, a worker that hangs (SIGSTOP)
# does not hold changes back: the agent restarts it and the change commits.
# Then an agent started on a folder whose very first generation is refused:
# nothing to roll back to, it keeps running and serves the next good change.
# Last, an agent killed outright: its workers serve on until the next agent's
# serve, which then ends them.
# Prints TAP. Needs root.
set -uo pipefail
BUILD=${XGW_BUILD:?XGW_BUILD must name the build directory}
SRC=${XGW_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
ID=$$
NS_N=xb$ID-n NS_C=xb$ID-c
PIN=/sys/fs/bpf/xgw-rollback-$ID
TMP=$(mktemp -d /tmp/xgw-rollback.XXXXXX)
CONF=$TMP/config
STATUS=$TMP/status.json
GW=10.25.100.1
. "$SRC/selftests/e2e/lib.sh"
E2E_NETNS=("$NS_C" "$NS_N")
E2E_PATHS=("$PIN" "$TMP")
cx() { ip netns exec "$NS_C" "$@"; }

route() { # name hostname
	printf 'apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: %s, namespace: default}\nspec:\n  parentRefs: [{name: eg}]\n  hostnames: [%s]\n  rules: [{backendRefs: [{name: backend-1, port: 80}]}]\n' \
		"$1" "$2" >"$CONF/$1.yaml.tmp" && mv "$CONF/$1.yaml.tmp" "$CONF/$1.yaml"
}
code() { cx curl -s --max-time 2 -o /dev/null -w '%{http_code}' -H "Host: $1" "http://$GW/"; }
# <n> requests on new connections (sk_lookup spreads them over both workers
# by client port): prints the distinct status codes.
codes() { for _ in $(seq "$2"); do code "$1"; echo; done | sort -u | tr '\n' ' '; }
status() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))" "$STATUS" "$1" 2>/dev/null; }
serving_gen() { grep -c "all 2 worker(s) serving it" "$TMP/agent.log"; }

e2e_begin 10

if ! e2e_node_client "$NS_N" "$NS_C" "xb$ID" 10.25; then
	echo "Bail out! cannot create namespaces"
	exit 1
fi
ip -n "$NS_N" addr add 10.25.1.10/32 dev lo

mkdir -p "$CONF"
sed 's/10\.23\.1\.10/10.25.1.10/' "$SRC/examples/quickstart/backend.yaml" >"$CONF/backend.yaml"
{
	printf 'apiVersion: gateway.networking.k8s.io/v1\nkind: GatewayClass\nmetadata: {name: xgw}\n'
	printf 'spec: {controllerName: xgw.io/gateway-controller}\n---\n'
	printf 'apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\n'
	printf 'metadata: {name: eg, namespace: default}\nspec:\n  gatewayClassName: xgw\n  listeners:\n'
	printf '  - {name: http, protocol: HTTP, port: 80, allowedRoutes: {namespaces: {from: All}}}\n'
} >"$CONF/gateway.yaml"
route stable app.yourdomain.com
nsenter --net=/run/netns/"$NS_N" "$BUILD/tools/xgw-echo" --listen 10.25.1.10:8080 \
	--name backend-1 --mode json --quiet </dev/null >/dev/null 2>&1 &
PIDS+=($!)
# start_agent PIN LOG: the agent, worker 1 refusing reject.test; sets AGENT
start_agent() {
	XGW_FAILPOINT_SNAPSHOT_REJECT=1:reject.test nsenter --net=/run/netns/"$NS_N" \
		"$BUILD/agent/xgw-agent" --config-dir "$CONF" --address-pool 10.25.100.0/24 \
		--interface "xb$ID-n" --workers 2 --pin-dir "$1" --status-file "$STATUS" \
		--workers-file "$TMP/workers.json" </dev/null >"$2" 2>&1 &
	AGENT=$!
	PIDS+=($AGENT)
}
start_agent "$PIN" "$TMP/agent.log"

up() { [ "$(code app.yourdomain.com)" = 200 ]; }
if wait_for 100 up && wait_for 50 test "$(status "d['programmed']")" = True; then
	ok "the stable route serves before the changes"
else
	not_ok "the stable route serves before the changes" "$(tail -5 "$TMP/agent.log")"
	exit 1
fi

# Requests on new connections to the stable route for the whole test.
(
	good=0 bad=0
	for _ in $(seq 3000); do
		[ -e "$TMP/stop" ] && break
		c=$(code app.yourdomain.com)
		if [ "$c" = 200 ]; then good=$((good + 1)); else bad=$((bad + 1)); echo "$c" >>"$TMP/load.bad"; fi
	done
	echo "$good $bad" >"$TMP/load.out"
) &
LOAD=$!
PIDS+=($LOAD)

before=$(status "d['generation']")
route bad reject.test
refused() { [ -n "$(status "d.get('rejected', {}).get('generation')")" ]; }
if wait_for 100 refused; then
	rg=$(status "d['rejected']['generation']") rw=$(status "d['rejected']['worker']")
	sg=$(status "d['generation']") prog=$(status "d['programmed']")
	if [ "$rw" = 1 ] && [ "$rg" -gt "$before" ] && [ "$sg" = "$before" ] && [ "$prog" = True ] &&
		grep -q "generation $rg: worker 1 cannot serve it" "$TMP/agent.log"; then
		ok "worker 1 refused generation $rg: status reports it, generation $sg still programmed"
	else
		not_ok "the refusal is reported" "rejected by $rw gen $rg; status gen $sg (before $before) programmed $prog"
	fi
else
	not_ok "the refusal is reported" "$(tail -5 "$TMP/agent.log")"
	rg=none
fi
# Worker 0 prepared it and dropped it; no worker ever served it.
if grep -q "snapshot generation $rg aborted" "$TMP/agent.log" &&
	! grep -q "serving snapshot generation $rg:" "$TMP/agent.log"; then
	ok "worker 0 prepared generation $rg and aborted it; no worker served it"
else
	not_ok "no worker served the refused generation" "$(grep -E "generation $rg\b" "$TMP/agent.log" | tail -5)"
fi
got=$(codes reject.test 20)
if [ "$got" = "404 " ]; then ok "reject.test: 404 on 20 new connections (both workers on the old routes)"
else not_ok "reject.test: 404 everywhere" "got: $got"; fi
if [ "$(status "[r['name'] for r in d['httpRoutes']].count('bad')")" = 0 ]; then
	ok "status is that of the generation served: the refused route has none"
else
	not_ok "status is that of the generation served" "$(status "[r['name'] for r in d['httpRoutes']]")"
fi

# A good change lands everywhere and clears the report.
route bad fixed.test
fixed() { [ "$(status "'rejected' in d")" = False ] && [ "$(status "d['programmed']")" = True ]; }
if wait_for 100 fixed && [ "$(codes fixed.test 20)" = "200 " ]; then
	ok "a later good change is served by every worker; the refusal is cleared from status"
else
	not_ok "a later good change lands" "$(status "d.get('rejected')") $(codes fixed.test 5)"
fi

touch "$TMP/stop"
wait "$LOAD" 2>/dev/null
read -r good bad <"$TMP/load.out" 2>/dev/null || { good=0; bad=1; }
if [ "$good" -gt 0 ] && [ "$bad" = 0 ]; then
	ok "the stable route across the refused and the good change: $good requests, all 200"
else
	not_ok "the stable route kept serving" "$good ok, $bad failed: $(sort "$TMP/load.bad" 2>/dev/null | uniq -c | tr '\n' ' ')"
fi

# A hung worker: stopped, it cannot prepare; the agent restarts it after 5 s.
wpid() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['workers'][0]['pid'])" "$TMP/workers.json" 2>/dev/null; }
has_wpid() { [ "$(wpid)" -gt 0 ] 2>/dev/null; }
wait_for 60 has_wpid # the workers file is written every 2 s
pid0=$(wpid)
n0=$(serving_gen)
if [ -n "$pid0" ] && [ "$pid0" -gt 0 ] && kill -STOP "$pid0"; then
	route late late.test
	late() { [ "$(serving_gen)" -gt "$n0" ]; }
	if wait_for 150 late && grep -q "worker 0 (pid $pid0): no answer to snapshot" "$TMP/agent.log" &&
		[ "$(codes late.test 10)" = "200 " ]; then
		ok "a hung worker is restarted after 5 s and the change commits"
	else
		not_ok "a hung worker does not hold changes back" "$(tail -5 "$TMP/agent.log")"
	fi
	kill -CONT "$pid0" 2>/dev/null
else
	not_ok "a hung worker does not hold changes back" "no pid for worker 0 in workers.json"
fi

# The first generation refused: a new agent on a folder that holds reject.test.
kill "$AGENT" 2>/dev/null
for _ in $(seq 100); do kill -0 "$AGENT" 2>/dev/null || break; sleep 0.1; done
kill -KILL "$AGENT" 2>/dev/null
wait "$AGENT" 2>/dev/null
route bad reject.test
rm -f "$STATUS"
start_agent "$PIN-2" "$TMP/agent2.log"
E2E_PATHS+=("$PIN-2")
first_refused() { grep -q "generation 1: worker 1 cannot serve it" "$TMP/agent2.log"; }
route_fixed() { route bad fixed2.test; }
if wait_for 150 first_refused && sleep 1 && kill -0 "$AGENT" 2>/dev/null && route_fixed &&
	wait_for 100 test "$(code fixed2.test)" = 200 && [ "$(code app.yourdomain.com)" = 200 ]; then
	ok "a refused first generation: the agent keeps running and serves the next good change"
else
	not_ok "a refused first generation" "agent $(kill -0 "$AGENT" 2>/dev/null && echo running || echo dead): $(tail -5 "$TMP/agent2.log")"
fi

# An agent killed outright: its workers keep serving; the next agent ends them
# (SIGTERM, drain) once its own workers serve.
wpids() { python3 -c "import json,sys; print(' '.join(str(w['pid']) for w in json.load(open(sys.argv[1]))['workers'] if w['pid'] > 0))" "$TMP/workers.json" 2>/dev/null; }
# the workers file (written every 2 s) names this agent's two workers
has_two() { [ "$(wpids | tr ' ' '\n' | sort)" = "$(pgrep -P "$AGENT" | sort)" ] && [ "$(wc -w <<<"$(wpids)")" = 2 ]; }
old_gone() { for p in $old; do kill -0 "$p" 2>/dev/null && return 1; done; return 0; }
wait_for 60 has_two
old=$(pgrep -P "$AGENT" | tr '\n' ' ') # its workers, ended below by PID if the test fails
kill -KILL "$AGENT" 2>/dev/null
wait "$AGENT" 2>/dev/null
sleep 0.5
alive=$(for p in $old; do kill -0 "$p" 2>/dev/null && echo "$p"; done | wc -l)
served=$(code app.yourdomain.com)
start_agent "$PIN-2" "$TMP/agent3.log"
ended() { grep -q "worker pid .* of a previous agent: draining it" "$TMP/agent3.log"; }
if [ "$alive" = 2 ] && [ "$served" = 200 ] && wait_for 150 ended && wait_for 100 old_gone &&
	[ "$(code app.yourdomain.com)" = 200 ]; then
	ok "a killed agent's workers serve on; the next agent ends them once its own serve"
else
	not_ok "a killed agent's workers are ended by the next agent" \
		"old $old alive after the kill $alive, served $served; $(grep -i "previous agent" "$TMP/agent3.log" | head -3); still running: $(for p in $old; do kill -0 "$p" 2>/dev/null && echo "$p"; done)"
	for p in $old; do kill -KILL "$p" 2>/dev/null; done # ours: started by the killed agent
fi

exit $((failed > 0))
