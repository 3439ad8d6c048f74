/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "pxed.h"

static gboolean
parse_port(const char *text, guint16 *port, GError **error)
{
	guint64 value = 0;

	/* 0 is allowed: the kernel picks a free port (tests listen that way) */
	if (!g_ascii_string_to_unsigned(text, 10, 0, 65535, &value, NULL)) {
		g_set_error(error, PXED_ERROR, PXED_ERROR_INVALID,
			    "'%s' is not a port number (0-65535)", text);
		return FALSE;
	}
	*port = (guint16)value;
	return TRUE;
}

GInetSocketAddress *
pxed_listen_address_parse(const char *text, guint16 default_port, GError **error)
{
	g_autofree char *host = NULL;
	g_autoptr(GInetAddress) address = NULL;
	guint16 port = default_port;
	gboolean have_port = default_port != 0;
	const char *colon;

	g_return_val_if_fail(text != NULL, NULL);

	if (text[0] == '[') {
		/* [IPV6]:PORT or [IPV6] */
		const char *close = strchr(text, ']');
		if (close == NULL) {
			g_set_error(error, PXED_ERROR, PXED_ERROR_INVALID,
				    "'%s': missing ']' after an IPv6 address", text);
			return NULL;
		}
		host = g_strndup(text + 1, close - text - 1);
		if (close[1] == ':') {
			if (!parse_port(close + 2, &port, error))
				return NULL;
			have_port = TRUE;
		} else if (close[1] != '\0') {
			g_set_error(error, PXED_ERROR, PXED_ERROR_INVALID,
				    "'%s': expected ':PORT' after ']'", text);
			return NULL;
		}
	} else if ((colon = strrchr(text, ':')) != NULL && strchr(text, ':') == colon) {
		host = g_strndup(text, colon - text);
		if (!parse_port(colon + 1, &port, error))
			return NULL;
		have_port = TRUE;
	} else {
		/* A bare address: IPv4, or IPv6 without brackets (then no port). */
		host = g_strdup(text);
	}

	address = g_inet_address_new_from_string(host);
	if (address == NULL) {
		g_set_error(error, PXED_ERROR, PXED_ERROR_INVALID,
			    "'%s' is not a literal IPv4 or IPv6 address", host);
		return NULL;
	}
	if (!have_port) {
		g_set_error(error, PXED_ERROR, PXED_ERROR_INVALID, "'%s' names no port", text);
		return NULL;
	}
	return G_INET_SOCKET_ADDRESS(g_inet_socket_address_new(address, port));
}

GPtrArray *
pxed_listen_list_parse(const char *text, guint16 default_port, GError **error)
{
	g_autoptr(GPtrArray) result = g_ptr_array_new_with_free_func(g_object_unref);
	g_auto(GStrv) parts = g_strsplit(text != NULL ? text : "", ";", -1);

	for (guint i = 0; parts[i] != NULL; i++) {
		GInetSocketAddress *address;
		g_strstrip(parts[i]);
		if (parts[i][0] == '\0')
			continue;
		address = pxed_listen_address_parse(parts[i], default_port, error);
		if (address == NULL)
			return NULL;
		g_ptr_array_add(result, address);
	}
	if (result->len == 0) {
		g_set_error_literal(error, PXED_ERROR, PXED_ERROR_INVALID, "no address given");
		return NULL;
	}
	return g_steal_pointer(&result);
}
