/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "dhcp-test-net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <gio/gunixinputstream.h>
#include <glib-unix.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#define NETNS_DIR "/run/netns"

struct _DhcpTestNet {
	char *prefix;
	GHashTable *namespaces; /* role -> full name */
	GPtrArray *processes;	/* GSubprocess* */
	int home;		/* this thread's own namespace */
};

guint32
dhcp_test_obtain(int fd, guint8 a, guint8 b, guint32 xid, guint32 want, const char *server)
{
	g_autoptr(PxedDhcpMessage) discover = dhcp_test_request(PXED_DHCP_DISCOVER, a, b, xid);
	g_autoptr(PxedDhcpMessage) offer = NULL;
	g_autoptr(PxedDhcpMessage) request = dhcp_test_request(PXED_DHCP_REQUEST, a, b, xid);
	g_autoptr(PxedDhcpMessage) ack = NULL;

	if (want != 0)
		pxed_dhcp_message_set_option_ipv4(discover, PXED_DHCP_OPTION_REQUESTED_ADDRESS,
						  want);
	dhcp_test_send(fd, discover, "255.255.255.255", 67);
	offer = dhcp_test_receive(fd, xid, 5000, NULL, NULL);
	g_assert_nonnull(offer);
	g_assert_cmpuint(pxed_dhcp_message_get_type(offer), ==, PXED_DHCP_OFFER);
	pxed_dhcp_message_set_option_ipv4(request, PXED_DHCP_OPTION_SERVER_ID,
					  pxed_test_ip(server));
	pxed_dhcp_message_set_option_ipv4(request, PXED_DHCP_OPTION_REQUESTED_ADDRESS,
					  offer->yiaddr);
	dhcp_test_send(fd, request, "255.255.255.255", 67);
	ack = dhcp_test_receive(fd, xid, 5000, NULL, NULL);
	g_assert_nonnull(ack);
	g_assert_cmpuint(pxed_dhcp_message_get_type(ack), ==, PXED_DHCP_ACK);
	g_assert_cmpuint(ack->yiaddr, ==, offer->yiaddr);
	return ack->yiaddr;
}

char *
dhcp_test_ip_string(guint32 address)
{
	char buf[INET_ADDRSTRLEN];
	inet_ntop(AF_INET, &address, buf, sizeof(buf));
	return g_strdup(buf);
}

char *
dhcp_test_field(const char *text, const char *marker, const char *key)
{
	const char *line = strstr(text, marker);
	g_autofree char *needle = g_strdup_printf(" %s=", key);
	const char *eol;
	const char *at;
	const char *end;

	g_assert_nonnull(line);
	eol = strchr(line, '\n');
	at = strstr(line, needle);
	g_assert_true(at != NULL && (eol == NULL || at < eol));
	at += strlen(needle);
	end = strchr(at, ' ');
	return g_strndup(at, end != NULL ? (gsize)(end - at) : strlen(at));
}

/* The child names its namespaces after its parent, so that the parent can
 * find what a crashed child left. */
static char *
prefix_for(pid_t pid)
{
	return g_strdup_printf("pxdt%d-", (int)pid);
}

static gboolean
run_quiet(const char *const *argv, char **err)
{
	int status = -1;
	g_autoptr(GError) error = NULL;

	if (!pxed_test_run(argv, NULL, err, &status, &error)) {
		if (err != NULL) {
			g_free(*err);
			*err = g_strdup(error->message);
		}
		return FALSE;
	}
	return status == 0;
}

