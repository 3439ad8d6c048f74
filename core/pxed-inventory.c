/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "pxed-inventory.h"

#include <json-glib/json-glib.h>
#include <pxed/pxed-instance-private.h>

typedef struct {
	char *name;
	char *where; /* "FILE:LINE: [profile:x]" or "FILE: profile x", for messages */
	char *kernel;
	GStrv initrds;
	char *args;
	GHashTable *metadata;  /* key -> value */
	GHashTable *templates; /* kind -> PxedTemplate* */
} Profile;

typedef struct {
	char *key;
	char *value; /* canonical */
} Selector;

typedef struct {
	char *name;
	char *where;
	char *profile;
	GPtrArray *selectors; /* Selector* */
	GHashTable *metadata;
	char *mac;    /* the canonical mac selector, if any */
	guint weight; /* how identifying the selectors are: see selector_weight() */
	PxedMachine *machine;
} Group;

struct _PxedInventory {
	GHashTable *profiles; /* name -> Profile* */
	GPtrArray *groups;    /* Group*, in order read */
	GHashTable *by_mac;   /* canonical mac -> GPtrArray of Group* (borrowed) */
	GPtrArray *no_mac;    /* Group* without a mac selector (borrowed) */
	GHashTable *reserved; /* IPv4 (network order, GUINT_TO_POINTER) -> group name (borrowed) */
};

static const PxedKey profile_keys[] = {
	{"kernel", PXED_KEY_STRING, NULL, 0, 0, 0, "kernel path or URL", {NULL}},
	{"initrd", PXED_KEY_STRING_LIST, NULL, 0, 0, 0, "initrd paths or URLs", {NULL}},
	{"args", PXED_KEY_STRING, NULL, 0, 0, 0, "kernel command line", {NULL}},
	{"ipxe-template", PXED_KEY_FILE, NULL, 0, 0, 0, "iPXE script template", {NULL}},
	{"pxelinux-template", PXED_KEY_FILE, NULL, 0, 0, 0, "PXELINUX config template", {NULL}},
	{"cloud-config", PXED_KEY_FILE, NULL, 0, 0, 0, "cloud-config template", {NULL}},
	{"ignition", PXED_KEY_FILE, NULL, 0, 0, 0, "ignition template", {NULL}},
	{"generic", PXED_KEY_FILE, NULL, 0, 0, 0, "any other template", {NULL}},
	{"metadata.", PXED_KEY_STRING, NULL, 0, 0, PXED_KEY_FLAG_PREFIX, "template data", {NULL}},
	{NULL, 0, NULL, 0, 0, 0, NULL, {NULL}},
};

static const PxedKey group_keys[] = {
	{"profile",
	 PXED_KEY_STRING,
	 NULL,
	 0,
	 0,
	 PXED_KEY_FLAG_REQUIRED,
	 "the profile to boot",
	 {NULL}},
	{"selector.",
	 PXED_KEY_STRING,
	 NULL,
	 0,
	 0,
	 PXED_KEY_FLAG_PREFIX,
	 "mac, uuid, arch, hostname or any label the machine must have",
	 {NULL}},
	{"metadata.", PXED_KEY_STRING, NULL, 0, 0, PXED_KEY_FLAG_PREFIX, "template data", {NULL}},
	{NULL, 0, NULL, 0, 0, 0, NULL, {NULL}},
};

static const PxedKey inventory_keys[] = {
	{"matchbox-dir", PXED_KEY_DIRECTORY, NULL, 0, 0, 0, "a matchbox data folder", {NULL}},
	{NULL, 0, NULL, 0, 0, 0, NULL, {NULL}},
};

/* Template kinds: the key in a profile, the kind name, how values are escaped. */
static const struct {
	const char *key;
	const char *kind;
	PxedTemplateEscape escape;
} template_kinds[] = {
	{"ipxe-template", "ipxe", PXED_TEMPLATE_ESCAPE_IPXE},
	{"pxelinux-template", "pxelinux", PXED_TEMPLATE_ESCAPE_LINE},
	{"cloud-config", "cloud", PXED_TEMPLATE_ESCAPE_YAML},
	{"ignition", "ignition", PXED_TEMPLATE_ESCAPE_JSON},
	{"generic", "generic", PXED_TEMPLATE_ESCAPE_NONE},
};

