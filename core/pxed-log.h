/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The daemon's log writer: one line per message on stderr (or the journal),
 * batched per main loop turn while the loop runs.
 */

#include <glib.h>

G_BEGIN_DECLS

/* The log writer's settings: handed to GLib as its user data, not global. */
typedef struct {
	GLogLevelFlags max_level; /* most verbose level shown */
	gboolean forced;	  /* --verbose: the configuration cannot lower it */
	gboolean journald;
	/* While the main loop runs, lines below warning wait in @pending for
	 * the end of the loop turn (log_source_prepare): one write() per turn,
	 * not one per line — a busy DHCP server logs four lines per exchange.
	 * Warnings and worse go out at once, after what waits. Any thread may
	 * log. */
	GMutex lock;
	GString *pending;     /* %NULL: every line at once */
	GThread *loop_thread; /* the main loop's; others wake it for their lines */
} PxedLogState;

/* Installs the writer: lines go out at once until pxed_log_batch_start(). */
void pxed_log_init(PxedLogState *state);

/* Lines wait for the end of each main loop turn from now on; also writes
 * what waits when the daemon crashes. */
GSource *pxed_log_batch_start(PxedLogState *state);
/* Writes what waits; lines go out at once again. */
void pxed_log_batch_stop(PxedLogState *state, GSource *source);

GLogWriterOutput pxed_log_writer(GLogLevelFlags level, const GLogField *fields, gsize n_fields,
				 gpointer user_data);

G_END_DECLS
