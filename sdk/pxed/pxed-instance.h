/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined(__PXED_H_INSIDE__) && !defined(PXED_COMPILATION)
#error "Only <pxed/pxed.h> can be included directly."
#endif

#include <pxed/pxed-boot.h>
#include <pxed/pxed-file.h>
#include <pxed/pxed-lease.h>
#include <pxed/pxed-machine.h>

G_BEGIN_DECLS

/**
 * PxedInstance:
 *
 * One configured instance of a plugin — the conf.d group `[NAME]` or
 * `[NAME:LABEL]` — and its one handle on the daemon, as Kea's LibraryHandle is
 * a hook library's. Everything a plugin reaches in the core (its
 * configuration, the main context, the state folder, the event log, the
 * pipelines, the inventory, identities, leases) it reaches through the
 * instance it was given in instance_new(); the instance knows its name and the
 * configuration generation that created it, so no call takes either.
 *
 * The core holds a reference for as long as the instance is configured. A
 * plugin whose state outlives instance_free() (a lease write still in flight)
 * takes its own reference with pxed_instance_ref().
 *
 * By the time the plugin sees it every key has been checked against the
 * plugin's key table, so the configuration getters cannot fail: a key that
 * is not set yields the table's default.
 */
typedef struct _PxedInstance PxedInstance;

PxedInstance *pxed_instance_ref(PxedInstance *self);
void pxed_instance_unref(PxedInstance *self);

/* The group name: "static" or "static:images"; the source of its events. */
const char *pxed_instance_get_name(PxedInstance *self);
/* The configuration generation that created the instance: 1 for the first
 * configuration loaded, one more for each reload that created instances. An
 * instance carried over unchanged by a reload keeps its generation. */
guint pxed_instance_get_generation(PxedInstance *self);

/* ---- configuration ---- */

char *pxed_instance_get_string(PxedInstance *self, const char *key);
gint64 pxed_instance_get_int(PxedInstance *self, const char *key);
gboolean pxed_instance_get_boolean(PxedInstance *self, const char *key);
/* A `;`-separated list. */
char **pxed_instance_get_string_list(PxedInstance *self, const char *key);
/* For PXED_KEY_DIRECTORY / PXED_KEY_FILE / PXED_KEY_PATH: absolute, relative ones
 * resolved against the folder of the fragment that set them. */
char *pxed_instance_get_path(PxedInstance *self, const char *key);
/* For PXED_KEY_LISTEN. (element-type GInetSocketAddress) */
GPtrArray *pxed_instance_get_listen(PxedInstance *self, const char *key);
/* Every key set in the group that starts with @prefix (PXED_KEY_PREFIX keys),
 * as a table of full key name to value. */
GHashTable *pxed_instance_get_prefixed(PxedInstance *self, const char *prefix);

/* ---- the daemon ---- */

/* The main context every source of a plugin must be attached to. */
GMainContext *pxed_instance_get_main_context(PxedInstance *self);

/* The state folder of the instance's generation (leases, the event log):
 * `[core] state-dir` as that configuration set it. It exists by the time
 * start() runs; `pxed --check` creates no folder. */
const char *pxed_instance_get_state_dir(PxedInstance *self);

/**
 * pxed_instance_event:
 * @client: (nullable): the machine the event belongs to
 * @event: a short verb-like name ("transfer-complete")
 *
 * Files an event in the boot event log, under the client's key, with the
 * instance's name as its source, and logs it.
 */
void pxed_instance_event(PxedInstance *self, PxedClient *client, const char *event,
			 const char *format, ...) G_GNUC_PRINTF(4, 5);

/**
 * pxed_instance_boot:
 *
 * Runs the `boot` pipeline for @client. Each backend in order answers, declines
 * or fails.
 *
 * Returns: (transfer full): the answer; %NULL with PXED_ERROR_NOT_FOUND when
 *   every backend declined, or with the failing backend's error (prefixed with
 *   its instance name)
 */
PxedBootReply *pxed_instance_boot(PxedInstance *self, PxedClient *client, GError **error);

/**
 * pxed_instance_open_file:
 * @via: PXED_VIA_TFTP or PXED_VIA_HTTP: selects the `tftp` or `http` pipeline
 * @path: the path as the client sent it; normalised here (pxed_path_normalize())
 * @query: (nullable): HTTP query parameters
 *
 * Returns: (transfer full): the file; %NULL with PXED_ERROR_NOT_FOUND,
 *   PXED_ERROR_DENIED or PXED_ERROR_FAILED
 */
PxedFile *pxed_instance_open_file(PxedInstance *self, PxedVia via, PxedClient *client,
				  const char *path, GHashTable *query, GError **error);

