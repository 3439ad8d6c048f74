/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The DHCP server's decisions, called directly with crafted requests: no
 * sockets. The PxedInstance is over a fake core: leases go to the core's real file
 * store in a temporary folder, the boot pipeline and the inventory are
 * scripted by the fixture.
 */
#include "dhcp-server.h"
#include "pxed-test-context.h"
#include "pxed-test.h"

typedef struct {
	PxedTestContext *tc;
	PxedStore *store; /* the test context's */
	PxedDhcpServer *server;
	/* what the scripted boot pipeline answers: NULL declines */
	const char *boot_file;
	guint boot_calls;
	/* the scripted inventory: a MAC with a reservation */
	const char *reserved_mac;
	const char *reserved_ip;
	gint64 now; /* wall-clock seconds, as the store sees them */
} Fixture;

static PxedBootReply *
fake_boot(gpointer user_data, PxedClient *client, GError **error)
{
	Fixture *f = user_data;
	PxedBootReply *reply;

	f->boot_calls++;
	if (f->boot_file == NULL) {
		g_set_error_literal(error, PXED_ERROR, PXED_ERROR_NOT_FOUND,
				    "every backend declined");
		return NULL;
	}
	reply = pxed_boot_reply_new();
	pxed_boot_reply_set_filename(reply, f->boot_file);
	return reply;
}

static PxedMachine *
fake_match(gpointer user_data, PxedClient *client)
{
	Fixture *f = user_data;
	PxedMachine *machine;

	if (f->reserved_mac == NULL ||
	    g_strcmp0(pxed_client_get_mac_string(client), f->reserved_mac) != 0)
		return NULL;
	machine = pxed_machine_new("workers", "coreos");
	pxed_machine_set_metadata(machine, "ip", f->reserved_ip);
	pxed_machine_set_metadata(machine, "hostname", "worker-1");
	return machine;
}

static gboolean
fake_is_reserved(gpointer user_data, guint32 address)
{
	Fixture *f = user_data;
	return f->reserved_ip != NULL && address == pxed_test_ip(f->reserved_ip);
}

static gint64
fake_now(gpointer user_data)
{
	return ((Fixture *)user_data)->now;
}

static const PxedTestContextCallbacks fake_callbacks = {
	.boot = fake_boot,
	.match = fake_match,
	.is_reserved = fake_is_reserved,
	.now = fake_now,
};

static PxedDhcpPool *
pool(const char *name, const char *subnet, const char *range, const char *router)
{
	PxedDhcpPool *p = g_new0(PxedDhcpPool, 1);
	g_auto(GStrv) ranges = g_strsplit(range, ";", -1);
	g_autoptr(GError) error = NULL;

	p->name = g_strdup(name);
	p->ranges = g_array_new(FALSE, FALSE, sizeof(PxedDhcpRange));
	p->routers = g_array_new(FALSE, FALSE, sizeof(guint32));
	p->dns = g_array_new(FALSE, FALSE, sizeof(guint32));
	g_assert_true(dhcp_parse_subnet(subnet, &p->network, &p->mask, &error));
	p->has_subnet = TRUE;
	g_assert_true(dhcp_parse_ranges((const char *const *)ranges, p->ranges, &error));
	if (router != NULL) {
		guint32 r = pxed_test_ip(router);
		g_array_append_val(p->routers, r);
		g_array_append_val(p->dns, r);
	}
	g_assert_true(dhcp_pool_finish(p, p->network, p->mask, &error));
	g_assert_no_error(error);
	return p;
}

static void
setup(Fixture *f, gconstpointer data)
{
	f->now = g_get_real_time() / G_USEC_PER_SEC;
	f->tc = pxed_test_context_new(&fake_callbacks, f);
	f->store = pxed_test_context_get_store(f->tc);
	f->server = dhcp_server_new(pxed_test_context_instance(f->tc, "dhcp"));
	f->server->store = pxed_test_context_get_lease_store(f->tc);
	f->server->server_id = pxed_test_ip("10.250.0.1");
	f->server->lease_time = 600;
	g_ptr_array_add(f->server->pools,
			pool("", "10.250.0.0/24", "10.250.0.100;10.250.0.102", "10.250.0.1"));
	g_ptr_array_add(f->server->pools,
			pool("lab", "10.250.7.0/24", "10.250.7.50-10.250.7.60", "10.250.7.1"));
	PxedDhcpPool *local = g_ptr_array_index(f->server->pools, 0);
	local->domain = g_strdup("test.example");
}

static void
teardown(Fixture *f, gconstpointer data)
{
	dhcp_server_free(f->server);
	pxed_test_context_free(f->tc);
}

static PxedDhcpMessage *
request(guint8 type, guint8 last_mac_byte)
{
	PxedDhcpMessage *msg = pxed_dhcp_message_new(PXED_DHCP_OP_REQUEST);
	const guint8 mac[6] = {0x52, 0x54, 0x00, 0x00, 0x00, last_mac_byte};

	msg->xid = 0x1000 + last_mac_byte;
	memcpy(msg->chaddr, mac, 6);
	pxed_dhcp_message_set_option_u8(msg, PXED_DHCP_OPTION_MESSAGE_TYPE, type);
	return msg;
}

static void
committed(GObject *source, GAsyncResult *result, gpointer user_data)
{
	gboolean *done = user_data;
	g_autoptr(GError) error = NULL;
	g_assert_true(g_task_propagate_boolean(G_TASK(result), &error));
	*done = TRUE;
}

/* What the plugin does with an outcome's lease: store it, wait until durable. */
static void
apply(Fixture *f, PxedDhcpOutcome *out)
{
	if (out->release != NULL)
		pxed_store_release(f->store, out->release, f->now);
	if (out->commit != NULL || out->decline != NULL) {
		gboolean done = FALSE;
		pxed_store_put(f->store, out->commit != NULL ? out->commit : out->decline,
			       g_task_new(NULL, NULL, committed, &done));
		while (!done)
			g_main_context_iteration(NULL, TRUE);
	}
}

