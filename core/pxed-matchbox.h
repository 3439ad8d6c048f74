/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "pxed-inventory.h"

G_BEGIN_DECLS

/* Reads a matchbox data folder (groups/, profiles/, ignition/, cloud/, generic/)
 * into @self: its profiles and groups, each JSON file's problems into @problems.
 * FALSE if there were any. */
gboolean pxed_matchbox_load(PxedInventory *self, const char *dir, GPtrArray *problems);

typedef enum {
	PXED_MATCHBOX_PROFILE, /* profiles/NAME.json */
	PXED_MATCHBOX_GROUP,   /* groups/NAME.json */
} PxedMatchboxKind;

/* One matchbox JSON document whose text the caller already has (the fuzzer,
 * tests); @path names it in problems, @dir is the data folder its template
 * references are read from. */
gboolean pxed_matchbox_load_data(PxedInventory *self, const char *dir, PxedMatchboxKind kind,
				 const char *path, const char *data, gsize len,
				 GPtrArray *problems);

G_END_DECLS
