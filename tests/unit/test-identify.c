/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Who is at an address: what DHCP noted (pxed_instance_note_client), else a
 * bound lease; and the inventory's reserved addresses. Through the handle the
 * plugins use, on a real core.
 */
#include "pxed-core.h"
#include "pxed-sightings.h"
#include "pxed-test-core.h"

#include <pxed/pxed-instance-private.h>

static const char *const plugin_dirs[] = {TEST_PLUGIN_DIR, NULL};

typedef struct {
	char *dir;
	char *confd;
	PxedCore *core;
	PxedInstance *instance; /* the handle a plugin would have */
} Fixture;

static const char inventory_conf[] =
	"[core]\nstate-dir=@STATE@\n"
	"[profile:p]\nkernel=/k\nmetadata.ip=192.0.2.77\n"
	"[group:node1]\nprofile=p\nselector.mac=52:54:00:00:00:01\nmetadata.ip=192.0.2.10\n"
	"[group:node2]\nprofile=p\nselector.mac=52:54:00:00:00:02\n"
	"[group:node3]\nprofile=p\nselector.mac=52:54:00:00:00:03\nmetadata.ip=not-an-ip\n";

static void
setup(Fixture *f, gconstpointer data)
{
	g_autoptr(GPtrArray) problems = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GString) conf = g_string_new(inventory_conf);
	const char *dirs[2];

	if (data != NULL)
		g_string_append(conf, (const char *)data);

	f->dir = pxed_test_tmpdir_new();
	f->confd = g_build_filename(f->dir, "conf.d", NULL);
	g_string_replace(conf, "@STATE@", f->dir, 1);
	pxed_test_write_file(f->confd, "60-inventory.conf", conf->str);
	dirs[0] = f->confd;
	dirs[1] = NULL;
	f->core = pxed_core_new(NULL, dirs, plugin_dirs);
	if (!pxed_core_load(f->core, FALSE, problems)) {
		for (guint i = 0; i < problems->len; i++)
			g_printerr("%s\n", (const char *)g_ptr_array_index(problems, i));
		g_assert_not_reached();
	}
	f->instance = pxed_instance_new("test", pxed_core_get_context(f->core), 1,
					pxed_core_get_state_dir(f->core), NULL, NULL);
}

static void
teardown(Fixture *f, gconstpointer data)
{
	pxed_instance_unref(f->instance);
	pxed_core_free(f->core);
	pxed_test_tmpdir_free(f->dir);
	g_free(f->confd);
}

static PxedClient *
client(const char *text)
{
	g_autoptr(GError) error = NULL;
	PxedClient *c = pxed_client_new_from_string(text, &error);
	g_assert_no_error(error);
	return c;
}

/* What DHCP noted for an address fills in what a TFTP/HTTP client lacks. */
static void
test_noted(Fixture *f, gconstpointer data)
{
	g_autoptr(PxedClient) dhcp = client("mac=52:54:00:00:00:01,uuid=0a0b0c0d-0000-4000-8000-"
					    "000000000001,arch=7,user-class=iPXE,ip=192.0.2.10");
	g_autoptr(PxedClient) tftp = client("ip=192.0.2.10");
	g_autoptr(PxedClient) elsewhere = client("ip=192.0.2.11");
	g_autoptr(PxedClient) liar = client("mac=52:54:00:00:00:09,ip=192.0.2.10");
	g_autoptr(PxedClient) partial = client("mac=52:54:00:00:00:01,arch=0,ip=192.0.2.10");
	g_autoptr(PxedMachine) machine = NULL;

	g_assert_false(pxed_instance_identify_client(f->instance, tftp));
	pxed_instance_note_client(f->instance, dhcp, PXED_EVIDENCE_LEASE, 600);
	g_assert_true(pxed_instance_identify_client(f->instance, tftp));
	g_assert_cmpstr(pxed_client_get_mac_string(tftp), ==, "52:54:00:00:00:01");
	g_assert_cmpstr(pxed_client_get_uuid_string(tftp), ==,
			"0a0b0c0d-0000-4000-8000-000000000001");
	g_assert_cmpint(pxed_client_get_arch(tftp), ==, 7);
	g_assert_cmpstr(pxed_client_get_user_class(tftp), ==, "iPXE");
	machine = pxed_instance_match(f->instance, tftp);
	g_assert_nonnull(machine);
	g_assert_cmpstr(pxed_machine_get_group(machine), ==, "node1");

	/* another address knows nothing */
	g_assert_false(pxed_instance_identify_client(f->instance, elsewhere));
	g_assert_null(pxed_client_get_mac_string(elsewhere));
	/* a client saying it is another machine gets nothing of this one */
	g_assert_false(pxed_instance_identify_client(f->instance, liar));
	g_assert_null(pxed_client_get_uuid_string(liar));
	g_assert_cmpint(pxed_client_get_arch(liar), ==, PXED_ARCH_UNKNOWN);
	/* what a client says itself is kept; only the gaps are filled */
	g_assert_true(pxed_instance_identify_client(f->instance, partial));
	g_assert_cmpint(pxed_client_get_arch(partial), ==, 0);
	g_assert_nonnull(pxed_client_get_uuid_string(partial));
}

