/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * conf.d parsing and validation (core/pxed-config.c) on any fragment text:
 * merging, then every group checked against a key table with one key of each
 * type (and a required one, and a prefix), the instance values and digest a
 * plugin would get, and the inventory's own groups ([profile:*], [group:*],
 * [inventory]) loaded and indexed as the core does.
 *
 * Input: the fragment's text. The fragment is merged twice, under two names,
 * so that replacing keys of an earlier fragment is exercised too.
 */
#include "fuzz-common.h"
#include "pxed-config.h"
#include "pxed-inventory.h"

static const PxedKey fuzz_keys[] = {
	{.name = "string", .type = PXED_KEY_STRING, .default_value = "x", .description = ""},
	{.name = "int",
	 .type = PXED_KEY_INT,
	 .default_value = "5",
	 .min = 1,
	 .max = 65535,
	 .description = ""},
	{.name = "any-int", .type = PXED_KEY_INT, .description = ""},
	{.name = "bool", .type = PXED_KEY_BOOLEAN, .default_value = "false", .description = ""},
	{.name = "list", .type = PXED_KEY_STRING_LIST, .description = ""},
	{.name = "listen", .type = PXED_KEY_LISTEN, .description = ""},
	{.name = "dir", .type = PXED_KEY_DIRECTORY, .description = ""},
	{.name = "file", .type = PXED_KEY_FILE, .description = ""},
	{.name = "path", .type = PXED_KEY_PATH, .description = ""},
	{.name = "ipv4", .type = PXED_KEY_IPV4, .description = ""},
	{.name = "option.",
	 .type = PXED_KEY_STRING,
	 .flags = PXED_KEY_FLAG_PREFIX,
	 .description = ""},
	{.name = "need",
	 .type = PXED_KEY_STRING,
	 .flags = PXED_KEY_FLAG_REQUIRED,
	 .description = ""},
	{.name = NULL},
};

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	pxed_fuzz_init();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	g_autoptr(PxedConfig) config = pxed_config_new();
	g_autoptr(PxedInventory) inventory = pxed_inventory_new();
	g_autoptr(GPtrArray) problems = g_ptr_array_new_with_free_func(g_free);
	g_autofree char *text = g_strndup((const char *)data, size);
	g_auto(GStrv) groups = NULL;
	g_autofree char *first = g_build_filename(pxed_fuzz_data_dir(), "10-fuzz.conf", NULL);
	g_autofree char *second = g_build_filename(pxed_fuzz_data_dir(), "20-fuzz.conf", NULL);

	if (!pxed_config_load_data(config, first, text, problems)) {
		g_assert_cmpuint(problems->len, >, 0);
		return 0;
	}
	pxed_config_load_data(config, second, text, problems);
	groups = pxed_config_get_groups(config);
	for (guint i = 0; groups[i] != NULL; i++) {
		g_autofree char *where = pxed_config_where(config, groups[i], NULL);
		g_autofree char *digest = pxed_config_group_digest(config, groups[i]);

		g_assert_nonnull(where);
		g_assert_nonnull(digest);
		if (pxed_inventory_owns_group(groups[i]))
			continue;
		if (pxed_config_validate_group(config, groups[i], fuzz_keys, problems)) {
			g_autoptr(GKeyFile) values =
				pxed_config_instance_values(config, groups[i], fuzz_keys);
			g_assert_nonnull(values);
		}
		pxed_config_get_boolean(config, groups[i], "bool", FALSE);
	}
	pxed_inventory_load(inventory, config, problems);
	return 0;
}
