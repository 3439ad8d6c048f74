/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define PXED_CAP(cap) (G_GUINT64_CONSTANT(1) << (cap))

/* The capabilities the enabled plugins (by name) need after root is dropped,
 * so that a reload can start their instances again. */
guint64 pxed_privileges_needed(const char *const *plugins);

/* Becomes @user (when running as root and @user is set), hands it
 * @state_dir, and keeps exactly @keep (PXED_CAP() bits) as permitted and
 * effective capabilities; every other one leaves the bounding set. */
gboolean pxed_privileges_drop(const char *user, const char *state_dir, guint64 keep,
			      GError **error);

G_END_DECLS
