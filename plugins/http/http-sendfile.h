/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The sendfile(2) body path, and handing taken connections back to libsoup.
 */

#include "http-private.h"

G_BEGIN_DECLS

/* Bodies smaller than this go through libsoup: taking the connection over
 * costs more than it saves. */
#define PXED_HTTP_SENDFILE_MIN (128 * 1024)

/* A body in flight; the instance's `transfers` table owns them. */
typedef struct _PxedHttpTransfer PxedHttpTransfer;

void pxed_http_transfer_free(PxedHttpTransfer *t);

/* Sends @req's body (a descriptor-backed file, plain HTTP) with sendfile(2)
 * once libsoup has written the response head. */
void pxed_http_sendfile_body(SoupServerMessage *msg, PxedHttpRequest *req);

/* Gives a connection taken from libsoup, its response complete, back to the
 * SoupServer as a new one; @read_ahead (nullable): pipelined requests to
 * replay first. */
void pxed_http_connection_hand_back(PxedHttp *self, GIOStream *base, GBytes *read_ahead,
				    GSocketAddress *local, GSocketAddress *remote);

G_END_DECLS
