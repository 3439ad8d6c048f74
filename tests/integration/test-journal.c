/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Under systemd the daemon logs to the journal with its own fields, so that
 * `journalctl -u pxed PXED_MAC=52:54:00:12:34:56` shows one machine's boot.
 *
 * GLib's journald writer sends datagrams to the fixed path
 * /run/systemd/journal/socket, and GLib (2.74 and later alike) takes stderr
 * for the journal when it is a socket connected to a path under
 * /run/systemd/journal/ (getpeername(), see g_log_writer_is_journald()).
 * The test stands in for journald: in a subprocess with a mount namespace of
 * its own, a tmpfs over /run/systemd/journal holds the datagram socket and a
 * stream socket for the daemon's stderr (as systemd's "stdout" socket), and
 * the records the build tree's pxed sends are read and checked. The
 * namespace ends with the subprocess: nothing on the host changes. Root
 * only; skips otherwise. */
#include "pxed-test.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#define JOURNAL_DIR    "/run/systemd/journal"
#define JOURNAL_SOCKET JOURNAL_DIR "/socket"
#define JOURNAL_STDOUT JOURNAL_DIR "/stdout"
#define MAC	       "52:54:00:12:34:56"
#define DEADLINE_US    (15 * G_USEC_PER_SEC)

typedef struct {
	int journal;	      /* SOCK_DGRAM bound at JOURNAL_SOCKET */
	int stream;	      /* the accepted end of the daemon's stderr */
	GPtrArray *records;   /* (element-type GHashTable): KEY → VALUE */
	GString *stream_text; /* what the daemon wrote to stderr itself */
} Journal;

/* A record in the native protocol (systemd's journal-native(7)): fields end
 * with '\n'; KEY=VALUE for text, or KEY '\n' then VALUE's length as a little
 * endian 64-bit number, VALUE and '\n' when VALUE holds a newline. */
static GHashTable *
parse_record(const char *data, gsize len)
{
	GHashTable *record = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	const char *p = data, *end = data + len;

	while (p < end) {
		const char *nl = memchr(p, '\n', end - p);
		const char *eq = memchr(p, '=', (nl != NULL ? nl : end) - p);

		g_assert_nonnull(nl);
		if (eq != NULL) {
			g_hash_table_replace(record, g_strndup(p, eq - p),
					     g_strndup(eq + 1, nl - eq - 1));
			p = nl + 1;
		} else {
			guint64 vlen;
			char *key = g_strndup(p, nl - p);

			p = nl + 1;
			g_assert_cmpint(end - p, >=, 8);
			memcpy(&vlen, p, 8);
			vlen = GUINT64_FROM_LE(vlen);
			p += 8;
			g_assert_cmpuint(vlen, <, (guint64)(end - p));
			g_assert_cmpint(p[vlen], ==, '\n');
			g_hash_table_replace(record, key, g_strndup(p, vlen));
			p += vlen + 1;
		}
	}
	return record;
}

/* One datagram: the record itself, or (too large for a datagram) a file
 * descriptor holding it. */
static void
receive_record(Journal *j)
{
	static char buf[256 * 1024];
	union {
		struct cmsghdr header;
		char space[CMSG_SPACE(sizeof(int))];
	} control;
	struct iovec iov = {.iov_base = buf, .iov_len = sizeof(buf)};
	struct msghdr mh = {.msg_iov = &iov,
			    .msg_iovlen = 1,
			    .msg_control = &control,
			    .msg_controllen = sizeof(control)};
	ssize_t n = recvmsg(j->journal, &mh, MSG_CMSG_CLOEXEC);
	struct cmsghdr *cmsg = CMSG_FIRSTHDR(&mh);

	g_assert_cmpint(n, >=, 0);
	if (n == 0 && cmsg != NULL && cmsg->cmsg_type == SCM_RIGHTS) {
		int fd;
		g_autofree char *text = NULL;
		gsize len = 0;
		g_autofree char *path = NULL;

		memcpy(&fd, CMSG_DATA(cmsg), sizeof(fd));
		path = g_strdup_printf("/proc/self/fd/%d", fd);
		g_assert_true(g_file_get_contents(path, &text, &len, NULL));
		close(fd);
		g_ptr_array_add(j->records, parse_record(text, len));
		return;
	}
	g_ptr_array_add(j->records, parse_record(buf, (gsize)n));
}

