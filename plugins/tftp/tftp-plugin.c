/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * The tftp protocol plugin: listening sockets, a port of its own for every
 * transfer, files from the core's `tftp` pipeline, events to the core's log.
 * The protocol itself lives in tftp-packet.c (wire format), tftp-negotiate.c
 * (what options are granted) and tftp-session.c (the transfer state
 * machine); this file moves datagrams between them and the kernel.
 *
 * An instance has one GSource on the core's main context: it watches an
 * epoll set holding the listening sockets, every transfer's sockets and one
 * timerfd, so that a main loop turn costs the same with one transfer or a
 * thousand (GLib polls one descriptor, epoll reports only the ready ones),
 * and timers are exact to the microsecond (paced bursts are shorter than the
 * main loop's millisecond). Deadlines sit in a min-heap that is corrected lazily: an ACK
 * that pushes a transfer's retransmission deadline later costs nothing; the
 * entry is looked at again only when its old time comes.
 *
 * Blocks are read with preadv() straight behind their headers in one buffer
 * shared by all transfers of the instance, and a burst leaves in one
 * sendmmsg(), with UDP segmentation offload when the kernel and the path
 * allow it.
 */

#include <pxed/pxed.h>

#include <errno.h>
#include <sched.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "tftp-negotiate.h"
#include "tftp-packet.h"
#include "tftp-peer.h"
#include "tftp-session.h"

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif

/* Datagrams read from one socket per main loop turn, so that a flood on one
 * socket cannot starve the others. */
#define RX_BUDGET 64
/* Large enough for any UDP datagram: nothing a listener gets is truncated. */
#define RX_SIZE 65536
/* A transfer's socket only ever receives ACKs and ERRORs (a longer ERROR
 * message is cut, harmlessly). */
#define RX_SMALL_SIZE 1024
/* Events taken from the epoll set per main loop turn, at most. */
#define EPOLL_BATCH 256
/* The first transfers are polled by GLib itself rather than through the
 * epoll set (see transfer_watch_direct): at most this many at once. */
#define DIRECT_MAX 4
/* Shared transmit buffer: one burst at a time is laid out in it. */
#define SCRATCH_SIZE (512 * 1024)
/* UDP GSO: segments per send at most (UDP_MAX_SEGMENTS of older kernels) and
 * the payload of one segmented send at most (below the 64 KiB IP limit). */
#define GSO_MAX_SEGMENTS 64
#define GSO_MAX_BYTES	 65000
#define MAX_MSGS	 64

typedef struct _PxedTftpServer PxedTftpServer;
typedef struct _PxedTftpTransfer PxedTftpTransfer;

/* What an event of the epoll set is about. */
typedef struct _PxedTftpListener PxedTftpListener;

typedef enum {
	WATCH_TIMER,
	WATCH_LISTENER, /* a listening socket (the watch is the listener's) */
	WATCH_TRANSFER, /* the transfer's own (connected) socket */
	WATCH_STRAYS,	/* its sibling that hears everyone else */
} PxedTftpWatchKind;

typedef struct {
	PxedTftpWatchKind kind;
	PxedTftpTransfer *transfer;
	PxedTftpListener *listener;
} PxedTftpWatch;

/* A client's address without the port: the key of its share of the
 * sessions (one machine may use many ports, never many addresses on a LAN
 * where it has one lease). Also the value: it counts the sessions held. */
typedef struct {
	int family;
	guint32 scope_id;
	guint8 addr[16]; /* IPv4: the first 4 bytes */
	guint sessions;
} PxedTftpShare;

/* A limit that is hit says so in the log at most once per this interval,
 * with the number of hits it did not report: a flood of refusals must not
 * turn into a flood of log lines. */
#define LIMIT_LOG_INTERVAL_US (10 * G_USEC_PER_SEC)

typedef struct {
	gint64 logged_at; /* 0: never */
	guint64 unlogged;
} PxedTftpLimitLog;

struct _PxedTftpListener {
	PxedTftpServer *server;
	GSocket *socket;
	PxedTftpWatch watch;
	int fd;
	gboolean wildcard;
	char *text;
};

struct _PxedTftpServer {
	gint refcount;
	PxedContext *ctx;
	GMainContext *main_context;
	char *name;

	GPtrArray *listen; /* GInetSocketAddress */
	guint max_sessions;
	guint max_sessions_per_client;
	PxedTftpPolicy policy; /* what option negotiation grants */

	GPtrArray *listeners;  /* PxedTftpListener* */
	GHashTable *transfers; /* PxedTftpPeer* → PxedTftpTransfer*, both owned by the transfer */
	GHashTable *shares;    /* PxedTftpShare*, key and value; one per address with sessions */
	guint8 *scratch;
	guint8 *rxbuf;
	guint8 *rxsmall;

	/* The transfer engine: one source, one epoll set, one timer. */
	GSource *engine;
	int epfd;
	int timerfd;
	gint64 timer_at; /* what the timerfd is armed for; -1: disarmed */
	PxedTftpWatch timer_watch;
	GPtrArray *heap;     /* PxedTftpTransfer*, a min-heap on heap_key */
	GPtrArray *finished; /* transfers that ended, freed at the end of the turn */
	gpointer epfd_tag;
	PxedTftpTransfer *direct[DIRECT_MAX]; /* transfers GLib polls itself, or NULL */
	guint64 spun; /* datagrams (ACKs, or the odd error) taken while spinning */
	gboolean dispatching;

	guint64 requests;
	guint64 refused;
	guint64 completed;
	guint64 failed;
	guint64 bad_packets;
	guint64 unknown_tid;
	guint64 refused_per_client; /* max-sessions-per-client hit */
	guint64 timeout_declined;   /* a timeout option above max-timeout */
	guint64 unacked;	    /* transfers given up by unacked-retries */
	PxedTftpLimitLog per_client_log;
	PxedTftpLimitLog timeout_log;
	PxedTftpLimitLog unacked_log;
};

struct _PxedTftpTransfer {
	PxedTftpServer *server; /* referenced */
	PxedTftpSession *session;
	int fd;	      /* connected to the peer */
	int stray_fd; /* same port, not connected: datagrams from strangers, or -1 */
	PxedTftpWatch watch;
	PxedTftpWatch stray_watch;
	guint32 events;	 /* what it is watched for (EPOLLIN, EPOLLOUT) */
	gpointer tag;	 /* polled by GLib directly: its tag in the engine source */
	gint heap_index; /* -1: not in the heap */
	gint64 heap_key; /* the deadline it is filed under (maybe earlier than the real one) */
	gboolean ended;
	PxedTftpPeer peer;
	PxedTftpShare *share; /* the client address's session count, held once */
	guint32 request_hash;
	PxedClient *client;
	char *path;	 /* escaped for logs */
	char *peer_text; /* ADDRESS:PORT */
	PxedTftpMode mode;
	guint blksize;
	guint windowsize;
	guint64 size;
	gint64 started_at;
	gboolean gso;
	guint gso_segments;
};

/* The one GSource of an instance's transfers. */
typedef struct {
	GSource source;
	PxedTftpServer *server;
} PxedTftpEngineSource;

static PxedTftpServer *
server_ref(PxedTftpServer *self)
{
	self->refcount++;
	return self;
}

static void
server_unref(PxedTftpServer *self)
{
	if (--self->refcount > 0)
		return;
	g_assert(self->listeners->len == 0);
	g_assert(g_hash_table_size(self->transfers) == 0);
	if (self->engine != NULL) {
		g_source_destroy(self->engine);
		g_source_unref(self->engine);
	}
	if (self->epfd >= 0)
		close(self->epfd);
	if (self->timerfd >= 0)
		close(self->timerfd);
	g_ptr_array_unref(self->heap);
	g_ptr_array_unref(self->finished);
	g_free(self->rxsmall);
	g_ptr_array_unref(self->listeners);
	g_ptr_array_unref(self->listen);
	g_hash_table_unref(self->transfers);
	g_hash_table_unref(self->shares);
	g_clear_pointer(&self->main_context, g_main_context_unref);
	g_free(self->scratch);
	g_free(self->rxbuf);
	g_free(self->name);
	g_free(self);
}

/* ---- shares of the sessions ---- */

static void
share_key_from_peer(PxedTftpShare *key, const PxedTftpPeer *peer)
{
	memset(key, 0, sizeof(*key));
	key->family = peer->ss.ss_family;
	if (peer->ss.ss_family == AF_INET) {
		const struct sockaddr_in *a = (const struct sockaddr_in *)&peer->ss;
		memcpy(key->addr, &a->sin_addr, sizeof(a->sin_addr));
	} else if (peer->ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&peer->ss;
		memcpy(key->addr, &a->sin6_addr, sizeof(a->sin6_addr));
		key->scope_id = a->sin6_scope_id;
	}
}

static guint
share_hash(gconstpointer key)
{
	const PxedTftpShare *s = key;
	guint h = (guint)s->family * 31 + s->scope_id;

	for (guint i = 0; i < sizeof(s->addr); i++)
		h = h * 31 + s->addr[i];
	return h;
}

static gboolean
share_equal(gconstpointer a, gconstpointer b)
{
	const PxedTftpShare *x = a;
	const PxedTftpShare *y = b;

	return x->family == y->family && x->scope_id == y->scope_id &&
	       memcmp(x->addr, y->addr, sizeof(x->addr)) == 0;
}

/* Sessions the peer's address holds now. */
static guint
share_count(PxedTftpServer *server, const PxedTftpPeer *peer)
{
	PxedTftpShare key;
	PxedTftpShare *share;

	share_key_from_peer(&key, peer);
	share = g_hash_table_lookup(server->shares, &key);
	return share != NULL ? share->sessions : 0;
}

/* At admission: one allocation for an address's first session, none after. */
static PxedTftpShare *
share_take(PxedTftpServer *server, const PxedTftpPeer *peer)
{
	PxedTftpShare key;
	PxedTftpShare *share;

	share_key_from_peer(&key, peer);
	share = g_hash_table_lookup(server->shares, &key);
	if (share == NULL) {
		share = g_memdup2(&key, sizeof(key));
		g_hash_table_add(server->shares, share);
	}
	share->sessions++;
	return share;
}

static void
share_release(PxedTftpServer *server, PxedTftpShare *share)
{
	g_assert(share->sessions > 0);
	if (--share->sessions == 0)
		g_hash_table_remove(server->shares, share); /* frees it */
}

/* Whether a limit's hit is to be logged now; else it is counted in
 * @log->unlogged, which the next line reports (and resets). */
static gboolean
limit_log_due(PxedTftpLimitLog *log, guint64 *unlogged)
{
	gint64 now = g_get_monotonic_time();

	if (log->logged_at != 0 && now - log->logged_at < LIMIT_LOG_INTERVAL_US) {
		log->unlogged++;
		return FALSE;
	}
	log->logged_at = now;
	*unlogged = log->unlogged;
	log->unlogged = 0;
	return TRUE;
}

/* File names are client-chosen bytes: escaped before they reach a log line. */
static char *
escape_name(const char *name)
{
	g_autofree char *cut = g_strndup(name, 256);
	return g_strescape(cut, NULL);
}

static guint32
hash_bytes(const guint8 *buf, gsize len)
{
	guint32 h = 2166136261u; /* FNV-1a */
	for (gsize i = 0; i < len; i++)
		h = (h ^ buf[i]) * 16777619u;
	return h;
}

/* ---- sending errors from a listening socket ---- */

/* Refusals go out from the listening socket, from the address the request
 * was sent to: no transfer (and no TID) exists yet, and a refusal must not
 * cost a socket — least of all when the server is out of sessions. */
static void
listener_reply_error(PxedTftpListener *listener, const PxedTftpPeer *peer,
		     const PxedTftpLocal *local, guint16 code, const char *message)
{
	guint8 buf[512];
	gsize len = pxed_tftp_packet_build_error(buf, sizeof(buf), code, message);
	struct iovec iov = {buf, len};
	union {
		char v4[CMSG_SPACE(sizeof(struct in_pktinfo))];
		char v6[CMSG_SPACE(sizeof(struct in6_pktinfo))];
		struct cmsghdr align;
	} control;
	struct msghdr msg = {
		.msg_name = (gpointer)&peer->ss,
		.msg_namelen = peer->len,
		.msg_iov = &iov,
		.msg_iovlen = 1,
	};

	memset(&control, 0, sizeof(control));
	if (listener->wildcard && local->valid) {
		struct cmsghdr *cmsg;
		msg.msg_control = &control;
		if (local->family == AF_INET) {
			struct in_pktinfo info = {.ipi_spec_dst = local->v4};
			msg.msg_controllen = CMSG_SPACE(sizeof(info));
			cmsg = CMSG_FIRSTHDR(&msg);
			cmsg->cmsg_level = IPPROTO_IP;
			cmsg->cmsg_type = IP_PKTINFO;
			cmsg->cmsg_len = CMSG_LEN(sizeof(info));
			memcpy(CMSG_DATA(cmsg), &info, sizeof(info));
		} else {
			struct in6_pktinfo info = {.ipi6_addr = local->v6,
						   .ipi6_ifindex = local->ifindex};
			msg.msg_controllen = CMSG_SPACE(sizeof(info));
			cmsg = CMSG_FIRSTHDR(&msg);
			cmsg->cmsg_level = IPPROTO_IPV6;
			cmsg->cmsg_type = IPV6_PKTINFO;
			cmsg->cmsg_len = CMSG_LEN(sizeof(info));
			memcpy(CMSG_DATA(cmsg), &info, sizeof(info));
		}
	}
	if (len > 0 && sendmsg(listener->fd, &msg, MSG_DONTWAIT) < 0)
		g_debug("%s: cannot send error %u: %s", listener->server->name, code,
			g_strerror(errno));
}

/* ---- transfers ---- */

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

/* ---- the deadline heap ---- */

static void
heap_set(PxedTftpServer *server, guint i, PxedTftpTransfer *t)
{
	server->heap->pdata[i] = t;
	t->heap_index = (gint)i;
}

static void
heap_up(PxedTftpServer *server, guint i)
{
	PxedTftpTransfer *t = server->heap->pdata[i];

	while (i > 0) {
		guint parent = (i - 1) / 2;
		PxedTftpTransfer *p = server->heap->pdata[parent];
		if (p->heap_key <= t->heap_key)
			break;
		heap_set(server, i, p);
		i = parent;
	}
	heap_set(server, i, t);
}

static void
heap_down(PxedTftpServer *server, guint i)
{
	GPtrArray *h = server->heap;
	PxedTftpTransfer *t = h->pdata[i];

	for (;;) {
		guint child = 2 * i + 1;
		PxedTftpTransfer *c;
		if (child >= h->len)
			break;
		if (child + 1 < h->len && ((PxedTftpTransfer *)h->pdata[child + 1])->heap_key <
						  ((PxedTftpTransfer *)h->pdata[child])->heap_key)
			child++;
		c = h->pdata[child];
		if (t->heap_key <= c->heap_key)
			break;
		heap_set(server, i, c);
		i = child;
	}
	heap_set(server, i, t);
}

static void
heap_remove(PxedTftpServer *server, PxedTftpTransfer *t)
{
	GPtrArray *h = server->heap;
	guint i = (guint)t->heap_index;
	PxedTftpTransfer *last;

	if (t->heap_index < 0)
		return;
	t->heap_index = -1;
	last = g_ptr_array_steal_index(h, h->len - 1);
	if (last == t)
		return;
	heap_set(server, i, last);
	heap_up(server, i);
	heap_down(server, (guint)last->heap_index);
}

/* Files the transfer's deadline. A later deadline than the one filed is
 * left for later: the entry is checked again when its old time comes. */
static void
transfer_schedule(PxedTftpTransfer *t)
{
	PxedTftpServer *server = t->server;
	gint64 deadline = pxed_tftp_session_get_deadline(t->session);

	if (deadline < 0)
		return;
	if (t->heap_index < 0) {
		t->heap_key = deadline;
		g_ptr_array_add(server->heap, t);
		heap_up(server, server->heap->len - 1);
	} else if (deadline < t->heap_key) {
		t->heap_key = deadline;
		heap_up(server, (guint)t->heap_index);
	}
}

static void
engine_arm_timer(PxedTftpServer *server)
{
	gint64 at =
		server->heap->len > 0 ? ((PxedTftpTransfer *)server->heap->pdata[0])->heap_key : -1;
	struct itimerspec its = {{0, 0}, {0, 0}};

	if (at == server->timer_at)
		return;
	server->timer_at = at;
	if (at >= 0) {
		/* Absolute on CLOCK_MONOTONIC, the clock of g_get_monotonic_time();
		 * 0 would disarm, so a past deadline is 1 ns. */
		its.it_value.tv_sec = at / G_USEC_PER_SEC;
		its.it_value.tv_nsec = (at % G_USEC_PER_SEC) * 1000;
		if (its.it_value.tv_sec == 0 && its.it_value.tv_nsec == 0)
			its.it_value.tv_nsec = 1;
	}
	timerfd_settime(server->timerfd, TFD_TIMER_ABSTIME, &its, NULL);
}

/* ---- transfers ---- */

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
	server_unref(t->server);
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
		pxed_context_event(server->ctx, t->client, server->name, "transfer-complete",
				   "file=%s bytes=%" G_GUINT64_FORMAT
				   " duration=%.3fs rate=%.1fMB/s mode=%s blksize=%u windowsize=%u"
				   " retransmits=%" G_GUINT64_FORMAT " timeouts=%u cwnd-min=%u"
				   " peer=%s",
				   t->path, stats.bytes, seconds, (double)stats.bytes / us,
				   pxed_tftp_mode_to_string(t->mode), t->blksize, t->windowsize,
				   stats.retransmits, stats.timeouts, stats.cwnd_min, t->peer_text);
	} else {
		const GError *error = pxed_tftp_session_get_error(t->session);
		guint64 unlogged;

		server->failed++;
		if (g_error_matches(error, PXED_TFTP_ERROR, PXED_TFTP_ERROR_UNACKED)) {
			/* What a request with a forged source address looks like
			 * (or a client gone before its first ACK). */
			server->unacked++;
			if (limit_log_due(&server->unacked_log, &unlogged))
				g_warning("%s: %s acknowledged nothing, transfer given up after "
					  "unacked-retries=%u (%" G_GUINT64_FORMAT
					  " more since the last such message, %" G_GUINT64_FORMAT
					  " in all)",
					  server->name, t->peer_text,
					  server->policy.unacked_retries, unlogged,
					  server->unacked);
		}
		pxed_context_event(server->ctx, t->client, server->name, "transfer-failed",
				   "file=%s reason=\"%s\" bytes=%" G_GUINT64_FORMAT
				   " duration=%.3fs retransmits=%" G_GUINT64_FORMAT " peer=%s",
				   t->path, error != NULL ? error->message : "unknown", stats.bytes,
				   seconds, stats.retransmits, t->peer_text);
	}
}

