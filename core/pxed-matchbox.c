/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "pxed-matchbox.h"

#include <json-glib/json-glib.h>
#include <string.h>

#include "pxed-inventory-private.h"

/* Metadata values may be nested: flatten objects to dotted keys, keep other
 * values as their JSON text. */
static void
flatten_metadata(GHashTable *out, const char *prefix, JsonNode *node)
{
	if (JSON_NODE_HOLDS_OBJECT(node)) {
		JsonObject *o = json_node_get_object(node);
		g_autoptr(GList) members = json_object_get_members(o);
		for (GList *l = members; l != NULL; l = l->next) {
			g_autofree char *key = prefix[0] != '\0'
						       ? g_strconcat(prefix, ".", l->data, NULL)
						       : g_strdup(l->data);
			flatten_metadata(out, key, json_object_get_member(o, l->data));
		}
		return;
	}
	if (JSON_NODE_HOLDS_VALUE(node) && json_node_get_value_type(node) == G_TYPE_STRING) {
		g_hash_table_replace(out, g_strdup(prefix), g_strdup(json_node_get_string(node)));
		return;
	}
	g_hash_table_replace(out, g_strdup(prefix), json_to_string(node, FALSE));
}

/* @data: the file's contents when the caller has them, else %NULL: read @path */
static JsonObject *
read_json_object(const char *path, const char *data, gsize len, JsonParser *parser,
		 GPtrArray *problems)
{
	g_autoptr(GError) error = NULL;
	JsonNode *root;
	gboolean ok = data != NULL ? json_parser_load_from_data(parser, data, (gssize)len, &error)
				   : json_parser_load_from_file(parser, path, &error);

	if (!ok) {
		/* json-glib names the file and the line itself */
		g_ptr_array_add(problems,
				g_str_has_prefix(error->message, path)
					? g_strdup(error->message)
					: g_strdup_printf("%s: %s", path, error->message));
		return NULL;
	}
	root = json_parser_get_root(parser);
	if (root == NULL || !JSON_NODE_HOLDS_OBJECT(root)) {
		g_ptr_array_add(problems, g_strdup_printf("%s: not a JSON object", path));
		return NULL;
	}
	return json_node_get_object(root);
}

static const char *
member_string(JsonObject *o, const char *name)
{
	JsonNode *n = json_object_get_member(o, name);
	if (n == NULL || !JSON_NODE_HOLDS_VALUE(n) || json_node_get_value_type(n) != G_TYPE_STRING)
		return NULL;
	return json_node_get_string(n);
}

/* json-glib's typed getters (json_object_get_object_member() …) log a
 * critical and return NULL for a member of another type: a data folder's
 * JSON is checked here instead, and a member of the wrong type is a problem. */
static gboolean
member_object(JsonObject *o, const char *name, const char *path, JsonObject **out,
	      GPtrArray *problems)
{
	JsonNode *n = json_object_get_member(o, name);

	*out = NULL;
	if (n == NULL || JSON_NODE_HOLDS_NULL(n))
		return TRUE;
	if (!JSON_NODE_HOLDS_OBJECT(n)) {
		g_ptr_array_add(problems,
				g_strdup_printf("%s: \"%s\" is not an object", path, name));
		return FALSE;
	}
	*out = json_node_get_object(n);
	return TRUE;
}

/* A list of strings (NULL-terminated), or %NULL with a problem when the
 * member is not one; an absent member is an empty list. */
static char **
member_strings(JsonObject *o, const char *name, const char *path, GPtrArray *problems)
{
	JsonNode *n = json_object_get_member(o, name);
	g_autoptr(GStrvBuilder) b = g_strv_builder_new();
	JsonArray *a;

	if (n != NULL && !JSON_NODE_HOLDS_NULL(n)) {
		if (!JSON_NODE_HOLDS_ARRAY(n)) {
			g_ptr_array_add(problems,
					g_strdup_printf("%s: \"%s\" is not a list", path, name));
			return NULL;
		}
		a = json_node_get_array(n);
		for (guint i = 0; i < json_array_get_length(a); i++) {
			JsonNode *e = json_array_get_element(a, i);
			if (!JSON_NODE_HOLDS_VALUE(e) ||
			    json_node_get_value_type(e) != G_TYPE_STRING) {
				g_ptr_array_add(
					problems,
					g_strdup_printf("%s: \"%s\" item %u is not a string", path,
							name, i));
				return NULL;
			}
			g_strv_builder_add(b, json_node_get_string(e));
		}
	}
	return g_strv_builder_end(b);
}

