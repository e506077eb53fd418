# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
"""Manifests for the conformance runner: loading, the manifest_conventions, and
the Deployment and EndpointSlice controllers that standalone mode lacks."""
import base64
import copy
import os
import re

import yaml

CLASS = "xgw-conformance"
CONTROLLER = "xgw.io/gateway-controller"
NAMESPACED_NOT = {"Namespace", "GatewayClass"}
USABLE_ADDR = "10.78.0.250"  # inside the agent's --address-pool: usable
UNUSABLE_ADDR = "10.79.255.1"  # outside every pool: AddressNotUsable


def key_of(d):
    m = d.get("metadata") or {}
    ns = None if d["kind"] in NAMESPACED_NOT else (m.get("namespace") or "default")
    return (d["kind"], ns, m["name"])


def load_manifests(mdir, paths):
    docs = []
    for p in paths:
        with open(os.path.join(mdir, p)) as f:
            docs += [d for d in yaml.safe_load_all(f) if d]
    return docs


def replace_placeholders(v):
    if isinstance(v, dict):
        return {k: replace_placeholders(x) for k, x in v.items()}
    if isinstance(v, list):
        return [replace_placeholders(x) for x in v]
    if isinstance(v, str):
        return v.replace("{GATEWAY_CLASS_NAME}", CLASS).replace("{GATEWAY_CONTROLLER_NAME}", CONTROLLER)
    return v


def prepare(docs):
    """manifest_conventions: class, controller, addresses, Namespace label, generation."""
    out = []
    for d in docs:
        d = replace_placeholders(copy.deepcopy(d))
        m = d.setdefault("metadata", {})
        kind = d.get("kind")
        if kind == "Gateway":
            d["spec"]["gatewayClassName"] = CLASS
            addrs = []
            for a in d["spec"].get("addresses") or []:
                if a.get("value") == "PLACEHOLDER_USABLE_ADDRS":
                    addrs.append({"type": "IPAddress", "value": USABLE_ADDR})
                elif a.get("value") == "PLACEHOLDER_UNUSABLE_ADDRS":
                    addrs.append({"type": "IPAddress", "value": UNUSABLE_ADDR})
                else:
                    addrs.append(a)
            if "addresses" in d["spec"]:
                d["spec"]["addresses"] = addrs
        if kind == "GatewayClass":
            d["spec"]["controllerName"] = CONTROLLER
        if kind == "Namespace":
            m.setdefault("labels", {})["kubernetes.io/metadata.name"] = m["name"]
        m.setdefault("generation", 1)
        out.append(d)
    return out


def container_ports(dep):
    ports = set()
    for c in (((dep.get("spec") or {}).get("template") or {}).get("spec") or {}).get("containers") or []:
        for p in c.get("ports") or []:
            if p.get("protocol", "TCP") == "TCP":
                ports.add(p["containerPort"])
    return ports or {3000}


def mounted_file(dep, container, path, docs, tmp):
    """The file that <container> of Deployment <dep> reads at <path>, from the
    Secret or ConfigMap volume mounted above it (its items, else one file per
    key), written under <tmp>. None when nothing mounted there holds it."""
    spec = dep["spec"]["template"]["spec"]
    ns = dep["metadata"].get("namespace") or "default"
    vols = {v["name"]: v for v in spec.get("volumes") or []}
    for vm in container.get("volumeMounts") or []:
        top = vm["mountPath"].rstrip("/") + "/"
        vol = vols.get(vm["name"]) or {}
        src = vol.get("secret") or vol.get("configMap")
        if not path.startswith(top) or not src:
            continue
        kind, name = ("Secret", src.get("secretName")) if "secret" in vol else ("ConfigMap", src.get("name"))
        rel = path[len(top):]
        items = src.get("items")
        key = next((i["key"] for i in items if i["path"] == rel), None) if items else rel
        obj = next((d for d in docs if d.get("kind") == kind and d["metadata"]["name"] == name and
                    (d["metadata"].get("namespace") or "default") == ns), None)
        data = ((obj or {}).get("data") or {}).get(key)
        if data is None:
            return None
        out = os.path.join(tmp, f"mnt-{ns}-{kind}-{name}-{key}")
        with open(out, "wb") as f:
            f.write(base64.b64decode(data) if kind == "Secret" else data.encode())
        return out
    return None


def serving_cert(dep, container, env, key_var, docs, tmp, ca_var=None):
    """echo-basic's TLS port of a container: {"crt", "key", ["ca"]} from the
    files its environment names (TLS_SERVER_CERT, <key_var>, <ca_var>), or
    None when it mounts no certificate (echo-basic then serves no TLS)."""
    def value(var):
        return (env.get(var) or {}).get("value")
    if not value("TLS_SERVER_CERT") or not value(key_var):
        return None
    out = {"crt": mounted_file(dep, container, value("TLS_SERVER_CERT"), docs, tmp),
           "key": mounted_file(dep, container, value(key_var), docs, tmp)}
    if not out["crt"] or not out["key"]:
        return None
    if ca_var and value(ca_var):
        out["ca"] = mounted_file(dep, container, value(ca_var), docs, tmp)
        if not out["ca"]:
            return None
    return out


