/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* What every fuzz target shares. */
#include <glib.h>
#include <stddef.h>
#include <stdint.h>

G_BEGIN_DECLS

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/**
 * pxed_fuzz_init:
 *
 * Installs a log writer that drops messages (a fuzzer runs millions of inputs;
 * set PXED_FUZZ_VERBOSE=1 to see them) but aborts on a critical or an error:
 * a g_return_if_fail() that fires on crafted input is a finding like a crash.
 */
void pxed_fuzz_init(void);

G_END_DECLS

G_BEGIN_DECLS
/**
 * pxed_fuzz_data_dir:
 *
 * A temporary folder made once per process (removed at exit) holding a
 * matchbox-style data folder: ignition/a.ign, cloud/a.yaml, generic/a.txt,
 * and a.tmpl — so that inputs can reference templates that exist.
 */
const char *pxed_fuzz_data_dir(void);
G_END_DECLS