/* A noted identity ends with its lifetime; a newer one replaces it. */
static void
test_expiry_and_replace(Fixture *f, gconstpointer data)
{
	g_autoptr(PxedClient) first = client("mac=52:54:00:00:00:01,ip=192.0.2.20");
	g_autoptr(PxedClient) second = client("mac=52:54:00:00:00:02,ip=192.0.2.20");
	g_autoptr(PxedClient) gone = client("mac=52:54:00:00:00:03,ip=192.0.2.21");
	g_autoptr(PxedClient) asking = client("ip=192.0.2.20");
	g_autoptr(PxedClient) asking_gone = client("ip=192.0.2.21");

	pxed_instance_note_client(f->instance, first, PXED_EVIDENCE_LEASE, 600);
	pxed_instance_note_client(f->instance, second, PXED_EVIDENCE_LEASE, 600);
	pxed_instance_note_client(f->instance, gone, PXED_EVIDENCE_LEASE, 0); /* already over */
	g_assert_true(pxed_instance_identify_client(f->instance, asking));
	g_assert_cmpstr(pxed_client_get_mac_string(asking), ==, "52:54:00:00:00:02");
	g_assert_false(pxed_instance_identify_client(f->instance, asking_gone));
}

/* Nothing noted (pxed restarted): a bound lease still tells MAC and host name. */
static void
test_from_lease(Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	PxedLeaseStore *store = pxed_instance_lease_open(f->instance, "leases", &error);
	g_autoptr(PxedLease) bound = pxed_lease_new("01:52:54:00:00:00:02", 0);
	g_autoptr(PxedLease) over = pxed_lease_new("01:52:54:00:00:00:03", 0);
	g_autoptr(PxedClient) asking = client("ip=192.0.2.30");
	g_autoptr(PxedClient) asking_over = client("ip=192.0.2.31");
	gint64 now = g_get_real_time() / G_USEC_PER_SEC;
	guint32 a30 = g_htonl(0xc000021e), a31 = g_htonl(0xc000021f);

	g_assert_no_error(error);
	pxed_lease_set_address(bound, a30);
	pxed_lease_set_state(bound, PXED_LEASE_BOUND);
	pxed_lease_set_expires(bound, now + 600);
	pxed_lease_set_mac(bound, "52:54:00:00:00:02");
	pxed_lease_set_hostname(bound, "node-2");
	pxed_test_lease_put(f->instance, store, bound);
	pxed_lease_set_address(over, a31);
	pxed_lease_set_state(over, PXED_LEASE_BOUND);
	pxed_lease_set_expires(over, now - 1);
	pxed_lease_set_mac(over, "52:54:00:00:00:03");
	pxed_test_lease_put(f->instance, store, over);

	g_assert_true(pxed_instance_identify_client(f->instance, asking));
	g_assert_cmpstr(pxed_client_get_mac_string(asking), ==, "52:54:00:00:00:02");
	g_assert_cmpstr(pxed_client_get_hostname(asking), ==, "node-2");
	g_assert_false(pxed_instance_identify_client(f->instance, asking_over));
	g_assert_null(pxed_client_get_mac_string(asking_over));
	pxed_instance_lease_close(f->instance, store);
}

