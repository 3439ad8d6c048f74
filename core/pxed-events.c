/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "pxed-events.h"
#include "pxed-io.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

/* A limit is hit at flood rate: one line per minute says how often. */
#define WARN_INTERVAL_US (60 * G_USEC_PER_SEC)
/* Events wait at most this much before they are written, whatever the
 * timer: it bounds the memory a flood takes and how far a batch can carry
 * the file past event-log-max-size. */
#define PENDING_MAX (64 * 1024)

typedef struct {
	gint64 next_us;	   /* monotonic: when the next line may go out */
	guint64 held_back; /* lines not shown since the last one */
} RateLimit;

struct _PxedEvents {
	GMainContext *context;
	PxedEvent *ring;
	guint capacity;
	guint next;  /* slot the next event goes to */
	guint count; /* events ever added */
	char *path;  /* %NULL: no file */
	int fd;	     /* -1 while @path could not be opened */
	gboolean echo;
	GString *pending;
	guint pending_events;
	GSource *flush_source;
	PxedEventsLimits limits;
	guint64 dropped;
	guint64 rotations;
	gboolean starved; /* the last batch was dropped for want of space */
	RateLimit drop_limit, resume_limit, rotate_limit, write_limit;
};

/* Whether a line may be logged now; @held_back gets how many were not since
 * the last one. */
static gboolean
rate_limit_pass(RateLimit *limit, guint64 *held_back)
{
	gint64 now = g_get_monotonic_time();

	if (limit->next_us != 0 && now < limit->next_us) {
		limit->held_back++;
		return FALSE;
	}
	*held_back = limit->held_back;
	limit->held_back = 0;
	limit->next_us = now + WARN_INTERVAL_US;
	return TRUE;
}

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
	self->limits = (PxedEventsLimits){
		.max_size = PXED_EVENTS_MAX_SIZE_DEFAULT,
		.keep = PXED_EVENTS_KEEP_DEFAULT,
		.min_free = PXED_EVENTS_MIN_FREE_DEFAULT,
		.min_free_percent = PXED_EVENTS_MIN_FREE_PERCENT_DEFAULT,
	};
	return self;
}

void
pxed_events_set_limits(PxedEvents *self, const PxedEventsLimits *limits)
{
	self->limits = *limits;
	self->limits.min_free_percent = MIN(self->limits.min_free_percent, 100);
}

guint64
pxed_events_get_dropped(PxedEvents *self)
{
	return self->dropped;
}

guint64
pxed_events_get_rotations(PxedEvents *self)
{
	return self->rotations;
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
	g_free(self->path);
	g_string_free(self->pending, TRUE);
	if (self->context != NULL)
		g_main_context_unref(self->context);
	g_free(self);
}

static int
open_log(const char *path, GError **error)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);

	if (fd < 0)
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errno),
			    "cannot open event log %s: %s", path, g_strerror(errno));
	return fd;
}

gboolean
pxed_events_set_file(PxedEvents *self, const char *path, GError **error)
{
	int fd = -1;

	pxed_events_flush(self);
	if (path != NULL) {
		fd = open_log(path, error);
		if (fd < 0)
			return FALSE;
	}
	if (self->fd >= 0)
		close(self->fd);
	self->fd = fd;
	g_free(self->path);
	self->path = g_strdup(path);
	return TRUE;
}

/* events.jsonl.N */
static char *
rotated_name(const char *path, guint n)
{
	return g_strdup_printf("%s.%u", path, n);
}

/* events.jsonl becomes .1, .1 becomes .2 … up to .keep, which takes the place
 * of the oldest; files past .keep (a smaller keep since) go. Then a new
 * events.jsonl. The renames stay in the folder, so they cannot fail for
 * want of space. */
static void
rotate(PxedEvents *self)
{
	g_autoptr(GError) error = NULL;
	guint64 held_back = 0;

	for (guint n = self->limits.keep + 1; n < self->limits.keep + 1000; n++) {
		g_autofree char *extra = rotated_name(self->path, n);
		if (unlink(extra) != 0)
			break;
	}
	for (guint n = self->limits.keep; n >= 2; n--) {
		g_autofree char *from = rotated_name(self->path, n - 1);
		g_autofree char *to = rotated_name(self->path, n);
		if (rename(from, to) != 0 && errno != ENOENT)
			g_warning("event log: cannot rename %s: %s", from, g_strerror(errno));
	}
	if (self->limits.keep > 0) {
		g_autofree char *first = rotated_name(self->path, 1);
		if (rename(self->path, first) != 0)
			g_warning("event log: cannot rename %s: %s", self->path, g_strerror(errno));
	} else if (unlink(self->path) != 0) {
		g_warning("event log: cannot remove %s: %s", self->path, g_strerror(errno));
	}
	close(self->fd);
	self->fd = open_log(self->path, &error);
	if (self->fd < 0)
		g_warning("event log: after rotation: %s", error->message);
	self->rotations++;
	if (rate_limit_pass(&self->rotate_limit, &held_back))
		g_message("event log: %s rotated at %" G_GUINT64_FORMAT
			  " bytes, %u older files kept (%" G_GUINT64_FORMAT
			  " rotations in all, %" G_GUINT64_FORMAT " not logged)",
			  self->path, self->limits.max_size, self->limits.keep, self->rotations,
			  held_back);
}

/* Whether @len more bytes leave the file system its reserve: the lease
 * journal lives on it too, and a lease that cannot be written is a client
 * that cannot boot, while a missing event is only a missing line. */
