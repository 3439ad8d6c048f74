/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The http plugin's pure helpers: path decoding, Range, preconditions, identity. */
#include "pxed-http-replay.h"
#include "pxed-http-util.h"

#include <sys/socket.h>
#include <unistd.h>

static void
test_decode_path(void)
{
	static const struct {
		const char *raw;
		const char *decoded; /* NULL: refused with @code */
		int code;
	} cases[] = {
		{"/boot.ipxe", "/boot.ipxe", 0},
		{"/a%20b", "/a b", 0},
		{"/%2e%2e/secret", "/../secret", 0},	     /* decoded; the core refuses ".." */
		{"/%252e%252e/secret", "/%2e%2e/secret", 0}, /* once, never twice */
		{"/..%5csecret", "/..\\secret", 0},
		{"/%C3%A9t%C3%A9", "/\xc3\xa9t\xc3\xa9", 0},
		{"/a%2Fb", NULL, PXED_ERROR_DENIED},
		{"/a%2fb", NULL, PXED_ERROR_DENIED},
		{"/a%00b", NULL, PXED_ERROR_DENIED},
		{"/a%zzb", NULL, PXED_ERROR_INVALID},
		{"/a%2", NULL, PXED_ERROR_INVALID},
		{"/a%", NULL, PXED_ERROR_INVALID},
		{"", "", 0},
	};

	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(GError) error = NULL;
		g_autofree char *out = pxed_http_decode_path(cases[i].raw, &error);

		if (cases[i].decoded != NULL) {
			g_assert_no_error(error);
			g_assert_cmpstr(out, ==, cases[i].decoded);
		} else {
			g_assert_null(out);
			g_assert_error(error, PXED_ERROR, cases[i].code);
		}
	}
}

/* Decoding then the core's normalisation: every traversal form is refused. */
static void
test_decode_then_normalize(void)
{
	static const char *const refused[] = {
		"/%2e%2e/secret",   "/%2E%2E/secret", "/..%5csecret",	 "/a/%2e%2e/%2e%2e/secret",
		"/a%2f..%2fsecret", "/%00",	      "/..\\..\\secret", "/x/..",
	};

	for (guint i = 0; i < G_N_ELEMENTS(refused); i++) {
		g_autoptr(GError) error = NULL;
		g_autofree char *decoded = pxed_http_decode_path(refused[i], &error);
		g_autofree char *normal = NULL;

		if (decoded != NULL)
			normal = pxed_path_normalize(decoded, -1, &error);
		g_assert_null(normal);
		g_assert_error(error, PXED_ERROR, PXED_ERROR_DENIED);
	}
}

