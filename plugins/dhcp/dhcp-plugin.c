/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * The dhcp protocol plugin: pxed as the network's DHCP server (RFC 2131) on
 * one interface. This file moves datagrams: it reads and filters them, hands
 * each parsed request to dhcp_server_handle() (dhcp-server.c), makes the
 * lease of an ACK durable through the core's lease store, and only then sends
 * the answer (dhcp-net.c). Every DISCOVER, REQUEST, OFFER, ACK and NAK goes to
 * the core's event log under the client's MAC.
 */

#include <pxed/pxed.h>

#include <arpa/inet.h>

#include "dhcp-keys.h"
#include "dhcp-net.h"
#include "dhcp-server.h"

/* Datagrams read per main loop turn, so that a flood cannot starve the loop. */
#define RX_BUDGET     64
#define SWEEP_SECONDS 30

typedef struct {
	gint refcount;
	PxedInstance *instance;
	char *name;
	char *ifname;
	char *lease_file;
	guint32 server_address; /* configured, or 0: the interface's */
	PxedDhcpServer *server;
	/* while started */
	DhcpInterface iface;
	DhcpSocket *socket;
	GSource *source;
	GSource *sweep;
	gboolean running;
} PxedDhcp;

static const PxedKey dhcp_keys[] = {
	PXED_DHCP_KEY_INTERFACE,
	{.name = "range",
	 .type = PXED_KEY_STRING_LIST,
	 .description =
		 "addresses handed out on the interface's subnet: FIRST;LAST or FIRST-LAST;…"},
	{.name = "subnet",
	 .type = PXED_KEY_STRING,
	 .description = "the interface's subnet as ADDRESS/PREFIX (default: the interface's own)"},
	{.name = "router", .type = PXED_KEY_STRING_LIST, .description = "option 3"},
	{.name = "dns", .type = PXED_KEY_STRING_LIST, .description = "option 6"},
	{.name = "domain", .type = PXED_KEY_STRING, .description = "option 15"},
	{.name = "lease-time",
	 .type = PXED_KEY_INT,
	 .default_value = "3600",
	 .min = 60,
	 .max = 31536000,
	 .description = "lease length in seconds"},
	{.name = "lease-file",
	 .type = PXED_KEY_STRING,
	 .default_value = "leases",
	 .description = "the lease store, relative to the state folder"},
	PXED_DHCP_KEY_SERVER_ADDRESS,
	{.name = "authoritative",
	 .type = PXED_KEY_BOOLEAN,
	 .default_value = "true",
	 .description =
		 "NAK requests for addresses this server has no record of (RFC 2131 §4.3.2)"},
	/* Fair shares under abuse (README.md, "Defences"): a new client takes an
	 * address for the offer hold, so a flood of made-up hardware addresses
	 * would take the whole range; one machine repeating DISCOVERs costs a
	 * boot pipeline run each. */
	{.name = "new-clients-per-second",
	 .type = PXED_KEY_INT,
	 .default_value = "100",
	 .min = 0,
	 .max = 1000000,
	 .description = "DISCOVERs from clients with no offer, lease or reservation answered "
			"per second, per interface and per relayed pool (0: no limit)"},
	{.name = "new-clients-burst",
	 .type = PXED_KEY_INT,
	 .default_value = "1000",
	 .min = 1,
	 .max = 1000000,
	 .description = "new clients answered at once before new-clients-per-second applies"},
	{.name = "discovers-per-mac-per-minute",
	 .type = PXED_KEY_INT,
	 .default_value = "60",
	 .min = 0,
	 .max = 6000000,
	 .description = "DISCOVERs answered per minute from one hardware address (0: no limit)"},
	{.name = "discovers-per-mac-burst",
	 .type = PXED_KEY_INT,
	 .default_value = "10",
	 .min = 1,
	 .max = 100000,
	 .description = "DISCOVERs answered at once from one hardware address"},
	{.name = "pool.",
	 .type = PXED_KEY_STRING,
	 .flags = PXED_KEY_FLAG_PREFIX,
	 .description = "relayed subnets: pool.NAME.subnet, .range, .router, .dns, .domain"},
	{.name = NULL},
};

static PxedDhcp *
dhcp_ref(PxedDhcp *self)
{
	g_atomic_int_inc(&self->refcount);
	return self;
}

