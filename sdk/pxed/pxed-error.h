/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined(__PXED_H_INSIDE__) && !defined(PXED_COMPILATION)
#error "Only <pxed/pxed.h> can be included directly."
#endif

#include <glib.h>

G_BEGIN_DECLS

/**
 * PXED_ERROR:
 *
 * The error domain shared by the SDK and by backends. Protocol plugins map the
 * codes onto their wire: NOT_FOUND is TFTP error 1 / HTTP 404, DENIED is TFTP
 * error 2 / HTTP 403, everything else is TFTP error 0 / HTTP 500.
 */
#define PXED_ERROR (pxed_error_quark())

typedef enum {
	PXED_ERROR_FAILED,    /* internal failure; details go to the log, not the client */
	PXED_ERROR_NOT_FOUND, /* no such file, or every backend declined */
	PXED_ERROR_DENIED,    /* the request is refused (path escape, not a regular file) */
	PXED_ERROR_INVALID,   /* malformed input (client description, address, path) */
} PxedError;

GQuark pxed_error_quark(void);

G_END_DECLS
