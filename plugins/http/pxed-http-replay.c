/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "pxed-http-replay.h"

#include <string.h>

/* ---- the input stream: the prefix, then the base ---- */

#define REPLAY_TYPE_INPUT (pxed_http_replay_input_get_type())
G_DECLARE_FINAL_TYPE(PxedHttpReplayInput, pxed_http_replay_input, REPLAY, INPUT, GInputStream)
typedef PxedHttpReplayInput ReplayInput;

struct _PxedHttpReplayInput {
	GInputStream parent;
	GInputStream *base; /* (ref) */
	GBytes *prefix;	    /* (ref) */
	gsize offset;	    /* of the prefix's next byte */
};

static void replay_input_pollable_init(GPollableInputStreamInterface *iface);

G_DEFINE_TYPE_WITH_CODE(PxedHttpReplayInput, pxed_http_replay_input, G_TYPE_INPUT_STREAM,
			G_IMPLEMENT_INTERFACE(G_TYPE_POLLABLE_INPUT_STREAM,
					      replay_input_pollable_init))

static gsize
prefix_left(ReplayInput *self)
{
	return g_bytes_get_size(self->prefix) - self->offset;
}

static gsize
prefix_take(ReplayInput *self, void *buffer, gsize count)
{
	gsize n = MIN(count, prefix_left(self));

	memcpy(buffer, (const guint8 *)g_bytes_get_data(self->prefix, NULL) + self->offset, n);
	self->offset += n;
	return n;
}

static gssize
replay_input_read(GInputStream *stream, void *buffer, gsize count, GCancellable *cancellable,
		  GError **error)
{
	ReplayInput *self = REPLAY_INPUT(stream);

	if (prefix_left(self) > 0)
		return (gssize)prefix_take(self, buffer, count);
	return g_input_stream_read(self->base, buffer, count, cancellable, error);
}

/* The connection closes with the GIOStream (pxed_http_replay_stream_new). */
static gboolean
replay_input_close(GInputStream *stream, GCancellable *cancellable, GError **error)
{
	return TRUE;
}

static gboolean
replay_input_can_poll(GPollableInputStream *stream)
{
	ReplayInput *self = REPLAY_INPUT(stream);

	return G_IS_POLLABLE_INPUT_STREAM(self->base) &&
	       g_pollable_input_stream_can_poll(G_POLLABLE_INPUT_STREAM(self->base));
}

static gboolean
replay_input_is_readable(GPollableInputStream *stream)
{
	ReplayInput *self = REPLAY_INPUT(stream);

	return prefix_left(self) > 0 ||
	       g_pollable_input_stream_is_readable(G_POLLABLE_INPUT_STREAM(self->base));
}

static GSource *
replay_input_create_source(GPollableInputStream *stream, GCancellable *cancellable)
{
	ReplayInput *self = REPLAY_INPUT(stream);
	g_autoptr(GSource) child = NULL;

	/* readable at once while the prefix lasts */
	if (prefix_left(self) > 0)
		child = g_timeout_source_new(0);
	else
		child = g_pollable_input_stream_create_source(G_POLLABLE_INPUT_STREAM(self->base),
							      NULL);
	return g_pollable_source_new_full(stream, child, cancellable);
}

static gssize
replay_input_read_nonblocking(GPollableInputStream *stream, void *buffer, gsize count,
			      GError **error)
{
	ReplayInput *self = REPLAY_INPUT(stream);

	if (prefix_left(self) > 0)
		return (gssize)prefix_take(self, buffer, count);
	return g_pollable_input_stream_read_nonblocking(G_POLLABLE_INPUT_STREAM(self->base), buffer,
							count, NULL, error);
}

static void
replay_input_pollable_init(GPollableInputStreamInterface *iface)
{
	iface->can_poll = replay_input_can_poll;
	iface->is_readable = replay_input_is_readable;
	iface->create_source = replay_input_create_source;
	iface->read_nonblocking = replay_input_read_nonblocking;
}

