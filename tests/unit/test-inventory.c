/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The inventory: matching by specificity, labels, ties found by --check, matchbox data. */
#include "pxed-core.h"
#include "pxed-inventory.h"
#include "pxed-matchbox.h"
#include "pxed-test.h"

static const char *const plugin_dirs[] = {TEST_PLUGIN_DIR, NULL};

#define U2  "0a0b0c0d-0000-4000-8000-000000000002"
#define U2X "0a0b0c0d-0000-4000-8000-0000000000aa"

/* Levels of specificity; groups of one level always differ on a shared key. */
static const char inventory_conf[] =
	"[profile:p]\nkernel=/k\n"
	"[group:default]\nprofile=p\n"
	"[group:node1]\nprofile=p\nselector.mac=52:54:00:00:00:01\n"
	"[group:node2]\nprofile=p\nselector.mac=52-54-00-00-00-02\n"
	"[group:node3]\nprofile=p\nselector.mac=525400000003\n"
	"[group:efi-rack1]\nprofile=p\nselector.arch=efi-x64\nselector.rack=r1\n"
	"[group:efi-rack2]\nprofile=p\nselector.arch=7\nselector.rack=r2\n"
	"[group:bios-rack1]\nprofile=p\nselector.arch=bios\nselector.rack=r1\n"
	"[group:installed-node1]\nprofile=p\nselector.mac=52:54:00:00:00:01\nselector.arch=7\n"
	"selector.os=installed\n"
	"[group:arm-u2]\nprofile=p\nselector.uuid=" U2 "\nselector.arch=efi-arm64\n"
	"selector.os=installed\n"
	"[group:db1]\nprofile=p\nselector.hostname=DB1\nselector.arch=0\nselector.rack=r9\n"
	"[group:node2-full]\nprofile=p\nselector.mac=52:54:00:00:00:02\nselector.uuid=" U2X "\n"
	"selector.arch=7\nselector.rack=r2\n"
	/* one selector each, of different kinds: the more identifying one wins */
	"[group:by-uuid]\nprofile=p\nselector.uuid=" U2X "\n"
	"[group:by-hostname]\nprofile=p\nselector.hostname=web1\n"
	"[group:by-label]\nprofile=p\nselector.os=live\n";

static const struct {
	const char *client;
	const char *group; /* NULL: no match */
} match_cases[] = {
	{"", "default"},
	{"mac=52:54:00:00:00:01", "node1"},
	{"mac=52:54:00:00:00:02", "node2"},
	{"mac=52:54:00:00:00:03", "node3"},
	{"mac=52:54:00:00:00:99", "default"},
	{"mac=52-54-00-00-00-01", "node1"},
	{"mac=52:54:00:00:00:01,arch=0", "node1"},
	{"arch=7,rack=r1", "efi-rack1"},
	{"arch=7,rack=r2", "efi-rack2"},
	{"arch=0,rack=r1", "bios-rack1"},
	{"arch=0,rack=r2", "default"},
	{"rack=r1", "default"}, /* arch unknown: the arch selector does not hold */
	{"arch=7", "default"},
	{"mac=52:54:00:00:00:01,arch=7,rack=r1", "efi-rack1"}, /* 2 selectors beat 1 */
	{"mac=52:54:00:00:00:01,arch=7,os=installed", "installed-node1"},
	{"mac=52:54:00:00:00:01,arch=7,os=installed,rack=r1", "installed-node1"},
	{"mac=52:54:00:00:00:01,arch=0,os=installed", "node1"},
	{"uuid=" U2 ",arch=11,os=installed", "arm-u2"},
	{"uuid=0A0B0C0D00004000800000000000000 2,arch=11,os=installed", NULL}, /* bad uuid */
	{"uuid=" U2 ",arch=7,os=installed", "default"},
	{"hostname=db1,arch=0,rack=r9", "db1"},
	{"hostname=Db1,arch=0,rack=r9", "db1"},
	{"hostname=db1,arch=0,rack=r1", "bios-rack1"},
	{"mac=52:54:00:00:00:02,uuid=" U2X ",arch=7,rack=r2", "node2-full"},
	{"mac=52:54:00:00:00:02,arch=7,rack=r2", "efi-rack2"},
	{"mac=52:54:00:00:00:02,uuid=" U2X ",arch=7,rack=r1", "efi-rack1"},
	{"mac=52:54:00:00:00:02,uuid=" U2X, "by-uuid"},	  /* uuid over mac */
	{"uuid=" U2X ",hostname=web1", "by-uuid"},	  /* uuid over hostname */
	{"mac=52:54:00:00:00:03,hostname=web1", "node3"}, /* mac over hostname */
	{"hostname=WEB1,os=live", "by-hostname"},	  /* hostname over a label */
	{"os=live", "by-label"},
};

