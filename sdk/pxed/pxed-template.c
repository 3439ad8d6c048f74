/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "pxed.h"

typedef enum {
	NODE_TEXT,
	NODE_VAR,
	NODE_IF,
	NODE_EACH,
} NodeKind;

typedef enum {
	COND_SET,
	COND_NOT_SET,
	COND_EQ,
	COND_NE,
} CondKind;

typedef struct _Node Node;
struct _Node {
	NodeKind kind;
	guint line;
	char *text;	 /* TEXT: the text; VAR/IF/EACH: the variable name */
	GStrv filters;	 /* VAR */
	CondKind cond;	 /* IF */
	char *literal;	 /* IF with == / != */
	GPtrArray *body; /* IF (then), EACH */
	GPtrArray *alt;	 /* IF (else) */
};

struct _PxedTemplate {
	char *name;
	PxedTemplateEscape escape;
	GPtrArray *nodes;
};

struct _PxedTemplateVars {
	GHashTable *values; /* name -> GStrv */
};

static const char *const known_filters[] = {"url",   "json",  "basename", "upper",
					    "lower", "words", "raw",	  NULL};

static void
node_free(Node *node)
{
	g_free(node->text);
	g_strfreev(node->filters);
	g_free(node->literal);
	if (node->body != NULL)
		g_ptr_array_unref(node->body);
	if (node->alt != NULL)
		g_ptr_array_unref(node->alt);
	g_free(node);
}

static GPtrArray *
node_list_new(void)
{
	return g_ptr_array_new_with_free_func((GDestroyNotify)node_free);
}

/* ".metadata.x" -> "metadata.x"; "request.query.mac" -> "query.mac"; "." stays */
static char *
canonical_name(const char *raw)
{
	const char *name = raw;
	if (name[0] == '.' && name[1] != '\0')
		name++;
	if (g_str_has_prefix(name, "request.query."))
		return g_strconcat("query.", name + strlen("request.query."), NULL);
	return g_strdup(name);
}

static gboolean
valid_name(const char *name)
{
	static const char *const keywords[] = {"if", "else", "end", "each", "range", "not", NULL};
	if (g_str_equal(name, "."))
		return TRUE;
	if (name[0] == '\0' || g_strv_contains(keywords, name))
		return FALSE;
	for (const char *p = name; *p != '\0'; p++) {
		if (!g_ascii_isalnum(*p) && *p != '_' && *p != '-' && *p != '.')
			return FALSE;
	}
	return TRUE;
}

typedef struct {
	const PxedTemplate *tmpl;
	const char *p;
	guint line;
} Parser;

static gboolean fail(Parser *ps, guint line, GError **error, const char *format, ...)
	G_GNUC_PRINTF(4, 5);

static gboolean
fail(Parser *ps, guint line, GError **error, const char *format, ...)
{
	va_list args;
	g_autofree char *message = NULL;
	va_start(args, format);
	message = g_strdup_vprintf(format, args);
	va_end(args);
	g_set_error(error, PXED_ERROR, PXED_ERROR_INVALID, "%s:%u: %s", ps->tmpl->name, line,
		    message);
	return FALSE;
}

static void
advance_lines(Parser *ps, const char *from, const char *to)
{
	for (const char *c = from; c < to; c++) {
		if (*c == '\n')
			ps->line++;
	}
}

