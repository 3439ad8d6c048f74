/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * One transfer in the kernel's world (see tftp-transfer.h): its sockets,
 * its sends and its reads, driving the transfer's state machine
 * (tftp-session.c) with what arrives. The engine's hooks live here too,
 * because they are the per-datagram path: a directly polled lone transfer
 * on a fast link even waits for its next ACK here (transfer_spin).
 *
 * Blocks are read with preadv() straight behind their headers in one buffer
 * shared by all transfers of the instance, and a burst leaves in one
 * sendmmsg(), with UDP segmentation offload when the kernel and the path
 * allow it.
 */

#include "tftp-transfer.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <sched.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif

/* UDP GSO: segments per send at most (UDP_MAX_SEGMENTS of older kernels) and
 * the payload of one segmented send at most (below the 64 KiB IP limit). */
#define GSO_MAX_SEGMENTS 64
#define GSO_MAX_BYTES	 65000
#define MAX_MSGS	 64

/* ---- sending ---- */

static gssize
transfer_transmit(gpointer user_data, const guint8 *buf, gsize stride, guint count, gsize len,
		  GError **error)
{
	PxedTftpTransfer *t = user_data;
	guint done = 0;

	while (done < count) {
		struct mmsghdr msgs[MAX_MSGS];
		struct iovec iovs[MAX_MSGS];
		union {
			char buf[CMSG_SPACE(sizeof(guint16))];
			struct cmsghdr align;
		} control[MAX_MSGS];
		guint per_msg[MAX_MSGS];
		guint nmsg = 0;
		guint idx = done;
		int r;

		memset(msgs, 0, sizeof(msgs));
		while (idx < count && nmsg < MAX_MSGS) {
			guint n = t->gso ? MIN(t->gso_segments, count - idx) : 1;
			gsize start = (gsize)idx * stride;
			gsize end = idx + n == count ? len : start + (gsize)n * stride;
			struct msghdr *m = &msgs[nmsg].msg_hdr;

			iovs[nmsg].iov_base = (gpointer)(buf + start);
			iovs[nmsg].iov_len = end - start;
			m->msg_iov = &iovs[nmsg]; /* connected: no address */
			m->msg_iovlen = 1;
			if (n > 1) {
				/* Segmentation is asked per message, for the blocks
				 * of a burst only: an OACK or ERROR leaves whole. */
				guint16 size = (guint16)stride;
				struct cmsghdr *c;
				m->msg_control = control[nmsg].buf;
				m->msg_controllen = sizeof(control[nmsg].buf);
				c = CMSG_FIRSTHDR(m);
				c->cmsg_level = SOL_UDP;
				c->cmsg_type = UDP_SEGMENT;
				c->cmsg_len = CMSG_LEN(sizeof(size));
				memcpy(CMSG_DATA(c), &size, sizeof(size));
			}
			per_msg[nmsg] = n;
			idx += n;
			nmsg++;
		}
		/* One datagram (lock-step): sendmsg(), which unlike sendmmsg()
		 * does not offer the CPU to the woken client in the middle. */
		if (nmsg == 1) {
			r = sendmsg(t->fd, &msgs[0].msg_hdr, MSG_DONTWAIT) < 0 ? -1 : 1;
		} else {
			r = sendmmsg(t->fd, msgs, nmsg, MSG_DONTWAIT);
		}
		if (r < 0) {
			int saved = errno;
			if (saved == EINTR)
				continue;
			if (saved == EAGAIN || saved == EWOULDBLOCK)
				return done;
			if (saved == ENOBUFS) {
				/* Dropped on the way out, like a loss on the wire:
				 * the retransmission logic recovers, no busy loop. */
				return count;
			}
			if (t->gso && per_msg[0] > 1 &&
			    (saved == EINVAL || saved == EIO || saved == EMSGSIZE ||
			     saved == ENOPROTOOPT)) {
				/* No segmentation offload here (old kernel, a route
				 * MTU below the block, a device that cannot):
				 * datagrams one by one from now on. */
				t->gso = FALSE;
				g_debug("%s: %s: segmentation offload off: %s", t->server->name,
					t->peer_text, g_strerror(saved));
				continue;
			}
			if (saved == ECONNREFUSED)
				g_set_error_literal(error, G_IO_ERROR,
						    G_IO_ERROR_CONNECTION_REFUSED,
						    "the client's port is closed (ICMP port "
						    "unreachable)");
			else
				g_set_error(error, G_IO_ERROR, g_io_error_from_errno(saved),
					    "send: %s", g_strerror(saved));
			return -1;
		}
		for (int i = 0; i < r; i++)
			done += per_msg[i];
		if ((guint)r < nmsg)
			return done; /* the socket is full */
	}
	return done;
}