static GIOCondition
io_condition(guint32 events)
{
	return ((events & EPOLLIN) ? G_IO_IN : 0) | ((events & EPOLLOUT) ? G_IO_OUT : 0);
}

/* The first few transfers are in GLib's own poll set, not behind the epoll
 * descriptor. A socket wakes its poller with the "sync" hint, which lets the
 * scheduler run the server next to the client that just sent the ACK; a
 * nested epoll wakes GLib's poll() without it. For a few lock-step clients
 * that decides whether a block costs a cross-CPU wakeup. Beyond a few, the
 * epoll set keeps a main loop turn independent of the number of transfers. */
static gboolean
transfer_watch_direct(PxedTftpTransfer *t)
{
	PxedTftpServer *server = t->server;

	for (guint i = 0; i < DIRECT_MAX; i++) {
		if (server->direct[i] == NULL) {
			server->direct[i] = t;
			t->tag = g_source_add_unix_fd(server->engine, t->fd,
						      io_condition(t->events));
			return TRUE;
		}
	}
	return FALSE;
}

static void
transfer_unwatch_direct(PxedTftpTransfer *t)
{
	PxedTftpServer *server = t->server;

	if (t->tag == NULL)
		return;
	g_source_remove_unix_fd(server->engine, t->tag);
	t->tag = NULL;
	for (guint i = 0; i < DIRECT_MAX; i++) {
		if (server->direct[i] == t)
			server->direct[i] = NULL;
	}
}

