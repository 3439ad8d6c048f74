/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The dhcp plugin against real clients, inside network namespaces this test
 * makes: pxed in "srv" on srv0 (10.250.0.1/24), clients in "cli" on the other
 * end of a veth pair. Needs root; skips otherwise.
 *
 * - Debian's dhclient and busybox udhcpc obtain leases with the right options
 * - a restart after kill -9 keeps every acknowledged lease
 * - a relayed request (crafted, with giaddr) gets an address from the relay's pool
 * - nothing is received or sent on an interface that is not configured
 * - HTTP and TFTP requests without identity are the leased machine's
 */
#include <signal.h>
#include <unistd.h>

#include "dhcp-test-net.h"

#define WAIT_MS 20000

static const char conf[] = "[dhcp]\n"
			   "interface=srv0\n"
			   "range=10.250.0.100;10.250.0.199\n"
			   "router=10.250.0.1\n"
			   "dns=10.250.0.1\n"
			   "domain=pxed.test\n"
			   "lease-time=600\n"
			   "pool.lab.subnet=10.250.7.0/24\n"
			   "pool.lab.range=10.250.7.50-10.250.7.60\n"
			   "pool.lab.router=10.250.7.1\n"
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
	if (!g_test_subprocess())
		return; /* the parent only runs the child and cleans up after it */
	f->dir = pxed_test_tmpdir_new();
	f->net = dhcp_test_net_new();
	dhcp_test_net_add_pair(f->net, "10.250.0.1/24");
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
start_pxed(Fixture *f, const char *state)
{
	f->daemon = dhcp_test_net_start_pxed(f->net, "srv", conf, state);
}

static void
assert_in_range(const char *address, guint first, guint last)
{
	guint32 host = g_ntohl(pxed_test_ip(address));
	g_assert_cmpuint(host & 0xff, >=, first);
	g_assert_cmpuint(host & 0xff, <=, last);
	g_assert_cmpuint(host >> 8, ==, g_ntohl(pxed_test_ip("10.250.0.0")) >> 8);
}

/* Every step of an exchange is in the event log under the client's MAC. */
static void
assert_events(Fixture *f, const char *mac)
{
	const char *events[] = {"discover", "offer", "request", "ack"};

	for (guint i = 0; i < G_N_ELEMENTS(events); i++) {
		g_autofree char *needle =
			g_strdup_printf("source=dhcp event=%s client=%s", events[i], mac);
		if (!pxed_test_daemon_wait_for_log(f->daemon, needle, 5000)) {
			g_autofree char *log = pxed_test_daemon_get_log(f->daemon);
			g_error("no '%s' in the log:\n%s", needle, log);
		}
	}
}

