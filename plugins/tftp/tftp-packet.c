/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "tftp-packet.h"

#include <string.h>

/* G_DEFINE_QUARK makes its first argument the quark's string: no spaces */
/* clang-format off */
G_DEFINE_QUARK(pxed-tftp-error-quark, pxed_tftp_error)
/* clang-format on */

static inline guint16
read_u16(const guint8 *p)
{
	return (guint16)((p[0] << 8) | p[1]);
}

static inline void
write_u16(guint8 *p, guint16 v)
{
	p[0] = (guint8)(v >> 8);
	p[1] = (guint8)(v & 0xff);
}

gboolean
pxed_tftp_parse_uint(const char *text, guint64 min, guint64 max, guint64 *value)
{
	guint64 v = 0;

	/* Digits only: "+8", " 8", "0x20", "-1" and "" are not numbers here. */
	if (text[0] == '\0')
		return FALSE;
	for (const char *p = text; *p != '\0'; p++) {
		guint d;
		if (*p < '0' || *p > '9')
			return FALSE;
		d = (guint)(*p - '0');
		if (v > (G_MAXUINT64 - d) / 10)
			return FALSE; /* overflow */
		v = v * 10 + d;
	}
	if (v < min || v > max)
		return FALSE;
	*value = v;
	return TRUE;
}

/* Stores one option into @options; returns FALSE if it is ignored. */
static gboolean
take_option(PxedTftpOptions *options, const char *name, const char *value)
{
	guint64 v;

	/* RFC 2347 §"Packet Formats": option names are case-insensitive. */
	if (g_ascii_strcasecmp(name, "blksize") == 0) {
		/* RFC 2348: below 8 is invalid; a larger value than the range is an
		 * upper bound the server may lower, so it is clamped, not refused. */
		if ((options->present & PXED_TFTP_OPT_BLKSIZE) ||
		    !pxed_tftp_parse_uint(value, PXED_TFTP_MIN_BLKSIZE, G_MAXUINT64, &v))
			return FALSE;
		options->blksize = (guint32)MIN(v, PXED_TFTP_MAX_BLKSIZE);
		options->present |= PXED_TFTP_OPT_BLKSIZE;
		return TRUE;
	}
	if (g_ascii_strcasecmp(name, "timeout") == 0) {
		/* RFC 2349 §2: 1..255 seconds, and the server may only echo it:
		 * out of range cannot be clamped, so it is ignored. */
		if ((options->present & PXED_TFTP_OPT_TIMEOUT) ||
		    !pxed_tftp_parse_uint(value, PXED_TFTP_MIN_TIMEOUT, PXED_TFTP_MAX_TIMEOUT, &v))
			return FALSE;
		options->timeout = (guint32)v;
		options->present |= PXED_TFTP_OPT_TIMEOUT;
		return TRUE;
	}
	if (g_ascii_strcasecmp(name, "tsize") == 0) {
		/* RFC 2349 §4: "0" in a read request; any number is accepted. */
		if ((options->present & PXED_TFTP_OPT_TSIZE) ||
		    !pxed_tftp_parse_uint(value, 0, G_MAXUINT64, &v))
			return FALSE;
		options->tsize = v;
		options->present |= PXED_TFTP_OPT_TSIZE;
		return TRUE;
	}
	if (g_ascii_strcasecmp(name, "windowsize") == 0) {
		/* RFC 7440 §3: 1..65535; like blksize an upper bound, so clamped. */
		if ((options->present & PXED_TFTP_OPT_WINDOWSIZE) ||
		    !pxed_tftp_parse_uint(value, PXED_TFTP_MIN_WINDOWSIZE, G_MAXUINT64, &v))
			return FALSE;
		options->windowsize = (guint32)MIN(v, PXED_TFTP_MAX_WINDOWSIZE);
		options->present |= PXED_TFTP_OPT_WINDOWSIZE;
		return TRUE;
	}
	return FALSE; /* RFC 2347: unknown options are ignored */
}

/* Name/value pairs from @off to @len. Lenient on purpose: firmware pads
 * requests with NULs and some clients cut the last option short; parsing
 * stops there instead of refusing a request whose file name and mode are
 * fine. Bounded by the packet length, so 10 000 options cost 10 000 steps. */
static void
parse_options(const guint8 *buf, gsize off, gsize len, PxedTftpOptions *options)
{
	while (off < len) {
		const char *name = (const char *)buf + off;
		const guint8 *name_end = memchr(buf + off, '\0', len - off);
		const guint8 *value_end;
		gsize value_off;

		if (name_end == NULL || name_end == buf + off)
			return; /* unterminated bytes, or NUL padding */
		value_off = (gsize)(name_end - buf) + 1;
		if (value_off >= len)
			return; /* a name without a value */
		value_end = memchr(buf + value_off, '\0', len - value_off);
		if (value_end == NULL)
			return; /* an unterminated value */
		options->n_options++;
		if (!take_option(options, name, (const char *)buf + value_off))
			options->n_ignored++;
		off = (gsize)(value_end - buf) + 1;
	}
}

