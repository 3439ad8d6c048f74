/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Hostile traffic on the boot segment (root, network namespaces this test
 * makes; skips otherwise).
 *
 * pxed runs in "srv" on a bridge (10.250.0.1/16) with [dhcp], [proxydhcp],
 * [tftp] and [http]. Two hosts hang off the bridge: the victim
 * (52:54:00:aa:00:01, its group boots profile "node") and an attacker
 * (10.250.0.66). While the victim takes a lease with udhcpc and downloads its
 * rendered config and a 4 MiB kernel over TFTP and HTTP, the attacker sends:
 *
 * - DISCOVERs from made-up MACs, a burst past new-clients-burst, then more;
 * - REQUESTs for addresses never offered (SELECTING and INIT-REBOOT), among
 *   them the server's own and the victim's;
 * - malformed DHCP datagrams (truncated, bad cookie, hlen lies, option
 *   overload with garbage, options running past the end);
 * - port 4011 INFORMs with the victim's address as ciaddr, sent from the
 *   victim's address (a raw socket forges the source), for its own MAC;
 * - TFTP session floods (many ports, never acknowledging), malformed TFTP
 *   datagrams, ACKs for blocks never sent, datagrams to a transfer's port from
 *   another port (another TID, RFC 1350 §4);
 * - a slowloris: more connections than the per-client cap, each trickling its
 *   request head.
 *
 * The victim must boot with its own profile; pxed must not crash and must
 * stop cleanly; each abuse must show in its instance's stop counters.
 * Everything is bounded by deadlines; nothing sleeps instead of waiting.
 */
#include <arpa/inet.h>
#include <glib-unix.h>
#include <errno.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <poll.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dhcp-test-net.h"

#define SERVER	    "10.250.0.1"
#define ATTACKER    "10.250.0.66"
#define VICTIM_MAC  "52:54:00:aa:00:01"
#define KERNEL_SIZE (4 * 1024 * 1024)
#define WAIT_MS	    30000

typedef struct {
	DhcpTestNet *net;
	PxedTestDaemon *daemon;
	char *dir;
	char *root;

	/* the attacker's sockets, opened inside its namespace */
	int dhcp_fd; /* UDP, att0, port 68 */
	int raw_fd;  /* IPPROTO_RAW: forged IPv4 sources */

	GThread *threads[3];
	gint stop;	     /* atomic: attackers end */
	gint victim_address; /* atomic: the victim's leased address (network order), 0 before */
	gint informs_sent;   /* atomic */
	gint dhcp_sent;	     /* atomic */
	gint tftp_rounds;    /* atomic */
	gint slow_rounds;    /* atomic */
} Fixture;

static const char conf_template[] = "[dhcp]\n"
				    "interface=br0\n"
				    "range=10.250.1.1;10.250.200.254\n"
				    "lease-time=600\n"
				    "new-clients-per-second=50\n"
				    "new-clients-burst=200\n"
				    "[proxydhcp]\n"
				    "interface=br0\n"
				    "[http]\n"
				    "listen=" SERVER ":8080\n"
				    "header-timeout=2\n"
				    "[tftp]\n"
				    "listen=" SERVER ":69\n"
				    "[ipxe]\n"
				    "base-url=http://" SERVER ":8080\n"
				    "[pxelinux]\n"
				    "[static]\n"
				    "root=%s\n"
				    "[pipeline]\n"
				    "boot=ipxe;pxelinux\n"
				    "http=ipxe;static\n"
				    "tftp=pxelinux;static\n"
				    "[profile:node]\n"
				    "kernel=/node/vmlinuz\n"
				    "args=pxed.marker=victim\n"
				    "[profile:other]\n"
				    "kernel=/other/vmlinuz\n"
				    "args=pxed.marker=attacker\n"
				    "[group:default]\n"
				    "profile=other\n"
				    "[group:victim]\n"
				    "profile=node\n"
				    "selector.mac=" VICTIM_MAC "\n";

/* ---- the attacker ---- */

static gboolean
stopping(Fixture *f)
{
	return g_atomic_int_get(&f->stop) != 0;
}

static void
send_raw_dhcp(Fixture *f, const guint8 *data, gsize len)
{
	struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = g_htons(67)};

	to.sin_addr.s_addr = INADDR_BROADCAST;
	/* a full socket buffer only loses a datagram of the flood */
	(void)sendto(f->dhcp_fd, data, len, MSG_DONTWAIT, (struct sockaddr *)&to, sizeof(to));
	g_atomic_int_inc(&f->dhcp_sent);
}

