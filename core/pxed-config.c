/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "pxed-config.h"

#include <pxed/pxed-instance-private.h>
#include <sys/stat.h>

typedef struct {
	const char *file; /* interned */
	guint line;
} PxedWhere;

struct _PxedConfig {
	GKeyFile *keyfile;
	GPtrArray *files;  /* char*: fragments in merge order */
	GPtrArray *groups; /* char*: in order of first appearance */
	GHashTable *where; /* "group\x1fkey" or "group" -> PxedWhere* */
};

PxedConfig *
pxed_config_new(void)
{
	PxedConfig *self = g_new0(PxedConfig, 1);
	self->keyfile = g_key_file_new();
	self->files = g_ptr_array_new_with_free_func(g_free);
	self->groups = g_ptr_array_new_with_free_func(g_free);
	self->where = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	return self;
}

void
pxed_config_free(PxedConfig *self)
{
	g_key_file_unref(self->keyfile);
	g_ptr_array_unref(self->files);
	g_ptr_array_unref(self->groups);
	g_hash_table_unref(self->where);
	g_free(self);
}

GKeyFile *
pxed_config_get_keyfile(PxedConfig *self)
{
	return self->keyfile;
}

GPtrArray *
pxed_config_get_files(PxedConfig *self)
{
	return self->files;
}

char **
pxed_config_get_groups(PxedConfig *self)
{
	g_autoptr(GStrvBuilder) builder = g_strv_builder_new();
	for (guint i = 0; i < self->groups->len; i++)
		g_strv_builder_add(builder, g_ptr_array_index(self->groups, i));
	return g_strv_builder_end(builder);
}

static char *
where_key(const char *group, const char *key)
{
	return key != NULL ? g_strconcat(group, "\x1f", key, NULL) : g_strdup(group);
}

static void
remember(PxedConfig *self, const char *group, const char *key, const char *file, guint line)
{
	PxedWhere *w = g_new0(PxedWhere, 1);
	w->file = g_intern_string(file);
	w->line = line;
	g_hash_table_replace(self->where, where_key(group, key), w);
}

char *
pxed_config_where(PxedConfig *self, const char *group, const char *key)
{
	g_autofree char *k = where_key(group, key);
	PxedWhere *w = g_hash_table_lookup(self->where, k);

	if (w == NULL && key != NULL) {
		g_autofree char *gk = where_key(group, NULL);
		w = g_hash_table_lookup(self->where, gk);
	}
	if (w == NULL)
		return g_strdup("(built-in)");
	return g_strdup_printf("%s:%u", w->file, w->line);
}

void
pxed_config_problem(PxedConfig *self, GPtrArray *problems, const char *group, const char *key,
		    const char *format, ...)
{
	va_list args;
	g_autofree char *message = NULL;
	g_autofree char *where = pxed_config_where(self, group, key);

	va_start(args, format);
	message = g_strdup_vprintf(format, args);
	va_end(args);
	if (key != NULL)
		g_ptr_array_add(problems,
				g_strdup_printf("%s: [%s] %s: %s", where, group, key, message));
	else
		g_ptr_array_add(problems, g_strdup_printf("%s: [%s]: %s", where, group, message));
}

/*
 * GKeyFile neither reports line numbers nor lets us ask where a key came
 * from, so scan the text once with the same grammar: "[group]" headers,
 * "key=value" (key may carry a [locale]), '#' comments, blank lines. Records
 * the line of every group and key, and returns the number of the first line
 * that is none of these (0 if all are fine).
 */
static guint
scan_lines(const char *data, GHashTable *lines)
{
	g_auto(GStrv) text = g_strsplit(data, "\n", -1);
	g_autofree char *group = NULL;

	for (guint i = 0; text[i] != NULL; i++) {
		char *line = g_strstrip(text[i]);
		char *eq;

		if (line[0] == '\0' || line[0] == '#')
			continue;
		if (line[0] == '[') {
			char *close = strrchr(line, ']');
			if (close == NULL || close[1] != '\0')
				return i + 1;
			g_free(group);
			group = g_strndup(line + 1, close - line - 1);
			if (!g_hash_table_contains(lines, group))
				g_hash_table_insert(lines, g_strdup(group),
						    GUINT_TO_POINTER(i + 1));
			continue;
		}
		eq = strchr(line, '=');
		if (eq == NULL || group == NULL)
			return i + 1;
		*eq = '\0';
		g_strchomp(line);
		g_hash_table_replace(lines, where_key(group, line), GUINT_TO_POINTER(i + 1));
	}
	return 0;
}

