// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * Prometheus metrics (agent/metrics.h): the exposition text, and the small
 * server that answers GET /metrics with it.
 *
 * The server takes at most MAX_CONNS connections at a time: a client has
 * HEAD_TIMEOUT_MS to send a request head of at most REQ_MAX bytes and
 * SEND_TIMEOUT_MS to take the response; when every slot is taken, the
 * connection that has waited longest without a head makes room. One request
 * per connection; after the response the write side is shut and what the
 * client still sends is dropped until it closes (so that no RST cuts the
 * response short). Everything is non-blocking on the agent's event loop; the
 * text is built from memory and the pinned maps (about 3 ms at 10,000 routes
 * and 1,000 listeners, 5 ms more once all the routes have answered), and
 * scrapes within RENDER_REUSE_MS share one rendering.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "metrics.h"
#include "rstats_sum.h"
#include "workers.h"
#include "xgw/abi/maps.h"
#include "xgw/ctl.h"
#include "xgw/log.h"
#include "xgw/netaddr.h"
#include "xgw/stats.h"

#define MAX_CONNS 32
#define REQ_MAX 4096
#define HEAD_TIMEOUT_MS 2000  /* to send the request head */
#define SEND_TIMEOUT_MS 10000 /* to take the response */
#define LINGER_MS 1000	      /* after the response, for the client to close */
#define ACCEPT_BATCH 64	      /* connections accepted per wake-up, at most */
#define ACCEPT_PAUSE_MS 100   /* out of descriptors: the listener rests this long */
#define RENDER_REUSE_MS 100   /* a scrape this soon after the last gets the same text */

static const double bucket_le[XGW_METRICS_BUCKETS] = { 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
						       0.1,   0.25,   0.5,   1,	   2.5,	  5 };

void xgw_histogram_observe(struct xgw_histogram *h, double seconds)
{
	size_t i = 0;

	while (i < XGW_METRICS_BUCKETS && seconds > bucket_le[i])
		i++;
	h->bucket[i]++;
	h->count++;
	h->sum += seconds;
}

/* --- the text ------------------------------------------------------------ */

struct mbuf {
	char *p;
	size_t n, cap;
	bool oom;
};

static __attribute__((format(printf, 2, 3))) void mb_printf(struct mbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->oom)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->p ? b->p + b->n : NULL, b->cap - b->n, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->oom = true;
			return;
		}
		if ((size_t)n < b->cap - b->n) {
			b->n += (size_t)n;
			return;
		}
		size_t cap = b->cap ? b->cap : 16384;

		while (cap - b->n <= (size_t)n)
			cap *= 2;
		char *p = realloc(b->p, cap);

		if (!p) {
			b->oom = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
}

static void mb_put(struct mbuf *b, const char *s, size_t n)
{
	if (b->oom || !n)
		return;
	if (b->cap - b->n < n + 1) {
		size_t cap = b->cap ? b->cap : 16384;
		char *p;

		while (cap - b->n < n + 1)
			cap *= 2;
		if (!(p = realloc(b->p, cap))) {
			b->oom = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->n, s, n);
	b->n += n;
}

/* <n> bytes of a label value: '\\', '"' and newlines escaped, as the text format asks. */
static void mb_label_n(struct mbuf *b, const char *s, size_t n)
{
	size_t run = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] != '\\' && s[i] != '"' && s[i] != '\n')
			continue;
		mb_put(b, s + run, i - run);
		mb_put(b, s[i] == '\n' ? "\\n" : s[i] == '"' ? "\\\"" : "\\\\", 2);
		run = i + 1;
	}
	mb_put(b, s + run, n - run);
}

static void mb_label(struct mbuf *b, const char *s)
{
	mb_label_n(b, s, s ? strlen(s) : 0);
}

