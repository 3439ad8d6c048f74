/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The core's side of the handles: making a context and the instances over
 * it. Built into the static library pxed-private (the daemon and the tests
 * link it), never into libpxed.so, so that no plugin can make a handle of
 * its own: libpxed.so exports only the public API (sdk/libpxed.map).
 */
#include "pxed-handle-private.h"

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

PxedInstance *
pxed_instance_new(const char *name, PxedContext *context, guint generation, const char *state_dir,
		  GKeyFile *values, const PxedKey *keys)
{
	PxedInstance *self = g_new0(PxedInstance, 1);

	g_return_val_if_fail(name != NULL && context != NULL, NULL);
	self->refcount = 1;
	self->name = g_strdup(name);
	self->generation = generation;
	self->state_dir = g_strdup(state_dir);
	self->context = context;
	self->values = values != NULL ? values : g_key_file_new();
	self->keys = keys;
	return self;
}
