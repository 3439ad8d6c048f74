/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "dhcp-server.h"

#include <arpa/inet.h>
#include <string.h>

/* How long an offered address is kept for the client it was offered to. */
#define OFFER_HOLD_SECONDS 30
/* How long a declined address stays out of use (RFC 2131 §4.3.3 leaves it open). */
#define DECLINE_SECONDS 600
/* A full pool is looked at again (its bits rebuilt) at most this often, so that
 * a DISCOVER flood on a full pool costs one bit count per packet. */
#define REBUILD_SECONDS 1
/* A limit's log line is written at most this often. */
#define LOG_LIMIT_SECONDS 60
/* Hardware addresses whose DISCOVERs are counted at once; past it, new ones
 * are not tracked (the new-client limit still holds them). */
#define MAC_TABLE_MAX 65536
/* The most addresses one pool hands out: two bits each, 4 MiB at the most. */
#define POOL_SIZE_MAX (1u << 24)

typedef struct {
	gint64 key; /* mac_key() */
	PxedDhcpBucket bucket;
} PxedDhcpMacBucket;

typedef struct {
	char *client_id;
	gint64 expires;
} PxedDhcpOfferHold;

static void
offer_hold_free(PxedDhcpOfferHold *hold)
{
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

PxedDhcpServer *
dhcp_server_new(const char *name, PxedContext *ctx)
{
	PxedDhcpServer *self = g_new0(PxedDhcpServer, 1);

	self->name = g_strdup(name);
	self->ctx = ctx;
	self->pools = g_ptr_array_new_with_free_func((GDestroyNotify)dhcp_pool_free);
	self->lease_time = 3600;
	self->authoritative = TRUE;
	self->offers = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL,
					     (GDestroyNotify)offer_hold_free);
	self->offered = g_hash_table_new(g_str_hash, g_str_equal);
	self->macs = g_hash_table_new_full(g_int64_hash, g_int64_equal, NULL, g_free);
	/* the keys' defaults (dhcp-plugin.c) */
	self->limits.new_clients_per_second = 100;
	self->limits.new_clients_burst = 1000;
	self->limits.discovers_per_mac_per_minute = 60;
	self->limits.discovers_per_mac_burst = 10;
	return self;
}

void
dhcp_server_free(PxedDhcpServer *self)
{
	if (self == NULL)
		return;
	g_free(self->name);
	g_ptr_array_unref(self->pools);
	g_hash_table_unref(self->offered);
	g_hash_table_unref(self->offers);
	g_hash_table_unref(self->macs);
	g_free(self);
}

void
dhcp_outcome_free(PxedDhcpOutcome *outcome)
{
	if (outcome == NULL)
		return;
	g_clear_pointer(&outcome->client, pxed_client_unref);
	g_clear_pointer(&outcome->reply, pxed_dhcp_message_free);
	g_clear_pointer(&outcome->commit, pxed_lease_unref);
	g_clear_pointer(&outcome->decline, pxed_lease_unref);
	g_free(outcome->release);
	g_free(outcome);
}

/* ---- pools and addresses ---- */

static gboolean
pool_contains_subnet(const PxedDhcpPool *pool, guint32 address)
{
	return (g_ntohl(address) & pool->mask) == pool->network;
}

static gboolean
pool_contains_range(const PxedDhcpPool *pool, guint32 address)
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
 * subnet (giaddr); a direct one from the interface's own. */
