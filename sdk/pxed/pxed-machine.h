/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined(__PXED_H_INSIDE__) && !defined(PXED_COMPILATION)
#error "Only <pxed/pxed.h> can be included directly."
#endif

#include <pxed/pxed-client.h>
#include <pxed/pxed-template.h>

G_BEGIN_DECLS

/**
 * PxedMachine:
 *
 * What the inventory says about a machine: the group it matched, that group's
 * profile (kernel, initrds, kernel arguments, templates) and the metadata of
 * profile and group merged (the group's win). Immutable once built, shared by
 * every request of a configuration generation.
 */
typedef struct _PxedMachine PxedMachine;

/* For the core and for tests of backends. */
PxedMachine *pxed_machine_new(const char *group, const char *profile);
void pxed_machine_set_kernel(PxedMachine *self, const char *kernel);
void pxed_machine_set_initrds(PxedMachine *self, const char *const *initrds);
void pxed_machine_set_args(PxedMachine *self, const char *args);
void pxed_machine_set_metadata(PxedMachine *self, const char *key, const char *value);
/* @kind: "ipxe", "pxelinux", "cloud", "ignition" or "generic" */
void pxed_machine_set_template(PxedMachine *self, const char *kind, PxedTemplate *tmpl);

PxedMachine *pxed_machine_ref(PxedMachine *self);
void pxed_machine_unref(PxedMachine *self);

const char *pxed_machine_get_group(PxedMachine *self);
const char *pxed_machine_get_profile(PxedMachine *self);
const char *pxed_machine_get_kernel(PxedMachine *self);
/* (array zero-terminated=1): never %NULL */
const char *const *pxed_machine_get_initrds(PxedMachine *self);
const char *pxed_machine_get_args(PxedMachine *self);
const char *pxed_machine_get_metadata(PxedMachine *self, const char *key);
/* (element-type utf8 utf8) */
GHashTable *pxed_machine_get_metadata_table(PxedMachine *self);
PxedTemplate *pxed_machine_get_template(PxedMachine *self, const char *kind);

/**
 * pxed_machine_build_vars:
 * @self: (nullable): the machine, or %NULL for a client that matched nothing
 *
 * The variables a template sees: the client's identity (`mac`, `mac_hyphen`,
 * `uuid`, `arch`, `efi`, `ip`, `hostname`, `user_class`, `vendor_class`,
 * `query.NAME` for each attribute), and from the machine `group`, `profile`,
 * `kernel`, `initrd` (a list), `args` and `metadata.KEY`. `hostname` is the
 * metadata's hostname when it has one.
 */
PxedTemplateVars *pxed_machine_build_vars(PxedMachine *self, PxedClient *client);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(PxedMachine, pxed_machine_unref)

G_END_DECLS
