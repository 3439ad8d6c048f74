/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "pxed-store.h"
#include "pxed-io.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

/* ---- the interface ---- */

PxedLease *
pxed_store_get(PxedStore *self, const char *client_id)
{
	return self->klass->get(self, client_id);
}

PxedLease *
pxed_store_get_by_address(PxedStore *self, guint32 address)
{
	return self->klass->get_by_address(self, address);
}

void
pxed_store_put(PxedStore *self, PxedLease *lease, GTask *task)
{
	self->klass->put(self, lease, task);
}

void
pxed_store_release(PxedStore *self, const char *client_id, gint64 now)
{
	self->klass->release(self, client_id, now);
}

void
pxed_store_iterate(PxedStore *self, PxedLeaseFunc func, gpointer user_data)
{
	self->klass->iterate(self, func, user_data);
}

void
pxed_store_compact(PxedStore *self)
{
	self->klass->compact(self);
}

void
pxed_store_close(PxedStore *self)
{
	self->klass->close(self);
}

/* ---- the journal file ----
 *
 * Format: a header line, then one record per line:
 *
 *   put CLIENT-ID ADDRESS EXPIRES STATE MAC HOSTNAME CHECKSUM
 *
 * fields separated by one space, text fields percent-escaped ("-" for none),
 * CHECKSUM the FNV-1a hash of everything before it, in hex. Replaying the
 * records in order rebuilds the store: a record replaces the client's previous
 * one and any other record of the same address. */

#define HEADER "# pxed leases v1\n"
/* Compact when superseded records exceed the live ones by this much. */
#define COMPACT_SLACK	      1024
#define COMPACT_CHECK_SECONDS 600
/* Group commit: records accepted within this window share one sync (the
 * window opens at the first record); a batch this large goes at once. One
 * sync per lease would cost a sync, two thread switches and a main loop
 * wake-up each: at thousands of leases a second, most of the daemon's time. */
#define COMMIT_WINDOW_MS 1
#define COMMIT_BATCH	 256

typedef enum {
	IO_APPEND,
	IO_REWRITE,
} IoKind;

typedef struct _FileStore FileStore;

/* One batch in flight: written and synced by a worker thread. */
typedef struct {
	FileStore *store;
	IoKind kind;
	GString *data;
	guint records;
	GPtrArray *tasks; /* GTask*, completed when the batch is durable */
	int fd;		  /* IO_APPEND: the journal; IO_REWRITE: the new journal */
	int error_code;
	char *error_message;
	gboolean done;	  /* set by the worker, under the store's lock */
	gboolean handled; /* results taken by the main thread */
} IoOp;

struct _FileStore {
	PxedStore parent;
	gint refcount; /* the store itself plus each op in flight */
	GMainContext *context;
	char *path;
	char *dir;
	int fd;
	GHashTable *by_client;	/* client id -> PxedLease* (owned) */
	GHashTable *by_address; /* address -> PxedLease* (the same leases) */
	GString *pending;	/* records accepted, not yet handed to a worker */
	guint pending_records;
	GPtrArray *waiting; /* GTask* waiting for `pending` */
	IoOp *in_flight;
	gboolean rewrite_wanted;
	gboolean closed;
	guint file_records;
	GSource *flush_source;
	GSource *compact_timer;
	GMutex lock;
	GCond cond;
};

static void start_io(FileStore *self);
static void schedule_flush(FileStore *self);

static FileStore *
file_store_ref(FileStore *self)
{
	g_atomic_int_inc(&self->refcount);
	return self;
}

static void
file_store_unref(FileStore *self)
{
	if (!g_atomic_int_dec_and_test(&self->refcount))
		return;
	g_hash_table_unref(self->by_address);
	g_hash_table_unref(self->by_client);
	g_string_free(self->pending, TRUE);
	g_ptr_array_unref(self->waiting);
	g_main_context_unref(self->context);
	g_mutex_clear(&self->lock);
	g_cond_clear(&self->cond);
	g_free(self->path);
	g_free(self->dir);
	g_free(self);
}