static void
test_dhclient(Fixture *f, gconstpointer data)
{
	const char *programs[] = {"dhclient", NULL};
	g_autofree char *script = NULL;
	g_autofree char *cf = NULL;
	g_autofree char *leases = NULL;
	g_autofree char *pidfile = NULL;
	g_autoptr(GString) out = g_string_new(NULL);
	g_autofree char *ip = NULL;
	g_autofree char *mask = NULL;
	g_autofree char *routers = NULL;
	g_autofree char *dns = NULL;
	g_autofree char *domain = NULL;
	g_autofree char *lease = NULL;
	g_autofree char *file = NULL;
	g_autofree char *mac = NULL;
	g_autofree char *unicast = NULL;
	GSubprocess *dhclient;

	if (!dhcp_test_net_isolate(programs))
		return;
	start_pxed(f, NULL);
	/* the script only reports: it configures nothing */
	script = pxed_test_write_script(f->dir, "dhclient-script",
					"#!/bin/sh\n"
					"echo \"dhclient reason=$reason ip=$new_ip_address "
					"mask=$new_subnet_mask routers=$new_routers "
					"dns=$new_domain_name_servers domain=$new_domain_name "
					"lease=$new_dhcp_lease_time file=$new_filename end\"\n");
	pxed_test_write_file(f->dir, "dhclient.conf",
			     "request subnet-mask, routers, domain-name, domain-name-servers;\n"
			     "timeout 30;\n");
	cf = g_build_filename(f->dir, "dhclient.conf", NULL);
	leases = g_build_filename(f->dir, "dhclient.leases", NULL);
	pidfile = g_build_filename(f->dir, "dhclient.pid", NULL);
	{
		const char *argv[] = {"dhclient", "-d",	 "-1",	 "-v",	"-cf",	 cf,	 "-sf",
				      script,	  "-lf", leases, "-pf", pidfile, "cli0", NULL};
		dhclient = dhcp_test_net_spawn(f->net, "cli", argv);
	}
	if (!dhcp_test_net_read_until(dhclient, "reason=BOUND", WAIT_MS, out)) {
		g_autofree char *log = pxed_test_daemon_get_log(f->daemon);
		g_error("dhclient got no lease; it said:\n%s\npxed:\n%s", out->str, log);
	}
	ip = dhcp_test_field(out->str, "reason=BOUND", "ip");
	mask = dhcp_test_field(out->str, "reason=BOUND", "mask");
	routers = dhcp_test_field(out->str, "reason=BOUND", "routers");
	dns = dhcp_test_field(out->str, "reason=BOUND", "dns");
	domain = dhcp_test_field(out->str, "reason=BOUND", "domain");
	lease = dhcp_test_field(out->str, "reason=BOUND", "lease");
	file = dhcp_test_field(out->str, "reason=BOUND", "file");
	assert_in_range(ip, 100, 199);
	g_assert_cmpstr(mask, ==, "255.255.255.0");
	g_assert_cmpstr(routers, ==, "10.250.0.1");
	g_assert_cmpstr(dns, ==, "10.250.0.1");
	g_assert_cmpstr(domain, ==, "pxed.test");
	g_assert_cmpstr(lease, ==, "600");
	g_assert_cmpstr(file, ==, "scripted.0");
	mac = dhcp_test_net_mac(f->net, "cli", "cli0");
	assert_events(f, mac);
	/* dhclient sets no broadcast flag: the answer went to its hardware address */
	unicast = g_strdup_printf("event=offer client=%s", mac);
	{
		g_autofree char *log = pxed_test_daemon_get_log(f->daemon);
		const char *line = strstr(log, unicast);
		g_assert_nonnull(line);
		g_assert_nonnull(strstr(line, "to=unicast"));
	}
}

static void
test_udhcpc(Fixture *f, gconstpointer data)
{
	const char *programs[] = {"udhcpc", NULL};
	g_autofree char *script = NULL;
	g_autoptr(GString) out = g_string_new(NULL);
	g_autofree char *ip = NULL;
	g_autofree char *subnet = NULL;
	g_autofree char *router = NULL;
	g_autofree char *dns = NULL;
	g_autofree char *domain = NULL;
	g_autofree char *lease = NULL;
	g_autofree char *boot_file = NULL;
	g_autofree char *serverid = NULL;
	g_autofree char *mac = NULL;

	if (!dhcp_test_net_isolate(programs))
		return;
	start_pxed(f, NULL);
	script = pxed_test_write_script(
		f->dir, "udhcpc-script",
		"#!/bin/sh\n"
		"echo \"udhcpc event=$1 ip=$ip subnet=$subnet router=$router "
		"dns=$dns domain=$domain lease=$lease boot_file=$boot_file "
		"serverid=$serverid end\"\n");
	dhcp_test_net_udhcpc(f->net, "cli", "cli0", script, 5, 2, WAIT_MS, f->daemon, out);
	ip = dhcp_test_field(out->str, "event=bound", "ip");
	subnet = dhcp_test_field(out->str, "event=bound", "subnet");
	router = dhcp_test_field(out->str, "event=bound", "router");
	dns = dhcp_test_field(out->str, "event=bound", "dns");
	domain = dhcp_test_field(out->str, "event=bound", "domain");
	lease = dhcp_test_field(out->str, "event=bound", "lease");
	boot_file = dhcp_test_field(out->str, "event=bound", "boot_file");
	serverid = dhcp_test_field(out->str, "event=bound", "serverid");
	assert_in_range(ip, 100, 199);
	g_assert_cmpstr(subnet, ==, "255.255.255.0");
	g_assert_cmpstr(router, ==, "10.250.0.1");
	g_assert_cmpstr(dns, ==, "10.250.0.1");
	g_assert_cmpstr(domain, ==, "pxed.test");
	g_assert_cmpstr(lease, ==, "600");
	g_assert_cmpstr(boot_file, ==, "scripted.0");
	g_assert_cmpstr(serverid, ==, "10.250.0.1");
	mac = dhcp_test_net_mac(f->net, "cli", "cli0");
	assert_events(f, mac);
}

