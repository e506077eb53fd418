#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
"""Clients of e2e_l4.sh: one command per run, one result line on stdout.

  tcp HOST PORT LINE...      lines out, FIN, everything read until EOF
  big HOST PORT N            a line of N bytes out, FIN: the bytes read back
  halfclose HOST PORT        welcome, then PING and FIN: "PONG" must follow
  refused HOST PORT          "reset", "eof", "refused" or "data"
  weights HOST PORT N        N connections' TEST answers: "pod=count ..."
  tls HOST PORT SNI|-        TEST over TLS (not verified): "pod sni isTLS cn"
  split HOST PORT SNI        the same with the ClientHello cut in two
                             records, sent in two writes 300 ms apart
  garbage HOST PORT          not a ClientHello: "closed" or "open"
  udp HOST PORT K            K clients, one datagram each: "ok K" when each
                             got its own answer from HOST:PORT
  udp-cap HOST PORT K        K clients at once, 1 s for answers: "answered N"
  udp-src HOST PORT          one datagram: "SRC_HOST SRC_PORT POD"
  dns HOST PORT              an A query, then a malformed one
Every wait is bounded (5 s).
"""
import json
import socket
import ssl
import struct
import sys
import time

T = 5.0


def fam(host):
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def conn(host, port):
    s = socket.socket(fam(host), socket.SOCK_STREAM)
    s.settimeout(T)
    s.connect((host, port))
    return s


def read_all(s):
    d = b""
    while True:
        x = s.recv(65536)
        if not x:
            return d
        d += x


def read_json(read):
    buf = b""
    while True:
        x = read()
        if not x:
            raise EOFError(buf)
        buf += x
        for line in buf.split(b"\n"):
            if line.startswith(b"{"):
                return json.loads(line)


def cmd_tcp(host, port, *lines):
    s = conn(host, port)
    s.sendall("".join(l + "\n" for l in lines).encode())
    s.shutdown(socket.SHUT_WR)
    print(read_all(s).decode().replace("\n", "|"))


def cmd_big(host, port, n):
    s = conn(host, port)
    s.sendall(b"x" * int(n) + b"\n")
    s.shutdown(socket.SHUT_WR)
    print(len(read_all(s)))


def cmd_halfclose(host, port):
    s = conn(host, port)
    welcome = s.recv(100)
    time.sleep(0.2)
    s.sendall(b"PING\n")
    s.shutdown(socket.SHUT_WR)
    print((welcome + read_all(s)).decode().replace("\n", "|"))


def cmd_refused(host, port):
    try:
        s = conn(host, port)
        d = s.recv(100)
        print("data" if d else "eof")
    except ConnectionRefusedError:
        print("refused")
    except ConnectionResetError:
        print("reset")


def cmd_weights(host, port, n):
    counts = {}
    for _ in range(int(n)):
        s = conn(host, port)
        s.sendall(b"TEST\n")
        pod = read_json(lambda: s.recv(4096))["pod"]
        counts[pod] = counts.get(pod, 0) + 1
        s.close()
    print(" ".join("%s=%d" % kv for kv in sorted(counts.items())))


def tls_ctx():
    c = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    c.check_hostname = False
    c.verify_mode = ssl.CERT_NONE
    return c


def report(j, der):
    cn = "term.test" if der and b"term.test" in der else "-"
    print(j["pod"], j["tls"]["serverName"] or "-", str(j["isTLS"]).lower(), cn)


def cmd_tls(host, port, sni):
    s = tls_ctx().wrap_socket(conn(host, port), server_hostname=None if sni == "-" else sni)
    s.sendall(b"TEST\n")
    j = read_json(lambda: s.recv(4096))
    report(j, s.getpeercert(binary_form=True))