static gboolean
record_matches(GHashTable *record, const char *source, const char *event)
{
	return g_strcmp0(g_hash_table_lookup(record, "PXED_SOURCE"), source) == 0 &&
	       g_strcmp0(g_hash_table_lookup(record, "PXED_EVENT"), event) == 0;
}

/* Reads records until one of @source's @event came, at most until @deadline
 * (monotonic µs). */
static GHashTable *
wait_record(Journal *j, const char *source, const char *event, gint64 deadline)
{
	for (guint seen = 0;;) {
		struct pollfd fds[2] = {{.fd = j->journal, .events = POLLIN},
					{.fd = j->stream, .events = POLLIN}};
		gint64 left;

		for (; seen < j->records->len; seen++) {
			if (record_matches(g_ptr_array_index(j->records, seen), source, event))
				return g_ptr_array_index(j->records, seen);
		}
		left = deadline - g_get_monotonic_time();
		if (left <= 0)
			return NULL;
		if (poll(fds, 2, (int)(left / 1000) + 1) < 0) {
			g_assert_cmpint(errno, ==, EINTR);
			continue;
		}
		if (fds[0].revents & POLLIN)
			receive_record(j);
		if (fds[1].revents & (POLLIN | POLLHUP)) {
			char text[4096];
			ssize_t n = read(j->stream, text, sizeof(text));
			if (n > 0) {
				g_string_append_len(j->stream_text, text, n);
			} else {
				/* the daemon is gone (poll() skips a negative fd) */
				close(j->stream);
				j->stream = -1;
			}
		}
	}
}

static int
unix_socket(int type, const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);

	g_assert_cmpint(fd, >=, 0);
	g_strlcpy(sa.sun_path, path, sizeof(sa.sun_path));
	g_assert_no_errno(bind(fd, (struct sockaddr *)&sa, sizeof(sa)));
	return fd;
}

/* The daemon's stderr: a socket connected to JOURNAL_STDOUT, as systemd
 * gives a service with StandardError=journal; @accepted gets the other end. */
static int
journal_stream(int *accepted)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int listener = unix_socket(SOCK_STREAM, JOURNAL_STDOUT);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	g_assert_no_errno(listen(listener, 1));
	g_strlcpy(sa.sun_path, JOURNAL_STDOUT, sizeof(sa.sun_path));
	g_assert_no_errno(connect(fd, (struct sockaddr *)&sa, sizeof(sa)));
	*accepted = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
	g_assert_cmpint(*accepted, >=, 0);
	close(listener);
	return fd;
}

/* The deepest of /run/systemd/journal, /run/systemd, /run that exists: the
 * tmpfs goes there, so that no folder is created on the host's /run. */
static void
mount_journal_dir(void)
{
	static const char *const candidates[] = {JOURNAL_DIR, "/run/systemd", "/run"};

	for (guint i = 0; i < G_N_ELEMENTS(candidates); i++) {
		if (g_file_test(candidates[i], G_FILE_TEST_IS_DIR)) {
			g_assert_no_errno(mount("tmpfs", candidates[i], "tmpfs",
						MS_NOSUID | MS_NODEV, "size=1m,mode=0755"));
			break;
		}
	}
	g_assert_no_errno(g_mkdir_with_parents(JOURNAL_DIR, 0755));
}

