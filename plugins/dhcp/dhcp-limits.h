/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The DHCP server's abuse limits: token buckets (new clients per pool,
 * DISCOVERs per hardware address), the per-MAC table they are counted in,
 * and the rate-limited log line a limit writes when it is hit. Part of the
 * engine library (see dhcp-server.h); the socket side never calls these.
 */

#include <pxed/pxed.h>

#include "pxed-dhcp.h"

G_BEGIN_DECLS

/* Defined in dhcp-server.h; the limits count and log into it. */
typedef struct _PxedDhcpServer PxedDhcpServer;

/* A token bucket: @rate tokens a second up to @burst; one per admitted packet. */
typedef struct {
	gdouble tokens;
	gint64 last; /* seconds; 0: never used (full) */
} PxedDhcpBucket;

/* A rate-limited log line: one per interval, with a count of those kept quiet. */
typedef struct {
	gint64 next;
	guint64 quiet;
} PxedDhcpLogLimit;

/* The limits (conf.d keys, see README.md); 0 turns a rate limit off. */
typedef struct {
	guint new_clients_per_second;
	guint new_clients_burst;
	guint discovers_per_mac_per_minute;
	guint discovers_per_mac_burst;
} PxedDhcpLimits;

/* Takes a token from @bucket if it has one; @rate tokens a second, up to @burst.
 * A @rate of 0 is no limit. Inline: it is on every DISCOVER's path. */
static inline gboolean
dhcp_bucket_take(PxedDhcpBucket *bucket, gdouble rate, guint burst, gint64 now)
{
	if (rate <= 0)
		return TRUE;
	if (bucket->last == 0)
		bucket->tokens = burst;
	else if (now > bucket->last)
		bucket->tokens =
			MIN((gdouble)burst, bucket->tokens + (gdouble)(now - bucket->last) * rate);
	if (now > bucket->last)
		bucket->last = now;
	if (bucket->tokens < 1)
		return FALSE;
	bucket->tokens -= 1;
	return TRUE;
}

/* A limit was hit: one log line a minute, saying how many were kept quiet. */
void dhcp_log_limit(PxedDhcpServer *self, PxedDhcpLogLimit *limit, gint64 now, const char *format,
		    ...) G_GNUC_PRINTF(4, 5);

/* discovers-per-mac-per-minute: whether this DISCOVER may be answered
 * (counted and logged when not). */
gboolean dhcp_mac_admit(PxedDhcpServer *self, const PxedDhcpMessage *request, PxedClient *client,
			gint64 now);

/* Enters @request's hardware address in the per-MAC table: it came back for
 * an offer or a lease it holds, so its DISCOVERs are counted from now on. */
void dhcp_mac_note(PxedDhcpServer *self, const PxedDhcpMessage *request, gint64 now);

/* Forgets the hardware addresses idle long enough to have their whole burst
 * back (a fresh count is the same). */
void dhcp_mac_forget_idle(PxedDhcpServer *self, gint64 now);

G_END_DECLS