/* Parses nodes until {{ end }} / {{ else }} (returned in @stop) or the end. */
static gboolean
parse_nodes(Parser *ps, GPtrArray *out, char **stop, guint *stop_line, GError **error)
{
	*stop = NULL;
	while (*ps->p != '\0') {
		const char *open = strstr(ps->p, "{{");
		const char *close;
		g_autofree char *tag = NULL;
		guint line;

		if (open == NULL)
			open = ps->p + strlen(ps->p);
		if (open > ps->p) {
			Node *text = g_new0(Node, 1);
			text->kind = NODE_TEXT;
			text->line = ps->line;
			text->text = g_strndup(ps->p, open - ps->p);
			g_ptr_array_add(out, text);
			advance_lines(ps, ps->p, open);
			ps->p = open;
		}
		if (*ps->p == '\0')
			break;
		line = ps->line;
		close = strstr(open + 2, "}}");
		if (close == NULL)
			return fail(ps, line, error, "'{{' is never closed by '}}'");
		tag = g_strstrip(g_strndup(open + 2, close - open - 2));
		advance_lines(ps, open, close);
		ps->p = close + 2;

		if (tag[0] == '#')
			continue; /* comment */
		/* nothing to split into a name and filters below */
		if (tag[0] == '\0')
			return fail(ps, line, error, "an empty '{{}}'");
		if (g_str_equal(tag, "end") || g_str_equal(tag, "else")) {
			*stop = g_steal_pointer(&tag);
			*stop_line = line;
			return TRUE;
		}
		if (g_str_has_prefix(tag, "if ") || g_str_has_prefix(tag, "each ") ||
		    g_str_has_prefix(tag, "range ")) {
			gboolean is_if = g_str_has_prefix(tag, "if ");
			g_auto(GStrv) words = g_strsplit_set(strchr(tag, ' ') + 1, " \t", -1);
			g_autoptr(GPtrArray) parts = g_ptr_array_new();
			Node *node = g_new0(Node, 1);
			g_autofree char *inner_stop = NULL;
			guint inner_line = 0;

			for (guint i = 0; words[i] != NULL; i++) {
				if (words[i][0] != '\0')
					g_ptr_array_add(parts, words[i]);
			}
			node->kind = is_if ? NODE_IF : NODE_EACH;
			node->line = line;
			node->body = node_list_new();
			g_ptr_array_add(out, node);
			if (is_if && parts->len == 2 && g_str_equal(parts->pdata[0], "not")) {
				node->cond = COND_NOT_SET;
				node->text = canonical_name(parts->pdata[1]);
			} else if (is_if && parts->len == 3 &&
				   (g_str_equal(parts->pdata[1], "==") ||
				    g_str_equal(parts->pdata[1], "!="))) {
				const char *lit = parts->pdata[2];
				gsize n = strlen(lit);
				node->cond = g_str_equal(parts->pdata[1], "==") ? COND_EQ : COND_NE;
				node->text = canonical_name(parts->pdata[0]);
				if (n < 2 || lit[0] != '"' || lit[n - 1] != '"')
					return fail(ps, line, error,
						    "compare with a \"quoted\" text: %s", tag);
				node->literal = g_strndup(lit + 1, n - 2);
			} else if (parts->len == 1) {
				node->cond = COND_SET;
				node->text = canonical_name(parts->pdata[0]);
			} else {
				return fail(ps, line, error, "cannot read '{{%s}}'", tag);
			}
			if (!valid_name(node->text))
				return fail(ps, line, error, "'%s' is not a variable name",
					    node->text);
			if (!parse_nodes(ps, node->body, &inner_stop, &inner_line, error))
				return FALSE;
			if (inner_stop != NULL && g_str_equal(inner_stop, "else")) {
				if (!is_if)
					return fail(ps, inner_line, error,
						    "'else' inside 'each' (only 'if' has one)");
				g_clear_pointer(&inner_stop, g_free);
				node->alt = node_list_new();
				if (!parse_nodes(ps, node->alt, &inner_stop, &inner_line, error))
					return FALSE;
			}
			if (inner_stop == NULL || !g_str_equal(inner_stop, "end"))
				return fail(ps, line, error, "'%s' has no matching '{{end}}'", tag);
			continue;
		}
		{
			/* a variable with filters */
			g_auto(GStrv) pieces = g_strsplit(tag, "|", -1);
			Node *node = g_new0(Node, 1);
			g_autoptr(GStrvBuilder) filters = g_strv_builder_new();

			node->kind = NODE_VAR;
			node->line = line;
			node->text = canonical_name(g_strstrip(pieces[0]));
			g_ptr_array_add(out, node);
			if (!valid_name(node->text))
				return fail(ps, line, error, "'%s' is not a variable name",
					    node->text);
			for (guint i = 1; pieces[i] != NULL; i++) {
				g_strstrip(pieces[i]);
				if (!g_strv_contains(known_filters, pieces[i]))
					return fail(ps, line, error,
						    "unknown filter '%s' (url, json, basename, "
						    "upper, lower, words, raw)",
						    pieces[i]);
				g_strv_builder_add(filters, pieces[i]);
			}
			node->filters = g_strv_builder_end(filters);
		}
	}
	return TRUE;
}

