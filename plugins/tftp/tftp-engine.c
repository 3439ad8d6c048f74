/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * The TFTP plugin's event loop (see tftp-engine.h): an instance's one
 * GSource on the core's main context. It watches an epoll set holding the
 * listening sockets, every transfer's sockets and one timerfd, so that a
 * main loop turn costs the same with one transfer or a thousand (GLib polls
 * one descriptor, epoll reports only the ready ones), and timers are exact
 * to the microsecond (paced bursts are shorter than the main loop's
 * millisecond). Deadlines sit in a min-heap that is corrected lazily: an
 * ACK that pushes a transfer's retransmission deadline later costs nothing;
 * the entry is looked at again only when its old time comes.
 */

#include "tftp-engine.h"

#include <errno.h>
#include <poll.h>
#include <sys/timerfd.h>
#include <unistd.h>

/* Events taken from the epoll set per main loop turn, at most. */
#define EPOLL_BATCH 256
/* The first sockets asked for are polled by GLib itself rather than through
 * the epoll set (see pxed_tftp_engine_watch): at most this many at once. */
#define DIRECT_MAX 4

/* GLib's poll(2) bits are handed on as epoll bits: the same values. */
G_STATIC_ASSERT((int)G_IO_IN == (int)EPOLLIN && (int)G_IO_OUT == (int)EPOLLOUT);
G_STATIC_ASSERT((int)G_IO_ERR == (int)EPOLLERR && (int)G_IO_HUP == (int)EPOLLHUP);

struct _PxedTftpEngine {
	GSource source; /* first: the engine is its GSource */
	gpointer user_data;
	char *name;
	int epfd;
	int timerfd;
	gint64 timer_at; /* what the timerfd is armed for; -1: disarmed */
	PxedTftpWatch timer_watch;
	GPtrArray *heap; /* PxedTftpDeadline*, a min-heap on ->at */
	gpointer epfd_tag;
	PxedTftpWatch *direct[DIRECT_MAX]; /* watches GLib polls itself, or NULL */
	gboolean dispatching;
};

/* ---- the deadline heap ---- */

static void
heap_set(PxedTftpEngine *engine, guint i, PxedTftpDeadline *d)
{
	engine->heap->pdata[i] = d;
	d->index = (gint)i;
}

static void
heap_up(PxedTftpEngine *engine, guint i)
{
	PxedTftpDeadline *d = engine->heap->pdata[i];

	while (i > 0) {
		guint parent = (i - 1) / 2;
		PxedTftpDeadline *p = engine->heap->pdata[parent];
		if (p->at <= d->at)
			break;
		heap_set(engine, i, p);
		i = parent;
	}
	heap_set(engine, i, d);
}

static void
heap_down(PxedTftpEngine *engine, guint i)
{
	GPtrArray *h = engine->heap;
	PxedTftpDeadline *d = h->pdata[i];

	for (;;) {
		guint child = 2 * i + 1;
		PxedTftpDeadline *c;
		if (child >= h->len)
			break;
		if (child + 1 < h->len && ((PxedTftpDeadline *)h->pdata[child + 1])->at <
						  ((PxedTftpDeadline *)h->pdata[child])->at)
			child++;
		c = h->pdata[child];
		if (d->at <= c->at)
			break;
		heap_set(engine, i, c);
		i = child;
	}
	heap_set(engine, i, d);
}

void
pxed_tftp_engine_cancel(PxedTftpEngine *engine, PxedTftpDeadline *deadline)
{
	GPtrArray *h = engine->heap;
	guint i = (guint)deadline->index;
	PxedTftpDeadline *last;

	if (deadline->index < 0)
		return;
	deadline->index = -1;
	last = g_ptr_array_steal_index(h, h->len - 1);
	if (last == deadline)
		return;
	heap_set(engine, i, last);
	heap_up(engine, i);
	heap_down(engine, (guint)last->index);
}

void
pxed_tftp_engine_file(PxedTftpEngine *engine, PxedTftpDeadline *deadline, gint64 at)
{
	deadline->at = at;
	if (deadline->index < 0) {
		g_ptr_array_add(engine->heap, deadline);
		heap_up(engine, engine->heap->len - 1);
	} else {
		heap_up(engine, (guint)deadline->index);
	}
}

