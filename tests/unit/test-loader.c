/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The plugin loader: a good plugin, and each way a plugin file can be wrong. */
#include "pxed-core.h"
#include "pxed-loader.h"
#include "pxed-test.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const test_dirs[] = {TEST_PLUGIN_DIR, NULL};

/* A folder for plugin files under the build tree: /tmp, where anyone may
 * create names, does not pass the loader's folder check. */
static char *
plugin_tmpdir_new(void)
{
	const char *base = g_getenv("G_TEST_BUILDDIR");
	char *dir = g_build_filename(base != NULL ? base : ".", "loader-XXXXXX", NULL);

	char *real;

	g_assert_nonnull(g_mkdtemp_full(dir, 0755));
	/* the loader names folders as they really are: so do the tests */
	real = realpath(dir, NULL);
	g_assert_nonnull(real);
	g_free(dir);
	return real;
}

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
	g_assert_cmpuint(plugin->struct_size, ==, sizeof(PxedPlugin));
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

/* A descriptor shorter than its minor's: the loader must not read the fields
 * it lacks (here open_file, which lies past the plugin's struct_size). */
static void
test_short_descriptor(void)
{
	g_autofree char *expected = g_strdup_printf(
		"descriptor of %u bytes is smaller than ABI %d.%d's (%u)",
		(guint)G_STRUCT_OFFSET(PxedPlugin, open_file), PXED_ABI_MAJOR, PXED_ABI_MINOR,
		(guint)sizeof(PxedPlugin));

	expect_refused("shortdesc", PXED_LOADER_ERROR_ABI, expected);
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
	g_autofree char *dir = plugin_tmpdir_new();
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
	dir = plugin_tmpdir_new();
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

/* The descriptor handed out is the file at the path, opened read-only and
 * close-on-exec. */
static void
test_open_checked(void)
{
	g_autoptr(GError) error = NULL;
	struct stat by_path, by_fd;
	int fd = pxed_loader_open_checked(TEST_PLUGIN_DIR "/scripted.so", &error);

	g_assert_no_error(error);
	g_assert_cmpint(fd, >=, 0);
	g_assert_cmpint(stat(TEST_PLUGIN_DIR "/scripted.so", &by_path), ==, 0);
	g_assert_cmpint(fstat(fd, &by_fd), ==, 0);
	g_assert_true(S_ISREG(by_fd.st_mode));
	g_assert_cmpuint(by_fd.st_dev, ==, by_path.st_dev);
	g_assert_cmpuint(by_fd.st_ino, ==, by_path.st_ino);
	g_assert_cmpint(fcntl(fd, F_GETFL) & O_ACCMODE, ==, O_RDONLY);
	g_assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	close(fd);
}

/* @path refused as insecure, the message naming @path and then @part. */
static void
expect_insecure(const char *path, const char *part)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *prefix = g_strdup_printf("%s: refused: ", path);

	g_assert_cmpint(pxed_loader_open_checked(path, &error), ==, -1);
	g_assert_error(error, PXED_LOADER_ERROR, PXED_LOADER_ERROR_INSECURE);
	g_test_message("%s", error->message);
	g_assert_true(g_str_has_prefix(error->message, prefix));
	g_assert_nonnull(strstr(error->message, part));
	g_clear_error(&error);
	g_assert_null(pxed_loader_open_file(path, "scripted", &error));
	g_assert_error(error, PXED_LOADER_ERROR, PXED_LOADER_ERROR_INSECURE);
}

static void
expect_loads(const char *path)
{
	g_autoptr(GError) error = NULL;
	g_assert_nonnull(pxed_loader_open_file(path, "scripted", &error));
	g_assert_no_error(error);
}

/* A sound file in a folder others may write to is refused: they could put
 * another file in its place. So is one in a folder its (non-root) group may
 * write to. The same file loads once the folder is closed. */
