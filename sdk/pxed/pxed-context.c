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