static void
dhcp_unref(PxedDhcp *self)
{
	if (!g_atomic_int_dec_and_test(&self->refcount))
		return;
	g_free(self->name);
	pxed_instance_unref(self->instance);
	g_free(self->ifname);
	g_free(self->lease_file);
	dhcp_server_free(self->server);
	g_free(self);
}

static PxedDhcpPool *
pool_new(const char *name)
{
	PxedDhcpPool *pool = g_new0(PxedDhcpPool, 1);

	pool->name = g_strdup(name);
	pool->ranges = g_array_new(FALSE, FALSE, sizeof(PxedDhcpRange));
	pool->routers = g_array_new(FALSE, FALSE, sizeof(guint32));
	pool->dns = g_array_new(FALSE, FALSE, sizeof(guint32));
	return pool;
}

static gboolean
pool_set(PxedDhcpPool *pool, const char *what, const char *value, const char *key, GError **error)
{
	g_auto(GStrv) items = g_strsplit(value, ";", -1);
	g_autoptr(GError) local = NULL;
	g_autoptr(GStrvBuilder) builder = g_strv_builder_new();
	g_auto(GStrv) list = NULL;

	for (guint i = 0; items[i] != NULL; i++) {
		g_strstrip(items[i]);
		if (items[i][0] != '\0')
			g_strv_builder_add(builder, items[i]);
	}
	list = g_strv_builder_end(builder);
	if (g_str_equal(what, "subnet")) {
		pool->has_subnet = dhcp_parse_subnet(g_strstrip((char *)value), &pool->network,
						     &pool->mask, &local);
	} else if (g_str_equal(what, "range")) {
		dhcp_parse_ranges((const char *const *)list, pool->ranges, &local);
	} else if (g_str_equal(what, "router")) {
		dhcp_parse_addresses((const char *const *)list, pool->routers, &local);
	} else if (g_str_equal(what, "dns")) {
		dhcp_parse_addresses((const char *const *)list, pool->dns, &local);
	} else if (g_str_equal(what, "domain")) {
		g_free(pool->domain);
		pool->domain = g_strstrip(g_strdup(value));
	} else {
		g_set_error(error, PXED_ERROR, PXED_ERROR_INVALID,
			    "%s: unknown pool key (subnet, range, router, dns, domain)", key);
		return FALSE;
	}
	if (local != NULL) {
		g_set_error(error, PXED_ERROR, PXED_ERROR_INVALID, "%s: %s", key, local->message);
		return FALSE;
	}
	return TRUE;
}

/* pool.NAME.KEY=VALUE groups into one pool per NAME. */
static gboolean
read_relay_pools(PxedDhcp *self, PxedInstance *instance, GError **error)
{
	g_autoptr(GHashTable) values = pxed_instance_get_prefixed(instance, "pool.");
	g_autoptr(GList) keys = g_list_sort(g_hash_table_get_keys(values), (GCompareFunc)strcmp);
	g_autoptr(GHashTable) pools = g_hash_table_new(g_str_hash, g_str_equal);

	for (GList *l = keys; l != NULL; l = l->next) {
		const char *key = l->data;
		const char *name = key + strlen("pool.");
		const char *dot = strrchr(name, '.');
		g_autofree char *pool_name = NULL;
		PxedDhcpPool *pool;

		if (dot == NULL || dot == name || dot[1] == '\0') {
			g_set_error(error, PXED_ERROR, PXED_ERROR_INVALID,
				    "%s: write pool.NAME.KEY (subnet, range, router, dns, domain)",
				    key);
			return FALSE;
		}
		pool_name = g_strndup(name, (gsize)(dot - name));
		pool = g_hash_table_lookup(pools, pool_name);
		if (pool == NULL) {
			pool = pool_new(pool_name);
			g_ptr_array_add(self->server->pools, pool);
			g_hash_table_insert(pools, pool->name, pool);
		}
		if (!pool_set(pool, dot + 1, g_hash_table_lookup(values, key), key, error))
			return FALSE;
	}
	for (guint i = 0; i < self->server->pools->len; i++) {
		PxedDhcpPool *pool = g_ptr_array_index(self->server->pools, i);
		g_autoptr(GError) local = NULL;
		if (pool->name[0] == '\0')
			continue;
		if (!pool->has_subnet) {
			g_set_error(error, PXED_ERROR, PXED_ERROR_INVALID,
				    "pool.%s.subnet: a relayed pool needs its subnet", pool->name);
			return FALSE;
		}
		if (pool->ranges->len == 0) {
			g_set_error(error, PXED_ERROR, PXED_ERROR_INVALID,
				    "pool.%s.range: a relayed pool needs a range", pool->name);
			return FALSE;
		}
		if (!dhcp_pool_finish(pool, pool->network, pool->mask, &local)) {
			g_set_error(error, PXED_ERROR, PXED_ERROR_INVALID, "pool.%s.range: %s",
				    pool->name, local->message);
			return FALSE;
		}
	}
	return TRUE;
}

