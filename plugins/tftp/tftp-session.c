/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "tftp-session.h"

#include <errno.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

/* The retransmission timeout never goes below this: on a LAN the round trip
 * is well under a millisecond, but a client's own hiccups (firmware writing
 * to memory, a loaded host) should not turn into a resend storm. */
#define RTO_MIN_US (20 * 1000)
/* RFC 6298 §2: the initial timeout before any measurement, at most. */
#define RTO_INITIAL_US (1000 * 1000)
/* The main loop's timer resolution: the "G" of RFC 6298 §2. */
#define CLOCK_GRANULARITY_US 1000
/* Paced bursts are at least this far apart (the owner's timer is exact to
 * the microsecond; below this, pacing would cost more wakeups than it saves). */
#define PACE_MIN_US 50
/* Datagrams handed to one transmit call, at most. */
#define MAX_BURST 256
/* Read-ahead for small bursts (lock-step above all): one pread() per this
 * many bytes instead of one per block. Per session, so memory grows with
 * sessions, never with files. */
#define READAHEAD_SIZE (16 * 1024)
/* A time that is not set. */
#define NEVER G_MININT64

typedef struct {
	guint64 offset; /* source bytes consumed before the block */
	gint pending;	/* second byte of a pair cut at the previous block's end, or -1 */
} NetasciiMark;

struct _PxedTftpSession {
	PxedTftpSessionParams p;
	PxedFile *file;
	int fd; /* -1: memory content in @mem */
	const guint8 *mem;
	guint64 size;
	gsize stride; /* 4 + blksize */
	guint8 *scratch;
	gsize scratch_size;
	PxedTftpTransmitFunc transmit;
	gpointer user_data;

	PxedTftpSessionState state;
	GError *error;
	gboolean oack_pending; /* OACK sent, ACK 0 not received yet */
	gboolean oack_resent;
	gboolean peer_acked;   /* any ACK of something sent: the peer is real */
	guint unacked_resends; /* resends before that */

	/* Blocks are numbered 1, 2, … without rollover here; the wire carries
	 * the low 16 bits. */
	guint64 acked;	       /* every block up to this one is acknowledged */
	guint64 next;	       /* the next block to transmit */
	guint64 window_end;    /* the last block of the current window */
	guint64 last_block;    /* the final (short) block; G_MAXUINT64 while unknown */
	guint64 max_sent;      /* the highest block transmitted so far */
	guint last_len;	       /* payload of the final block, once known */
	guint64 gen_prev_max;  /* max_sent when the window started */
	gboolean window_fresh; /* no block of the window was sent before (Karn) */
	gboolean window_lost;  /* the window already counted a loss */
	gint64 window_sent_at; /* when its last block went out; NEVER while sending */
	gboolean blocked;      /* the socket is full */

	/* Congestion window: the burst size, in blocks, 1..windowsize. */
	guint cwnd;
	guint ssthresh;
	guint burst_left;

	/* Timers, monotonic µs; NEVER is "not armed". */
	gint64 rto;
	gint64 srtt;
	gint64 rttvar;
	gint64 oack_sent_at;
	gint64 rto_deadline;
	gint64 pace_deadline;
	guint tries;

	/* Read-ahead of the file (octet, descriptor-backed): bytes
	 * [ra_offset, ra_offset + ra_len) of the file. */
	guint8 *ra;
	guint64 ra_offset;
	gsize ra_len;

	/* netascii: where each block of the window starts in the source. */
	NetasciiMark *marks;
	guint n_marks;
	guint8 *na_src;

	PxedTftpSessionStats stats;
};

static void
session_fail(PxedTftpSession *self, GError *error)
{
	if (self->state != PXED_TFTP_SESSION_RUNNING) {
		g_error_free(error);
		return;
	}
	self->state = PXED_TFTP_SESSION_FAILED;
	self->error = error;
	self->rto_deadline = NEVER;
	self->pace_deadline = NEVER;
}

/* Tells the peer why the transfer ends (RFC 1350 §7), best effort. */
static void
send_error(PxedTftpSession *self, guint16 code, const char *message)
{
	gsize len = pxed_tftp_packet_build_error(self->scratch, self->scratch_size, code, message);
	if (len > 0)
		self->transmit(self->user_data, self->scratch, len, 1, len, NULL);
}

