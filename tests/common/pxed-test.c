/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "pxed-test.h"

#include <arpa/inet.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

struct _PxedTestDaemon {
	char *dir;
	GSubprocess *process;
	GThread *reader;
	GMutex lock;
	GCond cond;
	GPtrArray *lines; /* char*, guarded by lock */
	gboolean eof;
};

const char *
pxed_test_binary(void)
{
	const char *env = g_getenv("PXED_TEST_BINARY");
	return env != NULL ? env : PXED_TEST_BINARY;
}

const char *
pxed_test_plugin_dir(void)
{
	const char *env = g_getenv("PXED_TEST_PLUGIN_DIR");
	return env != NULL ? env : PXED_TEST_PLUGIN_DIR;
}

char *
pxed_test_tmpdir_new(void)
{
	g_autoptr(GError) error = NULL;
	char *dir = g_dir_make_tmp("pxed-test-XXXXXX", &error);
	g_assert_no_error(error);
	return dir;
}

static int
remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

void
pxed_test_tmpdir_free(char *path)
{
	if (path == NULL)
		return;
	/* FTW_PHYS: never follow a symlink out of the test folder */
	nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	g_free(path);
}

void
pxed_test_write_file(const char *dir, const char *name, const char *contents)
{
	g_autofree char *path = g_build_filename(dir, name, NULL);
	g_autofree char *parent = g_path_get_dirname(path);
	g_autoptr(GError) error = NULL;

	g_assert_cmpint(g_mkdir_with_parents(parent, 0755), ==, 0);
	g_file_set_contents(path, contents, -1, &error);
	g_assert_no_error(error);
}

/* Bounded wait on a private main context, so tests with their own loops are unaffected. */
typedef struct {
	gboolean done;
} WaitState;

char *
pxed_test_write_script(const char *dir, const char *name, const char *body)
{
	char *path = g_build_filename(dir, name, NULL);

	pxed_test_write_file(dir, name, body);
	g_assert_cmpint(chmod(path, 0755), ==, 0);
	return path;
}

guint32
pxed_test_ip(const char *text)
{
	struct in_addr in;

	g_assert_cmpint(inet_pton(AF_INET, text, &in), ==, 1);
	return in.s_addr;
}

char *
pxed_test_tcp_exchange(guint16 port, const char *request)
{
	g_autoptr(GSocketClient) client = g_socket_client_new();
	g_autoptr(GSocketConnection) conn = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(GByteArray) all = g_byte_array_new();
	guint8 buf[4096];
	gssize n;

	g_socket_client_set_timeout(client, 10);
	conn = g_socket_client_connect_to_host(client, "127.0.0.1", port, NULL, &error);
	g_assert_no_error(error);
	g_output_stream_write_all(g_io_stream_get_output_stream(G_IO_STREAM(conn)), request,
				  strlen(request), NULL, NULL, &error);
	g_assert_no_error(error);
	while ((n = g_input_stream_read(g_io_stream_get_input_stream(G_IO_STREAM(conn)), buf,
					sizeof(buf), NULL, &error)) > 0)
		g_byte_array_append(all, buf, (guint)n);
	g_assert_no_error(error);
	g_byte_array_append(all, (const guint8 *)"", 1);
	return (char *)g_byte_array_free(g_steal_pointer(&all), FALSE);
}

static GLogWriterOutput
capture_core_warning(GLogLevelFlags level, const GLogField *fields, gsize n_fields,
		     gpointer user_data)
{
	GPtrArray *warnings = user_data;
	const char *domain = NULL;
	const char *message = NULL;

	for (gsize i = 0; i < n_fields; i++) {
		if (g_str_equal(fields[i].key, "GLIB_DOMAIN"))
			domain = fields[i].value;
		else if (g_str_equal(fields[i].key, "MESSAGE"))
			message = fields[i].value;
	}
	if ((level & G_LOG_LEVEL_WARNING) && g_strcmp0(domain, "pxed") == 0 && message != NULL) {
		g_ptr_array_add(warnings, g_strdup(message));
		return G_LOG_WRITER_HANDLED;
	}
	return g_log_writer_default(level, fields, n_fields, NULL);
}

void
pxed_test_capture_core_warnings(GPtrArray *warnings)
{
	g_log_set_writer_func(capture_core_warning, warnings, NULL);
}