static PxedDhcpOutcome *
handle(Fixture *f, const PxedDhcpMessage *msg)
{
	PxedDhcpOutcome *out = dhcp_server_handle(f->server, msg, f->now);
	/* every reply must survive its own encoding */
	if (out->reply != NULL) {
		g_autoptr(GBytes) bytes = pxed_dhcp_message_build(out->reply, out->max_size);
		g_autoptr(GError) error = NULL;
		g_autoptr(PxedDhcpMessage) back = pxed_dhcp_message_parse(
			g_bytes_get_data(bytes, NULL), g_bytes_get_size(bytes), &error);
		g_assert_no_error(error);
		g_assert_cmpuint(back->xid, ==, msg->xid);
	}
	apply(f, out);
	return out;
}

static guint32
option_ipv4(const PxedDhcpMessage *msg, guint8 code)
{
	guint32 value = 0;
	g_assert_true(pxed_dhcp_message_get_option_ipv4(msg, code, &value));
	return value;
}

/* DISCOVER then REQUEST: the address acknowledged. */
static guint32
obtain(Fixture *f, guint8 mac)
{
	g_autoptr(PxedDhcpMessage) discover = request(PXED_DHCP_DISCOVER, mac);
	g_autoptr(PxedDhcpOutcome) offer = handle(f, discover);
	g_autoptr(PxedDhcpMessage) req = request(PXED_DHCP_REQUEST, mac);
	g_autoptr(PxedDhcpOutcome) ack = NULL;

	g_assert_nonnull(offer->reply);
	pxed_dhcp_message_set_option_ipv4(req, PXED_DHCP_OPTION_SERVER_ID, f->server->server_id);
	pxed_dhcp_message_set_option_ipv4(req, PXED_DHCP_OPTION_REQUESTED_ADDRESS,
					  offer->reply->yiaddr);
	ack = handle(f, req);
	g_assert_nonnull(ack->reply);
	g_assert_cmpuint(pxed_dhcp_message_get_type(ack->reply), ==, PXED_DHCP_ACK);
	g_assert_nonnull(ack->commit);
	return ack->reply->yiaddr;
}

static void
test_discover_offer(Fixture *f, gconstpointer data)
{
	g_autoptr(PxedDhcpMessage) msg = request(PXED_DHCP_DISCOVER, 1);
	g_autoptr(PxedDhcpOutcome) out = handle(f, msg);
	const PxedDhcpMessage *offer = out->reply;
	g_autofree char *domain = NULL;
	gsize len = 0;
	const guint8 *lease_time;

	g_assert_nonnull(offer);
	g_assert_cmpuint(pxed_dhcp_message_get_type(offer), ==, PXED_DHCP_OFFER);
	g_assert_cmpuint(offer->op, ==, PXED_DHCP_OP_REPLY);
	g_assert_cmpuint(offer->yiaddr, ==, pxed_test_ip("10.250.0.100"));
	g_assert_cmpuint(offer->xid, ==, msg->xid);
	g_assert_cmpuint(option_ipv4(offer, PXED_DHCP_OPTION_SERVER_ID), ==,
			 pxed_test_ip("10.250.0.1"));
	g_assert_cmpuint(option_ipv4(offer, PXED_DHCP_OPTION_SUBNET_MASK), ==,
			 pxed_test_ip("255.255.255.0"));
	g_assert_cmpuint(option_ipv4(offer, PXED_DHCP_OPTION_ROUTER), ==,
			 pxed_test_ip("10.250.0.1"));
	g_assert_cmpuint(option_ipv4(offer, PXED_DHCP_OPTION_DNS), ==, pxed_test_ip("10.250.0.1"));
	domain = pxed_dhcp_message_get_option_string(offer, PXED_DHCP_OPTION_DOMAIN);
	g_assert_cmpstr(domain, ==, "test.example");
	lease_time = pxed_dhcp_message_get_option(offer, PXED_DHCP_OPTION_LEASE_TIME, &len);
	g_assert_cmpuint(len, ==, 4);
	g_assert_cmpuint(lease_time[2] << 8 | lease_time[3], ==, 600);
	/* an OFFER is not a lease */
	g_assert_null(out->commit);
	g_assert_null(pxed_store_get(f->store, "01:52:54:00:00:00:01"));
	/* the client's identity went to the boot pipeline */
	g_assert_cmpuint(f->boot_calls, ==, 1);
	g_assert_cmpstr(pxed_client_get_mac_string(out->client), ==, "52:54:00:00:00:01");
}

static void
test_offer_held(Fixture *f, gconstpointer data)
{
	g_autoptr(PxedDhcpMessage) a = request(PXED_DHCP_DISCOVER, 1);
	g_autoptr(PxedDhcpMessage) b = request(PXED_DHCP_DISCOVER, 2);
	g_autoptr(PxedDhcpOutcome) out_a = handle(f, a);
	g_autoptr(PxedDhcpOutcome) out_b = handle(f, b);
	g_autoptr(PxedDhcpOutcome) again = handle(f, a);

	g_assert_cmpuint(out_a->reply->yiaddr, !=, out_b->reply->yiaddr);
	/* a retransmitted DISCOVER gets the same offer */
	g_assert_cmpuint(again->reply->yiaddr, ==, out_a->reply->yiaddr);
}

static void
test_request_ack_commit(Fixture *f, gconstpointer data)
{
	guint32 address = obtain(f, 1);
	g_autoptr(PxedLease) lease = pxed_store_get(f->store, "01:52:54:00:00:00:01");
	g_autoptr(PxedDhcpMessage) discover = request(PXED_DHCP_DISCOVER, 1);
	g_autoptr(PxedDhcpOutcome) out = NULL;

	g_assert_nonnull(lease);
	g_assert_cmpuint(pxed_lease_get_address(lease), ==, address);
	g_assert_cmpint(pxed_lease_get_expires(lease), ==, f->now + 600);
	g_assert_cmpstr(pxed_lease_get_mac(lease), ==, "52:54:00:00:00:01");
	/* the bound client is offered its address again */
	out = handle(f, discover);
	g_assert_cmpuint(out->reply->yiaddr, ==, address);
}

