/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * The transfer engine (tftp-engine.c) without TFTP: this test defines the
 * engine's three hooks itself, files deadlines and watches datagram socket
 * pairs on a main context of its own. Every wait is for a condition, bounded
 * by a deadline.
 */

#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tftp-engine.h"

#define WAIT_LIMIT_US (5 * G_USEC_PER_SEC)

typedef struct {
	/* what the hooks saw */
	GPtrArray *expired; /* PxedTftpDeadline*, in the order they expired */
	GArray *expired_at; /* gint64: the engine's clock when each expired */
	PxedTftpWatch *ready[16];
	guint32 ready_events[16];
	guint turns;
	/* a deadline filed again from its hook, as a transfer does */
	PxedTftpDeadline *refile;
	gint64 refile_at;
	PxedTftpEngine *engine;
} Fixture;

void
pxed_tftp_engine_ready(gpointer user_data, PxedTftpWatch *watch, guint32 events, gint64 now)
{
	Fixture *f = user_data;
	char buf[64];

	g_assert_cmpuint(watch->kind, <, G_N_ELEMENTS(f->ready));
	f->ready[watch->kind] = watch;
	f->ready_events[watch->kind] |= events;
	/* level-triggered: drain, or it is reported again and again */
	if (events & EPOLLIN)
		while (recv(watch->fd, buf, sizeof(buf), MSG_DONTWAIT) > 0)
			;
}

void
pxed_tftp_engine_expired(gpointer user_data, PxedTftpDeadline *deadline, gint64 now)
{
	Fixture *f = user_data;

	g_assert_cmpint(deadline->index, ==, -1); /* no longer filed */
	if (deadline == f->refile && f->refile_at > 0) {
		/* Lazy correction: it was pushed later, so it comes back. */
		gint64 at = f->refile_at;
		f->refile_at = 0;
		pxed_tftp_engine_schedule(f->engine, deadline, at);
		return;
	}
	g_ptr_array_add(f->expired, deadline);
	g_array_append_val(f->expired_at, now);
}

void
pxed_tftp_engine_turn_end(gpointer user_data)
{
	Fixture *f = user_data;

	f->turns++;
}

static gboolean
set_flag(gpointer data)
{
	*(gboolean *)data = TRUE;
	return G_SOURCE_REMOVE;
}

/* Runs @context until @done says so; fails after WAIT_LIMIT_US. */
static void
run_until(GMainContext *context, gboolean (*done)(Fixture *f), Fixture *f)
{
	gboolean timed_out = FALSE;
	GSource *limit = g_timeout_source_new(WAIT_LIMIT_US / 1000);

	g_source_set_callback(limit, set_flag, &timed_out, NULL);
	g_source_attach(limit, context);
	while (!done(f) && !timed_out)
		g_main_context_iteration(context, TRUE);
	g_source_destroy(limit);
	g_source_unref(limit);
	g_assert_false(timed_out);
}

static void
fixture_init(Fixture *f, GMainContext *context)
{
	g_autoptr(GError) error = NULL;

	memset(f, 0, sizeof(*f));
	f->expired = g_ptr_array_new();
	f->expired_at = g_array_new(FALSE, FALSE, sizeof(gint64));
	f->engine = pxed_tftp_engine_new(context, "test", f, &error);
	g_assert_no_error(error);
	g_assert_nonnull(f->engine);
}

static void
fixture_clear(Fixture *f)
{
	pxed_tftp_engine_free(f->engine);
	g_ptr_array_unref(f->expired);
	g_array_unref(f->expired_at);
}

/* ---- deadlines ---- */

#define N_DEADLINES 200

static guint expected_expiries;

static gboolean
all_expired(Fixture *f)
{
	return f->expired->len >= expected_expiries;
}

static void
test_deadline_order(void)
{
	g_autoptr(GMainContext) context = g_main_context_new();
	PxedTftpDeadline d[N_DEADLINES];
	gint64 at[N_DEADLINES];
	g_autoptr(GRand) rand = g_rand_new_with_seed(7);
	gint64 start = g_get_monotonic_time();
	Fixture f;

	fixture_init(&f, context);
	for (guint i = 0; i < N_DEADLINES; i++) {
		d[i] = (PxedTftpDeadline)PXED_TFTP_DEADLINE_INIT;
		/* 1 to 30 ms ahead, in random order, with ties */
		at[i] = start + 1000 + 1000 * g_rand_int_range(rand, 0, 30);
		pxed_tftp_engine_schedule(f.engine, &d[i], at[i]);
		g_assert_cmpint(d[i].index, >=, 0);
	}
	/* Earlier: moved up at once. */
	at[10] = start + 500;
	pxed_tftp_engine_schedule(f.engine, &d[10], at[10]);
	g_assert_cmpint(d[10].at, ==, at[10]);
	/* Later: left where it is (it expires at its old time). */
	pxed_tftp_engine_schedule(f.engine, &d[11], at[11] + 10000);
	g_assert_cmpint(d[11].at, ==, at[11]);
	/* Negative: nothing to file. */
	pxed_tftp_engine_schedule(f.engine, &d[12], -1);
	g_assert_cmpint(d[12].at, ==, at[12]);
	/* Cancelled: never expires; cancelling twice is harmless. */
	for (guint i = 20; i < 40; i++)
		pxed_tftp_engine_cancel(f.engine, &d[i]);
	pxed_tftp_engine_cancel(f.engine, &d[20]);
	g_assert_cmpint(d[20].index, ==, -1);
	/* Filed again from its hook, 20 ms after its time. */
	f.refile = &d[50];
	f.refile_at = at[50] + 20000;
	pxed_tftp_engine_arm_timer(f.engine);

	expected_expiries = N_DEADLINES - 20;
	run_until(context, all_expired, &f);
	g_assert_cmpuint(f.expired->len, ==, N_DEADLINES - 20);
	for (guint i = 0; i < f.expired->len; i++) {
		PxedTftpDeadline *e = f.expired->pdata[i];
		guint k = (guint)(e - d);
		gint64 when = g_array_index(f.expired_at, gint64, i);
		gint64 due = k == 50 ? at[50] + 20000 : at[k];

		g_assert_false(k >= 20 && k < 40);
		/* never early: the timerfd is exact, not the main loop's ms */
		g_assert_cmpint(when, >=, due);
		/* in order of their time */
		if (i > 0)
			g_assert_cmpint(((PxedTftpDeadline *)f.expired->pdata[i - 1])->at, <=,
					e->at);
	}
	g_assert_cmpint(d[50].at, ==, at[50] + 20000);
	g_assert_cmpuint(f.turns, >, 0);
	fixture_clear(&f);
}

