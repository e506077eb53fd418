#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
"""The runner's gRPC client (grpcclient.py) against a GrpcEcho stand-in on
loopback: a grpcio generic handler that answers Echo and EchoTwo with an
EchoResponse encoded here (field numbers of upstream grpcecho.proto) and leaves
EchoThree unimplemented, as the conformance echo does. TAP output; skips
itself without python3-grpcio."""
import concurrent.futures
import os
import socket
import sys
import threading

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import grpcclient  # noqa: E402

SVC = "gateway_api_conformance.echo_basic.grpcecho.GrpcEcho"
NS = "gateway-conformance-infra"


def varint(n):
    out = b""
    while n >= 0x80:
        out += bytes([(n & 0x7F) | 0x80])
        n >>= 7
    return out + bytes([n])


def ld(num, payload):
    """A length-delimited field."""
    return varint(num << 3 | 2) + varint(len(payload)) + payload


def echo_response(method, metadata, pod):
    a = ld(1, method.encode())
    for k, v in metadata:
        a += ld(2, ld(1, k.encode()) + ld(2, v.encode()))
    a += varint(7 << 3 | 5) + b"\x01\x02\x03\x04"  # an unknown fixed32: skipped
    a += ld(4, ld(1, NS.encode()) + ld(2, b"") + ld(3, b"svc") + ld(4, pod.encode()))
    return ld(1, a) + ld(2, b"")


class Echo:
    """Pods by weight: every 10 calls, 7 to v1 and 3 to v2."""

    def __init__(self):
        self.n = 0
        self.lock = threading.Lock()

    def handler(self):
        import grpc

        echo = self

        class H(grpc.GenericRpcHandler):
            def service(self, details):
                m = details.method
                if not m.startswith(f"/{SVC}/") or m.endswith("/EchoThree"):
                    return None

                def unary(req, ctx):
                    with echo.lock:
                        i, echo.n = echo.n, echo.n + 1
                    pod = "grpc-infra-backend-v1-a-b" if i % 10 < 7 else "grpc-infra-backend-v2-c-d"
                    md = [(k, v) for k, v in ctx.invocation_metadata() if not k.startswith("grpc-")]
                    return echo_response(m, md, pod)
                return grpc.unary_unary_rpc_method_handler(unary)
        return H()


def main():
    try:
        import grpc
    except ImportError:
        print("1..0 # SKIP python3-grpcio is not installed")
        return 0
    tests = []

    def test(name):
        def reg(f):
            tests.append((name, f))
            return f
        return reg

    echo = Echo()
    server = grpc.server(concurrent.futures.ThreadPoolExecutor(max_workers=8))
    server.add_generic_rpc_handlers((echo.handler(),))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    client = grpcclient.GrpcClient()
    base = {"kind": "grpc", "request": {"transport": "h2c", "service": SVC, "method": "Echo", "port": port},
            "response": {"code": "OK", "backend": "grpc-infra-backend-v1", "namespace": NS,
                         "backend_full_method": f"/{SVC}/Echo"}}

    def case(**kw):
        c = {"kind": kw.pop("kind", "grpc"), "request": dict(base["request"]), "response": dict(base["response"])}
        c["request"].update(kw.pop("request", {}))
        if "response" in kw:
            c["response"] = kw.pop("response")
        return c

    @test("decode_echo reads the fields of grpcecho.proto")
    def _():
        d = grpcclient.decode_echo(echo_response("/a.B/C", [("k", "v"), ("x", "y")], "pod-1"))
        want = {"fully_qualified_method": "/a.B/C", "headers": [["k", "v"], ["x", "y"]], "authority": "",
                "namespace": NS, "pod": "pod-1", "ingress": "", "service_name": "svc"}
        return None if d == want else f"decoded {d}"

    @test("decode_echo refuses a truncated reply")
    def _():
        try:
            grpcclient.decode_echo(echo_response("/a.B/C", [], "p")[:-3])
        except ValueError:
            return None
        return "no error"

    @test("an OK call is checked: method, namespace, pod")
    def _():
        echo.n = 0
        return grpcclient.attempt(client, base, "127.0.0.1", 5)

    @test("metadata reaches the server with lower-case keys")
    def _():
        r = client.call(**grpcclient.request_of(case(request={"metadata": {"Version": "two"}}), "127.0.0.1", 5))
        hdrs = r.get("reply", {}).get("headers", [])
        return None if ["version", "two"] in hdrs else f"server saw {hdrs}"

    @test("the wrong pod fails the case")
    def _():
        echo.n = 9  # the next call is served by v2
        why = grpcclient.attempt(client, base, "127.0.0.1", 5)
        return None if why and "grpc-infra-backend-v2" in why else f"got {why!r}"

    @test("the wrong method fails the case")
    def _():
        echo.n = 0
        c = case(request={"method": "EchoTwo"})
        why = grpcclient.attempt(client, c, "127.0.0.1", 5)
        return None if why and "EchoTwo" in why else f"got {why!r}"

    @test("an unimplemented method is UNIMPLEMENTED")
    def _():
        c = case(request={"method": "EchoThree"}, response={"code": "UNIMPLEMENTED"})
        return grpcclient.attempt(client, c, "127.0.0.1", 5)

    @test("grpc_fails: a non-OK status passes, OK does not")
    def _():
        ok = grpcclient.attempt(client, case(kind="grpc_fails", request={"method": "EchoThree"}), "127.0.0.1", 5)
        bad = grpcclient.attempt(client, case(kind="grpc_fails"), "127.0.0.1", 5)
        return ok or (None if bad else "an OK call passed grpc_fails")

    @test("a refused connection is a transport error, not a status")
    def _():
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
        s.close()
        r = client.call(**grpcclient.request_of(case(request={"port": closed}), "127.0.0.1", 2))
        why = grpcclient.check(case(kind="grpc_fails", request={"port": closed}), r)
        return None if "error" in r and why and why.startswith("RPC failed") else f"got {r}, {why!r}"

    @test("grpc_distribution: shares within the tolerance pass, others fail")
    def _():
        d = case(kind="grpc_distribution", response={"code": "OK"})
        d.update({"expected_weights": {"grpc-infra-backend-v1": 0.7, "grpc-infra-backend-v2": 0.3},
                  "requests": 100, "concurrency": 10, "tolerance_abs": 0.05, "max_attempts": 2})
        echo.n = 0
        ok = grpcclient.distribution(client, d, "127.0.0.1", lambda: 30, 5)
        d["expected_weights"] = {"grpc-infra-backend-v1": 0.5, "grpc-infra-backend-v2": 0.5}
        bad = grpcclient.distribution(client, d, "127.0.0.1", lambda: 30, 5)
        return ok or (None if bad and "share" in bad else f"got {bad!r}")

    print(f"1..{len(tests)}")
    failed = 0
    try:
        for i, (name, f) in enumerate(tests, 1):
            try:
                why = f()
            except Exception as e:  # a crash is a failure of that test point
                why = f"{type(e).__name__}: {e}"
            print(f"{'not ok' if why else 'ok'} {i} - {name}")
            if why:
                failed += 1
                print(f"#   {why}")
    finally:
        client.close()
        server.stop(None)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
