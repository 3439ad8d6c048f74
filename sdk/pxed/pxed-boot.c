/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "pxed.h"

struct _PxedBootReply {
	char *filename;
	char *next_server;
	char *vendor_class;
	char *origin;
};

PxedBootReply *
pxed_boot_reply_new(void)
{
	return g_atomic_rc_box_new0(PxedBootReply);
}

PxedBootReply *
pxed_boot_reply_ref(PxedBootReply *self)
{
	return g_atomic_rc_box_acquire(self);
}

/* Frees what @data holds; the reference count's box frees @data. */
static void
boot_reply_clear(gpointer data)
{
	PxedBootReply *self = data;

	g_free(self->filename);
	g_free(self->next_server);
	g_free(self->vendor_class);
	g_free(self->origin);
}

void
pxed_boot_reply_unref(PxedBootReply *self)
{
	g_atomic_rc_box_release_full(self, boot_reply_clear);
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
