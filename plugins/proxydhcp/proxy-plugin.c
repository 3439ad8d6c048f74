/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * The proxydhcp protocol plugin: PXE boot answers beside a DHCP server pxed
 * does not control (PXE 2.1 §2.2). Port 67 answers a PXE DISCOVER with an
 * offer that carries no address, port 4011 answers the firmware's boot server
 * REQUEST; the firmware combines them with the DHCP server's lease. Decisions
 * are in proxy-server.c, sockets in ../dhcp/dhcp-net.c.
 */

#include <pxed/pxed.h>

#include <arpa/inet.h>

#include "dhcp-keys.h"
#include "dhcp-net.h"
#include "proxy-server.h"

#define RX_BUDGET 64

typedef struct _PxedProxy PxedProxy;

typedef struct {
	PxedProxy *proxy;
	PxedProxyPort port;
	DhcpSocket *socket;
	GSource *source;
} PxedProxyListener;

struct _PxedProxy {
	PxedInstance *instance;
	char *name;
	char *ifname;
	guint32 server_address;
	PxedProxyServer *server;
	DhcpInterface iface;
	PxedProxyListener listeners[2];
	gboolean running;
};

static const PxedKey proxy_keys[] = {
	PXED_DHCP_KEY_INTERFACE,
	PXED_DHCP_KEY_SERVER_ADDRESS,
	{.name = NULL},
};

static gpointer
proxy_new(PxedInstance *instance, GError **error)
{
	PxedProxy *self = g_new0(PxedProxy, 1);
	g_autofree char *server_address = pxed_instance_get_string(instance, "server-address");

	self->instance = pxed_instance_ref(instance);
	self->name = g_strdup(pxed_instance_get_name(instance));
	self->ifname = pxed_instance_get_string(instance, "interface");
	self->server = proxy_server_new(instance);
	if (server_address != NULL) {
		struct in_addr in;
		inet_pton(AF_INET, server_address, &in); /* validated by the core */
		self->server_address = in.s_addr;
	}
	return self;
}

static void
proxy_free(gpointer data)
{
	PxedProxy *self = data;

	g_free(self->name);
	pxed_instance_unref(self->instance);
	g_free(self->ifname);
	proxy_server_free(self->server);
	g_free(self);
}

static void
send_answer(PxedProxyListener *l, const PxedDhcpMessage *request, const PxedDhcpMessage *reply,
	    const DhcpPeer *peer, PxedClient *client)
{
	PxedProxy *self = l->proxy;
	g_autoptr(GError) error = NULL;
	const char *where;
	char to[INET_ADDRSTRLEN + 8];

	if (l->port == PROXY_PORT_PXE && peer->address != 0) {
		/* PXE 2.1 §2.2.3: the boot server answers where the request came from */
		g_autoptr(GBytes) data = pxed_dhcp_message_build(reply, 0);
		char addr[INET_ADDRSTRLEN];
		inet_ntop(AF_INET, &peer->address, addr, sizeof(addr));
		g_snprintf(to, sizeof(to), "%s:%u", addr, peer->port);
		where = dhcp_socket_send_to(l->socket, data, peer->address, peer->port, &error)
				? to
				: NULL;
	} else {
		where = dhcp_socket_send_reply(l->socket, request, reply, 0,
					       self->server->server_id, &error);
	}
	if (where == NULL) {
		g_warning("%s: answer to %s: %s", self->name, pxed_client_get_key(client),
			  error->message);
		return;
	}
	pxed_instance_event(self->instance, client,
			    pxed_dhcp_message_get_type(reply) == PXED_DHCP_OFFER ? "offer" : "ack",
			    "xid=%08x port=%u file=%s to=%s", request->xid,
			    dhcp_socket_get_port(l->socket), reply->file[0] ? reply->file : "-",
			    where);
}

