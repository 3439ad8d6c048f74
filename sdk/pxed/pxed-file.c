/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "pxed.h"

#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

struct _PxedFile {
	int fd;
	GBytes *bytes;
	guint64 size;
	gint64 mtime;
	char *etag;
	char *content_type;
	char *origin;
};

PxedFile *
pxed_file_new_for_fd(int fd, GError **error)
{
	struct stat st;
	PxedFile *self;

	if (fstat(fd, &st) != 0) {
		int saved = errno;
		close(fd);
		g_set_error(error, PXED_ERROR, PXED_ERROR_FAILED, "fstat: %s", g_strerror(saved));
		return NULL;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		g_set_error_literal(error, PXED_ERROR, PXED_ERROR_DENIED, "not a regular file");
		return NULL;
	}
	self = g_atomic_rc_box_new0(PxedFile);
	self->fd = fd;
	self->size = (guint64)st.st_size;
	self->mtime = (gint64)st.st_mtim.tv_sec;
	/* Identity, size and nanosecond mtime: changes whenever the content may have. */
	self->etag = g_strdup_printf("\"%" G_GINT64_MODIFIER "x-%" G_GINT64_MODIFIER
				     "x-%" G_GINT64_MODIFIER "x.%lx\"",
				     (gint64)st.st_ino, (gint64)st.st_size,
				     (gint64)st.st_mtim.tv_sec, (unsigned long)st.st_mtim.tv_nsec);
	return self;
}

PxedFile *
pxed_file_new_for_bytes(GBytes *bytes)
{
	PxedFile *self = g_atomic_rc_box_new0(PxedFile);
	gsize len = 0;
	const guint8 *data = g_bytes_get_data(bytes, &len);
	guint64 hash = 14695981039346656037u;

	self->fd = -1;
	self->bytes = g_bytes_ref(bytes);
	self->size = g_bytes_get_size(bytes);
	self->mtime = g_get_real_time() / G_USEC_PER_SEC;
	/* Rendered content: the tag is the content's hash, so an unchanged script
	 * still gets a 304 after a reload. FNV-1a, 64 bits, and the length: the
	 * content is ours, nobody crafts collisions, and a cryptographic hash of
	 * every rendered script showed in profiles. */
	for (gsize i = 0; i < len; i++)
		hash = (hash ^ data[i]) * 1099511628211u;
	self->etag =
		g_strdup_printf("\"%016" G_GINT64_MODIFIER "x-%" G_GSIZE_MODIFIER "x\"", hash, len);
	return self;
}

PxedFile *
pxed_file_new_for_data(const void *data, gsize len)
{
	g_autoptr(GBytes) bytes = g_bytes_new(data, len);
	return pxed_file_new_for_bytes(bytes);
}

PxedFile *
pxed_file_ref(PxedFile *self)
{
	return g_atomic_rc_box_acquire(self);
}

/* Frees what @data holds; the reference count's box frees @data. */
static void
file_clear(gpointer data)
{
	PxedFile *self = data;

	if (self->fd >= 0)
		close(self->fd);
	g_clear_pointer(&self->bytes, g_bytes_unref);
	g_free(self->etag);
	g_free(self->content_type);
	g_free(self->origin);
}

void
pxed_file_unref(PxedFile *self)
{
	g_atomic_rc_box_release_full(self, file_clear);
}

guint64
pxed_file_get_size(PxedFile *self)
{
	return self->size;
}

gint64
pxed_file_get_mtime(PxedFile *self)
{
	return self->mtime;
}

void
pxed_file_set_mtime(PxedFile *self, gint64 mtime)
{
	self->mtime = mtime;
}

const char *
pxed_file_get_content_type(PxedFile *self)
{
	return self->content_type != NULL ? self->content_type : "application/octet-stream";
}

void
pxed_file_set_content_type(PxedFile *self, const char *content_type)
{
	g_free(self->content_type);
	self->content_type = g_strdup(content_type);
}

const char *
pxed_file_get_etag(PxedFile *self)
{
	return self->etag;
}

int
pxed_file_get_fd(PxedFile *self)
{
	return self->fd;
}

GBytes *
pxed_file_get_bytes(PxedFile *self)
{
	return self->bytes;
}

gssize
pxed_file_read_at(PxedFile *self, guint64 offset, void *buf, gsize count, GError **error)
{
	gsize done = 0;

	if (offset >= self->size)
		return 0;
	if (count > self->size - offset)
		count = self->size - offset;
	if (self->bytes != NULL) {
		memcpy(buf, (const guint8 *)g_bytes_get_data(self->bytes, NULL) + offset, count);
		return (gssize)count;
	}
	while (done < count) {
		ssize_t n =
			pread(self->fd, (guint8 *)buf + done, count - done, (off_t)(offset + done));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			g_set_error(error, PXED_ERROR, PXED_ERROR_FAILED, "read: %s",
				    g_strerror(errno));
			return -1;
		}
		if (n == 0)
			break; /* the file shrank under us: report what there is */
		done += (gsize)n;
	}
	return (gssize)done;
}

const char *
pxed_file_get_origin(PxedFile *self)
{
	return self->origin;
}