static void
test_range(void)
{
	static const struct {
		const char *header;
		guint64 size;
		PxedHttpRange result;
		guint64 start, end;
	} cases[] = {
		{NULL, 100, PXED_HTTP_RANGE_NONE, 0, 0},
		{"bytes=0-9", 100, PXED_HTTP_RANGE_SATISFIABLE, 0, 9},
		{"bytes=10-19", 100, PXED_HTTP_RANGE_SATISFIABLE, 10, 19},
		{"bytes=90-", 100, PXED_HTTP_RANGE_SATISFIABLE, 90, 99},
		{"bytes=90-1000", 100, PXED_HTTP_RANGE_SATISFIABLE, 90, 99},
		{"bytes=-10", 100, PXED_HTTP_RANGE_SATISFIABLE, 90, 99},
		{"bytes=-1000", 100, PXED_HTTP_RANGE_SATISFIABLE, 0, 99},
		{"BYTES = 0-0", 100, PXED_HTTP_RANGE_SATISFIABLE, 0, 0},
		{"bytes=99-99", 100, PXED_HTTP_RANGE_SATISFIABLE, 99, 99},
		{"bytes=100-", 100, PXED_HTTP_RANGE_UNSATISFIABLE, 0, 0},
		{"bytes=100-200", 100, PXED_HTTP_RANGE_UNSATISFIABLE, 0, 0},
		{"bytes=-0", 100, PXED_HTTP_RANGE_UNSATISFIABLE, 0, 0},
		{"bytes=0-", 0, PXED_HTTP_RANGE_UNSATISFIABLE, 0, 0},
		{"bytes=200-300,400-", 100, PXED_HTTP_RANGE_UNSATISFIABLE, 0, 0},
		{"bytes=0-1,5-6", 100, PXED_HTTP_RANGE_NONE, 0, 0}, /* multi: ignored */
		{"bytes=5-3", 100, PXED_HTTP_RANGE_NONE, 0, 0},	    /* invalid */
		{"bytes=a-3", 100, PXED_HTTP_RANGE_NONE, 0, 0},
		{"bytes=-", 100, PXED_HTTP_RANGE_NONE, 0, 0},
		{"bytes=", 100, PXED_HTTP_RANGE_NONE, 0, 0},
		{"bytes=1-2x", 100, PXED_HTTP_RANGE_NONE, 0, 0},
		{"items=0-9", 100, PXED_HTTP_RANGE_NONE, 0, 0},
		{"bytes=99999999999999999999-", 100, PXED_HTTP_RANGE_NONE, 0, 0},
		{"bytes=0-99999999999999999999", 100, PXED_HTTP_RANGE_NONE, 0, 0},
		{"bytes=0-18446744073709551615", 100, PXED_HTTP_RANGE_SATISFIABLE, 0, 99},
		{"bytes= 0-9 ,", 100, PXED_HTTP_RANGE_SATISFIABLE, 0, 9},
	};

	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		guint64 start = 0, end = 0;
		PxedHttpRange r =
			pxed_http_parse_range(cases[i].header, cases[i].size, &start, &end);

		g_test_message("Range: %s (size %" G_GUINT64_FORMAT ")", cases[i].header,
			       cases[i].size);
		g_assert_cmpint(r, ==, cases[i].result);
		if (r == PXED_HTTP_RANGE_SATISFIABLE) {
			g_assert_cmpuint(start, ==, cases[i].start);
			g_assert_cmpuint(end, ==, cases[i].end);
		}
	}
}

static void
test_etag(void)
{
	g_assert_true(pxed_http_etag_equal("\"a\"", "\"a\"", FALSE));
	g_assert_false(pxed_http_etag_equal("W/\"a\"", "\"a\"", FALSE));
	g_assert_true(pxed_http_etag_equal("W/\"a\"", "\"a\"", TRUE));
	g_assert_false(pxed_http_etag_equal("\"a\"", "\"b\"", TRUE));
	g_assert_false(pxed_http_etag_equal("a", "a", TRUE)); /* not an entity-tag */
}

