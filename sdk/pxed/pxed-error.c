/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "pxed.h"

/* G_DEFINE_QUARK makes its first argument the quark's string: no spaces */
/* clang-format off */
G_DEFINE_QUARK(pxed-error-quark, pxed_error)
/* clang-format on */
