/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Keys the DHCP family of plugins (dhcp, proxydhcp) shares: both serve one
 * interface and name themselves in option 54 (RFC 2132 §9.7), so an operator
 * configures them with the same words. Entries for a PxedKey table.
 */

#include <pxed/pxed.h>

#define PXED_DHCP_KEY_INTERFACE                                                                    \
	{                                                                                          \
		.name = "interface", .type = PXED_KEY_STRING, .flags = PXED_KEY_FLAG_REQUIRED,     \
		.description = "the one network interface served; nothing is sent or received on " \
			       "any other"                                                         \
	}

#define PXED_DHCP_KEY_SERVER_ADDRESS                                                               \
	{                                                                                          \
		.name = "server-address", .type = PXED_KEY_IPV4,                                   \
		.description =                                                                     \
			"option 54 and default next-server (default: the interface's address)"     \
	}
