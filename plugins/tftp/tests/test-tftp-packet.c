/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The TFTP codec against well-formed and hostile packets. */

#include <string.h>

#include "tftp-packet.h"

/* A packet from C string pieces: "\0" separators are written explicitly. */
static GByteArray *
packet_new(guint16 opcode)
{
	GByteArray *p = g_byte_array_new();
	guint8 op[2] = {(guint8)(opcode >> 8), (guint8)(opcode & 0xff)};
	g_byte_array_append(p, op, 2);
	return p;
}

static void
packet_add(GByteArray *p, const char *s)
{
	g_byte_array_append(p, (const guint8 *)s, (guint)strlen(s) + 1);
}

static void
packet_add_raw(GByteArray *p, const void *data, gsize len)
{
	g_byte_array_append(p, data, (guint)len);
}

static gboolean
parse(GByteArray *p, PxedTftpPacket *packet, GError **error)
{
	return pxed_tftp_packet_parse(p->data, p->len, packet, error);
}

static void
test_rrq_basic(void)
{
	g_autoptr(GByteArray) p = packet_new(PXED_TFTP_OP_RRQ);
	g_autoptr(GError) error = NULL;
	PxedTftpPacket packet;

	packet_add(p, "pxelinux.0");
	packet_add(p, "OcTeT");
	g_assert_true(parse(p, &packet, &error));
	g_assert_no_error(error);
	g_assert_cmpint(packet.opcode, ==, PXED_TFTP_OP_RRQ);
	g_assert_cmpstr(packet.filename, ==, "pxelinux.0");
	g_assert_cmpint(packet.mode, ==, PXED_TFTP_MODE_OCTET);
	g_assert_cmpuint(packet.options.present, ==, 0);
	g_assert_cmpuint(packet.options.n_options, ==, 0);

	g_byte_array_set_size(p, 2);
	packet_add(p, "a/b.cfg");
	packet_add(p, "NETASCII");
	g_assert_true(parse(p, &packet, NULL));
	g_assert_cmpint(packet.mode, ==, PXED_TFTP_MODE_NETASCII);

	/* WRQ parses the same way: refusing it is the server's business. */
	p->data[1] = PXED_TFTP_OP_WRQ;
	g_assert_true(parse(p, &packet, NULL));
	g_assert_cmpint(packet.opcode, ==, PXED_TFTP_OP_WRQ);
}

static void
test_rrq_options(void)
{
	g_autoptr(GByteArray) p = packet_new(PXED_TFTP_OP_RRQ);
	PxedTftpPacket packet;

	packet_add(p, "f");
	packet_add(p, "octet");
	packet_add(p, "BlkSize");
	packet_add(p, "1468");
	packet_add(p, "tsize");
	packet_add(p, "0");
	packet_add(p, "timeout");
	packet_add(p, "3");
	packet_add(p, "windowsize");
	packet_add(p, "16");
	packet_add(p, "multicast");
	packet_add(p, "");
	g_assert_true(parse(p, &packet, NULL));
	g_assert_cmpuint(packet.options.present, ==,
			 PXED_TFTP_OPT_BLKSIZE | PXED_TFTP_OPT_TSIZE | PXED_TFTP_OPT_TIMEOUT |
				 PXED_TFTP_OPT_WINDOWSIZE);
	g_assert_cmpuint(packet.options.blksize, ==, 1468);
	g_assert_cmpuint(packet.options.tsize, ==, 0);
	g_assert_cmpuint(packet.options.timeout, ==, 3);
	g_assert_cmpuint(packet.options.windowsize, ==, 16);
	g_assert_cmpuint(packet.options.n_options, ==, 5);
	g_assert_cmpuint(packet.options.n_ignored, ==, 1);
}

static void
test_truncated(void)
{
	static const struct {
		const char *what;
		const char *bytes;
		gsize len;
	} cases[] = {
		{"empty", "", 0},
		{"one byte", "\0", 1},
		{"opcode only", "\0\1", 2},
		{"file name without NUL", "\0\1abc", 5},
		{"no mode", "\0\1abc\0", 6},
		{"mode without NUL", "\0\1abc\0oct", 9},
		{"DATA without block", "\0\3\0", 3},
		{"ACK without block", "\0\4", 2},
		{"ACK with half a block", "\0\4\0", 3},
		{"ERROR without code", "\0\5\0", 3},
		{"OACK without options", "\0\6", 2},
		{"OACK with a name only", "\0\6blksize\0", 10},
	};

	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(GError) error = NULL;
		PxedTftpPacket packet;
		g_test_message("%s", cases[i].what);
		g_assert_false(pxed_tftp_packet_parse((const guint8 *)cases[i].bytes, cases[i].len,
						      &packet, &error));
		g_assert_error(error, PXED_TFTP_ERROR, PXED_TFTP_ERROR_MALFORMED);
	}
}

