/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined(__PXED_H_INSIDE__) && !defined(PXED_COMPILATION)
#error "Only <pxed/pxed.h> can be included directly."
#endif

#include <pxed/pxed-error.h>

G_BEGIN_DECLS

typedef enum {
	PXED_LEASE_BOUND = 0,	 /* the client holds the address until `expires` */
	PXED_LEASE_RELEASED = 1, /* given back; kept so the client gets it again */
	PXED_LEASE_DECLINED = 2, /* in use by someone else (DHCPDECLINE): blocked until `expires` */
} PxedLeaseState;

/**
 * PxedLease:
 *
 * One IPv4 address lease: who (the client identifier, RFC 2131 §4.2), what
 * (the address, network byte order), until when (wall-clock seconds since the
 * epoch), plus the hardware address and host name for operators. Reference
 * counted. A lease handed out by a store is shared: change a
 * pxed_lease_copy() of it, never the lease itself.
 */
typedef struct _PxedLease PxedLease;

PxedLease *pxed_lease_new(const char *client_id, guint32 address);
PxedLease *pxed_lease_copy(const PxedLease *self);
PxedLease *pxed_lease_ref(PxedLease *self);
void pxed_lease_unref(PxedLease *self);

const char *pxed_lease_get_client_id(const PxedLease *self);
guint32 pxed_lease_get_address(const PxedLease *self);
void pxed_lease_set_address(PxedLease *self, guint32 address);
gint64 pxed_lease_get_expires(const PxedLease *self);
void pxed_lease_set_expires(PxedLease *self, gint64 expires);
PxedLeaseState pxed_lease_get_state(const PxedLease *self);
void pxed_lease_set_state(PxedLease *self, PxedLeaseState state);
/* "52:54:00:12:34:56", or %NULL */
const char *pxed_lease_get_mac(const PxedLease *self);
void pxed_lease_set_mac(PxedLease *self, const char *mac);
const char *pxed_lease_get_hostname(const PxedLease *self);
void pxed_lease_set_hostname(PxedLease *self, const char *hostname);
/* Whether the address is taken (bound or declined) at @now. */
gboolean pxed_lease_holds_address(const PxedLease *self, gint64 now);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(PxedLease, pxed_lease_unref)

/**
 * PxedLeaseStore:
 *
 * A durable set of leases owned by the core, opened by name. Each client
 * identifier has at most one lease and each address at most one holder. The
 * first implementation is a journal file in the state folder; the
 * pxed_instance_lease_*() functions (pxed-instance.h) are what any later one
 * (etcd) keeps.
 */
typedef struct _PxedLeaseStore PxedLeaseStore;

typedef void (*PxedLeaseFunc)(PxedLease *lease, gpointer user_data);

G_END_DECLS
