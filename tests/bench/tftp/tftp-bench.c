/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * A TFTP load client for the benchmark: the same client against every
 * server, speaking what each one accepts (blksize, tsize, windowsize — a
 * server that does not acknowledge an option is measured at what it does).
 * Receives with recvmmsg(), acknowledges as RFC 7440 §4 says (at the end of
 * each window, and at once on a gap), checks every byte against the file.
 *
 *   tftp-bench get   --port P --file NAME --verify PATH [--blksize B] [--windowsize W]
 *   tftp-bench storm --port P --file NAME --verify PATH --clients N [--blksize B] [--windowsize W]
 *
 * One line of key=value results on stdout; exit 1 if any transfer failed or
 * any byte differed.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tftp-packet.h"

#define BATCH	    64
#define RETRY_US    (500 * 1000)
#define MAX_RETRIES 20

typedef struct {
	int fd;
	guint16 tid;
	guint64 expect;
	guint since_ack;
	guint blksize;
	guint window;
	gboolean gap_reported;
	gboolean done;
	gboolean failed;
	gboolean bad_data;
	guint64 bytes;
	gint64 started;
	gint64 finished;
	gint64 last_rx;
	guint retries;
	guint16 last_ack;
	gboolean acked_any;
	guint granted_blksize;
	guint granted_window;
} Client;

static guint16 opt_port;
static const char *opt_file;
static const char *opt_verify;
static guint opt_blksize;
static guint opt_windowsize;
static guint opt_clients = 1;
static const guint8 *reference;
static gsize reference_size;
static guint8 request[1024];
static gsize request_len;
static struct sockaddr_in server_addr;

static void
client_send(Client *c, guint16 port, const void *buf, gsize len)
{
	struct sockaddr_in to = server_addr;
	to.sin_port = htons(port);
	if (sendto(c->fd, buf, len, 0, (struct sockaddr *)&to, sizeof(to)) < 0 && errno != EAGAIN)
		g_printerr("sendto: %s\n", g_strerror(errno));
}

static void
client_ack(Client *c, guint64 block)
{
	guint8 ack[4] = {0, PXED_TFTP_OP_ACK, (guint8)((block >> 8) & 0xff),
			 (guint8)(block & 0xff)};
	c->last_ack = (guint16)(block & 0xffff);
	c->acked_any = TRUE;
	client_send(c, c->tid, ack, sizeof(ack));
}

static void
client_start(Client *c)
{
	struct sockaddr_in local = {.sin_family = AF_INET,
				    .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int rcvbuf = 8 << 20;

	memset(c, 0, sizeof(*c));
	c->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0 || bind(c->fd, (struct sockaddr *)&local, sizeof(local)) != 0) {
		g_printerr("socket: %s\n", g_strerror(errno));
		exit(2);
	}
	/* The same large buffer for every server: a window is never lost to
	 * the client's own queue (SO_RCVBUFFORCE as root, else rmem_max). */
	if (setsockopt(c->fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)) != 0)
		setsockopt(c->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	c->expect = 1;
	c->blksize = 512;
	c->window = 1;
	c->granted_blksize = 512;
	c->granted_window = 1;
	c->started = g_get_monotonic_time();
	c->last_rx = c->started;
	client_send(c, opt_port, request, request_len);
}

static void
client_finish(Client *c, gboolean ok)
{
	c->done = TRUE;
	c->failed = !ok;
	c->finished = g_get_monotonic_time();
	close(c->fd);
	c->fd = -1;
}

