/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "dhcp-net.h"

#include <glib-unix.h>

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Larger than any DHCP message on an Ethernet with jumbo frames. */
#define RX_SLOT 9216

typedef struct {
	struct sockaddr_in from;
	union {
		char buf[CMSG_SPACE(sizeof(struct in_pktinfo))];
		struct cmsghdr align;
	} control;
	struct iovec iov;
} RxSlot;

struct _DhcpSocket {
	int fd;
	guint8 *rx_data;  /* DHCP_SOCKET_BATCH slots of RX_SLOT bytes */
	RxSlot *rx_slots; /* DHCP_SOCKET_BATCH */
	struct mmsghdr *rx_msgs;
	int raw_fd; /* AF_PACKET, or -1 */
	guint ifindex;
	guint16 port;
	char *ifname;
};

gboolean
dhcp_interface_lookup(const char *name, DhcpInterface *iface, GError **error)
{
	struct ifaddrs *list = NULL;
	gboolean found = FALSE;

	memset(iface, 0, sizeof(*iface));
	iface->ifindex = if_nametoindex(name);
	if (iface->ifindex == 0) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "no network interface '%s'",
			    name);
		return FALSE;
	}
	if (getifaddrs(&list) != 0) {
		int saved = errno;
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(saved),
			    "cannot list interface addresses: %s", g_strerror(saved));
		return FALSE;
	}
	for (struct ifaddrs *ifa = list; ifa != NULL; ifa = ifa->ifa_next) {
		if (ifa->ifa_addr == NULL || ifa->ifa_addr->sa_family != AF_INET ||
		    g_strcmp0(ifa->ifa_name, name) != 0)
			continue;
		iface->address = ((struct sockaddr_in *)ifa->ifa_addr)->sin_addr.s_addr;
		iface->netmask = ifa->ifa_netmask != NULL
					 ? ((struct sockaddr_in *)ifa->ifa_netmask)->sin_addr.s_addr
					 : G_MAXUINT32;
		found = TRUE;
		break;
	}
	freeifaddrs(list);
	if (!found) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
			    "network interface '%s' has no IPv4 address", name);
		return FALSE;
	}
	iface->name = g_strdup(name);
	return TRUE;
}

void
dhcp_interface_clear(DhcpInterface *iface)
{
	g_clear_pointer(&iface->name, g_free);
}

static gboolean
set_option(int fd, int level, int name, const void *value, socklen_t len, const char *what,
	   GError **error)
{
	if (setsockopt(fd, level, name, value, len) == 0)
		return TRUE;
	int saved = errno;
	g_set_error(error, G_IO_ERROR, g_io_error_from_errno(saved), "%s: %s", what,
		    g_strerror(saved));
	return FALSE;
}

DhcpSocket *
dhcp_socket_new(const DhcpInterface *iface, guint16 port, gboolean raw, GError **error)
{
	DhcpSocket *self = g_new0(DhcpSocket, 1);
	struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = g_htons(port)};
	socklen_t addr_len = sizeof(addr);
	int one = 1;

	self->raw_fd = -1;
	self->ifindex = iface->ifindex;
	self->ifname = g_strdup(iface->name);
	self->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_UDP);
	if (self->fd < 0) {
		int saved = errno;
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(saved), "socket: %s",
			    g_strerror(saved));
		dhcp_socket_free(self);
		return NULL;
	}
	/* Bound to the interface: datagrams of other interfaces never arrive here,
	 * and ours never leave by another one. Several instances (one per
	 * interface) share the port. */
	if (!set_option(self->fd, SOL_SOCKET, SO_BINDTODEVICE, iface->name,
			(socklen_t)strlen(iface->name), "SO_BINDTODEVICE", error) ||
	    !set_option(self->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one), "SO_REUSEADDR",
			error) ||
	    !set_option(self->fd, SOL_SOCKET, SO_BROADCAST, &one, sizeof(one), "SO_BROADCAST",
			error) ||
	    !set_option(self->fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one), "IP_PKTINFO", error)) {
		dhcp_socket_free(self);
		return NULL;
	}
	if (bind(self->fd, (struct sockaddr *)&addr, sizeof(addr)) != 0) {
		int saved = errno;
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(saved),
			    "cannot bind 0.0.0.0:%u on %s: %s", port, iface->name,
			    g_strerror(saved));
		dhcp_socket_free(self);
		return NULL;
	}
	/* Room for bursts (a segment's clients powered on at once): root may go
	 * past net.core.rmem_max, others get what it allows. */
	{
		int size = 4 * 1024 * 1024;
		if (setsockopt(self->fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) != 0)
			setsockopt(self->fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	}
	getsockname(self->fd, (struct sockaddr *)&addr, &addr_len);
	self->port = g_ntohs(addr.sin_port);
	if (raw) {
		/* protocol 0: this socket only sends, it receives nothing */
		self->raw_fd = socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (self->raw_fd < 0)
			g_warning("%s: no packet socket (%s): replies to clients without an "
				  "address are broadcast",
				  iface->name, g_strerror(errno));
	}
	return self;
}