static void family(struct mbuf *b, const char *name, const char *type, const char *help)
{
	mb_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* One sample: "name{labels} value", or "name value" without labels. */
static void sample(struct mbuf *b, const char *name, const char *labels, unsigned long long v)
{
	mb_printf(b, "%s%s%s%s %llu\n", name, *labels ? "{" : "", labels, *labels ? "}" : "", v);
}

static void histogram(struct mbuf *b, const char *name, const char *labels,
		      const struct xgw_histogram *h)
{
	uint64_t cum = 0;

	for (size_t i = 0; i < XGW_METRICS_BUCKETS; i++) {
		cum += h->bucket[i];
		mb_printf(b, "%s_bucket{%s%sle=\"%g\"} %llu\n", name, labels, *labels ? "," : "",
			  bucket_le[i], (unsigned long long)cum);
	}
	mb_printf(b, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name, labels, *labels ? "," : "",
		  (unsigned long long)h->count);
	mb_printf(b, "%s_sum%s%s%s %.6f\n", name, *labels ? "{" : "", labels, *labels ? "}" : "",
		  h->sum);
	mb_printf(b, "%s_count%s%s%s %llu\n", name, *labels ? "{" : "", labels, *labels ? "}" : "",
		  (unsigned long long)h->count);
}

static void agent_text(struct mbuf *b, const struct xgw_metrics_src *s)
{
	const struct xgw_agent_counters *c = s->ctr;

	family(b, "xgw_generation", "gauge",
	       "The configuration generation served or being prepared (0: none yet).");
	sample(b, "xgw_generation", "", s->generation);
	family(b, "xgw_generation_programmed", "gauge",
	       "1 when every worker serves the generation and BPF holds it (status Programmed).");
	sample(b, "xgw_generation_programmed", "", s->programmed);
	family(b, "xgw_config_changes_total", "counter",
	       "Generations built from the folder, by path: a full reconcile, a route change "
	       "patching the snapshot, or the endpoint fast path.");
	sample(b, "xgw_config_changes_total", "path=\"full\"", c->changes_full);
	sample(b, "xgw_config_changes_total", "path=\"routes\"", c->changes_routes);
	sample(b, "xgw_config_changes_total", "path=\"endpoints\"", c->changes_endpoints);
	family(b, "xgw_config_errors_total", "counter",
	       "Changes not applied, by stage (the previous generation kept serving): load (the "
	       "folder), apply (reconcile, snapshot, hand-over), rejected (a worker refused it; "
	       "rolled back).");
	sample(b, "xgw_config_errors_total", "stage=\"load\"", c->load_errors);
	sample(b, "xgw_config_errors_total", "stage=\"apply\"", c->apply_errors);
	sample(b, "xgw_config_errors_total", "stage=\"rejected\"", c->rejected);
	family(b, "xgw_config_problems", "gauge",
	       "Problems the generation reports besides the statuses (invalid objects, missing "
	       "references): one log line each.");
	sample(b, "xgw_config_problems", "", s->n_problems);
	family(b, "xgw_reconcile_duration_seconds", "histogram",
	       "From reading the folder to the snapshot handed to the workers, by path.");
	histogram(b, "xgw_reconcile_duration_seconds", "path=\"full\"", &c->reconcile[0]);
	histogram(b, "xgw_reconcile_duration_seconds", "path=\"routes\"", &c->reconcile[2]);
	histogram(b, "xgw_reconcile_duration_seconds", "path=\"endpoints\"", &c->reconcile[1]);
	family(b, "xgw_change_to_serving_seconds", "histogram",
	       "From reading the folder to every worker serving the change.");
	histogram(b, "xgw_change_to_serving_seconds", "", &c->serving);
}

static bool cond_true(const struct xgw_conds *cs, const char *type)
{
	for (int i = 0; i < cs->n; i++)
		if (!strcmp(cs->c[i].type, type))
			return !strcmp(cs->c[i].status, "True");
	return false;
}

static void result_text(struct mbuf *b, const struct xgw_reconcile_result *res)
{
	static const char *const kinds[] = { "HTTPRoute", "GRPCRoute", "TLSRoute", "TCPRoute",
					     "UDPRoute" };
	size_t gws = 0;

	family(b, "xgw_snapshot_bytes", "gauge", "Size of the generation's routing snapshot.");
	mb_printf(b, "xgw_snapshot_bytes %zu\n", res ? res->snap_len : 0);
	if (!res)
		return;
	for (size_t i = 0; i < res->n_gateways; i++)
		gws += res->gateways[i].ours;
	family(b, "xgw_gateways", "gauge", "Gateways of a GatewayClass of this controller.");
	mb_printf(b, "xgw_gateways %zu\n", gws);
	/* per kind: parents accepted, not accepted, with references that do not resolve */
	size_t n[5][3] = { { 0 } };

	for (size_t i = 0; i < res->n_routes; i++) {
		const struct xgw_route_status *r = &res->routes[i];
		size_t k = 0;

		while (k < 5 && strcmp(r->kind ? r->kind : "HTTPRoute", kinds[k]))
			k++;
		for (size_t p = 0; p < r->n_parents && k < 5; p++) {
			n[k][cond_true(&r->parents[p].conds, "Accepted") ? 0 : 1]++;
			n[k][2] += !cond_true(&r->parents[p].conds, "ResolvedRefs");
		}
	}
	family(b, "xgw_route_parents", "gauge",
	       "Route parent entries of this controller, by route kind and their Accepted "
	       "condition.");
	for (size_t k = 0; k < 5; k++)
		for (int yes = 1; yes >= 0; yes--)
			mb_printf(b, "xgw_route_parents{kind=\"%s\",accepted=\"%s\"} %zu\n",
				  kinds[k], yes ? "true" : "false", n[k][yes ? 0 : 1]);
	family(b, "xgw_route_parents_unresolved", "gauge",
	       "Route parent entries whose ResolvedRefs condition is not True (a backend or "
	       "reference that does not resolve), by route kind.");
	for (size_t k = 0; k < 5; k++)
		mb_printf(b, "xgw_route_parents_unresolved{kind=\"%s\"} %zu\n", kinds[k], n[k][2]);
	family(b, "xgw_listener_attached_routes", "gauge",
	       "Routes attached to each listener of a Gateway (status attachedRoutes).");
	for (size_t i = 0; i < res->n_gateways; i++) {
		const struct xgw_gateway_status *g = &res->gateways[i];

		if (!g->ours)
			continue;
		for (size_t l = 0; l < g->n_listeners; l++) {
			mb_printf(b, "xgw_listener_attached_routes{namespace=\"");
			mb_label(b, g->ns);
			mb_printf(b, "\",gateway=\"");
			mb_label(b, g->name);
			mb_printf(b, "\",listener=\"");
			mb_label(b, g->listeners[l].name);
			mb_printf(b, "\"} %u\n", g->listeners[l].attached_routes);
		}
	}
}

static void workers_text(struct mbuf *b, const struct xgw_workers *ws)
{
	unsigned n = ws ? xgw_workers_count(ws) : 0;
	struct wstats {
		uint64_t st[XGW_WSTAT__MAX];
		bool running;
		long long age_ms;
	} *w = calloc(n + 1, sizeof(*w));

	if (!w) {
		b->oom = true;
		return;
	}
	for (unsigned i = 0; i < n; i++)
		xgw_workers_stats(ws, i, w[i].st, &w[i].running, &w[i].age_ms);
	family(b, "xgw_worker_up", "gauge", "1 while the L7 worker process runs.");
	for (unsigned i = 0; i < n; i++)
		mb_printf(b, "xgw_worker_up{worker=\"%u\"} %d\n", i, w[i].running ? 1 : 0);
	family(b, "xgw_worker_stats_age_seconds", "gauge",
	       "Age of the worker's counters below (they are asked for every few seconds; -1: "
	       "none yet).");
	for (unsigned i = 0; i < n; i++)
		mb_printf(b, "xgw_worker_stats_age_seconds{worker=\"%u\"} %.3f\n", i,
			  w[i].age_ms < 0 ? -1.0 : (double)w[i].age_ms / 1e3);
	for (int k = 0; k < XGW_WSTAT__MAX; k++) {
		bool gauge = k == XGW_WSTAT_CONNS_ACTIVE;
		char name[96];

		snprintf(name, sizeof(name), "xgw_worker_%s%s", xgw_wstat_name(k),
			 gauge ? "" : "_total");
		family(b, name, gauge ? "gauge" : "counter", xgw_wstat_help(k));
		for (unsigned i = 0; i < n; i++)
			mb_printf(b, "%s{worker=\"%u\"} %llu\n", name, i,
				  (unsigned long long)w[i].st[k]);
	}
	free(w);
}

/* "<v>" in decimal, without printf: samples are most of a large scrape. */
static void mb_u64(struct mbuf *b, unsigned long long v)
{
	char num[24], *p = num + sizeof(num);

	do {
		*--p = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	mb_put(b, p, (size_t)(num + sizeof(num) - p));
}

#define MB_LIT(b, s) mb_put(b, s, sizeof(s) - 1)

static void routes_family(struct mbuf *b, const char *const *texts, const size_t *lens, size_t n)
{
	struct xgw_rsums sums = { 0 };
	struct mbuf prefix = { 0 };
	int err = 0;

	for (size_t i = 0; i < n && !err; i++)
		err = xgw_rsums_parse(&sums, texts[i], lens[i]);
	if (err) {
		b->oom = true;
		xgw_rsums_free(&sums);
		return;
	}
	xgw_rsums_merge(&sums);
	family(b, "xgw_route_responses_total", "counter",
	       "Responses by the route whose rule answered (HTTPRoute or GRPCRoute), by status "
	       "class, summed over the workers, those gone included. Requests no route matched "
	       "are not counted here.");
	for (size_t i = 0; i < sums.n && !b->oom; i++) {
		const struct xgw_rsum *r = &sums.v[i];
		const char *slash = memchr(r->name, '/', r->len);
		size_t ns_len = slash ? (size_t)(slash - r->name) : 0;

		/* the labels once per route, its five samples from them */
		prefix.n = 0;
		MB_LIT(&prefix, "xgw_route_responses_total{namespace=\"");
		mb_label_n(&prefix, r->name, ns_len);
		MB_LIT(&prefix, "\",route=\"");
		mb_label_n(&prefix, slash ? slash + 1 : r->name,
			   slash ? r->len - ns_len - 1 : r->len);
		MB_LIT(&prefix, "\",code=\"");
		if (prefix.oom) {
			b->oom = true;
			break;
		}
		for (int k = 0; k < 5; k++) {
			char cls[7] = { (char)('1' + k), 'x', 'x', '"', '}', ' ' };

			mb_put(b, prefix.p, prefix.n);
			mb_put(b, cls, 6);
			mb_u64(b, r->ctr[k]);
			MB_LIT(b, "\n");
		}
	}
	free(prefix.p);
	xgw_rsums_free(&sums);
}

int xgw_metrics_render_routes(const char *const *texts, const size_t *lens, size_t n, char **out,
			      size_t *len)
{
	struct mbuf b = { 0 };

	routes_family(&b, texts, lens, n);
	if (b.oom || !b.p) {
		free(b.p);
		return -ENOMEM;
	}
	*out = b.p;
	*len = b.n;
	return 0;
}

/*
 * xgw_route_responses_total: the workers' lines and those of workers gone
 * (restarted, retired), added up by route, in name order.
 */
static void routes_text(struct mbuf *b, const struct xgw_workers *ws)
{
	unsigned n = ws ? xgw_workers_count(ws) : 0;
	const char **texts = calloc(n + 1, sizeof(*texts));
	size_t *lens = calloc(n + 1, sizeof(*lens));

	if (!texts || !lens) {
		b->oom = true;
	} else {
		if (ws)
			texts[0] = xgw_workers_rstats_gone(ws, &lens[0]);
		for (unsigned i = 0; i < n; i++)
			texts[i + 1] = xgw_workers_rstats(ws, i, &lens[i + 1]);
		routes_family(b, texts, lens, n + 1);
	}
	free(texts);
	free(lens);
}

static int open_pinned(const char *dir, const char *name)
{
	char path[512];

	if (!dir || snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path))
		return -1;
	return bpf_obj_get(path);
}

/* xgw_stats and xgw_lstats, summed over CPUs; left out when not pinned (no XDP). */
static void bpf_text(struct mbuf *b, const struct xgw_metrics_src *s)
{
	int ncpu = libbpf_num_possible_cpus();
	int fd_s = open_pinned(s->pin_dir, XGW_MAP_STATS);
	int fd_l = open_pinned(s->pin_dir, XGW_MAP_LSTATS);
	uint64_t *vals = ncpu > 0 ? calloc((size_t)ncpu, sizeof(*vals)) : NULL;
	struct xgw_lstats_val *lv = ncpu > 0 ? calloc((size_t)ncpu, sizeof(*lv)) : NULL;

	if (fd_s >= 0 && vals) {
		family(b, "xgw_xdp_packets_total", "counter",
		       "Packets by the verdict the XDP program reached (xgw_stats); each packet is "
		       "counted once.");
		for (uint32_t i = 0; i < XGW_STAT__MAX; i++) {
			uint64_t sum = 0;

			if (bpf_map_lookup_elem(fd_s, &i, vals))
				continue;
			for (int c = 0; c < ncpu; c++)
				sum += vals[c];
			mb_printf(b, "xgw_xdp_packets_total{verdict=\"%s\"} %llu\n",
				  xgw_stat_name((int)i), (unsigned long long)sum);
		}
	}
	/* one look-up per listener, then the three families */
	uint64_t(*sum)[3] = fd_l >= 0 && lv ? calloc(s->n_listeners + 1, sizeof(*sum)) : NULL;

	if (sum) {
		static const char *const what[3] = { "packets", "bytes", "syns" };
		static const char *const help[3] = {
			"Packets to the listener seen by the XDP program (xgw_lstats).",
			"Their bytes, from the Ethernet header on.",
			"TCP SYNs without ACK to the listener (new connections).",
		};
		bool *have = calloc(s->n_listeners + 1, sizeof(*have));

		for (size_t i = 0; have && i < s->n_listeners; i++) {
			const struct xgw_bpf_listener *l = &s->listeners[i];

			/* a draining listener's id may be a new one's already */
			if (l->draining || bpf_map_lookup_elem(fd_l, &l->id, lv))
				continue;
			for (int c = 0; c < ncpu; c++) {
				sum[i][0] += lv[c].packets;
				sum[i][1] += lv[c].bytes;
				sum[i][2] += lv[c].syns;
			}
			have[i] = true;
		}
		for (int w = 0; have && w < 3; w++) {
			char name[64];

			snprintf(name, sizeof(name), "xgw_listener_%s_total", what[w]);
			family(b, name, "counter", help[w]);
			for (size_t i = 0; i < s->n_listeners; i++) {
				const struct xgw_bpf_listener *l = &s->listeners[i];
				char ip[XGW_IP_STRLEN];

				if (!have[i])
					continue;
				xgw_ip_format(l->family, l->addr, ip);
				mb_printf(
					b, "%s{address=\"%s\",port=\"%u\",protocol=\"%s\"} %llu\n",
					name, ip, l->port, l->proto == IPPROTO_UDP ? "udp" : "tcp",
					(unsigned long long)sum[i][w]);
			}
		}
		free(have);
		free(sum);
	}
	free(vals);
	free(lv);
	if (fd_s >= 0)
		close(fd_s);
	if (fd_l >= 0)
		close(fd_l);
}

int xgw_metrics_render(const struct xgw_metrics_src *s, char **out, size_t *len)
{
	struct mbuf b = { 0 };

	agent_text(&b, s);
	result_text(&b, s->res);
	workers_text(&b, s->ws);
	routes_text(&b, s->ws);
	bpf_text(&b, s);
	if (b.oom || !b.p) {
		free(b.p);
		return -ENOMEM;
	}
	*out = b.p;
	*len = b.n;
	return 0;
}

/* --- the server ---------------------------------------------------------- */

enum mstate {
	M_FREE,
	M_HEAD,	  /* reading the request head */
	M_SEND,	  /* writing the response */
	M_LINGER, /* response sent, write side shut: the client's last bytes dropped */
};

struct mconn {
	int fd;
	enum mstate st;
	uint64_t since_ms, deadline_ms;
	size_t n_in;
	char in[REQ_MAX];
	char *out; /* the response, once the request is read */
	size_t out_len, out_off;
};

struct xgw_metrics {
	int lfd, epfd;
	uint64_t tag, conn_tag;
	xgw_metrics_src_fn src;
	void *arg;
	uint64_t paused_until; /* != 0: the listener rests (out of descriptors) until then */
	/* the last text rendered, answered again for RENDER_REUSE_MS (scrape storms)
	 * while the state it shows is the same generation and listener set */
	char *body;
	size_t body_len;
	uint64_t body_ms;
	struct xgw_metrics_src body_src;
	struct mconn c[MAX_CONNS];
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/*
 * "a.b.c.d:port", "[v6]:port" or ":port" (any address) into <ss>, through
 * the project's address parser. 0 or -EINVAL; *<port> gets the port.
 */
static int parse_addr(const char *s, struct sockaddr_storage *ss, socklen_t *sl, uint16_t *port)
{
	const char *host = s, *colon;
	char buf[64], *end;
	size_t hl;
	uint8_t fam = 6, addr[16] = { 0 }; /* ":port": [::], IPv4 too (V6ONLY off) */
	unsigned long p;

	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (!close || close[1] != ':')
			return -EINVAL;
		host = s + 1;
		hl = (size_t)(close - host);
		colon = close + 1;
	} else {
		colon = strchr(s, ':');
		if (!colon || strchr(colon + 1, ':')) /* an IPv6 address needs brackets */
			return -EINVAL;
		hl = (size_t)(colon - s);
	}
	errno = 0;
	p = strtoul(colon + 1, &end, 10);
	if (!colon[1] || *end || errno || !p || p > 65535 || hl >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, host, hl);
	buf[hl] = '\0';
	if (hl && (xgw_ip_parse(buf, &fam, addr) || (fam == 6) != (s[0] == '[')))
		return -EINVAL;
	*port = (uint16_t)p;
	*sl = xgw_ip_to_sockaddr(fam, addr, *port, ss);
	return 0;
}

int xgw_metrics__start(const char *addr, int epfd, uint64_t tag, uint64_t conn_tag,
		       xgw_metrics_src_fn src, void *arg, struct xgw_metrics **out)
{
	struct sockaddr_storage ss;
	socklen_t sl = 0;
	uint16_t port = 0;
	struct xgw_metrics *m;
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = tag };
	int one = 1, zero = 0, err;

	if ((err = parse_addr(addr, &ss, &sl, &port)))
		return err;
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	for (int i = 0; i < MAX_CONNS; i++)
		m->c[i].fd = -1;
	m->epfd = epfd;
	m->tag = tag;
	m->conn_tag = conn_tag;
	m->src = src;
	m->arg = arg;
	m->lfd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (m->lfd < 0 && errno == EAFNOSUPPORT && addr[0] == ':') {
		/* ":port" on a host without IPv6: every IPv4 address */
		static const uint8_t any[16];

		sl = xgw_ip_to_sockaddr(4, any, port, &ss);
		m->lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	}
	if (m->lfd < 0)
		goto fail;
	setsockopt(m->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	/* ":port": IPv4 too, on the same socket */
	if (ss.ss_family == AF_INET6 && addr[0] == ':' &&
	    setsockopt(m->lfd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero)))
		goto fail;
	if (bind(m->lfd, (struct sockaddr *)&ss, sl) || listen(m->lfd, MAX_CONNS) ||
	    epoll_ctl(epfd, EPOLL_CTL_ADD, m->lfd, &ev))
		goto fail;
	*out = m;
	return 0;
fail:
	err = -errno;
	if (m->lfd >= 0)
		close(m->lfd);
	free(m);
	return err;
}