/* Takes the transfer out of everything and reports it; the memory goes at
 * the end of the main loop turn (an epoll batch may still name it). */
static void
transfer_end(PxedTftpTransfer *t, PxedTftpSessionState state)
{
	PxedTftpServer *server = t->server;

	if (t->ended)
		return;
	t->ended = TRUE;
	g_hash_table_remove(server->transfers, &t->peer);
	if (t->share != NULL)
		share_release(server, g_steal_pointer(&t->share));
	heap_remove(server, t);
	transfer_unwatch_direct(t);
	/* (its sockets leave the epoll set when they are closed) */
	transfer_report(t, state);
	g_ptr_array_add(server->finished, t);
}

static void
server_reap(PxedTftpServer *server)
{
	/* The last transfer may hold the last reference to the server. */
	while (server->finished->len > 0) {
		PxedTftpTransfer *t =
			g_ptr_array_steal_index_fast(server->finished, server->finished->len - 1);
		transfer_free(t);
	}
}

/* After the session moved: the end, or its socket interest and deadline. */
static void
transfer_update(PxedTftpTransfer *t, PxedTftpSessionState state)
{
	guint32 events = EPOLLIN;

	if (state != PXED_TFTP_SESSION_RUNNING) {
		transfer_end(t, state);
		return;
	}
	if (pxed_tftp_session_wants_writable(t->session))
		events |= EPOLLOUT;
	if (events != t->events) {
		struct epoll_event ev = {.events = events, .data.ptr = &t->watch};
		if (t->tag != NULL)
			g_source_modify_unix_fd(t->server->engine, t->tag, io_condition(events));
		else
			epoll_ctl(t->server->epfd, EPOLL_CTL_MOD, t->fd, &ev);
		t->events = events;
	}
	transfer_schedule(t);
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
		n = recv(t->fd, buf, RX_SMALL_SIZE, MSG_DONTWAIT);
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
	return pxed_tftp_session_receive(t->session, buf, MIN((gsize)n, (gsize)RX_SMALL_SIZE), now);
}

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

