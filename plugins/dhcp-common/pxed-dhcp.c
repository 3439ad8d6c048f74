/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "pxed-dhcp.h"

#include <arpa/inet.h>
#include <string.h>

/* G_DEFINE_QUARK makes its first argument the quark's string: no spaces */
/* clang-format off */
G_DEFINE_QUARK(pxed-dhcp-error-quark, pxed_dhcp_error)
/* clang-format on */

/* RFC 2131 §3: the first four octets of the options field. */
static const guint8 magic_cookie[4] = {99, 130, 83, 99};

/* Offsets in the fixed header (RFC 2131 §2, figure 1). */
#define OFF_SNAME  44
#define OFF_FILE   108
#define OFF_COOKIE 236
#define SNAME_SIZE 64
#define FILE_SIZE  128
#define BOOTP_SIZE 300 /* RFC 1542 §2.1: a BOOTP message is at least this long */
#define MAX_OPTION G_MAXUINT16

/* The options of one message: one value per code, every instance of a code
 * joined (RFC 3396), kept in one buffer. */
typedef struct {
	guint32 offset[256];
	guint32 length[256];
	guint8 present[32]; /* bitmap */
	guint8 order[256];  /* codes in the order first seen or set */
	guint n_order;
	GByteArray *data;
} Options;

static Options *
options_get(const PxedDhcpMessage *self)
{
	return self->priv;
}

static gboolean
options_has(const Options *o, guint8 code)
{
	return (o->present[code >> 3] >> (code & 7)) & 1;
}

static void
options_mark(Options *o, guint8 code)
{
	if (options_has(o, code))
		return;
	o->present[code >> 3] |= (guint8)(1u << (code & 7));
	o->order[o->n_order++] = code;
}

PxedDhcpMessage *
pxed_dhcp_message_new(guint8 op)
{
	PxedDhcpMessage *self = g_new0(PxedDhcpMessage, 1);
	Options *o = g_new0(Options, 1);

	o->data = g_byte_array_new();
	self->priv = o;
	self->op = op;
	self->htype = 1; /* Ethernet (RFC 1700 hardware types) */
	self->hlen = 6;
	return self;
}

void
pxed_dhcp_message_free(PxedDhcpMessage *self)
{
	Options *o;

	if (self == NULL)
		return;
	o = options_get(self);
	g_byte_array_unref(o->data);
	g_free(o);
	g_free(self);
}

/* ---- reading ---- */

/* A region of the packet that holds options, walked once to measure every
 * code's total length and once more to copy the values. */
typedef struct {
	const guint8 *data;
	gsize len;
	const char *name;
} Region;

static gboolean
walk_region(const Region *region, guint32 *totals, Options *fill, guint32 *cursor, guint8 *overload,
	    GError **error)
{
	gsize i = 0;

	while (i < region->len) {
		guint8 code = region->data[i];
		guint8 len;

		if (code == PXED_DHCP_OPTION_PAD) {
			i++;
			continue;
		}
		if (code == PXED_DHCP_OPTION_END)
			return TRUE;
		if (i + 1 >= region->len) {
			g_set_error(error, PXED_DHCP_ERROR, PXED_DHCP_ERROR_BAD_OPTION,
				    "option %u at %s+%zu has no length byte", code, region->name,
				    i);
			return FALSE;
		}
		len = region->data[i + 1];
		if (i + 2 + len > region->len) {
			g_set_error(error, PXED_DHCP_ERROR, PXED_DHCP_ERROR_BAD_OPTION,
				    "option %u at %s+%zu runs %zu bytes past the end", code,
				    region->name, i, i + 2 + len - region->len);
			return FALSE;
		}
		if (fill == NULL) {
			totals[code] += len;
			/* RFC 2131 §4.1: only the options field may say what is overloaded */
			if (code == PXED_DHCP_OPTION_OVERLOAD && overload != NULL) {
				if (len != 1 || region->data[i + 2] < 1 ||
				    region->data[i + 2] > 3) {
					g_set_error(error, PXED_DHCP_ERROR,
						    PXED_DHCP_ERROR_BAD_OPTION,
						    "option 52 (overload) is not 1, 2 or 3");
					return FALSE;
				}
				*overload = region->data[i + 2];
			}
		} else {
			if (len > 0)
				memcpy(fill->data->data + fill->offset[code] + cursor[code],
				       region->data + i + 2, len);
			cursor[code] += len;
			options_mark(fill, code);
		}
		i += 2 + (gsize)len;
	}
	return TRUE;
}

