/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* Checks of the certificates that TLS listeners refer to (Secrets of type kubernetes.io/tls). */
#ifndef XGW_AGENT_TLSCERT_H
#define XGW_AGENT_TLSCERT_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Can a worker serve <chain> (PEM: a certificate, then its chain) with <key>
 * (PEM private key)? True, or false with the reason in <msg>: no certificate,
 * no key, PEM that does not parse, or a key that is not the certificate's.
 * Verdicts are cached by content, so that a reconcile of thousands of
 * listeners does not parse the same certificates again.
 */
bool xgw_tlscert_ok(const char *chain, size_t chain_len, const char *key, size_t key_len, char *msg,
		    size_t msglen);

/*
 * Is <pem> a usable CA bundle for client certificate validation: one or more
 * PEM certificates, all of which parse? False with the reason in <msg>.
 */
bool xgw_tlsca_ok(const char *pem, size_t len, char *msg, size_t msglen);

#endif /* XGW_AGENT_TLSCERT_H */
