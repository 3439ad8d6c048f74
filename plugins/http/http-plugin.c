/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The http protocol plugin: a libsoup 3 server that maps GET and HEAD onto the
 * core's `http` file pipeline.
 *
 * Bodies of descriptor-backed files are never read whole. Over plain HTTP the
 * plugin lets libsoup write the response head, takes the connection over in
 * SoupServerMessage::wrote-headers, sends the body with sendfile(2) from the
 * core's main loop, and hands the connection back to the SoupServer for the
 * next request (keep-alive). Over TLS, and when `sendfile=false`, the body is
 * fed to libsoup one CHUNK_SIZE piece at a time from ::wrote-chunk, so at most
 * one chunk per connection is in memory.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/sendfile.h>
#include <sys/socket.h>

#include <glib-unix.h>
#include <libsoup/soup.h>
#include <pxed/pxed.h>

#include "pxed-http-replay.h"
#include "pxed-http-util.h"

#define CHUNK_SIZE (256 * 1024)
/* Bodies smaller than this go through libsoup: taking the connection over
 * costs more than it saves. */
#define SENDFILE_MIN (128 * 1024)
/* At most this much per main-loop dispatch, so that one fast reader cannot
 * keep the loop from the other connections. */
#define SENDFILE_SLICE	  (4 * 1024 * 1024)
#define LISTEN_BACKLOG	  1024
#define REQUEST_KEY	  "pxed-http-request"
#define HTTP_MAX_PATH_LOG 256
/* A limit hit at flood rate is logged once a minute, with how often. */
#define LIMIT_LOG_INTERVAL (60 * G_USEC_PER_SEC)

typedef struct {
	PxedInstance *instance;
	PxedContext *ctx;
	char *name;
	GPtrArray *listen; /* GInetSocketAddress */
	char *base_url;
	guint max_connections;
	guint max_per_client; /* open connections per peer address */
	guint idle_timeout;   /* seconds */
	guint header_timeout; /* seconds for a whole request head */
	gboolean use_sendfile;
	gboolean hand_back_idle; /* work around libsoup < 3.3 leaking idle connections */
	GTlsCertificate *tls_certificate;

	SoupServer *server;
	GPtrArray *listen_sockets; /* GSocket */
	GHashTable *sockets;	   /* GSocket (ref) → peer address (text): connections, maybe
				      closed since */
	GHashTable *per_client;	   /* peer address (text) → its connections in @sockets */
	GHashTable *heads;	   /* PxedHttpRequest → NULL: request heads still arriving */
	GSource *head_timer;	   /* dispatched at the earliest deadline in @heads, or never */
	gint64 head_timer_due;	   /* its ready time; -1: never */
	GHashTable *transfers;	   /* PxedHttpTransfer: bodies in flight via sendfile */
	GHashTable *idle; /* GSocket → IdleWatch: kept-alive connections between requests */
	/* The last Last-Modified formatted: most responses repeat it (the same
	 * file, or rendered files made in the same second). */
	gint64 date_seconds;
	char *date_text;
	gboolean stopping;

	/* Counters, reported when the instance stops. */
	guint64 n_requests;
	guint64 n_status[6]; /* by class: [2] = 2xx … [5] = 5xx */
	guint64 n_refused;   /* over max-connections */
	guint64 n_refused_per_client;
	guint64 n_head_timeouts;
	guint64 n_aborted;
	guint64 bytes_sent;
	PxedHttpRateLimit per_client_log, head_timeout_log;
} PxedHttp;

/* One request, attached to its SoupServerMessage (and moved into a
 * PxedHttpTransfer when the connection is taken over). */
typedef struct {
	PxedHttp *self;
	SoupServerMessage *msg; /* not owned; %NULL once the connection is stolen */
	gint64 started;		/* monotonic µs */
	char *method;
	char *path; /* as sent, percent-encoded, for the log */
	PxedClient *client;
	PxedFile *file;
	guint status;
	guint64 offset;	   /* next body byte of the file */
	guint64 remaining; /* body bytes still to send */
	guint64 sent;	   /* body bytes written */
	gboolean keepalive;
	gboolean logged;
	int corked;	      /* the socket's descriptor while TCP_CORK is on, else -1 */
	guint64 in_memory;    /* length of an in-memory body, counted as sent with ::wrote-body */
	gint64 head_deadline; /* monotonic µs while the head is awaited (in self->heads), else 0 */
	gboolean handshaking; /* a new TLS connection, until its handshake is done */
	gboolean refused;     /* over max-connections-per-client: closed at once */
} PxedHttpRequest;

typedef struct {
	PxedHttp *self;
	PxedHttpRequest *req; /* owned */
	GSocketConnection *conn;
	GSocket *socket;
	GSocketAddress *local;
	GSocketAddress *remote;
	GSource *source;
	gint64 last_progress; /* monotonic µs */
	GBytes *read_ahead;   /* pipelined requests libsoup had read, or %NULL */
} PxedHttpTransfer;

static void head_unwatch(PxedHttpRequest *req);

static void
request_free(PxedHttpRequest *req)
{
	head_unwatch(req);
	g_free(req->method);
	g_free(req->path);
	g_clear_pointer(&req->client, pxed_client_unref);
	g_clear_pointer(&req->file, pxed_file_unref);
	g_free(req);
}

/* Logged and done: the file and the client go now, not when the message does
 * (an idle connection's watch keeps its last message until the next request). */
