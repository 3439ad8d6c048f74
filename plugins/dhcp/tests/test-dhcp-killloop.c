/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * kill -9 loop: pxed serves DHCP in a network namespace this test makes
 * ("srv", srv0 10.250.0.1/16) to a storm of synthetic clients in "cli" (UDP
 * broadcasts from port 68, full DISCOVER/OFFER/REQUEST/ACK, one new client
 * every 1/NEW_CLIENTS_PER_SECOND s). KILLS times, after a random STORM_MIN_MS to
 * STORM_MAX_MS of storm, the daemon gets SIGKILL and is started again on the
 * same state folder. The plugin sends an ACK only once its lease is written
 * and fdatasync()ed, so after every kill:
 *
 * 1. the journal is readable: the daemon starts and serves (a DISCOVER gets an
 *    OFFER), and neither it nor the store's own reader, run here on a copy of
 *    the journal as the kill left it, reports damage other than one torn last
 *    line ("no end of line" — the store writes a record with its newline, so
 *    a kill inside write() can leave only the last line short; that record
 *    was never synced, hence never acknowledged). Any other damaged record
 *    (checksum mismatch, bad field) fails the test, as does a second one;
 * 2. every ACK the clients ever received is in the journal (the store's reader,
 *    by client identifier: same address, same MAC), and the restarted server
 *    knows each lease ACKed since the previous restart: an INIT-REBOOT REQUEST
 *    (RFC 2131 §4.3.2) for it is ACKed, not NAKed, and a DISCOVER from the
 *    same MAC is offered the same address. At the end every lease is asked
 *    for again that way;
 * 3. no address is ever ACKed to two different MACs.
 *
 * A SIGKILL leaves the page cache alone: this loop proves that no ACK leaves
 * before its lease is written, not that fdatasync() happened (only a power
 * cut tells that). PXED_KILLLOOP_SEED=N replays the same kill moments.
 * Needs root; skips otherwise.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dhcp-test-net.h"
#include "pxed-store.h"

/* The storm: a bounded rate, far below what the daemon sustains, so that the
 * kill lands in a daemon doing ordinary work, not in a flooded one. */
#define NEW_CLIENTS_PER_SECOND 500
#define KILLS		       100
#define STORM_MIN_MS	       20
#define STORM_MAX_MS	       300
/* Bounds on waiting for an answer; the test never sleeps. */
#define SERVING_DEADLINE_MS 10000
#define CHECK_DEADLINE_MS   5000
#define RESEND_MS	    500
/* INIT-REBOOT checks in flight at once (two datagrams each). */
#define CHECK_WINDOW 128

/* xid spaces: the storm's clients, the read-back checks, the serving probes */
#define XID_STORM 0x4b000000u
#define XID_CHECK 0x5c000000u
#define XID_PROBE 0x5d000000u
#define XID_KIND  0xff000000u

static const char conf[] = "[dhcp]\n"
			   "interface=srv0\n"
			   "range=10.250.1.1-10.250.254.254\n"
			   "lease-time=86400\n";

typedef enum {
	CLIENT_DISCOVERING,
	CLIENT_REQUESTING,
	CLIENT_BOUND,
	CLIENT_GAVE_UP,
} ClientState;

typedef struct {
	ClientState state;
	guint32 address; /* network order: offered, then acknowledged */
	guint life;	 /* the daemon's life it started in */
} Client;

typedef struct {
	guint client;
	guint8 type; /* DISCOVER or REQUEST */
	gboolean answered;
	gint64 sent;
} Check;

typedef struct {
	DhcpTestNet *net;
	PxedTestDaemon *daemon;
	char *dir;
	char *state;
	char *journal;
	char *copy;
	GPtrArray *warnings; /* the store's warnings in this process */
	int fd;
	GRand *rand;
	guint life;	      /* daemon starts so far */
	GArray *clients;      /* Client, index = MAC suffix = xid & ~XID_KIND */
	GArray *bound;	      /* guint: clients in the order their ACK came */
	GHashTable *holders;  /* address -> client index + 1 */
	GArray *checks;	      /* Check, index = xid & ~XID_KIND */
	guint checks_pending; /* unanswered ones */
	guint dhcp_checked;   /* bound[0 .. dhcp_checked) asked for after a restart */
	gboolean probe_answered;
	/* figures */
	guint naks;
	guint torn;
	guint64 journal_checks;
	guint64 dhcp_checks;
} Fixture;

