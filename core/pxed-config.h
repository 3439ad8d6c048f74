/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <pxed/pxed.h>

G_BEGIN_DECLS

/**
 * PxedConfig:
 *
 * The conf.d fragments merged into one GKeyFile, key by key, in file-name
 * order, remembering for every group and key the file and line that set it
 * last, so that every problem can name its place.
 */
typedef struct _PxedConfig PxedConfig;

PxedConfig *pxed_config_new(void);
void pxed_config_free(PxedConfig *self);

/**
 * pxed_config_load_dirs:
 * @dirs: folders of `*.conf` fragments; fragments of all folders are sorted by
 *   file name, and a fragment in a later folder replaces a same-named one of an
 *   earlier folder (vendor defaults, then the administrator's)
 * @problems: (element-type utf8): one line is appended per problem
 *
 * Returns: %FALSE if any fragment could not be read or parsed
 */
gboolean pxed_config_load_dirs(PxedConfig *self, const char *const *dirs, GPtrArray *problems);

/* Merges one fragment's text (tests use this directly). */
gboolean pxed_config_load_data(PxedConfig *self, const char *filename, const char *data,
			       GPtrArray *problems);

GKeyFile *pxed_config_get_keyfile(PxedConfig *self);
/* The fragments read, in merge order. */
GPtrArray *pxed_config_get_files(PxedConfig *self);
/* Groups in order of first appearance. */
char **pxed_config_get_groups(PxedConfig *self);

/* "FILE:LINE" where @key (or, for %NULL, the group header) was last set. */
char *pxed_config_where(PxedConfig *self, const char *group, const char *key);

/* Appends "FILE:LINE: [GROUP] KEY: message" (KEY omitted for %NULL). */
void pxed_config_problem(PxedConfig *self, GPtrArray *problems, const char *group, const char *key,
			 const char *format, ...) G_GNUC_PRINTF(5, 6);

/**
 * pxed_config_validate_group:
 * @keys: the table the group's keys must match; `enabled` is always accepted
 *
 * Checks every key of @group: known, well-typed, in range, paths that must
 * exist do; and that required keys are there. Appends one problem per fault.
 */
gboolean pxed_config_validate_group(PxedConfig *self, const char *group, const PxedKey *keys,
				    GPtrArray *problems);

/* Checks one value against its key description. Relative paths are taken
 * from @base_dir. */
gboolean pxed_key_check_value(const PxedKey *key, const char *value, const char *base_dir,
			      GError **error);

/**
 * pxed_config_instance_values:
 *
 * The group's keys copied into group PXED_INSTANCE_GROUP of a new key file,
 * with relative path values made absolute against their fragment's folder.
 */
GKeyFile *pxed_config_instance_values(PxedConfig *self, const char *group, const PxedKey *keys);

/* The group's keys and values in a canonical text: equal digests mean equal groups. */
char *pxed_config_group_digest(PxedConfig *self, const char *group);

/* A boolean key of @group, or @fallback when unset or not a boolean. */
gboolean pxed_config_get_boolean(PxedConfig *self, const char *group, const char *key,
				 gboolean fallback);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(PxedConfig, pxed_config_free)

G_END_DECLS
