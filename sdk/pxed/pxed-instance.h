/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined(__PXED_H_INSIDE__) && !defined(PXED_COMPILATION)
#error "Only <pxed/pxed.h> can be included directly."
#endif

#include <pxed/pxed-context.h>

G_BEGIN_DECLS

/**
 * PxedInstance:
 *
 * One configured instance of a plugin: the conf.d group `[NAME]` or
 * `[NAME:LABEL]`. By the time the plugin sees it every key has been checked
 * against the plugin's key table, so the getters cannot fail: a key that is not
 * set yields the table's default.
 */
typedef struct _PxedInstance PxedInstance;

/* The group name: "static" or "static:images". */
const char *pxed_instance_get_name(PxedInstance *self);
PxedContext *pxed_instance_get_context(PxedInstance *self);

char *pxed_instance_get_string(PxedInstance *self, const char *key);
gint64 pxed_instance_get_int(PxedInstance *self, const char *key);
gboolean pxed_instance_get_boolean(PxedInstance *self, const char *key);
/* A `;`-separated list. */
char **pxed_instance_get_string_list(PxedInstance *self, const char *key);
/* For PXED_KEY_DIRECTORY / PXED_KEY_FILE / PXED_KEY_PATH: absolute, relative ones
 * resolved against the folder of the fragment that set them. */
char *pxed_instance_get_path(PxedInstance *self, const char *key);
/* For PXED_KEY_LISTEN. (element-type GInetSocketAddress) */
GPtrArray *pxed_instance_get_listen(PxedInstance *self, const char *key);
/* Every key set in the group that starts with @prefix (PXED_KEY_PREFIX keys),
 * as a table of full key name to value. */
GHashTable *pxed_instance_get_prefixed(PxedInstance *self, const char *prefix);

G_END_DECLS
