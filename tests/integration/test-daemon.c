/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The daemon as a process: command line, serving, signals, reload. */
#include "pxed-test.h"

#include <json-glib/json-glib.h>
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>

static const char *const test_plugin_args[] = {"--plugin-dir", TEST_PLUGIN_DIR, NULL};

/* One request of the test line protocol: "OK origin\n<bytes>" or "ERR code msg\n". */
static char *
fetch(guint16 port, const char *path)
{
	g_autofree char *line = g_strdup_printf("%s\n", path);
	return pxed_test_tcp_exchange(port, line);
}

static char *
conf_with_root(const char *root, const char *extra)
{
	return g_strdup_printf("[lineproto]\nlisten=127.0.0.1:0\n[static]\nroot=%s\n"
			       "[pipeline]\nhttp=static\n%s",
			       root, extra != NULL ? extra : "");
}

static void
test_version(void)
{
	const char *argv[] = {"--version", NULL};
	g_autoptr(GBytes) out = NULL;
	g_autofree char *err = NULL;
	g_autoptr(GError) error = NULL;
	int status = -1;
	g_autofree char *text = NULL;

	g_assert_true(pxed_test_run_pxed(argv, &out, &err, &status, &error));
	g_assert_no_error(error);
	g_assert_cmpint(status, ==, 0);
	text = g_strndup(g_bytes_get_data(out, NULL), g_bytes_get_size(out));
	g_assert_true(g_str_has_prefix(text, "pxed " PXED_VERSION " (plugin ABI 1."));
}

static void
test_bad_arguments(void)
{
	const char *const cases[][3] = {
		{"--no-such-option", NULL, NULL},
		{"stray", NULL, NULL},
		{"--path", "x", NULL},
		{"--explain", "mac=zz", NULL},
	};
	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autofree char *err = NULL;
		int status = -1;
		g_assert_true(pxed_test_run_pxed(cases[i], NULL, &err, &status, NULL));
		g_test_message("%s -> %d %s", cases[i][0], status, err);
		g_assert_cmpint(status, ==, 2);
		g_assert_cmpstr(err, !=, "");
	}
}

static void
test_check(void)
{
	g_autofree char *dir = pxed_test_tmpdir_new();
	g_autofree char *confd = g_build_filename(dir, "conf.d", NULL);
	g_autofree char *conf = conf_with_root(dir, NULL);
	g_autofree char *state = g_strdup_printf("[core]\nstate-dir=%s\n", dir);
	const char *argv[] = {
		"--check",	"--config-dir",	      confd, "--plugin-dir", TEST_PLUGIN_DIR,
		"--plugin-dir", PXED_TEST_PLUGIN_DIR, NULL};
	g_autoptr(GBytes) out = NULL;
	g_autofree char *err = NULL;
	g_autofree char *expected = NULL;
	int status = -1;

	pxed_test_write_file(confd, "00-state.conf", state);
	pxed_test_write_file(confd, "10.conf", conf);
	g_assert_true(pxed_test_run_pxed(argv, &out, &err, &status, NULL));
	g_assert_cmpint(status, ==, 0);
	g_assert_nonnull(strstr(g_bytes_get_data(out, NULL), "configuration OK: 2 fragments, 2"));

	/* two faults, in two fragments: both named, exit 1 */
	pxed_test_write_file(confd, "20-admin.conf", "[static]\nroot=/nonexistent\n[tftpx]\n");
	g_clear_pointer(&out, g_bytes_unref);
	g_clear_pointer(&err, g_free);
	g_assert_true(pxed_test_run_pxed(argv, &out, &err, &status, NULL));
	g_assert_cmpint(status, ==, 1);
	expected = g_strdup_printf("%s/20-admin.conf:2: [static] root: folder '/nonexistent' does "
				   "not exist\n",
				   confd);
	g_assert_true(g_str_has_prefix(err, expected));
	g_assert_nonnull(strstr(err, "/20-admin.conf:3: [tftpx]: names no loadable plugin"));
	g_assert_nonnull(strstr(err, "pxed: configuration has 2 problems"));
	pxed_test_tmpdir_free(g_steal_pointer(&dir));
}

