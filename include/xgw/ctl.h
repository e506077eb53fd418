/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * The agent <-> worker control channel: a SOCK_SEQPACKET socketpair, one
 * message per packet, fixed-size, host byte order. A snapshot travels as a
 * sealed memfd in SCM_RIGHTS beside an XGW_CTL_SNAPSHOT message.
 *
 *   agent -> worker  XGW_CTL_SNAPSHOT  gen, fd   "serve this snapshot" (to a worker
 *                                                that starts: load and serve at once)
 *   agent -> worker  XGW_CTL_PREPARE   gen, fd   "load and check this one, keep it aside"
 *   worker -> agent  XGW_CTL_PREPARED  gen, err  "ready to serve gen" (err 0) or
 *                                                "cannot serve it" (-errno)
 *   agent -> worker  XGW_CTL_COMMIT    gen       "serve the prepared gen"
 *   agent -> worker  XGW_CTL_ABORT     gen       "drop the prepared gen"
 *   worker -> agent  XGW_CTL_ACK       gen, err  "serving gen" (err 0) or
 *                                                "rejected gen, still on the old one"
 *
 * A change reaches running workers in two phases so that it is never
 * half-applied: every worker prepares it (maps, checks, builds its router and
 * TLS contexts) and only when all have said PREPARED does the agent COMMIT it
 * everywhere; one refusal ABORTs it everywhere and the previous generation
 * keeps serving. A commit is a pointer swap that cannot fail.
 *   agent -> worker  XGW_CTL_DRAIN               "stop accepting, finish, exit"
 *   worker -> agent  XGW_CTL_STATS     counters  (reply to XGW_CTL_STATS request), with
 *                                                a sealed memfd of its responses per route
 *                                                when they changed (user/rstats.h)
 */
#ifndef XGW_CTL_H
#define XGW_CTL_H

#include <stddef.h>
#include <stdint.h>

#define XGW_CTL_MAGIC 0x43574758u /* "XGWC" */

enum xgw_ctl_type {
	XGW_CTL_SNAPSHOT = 1,
	XGW_CTL_ACK = 2,
	XGW_CTL_DRAIN = 3,
	XGW_CTL_STATS = 4,
	XGW_CTL_PREPARE = 5,
	XGW_CTL_PREPARED = 6,
	XGW_CTL_COMMIT = 7,
	XGW_CTL_ABORT = 8,
};

struct xgw_ctl_msg {
	uint32_t magic;	     /* XGW_CTL_MAGIC */
	uint32_t type;	     /* enum xgw_ctl_type */
	uint64_t generation; /* snapshot generation (all but DRAIN and STATS requests) */
	int32_t err;	     /* ACK, PREPARED: 0 or -errno why the snapshot was rejected */
	uint32_t worker;     /* sender's worker index (worker -> agent) */
	uint64_t size;	     /* SNAPSHOT, PREPARE: bytes of the memfd */
	uint64_t stats[16];  /* STATS: enum xgw_worker_stat counters */
};

enum xgw_worker_stat {
	XGW_WSTAT_CONNS_ACCEPTED = 0,
	XGW_WSTAT_CONNS_ACTIVE,
	XGW_WSTAT_REQUESTS,
	XGW_WSTAT_RESP_4XX,
	XGW_WSTAT_RESP_5XX,
	XGW_WSTAT_UPSTREAM_ERRORS,
	XGW_WSTAT_BAD_REQUESTS,
	XGW_WSTAT_TLS_HANDSHAKES, /* completed (full or resumed) */
	XGW_WSTAT_TLS_RESUMED,	  /* of them, resumed from a session ticket */
	XGW_WSTAT_TLS_FAILED,	  /* handshakes that failed (protocol, certificate, reset) */
	XGW_WSTAT_H2_CONNS,	  /* HTTP/2 sessions (ALPN h2 or h2c prior knowledge) */
	XGW_WSTAT_H2_STREAMS,	  /* HTTP/2 requests */
	XGW_WSTAT_L4_CONNS,	  /* TCP and TLS (passthrough, terminate) connections proxied */
	XGW_WSTAT_UDP_SESSIONS,	  /* UDP sessions (client, listener -> backend) opened */
	XGW_WSTAT_H2UP_CONNS,	  /* HTTP/2 connections opened to backends (h2c) */
	XGW_WSTAT_H2UP_STREAMS,	  /* requests sent to backends over HTTP/2 */
	XGW_WSTAT__MAX,
};

