/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* conf.d: merging fragments, and every kind of bad configuration named by file, line, group, key.
 */
#include "pxed-config.h"
#include "pxed-core.h"
#include "pxed-test.h"

typedef struct {
	char *dir;   /* temporary root */
	char *confd; /* dir/conf.d */
	char *root;  /* dir/root: a folder for static */
	char *file;  /* dir/file.txt: a regular file */
} Fixture;

static void
fixture_setup(Fixture *f, gconstpointer data)
{
	f->dir = pxed_test_tmpdir_new();
	f->confd = g_build_filename(f->dir, "conf.d", NULL);
	f->root = g_build_filename(f->dir, "root", NULL);
	f->file = g_build_filename(f->dir, "file.txt", NULL);
	g_mkdir_with_parents(f->confd, 0755);
	g_mkdir_with_parents(f->root, 0755);
	pxed_test_write_file(f->dir, "file.txt", "x");
}

static void
fixture_teardown(Fixture *f, gconstpointer data)
{
	pxed_test_tmpdir_free(f->dir);
	g_free(f->confd);
	g_free(f->root);
	g_free(f->file);
}

/* ---- merging ---- */

static void
test_merge_order(Fixture *f, gconstpointer data)
{
	g_autoptr(PxedConfig) config = pxed_config_new();
	g_autoptr(GPtrArray) problems = g_ptr_array_new_with_free_func(g_free);
	const char *dirs[] = {f->confd, NULL};
	GKeyFile *kf;
	g_autofree char *a = NULL, *b = NULL, *c = NULL, *list = NULL, *where = NULL;
	g_auto(GStrv) items = NULL;

	/* written out of order: the merge goes by file name */
	pxed_test_write_file(f->confd, "20-admin.conf", "[x]\nb=admin\nlist=p;q\n");
	pxed_test_write_file(f->confd, "10-vendor.conf", "[x]\na=vendor\nb=vendor\n\n[y]\n");
	pxed_test_write_file(f->confd, "30-late.conf", "# only a comment\n[x]\n\nc=late\n");
	pxed_test_write_file(f->confd, "README", "[x]\na=ignored, not a .conf\n");
	pxed_test_write_file(f->confd, ".hidden.conf", "[x]\na=ignored, hidden\n");

	g_assert_true(pxed_config_load_dirs(config, dirs, problems));
	g_assert_cmpuint(problems->len, ==, 0);
	g_assert_cmpuint(pxed_config_get_files(config)->len, ==, 3);
	kf = pxed_config_get_keyfile(config);
	a = g_key_file_get_string(kf, "x", "a", NULL);
	b = g_key_file_get_string(kf, "x", "b", NULL);
	c = g_key_file_get_string(kf, "x", "c", NULL);
	g_assert_cmpstr(a, ==, "vendor"); /* kept: the later file does not set it */
	g_assert_cmpstr(b, ==, "admin");  /* overridden key by key */
	g_assert_cmpstr(c, ==, "late");
	items = g_key_file_get_string_list(kf, "x", "list", NULL, NULL);
	g_assert_cmpuint(g_strv_length(items), ==, 2);
	g_assert_cmpstr(items[1], ==, "q");
	g_assert_true(g_key_file_has_group(kf, "y")); /* an empty group exists */
	where = pxed_config_where(config, "x", "c");
	g_assert_true(g_str_has_suffix(where, "/30-late.conf:4"));
	g_free(where);
	where = pxed_config_where(config, "x", "b");
	g_assert_true(g_str_has_suffix(where, "/20-admin.conf:2"));
}

static void
test_merge_override_dir(Fixture *f, gconstpointer data)
{
	g_autoptr(PxedConfig) config = pxed_config_new();
	g_autoptr(GPtrArray) problems = g_ptr_array_new_with_free_func(g_free);
	g_autofree char *vendor = g_build_filename(f->dir, "vendor", NULL);
	g_autofree char *value = NULL, *other = NULL;
	const char *dirs[] = {vendor, f->confd, NULL};

	pxed_test_write_file(vendor, "10-x.conf", "[x]\na=vendor\nb=vendor-only\n");
	pxed_test_write_file(vendor, "20-y.conf", "[y]\nk=vendor\n");
	/* a same-named file in a later folder replaces the vendor's whole file */
	pxed_test_write_file(f->confd, "10-x.conf", "[x]\na=admin\n");
	g_assert_true(pxed_config_load_dirs(config, dirs, problems));
	value = g_key_file_get_string(pxed_config_get_keyfile(config), "x", "a", NULL);
	g_assert_cmpstr(value, ==, "admin");
	g_assert_false(g_key_file_has_key(pxed_config_get_keyfile(config), "x", "b", NULL));
	other = g_key_file_get_string(pxed_config_get_keyfile(config), "y", "k", NULL);
	g_assert_cmpstr(other, ==, "vendor");
}