static void
request_release(PxedHttpRequest *req)
{
	g_clear_pointer(&req->client, pxed_client_unref);
	g_clear_pointer(&req->file, pxed_file_unref);
}

static PxedHttpRequest *
request_get(SoupServerMessage *msg)
{
	return g_object_get_data(G_OBJECT(msg), REQUEST_KEY);
}

static GInetAddress *
peer_address(GSocketAddress *remote)
{
	if (remote == NULL || !G_IS_INET_SOCKET_ADDRESS(remote))
		return NULL;
	return g_inet_socket_address_get_address(G_INET_SOCKET_ADDRESS(remote));
}

/* The peer's address as text (no port): the key of the per-client limit. */
static char *
peer_text(GSocketAddress *remote)
{
	GInetAddress *addr = peer_address(remote);

	return addr != NULL ? g_inet_address_to_string(addr) : g_strdup("-");
}

static char *
format_address(GSocketAddress *address)
{
	GInetSocketAddress *inet = G_INET_SOCKET_ADDRESS(address);
	GInetAddress *addr = g_inet_socket_address_get_address(inet);
	g_autofree char *host = g_inet_address_to_string(addr);
	guint16 port = g_inet_socket_address_get_port(inet);

	if (g_inet_address_get_family(addr) == G_SOCKET_FAMILY_IPV6)
		return g_strdup_printf("[%s]:%u", host, port);
	return g_strdup_printf("%s:%u", host, port);
}

/* Files one line per request in the event log, keyed by the client. */
static void
request_log(PxedHttpRequest *req, gboolean complete)
{
	PxedHttp *self = req->self;
	gint64 ms = (g_get_monotonic_time() - req->started) / 1000;
	g_autofree char *path = NULL;

	if (req->logged)
		return;
	req->logged = TRUE;
	self->n_requests++;
	if (req->status / 100 < G_N_ELEMENTS(self->n_status))
		self->n_status[req->status / 100]++;
	self->bytes_sent += req->sent;
	if (!complete)
		self->n_aborted++;
	/* The path as sent is percent-encoded ASCII; bound it all the same. */
	path = g_utf8_make_valid(req->path != NULL ? req->path : "-", -1);
	if (strlen(path) > HTTP_MAX_PATH_LOG)
		path[HTTP_MAX_PATH_LOG] = '\0';
	pxed_context_event(self->ctx, req->client, self->name, "request",
			   "%s %s %u bytes=%" G_GUINT64_FORMAT " ms=%" G_GINT64_FORMAT "%s",
			   req->method != NULL ? req->method : "-", path, req->status, req->sent,
			   ms, complete ? "" : " aborted");
}

/* ---- responses ---- */

static void
respond_status(SoupServerMessage *msg, guint status)
{
	PxedHttpRequest *req = request_get(msg);
	const char *phrase = soup_status_get_phrase(status);
	g_autofree char *body = g_strdup_printf("%u %s\n", status, phrase);
	gsize len = strlen(body);

	soup_server_message_set_status(msg, status, NULL);
	soup_server_message_set_response(msg, "text/plain; charset=utf-8", SOUP_MEMORY_TAKE,
					 g_steal_pointer(&body), len);
	if (req != NULL)
		req->status = status;
}

/* RFC 9112 §9.3: HTTP/1.1 persists unless either side says "close"; HTTP/1.0
 * only when the client asked for keep-alive, which we then confirm (§C.2.2). */
static gboolean
message_keepalive(PxedHttp *self, SoupServerMessage *msg)
{
	SoupMessageHeaders *request_headers = soup_server_message_get_request_headers(msg);
	SoupMessageHeaders *response_headers = soup_server_message_get_response_headers(msg);

	if (self->stopping ||
	    soup_message_headers_header_contains(request_headers, "Connection", "close") ||
	    soup_message_headers_header_contains(response_headers, "Connection", "close"))
		return FALSE;
	if (soup_server_message_get_http_version(msg) == SOUP_HTTP_1_0)
		return soup_message_headers_header_contains(request_headers, "Connection",
							    "keep-alive");
	return TRUE;
}

/* Ends a body that cannot be finished (the file went away under us): the
 * status line is already out, so the only honest signal left is to close the
 * connection before Content-Length is reached (RFC 9112 §6.3). */
static void
message_abort(SoupServerMessage *msg)
{
	g_autoptr(GIOStream) stream = NULL;

	g_object_ref(msg);
	stream = soup_server_message_steal_connection(msg);
	if (stream != NULL)
		g_io_stream_close(stream, NULL, NULL);
	g_object_unref(msg);
}

/* ::wrote-chunk: feeds libsoup the next piece of the file. */
static gboolean
request_append_chunk(PxedHttpRequest *req)
{
	SoupMessageBody *body = soup_server_message_get_response_body(req->msg);
	gsize want = (gsize)MIN((guint64)CHUNK_SIZE, req->remaining);
	g_autofree guint8 *buf = NULL;
	g_autoptr(GError) error = NULL;
	gssize got;

	if (want == 0) {
		soup_message_body_complete(body);
		return TRUE;
	}
	buf = g_malloc(want);
	got = pxed_file_read_at(req->file, req->offset, buf, want, &error);
	if (got <= 0) {
		g_warning("%s: reading at %" G_GUINT64_FORMAT ": %s", req->path, req->offset,
			  error != NULL ? error->message : "the file shrank");
		return FALSE;
	}
	req->offset += (guint64)got;
	req->remaining -= (guint64)got;
	soup_message_body_append_take(body, g_steal_pointer(&buf), (gsize)got);
	if (req->remaining == 0)
		soup_message_body_complete(body);
	return TRUE;
}

