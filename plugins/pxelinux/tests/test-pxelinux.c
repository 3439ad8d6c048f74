/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The PXELINUX backend, asked exactly as a real PXELINUX asks: UUID,
 * 01-MAC, the IPv4 address in upper-case hex from 8 digits down to 1,
 * default — taking the first file it gets.
 */
#include "pxed-test-core.h"

#define UUID_A "8a6c3b52-1a2b-4c5d-9e0f-00112233aaaa"
#define UUID_B "8a6c3b52-1a2b-4c5d-9e0f-00112233bbbb"

typedef struct {
	PxedTestCore *tc;
	const char *dir; /* the test core's */
	PxedCore *core;
} Fixture;

static void
setup(Fixture *f, gconstpointer data)
{
	g_autofree char *conf = NULL;

	f->tc = pxed_test_core_new();
	f->dir = pxed_test_core_get_dir(f->tc);
	/* hand-written: one machine by MAC, and a subnet by hex prefix */
	pxed_test_write_file(f->dir, "cfg/01-52-54-00-00-00-0c", "LABEL handwritten-c\n");
	pxed_test_write_file(f->dir, "cfg/C0A863", "LABEL subnet-192.168.99\n");
	pxed_test_write_file(f->dir, "pxelinux.tmpl",
			     "DEFAULT t\nLABEL t\n  KERNEL {{kernel}}\n  APPEND {{args | words}} "
			     "host={{metadata.hostname}}\n");
	conf = g_strdup_printf(
		"[pxelinux]\nconfig-dir=%s/cfg\n"
		"[pipeline]\ntftp=pxelinux\nboot=pxelinux\n"
		"[profile:fallback]\nkernel=/fallback/vmlinuz\nargs=fallback\n"
		"[profile:node]\nkernel=/node/vmlinuz\ninitrd=/node/initrd.img;/node/extra.img\n"
		"args=console=ttyS0 pxed.marker=node\n"
		"[profile:templated]\nkernel=/t/vmlinuz\nargs=a "
		"b\npxelinux-template=%s/pxelinux.tmpl\n"
		"[profile:bios]\nkernel=/bios/vmlinuz\n"
		"[group:default]\nprofile=fallback\n"
		"[group:bios]\nprofile=bios\nselector.arch=bios\n"
		"[group:by-mac]\nprofile=node\nselector.mac=52:54:00:00:00:0a\n"
		"[group:by-uuid]\nprofile=templated\nselector.uuid=" UUID_B "\n"
		"metadata.hostname=b.example\n",
		f->dir, f->dir);
	pxed_test_core_load(f->tc, conf);
	f->core = pxed_test_core_get_core(f->tc);
}

static void
teardown(Fixture *f, gconstpointer data)
{
	pxed_test_core_free(f->tc);
}

/* The names PXELINUX tries, in its order (syslinux doc/pxelinux.txt). */
static GPtrArray *
lookup_sequence(const char *uuid, const char *mac, const char *ip)
{
	GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GInetAddress) a = g_inet_address_new_from_string(ip);
	const guint8 *b = g_inet_address_to_bytes(a);
	g_autofree char *hex = g_strdup_printf("%02X%02X%02X%02X", b[0], b[1], b[2], b[3]);
	g_autofree char *dashed = g_strdelimit(g_strdup(mac), ":", '-');

	if (uuid != NULL)
		g_ptr_array_add(names, g_strdup(uuid));
	g_ptr_array_add(names, g_strdup_printf("01-%s", dashed));
	for (gsize n = 8; n >= 1; n--)
		g_ptr_array_add(names, g_strndup(hex, n));
	g_ptr_array_add(names, g_strdup("default"));
	return names;
}

