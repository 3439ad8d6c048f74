/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The event log: per-machine timelines, the JSON lines file, and a full disk. */
#include "pxed-core.h"
#include "pxed-events.h"
#include "pxed-test.h"

#include <json-glib/json-glib.h>
#include <sys/stat.h>

/* g_test_expect_message() does not see structured logging: record warnings
 * and messages here, and count the events echoed as log lines. */
static GPtrArray *warnings;
static GPtrArray *messages;
static guint echoed;
/* KEY=VALUE of each field of the last event echoed */
static GPtrArray *last_fields;

static GLogWriterOutput
record_warnings(GLogLevelFlags level, const GLogField *fields, gsize n, gpointer user_data)
{
	for (gsize i = 0; i < n; i++) {
		if (g_str_equal(fields[i].key, "GLIB_DOMAIN") &&
		    g_strcmp0(fields[i].value, "pxed-events") == 0) {
			echoed++;
			g_ptr_array_set_size(last_fields, 0);
			for (gsize j = 0; j < n; j++)
				g_ptr_array_add(last_fields,
						g_strdup_printf("%s=%s", fields[j].key,
								(const char *)fields[j].value));
		}
	}
	if (level & G_LOG_LEVEL_MESSAGE) {
		for (gsize i = 0; i < n; i++) {
			if (g_str_equal(fields[i].key, "MESSAGE"))
				g_ptr_array_add(messages, g_strdup(fields[i].value));
		}
	}
	if (!(level & G_LOG_LEVEL_WARNING))
		return g_log_writer_default(level, fields, n, user_data);
	for (gsize i = 0; i < n; i++) {
		if (g_str_equal(fields[i].key, "MESSAGE"))
			g_ptr_array_add(warnings, g_strdup(fields[i].value));
	}
	return G_LOG_WRITER_HANDLED;
}

static gboolean
has_field(const char *field)
{
	return g_ptr_array_find_with_equal_func(last_fields, field, g_str_equal, NULL);
}

/* The fields journalctl matches on: PXED_MAC only when the client is known by
 * its MAC, PXED_ADDRESS when the address is known. */
static void
test_journal_fields(void)
{
	g_autoptr(PxedEvents) events = pxed_events_new(NULL, 4);
	g_autofree char *lng = g_strnfill(3000, 'x');
	g_autofree char *lng_message = NULL;
	static const char *const not_macs[] = {
		"10.0.0.1",
		"fe80::5054:ff:fe12:3456",
		"1:2:3:4:5:6",
		"fe80::1:2:3:4:5:6", /* as long as a MAC */
		"52:54:00:12:34:56:78",
		"52:54:00:12:34:5",
		"52-54-00-12-34-56",
		"52:54:00:12:34:5g",
		"4c4c4544-0042-4810-8057-b4c04f4e3132",
		"-",
	};

	pxed_events_add_full(events, "http", "request", "52:54:00:12:34:56", "10.0.0.7",
			     "GET /ipxe 200");
	g_assert_true(has_field("PXED_MAC=52:54:00:12:34:56"));
	g_assert_true(has_field("PXED_CLIENT=52:54:00:12:34:56"));
	g_assert_true(has_field("PXED_ADDRESS=10.0.0.7"));
	g_assert_true(has_field("PXED_SOURCE=http"));
	g_assert_true(has_field("PXED_EVENT=request"));
	g_assert_true(has_field("PRIORITY=6"));
	g_assert_true(has_field("MESSAGE=source=http event=request client=52:54:00:12:34:56 "
				"GET /ipxe 200"));

	for (guint i = 0; i < G_N_ELEMENTS(not_macs); i++) {
		g_autofree char *client = g_strdup_printf("PXED_CLIENT=%s", not_macs[i]);
		pxed_events_add(events, "tftp", "start", not_macs[i], "x");
		g_assert_true(has_field(client));
		for (guint j = 0; j < last_fields->len; j++) {
			g_assert_false(
				g_str_has_prefix(g_ptr_array_index(last_fields, j), "PXED_MAC="));
			g_assert_false(g_str_has_prefix(g_ptr_array_index(last_fields, j),
							"PXED_ADDRESS="));
		}
	}

	/* past the stack buffer: the whole text still goes out */
	pxed_events_add(events, "tftp", "start", "52:54:00:12:34:56", lng);
	lng_message =
		g_strdup_printf("MESSAGE=source=tftp event=start client=52:54:00:12:34:56 %s", lng);
	g_assert_true(has_field(lng_message));
}

