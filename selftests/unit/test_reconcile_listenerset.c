// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * ListenerSets (GEP-1713) in the reconciler: allowedListeners, listener
 * precedence and conflicts, routes attached through a ListenerSet parentRef,
 * attachedListenerSets, and the ListenerSet listeners in the snapshot.
 */
#include "reconcile-fixture.h"

/* A Gateway "gw" in namespace default letting ListenerSets in per <from>. */
#define GW_ALLOWING(from, listeners)                                                               \
	"apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: {name: gw, "           \
	"namespace: default}\nspec:\n  gatewayClassName: xgw\n  allowedListeners:\n"               \
	"    namespaces: " from "\n  listeners:\n" listeners "---\n"

/* A ListenerSet <name> in <ns> (created at <ts>) whose parent is Gateway <parent>. */
#define LSET_TO(parent, name, ns, ts, listeners)                                                   \
	"apiVersion: gateway.networking.k8s.io/v1\nkind: ListenerSet\nmetadata: {name: " name      \
	", namespace: " ns ", creationTimestamp: '" ts "'}\nspec:\n"                               \
	"  parentRef: {name: " parent ", namespace: default}\n  listeners:\n" listeners "---\n"

#define LSET(name, ns, ts, listeners) LSET_TO("gw", name, ns, ts, listeners)

#define HTTP_HOST(name, port, host)                                                                \
	"  - {name: " name ", protocol: HTTP, port: " #port ", hostname: " host "}\n"

#define NAMESPACE(name, labels)                                                                    \
	"apiVersion: v1\nkind: Namespace\nmetadata: {name: " name ", labels: " labels "}\n---\n"

#define T1 "2026-01-01T00:00:00Z"
#define T2 "2026-01-02T00:00:00Z"

/* clang-format off */

/* allowedListeners None (the default) refuses even the Gateway's namespace;
 * Selector matches Namespace labels. */
static const char allowed_selector[] =
	CLASS
	GATEWAY("closed", HTTP_ALL("http", 80))
	NAMESPACE("team-a", "{team: a}")
	NAMESPACE("team-b", "{team: b}")
	GW_ALLOWING("{from: Selector, selector: {matchLabels: {team: a}}}", HTTP_ALL("http", 80))
	LSET_TO("closed", "ls-closed", "default", T1, HTTP_HOST("x", 80, "x.example"))
	LSET("ls-a", "team-a", T1, HTTP_HOST("a", 80, "a.example"))
	LSET("ls-b", "team-b", T1, HTTP_HOST("b", 80, "b.example"));

static const char allowed_same[] =
	CLASS
	GW_ALLOWING("{from: Same}", HTTP_ALL("http", 80))
	LSET("same", "default", T1, HTTP_HOST("a", 80, "a.example"))
	LSET("other", "elsewhere", T1, HTTP_HOST("b", 80, "b.example"));

/* The Gateway's listeners win over ListenerSets', older ListenerSets over
 * newer ones (whatever the names), then namespace/name. */
static const char conflicts[] =
	CLASS
	GW_ALLOWING("{from: All}", HTTP_HOST("gw-l", 80, "gw.example"))
	LSET("a-newer", "default", T2,
	     HTTP_HOST("dup-gw", 80, "gw.example")
	     HTTP_HOST("dup-ls", 80, "ls.example")
	     HTTP_HOST("own", 80, "newer.example"))
	LSET("z-older", "default", T1,
	     HTTP_HOST("ls", 80, "ls.example")
	     "  - {name: tcp, protocol: TCP, port: 80}\n")
	LSET("zz-all-bad", "default", T2, HTTP_HOST("dup", 80, "gw.example"));

