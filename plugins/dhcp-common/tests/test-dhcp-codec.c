/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The DHCP family's codec: round trips, PXE identity, and every hostile input. */
#include <pxed/pxed.h>

#include "pxed-dhcp.h"

#include <arpa/inet.h>

static const guint8 mac[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};

static guint32
ip(const char *text)
{
	struct in_addr in;
	g_assert_cmpint(inet_pton(AF_INET, text, &in), ==, 1);
	return in.s_addr;
}

/* A raw request: fixed header, cookie, then @options as given (END included by the caller). */
static GByteArray *
raw_request(const guint8 *options, gsize len)
{
	GByteArray *out = g_byte_array_new();
	guint8 header[240] = {0};

	header[0] = 1;
	header[1] = 1;
	header[2] = 6;
	header[4] = 0xde, header[5] = 0xad, header[6] = 0xbe, header[7] = 0xef;
	memcpy(header + 28, mac, 6);
	header[236] = 99, header[237] = 130, header[238] = 83, header[239] = 99;
	g_byte_array_append(out, header, sizeof(header));
	if (len > 0)
		g_byte_array_append(out, options, (guint)len);
	return out;
}

static PxedDhcpMessage *
parse_raw(GByteArray *raw, GError **error)
{
	return pxed_dhcp_message_parse(raw->data, raw->len, error);
}

