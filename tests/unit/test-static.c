/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The static store through the core's file pipeline: hostile paths refused, good ones byte-exact.
 */
#include "pxed-test-core.h"

#include <errno.h>
#include <stdio.h>
#include <gio/gunixsocketaddress.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

typedef struct {
	PxedTestCore *tc;
	const char *dir; /* the test core's: holds root/ and things outside it */
	char *root;
	GSocket *sock;
	gboolean have_device;
} Fixture;

static GBytes *
random_bytes(gsize len, guint32 seed)
{
	guint8 *data = g_malloc(len);
	GRand *rand = g_rand_new_with_seed(seed);
	for (gsize i = 0; i < len; i++)
		data[i] = (guint8)g_rand_int(rand);
	g_rand_free(rand);
	return g_bytes_new_take(data, len);
}

static void
write_bytes(const char *dir, const char *name, GBytes *bytes)
{
	g_autofree char *path = g_build_filename(dir, name, NULL);
	g_autofree char *parent = g_path_get_dirname(path);
	gsize len;
	const char *data = g_bytes_get_data(bytes, &len);
	g_assert_cmpint(g_mkdir_with_parents(parent, 0755), ==, 0);
	g_assert_true(g_file_set_contents(path, data, (gssize)len, NULL));
}

static void
symlink_in(const char *dir, const char *target, const char *name)
{
	g_autofree char *path = g_build_filename(dir, name, NULL);
	g_assert_cmpint(symlink(target, path), ==, 0);
}

static void
fixture_setup(Fixture *f, gconstpointer data)
{
	g_autoptr(GBytes) boot = random_bytes(70 * 1024 + 17, 1);
	g_autoptr(GBytes) deep = random_bytes(300000, 2);
	g_autofree char *fifo = NULL;
	g_autofree char *sock = NULL;
	g_autofree char *abs_inside = NULL;
	g_autofree char *outside = NULL;
	g_autofree char *dev = NULL;
	g_autoptr(GSocketAddress) addr = NULL;

	f->tc = pxed_test_core_new();
	f->dir = pxed_test_core_get_dir(f->tc);
	f->root = g_build_filename(f->dir, "root", NULL);
	write_bytes(f->root, "pxelinux.0", boot);
	write_bytes(f->root, "deep/a/b/c/file.bin", deep);
	pxed_test_write_file(f->root, "pxelinux.cfg/default", "DEFAULT linux\n");
	pxed_test_write_file(f->root, "etc/passwd", "inside the root\n");
	pxed_test_write_file(f->dir, "outside.txt", "SECRET outside the root\n");
	outside = g_build_filename(f->dir, "outside.txt", NULL);
	abs_inside = g_build_filename(f->root, "pxelinux.cfg", "default", NULL);

	symlink_in(f->root, "pxelinux.cfg/default", "link-inside");
	symlink_in(f->root, abs_inside, "link-abs-inside");
	symlink_in(f->root, outside, "link-out");
	symlink_in(f->root, "../outside.txt", "link-dotdot");
	symlink_in(f->root, f->dir, "dir-link");
	symlink_in(f->root, "/etc/passwd", "link-etc");
	symlink_in(f->root, "deep/../../outside.txt", "link-sneaky");

	fifo = g_build_filename(f->root, "fifo", NULL);
	g_assert_cmpint(mkfifo(fifo, 0644), ==, 0);
	sock = g_build_filename(f->root, "sock", NULL);
	f->sock = g_socket_new(G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_STREAM, 0, NULL);
	addr = g_unix_socket_address_new(sock);
	g_assert_true(g_socket_bind(f->sock, addr, FALSE, NULL));
	dev = g_build_filename(f->root, "dev-null", NULL);
	f->have_device = mknod(dev, S_IFCHR | 0644, makedev(1, 3)) == 0;
	if (!f->have_device)
		symlink_in(f->root, "/dev/null", "dev-null");
}

static void
fixture_teardown(Fixture *f, gconstpointer data)
{
	g_clear_object(&f->sock);
	pxed_test_core_free(f->tc);
	g_free(f->root);
}

/* (transfer none): the fixture's core, loaded with @extra */
static PxedCore *
make_core(Fixture *f, const char *extra)
{
	g_autofree char *conf = g_strdup_printf("[static]\nroot=%s\n%s", f->root, extra);

	pxed_test_core_load(f->tc, conf);
	return pxed_test_core_get_core(f->tc);
}

static GBytes *
read_all(PxedFile *file)
{
	guint64 size = pxed_file_get_size(file);
	guint8 *buf = g_malloc(size + 1);
	gssize n = pxed_file_read_at(file, 0, buf, size + 1, NULL);
	g_assert_cmpint(n, ==, (gssize)size);
	return g_bytes_new_take(buf, size);
}

static GBytes *
disk_bytes(const char *root, const char *rel)
{
	g_autofree char *path = g_build_filename(root, rel, NULL);
	char *data = NULL;
	gsize len = 0;
	g_assert_true(g_file_get_contents(path, &data, &len, NULL));
	return g_bytes_new_take(data, len);
}

