// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "xgw/netaddr.h"

int xgw_ip_parse(const char *s, uint8_t *family, uint8_t addr[16])
{
	memset(addr, 0, 16);
	if (inet_pton(AF_INET, s, addr) == 1) {
		*family = 4;
		return 0;
	}
	if (inet_pton(AF_INET6, s, addr) == 1) {
		*family = 6;
		return 0;
	}
	return -EINVAL;
}

const char *xgw_ip_format(uint8_t family, const uint8_t addr[16], char *buf)
{
	if (family == 4) { /* inet_ntop() goes through sprintf(): per HTTP/2 stream, that shows */
		char *p = buf;

		for (int i = 0; i < 4; i++) {
			unsigned int v = addr[i];

			if (v >= 100)
				*p++ = (char)('0' + v / 100);
			if (v >= 10)
				*p++ = (char)('0' + v / 10 % 10);
			*p++ = (char)('0' + v % 10);
			*p++ = i < 3 ? '.' : 0;
		}
		return buf;
	}
	if (!inet_ntop(family == 4 ? AF_INET : AF_INET6, addr, buf, XGW_IP_STRLEN))
		strcpy(buf, "?");
	return buf;
}

int xgw_ip_from_sockaddr(const struct sockaddr *sa, uint8_t *family, uint8_t addr[16],
			 uint16_t *port)
{
	memset(addr, 0, 16);
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;

		*family = 4;
		memcpy(addr, &sin->sin_addr, 4);
		*port = ntohs(sin->sin_port);
		return 0;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;

		*port = ntohs(sin6->sin6_port);
		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
			*family = 4;
			memcpy(addr, &sin6->sin6_addr.s6_addr[12], 4);
		} else {
			*family = 6;
			memcpy(addr, &sin6->sin6_addr, 16);
		}
		return 0;
	}
	return -EAFNOSUPPORT;
}

socklen_t xgw_ip_to_sockaddr(uint8_t family, const uint8_t addr[16], uint16_t port,
			     struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (family == 4) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		memcpy(&sin->sin_addr, addr, 4);
		return sizeof(*sin);
	}
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons(port);
	memcpy(&sin6->sin6_addr, addr, 16);
	return sizeof(*sin6);
}

int xgw_cidr_parse(const char *s, uint8_t *family, uint8_t addr[16], unsigned *prefix)
{
	char buf[64];
	const char *slash = strchr(s, '/');
	char *end;
	unsigned long p;
	size_t n;

	if (!slash || (n = (size_t)(slash - s)) >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (xgw_ip_parse(buf, family, addr))
		return -EINVAL;
	errno = 0;
	p = strtoul(slash + 1, &end, 10);
	if (errno || end == slash + 1 || *end || p > (*family == 4 ? 32u : 128u))
		return -EINVAL;
	*prefix = (unsigned)p;
	for (unsigned bit = *prefix; bit < 128; bit++)
		addr[bit / 8] &= (uint8_t) ~(0x80u >> (bit % 8));
	return 0;
}
