/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "pxed-events.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct _PxedEvents {
	GMainContext *context;
	PxedEvent *ring;
	guint capacity;
	guint next;  /* slot the next event goes to */
	guint count; /* events ever added */
	int fd;
	gboolean echo;
	GString *pending;
	GSource *flush_source;
};

static void
event_clear(PxedEvent *e)
{
	/* the four strings share the block that starts at source */
	g_clear_pointer(&e->source, g_free);
	e->event = e->client = e->message = NULL;
}

/* One allocation for the four strings of an event: several events per DHCP
 * exchange or HTTP request made malloc and free show in profiles. */
static void
event_set(PxedEvent *e, const char *source, const char *event, const char *client,
	  const char *message)
{
	gsize ls = strlen(source) + 1, le = strlen(event) + 1, lc = strlen(client) + 1,
	      lm = strlen(message) + 1;
	char *block = g_malloc(ls + le + lc + lm);

	e->source = memcpy(block, source, ls);
	e->event = memcpy(block + ls, event, le);
	e->client = memcpy(block + ls + le, client, lc);
	e->message = memcpy(block + ls + le + lc, message, lm);
}

PxedEvents *
pxed_events_new(GMainContext *context, guint capacity)
{
	PxedEvents *self = g_new0(PxedEvents, 1);
	self->context = context != NULL ? g_main_context_ref(context) : NULL;
	self->capacity = MAX(capacity, 1);
	self->ring = g_new0(PxedEvent, self->capacity);
	self->fd = -1;
	self->echo = TRUE;
	self->pending = g_string_new(NULL);
	return self;
}

void
pxed_events_set_echo(PxedEvents *self, gboolean echo)
{
	self->echo = echo;
}

void
pxed_events_free(PxedEvents *self)
{
	pxed_events_flush(self);
	if (self->flush_source != NULL) {
		g_source_destroy(self->flush_source);
		g_source_unref(self->flush_source);
	}
	for (guint i = 0; i < self->capacity; i++)
		event_clear(&self->ring[i]);
	g_free(self->ring);
	if (self->fd >= 0)
		close(self->fd);
	g_string_free(self->pending, TRUE);
	if (self->context != NULL)
		g_main_context_unref(self->context);
	g_free(self);
}

gboolean
pxed_events_set_file(PxedEvents *self, const char *path, GError **error)
{
	int fd = -1;

	pxed_events_flush(self);
	if (path != NULL) {
		fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
		if (fd < 0) {
			g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errno),
				    "cannot open event log %s: %s", path, g_strerror(errno));
			return FALSE;
		}
	}
	if (self->fd >= 0)
		close(self->fd);
	self->fd = fd;
	return TRUE;
}

void
pxed_events_flush(PxedEvents *self)
{
	gsize done = 0;

	if (self->fd < 0 || self->pending->len == 0) {
		g_string_truncate(self->pending, 0);
		return;
	}
	while (done < self->pending->len) {
		ssize_t n = write(self->fd, self->pending->str + done, self->pending->len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			/* A full disk must not stop boots: say so once per batch, drop it. */
			g_warning("event log: write failed: %s", g_strerror(errno));
			break;
		}
		done += (gsize)n;
	}
	g_string_truncate(self->pending, 0);
}

static gboolean
flush_cb(gpointer user_data)
{
	PxedEvents *self = user_data;
	pxed_events_flush(self);
	g_clear_pointer(&self->flush_source, g_source_unref);
	return G_SOURCE_REMOVE;
}

/* One JSON string (RFC 8259 §7), quotes included. Written by hand rather than
 * with a JsonBuilder: a DHCP server files four events per exchange, and
 * building a GObject tree for each line was a third of its time. */
static void
append_json_string(GString *out, const char *text)
{
	g_autofree char *valid = NULL;

	if (!g_utf8_validate(text, -1, NULL))
		text = valid = g_utf8_make_valid(text, -1);
	g_string_append_c(out, '"');
	for (const char *p = text; *p != '\0'; p++) {
		guchar c = (guchar)*p;
		switch (c) {
		case '"':
			g_string_append(out, "\\\"");
			break;
		case '\\':
			g_string_append(out, "\\\\");
			break;
		case '\n':
			g_string_append(out, "\\n");
			break;
		case '\r':
			g_string_append(out, "\\r");
			break;
		case '\t':
			g_string_append(out, "\\t");
			break;
		default:
			if (c < 0x20 || c == 0x7f)
				g_string_append_printf(out, "\\u%04x", c);
			else
				g_string_append_c(out, (char)c);
		}
	}
	g_string_append_c(out, '"');
}

static void
append_json(PxedEvents *self, const PxedEvent *e)
{
	time_t seconds = (time_t)(e->time_us / G_USEC_PER_SEC);
	struct tm tm;
	char stamp[64];

	if (gmtime_r(&seconds, &tm) == NULL ||
	    strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm) == 0)
		g_strlcpy(stamp, "?", sizeof(stamp));
	g_string_append_printf(self->pending,
			       "{\"time\":\"%s.%06" G_GINT64_FORMAT "Z\",\"source\":", stamp,
			       e->time_us % G_USEC_PER_SEC);
	append_json_string(self->pending, e->source);
	g_string_append(self->pending, ",\"event\":");
	append_json_string(self->pending, e->event);
	g_string_append(self->pending, ",\"client\":");
	append_json_string(self->pending, e->client);
	g_string_append(self->pending, ",\"message\":");
	append_json_string(self->pending, e->message);
	g_string_append(self->pending, "}\n");
}

void
pxed_events_add(PxedEvents *self, const char *source, const char *event, const char *client,
		const char *message)
{
	PxedEvent *e = &self->ring[self->next];

	event_clear(e);
	e->time_us = g_get_real_time();
	event_set(e, source != NULL ? source : "core", event != NULL ? event : "",
		  client != NULL ? client : "-", message != NULL ? message : "");
	self->next = (self->next + 1) % self->capacity;
	self->count++;

	/* One line per event, machine-readable: tests and operators grep it. */
	if (self->echo)
		g_log_structured("pxed-events", G_LOG_LEVEL_INFO, "PXED_SOURCE", e->source,
				 "PXED_EVENT", e->event, "PXED_CLIENT", e->client, "MESSAGE",
				 "source=%s event=%s client=%s %s", e->source, e->event, e->client,
				 e->message);

	if (self->fd < 0)
		return;
	append_json(self, e);
	if (self->flush_source == NULL && self->context != NULL) {
		self->flush_source = g_timeout_source_new(200);
		g_source_set_callback(self->flush_source, flush_cb, self, NULL);
		g_source_attach(self->flush_source, self->context);
	}
}

GPtrArray *
pxed_events_for_client(PxedEvents *self, const char *client)
{
	GPtrArray *result = g_ptr_array_new();
	guint n = MIN(self->count, self->capacity);
	guint start = (self->next + self->capacity - n) % self->capacity;

	for (guint i = 0; i < n; i++) {
		PxedEvent *e = &self->ring[(start + i) % self->capacity];
		if (g_strcmp0(e->client, client) == 0)
			g_ptr_array_add(result, e);
	}
	return result;
}

guint
pxed_events_count(PxedEvents *self)
{
	return self->count;
}
