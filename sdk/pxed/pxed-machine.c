/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "pxed.h"

struct _PxedMachine {
	char *group;
	char *profile;
	char *kernel;
	GStrv initrds;
	char *args;
	GHashTable *metadata;  /* key -> value */
	GHashTable *templates; /* kind -> PxedTemplate* */
};

PxedMachine *
pxed_machine_new(const char *group, const char *profile)
{
	PxedMachine *self = g_atomic_rc_box_new0(PxedMachine);
	self->group = g_strdup(group);
	self->profile = g_strdup(profile);
	self->initrds = g_new0(char *, 1);
	self->metadata = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	self->templates = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
						(GDestroyNotify)pxed_template_unref);
	return self;
}

PxedMachine *
pxed_machine_ref(PxedMachine *self)
{
	return g_atomic_rc_box_acquire(self);
}

/* Frees what @data holds; the reference count's box frees @data. */
static void
machine_clear(gpointer data)
{
	PxedMachine *self = data;

	g_free(self->group);
	g_free(self->profile);
	g_free(self->kernel);
	g_strfreev(self->initrds);
	g_free(self->args);
	g_hash_table_unref(self->metadata);
	g_hash_table_unref(self->templates);
}

void
pxed_machine_unref(PxedMachine *self)
{
	g_atomic_rc_box_release_full(self, machine_clear);
}

void
pxed_machine_set_kernel(PxedMachine *self, const char *kernel)
{
	g_free(self->kernel);
	self->kernel = g_strdup(kernel);
}

void
pxed_machine_set_initrds(PxedMachine *self, const char *const *initrds)
{
	g_strfreev(self->initrds);
	self->initrds = initrds != NULL ? g_strdupv((char **)initrds) : g_new0(char *, 1);
}

void
pxed_machine_set_args(PxedMachine *self, const char *args)
{
	g_free(self->args);
	self->args = g_strdup(args);
}

void
pxed_machine_set_metadata(PxedMachine *self, const char *key, const char *value)
{
	if (value == NULL)
		g_hash_table_remove(self->metadata, key);
	else
		g_hash_table_replace(self->metadata, g_strdup(key), g_strdup(value));
}

void
pxed_machine_set_template(PxedMachine *self, const char *kind, PxedTemplate *tmpl)
{
	if (tmpl == NULL)
		g_hash_table_remove(self->templates, kind);
	else
		g_hash_table_replace(self->templates, g_strdup(kind), pxed_template_ref(tmpl));
}

const char *
pxed_machine_get_group(PxedMachine *self)
{
	return self->group;
}

const char *
pxed_machine_get_profile(PxedMachine *self)
{
	return self->profile;
}

const char *
pxed_machine_get_kernel(PxedMachine *self)
{
	return self->kernel;
}

const char *const *
pxed_machine_get_initrds(PxedMachine *self)
{
	return (const char *const *)self->initrds;
}

const char *
pxed_machine_get_args(PxedMachine *self)
{
	return self->args;
}

const char *
pxed_machine_get_metadata(PxedMachine *self, const char *key)
{
	return g_hash_table_lookup(self->metadata, key);
}

GHashTable *
pxed_machine_get_metadata_table(PxedMachine *self)
{
	return self->metadata;
}

PxedTemplate *
pxed_machine_get_template(PxedMachine *self, const char *kind)
{
	return g_hash_table_lookup(self->templates, kind);
}

static gboolean
arch_is_efi(gint arch)
{
	/* RFC 4578 §2.1 and the IANA registry: 0 is BIOS; 1-5 are legacy
	 * non-x86 PXE; the EFI ones are 6 and up. */
	return arch >= PXED_ARCH_EFI_IA32;
}

static void
set_query_var(gpointer key, gpointer value, gpointer vars)
{
	g_autofree char *name = g_strconcat("query.", (const char *)key, NULL);
	pxed_template_vars_set(vars, name, value);
}

PxedTemplateVars *
pxed_machine_build_vars(PxedMachine *self, PxedClient *client)
{
	PxedTemplateVars *vars = pxed_template_vars_new();
	const char *mac = client != NULL ? pxed_client_get_mac_string(client) : NULL;
	const char *hostname = NULL;

	if (client != NULL) {
		gint arch = pxed_client_get_arch(client);
		g_autofree char *described = pxed_client_to_string(client);

		if (mac != NULL) {
			char hyphen[64];
			g_strlcpy(hyphen, mac, sizeof(hyphen));
			g_strdelimit(hyphen, ":", '-');
			pxed_template_vars_set(vars, "mac", mac);
			pxed_template_vars_set(vars, "mac_hyphen", hyphen);
		}
		pxed_template_vars_set(vars, "uuid", pxed_client_get_uuid_string(client));
		if (arch != PXED_ARCH_UNKNOWN) {
			char arch_text[16];
			g_snprintf(arch_text, sizeof(arch_text), "%d", arch);
			pxed_template_vars_set(vars, "arch", arch_text);
			pxed_template_vars_set(vars, "efi", arch_is_efi(arch) ? "true" : "");
		}
		pxed_template_vars_set(vars, "ip", pxed_client_get_address_string(client));
		/* what iPXE sent in its query, as matchbox templates name it
		 * (`.request.query.mac`); attributes below may add more */
		pxed_template_vars_set(vars, "query.mac", mac);
		pxed_template_vars_set(vars, "query.uuid", pxed_client_get_uuid_string(client));
		pxed_template_vars_set(vars, "user_class", pxed_client_get_user_class(client));
		pxed_template_vars_set(vars, "vendor_class", pxed_client_get_vendor_class(client));
		hostname = pxed_client_get_hostname(client);
		pxed_template_vars_set(vars, "client", described);
		/* attributes: iPXE's query parameters and the like */
		pxed_client_foreach_attribute(client, set_query_var, vars);
	}
	if (self != NULL) {
		GHashTableIter iter;
		gpointer key, value;

		pxed_template_vars_set(vars, "group", self->group);
		pxed_template_vars_set(vars, "profile", self->profile);
		pxed_template_vars_set(vars, "kernel", self->kernel);
		pxed_template_vars_set_list(vars, "initrd", (const char *const *)self->initrds);
		pxed_template_vars_set(vars, "args", self->args != NULL ? self->args : "");
		g_hash_table_iter_init(&iter, self->metadata);
		while (g_hash_table_iter_next(&iter, &key, &value)) {
			g_autofree char *name = g_strconcat("metadata.", (char *)key, NULL);
			pxed_template_vars_set(vars, name, value);
		}
		if (g_hash_table_lookup(self->metadata, "hostname") != NULL)
			hostname = g_hash_table_lookup(self->metadata, "hostname");
	}
	pxed_template_vars_set(vars, "hostname", hostname);
	return vars;
}
