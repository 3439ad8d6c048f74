/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Any datagram a TFTP server can receive: pxed_tftp_packet_parse() with its
 * option parsing (RFC 2347-2349, RFC 7440), then, for a request, the OACK the
 * options would produce, parsed back: what was accepted must survive the
 * round trip unchanged.
 */
#include <string.h>

#include "fuzz-common.h"
#include "tftp-packet.h"
/* Option negotiation as a pure function (RFC 2347-2349, RFC 7440): fuzzed
 * as soon as the engine has it. */
#if __has_include("tftp-negotiate.h")
#include "tftp-negotiate.h"
#define FUZZ_NEGOTIATE 1
#endif

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	pxed_fuzz_init();
	return 0;
}

#ifdef FUZZ_NEGOTIATE
/* Never more than the client asked, nor more than the policy allows; the
 * OACK names only options the client sent. */
static void
check_negotiation(const PxedTftpPacket *request, guint64 size)
{
	static const PxedTftpPolicy policy = {
		.timeout = 5,
		.max_timeout = 5,
		.retries = 5,
		.unacked_retries = 1,
		.max_blksize = 1468,
		.max_windowsize = 16,
	};
	PxedTftpSessionParams params;
	const PxedTftpOptions *asked = &request->options;

	memset(&params, 0, sizeof(params));
	pxed_tftp_negotiate(&policy, request, size, &params);
	g_assert_cmpuint(params.blksize, >=, PXED_TFTP_MIN_BLKSIZE);
	g_assert_cmpuint(params.blksize, <=, MAX(policy.max_blksize, PXED_TFTP_DEFAULT_BLKSIZE));
	g_assert_cmpuint(params.windowsize, >=, 1);
	g_assert_cmpuint(params.windowsize, <=, policy.max_windowsize);
	if (!params.send_oack)
		return;
	g_assert_cmpuint(params.oack.present & ~asked->present, ==, 0);
	if (params.oack.present & PXED_TFTP_OPT_BLKSIZE)
		g_assert_cmpuint(params.oack.blksize, <=, asked->blksize);
	if (params.oack.present & PXED_TFTP_OPT_WINDOWSIZE)
		g_assert_cmpuint(params.oack.windowsize, <=, asked->windowsize);
	if (params.oack.present & PXED_TFTP_OPT_TIMEOUT)
		g_assert_cmpuint(params.oack.timeout, <=, policy.max_timeout);
}
#endif

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	g_autoptr(GError) error = NULL;
	PxedTftpPacket packet;
	PxedTftpPacket again;
	guint8 out[PXED_TFTP_MAX_PACKET];
	/* a copy of exactly @size bytes: ASan sees any read past the datagram */
	g_autofree guint8 *buf = g_memdup2(data, size);
	gsize len;

	if (!pxed_tftp_packet_parse(buf, size, &packet, &error)) {
		g_assert_nonnull(error);
		g_assert_true(error->domain == PXED_TFTP_ERROR);
		/* the message goes back to the peer in an ERROR packet */
		g_assert_cmpuint(pxed_tftp_packet_build_error(out, sizeof(out),
							      PXED_TFTP_ERR_ILLEGAL_OP,
							      error->message),
				 >, 0);
		return 0;
	}
	if (packet.opcode == PXED_TFTP_OP_ERROR && packet.error_message != NULL)
		g_assert_cmpuint(packet.error_message_len, <=, size);
	if (packet.opcode != PXED_TFTP_OP_RRQ && packet.opcode != PXED_TFTP_OP_WRQ)
		return 0;
	g_assert_nonnull(packet.filename);
	g_assert_cmpuint(strlen(packet.filename), <, size);
	g_assert_cmpuint(packet.options.n_ignored, <=, packet.options.n_options);
#ifdef FUZZ_NEGOTIATE
	if (packet.opcode == PXED_TFTP_OP_RRQ)
		check_negotiation(&packet, (guint64)size * 1000);
#endif

	/* no option accepted: the server sends no OACK (RFC 2347: it answers
	 * with the first DATA block) */
	if (packet.options.present == 0)
		return 0;
	len = pxed_tftp_packet_build_oack(out, sizeof(out), &packet.options);
	if (len == 0)
		return 0;
	g_assert_true(pxed_tftp_packet_parse(out, len, &again, NULL));
	g_assert_cmpint(again.opcode, ==, PXED_TFTP_OP_OACK);
	g_assert_cmpuint(again.options.present, ==, packet.options.present);
	if (packet.options.present & PXED_TFTP_OPT_BLKSIZE)
		g_assert_cmpuint(again.options.blksize, ==, packet.options.blksize);
	if (packet.options.present & PXED_TFTP_OPT_TIMEOUT)
		g_assert_cmpuint(again.options.timeout, ==, packet.options.timeout);
	if (packet.options.present & PXED_TFTP_OPT_WINDOWSIZE)
		g_assert_cmpuint(again.options.windowsize, ==, packet.options.windowsize);
	if (packet.options.present & PXED_TFTP_OPT_TSIZE)
		g_assert_cmpuint(again.options.tsize, ==, packet.options.tsize);
	return 0;
}
