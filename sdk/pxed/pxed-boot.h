/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined(__PXED_H_INSIDE__) && !defined(PXED_COMPILATION)
#error "Only <pxed/pxed.h> can be included directly."
#endif

#include <pxed/pxed-client.h>

G_BEGIN_DECLS

/**
 * PxedBootReply:
 *
 * The boot part of a DHCP answer, filled in by the first backend of the `boot`
 * pipeline that answers: the boot file (a TFTP file name or an HTTP URL), the
 * server to fetch it from, and the vendor class to answer with.
 */
typedef struct _PxedBootReply PxedBootReply;

PxedBootReply *pxed_boot_reply_new(void);
PxedBootReply *pxed_boot_reply_ref(PxedBootReply *self);
void pxed_boot_reply_unref(PxedBootReply *self);

/* Boot file name (DHCP `file` / option 67): "pxelinux.0" or "http://…/boot.ipxe". */
void pxed_boot_reply_set_filename(PxedBootReply *self, const char *filename);
const char *pxed_boot_reply_get_filename(PxedBootReply *self);
/* Next server (siaddr / option 66) as a literal address; %NULL: the interface's own. */
void pxed_boot_reply_set_next_server(PxedBootReply *self, const char *next_server);
const char *pxed_boot_reply_get_next_server(PxedBootReply *self);
/* Option 60 in the answer: "PXEClient" (default) or "HTTPClient" for UEFI HTTP Boot. */
void pxed_boot_reply_set_vendor_class(PxedBootReply *self, const char *vendor_class);
const char *pxed_boot_reply_get_vendor_class(PxedBootReply *self);
/* The backend instance that answered; set by the core. */
void pxed_boot_reply_set_origin(PxedBootReply *self, const char *origin);
const char *pxed_boot_reply_get_origin(PxedBootReply *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(PxedBootReply, pxed_boot_reply_unref)

G_END_DECLS
