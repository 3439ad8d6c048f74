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
 */
typedef struct _PxedEvents PxedEvents;

typedef struct {
	gint64 time_us; /* wall clock */
	char *source;
	char *event;
	char *client;
	char *message;
} PxedEvent;

PxedEvents *pxed_events_new(GMainContext *context, guint capacity);
void pxed_events_free(PxedEvents *self);
/* Where to append the JSON lines; %NULL stops writing. */
gboolean pxed_events_set_file(PxedEvents *self, const char *path, GError **error);
/* Whether each event is also a log line (level info): off when the log would
 * drop it anyway, so that its text is not formatted for nothing. Default on. */
void pxed_events_set_echo(PxedEvents *self, gboolean echo);
void pxed_events_add(PxedEvents *self, const char *source, const char *event, const char *client,
		     const char *message);
/* Writes what is batched now. */
void pxed_events_flush(PxedEvents *self);
/* The events of one client key, oldest first. (element-type PxedEvent) (transfer container) */
GPtrArray *pxed_events_for_client(PxedEvents *self, const char *client);
guint pxed_events_count(PxedEvents *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(PxedEvents, pxed_events_free)

G_END_DECLS
