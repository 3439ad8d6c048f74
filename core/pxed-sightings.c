/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "pxed-sightings.h"

typedef struct {
	PxedClient *client; /* never changed after noting (pxed_instance_note_client);
			     * %NULL: contested by claims of different MACs */
	PxedEvidence evidence;
	gint64 expires;
} Sighting;

struct _PxedSightings {
	GHashTable *by_address; /* GInetAddress* -> Sighting* */
	guint max_entries;
	guint64 refused;
	guint64 contested;
};

static void
sighting_free(Sighting *s)
{
	g_clear_pointer(&s->client, pxed_client_unref);
	g_free(s);
}

/* g_inet_address_hash() is GLib 2.86; Debian 12 has 2.74. FNV-1a over the bytes. */
static guint
inet_hash(gconstpointer key)
{
	GInetAddress *address = (GInetAddress *)key;
	const guint8 *bytes = g_inet_address_to_bytes(address);
	gsize len = g_inet_address_get_native_size(address);
	guint32 h = 2166136261u;

	for (gsize i = 0; i < len; i++)
		h = (h ^ bytes[i]) * 16777619u;
	return h;
}

PxedSightings *
pxed_sightings_new(guint max_entries)
{
	PxedSightings *self = g_new0(PxedSightings, 1);
	self->by_address = g_hash_table_new_full(inet_hash, (GEqualFunc)g_inet_address_equal,
						 g_object_unref, (GDestroyNotify)sighting_free);
	self->max_entries = MAX(max_entries, 1);
	return self;
}

void
pxed_sightings_free(PxedSightings *self)
{
	if (self == NULL)
		return;
	g_hash_table_unref(self->by_address);
	g_free(self);
}

static int
compare_gint64(gconstpointer a, gconstpointer b)
{
	gint64 x = *(const gint64 *)a, y = *(const gint64 *)b;
	return (x > y) - (x < y);
}

/* Room for more: whatever expired goes, and if that is not an eighth of the
 * table (a flood of made-up clients), the soonest to expire go until it is.
 * One pass frees many places, so a flood costs a few steps per entry, not a
 * pass over the table each. */
static void
make_room(PxedSightings *self, gint64 now)
{
	guint size = g_hash_table_size(self->by_address);
	guint goal = size - MIN(size, MAX(self->max_entries / 8, 1));
	g_autofree gint64 *expiries = g_new(gint64, size);
	GHashTableIter iter;
	gpointer value;
	guint n = 0;
	gint64 cut;

	g_hash_table_iter_init(&iter, self->by_address);
	while (g_hash_table_iter_next(&iter, NULL, &value)) {
		Sighting *s = value;
		if (s->expires <= now)
			g_hash_table_iter_remove(&iter);
		else
			expiries[n++] = s->expires;
	}
	if (n <= goal)
		return;
	/* the (n - goal)th soonest expiry: everything up to it goes (ties may
	 * take a few more) */
	qsort(expiries, n, sizeof(gint64), compare_gint64);
	cut = expiries[n - goal - 1];
	g_hash_table_iter_init(&iter, self->by_address);
	while (g_hash_table_iter_next(&iter, NULL, &value)) {
		if (((Sighting *)value)->expires <= cut)
			g_hash_table_iter_remove(&iter);
	}
}

/* Same machine: the same MAC (DHCP's chaddr; the plugins note nothing
 * without one). A note without a MAC is no machine's word over one with. */
static gboolean
same_machine(PxedClient *a, PxedClient *b)
{
	return g_strcmp0(pxed_client_get_mac_string(a), pxed_client_get_mac_string(b)) == 0;
}

static void
put(PxedSightings *self, GInetAddress *address, PxedClient *client, PxedEvidence evidence,
    gint64 expires, gint64 now)
{
	Sighting *s;

	if (!g_hash_table_contains(self->by_address, address) &&
	    g_hash_table_size(self->by_address) >= self->max_entries)
		make_room(self, now);
	s = g_new0(Sighting, 1);
	s->client = client != NULL ? pxed_client_ref(client) : NULL;
	s->evidence = evidence;
	s->expires = expires;
	g_hash_table_replace(self->by_address, g_object_ref(address), s);
}

