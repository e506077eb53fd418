# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
"""The conformance runner's clients: HTTP/1.1 (plain or TLS), a minimal HTTP/2
prior-knowledge client and a WebSocket echo client, all on plain sockets, run by
threads that joined the client network namespace (Client); gRPC calls go through
a child process in that namespace (grpcclient.py)."""
import base64
import concurrent.futures
import ctypes
import hashlib
import json
import os
import socket
import ssl
import threading

import grpcclient


def canon(name):
    """Go's textproto.CanonicalMIMEHeaderKey."""
    return "-".join(p[:1].upper() + p[1:].lower() for p in name.split("-"))


class Client:
    def __init__(self, ns):
        self.nsfile = f"/run/netns/{ns}"
        self.pool = concurrent.futures.ThreadPoolExecutor(max_workers=10, initializer=self._enter)
        self._grpc, self._grpc_lock = None, threading.Lock()

    def _enter(self):
        libc = ctypes.CDLL(None, use_errno=True)
        fd = os.open(self.nsfile, os.O_RDONLY)
        try:
            if libc.setns(fd, 0x40000000):  # CLONE_NEWNET, this thread only
                raise OSError(ctypes.get_errno(), "setns")
        finally:
            os.close(fd)

    def request(self, *a, **kw):
        return self.pool.submit(http_request, *a, **kw).result()


    def many(self, reqs):
        futs = [self.pool.submit(http_request, *a, **kw) for a, kw in reqs]
        return [f.result() for f in futs]

    def grpc(self):
        """The gRPC client of the namespace, started on first use."""
        with self._grpc_lock:
            if self._grpc is None:
                self._grpc = grpcclient.GrpcClient(self.nsfile)
            return self._grpc

    def close(self):
        self.pool.shutdown(wait=True, cancel_futures=True)
        if self._grpc:
            self._grpc.close()


def read_until(s, buf, sep):
    while sep not in buf:
        d = s.recv(65536)
        if not d:
            raise ConnectionError("connection closed before the end of the response head")
        buf += d
    return buf


def go_host_match(pattern, host):
    """Go crypto/x509 matchHostnames: a "*" leftmost label matches exactly one label
    (so "*.org" covers "example.org", which OpenSSL's check refuses)."""
    p = pattern.lower().rstrip(".").split(".")
    h = host.lower().rstrip(".").split(".")
    if len(p) != len(h) or not all(p):
        return False
    return all(a == b or (i == 0 and a == "*") for i, (a, b) in enumerate(zip(p, h)))


