/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Escaping as a property: for thousands of hostile values, rendering a
 * template and reading the result the way its consumer does (iPXE's
 * tokenizer, PXELINUX's lines and the kernel's argument splitting, a JSON
 * parser, a YAML parser) gives exactly the template's own structure, with
 * the value inside one argument / one string. Seeded: reproducible.
 */
#include <pxed/pxed.h>

#include <json-glib/json-glib.h>
#ifdef HAVE_YAML
#include <yaml.h>
#endif

#define MARK "PXEDVALUE"

/* ---- hostile values ---- */

static GPtrArray *
hostile_values(void)
{
	static const char *const fixed[] = {
		";",
		" ; ",
		"x ; chain http://elsewhere/p.ipxe",
		"#",
		" #",
		"#x",
		"||",
		"&&",
		"x || reboot",
		"a && b",
		"${",
		"${x}",
		"${hostname}",
		"$",
		"{",
		"}",
		"$ {x}",
		"\\",
		"x\\",
		"\\\\",
		"\"",
		"'",
		"''",
		"\"\"",
		"\n",
		"\r",
		"\r\n",
		"\n:label\nchain x",
		"%",
		"%41",
		"%zz",
		"%%",
		"-",
		"--",
		"--autofree",
		":",
		":menu",
		" ",
		"\t",
		"\v",
		"\f",
		"a b",
		"  lead",
		"trail  ",
		"\xc2\x85",
		"\xe2\x80\xa8",
		"\xe2\x80\xa9",
		"\xef\xbb\xbf",
		"\xef\xbf\xbe",
		"\xff\xfe",
		"\xc3\x28",
		"h\xc3\xa9",
		"yes",
		"null",
		"123",
		"~",
		"&anchor",
		"*alias",
		"!!binary x",
		"| block",
		"> fold",
		"key: value",
		"- item",
		"[a, b]",
		"{a: 1}",
		"a: b #c",
		"? k",
		"@",
		"`",
		"%YAML 1.1",
		"---",
		"...",
		"</script>",
		"\\u0000",
		"\\\"",
		"initrd=/evil",
		"x initrd=/evil",
		"\" init=/bin/sh \"",
	};
	static const char *const alphabet[] = {
		";",  "#",  "|", "||", "&",  "&&", "$",	 "{", "}",	  "${",
		"\\", "\"", "'", " ",  "\t", "\n", "\r", "%", "-",	  ":",
		",",  "[",  "]", "a",  "Z",  "0",  "/",	 "=", "\xc2\x85", "\xe2\x80\xa8"};
	g_autoptr(GRand) rand = g_rand_new_with_seed(20240611);
	GPtrArray *values = g_ptr_array_new_with_free_func(g_free);

	for (guint i = 0; i < G_N_ELEMENTS(fixed); i++)
		g_ptr_array_add(values, g_strdup(fixed[i]));
	/* every byte, alone and between letters */
	for (guint b = 1; b < 256; b++) {
		g_ptr_array_add(values, g_strdup_printf("%c", b));
		g_ptr_array_add(values, g_strdup_printf("a%cb", b));
	}
	/* long runs */
	for (guint i = 0; i < G_N_ELEMENTS(alphabet); i++) {
		GString *run = g_string_new(NULL);
		for (guint j = 0; j < 300; j++)
			g_string_append(run, alphabet[i]);
		g_ptr_array_add(values, g_string_free(run, FALSE));
	}
	/* random mixes: metacharacters and any byte */
	for (guint i = 0; i < 3000; i++) {
		GString *v = g_string_new(NULL);
		gint32 n = g_rand_int_range(rand, 1, 48);
		for (gint32 j = 0; j < n; j++) {
			if (g_rand_boolean(rand))
				g_string_append(v, alphabet[g_rand_int_range(
							   rand, 0, G_N_ELEMENTS(alphabet))]);
			else
				g_string_append_c(v, (char)g_rand_int_range(rand, 1, 256));
		}
		g_ptr_array_add(values, g_string_free(v, FALSE));
	}
	return values;
}

/* %XX decoded; a % without two hex digits stays */
static char *
pct_decode(const char *s)
{
	GString *out = g_string_new(NULL);
	for (const char *p = s; *p != '\0'; p++) {
		if (p[0] == '%' && g_ascii_isxdigit(p[1]) && g_ascii_isxdigit(p[2])) {
			g_string_append_c(out, (char)(g_ascii_xdigit_value(p[1]) * 16 +
						      g_ascii_xdigit_value(p[2])));
			p += 2;
		} else {
			g_string_append_c(out, *p);
		}
	}
	return g_string_free(out, FALSE);
}

