/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Runners (the core's wrappers around plugin instances) and the pipelines of
 * backend runners that requests go through. */

#include <pxed/pxed.h>

G_BEGIN_DECLS

/**
 * PxedRunner:
 *
 * The core's wrapper around one configured, created plugin instance: the
 * plugin's descriptor, the instance's handle (PxedInstance, what the plugin
 * reaches the daemon through) and the plugin's own state (@plugin_data). The
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
	gpointer plugin_data; /* the plugin's state: what instance_new returned */
	gboolean started;
} PxedRunner;

PxedRunner *pxed_runner_new(const PxedPlugin *plugin, PxedInstance *instance, const char *digest,
			    GError **error);
PxedRunner *pxed_runner_ref(PxedRunner *self);
/* Stops (if started) and frees on the last reference. */
void pxed_runner_unref(PxedRunner *self);
gboolean pxed_runner_start(PxedRunner *self, GError **error);
void pxed_runner_stop(PxedRunner *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(PxedRunner, pxed_runner_unref)

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
void pxed_pipeline_append(PxedPipeline *self, PxedRunner *runner);
guint pxed_pipeline_get_length(PxedPipeline *self);

PxedBootReply *pxed_pipeline_boot(PxedPipeline *self, PxedClient *client, GError **error);
/* @path as the client sent it: normalised here before any backend sees it. */
PxedFile *pxed_pipeline_open_file(PxedPipeline *self, PxedVia via, PxedClient *client,
				  const char *path, GHashTable *query, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(PxedPipeline, pxed_pipeline_free)

G_END_DECLS
