/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "pxed-inventory-private.h"
#include "pxed-matchbox.h"

#include <pxed/pxed-instance-private.h>

typedef struct {
	char *key;
	char *value; /* canonical */
} Selector;

struct _PxedInventory {
	GHashTable *profiles; /* name -> PxedInventoryProfile* */
	GPtrArray *groups;    /* PxedInventoryGroup*, in order read */
	GHashTable *by_mac;   /* canonical mac -> GPtrArray of PxedInventoryGroup* (borrowed) */
	GPtrArray *no_mac;    /* PxedInventoryGroup* without a mac selector (borrowed) */
	GHashTable *reserved; /* IPv4 (network order, GUINT_TO_POINTER) -> group name (borrowed) */
};

static const PxedKey profile_keys[] = {
	{.name = "kernel", .type = PXED_KEY_STRING, .description = "kernel path or URL"},
	{.name = "initrd", .type = PXED_KEY_STRING_LIST, .description = "initrd paths or URLs"},
	{.name = "args", .type = PXED_KEY_STRING, .description = "kernel command line"},
	{.name = "ipxe-template", .type = PXED_KEY_FILE, .description = "iPXE script template"},
	{.name = "pxelinux-template",
	 .type = PXED_KEY_FILE,
	 .description = "PXELINUX config template"},
	{.name = "cloud-config", .type = PXED_KEY_FILE, .description = "cloud-config template"},
	{.name = "ignition", .type = PXED_KEY_FILE, .description = "ignition template"},
	{.name = "generic", .type = PXED_KEY_FILE, .description = "any other template"},
	{.name = "metadata.",
	 .type = PXED_KEY_STRING,
	 .flags = PXED_KEY_FLAG_PREFIX,
	 .description = "template data"},
	{.name = NULL},
};

static const PxedKey group_keys[] = {
	{.name = "profile",
	 .type = PXED_KEY_STRING,
	 .flags = PXED_KEY_FLAG_REQUIRED,
	 .description = "the profile to boot"},
	{.name = "selector.",
	 .type = PXED_KEY_STRING,
	 .flags = PXED_KEY_FLAG_PREFIX,
	 .description = "mac, uuid, arch, hostname or any label the machine must have"},
	{.name = "metadata.",
	 .type = PXED_KEY_STRING,
	 .flags = PXED_KEY_FLAG_PREFIX,
	 .description = "template data"},
	{.name = NULL},
};

static const PxedKey inventory_keys[] = {
	{.name = "matchbox-dir",
	 .type = PXED_KEY_DIRECTORY,
	 .description = "a matchbox data folder"},
	{.name = NULL},
};

/* Template kinds: the key in a profile, the kind name, how values are escaped. */
static const struct {
	const char *key;
	const char *kind;
	PxedTemplateEscape escape;
} template_kinds[] = {
	{"ipxe-template", "ipxe", PXED_TEMPLATE_ESCAPE_IPXE},
	{"pxelinux-template", "pxelinux", PXED_TEMPLATE_ESCAPE_LINE},
	{"cloud-config", "cloud", PXED_TEMPLATE_ESCAPE_YAML},
	{"ignition", "ignition", PXED_TEMPLATE_ESCAPE_JSON},
	{"generic", "generic", PXED_TEMPLATE_ESCAPE_NONE},
};

static void
profile_free(PxedInventoryProfile *p)
{
	g_free(p->name);
	g_free(p->where);
	g_free(p->kernel);
	g_strfreev(p->initrds);
	g_free(p->args);
	g_hash_table_unref(p->metadata);
	g_hash_table_unref(p->templates);
	g_free(p);
}

static PxedInventoryProfile *
profile_new(const char *name, const char *where)
{
	PxedInventoryProfile *p = g_new0(PxedInventoryProfile, 1);
	p->name = g_strdup(name);
	p->where = g_strdup(where);
	p->initrds = g_new0(char *, 1);
	p->metadata = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	p->templates = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
					     (GDestroyNotify)pxed_template_unref);
	return p;
}