void
dhcp_socket_free(DhcpSocket *self)
{
	if (self == NULL)
		return;
	if (self->fd >= 0)
		close(self->fd);
	if (self->raw_fd >= 0)
		close(self->raw_fd);
	g_free(self->rx_data);
	g_free(self->rx_slots);
	g_free(self->rx_msgs);
	g_free(self->ifname);
	g_free(self);
}

guint16
dhcp_socket_get_port(DhcpSocket *self)
{
	return self->port;
}

GSource *
dhcp_socket_create_source(DhcpSocket *self, GUnixFDSourceFunc func, gpointer user_data,
			  GMainContext *context)
{
	GSource *source = g_unix_fd_source_new(self->fd, G_IO_IN);

	g_source_set_callback(source, G_SOURCE_FUNC(func), user_data, NULL);
	g_source_attach(source, context);
	return source;
}

guint
dhcp_socket_receive_batch(DhcpSocket *self)
{
	int n;

	if (self->rx_msgs == NULL) {
		self->rx_data = g_malloc(DHCP_SOCKET_BATCH * RX_SLOT);
		self->rx_slots = g_new0(RxSlot, DHCP_SOCKET_BATCH);
		self->rx_msgs = g_new0(struct mmsghdr, DHCP_SOCKET_BATCH);
	}
	for (guint i = 0; i < DHCP_SOCKET_BATCH; i++) {
		RxSlot *slot = &self->rx_slots[i];
		struct msghdr *msg = &self->rx_msgs[i].msg_hdr;
		slot->iov.iov_base = self->rx_data + (gsize)i * RX_SLOT;
		slot->iov.iov_len = RX_SLOT;
		msg->msg_name = &slot->from;
		msg->msg_namelen = sizeof(slot->from);
		msg->msg_iov = &slot->iov;
		msg->msg_iovlen = 1;
		msg->msg_control = slot->control.buf;
		msg->msg_controllen = sizeof(slot->control.buf);
		msg->msg_flags = 0;
	}
	do
		n = recvmmsg(self->fd, self->rx_msgs, DHCP_SOCKET_BATCH, MSG_DONTWAIT, NULL);
	while (n < 0 && errno == EINTR);
	return n > 0 ? (guint)n : 0;
}

const guint8 *
dhcp_socket_get(DhcpSocket *self, guint i, gsize *len, DhcpPeer *peer)
{
	struct msghdr *msg = &self->rx_msgs[i].msg_hdr;
	RxSlot *slot = &self->rx_slots[i];

	memset(peer, 0, sizeof(*peer));
	peer->address = slot->from.sin_addr.s_addr;
	peer->port = g_ntohs(slot->from.sin_port);
	peer->ifindex = self->ifindex;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c != NULL; c = CMSG_NXTHDR(msg, c)) {
		if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
			struct in_pktinfo info;
			memcpy(&info, CMSG_DATA(c), sizeof(info));
			peer->ifindex = (guint)info.ipi_ifindex;
			peer->local = info.ipi_addr.s_addr;
		}
	}
	*len = self->rx_msgs[i].msg_len;
	if (msg->msg_flags & MSG_TRUNC)
		return NULL;
	return slot->iov.iov_base;
}

gboolean
dhcp_socket_send_to(DhcpSocket *self, GBytes *data, guint32 address, guint16 port, GError **error)
{
	struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = g_htons(port)};
	gsize len = 0;
	const guint8 *bytes = g_bytes_get_data(data, &len);
	ssize_t n;

	to.sin_addr.s_addr = address;
	do
		n = sendto(self->fd, bytes, len, MSG_DONTWAIT, (struct sockaddr *)&to, sizeof(to));
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		int saved = errno;
		char buf[INET_ADDRSTRLEN];
		inet_ntop(AF_INET, &address, buf, sizeof(buf));
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(saved), "send to %s:%u: %s",
			    buf, port, g_strerror(saved));
		return FALSE;
	}
	return TRUE;
}

/* RFC 1071 one's complement sum. */
static guint32
checksum_add(guint32 sum, const guint8 *data, gsize len)
{
	for (gsize i = 0; i + 1 < len; i += 2)
		sum += (guint32)(data[i] << 8 | data[i + 1]);
	if (len & 1)
		sum += (guint32)(data[len - 1] << 8);
	return sum;
}

static guint16
checksum_fold(guint32 sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (guint16)~sum;
}

