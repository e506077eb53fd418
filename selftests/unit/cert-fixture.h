/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Certificates for the reconciler's TLS tests: fresh self-signed ones, as the
 * base64 of their PEM (what a Secret's data holds).
 */
#ifndef XGW_SELFTESTS_CERT_FIXTURE_H
#define XGW_SELFTESTS_CERT_FIXTURE_H

#include <stdbool.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

/* base64 of the PEM of a fresh self-signed P-256 certificate and its key. */
struct pem64 {
	char crt[2048], key[1024], crt_pem[1536];
};

static inline char *pem_of(void *obj, bool key, char *out, size_t len)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *data;
	long n;

	out[0] = '\0';
	if (b && (key ? PEM_write_bio_PrivateKey(b, obj, NULL, NULL, 0, NULL, NULL)
		      : PEM_write_bio_X509(b, obj))) {
		n = BIO_get_mem_data(b, &data);
		if (n > 0 && (size_t)n < len) {
			memcpy(out, data, (size_t)n);
			out[n] = '\0';
		}
	}
	BIO_free(b);
	return out;
}

static inline bool make_cert_key(const char *cn, struct pem64 *p, EVP_PKEY *pk);

static inline bool make_cert(const char *cn, struct pem64 *p)
{
	return make_cert_key(cn, p, EVP_EC_gen("P-256"));
}

/* Self-signed with key <pk> (consumed). */
static inline bool make_cert_key(const char *cn, struct pem64 *p, EVP_PKEY *pk)
{
	X509 *x = X509_new();
	char key[1024];
	bool ok = false;

	if (!pk || !x)
		goto out;
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
				   (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(x, X509_get_subject_name(x));
	X509_set_pubkey(x, pk);
	if (!X509_sign(x, pk, EVP_sha256()))
		goto out;
	pem_of(x, false, p->crt_pem, sizeof(p->crt_pem));
	pem_of(pk, true, key, sizeof(key));
	EVP_EncodeBlock((unsigned char *)p->crt, (const unsigned char *)p->crt_pem,
			(int)strlen(p->crt_pem));
	EVP_EncodeBlock((unsigned char *)p->key, (const unsigned char *)key, (int)strlen(key));
	ok = p->crt[0] && p->key[0];
out:
	X509_free(x);
	EVP_PKEY_free(pk);
	return ok;
}

#endif /* XGW_SELFTESTS_CERT_FIXTURE_H */