static void
test_merge_parse_error(Fixture *f, gconstpointer data)
{
	g_autoptr(PxedConfig) config = pxed_config_new();
	g_autoptr(GPtrArray) problems = g_ptr_array_new_with_free_func(g_free);
	g_autofree char *expected = g_strdup_printf(
		"%s/10-bad.conf:4: not a [group] header, a KEY=VALUE line or a # comment",
		f->confd);
	const char *dirs[] = {f->confd, NULL};

	pxed_test_write_file(f->confd, "10-bad.conf", "[x]\na=1\n\njust some words\n");
	g_assert_false(pxed_config_load_dirs(config, dirs, problems));
	g_assert_cmpuint(problems->len, ==, 1);
	g_assert_cmpstr(g_ptr_array_index(problems, 0), ==, expected);
}

/* Found by tests/fuzz/fuzz-config: GKeyFile reads such a fragment, but hands
 * out no string of it, so a key validated as present read back as NULL (a
 * group's `profile` then crashed the inventory). Refused, with the line. */
static void
test_merge_not_utf8(Fixture *f, gconstpointer data)
{
	g_autoptr(PxedConfig) config = pxed_config_new();
	g_autoptr(GPtrArray) problems = g_ptr_array_new_with_free_func(g_free);

	g_assert_false(pxed_config_load_data(
		config, "10-bin.conf", "[profile:p]\nkernel=/k\n[group:g]\nprofile=\x92\x90\n",
		problems));
	g_assert_cmpuint(problems->len, ==, 1);
	g_assert_cmpstr(g_ptr_array_index(problems, 0), ==, "10-bin.conf:4: not valid UTF-8");
	g_assert_cmpuint(pxed_config_get_files(config)->len, ==, 0);
}

/* ---- invalid configurations: each names the exact place ---- */

typedef struct {
	const char *name;
	const char *fragment; /* @ROOT@, @FILE@ and @DIR@ are replaced */
	const char *expected; /* the one problem, with @CONF@ for the fragment's path */
} BadCase;