/* ---- the end of a transfer ---- */

static void
transfer_free(PxedTftpTransfer *t)
{
	pxed_tftp_session_free(t->session);
	if (t->stray_fd >= 0)
		close(t->stray_fd);
	if (t->fd >= 0)
		close(t->fd);
	g_clear_pointer(&t->client, pxed_client_unref);
	g_free(t->path);
	g_free(t->peer_text);
	pxed_tftp_server_unref(t->server);
	g_free(t);
}

static void
transfer_report(PxedTftpTransfer *t, PxedTftpSessionState state)
{
	PxedTftpServer *server = t->server;
	PxedTftpSessionStats stats;
	gint64 us = MAX(g_get_monotonic_time() - t->started_at, 1);
	double seconds = (double)us / G_USEC_PER_SEC;

	pxed_tftp_session_get_stats(t->session, &stats);
	if (state == PXED_TFTP_SESSION_COMPLETE) {
		server->completed++;
		pxed_instance_event(server->instance, t->client, "transfer-complete",
				    "file=%s bytes=%" G_GUINT64_FORMAT
				    " duration=%.3fs rate=%.1fMB/s mode=%s blksize=%u windowsize=%u"
				    " retransmits=%" G_GUINT64_FORMAT " timeouts=%u cwnd-min=%u"
				    " peer=%s",
				    t->path, stats.bytes, seconds, (double)stats.bytes / us,
				    pxed_tftp_mode_to_string(t->mode), t->blksize, t->windowsize,
				    stats.retransmits, stats.timeouts, stats.cwnd_min,
				    t->peer_text);
	} else {
		const GError *error = pxed_tftp_session_get_error(t->session);
		guint64 unlogged;

		server->failed++;
		if (g_error_matches(error, PXED_TFTP_ERROR, PXED_TFTP_ERROR_UNACKED)) {
			/* What a request with a forged source address looks like
			 * (or a client gone before its first ACK). */
			server->unacked++;
			if (pxed_tftp_limit_log_due(&server->unacked_log, &unlogged))
				g_warning("%s: %s acknowledged nothing, transfer given up after "
					  "unacked-retries=%u (%" G_GUINT64_FORMAT
					  " more since the last such message, %" G_GUINT64_FORMAT
					  " in all)",
					  server->name, t->peer_text,
					  server->policy.unacked_retries, unlogged,
					  server->unacked);
		}
		pxed_instance_event(server->instance, t->client, "transfer-failed",
				    "file=%s reason=\"%s\" bytes=%" G_GUINT64_FORMAT
				    " duration=%.3fs retransmits=%" G_GUINT64_FORMAT " peer=%s",
				    t->path, error != NULL ? error->message : "unknown",
				    stats.bytes, seconds, stats.retransmits, t->peer_text);
	}
}

/* Takes the transfer out of everything and reports it; the memory goes at
 * the end of the main loop turn (an epoll batch may still name it). */
void
pxed_tftp_transfer_end(PxedTftpTransfer *t, PxedTftpSessionState state)
{
	PxedTftpServer *server = t->server;

	if (t->ended)
		return;
	t->ended = TRUE;
	g_hash_table_remove(server->transfers, &t->peer);
	if (t->share != NULL)
		pxed_tftp_share_release(server, g_steal_pointer(&t->share));
	pxed_tftp_engine_cancel(server->engine, &t->deadline);
	pxed_tftp_engine_unwatch(server->engine, &t->watch);
	/* (its sockets leave the epoll set when they are closed) */
	transfer_report(t, state);
	g_ptr_array_add(server->finished, t);
}

void
pxed_tftp_engine_turn_end(gpointer user_data)
{
	PxedTftpServer *server = user_data;

	pxed_tftp_server_ref(server);
	/* The last transfer may hold the last reference to the server. */
	while (server->finished->len > 0) {
		PxedTftpTransfer *t =
			g_ptr_array_steal_index_fast(server->finished, server->finished->len - 1);
		transfer_free(t);
	}
	pxed_tftp_server_unref(server);
}

/* After the session moved: the end, or its socket interest and deadline. */
static void
transfer_update(PxedTftpTransfer *t, PxedTftpSessionState state)
{
	guint32 events = EPOLLIN;

	if (state != PXED_TFTP_SESSION_RUNNING) {
		pxed_tftp_transfer_end(t, state);
		return;
	}
	if (pxed_tftp_session_wants_writable(t->session))
		events |= EPOLLOUT;
	pxed_tftp_engine_set_events(t->server->engine, &t->watch, events);
	pxed_tftp_engine_schedule(t->server->engine, &t->deadline,
				  pxed_tftp_session_get_deadline(t->session));
}