gboolean
pxed_sightings_note(PxedSightings *self, PxedClient *client, PxedEvidence evidence, gint64 now,
		    gint64 lifetime)
{
	GInetAddress *address = pxed_client_get_address(client);
	Sighting *s;

	if (address == NULL)
		return FALSE;
	s = g_hash_table_lookup(self->by_address, address);
	if (s != NULL && s->expires <= now)
		s = NULL; /* over: as if not there */
	if (s != NULL && s->client == NULL) {
		/* contested: only a packet from the address, or pxed's own lease,
		 * says who is there now */
		if (evidence == PXED_EVIDENCE_CLAIM) {
			self->refused++;
			return FALSE;
		}
	} else if (s != NULL && same_machine(s->client, client)) {
		/* the same machine again: a weaker word does not undo a stronger one */
		if (evidence < s->evidence)
			return FALSE;
	} else if (s != NULL) {
		if (evidence == PXED_EVIDENCE_CLAIM && s->evidence == PXED_EVIDENCE_CLAIM) {
			put(self, address, NULL, PXED_EVIDENCE_CLAIM,
			    MAX(s->expires, now + lifetime), now);
			self->contested++;
			return FALSE;
		}
		if (evidence == PXED_EVIDENCE_CLAIM || evidence < s->evidence) {
			self->refused++;
			return FALSE;
		}
	}
	put(self, address, client, evidence, now + lifetime, now);
	return TRUE;
}

PxedClient *
pxed_sightings_lookup(PxedSightings *self, GInetAddress *address, gint64 now,
		      PxedEvidence *evidence)
{
	Sighting *s = g_hash_table_lookup(self->by_address, address);

	if (s == NULL)
		return NULL;
	if (s->expires <= now) {
		g_hash_table_remove(self->by_address, address);
		return NULL;
	}
	if (s->client == NULL)
		return NULL;
	if (evidence != NULL)
		*evidence = s->evidence;
	return pxed_client_ref(s->client);
}

guint64
pxed_sightings_get_refused(PxedSightings *self)
{
	return self->refused;
}

void
pxed_sightings_count_refused(PxedSightings *self)
{
	self->refused++;
}

guint64
pxed_sightings_get_contested(PxedSightings *self)
{
	return self->contested;
}

guint
pxed_sightings_get_size(PxedSightings *self)
{
	return g_hash_table_size(self->by_address);
}

gboolean
pxed_sightings_merge(PxedClient *client, PxedClient *known)
{
	const char *mac = pxed_client_get_mac_string(client);
	const char *uuid = pxed_client_get_uuid_string(client);
	const char *known_mac = pxed_client_get_mac_string(known);
	const char *known_uuid = pxed_client_get_uuid_string(known);

	if ((mac != NULL && known_mac != NULL && !g_str_equal(mac, known_mac)) ||
	    (uuid != NULL && known_uuid != NULL && !g_str_equal(uuid, known_uuid)))
		return FALSE;
	if (mac == NULL && known_mac != NULL) {
		gsize len;
		const guint8 *hw = pxed_client_get_mac(known, &len);
		pxed_client_set_mac(client, hw, len);
	}
	if (uuid == NULL && known_uuid != NULL)
		pxed_client_set_uuid(client, pxed_client_get_uuid(known));
	if (pxed_client_get_arch(client) == PXED_ARCH_UNKNOWN)
		pxed_client_set_arch(client, pxed_client_get_arch(known));
	if (pxed_client_get_hostname(client) == NULL)
		pxed_client_set_hostname(client, pxed_client_get_hostname(known));
	if (pxed_client_get_vendor_class(client) == NULL)
		pxed_client_set_vendor_class(client, pxed_client_get_vendor_class(known));
	if (pxed_client_get_user_class(client) == NULL)
		pxed_client_set_user_class(client, pxed_client_get_user_class(known));
	return TRUE;
}
