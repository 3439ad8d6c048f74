/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Writes the manual pages from their hand-written templates and the key
 * tables themselves: the core's, the inventory's and the descriptor of
 * every plugin in the build's plugin folder. A key added to a table
 * is in pxed.conf(5) at the next build, with its type, default and range.
 *
 *   pxed-mangen --plugin-dir DIR TEMPLATE OUTPUT   substitutes @KEYS@,
 *                                                  @PLUGINS@ and @VERSION@
 *   pxed-mangen --plugin-dir DIR --list-keys       GROUP<TAB>KEY<TAB>DESCRIPTION
 */
#include "pxed-core.h"
#include "pxed-inventory.h"

#include <gio/gio.h>
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

typedef struct {
	char *group;   /* as written in conf.d */
	char *summary; /* one line about the group */
	const PxedKey *keys;
} KeyTable;

static void
key_table_free(gpointer data)
{
	KeyTable *t = data;
	g_free(t->group);
	g_free(t->summary);
	g_free(t);
}

static void
add_table(GPtrArray *tables, const char *group, const char *summary, const PxedKey *keys)
{
	KeyTable *t = g_new0(KeyTable, 1);
	t->group = g_strdup(group);
	t->summary = g_strdup(summary);
	t->keys = keys;
	g_ptr_array_add(tables, t);
}

static gint
compare_paths(gconstpointer a, gconstpointer b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The core's groups first, then the plugins' in name order. */
static GPtrArray *
collect_tables(const char *const *plugin_dirs, GPtrArray **plugins_out, GError **error)
{
	g_autoptr(GPtrArray) tables = g_ptr_array_new_with_free_func(key_table_free);
	g_autoptr(GPtrArray) plugins = g_ptr_array_new();
	g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);

	add_table(tables, "core", "the daemon itself", pxed_core_get_keys("core"));
	add_table(tables, "pipeline", "which backends answer, in order",
		  pxed_core_get_keys("pipeline"));
	add_table(tables, "inventory", "machine data read from elsewhere",
		  pxed_inventory_get_keys("inventory"));
	add_table(tables, "profile:NAME", "what a machine boots",
		  pxed_inventory_get_keys("profile:NAME"));
	add_table(tables, "group:NAME", "which machines boot which profile",
		  pxed_inventory_get_keys("group:NAME"));
	/* The plugins as the build lays them out, NAME/NAME.so (or NAME.so),
	 * opened with dlopen() directly: this is a build tool reading its own
	 * build's descriptors, and the daemon loader's ownership rules would
	 * refuse a build folder below /tmp. */
	for (const char *const *dir = plugin_dirs; *dir != NULL; dir++) {
		g_autoptr(GDir) d = g_dir_open(*dir, 0, error);
		const char *entry;
		if (d == NULL)
			return NULL;
		while ((entry = g_dir_read_name(d)) != NULL)
			g_ptr_array_add(names, g_build_filename(*dir, entry, NULL));
	}
	g_ptr_array_sort(names, compare_paths);
	for (guint i = 0; i < names->len; i++) {
		const char *entry = g_ptr_array_index(names, i);
		g_autofree char *base = g_path_get_basename(entry);
		g_autofree char *path = NULL;
		const PxedPlugin *plugin;
		void *handle;

		if (g_file_test(entry, G_FILE_TEST_IS_DIR)) {
			g_autofree char *file = g_strconcat(base, ".so", NULL);
			path = g_build_filename(entry, file, NULL);
		} else if (g_str_has_suffix(base, ".so")) {
			path = g_strdup(entry);
		}
		if (path == NULL || !g_file_test(path, G_FILE_TEST_IS_REGULAR))
			continue;
		handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
		/* a page without a plugin's keys would be wrong, not short */
		if (handle == NULL) {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s", dlerror());
			return NULL;
		}
		plugin = dlsym(handle, PXED_PLUGIN_SYMBOL);
		if (plugin == NULL || plugin->abi_major != PXED_ABI_MAJOR || plugin->name == NULL) {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
				    "%s: no pxed_plugin descriptor of ABI %d", path,
				    PXED_ABI_MAJOR);
			return NULL;
		}
		/* never closed: the tables are read until the end */
		g_ptr_array_add(plugins, (gpointer)plugin);
		add_table(tables, plugin->name, plugin->description, plugin->keys);
	}
	if (plugins->len == 0) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
			    "no plugins in the plugin folders");
		return NULL;
	}
	*plugins_out = g_steal_pointer(&plugins);
	return g_steal_pointer(&tables);
}

/* Text for a roff line: backslashes and minus signs escaped, and no line
 * may start with a control character. */
static void
append_roff(GString *out, const char *text)
{
	if (text[0] == '.' || text[0] == '\'')
		g_string_append(out, "\\&");
	for (const char *p = text; *p; p++) {
		if (*p == '\\')
			g_string_append(out, "\\e");
		else if (*p == '-')
			g_string_append(out, "\\-");
		else if (*p == '\n')
			g_string_append_c(out, ' ');
		else
			g_string_append_c(out, *p);
	}
}