static void
test_conditions(void)
{
	const char *etag = "\"abc\"";
	gint64 mtime = 1700000000; /* Tue, 14 Nov 2023 22:13:20 GMT */
	g_autofree char *date = pxed_http_format_date(mtime);
	g_autofree char *later = pxed_http_format_date(mtime + 60);
	g_autofree char *earlier = pxed_http_format_date(mtime - 60);
	static const PxedHttpPreconditions none = {0};
	PxedHttpPreconditions p;

	g_assert_cmpstr(date, ==, "Tue, 14 Nov 2023 22:13:20 GMT");
	g_assert_cmpint(pxed_http_parse_date(date), ==, mtime);
	g_assert_cmpint(pxed_http_parse_date("yesterday"), ==, -1);

	g_assert_cmpint(pxed_http_evaluate_conditions(&none, etag, mtime), ==,
			PXED_HTTP_CONDITION_PROCEED);

	p = none;
	p.if_none_match = "\"abc\"";
	g_assert_cmpint(pxed_http_evaluate_conditions(&p, etag, mtime), ==,
			PXED_HTTP_CONDITION_NOT_MODIFIED);
	p.if_none_match = "\"x\", W/\"abc\"";
	g_assert_cmpint(pxed_http_evaluate_conditions(&p, etag, mtime), ==,
			PXED_HTTP_CONDITION_NOT_MODIFIED);
	p.if_none_match = "*";
	g_assert_cmpint(pxed_http_evaluate_conditions(&p, etag, mtime), ==,
			PXED_HTTP_CONDITION_NOT_MODIFIED);
	p.if_none_match = "\"x\"";
	/* §13.1.3: If-Modified-Since is ignored when If-None-Match is present */
	p.if_modified_since = later;
	g_assert_cmpint(pxed_http_evaluate_conditions(&p, etag, mtime), ==,
			PXED_HTTP_CONDITION_PROCEED);

	p = none;
	p.if_modified_since = date;
	g_assert_cmpint(pxed_http_evaluate_conditions(&p, etag, mtime), ==,
			PXED_HTTP_CONDITION_NOT_MODIFIED);
	p.if_modified_since = earlier;
	g_assert_cmpint(pxed_http_evaluate_conditions(&p, etag, mtime), ==,
			PXED_HTTP_CONDITION_PROCEED);
	p.if_modified_since = "garbage";
	g_assert_cmpint(pxed_http_evaluate_conditions(&p, etag, mtime), ==,
			PXED_HTTP_CONDITION_PROCEED);

	p = none;
	p.if_match = "\"abc\"";
	g_assert_cmpint(pxed_http_evaluate_conditions(&p, etag, mtime), ==,
			PXED_HTTP_CONDITION_PROCEED);
	p.if_match = "W/\"abc\""; /* strong comparison: a weak tag never matches */
	g_assert_cmpint(pxed_http_evaluate_conditions(&p, etag, mtime), ==,
			PXED_HTTP_CONDITION_PRECONDITION_FAILED);
	p.if_match = "\"nope\"";
	g_assert_cmpint(pxed_http_evaluate_conditions(&p, etag, mtime), ==,
			PXED_HTTP_CONDITION_PRECONDITION_FAILED);

	p = none;
	p.if_unmodified_since = earlier;
	g_assert_cmpint(pxed_http_evaluate_conditions(&p, etag, mtime), ==,
			PXED_HTTP_CONDITION_PRECONDITION_FAILED);
	p.if_unmodified_since = date;
	g_assert_cmpint(pxed_http_evaluate_conditions(&p, etag, mtime), ==,
			PXED_HTTP_CONDITION_PROCEED);

	g_assert_true(pxed_http_if_range_matches(NULL, etag, mtime));
	g_assert_true(pxed_http_if_range_matches("\"abc\"", etag, mtime));
	g_assert_false(pxed_http_if_range_matches("W/\"abc\"", etag, mtime));
	g_assert_false(pxed_http_if_range_matches("\"old\"", etag, mtime));
	g_assert_true(pxed_http_if_range_matches(date, etag, mtime));
	g_assert_false(pxed_http_if_range_matches(later, etag, mtime));
}

static GHashTable *
query_new(const char *first_key, ...)
{
	GHashTable *q = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	va_list args;

	va_start(args, first_key);
	for (const char *k = first_key; k != NULL; k = va_arg(args, const char *))
		g_hash_table_insert(q, g_strdup(k), g_strdup(va_arg(args, const char *)));
	va_end(args);
	return q;
}

static void
test_client_from_query(void)
{
	g_autoptr(GInetAddress) peer = g_inet_address_new_from_string("127.0.0.1");
	g_autoptr(GHashTable) q =
		query_new("mac", "52:54:00:12:34:56", "uuid",
			  "4c4c4544-0042-3510-8052-b4c04f384d31", "platform", "efi", "buildarch",
			  "x86_64", "hostname", "node1", "serial", "SN123", "asset", "A-7", NULL);
	g_autoptr(PxedClient) c = pxed_http_client_from_query(q, peer);
	g_autoptr(GHashTable) q2 =
		query_new("mac", "not-a-mac", "arch", "11", "serial", "bad\x01value", NULL);
	g_autoptr(PxedClient) c2 = pxed_http_client_from_query(q2, peer);
	g_autoptr(GHashTable) q3 = query_new("platform", "pcbios", "buildarch", "i386", NULL);
	g_autoptr(PxedClient) c3 = pxed_http_client_from_query(q3, NULL);
	g_autoptr(PxedClient) c4 = pxed_http_client_from_query(NULL, peer);

	g_assert_cmpstr(pxed_client_get_mac_string(c), ==, "52:54:00:12:34:56");
	g_assert_cmpstr(pxed_client_get_uuid_string(c), ==, "4c4c4544-0042-3510-8052-b4c04f384d31");
	g_assert_cmpint(pxed_client_get_arch(c), ==, PXED_ARCH_EFI_X64);
	g_assert_cmpstr(pxed_client_get_hostname(c), ==, "node1");
	g_assert_cmpstr(pxed_client_get_attribute(c, "serial"), ==, "SN123");
	g_assert_cmpstr(pxed_client_get_attribute(c, "asset"), ==, "A-7");
	g_assert_cmpstr(pxed_client_get_attribute(c, "platform"), ==, "efi");
	g_assert_cmpint(pxed_client_get_via(c), ==, PXED_VIA_HTTP);
	g_assert_cmpstr(pxed_client_get_key(c), ==, "52:54:00:12:34:56");

	/* a bad self-description is ignored, never fatal */
	g_assert_null(pxed_client_get_mac_string(c2));
	g_assert_cmpint(pxed_client_get_arch(c2), ==, PXED_ARCH_EFI_ARM64);
	g_assert_null(pxed_client_get_attribute(c2, "serial"));
	g_assert_cmpstr(pxed_client_get_key(c2), ==, "127.0.0.1");

	g_assert_cmpint(pxed_client_get_arch(c3), ==, PXED_ARCH_BIOS);
	g_assert_cmpint(pxed_client_get_arch(c4), ==, PXED_ARCH_UNKNOWN);
	g_assert_cmpstr(pxed_client_get_key(c4), ==, "127.0.0.1");
}

