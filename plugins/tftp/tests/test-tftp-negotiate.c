/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * Option negotiation as a pure function: requests are built and parsed as
 * they arrive on the wire, then negotiated against a policy; the OACK is
 * checked both as a struct and as the bytes that would be sent.
 */

#include <string.h>

#include "tftp-negotiate.h"

static const PxedTftpPolicy default_policy = {
	.timeout = 1,
	.max_timeout = 5,
	.retries = 5,
	.max_blksize = PXED_TFTP_MAX_BLKSIZE,
	.max_windowsize = 64,
};

/* Builds the RRQ a client would send, parses it, negotiates it. */
static guint32
negotiate(const PxedTftpPolicy *policy, const char *mode, const PxedTftpOptions *asked,
	  const char *const *extra, guint64 size, PxedTftpSessionParams *params)
{
	guint8 buf[1024];
	PxedTftpPacket request;
	g_autoptr(GError) error = NULL;
	gsize len = pxed_tftp_packet_build_request(buf, sizeof(buf), PXED_TFTP_OP_RRQ, "f.bin",
						   mode, asked, extra);

	g_assert_cmpuint(len, >, 0);
	g_assert_true(pxed_tftp_packet_parse(buf, len, &request, &error));
	g_assert_no_error(error);
	return pxed_tftp_negotiate(policy, &request, size, params);
}

/* An octet request for a 100 000-byte file. */
static guint32
negotiate_octet(const PxedTftpPolicy *policy, const PxedTftpOptions *asked,
		PxedTftpSessionParams *params)
{
	return negotiate(policy, "octet", asked, NULL, 100000, params);
}

static void
test_no_options(void)
{
	PxedTftpSessionParams p;

	/* RFC 1350 as it was: 512-byte lock-step, no OACK (RFC 2347). */
	negotiate(&default_policy, "octet", NULL, NULL, 100000, &p);
	g_assert_false(p.send_oack);
	g_assert_cmpuint(p.oack.present, ==, 0);
	g_assert_cmpuint(p.mode, ==, PXED_TFTP_MODE_OCTET);
	g_assert_cmpuint(p.blksize, ==, PXED_TFTP_DEFAULT_BLKSIZE);
	g_assert_cmpuint(p.windowsize, ==, 1);
	g_assert_cmpint(p.timeout_us, ==, G_USEC_PER_SEC);
	g_assert_cmpuint(p.retries, ==, 5);

	negotiate(&default_policy, "netascii", NULL, NULL, 100000, &p);
	g_assert_cmpuint(p.mode, ==, PXED_TFTP_MODE_NETASCII);
	g_assert_false(p.send_oack);
}

static void
test_unknown_options(void)
{
	const char *const extra[] = {"multicast", "", "rollover", "0", NULL};
	PxedTftpSessionParams p;

	/* RFC 2347: options the server does not know are left out of the OACK;
	 * with nothing left there is no OACK at all. */
	negotiate(&default_policy, "octet", NULL, extra, 100000, &p);
	g_assert_false(p.send_oack);
	g_assert_cmpuint(p.oack.present, ==, 0);
}

static void
test_blksize(void)
{
	const PxedTftpPolicy small = {.timeout = 1,
				      .max_timeout = 5,
				      .retries = 5,
				      .max_blksize = 1468,
				      .max_windowsize = 64};
	const guint asks[] = {8, 512, 1468, 1469, 65464};
	const guint want[] = {8, 512, 1468, 1468, 1468};

	/* RFC 2348: the server may answer a smaller size, never a larger one. */
	for (guint i = 0; i < G_N_ELEMENTS(asks); i++) {
		PxedTftpOptions asked = {.present = PXED_TFTP_OPT_BLKSIZE, .blksize = asks[i]};
		PxedTftpSessionParams p;

		negotiate(&small, "octet", &asked, NULL, 100000, &p);
		g_assert_true(p.send_oack);
		g_assert_cmpuint(p.oack.present, ==, PXED_TFTP_OPT_BLKSIZE);
		g_assert_cmpuint(p.blksize, ==, want[i]);
		g_assert_cmpuint(p.oack.blksize, ==, want[i]);
	}
}

static void
test_windowsize(void)
{
	const guint asks[] = {1, 16, 64, 65, 65535};
	const guint want[] = {1, 16, 64, 64, 64};

	/* RFC 7440 §3: likewise for the window. */
	for (guint i = 0; i < G_N_ELEMENTS(asks); i++) {
		PxedTftpOptions asked = {.present = PXED_TFTP_OPT_WINDOWSIZE,
					 .windowsize = asks[i]};
		PxedTftpSessionParams p;

		negotiate(&default_policy, "octet", &asked, NULL, 100000, &p);
		g_assert_true(p.send_oack);
		g_assert_cmpuint(p.windowsize, ==, want[i]);
		g_assert_cmpuint(p.oack.windowsize, ==, want[i]);
		g_assert_cmpuint(p.blksize, ==, PXED_TFTP_DEFAULT_BLKSIZE);
	}
}

