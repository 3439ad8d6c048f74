/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * A fake core for unit tests of a plugin's decision code: the plugin's code
 * gets a PxedInstance handle over it (pxed_test_context_instance()), and
 * what the core would answer (the boot pipeline, the inventory, notes) comes
 * from callbacks the test sets, everything it leaves unset has a neutral
 * default, and leases go to the core's real file store (core/pxed-store.c) in
 * a temporary folder — so a test sees the store's real behaviour, not a
 * re-implementation of it.
 *
 * This is the one place outside the core and the SDK that builds a context
 * from the private vtable: tests include this header, never
 * <pxed/pxed-context-private.h>.
 */

#include <pxed/pxed.h>

#include "pxed-store.h"

G_BEGIN_DECLS

/**
 * PxedTestContextCallbacks:
 *
 * Every member may be %NULL. The defaults: @boot and @open_file fail with
 * PXED_ERROR_NOT_FOUND; @match returns %NULL; @is_reserved, @note_client and
 * @identify_client return %FALSE; @check_lease returns
 * PXED_LEASE_CHECK_NO_LEASES; @event does nothing; @now is the wall clock.
 * Each gets the user_data given to pxed_test_context_new().
 */
typedef struct {
	PxedBootReply *(*boot)(gpointer user_data, PxedClient *client, GError **error);
	PxedFile *(*open_file)(gpointer user_data, PxedVia via, PxedClient *client,
			       const char *path, GHashTable *query, GError **error);
	void (*event)(gpointer user_data, PxedClient *client, const char *source, const char *event,
		      const char *message);
	PxedMachine *(*match)(gpointer user_data, PxedClient *client);
	gboolean (*note_client)(gpointer user_data, PxedClient *client, PxedEvidence evidence,
				guint lifetime);
	gboolean (*identify_client)(gpointer user_data, PxedClient *client);
	PxedLeaseCheck (*check_lease)(gpointer user_data, PxedClient *client);
	gboolean (*is_reserved)(gpointer user_data, guint32 address);
	/* wall-clock seconds, for a released lease's end */
	gint64 (*now)(gpointer user_data);
} PxedTestContextCallbacks;

typedef struct _PxedTestContext PxedTestContext;

/* Creates the temporary folder (the state folder) and opens the lease store
 * "leases" in it. @callbacks must outlive the context. */
PxedTestContext *pxed_test_context_new(const PxedTestContextCallbacks *callbacks,
				       gpointer user_data);
/* Closes the store (completing pending writes), removes the folder. Safe on %NULL. */
void pxed_test_context_free(PxedTestContext *self);

/* (transfer none) A handle named @name (the events' source) over the fake
 * core, as the core gives one to a plugin: generation 1, the temporary folder
 * as its state folder. The context keeps it until pxed_test_context_free();
 * whatever took a reference must drop it before that. */
PxedInstance *pxed_test_context_instance(PxedTestContext *self, const char *name);
/* The state folder. */
const char *pxed_test_context_get_dir(PxedTestContext *self);
/* The lease store, as the core's store API sees it. */
PxedStore *pxed_test_context_get_store(PxedTestContext *self);
/* The same store as the plugin API's handle: what pxed_instance_lease_open()
 * returns, whatever name it is given. */
PxedLeaseStore *pxed_test_context_get_lease_store(PxedTestContext *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(PxedTestContext, pxed_test_context_free)

G_END_DECLS