static void
test_every_truncation(void)
{
	g_autoptr(GByteArray) p = packet_new(PXED_TFTP_OP_RRQ);

	packet_add(p, "boot/x86_64/vmlinuz");
	packet_add(p, "octet");
	packet_add(p, "blksize");
	packet_add(p, "1432");
	packet_add(p, "windowsize");
	packet_add(p, "8");
	/* Any prefix parses or fails cleanly; a prefix that keeps name and mode
	 * parses with the options that are whole. */
	for (guint len = 0; len <= p->len; len++) {
		PxedTftpPacket packet;
		gboolean ok = pxed_tftp_packet_parse(p->data, len, &packet, NULL);
		g_assert_cmpint(ok, ==, len >= 2 + 20 + 6);
		if (ok && len < p->len)
			g_assert_cmpuint(packet.options.windowsize, ==, 0);
	}
}

static void
test_empty_filename(void)
{
	g_autoptr(GByteArray) p = packet_new(PXED_TFTP_OP_RRQ);
	g_autoptr(GError) error = NULL;
	PxedTftpPacket packet;

	packet_add(p, "");
	packet_add(p, "octet");
	g_assert_false(parse(p, &packet, &error));
	g_assert_error(error, PXED_TFTP_ERROR, PXED_TFTP_ERROR_MALFORMED);
	g_assert_nonnull(strstr(error->message, "empty"));
}

static void
test_bad_mode(void)
{
	const char *modes[] = {"mail", "binary", "", "octet ", "octe", "\x01\xff"};

	for (guint i = 0; i < G_N_ELEMENTS(modes); i++) {
		g_autoptr(GByteArray) p = packet_new(PXED_TFTP_OP_RRQ);
		g_autoptr(GError) error = NULL;
		PxedTftpPacket packet;

		packet_add(p, "file");
		packet_add(p, modes[i]);
		g_assert_false(parse(p, &packet, &error));
		g_assert_error(error, PXED_TFTP_ERROR, PXED_TFTP_ERROR_MODE);
	}
}

static void
test_many_options(void)
{
	g_autoptr(GByteArray) p = packet_new(PXED_TFTP_OP_RRQ);
	PxedTftpPacket packet;
	gint64 start;

	packet_add(p, "f");
	packet_add(p, "octet");
	for (guint i = 0; i < 10000; i++) {
		char name[16];
		g_snprintf(name, sizeof(name), "x%u", i);
		packet_add(p, name);
		packet_add(p, "1");
	}
	packet_add(p, "blksize");
	packet_add(p, "1024");
	/* 10 000 options do not fit the largest datagram: the codec sees the
	 * packet anyway (a fuzzer may hand it anything) and stays linear. */
	g_assert_cmpuint(p->len, >, PXED_TFTP_MAX_PACKET);
	start = g_get_monotonic_time();
	g_assert_false(parse(p, &packet, NULL));

	/* 10 000 short options do fit: all walked, the known ones found. */
	g_byte_array_set_size(p, 2);
	packet_add(p, "f");
	packet_add(p, "octet");
	for (guint i = 0; i < 10000; i++) {
		packet_add(p, "a");
		packet_add(p, "1");
	}
	packet_add(p, "BLKSIZE");
	packet_add(p, "1024");
	packet_add(p, "blksize");
	packet_add(p, "2048");
	g_assert_cmpuint(p->len, <=, PXED_TFTP_MAX_PACKET);
	g_assert_true(parse(p, &packet, NULL));
	g_assert_cmpuint(packet.options.n_options, ==, 10002);
	g_assert_cmpuint(packet.options.blksize, ==, 1024); /* the first one wins */
	g_assert_cmpuint(packet.options.n_ignored, ==, 10001);
	g_assert_cmpint(g_get_monotonic_time() - start, <, G_USEC_PER_SEC);
}