static char *
render(const char *text, PxedTemplateEscape escape, const char *value)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(PxedTemplate) t = pxed_template_new("t", text, escape, &error);
	g_autoptr(PxedTemplateVars) vars = pxed_template_vars_new();
	char *out;

	g_assert_no_error(error);
	pxed_template_vars_set(vars, "hostname", value);
	pxed_template_vars_set(vars, "query.serial", value);
	pxed_template_vars_set(vars, "mac", "52:54:00:00:00:01");
	out = pxed_template_render(t, vars, &error);
	g_assert_no_error(error);
	return out;
}

/* ---- iPXE, as src/image/script.c and src/core/exec.c read a script ---- */

static gboolean
ipxe_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

/* One string per command: "label|arg arg …|terminator", arguments joined by
 * \x01 so that any byte in them shows. */
static GPtrArray *
ipxe_commands(const char *script)
{
	GPtrArray *commands = g_ptr_array_new_with_free_func(g_free);
	g_auto(GStrv) raw = g_strsplit(script, "\n", -1);
	g_autoptr(GString) line = g_string_new(NULL);

	for (guint i = 0; raw[i] != NULL; i++) {
		const char *p;
		const char *label_start = NULL;
		gsize label_len = 0;
		g_autoptr(GPtrArray) tokens = g_ptr_array_new_with_free_func(g_free);

		g_string_append(line, raw[i]);
		if (line->len > 0 && line->str[line->len - 1] == '\r')
			g_string_truncate(line, line->len - 1);
		if (line->len > 0 && line->str[line->len - 1] == '\\') {
			/* a continuation: the next line joins this one */
			g_string_truncate(line, line->len - 1);
			continue;
		}
		p = line->str;
		while (ipxe_space(*p))
			p++;
		if (*p == ':') {
			label_start = ++p;
			while (*p != '\0' && !ipxe_space(*p))
				p++;
			label_len = p - label_start;
		}
		while (*p != '\0') {
			const char *start;
			while (ipxe_space(*p))
				p++;
			if (*p == '\0')
				break;
			for (start = p; *p != '\0' && !ipxe_space(*p); p++)
				;
			g_ptr_array_add(tokens, g_strndup(start, p - start));
		}
		{
			GString *cmd = g_string_new(NULL);
			g_string_append_len(cmd, label_start != NULL ? label_start : "", label_len);
			g_string_append_c(cmd, '|');
			for (guint t = 0; t < tokens->len; t++) {
				const char *tok = tokens->pdata[t];
				if (tok[0] == '#')
					break; /* a comment to the end of the line */
				if (g_str_equal(tok, ";") || g_str_equal(tok, "||") ||
				    g_str_equal(tok, "&&")) {
					g_string_append_printf(cmd, "|%s", tok);
					g_ptr_array_add(commands, g_string_free(cmd, FALSE));
					cmd = g_string_new("|");
					continue;
				}
				if (cmd->str[cmd->len - 1] != '|')
					g_string_append_c(cmd, '\x01');
				g_string_append(cmd, tok);
			}
			g_string_append_c(cmd, '|');
			g_ptr_array_add(commands, g_string_free(cmd, FALSE));
		}
		g_string_truncate(line, 0);
	}
	return commands;
}

/* @got matches @expected (rendered with MARK) with the value where MARK
 * was: each such piece decodes to the value, holds no ${ that iPXE would
 * expand, and the command list is the same. */
static void
assert_same_commands(GPtrArray *expected, GPtrArray *got, const char *value)
{
	g_autofree char *want = pct_decode(value);

	if (got->len != expected->len) {
		for (guint i = 0; i < got->len; i++)
			g_printerr("got: %s\n", (const char *)got->pdata[i]);
		g_error("value %s: %u commands, not %u", g_strescape(value, NULL), got->len,
			expected->len);
	}
	for (guint i = 0; i < expected->len; i++) {
		const char *e = expected->pdata[i];
		const char *g = got->pdata[i];
		const char *mark;

		while ((mark = strstr(e, MARK)) != NULL) {
			gsize head = mark - e;
			const char *tail = mark + strlen(MARK);
			const char *next = strstr(tail, MARK);
			gsize tail_len = next != NULL ? (gsize)(next - tail) : strlen(tail);
			const char *end;
			g_autofree char *tail_text = g_strndup(tail, tail_len);
			g_autofree char *piece = NULL;
			g_autofree char *decoded = NULL;

			/* the text before the value is the template's own */
			g_assert_cmpint(strncmp(e, g, head), ==, 0);
			g += head;
			/* the template's text after the value (none: the rest) */
			end = tail_len > 0 ? strstr(g, tail_text) : g + strlen(g);
			g_assert_nonnull(end);
			piece = g_strndup(g, end - g);
			/* one argument: no blank, no separator inside */
			g_assert_null(strpbrk(piece, " \t\n\r\v\f\x01|"));
			g_assert_null(strstr(piece, "${"));
			decoded = pct_decode(piece);
			g_assert_cmpstr(decoded, ==, want);
			e = tail;
			g = end;
		}
		g_assert_cmpstr(g, ==, e);
	}
}

