/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The DHCP server's address pools: parsing their configuration, the
 * free-address bits, the offers held, and the allocation of a free address
 * (RFC 2131 §4.3.1). Which pool a request goes to, and whether an address is
 * in one, are inline in dhcp-pool.h.
 */
#include "dhcp-server.h"

#include <arpa/inet.h>
#include <string.h>

/* How long an offered address is kept for the client it was offered to. */
#define OFFER_HOLD_SECONDS 30
/* A full pool is looked at again (its bits rebuilt) at most this often, so that
 * a DISCOVER flood on a full pool costs one bit count per packet. */
#define REBUILD_SECONDS 1
/* The most addresses one pool hands out: two bits each, 4 MiB at the most. */
#define POOL_SIZE_MAX (1u << 24)

typedef struct {
	char *client_id;
	gint64 expires;
} PxedDhcpOfferHold;

void
dhcp_offer_hold_free(gpointer data)
{
	PxedDhcpOfferHold *hold = data;

	g_free(hold->client_id);
	g_free(hold);
}

/* ---- configuration ---- */

void
dhcp_pool_free(PxedDhcpPool *pool)
{
	if (pool == NULL)
		return;
	g_free(pool->name);
	g_array_unref(pool->ranges);
	g_array_unref(pool->routers);
	g_array_unref(pool->dns);
	g_free(pool->domain);
	g_free(pool->busy);
	g_free(pool->seen);
	g_free(pool);
}

static gboolean
parse_ipv4(const char *text, guint32 *address, GError **error)
{
	struct in_addr in;

	if (inet_pton(AF_INET, text, &in) != 1) {
		g_set_error(error, PXED_ERROR, PXED_ERROR_INVALID, "'%s' is not an IPv4 address",
			    text);
		return FALSE;
	}
	*address = in.s_addr;
	return TRUE;
}

gboolean
dhcp_parse_subnet(const char *text, guint32 *network, guint32 *mask, GError **error)
{
	g_auto(GStrv) parts = g_strsplit(text, "/", 2);
	guint64 prefix = 0;
	guint32 address;

	if (g_strv_length(parts) != 2 ||
	    !g_ascii_string_to_unsigned(g_strstrip(parts[1]), 10, 0, 32, &prefix, NULL)) {
		g_set_error(error, PXED_ERROR, PXED_ERROR_INVALID,
			    "'%s' is not a subnet (ADDRESS/PREFIX, e.g. 192.0.2.0/24)", text);
		return FALSE;
	}
	if (!parse_ipv4(g_strstrip(parts[0]), &address, error))
		return FALSE;
	*mask = prefix == 0 ? 0 : G_MAXUINT32 << (32 - prefix);
	*network = g_ntohl(address) & *mask;
	return TRUE;
}

gboolean
dhcp_parse_ranges(const char *const *items, GArray *ranges, GError **error)
{
	guint32 pending = 0;
	gboolean have_pending = FALSE;

	for (guint i = 0; items != NULL && items[i] != NULL; i++) {
		g_auto(GStrv) ends = g_strsplit(items[i], "-", 2);
		guint32 a;
		guint32 b;
		PxedDhcpRange range;

		if (!parse_ipv4(g_strstrip(ends[0]), &a, error))
			return FALSE;
		if (ends[1] == NULL) {
			/* FIRST;LAST */
			if (!have_pending) {
				pending = a;
				have_pending = TRUE;
				continue;
			}
			range.first = g_ntohl(pending);
			range.last = g_ntohl(a);
			have_pending = FALSE;
		} else {
			if (have_pending) {
				g_set_error(error, PXED_ERROR, PXED_ERROR_INVALID,
					    "'%s' follows a lone address: write FIRST-LAST",
					    items[i]);
				return FALSE;
			}
			if (!parse_ipv4(g_strstrip(ends[1]), &b, error))
				return FALSE;
			range.first = g_ntohl(a);
			range.last = g_ntohl(b);
		}
		if (range.first > range.last) {
			g_set_error(error, PXED_ERROR, PXED_ERROR_INVALID,
				    "range ends before it starts");
			return FALSE;
		}
		g_array_append_val(ranges, range);
	}
	if (have_pending) {
		g_set_error(error, PXED_ERROR, PXED_ERROR_INVALID,
			    "a range needs a first and a last address");
		return FALSE;
	}
	return TRUE;
}