static void
fail_io(PxedTftpSession *self, GError *error)
{
	/* The peer gets a generic message: details are for the log. */
	send_error(self, PXED_TFTP_ERR_UNDEFINED, "read error on the server");
	g_prefix_error(&error, "block %" G_GUINT64_FORMAT ": ", self->next);
	error->domain = PXED_TFTP_ERROR;
	error->code = PXED_TFTP_ERROR_IO;
	session_fail(self, error);
}

gsize
pxed_tftp_netascii_encode(const guint8 *src, gsize src_len, gsize *consumed, gint *pending,
			  guint8 *out, gsize out_size)
{
	gsize i = 0;
	gsize o = 0;

	if (*pending >= 0 && o < out_size) {
		out[o++] = (guint8)*pending;
		*pending = -1;
	}
	while (i < src_len && o < out_size) {
		guint8 c = src[i++];
		gint second = -1;

		/* RFC 764 (NVT): end of line is CR LF; a bare CR is CR NUL. */
		if (c == '\n') {
			c = '\r';
			second = '\n';
		} else if (c == '\r') {
			second = '\0';
		}
		out[o++] = c;
		if (second >= 0) {
			if (o < out_size)
				out[o++] = (guint8)second;
			else
				*pending = second; /* the pair straddles the block */
		}
	}
	*consumed = i;
	return o;
}

PxedTftpSession *
pxed_tftp_session_new(const PxedTftpSessionParams *params, PxedFile *file, guint8 *scratch,
		      gsize scratch_size, PxedTftpTransmitFunc transmit, gpointer user_data)
{
	PxedTftpSession *self = g_new0(PxedTftpSession, 1);
	GBytes *bytes;

	g_return_val_if_fail(params->blksize >= PXED_TFTP_MIN_BLKSIZE &&
				     params->blksize <= PXED_TFTP_MAX_BLKSIZE,
			     NULL);
	g_return_val_if_fail(params->windowsize >= 1, NULL);
	g_return_val_if_fail(scratch_size >= 4 + params->blksize, NULL);

	self->p = *params;
	/* With block numbers rolling over at 65536, a window of 65536 blocks
	 * would make an ACK ambiguous. */
	self->p.windowsize = MIN(self->p.windowsize, PXED_TFTP_MAX_WINDOWSIZE);
	self->p.timeout_us = MAX(self->p.timeout_us, RTO_MIN_US);
	self->file = pxed_file_ref(file);
	self->fd = pxed_file_get_fd(file);
	bytes = pxed_file_get_bytes(file);
	self->mem = bytes != NULL ? g_bytes_get_data(bytes, NULL) : NULL;
	self->size = pxed_file_get_size(file);
	self->stride = 4 + self->p.blksize;
	self->scratch = scratch;
	self->scratch_size = scratch_size;
	self->transmit = transmit;
	self->user_data = user_data;
	self->state = PXED_TFTP_SESSION_RUNNING;
	self->peer_acked = self->p.unacked_retries == PXED_TFTP_UNACKED_UNBOUNDED;

	/* RFC 1350 §6: a block shorter than blksize ends the transfer, so a
	 * file that is a multiple of it ends with an empty block. */
	if (self->p.mode == PXED_TFTP_MODE_OCTET) {
		self->last_block = self->size / self->p.blksize + 1;
		self->last_len = (guint)(self->size % self->p.blksize);
	} else {
		self->last_block = G_MAXUINT64;
		self->n_marks = self->p.windowsize + 1;
		self->marks = g_new0(NetasciiMark, self->n_marks);
		self->marks[1 % self->n_marks].pending = -1;
		self->na_src = g_malloc(self->p.blksize);
	}

	/* A LAN protocol: start at the window the client asked for, and only
	 * shrink when it proves too large. */
	self->cwnd = self->p.windowsize;
	self->ssthresh = self->p.windowsize;
	self->rto = MIN(self->p.timeout_us, RTO_INITIAL_US);
	self->window_sent_at = NEVER;
	self->oack_sent_at = NEVER;
	self->rto_deadline = NEVER;
	self->pace_deadline = NEVER;
	self->stats.cwnd_min = self->cwnd;
	return self;
}

void
pxed_tftp_session_free(PxedTftpSession *self)
{
	if (self == NULL)
		return;
	pxed_file_unref(self->file);
	g_clear_error(&self->error);
	g_free(self->marks);
	g_free(self->na_src);
	g_free(self->ra);
	g_free(self);
}