static void
test_folder_writable(void)
{
	g_autofree char *dir = plugin_tmpdir_new();
	g_autofree char *open_dir = g_build_filename(dir, "open", NULL);
	g_autofree char *path = g_build_filename(open_dir, "scripted.so", NULL);
	g_autofree char *others = g_strdup_printf("folder %s is writable by others", open_dir);

	g_assert_cmpint(mkdir(open_dir, 0755), ==, 0);
	copy_file(TEST_PLUGIN_DIR "/scripted.so", path);
	g_assert_cmpint(chmod(path, 0644), ==, 0);
	g_assert_cmpint(chmod(open_dir, 0777), ==, 0);
	expect_insecure(path, others);
	if (geteuid() == 0) {
		g_autofree char *group =
			g_strdup_printf("folder %s is writable by its group (gid 4242)", open_dir);
		g_assert_cmpint(chown(open_dir, (uid_t)-1, 4242), ==, 0);
		g_assert_cmpint(chmod(open_dir, 0775), ==, 0);
		expect_insecure(path, group);
		/* root's group may write */
		g_assert_cmpint(chown(open_dir, (uid_t)-1, 0), ==, 0);
		expect_loads(path);
	}
	g_assert_cmpint(chmod(open_dir, 0755), ==, 0);
	expect_loads(path);
	pxed_test_tmpdir_free(g_steal_pointer(&dir));
}

/* Every folder above counts. A root-owned sticky one like /tmp is safe (no
 * one else can rename what root put there), but not the folder below it
 * when that one is open to others, nor a sticky folder someone else owns. */
static void
test_ancestor_sticky(void)
{
	g_autofree char *dir = plugin_tmpdir_new();
	g_autofree char *sticky = g_build_filename(dir, "sticky", NULL);
	g_autofree char *plugins = g_build_filename(sticky, "plugins", NULL);
	g_autofree char *path = g_build_filename(plugins, "scripted.so", NULL);
	g_autofree char *below = g_strdup_printf("folder %s is writable by others", plugins);

	g_assert_cmpint(g_mkdir_with_parents(plugins, 0755), ==, 0);
	copy_file(TEST_PLUGIN_DIR "/scripted.so", path);
	g_assert_cmpint(chmod(path, 0644), ==, 0);
	g_assert_cmpint(chmod(sticky, 01777), ==, 0);
	if (geteuid() == 0) {
		g_autofree char *foreign =
			g_strdup_printf("folder %s is owned by uid 4242, not root", sticky);
		expect_loads(path);
		/* a sticky folder open to others with its entries open too */
		g_assert_cmpint(chmod(plugins, 0777), ==, 0);
		expect_insecure(path, below);
		g_assert_cmpint(chmod(plugins, 0755), ==, 0);
		/* sticky, but someone else's */
		g_assert_cmpint(chown(sticky, 4242, (gid_t)-1), ==, 0);
		expect_insecure(path, foreign);
	} else {
		/* not root's: the sticky bit does not help */
		g_autofree char *others = g_strdup_printf("folder %s is writable by others", sticky);
		expect_insecure(path, others);
	}
	pxed_test_tmpdir_free(g_steal_pointer(&dir));
}

/* Running as root, a file root does not own is refused. */
static void
test_file_owner(void)
{
	g_autofree char *dir = NULL;
	g_autofree char *path = NULL;

	if (geteuid() != 0) {
		g_test_skip("handing a file to another user needs root");
		return;
	}
	dir = plugin_tmpdir_new();
	path = g_build_filename(dir, "scripted.so", NULL);
	copy_file(TEST_PLUGIN_DIR "/scripted.so", path);
	g_assert_cmpint(chmod(path, 0644), ==, 0);
	g_assert_cmpint(chown(path, 4242, (gid_t)-1), ==, 0);
	expect_insecure(path, "the file is owned by uid 4242, not root");
	pxed_test_tmpdir_free(g_steal_pointer(&dir));
}

/* A link to the plugin folder, in a safe folder, is followed: the folders
 * checked are those of the file it leads to. */
static void
test_symlinked_folder(void)
{
	g_autofree char *dir = plugin_tmpdir_new();
	g_autofree char *link = g_build_filename(dir, "link", NULL);
	g_autofree char *path = g_build_filename(link, "scripted.so", NULL);

	g_assert_cmpint(symlink(TEST_PLUGIN_DIR, link), ==, 0);
	expect_loads(path);
	pxed_test_tmpdir_free(g_steal_pointer(&dir));
}

static guint
open_descriptors(void)
{
	g_autoptr(GDir) d = g_dir_open("/proc/self/fd", 0, NULL);
	guint n = 0;

	g_assert_nonnull(d);
	while (g_dir_read_name(d) != NULL)
		n++;
	return n;
}