static void
load_matchbox_profile(PxedInventory *self, const char *dir, const char *path, const char *data,
		      gsize len, GPtrArray *problems)
{
	g_autoptr(JsonParser) parser = json_parser_new();
	JsonObject *o = read_json_object(path, data, len, parser, problems);
	JsonObject *boot;
	const char *id;
	PxedInventoryProfile *p;
	const struct {
		const char *member;
		const char *folder;
		const char *kind;
		PxedTemplateEscape escape;
	} refs[] = {
		{"ignition_id", "ignition", "ignition", PXED_TEMPLATE_ESCAPE_JSON},
		{"cloud_id", "cloud", "cloud", PXED_TEMPLATE_ESCAPE_YAML},
		{"generic_id", "generic", "generic", PXED_TEMPLATE_ESCAPE_NONE},
	};

	if (o == NULL)
		return;
	id = member_string(o, "id");
	if (id == NULL || id[0] == '\0') {
		g_ptr_array_add(problems, g_strdup_printf("%s: profile without an \"id\"", path));
		return;
	}
	if (pxed_inventory_has_profile(self, id)) {
		g_ptr_array_add(problems,
				g_strdup_printf("%s: profile '%s' is defined twice", path, id));
		return;
	}
	p = pxed_inventory_add_profile(self, id, path);
	member_object(o, "boot", path, &boot, problems);
	if (boot != NULL) {
		g_auto(GStrv) args = NULL;
		p->kernel = g_strdup(member_string(boot, "kernel"));
		if (json_object_has_member(boot, "initrd")) {
			char **initrds = member_strings(boot, "initrd", path, problems);
			if (initrds != NULL) {
				g_strfreev(p->initrds);
				p->initrds = initrds;
			}
		}
		if (json_object_has_member(boot, "args") &&
		    (args = member_strings(boot, "args", path, problems)) != NULL)
			p->args = g_strjoinv(" ", args);
	}
	for (guint i = 0; i < G_N_ELEMENTS(refs); i++) {
		const char *ref = member_string(o, refs[i].member);
		g_autofree char *file = NULL;
		g_autoptr(GError) error = NULL;
		PxedTemplate *tmpl;
		if (ref == NULL || ref[0] == '\0')
			continue;
		if (strchr(ref, '/') != NULL || g_str_equal(ref, "..")) {
			g_ptr_array_add(problems, g_strdup_printf("%s: %s '%s' is not a file name",
								  path, refs[i].member, ref));
			continue;
		}
		file = g_build_filename(dir, refs[i].folder, ref, NULL);
		tmpl = pxed_template_new_from_file(file, refs[i].escape, &error);
		if (tmpl == NULL) {
			g_ptr_array_add(problems, g_strdup_printf("%s: %s: %s", path,
								  refs[i].member, error->message));
			continue;
		}
		g_hash_table_replace(p->templates, g_strdup(refs[i].kind), tmpl);
	}
}

static void
load_matchbox_group(PxedInventory *self, const char *path, const char *data, gsize len,
		    GPtrArray *problems)
{
	g_autoptr(JsonParser) parser = json_parser_new();
	JsonObject *o = read_json_object(path, data, len, parser, problems);
	JsonObject *sel = NULL;
	const char *id;
	PxedInventoryGroup *g;

	if (o == NULL)
		return;
	id = member_string(o, "id");
	if (id == NULL || id[0] == '\0') {
		g_ptr_array_add(problems, g_strdup_printf("%s: group without an \"id\"", path));
		return;
	}
	g = pxed_inventory_group_new(id, path);
	g->profile = g_strdup(member_string(o, "profile"));
	if (g->profile == NULL) {
		g_ptr_array_add(problems, g_strdup_printf("%s: group without a \"profile\"", path));
		pxed_inventory_group_free(g);
		return;
	}
	if (!member_object(o, "selector", path, &sel, problems)) {
		pxed_inventory_group_free(g);
		return;
	}
	if (sel != NULL) {
		g_autoptr(GList) members = json_object_get_members(sel);
		for (GList *l = members; l != NULL; l = l->next) {
			g_autoptr(GError) error = NULL;
			const char *value = member_string(sel, l->data);
			if (value == NULL ||
			    !pxed_inventory_group_add_selector(g, l->data, value, &error))
				g_ptr_array_add(problems, g_strdup_printf("%s: selector %s: %s",
									  path, (char *)l->data,
									  error ? error->message
										: "not a string"));
		}
	}
	if (json_object_has_member(o, "metadata"))
		flatten_metadata(g->metadata, "", json_object_get_member(o, "metadata"));
	pxed_inventory_add_group(self, g);
}

/* g_ptr_array_sort() hands the comparison pointers to the elements. */
static gint
compare_strings(gconstpointer a, gconstpointer b)
{
	return g_strcmp0(*(const char *const *)a, *(const char *const *)b);
}

static GPtrArray *
json_files(const char *dir, const char *sub)
{
	g_autofree char *folder = g_build_filename(dir, sub, NULL);
	g_autoptr(GDir) d = g_dir_open(folder, 0, NULL);
	GPtrArray *files = g_ptr_array_new_with_free_func(g_free);
	const char *name;

	while (d != NULL && (name = g_dir_read_name(d)) != NULL) {
		if (g_str_has_suffix(name, ".json"))
			g_ptr_array_add(files, g_build_filename(folder, name, NULL));
	}
	g_ptr_array_sort(files, compare_strings);
	return files;
}

gboolean
pxed_matchbox_load(PxedInventory *self, const char *dir, GPtrArray *problems)
{
	g_autoptr(GPtrArray) profiles = json_files(dir, "profiles");
	g_autoptr(GPtrArray) groups = json_files(dir, "groups");
	guint before = problems->len;

	for (guint i = 0; i < profiles->len; i++)
		load_matchbox_profile(self, dir, g_ptr_array_index(profiles, i), NULL, 0, problems);
	for (guint i = 0; i < groups->len; i++)
		load_matchbox_group(self, g_ptr_array_index(groups, i), NULL, 0, problems);
	return problems->len == before;
}

gboolean
pxed_matchbox_load_data(PxedInventory *self, const char *dir, PxedMatchboxKind kind,
			const char *path, const char *data, gsize len, GPtrArray *problems)
{
	guint before = problems->len;

	if (kind == PXED_MATCHBOX_PROFILE)
		load_matchbox_profile(self, dir, path, data, len, problems);
	else
		load_matchbox_group(self, path, data, len, problems);
	return problems->len == before;
}
