#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# An HTTPS backend for e2e_btls.sh: answers every GET with JSON telling the
# server name the client sent (SNI), the subject CN of its certificate (when
# CA_FILE makes one required) and its source port (the same port twice: the
# connection was reused).  Usage: tls_backend.py ADDR PORT CERT KEY [CA_FILE]
import json, socket, ssl, sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
port, cert, key = int(sys.argv[2]), sys.argv[3], sys.argv[4]
ca = sys.argv[5] if len(sys.argv) > 5 else None
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
if ca:
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.load_verify_locations(ca)
def sni_cb(sock, name, c):
    sock.sni = name
ctx.sni_callback = sni_cb
class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        peer = self.connection.getpeercert()
        cn = None
        if peer:
            for rdn in peer.get("subject", ()):
                for k, v in rdn:
                    if k == "commonName": cn = v
        body = json.dumps({"sni": getattr(self.connection, "sni", None), "peer_cn": cn,
                           "client_port": self.client_address[1], "path": self.path}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a): pass
class S(ThreadingHTTPServer):
    daemon_threads = True
    def get_request(self):
        s, a = self.socket.accept()
        return ctx.wrap_socket(s, server_side=True), a
    def handle_error(self, request, client_address): pass
S((sys.argv[1], port), H).serve_forever()