static PxedDhcpPool *
select_pool(PxedDhcpServer *self, guint32 address)
{
	for (guint i = 0; i < self->pools->len; i++) {
		PxedDhcpPool *pool = g_ptr_array_index(self->pools, i);
		if (address == 0 ? pool->name[0] == '\0' : pool_contains_subnet(pool, address))
			return pool;
	}
	return NULL;
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
static void
mark_address(PxedDhcpServer *self, guint32 address, gboolean busy, gboolean seen)
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

	mark_address(data->self, pxed_lease_get_address(lease),
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
		mark_address(self, GPOINTER_TO_UINT(key), TRUE, FALSE);
	if (self->store != NULL)
		pxed_context_lease_foreach(self->ctx, self->store, rebuild_lease, &data);
}

/* Drops the offer of @address (both tables). */
static void
drop_offer(PxedDhcpServer *self, guint32 address)
{
	PxedDhcpOfferHold *hold = g_hash_table_lookup(self->offers, GUINT_TO_POINTER(address));

	if (hold == NULL)
		return;
	g_hash_table_remove(self->offered, hold->client_id);
	g_hash_table_remove(self->offers, GUINT_TO_POINTER(address));
	mark_address(self, address, FALSE, FALSE);
}

/* Whether @address may go to @client_id now: not the subnet's network or
 * broadcast address, not the server's, not reserved for another machine
 * (@own is the client's own reservation, or 0), not held by someone else's
 * lease or offer. */
static gboolean
address_available(PxedDhcpServer *self, const PxedDhcpPool *pool, guint32 address,
		  const char *client_id, guint32 own, gint64 now)
{
	guint32 host = g_ntohl(address);
	g_autoptr(PxedLease) holder = NULL;
	PxedDhcpOfferHold *hold;

	if (!pool_contains_subnet(pool, address) || address == self->server_id ||
	    (pool->mask != G_MAXUINT32 && pool->mask != G_MAXUINT32 - 1 &&
	     (host == pool->network || host == (pool->network | ~pool->mask))))
		return FALSE;
	if (address != own && pxed_context_is_reserved(self->ctx, address))
		return FALSE;
	holder = self->store != NULL
			 ? pxed_context_lease_get_by_address(self->ctx, self->store, address)
			 : NULL;
	if (holder != NULL && !g_str_equal(pxed_lease_get_client_id(holder), client_id) &&
	    pxed_lease_holds_address(holder, now))
		return FALSE;
	hold = g_hash_table_lookup(self->offers, GUINT_TO_POINTER(address));
	if (hold != NULL) {
		if (hold->expires <= now)
			drop_offer(self, address);
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
static guint32
pool_allocate(PxedDhcpServer *self, PxedDhcpPool *pool, const char *client_id, guint32 own,
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
				if (!address_available(self, pool, address, client_id, own, now)) {
					pool_set_busy(pool, i, TRUE);
					continue;
				}
				if (pass == 0 && self->store != NULL) {
					g_autoptr(PxedLease) old =
						pxed_context_lease_get_by_address(
							self->ctx, self->store, address);
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

static void
hold_offer(PxedDhcpServer *self, guint32 address, const char *client_id, gint64 now)
{
	PxedDhcpOfferHold *hold = g_new0(PxedDhcpOfferHold, 1);
	gpointer previous;

	/* one offer per client, one client per offered address */
	if (g_hash_table_lookup_extended(self->offered, client_id, NULL, &previous))
		drop_offer(self, GPOINTER_TO_UINT(previous));
	drop_offer(self, address);
	hold->client_id = g_strdup(client_id);
	hold->expires = now + OFFER_HOLD_SECONDS;
	g_hash_table_insert(self->offers, GUINT_TO_POINTER(address), hold);
	g_hash_table_insert(self->offered, hold->client_id, GUINT_TO_POINTER(address));
	mark_address(self, address, TRUE, FALSE);
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
	/* a hardware address idle long enough to have its whole burst back is
	 * forgotten: a fresh count is the same */
	g_hash_table_iter_init(&iter, self->macs);
	while (g_hash_table_iter_next(&iter, NULL, &value)) {
		PxedDhcpMacBucket *mac = value;
		if (self->limits.discovers_per_mac_per_minute == 0 ||
		    (gdouble)(now - mac->bucket.last) * self->limits.discovers_per_mac_per_minute /
				    60.0 >=
			    self->limits.discovers_per_mac_burst)
			g_hash_table_iter_remove(&iter);
	}
}

/* ---- limits ---- */

/* Takes a token from @bucket if it has one; @rate tokens a second, up to @burst.
 * A @rate of 0 is no limit. */
static gboolean
bucket_take(PxedDhcpBucket *bucket, gdouble rate, guint burst, gint64 now)
{
	if (rate <= 0)
		return TRUE;
	if (bucket->last == 0)
		bucket->tokens = burst;
	else if (now > bucket->last)
		bucket->tokens =
			MIN((gdouble)burst, bucket->tokens + (gdouble)(now - bucket->last) * rate);
	if (now > bucket->last)
		bucket->last = now;
	if (bucket->tokens < 1)
		return FALSE;
	bucket->tokens -= 1;
	return TRUE;
}

/* A limit was hit: one log line a minute, saying how many were kept quiet. */
static void G_GNUC_PRINTF(4, 5) log_limit(PxedDhcpServer *self, PxedDhcpLogLimit *limit, gint64 now,
					  const char *format, ...)
{
	va_list args;
	g_autofree char *text = NULL;

	if (now < limit->next) {
		limit->quiet++;
		return;
	}
	va_start(args, format);
	text = g_strdup_vprintf(format, args);
	va_end(args);
	if (limit->quiet > 0)
		g_message("%s: %s (and %" G_GUINT64_FORMAT " more in the last minute)", self->name,
			  text, limit->quiet);
	else
		g_message("%s: %s", self->name, text);
	limit->next = now + LOG_LIMIT_SECONDS;
	limit->quiet = 0;
}

/* The hardware address as a table key: FNV-1a over type, length and address
 * (a collision only makes two machines share a count). */
static gint64
mac_key(const PxedDhcpMessage *request)
{
	guint64 h = G_GUINT64_CONSTANT(14695981039346656037);

	h = (h ^ request->htype) * G_GUINT64_CONSTANT(1099511628211);
	h = (h ^ request->hlen) * G_GUINT64_CONSTANT(1099511628211);
	for (guint i = 0; i < MIN(request->hlen, sizeof(request->chaddr)); i++)
		h = (h ^ request->chaddr[i]) * G_GUINT64_CONSTANT(1099511628211);
	return (gint64)h;
}

/* discovers-per-mac-per-minute: whether this DISCOVER may be answered. A
 * hardware address not in the table has its whole burst; it is entered when
 * it comes back holding an offer or a lease (mac_note()), so that neither a
 * flood of made-up addresses (which the new-client limit stops) fills the
 * table nor a new client's first DISCOVER costs an allocation. */
static gboolean
mac_admit(PxedDhcpServer *self, const PxedDhcpMessage *request, PxedClient *client, gint64 now)
{
	gint64 key;
	PxedDhcpMacBucket *mac;

	if (self->limits.discovers_per_mac_per_minute == 0)
		return TRUE;
	key = mac_key(request);
	mac = g_hash_table_lookup(self->macs, &key);
	if (mac == NULL ||
	    bucket_take(&mac->bucket, self->limits.discovers_per_mac_per_minute / 60.0,
			self->limits.discovers_per_mac_burst, now))
		return TRUE;
	self->stats.mac_limited++;
	log_limit(self, &self->log_mac, now,
		  "discovers-per-mac-per-minute=%u reached: DISCOVER from %s dropped",
		  self->limits.discovers_per_mac_per_minute, pxed_client_get_key(client));
	return FALSE;
}

static void
mac_note(PxedDhcpServer *self, const PxedDhcpMessage *request, gint64 now)
{
	PxedDhcpMacBucket *mac;
	gint64 key;

	if (self->limits.discovers_per_mac_per_minute == 0)
		return;
	key = mac_key(request);
	if (g_hash_table_contains(self->macs, &key))
		return;
	if (g_hash_table_size(self->macs) >= MAC_TABLE_MAX) {
		self->stats.mac_untracked++;
		return;
	}
	mac = g_new0(PxedDhcpMacBucket, 1);
	mac->key = key;
	bucket_take(&mac->bucket, self->limits.discovers_per_mac_per_minute / 60.0,
		    self->limits.discovers_per_mac_burst, now);
	g_hash_table_insert(self->macs, &mac->key, mac);
}

/* The inventory's reservation for @client: `metadata.ip` of its group. */
static gboolean
reservation(PxedDhcpServer *self, PxedClient *client, guint32 *address, char **hostname)
{
	g_autoptr(PxedMachine) machine = pxed_context_match(self->ctx, client);
	const char *ip;
	struct in_addr in;

	if (machine == NULL)
		return FALSE;
	ip = pxed_machine_get_metadata(machine, "ip");
	if (ip == NULL || inet_pton(AF_INET, ip, &in) != 1)
		return FALSE;
	*address = in.s_addr;
	*hostname = g_strdup(pxed_machine_get_metadata(machine, "hostname"));
	return TRUE;
}

/* RFC 1123 §2.1 host names: letters, digits, '-' and '.', at most 63 per label. */
static char *
sanitize_hostname(const char *text)
{
	GString *out;

	if (text == NULL)
		return NULL;
	out = g_string_new(NULL);
	for (const char *p = text; *p != '\0' && out->len < 253; p++) {
		if (g_ascii_isalnum(*p) || *p == '-' || *p == '.')
			g_string_append_c(out, *p);
	}
	if (out->len == 0) {
		g_string_free(out, TRUE);
		return NULL;
	}
	return g_string_free(out, FALSE);
}

/* ---- replies ---- */

static gsize
reply_max_size(const PxedDhcpMessage *request)
{
	gsize len = 0;
	const guint8 *value =
		pxed_dhcp_message_get_option(request, PXED_DHCP_OPTION_MAX_SIZE, &len);
	gsize size = value != NULL && len == 2 ? (gsize)(value[0] << 8 | value[1]) : 576;

	/* RFC 2132 §9.10 counts the IP and UDP headers in; some clients do not. */
	return MAX(size, 576) - 28;
}

static void
set_pool_options(PxedDhcpServer *self, PxedDhcpMessage *reply, const PxedDhcpPool *pool)
{
	if (pool == NULL)
		return;
	pxed_dhcp_message_set_option_ipv4(reply, PXED_DHCP_OPTION_SUBNET_MASK, g_htonl(pool->mask));
	if (pool->routers->len > 0)
		pxed_dhcp_message_set_option(reply, PXED_DHCP_OPTION_ROUTER, pool->routers->data,
					     4 * (gsize)pool->routers->len);
	if (pool->dns->len > 0)
		pxed_dhcp_message_set_option(reply, PXED_DHCP_OPTION_DNS, pool->dns->data,
					     4 * (gsize)pool->dns->len);
	if (pool->domain != NULL)
		pxed_dhcp_message_set_option_string(reply, PXED_DHCP_OPTION_DOMAIN, pool->domain);
}

/* The boot part comes from the `boot` pipeline, never from here. */
static void
set_boot(PxedDhcpServer *self, PxedDhcpMessage *reply, const PxedDhcpMessage *request,
	 PxedClient *client)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(PxedBootReply) boot = pxed_context_boot(self->ctx, client, &error);

	if (boot == NULL) {
		if (!g_error_matches(error, PXED_ERROR, PXED_ERROR_NOT_FOUND))
			g_debug("%s: boot pipeline for %s: %s", self->name,
				pxed_client_get_key(client), error->message);
		return;
	}
	pxed_dhcp_message_set_boot(reply, request, boot, self->server_id);
}

static PxedDhcpMessage *
build_lease_reply(PxedDhcpServer *self, const PxedDhcpMessage *request, PxedDhcpType type,
		  const PxedDhcpPool *pool, guint32 address, const char *hostname,
		  PxedClient *client)
{
	PxedDhcpMessage *reply = pxed_dhcp_message_new_reply(request, type);
	g_autoptr(GInetAddress) inet =
		g_inet_address_new_from_bytes((const guint8 *)&address, G_SOCKET_FAMILY_IPV4);

	reply->yiaddr = address;
	if (type == PXED_DHCP_ACK)
		reply->ciaddr = request->ciaddr; /* RFC 2131 §4.3.1, table 3 */
	/* RFC 2131 table 3: server identifier and lease time in every OFFER/ACK;
	 * RFC 2131 §4.4.5: T1 at half the lease, T2 at 7/8. */
	pxed_dhcp_message_set_option_ipv4(reply, PXED_DHCP_OPTION_SERVER_ID, self->server_id);
	pxed_dhcp_message_set_option_u32(reply, PXED_DHCP_OPTION_LEASE_TIME, self->lease_time);
	pxed_dhcp_message_set_option_u32(reply, PXED_DHCP_OPTION_RENEWAL_TIME,
					 self->lease_time / 2);
	pxed_dhcp_message_set_option_u32(reply, PXED_DHCP_OPTION_REBINDING_TIME,
					 (guint32)((guint64)self->lease_time * 7 / 8));
	set_pool_options(self, reply, pool);
	if (hostname != NULL)
		pxed_dhcp_message_set_option_string(reply, PXED_DHCP_OPTION_HOSTNAME, hostname);
	pxed_client_set_address(client, inet);
	if (hostname != NULL && pxed_client_get_hostname(client) == NULL)
		pxed_client_set_hostname(client, hostname);
	set_boot(self, reply, request, client);
	return reply;
}

PxedDhcpMessage *
dhcp_server_build_nak(PxedDhcpServer *self, const PxedDhcpMessage *request, const char *message)
{
	PxedDhcpMessage *reply = pxed_dhcp_message_new_reply(request, PXED_DHCP_NAK);

	/* RFC 2131 table 3: a NAK carries the server identifier and a message only;
	 * §4.3.2: through a relay, with the broadcast bit set. */
	pxed_dhcp_message_set_option_ipv4(reply, PXED_DHCP_OPTION_SERVER_ID, self->server_id);
	pxed_dhcp_message_set_option_string(reply, PXED_DHCP_OPTION_MESSAGE, message);
	if (request->giaddr != 0)
		reply->flags |= PXED_DHCP_FLAG_BROADCAST;
	return reply;
}

static PxedLease *
make_lease(PxedDhcpServer *self, const char *client_id, guint32 address, PxedClient *client,
	   const char *hostname, gint64 now)
{
	PxedLease *lease = pxed_lease_new(client_id, address);
	g_autofree char *name =
		sanitize_hostname(hostname != NULL ? hostname : pxed_client_get_hostname(client));

	pxed_lease_set_expires(lease, now + self->lease_time);
	pxed_lease_set_state(lease, PXED_LEASE_BOUND);
	pxed_lease_set_mac(lease, pxed_client_get_mac_string(client));
	pxed_lease_set_hostname(lease, name);
	return lease;
}

/* ---- the messages ---- */

typedef struct {
	PxedDhcpServer *self;
	const PxedDhcpMessage *request;
	PxedDhcpOutcome *out;
	char *client_id;
	gint64 now;
	gboolean reserved;
	guint32 reserved_address;
	char *reserved_hostname;
} PxedDhcpRequest;

/* The client's own reservation, which address_available() lets it have. */
static guint32
own(const PxedDhcpRequest *r)
{
	return r->reserved ? r->reserved_address : 0;
}

static void
handle_discover(PxedDhcpRequest *r)
{
	PxedDhcpServer *self = r->self;
	PxedDhcpPool *pool = select_pool(self, r->request->giaddr);
	g_autoptr(PxedLease) lease = NULL;
	guint32 address = 0;
	guint32 requested = 0;

	if (pool == NULL) {
		r->out->reason = r->request->giaddr != 0 ? "no pool for the relay's subnet"
							 : "no pool on this interface";
		return;
	}
	/* RFC 2131 §4.3.1, in this order: the client's reservation, its current
	 * or previous binding, the address it asks for, a free one. */
	if (r->reserved &&
	    address_available(self, pool, r->reserved_address, r->client_id, own(r), r->now))
		address = r->reserved_address;
	if (address == 0 && self->store != NULL) {
		lease = pxed_context_lease_get(self->ctx, self->store, r->client_id);
		if (lease != NULL && pool_contains_range(pool, pxed_lease_get_address(lease)) &&
		    address_available(self, pool, pxed_lease_get_address(lease), r->client_id,
				      own(r), r->now))
			address = pxed_lease_get_address(lease);
	}
	if (address == 0) {
		gpointer offered;
		/* a retransmitted DISCOVER gets the same offer */
		if (g_hash_table_lookup_extended(self->offered, r->client_id, NULL, &offered) &&
		    pool_contains_range(pool, GPOINTER_TO_UINT(offered)) &&
		    address_available(self, pool, GPOINTER_TO_UINT(offered), r->client_id, own(r),
				      r->now))
			address = GPOINTER_TO_UINT(offered);
	}
	if (address != 0)
		mac_note(self, r->request, r->now); /* a DISCOVER again: counted */
	/* Past here the client is new: it takes an address of its own, so it is
	 * what a flood of made-up hardware addresses is made of. One bucket per
	 * pool (the interface's, each relay's), so that one segment's flood
	 * leaves the others their share. */
	if (address == 0 && !bucket_take(&pool->new_clients, self->limits.new_clients_per_second,
					 self->limits.new_clients_burst, r->now)) {
		self->stats.new_clients_limited++;
		log_limit(self, &self->log_new_clients, r->now,
			  "new-clients-per-second=%u reached on %s%s: DISCOVER from %s dropped",
			  self->limits.new_clients_per_second,
			  pool->name[0] != '\0' ? "pool " : "the interface", pool->name,
			  pxed_client_get_key(r->out->client));
		r->out->reason = "new-clients-per-second reached";
		return;
	}
	if (address == 0 &&
	    pxed_dhcp_message_get_option_ipv4(r->request, PXED_DHCP_OPTION_REQUESTED_ADDRESS,
					      &requested) &&
	    pool_contains_range(pool, requested) &&
	    address_available(self, pool, requested, r->client_id, own(r), r->now))
		address = requested;
	if (address == 0 && pool->ranges->len > 0)
		address = pool_allocate(self, pool, r->client_id, own(r), r->now);
	if (address == 0) {
		self->stats.exhausted++;
		log_limit(self, &self->log_exhausted, r->now,
			  "no free address in %s%s: DISCOVER from %s not answered",
			  pool->name[0] != '\0' ? "pool " : "the interface's range", pool->name,
			  pxed_client_get_key(r->out->client));
		r->out->reason = "no free address in the pool";
		return;
	}
	hold_offer(self, address, r->client_id, r->now);
	r->out->reply =
		build_lease_reply(self, r->request, PXED_DHCP_OFFER, pool, address,
				  r->reserved ? r->reserved_hostname : NULL, r->out->client);
	self->stats.offers++;
}

static void
nak(PxedDhcpRequest *r, const char *why)
{
	r->out->reply = dhcp_server_build_nak(r->self, r->request, why);
	r->out->reason = why;
	r->self->stats.naks++;
}

static void
ack(PxedDhcpRequest *r, PxedDhcpPool *pool, guint32 address)
{
	PxedDhcpServer *self = r->self;
	const char *hostname = r->reserved ? r->reserved_hostname : NULL;

	drop_offer(self, address);
	mark_address(self, address, TRUE, TRUE);
	r->out->reply = build_lease_reply(self, r->request, PXED_DHCP_ACK, pool, address, hostname,
					  r->out->client);
	r->out->commit = make_lease(self, r->client_id, address, r->out->client, hostname, r->now);
	self->stats.acks++;
}

/* INIT-REBOOT, RENEWING and REBINDING (RFC 2131 §4.3.2): the client names the
 * address it believes it has. */
static void
verify_address(PxedDhcpRequest *r, guint32 address, gboolean init_reboot)
{
	PxedDhcpServer *self = r->self;
	/* the relay's subnet, or the interface's for a broadcast INIT-REBOOT;
	 * else the pool of the address itself, as a renewing client unicasts to
	 * the server without a relay */
	PxedDhcpPool *pool = select_pool(
		self, r->request->giaddr != 0 || init_reboot ? r->request->giaddr : address);
	g_autoptr(PxedLease) lease = NULL;

	if (pool == NULL) {
		/* RFC 2131 §4.3.2: INIT-REBOOT on our own segment with a foreign address */
		if (r->request->giaddr == 0 && r->request->ciaddr == 0 &&
		    select_pool(self, 0) != NULL)
			nak(r, "address not on this network");
		else
			r->out->reason = "not a network of this server";
		return;
	}
	if (!pool_contains_subnet(pool, address)) {
		nak(r, "address not on this network");
		return;
	}
	if (r->reserved && address != r->reserved_address) {
		nak(r, "address reserved elsewhere for this client");
		return;
	}
	if (!address_available(self, pool, address, r->client_id, own(r), r->now)) {
		nak(r, "address in use");
		return;
	}
	if (self->store != NULL)
		lease = pxed_context_lease_get(self->ctx, self->store, r->client_id);
	if (r->reserved) {
		ack(r, pool, address);
		return;
	}
	/* a lease outside the ranges (they shrank, or the record was forged) is
	 * not renewed: the client starts over and gets an address of the range */
	if (lease != NULL && pxed_lease_get_address(lease) == address &&
	    pxed_lease_get_state(lease) != PXED_LEASE_DECLINED &&
	    pool_contains_range(pool, address)) {
		ack(r, pool, address);
		return;
	}
	if (lease != NULL) {
		self->stats.unknown_address++;
		nak(r, pxed_lease_get_address(lease) == address
			       ? "address outside the range"
			       : "not the address leased to this client");
		return;
	}
	/* RFC 2131 §4.3.2: a server with no record of the client stays silent;
	 * an authoritative one (the network's only server) says no instead, so
	 * that the client starts over at once. */
	if (self->authoritative)
		nak(r, "no lease for this client");
	else
		r->out->reason = "no record of this client";
}

/* Whether @address is what a SELECTING client may ask this server for: its
 * offer, its reservation, or its lease (inside the ranges). */
static gboolean
selecting_known(PxedDhcpRequest *r, PxedDhcpPool *pool, guint32 address)
{
	PxedDhcpServer *self = r->self;
	gpointer offered;
	g_autoptr(PxedLease) lease = NULL;

	if (g_hash_table_lookup_extended(self->offered, r->client_id, NULL, &offered) &&
	    GPOINTER_TO_UINT(offered) == address)
		return TRUE;
	if (r->reserved && r->reserved_address == address)
		return TRUE;
	if (self->store != NULL)
		lease = pxed_context_lease_get(self->ctx, self->store, r->client_id);
	return lease != NULL && pxed_lease_get_address(lease) == address &&
	       pxed_lease_get_state(lease) != PXED_LEASE_DECLINED &&
	       pool_contains_range(pool, address);
}

static void
handle_request(PxedDhcpRequest *r)
{
	PxedDhcpServer *self = r->self;
	guint32 server_id = 0;
	guint32 requested = 0;
	gboolean has_server_id = pxed_dhcp_message_get_option_ipv4(
		r->request, PXED_DHCP_OPTION_SERVER_ID, &server_id);
	gboolean has_requested = pxed_dhcp_message_get_option_ipv4(
		r->request, PXED_DHCP_OPTION_REQUESTED_ADDRESS, &requested);

	if (has_server_id) {
		PxedDhcpPool *pool;
		gpointer offered;
		/* SELECTING (RFC 2131 §4.3.2) */
		if (server_id != self->server_id) {
			/* RFC 2131 §4.3.2: the client declined our offer; it is free
			 * again, whatever address the REQUEST names */
			r->out->reason = "the client chose another server";
			if (g_hash_table_lookup_extended(self->offered, r->client_id, NULL,
							 &offered))
				drop_offer(self, GPOINTER_TO_UINT(offered));
			return;
		}
		if (!has_requested) {
			nak(r, "no requested address");
			return;
		}
		pool = select_pool(self, r->request->giaddr);
		if (pool == NULL || !pool_contains_subnet(pool, requested)) {
			nak(r, "address not on this network");
			return;
		}
		/* Only what this server offered the client, its lease or its
		 * reservation: a REQUEST naming anything else (the router's address,
		 * another machine's reservation) without a DISCOVER before it would
		 * otherwise be a lease on it, and tie it to whatever identity the
		 * REQUEST claims. */
		if (!selecting_known(r, pool, requested)) {
			self->stats.unknown_address++;
			nak(r, "address not offered to this client");
			return;
		}
		if (!address_available(self, pool, requested, r->client_id, own(r), r->now)) {
			nak(r, "address in use");
			return;
		}
		ack(r, pool, requested);
		return;
	}
	if (has_requested && r->request->ciaddr == 0) {
		verify_address(r, requested, TRUE); /* INIT-REBOOT */
		return;
	}
	if (r->request->ciaddr != 0) {
		verify_address(r, r->request->ciaddr, FALSE); /* RENEWING, REBINDING */
		return;
	}
	self->stats.ignored++;
	r->out->reason = "REQUEST with neither server identifier, requested address nor ciaddr";
}

static gboolean
for_us(PxedDhcpRequest *r)
{
	guint32 server_id = 0;

	return pxed_dhcp_message_get_option_ipv4(r->request, PXED_DHCP_OPTION_SERVER_ID,
						 &server_id) &&
	       server_id == r->self->server_id;
}

static void
handle_decline(PxedDhcpRequest *r)
{
	PxedDhcpServer *self = r->self;
	g_autoptr(PxedLease) lease = NULL;
	guint32 address = 0;
	g_autofree char *key = NULL;

	/* RFC 2131 §4.3.3: the address the client found in use is taken out. */
	if (!for_us(r) ||
	    !pxed_dhcp_message_get_option_ipv4(r->request, PXED_DHCP_OPTION_REQUESTED_ADDRESS,
					       &address) ||
	    self->store == NULL) {
		r->out->reason = "DECLINE not for this server";
		return;
	}
	lease = pxed_context_lease_get(self->ctx, self->store, r->client_id);
	if (lease == NULL || pxed_lease_get_address(lease) != address) {
		r->out->reason = "DECLINE of an address the client does not have";
		return;
	}
	r->out->release = g_strdup(r->client_id);
	/* one record per declined address, whoever declined it */
	{
		char text[16];
		guint32 host = g_ntohl(address);
		g_snprintf(text, sizeof(text), "%u.%u.%u.%u", host >> 24, (host >> 16) & 255,
			   (host >> 8) & 255, host & 255);
		key = g_strdup_printf("declined:%s", text);
	}
	r->out->decline = pxed_lease_new(key, address);
	pxed_lease_set_state(r->out->decline, PXED_LEASE_DECLINED);
	pxed_lease_set_expires(r->out->decline, r->now + DECLINE_SECONDS);
	pxed_lease_set_mac(r->out->decline, pxed_client_get_mac_string(r->out->client));
	mark_address(self, address, TRUE, TRUE);
	self->stats.declines++;
}

static void
handle_release(PxedDhcpRequest *r)
{
	PxedDhcpServer *self = r->self;
	g_autoptr(PxedLease) lease = NULL;

	/* RFC 2131 §4.3.4 */
	if (!for_us(r) || self->store == NULL) {
		r->out->reason = "RELEASE not for this server";
		return;
	}
	lease = pxed_context_lease_get(self->ctx, self->store, r->client_id);
	if (lease == NULL || pxed_lease_get_address(lease) != r->request->ciaddr) {
		r->out->reason = "RELEASE of an address the client does not have";
		return;
	}
	r->out->release = g_strdup(r->client_id);
	mark_address(self, r->request->ciaddr, FALSE, TRUE);
	self->stats.releases++;
}

static void
handle_inform(PxedDhcpRequest *r)
{
	PxedDhcpServer *self = r->self;
	PxedDhcpPool *pool = select_pool(self, r->request->ciaddr);
	PxedDhcpMessage *reply;

	/* RFC 2131 §4.3.5: configuration without a lease: no yiaddr, no lease time. */
	if (r->request->ciaddr == 0) {
		r->out->reason = "INFORM without ciaddr";
		return;
	}
	reply = pxed_dhcp_message_new_reply(r->request, PXED_DHCP_ACK);
	reply->ciaddr = r->request->ciaddr;
	pxed_dhcp_message_set_option_ipv4(reply, PXED_DHCP_OPTION_SERVER_ID, self->server_id);
	set_pool_options(self, reply, pool);
	set_boot(self, reply, r->request, r->out->client);
	r->out->reply = reply;
	self->stats.informs++;
}

PxedDhcpOutcome *
dhcp_server_handle(PxedDhcpServer *self, const PxedDhcpMessage *request, gint64 now)
{
	PxedDhcpOutcome *out = g_new0(PxedDhcpOutcome, 1);
	PxedDhcpRequest r = {self, request, out, NULL, now, FALSE, 0, NULL};

	self->stats.received++;
	out->request_type = pxed_dhcp_message_get_type(request);
	out->max_size = reply_max_size(request);
	out->client = pxed_dhcp_message_get_client(request);
	pxed_client_set_via(out->client, PXED_VIA_DHCP);
	if (request->op != PXED_DHCP_OP_REQUEST) {
		self->stats.ignored++;
		out->reason = "not a BOOTREQUEST";
		return out;
	}
	r.client_id = pxed_dhcp_message_get_client_id(request);
	if (r.client_id == NULL) {
		self->stats.ignored++;
		out->reason = "no client identifier and no hardware address";
		return out;
	}
	switch (out->request_type) {
	case PXED_DHCP_DISCOVER:
	case PXED_DHCP_REQUEST:
		if (out->request_type == PXED_DHCP_DISCOVER &&
		    !mac_admit(self, request, out->client, now)) {
			out->reason = "discovers-per-mac-per-minute reached";
			break;
		}
		r.reserved =
			reservation(self, out->client, &r.reserved_address, &r.reserved_hostname);
		if (out->request_type == PXED_DHCP_DISCOVER)
			handle_discover(&r);
		else
			handle_request(&r);
		break;
	case PXED_DHCP_DECLINE:
		handle_decline(&r);
		break;
	case PXED_DHCP_RELEASE:
		handle_release(&r);
		break;
	case PXED_DHCP_INFORM:
		handle_inform(&r);
		break;
	case 0:
		self->stats.ignored++;
		out->reason = "BOOTP request (no option 53): not served";
		break;
	default:
		self->stats.ignored++;
		out->reason = "not a message type a server answers";
		break;
	}
	if (out->reply != NULL)
		dhcp_server_fit_relay_agent(self, out->reply, out->max_size, now);
	g_free(r.client_id);
	g_free(r.reserved_hostname);
	return out;
}

void
dhcp_server_fit_relay_agent(PxedDhcpServer *self, PxedDhcpMessage *reply, gsize max_size,
			    gint64 now)
{
	gsize len = 0;

	/* RFC 3046 §2.2 wants option 82 echoed; one too long to fit beside the
	 * options that make the reply a reply goes, not they. */
	if (pxed_dhcp_message_relay_agent_fits(reply, max_size))
		return;
	pxed_dhcp_message_get_option(reply, PXED_DHCP_OPTION_RELAY_AGENT, &len);
	pxed_dhcp_message_remove_option(reply, PXED_DHCP_OPTION_RELAY_AGENT);
	self->stats.relay_agent_dropped++;
	log_limit(self, &self->log_relay_agent, now,
		  "relay agent information (option 82, %zu bytes) does not fit in a %zu-byte "
		  "reply: sent without it",
		  len, max_size);
}
