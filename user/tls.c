// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * TLS termination: contexts, server name selection, session tickets and the
 * handshake. See tls.h.
 *
 * Contexts: one SSL_CTX per distinct certificate set (the certificates of a
 * server name entry), cached by worker across snapshots under the SHA-256 of
 * the PEM. Every context has the same settings, so switching a connection to
 * another one in the server name callback changes only the certificates.
 *
 * Session tickets: stateless (no server-side cache, which workers could not
 * share). The keys of each 12-hour period are derived from the snapshot's
 * ticket secret with HMAC-SHA256, so every worker of the node issues and
 * accepts the same tickets with no key exchange between them; tickets of the
 * previous period are still accepted (and renewed).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "xgw/log.h"

#include "loop-t.h"
#include "tls.h"

#define TICKET_PERIOD_S (12 * 3600)

struct ctx_entry {
	uint8_t digest[32];
	SSL_CTX *ctx;
	uint64_t mark; /* sweep generation that last saw it in use */
};

/* The worker's context cache: open addressing on the digest. */
struct xgw_tls_cache {
	struct ctx_entry *slots;
	uint32_t mask;
	uint32_t n;
	uint64_t mark;
};

struct sni_slot {
	uint32_t listener;
	uint32_t sni; /* index into snis; XGW_SNAP_NONE: empty slot */
	uint8_t wild;
	const char *name; /* lower-case, without the "*." of a wildcard */
	uint32_t len;
};

struct xgw_tls_set {
	const struct xgw_snapshot *snap;
	SSL_CTX **ctx;	    /* per sni entry, a reference each */
	uint32_t *dflt;	    /* per listener: the entry for clients without a known name */
	struct sni_slot *h; /* exact names and wildcard suffixes */
	uint32_t mask;
};

/* The ticket secret of the snapshot served last (all zero: no tickets). */
static uint8_t ticket_secret[32];
static int conn_ex_idx = -1; /* SSL ex_data: the set and listener of the connection */

struct ticket_keys {
	uint64_t period;
	uint8_t name[16];
	uint8_t aes[32];
	uint8_t mac[32];
};

/* --- session tickets ---------------------------------------------------- */

static void derive(const char *label, uint64_t period, uint8_t out[32])
{
	uint8_t msg[64];
	size_t ll = strlen(label);
	unsigned int n = 32;

	memcpy(msg, label, ll);
	for (int i = 0; i < 8; i++)
		msg[ll + (size_t)i] = (uint8_t)(period >> (8 * i));
	if (!HMAC(EVP_sha256(), ticket_secret, sizeof(ticket_secret), msg, ll + 8, out, &n))
		memset(out, 0, 32);
}

static void ticket_keys_of(uint64_t period, struct ticket_keys *k)
{
	uint8_t name[32];

	k->period = period;
	derive("xgw ticket name", period, name);
	memcpy(k->name, name, sizeof(k->name));
	derive("xgw ticket aes", period, k->aes);
	derive("xgw ticket mac", period, k->mac);
}

static int ticket_cb(SSL *s, unsigned char key_name[16], unsigned char iv[EVP_MAX_IV_LENGTH],
		     EVP_CIPHER_CTX *cctx, EVP_MAC_CTX *hctx, int enc)
{
	static struct ticket_keys cur, prev;
	static uint8_t keys_of[32];
	uint64_t now = (uint64_t)time(NULL) / TICKET_PERIOD_S;
	OSSL_PARAM params[2];
	const struct ticket_keys *k;

	if (cur.period != now || memcmp(keys_of, ticket_secret, sizeof(keys_of))) {
		memcpy(keys_of, ticket_secret, sizeof(keys_of));
		ticket_keys_of(now, &cur);
		ticket_keys_of(now - 1, &prev);
	}
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0);
	params[1] = OSSL_PARAM_construct_end();
	if (enc) {
		if (RAND_bytes(iv, 16) != 1)
			return -1;
		memcpy(key_name, cur.name, 16);
		if (EVP_EncryptInit_ex(cctx, EVP_aes_256_cbc(), NULL, cur.aes, iv) != 1 ||
		    EVP_MAC_init(hctx, cur.mac, sizeof(cur.mac), params) != 1)
			return -1;
		return 1;
	}
	if (!memcmp(key_name, cur.name, 16))
		k = &cur;
	else if (!memcmp(key_name, prev.name, 16))
		k = &prev;
	else
		return 0; /* unknown key: a full handshake */
	if (EVP_MAC_init(hctx, k->mac, sizeof(k->mac), params) != 1 ||
	    EVP_DecryptInit_ex(cctx, EVP_aes_256_cbc(), NULL, k->aes, iv) != 1)
		return -1;
	/*
	 * 2: valid, but issue a fresh ticket. Always under TLS 1.3: there OpenSSL
	 * sends a NewSessionTicket after a resumption only when asked to, and
	 * clients use a TLS 1.3 ticket once (RFC 8446, C.4), so without a fresh
	 * one every other connection of theirs would be a full handshake.
	 */
	return k == &cur && SSL_version(s) != TLS1_3_VERSION ? 1 : 2;
}

