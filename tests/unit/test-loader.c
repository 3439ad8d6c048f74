/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The plugin loader: a good plugin, and each way a plugin file can be wrong. */
#include "pxed-core.h"
#include "pxed-loader.h"
#include "pxed-test.h"

#include <sys/stat.h>
#include <unistd.h>

static const char *const test_dirs[] = {TEST_PLUGIN_DIR, NULL};

static void
test_good(void)
{
	g_autoptr(PxedLoader) loader = pxed_loader_new(test_dirs);
	g_autoptr(GError) error = NULL;
	const PxedPlugin *plugin = pxed_loader_load(loader, "scripted", &error);

	g_assert_no_error(error);
	g_assert_nonnull(plugin);
	g_assert_cmpstr(plugin->name, ==, "scripted");
	g_assert_cmpint(plugin->kind, ==, PXED_PLUGIN_KIND_BACKEND);
	g_assert_cmpuint(plugin->abi_major, ==, PXED_ABI_MAJOR);
	g_assert_true(g_str_has_suffix(pxed_loader_get_path(loader, "scripted"), "/scripted.so"));
	/* loaded once: the same descriptor again */
	g_assert_true(pxed_loader_load(loader, "scripted", NULL) == plugin);
}

static void
test_nested_layout(void)
{
	const char *dirs[] = {PXED_TEST_PLUGIN_DIR, NULL};
	g_autoptr(PxedLoader) loader = pxed_loader_new(dirs);
	g_autoptr(GError) error = NULL;
	const PxedPlugin *plugin = pxed_loader_load(loader, "static", &error);

	g_assert_no_error(error);
	g_assert_true(
		g_str_has_suffix(pxed_loader_get_path(loader, "static"), "/static/static.so"));
	g_assert_cmpstr(plugin->name, ==, "static");
}

static void
expect_refused(const char *name, PxedLoaderError code, const char *message_part)
{
	g_autoptr(PxedLoader) loader = pxed_loader_new(test_dirs);
	g_autoptr(GError) error = NULL;
	const PxedPlugin *plugin = pxed_loader_load(loader, name, &error);

	g_assert_null(plugin);
	g_assert_error(error, PXED_LOADER_ERROR, (gint)code);
	g_test_message("%s: %s", name, error->message);
	/* one line naming the file and the reason */
	g_assert_null(strchr(error->message, '\n'));
	if (code != PXED_LOADER_ERROR_NOT_FOUND) {
		g_autofree char *file = g_strdup_printf("%s/%s.so: ", TEST_PLUGIN_DIR, name);
		g_assert_true(g_str_has_prefix(error->message, file));
	}
	g_assert_nonnull(strstr(error->message, message_part));
}

static void
test_abi_major(void)
{
	expect_refused("abimajor", PXED_LOADER_ERROR_ABI,
		       "plugin ABI 99.0, this pxed speaks ABI 1.0");
}

static void
test_abi_minor(void)
{
	expect_refused("abiminor", PXED_LOADER_ERROR_ABI, "newer than this pxed's");
}

static void
test_no_descriptor(void)
{
	expect_refused("nodesc", PXED_LOADER_ERROR_SYMBOL, "no 'pxed_plugin' descriptor");
}

static void
test_unresolved_symbol(void)
{
	expect_refused("unresolved", PXED_LOADER_ERROR_OPEN, "pxed_function_that_does_not_exist");
}

static void
test_misnamed(void)
{
	/* misnamed.so declares itself 'scripted': a duplicate name is refused */
	expect_refused("misnamed", PXED_LOADER_ERROR_INVALID,
		       "declares plugin name 'scripted', but the file is named for 'misnamed'");
}

static void
test_not_found(void)
{
	expect_refused("nosuch", PXED_LOADER_ERROR_NOT_FOUND, "no plugin 'nosuch' (nosuch.so) in");
	expect_refused("../etc", PXED_LOADER_ERROR_NOT_FOUND, "is not a plugin name");
}

static void
test_not_elf(void)
{
	g_autofree char *dir = pxed_test_tmpdir_new();
	const char *dirs[] = {dir, NULL};
	g_autoptr(PxedLoader) loader = pxed_loader_new(dirs);
	g_autoptr(GError) error = NULL;

	pxed_test_write_file(dir, "text.so", "not a shared object\n");
	g_assert_null(pxed_loader_load(loader, "text", &error));
	g_assert_error(error, PXED_LOADER_ERROR, PXED_LOADER_ERROR_OPEN);
	pxed_test_tmpdir_free(g_steal_pointer(&dir));
}