static guint32
fnv1a(const char *data, gsize len)
{
	guint32 hash = 2166136261u;
	for (gsize i = 0; i < len; i++) {
		hash ^= (guint8)data[i];
		hash *= 16777619u;
	}
	return hash;
}

static void
append_escaped(GString *out, const char *text)
{
	if (text == NULL || text[0] == '\0') {
		g_string_append_c(out, '-');
		return;
	}
	if (g_str_equal(text, "-")) {
		g_string_append(out, "%2D");
		return;
	}
	for (const char *p = text; *p != '\0'; p++) {
		guint8 c = (guint8)*p;
		if (c <= 0x20 || c >= 0x7f || c == '%')
			g_string_append_printf(out, "%%%02X", c);
		else
			g_string_append_c(out, (char)c);
	}
}

static char *
unescape(const char *field)
{
	if (g_str_equal(field, "-"))
		return NULL;
	return g_uri_unescape_string(field, NULL);
}

static void
append_record(GString *out, const PxedLease *lease)
{
	gsize start = out->len;
	guint32 address = pxed_lease_get_address(lease);
	char addr[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &address, addr, sizeof(addr));
	g_string_append(out, "put ");
	append_escaped(out, pxed_lease_get_client_id(lease));
	g_string_append_printf(out, " %s %" G_GINT64_FORMAT " %d ", addr,
			       pxed_lease_get_expires(lease), (int)pxed_lease_get_state(lease));
	append_escaped(out, pxed_lease_get_mac(lease));
	g_string_append_c(out, ' ');
	append_escaped(out, pxed_lease_get_hostname(lease));
	g_string_append_printf(out, " %08x\n", fnv1a(out->str + start, out->len - start));
}

/* Parses one record; %NULL with a reason when the line is damaged. */
static PxedLease *
parse_record(const char *line, gsize len, GError **error)
{
	g_autofree char *copy = NULL;
	g_auto(GStrv) fields = NULL;
	char *last_space;
	guint64 checksum = 0;
	gint64 expires = 0;
	guint64 state = 0;
	struct in_addr address;
	g_autofree char *client_id = NULL;
	g_autofree char *mac = NULL;
	g_autofree char *hostname = NULL;
	PxedLease *lease;

	copy = g_strndup(line, len);
	last_space = strrchr(copy, ' ');
	if (last_space == NULL ||
	    !g_ascii_string_to_unsigned(last_space + 1, 16, 0, G_MAXUINT32, &checksum, NULL) ||
	    fnv1a(copy, (gsize)(last_space - copy)) != checksum) {
		g_set_error_literal(error, PXED_ERROR, PXED_ERROR_INVALID, "checksum mismatch");
		return NULL;
	}
	copy[last_space - copy] = '\0';
	fields = g_strsplit(copy, " ", -1);
	if (g_strv_length(fields) != 7 || !g_str_equal(fields[0], "put")) {
		g_set_error_literal(error, PXED_ERROR, PXED_ERROR_INVALID, "not a put record");
		return NULL;
	}
	client_id = unescape(fields[1]);
	if (client_id == NULL || inet_pton(AF_INET, fields[2], &address) != 1 ||
	    !g_ascii_string_to_signed(fields[3], 10, 0, G_MAXINT64, &expires, NULL) ||
	    !g_ascii_string_to_unsigned(fields[4], 10, 0, PXED_LEASE_DECLINED, &state, NULL)) {
		g_set_error_literal(error, PXED_ERROR, PXED_ERROR_INVALID, "bad field");
		return NULL;
	}
	mac = unescape(fields[5]);
	hostname = unescape(fields[6]);
	lease = pxed_lease_new(client_id, address.s_addr);
	pxed_lease_set_expires(lease, expires);
	pxed_lease_set_state(lease, (PxedLeaseState)state);
	pxed_lease_set_mac(lease, mac);
	pxed_lease_set_hostname(lease, hostname);
	return lease;
}

