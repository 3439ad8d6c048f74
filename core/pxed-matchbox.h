/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "pxed-inventory.h"

G_BEGIN_DECLS

/* Reads a matchbox data folder (groups/, profiles/, ignition/, cloud/, generic/)
 * into @self: its profiles and groups, each JSON file's problems into @problems.
 * FALSE if there were any. */
gboolean pxed_matchbox_load(PxedInventory *self, const char *dir, GPtrArray *problems);

G_END_DECLS
