/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "pxed-instance-private.h"

struct _PxedInstance {
	char *name;
	PxedContext *context;
	GKeyFile *values;
	const PxedKey *keys;
};

PxedInstance *
pxed_instance_new(const char *name, PxedContext *context, GKeyFile *values, const PxedKey *keys)
{
	PxedInstance *self = g_new0(PxedInstance, 1);
	self->name = g_strdup(name);
	self->context = context;
	self->values = values;
	self->keys = keys;
	return self;
}

void
pxed_instance_free(PxedInstance *self)
{
	g_free(self->name);
	g_key_file_unref(self->values);
	g_free(self);
}

const PxedKey *
pxed_key_lookup(const PxedKey *keys, const char *name)
{
	for (const PxedKey *k = keys; k != NULL && k->name != NULL; k++) {
		if (k->flags & PXED_KEY_FLAG_PREFIX) {
			if (g_str_has_prefix(name, k->name) && name[strlen(k->name)] != '\0')
				return k;
		} else if (g_str_equal(k->name, name)) {
			return k;
		}
	}
	return NULL;
}

const char *
pxed_instance_get_name(PxedInstance *self)
{
	return self->name;
}

PxedContext *
pxed_instance_get_context(PxedInstance *self)
{
	return self->context;
}

/* The raw value: the configured one, else the table's default. Values were
 * validated by the core, so parse failures below cannot happen for keys in
 * the table; a plugin asking for a key it did not declare is a programming
 * error and is reported as such. */
static char *
raw_value(PxedInstance *self, const char *key)
{
	const PxedKey *k = pxed_key_lookup(self->keys, key);
	char *value = g_key_file_get_value(self->values, PXED_INSTANCE_GROUP, key, NULL);

	if (value != NULL)
		return value;
	if (k == NULL && !g_str_equal(key, "enabled"))
		g_critical("plugin instance %s asked for key '%s' it does not declare", self->name,
			   key);
	return k != NULL ? g_strdup(k->default_value) : NULL;
}

char *
pxed_instance_get_string(PxedInstance *self, const char *key)
{
	g_autofree char *raw = raw_value(self, key);
	g_autoptr(GKeyFile) tmp = NULL;

	if (raw == NULL)
		return NULL;
	/* Unescape (\n, \s, …) the way GKeyFile does for strings. */
	tmp = g_key_file_new();
	g_key_file_set_value(tmp, "g", "k", raw);
	return g_key_file_get_string(tmp, "g", "k", NULL);
}

gint64
pxed_instance_get_int(PxedInstance *self, const char *key)
{
	g_autofree char *raw = raw_value(self, key);
	gint64 value = 0;

	if (raw != NULL)
		g_ascii_string_to_signed(g_strstrip(raw), 10, G_MININT64, G_MAXINT64, &value, NULL);
	return value;
}

gboolean
pxed_instance_get_boolean(PxedInstance *self, const char *key)
{
	g_autofree char *raw = raw_value(self, key);

	return raw != NULL && (g_ascii_strcasecmp(g_strstrip(raw), "true") == 0 ||
			       g_str_equal(raw, "1") || g_ascii_strcasecmp(raw, "yes") == 0);
}

char **
pxed_instance_get_string_list(PxedInstance *self, const char *key)
{
	g_autofree char *raw = raw_value(self, key);
	g_autoptr(GStrvBuilder) builder = g_strv_builder_new();
	g_auto(GStrv) parts = NULL;

	if (raw == NULL)
		return g_strv_builder_end(builder);
	parts = g_strsplit(raw, ";", -1);
	for (guint i = 0; parts[i] != NULL; i++) {
		g_strstrip(parts[i]);
		if (parts[i][0] != '\0')
			g_strv_builder_add(builder, parts[i]);
	}
	return g_strv_builder_end(builder);
}

char *
pxed_instance_get_path(PxedInstance *self, const char *key)
{
	return pxed_instance_get_string(self, key);
}

GPtrArray *
pxed_instance_get_listen(PxedInstance *self, const char *key)
{
	g_autofree char *raw = raw_value(self, key);
	g_autoptr(GError) error = NULL;
	GPtrArray *result = pxed_listen_list_parse(raw, 0, &error);

	if (result == NULL) {
		g_critical("instance %s: %s: %s", self->name, key, error->message);
		result = g_ptr_array_new_with_free_func(g_object_unref);
	}
	return result;
}

GHashTable *
pxed_instance_get_prefixed(PxedInstance *self, const char *prefix)
{
	GHashTable *result = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	g_auto(GStrv) keys = g_key_file_get_keys(self->values, PXED_INSTANCE_GROUP, NULL, NULL);

	for (guint i = 0; keys != NULL && keys[i] != NULL; i++) {
		if (!g_str_has_prefix(keys[i], prefix))
			continue;
		g_hash_table_insert(
			result, g_strdup(keys[i]),
			g_key_file_get_string(self->values, PXED_INSTANCE_GROUP, keys[i], NULL));
	}
	return result;
}
