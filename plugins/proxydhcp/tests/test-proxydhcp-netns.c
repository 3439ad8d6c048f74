/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * proxyDHCP beside a DHCP server pxed does not control, in network namespaces
 * this test makes: three hosts on one bridge (namespace "sw") — pxed's
 * proxydhcp in "pxe" (10.250.0.2), dnsmasq as a plain DHCP server in "dns"
 * (10.250.0.1, no PXE options at all), and a crafted PXE client in "cli".
 * The client gets its address from dnsmasq and its boot file from pxed, on
 * port 67 and then on port 4011. Needs root and dnsmasq; skips otherwise.
 */
#include <unistd.h>

#include "dhcp-test-net.h"

static const char conf[] = "[proxydhcp]\n"
			   "interface=pxe0\n"
			   "\n"
			   "[scripted]\n"
			   "boot=answer\n"
			   "\n"
			   "[pipeline]\n"
			   "boot=scripted\n";

typedef struct {
	DhcpTestNet *net;
	PxedTestDaemon *daemon;
	char *dir;
} Fixture;

static void
setup(Fixture *f, gconstpointer data)
{
	const char *hosts[][2] = {{"pxe", "pxe0"}, {"dns", "dns0"}, {"cli", "cli0"}};
	const char *sw;

	if (!g_test_subprocess())
		return;
	f->dir = pxed_test_tmpdir_new();
	f->net = dhcp_test_net_new();
	sw = dhcp_test_net_add_ns(f->net, "sw");
	dhcp_test_net_ip(f->net, "-n %s link add br0 type bridge", sw);
	dhcp_test_net_ip(f->net, "-n %s link set br0 up", sw);
	for (guint i = 0; i < G_N_ELEMENTS(hosts); i++) {
		g_autofree char *port = g_strdup_printf("sw-%s", hosts[i][0]);
		dhcp_test_net_add_ns(f->net, hosts[i][0]);
		dhcp_test_net_veth(f->net, "sw", port, hosts[i][0], hosts[i][1]);
		dhcp_test_net_ip(f->net, "-n %s link set %s master br0", sw, port);
	}
	dhcp_test_net_ip(f->net, "-n %s addr add 10.250.0.2/24 dev pxe0",
			 dhcp_test_net_ns(f->net, "pxe"));
	dhcp_test_net_ip(f->net, "-n %s addr add 10.250.0.1/24 dev dns0",
			 dhcp_test_net_ns(f->net, "dns"));
}

static void
teardown(Fixture *f, gconstpointer data)
{
	if (f->daemon != NULL)
		pxed_test_daemon_stop(f->daemon);
	dhcp_test_net_free(f->net);
	pxed_test_tmpdir_free(f->dir);
}

static void
start_dnsmasq(Fixture *f)
{
	g_autofree char *leases = g_build_filename(f->dir, "dnsmasq.leases", NULL);
	g_autofree char *leasefile = g_strdup_printf("--dhcp-leasefile=%s", leases);
	const char *argv[] = {"dnsmasq",
			      "--no-daemon",
			      "--conf-file=/dev/null",
			      "--port=0",
			      "--user=root",
			      "--group=root",
			      "--pid-file=",
			      "--interface=dns0",
			      "--bind-interfaces",
			      "--no-ping",
			      "--dhcp-range=10.250.0.100,10.250.0.150,255.255.255.0,10m",
			      leasefile,
			      "--log-dhcp",
			      "--log-facility=-",
			      NULL};
	g_autoptr(GString) out = g_string_new(NULL);
	GSubprocess *dnsmasq = dhcp_test_net_spawn(f->net, "dns", argv);

	if (!dhcp_test_net_read_until(dnsmasq, "DHCP, IP range", 10000, out))
		g_error("dnsmasq did not start:\n%s", out->str);
}