static void
test_kill9_keeps_leases(Fixture *f, gconstpointer data)
{
	const guint n = 40;
	g_autofree char *state = NULL;
	g_autoptr(GArray) addresses = g_array_new(FALSE, FALSE, sizeof(guint32));
	int fd;
	int status;

	if (!dhcp_test_net_isolate(NULL))
		return;
	state = g_build_filename(f->dir, "state", NULL);
	start_pxed(f, state);
	fd = dhcp_test_net_udp(f->net, "cli", "cli0", NULL, 68);
	for (guint i = 0; i < n; i++) {
		guint32 address =
			dhcp_test_obtain(fd, 0x10, (guint8)i, 0x9000 + i, 0, "10.250.0.1");
		g_array_append_val(addresses, address);
	}
	/* the last ACK has just arrived: no clean shutdown */
	pxed_test_daemon_signal(f->daemon, SIGKILL);
	status = pxed_test_daemon_stop(f->daemon);
	f->daemon = NULL;
	g_assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

	start_pxed(f, state);
	/* INIT-REBOOT: each client asks for its address back; this server is
	 * authoritative, so a lost lease would be a NAK */
	for (guint i = 0; i < n; i++) {
		g_autoptr(PxedDhcpMessage) req =
			dhcp_test_request(PXED_DHCP_REQUEST, 0x10, (guint8)i, 0xa000 + i);
		g_autoptr(PxedDhcpMessage) ack = NULL;
		pxed_dhcp_message_set_option_ipv4(req, PXED_DHCP_OPTION_REQUESTED_ADDRESS,
						  g_array_index(addresses, guint32, i));
		dhcp_test_send(fd, req, "255.255.255.255", 67);
		ack = dhcp_test_receive(fd, 0xa000 + i, 5000, NULL, NULL);
		g_assert_nonnull(ack);
		g_assert_cmpuint(pxed_dhcp_message_get_type(ack), ==, PXED_DHCP_ACK);
		g_assert_cmpuint(ack->yiaddr, ==, g_array_index(addresses, guint32, i));
	}
	/* and a new client gets none of them */
	{
		guint32 fresh = dhcp_test_obtain(fd, 0x11, 0x01, 0xb000, 0, "10.250.0.1");
		for (guint i = 0; i < n; i++)
			g_assert_cmpuint(fresh, !=, g_array_index(addresses, guint32, i));
	}
	close(fd);
}

static void
test_relay(Fixture *f, gconstpointer data)
{
	const char *cli;
	int fd;
	g_autoptr(PxedDhcpMessage) discover = NULL;
	g_autoptr(PxedDhcpMessage) offer = NULL;
	g_autoptr(PxedDhcpMessage) request = NULL;
	g_autoptr(PxedDhcpMessage) ack = NULL;
	const guint8 agent[] = {1, 4, 'p', 'o', 'r', 't', 2, 2, 'r', '1'};
	const guint8 *echo;
	gsize len = 0;
	guint32 from = 0;
	guint32 router = 0;
	g_autofree char *yiaddr = NULL;

	if (!dhcp_test_net_isolate(NULL))
		return;
	/* the client side plays the relay agent: 10.250.7.1 on a subnet of its own */
	cli = dhcp_test_net_ns(f->net, "cli");
	dhcp_test_net_ip(f->net, "-n %s addr add 10.250.0.2/24 dev cli0", cli);
	dhcp_test_net_ip(f->net, "-n %s addr add 10.250.7.1/24 dev cli0", cli);
	dhcp_test_net_ip(f->net, "-n %s route add 10.250.7.0/24 via 10.250.0.2",
			 dhcp_test_net_ns(f->net, "srv"));
	start_pxed(f, NULL);
	fd = dhcp_test_net_udp(f->net, "cli", "cli0", "10.250.7.1", 67);

	discover = dhcp_test_request(PXED_DHCP_DISCOVER, 0x20, 0x01, 0xc001);
	discover->flags = 0;
	discover->hops = 1;
	discover->giaddr = pxed_test_ip("10.250.7.1");
	pxed_dhcp_message_set_option(discover, PXED_DHCP_OPTION_RELAY_AGENT, agent, sizeof(agent));
	dhcp_test_send(fd, discover, "10.250.0.1", 67);
	offer = dhcp_test_receive(fd, 0xc001, 5000, &from, NULL);
	g_assert_nonnull(offer);
	g_assert_cmpuint(from, ==, pxed_test_ip("10.250.0.1"));
	g_assert_cmpuint(pxed_dhcp_message_get_type(offer), ==, PXED_DHCP_OFFER);
	yiaddr = dhcp_test_ip_string(offer->yiaddr);
	g_assert_true(g_str_has_prefix(yiaddr, "10.250.7."));
	g_assert_cmpuint(g_ntohl(offer->yiaddr) & 0xff, >=, 50);
	g_assert_cmpuint(g_ntohl(offer->yiaddr) & 0xff, <=, 60);
	g_assert_cmpuint(offer->giaddr, ==, pxed_test_ip("10.250.7.1"));
	g_assert_true(pxed_dhcp_message_get_option_ipv4(offer, PXED_DHCP_OPTION_ROUTER, &router));
	g_assert_cmpuint(router, ==, pxed_test_ip("10.250.7.1"));
	echo = pxed_dhcp_message_get_option(offer, PXED_DHCP_OPTION_RELAY_AGENT, &len);
	g_assert_cmpmem(echo, len, agent, sizeof(agent));

	request = dhcp_test_request(PXED_DHCP_REQUEST, 0x20, 0x01, 0xc001);
	request->flags = 0;
	request->hops = 1;
	request->giaddr = pxed_test_ip("10.250.7.1");
	pxed_dhcp_message_set_option_ipv4(request, PXED_DHCP_OPTION_SERVER_ID,
					  pxed_test_ip("10.250.0.1"));
	pxed_dhcp_message_set_option_ipv4(request, PXED_DHCP_OPTION_REQUESTED_ADDRESS,
					  offer->yiaddr);
	pxed_dhcp_message_set_option(request, PXED_DHCP_OPTION_RELAY_AGENT, agent, sizeof(agent));
	dhcp_test_send(fd, request, "10.250.0.1", 67);
	ack = dhcp_test_receive(fd, 0xc001, 5000, NULL, NULL);
	g_assert_nonnull(ack);
	g_assert_cmpuint(pxed_dhcp_message_get_type(ack), ==, PXED_DHCP_ACK);
	g_assert_cmpuint(ack->yiaddr, ==, offer->yiaddr);
	close(fd);
}