static void
wait_done(GObject *source, GAsyncResult *result, gpointer user_data)
{
	WaitState *state = user_data;
	g_subprocess_wait_finish(G_SUBPROCESS(source), result, NULL);
	state->done = TRUE;
}

static gboolean
wait_timeout(gpointer user_data)
{
	*(gboolean *)user_data = TRUE;
	return G_SOURCE_REMOVE;
}

/* Iterates @context until *@done, at most @timeout_ms; then kills @process and
 * iterates until its pending operation completes. FALSE if it timed out. */
static gboolean
run_until(GMainContext *context, gboolean *done, GSubprocess *process, guint timeout_ms)
{
	gboolean timed_out = FALSE;
	GSource *timer = g_timeout_source_new(timeout_ms);

	g_source_set_callback(timer, wait_timeout, &timed_out, NULL);
	g_source_attach(timer, context);
	while (!*done && !timed_out)
		g_main_context_iteration(context, TRUE);
	if (!*done) {
		g_subprocess_force_exit(process);
		while (!*done)
			g_main_context_iteration(context, TRUE);
	}
	g_source_destroy(timer);
	g_source_unref(timer);
	return !timed_out;
}

gboolean
pxed_test_wait_process(GSubprocess *process, guint timeout_ms)
{
	g_autoptr(GMainContext) context = g_main_context_new();
	WaitState state = {FALSE};
	gboolean timed_out;

	g_main_context_push_thread_default(context);
	g_subprocess_wait_async(process, NULL, wait_done, &state);
	timed_out = !run_until(context, &state.done, process, timeout_ms);
	g_main_context_pop_thread_default(context);
	return !timed_out;
}

static gpointer
reader_thread(gpointer user_data)
{
	PxedTestDaemon *self = user_data;
	GInputStream *stream = g_subprocess_get_stdout_pipe(self->process);
	g_autoptr(GDataInputStream) data = g_data_input_stream_new(stream);

	for (;;) {
		g_autofree char *line = g_data_input_stream_read_line_utf8(data, NULL, NULL, NULL);
		if (line == NULL)
			break;
		if (g_getenv("PXED_TEST_VERBOSE") != NULL)
			g_printerr("pxed| %s\n", line);
		g_mutex_lock(&self->lock);
		g_ptr_array_add(self->lines, g_steal_pointer(&line));
		g_cond_broadcast(&self->cond);
		g_mutex_unlock(&self->lock);
	}
	g_mutex_lock(&self->lock);
	self->eof = TRUE;
	g_cond_broadcast(&self->cond);
	g_mutex_unlock(&self->lock);
	return NULL;
}

static void
daemon_free(PxedTestDaemon *self)
{
	if (self->reader != NULL)
		g_thread_join(self->reader);
	g_clear_object(&self->process);
	g_ptr_array_unref(self->lines);
	g_mutex_clear(&self->lock);
	g_cond_clear(&self->cond);
	pxed_test_tmpdir_free(self->dir);
	g_free(self);
}

/* In the daemon, before exec: a test that fails aborts before its teardown
 * stops the daemon; the kernel stops it then (SIGKILL when the test process's
 * spawning thread — the test's main thread — ends). */
static void
die_with_parent(gpointer parent)
{
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != GPOINTER_TO_INT(parent))
		_exit(127); /* the test is gone already */
}