static PxedTftpSessionState transfer_read(PxedTftpTransfer *t, gint64 now, gboolean *got);
static void transfer_update(PxedTftpTransfer *t, PxedTftpSessionState state);

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
	struct iovec iov = {buf, RX_SMALL_SIZE};
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
	len = MIN((gsize)n, (gsize)RX_SMALL_SIZE);
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

static void listener_ready(PxedTftpListener *listener);

static void
engine_timers(PxedTftpServer *server)
{
	gint64 now = g_get_monotonic_time();

	while (server->heap->len > 0) {
		PxedTftpTransfer *t = server->heap->pdata[0];
		gint64 deadline;

		if (t->heap_key > now)
			break;
		heap_remove(server, t);
		deadline = pxed_tftp_session_get_deadline(t->session);
		if (deadline < 0)
			continue; /* nothing to wait for any more */
		if (deadline > now) {
			/* Moved later since it was filed: file it again. */
			transfer_schedule(t);
			continue;
		}
		transfer_update(t, pxed_tftp_session_timer(t->session, now));
	}
}

static gboolean
engine_dispatch(GSource *source, GSourceFunc callback, gpointer user_data)
{
	PxedTftpServer *server = ((PxedTftpEngineSource *)source)->server;
	struct epoll_event events[EPOLL_BATCH];
	gint64 now;
	int n;

	/* The source may recurse (see engine_start); this code does not. */
	if (server->dispatching)
		return G_SOURCE_CONTINUE;
	server->dispatching = TRUE;
	server_ref(server);
	now = g_get_monotonic_time();
	for (guint i = 0; i < DIRECT_MAX; i++) {
		PxedTftpTransfer *t = server->direct[i];
		GIOCondition revents;
		PxedTftpSessionState state;

		if (t == NULL)
			continue;
		revents = g_source_query_unix_fd(source, t->tag);
		if (revents == 0)
			continue;
		state = pxed_tftp_session_get_state(t->session);
		if (revents & (G_IO_IN | G_IO_ERR | G_IO_HUP)) {
			gboolean got;
			state = transfer_read(t, now, &got);
		}
		if (state == PXED_TFTP_SESSION_RUNNING && (revents & G_IO_OUT))
			state = pxed_tftp_session_writable(t->session, now);
		transfer_update(t, state);
		transfer_spin(t, now);
	}
	/* Only when the epoll set has something: a lock-step block of a
	 * directly polled transfer costs no epoll_wait(). */
	n = (g_source_query_unix_fd(source, server->epfd_tag) & G_IO_IN)
		    ? epoll_wait(server->epfd, events, EPOLL_BATCH, 0)
		    : 0;
	if (n > 0) {
		for (int i = 0; i < n; i++) {
			PxedTftpWatch *watch = events[i].data.ptr;
			PxedTftpTransfer *t = watch->transfer;
			PxedTftpSessionState state;

			if (watch->kind == WATCH_TIMER) {
				guint64 expirations;
				if (read(server->timerfd, &expirations, sizeof(expirations)) < 0)
					g_debug("%s: timerfd: %s", server->name, g_strerror(errno));
				server->timer_at = -1; /* fired: re-arm whatever is next */
				continue;
			}
			if (watch->kind == WATCH_LISTENER) {
				listener_ready(watch->listener);
				continue;
			}
			if (t->ended)
				continue;
			if (watch->kind == WATCH_STRAYS) {
				transfer_update(t, transfer_read_stray(t, now));
				continue;
			}
			state = pxed_tftp_session_get_state(t->session);
			if (events[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
				gboolean got;
				state = transfer_read(t, now, &got);
			}
			if (state == PXED_TFTP_SESSION_RUNNING && (events[i].events & EPOLLOUT))
				state = pxed_tftp_session_writable(t->session, now);
			transfer_update(t, state);
		}
	}
	engine_timers(server);
	engine_arm_timer(server);
	server->dispatching = FALSE;
	server_reap(server);
	server_unref(server);
	return G_SOURCE_CONTINUE;
}

static GSourceFuncs engine_funcs = {
	.dispatch = engine_dispatch,
};

static gboolean
engine_start(PxedTftpServer *server, GError **error)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &server->timer_watch};

	if (server->engine != NULL)
		return TRUE;
	server->timer_watch.kind = WATCH_TIMER;
	server->epfd = epoll_create1(EPOLL_CLOEXEC);
	server->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (server->epfd < 0 || server->timerfd < 0 ||
	    epoll_ctl(server->epfd, EPOLL_CTL_ADD, server->timerfd, &ev) != 0) {
		int saved = errno;
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(saved),
			    "cannot set up the transfer engine: %s", g_strerror(saved));
		return FALSE;
	}
	server->timer_at = -1;
	server->engine = g_source_new(&engine_funcs, sizeof(PxedTftpEngineSource));
	((PxedTftpEngineSource *)server->engine)->server = server;
	g_source_set_static_name(server->engine, "pxed-tftp-transfers");
	/* GLib (2.74) takes a non-recursive source's descriptors out of the poll
	 * set around each dispatch and puts them back, and each of those steps
	 * signals the context's wakeup eventfd: two write()s, a read() and an
	 * extra loop turn for every ACK of a lock-step transfer. A recursive
	 * source is left alone; engine_dispatch() guards itself instead. */
	g_source_set_can_recurse(server->engine, TRUE);
	server->epfd_tag = g_source_add_unix_fd(server->engine, server->epfd, G_IO_IN);
	g_source_attach(server->engine, server->main_context);
	return TRUE;
}

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