/* At least 25 ways to ask for something that must not be served. */
static const char *const hostile[] = {
	"../outside.txt",
	"..\\outside.txt",
	"/../outside.txt",
	"\\..\\outside.txt",
	"pxelinux.cfg/../../outside.txt",
	"pxelinux.cfg\\..\\..\\outside.txt",
	"deep/a/b/c/../../../../../outside.txt",
	"pxelinux.0/../../outside.txt",
	"link-inside/../../outside.txt",
	"dir-link/../outside.txt",
	"%2e%2e/outside.txt",
	"%2e%2e%2foutside.txt",
	"..%2foutside.txt",
	"%252e%252e/outside.txt",
	"pxelinux.0\n",
	"pxelinux.0\x01",
	"link-out",
	"link-dotdot",
	"link-etc",
	"link-sneaky",
	"dir-link/outside.txt",
	"dir-link", /* a folder outside */
	"fifo",
	"sock",
	"dev-null",
	"pxelinux.cfg",
	"pxelinux.cfg/",
	"deep/a",
	".",
	"/",
	"",
	"~/outside.txt",
	"/proc/self/root/etc/passwd",
	"\xc0\xae\xc0\xae/outside.txt", /* overlong UTF-8 dots */
};

static void
test_hostile(Fixture *f, gconstpointer data)
{
	PxedCore *core = make_core(f, "[pipeline]\ntftp=static\n");

	g_assert_cmpuint(G_N_ELEMENTS(hostile), >=, 25);
	for (guint i = 0; i < G_N_ELEMENTS(hostile); i++) {
		g_autoptr(GError) error = NULL;
		g_autoptr(PxedFile) file =
			pxed_core_open_file(core, PXED_VIA_TFTP, NULL, hostile[i], NULL, &error);
		g_autofree char *shown = g_strescape(hostile[i], NULL);
		g_test_message("%s -> %s", shown, error != NULL ? error->message : "SERVED");
		g_assert_null(file);
		g_assert_nonnull(error);
		g_assert_true(error->domain == PXED_ERROR);
		g_assert_true(error->code == PXED_ERROR_NOT_FOUND ||
			      error->code == PXED_ERROR_DENIED);
	}
}

static void
test_escapes_are_denied_not_missing(Fixture *f, gconstpointer data)
{
	/* the escapes that name a real target say "refused" (TFTP error 2, HTTP 403) */
	const char *denied[] = {
		"../outside.txt",	"link-out", "link-dotdot", "link-etc", "link-sneaky",
		"dir-link/outside.txt", "fifo",	    "sock",	   "dev-null", "pxelinux.cfg"};
	PxedCore *core = make_core(f, "[pipeline]\ntftp=static\n");

	for (guint i = 0; i < G_N_ELEMENTS(denied); i++) {
		g_autoptr(GError) error = NULL;
		g_autoptr(PxedFile) file =
			pxed_core_open_file(core, PXED_VIA_TFTP, NULL, denied[i], NULL, &error);
		g_test_message("%s -> %s", denied[i], error ? error->message : "SERVED");
		g_assert_error(error, PXED_ERROR, PXED_ERROR_DENIED);
	}
}

static void
test_good_paths(Fixture *f, gconstpointer data)
{
	const struct {
		const char *request;
		const char *on_disk;
		const char *type;
	} good[] = {
		{"pxelinux.0", "pxelinux.0", "application/octet-stream"},
		{"/pxelinux.0", "pxelinux.0", NULL},
		{"\\pxelinux.cfg\\default", "pxelinux.cfg/default", NULL},
		{"deep/a/b/c/file.bin", "deep/a/b/c/file.bin", NULL},
		{"//deep//a/./b/c/file.bin", "deep/a/b/c/file.bin", NULL},
		{"link-inside", "pxelinux.cfg/default", NULL},
		{"link-abs-inside", "pxelinux.cfg/default", NULL},
		/* an absolute path means the root's, never the host's */
		{"/etc/passwd", "etc/passwd", NULL},
	};
	PxedCore *core = make_core(f, "[pipeline]\ntftp=static\nhttp=static\n");

	for (guint i = 0; i < G_N_ELEMENTS(good); i++) {
		g_autoptr(GError) error = NULL;
		g_autoptr(PxedFile) file = pxed_core_open_file(core, PXED_VIA_HTTP, NULL,
							       good[i].request, NULL, &error);
		g_autoptr(GBytes) got = NULL;
		g_autoptr(GBytes) want = disk_bytes(f->root, good[i].on_disk);
		g_assert_no_error(error);
		got = read_all(file);
		g_assert_true(g_bytes_equal(got, want));
		g_assert_cmpstr(pxed_file_get_origin(file), ==, "static");
		g_assert_cmpint(pxed_file_get_fd(file), >=, 0);
		if (good[i].type != NULL)
			g_assert_cmpstr(pxed_file_get_content_type(file), ==, good[i].type);
	}
}