/* Reads one datagram from the peer (the epoll set is level-triggered:
 * more queued are reported again, at the cost of no syscall now). @got:
 * whether anything happened (a datagram, or the socket's error). */
static PxedTftpSessionState
transfer_read(PxedTftpTransfer *t, gint64 now, gboolean *got)
{
	guint8 *buf = t->server->rxsmall;
	ssize_t n;

	do {
		n = recv(t->fd, buf, PXED_TFTP_RX_SMALL_SIZE, MSG_DONTWAIT);
	} while (n < 0 && errno == EINTR);
	*got = n >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK);
	if (n < 0) {
		/* The socket is connected, so the kernel reports the client's
		 * ICMP "port unreachable": it is gone, no use waiting for it. */
		if (errno == ECONNREFUSED)
			pxed_tftp_session_cancel(t->session, "the client's port is closed (ICMP "
							     "port unreachable)");
		return pxed_tftp_session_get_state(t->session);
	}
	return pxed_tftp_session_receive(t->session, buf,
					 MIN((gsize)n, (gsize)PXED_TFTP_RX_SMALL_SIZE), now);
}

/* ---- waiting for the next ACK ---- */

/* Lock-step on a fast link (loopback, a 10 GbE LAN) brings the next ACK
 * within microseconds. While a transfer runs alone and its smoothed round
 * trip is below SPIN_RTT_MAX_US, the engine waits for that ACK here, a
 * little longer than a round trip, instead of going back to poll(): the
 * sleep and wakeup it saves are the larger part of a block's time at those
 * speeds (what SO_BUSY_POLL does for NIC queues). At most SPIN_BUDGET_US per
 * dispatch, so the rest of the main loop keeps running, and yielding the
 * CPU between two looks, so a client on the same CPU runs. A real PXE LAN
 * (round trips of 100 µs and more) or several transfers at once never spin. */
#define SPIN_RTT_MAX_US 100
#define SPIN_BUDGET_US	2000

static void
transfer_spin(PxedTftpTransfer *t, gint64 now)
{
	PxedTftpSessionStats stats;
	gint64 budget_end = now + SPIN_BUDGET_US;
	gint64 patience;

	if (g_hash_table_size(t->server->transfers) != 1 || t->ended)
		return;
	pxed_tftp_session_get_stats(t->session, &stats);
	if (stats.srtt_us <= 0 || stats.srtt_us > SPIN_RTT_MAX_US)
		return;
	patience = 2 * stats.srtt_us + 10;
	while (!t->ended && pxed_tftp_session_get_state(t->session) == PXED_TFTP_SESSION_RUNNING &&
	       !pxed_tftp_session_wants_writable(t->session) && now < budget_end) {
		gint64 give_up = MIN(now + patience, budget_end);
		PxedTftpSessionState state;
		gboolean got = FALSE;

		do {
			state = transfer_read(t, now, &got);
			/* a client on this same CPU gets it at once; alone here,
			 * sched_yield() returns at once */
			if (!got)
				sched_yield();
			now = g_get_monotonic_time();
		} while (!got && now < give_up);
		if (!got)
			return;
		t->server->spun++;
		transfer_update(t, state);
	}
}

/* A datagram to the transfer's port from anyone but the peer: error 5, and
 * the transfer does not notice (RFC 1350 §4). */