char *
dhcp_test_net_unavailable(const char *const *programs)
{
	g_autofree char *name = NULL;
	g_autofree char *err = NULL;
	g_autofree char *ip = g_find_program_in_path("ip");

	if (geteuid() != 0)
		return g_strdup("needs root to create network namespaces");
	if (ip == NULL)
		return g_strdup("needs iproute2's ip");
	for (guint i = 0; programs != NULL && programs[i] != NULL; i++) {
		g_autofree char *path = g_find_program_in_path(programs[i]);
		if (path == NULL && !g_file_test(programs[i], G_FILE_TEST_IS_EXECUTABLE)) {
			g_autofree char *sbin = g_build_filename("/usr/sbin", programs[i], NULL);
			if (!g_file_test(sbin, G_FILE_TEST_IS_EXECUTABLE))
				return g_strdup_printf("needs %s (tools/deps.sh installs it)",
						       programs[i]);
		}
	}
	name = g_strdup_printf("pxdt%d-probe", (int)getpid());
	{
		const char *add[] = {"ip", "netns", "add", name, NULL};
		const char *del[] = {"ip", "netns", "del", name, NULL};
		if (!run_quiet(add, &err))
			return g_strdup_printf("cannot create a network namespace: %s",
					       err != NULL ? g_strstrip(err) : "?");
		run_quiet(del, NULL);
	}
	return NULL;
}

/* Ends the processes inside every namespace named PREFIX* and deletes them. */
static void
cleanup_prefix(const char *prefix)
{
	g_autoptr(GDir) dir = g_dir_open(NETNS_DIR, 0, NULL);
	const char *name;
	g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);

	if (dir == NULL)
		return;
	while ((name = g_dir_read_name(dir)) != NULL) {
		if (g_str_has_prefix(name, prefix))
			g_ptr_array_add(names, g_strdup(name));
	}
	for (guint i = 0; i < names->len; i++) {
		const char *ns = g_ptr_array_index(names, i);
		const char *pids_argv[] = {"ip", "netns", "pids", ns, NULL};
		const char *del_argv[] = {"ip", "netns", "del", ns, NULL};
		g_autoptr(GBytes) out = NULL;
		int status = 0;

		if (pxed_test_run(pids_argv, &out, NULL, &status, NULL) && out != NULL) {
			g_autofree char *text = g_strndup(
				g_bytes_get_size(out) > 0 ? g_bytes_get_data(out, NULL) : "",
				g_bytes_get_size(out));
			g_auto(GStrv) pids = g_strsplit(text, "\n", -1);
			for (guint p = 0; pids[p] != NULL; p++) {
				gint64 pid = g_ascii_strtoll(pids[p], NULL, 10);
				/* only processes inside this test's own namespaces */
				if (pid > 1 && pid != getpid())
					kill((pid_t)pid, SIGKILL);
			}
		}
		run_quiet(del_argv, NULL);
	}
}

gboolean
dhcp_test_net_isolate(const char *const *programs)
{
	g_autofree char *why = NULL;
	g_autofree char *prefix = NULL;

	if (g_test_subprocess())
		return TRUE;
	why = dhcp_test_net_unavailable(programs);
	if (why != NULL) {
		g_test_skip(why);
		return FALSE;
	}
	g_test_trap_subprocess(NULL, 240 * G_USEC_PER_SEC, G_TEST_SUBPROCESS_INHERIT_STDERR);
	prefix = prefix_for(getpid());
	cleanup_prefix(prefix);
	g_test_trap_assert_passed();
	return FALSE;
}

DhcpTestNet *
dhcp_test_net_new(void)
{
	DhcpTestNet *self = g_new0(DhcpTestNet, 1);

	self->prefix = prefix_for(getppid());
	self->namespaces = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	self->processes = g_ptr_array_new_with_free_func(g_object_unref);
	self->home = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	g_assert_cmpint(self->home, >=, 0);
	return self;
}

void
dhcp_test_net_free(DhcpTestNet *self)
{
	if (self == NULL)
		return;
	dhcp_test_net_leave(self);
	for (guint i = 0; i < self->processes->len; i++) {
		GSubprocess *process = g_ptr_array_index(self->processes, i);
		if (g_subprocess_get_identifier(process) != NULL) {
			g_subprocess_force_exit(process);
			pxed_test_wait_process(process, 5000);
		}
	}
	g_ptr_array_unref(self->processes);
	cleanup_prefix(self->prefix);
	g_hash_table_unref(self->namespaces);
	close(self->home);
	g_free(self->prefix);
	g_free(self);
}