static const char *const ipxe_templates[] = {
	"#!ipxe\nset h {{hostname}}\necho {{hostname}}\nchain http://pxed/ipxe?hostname="
	"{{hostname}}&mac={{mac}} || goto failed\necho pxed: {{hostname}} done\n"
	"x{{hostname}}y ; echo after\n:failed\nexit 1\n",
	"#!ipxe\necho {{hostname}}\nboot\n",
	"#!ipxe\nkernel {{query.serial|url}} || goto failed\nset x {{hostname|json}}\n",
};

static void
test_ipxe_property(void)
{
	g_autoptr(GPtrArray) values = hostile_values();
	guint checked = 0;

	for (guint t = 0; t < G_N_ELEMENTS(ipxe_templates); t++) {
		g_autofree char *plain = render(ipxe_templates[t], PXED_TEMPLATE_ESCAPE_IPXE, MARK);
		g_autoptr(GPtrArray) expected = ipxe_commands(plain);
		for (guint i = 0; i < values->len; i++) {
			const char *v = values->pdata[i];
			g_autofree char *text =
				render(ipxe_templates[t], PXED_TEMPLATE_ESCAPE_IPXE, v);
			g_autoptr(GPtrArray) got = ipxe_commands(text);
			g_autofree char *json = NULL;
			if (t == 2) {
				/* through the url filter first: still the value, once */
				const char *k = got->pdata[1];
				g_autofree char *piece = NULL;
				g_autofree char *decoded = NULL;
				g_assert_true(g_str_has_prefix(k, "|kernel\x01") &&
					      g_str_has_suffix(k, "|||"));
				piece = g_strndup(k + 8, strlen(k) - 11);
				g_assert_null(strpbrk(piece, "\x01|$"));
				decoded = pct_decode(piece);
				g_assert_cmpstr(decoded, ==, v);
				g_assert_cmpuint(got->len, ==, expected->len);
				continue;
			}
			assert_same_commands(expected, got, v);
			checked++;
		}
	}
	g_assert_cmpuint(checked, >, 6000);
}

/* the words filter: one argument per blank-separated word */
static void
test_ipxe_words(void)
{
	g_autoptr(GPtrArray) values = hostile_values();

	for (guint i = 0; i < values->len; i++) {
		const char *v = values->pdata[i];
		g_autofree char *text = render("kernel /k {{hostname | words}} || goto failed\n",
					       PXED_TEMPLATE_ESCAPE_IPXE, v);
		g_autoptr(GPtrArray) got = ipxe_commands(text);
		g_auto(GStrv) words = g_strsplit_set(v, " \t\n\v\f\r", -1);
		g_autoptr(GString) want = g_string_new("|kernel\x01/k");
		for (guint w = 0; words[w] != NULL; w++) {
			g_autofree char *e = NULL;
			if (words[w][0] == '\0')
				continue;
			e = pxed_template_escape(words[w], PXED_TEMPLATE_ESCAPE_IPXE);
			g_assert_null(strpbrk(e, " \t\n\r\v\f"));
			{
				g_autofree char *a = pct_decode(e);
				g_autofree char *b = pct_decode(words[w]);
				g_assert_cmpstr(a, ==, b);
			}
			g_string_append_printf(want, "\x01%s", e);
		}
		g_string_append(want, "|||");
		g_assert_cmpuint(got->len, ==, 3); /* kernel, goto, the empty last line */
		g_assert_cmpstr(got->pdata[0], ==, want->str);
	}
}

/* ---- PXELINUX: a directive per line; APPEND split as Linux splits ---- */