static void
selector_free(Selector *s)
{
	g_free(s->key);
	g_free(s->value);
	g_free(s);
}

void
pxed_inventory_group_free(PxedInventoryGroup *g)
{
	g_free(g->name);
	g_free(g->where);
	g_free(g->profile);
	g_ptr_array_unref(g->selectors);
	g_hash_table_unref(g->metadata);
	g_free(g->mac);
	g_clear_pointer(&g->machine, pxed_machine_unref);
	g_free(g);
}

PxedInventoryGroup *
pxed_inventory_group_new(const char *name, const char *where)
{
	PxedInventoryGroup *g = g_new0(PxedInventoryGroup, 1);
	g->name = g_strdup(name);
	g->where = g_strdup(where);
	g->selectors = g_ptr_array_new_with_free_func((GDestroyNotify)selector_free);
	g->metadata = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	return g;
}

PxedInventory *
pxed_inventory_new(void)
{
	PxedInventory *self = g_new0(PxedInventory, 1);
	self->profiles =
		g_hash_table_new_full(g_str_hash, g_str_equal, NULL, (GDestroyNotify)profile_free);
	self->groups = g_ptr_array_new_with_free_func((GDestroyNotify)pxed_inventory_group_free);
	self->by_mac = g_hash_table_new_full(g_str_hash, g_str_equal, NULL,
					     (GDestroyNotify)g_ptr_array_unref);
	self->no_mac = g_ptr_array_new();
	self->reserved = g_hash_table_new(NULL, NULL);
	return self;
}

void
pxed_inventory_free(PxedInventory *self)
{
	g_hash_table_unref(self->by_mac);
	g_ptr_array_unref(self->no_mac);
	g_hash_table_unref(self->reserved);
	g_ptr_array_unref(self->groups);
	g_hash_table_unref(self->profiles);
	g_free(self);
}

PxedInventoryProfile *
pxed_inventory_add_profile(PxedInventory *self, const char *name, const char *where)
{
	PxedInventoryProfile *p = profile_new(name, where);

	g_hash_table_replace(self->profiles, p->name, p);
	return p;
}

gboolean
pxed_inventory_has_profile(PxedInventory *self, const char *name)
{
	return g_hash_table_contains(self->profiles, name);
}

void
pxed_inventory_add_group(PxedInventory *self, PxedInventoryGroup *g)
{
	g_ptr_array_add(self->groups, g);
}

gboolean
pxed_inventory_owns_group(const char *group)
{
	return g_str_has_prefix(group, "profile:") || g_str_has_prefix(group, "group:") ||
	       g_str_equal(group, "inventory");
}

guint
pxed_inventory_get_group_count(PxedInventory *self)
{
	return self->groups->len;
}

gint
pxed_arch_from_string(const char *text)
{
	/* RFC 4578 §2.1 and the IANA processor architecture registry */
	static const struct {
		const char *name;
		gint arch;
	} names[] = {
		{"bios", 0},	   {"x86-bios", 0},	 {"efi-ia32", 6},
		{"efi-x64", 7},	   {"efi-bc", 9},	 {"efi-arm32", 10},
		{"efi-arm64", 11}, {"efi-x64-http", 16}, {"efi-arm64-http", 19},
	};
	guint64 value = 0;

	for (guint i = 0; i < G_N_ELEMENTS(names); i++) {
		if (g_ascii_strcasecmp(text, names[i].name) == 0)
			return names[i].arch;
	}
	if (g_ascii_string_to_unsigned(text, 10, 0, 65535, &value, NULL))
		return (gint)value;
	return -1;
}

