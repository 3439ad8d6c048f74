/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "proxy-server.h"

ProxyServer *
proxy_server_new(const char *name, PxedContext *ctx)
{
	ProxyServer *self = g_new0(ProxyServer, 1);

	self->name = g_strdup(name);
	self->ctx = ctx;
	return self;
}

void
proxy_server_free(ProxyServer *self)
{
	if (self == NULL)
		return;
	g_free(self->name);
	g_free(self);
}

/* How long what a client says about its address is believed. ciaddr (port
 * 4011, INFORM) is an address the client holds: a boot takes minutes, the
 * lease time is the DHCP server's secret. The address a client asks the DHCP
 * server for on port 67 (option 50) is not its own yet — that server may NAK
 * it — but it is all a BIOS that skips port 4011 ever says: believed for the
 * minute or two in which PXE firmware fetches its first files. */
#define NOTE_HELD_SECONDS      3600
#define NOTE_REQUESTED_SECONDS 120

/* The DHCP server is not ours, so its leases are unknown: what a PXE client
 * says about its address is what ties later TFTP and HTTP requests to its
 * identity. */
static void
note_client(ProxyServer *self, const PxedDhcpMessage *request, PxedClient *client)
{
	guint32 address = request->ciaddr;
	guint lifetime = NOTE_HELD_SECONDS;
	g_autoptr(GInetAddress) inet = NULL;
	g_autoptr(PxedClient) noted = NULL;

	if (pxed_dhcp_message_get_type(request) != PXED_DHCP_REQUEST &&
	    pxed_dhcp_message_get_type(request) != PXED_DHCP_INFORM)
		return;
	if (!pxed_dhcp_message_is_pxe(request))
		return;
	if (address == 0) {
		pxed_dhcp_message_get_option_ipv4(request, PXED_DHCP_OPTION_REQUESTED_ADDRESS,
						  &address);
		lifetime = NOTE_REQUESTED_SECONDS;
	}
	if (address == 0)
		return;
	inet = g_inet_address_new_from_bytes((const guint8 *)&address, G_SOCKET_FAMILY_IPV4);
	pxed_client_set_address(client, inet);
	/* a copy: the boot pipeline still gets @client */
	noted = pxed_client_copy(client);
	pxed_context_note_client(self->ctx, noted, lifetime);
}

PxedDhcpMessage *
proxy_server_handle(ProxyServer *self, const PxedDhcpMessage *request, ProxyPort port,
		    PxedClient **client, const char **reason)
{
	guint8 type = pxed_dhcp_message_get_type(request);
	guint32 server_id = 0;
	PxedDhcpType answer;
	g_autoptr(GError) error = NULL;
	g_autoptr(PxedBootReply) boot = NULL;
	PxedDhcpMessage *reply;

	self->stats.received++;
	*client = pxed_dhcp_message_get_client(request);
	pxed_client_set_via(*client, PXED_VIA_PROXYDHCP);
	note_client(self, request, *client);
	*reason = NULL;
	if (request->op != PXED_DHCP_OP_REQUEST) {
		*reason = "not a BOOTREQUEST";
		self->stats.ignored++;
		return NULL;
	}
	/* PXE 2.1 §2.2.1: only firmware saying "PXEClient" in option 60 is ours. */
	if (!pxed_dhcp_message_is_pxe(request)) {
		*reason = "not a PXE client";
		self->stats.ignored++;
		return NULL;
	}
	if (port == PROXY_PORT_DHCP && type == PXED_DHCP_DISCOVER) {
		answer = PXED_DHCP_OFFER;
	} else if (port == PROXY_PORT_DHCP && type == PXED_DHCP_REQUEST &&
		   pxed_dhcp_message_get_option_ipv4(request, PXED_DHCP_OPTION_SERVER_ID,
						     &server_id) &&
		   server_id == self->server_id) {
		/* some firmware asks the proxy on port 67 after choosing its offer */
		answer = PXED_DHCP_ACK;
	} else if (port == PROXY_PORT_PXE &&
		   (type == PXED_DHCP_REQUEST || type == PXED_DHCP_INFORM)) {
		answer = PXED_DHCP_ACK; /* PXE 2.1 §2.2.3 boot server request */
	} else {
		/* the DHCP server's business: never a NAK from a proxy */
		*reason = port == PROXY_PORT_DHCP ? "not a DISCOVER for the proxy"
						  : "not a boot server REQUEST";
		self->stats.ignored++;
		return NULL;
	}
	boot = pxed_context_boot(self->ctx, *client, &error);
	if (boot == NULL) {
		*reason = "the boot pipeline has no answer for this client";
		if (!g_error_matches(error, PXED_ERROR, PXED_ERROR_NOT_FOUND))
			g_debug("%s: boot pipeline for %s: %s", self->name,
				pxed_client_get_key(*client), error->message);
		self->stats.ignored++;
		return NULL;
	}
	/* PXE 2.1 §2.2.2: a proxy offer has yiaddr 0.0.0.0 and no lease options;
	 * option 60 "PXEClient", option 43, the boot server and file. */
	reply = pxed_dhcp_message_new_reply(request, answer);
	if (answer == PXED_DHCP_ACK)
		reply->ciaddr = request->ciaddr;
	pxed_dhcp_message_set_option_ipv4(reply, PXED_DHCP_OPTION_SERVER_ID, self->server_id);
	pxed_dhcp_message_set_boot(reply, request, boot, self->server_id);
	if (answer == PXED_DHCP_OFFER)
		self->stats.offers++;
	else
		self->stats.acks++;
	return reply;
}
