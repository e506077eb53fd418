# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
"""Status expectations of status.json checked against xgw's status file.

The agent's status file (agent/status.c) holds, like Kubernetes .status:
  {"generation", "programmed", "gatewayClasses": [{name, status}],
   "gateways": [{namespace, name, status}], "listenerSets": [{namespace, name, status}],
   "httpRoutes": [{namespace, name, status}], "grpcRoutes": [{namespace, name, status}],
   "backendTLSPolicies": [{namespace, name, status: {ancestors}}]}
metadata.generation is not in it: the runner plays the API server, writes
metadata.generation into every object and passes a lookup for it.

check(exp, st, ctx) returns None when the expectation holds, else a reason.
ctx: .generation(kind, ns, name) -> int or None, .controller, .before(kind, ns,
name) -> generation before the last step action.
"""

GROUP = "gateway.networking.k8s.io"
STATUS_KEYS = {"GatewayClass": "gatewayClasses", "Gateway": "gateways", "ListenerSet": "listenerSets",
               "HTTPRoute": "httpRoutes", "TLSRoute": "tlsRoutes", "TCPRoute": "tcpRoutes",
               "UDPRoute": "udpRoutes", "GRPCRoute": "grpcRoutes",
               "BackendTLSPolicy": "backendTLSPolicies"}
# policy kinds: their conditions are those of status.ancestors
POLICY_KINDS = ("BackendTLSPolicy",)
# kinds whose status.conditions are their own (routes: those of status.parents)
OBJECT_CONDITIONS = ("GatewayClass", "Gateway", "ListenerSet")


def find(st, kind, ns, name):
    """The status entry of an object, or None."""
    key = STATUS_KEYS.get(kind)
    for o in (st or {}).get(key, []) if key else []:
        if o.get("name") == name and (kind == "GatewayClass" or o.get("namespace") == ns):
            return o
    return None


def obj_ref(o):
    ns = o.get("namespace")
    return f"{o['kind']} {ns + '/' if ns else ''}{o['name']}"


def cond_fmt(c):
    return f"{c.get('type')}={c.get('status')}/{c.get('reason')}(gen {c.get('observedGeneration')})"


def conds_missing(have, want, gen):
    """Reason string when a wanted condition is not in <have>, else None."""
    for w in want:
        match = [c for c in have if c.get("type") == w["type"]]
        ok = [c for c in match if (w.get("status") is None or c.get("status") == w["status"]) and
              (not w.get("reason") or c.get("reason") == w["reason"])]
        if not ok:
            got = ", ".join(cond_fmt(c) for c in have) or "no conditions"
            return (f"want {w['type']}={w.get('status') or 'any'}"
                    f"{'/' + w['reason'] if w.get('reason') else ''}; got {got}")
        if gen is not None and not any(c.get("observedGeneration") == gen for c in ok):
            return (f"{w['type']}: observedGeneration {ok[0].get('observedGeneration')}, "
                    f"metadata.generation {gen}")
    return None


def stale(conds, gen):
    for c in conds:
        if gen is not None and c.get("observedGeneration") != gen:
            return f"{c.get('type')}: observedGeneration {c.get('observedGeneration')} != generation {gen}"
    return None


def no_status(kind):
    return f"xgw reports no status for kind {kind} (not implemented)"


def obj(st, ref, ctx):
    kind, ns, name = ref["kind"], ref.get("namespace"), ref["name"]
    if kind not in STATUS_KEYS:
        return None, no_status(kind)
    o = find(st, kind, ns, name)
    if o is None:
        return None, f"{obj_ref(ref)}: not in the status file"
    return o, None


def ancestors_of(policy):
    return (policy.get("status") or {}).get("ancestors") or []


def parents_of(route):
    return (route.get("status") or {}).get("parents") or []


def parent_entry(route, parent, strict_ns=False):
    for p in parents_of(route):
        r = p.get("parentRef", {})
        if r.get("name") != parent["name"]:
            continue
        if strict_ns:
            if r.get("namespace", None) not in (None, parent.get("namespace")):
                continue
        elif r.get("namespace") not in (None, parent.get("namespace")):
            continue
        return p
    return None


def listeners_of(gw):
    return (gw.get("status") or {}).get("listeners") or []


def check_listener(ls, want, gen):
    kinds = [(k.get("group", GROUP), k["kind"]) for k in ls.get("supportedKinds") or []]
    if "supportedKinds" in want:
        wk = [(k.get("group", GROUP), k["kind"]) for k in want["supportedKinds"]]
        if not wk and kinds:
            return f"listener {ls['name']}: supportedKinds {kinds}, want none"
        for k in wk:
            if k not in kinds:
                return f"listener {ls['name']}: supportedKinds {kinds} lacks {k[1]}"
    if "attachedRoutes" in want and ls.get("attachedRoutes") != want["attachedRoutes"]:
        return f"listener {ls['name']}: attachedRoutes {ls.get('attachedRoutes')}, want {want['attachedRoutes']}"
    why = conds_missing(ls.get("conditions") or [], want.get("conditions") or [], gen)
    return f"listener {ls['name']}: {why}" if why else None