/* Lengths fixed by the option's RFC: 0 means any, a negative value a multiple. */
static gboolean
check_option_length(guint8 code, const guint8 *value, guint32 len, GError **error)
{
	gint64 want = 0;
	guint32 multiple = 0;
	guint32 min = 0;

	switch (code) {
	case PXED_DHCP_OPTION_SUBNET_MASK:
	case PXED_DHCP_OPTION_REQUESTED_ADDRESS:
	case PXED_DHCP_OPTION_LEASE_TIME:
	case PXED_DHCP_OPTION_SERVER_ID:
	case PXED_DHCP_OPTION_RENEWAL_TIME:
	case PXED_DHCP_OPTION_REBINDING_TIME:
		want = 4; /* RFC 2132 §3.3, §9.1, §9.2, §9.7, §9.11, §9.12 */
		break;
	case PXED_DHCP_OPTION_OVERLOAD:
	case PXED_DHCP_OPTION_MESSAGE_TYPE:
		want = 1; /* RFC 2132 §9.3, §9.6 */
		break;
	case PXED_DHCP_OPTION_MAX_SIZE:
		want = 2; /* RFC 2132 §9.10 */
		break;
	case PXED_DHCP_OPTION_CLIENT_NDI:
		want = 3; /* RFC 4578 §2.2: type, major, minor */
		break;
	case PXED_DHCP_OPTION_CLIENT_UUID:
		want = 17; /* RFC 4578 §2.3: type 0 and 16 bytes */
		break;
	case PXED_DHCP_OPTION_ROUTER:
	case PXED_DHCP_OPTION_DNS:
		multiple = 4, min = 4; /* RFC 2132 §3.5, §3.8 */
		break;
	case PXED_DHCP_OPTION_CLIENT_ARCH:
		multiple = 2, min = 2; /* RFC 4578 §2.1 */
		break;
	case PXED_DHCP_OPTION_CLIENT_ID:
		min = 2; /* RFC 2132 §9.14 */
		break;
	case PXED_DHCP_OPTION_PARAMETER_LIST:
	case PXED_DHCP_OPTION_VENDOR_CLASS:
	case PXED_DHCP_OPTION_USER_CLASS:
		min = 1;
		break;
	default:
		return TRUE;
	}
	if ((want != 0 && len != want) || len < min || (multiple != 0 && len % multiple != 0)) {
		g_set_error(error, PXED_DHCP_ERROR, PXED_DHCP_ERROR_BAD_OPTION,
			    "option %u has a wrong length (%u)", code, len);
		return FALSE;
	}
	if (code == PXED_DHCP_OPTION_CLIENT_UUID && value[0] != 0) {
		g_set_error(error, PXED_DHCP_ERROR, PXED_DHCP_ERROR_BAD_OPTION,
			    "option 97 has type %u, not 0 (RFC 4578 §2.3)", value[0]);
		return FALSE;
	}
	if (code == PXED_DHCP_OPTION_MAX_SIZE && (value[0] << 8 | value[1]) < 576) {
		g_set_error(error, PXED_DHCP_ERROR, PXED_DHCP_ERROR_BAD_OPTION,
			    "option 57 is below 576 (RFC 2132 §9.10)");
		return FALSE;
	}
	return TRUE;
}

static void
copy_text(char *dest, const guint8 *src, gsize size)
{
	gsize n = 0;
	while (n < size && src[n] != '\0')
		n++;
	memcpy(dest, src, n);
	dest[n] = '\0';
}

