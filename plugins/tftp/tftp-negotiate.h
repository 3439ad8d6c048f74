/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Option negotiation: what the server agrees to for one read request, as a
 * pure function of the request, the file's size and the server's policy
 * (RFC 2347 option extension, RFC 2348 blksize, RFC 2349 timeout and tsize,
 * RFC 7440 windowsize). No sockets, no clock, no allocation: the unit tests
 * and the fuzzer call it directly.
 */

#include "tftp-packet.h"
#include "tftp-session.h"

G_BEGIN_DECLS

/* The server's side of the bargain (its configuration keys). */
typedef struct {
	guint timeout;	       /* seconds: the retransmission timer's ceiling */
	guint max_timeout;     /* seconds: the largest timeout option accepted */
	guint retries;	       /* at the full timeout, before giving up */
	guint unacked_retries; /* resends to a peer that acknowledged nothing yet */
	guint max_blksize;     /* the largest blksize granted */
	guint max_windowsize;  /* the largest windowsize granted */
} PxedTftpPolicy;

/**
 * pxed_tftp_negotiate:
 * @request: a parsed RRQ
 * @size: the file's size in bytes (0: empty, or not known)
 * @params: (out): the session's parameters, with the OACK to send in
 *   @params->oack and @params->send_oack
 *
 * Never grants more than the client asked nor more than @policy allows.
 *
 * Returns: the options (PxedTftpOptionFlags) the client asked for with a
 *   valid value that are left out of the OACK
 */
guint32 pxed_tftp_negotiate(const PxedTftpPolicy *policy, const PxedTftpPacket *request,
			    guint64 size, PxedTftpSessionParams *params);

G_END_DECLS
