/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <pxed/pxed.h>

G_BEGIN_DECLS

/**
 * PxedSightings:
 *
 * Who was last seen at an address: the client a DHCP or proxyDHCP exchange
 * described (MAC, UUID, architecture, classes), kept until its lease ends.
 * TFTP and HTTP requests carry no identity; this is how they get one. Memory
 * only: after a restart the lease store still knows MAC and host name, and
 * the next DHCP exchange brings back the rest.
 */
typedef struct _PxedSightings PxedSightings;

/* @max_entries bounds memory when DHCP is flooded with made-up clients. */
PxedSightings *pxed_sightings_new(guint max_entries);
void pxed_sightings_free(PxedSightings *self);

/* Remembers @client (a reference: the caller no longer changes it), under its
 * address, until @now + @lifetime (µs, monotonic), unless a live note of more
 * weight is there (see #PxedEvidence):
 * - a note never replaces one of a higher rank;
 * - a claim never replaces a note of another MAC: it fills an empty slot, and
 *   two claims of different MACs for one address leave it contested — known
 *   as nobody, and closed to claims — until the later of them would have
 *   ended (first come would let whoever claims first keep the slot; the
 *   machine that really gets the address would then boot as the squatter).
 * Returns whether @client was noted. */
gboolean pxed_sightings_note(PxedSightings *self, PxedClient *client, PxedEvidence evidence,
			     gint64 now, gint64 lifetime);
/* (transfer full) What was noted for @address and has not expired at @now, or
 * %NULL (also for a contested address); @evidence (optional) gets its rank. */
PxedClient *pxed_sightings_lookup(PxedSightings *self, GInetAddress *address, gint64 now,
				  PxedEvidence *evidence);
/* Notes refused because one of more weight of another MAC was there, and
 * addresses made contested by conflicting claims, since the start. */
guint64 pxed_sightings_get_refused(PxedSightings *self);
guint64 pxed_sightings_get_contested(PxedSightings *self);
/* Counts a note refused for a reason the table does not see (a bound lease). */
void pxed_sightings_count_refused(PxedSightings *self);
guint pxed_sightings_get_size(PxedSightings *self);

/* Fills into @client what it lacks from @known; FALSE (nothing changed) when
 * @client's MAC or UUID says it is another machine. */
gboolean pxed_sightings_merge(PxedClient *client, PxedClient *known);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(PxedSightings, pxed_sightings_free)

G_END_DECLS
