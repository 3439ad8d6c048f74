/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The TFTP wire format: parsing every packet a server can receive into a
 * struct and building every packet it sends. Pure functions over byte buffers,
 * no sockets, no allocation on the parse path: what the unit tests and the
 * fuzz target tests/fuzz/fuzz-tftp-packet.c call directly.
 *
 * RFC 1350 (TFTP rev. 2), RFC 2347 (option extension), RFC 2348 (blksize),
 * RFC 2349 (timeout, tsize), RFC 7440 (windowsize).
 */

#include <glib.h>

G_BEGIN_DECLS

#define PXED_TFTP_ERROR (pxed_tftp_error_quark())
GQuark pxed_tftp_error_quark(void);

typedef enum {
	PXED_TFTP_ERROR_MALFORMED, /* not a well-formed packet of its opcode */
	PXED_TFTP_ERROR_OPCODE,	   /* unknown opcode */
	PXED_TFTP_ERROR_MODE,	   /* a transfer mode other than octet / netascii */
	PXED_TFTP_ERROR_TIMEOUT,   /* the peer stopped answering */
	PXED_TFTP_ERROR_PEER,	   /* the peer sent an ERROR packet */
	PXED_TFTP_ERROR_IO,	   /* reading the file or sending failed */
	PXED_TFTP_ERROR_UNACKED,   /* the peer never acknowledged anything */
} PxedTftpError;

/* RFC 1350 §5, RFC 2347 (OACK). */
typedef enum {
	PXED_TFTP_OP_RRQ = 1,
	PXED_TFTP_OP_WRQ = 2,
	PXED_TFTP_OP_DATA = 3,
	PXED_TFTP_OP_ACK = 4,
	PXED_TFTP_OP_ERROR = 5,
	PXED_TFTP_OP_OACK = 6,
} PxedTftpOpcode;

/* RFC 1350 appendix "Error Codes", RFC 2347 (code 8). */
typedef enum {
	PXED_TFTP_ERR_UNDEFINED = 0,
	PXED_TFTP_ERR_NOT_FOUND = 1,
	PXED_TFTP_ERR_ACCESS = 2,
	PXED_TFTP_ERR_DISK_FULL = 3,
	PXED_TFTP_ERR_ILLEGAL_OP = 4,
	PXED_TFTP_ERR_UNKNOWN_TID = 5,
	PXED_TFTP_ERR_FILE_EXISTS = 6,
	PXED_TFTP_ERR_NO_USER = 7,
	PXED_TFTP_ERR_OPTIONS = 8,
} PxedTftpErrorCode;

typedef enum {
	PXED_TFTP_MODE_OCTET = 1,
	PXED_TFTP_MODE_NETASCII = 2,
} PxedTftpMode;

/* RFC 1350 §1: the classic block size; RFC 2348: the blksize range. */
#define PXED_TFTP_DEFAULT_BLKSIZE 512
#define PXED_TFTP_MIN_BLKSIZE	  8
#define PXED_TFTP_MAX_BLKSIZE	  65464
/* RFC 2349 §2: timeout range, seconds. */
#define PXED_TFTP_MIN_TIMEOUT 1
#define PXED_TFTP_MAX_TIMEOUT 255
/* RFC 7440 §3: windowsize range, blocks. */
#define PXED_TFTP_MIN_WINDOWSIZE 1
#define PXED_TFTP_MAX_WINDOWSIZE 65535
/* The largest packet that means anything: a DATA header and the largest block. */
#define PXED_TFTP_MAX_PACKET  (4 + PXED_TFTP_MAX_BLKSIZE)
#define PXED_TFTP_DATA_HEADER 4

/* The options pxed understands; a bit is set in @present for each one the
 * packet carried with a valid value. */
typedef enum {
	PXED_TFTP_OPT_BLKSIZE = 1 << 0,
	PXED_TFTP_OPT_TIMEOUT = 1 << 1,
	PXED_TFTP_OPT_TSIZE = 1 << 2,
	PXED_TFTP_OPT_WINDOWSIZE = 1 << 3,
} PxedTftpOptionFlags;

typedef struct {
	guint32 present; /* PxedTftpOptionFlags */
	guint32 blksize;
	guint32 timeout;
	guint32 windowsize;
	guint64 tsize;
	guint n_options; /* name/value pairs seen, known or not */
	guint n_ignored; /* unknown names, duplicates, and known names with invalid values */
} PxedTftpOptions;

/**
 * PxedTftpPacket:
 *
 * A parsed packet. Strings and data point into the buffer that was parsed
 * (which must outlive the struct); strings are NUL-terminated there.
 */
typedef struct {
	PxedTftpOpcode opcode;
	/* RRQ, WRQ */
	const char *filename;
	const char *mode_name;
	PxedTftpMode mode;
	/* RRQ, WRQ, OACK */
	PxedTftpOptions options;
	/* DATA, ACK */
	guint16 block;
	/* DATA */
	const guint8 *data;
	gsize data_len;
	/* ERROR */
	guint16 error_code;
	const char *error_message; /* not necessarily NUL-terminated in a hostile packet: */
	gsize error_message_len;   /* use this length */
} PxedTftpPacket;

/**
 * pxed_tftp_packet_parse:
 *
 * Parses one datagram. Requests are parsed strictly where a server must
 * understand them (file name and mode NUL-terminated, the name not empty, the
 * mode octet or netascii) and leniently where real clients are sloppy
 * (trailing padding, a last option cut short, unknown options: ignored, as
 * RFC 2347 §"Option Acknowledgment" allows).
 *
 * Returns: %FALSE with PXED_TFTP_ERROR_MALFORMED, _OPCODE or _MODE and a
 *   message fit to send back in an ERROR packet.
 */
gboolean pxed_tftp_packet_parse(const guint8 *buf, gsize len, PxedTftpPacket *packet,
				GError **error);

/* Parses a decimal option value: digits only, no sign or space, within [min, max]. */
gboolean pxed_tftp_parse_uint(const char *text, guint64 min, guint64 max, guint64 *value);

/* Builders write into @buf and return the packet's length, or 0 if it does not fit. */
gsize pxed_tftp_packet_build_error(guint8 *buf, gsize size, guint16 code, const char *message);
gsize pxed_tftp_packet_build_ack(guint8 *buf, gsize size, guint16 block);
/* The options of @options->present, in a fixed order. */
gsize pxed_tftp_packet_build_oack(guint8 *buf, gsize size, const PxedTftpOptions *options);
/* A request, as a client sends it (tests, the benchmark client). @extra: more
 * name/value strings, %NULL-terminated, appended verbatim. */
gsize pxed_tftp_packet_build_request(guint8 *buf, gsize size, PxedTftpOpcode opcode,
				     const char *filename, const char *mode,
				     const PxedTftpOptions *options, const char *const *extra);

static inline void
pxed_tftp_packet_write_data_header(guint8 *buf, guint16 block)
{
	buf[0] = 0;
	buf[1] = PXED_TFTP_OP_DATA;
	buf[2] = (guint8)(block >> 8);
	buf[3] = (guint8)(block & 0xff);
}

const char *pxed_tftp_opcode_to_string(guint16 opcode);
const char *pxed_tftp_mode_to_string(PxedTftpMode mode);

G_END_DECLS