/* Walks the sequence; returns "NAME\nCONTENT" of the first file served. */
static char *
boot_like_pxelinux(Fixture *f, const char *uuid, const char *mac, const char *ip,
		   GString *transcript)
{
	g_autoptr(GPtrArray) names = lookup_sequence(uuid, mac, ip);
	g_autoptr(PxedClient) client = pxed_client_new_from_string("", NULL);
	g_autoptr(GInetAddress) addr = g_inet_address_new_from_string(ip);

	/* TFTP knows the address, and what DHCP noted for it (as the TFTP plugin asks) */
	pxed_client_set_address(client, addr);
	pxed_instance_identify_client(pxed_test_core_instance(f->tc, "tftp"), client);
	for (guint i = 0; i < names->len; i++) {
		g_autofree char *path =
			g_strconcat("pxelinux.cfg/", (char *)g_ptr_array_index(names, i), NULL);
		g_autoptr(GError) error = NULL;
		g_autoptr(PxedFile) file =
			pxed_core_open_file(f->core, PXED_VIA_TFTP, client, path, NULL, &error);
		char buf[4096] = {0};
		if (file == NULL) {
			g_assert_error(error, PXED_ERROR, PXED_ERROR_NOT_FOUND);
			g_string_append_printf(transcript, "%s: not found\n",
					       (char *)g_ptr_array_index(names, i));
			continue;
		}
		g_string_append_printf(transcript, "%s: served\n",
				       (char *)g_ptr_array_index(names, i));
		g_assert_cmpint(pxed_file_read_at(file, 0, buf, sizeof(buf) - 1, NULL), >, 0);
		return g_strdup_printf("%s\n%s", (char *)g_ptr_array_index(names, i), buf);
	}
	return NULL;
}

/* DHCP saw a BIOS client (option 93 = 0) at the address: its TFTP lookups
 * match architecture groups, yet the MAC name is not answered for a group
 * that any BIOS machine there would get. */
static void
test_identified_by_dhcp(Fixture *f, gconstpointer data)
{
	g_autoptr(PxedClient) seen =
		pxed_client_new_from_string("mac=52:54:00:00:00:0f,arch=0,ip=10.7.7.7", NULL);
	g_autoptr(GString) transcript = g_string_new(NULL);
	g_autofree char *got = NULL;
	g_autofree char *before = NULL;
	g_autoptr(GString) ignored = g_string_new(NULL);

	before = boot_like_pxelinux(f, NULL, "52:54:00:00:00:0f", "10.7.7.7", ignored);
	g_assert_true(g_str_has_prefix(before, "default\n# pxed: group default,"));
	pxed_instance_note_client(pxed_test_core_instance(f->tc, "dhcp"), seen, PXED_EVIDENCE_LEASE,
				  600);
	got = boot_like_pxelinux(f, NULL, "52:54:00:00:00:0f", "10.7.7.7", transcript);
	g_test_message("%s", transcript->str);
	g_assert_true(g_str_has_prefix(transcript->str, "01-52-54-00-00-00-0f: not found\n"));
	g_assert_cmpstr(got, ==,
			"default\n# pxed: group bios, profile bios\nDEFAULT pxed\nPROMPT 0\n"
			"TIMEOUT 0\nLABEL pxed\n  KERNEL /bios/vmlinuz\n");
}

static void
test_sequence_names(Fixture *f, gconstpointer data)
{
	g_autoptr(GPtrArray) names = lookup_sequence(UUID_A, "88:99:aa:bb:cc:dd", "192.168.2.91");
	const char *expected[] = {UUID_A,     "01-88-99-aa-bb-cc-dd",
				  "C0A8025B", "C0A8025",
				  "C0A802",   "C0A80",
				  "C0A8",     "C0A",
				  "C0",	      "C",
				  "default"};
	/* the example of syslinux's documentation */
	g_assert_cmpuint(names->len, ==, G_N_ELEMENTS(expected));
	for (guint i = 0; i < names->len; i++)
		g_assert_cmpstr(g_ptr_array_index(names, i), ==, expected[i]);
}