static GPid
spawn_daemon(const char *confdir, int err_fd)
{
	struct stat st;
	g_autofree char *stream = NULL;
	pid_t parent = getpid();
	pid_t pid;

	/* What systemd sets for a service whose stderr is the journal. GLib 2.74
	 * goes by the socket's peer name; the variable is set all the same. */
	g_assert_no_errno(fstat(err_fd, &st));
	stream = g_strdup_printf("%" G_GUINT64_FORMAT ":%" G_GUINT64_FORMAT, (guint64)st.st_dev,
				 (guint64)st.st_ino);
	pid = fork();
	g_assert_cmpint(pid, >=, 0);
	if (pid == 0) {
		const char *argv[] = {pxed_test_binary(), "--config-dir",	  confdir,
				      "--plugin-dir",	  pxed_test_plugin_dir(), NULL};
		int null = open("/dev/null", O_RDWR);

		if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent || null < 0 ||
		    dup2(null, STDIN_FILENO) < 0 || dup2(err_fd, STDOUT_FILENO) < 0 ||
		    dup2(err_fd, STDERR_FILENO) < 0)
			_exit(127);
		setenv("JOURNAL_STREAM", stream, 1);
		setenv("PXED_PLUGINDIR", pxed_test_plugin_dir(), 1);
		unsetenv("NOTIFY_SOCKET");
		execv(argv[0], (char **)argv);
		_exit(127);
	}
	return pid;
}

/* SIGTERM, then the exit is waited for (at most 10 s, then SIGKILL). */
static int
stop_daemon(GPid pid)
{
	gint64 deadline = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;
	int status = 0;

	kill(pid, SIGTERM);
	while (waitpid(pid, &status, WNOHANG) == 0) {
		if (g_get_monotonic_time() > deadline) {
			kill(pid, SIGKILL);
			g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
			break;
		}
		g_usleep(10 * 1000); /* polling for the exit, bounded above */
	}
	return status;
}

static char *
http_get(guint16 port, const char *path)
{
	g_autofree char *request =
		g_strdup_printf("GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n", path);
	return pxed_test_tcp_exchange(port, request);
}

static void
assert_field(GHashTable *record, const char *key, const char *value)
{
	const char *got = g_hash_table_lookup(record, key);

	if (g_strcmp0(got, value) != 0)
		g_error("journal record: %s=%s, expected %s", key, got != NULL ? got : "(absent)",
			value);
}