static PxedDhcpMessage *
pxe_request(guint8 type, guint32 xid)
{
	PxedDhcpMessage *msg = dhcp_test_request(type, 0x30, 0x01, xid);
	const guint8 uuid[17] = {0,    0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8,
				 0xa9, 0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf, 0xb0};
	const guint8 ndi[3] = {1, 2, 1};

	pxed_dhcp_message_set_option_string(msg, PXED_DHCP_OPTION_VENDOR_CLASS,
					    "PXEClient:Arch:00000:UNDI:002001");
	pxed_dhcp_message_set_option_u16(msg, PXED_DHCP_OPTION_CLIENT_ARCH, 0);
	pxed_dhcp_message_set_option(msg, PXED_DHCP_OPTION_CLIENT_NDI, ndi, sizeof(ndi));
	pxed_dhcp_message_set_option(msg, PXED_DHCP_OPTION_CLIENT_UUID, uuid, sizeof(uuid));
	return msg;
}

static void
assert_pxed_answer(const PxedDhcpMessage *msg, PxedDhcpType type)
{
	g_autofree char *vendor = NULL;
	const guint8 *opt;
	gsize len = 0;

	g_assert_cmpuint(pxed_dhcp_message_get_type(msg), ==, type);
	g_assert_cmpuint(msg->yiaddr, ==, 0);
	g_assert_cmpstr(msg->file, ==, "scripted.0");
	g_assert_cmpuint(msg->siaddr, ==, pxed_test_ip("10.250.0.2"));
	vendor = pxed_dhcp_message_get_option_string(msg, PXED_DHCP_OPTION_VENDOR_CLASS);
	g_assert_cmpstr(vendor, ==, "PXEClient");
	opt = pxed_dhcp_message_get_option(msg, PXED_DHCP_OPTION_VENDOR_SPECIFIC, &len);
	g_assert_cmpmem(opt, len, "\x06\x01\x08\xff", 4);
	g_assert_nonnull(pxed_dhcp_message_get_option(msg, PXED_DHCP_OPTION_CLIENT_UUID, NULL));
	g_assert_null(pxed_dhcp_message_get_option(msg, PXED_DHCP_OPTION_LEASE_TIME, NULL));
}

