// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * Certificate checks for the reconciler. The agent parses each certificate
 * once (a verdict cache keyed by the SHA-256 of chain and key), so that a
 * change elsewhere costs no PEM or RSA key parsing.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "tlscert.h"

#define CACHE_SLOTS 4096 /* a power of two; the cache is emptied when half full */

struct verdict {
	uint8_t digest[32];
	bool used, ok;
	char msg[120];
};

static struct verdict cache[CACHE_SLOTS];
static size_t cache_n;
static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;

static void digest_of(const char *chain, size_t chain_len, const char *key, size_t key_len,
		      uint8_t out[32])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned int n = 32;
	uint64_t lens[3] = { chain_len, key_len, key != NULL };

	memset(out, 0, 32);
	if (!md)
		return;
	if (EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(md, lens, sizeof(lens)) != 1 ||
	    EVP_DigestUpdate(md, chain, chain_len) != 1 ||
	    (key_len && EVP_DigestUpdate(md, key, key_len) != 1) ||
	    EVP_DigestFinal_ex(md, out, &n) != 1)
		memset(out, 0, 32);
	EVP_MD_CTX_free(md);
}

/* OpenSSL's reason for the last failure, or <def>. */
static const char *ssl_reason(const char *def)
{
	unsigned long e = ERR_peek_last_error();
	const char *r = e ? ERR_reason_error_string(e) : NULL;

	ERR_clear_error();
	return r ? r : def;
}

static bool check(const char *chain, size_t chain_len, const char *key, size_t key_len, char *msg,
		  size_t msglen)
{
	BIO *cb = NULL, *kb = NULL;
	X509 *x = NULL;
	EVP_PKEY *pk = NULL;
	bool ok = false;

	if (!chain || !chain_len) {
		snprintf(msg, msglen, key ? "no tls.crt" : "no ca.crt");
		return false;
	}
	if (!key) { /* a CA bundle */
		int n = 0;

		ERR_clear_error();
		cb = BIO_new_mem_buf(chain, (int)chain_len);
		while (cb && (x = PEM_read_bio_X509(cb, NULL, NULL, NULL))) {
			X509_free(x);
			x = NULL;
			n++;
		}
		/* stopped by the end of the data, or by a block that does not parse */
		if (ERR_GET_REASON(ERR_peek_last_error()) != PEM_R_NO_START_LINE || !n)
			snprintf(msg, msglen, "ca.crt: %s",
				 n ? ssl_reason("a certificate does not parse")
				   : "no PEM certificate");
		else
			ok = true;
		ERR_clear_error();
		goto out;
	}
	if (!key_len) {
		snprintf(msg, msglen, "no tls.key");
		return false;
	}
	ERR_clear_error();
	cb = BIO_new_mem_buf(chain, (int)chain_len);
	kb = BIO_new_mem_buf(key, (int)key_len);
	if (!cb || !kb) {
		snprintf(msg, msglen, "out of memory");
		goto out;
	}
	x = PEM_read_bio_X509(cb, NULL, NULL, NULL);
	if (!x) {
		snprintf(msg, msglen, "tls.crt holds no PEM certificate (%s)",
			 ssl_reason("no CERTIFICATE block"));
		goto out;
	}
	/* the rest of the chain must parse too */
	for (;;) {
		X509 *extra = PEM_read_bio_X509(cb, NULL, NULL, NULL);

		if (!extra)
			break;
		X509_free(extra);
	}
	ERR_clear_error();
	pk = PEM_read_bio_PrivateKey(kb, NULL, NULL, NULL);
	if (!pk) {
		snprintf(msg, msglen, "tls.key holds no PEM private key (%s)",
			 ssl_reason("no PRIVATE KEY block"));
		goto out;
	}
	if (X509_check_private_key(x, pk) != 1) {
		snprintf(msg, msglen, "tls.key is not the key of the certificate in tls.crt");
		ERR_clear_error();
		goto out;
	}
	/* What a worker will do with it: OpenSSL's security level refuses weak
	 * keys and signatures (RSA under 2048 bits, SHA-1) there. */
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

	if (!ctx) {
		snprintf(msg, msglen, "out of memory");
		goto out;
	}
	if (SSL_CTX_use_certificate(ctx, x) != 1 || SSL_CTX_use_PrivateKey(ctx, pk) != 1) {
		snprintf(msg, msglen, "OpenSSL refuses the certificate: %s",
			 ssl_reason("unusable certificate"));
		SSL_CTX_free(ctx);
		goto out;
	}
	SSL_CTX_free(ctx);
	ok = true;
out:
	EVP_PKEY_free(pk);
	X509_free(x);
	BIO_free(cb);
	BIO_free(kb);
	return ok;
}

bool xgw_tlsca_ok(const char *pem, size_t len, char *msg, size_t msglen)
{
	return xgw_tlscert_ok(pem, len, NULL, 0, msg, msglen);
}

bool xgw_tlscert_ok(const char *chain, size_t chain_len, const char *key, size_t key_len, char *msg,
		    size_t msglen)
{
	uint8_t d[32];
	size_t i;
	bool ok;

	digest_of(chain, chain_len, key, key_len, d);
	pthread_mutex_lock(&cache_lock);
	for (i = (size_t)(d[0] | d[1] << 8 | d[2] << 16) & (CACHE_SLOTS - 1); cache[i].used;
	     i = (i + 1) & (CACHE_SLOTS - 1)) {
		if (!memcmp(cache[i].digest, d, 32)) {
			ok = cache[i].ok;
			snprintf(msg, msglen, "%s", cache[i].msg);
			pthread_mutex_unlock(&cache_lock);
			return ok;
		}
	}
	pthread_mutex_unlock(&cache_lock);

	ok = check(chain, chain_len, key, key_len, msg, msglen);

	pthread_mutex_lock(&cache_lock);
	if (cache_n >= CACHE_SLOTS / 2) {
		memset(cache, 0, sizeof(cache));
		cache_n = 0;
	}
	for (i = (size_t)(d[0] | d[1] << 8 | d[2] << 16) & (CACHE_SLOTS - 1); cache[i].used;
	     i = (i + 1) & (CACHE_SLOTS - 1))
		if (!memcmp(cache[i].digest, d, 32))
			break;
	if (!cache[i].used) {
		cache[i].used = true;
		memcpy(cache[i].digest, d, 32);
		cache[i].ok = ok;
		snprintf(cache[i].msg, sizeof(cache[i].msg), "%s", ok ? "" : msg);
		cache_n++;
	}
	pthread_mutex_unlock(&cache_lock);
	return ok;
}