static guint16
error_code_for(const GError *error)
{
	/* The SDK's mapping: NOT_FOUND is 1, DENIED is 2, anything else 0. */
	if (g_error_matches(error, PXED_ERROR, PXED_ERROR_NOT_FOUND))
		return PXED_TFTP_ERR_NOT_FOUND;
	if (g_error_matches(error, PXED_ERROR, PXED_ERROR_DENIED))
		return PXED_TFTP_ERR_ACCESS;
	return PXED_TFTP_ERR_UNDEFINED;
}

static const char *
error_text_for(guint16 code)
{
	/* RFC 1350 appendix wording; details stay in the server's log. */
	switch (code) {
	case PXED_TFTP_ERR_NOT_FOUND:
		return "File not found";
	case PXED_TFTP_ERR_ACCESS:
		return "Access violation";
	default:
		return "Server error";
	}
}

static void
request_refused(PxedTftpListener *listener, const PxedTftpPeer *peer, const PxedTftpLocal *local,
		PxedClient *client, const char *path, guint16 code, const char *message,
		const char *reason)
{
	PxedTftpServer *server = listener->server;
	g_autofree char *peer_text = pxed_tftp_peer_to_text(peer);

	server->refused++;
	listener_reply_error(listener, peer, local, code, message);
	pxed_context_event(server->ctx, client, server->name, "transfer-failed",
			   "file=%s reason=\"%s\" error=%u peer=%s", path != NULL ? path : "-",
			   reason, code, peer_text);
}