static const char attachment[] =
	CLASS
	GW_ALLOWING("{from: All}", HTTP_ALL("gw-l", 80))
	NAMESPACE("apps", "{}")
	LSET("ls", "apps", T1,
	     "  - {name: same, protocol: HTTP, port: 8080, hostname: ls.example}\n"
	     "  - {name: all, protocol: HTTP, port: 8080, hostname: all.example,\n"
	     "     allowedRoutes: {namespaces: {from: All}}}\n")
	SERVICE("svc")
	/* through the ListenerSet, from its namespace: both listeners */
	ROUTE("via-ls", "apps",
	      "  parentRefs: [{kind: ListenerSet, group: gateway.networking.k8s.io, name: ls}]\n"
	      "  rules: [{backendRefs: [{name: svc, namespace: default, port: 80}]}]\n")
	/* from the Gateway's namespace: only the listener allowing All */
	ROUTE("from-default", "default",
	      "  parentRefs: [{kind: ListenerSet, name: ls, namespace: apps}]\n"
	      "  rules: [{backendRefs: [{name: svc, port: 80}]}]\n")
	/* a sectionName of the ListenerSet */
	ROUTE("section", "apps",
	      "  parentRefs: [{kind: ListenerSet, name: ls, sectionName: all}]\n"
	      "  rules: [{backendRefs: [{name: svc, namespace: default, port: 80}]}]\n")
	/* a Gateway parent does not reach the ListenerSet's listeners */
	ROUTE("gw-section", "default",
	      "  parentRefs: [{name: gw, sectionName: all}, {name: gw}]\n"
	      "  rules: [{backendRefs: [{name: svc, port: 80}]}]\n");

/* A route to a ListenerSet that is not allowed; a ListenerSet of no Gateway. */
static const char not_accepted[] =
	CLASS
	GATEWAY("gw", HTTP_ALL("http", 80))
	LSET("ls", "default", T1, HTTP_HOST("a", 80, "a.example"))
	SERVICE("svc")
	ROUTE("r", "default",
	      "  parentRefs: [{kind: ListenerSet, name: ls}]\n"
	      "  rules: [{backendRefs: [{name: svc, port: 80}]}]\n")
	LSET_TO("nope", "orphan", "default", T1, HTTP_HOST("a", 80, "a.example"));

/* The pool has two addresses, taken by a and b: gw has none, so it is not programmed. */
static const char no_address[] =
	CLASS
	GATEWAY("a", HTTP_ALL("http", 80))
	GATEWAY("b", HTTP_ALL("http", 80))
	GW_ALLOWING("{from: Same}", HTTP_ALL("http", 80))
	LSET("ls", "default", T1, HTTP_HOST("x", 8080, "x.example"));

/* clang-format on */

/*
 * The status of ListenerSet <ns>/<name>, or (said on a diagnostic line) an
 * empty one, so that the checks on it fail rather than crash.
 */
static const struct xgw_listenerset_status *lset(struct fixture *f, const char *ns,
						 const char *name)
{
	static const struct xgw_listenerset_status none;

	for (size_t i = 0; i < f->res.n_listenersets; i++)
		if (!strcmp(f->res.listenersets[i].ns, ns) &&
		    !strcmp(f->res.listenersets[i].name, name))
			return &f->res.listenersets[i];
	printf("#   no status for ListenerSet %s/%s\n", ns, name);
	return &none;
}

/* The status of listener <name> of <s>, or (said) an empty one. */
static const struct xgw_listener_status *lsl(const struct xgw_listenerset_status *s,
					     const char *name)
{
	static const struct xgw_listener_status none;

	for (size_t i = 0; i < s->n_listeners; i++)
		if (!strcmp(s->listeners[i].name, name))
			return &s->listeners[i];
	printf("#   no listener %s in ListenerSet %s\n", name, s->name ? s->name : "?");
	return &none;
}

/* The snapshot listener named <name>, or NULL. */
static const struct xgw_snap_listener *snap_listener(struct fixture *f, const char *name)
{
	for (uint32_t i = 0; i < f->snap.n_listeners; i++)
		if (!strcmp(str(f, f->snap.listeners[i].name), name))
			return &f->snap.listeners[i];
	return NULL;
}

/* Does snapshot listener <l> have a virtual host <host>? */
static bool has_vhost(struct fixture *f, const struct xgw_snap_listener *l, const char *host)
{
	for (uint32_t i = 0; l && i < l->vhost_count; i++)
		if (!strcmp(str(f, f->snap.vhosts[l->vhost_first + i].hostname), host))
			return true;
	return false;
}

