/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* proxyDHCP decisions with crafted requests and a scripted boot pipeline. */
#include <arpa/inet.h>

#include "proxy-server.h"
#include "pxed-test-context.h"
#include "pxed-test.h"

typedef struct {
	PxedTestContext *tc;
	PxedProxyServer *server;
	const char *boot_file;
	PxedVia seen_via;
	PxedClient *noted;
	PxedEvidence noted_evidence;
	guint noted_lifetime;
} Fixture;

static PxedBootReply *
fake_boot(gpointer user_data, PxedClient *client, GError **error)
{
	Fixture *f = user_data;
	PxedBootReply *reply;

	f->seen_via = pxed_client_get_via(client);
	if (f->boot_file == NULL) {
		g_set_error_literal(error, PXED_ERROR, PXED_ERROR_NOT_FOUND, "declined");
		return NULL;
	}
	reply = pxed_boot_reply_new();
	pxed_boot_reply_set_filename(reply, f->boot_file);
	if (pxed_client_get_arch(client) == 7)
		pxed_boot_reply_set_next_server(reply, "10.250.0.9");
	return reply;
}

static gboolean
fake_note_client(gpointer user_data, PxedClient *client, PxedEvidence evidence, guint lifetime)
{
	Fixture *f = user_data;
	g_clear_pointer(&f->noted, pxed_client_unref);
	f->noted = pxed_client_copy(client);
	f->noted_evidence = evidence;
	f->noted_lifetime = lifetime;
	return TRUE;
}

static const PxedTestContextCallbacks fake_callbacks = {
	.boot = fake_boot,
	.note_client = fake_note_client,
};

static void
setup(Fixture *f, gconstpointer data)
{
	f->tc = pxed_test_context_new(&fake_callbacks, f);
	f->server = proxy_server_new(pxed_test_context_instance(f->tc, "proxydhcp"));
	f->server->server_id = pxed_test_ip("10.250.0.2");
	f->boot_file = "undionly.kpxe";
}

static void
teardown(Fixture *f, gconstpointer data)
{
	proxy_server_free(f->server);
	pxed_test_context_free(f->tc);
	g_clear_pointer(&f->noted, pxed_client_unref);
}

static PxedDhcpMessage *
pxe_request(guint8 type, guint16 arch)
{
	PxedDhcpMessage *msg = pxed_dhcp_message_new(PXED_DHCP_OP_REQUEST);
	const guint8 mac[6] = {0x52, 0x54, 0x00, 0xab, 0xcd, 0xef};
	guint8 uuid[17] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

	msg->xid = 0x4242;
	msg->flags = PXED_DHCP_FLAG_BROADCAST;
	memcpy(msg->chaddr, mac, 6);
	pxed_dhcp_message_set_option_u8(msg, PXED_DHCP_OPTION_MESSAGE_TYPE, type);
	pxed_dhcp_message_set_option_string(msg, PXED_DHCP_OPTION_VENDOR_CLASS,
					    "PXEClient:Arch:00000:UNDI:002001");
	pxed_dhcp_message_set_option_u16(msg, PXED_DHCP_OPTION_CLIENT_ARCH, arch);
	pxed_dhcp_message_set_option(msg, PXED_DHCP_OPTION_CLIENT_UUID, uuid, sizeof(uuid));
	return msg;
}

static void
check_pxe_answer(const PxedDhcpMessage *reply, PxedDhcpType type)
{
	g_autofree char *vendor = NULL;
	const guint8 *opt;
	gsize len = 0;

	g_assert_nonnull(reply);
	g_assert_cmpuint(pxed_dhcp_message_get_type(reply), ==, type);
	/* never an address, never lease options */
	g_assert_cmpuint(reply->yiaddr, ==, 0);
	g_assert_null(pxed_dhcp_message_get_option(reply, PXED_DHCP_OPTION_LEASE_TIME, NULL));
	g_assert_null(pxed_dhcp_message_get_option(reply, PXED_DHCP_OPTION_SUBNET_MASK, NULL));
	vendor = pxed_dhcp_message_get_option_string(reply, PXED_DHCP_OPTION_VENDOR_CLASS);
	g_assert_cmpstr(vendor, ==, "PXEClient");
	opt = pxed_dhcp_message_get_option(reply, PXED_DHCP_OPTION_VENDOR_SPECIFIC, &len);
	g_assert_cmpmem(opt, len, "\x06\x01\x08\xff", 4);
	opt = pxed_dhcp_message_get_option(reply, PXED_DHCP_OPTION_CLIENT_UUID, &len);
	g_assert_cmpuint(len, ==, 17);
	g_assert_cmpstr(reply->file, ==, "undionly.kpxe");
}