static void
send_dhcp(Fixture *f, const PxedDhcpMessage *msg)
{
	g_autoptr(GBytes) bytes = pxed_dhcp_message_build(msg, 1500);
	send_raw_dhcp(f, g_bytes_get_data(bytes, NULL), g_bytes_get_size(bytes));
}

static PxedDhcpMessage *
made_up_client(GRand *rand, guint8 type)
{
	PxedDhcpMessage *msg = pxed_dhcp_message_new(PXED_DHCP_OP_REQUEST);

	msg->xid = g_rand_int(rand);
	msg->flags = PXED_DHCP_FLAG_BROADCAST;
	msg->chaddr[0] = 0x02; /* locally administered: never the victim's */
	for (guint i = 1; i < 6; i++)
		msg->chaddr[i] = (guint8)g_rand_int_range(rand, 0, 256);
	pxed_dhcp_message_set_option_u8(msg, PXED_DHCP_OPTION_MESSAGE_TYPE, type);
	return msg;
}

/* A datagram the codec must refuse, of kind @kind. */
static GBytes *
malformed_dhcp(GRand *rand, guint kind)
{
	g_autoptr(PxedDhcpMessage) msg = made_up_client(rand, PXED_DHCP_DISCOVER);
	g_autoptr(GBytes) good = pxed_dhcp_message_build(msg, 1500);
	gsize len = g_bytes_get_size(good);
	g_autofree guint8 *buf = g_malloc0(1500);

	memcpy(buf, g_bytes_get_data(good, NULL), len);
	switch (kind % 5) {
	case 0: /* truncated inside the fixed header */
		len = (gsize)g_rand_int_range(rand, 1, 236);
		break;
	case 1: /* a bad magic cookie */
		buf[236] ^= 0xff;
		break;
	case 2: /* options running past the end: option 12 claims 200 bytes */
		buf[240] = 12;
		buf[241] = 200;
		len = 250;
		break;
	case 3: /* option 52 overload: sname and file hold options, which run past the field */
		buf[2] = 255; /* hlen lies too */
		for (guint i = 44; i < 236; i++)
			buf[i] = 0x0c;
		buf[240] = 53;
		buf[241] = 1;
		buf[242] = PXED_DHCP_DISCOVER;
		buf[243] = 52;
		buf[244] = 1;
		buf[245] = 3;
		buf[246] = 255;
		len = 247;
		break;
	default: /* a fixed header and cookie, no end, no message type */
		len = 240;
		break;
	}
	return g_bytes_new(buf, len);
}

static void
send_forged_inform(Fixture *f, guint32 victim, GRand *rand)
{
	g_autoptr(PxedDhcpMessage) msg = made_up_client(rand, PXED_DHCP_INFORM);
	static const char vendor[] = "PXEClient:Arch:00000:UNDI:002001";
	const guint8 arch[] = {0, 0};
	g_autoptr(GBytes) payload = NULL;
	guint8 packet[1600];
	struct iphdr *ip = (struct iphdr *)packet;
	struct udphdr *udp = (struct udphdr *)(packet + sizeof(*ip));
	struct sockaddr_in to = {.sin_family = AF_INET};
	gsize plen;

	msg->flags = 0;
	msg->ciaddr = victim;
	pxed_dhcp_message_set_option(msg, PXED_DHCP_OPTION_VENDOR_CLASS, vendor,
				     sizeof(vendor) - 1);
	pxed_dhcp_message_set_option(msg, 93, arch, sizeof(arch));
	payload = pxed_dhcp_message_build(msg, 1500);
	plen = g_bytes_get_size(payload);
	g_assert_cmpuint(plen + sizeof(*ip) + sizeof(*udp), <=, sizeof(packet));
	memset(packet, 0, sizeof(*ip) + sizeof(*udp));
	ip->version = 4;
	ip->ihl = 5;
	ip->ttl = 64;
	ip->protocol = IPPROTO_UDP;
	ip->saddr = victim; /* the forgery: "from" the victim */
	ip->daddr = pxed_test_ip(SERVER);
	ip->tot_len = g_htons((guint16)(sizeof(*ip) + sizeof(*udp) + plen));
	udp->source = g_htons(68);
	udp->dest = g_htons(4011);
	udp->len = g_htons((guint16)(sizeof(*udp) + plen));
	udp->check = 0; /* none: allowed over IPv4 */
	memcpy(packet + sizeof(*ip) + sizeof(*udp), g_bytes_get_data(payload, NULL), plen);
	to.sin_addr.s_addr = ip->daddr;
	if (sendto(f->raw_fd, packet, sizeof(*ip) + sizeof(*udp) + plen, MSG_DONTWAIT,
		   (struct sockaddr *)&to, sizeof(to)) > 0)
		g_atomic_int_inc(&f->informs_sent);
}

