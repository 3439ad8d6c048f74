/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * The tftp plugin inside the real daemon, on loopback: Debian's clients
 * (tftp-hpa, atftp, curl), and a client written here that can misbehave on
 * purpose (duplicate and drop ACKs, stall, speak from a stranger's port).
 * Every server listens on 127.0.0.1 / [::1] port 0; every wait is bounded.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <glib/gstdio.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "pxed-test.h"
#include "tftp-packet.h"

#define SMALL_SIZE 100000
#define EXACT_SIZE (512 * 8)
#define BIG_SIZE   (40 * 1024 * 1024 + 123)
/* The longest any single client run may take. */
#define CLIENT_DEADLINE_US (60 * G_USEC_PER_SEC)

static char *tree; /* temporary folder: root/ (served) and secret.txt beside it */
static char *root;
static gboolean have_ipv6;

static const char text_file[] = "#!ipxe\n"
				"kernel vmlinuz console=ttyS0\r\n"
				"a lone CR\r in a line\n"
				"\n\n\r\r"
				"tab\there, and a last line without end";

/* ---- the served tree ---- */

static void
write_pattern(const char *path, gsize size, guint32 seed)
{
	g_autoptr(GRand) rand = g_rand_new_with_seed(seed);
	g_autofree guint32 *buf = g_new(guint32, (size + 3) / 4);
	g_autoptr(GError) error = NULL;

	for (gsize i = 0; i < (size + 3) / 4; i++)
		buf[i] = g_rand_int(rand);
	g_file_set_contents(path, (const char *)buf, (gssize)size, &error);
	g_assert_no_error(error);
}

static void
tree_create(void)
{
	g_autofree char *dir = NULL;
	g_autofree char *path = NULL;
	g_autoptr(GError) error = NULL;

	tree = pxed_test_tmpdir_new();
	root = g_build_filename(tree, "root", NULL);
	dir = g_build_filename(root, "dir", NULL);
	g_assert_cmpint(g_mkdir_with_parents(dir, 0755), ==, 0);
	path = g_build_filename(root, "small.bin", NULL);
	write_pattern(path, SMALL_SIZE, 1);
	g_free(path);
	path = g_build_filename(root, "exact.bin", NULL);
	write_pattern(path, EXACT_SIZE, 2);
	g_free(path);
	path = g_build_filename(root, "big.bin", NULL);
	write_pattern(path, BIG_SIZE, 3);
	g_free(path);
	path = g_build_filename(dir, "nested.bin", NULL);
	write_pattern(path, 3000, 4);
	pxed_test_write_file(root, "empty.bin", "");
	pxed_test_write_file(root, "text.txt", text_file);
	pxed_test_write_file(tree, "secret.txt", "TOP SECRET\n");
	g_free(path);
	/* A symlink that leads out of the tree. */
	path = g_build_filename(root, "escape", NULL);
	g_assert_cmpint(symlink("../secret.txt", path), ==, 0);
}

static char *
root_sha256(const char *name)
{
	g_autofree char *path = g_build_filename(root, name, NULL);
	return pxed_test_file_sha256(path);
}

static char *
bytes_sha256(GByteArray *data)
{
	return g_compute_checksum_for_data(G_CHECKSUM_SHA256, data->data, data->len);
}

static gboolean
ipv6_works(void)
{
	struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
	int fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	gboolean ok = fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
	if (fd >= 0)
		close(fd);
	return ok;
}

/* ---- the daemon ---- */

typedef struct {
	PxedTestDaemon *daemon;
	guint16 port;
	guint16 port6;
	char *out; /* where clients write */
} Fixture;

static guint16
port_for(PxedTestDaemon *daemon, const char *prefix)
{
	g_autofree char *log = pxed_test_daemon_get_log(daemon);
	g_auto(GStrv) lines = g_strsplit(log, "\n", -1);

	for (guint i = 0; lines[i] != NULL; i++) {
		const char *at;
		if (strstr(lines[i], "source=tftp event=listening") == NULL)
			continue;
		at = strstr(lines[i], prefix);
		if (at != NULL)
			return (guint16)g_ascii_strtoull(at + strlen(prefix), NULL, 10);
	}
	return 0;
}

static void
fixture_setup(Fixture *f, gconstpointer data)
{
	const char *extra = data != NULL ? data : "";
	g_autofree char *conf = NULL;
	g_autoptr(GError) error = NULL;

	conf = g_strdup_printf("[tftp]\nlisten=127.0.0.1:0%s\n%s\n"
			       "[static]\nroot=%s\n[pipeline]\ntftp=static\n",
			       have_ipv6 ? ";[::1]:0" : "", extra, root);
	f->daemon = pxed_test_daemon_start(conf, NULL, &error);
	g_assert_no_error(error);
	f->port = port_for(f->daemon, "127.0.0.1:");
	g_assert_cmpuint(f->port, >, 0);
	g_assert_cmpuint(f->port, ==, pxed_test_daemon_get_port(f->daemon, "tftp"));
	if (have_ipv6) {
		f->port6 = port_for(f->daemon, "[::1]:");
		g_assert_cmpuint(f->port6, >, 0);
	}
	f->out = pxed_test_tmpdir_new();
}

static void
fixture_teardown(Fixture *f, gconstpointer data)
{
	g_autofree char *log = pxed_test_daemon_get_log(f->daemon);
	int status = pxed_test_daemon_stop(f->daemon);

	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		g_printerr("%s", log);
	g_assert_true(WIFEXITED(status));
	g_assert_cmpint(WEXITSTATUS(status), ==, 0);
	/* Nothing in the log may be a crash or a critical. */
	g_assert_null(strstr(log, "CRITICAL"));
	pxed_test_tmpdir_free(f->out);
}

/* The first log line of @event for the transfer from @address, local port @port. */
static char *
wait_event_from(Fixture *f, const char *event, const char *address, guint16 port)
{
	g_autofree char *needle = g_strdup_printf("peer=%s:%u", address, port);
	g_autofree char *ev = g_strdup_printf("event=%s ", event);
	gint64 deadline = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;

	while (g_get_monotonic_time() < deadline) {
		g_autofree char *log = pxed_test_daemon_get_log(f->daemon);
		g_auto(GStrv) lines = g_strsplit(log, "\n", -1);
		/* The peer is the last token: a port is not taken for a prefix
		 * of a longer one. */
		for (guint i = 0; lines[i] != NULL; i++) {
			if (strstr(lines[i], ev) != NULL && g_str_has_suffix(lines[i], needle))
				return g_strdup(lines[i]);
		}
		pxed_test_daemon_wait_for_log(f->daemon, ev, 200);
	}
	return NULL;
}

static char *
wait_event(Fixture *f, const char *event, guint16 port)
{
	return wait_event_from(f, event, "127.0.0.1", port);
}

static void
assert_event(Fixture *f, const char *event, guint16 port)
{
	g_autofree char *line = wait_event(f, event, port);
	g_assert_nonnull(line);
}

static guint64
event_value(const char *line, const char *key)
{
	g_autofree char *needle = g_strdup_printf(" %s=", key);
	const char *at = strstr(line, needle);
	g_assert_nonnull(at);
	return g_ascii_strtoull(at + strlen(needle), NULL, 10);
}

/* ---- a client written here ---- */

typedef struct {
	int fd;
	gboolean v6;
	guint16 local_port;
} Sock;

/* @from: an IPv4 loopback address to send from, or NULL for 127.0.0.1 / [::1]. */
static Sock *
sock_open_from(gboolean v6, const char *from)
{
	Sock *s = g_new0(Sock, 1);
	struct sockaddr_storage ss = {0};
	socklen_t len;

	s->v6 = v6;
	s->fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	g_assert_cmpint(s->fd, >=, 0);
	if (v6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
		a->sin6_family = AF_INET6;
		a->sin6_addr = in6addr_loopback;
		len = sizeof(*a);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;
		a->sin_family = AF_INET;
		a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		if (from != NULL)
			g_assert_cmpint(inet_pton(AF_INET, from, &a->sin_addr), ==, 1);
		len = sizeof(*a);
	}
	g_assert_cmpint(bind(s->fd, (struct sockaddr *)&ss, len), ==, 0);
	{
		int big = 4 << 20;
		setsockopt(s->fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	}
	len = sizeof(ss);
	g_assert_cmpint(getsockname(s->fd, (struct sockaddr *)&ss, &len), ==, 0);
	s->local_port = ntohs(v6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
				 : ((struct sockaddr_in *)&ss)->sin_port);
	return s;
}

static Sock *
sock_open(gboolean v6)
{
	return sock_open_from(v6, NULL);
}

static void
sock_close(Sock *s)
{
	close(s->fd);
	g_free(s);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC(Sock, sock_close)

static void
sock_send(Sock *s, guint16 port, const void *buf, gsize len)
{
	struct sockaddr_storage ss = {0};
	socklen_t sl;

	if (s->v6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
		a->sin6_family = AF_INET6;
		a->sin6_addr = in6addr_loopback;
		a->sin6_port = htons(port);
		sl = sizeof(*a);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;
		a->sin_family = AF_INET;
		a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		a->sin_port = htons(port);
		sl = sizeof(*a);
	}
	g_assert_cmpint(sendto(s->fd, buf, len, 0, (struct sockaddr *)&ss, sl), ==, (gssize)len);
}

/* Returns the datagram's length, or -1 after @timeout_ms without one. */
static gssize
sock_recv(Sock *s, guint8 *buf, gsize size, guint16 *from_port, int timeout_ms)
{
	struct pollfd pfd = {.fd = s->fd, .events = POLLIN};
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	gssize n;

	if (poll(&pfd, 1, timeout_ms) <= 0)
		return -1;
	n = recvfrom(s->fd, buf, size, 0, (struct sockaddr *)&ss, &sl);
	g_assert_cmpint(n, >=, 0);
	*from_port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
						    : ((struct sockaddr_in *)&ss)->sin_port);
	return n;
}

static void
send_request(Sock *s, guint16 port, guint16 opcode, const char *path, const char *mode,
	     const PxedTftpOptions *options)
{
	guint8 buf[1024];
	gsize len =
		pxed_tftp_packet_build_request(buf, sizeof(buf), opcode, path, mode, options, NULL);
	g_assert_cmpuint(len, >, 0);
	sock_send(s, port, buf, len);
}

static void
send_ack(Sock *s, guint16 port, guint16 block)
{
	guint8 buf[4];
	sock_send(s, port, buf, pxed_tftp_packet_build_ack(buf, sizeof(buf), block));
}

/* Waits for the ERROR answering a request; returns its code. */
static guint16
expect_error(Sock *s, char **message)
{
	guint8 buf[1024];
	guint16 from;
	PxedTftpPacket packet;
	gssize n = sock_recv(s, buf, sizeof(buf), &from, 5000);

	g_assert_cmpint(n, >, 0);
	g_assert_true(pxed_tftp_packet_parse(buf, (gsize)n, &packet, NULL));
	g_assert_cmpint(packet.opcode, ==, PXED_TFTP_OP_ERROR);
	if (message != NULL)
		*message = g_strndup(packet.error_message, packet.error_message_len);
	return packet.error_code;
}

typedef struct {
	const char *path;
	const char *mode; /* default octet */
	guint blksize;	  /* 0: not asked */
	guint windowsize; /* 0: not asked */
	gboolean tsize;
	guint timeout; /* 0: not asked */
	gboolean v6;
	const char *from;     /* IPv4 loopback address to send from; NULL: 127.0.0.1 */
	guint dup_acks;	      /* extra copies of every ACK */
	guint drop_ack_every; /* drop the first ACK of every Nth block */
} GetOptions;

typedef struct {
	gboolean finished;
	GByteArray *data;
	gboolean error;
	guint16 error_code;
	char *error_message;
	gboolean oack;
	PxedTftpOptions options;
	guint64 blocks;	      /* distinct blocks */
	guint64 data_packets; /* every DATA received */
	guint dropped_acks;
	guint16 local_port;
	guint16 first_opcode;
} GetResult;

static void
get_result_clear(GetResult *r)
{
	g_clear_pointer(&r->data, g_byte_array_unref);
	g_clear_pointer(&r->error_message, g_free);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(GetResult, get_result_clear)

typedef struct {
	Sock *sock;
	guint16 tid;
	const GetOptions *o;
	GetResult *r;
	GHashTable *dropped; /* 64-bit blocks whose first ACK was dropped */
	guint16 last_ack;
	gboolean acked_any;
} GetState;

static void
client_ack(GetState *st, guint64 block)
{
	guint16 wire = (guint16)(block & 0xffff);

	st->last_ack = wire;
	st->acked_any = TRUE;
	if (st->o->drop_ack_every > 0 && block > 0 && block % st->o->drop_ack_every == 0 &&
	    !g_hash_table_contains(st->dropped, &block)) {
		guint64 *key = g_new(guint64, 1);
		*key = block;
		g_hash_table_add(st->dropped, key);
		st->r->dropped_acks++;
		return;
	}
	for (guint i = 0; i <= st->o->dup_acks; i++)
		send_ack(st->sock, st->tid, wire);
}

/* Fetches a file as an RFC 1350 / 7440 client; FALSE if the server went
 * quiet for 10 s or the whole run took over a minute. */
static gboolean
tftp_get(guint16 port, const GetOptions *o, GetResult *r)
{
	g_autoptr(Sock) sock = sock_open_from(o->v6, o->from);
	g_autoptr(GHashTable) dropped =
		g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, NULL);
	g_autofree guint8 *buf = g_malloc(65536);
	PxedTftpOptions asked = {0};
	GetState st = {sock, 0, o, r, dropped, 0, FALSE};
	gint64 deadline = g_get_monotonic_time() + CLIENT_DEADLINE_US;
	guint64 expect = 1;
	guint since_ack = 0;
	guint blksize = 512;
	guint window = 1;
	guint idle = 0;
	gboolean gap_reported = FALSE;
	const char *mode = o->mode != NULL ? o->mode : "octet";

	memset(r, 0, sizeof(*r));
	r->data = g_byte_array_new();
	r->local_port = sock->local_port;
	if (o->blksize > 0) {
		asked.present |= PXED_TFTP_OPT_BLKSIZE;
		asked.blksize = o->blksize;
	}
	if (o->windowsize > 0) {
		asked.present |= PXED_TFTP_OPT_WINDOWSIZE;
		asked.windowsize = o->windowsize;
	}
	if (o->tsize)
		asked.present |= PXED_TFTP_OPT_TSIZE;
	if (o->timeout > 0) {
		asked.present |= PXED_TFTP_OPT_TIMEOUT;
		asked.timeout = o->timeout;
	}
	send_request(sock, port, PXED_TFTP_OP_RRQ, o->path, mode, &asked);

	while (!r->finished && g_get_monotonic_time() < deadline) {
		PxedTftpPacket packet;
		guint16 from;
		gssize n = sock_recv(sock, buf, 65536, &from, 1000);

		if (n < 0) {
			/* Our own timeout: repeat the last word (RFC 1350 §2). */
			if (++idle > 10)
				return FALSE;
			if (st.tid == 0)
				send_request(sock, port, PXED_TFTP_OP_RRQ, o->path, mode, &asked);
			else if (st.acked_any)
				send_ack(sock, st.tid, st.last_ack);
			continue;
		}
		idle = 0;
		if (st.tid == 0)
			st.tid = from; /* RFC 1350 §4: the server's TID */
		else if (from != st.tid)
			continue;
		g_assert_true(pxed_tftp_packet_parse(buf, (gsize)n, &packet, NULL));
		if (r->first_opcode == 0)
			r->first_opcode = packet.opcode;
		switch (packet.opcode) {
		case PXED_TFTP_OP_OACK:
			g_assert_cmpuint(asked.present, !=, 0);
			if (!r->oack) {
				r->oack = TRUE;
				r->options = packet.options;
				if (packet.options.present & PXED_TFTP_OPT_BLKSIZE)
					blksize = packet.options.blksize;
				if (packet.options.present & PXED_TFTP_OPT_WINDOWSIZE)
					window = packet.options.windowsize;
			}
			client_ack(&st, 0);
			break;
		case PXED_TFTP_OP_ERROR:
			r->error = TRUE;
			r->error_code = packet.error_code;
			r->error_message =
				g_strndup(packet.error_message, packet.error_message_len);
			r->finished = TRUE;
			break;
		case PXED_TFTP_OP_DATA:
			r->data_packets++;
			g_assert_cmpuint(packet.data_len, <=, blksize);
			if (packet.block == (guint16)(expect & 0xffff)) {
				gboolean last = packet.data_len < blksize;
				g_byte_array_append(r->data, packet.data, (guint)packet.data_len);
				r->blocks++;
				since_ack++;
				gap_reported = FALSE;
				if (since_ack >= window || last) {
					client_ack(&st, expect);
					since_ack = 0;
				}
				expect++;
				r->finished = last;
			} else if (window == 1) {
				/* Lock-step: a repeated block is acked again, as
				 * RFC 1350 clients do (what feeds the apprentice). */
				if (packet.block == (guint16)((expect - 1) & 0xffff))
					client_ack(&st, expect - 1);
			} else if (!gap_reported) {
				/* RFC 7440 §4: report the last block in order. */
				client_ack(&st, expect - 1);
				gap_reported = TRUE;
				since_ack = 0;
			}
			break;
		default:
			g_assert_not_reached();
		}
	}
	return r->finished;
}

static void
assert_get(guint16 port, const GetOptions *o, const char *name, GetResult *r)
{
	g_autofree char *want = root_sha256(name);
	g_autofree char *got = NULL;

	g_assert_true(tftp_get(port, o, r));
	if (r->error)
		g_error("%s: error %u %s", name, r->error_code, r->error_message);
	got = bytes_sha256(r->data);
	g_assert_cmpstr(got, ==, want);
}

/* ---- real clients ---- */

static gboolean
require(const char *program, const char *package)
{
	g_autofree char *path = g_find_program_in_path(program);
	if (path == NULL) {
		g_autofree char *why =
			g_strdup_printf("%s not installed (Debian package %s)", program, package);
		g_test_skip(why);
		return FALSE;
	}
	return TRUE;
}

static void
run_client(const char *const *argv)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GBytes) out = NULL;
	g_autofree char *err = NULL;
	int status = -1;

	g_assert_true(pxed_test_run(argv, &out, &err, &status, &error));
	g_assert_no_error(error);
	if (status != 0)
		g_test_message("%s exited with %d: %s", argv[0], status, err);
}