static void
test_round_trip(void)
{
	g_autoptr(PxedDhcpMessage) msg = pxed_dhcp_message_new(PXED_DHCP_OP_REQUEST);
	g_autoptr(PxedDhcpMessage) back = NULL;
	g_autoptr(GBytes) bytes = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree char *long_value = g_strnfill(700, 'x');
	g_autofree char *text = NULL;
	const guint8 *value;
	gsize len = 0;
	guint32 addr = 0;

	msg->xid = 0x01020304;
	msg->secs = 7;
	msg->flags = PXED_DHCP_FLAG_BROADCAST;
	msg->ciaddr = ip("10.250.0.9");
	msg->giaddr = ip("10.250.1.1");
	memcpy(msg->chaddr, mac, 6);
	g_strlcpy(msg->file, "pxelinux.0", sizeof(msg->file));
	pxed_dhcp_message_set_option_string(msg, PXED_DHCP_OPTION_HOSTNAME, "node1");
	pxed_dhcp_message_set_option_u8(msg, PXED_DHCP_OPTION_MESSAGE_TYPE, PXED_DHCP_REQUEST);
	pxed_dhcp_message_set_option_ipv4(msg, PXED_DHCP_OPTION_REQUESTED_ADDRESS,
					  ip("10.250.0.50"));
	pxed_dhcp_message_set_option_u16(msg, PXED_DHCP_OPTION_MAX_SIZE, 1500);
	pxed_dhcp_message_set_option_string(msg, 224, long_value); /* split in three */
	pxed_dhcp_message_set_option(msg, PXED_DHCP_OPTION_RELAY_AGENT,
				     "\x01\x02"
				     "ab",
				     4);

	bytes = pxed_dhcp_message_build(msg, 1500);
	value = g_bytes_get_data(bytes, &len);
	g_assert_cmpuint(len, >=, 300);
	/* option 53 comes first after the cookie */
	g_assert_cmpuint(value[240], ==, PXED_DHCP_OPTION_MESSAGE_TYPE);

	back = pxed_dhcp_message_parse(value, len, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(back->op, ==, PXED_DHCP_OP_REQUEST);
	g_assert_cmpuint(back->xid, ==, 0x01020304);
	g_assert_cmpuint(back->secs, ==, 7);
	g_assert_cmpuint(back->flags, ==, PXED_DHCP_FLAG_BROADCAST);
	g_assert_cmpuint(back->ciaddr, ==, ip("10.250.0.9"));
	g_assert_cmpuint(back->giaddr, ==, ip("10.250.1.1"));
	g_assert_cmpmem(back->chaddr, 6, mac, 6);
	g_assert_cmpstr(back->file, ==, "pxelinux.0");
	g_assert_cmpuint(pxed_dhcp_message_get_type(back), ==, PXED_DHCP_REQUEST);
	g_assert_true(
		pxed_dhcp_message_get_option_ipv4(back, PXED_DHCP_OPTION_REQUESTED_ADDRESS, &addr));
	g_assert_cmpuint(addr, ==, ip("10.250.0.50"));
	text = pxed_dhcp_message_get_option_string(back, PXED_DHCP_OPTION_HOSTNAME);
	g_assert_cmpstr(text, ==, "node1");
	value = pxed_dhcp_message_get_option(back, 224, &len);
	g_assert_cmpuint(len, ==, 700);
	g_assert_cmpmem(value, len, long_value, 700);
	/* option 82 is written last */
	value = g_bytes_get_data(bytes, &len);
	{
		gsize i = 240;
		guint8 last = 0;
		while (i < len && value[i] != 255) {
			if (value[i] == 0) {
				i++;
				continue;
			}
			last = value[i];
			i += 2 + value[i + 1];
		}
		g_assert_cmpuint(last, ==, PXED_DHCP_OPTION_RELAY_AGENT);
	}
	g_assert_null(pxed_dhcp_message_get_option(back, 250, NULL));
}

static void
test_overload(void)
{
	/* options field: 53=DISCOVER, 52=3 (file and sname carry options) */
	const guint8 opts[] = {53, 1, 1, 52, 1, 3, 255};
	g_autoptr(GByteArray) raw = raw_request(opts, sizeof(opts));
	g_autoptr(PxedDhcpMessage) msg = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree char *host = NULL;
	g_autofree char *vendor = NULL;
	const guint8 *value;
	gsize len = 0;

	/* file: hostname "abc" then the first half of option 60; sname: the rest */
	memcpy(raw->data + 108,
	       "\x0c\x03"
	       "abc"
	       "\x3c\x04"
	       "PXEC"
	       "\xff",
	       12);
	memcpy(raw->data + 44,
	       "\x3c\x05"
	       "lient"
	       "\xff",
	       8);
	msg = parse_raw(raw, &error);
	g_assert_no_error(error);
	g_assert_cmpstr(msg->file, ==, "");
	g_assert_cmpstr(msg->sname, ==, "");
	host = pxed_dhcp_message_get_option_string(msg, PXED_DHCP_OPTION_HOSTNAME);
	g_assert_cmpstr(host, ==, "abc");
	/* RFC 3396: file before sname, joined */
	vendor = pxed_dhcp_message_get_option_string(msg, PXED_DHCP_OPTION_VENDOR_CLASS);
	g_assert_cmpstr(vendor, ==, "PXEClient");
	g_assert_true(pxed_dhcp_message_is_pxe(msg));
	value = pxed_dhcp_message_get_option(msg, PXED_DHCP_OPTION_OVERLOAD, &len);
	g_assert_cmpuint(len, ==, 1);
	g_assert_cmpuint(value[0], ==, 3);
}

static void
test_client_identity(void)
{
	guint8 opts[128];
	gsize n = 0;
	g_autoptr(GByteArray) raw = NULL;
	g_autoptr(PxedDhcpMessage) msg = NULL;
	g_autoptr(PxedClient) client = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree char *id = NULL;

#define PUT(...)                                                                                   \
	do {                                                                                       \
		const guint8 b[] = {__VA_ARGS__};                                                  \
		memcpy(opts + n, b, sizeof(b));                                                    \
		n += sizeof(b);                                                                    \
	} while (0)
	PUT(53, 1, 1);
	PUT(60, 32, 'P', 'X', 'E', 'C', 'l', 'i', 'e', 'n', 't', ':', 'A', 'r', 'c', 'h', ':', '0',
	    '0', '0', '0', '7', ':', 'U', 'N', 'D', 'I', ':', '0', '0', '3', '0', '1', '6');
	PUT(93, 2, 0, 7);
	PUT(94, 3, 1, 3, 16);
	PUT(97, 17, 0, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd,
	    0xee, 0xff, 0x00);
	PUT(77, 4, 'i', 'P', 'X', 'E');
	PUT(175, 8, 0x13, 1, 1, 0xeb, 3, 1, 0, 0); /* feature http, version 1.0.0 */
	PUT(12, 5, 'n', 'o', 'd', 'e', '1');
	PUT(255);
#undef PUT
	raw = raw_request(opts, n);
	msg = parse_raw(raw, &error);
	g_assert_no_error(error);
	client = pxed_dhcp_message_get_client(msg);
	g_assert_cmpstr(pxed_client_get_mac_string(client), ==, "52:54:00:12:34:56");
	g_assert_cmpint(pxed_client_get_arch(client), ==, 7);
	g_assert_cmpstr(pxed_client_get_uuid_string(client), ==,
			"11223344-5566-7788-99aa-bbccddeeff00");
	g_assert_cmpstr(pxed_client_get_vendor_class(client), ==,
			"PXEClient:Arch:00007:UNDI:003016");
	g_assert_cmpstr(pxed_client_get_user_class(client), ==, "iPXE");
	g_assert_cmpstr(pxed_client_get_hostname(client), ==, "node1");
	g_assert_cmpstr(pxed_client_get_attribute(client, "ndi"), ==, "undi-3.16");
	g_assert_cmpstr(pxed_client_get_attribute(client, "ipxe-features"), ==, "http");
	g_assert_cmpstr(pxed_client_get_attribute(client, "ipxe-version"), ==, "1.0.0");
	id = pxed_dhcp_message_get_client_id(msg);
	g_assert_cmpstr(id, ==, "01:52:54:00:12:34:56");
}

static void
test_user_class_rfc3004(void)
{
	const guint8 opts[] = {53, 1, 1, 77, 9, 4, 'i', 'P', 'X', 'E', 3, 'a', 'b', 'c', 255};
	g_autoptr(GByteArray) raw = raw_request(opts, sizeof(opts));
	g_autoptr(PxedDhcpMessage) msg = parse_raw(raw, NULL);
	g_autoptr(PxedClient) client = pxed_dhcp_message_get_client(msg);

	g_assert_cmpstr(pxed_client_get_user_class(client), ==, "iPXE");
}

static void
test_client_id_option(void)
{
	const guint8 opts[] = {53, 1, 1, 61, 4, 0xff, 0x00, 0xab, 0x10, 255};
	g_autoptr(GByteArray) raw = raw_request(opts, sizeof(opts));
	g_autoptr(PxedDhcpMessage) msg = parse_raw(raw, NULL);
	g_autofree char *id = pxed_dhcp_message_get_client_id(msg);

	g_assert_cmpstr(id, ==, "ff:00:ab:10");
}

static void
expect_refused(const guint8 *data, gsize len, PxedDhcpError code)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(PxedDhcpMessage) msg = pxed_dhcp_message_parse(data, len, &error);

	g_assert_null(msg);
	g_assert_error(error, PXED_DHCP_ERROR, (gint)code);
	g_test_message("refused: %s", error->message);
}