static void
profile_free(Profile *p)
{
	g_free(p->name);
	g_free(p->where);
	g_free(p->kernel);
	g_strfreev(p->initrds);
	g_free(p->args);
	g_hash_table_unref(p->metadata);
	g_hash_table_unref(p->templates);
	g_free(p);
}

static Profile *
profile_new(const char *name, const char *where)
{
	Profile *p = g_new0(Profile, 1);
	p->name = g_strdup(name);
	p->where = g_strdup(where);
	p->initrds = g_new0(char *, 1);
	p->metadata = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	p->templates = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
					     (GDestroyNotify)pxed_template_unref);
	return p;
}

static void
selector_free(Selector *s)
{
	g_free(s->key);
	g_free(s->value);
	g_free(s);
}

static void
group_free(Group *g)
{
	g_free(g->name);
	g_free(g->where);
	g_free(g->profile);
	g_ptr_array_unref(g->selectors);
	g_hash_table_unref(g->metadata);
	g_free(g->mac);
	g_clear_pointer(&g->machine, pxed_machine_unref);
	g_free(g);
}

static Group *
group_new(const char *name, const char *where)
{
	Group *g = g_new0(Group, 1);
	g->name = g_strdup(name);
	g->where = g_strdup(where);
	g->selectors = g_ptr_array_new_with_free_func((GDestroyNotify)selector_free);
	g->metadata = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	return g;
}

PxedInventory *
pxed_inventory_new(void)
{
	PxedInventory *self = g_new0(PxedInventory, 1);
	self->profiles =
		g_hash_table_new_full(g_str_hash, g_str_equal, NULL, (GDestroyNotify)profile_free);
	self->groups = g_ptr_array_new_with_free_func((GDestroyNotify)group_free);
	self->by_mac = g_hash_table_new_full(g_str_hash, g_str_equal, NULL,
					     (GDestroyNotify)g_ptr_array_unref);
	self->no_mac = g_ptr_array_new();
	self->reserved = g_hash_table_new(NULL, NULL);
	return self;
}

void
pxed_inventory_free(PxedInventory *self)
{
	g_hash_table_unref(self->by_mac);
	g_ptr_array_unref(self->no_mac);
	g_hash_table_unref(self->reserved);
	g_ptr_array_unref(self->groups);
	g_hash_table_unref(self->profiles);
	g_free(self);
}

gboolean
pxed_inventory_owns_group(const char *group)
{
	return g_str_has_prefix(group, "profile:") || g_str_has_prefix(group, "group:") ||
	       g_str_equal(group, "inventory");
}

guint
pxed_inventory_get_group_count(PxedInventory *self)
{
	return self->groups->len;
}

gint
pxed_arch_from_string(const char *text)
{
	/* RFC 4578 §2.1 and the IANA processor architecture registry */
	static const struct {
		const char *name;
		gint arch;
	} names[] = {
		{"bios", 0},	   {"x86-bios", 0},	 {"efi-ia32", 6},
		{"efi-x64", 7},	   {"efi-bc", 9},	 {"efi-arm32", 10},
		{"efi-arm64", 11}, {"efi-x64-http", 16}, {"efi-arm64-http", 19},
	};
	guint64 value = 0;

	for (guint i = 0; i < G_N_ELEMENTS(names); i++) {
		if (g_ascii_strcasecmp(text, names[i].name) == 0)
			return names[i].arch;
	}
	if (g_ascii_string_to_unsigned(text, 10, 0, 65535, &value, NULL))
		return (gint)value;
	return -1;
}

/* Canonical form of a selector value, so that matching is a string compare. */
static char *
canonical_selector(const char *key, const char *value, GError **error)
{
	if (g_str_equal(key, "mac")) {
		g_autoptr(PxedClient) c = pxed_client_new();
		if (!pxed_client_set_mac_string(c, value, error))
			return NULL;
		return g_strdup(pxed_client_get_mac_string(c));
	}
	if (g_str_equal(key, "uuid")) {
		g_autoptr(PxedClient) c = pxed_client_new();
		if (!pxed_client_set_uuid_string(c, value, error))
			return NULL;
		return g_strdup(pxed_client_get_uuid_string(c));
	}
	if (g_str_equal(key, "arch")) {
		gint arch = pxed_arch_from_string(value);
		if (arch < 0) {
			g_set_error(error, PXED_ERROR, PXED_ERROR_INVALID,
				    "'%s' is not an architecture (a number, or bios, efi-ia32, "
				    "efi-x64, efi-bc, efi-arm32, efi-arm64, efi-x64-http, "
				    "efi-arm64-http)",
				    value);
			return NULL;
		}
		return g_strdup_printf("%d", arch);
	}
	if (g_str_equal(key, "hostname"))
		return g_ascii_strdown(value, -1);
	if (key[0] == '\0') {
		g_set_error_literal(error, PXED_ERROR, PXED_ERROR_INVALID, "empty selector name");
		return NULL;
	}
	return g_strdup(value);
}