static void
handle_read_request(PxedTftpListener *listener, const PxedTftpPacket *request,
		    const PxedTftpPeer *peer, const PxedTftpLocal *local, guint32 request_hash)
{
	PxedTftpServer *server = listener->server;
	g_autoptr(PxedClient) client = NULL;
	g_autoptr(PxedFile) file = NULL;
	g_autoptr(GInetAddress) address = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree char *path = escape_name(request->filename);
	PxedTftpSessionParams params;
	PxedTftpTransfer *t;
	PxedTftpTransfer *existing;
	guint32 declined;
	guint held;

	existing = g_hash_table_lookup(server->transfers, peer);
	if (existing != NULL) {
		/* A PXE ROM may end a size probe with an ERROR and send its real
		 * request from the same port at once: let that ERROR land first. */
		gboolean got;
		PxedTftpSessionState state = transfer_read(existing, g_get_monotonic_time(), &got);
		if (state != PXED_TFTP_SESSION_RUNNING) {
			transfer_end(existing, state);
		} else if (existing->request_hash == request_hash) {
			/* The client repeating its request because our first answer
			 * is late: that answer is already on its way, and the
			 * transfer's own timer resends it if lost. */
			g_debug("%s: %s: repeated request ignored", server->name,
				existing->peer_text);
			return;
		} else {
			/* A different request from the same port: the client gave up
			 * on the old transfer without telling. */
			pxed_tftp_session_cancel(existing->session,
						 "superseded by a new request from the same port");
			transfer_end(existing, PXED_TFTP_SESSION_FAILED);
		}
	}

	client = pxed_client_new();
	address = pxed_tftp_peer_inet_address(peer);
	pxed_client_set_address(client, address);
	pxed_client_set_via(client, PXED_VIA_TFTP);
	/* TFTP names no machine: DHCP told who is at this address */
	pxed_context_identify_client(server->ctx, client);

	if (g_hash_table_size(server->transfers) >= server->max_sessions) {
		g_autofree char *message = g_strdup_printf(
			"Server busy: %u transfers in progress (max-sessions), try again later",
			g_hash_table_size(server->transfers));
		request_refused(listener, peer, local, client, path, PXED_TFTP_ERR_UNDEFINED,
				message, "max-sessions reached");
		return;
	}
	/* A fair share: one address cannot take every session and lock the
	 * other machines out. A booting machine fetches a file or two at once
	 * (firmware, iPXE); the cap is far above that. */
	held = share_count(server, peer);
	if (held >= server->max_sessions_per_client) {
		g_autofree char *message =
			g_strdup_printf("Server busy: %u transfers from your address in progress "
					"(max-sessions-per-client), try again later",
					held);
		guint64 unlogged;

		server->refused_per_client++;
		if (limit_log_due(&server->per_client_log, &unlogged)) {
			g_autofree char *peer_text = pxed_tftp_peer_to_text(peer);
			g_warning("%s: %s holds %u transfers, max-sessions-per-client=%u: request "
				  "refused (%" G_GUINT64_FORMAT " more refused since the last "
				  "such message, %" G_GUINT64_FORMAT " in all)",
				  server->name, peer_text, held, server->max_sessions_per_client,
				  unlogged, server->refused_per_client);
		}
		request_refused(listener, peer, local, client, path, PXED_TFTP_ERR_UNDEFINED,
				message, "max-sessions-per-client reached");
		return;
	}

	file = pxed_context_open_file(server->ctx, PXED_VIA_TFTP, client, request->filename, NULL,
				      &error);
	if (file == NULL) {
		guint16 code = error_code_for(error);
		request_refused(listener, peer, local, client, path, code, error_text_for(code),
				error->message);
		return;
	}

	declined = pxed_tftp_negotiate(&server->policy, request, pxed_file_get_size(file), &params);
	if (declined & PXED_TFTP_OPT_TIMEOUT) {
		guint64 unlogged;

		server->timeout_declined++;
		if (limit_log_due(&server->timeout_log, &unlogged)) {
			g_autofree char *peer_text = pxed_tftp_peer_to_text(peer);
			g_warning("%s: %s asked for timeout=%u, above max-timeout=%u: option "
				  "declined, the server's timeout=%u used (%" G_GUINT64_FORMAT
				  " more since the last such message, %" G_GUINT64_FORMAT
				  " in all)",
				  server->name, peer_text, request->options.timeout,
				  server->policy.max_timeout, server->policy.timeout, unlogged,
				  server->timeout_declined);
		}
	}
	t = g_new0(PxedTftpTransfer, 1);
	t->server = server_ref(server);
	t->heap_index = -1;
	t->fd = -1;
	t->stray_fd = -1;
	t->peer = *peer;
	t->watch = (PxedTftpWatch){WATCH_TRANSFER, t, NULL};
	t->stray_watch = (PxedTftpWatch){WATCH_STRAYS, t, NULL};
	if (!transfer_open_sockets(t, local, &error)) {
		g_warning("%s: cannot open a transfer socket: %s", server->name, error->message);
		request_refused(listener, peer, local, client, path, PXED_TFTP_ERR_UNDEFINED,
				error_text_for(PXED_TFTP_ERR_UNDEFINED), error->message);
		transfer_free(t);
		return;
	}
	t->request_hash = request_hash;
	t->client = g_steal_pointer(&client);
	t->path = g_steal_pointer(&path);
	t->peer_text = pxed_tftp_peer_to_text(peer);
	t->mode = params.mode;
	t->blksize = params.blksize;
	t->windowsize = params.windowsize;
	t->size = pxed_file_get_size(file);
	t->started_at = g_get_monotonic_time();
	transfer_tune_socket(t, peer->ss.ss_family);
	t->session = pxed_tftp_session_new(&params, file, server->scratch, SCRATCH_SIZE,
					   transfer_transmit, t);
	t->events = EPOLLIN;
	{
		struct epoll_event ev = {.events = t->events, .data.ptr = &t->watch};
		struct epoll_event sev = {.events = EPOLLIN, .data.ptr = &t->stray_watch};
		if (!transfer_watch_direct(t) &&
		    epoll_ctl(server->epfd, EPOLL_CTL_ADD, t->fd, &ev) != 0)
			g_warning("%s: epoll: %s", server->name, g_strerror(errno));
		if (t->stray_fd >= 0 &&
		    epoll_ctl(server->epfd, EPOLL_CTL_ADD, t->stray_fd, &sev) != 0)
			g_warning("%s: epoll: %s", server->name, g_strerror(errno));
	}
	g_hash_table_insert(server->transfers, &t->peer, t);
	t->share = share_take(server, peer);

	if (params.mode == PXED_TFTP_MODE_OCTET)
		pxed_context_event(server->ctx, t->client, server->name, "transfer-start",
				   "file=%s size=%" G_GUINT64_FORMAT
				   " mode=octet blksize=%u windowsize=%u origin=%s peer=%s",
				   t->path, t->size, t->blksize, t->windowsize,
				   pxed_file_get_origin(file) != NULL ? pxed_file_get_origin(file)
								      : "-",
				   t->peer_text);
	else
		pxed_context_event(server->ctx, t->client, server->name, "transfer-start",
				   "file=%s mode=netascii blksize=%u windowsize=%u origin=%s "
				   "peer=%s",
				   t->path, t->blksize, t->windowsize,
				   pxed_file_get_origin(file) != NULL ? pxed_file_get_origin(file)
								      : "-",
				   t->peer_text);

	transfer_update(t, pxed_tftp_session_start(t->session, g_get_monotonic_time()));
	engine_arm_timer(server);
}

static void
handle_request(PxedTftpListener *listener, const guint8 *buf, gsize len, const PxedTftpPeer *peer,
	       const PxedTftpLocal *local)
{
	PxedTftpServer *server = listener->server;
	g_autoptr(GError) error = NULL;
	PxedTftpPacket packet;

	server->requests++;
	if (!pxed_tftp_packet_parse(buf, len, &packet, &error)) {
		g_autofree char *peer_text = pxed_tftp_peer_to_text(peer);
		server->bad_packets++;
		g_debug("%s: bad packet from %s: %s", server->name, peer_text, error->message);
		/* RFC 1350 §7: illegal operation — but an ERROR is never answered. */
		if (len >= 2 && !(buf[0] == 0 && buf[1] == PXED_TFTP_OP_ERROR))
			listener_reply_error(listener, peer, local, PXED_TFTP_ERR_ILLEGAL_OP,
					     error->message);
		return;
	}
	switch (packet.opcode) {
	case PXED_TFTP_OP_RRQ:
		handle_read_request(listener, &packet, peer, local, hash_bytes(buf, len));
		return;
	case PXED_TFTP_OP_WRQ: {
		/* pxed never writes into the trees it serves. */
		g_autofree char *path = escape_name(packet.filename);
		g_autoptr(PxedClient) client = pxed_client_new();
		g_autoptr(GInetAddress) address = pxed_tftp_peer_inet_address(peer);
		pxed_client_set_address(client, address);
		pxed_client_set_via(client, PXED_VIA_TFTP);
		request_refused(listener, peer, local, client, path, PXED_TFTP_ERR_ACCESS,
				"Access violation: this server does not accept writes",
				"write request refused");
		return;
	}
	case PXED_TFTP_OP_ERROR:
		return;
	default: {
		g_autofree char *peer_text = pxed_tftp_peer_to_text(peer);
		server->bad_packets++;
		g_debug("%s: %s on the request port from %s", server->name,
			pxed_tftp_opcode_to_string(packet.opcode), peer_text);
		listener_reply_error(listener, peer, local, PXED_TFTP_ERR_ILLEGAL_OP,
				     "Illegal TFTP operation: expected a read request");
		return;
	}
	}
}

/* ---- listening ---- */