/* --- server name selection ---------------------------------------------- */

static uint32_t name_hash(uint32_t listener, uint8_t wild, const char *name, size_t len)
{
	uint32_t h = 2166136261u ^ listener;

	h = (h ^ wild) * 16777619u;
	for (size_t i = 0; i < len; i++) {
		uint8_t c = (uint8_t)name[i];

		if (c >= 'A' && c <= 'Z')
			c += 'a' - 'A';
		h = (h ^ c) * 16777619u;
	}
	return h;
}

static bool name_eq(const char *a, const char *b, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		uint8_t x = (uint8_t)a[i], y = (uint8_t)b[i];

		if (x >= 'A' && x <= 'Z')
			x += 'a' - 'A';
		if (y >= 'A' && y <= 'Z')
			y += 'a' - 'A';
		if (x != y)
			return false;
	}
	return true;
}

static uint32_t sni_find(const struct xgw_tls_set *t, uint32_t listener, uint8_t wild,
			 const char *name, size_t len)
{
	for (uint32_t i = name_hash(listener, wild, name, len) & t->mask;; i = (i + 1) & t->mask) {
		const struct sni_slot *s = &t->h[i];

		if (s->sni == XGW_SNAP_NONE)
			return XGW_SNAP_NONE;
		if (s->listener == listener && s->wild == wild && s->len == len &&
		    name_eq(s->name, name, len))
			return s->sni;
	}
}

/* The entry of <listener> for server name <name>: exact, then the longest wildcard, then the default. */
static uint32_t sni_select(const struct xgw_tls_set *t, uint32_t listener, const char *name)
{
	size_t len = name ? strlen(name) : 0;
	uint32_t e;

	if (len && name[len - 1] == '.')
		len--;
	if (!len)
		return t->dflt[listener];
	e = sni_find(t, listener, 0, name, len);
	if (e != XGW_SNAP_NONE)
		return e;
	for (size_t i = 1; i + 1 < len; i++) {
		if (name[i] != '.')
			continue;
		e = sni_find(t, listener, 1, name + i + 1, len - i - 1);
		if (e != XGW_SNAP_NONE)
			return e;
	}
	return t->dflt[listener];
}

bool xgw_tls_misdirected(const struct xgw_tls_set *t, uint32_t lsn, SSL *s, const char *host,
			 size_t host_len)
{
	const char *sni = s ? SSL_get_servername(s, TLSEXT_NAMETYPE_host_name) : NULL;
	char name[256];
	uint32_t a, b;

	if (!t || !sni || lsn >= t->snap->n_listeners || t->dflt[lsn] == XGW_SNAP_NONE)
		return false;
	/* Host without its port; an IP literal names no certificate entry. */
	if (host_len && host[0] == '[')
		host_len = 0;
	for (size_t i = 0; i < host_len; i++)
		if (host[i] == ':')
			host_len = i;
	if (!host_len || host_len >= sizeof(name))
		return false;
	memcpy(name, host, host_len);
	name[host_len] = 0;
	a = sni_select(t, lsn, sni);
	b = sni_select(t, lsn, name);
	/* Entries with one context (certificates and client verification) are one. */
	return a != b && a != XGW_SNAP_NONE && b != XGW_SNAP_NONE && t->ctx[a] != t->ctx[b];
}

static int servername_cb(SSL *s, int *alert, void *arg)
{
	const struct xgw_tls_set *t = SSL_get_ex_data(s, conn_ex_idx);
	uintptr_t lsn = (uintptr_t)SSL_get_app_data(s);
	uint32_t e;

	(void)alert;
	(void)arg;
	if (!t || lsn >= t->snap->n_listeners)
		return SSL_TLSEXT_ERR_OK;
	e = sni_select(t, (uint32_t)lsn, SSL_get_servername(s, TLSEXT_NAMETYPE_host_name));
	if (e != XGW_SNAP_NONE && t->ctx[e] != SSL_get_SSL_CTX(s)) {
		SSL_set_SSL_CTX(s, t->ctx[e]);
		/* SSL_set_SSL_CTX() swaps the certificates, not the verification */
		SSL_set_verify(s, SSL_CTX_get_verify_mode(t->ctx[e]),
			       SSL_CTX_get_verify_callback(t->ctx[e]));
	}
	return SSL_TLSEXT_ERR_OK;
}

