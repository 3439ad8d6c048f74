/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Connections taken from libsoup keep what libsoup had read ahead.
 *
 * The http plugin takes connections from the SoupServer (for sendfile(2), and
 * to work around libsoup 3.2's idle-connection leak) and hands them back for
 * the next request. libsoup reads a connection through a buffer: requests a
 * client pipelined behind the current one are already in it, and would be
 * lost with the buffer. pxed_http_take_read_ahead() collects them from the
 * stolen stream; pxed_http_replay_stream_new() gives them back, first, to
 * whoever reads the connection next.
 */

#include <gio/gio.h>

G_BEGIN_DECLS

/* Enough for the requests a client pipelines; what is past it stays on the
 * socket (libsoup itself buffers 8 KiB at most). */
#define PXED_HTTP_READ_AHEAD_MAX (64 * 1024)

/**
 * pxed_http_take_read_ahead:
 * @stolen: a stream soup_server_message_steal_connection() returned
 *
 * Reads, without blocking, what @stolen's input has buffered (all of it) and
 * what waits on the connection (up to %PXED_HTTP_READ_AHEAD_MAX bytes in all).
 *
 * Returns: (transfer full) (nullable): the bytes, or %NULL if there were none
 */
GBytes *pxed_http_take_read_ahead(GIOStream *stolen);

/**
 * pxed_http_stream_unwrap:
 * @stream: a stream soup_server_message_steal_connection() returned
 *
 * The connection under libsoup's wrappers (and pxed's replay stream): the
 * GSocketConnection, or the GTlsConnection over it.
 *
 * Returns: (transfer full) (nullable): the connection
 */
GIOStream *pxed_http_stream_unwrap(GIOStream *stream);

#define PXED_TYPE_HTTP_REPLAY_STREAM (pxed_http_replay_stream_get_type())
G_DECLARE_FINAL_TYPE(PxedHttpReplayStream, pxed_http_replay_stream, PXED, HTTP_REPLAY_STREAM,
		     GIOStream)

/**
 * pxed_http_replay_stream_new:
 * @base: the connection
 * @prefix: bytes read from @base earlier, returned first by the input stream
 *
 * A stream over @base whose input returns @prefix, then what @base reads.
 * Closing it closes @base; dropping the last reference does not (as libsoup's
 * own wrappers, so that a connection can be taken through it). Its
 * "base-iostream" property is @base.
 *
 * Returns: (transfer full): the stream
 */
GIOStream *pxed_http_replay_stream_new(GIOStream *base, GBytes *prefix);

G_END_DECLS
