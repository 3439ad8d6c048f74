/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The DHCP server's decisions, without sockets: dhcp_server_handle() takes a
 * parsed request and returns what to do — the reply, and the lease to make
 * durable before sending it — reading leases, the inventory and the boot
 * pipeline through the PxedInstance. The socket side (dhcp-plugin.c) only
 * reads, filters, commits and sends; unit tests call this directly. Its
 * address pools are in dhcp-pool.h, its abuse limits in dhcp-limits.h.
 */

#include <pxed/pxed.h>

#include "dhcp-limits.h"
#include "dhcp-pool.h"
#include "pxed-dhcp.h"

G_BEGIN_DECLS

typedef struct {
	guint64 received;
	guint64 malformed;
	guint64 ignored;
	guint64 offers;
	guint64 acks;
	guint64 naks;
	guint64 releases;
	guint64 declines;
	guint64 informs;
	guint64 exhausted;
	guint64 new_clients_limited; /* DISCOVERs dropped by new-clients-per-second */
	guint64 mac_limited;	     /* DISCOVERs dropped by discovers-per-mac-per-minute */
	guint64 mac_untracked;	     /* DISCOVERs past a full per-MAC table */
	guint64 relay_agent_dropped; /* replies sent without the option 82 that did not fit */
	guint64 unknown_address;     /* REQUESTs NAKed for an address never offered */
	guint64 release_forged;	     /* RELEASEs not sent from the address they release */
	guint64 probes;		     /* addresses checked by allocations (a test hook) */
} PxedDhcpStats;

struct _PxedDhcpServer {
	char *name; /* the instance's name, for log lines */
	PxedInstance *instance;
	PxedLeaseStore *store;
	GPtrArray *pools;   /* PxedDhcpPool*; the local one (name "") first, when it exists */
	guint32 server_id;  /* network byte order: option 54, siaddr by default */
	guint32 lease_time; /* seconds */
	gboolean authoritative;
	GHashTable *offers;  /* address -> PxedDhcpOfferHold* (dhcp-pool.c): offered, not yet
				requested */
	GHashTable *offered; /* client id -> address, the same offers */
	GHashTable *macs;    /* PxedDhcpMacBucket (dhcp-limits.c): DISCOVERs per hardware address */
	PxedDhcpLimits limits;
	PxedDhcpStats stats;
	PxedDhcpLogLimit log_new_clients;
	PxedDhcpLogLimit log_mac;
	PxedDhcpLogLimit log_exhausted;
	PxedDhcpLogLimit log_relay_agent;
	PxedDhcpLogLimit log_release;
};

PxedDhcpServer *dhcp_server_new(PxedInstance *instance);
void dhcp_server_free(PxedDhcpServer *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(PxedDhcpServer, dhcp_server_free)

/* What to do about one request. */
typedef struct {
	PxedClient *client;	/* who asked (for the event log) */
	PxedDhcpMessage *reply; /* %NULL: no answer */
	PxedLease *commit;	/* make durable before sending @reply */
	char *release;		/* client id whose lease is given back */
	PxedLease *decline;	/* record the declined address (after @release) */
	const char *reason;	/* why nothing or a NAK is sent */
	guint8 request_type;
	gsize max_size; /* the largest reply the client takes */
} PxedDhcpOutcome;

void dhcp_outcome_free(PxedDhcpOutcome *outcome);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(PxedDhcpOutcome, dhcp_outcome_free)

/**
 * dhcp_server_handle:
 * @now: wall-clock seconds
 *
 * RFC 2131 §4.3: the answer to one client request. Never %NULL; the outcome's
 * reply is %NULL when the server stays silent (and @reason says why).
 */
PxedDhcpOutcome *dhcp_server_handle(PxedDhcpServer *self, const PxedDhcpMessage *request,
				    gint64 now);

/* Drops offers no longer held and rebuilds the pools' free-address bits from
 * the offers and the lease store; forgets idle per-MAC counts. */
void dhcp_server_expire_offers(PxedDhcpServer *self, gint64 now);

/* Takes @reply's option 82 out when it does not fit in @max_size beside the
 * options every reply carries (counted, logged at most once a minute). */
void dhcp_server_fit_relay_agent(PxedDhcpServer *self, PxedDhcpMessage *reply, gsize max_size,
				 gint64 now);

/* A NAK for @request, when a commit failed because the address is taken. */
PxedDhcpMessage *dhcp_server_build_nak(PxedDhcpServer *self, const PxedDhcpMessage *request,
				       const char *message);

G_END_DECLS
