/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The TFTP plugin's event loop: one GSource per instance over an epoll set
 * (listening and transfer sockets) and one timerfd, a min-heap of deadlines,
 * and the first few sockets polled by GLib itself. It knows nothing of TFTP:
 * what became ready and what expired goes to three functions its user
 * defines (tftp-transfer.c in the plugin, a test its own), called directly —
 * never through a function pointer, since they run for every datagram.
 */

#include <gio/gio.h>
#include <sys/epoll.h>

G_BEGIN_DECLS

typedef struct _PxedTftpEngine PxedTftpEngine;

/* A descriptor the engine watches, embedded in its owner. */
typedef struct {
	int fd;
	guint32 events; /* EPOLLIN, EPOLLOUT: what it is watched for */
	gpointer tag;	/* polled by GLib directly: its tag in the engine's source */
	guint kind;	/* the owner's, for pxed_tftp_engine_ready() to tell watches apart */
	gpointer owner;
} PxedTftpWatch;

/* A deadline in the engine's heap, embedded in its owner. */
typedef struct {
	gint64 at;  /* what it is filed under (maybe earlier than the owner's real deadline) */
	gint index; /* in the heap; -1: not filed */
} PxedTftpDeadline;

#define PXED_TFTP_DEADLINE_INIT                                                                    \
	{                                                                                          \
		.at = 0, .index = -1                                                               \
	}

/* ---- defined by the engine's user ---- */

/* @watch is ready: @events are EPOLLIN, EPOLLOUT, EPOLLERR, EPOLLHUP (for a
 * socket GLib polls, its poll(2) bits, which have the same values). */
void pxed_tftp_engine_ready(gpointer user_data, PxedTftpWatch *watch, guint32 events, gint64 now);
/* @deadline's time came; it is no longer filed. Deadlines are corrected
 * lazily (see pxed_tftp_engine_schedule()): the owner checks whether its
 * real deadline moved later and then files it again. */
void pxed_tftp_engine_expired(gpointer user_data, PxedTftpDeadline *deadline, gint64 now);
/* The end of a dispatch: what ended during it may be freed now (an epoll
 * batch no longer names it). May free the engine. */
void pxed_tftp_engine_turn_end(gpointer user_data);

/* ---- the engine ---- */

/* A new engine attached to @context; @name prefixes its log lines. */
PxedTftpEngine *pxed_tftp_engine_new(GMainContext *context, const char *name, gpointer user_data,
				     GError **error);
/* Detaches and frees it (at the end of its dispatch, if inside one). */
void pxed_tftp_engine_free(PxedTftpEngine *engine);

/* Watches @watch->fd for @watch->events. @direct: in GLib's own poll set if
 * one of the few places there is free (see tftp-engine.c), else in the epoll
 * set. The error says only what failed (strerror). */
gboolean pxed_tftp_engine_watch(PxedTftpEngine *engine, PxedTftpWatch *watch, gboolean direct,
				GError **error);
/* Takes it out of GLib's poll set if it is there. A descriptor in the epoll
 * set leaves it when it is closed: no system call is spent on that. */
void pxed_tftp_engine_unwatch(PxedTftpEngine *engine, PxedTftpWatch *watch);
void pxed_tftp_engine_modify(PxedTftpEngine *engine, PxedTftpWatch *watch, guint32 events);

/* Runs for every datagram: inline, and a system call only on a change. */
static inline void
pxed_tftp_engine_set_events(PxedTftpEngine *engine, PxedTftpWatch *watch, guint32 events)
{
	if (events != watch->events)
		pxed_tftp_engine_modify(engine, watch, events);
}

void pxed_tftp_engine_file(PxedTftpEngine *engine, PxedTftpDeadline *deadline, gint64 at);

/* Files @deadline for @at (monotonic µs; negative: nothing to file). A
 * later time than the one filed is left for later — the entry is looked at
 * again when its old time comes — so that an ACK pushing a retransmission
 * deadline later costs nothing. Runs for every datagram: inline. */
static inline void
pxed_tftp_engine_schedule(PxedTftpEngine *engine, PxedTftpDeadline *deadline, gint64 at)
{
	if (at < 0 || (deadline->index >= 0 && at >= deadline->at))
		return;
	pxed_tftp_engine_file(engine, deadline, at);
}

/* Takes @deadline out of the heap, if it is there. */
void pxed_tftp_engine_cancel(PxedTftpEngine *engine, PxedTftpDeadline *deadline);

/* Sets the timerfd to the earliest deadline (no system call if unchanged);
 * done at the end of every dispatch. */
void pxed_tftp_engine_arm_timer(PxedTftpEngine *engine);

G_END_DECLS
