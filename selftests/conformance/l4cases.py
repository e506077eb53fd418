# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
"""The conformance runner's L4 cases (TLSRoute, TCPRoute, UDPRoute): the
clients (the TCP echo's line protocol, plain or TLS; UDP echo; DNS; a TLS dial
that must be refused) and the checks of cases.json "semantics.kinds". The
clients run on the runner's client-namespace threads (client.Client.pool)."""
import json
import socket
import ssl
import struct
import time

from client import tls_wrap

KINDS = {"tcp_echo", "tcp_repeat_backend", "tcp_distribution", "udp_echo", "udp_repeat_backend",
         "udp_distribution", "dns_query", "tls_connect_rejected"}


def _line(s, buf):
    while b"\n" not in buf[0]:
        d = s.recv(65536)
        if not d:
            raise ConnectionError("connection closed before a whole line")
        buf[0] += d
    line, _, buf[0] = buf[0].partition(b"\n")
    return line.decode(errors="replace")


def tcp_echo(ip, port, tls, timeout, ping=True):
    """Welcome line, PING, IS_TLS, TEST over a fresh connection: a dict, or {"error": ...}."""
    try:
        s = socket.create_connection((ip, port), timeout=timeout)
        try:
            s.settimeout(timeout)
            if tls:
                s = tls_wrap(s, tls)
            buf = [b""]
            out = {"welcome": _line(s, buf)}
            if ping:
                s.sendall(b"PING\nIS_TLS\n")
                out["ping"] = _line(s, buf)
                out["is_tls"] = _line(s, buf)
            s.sendall(b"TEST\n")
            out["test"] = json.loads(_line(s, buf))
            return out
        finally:
            s.close()
    except (OSError, ValueError) as e:
        return {"error": f"{type(e).__name__}: {e}"}


def udp_exchange(ip, port, payload, timeout):
    fam = socket.AF_INET6 if ":" in ip else socket.AF_INET
    with socket.socket(fam, socket.SOCK_DGRAM) as u:
        u.settimeout(timeout)
        try:
            # connected: only a reply from the gateway's address and port is received
            u.connect((ip, port))
            u.send(payload)
            return {"reply": u.recv(65536)}
        except OSError as e:
            return {"error": f"{type(e).__name__}: {e}"}


def dns_packet(question, qtype):
    qt = {"A": 1, "AAAA": 28, "TXT": 16, "SRV": 33}.get(qtype, 1)
    q = struct.pack("!HHHHHH", 0x5a5a, 0x0100, 1, 0, 0, 0)
    for label in question.rstrip(".").split("."):
        q += bytes([len(label)]) + label.encode()
    return q + b"\x00" + struct.pack("!HH", qt, 1)