gboolean
pxed_config_load_data(PxedConfig *self, const char *filename, const char *data, GPtrArray *problems)
{
	g_autoptr(GKeyFile) fragment = g_key_file_new();
	g_autoptr(GHashTable) lines = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	g_autoptr(GError) error = NULL;
	g_auto(GStrv) groups = NULL;
	const char *bad = NULL;
	guint bad_line;

	/* GKeyFile hands out no string that is not UTF-8 (g_key_file_get_string()
	 * fails): a fragment must be UTF-8 throughout, or keys would validate
	 * here and then read as unset. */
	if (!g_utf8_validate(data, -1, &bad)) {
		guint line = 1;
		for (const char *p = data; p < bad; p++)
			line += *p == '\n';
		g_ptr_array_add(problems,
				g_strdup_printf("%s:%u: not valid UTF-8", filename, line));
		return FALSE;
	}
	bad_line = scan_lines(data, lines);
	if (bad_line != 0) {
		g_ptr_array_add(problems,
				g_strdup_printf("%s:%u: not a [group] header, a KEY=VALUE line or "
						"a # comment",
						filename, bad_line));
		return FALSE;
	}
	if (!g_key_file_load_from_data(fragment, data, (gsize)-1, G_KEY_FILE_NONE, &error)) {
		g_ptr_array_add(problems, g_strdup_printf("%s: %s", filename, error->message));
		return FALSE;
	}
	g_ptr_array_add(self->files, g_strdup(filename));

	/* Loading a second file into the same GKeyFile would clear the first: copy
	 * the raw values across, key by key, so a later fragment overrides only
	 * the keys it sets. */
	groups = g_key_file_get_groups(fragment, NULL);
	for (guint g = 0; groups[g] != NULL; g++) {
		g_auto(GStrv) keys = g_key_file_get_keys(fragment, groups[g], NULL, NULL);
		if (!g_key_file_has_group(self->keyfile, groups[g])) {
			g_ptr_array_add(self->groups, g_strdup(groups[g]));
			remember(self, groups[g], NULL, filename,
				 GPOINTER_TO_UINT(g_hash_table_lookup(lines, groups[g])));
		}
		for (guint k = 0; keys != NULL && keys[k] != NULL; k++) {
			g_autofree char *value =
				g_key_file_get_value(fragment, groups[g], keys[k], NULL);
			g_autofree char *lk = where_key(groups[g], keys[k]);
			g_key_file_set_value(self->keyfile, groups[g], keys[k], value);
			remember(self, groups[g], keys[k], filename,
				 GPOINTER_TO_UINT(g_hash_table_lookup(lines, lk)));
		}
		/* An empty group still counts (it enables a plugin), but GKeyFile
		 * has no call to add one: add a key and take it away again. */
		if (!g_key_file_has_group(self->keyfile, groups[g])) {
			g_key_file_set_value(self->keyfile, groups[g], "pxed-placeholder", "");
			g_key_file_remove_key(self->keyfile, groups[g], "pxed-placeholder", NULL);
		}
	}
	return TRUE;
}

static gint
compare_basename(gconstpointer a, gconstpointer b)
{
	const char *pa = *(const char *const *)a;
	const char *pb = *(const char *const *)b;
	g_autofree char *ba = g_path_get_basename(pa);
	g_autofree char *bb = g_path_get_basename(pb);
	return strcmp(ba, bb);
}