static void
test_discover_offer(Fixture *f, gconstpointer data)
{
	g_autoptr(PxedDhcpMessage) msg = pxe_request(PXED_DHCP_DISCOVER, 0);
	g_autoptr(PxedClient) client = NULL;
	const char *reason = NULL;
	g_autoptr(PxedDhcpMessage) reply =
		proxy_server_handle(f->server, msg, PROXY_PORT_DHCP, 0, &client, &reason);
	guint32 server_id = 0;

	check_pxe_answer(reply, PXED_DHCP_OFFER);
	g_assert_cmpuint(reply->siaddr, ==, pxed_test_ip("10.250.0.2"));
	g_assert_true(
		pxed_dhcp_message_get_option_ipv4(reply, PXED_DHCP_OPTION_SERVER_ID, &server_id));
	g_assert_cmpuint(server_id, ==, pxed_test_ip("10.250.0.2"));
	g_assert_cmpint(f->seen_via, ==, PXED_VIA_PROXYDHCP);
	g_assert_cmpstr(pxed_client_get_mac_string(client), ==, "52:54:00:ab:cd:ef");
}

static void
test_pxe_port_request(Fixture *f, gconstpointer data)
{
	g_autoptr(PxedDhcpMessage) msg = pxe_request(PXED_DHCP_REQUEST, 7);
	g_autoptr(PxedClient) client = NULL;
	const char *reason = NULL;
	g_autoptr(PxedDhcpMessage) reply = NULL;

	msg->ciaddr = pxed_test_ip("10.250.0.150");
	reply = proxy_server_handle(f->server, msg, PROXY_PORT_PXE, 0, &client, &reason);
	check_pxe_answer(reply, PXED_DHCP_ACK);
	g_assert_cmpuint(reply->ciaddr, ==, pxed_test_ip("10.250.0.150"));
	/* the backend's next-server wins over the proxy's own address */
	g_assert_cmpuint(reply->siaddr, ==, pxed_test_ip("10.250.0.9"));
}

static void
test_silent(Fixture *f, gconstpointer data)
{
	g_autoptr(PxedDhcpMessage) plain = pxed_dhcp_message_new(PXED_DHCP_OP_REQUEST);
	g_autoptr(PxedDhcpMessage) req67 = pxe_request(PXED_DHCP_REQUEST, 0);
	g_autoptr(PxedDhcpMessage) req67_other = pxe_request(PXED_DHCP_REQUEST, 0);
	g_autoptr(PxedDhcpMessage) discover4011 = pxe_request(PXED_DHCP_DISCOVER, 0);
	g_autoptr(PxedDhcpMessage) release = pxe_request(PXED_DHCP_RELEASE, 0);
	g_autoptr(PxedDhcpMessage) http = pxe_request(PXED_DHCP_DISCOVER, 16);
	g_autoptr(PxedDhcpMessage) pxe = pxe_request(PXED_DHCP_DISCOVER, 0);
	struct {
		PxedDhcpMessage *msg;
		PxedProxyPort port;
	} cases[] = {
		{plain, PROXY_PORT_DHCP},	{req67, PROXY_PORT_DHCP},
		{req67_other, PROXY_PORT_DHCP}, {discover4011, PROXY_PORT_PXE},
		{release, PROXY_PORT_DHCP},	{http, PROXY_PORT_DHCP},
	};

	pxed_dhcp_message_set_option_u8(plain, PXED_DHCP_OPTION_MESSAGE_TYPE, PXED_DHCP_DISCOVER);
	/* a REQUEST to the DHCP server (its server id, or none) is not the proxy's */
	pxed_dhcp_message_set_option_ipv4(req67_other, PXED_DHCP_OPTION_SERVER_ID,
					  pxed_test_ip("10.250.0.1"));
	pxed_dhcp_message_set_option_string(http, PXED_DHCP_OPTION_VENDOR_CLASS,
					    "HTTPClient:Arch:00016");
	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(PxedClient) client = NULL;
		const char *reason = NULL;
		g_autoptr(PxedDhcpMessage) reply = proxy_server_handle(
			f->server, cases[i].msg, cases[i].port, 0, &client, &reason);
		g_assert_null(reply);
		g_assert_nonnull(reason);
		g_test_message("case %u silent: %s", i, reason);
	}
	/* no boot answer: no offer at all (an offer without a file helps nobody) */
	f->boot_file = NULL;
	{
		g_autoptr(PxedClient) client = NULL;
		const char *reason = NULL;
		g_autoptr(PxedDhcpMessage) reply =
			proxy_server_handle(f->server, pxe, PROXY_PORT_DHCP, 0, &client, &reason);
		g_assert_null(reply);
	}
}

