/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What one host says cannot change another machine's answer: proxyDHCP
 * decisions on a real core, whose ipxe backend renders /ipxe without a query
 * for whoever is noted at the asking address (as the HTTP plugin asks it).
 * The victim, 52:54:00:00:00:01 (group victim), has 10.250.0.150; the
 * attacker, at 10.250.0.166, is 52:54:00:00:00:02 (group attacker).
 */
#include "proxy-server.h"
#include "pxed-test-core.h"

#define VICTIM	 "10.250.0.150"
#define ATTACKER "10.250.0.166"

typedef struct {
	PxedTestCore *tc;
	PxedCore *core;
	PxedProxyServer *server;
} Fixture;

static void
setup(Fixture *f, gconstpointer data)
{
	g_autofree char *conf = NULL;

	f->tc = pxed_test_core_new();
	conf = g_strdup_printf("[core]\n%s"
			       "[ipxe]\nbase-url=http://10.250.0.2:8080\n"
			       "[profile:a]\nkernel=/victim/linux\n"
			       "[profile:b]\nkernel=/attacker/linux\n"
			       "[group:victim]\nprofile=a\nselector.mac=52:54:00:00:00:01\n"
			       "[group:attacker]\nprofile=b\nselector.mac=52:54:00:00:00:02\n"
			       "[pipeline]\nboot=ipxe\nhttp=ipxe\n",
			       data != NULL ? (const char *)data : "");
	pxed_test_core_load(f->tc, conf);
	f->core = pxed_test_core_get_core(f->tc);
	f->server = proxy_server_new(pxed_test_core_instance(f->tc, "proxydhcp"));
	f->server->server_id = pxed_test_ip("10.250.0.2");
}

static void
teardown(Fixture *f, gconstpointer data)
{
	proxy_server_free(f->server);
	pxed_test_core_free(f->tc);
}

static PxedDhcpMessage *
pxe_request(guint8 type, guint8 last)
{
	PxedDhcpMessage *msg = pxed_dhcp_message_new(PXED_DHCP_OP_REQUEST);
	const guint8 mac[6] = {0x52, 0x54, 0x00, 0x00, 0x00, last};

	msg->xid = 0x1000 + last;
	memcpy(msg->chaddr, mac, 6);
	pxed_dhcp_message_set_option_u8(msg, PXED_DHCP_OPTION_MESSAGE_TYPE, type);
	pxed_dhcp_message_set_option_string(msg, PXED_DHCP_OPTION_VENDOR_CLASS,
					    "PXEClient:Arch:00000:UNDI:002001");
	pxed_dhcp_message_set_option_u16(msg, PXED_DHCP_OPTION_CLIENT_ARCH, 0);
	return msg;
}

/* Hands @msg to the proxy as if it came from @source; returns whether it
 * answered. */
static gboolean
deliver(Fixture *f, PxedDhcpMessage *msg, PxedProxyPort port, const char *source)
{
	g_autoptr(PxedClient) client = NULL;
	const char *reason = NULL;
	g_autoptr(PxedDhcpMessage) reply = proxy_server_handle(
		f->server, msg, port, source != NULL ? pxed_test_ip(source) : 0, &client, &reason);
	return reply != NULL;
}

/* The victim's own boot server request: port 4011, unicast from its address. */
static void
victim_boots(Fixture *f)
{
	g_autoptr(PxedDhcpMessage) msg = pxe_request(PXED_DHCP_REQUEST, 0x01);

	msg->ciaddr = pxed_test_ip(VICTIM);
	g_assert_true(deliver(f, msg, PROXY_PORT_PXE, VICTIM));
}