static void
test_timeline_and_ring(void)
{
	g_autoptr(PxedEvents) events = pxed_events_new(NULL, 4);
	g_autoptr(GPtrArray) mine = NULL;

	pxed_events_add(events, "dhcp", "offer", "52:54:00:00:00:01", "one");
	pxed_events_add(events, "dhcp", "offer", "52:54:00:00:00:02", "other");
	pxed_events_add(events, "dhcp", "ack", "52:54:00:00:00:01", "two");
	pxed_events_add(events, "tftp", "transfer-complete", "52:54:00:00:00:01", "three");
	pxed_events_add(events, "http", "request", "52:54:00:00:00:01", "four");
	g_assert_cmpuint(pxed_events_count(events), ==, 5);
	/* a ring of 4: the oldest event is gone, the rest in order */
	mine = pxed_events_for_client(events, "52:54:00:00:00:01");
	g_assert_cmpuint(mine->len, ==, 3);
	g_assert_cmpstr(((PxedEvent *)g_ptr_array_index(mine, 0))->message, ==, "two");
	g_assert_cmpstr(((PxedEvent *)g_ptr_array_index(mine, 2))->message, ==, "four");
}

/* With the echo off (the log level drops info lines) an event is not a log
 * line, and is still kept and filed. */
static void
test_echo(void)
{
	g_autofree char *dir = pxed_test_tmpdir_new();
	g_autofree char *path = g_build_filename(dir, "events.jsonl", NULL);
	g_autoptr(PxedEvents) events = pxed_events_new(NULL, 4);
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) mine = NULL;
	g_autofree char *text = NULL;
	guint before = echoed;

	g_assert_true(pxed_events_set_file(events, path, &error));
	pxed_events_add(events, "tftp", "start", "52:54:00:00:00:01", "shown");
	g_assert_cmpuint(echoed, ==, before + 1);
	pxed_events_set_echo(events, FALSE);
	pxed_events_add(events, "tftp", "done", "52:54:00:00:00:01", "not shown");
	g_assert_cmpuint(echoed, ==, before + 1);
	mine = pxed_events_for_client(events, "52:54:00:00:00:01");
	g_assert_cmpuint(mine->len, ==, 2);
	pxed_events_flush(events);
	g_assert_true(g_file_get_contents(path, &text, NULL, &error));
	g_assert_nonnull(strstr(text, "not shown"));
}

static void
test_file_lines(void)
{
	g_autofree char *dir = pxed_test_tmpdir_new();
	g_autofree char *path = g_build_filename(dir, "events.jsonl", NULL);
	g_autoptr(PxedEvents) events = pxed_events_new(NULL, 16);
	g_autoptr(GError) error = NULL;
	g_autoptr(JsonParser) parser = json_parser_new();
	g_autofree char *text = NULL;
	g_auto(GStrv) lines = NULL;
	JsonObject *o;

	g_assert_true(pxed_events_set_file(events, path, &error));
	pxed_events_add(events, "ipxe", "script", "52:54:00:00:00:01",
			"quote \" backslash \\ newline \n tab \t");
	pxed_events_flush(events);
	g_assert_true(g_file_get_contents(path, &text, NULL, &error));
	lines = g_strsplit(text, "\n", -1);
	g_assert_cmpuint(g_strv_length(lines), ==, 2); /* one line and the final newline */
	g_assert_true(json_parser_load_from_data(parser, lines[0], -1, &error));
	o = json_node_get_object(json_parser_get_root(parser));
	g_assert_cmpstr(json_object_get_string_member(o, "message"), ==,
			"quote \" backslash \\ newline \n tab \t");
	g_assert_cmpstr(json_object_get_string_member(o, "client"), ==, "52:54:00:00:00:01");
	pxed_test_tmpdir_free(g_steal_pointer(&dir));
}

