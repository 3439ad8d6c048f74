/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The sendfile(2) body path of the http plugin: for a descriptor-backed file
 * over plain HTTP, libsoup writes the response head; in
 * SoupServerMessage::wrote-headers the plugin takes the connection from
 * libsoup, sends the body with sendfile(2) from the core's main loop (at most
 * SENDFILE_SLICE per dispatch), and hands the connection back to the
 * SoupServer for the next request (keep-alive), with what libsoup had read
 * ahead replayed first (pxed-http-replay.c).
 */
#include <errno.h>
#include <sys/sendfile.h>

#include "http-private.h"
#include "http-response.h"
#include "http-sendfile.h"
#include "pxed-http-replay.h"

/* At most this much per main-loop dispatch, so that one fast reader cannot
 * keep the loop from the other connections. */
#define SENDFILE_SLICE (4 * 1024 * 1024)

struct _PxedHttpTransfer {
	PxedHttp *self;
	PxedHttpRequest *req; /* owned */
	GSocketConnection *conn;
	GSocket *socket;
	GSocketAddress *local;
	GSocketAddress *remote;
	GSource *source;
	gint64 last_progress; /* monotonic µs */
	GBytes *read_ahead;   /* pipelined requests libsoup had read, or %NULL */
};

/* Gives a connection whose response is complete back to the SoupServer, which
 * treats it as newly accepted: it reads the next request (keep-alive), first
 * from @read_ahead (pipelined requests libsoup had read before the connection
 * was taken), if any. */
void
pxed_http_connection_hand_back(PxedHttp *self, GIOStream *base, GBytes *read_ahead,
			       GSocketAddress *local, GSocketAddress *remote)
{
	g_autoptr(GError) error = NULL;
	GMainContext *context = pxed_instance_get_main_context(self->instance);
	g_autoptr(GIOStream) stream = read_ahead != NULL
					      ? pxed_http_replay_stream_new(base, read_ahead)
					      : g_object_ref(base);

	/* libsoup attaches the connection's sources to the thread-default
	 * context. */
	g_main_context_push_thread_default(context);
	if (!soup_server_accept_iostream(self->server, stream, local, remote, &error)) {
		g_debug("cannot hand the connection back: %s", error->message);
		g_io_stream_close(stream, NULL, NULL);
	}
	g_main_context_pop_thread_default(context);
}

void
pxed_http_transfer_free(PxedHttpTransfer *t)
{
	if (t->source != NULL) {
		g_source_destroy(t->source);
		g_source_unref(t->source);
	}
	if (t->conn != NULL)
		g_io_stream_close(G_IO_STREAM(t->conn), NULL, NULL);
	g_clear_object(&t->conn);
	g_clear_object(&t->local);
	g_clear_object(&t->remote);
	g_clear_pointer(&t->req, pxed_http_request_free);
	g_clear_pointer(&t->read_ahead, g_bytes_unref);
	g_free(t);
}

/* The body is out: the connection goes back to libsoup for the next request,
 * or is closed. */
static void
transfer_finish(PxedHttpTransfer *t, gboolean complete)
{
	PxedHttp *self = t->self;

	pxed_http_request_log(t->req, complete);
	if (complete && t->req->keepalive) {
		GIOStream *stream = G_IO_STREAM(g_steal_pointer(&t->conn));
		pxed_http_connection_hand_back(self, stream, t->read_ahead, t->local, t->remote);
		g_object_unref(stream);
	}
	g_hash_table_remove(self->transfers, t); /* frees: closes what is still ours */
}