typedef struct {
	char *dir;
	char *confd;
} Fixture;

static void
setup(Fixture *f, gconstpointer data)
{
	f->dir = pxed_test_tmpdir_new();
	f->confd = g_build_filename(f->dir, "conf.d", NULL);
}

static void
teardown(Fixture *f, gconstpointer data)
{
	pxed_test_tmpdir_free(f->dir);
	g_free(f->confd);
}

static PxedCore *
load(Fixture *f, const char *conf, GPtrArray *problems)
{
	const char *dirs[] = {f->confd, NULL};
	PxedCore *core;
	pxed_test_write_file(f->confd, "60-inventory.conf", conf);
	core = pxed_core_new(NULL, dirs, plugin_dirs);
	if (!pxed_core_load(core, FALSE, problems)) {
		pxed_core_free(core);
		return NULL;
	}
	return core;
}

static void
test_matching(Fixture *f, gconstpointer data)
{
	g_autoptr(GPtrArray) problems = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(PxedCore) core = load(f, inventory_conf, problems);

	for (guint i = 0; i < problems->len; i++)
		g_printerr("%s\n", (const char *)g_ptr_array_index(problems, i));
	g_assert_nonnull(core);
	g_assert_cmpuint(G_N_ELEMENTS(match_cases), >=, 20);
	for (guint i = 0; i < G_N_ELEMENTS(match_cases); i++) {
		g_autoptr(PxedClient) client =
			pxed_client_new_from_string(match_cases[i].client, NULL);
		g_autoptr(PxedMachine) machine = NULL;
		if (match_cases[i].group == NULL) {
			g_assert_null(client); /* a client that cannot be described */
			continue;
		}
		g_assert_nonnull(client);
		machine = pxed_core_match(core, client);
		g_test_message("%s -> %s", match_cases[i].client,
			       machine ? pxed_machine_get_group(machine) : "(none)");
		g_assert_nonnull(machine);
		g_assert_cmpstr(pxed_machine_get_group(machine), ==, match_cases[i].group);
		g_assert_cmpstr(pxed_machine_get_profile(machine), ==, "p");
	}
}

static void
test_no_default(Fixture *f, gconstpointer data)
{
	g_autoptr(GPtrArray) problems = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(PxedCore) core =
		load(f, "[profile:p]\n[group:one]\nprofile=p\nselector.mac=52:54:00:00:00:01\n",
		     problems);
	g_autoptr(PxedClient) client = pxed_client_new_from_string("mac=52:54:00:00:00:02", NULL);
	g_autoptr(PxedMachine) machine = NULL;

	g_assert_nonnull(core);
	machine = pxed_core_match(core, client);
	g_assert_null(machine);
}