/* One datagram from the server. */
static void
client_packet(Client *c, const guint8 *buf, gsize len, guint16 from)
{
	guint16 opcode;
	guint16 block;

	if (len < 4)
		return;
	if (c->tid == 0)
		c->tid = from;
	else if (from != c->tid)
		return;
	opcode = (guint16)((buf[0] << 8) | buf[1]);
	block = (guint16)((buf[2] << 8) | buf[3]);
	if (opcode == PXED_TFTP_OP_OACK) {
		PxedTftpPacket packet;
		if (c->acked_any)
			return;
		if (!pxed_tftp_packet_parse(buf, len, &packet, NULL)) {
			client_finish(c, FALSE);
			return;
		}
		if (packet.options.present & PXED_TFTP_OPT_BLKSIZE)
			c->blksize = c->granted_blksize = packet.options.blksize;
		if (packet.options.present & PXED_TFTP_OPT_WINDOWSIZE)
			c->window = c->granted_window = packet.options.windowsize;
		client_ack(c, 0);
		return;
	}
	if (opcode == PXED_TFTP_OP_ERROR) {
		g_printerr("error %u from the server: %.*s\n", block, (int)(len - 4),
			   (const char *)buf + 4);
		client_finish(c, FALSE);
		return;
	}
	if (opcode != PXED_TFTP_OP_DATA)
		return;
	if (block == (guint16)(c->expect & 0xffff)) {
		gsize n = len - 4;
		guint64 offset = c->bytes;
		gboolean last = n < c->blksize;

		if (offset + n > reference_size || memcmp(reference + offset, buf + 4, n) != 0)
			c->bad_data = TRUE;
		c->bytes += n;
		c->expect++;
		c->since_ack++;
		c->gap_reported = FALSE;
		if (c->since_ack >= c->window || last) {
			client_ack(c, c->expect - 1);
			c->since_ack = 0;
		}
		if (last)
			client_finish(c, !c->bad_data && c->bytes == reference_size);
	} else if (c->window == 1) {
		/* RFC 1350: a repeated block is acknowledged again. */
		if (block == (guint16)((c->expect - 1) & 0xffff))
			client_ack(c, c->expect - 1);
	} else if (!c->gap_reported) {
		/* RFC 7440 §4: report the last block in order, once per gap. */
		client_ack(c, c->expect - 1);
		c->gap_reported = TRUE;
		c->since_ack = 0;
	}
}

static void
client_read(Client *c)
{
	static guint8 bufs[BATCH][65536 + 4];
	struct mmsghdr msgs[BATCH];
	struct iovec iovs[BATCH];
	struct sockaddr_in from[BATCH];

	/* One batch per readiness: epoll is level-triggered, so what is left
	 * is reported again, and no syscall is spent learning "nothing more". */
	{
		int n;
		memset(msgs, 0, sizeof(msgs));
		for (guint i = 0; i < BATCH; i++) {
			iovs[i].iov_base = bufs[i];
			iovs[i].iov_len = sizeof(bufs[i]);
			msgs[i].msg_hdr.msg_iov = &iovs[i];
			msgs[i].msg_hdr.msg_iovlen = 1;
			msgs[i].msg_hdr.msg_name = &from[i];
			msgs[i].msg_hdr.msg_namelen = sizeof(from[i]);
		}
		n = recvmmsg(c->fd, msgs, BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0)
			return;
		c->last_rx = g_get_monotonic_time();
		c->retries = 0;
		for (int i = 0; i < n && !c->done; i++)
			client_packet(c, bufs[i], msgs[i].msg_len, ntohs(from[i].sin_port));
	}
}

/* RFC 1350 §2: no answer for a while — say the last thing again. */
static void
client_tick(Client *c, gint64 now)
{
	if (c->done || now - c->last_rx < RETRY_US)
		return;
	if (++c->retries > MAX_RETRIES) {
		g_printerr("client on fd %d: no answer, giving up\n", c->fd);
		client_finish(c, FALSE);
		return;
	}
	c->last_rx = now;
	if (c->tid == 0)
		client_send(c, opt_port, request, request_len);
	else if (c->acked_any)
		client_ack(c, c->last_ack);
}

static void
load_reference(void)
{
	struct stat st;
	int fd = open(opt_verify, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || fstat(fd, &st) != 0) {
		g_printerr("%s: %s\n", opt_verify, g_strerror(errno));
		exit(2);
	}
	reference_size = (gsize)st.st_size;
	reference = reference_size > 0 ? mmap(NULL, reference_size, PROT_READ,
					      MAP_PRIVATE | MAP_POPULATE, fd, 0)
				       : (const guint8 *)"";
	if (reference == MAP_FAILED) {
		g_printerr("mmap: %s\n", g_strerror(errno));
		exit(2);
	}
	close(fd);
}

static void
build_request(void)
{
	PxedTftpOptions options = {.present = PXED_TFTP_OPT_TSIZE};

	if (opt_blksize > 0) {
		options.present |= PXED_TFTP_OPT_BLKSIZE;
		options.blksize = opt_blksize;
	}
	if (opt_windowsize > 0) {
		options.present |= PXED_TFTP_OPT_WINDOWSIZE;
		options.windowsize = opt_windowsize;
	}
	request_len = pxed_tftp_packet_build_request(request, sizeof(request), PXED_TFTP_OP_RRQ,
						     opt_file, "octet", &options, NULL);
	server_addr.sin_family = AF_INET;
	server_addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
}