static void
listener_ready(PxedTftpListener *listener)
{
	PxedTftpServer *server = listener->server;

	for (guint i = 0; i < RX_BUDGET; i++) {
		PxedTftpPeer peer = {0};
		PxedTftpLocal local;
		union {
			char v4[CMSG_SPACE(sizeof(struct in_pktinfo))];
			char v6[CMSG_SPACE(sizeof(struct in6_pktinfo))];
			struct cmsghdr align;
		} control;
		struct iovec iov = {server->rxbuf, RX_SIZE};
		struct msghdr msg = {
			.msg_name = &peer.ss,
			.msg_namelen = sizeof(peer.ss),
			.msg_iov = &iov,
			.msg_iovlen = 1,
			.msg_control = &control,
			.msg_controllen = sizeof(control),
		};
		ssize_t n = recvmsg(listener->fd, &msg, MSG_DONTWAIT);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		peer.len = msg.msg_namelen;
		if (peer.ss.ss_family != AF_INET && peer.ss.ss_family != AF_INET6)
			continue;
		pxed_tftp_local_from_control(&msg, &local);
		handle_request(listener, server->rxbuf, (gsize)n, &peer, &local);
	}
}

static void
listener_free(PxedTftpListener *listener)
{
	/* (closing the socket takes it out of the epoll set) */
	if (listener->socket != NULL) {
		g_socket_close(listener->socket, NULL);
		g_object_unref(listener->socket);
	}
	g_free(listener->text);
	g_free(listener);
}

static PxedTftpListener *
listener_new(PxedTftpServer *server, GInetSocketAddress *address, GError **error)
{
	g_autoptr(GSocket) sock = NULL;
	g_autoptr(GSocketAddress) bound = NULL;
	g_autoptr(GError) local_error = NULL;
	GInetAddress *inet = g_inet_socket_address_get_address(address);
	GSocketFamily family = g_inet_address_get_family(inet);
	PxedTftpListener *listener;
	int one = 1;
	int rcvbuf = 1 << 20;
	int fd;

	sock = g_socket_new(family, G_SOCKET_TYPE_DATAGRAM, G_SOCKET_PROTOCOL_UDP, error);
	if (sock == NULL)
		return NULL;
	fd = g_socket_get_fd(sock);
	if (family == G_SOCKET_FAMILY_IPV6) {
		/* "[::]:69" means IPv6 only, so that "0.0.0.0:69" can sit next to
		 * it (GLib makes IPv6 sockets dual-stack by default). */
		if (!g_socket_set_option(sock, IPPROTO_IPV6, IPV6_V6ONLY, 1, error))
			return NULL;
		setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one));
	} else {
		setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one));
	}
	/* Room for a boot storm's worth of requests (capped by rmem_max). */
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	/* No address reuse: a second server on the same port is an error. */
	if (!g_socket_bind(sock, G_SOCKET_ADDRESS(address), FALSE, &local_error)) {
		g_autofree char *text = pxed_tftp_socket_address_to_text(G_SOCKET_ADDRESS(address));
		g_set_error(error, local_error->domain, local_error->code,
			    "cannot listen on %s: %s", text, local_error->message);
		return NULL;
	}
	bound = g_socket_get_local_address(sock, error);
	if (bound == NULL)
		return NULL;

	listener = g_new0(PxedTftpListener, 1);
	listener->server = server;
	listener->fd = fd;
	listener->watch = (PxedTftpWatch){WATCH_LISTENER, NULL, listener};
	listener->wildcard = g_inet_address_get_is_any(inet);
	listener->text = pxed_tftp_socket_address_to_text(bound);
	listener->socket = g_steal_pointer(&sock);
	{
		struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &listener->watch};
		if (epoll_ctl(server->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
			int saved = errno;
			g_set_error(error, G_IO_ERROR, g_io_error_from_errno(saved),
				    "cannot watch %s: %s", listener->text, g_strerror(saved));
			listener_free(listener);
			return NULL;
		}
	}
	return listener;
}

/* ---- plugin entry points ---- */

static gpointer
tftp_instance_new(PxedInstance *instance, GError **error)
{
	g_autoptr(GPtrArray) listen = pxed_instance_get_listen(instance, "listen");
	PxedTftpServer *self;

	/* What the key table cannot say: no address twice, none multicast. */
	for (guint i = 0; i < listen->len; i++) {
		GInetSocketAddress *a = g_ptr_array_index(listen, i);
		GInetAddress *inet = g_inet_socket_address_get_address(a);
		g_autofree char *text = pxed_tftp_socket_address_to_text(G_SOCKET_ADDRESS(a));

		if (g_inet_address_get_is_multicast(inet)) {
			g_set_error(error, PXED_ERROR, PXED_ERROR_INVALID,
				    "listen: %s is a multicast address", text);
			return NULL;
		}
		for (guint j = 0; j < i; j++) {
			GInetSocketAddress *b = g_ptr_array_index(listen, j);
			if (g_inet_socket_address_get_port(a) ==
				    g_inet_socket_address_get_port(b) &&
			    g_inet_socket_address_get_port(a) != 0 &&
			    g_inet_address_equal(inet, g_inet_socket_address_get_address(b))) {
				g_set_error(error, PXED_ERROR, PXED_ERROR_INVALID,
					    "listen: %s is listed twice", text);
				return NULL;
			}
		}
	}

	self = g_new0(PxedTftpServer, 1);
	self->refcount = 1;
	self->ctx = pxed_instance_get_context(instance);
	self->name = g_strdup(pxed_instance_get_name(instance));
	self->listen = g_steal_pointer(&listen);
	self->max_sessions = (guint)pxed_instance_get_int(instance, "max-sessions");
	self->max_sessions_per_client =
		(guint)pxed_instance_get_int(instance, "max-sessions-per-client");
	self->policy.timeout = (guint)pxed_instance_get_int(instance, "timeout");
	self->policy.max_timeout = (guint)pxed_instance_get_int(instance, "max-timeout");
	self->policy.retries = (guint)pxed_instance_get_int(instance, "retries");
	self->policy.unacked_retries = (guint)pxed_instance_get_int(instance, "unacked-retries");
	self->policy.max_blksize = (guint)pxed_instance_get_int(instance, "max-blksize");
	self->policy.max_windowsize = (guint)pxed_instance_get_int(instance, "max-windowsize");
	self->listeners = g_ptr_array_new();
	self->transfers = g_hash_table_new(pxed_tftp_peer_hash, pxed_tftp_peer_equal);
	self->shares = g_hash_table_new_full(share_hash, share_equal, g_free, NULL);
	self->heap = g_ptr_array_new();
	self->finished = g_ptr_array_new();
	self->epfd = -1;
	self->timerfd = -1;
	return self;
}