static void
test_status_for_error(void)
{
	g_autoptr(GError) nf = g_error_new_literal(PXED_ERROR, PXED_ERROR_NOT_FOUND, "x");
	g_autoptr(GError) de = g_error_new_literal(PXED_ERROR, PXED_ERROR_DENIED, "x");
	g_autoptr(GError) in = g_error_new_literal(PXED_ERROR, PXED_ERROR_INVALID, "x");
	g_autoptr(GError) fa = g_error_new_literal(PXED_ERROR, PXED_ERROR_FAILED, "x");
	g_autoptr(GError) io = g_error_new_literal(G_IO_ERROR, G_IO_ERROR_BROKEN_PIPE, "x");

	g_assert_cmpuint(pxed_http_status_for_error(nf), ==, 404);
	g_assert_cmpuint(pxed_http_status_for_error(de), ==, 403);
	g_assert_cmpuint(pxed_http_status_for_error(in), ==, 400);
	g_assert_cmpuint(pxed_http_status_for_error(fa), ==, 500);
	g_assert_cmpuint(pxed_http_status_for_error(io), ==, 500);
	g_assert_cmpuint(pxed_http_status_for_error(NULL), ==, 500);
}

/* A connected socket pair: the connection under test, and its peer's fd. */
static GIOStream *
socket_pair(int *peer)
{
	int fds[2];
	g_autoptr(GError) error = NULL;
	g_autoptr(GSocket) socket = NULL;

	g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), ==, 0);
	socket = g_socket_new_from_fd(fds[0], &error);
	g_assert_no_error(error);
	*peer = fds[1];
	return G_IO_STREAM(g_socket_connection_factory_create_connection(socket));
}

static GString *
read_available(GIOStream *stream)
{
	GString *got = g_string_new(NULL);
	GPollableInputStream *in = G_POLLABLE_INPUT_STREAM(g_io_stream_get_input_stream(stream));

	for (;;) {
		char buf[2]; /* small: the prefix is read across calls */
		g_autoptr(GError) error = NULL;
		gssize n = g_pollable_input_stream_read_nonblocking(in, buf, sizeof(buf), NULL,
								    &error);
		if (n < 0) {
			g_assert_error(error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK);
			break;
		}
		g_assert_cmpint(n, >, 0);
		g_string_append_len(got, buf, n);
	}
	return got;
}

static gboolean
note_ready(GObject *stream, gpointer data)
{
	*(gboolean *)data = TRUE;
	return G_SOURCE_REMOVE;
}

/* Bytes read ahead come first, then the connection's; a source says readable
 * while they last; closing closes the connection, dropping does not. */
