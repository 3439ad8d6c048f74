/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The DHCP server's decisions (RFC 2131 §4.3): the server object, the
 * replies, and one handler per message type (DISCOVER, REQUEST, DECLINE,
 * RELEASE, INFORM) behind dhcp_server_handle(). Addresses come from
 * dhcp-pool.c, the abuse limits from dhcp-limits.c.
 */
#include "dhcp-server.h"

#include <arpa/inet.h>

/* How long a declined address stays out of use (RFC 2131 §4.3.3 leaves it open). */
#define DECLINE_SECONDS 600

/* ---- the server ---- */

PxedDhcpServer *
dhcp_server_new(PxedInstance *instance)
{
	PxedDhcpServer *self = g_new0(PxedDhcpServer, 1);

	self->name = g_strdup(pxed_instance_get_name(instance));
	self->instance = pxed_instance_ref(instance);
	self->pools = g_ptr_array_new_with_free_func((GDestroyNotify)dhcp_pool_free);
	self->lease_time = 3600;
	self->authoritative = TRUE;
	self->offers =
		g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, dhcp_offer_hold_free);
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
	pxed_instance_unref(self->instance);
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

/* ---- who the client is ---- */

/* The inventory's reservation for @client: `metadata.ip` of its group. */
static gboolean
reservation(PxedDhcpServer *self, PxedClient *client, guint32 *address, char **hostname)
{
	g_autoptr(PxedMachine) machine = pxed_instance_match(self->instance, client);
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
	g_autoptr(PxedBootReply) boot = pxed_instance_boot(self->instance, client, &error);

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

/* The client's own reservation, which dhcp_pool_address_available() lets it have. */
static guint32
own(const PxedDhcpRequest *r)
{
	return r->reserved ? r->reserved_address : 0;
}

static void
handle_discover(PxedDhcpRequest *r)
{
	PxedDhcpServer *self = r->self;
	PxedDhcpPool *pool = dhcp_pool_select(self->pools, r->request->giaddr);
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
	if (r->reserved && dhcp_pool_address_available(self, pool, r->reserved_address,
						       r->client_id, own(r), r->now))
		address = r->reserved_address;
	if (address == 0 && self->store != NULL) {
		lease = pxed_instance_lease_get(self->instance, self->store, r->client_id);
		if (lease != NULL &&
		    dhcp_pool_contains_range(pool, pxed_lease_get_address(lease)) &&
		    dhcp_pool_address_available(self, pool, pxed_lease_get_address(lease),
						r->client_id, own(r), r->now))
			address = pxed_lease_get_address(lease);
	}
	if (address == 0) {
		gpointer offered;
		/* a retransmitted DISCOVER gets the same offer */
		if (g_hash_table_lookup_extended(self->offered, r->client_id, NULL, &offered) &&
		    dhcp_pool_contains_range(pool, GPOINTER_TO_UINT(offered)) &&
		    dhcp_pool_address_available(self, pool, GPOINTER_TO_UINT(offered), r->client_id,
						own(r), r->now))
			address = GPOINTER_TO_UINT(offered);
	}
	if (address != 0)
		dhcp_mac_note(self, r->request, r->now); /* a DISCOVER again: counted */
	/* Past here the client is new: it takes an address of its own, so it is
	 * what a flood of made-up hardware addresses is made of. One bucket per
	 * pool (the interface's, each relay's), so that one segment's flood
	 * leaves the others their share. */
	if (address == 0 &&
	    !dhcp_bucket_take(&pool->new_clients, self->limits.new_clients_per_second,
			      self->limits.new_clients_burst, r->now)) {
		self->stats.new_clients_limited++;
		dhcp_log_limit(
			self, &self->log_new_clients, r->now,
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
	    dhcp_pool_contains_range(pool, requested) &&
	    dhcp_pool_address_available(self, pool, requested, r->client_id, own(r), r->now))
		address = requested;
	if (address == 0 && pool->ranges->len > 0)
		address = dhcp_pool_allocate(self, pool, r->client_id, own(r), r->now);
	if (address == 0) {
		self->stats.exhausted++;
		dhcp_log_limit(self, &self->log_exhausted, r->now,
			       "no free address in %s%s: DISCOVER from %s not answered",
			       pool->name[0] != '\0' ? "pool " : "the interface's range",
			       pool->name, pxed_client_get_key(r->out->client));
		r->out->reason = "no free address in the pool";
		return;
	}
	dhcp_offer_hold(self, address, r->client_id, r->now);
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

	dhcp_offer_drop(self, address);
	dhcp_pool_mark_address(self, address, TRUE, TRUE);
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
	PxedDhcpPool *pool = dhcp_pool_select(
		self->pools, r->request->giaddr != 0 || init_reboot ? r->request->giaddr : address);
	g_autoptr(PxedLease) lease = NULL;

	if (pool == NULL) {
		/* RFC 2131 §4.3.2: INIT-REBOOT on our own segment with a foreign address */
		if (r->request->giaddr == 0 && r->request->ciaddr == 0 &&
		    dhcp_pool_select(self->pools, 0) != NULL)
			nak(r, "address not on this network");
		else
			r->out->reason = "not a network of this server";
		return;
	}
	if (!dhcp_pool_contains_subnet(pool, address)) {
		nak(r, "address not on this network");
		return;
	}
	if (r->reserved && address != r->reserved_address) {
		nak(r, "address reserved elsewhere for this client");
		return;
	}
	if (!dhcp_pool_address_available(self, pool, address, r->client_id, own(r), r->now)) {
		nak(r, "address in use");
		return;
	}
	if (self->store != NULL)
		lease = pxed_instance_lease_get(self->instance, self->store, r->client_id);
	if (r->reserved) {
		ack(r, pool, address);
		return;
	}
	/* a lease outside the ranges (they shrank, or the record was forged) is
	 * not renewed: the client starts over and gets an address of the range */
	if (lease != NULL && pxed_lease_get_address(lease) == address &&
	    pxed_lease_get_state(lease) != PXED_LEASE_DECLINED &&
	    dhcp_pool_contains_range(pool, address)) {
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
		lease = pxed_instance_lease_get(self->instance, self->store, r->client_id);
	return lease != NULL && pxed_lease_get_address(lease) == address &&
	       pxed_lease_get_state(lease) != PXED_LEASE_DECLINED &&
	       dhcp_pool_contains_range(pool, address);
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
				dhcp_offer_drop(self, GPOINTER_TO_UINT(offered));
			return;
		}
		if (!has_requested) {
			nak(r, "no requested address");
			return;
		}
		pool = dhcp_pool_select(self->pools, r->request->giaddr);
		if (pool == NULL || !dhcp_pool_contains_subnet(pool, requested)) {
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
		if (!dhcp_pool_address_available(self, pool, requested, r->client_id, own(r),
						 r->now)) {
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
	lease = pxed_instance_lease_get(self->instance, self->store, r->client_id);
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
	dhcp_pool_mark_address(self, address, TRUE, TRUE);
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
	lease = pxed_instance_lease_get(self->instance, self->store, r->client_id);
	if (lease == NULL || pxed_lease_get_address(lease) != r->request->ciaddr) {
		r->out->reason = "RELEASE of an address the client does not have";
		return;
	}
	r->out->release = g_strdup(r->client_id);
	dhcp_pool_mark_address(self, r->request->ciaddr, FALSE, TRUE);
	self->stats.releases++;
}

static void
handle_inform(PxedDhcpRequest *r)
{
	PxedDhcpServer *self = r->self;
	PxedDhcpPool *pool = dhcp_pool_select(self->pools, r->request->ciaddr);
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
		    !dhcp_mac_admit(self, request, out->client, now)) {
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
	dhcp_log_limit(self, &self->log_relay_agent, now,
		       "relay agent information (option 82, %zu bytes) does not fit in a %zu-byte "
		       "reply: sent without it",
		       len, max_size);
}