PxedTemplate *
pxed_template_new(const char *name, const char *text, PxedTemplateEscape escape, GError **error)
{
	g_autoptr(PxedTemplate) self = g_atomic_rc_box_new0(PxedTemplate);
	Parser ps = {NULL, text, 1};
	g_autofree char *stop = NULL;
	guint stop_line = 0;

	self->name = g_strdup(name);
	self->escape = escape;
	self->nodes = node_list_new();
	ps.tmpl = self;
	if (!g_utf8_validate(text, -1, NULL)) {
		g_set_error(error, PXED_ERROR, PXED_ERROR_INVALID, "%s: not valid UTF-8", name);
		return NULL;
	}
	if (!parse_nodes(&ps, self->nodes, &stop, &stop_line, error))
		return NULL;
	if (stop != NULL) {
		fail(&ps, stop_line, error, "'{{%s}}' without an 'if' or 'each' to close", stop);
		return NULL;
	}
	return g_steal_pointer(&self);
}

PxedTemplate *
pxed_template_new_from_file(const char *path, PxedTemplateEscape escape, GError **error)
{
	g_autofree char *text = NULL;
	g_autoptr(GError) local = NULL;

	if (!g_file_get_contents(path, &text, NULL, &local)) {
		g_set_error(error, PXED_ERROR, PXED_ERROR_INVALID, "%s", local->message);
		return NULL;
	}
	return pxed_template_new(path, text, escape, error);
}

PxedTemplate *
pxed_template_ref(PxedTemplate *self)
{
	return g_atomic_rc_box_acquire(self);
}

/* Frees what @data holds; the reference count's box frees @data. */
static void
template_clear(gpointer data)
{
	PxedTemplate *self = data;

	g_free(self->name);
	if (self->nodes != NULL)
		g_ptr_array_unref(self->nodes);
}

void
pxed_template_unref(PxedTemplate *self)
{
	g_atomic_rc_box_release_full(self, template_clear);
}

const char *
pxed_template_get_name(PxedTemplate *self)
{
	return self->name;
}

/* ---- variables ---- */

PxedTemplateVars *
pxed_template_vars_new(void)
{
	PxedTemplateVars *self = g_new0(PxedTemplateVars, 1);
	self->values =
		g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify)g_strfreev);
	return self;
}

void
pxed_template_vars_free(PxedTemplateVars *self)
{
	g_hash_table_unref(self->values);
	g_free(self);
}

void
pxed_template_vars_set(PxedTemplateVars *self, const char *name, const char *value)
{
	const char *one[] = {value, NULL};
	if (value == NULL) {
		g_hash_table_remove(self->values, name);
		return;
	}
	g_hash_table_replace(self->values, g_strdup(name), g_strdupv((char **)one));
}

void
pxed_template_vars_set_list(PxedTemplateVars *self, const char *name, const char *const *values)
{
	const char *none[] = {NULL};
	g_hash_table_replace(self->values, g_strdup(name),
			     g_strdupv((char **)(values != NULL ? values : none)));
}

const char *
pxed_template_vars_get(PxedTemplateVars *self, const char *name)
{
	GStrv v = g_hash_table_lookup(self->values, name);
	return v != NULL ? v[0] : NULL;
}

/* ---- escaping ---- */

static gboolean
is_hex(char c)
{
	return g_ascii_isxdigit(c);
}