def cmd_split(host, port, sni):
    s = conn(host, port)
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    o = tls_ctx().wrap_bio(inc, out, server_hostname=sni)
    try:
        o.do_handshake()
    except ssl.SSLWantReadError:
        pass
    rec = out.read()
    hdr, body = rec[:5], rec[5:]
    cut = len(body) // 3
    r1 = hdr[:3] + struct.pack("!H", cut) + body[:cut]
    r2 = hdr[:3] + struct.pack("!H", len(body) - cut) + body[cut:]
    s.sendall(r1 + r2[:4])
    time.sleep(0.3)
    s.sendall(r2[4:])
    deadline = time.time() + T
    while time.time() < deadline:
        try:
            o.do_handshake()
            break
        except ssl.SSLWantReadError:
            pass
        d = out.read()
        if d:
            s.sendall(d)
        x = s.recv(65536)
        if not x:
            raise EOFError("closed during the handshake")
        inc.write(x)
    d = out.read()
    if d:
        s.sendall(d)
    o.write(b"TEST\n")
    s.sendall(out.read())

    def rd():
        while True:
            try:
                return o.read(4096)
            except ssl.SSLWantReadError:
                x = s.recv(65536)
                if not x:
                    return b""
                inc.write(x)

    report(read_json(rd), o.getpeercert(binary_form=True))


def cmd_garbage(host, port):
    s = conn(host, port)
    s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    try:
        print("open" if s.recv(100) else "closed")
    except ConnectionResetError:
        print("closed")
    except socket.timeout:
        print("open")


def cmd_udp(host, port, k):
    socks = []
    for i in range(int(k)):
        u = socket.socket(fam(host), socket.SOCK_DGRAM)
        u.settimeout(T)
        u.sendto(("hello %d" % i).encode(), (host, port))
        socks.append(u)
    good = 0
    for i, u in enumerate(socks):
        d, src = u.recvfrom(65536)
        j = json.loads(d)
        if j["request"] == "hello %d" % i and src[0] == host and src[1] == port:
            good += 1
        else:
            print("bad", i, j, src)
    print("ok", good)


def cmd_udp_cap(host, port, k):
    socks = []
    for i in range(int(k)):
        u = socket.socket(fam(host), socket.SOCK_DGRAM)
        u.setblocking(False)
        u.sendto(b"cap", (host, port))
        socks.append(u)
    answered, deadline = set(), time.time() + 1.0
    while time.time() < deadline and len(answered) < len(socks):
        for i, u in enumerate(socks):
            try:
                u.recv(65536)
                answered.add(i)
            except BlockingIOError:
                pass
        time.sleep(0.02)
    print("answered", len(answered))


def cmd_udp_src(host, port):
    u = socket.socket(fam(host), socket.SOCK_DGRAM)
    u.settimeout(T)
    u.sendto(b"where", (host, port))
    d, src = u.recvfrom(65536)
    print(src[0], src[1], json.loads(d)["pod"])


def cmd_dns(host, port):
    u = socket.socket(fam(host), socket.SOCK_DGRAM)
    u.settimeout(2)
    q = struct.pack("!HHHHHH", 0x1234, 0x0100, 1, 0, 0, 0)
    q += b"\x07example\x03com\x00" + struct.pack("!HH", 1, 1)
    u.sendto(q, (host, port))
    r = u.recv(512)
    qid, flags, qd, an = struct.unpack("!HHHH", r[:8])
    ip = socket.inet_ntoa(r[-4:])
    res = "id=%x qr=%d rcode=%d an=%d a=%s" % (qid, flags >> 15, flags & 15, an, ip)
    u.sendto(b"\x00\x01garbage", (host, port))
    try:
        u.recv(512)
        res += " malformed=answered"
    except socket.timeout:
        res += " malformed=ignored"
    print(res)


def main():
    c, host, port, *rest = sys.argv[1:]
    try:
        globals()["cmd_" + c.replace("-", "_")](host, int(port), *rest)
    except Exception as e:  # one line, whatever went wrong
        print("error", type(e).__name__, e)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