static GPtrArray *
pxelinux_lines(const char *config)
{
	GPtrArray *out = g_ptr_array_new_with_free_func(g_free);
	g_auto(GStrv) lines = g_strsplit(config, "\n", -1);

	for (guint i = 0; lines[i] != NULL; i++) {
		const char *p = lines[i];
		GString *line = g_string_new(NULL);
		gboolean quoted = FALSE;
		while (*p == ' ' || *p == '\t')
			p++;
		/* lib/cmdline.c next_arg(): blanks split, except inside "…" */
		for (; *p != '\0'; p++) {
			if (*p == '"')
				quoted = !quoted;
			if (!quoted && g_ascii_isspace(*p)) {
				if (line->len > 0 && line->str[line->len - 1] != '\x01')
					g_string_append_c(line, '\x01');
			} else {
				g_string_append_c(line, *p);
			}
		}
		g_ptr_array_add(out, g_string_free(line, FALSE));
	}
	return out;
}

static void
test_pxelinux_property(void)
{
	static const char tmpl[] = "DEFAULT t\nLABEL t\n  KERNEL {{hostname}}\n  APPEND "
				   "initrd=/i.img host={{hostname}} {{hostname}} console=ttyS0\n";
	g_autoptr(GPtrArray) values = hostile_values();
	g_autofree char *plain = render(tmpl, PXED_TEMPLATE_ESCAPE_LINE, MARK);
	g_autoptr(GPtrArray) expected = pxelinux_lines(plain);

	for (guint i = 0; i < values->len; i++) {
		const char *v = values->pdata[i];
		g_autofree char *text = render(tmpl, PXED_TEMPLATE_ESCAPE_LINE, v);
		g_autoptr(GPtrArray) got = pxelinux_lines(text);
		assert_same_commands(expected, got, v);
		/* no argument is `--`, after which the kernel hands the rest to init */
		g_assert_null(strstr(got->pdata[3], "\x01--\x01"));
	}
}

/* ---- ignition: JSON ---- */

static void
test_json_property(void)
{
	static const char tmpl[] = "{\"a\": \"{{hostname}}\", \"b\": {{hostname}}, "
				   "\"c\": [\"x{{hostname}}y\"], \"d\": {{hostname | json}}}";
	g_autoptr(GPtrArray) values = hostile_values();

	for (guint i = 0; i < values->len; i++) {
		const char *v = values->pdata[i];
		g_autofree char *text = render(tmpl, PXED_TEMPLATE_ESCAPE_JSON, v);
		g_autofree char *want = g_utf8_make_valid(v, -1);
		g_autofree char *xy = g_strdup_printf("x%sy", want);
		g_autoptr(JsonParser) parser = json_parser_new();
		g_autoptr(GError) error = NULL;
		JsonObject *o;

		json_parser_load_from_data(parser, text, -1, &error);
		g_assert_no_error(error);
		o = json_node_get_object(json_parser_get_root(parser));
		g_assert_cmpuint(json_object_get_size(o), ==, 4);
		g_assert_cmpstr(json_object_get_string_member(o, "a"), ==, want);
		g_assert_cmpstr(json_object_get_string_member(o, "b"), ==, want);
		g_assert_cmpstr(json_object_get_string_member(o, "d"), ==, want);
		g_assert_cmpuint(json_array_get_length(json_object_get_array_member(o, "c")), ==,
				 1);
		g_assert_cmpstr(
			json_array_get_string_element(json_object_get_array_member(o, "c"), 0), ==,
			xy);
	}
}

/* ---- cloud-config: YAML ---- */

#ifdef HAVE_YAML
static yaml_node_t *
yaml_get(yaml_document_t *doc, yaml_node_t *map, const char *key)
{
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *k = yaml_document_get_node(doc, p->key);
		if (g_str_equal((const char *)k->data.scalar.value, key))
			return yaml_document_get_node(doc, p->value);
	}
	g_error("no key %s", key);
	return NULL;
}

static const char *
yaml_string(yaml_node_t *node)
{
	g_assert_cmpint(node->type, ==, YAML_SCALAR_NODE);
	/* a quoted scalar: a string, never a YAML 1.1 bool, number or null */
	g_assert_cmpint(node->data.scalar.style, !=, YAML_PLAIN_SCALAR_STYLE);
	return (const char *)node->data.scalar.value;
}

/* what a '…' scalar or a comment can carry of @v */
static char *
literal(const char *v)
{
	g_autofree char *valid = g_utf8_make_valid(v, -1);
	GString *out = g_string_new(NULL);
	for (const char *p = valid; *p != '\0'; p = g_utf8_next_char(p)) {
		gunichar u = g_utf8_get_char(p);
		if (u != '\t' &&
		    (u < 0x20 || u == 0x7f || (u >= 0x80 && u <= 0x9f) || u == 0x2028 ||
		     u == 0x2029 || u == 0xfeff || u == 0xfffe || u == 0xffff))
			u = 0xfffd;
		g_string_append_unichar(out, u);
	}
	return g_string_free(out, FALSE);
}
#endif