/* /ipxe without a query from @address, as the HTTP plugin serves it. */
static char *
script_for(Fixture *f, const char *address)
{
	g_autofree char *text = g_strdup_printf("ip=%s", address);
	g_autoptr(PxedClient) client = pxed_client_new_from_string(text, NULL);
	g_autoptr(GError) error = NULL;
	g_autoptr(PxedFile) file = NULL;

	pxed_client_set_via(client, PXED_VIA_HTTP);
	pxed_instance_identify_client(pxed_test_core_instance(f->tc, "tftp"), client);
	file = pxed_core_open_file(f->core, PXED_VIA_HTTP, client, "ipxe", NULL, &error);
	g_assert_no_error(error);
	return pxed_test_file_read_all(file);
}

static void
assert_victims_script(Fixture *f)
{
	g_autofree char *script = script_for(f, VICTIM);
	g_assert_nonnull(strstr(script, "is group victim"));
	g_assert_null(strstr(script, "attacker"));
}

/* Finding: one INFORM to port 4011 sent from another host, ciaddr = the
 * victim's address and the attacker's MAC, made the victim boot as the
 * attacker's group. */
static void
test_spoofed_inform(Fixture *f, gconstpointer data)
{
	const guint8 types[] = {PXED_DHCP_INFORM, PXED_DHCP_REQUEST};

	victim_boots(f);
	assert_victims_script(f);
	for (guint i = 0; i < G_N_ELEMENTS(types); i++) {
		g_autoptr(PxedDhcpMessage) spoof = pxe_request(types[i], 0x02);
		spoof->ciaddr = pxed_test_ip(VICTIM);
		deliver(f, spoof, PROXY_PORT_PXE, ATTACKER);
		assert_victims_script(f);
	}
}

/* Nor does a spoofed INFORM fill an empty slot: a machine that has not booted
 * yet is not anyone's to define. */
static void
test_spoofed_inform_empty(Fixture *f, gconstpointer data)
{
	g_autoptr(PxedDhcpMessage) spoof = pxe_request(PXED_DHCP_INFORM, 0x02);
	g_autofree char *script = NULL;

	spoof->ciaddr = pxed_test_ip(VICTIM);
	deliver(f, spoof, PROXY_PORT_PXE, ATTACKER);
	script = script_for(f, VICTIM);
	g_assert_nonnull(strstr(script, "not in the inventory"));
}

/* Finding: a broadcast REQUEST with option 50 = the victim's address did
 * the same, for two minutes. */
static void
test_claim_over_victim(Fixture *f, gconstpointer data)
{
	g_autoptr(PxedDhcpMessage) claim = pxe_request(PXED_DHCP_REQUEST, 0x02);

	victim_boots(f);
	claim->flags = PXED_DHCP_FLAG_BROADCAST;
	pxed_dhcp_message_set_option_ipv4(claim, PXED_DHCP_OPTION_SERVER_ID,
					  pxed_test_ip("10.250.0.1"));
	pxed_dhcp_message_set_option_ipv4(claim, PXED_DHCP_OPTION_REQUESTED_ADDRESS,
					  pxed_test_ip(VICTIM));
	g_assert_false(deliver(f, claim, PROXY_PORT_DHCP, NULL));
	assert_victims_script(f);
	g_assert_cmpuint(f->server->stats.not_noted, ==, 1);
}

/* identity-by-address=false: not even the victim's own request ties its
 * address to it; /ipxe without a query is the no-match script. */
static void
test_off(Fixture *f, gconstpointer data)
{
	g_autofree char *script = NULL;

	victim_boots(f);
	script = script_for(f, VICTIM);
	g_assert_nonnull(strstr(script, "not in the inventory"));
	g_assert_null(strstr(script, "is group"));
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add("/proxydhcp/identity/spoofed-inform", Fixture, NULL, setup, test_spoofed_inform,
		   teardown);
	g_test_add("/proxydhcp/identity/spoofed-inform-empty", Fixture, NULL, setup,
		   test_spoofed_inform_empty, teardown);
	g_test_add("/proxydhcp/identity/claim-over-victim", Fixture, NULL, setup,
		   test_claim_over_victim, teardown);
	g_test_add("/proxydhcp/identity/off", Fixture, "identity-by-address=false\n", setup,
		   test_off, teardown);
	return g_test_run();
}
