/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Work-arounds for a libsoup 3.2 server bug; unnecessary with libsoup 3.3.0
 * and later.
 *
 * libsoup 3.2 never notices when a client closes (or times out) a connection
 * that is idle between two requests, and leaks it, descriptor and all: when
 * the end of the stream arrives, it frees its reader but keeps the
 * connection. Fixed upstream by libsoup commit d20c6601 ("server: do not leak
 * idle connections closed by the client"), first released in libsoup 3.3.0
 * (NEWS: "Fix various connection leaks"; 3.4.0 is the first stable series
 * with it, no 3.2.x release has it). Run-time detection
 * (pxed_http_soup_leaks_idle()) turns everything here off with libsoup >= 3.3;
 * once pxed requires libsoup >= 3.3 this file goes, with the `hand_back_idle`
 * and `idle` fields of PxedHttp and the calls into it.
 *
 * pxed watches each kept-alive plain-HTTP connection itself until the next
 * request starts to arrive, with a source of higher priority than libsoup's,
 * so that it sees the peer's end (or the idle timeout) first, while libsoup's
 * side is still whole, and then takes the connection from libsoup —
 * soup_server_message_steal_connection() on the connection's last message
 * frees libsoup's side — and closes it. Connections it cannot watch that way
 * (TLS; those handed back after a sendfile body) are taken after each
 * response and handed back in (pxed_http_connection_hand_back(), with
 * pipelined requests replayed by pxed-http-replay.c): libsoup 3.2 closes a
 * connection it has just accepted right.
 */
#include <errno.h>
#include <sys/socket.h>

#include <glib-unix.h>

#include "http-private.h"
#include "http-response.h"
#include "http-sendfile.h"
#include "http-soup-workarounds.h"
#include "pxed-http-replay.h"

gboolean
pxed_http_soup_leaks_idle(void)
{
	return soup_get_major_version() == 3 && soup_get_minor_version() < 3;
}

struct _PxedHttpIdleWatch {
	PxedHttp *self;
	SoupServerMessage *last; /* (ref) the connection's last message: our handle on it */
	GSocket *socket;	 /* (ref) */
	GSource *source;	 /* (ref) */
};

void
pxed_http_soup_idle_watch_free(PxedHttpIdleWatch *w)
{
	g_source_destroy(w->source);
	g_source_unref(w->source);
	g_object_unref(w->last);
	g_object_unref(w->socket);
	g_free(w);
}

static gboolean
idle_watch_ready(gint fd, GIOCondition condition, gpointer data)
{
	PxedHttpIdleWatch *w = data;
	PxedHttp *self = w->self;
	char byte;
	ssize_t n = 0;

	if ((condition & G_IO_NVAL) || g_socket_is_closed(w->socket)) {
		/* closed under us (the descriptor may be another's by now):
		 * nothing of libsoup's to free here */
		g_hash_table_remove(self->idle, w->socket);
		return G_SOURCE_REMOVE;
	}
	/* no condition: the ready time, which is the idle timeout */
	if (condition != 0) {
		n = recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
			return G_SOURCE_CONTINUE;
	}
	if (n <= 0) {
		/* gone, failed or silent too long */
		g_autoptr(SoupServerMessage) last = g_object_ref(w->last);
		g_autoptr(GIOStream) stolen = NULL;

		g_hash_table_remove(self->idle, w->socket);
		stolen = soup_server_message_steal_connection(last);
		if (stolen != NULL)
			g_io_stream_close(stolen, NULL, NULL);
		return G_SOURCE_REMOVE;
	}
	/* the next request: libsoup reads it on the next loop turn */
	g_hash_table_remove(self->idle, w->socket);
	return G_SOURCE_REMOVE;
}

static void
idle_watch(PxedHttp *self, SoupServerMessage *msg, GSocket *socket)
{
	PxedHttpIdleWatch *w = g_new0(PxedHttpIdleWatch, 1);

	w->self = self;
	w->last = g_object_ref(msg);
	w->socket = g_object_ref(socket);
	w->source = g_unix_fd_source_new(g_socket_get_fd(socket),
					 G_IO_IN | G_IO_HUP | G_IO_ERR | G_IO_NVAL);
	g_source_set_priority(w->source, G_PRIORITY_HIGH);
	g_source_set_ready_time(w->source, g_get_monotonic_time() +
						   (gint64)self->idle_timeout * G_USEC_PER_SEC);
	g_source_set_callback(w->source, G_SOURCE_FUNC(idle_watch_ready), w, NULL);
	g_hash_table_replace(self->idle, w->socket, w);
	g_source_attach(w->source, pxed_instance_get_main_context(self->instance));
}

/* A request of @msg's connection has begun or ended: a watch set after an
 * earlier response is stale. Pipelined requests arrive with the one before
 * them, already read by libsoup, so the watch never sees them come; left in
 * place it would take the connection from under the later response. */
void
pxed_http_soup_idle_unwatch_stale(PxedHttp *self, SoupServerMessage *msg)
{
	GSocket *socket = soup_server_message_get_socket(msg);
	PxedHttpIdleWatch *w;

	if (!self->hand_back_idle || socket == NULL)
		return;
	w = g_hash_table_lookup(self->idle, socket);
	if (w != NULL && w->last != msg)
		g_hash_table_remove(self->idle, socket);
}

/* ::wrote-body, libsoup < 3.3 only: the response is out and the connection
 * stays open. A plain connection is watched while idle (above). The others —
 * TLS, and connections handed back after a sendfile body, for which libsoup
 * gives no GSocket — are taken back and handed in again as new ones: a
 * connection libsoup has just accepted it closes right (costlier: a new
 * SoupServerConnection per response). */
static void
on_wrote_body_hand_back(SoupServerMessage *msg, PxedHttpRequest *req)
{
	PxedHttp *self = req->self;
	g_autoptr(GSocketAddress) local = NULL;
	g_autoptr(GSocketAddress) remote = NULL;
	g_autoptr(GIOStream) stolen = NULL;
	g_autoptr(GIOStream) base = NULL;
	g_autoptr(GBytes) read_ahead = NULL;

	pxed_http_uncork(req);
	if (!pxed_http_message_keepalive(self, msg) ||
	    soup_server_message_get_local_address(msg) == NULL ||
	    soup_server_message_get_remote_address(msg) == NULL)
		return; /* libsoup closes it */
	/* Plain HTTP with a socket at hand: watched while idle (above). TLS
	 * (its close_notify comes before the end of the stream) and
	 * connections handed back after a sendfile body: handed back. */
	if (self->tls_certificate == NULL && soup_server_message_get_socket(msg) != NULL) {
		idle_watch(self, msg, soup_server_message_get_socket(msg));
		return;
	}
	local = g_object_ref(soup_server_message_get_local_address(msg));
	remote = g_object_ref(soup_server_message_get_remote_address(msg));
	req->status = soup_server_message_get_status(msg);
	pxed_http_request_log(req, TRUE); /* no request-finished for a stolen message */

	g_object_ref(msg);
	stolen = soup_server_message_steal_connection(msg);
	g_object_unref(msg);
	if (stolen == NULL)
		return;
	read_ahead = pxed_http_take_read_ahead(stolen);
	base = pxed_http_stream_unwrap(stolen);
	if (base == NULL) {
		g_io_stream_close(stolen, NULL, NULL);
		return;
	}
	pxed_http_connection_hand_back(self, base, read_ahead, local, remote);
}

void
pxed_http_soup_idle_forget(PxedHttp *self, GSocket *socket)
{
	if (socket != NULL)
		g_hash_table_remove(self->idle, socket);
}

void
pxed_http_soup_watch_response(PxedHttp *self, SoupServerMessage *msg, PxedHttpRequest *req)
{
	if (self->hand_back_idle)
		g_signal_connect(msg, "wrote-body", G_CALLBACK(on_wrote_body_hand_back), req);
}
