/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined(__PXED_H_INSIDE__) && !defined(PXED_COMPILATION)
#error "Only <pxed/pxed.h> can be included directly."
#endif

#include <gio/gio.h>

G_BEGIN_DECLS

/**
 * PxedVia:
 *
 * The protocol a request arrived by. Backends may answer differently per
 * protocol (an iPXE script over HTTP, a PXELINUX config over TFTP).
 */
typedef enum {
	PXED_VIA_NONE = 0,
	PXED_VIA_DHCP,
	PXED_VIA_PROXYDHCP,
	PXED_VIA_TFTP,
	PXED_VIA_HTTP,
} PxedVia;

const char *pxed_via_to_string(PxedVia via);
PxedVia pxed_via_from_string(const char *text);

/* Client system architecture types (RFC 4578 §2.1, IANA registry) used by the backends. */
#define PXED_ARCH_UNKNOWN	 (-1)
#define PXED_ARCH_BIOS		 0
#define PXED_ARCH_EFI_IA32	 6
#define PXED_ARCH_EFI_X64	 7
#define PXED_ARCH_EFI_BC	 9
#define PXED_ARCH_EFI_ARM32	 10
#define PXED_ARCH_EFI_ARM64	 11
#define PXED_ARCH_EFI_X64_HTTP	 16
#define PXED_ARCH_EFI_ARM64_HTTP 19

/**
 * PxedClient:
 *
 * What pxed knows about the machine behind a request: hardware address,
 * SMBIOS UUID, firmware architecture, DHCP vendor and user class, address, and
 * free-form attributes (iPXE's `platform`, `serial`, …). Reference counted.
 */
typedef struct _PxedClient PxedClient;

PxedClient *pxed_client_new(void);
PxedClient *pxed_client_ref(PxedClient *self);
/* A new client with everything @self knows (attributes included). */
PxedClient *pxed_client_copy(PxedClient *self);
void pxed_client_unref(PxedClient *self);

/**
 * pxed_client_new_from_string:
 * @text: `key=value` pairs separated by `,`: `mac`, `uuid`, `arch`, `user-class`,
 *   `vendor-class`, `ip`, `hostname`; any other key becomes an attribute.
 *
 * Used by `pxed --explain` and by tests to describe a client.
 */
PxedClient *pxed_client_new_from_string(const char *text, GError **error);

/* Hardware address; @len is 1..16 (6 for Ethernet). */
void pxed_client_set_mac(PxedClient *self, const guint8 *hwaddr, gsize len);
const guint8 *pxed_client_get_mac(PxedClient *self, gsize *len);
/* Lower-case, colon-separated ("52:54:00:12:34:56"), or %NULL when unknown. */
const char *pxed_client_get_mac_string(PxedClient *self);
gboolean pxed_client_set_mac_string(PxedClient *self, const char *text, GError **error);

/* SMBIOS UUID (DHCP option 97 without its type byte), or %NULL when unknown. */
void pxed_client_set_uuid(PxedClient *self, const guint8 uuid[16]);
const guint8 *pxed_client_get_uuid(PxedClient *self);
/* Lower-case RFC 4122 text form, or %NULL. */
const char *pxed_client_get_uuid_string(PxedClient *self);
gboolean pxed_client_set_uuid_string(PxedClient *self, const char *text, GError **error);

/* DHCP option 93 architecture, or PXED_ARCH_UNKNOWN. */
void pxed_client_set_arch(PxedClient *self, gint arch);
gint pxed_client_get_arch(PxedClient *self);

void pxed_client_set_user_class(PxedClient *self, const char *user_class);
const char *pxed_client_get_user_class(PxedClient *self);
void pxed_client_set_vendor_class(PxedClient *self, const char *vendor_class);
const char *pxed_client_get_vendor_class(PxedClient *self);
void pxed_client_set_hostname(PxedClient *self, const char *hostname);
const char *pxed_client_get_hostname(PxedClient *self);

/* The client's IP address (the one it has or is being given), or %NULL. */
void pxed_client_set_address(PxedClient *self, GInetAddress *address);
GInetAddress *pxed_client_get_address(PxedClient *self);
/* The address as text ("192.0.2.10"), or %NULL. */
const char *pxed_client_get_address_string(PxedClient *self);

/* Protocol the client came in by. */
void pxed_client_set_via(PxedClient *self, PxedVia via);
PxedVia pxed_client_get_via(PxedClient *self);

/* Free-form attributes; keys are lower-case words. A %NULL value removes. */
void pxed_client_set_attribute(PxedClient *self, const char *key, const char *value);
const char *pxed_client_get_attribute(PxedClient *self, const char *key);
/* Calls @func(key, value, @user_data) for each attribute, in no order. */
void pxed_client_foreach_attribute(PxedClient *self, GHFunc func, gpointer user_data);

/* The key events are filed under: MAC, else UUID, else address, else "unknown". */
const char *pxed_client_get_key(PxedClient *self);
/* A one-line description for logs, in the syntax pxed_client_new_from_string() reads. */
char *pxed_client_to_string(PxedClient *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(PxedClient, pxed_client_unref)

G_END_DECLS