static void
run_ip(const char *const *argv)
{
	g_autofree char *err = NULL;
	g_autofree char *joined = g_strjoinv(" ", (char **)argv);

	if (!run_quiet(argv, &err))
		g_error("%s failed: %s", joined, err != NULL ? err : "?");
}

const char *
dhcp_test_net_add_ns(DhcpTestNet *self, const char *role)
{
	char *name = g_strconcat(self->prefix, role, NULL);
	const char *add[] = {"ip", "netns", "add", name, NULL};
	const char *lo[] = {"ip", "-n", name, "link", "set", "lo", "up", NULL};

	run_ip(add);
	g_hash_table_insert(self->namespaces, g_strdup(role), name);
	run_ip(lo);
	return name;
}

const char *
dhcp_test_net_ns(DhcpTestNet *self, const char *role)
{
	const char *name = g_hash_table_lookup(self->namespaces, role);
	g_assert_nonnull(name);
	return name;
}

void
dhcp_test_net_ip(DhcpTestNet *self, const char *format, ...)
{
	va_list args;
	g_autofree char *line = NULL;
	g_auto(GStrv) words = NULL;
	g_autoptr(GPtrArray) argv = g_ptr_array_new();

	va_start(args, format);
	line = g_strdup_vprintf(format, args);
	va_end(args);
	words = g_strsplit(line, " ", -1);
	g_ptr_array_add(argv, (gpointer) "ip");
	for (guint i = 0; words[i] != NULL; i++) {
		if (words[i][0] != '\0')
			g_ptr_array_add(argv, words[i]);
	}
	g_ptr_array_add(argv, NULL);
	run_ip((const char *const *)argv->pdata);
}

void
dhcp_test_net_veth(DhcpTestNet *self, const char *nsa, const char *ifa, const char *nsb,
		   const char *ifb)
{
	const char *a = dhcp_test_net_ns(self, nsa);
	const char *b = dhcp_test_net_ns(self, nsb);

	/* made inside @nsa with its peer sent straight to @nsb: never in the host's */
	dhcp_test_net_ip(self, "-n %s link add %s type veth peer name %s netns %s", a, ifa, ifb, b);
	dhcp_test_net_ip(self, "-n %s link set %s up", a, ifa);
	dhcp_test_net_ip(self, "-n %s link set %s up", b, ifb);
}

void
dhcp_test_net_add_pair(DhcpTestNet *self, const char *server_cidr)
{
	dhcp_test_net_add_ns(self, "srv");
	dhcp_test_net_add_ns(self, "cli");
	dhcp_test_net_veth(self, "srv", "srv0", "cli", "cli0");
	dhcp_test_net_ip(self, "-n %s addr add %s dev srv0", dhcp_test_net_ns(self, "srv"),
			 server_cidr);
}

void
dhcp_test_net_enter(DhcpTestNet *self, const char *role)
{
	g_autofree char *path = g_build_filename(NETNS_DIR, dhcp_test_net_ns(self, role), NULL);
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	g_assert_cmpint(fd, >=, 0);
	g_assert_cmpint(setns(fd, CLONE_NEWNET), ==, 0);
	close(fd);
}

void
dhcp_test_net_leave(DhcpTestNet *self)
{
	g_assert_cmpint(setns(self->home, CLONE_NEWNET), ==, 0);
}

PxedTestDaemon *
dhcp_test_net_start_pxed(DhcpTestNet *self, const char *role, const char *conf,
			 const char *state_dir)
{
	const char *args[] = {"--plugin-dir", TEST_PLUGIN_DIR, NULL};
	g_autofree char *full =
		state_dir != NULL ? g_strdup_printf("[core]\nstate-dir=%s\n\n%s", state_dir, conf)
				  : g_strdup(conf);
	g_autoptr(GError) error = NULL;
	PxedTestDaemon *daemon;

	dhcp_test_net_enter(self, role);
	daemon = pxed_test_daemon_start(full, args, &error);
	dhcp_test_net_leave(self);
	g_assert_no_error(error);
	return daemon;
}