static void
test_request_other_server(Fixture *f, gconstpointer data)
{
	g_autoptr(PxedDhcpMessage) discover = request(PXED_DHCP_DISCOVER, 1);
	g_autoptr(PxedDhcpOutcome) offer = handle(f, discover);
	g_autoptr(PxedDhcpMessage) req = request(PXED_DHCP_REQUEST, 1);
	g_autoptr(PxedDhcpOutcome) out = NULL;
	g_autoptr(PxedDhcpMessage) other = request(PXED_DHCP_DISCOVER, 2);
	g_autoptr(PxedDhcpOutcome) other_out = NULL;

	pxed_dhcp_message_set_option_ipv4(req, PXED_DHCP_OPTION_SERVER_ID,
					  pxed_test_ip("10.250.0.254"));
	pxed_dhcp_message_set_option_ipv4(req, PXED_DHCP_OPTION_REQUESTED_ADDRESS,
					  offer->reply->yiaddr);
	out = handle(f, req);
	g_assert_null(out->reply);
	g_assert_null(out->commit);
	/* the offer is dropped: the address is free for the next client asking */
	pxed_dhcp_message_set_option_ipv4(other, PXED_DHCP_OPTION_REQUESTED_ADDRESS,
					  offer->reply->yiaddr);
	other_out = handle(f, other);
	g_assert_cmpuint(other_out->reply->yiaddr, ==, offer->reply->yiaddr);
}

static void
test_request_taken(Fixture *f, gconstpointer data)
{
	guint32 address = obtain(f, 1);
	g_autoptr(PxedDhcpMessage) req = request(PXED_DHCP_REQUEST, 2);
	g_autoptr(PxedDhcpOutcome) out = NULL;

	pxed_dhcp_message_set_option_ipv4(req, PXED_DHCP_OPTION_SERVER_ID, f->server->server_id);
	pxed_dhcp_message_set_option_ipv4(req, PXED_DHCP_OPTION_REQUESTED_ADDRESS, address);
	out = handle(f, req);
	g_assert_nonnull(out->reply);
	g_assert_cmpuint(pxed_dhcp_message_get_type(out->reply), ==, PXED_DHCP_NAK);
	g_assert_cmpuint(out->reply->yiaddr, ==, 0);
	g_assert_null(pxed_dhcp_message_get_option(out->reply, PXED_DHCP_OPTION_LEASE_TIME, NULL));
	g_assert_null(out->commit);
}

static void
test_init_reboot(Fixture *f, gconstpointer data)
{
	guint32 address = obtain(f, 1);
	g_autoptr(PxedDhcpMessage) same = request(PXED_DHCP_REQUEST, 1);
	g_autoptr(PxedDhcpMessage) wrong = request(PXED_DHCP_REQUEST, 1);
	g_autoptr(PxedDhcpMessage) foreign = request(PXED_DHCP_REQUEST, 1);
	g_autoptr(PxedDhcpMessage) stranger = request(PXED_DHCP_REQUEST, 9);
	g_autoptr(PxedDhcpOutcome) o1 = NULL;
	g_autoptr(PxedDhcpOutcome) o2 = NULL;
	g_autoptr(PxedDhcpOutcome) o3 = NULL;
	g_autoptr(PxedDhcpOutcome) o4 = NULL;
	g_autoptr(PxedDhcpOutcome) o5 = NULL;

	/* RFC 2131 §4.3.2 INIT-REBOOT: no server id, option 50, ciaddr 0 */
	pxed_dhcp_message_set_option_ipv4(same, PXED_DHCP_OPTION_REQUESTED_ADDRESS, address);
	o1 = handle(f, same);
	g_assert_cmpuint(pxed_dhcp_message_get_type(o1->reply), ==, PXED_DHCP_ACK);
	g_assert_cmpuint(o1->reply->yiaddr, ==, address);
	g_assert_nonnull(o1->commit);

	pxed_dhcp_message_set_option_ipv4(wrong, PXED_DHCP_OPTION_REQUESTED_ADDRESS,
					  pxed_test_ip("10.250.0.102"));
	o2 = handle(f, wrong);
	g_assert_cmpuint(pxed_dhcp_message_get_type(o2->reply), ==, PXED_DHCP_NAK);

	pxed_dhcp_message_set_option_ipv4(foreign, PXED_DHCP_OPTION_REQUESTED_ADDRESS,
					  pxed_test_ip("192.168.77.5"));
	o3 = handle(f, foreign);
	g_assert_cmpuint(pxed_dhcp_message_get_type(o3->reply), ==, PXED_DHCP_NAK);

	/* no record of this client: authoritative NAKs, otherwise silent */
	pxed_dhcp_message_set_option_ipv4(stranger, PXED_DHCP_OPTION_REQUESTED_ADDRESS,
					  pxed_test_ip("10.250.0.102"));
	o4 = handle(f, stranger);
	g_assert_cmpuint(pxed_dhcp_message_get_type(o4->reply), ==, PXED_DHCP_NAK);
	f->server->authoritative = FALSE;
	o5 = handle(f, stranger);
	g_assert_null(o5->reply);
}

static void
test_renewing(Fixture *f, gconstpointer data)
{
	guint32 address = obtain(f, 1);
	g_autoptr(PxedDhcpMessage) renew = request(PXED_DHCP_REQUEST, 1);
	g_autoptr(PxedDhcpMessage) bad = request(PXED_DHCP_REQUEST, 2);
	g_autoptr(PxedDhcpOutcome) out = NULL;
	g_autoptr(PxedDhcpOutcome) out_bad = NULL;

	renew->ciaddr = address;
	out = handle(f, renew);
	g_assert_cmpuint(pxed_dhcp_message_get_type(out->reply), ==, PXED_DHCP_ACK);
	g_assert_cmpuint(out->reply->ciaddr, ==, address);
	g_assert_cmpuint(out->reply->yiaddr, ==, address);
	/* someone else renewing our client's address */
	bad->ciaddr = address;
	out_bad = handle(f, bad);
	g_assert_cmpuint(pxed_dhcp_message_get_type(out_bad->reply), ==, PXED_DHCP_NAK);
}