gboolean
dhcp_parse_addresses(const char *const *items, GArray *out, GError **error)
{
	for (guint i = 0; items != NULL && items[i] != NULL; i++) {
		guint32 address;
		if (!parse_ipv4(items[i], &address, error))
			return FALSE;
		g_array_append_val(out, address);
	}
	return TRUE;
}

gboolean
dhcp_pool_finish(PxedDhcpPool *pool, guint32 network, guint32 mask, GError **error)
{
	guint64 size = 0;

	if (!pool->has_subnet) {
		pool->network = network & mask;
		pool->mask = mask;
		pool->has_subnet = TRUE;
	}
	for (guint i = 0; i < pool->ranges->len; i++) {
		PxedDhcpRange *r = &g_array_index(pool->ranges, PxedDhcpRange, i);
		if ((r->first & pool->mask) != pool->network ||
		    (r->last & pool->mask) != pool->network) {
			guint32 first = g_htonl(r->first);
			guint32 net = g_htonl(pool->network);
			char a[INET_ADDRSTRLEN];
			char n[INET_ADDRSTRLEN];
			inet_ntop(AF_INET, &first, a, sizeof(a));
			inet_ntop(AF_INET, &net, n, sizeof(n));
			g_set_error(error, PXED_ERROR, PXED_ERROR_INVALID,
				    "range starting at %s is not inside the subnet %s/%d", a, n,
				    __builtin_popcount(pool->mask));
			return FALSE;
		}
	}
	for (guint i = 0; i < pool->ranges->len; i++) {
		PxedDhcpRange *r = &g_array_index(pool->ranges, PxedDhcpRange, i);
		size += (guint64)r->last - r->first + 1;
	}
	if (size > POOL_SIZE_MAX) {
		g_set_error(error, PXED_ERROR, PXED_ERROR_INVALID,
			    "the ranges hold %" G_GUINT64_FORMAT " addresses, more than %u", size,
			    POOL_SIZE_MAX);
		return FALSE;
	}
	g_free(pool->busy);
	g_free(pool->seen);
	pool->size = (guint32)size;
	pool->busy = g_new0(guint64, size / 64 + 1);
	pool->seen = g_new0(guint64, size / 64 + 1);
	pool->n_busy = 0;
	pool->cursor = 0;
	pool->rebuilt = 0;
	return TRUE;
}

/* ---- the free-address bits ---- */

/* @address's place among the pool's range addresses. */
static gboolean
pool_index(const PxedDhcpPool *pool, guint32 address, guint32 *index)
{
	guint32 host = g_ntohl(address);
	guint32 base = 0;

	for (guint i = 0; i < pool->ranges->len; i++) {
		const PxedDhcpRange *r = &g_array_index(pool->ranges, PxedDhcpRange, i);
		if (host >= r->first && host <= r->last) {
			*index = base + (host - r->first);
			return TRUE;
		}
		base += r->last - r->first + 1;
	}
	return FALSE;
}

/* The address (network byte order) at @index of the pool's ranges. */
static guint32
pool_address(const PxedDhcpPool *pool, guint32 index)
{
	for (guint i = 0; i < pool->ranges->len; i++) {
		const PxedDhcpRange *r = &g_array_index(pool->ranges, PxedDhcpRange, i);
		guint32 n = r->last - r->first + 1;
		if (index < n)
			return g_htonl(r->first + index);
		index -= n;
	}
	g_return_val_if_reached(0);
}

static gboolean
bit_get(const guint64 *bits, guint32 i)
{
	return (bits[i / 64] >> (i % 64)) & 1;
}

static void
pool_set_busy(PxedDhcpPool *pool, guint32 i, gboolean busy)
{
	if (bit_get(pool->busy, i) == busy)
		return;
	pool->busy[i / 64] ^= G_GUINT64_CONSTANT(1) << (i % 64);
	if (busy)
		pool->n_busy++;
	else
		pool->n_busy--;
}

static void
pool_set_seen(PxedDhcpPool *pool, guint32 i)
{
	pool->seen[i / 64] |= G_GUINT64_CONSTANT(1) << (i % 64);
}

/* Marks @address in every pool whose ranges hold it: taken or not, and when
 * @seen, as having had a lease. */