static void
test_replay(void)
{
	int peer = -1;
	g_autoptr(GIOStream) base = socket_pair(&peer);
	g_autoptr(GBytes) prefix = g_bytes_new_static("GET /a", 6);
	g_autoptr(GIOStream) replay = pxed_http_replay_stream_new(base, prefix);
	GPollableInputStream *in = G_POLLABLE_INPUT_STREAM(g_io_stream_get_input_stream(replay));
	gboolean ready = FALSE;
	GIOStream *inner = NULL;

	g_assert_true(g_pollable_input_stream_can_poll(in));
	g_assert_true(g_pollable_input_stream_is_readable(in));
	{
		g_autoptr(GSource) source = g_pollable_input_stream_create_source(in, NULL);
		g_source_set_callback(source, G_SOURCE_FUNC(note_ready), &ready, NULL);
		g_source_attach(source, NULL);
		while (!ready)
			g_main_context_iteration(NULL, TRUE);
		g_source_destroy(source);
	}
	g_assert_cmpint(write(peer, " HTTP", 5), ==, 5);
	{
		g_autoptr(GString) got = read_available(replay);
		g_assert_cmpstr(got->str, ==, "GET /a HTTP");
	}
	g_object_get(replay, "base-iostream", &inner, NULL);
	g_assert_true(inner == base);
	g_object_unref(inner);

	/* a second wrapper over what was read ahead of the first */
	g_assert_cmpint(write(peer, "/1.1", 4), ==, 4);
	{
		g_autoptr(GIOStream) again = pxed_http_replay_stream_new(replay, prefix);
		g_autoptr(GBytes) all = pxed_http_take_read_ahead(again);
		g_assert_nonnull(all);
		g_assert_cmpmem(g_bytes_get_data(all, NULL), g_bytes_get_size(all), "GET /a/1.1",
				10);
		g_assert_null(pxed_http_take_read_ahead(again)); /* nothing more */
	}
	/* dropped without closing: the connection stays open */
	g_assert_false(g_io_stream_is_closed(base));
	g_assert_true(g_io_stream_close(replay, NULL, NULL));
	g_assert_true(g_io_stream_is_closed(base));
	close(peer);
}

static void
closed_async(GObject *stream, GAsyncResult *result, gpointer data)
{
	g_autoptr(GError) error = NULL;
	g_assert_true(g_io_stream_close_finish(G_IO_STREAM(stream), result, &error));
	g_assert_no_error(error);
	*(gboolean *)data = TRUE;
}

/* Closed asynchronously (as a wrapper above it may close it), the connection
 * closes too. */
static void
test_replay_close_async(void)
{
	int peer = -1;
	g_autoptr(GIOStream) base = socket_pair(&peer);
	g_autoptr(GBytes) prefix = g_bytes_new_static("x", 1);
	g_autoptr(GIOStream) replay = pxed_http_replay_stream_new(base, prefix);
	gboolean done = FALSE;

	g_io_stream_close_async(replay, G_PRIORITY_DEFAULT, NULL, closed_async, &done);
	while (!done)
		g_main_context_iteration(NULL, TRUE);
	g_assert_true(g_io_stream_is_closed(base));
	close(peer);
}

/* One line per interval, then the count of the hits in between. */
static void
test_rate_limit(void)
{
	PxedHttpRateLimit limit = {0};
	guint64 held = 99;

	/* the first hit is logged at once, whatever the clock says */
	g_assert_true(pxed_http_rate_limit_pass(&limit, 5, 1000, &held));
	g_assert_cmpuint(held, ==, 0);
	for (gint64 t = 6; t < 1005; t += 100)
		g_assert_false(pxed_http_rate_limit_pass(&limit, t, 1000, &held));
	g_assert_true(pxed_http_rate_limit_pass(&limit, 1005, 1000, &held));
	g_assert_cmpuint(held, ==, 10);
	g_assert_false(pxed_http_rate_limit_pass(&limit, 2004, 1000, &held));
	g_assert_true(pxed_http_rate_limit_pass(&limit, 5000, 1000, &held));
	g_assert_cmpuint(held, ==, 1);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/http/util/decode-path", test_decode_path);
	g_test_add_func("/http/util/decode-then-normalize", test_decode_then_normalize);
	g_test_add_func("/http/util/range", test_range);
	g_test_add_func("/http/util/etag", test_etag);
	g_test_add_func("/http/util/conditions", test_conditions);
	g_test_add_func("/http/util/client-from-query", test_client_from_query);
	g_test_add_func("/http/util/status-for-error", test_status_for_error);
	g_test_add_func("/http/util/replay", test_replay);
	g_test_add_func("/http/util/replay-close-async", test_replay_close_async);
	g_test_add_func("/http/util/rate-limit", test_rate_limit);
	return g_test_run();
}