static void
test_relay_pool(Fixture *f, gconstpointer data)
{
	g_autoptr(PxedDhcpMessage) msg = request(PXED_DHCP_DISCOVER, 1);
	g_autoptr(PxedDhcpMessage) unknown = request(PXED_DHCP_DISCOVER, 2);
	g_autoptr(PxedDhcpOutcome) out = NULL;
	g_autoptr(PxedDhcpOutcome) out_unknown = NULL;
	g_autoptr(PxedDhcpMessage) req = request(PXED_DHCP_REQUEST, 1);
	g_autoptr(PxedDhcpOutcome) ack = NULL;
	const guint8 agent[] = {1, 3, 'p', 'o', 'e'};
	const guint8 *echo;
	gsize len = 0;

	msg->giaddr = pxed_test_ip("10.250.7.1");
	msg->hops = 1;
	pxed_dhcp_message_set_option(msg, PXED_DHCP_OPTION_RELAY_AGENT, agent, sizeof(agent));
	out = handle(f, msg);
	g_assert_nonnull(out->reply);
	g_assert_cmpuint(out->reply->yiaddr, ==, pxed_test_ip("10.250.7.50"));
	g_assert_cmpuint(out->reply->giaddr, ==, pxed_test_ip("10.250.7.1"));
	g_assert_cmpuint(option_ipv4(out->reply, PXED_DHCP_OPTION_ROUTER), ==,
			 pxed_test_ip("10.250.7.1"));
	/* RFC 3046 §2.2: option 82 back to the relay */
	echo = pxed_dhcp_message_get_option(out->reply, PXED_DHCP_OPTION_RELAY_AGENT, &len);
	g_assert_cmpmem(echo, len, agent, sizeof(agent));

	req->giaddr = pxed_test_ip("10.250.7.1");
	pxed_dhcp_message_set_option_ipv4(req, PXED_DHCP_OPTION_SERVER_ID, f->server->server_id);
	pxed_dhcp_message_set_option_ipv4(req, PXED_DHCP_OPTION_REQUESTED_ADDRESS,
					  pxed_test_ip("10.250.7.50"));
	ack = handle(f, req);
	g_assert_cmpuint(pxed_dhcp_message_get_type(ack->reply), ==, PXED_DHCP_ACK);

	unknown->giaddr = pxed_test_ip("10.99.0.1");
	out_unknown = handle(f, unknown);
	g_assert_null(out_unknown->reply);
}

static void
test_pxe_boot(Fixture *f, gconstpointer data)
{
	g_autoptr(PxedDhcpMessage) msg = request(PXED_DHCP_DISCOVER, 1);
	g_autoptr(PxedDhcpOutcome) out = NULL;
	g_autoptr(PxedDhcpMessage) plain = request(PXED_DHCP_DISCOVER, 2);
	g_autoptr(PxedDhcpOutcome) plain_out = NULL;
	g_autofree char *vendor = NULL;
	const guint8 arch[] = {0, 7};
	const guint8 *opt;
	gsize len = 0;

	f->boot_file = "ipxe.efi";
	pxed_dhcp_message_set_option_string(msg, PXED_DHCP_OPTION_VENDOR_CLASS,
					    "PXEClient:Arch:00007:UNDI:003016");
	pxed_dhcp_message_set_option(msg, PXED_DHCP_OPTION_CLIENT_ARCH, arch, 2);
	out = handle(f, msg);
	g_assert_cmpstr(out->reply->file, ==, "ipxe.efi");
	g_assert_cmpuint(out->reply->siaddr, ==, f->server->server_id);
	vendor = pxed_dhcp_message_get_option_string(out->reply, PXED_DHCP_OPTION_VENDOR_CLASS);
	g_assert_cmpstr(vendor, ==, "PXEClient");
	opt = pxed_dhcp_message_get_option(out->reply, PXED_DHCP_OPTION_VENDOR_SPECIFIC, &len);
	g_assert_cmpmem(opt, len, "\x06\x01\x08\xff", 4);
	g_assert_cmpint(pxed_client_get_arch(out->client), ==, 7);

	/* a client that is no PXE firmware gets no PXE vendor options */
	plain_out = handle(f, plain);
	g_assert_null(pxed_dhcp_message_get_option(plain_out->reply, PXED_DHCP_OPTION_VENDOR_CLASS,
						   NULL));
	g_assert_null(pxed_dhcp_message_get_option(plain_out->reply,
						   PXED_DHCP_OPTION_VENDOR_SPECIFIC, NULL));

	/* every backend declining still gives an address, without a boot file */
	f->boot_file = NULL;
	g_clear_pointer(&out, dhcp_outcome_free);
	out = handle(f, msg);
	g_assert_nonnull(out->reply);
	g_assert_cmpstr(out->reply->file, ==, "");
}

static void
test_reservation(Fixture *f, gconstpointer data)
{
	g_autoptr(PxedDhcpMessage) msg = request(PXED_DHCP_DISCOVER, 5);
	g_autoptr(PxedDhcpOutcome) out = NULL;
	g_autofree char *hostname = NULL;
	g_autoptr(PxedDhcpMessage) req = request(PXED_DHCP_REQUEST, 5);
	g_autoptr(PxedDhcpOutcome) ack = NULL;
	g_autoptr(PxedLease) lease = NULL;

	f->reserved_mac = "52:54:00:00:00:05";
	f->reserved_ip = "10.250.0.42"; /* outside the range: reservations need not be in it */
	out = handle(f, msg);
	g_assert_cmpuint(out->reply->yiaddr, ==, pxed_test_ip("10.250.0.42"));
	hostname = pxed_dhcp_message_get_option_string(out->reply, PXED_DHCP_OPTION_HOSTNAME);
	g_assert_cmpstr(hostname, ==, "worker-1");
	/* INIT-REBOOT into its reservation is acknowledged without a lease record */
	pxed_dhcp_message_set_option_ipv4(req, PXED_DHCP_OPTION_REQUESTED_ADDRESS,
					  pxed_test_ip("10.250.0.42"));
	ack = handle(f, req);
	g_assert_cmpuint(pxed_dhcp_message_get_type(ack->reply), ==, PXED_DHCP_ACK);
	lease = pxed_store_get(f->store, "01:52:54:00:00:00:05");
	g_assert_cmpstr(pxed_lease_get_hostname(lease), ==, "worker-1");
}

