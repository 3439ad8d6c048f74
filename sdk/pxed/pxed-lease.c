/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "pxed.h"

struct _PxedLease {
	char *client_id;
	guint32 address;
	gint64 expires;
	PxedLeaseState state;
	char *mac;
	char *hostname;
};

PxedLease *
pxed_lease_new(const char *client_id, guint32 address)
{
	PxedLease *self;

	g_return_val_if_fail(client_id != NULL, NULL);
	self = g_atomic_rc_box_new0(PxedLease);
	self->client_id = g_strdup(client_id);
	self->address = address;
	return self;
}

PxedLease *
pxed_lease_copy(const PxedLease *self)
{
	PxedLease *copy = pxed_lease_new(self->client_id, self->address);

	copy->expires = self->expires;
	copy->state = self->state;
	copy->mac = g_strdup(self->mac);
	copy->hostname = g_strdup(self->hostname);
	return copy;
}

PxedLease *
pxed_lease_ref(PxedLease *self)
{
	return g_atomic_rc_box_acquire(self);
}

/* Frees what @data holds; the reference count's box frees @data. */
static void
lease_clear(gpointer data)
{
	PxedLease *self = data;

	g_free(self->client_id);
	g_free(self->mac);
	g_free(self->hostname);
}

void
pxed_lease_unref(PxedLease *self)
{
	g_atomic_rc_box_release_full(self, lease_clear);
}

const char *
pxed_lease_get_client_id(const PxedLease *self)
{
	return self->client_id;
}

guint32
pxed_lease_get_address(const PxedLease *self)
{
	return self->address;
}

void
pxed_lease_set_address(PxedLease *self, guint32 address)
{
	self->address = address;
}

gint64
pxed_lease_get_expires(const PxedLease *self)
{
	return self->expires;
}

void
pxed_lease_set_expires(PxedLease *self, gint64 expires)
{
	self->expires = expires;
}

PxedLeaseState
pxed_lease_get_state(const PxedLease *self)
{
	return self->state;
}

void
pxed_lease_set_state(PxedLease *self, PxedLeaseState state)
{
	self->state = state;
}

const char *
pxed_lease_get_mac(const PxedLease *self)
{
	return self->mac;
}

void
pxed_lease_set_mac(PxedLease *self, const char *mac)
{
	g_free(self->mac);
	self->mac = g_strdup(mac);
}

const char *
pxed_lease_get_hostname(const PxedLease *self)
{
	return self->hostname;
}

void
pxed_lease_set_hostname(PxedLease *self, const char *hostname)
{
	g_free(self->hostname);
	self->hostname = g_strdup(hostname);
}

gboolean
pxed_lease_holds_address(const PxedLease *self, gint64 now)
{
	return self->state != PXED_LEASE_RELEASED && self->expires > now;
}
