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
 * pxed_context_note_client:
 * @client: a client whose address is set: the one DHCP gave it, or the one
 *   it told a proxyDHCP it has
 * @lifetime: seconds the identity stays tied to the address (the lease time)
 *
 * Remembers what a DHCP exchange said about the machine at @client's address,
 * so that protocols which carry no identity (TFTP, HTTP without iPXE's query
 * parameters) can learn it with pxed_context_identify_client(). Called by the
 * DHCP and proxyDHCP plugins. @client is kept by reference, not copied: the
 * caller must not change it afterwards (pxed_client_copy() it if it will).
 */
void pxed_context_note_client(PxedContext *self, PxedClient *client, guint lifetime);

/**
 * pxed_context_identify_client:
 *
 * Fills in what @client lacks (MAC, UUID, architecture, host name, vendor and
 * user class) from the last DHCP exchange noted for its address, else from a
 * bound lease on that address. Nothing is filled in when what @client already
 * has (its MAC or UUID) belongs to another machine.
 *
 * Returns: whether anything was known about the address
 */
gboolean pxed_context_identify_client(PxedContext *self, PxedClient *client);

/**
 * pxed_context_is_reserved:
 * @address: an IPv4 address, network byte order (as leases hold them)
 *
 * Whether the inventory reserves @address for a machine (a group's
 * `metadata.ip`), so that a DHCP server does not lease it to anyone else.
 */
gboolean pxed_context_is_reserved(PxedContext *self, guint32 address);

G_END_DECLS
