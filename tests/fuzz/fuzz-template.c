/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The template language (sdk/pxed/pxed-template.c): parsing any text, and
 * rendering it with hostile values — values come from inventory data and from
 * what clients say about themselves (iPXE's query, DHCP's host name).
 *
 * Input: byte 0 picks the escape, then the template text up to the first NUL,
 * then NUL-separated values for `a`, `b`, `metadata.c` and the list `l`.
 * Besides "no crash", the escape's promise is checked on `{{a}}` alone: no
 * line break, `${`, `||` or `&&` for iPXE, no line break for PXELINUX, no
 * raw control character or unescaped quote for JSON.
 */
#include <pxed/pxed.h>
#include <string.h>

#include "fuzz-common.h"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	pxed_fuzz_init();
	return 0;
}

static void
check_escape(const char *value, PxedTemplateEscape escape, PxedTemplateVars *vars)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(PxedTemplate) t = pxed_template_new("a.tmpl", "{{a}}", escape, &error);
	g_autofree char *out = NULL;

	g_assert_nonnull(t);
	out = pxed_template_render(t, vars, &error);
	g_assert_no_error(error);
	g_assert_nonnull(out);
	switch (escape) {
	case PXED_TEMPLATE_ESCAPE_IPXE:
		g_assert_null(strpbrk(out, "\r\n"));
		g_assert_null(strstr(out, "${"));
		g_assert_null(strstr(out, "||"));
		g_assert_null(strstr(out, "&&"));
		break;
	case PXED_TEMPLATE_ESCAPE_LINE:
		g_assert_null(strpbrk(out, "\r\n"));
		break;
	case PXED_TEMPLATE_ESCAPE_JSON:
		for (const char *p = out; *p != '\0'; p++) {
			g_assert_cmpint((guchar)*p, >=, 0x20);
			if (*p == '\\') {
				g_assert_true(p[1] != '\0');
				p++;
			} else {
				g_assert_cmpint(*p, !=, '"');
			}
		}
		break;
	case PXED_TEMPLATE_ESCAPE_NONE:
	default:
		g_assert_cmpstr(out, ==, value);
		break;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	g_autoptr(PxedTemplateVars) vars = pxed_template_vars_new();
	g_autoptr(PxedTemplate) t = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree char *out = NULL;
	g_autofree char *copy = NULL;
	g_auto(GStrv) parts = NULL;
	PxedTemplateEscape escape;
	guint n;

	if (size < 1)
		return 0;
	escape = data[0] % 4;
	/* NUL-terminated pieces; a trailing piece without NUL counts too */
	copy = g_malloc(size);
	memcpy(copy, data + 1, size - 1);
	copy[size - 1] = '\0';
	parts = g_new0(char *, size + 1);
	n = 0;
	for (gsize off = 0; off < size; off += strlen(copy + off) + 1)
		parts[n++] = g_strdup(copy + off);

	pxed_template_vars_set(vars, "a", n > 1 ? parts[1] : "");
	if (n > 2)
		pxed_template_vars_set(vars, "b", parts[2]);
	if (n > 3)
		pxed_template_vars_set(vars, "metadata.c", parts[3]);
	if (n > 4)
		pxed_template_vars_set_list(vars, "l", (const char *const *)parts + 4);

	t = pxed_template_new("fuzz.tmpl", parts[0], escape, &error);
	if (t == NULL) {
		g_assert_nonnull(error);
	} else {
		out = pxed_template_render(t, vars, &error);
		g_assert_true((out == NULL) == (error != NULL));
	}
	check_escape(n > 1 ? parts[1] : "", escape, vars);
	return 0;
}