static void
test_metadata_merge(Fixture *f, gconstpointer data)
{
	g_autoptr(GPtrArray) problems = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(PxedCore) core = load(f,
					"[profile:p]\nkernel=/vmlinuz\ninitrd=/a.img;/b.img\n"
					"args=console=ttyS0 quiet\nmetadata.role=worker\n"
					"metadata.dns=192.0.2.53\n"
					"[group:g]\nprofile=p\nmetadata.role=storage\n"
					"metadata.hostname=node-9\n",
					problems);
	g_autoptr(PxedClient) client = pxed_client_new_from_string(
		"mac=52:54:00:00:00:09,arch=7,hostname=fromdhcp,serial=XYZ", NULL);
	g_autoptr(PxedMachine) m = NULL;
	g_autoptr(PxedTemplateVars) vars = NULL;

	g_assert_nonnull(core);
	m = pxed_core_match(core, client);
	g_assert_nonnull(m);
	g_assert_cmpstr(pxed_machine_get_kernel(m), ==, "/vmlinuz");
	g_assert_cmpuint(g_strv_length((char **)pxed_machine_get_initrds(m)), ==, 2);
	g_assert_cmpstr(pxed_machine_get_metadata(m, "role"), ==, "storage"); /* group wins */
	g_assert_cmpstr(pxed_machine_get_metadata(m, "dns"), ==, "192.0.2.53");
	vars = pxed_machine_build_vars(m, client);
	g_assert_cmpstr(pxed_template_vars_get(vars, "metadata.role"), ==, "storage");
	g_assert_cmpstr(pxed_template_vars_get(vars, "mac_hyphen"), ==, "52-54-00-00-00-09");
	g_assert_cmpstr(pxed_template_vars_get(vars, "hostname"), ==, "node-9");
	g_assert_cmpstr(pxed_template_vars_get(vars, "efi"), ==, "true");
	g_assert_cmpstr(pxed_template_vars_get(vars, "query.serial"), ==, "XYZ");
	g_assert_cmpstr(pxed_template_vars_get(vars, "initrd"), ==, "/a.img");
	g_assert_cmpstr(pxed_template_vars_get(vars, "args"), ==, "console=ttyS0 quiet");
}

typedef struct {
	const char *name;
	const char *conf;
	const char *problem; /* @CONF@ is the fragment */
} BadCase;

static const BadCase bad_cases[] = {
	{"tie-same-selectors",
	 "[profile:p]\n[group:a]\nprofile=p\nselector.rack=r1\n[group:b]\nprofile=p\n"
	 "selector.rack=r1\n",
	 "@CONF@:2: [group:a]: group 'a' and group 'b' (@CONF@:5: [group:b]) are equally "
	 "specific (1 selector of the same kinds) and one machine can match both: add a selector "
	 "to one of them"},
	{"tie-different-labels",
	 "[profile:p]\n[group:a]\nprofile=p\nselector.rack=r1\n[group:b]\n"
	 "profile=p\nselector.os=installed\n",
	 "@CONF@:2: [group:a]: group 'a' and group 'b' (@CONF@:5: [group:b]) are equally "
	 "specific (1 selector of the same kinds) and one machine can match both: add a selector "
	 "to one of them"},
	{"tie-two-defaults", "[profile:p]\n[group:a]\nprofile=p\n[group:b]\nprofile=p\n",
	 "@CONF@:2: [group:a]: group 'a' and group 'b' (@CONF@:4: [group:b]) are equally "
	 "specific (0 selectors of the same kinds) and one machine can match both: add a "
	 "selector to one of them"},
	{"missing-profile", "[group:a]\nprofile=nope\n",
	 "@CONF@:1: [group:a]: group 'a' names profile 'nope', which is not defined"},
	{"group-without-profile", "[profile:p]\n[group:a]\nselector.arch=7\n",
	 "@CONF@:2: [group:a] profile: required key is missing"},
	{"bad-mac", "[profile:p]\n[group:a]\nprofile=p\nselector.mac=52:54:00:zz:00:01\n",
	 "@CONF@:4: [group:a] selector.mac: '52:54:00:zz:00:01' is not a hardware address (hex "
	 "pairs separated by ':')"},
	{"bad-uuid", "[profile:p]\n[group:a]\nprofile=p\nselector.uuid=1234\n",
	 "@CONF@:4: [group:a] selector.uuid: '1234' is not a UUID (32 hex digits, dashes "
	 "optional)"},
	{"bad-arch", "[profile:p]\n[group:a]\nprofile=p\nselector.arch=efi-x86\n",
	 "@CONF@:4: [group:a] selector.arch: 'efi-x86' is not an architecture (a number, or bios, "
	 "efi-ia32, efi-x64, efi-bc, efi-arm32, efi-arm64, efi-x64-http, efi-arm64-http)"},
	{"unknown-group-key", "[profile:p]\n[group:a]\nprofile=p\nselectors.mac=x\n",
	 "@CONF@:4: [group:a] selectors.mac: unknown key"},
	{"unknown-profile-key", "[profile:p]\nkernal=/vmlinuz\n",
	 "@CONF@:2: [profile:p] kernal: unknown key"},
	{"template-missing", "[profile:p]\nipxe-template=/nonexistent.ipxe\n",
	 "@CONF@:2: [profile:p] ipxe-template: file '/nonexistent.ipxe' does not exist"},
	{"template-syntax", "[profile:p]\nipxe-template=@DIR@/bad.ipxe\n",
	 "@CONF@:2: [profile:p] ipxe-template: @DIR@/bad.ipxe:3: 'if efi' has no matching "
	 "'{{end}}'"},
	{"unnamed-group", "[profile:p]\n[group:]\nprofile=p\n",
	 "@CONF@:2: [group:]: a group needs a name"},
	{"inventory-key", "[inventory]\nmatchbox=/x\n",
	 "@CONF@:2: [inventory] matchbox: unknown key"},
};