/* Whether byte @c may appear as itself inside one token (iPXE argument or
 * kernel argument). iPXE (src/core/exec.c, src/image/script.c) splits a
 * line at isspace() (space, \t, \n, \v, \f, \r), ends it at \n, joins it to
 * the next when it ends in `\`, treats the tokens `;`, `||`, `&&` as command
 * separators and a token starting with `#` as a comment, and expands `${…}`
 * inside every token until none is left (src/core/settings.c). Linux splits
 * its command line at spaces except inside "…" (lib/cmdline.c next_arg). So
 * the token alphabet is printable ASCII without " # $ % & ; \ { | } (and
 * `%` comes back as the start of %XX). */
static gboolean
token_char(guchar c)
{
	if (c <= 0x20 || c >= 0x7f)
		return FALSE;
	return strchr("\"#$%&;\\{|}", c) == NULL;
}

/* Inside a YAML plain scalar (not at its start): also no indicator that
 * could end it or begin a flow collection (YAML 1.2 §7.3.3). */
static gboolean
yaml_plain_char(guchar c)
{
	return g_ascii_isalnum(c) || strchr("-._~/=+@()", c) != NULL;
}

static void
percent(GString *out, guchar c)
{
	g_string_append_printf(out, "%%%02X", c);
}

/* One token: bytes outside @allowed become %XX; a %XX already there (a URL
 * or the url filter's output) stays, so this is idempotent. A leading `-`
 * (an option to iPXE's getopt, or `--`, the end of the kernel's own
 * arguments) and a leading `:` (an iPXE label) are encoded too. */
static void
append_token(GString *out, const char *value, gboolean (*allowed)(guchar))
{
	for (const char *p = value; *p != '\0'; p++) {
		guchar c = (guchar)*p;
		if (c == '%' && is_hex(p[1]) && is_hex(p[2]))
			g_string_append_c(out, '%');
		else if (p == value && (c == '-' || c == ':'))
			percent(out, c);
		else if (allowed(c))
			g_string_append_c(out, (char)c);
		else
			percent(out, c);
	}
}

/* Characters a JSON string or a YAML double-quoted scalar must not hold as
 * themselves: JSON's controls (RFC 8259 §7), YAML's non-printables and its
 * extra line breaks U+0085, U+2028, U+2029 (YAML 1.1 §5.4, which cloud-init's
 * PyYAML reads), and the byte order mark. */
static gboolean
needs_u_escape(gunichar u)
{
	return u < 0x20 || u == 0x7f || (u >= 0x80 && u <= 0x9f) || u == 0x2028 || u == 0x2029 ||
	       u == 0xfeff || u == 0xfffe || u == 0xffff;
}

/* The inside of a JSON string / YAML "…" scalar; invalid UTF-8 becomes
 * U+FFFD, as neither format can carry it. */
static void
append_json_content(GString *out, const char *value)
{
	g_autofree char *valid = g_utf8_make_valid(value, -1);
	for (const char *p = valid; *p != '\0'; p = g_utf8_next_char(p)) {
		gunichar u = g_utf8_get_char(p);
		if (u == '"' || u == '\\')
			g_string_append_printf(out, "\\%c", (char)u);
		else if (u == '\n')
			g_string_append(out, "\\n");
		else if (u == '\t')
			g_string_append(out, "\\t");
		else if (u == '\r')
			g_string_append(out, "\\r");
		else if (needs_u_escape(u))
			g_string_append_printf(out, "\\u%04x", u);
		else
			g_string_append_len(out, p, g_utf8_next_char(p) - p);
	}
}

/* Text where YAML has no escapes (a '…' scalar, a comment): what it cannot
 * hold, line breaks included, becomes U+FFFD; `'` doubles when @quote. */
static void
append_yaml_literal(GString *out, const char *value, gboolean quote)
{
	g_autofree char *valid = g_utf8_make_valid(value, -1);
	for (const char *p = valid; *p != '\0'; p = g_utf8_next_char(p)) {
		gunichar u = g_utf8_get_char(p);
		if (u == '\t' || !needs_u_escape(u))
			g_string_append_len(out, p, g_utf8_next_char(p) - p);
		else
			g_string_append_unichar(out, 0xfffd);
		if (quote && u == '\'')
			g_string_append_c(out, '\'');
	}
}

