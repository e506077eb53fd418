// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * Mirrored requests. Each copy gets its own short-lived connection,
 * registered once with epoll (edge-triggered): connect, write the copied
 * bytes, read and drop the answer until the server closes (the copy asked
 * it to) or XGW_T_MIRROR expires. Structures and buffers come from free
 * lists, so a steady mirrored load allocates nothing; the structures' free
 * list is bounded by XGW_MIRROR_MAX, as the live ones are.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "xgw/log.h"
#include "xgw/netaddr.h"

#include "loop.h"
#include "mirror.h"

static void mirror_close(struct xgw_worker *w, struct xgw_mirror *m)
{
	if (m->fd < 0)
		return;
	xgw_timer_disarm(&m->timer);
	close(m->fd);
	m->fd = -1;
	xgw_buf_put(w, m->b);
	m->b = NULL;
	if (m->prev)
		m->prev->next = m->next;
	else
		w->mirrors = m->next;
	if (m->next)
		m->next->prev = m->prev;
	w->n_mirrors--;
	m->prev = NULL;
	m->next = w->dead_mirrors;
	w->dead_mirrors = m;
}

static size_t xfer_copy(const struct xgw_xfer *x, char *out, size_t room)
{
	size_t n = 0;

	for (int i = x->iov_i; i < x->iov_n; i++) {
		if (x->iov[i].iov_len > room - n)
			return SIZE_MAX;
		memcpy(out + n, x->iov[i].iov_base, x->iov[i].iov_len);
		n += x->iov[i].iov_len;
	}
	return n;
}

int xgw_mirror_send(struct xgw_worker *w, const struct xgw_snap_endpoint *ep,
		    const struct xgw_xfer *head, const char *body, size_t body_len)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET };
	struct sockaddr_storage sa;
	struct xgw_mirror *m;
	socklen_t salen;
	size_t n;
	int one = 1, err;

	if (w->n_mirrors >= XGW_MIRROR_MAX)
		return -EBUSY;
	m = w->free_mirrors;
	if (m) {
		w->free_mirrors = m->next;
	} else {
		m = malloc(sizeof(*m));
		if (!m)
			return -ENOMEM;
	}
	memset(m, 0, sizeof(*m));
	m->ev.type = XGW_EV_MIRROR;
	m->fd = -1;
	m->b = xgw_buf_get(w);
	if (!m->b) {
		err = -ENOMEM;
		goto err_free;
	}
	n = xfer_copy(head, m->b->data, XGW_BUF_CAP);
	if (n == SIZE_MAX || body_len > XGW_BUF_CAP - n) {
		err = -E2BIG;
		goto err_free;
	}
	memcpy(m->b->data + n, body, body_len);
	m->b->end = (uint32_t)(n + body_len);

	salen = xgw_ip_to_sockaddr(ep->family, ep->addr, ep->port, &sa);
	m->fd = socket(sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (m->fd < 0) {
		err = -errno;
		goto err_free;
	}
	setsockopt(m->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(m->fd, (struct sockaddr *)&sa, salen) == 0)
		m->connected = true;
	else if (errno != EINPROGRESS)
		goto err_errno;
	ev.data.ptr = m;
	if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, m->fd, &ev) < 0)
		goto err_errno;
	m->next = w->mirrors;
	if (w->mirrors)
		w->mirrors->prev = m;
	w->mirrors = m;
	w->n_mirrors++;
	xgw_timer_arm(w, &m->timer, XGW_T_MIRROR);
	return 0;

err_errno:
	err = -errno;
	close(m->fd);
err_free:
	xgw_buf_put(w, m->b);
	free(m);
	return err;
}

void xgw_mirror_event(struct xgw_worker *w, struct xgw_mirror *m, uint32_t events)
{
	char sink[4096];
	ssize_t n;

	if (m->fd < 0)
		return;
	if (!m->connected) {
		int soerr = 0;
		socklen_t len = sizeof(soerr);

		if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
			return;
		if (getsockopt(m->fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0 || soerr) {
			log_debug("mirror: connect: %s", strerror(soerr ? soerr : errno));
			mirror_close(w, m);
			return;
		}
		m->connected = true;
	}
	while (m->b && m->b->start < m->b->end) {
		n = send(m->fd, m->b->data + m->b->start, m->b->end - m->b->start, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				break;
			mirror_close(w, m);
			return;
		}
		m->b->start += (uint32_t)n;
	}
	if (m->b && m->b->start == m->b->end) {
		xgw_buf_put(w, m->b);
		m->b = NULL;
	}
	for (;;) {
		n = recv(m->fd, sink, sizeof(sink), 0);
		if (n > 0)
			continue;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		/* EOF (the answer is over) or an error: either way the copy is done. */
		mirror_close(w, m);
		return;
	}
}

void xgw_mirror_timeout(struct xgw_worker *w, struct xgw_mirror *m)
{
	log_debug("mirror: timed out");
	mirror_close(w, m);
}

void xgw_mirrors_reap(struct xgw_worker *w)
{
	while (w->dead_mirrors) {
		struct xgw_mirror *m = w->dead_mirrors;

		w->dead_mirrors = m->next;
		m->next = w->free_mirrors;
		w->free_mirrors = m;
	}
}

void xgw_mirrors_free(struct xgw_worker *w)
{
	while (w->mirrors)
		mirror_close(w, w->mirrors);
	xgw_mirrors_reap(w);
	while (w->free_mirrors) {
		struct xgw_mirror *m = w->free_mirrors;

		w->free_mirrors = m->next;
		free(m);
	}
}