static void
tftp_stop(gpointer data)
{
	PxedTftpServer *self = data;

	if (self->listeners->len == 0)
		return;
	for (guint i = 0; i < self->listeners->len; i++)
		listener_free(g_ptr_array_index(self->listeners, i));
	g_ptr_array_set_size(self->listeners, 0);
	pxed_context_event(
		self->ctx, NULL, self->name, "stopped",
		"requests=%" G_GUINT64_FORMAT " completed=%" G_GUINT64_FORMAT
		" failed=%" G_GUINT64_FORMAT " refused=%" G_GUINT64_FORMAT
		" bad-packets=%" G_GUINT64_FORMAT " unknown-tid=%" G_GUINT64_FORMAT
		" refused-per-client=%" G_GUINT64_FORMAT " timeout-declined=%" G_GUINT64_FORMAT
		" unacked=%" G_GUINT64_FORMAT " spun-acks=%" G_GUINT64_FORMAT " in-flight=%u",
		self->requests, self->completed, self->failed, self->refused, self->bad_packets,
		self->unknown_tid, self->refused_per_client, self->timeout_declined, self->unacked,
		self->spun, g_hash_table_size(self->transfers));
}

static void
raise_file_limit(PxedTftpServer *self)
{
	struct rlimit rl;
	/* A transfer holds three descriptors (its two sockets and the file). */
	rlim_t want = (rlim_t)self->max_sessions * 3 + 256;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= want)
		return;
	rl.rlim_cur = rl.rlim_max == RLIM_INFINITY ? want : MIN(want, rl.rlim_max);
	if (setrlimit(RLIMIT_NOFILE, &rl) == 0)
		g_debug("%s: open file limit raised to %lu", self->name,
			(unsigned long)rl.rlim_cur);
	if (rl.rlim_cur < want)
		g_warning("%s: max-sessions=%u needs %lu open files, the limit is %lu", self->name,
			  self->max_sessions, (unsigned long)want, (unsigned long)rl.rlim_cur);
}

static gboolean
tftp_start(gpointer data, GError **error)
{
	PxedTftpServer *self = data;

	if (self->listeners->len > 0)
		return TRUE;
	if (self->main_context == NULL)
		self->main_context = g_main_context_ref(pxed_context_get_main_context(self->ctx));
	if (self->scratch == NULL) {
		self->scratch = g_malloc(SCRATCH_SIZE);
		self->rxbuf = g_malloc(RX_SIZE);
		self->rxsmall = g_malloc(RX_SMALL_SIZE);
	}
	if (!engine_start(self, error))
		return FALSE;
	raise_file_limit(self);
	for (guint i = 0; i < self->listen->len; i++) {
		PxedTftpListener *listener =
			listener_new(self, g_ptr_array_index(self->listen, i), error);
		if (listener == NULL) {
			for (guint j = 0; j < self->listeners->len; j++)
				listener_free(g_ptr_array_index(self->listeners, j));
			g_ptr_array_set_size(self->listeners, 0);
			return FALSE;
		}
		g_ptr_array_add(self->listeners, listener);
	}
	for (guint i = 0; i < self->listeners->len; i++) {
		PxedTftpListener *listener = g_ptr_array_index(self->listeners, i);
		/* The address is the message's last token: tests read the port
		 * that port 0 turned into from it. */
		pxed_context_event(self->ctx, NULL, self->name, "listening", "%s", listener->text);
	}
	return TRUE;
}

static void
tftp_instance_free(gpointer data)
{
	PxedTftpServer *self = data;

	if (self == NULL)
		return;
	tftp_stop(self);
	/* Transfers in flight hold a reference and run to their end (a reload
	 * must not cut a machine's boot short); the last one frees the rest. */
	server_unref(self);
}

static const PxedKey tftp_keys[] = {
	{.name = "listen",
	 .type = PXED_KEY_LISTEN,
	 .default_value = "0.0.0.0:69",
	 .description = "addresses to listen on: ADDRESS:PORT;[IPV6]:PORT"},
	{.name = "max-sessions",
	 .type = PXED_KEY_INT,
	 .default_value = "1024",
	 .min = 1,
	 .max = 65536,
	 .description = "transfers at once; more requests get an error until one ends"},
	{.name = "max-sessions-per-client",
	 .type = PXED_KEY_INT,
	 .default_value = "8",
	 .min = 1,
	 .max = 65536,
	 .description = "transfers at once from one client address; more requests from it get "
			"an error until one ends, so one host cannot take every session"},
	{.name = "timeout",
	 .type = PXED_KEY_INT,
	 .default_value = "1",
	 .min = 1,
	 .max = 255,
	 .description = "seconds, the longest wait before a retransmission (the adaptive "
			"timer is shorter on a fast network); a client's timeout option up to "
			"max-timeout wins"},
	{.name = "max-timeout",
	 .type = PXED_KEY_INT,
	 .default_value = "5",
	 .min = 1,
	 .max = 255,
	 .description = "seconds, the largest timeout option (RFC 2349) accepted; a larger one "
			"is left out of the OACK and the server's timeout is used"},
	{.name = "retries",
	 .type = PXED_KEY_INT,
	 .default_value = "5",
	 .min = 1,
	 .max = 100,
	 .description = "retransmissions at the full timeout without progress before a "
			"transfer is abandoned"},
	{.name = "unacked-retries",
	 .type = PXED_KEY_INT,
	 .default_value = "1",
	 .min = 0,
	 .max = 100,
	 .description = "retransmissions of the first packet (OACK or DATA 1) to a client that "
			"has acknowledged nothing yet, before the transfer is given up; bounds "
			"what a request with a forged source address makes the server send"},
	{.name = "max-blksize",
	 .type = PXED_KEY_INT,
	 .default_value = "65464",
	 .min = PXED_TFTP_MIN_BLKSIZE,
	 .max = PXED_TFTP_MAX_BLKSIZE,
	 .description = "largest block size granted to a client's blksize option (RFC 2348)"},
	{.name = "max-windowsize",
	 .type = PXED_KEY_INT,
	 .default_value = "64",
	 .min = 1,
	 .max = PXED_TFTP_MAX_WINDOWSIZE,
	 .description = "largest window granted to a client's windowsize option (RFC 7440)"},
	{.name = NULL},
};

PXED_PLUGIN_DEFINE(.kind = PXED_PLUGIN_KIND_PROTOCOL, .name = "tftp",
		   .description = "TFTP server (RFC 1350, options 2347-2349, windowsize 7440)",
		   .version = PXED_VERSION, .license = "LGPL-2.1-or-later", .keys = tftp_keys,
		   .instance_new = tftp_instance_new, .instance_free = tftp_instance_free,
		   .start = tftp_start, .stop = tftp_stop);