static void
test_other_interface(Fixture *f, gconstpointer data)
{
	int fd_other;
	int fd_cli;
	g_autoptr(PxedDhcpMessage) stray = NULL;
	g_autoptr(PxedDhcpMessage) ours = NULL;
	g_autoptr(PxedDhcpMessage) offer = NULL;
	g_autoptr(PxedDhcpMessage) nothing = NULL;
	g_autofree char *log = NULL;

	if (!dhcp_test_net_isolate(NULL))
		return;
	/* a second interface of the server's host, not configured */
	dhcp_test_net_add_ns(f->net, "oth");
	dhcp_test_net_veth(f->net, "srv", "srv1", "oth", "oth0");
	dhcp_test_net_ip(f->net, "-n %s addr add 10.250.9.1/24 dev srv1",
			 dhcp_test_net_ns(f->net, "srv"));
	start_pxed(f, NULL);
	fd_other = dhcp_test_net_udp(f->net, "oth", "oth0", NULL, 68);
	fd_cli = dhcp_test_net_udp(f->net, "cli", "cli0", NULL, 68);

	stray = dhcp_test_request(PXED_DHCP_DISCOVER, 0x77, 0x01, 0xd001);
	dhcp_test_send(fd_other, stray, "255.255.255.255", 67);
	/* sent after the stray one: once it is answered, the stray one was seen or not */
	ours = dhcp_test_request(PXED_DHCP_DISCOVER, 0x78, 0x01, 0xd002);
	dhcp_test_send(fd_cli, ours, "255.255.255.255", 67);
	offer = dhcp_test_receive(fd_cli, 0xd002, 5000, NULL, NULL);
	g_assert_nonnull(offer);
	nothing = dhcp_test_receive(fd_other, 0xd001, 300, NULL, NULL);
	g_assert_null(nothing);
	log = pxed_test_daemon_get_log(f->daemon);
	g_assert_null(strstr(log, "52:54:00:00:77:01"));
	close(fd_other);
	close(fd_cli);
}
/* HTTP and TFTP carry no MAC: pxed learns who is asking from the DHCP
 * exchange with that address. The client's MAC selects a group; udhcpc takes
 * a lease, then curl asks for the iPXE script (no query parameters) and for
 * pxelinux.cfg/default over TFTP from the leased address. */