PxedDhcpMessage *
pxed_dhcp_message_parse(const guint8 *data, gsize len, GError **error)
{
	g_autoptr(PxedDhcpMessage) self = NULL;
	guint32 totals[256] = {0};
	guint32 cursor[256] = {0};
	guint8 overload = 0;
	Region regions[3];
	guint n_regions = 0;
	Options *o;
	guint32 offset = 0;

	g_return_val_if_fail(data != NULL || len == 0, NULL);

	if (len < PXED_DHCP_HEADER_SIZE) {
		g_set_error(error, PXED_DHCP_ERROR, PXED_DHCP_ERROR_TRUNCATED,
			    "%zu bytes, shorter than the %u of a DHCP header", len,
			    PXED_DHCP_HEADER_SIZE);
		return NULL;
	}
	if (len > G_MAXUINT16) {
		g_set_error(error, PXED_DHCP_ERROR, PXED_DHCP_ERROR_TRUNCATED,
			    "%zu bytes, longer than any UDP datagram", len);
		return NULL;
	}
	if (data[0] != PXED_DHCP_OP_REQUEST && data[0] != PXED_DHCP_OP_REPLY) {
		g_set_error(error, PXED_DHCP_ERROR, PXED_DHCP_ERROR_BAD_HEADER,
			    "op %u is neither BOOTREQUEST nor BOOTREPLY", data[0]);
		return NULL;
	}
	if (data[2] > 16) {
		g_set_error(error, PXED_DHCP_ERROR, PXED_DHCP_ERROR_BAD_HEADER,
			    "hlen %u is over 16", data[2]);
		return NULL;
	}
	if (memcmp(data + OFF_COOKIE, magic_cookie, sizeof(magic_cookie)) != 0) {
		g_set_error(error, PXED_DHCP_ERROR, PXED_DHCP_ERROR_BAD_HEADER,
			    "no DHCP magic cookie (RFC 2131 §3)");
		return NULL;
	}

	self = pxed_dhcp_message_new(data[0]);
	self->htype = data[1];
	self->hlen = data[2];
	self->hops = data[3];
	memcpy(&self->xid, data + 4, 4);
	self->xid = g_ntohl(self->xid);
	self->secs = (guint16)(data[8] << 8 | data[9]);
	self->flags = (guint16)(data[10] << 8 | data[11]);
	memcpy(&self->ciaddr, data + 12, 4);
	memcpy(&self->yiaddr, data + 16, 4);
	memcpy(&self->siaddr, data + 20, 4);
	memcpy(&self->giaddr, data + 24, 4);
	memcpy(self->chaddr, data + 28, 16);

	/* Pass 1: measure, and learn from option 52 which fields hold options. */
	regions[n_regions++] =
		(Region){data + PXED_DHCP_HEADER_SIZE, len - PXED_DHCP_HEADER_SIZE, "options"};
	if (!walk_region(&regions[0], totals, NULL, NULL, &overload, error))
		return NULL;
	/* RFC 2131 §4.1: `file` is read before `sname`. */
	if (overload & 1)
		regions[n_regions++] = (Region){data + OFF_FILE, FILE_SIZE, "file"};
	if (overload & 2)
		regions[n_regions++] = (Region){data + OFF_SNAME, SNAME_SIZE, "sname"};
	for (guint r = 1; r < n_regions; r++) {
		if (!walk_region(&regions[r], totals, NULL, NULL, NULL, error))
			return NULL;
	}
	if (!(overload & 1))
		copy_text(self->file, data + OFF_FILE, FILE_SIZE);
	if (!(overload & 2))
		copy_text(self->sname, data + OFF_SNAME, SNAME_SIZE);

	/* Pass 2: copy every instance of a code behind the previous ones. */
	o = options_get(self);
	for (guint code = 0; code < 256; code++) {
		o->offset[code] = offset;
		o->length[code] = totals[code];
		offset += totals[code];
	}
	g_byte_array_set_size(o->data, offset);
	for (guint r = 0; r < n_regions; r++) {
		if (!walk_region(&regions[r], NULL, o, cursor, NULL, error))
			return NULL;
	}
	for (guint i = 0; i < o->n_order; i++) {
		guint8 code = o->order[i];
		const guint8 *value = pxed_dhcp_message_get_option(self, code, NULL);
		if (!check_option_length(code, value, o->length[code], error))
			return NULL;
	}
	return g_steal_pointer(&self);
}

guint8
pxed_dhcp_message_get_type(const PxedDhcpMessage *self)
{
	gsize len = 0;
	const guint8 *value =
		pxed_dhcp_message_get_option(self, PXED_DHCP_OPTION_MESSAGE_TYPE, &len);
	return value != NULL && len == 1 ? value[0] : 0;
}