static gpointer
dhcp_attacker(gpointer data)
{
	Fixture *f = data;
	g_autoptr(GRand) rand = g_rand_new_with_seed(0x4057113);
	guint round = 0;

	/* a burst of new clients past new-clients-burst (200) */
	for (guint i = 0; i < 600 && !stopping(f); i++) {
		g_autoptr(PxedDhcpMessage) msg = made_up_client(rand, PXED_DHCP_DISCOVER);
		send_dhcp(f, msg);
	}
	while (!stopping(f)) {
		guint32 victim = (guint32)g_atomic_int_get(&f->victim_address);
		struct pollfd none = {.fd = -1};

		/* then about 33 new clients a second, under the refill (50/s):
		 * the limiter keeps the burst from the pool and still lets the
		 * victim in */
		if (round % 3 == 0) {
			g_autoptr(PxedDhcpMessage) msg = made_up_client(rand, PXED_DHCP_DISCOVER);
			send_dhcp(f, msg);
		}
		{
			/* SELECTING: "my" offer from this server, for the router's address */
			g_autoptr(PxedDhcpMessage) msg = made_up_client(rand, PXED_DHCP_REQUEST);
			pxed_dhcp_message_set_option_ipv4(msg, PXED_DHCP_OPTION_SERVER_ID,
							  pxed_test_ip(SERVER));
			pxed_dhcp_message_set_option_ipv4(msg, PXED_DHCP_OPTION_REQUESTED_ADDRESS,
							  pxed_test_ip(SERVER));
			send_dhcp(f, msg);
		}
		{
			/* SELECTING for an address in the range never offered to it */
			g_autoptr(PxedDhcpMessage) msg = made_up_client(rand, PXED_DHCP_REQUEST);
			guint32 host = g_ntohl(pxed_test_ip("10.250.100.0")) + round % 250 + 1;
			pxed_dhcp_message_set_option_ipv4(msg, PXED_DHCP_OPTION_SERVER_ID,
							  pxed_test_ip(SERVER));
			pxed_dhcp_message_set_option_ipv4(msg, PXED_DHCP_OPTION_REQUESTED_ADDRESS,
							  g_htonl(host));
			send_dhcp(f, msg);
		}
		if (victim != 0) {
			/* INIT-REBOOT lie: "the victim's address is mine" */
			g_autoptr(PxedDhcpMessage) msg = made_up_client(rand, PXED_DHCP_REQUEST);
			pxed_dhcp_message_set_option_ipv4(msg, PXED_DHCP_OPTION_REQUESTED_ADDRESS,
							  victim);
			send_dhcp(f, msg);
			/* and to the proxy: "I am at the victim's address", from it */
			for (guint i = 0; i < 4; i++)
				send_forged_inform(f, victim, rand);
		}
		for (guint i = 0; i < 5; i++) {
			g_autoptr(GBytes) bad = malformed_dhcp(rand, round * 5 + i);
			send_raw_dhcp(f, g_bytes_get_data(bad, NULL), g_bytes_get_size(bad));
		}
		round++;
		/* pace: about 100 rounds a second, so that the flood is a flood
		 * but the rate limiter's refill still lets the victim through */
		poll(&none, 0, 10);
	}
	return NULL;
}

static int
attacker_udp(Fixture *f)
{
	struct sockaddr_in addr = {.sin_family = AF_INET};
	int fd;

	dhcp_test_net_enter(f->net, "att");
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	dhcp_test_net_leave(f->net);
	g_assert_cmpint(fd, >=, 0);
	addr.sin_addr.s_addr = pxed_test_ip(ATTACKER);
	g_assert_cmpint(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), ==, 0);
	return fd;
}

static void
tftp_send(int fd, const void *data, gsize len, const char *host, guint16 port)
{
	struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = g_htons(port)};

	to.sin_addr.s_addr = pxed_test_ip(host);
	(void)sendto(fd, data, len, MSG_DONTWAIT, (struct sockaddr *)&to, sizeof(to));
}