static void
test_follow_outside(Fixture *f, gconstpointer data)
{
	PxedCore *core = make_core(f, "follow-symlinks-outside=true\n[pipeline]\ntftp=static\n");
	g_autoptr(GError) error = NULL;
	g_autoptr(PxedFile) file =
		pxed_core_open_file(core, PXED_VIA_TFTP, NULL, "link-out", NULL, &error);
	g_autoptr(GBytes) got = NULL;
	g_autoptr(GBytes) want = disk_bytes(f->dir, "outside.txt");

	g_assert_no_error(error);
	got = read_all(file);
	g_assert_true(g_bytes_equal(got, want));
	/* '..' in the request is still refused: only symlinks are let out */
	g_clear_pointer(&file, pxed_file_unref);
	file = pxed_core_open_file(core, PXED_VIA_TFTP, NULL, "../outside.txt", NULL, &error);
	g_assert_error(error, PXED_ERROR, PXED_ERROR_DENIED);
	g_clear_error(&error);
	/* and special files stay refused */
	file = pxed_core_open_file(core, PXED_VIA_TFTP, NULL, "dev-null", NULL, &error);
	g_assert_error(error, PXED_ERROR, PXED_ERROR_DENIED);
}

static void
test_prefix_instances(Fixture *f, gconstpointer data)
{
	g_autofree char *extra = g_strdup_printf(
		"[static:images]\nroot=%s/deep\nprefix=/images/\n[pipeline]\ntftp=static:images\n"
		"http=static:images;static\n",
		f->root);
	PxedCore *core = make_core(f, extra);
	g_autoptr(GError) error = NULL;
	g_autoptr(PxedFile) file = NULL;
	g_autoptr(GBytes) want = disk_bytes(f->root, "deep/a/b/c/file.bin");
	g_autoptr(GBytes) got = NULL;

	file = pxed_core_open_file(core, PXED_VIA_TFTP, NULL, "images/a/b/c/file.bin", NULL,
				   &error);
	g_assert_no_error(error);
	g_assert_cmpstr(pxed_file_get_origin(file), ==, "static:images");
	got = read_all(file);
	g_assert_true(g_bytes_equal(got, want));
	g_clear_pointer(&file, pxed_file_unref);
	/* outside the prefix, static:images declines; tftp has nothing else */
	file = pxed_core_open_file(core, PXED_VIA_TFTP, NULL, "pxelinux.0", NULL, &error);
	g_assert_error(error, PXED_ERROR, PXED_ERROR_NOT_FOUND);
	g_clear_error(&error);
	/* over http the next backend gets it */
	file = pxed_core_open_file(core, PXED_VIA_HTTP, NULL, "pxelinux.0", NULL, &error);
	g_assert_no_error(error);
	g_assert_cmpstr(pxed_file_get_origin(file), ==, "static");
}

static void
test_large_file_streams(Fixture *f, gconstpointer data)
{
	/* a file far bigger than any buffer: opened, sized and read in pieces */
	g_autofree char *path = g_build_filename(f->root, "big.img", NULL);
	PxedCore *core = NULL;
	g_autoptr(PxedFile) file = NULL;
	g_autoptr(GError) error = NULL;
	FILE *fp = fopen(path, "w");
	guint8 buf[8192];

	g_assert_nonnull(fp);
	/* sparse 3 GiB: size past 32 bits, no disk used */
	g_assert_cmpint(fseeko(fp, (off_t)3 * 1024 * 1024 * 1024 - 1, SEEK_SET), ==, 0);
	g_assert_cmpint(fputc('Z', fp), ==, 'Z');
	fclose(fp);
	core = make_core(f, "[pipeline]\ntftp=static\n");
	file = pxed_core_open_file(core, PXED_VIA_TFTP, NULL, "big.img", NULL, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(pxed_file_get_size(file), ==, (guint64)3 * 1024 * 1024 * 1024);
	g_assert_cmpint(
		pxed_file_read_at(file, pxed_file_get_size(file) - 1, buf, sizeof(buf), NULL), ==,
		1);
	g_assert_cmpint(buf[0], ==, 'Z');
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_setenv("PXED_STATE_DIR", g_get_tmp_dir(), TRUE);
	g_test_add("/static/hostile", Fixture, NULL, fixture_setup, test_hostile, fixture_teardown);
	g_test_add("/static/escapes-denied", Fixture, NULL, fixture_setup,
		   test_escapes_are_denied_not_missing, fixture_teardown);
	g_test_add("/static/good", Fixture, NULL, fixture_setup, test_good_paths, fixture_teardown);
	g_test_add("/static/follow-outside", Fixture, NULL, fixture_setup, test_follow_outside,
		   fixture_teardown);
	g_test_add("/static/prefix-instances", Fixture, NULL, fixture_setup, test_prefix_instances,
		   fixture_teardown);
	g_test_add("/static/large-file", Fixture, NULL, fixture_setup, test_large_file_streams,
		   fixture_teardown);
	return g_test_run();
}