static void conn_close(struct xgw_metrics *m, struct mconn *c)
{
	epoll_ctl(m->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	free(c->out);
	c->fd = -1;
	c->st = M_FREE;
	c->out = NULL;
	c->n_in = c->out_len = c->out_off = 0;
}

void xgw_metrics__stop(struct xgw_metrics *m)
{
	if (!m)
		return;
	for (int i = 0; i < MAX_CONNS; i++)
		if (m->c[i].fd >= 0)
			conn_close(m, &m->c[i]);
	epoll_ctl(m->epfd, EPOLL_CTL_DEL, m->lfd, NULL);
	close(m->lfd);
	free(m->body);
	free(m);
}

static void respond(struct mconn *c, const char *status, const char *extra, const char *ctype,
		    const char *body, size_t body_len, bool head_only)
{
	struct mbuf b = { 0 };

	mb_printf(&b,
		  "HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%sConnection: "
		  "close\r\n\r\n",
		  status, ctype, body_len, extra);
	if (!head_only)
		mb_put(&b, body, body_len);
	if (b.oom) {
		free(b.p);
		b.p = NULL;
		b.n = 0;
	}
	c->out = b.p;
	c->out_len = b.n;
	c->out_off = 0;
}

static void text(struct mconn *c, const char *status, const char *extra, const char *msg)
{
	respond(c, status, extra, "text/plain; charset=utf-8", msg, strlen(msg), false);
}

/* The request head in c->in[0, n_in) is complete and has no NUL: the response into c->out. */
static void handle(struct xgw_metrics *m, struct mconn *c)
{
	char *eol = memchr(c->in, '\n', c->n_in), *sp1, *sp2 = NULL, *q;
	bool head;

	sp1 = memchr(c->in, ' ', (size_t)(eol - c->in));
	if (sp1)
		sp2 = memchr(sp1 + 1, ' ', (size_t)(eol - sp1 - 1));
	if (!sp1 || !sp2 || eol - sp2 < 8 || memcmp(sp2 + 1, "HTTP/1.", 7)) {
		text(c, "400 Bad Request", "", "bad request\n");
		return;
	}
	head = sp1 - c->in == 4 && !memcmp(c->in, "HEAD", 4);
	if (!head && !(sp1 - c->in == 3 && !memcmp(c->in, "GET", 3))) {
		text(c, "405 Method Not Allowed", "Allow: GET, HEAD\r\n", "only GET and HEAD\n");
		return;
	}
	*sp2 = '\0';
	if ((q = strchr(sp1 + 1, '?')))
		*q = '\0';
	if (strcmp(sp1 + 1, "/metrics")) {
		text(c, "404 Not Found", "", "not found: the metrics are at /metrics\n");
		return;
	}
	uint64_t now = now_ms();
	struct xgw_metrics_src src = { 0 };

	/* many scrapes at once cost one rendering (a few ms at 10,000 routes);
	 * a change of generation, of its state or of the listeners is shown at once */
	m->src(m->arg, &src);
	if (!m->body || now - m->body_ms >= RENDER_REUSE_MS ||
	    src.generation != m->body_src.generation || src.programmed != m->body_src.programmed ||
	    src.res != m->body_src.res || src.listeners != m->body_src.listeners ||
	    src.n_listeners != m->body_src.n_listeners) {
		char *body = NULL;
		size_t len = 0;

		if (xgw_metrics_render(&src, &body, &len)) {
			text(c, "503 Service Unavailable", "", "out of memory\n");
			return;
		}
		free(m->body);
		m->body = body;
		m->body_len = len;
		m->body_ms = now;
		m->body_src = src;
	}
	respond(c, "200 OK", "", "text/plain; version=0.0.4; charset=utf-8", m->body, m->body_len,
		head);
}

static void conn_events(struct xgw_metrics *m, struct mconn *c, uint32_t events)
{
	struct epoll_event ev = { .events = events,
				  .data.u64 = m->conn_tag | (uint64_t)(c - m->c) };

	epoll_ctl(m->epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

/* After the response: read and drop what the client still sends, until it closes. */
static void conn_linger(struct xgw_metrics *m, struct mconn *c)
{
	char sink[4096];
	ssize_t n;

	while ((n = recv(c->fd, sink, sizeof(sink), MSG_DONTWAIT)) > 0)
		;
	if (n == 0 || errno != EAGAIN)
		conn_close(m, c);
}

static void conn_write(struct xgw_metrics *m, struct mconn *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno == EAGAIN) {
			conn_events(m, c, EPOLLOUT);
			return;
		}
		if (n <= 0) {
			conn_close(m, c);
			return;
		}
		c->out_off += (size_t)n;
	}
	/*
	 * Not close() yet: with unread bytes from the client (a body, a second
	 * request) the kernel would answer RST and drop what is still queued for
	 * it. Shut the write side and drain until the client closes.
	 */
	shutdown(c->fd, SHUT_WR);
	c->st = M_LINGER;
	c->deadline_ms = now_ms() + LINGER_MS;
	conn_events(m, c, EPOLLIN);
	conn_linger(m, c);
}

/* The request head ends ("\r\n\r\n" or "\n\n") in what came since <from>. */
static bool head_done(const struct mconn *c, size_t from)
{
	from = from > 3 ? from - 3 : 0;
	return memmem(c->in + from, c->n_in - from, "\r\n\r\n", 4) ||
	       memmem(c->in + from, c->n_in - from, "\n\n", 2);
}

static void conn_read(struct xgw_metrics *m, struct mconn *c)
{
	for (;;) {
		size_t from = c->n_in;
		ssize_t n = recv(c->fd, c->in + c->n_in, sizeof(c->in) - c->n_in, MSG_DONTWAIT);

		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			conn_close(m, c);
			return;
		}
		c->n_in += (size_t)n;
		if (memchr(c->in + from, '\0', (size_t)n)) {
			text(c, "400 Bad Request", "", "bad request\n");
			break;
		}
		if (head_done(c, from)) {
			handle(m, c);
			break;
		}
		if (c->n_in == sizeof(c->in)) {
			text(c, "431 Request Header Fields Too Large", "",
			     "request head too large\n");
			break;
		}
	}
	if (!c->out) { /* no memory for even the response */
		conn_close(m, c);
		return;
	}
	c->st = M_SEND;
	c->deadline_ms = now_ms() + SEND_TIMEOUT_MS;
	conn_write(m, c);
}