void
dhcp_pool_mark_address(PxedDhcpServer *self, guint32 address, gboolean busy, gboolean seen)
{
	for (guint p = 0; p < self->pools->len; p++) {
		PxedDhcpPool *pool = g_ptr_array_index(self->pools, p);
		guint32 i;
		if (pool->busy == NULL || !pool_index(pool, address, &i))
			continue;
		pool_set_busy(pool, i, busy);
		if (seen)
			pool_set_seen(pool, i);
	}
}

/* The first index in [@from, @to) whose bit is clear in @busy (and, on the
 * first pass, in @seen), a word at a time; G_MAXUINT32 when there is none. */
static guint32
next_clear(const PxedDhcpPool *pool, gint pass, guint32 from, guint32 to)
{
	guint32 i = from;

	while (i < to) {
		guint32 w = i / 64;
		guint64 taken = pool->busy[w] | (pass == 0 ? pool->seen[w] : 0);
		guint32 found;

		taken |= (G_GUINT64_CONSTANT(1) << (i % 64)) - 1; /* below @i */
		if (~taken != 0) {
			found = w * 64 + (guint32)__builtin_ctzll(~taken);
			return found < to ? found : G_MAXUINT32;
		}
		i = (w + 1) * 64;
	}
	return G_MAXUINT32;
}

typedef struct {
	PxedDhcpServer *self;
	gint64 now;
} PxedDhcpRebuildData;

static void
rebuild_lease(PxedLease *lease, gpointer user_data)
{
	PxedDhcpRebuildData *data = user_data;

	dhcp_pool_mark_address(data->self, pxed_lease_get_address(lease),
			       pxed_lease_holds_address(lease, data->now), TRUE);
}

/* The bits again from what is known now: the offers held, the lease store
 * (which other instances and expiry change behind this server's back), the
 * addresses never handed out. Reservations are found as allocation meets them. */
static void
rebuild_free(PxedDhcpServer *self, gint64 now)
{
	GHashTableIter iter;
	gpointer key;
	PxedDhcpRebuildData data = {self, now};

	for (guint p = 0; p < self->pools->len; p++) {
		PxedDhcpPool *pool = g_ptr_array_index(self->pools, p);
		gsize words = pool->size / 64 + 1;
		guint32 i;

		if (pool->busy == NULL)
			continue;
		memset(pool->busy, 0, words * sizeof(guint64));
		memset(pool->seen, 0, words * sizeof(guint64));
		pool->n_busy = 0;
		/* the bits past the end are never free */
		for (i = pool->size; i < words * 64; i++)
			pool->busy[i / 64] |= G_GUINT64_CONSTANT(1) << (i % 64);
		if (pool->mask != G_MAXUINT32 && pool->mask != G_MAXUINT32 - 1) {
			if (pool_index(pool, g_htonl(pool->network), &i))
				pool_set_busy(pool, i, TRUE);
			if (pool_index(pool, g_htonl(pool->network | ~pool->mask), &i))
				pool_set_busy(pool, i, TRUE);
		}
		if (pool_index(pool, self->server_id, &i))
			pool_set_busy(pool, i, TRUE);
		pool->rebuilt = MAX(now, 1);
	}
	g_hash_table_iter_init(&iter, self->offers);
	while (g_hash_table_iter_next(&iter, &key, NULL))
		dhcp_pool_mark_address(self, GPOINTER_TO_UINT(key), TRUE, FALSE);
	if (self->store != NULL)
		pxed_instance_lease_foreach(self->instance, self->store, rebuild_lease, &data);
}

/* ---- offers and allocation ---- */

/* Drops the offer of @address (both tables). */
void
dhcp_offer_drop(PxedDhcpServer *self, guint32 address)
{
	PxedDhcpOfferHold *hold = g_hash_table_lookup(self->offers, GUINT_TO_POINTER(address));

	if (hold == NULL)
		return;
	g_hash_table_remove(self->offered, hold->client_id);
	g_hash_table_remove(self->offers, GUINT_TO_POINTER(address));
	dhcp_pool_mark_address(self, address, FALSE, FALSE);
}

/* Whether @address may go to @client_id now: not the subnet's network or
 * broadcast address, not the server's, not reserved for another machine
 * (@own is the client's own reservation, or 0), not held by someone else's
 * lease or offer. */