static void
client_mac(guint index, guint8 mac[6])
{
	/* locally administered (02:…), "kl" */
	mac[0] = 0x02;
	mac[1] = 0x6b;
	mac[2] = 0x6c;
	mac[3] = (guint8)(index >> 16);
	mac[4] = (guint8)(index >> 8);
	mac[5] = (guint8)index;
}

static char *
client_mac_string(guint index)
{
	guint8 m[6];
	client_mac(index, m);
	return g_strdup_printf("%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
}

/* The store's key for a client without option 61: hardware type, then MAC. */
static char *
client_id(guint index)
{
	g_autofree char *mac = client_mac_string(index);
	return g_strdup_printf("01:%s", mac);
}

static PxedDhcpMessage *
message(guint8 type, const guint8 mac[6], guint32 xid)
{
	PxedDhcpMessage *msg = pxed_dhcp_message_new(PXED_DHCP_OP_REQUEST);

	msg->xid = xid;
	msg->htype = 1;
	msg->hlen = 6;
	/* the answers come back broadcast: the clients have no address */
	msg->flags = PXED_DHCP_FLAG_BROADCAST;
	memcpy(msg->chaddr, mac, 6);
	pxed_dhcp_message_set_option_u8(msg, PXED_DHCP_OPTION_MESSAGE_TYPE, type);
	return msg;
}

static void
send_client(Fixture *f, guint8 type, guint index, guint32 xid, guint32 server_id, guint32 requested)
{
	guint8 mac[6];
	g_autoptr(PxedDhcpMessage) msg = NULL;

	client_mac(index, mac);
	msg = message(type, mac, xid);
	if (server_id != 0)
		pxed_dhcp_message_set_option_ipv4(msg, PXED_DHCP_OPTION_SERVER_ID, server_id);
	if (requested != 0)
		pxed_dhcp_message_set_option_ipv4(msg, PXED_DHCP_OPTION_REQUESTED_ADDRESS,
						  requested);
	dhcp_test_send(f->fd, msg, "255.255.255.255", 67);
}

static char *
ip_string(guint32 address)
{
	return dhcp_test_ip_string(address);
}

/* The daemon's last @n log lines, for a failure message. */
static char *
log_tail(Fixture *f, guint n)
{
	g_autofree char *log = pxed_test_daemon_get_log(f->daemon);
	const char *p = log + strlen(log);
	guint lines = 0;

	while (p > log && lines <= n) {
		p--;
		if (*p == '\n')
			lines++;
	}
	return g_strdup(p);
}

/* An ACK a storm client received: it must not hold an address another MAC was
 * ACKed (3). */
static void
record_ack(Fixture *f, guint index, guint32 address)
{
	Client *c = &g_array_index(f->clients, Client, index);
	guint other = GPOINTER_TO_UINT(g_hash_table_lookup(f->holders, GUINT_TO_POINTER(address)));

	if (c->state == CLIENT_BOUND) {
		if (c->address != address) {
			g_autofree char *mac = client_mac_string(index);
			g_autofree char *a = ip_string(c->address);
			g_autofree char *b = ip_string(address);
			g_error("%s was ACKed %s, then %s", mac, a, b);
		}
		return; /* the same ACK again */
	}
	if (other != 0 && other - 1 != index) {
		g_autofree char *a = ip_string(address);
		g_autofree char *first = client_mac_string(other - 1);
		g_autofree char *second = client_mac_string(index);
		g_error("%s was ACKed to two MACs: %s (daemon life %u), then %s (life %u)", a,
			first, g_array_index(f->clients, Client, other - 1).life, second, f->life);
	}
	c->state = CLIENT_BOUND;
	c->address = address;
	g_hash_table_insert(f->holders, GUINT_TO_POINTER(address), GUINT_TO_POINTER(index + 1));
	g_array_append_val(f->bound, index);
}

static void
storm_reply(Fixture *f, const PxedDhcpMessage *reply)
{
	guint index = reply->xid & ~XID_KIND;
	guint8 type = pxed_dhcp_message_get_type(reply);
	Client *c;
	guint32 server_id = 0;

	if (index >= f->clients->len)
		return;
	c = &g_array_index(f->clients, Client, index);
	if (type == PXED_DHCP_OFFER && c->state == CLIENT_DISCOVERING && c->life == f->life &&
	    pxed_dhcp_message_get_option_ipv4(reply, PXED_DHCP_OPTION_SERVER_ID, &server_id)) {
		/* SELECTING (RFC 2131 §4.3.2): server identifier and requested address */
		c->state = CLIENT_REQUESTING;
		c->address = reply->yiaddr;
		send_client(f, PXED_DHCP_REQUEST, index, reply->xid, server_id, reply->yiaddr);
	} else if (type == PXED_DHCP_ACK &&
		   (c->state == CLIENT_REQUESTING || c->state == CLIENT_BOUND)) {
		/* an ACK counts whenever it comes, even from a daemon killed since */
		record_ack(f, index, reply->yiaddr);
	} else if (type == PXED_DHCP_NAK && c->state == CLIENT_REQUESTING) {
		c->state = CLIENT_GAVE_UP;
		f->naks++;
	}
}

/* A read-back answer: the restarted server must know the lease (2). */
static void
check_reply(Fixture *f, const PxedDhcpMessage *reply)
{
	guint n = reply->xid & ~XID_KIND;
	Check *check;
	const Client *c;
	guint8 type = pxed_dhcp_message_get_type(reply);
	guint8 expected;

	if (n >= f->checks->len)
		return;
	check = &g_array_index(f->checks, Check, n);
	if (check->answered)
		return; /* a resent question's second answer */
	c = &g_array_index(f->clients, Client, check->client);
	expected = check->type == PXED_DHCP_REQUEST ? PXED_DHCP_ACK : PXED_DHCP_OFFER;
	if (type != expected || reply->yiaddr != c->address) {
		g_autofree char *mac = client_mac_string(check->client);
		g_autofree char *want = ip_string(c->address);
		g_autofree char *got = ip_string(reply->yiaddr);
		g_autofree char *log = log_tail(f, 40);
		const guint8 *text = NULL;
		gsize len = 0;

		text = pxed_dhcp_message_get_option(reply, PXED_DHCP_OPTION_MESSAGE, &len);
		g_printerr("pxed's last lines:%s\n", log);
		g_error("lease lost after kill %u: %s was ACKed %s; asked again (%s), "
			"the restarted server answered %s %s%s%.*s",
			f->life - 1, mac, want, pxed_dhcp_type_to_string(check->type),
			pxed_dhcp_type_to_string(type), got, text != NULL ? ": " : "", (int)len,
			text != NULL ? (const char *)text : "");
	}
	check->answered = TRUE;
	f->checks_pending--;
}

/* Waits at most @timeout_ms for datagrams, then handles every one queued. */
static void
pump(Fixture *f, int timeout_ms)
{
	struct pollfd pfd = {.fd = f->fd, .events = POLLIN};

	if (poll(&pfd, 1, MAX(timeout_ms, 0)) <= 0)
		return;
	for (;;) {
		guint8 buf[2048];
		ssize_t n = recv(f->fd, buf, sizeof(buf), MSG_DONTWAIT);
		g_autoptr(PxedDhcpMessage) reply = NULL;

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		reply = pxed_dhcp_message_parse(buf, (gsize)n, NULL);
		if (reply == NULL || reply->op != PXED_DHCP_OP_REPLY)
			continue;
		switch (reply->xid & XID_KIND) {
		case XID_STORM:
			storm_reply(f, reply);
			break;
		case XID_CHECK:
			check_reply(f, reply);
			break;
		case XID_PROBE:
			if ((reply->xid & ~XID_KIND) == f->life &&
			    pxed_dhcp_message_get_type(reply) == PXED_DHCP_OFFER)
				f->probe_answered = TRUE;
			break;
		default:
			break;
		}
	}
}

static int
ms_until(gint64 when)
{
	gint64 left = when - g_get_monotonic_time();
	return left <= 0 ? 0 : (int)((left + 999) / 1000);
}

/* New clients at NEW_CLIENTS_PER_SECOND for @duration_ms, answers handled. */
static void
storm(Fixture *f, guint duration_ms)
{
	const gint64 interval = G_USEC_PER_SEC / NEW_CLIENTS_PER_SECOND;
	gint64 now = g_get_monotonic_time();
	gint64 end = now + (gint64)duration_ms * 1000;
	gint64 next = now;

	while ((now = g_get_monotonic_time()) < end) {
		/* late (a busy machine): start afresh rather than burst */
		if (now - next > 10 * interval)
			next = now;
		while (next <= now) {
			Client c = {CLIENT_DISCOVERING, 0, f->life};
			guint index = f->clients->len;

			g_assert_cmpuint(index, <, 1u << 24);
			g_array_append_val(f->clients, c);
			send_client(f, PXED_DHCP_DISCOVER, index, XID_STORM | index, 0, 0);
			next += interval;
		}
		pump(f, ms_until(MIN(next, end)));
	}
}

static void
start_daemon(Fixture *f)
{
	f->life++;
	f->daemon = dhcp_test_net_start_pxed(f->net, "srv", conf, f->state);
}

/* Until a DISCOVER from a client never seen is offered an address. */
static void
wait_serving(Fixture *f)
{
	gint64 deadline = g_get_monotonic_time() + SERVING_DEADLINE_MS * 1000;
	const guint8 probe[6] = {0x02, 0x6b, 0x6d, 0, (guint8)(f->life >> 8), (guint8)f->life};

	f->probe_answered = FALSE;
	while (!f->probe_answered) {
		g_autoptr(PxedDhcpMessage) discover =
			message(PXED_DHCP_DISCOVER, probe, XID_PROBE | f->life);
		gint64 resend = g_get_monotonic_time() + RESEND_MS * 1000;

		if (g_get_monotonic_time() >= deadline) {
			g_autofree char *log = pxed_test_daemon_get_log(f->daemon);
			g_error("pxed did not answer a DISCOVER within %u ms of its start (life "
				"%u); its log:\n%s",
				SERVING_DEADLINE_MS, f->life, log);
		}
		dhcp_test_send(f->fd, discover, "255.255.255.255", 67);
		while (!f->probe_answered && g_get_monotonic_time() < MIN(resend, deadline))
			pump(f, ms_until(MIN(resend, deadline)));
	}
}

/* (1) for one log: at most one damaged record, and only a torn last line (the
 * store reports "no end of line" only for the file's last line); any other
 * word from the lease store (a failed write, a damaged record) fails. */
static guint
count_damage(const char *what, const char *const *lines)
{
	guint torn = 0;

	for (guint i = 0; lines[i] != NULL; i++) {
		if (strstr(lines[i], "damaged lease record skipped") == NULL &&
		    strstr(lines[i], "lease store") == NULL)
			continue;
		if (strstr(lines[i], "damaged lease record skipped: no end of line") == NULL)
			g_error("%s: the journal is damaged beyond a torn last line: %s", what,
				lines[i]);
		torn++;
	}
	if (torn > 1)
		g_error("%s: %u torn lines; only the last line can be torn", what, torn);
	return torn;
}

/* (1) and (2), from the journal exactly as the kill left it: read by the
 * store's own reader, in this process, from a copy (the reader rewrites a
 * damaged file). Returns the number of torn lines (0 or 1). */
static guint
check_journal(Fixture *f)
{
	g_autofree char *contents = NULL;
	gsize len = 0;
	g_autoptr(GError) error = NULL;
	g_autoptr(GMainContext) context = g_main_context_new();
	g_autoptr(GPtrArray) lines = g_ptr_array_new();
	PxedStore *store;
	guint torn;

	g_assert_true(g_file_get_contents(f->journal, &contents, &len, &error));
	g_assert_no_error(error);
	g_assert_true(g_file_set_contents(f->copy, contents, (gssize)len, &error));
	g_assert_no_error(error);
	g_ptr_array_set_size(f->warnings, 0);
	store = pxed_store_file_open(context, f->copy, &error);
	g_assert_no_error(error);
	for (guint i = 0; i < f->warnings->len; i++)
		g_ptr_array_add(lines, g_ptr_array_index(f->warnings, i));
	g_ptr_array_add(lines, NULL);
	torn = count_damage("the store's reader", (const char *const *)lines->pdata);

	for (guint i = 0; i < f->bound->len; i++) {
		guint index = g_array_index(f->bound, guint, i);
		const Client *c = &g_array_index(f->clients, Client, index);
		g_autofree char *id = client_id(index);
		g_autofree char *mac = client_mac_string(index);
		g_autoptr(PxedLease) lease = pxed_store_get(store, id);

		if (lease == NULL || pxed_lease_get_address(lease) != c->address ||
		    g_strcmp0(pxed_lease_get_mac(lease), mac) != 0) {
			g_autofree char *want = ip_string(c->address);
			g_autofree char *got =
				lease != NULL ? ip_string(pxed_lease_get_address(lease)) : NULL;
			g_error("lease lost at kill %u: %s was ACKed %s (daemon life %u); the "
				"journal has %s (%u ACKs so far, seed for a replay printed above)",
				f->life, mac, want, c->life, got != NULL ? got : "nothing",
				f->bound->len);
		}
		f->journal_checks++;
	}
	pxed_store_close(store);
	return torn;
}

/* (2) through the restarted server: INIT-REBOOT REQUEST and DISCOVER for
 * bound[first ..), CHECK_WINDOW clients at a time. */
static void
check_by_dhcp(Fixture *f, guint first)
{
	for (guint start = first; start < f->bound->len; start += CHECK_WINDOW) {
		guint end = MIN(start + CHECK_WINDOW, f->bound->len);
		guint base = f->checks->len;
		gint64 deadline = g_get_monotonic_time() + CHECK_DEADLINE_MS * 1000;

		for (guint i = start; i < end; i++) {
			guint index = g_array_index(f->bound, guint, i);
			Check request = {index, PXED_DHCP_REQUEST, FALSE, 0};
			Check discover = {index, PXED_DHCP_DISCOVER, FALSE, 0};

			g_array_append_val(f->checks, request);
			g_array_append_val(f->checks, discover);
		}
		g_assert_cmpuint(f->checks->len, <, 1u << 24);
		f->checks_pending += f->checks->len - base;
		while (f->checks_pending > 0) {
			gint64 now = g_get_monotonic_time();

			if (now >= deadline) {
				g_autofree char *log = log_tail(f, 40);
				g_error("%u read-back questions unanswered within %u ms; pxed:%s",
					f->checks_pending, CHECK_DEADLINE_MS, log);
			}
			for (guint n = base; n < f->checks->len; n++) {
				Check *check = &g_array_index(f->checks, Check, n);
				const Client *c;

				if (check->answered ||
				    (check->sent != 0 && now - check->sent < RESEND_MS * 1000))
					continue;
				c = &g_array_index(f->clients, Client, check->client);
				/* the INIT-REBOOT REQUEST names the address (no server id,
				 * no ciaddr); the DISCOVER names none: only the server's
				 * record of the lease can give the same one back */
				send_client(f, check->type, check->client, XID_CHECK | n, 0,
					    check->type == PXED_DHCP_REQUEST ? c->address : 0);
				check->sent = now;
			}
			pump(f, RESEND_MS);
		}
		f->dhcp_checks += end - start;
	}
}

/* SIGKILL, by PID; the status says it was the kill that ended it. */
static void
kill_daemon(Fixture *f)
{
	int status;

	pxed_test_daemon_signal(f->daemon, SIGKILL);
	status = pxed_test_daemon_stop(f->daemon);
	f->daemon = NULL;
	if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL)
		g_error("pxed ended before the kill (life %u): status %d", f->life, status);
	/* answers already queued are handled now; later ones on the next pump */
	pump(f, 0);
	for (guint i = 0; i < f->clients->len; i++) {
		Client *c = &g_array_index(f->clients, Client, i);
		if (c->state == CLIENT_DISCOVERING)
			c->state = CLIENT_GAVE_UP;
	}
}

