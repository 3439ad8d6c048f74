/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * What the http plugin's files share: the instance (PxedHttp) and the request
 * (PxedHttpRequest) types, and the request's lifecycle functions of
 * http-plugin.c. Not installed; the plugin's symbols are hidden.
 */

#include <libsoup/soup.h>
#include <pxed/pxed.h>

#include "pxed-http-util.h"

G_BEGIN_DECLS

#define PXED_HTTP_REQUEST_KEY "pxed-http-request"
/* A limit hit at flood rate is logged once a minute, with how often. */
#define PXED_HTTP_LIMIT_LOG_INTERVAL (60 * G_USEC_PER_SEC)

typedef struct {
	PxedInstance *instance; /* referenced */
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
	gboolean stopping;

	/* http-conn.c */
	GHashTable *sockets;	/* GSocket (ref) → peer address (text): connections, maybe
				   closed since */
	GHashTable *per_client; /* peer address (text) → its connections in @sockets */
	GHashTable *heads;	/* PxedHttpRequest → NULL: request heads still arriving */
	GSource *head_timer;	/* dispatched at the earliest deadline in @heads, or never */
	gint64 head_timer_due;	/* its ready time; -1: never */

	/* http-sendfile.c */
	GHashTable *transfers; /* PxedHttpTransfer: bodies in flight via sendfile */

	/* http-soup-workarounds.c */
	GHashTable *idle; /* GSocket → PxedHttpIdleWatch: kept-alive connections between requests */

	/* http-response.c: the last Last-Modified formatted: most responses
	 * repeat it (the same file, or rendered files made in the same second). */
	gint64 date_seconds;
	char *date_text;

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

/* The request attached to @msg, or %NULL (its connection was taken over). */
static inline PxedHttpRequest *
pxed_http_request_get(SoupServerMessage *msg)
{
	return g_object_get_data(G_OBJECT(msg), PXED_HTTP_REQUEST_KEY);
}

static inline GInetAddress *
pxed_http_peer_address(GSocketAddress *remote)
{
	if (remote == NULL || !G_IS_INET_SOCKET_ADDRESS(remote))
		return NULL;
	return g_inet_socket_address_get_address(G_INET_SOCKET_ADDRESS(remote));
}

/* http-plugin.c */
void pxed_http_request_free(PxedHttpRequest *req);
void pxed_http_request_log(PxedHttpRequest *req, gboolean complete);

G_END_DECLS