static void
test_truncated(void)
{
	const guint8 opts[] = {53, 1, 1, 255};
	g_autoptr(GByteArray) raw = raw_request(opts, sizeof(opts));

	expect_refused(raw->data, 0, PXED_DHCP_ERROR_TRUNCATED);
	for (gsize len = 1; len < 240; len += 7)
		expect_refused(raw->data, len, PXED_DHCP_ERROR_TRUNCATED);
	expect_refused(raw->data, 239, PXED_DHCP_ERROR_TRUNCATED);
	/* cut inside an option: past the end */
	expect_refused(raw->data, 242, PXED_DHCP_ERROR_BAD_OPTION);
	expect_refused(raw->data, 241, PXED_DHCP_ERROR_BAD_OPTION);
}

static void
test_bad_cookie(void)
{
	const guint8 opts[] = {53, 1, 1, 255};
	g_autoptr(GByteArray) raw = raw_request(opts, sizeof(opts));

	raw->data[239] = 98;
	expect_refused(raw->data, raw->len, PXED_DHCP_ERROR_BAD_HEADER);
}

static void
test_bad_hlen(void)
{
	const guint8 opts[] = {53, 1, 1, 255};
	g_autoptr(GByteArray) raw = raw_request(opts, sizeof(opts));

	raw->data[2] = 17;
	expect_refused(raw->data, raw->len, PXED_DHCP_ERROR_BAD_HEADER);
	raw->data[2] = 255;
	expect_refused(raw->data, raw->len, PXED_DHCP_ERROR_BAD_HEADER);
	raw->data[2] = 16;
	{
		g_autoptr(PxedDhcpMessage) msg = parse_raw(raw, NULL);
		g_assert_nonnull(msg);
	}
}

