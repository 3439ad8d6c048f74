/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Not installed: the core (and the tests' fake core) build instances. */

#include "pxed-context-private.h"

G_BEGIN_DECLS

/* The group in @values that holds the instance's keys. */
#define PXED_INSTANCE_GROUP "instance"

/**
 * pxed_instance_new:
 * @name: the conf.d group
 * @context: the core's side of the handle; must outlive the instance
 * @generation: the configuration generation creating the instance
 * @state_dir: that generation's state folder
 * @values: (transfer full) (nullable): validated keys in group
 *   PXED_INSTANCE_GROUP, with path values already made absolute
 * @keys: (nullable): the plugin's key table, for defaults
 *
 * Returns: (transfer full): the handle, with one reference
 */
PxedInstance *pxed_instance_new(const char *name, PxedContext *context, guint generation,
				const char *state_dir, GKeyFile *values, const PxedKey *keys);
const PxedKey *pxed_key_lookup(const PxedKey *keys, const char *name);

G_END_DECLS