/* Puts @lease (owned) in the tables, dropping what it supersedes. */
static void
index_lease(FileStore *self, PxedLease *lease)
{
	gpointer key = GUINT_TO_POINTER(pxed_lease_get_address(lease));
	PxedLease *old = g_hash_table_lookup(self->by_client, pxed_lease_get_client_id(lease));
	PxedLease *holder = g_hash_table_lookup(self->by_address, key);

	if (old != NULL) {
		gpointer old_key = GUINT_TO_POINTER(pxed_lease_get_address(old));
		if (g_hash_table_lookup(self->by_address, old_key) == old)
			g_hash_table_remove(self->by_address, old_key);
		g_hash_table_remove(self->by_client, pxed_lease_get_client_id(old));
	}
	if (holder != NULL && holder != old)
		g_hash_table_remove(self->by_client, pxed_lease_get_client_id(holder));
	g_hash_table_replace(self->by_address, key, lease);
	g_hash_table_replace(self->by_client, (gpointer)pxed_lease_get_client_id(lease), lease);
}

static gboolean
sync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	gboolean ok;

	if (fd < 0)
		return FALSE;
	ok = fsync(fd) == 0;
	close(fd);
	return ok;
}

/* Writes the snapshot to PATH.tmp, syncs it, renames it over PATH and syncs
 * the folder; the new journal is left open in op->fd. errno on failure. */
static gboolean
rewrite_file(IoOp *op, const char *path, const char *dir)
{
	g_autofree char *tmp = g_strdup_printf("%s.tmp", path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);

	if (fd < 0)
		return FALSE;
	if (!pxed_write_all(fd, op->data->str, op->data->len) || fdatasync(fd) != 0) {
		int saved = errno;
		close(fd);
		unlink(tmp);
		errno = saved;
		return FALSE;
	}
	close(fd);
	if (rename(tmp, path) != 0 || !sync_dir(dir))
		return FALSE;
	op->fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
	return op->fd >= 0;
}

/* The worker's part of an op (also run inline by open and close). */
static void
io_run(IoOp *op, const char *path, const char *dir)
{
	gboolean ok;

	errno = 0;
	if (op->kind == IO_APPEND)
		ok = pxed_write_all(op->fd, op->data->str, op->data->len) && fdatasync(op->fd) == 0;
	else
		ok = rewrite_file(op, path, dir);
	if (!ok) {
		op->error_code = errno != 0 ? errno : EIO;
		op->error_message = g_strdup_printf("%s: %s", path, g_strerror(op->error_code));
	}
}

static void
io_op_free(IoOp *op)
{
	if (op->data != NULL)
		g_string_free(op->data, TRUE);
	if (op->tasks != NULL)
		g_ptr_array_unref(op->tasks);
	g_free(op->error_message);
	g_free(op);
}

static void
io_thread(GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
	IoOp *op = data;
	FileStore *self = op->store;

	io_run(op, self->path, self->dir);
	g_mutex_lock(&self->lock);
	op->done = TRUE;
	g_cond_broadcast(&self->cond);
	g_mutex_unlock(&self->lock);
	g_task_return_boolean(task, TRUE);
}

/* Main thread: takes a finished op's results. */
static void
io_finish(FileStore *self, IoOp *op)
{
	op->handled = TRUE;
	self->in_flight = NULL;
	if (op->error_message != NULL) {
		g_warning("lease store: write failed, %u lease(s) not acknowledged: %s",
			  op->tasks->len, op->error_message);
		/* the journal may end in a torn record: start over from memory */
		self->rewrite_wanted = TRUE;
		if (op->kind == IO_REWRITE && op->fd >= 0)
			close(op->fd);
	} else if (op->kind == IO_REWRITE) {
		if (self->fd >= 0)
			close(self->fd);
		self->fd = op->fd;
		self->file_records = op->records;
	} else {
		self->file_records += op->records;
	}
	for (guint i = 0; i < op->tasks->len; i++) {
		GTask *task = g_ptr_array_index(op->tasks, i);
		if (op->error_message != NULL)
			g_task_return_new_error(task, PXED_ERROR, PXED_ERROR_FAILED,
						"lease not stored: %s", op->error_message);
		else
			g_task_return_boolean(task, TRUE);
	}
	g_ptr_array_set_size(op->tasks, 0);
	if (self->file_records > 2 * g_hash_table_size(self->by_client) + COMPACT_SLACK)
		self->rewrite_wanted = TRUE;
}

