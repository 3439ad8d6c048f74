/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The http plugin's responses: a file's status and headers (Last-Modified,
 * ETag, conditional requests, single byte ranges, always a Content-Length),
 * and its body on one of three paths. Rendered files are in memory and leave
 * corked with their head. Descriptor-backed files go out with sendfile(2)
 * over plain HTTP (http-sendfile.c); over TLS, below PXED_HTTP_SENDFILE_MIN
 * and with `sendfile=false`, they are fed to libsoup one CHUNK_SIZE piece at
 * a time from ::wrote-chunk, so at most one chunk per connection is in memory.
 */
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include "http-private.h"
#include "http-response.h"
#include "http-sendfile.h"

#define CHUNK_SIZE (256 * 1024)

void
pxed_http_respond_status(SoupServerMessage *msg, guint status)
{
	PxedHttpRequest *req = pxed_http_request_get(msg);
	const char *phrase = soup_status_get_phrase(status);
	g_autofree char *body = g_strdup_printf("%u %s\n", status, phrase);
	gsize len = strlen(body);

	soup_server_message_set_status(msg, status, NULL);
	soup_server_message_set_response(msg, "text/plain; charset=utf-8", SOUP_MEMORY_TAKE,
					 g_steal_pointer(&body), len);
	if (req != NULL)
		req->status = status;
}

/* RFC 9112 §9.3: HTTP/1.1 persists unless either side says "close"; HTTP/1.0
 * only when the client asked for keep-alive, which we then confirm (§C.2.2). */
gboolean
pxed_http_message_keepalive(PxedHttp *self, SoupServerMessage *msg)
{
	SoupMessageHeaders *request_headers = soup_server_message_get_request_headers(msg);
	SoupMessageHeaders *response_headers = soup_server_message_get_response_headers(msg);

	if (self->stopping ||
	    soup_message_headers_header_contains(request_headers, "Connection", "close") ||
	    soup_message_headers_header_contains(response_headers, "Connection", "close"))
		return FALSE;
	if (soup_server_message_get_http_version(msg) == SOUP_HTTP_1_0)
		return soup_message_headers_header_contains(request_headers, "Connection",
							    "keep-alive");
	return TRUE;
}

/* Ends a body that cannot be finished (the file went away under us): the
 * status line is already out, so the only honest signal left is to close the
 * connection before Content-Length is reached (RFC 9112 §6.3). */
static void
message_abort(SoupServerMessage *msg)
{
	g_autoptr(GIOStream) stream = NULL;

	g_object_ref(msg);
	stream = soup_server_message_steal_connection(msg);
	if (stream != NULL)
		g_io_stream_close(stream, NULL, NULL);
	g_object_unref(msg);
}

/* ::wrote-chunk: feeds libsoup the next piece of the file. */
static gboolean
request_append_chunk(PxedHttpRequest *req)
{
	SoupMessageBody *body = soup_server_message_get_response_body(req->msg);
	gsize want = (gsize)MIN((guint64)CHUNK_SIZE, req->remaining);
	g_autofree guint8 *buf = NULL;
	g_autoptr(GError) error = NULL;
	gssize got;

	if (want == 0) {
		soup_message_body_complete(body);
		return TRUE;
	}
	buf = g_malloc(want);
	got = pxed_file_read_at(req->file, req->offset, buf, want, &error);
	if (got <= 0) {
		g_warning("%s: reading at %" G_GUINT64_FORMAT ": %s", req->path, req->offset,
			  error != NULL ? error->message : "the file shrank");
		return FALSE;
	}
	req->offset += (guint64)got;
	req->remaining -= (guint64)got;
	soup_message_body_append_take(body, g_steal_pointer(&buf), (gsize)got);
	if (req->remaining == 0)
		soup_message_body_complete(body);
	return TRUE;
}

static void
on_wrote_chunk(SoupServerMessage *msg, PxedHttpRequest *req)
{
	if (req->remaining == 0)
		return;
	if (!request_append_chunk(req)) {
		pxed_http_request_log(req, FALSE);
		message_abort(msg);
	}
}