/* Canonical form of a selector value, so that matching is a string compare. */
static char *
canonical_selector(const char *key, const char *value, GError **error)
{
	if (g_str_equal(key, "mac")) {
		g_autoptr(PxedClient) c = pxed_client_new();
		if (!pxed_client_set_mac_string(c, value, error))
			return NULL;
		return g_strdup(pxed_client_get_mac_string(c));
	}
	if (g_str_equal(key, "uuid")) {
		g_autoptr(PxedClient) c = pxed_client_new();
		if (!pxed_client_set_uuid_string(c, value, error))
			return NULL;
		return g_strdup(pxed_client_get_uuid_string(c));
	}
	if (g_str_equal(key, "arch")) {
		gint arch = pxed_arch_from_string(value);
		if (arch < 0) {
			g_set_error(error, PXED_ERROR, PXED_ERROR_INVALID,
				    "'%s' is not an architecture (a number, or bios, efi-ia32, "
				    "efi-x64, efi-bc, efi-arm32, efi-arm64, efi-x64-http, "
				    "efi-arm64-http)",
				    value);
			return NULL;
		}
		return g_strdup_printf("%d", arch);
	}
	if (g_str_equal(key, "hostname"))
		return g_ascii_strdown(value, -1);
	if (key[0] == '\0') {
		g_set_error_literal(error, PXED_ERROR, PXED_ERROR_INVALID, "empty selector name");
		return NULL;
	}
	return g_strdup(value);
}

/* Between groups with as many selectors, the one whose selectors identify a
 * machine more narrowly wins: a UUID names one machine, a MAC one NIC, a
 * hostname one name, an architecture a whole class, a label whatever it says. */
static guint
selector_weight(const char *key)
{
	if (g_str_equal(key, "uuid"))
		return 16;
	if (g_str_equal(key, "mac"))
		return 8;
	if (g_str_equal(key, "hostname"))
		return 4;
	if (g_str_equal(key, "arch"))
		return 2;
	return 1;
}

gboolean
pxed_inventory_group_add_selector(PxedInventoryGroup *g, const char *key, const char *value,
				  GError **error)
{
	Selector *s;
	char *canon = canonical_selector(key, value, error);

	if (canon == NULL)
		return FALSE;
	s = g_new0(Selector, 1);
	s->key = g_ascii_strdown(key, -1);
	s->value = canon;
	g_ptr_array_add(g->selectors, s);
	g->weight += selector_weight(s->key);
	if (g_str_equal(s->key, "mac"))
		g->mac = g_strdup(canon);
	return TRUE;
}

/* ---- conf.d ---- */

static void
load_profile(PxedInventory *self, PxedConfig *config, const char *group, GPtrArray *problems)
{
	GKeyFile *kf = pxed_config_get_keyfile(config);
	const char *name = group + strlen("profile:");
	g_autoptr(GKeyFile) values = NULL;
	g_autofree char *line = pxed_config_where(config, group, NULL);
	g_autofree char *where = g_strdup_printf("%s: [%s]", line, group);
	g_auto(GStrv) keys = NULL;
	PxedInventoryProfile *p;

	if (name[0] == '\0') {
		pxed_config_problem(config, problems, group, NULL, "a profile needs a name");
		return;
	}
	if (!pxed_config_validate_group(config, group, profile_keys, problems))
		return;
	values = pxed_config_instance_values(config, group, profile_keys);
	p = pxed_inventory_add_profile(self, name, where);
	p->kernel = g_key_file_get_string(values, PXED_INSTANCE_GROUP, "kernel", NULL);
	p->args = g_key_file_get_string(values, PXED_INSTANCE_GROUP, "args", NULL);
	if (g_key_file_has_key(kf, group, "initrd", NULL)) {
		g_autofree char *raw = g_key_file_get_value(kf, group, "initrd", NULL);
		g_auto(GStrv) parts = g_strsplit(raw, ";", -1);
		g_autoptr(GStrvBuilder) b = g_strv_builder_new();
		for (guint i = 0; parts[i] != NULL; i++) {
			if (g_strstrip(parts[i])[0] != '\0')
				g_strv_builder_add(b, parts[i]);
		}
		g_strfreev(p->initrds);
		p->initrds = g_strv_builder_end(b);
	}
	for (guint i = 0; i < G_N_ELEMENTS(template_kinds); i++) {
		g_autofree char *path = g_key_file_get_string(values, PXED_INSTANCE_GROUP,
							      template_kinds[i].key, NULL);
		g_autoptr(GError) error = NULL;
		PxedTemplate *tmpl;
		if (path == NULL)
			continue;
		tmpl = pxed_template_new_from_file(path, template_kinds[i].escape, &error);
		if (tmpl == NULL) {
			pxed_config_problem(config, problems, group, template_kinds[i].key, "%s",
					    error->message);
			continue;
		}
		g_hash_table_replace(p->templates, g_strdup(template_kinds[i].kind), tmpl);
	}
	keys = g_key_file_get_keys(values, PXED_INSTANCE_GROUP, NULL, NULL);
	for (guint i = 0; keys != NULL && keys[i] != NULL; i++) {
		if (g_str_has_prefix(keys[i], "metadata."))
			g_hash_table_replace(
				p->metadata, g_strdup(keys[i] + strlen("metadata.")),
				g_key_file_get_string(values, PXED_INSTANCE_GROUP, keys[i], NULL));
	}
}

