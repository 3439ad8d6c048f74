/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Test backend whose behaviour is configured: each instance answers, declines
 * or fails the boot and file pipelines as its keys say. Built several times with
 * -D switches into deliberately broken plugins for the loader tests.
 */
#include <pxed/pxed.h>

typedef struct {
	char *name;
	char *boot;
	char *file;
	char *content;
	gboolean silent; /* fail without setting an error */
} Scripted;

static const PxedKey scripted_keys[] = {
	{.name = "boot",
	 .type = PXED_KEY_STRING,
	 .default_value = "decline",
	 .description = "answer, decline or fail"},
	{.name = "file",
	 .type = PXED_KEY_STRING,
	 .default_value = "decline",
	 .description = "answer, decline or fail"},
	{.name = "content",
	 .type = PXED_KEY_STRING,
	 .description = "file content (default: name:path)"},
	{.name = "silent",
	 .type = PXED_KEY_BOOLEAN,
	 .default_value = "false",
	 .description = "fail without an error"},
	{.name = "weight",
	 .type = PXED_KEY_INT,
	 .default_value = "1",
	 .min = 1,
	 .max = 100,
	 .description = "an integer key for validation tests"},
	{.name = "server",
	 .type = PXED_KEY_IPV4,
	 .description = "an address key for validation tests"},
	{.name = "listen",
	 .type = PXED_KEY_LISTEN,
	 .description = "a listen key for validation tests"},
	{.name = "template",
	 .type = PXED_KEY_FILE,
	 .description = "a file key for validation tests"},
	{.name = "label.",
	 .type = PXED_KEY_STRING,
	 .flags = PXED_KEY_FLAG_PREFIX,
	 .description = "prefixed keys"},
	{.name = NULL},
};

static void
scripted_free(gpointer data)
{
	Scripted *self = data;
	g_free(self->name);
	g_free(self->boot);
	g_free(self->file);
	g_free(self->content);
	g_free(self);
}

static gpointer
scripted_new(PxedInstance *instance, GError **error)
{
	Scripted *self;
#ifdef SCRIPTED_INIT_FAIL
	g_set_error(error, PXED_ERROR, PXED_ERROR_FAILED, "refusing to start, as asked");
	return NULL;
#endif
#ifdef SCRIPTED_INIT_FAIL_SILENT
	return NULL;
#endif
	self = g_new0(Scripted, 1);
	self->name = g_strdup(pxed_instance_get_name(instance));
	self->boot = pxed_instance_get_string(instance, "boot");
	self->file = pxed_instance_get_string(instance, "file");
	self->content = pxed_instance_get_string(instance, "content");
	self->silent = pxed_instance_get_boolean(instance, "silent");
	return self;
}

static PxedResult
script(Scripted *self, const char *what, GError **error)
{
	if (g_strcmp0(what, "answer") == 0)
		return PXED_RESULT_ANSWER;
	if (g_strcmp0(what, "fail") == 0) {
		if (!self->silent)
			g_set_error(error, PXED_ERROR, PXED_ERROR_DENIED, "failing as asked");
		return PXED_RESULT_FAIL;
	}
	if (g_strcmp0(what, "answer-empty") == 0)
		return PXED_RESULT_ANSWER; /* without output: a broken backend */
	return PXED_RESULT_DECLINE;
}

static PxedResult
scripted_boot(gpointer data, PxedClient *client, PxedBootReply *reply, GError **error)
{
	Scripted *self = data;
	PxedResult result = script(self, self->boot, error);
	if (result == PXED_RESULT_ANSWER && g_strcmp0(self->boot, "answer") == 0) {
		g_autofree char *file = g_strdup_printf("%s.0", self->name);
		pxed_boot_reply_set_filename(reply, file);
	}
	return result;
}

static PxedResult
scripted_open_file(gpointer data, PxedFileRequest *request, PxedFile **file, GError **error)
{
	Scripted *self = data;
	PxedResult result = script(self, self->file, error);
	if (result == PXED_RESULT_ANSWER && g_strcmp0(self->file, "answer") == 0) {
		g_autofree char *text =
			self->content != NULL
				? g_strdup(self->content)
				: g_strdup_printf("%s:%s", self->name,
						  pxed_file_request_get_path(request));
		*file = pxed_file_new_for_data(text, strlen(text));
	}
	return result;
}

#ifndef SCRIPTED_NAME
#define SCRIPTED_NAME "scripted"
#endif
#ifndef SCRIPTED_ABI_MAJOR
#define SCRIPTED_ABI_MAJOR PXED_ABI_MAJOR
#endif
#ifndef SCRIPTED_ABI_MINOR
#define SCRIPTED_ABI_MINOR PXED_ABI_MINOR
#endif
#ifndef SCRIPTED_STRUCT_SIZE
#define SCRIPTED_STRUCT_SIZE sizeof(PxedPlugin)
#endif

#ifdef SCRIPTED_NO_DESCRIPTOR
/* exports something, but not the descriptor */
__attribute__((visibility("default"))) int pxed_not_a_plugin = 1;
#else
#ifdef SCRIPTED_UNRESOLVED
/* a symbol nothing provides: RTLD_NOW must refuse the file at load */
extern void pxed_function_that_does_not_exist(void);
static void __attribute__((used)) call_missing(void)
{
	pxed_function_that_does_not_exist();
}
#endif
__attribute__((visibility("default"))) extern const PxedPlugin pxed_plugin;
const PxedPlugin pxed_plugin = {
	.abi_major = SCRIPTED_ABI_MAJOR,
	.abi_minor = SCRIPTED_ABI_MINOR,
	.struct_size = SCRIPTED_STRUCT_SIZE,
	.kind = PXED_PLUGIN_KIND_BACKEND,
	.name = SCRIPTED_NAME,
	.description = "Test backend that answers, declines or fails as configured",
	.version = PXED_VERSION,
	.license = "LGPL-2.1-or-later",
	.keys = scripted_keys,
	.instance_new = scripted_new,
	.instance_free = scripted_free,
	.boot = scripted_boot,
	.open_file = scripted_open_file,
};
#endif
