/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "pxed-test-context.h"

#include <pxed/pxed-instance-private.h>

#include "pxed-test.h"

struct _PxedTestContext {
	const PxedTestContextCallbacks *cb;
	gpointer user_data;
	char *dir;
	PxedStore *store;
	guint store_users; /* lease_open without lease_close */
	PxedContext *ctx;
	GPtrArray *instances; /* PxedInstance*, made by pxed_test_context_instance() */
};

static GMainContext *
fake_get_main_context(gpointer core)
{
	return g_main_context_default();
}

static PxedBootReply *
fake_boot(gpointer core, PxedClient *client, GError **error)
{
	PxedTestContext *self = core;

	if (self->cb->boot != NULL)
		return self->cb->boot(self->user_data, client, error);
	g_set_error_literal(error, PXED_ERROR, PXED_ERROR_NOT_FOUND,
			    "no boot pipeline in this test");
	return NULL;
}

static PxedFile *
fake_open_file(gpointer core, PxedVia via, PxedClient *client, const char *path, GHashTable *query,
	       GError **error)
{
	PxedTestContext *self = core;

	if (self->cb->open_file != NULL)
		return self->cb->open_file(self->user_data, via, client, path, query, error);
	g_set_error(error, PXED_ERROR, PXED_ERROR_NOT_FOUND, "%s: no files in this test", path);
	return NULL;
}

static void
fake_event(gpointer core, PxedClient *client, const char *source, const char *event,
	   const char *message)
{
	PxedTestContext *self = core;

	if (self->cb->event != NULL)
		self->cb->event(self->user_data, client, source, event, message);
}

static PxedMachine *
fake_match(gpointer core, PxedClient *client)
{
	PxedTestContext *self = core;

	return self->cb->match != NULL ? self->cb->match(self->user_data, client) : NULL;
}

static gboolean
fake_note_client(gpointer core, PxedClient *client, PxedEvidence evidence, guint lifetime)
{
	PxedTestContext *self = core;

	return self->cb->note_client != NULL &&
	       self->cb->note_client(self->user_data, client, evidence, lifetime);
}

static gboolean
fake_identify_client(gpointer core, PxedClient *client)
{
	PxedTestContext *self = core;

	return self->cb->identify_client != NULL &&
	       self->cb->identify_client(self->user_data, client);
}

static PxedLeaseCheck
fake_check_lease(gpointer core, PxedClient *client)
{
	PxedTestContext *self = core;

	return self->cb->check_lease != NULL ? self->cb->check_lease(self->user_data, client)
					     : PXED_LEASE_CHECK_NO_LEASES;
}

static gboolean
fake_is_reserved(gpointer core, guint32 address)
{
	PxedTestContext *self = core;

	return self->cb->is_reserved != NULL && self->cb->is_reserved(self->user_data, address);
}

static gpointer
fake_lease_open(gpointer core, const char *name, GError **error)
{
	PxedTestContext *self = core;

	self->store_users++;
	return self->store;
}

static void
fake_lease_close(gpointer core, gpointer store)
{
	PxedTestContext *self = core;

	g_assert_true(store == self->store);
	g_assert_cmpuint(self->store_users, >, 0);
	self->store_users--;
}

static PxedLease *
fake_lease_get(gpointer core, gpointer store, const char *client_id)
{
	return pxed_store_get(store, client_id);
}

static PxedLease *
fake_lease_get_by_address(gpointer core, gpointer store, guint32 address)
{
	return pxed_store_get_by_address(store, address);
}

static void
fake_lease_put(gpointer core, gpointer store, PxedLease *lease, GTask *task)
{
	pxed_store_put(store, lease, task);
}

static void
fake_lease_release(gpointer core, gpointer store, const char *client_id)
{
	PxedTestContext *self = core;
	gint64 now = self->cb->now != NULL ? self->cb->now(self->user_data)
					   : g_get_real_time() / G_USEC_PER_SEC;

	pxed_store_release(store, client_id, now);
}

static void
fake_lease_foreach(gpointer core, gpointer store, PxedLeaseFunc func, gpointer user_data)
{
	pxed_store_iterate(store, func, user_data);
}

static const PxedContextVTable fake_vtable = {
	.get_main_context = fake_get_main_context,
	.boot = fake_boot,
	.open_file = fake_open_file,
	.event = fake_event,
	.match = fake_match,
	.note_client = fake_note_client,
	.identify_client = fake_identify_client,
	.check_lease = fake_check_lease,
	.is_reserved = fake_is_reserved,
	.lease_open = fake_lease_open,
	.lease_close = fake_lease_close,
	.lease_get = fake_lease_get,
	.lease_get_by_address = fake_lease_get_by_address,
	.lease_put = fake_lease_put,
	.lease_release = fake_lease_release,
	.lease_foreach = fake_lease_foreach,
};

PxedTestContext *
pxed_test_context_new(const PxedTestContextCallbacks *callbacks, gpointer user_data)
{
	static const PxedTestContextCallbacks none = {NULL};
	PxedTestContext *self = g_new0(PxedTestContext, 1);
	g_autoptr(GError) error = NULL;
	g_autofree char *path = NULL;

	self->cb = callbacks != NULL ? callbacks : &none;
	self->user_data = user_data;
	self->dir = pxed_test_tmpdir_new();
	path = g_build_filename(self->dir, "leases", NULL);
	self->store = pxed_store_file_open(NULL, path, &error);
	g_assert_no_error(error);
	self->ctx = pxed_context_new(&fake_vtable, self);
	self->instances = g_ptr_array_new_with_free_func((GDestroyNotify)pxed_instance_unref);
	return self;
}

void
pxed_test_context_free(PxedTestContext *self)
{
	if (self == NULL)
		return;
	pxed_store_close(self->store);
	g_ptr_array_unref(self->instances);
	pxed_context_free(self->ctx);
	pxed_test_tmpdir_free(self->dir);
	g_free(self);
}

PxedInstance *
pxed_test_context_instance(PxedTestContext *self, const char *name)
{
	PxedInstance *instance = pxed_instance_new(name, self->ctx, 1, self->dir, NULL, NULL);

	g_ptr_array_add(self->instances, instance);
	return instance;
}

const char *
pxed_test_context_get_dir(PxedTestContext *self)
{
	return self->dir;
}

PxedStore *
pxed_test_context_get_store(PxedTestContext *self)
{
	return self->store;
}

PxedLeaseStore *
pxed_test_context_get_lease_store(PxedTestContext *self)
{
	return (PxedLeaseStore *)self->store;
}
