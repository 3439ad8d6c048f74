/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <pxed/pxed.h>

#include "pxed-config.h"

G_BEGIN_DECLS

/**
 * PxedInventory:
 *
 * The machines pxed knows: profiles (kernel, initrds, args, templates,
 * metadata) and groups (selectors on mac, uuid, arch, hostname and any label,
 * a profile, metadata), from conf.d `[profile:NAME]` / `[group:NAME]` groups
 * and from a matchbox data folder (`[inventory] matchbox-dir`). Everything,
 * templates included, is read and checked when the configuration is loaded;
 * a request only looks up an in-memory index. A machine matches the group
 * whose selectors all hold and that has the most selectors; two groups that
 * are equally specific and could both match one machine are a configuration
 * error.
 */
typedef struct _PxedInventory PxedInventory;

PxedInventory *pxed_inventory_new(void);
void pxed_inventory_free(PxedInventory *self);

/* TRUE for the conf.d groups the inventory owns. */
gboolean pxed_inventory_owns_group(const char *group);
/* The key table of "profile:NAME", "group:NAME" or "inventory" (for the
 * manual pages); %NULL for any other name. */
const PxedKey *pxed_inventory_get_keys(const char *group);

/* Reads and checks the inventory's groups of @config (and the matchbox folder it
 * names), builds the index. Appends one line per problem. */
gboolean pxed_inventory_load(PxedInventory *self, PxedConfig *config, GPtrArray *problems);

/* After every source is read: references, ties, the index. */
gboolean pxed_inventory_finish(PxedInventory *self, GPtrArray *problems);

/* (transfer full) (nullable) */
PxedMachine *pxed_inventory_match(PxedInventory *self, PxedClient *client);
guint pxed_inventory_get_group_count(PxedInventory *self);
/* Whether a group's `metadata.ip` is @address (IPv4, network byte order). */
gboolean pxed_inventory_is_reserved(PxedInventory *self, guint32 address);

/* "bios", "efi-x64", … or a number, to an option 93 value; -1 if neither. */
gint pxed_arch_from_string(const char *text);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(PxedInventory, pxed_inventory_free)

G_END_DECLS