/* The port of the transfer that answered on @fd (its first packet), or 0. */
static guint16
tftp_transfer_port(int fd, guint timeout_ms)
{
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	guint8 buf[2048];
	struct sockaddr_in from;
	socklen_t len = sizeof(from);

	if (poll(&pfd, 1, (int)timeout_ms) <= 0)
		return 0;
	if (recvfrom(fd, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&from, &len) < 4 ||
	    buf[1] != 3 /* DATA */)
		return 0;
	return g_ntohs(from.sin_port);
}

static gpointer
tftp_attacker(gpointer data)
{
	Fixture *f = data;
	static const guint8 rrq[] = "\0\1node/vmlinuz\0octet";
	static const guint8 *const junk[] = {
		(const guint8 *)"\0\1",			   /* RRQ, no name */
		(const guint8 *)"\0\11nonsense",	   /* opcode 9 */
		(const guint8 *)"\0\1no-terminator",	   /* name never ends */
		(const guint8 *)"\0\1a\0octet\0blksize\0", /* option without value */
		(const guint8 *)"\0\4\0\1",		   /* ACK to the listener */
		(const guint8 *)"\0\5\0\0oops",		   /* ERROR to the listener */
	};
	static const gsize junk_len[] = {2, 10, 15, 17, 4, 8};
	int spare = attacker_udp(f);

	while (!stopping(f)) {
		int fds[24];
		guint16 port = 0;

		/* a session flood: 24 requests, each from a port of its own, none acknowledged */
		for (guint i = 0; i < G_N_ELEMENTS(fds); i++) {
			fds[i] = attacker_udp(f);
			tftp_send(fds[i], rrq, sizeof(rrq), SERVER, 69);
		}
		port = tftp_transfer_port(fds[0], 2000);
		if (port != 0) {
			/* ACKs for blocks never sent, from the transfer's own peer */
			for (guint b = 0; b < 50; b++) {
				guint8 ack[4] = {0, 4, (guint8)(b >> 8), (guint8)(9000 + b)};
				tftp_send(fds[0], ack, sizeof(ack), SERVER, port);
			}
			/* another TID: an ERROR to the transfer's port from another port */
			{
				static const guint8 err[] = "\0\5\0\0go away";
				tftp_send(spare, err, sizeof(err), SERVER, port);
			}
		}
		for (guint i = 0; i < G_N_ELEMENTS(junk); i++)
			tftp_send(spare, junk[i], junk_len[i], SERVER, 69);
		{
			/* a path out of the root, and an option value of 1 000 digits */
			g_autoptr(GByteArray) big = g_byte_array_new();
			static const guint8 head[] = "\0\1../../../../etc/passwd\0octet\0blksize";
			g_byte_array_append(big, head, sizeof(head));
			for (guint i = 0; i < 1000; i++)
				g_byte_array_append(big, (const guint8 *)"9", 1);
			g_byte_array_append(big, (const guint8 *)"", 1);
			tftp_send(spare, big->data, big->len, SERVER, 69);
		}
		for (guint i = 0; i < G_N_ELEMENTS(fds); i++)
			close(fds[i]);
		g_atomic_int_inc(&f->tftp_rounds);
		/* the next round once the server has given these transfers up (unacked) */
		{
			struct pollfd none = {.fd = -1};
			poll(&none, 0, 200);
		}
	}
	close(spare);
	return NULL;
}

static int
slow_connect(Fixture *f)
{
	struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = g_htons(8080)};
	int fd;

	dhcp_test_net_enter(f->net, "att");
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	dhcp_test_net_leave(f->net);
	g_assert_cmpint(fd, >=, 0);
	to.sin_addr.s_addr = pxed_test_ip(SERVER);
	/* connected before the first line is sent (a refused connect shows
	 * as a failed send, and is tried again) */
	(void)connect(fd, (struct sockaddr *)&to, sizeof(to));
	g_assert_true(g_unix_set_fd_nonblocking(fd, TRUE, NULL));
	return fd;
}

static gpointer
slowloris(gpointer data)
{
	Fixture *f = data;
	int fds[40];
	guint line = 0;

	for (guint i = 0; i < G_N_ELEMENTS(fds); i++)
		fds[i] = slow_connect(f);
	while (!stopping(f)) {
		struct pollfd none = {.fd = -1};

		for (guint i = 0; i < G_N_ELEMENTS(fds); i++) {
			char text[64];
			int n = line == 0
					? g_snprintf(text, sizeof(text), "GET /ipxe HTTP/1.1\r\n")
					: g_snprintf(text, sizeof(text), "X-Slow-%u: x\r\n", line);
			/* closed by the server: connect again and start over */
			if (send(fds[i], text, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL) < 0 &&
			    errno != EAGAIN && errno != ENOTCONN && errno != EINPROGRESS) {
				close(fds[i]);
				fds[i] = slow_connect(f);
			}
		}
		line++;
		g_atomic_int_inc(&f->slow_rounds);
		poll(&none, 0, 300);
	}
	for (guint i = 0; i < G_N_ELEMENTS(fds); i++)
		close(fds[i]);
	return NULL;
}

