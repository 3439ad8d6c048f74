/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <pxed/pxed.h>
#include <pxed/pxed-context-private.h>

#include "pxed-config.h"
#include "pxed-events.h"
#include "pxed-loader.h"
#include "pxed-pipeline.h"
#include "pxed-stores.h"

G_BEGIN_DECLS

/**
 * PxedCore:
 *
 * The daemon's context object: owns the configuration, the loaded plugins,
 * their runners and pipelines, the event log, and the PxedContext that backs
 * the PxedInstance handle each plugin instance is given. All mutable state of
 * the daemon lives here.
 *
 * A configuration is prepared into a generation (read, validated, plugins
 * loaded, instances created — no sockets), then activated (protocol instances
 * started, pipelines swapped in). A reload prepares a new generation beside
 * the running one and swaps only if it is sound: a bad new configuration
 * changes nothing. Protocol instances whose group did not change are carried
 * over untouched, so their transfers in flight go on.
 */
typedef struct _PxedCore PxedCore;

PxedCore *pxed_core_new(GMainContext *context, const char *const *config_dirs,
			const char *const *plugin_dirs);
void pxed_core_free(PxedCore *self);

/**
 * pxed_core_load:
 * @start: %TRUE to start protocol instances (the daemon), %FALSE to stop at
 *   creating them (`--check`, `--explain`)
 * @problems: (element-type utf8): one line per problem, `FILE:LINE: [GROUP] KEY: …`
 *
 * Loads, validates and applies the configuration. On any problem the running
 * configuration (if any) stays as it is.
 */
gboolean pxed_core_load(PxedCore *self, gboolean start, GPtrArray *problems);

/* Stops every protocol instance and drops the configuration. Safe twice. */
void pxed_core_shutdown(PxedCore *self);

PxedContext *pxed_core_get_context(PxedCore *self);
PxedEvents *pxed_core_get_events(PxedCore *self);
/* The lease stores open for the instances (pxed-stores.c). */
PxedStores *pxed_core_get_stores(PxedCore *self);
/* [core] user, or %NULL; valid while a configuration is loaded. */
const char *pxed_core_get_user(PxedCore *self);
const char *pxed_core_get_state_dir(PxedCore *self);
/* [core] log-level as the most verbose level to show, or 0 when not set. */
GLogLevelFlags pxed_core_get_log_level(PxedCore *self);
/* "error" … "debug" to a level; 0 for anything else. */
GLogLevelFlags pxed_log_level_from_string(const char *text);
/* The plugin folders in search order: --plugin-dir, [core] plugin-path, installed. */
const char *const *pxed_core_get_plugin_dirs(PxedCore *self);
/* The loaded configuration's runners, one per plugin instance (element-type PxedRunner). */
GPtrArray *pxed_core_get_runners(PxedCore *self);
guint pxed_core_get_fragment_count(PxedCore *self);

/* The pipelines, as plugins reach them through their instances. */
PxedBootReply *pxed_core_boot(PxedCore *self, PxedClient *client, GError **error);
PxedFile *pxed_core_open_file(PxedCore *self, PxedVia via, PxedClient *client, const char *path,
			      GHashTable *query, GError **error);

/* The inventory's machine for @client, or %NULL. */
PxedMachine *pxed_core_match(PxedCore *self, PxedClient *client);
/* pxed_instance_identify_client(): the DHCP sightings, then the lease stores */
gboolean pxed_core_identify_client(PxedCore *self, PxedClient *client);
/* pxed_instance_check_lease() */
PxedLeaseCheck pxed_core_check_lease(PxedCore *self, PxedClient *client);

/* The installed plugin folder (or $PXED_PLUGINDIR). */
const char *pxed_core_default_plugin_dir(void);
/* The key table of the core's own group "core" or "pipeline" (for the
 * manual pages); %NULL for any other name. */
const PxedKey *pxed_core_get_keys(const char *group);
/* The installed conf.d folder (or $PXED_CONFIG_DIR). */
const char *pxed_core_default_config_dir(void);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(PxedCore, pxed_core_free)

G_END_DECLS