const char *
pxed_dhcp_type_to_string(guint8 type)
{
	static const char *const names[] = {
		"BOOTP", "DISCOVER", "OFFER",	"REQUEST", "DECLINE",
		"ACK",	 "NAK",	     "RELEASE", "INFORM",
	};
	return type < G_N_ELEMENTS(names) ? names[type] : "UNKNOWN";
}

const guint8 *
pxed_dhcp_message_get_option(const PxedDhcpMessage *self, guint8 code, gsize *len)
{
	Options *o = options_get(self);

	if (len != NULL)
		*len = 0;
	if (!options_has(o, code))
		return NULL;
	if (len != NULL)
		*len = o->length[code];
	/* a present zero-length option still yields a non-NULL pointer */
	return o->data->data != NULL ? o->data->data + o->offset[code] : (const guint8 *)"";
}

gboolean
pxed_dhcp_message_get_option_ipv4(const PxedDhcpMessage *self, guint8 code, guint32 *address)
{
	gsize len = 0;
	const guint8 *value = pxed_dhcp_message_get_option(self, code, &len);

	if (value == NULL || len != 4)
		return FALSE;
	memcpy(address, value, 4);
	return TRUE;
}

static char *
printable(const guint8 *value, gsize len)
{
	char *text = g_malloc(len + 1);
	for (gsize i = 0; i < len; i++)
		text[i] = value[i] >= 0x20 && value[i] < 0x7f ? (char)value[i] : '?';
	text[len] = '\0';
	return text;
}

char *
pxed_dhcp_message_get_option_string(const PxedDhcpMessage *self, guint8 code)
{
	gsize len = 0;
	const guint8 *value = pxed_dhcp_message_get_option(self, code, &len);

	if (value == NULL)
		return NULL;
	/* a trailing NUL some clients send is not part of the text */
	while (len > 0 && value[len - 1] == '\0')
		len--;
	return printable(value, len);
}

gboolean
pxed_dhcp_message_requests_option(const PxedDhcpMessage *self, guint8 code)
{
	gsize len = 0;
	const guint8 *list =
		pxed_dhcp_message_get_option(self, PXED_DHCP_OPTION_PARAMETER_LIST, &len);

	return list != NULL && memchr(list, code, len) != NULL;
}

/* ---- writing ---- */

void
pxed_dhcp_message_set_option(PxedDhcpMessage *self, guint8 code, const void *data, gsize len)
{
	Options *o = options_get(self);

	g_return_if_fail(code != PXED_DHCP_OPTION_PAD && code != PXED_DHCP_OPTION_END);
	g_return_if_fail(len <= MAX_OPTION);
	g_return_if_fail(data != NULL || len == 0);
	/* The old value, if any, stays unused in the buffer: messages are short-lived. */
	o->offset[code] = o->data->len;
	o->length[code] = (guint32)len;
	if (len > 0)
		g_byte_array_append(o->data, data, (guint)len);
	options_mark(o, code);
}

void
pxed_dhcp_message_set_option_u8(PxedDhcpMessage *self, guint8 code, guint8 value)
{
	pxed_dhcp_message_set_option(self, code, &value, 1);
}

void
pxed_dhcp_message_set_option_u16(PxedDhcpMessage *self, guint8 code, guint16 value)
{
	guint8 be[2] = {(guint8)(value >> 8), (guint8)value};
	pxed_dhcp_message_set_option(self, code, be, 2);
}

void
pxed_dhcp_message_set_option_u32(PxedDhcpMessage *self, guint8 code, guint32 value)
{
	guint32 be = g_htonl(value);
	pxed_dhcp_message_set_option(self, code, &be, 4);
}

void
pxed_dhcp_message_set_option_ipv4(PxedDhcpMessage *self, guint8 code, guint32 address)
{
	pxed_dhcp_message_set_option(self, code, &address, 4);
}

void
pxed_dhcp_message_set_option_string(PxedDhcpMessage *self, guint8 code, const char *value)
{
	pxed_dhcp_message_set_option(self, code, value, strlen(value));
}

