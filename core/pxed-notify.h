/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/*
 * systemd's readiness protocol (sd_notify(3)) without libsystemd: one
 * datagram of "KEY=VALUE" lines to the AF_UNIX socket named by
 * $NOTIFY_SOCKET. A name starting with '@' is in the abstract namespace.
 */

/* Sends @state to @socket_name. */
gboolean pxed_notify_send(const char *socket_name, const char *state, GError **error);

/* Sends @state to $NOTIFY_SOCKET when it is set (a unit of Type=notify), else
 * does nothing. A failure is logged, never fatal: the service works without
 * its manager hearing about it. */
void pxed_notify(const char *state);

G_END_DECLS
