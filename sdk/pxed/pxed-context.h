/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined(__PXED_H_INSIDE__) && !defined(PXED_COMPILATION)
#error "Only <pxed/pxed.h> can be included directly."
#endif

#include <pxed/pxed-boot.h>
#include <pxed/pxed-file.h>
#include <pxed/pxed-machine.h>

G_BEGIN_DECLS

/**
 * PxedContext:
 *
 * The plugin's handle on the core. A plugin never reaches into the core by any
 * other way. It lives as long as the daemon.
 */
typedef struct _PxedContext PxedContext;

/* The main context every source of a plugin must be attached to. */
GMainContext *pxed_context_get_main_context(PxedContext *self);

/* The folder for state that outlives a request (leases, event log); exists. */
const char *pxed_context_get_state_dir(PxedContext *self);

/**
 * pxed_context_boot:
 *
 * Runs the `boot` pipeline for @client. Each backend in order answers, declines
 * or fails.
 *
 * Returns: (transfer full): the answer; %NULL with PXED_ERROR_NOT_FOUND when
 *   every backend declined, or with the failing backend's error (prefixed with
 *   its instance name)
 */
PxedBootReply *pxed_context_boot(PxedContext *self, PxedClient *client, GError **error);

/**
 * pxed_context_open_file:
 * @via: PXED_VIA_TFTP or PXED_VIA_HTTP: selects the `tftp` or `http` pipeline
 * @path: the path as the client sent it; normalised here (pxed_path_normalize())
 * @query: (nullable): HTTP query parameters
 *
 * Returns: (transfer full): the file; %NULL with PXED_ERROR_NOT_FOUND,
 *   PXED_ERROR_DENIED or PXED_ERROR_FAILED
 */
PxedFile *pxed_context_open_file(PxedContext *self, PxedVia via, PxedClient *client,
				 const char *path, GHashTable *query, GError **error);

/**
 * pxed_context_event:
 * @client: (nullable): the machine the event belongs to
 * @source: the instance name ("tftp")
 * @event: a short verb-like name ("transfer-complete")
 *
 * Files an event in the boot event log, under the client's key, and logs it.
 */
void pxed_context_event(PxedContext *self, PxedClient *client, const char *source,
			const char *event, const char *format, ...) G_GNUC_PRINTF(5, 6);

/**
 * pxed_context_match:
 *
 * Looks @client up in the inventory: the group whose selectors all hold and
 * that has the most of them (ties are refused by `--check`, so there is one).
 *
 * Returns: (transfer full) (nullable): the machine, or %NULL when no group matches
 */
PxedMachine *pxed_context_match(PxedContext *self, PxedClient *client);

/**
 * PxedEvidence:
 * @PXED_EVIDENCE_CLAIM: a broadcast that names an address the sender does
 *   not hold yet (DHCP option 50 in a REQUEST to another server): anyone on
 *   the segment can send it for any address
 * @PXED_EVIDENCE_SOURCE: a packet that came from the address it speaks for
 *   (proxyDHCP port 4011 unicast or INFORM whose source address is ciaddr)
 * @PXED_EVIDENCE_LEASE: pxed's own DHCP server gave the address to the
 *   client (after the lease is durable)
 *
 * How far a note about who is at an address is believed, weakest first. A
 * note never replaces a live note of a higher rank, and a claim never
 * replaces a note or a bound lease of another MAC: what one host says cannot
 * change what another machine is answered.
 */
typedef enum {
	PXED_EVIDENCE_CLAIM = 1,
	PXED_EVIDENCE_SOURCE = 2,
	PXED_EVIDENCE_LEASE = 3,
} PxedEvidence;

/**
 * pxed_context_note_client:
 * @client: a client whose address is set: the one DHCP gave it, or the one
 *   it told a proxyDHCP it has
 * @evidence: why @client is believed to be at that address
 * @lifetime: seconds the identity stays tied to the address (the lease time)
 *
 * Remembers what a DHCP exchange said about the machine at @client's address,
 * so that protocols which carry no identity (TFTP, HTTP without iPXE's query
 * parameters) can learn it with pxed_context_identify_client(). Called by the
 * DHCP and proxyDHCP plugins, only for packets they have validated. @client
 * is kept by reference, not copied: the caller must not change it afterwards
 * (pxed_client_copy() it if it will). Nothing is noted when the core's
 * `identity-by-address` is off, or when a note or lease of more weight (see
 * #PxedEvidence) speaks for the address.
 *
 * Returns: whether the note was taken
 */
gboolean pxed_context_note_client(PxedContext *self, PxedClient *client, PxedEvidence evidence,
				  guint lifetime);

/**
 * pxed_context_identify_client:
 *
 * Fills in what @client lacks (MAC, UUID, architecture, host name, vendor and
 * user class) from the note of most weight for its address (see
 * #PxedEvidence), else from a bound lease on that address; a bound lease of
 * another MAC outweighs a note that is not pxed's own lease. Nothing is filled
 * in when what @client already has (its MAC or UUID) belongs to another
 * machine, or when the core's `identity-by-address` is off.
 *
 * Returns: whether anything was known about the address
 */
gboolean pxed_context_identify_client(PxedContext *self, PxedClient *client);

/**
 * PxedLeaseCheck:
 * @PXED_LEASE_CHECK_NO_LEASES: pxed keeps no leases (it is not the DHCP server)
 * @PXED_LEASE_CHECK_BOUND: a bound lease gives @client's address to its MAC now
 * @PXED_LEASE_CHECK_NOT_BOUND: it does not (no MAC, another holder, no lease,
 *   or a UUID other than the one pxed's DHCP exchange saw for that lease)
 */
typedef enum {
	PXED_LEASE_CHECK_NO_LEASES,
	PXED_LEASE_CHECK_BOUND,
	PXED_LEASE_CHECK_NOT_BOUND,
} PxedLeaseCheck;

/**
 * pxed_context_check_lease:
 *
 * Whether @client (its address and MAC, and its UUID when it has one) is the
 * machine pxed's DHCP server leased that address to. For answers that may
 * carry secrets: a request's query names any MAC it likes, the lease names
 * the one machine that was given the address.
 */
PxedLeaseCheck pxed_context_check_lease(PxedContext *self, PxedClient *client);

/**
 * pxed_context_is_reserved:
 * @address: an IPv4 address, network byte order (as leases hold them)
 *
 * Whether the inventory reserves @address for a machine (a group's
 * `metadata.ip`), so that a DHCP server does not lease it to anyone else.
 */
gboolean pxed_context_is_reserved(PxedContext *self, guint32 address);

G_END_DECLS
