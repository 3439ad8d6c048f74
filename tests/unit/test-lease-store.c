/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The core's lease store: the journal file implementation behind pxed_instance_lease_*(). */
#include "pxed-store.h"
#include "pxed-test.h"

typedef struct {
	char *dir;
	char *path;
	GPtrArray *warnings; /* the core's warnings, captured by the log writer */
} Fixture;

static void
setup(Fixture *f, gconstpointer data)
{
	f->warnings = (GPtrArray *)data;
	f->dir = pxed_test_tmpdir_new();
	f->path = g_build_filename(f->dir, "leases", NULL);
}

static void
teardown(Fixture *f, gconstpointer data)
{
	g_free(f->path);
	pxed_test_tmpdir_free(f->dir);
}

static PxedLease *
lease(const char *id, const char *address, gint64 expires)
{
	PxedLease *l = pxed_lease_new(id, pxed_test_ip(address));
	pxed_lease_set_expires(l, expires);
	pxed_lease_set_mac(l, "52:54:00:00:00:01");
	pxed_lease_set_hostname(l, "node one");
	return l;
}

typedef struct {
	guint done;
	guint failed;
	GError *last_error;
} Acks;

static void
acked(GObject *source, GAsyncResult *result, gpointer user_data)
{
	Acks *acks = user_data;
	GError *error = NULL;

	if (g_task_propagate_boolean(G_TASK(result), &error)) {
		acks->done++;
	} else {
		acks->failed++;
		g_clear_error(&acks->last_error);
		acks->last_error = error;
	}
}

static void
put(PxedStore *store, PxedLease *l, Acks *acks)
{
	GTask *task = g_task_new(NULL, NULL, acked, acks);
	pxed_store_put(store, l, task);
}

static void
wait_acks(Acks *acks, guint want)
{
	gint64 deadline = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;
	while (acks->done + acks->failed < want && g_get_monotonic_time() < deadline)
		g_main_context_iteration(NULL, TRUE);
	g_assert_cmpuint(acks->done + acks->failed, ==, want);
}

static gint64
now(void)
{
	return g_get_real_time() / G_USEC_PER_SEC;
}

static void
test_put_get_reopen(Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	PxedStore *store = pxed_store_file_open(NULL, f->path, &error);
	Acks acks = {0};
	g_autoptr(PxedLease) a = lease("01:aa", "10.250.0.10", now() + 3600);
	g_autoptr(PxedLease) b = lease("01:bb", "10.250.0.11", now() + 3600);
	g_autoptr(PxedLease) got = NULL;

	g_assert_no_error(error);
	put(store, a, &acks);
	put(store, b, &acks);
	/* visible before it is durable */
	got = pxed_store_get(store, "01:aa");
	g_assert_nonnull(got);
	g_assert_cmpuint(pxed_lease_get_address(got), ==, pxed_test_ip("10.250.0.10"));
	g_clear_pointer(&got, pxed_lease_unref);
	wait_acks(&acks, 2);
	g_assert_cmpuint(acks.failed, ==, 0);
	pxed_store_close(store);

	store = pxed_store_file_open(NULL, f->path, &error);
	g_assert_no_error(error);
	got = pxed_store_get_by_address(store, pxed_test_ip("10.250.0.11"));
	g_assert_nonnull(got);
	g_assert_cmpstr(pxed_lease_get_client_id(got), ==, "01:bb");
	g_assert_cmpstr(pxed_lease_get_hostname(got), ==, "node one");
	g_assert_cmpstr(pxed_lease_get_mac(got), ==, "52:54:00:00:00:01");
	g_assert_cmpint(pxed_lease_get_expires(got), ==, pxed_lease_get_expires(b));
	pxed_store_close(store);
}