PxedTestDaemon *
pxed_test_daemon_start(const char *conf, const char *const *extra_args, GError **error)
{
	PxedTestDaemon *self = g_new0(PxedTestDaemon, 1);
	g_autofree char *confdir = NULL;
	g_autofree char *state = NULL;
	g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GSubprocessLauncher) launcher = NULL;

	g_mutex_init(&self->lock);
	g_cond_init(&self->cond);
	self->lines = g_ptr_array_new_with_free_func(g_free);
	self->dir = pxed_test_tmpdir_new();
	confdir = g_build_filename(self->dir, "conf.d", NULL);
	state = g_build_filename(self->dir, "state", NULL);
	{
		g_autofree char *core = g_strdup_printf("[core]\nstate-dir=%s\n", state);
		pxed_test_write_file(confdir, "00-test-state.conf", core);
	}
	pxed_test_write_file(confdir, "50-test.conf", conf);

	g_ptr_array_add(argv, g_strdup(pxed_test_binary()));
	g_ptr_array_add(argv, g_strdup("--config-dir"));
	g_ptr_array_add(argv, g_strdup(confdir));
	g_ptr_array_add(argv, g_strdup("--plugin-dir"));
	g_ptr_array_add(argv, g_strdup(pxed_test_plugin_dir()));
	for (guint i = 0; extra_args != NULL && extra_args[i] != NULL; i++)
		g_ptr_array_add(argv, g_strdup(extra_args[i]));
	g_ptr_array_add(argv, NULL);

	launcher = g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_STDOUT_PIPE |
					     G_SUBPROCESS_FLAGS_STDERR_MERGE);
	g_subprocess_launcher_set_child_setup(launcher, die_with_parent,
					      GINT_TO_POINTER((int)getpid()), NULL);
	/* only the build tree's plugins, never an installed copy */
	g_subprocess_launcher_setenv(launcher, "PXED_PLUGINDIR", pxed_test_plugin_dir(), TRUE);
	g_subprocess_launcher_unsetenv(launcher, "NOTIFY_SOCKET");
	g_subprocess_launcher_unsetenv(launcher, "JOURNAL_STREAM");
	self->process =
		g_subprocess_launcher_spawnv(launcher, (const char *const *)argv->pdata, error);
	if (self->process == NULL) {
		daemon_free(self);
		return NULL;
	}
	self->reader = g_thread_new("pxed-test-reader", reader_thread, self);
	if (!pxed_test_daemon_wait_for_log(self, "event=ready", 10000)) {
		g_autofree char *log = pxed_test_daemon_get_log(self);
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED,
			    "pxed did not become ready; its log:\n%s", log);
		pxed_test_daemon_stop(self);
		return NULL;
	}
	return self;
}

gboolean
pxed_test_daemon_wait_for_log(PxedTestDaemon *self, const char *needle, guint timeout_ms)
{
	gint64 deadline = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
	guint checked = 0;
	gboolean found = FALSE;

	g_mutex_lock(&self->lock);
	for (;;) {
		for (; checked < self->lines->len; checked++) {
			if (strstr(g_ptr_array_index(self->lines, checked), needle) != NULL) {
				found = TRUE;
				break;
			}
		}
		if (found || self->eof)
			break;
		if (!g_cond_wait_until(&self->cond, &self->lock, deadline))
			break;
	}
	/* lines that arrived with the last wake-up */
	for (; !found && checked < self->lines->len; checked++)
		found = strstr(g_ptr_array_index(self->lines, checked), needle) != NULL;
	g_mutex_unlock(&self->lock);
	return found;
}

char *
pxed_test_daemon_get_log(PxedTestDaemon *self)
{
	GString *out = g_string_new(NULL);
	g_mutex_lock(&self->lock);
	for (guint i = 0; i < self->lines->len; i++)
		g_string_append_printf(out, "%s\n",
				       (const char *)g_ptr_array_index(self->lines, i));
	g_mutex_unlock(&self->lock);
	return g_string_free(out, FALSE);
}

char *
pxed_test_daemon_get_log_tail(PxedTestDaemon *self, gsize max)
{
	g_autofree char *log = pxed_test_daemon_get_log(self);
	gsize len = strlen(log);

	return g_strdup(len > max ? log + len - max : log);
}

guint16
pxed_test_daemon_get_port(PxedTestDaemon *self, const char *source)
{
	g_autofree char *needle = g_strdup_printf("source=%s event=listening ", source);
	guint16 port = 0;

	g_mutex_lock(&self->lock);
	for (guint i = 0; i < self->lines->len && port == 0; i++) {
		const char *line = g_ptr_array_index(self->lines, i);
		const char *colon;
		if (strstr(line, needle) == NULL)
			continue;
		colon = strrchr(line, ':');
		if (colon != NULL)
			port = (guint16)g_ascii_strtoull(colon + 1, NULL, 10);
	}
	g_mutex_unlock(&self->lock);
	return port;
}

GPid
pxed_test_daemon_get_pid(PxedTestDaemon *self)
{
	const char *id = g_subprocess_get_identifier(self->process);
	return id != NULL ? (GPid)atoi(id) : 0;
}