static void
load_group(PxedInventory *self, PxedConfig *config, const char *group, GPtrArray *problems)
{
	GKeyFile *kf = pxed_config_get_keyfile(config);
	const char *name = group + strlen("group:");
	g_autofree char *line = pxed_config_where(config, group, NULL);
	g_autofree char *where = g_strdup_printf("%s: [%s]", line, group);
	g_auto(GStrv) keys = NULL;
	PxedInventoryGroup *g;

	if (name[0] == '\0') {
		pxed_config_problem(config, problems, group, NULL, "a group needs a name");
		return;
	}
	if (!pxed_config_validate_group(config, group, group_keys, problems))
		return;
	g = pxed_inventory_group_new(name, where);
	g->profile = g_key_file_get_string(kf, group, "profile", NULL);
	g_strstrip(g->profile);
	keys = g_key_file_get_keys(kf, group, NULL, NULL);
	for (guint i = 0; keys != NULL && keys[i] != NULL; i++) {
		g_autofree char *value = g_key_file_get_string(kf, group, keys[i], NULL);
		if (g_str_has_prefix(keys[i], "selector.")) {
			g_autoptr(GError) error = NULL;
			if (!pxed_inventory_group_add_selector(g, keys[i] + strlen("selector."),
							       g_strstrip(value), &error))
				pxed_config_problem(config, problems, group, keys[i], "%s",
						    error->message);
		} else if (g_str_has_prefix(keys[i], "metadata.")) {
			g_hash_table_replace(g->metadata, g_strdup(keys[i] + strlen("metadata.")),
					     g_steal_pointer(&value));
		}
	}
	pxed_inventory_add_group(self, g);
}

gboolean
pxed_inventory_load(PxedInventory *self, PxedConfig *config, GPtrArray *problems)
{
	g_auto(GStrv) groups = pxed_config_get_groups(config);
	guint before = problems->len;

	for (guint i = 0; groups[i] != NULL; i++) {
		if (g_str_has_prefix(groups[i], "profile:"))
			load_profile(self, config, groups[i], problems);
	}
	for (guint i = 0; groups[i] != NULL; i++) {
		if (g_str_has_prefix(groups[i], "group:"))
			load_group(self, config, groups[i], problems);
	}
	if (g_key_file_has_group(pxed_config_get_keyfile(config), "inventory") &&
	    pxed_config_validate_group(config, "inventory", inventory_keys, problems)) {
		g_autoptr(GKeyFile) values =
			pxed_config_instance_values(config, "inventory", inventory_keys);
		g_autofree char *dir =
			g_key_file_get_string(values, PXED_INSTANCE_GROUP, "matchbox-dir", NULL);
		if (dir != NULL)
			pxed_matchbox_load(self, dir, problems);
	}
	if (problems->len > before)
		return FALSE;
	return pxed_inventory_finish(self, problems);
}