static void
test_machines(Fixture *f, gconstpointer data)
{
	const struct {
		const char *uuid, *mac, *ip;
		const char *transcript; /* names tried, in order */
		const char *result;	/* first line: the name served; then its text starts with */
	} cases[] = {
		/* known by MAC: the UUID name is not its own, the MAC name is */
		{UUID_A, "52:54:00:00:00:0a", "10.1.2.3",
		 "" UUID_A ": not found\n01-52-54-00-00-00-0a: served\n",
		 "01-52-54-00-00-00-0a\n# pxed: group by-mac, profile node\nDEFAULT pxed\nPROMPT "
		 "0\n"
		 "TIMEOUT 0\nLABEL pxed\n  KERNEL /node/vmlinuz\n  APPEND "
		 "initrd=/node/initrd.img,/node/extra.img console=ttyS0 pxed.marker=node\n"},
		/* known by UUID: the first name, rendered from the profile's template */
		{UUID_B, "52:54:00:00:00:0b", "10.1.2.3", "" UUID_B ": served\n",
		 UUID_B "\nDEFAULT t\nLABEL t\n  KERNEL /t/vmlinuz\n  APPEND a b host=b.example\n"},
		/* a hand-written file wins over the inventory */
		{NULL, "52:54:00:00:00:0c", "10.1.2.3", "01-52-54-00-00-00-0c: served\n",
		 "01-52-54-00-00-00-0c\nLABEL handwritten-c\n"},
		/* unknown machine in 192.168.99.0/24: the hand-written subnet file by hex prefix */
		{UUID_A, "52:54:00:00:00:0d", "192.168.99.7",
		 UUID_A ": not found\n01-52-54-00-00-00-0d: not found\nC0A86307: not found\n"
			"C0A8630: not found\nC0A863: served\n",
		 "C0A863\nLABEL subnet-192.168.99\n"},
		/* unknown machine elsewhere: default, rendered from the default group */
		{NULL, "52:54:00:00:00:0e", "10.9.8.7",
		 "01-52-54-00-00-00-0e: not found\n0A090807: not found\n0A09080: not found\n"
		 "0A0908: not found\n0A090: not found\n0A09: not found\n0A0: not found\n"
		 "0A: not found\n0: not found\ndefault: served\n",
		 "default\n# pxed: group default, profile fallback\nDEFAULT pxed\nPROMPT 0\n"
		 "TIMEOUT 0\nLABEL pxed\n  KERNEL /fallback/vmlinuz\n  APPEND fallback\n"},
	};
	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(GString) transcript = g_string_new(NULL);
		g_autofree char *got =
			boot_like_pxelinux(f, cases[i].uuid, cases[i].mac, cases[i].ip, transcript);
		g_test_message("%s", transcript->str);
		g_assert_cmpstr(transcript->str, ==, cases[i].transcript);
		g_assert_cmpstr(got, ==, cases[i].result);
	}
}

static void
test_boot_decision(Fixture *f, gconstpointer data)
{
	const struct {
		const char *client;
		const char *filename;
	} cases[] = {
		{"arch=0", "pxelinux.0"}, {"", "pxelinux.0"},
		{"arch=7", NULL},	  {"arch=0,user-class=iPXE", "pxelinux.0"},
		{"arch=11", NULL},
	};
	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(PxedClient) c = pxed_client_new_from_string(cases[i].client, NULL);
		g_autoptr(GError) error = NULL;
		g_autoptr(PxedBootReply) r = pxed_core_boot(f->core, c, &error);
		if (cases[i].filename == NULL) {
			g_assert_error(error, PXED_ERROR, PXED_ERROR_NOT_FOUND);
			continue;
		}
		g_assert_cmpstr(pxed_boot_reply_get_filename(r), ==, cases[i].filename);
	}
}

static void
test_hand_written_is_safe(Fixture *f, gconstpointer data)
{
	g_autofree char *link = g_build_filename(f->dir, "cfg", "01-52-54-00-00-00-66", NULL);
	g_autoptr(GError) error = NULL;
	g_autoptr(PxedFile) file = NULL;

	/* a symlink in the config folder is refused, not followed */
	g_assert_cmpint(symlink("/etc/passwd", link), ==, 0);
	file = pxed_core_open_file(f->core, PXED_VIA_TFTP, NULL,
				   "pxelinux.cfg/01-52-54-00-00-00-66", NULL, &error);
	g_assert_null(file);
	g_assert_error(error, PXED_ERROR, PXED_ERROR_DENIED);
	g_clear_error(&error);
	/* and so is anything outside pxelinux.cfg/ */
	file = pxed_core_open_file(f->core, PXED_VIA_TFTP, NULL, "C0A863", NULL, &error);
	g_assert_error(error, PXED_ERROR, PXED_ERROR_NOT_FOUND);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add("/pxelinux/sequence-names", Fixture, NULL, setup, test_sequence_names, teardown);
	g_test_add("/pxelinux/machines", Fixture, NULL, setup, test_machines, teardown);
	g_test_add("/pxelinux/identified-by-dhcp", Fixture, NULL, setup, test_identified_by_dhcp,
		   teardown);
	g_test_add("/pxelinux/boot-decision", Fixture, NULL, setup, test_boot_decision, teardown);
	g_test_add("/pxelinux/hand-written-is-safe", Fixture, NULL, setup,
		   test_hand_written_is_safe, teardown);
	return g_test_run();
}
