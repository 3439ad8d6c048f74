/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * The transfer state machine with a fake clock and a fake wire: every packet
 * the session sends is captured, and the test plays the client — acking,
 * losing, duplicating, going silent.
 */

#include <errno.h>
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#include "tftp-session.h"

#define MS 1000

typedef struct {
	GPtrArray *sent; /* GBytes, in order */
	gint capacity;	 /* datagrams the socket still takes; -1: unlimited */
	gboolean fail;
	guint calls;
	guint8 *scratch;
	gsize scratch_size;
} Wire;

static gssize
wire_transmit(gpointer user_data, const guint8 *buf, gsize stride, guint count, gsize len,
	      GError **error)
{
	Wire *w = user_data;

	w->calls++;
	if (w->fail) {
		g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_FAILED, "wire cut");
		return -1;
	}
	for (guint i = 0; i < count; i++) {
		gsize start = i * stride;
		gsize end = i + 1 == count ? len : start + stride;
		if (w->capacity == 0)
			return i;
		if (w->capacity > 0)
			w->capacity--;
		g_assert_cmpuint(end, <=, w->scratch_size);
		g_ptr_array_add(w->sent, g_bytes_new(buf + start, end - start));
	}
	return count;
}

static Wire *
wire_new(void)
{
	Wire *w = g_new0(Wire, 1);
	w->sent = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
	w->capacity = -1;
	w->scratch_size = 256 * 1024;
	w->scratch = g_malloc(w->scratch_size);
	return w;
}