static PxedTftpSessionState
transfer_read_stray(PxedTftpTransfer *t, gint64 now)
{
	PxedTftpServer *server = t->server;
	guint8 *buf = server->rxsmall;
	PxedTftpPeer from = {0};
	struct iovec iov = {buf, PXED_TFTP_RX_SMALL_SIZE};
	struct msghdr msg = {
		.msg_name = &from.ss,
		.msg_namelen = sizeof(from.ss),
		.msg_iov = &iov,
		.msg_iovlen = 1,
	};
	guint8 err[64];
	gsize len;
	ssize_t n;

	do {
		n = recvmsg(t->stray_fd, &msg, MSG_DONTWAIT);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return pxed_tftp_session_get_state(t->session);
	len = MIN((gsize)n, (gsize)PXED_TFTP_RX_SMALL_SIZE);
	from.len = msg.msg_namelen;
	if (pxed_tftp_peer_equal(&from, &t->peer))
		return pxed_tftp_session_receive(t->session, buf, len, now);
	server->unknown_tid++;
	if (g_log_get_debug_enabled()) {
		g_autofree char *text = pxed_tftp_peer_to_text(&from);
		g_debug("%s: %s: datagram from unknown TID %s", server->name, t->peer_text, text);
	}
	/* Never answer an ERROR: two servers would ping-pong. */
	if (len < 2 || buf[0] != 0 || buf[1] != PXED_TFTP_OP_ERROR) {
		gsize elen = pxed_tftp_packet_build_error(
			err, sizeof(err), PXED_TFTP_ERR_UNKNOWN_TID, "Unknown transfer ID");
		sendto(t->stray_fd, err, elen, MSG_DONTWAIT, (struct sockaddr *)&from.ss, from.len);
	}
	return pxed_tftp_session_get_state(t->session);
}

/* Engine hooks (tftp-engine.h): the hot path, kept in this file. */

void
pxed_tftp_engine_ready(gpointer user_data, PxedTftpWatch *watch, guint32 events, gint64 now)
{
	PxedTftpTransfer *t = watch->owner;
	PxedTftpSessionState state;

	if (watch->kind == PXED_TFTP_WATCH_LISTENER) {
		pxed_tftp_listener_ready(watch->owner);
		return;
	}
	/* An epoll batch may still name a transfer that ended in it. */
	if (t->ended)
		return;
	if (watch->kind == PXED_TFTP_WATCH_STRAYS) {
		transfer_update(t, transfer_read_stray(t, now));
		return;
	}
	state = pxed_tftp_session_get_state(t->session);
	if (events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
		gboolean got;
		state = transfer_read(t, now, &got);
	}
	if (state == PXED_TFTP_SESSION_RUNNING && (events & EPOLLOUT))
		state = pxed_tftp_session_writable(t->session, now);
	transfer_update(t, state);
	/* Only a transfer GLib polls directly waits for its next ACK here. */
	if (watch->tag != NULL)
		transfer_spin(t, now);
}

void
pxed_tftp_engine_expired(gpointer user_data, PxedTftpDeadline *deadline, gint64 now)
{
	PxedTftpTransfer *t =
		G_STRUCT_MEMBER_P(deadline, -G_STRUCT_OFFSET(PxedTftpTransfer, deadline));
	gint64 at = pxed_tftp_session_get_deadline(t->session);

	if (at < 0)
		return; /* nothing to wait for any more */
	if (at > now) {
		/* Moved later since it was filed: file it again. */
		pxed_tftp_engine_schedule(t->server->engine, &t->deadline, at);
		return;
	}
	transfer_update(t, pxed_tftp_session_timer(t->session, now));
}

/* ---- sockets ---- */

/* RFC 1350 §4: a fresh port, the server's TID for this transfer, on the
 * address the client sent its request to. Two sockets share that port: one
 * connected to the peer — the kernel then routes once, not per datagram, and
 * demultiplexes the peer's ACKs early — and one not connected, which the
 * kernel hands everything else: strangers, who get error 5 from it. */
static gboolean
transfer_open_sockets(PxedTftpTransfer *t, const PxedTftpLocal *local, GError **error)
{
	const PxedTftpPeer *peer = &t->peer;
	int family = peer->ss.ss_family;
	struct sockaddr_storage bound = {0};
	socklen_t bound_len;
	int one = 1;

	/* The local address: the one the request came to, else any. */
	if (family == AF_INET) {
		struct sockaddr_in *a = (struct sockaddr_in *)&bound;
		a->sin_family = AF_INET;
		if (local->valid && local->family == AF_INET)
			a->sin_addr = local->v4;
		bound_len = sizeof(*a);
	} else {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&bound;
		a->sin6_family = AF_INET6;
		if (local->valid && local->family == AF_INET6 &&
		    !IN6_IS_ADDR_MULTICAST(&local->v6)) {
			a->sin6_addr = local->v6;
			if (IN6_IS_ADDR_LINKLOCAL(&local->v6))
				a->sin6_scope_id = local->ifindex;
		}
		bound_len = sizeof(*a);
	}
	/* Bound without address reuse, so the port picked is one nobody holds;
	 * reuse is allowed afterwards, for the sibling alone. */
	t->fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (t->fd < 0 || bind(t->fd, (struct sockaddr *)&bound, bound_len) != 0 ||
	    getsockname(t->fd, (struct sockaddr *)&bound, &bound_len) != 0 ||
	    connect(t->fd, (const struct sockaddr *)&peer->ss, peer->len) != 0) {
		int saved = errno;
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(saved),
			    "cannot set up the transfer socket: %s", g_strerror(saved));
		return FALSE;
	}
	t->stray_fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (t->stray_fd < 0 ||
	    setsockopt(t->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    setsockopt(t->stray_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    bind(t->stray_fd, (struct sockaddr *)&bound, bound_len) != 0) {
		/* Strangers then get the kernel's ICMP instead of error 5. */
		g_debug("%s: no socket for strangers: %s", t->server->name, g_strerror(errno));
		if (t->stray_fd >= 0)
			close(t->stray_fd);
		t->stray_fd = -1;
	}
	return TRUE;
}

static void
transfer_tune_socket(PxedTftpTransfer *t, int family)
{
	int fd = t->fd;
	int sndbuf = (int)MIN((gsize)(4 + t->blksize) * t->windowsize * 2, (gsize)4 << 20);

	/* A window leaves in one burst: room for it in the send buffer keeps the
	 * kernel from refusing its tail (capped by net.core.wmem_max). */
	if (t->windowsize > 1) {
		sndbuf = MAX(sndbuf, 256 * 1024);
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
	}

	/* RFC 2348 lets a block exceed the path MTU: the datagram is then
	 * fragmented. Path MTU discovery would send it with "don't fragment"
	 * and count on an ICMP answer to learn the MTU — on networks that
	 * filter ICMP every large block would vanish. Off, as tftp-hpa does. */
	if (family == AF_INET) {
		int v = IP_PMTUDISC_DONT;
		setsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, &v, sizeof(v));
	} else {
		int v = IPV6_PMTUDISC_DONT;
		setsockopt(fd, IPPROTO_IPV6, IPV6_MTU_DISCOVER, &v, sizeof(v));
	}

	/* UDP segmentation offload: a burst of equal blocks is one send of up
	 * to 64 KiB that the stack splits late (or the NIC does). Only worth it
	 * with windows; switched off at the first send that the kernel, the
	 * route's MTU or the device refuses. */
	if (t->windowsize > 1) {
		guint segments =
			(guint)MIN((gsize)GSO_MAX_SEGMENTS, GSO_MAX_BYTES / (4 + t->blksize));
		t->gso = segments >= 2;
		t->gso_segments = segments;
	}
}

PxedTftpSessionState
pxed_tftp_transfer_poll(PxedTftpTransfer *t, gint64 now)
{
	gboolean got;

	return transfer_read(t, now, &got);
}

PxedTftpTransfer *
pxed_tftp_transfer_new(PxedTftpServer *server, const PxedTftpPeer *peer, const PxedTftpLocal *local,
		       const PxedTftpSessionParams *params, PxedFile *file, GError **error)
{
	g_autoptr(GError) watch_error = NULL;
	PxedTftpTransfer *t = g_new0(PxedTftpTransfer, 1);

	t->server = pxed_tftp_server_ref(server);
	t->deadline = (PxedTftpDeadline)PXED_TFTP_DEADLINE_INIT;
	t->fd = -1;
	t->stray_fd = -1;
	t->peer = *peer;
	if (!transfer_open_sockets(t, local, error)) {
		transfer_free(t);
		return NULL;
	}
	t->peer_text = pxed_tftp_peer_to_text(peer);
	t->mode = params->mode;
	t->blksize = params->blksize;
	t->windowsize = params->windowsize;
	t->size = pxed_file_get_size(file);
	t->started_at = g_get_monotonic_time();
	transfer_tune_socket(t, peer->ss.ss_family);
	t->session = pxed_tftp_session_new(params, file, server->scratch, PXED_TFTP_SCRATCH_SIZE,
					   transfer_transmit, t);
	t->watch = (PxedTftpWatch){
		.fd = t->fd, .events = EPOLLIN, .kind = PXED_TFTP_WATCH_TRANSFER, .owner = t};
	t->stray_watch = (PxedTftpWatch){
		.fd = t->stray_fd, .events = EPOLLIN, .kind = PXED_TFTP_WATCH_STRAYS, .owner = t};
	if (!pxed_tftp_engine_watch(server->engine, &t->watch, TRUE, &watch_error))
		g_warning("%s: epoll: %s", server->name, watch_error->message);
	g_clear_error(&watch_error);
	if (t->stray_fd >= 0 &&
	    !pxed_tftp_engine_watch(server->engine, &t->stray_watch, FALSE, &watch_error))
		g_warning("%s: epoll: %s", server->name, watch_error->message);
	return t;
}

void
pxed_tftp_transfer_begin(PxedTftpTransfer *t)
{
	transfer_update(t, pxed_tftp_session_start(t->session, g_get_monotonic_time()));
	pxed_tftp_engine_arm_timer(t->server->engine);
}
