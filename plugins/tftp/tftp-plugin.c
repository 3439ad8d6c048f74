/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * The tftp protocol plugin: its descriptor and key table, the instance
 * (PxedTftpServer), the listening sockets and the admission of requests —
 * limits, per-client shares, the file from the core's `tftp` pipeline.
 * Where the rest lives: tftp-packet.c (wire format), tftp-negotiate.c (what
 * options are granted), tftp-session.c (the transfer state machine),
 * tftp-transfer.c (a transfer's sockets and sends), tftp-engine.c (the
 * event loop and its timers), tftp-peer.c (addresses).
 */

#include <pxed/pxed.h>

#include "tftp-plugin.h"

#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tftp-packet.h"
#include "tftp-transfer.h"

/* Datagrams read from one socket per main loop turn, so that a flood on one
 * socket cannot starve the others. */
#define RX_BUDGET 64
/* Large enough for any UDP datagram: nothing a listener gets is truncated. */
#define RX_SIZE 65536
/* A client's address without the port: the key of its share of the
 * sessions (one machine may use many ports, never many addresses on a LAN
 * where it has one lease). Also the value: it counts the sessions held. */
struct _PxedTftpShare {
	int family;
	guint32 scope_id;
	guint8 addr[16]; /* IPv4: the first 4 bytes */
	guint sessions;
};

#define LIMIT_LOG_INTERVAL_US (10 * G_USEC_PER_SEC)

struct _PxedTftpListener {
	PxedTftpServer *server;
	GSocket *socket;
	PxedTftpWatch watch;
	int fd;
	gboolean wildcard;
	char *text;
};

PxedTftpServer *
pxed_tftp_server_ref(PxedTftpServer *self)
{
	self->refcount++;
	return self;
}

void
pxed_tftp_server_unref(PxedTftpServer *self)
{
	if (--self->refcount > 0)
		return;
	g_assert(self->listeners->len == 0);
	g_assert(g_hash_table_size(self->transfers) == 0);
	if (self->engine != NULL)
		pxed_tftp_engine_free(self->engine);
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
	pxed_instance_unref(self->instance);
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

void
pxed_tftp_share_release(PxedTftpServer *server, PxedTftpShare *share)
{
	g_assert(share->sessions > 0);
	if (--share->sessions == 0)
		g_hash_table_remove(server->shares, share); /* frees it */
}

gboolean
pxed_tftp_limit_log_due(PxedTftpLimitLog *log, guint64 *unlogged)
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

/* ---- admission of requests ---- */

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
	pxed_instance_event(server->instance, client, "transfer-failed",
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
		PxedTftpSessionState state =
			pxed_tftp_transfer_poll(existing, g_get_monotonic_time());
		if (state != PXED_TFTP_SESSION_RUNNING) {
			pxed_tftp_transfer_end(existing, state);
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
			pxed_tftp_transfer_end(existing, PXED_TFTP_SESSION_FAILED);
		}
	}

	client = pxed_client_new();
	address = pxed_tftp_peer_inet_address(peer);
	pxed_client_set_address(client, address);
	pxed_client_set_via(client, PXED_VIA_TFTP);
	/* TFTP names no machine: DHCP told who is at this address */
	pxed_instance_identify_client(server->instance, client);

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
		if (pxed_tftp_limit_log_due(&server->per_client_log, &unlogged)) {
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

	file = pxed_instance_open_file(server->instance, PXED_VIA_TFTP, client, request->filename,
				       NULL, &error);
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
		if (pxed_tftp_limit_log_due(&server->timeout_log, &unlogged)) {
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
	t = pxed_tftp_transfer_new(server, peer, local, &params, file, &error);
	if (t == NULL) {
		g_warning("%s: cannot open a transfer socket: %s", server->name, error->message);
		request_refused(listener, peer, local, client, path, PXED_TFTP_ERR_UNDEFINED,
				error_text_for(PXED_TFTP_ERR_UNDEFINED), error->message);
		return;
	}
	t->request_hash = request_hash;
	t->client = g_steal_pointer(&client);
	t->path = g_steal_pointer(&path);
	g_hash_table_insert(server->transfers, &t->peer, t);
	t->share = share_take(server, peer);

	if (params.mode == PXED_TFTP_MODE_OCTET)
		pxed_instance_event(server->instance, t->client, "transfer-start",
				    "file=%s size=%" G_GUINT64_FORMAT
				    " mode=octet blksize=%u windowsize=%u origin=%s peer=%s",
				    t->path, t->size, t->blksize, t->windowsize,
				    pxed_file_get_origin(file) != NULL ? pxed_file_get_origin(file)
								       : "-",
				    t->peer_text);
	else
		pxed_instance_event(server->instance, t->client, "transfer-start",
				    "file=%s mode=netascii blksize=%u windowsize=%u origin=%s "
				    "peer=%s",
				    t->path, t->blksize, t->windowsize,
				    pxed_file_get_origin(file) != NULL ? pxed_file_get_origin(file)
								       : "-",
				    t->peer_text);

	pxed_tftp_transfer_begin(t);
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

void
pxed_tftp_listener_ready(PxedTftpListener *listener)
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
	listener->watch = (PxedTftpWatch){
		.fd = fd, .events = EPOLLIN, .kind = PXED_TFTP_WATCH_LISTENER, .owner = listener};
	listener->wildcard = g_inet_address_get_is_any(inet);
	listener->text = pxed_tftp_socket_address_to_text(bound);
	listener->socket = g_steal_pointer(&sock);
	if (!pxed_tftp_engine_watch(server->engine, &listener->watch, FALSE, &local_error)) {
		g_set_error(error, local_error->domain, local_error->code, "cannot watch %s: %s",
			    listener->text, local_error->message);
		listener_free(listener);
		return NULL;
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
	self->instance = pxed_instance_ref(instance);
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
	self->finished = g_ptr_array_new();
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
	pxed_instance_event(
		self->instance, NULL, "stopped",
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
		self->main_context =
			g_main_context_ref(pxed_instance_get_main_context(self->instance));
	if (self->scratch == NULL) {
		self->scratch = g_malloc(PXED_TFTP_SCRATCH_SIZE);
		self->rxbuf = g_malloc(RX_SIZE);
		self->rxsmall = g_malloc(PXED_TFTP_RX_SMALL_SIZE);
	}
	if (self->engine == NULL) {
		self->engine = pxed_tftp_engine_new(self->main_context, self->name, self, error);
		if (self->engine == NULL)
			return FALSE;
	}
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
		pxed_instance_event(self->instance, NULL, "listening", "%s", listener->text);
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
	pxed_tftp_server_unref(self);
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