/* In the subprocess (a mount namespace of its own). */
static void
journal_fields_body(void)
{
	g_autofree char *dir = pxed_test_tmpdir_new();
	g_autofree char *confdir = g_build_filename(dir, "conf.d", NULL);
	g_autofree char *conf = NULL;
	g_autofree char *response = NULL;
	Journal j = {.records = g_ptr_array_new_with_free_func((GDestroyNotify)g_hash_table_unref),
		     .stream_text = g_string_new(NULL)};
	gint64 deadline = g_get_monotonic_time() + DEADLINE_US;
	GHashTable *ready, *listening, *request;
	const char *message, *colon;
	guint64 port = 0;
	int err_fd, status;
	GPid pid;

	g_assert_no_errno(unshare(CLONE_NEWNS));
	/* mounts made here must not show on the host */
	g_assert_no_errno(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL));
	mount_journal_dir();
	j.journal = unix_socket(SOCK_DGRAM, JOURNAL_SOCKET);
	err_fd = journal_stream(&j.stream);

	conf = g_strdup_printf("[core]\nstate-dir=%s/state\n"
			       "[http]\nlisten=127.0.0.1:0\n"
			       "[ipxe]\nbase-url=http://127.0.0.1:1\n"
			       "[profile:a]\nkernel=/a/vmlinuz\n"
			       "[group:default]\nprofile=a\n"
			       "[pipeline]\nhttp=ipxe\n",
			       dir);
	pxed_test_write_file(confdir, "50-test.conf", conf);
	pid = spawn_daemon(confdir, err_fd);
	close(err_fd);

	ready = wait_record(&j, "core", "ready", deadline);
	if (ready == NULL)
		g_error("no event=ready record from pxed in the journal (%u records); its "
			"stderr:\n%s",
			j.records->len, j.stream_text->str);
	assert_field(ready, "GLIB_DOMAIN", "pxed-events");
	g_assert_true(g_hash_table_contains(ready, "PRIORITY"));
	g_assert_true(g_hash_table_contains(ready, "MESSAGE"));
	/* the daemon's own events name no machine */
	g_assert_false(g_hash_table_contains(ready, "PXED_MAC"));

	listening = wait_record(&j, "http", "listening", deadline);
	g_assert_nonnull(listening);
	g_assert_false(g_hash_table_contains(listening, "PXED_MAC"));
	message = g_hash_table_lookup(listening, "MESSAGE");
	g_assert_nonnull(message);
	colon = strrchr(message, ':');
	g_assert_nonnull(colon);
	g_assert_true(g_ascii_string_to_unsigned(colon + 1, 10, 1, 65535, &port, NULL));

	response = http_get((guint16)port, "/ipxe?mac=" MAC);
	g_assert_true(g_str_has_prefix(response, "HTTP/1."));

	request = wait_record(&j, "http", "request", deadline);
	if (request == NULL)
		g_error("no http request record in the journal; stderr:\n%s", j.stream_text->str);
	/* what `journalctl PXED_MAC=…` matches on */
	assert_field(request, "PXED_MAC", MAC);
	assert_field(request, "PXED_CLIENT", MAC);
	assert_field(request, "PXED_ADDRESS", "127.0.0.1");
	assert_field(request, "PXED_SOURCE", "http");
	assert_field(request, "PXED_EVENT", "request");
	assert_field(request, "PRIORITY", "6");
	message = g_hash_table_lookup(request, "MESSAGE");
	g_assert_nonnull(message);
	g_assert_nonnull(strstr(message, "source=http event=request client=" MAC " GET /ipxe"));

	status = stop_daemon(pid);
	g_assert_true(WIFEXITED(status));
	g_assert_cmpint(WEXITSTATUS(status), ==, 0);
	/* with the journal in use nothing goes to the stream but what GLib
	 * could not send */
	g_assert_cmpstr(j.stream_text->str, ==, "");
	close(j.journal);
	if (j.stream >= 0)
		close(j.stream);
	g_ptr_array_unref(j.records);
	g_string_free(j.stream_text, TRUE);
	pxed_test_tmpdir_free(g_steal_pointer(&dir));
}

/* Whether this process may make a mount namespace and mount a tmpfs in it
 * (root, and not a container that forbids it): tried in a child. */
static gboolean
can_mount(void)
{
	pid_t pid = fork();
	int status = 0;

	g_assert_cmpint(pid, >=, 0);
	if (pid == 0) {
		g_autofree char *dir = g_dir_make_tmp("pxed-test-mnt-XXXXXX", NULL);
		int ok = dir != NULL && unshare(CLONE_NEWNS) == 0 &&
			 mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0 &&
			 mount("tmpfs", dir, "tmpfs", 0, "size=64k") == 0 && umount(dir) == 0;
		if (dir != NULL)
			rmdir(dir);
		_exit(ok ? 0 : 1);
	}
	g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static void
test_journal_fields(void)
{
	if (g_test_subprocess()) {
		journal_fields_body();
		return;
	}
	if (geteuid() != 0) {
		g_test_skip("needs root: a mount namespace with a stand-in journal socket "
			    "at " JOURNAL_SOCKET);
		return;
	}
	if (!can_mount()) {
		g_test_skip("cannot make a mount namespace and mount a tmpfs (unshare/mount "
			    "refused here)");
		return;
	}
	g_test_trap_subprocess(NULL, 60 * G_USEC_PER_SEC, G_TEST_SUBPROCESS_INHERIT_STDERR);
	g_test_trap_assert_passed();
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/journal/fields", test_journal_fields);
	return g_test_run();
}