static void
replay_input_finalize(GObject *object)
{
	ReplayInput *self = REPLAY_INPUT(object);

	g_object_unref(self->base);
	g_bytes_unref(self->prefix);
	G_OBJECT_CLASS(pxed_http_replay_input_parent_class)->finalize(object);
}

static void
pxed_http_replay_input_class_init(PxedHttpReplayInputClass *klass)
{
	G_OBJECT_CLASS(klass)->finalize = replay_input_finalize;
	G_INPUT_STREAM_CLASS(klass)->read_fn = replay_input_read;
	G_INPUT_STREAM_CLASS(klass)->close_fn = replay_input_close;
}

static void
pxed_http_replay_input_init(PxedHttpReplayInput *self)
{
}

/* ---- the connection ---- */

struct _PxedHttpReplayStream {
	GIOStream parent;
	GIOStream *base; /* (ref) */
	ReplayInput *input;
	gboolean disposing;
};

enum {
	PROP_0,
	PROP_BASE_IOSTREAM,
};

G_DEFINE_TYPE(PxedHttpReplayStream, pxed_http_replay_stream, G_TYPE_IO_STREAM)

static GInputStream *
replay_stream_get_input(GIOStream *stream)
{
	return G_INPUT_STREAM(PXED_HTTP_REPLAY_STREAM(stream)->input);
}

static GOutputStream *
replay_stream_get_output(GIOStream *stream)
{
	return g_io_stream_get_output_stream(PXED_HTTP_REPLAY_STREAM(stream)->base);
}

static gboolean
replay_stream_close(GIOStream *stream, GCancellable *cancellable, GError **error)
{
	PxedHttpReplayStream *self = PXED_HTTP_REPLAY_STREAM(stream);

	/* GIOStream closes on dispose: the connection outlives this wrapper
	 * when it has been taken through it */
	if (self->disposing)
		return TRUE;
	return g_io_stream_close(self->base, cancellable, error);
}

/* GIOStream's own async close runs close_fn in a worker thread: closing a
 * socket needs none. */
static void
replay_stream_close_async(GIOStream *stream, int io_priority, GCancellable *cancellable,
			  GAsyncReadyCallback callback, gpointer user_data)
{
	g_autoptr(GTask) task = g_task_new(stream, cancellable, callback, user_data);
	GError *error = NULL;

	if (replay_stream_close(stream, cancellable, &error))
		g_task_return_boolean(task, TRUE);
	else
		g_task_return_error(task, error);
}

static gboolean
replay_stream_close_finish(GIOStream *stream, GAsyncResult *result, GError **error)
{
	return g_task_propagate_boolean(G_TASK(result), error);
}

static void
replay_stream_get_property(GObject *object, guint id, GValue *value, GParamSpec *pspec)
{
	PxedHttpReplayStream *self = PXED_HTTP_REPLAY_STREAM(object);

	switch (id) {
	case PROP_BASE_IOSTREAM:
		g_value_set_object(value, self->base);
		break;
	default:
		G_OBJECT_WARN_INVALID_PROPERTY_ID(object, id, pspec);
	}
}

static void
replay_stream_dispose(GObject *object)
{
	PXED_HTTP_REPLAY_STREAM(object)->disposing = TRUE;
	G_OBJECT_CLASS(pxed_http_replay_stream_parent_class)->dispose(object);
}

static void
replay_stream_finalize(GObject *object)
{
	PxedHttpReplayStream *self = PXED_HTTP_REPLAY_STREAM(object);

	g_object_unref(self->input);
	g_object_unref(self->base);
	G_OBJECT_CLASS(pxed_http_replay_stream_parent_class)->finalize(object);
}

static void
pxed_http_replay_stream_class_init(PxedHttpReplayStreamClass *klass)
{
	GObjectClass *object_class = G_OBJECT_CLASS(klass);
	GIOStreamClass *stream_class = G_IO_STREAM_CLASS(klass);

	object_class->get_property = replay_stream_get_property;
	object_class->dispose = replay_stream_dispose;
	object_class->finalize = replay_stream_finalize;
	stream_class->get_input_stream = replay_stream_get_input;
	stream_class->get_output_stream = replay_stream_get_output;
	stream_class->close_fn = replay_stream_close;
	stream_class->close_async = replay_stream_close_async;
	stream_class->close_finish = replay_stream_close_finish;
	g_object_class_install_property(
		object_class, PROP_BASE_IOSTREAM,
		g_param_spec_object("base-iostream", NULL, NULL, G_TYPE_IO_STREAM,
				    G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));
}