/* Is protocol <name> (<len> bytes) in the client's ALPN list <in>? Points *<out> at it. */
static bool alpn_offered(const unsigned char *in, unsigned int inlen, const char *name,
			 unsigned char len, const unsigned char **out)
{
	for (unsigned int i = 0; i < inlen; i += 1u + in[i]) {
		if (in[i] == len && i + 1u + len <= inlen && !memcmp(in + i + 1, name, len)) {
			*out = in + i + 1;
			return true;
		}
	}
	return false;
}

static int alpn_cb(SSL *s, const unsigned char **out, unsigned char *outlen,
		   const unsigned char *in, unsigned int inlen, void *arg)
{
	const struct xgw_tls_set *t = SSL_get_ex_data(s, conn_ex_idx);
	uintptr_t lsn = (uintptr_t)SSL_get_app_data(s);

	(void)arg;
	/*
	 * A TLS listener's backend speaks whatever it speaks: choosing a
	 * protocol for it would be a guess, so the client goes on without ALPN.
	 */
	if (t && lsn < t->snap->n_listeners && t->snap->listeners[lsn].proto == XGW_LPROTO_TLS)
		return SSL_TLSEXT_ERR_NOACK;
	/* h2 when offered, then http/1.1; a client that offers neither goes on without ALPN */
	if (alpn_offered(in, inlen, "h2", 2, out)) {
		*outlen = 2;
		return SSL_TLSEXT_ERR_OK;
	}
	if (alpn_offered(in, inlen, "http/1.1", 8, out)) {
		*outlen = 8;
		return SSL_TLSEXT_ERR_OK;
	}
	return SSL_TLSEXT_ERR_NOACK;
}

bool xgw_tls_alpn_h2(const SSL *s)
{
	const unsigned char *p;
	unsigned int len;

	SSL_get0_alpn_selected(s, &p, &len);
	return len == 2 && !memcmp(p, "h2", 2);
}

/* --- contexts ----------------------------------------------------------- */

static const char *ssl_reason(void)
{
	unsigned long e = ERR_peek_last_error();
	const char *r = e ? ERR_reason_error_string(e) : NULL;

	ERR_clear_error();
	return r ? r : "unknown error";
}

static int load_cert(SSL_CTX *ctx, const struct xgw_snapshot *snap, const struct xgw_snap_cert *ce)
{
	BIO *cb = BIO_new_mem_buf(xgw_snap_str_ptr(snap, ce->chain), (int)ce->chain.len);
	BIO *kb = BIO_new_mem_buf(xgw_snap_str_ptr(snap, ce->key), (int)ce->key.len);
	X509 *x = NULL, *extra;
	EVP_PKEY *pk = NULL;
	int err = -EINVAL;

	if (!cb || !kb) {
		err = -ENOMEM;
		goto out;
	}
	x = PEM_read_bio_X509(cb, NULL, NULL, NULL);
	pk = PEM_read_bio_PrivateKey(kb, NULL, NULL, NULL);
	if (!x || !pk) {
		log_warn("certificate %.*s: %s does not parse: %s", (int)ce->name.len,
			 xgw_snap_str_ptr(snap, ce->name), x ? "the key" : "the certificate",
			 ssl_reason());
		goto out;
	}
	if (SSL_CTX_use_certificate(ctx, x) != 1 || SSL_CTX_use_PrivateKey(ctx, pk) != 1) {
		log_warn("certificate %.*s: %s", (int)ce->name.len,
			 xgw_snap_str_ptr(snap, ce->name), ssl_reason());
		goto out;
	}
	/* The rest of tls.crt is the chain of this certificate (one per key type). */
	while ((extra = PEM_read_bio_X509(cb, NULL, NULL, NULL))) {
		if (SSL_CTX_add1_chain_cert(ctx, extra) != 1) {
			X509_free(extra);
			goto out;
		}
		X509_free(extra);
	}
	ERR_clear_error();
	err = 0;
out:
	X509_free(x);
	EVP_PKEY_free(pk);
	BIO_free(cb);
	BIO_free(kb);
	return err;
}

