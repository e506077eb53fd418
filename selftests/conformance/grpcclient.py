#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
"""The conformance runner's gRPC client: unary calls to the upstream GrpcEcho
service (conformance/echo-basic/grpcecho.proto of kubernetes-sigs/gateway-api)
over h2c with prior knowledge, through the gateway.

Calls are made with Debian's python3-grpcio, without protoc: the request
(EchoRequest) is empty and the reply (EchoResponse) is decoded by hand from the
protobuf wire format. gRPC's core makes its own threads, which a setns() of the
calling thread does not carry into the client's network namespace, so the calls
run in a child process started inside that namespace (nsenter --net) and driven
over a pipe, one JSON line per batch of calls ("serve" mode of this file).

The case kinds of cases.json (semantics.kinds):
  grpc               one RPC; expect response.code, and when OK the echo reply's
                     fully-qualified method, namespace and pod name prefix
  grpc_fails         a non-OK status, consistently (transport errors: not converged)
  grpc_distribution  like http_distribution, the pod taken from the echo reply
"""
import concurrent.futures
import json
import os
import random
import subprocess
import sys
import tempfile
import threading

GRPC_KINDS = {"grpc", "grpc_fails", "grpc_distribution"}

# --- protobuf wire format (the fields of grpcecho.proto the runner reads) -----


def _varint(buf, i):
    v, shift = 0, 0
    while True:
        if i >= len(buf) or shift > 63:
            raise ValueError("truncated varint")
        b = buf[i]
        i += 1
        v |= (b & 0x7F) << shift
        if not b & 0x80:
            return v, i
        shift += 7


def _fields(buf):
    """(field number, value) of a message: ints for varints, bytes for
    length-delimited fields; fixed-width fields are skipped."""
    i = 0
    while i < len(buf):
        key, i = _varint(buf, i)
        num, wt = key >> 3, key & 7
        if wt == 0:
            v, i = _varint(buf, i)
        elif wt == 2:
            n, i = _varint(buf, i)
            if i + n > len(buf):
                raise ValueError("truncated field")
            v, i = buf[i:i + n], i + n
        elif wt in (1, 5):
            i += 8 if wt == 1 else 4
            continue
        else:
            raise ValueError(f"wire type {wt}")
        yield num, v


def _text(v):
    return v.decode("utf-8", "replace") if isinstance(v, bytes) else ""


def decode_echo(buf):
    """EchoResponse {assertions = 1 {fully_qualified_method = 1, headers = 2
    {key = 1, value = 2}, authority = 3, context = 4 {namespace = 1, ingress = 2,
    service_name = 3, pod = 4}}} as a dict."""
    out = {"fully_qualified_method": "", "headers": [], "authority": "", "namespace": "", "pod": ""}
    for num, v in _fields(buf):
        if num != 1 or not isinstance(v, bytes):
            continue
        for an, av in _fields(v):
            if an == 1:
                out["fully_qualified_method"] = _text(av)
            elif an == 2 and isinstance(av, bytes):
                kv = dict(_fields(av))
                out["headers"].append([_text(kv.get(1, b"")), _text(kv.get(2, b""))])
            elif an == 3:
                out["authority"] = _text(av)
            elif an == 4 and isinstance(av, bytes):
                for cn, cv in _fields(av):
                    key = {1: "namespace", 2: "ingress", 3: "service_name", 4: "pod"}.get(cn)
                    if key:
                        out[key] = _text(cv)
    return out


# --- one call (in the child) ---------------------------------------------------

# Details of an UNAVAILABLE status that come from the transport rather than
# from a server's (or the gateway's) answer.
_TRANSPORT = ("failed to connect", "connection refused", "socket closed", "connection reset",
              "broken pipe", "goaway", "end of tcp stream", "network is unreachable")