GSubprocess *
dhcp_test_net_spawn(DhcpTestNet *self, const char *role, const char *const *argv)
{
	g_autoptr(GPtrArray) full = g_ptr_array_new();
	g_autoptr(GError) error = NULL;
	GSubprocess *process;

	g_ptr_array_add(full, (gpointer) "ip");
	g_ptr_array_add(full, (gpointer) "netns");
	g_ptr_array_add(full, (gpointer) "exec");
	g_ptr_array_add(full, (gpointer)dhcp_test_net_ns(self, role));
	for (guint i = 0; argv[i] != NULL; i++)
		g_ptr_array_add(full, (gpointer)argv[i]);
	g_ptr_array_add(full, NULL);
	process = g_subprocess_newv(
		(const char *const *)full->pdata,
		G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_MERGE, &error);
	g_assert_no_error(error);
	g_ptr_array_add(self->processes, g_object_ref(process));
	return process;
}

gboolean
dhcp_test_net_read_until(GSubprocess *process, const char *needle, guint timeout_ms, GString *seen)
{
	GInputStream *stream = g_subprocess_get_stdout_pipe(process);
	int fd = g_unix_input_stream_get_fd(G_UNIX_INPUT_STREAM(stream));
	gint64 deadline = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
	gsize checked = seen->len;

	g_unix_set_fd_nonblocking(fd, TRUE, NULL);
	for (;;) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		gint64 left = (deadline - g_get_monotonic_time()) / 1000;
		char buf[4096];
		ssize_t n;

		if (strstr(seen->str + checked, needle) != NULL)
			return TRUE;
		if (left <= 0)
			return FALSE;
		if (poll(&pfd, 1, (int)left) <= 0)
			continue;
		n = read(fd, buf, sizeof(buf));
		if (n == 0)
			return strstr(seen->str + checked, needle) != NULL; /* it exited */
		if (n > 0) {
			if (g_getenv("PXED_TEST_VERBOSE") != NULL)
				g_printerr("%.*s", (int)n, buf);
			g_string_append_len(seen, buf, n);
		}
	}
}

void
dhcp_test_net_udhcpc(DhcpTestNet *self, const char *role, const char *ifname, const char *script,
		     guint tries, guint interval_s, guint timeout_ms, PxedTestDaemon *daemon,
		     GString *out)
{
	g_autofree char *t = g_strdup_printf("%u", tries);
	g_autofree char *T = g_strdup_printf("%u", interval_s);
	const char *argv[] = {"udhcpc", "-f", "-q",   "-n", "-t",   t,	 "-T",
			      T,	"-i", ifname, "-s", script, NULL};
	GSubprocess *udhcpc = dhcp_test_net_spawn(self, role, argv);

	if (!dhcp_test_net_read_until(udhcpc, "event=bound", timeout_ms, out)) {
		g_autofree char *log = pxed_test_daemon_get_log_tail(daemon, 8000);
		g_error("udhcpc on %s got no lease; it said:\n%s\npxed:\n%s", ifname, out->str,
			log);
	}
	g_assert_true(pxed_test_wait_process(udhcpc, 10000));
}

char *
dhcp_test_net_mac(DhcpTestNet *self, const char *role, const char *ifname)
{
	char *mac = NULL;

	/* sysfs shows the namespace of whoever mounted it: ask ip instead */
	const char *argv[] = {"ip",   "-n", dhcp_test_net_ns(self, role), "-br", "link", "show",
			      ifname, NULL};
	g_autoptr(GBytes) out = NULL;
	int status = -1;
	g_autofree char *text = NULL;
	g_auto(GStrv) words = NULL;

	g_assert_true(pxed_test_run(argv, &out, NULL, &status, NULL));
	g_assert_cmpint(status, ==, 0);
	text = g_strndup(g_bytes_get_size(out) > 0 ? g_bytes_get_data(out, NULL) : "",
			 g_bytes_get_size(out));
	words = g_strsplit_set(g_strstrip(text), " ", -1);
	for (guint i = 0; words[i] != NULL; i++) {
		if (strlen(words[i]) == 17 && words[i][2] == ':')
			mac = g_strdup(words[i]);
	}
	g_assert_nonnull(mac);
	return mac;
}