gboolean
pxed_config_load_dirs(PxedConfig *self, const char *const *dirs, GPtrArray *problems)
{
	/* basename -> full path: a later folder's fragment replaces an earlier one */
	g_autoptr(GHashTable) by_name =
		g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	g_autoptr(GPtrArray) paths = g_ptr_array_new();
	gboolean ok = TRUE;

	for (guint d = 0; dirs != NULL && dirs[d] != NULL; d++) {
		g_autoptr(GError) error = NULL;
		/* absolute, so that relative paths in fragments resolve the same
		 * whatever the daemon's working folder */
		g_autofree char *folder = g_canonicalize_filename(dirs[d], NULL);
		g_autoptr(GDir) dir = g_dir_open(folder, 0, &error);
		const char *name;
		if (dir == NULL) {
			g_ptr_array_add(problems, g_strdup_printf("%s: cannot read configuration "
								  "folder: %s",
								  dirs[d], error->message));
			ok = FALSE;
			continue;
		}
		while ((name = g_dir_read_name(dir)) != NULL) {
			if (!g_str_has_suffix(name, ".conf") || name[0] == '.')
				continue;
			g_hash_table_replace(by_name, g_strdup(name),
					     g_build_filename(folder, name, NULL));
		}
	}
	{
		GHashTableIter iter;
		gpointer value;
		g_hash_table_iter_init(&iter, by_name);
		while (g_hash_table_iter_next(&iter, NULL, &value))
			g_ptr_array_add(paths, value);
	}
	g_ptr_array_sort(paths, compare_basename);
	for (guint i = 0; i < paths->len; i++) {
		const char *path = g_ptr_array_index(paths, i);
		g_autofree char *data = NULL;
		g_autoptr(GError) error = NULL;
		if (!g_file_get_contents(path, &data, NULL, &error)) {
			g_ptr_array_add(problems, g_strdup_printf("%s: %s", path, error->message));
			ok = FALSE;
			continue;
		}
		if (!pxed_config_load_data(self, path, data, problems))
			ok = FALSE;
	}
	return ok;
}

/* ---- validation ---- */

static char *
resolve_path(const char *value, const char *base_dir)
{
	if (g_path_is_absolute(value) || base_dir == NULL || !g_path_is_absolute(base_dir))
		return g_canonicalize_filename(value, NULL);
	return g_canonicalize_filename(value, base_dir);
}

gboolean
pxed_key_check_value(const PxedKey *key, const char *value, const char *base_dir, GError **error)
{
	g_autofree char *text = g_strstrip(g_strdup(value));

	switch (key->type) {
	case PXED_KEY_STRING:
	case PXED_KEY_STRING_LIST:
		return TRUE;
	case PXED_KEY_INT: {
		gint64 v = 0;
		gint64 min = key->min, max = key->max;
		if (min == 0 && max == 0) {
			min = G_MININT64;
			max = G_MAXINT64;
		}
		if (!g_ascii_string_to_signed(text, 10, G_MININT64, G_MAXINT64, &v, NULL)) {
			g_set_error(error, PXED_ERROR, PXED_ERROR_INVALID,
				    "'%s' is not a whole number", text);
			return FALSE;
		}
		if (v < min || v > max) {
			g_set_error(error, PXED_ERROR, PXED_ERROR_INVALID,
				    "%" G_GINT64_FORMAT " is out of range (%" G_GINT64_FORMAT
				    "..%" G_GINT64_FORMAT ")",
				    v, min, max);
			return FALSE;
		}
		return TRUE;
	}
	case PXED_KEY_BOOLEAN:
		if (g_str_equal(text, "true") || g_str_equal(text, "false"))
			return TRUE;
		g_set_error(error, PXED_ERROR, PXED_ERROR_INVALID,
			    "'%s' is not a boolean (true or false)", text);
		return FALSE;
	case PXED_KEY_LISTEN: {
		g_autoptr(GPtrArray) list = pxed_listen_list_parse(text, 0, error);
		return list != NULL;
	}
	case PXED_KEY_IPV4: {
		g_autoptr(GInetAddress) address = g_inet_address_new_from_string(text);
		if (address == NULL || g_inet_address_get_family(address) != G_SOCKET_FAMILY_IPV4) {
			g_set_error(error, PXED_ERROR, PXED_ERROR_INVALID,
				    "'%s' is not an IPv4 address", text);
			return FALSE;
		}
		return TRUE;
	}
	case PXED_KEY_DIRECTORY:
	case PXED_KEY_FILE:
	case PXED_KEY_PATH: {
		g_autofree char *path = NULL;
		struct stat st;
		if (text[0] == '\0') {
			g_set_error_literal(error, PXED_ERROR, PXED_ERROR_INVALID, "empty path");
			return FALSE;
		}
		if (key->type == PXED_KEY_PATH)
			return TRUE;
		path = resolve_path(text, base_dir);
		if (stat(path, &st) != 0) {
			g_set_error(error, PXED_ERROR, PXED_ERROR_INVALID, "%s '%s' does not exist",
				    key->type == PXED_KEY_DIRECTORY ? "folder" : "file", path);
			return FALSE;
		}
		if (key->type == PXED_KEY_DIRECTORY && !S_ISDIR(st.st_mode)) {
			g_set_error(error, PXED_ERROR, PXED_ERROR_INVALID, "'%s' is not a folder",
				    path);
			return FALSE;
		}
		if (key->type == PXED_KEY_FILE && !S_ISREG(st.st_mode)) {
			g_set_error(error, PXED_ERROR, PXED_ERROR_INVALID,
				    "'%s' is not a regular file", path);
			return FALSE;
		}
		return TRUE;
	}
	}
	g_set_error(error, PXED_ERROR, PXED_ERROR_INVALID, "key type %d is unknown", key->type);
	return FALSE;
}

