/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The http plugin against real clients: the build tree's daemon on loopback
 * port 0 serving a static root, driven by curl and by raw sockets.
 */
#include <errno.h>
#include <signal.h>
#include <glib/gstdio.h>
#include <gio/gio.h>

#include "pxed-test.h"

#define BIG_SIZE      (40 * 1024 * 1024)
#define MID_SIZE      (2 * 1024 * 1024)
#define PARALLEL      100
#define CURL_MAX_TIME "60"

/* The files every daemon of this run serves, made once. */
static char *shared_dir;
static char *shared_root;

typedef struct {
	PxedTestDaemon *daemon;
	char *work; /* scratch folder for curl's output */
	char *base; /* http://127.0.0.1:PORT */
	guint16 port;
} Fixture;

/* Deterministic bytes that no compressor or page-dedup will flatter. */
static void
write_pattern_file(const char *path, gsize size)
{
	g_autofree guint8 *buf = g_malloc(size);
	guint32 x = 2463534242u;

	for (gsize i = 0; i < size; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		buf[i] = (guint8)x;
	}
	g_assert_true(g_file_set_contents(path, (const char *)buf, (gssize)size, NULL));
}

static void
shared_files_make(void)
{
	g_autofree char *big = NULL;
	g_autofree char *mid = NULL;

	shared_dir = pxed_test_tmpdir_new();
	shared_root = g_build_filename(shared_dir, "root", NULL);
	g_assert_cmpint(g_mkdir_with_parents(shared_root, 0755), ==, 0);
	big = g_build_filename(shared_root, "big.img", NULL);
	mid = g_build_filename(shared_root, "mid.img", NULL);
	write_pattern_file(big, BIG_SIZE);
	write_pattern_file(mid, MID_SIZE);
	pxed_test_write_file(shared_root, "boot.ipxe", "#!ipxe\nchain http://x/next\n");
	pxed_test_write_file(shared_root, "small.txt", "0123456789abcdefghijklmnopqrstuvwxyz\n");
	pxed_test_write_file(shared_root, "%2e%2e", "a file literally named %2e%2e\n");
	/* outside the root: no request may ever return it */
	pxed_test_write_file(shared_dir, "secret", "TOP-SECRET\n");
}

static void
fixture_setup(Fixture *f, gconstpointer data)
{
	const char *extra = data != NULL ? data : "";
	g_autoptr(GError) error = NULL;
	g_autofree char *conf = g_strdup_printf("[http]\nlisten=127.0.0.1:0\n%s\n"
						"[static]\nroot=%s\n"
						"[pipeline]\nhttp=static\n",
						extra, shared_root);

	f->daemon = pxed_test_daemon_start(conf, NULL, &error);
	g_assert_no_error(error);
	f->port = pxed_test_daemon_get_port(f->daemon, "http");
	g_assert_cmpuint(f->port, !=, 0);
	f->base = g_strdup_printf("http://127.0.0.1:%u", f->port);
	f->work = pxed_test_tmpdir_new();
}

static void
fixture_teardown(Fixture *f, gconstpointer data)
{
	int status = pxed_test_daemon_stop(f->daemon);
	g_assert_true(WIFEXITED(status));
	g_assert_cmpint(WEXITSTATUS(status), ==, 0);
	pxed_test_tmpdir_free(f->work);
	g_free(f->base);
}

typedef struct {
	int code;
	char *headers; /* of the last response */
	char *body;    /* path of the saved body */
} Reply;

