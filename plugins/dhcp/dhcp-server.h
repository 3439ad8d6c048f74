/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The DHCP server's decisions, without sockets: dhcp_server_handle() takes a
 * parsed request and returns what to do — the reply, and the lease to make
 * durable before sending it — reading leases, the inventory and the boot
 * pipeline through the PxedContext. The socket side (dhcp-plugin.c) only
 * reads, filters, commits and sends; unit tests call this directly.
 */

#include <pxed/pxed.h>

#include "pxed-dhcp.h"

G_BEGIN_DECLS

typedef struct {
	guint32 first; /* host byte order, inclusive */
	guint32 last;
} PxedDhcpRange;

/* A token bucket: @rate tokens a second up to @burst; one per admitted packet. */
typedef struct {
	gdouble tokens;
	gint64 last; /* seconds; 0: never used (full) */
} PxedDhcpBucket;

/* A rate-limited log line: one per interval, with a count of those kept quiet. */
typedef struct {
	gint64 next;
	guint64 quiet;
} PxedDhcpLogLimit;

/* An address pool: one subnet, its ranges and the options given there. */
typedef struct {
	char *name;	 /* "" for the interface's own, else the NAME of pool.NAME.* */
	guint32 network; /* host byte order */
	guint32 mask;	 /* host byte order */
	GArray *ranges;	 /* PxedDhcpRange */
	GArray *routers; /* guint32, network byte order */
	GArray *dns;	 /* guint32, network byte order */
	char *domain;
	gboolean has_subnet; /* the local pool takes the interface's when not set */
	/* The free-address structure, one bit per address of the ranges (in
	 * range order): allocation looks only at clear bits, a word at a time,
	 * and a full pool is seen from the count alone. The bits are hints that
	 * address_available() confirms; they are rebuilt from the offers and the
	 * lease store on every sweep. Made by dhcp_pool_finish(). */
	guint64 *busy;	/* offered, leased, reserved or otherwise not to be given */
	guint64 *seen;	/* has a lease record: given last, so returning clients find theirs */
	guint32 size;	/* addresses in the ranges */
	guint32 n_busy; /* bits set in @busy */
	guint32 cursor; /* index where the search for a free address goes on */
	gint64 rebuilt; /* when @busy and @seen were last rebuilt (0: never) */
	PxedDhcpBucket new_clients; /* new-clients-per-second, for this interface or relay */
} PxedDhcpPool;

void dhcp_pool_free(PxedDhcpPool *pool);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(PxedDhcpPool, dhcp_pool_free)

/* "10.0.0.0/24" */
gboolean dhcp_parse_subnet(const char *text, guint32 *network, guint32 *mask, GError **error);
/* A list of "A-B" items; two bare addresses in a row are the range A..B too
 * (the `range=FIRST;LAST` form of the configuration contract). */
gboolean dhcp_parse_ranges(const char *const *items, GArray *ranges, GError **error);
/* A list of dotted quads into network byte order addresses. */
gboolean dhcp_parse_addresses(const char *const *items, GArray *out, GError **error);

/* Sets the pool's subnet (if not set) and checks every range lies inside it. */
gboolean dhcp_pool_finish(PxedDhcpPool *pool, guint32 network, guint32 mask, GError **error);

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

/* The limits (conf.d keys, see README.md); 0 turns a rate limit off. */
typedef struct {
	guint new_clients_per_second;
	guint new_clients_burst;
	guint discovers_per_mac_per_minute;
	guint discovers_per_mac_burst;
} PxedDhcpLimits;

typedef struct {
	char *name; /* instance name: the events' source */
	PxedContext *ctx;
	PxedLeaseStore *store;
	GPtrArray *pools;   /* PxedDhcpPool*; the local one (name "") first, when it exists */
	guint32 server_id;  /* network byte order: option 54, siaddr by default */
	guint32 lease_time; /* seconds */
	gboolean authoritative;
	GHashTable *offers;  /* address -> PxedDhcpOfferHold*: offered, not yet requested */
	GHashTable *offered; /* client id -> address, the same offers */
	GHashTable *macs;    /* PxedDhcpMacBucket: DISCOVERs per hardware address */
	PxedDhcpLimits limits;
	PxedDhcpStats stats;
	PxedDhcpLogLimit log_new_clients;
	PxedDhcpLogLimit log_mac;
	PxedDhcpLogLimit log_exhausted;
	PxedDhcpLogLimit log_relay_agent;
	PxedDhcpLogLimit log_release;
} PxedDhcpServer;

PxedDhcpServer *dhcp_server_new(const char *name, PxedContext *ctx);
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