const char *
pxed_test_daemon_get_dir(PxedTestDaemon *self)
{
	return self->dir;
}

void
pxed_test_daemon_signal(PxedTestDaemon *self, int signum)
{
	g_subprocess_send_signal(self->process, signum);
}

int
pxed_test_daemon_stop(PxedTestDaemon *self)
{
	int status;

	if (g_subprocess_get_identifier(self->process) != NULL)
		g_subprocess_send_signal(self->process, SIGTERM);
	if (!pxed_test_wait_process(self->process, 10000))
		g_printerr("pxed did not stop within 10 s of SIGTERM: killed\n");
	status = g_subprocess_get_status(self->process);
	daemon_free(self);
	return status;
}

typedef struct {
	gboolean done;
	GBytes *out;
	GBytes *err;
	GError *error;
} CommunicateState;

static void
communicate_done(GObject *source, GAsyncResult *result, gpointer user_data)
{
	CommunicateState *state = user_data;
	g_subprocess_communicate_finish(G_SUBPROCESS(source), result, &state->out, &state->err,
					&state->error);
	state->done = TRUE;
}

gboolean
pxed_test_run(const char *const *argv, GBytes **out, char **err, int *status, GError **error)
{
	g_autoptr(GSubprocess) process = NULL;
	g_autoptr(GMainContext) context = g_main_context_new();
	CommunicateState state = {FALSE, NULL, NULL, NULL};
	gboolean timed_out;

	process =
		g_subprocess_newv(argv,
				  G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE |
					  G_SUBPROCESS_FLAGS_STDIN_INHERIT,
				  error);
	if (process == NULL)
		return FALSE;
	g_main_context_push_thread_default(context);
	g_subprocess_communicate_async(process, NULL, NULL, communicate_done, &state);
	timed_out = !run_until(context, &state.done, process, 30000);
	g_main_context_pop_thread_default(context);
	if (state.error != NULL) {
		g_propagate_error(error, state.error);
		g_clear_pointer(&state.out, g_bytes_unref);
		g_clear_pointer(&state.err, g_bytes_unref);
		return FALSE;
	}
	if (timed_out) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT, "%s: no exit within 30 s",
			    argv[0]);
		g_clear_pointer(&state.out, g_bytes_unref);
		g_clear_pointer(&state.err, g_bytes_unref);
		return FALSE;
	}
	if (status != NULL)
		*status = g_subprocess_get_if_exited(process)
				  ? g_subprocess_get_exit_status(process)
				  : 128 + g_subprocess_get_term_sig(process);
	if (out != NULL)
		*out = state.out;
	else
		g_clear_pointer(&state.out, g_bytes_unref);
	if (err != NULL) {
		gsize len = 0;
		const char *data = state.err != NULL ? g_bytes_get_data(state.err, &len) : "";
		*err = g_strndup(data, len);
	}
	g_clear_pointer(&state.err, g_bytes_unref);
	return TRUE;
}

gboolean
pxed_test_run_pxed(const char *const *argv, GBytes **out, char **err, int *status, GError **error)
{
	g_autoptr(GPtrArray) full = g_ptr_array_new();

	g_ptr_array_add(full, (gpointer)pxed_test_binary());
	for (guint i = 0; argv != NULL && argv[i] != NULL; i++)
		g_ptr_array_add(full, (gpointer)argv[i]);
	g_ptr_array_add(full, NULL);
	return pxed_test_run((const char *const *)full->pdata, out, err, status, error);
}

char *
pxed_test_file_sha256(const char *path)
{
	g_autoptr(GChecksum) checksum = g_checksum_new(G_CHECKSUM_SHA256);
	g_autoptr(GError) error = NULL;
	g_autoptr(GFile) file = g_file_new_for_path(path);
	g_autoptr(GFileInputStream) in = g_file_read(file, NULL, &error);
	guint8 buf[65536];
	gssize n;

	g_assert_no_error(error);
	while ((n = g_input_stream_read(G_INPUT_STREAM(in), buf, sizeof(buf), NULL, &error)) > 0)
		g_checksum_update(checksum, buf, n);
	g_assert_no_error(error);
	return g_strdup(g_checksum_get_string(checksum));
}