/* The object mapped is the checked descriptor's file, loaded through
 * /proc/self/fd/N, not the path looked up again: its name in the dynamic
 * linker is that of a descriptor still open on the file. Two files in turn
 * are two objects (a descriptor number used again must not hand out the
 * first); the same file again is the same object and costs no descriptor. */
static void
test_loaded_from_descriptor(void)
{
	g_autofree char *dir = plugin_tmpdir_new();
	g_autofree char *a = g_build_filename(dir, "a", NULL);
	g_autofree char *b = g_build_filename(dir, "b", NULL);
	g_autofree char *path_a = g_build_filename(a, "scripted.so", NULL);
	g_autofree char *path_b = g_build_filename(b, "scripted.so", NULL);
	g_autoptr(GError) error = NULL;
	const PxedPlugin *plugin_a, *plugin_b;
	struct stat by_path, by_fd;
	Dl_info info;
	int fd;
	guint before;

	g_assert_cmpint(mkdir(a, 0755), ==, 0);
	g_assert_cmpint(mkdir(b, 0755), ==, 0);
	copy_file(TEST_PLUGIN_DIR "/scripted.so", path_a);
	copy_file(TEST_PLUGIN_DIR "/scripted.so", path_b);
	g_assert_cmpint(chmod(path_a, 0644), ==, 0);
	g_assert_cmpint(chmod(path_b, 0644), ==, 0);

	plugin_a = pxed_loader_open_file(path_a, "scripted", &error);
	g_assert_no_error(error);
	g_assert_cmpint(dladdr(plugin_a, &info), !=, 0);
	g_test_message("%s is loaded as %s", path_a, info.dli_fname);
	g_assert_true(g_str_has_prefix(info.dli_fname, "/proc/self/fd/"));
	fd = (int)g_ascii_strtoll(info.dli_fname + strlen("/proc/self/fd/"), NULL, 10);
	g_assert_cmpint(fstat(fd, &by_fd), ==, 0);
	g_assert_cmpint(stat(path_a, &by_path), ==, 0);
	g_assert_cmpuint(by_fd.st_dev, ==, by_path.st_dev);
	g_assert_cmpuint(by_fd.st_ino, ==, by_path.st_ino);

	plugin_b = pxed_loader_open_file(path_b, "scripted", &error);
	g_assert_no_error(error);
	g_assert_true(plugin_b != plugin_a);

	before = open_descriptors();
	g_assert_true(pxed_loader_open_file(path_a, "scripted", &error) == plugin_a);
	g_assert_no_error(error);
	g_assert_cmpuint(open_descriptors(), ==, before);
	pxed_test_tmpdir_free(g_steal_pointer(&dir));
}

static void
test_search_order_and_list(void)
{
	/* the same name in two folders: the first folder wins, the list says so */
	g_autofree char *first = plugin_tmpdir_new();
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
	/* scripted twice, lineproto, initfail, initsilent load; the six broken ones do not */
	g_assert_cmpuint(shadowed, ==, 1);
	g_assert_cmpuint(good, ==, 5);
	g_assert_cmpuint(refused, ==, 6);
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
	g_assert_null(pxed_core_get_runners(core));
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
	g_test_add_func("/loader/short-descriptor", test_short_descriptor);
	g_test_add_func("/loader/no-descriptor", test_no_descriptor);
	g_test_add_func("/loader/unresolved-symbol", test_unresolved_symbol);
	g_test_add_func("/loader/misnamed-duplicate", test_misnamed);
	g_test_add_func("/loader/not-found", test_not_found);
	g_test_add_func("/loader/not-elf", test_not_elf);
	g_test_add_func("/loader/insecure-file", test_insecure_file);
	g_test_add_func("/loader/open-checked", test_open_checked);
	g_test_add_func("/loader/folder-writable", test_folder_writable);
	g_test_add_func("/loader/ancestor-sticky", test_ancestor_sticky);
	g_test_add_func("/loader/file-owner", test_file_owner);
	g_test_add_func("/loader/symlinked-folder", test_symlinked_folder);
	g_test_add_func("/loader/loaded-from-descriptor", test_loaded_from_descriptor);
	g_test_add_func("/loader/search-order-and-list", test_search_order_and_list);
	g_test_add_func("/loader/init-failure-keeps-nothing", test_init_failure_keeps_nothing);
	return g_test_run();
}