static void
test_bad(Fixture *f, gconstpointer data)
{
	const BadCase *c = data;
	g_autoptr(GPtrArray) problems = g_ptr_array_new_with_free_func(g_free);
	g_autofree char *conf_path = g_build_filename(f->confd, "60-inventory.conf", NULL);
	g_autoptr(GString) conf = g_string_new(c->conf);
	g_autoptr(GString) expected = g_string_new(c->problem);
	g_autoptr(PxedCore) core = NULL;

	pxed_test_write_file(f->dir, "bad.ipxe", "#!ipxe\n\n{{if efi}}\nkernel {{kernel}}\n");
	g_string_replace(conf, "@DIR@", f->dir, 0);
	g_string_replace(expected, "@DIR@", f->dir, 0);
	g_string_replace(expected, "@CONF@", conf_path, 0);
	core = load(f, conf->str, problems);
	g_assert_null(core);
	for (guint i = 0; i < problems->len; i++)
		g_test_message("%s", (const char *)g_ptr_array_index(problems, i));
	g_assert_cmpuint(problems->len, ==, 1);
	g_assert_cmpstr(g_ptr_array_index(problems, 0), ==, expected->str);
}

static void
test_matchbox(Fixture *f, gconstpointer data)
{
	g_autoptr(GPtrArray) problems = g_ptr_array_new_with_free_func(g_free);
	g_autofree char *conf = g_strdup_printf("[inventory]\nmatchbox-dir=%s/data/matchbox\n",
						g_test_get_dir(G_TEST_DIST));
	g_autoptr(PxedCore) core = load(f, conf, problems);
	g_autoptr(PxedClient) node1 = pxed_client_new_from_string("mac=52:54:00:a1:9c:ae", NULL);
	g_autoptr(PxedClient) other = pxed_client_new_from_string("mac=52:54:00:00:00:77", NULL);
	g_autoptr(PxedMachine) m = NULL;
	g_autoptr(PxedMachine) d = NULL;
	g_autoptr(PxedTemplateVars) vars = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree char *ign = NULL, *cloud = NULL, *generic = NULL;

	for (guint i = 0; i < problems->len; i++)
		g_printerr("%s\n", (const char *)g_ptr_array_index(problems, i));
	g_assert_nonnull(core);
	m = pxed_core_match(core, node1);
	g_assert_cmpstr(pxed_machine_get_group(m), ==, "node1");
	g_assert_cmpstr(pxed_machine_get_kernel(m), ==, "/assets/fcos/kernel");
	g_assert_cmpstr(pxed_machine_get_initrds(m)[1], ==, "/assets/fcos/rootfs.img");
	g_assert_cmpstr(pxed_machine_get_args(m), ==,
			"coreos.live.rootfs_url=http://matchbox/assets/fcos/rootfs.img "
			"console=ttyS0");
	g_assert_cmpstr(pxed_machine_get_metadata(m, "ssh.key"), ==, "ssh-ed25519 AAAA test");
	vars = pxed_machine_build_vars(m, node1);
	ign = pxed_template_render(pxed_machine_get_template(m, "ignition"), vars, &error);
	g_assert_no_error(error);
	g_assert_nonnull(strstr(ign, "\"source\": \"data:,node1.example.com\""));
	g_assert_nonnull(strstr(ign, "[\"ssh-ed25519 AAAA test\"]"));
	cloud = pxed_template_render(pxed_machine_get_template(m, "cloud"), vars, &error);
	g_assert_no_error(error);
	g_assert_cmpstr(cloud, ==,
			"#cloud-config\nhostname: \"node1.example.com\"\n"
			"roles: \"[\\\"worker\\\",\\\"gpu\\\"]\"\nmac: \"52:54:00:a1:9c:ae\"\n");
	generic = pxed_template_render(pxed_machine_get_template(m, "generic"), vars, &error);
	g_assert_no_error(error);
	g_assert_cmpstr(generic, ==, "HOSTNAME=node1.example.com\nMAC=52:54:00:a1:9c:ae\n");
	d = pxed_core_match(core, other);
	g_assert_cmpstr(pxed_machine_get_group(d), ==, "default");
	g_assert_cmpstr(pxed_machine_get_profile(d), ==, "debian");
	g_assert_null(pxed_machine_get_template(d, "ignition"));
}

