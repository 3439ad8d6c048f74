/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Not installed: the core builds instances from validated configuration. */

#include "pxed.h"

G_BEGIN_DECLS

/* The group in @values that holds the instance's keys. */
#define PXED_INSTANCE_GROUP "instance"

/**
 * pxed_instance_new:
 * @values: (transfer full): validated keys in group PXED_INSTANCE_GROUP, with
 *   path values already made absolute
 * @keys: the plugin's key table, for defaults
 */
PxedInstance *pxed_instance_new(const char *name, PxedContext *context, GKeyFile *values,
				const PxedKey *keys);
void pxed_instance_free(PxedInstance *self);
const PxedKey *pxed_key_lookup(const PxedKey *keys, const char *name);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(PxedInstance, pxed_instance_free)

G_END_DECLS
