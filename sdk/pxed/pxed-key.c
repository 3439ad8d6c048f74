/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Finding a key in a plugin's key table. Compiled into both libpxed.so (the
 * instance's getters find defaults with it; the version script keeps it
 * local there) and pxed-private (the core validates conf.d groups with it):
 * it keeps no state, so two copies cannot disagree.
 */
#include "pxed-instance-private.h"

#include <string.h>

const PxedKey *
pxed_key_lookup(const PxedKey *keys, const char *name)
{
	for (const PxedKey *k = keys; k != NULL && k->name != NULL; k++) {
		if (k->flags & PXED_KEY_FLAG_PREFIX) {
			if (g_str_has_prefix(name, k->name) && name[strlen(k->name)] != '\0')
				return k;
		} else if (g_str_equal(k->name, name)) {
			return k;
		}
	}
	return NULL;
}