def backend_of(dep, docs, tmp):
    """What xgw-echo stands for Deployment <dep>'s containers as (cases.json
    "backends"): the L4 "mode" of echo-basic with TCP_ECHO_SERVER (TLS on 8443 with
    the files its TLS_SERVER_CERT and TLS_SERVER_PRIV_KEY name), with
    UDP_ECHO_SERVER, or CoreDNS; for the HTTP and gRPC echo the "tls_port" ($HTTPS_PORT,
    else 8443) and its files that echo-basic serves TLS with when TLS_SERVER_CERT and
    its key are mounted (the HTTP echo's TLS_SERVER_PRIVKEY and TLS_CLIENT_CACERTS,
    the gRPC echo's TLS_SERVER_PRIV_KEY); None for a plain HTTP or gRPC echo."""
    spec = ((dep.get("spec") or {}).get("template") or {}).get("spec") or {}
    for c in spec.get("containers") or []:
        env = {e["name"]: e for e in c.get("env") or []}
        svc = (env.get("SERVICE_NAME") or {}).get("value") or ""
        if "coredns" in (c.get("image") or ""):
            return {"mode": "dns", "service": svc or dep["metadata"]["name"]}
        if "UDP_ECHO_SERVER" in env:
            return {"mode": "udp", "service": svc}
        if "TCP_ECHO_SERVER" in env:
            return {"mode": "tcp", "service": svc,
                    **(serving_cert(dep, c, env, "TLS_SERVER_PRIV_KEY", docs, tmp) or {})}
        grpc = "GRPC_ECHO_SERVER" in env
        tls = serving_cert(dep, c, env, "TLS_SERVER_PRIV_KEY" if grpc else "TLS_SERVER_PRIVKEY", docs, tmp,
                           None if grpc else "TLS_CLIENT_CACERTS")
        if tls:
            return {"tls_port": int((env.get("HTTPS_PORT") or {}).get("value") or 8443), **tls}
    return None


def named_port(dep, name):
    for c in dep["spec"]["template"]["spec"].get("containers") or []:
        for p in c.get("ports") or []:
            if p.get("name") == name:
                return p["containerPort"]
    return None


def endpoint_slices(docs, topo, only=None):
    """Play the Deployment and EndpointSlice controllers: start the echo pods of
    the Deployments in <docs>, return EndpointSlices for its selector Services
    (only those whose key is in <only>, when given)."""
    deps = [d for d in docs if d.get("kind") == "Deployment"]
    for d in deps:
        ns = d["metadata"].get("namespace") or "default"
        # a pod serves on ports it does not declare too: add the numeric targetPorts
        # of the Services that select it
        ports = container_ports(d)
        labels = ((d["spec"].get("template") or {}).get("metadata") or {}).get("labels") or {}
        for svc in docs:
            sel = (svc.get("spec") or {}).get("selector") if svc.get("kind") == "Service" else None
            if sel and (svc["metadata"].get("namespace") or "default") == ns and \
                    all(labels.get(k) == v for k, v in sel.items()):
                ports |= {p.get("targetPort", p["port"]) for p in svc["spec"].get("ports") or []
                          if isinstance(p.get("targetPort", p["port"]), int)}
        topo.pods_for(ns, d["metadata"]["name"], d["spec"].get("replicas", 1), ports,
                      backend=backend_of(d, docs, topo.tmp))
    out = []
    for svc in docs:
        if svc.get("kind") != "Service" or not (svc.get("spec") or {}).get("selector"):
            continue
        if only is not None and key_of(svc) not in only:
            continue
        ns = svc["metadata"].get("namespace") or "default"
        sel = svc["spec"]["selector"]
        for fam, at in (("v4", "IPv4"), ("v6", "IPv6")):
            eps, ports = [], []
            for d in deps:
                labels = ((d["spec"].get("template") or {}).get("metadata") or {}).get("labels") or {}
                if (d["metadata"].get("namespace") or "default") != ns or \
                        any(labels.get(k) != v for k, v in sel.items()):
                    continue
                for sp in svc["spec"].get("ports") or []:
                    tp = sp.get("targetPort", sp["port"])
                    if isinstance(tp, str):
                        tp = named_port(d, tp)
                    if tp is None:
                        continue
                    pe = {"port": tp, "protocol": sp.get("protocol", "TCP")}
                    if sp.get("name"):
                        pe["name"] = sp["name"]
                    if pe not in ports:
                        ports.append(pe)
                for pod in topo.pods[(ns, d["metadata"]["name"])]:
                    eps.append({"addresses": [pod[fam]], "conditions": {"ready": True, "serving": True},
                                "targetRef": {"kind": "Pod", "name": pod["name"], "namespace": ns}})
            if eps:
                out.append({"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
                            "metadata": {"name": f"{svc['metadata']['name']}-xgwconf-{fam}", "namespace": ns,
                                         "labels": {"kubernetes.io/service-name": svc["metadata"]["name"]},
                                         "generation": 1},
                            "addressType": at, "ports": ports, "endpoints": eps})
    return out


def set_path(obj, path, value, append=False):
    parts = re.findall(r"[^.\[\]]+|\[\d+\]", path)
    cur = obj
    for i, p in enumerate(parts):
        last = i == len(parts) - 1
        if p.startswith("["):
            idx = int(p[1:-1])
            if last:
                cur[idx] = value
            else:
                cur = cur[idx]
        elif last:
            if append:
                cur.setdefault(p, []).append(value)
            else:
                cur[p] = value
        else:
            cur = cur.setdefault(p, {})
