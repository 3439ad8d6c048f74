/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <pxed/pxed.h>

G_BEGIN_DECLS

/*
 * The DHCPv4 packet codec of the DHCP-family plugins (dhcp, proxydhcp): RFC 2131
 * (message format), RFC 2132 (options), RFC 3396 (long options split over
 * several instances), RFC 4578 and the PXE 2.1 specification (PXE options).
 *
 * pxed_dhcp_message_parse() is a pure function over a byte buffer: every
 * length is checked before it is read, and anything malformed is refused with
 * an error saying what and where, never half-parsed.
 *
 * Internal to the DHCP family: a static library linked into each of their
 * modules (hidden symbols), not part of libpxed or the plugin ABI.
 */

#define PXED_DHCP_SERVER_PORT 67
#define PXED_DHCP_CLIENT_PORT 68
#define PXED_DHCP_PXE_PORT    4011 /* PXE boot server discovery (PXE 2.1 §2.2.3) */

/* The fixed part of a message (RFC 2131 §2) plus the magic cookie. */
#define PXED_DHCP_HEADER_SIZE 240
/* What every client must accept (RFC 2131 §2: 576-byte datagrams, less IP and UDP). */
#define PXED_DHCP_MIN_MAX_SIZE 548

#define PXED_DHCP_OP_REQUEST 1 /* BOOTREQUEST */
#define PXED_DHCP_OP_REPLY   2 /* BOOTREPLY */

#define PXED_DHCP_FLAG_BROADCAST 0x8000 /* RFC 2131 §2, figure 2 */

/* Message types (option 53, RFC 2132 §9.6). */
typedef enum {
	PXED_DHCP_DISCOVER = 1,
	PXED_DHCP_OFFER = 2,
	PXED_DHCP_REQUEST = 3,
	PXED_DHCP_DECLINE = 4,
	PXED_DHCP_ACK = 5,
	PXED_DHCP_NAK = 6,
	PXED_DHCP_RELEASE = 7,
	PXED_DHCP_INFORM = 8,
} PxedDhcpType;

/* The option codes pxed reads or writes. */
typedef enum {
	PXED_DHCP_OPTION_PAD = 0,
	PXED_DHCP_OPTION_SUBNET_MASK = 1,
	PXED_DHCP_OPTION_ROUTER = 3,
	PXED_DHCP_OPTION_DNS = 6,
	PXED_DHCP_OPTION_HOSTNAME = 12,
	PXED_DHCP_OPTION_DOMAIN = 15,
	PXED_DHCP_OPTION_VENDOR_SPECIFIC = 43,
	PXED_DHCP_OPTION_REQUESTED_ADDRESS = 50,
	PXED_DHCP_OPTION_LEASE_TIME = 51,
	PXED_DHCP_OPTION_OVERLOAD = 52,
	PXED_DHCP_OPTION_MESSAGE_TYPE = 53,
	PXED_DHCP_OPTION_SERVER_ID = 54,
	PXED_DHCP_OPTION_PARAMETER_LIST = 55,
	PXED_DHCP_OPTION_MESSAGE = 56,
	PXED_DHCP_OPTION_MAX_SIZE = 57,
	PXED_DHCP_OPTION_RENEWAL_TIME = 58,
	PXED_DHCP_OPTION_REBINDING_TIME = 59,
	PXED_DHCP_OPTION_VENDOR_CLASS = 60,
	PXED_DHCP_OPTION_CLIENT_ID = 61,
	PXED_DHCP_OPTION_TFTP_SERVER = 66,
	PXED_DHCP_OPTION_BOOTFILE = 67,
	PXED_DHCP_OPTION_USER_CLASS = 77,
	PXED_DHCP_OPTION_RELAY_AGENT = 82,
	PXED_DHCP_OPTION_CLIENT_ARCH = 93,
	PXED_DHCP_OPTION_CLIENT_NDI = 94,
	PXED_DHCP_OPTION_CLIENT_UUID = 97,
	PXED_DHCP_OPTION_IPXE = 175,
	PXED_DHCP_OPTION_END = 255,
} PxedDhcpOption;