void
pxed_dhcp_message_remove_option(PxedDhcpMessage *self, guint8 code)
{
	Options *o = options_get(self);

	if (!options_has(o, code))
		return;
	o->present[code >> 3] &= (guint8) ~(1u << (code & 7));
	for (guint i = 0; i < o->n_order; i++) {
		if (o->order[i] == code) {
			memmove(o->order + i, o->order + i + 1, o->n_order - i - 1);
			o->n_order--;
			break;
		}
	}
}

/* Bytes an option takes on the wire: 2 per started chunk of 255 (RFC 3396 §5). */
static gsize
encoded_size(guint32 len)
{
	guint32 chunks = len == 0 ? 1 : (len + 254) / 255;
	return len + 2 * (gsize)chunks;
}

static void
encode_option(GByteArray *out, guint8 code, const guint8 *value, guint32 len)
{
	do {
		guint8 chunk = (guint8)MIN(len, 255);
		guint8 head[2] = {code, chunk};
		g_byte_array_append(out, head, 2);
		if (chunk > 0)
			g_byte_array_append(out, value, chunk);
		value += chunk;
		len -= chunk;
	} while (len > 0);
}

/* What every reply must carry whatever else is left out: the message type, and
 * for an OFFER or ACK the server identifier, lease time and subnet mask
 * (RFC 2131 §4.3.1, table 3). A client drops a reply without them. */
static gboolean
is_essential(guint8 code)
{
	return code == PXED_DHCP_OPTION_MESSAGE_TYPE || code == PXED_DHCP_OPTION_SERVER_ID ||
	       code == PXED_DHCP_OPTION_LEASE_TIME || code == PXED_DHCP_OPTION_SUBNET_MASK;
}

/* Bytes the essential options take, plus the END option. */
static gsize
essential_size(const Options *o)
{
	gsize size = 1;

	for (guint i = 0; i < o->n_order; i++) {
		if (is_essential(o->order[i]))
			size += encoded_size(o->length[o->order[i]]);
	}
	return size;
}

gboolean
pxed_dhcp_message_relay_agent_fits(const PxedDhcpMessage *self, gsize max_size)
{
	Options *o = options_get(self);
	gsize limit = MAX(max_size, PXED_DHCP_MIN_MAX_SIZE);

	if (!options_has(o, PXED_DHCP_OPTION_RELAY_AGENT))
		return TRUE;
	return PXED_DHCP_HEADER_SIZE + essential_size(o) +
		       encoded_size(o->length[PXED_DHCP_OPTION_RELAY_AGENT]) <=
	       limit;
}