static void
test_option_values(void)
{
	static const struct {
		const char *name;
		const char *value;
		guint32 flag;
		gboolean taken; /* FALSE: the option is ignored */
		guint64 expect;
	} cases[] = {
		{"blksize", "7", PXED_TFTP_OPT_BLKSIZE, FALSE, 0},
		{"blksize", "0", PXED_TFTP_OPT_BLKSIZE, FALSE, 0},
		{"blksize", "8", PXED_TFTP_OPT_BLKSIZE, TRUE, 8},
		{"blksize", "0008", PXED_TFTP_OPT_BLKSIZE, TRUE, 8},
		{"blksize", "65464", PXED_TFTP_OPT_BLKSIZE, TRUE, 65464},
		{"blksize", "65465", PXED_TFTP_OPT_BLKSIZE, TRUE, 65464},
		{"blksize", "4294967296", PXED_TFTP_OPT_BLKSIZE, TRUE, 65464},
		{"blksize", "99999999999999999999999", PXED_TFTP_OPT_BLKSIZE, FALSE, 0},
		{"blksize", "", PXED_TFTP_OPT_BLKSIZE, FALSE, 0},
		{"blksize", "+512", PXED_TFTP_OPT_BLKSIZE, FALSE, 0},
		{"blksize", " 512", PXED_TFTP_OPT_BLKSIZE, FALSE, 0},
		{"blksize", "512 ", PXED_TFTP_OPT_BLKSIZE, FALSE, 0},
		{"blksize", "-1", PXED_TFTP_OPT_BLKSIZE, FALSE, 0},
		{"blksize", "0x200", PXED_TFTP_OPT_BLKSIZE, FALSE, 0},
		{"blksize", "1e3", PXED_TFTP_OPT_BLKSIZE, FALSE, 0},
		{"blksize", "\xff\xfe", PXED_TFTP_OPT_BLKSIZE, FALSE, 0},
		{"timeout", "0", PXED_TFTP_OPT_TIMEOUT, FALSE, 0},
		{"timeout", "1", PXED_TFTP_OPT_TIMEOUT, TRUE, 1},
		{"timeout", "255", PXED_TFTP_OPT_TIMEOUT, TRUE, 255},
		{"timeout", "256", PXED_TFTP_OPT_TIMEOUT, FALSE, 0},
		{"tsize", "0", PXED_TFTP_OPT_TSIZE, TRUE, 0},
		{"tsize", "18446744073709551615", PXED_TFTP_OPT_TSIZE, TRUE, G_MAXUINT64},
		{"tsize", "18446744073709551616", PXED_TFTP_OPT_TSIZE, FALSE, 0},
		{"windowsize", "0", PXED_TFTP_OPT_WINDOWSIZE, FALSE, 0},
		{"windowsize", "1", PXED_TFTP_OPT_WINDOWSIZE, TRUE, 1},
		{"windowsize", "65535", PXED_TFTP_OPT_WINDOWSIZE, TRUE, 65535},
		{"windowsize", "65536", PXED_TFTP_OPT_WINDOWSIZE, TRUE, 65535},
	};

	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(GByteArray) p = packet_new(PXED_TFTP_OP_RRQ);
		PxedTftpPacket packet;
		guint64 got = 0;

		packet_add(p, "f");
		packet_add(p, "octet");
		packet_add(p, cases[i].name);
		packet_add(p, cases[i].value);
		g_autofree char *shown = g_strescape(cases[i].value, NULL);

		g_test_message("%s=\"%s\"", cases[i].name, shown);
		g_assert_true(parse(p, &packet, NULL));
		g_assert_cmpuint(packet.options.n_options, ==, 1);
		if (!cases[i].taken) {
			g_assert_cmpuint(packet.options.present, ==, 0);
			g_assert_cmpuint(packet.options.n_ignored, ==, 1);
			continue;
		}
		g_assert_cmpuint(packet.options.present, ==, cases[i].flag);
		switch (cases[i].flag) {
		case PXED_TFTP_OPT_BLKSIZE:
			got = packet.options.blksize;
			break;
		case PXED_TFTP_OPT_TIMEOUT:
			got = packet.options.timeout;
			break;
		case PXED_TFTP_OPT_TSIZE:
			got = packet.options.tsize;
			break;
		case PXED_TFTP_OPT_WINDOWSIZE:
			got = packet.options.windowsize;
			break;
		}
		g_assert_cmpuint(got, ==, cases[i].expect);
	}
}

static void
test_sloppy_tails(void)
{
	g_autoptr(GByteArray) p = packet_new(PXED_TFTP_OP_RRQ);
	PxedTftpPacket packet;
	static const guint8 zeros[32] = {0};

	/* NUL padding after the mode, as some PXE ROMs send. */
	packet_add(p, "f");
	packet_add(p, "octet");
	packet_add_raw(p, zeros, sizeof(zeros));
	g_assert_true(parse(p, &packet, NULL));
	g_assert_cmpuint(packet.options.n_options, ==, 0);

	/* An option name without its value; an unterminated value. */
	g_byte_array_set_size(p, 2);
	packet_add(p, "f");
	packet_add(p, "octet");
	packet_add(p, "windowsize");
	packet_add(p, "4");
	packet_add(p, "blksize");
	g_assert_true(parse(p, &packet, NULL));
	g_assert_cmpuint(packet.options.present, ==, PXED_TFTP_OPT_WINDOWSIZE);
	packet_add_raw(p, "1024", 4);
	g_assert_true(parse(p, &packet, NULL));
	g_assert_cmpuint(packet.options.present, ==, PXED_TFTP_OPT_WINDOWSIZE);
	g_assert_cmpuint(packet.options.n_options, ==, 1);
}