/* ---- checks and the index ---- */

/* Two groups can match one machine when every selector they share has the
 * same value. */
static gboolean
compatible(PxedInventoryGroup *a, PxedInventoryGroup *b)
{
	for (guint i = 0; i < a->selectors->len; i++) {
		Selector *sa = g_ptr_array_index(a->selectors, i);
		for (guint j = 0; j < b->selectors->len; j++) {
			Selector *sb = g_ptr_array_index(b->selectors, j);
			if (g_str_equal(sa->key, sb->key) && !g_str_equal(sa->value, sb->value))
				return FALSE;
		}
	}
	return TRUE;
}

static void
tie_problem(GPtrArray *problems, PxedInventoryGroup *a, PxedInventoryGroup *b)
{
	g_ptr_array_add(problems,
			g_strdup_printf("%s: group '%s' and group '%s' (%s) are equally specific "
					"(%u selector%s of the same kinds) and one machine can "
					"match both: add a selector to one of them",
					a->where, a->name, b->name, b->where, a->selectors->len,
					a->selectors->len == 1 ? "" : "s"));
}

static PxedMachine *
build_machine(PxedInventoryGroup *g, PxedInventoryProfile *p)
{
	PxedMachine *m = pxed_machine_new(g->name, p->name);
	GHashTableIter iter;
	gpointer key, value;

	pxed_machine_set_kernel(m, p->kernel);
	pxed_machine_set_initrds(m, (const char *const *)p->initrds);
	pxed_machine_set_args(m, p->args);
	/* the profile's metadata, then the group's over it */
	g_hash_table_iter_init(&iter, p->metadata);
	while (g_hash_table_iter_next(&iter, &key, &value))
		pxed_machine_set_metadata(m, key, value);
	g_hash_table_iter_init(&iter, g->metadata);
	while (g_hash_table_iter_next(&iter, &key, &value))
		pxed_machine_set_metadata(m, key, value);
	g_hash_table_iter_init(&iter, p->templates);
	while (g_hash_table_iter_next(&iter, &key, &value))
		pxed_machine_set_template(m, key, value);
	return m;
}

/* `metadata.ip` (the group's, else its profile's) is the machine's fixed
 * address: DHCP must not lease it to anyone else. */
static void
reserve(PxedInventory *self, PxedInventoryGroup *g)
{
	const char *ip = pxed_machine_get_metadata(g->machine, "ip");
	g_autoptr(GInetAddress) address = ip != NULL ? g_inet_address_new_from_string(ip) : NULL;
	guint32 v4;

	/* DHCP hands out IPv4 only */
	if (address == NULL || g_inet_address_get_family(address) != G_SOCKET_FAMILY_IPV4)
		return;
	memcpy(&v4, g_inet_address_to_bytes(address), 4);
	g_hash_table_replace(self->reserved, GUINT_TO_POINTER(v4), g->name);
}

