/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * Addresses in the TFTP plugin: hashing and comparing peers (the key of the
 * transfer table), their text for logs and events, and the local address a
 * request arrived at. No sockets of its own, no state.
 */

#include "tftp-peer.h"

#include <string.h>

guint
pxed_tftp_peer_hash(gconstpointer key)
{
	const PxedTftpPeer *p = key;
	guint h = p->ss.ss_family;

	if (p->ss.ss_family == AF_INET) {
		const struct sockaddr_in *a = (const struct sockaddr_in *)&p->ss;
		h = h * 31 + a->sin_addr.s_addr;
		h = h * 31 + a->sin_port;
	} else if (p->ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&p->ss;
		for (guint i = 0; i < 16; i++)
			h = h * 31 + a->sin6_addr.s6_addr[i];
		h = h * 31 + a->sin6_port;
		h = h * 31 + a->sin6_scope_id;
	}
	return h;
}

gboolean
pxed_tftp_peer_equal(gconstpointer a, gconstpointer b)
{
	const PxedTftpPeer *x = a;
	const PxedTftpPeer *y = b;

	if (x->ss.ss_family != y->ss.ss_family)
		return FALSE;
	if (x->ss.ss_family == AF_INET) {
		const struct sockaddr_in *p = (const struct sockaddr_in *)&x->ss;
		const struct sockaddr_in *q = (const struct sockaddr_in *)&y->ss;
		return p->sin_port == q->sin_port && p->sin_addr.s_addr == q->sin_addr.s_addr;
	}
	if (x->ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *p = (const struct sockaddr_in6 *)&x->ss;
		const struct sockaddr_in6 *q = (const struct sockaddr_in6 *)&y->ss;
		return p->sin6_port == q->sin6_port && p->sin6_scope_id == q->sin6_scope_id &&
		       memcmp(&p->sin6_addr, &q->sin6_addr, sizeof(p->sin6_addr)) == 0;
	}
	return FALSE;
}

GInetAddress *
pxed_tftp_peer_inet_address(const PxedTftpPeer *peer)
{
	g_autoptr(GSocketAddress) address =
		g_socket_address_new_from_native((gpointer)&peer->ss, peer->len);
	if (address == NULL || !G_IS_INET_SOCKET_ADDRESS(address))
		return NULL;
	return g_object_ref(g_inet_socket_address_get_address(G_INET_SOCKET_ADDRESS(address)));
}

char *
pxed_tftp_socket_address_to_text(GSocketAddress *address)
{
	GInetSocketAddress *inet = G_INET_SOCKET_ADDRESS(address);
	g_autofree char *host = g_inet_address_to_string(g_inet_socket_address_get_address(inet));
	guint16 port = g_inet_socket_address_get_port(inet);

	if (g_inet_address_get_family(g_inet_socket_address_get_address(inet)) ==
	    G_SOCKET_FAMILY_IPV6)
		return g_strdup_printf("[%s]:%u", host, port);
	return g_strdup_printf("%s:%u", host, port);
}

char *
pxed_tftp_peer_to_text(const PxedTftpPeer *peer)
{
	g_autoptr(GSocketAddress) address =
		g_socket_address_new_from_native((gpointer)&peer->ss, peer->len);
	if (address == NULL || !G_IS_INET_SOCKET_ADDRESS(address))
		return g_strdup("unknown");
	return pxed_tftp_socket_address_to_text(address);
}

void
pxed_tftp_local_from_control(struct msghdr *msg, PxedTftpLocal *local)
{
	memset(local, 0, sizeof(*local));
	for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c != NULL; c = CMSG_NXTHDR(msg, c)) {
		if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
			struct in_pktinfo info;
			memcpy(&info, CMSG_DATA(c), sizeof(info));
			local->valid = TRUE;
			local->family = AF_INET;
			/* The local address replies should come from (for a
			 * broadcast request, the interface's own). */
			local->v4 = info.ipi_spec_dst;
			local->ifindex = (guint)info.ipi_ifindex;
		} else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
			struct in6_pktinfo info;
			memcpy(&info, CMSG_DATA(c), sizeof(info));
			local->valid = TRUE;
			local->family = AF_INET6;
			local->v6 = info.ipi6_addr;
			local->ifindex = info.ipi6_ifindex;
		}
	}
}
