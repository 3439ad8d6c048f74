/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The http protocol plugin: a libsoup 3 server that maps GET and HEAD onto the
 * core's `http` file pipeline. This file holds the plugin's descriptor and
 * key table, sets the server up, and routes each request: who asks, which
 * file, one event per request. The rest is in
 *   http-response.c         a file's response and its body paths,
 *   http-sendfile.c         the sendfile(2) body path, connection hand-back,
 *   http-conn.c             connection counts, limits, request-head deadlines,
 *   http-soup-workarounds.c libsoup < 3.3's idle-connection leak,
 *   pxed-http-util.c        protocol helpers (paths, ranges, preconditions),
 *   pxed-http-replay.c      pipelined requests kept across a hand-back.
 */
#include <netinet/in.h>
#include <sys/socket.h>

#include <libsoup/soup.h>
#include <pxed/pxed.h>

#include "http-conn.h"
#include "http-private.h"
#include "http-response.h"
#include "http-sendfile.h"
#include "http-soup-workarounds.h"
#include "pxed-http-util.h"

#define LISTEN_BACKLOG	  1024
#define HTTP_MAX_PATH_LOG 256

void
pxed_http_request_free(PxedHttpRequest *req)
{
	pxed_http_head_unwatch(req);
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
void
pxed_http_request_log(PxedHttpRequest *req, gboolean complete)
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
	pxed_instance_event(self->instance, req->client, "request",
			    "%s %s %u bytes=%" G_GUINT64_FORMAT " ms=%" G_GINT64_FORMAT "%s",
			    req->method != NULL ? req->method : "-", path, req->status, req->sent,
			    ms, complete ? "" : " aborted");
}

/* ---- requests ---- */

static void
handle_request(SoupServer *server, SoupServerMessage *msg, const char *path, GHashTable *query,
	       gpointer user_data)
{
	PxedHttp *self = user_data;
	PxedHttpRequest *req = pxed_http_request_get(msg);
	const char *method = soup_server_message_get_method(msg);
	g_autoptr(GError) error = NULL;
	g_autofree char *decoded = NULL;
	g_autoptr(PxedFile) file = NULL;

	if (req == NULL) {
		pxed_http_respond_status(msg, SOUP_STATUS_INTERNAL_SERVER_ERROR);
		return;
	}
	/* RFC 9110 §9.1: GET and HEAD are all a file server needs; §15.5.6:
	 * anything else is 405 with the methods that are allowed. */
	if (method != SOUP_METHOD_GET && method != SOUP_METHOD_HEAD) {
		soup_message_headers_replace(soup_server_message_get_response_headers(msg), "Allow",
					     "GET, HEAD");
		pxed_http_respond_status(msg, SOUP_STATUS_METHOD_NOT_ALLOWED);
		return;
	}
	decoded = pxed_http_decode_path(path, &error);
	if (decoded != NULL)
		file = pxed_instance_open_file(self->instance, PXED_VIA_HTTP, req->client, decoded,
					       query, &error);
	if (file == NULL) {
		guint status = pxed_http_status_for_error(error);
		/* The reason goes to the log, never to the client. */
		if (status == SOUP_STATUS_INTERNAL_SERVER_ERROR)
			g_warning("%s %s: %s", method, req->path,
				  error != NULL ? error->message : "no file and no error");
		else
			g_debug("%s %s: %u: %s", method, req->path, status,
				error != NULL ? error->message : "");
		pxed_http_respond_status(msg, status);
		return;
	}
	pxed_http_respond_file(self, msg, req, file);
}

/* Called once the request head is in, before any request body is read. */
static void
handle_early(SoupServer *server, SoupServerMessage *msg, const char *path, GHashTable *query,
	     gpointer user_data)
{
	PxedHttp *self = user_data;
	PxedHttpRequest *req = pxed_http_request_get(msg);
	GUri *uri = soup_server_message_get_uri(msg);

	/* A request body is never used: never keep one in memory. */
	soup_message_body_set_accumulate(soup_server_message_get_request_body(msg), FALSE);
	if (req == NULL)
		return;
	pxed_http_head_unwatch(req);
	pxed_http_soup_idle_unwatch_stale(self, msg);
	pxed_http_soup_watch_response(self, msg, req);
	req->started = g_get_monotonic_time();
	g_free(req->method);
	req->method = g_strdup(soup_server_message_get_method(msg));
	g_free(req->path);
	req->path =
		g_strdup(uri != NULL && g_uri_get_path(uri)[0] != '\0' ? g_uri_get_path(uri) : "/");
	g_clear_pointer(&req->client, pxed_client_unref);
	req->client = pxed_http_client_from_query(
		query, pxed_http_peer_address(soup_server_message_get_remote_address(msg)));
	/* what iPXE's query left out, the DHCP lease of the peer's address knows */
	pxed_instance_identify_client(self->instance, req->client);
	if (self->stopping)
		soup_message_headers_replace(soup_server_message_get_response_headers(msg),
					     "Connection", "close");
	else if (soup_server_message_get_http_version(msg) == SOUP_HTTP_1_0 &&
		 soup_message_headers_header_contains(soup_server_message_get_request_headers(msg),
						      "Connection", "keep-alive"))
		soup_message_headers_replace(soup_server_message_get_response_headers(msg),
					     "Connection", "keep-alive");
}

