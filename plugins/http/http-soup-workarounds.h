/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Work-arounds for libsoup < 3.3 (Debian 12's 3.2), which leaks a kept-alive
 * connection that its client closes between two requests. Unnecessary from
 * libsoup 3.3.0 on; see http-soup-workarounds.c.
 */

#include "http-private.h"

G_BEGIN_DECLS

/* An idle connection watched; the instance's `idle` table owns them. */
typedef struct _PxedHttpIdleWatch PxedHttpIdleWatch;

/* Whether the libsoup at run time has the leak (sets PxedHttp.hand_back_idle). */
gboolean pxed_http_soup_leaks_idle(void);

void pxed_http_soup_idle_watch_free(PxedHttpIdleWatch *w);

/* A request of @msg's connection has begun or ended. */
void pxed_http_soup_idle_unwatch_stale(PxedHttp *self, SoupServerMessage *msg);

/* @socket's connection is being closed by the plugin: no watch on it. */
void pxed_http_soup_idle_forget(PxedHttp *self, GSocket *socket);

/* The request head of @msg is in: once its response is out, the connection
 * is watched while idle, or handed back (if the libsoup has the leak). */
void pxed_http_soup_watch_response(PxedHttp *self, SoupServerMessage *msg, PxedHttpRequest *req);

G_END_DECLS
