/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The event log: per-machine timelines, the JSON lines file, and a full disk. */
#include "pxed-events.h"
#include "pxed-test.h"

#include <json-glib/json-glib.h>

/* g_test_expect_message() does not see structured logging: record warnings
 * here, and count the events echoed as log lines. */
static GPtrArray *warnings;
static guint echoed;

static GLogWriterOutput
record_warnings(GLogLevelFlags level, const GLogField *fields, gsize n, gpointer user_data)
{
	for (gsize i = 0; i < n; i++) {
		if (g_str_equal(fields[i].key, "GLIB_DOMAIN") &&
		    g_strcmp0(fields[i].value, "pxed-events") == 0)
			echoed++;
	}
	if (!(level & G_LOG_LEVEL_WARNING))
		return g_log_writer_default(level, fields, n, user_data);
	for (gsize i = 0; i < n; i++) {
		if (g_str_equal(fields[i].key, "MESSAGE"))
			g_ptr_array_add(warnings, g_strdup(fields[i].value));
	}
	return G_LOG_WRITER_HANDLED;
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

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	warnings = g_ptr_array_new_with_free_func(g_free);
	g_log_set_writer_func(record_warnings, NULL, NULL);
	g_test_add_func("/events/timeline-and-ring", test_timeline_and_ring);
	g_test_add_func("/events/echo", test_echo);
	g_test_add_func("/events/file-lines", test_file_lines);
	g_test_add_func("/events/full-disk", test_full_disk);
	g_test_add_func("/events/unwritable-file", test_unwritable_file);
	return g_test_run();
}