/* The end of pxed's log: a flood's full log would drown the message. */
static char *
log_tail(Fixture *f)
{
	return pxed_test_daemon_get_log_tail(f->daemon, 8000);
}

/* ---- the victim ---- */

/* Runs curl in the victim's namespace; its output (to a file when @out is set). */
static char *
victim_curl(Fixture *f, const char *url, const char *out)
{
	const char *argv[] = {"curl", "-sS", "--max-time", "30", "-o", out != NULL ? out : "-",
			      url,    NULL};
	g_autoptr(GString) text = g_string_new(NULL);
	GSubprocess *curl = dhcp_test_net_spawn(f->net, "vic", argv);

	/* to its end (the needle never appears) */
	dhcp_test_net_read_until(curl, "\x01never\x01", 40000, text);
	g_assert_true(pxed_test_wait_process(curl, 5000));
	if (!g_subprocess_get_if_exited(curl) || g_subprocess_get_exit_status(curl) != 0) {
		g_autofree char *log = log_tail(f);
		g_error("curl %s failed: %s\npxed:\n%s", url, text->str, log);
	}
	return g_string_free(g_steal_pointer(&text), FALSE);
}

static void
assert_kernel(Fixture *f, const char *url)
{
	g_autofree char *path = g_build_filename(f->dir, "download", NULL);
	g_autofree char *want = NULL;
	g_autofree char *got = NULL;
	g_autofree char *orig = g_build_filename(f->root, "node", "vmlinuz", NULL);
	g_autofree char *ignored = NULL;

	remove(path);
	ignored = victim_curl(f, url, path);
	want = pxed_test_file_sha256(orig);
	got = pxed_test_file_sha256(path);
	g_assert_cmpstr(got, ==, want);
}

/* ---- the stop counters ---- */

/* The number right before @label on the line holding @marker ("N label"). */
static guint64
count_before(const char *log, const char *marker, const char *label)
{
	const char *line = strstr(log, marker);
	const char *eol;
	const char *at;
	const char *p;

	if (line == NULL)
		g_error("no '%s' in the log:\n%s", marker, log);
	eol = strchr(line, '\n');
	at = strstr(line, label);
	if (at == NULL || (eol != NULL && at > eol))
		g_error("no '%s' on the line: %.*s", label,
			eol != NULL ? (int)(eol - line) : (int)strlen(line), line);
	p = at;
	while (p > line && p[-1] == ' ')
		p--;
	while (p > line && g_ascii_isdigit(p[-1]))
		p--;
	return g_ascii_strtoull(p, NULL, 10);
}

/* The value of KEY= on the line holding @marker. */
static guint64
count_key(const char *log, const char *marker, const char *key)
{
	const char *line = strstr(log, marker);
	g_autofree char *needle = g_strdup_printf(" %s=", key);
	const char *eol;
	const char *at;

	if (line == NULL)
		g_error("no '%s' in the log:\n%s", marker, log);
	eol = strchr(line, '\n');
	at = strstr(line, needle);
	if (at == NULL || (eol != NULL && at > eol))
		g_error("no '%s' on the line: %.*s", needle,
			eol != NULL ? (int)(eol - line) : (int)strlen(line), line);
	return g_ascii_strtoull(at + strlen(needle), NULL, 10);
}