static gboolean
read_local_pool(PxedDhcp *self, PxedInstance *instance, GError **error)
{
	g_autoptr(PxedDhcpPool) pool = pool_new("");
	static const char *const keys[] = {"subnet", "range", "router", "dns", "domain"};

	for (guint i = 0; i < G_N_ELEMENTS(keys); i++) {
		g_autofree char *value = pxed_instance_get_string(instance, keys[i]);
		if (value != NULL && !pool_set(pool, keys[i], value, keys[i], error))
			return FALSE;
	}
	if (pool->ranges->len == 0)
		return TRUE; /* relayed pools only */
	if (pool->has_subnet) {
		g_autoptr(GError) local = NULL;
		if (!dhcp_pool_finish(pool, pool->network, pool->mask, &local)) {
			g_set_error(error, PXED_ERROR, PXED_ERROR_INVALID, "range: %s",
				    local->message);
			return FALSE;
		}
	}
	g_ptr_array_insert(self->server->pools, 0, g_steal_pointer(&pool));
	return TRUE;
}

static gpointer
dhcp_new(PxedInstance *instance, GError **error)
{
	PxedDhcp *self = g_new0(PxedDhcp, 1);
	g_autofree char *server_address = NULL;

	self->refcount = 1;
	self->instance = pxed_instance_ref(instance);
	self->name = g_strdup(pxed_instance_get_name(instance));
	self->ifname = pxed_instance_get_string(instance, "interface");
	self->lease_file = pxed_instance_get_string(instance, "lease-file");
	self->server = dhcp_server_new(instance);
	self->server->lease_time = (guint32)pxed_instance_get_int(instance, "lease-time");
	self->server->authoritative = pxed_instance_get_boolean(instance, "authoritative");
	self->server->limits.new_clients_per_second =
		(guint)pxed_instance_get_int(instance, "new-clients-per-second");
	self->server->limits.new_clients_burst =
		(guint)pxed_instance_get_int(instance, "new-clients-burst");
	self->server->limits.discovers_per_mac_per_minute =
		(guint)pxed_instance_get_int(instance, "discovers-per-mac-per-minute");
	self->server->limits.discovers_per_mac_burst =
		(guint)pxed_instance_get_int(instance, "discovers-per-mac-burst");
	server_address = pxed_instance_get_string(instance, "server-address");
	if (server_address != NULL) {
		struct in_addr in;
		inet_pton(AF_INET, server_address, &in); /* validated by the core */
		self->server_address = in.s_addr;
	}
	if (!read_local_pool(self, instance, error) || !read_relay_pools(self, instance, error)) {
		dhcp_unref(self);
		return NULL;
	}
	if (self->server->pools->len == 0) {
		g_set_error(error, PXED_ERROR, PXED_ERROR_INVALID,
			    "range: nothing to hand out (set range, or pool.NAME.subnet and "
			    "pool.NAME.range for relayed subnets)");
		dhcp_unref(self);
		return NULL;
	}
	return self;
}

static void
dhcp_free(gpointer data)
{
	dhcp_unref(data);
}

/* ---- sending ---- */

static const char *
type_event(guint8 type)
{
	switch (type) {
	case PXED_DHCP_DISCOVER:
		return "discover";
	case PXED_DHCP_OFFER:
		return "offer";
	case PXED_DHCP_REQUEST:
		return "request";
	case PXED_DHCP_DECLINE:
		return "decline";
	case PXED_DHCP_ACK:
		return "ack";
	case PXED_DHCP_NAK:
		return "nak";
	case PXED_DHCP_RELEASE:
		return "release";
	case PXED_DHCP_INFORM:
		return "inform";
	default:
		return "unknown";
	}
}

