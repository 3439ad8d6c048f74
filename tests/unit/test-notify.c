/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The readiness datagram: the test binds the socket a service manager would
 * and reads what pxed_notify() sends there.
 */
#include "pxed-notify.h"

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <errno.h>
#include <poll.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* Binds a datagram socket at @name ('@' first: abstract). */
static int
bind_notify_socket(const char *name)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	gsize len = strlen(name);
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	g_assert_cmpint(fd, >=, 0);
	g_assert_cmpuint(len, <, sizeof(addr.sun_path));
	memcpy(addr.sun_path, name, len);
	if (name[0] == '@')
		addr.sun_path[0] = '\0';
	else
		len++;
	g_assert_cmpint(bind(fd, (struct sockaddr *)&addr,
			     (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len)),
			==, 0);
	return fd;
}

/* One datagram, waited for at most 5 s; %NULL when none came. */
static char *
receive(int fd, int timeout_ms)
{
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	char buf[512];
	ssize_t n;

	if (poll(&pfd, 1, timeout_ms) != 1)
		return NULL;
	n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
	g_assert_cmpint(n, >=, 0);
	return g_strndup(buf, (gsize)n);
}

static void
test_path_socket(void)
{
	g_autofree char *dir = g_dir_make_tmp("pxed-notify-XXXXXX", NULL);
	g_autofree char *path = g_build_filename(dir, "notify", NULL);
	g_autofree char *got = NULL;
	int fd = bind_notify_socket(path);

	g_setenv("NOTIFY_SOCKET", path, TRUE);
	pxed_notify("READY=1");
	got = receive(fd, 5000);
	g_assert_cmpstr(got, ==, "READY=1");
	g_unsetenv("NOTIFY_SOCKET");
	close(fd);
	g_unlink(path);
	g_rmdir(dir);
}

static void
test_abstract_socket(void)
{
	g_autofree char *name = g_strdup_printf("@pxed-test-notify-%d", (int)getpid());
	g_autofree char *got = NULL;
	g_autoptr(GError) error = NULL;
	int fd = bind_notify_socket(name);

	g_assert_true(pxed_notify_send(name, "RELOADING=1", &error));
	g_assert_no_error(error);
	got = receive(fd, 5000);
	g_assert_cmpstr(got, ==, "RELOADING=1");
	close(fd);
}

/* Without NOTIFY_SOCKET (not started by a manager) nothing is sent and
 * nothing is logged: G_DEBUG=fatal-criticals and the test's log handler
 * would catch a warning. */
static void
test_unset(void)
{
	g_unsetenv("NOTIFY_SOCKET");
	pxed_notify("READY=1");
}

static void
test_bad_names(void)
{
	g_autoptr(GError) error = NULL;

	g_assert_false(pxed_notify_send("relative/notify", "READY=1", &error));
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
	g_clear_error(&error);
	g_assert_false(pxed_notify_send("", "READY=1", &error));
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
	g_clear_error(&error);
	/* nobody listens there */
	g_assert_false(pxed_notify_send("/nonexistent-pxed/notify", "READY=1", &error));
	g_assert_nonnull(error);
}

/* A name longer than sun_path must be refused, not cut: cut, it names
 * another socket, here one the test binds at the first 107 bytes. */
static void
test_too_long(void)
{
	struct sockaddr_un addr;
	g_autofree char *prefix = g_strdup_printf("@pxed-test-long-%d-", (int)getpid());
	GString *name = g_string_new(prefix);
	g_autofree char *cut = NULL;
	g_autofree char *got = NULL;
	g_autoptr(GError) error = NULL;
	int fd;

	while (name->len < sizeof(addr.sun_path))
		g_string_append_c(name, 'x');
	cut = g_strndup(name->str, sizeof(addr.sun_path) - 1);
	fd = bind_notify_socket(cut);
	g_string_append(name, "-beyond");
	g_assert_false(pxed_notify_send(name->str, "READY=1", &error));
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_FILENAME_TOO_LONG);
	got = receive(fd, 200);
	g_assert_null(got);
	close(fd);
	g_string_free(name, TRUE);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/notify/path-socket", test_path_socket);
	g_test_add_func("/notify/abstract-socket", test_abstract_socket);
	g_test_add_func("/notify/unset", test_unset);
	g_test_add_func("/notify/bad-names", test_bad_names);
	g_test_add_func("/notify/too-long", test_too_long);
	return g_test_run();
}
