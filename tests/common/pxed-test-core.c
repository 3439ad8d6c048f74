/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "pxed-test-core.h"

#include <pxed/pxed-instance-private.h>

struct _PxedTestCore {
	char *dir;
	PxedCore *core;
	GPtrArray *instances; /* PxedInstance*, made by pxed_test_core_instance() */
};

PxedTestCore *
pxed_test_core_new(void)
{
	PxedTestCore *self = g_new0(PxedTestCore, 1);

	self->dir = pxed_test_tmpdir_new();
	self->instances = g_ptr_array_new_with_free_func((GDestroyNotify)pxed_instance_unref);
	return self;
}

void
pxed_test_core_free(PxedTestCore *self)
{
	if (self == NULL)
		return;
	/* the handles before the core whose context they point at; the core
	 * before the folder: its stores and event log live in it */
	g_ptr_array_unref(self->instances);
	g_clear_pointer(&self->core, pxed_core_free);
	pxed_test_tmpdir_free(self->dir);
	g_free(self);
}

const char *
pxed_test_core_get_dir(PxedTestCore *self)
{
	return self->dir;
}

static void
load_or_fail(PxedTestCore *self)
{
	g_autoptr(GPtrArray) problems = g_ptr_array_new_with_free_func(g_free);

	if (!pxed_core_load(self->core, FALSE, problems)) {
		for (guint i = 0; i < problems->len; i++)
			g_printerr("%s\n", (const char *)g_ptr_array_index(problems, i));
		g_error("the test's configuration did not load");
	}
}

void
pxed_test_core_load(PxedTestCore *self, const char *conf)
{
	g_autofree char *confd = g_build_filename(self->dir, "conf.d", NULL);
	g_autofree char *state = g_strdup_printf("[core]\nstate-dir=%s\n", self->dir);
	const char *const config_dirs[] = {confd, NULL};
	const char *const plugin_dirs[] = {pxed_test_plugin_dir(), NULL};

	g_assert_null(self->core);
	pxed_test_write_file(confd, "00-state.conf", state);
	pxed_test_write_file(confd, "50-test.conf", conf);
	self->core = pxed_core_new(NULL, config_dirs, plugin_dirs);
	load_or_fail(self);
}

void
pxed_test_core_reload(PxedTestCore *self, const char *conf)
{
	g_autofree char *confd = g_build_filename(self->dir, "conf.d", NULL);

	g_assert_nonnull(self->core);
	pxed_test_write_file(confd, "50-test.conf", conf);
	load_or_fail(self);
}

PxedCore *
pxed_test_core_get_core(PxedTestCore *self)
{
	g_assert_nonnull(self->core);
	return self->core;
}

PxedInstance *
pxed_test_core_instance(PxedTestCore *self, const char *name)
{
	PxedCore *core = pxed_test_core_get_core(self);
	PxedInstance *instance = pxed_instance_new(name, pxed_core_get_context(core), 1,
						   pxed_core_get_state_dir(core), NULL, NULL);

	g_ptr_array_add(self->instances, instance);
	return instance;
}

typedef struct {
	PxedInstance *instance;
	gboolean done;
} LeasePut;

static void
lease_put_done(GObject *source, GAsyncResult *result, gpointer user_data)
{
	LeasePut *put = user_data;
	g_autoptr(GError) error = NULL;

	g_assert_true(pxed_instance_lease_put_finish(put->instance, result, &error));
	g_assert_no_error(error);
	put->done = TRUE;
}

static gboolean
time_up(gpointer user_data)
{
	*(gboolean *)user_data = TRUE;
	return G_SOURCE_REMOVE;
}

void
pxed_test_lease_put(PxedInstance *instance, PxedLeaseStore *store, PxedLease *lease)
{
	LeasePut put = {instance, FALSE};
	gboolean late = FALSE;
	guint timer = g_timeout_add_seconds(10, time_up, &late);

	pxed_instance_lease_put_async(instance, store, lease, lease_put_done, &put);
	while (!put.done && !late)
		g_main_context_iteration(NULL, TRUE);
	if (!late)
		g_source_remove(timer);
	g_assert_true(put.done);
}

char *
pxed_test_file_read_all(PxedFile *file)
{
	gsize size = pxed_file_get_size(file);
	char *buf = g_malloc0(size + 1);

	g_assert_cmpint(pxed_file_read_at(file, 0, buf, size, NULL), ==, (gssize)size);
	return buf;
}