static void
test_conflict(Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	PxedStore *store = pxed_store_file_open(NULL, f->path, &error);
	Acks acks = {0};
	g_autoptr(PxedLease) a = lease("01:aa", "10.250.0.10", now() + 3600);
	g_autoptr(PxedLease) b = lease("01:bb", "10.250.0.10", now() + 3600);
	g_autoptr(PxedLease) expired = lease("01:cc", "10.250.0.20", now() - 10);
	g_autoptr(PxedLease) d = lease("01:dd", "10.250.0.20", now() + 3600);
	g_autoptr(PxedLease) got = NULL;

	put(store, a, &acks);
	put(store, b, &acks);
	wait_acks(&acks, 2);
	g_assert_cmpuint(acks.failed, ==, 1);
	g_assert_error(acks.last_error, PXED_ERROR, PXED_ERROR_DENIED);
	got = pxed_store_get_by_address(store, pxed_test_ip("10.250.0.10"));
	g_assert_cmpstr(pxed_lease_get_client_id(got), ==, "01:aa");
	g_clear_pointer(&got, pxed_lease_unref);
	g_assert_null(pxed_store_get(store, "01:bb"));

	/* an expired lease gives its address up: its record goes */
	put(store, expired, &acks);
	put(store, d, &acks);
	wait_acks(&acks, 4);
	g_assert_cmpuint(acks.failed, ==, 1);
	g_assert_null(pxed_store_get(store, "01:cc"));
	got = pxed_store_get_by_address(store, pxed_test_ip("10.250.0.20"));
	g_assert_cmpstr(pxed_lease_get_client_id(got), ==, "01:dd");
	g_clear_pointer(&got, pxed_lease_unref);

	/* a client moving to another address frees its old one */
	pxed_lease_set_address(a, pxed_test_ip("10.250.0.30"));
	put(store, a, &acks);
	wait_acks(&acks, 5);
	g_assert_null(pxed_store_get_by_address(store, pxed_test_ip("10.250.0.10")));
	g_clear_error(&acks.last_error);
	pxed_store_close(store);

	/* the same holds after replay */
	store = pxed_store_file_open(NULL, f->path, &error);
	g_assert_no_error(error);
	g_assert_null(pxed_store_get(store, "01:cc"));
	g_assert_null(pxed_store_get_by_address(store, pxed_test_ip("10.250.0.10")));
	got = pxed_store_get(store, "01:aa");
	g_assert_cmpuint(pxed_lease_get_address(got), ==, pxed_test_ip("10.250.0.30"));
	pxed_store_close(store);
}

static void
test_release(Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	PxedStore *store = pxed_store_file_open(NULL, f->path, &error);
	Acks acks = {0};
	g_autoptr(PxedLease) a = lease("01:aa", "10.250.0.10", now() + 3600);
	g_autoptr(PxedLease) got = NULL;

	put(store, a, &acks);
	wait_acks(&acks, 1);
	pxed_store_release(store, "01:aa", now());
	pxed_store_close(store);
	store = pxed_store_file_open(NULL, f->path, &error);
	got = pxed_store_get(store, "01:aa");
	g_assert_nonnull(got); /* kept: the client gets it again */
	g_assert_cmpint(pxed_lease_get_state(got), ==, PXED_LEASE_RELEASED);
	g_assert_false(pxed_lease_holds_address(got, now()));
	pxed_store_close(store);
}

