/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What an HTTP client controls before a file is opened: the Range field
 * (RFC 9110 §14.1.2), the request path (percent-decoding, then the core's
 * normalisation), and the dates and entity tags of the preconditions.
 *
 * Input: 8 bytes of representation size (big-endian), then the field text;
 * the same text is also used as a path and as precondition values.
 */
#include <string.h>

#include "fuzz-common.h"
#include "pxed-http-util.h"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	pxed_fuzz_init();
	return 0;
}

static void
check_range(const char *header, guint64 size)
{
	guint64 start = G_MAXUINT64, end = G_MAXUINT64;

	switch (pxed_http_parse_range(header, size, &start, &end)) {
	case PXED_HTTP_RANGE_SATISFIABLE:
		/* the bytes sent must exist: an off-by-one here reads past the file */
		g_assert_cmpuint(start, <=, end);
		g_assert_cmpuint(end, <, size);
		break;
	case PXED_HTTP_RANGE_NONE:
	case PXED_HTTP_RANGE_UNSATISFIABLE:
		break;
	default:
		g_assert_not_reached();
	}
}

static void
check_path(const char *raw)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *decoded = pxed_http_decode_path(raw, &error);
	g_autofree char *clean = NULL;
	g_auto(GStrv) parts = NULL;

	if (decoded == NULL) {
		g_assert_nonnull(error);
		return;
	}
	clean = pxed_path_normalize(decoded, -1, &error);
	if (clean == NULL) {
		g_assert_nonnull(error);
		return;
	}
	/* what a backend gets: relative, no empty, '.' or '..' parts, no '\\' */
	g_assert_true(clean[0] != '\0' && clean[0] != '/');
	g_assert_null(strchr(clean, '\\'));
	g_assert_true(g_utf8_validate(clean, -1, NULL));
	parts = g_strsplit(clean, "/", -1);
	for (guint i = 0; parts[i] != NULL; i++) {
		g_assert_cmpstr(parts[i], !=, "");
		g_assert_cmpstr(parts[i], !=, ".");
		g_assert_cmpstr(parts[i], !=, "..");
	}
	for (const char *p = clean; *p; p++)
		g_assert_false(g_ascii_iscntrl(*p));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	g_autofree char *text = NULL;
	guint64 file_size = 0;
	gint64 when;
	PxedHttpPreconditions pre;

	if (size < 8)
		return 0;
	for (int i = 0; i < 8; i++)
		file_size = file_size << 8 | data[i];
	text = g_strndup((const char *)data + 8, size - 8);

	check_range(text, file_size);
	check_range(text, file_size % 4096);
	check_path(text);

	when = pxed_http_parse_date(text);
	if (when >= 0) {
		g_autofree char *again = pxed_http_format_date(when);
		g_assert_cmpint(pxed_http_parse_date(again), ==, when);
	}
	pre = (PxedHttpPreconditions){text, text, text, text};
	pxed_http_evaluate_conditions(&pre, "\"abc-1\"", 1700000000);
	pxed_http_if_range_matches(text, "\"abc-1\"", 1700000000);
	pxed_http_etag_equal(text, "\"abc-1\"", FALSE);
	pxed_http_etag_equal(text, text, TRUE);
	return 0;
}