void
pxed_file_set_origin(PxedFile *self, const char *origin)
{
	g_free(self->origin);
	self->origin = g_strdup(origin);
}

/* Boot-relevant types by extension; deterministic, unlike a MIME database that
 * may or may not be installed. */
static const struct {
	const char *ext;
	const char *type;
} content_types[] = {
	{".ipxe", "text/plain"},
	{".cfg", "text/plain"},
	{".txt", "text/plain"},
	{".conf", "text/plain"},
	{".sh", "text/x-shellscript"},
	{".json", "application/json"},
	{".ign", "application/vnd.coreos.ignition+json"},
	{".yaml", "application/yaml"},
	{".yml", "application/yaml"},
	{".html", "text/html"},
	{".xml", "application/xml"},
	{".iso", "application/x-iso9660-image"},
	{".efi", "application/efi"},
	{".img", "application/octet-stream"},
	{".gz", "application/gzip"},
	{".xz", "application/x-xz"},
	{".zst", "application/zstd"},
	{".tar", "application/x-tar"},
	{".squashfs", "application/octet-stream"},
};

const char *
pxed_content_type_for_path(const char *path)
{
	const char *base = strrchr(path, '/');
	const char *dot;

	base = base != NULL ? base + 1 : path;
	dot = strrchr(base, '.');
	if (dot == NULL)
		return "application/octet-stream";
	for (guint i = 0; i < G_N_ELEMENTS(content_types); i++) {
		if (g_ascii_strcasecmp(dot, content_types[i].ext) == 0)
			return content_types[i].type;
	}
	return "application/octet-stream";
}

/* ---- requests ---- */

struct _PxedFileRequest {
	PxedVia via;
	char *path;
	PxedClient *client;
	GHashTable *query;
};

PxedFileRequest *
pxed_file_request_new(PxedVia via, const char *path, PxedClient *client, GHashTable *query)
{
	PxedFileRequest *self = g_atomic_rc_box_new0(PxedFileRequest);
	self->via = via;
	self->path = g_strdup(path);
	self->client = client != NULL ? pxed_client_ref(client) : pxed_client_new();
	self->query = query != NULL ? g_hash_table_ref(query) : NULL;
	return self;
}

PxedFileRequest *
pxed_file_request_ref(PxedFileRequest *self)
{
	return g_atomic_rc_box_acquire(self);
}

/* Frees what @data holds; the reference count's box frees @data. */
static void
file_request_clear(gpointer data)
{
	PxedFileRequest *self = data;

	g_free(self->path);
	pxed_client_unref(self->client);
	g_clear_pointer(&self->query, g_hash_table_unref);
}

void
pxed_file_request_unref(PxedFileRequest *self)
{
	g_atomic_rc_box_release_full(self, file_request_clear);
}

const char *
pxed_file_request_get_path(PxedFileRequest *self)
{
	return self->path;
}

PxedVia
pxed_file_request_get_via(PxedFileRequest *self)
{
	return self->via;
}

PxedClient *
pxed_file_request_get_client(PxedFileRequest *self)
{
	return self->client;
}

const char *
pxed_file_request_get_query(PxedFileRequest *self, const char *key)
{
	return self->query != NULL ? g_hash_table_lookup(self->query, key) : NULL;
}

/* ---- path normalisation ---- */

char *
pxed_path_normalize(const char *path, gssize len, GError **error)
{
	GString *out;
	gsize n = len < 0 ? strlen(path) : (gsize)len;
	gsize i = 0;

	if (memchr(path, '\0', n) != NULL) {
		g_set_error_literal(error, PXED_ERROR, PXED_ERROR_DENIED,
				    "path contains a NUL byte");
		return NULL;
	}
	if (!g_utf8_validate(path, (gssize)n, NULL)) {
		g_set_error_literal(error, PXED_ERROR, PXED_ERROR_DENIED,
				    "path is not valid UTF-8");
		return NULL;
	}
	out = g_string_sized_new(n);
	while (i < n) {
		gsize start, seg_len;

		/* PXE ROMs and Windows-style clients send '\' separators. */
		while (i < n && (path[i] == '/' || path[i] == '\\'))
			i++;
		start = i;
		while (i < n && path[i] != '/' && path[i] != '\\') {
			if ((guchar)path[i] < 0x20 || path[i] == 0x7f) {
				g_string_free(out, TRUE);
				g_set_error_literal(error, PXED_ERROR, PXED_ERROR_DENIED,
						    "path contains a control character");
				return NULL;
			}
			i++;
		}
		seg_len = i - start;
		if (seg_len == 0 || (seg_len == 1 && path[start] == '.'))
			continue;
		if (seg_len == 2 && path[start] == '.' && path[start + 1] == '.') {
			g_string_free(out, TRUE);
			g_set_error_literal(error, PXED_ERROR, PXED_ERROR_DENIED,
					    "path contains a '..' part");
			return NULL;
		}
		if (out->len > 0)
			g_string_append_c(out, '/');
		g_string_append_len(out, path + start, (gssize)seg_len);
	}
	if (out->len == 0) {
		g_string_free(out, TRUE);
		g_set_error_literal(error, PXED_ERROR, PXED_ERROR_NOT_FOUND, "empty path");
		return NULL;
	}
	return g_string_free(out, FALSE);
}
