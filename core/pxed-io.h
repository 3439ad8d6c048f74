/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/*
 * Writes all of @data to @fd, again after EINTR and short writes. On failure
 * returns %FALSE with errno set (ENOSPC when write() wrote nothing). Uses
 * write() only: safe in a signal handler.
 */
gboolean pxed_write_all(int fd, const char *data, gsize len);

G_END_DECLS
