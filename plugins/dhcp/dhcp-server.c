/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "dhcp-server.h"

#include <arpa/inet.h>
#include <string.h>

/* How long an offered address is kept for the client it was offered to. */
#define OFFER_HOLD_SECONDS 30
/* How long a declined address stays out of use (RFC 2131 §4.3.3 leaves it open). */
#define DECLINE_SECONDS 600

typedef struct {
	char *client_id;
	gint64 expires;
} DhcpOfferHold;

static void
offer_hold_free(DhcpOfferHold *hold)
{
	g_free(hold->client_id);
	g_free(hold);
}

/* ---- configuration ---- */

void
dhcp_pool_free(DhcpPool *pool)
{
	if (pool == NULL)
		return;
	g_free(pool->name);
	g_array_unref(pool->ranges);
	g_array_unref(pool->routers);
	g_array_unref(pool->dns);
	g_free(pool->domain);
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
		DhcpRange range;

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
dhcp_pool_finish(DhcpPool *pool, guint32 network, guint32 mask, GError **error)
{
	if (!pool->has_subnet) {
		pool->network = network & mask;
		pool->mask = mask;
		pool->has_subnet = TRUE;
	}
	for (guint i = 0; i < pool->ranges->len; i++) {
		DhcpRange *r = &g_array_index(pool->ranges, DhcpRange, i);
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
	if (pool->ranges->len > 0)
		pool->cursor = g_array_index(pool->ranges, DhcpRange, 0).first;
	return TRUE;
}

DhcpServer *
dhcp_server_new(const char *name, PxedContext *ctx)
{
	DhcpServer *self = g_new0(DhcpServer, 1);

	self->name = g_strdup(name);
	self->ctx = ctx;
	self->pools = g_ptr_array_new_with_free_func((GDestroyNotify)dhcp_pool_free);
	self->lease_time = 3600;
	self->authoritative = TRUE;
	self->offers = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL,
					     (GDestroyNotify)offer_hold_free);
	self->offered = g_hash_table_new(g_str_hash, g_str_equal);
	return self;
}

void
dhcp_server_free(DhcpServer *self)
{
	if (self == NULL)
		return;
	g_free(self->name);
	g_ptr_array_unref(self->pools);
	g_hash_table_unref(self->offered);
	g_hash_table_unref(self->offers);
	g_free(self);
}

void
dhcp_outcome_free(DhcpOutcome *outcome)
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
pool_contains_subnet(const DhcpPool *pool, guint32 address)
{
	return (g_ntohl(address) & pool->mask) == pool->network;
}

static gboolean
pool_contains_range(const DhcpPool *pool, guint32 address)
{
	guint32 host = g_ntohl(address);
	for (guint i = 0; i < pool->ranges->len; i++) {
		const DhcpRange *r = &g_array_index(pool->ranges, DhcpRange, i);
		if (host >= r->first && host <= r->last)
			return TRUE;
	}
	return FALSE;
}

/* RFC 2131 §4.3.1: a relayed request is served from the pool of the relay's
 * subnet (giaddr); a direct one from the interface's own. */
static DhcpPool *
select_pool(DhcpServer *self, guint32 address)
{
	for (guint i = 0; i < self->pools->len; i++) {
		DhcpPool *pool = g_ptr_array_index(self->pools, i);
		if (address == 0 ? pool->name[0] == '\0' : pool_contains_subnet(pool, address))
			return pool;
	}
	return NULL;
}

/* Drops the offer of @address (both tables). */
static void
drop_offer(DhcpServer *self, guint32 address)
{
	DhcpOfferHold *hold = g_hash_table_lookup(self->offers, GUINT_TO_POINTER(address));

	if (hold == NULL)
		return;
	g_hash_table_remove(self->offered, hold->client_id);
	g_hash_table_remove(self->offers, GUINT_TO_POINTER(address));
}

/* Whether @address may go to @client_id now: not the subnet's network or
 * broadcast address, not the server's, not reserved for another machine
 * (@own is the client's own reservation, or 0), not held by someone else's
 * lease or offer. */
static gboolean
address_available(DhcpServer *self, const DhcpPool *pool, guint32 address, const char *client_id,
		  guint32 own, gint64 now)
{
	guint32 host = g_ntohl(address);
	g_autoptr(PxedLease) holder = NULL;
	DhcpOfferHold *hold;

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

/* A free address of the pool, searched from its cursor: first one nobody ever
 * had (so that returning clients find theirs again), else one whose lease is
 * over. 0 when the pool is exhausted. */
static guint32
pool_allocate(DhcpServer *self, DhcpPool *pool, const char *client_id, guint32 own, gint64 now)
{
	guint64 size = 0;

	for (guint i = 0; i < pool->ranges->len; i++) {
		const DhcpRange *r = &g_array_index(pool->ranges, DhcpRange, i);
		size += (guint64)r->last - r->first + 1;
	}
	for (gint pass = 0; pass < 2; pass++) {
		guint32 host = pool->cursor;
		for (guint64 n = 0; n < size; n++) {
			guint32 address;
			gboolean in_range = FALSE;
			guint next_range = 0;

			/* keep host within the ranges, wrapping to the first one */
			for (guint i = 0; i < pool->ranges->len; i++) {
				const DhcpRange *r = &g_array_index(pool->ranges, DhcpRange, i);
				if (host >= r->first && host <= r->last) {
					in_range = TRUE;
					break;
				}
				if (host < r->first) {
					next_range = i;
					break;
				}
				next_range = i + 1;
			}
			if (!in_range) {
				host = g_array_index(pool->ranges, DhcpRange,
						     next_range < pool->ranges->len ? next_range
										    : 0)
					       .first;
			}
			address = g_htonl(host);
			if (address_available(self, pool, address, client_id, own, now)) {
				g_autoptr(PxedLease) old =
					self->store != NULL
						? pxed_context_lease_get_by_address(
							  self->ctx, self->store, address)
						: NULL;
				if (pass == 1 || old == NULL) {
					pool->cursor = host + 1;
					return address;
				}
			}
			host++;
		}
	}
	return 0;
}

static void
hold_offer(DhcpServer *self, guint32 address, const char *client_id, gint64 now)
{
	DhcpOfferHold *hold = g_new0(DhcpOfferHold, 1);
	gpointer previous;

	/* one offer per client, one client per offered address */
	if (g_hash_table_lookup_extended(self->offered, client_id, NULL, &previous))
		drop_offer(self, GPOINTER_TO_UINT(previous));
	drop_offer(self, address);
	hold->client_id = g_strdup(client_id);
	hold->expires = now + OFFER_HOLD_SECONDS;
	g_hash_table_insert(self->offers, GUINT_TO_POINTER(address), hold);
	g_hash_table_insert(self->offered, hold->client_id, GUINT_TO_POINTER(address));
}

void
dhcp_server_expire_offers(DhcpServer *self, gint64 now)
{
	GHashTableIter iter;
	gpointer value;

	g_hash_table_iter_init(&iter, self->offers);
	while (g_hash_table_iter_next(&iter, NULL, &value)) {
		DhcpOfferHold *hold = value;
		if (hold->expires <= now) {
			g_hash_table_remove(self->offered, hold->client_id);
			g_hash_table_iter_remove(&iter);
		}
	}
}

/* The inventory's reservation for @client: `metadata.ip` of its group. */
static gboolean
reservation(DhcpServer *self, PxedClient *client, guint32 *address, char **hostname)
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
set_pool_options(DhcpServer *self, PxedDhcpMessage *reply, const DhcpPool *pool)
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
set_boot(DhcpServer *self, PxedDhcpMessage *reply, const PxedDhcpMessage *request,
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
build_lease_reply(DhcpServer *self, const PxedDhcpMessage *request, PxedDhcpType type,
		  const DhcpPool *pool, guint32 address, const char *hostname, PxedClient *client)
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
dhcp_server_build_nak(DhcpServer *self, const PxedDhcpMessage *request, const char *message)
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
make_lease(DhcpServer *self, const char *client_id, guint32 address, PxedClient *client,
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
	DhcpServer *self;
	const PxedDhcpMessage *request;
	DhcpOutcome *out;
	char *client_id;
	gint64 now;
	gboolean reserved;
	guint32 reserved_address;
	char *reserved_hostname;
} Request;

/* The client's own reservation, which address_available() lets it have. */
static guint32
own(const Request *r)
{
	return r->reserved ? r->reserved_address : 0;
}

static void
handle_discover(Request *r)
{
	DhcpServer *self = r->self;
	DhcpPool *pool = select_pool(self, r->request->giaddr);
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
nak(Request *r, const char *why)
{
	r->out->reply = dhcp_server_build_nak(r->self, r->request, why);
	r->out->reason = why;
	r->self->stats.naks++;
}

static void
ack(Request *r, DhcpPool *pool, guint32 address)
{
	DhcpServer *self = r->self;
	const char *hostname = r->reserved ? r->reserved_hostname : NULL;

	drop_offer(self, address);
	r->out->reply = build_lease_reply(self, r->request, PXED_DHCP_ACK, pool, address, hostname,
					  r->out->client);
	r->out->commit = make_lease(self, r->client_id, address, r->out->client, hostname, r->now);
	self->stats.acks++;
}

/* INIT-REBOOT, RENEWING and REBINDING (RFC 2131 §4.3.2): the client names the
 * address it believes it has. */
static void
verify_address(Request *r, guint32 address)
{
	DhcpServer *self = r->self;
	/* the relay's subnet; else the pool of the address itself, as a renewing
	 * client unicasts to the server without a relay */
	DhcpPool *pool = select_pool(self, r->request->giaddr != 0 ? r->request->giaddr : address);
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
	if ((lease != NULL && pxed_lease_get_address(lease) == address &&
	     pxed_lease_get_state(lease) != PXED_LEASE_DECLINED) ||
	    r->reserved) {
		ack(r, pool, address);
		return;
	}
	if (lease != NULL) {
		nak(r, "not the address leased to this client");
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

static void
handle_request(Request *r)
{
	DhcpServer *self = r->self;
	guint32 server_id = 0;
	guint32 requested = 0;
	gboolean has_server_id = pxed_dhcp_message_get_option_ipv4(
		r->request, PXED_DHCP_OPTION_SERVER_ID, &server_id);
	gboolean has_requested = pxed_dhcp_message_get_option_ipv4(
		r->request, PXED_DHCP_OPTION_REQUESTED_ADDRESS, &requested);

	if (has_server_id) {
		DhcpPool *pool;
		/* SELECTING (RFC 2131 §4.3.2) */
		if (server_id != self->server_id) {
			r->out->reason = "the client chose another server";
			if (has_requested) {
				DhcpOfferHold *hold = g_hash_table_lookup(
					self->offers, GUINT_TO_POINTER(requested));
				if (hold != NULL && g_str_equal(hold->client_id, r->client_id))
					drop_offer(self, requested);
			}
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
		if (!address_available(self, pool, requested, r->client_id, own(r), r->now)) {
			nak(r, "address in use");
			return;
		}
		ack(r, pool, requested);
		return;
	}
	if (has_requested && r->request->ciaddr == 0) {
		verify_address(r, requested); /* INIT-REBOOT */
		return;
	}
	if (r->request->ciaddr != 0) {
		verify_address(r, r->request->ciaddr); /* RENEWING, REBINDING */
		return;
	}
	self->stats.ignored++;
	r->out->reason = "REQUEST with neither server identifier, requested address nor ciaddr";
}

static gboolean
for_us(Request *r)
{
	guint32 server_id = 0;

	return pxed_dhcp_message_get_option_ipv4(r->request, PXED_DHCP_OPTION_SERVER_ID,
						 &server_id) &&
	       server_id == r->self->server_id;
}

static void
handle_decline(Request *r)
{
	DhcpServer *self = r->self;
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
	self->stats.declines++;
}

static void
handle_release(Request *r)
{
	DhcpServer *self = r->self;
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
	self->stats.releases++;
}

static void
handle_inform(Request *r)
{
	DhcpServer *self = r->self;
	DhcpPool *pool = select_pool(self, r->request->ciaddr);
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

DhcpOutcome *
dhcp_server_handle(DhcpServer *self, const PxedDhcpMessage *request, gint64 now)
{
	DhcpOutcome *out = g_new0(DhcpOutcome, 1);
	Request r = {self, request, out, NULL, now, FALSE, 0, NULL};

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
	g_free(r.client_id);
	g_free(r.reserved_hostname);
	return out;
}