static void
test_timeout(void)
{
	const guint accepted[] = {1, 3, 5};
	PxedTftpSessionParams p;

	/* RFC 2349: accepted with the very value asked, up to the ceiling; it
	 * replaces the server's own for the retransmission timer. */
	for (guint i = 0; i < G_N_ELEMENTS(accepted); i++) {
		PxedTftpOptions asked = {.present = PXED_TFTP_OPT_TIMEOUT, .timeout = accepted[i]};
		g_assert_cmpuint(negotiate_octet(&default_policy, &asked, &p), ==, 0);
		g_assert_true(p.send_oack);
		g_assert_cmpuint(p.oack.present, ==, PXED_TFTP_OPT_TIMEOUT);
		g_assert_cmpuint(p.oack.timeout, ==, accepted[i]);
		g_assert_cmpint(p.timeout_us, ==, accepted[i] * G_USEC_PER_SEC);
	}
}

static void
test_timeout_ceiling(void)
{
	const guint above[] = {6, 60, 255};

	/* Above max-timeout the option is declined: RFC 2349 lets the server
	 * answer no other value than the client's, so it is left out of the
	 * OACK (RFC 2347) and the server keeps its own timeout. Alone, it
	 * leaves no OACK at all; beside another option, the OACK has that one. */
	for (guint i = 0; i < G_N_ELEMENTS(above); i++) {
		PxedTftpOptions asked = {.present = PXED_TFTP_OPT_TIMEOUT, .timeout = above[i]};
		PxedTftpOptions both = {.present = PXED_TFTP_OPT_TIMEOUT | PXED_TFTP_OPT_BLKSIZE,
					.timeout = above[i],
					.blksize = 1468};
		PxedTftpSessionParams p;

		g_assert_cmpuint(negotiate_octet(&default_policy, &asked, &p), ==,
				 PXED_TFTP_OPT_TIMEOUT);
		g_assert_false(p.send_oack);
		g_assert_cmpint(p.timeout_us, ==, default_policy.timeout * G_USEC_PER_SEC);

		g_assert_cmpuint(negotiate_octet(&default_policy, &both, &p), ==,
				 PXED_TFTP_OPT_TIMEOUT);
		g_assert_true(p.send_oack);
		g_assert_cmpuint(p.oack.present, ==, PXED_TFTP_OPT_BLKSIZE);
		g_assert_cmpuint(p.blksize, ==, 1468);
		g_assert_cmpint(p.timeout_us, ==, default_policy.timeout * G_USEC_PER_SEC);
	}
}

static void
test_tsize(void)
{
	PxedTftpOptions asked = {.present = PXED_TFTP_OPT_TSIZE};
	PxedTftpSessionParams p;

	/* RFC 2349: the file's size in octet mode. */
	negotiate(&default_policy, "octet", &asked, NULL, 123456789012, &p);
	g_assert_true(p.send_oack);
	g_assert_cmpuint(p.oack.present, ==, PXED_TFTP_OPT_TSIZE);
	g_assert_cmpuint(p.oack.tsize, ==, 123456789012);

	/* Not in netascii (the size on the wire is unknown before the end),
	 * not for an empty file (curl refuses "tsize 0"): then no OACK. */
	negotiate(&default_policy, "netascii", &asked, NULL, 1000, &p);
	g_assert_false(p.send_oack);
	negotiate(&default_policy, "octet", &asked, NULL, 0, &p);
	g_assert_false(p.send_oack);
}

static void
test_everything(void)
{
	const PxedTftpPolicy policy = {.timeout = 2,
				       .max_timeout = 4,
				       .retries = 7,
				       .max_blksize = 4096,
				       .max_windowsize = 32};
	PxedTftpOptions asked = {
		.present = PXED_TFTP_OPT_BLKSIZE | PXED_TFTP_OPT_TIMEOUT | PXED_TFTP_OPT_TSIZE |
			   PXED_TFTP_OPT_WINDOWSIZE,
		.blksize = 65464,
		.timeout = 4,
		.windowsize = 1000,
	};
	PxedTftpSessionParams p;
	guint8 oack[512];
	gsize len;
	PxedTftpPacket back;

	negotiate(&policy, "octet", &asked, NULL, 5000, &p);
	g_assert_true(p.send_oack);
	g_assert_cmpuint(p.retries, ==, 7);
	g_assert_cmpuint(p.blksize, ==, 4096);
	g_assert_cmpuint(p.windowsize, ==, 32);
	g_assert_cmpint(p.timeout_us, ==, 4 * G_USEC_PER_SEC);

	/* The OACK as sent parses back to what was granted. */
	len = pxed_tftp_packet_build_oack(oack, sizeof(oack), &p.oack);
	g_assert_cmpuint(len, >, 2);
	g_assert_true(pxed_tftp_packet_parse(oack, len, &back, NULL));
	g_assert_cmpint(back.opcode, ==, PXED_TFTP_OP_OACK);
	g_assert_cmpuint(back.options.present, ==, asked.present);
	g_assert_cmpuint(back.options.blksize, ==, 4096);
	g_assert_cmpuint(back.options.timeout, ==, 4);
	g_assert_cmpuint(back.options.tsize, ==, 5000);
	g_assert_cmpuint(back.options.windowsize, ==, 32);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/tftp/negotiate/no-options", test_no_options);
	g_test_add_func("/tftp/negotiate/unknown-options", test_unknown_options);
	g_test_add_func("/tftp/negotiate/blksize", test_blksize);
	g_test_add_func("/tftp/negotiate/windowsize", test_windowsize);
	g_test_add_func("/tftp/negotiate/timeout", test_timeout);
	g_test_add_func("/tftp/negotiate/timeout-ceiling", test_timeout_ceiling);
	g_test_add_func("/tftp/negotiate/tsize", test_tsize);
	g_test_add_func("/tftp/negotiate/everything", test_everything);
	return g_test_run();
}