/* 192.0.2.@last, in network byte order (as leases hold addresses) */
static guint32
lease_ip(guint last)
{
	return g_htonl(0xc0000200u + last);
}

static void
put_bound(Fixture *f, PxedLeaseStore *store, const char *mac, guint last)
{
	g_autofree char *id = g_strdup_printf("01:%s", mac);
	g_autoptr(PxedLease) lease = pxed_lease_new(id, 0);

	pxed_lease_set_address(lease, lease_ip(last));
	pxed_lease_set_state(lease, PXED_LEASE_BOUND);
	pxed_lease_set_expires(lease, g_get_real_time() / G_USEC_PER_SEC + 600);
	pxed_lease_set_mac(lease, mac);
	pxed_test_lease_put(f->instance, store, lease);
}

static char *
identified_mac(Fixture *f, const char *ip)
{
	g_autofree char *text = g_strdup_printf("ip=%s", ip);
	g_autoptr(PxedClient) asking = client(text);

	if (!pxed_instance_identify_client(f->instance, asking))
		return NULL;
	return g_strdup(pxed_client_get_mac_string(asking));
}

/* What a packet says (ciaddr from its own source address) never replaces
 * what pxed's DHCP server knows: it leased the address to another MAC. */
static void
test_source_under_lease(Fixture *f, gconstpointer data)
{
	g_autoptr(PxedClient) victim = client("mac=52:54:00:00:00:01,arch=7,ip=192.0.2.40");
	g_autoptr(PxedClient) other = client("mac=52:54:00:00:00:02,arch=0,ip=192.0.2.40");
	g_autoptr(PxedClient) again = client("mac=52:54:00:00:00:01,arch=0,ip=192.0.2.40");
	g_autofree char *mac = NULL;

	g_assert_true(pxed_instance_note_client(f->instance, victim, PXED_EVIDENCE_LEASE, 600));
	g_assert_false(pxed_instance_note_client(f->instance, other, PXED_EVIDENCE_SOURCE, 3600));
	g_assert_false(pxed_instance_note_client(f->instance, other, PXED_EVIDENCE_CLAIM, 120));
	mac = identified_mac(f, "192.0.2.40");
	g_assert_cmpstr(mac, ==, "52:54:00:00:00:01");
	/* the same machine's weaker word does not undo its lease note either */
	g_assert_false(pxed_instance_note_client(f->instance, again, PXED_EVIDENCE_CLAIM, 120));
	{
		g_autoptr(PxedClient) asking = client("ip=192.0.2.40");
		g_assert_true(pxed_instance_identify_client(f->instance, asking));
		g_assert_cmpint(pxed_client_get_arch(asking), ==, 7);
	}
	/* pxed leasing the address to another machine is news: it replaces */
	g_assert_true(pxed_instance_note_client(f->instance, other, PXED_EVIDENCE_LEASE, 600));
	g_clear_pointer(&mac, g_free);
	mac = identified_mac(f, "192.0.2.40");
	g_assert_cmpstr(mac, ==, "52:54:00:00:00:02");
}

/* A broadcast claim (option 50) fills a gap and nothing more: it never
 * replaces a note of another MAC, and two machines claiming one address leave
 * it to nobody, so that claiming first cannot squat on it either. */