static void
assert_same_file(const char *out_dir, const char *out_name, const char *root_name)
{
	g_autofree char *path = g_build_filename(out_dir, out_name, NULL);
	g_autofree char *want = root_sha256(root_name);
	g_autofree char *got = NULL;

	g_assert_true(g_file_test(path, G_FILE_TEST_IS_REGULAR));
	got = pxed_test_file_sha256(path);
	g_assert_cmpstr(got, ==, want);
}

static void
hpa_get(Fixture *f, const char *mode, const char *name, const char *out_name)
{
	g_autofree char *port = g_strdup_printf("%u", f->port);
	g_autofree char *out = g_build_filename(f->out, out_name, NULL);
	const char *argv[] = {"tftp", "-4",  "127.0.0.1", port, "-m", mode,
			      "-c",   "get", name,	  out,	NULL};

	run_client(argv);
}

static void
test_hpa(Fixture *f, gconstpointer data)
{
	const char *names[] = {"small.bin", "empty.bin", "exact.bin", "dir/nested.bin"};

	if (!require("tftp", "tftp-hpa"))
		return;
	for (guint i = 0; i < G_N_ELEMENTS(names); i++) {
		g_autofree char *out_name = g_strdup_printf("hpa-%u", i);
		hpa_get(f, "binary", names[i], out_name);
		assert_same_file(f->out, out_name, names[i]);
	}
}