#define PXED_DHCP_ERROR (pxed_dhcp_error_quark())

typedef enum {
	PXED_DHCP_ERROR_TRUNCATED,  /* shorter than the fixed header */
	PXED_DHCP_ERROR_BAD_HEADER, /* op, hlen or magic cookie */
	PXED_DHCP_ERROR_BAD_OPTION, /* an option past the end, or of a wrong length or value */
} PxedDhcpError;

GQuark pxed_dhcp_error_quark(void);

/**
 * PxedDhcpMessage:
 *
 * One DHCP message: the fixed fields (RFC 2131 §2) in the open, the options
 * behind functions. IPv4 addresses are in network byte order, as in
 * `struct in_addr`; the other integers in host byte order. Allocate with
 * pxed_dhcp_message_new() or pxed_dhcp_message_parse(), never on the stack.
 */
typedef struct {
	guint8 op; /* PXED_DHCP_OP_REQUEST or PXED_DHCP_OP_REPLY */
	guint8 htype;
	guint8 hlen; /* 0..16 */
	guint8 hops;
	guint32 xid;
	guint16 secs;
	guint16 flags; /* PXED_DHCP_FLAG_BROADCAST */
	guint32 ciaddr;
	guint32 yiaddr;
	guint32 siaddr;
	guint32 giaddr;
	guint8 chaddr[16];
	char sname[65]; /* up to the first NUL; empty when it carried options (overload) */
	char file[129];
	/*< private >*/
	gpointer priv;
} PxedDhcpMessage;

PxedDhcpMessage *pxed_dhcp_message_new(guint8 op);
void pxed_dhcp_message_free(PxedDhcpMessage *self);

/**
 * pxed_dhcp_message_parse:
 *
 * Reads a message, options included: the `options` field, then `file` and
 * `sname` when option 52 says they carry options (RFC 2131 §4.1). Several
 * instances of one option are joined into one value (RFC 3396). Options whose
 * length is fixed by their RFC are checked.
 *
 * Returns: (transfer full): the message, or %NULL with a PXED_DHCP_ERROR
 */
PxedDhcpMessage *pxed_dhcp_message_parse(const guint8 *data, gsize len, GError **error);

/**
 * pxed_dhcp_message_build:
 * @max_size: the largest message the peer accepts (at least
 *   PXED_DHCP_MIN_MAX_SIZE is used)
 *
 * Writes the message: option 53 first, option 82 last (RFC 3046 §2.2), the
 * others in the order they were set, values longer than 255 bytes split
 * (RFC 3396), padded to the 300 bytes of a BOOTP message (RFC 1542 §2.1). An
 * option that does not fit in @max_size is left out, except options 53, 54,
 * 51 and 1, for which room is always kept; option 82 is left out whole when
 * it does not fit beside them.
 */
GBytes *pxed_dhcp_message_build(const PxedDhcpMessage *self, gsize max_size);

/* Whether the message's option 82 (if any) fits in @max_size beside options
 * 53, 54, 51 and 1: what pxed_dhcp_message_build() decides. */
gboolean pxed_dhcp_message_relay_agent_fits(const PxedDhcpMessage *self, gsize max_size);

/**
 * pxed_dhcp_message_new_reply:
 * @type: the reply's message type (option 53)
 *
 * A BOOTREPLY to @request with xid, flags, giaddr, htype, hlen and chaddr
 * copied (RFC 2131 §4.3, table 3) and option 53 set; option 82 is echoed when
 * the request carried it (RFC 3046 §2.2).
 */
PxedDhcpMessage *pxed_dhcp_message_new_reply(const PxedDhcpMessage *request, PxedDhcpType type);

