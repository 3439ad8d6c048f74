/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "fuzz-common.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>

static GLogWriterOutput
fuzz_writer(GLogLevelFlags level, const GLogField *fields, gsize n_fields, gpointer user_data)
{
	gboolean verbose = GPOINTER_TO_INT(user_data);

	if (level & (G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_ERROR)) {
		g_log_writer_standard_streams(level, fields, n_fields, NULL);
		abort();
	}
	if (verbose)
		return g_log_writer_standard_streams(level, fields, n_fields, NULL);
	return G_LOG_WRITER_HANDLED;
}

void
pxed_fuzz_init(void)
{
	gboolean verbose = g_strcmp0(g_getenv("PXED_FUZZ_VERBOSE"), "1") == 0;

	g_log_set_writer_func(fuzz_writer, GINT_TO_POINTER(verbose), NULL);
}

static char *data_dir;

static int
remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

/* Everything the targets put there (the pxelinux target's conf.d, state). */
static void
remove_data_dir(void)
{
	nftw(data_dir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

const char *
pxed_fuzz_data_dir(void)
{
	static const char *const files[][2] = {
		{"ignition/a.ign",
		 "{\"ignition\": {\"version\": \"3.0.0\"}, \"x\": \"{{mac}}\"}\n"},
		{"cloud/a.yaml", "#cloud-config\nhostname: {{metadata.hostname}}\n"},
		{"generic/a.txt", "{{each initrd}}{{.}} {{end}}\n"},
		{"a.tmpl", "#!ipxe\nkernel {{kernel}} {{args}}\n"},
	};

	if (data_dir != NULL)
		return data_dir;
	data_dir = g_dir_make_tmp("pxed-fuzz-XXXXXX", NULL);
	g_assert_nonnull(data_dir);
	for (guint i = 0; i < G_N_ELEMENTS(files); i++) {
		g_autofree char *path = g_build_filename(data_dir, files[i][0], NULL);
		g_autofree char *parent = g_path_get_dirname(path);
		g_assert_cmpint(g_mkdir_with_parents(parent, 0700), ==, 0);
		g_assert_true(g_file_set_contents(path, files[i][1], -1, NULL));
	}
	atexit(remove_data_dir);
	return data_dir;
}