static void
on_wrote_chunk(SoupServerMessage *msg, PxedHttpRequest *req)
{
	if (req->remaining == 0)
		return;
	if (!request_append_chunk(req)) {
		request_log(req, FALSE);
		message_abort(msg);
	}
}

static void
on_wrote_body_data(SoupServerMessage *msg, guint chunk_size, PxedHttpRequest *req)
{
	req->sent += chunk_size;
}

/* libsoup writes the head and a small body with two send()s; corked, they
 * leave as one segment: half the per-response work in both kernels (nginx
 * does the same with writev or TCP_NOPUSH). */
static void
cork(PxedHttpRequest *req, SoupServerMessage *msg)
{
	GSocket *socket = soup_server_message_get_socket(msg);
	int on = 1;

	if (socket == NULL || req->corked >= 0)
		return;
	if (setsockopt(g_socket_get_fd(socket), IPPROTO_TCP, TCP_CORK, &on, sizeof(on)) == 0)
		req->corked = g_socket_get_fd(socket);
}

static void
uncork(PxedHttpRequest *req)
{
	int off = 0;

	req->sent += req->in_memory;
	req->in_memory = 0;
	if (req->corked < 0)
		return;
	(void)setsockopt(req->corked, IPPROTO_TCP, TCP_CORK, &off, sizeof(off));
	req->corked = -1;
}

static void
on_wrote_body_uncork(SoupServerMessage *msg, PxedHttpRequest *req)
{
	uncork(req);
}

/* ---- connections libsoup gave up ---- */

/* Gives a connection whose response is complete back to the SoupServer, which
 * treats it as newly accepted: it reads the next request (keep-alive), first
 * from @read_ahead (pipelined requests libsoup had read before the connection
 * was taken), if any. */
static void
connection_hand_back(PxedHttp *self, GIOStream *base, GBytes *read_ahead, GSocketAddress *local,
		     GSocketAddress *remote)
{
	g_autoptr(GError) error = NULL;
	GMainContext *context = pxed_context_get_main_context(self->ctx);
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

/* ---- idle connections, libsoup < 3.3 ----
 *
 * libsoup 3.2 never notices when a client closes (or times out) a connection
 * that is idle between two requests, and leaks it, descriptor and all (fixed
 * in 3.3 by libsoup commit d20c6601): when the end of the stream arrives, it
 * frees its reader but keeps the connection. pxed watches each kept-alive
 * plain-HTTP connection itself until the next request starts to arrive, with
 * a source of higher priority than libsoup's, so that it sees the peer's end
 * (or the idle timeout) first, while libsoup's side is still whole, and then
 * takes the connection from libsoup — soup_server_message_steal_connection()
 * on the connection's last message frees libsoup's side — and closes it. */

typedef struct {
	PxedHttp *self;
	SoupServerMessage *last; /* (ref) the connection's last message: our handle on it */
	GSocket *socket;	 /* (ref) */
	GSource *source;	 /* (ref) */
} IdleWatch;

static void
idle_watch_free(IdleWatch *w)
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
	IdleWatch *w = data;
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
	IdleWatch *w = g_new0(IdleWatch, 1);

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
	g_source_attach(w->source, pxed_context_get_main_context(self->ctx));
}

/* A request of @msg's connection has begun or ended: a watch set after an
 * earlier response is stale. Pipelined requests arrive with the one before
 * them, already read by libsoup, so the watch never sees them come; left in
 * place it would take the connection from under the later response. */
static void
idle_unwatch_stale(PxedHttp *self, SoupServerMessage *msg)
{
	GSocket *socket = soup_server_message_get_socket(msg);
	IdleWatch *w;

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

	uncork(req);
	if (!message_keepalive(self, msg) || soup_server_message_get_local_address(msg) == NULL ||
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
	request_log(req, TRUE); /* no request-finished for a stolen message */

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
	connection_hand_back(self, base, read_ahead, local, remote);
}

/* ---- the sendfile path ---- */

static void
transfer_free(PxedHttpTransfer *t)
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
	g_clear_pointer(&t->req, request_free);
	g_clear_pointer(&t->read_ahead, g_bytes_unref);
	g_free(t);
}

/* The body is out: the connection goes back to libsoup for the next request,
 * or is closed. */