/* Option 53, or 0 when the message has none (plain BOOTP). */
guint8 pxed_dhcp_message_get_type(const PxedDhcpMessage *self);
const char *pxed_dhcp_type_to_string(guint8 type);

/* The option's value (every instance joined), or %NULL when absent. */
const guint8 *pxed_dhcp_message_get_option(const PxedDhcpMessage *self, guint8 code, gsize *len);
/* A 4-byte option as an address in network byte order; %FALSE when absent. */
gboolean pxed_dhcp_message_get_option_ipv4(const PxedDhcpMessage *self, guint8 code,
					   guint32 *address);
/* The option as text, non-printable bytes replaced by '?', or %NULL when absent. */
char *pxed_dhcp_message_get_option_string(const PxedDhcpMessage *self, guint8 code);
/* Whether option 55 (parameter request list) names @code. */
gboolean pxed_dhcp_message_requests_option(const PxedDhcpMessage *self, guint8 code);

/* Sets (replaces) an option; @len up to 65535, split on output when over 255. */
void pxed_dhcp_message_set_option(PxedDhcpMessage *self, guint8 code, const void *data, gsize len);
void pxed_dhcp_message_set_option_u8(PxedDhcpMessage *self, guint8 code, guint8 value);
void pxed_dhcp_message_set_option_u16(PxedDhcpMessage *self, guint8 code, guint16 value);
void pxed_dhcp_message_set_option_u32(PxedDhcpMessage *self, guint8 code, guint32 value);
/* @address in network byte order */
void pxed_dhcp_message_set_option_ipv4(PxedDhcpMessage *self, guint8 code, guint32 address);
void pxed_dhcp_message_set_option_string(PxedDhcpMessage *self, guint8 code, const char *value);
void pxed_dhcp_message_remove_option(PxedDhcpMessage *self, guint8 code);

/**
 * pxed_dhcp_message_get_client_id:
 *
 * The key a server files the client's lease under (RFC 2131 §4.2): option 61
 * when present, else the hardware type and address, as lower-case hex pairs
 * separated by ':' ("01:52:54:00:12:34:56"). %NULL when the message has
 * neither.
 */
char *pxed_dhcp_message_get_client_id(const PxedDhcpMessage *self);

/**
 * pxed_dhcp_message_get_client:
 *
 * The client identity a request carries, for the boot pipeline: hardware
 * address, UUID (97), architecture (93), vendor class (60), user class (77,
 * RFC 3004 or iPXE's bare "iPXE"), host name (12), ciaddr, and as attributes
 * `client-id` (61), `ndi` (94, "undi-2.1"), `ipxe-version` and `ipxe-features`
 * (175), `relay` (giaddr). Text is reduced to printable ASCII.
 */
PxedClient *pxed_dhcp_message_get_client(const PxedDhcpMessage *self);

/* Whether the request's option 60 starts with "PXEClient" (PXE 2.1 §2.2.1). */
gboolean pxed_dhcp_message_is_pxe(const PxedDhcpMessage *self);

/**
 * pxed_dhcp_message_set_boot:
 * @next_server: the address to put in siaddr when @boot names none (network
 *   byte order)
 *
 * Puts the boot pipeline's answer into a reply to @request: siaddr, `file`
 * (and option 67 when the name is too long for `file` or the client asked for
 * it), option 66 when asked, and for a PXE or HTTP Boot client option 60 with
 * the reply's vendor class, plus for "PXEClient" option 43 with PXE discovery
 * control 8 — boot the file named here, no menu, no further discovery (PXE 2.1
 * §2.3.5) — and option 97 echoed (PXE 2.1 §2.2.3).
 */
void pxed_dhcp_message_set_boot(PxedDhcpMessage *reply, const PxedDhcpMessage *request,
				PxedBootReply *boot, guint32 next_server);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(PxedDhcpMessage, pxed_dhcp_message_free)

G_END_DECLS