static int
run(void)
{
	Client *clients = g_new0(Client, opt_clients);
	int ep = epoll_create1(EPOLL_CLOEXEC);
	guint open_clients = opt_clients;
	gint64 first = G_MAXINT64, last = 0, slowest = 0, fastest = G_MAXINT64;
	guint failed = 0;
	guint64 bytes = 0;

	/* Every client asks at once, as machines powered on together do. */
	for (guint i = 0; i < opt_clients; i++) {
		struct epoll_event ev = {.events = EPOLLIN, .data.u32 = i};
		client_start(&clients[i]);
		epoll_ctl(ep, EPOLL_CTL_ADD, clients[i].fd, &ev);
	}
	while (open_clients > 0) {
		struct epoll_event events[256];
		int n = epoll_wait(ep, events, G_N_ELEMENTS(events), 50);
		gint64 now = g_get_monotonic_time();

		for (int i = 0; i < n; i++) {
			Client *c = &clients[events[i].data.u32];
			if (c->done)
				continue;
			client_read(c);
			if (c->done)
				open_clients--;
		}
		for (guint i = 0; i < opt_clients; i++) {
			if (clients[i].done)
				continue;
			client_tick(&clients[i], now);
			if (clients[i].done)
				open_clients--;
		}
	}
	for (guint i = 0; i < opt_clients; i++) {
		Client *c = &clients[i];
		gint64 took = c->finished - c->started;
		if (c->failed) {
			failed++;
			continue;
		}
		first = MIN(first, c->started);
		last = MAX(last, c->finished);
		slowest = MAX(slowest, took);
		fastest = MIN(fastest, took);
		bytes += c->bytes;
	}
	if (failed == opt_clients) {
		printf("failed=%u\n", failed);
		return 1;
	}
	printf("clients=%u failed=%u bytes=%" G_GUINT64_FORMAT " seconds=%.4f mbps=%.1f "
	       "slowest=%.4f fastest=%.4f blksize=%u windowsize=%u\n",
	       opt_clients, failed, bytes, (double)(last - first) / G_USEC_PER_SEC,
	       (double)bytes / (double)(last - first), (double)slowest / G_USEC_PER_SEC,
	       (double)fastest / G_USEC_PER_SEC, clients[0].granted_blksize,
	       clients[0].granted_window);
	close(ep);
	g_free(clients);
	return failed > 0 ? 1 : 0;
}

int
main(int argc, char **argv)
{
	gint port = 0, blksize = 0, windowsize = 0, clients = 1;
	g_autofree char *file = NULL;
	g_autofree char *verify = NULL;
	g_autoptr(GOptionContext) context = g_option_context_new("get|storm");
	g_autoptr(GError) error = NULL;
	GOptionEntry entries[] = {
		{"port", 0, 0, G_OPTION_ARG_INT, &port, "server port on 127.0.0.1", "P"},
		{"file", 0, 0, G_OPTION_ARG_STRING, &file, "file name to ask for", "NAME"},
		{"verify", 0, 0, G_OPTION_ARG_FILENAME, &verify, "local copy to compare", "PATH"},
		{"blksize", 0, 0, G_OPTION_ARG_INT, &blksize, "blksize option (0: none)", "B"},
		{"windowsize", 0, 0, G_OPTION_ARG_INT, &windowsize, "windowsize option", "W"},
		{"clients", 0, 0, G_OPTION_ARG_INT, &clients, "clients at once (storm)", "N"},
		{NULL},
	};

	g_option_context_add_main_entries(context, entries, NULL);
	if (!g_option_context_parse(context, &argc, &argv, &error) || argc != 2 || port <= 0 ||
	    port > 65535 || file == NULL || verify == NULL || clients < 1 ||
	    (g_strcmp0(argv[1], "get") != 0 && g_strcmp0(argv[1], "storm") != 0)) {
		g_printerr("usage: tftp-bench get|storm --port P --file NAME --verify PATH "
			   "[--blksize B] [--windowsize W] [--clients N]\n");
		return 2;
	}
	opt_port = (guint16)port;
	opt_file = file;
	opt_verify = verify;
	opt_blksize = (guint)blksize;
	opt_windowsize = (guint)windowsize;
	opt_clients = g_strcmp0(argv[1], "get") == 0 ? 1 : (guint)clients;
	load_reference();
	build_request();
	return run();
}