static void
wire_free(Wire *w)
{
	g_ptr_array_unref(w->sent);
	g_free(w->scratch);
	g_free(w);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC(Wire, wire_free)

static guint
wire_count(Wire *w)
{
	return w->sent->len;
}

/* Removes and returns what was sent so far. */
static GPtrArray *
wire_take(Wire *w)
{
	GPtrArray *out = w->sent;
	w->sent = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
	return out;
}

static guint16
packet_opcode(GBytes *b)
{
	const guint8 *p = g_bytes_get_data(b, NULL);
	return (guint16)((p[0] << 8) | p[1]);
}

static guint16
packet_block(GBytes *b)
{
	const guint8 *p = g_bytes_get_data(b, NULL);
	g_assert_cmpuint(packet_opcode(b), ==, PXED_TFTP_OP_DATA);
	return (guint16)((p[2] << 8) | p[3]);
}

static gsize
packet_data(GBytes *b, const guint8 **data)
{
	gsize len;
	const guint8 *p = g_bytes_get_data(b, &len);
	*data = p + 4;
	return len - 4;
}

static PxedTftpSessionState
ack(PxedTftpSession *s, guint16 block, gint64 now)
{
	guint8 buf[4];
	gsize len = pxed_tftp_packet_build_ack(buf, sizeof(buf), block);
	return pxed_tftp_session_receive(s, buf, len, now);
}

static PxedFile *
pattern_file(gsize size)
{
	g_autofree guint8 *data = g_malloc(size + 1);
	for (gsize i = 0; i < size; i++)
		data[i] = (guint8)((i * 7 + i / 251) & 0xff);
	return pxed_file_new_for_data(data, size);
}

static PxedTftpSessionParams
params_default(void)
{
	PxedTftpSessionParams p = {
		.mode = PXED_TFTP_MODE_OCTET,
		.blksize = 512,
		.windowsize = 1,
		.timeout_us = G_USEC_PER_SEC,
		.retries = 3,
		/* The peer is trusted from the start: the tests of windows and
		 * losses start with a window; those of the bound set it. */
		.unacked_retries = PXED_TFTP_UNACKED_UNBOUNDED,
	};
	return p;
}

static PxedTftpSession *
session_new(const PxedTftpSessionParams *p, PxedFile *file, Wire *w)
{
	return pxed_tftp_session_new(p, file, w->scratch, w->scratch_size, wire_transmit, w);
}

/* Plays a perfect lock-step client; returns the bytes received. */
static GByteArray *
run_lockstep(PxedTftpSession *s, Wire *w, gint64 *now)
{
	GByteArray *got = g_byte_array_new();
	guint16 expect = 1;

	g_assert_cmpint(pxed_tftp_session_start(s, *now), ==, PXED_TFTP_SESSION_RUNNING);
	while (pxed_tftp_session_get_state(s) == PXED_TFTP_SESSION_RUNNING) {
		g_autoptr(GPtrArray) pkts = wire_take(w);
		const guint8 *data;
		gsize len;
		g_assert_cmpuint(pkts->len, ==, 1);
		g_assert_cmpuint(packet_block(pkts->pdata[0]), ==, expect);
		len = packet_data(pkts->pdata[0], &data);
		g_byte_array_append(got, data, (guint)len);
		*now += 100;
		ack(s, expect, *now);
		expect++;
	}
	return got;
}

static void
assert_pattern(GByteArray *got, gsize size)
{
	g_autoptr(PxedFile) file = pattern_file(size);
	GBytes *want = pxed_file_get_bytes(file);
	g_assert_cmpmem(got->data, got->len, g_bytes_get_data(want, NULL), size);
}

static void
test_lockstep(void)
{
	const gsize sizes[] = {0, 1, 511, 512, 513, 1024, 5000};

	for (guint i = 0; i < G_N_ELEMENTS(sizes); i++) {
		g_autoptr(Wire) w = wire_new();
		g_autoptr(PxedFile) file = pattern_file(sizes[i]);
		PxedTftpSessionParams p = params_default();
		g_autoptr(PxedTftpSession) s = session_new(&p, file, w);
		g_autoptr(GByteArray) got = NULL;
		PxedTftpSessionStats stats;
		gint64 now = 1000;

		got = run_lockstep(s, w, &now);
		g_assert_cmpint(pxed_tftp_session_get_state(s), ==, PXED_TFTP_SESSION_COMPLETE);
		assert_pattern(got, sizes[i]);
		/* RFC 1350 §6: a multiple of 512 ends with an empty block. */
		g_assert_cmpuint(pxed_tftp_session_get_last_block(s), ==, sizes[i] / 512 + 1);
		pxed_tftp_session_get_stats(s, &stats);
		g_assert_cmpuint(stats.bytes, ==, sizes[i]);
		g_assert_cmpuint(stats.retransmits, ==, 0);
		g_assert_cmpint(pxed_tftp_session_get_deadline(s), ==, -1);
	}
}

static void
test_oack(void)
{
	g_autoptr(Wire) w = wire_new();
	g_autoptr(PxedFile) file = pattern_file(3000);
	PxedTftpSessionParams p = params_default();
	g_autoptr(PxedTftpSession) s = NULL;
	g_autoptr(GPtrArray) pkts = NULL;
	PxedTftpPacket packet;
	gsize len;
	const guint8 *data;
	gint64 now = 1000;

	p.blksize = 1024;
	p.send_oack = TRUE;
	p.oack.present = PXED_TFTP_OPT_BLKSIZE | PXED_TFTP_OPT_TSIZE;
	p.oack.blksize = 1024;
	p.oack.tsize = 3000;
	s = session_new(&p, file, w);
	pxed_tftp_session_start(s, now);
	pkts = wire_take(w);
	g_assert_cmpuint(pkts->len, ==, 1);
	data = g_bytes_get_data(pkts->pdata[0], &len);
	g_assert_true(pxed_tftp_packet_parse(data, len, &packet, NULL));
	g_assert_cmpint(packet.opcode, ==, PXED_TFTP_OP_OACK);
	g_assert_cmpuint(packet.options.blksize, ==, 1024);
	g_assert_cmpuint(packet.options.tsize, ==, 3000);

	/* RFC 2347: data waits for ACK 0; other ACKs change nothing. */
	ack(s, 1, now + 10);
	ack(s, 5, now + 10);
	g_assert_cmpuint(wire_count(w), ==, 0);
	ack(s, 0, now + 20);
	g_clear_pointer(&pkts, g_ptr_array_unref);
	pkts = wire_take(w);
	g_assert_cmpuint(pkts->len, ==, 1);
	g_assert_cmpuint(packet_block(pkts->pdata[0]), ==, 1);
	g_assert_cmpuint(packet_data(pkts->pdata[0], &data), ==, 1024);
	/* A late second ACK 0 (the client's duplicate) is no reason to resend. */
	ack(s, 0, now + 30);
	g_assert_cmpuint(wire_count(w), ==, 0);
	ack(s, 1, now + 40);
	ack(s, 2, now + 50);
	ack(s, 3, now + 60);
	g_assert_cmpint(pxed_tftp_session_get_state(s), ==, PXED_TFTP_SESSION_COMPLETE);
}

static void
test_oack_refused(void)
{
	g_autoptr(Wire) w = wire_new();
	g_autoptr(PxedFile) file = pattern_file(100);
	PxedTftpSessionParams p = params_default();
	g_autoptr(PxedTftpSession) s = NULL;
	const guint8 err[] = "\0\5\0\10option refused";

	p.send_oack = TRUE;
	p.oack.present = PXED_TFTP_OPT_TSIZE;
	p.oack.tsize = 100;
	s = session_new(&p, file, w);
	pxed_tftp_session_start(s, 0);
	g_assert_cmpint(pxed_tftp_session_receive(s, err, sizeof(err), 10), ==,
			PXED_TFTP_SESSION_FAILED);
	g_assert_error((GError *)pxed_tftp_session_get_error(s), PXED_TFTP_ERROR,
		       PXED_TFTP_ERROR_PEER);
	g_assert_nonnull(strstr(pxed_tftp_session_get_error(s)->message, "error 8"));
	/* RFC 1350 §7: an ERROR is not answered. */
	g_assert_cmpuint(wire_count(w), ==, 1);
}

static void
test_duplicate_ack(void)
{
	g_autoptr(Wire) w = wire_new();
	g_autoptr(PxedFile) file = pattern_file(512 * 20);
	PxedTftpSessionParams p = params_default();
	g_autoptr(PxedTftpSession) s = session_new(&p, file, w);
	PxedTftpSessionStats stats;
	gint64 now = 0;

	pxed_tftp_session_start(s, now);
	g_assert_cmpuint(wire_count(w), ==, 1);
	/* Each ACK arrives twice: the second must not send anything (RFC 1123
	 * §4.2.3.1, the sorcerer's apprentice). */
	for (guint16 b = 1; b <= 21; b++) {
		now += 200;
		ack(s, b, now);
		ack(s, b, now + 1);
		ack(s, b, now + 2);
		if (b < 21)
			g_assert_cmpuint(wire_count(w), ==, b + 1);
	}
	g_assert_cmpint(pxed_tftp_session_get_state(s), ==, PXED_TFTP_SESSION_COMPLETE);
	g_assert_cmpuint(wire_count(w), ==, 21);
	pxed_tftp_session_get_stats(s, &stats);
	g_assert_cmpuint(stats.retransmits, ==, 0);
	g_assert_cmpuint(stats.duplicate_acks, ==, 40);
}

static void
test_timeout_backoff(void)
{
	g_autoptr(Wire) w = wire_new();
	g_autoptr(PxedFile) file = pattern_file(4000);
	PxedTftpSessionParams p = params_default();
	g_autoptr(PxedTftpSession) s = NULL;
	g_autoptr(GPtrArray) pkts = NULL;
	PxedTftpSessionStats stats;
	gint64 now = 0;
	gint64 last_wait = 0;
	guint sends = 1;

	p.retries = 3;
	p.timeout_us = 800 * MS;
	s = session_new(&p, file, w);
	pxed_tftp_session_start(s, now);
	/* Measure a round trip of 1 ms so that the timer is adaptive. */
	now += MS;
	ack(s, 1, now);
	g_assert_cmpuint(wire_count(w), ==, 2);
	pxed_tftp_session_get_stats(s, &stats);
	g_assert_cmpint(stats.srtt_us, ==, MS);
	g_assert_cmpint(stats.rto_us, ==, 20 * MS); /* the floor */

	/* The client goes silent: the same block again and again, the wait
	 * doubling up to the timeout, then three more at the full timeout. */
	while (pxed_tftp_session_get_state(s) == PXED_TFTP_SESSION_RUNNING) {
		gint64 deadline = pxed_tftp_session_get_deadline(s);
		g_assert_cmpint(deadline, >, now);
		g_assert_cmpint(deadline - now, >=, last_wait);
		g_assert_cmpint(deadline - now, <=, p.timeout_us);
		last_wait = deadline - now;
		/* Early is not yet. */
		pxed_tftp_session_timer(s, deadline - 1);
		g_assert_cmpuint(wire_count(w), ==, sends + 1);
		now = deadline;
		pxed_tftp_session_timer(s, now);
		if (pxed_tftp_session_get_state(s) == PXED_TFTP_SESSION_RUNNING)
			sends++;
		g_assert_cmpuint(sends, <, 20);
	}
	g_assert_cmpint(pxed_tftp_session_get_state(s), ==, PXED_TFTP_SESSION_FAILED);
	g_assert_error((GError *)pxed_tftp_session_get_error(s), PXED_TFTP_ERROR,
		       PXED_TFTP_ERROR_TIMEOUT);
	pkts = wire_take(w);
	/* 20, 40, 80, 160, 320, 640 ms, then 800 ms three times: 9 resends. */
	g_assert_cmpuint(pkts->len, ==, 2 + 9);
	for (guint i = 1; i < pkts->len; i++)
		g_assert_cmpuint(packet_block(pkts->pdata[i]), ==, 2);
	pxed_tftp_session_get_stats(s, &stats);
	g_assert_cmpuint(stats.retransmits, ==, 9);
	g_assert_cmpint(pxed_tftp_session_get_deadline(s), ==, -1);
}

static void
test_lost_ack_recovers(void)
{
	g_autoptr(Wire) w = wire_new();
	g_autoptr(PxedFile) file = pattern_file(2000);
	PxedTftpSessionParams p = params_default();
	g_autoptr(PxedTftpSession) s = session_new(&p, file, w);
	g_autoptr(GPtrArray) pkts = NULL;
	gint64 now = 0;

	pxed_tftp_session_start(s, now);
	ack(s, 1, now += MS);
	/* ACK 2 is lost: the timer resends block 2, the client acks it again
	 * (it already had it), the transfer goes on. */
	now = pxed_tftp_session_get_deadline(s);
	pxed_tftp_session_timer(s, now);
	ack(s, 2, now += MS);
	ack(s, 3, now += MS);
	ack(s, 4, now += MS);
	g_assert_cmpint(pxed_tftp_session_get_state(s), ==, PXED_TFTP_SESSION_COMPLETE);
	pkts = wire_take(w);
	g_assert_cmpuint(pkts->len, ==, 5);
	g_assert_cmpuint(packet_block(pkts->pdata[1]), ==, 2);
	g_assert_cmpuint(packet_block(pkts->pdata[2]), ==, 2);
	g_assert_cmpuint(packet_block(pkts->pdata[3]), ==, 3);
}

/* A windowed client: receives what the wire carries, keeps what is in
 * order, and acks as RFC 7440 §4 says — at the end of its window, and at
 * once (the last in-order block) when a block arrives out of order. */
typedef struct {
	guint windowsize;
	guint64 expect; /* next block it wants, 64-bit */
	guint since_ack;
	GByteArray *data;
	gboolean gap_reported;
	guint acks;
} Client;

/* Delivers the wire's packets to the client, dropping those @drop names
 * (by index in this delivery); returns ACKs to send (block numbers). */
static GArray *
client_deliver(Client *c, GPtrArray *pkts, const guint *drop, guint n_drop, gboolean *done)
{
	GArray *acks = g_array_new(FALSE, FALSE, sizeof(guint16));

	for (guint i = 0; i < pkts->len; i++) {
		const guint8 *data;
		gsize len;
		gboolean dropped = FALSE;
		guint16 block;
		for (guint j = 0; j < n_drop; j++)
			dropped |= drop[j] == i;
		if (dropped)
			continue;
		block = packet_block(pkts->pdata[i]);
		len = packet_data(pkts->pdata[i], &data);
		if (block != (guint16)(c->expect & 0xffff)) {
			if (!c->gap_reported) {
				guint16 last = (guint16)((c->expect - 1) & 0xffff);
				g_array_append_val(acks, last);
				c->gap_reported = TRUE;
				c->since_ack = 0;
			}
			continue;
		}
		g_byte_array_append(c->data, data, (guint)len);
		c->expect++;
		c->since_ack++;
		c->gap_reported = FALSE;
		if (c->since_ack == c->windowsize || len < 512) {
			g_array_append_val(acks, block);
			c->since_ack = 0;
			if (len < 512)
				*done = TRUE;
		}
	}
	return acks;
}

static void
test_window(void)
{
	g_autoptr(Wire) w = wire_new();
	g_autoptr(PxedFile) file = pattern_file(512 * 40 + 100);
	PxedTftpSessionParams p = params_default();
	g_autoptr(PxedTftpSession) s = NULL;
	g_autoptr(GPtrArray) pkts = NULL;
	Client c = {.windowsize = 8, .expect = 1, .data = g_byte_array_new()};
	gboolean done = FALSE;
	gint64 now = 0;
	guint rounds = 0;

	p.windowsize = 8;
	s = session_new(&p, file, w);
	pxed_tftp_session_start(s, now);
	/* RFC 7440 §4: eight blocks, then wait. */
	pkts = wire_take(w);
	g_assert_cmpuint(pkts->len, ==, 8);
	for (guint i = 0; i < 8; i++)
		g_assert_cmpuint(packet_block(pkts->pdata[i]), ==, i + 1);
	while (!done) {
		g_autoptr(GArray) acks = client_deliver(&c, pkts, NULL, 0, &done);
		g_assert_cmpuint(acks->len, ==, 1);
		now += MS;
		ack(s, g_array_index(acks, guint16, 0), now);
		g_clear_pointer(&pkts, g_ptr_array_unref);
		pkts = wire_take(w);
		g_assert_cmpuint(++rounds, <, 10);
	}
	g_assert_cmpint(pxed_tftp_session_get_state(s), ==, PXED_TFTP_SESSION_COMPLETE);
	g_assert_cmpuint(rounds, ==, 6); /* 41 blocks: 8+8+8+8+8+1 */
	assert_pattern(c.data, 512 * 40 + 100);
	g_byte_array_unref(c.data);
}

static void
test_window_loss_shrinks_and_grows(void)
{
	g_autoptr(Wire) w = wire_new();
	g_autoptr(PxedFile) file = pattern_file(512 * 3000);
	PxedTftpSessionParams p = params_default();
	g_autoptr(PxedTftpSession) s = NULL;
	Client c = {.windowsize = 16, .expect = 1, .data = g_byte_array_new()};
	PxedTftpSessionStats stats;
	gboolean done = FALSE;
	gint64 now = 0;
	guint round = 0;
	guint cwnd_after_loss = 0;
	guint cwnd_before_second = 0;

	p.windowsize = 16;
	s = session_new(&p, file, w);
	pxed_tftp_session_start(s, now);
	while (!done) {
		g_autoptr(GPtrArray) pkts = wire_take(w);
		g_autoptr(GArray) acks = NULL;
		const guint drop[] = {5};
		gboolean lossy;

		if (pkts->len == 0) {
			/* A paced burst or a retransmission is due. */
			gint64 deadline = pxed_tftp_session_get_deadline(s);
			g_assert_cmpint(deadline, >, 0);
			now = MAX(now, deadline);
			pxed_tftp_session_timer(s, now);
			continue;
		}
		round++;
		g_assert_cmpuint(round, <, 5000);
		/* A loss in a fresh window (round 3); later one in a fresh window
		 * and, right after, one in the blocks resent for it (40, 41). */
		lossy = (round == 3 || round == 40 || round == 41) && pkts->len > 5;
		if (round == 40) {
			pxed_tftp_session_get_stats(s, &stats);
			cwnd_before_second = stats.cwnd;
		}
		acks = client_deliver(&c, pkts, drop, lossy ? 1 : 0, &done);
		now += MS;
		for (guint i = 0; i < acks->len; i++)
			ack(s, g_array_index(acks, guint16, i), now);
		if (round == 3) {
			pxed_tftp_session_get_stats(s, &stats);
			cwnd_after_loss = stats.cwnd;
		}
	}
	g_assert_cmpint(pxed_tftp_session_get_state(s), ==, PXED_TFTP_SESSION_COMPLETE);
	assert_pattern(c.data, 512 * 3000);
	pxed_tftp_session_get_stats(s, &stats);
	/* The loss halved the burst at once; clean windows grew it back. */
	g_assert_cmpuint(cwnd_after_loss, ==, 8);
	g_assert_cmpuint(cwnd_before_second, ==, 16);
	g_assert_cmpuint(stats.cwnd, ==, 16);
	g_assert_cmpuint(stats.losses, >=, 2);
	/* The loss among resent blocks is the timer's: once. */
	g_assert_cmpuint(stats.timeouts, ==, 1);
	/* Only the lost windows' tails went twice (and the timer's resend). */
	g_assert_cmpuint(stats.retransmits, <=, 4 * 16);
	g_byte_array_unref(c.data);
}

static void
test_window_stale_ack_no_rewind(void)
{
	g_autoptr(Wire) w = wire_new();
	g_autoptr(PxedFile) file = pattern_file(512 * 100);
	PxedTftpSessionParams p = params_default();
	g_autoptr(PxedTftpSession) s = NULL;
	g_autoptr(GPtrArray) pkts = NULL;
	PxedTftpSessionStats stats;
	gint64 now = 0;

	p.windowsize = 8;
	s = session_new(&p, file, w);
	pxed_tftp_session_start(s, now);
	pkts = wire_take(w);
	g_assert_cmpuint(pkts->len, ==, 8);
	ack(s, 8, now += MS); /* window 1..8 fine: RTT known */
	g_clear_pointer(&pkts, g_ptr_array_unref);
	pkts = wire_take(w);
	g_assert_cmpuint(pkts->len, ==, 8); /* 9..16 */
	/* Tail lost, client silent: the timer resends from 9 in halves. */
	now = pxed_tftp_session_get_deadline(s);
	pxed_tftp_session_timer(s, now);
	g_clear_pointer(&pkts, g_ptr_array_unref);
	pkts = wire_take(w);
	g_assert_cmpuint(pkts->len, ==, 4);
	g_assert_cmpuint(packet_block(pkts->pdata[0]), ==, 9);
	/* The client had 9..11 from the first copy; the first resent 9 makes it
	 * report "11". Blocks 12.. of the second copy are on their way: no
	 * third copy, the window just ends 8 blocks after 11. */
	ack(s, 11, now + 100);
	g_assert_cmpuint(wire_count(w), ==, 0);
	pxed_tftp_session_get_stats(s, &stats);
	g_assert_cmpuint(stats.duplicate_acks, ==, 0);
	/* The paced rest follows: 13..19 (the window now ends at 19). */
	while (pxed_tftp_session_get_deadline(s) > 0 && wire_count(w) < 7) {
		now = pxed_tftp_session_get_deadline(s);
		pxed_tftp_session_timer(s, now);
	}
	g_clear_pointer(&pkts, g_ptr_array_unref);
	pkts = wire_take(w);
	g_assert_cmpuint(pkts->len, ==, 7);
	g_assert_cmpuint(packet_block(pkts->pdata[0]), ==, 13);
	g_assert_cmpuint(packet_block(pkts->pdata[6]), ==, 19);
	ack(s, 19, now + 100);
	g_clear_pointer(&pkts, g_ptr_array_unref);
	pkts = wire_take(w);
	g_assert_cmpuint(packet_block(pkts->pdata[0]), ==, 20);
	/* 9..16 went twice (the timer's resend), nothing three times. */
	pxed_tftp_session_get_stats(s, &stats);
	g_assert_cmpuint(stats.retransmits, ==, 8);
}

static void
test_window_gap_rewinds(void)
{
	g_autoptr(Wire) w = wire_new();
	g_autoptr(PxedFile) file = pattern_file(512 * 100);
	PxedTftpSessionParams p = params_default();
	g_autoptr(PxedTftpSession) s = NULL;
	g_autoptr(GPtrArray) pkts = NULL;
	gint64 now = 0;

	p.windowsize = 8;
	s = session_new(&p, file, w);
	pxed_tftp_session_start(s, now);
	g_clear_pointer(&pkts, g_ptr_array_unref);
	pkts = wire_take(w);
	/* Block 4 lost: the client reports 3 at once; every later block of the
	 * window repeats that report. Resent once from 4, in half bursts. */
	ack(s, 3, now += MS);
	g_clear_pointer(&pkts, g_ptr_array_unref);
	pkts = wire_take(w);
	g_assert_cmpuint(pkts->len, ==, 4);
	g_assert_cmpuint(packet_block(pkts->pdata[0]), ==, 4);
	for (guint i = 0; i < 4; i++)
		ack(s, 3, now + 1);
	g_assert_cmpuint(wire_count(w), ==, 0);
}

static void
test_rollover(void)
{
	g_autoptr(Wire) w = wire_new();
	/* 70 000 blocks of 8 bytes: past 65535, block numbers wrap to 0. */
	const gsize size = 8 * 70000 + 3;
	g_autoptr(PxedFile) file = pattern_file(size);
	PxedTftpSessionParams p = params_default();
	g_autoptr(PxedTftpSession) s = NULL;
	g_autoptr(GByteArray) got = g_byte_array_new();
	guint64 block = 1;
	gint64 now = 0;

	p.blksize = 8;
	p.windowsize = 32;
	s = session_new(&p, file, w);
	pxed_tftp_session_start(s, now);
	while (pxed_tftp_session_get_state(s) == PXED_TFTP_SESSION_RUNNING) {
		g_autoptr(GPtrArray) pkts = wire_take(w);
		guint16 last = 0;
		g_assert_cmpuint(pkts->len, >, 0);
		for (guint i = 0; i < pkts->len; i++) {
			const guint8 *data;
			gsize len = packet_data(pkts->pdata[i], &data);
			last = packet_block(pkts->pdata[i]);
			g_assert_cmpuint(last, ==, (guint16)(block & 0xffff));
			g_byte_array_append(got, data, (guint)len);
			block++;
		}
		/* An ACK from before the wrap is stale, not progress. */
		if (block > 65600 && block < 65700)
			ack(s, 65000, now);
		ack(s, last, now += 100);
	}
	g_assert_cmpint(pxed_tftp_session_get_state(s), ==, PXED_TFTP_SESSION_COMPLETE);
	g_assert_cmpuint(block - 1, ==, 70001);
	assert_pattern(got, size);
}

static void
test_netascii_encode(void)
{
	const guint8 src[] = "a\nb\rc\r\n";
	guint8 out[32];
	gint pending = -1;
	gsize used = 0;
	gsize n;

	n = pxed_tftp_netascii_encode(src, 7, &used, &pending, out, sizeof(out));
	g_assert_cmpmem(out, n, "a\r\nb\r\0c\r\0\r\n", 11);
	g_assert_cmpuint(used, ==, 7);
	g_assert_cmpint(pending, ==, -1);

	/* The pair straddles the output's end: its second byte waits. */
	n = pxed_tftp_netascii_encode((const guint8 *)"ab\n", 3, &used, &pending, out, 3);
	g_assert_cmpmem(out, n, "ab\r", 3);
	g_assert_cmpuint(used, ==, 3);
	g_assert_cmpint(pending, ==, '\n');
	n = pxed_tftp_netascii_encode((const guint8 *)"\r", 1, &used, &pending, out, 1);
	g_assert_cmpmem(out, n, "\n", 1);
	g_assert_cmpuint(used, ==, 0);
	g_assert_cmpint(pending, ==, -1);
	n = pxed_tftp_netascii_encode((const guint8 *)"\r", 1, &used, &pending, out, 1);
	g_assert_cmpmem(out, n, "\r", 1);
	g_assert_cmpint(pending, ==, 0);
}

static GByteArray *
netascii_reference(const guint8 *src, gsize len)
{
	GByteArray *out = g_byte_array_new();
	for (gsize i = 0; i < len; i++) {
		if (src[i] == '\n')
			g_byte_array_append(out, (const guint8 *)"\r\n", 2);
		else if (src[i] == '\r')
			g_byte_array_append(out, (const guint8 *)"\r\0", 2);
		else
			g_byte_array_append(out, &src[i], 1);
	}
	return out;
}

static void
test_netascii_session(void)
{
	/* Line ends everywhere, so that pairs straddle block boundaries. */
	const char *text = "line one\nline two\r\n\r\r\n\n\nend\rx\n";
	GString *big = g_string_new(NULL);

	for (guint i = 0; i < 200; i++)
		g_string_append(big, text);
	for (guint blksize = 8; blksize <= 16; blksize++) {
		g_autoptr(Wire) w = wire_new();
		g_autoptr(PxedFile) file = pxed_file_new_for_data(big->str, big->len);
		g_autoptr(GByteArray) want = netascii_reference((guint8 *)big->str, big->len);
		g_autoptr(GByteArray) got = g_byte_array_new();
		PxedTftpSessionParams p = params_default();
		g_autoptr(PxedTftpSession) s = NULL;
		guint64 block = 1;
		gint64 now = 0;
		guint round = 0;

		p.mode = PXED_TFTP_MODE_NETASCII;
		p.blksize = blksize;
		p.windowsize = 4;
		s = session_new(&p, file, w);
		pxed_tftp_session_start(s, now);
		while (pxed_tftp_session_get_state(s) == PXED_TFTP_SESSION_RUNNING) {
			g_autoptr(GPtrArray) pkts = wire_take(w);
			guint16 last = 0;
			guint keep = pkts->len;

			if (pkts->len == 0) {
				now = pxed_tftp_session_get_deadline(s);
				pxed_tftp_session_timer(s, now);
				continue;
			}
			/* Every seventh round loses all but the first block: the
			 * session must regenerate the rest identically. */
			if (++round % 7 == 0 && pkts->len > 1)
				keep = 1;
			for (guint i = 0; i < keep; i++) {
				const guint8 *data;
				gsize len = packet_data(pkts->pdata[i], &data);
				if (packet_block(pkts->pdata[i]) != (guint16)(block & 0xffff))
					continue;
				g_byte_array_append(got, data, (guint)len);
				last = packet_block(pkts->pdata[i]);
				block++;
			}
			now += MS;
			if (keep < pkts->len) {
				/* silent client: let the timer resend */
				now = pxed_tftp_session_get_deadline(s);
				pxed_tftp_session_timer(s, now);
				ack(s, last, now + 1);
			} else {
				ack(s, last, now);
			}
			g_assert_cmpuint(round, <, 100000);
		}
		g_assert_cmpint(pxed_tftp_session_get_state(s), ==, PXED_TFTP_SESSION_COMPLETE);
		g_assert_cmpmem(got->data, got->len, want->data, want->len);
	}
	g_string_free(big, TRUE);
}

static void
test_peer_error_and_junk(void)
{
	g_autoptr(Wire) w = wire_new();
	g_autoptr(PxedFile) file = pattern_file(5000);
	PxedTftpSessionParams p = params_default();
	g_autoptr(PxedTftpSession) s = session_new(&p, file, w);
	const guint8 junk[][8] = {
		{0, 3, 0, 1, 'x'},	/* DATA from the reader */
		{0, 1, 'a', 0, 'o', 0}, /* a request */
		{0, 9, 0, 0},		/* unknown opcode */
		{0, 4},			/* ACK without block */
		{0, 4, 0, 9},		/* ACK for a block not sent */
	};

	pxed_tftp_session_start(s, 0);
	for (guint i = 0; i < G_N_ELEMENTS(junk); i++)
		g_assert_cmpint(pxed_tftp_session_receive(s, junk[i], i == 3 ? 2 : 6, 10), ==,
				PXED_TFTP_SESSION_RUNNING);
	g_assert_cmpuint(wire_count(w), ==, 1);
	g_assert_cmpint(pxed_tftp_session_receive(s, (const guint8 *)"\0\5\0\3\xff\n", 6, 20), ==,
			PXED_TFTP_SESSION_FAILED);
	/* The peer's message reaches the log escaped. */
	g_assert_nonnull(strstr(pxed_tftp_session_get_error(s)->message, "\\377\\n"));
	g_assert_cmpuint(wire_count(w), ==, 1);
	/* Nothing moves a failed session. */
	g_assert_cmpint(ack(s, 1, 30), ==, PXED_TFTP_SESSION_FAILED);
	g_assert_cmpint(pxed_tftp_session_timer(s, G_MAXINT64), ==, PXED_TFTP_SESSION_FAILED);
	g_assert_cmpuint(wire_count(w), ==, 1);
}

static void
test_socket_full(void)
{
	g_autoptr(Wire) w = wire_new();
	g_autoptr(PxedFile) file = pattern_file(512 * 30);
	PxedTftpSessionParams p = params_default();
	g_autoptr(PxedTftpSession) s = NULL;
	g_autoptr(GPtrArray) pkts = NULL;

	p.windowsize = 16;
	s = session_new(&p, file, w);
	w->capacity = 5;
	pxed_tftp_session_start(s, 0);
	g_assert_cmpuint(wire_count(w), ==, 5);
	g_assert_true(pxed_tftp_session_wants_writable(s));
	/* Still full: nothing more. */
	w->capacity = 0;
	pxed_tftp_session_writable(s, 10);
	g_assert_true(pxed_tftp_session_wants_writable(s));
	w->capacity = -1;
	pxed_tftp_session_writable(s, 20);
	g_assert_false(pxed_tftp_session_wants_writable(s));
	pkts = wire_take(w);
	g_assert_cmpuint(pkts->len, ==, 16);
	for (guint i = 0; i < 16; i++)
		g_assert_cmpuint(packet_block(pkts->pdata[i]), ==, i + 1);
	ack(s, 16, 1000);
	ack(s, 31, 2000);
	g_assert_cmpint(pxed_tftp_session_get_state(s), ==, PXED_TFTP_SESSION_COMPLETE);

	/* A hard send error ends the session. */
	{
		g_autoptr(PxedTftpSession) s2 = session_new(&p, file, w);
		w->fail = TRUE;
		g_assert_cmpint(pxed_tftp_session_start(s2, 0), ==, PXED_TFTP_SESSION_FAILED);
		g_assert_error((GError *)pxed_tftp_session_get_error(s2), PXED_TFTP_ERROR,
			       PXED_TFTP_ERROR_IO);
	}
}

static void
test_fd_file(void)
{
	g_autofree char *path = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(Wire) w = wire_new();
	PxedTftpSessionParams p = params_default();
	g_autoptr(PxedFile) file = NULL;
	g_autoptr(PxedTftpSession) s = NULL;
	g_autoptr(GByteArray) got = g_byte_array_new();
	g_autoptr(PxedFile) pattern = pattern_file(100000);
	GBytes *bytes = pxed_file_get_bytes(pattern);
	guint64 expect = 1;
	gint64 now = 0;
	int fd;

	fd = g_file_open_tmp("pxed-tftp-XXXXXX", &path, &error);
	g_assert_no_error(error);
	g_assert_cmpint(write(fd, g_bytes_get_data(bytes, NULL), 100000), ==, 100000);
	file = pxed_file_new_for_fd(fd, &error);
	g_assert_no_error(error);

	/* Small bursts come out of the read-ahead; a large window is read
	 * with one preadv() behind its headers. */
	for (guint run = 0; run < 2; run++) {
		p.blksize = run == 0 ? 1000 : 4000;
		p.windowsize = run == 0 ? 7 : 4;
		expect = 1;
		g_byte_array_set_size(got, 0);
		g_clear_pointer(&s, pxed_tftp_session_free);
		s = session_new(&p, file, w);
		pxed_tftp_session_start(s, now);
		while (pxed_tftp_session_get_state(s) == PXED_TFTP_SESSION_RUNNING) {
			g_autoptr(GPtrArray) pkts = wire_take(w);
			guint16 last = 0;
			for (guint i = 0; i < pkts->len; i++) {
				const guint8 *data;
				gsize len = packet_data(pkts->pdata[i], &data);
				last = packet_block(pkts->pdata[i]);
				g_assert_cmpuint(last, ==, expect);
				g_byte_array_append(got, data, (guint)len);
				expect++;
			}
			ack(s, last, now += MS);
		}
		assert_pattern(got, 100000);
	}
	p.blksize = 1000;
	p.windowsize = 7;

	/* The file shrinks under a transfer: it fails, the client is told. */
	{
		g_autoptr(PxedTftpSession) s2 = session_new(&p, file, w);
		g_autoptr(GPtrArray) pkts = NULL;
		PxedTftpPacket packet;
		const guint8 *data;
		gsize len;

		pxed_tftp_session_start(s2, 0);
		g_assert_cmpint(ftruncate(fd, 10000), ==, 0);
		/* (what the read-ahead already holds still goes out) */
		g_assert_cmpint(ack(s2, 7, 10), ==, PXED_TFTP_SESSION_RUNNING);
		g_assert_cmpint(ack(s2, 14, 20), ==, PXED_TFTP_SESSION_FAILED);
		g_assert_error((GError *)pxed_tftp_session_get_error(s2), PXED_TFTP_ERROR,
			       PXED_TFTP_ERROR_IO);
		pkts = wire_take(w);
		data = g_bytes_get_data(pkts->pdata[pkts->len - 1], &len);
		g_assert_true(pxed_tftp_packet_parse(data, len, &packet, NULL));
		g_assert_cmpint(packet.opcode, ==, PXED_TFTP_OP_ERROR);
		g_assert_cmpuint(packet.error_code, ==, 0);
	}
	g_unlink(path);
}

static void
test_negotiated_timeout(void)
{
	g_autoptr(Wire) w = wire_new();
	g_autoptr(PxedFile) file = pattern_file(100);
	PxedTftpSessionParams p = params_default();
	g_autoptr(PxedTftpSession) s = NULL;
	gint64 deadline;

	/* RFC 2349: a client's timeout of 3 s: the first wait (no round trip
	 * known) is 1 s, the longest 3 s. */
	p.timeout_us = 3 * G_USEC_PER_SEC;
	p.retries = 1;
	s = session_new(&p, file, w);
	pxed_tftp_session_start(s, 0);
	deadline = pxed_tftp_session_get_deadline(s);
	g_assert_cmpint(deadline, ==, G_USEC_PER_SEC);
	pxed_tftp_session_timer(s, deadline);
	g_assert_cmpint(pxed_tftp_session_get_deadline(s) - deadline, ==, 2 * G_USEC_PER_SEC);
	deadline = pxed_tftp_session_get_deadline(s);
	pxed_tftp_session_timer(s, deadline);
	g_assert_cmpint(pxed_tftp_session_get_deadline(s) - deadline, ==, 3 * G_USEC_PER_SEC);
	pxed_tftp_session_timer(s, pxed_tftp_session_get_deadline(s));
	pxed_tftp_session_timer(s, pxed_tftp_session_get_deadline(s));
	g_assert_cmpint(pxed_tftp_session_get_state(s), ==, PXED_TFTP_SESSION_FAILED);
	g_assert_cmpuint(wire_count(w), ==, 4);
}

/* Runs the timer until the session ends; returns how many expiries it took. */
static guint
run_silent(PxedTftpSession *s)
{
	guint expiries = 0;

	while (pxed_tftp_session_get_state(s) == PXED_TFTP_SESSION_RUNNING) {
		gint64 deadline = pxed_tftp_session_get_deadline(s);
		g_assert_cmpint(deadline, >=, 0);
		pxed_tftp_session_timer(s, deadline);
		g_assert_cmpuint(++expiries, <, 100);
	}
	return expiries;
}

static void
test_unacked_bound(void)
{
	/* A peer that never acknowledges (the victim of a forged request):
	 * the first packet goes out 1 + unacked_retries times, then the
	 * session gives up — early fast resends count as well. */
	for (guint n = 0; n <= 3; n++) {
		for (guint oack = 0; oack <= 1; oack++) {
			g_autoptr(Wire) w = wire_new();
			g_autoptr(PxedFile) file = pattern_file(512 * 100);
			PxedTftpSessionParams p = params_default();
			g_autoptr(PxedTftpSession) s = NULL;
			g_autoptr(GPtrArray) pkts = NULL;

			p.unacked_retries = n;
			p.retries = 5;
			p.timeout_us = 5 * G_USEC_PER_SEC;
			if (oack) {
				p.windowsize = 16;
				p.send_oack = TRUE;
				p.oack.present = PXED_TFTP_OPT_WINDOWSIZE;
				p.oack.windowsize = 16;
			}
			s = session_new(&p, file, w);
			pxed_tftp_session_start(s, 0);
			run_silent(s);
			g_assert_error((GError *)pxed_tftp_session_get_error(s), PXED_TFTP_ERROR,
				       PXED_TFTP_ERROR_UNACKED);
			pkts = wire_take(w);
			g_assert_cmpuint(pkts->len, ==, 1 + n);
			for (guint i = 0; i < pkts->len; i++) {
				if (oack)
					g_assert_cmpuint(packet_opcode(pkts->pdata[i]), ==,
							 PXED_TFTP_OP_OACK);
				else
					g_assert_cmpuint(packet_block(pkts->pdata[i]), ==, 1);
			}
		}
	}
}

static void
test_unacked_one_block(void)
{
	g_autoptr(Wire) w = wire_new();
	g_autoptr(PxedFile) file = pattern_file(512 * 100);
	PxedTftpSessionParams p = params_default();
	g_autoptr(PxedTftpSession) s = NULL;
	g_autoptr(GPtrArray) first = NULL;
	g_autoptr(GPtrArray) window = NULL;

	/* A window without an OACK before it (the session does not rely on
	 * the negotiation for this): one block until the peer has answered,
	 * then whole windows. */
	p.windowsize = 16;
	p.unacked_retries = 1;
	s = session_new(&p, file, w);
	pxed_tftp_session_start(s, 0);
	first = wire_take(w);
	g_assert_cmpuint(first->len, ==, 1);
	g_assert_cmpuint(packet_block(first->pdata[0]), ==, 1);
	/* Its resend is one block too. */
	pxed_tftp_session_timer(s, pxed_tftp_session_get_deadline(s));
	g_clear_pointer(&first, g_ptr_array_unref);
	first = wire_take(w);
	g_assert_cmpuint(first->len, ==, 1);
	g_assert_cmpuint(packet_block(first->pdata[0]), ==, 1);
	ack(s, 1, 1100 * MS);
	window = wire_take(w);
	/* (the timeout above halved the burst: the window's first half now,
	 * the rest paced) */
	g_assert_cmpuint(window->len, ==, 8);
	g_assert_cmpuint(packet_block(window->pdata[0]), ==, 2);
	g_assert_cmpuint(packet_block(window->pdata[7]), ==, 9);
}

static void
test_acked_then_retries(void)
{
	g_autoptr(Wire) w = wire_new();
	g_autoptr(PxedFile) file = pattern_file(4000);
	PxedTftpSessionParams p = params_default();
	g_autoptr(PxedTftpSession) s = NULL;
	g_autoptr(GPtrArray) pkts = NULL;

	/* Once the peer has acknowledged something it is real: a silence
	 * later is a lossy link, and the ordinary retries apply. */
	p.unacked_retries = 0;
	p.retries = 2;
	p.timeout_us = G_USEC_PER_SEC;
	s = session_new(&p, file, w);
	pxed_tftp_session_start(s, 0);
	ack(s, 1, MS);
	run_silent(s);
	g_assert_error((GError *)pxed_tftp_session_get_error(s), PXED_TFTP_ERROR,
		       PXED_TFTP_ERROR_TIMEOUT);
	pkts = wire_take(w);
	/* DATA 1, DATA 2, and DATA 2 resent: backoff from the 20 ms floor
	 * up to 1 s (6 early), then 2 at the full timeout. */
	g_assert_cmpuint(pkts->len, ==, 2 + 6 + 2);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/tftp/session/lockstep", test_lockstep);
	g_test_add_func("/tftp/session/oack", test_oack);
	g_test_add_func("/tftp/session/oack-refused", test_oack_refused);
	g_test_add_func("/tftp/session/duplicate-ack", test_duplicate_ack);
	g_test_add_func("/tftp/session/timeout-backoff", test_timeout_backoff);
	g_test_add_func("/tftp/session/lost-ack", test_lost_ack_recovers);
	g_test_add_func("/tftp/session/window", test_window);
	g_test_add_func("/tftp/session/window-loss-adapts", test_window_loss_shrinks_and_grows);
	g_test_add_func("/tftp/session/window-stale-ack", test_window_stale_ack_no_rewind);
	g_test_add_func("/tftp/session/window-gap", test_window_gap_rewinds);
	g_test_add_func("/tftp/session/rollover", test_rollover);
	g_test_add_func("/tftp/session/netascii-encode", test_netascii_encode);
	g_test_add_func("/tftp/session/netascii", test_netascii_session);
	g_test_add_func("/tftp/session/peer-error", test_peer_error_and_junk);
	g_test_add_func("/tftp/session/socket-full", test_socket_full);
	g_test_add_func("/tftp/session/fd-file", test_fd_file);
	g_test_add_func("/tftp/session/negotiated-timeout", test_negotiated_timeout);
	g_test_add_func("/tftp/session/unacked-bound", test_unacked_bound);
	g_test_add_func("/tftp/session/unacked-one-block", test_unacked_one_block);
	g_test_add_func("/tftp/session/acked-then-retries", test_acked_then_retries);
	return g_test_run();
}