static void
copy_file(const char *from, const char *to)
{
	g_autofree char *data = NULL;
	gsize len = 0;
	g_assert_true(g_file_get_contents(from, &data, &len, NULL));
	g_assert_true(g_file_set_contents(to, data, (gssize)len, NULL));
}

static void
test_insecure_file(void)
{
	g_autofree char *dir = NULL;
	g_autofree char *path = NULL;
	g_autoptr(GError) error = NULL;

	if (geteuid() != 0) {
		g_test_skip("the ownership check applies only when running as root");
		return;
	}
	dir = pxed_test_tmpdir_new();
	path = g_build_filename(dir, "scripted.so", NULL);
	copy_file(TEST_PLUGIN_DIR "/scripted.so", path);
	g_assert_cmpint(chmod(path, 0666), ==, 0);
	g_assert_null(pxed_loader_open_file(path, "scripted", &error));
	g_assert_error(error, PXED_LOADER_ERROR, PXED_LOADER_ERROR_INSECURE);
	g_clear_error(&error);
	g_assert_cmpint(chmod(path, 0644), ==, 0);
	g_assert_nonnull(pxed_loader_open_file(path, "scripted", &error));
	g_assert_no_error(error);
	pxed_test_tmpdir_free(g_steal_pointer(&dir));
}

static void
test_search_order_and_list(void)
{
	/* the same name in two folders: the first folder wins, the list says so */
	g_autofree char *first = pxed_test_tmpdir_new();
	g_autofree char *copy = g_build_filename(first, "scripted.so", NULL);
	const char *dirs[] = {first, TEST_PLUGIN_DIR, NULL};
	g_autoptr(PxedLoader) loader = pxed_loader_new(dirs);
	g_autoptr(GPtrArray) infos = NULL;
	guint good = 0, refused = 0, shadowed = 0;

	copy_file(TEST_PLUGIN_DIR "/scripted.so", copy);
	g_assert_nonnull(pxed_loader_load(loader, "scripted", NULL));
	g_assert_cmpstr(pxed_loader_get_path(loader, "scripted"), ==, copy);

	infos = pxed_loader_list(loader);
	for (guint i = 0; i < infos->len; i++) {
		PxedPluginInfo *info = g_ptr_array_index(infos, i);
		if (info->shadowed_by != NULL) {
			g_assert_cmpstr(info->name, ==, "scripted");
			g_assert_cmpstr(info->shadowed_by, ==, copy);
			shadowed++;
		}
		if (info->plugin != NULL)
			good++;
		else
			refused++;
	}
	/* scripted twice, lineproto, initfail, initsilent load; the five broken ones do not */
	g_assert_cmpuint(shadowed, ==, 1);
	g_assert_cmpuint(good, ==, 5);
	g_assert_cmpuint(refused, ==, 5);
	pxed_test_tmpdir_free(g_steal_pointer(&first));
}

static void
test_init_failure_keeps_nothing(void)
{
	/* a failing instance_new leaves no half-made configuration behind */
	g_autofree char *dir = pxed_test_tmpdir_new();
	g_autofree char *confd = g_build_filename(dir, "conf.d", NULL);
	const char *dirs[] = {confd, NULL};
	g_autoptr(GPtrArray) problems = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(PxedCore) core = NULL;

	pxed_test_write_file(confd, "10.conf", "[scripted:ok]\n[initfail]\n");
	core = pxed_core_new(NULL, dirs, test_dirs);
	g_assert_false(pxed_core_load(core, FALSE, problems));
	g_assert_cmpuint(problems->len, ==, 1);
	g_assert_null(pxed_core_get_instances(core));
	pxed_test_tmpdir_free(g_steal_pointer(&dir));
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_setenv("PXED_STATE_DIR", g_get_tmp_dir(), TRUE);
	g_test_add_func("/loader/good", test_good);
	g_test_add_func("/loader/nested-layout", test_nested_layout);
	g_test_add_func("/loader/abi-major", test_abi_major);
	g_test_add_func("/loader/abi-minor", test_abi_minor);
	g_test_add_func("/loader/no-descriptor", test_no_descriptor);
	g_test_add_func("/loader/unresolved-symbol", test_unresolved_symbol);
	g_test_add_func("/loader/misnamed-duplicate", test_misnamed);
	g_test_add_func("/loader/not-found", test_not_found);
	g_test_add_func("/loader/not-elf", test_not_elf);
	g_test_add_func("/loader/insecure-file", test_insecure_file);
	g_test_add_func("/loader/search-order-and-list", test_search_order_and_list);
	g_test_add_func("/loader/init-failure-keeps-nothing", test_init_failure_keeps_nothing);
	return g_test_run();
}
