/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The http plugin's connections: each is counted, per client address, from
 * its accept to its close; one over max-connections is answered 503, one over
 * max-connections-per-client closed at once; and every request head has a
 * deadline (header-timeout), past which its connection is closed.
 */
#include "http-conn.h"
#include "http-private.h"
#include "http-response.h"
#include "http-soup-workarounds.h"

/* The peer's address as text (no port): the key of the per-client limit. */
static char *
peer_text(GSocketAddress *remote)
{
	GInetAddress *addr = pxed_http_peer_address(remote);

	return addr != NULL ? g_inet_address_to_string(addr) : g_strdup("-");
}

/* ---- request heads: one deadline for the whole head ----
 *
 * GSocket's timeout (idle-timeout) bounds each wait on the peer, not the head
 * as a whole: a client sending a header line every few seconds (slowloris)
 * would keep its connection for ever, and a thousand such clients every
 * connection the server allows. So each head has a deadline, header-timeout
 * after it began: for a new connection, its accept (a TLS handshake
 * included); for a later request of a kept-alive connection, its first byte
 * (libsoup reports the request started then). A connection handed back to
 * libsoup after a response is reported as started at once, before the client
 * has sent anything: its deadline is idle-timeout (for the next request to
 * begin) plus header-timeout. Past its deadline the connection is closed.
 *
 * All deadlines share one timer source, set to the earliest: a request costs
 * a hash table insertion and removal, not a source of its own. */

static void
head_watch(PxedHttp *self, PxedHttpRequest *req, gint64 deadline)
{
	req->head_deadline = deadline;
	g_hash_table_add(self->heads, req);
	if (self->head_timer_due < 0 || deadline < self->head_timer_due) {
		self->head_timer_due = deadline;
		g_source_set_ready_time(self->head_timer, deadline);
	}
}

/* The head is in, or the request gone. The timer stays as it is: when it
 * fires, the sweep finds nothing due and sets it for the next deadline. */
void
pxed_http_head_unwatch(PxedHttpRequest *req)
{
	if (req->head_deadline == 0)
		return;
	req->head_deadline = 0;
	g_hash_table_remove(req->self->heads, req);
}

/* A head past its deadline, or a connection refused at accept: closed. */
static void
head_expire(PxedHttp *self, SoupServerMessage *msg, PxedHttpRequest *req)
{
	GSocket *socket = soup_server_message_get_socket(msg);
	g_autoptr(GIOStream) stolen = NULL;
	guint64 held_back = 0;

	if (!req->refused) {
		self->n_head_timeouts++;
		if (pxed_http_rate_limit_pass(&self->head_timeout_log, g_get_monotonic_time(),
					      PXED_HTTP_LIMIT_LOG_INTERVAL, &held_back)) {
			g_autofree char *peer =
				peer_text(soup_server_message_get_remote_address(msg));
			g_warning("%s: closed a connection from %s: no complete request head "
				  "within header-timeout=%us (%" G_GUINT64_FORMAT
				  " more since the last such line)",
				  self->name, peer, self->header_timeout, held_back);
		}
	}
	pxed_http_soup_idle_forget(self, socket);
	if (req->handshaking) {
		/* libsoup has no stream to give up during a TLS handshake:
		 * ended under it, the handshake fails and libsoup closes the
		 * connection itself. */
		if (socket != NULL)
			g_socket_shutdown(socket, TRUE, TRUE, NULL);
		return;
	}
	/* Not shutdown(): libsoup would take the end of the stream for the
	 * end of the head and answer a request the client never finished. */
	stolen = soup_server_message_steal_connection(msg);
	if (stolen != NULL)
		g_io_stream_close(stolen, NULL, NULL);
}

static gboolean
head_sweep(gpointer data)
{
	PxedHttp *self = data;
	gint64 now = g_get_monotonic_time();
	gint64 next = -1;
	g_autoptr(GPtrArray) due = g_ptr_array_new_with_free_func(g_object_unref);
	GHashTableIter iter;
	gpointer key;

	g_hash_table_iter_init(&iter, self->heads);
	while (g_hash_table_iter_next(&iter, &key, NULL)) {
		PxedHttpRequest *req = key;

		if (req->head_deadline <= now) {
			req->head_deadline = 0;
			g_ptr_array_add(due, g_object_ref(req->msg));
			g_hash_table_iter_remove(&iter);
		} else if (next < 0 || req->head_deadline < next) {
			next = req->head_deadline;
		}
	}
	self->head_timer_due = next;
	g_source_set_ready_time(self->head_timer, next);
	/* closed only now: closing one emits signals that may touch @heads */
	for (guint i = 0; i < due->len; i++) {
		SoupServerMessage *msg = g_ptr_array_index(due, i);
		PxedHttpRequest *req = pxed_http_request_get(msg);

		if (req != NULL)
			head_expire(self, msg, req);
	}
	return G_SOURCE_CONTINUE;
}

static gboolean
head_timer_dispatch(GSource *source, GSourceFunc callback, gpointer user_data)
{
	return callback(user_data);
}

/* A source that fires at its ready time only (g_source_set_ready_time()). */
static const GSourceFuncs head_timer_funcs = {.dispatch = head_timer_dispatch};

/* SoupServerMessage::disconnected: the head will not come. */
static void
on_disconnected_unwatch(SoupServerMessage *msg, PxedHttp *self)
{
	PxedHttpRequest *req = pxed_http_request_get(msg);

	if (req != NULL)
		pxed_http_head_unwatch(req);
}

/* SoupServerMessage::connected, new TLS connections only: the handshake is
 * done, libsoup has a stream to give up. */