def call(ip, port, service, method, authority=None, metadata=None, timeout=5.0):
    """One unary RPC with an empty request. Returns {"code": name, "details"}
    plus "reply" (decode_echo) when OK, or {"error": why} for a transport error."""
    import grpc  # only the child needs it

    target = f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"
    opts = [("grpc.default_authority", authority)] if authority else []
    md = [(k.lower(), str(v)) for k, v in (metadata or {}).items()]
    try:
        with grpc.insecure_channel(target, options=opts) as ch:
            rpc = ch.unary_unary(f"/{service}/{method}", request_serializer=None,
                                 response_deserializer=None)
            raw = rpc(b"", timeout=timeout, metadata=md or None)
    except grpc.RpcError as e:
        code, details = e.code(), e.details() or ""
        if code == grpc.StatusCode.UNAVAILABLE and any(t in details.lower() for t in _TRANSPORT):
            return {"error": f"UNAVAILABLE: {details}"}
        if code == grpc.StatusCode.DEADLINE_EXCEEDED:
            return {"error": f"no answer within {timeout:.1f} s"}
        return {"code": code.name, "details": details}
    try:
        return {"code": "OK", "details": "", "reply": decode_echo(raw)}
    except ValueError as e:
        return {"code": "OK", "details": "", "error": f"reply is not an EchoResponse: {e}"}


def serve():
    """Child: for each JSON line {"calls": [kwargs of call()], "concurrency": n}
    on stdin, write {"results": [...]} on stdout in the same order."""
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=32)
    for line in sys.stdin:
        req = json.loads(line)
        calls = req["calls"]
        sem = threading.Semaphore(max(1, min(32, req.get("concurrency", 1))))

        def one(kw):
            with sem:
                try:
                    return call(**kw)
                except Exception as e:  # a bug here must not hang the runner
                    return {"error": f"client: {type(e).__name__}: {e}"}
        results = list(pool.map(one, calls))
        sys.stdout.write(json.dumps({"results": results}) + "\n")
        sys.stdout.flush()
    pool.shutdown()


# --- the runner's side ---------------------------------------------------------


class GrpcClient:
    """The child process that makes calls in network namespace <nsfile>
    (None: this one). Started on first use; close() ends it."""

    def __init__(self, nsfile=None):
        self.nsfile = nsfile
        self.proc = None
        self.err = None
        self.lock = threading.Lock()

    def _start(self):
        cmd = [sys.executable, "-u", os.path.abspath(__file__), "serve"]
        if self.nsfile:
            cmd = ["nsenter", f"--net={self.nsfile}"] + cmd
        # gRPC's core logs every non-gRPC answer (an echo's JSON, a gateway's
        # text/plain 404) on stderr: keep it quiet, and keep the child's stderr
        # for the error when it dies.
        env = dict(os.environ, GRPC_VERBOSITY="NONE")
        self.err = tempfile.TemporaryFile(mode="w+")
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.err,
                                     text=True, env=env)

    def _stderr_tail(self):
        try:
            self.err.seek(0)
            lines = [x for x in self.err.read().splitlines() if x.strip()]
            return f": {lines[-1]}" if lines else ""
        except (OSError, ValueError):
            return ""

    def many(self, calls, concurrency=1):
        """Results of call(**kw) for each kw of <calls>, made <concurrency> at a time."""
        with self.lock:
            if self.proc is None or self.proc.poll() is not None:
                self._start()
            try:
                self.proc.stdin.write(json.dumps({"calls": calls, "concurrency": concurrency}) + "\n")
                self.proc.stdin.flush()
                line = self.proc.stdout.readline()
            except OSError as e:
                line, why = "", f"{type(e).__name__}: {e}"
            else:
                why = f"exited with status {self.proc.poll()}{self._stderr_tail()}"
            if not line:
                self.close_locked()
                return [{"error": f"gRPC client process {why}"}] * len(calls)
            return json.loads(line)["results"]

    def call(self, **kw):
        return self.many([kw])[0]

    def close_locked(self):
        if self.proc:
            try:
                self.proc.stdin.close()
                self.proc.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()
            self.proc = None
        if self.err:
            self.err.close()
            self.err = None

    def close(self):
        with self.lock:
            self.close_locked()