/* An address the inventory reserves for one machine is never leased to
 * another, even inside the dynamic range. */
static void
test_reserved_in_range(Fixture *f, gconstpointer data)
{
	g_autoptr(PxedDhcpMessage) discover = request(PXED_DHCP_DISCOVER, 1);
	g_autoptr(PxedDhcpMessage) reboot = request(PXED_DHCP_REQUEST, 1);
	g_autoptr(PxedDhcpMessage) asking = request(PXED_DHCP_DISCOVER, 2);
	g_autoptr(PxedDhcpOutcome) offer = NULL;
	g_autoptr(PxedDhcpOutcome) nak = NULL;
	g_autoptr(PxedDhcpOutcome) asked = NULL;

	f->reserved_mac = "52:54:00:00:00:05";
	f->reserved_ip = "10.250.0.100"; /* the first address of the range */
	offer = handle(f, discover);
	g_assert_nonnull(offer->reply);
	g_assert_cmpuint(offer->reply->yiaddr, !=, pxed_test_ip("10.250.0.100"));
	/* INIT-REBOOT into another machine's reserved address */
	pxed_dhcp_message_set_option_ipv4(reboot, PXED_DHCP_OPTION_REQUESTED_ADDRESS,
					  pxed_test_ip("10.250.0.100"));
	nak = handle(f, reboot);
	g_assert_nonnull(nak->reply);
	g_assert_cmpuint(pxed_dhcp_message_get_type(nak->reply), ==, PXED_DHCP_NAK);
	/* DISCOVER asking for it (option 50) gets another one */
	pxed_dhcp_message_set_option_ipv4(asking, PXED_DHCP_OPTION_REQUESTED_ADDRESS,
					  pxed_test_ip("10.250.0.100"));
	asked = handle(f, asking);
	g_assert_nonnull(asked->reply);
	g_assert_cmpuint(asked->reply->yiaddr, !=, pxed_test_ip("10.250.0.100"));
	/* its own machine gets it */
	g_assert_cmpuint(obtain(f, 5), ==, pxed_test_ip("10.250.0.100"));
}

static void
test_exhausted(Fixture *f, gconstpointer data)
{
	g_autoptr(PxedDhcpMessage) fourth = request(PXED_DHCP_DISCOVER, 4);
	g_autoptr(PxedDhcpOutcome) out = NULL;

	/* the range holds 3 addresses */
	obtain(f, 1);
	obtain(f, 2);
	obtain(f, 3);
	out = handle(f, fourth);
	g_assert_null(out->reply);
	g_assert_cmpuint(f->server->stats.exhausted, ==, 1);
}

static void
test_release_and_reuse(Fixture *f, gconstpointer data)
{
	guint32 a1 = obtain(f, 1);
	g_autoptr(PxedDhcpMessage) rel = request(PXED_DHCP_RELEASE, 1);
	g_autoptr(PxedDhcpOutcome) out = NULL;
	g_autoptr(PxedLease) lease = NULL;

	obtain(f, 2);
	obtain(f, 3);
	rel->ciaddr = a1;
	pxed_dhcp_message_set_option_ipv4(rel, PXED_DHCP_OPTION_SERVER_ID, f->server->server_id);
	out = handle(f, rel);
	g_assert_null(out->reply);
	g_assert_cmpstr(out->release, ==, "01:52:54:00:00:00:01");
	lease = pxed_store_get(f->store, "01:52:54:00:00:00:01");
	g_assert_cmpint(pxed_lease_get_state(lease), ==, PXED_LEASE_RELEASED);
	/* the pool was full; the released address goes to a new client */
	g_assert_cmpuint(obtain(f, 4), ==, a1);
}

static void
test_decline(Fixture *f, gconstpointer data)
{
	guint32 a1 = obtain(f, 1);
	g_autoptr(PxedDhcpMessage) dec = request(PXED_DHCP_DECLINE, 1);
	g_autoptr(PxedDhcpOutcome) out = NULL;
	g_autoptr(PxedDhcpMessage) discover = request(PXED_DHCP_DISCOVER, 1);
	g_autoptr(PxedDhcpOutcome) again = NULL;

	pxed_dhcp_message_set_option_ipv4(dec, PXED_DHCP_OPTION_SERVER_ID, f->server->server_id);
	pxed_dhcp_message_set_option_ipv4(dec, PXED_DHCP_OPTION_REQUESTED_ADDRESS, a1);
	out = handle(f, dec);
	g_assert_null(out->reply);
	g_assert_nonnull(out->decline);
	/* the declined address is not offered again, not even to the same client */
	again = handle(f, discover);
	g_assert_nonnull(again->reply);
	g_assert_cmpuint(again->reply->yiaddr, !=, a1);
}

static void
test_inform(Fixture *f, gconstpointer data)
{
	g_autoptr(PxedDhcpMessage) msg = request(PXED_DHCP_INFORM, 1);
	g_autoptr(PxedDhcpOutcome) out = NULL;

	msg->ciaddr = pxed_test_ip("10.250.0.77");
	out = handle(f, msg);
	g_assert_cmpuint(pxed_dhcp_message_get_type(out->reply), ==, PXED_DHCP_ACK);
	g_assert_cmpuint(out->reply->yiaddr, ==, 0);
	g_assert_cmpuint(out->reply->ciaddr, ==, pxed_test_ip("10.250.0.77"));
	g_assert_null(pxed_dhcp_message_get_option(out->reply, PXED_DHCP_OPTION_LEASE_TIME, NULL));
	g_assert_null(out->commit);
}

