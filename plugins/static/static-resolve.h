/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <pxed/pxed.h>

G_BEGIN_DECLS

/**
 * pxed_static_open:
 * @root_fd: an O_PATH descriptor of the store's root folder
 * @root_path: the same folder's canonical path (for the fallback check)
 * @relative: a normalised relative path (see pxed_path_normalize())
 * @follow_outside: let symlinks lead out of the root
 *
 * Opens @relative beneath the root without letting it escape: on kernels with
 * openat2() the kernel itself refuses any resolution leaving the root
 * (RESOLVE_BENEATH); elsewhere the canonical path is checked against the
 * root's. Only regular files are opened; folders, devices, FIFOs and sockets
 * are refused (FIFOs without blocking: the open is non-blocking).
 *
 * Returns: a descriptor, or -1 with PXED_ERROR_NOT_FOUND or PXED_ERROR_DENIED
 */
int pxed_static_open(int root_fd, const char *root_path, const char *relative,
		     gboolean follow_outside, GError **error);

G_END_DECLS
