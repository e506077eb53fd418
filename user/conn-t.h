/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* Types of client connections and of the messages they relay. */
#ifndef XGW_CONN_T_H
#define XGW_CONN_T_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "xgw/netaddr.h"

#include "loop-t.h"
#include "router-t.h"

struct xgw_h2s;

/*
 * Head pieces of one rewritten message. Removed header lines split the
 * original head, so a head of XGW_H1_MAX_HEADERS lines needs at most about
 * half as many pieces, plus the added lines.
 */
#define XGW_XFER_IOV 72

/* Framing of a relayed message: enum xgw_h1_body, plus a raw tunnel. */
#define XGW_XFER_RAW 4

/*
 * One message (request or response) relayed from a buffer to a socket: the
 * rewritten head as iovecs (over the buffer and constant strings), then the
 * body bytes of the buffer in [start, lim), verbatim.
 */
struct xgw_xfer {
	struct iovec iov[XGW_XFER_IOV];
	uint8_t iov_i, iov_n; /* pieces [iov_i, iov_n) are not written yet */
	uint8_t framing;      /* enum xgw_h1_body or XGW_XFER_RAW */
	bool complete;	      /* the message's last byte is in the buffer: lim is final */
	uint32_t lim;	      /* buffer bytes before lim belong to this message */
	uint64_t left;	      /* XGW_H1_BODY_LENGTH: body bytes not received yet */
	struct xgw_h1_chunked ck;
	char extra[48]; /* a normalised "Content-Length: N\r\n" when needed */
};

enum xgw_conn_state {
	XGW_CS_TLS,	   /* TLS handshake of an HTTPS listener's connection */
	XGW_CS_HEAD,	   /* reading a request head */
	XGW_CS_PROXY,	   /* exchange with an upstream */
	XGW_CS_BACKOFF,	   /* a failed attempt: waiting to retry (bo_timer), no upstream */
	XGW_CS_LOCAL,	   /* writing a gateway-generated response */
	XGW_CS_TUNNEL,	   /* upgraded: bytes both ways */
	XGW_CS_LINGER,	   /* write side shut, reading what is left before the close */
	XGW_CS_L4_HELLO,   /* TLS listener: peeking at the ClientHello for its server name */
	XGW_CS_L4_CONNECT, /* TCP or TLS listener: connecting to a backend (then TUNNEL) */
	XGW_CS_CLOSED,
};

struct xgw_conn {
	struct xgw_ev ev;
	uint8_t state; /* enum xgw_conn_state */
	/* Edge-triggered readiness: set by events, cleared by a short read or write. */
	bool rd_ready, wr_ready, rdhup;

	/* The request in progress, copied out of the parser's scratch. */
	bool req_ka;	  /* the client asked to keep the connection */
	bool http10;	  /* HTTP/1.0 client: no 1xx, no chunked */
	bool head_req;	  /* HEAD: the response has no body */
	bool upgrade;	  /* Connection: upgrade + Upgrade */
	bool idempotent;  /* may be retried on a fresh upstream connection */
	bool retry_ok;	  /* a retry is still possible (once per request) */
	bool replay_ok;	  /* whole in rb: may go again if a server refused it unprocessed */
	bool resp_head;	  /* the final response head is parsed and queued */
	bool resp_bytes;  /* the upstream sent something for this request */
	bool req_dead;	  /* the upstream stopped reading: the request's rest is dropped */
	bool up_ka;	  /* the upstream lets its connection be reused */
	bool ka;	  /* keep the client connection after this response */
	bool tunnel_next; /* switch to a tunnel once the 101 head is written */
	bool cl_eof;	  /* tunnel: client sent FIN */
	bool up_eof;	  /* tunnel: upstream sent FIN */
	bool ip_ready;	  /* ip_app/xff_line hold the peer address */
	bool lsn_gone;	  /* its listener was removed: close after the current response */
	bool secure;	  /* the client came over TLS (X-Forwarded-Proto, redirects) */
	bool l4;	  /* a TCP or TLS listener's: bytes are proxied, not HTTP (l4.c) */
	bool grpc;	  /* a gRPC request: gateway errors are answered as grpc-status */
	uint8_t pfamily;
	uint8_t lfamily;
	uint16_t lport;
	uint16_t status; /* of the response, for stats and the access log */

	int fd;
	struct ssl_st *tls;  /* HTTPS: the client side is this SSL over fd; NULL: plain */
	struct xgw_h2s *h2s; /* an HTTP/2 stream (fd -1): the client side is h2.c's */
	struct xgw_worker *w;
	struct xgw_conn *prev, *next; /* w->conns; next also links dead and free lists */
	struct xgw_timer timer;
	struct xgw_dtimer rq_timer; /* XGW_DT_REQUEST of the request in progress */
	struct xgw_dtimer be_timer; /* XGW_DT_BACKEND of the upstream attempt */
	struct xgw_dtimer bo_timer; /* XGW_DT_BACKOFF before the next attempt */
	uint32_t rule;		    /* of the request in progress, once routed */
	uint32_t acct_rule; /* whose route counts its response (rstats.h); XGW_SNAP_NONE: none */
	uint32_t backend;   /* the backend chosen: retries take another of its endpoints */
	uint8_t tries_left; /* retries still allowed (0: a failure is final) */
	uint32_t be_ms;	    /* timeouts.backendRequest of the request's rule; 0: none */
	struct xgw_rw_filters flt; /* the request's filters (views into c->snap) */
	struct xgw_buf *rb;	   /* client -> upstream bytes */
	struct xgw_buf *sb;	   /* upstream -> client bytes */
	struct xgw_upconn *up;
	struct xgw_snapref *snap; /* pinned by the request in progress */
	uint64_t lsn_seq;	  /* snapshot seq the cached listener index belongs to */
	uint32_t lsn;
	uint32_t head_off; /* the request head is rb->data[head_off, +head_len) */
	uint32_t head_len;
	uint8_t laddr[16]; /* the address the client dialled (the Gateway's) */
	uint8_t paddr[16];
	struct xgw_xfer req, resp;
	/* ", <client ip>" to append to X-Forwarded-For, and a whole line to add. */
	uint8_t ip_app_len, xff_line_len, fwd_len;
	char ip_app[XGW_IP_STRLEN + 2];
	char xff_line[XGW_IP_STRLEN + 20];
	char fwd[XGW_IP_STRLEN + 40]; /* "Forwarded: for=...;proto=http(s)" */
	/* The allowed Origin of the request, echoed by CORS (flt.origin points here). */
	char cors_origin[256];
};

#endif /* XGW_CONN_T_H */
