/* SPDX-License-Identifier: MIT */
/*
 * hello — the smallest useful pxed backend, built out of tree against the
 * installed SDK:
 *
 *   cc -shared -fPIC -fvisibility=hidden -o hello.so hello.c \
 *      $(pkg-config --cflags --libs pxed-plugin-1)
 *
 * Enable it with a conf.d group and put it in a pipeline:
 *
 *   [hello]
 *   greeting=Hello
 *
 *   [pipeline]
 *   http=hello;static
 *
 * It serves "hello.txt" (a greeting for the client that asked) and declines
 * every other path, so the next backend of the pipeline is asked.
 */
#include <pxed/pxed.h>

typedef struct {
	char *greeting;
} Hello;

/* Every key the plugin accepts: pxed validates conf.d against this table. */
static const PxedKey hello_keys[] = {
	{.name = "greeting",
	 .type = PXED_KEY_STRING,
	 .default_value = "Hello",
	 .description = "the first word of hello.txt"},
	{.name = NULL},
};

static gpointer
hello_new(PxedInstance *instance, GError **error)
{
	Hello *self = g_new0(Hello, 1);
	self->greeting = pxed_instance_get_string(instance, "greeting");
	return self;
}

static void
hello_free(gpointer data)
{
	Hello *self = data;
	g_free(self->greeting);
	g_free(self);
}

static PxedResult
hello_open_file(gpointer data, PxedFileRequest *request, PxedFile **file, GError **error)
{
	Hello *self = data;
	PxedClient *client = pxed_file_request_get_client(request);
	g_autofree char *text = NULL;

	if (g_strcmp0(pxed_file_request_get_path(request), "hello.txt") != 0)
		return PXED_RESULT_DECLINE;
	text = g_strdup_printf("%s, %s, from an out-of-tree plugin!\n", self->greeting,
			       pxed_client_get_key(client));
	*file = pxed_file_new_for_data(text, strlen(text));
	pxed_file_set_content_type(*file, "text/plain");
	return PXED_RESULT_ANSWER;
}

PXED_PLUGIN_DEFINE(.kind = PXED_PLUGIN_KIND_BACKEND, .name = "hello",
		   .description = "Example backend: greets the client in hello.txt",
		   .version = "1.0", .license = "MIT", .keys = hello_keys,
		   .instance_new = hello_new, .instance_free = hello_free,
		   .open_file = hello_open_file);
