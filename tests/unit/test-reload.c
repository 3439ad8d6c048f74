/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What a reload gives each plugin instance: one whose group did not change
 * is carried over with its handle, a changed one is created anew, and each
 * keeps the state folder of the generation that created it (its leases stay
 * where it opened them, whatever a later `[core] state-dir` says).
 */
#include "pxed-test-core.h"

#include <glib/gstdio.h>

/* The instance the loaded configuration runs for @group. */
static PxedInstance *
instance_of(PxedTestCore *tc, const char *group)
{
	GPtrArray *runners = pxed_core_get_runners(pxed_test_core_get_core(tc));

	for (guint i = 0; runners != NULL && i < runners->len; i++) {
		PxedRunner *runner = g_ptr_array_index(runners, i);
		if (g_str_equal(runner->name, group))
			return runner->instance;
	}
	g_error("no instance %s in the loaded configuration", group);
}

/* Opens @instance's lease store by a relative name and closes it again: the
 * file store writes its file at once, in the folder the name resolved to. */
static void
open_store(PxedInstance *instance, const char *name)
{
	g_autoptr(GError) error = NULL;
	PxedLeaseStore *store = pxed_instance_lease_open(instance, name, &error);

	g_assert_no_error(error);
	g_assert_nonnull(store);
	pxed_instance_lease_close(instance, store);
}

static gboolean
exists_in(const char *dir, const char *name)
{
	g_autofree char *path = g_build_filename(dir, name, NULL);
	return g_file_test(path, G_FILE_TEST_IS_REGULAR);
}

static void
test_state_dir_per_generation(void)
{
	g_autoptr(PxedTestCore) tc = pxed_test_core_new();
	const char *old_dir = pxed_test_core_get_dir(tc);
	g_autofree char *new_dir = g_build_filename(old_dir, "moved", NULL);
	g_autofree char *reload_conf = NULL;
	PxedInstance *kept;
	PxedInstance *changed;

	/* the fixture's own fragment sets state-dir to its folder; lineproto
	 * is a protocol, the kind a reload carries over */
	pxed_test_core_load(tc, "[core]\n"
				"plugin-path=" TEST_PLUGIN_DIR "\n"
				"[lineproto:kept]\n"
				"[lineproto:changed]\n"
				"listen=127.0.0.1:0\n");
	kept = instance_of(tc, "lineproto:kept");
	g_assert_cmpstr(pxed_instance_get_state_dir(kept), ==, old_dir);

	/* the core creates the folder when it starts a generation; this one
	 * is only loaded, so the test makes it */
	g_assert_cmpint(g_mkdir(new_dir, 0750), ==, 0);
	reload_conf = g_strdup_printf("[core]\n"
				      "plugin-path=" TEST_PLUGIN_DIR "\n"
				      "state-dir=%s\n"
				      "[lineproto:kept]\n"
				      "[lineproto:changed]\n"
				      "listen=127.0.0.1:1\n",
				      new_dir);
	pxed_test_core_reload(tc, reload_conf);
	g_assert_cmpstr(pxed_core_get_state_dir(pxed_test_core_get_core(tc)), ==, new_dir);

	/* the unchanged group keeps its handle, the changed one gets a new one */
	g_assert_true(instance_of(tc, "lineproto:kept") == kept);
	changed = instance_of(tc, "lineproto:changed");
	g_assert_cmpuint(pxed_instance_get_generation(changed), >,
			 pxed_instance_get_generation(kept));

	g_assert_cmpstr(pxed_instance_get_state_dir(changed), ==, new_dir);
	g_assert_cmpstr(pxed_instance_get_state_dir(kept), ==, old_dir);

	/* the stores they open after the reload land in their own folders */
	open_store(changed, "changed.leases");
	open_store(kept, "kept.leases");
	g_assert_true(exists_in(new_dir, "changed.leases"));
	g_assert_false(exists_in(old_dir, "changed.leases"));
	g_assert_true(exists_in(old_dir, "kept.leases"));
	g_assert_false(exists_in(new_dir, "kept.leases"));
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/reload/state-dir-per-generation", test_state_dir_per_generation);
	return g_test_run();
}