static void
handle_datagram(PxedProxyListener *l, const guint8 *data, gsize len, const DhcpPeer *peer)
{
	PxedProxy *self = l->proxy;
	g_autoptr(GError) error = NULL;
	g_autoptr(PxedDhcpMessage) request = pxed_dhcp_message_parse(data, len, &error);
	g_autoptr(PxedDhcpMessage) reply = NULL;
	g_autoptr(PxedClient) client = NULL;
	const char *reason = NULL;
	char from[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &peer->address, from, sizeof(from));
	if (request == NULL) {
		g_debug("%s: malformed datagram (%zu bytes) from %s:%u: %s", self->name, len, from,
			peer->port, error->message);
		return;
	}
	if (request->op != PXED_DHCP_OP_REQUEST)
		return;
	reply = proxy_server_handle(self->server, request, l->port, peer->address, &client,
				    &reason);
	if (reply == NULL) {
		g_debug("%s: %s from %s:%u ignored: %s", self->name,
			pxed_dhcp_type_to_string(pxed_dhcp_message_get_type(request)), from,
			peer->port, reason);
		return;
	}
	pxed_instance_event(self->instance, client,
			    pxed_dhcp_message_get_type(request) == PXED_DHCP_DISCOVER ? "discover"
										      : "request",
			    "xid=%08x from=%s:%u port=%u", request->xid, from, peer->port,
			    dhcp_socket_get_port(l->socket));
	send_answer(l, request, reply, peer, client);
}

static gboolean
readable(gint fd, GIOCondition condition, gpointer user_data)
{
	PxedProxyListener *l = user_data;
	PxedProxy *self = l->proxy;

	for (guint round = 0; round < RX_BUDGET / DHCP_SOCKET_BATCH; round++) {
		guint n = dhcp_socket_receive_batch(l->socket);
		for (guint i = 0; i < n; i++) {
			DhcpPeer peer;
			gsize len = 0;
			const guint8 *data = dhcp_socket_get(l->socket, i, &len, &peer);
			if (data == NULL || peer.ifindex != self->iface.ifindex)
				continue;
			handle_datagram(l, data, len, &peer);
		}
		if (n < DHCP_SOCKET_BATCH)
			break;
	}
	return G_SOURCE_CONTINUE;
}

static void
proxy_stop(gpointer data)
{
	PxedProxy *self = data;

	for (guint i = 0; i < G_N_ELEMENTS(self->listeners); i++) {
		PxedProxyListener *l = &self->listeners[i];
		if (l->source != NULL) {
			g_source_destroy(l->source);
			g_clear_pointer(&l->source, g_source_unref);
		}
		g_clear_pointer(&l->socket, dhcp_socket_free);
	}
	if (self->running)
		g_info("%s: stopped; %" G_GUINT64_FORMAT " received, %" G_GUINT64_FORMAT
		       " offers, %" G_GUINT64_FORMAT " acks, %" G_GUINT64_FORMAT
		       " addresses noted, %" G_GUINT64_FORMAT " not taken",
		       self->name, self->server->stats.received, self->server->stats.offers,
		       self->server->stats.acks, self->server->stats.noted,
		       self->server->stats.not_noted);
	self->running = FALSE;
	dhcp_interface_clear(&self->iface);
}

static gboolean
proxy_start(gpointer data, GError **error)
{
	PxedProxy *self = data;
	static const guint16 ports[] = {PXED_DHCP_SERVER_PORT, PXED_DHCP_PXE_PORT};
	char addr[INET_ADDRSTRLEN];

	if (!dhcp_interface_lookup(self->ifname, &self->iface, error))
		return FALSE;
	self->server->server_id =
		self->server_address != 0 ? self->server_address : self->iface.address;
	for (guint i = 0; i < G_N_ELEMENTS(ports); i++) {
		PxedProxyListener *l = &self->listeners[i];
		l->proxy = self;
		l->port = i == 0 ? PROXY_PORT_DHCP : PROXY_PORT_PXE;
		l->socket = dhcp_socket_new(&self->iface, ports[i], FALSE, error);
		if (l->socket == NULL) {
			proxy_stop(self);
			return FALSE;
		}
		l->source = dhcp_socket_create_source(
			l->socket, readable, l, pxed_instance_get_main_context(self->instance));
	}
	self->running = TRUE;
	inet_ntop(AF_INET, &self->server->server_id, addr, sizeof(addr));
	pxed_instance_event(self->instance, NULL, "listening",
			    "interface=%s server=%s ports=67,4011 0.0.0.0:%u", self->ifname, addr,
			    dhcp_socket_get_port(self->listeners[0].socket));
	return TRUE;
}

PXED_PLUGIN_DEFINE(.kind = PXED_PLUGIN_KIND_PROTOCOL, .name = "proxydhcp",
		   .description = "proxyDHCP (PXE 2.1) beside a DHCP server pxed does not "
				  "control: boot answers on ports 67 and 4011, never an address",
		   .version = PXED_VERSION, .license = "LGPL-2.1-or-later", .keys = proxy_keys,
		   .instance_new = proxy_new, .instance_free = proxy_free, .start = proxy_start,
		   .stop = proxy_stop);
