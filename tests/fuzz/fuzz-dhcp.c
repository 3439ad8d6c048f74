/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The DHCP codec (sdk/pxed/pxed-dhcp.c) and the server's decisions
 * (plugins/dhcp/dhcp-server.c) on crafted datagrams.
 *
 * Input: up to four datagrams, each preceded by its length (2 bytes,
 * big-endian), so that a DISCOVER can be followed by a REQUEST for the offer.
 * Each one is parsed; what parses goes to dhcp_server_handle(), whose commit,
 * release and decline land in an in-memory lease store (the context's vtable,
 * as the core would do it); every reply is built and parsed back.
 *
 * The server is made afresh for every input, so that a finding replays alone.
 */
#include <arpa/inet.h>
#include <pxed/pxed-instance-private.h>
#include <string.h>

#include "dhcp-server.h"
#include "fuzz-common.h"

typedef struct {
	GHashTable *by_id;	/* client id -> PxedLease */
	GHashTable *by_address; /* address -> PxedLease (borrowed from by_id) */
	gint64 now;
} FuzzStore;

static GMainContext *
fuzz_main_context(gpointer core)
{
	return g_main_context_default();
}

static PxedBootReply *
fuzz_boot(gpointer core, PxedClient *client, GError **error)
{
	PxedBootReply *reply;

	/* both answers: a boot file, and "every backend declined" */
	if (pxed_client_get_arch(client) == 7) {
		g_set_error_literal(error, PXED_ERROR, PXED_ERROR_NOT_FOUND, "declined");
		return NULL;
	}
	reply = pxed_boot_reply_new();
	pxed_boot_reply_set_filename(reply,
				     pxed_client_get_arch(client) == 0
					     ? "pxelinux.0"
					     : "a/rather/long/path/to/a/boot/file/that/"
					       "does/not/fit/into/the/file/field/of/the/"
					       "bootp/header/which/holds/128/bytes/ipxe.efi");
	return reply;
}

static void
fuzz_event(gpointer core, PxedClient *client, const char *source, const char *event,
	   const char *message)
{
}

static PxedMachine *
fuzz_match(gpointer core, PxedClient *client)
{
	PxedMachine *machine;

	/* one reserved machine: 52:54:00:00:00:01 at 10.250.0.150 */
	if (g_strcmp0(pxed_client_get_mac_string(client), "52:54:00:00:00:01") != 0)
		return NULL;
	machine = pxed_machine_new("reserved", "node");
	pxed_machine_set_metadata(machine, "ip", "10.250.0.150");
	pxed_machine_set_metadata(machine, "hostname", "node-1");
	return machine;
}

static gboolean
fuzz_is_reserved(gpointer core, guint32 address)
{
	return address == inet_addr("10.250.0.150");
}

static PxedLease *
fuzz_lease_get(gpointer core, gpointer store, const char *client_id)
{
	FuzzStore *s = store;
	PxedLease *lease = g_hash_table_lookup(s->by_id, client_id);
	return lease != NULL ? pxed_lease_copy(lease) : NULL;
}

static PxedLease *
fuzz_lease_get_by_address(gpointer core, gpointer store, guint32 address)
{
	FuzzStore *s = store;
	PxedLease *lease = g_hash_table_lookup(s->by_address, GUINT_TO_POINTER(address));
	return lease != NULL ? pxed_lease_copy(lease) : NULL;
}

static void
store_put(FuzzStore *s, PxedLease *lease)
{
	PxedLease *old = g_hash_table_lookup(s->by_id, pxed_lease_get_client_id(lease));
	PxedLease *copy = pxed_lease_copy(lease);

	if (old != NULL)
		g_hash_table_remove(s->by_address, GUINT_TO_POINTER(pxed_lease_get_address(old)));
	/* an address held by another client is the store's conflict: refused */
	old = g_hash_table_lookup(s->by_address, GUINT_TO_POINTER(pxed_lease_get_address(lease)));
	if (old != NULL) {
		pxed_lease_unref(copy);
		return;
	}
	g_hash_table_replace(s->by_id, g_strdup(pxed_lease_get_client_id(copy)), copy);
	g_hash_table_replace(s->by_address, GUINT_TO_POINTER(pxed_lease_get_address(copy)), copy);
}

static void
fuzz_lease_put(gpointer core, gpointer store, PxedLease *lease, GTask *task)
{
	store_put(store, lease);
	g_task_return_boolean(task, TRUE);
}

static void
fuzz_lease_release(gpointer core, gpointer store, const char *client_id)
{
	FuzzStore *s = store;
	PxedLease *lease = g_hash_table_lookup(s->by_id, client_id);

	if (lease != NULL) {
		g_hash_table_remove(s->by_address, GUINT_TO_POINTER(pxed_lease_get_address(lease)));
		g_hash_table_remove(s->by_id, client_id);
	}
}

/* The server rebuilds its free-address bits from every lease (at start,
 * every 30 s, and while a pool is full). */
static void
fuzz_lease_foreach(gpointer core, gpointer store, PxedLeaseFunc func, gpointer user_data)
{
	FuzzStore *s = store;
	GHashTableIter iter;
	gpointer lease;

	g_hash_table_iter_init(&iter, s->by_id);
	while (g_hash_table_iter_next(&iter, NULL, &lease))
		func(lease, user_data);
}

