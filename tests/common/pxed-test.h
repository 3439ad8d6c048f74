/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Shared helpers for tests that run the real daemon from the build tree, and
 * the small pieces any test needs: temporary folders and files, addresses, one
 * TCP exchange, the core's warnings captured. */

#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct _PxedTestDaemon PxedTestDaemon;

/* A fresh temporary folder, removed recursively by pxed_test_tmpdir_free(). */
char *pxed_test_tmpdir_new(void);
void pxed_test_tmpdir_free(char *path);
void pxed_test_write_file(const char *dir, const char *name, const char *contents);
/* Writes an executable script @name into @dir; returns its path. */
char *pxed_test_write_script(const char *dir, const char *name, const char *body);

/* An IPv4 address in network byte order; asserts the text is one. */
guint32 pxed_test_ip(const char *text);

/* Sends @request over TCP to 127.0.0.1:@port and reads the answer to its end
 * (the server closes), each step bounded to 10 s; NUL-terminated. Asserts
 * every step succeeds. */
char *pxed_test_tcp_exchange(guint16 port, const char *request);

/* From now on, warnings of log domain "pxed" (the core's) are appended to
 * @warnings rather than printed and made fatal: tests judge them. A
 * g_test_expect_message() does not see structured log lines. */
void pxed_test_capture_core_warnings(GPtrArray *warnings);

/**
 * pxed_test_daemon_start:
 * @conf: the text of one conf.d fragment. Protocol instances should listen on
 *   port 0 of 127.0.0.1 (or [::1]); the daemon reports the port it got.
 * @extra_args: (nullable): more command-line arguments, %NULL-terminated
 *
 * Writes @conf as conf.d/50-test.conf in a temporary folder (with state-dir
 * inside it unless @conf sets one), starts the build tree's pxed with
 * --plugin-dir pointing at the build tree's plugins, and waits — at most 10 s —
 * until it has logged "event=ready". Every line the daemon logs is kept.
 */
PxedTestDaemon *pxed_test_daemon_start(const char *conf, const char *const *extra_args,
				       GError **error);

/* The port instance @source ("tftp", "http:alt") reported in event=listening. */
guint16 pxed_test_daemon_get_port(PxedTestDaemon *self, const char *source);
GPid pxed_test_daemon_get_pid(PxedTestDaemon *self);
/* The temporary folder holding conf.d/ and state/. */
const char *pxed_test_daemon_get_dir(PxedTestDaemon *self);
/* Waits (at most @timeout_ms) until a logged line contains @needle. */
gboolean pxed_test_daemon_wait_for_log(PxedTestDaemon *self, const char *needle, guint timeout_ms);
/* All log lines so far, joined by '\n'. */
char *pxed_test_daemon_get_log(PxedTestDaemon *self);
/* Their last @max bytes at most: a flood's full log would drown a failure's message. */
char *pxed_test_daemon_get_log_tail(PxedTestDaemon *self, gsize max);
/* Sends @signum to the daemon (by PID). */
void pxed_test_daemon_signal(PxedTestDaemon *self, int signum);
/* SIGTERM, wait for exit (at most 10 s, then SIGKILL); returns the exit status
 * as from waitpid(), and frees everything including the temporary folder. */
int pxed_test_daemon_stop(PxedTestDaemon *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(PxedTestDaemon, pxed_test_daemon_stop)

/* Path of the build tree's pxed binary and plugin folder. */
const char *pxed_test_binary(void);
const char *pxed_test_plugin_dir(void);

/* Runs pxed with @argv (without argv[0], %NULL-terminated) to completion,
 * bounded to 30 s. @out gets stdout as bytes, @err stderr as text, @status
 * the exit code (or 128+signal). */
gboolean pxed_test_run_pxed(const char *const *argv, GBytes **out, char **err, int *status,
			    GError **error);
/* The same for any program. */
gboolean pxed_test_run(const char *const *argv, GBytes **out, char **err, int *status,
		       GError **error);
/* Waits for @process to exit, at most @timeout_ms, then kills it (SIGKILL). */
gboolean pxed_test_wait_process(GSubprocess *process, guint timeout_ms);

/* SHA-256 of a file, hex. */
char *pxed_test_file_sha256(const char *path);

G_END_DECLS
