#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
"""Gateway API conformance runner for the standalone xgw agent.

One topology per run: a node namespace running xgw-agent (XDP on its veth)
and the echo backends (xgw-echo --mode json, one address per pod on lo), and
a client namespace joined by veth. Per test the runner writes the test's
manifests into the agent's watched folder (base manifests stay loaded for the
run), plays the EndpointSlice controller for the echo "pods", waits for the
status the tests need, sends every case from the client namespace, checks
the status expectations, then removes the test's objects again.

Prints TAP: one line per test, "# TODO" for the expected failures listed in
expected-failures.txt, and a closing "# conformance: ..." summary. Needs root.
See docs/conformance.md.
"""
import argparse
import base64
import copy
import json
import math
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse
import uuid

import yaml

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import l4cases  # noqa: E402
import grpcclient  # noqa: E402
import statuscheck  # noqa: E402
import tlsgen  # noqa: E402
from client import Client, echo_of, h2c_request, hdr_joined, canon, ws_echo  # noqa: E402
from objects import (CLASS, CONTROLLER, NAMESPACED_NOT, UNUSABLE_ADDR, USABLE_ADDR, endpoint_slices,  # noqa: E402
                     key_of, load_manifests, prepare, set_path)

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
GROUP = "gateway.networking.k8s.io"
POOL = "10.78.0.0/24"
# Gateway API features xgw claims (upstream's SupportedFeatures), for the
# tests that only apply without one of them.
CLAIMED_FEATURES = {"TLSRouteModeTerminate", "TLSRouteModeMixed"}
AFTER_READY = "test-after-ready.yaml"
SUPPORTED_KINDS = {"http", "http_non_200", "http_distribution", "http_backend_header_matches_pod",
                   "http_mirror_percentage", "websocket_echo", "tls_request_fails"} | l4cases.KINDS | grpcclient.GRPC_KINDS
UNSUPPORTED_CHECKS = {"infrastructure_metadata_propagated":
                      "runner: a standalone gateway creates no Kubernetes objects to carry infrastructure metadata"}
ID = os.getpid()
verbose = False


def log(msg):
    if verbose:
        print(f"# [{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def sh(*cmd, check=True):
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if check and r.returncode:
        raise RuntimeError(f"{' '.join(cmd)}: {r.stdout.strip()}")
    return r.stdout


# --- topology ---------------------------------------------------------------

class Topology:
    """Namespaces, veth, agent, echo pods. Everything is undone by close()."""

    def __init__(self, build, tmp):
        self.build = build
        self.tmp = tmp
        self.grpc_pods = set()  # Deployments of the cases' inventory that are gRPC echo servers
        self.ns_n, self.ns_c = f"xcf{ID}-n", f"xcf{ID}-c"
        self.if_n, self.if_c = f"xcf{ID}n", f"xcf{ID}c"
        self.pin = f"/sys/fs/bpf/xgw-conf-{ID}"
        self.conf = os.path.join(tmp, "config")
        self.status_file = os.path.join(tmp, "status.json")
        self.agent_log = os.path.join(tmp, "agent.log")
        self.procs = []  # (Popen, what)
        self.agent = None
        self.pods = {}  # (ns, deployment) -> [pod dicts]
        self.next_ip = 10
        self.made_ns = []

    def setup(self):
        for ns in (self.ns_n, self.ns_c):
            sh("ip", "netns", "add", ns)
            self.made_ns.append(ns)
        sh("ip", "link", "add", self.if_c, "netns", self.ns_c, "type", "veth", "peer", "name", self.if_n,
           "netns", self.ns_n)
        for ns in (self.ns_n, self.ns_c):
            sh("ip", "-n", ns, "link", "set", "lo", "up")
            sh("ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf.all.accept_dad=0",
               "net.ipv6.conf.default.accept_dad=0")
        sh("ip", "-n", self.ns_n, "addr", "add", "10.76.0.1/24", "dev", self.if_n)
        sh("ip", "-n", self.ns_c, "addr", "add", "10.76.0.2/24", "dev", self.if_c)
        sh("ip", "-n", self.ns_n, "addr", "add", "fd00:76::1/64", "dev", self.if_n, "nodad")
        sh("ip", "-n", self.ns_c, "addr", "add", "fd00:76::2/64", "dev", self.if_c, "nodad")
        sh("ip", "-n", self.ns_n, "link", "set", self.if_n, "up")
        sh("ip", "-n", self.ns_c, "link", "set", self.if_c, "up")
        sh("ip", "-n", self.ns_c, "route", "add", "10.78.0.0/15", "via", "10.76.0.1")
        os.makedirs(self.conf)

    def start_agent(self):
        out = open(self.agent_log, "w")
        cmd = ["nsenter", f"--net=/run/netns/{self.ns_n}", os.path.join(self.build, "agent/xgw-agent"),
               "--config-dir", self.conf, "--address-pool", POOL, "--interface", self.if_n,
               "--xdp-mode", "native", "--workers", "2", "--pin-dir", self.pin,
               "--status-file", self.status_file,
               "--workers-file", os.path.join(os.path.dirname(self.status_file), "workers.json")]
        # nsenter execs the agent: the Popen PID is the agent's own
        self.agent = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                      start_new_session=True)
        out.close()
        self.procs.append((self.agent, "xgw-agent"))

    def pods_for(self, ns, name, replicas, ports, backend=None):
        """Echo processes standing for a Deployment's pods (started once per run);
        <backend> (objects.backend_of): the TCP/UDP echo or DNS server instead of the
        HTTP echo, or the TLS port of the HTTP (gRPC) echo and its certificates."""
        key = (ns, name)
        if key in self.pods:
            return self.pods[key]
        pods = []
        for i in range(replicas):
            n = self.next_ip
            self.next_ip += 1
            v4, v6 = f"10.77.{n // 250}.{n % 250 + 1}", f"fd00:77::{n:x}"
            sh("ip", "-n", self.ns_n, "addr", "add", f"{v4}/32", "dev", "lo")
            sh("ip", "-n", self.ns_n, "addr", "add", f"{v6}/128", "dev", "lo", "nodad")
            pod = f"{name}-{random.randrange(16**9):09x}-{random.randrange(36**5):05x}"
            logf = os.path.join(self.tmp, f"echo-{pod}.log")
            mode = "grpc" if name in self.grpc_pods else "json"
            cmd = ["nsenter", f"--net=/run/netns/{self.ns_n}", os.path.join(self.build, "tools/xgw-echo"),
                   "--mode", mode, "--name", pod, "--namespace", ns]
            # echo-basic's port 3001 speaks h2c only (cases.json "backends"): HTTP/1.1 gets 400
            if 3001 in ports:
                cmd += ["--h2c-port", "3001"]
            l4 = backend if backend and "mode" in backend else None
            tls = backend if backend and "tls_port" in backend else None
            if l4:
                cmd = self.l4_cmd(cmd, l4, ports, v4, v6)
            if tls:
                # the port echo-basic serves TLS on (ALPN h2, or HTTP/1.1), whatever the Services say
                cmd += ["--tls-listen", f"{v4}:{tls['tls_port']}", "--tls-listen", f"[{v6}]:{tls['tls_port']}",
                        "--cert", tls["crt"], "--key", tls["key"]]
                if tls.get("ca"):
                    cmd += ["--client-ca", tls["ca"]]
            plain = [] if l4 else sorted(p for p in ports if not tls or p != tls["tls_port"])
            for p in plain[:8]:
                cmd += ["--listen", f"{v4}:{p}", "--listen", f"[{v6}]:{p}"]
            out = open(logf, "w")
            proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                    start_new_session=True)
            out.close()
            self.procs.append((proc, pod))
            pods.append({"name": pod, "ns": ns, "v4": v4, "v6": v6, "log": logf, "proc": proc})
        self.pods[key] = pods
        return pods

    @staticmethod
    def l4_cmd(cmd, l4, ports, v4, v6):
        """The echo-basic TCP echo: plain on 3000, TLS on 8443 (when it has a
        certificate); UDP echo and DNS: every port the Services target."""
        cmd = cmd[:cmd.index("--mode") + 1] + [l4["mode"]] + cmd[cmd.index("--mode") + 2:]
        if l4.get("service"):
            cmd += ["--service", l4["service"]]
        if l4["mode"] != "tcp":
            for p in sorted(ports)[:7]:
                cmd += ["--listen", f"{v4}:{p}", "--listen", f"[{v6}]:{p}"]
            return cmd
        cmd += ["--listen", f"{v4}:3000", "--listen", f"[{v6}]:3000"]
        if l4.get("crt"):
            cmd += ["--tls-listen", f"{v4}:8443", "--tls-listen", f"[{v6}]:8443",
                    "--cert", l4["crt"], "--key", l4["key"]]
        return cmd

    def close(self):
        for p, _ in reversed(self.procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        end = time.monotonic() + 15
        for p, what in reversed(self.procs):
            try:
                p.wait(max(0.1, end - time.monotonic()))
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        # What they started and left behind: an agent that dies leaves its
        # workers serving (by design). Each process here leads a session of
        # its own, so its group is what it started.
        for p, _ in self.procs:
            end_group(p.pid)
        for ns in self.made_ns:
            sh("ip", "netns", "del", ns, check=False)
        if os.path.isdir(self.pin):
            shutil.rmtree(self.pin, ignore_errors=True)


def end_group(pgid):
    """End what is left of process group <pgid> (ours), TERM then KILL."""
    for sig, wait in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 2.0)):
        try:
            os.killpg(pgid, sig)
        except (ProcessLookupError, PermissionError):
            return
        end = time.monotonic() + wait
        while time.monotonic() < end:
            try:
                os.killpg(pgid, 0)
            except (ProcessLookupError, PermissionError):
                return
            time.sleep(0.05)