static void
test_bad_op(void)
{
	const guint8 opts[] = {53, 1, 1, 255};
	g_autoptr(GByteArray) raw = raw_request(opts, sizeof(opts));

	raw->data[0] = 3;
	expect_refused(raw->data, raw->len, PXED_DHCP_ERROR_BAD_HEADER);
}

static void
test_option_past_end(void)
{
	const guint8 over[] = {53, 1, 1, 12, 200, 'a', 'b'};
	const guint8 no_len[] = {53, 1, 1, 12};
	g_autoptr(GByteArray) raw1 = raw_request(over, sizeof(over));
	g_autoptr(GByteArray) raw2 = raw_request(no_len, sizeof(no_len));
	/* in an overloaded file field */
	const guint8 overload[] = {53, 1, 1, 52, 1, 1, 255};
	g_autoptr(GByteArray) raw3 = raw_request(overload, sizeof(overload));

	expect_refused(raw1->data, raw1->len, PXED_DHCP_ERROR_BAD_OPTION);
	expect_refused(raw2->data, raw2->len, PXED_DHCP_ERROR_BAD_OPTION);
	memset(raw3->data + 108, 0, 128);
	raw3->data[108 + 126] = 12;
	raw3->data[108 + 127] = 9;
	expect_refused(raw3->data, raw3->len, PXED_DHCP_ERROR_BAD_OPTION);
}

static void
test_wrong_lengths(void)
{
	const guint8 cases[][8] = {
		{53, 2, 1, 1, 255},    {53, 0, 255},
		{50, 3, 1, 2, 3, 255}, {54, 5, 1, 2, 3, 4, 5, 255},
		{51, 2, 0, 1, 255},    {57, 1, 5, 255},
		{57, 2, 1, 0, 255}, /* 256 < 576 */
		{93, 1, 0, 255},       {93, 3, 0, 0, 7, 255},
		{94, 2, 1, 2, 255},    {61, 1, 1, 255},
		{52, 1, 4, 255},       {52, 2, 1, 1, 255},
		{3, 3, 1, 2, 3, 255},  {1, 1, 255, 255},
	};
	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(GByteArray) raw = raw_request(cases[i], 2 + cases[i][1] + 1);
		expect_refused(raw->data, raw->len, PXED_DHCP_ERROR_BAD_OPTION);
	}
	{
		/* option 97 of the right length but not type 0 */
		guint8 uuid[20] = {97, 17, 1};
		uuid[19] = 255;
		g_autoptr(GByteArray) raw = raw_request(uuid, sizeof(uuid));
		expect_refused(raw->data, raw->len, PXED_DHCP_ERROR_BAD_OPTION);
	}
	{
		/* a split option whose pieces add up to a wrong length */
		const guint8 split[] = {53, 1, 1, 54, 2, 1, 2, 54, 1, 3, 255};
		g_autoptr(GByteArray) raw = raw_request(split, sizeof(split));
		expect_refused(raw->data, raw->len, PXED_DHCP_ERROR_BAD_OPTION);
	}
}

static void
test_many_options(void)
{
	/* 10 000 options: zero-length private ones, then 5 000 one-byte pieces of
	 * option 12 that RFC 3396 joins into one value. Linear time, no crash. */
	g_autoptr(GByteArray) opts = g_byte_array_new();
	g_autoptr(GByteArray) raw = NULL;
	g_autoptr(PxedDhcpMessage) msg = NULL;
	g_autoptr(GError) error = NULL;
	gint64 start = g_get_monotonic_time();
	const guint8 type[] = {53, 1, 1};
	gsize len = 0;

	g_byte_array_append(opts, type, sizeof(type));
	for (guint i = 0; i < 5000; i++) {
		const guint8 empty[] = {250, 0};
		g_byte_array_append(opts, empty, 2);
	}
	for (guint i = 0; i < 5000; i++) {
		const guint8 piece[] = {12, 1, 'a'};
		g_byte_array_append(opts, piece, 3);
	}
	g_byte_array_append(opts, (const guint8 *)"\xff", 1);
	raw = raw_request(opts->data, opts->len);
	msg = parse_raw(raw, &error);
	g_assert_no_error(error);
	g_assert_nonnull(pxed_dhcp_message_get_option(msg, PXED_DHCP_OPTION_HOSTNAME, &len));
	g_assert_cmpuint(len, ==, 5000);
	g_assert_nonnull(pxed_dhcp_message_get_option(msg, 250, &len));
	g_assert_cmpuint(len, ==, 0);
	g_assert_cmpint(g_get_monotonic_time() - start, <, 2 * G_USEC_PER_SEC);
}