static void
test_matchbox_bad(Fixture *f, gconstpointer data)
{
	g_autoptr(GPtrArray) problems = g_ptr_array_new_with_free_func(g_free);
	g_autofree char *mb = g_build_filename(f->dir, "mb", NULL);
	g_autofree char *conf = g_strdup_printf("[inventory]\nmatchbox-dir=%s\n", mb);
	g_autoptr(PxedCore) core = NULL;
	g_autofree char *expect2 =
		g_strdup_printf("%s/groups/b.json: selector mac: 'nope' is not "
				"a hardware address (hex pairs separated by ':')",
				mb);

	pxed_test_write_file(mb, "groups/a.json", "{\"id\": \"a\", \"profile\": \"gone\"}");
	pxed_test_write_file(mb, "groups/b.json",
			     "{\"id\": \"b\", \"profile\": \"gone\", \"selector\": {\"mac\": "
			     "\"nope\"}}");
	pxed_test_write_file(mb, "groups/c.json", "{\"id\": ");
	core = load(f, conf, problems);
	g_assert_null(core);
	for (guint i = 0; i < problems->len; i++)
		g_test_message("%s", (const char *)g_ptr_array_index(problems, i));
	/* syntax error and bad selector are found while reading; a missing profile after */
	g_assert_cmpuint(problems->len, ==, 2);
	g_assert_cmpstr(g_ptr_array_index(problems, 0), ==, expect2);
	g_assert_true(g_str_has_prefix(g_ptr_array_index(problems, 1), mb));
}