static void
transfer_finish(PxedHttpTransfer *t, gboolean complete)
{
	PxedHttp *self = t->self;

	request_log(t->req, complete);
	if (complete && t->req->keepalive) {
		GIOStream *stream = G_IO_STREAM(g_steal_pointer(&t->conn));
		connection_hand_back(self, stream, t->read_ahead, t->local, t->remote);
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
	PxedHttpRequest *req = g_object_steal_data(G_OBJECT(msg), REQUEST_KEY);
	PxedHttp *self = req->self;
	g_autoptr(GIOStream) stream = NULL;
	PxedHttpTransfer *t = g_new0(PxedHttpTransfer, 1);
	GSocketAddress *local = soup_server_message_get_local_address(msg);
	GSocketAddress *remote = soup_server_message_get_remote_address(msg);

	t->self = self;
	t->req = req;
	t->local = local != NULL ? g_object_ref(local) : NULL;
	t->remote = remote != NULL ? g_object_ref(remote) : NULL;
	req->keepalive = message_keepalive(self, msg) && t->local != NULL && t->remote != NULL;
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
	g_source_attach(t->source, pxed_context_get_main_context(self->ctx));
}

/* ---- request handling ---- */

static const char *
http_date(PxedHttp *self, gint64 seconds)
{
	if (self->date_text == NULL || self->date_seconds != seconds) {
		g_free(self->date_text);
		self->date_text = pxed_http_format_date(seconds);
		self->date_seconds = seconds;
	}
	return self->date_text;
}

static void
respond_file(PxedHttp *self, SoupServerMessage *msg, PxedHttpRequest *req, PxedFile *file)
{
	SoupMessageHeaders *request_headers = soup_server_message_get_request_headers(msg);
	SoupMessageHeaders *response_headers = soup_server_message_get_response_headers(msg);
	gboolean is_get = soup_server_message_get_method(msg) == SOUP_METHOD_GET;
	guint64 size = pxed_file_get_size(file);
	gint64 mtime = pxed_file_get_mtime(file);
	const char *etag = pxed_file_get_etag(file);
	const char *last_modified = http_date(self, mtime);
	PxedHttpPreconditions pre = {
		.if_match = soup_message_headers_get_one(request_headers, "If-Match"),
		.if_unmodified_since =
			soup_message_headers_get_one(request_headers, "If-Unmodified-Since"),
		.if_none_match = soup_message_headers_get_list(request_headers, "If-None-Match"),
		.if_modified_since =
			soup_message_headers_get_one(request_headers, "If-Modified-Since"),
	};
	guint64 start = 0, end = size > 0 ? size - 1 : 0, length = size;
	guint status = SOUP_STATUS_OK;
	GBytes *bytes;

	/* libsoup must not apply Range on its own (it would, on a complete
	 * in-memory 200 body): the body is never accumulated. */
	soup_message_body_set_accumulate(soup_server_message_get_response_body(msg), FALSE);

	/* RFC 9110 §8.8.2, §8.8.3, §14.3: validators and range support on 200,
	 * 206 and 304 alike. */
	soup_message_headers_replace(response_headers, "Last-Modified", last_modified);
	if (etag != NULL)
		soup_message_headers_replace(response_headers, "ETag", etag);
	soup_message_headers_replace(response_headers, "Accept-Ranges", "bytes");

	switch (pxed_http_evaluate_conditions(&pre, etag != NULL ? etag : "", mtime)) {
	case PXED_HTTP_CONDITION_NOT_MODIFIED:
		/* RFC 9110 §15.4.5: no content; a Content-Length, if any, must be
		 * the one a 200 would carry (§8.6) — never libsoup's default 0. */
		soup_server_message_set_status(msg, SOUP_STATUS_NOT_MODIFIED, NULL);
		soup_message_headers_set_content_length(response_headers, (goffset)size);
		req->status = SOUP_STATUS_NOT_MODIFIED;
		return;
	case PXED_HTTP_CONDITION_PRECONDITION_FAILED:
		respond_status(msg, SOUP_STATUS_PRECONDITION_FAILED);
		return;
	case PXED_HTTP_CONDITION_PROCEED:
		break;
	}

	/* RFC 9110 §14.2: Range applies to GET only, and only if If-Range (when
	 * present) still matches the representation. */
	if (is_get &&
	    pxed_http_if_range_matches(soup_message_headers_get_one(request_headers, "If-Range"),
				       etag != NULL ? etag : "", mtime)) {
		switch (pxed_http_parse_range(
			soup_message_headers_get_one(request_headers, "Range"), size, &start,
			&end)) {
		case PXED_HTTP_RANGE_SATISFIABLE:
			status = SOUP_STATUS_PARTIAL_CONTENT;
			length = end - start + 1;
			/* §14.4: Content-Range: bytes first-last/complete-length */
			soup_message_headers_set_content_range(response_headers, (goffset)start,
							       (goffset)end, (goffset)size);
			break;
		case PXED_HTTP_RANGE_UNSATISFIABLE: {
			/* §15.5.17: 416 with Content-Range: bytes * / length */
			g_autofree char *cr = g_strdup_printf("bytes */%" G_GUINT64_FORMAT, size);
			respond_status(msg, SOUP_STATUS_REQUESTED_RANGE_NOT_SATISFIABLE);
			soup_message_headers_replace(response_headers, "Content-Range", cr);
			return;
		}
		case PXED_HTTP_RANGE_NONE:
			start = 0;
			break;
		}
	}

	soup_server_message_set_status(msg, status, NULL);
	req->status = status;
	soup_message_headers_set_content_type(response_headers, pxed_file_get_content_type(file),
					      NULL);
	/* Always a Content-Length (RFC 9110 §8.6): iPXE is much slower on bodies
	 * of unknown length. For HEAD it announces what GET would send. */
	soup_message_headers_set_content_length(response_headers, (goffset)length);
	if (!is_get || length == 0)
		return;

	req->file = pxed_file_ref(file);
	req->offset = start;
	req->remaining = length;
	req->keepalive = message_keepalive(self, msg);

	bytes = pxed_file_get_bytes(file);
	if (bytes != NULL) {
		g_autoptr(GBytes) part = g_bytes_new_from_bytes(bytes, (gsize)start, (gsize)length);
		SoupMessageBody *body = soup_server_message_get_response_body(msg);

		soup_message_body_append_bytes(body, part);
		soup_message_body_complete(body);
		req->remaining = 0;
		/* one write for head and body; counted once written (::wrote-body) */
		req->in_memory = length;
		cork(req, msg);
		if (!self->hand_back_idle)
			g_signal_connect(msg, "wrote-body", G_CALLBACK(on_wrote_body_uncork), req);
		return;
	}
	g_signal_connect(msg, "wrote-body-data", G_CALLBACK(on_wrote_body_data), req);
	if (self->use_sendfile && self->tls_certificate == NULL && pxed_file_get_fd(file) >= 0 &&
	    length >= SENDFILE_MIN) {
		g_signal_connect(msg, "wrote-headers", G_CALLBACK(on_wrote_headers_sendfile), req);
		return;
	}
	/* Advise the kernel of a sequential read: readahead keeps the pread()s
	 * below from waiting on the disk. */
	(void)posix_fadvise(pxed_file_get_fd(file), (off_t)start, (off_t)length,
			    POSIX_FADV_SEQUENTIAL);
	g_signal_connect(msg, "wrote-chunk", G_CALLBACK(on_wrote_chunk), req);
	if (!request_append_chunk(req))
		respond_status(msg, SOUP_STATUS_INTERNAL_SERVER_ERROR);
}

static void
handle_request(SoupServer *server, SoupServerMessage *msg, const char *path, GHashTable *query,
	       gpointer user_data)
{
	PxedHttp *self = user_data;
	PxedHttpRequest *req = request_get(msg);
	const char *method = soup_server_message_get_method(msg);
	g_autoptr(GError) error = NULL;
	g_autofree char *decoded = NULL;
	g_autoptr(PxedFile) file = NULL;

	if (req == NULL) {
		respond_status(msg, SOUP_STATUS_INTERNAL_SERVER_ERROR);
		return;
	}
	/* RFC 9110 §9.1: GET and HEAD are all a file server needs; §15.5.6:
	 * anything else is 405 with the methods that are allowed. */
	if (method != SOUP_METHOD_GET && method != SOUP_METHOD_HEAD) {
		soup_message_headers_replace(soup_server_message_get_response_headers(msg), "Allow",
					     "GET, HEAD");
		respond_status(msg, SOUP_STATUS_METHOD_NOT_ALLOWED);
		return;
	}
	decoded = pxed_http_decode_path(path, &error);
	if (decoded != NULL)
		file = pxed_context_open_file(self->ctx, PXED_VIA_HTTP, req->client, decoded, query,
					      &error);
	if (file == NULL) {
		guint status = pxed_http_status_for_error(error);
		/* The reason goes to the log, never to the client. */
		if (status == SOUP_STATUS_INTERNAL_SERVER_ERROR)
			g_warning("%s %s: %s", method, req->path,
				  error != NULL ? error->message : "no file and no error");
		else
			g_debug("%s %s: %u: %s", method, req->path, status,
				error != NULL ? error->message : "");
		respond_status(msg, status);
		return;
	}
	respond_file(self, msg, req, file);
}

/* Called once the request head is in, before any request body is read. */
static void
handle_early(SoupServer *server, SoupServerMessage *msg, const char *path, GHashTable *query,
	     gpointer user_data)
{
	PxedHttp *self = user_data;
	PxedHttpRequest *req = request_get(msg);
	GUri *uri = soup_server_message_get_uri(msg);

	/* A request body is never used: never keep one in memory. */
	soup_message_body_set_accumulate(soup_server_message_get_request_body(msg), FALSE);
	if (req == NULL)
		return;
	head_unwatch(req);
	idle_unwatch_stale(self, msg);
	if (self->hand_back_idle)
		g_signal_connect(msg, "wrote-body", G_CALLBACK(on_wrote_body_hand_back), req);
	req->started = g_get_monotonic_time();
	g_free(req->method);
	req->method = g_strdup(soup_server_message_get_method(msg));
	g_free(req->path);
	req->path =
		g_strdup(uri != NULL && g_uri_get_path(uri)[0] != '\0' ? g_uri_get_path(uri) : "/");
	g_clear_pointer(&req->client, pxed_client_unref);
	req->client = pxed_http_client_from_query(
		query, peer_address(soup_server_message_get_remote_address(msg)));
	/* what iPXE's query left out, the DHCP lease of the peer's address knows */
	pxed_context_identify_client(self->ctx, req->client);
	if (self->stopping)
		soup_message_headers_replace(soup_server_message_get_response_headers(msg),
					     "Connection", "close");
	else if (soup_server_message_get_http_version(msg) == SOUP_HTTP_1_0 &&
		 soup_message_headers_header_contains(soup_server_message_get_request_headers(msg),
						      "Connection", "keep-alive"))
		soup_message_headers_replace(soup_server_message_get_response_headers(msg),
					     "Connection", "keep-alive");
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
static void
head_unwatch(PxedHttpRequest *req)
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
					      LIMIT_LOG_INTERVAL, &held_back)) {
			g_autofree char *peer =
				peer_text(soup_server_message_get_remote_address(msg));
			g_warning("%s: closed a connection from %s: no complete request head "
				  "within header-timeout=%us (%" G_GUINT64_FORMAT
				  " more since the last such line)",
				  self->name, peer, self->header_timeout, held_back);
		}
	}
	if (socket != NULL)
		g_hash_table_remove(self->idle, socket);
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
		PxedHttpRequest *req = request_get(msg);

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
	PxedHttpRequest *req = request_get(msg);

	if (req != NULL)
		head_unwatch(req);
}