static void
test_ignored(Fixture *f, gconstpointer data)
{
	g_autoptr(PxedDhcpMessage) unknown = request(42, 1);
	g_autoptr(PxedDhcpMessage) offer = request(PXED_DHCP_OFFER, 1);
	g_autoptr(PxedDhcpMessage) bootp = pxed_dhcp_message_new(PXED_DHCP_OP_REQUEST);
	g_autoptr(PxedDhcpMessage) reply = request(PXED_DHCP_DISCOVER, 1);
	g_autoptr(PxedDhcpMessage) nohw = request(PXED_DHCP_DISCOVER, 1);
	PxedDhcpMessage *cases[] = {unknown, offer, bootp, reply, nohw};

	reply->op = PXED_DHCP_OP_REPLY;
	nohw->hlen = 0;
	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(PxedDhcpOutcome) out = handle(f, cases[i]);
		g_assert_null(out->reply);
		g_assert_null(out->commit);
		g_assert_nonnull(out->reason);
		g_test_message("ignored: %s", out->reason);
	}
}

/* Garbage through the whole path: parse, decide, encode. Never a crash, and a
 * reply only ever to something that parsed. */
static void
test_hostile_requests(Fixture *f, gconstpointer data)
{
	g_autoptr(PxedDhcpMessage) base = request(PXED_DHCP_DISCOVER, 1);
	g_autoptr(GBytes) bytes = NULL;
	GRand *rand = g_rand_new_with_seed(77);
	const guint8 *orig;
	gsize len = 0;

	pxed_dhcp_message_set_option_string(base, PXED_DHCP_OPTION_VENDOR_CLASS, "PXEClient");
	pxed_dhcp_message_set_option_ipv4(base, PXED_DHCP_OPTION_REQUESTED_ADDRESS,
					  pxed_test_ip("10.250.0.101"));
	bytes = pxed_dhcp_message_build(base, 1500);
	orig = g_bytes_get_data(bytes, &len);
	f->boot_file = "pxelinux.0";
	for (guint round = 0; round < 20000; round++) {
		g_autofree guint8 *copy = g_memdup2(orig, len);
		g_autoptr(PxedDhcpMessage) msg = NULL;
		g_autoptr(PxedDhcpOutcome) out = NULL;

		for (guint k = 0; k < 4; k++)
			copy[g_rand_int_range(rand, 0, (gint)len)] = (guint8)g_rand_int(rand);
		msg = pxed_dhcp_message_parse(copy, len, NULL);
		if (msg == NULL)
			continue;
		out = dhcp_server_handle(f->server, msg, f->now);
		if (out->reply != NULL) {
			g_autoptr(GBytes) b = pxed_dhcp_message_build(out->reply, out->max_size);
			g_assert_cmpuint(g_bytes_get_size(b), <=, MAX(out->max_size, 548));
		}
	}
	g_rand_free(rand);
}

/* A client numbered @n (up to 2^24): its hardware address 52:54:00 + @n. */
static PxedDhcpMessage *
request_n(guint8 type, guint32 n)
{
	PxedDhcpMessage *msg = request(type, 0);

	msg->xid = n;
	msg->chaddr[3] = (guint8)(n >> 16);
	msg->chaddr[4] = (guint8)(n >> 8);
	msg->chaddr[5] = (guint8)n;
	return msg;
}

/* The DISCOVERs of clients @first..@first+@count-1 at f->now: how many were
 * answered. */
static guint
discover_many(Fixture *f, guint32 first, guint count)
{
	guint answered = 0;

	for (guint32 n = first; n < first + count; n++) {
		g_autoptr(PxedDhcpMessage) msg = request_n(PXED_DHCP_DISCOVER, n);
		g_autoptr(PxedDhcpOutcome) out = dhcp_server_handle(f->server, msg, f->now);
		if (out->reply != NULL)
			answered++;
	}
	return answered;
}

/* The interface's pool replaced by one of @size addresses, from 10.251.0.10. */
static void
large_pool(Fixture *f, guint size)
{
	g_autofree char *range = NULL;
	guint32 last = g_ntohl(pxed_test_ip("10.251.0.10")) + size - 1;

	range = g_strdup_printf("10.251.0.10-%u.%u.%u.%u", last >> 24, (last >> 16) & 255,
				(last >> 8) & 255, last & 255);
	g_ptr_array_set_size(f->server->pools, 0);
	g_ptr_array_add(f->server->pools, pool("", "10.251.0.0/16", range, NULL));
}

/* RFC 2131 §4.3.2: a REQUEST in SELECTING state with no DISCOVER before it, for
 * an address this server never offered the client (outside the range: a
 * static host's; inside it: nobody's yet), is NAKed and no lease is written. */
static void
test_selecting_not_offered(Fixture *f, gconstpointer data)
{
	const char *addresses[] = {"10.250.0.5", "10.250.0.101"};

	for (guint i = 0; i < G_N_ELEMENTS(addresses); i++) {
		g_autoptr(PxedDhcpMessage) req = request(PXED_DHCP_REQUEST, 7);
		g_autoptr(PxedDhcpOutcome) out = NULL;
		g_autoptr(PxedLease) lease = NULL;

		pxed_dhcp_message_set_option_ipv4(req, PXED_DHCP_OPTION_SERVER_ID,
						  f->server->server_id);
		pxed_dhcp_message_set_option_ipv4(req, PXED_DHCP_OPTION_REQUESTED_ADDRESS,
						  pxed_test_ip(addresses[i]));
		out = handle(f, req);
		g_assert_nonnull(out->reply);
		g_assert_cmpuint(pxed_dhcp_message_get_type(out->reply), ==, PXED_DHCP_NAK);
		g_assert_null(out->commit);
		lease = pxed_store_get(f->store, "01:52:54:00:00:00:07");
		g_assert_null(lease);
		g_assert_null(pxed_store_get_by_address(f->store, pxed_test_ip(addresses[i])));
	}
	g_assert_cmpuint(f->server->stats.unknown_address, ==, 2);
	g_assert_cmpuint(f->server->stats.acks, ==, 0);
	/* the ordinary exchange still works */
	g_assert_cmpuint(obtain(f, 7), ==, pxed_test_ip("10.250.0.100"));
}

/* A REQUEST naming another server's identifier drops this client's offer,
 * whatever address it names (or none): the address is free again. */
