/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Pipelines: every answer / decline / fail combination, for files and boot decisions. */
#include "pxed-core.h"
#include "pxed-test.h"

static const char *const plugin_dirs[] = {TEST_PLUGIN_DIR, NULL};

typedef struct {
	const char *name;
	const char *a; /* behaviour of [scripted:a] */
	const char *b; /* behaviour of [scripted:b] */
	const char *pipeline;
	const char *origin; /* expected answering instance, or NULL */
	int code;	    /* else the expected PXED_ERROR code */
	const char *message;
} Case;

static const Case cases[] = {
	{"answer-first", "answer", "answer", "scripted:a;scripted:b", "scripted:a", 0, NULL},
	{"decline-then-answer", "decline", "answer", "scripted:a;scripted:b", "scripted:b", 0,
	 NULL},
	{"order-matters", "answer", "answer", "scripted:b;scripted:a", "scripted:b", 0, NULL},
	{"fail-stops", "fail", "answer", "scripted:a;scripted:b", NULL, PXED_ERROR_DENIED,
	 "scripted:a: failing as asked"},
	{"answer-before-fail", "answer", "fail", "scripted:a;scripted:b", "scripted:a", 0, NULL},
	{"decline-then-fail", "decline", "fail", "scripted:a;scripted:b", NULL, PXED_ERROR_DENIED,
	 "scripted:b: failing as asked"},
	{"all-decline", "decline", "decline", "scripted:a;scripted:b", NULL, PXED_ERROR_NOT_FOUND,
	 NULL},
	{"empty", "answer", "answer", "", NULL, PXED_ERROR_NOT_FOUND, NULL},
	{"silent-fail", "fail-silent", "answer", "scripted:a;scripted:b", NULL, PXED_ERROR_FAILED,
	 "scripted:a: "},
	{"answer-without-output", "answer-empty", "answer", "scripted:a;scripted:b", NULL,
	 PXED_ERROR_FAILED, "scripted:a: answered without"},
};

static PxedCore *
make_core(const char *dir, const Case *c, const char *kind)
{
	g_autofree char *confd = g_build_filename(dir, "conf.d", NULL);
	const char *dirs[] = {confd, NULL};
	g_autoptr(GPtrArray) problems = g_ptr_array_new_with_free_func(g_free);
	PxedCore *core;
	g_autofree char *conf = NULL;
	gboolean silent_a = g_str_equal(c->a, "fail-silent");

	conf = g_strdup_printf("[scripted:a]\n%s=%s\nsilent=%s\n[scripted:b]\n%s=%s\n"
			       "[pipeline]\n%s=%s\n",
			       kind, silent_a ? "fail" : c->a, silent_a ? "true" : "false", kind,
			       c->b, g_str_equal(kind, "file") ? "tftp" : "boot", c->pipeline);
	pxed_test_write_file(confd, "10.conf", conf);
	core = pxed_core_new(NULL, dirs, plugin_dirs);
	if (!pxed_core_load(core, FALSE, problems)) {
		for (guint i = 0; i < problems->len; i++)
			g_printerr("%s\n", (const char *)g_ptr_array_index(problems, i));
		g_assert_not_reached();
	}
	return core;
}

static void
check_error(const Case *c, GError *error)
{
	g_assert_error(error, PXED_ERROR, c->code);
	if (c->message != NULL)
		g_assert_true(g_str_has_prefix(error->message, c->message));
}

static void
test_file_case(gconstpointer data)
{
	const Case *c = data;
	g_autofree char *dir = pxed_test_tmpdir_new();
	g_autoptr(PxedCore) core = make_core(dir, c, "file");
	g_autoptr(GError) error = NULL;
	g_autoptr(PxedClient) client = pxed_client_new();
	g_autoptr(PxedFile) file =
		pxed_core_open_file(core, PXED_VIA_TFTP, client, "/x/y", NULL, &error);

	if (c->origin != NULL) {
		g_autofree char *expect = g_strdup_printf("%s:x/y", c->origin);
		char buf[64] = {0};
		g_assert_no_error(error);
		g_assert_cmpstr(pxed_file_get_origin(file), ==, c->origin);
		/* the backend saw the normalised path */
		g_assert_cmpint(pxed_file_read_at(file, 0, buf, sizeof(buf) - 1, NULL), ==,
				(gssize)strlen(expect));
		g_assert_cmpstr(buf, ==, expect);
	} else {
		g_assert_null(file);
		check_error(c, error);
	}
	pxed_test_tmpdir_free(g_steal_pointer(&dir));
}

static void
test_boot_case(gconstpointer data)
{
	const Case *c = data;
	g_autofree char *dir = pxed_test_tmpdir_new();
	g_autoptr(PxedCore) core = make_core(dir, c, "boot");
	g_autoptr(GError) error = NULL;
	g_autoptr(PxedClient) client = pxed_client_new_from_string("mac=52:54:00:00:00:01", NULL);
	g_autoptr(PxedBootReply) reply = pxed_core_boot(core, client, &error);

	if (c->origin != NULL) {
		g_autofree char *expect = g_strdup_printf("%s.0", c->origin);
		g_assert_no_error(error);
		g_assert_cmpstr(pxed_boot_reply_get_origin(reply), ==, c->origin);
		g_assert_cmpstr(pxed_boot_reply_get_filename(reply), ==, expect);
		g_assert_cmpstr(pxed_boot_reply_get_vendor_class(reply), ==, "PXEClient");
	} else {
		g_assert_null(reply);
		check_error(c, error);
	}
	pxed_test_tmpdir_free(g_steal_pointer(&dir));
}

static void
test_refused_path_reaches_no_backend(void)
{
	/* scripted:a answers everything: a '..' path must still never reach it */
	const Case c = {"x", "answer", "answer", "scripted:a", NULL, 0, NULL};
	g_autofree char *dir = pxed_test_tmpdir_new();
	g_autoptr(PxedCore) core = make_core(dir, &c, "file");
	g_autoptr(GError) error = NULL;
	g_autoptr(PxedFile) file =
		pxed_core_open_file(core, PXED_VIA_TFTP, NULL, "a/../../etc/passwd", NULL, &error);

	g_assert_null(file);
	g_assert_error(error, PXED_ERROR, PXED_ERROR_DENIED);
	g_clear_error(&error);
	/* the DHCP "via" has no file pipeline */
	g_assert_null(pxed_core_open_file(core, PXED_VIA_DHCP, NULL, "a", NULL, &error));
	g_assert_error(error, PXED_ERROR, PXED_ERROR_INVALID);
	pxed_test_tmpdir_free(g_steal_pointer(&dir));
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_setenv("PXED_STATE_DIR", g_get_tmp_dir(), TRUE);
	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autofree char *f = g_strdup_printf("/pipeline/file/%s", cases[i].name);
		g_autofree char *b = g_strdup_printf("/pipeline/boot/%s", cases[i].name);
		g_test_add_data_func(f, &cases[i], test_file_case);
		g_test_add_data_func(b, &cases[i], test_boot_case);
	}
	g_test_add_func("/pipeline/refused-path-reaches-no-backend",
			test_refused_path_reaches_no_backend);
	return g_test_run();
}