/* SoupServerMessage::connected, new TLS connections only: the handshake is
 * done, libsoup has a stream to give up. */
static void
on_connected_tls(SoupServerMessage *msg, PxedHttp *self)
{
	PxedHttpRequest *req = request_get(msg);

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
	respond_status(msg, SOUP_STATUS_SERVICE_UNAVAILABLE);
	soup_message_headers_replace(headers, "Retry-After", "1");
	soup_message_headers_replace(headers, "Connection", "close");
	head_watch(self, req, req->started);
	if (pxed_http_rate_limit_pass(&self->per_client_log, req->started, LIMIT_LOG_INTERVAL,
				      &held_back))
		g_warning("%s: refused a connection from %s: max-connections-per-client=%u "
			  "reached (%" G_GUINT64_FORMAT " more since the last such line)",
			  self->name, peer, self->max_per_client, held_back);
}

/* SoupServer::request-started: every request, including the first one of a
 * connection, which is where connections are counted and limited. libsoup
 * reports the first one when it accepts the connection, later ones when their
 * first byte arrives. */
static void
on_request_started(SoupServer *server, SoupServerMessage *msg, PxedHttp *self)
{
	PxedHttpRequest *req = g_new0(PxedHttpRequest, 1);
	gint64 header_us = (gint64)self->header_timeout * G_USEC_PER_SEC;
	GSocket *socket;
	g_autofree char *peer = NULL;
	guint n_open, n_peer;

	req->self = self;
	req->corked = -1;
	req->msg = msg;
	req->started = g_get_monotonic_time();
	g_object_set_data_full(G_OBJECT(msg), REQUEST_KEY, req, (GDestroyNotify)request_free);
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
		respond_status(msg, SOUP_STATUS_SERVICE_UNAVAILABLE);
		soup_message_headers_replace(headers, "Retry-After", "1");
		soup_message_headers_replace(headers, "Connection", "close");
		g_debug("connection refused: %u open, max-connections=%u",
			g_hash_table_size(self->sockets), self->max_connections);
	}
}

