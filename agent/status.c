// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "status.h"
#include "xgw/file.h"
#include "xgw/log.h"
#include "xgw/netaddr.h"

#define STATUS_NICE 10 /* the writer thread's, relative to the agent's */

static json_t *conds_json(const struct xgw_conds *cs, bool programmed)
{
	json_t *arr = json_array();

	for (int i = 0; i < cs->n; i++) {
		const struct xgw_condition *c = &cs->c[i];
		bool pending =
			!programmed && !strcmp(c->type, "Programmed") && !strcmp(c->status, "True");

		json_array_append_new(
			arr, json_pack("{s:s, s:s, s:s, s:s, s:I}", "type", c->type, "status",
				       pending ? "Unknown" : c->status, "reason",
				       pending ? "Pending" : c->reason, "message",
				       pending ? "waiting for the data plane" : c->message,
				       "observedGeneration", (json_int_t)c->observed_generation));
	}
	return arr;
}

/* status.listeners of a Gateway or a ListenerSet. */
static json_t *listeners_json(const struct xgw_listener_status *ls, size_t n, bool programmed)
{
	json_t *arr = json_array();

	for (size_t i = 0; i < n; i++) {
		const struct xgw_listener_status *l = &ls[i];
		json_t *kinds = json_array();

		for (int k = 0; k < l->n_supported_kinds; k++)
			json_array_append_new(kinds, json_pack("{s:s, s:s}", "group",
							       "gateway.networking.k8s.io", "kind",
							       l->supported_kinds[k]));
		json_array_append_new(
			arr, json_pack("{s:s, s:I, s:o, s:o}", "name", l->name, "attachedRoutes",
				       (json_int_t)l->attached_routes, "supportedKinds", kinds,
				       "conditions", conds_json(&l->conds, programmed)));
	}
	return arr;
}

static json_t *gateway_json(const struct xgw_gateway_status *g, bool programmed)
{
	json_t *o = json_object(), *addrs = json_array();
	char ip[XGW_IP_STRLEN];

	json_object_set_new(o, "namespace", json_string(g->ns));
	json_object_set_new(o, "name", json_string(g->name));
	if (g->family)
		json_array_append_new(addrs, json_pack("{s:s, s:s}", "type", "IPAddress", "value",
						       xgw_ip_format(g->family, g->addr, ip)));
	json_object_set_new(o, "status",
			    json_pack("{s:o, s:o, s:o, s:I}", "addresses", addrs, "conditions",
				      conds_json(&g->conds, programmed), "listeners",
				      listeners_json(g->listeners, g->n_listeners, programmed),
				      "attachedListenerSets",
				      (json_int_t)g->attached_listener_sets));
	return o;
}

static json_t *listenerset_json(const struct xgw_listenerset_status *ls, bool programmed)
{
	return json_pack("{s:s, s:s, s:{s:o, s:o}}", "namespace", ls->ns, "name", ls->name,
			 "status", "conditions", conds_json(&ls->conds, programmed), "listeners",
			 listeners_json(ls->listeners, ls->n_listeners, programmed));
}

static json_t *route_json(const struct xgw_route_status *r, bool programmed)
{
	json_t *parents = json_array();

	for (size_t i = 0; i < r->n_parents; i++) {
		const struct xgw_parent_status *p = &r->parents[i];
		json_t *ref =
			json_pack("{s:s, s:s, s:s, s:s}", "group", "gateway.networking.k8s.io",
				  "kind", p->kind, "namespace", p->ns, "name", p->name);

		if (p->section_name)
			json_object_set_new(ref, "sectionName", json_string(p->section_name));
		if (p->port)
			json_object_set_new(ref, "port", json_integer(p->port));
		json_array_append_new(parents,
				      json_pack("{s:o, s:s, s:o}", "parentRef", ref,
						"controllerName", "xgw.io/gateway-controller",
						"conditions", conds_json(&p->conds, programmed)));
	}
	return json_pack("{s:s, s:s, s:{s:o}}", "namespace", r->ns, "name", r->name, "status",
			 "parents", parents);
}