static void
io_done(GObject *source, GAsyncResult *result, gpointer user_data)
{
	IoOp *op = g_task_get_task_data(G_TASK(result));
	FileStore *self = user_data;

	if (!op->handled) {
		io_finish(self, op);
		if (self->rewrite_wanted)
			start_io(self);
		else if (self->pending->len > 0)
			schedule_flush(self);
	}
	file_store_unref(self);
}

static GString *
snapshot(FileStore *self, guint *records)
{
	GString *out = g_string_sized_new(64 + 96 * g_hash_table_size(self->by_client));
	GHashTableIter iter;
	gpointer value;

	g_string_append(out, HEADER);
	g_hash_table_iter_init(&iter, self->by_client);
	while (g_hash_table_iter_next(&iter, NULL, &value))
		append_record(out, value);
	*records = g_hash_table_size(self->by_client);
	return out;
}

/* Takes what is pending (or a full snapshot) into a new op. */
static IoOp *
take_op(FileStore *self)
{
	IoOp *op;

	if (!self->rewrite_wanted && self->pending->len == 0)
		return NULL;
	op = g_new0(IoOp, 1);
	op->store = self;
	op->fd = self->fd;
	op->tasks = g_steal_pointer(&self->waiting);
	self->waiting = g_ptr_array_new_with_free_func(g_object_unref);
	if (self->rewrite_wanted) {
		/* the snapshot holds everything pending too */
		op->kind = IO_REWRITE;
		op->data = snapshot(self, &op->records);
		op->fd = -1;
		g_string_truncate(self->pending, 0);
		self->rewrite_wanted = FALSE;
	} else {
		op->kind = IO_APPEND;
		op->data = g_steal_pointer(&self->pending);
		op->records = self->pending_records;
		self->pending = g_string_sized_new(4096);
	}
	self->pending_records = 0;
	return op;
}

static void
start_io(FileStore *self)
{
	IoOp *op;
	g_autoptr(GTask) task = NULL;

	if (self->in_flight != NULL || self->closed)
		return;
	op = take_op(self);
	if (op == NULL)
		return;
	self->in_flight = op;
	g_main_context_push_thread_default(self->context);
	task = g_task_new(NULL, NULL, io_done, file_store_ref(self));
	g_main_context_pop_thread_default(self->context);
	g_task_set_task_data(task, op, (GDestroyNotify)io_op_free);
	g_task_run_in_thread(task, io_thread);
}

static gboolean
flush_cb(gpointer user_data)
{
	FileStore *self = user_data;

	g_clear_pointer(&self->flush_source, g_source_unref);
	start_io(self);
	return G_SOURCE_REMOVE;
}

/* Everything accepted within the commit window goes out in one batch; while
 * a batch is being synced the next one gathers (io_done starts it). */
static void
schedule_flush(FileStore *self)
{
	if (self->in_flight != NULL || self->closed)
		return;
	if (self->pending_records >= COMMIT_BATCH) {
		if (self->flush_source != NULL) {
			g_source_destroy(self->flush_source);
			g_clear_pointer(&self->flush_source, g_source_unref);
		}
		start_io(self);
		return;
	}
	if (self->flush_source != NULL)
		return;
	self->flush_source = g_timeout_source_new(COMMIT_WINDOW_MS);
	g_source_set_callback(self->flush_source, flush_cb, self, NULL);
	g_source_attach(self->flush_source, self->context);
}

static gboolean
compact_check_cb(gpointer user_data)
{
	FileStore *self = user_data;

	if (self->file_records > g_hash_table_size(self->by_client)) {
		self->rewrite_wanted = TRUE;
		start_io(self);
	}
	return G_SOURCE_CONTINUE;
}

/* ---- the class ---- */

static PxedLease *
file_get(PxedStore *store, const char *client_id)
{
	FileStore *self = (FileStore *)store;
	PxedLease *lease = g_hash_table_lookup(self->by_client, client_id);
	return lease != NULL ? pxed_lease_ref(lease) : NULL;
}

