/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Helpers for the DHCP integration tests: network namespaces the test makes
 * itself (never touching any other interface of the host), processes started
 * inside them, and crafted DHCP clients on sockets opened inside them.
 *
 * Every test runs in a child process (g_test_trap_subprocess): whatever way
 * the child ends, the parent then removes the namespaces named after it and
 * ends the processes left inside them — all of which the child started.
 */

#include <pxed/pxed.h>

#include "pxed-dhcp.h"

#include "pxed-test.h"

G_BEGIN_DECLS

/* NULL when namespace tests can run here, else why not (for g_test_skip). */
char *dhcp_test_net_unavailable(const char *const *programs);

/**
 * dhcp_test_net_isolate:
 *
 * In the parent: skips (with the reason) when namespaces or @programs are
 * missing, else runs this test in a child, cleans up after it, and checks it
 * passed; returns %FALSE. In the child: returns %TRUE, run the test.
 */
gboolean dhcp_test_net_isolate(const char *const *programs);

typedef struct _DhcpTestNet DhcpTestNet;

DhcpTestNet *dhcp_test_net_new(void);
/* Kills the processes started, deletes the namespaces. Safe on %NULL. */
void dhcp_test_net_free(DhcpTestNet *self);

/* Creates namespace @role (a short word); returns its full name. Loopback is up. */
const char *dhcp_test_net_add_ns(DhcpTestNet *self, const char *role);
const char *dhcp_test_net_ns(DhcpTestNet *self, const char *role);
/* Runs `ip ARGS` (a space-separated string, printf-formatted); asserts success. */
void dhcp_test_net_ip(DhcpTestNet *self, const char *format, ...) G_GNUC_PRINTF(2, 3);
/* A veth pair: @ifa in namespace @nsa, @ifb in @nsb, both up; never in the host's. */
void dhcp_test_net_veth(DhcpTestNet *self, const char *nsa, const char *ifa, const char *nsb,
			const char *ifb);
/* Namespaces "srv" and "cli" joined by a veth pair, srv0 and cli0, with
 * @server_cidr ("10.250.0.1/24") on srv0. */
void dhcp_test_net_add_pair(DhcpTestNet *self, const char *server_cidr);

/* Enters namespace @role on this thread (children inherit it), or leaves it. */
void dhcp_test_net_enter(DhcpTestNet *self, const char *role);
void dhcp_test_net_leave(DhcpTestNet *self);

/* Starts the build tree's pxed inside @role with @conf (plus the test plugins). */
PxedTestDaemon *dhcp_test_net_start_pxed(DhcpTestNet *self, const char *role, const char *conf,
					 const char *state_dir);

/* Starts @argv inside @role, stdout piped (stderr merged); killed by _free(). */
GSubprocess *dhcp_test_net_spawn(DhcpTestNet *self, const char *role, const char *const *argv);
/**
 * dhcp_test_net_udhcpc:
 * @script: udhcpc's script; it must echo a line with "event=$1" for each event
 * @tries: DISCOVERs sent, @interval_s seconds apart (udhcpc -t, -T)
 * @out: gets what udhcpc (its script) said
 *
 * Runs busybox udhcpc in @role's namespace on @ifname in the foreground until
 * it is bound (-q: it then quits), at most @timeout_ms. Without a lease the
 * test fails, printing what udhcpc said and the end of @daemon's log.
 */
void dhcp_test_net_udhcpc(DhcpTestNet *self, const char *role, const char *ifname,
			  const char *script, guint tries, guint interval_s, guint timeout_ms,
			  PxedTestDaemon *daemon, GString *out);

/* Reads lines of @process until one contains @needle, at most @timeout_ms; the
 * lines read are appended to @seen. */
gboolean dhcp_test_net_read_until(GSubprocess *process, const char *needle, guint timeout_ms,
				  GString *seen);

/* The hardware address of @ifname in @role, "52:54:…". */
char *dhcp_test_net_mac(DhcpTestNet *self, const char *role, const char *ifname);

/* A UDP socket inside @role, bound to @address:@port and to @ifname, broadcast on. */
int dhcp_test_net_udp(DhcpTestNet *self, const char *role, const char *ifname, const char *address,
		      guint16 port);

/* A client request: @type, hardware address 52:54:00:00:@a:@b, broadcast flag. */
PxedDhcpMessage *dhcp_test_request(guint8 type, guint8 a, guint8 b, guint32 xid);
/* Sends @msg from @fd to @address:@port. */
void dhcp_test_send(int fd, const PxedDhcpMessage *msg, const char *address, guint16 port);
/* The next DHCP message on @fd with @xid (others are skipped, and kept in
 * @others when not %NULL), at most @timeout_ms; %NULL on timeout. @from gets
 * the sender's address. */
PxedDhcpMessage *dhcp_test_receive(int fd, guint32 xid, guint timeout_ms, guint32 *from,
				   GPtrArray *others);
/**
 * dhcp_test_obtain:
 * @fd: a client's socket (dhcp_test_net_udp() on port 68)
 * @want: an address the DISCOVER asks for, or 0
 * @server: the server's address, as the REQUEST names it (option 54)
 *
 * A crafted client (dhcp_test_request(), MAC 52:54:00:00:@a:@b) DISCOVERs,
 * then REQUESTs the offered address; asserts the OFFER and an ACK of that
 * address arrive, each within 5 s. Returns the address.
 */
guint32 dhcp_test_obtain(int fd, guint8 a, guint8 b, guint32 xid, guint32 want, const char *server);

/* pxed_test_ip() reads one */
char *dhcp_test_ip_string(guint32 address);
/* The value of KEY= on the line of @text holding @marker, up to the next
 * space (what a client's script echoed); asserts it is there. */
char *dhcp_test_field(const char *text, const char *marker, const char *key);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(DhcpTestNet, dhcp_test_net_free)

G_END_DECLS