/* A policy with its status.ancestors (the Gateways it affects). */
static json_t *policy_json(const struct xgw_policy_status *p)
{
	json_t *anc = json_array();

	for (size_t i = 0; i < p->n_ancestors; i++) {
		const struct xgw_ancestor_status *a = &p->ancestors[i];
		json_t *ref =
			json_pack("{s:s, s:s, s:s, s:s}", "group", "gateway.networking.k8s.io",
				  "kind", "Gateway", "namespace", a->ns, "name", a->name);

		json_array_append_new(anc, json_pack("{s:o, s:s, s:o}", "ancestorRef", ref,
						     "controllerName", XGW_CONTROLLER_NAME,
						     "conditions", conds_json(&a->conds, true)));
	}
	return json_pack("{s:s, s:s, s:{s:o}}", "namespace", p->ns, "name", p->name, "status",
			 "ancestors", anc);
}

json_t *xgw_status_json(const struct xgw_reconcile_result *res, uint64_t gen, bool programmed)
{
	json_t *root = json_object(), *classes = json_array(), *gws = json_array(),
	       *lsets = json_array();
	/* one list per route kind, named as the kinds' resources */
	static const struct {
		const char *kind, *list;
	} route_lists[] = {
		{ "HTTPRoute", "httpRoutes" }, { "GRPCRoute", "grpcRoutes" },
		{ "TLSRoute", "tlsRoutes" },   { "TCPRoute", "tcpRoutes" },
		{ "UDPRoute", "udpRoutes" },
	};

	for (size_t i = 0; i < res->n_classes; i++) {
		const struct xgw_class_status *c = &res->classes[i];

		if (c->ours)
			json_array_append_new(classes,
					      json_pack("{s:s, s:{s:o}}", "name", c->name, "status",
							"conditions", conds_json(&c->conds, true)));
	}
	for (size_t i = 0; i < res->n_gateways; i++)
		if (res->gateways[i].ours)
			json_array_append_new(gws, gateway_json(&res->gateways[i], programmed));
	for (size_t i = 0; i < res->n_listenersets; i++)
		json_array_append_new(lsets, listenerset_json(&res->listenersets[i], programmed));
	json_object_set_new(root, "generation", json_integer((json_int_t)gen));
	json_object_set_new(root, "programmed", json_boolean(programmed));
	json_object_set_new(root, "gatewayClasses", classes);
	json_object_set_new(root, "gateways", gws);
	json_object_set_new(root, "listenerSets", lsets);
	for (size_t k = 0; k < sizeof(route_lists) / sizeof(route_lists[0]); k++)
		json_object_set_new(root, route_lists[k].list, json_array());
	json_object_set_new(root, "backendTLSPolicies", json_array());
	for (size_t i = 0; i < res->n_policies; i++)
		if (res->policies[i].n_ancestors)
			json_array_append_new(json_object_get(root, "backendTLSPolicies"),
					      policy_json(&res->policies[i]));
	for (size_t i = 0; i < res->n_routes; i++) {
		const struct xgw_route_status *r = &res->routes[i];
		const char *kind = r->kind ? r->kind : "HTTPRoute";

		if (!r->n_parents)
			continue;
		for (size_t k = 0; k < sizeof(route_lists) / sizeof(route_lists[0]); k++)
			if (!strcmp(kind, route_lists[k].kind))
				json_array_append_new(json_object_get(root, route_lists[k].list),
						      route_json(r, programmed));
	}
	return root;
}

/* Dump <root> to <path> through a temporary file and a rename. */
static int dump(const char *path, json_t *root)
{
	char tmp[512];

	if (xgw_file_tmp_name(path, tmp, sizeof(tmp)))
		return -ENAMETOOLONG;
	/* compact: at 10,000 routes indenting doubles the file and the time */
	if (json_dump_file(root, tmp, JSON_COMPACT)) {
		unlink(tmp);
		return -EIO;
	}
	return xgw_file_replace(tmp, path);
}

int xgw_status_write(const char *path, const struct xgw_reconcile_result *res, uint64_t gen,
		     bool programmed)
{
	json_t *root = xgw_status_json(res, gen, programmed);
	int err;

	if (!root)
		return -ENOMEM;
	err = dump(path, root);
	json_decref(root);
	return err;
}

struct job_node {
	struct xgw_status_job job;
	struct job_node *next;
};

struct xgw_status_writer {
	char *path;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct job_node *pending; /* the newest document not written yet */
	struct job_node *done;	  /* written, for xgw_status_writer_reap() to release */
	bool stop;
	/* the writer thread's: the last statuses rendered, by job.statuses */
	struct xgw_status_body body;
};