static void
test_hpa_rollover(Fixture *f, gconstpointer data)
{
	g_autofree char *needle = g_strdup_printf("bytes=%u duration=", (guint)BIG_SIZE);

	if (!require("tftp", "tftp-hpa"))
		return;
	/* 40 MiB in 512-byte blocks: 81 921 blocks, so numbers wrap past 65535. */
	hpa_get(f, "binary", "big.bin", "big");
	assert_same_file(f->out, "big", "big.bin");
	g_assert_true(pxed_test_daemon_wait_for_log(f->daemon, needle, 5000));
}

static void
test_hpa_netascii(Fixture *f, gconstpointer data)
{
	g_autofree char *path = g_build_filename(f->out, "text", NULL);
	g_autofree char *contents = NULL;
	gsize len;

	if (!require("tftp", "tftp-hpa"))
		return;
	/* The client maps CR LF and CR NUL back: the file arrives as it is. */
	hpa_get(f, "ascii", "text.txt", "text");
	g_assert_true(g_file_get_contents(path, &contents, &len, NULL));
	g_assert_cmpmem(contents, len, text_file, sizeof(text_file) - 1);
}

static void
test_atftp(Fixture *f, gconstpointer data)
{
	g_autofree char *port = g_strdup_printf("%u", f->port);
	const struct {
		const char *name;
		const char *blksize;
		const char *windowsize;
	} runs[] = {
		{"small.bin", "blksize 1468", NULL},
		{"exact.bin", "blksize 512", "windowsize 4"},
		{"big.bin", "blksize 1468", "windowsize 16"},
		{"big.bin", "blksize 8192", "windowsize 64"},
	};

	if (!require("atftp", "atftp"))
		return;
	for (guint i = 0; i < G_N_ELEMENTS(runs); i++) {
		g_autofree char *out_name = g_strdup_printf("atftp-%u", i);
		g_autofree char *out = g_build_filename(f->out, out_name, NULL);
		const char *argv[] = {
			"atftp",     "-g",
			"-r",	     runs[i].name,
			"-l",	     out,
			"--option",  runs[i].blksize,
			"--option",  runs[i].windowsize != NULL ? runs[i].windowsize : "tsize 0",
			"127.0.0.1", port,
			NULL};
		run_client(argv);
		assert_same_file(f->out, out_name, runs[i].name);
	}
	/* The window was granted as asked (RFC 7440 §3). */
	g_assert_true(pxed_test_daemon_wait_for_log(f->daemon, "blksize=8192 windowsize=64", 5000));
}