/* Between groups with as many selectors, the one whose selectors identify a
 * machine more narrowly wins: a UUID names one machine, a MAC one NIC, a
 * hostname one name, an architecture a whole class, a label whatever it says. */
static guint
selector_weight(const char *key)
{
	if (g_str_equal(key, "uuid"))
		return 16;
	if (g_str_equal(key, "mac"))
		return 8;
	if (g_str_equal(key, "hostname"))
		return 4;
	if (g_str_equal(key, "arch"))
		return 2;
	return 1;
}

static gboolean
add_selector(Group *g, const char *key, const char *value, GError **error)
{
	Selector *s;
	char *canon = canonical_selector(key, value, error);

	if (canon == NULL)
		return FALSE;
	s = g_new0(Selector, 1);
	s->key = g_ascii_strdown(key, -1);
	s->value = canon;
	g_ptr_array_add(g->selectors, s);
	g->weight += selector_weight(s->key);
	if (g_str_equal(s->key, "mac"))
		g->mac = g_strdup(canon);
	return TRUE;
}

/* ---- conf.d ---- */

static void
load_profile(PxedInventory *self, PxedConfig *config, const char *group, GPtrArray *problems)
{
	GKeyFile *kf = pxed_config_get_keyfile(config);
	const char *name = group + strlen("profile:");
	g_autoptr(GKeyFile) values = NULL;
	g_autofree char *line = pxed_config_where(config, group, NULL);
	g_autofree char *where = g_strdup_printf("%s: [%s]", line, group);
	g_auto(GStrv) keys = NULL;
	Profile *p;

	if (name[0] == '\0') {
		pxed_config_problem(config, problems, group, NULL, "a profile needs a name");
		return;
	}
	if (!pxed_config_validate_group(config, group, profile_keys, problems))
		return;
	values = pxed_config_instance_values(config, group, profile_keys);
	p = profile_new(name, where);
	g_hash_table_replace(self->profiles, p->name, p);
	p->kernel = g_key_file_get_string(values, PXED_INSTANCE_GROUP, "kernel", NULL);
	p->args = g_key_file_get_string(values, PXED_INSTANCE_GROUP, "args", NULL);
	if (g_key_file_has_key(kf, group, "initrd", NULL)) {
		g_autofree char *raw = g_key_file_get_value(kf, group, "initrd", NULL);
		g_auto(GStrv) parts = g_strsplit(raw, ";", -1);
		g_autoptr(GStrvBuilder) b = g_strv_builder_new();
		for (guint i = 0; parts[i] != NULL; i++) {
			if (g_strstrip(parts[i])[0] != '\0')
				g_strv_builder_add(b, parts[i]);
		}
		g_strfreev(p->initrds);
		p->initrds = g_strv_builder_end(b);
	}
	for (guint i = 0; i < G_N_ELEMENTS(template_kinds); i++) {
		g_autofree char *path = g_key_file_get_string(values, PXED_INSTANCE_GROUP,
							      template_kinds[i].key, NULL);
		g_autoptr(GError) error = NULL;
		PxedTemplate *tmpl;
		if (path == NULL)
			continue;
		tmpl = pxed_template_new_from_file(path, template_kinds[i].escape, &error);
		if (tmpl == NULL) {
			pxed_config_problem(config, problems, group, template_kinds[i].key, "%s",
					    error->message);
			continue;
		}
		g_hash_table_replace(p->templates, g_strdup(template_kinds[i].kind), tmpl);
	}
	keys = g_key_file_get_keys(values, PXED_INSTANCE_GROUP, NULL, NULL);
	for (guint i = 0; keys != NULL && keys[i] != NULL; i++) {
		if (g_str_has_prefix(keys[i], "metadata."))
			g_hash_table_replace(
				p->metadata, g_strdup(keys[i] + strlen("metadata.")),
				g_key_file_get_string(values, PXED_INSTANCE_GROUP, keys[i], NULL));
	}
}