def routes_and_parent_accepted(exp, st, ctx):
    parent = exp["parent"]
    for r in exp["routes"]:
        route, why = obj(st, r, ctx)
        if why:
            return why
        gen = ctx.generation(r["kind"], r.get("namespace"), r["name"])
        ok = False
        for p in parents_of(route):
            pr = p.get("parentRef", {})
            if (pr.get("group") == GROUP and pr.get("kind") == parent["kind"] and
                    pr.get("name") == parent["name"] and
                    pr.get("namespace", r.get("namespace")) == parent.get("namespace") and
                    p.get("controllerName") == ctx.controller and
                    not conds_missing(p.get("conditions") or [],
                                      [{"type": "Accepted", "status": "True", "reason": "Accepted"}], gen)):
                ok = True
        if not ok:
            got = "; ".join(f"{p.get('parentRef', {}).get('name')}: " +
                            ", ".join(cond_fmt(c) for c in p.get("conditions") or [])
                            for p in parents_of(route)) or "no parents"
            return f"{obj_ref(r)}: not Accepted by {obj_ref(parent)} ({got})"
    if parent["kind"] not in STATUS_KEYS:
        return no_status(parent["kind"])
    gw, why = obj(st, parent, ctx)
    if why:
        return why
    gen = ctx.generation(parent["kind"], parent.get("namespace"), parent["name"])
    for ls in listeners_of(gw):
        why = conds_missing(ls.get("conditions") or [], [
            {"type": "ResolvedRefs", "status": "True"}, {"type": "Accepted", "status": "True"},
            {"type": "Programmed", "status": "True"}], gen)
        if why:
            return f"{obj_ref(parent)} listener {ls.get('name')}: {why}"
    return None