static void
test_list_plugins(void)
{
	const char *argv[] = {"--list-plugins", "--config-dir",	 "/nonexistent-pxed",
			      "--plugin-dir",	TEST_PLUGIN_DIR, NULL};
	g_autoptr(GBytes) out = NULL;
	g_autofree char *text = NULL;
	int status = -1;

	g_assert_true(pxed_test_run_pxed(argv, &out, NULL, &status, NULL));
	text = g_strndup(g_bytes_get_data(out, NULL), g_bytes_get_size(out));
	g_test_message("%s", text);
	/* refused plugins make the exit code 1, and are listed with the reason */
	g_assert_cmpint(status, ==, 1);
	g_assert_nonnull(strstr(text, "scripted     backend  ABI 1."));
	g_assert_nonnull(strstr(text, "lineproto    protocol ABI 1."));
	g_assert_nonnull(strstr(text, "abimajor     refused  "));
	g_assert_nonnull(strstr(text, "plugin ABI 99.0, this pxed speaks ABI 1.0"));
}

static void
test_explain(void)
{
	g_autofree char *dir = pxed_test_tmpdir_new();
	g_autofree char *confd = g_build_filename(dir, "conf.d", NULL);
	g_autofree char *root = g_build_filename(dir, "root", NULL);
	g_autofree char *conf = NULL;
	const char *argv[] = {"--config-dir",
			      confd,
			      "--plugin-dir",
			      TEST_PLUGIN_DIR,
			      "--plugin-dir",
			      PXED_TEST_PLUGIN_DIR,
			      "--explain",
			      "mac=52:54:00:12:34:56,arch=7",
			      "--path",
			      "/boot/x.ipxe",
			      "--via",
			      "http",
			      NULL};
	const char *argv_boot[] = {"--config-dir",
				   confd,
				   "--plugin-dir",
				   TEST_PLUGIN_DIR,
				   "--plugin-dir",
				   PXED_TEST_PLUGIN_DIR,
				   "--explain",
				   "mac=52:54:00:12:34:56,arch=7",
				   NULL};
	g_autoptr(GBytes) out = NULL;
	g_autofree char *err = NULL;
	int status = -1;

	pxed_test_write_file(root, "boot/x.ipxe", "#!ipxe\nchain http://x/y\n");
	conf = g_strdup_printf(
		"[core]\nstate-dir=%s\n[static]\nroot=%s\n[scripted:b]\nboot=answer\n"
		"[pipeline]\nboot=scripted:b\nhttp=static\n",
		dir, root);
	pxed_test_write_file(confd, "10.conf", conf);
	g_assert_true(pxed_test_run_pxed(argv, &out, &err, &status, NULL));
	g_test_message("status %d out %zu: %s", status, out ? g_bytes_get_size(out) : 0, err);
	g_assert_cmpint(status, ==, 0);
	g_assert_cmpmem(g_bytes_get_data(out, NULL), g_bytes_get_size(out),
			"#!ipxe\nchain http://x/y\n", 24);
	g_assert_nonnull(strstr(err, "boot: answered by scripted:b: filename=scripted:b.0"));
	g_assert_nonnull(strstr(err, "http /boot/x.ipxe: served by static: 24 bytes, text/plain"));

	/* without --path the report is on stdout */
	g_clear_pointer(&out, g_bytes_unref);
	g_assert_true(pxed_test_run_pxed(argv_boot, &out, NULL, &status, NULL));
	g_assert_cmpint(status, ==, 0);
	g_assert_nonnull(g_strstr_len(g_bytes_get_data(out, NULL), g_bytes_get_size(out),
				      "client: mac=52:54:00:12:34:56,arch=7\ninventory: no group "
				      "matches\nboot: answered by "));

	/* a refused path: exit 1 and the reason */
	argv[9] = "../../etc/passwd";
	g_clear_pointer(&err, g_free);
	g_assert_true(pxed_test_run_pxed(argv, NULL, &err, &status, NULL));
	g_assert_cmpint(status, ==, 1);
	g_assert_nonnull(strstr(err, "refused: path contains a '..' part"));
	pxed_test_tmpdir_free(g_steal_pointer(&dir));
}

