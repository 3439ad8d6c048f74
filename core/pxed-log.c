/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "pxed-log.h"

#include "pxed-io.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* The one static of the daemon: a fatal signal's handler has no user data.
 * Set while lines are batched, so that a crash does not lose the last turn's
 * lines. */
static PxedLogState *fatal_log_state;
static const int fatal_signals[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};
static struct sigaction fatal_previous[G_N_ELEMENTS(fatal_signals)];

typedef struct {
	GSource source;
	PxedLogState *state;
} PxedLogSource;

static const char *
level_name(GLogLevelFlags level)
{
	switch (level & G_LOG_LEVEL_MASK) {
	case G_LOG_LEVEL_ERROR:
		return "error";
	case G_LOG_LEVEL_CRITICAL:
		return "critical";
	case G_LOG_LEVEL_WARNING:
		return "warning";
	case G_LOG_LEVEL_MESSAGE:
		return "message";
	case G_LOG_LEVEL_INFO:
		return "info";
	default:
		return "debug";
	}
}

/* Called with state->lock held. */
static void
log_flush_locked(PxedLogState *state)
{
	if (state->pending == NULL || state->pending->len == 0)
		return;
	(void)pxed_write_all(STDERR_FILENO, state->pending->str, state->pending->len);
	g_string_truncate(state->pending, 0);
}

static gboolean
log_source_prepare(GSource *source, gint *timeout)
{
	PxedLogState *state = ((PxedLogSource *)source)->state;

	g_mutex_lock(&state->lock);
	log_flush_locked(state);
	g_mutex_unlock(&state->lock);
	*timeout = -1;
	return FALSE;
}

static gboolean
log_source_dispatch(GSource *source, GSourceFunc callback, gpointer user_data)
{
	return G_SOURCE_CONTINUE;
}

/* A crash: what waits is written (unless another thread holds the lock,
 * maybe the one that crashed), then the signal's previous handling (the
 * default, or a sanitizer's report) takes over: a fault the kernel raised
 * happens again when this returns, with its own siginfo; anything else is
 * raised again. */
static void
log_fatal_signal(int sig, siginfo_t *info, void *context)
{
	PxedLogState *state = fatal_log_state;

	if (state != NULL && g_mutex_trylock(&state->lock)) {
		if (state->pending != NULL && state->pending->len > 0) {
			(void)pxed_write_all(STDERR_FILENO, state->pending->str,
					     state->pending->len);
			state->pending->len = 0; /* no g_string_*(): not in a handler */
		}
		g_mutex_unlock(&state->lock);
	}
	for (guint i = 0; i < G_N_ELEMENTS(fatal_signals); i++) {
		if (fatal_signals[i] == sig)
			sigaction(sig, &fatal_previous[i], NULL);
	}
	if (sig == SIGABRT || info == NULL || info->si_code <= 0)
		raise(sig); /* delivered once this handler returns */
}

static void
log_fatal_handlers(PxedLogState *state)
{
	/* on the alternate stack when there is one (a sanitizer's): a stack
	 * overflow still gets reported */
	struct sigaction action = {.sa_sigaction = log_fatal_signal,
				   .sa_flags = SA_SIGINFO | SA_ONSTACK};

	fatal_log_state = state;
	sigemptyset(&action.sa_mask);
	for (guint i = 0; i < G_N_ELEMENTS(fatal_signals); i++)
		sigaction(fatal_signals[i], state != NULL ? &action : &fatal_previous[i],
			  state != NULL ? &fatal_previous[i] : NULL);
}

static GSourceFuncs log_source_funcs = {
	.prepare = log_source_prepare,
	.dispatch = log_source_dispatch,
};

