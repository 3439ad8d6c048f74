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

G_BEGIN_DECLS

typedef struct {
	guint32 first; /* host byte order, inclusive */
	guint32 last;
} DhcpRange;

/* An address pool: one subnet, its ranges and the options given there. */
typedef struct {
	char *name;	 /* "" for the interface's own, else the NAME of pool.NAME.* */
	guint32 network; /* host byte order */
	guint32 mask;	 /* host byte order */
	GArray *ranges;	 /* DhcpRange */
	GArray *routers; /* guint32, network byte order */
	GArray *dns;	 /* guint32, network byte order */
	char *domain;
	guint32 cursor;	     /* where the search for a free address goes on (host order) */
	gboolean has_subnet; /* the local pool takes the interface's when not set */
} DhcpPool;

void dhcp_pool_free(DhcpPool *pool);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(DhcpPool, dhcp_pool_free)

/* "10.0.0.0/24" */
gboolean dhcp_parse_subnet(const char *text, guint32 *network, guint32 *mask, GError **error);
/* A list of "A-B" items; two bare addresses in a row are the range A..B too
 * (the `range=FIRST;LAST` form of the configuration contract). */
gboolean dhcp_parse_ranges(const char *const *items, GArray *ranges, GError **error);
/* A list of dotted quads into network byte order addresses. */
gboolean dhcp_parse_addresses(const char *const *items, GArray *out, GError **error);

/* Sets the pool's subnet (if not set) and checks every range lies inside it. */
gboolean dhcp_pool_finish(DhcpPool *pool, guint32 network, guint32 mask, GError **error);

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
} DhcpStats;

typedef struct {
	char *name; /* instance name: the events' source */
	PxedContext *ctx;
	PxedLeaseStore *store;
	GPtrArray *pools;   /* DhcpPool*; the local one (name "") first, when it exists */
	guint32 server_id;  /* network byte order: option 54, siaddr by default */
	guint32 lease_time; /* seconds */
	gboolean authoritative;
	GHashTable *offers;  /* address -> DhcpOfferHold*: offered, not yet requested */
	GHashTable *offered; /* client id -> address, the same offers */
	DhcpStats stats;
} DhcpServer;

DhcpServer *dhcp_server_new(const char *name, PxedContext *ctx);
void dhcp_server_free(DhcpServer *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(DhcpServer, dhcp_server_free)

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
} DhcpOutcome;

void dhcp_outcome_free(DhcpOutcome *outcome);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(DhcpOutcome, dhcp_outcome_free)

/**
 * dhcp_server_handle:
 * @now: wall-clock seconds
 *
 * RFC 2131 §4.3: the answer to one client request. Never %NULL; the outcome's
 * reply is %NULL when the server stays silent (and @reason says why).
 */
DhcpOutcome *dhcp_server_handle(DhcpServer *self, const PxedDhcpMessage *request, gint64 now);

/* Drops offers no longer held. */
void dhcp_server_expire_offers(DhcpServer *self, gint64 now);

/* A NAK for @request, when a commit failed because the address is taken. */
PxedDhcpMessage *dhcp_server_build_nak(DhcpServer *self, const PxedDhcpMessage *request,
				       const char *message);

G_END_DECLS
