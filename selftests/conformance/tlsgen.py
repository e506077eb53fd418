# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
"""The certificates of cases.json "generated_objects", made with the openssl CLI.

Upstream's suite creates these Secrets and ConfigMaps in code before the Gateway
tests. The names, namespaces, SANs and CA relationships follow the descriptions
in cases.json; an object this table does not know becomes a self-signed server
certificate with the URI SAN "*". Keys are RSA-2048 in PKCS#1 PEM.
"""
import base64
import os
import shutil
import subprocess

# name -> (how, CA letter, SANs); how: ca | self | server | client
KNOWN = {
    "certificate": ("self", None, ["URI:*"]),
    "tls-validity-checks-certificate": ("self", None, ["DNS:*.org", "DNS:*.wildcard.org", "URI:*"]),
    "web-backend-cm": ("ca", "U", []),
    "tls-validity-checks-ca-certificate": ("ca", "A", []),
    "tls-validity-checks-client-certificate": ("client", "A", []),
    "tls-validity-checks-per-port-ca-certificate": ("ca", "B", []),
    "tls-validity-checks-per-port-client-certificate": ("client", "B", []),
    "tls-checks-ca-certificate": ("ca", "C", []),
    "tls-checks-certificate": ("server", "C", ["DNS:abc.example.com", "URI:spiffe://abc.example.com/test-identity",
                                               "DNS:other.example.com"]),
    "tls-checks-client-certificate": ("client", "C", []),
    "tls-passthrough-checks-certificate": ("server", "C", ["DNS:abc.example.com"]),
    "tls-terminate-checks-certificate": ("server", "C", ["DNS:tls.example.com"]),
    "mismatch-ca-certificate": ("ca", "D", []),
}


def available():
    return shutil.which("openssl") is not None


def _run(*cmd):
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _key(path):
    _run("openssl", "genrsa", "-traditional", "-out", path, "2048")


class Maker:
    def __init__(self, tmp):
        self.dir = os.path.join(tmp, "tls")
        os.makedirs(self.dir, exist_ok=True)
        self.cas = {}
        self.n = 0

    def path(self, what):
        self.n += 1
        return os.path.join(self.dir, f"{self.n}-{what}")

    def ca(self, letter):
        if letter not in self.cas:
            key, crt = self.path("ca.key"), self.path("ca.crt")
            _key(key)
            _run("openssl", "req", "-x509", "-new", "-key", key, "-out", crt, "-days", "365",
                 "-subj", "/O=Kubernetes Gateway API/CN=gatewayapi",
                 "-addext", "basicConstraints=critical,CA:TRUE",
                 "-addext", "keyUsage=critical,keyCertSign,cRLSign,digitalSignature")
            self.cas[letter] = (key, crt)
        return self.cas[letter]

    def leaf(self, how, letter, sans):
        key, crt, ext = self.path("leaf.key"), self.path("leaf.crt"), self.path("leaf.ext")
        _key(key)
        lines = ["basicConstraints=CA:FALSE",
                 "extendedKeyUsage=" + ("clientAuth" if how == "client" else "serverAuth")]
        if sans:
            lines.append("subjectAltName=" + ",".join(sans))
        with open(ext, "w") as f:
            f.write("\n".join(lines) + "\n")
        subj = "/O=Acme Co/CN=default"
        if how == "self":
            _run("openssl", "req", "-x509", "-new", "-key", key, "-out", crt, "-days", "365", "-subj", subj,
                 "-extensions", "v3", "-config", self._cfg(lines))
        else:
            csr = self.path("leaf.csr")
            cakey, cacrt = self.ca(letter)
            _run("openssl", "req", "-new", "-key", key, "-out", csr, "-subj", subj)
            _run("openssl", "x509", "-req", "-in", csr, "-CA", cacrt, "-CAkey", cakey, "-CAcreateserial",
                 "-out", crt, "-days", "365", "-extfile", ext)
        return open(crt).read(), open(key).read()

    def _cfg(self, lines):
        cfg = self.path("req.cnf")
        with open(cfg, "w") as f:
            f.write("[req]\ndistinguished_name=dn\n[dn]\n[v3]\n" + "\n".join(lines) + "\n")
        return cfg


def b64(s):
    return base64.b64encode(s.encode()).decode()


def objects(spec, tmp):
    """Kubernetes Secrets and ConfigMaps for cases.json generated_objects["objects"]."""
    m = Maker(tmp)
    out = []
    for o in spec:
        how, letter, sans = KNOWN.get(o["name"], ("self", None, ["URI:*"]))
        meta = {"name": o["name"], "namespace": o["namespace"], "generation": 1}
        if o["kind"] == "ConfigMap":
            ca = m.ca(letter or o["name"])
            out.append({"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta,
                        "data": {"ca.crt": open(ca[1]).read()}})
            continue
        crt, key = m.leaf("self" if how == "ca" else how, letter, sans)
        out.append({"apiVersion": "v1", "kind": "Secret", "metadata": meta, "type": "kubernetes.io/tls",
                    "data": {"tls.crt": b64(crt), "tls.key": b64(key)}})
    return out