# --- one test -------------------------------------------------------------------

class Failed(Exception):
    pass


class Skip(Exception):
    pass


class Run:
    def __init__(self, args, topo, client, cases_doc, status_doc):
        self.a = args
        self.topo = topo
        self.client = client
        self.cases_doc = cases_doc
        self.status_doc = status_doc
        self.mdir = os.path.join(os.path.dirname(args.cases), "manifests")
        self.store = {}  # the test's objects, key -> doc
        self.before = {}
        self.controller = CONTROLLER
        self.usable_addresses = [USABLE_ADDR]
        self.generated = {(o["kind"], o["namespace"], o["name"])
                          for o in cases_doc.get("generated_objects", {}).get("objects", [])}
        self.tls_ok = tlsgen.available()
        self.originals = {}

    # the status file ------------------------------------------------------------
    def status(self):
        for _ in range(20):
            try:
                with open(self.topo.status_file) as f:
                    return json.load(f)
            except FileNotFoundError:
                return {}
            except ValueError:
                time.sleep(0.02)
        return {}

    def generation(self, kind, ns, name):
        d = self.store.get((kind, ns if kind not in NAMESPACED_NOT else None, name)) or \
            self.base.get((kind, ns if kind not in NAMESPACED_NOT else None, name))
        return d["metadata"].get("generation", 1) if d else None

    def before_gen(self, kind, ns, name):
        return self.before.get((kind, ns, name))

    def write(self, name, docs):
        """Write a config file and wait until the agent has reloaded and programmed it."""
        gen0 = self.status().get("generation", 0)
        path = os.path.join(self.topo.conf, name)
        if docs is None:
            if not os.path.exists(path):
                return
            os.unlink(path)
        else:
            tmp = os.path.join(self.topo.conf, "." + name + ".tmp")
            with open(tmp, "w") as f:
                yaml.safe_dump_all(docs, f, sort_keys=False)
            os.rename(tmp, path)
        end = time.monotonic() + max(10, self.a.timeout)
        while time.monotonic() < end:
            st = self.status()
            if st.get("generation", 0) > gen0 and st.get("programmed"):
                return
            if self.topo.agent.poll() is not None:
                raise RuntimeError(f"xgw-agent exited ({self.topo.agent.returncode}); see {self.topo.agent_log}")
            time.sleep(0.05)
        raise Failed(f"the agent did not program the change to {name} within {max(10, self.a.timeout)} s "
                     f"(status generation {self.status().get('generation')})")

    def setup_base(self, base_docs):
        docs = prepare(base_docs)
        docs.insert(0, {"apiVersion": f"{GROUP}/v1", "kind": "GatewayClass",
                        "metadata": {"name": CLASS, "generation": 1},
                        "spec": {"controllerName": CONTROLLER}})
        if tlsgen.available():
            docs += tlsgen.objects(self.cases_doc.get("generated_objects", {}).get("objects", []), self.topo.tmp)
        self.base = {key_of(d): d for d in docs}
        docs += endpoint_slices(docs, self.topo)
        self.write("base.yaml", docs)

    def test_docs(self):
        docs = list(self.store.values())
        return docs + endpoint_slices(list(self.base.values()) + docs, self.topo, only=self.store)

    # checks --------------------------------------------------------------------
    def gateway_addr(self, gw):
        st = self.status()
        o = statuscheck.find(st, "Gateway", gw["namespace"], gw["name"])
        for a in ((o or {}).get("status") or {}).get("addresses") or []:
            if a.get("type") and a.get("value"):
                return a["value"]
        return None

    def wait_for(self, t, deadline):
        wf = t.get("wait_for") or {}
        gws = [t["gateway"]] + [c["gateway"] for c in t["cases"] if c.get("gateway")]
        exps = []
        seen = set()
        for g in gws:
            k = (g["namespace"], g["name"])
            if k in seen:
                continue
            seen.add(k)
            ref = {"kind": "Gateway", "namespace": g["namespace"], "name": g["name"]}
            if wf.get("gateway_has_address", True):
                exps.append({"check": "gateway_has_address", "gateway": ref})
            if wf.get("all_gateway_listeners_ready") and g is t["gateway"]:
                exps.append({"check": "wf_listeners_ready", "object": ref})
        for r in wf.get("routes_accepted") or []:
            for p in r["parents"]:
                exps.append({"check": "routes_and_parent_accepted_only", "parent": p, "routes": [r]})
        for r in wf.get("routes_resolved_refs") or []:
            exps.append({"check": "wf_resolved", "route": r})
        return self.poll_status(exps, deadline, prefix="wait_for: ")

    def wf_check(self, e, st):
        c = e["check"]
        if c == "wf_listeners_ready":
            ref = e["object"]
            gw = statuscheck.find(st, "Gateway", ref["namespace"], ref["name"])
            if not gw:
                return f"Gateway {ref['name']}: not in the status file"
            gen = self.generation("Gateway", ref["namespace"], ref["name"])
            for ls in statuscheck.listeners_of(gw):
                why = statuscheck.conds_missing(ls.get("conditions") or [], [
                    {"type": "ResolvedRefs", "status": "True"}, {"type": "Accepted", "status": "True"},
                    {"type": "Programmed", "status": "True"}], gen)
                if why:
                    return f"Gateway {ref['name']} listener {ls.get('name')}: {why}"
            return None
        if c == "routes_and_parent_accepted_only":
            # the route part of routes_and_parent_accepted: listeners are checked separately
            r, parent = e["routes"][0], e["parent"]
            route = statuscheck.find(st, r["kind"], r["namespace"], r["name"])
            if r["kind"] not in statuscheck.STATUS_KEYS:
                return statuscheck.no_status(r["kind"])
            if not route:
                return f"{r['kind']} {r['name']}: not in the status file"
            gen = self.generation(r["kind"], r["namespace"], r["name"])
            for p in statuscheck.parents_of(route):
                pr = p.get("parentRef", {})
                if pr.get("group") == GROUP and pr.get("kind") == parent["kind"] and \
                        pr.get("name") == parent["name"] and \
                        pr.get("namespace", r["namespace"]) == parent["namespace"] and \
                        p.get("controllerName") == CONTROLLER and \
                        not statuscheck.conds_missing(p.get("conditions") or [], [
                            {"type": "Accepted", "status": "True", "reason": "Accepted"}], gen):
                    return None
            got = "; ".join(", ".join(statuscheck.cond_fmt(x) for x in p.get("conditions") or [])
                            for p in statuscheck.parents_of(route))
            return f"{r['kind']} {r['name']}: not Accepted by {parent['kind']} {parent['name']} ({got or 'no parents'})"
        if c == "wf_resolved":
            r = e["route"]
            route = statuscheck.find(st, r["kind"], r["namespace"], r["name"])
            if not route:
                return f"{r['kind']} {r['name']}: not in the status file"
            gen = self.generation(r["kind"], r["namespace"], r["name"])
            for p in statuscheck.parents_of(route):
                why = statuscheck.conds_missing(p.get("conditions") or [], [
                    {"type": "ResolvedRefs", "status": "True", "reason": "ResolvedRefs"}], gen)
                if why:
                    return f"{r['kind']} {r['name']}: {why}"
            return None
        return statuscheck.check(e, st, self)

    def poll_status(self, exps, deadline, prefix=""):
        """Poll until every expectation holds; returns None or the reasons."""
        negative = [e for e in exps if e["check"] == "route_no_accepted_parents"]
        seen_neg = 0
        while True:
            st = self.status()
            bad = [why for why in (self.wf_check(e, st) for e in exps) if why]
            if not bad:
                if not negative or seen_neg >= 1:
                    return None
                seen_neg += 1
                time.sleep(0.5)
                continue
            seen_neg = 0
            if time.monotonic() >= deadline:
                return [prefix + b for b in bad]
            time.sleep(0.1)

    # cases ---------------------------------------------------------------------
    def run_case(self, t, case, deadline):
        kind = case["kind"]
        self.deadline = deadline
        gw = case.get("gateway") or t["gateway"]
        addr = self.gateway_addr(gw)
        if not addr:
            return f"gateway {gw['namespace']}/{gw['name']} has no address in status"
        if kind in l4cases.KINDS:
            return l4cases.run(self, case, addr, deadline)
        if kind == "http_distribution":
            return self.distribution(case, addr, deadline)
        if kind == "grpc_distribution":
            return grpcclient.distribution(self.client.grpc(), case, addr,
                                           lambda: deadline - time.monotonic(), min(5.0, self.a.timeout))
        if kind in grpcclient.GRPC_KINDS:
            return self.consistent(lambda: grpcclient.attempt(self.client.grpc(), case, addr, self.req_timeout()),
                                   deadline)
        if kind == "http_backend_header_matches_pod":
            return self.header_matches_pod(case, addr, deadline)
        if kind == "websocket_echo":
            rq = case["request"]
            host = addr if rq.get("port", 80) == 80 else f"{addr}:{rq['port']}"
            return self.consistent(lambda: self.client.pool.submit(
                ws_echo, addr, rq.get("port", 80), host, rq.get("path", "/ws"), case["messages"],
                self.req_timeout()).result(), deadline)
        if kind == "http_mirror_percentage":
            err = self.consistent(lambda: self.http_attempt(case, addr, mirror_wait=False), deadline)
            return err or self.mirror_percentage(case, addr, deadline)
        return self.consistent(lambda: self.http_attempt(case, addr), deadline)

    def req_timeout(self):
        """Per-request timeout: 5 s, but never past the case's deadline."""
        return max(0.5, min(5.0, self.a.timeout, self.deadline - time.monotonic()))

    def consistent(self, attempt, deadline):
        """semantics.consistency: 3 consecutive successes, retry every 100 ms."""
        ok, last, tries = 0, None, 0
        while True:
            tries += 1
            why = attempt()
            if why is None:
                ok += 1
                if ok >= 3:
                    return None
                continue
            ok, last = 0, why
            if time.monotonic() + 0.1 >= deadline:
                return f"{last} (after {tries} attempts)"
            time.sleep(0.1)

    def build_request(self, case, addr, path_suffix=None):
        rq = case["request"]
        port = rq.get("port", 80)
        scheme = rq.get("scheme", "http")
        path = rq.get("path", "/").replace("{uuid}", str(uuid.uuid4()))
        if path_suffix:
            path += ("&" if "?" in path else "?") + path_suffix
        host = rq.get("host")
        if host is None:
            host = addr if port == (443 if scheme == "https" else 80) else f"{addr}:{port}"
        headers = [("Host", host)]
        for k, v in (rq.get("headers") or {}).items():
            headers.append((canon(k), v))
        sets = case.get("backend_set_response_headers")
        headers.append(("X-Echo-Set-Header", ",".join(f"{k}:{v}" for k, v in (sets or {}).items())))
        return port, rq.get("method", "GET"), path, headers

    def http_attempt(self, case, addr, mirror_wait=True):
        rid = None
        if case.get("mirrored_to"):
            rid = f"gateway-api-conformance-request-id={uuid.uuid4()}"
        port, method, path, headers = self.build_request(case, addr, rid)
        if case["request"].get("protocol") == "H2C_PRIOR_KNOWLEDGE":
            r = self.client.pool.submit(h2c_request, addr, port, method, path, headers,
                                        self.req_timeout()).result()
        else:
            r = self.client.request(addr, port, method, path, headers, self.req_timeout(),
                                    self.tls_params(case))
        if case["kind"] == "tls_request_fails":
            return None if "error" in r else f"got HTTP {r['status']}, want the TLS request to fail"
        why = self.check_response(case, r, path)
        if why is None and rid and mirror_wait:
            why = self.check_mirrors(case, path)
        return why

    def check_response(self, case, r, sent_path):
        exp = case.get("response") or {}
        kind = case["kind"]
        if "error" in r:
            return f"request failed: {r['error']}"
        got = r["status"]
        if kind == "http_non_200":
            return None if got not in (200, 408, 504) else f"status {got}, want a non-200 answer"
        want = set(exp.get("status_any_of") or [exp.get("status", 200)])
        if want & {408, 504}:
            want |= {408, 504}
        if got not in want:
            loc = hdr_joined(r["headers"], "location")
            return f"status {got}, want {'/'.join(map(str, sorted(want)))}" + (f" (Location {loc})" if loc else "")
        if 300 <= got < 400 and exp.get("redirect"):
            return self.check_redirect(exp["redirect"], hdr_joined(r["headers"], "location"))
        if got not in (200, 204):
            return None
        echo = echo_of(r)
        if exp.get("served_by_gateway"):
            if echo:
                return "answered by the echo backend, want the gateway to answer itself"
        elif "backend" in exp or "namespace" in exp or case.get("backend_request"):
            if not echo:
                return f"response body is not echo JSON: {r['body'][:80]!r}"
            if exp.get("backend") and not echo["pod"].startswith(exp["backend"]):
                return f"served by pod {echo['pod']}, want {exp['backend']}-*"
            if exp.get("namespace") and echo.get("namespace") != exp["namespace"]:
                return f"echo namespace {echo.get('namespace')}, want {exp['namespace']}"
        norm = (lambda s: s.replace(" ", "")) if exp.get("header_compare_ignores_spaces") else (lambda s: s)
        for k, v in (exp.get("headers") or {}).items():
            g = hdr_joined(r["headers"], k)
            if g is None or norm(g) != norm(v):
                return f"response header {k}: {g!r}, want {v!r}"
        for k, vs in (exp.get("headers_any_of") or {}).items():
            g = hdr_joined(r["headers"], k)
            if g is None or norm(g) not in [norm(v) for v in vs]:
                return f"response header {k}: {g!r}, want one of {vs}"
        for k in exp.get("absent_headers") or []:
            g = hdr_joined(r["headers"], k)
            if g is not None:
                return f"response header {k}: {g!r}, want it absent"
        br = case.get("backend_request")
        if br and echo and not exp.get("served_by_gateway"):
            return self.check_backend_request(br, echo, sent_path)
        return None

    def check_backend_request(self, br, echo, sent_path):
        if br.get("method") and echo.get("method") != br["method"]:
            return f"backend saw method {echo.get('method')}, want {br['method']}"
        if br.get("path"):
            want = br["path"]
            if "gateway-api-conformance-request-id=" in sent_path:
                want += sent_path[sent_path.index("gateway-api-conformance-request-id=") - 1:]
            if "{uuid}" in want:
                want = sent_path
            if echo.get("path") != want:
                return f"backend saw path {echo.get('path')!r}, want {want!r}"
        if br.get("host") and echo.get("host") != br["host"]:
            return f"backend saw host {echo.get('host')!r}, want {br['host']!r}"
        eh = {k.lower(): v for k, v in (echo.get("headers") or {}).items()}
        for k, v in (br.get("headers") or {}).items():
            g = eh.get(k.lower())
            if g is None or ",".join(g) != v:
                return f"backend saw header {k}: {','.join(g) if g else None!r}, want {v!r}"
        for k in br.get("absent_headers") or []:
            if k.lower() in eh:
                return f"backend saw header {k}: {','.join(eh[k.lower()])!r}, want it absent"
        if br.get("tls_sni") and (echo.get("tls") or {}).get("serverName") != br["tls_sni"]:
            return f"backend saw SNI {(echo.get('tls') or {}).get('serverName')!r}, want {br['tls_sni']!r}"
        return None

    def check_redirect(self, want, loc):
        if not loc:
            return "redirect without Location"
        u = urllib.parse.urlsplit(loc)
        try:
            port = u.port
        except ValueError:
            return f"Location {loc}: bad port"
        if u.scheme != want.get("scheme"):
            return f"Location {loc}: scheme {u.scheme!r}, want {want.get('scheme')!r}"
        if want.get("host") and u.hostname != want["host"]:
            return f"Location {loc}: host {u.hostname!r}, want {want['host']!r}"
        if want.get("port") is not None:
            if str(port) != str(want["port"]):
                return f"Location {loc}: port {port}, want {want['port']}"
        elif port not in (None, {"http": 80, "https": 443}.get(want.get("scheme"))):
            return f"Location {loc}: port {port}, want none or the scheme's default"
        if want.get("path") and u.path != want["path"]:
            return f"Location {loc}: path {u.path!r}, want {want['path']!r}"
        return None

    def tls_params(self, case):
        tls = (case.get("request") or {}).get("tls")
        if not tls and case.get("request", {}).get("scheme") != "https":
            return None
        tls = tls or {}
        out = {"sni": tls.get("sni") or case["request"].get("host") or "example.org"}
        m = re.match(r"(Secret|ConfigMap) ([^/ ]+)/([^ ]+)", tls.get("trust", ""))
        if m:
            out["cafile"] = self.pem(m.group(1), m.group(2), m.group(3), "ca")
        m = re.match(r"Secret ([^/ ]+)/([^ ]+)", tls.get("client_cert", ""))
        if m:
            out["certfile"] = self.pem("Secret", m.group(1), m.group(2), "crt")
            out["keyfile"] = self.pem("Secret", m.group(1), m.group(2), "key")
        if "cafile" not in out:
            raise Failed(f"runner: cannot find the trust {tls.get('trust')!r}")
        return out

    def pem(self, kind, ns, name, what):
        """A generated object's PEM as a file for the client."""
        path = os.path.join(self.topo.tmp, f"pem-{kind}-{ns}-{name}-{what}")
        if not os.path.exists(path):
            d = self.base.get((kind, ns, name))
            if not d:
                raise Failed(f"runner: no generated {kind} {ns}/{name}")
            if kind == "ConfigMap":
                data = d["data"]["ca.crt"]
            else:
                data = base64.b64decode(d["data"]["tls.key" if what == "key" else "tls.crt"]).decode()
            with open(path, "w") as f:
                f.write(data)
        return path

    def mirror_pods(self, m):
        for (ns, name), pods in self.topo.pods.items():
            if ns == m["namespace"] and name == m["backend"]:
                return pods
        return []

    def check_mirrors(self, case, path):
        needle = f" {path} HTTP/"
        for m in case["mirrored_to"]:
            end = time.monotonic() + 2
            while True:
                if any(needle in open(p["log"], errors="replace").read() for p in self.mirror_pods(m)):
                    break
                if time.monotonic() > end:
                    return f"mirror {m['namespace']}/{m['backend']} did not receive {path}"
                time.sleep(0.05)
        return None

    def batch(self, case, addr, n, jitter=False, suffix=None):
        reqs = []
        for _ in range(n):
            port, method, path, headers = self.build_request(case, addr, suffix)
            if jitter and random.random() < 0.5:
                headers.append(("X-Jitter", str(random.randrange(10000))))
            reqs.append(((addr, port, method, path, headers), {"timeout": min(5.0, self.a.timeout)}))
        return self.client.many(reqs)

    def distribution(self, case, addr, deadline):
        want = case["expected_weights"]
        last = None
        for attempt in range(case.get("max_attempts", 10)):
            if time.monotonic() > deadline:
                break
            rs = self.batch(case, addr, case.get("requests", 500), jitter=True)
            counts, bad = {}, None
            for r in rs:
                why = self.check_response({"kind": "http", "response": case["response"]}, r, "/")
                echo = echo_of(r) if "error" not in r else None
                if why or not echo:
                    bad = why or "no echo body"
                    break
                be = "-".join(echo["pod"].split("-")[:-2])
                counts[be] = counts.get(be, 0) + 1
            if bad:
                last = bad
                continue
            n = sum(counts.values())
            shares = {b: c / n for b, c in counts.items()}
            errs = [f"{b} got {c} requests, not a listed backend" for b, c in counts.items() if b not in want]
            for b, w in want.items():
                s = shares.get(b, 0.0)
                if w == 0 and counts.get(b):
                    errs.append(f"{b} (weight 0) got {counts[b]} requests")
                elif abs(s - w) > case.get("tolerance_abs", 0.05):
                    errs.append(f"{b} share {s:.3f}, want {w}±{case.get('tolerance_abs', 0.05)}")
            if not errs:
                return None
            last = "; ".join(errs) + f" (counts {counts})"
        return f"{last} (after {attempt + 1} batches)"

    def header_matches_pod(self, case, addr, deadline):
        def attempt():
            port, method, path, headers = self.build_request(case, addr)
            r = self.client.request(addr, port, method, path, headers, timeout=self.req_timeout())
            why = self.check_response({"kind": "http", "response": case["response"]}, r, path)
            if why:
                return why
            echo = echo_of(r)
            if not echo:
                return "no echo body"
            vals = {k.lower(): v for k, v in echo["headers"].items()}.get("backend") or []
            if len(vals) != 1:
                return f"backend saw Backend header {vals}, want exactly one"
            if not echo["pod"].startswith(vals[0]):
                return f"pod {echo['pod']} got Backend: {vals[0]}"
            return None
        why = self.consistent(attempt, deadline)
        if why:
            return why
        for i in range(case.get("repeat", 100)):
            why = attempt()
            if why:
                return f"request {i + 1} of {case.get('repeat', 100)}: {why}"
        return None

    def mirror_percentage(self, case, addr, deadline):
        d = next((t.get("distribution") for t in self.cases_doc["tests"]
                  if case["id"].startswith(t["test"] + "/")), None) or {}
        n = d.get("requests_per_check", 500)
        last = None
        for check in range(d.get("max_checks", 5)):
            if time.monotonic() > deadline + 30:
                break
            rid = f"gateway-api-conformance-request-id={uuid.uuid4()}"
            rs = self.batch(case, addr, n, suffix=rid)
            bad = next((r.get("error") or r["status"] for r in rs if "error" in r or r["status"] != 200), None)
            if bad:
                last = f"a request got {bad}"
                continue
            time.sleep(0.5)
            for m in case["mirrored_to"]:
                p = m["percent"] / 100
                path = self.build_request(case, addr, rid)[2]
                needle = f" {path} HTTP/"
                got = sum(open(x["log"], errors="replace").read().count(needle) for x in self.mirror_pods(m))
                sd = 3 * math.sqrt(n * p * (1 - p))
                if abs(got - n * p) > sd:
                    last = f"mirror {m['backend']} got {got} of {n}, want {n * p:.0f}±{sd:.0f}"
                    break
            else:
                return None
        return last

    # a whole test ----------------------------------------------------------------
    def apply_action(self, act):
        op = act["op"]
        ref = act.get("object") or act
        key = (ref["kind"], None if ref["kind"] in NAMESPACED_NOT else ref.get("namespace") or "default",
               ref["name"])
        self.before = {k: d["metadata"].get("generation", 1) for k, d in self.store.items()}
        if op == "delete":
            self.store.pop(key, None)
            return
        if op == "create":
            d = {"apiVersion": "v1", "kind": ref["kind"],
                 "metadata": {"name": ref["name"], "namespace": key[1], "generation": 1}}
            if "data" in act:
                d["data"] = {k: self.copy_of(v) for k, v in act["data"].items()}
            self.store[key] = d
            return
        d = self.store.get(key)
        if d is None:
            raise Failed(f"action {op}: {key} is not an object of this test")
        spec_before = json.dumps(d.get("spec"), sort_keys=True)
        for path, v in (act.get("set") or {}).items():
            if (key, path) not in self.originals:
                self.originals[(key, path)] = copy.deepcopy(
                    d.get("data", {}).get(path[5:]) if path.startswith("data.") else self.get_path(d, path))
            if isinstance(v, str) and v.startswith("<original"):
                v = copy.deepcopy(self.originals[(key, path)])
            if path.startswith("data."):  # ConfigMap keys hold dots (ca.crt)
                d.setdefault("data", {})[path[5:]] = v
            else:
                set_path(d, path, v)
        for path, v in (act.get("append") or {}).items():
            set_path(d, path, v, append=True)
        if act.get("remove_listener"):
            d["spec"]["listeners"] = [x for x in d["spec"]["listeners"] if x["name"] != act["remove_listener"]]
        if act.get("remove_address"):
            what = act["remove_address"]
            keep = []
            for a in d["spec"].get("addresses") or []:
                if ("invalid" in what and a.get("type") == "test/fake-invalid-type") or \
                        ("unusable" in what and a.get("value") == UNUSABLE_ADDR):
                    continue
                keep.append(a)
            d["spec"]["addresses"] = keep
        if json.dumps(d.get("spec"), sort_keys=True) != spec_before:
            d["metadata"]["generation"] = d["metadata"].get("generation", 1) + 1

    @staticmethod
    def get_path(obj, path):
        cur = obj
        for p in re.findall(r"[^.\[\]]+|\[\d+\]", path):
            if cur is None:
                return None
            cur = cur[int(p[1:-1])] if p.startswith("[") else cur.get(p)
        return cur

    def copy_of(self, v):
        """"<copy of NAME ca.crt>" -> that generated ConfigMap's value."""
        m = re.match(r"<copy of (\S+) (\S+)>", v) if isinstance(v, str) else None
        if not m:
            return v
        for (kind, ns, name), d in self.base.items():
            if name == m.group(1) and kind == "ConfigMap":
                return d["data"][m.group(2)]
        raise Failed(f"runner: no generated object {m.group(1)}")

    def setup_action(self, act):
        if act["op"] == "patch" and "EndpointSlices" in act.get("what", ""):
            m = re.search(r"per (\S+) pod IP", act["what"])
            pm = re.search(r"port (\d+)", act["what"])
            pods = [p for (ns, n), ps in self.topo.pods.items() for p in ps if m and n == m.group(1)]
            for d in self.store.values():
                if d["kind"] == "EndpointSlice" and not d.get("endpoints"):
                    fam = "v6" if d.get("addressType") == "IPv6" else "v4"
                    d["endpoints"] = [{"addresses": [p[fam]], "conditions": {"ready": True, "serving": True},
                                       "targetRef": {"kind": "Pod", "name": p["name"], "namespace": p["ns"]}}
                                      for p in pods]
                    if pm:
                        for port in d.get("ports") or []:
                            port["port"] = int(pm.group(1))
            return
        if act["op"] == "create_after_ready":
            # written by run_test once wait_for holds, in a file of its own
            self.after_ready.append(act)
            return
        raise Skip(f"runner: setup action {act['op']} not implemented")

    def create_after_ready(self, written):
        """setup_actions create_after_ready: the objects come in a new file at
        least delay_seconds (>= 1 s) after test.yaml, so the older route keeps
        the listener (standalone L4 routes without creationTimestamp are ordered
        by their file's mtime at first read)."""
        if not self.after_ready:
            return
        delay = max([1.0] + [float(a.get("delay_seconds", 1)) for a in self.after_ready])
        # mtimes of whole seconds on some file systems: a margin past the delay
        wait = written + delay + 0.1 - time.time()
        if wait > 0:
            time.sleep(wait)
        self.write(AFTER_READY, prepare([a["object"] for a in self.after_ready]))

    @staticmethod
    def needs_tls(case):
        rq = case.get("request") or {}
        return rq.get("scheme") == "https" or bool(rq.get("tls"))

    def skip_reason(self, t, st):
        # Tests of the behaviour without a feature, which upstream skips for
        # implementations that claim it (their notes say which).
        for x in (t, st):
            for note in (x or {}).get("notes", []):
                m = re.search(r"[Ss]kipped\b.*\bwhen the implementation claims (\w+)", note)
                if m and m.group(1) in CLAIMED_FEATURES:
                    return f"xgw claims {m.group(1)}: upstream skips this test then"
        if t:
            if not self.tls_ok and all(self.needs_tls(c) for c in t["cases"]):
                return "needs TLS: no openssl to generate the certificates of generated_objects"
            for c in t["cases"]:
                if self.needs_tls(c) and not self.tls_ok:
                    continue
                rq = c.get("request") or {}
                if rq.get("protocol") not in (None, "H2C_PRIOR_KNOWLEDGE"):
                    return f"runner: no {rq['protocol']} client"
            bad = {c["kind"] for c in t["cases"] if self.tls_ok or not self.needs_tls(c)} - SUPPORTED_KINDS
            if bad:
                return f"runner: case kind {', '.join(sorted(bad))} not implemented"
        for s in [st] if st else []:
            exps = list(s.get("expectations", [])) + [e for x in s.get("steps", []) for e in x.get("expectations", [])]
            for e in exps:
                if e["check"] in UNSUPPORTED_CHECKS:
                    return UNSUPPORTED_CHECKS[e["check"]]
        if self.tls_ok:
            return None
        man = (t or st)["manifests"]
        text = "".join(open(os.path.join(self.mdir, p)).read() for p in man if not p.startswith("base/"))
        for kind, ns, name in self.generated:
            if re.search(rf"name:\s*\"?{re.escape(name)}\"?\s*$", text, re.M):
                return f"needs TLS: references {kind} {name} of generated_objects; no openssl to generate it"
        return None

    def notes(self):
        """What xgw says about the test's objects: conditions that explain a failure."""
        st, out = self.status(), []
        for (kind, ns, name) in self.store:
            o = statuscheck.find(st, kind, ns, name)
            if not o:
                continue
            conds = [(None, c) for c in (o.get("status") or {}).get("conditions") or []]
            conds += [(ls.get("name"), c) for ls in statuscheck.listeners_of(o) for c in ls.get("conditions") or []]
            conds += [(p.get("parentRef", {}).get("name"), c) for p in statuscheck.parents_of(o)
                      for c in p.get("conditions") or []]
            for where, c in conds:
                negative = c.get("type") in ("PartiallyInvalid", "Conflicted")
                bad = c.get("status") == ("True" if negative else "False")
                if bad:
                    line = f"xgw: {kind} {name}{' [' + where + ']' if where else ''}: " \
                           f"{c.get('type')}={c.get('status')} {c.get('reason')}: {c.get('message')}"
                    if line not in out:
                        out.append(line)
        return out

    def run_test(self, name, t, st, xfail=False):
        """Returns (failures, passed_cases, total_cases, notes, TLS cases left out)."""
        man = (t or st)["manifests"]
        tls_skipped = 0
        if t and not self.tls_ok and any(self.needs_tls(c) for c in t["cases"]):
            t = dict(t)
            tls_skipped = sum(1 for c in t["cases"] if self.needs_tls(c))
            t["cases"] = [c for c in t["cases"] if not self.needs_tls(c)]
            if all(c.get("gateway") for c in t["cases"]):
                t["gateway"] = t["cases"][0]["gateway"]
            # wait only for the parents of the cases that run
            used = {(c.get("gateway") or t["gateway"])["name"] for c in t["cases"]}
            wf = dict(t.get("wait_for") or {})
            wf["routes_accepted"] = [dict(r, parents=[p for p in r["parents"] if p["name"] in used])
                                     for r in wf.get("routes_accepted") or []]
            t["wait_for"] = wf
        docs = prepare(load_manifests(self.mdir, [p for p in man if not p.startswith("base/")]))
        self.store = {key_of(d): d for d in docs}
        self.before = {}
        self.after_ready = []
        fails, notes = [], []
        done = total = 0
        # Once a test has failed, or when it is an expected failure, its further
        # checks get a short deadline: the agent reported the change programmed
        # before traffic starts, so a long wait only matters for the first one.
        short = False

        def deadline():
            limit = self.a.timeout
            if short:
                limit = min(1.0, limit)
            elif xfail:
                limit = min(self.a.xfail_timeout, limit)
            return time.monotonic() + limit
        try:
            for act in (t or {}).get("setup_actions", []):
                self.setup_action(act)
            self.write("test.yaml", self.test_docs())
            written = os.stat(os.path.join(self.topo.conf, "test.yaml")).st_mtime
            waited = False
            if t and self.after_ready:
                # the objects created once the others are ready are part of
                # what the status expectations describe
                why = self.wait_for(t, deadline())
                if why:
                    fails += why
                    short = True
                waited = True
                self.create_after_ready(written)
            if st:
                exps = st.get("expectations", [])
                if exps:
                    why = self.poll_status(exps, deadline())
                    total += 1
                    if why:
                        fails += [f"status: {w}" for w in why]
                        short = True
                    else:
                        done += 1
            if t and not waited:
                why = self.wait_for(t, deadline())
                if why:
                    fails += why
                    short = True
            if t:
                phases = sorted({c.get("phase", 0) for c in t["cases"]})
                for ph in phases:
                    if ph:
                        for act in t.get("phase_actions", {}).get(str(ph), []):
                            self.apply_action(act)
                        self.write("test.yaml", self.test_docs())
                    for c in t["cases"]:
                        if c.get("phase", 0) != ph:
                            continue
                        total += 1
                        t0 = time.monotonic()
                        why = self.run_case(t, c, deadline())
                        log(f"{c['id']}: {'ok' if not why else why} ({time.monotonic() - t0:.1f} s)")
                        if why:
                            fails.append(f"case {c['id']}{' (' + c['name'] + ')' if c.get('name') else ''}: {why}")
                            short = True
                        else:
                            done += 1
            for step in (st or {}).get("steps", []):
                if step.get("action"):
                    self.apply_action(step["action"])
                    self.write("test.yaml", self.test_docs())
                total += 1
                why = self.poll_status(step.get("expectations", []), deadline())
                if why:
                    fails += [f"status step {step.get('step')}: {w}" for w in why]
                    short = True
                else:
                    done += 1
        except Failed as e:
            fails.append(str(e))
        finally:
            if fails:
                notes = self.notes()
            try:
                self.write(AFTER_READY, None)
                self.write("test.yaml", None)
            except Failed as e:
                fails.append(f"cleanup: {e}")
        return list(dict.fromkeys(fails)), done, total, notes, tls_skipped