/* AllowInsecureFallback: a client certificate is asked for, and any outcome is let in. */
static int verify_optional_cb(int preverify_ok, X509_STORE_CTX *x)
{
	(void)preverify_ok;
	(void)x;
	return 1;
}

/*
 * Client certificate validation of entry <sn>. The session ID context is a
 * digest of it: OpenSSL resumes a session only under the same context, so a
 * ticket issued without validation never resumes where validation is due.
 */
static int client_verify_setup(SSL_CTX *ctx, const struct xgw_snapshot *snap,
			       const struct xgw_snap_sni *sn)
{
	unsigned char sid[32];
	unsigned int sid_len = sizeof(sid);
	X509_STORE *st;
	BIO *b;
	X509 *x;
	int n = 0;

	if (!EVP_Digest(xgw_snap_str_ptr(snap, sn->client_ca), sn->client_ca.len, sid, &sid_len,
			EVP_sha256(), NULL) ||
	    SSL_CTX_set_session_id_context(ctx, sid, sid_len) != 1)
		return -ENOMEM;
	if (sn->client_verify == XGW_CLIENT_VERIFY_NONE)
		return 0;
	st = X509_STORE_new();
	b = BIO_new_mem_buf(xgw_snap_str_ptr(snap, sn->client_ca), (int)sn->client_ca.len);
	while (st && b && (x = PEM_read_bio_X509(b, NULL, NULL, NULL))) {
		if (X509_STORE_add_cert(st, x) == 1 && SSL_CTX_add_client_CA(ctx, x) == 1)
			n++;
		X509_free(x);
	}
	ERR_clear_error();
	BIO_free(b);
	if (!st || !n || SSL_CTX_set1_verify_cert_store(ctx, st) != 1) {
		X509_STORE_free(st);
		log_warn("server name \"%.*s\": no usable client CA certificate",
			 (int)sn->hostname.len, xgw_snap_str_ptr(snap, sn->hostname));
		return -EINVAL;
	}
	X509_STORE_free(st);
	if (sn->client_verify == XGW_CLIENT_VERIFY_REQUIRE)
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	else
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, verify_optional_cb);
	return 0;
}

static SSL_CTX *ctx_build(const struct xgw_snapshot *snap, const struct xgw_snap_sni *sn)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

	if (!ctx)
		return NULL;
	if (client_verify_setup(ctx, snap, sn)) {
		SSL_CTX_free(ctx);
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE |
					 SSL_OP_NO_COMPRESSION | SSL_OP_IGNORE_UNEXPECTED_EOF);
	/* Idle connections hold no record buffers; writes may be partial and retried
	 * from a buffer that moved (conn.c gathers them anew). */
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE |
				      SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_num_tickets(ctx,
				1); /* one, not OpenSSL's two: a ticket per connection suffices */
	if (SSL_CTX_set1_groups_list(ctx, "X25519:P-256:P-384") != 1)
		ERR_clear_error();
	SSL_CTX_set_tlsext_servername_callback(ctx, servername_cb);
	SSL_CTX_set_alpn_select_cb(ctx, alpn_cb, NULL);
	SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, ticket_cb);
	for (uint32_t k = 0; k < sn->cert_count; k++) {
		if (load_cert(ctx, snap, &snap->certs[sn->cert_first + k])) {
			SSL_CTX_free(ctx);
			return NULL;
		}
	}
	return ctx;
}

static void digest_of(const struct xgw_snapshot *snap, const struct xgw_snap_sni *sn,
		      uint8_t out[32])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned int n = 32;
	uint32_t ca[2] = { sn->client_verify, sn->client_ca.len };
	bool ok =
		md && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 &&
		EVP_DigestUpdate(md, ca, sizeof(ca)) == 1 &&
		EVP_DigestUpdate(md, xgw_snap_str_ptr(snap, sn->client_ca), sn->client_ca.len) == 1;

	for (uint32_t k = 0; ok && k < sn->cert_count; k++) {
		const struct xgw_snap_cert *ce = &snap->certs[sn->cert_first + k];
		uint32_t lens[2] = { ce->chain.len, ce->key.len };

		ok = EVP_DigestUpdate(md, lens, sizeof(lens)) == 1 &&
		     EVP_DigestUpdate(md, xgw_snap_str_ptr(snap, ce->chain), ce->chain.len) == 1 &&
		     EVP_DigestUpdate(md, xgw_snap_str_ptr(snap, ce->key), ce->key.len) == 1;
	}
	if (!ok || EVP_DigestFinal_ex(md, out, &n) != 1)
		memset(out, 0, 32);
	EVP_MD_CTX_free(md);
}