static void
test_oversized(void)
{
	g_autofree guint8 *buf = g_malloc0(PXED_TFTP_MAX_PACKET + 2);
	g_autoptr(GError) error = NULL;
	PxedTftpPacket packet;

	buf[1] = PXED_TFTP_OP_DATA;
	g_assert_true(pxed_tftp_packet_parse(buf, PXED_TFTP_MAX_PACKET, &packet, NULL));
	g_assert_cmpuint(packet.data_len, ==, PXED_TFTP_MAX_BLKSIZE);
	g_assert_false(pxed_tftp_packet_parse(buf, PXED_TFTP_MAX_PACKET + 1, &packet, &error));
	g_assert_error(error, PXED_TFTP_ERROR, PXED_TFTP_ERROR_MALFORMED);
}

static void
test_data_ack_error(void)
{
	PxedTftpPacket packet;

	/* A zero-length DATA is the final block of a file whose size is a
	 * multiple of the block size: valid. */
	g_assert_true(pxed_tftp_packet_parse((const guint8 *)"\0\3\xff\xfe", 4, &packet, NULL));
	g_assert_cmpint(packet.opcode, ==, PXED_TFTP_OP_DATA);
	g_assert_cmpuint(packet.block, ==, 0xfffe);
	g_assert_cmpuint(packet.data_len, ==, 0);

	g_assert_true(pxed_tftp_packet_parse((const guint8 *)"\0\4\1\2", 4, &packet, NULL));
	g_assert_cmpint(packet.opcode, ==, PXED_TFTP_OP_ACK);
	g_assert_cmpuint(packet.block, ==, 0x102);
	/* Padding after an ACK's block number is tolerated. */
	g_assert_true(pxed_tftp_packet_parse((const guint8 *)"\0\4\0\7\0\0\0\0", 8, &packet, NULL));
	g_assert_cmpuint(packet.block, ==, 7);

	g_assert_true(pxed_tftp_packet_parse((const guint8 *)"\0\5\0\1nope\0", 10, &packet, NULL));
	g_assert_cmpuint(packet.error_code, ==, 1);
	g_assert_cmpuint(packet.error_message_len, ==, 4);
	g_assert_cmpmem(packet.error_message, 4, "nope", 4);
	/* Without its NUL the message ends with the packet. */
	g_assert_true(pxed_tftp_packet_parse((const guint8 *)"\0\5\0\10abc", 7, &packet, NULL));
	g_assert_cmpuint(packet.error_code, ==, 8);
	g_assert_cmpuint(packet.error_message_len, ==, 3);
	g_assert_true(pxed_tftp_packet_parse((const guint8 *)"\0\5\0\0", 4, &packet, NULL));
	g_assert_cmpuint(packet.error_message_len, ==, 0);
}

static void
test_wrong_opcodes(void)
{
	const guint16 opcodes[] = {0, 7, 8, 0x100, 0x301, 0xffff};

	for (guint i = 0; i < G_N_ELEMENTS(opcodes); i++) {
		guint8 buf[8] = {(guint8)(opcodes[i] >> 8),
				 (guint8)(opcodes[i] & 0xff),
				 'a',
				 0,
				 'o',
				 'c',
				 't',
				 0};
		g_autoptr(GError) error = NULL;
		PxedTftpPacket packet;
		g_assert_false(pxed_tftp_packet_parse(buf, sizeof(buf), &packet, &error));
		g_assert_error(error, PXED_TFTP_ERROR, PXED_TFTP_ERROR_OPCODE);
	}
}

