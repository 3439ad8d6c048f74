/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The matchbox JSON import (core/pxed-inventory.c): a profile and a group
 * document, then the checks and the index every loaded inventory goes
 * through, then a few lookups.
 *
 * Input: the profile's JSON, a NUL, the group's JSON. Template references
 * (`ignition_id`, `cloud_id`, `generic_id`) resolve in a data folder where
 * `a.ign`, `a.yaml` and `a.txt` exist.
 */
#include <string.h>

#include "fuzz-common.h"
#include "pxed-inventory.h"
#include "pxed-matchbox.h"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	pxed_fuzz_init();
	pxed_fuzz_data_dir();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const clients[] = {"52:54:00:00:00:01", "52:54:00:00:00:02", NULL};
	g_autoptr(PxedInventory) inventory = pxed_inventory_new();
	g_autoptr(GPtrArray) problems = g_ptr_array_new_with_free_func(g_free);
	const char *text = (const char *)data;
	const char *nul = memchr(data, '\0', size);
	gsize first = nul != NULL ? (gsize)(nul - text) : size;
	const char *dir = pxed_fuzz_data_dir();

	pxed_matchbox_load_data(inventory, dir, PXED_MATCHBOX_PROFILE, "profiles/fuzz.json", text,
				first, problems);
	if (nul != NULL)
		pxed_matchbox_load_data(inventory, dir, PXED_MATCHBOX_GROUP, "groups/fuzz.json",
					nul + 1, size - first - 1, problems);
	if (!pxed_inventory_finish(inventory, problems))
		g_assert_cmpuint(problems->len, >, 0);
	for (guint i = 0; clients[i] != NULL; i++) {
		g_autoptr(PxedClient) client = pxed_client_new();
		g_autoptr(PxedMachine) machine = NULL;

		g_assert_true(pxed_client_set_mac_string(client, clients[i], NULL));
		pxed_client_set_arch(client, i == 0 ? 0 : 7);
		pxed_client_set_hostname(client, "node-1");
		machine = pxed_inventory_match(inventory, client);
		if (machine != NULL) {
			g_autoptr(PxedTemplateVars) vars = pxed_machine_build_vars(machine, client);
			const char *kinds[] = {"ignition", "cloud", "generic"};
			for (guint k = 0; k < G_N_ELEMENTS(kinds); k++) {
				PxedTemplate *t = pxed_machine_get_template(machine, kinds[k]);
				g_autofree char *out = NULL;
				if (t != NULL)
					out = pxed_template_render(t, vars, NULL);
			}
		}
	}
	return 0;
}