gboolean
pxed_inventory_finish(PxedInventory *self, GPtrArray *problems)
{
	g_autoptr(GHashTable) names = g_hash_table_new(g_str_hash, g_str_equal);
	guint before = problems->len;

	for (guint i = 0; i < self->groups->len; i++) {
		PxedInventoryGroup *g = g_ptr_array_index(self->groups, i);
		PxedInventoryProfile *p = g_hash_table_lookup(self->profiles, g->profile);
		if (!g_hash_table_add(names, g->name)) {
			g_ptr_array_add(problems, g_strdup_printf("%s: group '%s' is defined twice",
								  g->where, g->name));
			continue;
		}
		if (p == NULL) {
			g_ptr_array_add(problems,
					g_strdup_printf("%s: group '%s' names profile '%s', which "
							"is not defined",
							g->where, g->name, g->profile));
			continue;
		}
		g->machine = build_machine(g, p);
	}
	/* Ties. Groups with different mac selectors never tie, so compare each
	 * group with the mac-less ones and with those of its own mac. */
	for (guint i = 0; i < self->groups->len; i++) {
		PxedInventoryGroup *a = g_ptr_array_index(self->groups, i);
		for (guint j = i + 1; j < self->groups->len; j++) {
			PxedInventoryGroup *b = g_ptr_array_index(self->groups, j);
			if (a->selectors->len != b->selectors->len || a->weight != b->weight)
				continue;
			if (a->mac != NULL && b->mac != NULL && !g_str_equal(a->mac, b->mac))
				continue;
			if (compatible(a, b))
				tie_problem(problems, a, b);
		}
	}
	if (problems->len > before)
		return FALSE;
	for (guint i = 0; i < self->groups->len; i++) {
		PxedInventoryGroup *g = g_ptr_array_index(self->groups, i);
		if (g->mac != NULL) {
			GPtrArray *list = g_hash_table_lookup(self->by_mac, g->mac);
			if (list == NULL) {
				list = g_ptr_array_new();
				g_hash_table_insert(self->by_mac, g->mac, list);
			}
			g_ptr_array_add(list, g);
		} else {
			g_ptr_array_add(self->no_mac, g);
		}
		reserve(self, g);
	}
	return TRUE;
}

gboolean
pxed_inventory_is_reserved(PxedInventory *self, guint32 address)
{
	return g_hash_table_contains(self->reserved, GUINT_TO_POINTER(address));
}

static const char *
client_fact(PxedClient *client, const char *key, char *buf, gsize len)
{
	if (g_str_equal(key, "mac"))
		return pxed_client_get_mac_string(client);
	if (g_str_equal(key, "uuid"))
		return pxed_client_get_uuid_string(client);
	if (g_str_equal(key, "arch")) {
		if (pxed_client_get_arch(client) == PXED_ARCH_UNKNOWN)
			return NULL;
		g_snprintf(buf, len, "%d", pxed_client_get_arch(client));
		return buf;
	}
	if (g_str_equal(key, "hostname"))
		return pxed_client_get_hostname(client); /* compared without case */
	return pxed_client_get_attribute(client, key);
}

static gboolean
group_matches(PxedInventoryGroup *g, PxedClient *client)
{
	for (guint i = 0; i < g->selectors->len; i++) {
		Selector *s = g_ptr_array_index(g->selectors, i);
		char buf[256];
		const char *fact = client_fact(client, s->key, buf, sizeof(buf));
		if (fact == NULL)
			return FALSE;
		if (g_str_equal(s->key, "hostname") ? g_ascii_strcasecmp(fact, s->value) != 0
						    : !g_str_equal(fact, s->value))
			return FALSE;
	}
	return TRUE;
}

static void
consider(GPtrArray *groups, PxedClient *client, PxedInventoryGroup **best)
{
	for (guint i = 0; groups != NULL && i < groups->len; i++) {
		PxedInventoryGroup *g = g_ptr_array_index(groups, i);
		gboolean better = *best == NULL || g->selectors->len > (*best)->selectors->len ||
				  (g->selectors->len == (*best)->selectors->len &&
				   g->weight > (*best)->weight);
		if (better && group_matches(g, client))
			*best = g;
	}
}

PxedMachine *
pxed_inventory_match(PxedInventory *self, PxedClient *client)
{
	const char *mac = pxed_client_get_mac_string(client);
	PxedInventoryGroup *best = NULL;

	if (mac != NULL)
		consider(g_hash_table_lookup(self->by_mac, mac), client, &best);
	consider(self->no_mac, client, &best);
	return best != NULL && best->machine != NULL ? pxed_machine_ref(best->machine) : NULL;
}

const PxedKey *
pxed_inventory_get_keys(const char *group)
{
	if (g_str_equal(group, "profile:NAME"))
		return profile_keys;
	if (g_str_equal(group, "group:NAME"))
		return group_keys;
	if (g_str_equal(group, "inventory"))
		return inventory_keys;
	return NULL;
}