static void
reply_clear(Reply *r)
{
	g_free(r->headers);
	g_free(r->body);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(Reply, reply_clear)

/* curl one URL (@path relative to the daemon unless it has a scheme). */
static void
fetch(Fixture *f, const char *path, const char *const *args, Reply *r)
{
	static guint serial;
	g_autofree char *url = strstr(path, "://") != NULL ? g_strdup(path)
							   : g_strdup_printf("%s%s", f->base, path);
	g_autofree char *hdr = g_strdup_printf("%s/h%u", f->work, serial);
	g_autoptr(GPtrArray) argv = g_ptr_array_new();
	g_autoptr(GBytes) out = NULL;
	g_autofree char *err = NULL;
	g_autoptr(GError) error = NULL;
	int status = -1;

	r->body = g_strdup_printf("%s/b%u", f->work, serial++);
	g_ptr_array_add(argv, (gpointer) "curl");
	g_ptr_array_add(argv, (gpointer) "-sS");
	g_ptr_array_add(argv, (gpointer) "--path-as-is");
	g_ptr_array_add(argv, (gpointer) "--max-time");
	g_ptr_array_add(argv, (gpointer)CURL_MAX_TIME);
	g_ptr_array_add(argv, (gpointer) "-D");
	g_ptr_array_add(argv, hdr);
	g_ptr_array_add(argv, (gpointer) "-o");
	g_ptr_array_add(argv, r->body);
	g_ptr_array_add(argv, (gpointer) "-w");
	g_ptr_array_add(argv, (gpointer) "%{http_code}");
	for (guint i = 0; args != NULL && args[i] != NULL; i++)
		g_ptr_array_add(argv, (gpointer)args[i]);
	g_ptr_array_add(argv, url);
	g_ptr_array_add(argv, NULL);
	g_assert_true(pxed_test_run((const char *const *)argv->pdata, &out, &err, &status, &error));
	g_assert_no_error(error);
	if (status != 0)
		g_test_message("curl %s: exit %d: %s", url, status, err);
	{
		g_autofree char *code =
			g_strndup(g_bytes_get_data(out, NULL), g_bytes_get_size(out));
		r->code = atoi(code);
	}
	if (!g_file_get_contents(hdr, &r->headers, NULL, NULL))
		r->headers = g_strdup("");
}

/* A field of the last response head, or %NULL. */
static char *
header(const Reply *r, const char *name)
{
	g_auto(GStrv) lines = g_strsplit(r->headers, "\r\n", -1);
	char *value = NULL;

	for (guint i = 0; lines[i] != NULL; i++) {
		const char *colon = strchr(lines[i], ':');
		if (g_str_has_prefix(lines[i], "HTTP/")) {
			g_clear_pointer(&value, g_free); /* a new response head */
			continue;
		}
		if (colon == NULL || (gsize)(colon - lines[i]) != strlen(name) ||
		    g_ascii_strncasecmp(lines[i], name, strlen(name)) != 0)
			continue;
		g_free(value);
		value = g_strstrip(g_strdup(colon + 1));
	}
	return value;
}

static GBytes *
read_file(const char *path)
{
	g_autofree char *data = NULL;
	gsize len = 0;

	if (!g_file_get_contents(path, &data, &len, NULL))
		return g_bytes_new(NULL, 0);
	return g_bytes_new_take(g_steal_pointer(&data), len);
}

/* The bytes [@start, @start + @len) of a served file. */
static GBytes *
slice(const char *name, gsize start, gsize len)
{
	g_autofree char *path = g_build_filename(shared_root, name, NULL);
	g_autoptr(GBytes) all = read_file(path);

	g_assert_cmpuint(start + len, <=, g_bytes_get_size(all));
	return g_bytes_new_from_bytes(all, start, len);
}

static void
assert_body(const Reply *r, GBytes *expected)
{
	g_autoptr(GBytes) got = read_file(r->body);
	g_assert_cmpuint(g_bytes_get_size(got), ==, g_bytes_get_size(expected));
	g_assert_true(g_bytes_equal(got, expected));
}

static void
assert_same_file(const char *got_path, const char *name)
{
	g_autofree char *path = g_build_filename(shared_root, name, NULL);
	g_autofree char *want = pxed_test_file_sha256(path);
	g_autofree char *got = pxed_test_file_sha256(got_path);
	g_assert_cmpstr(got, ==, want);
}

/* ---- raw sockets, for clients that curl will not impersonate ---- */

/* A connection to 127.0.0.1:@port from @source (another loopback address:
 * 127.0.0.0/8 is all local), or from 127.0.0.1 when %NULL. */
static GSocket *
raw_connect_port_from(guint16 port, const char *source)
{
	g_autoptr(GSocketAddress) addr = g_inet_socket_address_new_from_string("127.0.0.1", port);
	g_autoptr(GError) error = NULL;
	g_autoptr(GSocket) s = g_socket_new(G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM,
					    G_SOCKET_PROTOCOL_TCP, &error);

	g_assert_no_error(error);
	g_socket_set_timeout(s, 15); /* every wait in these tests is bounded */
	if (source != NULL) {
		g_autoptr(GSocketAddress) local = g_inet_socket_address_new_from_string(source, 0);
		g_assert_true(g_socket_bind(s, local, FALSE, &error));
		g_assert_no_error(error);
	}
	g_assert_true(g_socket_connect(s, addr, NULL, &error));
	g_assert_no_error(error);
	return g_steal_pointer(&s);
}

static GSocket *
raw_connect(Fixture *f)
{
	return raw_connect_port_from(f->port, NULL);
}

/* Waits at most @timeout_ms for the server to close @s (end of stream, or a
 * reset); whatever else arrives is read and dropped. */
static gboolean
raw_wait_closed(GSocket *s, guint timeout_ms)
{
	gint64 deadline = g_get_monotonic_time() + (gint64)timeout_ms * 1000;

	for (;;) {
		gint64 left = deadline - g_get_monotonic_time();
		g_autoptr(GError) error = NULL;
		char buf[4096];
		gssize n;

		if (left <= 0)
			return FALSE;
		if (!g_socket_condition_timed_wait(s, G_IO_IN, left, NULL, NULL))
			return FALSE;
		n = g_socket_receive(s, buf, sizeof(buf), NULL, &error);
		if (n == 0 ||
		    (n < 0 && !g_error_matches(error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK)))
			return TRUE;
	}
}

/* Sends @text, as a client that may find the connection closed: %FALSE then. */
static gboolean
raw_try_send(GSocket *s, const char *text)
{
	g_autoptr(GError) error = NULL;

	return g_socket_send(s, text, strlen(text), NULL, &error) == (gssize)strlen(text);
}

static void
raw_send(GSocket *s, const char *text)
{
	g_autoptr(GError) error = NULL;
	gsize len = strlen(text);
	gssize n = g_socket_send(s, text, len, NULL, &error);
	g_assert_no_error(error);
	g_assert_cmpint(n, ==, (gssize)len);
}

/* Reads one response head (up to the empty line). */
static char *
raw_read_head(GSocket *s)
{
	GString *head = g_string_new(NULL);

	while (strstr(head->str, "\r\n\r\n") == NULL && head->len < 65536) {
		char c;
		g_autoptr(GError) error = NULL;
		gssize n = g_socket_receive(s, &c, 1, NULL, &error);
		g_assert_no_error(error);
		if (n == 0)
			break;
		g_string_append_c(head, c);
	}
	return g_string_free(head, FALSE);
}

/* ---- the tests ---- */

static void
test_get_head(Fixture *f, gconstpointer data)
{
	g_auto(Reply) get = {0};
	g_auto(Reply) head = {0};
	g_auto(Reply) big = {0};
	const char *head_args[] = {"-I", NULL};
	g_autofree char *etag = NULL;
	g_autofree char *lm = NULL;
	g_autofree char *len = NULL;
	g_autofree char *type = NULL;
	g_autoptr(GBytes) want = slice("small.txt", 0, 37);

	fetch(f, "/small.txt", NULL, &get);
	g_assert_cmpint(get.code, ==, 200);
	assert_body(&get, want);
	len = header(&get, "Content-Length");
	g_assert_cmpstr(len, ==, "37");
	type = header(&get, "Content-Type");
	g_assert_cmpstr(type, ==, "text/plain");
	etag = header(&get, "ETag");
	g_assert_nonnull(etag);
	g_assert_true(etag[0] == '"');
	lm = header(&get, "Last-Modified");
	g_assert_nonnull(lm);
	g_assert_true(g_str_has_suffix(lm, " GMT"));

	fetch(f, "/small.txt", head_args, &head);
	g_assert_cmpint(head.code, ==, 200);
	{
		g_autofree char *hlen = header(&head, "Content-Length");
		g_autofree char *hetag = header(&head, "ETag");
		g_assert_cmpstr(hlen, ==, "37");
		g_assert_cmpstr(hetag, ==, etag);
	}
	{
		/* HEAD has no body: after the head comes the close, nothing else */
		g_autoptr(GSocket) s = raw_connect(f);
		g_autofree char *h = NULL;
		char c;
		g_autoptr(GError) error = NULL;
		raw_send(s, "HEAD /big.img HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
		h = raw_read_head(s);
		g_assert_true(g_str_has_prefix(h, "HTTP/1.1 200"));
		g_assert_cmpint(g_socket_receive(s, &c, 1, NULL, &error), ==, 0);
		g_assert_no_error(error);
	}

	/* HEAD of a large file announces its full length */
	fetch(f, "/big.img", head_args, &big);
	g_assert_cmpint(big.code, ==, 200);
	{
		g_autofree char *blen = header(&big, "Content-Length");
		g_autofree char *ranges = header(&big, "Accept-Ranges");
		g_autofree char *want_len = g_strdup_printf("%d", BIG_SIZE);
		g_assert_cmpstr(blen, ==, want_len);
		g_assert_cmpstr(ranges, ==, "bytes");
	}
	g_assert_true(
		pxed_test_daemon_wait_for_log(f->daemon, "GET /small.txt 200 bytes=37", 5000));
	g_assert_true(pxed_test_daemon_wait_for_log(f->daemon, "HEAD /big.img 200", 5000));
}

/* Bodies a backend renders in memory (iPXE scripts) go out corked with their
 * head: on a kept-alive connection each response must arrive whole, and
 * each is counted with its length. */
static void
test_in_memory_keepalive(void)
{
	g_autoptr(GError) error = NULL;
	const char *args[] = {"--plugin-dir", TEST_PLUGIN_DIR, NULL};
	PxedTestDaemon *daemon = pxed_test_daemon_start("[http]\nlisten=127.0.0.1:0\n"
							"[scripted]\nfile=answer\n"
							"[pipeline]\nhttp=scripted\n",
							args, &error);
	guint16 port;
	g_autoptr(GSocket) s = NULL;
	g_autoptr(GInetAddress) lo = g_inet_address_new_loopback(G_SOCKET_FAMILY_IPV4);
	g_autoptr(GSocketAddress) to = NULL;

	g_assert_no_error(error);
	port = pxed_test_daemon_get_port(daemon, "http");
	to = g_inet_socket_address_new(lo, port);
	s = g_socket_new(G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, &error);
	g_assert_no_error(error);
	g_socket_set_timeout(s, 10);
	g_assert_true(g_socket_connect(s, to, NULL, &error));
	for (guint i = 0; i < 3; i++) {
		g_autofree char *path = g_strdup_printf("/script-%u.ipxe", i);
		g_autofree char *want = g_strdup_printf("scripted:script-%u.ipxe", i);
		g_autofree char *request =
			g_strdup_printf("GET %s HTTP/1.1\r\nHost: x\r\n\r\n", path);
		g_autofree char *head = NULL;
		g_autofree char *expect_len =
			g_strdup_printf("Content-Length: %zu\r\n", strlen(want));
		char body[256] = {0};
		gsize got = 0;

		raw_send(s, request);
		head = raw_read_head(s);
		g_assert_true(g_str_has_prefix(head, "HTTP/1.1 200"));
		g_assert_nonnull(strstr(head, expect_len));
		while (got < strlen(want)) {
			gssize n =
				g_socket_receive(s, body + got, strlen(want) - got, NULL, &error);
			g_assert_no_error(error);
			g_assert_cmpint(n, >, 0);
			got += (gsize)n;
		}
		g_assert_cmpstr(body, ==, want);
	}
	for (guint i = 0; i < 3; i++) {
		g_autofree char *line = g_strdup_printf("GET /script-%u.ipxe 200 bytes=%zu", i,
							strlen("scripted:script-0.ipxe"));
		g_assert_true(pxed_test_daemon_wait_for_log(daemon, line, 5000));
	}
	pxed_test_daemon_stop(daemon);
}

static guint
count_fds(GPid pid)
{
	g_autofree char *path = g_strdup_printf("/proc/%d/fd", (int)pid);
	g_autoptr(GDir) dir = g_dir_open(path, 0, NULL);
	guint n = 0;

	g_assert_nonnull(dir);
	while (g_dir_read_name(dir) != NULL)
		n++;
	return n;
}

/* Clients that close kept-alive connections between requests (as iPXE does
 * after its last file) must not leave descriptors behind: libsoup 3.2 leaks
 * those unless the plugin takes them back. Small bodies, a sendfile body and
 * a mix, each on 20 connections closed by the client. */
static void
test_idle_close_no_leak(Fixture *f, gconstpointer data)
{
	static const char *const sequences[][3] = {
		{"/small.txt", NULL},
		{"/small.txt", "/boot.ipxe", NULL},
		{"/mid.img", NULL},
		{"/mid.img", "/small.txt", NULL},
	};
	GPid pid = pxed_test_daemon_get_pid(f->daemon);
	guint before = count_fds(pid);
	gint64 deadline;
	guint now = 0;

	for (guint s = 0; s < G_N_ELEMENTS(sequences); s++) {
		GPtrArray *conns = g_ptr_array_new_with_free_func(g_object_unref);
		for (guint i = 0; i < 20; i++) {
			GSocket *c = raw_connect(f);
			for (guint r = 0; r < 3 && sequences[s][r] != NULL; r++) {
				g_autofree char *req = g_strdup_printf(
					"GET %s HTTP/1.1\r\nHost: x\r\n\r\n", sequences[s][r]);
				g_autofree char *head = NULL;
				const char *cl;
				guint64 left;
				raw_send(c, req);
				head = raw_read_head(c);
				g_assert_true(g_str_has_prefix(head, "HTTP/1.1 200"));
				cl = strstr(head, "Content-Length: ");
				g_assert_nonnull(cl);
				left = g_ascii_strtoull(cl + strlen("Content-Length: "), NULL, 10);
				while (left > 0) {
					char buf[65536];
					g_autoptr(GError) error = NULL;
					gssize n = g_socket_receive(c, buf, MIN(left, sizeof(buf)),
								    NULL, &error);
					g_assert_no_error(error);
					g_assert_cmpint(n, >, 0);
					left -= (guint64)n;
				}
			}
			g_ptr_array_add(conns, c);
		}
		g_ptr_array_unref(conns); /* closes them all, idle */
	}
	/* the server closes its ends once it notices: wait for that, bounded */
	deadline = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;
	do {
		now = count_fds(pid);
		if (now <= before)
			break;
		g_main_context_iteration(NULL, FALSE);
		g_usleep(10000);
	} while (g_get_monotonic_time() < deadline);
	g_test_message("descriptors: %u before, %u after", before, now);
	g_assert_cmpuint(now, <=, before);
	/* and it still serves */
	{
		g_autoptr(GSocket) c = raw_connect(f);
		g_autofree char *head = NULL;
		raw_send(c, "GET /small.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
		head = raw_read_head(c);
		g_assert_true(g_str_has_prefix(head, "HTTP/1.1 200"));
	}
}

/* Reads a body of @len bytes and checks it against the served file @name.
 * @pace_us > 0 reads it as a slow client would, 64 KiB at a time with that
 * pause between reads (the slowness is what is under test, not a wait). */
static void
raw_read_body(GSocket *s, const char *name, gsize len, gulong pace_us)
{
	g_autoptr(GBytes) want = slice(name, 0, len);
	g_autofree guint8 *got = g_malloc(len);
	gsize have = 0;

	while (have < len) {
		g_autoptr(GError) error = NULL;
		gssize n = g_socket_receive(s, (char *)got + have, MIN(len - have, 65536), NULL,
					    &error);
		g_assert_no_error(error);
		g_assert_cmpint(n, >, 0);
		have += (gsize)n;
		if (pace_us > 0)
			g_usleep(pace_us);
	}
	g_assert_true(memcmp(got, g_bytes_get_data(want, NULL), len) == 0);
}

/* Two requests in one segment (HTTP/1.1 pipelining): libsoup reads the second
 * with the first, so nothing arrives on the socket between them. The second
 * body, 40 MiB read at a slow client's pace (more than the socket buffers
 * hold), is still being sent when idle-timeout (1 s) has passed since the
 * first response; it must arrive whole, and the third request (sent with the
 * others: an idle client would rightly be timed out) must still be served. */
static void
test_pipelined_slow(Fixture *f, gconstpointer data)
{
	g_autoptr(GSocket) c = raw_connect(f);
	g_autofree char *h1 = NULL;
	g_autofree char *h2 = NULL;
	g_autofree char *h3 = NULL;
	g_autofree char *want = g_strdup_printf("GET /big.img 200 bytes=%u ms=", BIG_SIZE);
	gint64 t0 = g_get_monotonic_time();

	raw_send(c, "GET /small.txt HTTP/1.1\r\nHost: x\r\n\r\n"
		    "GET /big.img HTTP/1.1\r\nHost: x\r\n\r\n"
		    "GET /small.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
	h1 = raw_read_head(c);
	g_assert_true(g_str_has_prefix(h1, "HTTP/1.1 200"));
	raw_read_body(c, "small.txt", 37, 0);
	h2 = raw_read_head(c);
	g_assert_true(g_str_has_prefix(h2, "HTTP/1.1 200"));
	/* 40 MiB in 64 KiB reads 4 ms apart: about 2.6 s */
	raw_read_body(c, "big.img", BIG_SIZE, 4000);
	g_assert_cmpint(g_get_monotonic_time() - t0, >, 2 * G_USEC_PER_SEC);
	g_assert_true(pxed_test_daemon_wait_for_log(f->daemon, want, 10000));
	h3 = raw_read_head(c);
	g_assert_true(g_str_has_prefix(h3, "HTTP/1.1 200"));
	raw_read_body(c, "small.txt", 37, 0);
}

static void
check_range(Fixture *f, const char *name, gsize size, const char *range, gsize start, gsize len)
{
	g_auto(Reply) r = {0};
	const char *args[] = {"-r", range, NULL};
	g_autoptr(GBytes) want = slice(name, start, len);
	g_autofree char *path = g_strdup_printf("/%s", name);
	g_autofree char *cr = NULL;
	g_autofree char *want_cr =
		g_strdup_printf("bytes %" G_GSIZE_FORMAT "-%" G_GSIZE_FORMAT "/%" G_GSIZE_FORMAT,
				start, start + len - 1, size);
	g_autofree char *cl = NULL;
	g_autofree char *want_cl = g_strdup_printf("%" G_GSIZE_FORMAT, len);

	g_test_message("Range %s of %s", range, name);
	fetch(f, path, args, &r);
	g_assert_cmpint(r.code, ==, 206);
	cr = header(&r, "Content-Range");
	g_assert_cmpstr(cr, ==, want_cr);
	cl = header(&r, "Content-Length");
	g_assert_cmpstr(cl, ==, want_cl);
	assert_body(&r, want);
}

static void
check_unsatisfiable(Fixture *f, const char *path, const char *range, gsize size)
{
	g_auto(Reply) r = {0};
	const char *args[] = {"-H", range, NULL};
	g_autofree char *cr = NULL;
	g_autofree char *want = g_strdup_printf("bytes */%" G_GSIZE_FORMAT, size);

	fetch(f, path, args, &r);
	g_assert_cmpint(r.code, ==, 416);
	cr = header(&r, "Content-Range");
	g_assert_cmpstr(cr, ==, want);
}

static void
test_range(Fixture *f, gconstpointer data)
{
	/* small files go through libsoup, large ones through sendfile */
	check_range(f, "small.txt", 37, "0-9", 0, 10);
	check_range(f, "small.txt", 37, "10-19", 10, 10);
	check_range(f, "small.txt", 37, "-5", 32, 5);
	check_range(f, "small.txt", 37, "30-", 30, 7);
	check_range(f, "small.txt", 37, "30-1000", 30, 7);
	check_range(f, "big.img", BIG_SIZE, "0-99", 0, 100);
	check_range(f, "big.img", BIG_SIZE, "20000000-21999999", 20000000, 2000000);
	check_range(f, "big.img", BIG_SIZE, "-1000000", BIG_SIZE - 1000000, 1000000);
	check_range(f, "big.img", BIG_SIZE, "41000000-", 41000000, BIG_SIZE - 41000000);
	check_unsatisfiable(f, "/small.txt", "Range: bytes=37-", 37);
	check_unsatisfiable(f, "/big.img", "Range: bytes=50000000-60000000", BIG_SIZE);
	check_unsatisfiable(f, "/small.txt", "Range: bytes=-0", 37);

	/* an invalid Range is ignored: the whole file (RFC 9110 §14.2) */
	{
		g_auto(Reply) r = {0};
		const char *args[] = {"-H", "Range: bytes=9-2", NULL};
		g_autoptr(GBytes) want = slice("small.txt", 0, 37);
		fetch(f, "/small.txt", args, &r);
		g_assert_cmpint(r.code, ==, 200);
		assert_body(&r, want);
	}
	/* HEAD ignores Range */
	{
		g_auto(Reply) r = {0};
		const char *args[] = {"-I", "-r", "0-9", NULL};
		g_autofree char *cl = NULL;
		fetch(f, "/small.txt", args, &r);
		g_assert_cmpint(r.code, ==, 200);
		cl = header(&r, "Content-Length");
		g_assert_cmpstr(cl, ==, "37");
	}
}

static void
test_conditional(Fixture *f, gconstpointer data)
{
	g_auto(Reply) first = {0};
	g_autofree char *etag = NULL;
	g_autofree char *lm = NULL;

	fetch(f, "/big.img", (const char *[]){"-I", NULL}, &first);
	etag = header(&first, "ETag");
	lm = header(&first, "Last-Modified");
	g_assert_nonnull(etag);
	g_assert_nonnull(lm);

	{
		g_autofree char *inm = g_strdup_printf("If-None-Match: %s", etag);
		g_auto(Reply) r = {0};
		g_autoptr(GBytes) body = NULL;
		g_autofree char *etag304 = NULL;
		fetch(f, "/big.img", (const char *[]){"-H", inm, NULL}, &r);
		g_assert_cmpint(r.code, ==, 304);
		body = read_file(r.body);
		g_assert_cmpuint(g_bytes_get_size(body), ==, 0);
		etag304 = header(&r, "ETag");
		g_assert_cmpstr(etag304, ==, etag);
	}
	{
		/* weak comparison for If-None-Match (RFC 9110 §13.1.2) */
		g_autofree char *inm = g_strdup_printf("If-None-Match: \"x\", W/%s", etag);
		g_auto(Reply) r = {0};
		fetch(f, "/small.txt", (const char *[]){"-H", "If-None-Match: \"x\"", NULL}, &r);
		g_assert_cmpint(r.code, ==, 200);
		reply_clear(&r);
		fetch(f, "/big.img", (const char *[]){"-H", inm, "-I", NULL}, &r);
		g_assert_cmpint(r.code, ==, 304);
	}
	{
		g_autofree char *ims = g_strdup_printf("If-Modified-Since: %s", lm);
		g_auto(Reply) r = {0};
		fetch(f, "/big.img", (const char *[]){"-H", ims, NULL}, &r);
		g_assert_cmpint(r.code, ==, 304);
		reply_clear(&r);
		fetch(f, "/small.txt",
		      (const char *[]){"-H", "If-Modified-Since: Sat, 01 Jan 2000 00:00:00 GMT",
				       NULL},
		      &r);
		g_assert_cmpint(r.code, ==, 200);
	}
	{
		g_auto(Reply) r = {0};
		fetch(f, "/small.txt", (const char *[]){"-H", "If-Match: \"nope\"", NULL}, &r);
		g_assert_cmpint(r.code, ==, 412);
	}
	{
		/* If-Range: the range applies while the tag matches, else the whole
		 * file comes back (RFC 9110 §13.1.5) */
		g_autofree char *ir = g_strdup_printf("If-Range: %s", etag);
		g_auto(Reply) r = {0};
		g_autoptr(GBytes) want = slice("big.img", 0, 100);
		fetch(f, "/big.img", (const char *[]){"-H", ir, "-r", "0-99", NULL}, &r);
		g_assert_cmpint(r.code, ==, 206);
		assert_body(&r, want);
		reply_clear(&r);
		fetch(f, "/big.img",
		      (const char *[]){"-H", "If-Range: \"old\"", "-r", "0-99", NULL}, &r);
		g_assert_cmpint(r.code, ==, 200);
		assert_same_file(r.body, "big.img");
	}
}

static void
test_errors(Fixture *f, gconstpointer data)
{
	static const char *const methods[] = {"POST", "PUT", "DELETE", "OPTIONS", "PATCH"};
	g_auto(Reply) r = {0};

	fetch(f, "/no/such/file", NULL, &r);
	g_assert_cmpint(r.code, ==, 404);
	reply_clear(&r);
	fetch(f, "/..%5csecret", NULL, &r);
	g_assert_cmpint(r.code, ==, 403);
	for (guint i = 0; i < G_N_ELEMENTS(methods); i++) {
		g_auto(Reply) m = {0};
		g_autofree char *allow = NULL;
		fetch(f, "/small.txt", (const char *[]){"-X", methods[i], "-d", "x=1", NULL}, &m);
		g_assert_cmpint(m.code, ==, 405);
		allow = header(&m, "Allow");
		g_assert_cmpstr(allow, ==, "GET, HEAD");
	}
	g_assert_true(pxed_test_daemon_wait_for_log(f->daemon, "POST /small.txt 405", 5000));
	g_assert_true(pxed_test_daemon_wait_for_log(f->daemon, "GET /no/such/file 404", 5000));
}

static void
test_traversal(Fixture *f, gconstpointer data)
{
	static const struct {
		const char *path;
		int code; /* 0: anything but 200 */
	} cases[] = {
		/* Dot segments, plain or with encoded dots (an unreserved character,
		 * which GLib's URI parser decodes as RFC 3986 §6.2.2.2 allows), are
		 * resolved inside the URL space (§5.2.4) before the path reaches
		 * the plugin: they cannot climb above "/", and name a missing file. */
		{"/../secret", 404},
		{"/a/../../secret", 404},
		{"/%2e%2e/secret", 404},
		{"/%2E%2E/secret", 404},
		{"/.%2e/secret", 404},
		/* what survives to the plugin's own decoding is refused */
		{"/%2e%2e%2fsecret", 403},
		{"/..%2fsecret", 403},
		{"/..%5csecret", 403},
		{"/..%5c..%5csecret", 403},
		{"/a%5c..%5c..%5csecret", 403},
		{"/%00secret", 403},
		{"/small.txt%00.png", 403},
		{"/%01secret", 403},
		/* double-encoded: decoded once, it is a name with '%' in it */
		{"/%252e%252e/secret", 0},
		{"/%252e%252e%252fsecret", 0},
	};

	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_auto(Reply) r = {0};
		g_autoptr(GBytes) body = NULL;

		g_test_message("GET %s", cases[i].path);
		fetch(f, cases[i].path, NULL, &r);
		if (cases[i].code != 0)
			g_assert_cmpint(r.code, ==, cases[i].code);
		else
			g_assert_cmpint(r.code, !=, 200);
		body = read_file(r.body);
		g_assert_null(g_strstr_len(g_bytes_get_data(body, NULL), g_bytes_get_size(body),
					   "TOP-SECRET"));
	}
	{
		/* ...and the double-encoded name is served as the literal file */
		g_auto(Reply) r = {0};
		fetch(f, "/%252e%252e", NULL, &r);
		g_assert_cmpint(r.code, ==, 200);
	}
	{
		/* raw backslashes, which curl would not send as they are */
		g_autoptr(GSocket) s = raw_connect(f);
		g_autofree char *head = NULL;
		raw_send(s, "GET /..\\..\\secret HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
		head = raw_read_head(s);
		g_assert_true(g_str_has_prefix(head, "HTTP/1.1 4"));
	}
}

static void
test_download_big(Fixture *f, gconstpointer data)
{
	g_auto(Reply) r = {0};

	fetch(f, "/big.img", NULL, &r);
	g_assert_cmpint(r.code, ==, 200);
	assert_same_file(r.body, "big.img");
	{
		g_autofree char *line = g_strdup_printf("GET /big.img 200 bytes=%d", BIG_SIZE);
		g_assert_true(pxed_test_daemon_wait_for_log(f->daemon, line, 5000));
	}
}

static void
test_parallel(Fixture *f, gconstpointer data)
{
	g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GBytes) out = NULL;
	g_autofree char *err = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree char *url = g_strdup_printf("%s/mid.img", f->base);
	int status = -1;

	/* one curl, PARALLEL transfers at once, each on its own connection */
	g_ptr_array_add(argv, g_strdup("curl"));
	g_ptr_array_add(argv, g_strdup("-sS"));
	g_ptr_array_add(argv, g_strdup("--fail"));
	g_ptr_array_add(argv, g_strdup("--max-time"));
	g_ptr_array_add(argv, g_strdup(CURL_MAX_TIME));
	g_ptr_array_add(argv, g_strdup("-Z"));
	g_ptr_array_add(argv, g_strdup("--parallel-immediate"));
	g_ptr_array_add(argv, g_strdup("--parallel-max"));
	g_ptr_array_add(argv, g_strdup_printf("%d", PARALLEL));
	for (guint i = 0; i < PARALLEL; i++) {
		g_ptr_array_add(argv, g_strdup("-o"));
		g_ptr_array_add(argv, g_strdup_printf("%s/p%u", f->work, i));
		g_ptr_array_add(argv, g_strdup(url));
	}
	g_ptr_array_add(argv, NULL);
	g_assert_true(pxed_test_run((const char *const *)argv->pdata, &out, &err, &status, &error));
	g_assert_no_error(error);
	if (status != 0)
		g_printerr("curl: %s\n", err);
	g_assert_cmpint(status, ==, 0);
	for (guint i = 0; i < PARALLEL; i++) {
		g_autofree char *path = g_strdup_printf("%s/p%u", f->work, i);
		assert_same_file(path, "mid.img");
	}
}

static void
test_keepalive(Fixture *f, gconstpointer data)
{
	const char *argv[] = {
		"curl",	       "-sS",	    "--max-time",
		CURL_MAX_TIME, "-w",	    "%{http_code}:%{num_connects} ",
		"-o",	       "/dev/null", NULL, /* big: sendfile, then handed back */
		"-o",	       "/dev/null", NULL, /* small: libsoup */
		"-o",	       "/dev/null", NULL, /* big again on the same connection */
		NULL};
	g_autofree char *big = g_strdup_printf("%s/big.img", f->base);
	g_autofree char *small = g_strdup_printf("%s/small.txt", f->base);
	g_autoptr(GBytes) out = NULL;
	g_autofree char *err = NULL;
	g_autofree char *text = NULL;
	g_autoptr(GError) error = NULL;
	int status = -1;

	argv[8] = big;
	argv[11] = small;
	argv[14] = big;
	g_assert_true(pxed_test_run(argv, &out, &err, &status, &error));
	g_assert_no_error(error);
	g_assert_cmpint(status, ==, 0);
	text = g_strndup(g_bytes_get_data(out, NULL), g_bytes_get_size(out));
	/* one connection for all three */
	g_assert_cmpstr(text, ==, "200:1 200:0 200:0 ");
}

static void
test_stalled(Fixture *f, gconstpointer data)
{
	g_autoptr(GSocket) idle = raw_connect(f);
	g_autoptr(GSocket) half = raw_connect(f);
	g_autoptr(GSocket) reader = raw_connect(f);
	g_autoptr(GSocket) reader2 = raw_connect(f);
	g_auto(Reply) r = {0};
	gint64 t0;

	/* one says nothing, one sends half a request, two ask for the big file
	 * and never read it (one through sendfile, one through a range) */
	raw_send(half, "GET /big.img HTTP/1.1\r\nHo");
	raw_send(reader, "GET /big.img HTTP/1.1\r\nHost: x\r\n\r\n");
	raw_send(reader2, "GET /big.img HTTP/1.1\r\nHost: x\r\nRange: bytes=1000-\r\n\r\n");
	/* their bodies are under way: the heads are here, the rest is not read */
	{
		g_autofree char *h1 = raw_read_head(reader);
		g_autofree char *h2 = raw_read_head(reader2);
		g_assert_true(g_str_has_prefix(h1, "HTTP/1.1 200"));
		g_assert_true(g_str_has_prefix(h2, "HTTP/1.1 206"));
	}

	t0 = g_get_monotonic_time();
	fetch(f, "/big.img", NULL, &r);
	g_assert_cmpint(r.code, ==, 200);
	assert_same_file(r.body, "big.img");
	g_test_message("download beside stalled clients: %" G_GINT64_FORMAT " ms",
		       (g_get_monotonic_time() - t0) / 1000);
	/* far below idle-timeout (60 s): nobody waited for the stalled ones */
	g_assert_cmpint(g_get_monotonic_time() - t0, <, 30 * G_USEC_PER_SEC);
}

static void
test_idle_timeout(Fixture *f, gconstpointer data)
{
	g_autoptr(GSocket) idle = raw_connect(f);
	g_autoptr(GSocket) reader = raw_connect(f);
	g_autoptr(GError) error = NULL;
	char buf[16];
	gssize n;
	gint64 t0 = g_get_monotonic_time();

	raw_send(reader, "GET /big.img HTTP/1.1\r\nHost: x\r\n\r\n");
	/* idle-timeout=1: the silent connection is closed by the server (EOF),
	 * well before this socket's own 15 s timeout */
	n = g_socket_receive(idle, buf, sizeof(buf), NULL, &error);
	g_assert_no_error(error);
	g_assert_cmpint(n, ==, 0);
	g_assert_cmpint(g_get_monotonic_time() - t0, <, 10 * G_USEC_PER_SEC);
	/* ...and so is one that is idle after a request (kept alive) */
	{
		g_autoptr(GSocket) kept = raw_connect(f);
		g_autofree char *head = NULL;
		raw_send(kept, "HEAD /small.txt HTTP/1.1\r\nHost: x\r\n\r\n");
		head = raw_read_head(kept);
		g_assert_true(g_str_has_prefix(head, "HTTP/1.1 200"));
		t0 = g_get_monotonic_time();
		n = g_socket_receive(kept, buf, sizeof(buf), NULL, &error);
		g_assert_no_error(error);
		g_assert_cmpint(n, ==, 0);
		g_assert_cmpint(g_get_monotonic_time() - t0, <, 10 * G_USEC_PER_SEC);
	}
	/* the reader that stopped reading is cut off too */
	g_assert_true(pxed_test_daemon_wait_for_log(f->daemon, "GET /big.img 200", 10000));
	g_assert_true(pxed_test_daemon_wait_for_log(f->daemon, "aborted", 10000));
}

static void
test_max_connections(Fixture *f, gconstpointer data)
{
	g_autoptr(GSocket) a = raw_connect(f);
	g_autoptr(GSocket) b = raw_connect(f);
	g_auto(Reply) r = {0};
	gboolean served = FALSE;

	/* two kept-alive connections: max-connections=2 is reached */
	raw_send(a, "HEAD /small.txt HTTP/1.1\r\nHost: x\r\n\r\n");
	g_free(raw_read_head(a));
	raw_send(b, "HEAD /small.txt HTTP/1.1\r\nHost: x\r\n\r\n");
	g_free(raw_read_head(b));

	fetch(f, "/small.txt", NULL, &r);
	g_assert_cmpint(r.code, ==, 503);
	{
		g_autofree char *retry = header(&r, "Retry-After");
		g_assert_nonnull(retry);
	}

	/* once one closes, a new client is served; the server notices the close
	 * asynchronously, so ask until it does (bounded) */
	g_socket_close(a, NULL);
	for (guint i = 0; i < 100 && !served; i++) {
		g_auto(Reply) again = {0};
		fetch(f, "/small.txt", NULL, &again);
		g_assert_true(again.code == 200 || again.code == 503);
		served = again.code == 200;
	}
	g_assert_true(served);
}

/* How many lines of the daemon's log contain @needle. */
static guint
log_count(PxedTestDaemon *daemon, const char *needle)
{
	g_autofree char *log = pxed_test_daemon_get_log(daemon);
	guint n = 0;

	for (const char *at = strstr(log, needle); at != NULL; at = strstr(at + 1, needle))
		n++;
	return n;
}

/* Stops the daemon's instances (SIGTERM) and waits for the http instance's
 * counters to say @counts. */
static void
assert_stopped_counts(PxedTestDaemon *daemon, const char *counts)
{
	pxed_test_daemon_signal(daemon, SIGTERM);
	g_assert_true(pxed_test_daemon_wait_for_log(daemon, "source=http event=stopped", 10000));
	if (!pxed_test_daemon_wait_for_log(daemon, counts, 1000)) {
		g_autofree char *log = pxed_test_daemon_get_log(daemon);
		g_printerr("%s\n", log);
		g_assert_not_reached();
	}
}

#define SLOWLORIS 20

/* A slowloris from one address (127.0.0.2): more connections than
 * max-connections (8), each with a request head that never ends. Only
 * max-connections-per-client (4) of them are kept, the others are closed at
 * once, and a client at another address (127.0.0.3) is served. */
static void
test_slowloris_per_client(Fixture *f, gconstpointer data)
{
	g_autoptr(GPtrArray) flood = g_ptr_array_new_with_free_func(g_object_unref);
	g_autoptr(GSocket) other = NULL;
	g_autofree char *head = NULL;

	for (guint i = 0; i < SLOWLORIS; i++) {
		GSocket *s = raw_connect_port_from(f->port, "127.0.0.2");
		raw_send(s, "GET /small.txt HTTP/1.1\r\nHost: x\r\n");
		g_ptr_array_add(flood, s);
	}
	/* accepted in order: past the first four, the server closes them */
	for (guint i = 4; i < SLOWLORIS; i++)
		g_assert_true(raw_wait_closed(g_ptr_array_index(flood, i), 5000));
	/* the first four it keeps (header-timeout is 60 s) */
	for (guint i = 0; i < 4; i++)
		g_assert_cmpint(g_socket_condition_check(g_ptr_array_index(flood, i), G_IO_IN), ==,
				0);

	other = raw_connect_port_from(f->port, "127.0.0.3");
	raw_send(other, "GET /small.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
	head = raw_read_head(other);
	g_assert_true(g_str_has_prefix(head, "HTTP/1.1 200"));

	/* one log line for the sixteen (a minute must pass for the next one),
	 * and the count */
	g_assert_true(pxed_test_daemon_wait_for_log(
		f->daemon, "refused a connection from 127.0.0.2: max-connections-per-client=4",
		5000));
	g_assert_cmpuint(log_count(f->daemon, "max-connections-per-client=4 reached"), ==, 1);
	assert_stopped_counts(f->daemon, "refused=0 refused-per-client=16 header-timeouts=0");
}

/* Sends a header line every 100 ms on @s until the server closes it (%TRUE)
 * or @timeout_ms pass; @elapsed_ms gets the time taken. */
static gboolean
trickle_until_closed(GSocket *s, guint timeout_ms, gint64 *elapsed_ms)
{
	gint64 t0 = g_get_monotonic_time();
	gboolean closed = FALSE;

	for (guint i = 0; !closed && g_get_monotonic_time() - t0 < (gint64)timeout_ms * 1000; i++) {
		g_autofree char *line =
			i == 0 ? g_strdup("GET /small.txt HTTP/1.1\r\n")
			       : g_strdup_printf("X-Slow-%u: this head never ends\r\n", i);
		/* the pace of the trickle is what is under test: 100 ms, far
		 * below idle-timeout */
		closed = !raw_try_send(s, line) || raw_wait_closed(s, 100);
	}
	*elapsed_ms = (g_get_monotonic_time() - t0) / 1000;
	return closed;
}

/* header-timeout=1, idle-timeout=2: a head that trickles in (a line every
 * 100 ms, so no wait reaches idle-timeout) is cut off one second after it
 * began: on a new connection, on a kept-alive one, and on one handed back
 * after a sendfile body (idle-timeout + header-timeout after the response). A
 * client that waits between requests is not: the deadline starts with the
 * head. */
static void
test_header_timeout(Fixture *f, gconstpointer data)
{
	gint64 ms = 0;

	/* a new connection */
	{
		g_autoptr(GSocket) s = raw_connect(f);
		g_assert_true(trickle_until_closed(s, 6000, &ms));
		g_test_message("new connection: closed after %" G_GINT64_FORMAT " ms", ms);
		g_assert_cmpint(ms, >=, 900);
		g_assert_cmpint(ms, <, 1900);
	}
	/* a kept-alive connection: a request, 1.5 s of quiet (more than
	 * header-timeout, less than idle-timeout), a request, then a trickle */
	{
		g_autoptr(GSocket) s = raw_connect(f);
		for (guint r = 0; r < 2; r++) {
			g_autofree char *head = NULL;
			raw_send(s, "GET /small.txt HTTP/1.1\r\nHost: x\r\n\r\n");
			head = raw_read_head(s);
			g_assert_true(g_str_has_prefix(head, "HTTP/1.1 200"));
			raw_read_body(s, "small.txt", 37, 0);
			if (r == 0)
				g_assert_false(raw_wait_closed(s, 1500));
		}
		g_assert_true(trickle_until_closed(s, 6000, &ms));
		g_test_message("kept-alive connection: closed after %" G_GINT64_FORMAT " ms", ms);
		g_assert_cmpint(ms, >=, 900);
		g_assert_cmpint(ms, <, 1900);
	}
	/* handed back after a sendfile body: the same, within 3 s */
	{
		g_autoptr(GSocket) s = raw_connect(f);
		for (guint r = 0; r < 2; r++) {
			g_autofree char *head = NULL;
			raw_send(s, "GET /mid.img HTTP/1.1\r\nHost: x\r\n\r\n");
			head = raw_read_head(s);
			g_assert_true(g_str_has_prefix(head, "HTTP/1.1 200"));
			raw_read_body(s, "mid.img", MID_SIZE, 0);
			if (r == 0)
				g_assert_false(raw_wait_closed(s, 1500));
		}
		g_assert_true(trickle_until_closed(s, 6000, &ms));
		g_test_message("handed-back connection: closed after %" G_GINT64_FORMAT " ms", ms);
		g_assert_cmpint(ms, <, 3900);
	}
	/* the three are counted, and logged once */
	g_assert_cmpuint(log_count(f->daemon, "no complete request head within header-timeout=1s"),
			 ==, 1);
	assert_stopped_counts(f->daemon, "refused-per-client=0 header-timeouts=3");
}

static void
test_identity(Fixture *f, gconstpointer data)
{
	g_auto(Reply) r = {0};

	fetch(f,
	      "/boot.ipxe?mac=52%3A54%3A00%3A12%3A34%3A56&uuid=4c4c4544-0042-3510-8052-"
	      "b4c04f384d31&platform=efi&buildarch=x86_64&hostname=node1&serial=S1&asset=A1",
	      NULL, &r);
	g_assert_cmpint(r.code, ==, 200);
	g_assert_true(pxed_test_daemon_wait_for_log(
		f->daemon, "client=52:54:00:12:34:56 GET /boot.ipxe 200", 5000));
	reply_clear(&r);
	fetch(f, "/boot.ipxe", NULL, &r);
	g_assert_true(pxed_test_daemon_wait_for_log(f->daemon,
						    "client=127.0.0.1 GET /boot.ipxe 200", 5000));
}

static void
test_ipv6(void)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GSocket) probe = g_socket_new(G_SOCKET_FAMILY_IPV6, G_SOCKET_TYPE_STREAM,
						G_SOCKET_PROTOCOL_TCP, NULL);
	g_autoptr(GSocketAddress) any = g_inet_socket_address_new_from_string("::1", 0);
	g_autoptr(PxedTestDaemon) daemon = NULL;
	g_autofree char *conf = NULL;
	g_autofree char *url = NULL;
	g_autofree char *work = NULL;
	g_autofree char *out = NULL;
	g_autoptr(GBytes) stdout_bytes = NULL;
	g_autofree char *err = NULL;
	int status = -1;

	if (probe == NULL || !g_socket_bind(probe, any, FALSE, NULL)) {
		g_test_skip("no IPv6 loopback here");
		return;
	}
	conf = g_strdup_printf(
		"[http]\nlisten=[::1]:0\n[static]\nroot=%s\n[pipeline]\nhttp=static\n",
		shared_root);
	daemon = pxed_test_daemon_start(conf, NULL, &error);
	g_assert_no_error(error);
	url = g_strdup_printf("http://[::1]:%u/mid.img", pxed_test_daemon_get_port(daemon, "http"));
	work = pxed_test_tmpdir_new();
	out = g_build_filename(work, "mid", NULL);
	g_assert_true(pxed_test_run((const char *[]){"curl", "-sS", "--fail", "--max-time",
						     CURL_MAX_TIME, "-o", out, url, NULL},
				    &stdout_bytes, &err, &status, &error));
	g_assert_no_error(error);
	g_assert_cmpint(status, ==, 0);
	assert_same_file(out, "mid.img");
	pxed_test_tmpdir_free(g_steal_pointer(&work));
}

/* A self-signed certificate for 127.0.0.1 in @dir; %FALSE (the test
 * skipped) without a TLS backend or openssl. */
static gboolean
make_test_certificate(const char *dir, char **cert, char **key)
{
	g_autofree char *openssl = g_find_program_in_path("openssl");
	g_autoptr(GError) error = NULL;
	g_autoptr(GBytes) out = NULL;
	g_autofree char *err = NULL;
	int status = -1;

	if (!g_tls_backend_supports_tls(g_tls_backend_get_default())) {
		g_test_skip("GIO has no TLS backend (apt-get install glib-networking)");
		return FALSE;
	}
	if (openssl == NULL) {
		g_test_skip("no openssl to make a test certificate (apt-get install openssl)");
		return FALSE;
	}
	*cert = g_build_filename(dir, "cert.pem", NULL);
	*key = g_build_filename(dir, "key.pem", NULL);
	g_assert_true(pxed_test_run(
		(const char *[]){openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt",
				 "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", *key, "-out",
				 *cert, "-days", "1", "-subj", "/CN=127.0.0.1", "-addext",
				 "subjectAltName=IP:127.0.0.1", NULL},
		&out, &err, &status, &error));
	g_assert_no_error(error);
	g_assert_cmpint(status, ==, 0);
	return TRUE;
}

static void
test_tls(void)
{
	g_autofree char *dir = pxed_test_tmpdir_new();
	g_autofree char *cert = NULL;
	g_autofree char *key = NULL;
	g_autofree char *conf = NULL;
	g_autoptr(PxedTestDaemon) daemon = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(GBytes) out = NULL;
	g_autofree char *err = NULL;
	g_autofree char *body = NULL;
	g_autofree char *url = NULL;
	int status = -1;

	if (!make_test_certificate(dir, &cert, &key)) {
		pxed_test_tmpdir_free(g_steal_pointer(&dir));
		return;
	}
	conf = g_strdup_printf("[http]\nlisten=127.0.0.1:0\ntls-certificate=%s\ntls-key=%s\n"
			       "[static]\nroot=%s\n[pipeline]\nhttp=static\n",
			       cert, key, shared_root);
	daemon = pxed_test_daemon_start(conf, NULL, &error);
	g_assert_no_error(error);
	url = g_strdup_printf("https://127.0.0.1:%u/big.img",
			      pxed_test_daemon_get_port(daemon, "http"));
	body = g_build_filename(dir, "big", NULL);
	g_clear_pointer(&out, g_bytes_unref);
	g_clear_pointer(&err, g_free);
	g_assert_true(
		pxed_test_run((const char *[]){"curl", "-sS", "--fail", "--max-time", CURL_MAX_TIME,
					       "--cacert", cert, "-o", body, url, NULL},
			      &out, &err, &status, &error));
	g_assert_no_error(error);
	if (status != 0)
		g_printerr("curl: %s\n", err);
	g_assert_cmpint(status, ==, 0);
	assert_same_file(body, "big.img");

	/* a range over TLS, and plain HTTP on the TLS port fails */
	g_clear_pointer(&out, g_bytes_unref);
	g_clear_pointer(&err, g_free);
	g_assert_true(pxed_test_run((const char *[]){"curl", "-sS", "--fail", "--max-time",
						     CURL_MAX_TIME, "--cacert", cert, "-r",
						     "100-199", "-o", body, url, NULL},
				    &out, &err, &status, &error));
	g_assert_cmpint(status, ==, 0);
	{
		g_autoptr(GBytes) got = read_file(body);
		g_autoptr(GBytes) want = slice("big.img", 100, 100);
		g_assert_true(g_bytes_equal(got, want));
	}
	g_assert_true(pxed_test_daemon_wait_for_log(daemon, "event=listening client=- tls ", 1000));
	pxed_test_tmpdir_free(g_steal_pointer(&dir));
}

/* A TLS handshake that trickles in (a byte of a ClientHello every 100 ms,
 * far below idle-timeout) is cut off at header-timeout too, and the
 * connection's descriptor goes with it. */
static void
test_tls_header_timeout(void)
{
	g_autofree char *dir = pxed_test_tmpdir_new();
	g_autofree char *cert = NULL;
	g_autofree char *key = NULL;
	g_autofree char *conf = NULL;
	g_autoptr(PxedTestDaemon) daemon = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(GSocket) s = NULL;
	gboolean closed = FALSE;
	guint before, now = 0;
	gint64 t0, deadline;

	if (!make_test_certificate(dir, &cert, &key)) {
		pxed_test_tmpdir_free(g_steal_pointer(&dir));
		return;
	}
	conf = g_strdup_printf("[http]\nlisten=127.0.0.1:0\ntls-certificate=%s\ntls-key=%s\n"
			       "header-timeout=1\nidle-timeout=2\n"
			       "[static]\nroot=%s\n[pipeline]\nhttp=static\n",
			       cert, key, shared_root);
	daemon = pxed_test_daemon_start(conf, NULL, &error);
	g_assert_no_error(error);
	before = count_fds(pxed_test_daemon_get_pid(daemon));

	s = raw_connect_port_from(pxed_test_daemon_get_port(daemon, "http"), NULL);
	t0 = g_get_monotonic_time();
	/* a handshake record of 200 bytes (RFC 8446 §5.1), then its body */
	closed = !raw_try_send(s, "\x16\x03\x01\x00\xc8\x01");
	while (!closed && g_get_monotonic_time() - t0 < 6 * G_USEC_PER_SEC)
		closed = !raw_try_send(s, "\x00") || raw_wait_closed(s, 100);
	g_test_message("TLS handshake: closed after %" G_GINT64_FORMAT " ms",
		       (g_get_monotonic_time() - t0) / 1000);
	g_assert_true(closed);
	g_assert_cmpint(g_get_monotonic_time() - t0, <, 1900 * 1000);

	/* the server's end is closed too (libsoup closes it once the
	 * handshake fails): wait for that, bounded */
	deadline = g_get_monotonic_time() + 5 * G_USEC_PER_SEC;
	do {
		now = count_fds(pxed_test_daemon_get_pid(daemon));
		if (now <= before)
			break;
		g_usleep(10000);
	} while (g_get_monotonic_time() < deadline);
	g_assert_cmpuint(now, <=, before);
	assert_stopped_counts(daemon, "header-timeouts=1");
	pxed_test_tmpdir_free(g_steal_pointer(&dir));
}

static void
test_tls_config_errors(void)
{
	g_autofree char *dir = pxed_test_tmpdir_new();
	g_autofree char *cert = g_build_filename(dir, "cert.pem", NULL);
	g_autofree char *conf = NULL;
	g_autoptr(GError) error = NULL;
	PxedTestDaemon *daemon;

	/* a certificate without its key is refused at start-up */
	pxed_test_write_file(dir, "cert.pem", "not a certificate\n");
	conf = g_strdup_printf("[http]\nlisten=127.0.0.1:0\ntls-certificate=%s\n"
			       "[static]\nroot=%s\n[pipeline]\nhttp=static\n",
			       cert, shared_root);
	daemon = pxed_test_daemon_start(conf, NULL, &error);
	g_assert_null(daemon);
	g_assert_nonnull(error);
	g_assert_nonnull(strstr(error->message, "tls-key"));
	pxed_test_tmpdir_free(g_steal_pointer(&dir));
}

int
main(int argc, char **argv)
{
	int rc;

	g_test_init(&argc, &argv, NULL);
	shared_files_make();

#define ADD(path, conf, fn) g_test_add(path, Fixture, conf, fixture_setup, fn, fixture_teardown)
	ADD("/http/get-head", NULL, test_get_head);
	g_test_add_func("/http/in-memory-keepalive", test_in_memory_keepalive);
	/* these two open more connections at once than one client address may
	 * by default: what they test is not that limit */
	ADD("/http/idle-close-no-leak", "max-connections-per-client=1000", test_idle_close_no_leak);
	ADD("/http/range", NULL, test_range);
	ADD("/http/range/no-sendfile", "sendfile=false", test_range);
	ADD("/http/conditional", NULL, test_conditional);
	ADD("/http/errors", NULL, test_errors);
	ADD("/http/traversal", NULL, test_traversal);
	ADD("/http/download-40m", NULL, test_download_big);
	ADD("/http/download-40m/no-sendfile", "sendfile=false", test_download_big);
	ADD("/http/parallel-100", "max-connections-per-client=1000", test_parallel);
	ADD("/http/keepalive", NULL, test_keepalive);
	ADD("/http/stalled-clients", "idle-timeout=60", test_stalled);
	ADD("/http/stalled-clients/no-sendfile", "idle-timeout=60\nsendfile=false", test_stalled);
	ADD("/http/idle-timeout", "idle-timeout=1", test_idle_timeout);
	ADD("/http/pipelined-slow", "idle-timeout=1", test_pipelined_slow);
	ADD("/http/pipelined-slow/no-sendfile", "idle-timeout=1\nsendfile=false",
	    test_pipelined_slow);
	ADD("/http/max-connections", "max-connections=2", test_max_connections);
	ADD("/http/identity", NULL, test_identity);
	ADD("/http/slowloris/per-client",
	    "max-connections=8\nmax-connections-per-client=4\nheader-timeout=60",
	    test_slowloris_per_client);
	ADD("/http/slowloris/header-timeout", "header-timeout=1\nidle-timeout=2",
	    test_header_timeout);
#undef ADD
	g_test_add_func("/http/ipv6", test_ipv6);
	g_test_add_func("/http/tls", test_tls);
	g_test_add_func("/http/tls/config-errors", test_tls_config_errors);
	g_test_add_func("/http/tls/header-timeout", test_tls_header_timeout);

	rc = g_test_run();
	pxed_test_tmpdir_free(g_steal_pointer(&shared_dir));
	g_free(shared_root);
	return rc;
}