static void
test_full_disk(void)
{
	g_autoptr(PxedEvents) events = pxed_events_new(NULL, 16);
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) mine = NULL;

	if (!g_file_test("/dev/full", G_FILE_TEST_EXISTS)) {
		g_test_skip("no /dev/full to stand for a full disk");
		return;
	}
	/* a full disk costs the batch and a warning, never the daemon */
	g_assert_true(pxed_events_set_file(events, "/dev/full", &error));
	pxed_events_add(events, "tftp", "transfer-start", "52:54:00:00:00:01", "x");
	g_ptr_array_set_size(warnings, 0);
	pxed_events_flush(events);
	g_assert_cmpuint(warnings->len, ==, 1);
	g_assert_true(
		g_str_has_prefix(g_ptr_array_index(warnings, 0), "event log: write failed: "));
	/* memory still has it, and later events are still taken */
	pxed_events_add(events, "tftp", "transfer-complete", "52:54:00:00:00:01", "y");
	mine = pxed_events_for_client(events, "52:54:00:00:00:01");
	g_assert_cmpuint(mine->len, ==, 2);
}

static void
test_unwritable_file(void)
{
	g_autoptr(PxedEvents) events = pxed_events_new(NULL, 16);
	g_autoptr(GError) error = NULL;

	g_assert_false(pxed_events_set_file(events, "/nonexistent-pxed/events.jsonl", &error));
	g_assert_nonnull(error);
	g_assert_nonnull(strstr(error->message, "/nonexistent-pxed/events.jsonl"));
}

static guint
count_containing(GPtrArray *lines, const char *part)
{
	guint n = 0;
	for (guint i = 0; i < lines->len; i++) {
		if (strstr(g_ptr_array_index(lines, i), part) != NULL)
			n++;
	}
	return n;
}

static goffset
file_size(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? st.st_size : -1;
}

/* The sequence numbers ("n=…") of the events in one file, in order. */
static GArray *
sequence_of(const char *path)
{
	GArray *seq = g_array_new(FALSE, FALSE, sizeof(guint));
	g_autofree char *text = NULL;
	g_auto(GStrv) lines = NULL;

	g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
	lines = g_strsplit(text, "\n", -1);
	for (guint i = 0; lines[i] != NULL && lines[i][0] != '\0'; i++) {
		const char *n = strstr(lines[i], "\"n=");
		guint v;
		g_assert_nonnull(n);
		v = (guint)g_ascii_strtoull(n + 3, NULL, 10);
		g_array_append_val(seq, v);
	}
	return seq;
}

static void
add_numbered(PxedEvents *events, guint n)
{
	g_autofree char *msg = g_strdup_printf("n=%u", n);
	pxed_events_add(events, "tftp", "transfer-start", "52:54:00:00:00:01", msg);
}

/* Past max-size the file is rotated: events.jsonl.1 … .keep, no more, none
 * larger than max-size, the newest events in events.jsonl, nothing lost
 * between the files that are kept; one line per minute says so. A smaller
 * keep later removes the files past it. */
