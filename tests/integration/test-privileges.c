/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Least privilege without systemd: started as root with [core] user, pxed
 * binds, becomes that user and keeps only the capabilities its enabled
 * plugins need (read back from /proc/PID/status) — and a reload that restarts
 * a protocol instance on a privileged port or with a packet socket still
 * works after the drop. Root and network namespaces (the daemon runs in one
 * of the test's own, so port 69 and the DHCP sockets touch nothing of the
 * host's); skips otherwise.
 */
#include <arpa/inet.h>
#include <linux/capability.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dhcp-test-net.h"
#include "pxed-test.h"

#define WAIT_MS		   10000
#define PXED_TEST_CAP(cap) (G_GUINT64_CONSTANT(1) << (cap))

typedef struct {
	DhcpTestNet *net;
	PxedTestDaemon *daemon;
	char *root;  /* served files, readable by the dropped user */
	char *state; /* the state folder, handed to the dropped user */
} Fixture;

static const char *const programs[] = {"ip", NULL};

/* One value of a "Name:\tvalue" line of /proc/PID/status. */
static char *
status_field(GPid pid, const char *name)
{
	g_autofree char *path = g_strdup_printf("/proc/%d/status", (int)pid);
	g_autofree char *text = NULL;
	g_auto(GStrv) lines = NULL;
	g_autofree char *prefix = g_strdup_printf("%s:", name);

	g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
	lines = g_strsplit(text, "\n", -1);
	for (guint i = 0; lines[i] != NULL; i++) {
		if (g_str_has_prefix(lines[i], prefix))
			return g_strstrip(g_strdup(lines[i] + strlen(prefix)));
	}
	g_assert_not_reached();
}

static guint64
status_caps(GPid pid, const char *name)
{
	g_autofree char *hex = status_field(pid, name);
	return g_ascii_strtoull(hex, NULL, 16);
}

/* uid, gid, supplementary groups and every capability set of the daemon. */
static void
assert_dropped(GPid pid, guint64 caps)
{
	struct passwd *nobody = getpwnam("nobody");
	g_autofree char *uids = NULL;
	g_autofree char *gids = NULL;
	g_autofree char *groups = NULL;
	g_autofree char *want_uids = NULL;
	g_autofree char *want_gids = NULL;

	g_assert_nonnull(nobody);
	uids = status_field(pid, "Uid");
	gids = status_field(pid, "Gid");
	groups = status_field(pid, "Groups");
	want_uids = g_strdup_printf("%u\t%u\t%u\t%u", nobody->pw_uid, nobody->pw_uid,
				    nobody->pw_uid, nobody->pw_uid);
	want_gids = g_strdup_printf("%u\t%u\t%u\t%u", nobody->pw_gid, nobody->pw_gid,
				    nobody->pw_gid, nobody->pw_gid);
	g_assert_cmpstr(uids, ==, want_uids);
	g_assert_cmpstr(gids, ==, want_gids);
	/* root's groups are gone: only the user's own (nogroup) may remain */
	{
		g_auto(GStrv) list = g_strsplit(groups, " ", -1);
		for (guint i = 0; list[i] != NULL; i++) {
			if (list[i][0] != '\0')
				g_assert_cmpuint(g_ascii_strtoull(list[i], NULL, 10), ==,
						 nobody->pw_gid);
		}
	}
	g_assert_cmphex(status_caps(pid, "CapEff"), ==, caps);
	g_assert_cmphex(status_caps(pid, "CapPrm"), ==, caps);
	g_assert_cmphex(status_caps(pid, "CapBnd"), ==, caps);
	g_assert_cmphex(status_caps(pid, "CapInh"), ==, 0);
	g_assert_cmphex(status_caps(pid, "CapAmb"), ==, 0);
}

static void
setup(Fixture *f, gconstpointer data)
{
	f->net = dhcp_test_net_new();
	dhcp_test_net_add_ns(f->net, "srv");
	f->root = pxed_test_tmpdir_new();
	f->state = pxed_test_tmpdir_new();
	/* the dropped user reads the served files and writes its state */
	g_assert_cmpint(chmod(f->root, 0755), ==, 0);
	g_assert_cmpint(chmod(f->state, 0755), ==, 0);
	pxed_test_write_file(f->root, "hello.txt", "hello from port 69\n");
	g_assert_cmpint(chmod(f->root, 0755), ==, 0);
}

static void
teardown(Fixture *f, gconstpointer data)
{
	if (f->daemon != NULL)
		g_assert_cmpint(pxed_test_daemon_stop(f->daemon), ==, 0);
	dhcp_test_net_free(f->net);
	pxed_test_tmpdir_free(f->root);
	pxed_test_tmpdir_free(f->state);
}

/* A whole small file over TFTP from 127.0.0.1:69 inside the namespace. */
static char *
tftp_get(Fixture *f, const char *name)
{
	struct sockaddr_in server = {.sin_family = AF_INET, .sin_port = htons(69)};
	struct sockaddr_in from;
	socklen_t from_len = sizeof(from);
	guint8 packet[600];
	gsize len = 0;
	struct pollfd pfd;
	gssize n;
	int fd;

	dhcp_test_net_enter(f->net, "srv");
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	dhcp_test_net_leave(f->net);
	g_assert_cmpint(fd, >=, 0);
	server.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	packet[len++] = 0;
	packet[len++] = 1; /* RRQ */
	memcpy(packet + len, name, strlen(name) + 1);
	len += strlen(name) + 1;
	memcpy(packet + len, "octet", 6);
	len += 6;
	g_assert_cmpint(sendto(fd, packet, len, 0, (struct sockaddr *)&server, sizeof(server)), ==,
			len);
	pfd = (struct pollfd){.fd = fd, .events = POLLIN};
	g_assert_cmpint(poll(&pfd, 1, WAIT_MS), ==, 1);
	n = recvfrom(fd, packet, sizeof(packet), 0, (struct sockaddr *)&from, &from_len);
	close(fd);
	if (n < 4 || packet[1] != 3) /* not DATA */
		return NULL;
	return g_strndup((const char *)packet + 4, n - 4);
}

/* Waits for @needle in the daemon's log; prints the log when it never comes. */
static void
wait_log(Fixture *f, const char *needle)
{
	if (!pxed_test_daemon_wait_for_log(f->daemon, needle, WAIT_MS)) {
		g_autofree char *log = pxed_test_daemon_get_log(f->daemon);
		g_printerr("no '%s' in the daemon's log:\n%s\n", needle, log);
		g_assert_not_reached();
	}
}

static void
write_conf(Fixture *f, const char *extra)
{
	g_autofree char *confd =
		g_build_filename(pxed_test_daemon_get_dir(f->daemon), "conf.d", NULL);
	/* the dropped user reads the configuration again, as it reads
	 * /etc/pxed/conf.d: the test's temporary folders are private */
	g_assert_cmpint(chmod(pxed_test_daemon_get_dir(f->daemon), 0755), ==, 0);
	g_assert_cmpint(chmod(confd, 0755), ==, 0);
	pxed_test_write_file(confd, "60-reload.conf", extra);
	for (guint i = 0; i < 2; i++) {
		g_autofree char *file =
			g_build_filename(confd, i == 0 ? "50-test.conf" : "60-reload.conf", NULL);
		g_assert_cmpint(chmod(file, 0644), ==, 0);
	}
	pxed_test_daemon_signal(f->daemon, SIGHUP);
}

/* TFTP alone on port 69: CAP_NET_BIND_SERVICE and nothing else; a reload
 * that restarts the TFTP instance binds port 69 again. */
static void
test_tftp_reload(Fixture *f, gconstpointer data)
{
	g_autofree char *conf = NULL;
	g_autofree char *got = NULL;

	if (!dhcp_test_net_isolate(programs))
		return;
	setup(f, data);
	conf = g_strdup_printf("[core]\nuser=nobody\n[tftp]\nlisten=127.0.0.1:69\n"
			       "[static]\nroot=%s\n[pipeline]\ntftp=static\n",
			       f->root);
	f->daemon = dhcp_test_net_start_pxed(f->net, "srv", conf, f->state);
	wait_log(f, "running as user nobody");
	assert_dropped(pxed_test_daemon_get_pid(f->daemon), PXED_TEST_CAP(CAP_NET_BIND_SERVICE));
	got = tftp_get(f, "hello.txt");
	g_assert_cmpstr(got, ==, "hello from port 69\n");
	g_clear_pointer(&got, g_free);

	/* the [tftp] group changes: its instance is stopped and started again */
	write_conf(f, "[tftp]\nmax-sessions=100\n");
	wait_log(f, "event=reloaded");
	g_assert_false(pxed_test_daemon_wait_for_log(f->daemon, "could not restart", 0));
	got = tftp_get(f, "hello.txt");
	g_assert_cmpstr(got, ==, "hello from port 69\n");
	assert_dropped(pxed_test_daemon_get_pid(f->daemon), PXED_TEST_CAP(CAP_NET_BIND_SERVICE));
	teardown(f, data);
}

/* A DHCP server also keeps CAP_NET_RAW (packet socket, bound to its
 * interface); a reload that changes its group restarts it and it answers. */
static void
test_dhcp_reload(Fixture *f, gconstpointer data)
{
	g_autoptr(PxedDhcpMessage) discover = NULL;
	g_autoptr(PxedDhcpMessage) offer = NULL;
	guint32 from = 0;
	int fd;

	if (!dhcp_test_net_isolate(programs))
		return;
	setup(f, data);
	dhcp_test_net_add_ns(f->net, "cli");
	dhcp_test_net_veth(f->net, "srv", "srv0", "cli", "cli0");
	dhcp_test_net_ip(f->net, "-n %s addr add 10.250.0.1/24 dev srv0",
			 dhcp_test_net_ns(f->net, "srv"));
	f->daemon = dhcp_test_net_start_pxed(f->net, "srv",
					     "[core]\nuser=nobody\n"
					     "[dhcp]\ninterface=srv0\n"
					     "range=10.250.0.100;10.250.0.199\nlease-time=600\n",
					     f->state);
	wait_log(f, "running as user nobody");
	assert_dropped(pxed_test_daemon_get_pid(f->daemon),
		       PXED_TEST_CAP(CAP_NET_BIND_SERVICE) | PXED_TEST_CAP(CAP_NET_RAW));

	write_conf(f, "[dhcp]\nlease-time=900\n");
	wait_log(f, "event=reloaded");
	g_assert_false(pxed_test_daemon_wait_for_log(f->daemon, "could not restart", 0));

	fd = dhcp_test_net_udp(f->net, "cli", "cli0", NULL, 68);
	discover = dhcp_test_request(PXED_DHCP_DISCOVER, 0x51, 0x01, 0x5eed);
	dhcp_test_send(fd, discover, "255.255.255.255", 67);
	offer = dhcp_test_receive(fd, 0x5eed, WAIT_MS, &from, NULL);
	close(fd);
	g_assert_nonnull(offer);
	g_assert_cmpint(pxed_dhcp_message_get_type(offer), ==, PXED_DHCP_OFFER);
	g_assert_cmpuint(from, ==, pxed_test_ip("10.250.0.1"));
	teardown(f, data);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add("/privileges/tftp-reload", Fixture, NULL, NULL, test_tftp_reload, NULL);
	g_test_add("/privileges/dhcp-reload", Fixture, NULL, NULL, test_dhcp_reload, NULL);
	return g_test_run();
}