static void
test_serve_and_stop(void)
{
	g_autofree char *root = pxed_test_tmpdir_new();
	g_autofree char *conf = conf_with_root(root, NULL);
	g_autoptr(GError) error = NULL;
	PxedTestDaemon *daemon;
	g_autofree char *reply = NULL;
	g_autofree char *missing = NULL;
	guint16 port;
	int status;

	pxed_test_write_file(root, "hello.txt", "hello world\n");
	daemon = pxed_test_daemon_start(conf, test_plugin_args, &error);
	g_assert_no_error(error);
	port = pxed_test_daemon_get_port(daemon, "lineproto");
	g_assert_cmpuint(port, !=, 0);
	reply = fetch(port, "/hello.txt");
	g_assert_cmpstr(reply, ==, "OK static\nhello world\n");
	missing = fetch(port, "nope.txt");
	g_assert_true(g_str_has_prefix(missing, "ERR 1 nope.txt: no such file"));
	g_assert_true(pxed_test_daemon_wait_for_log(daemon, "event=served client=unknown", 5000));

	status = pxed_test_daemon_stop(daemon);
	/* SIGTERM is a clean stop */
	g_assert_true(WIFEXITED(status));
	g_assert_cmpint(WEXITSTATUS(status), ==, 0);
	pxed_test_tmpdir_free(g_steal_pointer(&root));
}

static void
test_event_log_file(void)
{
	g_autofree char *root = pxed_test_tmpdir_new();
	g_autofree char *state = pxed_test_tmpdir_new();
	g_autofree char *extra = g_strdup_printf("[core]\nstate-dir=%s\n", state);
	g_autofree char *conf = conf_with_root(root, extra);
	g_autoptr(GError) error = NULL;
	PxedTestDaemon *daemon;
	g_autofree char *reply = NULL;
	g_autofree char *path = g_build_filename(state, "events.jsonl", NULL);
	g_autofree char *contents = NULL;
	g_auto(GStrv) lines = NULL;
	guint ready = 0, served = 0;

	pxed_test_write_file(root, "a.txt", "a");
	daemon = pxed_test_daemon_start(conf, test_plugin_args, &error);
	g_assert_no_error(error);
	reply = fetch(pxed_test_daemon_get_port(daemon, "lineproto"), "a.txt");
	g_assert_cmpstr(reply, ==, "OK static\na");
	g_assert_true(pxed_test_daemon_wait_for_log(daemon, "event=served", 5000));
	/* the event log is flushed by the time the daemon has exited */
	pxed_test_daemon_stop(daemon);

	g_assert_true(g_file_get_contents(path, &contents, NULL, &error));
	lines = g_strsplit(contents, "\n", -1);
	for (guint i = 0; lines[i] != NULL; i++) {
		g_autoptr(JsonParser) parser = json_parser_new();
		JsonObject *o;
		if (lines[i][0] == '\0')
			continue;
		g_assert_true(json_parser_load_from_data(parser, lines[i], -1, &error));
		o = json_node_get_object(json_parser_get_root(parser));
		g_assert_nonnull(json_object_get_string_member(o, "time"));
		if (g_str_equal(json_object_get_string_member(o, "event"), "ready"))
			ready++;
		if (g_str_equal(json_object_get_string_member(o, "event"), "served")) {
			g_assert_cmpstr(json_object_get_string_member(o, "source"), ==,
					"lineproto");
			g_assert_cmpstr(json_object_get_string_member(o, "message"), ==, "a.txt");
			served++;
		}
	}
	g_assert_cmpuint(ready, ==, 1);
	g_assert_cmpuint(served, ==, 1);
	pxed_test_tmpdir_free(g_steal_pointer(&root));
	pxed_test_tmpdir_free(g_steal_pointer(&state));
}