static void
test_claim_fills_gap_only(Fixture *f, gconstpointer data)
{
	g_autoptr(PxedClient) victim_src = client("mac=52:54:00:00:00:01,ip=192.0.2.41");
	g_autoptr(PxedClient) attacker = client("mac=52:54:00:00:00:02,ip=192.0.2.41");
	g_autoptr(PxedClient) squatter = client("mac=52:54:00:00:00:02,ip=192.0.2.42");
	g_autoptr(PxedClient) late = client("mac=52:54:00:00:00:01,ip=192.0.2.42");
	g_autoptr(PxedClient) late_src = client("mac=52:54:00:00:00:01,ip=192.0.2.42");
	g_autofree char *mac41 = NULL;
	g_autofree char *mac42 = NULL;
	g_autofree char *mac42_src = NULL;

	g_assert_true(
		pxed_instance_note_client(f->instance, victim_src, PXED_EVIDENCE_SOURCE, 3600));
	g_assert_false(pxed_instance_note_client(f->instance, attacker, PXED_EVIDENCE_CLAIM, 120));
	mac41 = identified_mac(f, "192.0.2.41");
	g_assert_cmpstr(mac41, ==, "52:54:00:00:00:01");

	/* an empty slot: the claim fills it ... */
	g_assert_true(pxed_instance_note_client(f->instance, squatter, PXED_EVIDENCE_CLAIM, 120));
	/* ... until another MAC claims it too: then nobody is known there */
	g_assert_false(pxed_instance_note_client(f->instance, late, PXED_EVIDENCE_CLAIM, 120));
	mac42 = identified_mac(f, "192.0.2.42");
	g_assert_null(mac42);
	g_assert_false(pxed_instance_note_client(f->instance, squatter, PXED_EVIDENCE_CLAIM, 120));
	g_assert_null(identified_mac(f, "192.0.2.42"));
	/* a packet from the address itself settles it */
	g_assert_true(pxed_instance_note_client(f->instance, late_src, PXED_EVIDENCE_SOURCE, 3600));
	mac42_src = identified_mac(f, "192.0.2.42");
	g_assert_cmpstr(mac42_src, ==, "52:54:00:00:00:01");
}

/* A bound lease outweighs any note of another MAC that is not pxed's own
 * lease note: a claim is not even taken, a packet's word is not believed. */
static void
test_lease_outweighs_notes(Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	PxedLeaseStore *store = pxed_instance_lease_open(f->instance, "leases", &error);
	g_autoptr(PxedClient) claim = client("mac=52:54:00:00:00:01,ip=192.0.2.43");
	g_autoptr(PxedClient) source = client("mac=52:54:00:00:00:01,arch=7,ip=192.0.2.43");
	g_autofree char *mac = NULL;
	g_autofree char *mac_after = NULL;

	g_assert_no_error(error);
	put_bound(f, store, "52:54:00:00:00:02", 43);
	g_assert_false(pxed_instance_note_client(f->instance, claim, PXED_EVIDENCE_CLAIM, 120));
	mac = identified_mac(f, "192.0.2.43");
	g_assert_cmpstr(mac, ==, "52:54:00:00:00:02");
	pxed_instance_note_client(f->instance, source, PXED_EVIDENCE_SOURCE, 3600);
	mac_after = identified_mac(f, "192.0.2.43");
	g_assert_cmpstr(mac_after, ==, "52:54:00:00:00:02");
	pxed_instance_lease_close(f->instance, store);
}

/* pxed_instance_check_lease(): the asking address must be the one leased to
 * the MAC (and the UUID, when pxed's DHCP exchange saw one, that one). */