static gboolean
parse_request(const guint8 *buf, gsize len, PxedTftpPacket *packet, GError **error)
{
	const guint8 *name_end;
	const guint8 *mode_end;
	gsize mode_off;

	/* RFC 1350 §5: | opcode | filename | 0 | mode | 0 | (RFC 2347: options) */
	name_end = memchr(buf + 2, '\0', len - 2);
	if (name_end == NULL) {
		g_set_error_literal(error, PXED_TFTP_ERROR, PXED_TFTP_ERROR_MALFORMED,
				    "file name is not NUL-terminated");
		return FALSE;
	}
	if (name_end == buf + 2) {
		g_set_error_literal(error, PXED_TFTP_ERROR, PXED_TFTP_ERROR_MALFORMED,
				    "empty file name");
		return FALSE;
	}
	mode_off = (gsize)(name_end - buf) + 1;
	mode_end = mode_off < len ? memchr(buf + mode_off, '\0', len - mode_off) : NULL;
	if (mode_end == NULL) {
		g_set_error_literal(error, PXED_TFTP_ERROR, PXED_TFTP_ERROR_MALFORMED,
				    "transfer mode missing or not NUL-terminated");
		return FALSE;
	}
	packet->filename = (const char *)buf + 2;
	packet->mode_name = (const char *)buf + mode_off;
	/* RFC 1350 §5: the mode is case-insensitive; "mail" is obsolete (RFC 1350
	 * itself says it should not be used) and only makes sense for writes. */
	if (g_ascii_strcasecmp(packet->mode_name, "octet") == 0) {
		packet->mode = PXED_TFTP_MODE_OCTET;
	} else if (g_ascii_strcasecmp(packet->mode_name, "netascii") == 0) {
		packet->mode = PXED_TFTP_MODE_NETASCII;
	} else {
		g_set_error_literal(error, PXED_TFTP_ERROR, PXED_TFTP_ERROR_MODE,
				    "unsupported transfer mode (octet and netascii are)");
		return FALSE;
	}
	parse_options(buf, (gsize)(mode_end - buf) + 1, len, &packet->options);
	return TRUE;
}

gboolean
pxed_tftp_packet_parse(const guint8 *buf, gsize len, PxedTftpPacket *packet, GError **error)
{
	memset(packet, 0, sizeof(*packet));
	if (len < 2) {
		g_set_error_literal(error, PXED_TFTP_ERROR, PXED_TFTP_ERROR_MALFORMED,
				    "packet too short");
		return FALSE;
	}
	if (len > PXED_TFTP_MAX_PACKET) {
		g_set_error(error, PXED_TFTP_ERROR, PXED_TFTP_ERROR_MALFORMED,
			    "packet too long (%" G_GSIZE_FORMAT " bytes)", len);
		return FALSE;
	}
	packet->opcode = read_u16(buf);
	switch (packet->opcode) {
	case PXED_TFTP_OP_RRQ:
	case PXED_TFTP_OP_WRQ:
		return parse_request(buf, len, packet, error);
	case PXED_TFTP_OP_DATA:
	case PXED_TFTP_OP_ACK:
		/* RFC 1350 §5: | opcode | block # | (DATA: 0..blksize bytes). Bytes
		 * after an ACK's block number are padding, not an error. */
		if (len < 4) {
			g_set_error(error, PXED_TFTP_ERROR, PXED_TFTP_ERROR_MALFORMED,
				    "%s without a block number",
				    pxed_tftp_opcode_to_string(packet->opcode));
			return FALSE;
		}
		packet->block = read_u16(buf + 2);
		if (packet->opcode == PXED_TFTP_OP_DATA) {
			packet->data = buf + 4;
			packet->data_len = len - 4;
		}
		return TRUE;
	case PXED_TFTP_OP_ERROR: {
		const guint8 *end;
		/* RFC 1350 §5: | 05 | ErrorCode | ErrMsg | 0 |; a missing NUL is
		 * tolerated: the message ends with the packet. */
		if (len < 4) {
			g_set_error_literal(error, PXED_TFTP_ERROR, PXED_TFTP_ERROR_MALFORMED,
					    "ERROR without an error code");
			return FALSE;
		}
		packet->error_code = read_u16(buf + 2);
		packet->error_message = (const char *)buf + 4;
		end = memchr(buf + 4, '\0', len - 4);
		packet->error_message_len = end != NULL ? (gsize)(end - (buf + 4)) : len - 4;
		return TRUE;
	}
	case PXED_TFTP_OP_OACK:
		/* RFC 2347: | opc | opt1 | 0 | value1 | 0 | ...; at least one. */
		parse_options(buf, 2, len, &packet->options);
		if (packet->options.n_options == 0) {
			g_set_error_literal(error, PXED_TFTP_ERROR, PXED_TFTP_ERROR_MALFORMED,
					    "OACK without options");
			return FALSE;
		}
		return TRUE;
	default:
		g_set_error(error, PXED_TFTP_ERROR, PXED_TFTP_ERROR_OPCODE, "unknown opcode %u",
			    (guint)packet->opcode);
		return FALSE;
	}
}