static void
test_build(void)
{
	guint8 buf[600];
	PxedTftpPacket packet;
	PxedTftpOptions options = {0};
	g_autofree char *longmsg = g_strnfill(1000, 'x');
	gsize len;

	len = pxed_tftp_packet_build_ack(buf, sizeof(buf), 65535);
	g_assert_cmpmem(buf, len, "\0\4\xff\xff", 4);
	g_assert_cmpuint(pxed_tftp_packet_build_ack(buf, 3, 1), ==, 0);

	len = pxed_tftp_packet_build_error(buf, sizeof(buf), 5, "Unknown transfer ID");
	g_assert_true(pxed_tftp_packet_parse(buf, len, &packet, NULL));
	g_assert_cmpuint(packet.error_code, ==, 5);
	g_assert_cmpuint(buf[len - 1], ==, 0);
	/* A message longer than the room is cut, the packet still NUL-ended. */
	len = pxed_tftp_packet_build_error(buf, 516, 0, longmsg);
	g_assert_cmpuint(len, ==, 516);
	g_assert_cmpuint(buf[515], ==, 0);
	g_assert_cmpuint(pxed_tftp_packet_build_error(buf, 4, 0, "x"), ==, 0);

	options.present = PXED_TFTP_OPT_BLKSIZE | PXED_TFTP_OPT_TSIZE | PXED_TFTP_OPT_WINDOWSIZE |
			  PXED_TFTP_OPT_TIMEOUT;
	options.blksize = 1468;
	options.tsize = G_GUINT64_CONSTANT(42949672960);
	options.windowsize = 16;
	options.timeout = 9;
	len = pxed_tftp_packet_build_oack(buf, sizeof(buf), &options);
	g_assert_true(pxed_tftp_packet_parse(buf, len, &packet, NULL));
	g_assert_cmpint(packet.opcode, ==, PXED_TFTP_OP_OACK);
	g_assert_cmpuint(packet.options.present, ==, options.present);
	g_assert_cmpuint(packet.options.blksize, ==, 1468);
	g_assert_cmpuint(packet.options.tsize, ==, G_GUINT64_CONSTANT(42949672960));
	g_assert_cmpuint(packet.options.windowsize, ==, 16);
	g_assert_cmpuint(packet.options.timeout, ==, 9);
	g_assert_cmpuint(pxed_tftp_packet_build_oack(buf, 10, &options), ==, 0);

	{
		const char *extra[] = {"rollover", "0", NULL};
		len = pxed_tftp_packet_build_request(buf, sizeof(buf), PXED_TFTP_OP_RRQ, "a.bin",
						     "octet", &options, extra);
		g_assert_true(pxed_tftp_packet_parse(buf, len, &packet, NULL));
		g_assert_cmpstr(packet.filename, ==, "a.bin");
		g_assert_cmpuint(packet.options.n_options, ==, 5);
		g_assert_cmpuint(packet.options.n_ignored, ==, 1);
	}
}

static void
test_random_bytes(void)
{
	guint8 buf[600];

	/* Whatever arrives, the parser answers and reads nothing outside. */
	for (guint i = 0; i < 200000; i++) {
		gsize len = g_test_rand_int_range(0, sizeof(buf));
		PxedTftpPacket packet;
		for (gsize j = 0; j < len; j++)
			buf[j] = (guint8)g_test_rand_int_range(0, 8) == 0
					 ? 0
					 : (guint8)g_test_rand_int_range(0, 256);
		if (len >= 2 && g_test_rand_bit()) {
			buf[0] = 0;
			buf[1] = (guint8)g_test_rand_int_range(0, 8);
		}
		if (pxed_tftp_packet_parse(buf, len, &packet, NULL) &&
		    (packet.opcode == PXED_TFTP_OP_RRQ || packet.opcode == PXED_TFTP_OP_WRQ)) {
			g_assert_cmpuint(strlen(packet.filename), <, len);
			g_assert_cmpuint(strlen(packet.filename), >, 0);
		}
	}
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/tftp/packet/rrq", test_rrq_basic);
	g_test_add_func("/tftp/packet/options", test_rrq_options);
	g_test_add_func("/tftp/packet/truncated", test_truncated);
	g_test_add_func("/tftp/packet/every-truncation", test_every_truncation);
	g_test_add_func("/tftp/packet/empty-filename", test_empty_filename);
	g_test_add_func("/tftp/packet/bad-mode", test_bad_mode);
	g_test_add_func("/tftp/packet/10000-options", test_many_options);
	g_test_add_func("/tftp/packet/option-values", test_option_values);
	g_test_add_func("/tftp/packet/sloppy-tails", test_sloppy_tails);
	g_test_add_func("/tftp/packet/oversized", test_oversized);
	g_test_add_func("/tftp/packet/data-ack-error", test_data_ack_error);
	g_test_add_func("/tftp/packet/wrong-opcodes", test_wrong_opcodes);
	g_test_add_func("/tftp/packet/build", test_build);
	g_test_add_func("/tftp/packet/random-bytes", test_random_bytes);
	return g_test_run();
}