static const char identity_conf[] = "[dhcp]\n"
				    "interface=srv0\n"
				    "range=10.250.0.100;10.250.0.199\n"
				    "lease-time=600\n"
				    "[http]\n"
				    "listen=10.250.0.1:8080\n"
				    "[tftp]\n"
				    "listen=10.250.0.1:6969\n"
				    "[ipxe]\n"
				    "base-url=http://10.250.0.1:8080\n"
				    "[pxelinux]\n"
				    "[pipeline]\n"
				    "boot=ipxe;pxelinux\n"
				    "http=ipxe\n"
				    "tftp=pxelinux\n"
				    "[profile:node]\n"
				    "kernel=/node/vmlinuz\n"
				    "args=pxed.marker=identified\n"
				    "[profile:other]\n"
				    "kernel=/other/vmlinuz\n"
				    "args=pxed.marker=anonymous\n"
				    "[group:default]\n"
				    "profile=other\n"
				    "[group:cli]\n"
				    "profile=node\n"
				    "selector.mac=52:54:00:aa:00:01\n";

static char *
fetch(Fixture *f, const char *url)
{
	const char *argv[] = {"curl", "-sS", "--max-time", "10", url, NULL};
	g_autoptr(GString) out = g_string_new(NULL);
	GSubprocess *curl = dhcp_test_net_spawn(f->net, "cli", argv);

	/* curl's output, to its end (the needle never appears) */
	dhcp_test_net_read_until(curl, "\x01never\x01", 15000, out);
	g_assert_true(pxed_test_wait_process(curl, 5000));
	g_assert_true(g_subprocess_get_if_exited(curl));
	g_assert_cmpint(g_subprocess_get_exit_status(curl), ==, 0);
	return g_string_free(g_steal_pointer(&out), FALSE);
}

static void
test_identity(Fixture *f, gconstpointer data)
{
	const char *programs[] = {"udhcpc", "curl", NULL};
	g_autoptr(GString) out = g_string_new(NULL);
	g_autofree char *script = NULL;
	g_autofree char *before = NULL;
	g_autofree char *ipxe = NULL;
	g_autofree char *pxelinux = NULL;

	if (!dhcp_test_net_isolate(programs))
		return;
	dhcp_test_net_ip(f->net, "-n %s link set cli0 address 52:54:00:aa:00:01",
			 dhcp_test_net_ns(f->net, "cli"));
	/* the client's future address, set by hand: anonymous before its lease */
	f->daemon = dhcp_test_net_start_pxed(f->net, "srv", identity_conf, NULL);
	dhcp_test_net_ip(f->net, "-n %s addr add 10.250.0.99/24 dev cli0",
			 dhcp_test_net_ns(f->net, "cli"));
	before = fetch(f, "http://10.250.0.1:8080/ipxe");
	g_assert_nonnull(strstr(before, "pxed.marker=anonymous"));
	dhcp_test_net_ip(f->net, "-n %s addr flush dev cli0", dhcp_test_net_ns(f->net, "cli"));

	script = pxed_test_write_script(
		f->dir, "udhcpc-script",
		"#!/bin/sh\n"
		"[ \"$1\" = bound ] && ip addr add \"$ip/24\" dev \"$interface\"\n"
		"echo \"udhcpc event=$1 ip=$ip end\"\n");
	dhcp_test_net_udhcpc(f->net, "cli", "cli0", script, 5, 2, WAIT_MS, f->daemon, out);

	ipxe = fetch(f, "http://10.250.0.1:8080/ipxe");
	g_test_message("/ipxe from the leased address:\n%s", ipxe);
	g_assert_nonnull(strstr(ipxe, "pxed.marker=identified"));
	g_assert_nonnull(strstr(ipxe, "/node/vmlinuz"));
	pxelinux = fetch(f, "tftp://10.250.0.1:6969/pxelinux.cfg/default");
	g_test_message("pxelinux.cfg/default over TFTP:\n%s", pxelinux);
	g_assert_nonnull(strstr(pxelinux, "pxed.marker=identified"));
	/* the events of both requests are filed under the MAC */
	g_assert_true(pxed_test_daemon_wait_for_log(
		f->daemon, "source=http event=request client=52:54:00:aa:00:01", 5000));
	g_assert_true(pxed_test_daemon_wait_for_log(
		f->daemon, "source=tftp event=transfer-complete client=52:54:00:aa:00:01", 5000));
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
#define ADD(name, func) g_test_add(name, Fixture, NULL, setup, func, teardown)
	ADD("/dhcp/netns/dhclient", test_dhclient);
	ADD("/dhcp/netns/udhcpc", test_udhcpc);
	ADD("/dhcp/netns/kill-9-keeps-leases", test_kill9_keeps_leases);
	ADD("/dhcp/netns/relay", test_relay);
	ADD("/dhcp/netns/only-configured-interface", test_other_interface);
	ADD("/dhcp/netns/identity-for-http-and-tftp", test_identity);
#undef ADD
	return g_test_run();
}
