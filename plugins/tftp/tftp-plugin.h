/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The TFTP plugin's instance, PxedTftpServer, as its files share it:
 * tftp-plugin.c owns it (configuration, listeners, admission of requests),
 * tftp-transfer.c runs the transfers it admitted, tftp-engine.c wakes them.
 */

#include <pxed/pxed.h>

#include "tftp-engine.h"
#include "tftp-negotiate.h"
#include "tftp-peer.h"

G_BEGIN_DECLS

/* A transfer's socket only ever receives ACKs and ERRORs (a longer ERROR
 * message is cut, harmlessly). */
#define PXED_TFTP_RX_SMALL_SIZE 1024
/* Shared transmit buffer: one burst at a time is laid out in it. */
#define PXED_TFTP_SCRATCH_SIZE (512 * 1024)

typedef struct _PxedTftpServer PxedTftpServer;
typedef struct _PxedTftpTransfer PxedTftpTransfer;
typedef struct _PxedTftpListener PxedTftpListener;
/* A client address's count of sessions (tftp-plugin.c). */
typedef struct _PxedTftpShare PxedTftpShare;

/* What a watch of the engine is about (PxedTftpWatch.kind). */
typedef enum {
	PXED_TFTP_WATCH_LISTENER, /* a listening socket (the owner is the listener) */
	PXED_TFTP_WATCH_TRANSFER, /* the transfer's own (connected) socket */
	PXED_TFTP_WATCH_STRAYS,	  /* its sibling that hears everyone else */
} PxedTftpWatchKind;

/* A limit that is hit says so in the log at most once per this interval,
 * with the number of hits it did not report: a flood of refusals must not
 * turn into a flood of log lines. */
typedef struct {
	gint64 logged_at; /* 0: never */
	guint64 unlogged;
} PxedTftpLimitLog;

struct _PxedTftpServer {
	gint refcount;
	PxedInstance *instance;
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

	PxedTftpEngine *engine;
	GPtrArray *finished; /* transfers that ended, freed at the end of the turn */
	guint64 spun;	     /* datagrams (ACKs, or the odd error) taken while spinning */

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

PxedTftpServer *pxed_tftp_server_ref(PxedTftpServer *self);
void pxed_tftp_server_unref(PxedTftpServer *self);

/* Whether a limit's hit is to be logged now; else it is counted in
 * @log->unlogged, which the next line reports (and resets). */
gboolean pxed_tftp_limit_log_due(PxedTftpLimitLog *log, guint64 *unlogged);

/* A transfer ended: its address holds one session less. */
void pxed_tftp_share_release(PxedTftpServer *server, PxedTftpShare *share);

/* Datagrams on a listening socket (the engine said it is readable). */
void pxed_tftp_listener_ready(PxedTftpListener *listener);

G_END_DECLS
