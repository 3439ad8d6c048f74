/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Addresses in the TFTP plugin: a peer (address and port, the key of a
 * transfer — its TID, RFC 1350 §4), the local address a request arrived at,
 * and their text for logs and events.
 */

#include <gio/gio.h>
#include <netinet/in.h>
#include <sys/socket.h>

G_BEGIN_DECLS

/* A peer's address and port: the key of a transfer (its TID, RFC 1350 §4). */
typedef struct {
	socklen_t len;
	struct sockaddr_storage ss;
} PxedTftpPeer;

/* The address a request arrived at, for binding the transfer's socket to
 * it (multi-homed hosts: the client only accepts answers from there). */
typedef struct {
	gboolean valid;
	int family;
	struct in_addr v4;
	struct in6_addr v6;
	guint ifindex;
} PxedTftpLocal;

/* GHashFunc / GEqualFunc over PxedTftpPeer: address, port and scope. */
guint pxed_tftp_peer_hash(gconstpointer key);
gboolean pxed_tftp_peer_equal(gconstpointer a, gconstpointer b);

/* The peer's address without the port; NULL if it is not IPv4 or IPv6. */
GInetAddress *pxed_tftp_peer_inet_address(const PxedTftpPeer *peer);

/* ADDRESS:PORT, [IPV6]:PORT; "unknown" for anything else. */
char *pxed_tftp_peer_to_text(const PxedTftpPeer *peer);
char *pxed_tftp_socket_address_to_text(GSocketAddress *address);

/* The local address of a datagram from its IP_PKTINFO / IPV6_PKTINFO
 * control message; @local->valid is FALSE without one. */
void pxed_tftp_local_from_control(struct msghdr *msg, PxedTftpLocal *local);

G_END_DECLS
