/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * PxedIdentity: who is at an address (see pxed-identity.c). Owned by the
 * core; the lease stores it weighs are the core's, listed on each call.
 */

#include <pxed/pxed.h>

#include "pxed-store.h"

G_BEGIN_DECLS

typedef struct _PxedIdentity PxedIdentity;

/* (transfer full) (element-type PxedStore) The lease stores open now. */
typedef GPtrArray *(*PxedIdentityStoresFunc)(gpointer user_data);

/* @max_notes: addresses remembered; a flood beyond evicts the soonest to expire */
PxedIdentity *pxed_identity_new(guint max_notes, PxedIdentityStoresFunc stores, gpointer user_data);
void pxed_identity_free(PxedIdentity *self);

/* pxed_instance_note_client() */
gboolean pxed_identity_note(PxedIdentity *self, PxedClient *client, PxedEvidence evidence,
			    guint lifetime);
/* pxed_instance_identify_client(): the notes, then the lease stores */
gboolean pxed_identity_identify(PxedIdentity *self, PxedClient *client);
/* pxed_instance_check_lease() */
PxedLeaseCheck pxed_identity_check_lease(PxedIdentity *self, PxedClient *client);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(PxedIdentity, pxed_identity_free)

G_END_DECLS