static void
test_beside_dnsmasq(Fixture *f, gconstpointer data)
{
	const char *programs[] = {"dnsmasq", NULL};
	g_autoptr(GPtrArray) others =
		g_ptr_array_new_with_free_func((GDestroyNotify)pxed_dhcp_message_free);
	g_autoptr(PxedDhcpMessage) plain = NULL;
	g_autoptr(PxedDhcpMessage) plain_offer = NULL;
	g_autoptr(PxedDhcpMessage) discover = NULL;
	g_autoptr(PxedDhcpMessage) proxy_offer = NULL;
	g_autoptr(PxedDhcpMessage) dhcp_offer = NULL;
	g_autoptr(PxedDhcpMessage) request = NULL;
	g_autoptr(PxedDhcpMessage) dhcp_ack = NULL;
	g_autoptr(PxedDhcpMessage) boot_request = NULL;
	g_autoptr(PxedDhcpMessage) boot_ack = NULL;
	g_autofree char *address = NULL;
	g_autofree char *log = NULL;
	guint32 from = 0;
	int fd;

	if (!dhcp_test_net_isolate(programs))
		return;
	start_dnsmasq(f);
	f->daemon = dhcp_test_net_start_pxed(f->net, "pxe", conf, NULL);
	fd = dhcp_test_net_udp(f->net, "cli", "cli0", NULL, 68);

	/* a client that is no PXE firmware: dnsmasq answers, pxed stays silent */
	plain = dhcp_test_request(PXED_DHCP_DISCOVER, 0x31, 0x01, 0xe001);
	dhcp_test_send(fd, plain, "255.255.255.255", 67);
	plain_offer = dhcp_test_receive(fd, 0xe001, 10000, &from, others);
	g_assert_nonnull(plain_offer);
	g_assert_cmpuint(from, ==, pxed_test_ip("10.250.0.1"));

	/* PXE firmware's DISCOVER: two offers, combined by the firmware */
	discover = pxe_request(PXED_DHCP_DISCOVER, 0xe002);
	dhcp_test_send(fd, discover, "255.255.255.255", 67);
	while (proxy_offer == NULL || dhcp_offer == NULL) {
		PxedDhcpMessage *offer = dhcp_test_receive(fd, 0xe002, 10000, &from, others);
		g_assert_nonnull(offer);
		g_assert_cmpuint(pxed_dhcp_message_get_type(offer), ==, PXED_DHCP_OFFER);
		if (from == pxed_test_ip("10.250.0.2") && proxy_offer == NULL)
			proxy_offer = offer;
		else if (from == pxed_test_ip("10.250.0.1") && dhcp_offer == NULL)
			dhcp_offer = offer;
		else
			g_ptr_array_add(others, offer);
	}
	assert_pxed_answer(proxy_offer, PXED_DHCP_OFFER);
	/* dnsmasq gives the address and nothing PXE */
	g_assert_cmpuint(g_ntohl(dhcp_offer->yiaddr) & 0xff, >=, 100);
	g_assert_cmpuint(g_ntohl(dhcp_offer->yiaddr) & 0xff, <=, 150);
	g_assert_cmpstr(dhcp_offer->file, ==, "");
	g_assert_null(
		pxed_dhcp_message_get_option(dhcp_offer, PXED_DHCP_OPTION_VENDOR_CLASS, NULL));

	/* the lease from dnsmasq */
	request = pxe_request(PXED_DHCP_REQUEST, 0xe002);
	pxed_dhcp_message_set_option_ipv4(request, PXED_DHCP_OPTION_SERVER_ID,
					  pxed_test_ip("10.250.0.1"));
	pxed_dhcp_message_set_option_ipv4(request, PXED_DHCP_OPTION_REQUESTED_ADDRESS,
					  dhcp_offer->yiaddr);
	dhcp_test_send(fd, request, "255.255.255.255", 67);
	dhcp_ack = dhcp_test_receive(fd, 0xe002, 10000, &from, others);
	g_assert_nonnull(dhcp_ack);
	g_assert_cmpuint(from, ==, pxed_test_ip("10.250.0.1"));
	g_assert_cmpuint(pxed_dhcp_message_get_type(dhcp_ack), ==, PXED_DHCP_ACK);
	g_assert_cmpuint(dhcp_ack->yiaddr, ==, dhcp_offer->yiaddr);

	/* the firmware takes the address, then asks pxed's boot server on 4011 */
	address = dhcp_test_ip_string(dhcp_ack->yiaddr);
	dhcp_test_net_ip(f->net, "-n %s addr add %s/24 dev cli0", dhcp_test_net_ns(f->net, "cli"),
			 address);
	boot_request = pxe_request(PXED_DHCP_REQUEST, 0xe003);
	boot_request->flags = 0;
	boot_request->ciaddr = dhcp_ack->yiaddr;
	dhcp_test_send(fd, boot_request, "10.250.0.2", 4011);
	boot_ack = dhcp_test_receive(fd, 0xe003, 10000, &from, others);
	g_assert_nonnull(boot_ack);
	g_assert_cmpuint(from, ==, pxed_test_ip("10.250.0.2"));
	assert_pxed_answer(boot_ack, PXED_DHCP_ACK);
	g_assert_cmpuint(boot_ack->ciaddr, ==, dhcp_ack->yiaddr);

	/* pxed never answered the plain client, and never sent a NAK */
	for (guint i = 0; i < others->len; i++) {
		PxedDhcpMessage *msg = g_ptr_array_index(others, i);
		g_assert_cmpuint(pxed_dhcp_message_get_type(msg), !=, PXED_DHCP_NAK);
		g_assert_true(msg->xid != 0xe001 || msg->siaddr != pxed_test_ip("10.250.0.2"));
	}
	g_assert_true(pxed_test_daemon_wait_for_log(
		f->daemon, "source=proxydhcp event=ack client=52:54:00:00:30:01", 5000));
	log = pxed_test_daemon_get_log(f->daemon);
	g_assert_nonnull(strstr(log, "source=proxydhcp event=discover client=52:54:00:00:30:01"));
	g_assert_nonnull(strstr(log, "source=proxydhcp event=offer client=52:54:00:00:30:01"));
	g_assert_nonnull(strstr(log, "source=proxydhcp event=request client=52:54:00:00:30:01"));
	g_assert_null(strstr(log, "52:54:00:00:31:01"));
	g_assert_null(strstr(log, "event=nak"));
	close(fd);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add("/proxydhcp/netns/beside-dnsmasq", Fixture, NULL, setup, test_beside_dnsmasq,
		   teardown);
	return g_test_run();
}