def check(exp, st, ctx):
    c = exp["check"]
    if c in ("object_conditions", "latest_observed_generation"):
        ref = exp["object"]
        o, why = obj(st, ref, ctx)
        if why:
            return why
        gen = ctx.generation(ref["kind"], ref.get("namespace"), ref["name"])
        conds = (o.get("status") or {}).get("conditions") or []
        if ref["kind"] in POLICY_KINDS:  # policies: every status.ancestors entry
            conds = [x for a in ancestors_of(o) for x in a.get("conditions") or []]
        elif ref["kind"] not in OBJECT_CONDITIONS:  # routes: every status.parents entry
            conds = [x for p in parents_of(o) for x in p.get("conditions") or []]
        if c == "latest_observed_generation":
            if not conds:
                return f"{obj_ref(ref)}: no conditions"
            why = stale(conds, gen)
        else:
            why = conds_missing(conds, exp.get("conditions") or [], gen)
        return f"{obj_ref(ref)}: {why}" if why else None
    if c == "generation_changed":
        ref = exp["object"]
        a = ctx.before_gen(ref["kind"], ref.get("namespace"), ref["name"])
        b = ctx.generation(ref["kind"], ref.get("namespace"), ref["name"])
        return None if a != b else f"{obj_ref(ref)}: metadata.generation stayed {b}"
    if c == "route_parent_conditions":
        r, parent = exp["route"], exp["parent"]
        route, why = obj(st, r, ctx)
        if why:
            return why
        p = parent_entry(route, parent)
        if not p:
            return f"{obj_ref(r)}: no status.parents entry for {parent['name']}"
        why = conds_missing(p.get("conditions") or [], exp["conditions"],
                            ctx.generation(r["kind"], r.get("namespace"), r["name"]))
        return f"{obj_ref(r)} parent {parent['name']}: {why}" if why else None
    if c == "route_parents_include":
        r = exp["route"]
        route, why = obj(st, r, ctx)
        if why:
            return why
        gen = ctx.generation(r["kind"], r.get("namespace"), r["name"])
        for want in exp["parents"]:
            wr = want["parentRef"]
            ctrl = want.get("controllerName")
            if not ctrl or ctrl.startswith("<"):
                ctrl = ctx.controller
            found = None
            for p in parents_of(route):
                pr = p.get("parentRef", {})
                ns_ok = pr.get("namespace") == wr.get("namespace") or (
                    not exp.get("namespace_required") and pr.get("namespace") is None)
                if (p.get("controllerName") == ctrl and pr.get("group") == wr.get("group", GROUP) and
                        pr.get("kind") == wr.get("kind", "Gateway") and pr.get("name") == wr["name"] and ns_ok):
                    found = p
                    if not conds_missing(p.get("conditions") or [], want.get("conditions") or [], gen):
                        break
            if not found:
                return f"{obj_ref(r)}: no status.parents entry for {wr['name']}"
            why = conds_missing(found.get("conditions") or [], want.get("conditions") or [], gen)
            if why:
                return f"{obj_ref(r)} parent {wr['name']}: {why}"
        return None
    if c == "route_no_accepted_parents":
        r = exp["route"]
        if r["kind"] not in STATUS_KEYS:
            return no_status(r["kind"])
        route = find(st, r["kind"], r.get("namespace"), r["name"])
        ps = parents_of(route) if route else []
        if not ps:
            return None
        if len(ps) == 1 and any(x.get("type") == "Accepted" and x.get("status") == "False"
                                for x in ps[0].get("conditions") or []):
            return None
        return f"{obj_ref(r)}: parents {[cond_fmt(x) for p in ps for x in p.get('conditions') or []]}"
    if c == "gateway_zero_attached_routes":
        g = exp["gateway"]
        gw, why = obj(st, g, ctx)
        if why:
            return why
        ls = listeners_of(gw)
        if not ls or (len(ls) == 1 and ls[0].get("attachedRoutes") == 0):
            return None
        return f"{obj_ref(g)}: listeners " + ", ".join(f"{x.get('name')}={x.get('attachedRoutes')}" for x in ls)
    if c in ("gateway_listeners_exact", "listenerset_listeners_exact", "listener_conditions"):
        ref = exp["object"]
        gw, why = obj(st, ref, ctx)
        if why:
            return why
        gen = ctx.generation(ref["kind"], ref.get("namespace"), ref["name"])
        have = {x.get("name"): x for x in listeners_of(gw)}
        if c == "listener_conditions":
            for name in exp["listeners"]:
                if name not in have:
                    return f"{obj_ref(ref)}: no listener {name} in status (have {sorted(have)})"
                why = check_listener(have[name], {"conditions": exp.get("conditions") or []}, gen)
                if why:
                    return f"{obj_ref(ref)} {why}"
            return None
        want = exp["listeners"]
        if sorted(have) != sorted(w["name"] for w in want):
            return f"{obj_ref(ref)}: listeners {sorted(have)}, want {sorted(w['name'] for w in want)}"
        for w in want:
            why = check_listener(have[w["name"]], w, gen)
            if why:
                return f"{obj_ref(ref)} {why}"
        return None
    if c == "routes_and_parent_accepted":
        return routes_and_parent_accepted(exp, st, ctx)
    if c == "gateway_has_address":
        g = exp["gateway"]
        gw, why = obj(st, g, ctx)
        if why:
            return why
        if any(a.get("type") for a in (gw.get("status") or {}).get("addresses") or []):
            return None
        return f"{obj_ref(g)}: no address in status"
    if c == "gateway_status_addresses":
        g = exp["gateway"]
        gw, why = obj(st, g, ctx)
        if why:
            return why
        addrs = (gw.get("status") or {}).get("addresses") or []
        want = ctx.usable_addresses
        vals = [a.get("value") for a in addrs]
        if vals == want:
            return None
        return f"{obj_ref(g)}: status.addresses {vals}, want exactly {want}"
    if c == "gateway_attached_listener_sets":
        g = exp["gateway"]
        gw, why = obj(st, g, ctx)
        if why:
            return why
        n = (gw.get("status") or {}).get("attachedListenerSets")
        return None if n == exp["count"] else f"{obj_ref(g)}: attachedListenerSets {n}, want {exp['count']}"
    if c == "policy_ancestor_conditions":
        ref, anc = exp["policy"], exp["ancestor"]
        pol, why = obj(st, ref, ctx)
        if why:
            return why
        gen = ctx.generation(ref["kind"], ref.get("namespace"), ref["name"])
        why = stale([x for a in ancestors_of(pol) for x in a.get("conditions") or []], gen)
        if why:
            return f"{obj_ref(ref)}: {why}"
        ents = [a for a in ancestors_of(pol)
                if (a.get("ancestorRef") or {}).get("name") == anc["name"] and
                (a["ancestorRef"].get("namespace") in (None, anc.get("namespace")))]
        if not ents:
            return f"{obj_ref(ref)}: no status.ancestors entry for {anc['name']}"
        why = conds_missing(ents[0].get("conditions") or [], exp.get("conditions") or [], gen)
        return f"{obj_ref(ref)} (ancestor {anc['name']}): {why}" if why else None
    return f"runner: check {c} not implemented"