static void
test_other_server_drops_offer(Fixture *f, gconstpointer data)
{
	g_autoptr(PxedDhcpMessage) discover = request(PXED_DHCP_DISCOVER, 1);
	g_autoptr(PxedDhcpOutcome) offer = handle(f, discover);
	g_autoptr(PxedDhcpMessage) req = request(PXED_DHCP_REQUEST, 1);
	g_autoptr(PxedDhcpOutcome) out = NULL;
	g_autoptr(PxedDhcpMessage) other = request(PXED_DHCP_DISCOVER, 2);
	g_autoptr(PxedDhcpOutcome) other_out = NULL;

	g_assert_nonnull(offer->reply);
	/* the other server's offer was another address */
	pxed_dhcp_message_set_option_ipv4(req, PXED_DHCP_OPTION_SERVER_ID,
					  pxed_test_ip("10.250.0.254"));
	pxed_dhcp_message_set_option_ipv4(req, PXED_DHCP_OPTION_REQUESTED_ADDRESS,
					  pxed_test_ip("10.250.0.200"));
	out = handle(f, req);
	g_assert_null(out->reply);
	g_assert_null(out->commit);
	g_assert_false(g_hash_table_contains(f->server->offered, "01:52:54:00:00:00:01"));
	pxed_dhcp_message_set_option_ipv4(other, PXED_DHCP_OPTION_REQUESTED_ADDRESS,
					  offer->reply->yiaddr);
	other_out = handle(f, other);
	g_assert_nonnull(other_out->reply);
	g_assert_cmpuint(other_out->reply->yiaddr, ==, offer->reply->yiaddr);
}

/* INIT-REBOOT for an address that is not this client's to have: a lease
 * record outside the range (the range shrank, or the record was forged), an
 * address of a relayed subnet asked for on the interface's own segment. */
static void
test_init_reboot_not_ours(Fixture *f, gconstpointer data)
{
	g_autoptr(PxedLease) planted =
		pxed_lease_new("01:52:54:00:00:00:07", pxed_test_ip("10.250.0.5"));
	g_autoptr(PxedLease) relayed =
		pxed_lease_new("01:52:54:00:00:00:08", pxed_test_ip("10.250.7.55"));
	g_autoptr(PxedDhcpMessage) reboot = request(PXED_DHCP_REQUEST, 7);
	g_autoptr(PxedDhcpMessage) wrong_segment = request(PXED_DHCP_REQUEST, 8);
	g_autoptr(PxedDhcpOutcome) out = NULL;
	g_autoptr(PxedDhcpOutcome) out_segment = NULL;
	gboolean done = FALSE;

	pxed_lease_set_expires(planted, f->now + 600);
	pxed_store_put(f->store, planted, g_task_new(NULL, NULL, committed, &done));
	while (!done)
		g_main_context_iteration(NULL, TRUE);
	done = FALSE;
	pxed_lease_set_expires(relayed, f->now + 600);
	pxed_store_put(f->store, relayed, g_task_new(NULL, NULL, committed, &done));
	while (!done)
		g_main_context_iteration(NULL, TRUE);

	pxed_dhcp_message_set_option_ipv4(reboot, PXED_DHCP_OPTION_REQUESTED_ADDRESS,
					  pxed_test_ip("10.250.0.5"));
	out = handle(f, reboot);
	g_assert_nonnull(out->reply);
	g_assert_cmpuint(pxed_dhcp_message_get_type(out->reply), ==, PXED_DHCP_NAK);
	g_assert_null(out->commit);

	/* no relay: the interface's subnet is the one that counts */
	pxed_dhcp_message_set_option_ipv4(wrong_segment, PXED_DHCP_OPTION_REQUESTED_ADDRESS,
					  pxed_test_ip("10.250.7.55"));
	out_segment = handle(f, wrong_segment);
	g_assert_nonnull(out_segment->reply);
	g_assert_cmpuint(pxed_dhcp_message_get_type(out_segment->reply), ==, PXED_DHCP_NAK);
	g_assert_null(out_segment->commit);
}

/* Option 82 too long for the reply: it goes out with 53, 54, 51 and 1 and
 * without 82, counted; the offer is the client's as usual. */
static void
test_relay_agent_too_big(Fixture *f, gconstpointer data)
{
	g_autoptr(PxedDhcpMessage) msg = request(PXED_DHCP_DISCOVER, 1);
	g_autofree guint8 *agent = g_malloc(400);
	g_autoptr(PxedDhcpOutcome) out = NULL;
	g_autoptr(GBytes) bytes = NULL;
	g_autoptr(PxedDhcpMessage) back = NULL;
	guint32 value = 0;

	memset(agent, 'a', 400);
	msg->giaddr = pxed_test_ip("10.250.7.1");
	pxed_dhcp_message_set_option(msg, PXED_DHCP_OPTION_RELAY_AGENT, agent, 400);
	out = handle(f, msg);
	g_assert_nonnull(out->reply);
	g_assert_null(pxed_dhcp_message_get_option(out->reply, PXED_DHCP_OPTION_RELAY_AGENT, NULL));
	g_assert_cmpuint(f->server->stats.relay_agent_dropped, ==, 1);
	bytes = pxed_dhcp_message_build(out->reply, out->max_size);
	back = pxed_dhcp_message_parse(g_bytes_get_data(bytes, NULL), g_bytes_get_size(bytes),
				       NULL);
	g_assert_nonnull(back);
	g_assert_cmpuint(pxed_dhcp_message_get_type(back), ==, PXED_DHCP_OFFER);
	g_assert_true(pxed_dhcp_message_get_option_ipv4(back, PXED_DHCP_OPTION_SERVER_ID, &value));
	g_assert_cmpuint(value, ==, f->server->server_id);
	g_assert_nonnull(pxed_dhcp_message_get_option(back, PXED_DHCP_OPTION_LEASE_TIME, NULL));
	g_assert_true(
		pxed_dhcp_message_get_option_ipv4(back, PXED_DHCP_OPTION_SUBNET_MASK, &value));
	g_assert_cmpuint(value, ==, pxed_test_ip("255.255.255.0"));
	g_assert_null(pxed_dhcp_message_get_option(back, PXED_DHCP_OPTION_RELAY_AGENT, NULL));
	g_assert_cmpuint(back->yiaddr, ==, pxed_test_ip("10.250.7.50"));
}

/* Allocation looks at each address once between rebuilds, and a full pool
 * at none: counted through stats.probes (addresses checked), not timed. */