gboolean
dhcp_pool_address_available(PxedDhcpServer *self, const PxedDhcpPool *pool, guint32 address,
			    const char *client_id, guint32 own, gint64 now)
{
	guint32 host = g_ntohl(address);
	g_autoptr(PxedLease) holder = NULL;
	PxedDhcpOfferHold *hold;

	if (!dhcp_pool_contains_subnet(pool, address) || address == self->server_id ||
	    (pool->mask != G_MAXUINT32 && pool->mask != G_MAXUINT32 - 1 &&
	     (host == pool->network || host == (pool->network | ~pool->mask))))
		return FALSE;
	if (address != own && pxed_instance_is_reserved(self->instance, address))
		return FALSE;
	holder = self->store != NULL
			 ? pxed_instance_lease_get_by_address(self->instance, self->store, address)
			 : NULL;
	if (holder != NULL && !g_str_equal(pxed_lease_get_client_id(holder), client_id) &&
	    pxed_lease_holds_address(holder, now))
		return FALSE;
	hold = g_hash_table_lookup(self->offers, GUINT_TO_POINTER(address));
	if (hold != NULL) {
		if (hold->expires <= now)
			dhcp_offer_drop(self, address);
		else if (!g_str_equal(hold->client_id, client_id))
			return FALSE;
	}
	return TRUE;
}

/* A free address of the pool, searched from its cursor among the clear bits:
 * first one nobody ever had (so that returning clients find theirs again),
 * else one whose lease is over. Every address found taken gets its bit, so
 * each is looked at once between rebuilds; a full pool costs nothing. 0 when
 * the pool is exhausted. */
guint32
dhcp_pool_allocate(PxedDhcpServer *self, PxedDhcpPool *pool, const char *client_id, guint32 own,
		   gint64 now)
{
	if (pool->size == 0)
		return 0;
	if (pool->rebuilt == 0 ||
	    (pool->n_busy >= pool->size && now >= pool->rebuilt + REBUILD_SECONDS))
		dhcp_server_expire_offers(self, now);
	if (pool->n_busy >= pool->size)
		return 0;
	for (gint pass = 0; pass < 2; pass++) {
		for (gint part = 0; part < 2; part++) {
			/* from the cursor to the end, then from the start to the cursor */
			guint32 from = part == 0 ? pool->cursor : 0;
			guint32 to = part == 0 ? pool->size : pool->cursor;
			guint32 i;

			while ((i = next_clear(pool, pass, from, to)) != G_MAXUINT32) {
				guint32 address = pool_address(pool, i);

				self->stats.probes++;
				from = i + 1;
				if (!dhcp_pool_address_available(self, pool, address, client_id,
								 own, now)) {
					pool_set_busy(pool, i, TRUE);
					continue;
				}
				if (pass == 0 && self->store != NULL) {
					g_autoptr(PxedLease) old =
						pxed_instance_lease_get_by_address(
							self->instance, self->store, address);
					if (old != NULL) {
						pool_set_seen(pool, i);
						continue;
					}
				}
				pool->cursor = i + 1 < pool->size ? i + 1 : 0;
				return address;
			}
		}
	}
	return 0;
}

void
dhcp_offer_hold(PxedDhcpServer *self, guint32 address, const char *client_id, gint64 now)
{
	PxedDhcpOfferHold *hold = g_new0(PxedDhcpOfferHold, 1);
	gpointer previous;

	/* one offer per client, one client per offered address */
	if (g_hash_table_lookup_extended(self->offered, client_id, NULL, &previous))
		dhcp_offer_drop(self, GPOINTER_TO_UINT(previous));
	dhcp_offer_drop(self, address);
	hold->client_id = g_strdup(client_id);
	hold->expires = now + OFFER_HOLD_SECONDS;
	g_hash_table_insert(self->offers, GUINT_TO_POINTER(address), hold);
	g_hash_table_insert(self->offered, hold->client_id, GUINT_TO_POINTER(address));
	dhcp_pool_mark_address(self, address, TRUE, FALSE);
}

void
dhcp_server_expire_offers(PxedDhcpServer *self, gint64 now)
{
	GHashTableIter iter;
	gpointer value;

	g_hash_table_iter_init(&iter, self->offers);
	while (g_hash_table_iter_next(&iter, NULL, &value)) {
		PxedDhcpOfferHold *hold = value;
		if (hold->expires <= now) {
			g_hash_table_remove(self->offered, hold->client_id);
			g_hash_table_iter_remove(&iter);
		}
	}
	rebuild_free(self, now);
	dhcp_mac_forget_idle(self, now);
}