static void
test_curl(Fixture *f, gconstpointer data)
{
	const struct {
		const char *name;
		const char *blksize;
		gboolean v6;
	} runs[] = {
		{"small.bin", "512", FALSE}, {"small.bin", "1468", FALSE},
		{"exact.bin", "512", FALSE}, {"empty.bin", "1468", FALSE},
		{"big.bin", "8192", FALSE},  {"big.bin", "65464", FALSE},
		{"small.bin", "1468", TRUE}, {"dir/nested.bin", "8", TRUE},
	};

	if (!require("curl", "curl"))
		return;
	for (guint i = 0; i < G_N_ELEMENTS(runs); i++) {
		g_autofree char *out_name = g_strdup_printf("curl-%u", i);
		g_autofree char *out = g_build_filename(f->out, out_name, NULL);
		g_autofree char *url = NULL;

		if (runs[i].v6 && !have_ipv6)
			continue;
		url = runs[i].v6 ? g_strdup_printf("tftp://[::1]:%u/%s", f->port6, runs[i].name)
				 : g_strdup_printf("tftp://127.0.0.1:%u/%s", f->port, runs[i].name);
		{
			const char *argv[] = {"curl", "-sS", "--max-time",     "60",
					      "-o",   out,   "--tftp-blksize", runs[i].blksize,
					      url,    NULL};
			run_client(argv);
		}
		assert_same_file(f->out, out_name, runs[i].name);
	}
}

/* ---- the client written here ---- */

static void
test_options(Fixture *f, gconstpointer data)
{
	{
		/* No options: RFC 1350 as it was, DATA 1 first. */
		GetOptions o = {.path = "small.bin"};
		g_auto(GetResult) r;
		assert_get(f->port, &o, "small.bin", &r);
		g_assert_false(r.oack);
		g_assert_cmpuint(r.first_opcode, ==, PXED_TFTP_OP_DATA);
	}
	{
		/* Everything: granted within the configured limits. */
		GetOptions o = {.path = "small.bin",
				.blksize = 65464,
				.windowsize = 1000,
				.tsize = TRUE,
				.timeout = 4};
		g_auto(GetResult) r;
		assert_get(f->port, &o, "small.bin", &r);
		g_assert_true(r.oack);
		g_assert_cmpuint(r.first_opcode, ==, PXED_TFTP_OP_OACK);
		g_assert_cmpuint(r.options.blksize, ==, 4096);	   /* max-blksize */
		g_assert_cmpuint(r.options.windowsize, ==, 32);	   /* max-windowsize */
		g_assert_cmpuint(r.options.tsize, ==, SMALL_SIZE); /* RFC 2349 */
		g_assert_cmpuint(r.options.timeout, ==, 4);	   /* echoed */
	}
	{
		/* tsize has no meaning in netascii (not known before the end). */
		GetOptions o = {
			.path = "text.txt", .mode = "netascii", .tsize = TRUE, .blksize = 9};
		g_auto(GetResult) r;
		g_assert_true(tftp_get(f->port, &o, &r));
		g_assert_true(r.oack);
		g_assert_cmpuint(r.options.present, ==, PXED_TFTP_OPT_BLKSIZE);
	}
}

static void
test_netascii_wire(Fixture *f, gconstpointer data)
{
	GString *want = g_string_new(NULL);

	/* RFC 1350 / RFC 764: LF as CR LF, CR as CR NUL, byte for byte on the
	 * wire; in windows and across block boundaries (blksize 8). */
	for (gsize i = 0; i < sizeof(text_file) - 1; i++) {
		if (text_file[i] == '\n')
			g_string_append_len(want, "\r\n", 2);
		else if (text_file[i] == '\r')
			g_string_append_len(want, "\r\0", 2);
		else
			g_string_append_c(want, text_file[i]);
	}
	for (guint w = 1; w <= 4; w += 3) {
		GetOptions o = {
			.path = "text.txt", .mode = "netascii", .blksize = 8, .windowsize = w};
		g_auto(GetResult) r;
		g_assert_true(tftp_get(f->port, &o, &r));
		g_assert_false(r.error);
		g_assert_cmpmem(r.data->data, r.data->len, want->str, want->len);
	}
	g_string_free(want, TRUE);
}

static void
test_duplicate_acks(Fixture *f, gconstpointer data)
{
	const guint windows[] = {1, 4, 16};

	/* Every ACK three times: each DATA must still go out once. A server
	 * with the sorcerer's apprentice would double its traffic per block. */
	for (guint i = 0; i < G_N_ELEMENTS(windows); i++) {
		GetOptions o = {.path = "small.bin", .windowsize = windows[i], .dup_acks = 2};
		g_auto(GetResult) r;
		g_autofree char *line = NULL;
		guint64 timeouts;

		assert_get(f->port, &o, "small.bin", &r);
		line = wait_event(f, "transfer-complete", r.local_port);
		g_assert_nonnull(line);
		timeouts = event_value(line, "timeouts");
		/* A resend can only come from a timer expiry on a slow machine,
		 * and then at most one window per expiry. */
		g_assert_cmpuint(r.data_packets, <=, r.blocks + timeouts * windows[i]);
		g_assert_cmpuint(event_value(line, "retransmits"), <=, timeouts * windows[i]);
	}
}