/**
 * pxed_instance_match:
 *
 * Looks @client up in the inventory: the group whose selectors all hold and
 * that has the most of them (ties are refused by `--check`, so there is one).
 *
 * Returns: (transfer full) (nullable): the machine, or %NULL when no group matches
 */
PxedMachine *pxed_instance_match(PxedInstance *self, PxedClient *client);

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
 * pxed_instance_note_client:
 * @client: a client whose address is set: the one DHCP gave it, or the one
 *   it told a proxyDHCP it has
 * @evidence: why @client is believed to be at that address
 * @lifetime: seconds the identity stays tied to the address (the lease time)
 *
 * Remembers what a DHCP exchange said about the machine at @client's address,
 * so that protocols which carry no identity (TFTP, HTTP without iPXE's query
 * parameters) can learn it with pxed_instance_identify_client(). Called by the
 * DHCP and proxyDHCP plugins, only for packets they have validated. @client
 * is kept by reference, not copied: the caller must not change it afterwards
 * (pxed_client_copy() it if it will). Nothing is noted when the core's
 * `identity-by-address` is off, or when a note or lease of more weight (see
 * #PxedEvidence) speaks for the address.
 *
 * Returns: whether the note was taken
 */
gboolean pxed_instance_note_client(PxedInstance *self, PxedClient *client, PxedEvidence evidence,
				   guint lifetime);

/**
 * pxed_instance_identify_client:
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
gboolean pxed_instance_identify_client(PxedInstance *self, PxedClient *client);

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
 * pxed_instance_check_lease:
 *
 * Whether @client (its address and MAC, and its UUID when it has one) is the
 * machine pxed's DHCP server leased that address to. For answers that may
 * carry secrets: a request's query names any MAC it likes, the lease names
 * the one machine that was given the address.
 */
PxedLeaseCheck pxed_instance_check_lease(PxedInstance *self, PxedClient *client);

/**
 * pxed_instance_is_reserved:
 * @address: an IPv4 address, network byte order (as leases hold them)
 *
 * Whether the inventory reserves @address for a machine (a group's
 * `metadata.ip`), so that a DHCP server does not lease it to anyone else.
 */
gboolean pxed_instance_is_reserved(PxedInstance *self, guint32 address);

/* ---- leases (PxedLeaseStore, pxed-lease.h) ---- */

/**
 * pxed_instance_lease_open:
 * @name: the store's name: a file name relative to the instance's state
 *   folder (or an absolute path) for the file store
 *
 * Opens the store, reading it on first use; instances naming the same store
 * share it. Damaged records are logged with their line number and skipped.
 *
 * Returns: (transfer full): a handle to give back with
 *   pxed_instance_lease_close(), or %NULL with an error
 */
PxedLeaseStore *pxed_instance_lease_open(PxedInstance *self, const char *name, GError **error);
/* Gives the handle back; the core flushes and closes the store after its last user. */
void pxed_instance_lease_close(PxedInstance *self, PxedLeaseStore *store);

/* (transfer full) The lease of @client_id, or %NULL. */
PxedLease *pxed_instance_lease_get(PxedInstance *self, PxedLeaseStore *store,
				   const char *client_id);
/* (transfer full) The lease holding or last holding @address (network byte order), or %NULL. */
PxedLease *pxed_instance_lease_get_by_address(PxedInstance *self, PxedLeaseStore *store,
					      guint32 address);

/**
 * pxed_instance_lease_put_async:
 *
 * Records @lease, replacing the client's previous one and any lease that held
 * the same address but no longer does. It is visible to the getters at once;
 * @callback runs — on the core's main context — once it is durable (written
 * and synced: it survives `kill -9` and a power cut). Puts arriving together
 * share one sync. Fails with PXED_ERROR_DENIED, changing nothing, when another
 * client holds the address.
 */
void pxed_instance_lease_put_async(PxedInstance *self, PxedLeaseStore *store, PxedLease *lease,
				   GAsyncReadyCallback callback, gpointer user_data);
gboolean pxed_instance_lease_put_finish(PxedInstance *self, GAsyncResult *result, GError **error);

/* Marks the client's lease released (expires now); written with the next sync. */
void pxed_instance_lease_release(PxedInstance *self, PxedLeaseStore *store, const char *client_id);
/* Calls @func for every lease, in no particular order; @func must not change the store. */
void pxed_instance_lease_foreach(PxedInstance *self, PxedLeaseStore *store, PxedLeaseFunc func,
				 gpointer user_data);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(PxedInstance, pxed_instance_unref)

G_END_DECLS
