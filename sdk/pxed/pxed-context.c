/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "pxed-context-private.h"

struct _PxedContext {
	const PxedContextVTable *vtable;
	gpointer core;
};

PxedContext *
pxed_context_new(const PxedContextVTable *vtable, gpointer core)
{
	PxedContext *self = g_new0(PxedContext, 1);
	self->vtable = vtable;
	self->core = core;
	return self;
}

void
pxed_context_free(PxedContext *self)
{
	g_free(self);
}

GMainContext *
pxed_context_get_main_context(PxedContext *self)
{
	g_return_val_if_fail(self != NULL, NULL);
	return self->vtable->get_main_context(self->core);
}

const char *
pxed_context_get_state_dir(PxedContext *self)
{
	g_return_val_if_fail(self != NULL, NULL);
	return self->vtable->get_state_dir(self->core);
}

PxedBootReply *
pxed_context_boot(PxedContext *self, PxedClient *client, GError **error)
{
	g_return_val_if_fail(self != NULL, NULL);
	g_return_val_if_fail(client != NULL, NULL);
	return self->vtable->boot(self->core, client, error);
}

PxedFile *
pxed_context_open_file(PxedContext *self, PxedVia via, PxedClient *client, const char *path,
		       GHashTable *query, GError **error)
{
	g_return_val_if_fail(self != NULL, NULL);
	g_return_val_if_fail(path != NULL, NULL);
	return self->vtable->open_file(self->core, via, client, path, query, error);
}

void
pxed_context_event(PxedContext *self, PxedClient *client, const char *source, const char *event,
		   const char *format, ...)
{
	va_list args;
	g_autofree char *message = NULL;

	g_return_if_fail(self != NULL);
	va_start(args, format);
	message = g_strdup_vprintf(format, args);
	va_end(args);
	self->vtable->event(self->core, client, source, event, message);
}

PxedMachine *
pxed_context_match(PxedContext *self, PxedClient *client)
{
	g_return_val_if_fail(self != NULL, NULL);
	g_return_val_if_fail(client != NULL, NULL);
	return self->vtable->match(self->core, client);
}

gboolean
pxed_context_note_client(PxedContext *self, PxedClient *client, PxedEvidence evidence,
			 guint lifetime)
{
	g_return_val_if_fail(self != NULL && client != NULL, FALSE);
	g_return_val_if_fail(evidence >= PXED_EVIDENCE_CLAIM && evidence <= PXED_EVIDENCE_LEASE,
			     FALSE);
	if (pxed_client_get_address(client) == NULL || self->vtable->note_client == NULL)
		return FALSE;
	return self->vtable->note_client(self->core, client, evidence, lifetime);
}

gboolean
pxed_context_identify_client(PxedContext *self, PxedClient *client)
{
	g_return_val_if_fail(self != NULL && client != NULL, FALSE);
	if (pxed_client_get_address(client) == NULL || self->vtable->identify_client == NULL)
		return FALSE;
	return self->vtable->identify_client(self->core, client);
}

PxedLeaseCheck
pxed_context_check_lease(PxedContext *self, PxedClient *client)
{
	g_return_val_if_fail(self != NULL && client != NULL, PXED_LEASE_CHECK_NOT_BOUND);
	if (self->vtable->check_lease == NULL)
		return PXED_LEASE_CHECK_NO_LEASES;
	return self->vtable->check_lease(self->core, client);
}

gboolean
pxed_context_is_reserved(PxedContext *self, guint32 address)
{
	g_return_val_if_fail(self != NULL, FALSE);
	if (self->vtable->is_reserved == NULL)
		return FALSE;
	return self->vtable->is_reserved(self->core, address);
}

/* ---- leases (pxed-lease.h): the handle is the core's store itself ---- */

PxedLeaseStore *
pxed_context_lease_open(PxedContext *self, const char *name, GError **error)
{
	g_return_val_if_fail(self != NULL, NULL);
	g_return_val_if_fail(name != NULL, NULL);
	if (self->vtable->lease_open == NULL) {
		g_set_error_literal(error, PXED_ERROR, PXED_ERROR_FAILED,
				    "this core keeps no leases");
		return NULL;
	}
	return self->vtable->lease_open(self->core, name, error);
}

void
pxed_context_lease_close(PxedContext *self, PxedLeaseStore *store)
{
	g_return_if_fail(self != NULL);
	if (store != NULL)
		self->vtable->lease_close(self->core, store);
}

PxedLease *
pxed_context_lease_get(PxedContext *self, PxedLeaseStore *store, const char *client_id)
{
	g_return_val_if_fail(self != NULL && store != NULL, NULL);
	g_return_val_if_fail(client_id != NULL, NULL);
	return self->vtable->lease_get(self->core, store, client_id);
}

PxedLease *
pxed_context_lease_get_by_address(PxedContext *self, PxedLeaseStore *store, guint32 address)
{
	g_return_val_if_fail(self != NULL && store != NULL, NULL);
	return self->vtable->lease_get_by_address(self->core, store, address);
}

void
pxed_context_lease_put_async(PxedContext *self, PxedLeaseStore *store, PxedLease *lease,
			     GAsyncReadyCallback callback, gpointer user_data)
{
	g_autoptr(GTask) task = NULL;
	GMainContext *main_context;

	g_return_if_fail(self != NULL && store != NULL && lease != NULL);
	/* The callback runs on the core's main context, whatever the caller's
	 * thread-default context is. */
	main_context = self->vtable->get_main_context(self->core);
	g_main_context_push_thread_default(main_context);
	task = g_task_new(NULL, NULL, callback, user_data);
	g_main_context_pop_thread_default(main_context);
	g_task_set_source_tag(task, pxed_context_lease_put_async);
	self->vtable->lease_put(self->core, store, lease, g_steal_pointer(&task));
}

gboolean
pxed_context_lease_put_finish(PxedContext *self, GAsyncResult *result, GError **error)
{
	g_return_val_if_fail(g_task_is_valid(result, NULL), FALSE);
	return g_task_propagate_boolean(G_TASK(result), error);
}

void
pxed_context_lease_release(PxedContext *self, PxedLeaseStore *store, const char *client_id)
{
	g_return_if_fail(self != NULL && store != NULL && client_id != NULL);
	self->vtable->lease_release(self->core, store, client_id);
}

void
pxed_context_lease_foreach(PxedContext *self, PxedLeaseStore *store, PxedLeaseFunc func,
			   gpointer user_data)
{
	g_return_if_fail(self != NULL && store != NULL && func != NULL);
	self->vtable->lease_foreach(self->core, store, func, user_data);
}