static void
test_check_lease(Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(PxedClient) holder = client("mac=52:54:00:00:00:02,ip=192.0.2.44");
	g_autoptr(PxedClient) elsewhere = client("mac=52:54:00:00:00:02,ip=192.0.2.45");
	g_autoptr(PxedClient) other_mac = client("mac=52:54:00:00:00:01,ip=192.0.2.44");
	g_autoptr(PxedClient) no_mac = client("ip=192.0.2.44");
	g_autoptr(PxedClient) seen = client("mac=52:54:00:00:00:02,uuid=0a0b0c0d-0000-4000-8000-"
					    "000000000002,ip=192.0.2.44");
	g_autoptr(PxedClient) same_uuid = client("mac=52:54:00:00:00:02,uuid=0a0b0c0d-0000-4000-"
						 "8000-000000000002,ip=192.0.2.44");
	g_autoptr(PxedClient) other_uuid = client("mac=52:54:00:00:00:02,uuid=0a0b0c0d-0000-4000-"
						  "8000-000000000009,ip=192.0.2.44");
	PxedLeaseStore *store;

	/* pxed keeps no leases: nothing to check against */
	g_assert_cmpint(pxed_instance_check_lease(f->instance, holder), ==,
			PXED_LEASE_CHECK_NO_LEASES);
	store = pxed_instance_lease_open(f->instance, "leases", &error);
	g_assert_no_error(error);
	g_assert_cmpint(pxed_instance_check_lease(f->instance, holder), ==,
			PXED_LEASE_CHECK_NOT_BOUND);
	put_bound(f, store, "52:54:00:00:00:02", 44);
	g_assert_cmpint(pxed_instance_check_lease(f->instance, holder), ==, PXED_LEASE_CHECK_BOUND);
	g_assert_cmpint(pxed_instance_check_lease(f->instance, elsewhere), ==,
			PXED_LEASE_CHECK_NOT_BOUND);
	g_assert_cmpint(pxed_instance_check_lease(f->instance, other_mac), ==,
			PXED_LEASE_CHECK_NOT_BOUND);
	g_assert_cmpint(pxed_instance_check_lease(f->instance, no_mac), ==,
			PXED_LEASE_CHECK_NOT_BOUND);
	g_assert_true(pxed_instance_note_client(f->instance, seen, PXED_EVIDENCE_LEASE, 600));
	g_assert_cmpint(pxed_instance_check_lease(f->instance, same_uuid), ==,
			PXED_LEASE_CHECK_BOUND);
	g_assert_cmpint(pxed_instance_check_lease(f->instance, other_uuid), ==,
			PXED_LEASE_CHECK_NOT_BOUND);
	pxed_instance_lease_close(f->instance, store);
}

/* identity-by-address=false: nothing is noted, and an address tells nothing,
 * not even through a bound lease. */
static void
test_off(Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	PxedLeaseStore *store = pxed_instance_lease_open(f->instance, "leases", &error);
	g_autoptr(PxedClient) dhcp = client("mac=52:54:00:00:00:01,ip=192.0.2.46");
	g_autoptr(PxedClient) asking = client("ip=192.0.2.46");
	g_autoptr(PxedClient) asking_leased = client("ip=192.0.2.47");

	g_assert_no_error(error);
	put_bound(f, store, "52:54:00:00:00:02", 47);
	g_assert_false(pxed_instance_note_client(f->instance, dhcp, PXED_EVIDENCE_LEASE, 600));
	g_assert_false(pxed_instance_identify_client(f->instance, asking));
	g_assert_null(pxed_client_get_mac_string(asking));
	g_assert_false(pxed_instance_identify_client(f->instance, asking_leased));
	g_assert_null(pxed_client_get_mac_string(asking_leased));
	pxed_instance_lease_close(f->instance, store);
}

static guint32
v4(const char *text)
{
	g_autoptr(GInetAddress) a = g_inet_address_new_from_string(text);
	guint32 v;
	g_assert_nonnull(a);
	memcpy(&v, g_inet_address_to_bytes(a), 4);
	return v;
}

/* metadata.ip, the group's over its profile's, is reserved; nothing else. */
static void
test_reserved(Fixture *f, gconstpointer data)
{
	g_assert_true(pxed_instance_is_reserved(f->instance, v4("192.0.2.10"))); /* node1's own */
	g_assert_true(pxed_instance_is_reserved(f->instance, v4("192.0.2.77"))); /* node2, from p */
	g_assert_false(pxed_instance_is_reserved(f->instance, v4("192.0.2.11"))); /* nobody's */
	g_assert_false(pxed_instance_is_reserved(f->instance, 0)); /* node3's "not-an-ip" */
}