static void
test_dropped_acks(Fixture *f, gconstpointer data)
{
	const guint windows[] = {1, 8};

	for (guint i = 0; i < G_N_ELEMENTS(windows); i++) {
		/* Every 16th ACK lost once: the server's timer resends, the
		 * transfer completes byte for byte. */
		GetOptions o = {.path = "small.bin",
				.windowsize = windows[i],
				.drop_ack_every = 16,
				.dup_acks = 1};
		g_auto(GetResult) r;
		g_autofree char *line = NULL;

		assert_get(f->port, &o, "small.bin", &r);
		g_assert_cmpuint(r.dropped_acks, >, 0);
		g_assert_cmpuint(r.data_packets, >, r.blocks);
		line = wait_event(f, "transfer-complete", r.local_port);
		g_assert_nonnull(line);
		g_assert_cmpuint(event_value(line, "timeouts"), >=, 1);
		g_assert_cmpuint(event_value(line, "retransmits"), >=, 1);
		g_assert_cmpuint(event_value(line, "bytes"), ==, SMALL_SIZE);
	}
}

static void
test_windowsize(Fixture *f, gconstpointer data)
{
	const guint blksizes[] = {512, 1468, 4096};

	for (guint i = 0; i < G_N_ELEMENTS(blksizes); i++) {
		GetOptions o = {.path = "big.bin", .blksize = blksizes[i], .windowsize = 32};
		g_auto(GetResult) r;
		assert_get(f->port, &o, "big.bin", &r);
		g_assert_cmpuint(r.options.windowsize, ==, 32);
	}
	if (have_ipv6) {
		GetOptions o = {.path = "small.bin", .windowsize = 8, .v6 = TRUE};
		g_auto(GetResult) r;
		assert_get(f->port6, &o, "small.bin", &r);
	}
}

typedef struct {
	guint16 port;
	guint index;
	gboolean ok;
	char *sha;
} ParallelJob;

static gpointer
parallel_job(gpointer data)
{
	ParallelJob *job = data;
	const guint blksizes[] = {512, 1468, 8, 4096, 0};
	GetOptions o = {
		.path = job->index % 5 == 0 ? "big.bin" : "small.bin",
		.blksize = blksizes[job->index % G_N_ELEMENTS(blksizes)],
		.windowsize = job->index % 3 == 0 ? 0 : 1 + job->index % 16,
	};
	g_auto(GetResult) r;

	/* blksize 8 on the big file would be 5 million packets: not here. */
	if (job->index % 5 == 0 && o.blksize < 1468)
		o.blksize = 8192;
	job->ok = tftp_get(job->port, &o, &r) && !r.error;
	if (job->ok)
		job->sha = bytes_sha256(r.data);
	return NULL;
}

static void
test_parallel(Fixture *f, gconstpointer data)
{
	ParallelJob jobs[50];
	GThread *threads[50];
	g_autofree char *small = root_sha256("small.bin");
	g_autofree char *big = root_sha256("big.bin");

	for (guint i = 0; i < 50; i++) {
		jobs[i] = (ParallelJob){.port = f->port, .index = i};
		threads[i] = g_thread_new("tftp-client", parallel_job, &jobs[i]);
	}
	for (guint i = 0; i < 50; i++) {
		g_thread_join(threads[i]);
		g_assert_true(jobs[i].ok);
		g_assert_cmpstr(jobs[i].sha, ==, i % 5 == 0 ? big : small);
		g_free(jobs[i].sha);
	}
}

static void
test_path_escapes(Fixture *f, gconstpointer data)
{
	const char *paths[] = {
		"../secret.txt",
		"/../secret.txt",
		"dir/../../secret.txt",
		"..\\secret.txt",
		"dir\\..\\..\\secret.txt",
		"escape", /* a symlink out of the tree */
		"./dir/./../../secret.txt",
	};

	for (guint i = 0; i < G_N_ELEMENTS(paths); i++) {
		GetOptions o = {.path = paths[i]};
		g_auto(GetResult) r;
		g_test_message("%s", paths[i]);
		g_assert_true(tftp_get(f->port, &o, &r));
		g_assert_true(r.error);
		g_assert_cmpuint(r.error_code, ==, PXED_TFTP_ERR_ACCESS);
		g_assert_cmpuint(r.data->len, ==, 0);
	}
	{
		/* Leading slashes are the root's, not the host's. */
		GetOptions o = {.path = "//small.bin"};
		g_auto(GetResult) r;
		assert_get(f->port, &o, "small.bin", &r);
	}
	{
		GetOptions o = {.path = "/etc/passwd"};
		g_auto(GetResult) r;
		g_assert_true(tftp_get(f->port, &o, &r));
		g_assert_cmpuint(r.error_code, ==, PXED_TFTP_ERR_NOT_FOUND);
	}
	g_assert_true(pxed_test_daemon_wait_for_log(f->daemon, "event=transfer-failed", 1000));
}

static void
test_not_found(Fixture *f, gconstpointer data)
{
	GetOptions o = {.path = "no/such/file", .blksize = 1468};
	g_auto(GetResult) r;

	g_assert_true(tftp_get(f->port, &o, &r));
	g_assert_true(r.error);
	g_assert_cmpuint(r.error_code, ==, PXED_TFTP_ERR_NOT_FOUND);
	g_assert_cmpstr(r.error_message, ==, "File not found");
	assert_event(f, "transfer-failed", r.local_port);
}

static void
test_write_refused(Fixture *f, gconstpointer data)
{
	g_autoptr(Sock) s = sock_open(FALSE);
	g_autofree char *message = NULL;
	g_autofree char *path = g_build_filename(root, "new.bin", NULL);

	send_request(s, f->port, PXED_TFTP_OP_WRQ, "new.bin", "octet", NULL);
	g_assert_cmpuint(expect_error(s, &message), ==, PXED_TFTP_ERR_ACCESS);
	g_assert_nonnull(strstr(message, "writes"));
	g_assert_false(g_file_test(path, G_FILE_TEST_EXISTS));
	/* A DATA from nowhere gets "illegal operation", not a write. */
	sock_send(s, f->port, "\0\3\0\1data", 8);
	g_assert_cmpuint(expect_error(s, NULL), ==, PXED_TFTP_ERR_ILLEGAL_OP);
}

static void
test_bad_requests(Fixture *f, gconstpointer data)
{
	g_autoptr(Sock) s = sock_open(FALSE);
	const struct {
		const char *bytes;
		gsize len;
	} bad[] = {
		{"\0\1file", 6},	 /* no NUL */
		{"\0\1\0octet\0", 9},	 /* empty file name */
		{"\0\1f\0mail\0", 9},	 /* mode */
		{"\0\11f\0octet\0", 10}, /* opcode 9 */
		{"\0\4\0\1", 4},	 /* an ACK to the request port */
	};

	for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
		sock_send(s, f->port, bad[i].bytes, bad[i].len);
		g_assert_cmpuint(expect_error(s, NULL), ==, PXED_TFTP_ERR_ILLEGAL_OP);
	}
	/* An ERROR and a one-byte datagram are not answered; the server is fine. */
	sock_send(s, f->port, "\0\5\0\0x\0", 6);
	sock_send(s, f->port, "\1", 1);
	{
		GetOptions o = {.path = "small.bin"};
		g_auto(GetResult) r;
		assert_get(f->port, &o, "small.bin", &r);
	}
}