def tls_wrap(sock, tls):
    """TLS client as upstream's Go client: verify the chain against the given trust,
    then the server name with Go's rules, SNI, optional client certificate."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.check_hostname = False
    ctx.load_verify_locations(cafile=tls["cafile"])
    ctx.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN  # a self-signed leaf is its own anchor
    if tls.get("certfile"):
        ctx.load_cert_chain(tls["certfile"], tls["keyfile"])
    s = ctx.wrap_socket(sock, server_hostname=tls["sni"])
    names = [v for k, v in s.getpeercert().get("subjectAltName", ()) if k == "DNS"]
    if not any(go_host_match(n, tls["sni"]) for n in names):
        s.close()
        raise ssl.SSLCertVerificationError(
            f"certificate verify failed: Hostname mismatch, certificate is not valid for "
            f"{tls['sni']!r} (DNS names {names})")
    return s


def http_request(ip, port, method, target, headers, timeout=5.0, tls=None):
    """One HTTP/1.1 request; returns {status, headers: [(name, value)], body} or {error}."""
    try:
        with socket.create_connection((ip, port), timeout=timeout) as raw:
            s = tls_wrap(raw, tls) if tls else raw
            s.settimeout(timeout)
            lines = [f"{method} {target} HTTP/1.1"] + [f"{k}: {v}" for k, v in headers]
            lines.append("Connection: close")
            s.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
            buf = read_until(s, b"", b"\r\n\r\n")
            head, rest = buf.split(b"\r\n\r\n", 1)
            hl = head.decode("latin-1").split("\r\n")
            parts = hl[0].split(" ", 2)
            status = int(parts[1])
            hdrs = []
            for line in hl[1:]:
                k, _, v = line.partition(":")
                hdrs.append((k.strip(), v.strip()))
            hmap = {k.lower(): v for k, v in hdrs}
            body = rest
            if method == "HEAD" or status in (204, 304) or status < 200:
                body = b""
            elif "chunked" in hmap.get("transfer-encoding", "").lower():
                out, data = b"", rest
                while True:
                    data = read_until(s, data, b"\r\n")
                    size_line, data = data.split(b"\r\n", 1)
                    size = int(size_line.split(b";")[0], 16)
                    if size == 0:
                        break
                    while len(data) < size + 2:
                        d = s.recv(65536)
                        if not d:
                            raise ConnectionError("connection closed inside a chunk")
                        data += d
                    out, data = out + data[:size], data[size + 2:]
                body = out
            elif "content-length" in hmap:
                n = int(hmap["content-length"])
                while len(body) < n:
                    d = s.recv(65536)
                    if not d:
                        raise ConnectionError(f"connection closed after {len(body)} of {n} body bytes")
                    body += d
            else:
                while True:
                    d = s.recv(65536)
                    if not d:
                        break
                    body += d
            return {"status": status, "headers": hdrs, "body": body}
    except (OSError, ValueError, IndexError) as e:
        return {"error": f"{type(e).__name__}: {e}"}


def need(s, buf, n):
    while len(buf) < n:
        d = s.recv(65536)
        if not d:
            raise ConnectionError(f"connection closed after {len(buf)} of {n} bytes")
        buf += d
    return buf


def ws_echo(ip, port, host, path, messages, timeout=5.0):
    """RFC 6455 client: handshake, send each message masked, expect it echoed. None or a reason."""
    key = base64.b64encode(os.urandom(16)).decode()
    try:
        with socket.create_connection((ip, port), timeout=timeout) as s:
            s.settimeout(timeout)
            s.sendall((f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\n"
                       f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                       f"Origin: ws://gateway/conformance\r\n\r\n").encode())
            buf = read_until(s, b"", b"\r\n\r\n")
            head, buf = buf.split(b"\r\n\r\n", 1)
            lines = head.decode("latin-1").split("\r\n")
            if " 101 " not in lines[0] + " ":
                return f"handshake answered {lines[0]!r}"
            want = base64.b64encode(hashlib.sha1((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode())
                                    .digest()).decode()
            got = {k.strip().lower(): v.strip() for k, _, v in (x.partition(":") for x in lines[1:])}
            if got.get("sec-websocket-accept") != want:
                return f"Sec-WebSocket-Accept {got.get('sec-websocket-accept')!r}, want {want!r}"
            for m in messages:
                op, data = (1, m["data"].encode()) if m["type"] == "text" else (2, bytes(m["data_bytes"]))
                mask = os.urandom(4)
                hdr = bytes([0x80 | op]) + (bytes([0x80 | len(data)]) if len(data) < 126 else
                                            bytes([0x80 | 126]) + len(data).to_bytes(2, "big"))
                s.sendall(hdr + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data)))
                buf = need(s, buf, 2)
                n, off = buf[1] & 0x7F, 2
                if n == 126:
                    buf = need(s, buf, 4)
                    n, off = int.from_bytes(buf[2:4], "big"), 4
                buf = need(s, buf, off + n)
                fop, payload, buf = buf[0] & 0x0F, buf[off:off + n], buf[off + n:]
                if fop != op or payload != data:
                    return f"sent opcode {op} {data[:40]!r}, got opcode {fop} {payload[:40]!r}"
            return None
    except (OSError, ValueError, IndexError) as e:
        return f"{type(e).__name__}: {e}"


def h2c_request(ip, port, method, target, headers, timeout=5.0):
    """HTTP/2 prior knowledge, one stream. HPACK: literal fields out; the answer's
    :status is read from the static table (indexed 8..14) and the body from DATA."""
    def lit(name, value):
        n, v = name.lower().encode(), value.encode()
        assert len(n) < 127 and len(v) < 127
        return b"\x00" + bytes([len(n)]) + n + bytes([len(v)]) + v

    host = dict(headers).get("Host", ip)
    block = lit(":method", method) + lit(":scheme", "http") + lit(":path", target) + lit(":authority", host)
    for k, v in headers:
        if k != "Host":
            block += lit(k, v)
    frame = (lambda typ, flags, sid, payload: len(payload).to_bytes(3, "big") + bytes([typ, flags]) +
             sid.to_bytes(4, "big") + payload)
    try:
        with socket.create_connection((ip, port), timeout=timeout) as s:
            s.settimeout(timeout)
            s.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + frame(4, 0, 0, b"") + frame(1, 5, 1, block))
            buf, status, body = b"", None, b""
            while True:
                while len(buf) < 9:
                    d = s.recv(65536)
                    if not d:
                        return {"error": f"connection closed (got {buf[:40]!r})"}
                    buf += d
                if buf.startswith(b"HTTP/"):
                    first = buf.split(b"\r\n")[0]
                    return {"error": f"answered in HTTP/1: {first!r}"}
                n = int.from_bytes(buf[:3], "big")
                while len(buf) < 9 + n:
                    d = s.recv(65536)
                    if not d:
                        return {"error": "connection closed inside a frame"}
                    buf += d
                typ, flags, sid, payload, buf = buf[3], buf[4], int.from_bytes(buf[5:9], "big") & 0x7FFFFFFF, \
                    buf[9:9 + n], buf[9 + n:]
                if typ == 4 and not flags & 1:
                    s.sendall(frame(4, 1, 0, b""))
                elif typ == 7:
                    return {"error": f"GOAWAY {payload[4:8].hex()}"}
                elif typ == 3 and sid == 1:
                    return {"error": "stream reset"}
                elif typ == 1 and sid == 1:
                    if payload and 0x88 <= payload[0] <= 0x8E and status is None:
                        status = [200, 204, 206, 304, 400, 404, 500][payload[0] - 0x88]
                    elif status is None:
                        status = -1
                    if flags & 1:
                        break
                elif typ == 0 and sid == 1:
                    body += payload
                    if flags & 1:
                        break
            if status == -1:
                return {"error": "HTTP/2 :status not in the static table (runner's HPACK reader is minimal)"}
            return {"status": status, "headers": [], "body": body}
    except (OSError, ValueError, IndexError) as e:
        return {"error": f"{type(e).__name__}: {e}"}


def echo_of(resp):
    try:
        j = json.loads(resp["body"])
        return j if isinstance(j, dict) and "pod" in j and "headers" in j else None
    except (ValueError, KeyError, TypeError):
        return None


def hdr_joined(headers, name):
    vals = [v for k, v in headers if k.lower() == name.lower()]
    return ",".join(vals) if vals else None