static void
on_wrote_body_data(SoupServerMessage *msg, guint chunk_size, PxedHttpRequest *req)
{
	req->sent += chunk_size;
}

/* libsoup writes the head and a small body with two send()s; corked, they
 * leave as one segment: half the per-response work in both kernels (nginx
 * does the same with writev or TCP_NOPUSH). */
static void
cork(PxedHttpRequest *req, SoupServerMessage *msg)
{
	GSocket *socket = soup_server_message_get_socket(msg);
	int on = 1;

	if (socket == NULL || req->corked >= 0)
		return;
	if (setsockopt(g_socket_get_fd(socket), IPPROTO_TCP, TCP_CORK, &on, sizeof(on)) == 0)
		req->corked = g_socket_get_fd(socket);
}

void
pxed_http_uncork(PxedHttpRequest *req)
{
	int off = 0;

	req->sent += req->in_memory;
	req->in_memory = 0;
	if (req->corked < 0)
		return;
	(void)setsockopt(req->corked, IPPROTO_TCP, TCP_CORK, &off, sizeof(off));
	req->corked = -1;
}

static void
on_wrote_body_uncork(SoupServerMessage *msg, PxedHttpRequest *req)
{
	pxed_http_uncork(req);
}

static const char *
http_date(PxedHttp *self, gint64 seconds)
{
	if (self->date_text == NULL || self->date_seconds != seconds) {
		g_free(self->date_text);
		self->date_text = pxed_http_format_date(seconds);
		self->date_seconds = seconds;
	}
	return self->date_text;
}