static void
test_full_pool_no_scan(Fixture *f, gconstpointer data)
{
	const guint size = 8192;
	guint64 probes;
	guint64 exhausted;

	large_pool(f, size);
	f->server->limits.new_clients_per_second = 0;
	f->server->limits.discovers_per_mac_per_minute = 0;
	g_assert_cmpuint(discover_many(f, 1, size), ==, size);
	g_assert_cmpuint(g_hash_table_size(f->server->offers), ==, size);
	/* filling: about one look per address */
	g_assert_cmpuint(f->server->stats.probes, <=, size + 64);
	probes = f->server->stats.probes;
	exhausted = f->server->stats.exhausted;
	/* full: 1000 more new clients cost no look at all */
	g_assert_cmpuint(discover_many(f, size + 1, 1000), ==, 0);
	g_assert_cmpuint(f->server->stats.exhausted, ==, exhausted + 1000);
	g_assert_cmpuint(f->server->stats.probes, ==, probes);
	/* a client holding an offer still has it */
	g_assert_cmpuint(discover_many(f, 5, 1), ==, 1);
	/* the offers over, the pool is found free again at once */
	f->now += 31;
	g_assert_cmpuint(discover_many(f, 2 * size, 1), ==, 1);
	g_assert_cmpuint(f->server->stats.probes, <=, probes + 2);
}

/* new-clients-per-second: a DISCOVER flood from made-up hardware addresses
 * past the burst is dropped and counted, while a client with a lease renews
 * and gets its offer as before. */
static void
test_new_client_rate(Fixture *f, gconstpointer data)
{
	guint32 address;
	g_autoptr(PxedDhcpMessage) renew = request(PXED_DHCP_REQUEST, 1);
	g_autoptr(PxedDhcpMessage) discover = request(PXED_DHCP_DISCOVER, 1);
	g_autoptr(PxedDhcpOutcome) renewed = NULL;
	g_autoptr(PxedDhcpOutcome) offered = NULL;

	large_pool(f, 4096);
	f->server->limits.new_clients_per_second = 10;
	f->server->limits.new_clients_burst = 20;
	address = obtain(f, 1); /* one of the burst */
	g_assert_cmpuint(discover_many(f, 1000, 200), ==, 19);
	g_assert_cmpuint(f->server->stats.new_clients_limited, ==, 181);
	g_assert_cmpuint(g_hash_table_size(f->server->offers), ==, 19);
	/* the known client is not a new one */
	renew->ciaddr = address;
	renewed = handle(f, renew);
	g_assert_nonnull(renewed->reply);
	g_assert_cmpuint(pxed_dhcp_message_get_type(renewed->reply), ==, PXED_DHCP_ACK);
	offered = handle(f, discover);
	g_assert_nonnull(offered->reply);
	g_assert_cmpuint(offered->reply->yiaddr, ==, address);
	/* a second later, ten more */
	f->now += 1;
	g_assert_cmpuint(discover_many(f, 2000, 50), ==, 10);
	g_assert_cmpuint(f->server->stats.new_clients_limited, ==, 181 + 40);
}

/* discovers-per-mac-per-minute: one machine repeating DISCOVERs is answered
 * up to the burst, then at the rate; other machines are not held up. */
static void
test_mac_rate(Fixture *f, gconstpointer data)
{
	f->server->limits.discovers_per_mac_per_minute = 60;
	f->server->limits.discovers_per_mac_burst = 10;
	/* the first DISCOVER is a new client's, the next ten the burst */
	g_assert_cmpuint(discover_many(f, 1, 1), ==, 1);
	for (guint i = 0; i < 19; i++)
		discover_many(f, 1, 1);
	g_assert_cmpuint(f->server->stats.offers, ==, 11);
	g_assert_cmpuint(f->server->stats.mac_limited, ==, 9);
	g_assert_cmpuint(discover_many(f, 2, 1), ==, 1);
	/* one a second after that */
	f->now += 1;
	g_assert_cmpuint(discover_many(f, 1, 1), ==, 1);
	g_assert_cmpuint(discover_many(f, 1, 1), ==, 0);
	g_assert_cmpuint(f->server->stats.mac_limited, ==, 10);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
#define ADD(name, func) g_test_add(name, Fixture, NULL, setup, func, teardown)
	ADD("/dhcp/server/discover-offer", test_discover_offer);
	ADD("/dhcp/server/offer-held", test_offer_held);
	ADD("/dhcp/server/request-ack-commit", test_request_ack_commit);
	ADD("/dhcp/server/request-other-server", test_request_other_server);
	ADD("/dhcp/server/request-taken", test_request_taken);
	ADD("/dhcp/server/init-reboot", test_init_reboot);
	ADD("/dhcp/server/renewing", test_renewing);
	ADD("/dhcp/server/relay-pool", test_relay_pool);
	ADD("/dhcp/server/pxe-boot", test_pxe_boot);
	ADD("/dhcp/server/reservation", test_reservation);
	ADD("/dhcp/server/reserved-in-range", test_reserved_in_range);
	ADD("/dhcp/server/exhausted", test_exhausted);
	ADD("/dhcp/server/release-and-reuse", test_release_and_reuse);
	ADD("/dhcp/server/decline", test_decline);
	ADD("/dhcp/server/inform", test_inform);
	ADD("/dhcp/server/ignored", test_ignored);
	ADD("/dhcp/server/hostile-requests", test_hostile_requests);
	ADD("/dhcp/server/hostile/selecting-not-offered", test_selecting_not_offered);
	ADD("/dhcp/server/hostile/other-server-drops-offer", test_other_server_drops_offer);
	ADD("/dhcp/server/hostile/init-reboot-not-ours", test_init_reboot_not_ours);
	ADD("/dhcp/server/hostile/relay-agent-too-big", test_relay_agent_too_big);
	ADD("/dhcp/server/hostile/full-pool-no-scan", test_full_pool_no_scan);
	ADD("/dhcp/server/hostile/new-client-rate", test_new_client_rate);
	ADD("/dhcp/server/hostile/mac-rate", test_mac_rate);
#undef ADD
	return g_test_run();
}