static void
test_yaml_property(void)
{
#ifdef HAVE_YAML
	static const char tmpl[] = "#cloud-config {{hostname}}\n"
				   "hostname: {{hostname}}\n"
				   "quoted: \"{{hostname}}\"\n"
				   "single: '{{hostname}}'\n"
				   "mid: node-{{hostname}}-x\n"
				   "list:\n  - {{hostname}}\n  - \"pre {{hostname}} post\"\n"
				   "flow: [{{hostname}}, b]\n"
				   "# a comment: {{hostname}}\n"
				   "last: end\n";
	g_autoptr(GPtrArray) values = hostile_values();

	for (guint i = 0; i < values->len; i++) {
		const char *v = values->pdata[i];
		g_autofree char *text = render(tmpl, PXED_TEMPLATE_ESCAPE_YAML, v);
		g_autofree char *want = g_utf8_make_valid(v, -1);
		g_autofree char *pre = g_strdup_printf("pre %s post", want);
		g_autofree char *sq = literal(v);
		yaml_parser_t parser;
		yaml_document_t doc;
		yaml_node_t *root, *mid, *list, *flow;
		const char *m;
		g_autofree char *piece = NULL;

		g_assert_true(yaml_parser_initialize(&parser));
		yaml_parser_set_input_string(&parser, (const guchar *)text, strlen(text));
		if (!yaml_parser_load(&parser, &doc) || parser.error != YAML_NO_ERROR)
			g_error("%s: %s", text, parser.problem);
		root = yaml_document_get_root_node(&doc);
		g_assert_nonnull(root);
		g_assert_cmpint(root->type, ==, YAML_MAPPING_NODE);
		g_assert_cmpint(root->data.mapping.pairs.top - root->data.mapping.pairs.start, ==,
				7);
		g_assert_cmpstr(yaml_string(yaml_get(&doc, root, "hostname")), ==, want);
		g_assert_cmpstr(yaml_string(yaml_get(&doc, root, "quoted")), ==, want);
		g_assert_cmpstr(yaml_string(yaml_get(&doc, root, "single")), ==, sq);
		mid = yaml_get(&doc, root, "mid");
		g_assert_cmpint(mid->type, ==, YAML_SCALAR_NODE);
		m = (const char *)mid->data.scalar.value;
		g_assert_true(g_str_has_prefix(m, "node-") && g_str_has_suffix(m, "-x"));
		piece = g_strndup(m + 5, strlen(m) - 7);
		{
			g_autofree char *a = pct_decode(piece);
			g_autofree char *b = pct_decode(v);
			g_assert_cmpstr(a, ==, b);
		}
		list = yaml_get(&doc, root, "list");
		g_assert_cmpint(list->type, ==, YAML_SEQUENCE_NODE);
		g_assert_cmpint(list->data.sequence.items.top - list->data.sequence.items.start, ==,
				2);
		g_assert_cmpstr(yaml_string(yaml_document_get_node(
					&doc, list->data.sequence.items.start[0])),
				==, want);
		g_assert_cmpstr(yaml_string(yaml_document_get_node(
					&doc, list->data.sequence.items.start[1])),
				==, pre);
		flow = yaml_get(&doc, root, "flow");
		g_assert_cmpint(flow->type, ==, YAML_SEQUENCE_NODE);
		g_assert_cmpint(flow->data.sequence.items.top - flow->data.sequence.items.start, ==,
				2);
		g_assert_cmpstr(yaml_string(yaml_document_get_node(
					&doc, flow->data.sequence.items.start[0])),
				==, want);
		g_assert_cmpstr((const char *)yaml_get(&doc, root, "last")->data.scalar.value, ==,
				"end");
		yaml_document_delete(&doc);
		yaml_parser_delete(&parser);
	}
#else
	g_test_skip("built without libyaml");
#endif
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/escape/ipxe/property", test_ipxe_property);
	g_test_add_func("/escape/ipxe/words", test_ipxe_words);
	g_test_add_func("/escape/pxelinux/property", test_pxelinux_property);
	g_test_add_func("/escape/json/property", test_json_property);
	g_test_add_func("/escape/yaml/property", test_yaml_property);
	return g_test_run();
}