TEST(allowed_listeners)
{
	struct fixture f;

	if (!run(&f, allowed_selector, NULL, 0))
		goto out;
	const struct xgw_listenerset_status *c = lset(&f, "default", "ls-closed"),
					    *a = lset(&f, "team-a", "ls-a"),
					    *b = lset(&f, "team-b", "ls-b");

	ASSERT_COND(&c->conds, "Accepted", "False", "NotAllowed");
	ASSERT_COND(&c->conds, "Programmed", "False", "NotAllowed");
	ASSERT_EQ(gw(&f, "closed")->attached_listener_sets, 0, "closed: none attached");
	ASSERT_COND(&gw(&f, "closed")->conds, "Accepted", "True", "Accepted");
	ASSERT_COND(&a->conds, "Accepted", "True", "Accepted");
	ASSERT_COND(&a->conds, "Programmed", "True", "Programmed");
	ASSERT_COND(&lsl(a, "a")->conds, "Accepted", "True", "Accepted");
	ASSERT_COND(&lsl(a, "a")->conds, "Programmed", "True", "Programmed");
	ASSERT_COND(&b->conds, "Accepted", "False", "NotAllowed");
	ASSERT_EQ(gw(&f, "gw")->attached_listener_sets, 1, "gw: ls-a attached");
	ASSERT_EQ(gw(&f, "gw")->n_listeners, 1, "Gateway status keeps its own listeners");
	done(&f);

	if (!run(&f, allowed_same, NULL, 0))
		goto out;
	ASSERT_COND(&lset(&f, "default", "same")->conds, "Accepted", "True", "Accepted");
	ASSERT_COND(&lset(&f, "elsewhere", "other")->conds, "Accepted", "False", "NotAllowed");
	ASSERT_EQ(gw(&f, "gw")->attached_listener_sets, 1, "one attached");
out:
	done(&f);
}

TEST(conflicts_and_precedence)
{
	struct fixture f;

	if (!run(&f, conflicts, NULL, 0))
		goto out;
	const struct xgw_listenerset_status *older = lset(&f, "default", "z-older"),
					    *newer = lset(&f, "default", "a-newer"),
					    *bad = lset(&f, "default", "zz-all-bad");

	/* the Gateway listener is unaffected */
	ASSERT_COND(&gw(&f, "gw")->listeners[0].conds, "Accepted", "True", "Accepted");
	ASSERT_COND(&gw(&f, "gw")->listeners[0].conds, "Conflicted", "False", "NoConflicts");
	/* z-older is first among the ListenerSets: its HTTP listener holds ls.example;
	 * its TCP listener on port 80 conflicts with the Gateway's HTTP one */
	ASSERT_COND(&lsl(older, "ls")->conds, "Accepted", "True", "Accepted");
	ASSERT_COND(&lsl(older, "tcp")->conds, "Conflicted", "True", "ProtocolConflict");
	ASSERT_COND(&lsl(older, "tcp")->conds, "Accepted", "False", "ProtocolConflict");
	ASSERT_COND(&lsl(older, "tcp")->conds, "Programmed", "False", "ProtocolConflict");
	ASSERT_COND(&older->conds, "Accepted", "True", "Accepted");
	/* a-newer: both duplicates lose, its own hostname is served */
	ASSERT_COND(&lsl(newer, "dup-gw")->conds, "Conflicted", "True", "HostnameConflict");
	ASSERT_COND(&lsl(newer, "dup-gw")->conds, "Accepted", "False", "HostnameConflict");
	ASSERT_COND(&lsl(newer, "dup-ls")->conds, "Conflicted", "True", "HostnameConflict");
	ASSERT_COND(&lsl(newer, "dup-ls")->conds, "Programmed", "False", "HostnameConflict");
	ASSERT_COND(&lsl(newer, "own")->conds, "Accepted", "True", "Accepted");
	ASSERT_COND(&newer->conds, "Accepted", "True", "Accepted");
	ASSERT_COND(&newer->conds, "Programmed", "True", "Programmed");
	/* no valid listener: not accepted, not counted */
	ASSERT_COND(&bad->conds, "Accepted", "False", "ListenersNotValid");
	ASSERT_COND(&bad->conds, "Programmed", "False", "ListenersNotValid");
	ASSERT_EQ(gw(&f, "gw")->attached_listener_sets, 2, "attachedListenerSets");
	/* one port group: the Gateway's and the winning ListenerSet listeners */
	if (ASSERT_EQ(f.snap.n_listeners, 1, "one snapshot listener")) {
		const struct xgw_snap_listener *l = &f.snap.listeners[0];

		ASSERT_EQ(l->port, 80, "port");
		ASSERT_TRUE(has_vhost(&f, l, "gw.example"), "gw.example");
		ASSERT_TRUE(has_vhost(&f, l, "ls.example"), "ls.example");
		ASSERT_TRUE(has_vhost(&f, l, "newer.example"), "newer.example");
		ASSERT_EQ(l->vhost_count, 3, "no more");
	}
	ASSERT_EQ(f.res.n_listeners, 1, "one BPF listener");
out:
	done(&f);
}

