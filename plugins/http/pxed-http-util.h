/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Pure HTTP helpers of the http plugin: no sockets, no main loop, so that unit
 * tests and the fuzz target tests/fuzz/fuzz-http.c call them directly with
 * crafted input.
 */

#include <pxed/pxed.h>

G_BEGIN_DECLS

/**
 * pxed_http_decode_path:
 * @raw: the request target's path exactly as it arrived, percent-encoded
 *
 * Percent-decodes @raw exactly once (RFC 3986 §2.1). A decoded '/' (%2F) or NUL
 * (%00) is refused with PXED_ERROR_DENIED: either would let an encoded byte act
 * as structure after decoding. A malformed escape is PXED_ERROR_INVALID.
 *
 * Returns: (transfer full): the decoded path (possibly not valid UTF-8: the core's
 *   pxed_path_normalize() judges that), or %NULL
 */
char *pxed_http_decode_path(const char *raw, GError **error);

typedef enum {
	PXED_HTTP_RANGE_NONE,	       /* no usable Range: send the whole representation */
	PXED_HTTP_RANGE_SATISFIABLE,   /* one range, in [*start, *end] (inclusive) */
	PXED_HTTP_RANGE_UNSATISFIABLE, /* 416 */
} PxedHttpRange;

/**
 * pxed_http_parse_range:
 * @header: (nullable): the Range field value
 * @size: the selected representation's length
 *
 * RFC 9110 §14.1.2 byte ranges, as a server that serves single ranges only.
 */
PxedHttpRange pxed_http_parse_range(const char *header, guint64 size, guint64 *start, guint64 *end);

typedef enum {
	PXED_HTTP_CONDITION_PROCEED,
	PXED_HTTP_CONDITION_NOT_MODIFIED,	 /* 304 */
	PXED_HTTP_CONDITION_PRECONDITION_FAILED, /* 412 */
} PxedHttpCondition;

/* The request's precondition fields; %NULL when absent. */
typedef struct {
	const char *if_match;
	const char *if_unmodified_since;
	const char *if_none_match;
	const char *if_modified_since;
} PxedHttpPreconditions;

/**
 * pxed_http_evaluate_conditions:
 * @etag: the current entity tag (quoted, strong)
 * @mtime: the last modification, seconds since the epoch
 *
 * RFC 9110 §13.2.2: If-Match, If-Unmodified-Since, If-None-Match and
 * If-Modified-Since, in that order, for a GET or HEAD request.
 */
PxedHttpCondition pxed_http_evaluate_conditions(const PxedHttpPreconditions *pre, const char *etag,
						gint64 mtime);

/* RFC 9110 §13.1.5: does If-Range let the Range apply? %TRUE when absent. */
gboolean pxed_http_if_range_matches(const char *if_range, const char *etag, gint64 mtime);

/* RFC 9110 §8.8.3.2: strong (@weak %FALSE) or weak comparison of two entity tags. */
gboolean pxed_http_etag_equal(const char *a, const char *b, gboolean weak);

/* RFC 9110 §5.6.7: an IMF-fixdate (or obsolete form) to seconds; -1 when invalid. */
gint64 pxed_http_parse_date(const char *text);
/* RFC 9110 §5.6.7: seconds since the epoch as an IMF-fixdate. */
char *pxed_http_format_date(gint64 seconds);

/**
 * pxed_http_client_from_query:
 * @query: (nullable) (element-type utf8 utf8): decoded query parameters
 * @peer: (nullable): the peer's address
 *
 * The client as iPXE describes itself in a boot URL's query: `mac`, `uuid`,
 * `arch` (a number or an architecture name), `buildarch`, `platform`,
 * `hostname`, `serial`, `asset`. Malformed values are ignored (and logged at
 * debug level): a client's self-description never fails a request.
 */
PxedClient *pxed_http_client_from_query(GHashTable *query, GInetAddress *peer);

/* PXED_ERROR codes onto HTTP status codes (RFC 9110 §15). */
guint pxed_http_status_for_error(const GError *error);

/* A limit that a flood hits thousands of times a second must not flood the
 * log as well: one line per interval, saying how many were held back. */
typedef struct {
	gint64 next_us;	   /* monotonic: when the next line may go out; 0: at once */
	guint64 held_back; /* hits not logged since the last line */
} PxedHttpRateLimit;

/**
 * pxed_http_rate_limit_pass:
 * @limit: the limit's state, zero-initialized
 * @now_us: the monotonic time
 * @interval_us: the least time between two lines
 * @held_back: (out): hits not logged since the last line
 *
 * Returns: %TRUE when a line may be logged now
 */
gboolean pxed_http_rate_limit_pass(PxedHttpRateLimit *limit, gint64 now_us, gint64 interval_us,
				   guint64 *held_back);

G_END_DECLS
