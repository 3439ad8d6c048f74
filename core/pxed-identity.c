/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Who is at an address: the notes DHCP and proxyDHCP take (pxed-sightings.c)
 * weighed against pxed's own bound leases, for TFTP and HTTP requests that
 * carry no identity, and whether a request comes from the machine a lease
 * names. The one job of this file; the core gates it on `identity-by-address`.
 */
#include "pxed-identity.h"

#include "pxed-sightings.h"

#include <string.h>

struct _PxedIdentity {
	PxedIdentityStoresFunc stores;
	gpointer stores_data;
	PxedSightings *sightings; /* address -> the client DHCP last described there */
	gint64 refused_logged;	  /* monotonic µs of the last "notes refused" line */
	guint64 refused_reported; /* refused + contested notes that line counted */
};

PxedIdentity *
pxed_identity_new(guint max_notes, PxedIdentityStoresFunc stores, gpointer user_data)
{
	PxedIdentity *self = g_new0(PxedIdentity, 1);

	self->stores = stores;
	self->stores_data = user_data;
	self->sightings = pxed_sightings_new(max_notes);
	return self;
}

void
pxed_identity_free(PxedIdentity *self)
{
	if (self == NULL)
		return;
	pxed_sightings_free(self->sightings);
	g_free(self);
}

/* IPv4 only: leases are IPv4. */
static gboolean
inet_to_ipv4(GInetAddress *address, guint32 *ip)
{
	if (address == NULL || g_inet_address_get_family(address) != G_SOCKET_FAMILY_IPV4)
		return FALSE;
	memcpy(ip, g_inet_address_to_bytes(address), 4);
	return TRUE;
}

/* (transfer full) The bound lease, with a MAC, on @address in any store, or %NULL. */
static PxedLease *
lease_on_address(PxedIdentity *self, GInetAddress *address)
{
	gint64 now = g_get_real_time() / G_USEC_PER_SEC;
	g_autoptr(GPtrArray) stores = NULL;
	guint32 ip;

	if (!inet_to_ipv4(address, &ip))
		return NULL;
	stores = self->stores(self->stores_data);
	for (guint i = 0; i < stores->len; i++) {
		g_autoptr(PxedLease) lease =
			pxed_store_get_by_address(g_ptr_array_index(stores, i), ip);

		if (lease != NULL && pxed_lease_get_state(lease) == PXED_LEASE_BOUND &&
		    pxed_lease_holds_address(lease, now) && pxed_lease_get_mac(lease) != NULL)
			return g_steal_pointer(&lease);
	}
	return NULL;
}

/* A refused note is someone speaking for an address another machine holds:
 * counted, and a line at most once a minute with the count since the last. */
static void
report_refused(PxedIdentity *self, PxedClient *client, gint64 now)
{
	guint64 total = pxed_sightings_get_refused(self->sightings) +
			pxed_sightings_get_contested(self->sightings);

	if (total == self->refused_reported ||
	    (self->refused_logged != 0 && now - self->refused_logged < 60 * G_USEC_PER_SEC))
		return;
	g_message("identity: %" G_GUINT64_FORMAT " notes refused or contested since the last "
		  "report (%" G_GUINT64_FORMAT " refused, %" G_GUINT64_FORMAT
		  " addresses contested in all); latest: %s for %s",
		  total - self->refused_reported, pxed_sightings_get_refused(self->sightings),
		  pxed_sightings_get_contested(self->sightings), pxed_client_get_key(client),
		  pxed_client_get_address_string(client));
	self->refused_reported = total;
	self->refused_logged = now;
}