TEST(route_attachment)
{
	struct fixture f;

	if (!run(&f, attachment, NULL, 0))
		goto out;
	const struct xgw_listenerset_status *s = lset(&f, "apps", "ls");
	const struct xgw_route_status *r;

	ASSERT_EQ(lsl(s, "same")->attached_routes, 1, "same: via-ls");
	ASSERT_EQ(lsl(s, "all")->attached_routes, 3, "all: via-ls, from-default, section");
	ASSERT_EQ(gw(&f, "gw")->listeners[0].attached_routes, 1, "gw-l: gw-section");
	r = route(&f, "via-ls");
	if (ASSERT_OK_PTR(r, "via-ls") && ASSERT_EQ(r->n_parents, 1, "parents")) {
		ASSERT_STREQ(r->parents[0].kind, "ListenerSet", "parent kind");
		ASSERT_STREQ(r->parents[0].ns, "apps", "parent namespace");
		ASSERT_COND(&r->parents[0].conds, "Accepted", "True", "Accepted");
	}
	r = route(&f, "from-default");
	if (ASSERT_OK_PTR(r, "from-default") && ASSERT_EQ(r->n_parents, 1, "parents"))
		ASSERT_COND(&r->parents[0].conds, "Accepted", "True", "Accepted");
	r = route(&f, "gw-section");
	if (ASSERT_OK_PTR(r, "gw-section") && ASSERT_EQ(r->n_parents, 2, "parents")) {
		ASSERT_STREQ(r->parents[0].kind, "Gateway", "parent kind");
		ASSERT_COND(&r->parents[0].conds, "Accepted", "False", "NoMatchingParent");
		ASSERT_COND(&r->parents[1].conds, "Accepted", "True", "Accepted");
	}
	/* the ListenerSet's port 8080 group is served beside the Gateway's port 80 */
	const struct xgw_snap_listener *l = snap_listener(&f, "default/gw:8080");

	if (ASSERT_OK_PTR(l, "snapshot listener on 8080")) {
		ASSERT_TRUE(has_vhost(&f, l, "ls.example"), "ls.example");
		ASSERT_TRUE(has_vhost(&f, l, "all.example"), "all.example");
		ASSERT_STREQ(addr(gw(&f, "gw")), "10.23.100.1", "Gateway address");
		ASSERT_EQ(memcmp(l->addr, gw(&f, "gw")->addr, 4), 0, "on the Gateway's address");
	}
	ASSERT_OK_PTR(snap_listener(&f, "default/gw/gw-l"), "the Gateway's own on 80");
	ASSERT_EQ(f.res.n_listeners, 2, "two BPF listeners");
out:
	done(&f);
}

TEST(not_accepted_parent)
{
	struct fixture f;

	if (!run(&f, not_accepted, NULL, 0))
		goto out;
	const struct xgw_route_status *r = route(&f, "r");

	ASSERT_EQ(f.res.n_listenersets, 1, "only ls has a status");
	if (ASSERT_OK_PTR(r, "r") && ASSERT_EQ(r->n_parents, 1, "parents"))
		ASSERT_COND(&r->parents[0].conds, "Accepted", "False", "NoMatchingParent");
	ASSERT_EQ(f.snap.n_listeners, 1, "only the Gateway's listener");
	ASSERT_EQ(f.snap.listeners[0].vhost_count, 0, "no virtual host");
out:
	done(&f);
}

TEST(parent_not_programmed)
{
	struct fixture f;

	if (!run(&f, no_address, NULL, 0))
		goto out;
	const struct xgw_listenerset_status *s = lset(&f, "default", "ls");

	ASSERT_COND(&gw(&f, "gw")->conds, "Programmed", "False", "AddressNotAssigned");
	ASSERT_COND(&s->conds, "Accepted", "True", "Accepted");
	ASSERT_COND(&s->conds, "Programmed", "False", "ParentNotProgrammed");
	ASSERT_COND(&lsl(s, "x")->conds, "Programmed", "False", "Invalid");
	ASSERT_TRUE(!snap_listener(&f, "default/ls/x"), "not in the snapshot");
	ASSERT_EQ(f.res.n_listeners, 2, "a and b only");
out:
	done(&f);
}

TEST_MAIN()
