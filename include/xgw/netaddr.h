/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* IP addresses in the ABI's form: 16 bytes, IPv4 in the first four. */
#ifndef XGW_NETADDR_H
#define XGW_NETADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define XGW_IP_STRLEN 46 /* INET6_ADDRSTRLEN */

/*
 * Parse "10.0.0.1" or "fd00::1" (no brackets, no port) into <family>
 * (4 or 6) and <addr>. IPv4-mapped IPv6 ("::ffff:10.0.0.1") stays IPv6.
 * Returns 0 or -EINVAL.
 */
int xgw_ip_parse(const char *s, uint8_t *family, uint8_t addr[16]);

/* Format into <buf> of XGW_IP_STRLEN bytes; returns <buf>. */
const char *xgw_ip_format(uint8_t family, const uint8_t addr[16], char *buf);

/*
 * Convert a sockaddr (AF_INET, or AF_INET6 including v4-mapped, which
 * becomes family 4) into <family>, <addr> and host-order <port>.
 * Returns 0 or -EAFNOSUPPORT.
 */
int xgw_ip_from_sockaddr(const struct sockaddr *sa, uint8_t *family, uint8_t addr[16],
			 uint16_t *port);

/*
 * Fill <ss> for connect()/bind() and return its length. Family 4 gives
 * AF_INET, family 6 AF_INET6.
 */
socklen_t xgw_ip_to_sockaddr(uint8_t family, const uint8_t addr[16], uint16_t port,
			     struct sockaddr_storage *ss);

/*
 * Parse a CIDR "10.23.100.0/24" into family, network address and prefix
 * length. Returns 0 or -EINVAL (host bits set are accepted and cleared).
 */
int xgw_cidr_parse(const char *s, uint8_t *family, uint8_t addr[16], unsigned *prefix);

#endif /* XGW_NETADDR_H */