static void
load_group(PxedInventory *self, PxedConfig *config, const char *group, GPtrArray *problems)
{
	GKeyFile *kf = pxed_config_get_keyfile(config);
	const char *name = group + strlen("group:");
	g_autofree char *line = pxed_config_where(config, group, NULL);
	g_autofree char *where = g_strdup_printf("%s: [%s]", line, group);
	g_auto(GStrv) keys = NULL;
	Group *g;

	if (name[0] == '\0') {
		pxed_config_problem(config, problems, group, NULL, "a group needs a name");
		return;
	}
	if (!pxed_config_validate_group(config, group, group_keys, problems))
		return;
	g = group_new(name, where);
	g->profile = g_key_file_get_string(kf, group, "profile", NULL);
	g_strstrip(g->profile);
	keys = g_key_file_get_keys(kf, group, NULL, NULL);
	for (guint i = 0; keys != NULL && keys[i] != NULL; i++) {
		g_autofree char *value = g_key_file_get_string(kf, group, keys[i], NULL);
		if (g_str_has_prefix(keys[i], "selector.")) {
			g_autoptr(GError) error = NULL;
			if (!add_selector(g, keys[i] + strlen("selector."), g_strstrip(value),
					  &error))
				pxed_config_problem(config, problems, group, keys[i], "%s",
						    error->message);
		} else if (g_str_has_prefix(keys[i], "metadata.")) {
			g_hash_table_replace(g->metadata, g_strdup(keys[i] + strlen("metadata.")),
					     g_steal_pointer(&value));
		}
	}
	g_ptr_array_add(self->groups, g);
}

gboolean
pxed_inventory_load(PxedInventory *self, PxedConfig *config, GPtrArray *problems)
{
	g_auto(GStrv) groups = pxed_config_get_groups(config);
	guint before = problems->len;

	for (guint i = 0; groups[i] != NULL; i++) {
		if (g_str_has_prefix(groups[i], "profile:"))
			load_profile(self, config, groups[i], problems);
	}
	for (guint i = 0; groups[i] != NULL; i++) {
		if (g_str_has_prefix(groups[i], "group:"))
			load_group(self, config, groups[i], problems);
	}
	if (g_key_file_has_group(pxed_config_get_keyfile(config), "inventory") &&
	    pxed_config_validate_group(config, "inventory", inventory_keys, problems)) {
		g_autoptr(GKeyFile) values =
			pxed_config_instance_values(config, "inventory", inventory_keys);
		g_autofree char *dir =
			g_key_file_get_string(values, PXED_INSTANCE_GROUP, "matchbox-dir", NULL);
		if (dir != NULL)
			pxed_inventory_load_matchbox(self, dir, problems);
	}
	if (problems->len > before)
		return FALSE;
	return pxed_inventory_finish(self, problems);
}