/* ---- reading blocks ---- */

static gboolean
read_vectors(PxedTftpSession *self, struct iovec *iov, guint n, guint64 offset, GError **error)
{
	guint i = 0;

	if (self->mem != NULL) {
		for (; i < n; i++) {
			memcpy(iov[i].iov_base, self->mem + offset, iov[i].iov_len);
			offset += iov[i].iov_len;
		}
		return TRUE;
	}
	/* One preadv() fills every block of the burst in place, behind its header. */
	while (i < n) {
		ssize_t r =
			preadv(self->fd, iov + i, (int)MIN(n - i, (guint)IOV_MAX), (off_t)offset);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			g_set_error(error, PXED_TFTP_ERROR, PXED_TFTP_ERROR_IO, "read: %s",
				    g_strerror(errno));
			return FALSE;
		}
		if (r == 0) {
			g_set_error_literal(error, PXED_TFTP_ERROR, PXED_TFTP_ERROR_IO,
					    "the file shrank during the transfer");
			return FALSE;
		}
		offset += (guint64)r;
		while (i < n && (gsize)r >= iov[i].iov_len) {
			r -= (ssize_t)iov[i].iov_len;
			i++;
		}
		if (i < n) {
			iov[i].iov_base = (guint8 *)iov[i].iov_base + r;
			iov[i].iov_len -= (gsize)r;
		}
	}
	return TRUE;
}

typedef enum {
	READAHEAD_DONE,
	READAHEAD_TOO_LARGE,
	READAHEAD_FAILED,
} ReadaheadResult;

/* Copies the @n vectors' bytes from @offset out of the read-ahead,
 * refilling it first if it does not hold them. */
static ReadaheadResult
readahead_copy(PxedTftpSession *self, struct iovec *iov, guint n, guint64 offset, GError **error)
{
	gsize total = 0;

	for (guint i = 0; i < n; i++)
		total += iov[i].iov_len;
	if (total > READAHEAD_SIZE / 2)
		return READAHEAD_TOO_LARGE;
	if (self->ra == NULL)
		self->ra = g_malloc(READAHEAD_SIZE);
	if (offset < self->ra_offset || offset + total > self->ra_offset + self->ra_len) {
		gssize r = pxed_file_read_at(self->file, offset, self->ra, READAHEAD_SIZE, error);
		if (r < 0)
			return READAHEAD_FAILED;
		self->ra_offset = offset;
		self->ra_len = (gsize)r;
		if (offset + total > self->ra_offset + self->ra_len) {
			g_set_error_literal(error, PXED_TFTP_ERROR, PXED_TFTP_ERROR_IO,
					    "the file shrank during the transfer");
			return READAHEAD_FAILED;
		}
	}
	for (guint i = 0; i < n; i++) {
		memcpy(iov[i].iov_base, self->ra + (offset - self->ra_offset), iov[i].iov_len);
		offset += iov[i].iov_len;
	}
	return READAHEAD_DONE;
}

/* Lays out @k blocks from @first in the scratch buffer; returns the length. */
static gboolean
fill_octet(PxedTftpSession *self, guint64 first, guint k, gsize *len, GError **error)
{
	struct iovec iov[MAX_BURST];
	guint64 offset = (first - 1) * self->p.blksize;
	gsize plen = 0;
	guint n = 0;

	for (guint i = 0; i < k; i++) {
		guint64 block = first + i;
		guint64 start = (block - 1) * self->p.blksize;
		guint8 *pkt = self->scratch + i * self->stride;

		plen = (gsize)MIN((guint64)self->p.blksize, self->size - start);
		/* RFC 1350 §4 and the de-facto rollover: block numbers are the low
		 * 16 bits, so block 65536 goes out as 0 (as tftp-hpa, dnsmasq, PXE
		 * firmware and curl expect). */
		pxed_tftp_packet_write_data_header(pkt, (guint16)(block & 0xffff));
		if (plen > 0) {
			iov[n].iov_base = pkt + PXED_TFTP_DATA_HEADER;
			iov[n].iov_len = plen;
			n++;
		}
	}
	if (n > 0) {
		/* Small bursts come out of the read-ahead, large ones are read
		 * straight behind their headers with one preadv(). */
		ReadaheadResult ra = self->mem != NULL
					     ? READAHEAD_TOO_LARGE
					     : readahead_copy(self, iov, n, offset, error);
		if (ra == READAHEAD_FAILED)
			return FALSE;
		if (ra == READAHEAD_TOO_LARGE && !read_vectors(self, iov, n, offset, error))
			return FALSE;
	}
	*len = (k - 1) * self->stride + PXED_TFTP_DATA_HEADER + plen;
	return TRUE;
}