static void
on_request_finished(SoupServer *server, SoupServerMessage *msg, PxedHttp *self)
{
	PxedHttpRequest *req = request_get(msg);

	idle_unwatch_stale(self, msg);
	if (req == NULL)
		return;
	head_unwatch(req);
	req->status = soup_server_message_get_status(msg);
	if (req->method == NULL) {
		GUri *uri = soup_server_message_get_uri(msg);
		req->method = g_strdup(soup_server_message_get_method(msg));
		if (uri != NULL)
			req->path = g_strdup(g_uri_get_path(uri));
	}
	request_log(req, TRUE);
	request_release(req);
}

static void
on_request_aborted(SoupServer *server, SoupServerMessage *msg, PxedHttp *self)
{
	PxedHttpRequest *req = request_get(msg);

	idle_unwatch_stale(self, msg);
	if (req == NULL)
		return;
	head_unwatch(req);
	if (req->status == 0)
		req->status = soup_server_message_get_status(msg);
	request_log(req, FALSE);
	request_release(req);
}

static GSocket *
listen_socket_new(GInetSocketAddress *address, GError **error)
{
	GSocketFamily family = g_socket_address_get_family(G_SOCKET_ADDRESS(address));
	g_autoptr(GSocket) socket = NULL;
	g_autofree char *text = format_address(G_SOCKET_ADDRESS(address));

	socket = g_socket_new(family, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, error);
	if (socket == NULL) {
		g_prefix_error(error, "%s: ", text);
		return NULL;
	}
	/* So that "0.0.0.0:80;[::]:80" binds both families side by side. */
	if (family == G_SOCKET_FAMILY_IPV6)
		g_socket_set_option(socket, IPPROTO_IPV6, IPV6_V6ONLY, 1, NULL);
	g_socket_set_listen_backlog(socket, LISTEN_BACKLOG);
	if (!g_socket_bind(socket, G_SOCKET_ADDRESS(address), TRUE, error) ||
	    !g_socket_listen(socket, error)) {
		g_prefix_error(error, "cannot listen on %s: ", text);
		return NULL;
	}
	return g_steal_pointer(&socket);
}

/* ---- the plugin ---- */

