/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Sockets for the dhcp and proxydhcp plugins: a UDP socket bound to one
 * interface (SO_BINDTODEVICE), so that nothing is received from or sent to any
 * other interface of the host, and a packet socket on the same interface to
 * reach a client that has no address yet by its hardware address, as ISC dhcpd
 * and Kea do (RFC 2131 §4.1).
 */

#include <glib-unix.h>
#include <pxed/pxed.h>

#include "pxed-dhcp.h"

G_BEGIN_DECLS

typedef struct {
	char *name;
	guint ifindex;
	guint32 address; /* its first IPv4 address, network byte order */
	guint32 netmask; /* network byte order */
} DhcpInterface;

/* Looks up a network interface and its first IPv4 address. */
gboolean dhcp_interface_lookup(const char *name, DhcpInterface *iface, GError **error);
void dhcp_interface_clear(DhcpInterface *iface);

typedef struct _DhcpSocket DhcpSocket;

/* Where a datagram came from and on which interface. */
typedef struct {
	guint32 address; /* network byte order */
	guint16 port;	 /* host byte order */
	guint ifindex;
	guint32 local; /* the destination address it was sent to */
} DhcpPeer;

/**
 * dhcp_socket_new:
 * @port: 67, 4011, …
 * @raw: also open the packet socket for unicasts to hardware addresses
 *
 * A UDP socket on 0.0.0.0:@port bound to @iface, non-blocking.
 */
DhcpSocket *dhcp_socket_new(const DhcpInterface *iface, guint16 port, gboolean raw, GError **error);
void dhcp_socket_free(DhcpSocket *self);
guint16 dhcp_socket_get_port(DhcpSocket *self);
/* A source on the socket's readability, for @context. */
GSource *dhcp_socket_create_source(DhcpSocket *self, GUnixFDSourceFunc func, gpointer user_data,
				   GMainContext *context);
/* Datagrams read per dhcp_socket_receive_batch() at most. */
#define DHCP_SOCKET_BATCH 16

/* Reads what is queued, up to DHCP_SOCKET_BATCH datagrams, in one system call
 * (recvmmsg); 0 when nothing is. Fewer than DHCP_SOCKET_BATCH: the queue was
 * empty after them. They stay valid until the next call. */
guint dhcp_socket_receive_batch(DhcpSocket *self);
/* Datagram @i of the last batch, or %NULL when it was longer than any DHCP
 * message read here (it was truncated: count it as malformed). */
const guint8 *dhcp_socket_get(DhcpSocket *self, guint i, gsize *len, DhcpPeer *peer);

/* Sends @data to @address:@port (network byte order address). */
gboolean dhcp_socket_send_to(DhcpSocket *self, GBytes *data, guint32 address, guint16 port,
			     GError **error);

/**
 * dhcp_socket_send_reply:
 *
 * Sends a server's @reply to @request where RFC 2131 §4.1 says: to the relay
 * (giaddr, port 67), to ciaddr, broadcast (NAK, broadcast bit, or no packet
 * socket), else to yiaddr at the client's hardware address.
 *
 * Returns: a short description of where it went ("broadcast", "relay 10.0.0.1"…),
 *   or %NULL with an error
 */
const char *dhcp_socket_send_reply(DhcpSocket *self, const PxedDhcpMessage *request,
				   const PxedDhcpMessage *reply, gsize max_size,
				   guint32 source_address, GError **error);

/* For tests: the IPv4 + UDP packet a unicast to a hardware address carries. */
GBytes *dhcp_build_udp_packet(guint32 source, guint16 source_port, guint32 dest, guint16 dest_port,
			      GBytes *payload);

G_END_DECLS