static void
append_escaped(GString *out, const char *value, PxedTemplateEscape escape)
{
	switch (escape) {
	case PXED_TEMPLATE_ESCAPE_IPXE:
	case PXED_TEMPLATE_ESCAPE_LINE:
		append_token(out, value, token_char);
		break;
	case PXED_TEMPLATE_ESCAPE_JSON:
	case PXED_TEMPLATE_ESCAPE_YAML:
		append_json_content(out, value);
		break;
	case PXED_TEMPLATE_ESCAPE_NONE:
	default:
		g_string_append(out, value);
		break;
	}
}

char *
pxed_template_escape(const char *value, PxedTemplateEscape escape)
{
	GString *out = g_string_sized_new(strlen(value) + 8);
	append_escaped(out, value, escape);
	return g_string_free(out, FALSE);
}

static gboolean
is_word_space(char c)
{
	/* iPXE's isspace() (src/core/ctype.c) */
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

static void
append_words(GString *out, const char *value, PxedTemplateEscape escape)
{
	gboolean first = TRUE;
	const char *p = value;

	if (escape != PXED_TEMPLATE_ESCAPE_IPXE && escape != PXED_TEMPLATE_ESCAPE_LINE) {
		append_escaped(out, value, escape);
		return;
	}
	while (*p != '\0') {
		const char *end;
		g_autofree char *word = NULL;
		while (is_word_space(*p))
			p++;
		if (*p == '\0')
			break;
		for (end = p; *end != '\0' && !is_word_space(*end); end++)
			;
		word = g_strndup(p, end - p);
		if (!first)
			g_string_append_c(out, ' ');
		append_token(out, word, token_char);
		first = FALSE;
		p = end;
	}
}

char *
pxed_template_escape_words(const char *value, PxedTemplateEscape escape)
{
	GString *out = g_string_sized_new(strlen(value) + 8);
	append_words(out, value, escape);
	return g_string_free(out, FALSE);
}

/* ---- rendering ---- */

static char *
apply_filter(const char *filter, const char *value)
{
	if (g_str_equal(filter, "url"))
		return g_uri_escape_string(value, NULL, FALSE);
	if (g_str_equal(filter, "json")) {
		g_autoptr(GString) out = g_string_new("\"");
		append_json_content(out, value);
		g_string_append_c(out, '"');
		return g_string_free(g_steal_pointer(&out), FALSE);
	}
	if (g_str_equal(filter, "basename")) {
		const char *slash = strrchr(value, '/');
		return g_strdup(slash != NULL ? slash + 1 : value);
	}
	if (g_str_equal(filter, "upper"))
		return g_ascii_strup(value, -1);
	if (g_str_equal(filter, "lower"))
		return g_ascii_strdown(value, -1);
	return g_strdup(value); /* words, raw: applied when the value is written */
}

/* Where the output stands in a JSON or YAML document, so that a value is
 * written as what fits there: a whole quoted string outside one, its inside
 * within one. Only template text moves this; values never do, as each is
 * written complete for the place it lands in. */
typedef enum {
	AT_PLAIN,
	AT_DQ,	     /* inside "…" */
	AT_DQ_ESC,   /* just after a backslash inside "…" */
	AT_SQ,	     /* inside '…' (YAML) */
	AT_SQ_QUOTE, /* a ' inside '…': its end, or the first of '' */
	AT_COMMENT,  /* YAML # … to the end of the line */
} Place;

typedef struct {
	PxedTemplate *tmpl;
	PxedTemplateVars *vars;
	const char *item; /* {{.}} inside each */
	GString *out;
	Place place;
	char prev;	    /* YAML: the last character written, '\n' at the start */
	char last_nonspace; /* YAML: the last non-blank one on this line, or 0 */
} Render;

/* YAML: may a scalar start here? At a line's start, after `key: `, `- `,
 * `? ` and inside a flow collection (YAML 1.2 §6, §7.4). */
static gboolean
yaml_scalar_start(Render *r)
{
	if (r->prev == '[' || r->prev == '{' || r->prev == ',')
		return TRUE;
	if (r->prev != ' ' && r->prev != '\t' && r->prev != '\n')
		return FALSE;
	return r->last_nonspace == 0 || strchr(":-?[{,", r->last_nonspace) != NULL;
}

static void
yaml_wrote(Render *r, char c)
{
	r->prev = c;
	if (c == '\n')
		r->last_nonspace = 0;
	else if (c != ' ' && c != '\t')
		r->last_nonspace = c;
}

static void
track(Render *r, const char *text)
{
	gboolean yaml = r->tmpl->escape == PXED_TEMPLATE_ESCAPE_YAML;

	if (!yaml && r->tmpl->escape != PXED_TEMPLATE_ESCAPE_JSON)
		return;
	for (const char *p = text; *p != '\0'; p++) {
		char c = *p;
		switch (r->place) {
		case AT_PLAIN:
			if (c == '"' && (!yaml || yaml_scalar_start(r)))
				r->place = AT_DQ;
			else if (yaml && c == '\'' && yaml_scalar_start(r))
				r->place = AT_SQ;
			else if (yaml && c == '#' &&
				 (r->prev == ' ' || r->prev == '\t' || r->prev == '\n'))
				r->place = AT_COMMENT;
			break;
		case AT_DQ:
			if (c == '\\')
				r->place = AT_DQ_ESC;
			else if (c == '"')
				r->place = AT_PLAIN;
			break;
		case AT_DQ_ESC:
			r->place = AT_DQ;
			break;
		case AT_SQ:
			if (c == '\'')
				r->place = AT_SQ_QUOTE;
			break;
		case AT_SQ_QUOTE:
			if (c == '\'') {
				r->place = AT_SQ;
			} else {
				r->place = AT_PLAIN;
				p--; /* this character is outside: look at it again */
				continue;
			}
			break;
		case AT_COMMENT:
			if (c == '\n')
				r->place = AT_PLAIN;
			break;
		}
		if (yaml)
			yaml_wrote(r, c);
	}
}

static void
write_text(Render *r, const char *text)
{
	g_string_append(r->out, text);
	track(r, text);
}

/* Writes a value for the consumer of this template. @quoted: the json
 * filter made it a whole JSON string already. */
static gboolean
write_value(Render *r, Node *node, const char *value, gboolean quoted, gboolean words,
	    GError **error)
{
	PxedTemplateEscape escape = r->tmpl->escape;
	gboolean yaml = escape == PXED_TEMPLATE_ESCAPE_YAML;

	if (escape != PXED_TEMPLATE_ESCAPE_JSON && !yaml) {
		if (words)
			append_words(r->out, value, escape);
		else
			append_escaped(r->out, value, escape);
		return TRUE;
	}
	if (r->place == AT_SQ_QUOTE) {
		/* '…'{{x}}: the quoted scalar has ended */
		r->place = AT_PLAIN;
	}
	switch (r->place) {
	case AT_PLAIN:
		if (yaml && !yaml_scalar_start(r)) {
			/* in the middle of a plain scalar: one unquotable run */
			append_token(r->out, value, yaml_plain_char);
			yaml_wrote(r, 'x');
		} else if (quoted) {
			g_string_append(r->out, value);
		} else {
			g_string_append_c(r->out, '"');
			append_json_content(r->out, value);
			g_string_append_c(r->out, '"');
			if (yaml)
				yaml_wrote(r, '"');
		}
		return TRUE;
	case AT_DQ:
		append_json_content(r->out, value);
		return TRUE;
	case AT_SQ:
		append_yaml_literal(r->out, value, TRUE);
		return TRUE;
	case AT_COMMENT:
		append_yaml_literal(r->out, value, FALSE);
		return TRUE;
	case AT_DQ_ESC:
	case AT_SQ_QUOTE:
	default:
		break;
	}
	g_set_error(error, PXED_ERROR, PXED_ERROR_INVALID,
		    "%s:%u: a value right after a backslash in a quoted string", r->tmpl->name,
		    node->line);
	return FALSE;
}

static GStrv
lookup(Render *r, const char *name, const char **item)
{
	if (g_str_equal(name, ".")) {
		*item = r->item;
		return NULL;
	}
	*item = NULL;
	return g_hash_table_lookup(r->vars->values, name);
}

static gboolean
is_set(Render *r, const char *name)
{
	const char *item;
	GStrv v = lookup(r, name, &item);
	if (item != NULL)
		return item[0] != '\0';
	return v != NULL && v[0] != NULL && (v[1] != NULL || v[0][0] != '\0');
}

static gboolean render_nodes(Render *r, GPtrArray *nodes, GError **error);

static gboolean
render_node(Render *r, Node *node, GError **error)
{
	const char *item = NULL;
	GStrv values;

	switch (node->kind) {
	case NODE_TEXT:
		write_text(r, node->text);
		return TRUE;
	case NODE_VAR: {
		g_autofree char *value = NULL;
		values = lookup(r, node->text, &item);
		if (item == NULL && (values == NULL || values[0] == NULL)) {
			g_set_error(error, PXED_ERROR, PXED_ERROR_INVALID,
				    "%s:%u: unknown variable '%s'", r->tmpl->name, node->line,
				    g_str_equal(node->text, ".") ? ". (outside each)" : node->text);
			return FALSE;
		}
		value = g_strdup(item != NULL ? item : values[0]);
		for (guint i = 0; node->filters[i] != NULL; i++) {
			char *next = apply_filter(node->filters[i], value);
			g_free(value);
			value = next;
		}
		if (g_strv_contains((const char *const *)node->filters, "raw")) {
			/* the template's author asked for the value as it is */
			write_text(r, value);
			return TRUE;
		}
		{
			guint n = g_strv_length(node->filters);
			gboolean quoted = n > 0 && g_str_equal(node->filters[n - 1], "json");
			gboolean words =
				g_strv_contains((const char *const *)node->filters, "words");
			return write_value(r, node, value, quoted, words, error);
		}
	}
	case NODE_IF: {
		gboolean take;
		if (node->cond == COND_SET || node->cond == COND_NOT_SET) {
			take = is_set(r, node->text) == (node->cond == COND_SET);
		} else {
			values = lookup(r, node->text, &item);
			if (item == NULL && values != NULL)
				item = values[0];
			take = (g_strcmp0(item, node->literal) == 0) == (node->cond == COND_EQ);
		}
		if (take)
			return render_nodes(r, node->body, error);
		return node->alt == NULL || render_nodes(r, node->alt, error);
	}
	case NODE_EACH: {
		const char *saved = r->item;
		values = lookup(r, node->text, &item);
		if (item != NULL) {
			/* each over a single item: once */
			return render_nodes(r, node->body, error);
		}
		for (guint i = 0; values != NULL && values[i] != NULL; i++) {
			r->item = values[i];
			if (!render_nodes(r, node->body, error)) {
				r->item = saved;
				return FALSE;
			}
		}
		r->item = saved;
		return TRUE;
	}
	}
	return TRUE;
}

static gboolean
render_nodes(Render *r, GPtrArray *nodes, GError **error)
{
	for (guint i = 0; i < nodes->len; i++) {
		if (!render_node(r, g_ptr_array_index(nodes, i), error))
			return FALSE;
	}
	return TRUE;
}

char *
pxed_template_render(PxedTemplate *self, PxedTemplateVars *vars, GError **error)
{
	Render r = {self, vars, NULL, g_string_new(NULL), AT_PLAIN, '\n', 0};

	if (!render_nodes(&r, self->nodes, error)) {
		g_string_free(r.out, TRUE);
		return NULL;
	}
	return g_string_free(r.out, FALSE);
}