static void
test_unknown_type(void)
{
	const guint8 opts[] = {53, 1, 42, 255};
	g_autoptr(GByteArray) raw = raw_request(opts, sizeof(opts));
	g_autoptr(PxedDhcpMessage) msg = parse_raw(raw, NULL);

	/* parsed, and the type is reported as it is: servers ignore it */
	g_assert_nonnull(msg);
	g_assert_cmpuint(pxed_dhcp_message_get_type(msg), ==, 42);
	g_assert_cmpstr(pxed_dhcp_type_to_string(42), ==, "UNKNOWN");
}

static void
test_no_end_tolerated(void)
{
	/* RFC 2131 wants an END; real clients sometimes stop with padding only */
	const guint8 opts[] = {53, 1, 3, 0, 0};
	g_autoptr(GByteArray) raw = raw_request(opts, sizeof(opts));
	g_autoptr(PxedDhcpMessage) msg = parse_raw(raw, NULL);

	g_assert_nonnull(msg);
	g_assert_cmpuint(pxed_dhcp_message_get_type(msg), ==, PXED_DHCP_REQUEST);
}

static void
test_reply_and_boot(void)
{
	const guint8 opts[] = {53,  1,	1, 60, 9,  'P', 'X', 'E', 'C', 'l', 'i', 'e', 'n',
			       't', 55, 3, 1,  66, 67,	82,  4,	  1,   2,   'x', 'y', 255};
	g_autoptr(GByteArray) raw = raw_request(opts, sizeof(opts));
	g_autoptr(PxedDhcpMessage) request = parse_raw(raw, NULL);
	g_autoptr(PxedDhcpMessage) reply = NULL;
	g_autoptr(PxedBootReply) boot = pxed_boot_reply_new();
	g_autoptr(GBytes) bytes = NULL;
	g_autoptr(PxedDhcpMessage) back = NULL;
	g_autofree char *file = NULL;
	g_autofree char *server = NULL;
	g_autofree char *vendor = NULL;
	const guint8 *value;
	gsize len = 0;

	reply = pxed_dhcp_message_new_reply(request, PXED_DHCP_OFFER);
	g_assert_cmpuint(reply->op, ==, PXED_DHCP_OP_REPLY);
	g_assert_cmpuint(reply->xid, ==, 0xdeadbeef);
	g_assert_cmpmem(reply->chaddr, 6, mac, 6);
	pxed_boot_reply_set_filename(boot, "undionly.kpxe");
	pxed_dhcp_message_set_boot(reply, request, boot, ip("10.250.0.1"));
	bytes = pxed_dhcp_message_build(reply, 0);
	g_assert_cmpuint(g_bytes_get_size(bytes), <=, PXED_DHCP_MIN_MAX_SIZE);
	back = pxed_dhcp_message_parse(g_bytes_get_data(bytes, NULL), g_bytes_get_size(bytes),
				       NULL);
	g_assert_nonnull(back);
	g_assert_cmpuint(pxed_dhcp_message_get_type(back), ==, PXED_DHCP_OFFER);
	g_assert_cmpstr(back->file, ==, "undionly.kpxe");
	g_assert_cmpuint(back->siaddr, ==, ip("10.250.0.1"));
	file = pxed_dhcp_message_get_option_string(back, PXED_DHCP_OPTION_BOOTFILE);
	g_assert_cmpstr(file, ==, "undionly.kpxe");
	server = pxed_dhcp_message_get_option_string(back, PXED_DHCP_OPTION_TFTP_SERVER);
	g_assert_cmpstr(server, ==, "10.250.0.1");
	vendor = pxed_dhcp_message_get_option_string(back, PXED_DHCP_OPTION_VENDOR_CLASS);
	g_assert_cmpstr(vendor, ==, "PXEClient");
	value = pxed_dhcp_message_get_option(back, PXED_DHCP_OPTION_VENDOR_SPECIFIC, &len);
	g_assert_cmpmem(value, len, "\x06\x01\x08\xff", 4);
	/* option 82 echoed */
	value = pxed_dhcp_message_get_option(back, PXED_DHCP_OPTION_RELAY_AGENT, &len);
	g_assert_cmpmem(value, len, "\x01\x02xy", 4);
}

