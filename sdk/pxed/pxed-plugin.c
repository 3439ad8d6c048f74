/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "pxed.h"

const char *
pxed_plugin_kind_to_string(PxedPluginKind kind)
{
	switch (kind) {
	case PXED_PLUGIN_KIND_PROTOCOL:
		return "protocol";
	case PXED_PLUGIN_KIND_BACKEND:
		return "backend";
	}
	return "unknown";
}
