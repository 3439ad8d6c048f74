/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The template language (sdk/pxed/pxed-template.c): parsing any text, and
 * rendering it with hostile values — values come from inventory data and from
 * what clients say about themselves (iPXE's query, DHCP's host name).
 *
 * Input: byte 0 picks the escape, then the template text up to the first NUL,
 * then NUL-separated values for `a`, `b`, `metadata.c` and the list `l`.
 * Besides "no crash", the escape's promise is checked on `{{a}}` alone: one
 * token with no metacharacter for iPXE and PXELINUX, one JSON string equal to
 * the value for ignition, one quoted scalar on one line for cloud-config.
 */
#include <json-glib/json-glib.h>
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
	case PXED_TEMPLATE_ESCAPE_LINE:
		/* one token: nothing iPXE's tokenizer or the kernel's command line
		 * parser gives a meaning, no control character, no leading option */
		for (const char *p = out; *p != '\0'; p++) {
			g_assert_cmpint((guchar)*p, >, 0x20);
			g_assert_cmpint((guchar)*p, <, 0x7f);
			g_assert_null(strchr("\";#$&{|}\\", *p));
		}
		g_assert_true(out[0] != '-' && out[0] != ':');
		break;
	case PXED_TEMPLATE_ESCAPE_JSON: {
		/* a value standing alone is one whole JSON string */
		g_autoptr(JsonParser) parser = json_parser_new();
		JsonNode *root;
		g_assert_true(json_parser_load_from_data(parser, out, -1, NULL));
		root = json_parser_get_root(parser);
		g_assert_nonnull(root);
		g_assert_cmpint(json_node_get_value_type(root), ==, G_TYPE_STRING);
		if (g_utf8_validate(value, -1, NULL))
			g_assert_cmpstr(json_node_get_string(root), ==, value);
		break;
	}
	case PXED_TEMPLATE_ESCAPE_YAML:
		/* where a scalar starts: one "…" scalar, on one line */
		g_assert_null(strpbrk(out, "\r\n"));
		if (value[0] != '\0') {
			gsize len = strlen(out);
			g_assert_cmpuint(len, >=, 2);
			g_assert_cmpint(out[0], ==, '"');
			g_assert_cmpint(out[len - 1], ==, '"');
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
	escape = data[0] % 5;
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