static void
test_hostile(Fixture *f, gconstpointer data)
{
	const char *programs[] = {"udhcpc", "curl", NULL};
	const char *srv;
	g_autofree char *conf = NULL;
	g_autofree char *script = NULL;
	g_autofree char *kernel = NULL;
	g_autofree char *log = NULL;
	g_autofree char *ip = NULL;
	g_autofree char *pxelinux = NULL;
	g_autofree char *ipxe = NULL;
	g_autoptr(GString) out = g_string_new(NULL);
	int status;
	gint64 started = g_get_monotonic_time();

	if (!dhcp_test_net_isolate(programs))
		return;
	f->dir = pxed_test_tmpdir_new();
	f->root = g_build_filename(f->dir, "root", NULL);
	f->net = dhcp_test_net_new();
	srv = dhcp_test_net_add_ns(f->net, "srv");
	dhcp_test_net_add_ns(f->net, "vic");
	dhcp_test_net_add_ns(f->net, "att");
	/* one segment: a bridge in the server's namespace, a veth to each host */
	dhcp_test_net_ip(f->net, "-n %s link add br0 type bridge", srv);
	dhcp_test_net_ip(f->net, "-n %s link set br0 up", srv);
	dhcp_test_net_ip(f->net, "-n %s addr add " SERVER "/16 dev br0", srv);
	dhcp_test_net_veth(f->net, "srv", "sv0", "vic", "vic0");
	dhcp_test_net_veth(f->net, "srv", "sa0", "att", "att0");
	dhcp_test_net_ip(f->net, "-n %s link set sv0 master br0", srv);
	dhcp_test_net_ip(f->net, "-n %s link set sa0 master br0", srv);
	dhcp_test_net_ip(f->net, "-n %s link set vic0 address " VICTIM_MAC,
			 dhcp_test_net_ns(f->net, "vic"));
	dhcp_test_net_ip(f->net, "-n %s addr add " ATTACKER "/16 dev att0",
			 dhcp_test_net_ns(f->net, "att"));

	/* a kernel-sized file for each profile */
	{
		g_autoptr(GRand) rand = g_rand_new_with_seed(42);
		g_autofree guint32 *bytes = g_new(guint32, KERNEL_SIZE / 4);
		g_autofree char *node = g_build_filename(f->root, "node", NULL);
		g_autofree char *other = g_build_filename(f->root, "other", NULL);
		g_autoptr(GError) error = NULL;

		for (guint i = 0; i < KERNEL_SIZE / 4; i++)
			bytes[i] = g_rand_int(rand);
		g_assert_cmpint(g_mkdir_with_parents(node, 0755), ==, 0);
		g_assert_cmpint(g_mkdir_with_parents(other, 0755), ==, 0);
		kernel = g_build_filename(node, "vmlinuz", NULL);
		g_file_set_contents(kernel, (const char *)bytes, KERNEL_SIZE, &error);
		g_assert_no_error(error);
		pxed_test_write_file(other, "vmlinuz", "not the victim's kernel\n");
	}
	conf = g_strdup_printf(conf_template, f->root);
	f->daemon = dhcp_test_net_start_pxed(f->net, "srv", conf, NULL);

	/* the attacker's sockets, then its threads */
	f->dhcp_fd = dhcp_test_net_udp(f->net, "att", "att0", NULL, 68);
	dhcp_test_net_enter(f->net, "att");
	f->raw_fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
	dhcp_test_net_leave(f->net);
	g_assert_cmpint(f->raw_fd, >=, 0);
	f->threads[0] = g_thread_new("dhcp-attacker", dhcp_attacker, f);
	f->threads[1] = g_thread_new("tftp-attacker", tftp_attacker, f);
	f->threads[2] = g_thread_new("slowloris", slowloris, f);

	/* the victim boots meanwhile: a lease first */
	script = pxed_test_write_script(
		f->dir, "udhcpc-script",
		"#!/bin/sh\n"
		"[ \"$1\" = bound ] && ip addr add \"$ip/16\" dev \"$interface\"\n"
		"echo \"udhcpc event=$1 ip=$ip boot_file=$boot_file end\"\n");
	dhcp_test_net_udhcpc(f->net, "vic", "vic0", script, 15, 1, WAIT_MS, f->daemon, out);
	ip = dhcp_test_field(out->str, "event=bound", "ip");
	g_test_message("the victim's lease: %s", ip);
	g_atomic_int_set(&f->victim_address, (gint)pxed_test_ip(ip));

	/* the proxy has refused the attacker's word for the victim's address
	 * before the victim asks for anything by that address */
	if (!pxed_test_daemon_wait_for_log(f->daemon, "notes refused or contested", WAIT_MS)) {
		g_autofree char *text = log_tail(f);
		g_error("no refused note after %d forged INFORMs:\n%s",
			g_atomic_int_get(&f->informs_sent), text);
	}

	/* its config, rendered for its group, over TFTP and HTTP */
	pxelinux = victim_curl(f, "tftp://" SERVER "/pxelinux.cfg/default", NULL);
	g_test_message("pxelinux.cfg/default:\n%s", pxelinux);
	g_assert_nonnull(strstr(pxelinux, "pxed.marker=victim"));
	g_assert_null(strstr(pxelinux, "pxed.marker=attacker"));
	ipxe = victim_curl(f, "http://" SERVER ":8080/ipxe", NULL);
	g_test_message("/ipxe:\n%s", ipxe);
	g_assert_nonnull(strstr(ipxe, "pxed.marker=victim"));
	g_assert_nonnull(strstr(ipxe, "/node/vmlinuz"));
	/* and its kernel, both ways */
	assert_kernel(f, "tftp://" SERVER "/node/vmlinuz");
	assert_kernel(f, "http://" SERVER ":8080/node/vmlinuz");

	/* every attack ran while the victim booted; long enough for the
	 * slowloris' heads to run out of header-timeout (2 s), and for the
	 * flooded transfers to be given up (unacked-retries) */
	g_assert_true(pxed_test_daemon_wait_for_log(
		f->daemon, "no complete request head within header-timeout", WAIT_MS));
	g_assert_true(pxed_test_daemon_wait_for_log(
		f->daemon, "acknowledged nothing, transfer given up", WAIT_MS));
	g_atomic_int_set(&f->stop, 1);
	for (guint i = 0; i < G_N_ELEMENTS(f->threads); i++)
		g_thread_join(g_steal_pointer(&f->threads[i]));
	g_test_message("attacker: %d DHCP datagrams, %d forged INFORMs, %d TFTP rounds, "
		       "%d slowloris rounds",
		       g_atomic_int_get(&f->dhcp_sent), g_atomic_int_get(&f->informs_sent),
		       g_atomic_int_get(&f->tftp_rounds), g_atomic_int_get(&f->slow_rounds));

	/* a clean stop, with the counters */
	pxed_test_daemon_signal(f->daemon, SIGTERM);
	g_assert_true(pxed_test_daemon_wait_for_log(f->daemon, "source=http event=stopped", 10000));
	g_assert_true(pxed_test_daemon_wait_for_log(f->daemon, "source=tftp event=stopped", 10000));
	g_assert_true(pxed_test_daemon_wait_for_log(f->daemon, " dhcp: stopped;", 10000));
	g_assert_true(pxed_test_daemon_wait_for_log(f->daemon, "proxydhcp: stopped;", 10000));
	log = pxed_test_daemon_get_log(f->daemon);
	status = pxed_test_daemon_stop(g_steal_pointer(&f->daemon));
	g_assert_true(WIFEXITED(status));
	g_assert_cmpint(WEXITSTATUS(status), ==, 0);
	{
		g_auto(GStrv) lines = g_strsplit(log, "\n", -1);
		for (guint i = 0; lines[i] != NULL; i++) {
			if (strstr(lines[i], "stopped") != NULL)
				g_printerr("# %s\n", lines[i]);
		}
	}
	g_assert_cmpuint(count_before(log, " dhcp: stopped;", " malformed"), >, 0);
	g_assert_cmpuint(count_before(log, " dhcp: stopped;", " for addresses not offered"), >, 0);
	g_assert_cmpuint(count_before(log, " dhcp: stopped;", " new clients over the limit"), >, 0);
	g_assert_cmpuint(count_before(log, "proxydhcp: stopped;", " not taken"), >, 0);
	g_assert_cmpuint(count_key(log, "source=tftp event=stopped", "refused-per-client"), >, 0);
	g_assert_cmpuint(count_key(log, "source=tftp event=stopped", "bad-packets"), >, 0);
	g_assert_cmpuint(count_key(log, "source=tftp event=stopped", "unknown-tid"), >, 0);
	g_assert_cmpuint(count_key(log, "source=tftp event=stopped", "unacked"), >, 0);
	g_assert_cmpuint(count_key(log, "source=http event=stopped", "refused-per-client"), >, 0);
	g_assert_cmpuint(count_key(log, "source=http event=stopped", "header-timeouts"), >, 0);
	/* the victim's downloads completed under its own MAC */
	g_assert_nonnull(strstr(log, "source=tftp event=transfer-complete client=" VICTIM_MAC));
	g_assert_nonnull(strstr(log, "source=http event=request client=" VICTIM_MAC));
	g_assert_cmpint(g_get_monotonic_time() - started, <, 90 * G_USEC_PER_SEC);
}