static void
test_reload(void)
{
	g_autofree char *root = pxed_test_tmpdir_new();
	g_autofree char *conf = conf_with_root(root, NULL);
	g_autoptr(GError) error = NULL;
	PxedTestDaemon *daemon;
	g_autofree char *confd = NULL;
	g_autofree char *reply = NULL;
	guint16 port;

	pxed_test_write_file(root, "one.txt", "one");
	pxed_test_write_file(root, "two/file.txt", "two");
	daemon = pxed_test_daemon_start(conf, test_plugin_args, &error);
	g_assert_no_error(error);
	port = pxed_test_daemon_get_port(daemon, "lineproto");
	confd = g_build_filename(pxed_test_daemon_get_dir(daemon), "conf.d", NULL);

	/* 1. a broken configuration is refused and the old one keeps serving */
	pxed_test_write_file(confd, "60-broken.conf", "[static]\nroot=/nonexistent\nbogus=1\n");
	pxed_test_daemon_signal(daemon, SIGHUP);
	g_assert_true(pxed_test_daemon_wait_for_log(daemon, "event=reload-refused", 5000));
	g_assert_true(pxed_test_daemon_wait_for_log(
		daemon, "60-broken.conf:2: [static] root: folder '/nonexistent' does not exist",
		1000));
	g_assert_true(pxed_test_daemon_wait_for_log(daemon,
						    "60-broken.conf:3: [static] bogus: "
						    "unknown key",
						    1000));
	reply = fetch(port, "one.txt");
	g_assert_cmpstr(reply, ==, "OK static\none");
	g_clear_pointer(&reply, g_free);

	/* 2. a good new configuration is applied; the unchanged protocol instance
	 *    is kept (same port), the new backend serves */
	{
		g_autofree char *good =
			g_strdup_printf("[static:two]\nroot=%s/"
					"two\nprefix=two\n[pipeline]\nhttp=static:two;static\n",
					root);
		g_autofree char *broken = g_build_filename(confd, "60-broken.conf", NULL);
		g_assert_cmpint(remove(broken), ==, 0);
		pxed_test_write_file(confd, "60-good.conf", good);
	}
	pxed_test_daemon_signal(daemon, SIGHUP);
	g_assert_true(pxed_test_daemon_wait_for_log(daemon, "event=reloaded", 5000));
	reply = fetch(port, "two/file.txt");
	g_assert_cmpstr(reply, ==, "OK static:two\ntwo");
	g_clear_pointer(&reply, g_free);
	reply = fetch(port, "one.txt");
	g_assert_cmpstr(reply, ==, "OK static\none");
	g_clear_pointer(&reply, g_free);

	/* 3. a changed protocol instance is restarted on its new address */
	pxed_test_write_file(confd, "70-move.conf", "[lineproto]\nlisten=[::1]:0\n");
	pxed_test_daemon_signal(daemon, SIGHUP);
	g_assert_true(
		pxed_test_daemon_wait_for_log(daemon, "event=listening client=- [::1]:", 5000));
	g_assert_true(pxed_test_daemon_wait_for_log(daemon, "event=reloaded", 5000));
	{
		g_autoptr(GSocketClient) client = g_socket_client_new();
		g_autoptr(GSocketConnection) conn = NULL;
		g_autoptr(GError) refused = NULL;
		conn = g_socket_client_connect_to_host(client, "127.0.0.1", port, NULL, &refused);
		g_assert_null(conn); /* the old listener is gone */
		g_assert_nonnull(refused);
	}
	{
		int status = pxed_test_daemon_stop(daemon);
		g_assert_true(WIFEXITED(status));
		g_assert_cmpint(WEXITSTATUS(status), ==, 0);
	}
	pxed_test_tmpdir_free(g_steal_pointer(&root));
}