void
pxed_tftp_engine_arm_timer(PxedTftpEngine *engine)
{
	gint64 at = engine->heap->len > 0 ? ((PxedTftpDeadline *)engine->heap->pdata[0])->at : -1;
	struct itimerspec its = {{0, 0}, {0, 0}};

	if (at == engine->timer_at)
		return;
	engine->timer_at = at;
	if (at >= 0) {
		/* Absolute on CLOCK_MONOTONIC, the clock of g_get_monotonic_time();
		 * 0 would disarm, so a past deadline is 1 ns. */
		its.it_value.tv_sec = at / G_USEC_PER_SEC;
		its.it_value.tv_nsec = (at % G_USEC_PER_SEC) * 1000;
		if (its.it_value.tv_sec == 0 && its.it_value.tv_nsec == 0)
			its.it_value.tv_nsec = 1;
	}
	timerfd_settime(engine->timerfd, TFD_TIMER_ABSTIME, &its, NULL);
}

/* ---- watches ---- */

static GIOCondition
io_condition(guint32 events)
{
	return ((events & EPOLLIN) ? G_IO_IN : 0) | ((events & EPOLLOUT) ? G_IO_OUT : 0);
}

/* The first few transfers are in GLib's own poll set, not behind the epoll
 * descriptor. A socket wakes its poller with the "sync" hint, which lets the
 * scheduler run the server next to the client that just sent the ACK; a
 * nested epoll wakes GLib's poll() without it. For a few lock-step clients
 * that decides whether a block costs a cross-CPU wakeup. Beyond a few, the
 * epoll set keeps a main loop turn independent of the number of transfers. */
static gboolean
watch_direct(PxedTftpEngine *engine, PxedTftpWatch *watch)
{
	for (guint i = 0; i < DIRECT_MAX; i++) {
		if (engine->direct[i] == NULL) {
			engine->direct[i] = watch;
			watch->tag = g_source_add_unix_fd(&engine->source, watch->fd,
							  io_condition(watch->events));
			return TRUE;
		}
	}
	return FALSE;
}

gboolean
pxed_tftp_engine_watch(PxedTftpEngine *engine, PxedTftpWatch *watch, gboolean direct,
		       GError **error)
{
	struct epoll_event ev = {.events = watch->events, .data.ptr = watch};

	if (direct && watch_direct(engine, watch))
		return TRUE;
	if (epoll_ctl(engine->epfd, EPOLL_CTL_ADD, watch->fd, &ev) != 0) {
		int saved = errno;
		g_set_error_literal(error, G_IO_ERROR, g_io_error_from_errno(saved),
				    g_strerror(saved));
		return FALSE;
	}
	return TRUE;
}

void
pxed_tftp_engine_unwatch(PxedTftpEngine *engine, PxedTftpWatch *watch)
{
	if (watch->tag == NULL)
		return;
	g_source_remove_unix_fd(&engine->source, watch->tag);
	watch->tag = NULL;
	for (guint i = 0; i < DIRECT_MAX; i++) {
		if (engine->direct[i] == watch)
			engine->direct[i] = NULL;
	}
}

void
pxed_tftp_engine_modify(PxedTftpEngine *engine, PxedTftpWatch *watch, guint32 events)
{
	struct epoll_event ev = {.events = events, .data.ptr = watch};

	if (watch->tag != NULL)
		g_source_modify_unix_fd(&engine->source, watch->tag, io_condition(events));
	else
		epoll_ctl(engine->epfd, EPOLL_CTL_MOD, watch->fd, &ev);
	watch->events = events;
}

/* ---- the loop ---- */

static void
engine_timers(PxedTftpEngine *engine)
{
	gint64 now = g_get_monotonic_time();

	while (engine->heap->len > 0) {
		PxedTftpDeadline *d = engine->heap->pdata[0];

		if (d->at > now)
			break;
		pxed_tftp_engine_cancel(engine, d);
		pxed_tftp_engine_expired(engine->user_data, d, now);
	}
}