static void
test_reply_too_big(void)
{
	g_autoptr(PxedDhcpMessage) msg = pxed_dhcp_message_new(PXED_DHCP_OP_REPLY);
	g_autofree char *big = g_strnfill(400, 'z');
	g_autoptr(GBytes) bytes = NULL;
	g_autoptr(PxedDhcpMessage) back = NULL;

	pxed_dhcp_message_set_option_u8(msg, PXED_DHCP_OPTION_MESSAGE_TYPE, PXED_DHCP_ACK);
	pxed_dhcp_message_set_option_ipv4(msg, PXED_DHCP_OPTION_SERVER_ID, ip("10.0.0.1"));
	pxed_dhcp_message_set_option_string(msg, 224, big);
	bytes = pxed_dhcp_message_build(msg, 576);
	g_assert_cmpuint(g_bytes_get_size(bytes), <=, PXED_DHCP_MIN_MAX_SIZE);
	back = pxed_dhcp_message_parse(g_bytes_get_data(bytes, NULL), g_bytes_get_size(bytes),
				       NULL);
	g_assert_nonnull(back);
	g_assert_cmpuint(pxed_dhcp_message_get_type(back), ==, PXED_DHCP_ACK);
	g_assert_null(pxed_dhcp_message_get_option(back, 224, NULL));
}

/* Option 82 too long for the reply: the reply still carries 53, 54, 51 and 1
 * (a client drops an OFFER without them), the relay agent information is left
 * out whole, and an 82 that fits is still written. */
static void
test_relay_agent_too_big(void)
{
	g_autoptr(PxedDhcpMessage) msg = pxed_dhcp_message_new(PXED_DHCP_OP_REPLY);
	g_autofree guint8 *agent = g_malloc0(400);
	g_autoptr(GBytes) bytes = NULL;
	g_autoptr(PxedDhcpMessage) back = NULL;
	guint32 value = 0;

	pxed_dhcp_message_set_option_u8(msg, PXED_DHCP_OPTION_MESSAGE_TYPE, PXED_DHCP_OFFER);
	pxed_dhcp_message_set_option(msg, PXED_DHCP_OPTION_RELAY_AGENT, agent, 400);
	pxed_dhcp_message_set_option_ipv4(msg, PXED_DHCP_OPTION_SERVER_ID, ip("10.0.0.1"));
	pxed_dhcp_message_set_option_u32(msg, PXED_DHCP_OPTION_LEASE_TIME, 600);
	pxed_dhcp_message_set_option_ipv4(msg, PXED_DHCP_OPTION_SUBNET_MASK, ip("255.255.255.0"));
	g_assert_false(pxed_dhcp_message_relay_agent_fits(msg, 576));
	g_assert_true(pxed_dhcp_message_relay_agent_fits(msg, 1500));
	bytes = pxed_dhcp_message_build(msg, 576);
	g_assert_cmpuint(g_bytes_get_size(bytes), <=, PXED_DHCP_MIN_MAX_SIZE);
	back = pxed_dhcp_message_parse(g_bytes_get_data(bytes, NULL), g_bytes_get_size(bytes),
				       NULL);
	g_assert_nonnull(back);
	g_assert_cmpuint(pxed_dhcp_message_get_type(back), ==, PXED_DHCP_OFFER);
	g_assert_true(pxed_dhcp_message_get_option_ipv4(back, PXED_DHCP_OPTION_SERVER_ID, &value));
	g_assert_cmpuint(value, ==, ip("10.0.0.1"));
	g_assert_nonnull(pxed_dhcp_message_get_option(back, PXED_DHCP_OPTION_LEASE_TIME, NULL));
	g_assert_nonnull(pxed_dhcp_message_get_option(back, PXED_DHCP_OPTION_SUBNET_MASK, NULL));
	g_assert_null(pxed_dhcp_message_get_option(back, PXED_DHCP_OPTION_RELAY_AGENT, NULL));

	/* where it fits, it is echoed */
	g_clear_pointer(&bytes, g_bytes_unref);
	g_clear_pointer(&back, pxed_dhcp_message_free);
	bytes = pxed_dhcp_message_build(msg, 1500);
	back = pxed_dhcp_message_parse(g_bytes_get_data(bytes, NULL), g_bytes_get_size(bytes),
				       NULL);
	g_assert_nonnull(back);
	g_assert_nonnull(pxed_dhcp_message_get_option(back, PXED_DHCP_OPTION_RELAY_AGENT, NULL));
}