static void
test_request_67_for_us(Fixture *f, gconstpointer data)
{
	g_autoptr(PxedDhcpMessage) msg = pxe_request(PXED_DHCP_REQUEST, 0);
	g_autoptr(PxedClient) client = NULL;
	const char *reason = NULL;
	g_autoptr(PxedDhcpMessage) reply = NULL;

	pxed_dhcp_message_set_option_ipv4(msg, PXED_DHCP_OPTION_SERVER_ID,
					  pxed_test_ip("10.250.0.2"));
	reply = proxy_server_handle(f->server, msg, PROXY_PORT_DHCP, 0, &client, &reason);
	check_pxe_answer(reply, PXED_DHCP_ACK);
}

/* The client's REQUEST to the real DHCP server (port 67, option 50) and its
 * boot server request (port 4011, ciaddr) tie its address to its identity;
 * a DISCOVER (no address yet) and a non-PXE client do not. */
static void
test_notes_address(Fixture *f, gconstpointer data)
{
	g_autoptr(PxedDhcpMessage) discover = pxe_request(PXED_DHCP_DISCOVER, 7);
	g_autoptr(PxedDhcpMessage) other = pxe_request(PXED_DHCP_REQUEST, 7);
	g_autoptr(PxedDhcpMessage) port4011 = pxe_request(PXED_DHCP_REQUEST, 7);
	g_autoptr(PxedDhcpMessage) plain = pxed_dhcp_message_new(PXED_DHCP_OP_REQUEST);
	const char *reason = NULL;

	{
		g_autoptr(PxedClient) c = NULL;
		g_autoptr(PxedDhcpMessage) r =
			proxy_server_handle(f->server, discover, PROXY_PORT_DHCP, 0, &c, &reason);
		g_assert_null(f->noted);
	}
	pxed_dhcp_message_set_option_ipv4(other, PXED_DHCP_OPTION_SERVER_ID,
					  pxed_test_ip("10.250.0.1"));
	pxed_dhcp_message_set_option_ipv4(other, PXED_DHCP_OPTION_REQUESTED_ADDRESS,
					  pxed_test_ip("10.250.0.150"));
	{
		g_autoptr(PxedClient) c = NULL;
		g_autoptr(PxedDhcpMessage) r =
			proxy_server_handle(f->server, other, PROXY_PORT_DHCP, 0, &c, &reason);
		g_autofree char *address = NULL;
		g_assert_null(r); /* the DHCP server's business */
		g_assert_nonnull(f->noted);
		address = g_inet_address_to_string(pxed_client_get_address(f->noted));
		g_assert_cmpstr(address, ==, "10.250.0.150");
		g_assert_cmpstr(pxed_client_get_mac_string(f->noted), ==, "52:54:00:ab:cd:ef");
		g_assert_cmpint(pxed_client_get_arch(f->noted), ==, 7);
		/* asked for, not yet granted: believed briefly */
		g_assert_cmpuint(f->noted_lifetime, >, 0);
		g_assert_cmpuint(f->noted_lifetime, <=, 300);
	}
	port4011->ciaddr = pxed_test_ip("10.250.0.151");
	{
		g_autoptr(PxedClient) c = NULL;
		g_autoptr(PxedDhcpMessage) r =
			proxy_server_handle(f->server, port4011, PROXY_PORT_PXE,
					    pxed_test_ip("10.250.0.151"), &c, &reason);
		g_autofree char *address = NULL;
		g_assert_nonnull(r);
		address = g_inet_address_to_string(pxed_client_get_address(f->noted));
		g_assert_cmpstr(address, ==, "10.250.0.151");
		/* held (ciaddr): believed for the length of a boot */
		g_assert_cmpuint(f->noted_lifetime, >=, 3600);
	}
	g_clear_pointer(&f->noted, pxed_client_unref);
	plain->xid = 9;
	memcpy(plain->chaddr, "\x52\x54\x00\x00\x00\x09", 6);
	plain->ciaddr = pxed_test_ip("10.250.0.152");
	pxed_dhcp_message_set_option_u8(plain, PXED_DHCP_OPTION_MESSAGE_TYPE, PXED_DHCP_REQUEST);
	{
		g_autoptr(PxedClient) c = NULL;
		g_autoptr(PxedDhcpMessage) r =
			proxy_server_handle(f->server, plain, PROXY_PORT_DHCP, 0, &c, &reason);
		g_assert_null(f->noted);
	}
}

/* ciaddr is the sender's word about its own address, believed only from that
 * address: a port 4011 REQUEST or an INFORM sent from elsewhere with
 * ciaddr = another machine's address is answered (to its real source) but
 * noted nowhere. */