static void
test_damaged_lines(Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	PxedStore *store = pxed_store_file_open(NULL, f->path, &error);
	Acks acks = {0};
	g_autoptr(PxedLease) a = lease("01:aa", "10.250.0.10", now() + 3600);
	g_autoptr(PxedLease) b = lease("01:bb", "10.250.0.11", now() + 3600);
	g_autoptr(PxedLease) c = lease("01:cc", "10.250.0.12", now() + 3600);
	g_autofree char *contents = NULL;
	g_auto(GStrv) lines = NULL;
	GString *damaged = g_string_new(NULL);
	g_autoptr(PxedLease) got = NULL;

	put(store, a, &acks);
	put(store, b, &acks);
	put(store, c, &acks);
	wait_acks(&acks, 3);
	pxed_store_close(store);

	/* line 3 (01:bb) gets a flipped byte; a torn record ends the file */
	g_assert_true(g_file_get_contents(f->path, &contents, NULL, NULL));
	lines = g_strsplit(contents, "\n", -1);
	g_assert_cmpuint(g_strv_length(lines), ==, 5); /* header, 3 records, "" */
	lines[2][10] ^= 1;
	for (guint i = 0; lines[i] != NULL && lines[i][0] != '\0'; i++)
		g_string_append_printf(damaged, "%s\n", lines[i]);
	g_string_append(damaged, "put 01:dd 10.250.0.13 99");
	g_assert_true(g_file_set_contents(f->path, damaged->str, -1, NULL));
	g_string_free(damaged, TRUE);

	g_ptr_array_set_size(f->warnings, 0);
	store = pxed_store_file_open(NULL, f->path, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(f->warnings->len, ==, 2);
	g_assert_true(
		g_str_has_suffix(g_ptr_array_index(f->warnings, 0),
				 "leases:3: damaged lease record skipped: checksum mismatch"));
	g_assert_true(g_str_has_suffix(g_ptr_array_index(f->warnings, 1),
				       "leases:5: damaged lease record skipped: no end of line"));
	got = pxed_store_get(store, "01:aa");
	g_assert_nonnull(got);
	g_clear_pointer(&got, pxed_lease_unref);
	g_assert_null(pxed_store_get(store, "01:bb"));
	got = pxed_store_get(store, "01:cc");
	g_assert_nonnull(got);
	/* rewritten clean at open: nothing damaged any more */
	g_assert_cmpuint(pxed_store_file_get_records(store), ==, 2);
	pxed_store_close(store);
	g_clear_pointer(&contents, g_free);
	g_assert_true(g_file_get_contents(f->path, &contents, NULL, NULL));
	g_assert_true(g_str_has_suffix(contents, "\n"));
	g_assert_null(strstr(contents, "01:dd"));
}

static void
test_compaction(Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	PxedStore *store = pxed_store_file_open(NULL, f->path, &error);
	Acks acks = {0};
	guint n = 0;

	/* 4 clients renewing 1 000 times each: the journal is compacted on the way */
	for (guint round = 0; round < 1000; round++) {
		for (guint c = 0; c < 4; c++) {
			g_autofree char *id = g_strdup_printf("01:%02x", c);
			g_autofree char *addr = g_strdup_printf("10.250.0.%u", 10 + c);
			g_autoptr(PxedLease) l = lease(id, addr, now() + 3600 + round);
			put(store, l, &acks);
			n++;
		}
		if (round % 50 == 0)
			wait_acks(&acks, n);
	}
	wait_acks(&acks, n);
	g_assert_cmpuint(acks.failed, ==, 0);
	g_assert_cmpuint(pxed_store_file_get_records(store), <, 4 * 1000);
	pxed_store_compact(store);
	pxed_store_close(store);

	store = pxed_store_file_open(NULL, f->path, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(pxed_store_file_get_records(store), ==, 4);
	for (guint c = 0; c < 4; c++) {
		g_autofree char *id = g_strdup_printf("01:%02x", c);
		g_autoptr(PxedLease) got = pxed_store_get(store, id);
		g_assert_nonnull(got);
		g_assert_cmpint(pxed_lease_get_expires(got), >=, now() + 3600 + 999 - 5);
	}
	pxed_store_close(store);
}

static void
test_group_commit(Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	PxedStore *store = pxed_store_file_open(NULL, f->path, &error);
	Acks acks = {0};
	gint64 start;

	/* 2 000 puts in one main loop turn: acknowledged together, promptly */
	start = g_get_monotonic_time();
	for (guint i = 0; i < 2000; i++) {
		g_autofree char *id = g_strdup_printf("01:%04x", i);
		g_autofree char *addr = g_strdup_printf("10.250.%u.%u", i / 250, 1 + i % 250);
		g_autoptr(PxedLease) l = lease(id, addr, now() + 3600);
		put(store, l, &acks);
	}
	wait_acks(&acks, 2000);
	g_test_message("2000 durable puts in %" G_GINT64_FORMAT " ms",
		       (g_get_monotonic_time() - start) / 1000);
	g_assert_cmpuint(acks.failed, ==, 0);
	pxed_store_close(store);
	store = pxed_store_file_open(NULL, f->path, &error);
	g_assert_cmpuint(pxed_store_file_get_records(store), ==, 2000);
	pxed_store_close(store);
}

static void
test_close_completes_pending(Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	PxedStore *store = pxed_store_file_open(NULL, f->path, &error);
	Acks acks = {0};
	g_autoptr(PxedLease) a = lease("01:aa", "10.250.0.10", now() + 3600);
	g_autoptr(PxedLease) got = NULL;

	put(store, a, &acks);
	pxed_store_close(store); /* before the main loop ran: written by close */
	wait_acks(&acks, 1);
	g_assert_cmpuint(acks.done, ==, 1);
	store = pxed_store_file_open(NULL, f->path, &error);
	got = pxed_store_get_by_address(store, pxed_test_ip("10.250.0.10"));
	g_assert_nonnull(got);
	pxed_store_close(store);
}

static void
test_unreadable(Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *bad = g_build_filename(f->dir, "no-such-folder", "leases", NULL);
	PxedStore *store = pxed_store_file_open(NULL, bad, &error);

	g_assert_null(store);
	g_assert_nonnull(error);
	g_test_message("%s", error->message);
}

int
main(int argc, char **argv)
{
	g_autoptr(GPtrArray) warnings = g_ptr_array_new_with_free_func(g_free);

	g_test_init(&argc, &argv, NULL);
	pxed_test_capture_core_warnings(warnings);
#define ADD(name, func) g_test_add(name, Fixture, warnings, setup, func, teardown)
	ADD("/lease-store/put-get-reopen", test_put_get_reopen);
	ADD("/lease-store/conflict", test_conflict);
	ADD("/lease-store/release", test_release);
	ADD("/lease-store/damaged-lines", test_damaged_lines);
	ADD("/lease-store/compaction", test_compaction);
	ADD("/lease-store/group-commit", test_group_commit);
	ADD("/lease-store/close-completes-pending", test_close_completes_pending);
	ADD("/lease-store/unreadable", test_unreadable);
#undef ADD
	return g_test_run();
}
