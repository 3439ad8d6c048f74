/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The inventory's profiles and groups as its importers fill them in: the
 * conf.d groups (pxed-inventory.c) and a matchbox data folder
 * (pxed-matchbox.c). pxed_inventory_finish() checks and indexes them.
 */

#include "pxed-inventory.h"

G_BEGIN_DECLS

typedef struct {
	char *name;
	char *where; /* "FILE:LINE: [profile:x]" or "FILE: profile x", for messages */
	char *kernel;
	GStrv initrds;
	char *args;
	GHashTable *metadata;  /* key -> value */
	GHashTable *templates; /* kind -> PxedTemplate* */
} PxedInventoryProfile;

typedef struct {
	char *name;
	char *where;
	char *profile;
	GPtrArray *selectors; /* Selector* (pxed-inventory.c) */
	GHashTable *metadata;
	char *mac;    /* the canonical mac selector, if any */
	guint weight; /* how identifying the selectors are: see selector_weight() */
	PxedMachine *machine;
} PxedInventoryGroup;

/* A new profile @name, replacing one of that name; the inventory owns it. */
PxedInventoryProfile *pxed_inventory_add_profile(PxedInventory *self, const char *name,
						 const char *where);
gboolean pxed_inventory_has_profile(PxedInventory *self, const char *name);

PxedInventoryGroup *pxed_inventory_group_new(const char *name, const char *where);
void pxed_inventory_group_free(PxedInventoryGroup *g);
/* Adds selector @key = @value, in canonical form; fails if @value is not one. */
gboolean pxed_inventory_group_add_selector(PxedInventoryGroup *g, const char *key,
					   const char *value, GError **error);
/* Takes @g. */
void pxed_inventory_add_group(PxedInventory *self, PxedInventoryGroup *g);

G_END_DECLS