static gboolean
transfer_pump(GSocket *socket, GIOCondition condition, gpointer user_data)
{
	PxedHttpTransfer *t = user_data;
	PxedHttpRequest *req = t->req;
	int out_fd = g_socket_get_fd(t->socket);
	int in_fd = pxed_file_get_fd(req->file);
	guint64 budget = SENDFILE_SLICE;

	while (req->remaining > 0 && budget > 0) {
		off_t offset = (off_t)req->offset;
		gsize count = (gsize)MIN(req->remaining, budget);
		ssize_t n = sendfile(out_fd, in_fd, &offset, count);

		if (n > 0) {
			req->offset += (guint64)n;
			req->remaining -= (guint64)n;
			req->sent += (guint64)n;
			budget -= (guint64)n;
			t->last_progress = g_get_monotonic_time();
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			/* The socket source wakes us when writable, or after the
			 * socket's timeout (idle-timeout) without progress. */
			gint64 idle = g_get_monotonic_time() - t->last_progress;
			if (idle >= (gint64)t->self->idle_timeout * G_USEC_PER_SEC - 100000) {
				g_debug("%s: client stopped reading for %us, closing", req->path,
					t->self->idle_timeout);
				g_clear_pointer(&t->source, g_source_unref);
				transfer_finish(t, FALSE);
				return G_SOURCE_REMOVE;
			}
			return G_SOURCE_CONTINUE;
		}
		if (n < 0 && errno != EPIPE && errno != ECONNRESET)
			g_warning("%s: sendfile: %s", req->path, g_strerror(errno));
		else if (n == 0)
			g_warning("%s: the file shrank while being sent", req->path);
		g_clear_pointer(&t->source, g_source_unref);
		transfer_finish(t, FALSE);
		return G_SOURCE_REMOVE;
	}
	if (req->remaining > 0)
		return G_SOURCE_CONTINUE; /* budget spent: let the others run */
	g_clear_pointer(&t->source, g_source_unref);
	transfer_finish(t, TRUE);
	return G_SOURCE_REMOVE;
}

/* ::wrote-headers: the response head is on the wire; the body is ours. */
static void
on_wrote_headers_sendfile(SoupServerMessage *msg, PxedHttpRequest *unused)
{
	PxedHttpRequest *req = g_object_steal_data(G_OBJECT(msg), PXED_HTTP_REQUEST_KEY);
	PxedHttp *self = req->self;
	g_autoptr(GIOStream) stream = NULL;
	PxedHttpTransfer *t = g_new0(PxedHttpTransfer, 1);
	GSocketAddress *local = soup_server_message_get_local_address(msg);
	GSocketAddress *remote = soup_server_message_get_remote_address(msg);

	t->self = self;
	t->req = req;
	t->local = local != NULL ? g_object_ref(local) : NULL;
	t->remote = remote != NULL ? g_object_ref(remote) : NULL;
	req->keepalive =
		pxed_http_message_keepalive(self, msg) && t->local != NULL && t->remote != NULL;
	g_hash_table_add(self->transfers, t);

	g_object_ref(msg);
	stream = soup_server_message_steal_connection(msg);
	g_object_unref(msg);
	req->msg = NULL;
	if (stream != NULL) {
		g_autoptr(GIOStream) base = NULL;
		t->read_ahead = pxed_http_take_read_ahead(stream);
		base = pxed_http_stream_unwrap(stream);
		if (base != NULL && G_IS_SOCKET_CONNECTION(base))
			t->conn = G_SOCKET_CONNECTION(g_steal_pointer(&base));
	}
	if (t->conn == NULL) {
		g_warning("%s: cannot take the connection over", req->path);
		if (stream != NULL)
			g_io_stream_close(stream, NULL, NULL);
		transfer_finish(t, FALSE);
		return;
	}
	t->socket = g_socket_connection_get_socket(t->conn);
	t->last_progress = g_get_monotonic_time();
	t->source = g_socket_create_source(t->socket, G_IO_OUT, NULL);
	g_source_set_callback(t->source, G_SOURCE_FUNC(transfer_pump), t, NULL);
	g_source_attach(t->source, pxed_instance_get_main_context(self->instance));
}

void
pxed_http_sendfile_body(SoupServerMessage *msg, PxedHttpRequest *req)
{
	g_signal_connect(msg, "wrote-headers", G_CALLBACK(on_wrote_headers_sendfile), req);
}
