/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined(__PXED_H_INSIDE__) && !defined(PXED_COMPILATION)
#error "Only <pxed/pxed.h> can be included directly."
#endif

#include <pxed/pxed-client.h>

G_BEGIN_DECLS

/**
 * PxedFile:
 *
 * Content a backend serves: either an open file descriptor (static files,
 * streamed with pread()/sendfile() by the protocol plugin, never read whole) or
 * bytes in memory (rendered scripts and configs). Reference counted, and
 * independent of the backend that made it: a transfer in flight keeps its file
 * even if the configuration is reloaded underneath it.
 */
typedef struct _PxedFile PxedFile;

/* Takes ownership of @fd, which must be a regular file opened for reading. */
PxedFile *pxed_file_new_for_fd(int fd, GError **error);
PxedFile *pxed_file_new_for_bytes(GBytes *bytes);
PxedFile *pxed_file_new_for_data(const void *data, gsize len);
PxedFile *pxed_file_ref(PxedFile *self);
void pxed_file_unref(PxedFile *self);

guint64 pxed_file_get_size(PxedFile *self);
/* Modification time in seconds since the epoch (creation time for memory files). */
gint64 pxed_file_get_mtime(PxedFile *self);
void pxed_file_set_mtime(PxedFile *self, gint64 mtime);
const char *pxed_file_get_content_type(PxedFile *self);
void pxed_file_set_content_type(PxedFile *self, const char *content_type);
/* A strong entity tag, quoted, derived from identity, size and mtime (or content). */
const char *pxed_file_get_etag(PxedFile *self);

/* The descriptor (owned by the file; do not close), or -1 for memory content. */
int pxed_file_get_fd(PxedFile *self);
/* The content (borrowed), or %NULL for descriptor-backed files. */
GBytes *pxed_file_get_bytes(PxedFile *self);

/**
 * pxed_file_read_at:
 *
 * Copies up to @count bytes from @offset. Short only at the end of the file.
 * Returns: bytes read (0 at or past the end), or -1 with @error set.
 */
gssize pxed_file_read_at(PxedFile *self, guint64 offset, void *buf, gsize count, GError **error);

/* Which backend instance produced the file ("static:images"); set by the core. */
const char *pxed_file_get_origin(PxedFile *self);
void pxed_file_set_origin(PxedFile *self, const char *origin);

/* A content type for a file name, from its extension (boot-relevant types first). */
const char *pxed_content_type_for_path(const char *path);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(PxedFile, pxed_file_unref)

/**
 * PxedFileRequest:
 *
 * One request of the `tftp` or `http` file pipeline: a normalised path
 * (relative, `/`-separated, no `.` or `..` parts, no leading `/`), the client,
 * and for HTTP the query parameters.
 */
typedef struct _PxedFileRequest PxedFileRequest;

/* @query: (nullable) (element-type utf8 utf8): HTTP query parameters; referenced */
PxedFileRequest *pxed_file_request_new(PxedVia via, const char *path, PxedClient *client,
				       GHashTable *query);
PxedFileRequest *pxed_file_request_ref(PxedFileRequest *self);
void pxed_file_request_unref(PxedFileRequest *self);
const char *pxed_file_request_get_path(PxedFileRequest *self);
PxedVia pxed_file_request_get_via(PxedFileRequest *self);
PxedClient *pxed_file_request_get_client(PxedFileRequest *self);
const char *pxed_file_request_get_query(PxedFileRequest *self, const char *key);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(PxedFileRequest, pxed_file_request_unref)

/**
 * pxed_path_normalize:
 * @path: a path as a client sent it (TFTP file name, decoded HTTP path)
 * @len: its length in bytes, or -1 if NUL-terminated
 *
 * Makes a request path safe to hand to a backend: `\` becomes `/`, leading
 * separators and `.` parts go, runs of separators fold. Refused with
 * PXED_ERROR_DENIED: an embedded NUL, control characters, invalid UTF-8, any
 * `..` part. Refused with PXED_ERROR_NOT_FOUND: an empty path.
 *
 * Returns: (transfer full): the normalised path, or %NULL
 */
char *pxed_path_normalize(const char *path, gssize len, GError **error);

G_END_DECLS
