/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "pxed.h"

G_DEFINE_QUARK(pxed-error-quark, pxed_error)