static void
pxed_http_replay_stream_init(PxedHttpReplayStream *self)
{
}

GIOStream *
pxed_http_replay_stream_new(GIOStream *base, GBytes *prefix)
{
	PxedHttpReplayStream *self = g_object_new(PXED_TYPE_HTTP_REPLAY_STREAM, NULL);

	self->base = g_object_ref(base);
	self->input = g_object_new(REPLAY_TYPE_INPUT, NULL);
	self->input->base = g_object_ref(g_io_stream_get_input_stream(base));
	self->input->prefix = g_bytes_ref(prefix);
	return G_IO_STREAM(self);
}

/* ---- connections under wrappers ---- */

/* The stream @stream wraps ("base-iostream": libsoup's SoupIOStream, the
 * replay stream), or %NULL; *@wraps says whether it is a wrapper at all.
 * (transfer full) */
static GIOStream *
stream_base(GIOStream *stream, gboolean *wraps)
{
	GIOStream *base = NULL;

	*wraps = g_object_class_find_property(G_OBJECT_GET_CLASS(stream), "base-iostream") != NULL;
	if (*wraps)
		g_object_get(stream, "base-iostream", &base, NULL);
	return base;
}

GIOStream *
pxed_http_stream_unwrap(GIOStream *stream)
{
	g_autoptr(GIOStream) current = g_object_ref(stream);

	for (guint depth = 0; depth < 8; depth++) {
		gboolean wraps;
		GIOStream *base = stream_base(current, &wraps);

		if (!wraps)
			return g_steal_pointer(&current);
		if (base == NULL)
			return NULL;
		g_object_unref(current);
		current = base;
	}
	return NULL;
}

/* ---- what libsoup had read ahead ---- */

/* A replay stream under @stream, the one libsoup read from, or %NULL. */
static ReplayInput *
find_replay(GIOStream *stream)
{
	g_autoptr(GIOStream) current = g_object_ref(stream);

	for (guint depth = 0; depth < 8 && current != NULL; depth++) {
		gboolean wraps;
		GIOStream *base;

		if (PXED_IS_HTTP_REPLAY_STREAM(current))
			return REPLAY_INPUT(g_io_stream_get_input_stream(current));
		base = stream_base(current, &wraps);
		g_object_unref(current);
		current = base;
	}
	return NULL;
}

GBytes *
pxed_http_take_read_ahead(GIOStream *stolen)
{
	GInputStream *in = g_io_stream_get_input_stream(stolen);
	ReplayInput *replayed = find_replay(stolen);
	g_autoptr(GByteArray) got = g_byte_array_new();

	if (!G_IS_POLLABLE_INPUT_STREAM(in) ||
	    !g_pollable_input_stream_can_poll(G_POLLABLE_INPUT_STREAM(in)))
		return NULL;
	/* the bound applies to what comes from the socket: bytes replayed
	 * before and not read yet must all come along, or they are lost */
	while (got->len < PXED_HTTP_READ_AHEAD_MAX ||
	       (replayed != NULL && prefix_left(replayed) > 0)) {
		guint8 buf[8192];
		g_autoptr(GError) error = NULL;
		gssize n = g_pollable_input_stream_read_nonblocking(G_POLLABLE_INPUT_STREAM(in),
								    buf, sizeof(buf), NULL, &error);
		/* would block: all there is; the end or an error: the next
		 * reader of the connection sees it again */
		if (n <= 0)
			break;
		g_byte_array_append(got, buf, (guint)n);
	}
	if (got->len == 0)
		return NULL;
	return g_byte_array_free_to_bytes(g_steal_pointer(&got));
}
