/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The DHCP server's abuse limits: the per-MAC DISCOVER count and the
 * rate-limited log lines every limit writes. The token bucket itself is inline
 * in dhcp-limits.h, as the new-client limit (dhcp-server.c) takes from it too.
 */
#include "dhcp-server.h"

/* A limit's log line is written at most this often. */
#define LOG_LIMIT_SECONDS 60
/* Hardware addresses whose DISCOVERs are counted at once; past it, new ones
 * are not tracked (the new-client limit still holds them). */
#define MAC_TABLE_MAX 65536

typedef struct {
	gint64 key; /* mac_key() */
	PxedDhcpBucket bucket;
} PxedDhcpMacBucket;

/* One log line a minute: a flood of the packets a limit drops must not become
 * a flood of log lines. */
void
dhcp_log_limit(PxedDhcpServer *self, PxedDhcpLogLimit *limit, gint64 now, const char *format, ...)
{
	va_list args;
	g_autofree char *text = NULL;

	if (now < limit->next) {
		limit->quiet++;
		return;
	}
	va_start(args, format);
	text = g_strdup_vprintf(format, args);
	va_end(args);
	if (limit->quiet > 0)
		g_message("%s: %s (and %" G_GUINT64_FORMAT " more in the last minute)", self->name,
			  text, limit->quiet);
	else
		g_message("%s: %s", self->name, text);
	limit->next = now + LOG_LIMIT_SECONDS;
	limit->quiet = 0;
}

/* The hardware address as a table key: FNV-1a over type, length and address
 * (a collision only makes two machines share a count). */
static gint64
mac_key(const PxedDhcpMessage *request)
{
	guint64 h = G_GUINT64_CONSTANT(14695981039346656037);

	h = (h ^ request->htype) * G_GUINT64_CONSTANT(1099511628211);
	h = (h ^ request->hlen) * G_GUINT64_CONSTANT(1099511628211);
	for (guint i = 0; i < MIN(request->hlen, sizeof(request->chaddr)); i++)
		h = (h ^ request->chaddr[i]) * G_GUINT64_CONSTANT(1099511628211);
	return (gint64)h;
}

/* discovers-per-mac-per-minute: whether this DISCOVER may be answered. A
 * hardware address not in the table has its whole burst; it is entered when
 * it comes back holding an offer or a lease (dhcp_mac_note()), so that neither a
 * flood of made-up addresses (which the new-client limit stops) fills the
 * table nor a new client's first DISCOVER costs an allocation. */
gboolean
dhcp_mac_admit(PxedDhcpServer *self, const PxedDhcpMessage *request, PxedClient *client, gint64 now)
{
	gint64 key;
	PxedDhcpMacBucket *mac;

	if (self->limits.discovers_per_mac_per_minute == 0)
		return TRUE;
	key = mac_key(request);
	mac = g_hash_table_lookup(self->macs, &key);
	if (mac == NULL ||
	    dhcp_bucket_take(&mac->bucket, self->limits.discovers_per_mac_per_minute / 60.0,
			     self->limits.discovers_per_mac_burst, now))
		return TRUE;
	self->stats.mac_limited++;
	dhcp_log_limit(self, &self->log_mac, now,
		       "discovers-per-mac-per-minute=%u reached: DISCOVER from %s dropped",
		       self->limits.discovers_per_mac_per_minute, pxed_client_get_key(client));
	return FALSE;
}

void
dhcp_mac_note(PxedDhcpServer *self, const PxedDhcpMessage *request, gint64 now)
{
	PxedDhcpMacBucket *mac;
	gint64 key;

	if (self->limits.discovers_per_mac_per_minute == 0)
		return;
	key = mac_key(request);
	if (g_hash_table_contains(self->macs, &key))
		return;
	if (g_hash_table_size(self->macs) >= MAC_TABLE_MAX) {
		self->stats.mac_untracked++;
		return;
	}
	mac = g_new0(PxedDhcpMacBucket, 1);
	mac->key = key;
	dhcp_bucket_take(&mac->bucket, self->limits.discovers_per_mac_per_minute / 60.0,
			 self->limits.discovers_per_mac_burst, now);
	g_hash_table_insert(self->macs, &mac->key, mac);
}

void
dhcp_mac_forget_idle(PxedDhcpServer *self, gint64 now)
{
	GHashTableIter iter;
	gpointer value;

	g_hash_table_iter_init(&iter, self->macs);
	while (g_hash_table_iter_next(&iter, NULL, &value)) {
		PxedDhcpMacBucket *mac = value;
		if (self->limits.discovers_per_mac_per_minute == 0 ||
		    (gdouble)(now - mac->bucket.last) * self->limits.discovers_per_mac_per_minute /
				    60.0 >=
			    self->limits.discovers_per_mac_burst)
			g_hash_table_iter_remove(&iter);
	}
}