/*
 * A slot for a new connection: a free one, else the one that has waited
 * longest for its request head (a scrape that sent one is not given up for
 * a client that has not), else the oldest lingering one. NULL: every slot is
 * sending a response.
 */
static struct mconn *slot_for_new(struct xgw_metrics *m)
{
	struct mconn *victim = NULL;

	for (int i = 0; i < MAX_CONNS; i++)
		if (m->c[i].fd < 0)
			return &m->c[i];
	for (int pass = 0; pass < 2 && !victim; pass++)
		for (int i = 0; i < MAX_CONNS; i++) {
			struct mconn *c = &m->c[i];

			if (c->st == (pass ? M_LINGER : M_HEAD) &&
			    (!victim || c->since_ms < victim->since_ms))
				victim = c;
		}
	if (victim)
		conn_close(m, victim);
	return victim;
}

static void accept_all(struct xgw_metrics *m)
{
	for (int k = 0; k < ACCEPT_BATCH; k++) {
		int fd = accept4(m->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct mconn *c;

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
			    errno == ENOMEM) {
				/* level-triggered: resting is the only way not to spin */
				struct epoll_event ev = { .events = 0, .data.u64 = m->tag };

				log_warn("metrics: accept: %s; not accepting for %d ms",
					 strerror(errno), ACCEPT_PAUSE_MS);
				epoll_ctl(m->epfd, EPOLL_CTL_MOD, m->lfd, &ev);
				m->paused_until = now_ms() + ACCEPT_PAUSE_MS;
			}
			return;
		}
		c = slot_for_new(m);
		struct epoll_event ev = { .events = EPOLLIN,
					  .data.u64 = m->conn_tag | (uint64_t)(c ? c - m->c : 0) };

		if (!c || epoll_ctl(m->epfd, EPOLL_CTL_ADD, fd, &ev)) {
			close(fd);
			continue;
		}
		c->fd = fd;
		c->st = M_HEAD;
		c->since_ms = now_ms();
		c->deadline_ms = c->since_ms + HEAD_TIMEOUT_MS;
	}
}