static void
send_reply(PxedDhcp *self, const PxedDhcpMessage *request, const PxedDhcpMessage *reply,
	   gsize max_size, PxedClient *client, const char *reason)
{
	g_autoptr(GError) error = NULL;
	const char *where;
	char yiaddr[INET_ADDRSTRLEN];
	guint8 type = pxed_dhcp_message_get_type(reply);

	if (!self->running)
		return;
	where = dhcp_socket_send_reply(self->socket, request, reply, max_size,
				       self->server->server_id, &error);
	if (where == NULL) {
		g_warning("%s: %s to %s: %s", self->name, type_event(type),
			  pxed_client_get_key(client), error->message);
		return;
	}
	inet_ntop(AF_INET, &reply->yiaddr, yiaddr, sizeof(yiaddr));
	if (type == PXED_DHCP_NAK)
		pxed_instance_event(self->instance, client, "nak", "xid=%08x reason=\"%s\"",
				    request->xid, reason != NULL ? reason : "");
	else
		pxed_instance_event(self->instance, client, type_event(type),
				    "xid=%08x ip=%s file=%s to=%s", request->xid, yiaddr,
				    reply->file[0] != '\0' ? reply->file : "-", where);
}

typedef struct {
	PxedDhcp *self;
	PxedDhcpMessage *request;
	PxedDhcpOutcome *outcome;
} PxedDhcpCommit;

static void
commit_free(PxedDhcpCommit *commit)
{
	dhcp_unref(commit->self);
	pxed_dhcp_message_free(commit->request);
	dhcp_outcome_free(commit->outcome);
	g_free(commit);
}

/* The ACK leaves only once its lease is on disk. */
static void
committed(GObject *source, GAsyncResult *result, gpointer user_data)
{
	PxedDhcpCommit *commit = user_data;
	PxedDhcp *self = commit->self;
	g_autoptr(GError) error = NULL;

	if (!pxed_instance_lease_put_finish(self->instance, result, &error)) {
		if (g_error_matches(error, PXED_ERROR, PXED_ERROR_DENIED)) {
			g_autoptr(PxedDhcpMessage) nak = dhcp_server_build_nak(
				self->server, commit->request, "address in use");
			dhcp_server_fit_relay_agent(self->server, nak, commit->outcome->max_size,
						    g_get_real_time() / G_USEC_PER_SEC);
			send_reply(self, commit->request, nak, commit->outcome->max_size,
				   commit->outcome->client, error->message);
		} else {
			g_warning("%s: no ACK to %s: %s", self->name,
				  pxed_client_get_key(commit->outcome->client), error->message);
		}
	} else {
		/* TFTP and HTTP requests from this address are this machine's:
		 * pxed gave it the address, the strongest word there is */
		pxed_instance_note_client(self->instance, commit->outcome->client,
					  PXED_EVIDENCE_LEASE, self->server->lease_time);
		send_reply(self, commit->request, commit->outcome->reply, commit->outcome->max_size,
			   commit->outcome->client, NULL);
	}
	commit_free(commit);
}

static void
declined(GObject *source, GAsyncResult *result, gpointer user_data)
{
	PxedDhcp *self = user_data;
	g_autoptr(GError) error = NULL;

	if (!pxed_instance_lease_put_finish(self->instance, result, &error))
		g_warning("%s: declined address not recorded: %s", self->name, error->message);
	dhcp_unref(self);
}

/* ---- receiving ---- */

/* RFC 2131 §4.4.6 (and §4.4.4): a client releases its lease in a unicast
 * from the address it holds, ciaddr; a relay never forwards one. A RELEASE
 * from any other address is someone releasing another machine's lease in its
 * name — with a plain UDP socket, as chaddr and ciaddr are only payload — so
 * that the address, and the identity pxed ties to it, goes to whoever asks
 * next. Forging the source address too takes a raw socket: that stays open
 * (see the README's residual risks). */