/* ---- a RELEASE for another machine's lease ----
 *
 * RFC 2131 §4.4.6: a client releases its lease in a unicast from the address
 * it holds (ciaddr). A RELEASE naming another machine's MAC and address, sent
 * from anywhere else, would free that machine's address for whoever asks for
 * it next — and with it the identity pxed ties to the address. */

static const char release_conf[] = "[dhcp]\n"
				   "interface=srv0\n"
				   "range=10.250.0.100;10.250.0.199\n"
				   "lease-time=600\n";

static void
send_release(int fd, guint8 a, guint8 b, guint32 address)
{
	g_autoptr(PxedDhcpMessage) release = dhcp_test_request(PXED_DHCP_RELEASE, a, b, 0x7e1e);

	release->flags = 0;
	release->ciaddr = address;
	pxed_dhcp_message_set_option_ipv4(release, PXED_DHCP_OPTION_SERVER_ID,
					  pxed_test_ip(SERVER));
	dhcp_test_send(fd, release, SERVER, 67);
}

static void
test_forged_release(Fixture *f, gconstpointer data)
{
	const char *cli;
	int any;
	int victim_fd;
	guint32 victim;
	guint32 taken;
	g_autofree char *victim_ip = NULL;
	g_autofree char *log = NULL;

	if (!dhcp_test_net_isolate(NULL))
		return;
	f->net = dhcp_test_net_new();
	dhcp_test_net_add_pair(f->net, SERVER "/24");
	cli = dhcp_test_net_ns(f->net, "cli");
	dhcp_test_net_ip(f->net, "-n %s addr add 10.250.0.66/24 dev cli0", cli);
	f->daemon = dhcp_test_net_start_pxed(f->net, "srv", release_conf, NULL);
	any = dhcp_test_net_udp(f->net, "cli", "cli0", NULL, 68);

	/* the victim, 52:54:00:00:30:01, holds a lease */
	victim = dhcp_test_obtain(any, 0x30, 0x01, 0x3001, 0, SERVER);
	victim_ip = dhcp_test_ip_string(victim);
	/* the attacker, from 10.250.0.66, releases it in the victim's name */
	send_release(any, 0x30, 0x01, victim);
	/* then asks for that very address (processed after the RELEASE: one queue) */
	taken = dhcp_test_obtain(any, 0x31, 0x01, 0x3101, victim, SERVER);
	g_assert_cmpuint(taken, !=, victim);
	/* counted, and said in the log */
	g_assert_true(pxed_test_daemon_wait_for_log(f->daemon, "RELEASE of ", 5000));
	log = pxed_test_daemon_get_log(f->daemon);
	g_assert_nonnull(
		strstr(log, "from 10.250.0.66 ignored: not sent from the address it releases"));

	/* the victim itself releases from its address: that one counts */
	dhcp_test_net_ip(f->net, "-n %s addr add %s/24 dev cli0", cli, victim_ip);
	victim_fd = dhcp_test_net_udp(f->net, "cli", "cli0", victim_ip, 68);
	send_release(victim_fd, 0x30, 0x01, victim);
	taken = dhcp_test_obtain(any, 0x32, 0x01, 0x3201, victim, SERVER);
	g_assert_cmpuint(taken, ==, victim);
	close(victim_fd);
	close(any);
	pxed_test_daemon_signal(f->daemon, SIGTERM);
	g_assert_true(pxed_test_daemon_wait_for_log(f->daemon, " dhcp: stopped;", 10000));
	g_free(log);
	log = pxed_test_daemon_get_log(f->daemon);
	g_assert_cmpuint(
		count_before(log, " dhcp: stopped;", " RELEASEs not from the released address"), ==,
		1);
}

static void
setup(Fixture *f, gconstpointer data)
{
	f->dhcp_fd = -1;
	f->raw_fd = -1;
}

static void
teardown(Fixture *f, gconstpointer data)
{
	g_atomic_int_set(&f->stop, 1);
	for (guint i = 0; i < G_N_ELEMENTS(f->threads); i++) {
		if (f->threads[i] != NULL)
			g_thread_join(f->threads[i]);
	}
	if (f->dhcp_fd >= 0)
		close(f->dhcp_fd);
	if (f->raw_fd >= 0)
		close(f->raw_fd);
	if (f->daemon != NULL)
		pxed_test_daemon_stop(f->daemon);
	dhcp_test_net_free(f->net);
	if (f->dir != NULL)
		pxed_test_tmpdir_free(f->dir);
	g_free(f->root);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add("/integration/hostile/boot-under-attack", Fixture, NULL, setup, test_hostile,
		   teardown);
	g_test_add("/integration/hostile/forged-release", Fixture, NULL, setup, test_forged_release,
		   teardown);
	return g_test_run();
}