static gboolean
engine_dispatch(GSource *source, GSourceFunc callback, gpointer user_data)
{
	PxedTftpEngine *engine = (PxedTftpEngine *)source;
	struct epoll_event events[EPOLL_BATCH];
	gint64 now;
	int n;

	/* The source may recurse (see pxed_tftp_engine_new); this code does not. */
	if (engine->dispatching)
		return G_SOURCE_CONTINUE;
	engine->dispatching = TRUE;
	now = g_get_monotonic_time();
	for (guint i = 0; i < DIRECT_MAX; i++) {
		PxedTftpWatch *watch = engine->direct[i];
		GIOCondition revents;

		if (watch == NULL)
			continue;
		revents = g_source_query_unix_fd(source, watch->tag);
		if (revents == 0)
			continue;
		pxed_tftp_engine_ready(engine->user_data, watch, (guint32)revents, now);
	}
	/* Only when the epoll set has something: a lock-step block of a
	 * directly polled transfer costs no epoll_wait(). */
	n = (g_source_query_unix_fd(source, engine->epfd_tag) & G_IO_IN)
		    ? epoll_wait(engine->epfd, events, EPOLL_BATCH, 0)
		    : 0;
	for (int i = 0; i < n; i++) {
		PxedTftpWatch *watch = events[i].data.ptr;

		if (watch == &engine->timer_watch) {
			guint64 expirations;
			if (read(engine->timerfd, &expirations, sizeof(expirations)) < 0)
				g_debug("%s: timerfd: %s", engine->name, g_strerror(errno));
			engine->timer_at = -1; /* fired: re-arm whatever is next */
			continue;
		}
		pxed_tftp_engine_ready(engine->user_data, watch, events[i].events, now);
	}
	engine_timers(engine);
	pxed_tftp_engine_arm_timer(engine);
	engine->dispatching = FALSE;
	/* GLib holds the source while it dispatches: this may free the
	 * engine's owner, and the engine with it, safely. */
	pxed_tftp_engine_turn_end(engine->user_data);
	return G_SOURCE_CONTINUE;
}

static void
engine_finalize(GSource *source)
{
	PxedTftpEngine *engine = (PxedTftpEngine *)source;

	if (engine->epfd >= 0)
		close(engine->epfd);
	if (engine->timerfd >= 0)
		close(engine->timerfd);
	g_ptr_array_unref(engine->heap);
	g_free(engine->name);
}

static GSourceFuncs engine_funcs = {
	.dispatch = engine_dispatch,
	.finalize = engine_finalize,
};

PxedTftpEngine *
pxed_tftp_engine_new(GMainContext *context, const char *name, gpointer user_data, GError **error)
{
	PxedTftpEngine *engine =
		(PxedTftpEngine *)g_source_new(&engine_funcs, sizeof(PxedTftpEngine));
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &engine->timer_watch};

	engine->user_data = user_data;
	engine->name = g_strdup(name);
	engine->heap = g_ptr_array_new();
	engine->timer_at = -1;
	engine->epfd = epoll_create1(EPOLL_CLOEXEC);
	engine->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	engine->timer_watch.fd = engine->timerfd;
	if (engine->epfd < 0 || engine->timerfd < 0 ||
	    epoll_ctl(engine->epfd, EPOLL_CTL_ADD, engine->timerfd, &ev) != 0) {
		int saved = errno;
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(saved),
			    "cannot set up the transfer engine: %s", g_strerror(saved));
		g_source_unref(&engine->source);
		return NULL;
	}
	g_source_set_static_name(&engine->source, "pxed-tftp-transfers");
	/* GLib (2.74) takes a non-recursive source's descriptors out of the poll
	 * set around each dispatch and puts them back, and each of those steps
	 * signals the context's wakeup eventfd: two write()s, a read() and an
	 * extra loop turn for every ACK of a lock-step transfer. A recursive
	 * source is left alone; engine_dispatch() guards itself instead. */
	g_source_set_can_recurse(&engine->source, TRUE);
	engine->epfd_tag = g_source_add_unix_fd(&engine->source, engine->epfd, G_IO_IN);
	g_source_attach(&engine->source, context);
	return engine;
}

void
pxed_tftp_engine_free(PxedTftpEngine *engine)
{
	g_source_destroy(&engine->source);
	g_source_unref(&engine->source);
}
