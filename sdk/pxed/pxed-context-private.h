/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Not installed: how a core backs the PxedInstance handles plugins see.
 *
 * A PxedContext is the daemon-wide half of every handle: one vtable over the
 * core (or over a test's fake core). Plugins never see it; each PxedInstance
 * points at it and adds what belongs to the instance (its name, its
 * generation, its state folder), so no call through it needs to name them.
 */

#include "pxed.h"

G_BEGIN_DECLS

typedef struct _PxedContext PxedContext;

typedef struct {
	GMainContext *(*get_main_context)(gpointer core);
	PxedBootReply *(*boot)(gpointer core, PxedClient *client, GError **error);
	PxedFile *(*open_file)(gpointer core, PxedVia via, PxedClient *client, const char *path,
			       GHashTable *query, GError **error);
	/* @source: the instance's name */
	void (*event)(gpointer core, PxedClient *client, const char *source, const char *event,
		      const char *message);
	PxedMachine *(*match)(gpointer core, PxedClient *client);
	gboolean (*note_client)(gpointer core, PxedClient *client, PxedEvidence evidence,
				guint lifetime);
	gboolean (*identify_client)(gpointer core, PxedClient *client);
	PxedLeaseCheck (*check_lease)(gpointer core, PxedClient *client);
	gboolean (*is_reserved)(gpointer core, guint32 address);
	/* Leases (pxed-lease.h); @store is what lease_open returned. @path is
	 * absolute: the instance resolved the store's name against its state
	 * folder. */
	gpointer (*lease_open)(gpointer core, const char *path, GError **error);
	void (*lease_close)(gpointer core, gpointer store);
	PxedLease *(*lease_get)(gpointer core, gpointer store, const char *client_id);
	PxedLease *(*lease_get_by_address)(gpointer core, gpointer store, guint32 address);
	/* completes @task (a boolean) once the lease is durable */
	void (*lease_put)(gpointer core, gpointer store, PxedLease *lease, GTask *task);
	void (*lease_release)(gpointer core, gpointer store, const char *client_id);
	void (*lease_foreach)(gpointer core, gpointer store, PxedLeaseFunc func,
			      gpointer user_data);
} PxedContextVTable;

/* @vtable and @core must outlive the context; the context must outlive every
 * instance made over it. */
PxedContext *pxed_context_new(const PxedContextVTable *vtable, gpointer core);
void pxed_context_free(PxedContext *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(PxedContext, pxed_context_free)

G_END_DECLS