GBytes *
dhcp_build_udp_packet(guint32 source, guint16 source_port, guint32 dest, guint16 dest_port,
		      GBytes *payload)
{
	gsize len = 0;
	const guint8 *data = g_bytes_get_data(payload, &len);
	gsize total = 20 + 8 + len;
	guint8 *packet = g_malloc0(total);
	guint8 *ip = packet;
	guint8 *udp = packet + 20;
	guint8 pseudo[12];
	guint32 sum;
	guint16 csum;

	/* RFC 791 header: version 4, 5 words, low-delay TOS, no fragments. */
	ip[0] = 0x45;
	ip[1] = 0x10;
	ip[2] = (guint8)(total >> 8);
	ip[3] = (guint8)total;
	ip[8] = 64; /* TTL */
	ip[9] = IPPROTO_UDP;
	memcpy(ip + 12, &source, 4);
	memcpy(ip + 16, &dest, 4);
	csum = checksum_fold(checksum_add(0, ip, 20));
	ip[10] = (guint8)(csum >> 8);
	ip[11] = (guint8)csum;

	/* RFC 768 */
	udp[0] = (guint8)(source_port >> 8);
	udp[1] = (guint8)source_port;
	udp[2] = (guint8)(dest_port >> 8);
	udp[3] = (guint8)dest_port;
	udp[4] = (guint8)((8 + len) >> 8);
	udp[5] = (guint8)(8 + len);
	memcpy(udp + 8, data, len);
	memcpy(pseudo, &source, 4);
	memcpy(pseudo + 4, &dest, 4);
	pseudo[8] = 0;
	pseudo[9] = IPPROTO_UDP;
	pseudo[10] = udp[4];
	pseudo[11] = udp[5];
	sum = checksum_add(checksum_add(0, pseudo, sizeof(pseudo)), udp, 8 + len);
	csum = checksum_fold(sum);
	if (csum == 0)
		csum = 0xffff; /* RFC 768: zero means "no checksum" */
	udp[6] = (guint8)(csum >> 8);
	udp[7] = (guint8)csum;
	return g_bytes_new_take(packet, total);
}

static gboolean
send_to_hwaddr(DhcpSocket *self, GBytes *payload, const PxedDhcpMessage *reply,
	       guint32 source_address, GError **error)
{
	g_autoptr(GBytes) packet =
		dhcp_build_udp_packet(source_address, PXED_DHCP_SERVER_PORT, reply->yiaddr,
				      PXED_DHCP_CLIENT_PORT, payload);
	struct sockaddr_ll to = {
		.sll_family = AF_PACKET,
		.sll_protocol = g_htons(ETH_P_IP),
		.sll_ifindex = (int)self->ifindex,
		.sll_halen = reply->hlen,
	};
	gsize len = 0;
	const guint8 *bytes = g_bytes_get_data(packet, &len);
	ssize_t n;

	memcpy(to.sll_addr, reply->chaddr, MIN(reply->hlen, sizeof(to.sll_addr)));
	do
		n = sendto(self->raw_fd, bytes, len, MSG_DONTWAIT, (struct sockaddr *)&to,
			   sizeof(to));
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		int saved = errno;
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(saved),
			    "send to hardware address on %s: %s", self->ifname, g_strerror(saved));
		return FALSE;
	}
	return TRUE;
}

const char *
dhcp_socket_send_reply(DhcpSocket *self, const PxedDhcpMessage *request,
		       const PxedDhcpMessage *reply, gsize max_size, guint32 source_address,
		       GError **error)
{
	g_autoptr(GBytes) data = pxed_dhcp_message_build(reply, max_size);
	guint8 type = pxed_dhcp_message_get_type(reply);

	/* RFC 2131 §4.1, "If the 'giaddr' field in a DHCP message from a client is
	 * non-zero, the server sends any return messages to the 'DHCP server' port
	 * on the BOOTP relay agent whose address appears in 'giaddr'." */
	if (request->giaddr != 0)
		return dhcp_socket_send_to(self, data, request->giaddr, PXED_DHCP_SERVER_PORT,
					   error)
			       ? "relay"
			       : NULL;
	/* "… and the 'ciaddr' field is nonzero, then the server unicasts DHCPOFFER
	 * and DHCPACK messages to the address in 'ciaddr'." */
	if (request->ciaddr != 0 && type != PXED_DHCP_NAK)
		return dhcp_socket_send_to(self, data, request->ciaddr, PXED_DHCP_CLIENT_PORT,
					   error)
			       ? "ciaddr"
			       : NULL;
	/* "… broadcasts any DHCPNAK messages"; "If … the broadcast bit is set, then
	 * the server broadcasts …"; "… unicasts DHCPOFFER and DHCPACK messages to the
	 * client's hardware address and 'yiaddr' address." */
	if (type != PXED_DHCP_NAK && !(request->flags & PXED_DHCP_FLAG_BROADCAST) &&
	    reply->yiaddr != 0 && self->raw_fd >= 0 && reply->htype == 1 && reply->hlen == 6)
		return send_to_hwaddr(self, data, reply, source_address, error) ? "unicast" : NULL;
	return dhcp_socket_send_to(self, data, INADDR_BROADCAST, PXED_DHCP_CLIENT_PORT, error)
		       ? "broadcast"
		       : NULL;
}