/* The name of counter <i> (enum xgw_worker_stat), as xgwctl and the workers file say it. */
static inline const char *xgw_wstat_name(int i)
{
	static const char *const names[XGW_WSTAT__MAX] = {
		[XGW_WSTAT_CONNS_ACCEPTED] = "conns_accepted",
		[XGW_WSTAT_CONNS_ACTIVE] = "conns_active",
		[XGW_WSTAT_REQUESTS] = "requests",
		[XGW_WSTAT_RESP_4XX] = "responses_4xx",
		[XGW_WSTAT_RESP_5XX] = "responses_5xx",
		[XGW_WSTAT_UPSTREAM_ERRORS] = "upstream_errors",
		[XGW_WSTAT_BAD_REQUESTS] = "bad_requests",
		[XGW_WSTAT_TLS_HANDSHAKES] = "tls_handshakes",
		[XGW_WSTAT_TLS_RESUMED] = "tls_resumed",
		[XGW_WSTAT_TLS_FAILED] = "tls_failed",
		[XGW_WSTAT_H2_CONNS] = "h2_sessions",
		[XGW_WSTAT_H2_STREAMS] = "h2_streams",
		[XGW_WSTAT_L4_CONNS] = "l4_conns",
		[XGW_WSTAT_UDP_SESSIONS] = "udp_sessions",
		[XGW_WSTAT_H2UP_CONNS] = "h2up_conns",
		[XGW_WSTAT_H2UP_STREAMS] = "h2up_streams",
	};

	return i >= 0 && i < XGW_WSTAT__MAX && names[i] ? names[i] : "?";
}

/* What counter <i> counts, for the metrics' HELP lines. */
static inline const char *xgw_wstat_help(int i)
{
	static const char *const help[XGW_WSTAT__MAX] = {
		[XGW_WSTAT_CONNS_ACCEPTED] = "Client connections accepted.",
		[XGW_WSTAT_CONNS_ACTIVE] = "Client connections open now.",
		[XGW_WSTAT_REQUESTS] = "HTTP requests routed (HTTP/1.1, and each HTTP/2 stream).",
		[XGW_WSTAT_RESP_4XX] = "Responses with a 4xx status.",
		[XGW_WSTAT_RESP_5XX] = "Responses with a 5xx status (the gateway's own included).",
		[XGW_WSTAT_UPSTREAM_ERRORS] = "Backend connections or exchanges that failed.",
		[XGW_WSTAT_BAD_REQUESTS] = "Requests refused as malformed (400, 431, ...).",
		[XGW_WSTAT_TLS_HANDSHAKES] = "TLS handshakes completed, full or resumed.",
		[XGW_WSTAT_TLS_RESUMED] = "TLS handshakes resumed from a session ticket.",
		[XGW_WSTAT_TLS_FAILED] = "TLS handshakes that failed.",
		[XGW_WSTAT_H2_CONNS] = "HTTP/2 client sessions (ALPN h2 or h2c prior knowledge).",
		[XGW_WSTAT_H2_STREAMS] = "HTTP/2 client streams (requests).",
		[XGW_WSTAT_L4_CONNS] = "TCP and TLS connections proxied (TCPRoute, TLSRoute).",
		[XGW_WSTAT_UDP_SESSIONS] = "UDP sessions opened (UDPRoute).",
		[XGW_WSTAT_H2UP_CONNS] = "HTTP/2 connections opened to backends (h2c).",
		[XGW_WSTAT_H2UP_STREAMS] = "Requests sent to backends over HTTP/2.",
	};

	return i >= 0 && i < XGW_WSTAT__MAX && help[i] ? help[i] : "?";
}

/*
 * Send <msg> on <sock>, with <fd> in SCM_RIGHTS when <fd> >= 0. Returns 0 or
 * -errno. Retries EINTR; never blocks longer than the socket does.
 */
int xgw_ctl_send(int sock, const struct xgw_ctl_msg *msg, int fd);

/*
 * Receive one message into <msg>. A passed fd (close-on-exec) is stored in
 * *<fd>, else -1. Returns 0, -EAGAIN (non-blocking socket, nothing queued),
 * -EPIPE (peer closed), -EBADMSG (wrong size or magic; any passed fd closed),
 * or another -errno.
 */
int xgw_ctl_recv(int sock, struct xgw_ctl_msg *msg, int *fd);

/*
 * Write <buf> of <len> bytes into a new sealed memfd named <name>. Returns the
 * fd (close-on-exec) or -errno.
 */
int xgw_memfd_from_buf(const char *name, const void *buf, size_t len);

#endif /* XGW_CTL_H */
