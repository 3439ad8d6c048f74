/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Not installed: how the core backs the PxedContext handle plugins see. */

#include "pxed.h"

G_BEGIN_DECLS

typedef struct {
	GMainContext *(*get_main_context)(gpointer core);
	const char *(*get_state_dir)(gpointer core);
	PxedBootReply *(*boot)(gpointer core, PxedClient *client, GError **error);
	PxedFile *(*open_file)(gpointer core, PxedVia via, PxedClient *client, const char *path,
			       GHashTable *query, GError **error);
	void (*event)(gpointer core, PxedClient *client, const char *source, const char *event,
		      const char *message);
	PxedMachine *(*match)(gpointer core, PxedClient *client);
	gboolean (*note_client)(gpointer core, PxedClient *client, PxedEvidence evidence,
				guint lifetime);
	gboolean (*identify_client)(gpointer core, PxedClient *client);
	PxedLeaseCheck (*check_lease)(gpointer core, PxedClient *client);
	gboolean (*is_reserved)(gpointer core, guint32 address);
	/* Leases (pxed-lease.h); @store is what lease_open returned. */
	gpointer (*lease_open)(gpointer core, const char *name, GError **error);
	void (*lease_close)(gpointer core, gpointer store);
	PxedLease *(*lease_get)(gpointer core, gpointer store, const char *client_id);
	PxedLease *(*lease_get_by_address)(gpointer core, gpointer store, guint32 address);
	/* completes @task (a boolean) once the lease is durable */
	void (*lease_put)(gpointer core, gpointer store, PxedLease *lease, GTask *task);
	void (*lease_release)(gpointer core, gpointer store, const char *client_id);
	void (*lease_foreach)(gpointer core, gpointer store, PxedLeaseFunc func,
			      gpointer user_data);
} PxedContextVTable;

PxedContext *pxed_context_new(const PxedContextVTable *vtable, gpointer core);
void pxed_context_free(PxedContext *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(PxedContext, pxed_context_free)

G_END_DECLS