typedef void (*LockstepHook)(Fixture *f, guint16 tid, gpointer data);

/* Fetches @name block by block from a socket of its own, calling @hook once
 * when block @at has arrived (before it is acked). */
static void
lockstep_fetch(Fixture *f, Sock *s, const char *name, guint16 at, LockstepHook hook, gpointer data)
{
	g_autoptr(GByteArray) got = g_byte_array_new();
	g_autofree char *want = root_sha256(name);
	g_autofree char *sha = NULL;
	g_autofree guint8 *buf = g_malloc(1024);
	guint16 tid = 0;
	guint16 expect = 1;
	gboolean done = FALSE;

	send_request(s, f->port, PXED_TFTP_OP_RRQ, name, "octet", NULL);
	while (!done) {
		PxedTftpPacket packet;
		guint16 from;
		gssize n = sock_recv(s, buf, 1024, &from, 5000);

		g_assert_cmpint(n, >, 0);
		if (tid == 0)
			tid = from;
		g_assert_cmpuint(from, ==, tid);
		g_assert_true(pxed_tftp_packet_parse(buf, (gsize)n, &packet, NULL));
		g_assert_cmpint(packet.opcode, ==, PXED_TFTP_OP_DATA);
		if (packet.block != expect) {
			/* A resend after a slow moment: already acked. */
			g_assert_cmpuint(packet.block, ==, expect - 1);
			continue;
		}
		g_byte_array_append(got, packet.data, (guint)packet.data_len);
		if (expect == at)
			hook(f, tid, data);
		send_ack(s, tid, expect);
		done = packet.data_len < 512;
		expect++;
	}
	sha = bytes_sha256(got);
	g_assert_cmpstr(sha, ==, want);
	assert_event(f, "transfer-complete", s->local_port);
}

static void
stranger_writes(Fixture *f, guint16 tid, gpointer data)
{
	Sock *stranger = data;
	g_autofree char *message = NULL;

	/* RFC 1350 §4: a stranger writing to the transfer's port gets error 5;
	 * the transfer does not notice. */
	send_ack(stranger, tid, 50);
	send_ack(stranger, tid, 51);
	g_assert_cmpuint(expect_error(stranger, &message), ==, PXED_TFTP_ERR_UNKNOWN_TID);
	g_assert_cmpuint(expect_error(stranger, NULL), ==, PXED_TFTP_ERR_UNKNOWN_TID);
	/* An ERROR from a stranger is not answered and ends nothing. */
	sock_send(stranger, tid, "\0\5\0\0stop\0", 10);
}

static void
test_unknown_tid(Fixture *f, gconstpointer data)
{
	g_autoptr(Sock) s = sock_open(FALSE);
	g_autoptr(Sock) stranger = sock_open(FALSE);
	guint8 buf[64];
	guint16 from;

	lockstep_fetch(f, s, "small.bin", 50, stranger_writes, stranger);
	g_assert_cmpint(sock_recv(stranger, buf, sizeof(buf), &from, 100), ==, -1);
}

static void
reload_now(Fixture *f, guint16 tid, gpointer data)
{
	g_autofree char *confd =
		g_build_filename(pxed_test_daemon_get_dir(f->daemon), "conf.d", NULL);

	/* A changed [tftp] group: the instance is replaced while this
	 * transfer is in the middle of the file. */
	pxed_test_write_file(confd, "70-tftp.conf", "[tftp]\nmax-sessions=7\n");
	pxed_test_daemon_signal(f->daemon, SIGHUP);
	g_assert_true(pxed_test_daemon_wait_for_log(f->daemon, "event=reloaded", 5000));
}

static void
test_reload_keeps_transfers(Fixture *f, gconstpointer data)
{
	g_autoptr(Sock) s = sock_open(FALSE);
	g_autofree char *log = NULL;
	guint16 port = 0;

	lockstep_fetch(f, s, "small.bin", 20, reload_now, NULL);
	/* The new instance listens on a new port 0 and serves. */
	log = pxed_test_daemon_get_log(f->daemon);
	g_assert_nonnull(strstr(log, "event=stopped"));
	{
		g_auto(GStrv) lines = g_strsplit(log, "\n", -1);
		for (guint i = 0; lines[i] != NULL; i++) {
			const char *at =
				strstr(lines[i], "source=tftp event=listening client=- 127.0.0.1:");
			if (at != NULL)
				port = (guint16)g_ascii_strtoull(strrchr(at, ':') + 1, NULL, 10);
		}
	}
	g_assert_cmpuint(port, !=, f->port);
	{
		GetOptions o = {.path = "exact.bin"};
		g_auto(GetResult) r;
		assert_get(port, &o, "exact.bin", &r);
	}
}

static void
test_max_sessions(Fixture *f, gconstpointer data)
{
	g_autoptr(Sock) a = sock_open(FALSE);
	g_autoptr(Sock) b = sock_open(FALSE);
	g_autoptr(Sock) c = sock_open(FALSE);
	g_autofree char *message = NULL;
	g_autofree char *failed_a = NULL;
	g_autofree char *failed_b = NULL;
	guint8 buf[1024];
	guint16 from;

	/* Two transfers that never get acknowledged hold both sessions. */
	send_request(a, f->port, PXED_TFTP_OP_RRQ, "small.bin", "octet", NULL);
	send_request(b, f->port, PXED_TFTP_OP_RRQ, "small.bin", "octet", NULL);
	g_assert_cmpint(sock_recv(a, buf, sizeof(buf), &from, 5000), >, 0);
	g_assert_cmpint(sock_recv(b, buf, sizeof(buf), &from, 5000), >, 0);
	send_request(c, f->port, PXED_TFTP_OP_RRQ, "small.bin", "octet", NULL);
	g_assert_cmpuint(expect_error(c, &message), ==, PXED_TFTP_ERR_UNDEFINED);
	g_assert_nonnull(strstr(message, "max-sessions"));
	g_assert_nonnull(strstr(message, "busy"));

	/* Never acknowledged, they give up after unacked-retries (timeout=1:
	 * about two seconds); then there is room again. */
	failed_a = wait_event(f, "transfer-failed", a->local_port);
	failed_b = wait_event(f, "transfer-failed", b->local_port);
	g_assert_nonnull(failed_a);
	g_assert_nonnull(failed_b);
	g_assert_nonnull(strstr(failed_a, "retries"));
	{
		GetOptions o = {.path = "small.bin"};
		g_auto(GetResult) r;
		assert_get(f->port, &o, "small.bin", &r);
	}
}

