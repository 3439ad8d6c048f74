/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <pxed/pxed.h>

G_BEGIN_DECLS

/**
 * PxedStore:
 *
 * The durable lease store behind pxed_instance_lease_*(). An interface — a
 * table of functions — so that a later implementation (etcd, for several pxed
 * nodes sharing one network) can replace the local file without the plugins
 * noticing. Every implementation keeps these rules:
 *
 * - one lease per client identifier, one holder per address;
 * - get/get_by_address answer from memory, at once;
 * - put is visible at once and completes its task once durable; a put whose
 *   address another client holds fails with PXED_ERROR_DENIED and changes
 *   nothing;
 * - release and compaction need no acknowledgement;
 * - close writes out whatever was accepted, then frees.
 */
typedef struct _PxedStore PxedStore;

typedef struct {
	PxedLease *(*get)(PxedStore *self, const char *client_id);
	PxedLease *(*get_by_address)(PxedStore *self, guint32 address);
	void (*put)(PxedStore *self, PxedLease *lease, GTask *task);
	void (*release)(PxedStore *self, const char *client_id, gint64 now);
	void (*iterate)(PxedStore *self, PxedLeaseFunc func, gpointer user_data);
	void (*compact)(PxedStore *self);
	void (*close)(PxedStore *self);
} PxedStoreClass;

struct _PxedStore {
	const PxedStoreClass *klass;
};

/* (transfer full) (nullable) */
PxedLease *pxed_store_get(PxedStore *self, const char *client_id);
/* (transfer full) (nullable) */
PxedLease *pxed_store_get_by_address(PxedStore *self, guint32 address);
/* Takes @task, which returns TRUE once @lease is durable. @lease is copied. */
void pxed_store_put(PxedStore *self, PxedLease *lease, GTask *task);
void pxed_store_release(PxedStore *self, const char *client_id, gint64 now);
void pxed_store_iterate(PxedStore *self, PxedLeaseFunc func, gpointer user_data);
/* Rewrites the store without superseded records, in the background. */
void pxed_store_compact(PxedStore *self);
/* Writes out and syncs everything accepted (blocking), completes the pending
 * tasks and frees the store. */
void pxed_store_close(PxedStore *self);

/**
 * pxed_store_file_open:
 * @context: where completions and the compaction timer run
 * @path: the journal file; created (with its folder's entry synced) if missing
 *
 * The local implementation: an append-only journal of text records, one per
 * line, each with a checksum. Writes are batched — every put accepted while
 * the previous batch is being synced goes into the next batch — and synced
 * with fdatasync() in a worker thread, so the main loop never waits on the
 * disk. When superseded records outnumber live ones the journal is rewritten
 * to a temporary file, synced and renamed over the old one. A damaged line is
 * logged with its line number and skipped.
 */
PxedStore *pxed_store_file_open(GMainContext *context, const char *path, GError **error);

/* The number of records in the journal file (live and superseded), for tests. */
guint pxed_store_file_get_records(PxedStore *self);

G_END_DECLS