/* Lines wait for the end of each main loop turn from now on. */
GSource *
pxed_log_batch_start(PxedLogState *state)
{
	GSource *source = g_source_new(&log_source_funcs, sizeof(PxedLogSource));

	((PxedLogSource *)source)->state = state;
	g_source_set_static_name(source, "pxed-log-flush");
	/* GLib stops preparing sources below the priority of one that is
	 * ready: above them all, the flush runs every turn. */
	g_source_set_priority(source, G_PRIORITY_HIGH * 10);
	g_mutex_lock(&state->lock);
	state->pending = g_string_sized_new(16384);
	state->loop_thread = g_thread_self();
	g_mutex_unlock(&state->lock);
	log_fatal_handlers(state);
	g_source_attach(source, NULL);
	return source;
}

void
pxed_log_batch_stop(PxedLogState *state, GSource *source)
{
	g_source_destroy(source);
	g_source_unref(source);
	log_fatal_handlers(NULL);
	g_mutex_lock(&state->lock);
	log_flush_locked(state);
	g_string_free(state->pending, TRUE);
	state->pending = NULL;
	g_mutex_unlock(&state->lock);
}

GLogWriterOutput
pxed_log_writer(GLogLevelFlags level, const GLogField *fields, gsize n_fields, gpointer user_data)
{
	PxedLogState *state = user_data;
	const char *message = NULL, *domain = NULL;
	struct timespec now;
	struct tm tm;
	char stamp[32];
	gboolean wake = FALSE;

	/* GLib's levels grow more verbose as their bit grows. */
	if ((level & G_LOG_LEVEL_MASK) > state->max_level &&
	    !(level & (G_LOG_FLAG_FATAL | G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL)))
		return G_LOG_WRITER_HANDLED;
	if (state->journald)
		return g_log_writer_journald(level, fields, n_fields, NULL);
	for (gsize i = 0; i < n_fields; i++) {
		if (g_str_equal(fields[i].key, "MESSAGE"))
			message = fields[i].value;
		else if (g_str_equal(fields[i].key, "GLIB_DOMAIN"))
			domain = fields[i].value;
	}
	/* localtime_r(), not GDateTime: GLib looks at /etc/localtime again for
	 * every local GDateTime (three syscalls per line, one line per request). */
	clock_gettime(CLOCK_REALTIME, &now);
	if (localtime_r(&now.tv_sec, &tm) == NULL ||
	    strftime(stamp, sizeof(stamp), "%H:%M:%S", &tm) == 0)
		g_strlcpy(stamp, "?", sizeof(stamp));
	g_snprintf(stamp + strlen(stamp), sizeof(stamp) - strlen(stamp), ".%03ld ",
		   now.tv_nsec / 1000000);
	g_mutex_lock(&state->lock);
	{
		GString *line = state->pending != NULL ? state->pending : g_string_new(NULL);
		/* another thread's line would wait for the loop's next event */
		wake = line->len == 0 && state->pending != NULL &&
		       g_thread_self() != state->loop_thread;
		gboolean now_too = state->pending == NULL ||
				   (level & (G_LOG_LEVEL_WARNING | G_LOG_LEVEL_CRITICAL |
					     G_LOG_LEVEL_ERROR | G_LOG_FLAG_FATAL)) ||
				   line->len > 65536;

		g_string_append(line, stamp);
		g_string_append(line, domain ? domain : "pxed");
		g_string_append_c(line, ' ');
		g_string_append(line, level_name(level));
		g_string_append(line, ": ");
		g_string_append(line, message ? message : "");
		g_string_append_c(line, '\n');
		if (state->pending == NULL) {
			(void)pxed_write_all(STDERR_FILENO, line->str, line->len);
			g_string_free(line, TRUE);
		} else if (now_too) {
			log_flush_locked(state);
			wake = FALSE;
		}
	}
	g_mutex_unlock(&state->lock);
	if (wake)
		g_main_context_wakeup(NULL);
	return G_LOG_WRITER_HANDLED;
}

void
pxed_log_init(PxedLogState *state)
{
	g_mutex_init(&state->lock);
	state->journald = g_log_writer_is_journald(fileno(stderr));
	g_log_set_writer_func(pxed_log_writer, state, NULL);
}