static void
test_repeated_request(Fixture *f, gconstpointer data)
{
	g_autoptr(Sock) s = sock_open(FALSE);
	guint8 buf[1024];
	guint16 from;
	guint16 tid;
	PxedTftpPacket packet;
	gssize n;

	/* A client that repeats its RRQ before the answer arrives gets one
	 * transfer, not two. */
	send_request(s, f->port, PXED_TFTP_OP_RRQ, "exact.bin", "octet", NULL);
	send_request(s, f->port, PXED_TFTP_OP_RRQ, "exact.bin", "octet", NULL);
	n = sock_recv(s, buf, sizeof(buf), &tid, 5000);
	g_assert_cmpint(n, ==, 516);
	g_assert_cmpint(sock_recv(s, buf, sizeof(buf), &from, 200), ==, -1);
	for (guint16 block = 1; block < 9;) {
		send_ack(s, tid, block);
		n = sock_recv(s, buf, sizeof(buf), &from, 5000);
		g_assert_cmpint(n, >, 0);
		g_assert_cmpuint(from, ==, tid);
		g_assert_true(pxed_tftp_packet_parse(buf, (gsize)n, &packet, NULL));
		g_assert_cmpint(packet.opcode, ==, PXED_TFTP_OP_DATA);
		/* (a resend of the block just acked, after a slow moment, is fine) */
		g_assert_cmpuint(packet.block, >=, block);
		g_assert_cmpuint(packet.block, <=, block + 1);
		block = packet.block;
	}
	send_ack(s, tid, 9);
	assert_event(f, "transfer-complete", s->local_port);
}

static void
test_events(Fixture *f, gconstpointer data)
{
	GetOptions o = {.path = "small.bin", .blksize = 1468, .windowsize = 8};
	g_auto(GetResult) r;
	g_autofree char *start = NULL;
	g_autofree char *done = NULL;

	assert_get(f->port, &o, "small.bin", &r);
	start = wait_event(f, "transfer-start", r.local_port);
	done = wait_event(f, "transfer-complete", r.local_port);
	g_assert_nonnull(start);
	g_assert_nonnull(done);
	/* Filed under the client's address, with what was sent and how. */
	g_assert_nonnull(strstr(start, "client=127.0.0.1"));
	g_assert_nonnull(strstr(start, "file=small.bin"));
	g_assert_cmpuint(event_value(start, "size"), ==, SMALL_SIZE);
	g_assert_cmpuint(event_value(done, "bytes"), ==, SMALL_SIZE);
	g_assert_cmpuint(event_value(done, "blksize"), ==, 1468);
	g_assert_cmpuint(event_value(done, "windowsize"), ==, 8);
	g_assert_nonnull(strstr(done, " duration="));
}

/* ---- limits under abuse ---- */

static const guint8 client_error[] = "\0\5\0\0bye";

/* Datagrams already waiting on @s, each read; never waits. */
static guint
drain(Sock *s, guint64 *bytes)
{
	guint8 buf[2048];
	guint16 from;
	guint n = 0;
	gssize len;

	*bytes = 0;
	while ((len = sock_recv(s, buf, sizeof(buf), &from, 0)) >= 0) {
		n++;
		*bytes += (guint64)len;
	}
	return n;
}

static guint
count_in_log(Fixture *f, const char *needle)
{
	g_autofree char *log = pxed_test_daemon_get_log(f->daemon);
	guint n = 0;

	for (const char *at = strstr(log, needle); at != NULL; at = strstr(at + 1, needle))
		n++;
	return n;
}

static void
test_per_client(Fixture *f, gconstpointer data)
{
	Sock *held[3];
	guint16 tids[3];
	g_autoptr(Sock) extra = sock_open(FALSE);
	g_autofree char *message = NULL;
	guint8 buf[1024];
	guint16 from;
	PxedTftpPacket packet;
	gssize n;

	/* max-sessions-per-client=3: three transfers from 127.0.0.1 that are
	 * never acknowledged hold the address's share. */
	for (guint i = 0; i < G_N_ELEMENTS(held); i++) {
		held[i] = sock_open(FALSE);
		send_request(held[i], f->port, PXED_TFTP_OP_RRQ, "small.bin", "octet", NULL);
		g_assert_cmpint(sock_recv(held[i], buf, sizeof(buf), &tids[i], 5000), ==, 516);
	}
	/* A fourth, from another port of the same address: busy, said
	 * clearly; and again, with one log line for all of them. */
	for (guint i = 0; i < 3; i++) {
		g_clear_pointer(&message, g_free);
		send_request(extra, f->port, PXED_TFTP_OP_RRQ, "small.bin", "octet", NULL);
		g_assert_cmpuint(expect_error(extra, &message), ==, PXED_TFTP_ERR_UNDEFINED);
		g_assert_nonnull(strstr(message, "busy"));
		g_assert_nonnull(strstr(message, "max-sessions-per-client"));
	}

	/* Another machine is not locked out by it. */
	{
		GetOptions o = {.path = "small.bin", .from = "127.0.0.2"};
		g_auto(GetResult) r;
		g_autofree char *done = NULL;
		assert_get(f->port, &o, "small.bin", &r);
		/* (the log is in order: what the refusals logged is there now) */
		done = wait_event_from(f, "transfer-complete", "127.0.0.2", r.local_port);
		g_assert_nonnull(done);
	}
	g_assert_cmpuint(count_in_log(f, "reason=\"max-sessions-per-client reached\""), ==, 3);
	g_assert_cmpuint(count_in_log(f, "max-sessions-per-client=3: request refused"), ==, 1);

	/* One of the three ends: its share is given back, the address may
	 * start a transfer again. */
	sock_send(held[0], tids[0], client_error, sizeof(client_error));
	assert_event(f, "transfer-failed", held[0]->local_port);
	send_request(extra, f->port, PXED_TFTP_OP_RRQ, "small.bin", "octet", NULL);
	n = sock_recv(extra, buf, sizeof(buf), &from, 5000);
	g_assert_cmpint(n, ==, 516);
	g_assert_true(pxed_tftp_packet_parse(buf, (gsize)n, &packet, NULL));
	g_assert_cmpint(packet.opcode, ==, PXED_TFTP_OP_DATA);
	sock_send(extra, from, client_error, sizeof(client_error));
	assert_event(f, "transfer-failed", extra->local_port);
	for (guint i = 1; i < G_N_ELEMENTS(held); i++) {
		sock_send(held[i], tids[i], client_error, sizeof(client_error));
		assert_event(f, "transfer-failed", held[i]->local_port);
	}
	for (guint i = 0; i < G_N_ELEMENTS(held); i++)
		sock_close(held[i]);
}