/* A flood of made-up clients stays within the bound; the newest are kept. */
static void
test_bounded(void)
{
	g_autoptr(PxedSightings) sightings = pxed_sightings_new(4);
	gint64 now = 1000000;

	for (guint i = 1; i <= 10; i++) {
		g_autofree char *text =
			g_strdup_printf("mac=52:54:00:00:01:%02x,ip=10.0.0.%u", i, i);
		g_autoptr(PxedClient) c = client(text);
		/* the later, the longer: the soonest to expire go first */
		pxed_sightings_note(sightings, c, PXED_EVIDENCE_LEASE, now, 1000 * i);
		g_assert_cmpuint(pxed_sightings_get_size(sightings), <=, 4);
	}
	for (guint i = 1; i <= 10; i++) {
		g_autofree char *text = g_strdup_printf("10.0.0.%u", i);
		g_autoptr(GInetAddress) address = g_inet_address_new_from_string(text);
		g_autoptr(PxedClient) found = pxed_sightings_lookup(sightings, address, now, NULL);
		if (i <= 6)
			g_assert_null(found);
		else
			g_assert_nonnull(found);
	}
}

/* 10.0.0.0 + @n */
static GInetAddress *
nth_address(guint32 n)
{
	guint32 ip = g_htonl(0x0a000000u + n);
	return g_inet_address_new_from_bytes((const guint8 *)&ip, G_SOCKET_FAMILY_IPV4);
}

/* A long flood on a larger table: evictions come in batches of an eighth, so
 * the newest seven eighths are always there and the bound always holds. */
static void
test_bounded_flood(void)
{
	g_autoptr(PxedSightings) sightings = pxed_sightings_new(1024);
	const guint total = 20000;
	gint64 now = 1000000;

	for (guint i = 0; i < total; i++) {
		g_autoptr(PxedClient) c = pxed_client_new();
		g_autoptr(GInetAddress) address = nth_address(i);
		pxed_client_set_address(c, address);
		pxed_sightings_note(sightings, c, PXED_EVIDENCE_LEASE, now, 1000 + i);
		g_assert_cmpuint(pxed_sightings_get_size(sightings), <=, 1024);
	}
	g_assert_cmpuint(pxed_sightings_get_size(sightings), >=, 1024 - 1024 / 8);
	for (guint i = total - (1024 - 1024 / 8); i < total; i++) {
		g_autoptr(GInetAddress) address = nth_address(i);
		g_autoptr(PxedClient) found = pxed_sightings_lookup(sightings, address, now, NULL);
		g_assert_nonnull(found);
	}
	/* the first ones are long gone */
	{
		g_autoptr(GInetAddress) address = nth_address(0);
		g_autoptr(PxedClient) found = pxed_sightings_lookup(sightings, address, now, NULL);
		g_assert_null(found);
	}
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add("/identify/noted", Fixture, NULL, setup, test_noted, teardown);
	g_test_add("/identify/expiry-and-replace", Fixture, NULL, setup, test_expiry_and_replace,
		   teardown);
	g_test_add("/identify/from-lease", Fixture, NULL, setup, test_from_lease, teardown);
	g_test_add("/identify/reserved", Fixture, NULL, setup, test_reserved, teardown);
	g_test_add("/identify/evidence/source-under-lease", Fixture, NULL, setup,
		   test_source_under_lease, teardown);
	g_test_add("/identify/evidence/claim-fills-gap-only", Fixture, NULL, setup,
		   test_claim_fills_gap_only, teardown);
	g_test_add("/identify/evidence/lease-outweighs-notes", Fixture, NULL, setup,
		   test_lease_outweighs_notes, teardown);
	g_test_add("/identify/check-lease", Fixture, NULL, setup, test_check_lease, teardown);
	g_test_add("/identify/off", Fixture, "[core]\nidentity-by-address=false\n", setup, test_off,
		   teardown);
	g_test_add_func("/identify/bounded", test_bounded);
	g_test_add_func("/identify/bounded-flood", test_bounded_flood);
	return g_test_run();
}