static const PxedContextVTable fuzz_vtable = {
	.get_main_context = fuzz_main_context,
	.boot = fuzz_boot,
	.event = fuzz_event,
	.match = fuzz_match,
	.is_reserved = fuzz_is_reserved,
	.lease_get = fuzz_lease_get,
	.lease_get_by_address = fuzz_lease_get_by_address,
	.lease_put = fuzz_lease_put,
	.lease_release = fuzz_lease_release,
	.lease_foreach = fuzz_lease_foreach,
};

static PxedDhcpPool *
make_pool(const char *name, const char *subnet, const char *const *ranges, const char *router)
{
	PxedDhcpPool *p = g_new0(PxedDhcpPool, 1);
	guint32 r = inet_addr(router);

	p->name = g_strdup(name);
	p->ranges = g_array_new(FALSE, FALSE, sizeof(PxedDhcpRange));
	p->routers = g_array_new(FALSE, FALSE, sizeof(guint32));
	p->dns = g_array_new(FALSE, FALSE, sizeof(guint32));
	g_assert_true(dhcp_parse_subnet(subnet, &p->network, &p->mask, NULL));
	p->has_subnet = TRUE;
	g_assert_true(dhcp_parse_ranges(ranges, p->ranges, NULL));
	g_array_append_val(p->routers, r);
	g_array_append_val(p->dns, r);
	g_assert_true(dhcp_pool_finish(p, p->network, p->mask, NULL));
	return p;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	pxed_fuzz_init();
	return 0;
}

/* A reply must be a message our own parser reads back. */
static void
check_reply(const PxedDhcpMessage *reply, gsize max_size)
{
	g_autoptr(GBytes) bytes = pxed_dhcp_message_build(reply, max_size);
	g_autoptr(PxedDhcpMessage) again = NULL;
	g_autoptr(GError) error = NULL;
	gsize len;
	const guint8 *data = g_bytes_get_data(bytes, &len);

	g_assert_cmpuint(len, <=, MAX(max_size, PXED_DHCP_MIN_MAX_SIZE));
	again = pxed_dhcp_message_parse(data, len, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(again->xid, ==, reply->xid);
	g_assert_cmpuint(pxed_dhcp_message_get_type(again), ==, pxed_dhcp_message_get_type(reply));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const local_ranges[] = {"10.250.0.100", "10.250.0.102",
						   "10.250.0.150-10.250.0.151", NULL};
	static const char *const lab_ranges[] = {"10.250.7.50-10.250.7.60", NULL};
	FuzzStore store = {
		.by_id = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
					       (GDestroyNotify)pxed_lease_unref),
		.by_address = g_hash_table_new(g_direct_hash, g_direct_equal),
		.now = 1700000000,
	};
	g_autoptr(PxedContext) ctx = pxed_context_new(&fuzz_vtable, &store);
	g_autoptr(PxedInstance) instance = pxed_instance_new("dhcp", ctx, 1, NULL, NULL, NULL);
	g_autoptr(PxedDhcpServer) server = dhcp_server_new(instance);
	gsize off = 0;

	server->store = (PxedLeaseStore *)&store;
	server->server_id = inet_addr("10.250.0.1");
	server->lease_time = 600;
	g_ptr_array_add(server->pools, make_pool("", "10.250.0.0/24", local_ranges, "10.250.0.1"));
	g_ptr_array_add(server->pools, make_pool("lab", "10.250.7.0/24", lab_ranges, "10.250.7.1"));

	for (guint i = 0; i < 4 && off + 2 <= size; i++) {
		gsize len = (gsize)data[off] << 8 | data[off + 1];
		g_autofree guint8 *packet = NULL;
		g_autoptr(PxedDhcpMessage) msg = NULL;
		g_autoptr(PxedDhcpOutcome) outcome = NULL;
		g_autoptr(GError) error = NULL;

		off += 2;
		len = MIN(len, size - off);
		/* exactly @len bytes on the heap: ASan sees any read past the datagram */
		packet = g_memdup2(data + off, len);
		off += len;
		msg = pxed_dhcp_message_parse(packet, len, &error);
		if (msg == NULL) {
			g_assert_nonnull(error);
			continue;
		}
		/* what the codec offers the plugins, on anything that parsed */
		g_free(pxed_dhcp_message_get_client_id(msg));
		pxed_client_unref(pxed_dhcp_message_get_client(msg));
		g_free(pxed_dhcp_message_get_option_string(msg, PXED_DHCP_OPTION_HOSTNAME));

		outcome = dhcp_server_handle(server, msg, store.now);
		g_assert_nonnull(outcome);
		if (outcome->release != NULL)
			fuzz_lease_release(NULL, &store, outcome->release);
		if (outcome->decline != NULL)
			store_put(&store, outcome->decline);
		if (outcome->commit != NULL)
			store_put(&store, outcome->commit);
		if (outcome->reply != NULL)
			check_reply(outcome->reply, outcome->max_size);
		store.now += 7;
		dhcp_server_expire_offers(server, store.now);
	}
	g_clear_pointer(&server, dhcp_server_free);
	g_hash_table_unref(store.by_address);
	g_hash_table_unref(store.by_id);
	return 0;
}