/* ---- watches ---- */

#define N_PAIRS 6 /* more than the engine polls directly (4): both paths */

static guint32 wanted_kind_events[N_PAIRS];

static gboolean
all_ready(Fixture *f)
{
	for (guint i = 0; i < N_PAIRS; i++)
		if ((f->ready_events[i] & wanted_kind_events[i]) != wanted_kind_events[i])
			return FALSE;
	return TRUE;
}

static void
test_watches(void)
{
	g_autoptr(GMainContext) context = g_main_context_new();
	PxedTftpWatch watches[N_PAIRS];
	PxedTftpWatch again;
	int pairs[N_PAIRS][2];
	g_autoptr(GError) error = NULL;
	guint direct = 0;
	Fixture f;

	fixture_init(&f, context);
	for (guint i = 0; i < N_PAIRS; i++) {
		g_assert_cmpint(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0, pairs[i]), ==,
				0);
		watches[i] = (PxedTftpWatch){.fd = pairs[i][0], .events = EPOLLIN, .kind = i};
		g_assert_true(pxed_tftp_engine_watch(f.engine, &watches[i], TRUE, &error));
		g_assert_no_error(error);
		direct += watches[i].tag != NULL;
	}
	g_assert_cmpuint(direct, ==, 4);

	/* A datagram to one directly polled socket and one in the epoll set,
	 * a timer at the same time: each hook hears of its own only. */
	{
		PxedTftpDeadline d = PXED_TFTP_DEADLINE_INIT;
		memset(wanted_kind_events, 0, sizeof(wanted_kind_events));
		wanted_kind_events[1] = EPOLLIN;
		wanted_kind_events[5] = EPOLLIN;
		g_assert_cmpint(send(pairs[1][1], "a", 1, 0), ==, 1);
		g_assert_cmpint(send(pairs[5][1], "b", 1, 0), ==, 1);
		pxed_tftp_engine_schedule(f.engine, &d, g_get_monotonic_time() + 2000);
		pxed_tftp_engine_arm_timer(f.engine);
		expected_expiries = 1;
		run_until(context, all_ready, &f);
		run_until(context, all_expired, &f);
		g_assert_true(f.expired->pdata[0] == &d);
		for (guint i = 0; i < N_PAIRS; i++)
			if (i != 1 && i != 5)
				g_assert_null(f.ready[i]);
		g_assert_true(f.ready[1] == &watches[1]);
		g_assert_true(f.ready[5] == &watches[5]);
	}

	/* Writable interest, both paths: an empty datagram socket is writable. */
	memset(f.ready, 0, sizeof(f.ready));
	memset(f.ready_events, 0, sizeof(f.ready_events));
	memset(wanted_kind_events, 0, sizeof(wanted_kind_events));
	wanted_kind_events[0] = EPOLLOUT;
	wanted_kind_events[4] = EPOLLOUT;
	pxed_tftp_engine_set_events(f.engine, &watches[0], EPOLLIN | EPOLLOUT);
	pxed_tftp_engine_set_events(f.engine, &watches[4], EPOLLIN | EPOLLOUT);
	g_assert_cmpuint(watches[0].events, ==, EPOLLIN | EPOLLOUT);
	run_until(context, all_ready, &f);
	pxed_tftp_engine_set_events(f.engine, &watches[0], EPOLLIN);
	pxed_tftp_engine_set_events(f.engine, &watches[4], EPOLLIN);

	/* Unwatching a direct one frees its place for the next. */
	g_assert_nonnull(watches[2].tag);
	pxed_tftp_engine_unwatch(f.engine, &watches[2]);
	g_assert_null(watches[2].tag);
	again = (PxedTftpWatch){.fd = pairs[2][0], .events = EPOLLIN, .kind = 2};
	g_assert_true(pxed_tftp_engine_watch(f.engine, &again, TRUE, &error));
	g_assert_nonnull(again.tag);
	memset(f.ready, 0, sizeof(f.ready));
	memset(f.ready_events, 0, sizeof(f.ready_events));
	memset(wanted_kind_events, 0, sizeof(wanted_kind_events));
	wanted_kind_events[2] = EPOLLIN;
	g_assert_cmpint(send(pairs[2][1], "c", 1, 0), ==, 1);
	run_until(context, all_ready, &f);
	g_assert_true(f.ready[2] == &again);

	pxed_tftp_engine_unwatch(f.engine, &again);
	for (guint i = 0; i < N_PAIRS; i++) {
		pxed_tftp_engine_unwatch(f.engine, &watches[i]);
		close(pairs[i][0]);
		close(pairs[i][1]);
	}
	fixture_clear(&f);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/tftp/engine/deadline-order", test_deadline_order);
	g_test_add_func("/tftp/engine/watches", test_watches);
	return g_test_run();
}
