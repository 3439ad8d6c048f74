/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * One transfer of the TFTP plugin in the kernel's world: its two sockets on
 * a fresh port (RFC 1350 §4), batched sends with segmentation offload, and
 * driving its PxedTftpSession (tftp-session.c) with what arrives and what
 * the engine's clock says.
 */

#include "tftp-plugin.h"
#include "tftp-session.h"

G_BEGIN_DECLS

struct _PxedTftpTransfer {
	PxedTftpServer *server; /* referenced */
	PxedTftpSession *session;
	int fd;	      /* connected to the peer */
	int stray_fd; /* same port, not connected: datagrams from strangers, or -1 */
	PxedTftpWatch watch;
	PxedTftpWatch stray_watch;
	PxedTftpDeadline deadline;
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

/* A transfer of @file to @peer as negotiated in @params, its sockets open
 * and watched by the engine; the caller fills in client, path,
 * request_hash and share, files it in the server's table, then calls
 * pxed_tftp_transfer_begin(). NULL if no socket could be had. */
PxedTftpTransfer *pxed_tftp_transfer_new(PxedTftpServer *server, const PxedTftpPeer *peer,
					 const PxedTftpLocal *local,
					 const PxedTftpSessionParams *params, PxedFile *file,
					 GError **error);
/* Sends the first packet (OACK or DATA 1). */
void pxed_tftp_transfer_begin(PxedTftpTransfer *t);
/* Reads what the peer sent, if anything: its session's state then. */
PxedTftpSessionState pxed_tftp_transfer_poll(PxedTftpTransfer *t, gint64 now);
/* Takes it out of everything and reports it; freed at the end of the
 * engine's turn. */
void pxed_tftp_transfer_end(PxedTftpTransfer *t, PxedTftpSessionState state);

G_END_DECLS