static gboolean
release_forged(PxedDhcp *self, const PxedDhcpMessage *request, const DhcpPeer *peer,
	       const char *from)
{
	PxedDhcpServer *server = self->server;
	PxedDhcpLogLimit *limit = &server->log_release;
	gint64 now = g_get_monotonic_time() / G_USEC_PER_SEC;
	char released[INET_ADDRSTRLEN];

	if (pxed_dhcp_message_get_type(request) != PXED_DHCP_RELEASE ||
	    peer->address == request->ciaddr)
		return FALSE;
	server->stats.release_forged++;
	if (now < limit->next) {
		limit->quiet++;
		return TRUE;
	}
	inet_ntop(AF_INET, &request->ciaddr, released, sizeof(released));
	g_message("%s: RELEASE of %s from %s ignored: not sent from the address it releases "
		  "(%" G_GUINT64_FORMAT " more in the last minute, %" G_GUINT64_FORMAT " in all)",
		  self->name, released, from, limit->quiet, server->stats.release_forged);
	limit->next = now + 60; /* one line a minute, as for the other limits */
	limit->quiet = 0;
	return TRUE;
}

static void
handle_datagram(PxedDhcp *self, const guint8 *data, gsize len, const DhcpPeer *peer)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(PxedDhcpMessage) request = pxed_dhcp_message_parse(data, len, &error);
	g_autoptr(PxedDhcpOutcome) outcome = NULL;
	char from[INET_ADDRSTRLEN];
	guint8 type;

	inet_ntop(AF_INET, &peer->address, from, sizeof(from));
	if (request == NULL) {
		self->server->stats.malformed++;
		g_debug("%s: malformed datagram (%zu bytes) from %s:%u: %s", self->name, len, from,
			peer->port, error->message);
		return;
	}
	if (request->op != PXED_DHCP_OP_REQUEST)
		return; /* another server's reply, seen through a broadcast */
	if (release_forged(self, request, peer, from))
		return;
	outcome = dhcp_server_handle(self->server, request, g_get_real_time() / G_USEC_PER_SEC);
	type = outcome->request_type;
	if (type >= PXED_DHCP_DISCOVER && type <= PXED_DHCP_INFORM && type != PXED_DHCP_OFFER &&
	    type != PXED_DHCP_ACK && type != PXED_DHCP_NAK)
		pxed_instance_event(
			self->instance, outcome->client, type_event(type),
			"xid=%08x from=%s:%u%s%s", request->xid, from, peer->port,
			outcome->reply == NULL ? " ignored=" : "",
			outcome->reply == NULL && outcome->reason != NULL ? outcome->reason : "");
	else
		g_debug("%s: %s from %s:%u ignored: %s", self->name, pxed_dhcp_type_to_string(type),
			from, peer->port, outcome->reason);
	if (outcome->release != NULL)
		pxed_instance_lease_release(self->instance, self->server->store, outcome->release);
	if (outcome->decline != NULL)
		pxed_instance_lease_put_async(self->instance, self->server->store, outcome->decline,
					      declined, dhcp_ref(self));
	if (outcome->reply == NULL)
		return;
	if (outcome->commit != NULL) {
		PxedDhcpCommit *commit = g_new0(PxedDhcpCommit, 1);
		commit->self = dhcp_ref(self);
		commit->request = g_steal_pointer(&request);
		commit->outcome = g_steal_pointer(&outcome);
		pxed_instance_lease_put_async(self->instance, self->server->store,
					      commit->outcome->commit, committed, commit);
		return;
	}
	send_reply(self, request, outcome->reply, outcome->max_size, outcome->client,
		   outcome->reason);
}

static gboolean
readable(gint fd, GIOCondition condition, gpointer user_data)
{
	PxedDhcp *self = user_data;

	for (guint round = 0; round < RX_BUDGET / DHCP_SOCKET_BATCH; round++) {
		guint n = dhcp_socket_receive_batch(self->socket);
		for (guint i = 0; i < n; i++) {
			DhcpPeer peer;
			gsize len = 0;
			const guint8 *data = dhcp_socket_get(self->socket, i, &len, &peer);
			if (peer.ifindex != self->iface.ifindex)
				continue; /* SO_BINDTODEVICE already keeps these out */
			if (data == NULL) {
				self->server->stats.malformed++;
				continue;
			}
			handle_datagram(self, data, len, &peer);
		}
		if (n < DHCP_SOCKET_BATCH)
			break; /* the queue is empty */
	}
	return G_SOURCE_CONTINUE;
}

static gboolean
sweep(gpointer user_data)
{
	PxedDhcp *self = user_data;

	dhcp_server_expire_offers(self->server, g_get_real_time() / G_USEC_PER_SEC);
	return G_SOURCE_CONTINUE;
}

/* ---- start and stop ---- */

