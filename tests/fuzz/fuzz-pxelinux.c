/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The names a PXELINUX client asks for under pxelinux.cfg/ (a UUID,
 * 01-MAC, hex address prefixes, default — or anything at all), through the
 * core's file pipeline (path normalisation) into the pxelinux plugin: its
 * hand-written lookup and its rendering from the inventory.
 *
 * Input: the name, appended to "pxelinux.cfg/". The core is loaded once, with
 * the pxelinux plugin of the build tree, a hand-written folder and an
 * inventory with a UUID, a MAC and an architecture group.
 */
#include <string.h>

#include "fuzz-common.h"
#include "pxed-core.h"

#define UUID_B "8a6c3b52-1a2b-4c5d-9e0f-00112233bbbb"

static PxedCore *core;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const char *const plugin_dirs[] = {PXED_FUZZ_PLUGIN_DIR, NULL};
	const char *dir;
	g_autofree char *confd = NULL;
	g_autofree char *cfg = NULL;
	g_autofree char *conf = NULL;
	g_autofree char *conf_file = NULL;
	g_autofree char *hand = NULL;
	g_autoptr(GPtrArray) problems = g_ptr_array_new_with_free_func(g_free);
	const char *dirs[2] = {NULL, NULL};

	pxed_fuzz_init();
	g_setenv("PXED_PLUGINDIR", "/nonexistent-pxed-plugins", TRUE);
	dir = pxed_fuzz_data_dir();
	confd = g_build_filename(dir, "conf.d", NULL);
	cfg = g_build_filename(dir, "cfg", NULL);
	g_assert_cmpint(g_mkdir_with_parents(confd, 0700), ==, 0);
	g_assert_cmpint(g_mkdir_with_parents(cfg, 0700), ==, 0);
	hand = g_build_filename(cfg, "01-52-54-00-00-00-0c", NULL);
	g_assert_true(g_file_set_contents(hand, "LABEL handwritten\n", -1, NULL));
	conf = g_strdup_printf(
		"[core]\nstate-dir=%s\n[pxelinux]\nconfig-dir=%s\n"
		"[pipeline]\ntftp=pxelinux\nboot=pxelinux\n"
		"[profile:fallback]\nkernel=/fallback/vmlinuz\nargs=fallback\n"
		"[profile:node]\nkernel=/node/vmlinuz\ninitrd=/node/initrd.img;/node/extra.img\n"
		"args=console=ttyS0\n"
		"[profile:templated]\nkernel=/t/vmlinuz\nargs=a b\npxelinux-template=%s/a.tmpl\n"
		"[group:default]\nprofile=fallback\n"
		"[group:by-mac]\nprofile=node\nselector.mac=52:54:00:00:00:0a\n"
		"[group:by-uuid]\nprofile=templated\nselector.uuid=" UUID_B "\n"
		"metadata.hostname=b.example\n",
		dir, cfg, dir);
	conf_file = g_build_filename(confd, "10.conf", NULL);
	g_assert_true(g_file_set_contents(conf_file, conf, -1, NULL));
	dirs[0] = confd;
	core = pxed_core_new(NULL, dirs, plugin_dirs);
	if (!pxed_core_load(core, FALSE, problems)) {
		for (guint i = 0; i < problems->len; i++)
			g_printerr("%s\n", (const char *)g_ptr_array_index(problems, i));
		g_error("the fuzz configuration does not load");
	}
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	g_autofree char *name = g_strndup((const char *)data, size);
	g_autofree char *path = g_strconcat("pxelinux.cfg/", name, NULL);
	g_autoptr(PxedClient) client = pxed_client_new();
	g_autoptr(GInetAddress) address = g_inet_address_new_from_string("10.250.0.5");
	g_autoptr(PxedFile) file = NULL;
	g_autoptr(GError) error = NULL;

	pxed_client_set_address(client, address);
	pxed_client_set_arch(client, size > 0 && data[0] & 1 ? 0 : 7);
	file = pxed_core_open_file(core, PXED_VIA_TFTP, client, path, NULL, &error);
	if (file == NULL) {
		g_assert_nonnull(error);
		g_assert_true(error->domain == PXED_ERROR);
		return 0;
	}
	{
		char buf[4096];
		gssize n = pxed_file_read_at(file, 0, buf, sizeof(buf), &error);
		g_assert_cmpint(n, >=, 0);
	}
	return 0;
}
