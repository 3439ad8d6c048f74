/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * One read transfer, as a state machine with no socket and no clock of its
 * own: the owner feeds it packets from the peer, timer expiries and "the
 * socket can take more", each with the current monotonic time, and it answers
 * through a transmit function. Unit tests drive it with a fake clock and a
 * transport that drops, reorders and duplicates.
 *
 * What it implements: RFC 1350 lock-step (windowsize 1) and RFC 7440 windows;
 * block numbers that roll over past 65535 to 0; the OACK handshake of RFC 2347;
 * an adaptive retransmission timeout with exponential backoff (RFC 1123
 * §4.2.3.2); never resending on a duplicate ACK (RFC 1123 §4.2.3.1, the
 * sorcerer's apprentice); and, for windows, a congestion window: a window
 * that loses packets makes the session send the next windows in smaller paced
 * bursts, which grow back while windows arrive whole.
 */

#include <pxed/pxed.h>

#include "tftp-packet.h"

G_BEGIN_DECLS

typedef struct _PxedTftpSession PxedTftpSession;

#define PXED_TFTP_UNACKED_UNBOUNDED G_MAXUINT

typedef struct {
	PxedTftpMode mode;
	guint blksize;	  /* 8..65464 */
	guint windowsize; /* 1..65535 */
	/* The longest the session waits before retransmitting, and the first
	 * wait before it has measured the round trip (µs). */
	gint64 timeout_us;
	/* How many retransmissions at the full timeout, without progress, before
	 * the session gives up. */
	guint retries;
	/* How many times the first packet (the OACK, or DATA 1) is resent while
	 * the peer has acknowledged nothing, before the session gives up; and
	 * until that first ACK, a window holds one block. A request with a
	 * forged source address is answered to its victim, who acknowledges
	 * nothing: this bounds what one such request makes the server send.
	 * PXED_TFTP_UNACKED_UNBOUNDED: the peer is trusted from the start. */
	guint unacked_retries;
	/* RFC 2347: when set, the session starts with an OACK carrying these
	 * options and waits for ACK 0 before sending data. */
	gboolean send_oack;
	PxedTftpOptions oack;
} PxedTftpSessionParams;

/**
 * PxedTftpTransmitFunc:
 * @buf: @count datagrams back to back: each @stride bytes, except the last,
 *   which ends at @len (it may be shorter: the final block)
 *
 * Returns: how many of the datagrams were sent, in order (fewer than @count
 *   when the socket is full: the session then waits for
 *   pxed_tftp_session_writable()), or -1 with @error set on a failure that
 *   ends the transfer.
 */
typedef gssize (*PxedTftpTransmitFunc)(gpointer user_data, const guint8 *buf, gsize stride,
				       guint count, gsize len, GError **error);

typedef enum {
	PXED_TFTP_SESSION_RUNNING,
	PXED_TFTP_SESSION_COMPLETE,
	PXED_TFTP_SESSION_FAILED,
} PxedTftpSessionState;

typedef struct {
	guint64 bytes;	      /* payload bytes acknowledged by the peer */
	guint64 blocks;	      /* blocks acknowledged */
	guint64 packets_sent; /* DATA and OACK packets, first sends and resends */
	guint64 retransmits;  /* of which resends */
	guint timeouts;	      /* retransmission timer expiries */
	guint losses;	      /* windows cut short by a loss (partial ACK or timeout) */
	guint duplicate_acks; /* ACKs ignored as duplicates */
	guint cwnd;	      /* current burst size, blocks */
	guint cwnd_min;	      /* smallest it has been */
	gint64 srtt_us;	      /* smoothed round trip, 0 until measured */
	gint64 rto_us;	      /* current retransmission timeout */
} PxedTftpSessionStats;

/**
 * pxed_tftp_session_new:
 * @file: what to send; referenced
 * @scratch: a buffer the session fills with packets just before each
 *   transmit call: shared between sessions of one thread, at least
 *   4 + @params->blksize bytes
 */
PxedTftpSession *pxed_tftp_session_new(const PxedTftpSessionParams *params, PxedFile *file,
				       guint8 *scratch, gsize scratch_size,
				       PxedTftpTransmitFunc transmit, gpointer user_data);
void pxed_tftp_session_free(PxedTftpSession *self);

/* Sends the OACK or the first window. */
PxedTftpSessionState pxed_tftp_session_start(PxedTftpSession *self, gint64 now);
/* A datagram from the peer (the owner has checked the TID). */
PxedTftpSessionState pxed_tftp_session_receive(PxedTftpSession *self, const guint8 *buf, gsize len,
					       gint64 now);
/* The deadline passed: retransmit, send the next paced burst, or give up. */
PxedTftpSessionState pxed_tftp_session_timer(PxedTftpSession *self, gint64 now);
/* The socket can take datagrams again after a short transmit. */
PxedTftpSessionState pxed_tftp_session_writable(PxedTftpSession *self, gint64 now);

/* Ends the transfer as failed for a reason of the owner's; nothing is sent. */
void pxed_tftp_session_cancel(PxedTftpSession *self, const char *reason);

PxedTftpSessionState pxed_tftp_session_get_state(PxedTftpSession *self);
/* When to call pxed_tftp_session_timer() (monotonic µs), or -1 for never. */
gint64 pxed_tftp_session_get_deadline(PxedTftpSession *self);
/* Whether the session waits for the socket to become writable. */
gboolean pxed_tftp_session_wants_writable(PxedTftpSession *self);
/* Why the session failed (PXED_TFTP_ERROR), or %NULL. */
const GError *pxed_tftp_session_get_error(PxedTftpSession *self);
void pxed_tftp_session_get_stats(PxedTftpSession *self, PxedTftpSessionStats *stats);
/* The final block's number in the 64-bit sequence (no rollover), 0 while unknown. */
guint64 pxed_tftp_session_get_last_block(PxedTftpSession *self);

/**
 * pxed_tftp_netascii_encode:
 * @pending: (inout): the second byte of a CR LF / CR NUL pair that did not fit
 *   in the previous output, or -1
 * @consumed: (out): bytes of @src used
 *
 * RFC 1350 §1 and RFC 764 (NVT ASCII): LF is sent as CR LF and CR as CR NUL,
 * so that a netascii client that maps them back gets the file byte for byte.
 *
 * Returns: bytes written to @out (at most @out_size)
 */
gsize pxed_tftp_netascii_encode(const guint8 *src, gsize src_len, gsize *consumed, gint *pending,
				guint8 *out, gsize out_size);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(PxedTftpSession, pxed_tftp_session_free)

G_END_DECLS
