/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * PxedStores: the lease stores the core holds open for its plugin instances
 * (see pxed-stores.c), and the lease members of the core's PxedContextVTable.
 */

#include <pxed/pxed.h>

#include "pxed-store.h"

G_BEGIN_DECLS

typedef struct _PxedStores PxedStores;

PxedStores *pxed_stores_new(GMainContext *main_context);
/* Closes every store still open: whatever was accepted is written out. */
void pxed_stores_free(PxedStores *self);

/* (transfer full) (element-type PxedStore) Every store open now; the
 * PxedIdentityStoresFunc of the core's identity (@self: a PxedStores). */
GPtrArray *pxed_stores_list(gpointer self);

/* The PxedContextVTable's lease members (pxed-context-private.h); @core is
 * the PxedCore, its stores reached with pxed_core_get_stores(). */
gpointer pxed_stores_lease_open(gpointer core, const char *path, GError **error);
void pxed_stores_lease_close(gpointer core, gpointer store);
PxedLease *pxed_stores_lease_get(gpointer core, gpointer store, const char *client_id);
PxedLease *pxed_stores_lease_get_by_address(gpointer core, gpointer store, guint32 address);
void pxed_stores_lease_put(gpointer core, gpointer store, PxedLease *lease, GTask *task);
void pxed_stores_lease_release(gpointer core, gpointer store, const char *client_id);
void pxed_stores_lease_foreach(gpointer core, gpointer store, PxedLeaseFunc func,
			       gpointer user_data);

G_END_DECLS