def request_of(case, addr, timeout):
    rq = case["request"]
    return {"ip": addr, "port": rq.get("port", 80), "service": rq["service"], "method": rq["method"],
            "authority": rq.get("authority"), "metadata": rq.get("metadata") or {}, "timeout": timeout}


def check(case, r):
    """None when result <r> satisfies <case> (kind grpc or grpc_fails), else why."""
    exp = case.get("response") or {}
    if "error" in r and "code" not in r:
        return f"RPC failed: {r['error']}"
    if case["kind"] == "grpc_fails":
        return None if r["code"] != "OK" else "status OK, want a non-OK status"
    want = exp.get("code", "OK")
    if r["code"] != want:
        return f"status {r['code']}" + (f" ({r['details']})" if r.get("details") else "") + f", want {want}"
    if want != "OK":
        return None
    if "error" in r:
        return r["error"]
    rep = r["reply"]
    if exp.get("backend_full_method") and rep["fully_qualified_method"] != exp["backend_full_method"]:
        return f"backend saw method {rep['fully_qualified_method']!r}, want {exp['backend_full_method']!r}"
    if exp.get("namespace") and rep["namespace"] != exp["namespace"]:
        return f"echo namespace {rep['namespace']!r}, want {exp['namespace']!r}"
    if exp.get("backend") and not rep["pod"].startswith(exp["backend"]):
        return f"served by pod {rep['pod']!r}, want {exp['backend']}-*"
    return None


def attempt(client, case, addr, timeout):
    """One try of a grpc / grpc_fails case: None or why not."""
    transport = case["request"].get("transport", "h2c")
    if transport != "h2c":
        return f"runner: gRPC over {transport} is not implemented (h2c only)"
    return check(case, client.call(**request_of(case, addr, timeout)))


def distribution(client, case, addr, deadline_left, timeout):
    """grpc_distribution: batches of RPCs until the shares fit (see http_distribution).
    <deadline_left>() is the seconds left for the case."""
    want = case["expected_weights"]
    tol = case.get("tolerance_abs", 0.05)
    last, tries = None, 0
    for tries in range(1, case.get("max_attempts", 10) + 1):
        if deadline_left() <= 0:
            break
        calls = []
        for _ in range(case.get("requests", 500)):
            kw = request_of(case, addr, timeout)
            if random.random() < 0.5:  # semantics: entropy
                kw["metadata"] = dict(kw["metadata"], **{"x-jitter": str(random.randrange(10000))})
            calls.append(kw)
        counts, bad = {}, None
        for r in client.many(calls, case.get("concurrency", 10)):
            bad = check({"kind": "grpc", "response": case["response"]}, r)
            if bad is None and "reply" not in r:
                bad = "no echo reply"
            if bad:
                break
            be = "-".join(r["reply"]["pod"].split("-")[:-2])
            counts[be] = counts.get(be, 0) + 1
        if bad:
            last = bad
            continue
        n = sum(counts.values())
        errs = [f"{b} got {c} RPCs, not a listed backend" for b, c in counts.items() if b not in want]
        for b, w in want.items():
            share = counts.get(b, 0) / n
            if w == 0 and counts.get(b):
                errs.append(f"{b} (weight 0) got {counts[b]} RPCs")
            elif abs(share - w) > tol:
                errs.append(f"{b} share {share:.3f}, want {w}±{tol}")
        if not errs:
            return None
        last = "; ".join(errs) + f" (counts {counts})"
    return f"{last} (after {tries} batches)"


def main(argv):
    """serve, or one call for a person: grpcclient.py IP:PORT SERVICE METHOD [AUTHORITY]"""
    if argv[1:] == ["serve"]:
        serve()
        return 0
    if len(argv) not in (4, 5):
        print(main.__doc__, file=sys.stderr)
        return 2
    ip, _, port = argv[1].rpartition(":")
    r = call(ip.strip("[]"), int(port), argv[2], argv[3], argv[4] if len(argv) == 5 else None)
    print(json.dumps(r, indent=1))
    return 0 if r.get("code") == "OK" else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