void
pxed_http_respond_file(PxedHttp *self, SoupServerMessage *msg, PxedHttpRequest *req, PxedFile *file)
{
	SoupMessageHeaders *request_headers = soup_server_message_get_request_headers(msg);
	SoupMessageHeaders *response_headers = soup_server_message_get_response_headers(msg);
	gboolean is_get = soup_server_message_get_method(msg) == SOUP_METHOD_GET;
	guint64 size = pxed_file_get_size(file);
	gint64 mtime = pxed_file_get_mtime(file);
	const char *etag = pxed_file_get_etag(file);
	const char *last_modified = http_date(self, mtime);
	PxedHttpPreconditions pre = {
		.if_match = soup_message_headers_get_one(request_headers, "If-Match"),
		.if_unmodified_since =
			soup_message_headers_get_one(request_headers, "If-Unmodified-Since"),
		.if_none_match = soup_message_headers_get_list(request_headers, "If-None-Match"),
		.if_modified_since =
			soup_message_headers_get_one(request_headers, "If-Modified-Since"),
	};
	guint64 start = 0, end = size > 0 ? size - 1 : 0, length = size;
	guint status = SOUP_STATUS_OK;
	GBytes *bytes;

	/* libsoup must not apply Range on its own (it would, on a complete
	 * in-memory 200 body): the body is never accumulated. */
	soup_message_body_set_accumulate(soup_server_message_get_response_body(msg), FALSE);

	/* RFC 9110 §8.8.2, §8.8.3, §14.3: validators and range support on 200,
	 * 206 and 304 alike. */
	soup_message_headers_replace(response_headers, "Last-Modified", last_modified);
	if (etag != NULL)
		soup_message_headers_replace(response_headers, "ETag", etag);
	soup_message_headers_replace(response_headers, "Accept-Ranges", "bytes");

	switch (pxed_http_evaluate_conditions(&pre, etag != NULL ? etag : "", mtime)) {
	case PXED_HTTP_CONDITION_NOT_MODIFIED:
		/* RFC 9110 §15.4.5: no content; a Content-Length, if any, must be
		 * the one a 200 would carry (§8.6) — never libsoup's default 0. */
		soup_server_message_set_status(msg, SOUP_STATUS_NOT_MODIFIED, NULL);
		soup_message_headers_set_content_length(response_headers, (goffset)size);
		req->status = SOUP_STATUS_NOT_MODIFIED;
		return;
	case PXED_HTTP_CONDITION_PRECONDITION_FAILED:
		pxed_http_respond_status(msg, SOUP_STATUS_PRECONDITION_FAILED);
		return;
	case PXED_HTTP_CONDITION_PROCEED:
		break;
	}

	/* RFC 9110 §14.2: Range applies to GET only, and only if If-Range (when
	 * present) still matches the representation. */
	if (is_get &&
	    pxed_http_if_range_matches(soup_message_headers_get_one(request_headers, "If-Range"),
				       etag != NULL ? etag : "", mtime)) {
		switch (pxed_http_parse_range(
			soup_message_headers_get_one(request_headers, "Range"), size, &start,
			&end)) {
		case PXED_HTTP_RANGE_SATISFIABLE:
			status = SOUP_STATUS_PARTIAL_CONTENT;
			length = end - start + 1;
			/* §14.4: Content-Range: bytes first-last/complete-length */
			soup_message_headers_set_content_range(response_headers, (goffset)start,
							       (goffset)end, (goffset)size);
			break;
		case PXED_HTTP_RANGE_UNSATISFIABLE: {
			/* §15.5.17: 416 with Content-Range: bytes * / length */
			g_autofree char *cr = g_strdup_printf("bytes */%" G_GUINT64_FORMAT, size);
			pxed_http_respond_status(msg, SOUP_STATUS_REQUESTED_RANGE_NOT_SATISFIABLE);
			soup_message_headers_replace(response_headers, "Content-Range", cr);
			return;
		}
		case PXED_HTTP_RANGE_NONE:
			start = 0;
			break;
		}
	}

	soup_server_message_set_status(msg, status, NULL);
	req->status = status;
	soup_message_headers_set_content_type(response_headers, pxed_file_get_content_type(file),
					      NULL);
	/* Always a Content-Length (RFC 9110 §8.6): iPXE is much slower on bodies
	 * of unknown length. For HEAD it announces what GET would send. */
	soup_message_headers_set_content_length(response_headers, (goffset)length);
	if (!is_get || length == 0)
		return;

	req->file = pxed_file_ref(file);
	req->offset = start;
	req->remaining = length;
	req->keepalive = pxed_http_message_keepalive(self, msg);

	bytes = pxed_file_get_bytes(file);
	if (bytes != NULL) {
		g_autoptr(GBytes) part = g_bytes_new_from_bytes(bytes, (gsize)start, (gsize)length);
		SoupMessageBody *body = soup_server_message_get_response_body(msg);

		soup_message_body_append_bytes(body, part);
		soup_message_body_complete(body);
		req->remaining = 0;
		/* one write for head and body; counted once written (::wrote-body) */
		req->in_memory = length;
		cork(req, msg);
		/* (with the libsoup work-arounds on, their ::wrote-body uncorks) */
		if (!self->hand_back_idle)
			g_signal_connect(msg, "wrote-body", G_CALLBACK(on_wrote_body_uncork), req);
		return;
	}
	g_signal_connect(msg, "wrote-body-data", G_CALLBACK(on_wrote_body_data), req);
	if (self->use_sendfile && self->tls_certificate == NULL && pxed_file_get_fd(file) >= 0 &&
	    length >= PXED_HTTP_SENDFILE_MIN) {
		pxed_http_sendfile_body(msg, req);
		return;
	}
	/* Advise the kernel of a sequential read: readahead keeps the pread()s
	 * below from waiting on the disk. */
	(void)posix_fadvise(pxed_file_get_fd(file), (off_t)start, (off_t)length,
			    POSIX_FADV_SEQUENTIAL);
	g_signal_connect(msg, "wrote-chunk", G_CALLBACK(on_wrote_chunk), req);
	if (!request_append_chunk(req))
		pxed_http_respond_status(msg, SOUP_STATUS_INTERNAL_SERVER_ERROR);
}