static PxedLease *
file_get_by_address(PxedStore *store, guint32 address)
{
	FileStore *self = (FileStore *)store;
	PxedLease *lease = g_hash_table_lookup(self->by_address, GUINT_TO_POINTER(address));
	return lease != NULL ? pxed_lease_ref(lease) : NULL;
}

static void
file_put(PxedStore *store, PxedLease *lease, GTask *task)
{
	FileStore *self = (FileStore *)store;
	PxedLease *holder = g_hash_table_lookup(self->by_address,
						GUINT_TO_POINTER(pxed_lease_get_address(lease)));
	gint64 now = g_get_real_time() / G_USEC_PER_SEC;

	if (holder != NULL &&
	    !g_str_equal(pxed_lease_get_client_id(holder), pxed_lease_get_client_id(lease)) &&
	    pxed_lease_holds_address(holder, now)) {
		char addr[INET_ADDRSTRLEN];
		guint32 a = pxed_lease_get_address(lease);
		inet_ntop(AF_INET, &a, addr, sizeof(addr));
		g_task_return_new_error(task, PXED_ERROR, PXED_ERROR_DENIED, "%s is leased to %s",
					addr, pxed_lease_get_client_id(holder));
		g_object_unref(task);
		return;
	}
	if (self->closed) {
		g_task_return_new_error(task, PXED_ERROR, PXED_ERROR_FAILED,
					"the lease store is closed");
		g_object_unref(task);
		return;
	}
	lease = pxed_lease_copy(lease);
	index_lease(self, lease);
	append_record(self->pending, lease);
	self->pending_records++;
	g_ptr_array_add(self->waiting, task);
	schedule_flush(self);
}

static void
file_release(PxedStore *store, const char *client_id, gint64 now)
{
	FileStore *self = (FileStore *)store;
	PxedLease *old = g_hash_table_lookup(self->by_client, client_id);
	PxedLease *lease;

	if (old == NULL || pxed_lease_get_state(old) == PXED_LEASE_RELEASED || self->closed)
		return;
	lease = pxed_lease_copy(old);
	pxed_lease_set_state(lease, PXED_LEASE_RELEASED);
	pxed_lease_set_expires(lease, MIN(now, pxed_lease_get_expires(old)));
	index_lease(self, lease);
	append_record(self->pending, lease);
	self->pending_records++;
	schedule_flush(self);
}

static void
file_iterate(PxedStore *store, PxedLeaseFunc func, gpointer user_data)
{
	FileStore *self = (FileStore *)store;
	GHashTableIter iter;
	gpointer value;

	g_hash_table_iter_init(&iter, self->by_client);
	while (g_hash_table_iter_next(&iter, NULL, &value))
		func(value, user_data);
}

static void
file_compact(PxedStore *store)
{
	FileStore *self = (FileStore *)store;

	self->rewrite_wanted = TRUE;
	start_io(self);
}

static void
file_close(PxedStore *store)
{
	FileStore *self = (FileStore *)store;
	IoOp *op;

	self->closed = TRUE;
	if (self->flush_source != NULL) {
		g_source_destroy(self->flush_source);
		g_clear_pointer(&self->flush_source, g_source_unref);
	}
	if (self->compact_timer != NULL) {
		g_source_destroy(self->compact_timer);
		g_clear_pointer(&self->compact_timer, g_source_unref);
	}
	/* Wait for the batch in flight, then write the rest here. */
	if (self->in_flight != NULL) {
		op = self->in_flight;
		g_mutex_lock(&self->lock);
		while (!op->done)
			g_cond_wait(&self->cond, &self->lock);
		g_mutex_unlock(&self->lock);
		io_finish(self, op);
	}
	op = take_op(self);
	if (op != NULL) {
		io_run(op, self->path, self->dir);
		io_finish(self, op);
		io_op_free(op);
	}
	if (self->fd >= 0)
		close(self->fd);
	self->fd = -1;
	file_store_unref(self);
}

static const PxedStoreClass file_store_class = {
	.get = file_get,
	.get_by_address = file_get_by_address,
	.put = file_put,
	.release = file_release,
	.iterate = file_iterate,
	.compact = file_compact,
	.close = file_close,
};

