/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Readiness for systemd (Type=notify): a datagram to $NOTIFY_SOCKET, as
 * sd_notify(3) describes it. GIO's sockets would do, but the protocol is one
 * sendto(): plain sockets keep it free of a main loop.
 */
#include "pxed-notify.h"

#include <gio/gio.h>
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

gboolean
pxed_notify_send(const char *socket_name, const char *state, GError **error)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	gsize name_len;
	socklen_t addr_len;
	ssize_t sent;
	int fd;

	g_return_val_if_fail(socket_name != NULL && state != NULL, FALSE);
	name_len = strlen(socket_name);
	/* Only a path or an abstract name: anything else (a relative path, an
	 * empty value) is not a socket the manager made. */
	if (name_len < 2 || (socket_name[0] != '/' && socket_name[0] != '@')) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "NOTIFY_SOCKET '%s' is neither a path nor an abstract name",
			    socket_name);
		return FALSE;
	}
	/* A name that does not fit would be cut and reach another socket. A
	 * path needs its terminating NUL; an abstract name has none. */
	if (name_len > sizeof(addr.sun_path) - (socket_name[0] == '/' ? 1 : 0)) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_FILENAME_TOO_LONG,
			    "NOTIFY_SOCKET is %" G_GSIZE_FORMAT " bytes, longer than a socket name",
			    name_len);
		return FALSE;
	}
	memcpy(addr.sun_path, socket_name, name_len);
	if (socket_name[0] == '@') {
		/* abstract: a leading NUL, and the length says where it ends */
		addr.sun_path[0] = '\0';
		addr_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + name_len);
	} else {
		addr_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + name_len + 1);
	}

	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errno),
			    "NOTIFY_SOCKET: socket: %s", g_strerror(errno));
		return FALSE;
	}
	do
		sent = sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&addr,
			      addr_len);
	while (sent < 0 && errno == EINTR);
	if (sent < 0) {
		int saved = errno;
		close(fd);
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(saved), "NOTIFY_SOCKET %s: %s",
			    socket_name, g_strerror(saved));
		return FALSE;
	}
	close(fd);
	return TRUE;
}

void
pxed_notify(const char *state)
{
	g_autoptr(GError) error = NULL;
	const char *socket_name = g_getenv("NOTIFY_SOCKET");

	if (socket_name == NULL)
		return;
	if (!pxed_notify_send(socket_name, state, &error))
		g_warning("cannot tell the service manager %s: %s", state, error->message);
}