/* netascii output is not a fixed function of the block number, so each block
 * starts from the mark the previous one left (kept for the whole window, to
 * resend from any point of it). */
static gboolean
fill_netascii(PxedTftpSession *self, guint64 first, guint *k, gsize *len, GError **error)
{
	gsize out = 0;

	for (guint i = 0; i < *k; i++) {
		guint64 block = first + i;
		NetasciiMark mark = self->marks[block % self->n_marks];
		guint8 *pkt = self->scratch + i * self->stride;
		guint8 *data = pkt + PXED_TFTP_DATA_HEADER;
		NetasciiMark *after;

		pxed_tftp_packet_write_data_header(pkt, (guint16)(block & 0xffff));
		out = 0;
		if (mark.pending >= 0)
			out = pxed_tftp_netascii_encode(NULL, 0, &(gsize){0}, &mark.pending, data,
							self->p.blksize);
		while (out < self->p.blksize) {
			gsize used = 0;
			gssize r = pxed_file_read_at(self->file, mark.offset, self->na_src,
						     self->p.blksize - out, error);
			if (r < 0)
				return FALSE;
			if (r == 0)
				break; /* end of file */
			out += pxed_tftp_netascii_encode(self->na_src, (gsize)r, &used,
							 &mark.pending, data + out,
							 self->p.blksize - out);
			mark.offset += used;
		}
		after = &self->marks[(block + 1) % self->n_marks];
		*after = mark;
		if (out < self->p.blksize) {
			self->last_block = block;
			self->last_len = (guint)out;
			self->window_end = MIN(self->window_end, block);
			*k = i + 1;
			break;
		}
	}
	*len = (*k - 1) * self->stride + PXED_TFTP_DATA_HEADER + out;
	return TRUE;
}

/* ---- sending ---- */

static void
arm_rto(PxedTftpSession *self, gint64 now)
{
	self->rto_deadline = now + self->rto;
}

static gint64
pace_interval(PxedTftpSession *self)
{
	/* A burst of cwnd blocks every srtt·cwnd/windowsize: the window spread
	 * over about the time the client needed for a whole one. */
	gint64 pace = self->srtt * self->cwnd / self->p.windowsize;
	return CLAMP(pace, PACE_MIN_US, MAX(self->rto / 2, PACE_MIN_US));
}

/* Sends what the window, the burst and the socket allow. */
static void
pump(PxedTftpSession *self, gint64 now)
{
	guint max_per_call = (guint)MIN(self->scratch_size / self->stride, (gsize)MAX_BURST);

	if (self->state != PXED_TFTP_SESSION_RUNNING || self->blocked || self->oack_pending)
		return;
	while (self->next <= self->window_end) {
		g_autoptr(GError) error = NULL;
		guint64 want = self->window_end - self->next + 1;
		guint k;
		gsize len = 0;
		gssize sent;
		gboolean ok;

		if (self->cwnd < self->p.windowsize) {
			if (self->burst_left == 0) {
				/* The rest of the window goes in a later burst. */
				self->pace_deadline = now + pace_interval(self);
				return;
			}
			want = MIN(want, self->burst_left);
		}
		k = (guint)MIN(want, (guint64)max_per_call);
		if (self->p.mode == PXED_TFTP_MODE_OCTET)
			ok = fill_octet(self, self->next, k, &len, &error);
		else
			ok = fill_netascii(self, self->next, &k, &len, &error);
		if (!ok) {
			fail_io(self, g_steal_pointer(&error));
			return;
		}
		sent = self->transmit(self->user_data, self->scratch, self->stride, k, len, &error);
		if (sent < 0) {
			error->domain = PXED_TFTP_ERROR;
			error->code = PXED_TFTP_ERROR_IO;
			session_fail(self, g_steal_pointer(&error));
			return;
		}
		/* Resends: blocks at or below the highest ever sent. */
		if (self->next <= self->max_sent)
			self->stats.retransmits +=
				MIN((guint64)sent, self->max_sent - self->next + 1);
		self->stats.packets_sent += (guint64)sent;
		self->next += (guint64)sent;
		self->max_sent = MAX(self->max_sent, self->next - 1);
		self->burst_left -= MIN(self->burst_left, (guint)sent);
		if ((guint)sent < k) {
			/* The socket is full: resume when it drains. Should it never
			 * drain, the retransmission timer still ends the session. */
			self->blocked = TRUE;
			arm_rto(self, now);
			return;
		}
	}
	/* The whole window is out: now wait for its ACK. */
	if (self->window_sent_at == NEVER) {
		self->window_sent_at = now;
		arm_rto(self, now);
	}
}