static struct ctx_entry *cache_slot(struct xgw_tls_cache *c, const uint8_t d[32])
{
	uint32_t i = (uint32_t)(d[0] | d[1] << 8 | d[2] << 16 | (uint32_t)d[3] << 24) & c->mask;

	for (;; i = (i + 1) & c->mask)
		if (!c->slots[i].ctx || !memcmp(c->slots[i].digest, d, 32))
			return &c->slots[i];
}

static int cache_grow(struct xgw_tls_cache *c)
{
	struct xgw_tls_cache n = { .mask = c->mask ? c->mask * 2 + 1 : 63, .mark = c->mark };

	n.slots = calloc((size_t)n.mask + 1, sizeof(*n.slots));
	if (!n.slots)
		return -ENOMEM;
	for (uint32_t i = 0; c->slots && i <= c->mask; i++) {
		if (c->slots[i].ctx) {
			*cache_slot(&n, c->slots[i].digest) = c->slots[i];
			n.n++;
		}
	}
	free(c->slots);
	*c = n;
	return 0;
}

/* A reference to the context for entry <sn>: cached, or built and cached. */
static SSL_CTX *ctx_get(struct xgw_worker *w, const struct xgw_snapshot *snap,
			const struct xgw_snap_sni *sn)
{
	struct xgw_tls_cache *c = w->tls_cache;
	struct ctx_entry *e;
	uint8_t d[32];

	if (!c) {
		c = w->tls_cache = calloc(1, sizeof(*c));
		if (!c)
			return NULL;
	}
	if ((c->n + 1) * 2 > c->mask + 1 && cache_grow(c))
		return NULL;
	digest_of(snap, sn, d);
	e = cache_slot(c, d);
	if (!e->ctx) {
		SSL_CTX *ctx = ctx_build(snap, sn);

		if (!ctx)
			return NULL;
		memcpy(e->digest, d, 32);
		e->ctx = ctx;
		c->n++;
	}
	e->mark = c->mark + 1;
	SSL_CTX_up_ref(e->ctx);
	return e->ctx;
}

void xgw_tls_cache_sweep(struct xgw_worker *w)
{
	struct xgw_tls_cache *c = w->tls_cache;

	if (!c)
		return;
	/* ctx_get() marked what the set just built uses with mark + 1: keep that. */
	c->mark++;
	struct xgw_tls_cache n = { .mask = c->mask, .mark = c->mark };

	n.slots = calloc((size_t)n.mask + 1, sizeof(*n.slots));
	if (!n.slots)
		return; /* kept whole: freed at the next sweep */
	for (uint32_t k = 0; k <= c->mask; k++) {
		struct ctx_entry *e = &c->slots[k];

		if (!e->ctx)
			continue;
		if (e->mark == c->mark) {
			*cache_slot(&n, e->digest) = *e;
			n.n++;
		} else {
			SSL_CTX_free(e->ctx);
		}
	}
	free(c->slots);
	*c = n;
}

void xgw_tls_cache_free(struct xgw_worker *w)
{
	struct xgw_tls_cache *c = w->tls_cache;

	if (!c)
		return;
	for (uint32_t k = 0; c->slots && k <= c->mask; k++)
		SSL_CTX_free(c->slots[k].ctx);
	free(c->slots);
	free(c);
	w->tls_cache = NULL;
}

/* --- sets --------------------------------------------------------------- */

static void set_insert(struct xgw_tls_set *t, uint32_t listener, uint32_t sni, const char *host,
		       size_t len)
{
	uint8_t wild = len > 2 && host[0] == '*' && host[1] == '.';
	struct sni_slot *s;

	if (wild) {
		host += 2;
		len -= 2;
	}
	for (uint32_t i = name_hash(listener, wild, host, len) & t->mask;; i = (i + 1) & t->mask) {
		s = &t->h[i];
		if (s->sni == XGW_SNAP_NONE)
			break;
		if (s->listener == listener && s->wild == wild && s->len == len &&
		    name_eq(s->name, host, len))
			return; /* the first (most specific) entry of a name wins */
	}
	*s = (struct sni_slot){
		.listener = listener, .sni = sni, .wild = wild, .name = host, .len = (uint32_t)len
	};
}