static gboolean
room_for(PxedEvents *self, gsize len)
{
	struct statvfs vfs;
	guint64 avail, size, reserve;

	if (fstatvfs(self->fd, &vfs) != 0)
		return TRUE; /* the write will tell */
	avail = (guint64)vfs.f_bavail * vfs.f_frsize;
	size = (guint64)vfs.f_blocks * vfs.f_frsize;
	reserve = MAX(self->limits.min_free, size / 100 * self->limits.min_free_percent);
	return avail >= reserve && avail - reserve >= len;
}

static void
drop_pending(PxedEvents *self, const char *why)
{
	guint64 held_back = 0;

	self->dropped += self->pending_events;
	self->starved = TRUE;
	if (rate_limit_pass(&self->drop_limit, &held_back))
		g_warning("event log: %s: %s: events are not written (%" G_GUINT64_FORMAT
			  " dropped in all)",
			  self->path, why, self->dropped);
}

void
pxed_events_flush(PxedEvents *self)
{
	struct stat st;

	if (self->path == NULL || self->pending->len == 0)
		goto out;
	if (self->fd < 0) {
		/* a rotation could not open the new file: try again */
		self->fd = open_log(self->path, NULL);
		if (self->fd < 0) {
			drop_pending(self, "cannot be created again");
			goto out;
		}
	}
	/* Only a regular file has a size to keep and a file system to share:
	 * not /dev/null, a FIFO, a terminal. */
	if (fstat(self->fd, &st) == 0 && S_ISREG(st.st_mode)) {
		if (self->limits.max_size > 0 && st.st_size > 0 &&
		    (guint64)st.st_size + self->pending->len > self->limits.max_size) {
			rotate(self);
			if (self->fd < 0) {
				drop_pending(self, "cannot be created after rotation");
				goto out;
			}
		}
		if (!room_for(self, self->pending->len)) {
			drop_pending(self, "free space is below the reserve (event-log-min-free, "
					   "event-log-min-free-percent)");
			goto out;
		}
	}
	if (self->starved) {
		guint64 held_back = 0;
		self->starved = FALSE;
		if (rate_limit_pass(&self->resume_limit, &held_back))
			g_message("event log: %s: writing again (%" G_GUINT64_FORMAT
				  " events dropped in all)",
				  self->path, self->dropped);
	}
	if (!pxed_write_all(self->fd, self->pending->str, self->pending->len)) {
		int err = errno;
		guint64 held_back = 0;
		/* A full disk must not stop boots: say so, drop the batch. */
		self->dropped += self->pending_events;
		if (rate_limit_pass(&self->write_limit, &held_back))
			g_warning("event log: write failed: %s (%" G_GUINT64_FORMAT
				  " events dropped in all)",
				  g_strerror(err), self->dropped);
	}
out:
	g_string_truncate(self->pending, 0);
	self->pending_events = 0;
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

/* Whether @key is a MAC as pxed_client_get_key() gives it: six hex pairs
 * joined by ':'. Neither a UUID nor an address has that shape (an IPv6
 * address of six groups needs a "::"). */
static gboolean
key_is_mac(const char *key)
{
	for (guint i = 0; i < 17; i++) {
		if (i % 3 == 2 ? key[i] != ':' : !g_ascii_isxdigit(key[i]))
			return FALSE;
	}
	return key[17] == '\0';
}

/* The line, and with it the journal record. Built on the stack: one event
 * per DHCP packet or HTTP request, and fields the log writer does not use
 * (only the journal does) cost a pointer each. */
static void
event_log(const PxedEvent *e, const char *address)
{
	char buffer[1024];
	g_autofree char *allocated = NULL;
	const char *message = buffer;
	GLogField fields[8];
	gsize n = 0;

	if ((gsize)g_snprintf(buffer, sizeof(buffer), "source=%s event=%s client=%s %s", e->source,
			      e->event, e->client, e->message) >= sizeof(buffer))
		message = allocated = g_strdup_printf("source=%s event=%s client=%s %s", e->source,
						      e->event, e->client, e->message);
#define FIELD(k, v) fields[n++] = (GLogField){.key = (k), .value = (v), .length = -1}
	FIELD("MESSAGE", message);
	FIELD("PRIORITY", "6"); /* LOG_INFO: g_log_structured_array() does not add it */
	FIELD("GLIB_DOMAIN", "pxed-events");
	FIELD("PXED_SOURCE", e->source);
	FIELD("PXED_EVENT", e->event);
	FIELD("PXED_CLIENT", e->client);
	/* journalctl PXED_MAC=…: one machine's boot across DHCP, TFTP and HTTP */
	if (key_is_mac(e->client))
		FIELD("PXED_MAC", e->client);
	if (address != NULL)
		FIELD("PXED_ADDRESS", address);
#undef FIELD
	g_log_structured_array(G_LOG_LEVEL_INFO, fields, n);
}

void
pxed_events_add(PxedEvents *self, const char *source, const char *event, const char *client,
		const char *message)
{
	pxed_events_add_full(self, source, event, client, NULL, message);
}

void
pxed_events_add_full(PxedEvents *self, const char *source, const char *event, const char *client,
		     const char *address, const char *message)
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
		event_log(e, address);

	if (self->path == NULL)
		return;
	append_json(self, e);
	self->pending_events++;
	if (self->pending->len >= PENDING_MAX) {
		pxed_events_flush(self);
		return;
	}
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
