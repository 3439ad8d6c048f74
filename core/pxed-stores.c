/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The lease stores the core holds open for its plugin instances: one
 * PxedStore per file, shared by every instance naming it and counted, and
 * the PxedContextVTable's lease calls on them. The one job of this file.
 *
 * Stores outlive configuration generations: an instance carried over or
 * restarted by a reload keeps the same store, and two instances naming the
 * same file share one store rather than two writers racing on one journal.
 */
#include "pxed-stores.h"

#include "pxed-core.h"

struct _PxedStores {
	GMainContext *main_context;
	GHashTable *open; /* absolute path -> OpenStore* */
};

typedef struct {
	PxedStore *store;
	char *path;
	guint users;
} OpenStore;

static void
open_store_free(OpenStore *os)
{
	pxed_store_close(os->store);
	g_free(os->path);
	g_free(os);
}

PxedStores *
pxed_stores_new(GMainContext *main_context)
{
	PxedStores *self = g_new0(PxedStores, 1);

	self->main_context = g_main_context_ref(main_context);
	self->open = g_hash_table_new_full(g_str_hash, g_str_equal, NULL,
					   (GDestroyNotify)open_store_free);
	return self;
}

void
pxed_stores_free(PxedStores *self)
{
	if (self == NULL)
		return;
	g_hash_table_unref(self->open);
	g_main_context_unref(self->main_context);
	g_free(self);
}

GPtrArray *
pxed_stores_list(gpointer data)
{
	PxedStores *self = data;
	GPtrArray *stores = g_ptr_array_new();
	GHashTableIter iter;
	gpointer value;

	g_hash_table_iter_init(&iter, self->open);
	while (g_hash_table_iter_next(&iter, NULL, &value))
		g_ptr_array_add(stores, ((OpenStore *)value)->store);
	return stores;
}

static OpenStore *
find_open(PxedStores *self, gpointer store)
{
	GHashTableIter iter;
	gpointer value;

	g_hash_table_iter_init(&iter, self->open);
	while (g_hash_table_iter_next(&iter, NULL, &value)) {
		if (((OpenStore *)value)->store == store)
			return value;
	}
	return NULL;
}

/* @name: absolute, resolved by the instance against its generation's folder */
gpointer
pxed_stores_lease_open(gpointer core, const char *name, GError **error)
{
	PxedStores *self = pxed_core_get_stores(core);
	g_autofree char *path =
		g_path_is_absolute(name)
			? g_strdup(name)
			: g_build_filename(pxed_core_get_state_dir(core), name, NULL);
	OpenStore *os = g_hash_table_lookup(self->open, path);

	if (os == NULL) {
		PxedStore *store = pxed_store_file_open(self->main_context, path, error);
		if (store == NULL)
			return NULL;
		os = g_new0(OpenStore, 1);
		os->store = store;
		os->path = g_steal_pointer(&path);
		g_hash_table_insert(self->open, os->path, os);
	}
	os->users++;
	return os->store;
}

void
pxed_stores_lease_close(gpointer core, gpointer store)
{
	PxedStores *self = pxed_core_get_stores(core);
	OpenStore *os = find_open(self, store);

	g_return_if_fail(os != NULL);
	if (--os->users == 0)
		g_hash_table_remove(self->open, os->path);
}

PxedLease *
pxed_stores_lease_get(gpointer core, gpointer store, const char *client_id)
{
	return pxed_store_get(store, client_id);
}

PxedLease *
pxed_stores_lease_get_by_address(gpointer core, gpointer store, guint32 address)
{
	return pxed_store_get_by_address(store, address);
}

void
pxed_stores_lease_put(gpointer core, gpointer store, PxedLease *lease, GTask *task)
{
	pxed_store_put(store, lease, task);
}

void
pxed_stores_lease_release(gpointer core, gpointer store, const char *client_id)
{
	pxed_store_release(store, client_id, g_get_real_time() / G_USEC_PER_SEC);
}

void
pxed_stores_lease_foreach(gpointer core, gpointer store, PxedLeaseFunc func, gpointer user_data)
{
	pxed_store_iterate(store, func, user_data);
}