int xgw_tls_set__new(struct xgw_worker *w, const struct xgw_snapshot *snap,
		     struct xgw_tls_set **out)
{
	struct xgw_tls_set *t;
	uint32_t size = 16;

	*out = NULL;
	if (!snap->n_snis)
		return 0;
	if (conn_ex_idx < 0) {
		conn_ex_idx = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
		if (conn_ex_idx < 0)
			return -ENOMEM;
	}
	memcpy(ticket_secret, snap->hdr->ticket_secret, sizeof(ticket_secret));
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->snap = snap;
	while (size < snap->n_snis * 2)
		size *= 2;
	t->mask = size - 1;
	t->ctx = calloc(snap->n_snis, sizeof(*t->ctx));
	t->dflt = calloc(snap->n_listeners ? snap->n_listeners : 1, sizeof(*t->dflt));
	t->h = malloc((size_t)size * sizeof(*t->h));
	if (!t->ctx || !t->dflt || !t->h) {
		xgw_tls_set__free(t);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < size; i++)
		t->h[i].sni = XGW_SNAP_NONE;
	for (uint32_t l = 0; l < snap->n_listeners; l++) {
		const struct xgw_snap_listener *sl = &snap->listeners[l];

		t->dflt[l] = XGW_SNAP_NONE;
		for (uint32_t k = 0; k < sl->sni_count; k++) {
			uint32_t e = sl->sni_first + k;
			const struct xgw_snap_sni *sn = &snap->snis[e];

			t->ctx[e] = ctx_get(w, snap, sn);
			if (!t->ctx[e]) {
				log_warn("listener %.*s: server name \"%.*s\": no TLS context",
					 (int)sl->name.len, xgw_snap_str_ptr(snap, sl->name),
					 (int)sn->hostname.len,
					 xgw_snap_str_ptr(snap, sn->hostname));
				xgw_tls_set__free(t);
				return -EINVAL;
			}
			if (sn->hostname.len)
				set_insert(t, l, e, xgw_snap_str_ptr(snap, sn->hostname),
					   sn->hostname.len);
			else if (t->dflt[l] == XGW_SNAP_NONE)
				t->dflt[l] = e;
		}
		/* No catch-all entry: clients without a known name get the first. */
		if (t->dflt[l] == XGW_SNAP_NONE && sl->sni_count)
			t->dflt[l] = sl->sni_first;
	}
	*out = t;
	return 0;
}

void xgw_tls_set__free(struct xgw_tls_set *t)
{
	if (!t)
		return;
	for (uint32_t i = 0; t->ctx && i < t->snap->n_snis; i++)
		SSL_CTX_free(t->ctx[i]);
	free(t->ctx);
	free(t->dflt);
	free(t->h);
	free(t);
}

/* --- connections -------------------------------------------------------- */

SSL *xgw_tls_new_conn(struct xgw_tls_set *t, uint32_t lsn, int fd)
{
	SSL *s;

	if (!t || lsn >= t->snap->n_listeners || t->dflt[lsn] == XGW_SNAP_NONE)
		return NULL;
	s = SSL_new(t->ctx[t->dflt[lsn]]);
	if (!s)
		return NULL;
	if (SSL_set_fd(s, fd) != 1 || SSL_set_ex_data(s, conn_ex_idx, t) != 1) {
		SSL_free(s);
		return NULL;
	}
	SSL_set_app_data(s, (void *)(uintptr_t)lsn);
	SSL_set_accept_state(s);
	return s;
}

int xgw_tls_handshake(SSL *s, bool *rd_ready, bool *wr_ready)
{
	int r;

	ERR_clear_error();
	r = SSL_do_handshake(s);
	if (r == 1) {
		/* the set may go with the snapshot the connection pinned for it */
		SSL_set_ex_data(s, conn_ex_idx, NULL);
		return 1;
	}
	switch (SSL_get_error(s, r)) {
	case SSL_ERROR_WANT_READ:
		*rd_ready = false;
		return 0;
	case SSL_ERROR_WANT_WRITE:
		*wr_ready = false;
		return 0;
	default:
		log_debug("TLS handshake failed: %s", ssl_reason());
		return -1;
	}
}

void xgw_tls_close(SSL *s)
{
	if (!s)
		return;
	/* Best effort, never waiting: a close_notify if the handshake is done. */
	if (SSL_is_init_finished(s))
		SSL_shutdown(s);
	ERR_clear_error();
	SSL_free(s);
}
