/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "pxed.h"

struct _PxedBootReply {
	gint refcount;
	char *filename;
	char *next_server;
	char *vendor_class;
	char *origin;
};

PxedBootReply *
pxed_boot_reply_new(void)
{
	PxedBootReply *self = g_new0(PxedBootReply, 1);
	self->refcount = 1;
	return self;
}

PxedBootReply *
pxed_boot_reply_ref(PxedBootReply *self)
{
	g_atomic_int_inc(&self->refcount);
	return self;
}

void
pxed_boot_reply_unref(PxedBootReply *self)
{
	if (!g_atomic_int_dec_and_test(&self->refcount))
		return;
	g_free(self->filename);
	g_free(self->next_server);
	g_free(self->vendor_class);
	g_free(self->origin);
	g_free(self);
}

#define STRING_PROPERTY(field)                                                                     \
	void pxed_boot_reply_set_##field(PxedBootReply *self, const char *value)                   \
	{                                                                                          \
		g_free(self->field);                                                               \
		self->field = g_strdup(value);                                                     \
	}                                                                                          \
	const char *pxed_boot_reply_get_##field(PxedBootReply *self)                               \
	{                                                                                          \
		return self->field;                                                                \
	}

STRING_PROPERTY(filename)
STRING_PROPERTY(next_server)
STRING_PROPERTY(origin)

void
pxed_boot_reply_set_vendor_class(PxedBootReply *self, const char *value)
{
	g_free(self->vendor_class);
	self->vendor_class = g_strdup(value);
}

const char *
pxed_boot_reply_get_vendor_class(PxedBootReply *self)
{
	return self->vendor_class != NULL ? self->vendor_class : "PXEClient";
}