/* Write <len> bytes of <text> to <path> through a temporary file and a rename. */
static int dump_text(const char *path, const char *text, size_t len)
{
	char tmp[512];
	int fd, err = 0;

	if (xgw_file_tmp_name(path, tmp, sizeof(tmp)))
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	while (len) {
		ssize_t n = write(fd, text, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			err = n < 0 ? -errno : -EIO;
			break;
		}
		text += n;
		len -= (size_t)n;
	}
	if (close(fd) && !err)
		err = -errno;
	if (err) {
		unlink(tmp);
		return err;
	}
	return xgw_file_replace(tmp, path);
}

/* The document of <job>: its statuses rendered again only when they changed,
 * and then only the routes that changed since the last document. */
static int render(struct xgw_status_writer *w, const struct xgw_status_job *job, char **text,
		  size_t *len)
{
	int err = xgw_status_body_update(&w->body, job->res, job->statuses, job->prev_statuses,
					 job->programmed);

	if (err)
		return err;
	return xgw_status_render_around(w->body.text, w->body.len, job->gen, job->programmed,
					&job->rejected, text, len);
}

static void *writer_main(void *arg)
{
	struct xgw_status_writer *w = arg;
	id_t tid = (id_t)syscall(SYS_gettid);
	int prio;

	/* Background work: the event loop and the workers, which carry the next
	 * change, go first when the CPUs are busy (Linux: nice is per thread). */
	errno = 0;
	prio = getpriority(PRIO_PROCESS, tid);
	if (!errno && prio < 20 - STATUS_NICE && setpriority(PRIO_PROCESS, tid, prio + STATUS_NICE))
		log_debug("status writer: setpriority: %s", strerror(errno));
	pthread_mutex_lock(&w->mu);
	for (;;) {
		struct job_node *n;
		char *text = NULL;
		size_t len = 0;
		int err;

		while (!w->pending && !w->stop)
			pthread_cond_wait(&w->cv, &w->mu);
		if (!w->pending)
			break; /* stopping, and everything is written */
		n = w->pending;
		w->pending = NULL;
		pthread_mutex_unlock(&w->mu);
		err = render(w, &n->job, &text, &len);
		if (!err)
			err = dump_text(w->path, text, len);
		if (err)
			log_warn("status: writing %s: %s", w->path, strerror(-err));
		free(text);
		pthread_mutex_lock(&w->mu);
		/* the result goes back to its owner's thread */
		n->next = w->done;
		w->done = n;
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

int xgw_status_writer__start(const char *path, struct xgw_status_writer **out)
{
	struct xgw_status_writer *w = calloc(1, sizeof(*w));
	int err;

	if (!w || !(w->path = strdup(path))) {
		free(w);
		return -ENOMEM;
	}
	/* what an agent killed mid-write left: 5 MB each at 10,000 routes */
	err = xgw_file_remove_stale(path);
	if (err > 0)
		log_info("status: removed %d temporary file(s) of %s left by a stopped agent", err,
			 path);
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	err = pthread_create(&w->thread, NULL, writer_main, w);
	if (err) {
		free(w->path);
		free(w);
		return -err;
	}
	*out = w;
	return 0;
}

static void release_list(struct job_node *n)
{
	while (n) {
		struct job_node *next = n->next;

		if (n->job.release)
			n->job.release(n->job.arg);
		free(n);
		n = next;
	}
}

void xgw_status_writer_post(struct xgw_status_writer *w, const struct xgw_status_job *job)
{
	struct job_node *n = malloc(sizeof(*n)), *old;

	if (!n) {
		log_warn("status: out of memory; generation %llu is not written",
			 (unsigned long long)job->gen);
		if (job->release)
			job->release(job->arg);
		return;
	}
	n->job = *job;
	n->next = NULL;
	pthread_mutex_lock(&w->mu);
	old = w->pending;
	w->pending = n;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
	/* superseded before it was written: nobody needs it */
	release_list(old);
}

void xgw_status_writer_reap(struct xgw_status_writer *w)
{
	struct job_node *done;

	if (!w)
		return;
	pthread_mutex_lock(&w->mu);
	done = w->done;
	w->done = NULL;
	pthread_mutex_unlock(&w->mu);
	release_list(done);
}

void xgw_status_writer__stop(struct xgw_status_writer *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->mu);
	w->stop = true;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->thread, NULL);
	release_list(w->done);
	release_list(w->pending); /* none: the thread writes it before it stops */
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mu);
	xgw_status_body__free(&w->body);
	free(w->path);
	free(w);
}
