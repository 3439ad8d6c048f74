/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "pxed-pipeline.h"

#include <pxed/pxed-instance-private.h>

PxedRunner *
pxed_runner_new(const PxedPlugin *plugin, PxedInstance *instance, const char *digest,
		GError **error)
{
	g_autoptr(GError) local = NULL;
	PxedRunner *self;
	gpointer priv = plugin->instance_new(instance, &local);

	if (priv == NULL) {
		if (local == NULL)
			g_set_error(error, PXED_ERROR, PXED_ERROR_FAILED,
				    "%s: failed to initialise (the plugin gave no reason)",
				    pxed_instance_get_name(instance));
		else
			g_set_error(error, local->domain, local->code, "%s: %s",
				    pxed_instance_get_name(instance), local->message);
		pxed_instance_unref(instance);
		return NULL;
	}
	self = g_new0(PxedRunner, 1);
	self->refcount = 1;
	self->name = g_strdup(pxed_instance_get_name(instance));
	self->digest = g_strdup(digest);
	self->plugin = plugin;
	self->instance = instance;
	self->plugin_data = priv;
	return self;
}

PxedRunner *
pxed_runner_ref(PxedRunner *self)
{
	self->refcount++;
	return self;
}

void
pxed_runner_unref(PxedRunner *self)
{
	if (--self->refcount > 0)
		return;
	pxed_runner_stop(self);
	self->plugin->instance_free(self->plugin_data);
	pxed_instance_unref(self->instance);
	g_free(self->name);
	g_free(self->digest);
	g_free(self);
}

gboolean
pxed_runner_start(PxedRunner *self, GError **error)
{
	g_autoptr(GError) local = NULL;

	if (self->started || self->plugin->start == NULL)
		return TRUE;
	if (!self->plugin->start(self->plugin_data, &local)) {
		if (local == NULL)
			g_set_error(error, PXED_ERROR, PXED_ERROR_FAILED,
				    "%s: failed to start (the plugin gave no reason)", self->name);
		else
			g_set_error(error, local->domain, local->code, "%s: %s", self->name,
				    local->message);
		return FALSE;
	}
	self->started = TRUE;
	return TRUE;
}

void
pxed_runner_stop(PxedRunner *self)
{
	if (!self->started)
		return;
	self->plugin->stop(self->plugin_data);
	self->started = FALSE;
}

const char *
pxed_pipeline_kind_to_string(PxedPipelineKind kind)
{
	switch (kind) {
	case PXED_PIPELINE_BOOT:
		return "boot";
	case PXED_PIPELINE_TFTP:
		return "tftp";
	case PXED_PIPELINE_HTTP:
		return "http";
	}
	return "unknown";
}

struct _PxedPipeline {
	PxedPipelineKind kind;
	GPtrArray *runners; /* PxedRunner*, referenced */
};

PxedPipeline *
pxed_pipeline_new(PxedPipelineKind kind)
{
	PxedPipeline *self = g_new0(PxedPipeline, 1);
	self->kind = kind;
	self->runners = g_ptr_array_new_with_free_func((GDestroyNotify)pxed_runner_unref);
	return self;
}

void
pxed_pipeline_free(PxedPipeline *self)
{
	g_ptr_array_unref(self->runners);
	g_free(self);
}

void
pxed_pipeline_append(PxedPipeline *self, PxedRunner *runner)
{
	g_ptr_array_add(self->runners, pxed_runner_ref(runner));
}

guint
pxed_pipeline_get_length(PxedPipeline *self)
{
	return self->runners->len;
}

/* A backend's failure, made into an error the protocol plugin can map. */
static void
propagate_failure(PxedRunner *runner, GError *local, const char *what, GError **error)
{
	if (local == NULL) {
		g_set_error(error, PXED_ERROR, PXED_ERROR_FAILED,
			    "%s: %s failed (the plugin gave no reason)", runner->name, what);
		return;
	}
	if (local->domain != PXED_ERROR) {
		/* Foreign domains (GIO, GLib) are internal failures to the client. */
		g_set_error(error, PXED_ERROR, PXED_ERROR_FAILED, "%s: %s", runner->name,
			    local->message);
		return;
	}
	g_set_error(error, PXED_ERROR, local->code, "%s: %s", runner->name, local->message);
}

PxedBootReply *
pxed_pipeline_boot(PxedPipeline *self, PxedClient *client, GError **error)
{
	for (guint i = 0; i < self->runners->len; i++) {
		PxedRunner *runner = g_ptr_array_index(self->runners, i);
		g_autoptr(PxedBootReply) reply = pxed_boot_reply_new();
		g_autoptr(GError) local = NULL;
		PxedResult result;

		if (runner->plugin->boot == NULL)
			continue;
		result = runner->plugin->boot(runner->plugin_data, client, reply, &local);
		switch (result) {
		case PXED_RESULT_ANSWER:
			if (pxed_boot_reply_get_filename(reply) == NULL) {
				g_set_error(error, PXED_ERROR, PXED_ERROR_FAILED,
					    "%s: answered without a boot file name", runner->name);
				return NULL;
			}
			pxed_boot_reply_set_origin(reply, runner->name);
			return g_steal_pointer(&reply);
		case PXED_RESULT_DECLINE:
			continue;
		case PXED_RESULT_FAIL:
		default:
			propagate_failure(runner, local, "boot decision", error);
			return NULL;
		}
	}
	g_set_error(error, PXED_ERROR, PXED_ERROR_NOT_FOUND,
		    "no backend of the boot pipeline answered for %s", pxed_client_get_key(client));
	return NULL;
}

PxedFile *
pxed_pipeline_open_file(PxedPipeline *self, PxedVia via, PxedClient *client, const char *path,
			GHashTable *query, GError **error)
{
	g_autofree char *clean = pxed_path_normalize(path, -1, error);
	g_autoptr(PxedFileRequest) request = NULL;

	if (clean == NULL)
		return NULL;
	request = pxed_file_request_new(via, clean, client, query);
	for (guint i = 0; i < self->runners->len; i++) {
		PxedRunner *runner = g_ptr_array_index(self->runners, i);
		PxedFile *file = NULL;
		g_autoptr(GError) local = NULL;
		PxedResult result;

		if (runner->plugin->open_file == NULL)
			continue;
		result = runner->plugin->open_file(runner->plugin_data, request, &file, &local);
		switch (result) {
		case PXED_RESULT_ANSWER:
			if (file == NULL) {
				g_set_error(error, PXED_ERROR, PXED_ERROR_FAILED,
					    "%s: answered without a file", runner->name);
				return NULL;
			}
			pxed_file_set_origin(file, runner->name);
			return file;
		case PXED_RESULT_DECLINE:
			g_clear_pointer(&file, pxed_file_unref);
			continue;
		case PXED_RESULT_FAIL:
		default:
			g_clear_pointer(&file, pxed_file_unref);
			propagate_failure(runner, local, "open", error);
			return NULL;
		}
	}
	g_set_error(error, PXED_ERROR, PXED_ERROR_NOT_FOUND, "%s: no such file", clean);
	return NULL;
}