/* After a start: (1) from the daemon's own log, which must agree with the
 * store's reader on the same file. */
static void
check_start(Fixture *f, guint torn)
{
	g_autofree char *log = pxed_test_daemon_get_log(f->daemon);
	g_auto(GStrv) lines = g_strsplit(log, "\n", -1);
	g_autofree char *what = g_strdup_printf("pxed's log after kill %u", f->life - 1);

	if (count_damage(what, (const char *const *)lines) != torn)
		g_error("pxed and the store's reader disagree on the journal (%u torn):\n%s", torn,
			log);
	if (torn > 0)
		g_printerr("kill %u: the journal ended in a torn line, skipped as expected\n",
			   f->life - 1);
}

static void
setup(Fixture *f, gconstpointer data)
{
	f->warnings = (GPtrArray *)data;
	if (!g_test_subprocess())
		return; /* the parent only runs the child and cleans up after it */
	f->dir = pxed_test_tmpdir_new();
	f->state = g_build_filename(f->dir, "state", NULL);
	f->journal = g_build_filename(f->state, "leases", NULL);
	f->copy = g_build_filename(f->dir, "leases-copy", NULL);
	f->clients = g_array_new(FALSE, FALSE, sizeof(Client));
	f->bound = g_array_new(FALSE, FALSE, sizeof(guint));
	f->checks = g_array_new(FALSE, FALSE, sizeof(Check));
	f->holders = g_hash_table_new(g_direct_hash, g_direct_equal);
	f->net = dhcp_test_net_new();
	dhcp_test_net_add_pair(f->net, "10.250.0.1/16");
	f->fd = -1;
}