int
dhcp_test_net_udp(DhcpTestNet *self, const char *role, const char *ifname, const char *address,
		  guint16 port)
{
	struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = g_htons(port)};
	int one = 1;
	int fd;

	dhcp_test_net_enter(self, role);
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	dhcp_test_net_leave(self);
	g_assert_cmpint(fd, >=, 0);
	addr.sin_addr.s_addr = address != NULL ? pxed_test_ip(address) : INADDR_ANY;
	g_assert_cmpint(setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)), ==, 0);
	g_assert_cmpint(setsockopt(fd, SOL_SOCKET, SO_BROADCAST, &one, sizeof(one)), ==, 0);
	g_assert_cmpint(setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, ifname, strlen(ifname)), ==, 0);
	g_assert_cmpint(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), ==, 0);
	return fd;
}

PxedDhcpMessage *
dhcp_test_request(guint8 type, guint8 a, guint8 b, guint32 xid)
{
	PxedDhcpMessage *msg = pxed_dhcp_message_new(PXED_DHCP_OP_REQUEST);
	const guint8 mac[6] = {0x52, 0x54, 0x00, 0x00, a, b};
	const guint8 params[] = {1, 3, 6, 15, 43, 60, 66, 67};

	msg->xid = xid;
	msg->flags = PXED_DHCP_FLAG_BROADCAST;
	memcpy(msg->chaddr, mac, 6);
	pxed_dhcp_message_set_option_u8(msg, PXED_DHCP_OPTION_MESSAGE_TYPE, type);
	pxed_dhcp_message_set_option(msg, PXED_DHCP_OPTION_PARAMETER_LIST, params, sizeof(params));
	return msg;
}

void
dhcp_test_send(int fd, const PxedDhcpMessage *msg, const char *address, guint16 port)
{
	g_autoptr(GBytes) bytes = pxed_dhcp_message_build(msg, 1500);
	struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = g_htons(port)};
	ssize_t n;

	to.sin_addr.s_addr = pxed_test_ip(address);
	n = sendto(fd, g_bytes_get_data(bytes, NULL), g_bytes_get_size(bytes), 0,
		   (struct sockaddr *)&to, sizeof(to));
	if (n < 0)
		g_error("sendto %s:%u: %s", address, port, g_strerror(errno));
}

PxedDhcpMessage *
dhcp_test_receive(int fd, guint32 xid, guint timeout_ms, guint32 *from, GPtrArray *others)
{
	gint64 deadline = g_get_monotonic_time() + (gint64)timeout_ms * 1000;

	for (;;) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		gint64 left = (deadline - g_get_monotonic_time()) / 1000;
		guint8 buf[2048];
		struct sockaddr_in peer;
		socklen_t peer_len = sizeof(peer);
		ssize_t n;
		PxedDhcpMessage *msg;

		if (left <= 0)
			return NULL;
		if (poll(&pfd, 1, (int)left) <= 0)
			continue;
		n = recvfrom(fd, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&peer,
			     &peer_len);
		if (n <= 0)
			continue;
		msg = pxed_dhcp_message_parse(buf, (gsize)n, NULL);
		if (msg == NULL)
			continue;
		if (msg->op == PXED_DHCP_OP_REPLY && msg->xid == xid) {
			if (from != NULL)
				*from = peer.sin_addr.s_addr;
			return msg;
		}
		if (others != NULL)
			g_ptr_array_add(others, msg);
		else
			pxed_dhcp_message_free(msg);
	}
}
