/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "tftp-negotiate.h"

#include <string.h>

guint32
pxed_tftp_negotiate(const PxedTftpPolicy *policy, const PxedTftpPacket *request, guint64 size,
		    PxedTftpSessionParams *params)
{
	const PxedTftpOptions *asked = &request->options;
	PxedTftpOptions *ack = &params->oack;

	memset(params, 0, sizeof(*params));
	params->mode = request->mode;
	params->blksize = PXED_TFTP_DEFAULT_BLKSIZE;
	params->windowsize = 1;
	params->timeout_us = (gint64)policy->timeout * G_USEC_PER_SEC;
	params->retries = policy->retries;
	params->unacked_retries = policy->unacked_retries;

	if (asked->present & PXED_TFTP_OPT_BLKSIZE) {
		/* RFC 2348: the server may answer a smaller size. */
		params->blksize = MIN(asked->blksize, policy->max_blksize);
		ack->blksize = params->blksize;
		ack->present |= PXED_TFTP_OPT_BLKSIZE;
	}
	if ((asked->present & PXED_TFTP_OPT_TIMEOUT) && asked->timeout <= policy->max_timeout) {
		/* RFC 2349: "the specified timeout value must match the value
		 * specified by the client" — the server cannot answer a lower
		 * one, only accept the value or leave the option out of the
		 * OACK (RFC 2347), keeping its own timer. A value above the
		 * ceiling is left out: a client's timeout is also how long an
		 * unanswered transfer holds its session (retries times it), and
		 * 255 s would let a few requests hold sessions for half an hour. */
		params->timeout_us = (gint64)asked->timeout * G_USEC_PER_SEC;
		ack->timeout = asked->timeout;
		ack->present |= PXED_TFTP_OPT_TIMEOUT;
	}
	if ((asked->present & PXED_TFTP_OPT_TSIZE) && request->mode == PXED_TFTP_MODE_OCTET &&
	    size > 0) {
		/* RFC 2349 §4: the size in octets. In netascii the size on the
		 * wire is only known once the file has been read through, so
		 * the option is left out, as tftp-hpa does. So is "tsize 0":
		 * curl refuses an OACK that carries it, and an empty file tells
		 * its size with its one empty block anyway. */
		ack->tsize = size;
		ack->present |= PXED_TFTP_OPT_TSIZE;
	}
	if (asked->present & PXED_TFTP_OPT_WINDOWSIZE) {
		/* RFC 7440 §3: the server may answer a smaller window. */
		params->windowsize = MIN(asked->windowsize, policy->max_windowsize);
		ack->windowsize = params->windowsize;
		ack->present |= PXED_TFTP_OPT_WINDOWSIZE;
	}
	/* RFC 2347: an OACK only when at least one option is acknowledged;
	 * otherwise the transfer starts with DATA 1 as in RFC 1350. */
	params->send_oack = ack->present != 0;
	return asked->present & ~ack->present;
}