void xgw_metrics_on_event(struct xgw_metrics *m, uint64_t tag, uint32_t events)
{
	struct mconn *c;

	if (tag == m->tag) {
		accept_all(m);
		return;
	}
	c = &m->c[(tag & ~m->conn_tag) % MAX_CONNS];
	if (c->st == M_HEAD)
		conn_read(m, c);
	else if (c->st == M_SEND)
		conn_write(m, c);
	else if (c->st == M_LINGER)
		conn_linger(m, c);
}

int xgw_metrics_tick(struct xgw_metrics *m)
{
	uint64_t now = now_ms(), next = 0;

	if (m->paused_until && m->paused_until <= now) {
		struct epoll_event ev = { .events = EPOLLIN, .data.u64 = m->tag };

		m->paused_until = 0;
		epoll_ctl(m->epfd, EPOLL_CTL_MOD, m->lfd, &ev);
	}
	if (m->paused_until)
		next = m->paused_until;
	for (int i = 0; i < MAX_CONNS; i++) {
		struct mconn *c = &m->c[i];

		if (c->fd < 0)
			continue;
		if (c->deadline_ms <= now) {
			conn_close(m, c);
			continue;
		}
		if (!next || c->deadline_ms < next)
			next = c->deadline_ms;
	}
	return next ? (int)(next - now) : -1;
}