/* @lost: the window resends after a loss already counted against it. */
static void
start_window(PxedTftpSession *self, guint64 first, gboolean lost, gint64 now)
{
	/* RFC 7440 §4: a window is windowsize consecutive blocks from the one
	 * after the last acknowledged. */
	self->next = first;
	self->window_end = MIN(first + self->p.windowsize - 1, self->last_block);
	/* A peer that has acknowledged nothing may not exist (a forged source
	 * address): one block, not a window, until it does. */
	if (!self->peer_acked)
		self->window_end = first;
	self->window_fresh = first > self->max_sent;
	self->gen_prev_max = self->max_sent;
	self->window_lost = lost;
	self->window_sent_at = NEVER;
	self->burst_left = self->cwnd;
	self->pace_deadline = NEVER;
	self->rto_deadline = NEVER;
	pump(self, now);
}

static void
send_oack(PxedTftpSession *self, gint64 now)
{
	g_autoptr(GError) error = NULL;
	gsize len = pxed_tftp_packet_build_oack(self->scratch, self->scratch_size, &self->p.oack);
	gssize sent = self->transmit(self->user_data, self->scratch, len, 1, len, &error);

	if (sent < 0) {
		error->domain = PXED_TFTP_ERROR;
		error->code = PXED_TFTP_ERROR_IO;
		session_fail(self, g_steal_pointer(&error));
		return;
	}
	self->stats.packets_sent++;
	if (self->oack_sent_at != NEVER) {
		self->oack_resent = TRUE;
		self->stats.retransmits++;
	}
	self->oack_sent_at = now;
	arm_rto(self, now);
}

PxedTftpSessionState
pxed_tftp_session_start(PxedTftpSession *self, gint64 now)
{
	if (self->p.send_oack) {
		/* RFC 2347: the OACK, then data once the client ACKs block 0. */
		self->oack_pending = TRUE;
		send_oack(self, now);
	} else {
		start_window(self, 1, FALSE, now);
	}
	return self->state;
}

/* ---- round trip and congestion ---- */

static void
rtt_sample(PxedTftpSession *self, gint64 sample)
{
	sample = MAX(sample, 1);
	/* RFC 6298 §2, with RFC 1123 §4.2.3.2 asking TFTP for an adaptive timeout. */
	if (self->srtt == 0) {
		self->srtt = sample;
		self->rttvar = sample / 2;
	} else {
		gint64 delta = self->srtt > sample ? self->srtt - sample : sample - self->srtt;
		self->rttvar = (3 * self->rttvar + delta) / 4;
		self->srtt = (7 * self->srtt + sample) / 8;
	}
	self->rto = self->srtt + MAX(CLOCK_GRANULARITY_US, 4 * self->rttvar);
	self->rto = CLAMP(self->rto, RTO_MIN_US, self->p.timeout_us);
}

static void
window_lost(PxedTftpSession *self)
{
	/* Multiplicative decrease, once per window: the next windows go out in
	 * bursts half as large, paced, instead of the same burst being lost
	 * again and again. */
	if (self->window_lost)
		return;
	self->window_lost = TRUE;
	self->stats.losses++;
	self->ssthresh = MAX(self->cwnd / 2, 1u);
	self->cwnd = self->ssthresh;
	self->stats.cwnd_min = MIN(self->stats.cwnd_min, self->cwnd);
}

static void
window_whole(PxedTftpSession *self)
{
	/* Grow back: doubling up to the last good size, then one block a window. */
	if (self->window_lost || self->cwnd >= self->p.windowsize)
		return;
	if (self->cwnd < self->ssthresh)
		self->cwnd = MIN(self->cwnd * 2, self->ssthresh);
	else
		self->cwnd++;
	self->cwnd = MIN(self->cwnd, self->p.windowsize);
}

