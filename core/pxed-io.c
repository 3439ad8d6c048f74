/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "pxed-io.h"

#include <errno.h>
#include <unistd.h>

gboolean
pxed_write_all(int fd, const char *data, gsize len)
{
	while (len > 0) {
		ssize_t n = write(fd, data, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0)
			errno = ENOSPC; /* write(2): nothing written, no error: a full file system
					 */
		if (n <= 0)
			return FALSE;
		data += n;
		len -= (gsize)n;
	}
	return TRUE;
}
