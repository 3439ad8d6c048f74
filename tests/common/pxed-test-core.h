/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * A real core in the test's own process, for tests that drive plugins
 * through it (pxed_core_boot(), pxed_core_open_file(), a plugin's decision
 * code over a handle, pxed_test_core_instance()) without a daemon or sockets.
 */

#include "pxed-core.h"
#include "pxed-test.h"

G_BEGIN_DECLS

typedef struct _PxedTestCore PxedTestCore;

/* A temporary folder for the configuration, the state and whatever files the
 * test writes before loading; no core yet. */
PxedTestCore *pxed_test_core_new(void);
/* Frees the core, then removes the folder. Safe on %NULL. */
void pxed_test_core_free(PxedTestCore *self);

const char *pxed_test_core_get_dir(PxedTestCore *self);

/**
 * pxed_test_core_load:
 * @conf: one conf.d fragment (conf.d/50-test.conf); the state folder is set
 *   in a fragment before it (the test's folder), so @conf may add its own
 *   [core] keys
 *
 * Creates the core with the build tree's plugins and loads the configuration
 * without starting protocol instances. Any problem fails the test, printed.
 */
void pxed_test_core_load(PxedTestCore *self, const char *conf);
/* Replaces conf.d/50-test.conf with @conf and reloads the loaded core, as a
 * SIGHUP would (instances whose group did not change are carried over).
 * Any problem fails the test, printed. */
void pxed_test_core_reload(PxedTestCore *self, const char *conf);

PxedCore *pxed_test_core_get_core(PxedTestCore *self);
/* (transfer none) A handle named @name over the loaded core, with the core's
 * state folder, as a plugin instance of the loaded configuration would have;
 * kept until pxed_test_core_free(). */
PxedInstance *pxed_test_core_instance(PxedTestCore *self, const char *name);

/* Puts @lease into @store through @instance and waits, at most 10 s, until it
 * is durable; asserts the store accepted it. */
void pxed_test_lease_put(PxedInstance *instance, PxedLeaseStore *store, PxedLease *lease);

/* (transfer full) The whole of @file, NUL-terminated; asserts it reads whole. */
char *pxed_test_file_read_all(PxedFile *file);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(PxedTestCore, pxed_test_core_free)

G_END_DECLS