def tls_dial(ip, port, sni, timeout):
    """None when the handshake completes, else what ended it."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    try:
        with socket.create_connection((ip, port), timeout=timeout) as s:
            with ctx.wrap_socket(s, server_hostname=sni):
                return None
    except (ssl.SSLEOFError, ssl.SSLZeroReturnError, ConnectionResetError, BrokenPipeError) as e:
        return f"eof:{type(e).__name__}"
    except ssl.SSLError as e:
        if "EOF" in str(e) or "eof" in str(e):
            return f"eof:{e}"
        return f"other:{e}"
    except OSError as e:
        return f"other:{type(e).__name__}: {e}"


def _check_echo(case, r):
    if "error" in r:
        return r["error"]
    want = case.get("response") or {}
    if not r["welcome"].startswith("Gateway API Test TCP Server"):
        return f"welcome line {r['welcome']!r}"
    if "ping" in r and r["ping"] != "PONG":
        return f"PING answered {r['ping']!r}"
    if "is_tls" in want or "backend_is_tls" in want:
        is_tls = want.get("backend_is_tls", False)
        if "is_tls" in r and r["is_tls"] != ("true" if is_tls else "false"):
            return f"IS_TLS {r['is_tls']!r}, want {is_tls}"
    t = r["test"]
    if want.get("namespace") and t.get("namespace") != want["namespace"]:
        return f"namespace {t.get('namespace')!r}, want {want['namespace']!r}"
    if want.get("backend") and not str(t.get("pod", "")).startswith(want["backend"] + "-"):
        return f"pod {t.get('pod')!r}, want one of {want['backend']}"
    if want.get("backend_tls_sni") and (t.get("tls") or {}).get("serverName") != want["backend_tls_sni"]:
        return f"backend saw server name {(t.get('tls') or {}).get('serverName')!r}, " \
            f"want {want['backend_tls_sni']!r}"
    return None


def _tls(run, case):
    return run.tls_params(case) if (case.get("request") or {}).get("tls") else None


def _pod_backend(pod):
    return "-".join(pod.split("-")[:-2])


def run(run, case, addr, deadline):
    """One L4 case against the gateway at <addr>: None, or why it failed."""
    kind = case["kind"]
    rq = case.get("request") or {}
    port = rq.get("port")
    pool = run.client.pool
    if kind == "tcp_echo":
        tls = _tls(run, case)
        return run.consistent(lambda: _check_echo(case, pool.submit(
            tcp_echo, addr, port, tls, run.req_timeout()).result()), deadline)
    if kind in ("tcp_repeat_backend", "udp_repeat_backend"):
        return repeat_backend(run, case, addr, port, deadline)
    if kind in ("tcp_distribution", "udp_distribution"):
        return distribution(run, case, addr, port, deadline)
    if kind == "udp_echo":
        return udp_echo(run, case, addr, port, deadline)
    if kind == "dns_query":
        end = min(deadline, time.monotonic() + 60)
        last = None
        while True:
            r = pool.submit(udp_exchange, addr, port, dns_packet(rq.get("question", "foo.bar.com."),
                                                                 rq.get("qtype", "A")), 1.0).result()
            if "reply" in r:
                return None
            last = r["error"]
            if time.monotonic() + 1 > end:
                return f"no DNS reply: {last}"
            time.sleep(1)
    if kind == "tls_connect_rejected":
        end = min(deadline, time.monotonic() + 30)
        last = None
        while True:
            why = pool.submit(tls_dial, addr, port, (rq.get("tls") or {}).get("sni"),
                              run.req_timeout()).result()
            if why and why.startswith("eof:"):
                return None
            last = why or "the TLS handshake completed"
            if time.monotonic() + 0.5 > end:
                return f"the TLS dial was not refused: {last}"
            time.sleep(0.5)
    return f"runner: unknown L4 kind {kind}"


def pod_of(case, addr, port, timeout):
    """The pod that served one fresh TCP connection (TEST) or one datagram of a
    new UDP socket (the reply JSON): {"pod": ...} or {"error": ...}."""
    if case["kind"].startswith("udp_"):
        payload = (case.get("request") or {}).get("payload", "gateway-api-conformance").encode()
        r = udp_exchange(addr, port, payload, timeout)
        if "error" in r:
            return r
        try:
            return {"pod": str(json.loads(r["reply"]).get("pod", ""))}
        except ValueError:
            return {"error": f"UDP reply is not JSON: {r['reply'][:100]!r}"}
    r = tcp_echo(addr, port, None, timeout, False)
    return r if "error" in r else {"pod": str(r["test"].get("pod", ""))}


def repeat_backend(run, case, addr, port, deadline):
    """Batches of `repeat` connections (datagrams) until one batch is served by
    response.backend only (never by never_backend); a failed batch is retried
    after 1 s (UDP: for up to 60 s)."""
    want = case["response"]
    udp = case["kind"].startswith("udp_")
    if udp:
        deadline = min(deadline, time.monotonic() + 60)
    # UDP compares the backend (pod minus its last two parts); TCP the prefix
    ok = (lambda pod: _pod_backend(pod) == want["backend"]) if udp else \
        (lambda pod: pod.startswith(want["backend"] + "-") and not (
            want.get("never_backend") and pod.startswith(want["never_backend"] + "-")))
    last = None
    while True:
        bad = None
        for _ in range(case.get("repeat", 100)):
            if time.monotonic() > deadline:
                return bad or last or "deadline passed"
            r = run.client.pool.submit(pod_of, case, addr, port, 1.0 if udp else run.req_timeout()).result()
            if "error" in r:
                bad = r["error"]
                break
            if not ok(r["pod"]):
                bad = f"pod {r['pod']!r}, want {want['backend']} only"
                break
        if not bad:
            return None
        last = bad
        if time.monotonic() + 1 > deadline:
            return last
        time.sleep(1)


def distribution(run, case, addr, port, deadline):
    want = case["expected_weights"]
    tol = case.get("tolerance_abs", 0.05)
    udp = case["kind"].startswith("udp_")
    what = "datagrams" if udp else "connections"
    timeout = 1.0 if udp else min(5.0, run.a.timeout)
    last, attempt = None, 0
    for attempt in range(case.get("max_attempts", 10)):
        if time.monotonic() > deadline:
            break
        # one sample first: a listener that does not answer yet costs one
        # timeout per batch, not one per sample
        r = run.client.pool.submit(pod_of, case, addr, port, 1.0 if udp else run.req_timeout()).result()
        if "error" in r:
            last = r["error"]
            time.sleep(1)
            continue
        futs = [run.client.pool.submit(pod_of, case, addr, port, timeout)
                for _ in range(case.get("requests", 500))]
        counts, bad = {}, None
        for f in futs:
            r = f.result()
            if "error" in r:
                bad = r["error"]
                continue
            be = _pod_backend(r["pod"])
            counts[be] = counts.get(be, 0) + 1
        if bad:
            last = bad
            continue
        n = sum(counts.values())
        errs = [f"{b} got {c} {what}, not a listed backend" for b, c in counts.items() if b not in want]
        for b, w in want.items():
            s = counts.get(b, 0) / n
            if w == 0 and counts.get(b):
                errs.append(f"{b} (weight 0) got {counts[b]} {what}")
            elif abs(s - w) > tol:
                errs.append(f"{b} share {s:.3f}, want {w}±{tol}")
        if not errs:
            return None
        last = "; ".join(errs) + f" (counts {counts})"
    return f"{last} (after {attempt + 1} batches)"


def udp_echo(run, case, addr, port, deadline):
    rq, want = case.get("request") or {}, case.get("response") or {}
    end = min(deadline, time.monotonic() + 30)
    last = None
    while True:
        r = run.client.pool.submit(udp_exchange, addr, port,
                                   rq.get("payload", "gateway-api-conformance").encode(), 1.0).result()
        if "reply" in r:
            try:
                j = json.loads(r["reply"])
                last = None
                for k in ("service", "namespace"):
                    if want.get(k) and j.get(k) != want[k]:
                        last = f"{k} {j.get(k)!r}, want {want[k]!r}"
                if last is None:
                    return None
            except ValueError:
                last = f"reply is not JSON: {r['reply'][:100]!r}"
        else:
            last = r["error"]
        if time.monotonic() + 0.1 > end:
            return last
        time.sleep(0.1)
