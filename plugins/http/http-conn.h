/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Connections: counted per client address, limited (max-connections,
 * max-connections-per-client), and request heads given a deadline
 * (header-timeout).
 */

#include "http-private.h"

G_BEGIN_DECLS

/* Attaches the one timer of the head deadlines to the core's main context. */
void pxed_http_conn_start(PxedHttp *self);

/* SoupServer::request-started, @req just attached to @msg: counts a new
 * connection, refuses one over a limit, and sets the deadline of the head. */
void pxed_http_conn_admit(PxedHttp *self, SoupServerMessage *msg, PxedHttpRequest *req);

/* The head of @req is in, or the request gone: no deadline any more. */
void pxed_http_head_unwatch(PxedHttpRequest *req);

G_END_DECLS
