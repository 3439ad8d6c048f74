/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined(__PXED_H_INSIDE__) && !defined(PXED_COMPILATION)
#error "Only <pxed/pxed.h> can be included directly."
#endif

#include <gio/gio.h>

G_BEGIN_DECLS

/**
 * pxed_listen_address_parse:
 * @text: `ADDRESS:PORT`, `[IPV6]:PORT`, or a bare address when @default_port is not 0
 * @default_port: port used when @text names none; 0 makes the port mandatory
 * @error: PXED_ERROR_INVALID with a message that says what is wrong
 *
 * Parses one entry of a `listen=` key. Host names are refused: a listening
 * address must be literal so that start-up never waits on a resolver.
 *
 * Returns: (transfer full): the socket address, or %NULL
 */
GInetSocketAddress *pxed_listen_address_parse(const char *text, guint16 default_port,
					      GError **error);

/**
 * pxed_listen_list_parse:
 * @text: a `;`-separated list of entries for pxed_listen_address_parse()
 *
 * Returns: (transfer full) (element-type GInetSocketAddress): the addresses, at least one
 */
GPtrArray *pxed_listen_list_parse(const char *text, guint16 default_port, GError **error);

G_END_DECLS