/* ---- matchbox ---- */

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
		g_ptr_array_add(problems, g_strdup_printf("%s: \"%s\" is not an object", path, name));
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
			g_ptr_array_add(problems, g_strdup_printf("%s: \"%s\" is not a list",
								  path, name));
			return NULL;
		}
		a = json_node_get_array(n);
		for (guint i = 0; i < json_array_get_length(a); i++) {
			JsonNode *e = json_array_get_element(a, i);
			if (!JSON_NODE_HOLDS_VALUE(e) ||
			    json_node_get_value_type(e) != G_TYPE_STRING) {
				g_ptr_array_add(problems,
						g_strdup_printf("%s: \"%s\" item %u is not a string",
								path, name, i));
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
	Profile *p;
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
	if (g_hash_table_contains(self->profiles, id)) {
		g_ptr_array_add(problems,
				g_strdup_printf("%s: profile '%s' is defined twice", path, id));
		return;
	}
	p = profile_new(id, path);
	g_hash_table_replace(self->profiles, p->name, p);
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
	Group *g;

	if (o == NULL)
		return;
	id = member_string(o, "id");
	if (id == NULL || id[0] == '\0') {
		g_ptr_array_add(problems, g_strdup_printf("%s: group without an \"id\"", path));
		return;
	}
	g = group_new(id, path);
	g->profile = g_strdup(member_string(o, "profile"));
	if (g->profile == NULL) {
		g_ptr_array_add(problems, g_strdup_printf("%s: group without a \"profile\"", path));
		group_free(g);
		return;
	}
	if (!member_object(o, "selector", path, &sel, problems)) {
		group_free(g);
		return;
	}
	if (sel != NULL) {
		g_autoptr(GList) members = json_object_get_members(sel);
		for (GList *l = members; l != NULL; l = l->next) {
			g_autoptr(GError) error = NULL;
			const char *value = member_string(sel, l->data);
			if (value == NULL || !add_selector(g, l->data, value, &error))
				g_ptr_array_add(problems, g_strdup_printf("%s: selector %s: %s",
									  path, (char *)l->data,
									  error ? error->message
										: "not a string"));
		}
	}
	if (json_object_has_member(o, "metadata"))
		flatten_metadata(g->metadata, "", json_object_get_member(o, "metadata"));
	g_ptr_array_add(self->groups, g);
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
pxed_inventory_load_matchbox(PxedInventory *self, const char *dir, GPtrArray *problems)
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
pxed_inventory_load_matchbox_data(PxedInventory *self, const char *dir, PxedMatchboxKind kind,
				  const char *path, const char *data, gsize len,
				  GPtrArray *problems)
{
	guint before = problems->len;

	if (kind == PXED_MATCHBOX_PROFILE)
		load_matchbox_profile(self, dir, path, data, len, problems);
	else
		load_matchbox_group(self, path, data, len, problems);
	return problems->len == before;
}

/* ---- checks and the index ---- */

/* Two groups can match one machine when every selector they share has the
 * same value. */
static gboolean
compatible(Group *a, Group *b)
{
	for (guint i = 0; i < a->selectors->len; i++) {
		Selector *sa = g_ptr_array_index(a->selectors, i);
		for (guint j = 0; j < b->selectors->len; j++) {
			Selector *sb = g_ptr_array_index(b->selectors, j);
			if (g_str_equal(sa->key, sb->key) && !g_str_equal(sa->value, sb->value))
				return FALSE;
		}
	}
	return TRUE;
}

static void
tie_problem(GPtrArray *problems, Group *a, Group *b)
{
	g_ptr_array_add(problems,
			g_strdup_printf("%s: group '%s' and group '%s' (%s) are equally specific "
					"(%u selector%s of the same kinds) and one machine can "
					"match both: add a selector to one of them",
					a->where, a->name, b->name, b->where, a->selectors->len,
					a->selectors->len == 1 ? "" : "s"));
}

static PxedMachine *
build_machine(Group *g, Profile *p)
{
	PxedMachine *m = pxed_machine_new(g->name, p->name);
	GHashTableIter iter;
	gpointer key, value;

	pxed_machine_set_kernel(m, p->kernel);
	pxed_machine_set_initrds(m, (const char *const *)p->initrds);
	pxed_machine_set_args(m, p->args);
	/* the profile's metadata, then the group's over it */
	g_hash_table_iter_init(&iter, p->metadata);
	while (g_hash_table_iter_next(&iter, &key, &value))
		pxed_machine_set_metadata(m, key, value);
	g_hash_table_iter_init(&iter, g->metadata);
	while (g_hash_table_iter_next(&iter, &key, &value))
		pxed_machine_set_metadata(m, key, value);
	g_hash_table_iter_init(&iter, p->templates);
	while (g_hash_table_iter_next(&iter, &key, &value))
		pxed_machine_set_template(m, key, value);
	return m;
}

/* `metadata.ip` (the group's, else its profile's) is the machine's fixed
 * address: DHCP must not lease it to anyone else. */
static void
reserve(PxedInventory *self, Group *g)
{
	const char *ip = pxed_machine_get_metadata(g->machine, "ip");
	g_autoptr(GInetAddress) address = ip != NULL ? g_inet_address_new_from_string(ip) : NULL;
	guint32 v4;

	/* DHCP hands out IPv4 only */
	if (address == NULL || g_inet_address_get_family(address) != G_SOCKET_FAMILY_IPV4)
		return;
	memcpy(&v4, g_inet_address_to_bytes(address), 4);
	g_hash_table_replace(self->reserved, GUINT_TO_POINTER(v4), g->name);
}

gboolean
pxed_inventory_finish(PxedInventory *self, GPtrArray *problems)
{
	g_autoptr(GHashTable) names = g_hash_table_new(g_str_hash, g_str_equal);
	guint before = problems->len;

	for (guint i = 0; i < self->groups->len; i++) {
		Group *g = g_ptr_array_index(self->groups, i);
		Profile *p = g_hash_table_lookup(self->profiles, g->profile);
		if (!g_hash_table_add(names, g->name)) {
			g_ptr_array_add(problems, g_strdup_printf("%s: group '%s' is defined twice",
								  g->where, g->name));
			continue;
		}
		if (p == NULL) {
			g_ptr_array_add(problems,
					g_strdup_printf("%s: group '%s' names profile '%s', which "
							"is not defined",
							g->where, g->name, g->profile));
			continue;
		}
		g->machine = build_machine(g, p);
	}
	/* Ties. Groups with different mac selectors never tie, so compare each
	 * group with the mac-less ones and with those of its own mac. */
	for (guint i = 0; i < self->groups->len; i++) {
		Group *a = g_ptr_array_index(self->groups, i);
		for (guint j = i + 1; j < self->groups->len; j++) {
			Group *b = g_ptr_array_index(self->groups, j);
			if (a->selectors->len != b->selectors->len || a->weight != b->weight)
				continue;
			if (a->mac != NULL && b->mac != NULL && !g_str_equal(a->mac, b->mac))
				continue;
			if (compatible(a, b))
				tie_problem(problems, a, b);
		}
	}
	if (problems->len > before)
		return FALSE;
	for (guint i = 0; i < self->groups->len; i++) {
		Group *g = g_ptr_array_index(self->groups, i);
		if (g->mac != NULL) {
			GPtrArray *list = g_hash_table_lookup(self->by_mac, g->mac);
			if (list == NULL) {
				list = g_ptr_array_new();
				g_hash_table_insert(self->by_mac, g->mac, list);
			}
			g_ptr_array_add(list, g);
		} else {
			g_ptr_array_add(self->no_mac, g);
		}
		reserve(self, g);
	}
	return TRUE;
}

gboolean
pxed_inventory_is_reserved(PxedInventory *self, guint32 address)
{
	return g_hash_table_contains(self->reserved, GUINT_TO_POINTER(address));
}

static const char *
client_fact(PxedClient *client, const char *key, char *buf, gsize len)
{
	if (g_str_equal(key, "mac"))
		return pxed_client_get_mac_string(client);
	if (g_str_equal(key, "uuid"))
		return pxed_client_get_uuid_string(client);
	if (g_str_equal(key, "arch")) {
		if (pxed_client_get_arch(client) == PXED_ARCH_UNKNOWN)
			return NULL;
		g_snprintf(buf, len, "%d", pxed_client_get_arch(client));
		return buf;
	}
	if (g_str_equal(key, "hostname"))
		return pxed_client_get_hostname(client); /* compared without case */
	return pxed_client_get_attribute(client, key);
}

static gboolean
group_matches(Group *g, PxedClient *client)
{
	for (guint i = 0; i < g->selectors->len; i++) {
		Selector *s = g_ptr_array_index(g->selectors, i);
		char buf[256];
		const char *fact = client_fact(client, s->key, buf, sizeof(buf));
		if (fact == NULL)
			return FALSE;
		if (g_str_equal(s->key, "hostname") ? g_ascii_strcasecmp(fact, s->value) != 0
						    : !g_str_equal(fact, s->value))
			return FALSE;
	}
	return TRUE;
}

static void
consider(GPtrArray *groups, PxedClient *client, Group **best)
{
	for (guint i = 0; groups != NULL && i < groups->len; i++) {
		Group *g = g_ptr_array_index(groups, i);
		gboolean better = *best == NULL || g->selectors->len > (*best)->selectors->len ||
				  (g->selectors->len == (*best)->selectors->len &&
				   g->weight > (*best)->weight);
		if (better && group_matches(g, client))
			*best = g;
	}
}

PxedMachine *
pxed_inventory_match(PxedInventory *self, PxedClient *client)
{
	const char *mac = pxed_client_get_mac_string(client);
	Group *best = NULL;

	if (mac != NULL)
		consider(g_hash_table_lookup(self->by_mac, mac), client, &best);
	consider(self->no_mac, client, &best);
	return best != NULL && best->machine != NULL ? pxed_machine_ref(best->machine) : NULL;
}

const PxedKey *
pxed_inventory_get_keys(const char *group)
{
	if (g_str_equal(group, "profile:NAME"))
		return profile_keys;
	if (g_str_equal(group, "group:NAME"))
		return group_keys;
	if (g_str_equal(group, "inventory"))
		return inventory_keys;
	return NULL;
}
