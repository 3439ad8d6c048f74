/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The DHCP server's address pools: their configuration (subnets, ranges,
 * options), which pool serves a request, the free-address bits, the offers
 * held and the allocation of a free address. Part of the engine library (see
 * dhcp-server.h).
 */

#include "dhcp-limits.h"

G_BEGIN_DECLS

typedef struct {
	guint32 first; /* host byte order, inclusive */
	guint32 last;
} PxedDhcpRange;

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
	 * dhcp_pool_address_available() confirms; they are rebuilt from the offers
	 * and the lease store on every sweep. Made by dhcp_pool_finish(). */
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

/* ---- for the engine's own files; inline, as every request asks them ---- */

/* Whether @address (network byte order) is on the pool's subnet. */
static inline gboolean
dhcp_pool_contains_subnet(const PxedDhcpPool *pool, guint32 address)
{
	return (g_ntohl(address) & pool->mask) == pool->network;
}

/* Whether @address (network byte order) is in one of the pool's ranges. */
static inline gboolean
dhcp_pool_contains_range(const PxedDhcpPool *pool, guint32 address)
{
	guint32 host = g_ntohl(address);
	for (guint i = 0; i < pool->ranges->len; i++) {
		const PxedDhcpRange *r = &g_array_index(pool->ranges, PxedDhcpRange, i);
		if (host >= r->first && host <= r->last)
			return TRUE;
	}
	return FALSE;
}

/* RFC 2131 §4.3.1: a relayed request is served from the pool of the relay's
 * subnet (giaddr); a direct one (@address 0) from the interface's own.
 * @pools: the server's PxedDhcpPool*. */
static inline PxedDhcpPool *
dhcp_pool_select(GPtrArray *pools, guint32 address)
{
	for (guint i = 0; i < pools->len; i++) {
		PxedDhcpPool *pool = g_ptr_array_index(pools, i);
		if (address == 0 ? pool->name[0] == '\0' : dhcp_pool_contains_subnet(pool, address))
			return pool;
	}
	return NULL;
}

/* ---- for the engine's own files: the bits, the offers, allocation ---- */

/* The destroy function of the server's offers table. */
void dhcp_offer_hold_free(gpointer hold);

/* Marks @address in every pool whose ranges hold it: taken or not, and when
 * @seen, as having had a lease. */
void dhcp_pool_mark_address(PxedDhcpServer *self, guint32 address, gboolean busy, gboolean seen);

/* Whether @address may go to @client_id now (@own: the client's own
 * reservation, or 0). */
gboolean dhcp_pool_address_available(PxedDhcpServer *self, const PxedDhcpPool *pool,
				     guint32 address, const char *client_id, guint32 own,
				     gint64 now);

/* A free address of @pool for @client_id; 0 when the pool is exhausted. */
guint32 dhcp_pool_allocate(PxedDhcpServer *self, PxedDhcpPool *pool, const char *client_id,
			   guint32 own, gint64 now);

/* Holds @address for @client_id a while (its offer), dropping the client's
 * previous offer and anyone else's of @address. */
void dhcp_offer_hold(PxedDhcpServer *self, guint32 address, const char *client_id, gint64 now);

/* Drops the offer of @address, if any. */
void dhcp_offer_drop(PxedDhcpServer *self, guint32 address);

G_END_DECLS