/* ---- events ---- */

static void
finish(PxedTftpSession *self)
{
	self->state = PXED_TFTP_SESSION_COMPLETE;
	self->rto_deadline = NEVER;
	self->pace_deadline = NEVER;
}

static guint64
bytes_through(PxedTftpSession *self, guint64 block)
{
	if (block == 0)
		return 0;
	if (block >= self->last_block)
		return (self->last_block - 1) * self->p.blksize + self->last_len;
	return block * self->p.blksize;
}

static void
handle_ack(PxedTftpSession *self, guint16 wire, gint64 now)
{
	guint64 block;

	if (self->oack_pending) {
		/* RFC 2347: the client takes the OACK with ACK 0. */
		if (wire != 0) {
			self->stats.duplicate_acks++;
			return;
		}
		self->oack_pending = FALSE;
		self->peer_acked = TRUE;
		if (!self->oack_resent)
			rtt_sample(self, now - self->oack_sent_at);
		self->tries = 0;
		self->rto_deadline = NEVER;
		start_window(self, 1, FALSE, now);
		return;
	}

	/* The 16-bit number names the one block in [acked, acked + 65535]
	 * with those low bits: windows are at most 65535 blocks, so no two
	 * outstanding blocks share them, across any number of rollovers. */
	block = self->acked + (guint16)(wire - (guint16)(self->acked & 0xffff));
	if (block == self->acked) {
		/* RFC 1123 §4.2.3.1: never resend on a duplicate ACK — that is the
		 * sorcerer's apprentice. Losses are the timer's business. */
		self->stats.duplicate_acks++;
		return;
	}
	if (block > self->max_sent) {
		/* Not a block we sent: stale (from before a rollover) or bogus. */
		self->stats.duplicate_acks++;
		return;
	}

	/* Karn: only windows sent once, acknowledged at their end, are timed. */
	if (block == self->window_end && self->window_fresh && self->window_sent_at != NEVER)
		rtt_sample(self, now - self->window_sent_at);
	self->acked = block;
	self->peer_acked = TRUE;
	self->stats.blocks = block;
	self->stats.bytes = bytes_through(self, block);
	self->tries = 0;
	self->blocked = FALSE;

	if (block == self->last_block) {
		finish(self);
		return;
	}
	if (block >= self->window_end) {
		if (self->window_sent_at != NEVER)
			window_whole(self);
		start_window(self, block + 1, FALSE, now);
		return;
	}

	/* An ACK inside the window. RFC 7440 §4: the client saw a gap (or its
	 * timer fired) and its next window starts after this block. */
	if (block + 1 < self->next && block + 1 > self->gen_prev_max) {
		/* The gap is in blocks this window sent for the first time: they
		 * were lost. Resend from there now, in smaller bursts. */
		window_lost(self);
		start_window(self, block + 1, TRUE, now);
		return;
	}
	/* Either the client has all this window sent so far, or the gap is in
	 * blocks sent more than once and the ACK may answer an older copy while
	 * this window's copy is still on its way. Rewinding again would send a
	 * third copy behind the second, draw another such ACK, and so on — the
	 * windowed sorcerer's apprentice. So the window goes on, and only moves
	 * its end to where the client now counts it; a block that really is lost
	 * is the retransmission timer's. */
	self->window_end = MIN(block + self->p.windowsize, self->last_block);
	self->window_fresh = FALSE;
	self->window_sent_at = NEVER;
	self->rto_deadline = NEVER;
	if (self->pace_deadline == NEVER)
		pump(self, now);
}

PxedTftpSessionState
pxed_tftp_session_receive(PxedTftpSession *self, const guint8 *buf, gsize len, gint64 now)
{
	PxedTftpPacket packet;

	if (self->state != PXED_TFTP_SESSION_RUNNING)
		return self->state;
	if (!pxed_tftp_packet_parse(buf, len, &packet, NULL))
		return self->state; /* the owner counts and logs bad packets */
	switch (packet.opcode) {
	case PXED_TFTP_OP_ACK:
		handle_ack(self, packet.block, now);
		break;
	case PXED_TFTP_OP_ERROR: {
		/* RFC 1350 §7: an ERROR ends the transfer and is not answered. */
		g_autofree char *message =
			g_strndup(packet.error_message, packet.error_message_len);
		g_autofree char *safe = g_strescape(message, NULL);
		session_fail(self, g_error_new(PXED_TFTP_ERROR, PXED_TFTP_ERROR_PEER,
					       "client sent error %u \"%s\"",
					       (guint)packet.error_code, safe));
		break;
	}
	default:
		/* A DATA, a request or an OACK from our own client is nonsense
		 * on a read transfer: ignored, the transfer goes on. */
		break;
	}
	return self->state;
}

