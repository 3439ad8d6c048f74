/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <pxed/pxed.h>

G_BEGIN_DECLS

/**
 * PxedPluginInstance:
 *
 * One configured, created instance of a plugin, as the core holds it. The
 * runner functions below wrap every call into plugin code: a plugin that fails
 * without saying why gets an internal error, and every error is prefixed with
 * the instance's name.
 */
typedef struct {
	gint refcount;
	char *name;   /* the conf.d group: "static:images" */
	char *digest; /* the group's configuration, to tell a changed one on reload */
	const PxedPlugin *plugin;
	PxedInstance *instance;
	gpointer self; /* what instance_new returned */
	gboolean started;
} PxedPluginInstance;

PxedPluginInstance *pxed_plugin_instance_new(const PxedPlugin *plugin, PxedInstance *instance,
					     const char *digest, GError **error);
PxedPluginInstance *pxed_plugin_instance_ref(PxedPluginInstance *self);
/* Stops (if started) and frees on the last reference. */
void pxed_plugin_instance_unref(PxedPluginInstance *self);
gboolean pxed_plugin_instance_start(PxedPluginInstance *self, GError **error);
void pxed_plugin_instance_stop(PxedPluginInstance *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(PxedPluginInstance, pxed_plugin_instance_unref)

typedef enum {
	PXED_PIPELINE_BOOT,
	PXED_PIPELINE_TFTP,
	PXED_PIPELINE_HTTP,
} PxedPipelineKind;

const char *pxed_pipeline_kind_to_string(PxedPipelineKind kind);

/**
 * PxedPipeline:
 *
 * Backend instances asked in order: each answers, declines (the next is asked)
 * or fails (the request fails with its error).
 */
typedef struct _PxedPipeline PxedPipeline;

PxedPipeline *pxed_pipeline_new(PxedPipelineKind kind);
void pxed_pipeline_free(PxedPipeline *self);
void pxed_pipeline_append(PxedPipeline *self, PxedPluginInstance *instance);
guint pxed_pipeline_get_length(PxedPipeline *self);

PxedBootReply *pxed_pipeline_boot(PxedPipeline *self, PxedClient *client, GError **error);
/* @path as the client sent it: normalised here before any backend sees it. */
PxedFile *pxed_pipeline_open_file(PxedPipeline *self, PxedVia via, PxedClient *client,
				  const char *path, GHashTable *query, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(PxedPipeline, pxed_pipeline_free)

G_END_DECLS