static char *
fragment_dir(PxedConfig *self, const char *group, const char *key)
{
	g_autofree char *k = where_key(group, key);
	PxedWhere *w = g_hash_table_lookup(self->where, k);
	return w != NULL ? g_path_get_dirname(w->file) : NULL;
}

static const PxedKey enabled_key = {
	.name = "enabled", .type = PXED_KEY_BOOLEAN, .default_value = "true"};

gboolean
pxed_config_validate_group(PxedConfig *self, const char *group, const PxedKey *keys,
			   GPtrArray *problems)
{
	g_auto(GStrv) names = g_key_file_get_keys(self->keyfile, group, NULL, NULL);
	guint before = problems->len;

	for (guint i = 0; names != NULL && names[i] != NULL; i++) {
		const PxedKey *key = g_str_equal(names[i], "enabled")
					     ? &enabled_key
					     : pxed_key_lookup(keys, names[i]);
		g_autofree char *value = NULL;
		g_autofree char *dir = NULL;
		g_autoptr(GError) error = NULL;

		if (key == NULL) {
			pxed_config_problem(self, problems, group, names[i], "unknown key");
			continue;
		}
		value = g_key_file_get_value(self->keyfile, group, names[i], NULL);
		dir = fragment_dir(self, group, names[i]);
		if (!pxed_key_check_value(key, value, dir, &error))
			pxed_config_problem(self, problems, group, names[i], "%s", error->message);
	}
	for (const PxedKey *k = keys; k != NULL && k->name != NULL; k++) {
		if ((k->flags & PXED_KEY_FLAG_REQUIRED) && !(k->flags & PXED_KEY_FLAG_PREFIX) &&
		    !g_key_file_has_key(self->keyfile, group, k->name, NULL))
			pxed_config_problem(self, problems, group, k->name,
					    "required key is missing");
	}
	return problems->len == before;
}

GKeyFile *
pxed_config_instance_values(PxedConfig *self, const char *group, const PxedKey *keys)
{
	GKeyFile *values = g_key_file_new();
	g_auto(GStrv) names = g_key_file_get_keys(self->keyfile, group, NULL, NULL);

	for (guint i = 0; names != NULL && names[i] != NULL; i++) {
		const PxedKey *key = pxed_key_lookup(keys, names[i]);
		g_autofree char *value = g_key_file_get_value(self->keyfile, group, names[i], NULL);
		if (key != NULL && (key->type == PXED_KEY_DIRECTORY || key->type == PXED_KEY_FILE ||
				    key->type == PXED_KEY_PATH)) {
			g_autofree char *dir = fragment_dir(self, group, names[i]);
			g_autofree char *path = resolve_path(g_strstrip(value), dir);
			g_key_file_set_string(values, PXED_INSTANCE_GROUP, names[i], path);
		} else {
			g_key_file_set_value(values, PXED_INSTANCE_GROUP, names[i], value);
		}
	}
	/* Defaults that are paths are relative to nothing: keep them as given. */
	return values;
}

static int
compare_strp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

char *
pxed_config_group_digest(PxedConfig *self, const char *group)
{
	g_auto(GStrv) names = g_key_file_get_keys(self->keyfile, group, NULL, NULL);
	GString *out = g_string_new(group);

	if (names == NULL)
		return g_string_free(out, FALSE);
	qsort(names, g_strv_length(names), sizeof(char *), compare_strp);
	for (guint i = 0; names[i] != NULL; i++) {
		g_autofree char *value = g_key_file_get_value(self->keyfile, group, names[i], NULL);
		g_autofree char *dir = fragment_dir(self, group, names[i]);
		/* the folder matters: a relative path means another place from another file */
		g_string_append_printf(out, "\n%s=%s@%s", names[i], value, dir ? dir : "");
	}
	return g_string_free(out, FALSE);
}

gboolean
pxed_config_get_boolean(PxedConfig *self, const char *group, const char *key, gboolean fallback)
{
	g_autoptr(GError) error = NULL;
	gboolean value = g_key_file_get_boolean(self->keyfile, group, key, &error);
	return error != NULL ? fallback : value;
}
