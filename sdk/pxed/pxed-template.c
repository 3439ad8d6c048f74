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
	gint refcount;
	char *name;
	PxedTemplateEscape escape;
	GPtrArray *nodes;
};

struct _PxedTemplateVars {
	GHashTable *values; /* name -> GStrv */
};

static const char *const known_filters[] = {"url", "json", "basename", "upper", "lower", NULL};

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
						    "upper, lower)",
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
	g_autoptr(PxedTemplate) self = g_new0(PxedTemplate, 1);
	Parser ps = {NULL, text, 1};
	g_autofree char *stop = NULL;
	guint stop_line = 0;

	self->refcount = 1;
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
	g_atomic_int_inc(&self->refcount);
	return self;
}

void
pxed_template_unref(PxedTemplate *self)
{
	if (!g_atomic_int_dec_and_test(&self->refcount))
		return;
	g_free(self->name);
	if (self->nodes != NULL)
		g_ptr_array_unref(self->nodes);
	g_free(self);
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

/* ---- rendering ---- */

char *
pxed_template_escape(const char *value, PxedTemplateEscape escape)
{
	GString *out;

	if (escape == PXED_TEMPLATE_ESCAPE_NONE)
		return g_strdup(value);
	out = g_string_sized_new(strlen(value) + 8);
	for (const char *p = value; *p != '\0'; p++) {
		char c = *p;
		switch (escape) {
		case PXED_TEMPLATE_ESCAPE_IPXE:
			if (c == '\n' || c == '\r' || c == '\t') {
				g_string_append_c(out, ' ');
			} else if (c == '$' && p[1] == '{') {
				g_string_append(out, "$ ");
			} else if ((c == '|' || c == '&') && p[1] == c) {
				g_string_append_c(out, c);
				g_string_append_c(out, ' ');
			} else {
				g_string_append_c(out, c);
			}
			break;
		case PXED_TEMPLATE_ESCAPE_LINE:
			g_string_append_c(out, (c == '\n' || c == '\r') ? ' ' : c);
			break;
		case PXED_TEMPLATE_ESCAPE_JSON:
			if (c == '"' || c == '\\')
				g_string_append_printf(out, "\\%c", c);
			else if (c == '\n')
				g_string_append(out, "\\n");
			else if (c == '\t')
				g_string_append(out, "\\t");
			else if (c == '\r')
				g_string_append(out, "\\r");
			else if ((guchar)c < 0x20)
				g_string_append_printf(out, "\\u%04x", (guchar)c);
			else
				g_string_append_c(out, c);
			break;
		case PXED_TEMPLATE_ESCAPE_NONE:
		default:
			g_string_append_c(out, c);
			break;
		}
	}
	return g_string_free(out, FALSE);
}

static char *
apply_filter(const char *filter, const char *value)
{
	if (g_str_equal(filter, "url"))
		return g_uri_escape_string(value, NULL, FALSE);
	if (g_str_equal(filter, "json")) {
		g_autofree char *inner = pxed_template_escape(value, PXED_TEMPLATE_ESCAPE_JSON);
		return g_strdup_printf("\"%s\"", inner);
	}
	if (g_str_equal(filter, "basename")) {
		const char *slash = strrchr(value, '/');
		return g_strdup(slash != NULL ? slash + 1 : value);
	}
	if (g_str_equal(filter, "upper"))
		return g_ascii_strup(value, -1);
	if (g_str_equal(filter, "lower"))
		return g_ascii_strdown(value, -1);
	return g_strdup(value);
}

typedef struct {
	PxedTemplate *tmpl;
	PxedTemplateVars *vars;
	const char *item; /* {{.}} inside each */
	GString *out;
} Render;

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
		g_string_append(r->out, node->text);
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
		{
			g_autofree char *escaped = pxed_template_escape(value, r->tmpl->escape);
			g_string_append(r->out, escaped);
		}
		return TRUE;
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
	Render r = {self, vars, NULL, g_string_new(NULL)};

	if (!render_nodes(&r, self->nodes, error)) {
		g_string_free(r.out, TRUE);
		return NULL;
	}
	return g_string_free(r.out, FALSE);
}