GBytes *
pxed_dhcp_message_build(const PxedDhcpMessage *self, gsize max_size)
{
	Options *o = options_get(self);
	GByteArray *out = g_byte_array_sized_new(BOOTP_SIZE);
	guint8 header[PXED_DHCP_HEADER_SIZE] = {0};
	guint32 be;
	gsize reserve; /* room kept for what comes later: essentials, option 82, END */
	gboolean agent;
	gsize limit = MAX(max_size, PXED_DHCP_MIN_MAX_SIZE);
	guint8 end = PXED_DHCP_OPTION_END;

	header[0] = self->op;
	header[1] = self->htype;
	header[2] = self->hlen;
	header[3] = self->hops;
	be = g_htonl(self->xid);
	memcpy(header + 4, &be, 4);
	header[8] = (guint8)(self->secs >> 8);
	header[9] = (guint8)self->secs;
	header[10] = (guint8)(self->flags >> 8);
	header[11] = (guint8)self->flags;
	memcpy(header + 12, &self->ciaddr, 4);
	memcpy(header + 16, &self->yiaddr, 4);
	memcpy(header + 20, &self->siaddr, 4);
	memcpy(header + 24, &self->giaddr, 4);
	memcpy(header + 28, self->chaddr, 16);
	memcpy(header + OFF_SNAME, self->sname, strnlen(self->sname, SNAME_SIZE));
	memcpy(header + OFF_FILE, self->file, strnlen(self->file, FILE_SIZE));
	memcpy(header + OFF_COOKIE, magic_cookie, 4);
	g_byte_array_append(out, header, sizeof(header));

	/* The essentials are kept room for from the start; the relay agent
	 * information only when it fits beside them (else the relay gets a reply
	 * without it rather than a reply without the essentials). */
	reserve = essential_size(o);
	agent = pxed_dhcp_message_relay_agent_fits(self, max_size);
	if (options_has(o, PXED_DHCP_OPTION_RELAY_AGENT)) {
		if (agent)
			reserve += encoded_size(o->length[PXED_DHCP_OPTION_RELAY_AGENT]);
		else
			g_debug("option 82 (%u bytes) left out: it does not fit",
				o->length[PXED_DHCP_OPTION_RELAY_AGENT]);
	}
	/* RFC 2131 §4.1 does not fix the order; option 53 first is what clients expect. */
	for (gint pass = 0; pass < 2; pass++) {
		for (guint i = 0; i < o->n_order; i++) {
			guint8 code = o->order[i];
			gsize size;
			if (code == PXED_DHCP_OPTION_RELAY_AGENT ||
			    (pass == 0) != (code == PXED_DHCP_OPTION_MESSAGE_TYPE))
				continue;
			size = encoded_size(o->length[code]);
			if (is_essential(code))
				reserve -= size; /* its room was kept: it is used now */
			if (out->len + size + reserve > limit) {
				g_debug("option %u (%u bytes) left out: the reply is full", code,
					o->length[code]);
				continue;
			}
			encode_option(out, code, pxed_dhcp_message_get_option(self, code, NULL),
				      o->length[code]);
		}
	}
	/* RFC 3046 §2.2: the relay agent information goes last. */
	if (options_has(o, PXED_DHCP_OPTION_RELAY_AGENT) && agent)
		encode_option(
			out, PXED_DHCP_OPTION_RELAY_AGENT,
			pxed_dhcp_message_get_option(self, PXED_DHCP_OPTION_RELAY_AGENT, NULL),
			o->length[PXED_DHCP_OPTION_RELAY_AGENT]);
	g_byte_array_append(out, &end, 1);
	if (out->len < BOOTP_SIZE) {
		guint old = out->len;
		g_byte_array_set_size(out, BOOTP_SIZE);
		memset(out->data + old, 0, BOOTP_SIZE - old);
	}
	return g_byte_array_free_to_bytes(out);
}

PxedDhcpMessage *
pxed_dhcp_message_new_reply(const PxedDhcpMessage *request, PxedDhcpType type)
{
	PxedDhcpMessage *reply = pxed_dhcp_message_new(PXED_DHCP_OP_REPLY);
	gsize len = 0;
	const guint8 *agent;

	reply->htype = request->htype;
	reply->hlen = request->hlen;
	reply->xid = request->xid;
	reply->flags = request->flags;
	reply->giaddr = request->giaddr;
	memcpy(reply->chaddr, request->chaddr, sizeof(reply->chaddr));
	pxed_dhcp_message_set_option_u8(reply, PXED_DHCP_OPTION_MESSAGE_TYPE, (guint8)type);
	agent = pxed_dhcp_message_get_option(request, PXED_DHCP_OPTION_RELAY_AGENT, &len);
	if (agent != NULL)
		pxed_dhcp_message_set_option(reply, PXED_DHCP_OPTION_RELAY_AGENT, agent, len);
	return reply;
}

/* ---- client identity ---- */

static char *
hex_pairs(const guint8 *data, gsize len)
{
	static const char digits[] = "0123456789abcdef";
	char *text = g_malloc(len * 3 + 1);
	char *p = text;

	for (gsize i = 0; i < len; i++) {
		if (i > 0)
			*p++ = ':';
		*p++ = digits[data[i] >> 4];
		*p++ = digits[data[i] & 15];
	}
	*p = '\0';
	return text;
}

char *
pxed_dhcp_message_get_client_id(const PxedDhcpMessage *self)
{
	gsize len = 0;
	const guint8 *id = pxed_dhcp_message_get_option(self, PXED_DHCP_OPTION_CLIENT_ID, &len);
	guint8 hw[17];

	if (id != NULL && len > 0)
		return hex_pairs(id, len);
	if (self->hlen == 0)
		return NULL;
	hw[0] = self->htype;
	memcpy(hw + 1, self->chaddr, self->hlen);
	return hex_pairs(hw, (gsize)self->hlen + 1);
}