gboolean
pxed_identity_note(PxedIdentity *self, PxedClient *client, PxedEvidence evidence, guint lifetime)
{
	gint64 now = g_get_monotonic_time();
	gboolean noted;

	if (evidence == PXED_EVIDENCE_CLAIM) {
		/* a claim fills a gap only: never over pxed's own lease of another MAC */
		g_autoptr(PxedLease) lease =
			lease_on_address(self, pxed_client_get_address(client));
		if (lease != NULL &&
		    g_strcmp0(pxed_lease_get_mac(lease), pxed_client_get_mac_string(client)) != 0) {
			pxed_sightings_count_refused(self->sightings);
			report_refused(self, client, now);
			return FALSE;
		}
	}
	noted = pxed_sightings_note(self->sightings, client, evidence, now,
				    (gint64)lifetime * G_USEC_PER_SEC);
	report_refused(self, client, now);
	return noted;
}

/* A bound lease on the client's (IPv4) address, in any store, as a client
 * with the MAC and host name the lease recorded. */
static PxedClient *
client_from_leases(PxedIdentity *self, GInetAddress *address)
{
	g_autoptr(PxedLease) lease = lease_on_address(self, address);
	PxedClient *client;

	if (lease == NULL)
		return NULL;
	client = pxed_client_new();
	if (!pxed_client_set_mac_string(client, pxed_lease_get_mac(lease), NULL)) {
		pxed_client_unref(client);
		return NULL;
	}
	pxed_client_set_hostname(client, pxed_lease_get_hostname(lease));
	return client;
}

gboolean
pxed_identity_identify(PxedIdentity *self, PxedClient *client)
{
	GInetAddress *address = pxed_client_get_address(client);
	g_autoptr(PxedClient) known = NULL;
	PxedEvidence evidence = PXED_EVIDENCE_CLAIM;

	if (address == NULL)
		return FALSE;
	known = pxed_sightings_lookup(self->sightings, address, g_get_monotonic_time(), &evidence);
	if (known == NULL || evidence < PXED_EVIDENCE_LEASE) {
		/* pxed's own lease outweighs what a packet said, unless both name
		 * the same machine (the note then has more than MAC and host name) */
		g_autoptr(PxedClient) leased = client_from_leases(self, address);
		if (leased != NULL &&
		    (known == NULL || g_strcmp0(pxed_client_get_mac_string(known),
						pxed_client_get_mac_string(leased)) != 0)) {
			g_clear_pointer(&known, pxed_client_unref);
			known = g_steal_pointer(&leased);
		}
	}
	return known != NULL && pxed_sightings_merge(client, known);
}

PxedLeaseCheck
pxed_identity_check_lease(PxedIdentity *self, PxedClient *client)
{
	GInetAddress *address = pxed_client_get_address(client);
	const char *mac = pxed_client_get_mac_string(client);
	const char *uuid = pxed_client_get_uuid_string(client);
	g_autoptr(PxedLease) lease = NULL;
	g_autoptr(PxedClient) noted = NULL;
	PxedEvidence evidence = PXED_EVIDENCE_CLAIM;
	g_autoptr(GPtrArray) stores = self->stores(self->stores_data);

	if (stores->len == 0)
		return PXED_LEASE_CHECK_NO_LEASES;
	if (address == NULL || mac == NULL)
		return PXED_LEASE_CHECK_NOT_BOUND;
	lease = lease_on_address(self, address);
	if (lease == NULL || g_strcmp0(pxed_lease_get_mac(lease), mac) != 0)
		return PXED_LEASE_CHECK_NOT_BOUND;
	/* The lease records no UUID; the DHCP exchange that made it may have
	 * (option 97). A UUID other than that one is not this machine's word. */
	noted = pxed_sightings_lookup(self->sightings, address, g_get_monotonic_time(), &evidence);
	if (uuid != NULL && noted != NULL && evidence == PXED_EVIDENCE_LEASE &&
	    g_strcmp0(pxed_client_get_mac_string(noted), mac) == 0 &&
	    pxed_client_get_uuid_string(noted) != NULL &&
	    !g_str_equal(pxed_client_get_uuid_string(noted), uuid))
		return PXED_LEASE_CHECK_NOT_BOUND;
	return PXED_LEASE_CHECK_BOUND;
}