static void
test_rotation(void)
{
	g_autofree char *dir = pxed_test_tmpdir_new();
	g_autofree char *path = g_build_filename(dir, "events.jsonl", NULL);
	g_autoptr(PxedEvents) events = pxed_events_new(NULL, 16);
	g_autoptr(GError) error = NULL;
	PxedEventsLimits limits = {.max_size = 1000, .keep = 3};
	guint expect = 0;

	pxed_events_set_echo(events, FALSE);
	pxed_events_set_limits(events, &limits);
	g_assert_true(pxed_events_set_file(events, path, &error));
	g_ptr_array_set_size(messages, 0);
	for (guint i = 0; i < 100; i++) {
		add_numbered(events, i);
		pxed_events_flush(events);
	}
	/* ~150 bytes an event: 15 000 bytes in files of at most 1000 */
	g_assert_cmpuint(pxed_events_get_rotations(events), >=, 10);
	g_assert_cmpuint(count_containing(messages, "rotated"), ==, 1);
	for (guint n = 1; n <= 4; n++) {
		g_autofree char *rotated = g_strdup_printf("%s.%u", path, n);
		if (n <= 3) {
			g_assert_cmpint(file_size(rotated), >, 0);
			g_assert_cmpint(file_size(rotated), <=, 1000);
		} else {
			g_assert_false(g_file_test(rotated, G_FILE_TEST_EXISTS));
		}
	}
	g_assert_cmpint(file_size(path), <=, 1000);
	/* oldest to newest: .3 .2 .1 events.jsonl, one run of numbers ending at 99 */
	for (guint n = 3; n >= 1; n--) {
		g_autofree char *name = g_strdup_printf("%s.%u", path, n);
		g_autoptr(GArray) seq = sequence_of(name);
		for (guint i = 0; i < seq->len; i++) {
			if (n == 3 && i == 0)
				expect = g_array_index(seq, guint, 0);
			g_assert_cmpuint(g_array_index(seq, guint, i), ==, expect++);
		}
	}
	{
		g_autoptr(GArray) seq = sequence_of(path);
		for (guint i = 0; i < seq->len; i++)
			g_assert_cmpuint(g_array_index(seq, guint, i), ==, expect++);
		g_assert_cmpuint(expect, ==, 100);
	}

	limits.keep = 1;
	pxed_events_set_limits(events, &limits);
	for (guint i = 100; i < 110; i++) {
		add_numbered(events, i);
		pxed_events_flush(events);
	}
	{
		g_autofree char *one = g_strdup_printf("%s.1", path);
		g_autofree char *two = g_strdup_printf("%s.2", path);
		g_autofree char *three = g_strdup_printf("%s.3", path);
		g_assert_true(g_file_test(one, G_FILE_TEST_EXISTS));
		g_assert_false(g_file_test(two, G_FILE_TEST_EXISTS));
		g_assert_false(g_file_test(three, G_FILE_TEST_EXISTS));
	}
	pxed_test_tmpdir_free(g_steal_pointer(&dir));
}

/* Below the free-space reserve nothing is appended: the events are counted
 * as dropped, one warning says so (not one per batch), and they are still in
 * memory. The reserve as a share of the file system counts too. With room
 * again, writing resumes and a line says so. */
static void
test_min_free(void)
{
	g_autofree char *dir = pxed_test_tmpdir_new();
	g_autofree char *path = g_build_filename(dir, "events.jsonl", NULL);
	g_autoptr(PxedEvents) events = pxed_events_new(NULL, 16);
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) mine = NULL;
	g_autofree char *text = NULL;
	/* more than any disk has free */
	PxedEventsLimits limits = {.max_size = 1 << 20, .keep = 1, .min_free = G_MAXUINT64 / 4};

	pxed_events_set_echo(events, FALSE);
	pxed_events_set_limits(events, &limits);
	g_assert_true(pxed_events_set_file(events, path, &error));
	g_ptr_array_set_size(warnings, 0);
	for (guint i = 0; i < 3; i++) {
		add_numbered(events, i);
		pxed_events_flush(events);
	}
	g_assert_cmpint(file_size(path), ==, 0);
	g_assert_cmpuint(pxed_events_get_dropped(events), ==, 3);
	g_assert_cmpuint(warnings->len, ==, 1);
	g_assert_nonnull(strstr(g_ptr_array_index(warnings, 0), "below the reserve"));
	mine = pxed_events_for_client(events, "52:54:00:00:00:01");
	g_assert_cmpuint(mine->len, ==, 3);

	/* all of the file system as the reserve: never that much free */
	limits.min_free = 0;
	limits.min_free_percent = 100;
	pxed_events_set_limits(events, &limits);
	add_numbered(events, 3);
	pxed_events_flush(events);
	g_assert_cmpint(file_size(path), ==, 0);
	g_assert_cmpuint(pxed_events_get_dropped(events), ==, 4);
	g_assert_cmpuint(warnings->len, ==, 1);

	limits.min_free_percent = 0;
	pxed_events_set_limits(events, &limits);
	g_ptr_array_set_size(messages, 0);
	add_numbered(events, 4);
	pxed_events_flush(events);
	g_assert_true(g_file_get_contents(path, &text, NULL, &error));
	g_assert_nonnull(strstr(text, "\"n=4\""));
	g_assert_null(strstr(text, "\"n=3\""));
	g_assert_cmpuint(pxed_events_get_dropped(events), ==, 4);
	g_assert_cmpuint(count_containing(messages, "writing again (4 events dropped"), ==, 1);
	pxed_test_tmpdir_free(g_steal_pointer(&dir));
}