/* ---- builders ---- */

typedef struct {
	guint8 *buf;
	gsize size;
	gsize len;
	gboolean overflow;
} Writer;

static void
put_bytes(Writer *w, const void *data, gsize n)
{
	if (w->overflow || n > w->size - w->len) {
		w->overflow = TRUE;
		return;
	}
	memcpy(w->buf + w->len, data, n);
	w->len += n;
}

static void
put_u16(Writer *w, guint16 v)
{
	guint8 b[2];
	write_u16(b, v);
	put_bytes(w, b, 2);
}

static void
put_string(Writer *w, const char *s)
{
	put_bytes(w, s, strlen(s) + 1);
}

static void
put_option(Writer *w, const char *name, guint64 value)
{
	char text[24];
	g_snprintf(text, sizeof(text), "%" G_GUINT64_FORMAT, value);
	put_string(w, name);
	put_string(w, text);
}

static void
put_options(Writer *w, const PxedTftpOptions *options)
{
	if (options == NULL)
		return;
	if (options->present & PXED_TFTP_OPT_BLKSIZE)
		put_option(w, "blksize", options->blksize);
	if (options->present & PXED_TFTP_OPT_TIMEOUT)
		put_option(w, "timeout", options->timeout);
	if (options->present & PXED_TFTP_OPT_TSIZE)
		put_option(w, "tsize", options->tsize);
	if (options->present & PXED_TFTP_OPT_WINDOWSIZE)
		put_option(w, "windowsize", options->windowsize);
}

static gsize
writer_finish(Writer *w)
{
	return w->overflow ? 0 : w->len;
}

gsize
pxed_tftp_packet_build_error(guint8 *buf, gsize size, guint16 code, const char *message)
{
	Writer w = {buf, size, 0, FALSE};
	gsize room;
	gsize n = message != NULL ? strlen(message) : 0;

	put_u16(&w, PXED_TFTP_OP_ERROR);
	put_u16(&w, code);
	if (w.overflow || w.len >= size)
		return 0;
	/* A long message is cut to fit, never the packet refused. */
	room = size - w.len - 1;
	n = MIN(n, room);
	put_bytes(&w, message, n);
	put_bytes(&w, "", 1);
	return writer_finish(&w);
}

gsize
pxed_tftp_packet_build_ack(guint8 *buf, gsize size, guint16 block)
{
	Writer w = {buf, size, 0, FALSE};
	put_u16(&w, PXED_TFTP_OP_ACK);
	put_u16(&w, block);
	return writer_finish(&w);
}

gsize
pxed_tftp_packet_build_oack(guint8 *buf, gsize size, const PxedTftpOptions *options)
{
	Writer w = {buf, size, 0, FALSE};
	put_u16(&w, PXED_TFTP_OP_OACK);
	put_options(&w, options);
	return writer_finish(&w);
}

gsize
pxed_tftp_packet_build_request(guint8 *buf, gsize size, PxedTftpOpcode opcode, const char *filename,
			       const char *mode, const PxedTftpOptions *options,
			       const char *const *extra)
{
	Writer w = {buf, size, 0, FALSE};
	put_u16(&w, opcode);
	put_string(&w, filename);
	put_string(&w, mode);
	put_options(&w, options);
	for (guint i = 0; extra != NULL && extra[i] != NULL; i++)
		put_string(&w, extra[i]);
	return writer_finish(&w);
}

const char *
pxed_tftp_opcode_to_string(guint16 opcode)
{
	switch (opcode) {
	case PXED_TFTP_OP_RRQ:
		return "RRQ";
	case PXED_TFTP_OP_WRQ:
		return "WRQ";
	case PXED_TFTP_OP_DATA:
		return "DATA";
	case PXED_TFTP_OP_ACK:
		return "ACK";
	case PXED_TFTP_OP_ERROR:
		return "ERROR";
	case PXED_TFTP_OP_OACK:
		return "OACK";
	default:
		return "unknown";
	}
}

const char *
pxed_tftp_mode_to_string(PxedTftpMode mode)
{
	return mode == PXED_TFTP_MODE_NETASCII ? "netascii" : "octet";
}