PxedTftpSessionState
pxed_tftp_session_timer(PxedTftpSession *self, gint64 now)
{
	if (self->state != PXED_TFTP_SESSION_RUNNING)
		return self->state;
	if (self->pace_deadline != NEVER && now >= self->pace_deadline) {
		self->pace_deadline = NEVER;
		self->burst_left = self->cwnd;
		pump(self, now);
	}
	if (self->rto_deadline == NEVER || now < self->rto_deadline)
		return self->state;

	/* Retransmission timeout. Exponential backoff (RFC 1123 §4.2.3.2) up to
	 * the configured or negotiated timeout; only waits at that full timeout
	 * count against the retries, so fast early resends cost nothing. */
	self->stats.timeouts++;
	if (!self->peer_acked && self->unacked_resends >= self->p.unacked_retries) {
		/* Every resend to a victim of a forged request multiplies what
		 * the forger's one packet is worth: few of them, early fast
		 * ones included. A real client repeats its request anyway. */
		session_fail(self, g_error_new(PXED_TFTP_ERROR, PXED_TFTP_ERROR_UNACKED,
					       "the client acknowledged nothing after %u "
					       "retransmissions (unacked-retries)",
					       self->unacked_resends));
		return self->state;
	}
	if (!self->peer_acked)
		self->unacked_resends++;
	if (self->rto >= self->p.timeout_us && ++self->tries > self->p.retries) {
		session_fail(self, g_error_new(PXED_TFTP_ERROR, PXED_TFTP_ERROR_TIMEOUT,
					       "no answer from the client after %u retries",
					       self->p.retries));
		return self->state;
	}
	self->rto = MIN(self->rto * 2, self->p.timeout_us);
	self->rto_deadline = NEVER;
	if (self->oack_pending) {
		send_oack(self, now);
		return self->state;
	}
	/* RFC 7440 §4: on a timeout the last ACK received sets the start of
	 * the next window. A socket that was full is retried too. */
	self->window_lost = FALSE; /* every timeout halves the burst again */
	window_lost(self);
	self->blocked = FALSE;
	start_window(self, self->acked + 1, TRUE, now);
	return self->state;
}

PxedTftpSessionState
pxed_tftp_session_writable(PxedTftpSession *self, gint64 now)
{
	if (self->state != PXED_TFTP_SESSION_RUNNING || !self->blocked)
		return self->state;
	self->blocked = FALSE;
	self->rto_deadline = NEVER;
	pump(self, now);
	return self->state;
}

void
pxed_tftp_session_cancel(PxedTftpSession *self, const char *reason)
{
	session_fail(self, g_error_new_literal(PXED_TFTP_ERROR, PXED_TFTP_ERROR_IO, reason));
}

PxedTftpSessionState
pxed_tftp_session_get_state(PxedTftpSession *self)
{
	return self->state;
}

gint64
pxed_tftp_session_get_deadline(PxedTftpSession *self)
{
	gint64 deadline = -1;

	if (self->state != PXED_TFTP_SESSION_RUNNING)
		return -1;
	if (self->rto_deadline != NEVER)
		deadline = self->rto_deadline;
	if (self->pace_deadline != NEVER && (deadline < 0 || self->pace_deadline < deadline))
		deadline = self->pace_deadline;
	return deadline;
}

gboolean
pxed_tftp_session_wants_writable(PxedTftpSession *self)
{
	return self->state == PXED_TFTP_SESSION_RUNNING && self->blocked;
}

const GError *
pxed_tftp_session_get_error(PxedTftpSession *self)
{
	return self->error;
}

void
pxed_tftp_session_get_stats(PxedTftpSession *self, PxedTftpSessionStats *stats)
{
	*stats = self->stats;
	stats->cwnd = self->cwnd;
	stats->srtt_us = self->srtt;
	stats->rto_us = self->rto;
}

guint64
pxed_tftp_session_get_last_block(PxedTftpSession *self)
{
	return self->last_block == G_MAXUINT64 ? 0 : self->last_block;
}