/* SoupServer::request-started: every request, including the first one of a
 * connection. */
static void
on_request_started(SoupServer *server, SoupServerMessage *msg, PxedHttp *self)
{
	PxedHttpRequest *req = g_new0(PxedHttpRequest, 1);

	req->self = self;
	req->corked = -1;
	req->msg = msg;
	req->started = g_get_monotonic_time();
	g_object_set_data_full(G_OBJECT(msg), PXED_HTTP_REQUEST_KEY, req,
			       (GDestroyNotify)pxed_http_request_free);
	pxed_http_conn_admit(self, msg, req);
}

static void
on_request_finished(SoupServer *server, SoupServerMessage *msg, PxedHttp *self)
{
	PxedHttpRequest *req = pxed_http_request_get(msg);

	pxed_http_soup_idle_unwatch_stale(self, msg);
	if (req == NULL)
		return;
	pxed_http_head_unwatch(req);
	req->status = soup_server_message_get_status(msg);
	if (req->method == NULL) {
		GUri *uri = soup_server_message_get_uri(msg);
		req->method = g_strdup(soup_server_message_get_method(msg));
		if (uri != NULL)
			req->path = g_strdup(g_uri_get_path(uri));
	}
	pxed_http_request_log(req, TRUE);
	request_release(req);
}

static void
on_request_aborted(SoupServer *server, SoupServerMessage *msg, PxedHttp *self)
{
	PxedHttpRequest *req = pxed_http_request_get(msg);

	pxed_http_soup_idle_unwatch_stale(self, msg);
	if (req == NULL)
		return;
	pxed_http_head_unwatch(req);
	if (req->status == 0)
		req->status = soup_server_message_get_status(msg);
	pxed_http_request_log(req, FALSE);
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
	pxed_instance_unref(self->instance);
	g_free(self);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC(PxedHttp, http_instance_free)

static gpointer
http_instance_new(PxedInstance *instance, GError **error)
{
	g_autoptr(PxedHttp) self = g_new0(PxedHttp, 1);
	g_autofree char *cert = NULL;
	g_autofree char *key = NULL;

	self->instance = pxed_instance_ref(instance);
	self->name = g_strdup(pxed_instance_get_name(instance));
	self->listen = pxed_instance_get_listen(instance, "listen");
	self->base_url = pxed_instance_get_string(instance, "base-url");
	self->max_connections = (guint)pxed_instance_get_int(instance, "max-connections");
	self->max_per_client = (guint)pxed_instance_get_int(instance, "max-connections-per-client");
	self->idle_timeout = (guint)pxed_instance_get_int(instance, "idle-timeout");
	self->header_timeout = (guint)pxed_instance_get_int(instance, "header-timeout");
	self->use_sendfile = pxed_instance_get_boolean(instance, "sendfile");
	self->hand_back_idle = pxed_http_soup_leaks_idle();
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
	self->idle = g_hash_table_new_full(NULL, NULL, NULL,
					   (GDestroyNotify)pxed_http_soup_idle_watch_free);
	self->transfers =
		g_hash_table_new_full(NULL, NULL, (GDestroyNotify)pxed_http_transfer_free, NULL);
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
	GMainContext *context = pxed_instance_get_main_context(self->instance);
	g_autofree char *server_header = g_strdup_printf("pxed/%s", PXED_VERSION);
	gboolean ok = TRUE;

	pxed_http_conn_start(self);

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
		pxed_instance_event(self->instance, NULL, "listening", "%s%s",
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
	pxed_instance_event(
		self->instance, NULL, "stopped",
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