static const char *
type_text(const PxedKey *key)
{
	switch (key->type) {
	case PXED_KEY_INT:
		return "integer";
	case PXED_KEY_BOOLEAN:
		return "true or false";
	case PXED_KEY_STRING_LIST:
		return "list, separated by ;";
	case PXED_KEY_LISTEN:
		return "ADDRESS:PORT list, separated by ; ([IPV6]:PORT)";
	case PXED_KEY_DIRECTORY:
		return "an existing folder";
	case PXED_KEY_FILE:
		return "an existing file";
	case PXED_KEY_PATH:
		return "a path";
	case PXED_KEY_IPV4:
		return "an IPv4 address";
	case PXED_KEY_STRING:
	default:
		return "text";
	}
}

static void
append_keys(GString *out, GPtrArray *tables)
{
	for (guint i = 0; i < tables->len; i++) {
		KeyTable *t = g_ptr_array_index(tables, i);
		g_string_append_printf(out, ".SS \"[%s]\"\n", t->group);
		append_roff(out, t->summary);
		g_string_append(out, ".\n");
		for (const PxedKey *k = t->keys; k != NULL && k->name != NULL; k++) {
			g_string_append(out, ".TP\n");
			if (k->flags & PXED_KEY_FLAG_PREFIX) {
				g_string_append(out, ".BI ");
				append_roff(out, k->name);
				g_string_append(out, " KEY\n");
			} else {
				g_string_append(out, ".B ");
				append_roff(out, k->name);
				g_string_append_c(out, '\n');
			}
			if (k->description != NULL && k->description[0] != '\0') {
				append_roff(out, k->description);
				g_string_append(out, ".\n.br\n");
			}
			g_string_append_printf(out, "%s", type_text(k));
			if (k->type == PXED_KEY_INT && (k->min != 0 || k->max != 0))
				g_string_append_printf(
					out, ", %" G_GINT64_FORMAT " to %" G_GINT64_FORMAT, k->min,
					k->max);
			if (k->flags & PXED_KEY_FLAG_REQUIRED)
				g_string_append(out, "; required");
			if (k->default_value != NULL) {
				g_string_append(out, "; default \\fB");
				append_roff(out, k->default_value[0] != '\0' ? k->default_value
									     : "\"\"");
				g_string_append(out, "\\fR");
			}
			g_string_append(out, ".\n");
		}
	}
}

static void
append_plugins(GString *out, GPtrArray *plugins)
{
	for (guint i = 0; i < plugins->len; i++) {
		const PxedPlugin *p = g_ptr_array_index(plugins, i);
		g_string_append_printf(out, ".TP\n.B %s\n", p->name);
		g_string_append_printf(out, "(%s) ", pxed_plugin_kind_to_string(p->kind));
		append_roff(out, p->description);
		g_string_append(out, "\n");
	}
}

int
main(int argc, char **argv)
{
	g_autoptr(GOptionContext) options = g_option_context_new("TEMPLATE OUTPUT");
	g_autoptr(GError) error = NULL;
	g_auto(GStrv) plugin_dirs = NULL;
	g_autoptr(GPtrArray) tables = NULL;
	g_autoptr(GPtrArray) plugins = NULL;
	gboolean list = FALSE;
	const GOptionEntry entries[] = {
		{"plugin-dir", 'p', 0, G_OPTION_ARG_FILENAME_ARRAY, &plugin_dirs,
		 "Folder of the plugins to document (repeatable)", "DIR"},
		{"list-keys", 0, 0, G_OPTION_ARG_NONE, &list,
		 "Print GROUP<TAB>KEY<TAB>DESCRIPTION for every key", NULL},
		{NULL, 0, 0, 0, NULL, NULL, NULL},
	};

	g_option_context_add_main_entries(options, entries, NULL);
	if (!g_option_context_parse(options, &argc, &argv, &error) || plugin_dirs == NULL ||
	    (list ? argc != 1 : argc != 3)) {
		fprintf(stderr,
			"usage: pxed-mangen --plugin-dir DIR (--list-keys | TEMPLATE OUTPUT)%s%s\n",
			error ? ": " : "", error ? error->message : "");
		return 2;
	}
	tables = collect_tables((const char *const *)plugin_dirs, &plugins, &error);
	if (tables == NULL) {
		fprintf(stderr, "pxed-mangen: %s\n", error->message);
		return 1;
	}
	if (list) {
		for (guint i = 0; i < tables->len; i++) {
			KeyTable *t = g_ptr_array_index(tables, i);
			for (const PxedKey *k = t->keys; k != NULL && k->name != NULL; k++)
				printf("%s\t%s\t%s\n", t->group, k->name,
				       k->description ? k->description : "");
		}
		return 0;
	}
	{
		g_autofree char *text = NULL;
		g_autoptr(GString) keys = g_string_new(NULL);
		g_autoptr(GString) plugin_list = g_string_new(NULL);
		g_autoptr(GString) out = NULL;

		if (!g_file_get_contents(argv[1], &text, NULL, &error)) {
			fprintf(stderr, "pxed-mangen: %s\n", error->message);
			return 1;
		}
		append_keys(keys, tables);
		append_plugins(plugin_list, plugins);
		out = g_string_new(text);
		g_string_replace(out, "@KEYS@\n", keys->str, 0);
		g_string_replace(out, "@PLUGINS@\n", plugin_list->str, 0);
		g_string_replace(out, "@VERSION@", PXED_VERSION, 0);
		if (!g_file_set_contents(argv[2], out->str, (gssize)out->len, &error)) {
			fprintf(stderr, "pxed-mangen: %s\n", error->message);
			return 1;
		}
	}
	return 0;
}