/* Replays the journal into memory. */
static gboolean
load(FileStore *self, guint *damaged, GError **error)
{
	g_autofree char *contents = NULL;
	gsize len = 0;
	g_autoptr(GError) local = NULL;
	const char *p;
	const char *end;
	guint line_no = 0;

	if (!g_file_get_contents(self->path, &contents, &len, &local)) {
		if (g_error_matches(local, G_FILE_ERROR, G_FILE_ERROR_NOENT))
			return TRUE;
		g_propagate_prefixed_error(error, g_steal_pointer(&local), "lease store: ");
		return FALSE;
	}
	end = contents + len;
	for (p = contents; p < end;) {
		const char *nl = memchr(p, '\n', (gsize)(end - p));
		gsize line_len = nl != NULL ? (gsize)(nl - p) : (gsize)(end - p);
		g_autoptr(GError) bad = NULL;
		PxedLease *lease;

		line_no++;
		if (nl == NULL) {
			/* a record is written with its newline: this one was torn */
			g_warning("%s:%u: damaged lease record skipped: no end of line", self->path,
				  line_no);
			(*damaged)++;
			break;
		}
		if (line_len > 0 && p[0] != '#') {
			lease = parse_record(p, line_len, &bad);
			if (lease == NULL) {
				g_warning("%s:%u: damaged lease record skipped: %s", self->path,
					  line_no, bad->message);
				(*damaged)++;
			} else {
				index_lease(self, lease);
				self->file_records++;
			}
		}
		p = nl + 1;
	}
	return TRUE;
}

PxedStore *
pxed_store_file_open(GMainContext *context, const char *path, GError **error)
{
	FileStore *self = g_new0(FileStore, 1);
	guint damaged = 0;
	gboolean existed;

	self->parent.klass = &file_store_class;
	self->refcount = 1;
	self->context = g_main_context_ref(context != NULL ? context : g_main_context_default());
	self->path = g_strdup(path);
	self->dir = g_path_get_dirname(path);
	self->fd = -1;
	self->by_client = g_hash_table_new_full(g_str_hash, g_str_equal, NULL,
						(GDestroyNotify)pxed_lease_unref);
	self->by_address = g_hash_table_new(g_direct_hash, g_direct_equal);
	self->pending = g_string_sized_new(4096);
	self->waiting = g_ptr_array_new_with_free_func(g_object_unref);
	g_mutex_init(&self->lock);
	g_cond_init(&self->cond);

	existed = g_file_test(path, G_FILE_TEST_EXISTS);
	if (!load(self, &damaged, error)) {
		self->closed = TRUE;
		file_store_unref(self);
		return NULL;
	}
	/* A new file, a damaged one or one with superseded records starts clean:
	 * written from memory, synced, renamed into place. */
	if (!existed || damaged > 0 || self->file_records > g_hash_table_size(self->by_client)) {
		IoOp *op;
		self->rewrite_wanted = TRUE;
		op = take_op(self);
		io_run(op, self->path, self->dir);
		if (op->error_message != NULL) {
			g_set_error(error, G_IO_ERROR, g_io_error_from_errno(op->error_code),
				    "lease store: %s", op->error_message);
			io_op_free(op);
			self->closed = TRUE;
			file_store_unref(self);
			return NULL;
		}
		io_finish(self, op);
		io_op_free(op);
	} else {
		self->fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
		if (self->fd < 0) {
			int saved = errno;
			g_set_error(error, G_IO_ERROR, g_io_error_from_errno(saved),
				    "lease store: cannot open %s: %s", path, g_strerror(saved));
			self->closed = TRUE;
			file_store_unref(self);
			return NULL;
		}
	}
	self->compact_timer = g_timeout_source_new_seconds(COMPACT_CHECK_SECONDS);
	g_source_set_callback(self->compact_timer, compact_check_cb, self, NULL);
	g_source_attach(self->compact_timer, self->context);
	return &self->parent;
}

guint
pxed_store_file_get_records(PxedStore *store)
{
	return ((FileStore *)store)->file_records;
}