static const BadCase bad_cases[] = {
	{"unknown-key", "[static]\nroot=@ROOT@\nbogus=1\n",
	 "@CONF@:3: [static] bogus: unknown key"},
	{"unknown-group", "[core]\n\n[nosuch]\nkey=1\n",
	 "@CONF@:3: [nosuch]: names no loadable plugin: no plugin 'nosuch' (nosuch.so) in "},
	{"missing-folder", "[static]\nroot=@DIR@/does-not-exist\n",
	 "@CONF@:2: [static] root: folder '@DIR@/does-not-exist' does not exist"},
	{"folder-is-file", "[static]\nroot=@FILE@\n",
	 "@CONF@:2: [static] root: '@FILE@' is not a folder"},
	{"relative-folder-missing", "[static]\nroot=../nope\n",
	 "@CONF@:2: [static] root: folder '@DIR@/nope' does not exist"},
	{"required-missing", "# nothing yet\n[static]\n",
	 "@CONF@:2: [static] root: required key is missing"},
	{"boolean", "[static]\nroot=@ROOT@\nfollow-symlinks-outside=yes\n",
	 "@CONF@:3: [static] follow-symlinks-outside: 'yes' is not a boolean (true or false)"},
	{"enabled-type", "[static]\nroot=@ROOT@\nenabled=maybe\n",
	 "@CONF@:3: [static] enabled: 'maybe' is not a boolean (true or false)"},
	{"int-type", "[scripted]\nweight=heavy\n",
	 "@CONF@:2: [scripted] weight: 'heavy' is not a whole number"},
	{"int-range", "[scripted]\nweight=101\n",
	 "@CONF@:2: [scripted] weight: 101 is out of range (1..100)"},
	{"ipv4", "[scripted]\nserver=192.0.2.300\n",
	 "@CONF@:2: [scripted] server: '192.0.2.300' is not an IPv4 address"},
	{"ipv4-not-v6", "[scripted]\nserver=::1\n",
	 "@CONF@:2: [scripted] server: '::1' is not an IPv4 address"},
	{"listen-host", "[scripted]\nlisten=localhost:69\n",
	 "@CONF@:2: [scripted] listen: 'localhost' is not a literal IPv4 or IPv6 address"},
	{"listen-port", "[scripted]\nlisten=127.0.0.1:69;127.0.0.1:70000\n",
	 "@CONF@:2: [scripted] listen: '70000' is not a port number (0-65535)"},
	{"listen-no-port", "[scripted]\nlisten=[::1]\n",
	 "@CONF@:2: [scripted] listen: '[::1]' names no port"},
	{"file-missing", "[scripted]\ntemplate=@DIR@/none.tmpl\n",
	 "@CONF@:2: [scripted] template: file '@DIR@/none.tmpl' does not exist"},
	{"file-is-folder", "[scripted]\ntemplate=@ROOT@\n",
	 "@CONF@:2: [scripted] template: '@ROOT@' is not a regular file"},
	{"prefix-key-bare", "[scripted]\nlabel.=x\n", "@CONF@:2: [scripted] label.: unknown key"},
	{"core-unknown", "[core]\nplugin-dir=/x\n", "@CONF@:2: [core] plugin-dir: unknown key"},
	{"core-log-level", "[core]\nlog-level=chatty\n",
	 "@CONF@:2: [core] log-level: 'chatty' is not one of error, warning, message, info, "
	 "debug"},
	{"core-state-dir", "[core]\nstate-dir=/nonexistent-pxed/a/b\n",
	 "@CONF@:2: [core] state-dir: neither '/nonexistent-pxed/a/b' nor its parent folder "
	 "exists"},
	{"pipeline-unknown-key", "[pipeline]\ndhcp=static\n",
	 "@CONF@:2: [pipeline] dhcp: unknown key"},
	{"pipeline-missing-instance", "[static]\nroot=@ROOT@\n[pipeline]\ntftp=static;static:x\n",
	 "@CONF@:4: [pipeline] tftp: 'static:x' is not a configured and enabled backend (no "
	 "group [static:x])"},
	{"pipeline-disabled-instance",
	 "[static]\nroot=@ROOT@\nenabled=false\n[pipeline]\nhttp=static\n",
	 "@CONF@:5: [pipeline] http: 'static' is not a configured and enabled backend "
	 "(enabled=false in [static])"},
	{"pipeline-protocol", "[lineproto]\n[pipeline]\nhttp=lineproto\n",
	 "@CONF@:3: [pipeline] http: 'lineproto' is a protocol, not a backend"},
	{"pipeline-twice", "[static]\nroot=@ROOT@\n[pipeline]\ntftp=static; static\n",
	 "@CONF@:4: [pipeline] tftp: 'static' is listed twice"},
	{"pipeline-cannot-boot", "[static]\nroot=@ROOT@\n[pipeline]\nboot=static\n",
	 "@CONF@:4: [pipeline] boot: backend 'static' cannot serve the boot pipeline"},
	{"group-name", "[static:]\nroot=@ROOT@\n",
	 "@CONF@:1: [static:]: not a group name: use [PLUGIN] or [PLUGIN:LABEL]"},
	{"abi-major", "[abimajor]\n",
	 "@CONF@:1: [abimajor]: names no loadable plugin: @TP@/abimajor.so: plugin ABI 99.0, "
	 "this pxed speaks ABI 1.0"},
	{"init-fail", "[initfail]\n",
	 "@CONF@:1: [initfail]: plugin failed to initialise: initfail: refusing to start, as "
	 "asked"},
	{"init-fail-silent", "[initsilent]\n",
	 "@CONF@:1: [initsilent]: plugin failed to initialise: initsilent: failed to "
	 "initialise (the plugin gave no reason)"},
};

static char *
substitute(const char *text, Fixture *f, const char *conf)
{
	g_autoptr(GString) s = g_string_new(text);
	g_string_replace(s, "@ROOT@", f->root, 0);
	g_string_replace(s, "@FILE@", f->file, 0);
	g_string_replace(s, "@DIR@", f->dir, 0);
	g_string_replace(s, "@TP@", TEST_PLUGIN_DIR, 0);
	if (conf != NULL)
		g_string_replace(s, "@CONF@", conf, 0);
	return g_string_free(g_steal_pointer(&s), FALSE);
}

static const char *const plugin_dirs[] = {PXED_TEST_PLUGIN_DIR, TEST_PLUGIN_DIR, NULL};

static void
test_bad_config(Fixture *f, gconstpointer data)
{
	const BadCase *c = data;
	g_autofree char *fragment = substitute(c->fragment, f, NULL);
	g_autofree char *conf = g_build_filename(f->confd, "10-case.conf", NULL);
	g_autofree char *expected = substitute(c->expected, f, conf);
	g_autoptr(GPtrArray) problems = g_ptr_array_new_with_free_func(g_free);
	const char *dirs[] = {f->confd, NULL};
	g_autoptr(PxedCore) core = NULL;

	pxed_test_write_file(f->confd, "10-case.conf", fragment);
	core = pxed_core_new(NULL, dirs, plugin_dirs);
	g_assert_false(pxed_core_load(core, FALSE, problems));
	for (guint i = 0; i < problems->len; i++)
		g_test_message("problem: %s", (const char *)g_ptr_array_index(problems, i));
	g_assert_cmpuint(problems->len, ==, 1);
	/* the not-found message goes on to list the folders searched */
	if (g_str_has_suffix(expected, " in "))
		g_assert_true(g_str_has_prefix(g_ptr_array_index(problems, 0), expected));
	else
		g_assert_cmpstr(g_ptr_array_index(problems, 0), ==, expected);
}

