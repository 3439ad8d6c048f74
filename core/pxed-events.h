/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <pxed/pxed.h>

G_BEGIN_DECLS

/**
 * PxedEvents:
 *
 * The boot event log: every step of every boot, filed under the machine's key
 * (its MAC when known). Kept in memory as a bounded ring for per-machine
 * timelines, logged one line per event, and appended as JSON lines to
 * `events.jsonl` in the state folder (written in batches from the main loop, so
 * a burst of transfers costs no write per event).
 *
 * The file shares its folder, and so its file system, with the lease journal,
 * and a flood of packets is a flood of events: the file is rotated by size
 * (`events.jsonl.1` … `.keep`, the oldest deleted) and a batch is dropped —
 * counted, with a rate-limited warning — rather than written when the file
 * system's free space would fall below a reserve, so that leases can always
 * be written.
 */
typedef struct _PxedEvents PxedEvents;

typedef struct {
	gint64 time_us; /* wall clock */
	char *source;
	char *event;
	char *client;
	char *message;
} PxedEvent;

/* How much disk the JSON lines file may take; see pxed_events_set_limits(). */
typedef struct {
	guint64 max_size;	/* bytes: rotate before a batch would pass it; 0: never */
	guint keep;		/* rotated files kept: events.jsonl.1 … .keep */
	guint64 min_free;	/* bytes the file system keeps free */
	guint min_free_percent; /* … or this share of its size, whichever is larger */
} PxedEventsLimits;

/* The [core] defaults: 16 MiB × (1 + 4) files at most, 64 MiB or 5 % kept free. */
#define PXED_EVENTS_MAX_SIZE_DEFAULT	     (16 * 1024 * 1024)
#define PXED_EVENTS_KEEP_DEFAULT	     4
#define PXED_EVENTS_MIN_FREE_DEFAULT	     (64 * 1024 * 1024)
#define PXED_EVENTS_MIN_FREE_PERCENT_DEFAULT 5

PxedEvents *pxed_events_new(GMainContext *context, guint capacity);
void pxed_events_free(PxedEvents *self);
/* Where to append the JSON lines; %NULL stops writing. */
gboolean pxed_events_set_file(PxedEvents *self, const char *path, GError **error);
void pxed_events_set_limits(PxedEvents *self, const PxedEventsLimits *limits);
/* Events not written to the file for want of free space (or a failed write). */
guint64 pxed_events_get_dropped(PxedEvents *self);
/* Times the file was rotated. */
guint64 pxed_events_get_rotations(PxedEvents *self);
/* Whether each event is also a log line (level info): off when the log would
 * drop it anyway, so that its text is not formatted for nothing. Default on. */
void pxed_events_set_echo(PxedEvents *self, gboolean echo);
/* Each event is also a log record (when echoed) with the journal fields
 * PXED_SOURCE, PXED_EVENT, PXED_CLIENT (@client, the client key), PXED_MAC
 * (@client again when it is a MAC) and PXED_ADDRESS (@address, when given). */
void pxed_events_add(PxedEvents *self, const char *source, const char *event, const char *client,
		     const char *message);
/* The same, with the client's IP address (text; nullable). */
void pxed_events_add_full(PxedEvents *self, const char *source, const char *event,
			  const char *client, const char *address, const char *message);
/* Writes what is batched now. */
void pxed_events_flush(PxedEvents *self);
/* The events of one client key, oldest first. (element-type PxedEvent) (transfer container) */
GPtrArray *pxed_events_for_client(PxedEvents *self, const char *client);
guint pxed_events_count(PxedEvents *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(PxedEvents, pxed_events_free)

G_END_DECLS