/* RFC 3004 §4: a list of length-prefixed classes; iPXE sends a bare "iPXE". */
static char *
user_class(const guint8 *value, gsize len)
{
	gsize i = 0;

	while (i < len) {
		if (value[i] == 0 || i + 1 + value[i] > len)
			return printable(value, len); /* not a list: the whole value */
		i += 1 + (gsize)value[i];
	}
	return len > 0 ? printable(value + 1, value[0]) : NULL;
}

/* iPXE's encapsulated options (175): feature markers 0x10-0x4f, version 0xeb. */
static void
ipxe_attributes(PxedClient *client, const guint8 *value, gsize len)
{
	static const struct {
		guint8 code;
		const char *name;
	} features[] = {
		{0x10, "pxeext"},  {0x11, "iscsi"},	{0x12, "aoe"},	{0x13, "http"},
		{0x14, "https"},   {0x15, "tftp"},	{0x16, "ftp"},	{0x17, "dns"},
		{0x18, "bzimage"}, {0x19, "multiboot"}, {0x1a, "slam"}, {0x1b, "srp"},
		{0x20, "nbi"},	   {0x21, "pxe"},	{0x22, "elf"},	{0x23, "comboot"},
		{0x24, "efi"},	   {0x25, "fcoe"},	{0x26, "vlan"}, {0x27, "menu"},
		{0x28, "sdi"},	   {0x29, "nfs"},
	};
	g_autoptr(GString) names = g_string_new(NULL);
	gsize i = 0;

	while (i + 2 <= len && i + 2 + value[i + 1] <= len) {
		guint8 code = value[i];
		guint8 sublen = value[i + 1];
		const guint8 *sub = value + i + 2;

		for (guint f = 0; f < G_N_ELEMENTS(features); f++) {
			if (features[f].code == code) {
				g_string_append_printf(names, "%s%s", names->len ? "," : "",
						       features[f].name);
				break;
			}
		}
		if (code == 0xeb && sublen == 3) {
			g_autofree char *version =
				g_strdup_printf("%u.%u.%u", sub[0], sub[1], sub[2]);
			pxed_client_set_attribute(client, "ipxe-version", version);
		}
		i += 2 + (gsize)sublen;
	}
	pxed_client_set_attribute(client, "ipxe-features", names->str);
}

PxedClient *
pxed_dhcp_message_get_client(const PxedDhcpMessage *self)
{
	PxedClient *client = pxed_client_new();
	gsize len = 0;
	const guint8 *value;
	char *text;

	if (self->hlen > 0)
		pxed_client_set_mac(client, self->chaddr, self->hlen);
	value = pxed_dhcp_message_get_option(self, PXED_DHCP_OPTION_CLIENT_UUID, &len);
	if (value != NULL && len == 17)
		pxed_client_set_uuid(client, value + 1);
	value = pxed_dhcp_message_get_option(self, PXED_DHCP_OPTION_CLIENT_ARCH, &len);
	if (value != NULL && len >= 2)
		pxed_client_set_arch(client, value[0] << 8 | value[1]);
	text = pxed_dhcp_message_get_option_string(self, PXED_DHCP_OPTION_VENDOR_CLASS);
	pxed_client_set_vendor_class(client, text);
	g_free(text);
	value = pxed_dhcp_message_get_option(self, PXED_DHCP_OPTION_USER_CLASS, &len);
	if (value != NULL) {
		text = user_class(value, len);
		pxed_client_set_user_class(client, text);
		g_free(text);
	}
	text = pxed_dhcp_message_get_option_string(self, PXED_DHCP_OPTION_HOSTNAME);
	pxed_client_set_hostname(client, text);
	g_free(text);
	if (self->ciaddr != 0) {
		g_autoptr(GInetAddress) address = g_inet_address_new_from_bytes(
			(const guint8 *)&self->ciaddr, G_SOCKET_FAMILY_IPV4);
		pxed_client_set_address(client, address);
	}
	value = pxed_dhcp_message_get_option(self, PXED_DHCP_OPTION_CLIENT_ID, &len);
	if (value != NULL) {
		text = hex_pairs(value, len);
		pxed_client_set_attribute(client, "client-id", text);
		g_free(text);
	}
	value = pxed_dhcp_message_get_option(self, PXED_DHCP_OPTION_CLIENT_NDI, &len);
	if (value != NULL && len == 3) {
		text = g_strdup_printf("%s-%u.%u", value[0] == 1 ? "undi" : "type", value[1],
				       value[2]);
		pxed_client_set_attribute(client, "ndi", text);
		g_free(text);
	}
	value = pxed_dhcp_message_get_option(self, PXED_DHCP_OPTION_IPXE, &len);
	if (value != NULL)
		ipxe_attributes(client, value, len);
	if (self->giaddr != 0) {
		char buf[INET_ADDRSTRLEN];
		inet_ntop(AF_INET, &self->giaddr, buf, sizeof(buf));
		pxed_client_set_attribute(client, "relay", buf);
	}
	return client;
}

