/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Responses: a file's (validators, conditional requests, ranges, the body
 * path) and a bare status's.
 */

#include "http-private.h"

G_BEGIN_DECLS

/* Answers @msg with @file (GET or HEAD; RFC 9110 §13, §14). */
void pxed_http_respond_file(PxedHttp *self, SoupServerMessage *msg, PxedHttpRequest *req,
			    PxedFile *file);

/* Answers @msg with @status and its reason phrase as a text body. */
void pxed_http_respond_status(SoupServerMessage *msg, guint status);

/* Whether @msg's connection persists after its response (RFC 9112 §9.3). */
gboolean pxed_http_message_keepalive(PxedHttp *self, SoupServerMessage *msg);

/* The in-memory body is written: its head and body leave. */
void pxed_http_uncork(PxedHttpRequest *req);

G_END_DECLS