static void
teardown(Fixture *f, gconstpointer data)
{
	if (!g_test_subprocess())
		return;
	if (f->daemon != NULL)
		pxed_test_daemon_stop(f->daemon);
	if (f->fd >= 0)
		close(f->fd);
	dhcp_test_net_free(f->net);
	g_clear_pointer(&f->rand, g_rand_free);
	g_array_unref(f->clients);
	g_array_unref(f->bound);
	g_array_unref(f->checks);
	g_hash_table_unref(f->holders);
	g_free(f->copy);
	g_free(f->journal);
	g_free(f->state);
	pxed_test_tmpdir_free(f->dir);
}

static void
test_kill_loop(Fixture *f, gconstpointer data)
{
	const char *env = g_getenv("PXED_KILLLOOP_SEED");
	guint32 seed;
	int rcvbuf = 1 << 20;
	gint64 started;
	guint torn;
	int status;

	if (!dhcp_test_net_isolate(NULL))
		return;
	seed = env != NULL ? (guint32)g_ascii_strtoull(env, NULL, 10) : g_random_int();
	g_printerr("kill loop: seed %u (PXED_KILLLOOP_SEED=%u replays these kill moments)\n", seed,
		   seed);
	f->rand = g_rand_new_with_seed(seed);
	f->fd = dhcp_test_net_udp(f->net, "cli", "cli0", NULL, 68);
	g_assert_cmpint(setsockopt(f->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf)), ==, 0);
	{
		/* the key this test reads the journal by is the server's */
		guint8 mac[6];
		g_autoptr(PxedDhcpMessage) msg = NULL;
		g_autofree char *id = NULL;
		g_autofree char *ours = client_id(0x123456);

		client_mac(0x123456, mac);
		msg = message(PXED_DHCP_DISCOVER, mac, 1);
		id = pxed_dhcp_message_get_client_id(msg);
		g_assert_cmpstr(id, ==, ours);
	}

	started = g_get_monotonic_time();
	start_daemon(f);
	wait_serving(f);
	for (guint kill = 1; kill <= KILLS; kill++) {
		guint duration = (guint)g_rand_int_range(f->rand, STORM_MIN_MS, STORM_MAX_MS + 1);
		guint first = f->dhcp_checked;

		storm(f, duration);
		kill_daemon(f);
		torn = check_journal(f);
		f->torn += torn;
		start_daemon(f);
		check_start(f, torn);
		wait_serving(f);
		check_by_dhcp(f, first);
		f->dhcp_checked = f->bound->len;
	}
	/* every lease ever ACKed, once more through the server */
	check_by_dhcp(f, 0);
	status = pxed_test_daemon_stop(f->daemon);
	f->daemon = NULL;
	g_assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	/* and after a clean stop, nothing torn at all */
	g_assert_cmpuint(check_journal(f), ==, 0);
	g_assert_cmpuint(f->bound->len, >, KILLS); /* the storm did get leases */
	g_printerr("kill loop: %u kills in %.1f s; %u clients, %u ACKs received, %u NAKs; "
		   "%" G_GUINT64_FORMAT " journal look-ups, %" G_GUINT64_FORMAT
		   " leases asked back from the server; %u torn last lines\n",
		   KILLS, (double)(g_get_monotonic_time() - started) / G_USEC_PER_SEC,
		   f->clients->len, f->bound->len, f->naks, f->journal_checks, f->dhcp_checks,
		   f->torn);
}

int
main(int argc, char **argv)
{
	g_autoptr(GPtrArray) warnings = g_ptr_array_new_with_free_func(g_free);

	g_test_init(&argc, &argv, NULL);
	pxed_test_capture_core_warnings(warnings);
	g_test_add("/dhcp/netns/kill-9-loop", Fixture, warnings, setup, test_kill_loop, teardown);
	return g_test_run();
}