static void
test_max_timeout(Fixture *f, gconstpointer data)
{
	{
		/* At the ceiling (max-timeout=5): granted, echoed (RFC 2349). */
		GetOptions o = {.path = "small.bin", .blksize = 1468, .timeout = 5};
		g_auto(GetResult) r;
		assert_get(f->port, &o, "small.bin", &r);
		g_assert_true(r.oack);
		g_assert_cmpuint(r.options.present, ==,
				 PXED_TFTP_OPT_BLKSIZE | PXED_TFTP_OPT_TIMEOUT);
		g_assert_cmpuint(r.options.timeout, ==, 5);
	}
	{
		/* 255 s: RFC 2349 allows no other value in the OACK than the
		 * client's, so the option is left out; the rest is granted and
		 * the file arrives. */
		GetOptions o = {.path = "small.bin", .blksize = 1468, .timeout = 255};
		g_auto(GetResult) r;
		assert_get(f->port, &o, "small.bin", &r);
		g_assert_true(r.oack);
		g_assert_cmpuint(r.options.present, ==, PXED_TFTP_OPT_BLKSIZE);
		g_assert_cmpuint(r.options.blksize, ==, 1468);
	}
	{
		/* Alone, it leaves nothing to acknowledge: no OACK (RFC 2347). */
		GetOptions o = {.path = "small.bin", .timeout = 6};
		g_auto(GetResult) r;
		assert_get(f->port, &o, "small.bin", &r);
		g_assert_false(r.oack);
		g_assert_cmpuint(r.first_opcode, ==, PXED_TFTP_OP_DATA);
		/* (the log is in order: both refusals' lines are there now) */
		assert_event(f, "transfer-complete", r.local_port);
	}
	/* Two declined, one log line. */
	g_assert_cmpuint(count_in_log(f, "above max-timeout=5"), ==, 1);
}

static void
test_unacked(Fixture *f, gconstpointer data)
{
	const struct {
		guint blksize;
		guint windowsize;
		guint16 first_opcode;
	} runs[] = {
		{0, 0, PXED_TFTP_OP_DATA},	/* RFC 1350: DATA 1 */
		{1468, 16, PXED_TFTP_OP_OACK},	/* an OACK for a window */
		{65464, 64, PXED_TFTP_OP_OACK}, /* the largest blocks and window */
	};

	/* A request whose answer is never acknowledged — what a request with
	 * a forged source address gets its victim: at most 1 + unacked-retries
	 * (1) packets, counted once the server has ended the transfer. */
	for (guint i = 0; i < G_N_ELEMENTS(runs); i++) {
		g_autoptr(Sock) s = sock_open(FALSE);
		PxedTftpOptions asked = {0};
		guint8 first[2048];
		guint16 tid;
		gssize n;
		g_autofree char *failed = NULL;
		guint64 bytes;
		guint packets;

		if (runs[i].windowsize > 0) {
			asked.present = PXED_TFTP_OPT_BLKSIZE | PXED_TFTP_OPT_WINDOWSIZE;
			asked.blksize = runs[i].blksize;
			asked.windowsize = runs[i].windowsize;
		}
		send_request(s, f->port, PXED_TFTP_OP_RRQ, "big.bin", "octet", &asked);
		n = sock_recv(s, first, sizeof(first), &tid, 5000);
		g_assert_cmpint(n, >, 0);
		g_assert_cmpuint((first[0] << 8) | first[1], ==, runs[i].first_opcode);
		failed = wait_event(f, "transfer-failed", s->local_port);
		g_assert_nonnull(failed);
		packets = 1 + drain(s, &bytes);
		bytes += (guint64)n;
		g_test_message("window %u: %u packets, %" G_GUINT64_FORMAT " bytes",
			       runs[i].windowsize, packets, bytes);
		g_assert_cmpuint(packets, <=, 2);
		g_assert_cmpuint(bytes, <=, 2 * 516);
		g_assert_nonnull(strstr(failed, "acknowledged nothing"));
	}
	g_assert_true(pxed_test_daemon_wait_for_log(f->daemon, "unacked-retries=1", 5000));
}

int
main(int argc, char **argv)
{
	int result;

	g_test_init(&argc, &argv, NULL);
	have_ipv6 = ipv6_works();
	tree_create();

	g_test_add("/tftp/hpa/files", Fixture, NULL, fixture_setup, test_hpa, fixture_teardown);
	g_test_add("/tftp/hpa/rollover-40MiB", Fixture, NULL, fixture_setup, test_hpa_rollover,
		   fixture_teardown);
	g_test_add("/tftp/hpa/netascii", Fixture, NULL, fixture_setup, test_hpa_netascii,
		   fixture_teardown);
	g_test_add("/tftp/atftp/blksize-windowsize", Fixture, NULL, fixture_setup, test_atftp,
		   fixture_teardown);
	g_test_add("/tftp/curl/blksize", Fixture, NULL, fixture_setup, test_curl, fixture_teardown);
	g_test_add("/tftp/client/options", Fixture, "max-blksize=4096\nmax-windowsize=32",
		   fixture_setup, test_options, fixture_teardown);
	g_test_add("/tftp/client/netascii-wire", Fixture, NULL, fixture_setup, test_netascii_wire,
		   fixture_teardown);
	g_test_add("/tftp/client/duplicate-acks", Fixture, NULL, fixture_setup, test_duplicate_acks,
		   fixture_teardown);
	g_test_add("/tftp/client/dropped-acks", Fixture, NULL, fixture_setup, test_dropped_acks,
		   fixture_teardown);
	g_test_add("/tftp/client/windowsize", Fixture, NULL, fixture_setup, test_windowsize,
		   fixture_teardown);
	/* 50 clients on one address: a share of 50 sessions. */
	g_test_add("/tftp/client/parallel-50", Fixture, "max-sessions-per-client=50", fixture_setup,
		   test_parallel, fixture_teardown);
	g_test_add("/tftp/path-escapes", Fixture, NULL, fixture_setup, test_path_escapes,
		   fixture_teardown);
	g_test_add("/tftp/not-found", Fixture, NULL, fixture_setup, test_not_found,
		   fixture_teardown);
	g_test_add("/tftp/write-refused", Fixture, NULL, fixture_setup, test_write_refused,
		   fixture_teardown);
	g_test_add("/tftp/bad-requests", Fixture, NULL, fixture_setup, test_bad_requests,
		   fixture_teardown);
	g_test_add("/tftp/unknown-tid", Fixture, NULL, fixture_setup, test_unknown_tid,
		   fixture_teardown);
	g_test_add("/tftp/max-sessions", Fixture, "max-sessions=2\ntimeout=1\nretries=1",
		   fixture_setup, test_max_sessions, fixture_teardown);
	g_test_add("/tftp/limits/per-client", Fixture, "max-sessions-per-client=3", fixture_setup,
		   test_per_client, fixture_teardown);
	g_test_add("/tftp/limits/max-timeout", Fixture, "max-timeout=5", fixture_setup,
		   test_max_timeout, fixture_teardown);
	g_test_add("/tftp/limits/unacked", Fixture, "timeout=1\nretries=5\nunacked-retries=1",
		   fixture_setup, test_unacked, fixture_teardown);
	g_test_add("/tftp/repeated-request", Fixture, NULL, fixture_setup, test_repeated_request,
		   fixture_teardown);
	g_test_add("/tftp/events", Fixture, NULL, fixture_setup, test_events, fixture_teardown);
	g_test_add("/tftp/reload-keeps-transfers", Fixture, NULL, fixture_setup,
		   test_reload_keeps_transfers, fixture_teardown);

	result = g_test_run();
	pxed_test_tmpdir_free(tree);
	g_free(root);
	return result;
}
