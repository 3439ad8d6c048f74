/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "proxy-server.h"

PxedProxyServer *
proxy_server_new(PxedInstance *instance)
{
	PxedProxyServer *self = g_new0(PxedProxyServer, 1);

	self->name = g_strdup(pxed_instance_get_name(instance));
	self->instance = pxed_instance_ref(instance);
	return self;
}

void
proxy_server_free(PxedProxyServer *self)
{
	if (self == NULL)
		return;
	g_free(self->name);
	pxed_instance_unref(self->instance);
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

#define NO_EVIDENCE ((PxedEvidence)0) /* the request proves no address */

/* An address a machine can be at: not 0.0.0.0, 127/8, 224/4 and above
 * (multicast, reserved, the broadcast address). */
static gboolean
is_host_address(guint32 address)
{
	guint32 host = g_ntohl(address);
	return host != 0 && (host >> 24) != 127 && (host >> 28) < 14;
}

/* What @request proves about its sender's address, and for how long
 * (NO_EVIDENCE: nothing). ciaddr counts when the packet came from it — a port 4011
 * unicast or an INFORM (RFC 2131 §4.4.3: the client has its address) — as
 * anyone can write any ciaddr into a packet sent from elsewhere. A broadcast
 * REQUEST's option 50 is a claim: the sender has no address yet
 * (RFC 2131 §4.3.2), so nothing ties it to that one. */
static PxedEvidence
evidence_of(const PxedDhcpMessage *request, guint32 source, guint32 *address, guint *lifetime)
{
	guint8 type = pxed_dhcp_message_get_type(request);
	guint32 requested = 0;

	*address = 0;
	if (type != PXED_DHCP_REQUEST && type != PXED_DHCP_INFORM)
		return NO_EVIDENCE;
	if (request->ciaddr != 0) {
		if (source != request->ciaddr || !is_host_address(request->ciaddr))
			return NO_EVIDENCE; /* spoofed, or relayed: nothing to check it by */
		*address = request->ciaddr;
		*lifetime = NOTE_HELD_SECONDS;
		return PXED_EVIDENCE_SOURCE;
	}
	if (type != PXED_DHCP_REQUEST ||
	    !pxed_dhcp_message_get_option_ipv4(request, PXED_DHCP_OPTION_REQUESTED_ADDRESS,
					       &requested) ||
	    !is_host_address(requested))
		return NO_EVIDENCE;
	*address = requested;
	*lifetime = NOTE_REQUESTED_SECONDS;
	return PXED_EVIDENCE_CLAIM;
}

/* The DHCP server is not ours, so its leases are unknown: what a PXE client
 * proves about its address is what ties later TFTP and HTTP requests to its
 * identity. Called only for requests already validated (a PXE client's
 * REQUEST or INFORM, with a MAC), so that a packet the proxy would drop
 * cannot leave a note behind. */
static void
note_client(PxedProxyServer *self, PxedClient *client, PxedEvidence evidence, guint lifetime)
{
	g_autoptr(PxedClient) noted = NULL;

	if (evidence == NO_EVIDENCE || pxed_client_get_address(client) == NULL ||
	    pxed_client_get_mac_string(client) == NULL)
		return;
	/* a copy: the caller still has @client */
	noted = pxed_client_copy(client);
	if (pxed_instance_note_client(self->instance, noted, evidence, lifetime))
		self->stats.noted++;
	else
		self->stats.not_noted++;
}

PxedDhcpMessage *
proxy_server_handle(PxedProxyServer *self, const PxedDhcpMessage *request, PxedProxyPort port,
		    guint32 source, PxedClient **client, const char **reason)
{
	guint8 type = pxed_dhcp_message_get_type(request);
	guint32 server_id = 0;
	PxedDhcpType answer;
	g_autoptr(GError) error = NULL;
	g_autoptr(PxedBootReply) boot = NULL;
	PxedDhcpMessage *reply;
	guint32 address = 0;
	guint lifetime = 0;
	PxedEvidence evidence = evidence_of(request, source, &address, &lifetime);

	self->stats.received++;
	*client = pxed_dhcp_message_get_client(request);
	pxed_client_set_via(*client, PXED_VIA_PROXYDHCP);
	if (evidence != NO_EVIDENCE) {
		g_autoptr(GInetAddress) inet = g_inet_address_new_from_bytes(
			(const guint8 *)&address, G_SOCKET_FAMILY_IPV4);
		pxed_client_set_address(*client, inet);
	}
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
		/* The firmware's REQUEST to the DHCP server is not the proxy's to
		 * answer, but its option 50 is all a BIOS that skips port 4011
		 * says about its address. */
		if (port == PROXY_PORT_DHCP && type == PXED_DHCP_REQUEST)
			note_client(self, *client, evidence, lifetime);
		/* the DHCP server's business: never a NAK from a proxy */
		*reason = port == PROXY_PORT_DHCP ? "not a DISCOVER for the proxy"
						  : "not a boot server REQUEST";
		self->stats.ignored++;
		return NULL;
	}
	boot = pxed_instance_boot(self->instance, *client, &error);
	if (boot == NULL) {
		*reason = "the boot pipeline has no answer for this client";
		if (!g_error_matches(error, PXED_ERROR, PXED_ERROR_NOT_FOUND))
			g_debug("%s: boot pipeline for %s: %s", self->name,
				pxed_client_get_key(*client), error->message);
		self->stats.ignored++;
		return NULL;
	}
	/* answered: what it says about its address is believed as far as it proves it */
	note_client(self, *client, evidence, lifetime);
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