static void
test_matchbox_missing_profile(Fixture *f, gconstpointer data)
{
	g_autoptr(GPtrArray) problems = g_ptr_array_new_with_free_func(g_free);
	g_autofree char *mb = g_build_filename(f->dir, "mb", NULL);
	g_autofree char *conf = g_strdup_printf("[inventory]\nmatchbox-dir=%s\n", mb);
	g_autofree char *expected = g_strdup_printf("%s/groups/a.json: group 'a' names profile "
						    "'gone', which is not defined",
						    mb);
	g_autoptr(PxedCore) core = NULL;

	/* read cleanly, refused when references are checked */
	pxed_test_write_file(mb, "groups/a.json", "{\"id\": \"a\", \"profile\": \"gone\"}");
	pxed_test_write_file(mb, "profiles/here.json", "{\"id\": \"here\"}");
	core = load(f, conf, problems);
	g_assert_null(core);
	g_assert_cmpuint(problems->len, ==, 1);
	g_assert_cmpstr(g_ptr_array_index(problems, 0), ==, expected);
}

/* Found by tests/fuzz/fuzz-matchbox: members of the wrong JSON type went to
 * json-glib's typed getters, which log a critical (fatal in the tests and
 * the fuzzer) and return NULL; a number in `args` became "(null)". Each is
 * a problem naming the file and the member. */
static void
test_matchbox_wrong_types(Fixture *f, gconstpointer data)
{
	static const struct {
		const char *file;
		const char *json;
		const char *problem;
	} cases[] = {
		{"profiles/boot.json", "{\"id\": \"boot\", \"boot\": 1}",
		 "profiles/boot.json: \"boot\" is not an object"},
		{"profiles/initrd.json", "{\"id\": \"initrd\", \"boot\": {\"initrd\": \"one\"}}",
		 "profiles/initrd.json: \"initrd\" is not a list"},
		{"profiles/args.json", "{\"id\": \"args\", \"boot\": {\"args\": [\"a\", 2]}}",
		 "profiles/args.json: \"args\" item 1 is not a string"},
		{"groups/sel.json", "{\"id\": \"sel\", \"profile\": \"boot\", \"selector\": [1]}",
		 "groups/sel.json: \"selector\" is not an object"},
	};

	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(PxedInventory) inventory = pxed_inventory_new();
		g_autoptr(GPtrArray) problems = g_ptr_array_new_with_free_func(g_free);
		PxedMatchboxKind kind = g_str_has_prefix(cases[i].file, "groups/")
						? PXED_MATCHBOX_GROUP
						: PXED_MATCHBOX_PROFILE;

		g_assert_false(pxed_matchbox_load_data(inventory, f->dir, kind, cases[i].file,
						       cases[i].json, strlen(cases[i].json),
						       problems));
		g_assert_cmpuint(problems->len, ==, 1);
		g_assert_cmpstr(g_ptr_array_index(problems, 0), ==, cases[i].problem);
	}
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_setenv("PXED_STATE_DIR", g_get_tmp_dir(), TRUE);
	g_test_add("/inventory/matching", Fixture, NULL, setup, test_matching, teardown);
	g_test_add("/inventory/no-default", Fixture, NULL, setup, test_no_default, teardown);
	g_test_add("/inventory/metadata-merge", Fixture, NULL, setup, test_metadata_merge,
		   teardown);
	g_test_add("/inventory/matchbox", Fixture, NULL, setup, test_matchbox, teardown);
	g_test_add("/inventory/matchbox-bad", Fixture, NULL, setup, test_matchbox_bad, teardown);
	g_test_add("/inventory/matchbox-wrong-types", Fixture, NULL, setup,
		   test_matchbox_wrong_types, teardown);
	g_test_add("/inventory/matchbox-missing-profile", Fixture, NULL, setup,
		   test_matchbox_missing_profile, teardown);
	for (guint i = 0; i < G_N_ELEMENTS(bad_cases); i++) {
		g_autofree char *path = g_strdup_printf("/inventory/bad/%s", bad_cases[i].name);
		g_test_add(path, Fixture, &bad_cases[i], setup, test_bad, teardown);
	}
	return g_test_run();
}