static void
test_spoofed_ciaddr(Fixture *f, gconstpointer data)
{
	const guint8 types[] = {PXED_DHCP_REQUEST, PXED_DHCP_INFORM};

	for (guint i = 0; i < G_N_ELEMENTS(types); i++) {
		g_autoptr(PxedDhcpMessage) msg = pxe_request(types[i], 7);
		g_autoptr(PxedClient) c = NULL;
		g_autoptr(PxedDhcpMessage) r = NULL;
		const char *reason = NULL;

		msg->flags = 0;
		msg->ciaddr = pxed_test_ip("10.250.0.150");
		r = proxy_server_handle(f->server, msg, PROXY_PORT_PXE,
					pxed_test_ip("10.250.0.166"), &c, &reason);
		g_assert_nonnull(r);
		g_assert_null(f->noted);
		/* from the address itself: a note, as SOURCE evidence */
		g_clear_pointer(&r, pxed_dhcp_message_free);
		g_clear_pointer(&c, pxed_client_unref);
		r = proxy_server_handle(f->server, msg, PROXY_PORT_PXE,
					pxed_test_ip("10.250.0.150"), &c, &reason);
		g_assert_nonnull(r);
		g_assert_nonnull(f->noted);
		g_assert_cmpint(f->noted_evidence, ==, PXED_EVIDENCE_SOURCE);
		g_assert_cmpstr(pxed_client_get_address_string(f->noted), ==, "10.250.0.150");
		g_clear_pointer(&f->noted, pxed_client_unref);
	}
}

/* Option 50 in a broadcast REQUEST is a claim, noted as such; an address no
 * machine can have (broadcast, multicast, loopback) is not noted at all. */
static void
test_claim_evidence(Fixture *f, gconstpointer data)
{
	const char *bogus[] = {"255.255.255.255", "224.0.0.1", "127.0.0.1"};
	g_autoptr(PxedDhcpMessage) msg = pxe_request(PXED_DHCP_REQUEST, 0);
	const char *reason = NULL;

	pxed_dhcp_message_set_option_ipv4(msg, PXED_DHCP_OPTION_SERVER_ID,
					  pxed_test_ip("10.250.0.1"));
	pxed_dhcp_message_set_option_ipv4(msg, PXED_DHCP_OPTION_REQUESTED_ADDRESS,
					  pxed_test_ip("10.250.0.150"));
	{
		g_autoptr(PxedClient) c = NULL;
		g_autoptr(PxedDhcpMessage) r =
			proxy_server_handle(f->server, msg, PROXY_PORT_DHCP, 0, &c, &reason);
		g_assert_null(r);
		g_assert_nonnull(f->noted);
		g_assert_cmpint(f->noted_evidence, ==, PXED_EVIDENCE_CLAIM);
		g_clear_pointer(&f->noted, pxed_client_unref);
	}
	for (guint i = 0; i < G_N_ELEMENTS(bogus); i++) {
		g_autoptr(PxedClient) c = NULL;
		g_autoptr(PxedDhcpMessage) r = NULL;
		pxed_dhcp_message_set_option_ipv4(msg, PXED_DHCP_OPTION_REQUESTED_ADDRESS,
						  pxed_test_ip(bogus[i]));
		r = proxy_server_handle(f->server, msg, PROXY_PORT_DHCP, 0, &c, &reason);
		g_assert_null(f->noted);
	}
}

/* A request the proxy does not answer leaves no note: here the boot
 * pipeline has nothing for the client. */
static void
test_unanswered_not_noted(Fixture *f, gconstpointer data)
{
	g_autoptr(PxedDhcpMessage) msg = pxe_request(PXED_DHCP_REQUEST, 7);
	g_autoptr(PxedClient) c = NULL;
	g_autoptr(PxedDhcpMessage) r = NULL;
	const char *reason = NULL;

	f->boot_file = NULL;
	msg->flags = 0;
	msg->ciaddr = pxed_test_ip("10.250.0.150");
	r = proxy_server_handle(f->server, msg, PROXY_PORT_PXE, pxed_test_ip("10.250.0.150"), &c,
				&reason);
	g_assert_null(r);
	g_assert_null(f->noted);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
#define ADD(name, func) g_test_add(name, Fixture, NULL, setup, func, teardown)
	ADD("/proxydhcp/discover-offer", test_discover_offer);
	ADD("/proxydhcp/pxe-port-request", test_pxe_port_request);
	ADD("/proxydhcp/silent", test_silent);
	ADD("/proxydhcp/request-67-for-us", test_request_67_for_us);
	ADD("/proxydhcp/notes-address", test_notes_address);
	ADD("/proxydhcp/spoofed-ciaddr", test_spoofed_ciaddr);
	ADD("/proxydhcp/claim-evidence", test_claim_evidence);
	ADD("/proxydhcp/unanswered-not-noted", test_unanswered_not_noted);
#undef ADD
	return g_test_run();
}