gboolean
pxed_dhcp_message_is_pxe(const PxedDhcpMessage *self)
{
	gsize len = 0;
	const guint8 *value =
		pxed_dhcp_message_get_option(self, PXED_DHCP_OPTION_VENDOR_CLASS, &len);

	return value != NULL && len >= 9 && memcmp(value, "PXEClient", 9) == 0;
}

static gboolean
is_http_client(const PxedDhcpMessage *self)
{
	gsize len = 0;
	const guint8 *value =
		pxed_dhcp_message_get_option(self, PXED_DHCP_OPTION_VENDOR_CLASS, &len);

	return value != NULL && len >= 10 && memcmp(value, "HTTPClient", 10) == 0;
}

void
pxed_dhcp_message_set_boot(PxedDhcpMessage *reply, const PxedDhcpMessage *request,
			   PxedBootReply *boot, guint32 next_server)
{
	const char *filename = pxed_boot_reply_get_filename(boot);
	const char *server = pxed_boot_reply_get_next_server(boot);
	const char *vendor = pxed_boot_reply_get_vendor_class(boot);
	struct in_addr parsed;
	gsize len = 0;
	const guint8 *uuid;

	if (server != NULL && inet_pton(AF_INET, server, &parsed) == 1)
		next_server = parsed.s_addr;
	reply->siaddr = next_server;
	if (filename != NULL) {
		gsize n = strlen(filename);
		/* RFC 2132 §9.5: option 67 carries what does not fit in `file` */
		if (n < sizeof(reply->file))
			memcpy(reply->file, filename, n + 1);
		if (n >= sizeof(reply->file) ||
		    pxed_dhcp_message_requests_option(request, PXED_DHCP_OPTION_BOOTFILE))
			pxed_dhcp_message_set_option_string(reply, PXED_DHCP_OPTION_BOOTFILE,
							    filename);
	}
	if (pxed_dhcp_message_requests_option(request, PXED_DHCP_OPTION_TFTP_SERVER)) {
		char buf[INET_ADDRSTRLEN];
		inet_ntop(AF_INET, &next_server, buf, sizeof(buf));
		pxed_dhcp_message_set_option_string(reply, PXED_DHCP_OPTION_TFTP_SERVER,
						    server != NULL && server[0] != '\0' ? server
											: buf);
	}
	if (!pxed_dhcp_message_is_pxe(request) && !is_http_client(request))
		return;
	/* UEFI HTTP Boot wants "HTTPClient" back; PXE firmware "PXEClient". */
	pxed_dhcp_message_set_option_string(reply, PXED_DHCP_OPTION_VENDOR_CLASS, vendor);
	if (g_str_has_prefix(vendor, "PXEClient")) {
		/* PXE 2.1 §2.3.5: sub-option 6, discovery control, bit 3: the boot file in
		 * this offer is to be downloaded, without menu or boot server discovery. */
		static const guint8 discovery[] = {6, 1, 8, 255};
		pxed_dhcp_message_set_option(reply, PXED_DHCP_OPTION_VENDOR_SPECIFIC, discovery,
					     sizeof(discovery));
	}
	uuid = pxed_dhcp_message_get_option(request, PXED_DHCP_OPTION_CLIENT_UUID, &len);
	if (uuid != NULL)
		pxed_dhcp_message_set_option(reply, PXED_DHCP_OPTION_CLIENT_UUID, uuid, len);
}
