/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * PxedInstance: the one handle a plugin instance has on the daemon. Its
 * configuration is read here; everything else goes through the PxedContext
 * vtable of the core (or of a test's fake core), with the instance's own name
 * and state folder filled in.
 */
#include "pxed-handle-private.h"

PxedInstance *
pxed_instance_ref(PxedInstance *self)
{
	g_return_val_if_fail(self != NULL, NULL);
	g_atomic_int_inc(&self->refcount);
	return self;
}

void
pxed_instance_unref(PxedInstance *self)
{
	if (self == NULL || !g_atomic_int_dec_and_test(&self->refcount))
		return;
	g_free(self->name);
	g_free(self->state_dir);
	g_key_file_unref(self->values);
	g_free(self);
}

const char *
pxed_instance_get_name(PxedInstance *self)
{
	return self->name;
}

guint
pxed_instance_get_generation(PxedInstance *self)
{
	return self->generation;
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

/* ---- the daemon, through the context's vtable ---- */

GMainContext *
pxed_instance_get_main_context(PxedInstance *self)
{
	g_return_val_if_fail(self != NULL, NULL);
	return self->context->vtable->get_main_context(self->context->core);
}

const char *
pxed_instance_get_state_dir(PxedInstance *self)
{
	g_return_val_if_fail(self != NULL, NULL);
	return self->state_dir;
}

void
pxed_instance_event(PxedInstance *self, PxedClient *client, const char *event, const char *format,
		    ...)
{
	va_list args;
	g_autofree char *message = NULL;

	g_return_if_fail(self != NULL && event != NULL);
	va_start(args, format);
	message = g_strdup_vprintf(format, args);
	va_end(args);
	self->context->vtable->event(self->context->core, client, self->name, event, message);
}

PxedBootReply *
pxed_instance_boot(PxedInstance *self, PxedClient *client, GError **error)
{
	g_return_val_if_fail(self != NULL, NULL);
	g_return_val_if_fail(client != NULL, NULL);
	return self->context->vtable->boot(self->context->core, client, error);
}

PxedFile *
pxed_instance_open_file(PxedInstance *self, PxedVia via, PxedClient *client, const char *path,
			GHashTable *query, GError **error)
{
	g_return_val_if_fail(self != NULL, NULL);
	g_return_val_if_fail(path != NULL, NULL);
	return self->context->vtable->open_file(self->context->core, via, client, path, query,
						error);
}

PxedMachine *
pxed_instance_match(PxedInstance *self, PxedClient *client)
{
	g_return_val_if_fail(self != NULL, NULL);
	g_return_val_if_fail(client != NULL, NULL);
	return self->context->vtable->match(self->context->core, client);
}

gboolean
pxed_instance_note_client(PxedInstance *self, PxedClient *client, PxedEvidence evidence,
			  guint lifetime)
{
	const PxedContextVTable *vtable;

	g_return_val_if_fail(self != NULL && client != NULL, FALSE);
	g_return_val_if_fail(evidence >= PXED_EVIDENCE_CLAIM && evidence <= PXED_EVIDENCE_LEASE,
			     FALSE);
	vtable = self->context->vtable;
	if (pxed_client_get_address(client) == NULL || vtable->note_client == NULL)
		return FALSE;
	return vtable->note_client(self->context->core, client, evidence, lifetime);
}

gboolean
pxed_instance_identify_client(PxedInstance *self, PxedClient *client)
{
	const PxedContextVTable *vtable;

	g_return_val_if_fail(self != NULL && client != NULL, FALSE);
	vtable = self->context->vtable;
	if (pxed_client_get_address(client) == NULL || vtable->identify_client == NULL)
		return FALSE;
	return vtable->identify_client(self->context->core, client);
}

PxedLeaseCheck
pxed_instance_check_lease(PxedInstance *self, PxedClient *client)
{
	g_return_val_if_fail(self != NULL && client != NULL, PXED_LEASE_CHECK_NOT_BOUND);
	if (self->context->vtable->check_lease == NULL)
		return PXED_LEASE_CHECK_NO_LEASES;
	return self->context->vtable->check_lease(self->context->core, client);
}

gboolean
pxed_instance_is_reserved(PxedInstance *self, guint32 address)
{
	g_return_val_if_fail(self != NULL, FALSE);
	if (self->context->vtable->is_reserved == NULL)
		return FALSE;
	return self->context->vtable->is_reserved(self->context->core, address);
}

/* ---- leases (pxed-lease.h): the handle is the core's store itself ---- */

PxedLeaseStore *
pxed_instance_lease_open(PxedInstance *self, const char *name, GError **error)
{
	g_autofree char *path = NULL;

	g_return_val_if_fail(self != NULL, NULL);
	g_return_val_if_fail(name != NULL, NULL);
	if (self->context->vtable->lease_open == NULL) {
		g_set_error_literal(error, PXED_ERROR, PXED_ERROR_FAILED,
				    "this core keeps no leases");
		return NULL;
	}
	/* A relative name lives in the folder of the instance's own generation:
	 * a reload that moves `state-dir` opens the new folder's store, while
	 * the instances it carries over keep theirs. */
	if (g_path_is_absolute(name) || self->state_dir == NULL)
		path = g_strdup(name);
	else
		path = g_build_filename(self->state_dir, name, NULL);
	return self->context->vtable->lease_open(self->context->core, path, error);
}

void
pxed_instance_lease_close(PxedInstance *self, PxedLeaseStore *store)
{
	g_return_if_fail(self != NULL);
	if (store != NULL)
		self->context->vtable->lease_close(self->context->core, store);
}

PxedLease *
pxed_instance_lease_get(PxedInstance *self, PxedLeaseStore *store, const char *client_id)
{
	g_return_val_if_fail(self != NULL && store != NULL, NULL);
	g_return_val_if_fail(client_id != NULL, NULL);
	return self->context->vtable->lease_get(self->context->core, store, client_id);
}

PxedLease *
pxed_instance_lease_get_by_address(PxedInstance *self, PxedLeaseStore *store, guint32 address)
{
	g_return_val_if_fail(self != NULL && store != NULL, NULL);
	return self->context->vtable->lease_get_by_address(self->context->core, store, address);
}

void
pxed_instance_lease_put_async(PxedInstance *self, PxedLeaseStore *store, PxedLease *lease,
			      GAsyncReadyCallback callback, gpointer user_data)
{
	g_autoptr(GTask) task = NULL;
	GMainContext *main_context;

	g_return_if_fail(self != NULL && store != NULL && lease != NULL);
	/* The callback runs on the core's main context, whatever the caller's
	 * thread-default context is. */
	main_context = pxed_instance_get_main_context(self);
	g_main_context_push_thread_default(main_context);
	task = g_task_new(NULL, NULL, callback, user_data);
	g_main_context_pop_thread_default(main_context);
	g_task_set_source_tag(task, pxed_instance_lease_put_async);
	self->context->vtable->lease_put(self->context->core, store, lease, g_steal_pointer(&task));
}

gboolean
pxed_instance_lease_put_finish(PxedInstance *self, GAsyncResult *result, GError **error)
{
	g_return_val_if_fail(g_task_is_valid(result, NULL), FALSE);
	return g_task_propagate_boolean(G_TASK(result), error);
}

void
pxed_instance_lease_release(PxedInstance *self, PxedLeaseStore *store, const char *client_id)
{
	g_return_if_fail(self != NULL && store != NULL && client_id != NULL);
	self->context->vtable->lease_release(self->context->core, store, client_id);
}

void
pxed_instance_lease_foreach(PxedInstance *self, PxedLeaseStore *store, PxedLeaseFunc func,
			    gpointer user_data)
{
	g_return_if_fail(self != NULL && store != NULL && func != NULL);
	self->context->vtable->lease_foreach(self->context->core, store, func, user_data);
}