static void
test_override_points_at_later_file(Fixture *f, gconstpointer data)
{
	g_autoptr(GPtrArray) problems = g_ptr_array_new_with_free_func(g_free);
	const char *dirs[] = {f->confd, NULL};
	g_autoptr(PxedCore) core = NULL;
	g_autofree char *fragment = substitute("[static]\nroot=@ROOT@\n", f, NULL);
	g_autofree char *expected = g_strdup_printf(
		"%s/90-admin.conf:3: [static] root: folder '/srv/pxed-not-here' does not exist",
		f->confd);

	pxed_test_write_file(f->confd, "10-vendor.conf", fragment);
	pxed_test_write_file(f->confd, "90-admin.conf", "\n[static]\nroot=/srv/pxed-not-here\n");
	core = pxed_core_new(NULL, dirs, plugin_dirs);
	g_assert_false(pxed_core_load(core, FALSE, problems));
	g_assert_cmpuint(problems->len, ==, 1);
	g_assert_cmpstr(g_ptr_array_index(problems, 0), ==, expected);
}

static void
test_all_problems_reported(Fixture *f, gconstpointer data)
{
	g_autoptr(GPtrArray) problems = g_ptr_array_new_with_free_func(g_free);
	const char *dirs[] = {f->confd, NULL};
	g_autoptr(PxedCore) core = NULL;

	/* one pass reports every fault, not just the first */
	pxed_test_write_file(f->confd, "10.conf",
			     "[core]\nbogus=1\n[static]\nroot=/nope\nx=1\n[nosuch]\n");
	core = pxed_core_new(NULL, dirs, plugin_dirs);
	g_assert_false(pxed_core_load(core, FALSE, problems));
	g_assert_cmpuint(problems->len, ==, 4);
}

static void
test_good_config(Fixture *f, gconstpointer data)
{
	g_autoptr(GPtrArray) problems = g_ptr_array_new_with_free_func(g_free);
	const char *dirs[] = {f->confd, NULL};
	g_autoptr(PxedCore) core = NULL;
	g_autofree char *fragment = substitute(
		"[static]\nroot=@ROOT@\n[static:images]\nroot=../root\nprefix=images\n"
		"[scripted:a]\nweight=100\nserver=192.0.2.1\nlisten=[::1]:69;127.0.0.1:69\n"
		"label.rack=r1\ntemplate=@FILE@\n[scripted:off]\nenabled=false\nweight=0\n"
		"[pipeline]\nboot=scripted:a\ntftp=static:images;static\nhttp=\n",
		f, NULL);

	pxed_test_write_file(f->confd, "10.conf", fragment);
	core = pxed_core_new(NULL, dirs, plugin_dirs);
	g_assert_true(pxed_core_load(core, FALSE, problems));
	/* a disabled group creates no instance, and is not checked beyond its
	 * switch (weight=0 would be out of range) */
	g_assert_cmpuint(pxed_core_get_runners(core)->len, ==, 3);
}

int
main(int argc, char **argv)
{
	g_autofree char *state = NULL;

	g_test_init(&argc, &argv, NULL);
	g_setenv("PXED_PLUGINDIR", "/nonexistent-pxed-plugins", TRUE);
	state = g_build_filename(g_get_tmp_dir(), "pxed-test-state", NULL);
	g_setenv("PXED_STATE_DIR", state, TRUE);

	g_test_add("/config/merge/order", Fixture, NULL, fixture_setup, test_merge_order,
		   fixture_teardown);
	g_test_add("/config/merge/override-dir", Fixture, NULL, fixture_setup,
		   test_merge_override_dir, fixture_teardown);
	g_test_add("/config/merge/not-utf8", Fixture, NULL, fixture_setup, test_merge_not_utf8,
		   fixture_teardown);
	g_test_add("/config/merge/parse-error", Fixture, NULL, fixture_setup,
		   test_merge_parse_error, fixture_teardown);
	g_test_add("/config/override-points-at-later-file", Fixture, NULL, fixture_setup,
		   test_override_points_at_later_file, fixture_teardown);
	g_test_add("/config/all-problems-reported", Fixture, NULL, fixture_setup,
		   test_all_problems_reported, fixture_teardown);
	g_test_add("/config/good", Fixture, NULL, fixture_setup, test_good_config,
		   fixture_teardown);
	for (guint i = 0; i < G_N_ELEMENTS(bad_cases); i++) {
		g_autofree char *path = g_strdup_printf("/config/bad/%s", bad_cases[i].name);
		g_test_add(path, Fixture, &bad_cases[i], fixture_setup, test_bad_config,
			   fixture_teardown);
	}
	return g_test_run();
}