/* Without a main loop to flush them, events still reach the file once a
 * batch is 64 KiB: a flood between two timer ticks takes bounded memory. */
static void
test_pending_bounded(void)
{
	g_autofree char *dir = pxed_test_tmpdir_new();
	g_autofree char *path = g_build_filename(dir, "events.jsonl", NULL);
	g_autoptr(PxedEvents) events = pxed_events_new(NULL, 16);
	g_autoptr(GError) error = NULL;

	pxed_events_set_echo(events, FALSE);
	g_assert_true(pxed_events_set_file(events, path, &error));
	for (guint i = 0; i < 1000; i++)
		add_numbered(events, i);
	g_assert_cmpint(file_size(path), >=, 64 * 1024);
	pxed_test_tmpdir_free(g_steal_pointer(&dir));
}

/* The [core] keys reach the event log: event-log-max-size=1 (MiB) and
 * event-log-keep=1 rotate once 1 MiB is passed, and keep one old file. */
static void
test_core_keys(void)
{
	g_autofree char *dir = pxed_test_tmpdir_new();
	g_autofree char *confd = g_build_filename(dir, "conf.d", NULL);
	g_autofree char *state = g_build_filename(dir, "state", NULL);
	g_autofree char *conf = g_strdup_printf("[core]\nstate-dir=%s\nevent-log-max-size=1\n"
						"event-log-keep=1\nevent-log-min-free=0\n"
						"event-log-min-free-percent=0\n",
						state);
	g_autofree char *path = g_build_filename(state, "events.jsonl", NULL);
	g_autofree char *one = g_build_filename(state, "events.jsonl.1", NULL);
	g_autofree char *two = g_build_filename(state, "events.jsonl.2", NULL);
	const char *dirs[] = {confd, NULL};
	g_autoptr(GPtrArray) problems = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(PxedCore) core = NULL;
	PxedEvents *events;
	guint i = 0;

	pxed_test_write_file(confd, "10.conf", conf);
	core = pxed_core_new(NULL, dirs, NULL);
	g_assert_true(pxed_core_load(core, TRUE, problems));
	events = pxed_core_get_events(core);
	pxed_events_set_echo(events, FALSE);
	/* twice 1 MiB in ~150-byte events, bounded */
	while (pxed_events_get_rotations(events) < 2 && i < 40000)
		add_numbered(events, i++);
	pxed_events_flush(events);
	g_assert_cmpuint(pxed_events_get_rotations(events), ==, 2);
	g_assert_cmpint(file_size(one), <=, 1024 * 1024);
	g_assert_cmpint(file_size(one), >, 1024 * 1024 - 64 * 1024 - 200);
	g_assert_cmpint(file_size(path), >, 0);
	g_assert_false(g_file_test(two, G_FILE_TEST_EXISTS));
	pxed_core_shutdown(core);
	pxed_test_tmpdir_free(g_steal_pointer(&dir));
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	warnings = g_ptr_array_new_with_free_func(g_free);
	messages = g_ptr_array_new_with_free_func(g_free);
	last_fields = g_ptr_array_new_with_free_func(g_free);
	g_log_set_writer_func(record_warnings, NULL, NULL);
	g_test_add_func("/events/timeline-and-ring", test_timeline_and_ring);
	g_test_add_func("/events/journal-fields", test_journal_fields);
	g_test_add_func("/events/echo", test_echo);
	g_test_add_func("/events/file-lines", test_file_lines);
	g_test_add_func("/events/full-disk", test_full_disk);
	g_test_add_func("/events/unwritable-file", test_unwritable_file);
	g_test_add_func("/events/rotation", test_rotation);
	g_test_add_func("/events/min-free", test_min_free);
	g_test_add_func("/events/pending-bounded", test_pending_bounded);
	g_test_add_func("/events/core-keys", test_core_keys);
	return g_test_run();
}