static void
dhcp_stop(gpointer data)
{
	PxedDhcp *self = data;
	PxedDhcpStats *s = &self->server->stats;

	if (!self->running)
		return;
	self->running = FALSE;
	g_source_destroy(self->source);
	g_clear_pointer(&self->source, g_source_unref);
	g_source_destroy(self->sweep);
	g_clear_pointer(&self->sweep, g_source_unref);
	g_clear_pointer(&self->socket, dhcp_socket_free);
	pxed_instance_lease_close(self->instance, self->server->store);
	self->server->store = NULL;
	dhcp_interface_clear(&self->iface);
	g_info("%s: stopped; %" G_GUINT64_FORMAT " received, %" G_GUINT64_FORMAT
	       " malformed, %" G_GUINT64_FORMAT " offers, %" G_GUINT64_FORMAT
	       " acks, %" G_GUINT64_FORMAT " naks (%" G_GUINT64_FORMAT
	       " for addresses not offered), %" G_GUINT64_FORMAT
	       " pool exhausted, %" G_GUINT64_FORMAT
	       " new clients over the limit, %" G_GUINT64_FORMAT
	       " DISCOVERs over the per-MAC limit, %" G_GUINT64_FORMAT
	       " replies without an option 82 too long, %" G_GUINT64_FORMAT
	       " RELEASEs not from the released address",
	       self->name, s->received, s->malformed, s->offers, s->acks, s->naks,
	       s->unknown_address, s->exhausted, s->new_clients_limited, s->mac_limited,
	       s->relay_agent_dropped, s->release_forged);
}

static gboolean
dhcp_start(gpointer data, GError **error)
{
	PxedDhcp *self = data;
	PxedDhcpPool *local = NULL;
	g_autoptr(GError) local_error = NULL;

	if (!dhcp_interface_lookup(self->ifname, &self->iface, error))
		return FALSE;
	self->server->server_id =
		self->server_address != 0 ? self->server_address : self->iface.address;
	if (self->server->pools->len > 0) {
		local = g_ptr_array_index(self->server->pools, 0);
		if (local->name[0] != '\0')
			local = NULL;
	}
	if (local != NULL && !dhcp_pool_finish(local, g_ntohl(self->iface.address),
					       g_ntohl(self->iface.netmask), &local_error)) {
		g_set_error(error, PXED_ERROR, PXED_ERROR_INVALID, "range on %s: %s", self->ifname,
			    local_error->message);
		dhcp_interface_clear(&self->iface);
		return FALSE;
	}
	self->server->store = pxed_instance_lease_open(self->instance, self->lease_file, error);
	if (self->server->store == NULL) {
		dhcp_interface_clear(&self->iface);
		return FALSE;
	}
	/* the pools' free-address bits from the leases already on record */
	dhcp_server_expire_offers(self->server, g_get_real_time() / G_USEC_PER_SEC);
	self->socket = dhcp_socket_new(&self->iface, PXED_DHCP_SERVER_PORT, TRUE, error);
	if (self->socket == NULL) {
		pxed_instance_lease_close(self->instance, self->server->store);
		self->server->store = NULL;
		dhcp_interface_clear(&self->iface);
		return FALSE;
	}
	self->source = dhcp_socket_create_source(self->socket, readable, self,
						 pxed_instance_get_main_context(self->instance));
	self->sweep = g_timeout_source_new_seconds(SWEEP_SECONDS);
	g_source_set_callback(self->sweep, sweep, self, NULL);
	g_source_attach(self->sweep, pxed_instance_get_main_context(self->instance));
	self->running = TRUE;
	{
		char addr[INET_ADDRSTRLEN];
		inet_ntop(AF_INET, &self->server->server_id, addr, sizeof(addr));
		pxed_instance_event(self->instance, NULL, "listening",
				    "interface=%s server=%s 0.0.0.0:%u", self->ifname, addr,
				    dhcp_socket_get_port(self->socket));
	}
	return TRUE;
}

PXED_PLUGIN_DEFINE(.kind = PXED_PLUGIN_KIND_PROTOCOL, .name = "dhcp",
		   .description = "DHCP server (RFC 2131) answering PXE firmware, with durable "
				  "leases",
		   .version = PXED_VERSION, .license = "LGPL-2.1-or-later", .keys = dhcp_keys,
		   .instance_new = dhcp_new, .instance_free = dhcp_free, .start = dhcp_start,
		   .stop = dhcp_stop);