static void
http_instance_free(gpointer data)
{
	PxedHttp *self = data;

	if (self == NULL)
		return;
	if (self->head_timer != NULL) {
		g_source_destroy(self->head_timer);
		g_clear_pointer(&self->head_timer, g_source_unref);
	}
	if (self->transfers != NULL)
		g_hash_table_remove_all(self->transfers);
	g_clear_pointer(&self->idle, g_hash_table_unref);
	g_free(self->date_text);
	if (self->server != NULL) {
		g_signal_handlers_disconnect_by_data(self->server, self);
		soup_server_disconnect(self->server);
		g_clear_object(&self->server);
	}
	/* after the server: its messages leave @heads as they go */
	g_clear_pointer(&self->heads, g_hash_table_unref);
	g_clear_pointer(&self->sockets, g_hash_table_unref);
	g_clear_pointer(&self->per_client, g_hash_table_unref);
	g_clear_pointer(&self->transfers, g_hash_table_unref);
	g_clear_pointer(&self->listen_sockets, g_ptr_array_unref);
	g_clear_pointer(&self->listen, g_ptr_array_unref);
	g_clear_object(&self->tls_certificate);
	g_free(self->base_url);
	g_free(self->name);
	g_free(self);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC(PxedHttp, http_instance_free)

static gpointer
http_instance_new(PxedInstance *instance, GError **error)
{
	g_autoptr(PxedHttp) self = g_new0(PxedHttp, 1);
	g_autofree char *cert = NULL;
	g_autofree char *key = NULL;

	self->instance = instance;
	self->ctx = pxed_instance_get_context(instance);
	self->name = g_strdup(pxed_instance_get_name(instance));
	self->listen = pxed_instance_get_listen(instance, "listen");
	self->base_url = pxed_instance_get_string(instance, "base-url");
	self->max_connections = (guint)pxed_instance_get_int(instance, "max-connections");
	self->max_per_client = (guint)pxed_instance_get_int(instance, "max-connections-per-client");
	self->idle_timeout = (guint)pxed_instance_get_int(instance, "idle-timeout");
	self->header_timeout = (guint)pxed_instance_get_int(instance, "header-timeout");
	self->use_sendfile = pxed_instance_get_boolean(instance, "sendfile");
	self->hand_back_idle = soup_get_major_version() == 3 && soup_get_minor_version() < 3;
	cert = pxed_instance_get_path(instance, "tls-certificate");
	key = pxed_instance_get_path(instance, "tls-key");

	if (self->listen == NULL || self->listen->len == 0) {
		g_set_error_literal(error, PXED_ERROR, PXED_ERROR_INVALID,
				    "listen: no address to listen on");
		return NULL;
	}
	if ((cert == NULL) != (key == NULL)) {
		g_set_error_literal(error, PXED_ERROR, PXED_ERROR_INVALID,
				    "tls-certificate and tls-key must be set together");
		return NULL;
	}
	if (cert != NULL) {
		if (!g_tls_backend_supports_tls(g_tls_backend_get_default())) {
			g_set_error_literal(error, PXED_ERROR, PXED_ERROR_INVALID,
					    "tls-certificate: GIO has no TLS backend "
					    "(install glib-networking)");
			return NULL;
		}
		self->tls_certificate = g_tls_certificate_new_from_files(cert, key, error);
		if (self->tls_certificate == NULL) {
			g_prefix_error(error, "tls-certificate: ");
			return NULL;
		}
	}
	self->sockets = g_hash_table_new_full(NULL, NULL, g_object_unref, g_free);
	self->per_client = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	self->heads = g_hash_table_new(NULL, NULL);
	self->head_timer_due = -1;
	self->idle = g_hash_table_new_full(NULL, NULL, NULL, (GDestroyNotify)idle_watch_free);
	self->transfers = g_hash_table_new_full(NULL, NULL, (GDestroyNotify)transfer_free, NULL);
	self->listen_sockets = g_ptr_array_new_with_free_func(g_object_unref);
	return g_steal_pointer(&self);
}

/* base-url when not configured: the first listen address that a client can
 * reach, else this host's name. */
static char *
derive_base_url(PxedHttp *self)
{
	const char *scheme = self->tls_certificate != NULL ? "https" : "http";
	guint16 default_port = self->tls_certificate != NULL ? 443 : 80;

	for (guint i = 0; i < self->listen_sockets->len; i++) {
		g_autoptr(GSocketAddress) local = g_socket_get_local_address(
			g_ptr_array_index(self->listen_sockets, i), NULL);
		GInetAddress *addr;
		guint16 port;
		g_autofree char *host = NULL;

		if (local == NULL)
			continue;
		addr = g_inet_socket_address_get_address(G_INET_SOCKET_ADDRESS(local));
		port = g_inet_socket_address_get_port(G_INET_SOCKET_ADDRESS(local));
		if (g_inet_address_get_is_any(addr)) {
			host = g_strdup(g_get_host_name());
		} else {
			g_autofree char *text = g_inet_address_to_string(addr);
			host = g_inet_address_get_family(addr) == G_SOCKET_FAMILY_IPV6
				       ? g_strdup_printf("[%s]", text)
				       : g_steal_pointer(&text);
		}
		if (port == default_port)
			return g_strdup_printf("%s://%s", scheme, host);
		return g_strdup_printf("%s://%s:%u", scheme, host, port);
	}
	return NULL;
}

static gboolean
http_start(gpointer data, GError **error)
{
	PxedHttp *self = data;
	GMainContext *context = pxed_context_get_main_context(self->ctx);
	g_autofree char *server_header = g_strdup_printf("pxed/%s", PXED_VERSION);
	gboolean ok = TRUE;

	/* Above libsoup's priority: a head past its deadline goes before
	 * libsoup reads more of it. */
	self->head_timer = g_source_new((GSourceFuncs *)&head_timer_funcs, sizeof(GSource));
	g_source_set_priority(self->head_timer, G_PRIORITY_HIGH);
	g_source_set_callback(self->head_timer, head_sweep, self, NULL);
	g_source_attach(self->head_timer, context);

	/* SoupServer attaches its sources to the thread-default context. */
	g_main_context_push_thread_default(context);
	self->server =
		g_object_new(SOUP_TYPE_SERVER, "server-header", server_header,
			     /* the path is decoded here, once (see
			      * pxed_http_decode_path()) */
			     "raw-paths", TRUE, "tls-certificate", self->tls_certificate, NULL);
	g_signal_connect(self->server, "request-started", G_CALLBACK(on_request_started), self);
	g_signal_connect(self->server, "request-finished", G_CALLBACK(on_request_finished), self);
	g_signal_connect(self->server, "request-aborted", G_CALLBACK(on_request_aborted), self);
	soup_server_add_early_handler(self->server, NULL, handle_early, self, NULL);
	soup_server_add_handler(self->server, NULL, handle_request, self, NULL);

	for (guint i = 0; ok && i < self->listen->len; i++) {
		g_autoptr(GSocket) socket =
			listen_socket_new(g_ptr_array_index(self->listen, i), error);
		g_autoptr(GSocketAddress) local = NULL;
		g_autofree char *text = NULL;

		if (socket == NULL) {
			ok = FALSE;
			break;
		}
		if (!soup_server_listen_socket(
			    self->server, socket,
			    self->tls_certificate != NULL ? SOUP_SERVER_LISTEN_HTTPS : 0, error)) {
			ok = FALSE;
			break;
		}
		g_ptr_array_add(self->listen_sockets, g_object_ref(socket));
		local = g_socket_get_local_address(socket, error);
		if (local == NULL) {
			ok = FALSE;
			break;
		}
		text = format_address(local);
		/* The bound address is the last token: tests read the port. */
		pxed_context_event(self->ctx, NULL, self->name, "listening", "%s%s",
				   self->tls_certificate != NULL ? "tls " : "", text);
	}
	g_main_context_pop_thread_default(context);
	if (!ok)
		return FALSE;
	if (self->base_url == NULL)
		self->base_url = derive_base_url(self);
	g_info("%s: base-url %s, max-connections=%u (%u per client), idle-timeout=%us, "
	       "header-timeout=%us%s",
	       self->name, self->base_url != NULL ? self->base_url : "(none)",
	       self->max_connections, self->max_per_client, self->idle_timeout,
	       self->header_timeout, self->use_sendfile ? ", sendfile" : "");
	return TRUE;
}

static void
http_stop(gpointer data)
{
	PxedHttp *self = data;

	/* New connections are refused (shutdown wakes libsoup's accept source,
	 * which then lets go); requests in flight finish, then their
	 * connections close. */
	self->stopping = TRUE;
	for (guint i = 0; self->listen_sockets != NULL && i < self->listen_sockets->len; i++)
		g_socket_shutdown(g_ptr_array_index(self->listen_sockets, i), TRUE, FALSE, NULL);
	pxed_context_event(
		self->ctx, NULL, self->name, "stopped",
		"requests=%" G_GUINT64_FORMAT " 2xx=%" G_GUINT64_FORMAT " 3xx=%" G_GUINT64_FORMAT
		" 4xx=%" G_GUINT64_FORMAT " 5xx=%" G_GUINT64_FORMAT " refused=%" G_GUINT64_FORMAT
		" refused-per-client=%" G_GUINT64_FORMAT " header-timeouts=%" G_GUINT64_FORMAT
		" aborted=%" G_GUINT64_FORMAT " bytes=%" G_GUINT64_FORMAT,
		self->n_requests, self->n_status[2], self->n_status[3], self->n_status[4],
		self->n_status[5], self->n_refused, self->n_refused_per_client,
		self->n_head_timeouts, self->n_aborted, self->bytes_sent);
}

static const PxedKey http_keys[] = {
	{.name = "listen",
	 .type = PXED_KEY_LISTEN,
	 .default_value = "0.0.0.0:80",
	 .description = "addresses to listen on: ADDRESS:PORT;[IPV6]:PORT"},
	{.name = "base-url",
	 .type = PXED_KEY_STRING,
	 .description = "how clients reach this server; default: from the first listen address"},
	{.name = "max-connections",
	 .type = PXED_KEY_INT,
	 .default_value = "1024",
	 .min = 1,
	 .max = 1000000,
	 .description = "open connections at most; more are answered 503"},
	{.name = "max-connections-per-client",
	 .type = PXED_KEY_INT,
	 .default_value = "32",
	 .min = 1,
	 .max = 1000000,
	 .description = "open connections per client address at most; more are closed at once"},
	{.name = "idle-timeout",
	 .type = PXED_KEY_INT,
	 .default_value = "60",
	 .min = 1,
	 .max = 86400,
	 .description = "seconds a connection may wait on its peer before it is closed"},
	{.name = "header-timeout",
	 .type = PXED_KEY_INT,
	 .default_value = "10",
	 .min = 1,
	 .max = 86400,
	 .description = "seconds a request head may take, from its first byte (a new "
			"connection: from its accept); then the connection is closed"},
	{.name = "tls-certificate",
	 .type = PXED_KEY_FILE,
	 .description = "PEM certificate (chain): serve HTTPS; needs tls-key"},
	{.name = "tls-key",
	 .type = PXED_KEY_FILE,
	 .description = "PEM private key of tls-certificate"},
	{.name = "sendfile",
	 .type = PXED_KEY_BOOLEAN,
	 .default_value = "true",
	 .description = "send plain-HTTP file bodies with sendfile(2)"},
	{.name = NULL},
};

PXED_PLUGIN_DEFINE(.kind = PXED_PLUGIN_KIND_PROTOCOL, .name = "http",
		   .description = "HTTP/HTTPS file server for iPXE and UEFI HTTP Boot (libsoup 3)",
		   .version = PXED_VERSION, .license = "LGPL-2.1-or-later", .keys = http_keys,
		   .instance_new = http_instance_new, .instance_free = http_instance_free,
		   .start = http_start, .stop = http_stop);