/* Random mutations of valid packets: never a crash, every success consistent. */
static void
test_mutations(void)
{
	const guint8 opts[] = {53, 1, 1,  60, 9, 'P', 'X', 'E', 'C', 'l', 'i', 'e', 'n', 't', 93, 2,
			       0,  7, 52, 1,  3, 61,  7,   1,	1,   2,	  3,   4,   5,	 6,   255};
	g_autoptr(GByteArray) raw = raw_request(opts, sizeof(opts));
	GRand *rand = g_rand_new_with_seed(4242);
	guint accepted = 0;

	raw->data[108] = 255;
	raw->data[44] = 255;
	for (guint round = 0; round < 200000; round++) {
		g_autoptr(GByteArray) copy = g_byte_array_new();
		g_autoptr(PxedDhcpMessage) msg = NULL;
		guint flips = g_rand_int_range(rand, 1, 8);
		gsize len;

		g_byte_array_append(copy, raw->data, raw->len);
		for (guint f = 0; f < flips; f++) {
			guint at = g_rand_boolean(rand)
					   ? g_rand_int_range(rand, 236, (gint)copy->len)
					   : g_rand_int_range(rand, 0, (gint)copy->len);
			copy->data[at] = (guint8)g_rand_int(rand);
		}
		len = g_rand_int_range(rand, 0, 4) == 0
			      ? (gsize)g_rand_int_range(rand, 0, (gint)copy->len + 1)
			      : copy->len;
		msg = pxed_dhcp_message_parse(copy->data, len, NULL);
		if (msg != NULL) {
			g_autoptr(PxedClient) client = pxed_dhcp_message_get_client(msg);
			g_autofree char *id = pxed_dhcp_message_get_client_id(msg);
			g_autoptr(GBytes) again = pxed_dhcp_message_build(msg, 1500);
			g_assert_cmpuint(msg->hlen, <=, 16);
			accepted++;
		}
	}
	g_test_message("%u of 200000 mutations parsed", accepted);
	g_rand_free(rand);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/dhcp/codec/round-trip", test_round_trip);
	g_test_add_func("/dhcp/codec/overload", test_overload);
	g_test_add_func("/dhcp/codec/client-identity", test_client_identity);
	g_test_add_func("/dhcp/codec/user-class-rfc3004", test_user_class_rfc3004);
	g_test_add_func("/dhcp/codec/client-id-option", test_client_id_option);
	g_test_add_func("/dhcp/codec/hostile/truncated", test_truncated);
	g_test_add_func("/dhcp/codec/hostile/bad-cookie", test_bad_cookie);
	g_test_add_func("/dhcp/codec/hostile/hlen-over-16", test_bad_hlen);
	g_test_add_func("/dhcp/codec/hostile/bad-op", test_bad_op);
	g_test_add_func("/dhcp/codec/hostile/option-past-end", test_option_past_end);
	g_test_add_func("/dhcp/codec/hostile/wrong-lengths", test_wrong_lengths);
	g_test_add_func("/dhcp/codec/hostile/10000-options", test_many_options);
	g_test_add_func("/dhcp/codec/hostile/unknown-type", test_unknown_type);
	g_test_add_func("/dhcp/codec/hostile/mutations", test_mutations);
	g_test_add_func("/dhcp/codec/no-end", test_no_end_tolerated);
	g_test_add_func("/dhcp/codec/reply-and-boot", test_reply_and_boot);
	g_test_add_func("/dhcp/codec/reply-too-big", test_reply_too_big);
	g_test_add_func("/dhcp/codec/hostile/relay-agent-too-big", test_relay_agent_too_big);
	return g_test_run();
}