static void
test_reload_swaps_inventory(void)
{
	g_autofree char *root = pxed_test_tmpdir_new();
	g_autofree char *conf = conf_with_root(
		root, "[ipxe]\nbase-url=http://127.0.0.1:1\n[profile:a]\nkernel=/a/vmlinuz\n"
		      "[profile:b]\nkernel=/b/vmlinuz\n[group:default]\nprofile=a\n"
		      "[pipeline]\nhttp=ipxe;static\n");
	g_autoptr(GError) error = NULL;
	g_autofree char *confd = NULL;
	g_autofree char *before = NULL;
	g_autofree char *after = NULL;
	PxedTestDaemon *daemon;
	guint16 port;

	daemon = pxed_test_daemon_start(conf, test_plugin_args, &error);
	g_assert_no_error(error);
	port = pxed_test_daemon_get_port(daemon, "lineproto");
	before = fetch(port, "ipxe");
	g_assert_nonnull(strstr(before, "OK ipxe\n#!ipxe\n"));
	g_assert_nonnull(strstr(before, "\nkernel /a/vmlinuz"));

	confd = g_build_filename(pxed_test_daemon_get_dir(daemon), "conf.d", NULL);
	pxed_test_write_file(confd, "60-move.conf", "[group:default]\nprofile=b\n");
	pxed_test_daemon_signal(daemon, SIGHUP);
	g_assert_true(pxed_test_daemon_wait_for_log(daemon, "event=reloaded", 5000));
	after = fetch(port, "ipxe");
	g_assert_nonnull(strstr(after, "\nkernel /b/vmlinuz"));

	/* a tie added by a reload is refused and the inventory stays */
	pxed_test_write_file(confd, "70-tie.conf", "[group:other]\nprofile=a\n");
	pxed_test_daemon_signal(daemon, SIGHUP);
	g_assert_true(pxed_test_daemon_wait_for_log(daemon, "event=reload-refused", 5000));
	g_assert_true(pxed_test_daemon_wait_for_log(daemon, "are equally specific", 1000));
	g_clear_pointer(&after, g_free);
	after = fetch(port, "ipxe");
	g_assert_nonnull(strstr(after, "\nkernel /b/vmlinuz"));
	pxed_test_daemon_stop(daemon);
	pxed_test_tmpdir_free(g_steal_pointer(&root));
}

static void
test_start_refused(void)
{
	g_autoptr(GError) error = NULL;
	PxedTestDaemon *daemon =
		pxed_test_daemon_start("[static]\nroot=/nonexistent\n", test_plugin_args, &error);
	g_assert_null(daemon);
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_FAILED);
	g_assert_nonnull(
		strstr(error->message,
		       "50-test.conf:2: [static] root: folder '/nonexistent' does not exist"));
	g_assert_nonnull(strstr(error->message, "pxed: not started: 1 problem"));
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/daemon/version", test_version);
	g_test_add_func("/daemon/bad-arguments", test_bad_arguments);
	g_test_add_func("/daemon/check", test_check);
	g_test_add_func("/daemon/list-plugins", test_list_plugins);
	g_test_add_func("/daemon/explain", test_explain);
	g_test_add_func("/daemon/serve-and-stop", test_serve_and_stop);
	g_test_add_func("/daemon/event-log-file", test_event_log_file);
	g_test_add_func("/daemon/reload", test_reload);
	g_test_add_func("/daemon/reload-swaps-inventory", test_reload_swaps_inventory);
	g_test_add_func("/daemon/start-refused", test_start_refused);
	return g_test_run();
}
