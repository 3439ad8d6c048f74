/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "static-resolve.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define OPEN_FLAGS (O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)

static int
set_errno_error(int err, const char *relative, GError **error)
{
	switch (err) {
	case ENOENT:
	case ENOTDIR:
	case ENAMETOOLONG:
		g_set_error(error, PXED_ERROR, PXED_ERROR_NOT_FOUND, "%s: no such file", relative);
		break;
	case EXDEV:
		g_set_error(error, PXED_ERROR, PXED_ERROR_DENIED,
			    "%s: resolves outside the root (follow-symlinks-outside=false)",
			    relative);
		break;
	case ELOOP:
		g_set_error(error, PXED_ERROR, PXED_ERROR_DENIED, "%s: too many symlinks",
			    relative);
		break;
	case ENXIO: /* a socket, or a device with nothing behind it */
	case ENODEV:
		g_set_error(error, PXED_ERROR, PXED_ERROR_DENIED, "%s: not a regular file",
			    relative);
		break;
	case EACCES:
	case EPERM:
		g_set_error(error, PXED_ERROR, PXED_ERROR_DENIED, "%s: permission denied",
			    relative);
		break;
	default:
		g_set_error(error, PXED_ERROR, PXED_ERROR_FAILED, "%s: %s", relative,
			    g_strerror(err));
		break;
	}
	return -1;
}

/* For kernels (or seccomp filters) without openat2(): resolve the whole path,
 * then check it is still beneath the root. */
static int
open_checked(const char *root_path, const char *relative, GError **error)
{
	g_autofree char *joined = g_build_filename(root_path, relative, NULL);
	g_autofree char *real = realpath(joined, NULL);
	int fd;

	if (real == NULL)
		return set_errno_error(errno, relative, error);
	if (!g_str_has_prefix(real, root_path) ||
	    (real[strlen(root_path)] != '/' && real[strlen(root_path)] != '\0' &&
	     !g_str_equal(root_path, "/")))
		return set_errno_error(EXDEV, relative, error);
	fd = open(real, OPEN_FLAGS | O_NOFOLLOW);
	if (fd < 0)
		return set_errno_error(errno, relative, error);
	return fd;
}

int
pxed_static_open(int root_fd, const char *root_path, const char *relative, gboolean follow_outside,
		 GError **error)
{
	struct stat st;
	int fd;

	if (follow_outside) {
		fd = openat(root_fd, relative, OPEN_FLAGS);
		if (fd < 0)
			return set_errno_error(errno, relative, error);
	} else {
		struct open_how how = {
			.flags = OPEN_FLAGS,
			.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
		};
		fd = (int)syscall(SYS_openat2, root_fd, relative, &how, sizeof(how));
		/* ENOSYS/EPERM: no openat2 here. EXDEV also covers absolute symlinks,
		 * which RESOLVE_BENEATH refuses even when they point inside the
		 * root: let the canonical-path check decide those. */
		if (fd < 0 && (errno == ENOSYS || errno == EPERM || errno == EXDEV))
			fd = open_checked(root_path, relative, error);
		else if (fd < 0)
			return set_errno_error(errno, relative, error);
		if (fd < 0)
			return -1;
	}
	if (fstat(fd, &st) != 0) {
		int err = errno;
		close(fd);
		return set_errno_error(err, relative, error);
	}
	if (S_ISDIR(st.st_mode)) {
		close(fd);
		g_set_error(error, PXED_ERROR, PXED_ERROR_DENIED, "%s: is a folder", relative);
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		g_set_error(error, PXED_ERROR, PXED_ERROR_DENIED, "%s: not a regular file",
			    relative);
		return -1;
	}
	/* Regular files ignore O_NONBLOCK, but leave no surprise for readers. */
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	return fd;
}
