/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * proxyDHCP decisions (PXE 2.1 §2.2), without sockets: beside a DHCP server
 * pxed does not control, answer PXE firmware with the boot part only — never
 * an address, never a NAK, never a client that is not "PXEClient".
 */

#include <pxed/pxed.h>

#include "pxed-dhcp.h"

G_BEGIN_DECLS

typedef enum {
	PROXY_PORT_DHCP, /* 67: DISCOVER -> OFFER */
	PROXY_PORT_PXE,	 /* 4011: REQUEST -> ACK (PXE boot server discovery) */
} PxedProxyPort;

typedef struct {
	guint64 received;
	guint64 ignored;
	guint64 offers;
	guint64 acks;
	guint64 noted;	   /* addresses noted for TFTP and HTTP (pxed_instance_note_client) */
	guint64 not_noted; /* notes the core did not take: another machine's address
			    * (or [core] identity-by-address=false) */
} PxedProxyStats;

typedef struct {
	char *name;
	PxedInstance *instance;
	guint32 server_id; /* network byte order: option 54 and default next-server */
	PxedProxyStats stats;
} PxedProxyServer;

PxedProxyServer *proxy_server_new(PxedInstance *instance);
void proxy_server_free(PxedProxyServer *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(PxedProxyServer, proxy_server_free)

/**
 * proxy_server_handle:
 * @source: the address the request came from (network byte order; 0.0.0.0 for
 *   a client that has none yet): ciaddr is believed only when it is this one
 * @client: (out) (transfer full): who asked, for the event log
 * @reason: (out): why there is no answer
 *
 * Returns: (transfer full) (nullable): the answer, or %NULL to stay silent
 */
PxedDhcpMessage *proxy_server_handle(PxedProxyServer *self, const PxedDhcpMessage *request,
				     PxedProxyPort port, guint32 source, PxedClient **client,
				     const char **reason);

G_END_DECLS