static void
on_connected_tls(SoupServerMessage *msg, PxedHttp *self)
{
	PxedHttpRequest *req = pxed_http_request_get(msg);

	if (req != NULL)
		req->handshaking = FALSE;
}

/* ---- connections ---- */

/* The connections still open. libsoup closes a connection's socket when it is
 * done with it, but may keep the GSocket object itself a while longer, so the
 * set holds references and is pruned by state, not by finalization; the
 * per-address counts go down as it is. */
static guint
count_connections(PxedHttp *self)
{
	GHashTableIter iter;
	gpointer socket, peer;

	g_hash_table_iter_init(&iter, self->sockets);
	while (g_hash_table_iter_next(&iter, &socket, &peer)) {
		guint n;

		if (!g_socket_is_closed(socket))
			continue;
		n = GPOINTER_TO_UINT(g_hash_table_lookup(self->per_client, peer));
		if (n > 1)
			g_hash_table_insert(self->per_client, g_strdup(peer),
					    GUINT_TO_POINTER(n - 1));
		else
			g_hash_table_remove(self->per_client, peer);
		g_hash_table_iter_remove(&iter);
	}
	return g_hash_table_size(self->sockets);
}

/* Over max-connections-per-client: the connection goes at the next turn of
 * the main loop (it is not libsoup's to close before then), and in case its
 * head is already in, libsoup answers it 503 (RFC 9110 §15.6.4) and closes. It
 * does not count against max-connections: one address's flood leaves the
 * other clients their connections. */
static void
refuse_per_client(PxedHttp *self, SoupServerMessage *msg, PxedHttpRequest *req, const char *peer)
{
	SoupMessageHeaders *headers = soup_server_message_get_response_headers(msg);
	guint64 held_back = 0;

	self->n_refused_per_client++;
	req->refused = TRUE;
	pxed_http_respond_status(msg, SOUP_STATUS_SERVICE_UNAVAILABLE);
	soup_message_headers_replace(headers, "Retry-After", "1");
	soup_message_headers_replace(headers, "Connection", "close");
	head_watch(self, req, req->started);
	if (pxed_http_rate_limit_pass(&self->per_client_log, req->started,
				      PXED_HTTP_LIMIT_LOG_INTERVAL, &held_back))
		g_warning("%s: refused a connection from %s: max-connections-per-client=%u "
			  "reached (%" G_GUINT64_FORMAT " more since the last such line)",
			  self->name, peer, self->max_per_client, held_back);
}

/* SoupServer::request-started: every request, including the first one of a
 * connection, which is where connections are counted and limited. libsoup
 * reports the first one when it accepts the connection, later ones when their
 * first byte arrives. */
void
pxed_http_conn_admit(PxedHttp *self, SoupServerMessage *msg, PxedHttpRequest *req)
{
	gint64 header_us = (gint64)self->header_timeout * G_USEC_PER_SEC;
	GSocket *socket;
	g_autofree char *peer = NULL;
	guint n_open, n_peer;

	g_signal_connect(msg, "disconnected", G_CALLBACK(on_disconnected_unwatch), self);

	/* Connections handed back after a response have no GSocket here; they
	 * were counted when first accepted, and their next request is yet to
	 * begin. */
	socket = soup_server_message_get_socket(msg);
	if (socket == NULL) {
		head_watch(self, req,
			   req->started + (gint64)self->idle_timeout * G_USEC_PER_SEC + header_us);
		return;
	}
	if (g_hash_table_contains(self->sockets, socket)) {
		head_watch(self, req, req->started + header_us);
		return;
	}
	/* a new connection */
	peer = peer_text(soup_server_message_get_remote_address(msg));
	n_open = count_connections(self);
	n_peer = GPOINTER_TO_UINT(g_hash_table_lookup(self->per_client, peer));
	if (n_peer >= self->max_per_client) {
		refuse_per_client(self, msg, req, peer);
		return;
	}
	g_hash_table_insert(self->per_client, g_strdup(peer), GUINT_TO_POINTER(n_peer + 1));
	g_hash_table_insert(self->sockets, g_object_ref(socket), g_steal_pointer(&peer));
	/* A peer that neither sends nor reads for idle-timeout seconds loses
	 * its connection: GSocket fails any wait that long with TIMED_OUT. */
	g_socket_set_timeout(socket, self->idle_timeout);
	if (self->tls_certificate != NULL) {
		req->handshaking = TRUE;
		g_signal_connect(msg, "connected", G_CALLBACK(on_connected_tls), self);
	}
	head_watch(self, req, req->started + header_us);
	if (n_open + 1 > self->max_connections) {
		/* libsoup 3.2 has accepted already; RFC 9110 §15.6.4: 503, and
		 * the connection closes once it is sent. */
		SoupMessageHeaders *headers = soup_server_message_get_response_headers(msg);
		self->n_refused++;
		pxed_http_respond_status(msg, SOUP_STATUS_SERVICE_UNAVAILABLE);
		soup_message_headers_replace(headers, "Retry-After", "1");
		soup_message_headers_replace(headers, "Connection", "close");
		g_debug("connection refused: %u open, max-connections=%u",
			g_hash_table_size(self->sockets), self->max_connections);
	}
}

void
pxed_http_conn_start(PxedHttp *self)
{
	/* Above libsoup's priority: a head past its deadline goes before
	 * libsoup reads more of it. */
	self->head_timer = g_source_new((GSourceFuncs *)&head_timer_funcs, sizeof(GSource));
	g_source_set_priority(self->head_timer, G_PRIORITY_HIGH);
	g_source_set_callback(self->head_timer, head_sweep, self, NULL);
	g_source_attach(self->head_timer, pxed_instance_get_main_context(self->instance));
}
