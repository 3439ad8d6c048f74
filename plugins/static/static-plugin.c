/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The static file store: serves the files under a folder, safely, to the tftp
 * and http pipelines. Several instances can serve several folders
 * ([static:firmware], [static:images]), each optionally under a path prefix.
 */
#include <pxed/pxed.h>

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "static-resolve.h"

typedef struct {
	char *name;
	char *root;
	int root_fd;
	char *prefix; /* "" or "images/" */
	gboolean follow_outside;
} PxedStatic;

static const PxedKey static_keys[] = {
	{.name = "root",
	 .type = PXED_KEY_DIRECTORY,
	 .flags = PXED_KEY_FLAG_REQUIRED,
	 .description = "the folder whose files are served"},
	{.name = "prefix",
	 .type = PXED_KEY_STRING,
	 .description = "serve only request paths under this folder name, mapped onto root"},
	{.name = "follow-symlinks-outside",
	 .type = PXED_KEY_BOOLEAN,
	 .default_value = "false",
	 .description = "let symlinks under root point outside it"},
	{.name = NULL},
};

static void
static_free(gpointer data)
{
	PxedStatic *self = data;
	if (self->root_fd >= 0)
		close(self->root_fd);
	g_free(self->name);
	g_free(self->root);
	g_free(self->prefix);
	g_free(self);
}

static gpointer
static_new(PxedInstance *instance, GError **error)
{
	g_autofree char *root = pxed_instance_get_path(instance, "root");
	g_autofree char *prefix = pxed_instance_get_string(instance, "prefix");
	g_autofree char *real = realpath(root, NULL);
	PxedStatic *self;

	if (real == NULL) {
		g_set_error(error, PXED_ERROR, PXED_ERROR_FAILED, "root %s: %s", root,
			    g_strerror(errno));
		return NULL;
	}
	self = g_new0(PxedStatic, 1);
	self->name = g_strdup(pxed_instance_get_name(instance));
	self->root = g_steal_pointer(&real);
	self->follow_outside = pxed_instance_get_boolean(instance, "follow-symlinks-outside");
	self->root_fd = open(self->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (self->root_fd < 0) {
		g_set_error(error, PXED_ERROR, PXED_ERROR_FAILED, "root %s: %s", self->root,
			    g_strerror(errno));
		static_free(self);
		return NULL;
	}
	if (prefix != NULL) {
		/* normalise like request paths, so "/images/" and "images" agree */
		g_autofree char *clean = pxed_path_normalize(prefix, -1, NULL);
		if (clean == NULL) {
			g_set_error(error, PXED_ERROR, PXED_ERROR_INVALID,
				    "prefix '%s' is not a relative folder name", prefix);
			static_free(self);
			return NULL;
		}
		self->prefix = g_strconcat(clean, "/", NULL);
	} else {
		self->prefix = g_strdup("");
	}
	g_debug("%s: serving %s%s%s", self->name, self->root, self->prefix[0] ? " under /" : "",
		self->prefix);
	return self;
}

static PxedResult
static_open_file(gpointer data, PxedFileRequest *request, PxedFile **file, GError **error)
{
	PxedStatic *self = data;
	const char *path = pxed_file_request_get_path(request);
	g_autoptr(GError) local = NULL;
	PxedFile *result;
	int fd;

	if (!g_str_has_prefix(path, self->prefix))
		return PXED_RESULT_DECLINE;
	path += strlen(self->prefix);
	if (path[0] == '\0')
		return PXED_RESULT_DECLINE;
	fd = pxed_static_open(self->root_fd, self->root, path, self->follow_outside, &local);
	if (fd < 0) {
		/* Not here: a later backend may have it. Anything else is final. */
		if (g_error_matches(local, PXED_ERROR, PXED_ERROR_NOT_FOUND))
			return PXED_RESULT_DECLINE;
		g_propagate_error(error, g_steal_pointer(&local));
		return PXED_RESULT_FAIL;
	}
	result = pxed_file_new_for_fd(fd, error);
	if (result == NULL)
		return PXED_RESULT_FAIL;
	pxed_file_set_content_type(result, pxed_content_type_for_path(path));
	*file = result;
	return PXED_RESULT_ANSWER;
}

PXED_PLUGIN_DEFINE(.kind = PXED_PLUGIN_KIND_BACKEND, .name = "static",
		   .description = "Serves the files under a folder, without escapes",
		   .version = PXED_VERSION, .license = "LGPL-2.1-or-later", .keys = static_keys,
		   .instance_new = static_new, .instance_free = static_free,
		   .open_file = static_open_file);
