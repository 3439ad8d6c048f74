/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Test protocol: a client connects over TCP and sends one line, a path; the
 * reply is "OK <origin>\n" and the file's bytes from the http pipeline, or
 * "ERR <code> <message>\n". Lets the daemon's lifecycle (start, stop, reload)
 * be tested without the real protocol plugins.
 */
#include <pxed/pxed.h>

typedef struct {
	char *name;
	PxedInstance *instance;
	GPtrArray *listen;
	GSocketService *service;
} LineProto;

static const PxedKey lineproto_keys[] = {
	{.name = "listen",
	 .type = PXED_KEY_LISTEN,
	 .default_value = "127.0.0.1:0",
	 .description = "where to listen"},
	{.name = NULL},
};

static gpointer
lineproto_new(PxedInstance *instance, GError **error)
{
	LineProto *self = g_new0(LineProto, 1);
	self->name = g_strdup(pxed_instance_get_name(instance));
	self->instance = pxed_instance_ref(instance);
	self->listen = pxed_instance_get_listen(instance, "listen");
	return self;
}

static void
lineproto_stop(gpointer data)
{
	LineProto *self = data;
	if (self->service == NULL)
		return;
	g_socket_service_stop(self->service);
	g_socket_listener_close(G_SOCKET_LISTENER(self->service));
	g_clear_object(&self->service);
}

static void
lineproto_free(gpointer data)
{
	LineProto *self = data;
	lineproto_stop(self);
	g_ptr_array_unref(self->listen);
	g_free(self->name);
	pxed_instance_unref(self->instance);
	g_free(self);
}

static gboolean
on_incoming(GSocketService *service, GSocketConnection *connection, GObject *source,
	    gpointer user_data)
{
	LineProto *self = user_data;
	GInputStream *in = g_io_stream_get_input_stream(G_IO_STREAM(connection));
	GOutputStream *out = g_io_stream_get_output_stream(G_IO_STREAM(connection));
	g_autoptr(GDataInputStream) data = g_data_input_stream_new(in);
	g_autofree char *line = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(PxedClient) client = pxed_client_new();
	g_autoptr(PxedFile) file = NULL;
	g_autofree char *header = NULL;
	guint8 buf[4096];
	guint64 offset = 0;
	gssize n;

	/* A test protocol: blocking I/O on the main loop is fine here. */
	g_data_input_stream_set_newline_type(data, G_DATA_STREAM_NEWLINE_TYPE_LF);
	line = g_data_input_stream_read_line(data, NULL, NULL, NULL);
	if (line == NULL)
		return TRUE;
	pxed_client_set_via(client, PXED_VIA_HTTP);
	file = pxed_instance_open_file(self->instance, PXED_VIA_HTTP, client, line, NULL, &error);
	if (file == NULL) {
		header = g_strdup_printf("ERR %d %s\n", error->code, error->message);
		g_output_stream_write_all(out, header, strlen(header), NULL, NULL, NULL);
		return TRUE;
	}
	header = g_strdup_printf("OK %s\n", pxed_file_get_origin(file));
	g_output_stream_write_all(out, header, strlen(header), NULL, NULL, NULL);
	while ((n = pxed_file_read_at(file, offset, buf, sizeof(buf), NULL)) > 0) {
		g_output_stream_write_all(out, buf, (gsize)n, NULL, NULL, NULL);
		offset += (guint64)n;
	}
	pxed_instance_event(self->instance, client, "served", "%s", line);
	return TRUE;
}

static gboolean
lineproto_start(gpointer data, GError **error)
{
	LineProto *self = data;

	g_main_context_push_thread_default(pxed_instance_get_main_context(self->instance));
	self->service = g_socket_service_new();
	g_main_context_pop_thread_default(pxed_instance_get_main_context(self->instance));
	for (guint i = 0; i < self->listen->len; i++) {
		g_autoptr(GSocketAddress) bound = NULL;
		g_autofree char *text = NULL;
		if (!g_socket_listener_add_address(
			    G_SOCKET_LISTENER(self->service), g_ptr_array_index(self->listen, i),
			    G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, NULL, &bound, error)) {
			lineproto_stop(self);
			return FALSE;
		}
		text = g_socket_connectable_to_string(G_SOCKET_CONNECTABLE(bound));
		pxed_instance_event(self->instance, NULL, "listening", "%s", text);
	}
	g_signal_connect(self->service, "incoming", G_CALLBACK(on_incoming), self);
	g_socket_service_start(self->service);
	return TRUE;
}

PXED_PLUGIN_DEFINE(.kind = PXED_PLUGIN_KIND_PROTOCOL, .name = "lineproto",
		   .description = "Test protocol: one path per TCP connection",
		   .version = PXED_VERSION, .license = "LGPL-2.1-or-later", .keys = lineproto_keys,
		   .instance_new = lineproto_new, .instance_free = lineproto_free,
		   .start = lineproto_start, .stop = lineproto_stop);