# --- main ---------------------------------------------------------------------------

def find_data(args):
    cands = [os.path.join(ROOT, "..", "shared", "conformance")]
    if os.environ.get("XGW_CONFORMANCE_DIR"):
        cands.append(os.environ["XGW_CONFORMANCE_DIR"])
    for d in cands:
        c, s = os.path.join(d, "cases.json"), os.path.join(d, "status.json")
        if os.path.exists(c) and os.path.exists(s):
            return os.path.normpath(c), os.path.normpath(s)
    return None, None


def read_expected(path):
    out = {}
    if os.path.exists(path):
        for line in open(path):
            line = line.rstrip("\n")
            if not line.strip() or line.startswith("#"):
                continue
            name, _, reason = line.partition("\t")
            out[name.strip()] = reason.strip() or "expected failure"
    return out


def main():
    global verbose
    ap = argparse.ArgumentParser(description="Gateway API conformance runner for standalone xgw (TAP output)")
    ap.add_argument("--cases", help="cases.json (default: ../shared/conformance/ beside the repository)")
    ap.add_argument("--status", help="status.json (default: beside cases.json)")
    ap.add_argument("--build", default=os.environ.get("XGW_BUILD", os.path.join(ROOT, "build")),
                    help="meson build directory (default $XGW_BUILD, else build/)")
    ap.add_argument("--profile", action="append", help="conformance profile (repeatable; default GATEWAY-HTTP)")
    ap.add_argument("--test", help="only tests whose name matches this regular expression")
    ap.add_argument("--timeout", type=float, default=10.0, help="per-case deadline in seconds (default 10)")
    ap.add_argument("--xfail-timeout", type=float, default=2.0,
                    help="per-case deadline for tests listed as expected failures (default 2)")
    ap.add_argument("--expected-failures", default=os.path.join(HERE, "expected-failures.txt"))
    ap.add_argument("--log-dir", help="keep the agent's and the echo pods' logs and the config folder here")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args()
    verbose = args.verbose
    profiles = args.profile or ["GATEWAY-HTTP"]
    if args.cases and not args.status:
        args.status = os.path.join(os.path.dirname(args.cases), "status.json")
    elif not args.cases:
        c, s = find_data(args)
        args.cases = c
        args.status = args.status or s
    if not args.cases or not os.path.exists(args.cases) or not args.status or not os.path.exists(args.status):
        print("1..0 # SKIP conformance data not found")
        return 0
    if os.geteuid() != 0:
        print("Bail out! needs root (namespaces, BPF)")
        return 1
    cases_doc = json.load(open(args.cases))
    status_doc = json.load(open(args.status))
    expected = read_expected(args.expected_failures)

    names, by_c, by_s = [], {}, {}
    for t in cases_doc["tests"]:
        by_c[t["test"]] = t
        names.append(t["test"])
    for t in status_doc["tests"]:
        by_s[t["test"]] = t
        if t["test"] not in by_c:
            names.append(t["test"])
    sel = []
    for n in names:
        profs = (by_c.get(n) or by_s.get(n))["profiles"]
        if not any(p in profs for p in profiles):
            continue
        if args.test and not re.search(args.test, n):
            continue
        sel.append(n)

    print("TAP version 13")
    print(f"1..{len(sel)}", flush=True)
    tmp = tempfile.mkdtemp(prefix="xgw-conf.")
    topo = Topology(args.build, tmp)
    # inventory "mode": "grpc echo ..." -> xgw-echo --mode grpc (h2c gRPC echo service)
    topo.grpc_pods = {e["service"] for e in cases_doc.get("backends", {}).get("inventory", [])
                      if str(e.get("mode", "")).startswith("grpc echo")}
    client = None
    counts = {"passed": 0, "failed": 0, "xfail": 0, "skipped": 0}
    n = 0

    def on_signal(sig, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)  # also when started with SIGINT ignored (background)
    t_start = time.monotonic()
    try:
        try:
            topo.setup()
            topo.start_agent()
            client = Client(topo.ns_c)
            run = Run(args, topo, client, cases_doc, status_doc)
            run.setup_base(load_manifests(run.mdir, ["base/manifests.yaml"]))
        except (RuntimeError, Failed, OSError) as e:
            print(f"Bail out! setup: {e}")
            if os.path.exists(topo.agent_log):
                for line in open(topo.agent_log).read().splitlines()[-20:]:
                    print(f"#   {line}")
            return 1
        for name in sel:
            n += 1
            t, st = by_c.get(name), by_s.get(name)
            skip = run.skip_reason(t, st)
            if skip:
                print(f"ok {n} - {name} # SKIP {skip}", flush=True)
                counts["skipped"] += 1
                continue
            t0 = time.monotonic()
            log(f"{name}: start")
            try:
                fails, done, total, notes, tls_skipped = run.run_test(name, t, st, xfail=name in expected)
            except Skip as e:
                print(f"ok {n} - {name} # SKIP {e}", flush=True)
                counts["skipped"] += 1
                continue
            took = time.monotonic() - t0
            what = f"{name} ({done}/{total} cases, {took:.1f} s)"
            todo = f" # TODO {expected[name]}" if name in expected else ""
            if not fails and tls_skipped:
                # what ran passed, but the test is not complete without its TLS cases
                print(f"ok {n} - {what} # SKIP {tls_skipped} case(s) need TLS (no openssl to "
                      f"generate certificates); the other {total} pass")
                counts["skipped"] += 1
            elif not fails:
                print(f"ok {n} - {what}{todo}")
                if todo:
                    print("# passes now: remove it from expected-failures.txt")
                    counts["passed"] += 1
                else:
                    counts["passed"] += 1
            else:
                print(f"not ok {n} - {what}{todo}")
                for f in fails[:12]:
                    print(f"#   {f}")
                if len(fails) > 12:
                    print(f"#   ... and {len(fails) - 12} more")
                for line in notes[:8]:
                    print(f"#   {line}")
                counts["xfail" if todo else "failed"] += 1
            sys.stdout.flush()
    except KeyboardInterrupt:
        print("Bail out! interrupted")
        return 130
    except RuntimeError as e:
        print(f"Bail out! {e}")
        return 1
    finally:
        if client:
            client.close()
        topo.close()
        if counts["failed"] and os.path.exists(topo.agent_log):
            print("# agent log (last 15 lines):")
            for line in open(topo.agent_log).read().splitlines()[-15:]:
                print(f"#   {line}")
        if args.log_dir:
            shutil.copytree(tmp, args.log_dir, dirs_exist_ok=True,
                            ignore=shutil.ignore_patterns("pem-*", "tls"))
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"# conformance: {counts['passed']} passed, {counts['failed']} failed, "
          f"{counts['xfail']} expected failures, {counts['skipped']} skipped "
          f"({time.monotonic() - t_start:.0f} s)")
    return 1 if counts["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
