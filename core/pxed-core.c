/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The daemon's context object (PxedCore, see pxed-core.h): configuration
 * generations prepared, activated and swapped on reload, and the
 * PxedContextVTable that backs every plugin instance's handle.
 */
#include "pxed-core.h"
#include "pxed-identity.h"
#include "pxed-inventory.h"
#include "pxed-stores.h"

#include <pxed/pxed-context-private.h>
#include <pxed/pxed-instance-private.h>
#include <errno.h>
#include <sys/stat.h>

#define PXED_GROUP_CORE	    "core"
#define PXED_GROUP_PIPELINE "pipeline"

/* The event log's defaults in the keys' unit (literals: G_STRINGIFY makes
 * the key table's default text of them) */
#define EVENTS_MAX_SIZE_MIB 16
#define EVENTS_MIN_FREE_MIB 64
G_STATIC_ASSERT(EVENTS_MAX_SIZE_MIB * 1024 * 1024 == PXED_EVENTS_MAX_SIZE_DEFAULT);
G_STATIC_ASSERT(EVENTS_MIN_FREE_MIB * 1024 * 1024 == PXED_EVENTS_MIN_FREE_DEFAULT);

static const PxedKey core_keys[] = {
	{.name = "plugin-path",
	 .type = PXED_KEY_STRING_LIST,
	 .description = "extra plugin folders, searched before the installed one"},
	{.name = "state-dir", .type = PXED_KEY_PATH, .description = "leases and the event log"},
	{.name = "user",
	 .type = PXED_KEY_STRING,
	 .description = "drop privileges to this user after binding"},
	{.name = "log-level",
	 .type = PXED_KEY_STRING,
	 .default_value = "info",
	 .description = "error, warning, message, info or debug"},
	{.name = "identity-by-address",
	 .type = PXED_KEY_BOOLEAN,
	 .default_value = "true",
	 .description =
		 "tell TFTP and HTTP requests who they are by their address (what DHCP and "
		 "proxyDHCP noted there, or a bound lease); false: only what a request says"},
	/* events.jsonl shares the state folder's file system with the lease
	 * journal: these keep a flood of events from filling it. */
	{.name = "event-log-max-size",
	 .type = PXED_KEY_INT,
	 .default_value = G_STRINGIFY(EVENTS_MAX_SIZE_MIB),
	 .min = 1,
	 .max = 1024 * 1024,
	 .description = "MiB: events.jsonl is rotated before it grows past this"},
	{.name = "event-log-keep",
	 .type = PXED_KEY_INT,
	 .default_value = G_STRINGIFY(PXED_EVENTS_KEEP_DEFAULT),
	 .min = 0,
	 .max = 999,
	 .description = "rotated event logs kept (events.jsonl.1 ... .N)"},
	{.name = "event-log-min-free",
	 .type = PXED_KEY_INT,
	 .default_value = G_STRINGIFY(EVENTS_MIN_FREE_MIB),
	 .min = 0,
	 .max = 1024 * 1024,
	 .description = "MiB the state folder's file system keeps free: below, events are "
			"dropped, not written"},
	{.name = "event-log-min-free-percent",
	 .type = PXED_KEY_INT,
	 .default_value = G_STRINGIFY(PXED_EVENTS_MIN_FREE_PERCENT_DEFAULT),
	 .min = 0,
	 .max = 90,
	 .description = "the same reserve as a share of the file system; the larger applies"},
	{.name = NULL},
};

static const PxedKey pipeline_keys[] = {
	{.name = "boot",
	 .type = PXED_KEY_STRING_LIST,
	 .description = "backends deciding DHCP boot answers"},
	{.name = "tftp",
	 .type = PXED_KEY_STRING_LIST,
	 .description = "backends serving files over TFTP"},
	{.name = "http",
	 .type = PXED_KEY_STRING_LIST,
	 .description = "backends serving files over HTTP"},
	{.name = NULL},
};

typedef struct {
	guint number; /* 1 for the first configuration read */
	PxedConfig *config;
	PxedLoader *loader;
	GPtrArray *runners; /* PxedRunner*, config order */
	PxedPipeline *pipelines[3];
	PxedInventory *inventory;
	char *state_dir;
	char *user;
	GLogLevelFlags log_level; /* 0: not set */
	gboolean identity_by_address;
	PxedEventsLimits event_limits;
} PxedGeneration;

struct _PxedCore {
	GMainContext *main_context;
	PxedContext *context;
	GStrv config_dirs;
	GStrv plugin_dirs; /* from the command line */
	PxedGeneration *current;
	PxedEvents *events;
	PxedStores *stores;	/* lease stores, shared by the instances naming them */
	guint generations;	/* configurations read: the last one's number */
	PxedIdentity *identity; /* who is at an address (pxed-identity.c) */
};

static void
generation_free(PxedGeneration *gen)
{
	if (gen == NULL)
		return;
	for (guint i = 0; i < G_N_ELEMENTS(gen->pipelines); i++)
		g_clear_pointer(&gen->pipelines[i], pxed_pipeline_free);
	/* Unref in reverse order of creation, as Kea unloads in reverse order. */
	if (gen->runners != NULL) {
		while (gen->runners->len > 0)
			g_ptr_array_remove_index(gen->runners, gen->runners->len - 1);
		g_ptr_array_unref(gen->runners);
	}
	g_clear_pointer(&gen->inventory, pxed_inventory_free);
	g_clear_pointer(&gen->loader, pxed_loader_free);
	g_clear_pointer(&gen->config, pxed_config_free);
	g_free(gen->state_dir);
	g_free(gen->user);
	g_free(gen);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC(PxedGeneration, generation_free)

const char *
pxed_core_default_plugin_dir(void)
{
	const char *env = g_getenv("PXED_PLUGINDIR");
	return env != NULL && env[0] != '\0' ? env : PXED_PLUGINDIR;
}

const char *
pxed_core_default_config_dir(void)
{
	const char *env = g_getenv("PXED_CONFIG_DIR");
	return env != NULL && env[0] != '\0' ? env : PXED_CONFDIR;
}

static const char *
default_state_dir(void)
{
	const char *env = g_getenv("PXED_STATE_DIR");
	return env != NULL && env[0] != '\0' ? env : PXED_STATEDIR;
}

/* ---- the PxedContext the plugins see ---- */

static GMainContext *
ctx_get_main_context(gpointer core)
{
	return ((PxedCore *)core)->main_context;
}

static PxedBootReply *
ctx_boot(gpointer core, PxedClient *client, GError **error)
{
	return pxed_core_boot(core, client, error);
}

static PxedFile *
ctx_open_file(gpointer core, PxedVia via, PxedClient *client, const char *path, GHashTable *query,
	      GError **error)
{
	return pxed_core_open_file(core, via, client, path, query, error);
}

static void
ctx_event(gpointer core, PxedClient *client, const char *source, const char *event,
	  const char *message)
{
	PxedCore *self = core;
	pxed_events_add_full(
		self->events, source, event, client != NULL ? pxed_client_get_key(client) : NULL,
		client != NULL ? pxed_client_get_address_string(client) : NULL, message);
}

static PxedMachine *
ctx_match(gpointer core, PxedClient *client)
{
	return pxed_core_match(core, client);
}

static gboolean
identity_by_address(PxedCore *self)
{
	return self->current == NULL || self->current->identity_by_address;
}

static gboolean
ctx_note_client(gpointer core, PxedClient *client, PxedEvidence evidence, guint lifetime)
{
	PxedCore *self = core;

	if (!identity_by_address(self))
		return FALSE;
	return pxed_identity_note(self->identity, client, evidence, lifetime);
}

static gboolean
ctx_identify_client(gpointer core, PxedClient *client)
{
	return pxed_core_identify_client(core, client);
}

static PxedLeaseCheck
ctx_check_lease(gpointer core, PxedClient *client)
{
	return pxed_core_check_lease(core, client);
}

static gboolean
ctx_is_reserved(gpointer core, guint32 address)
{
	PxedCore *self = core;
	if (self->current == NULL || self->current->inventory == NULL)
		return FALSE;
	return pxed_inventory_is_reserved(self->current->inventory, address);
}

static const PxedContextVTable context_vtable = {
	.get_main_context = ctx_get_main_context,
	.boot = ctx_boot,
	.open_file = ctx_open_file,
	.event = ctx_event,
	.match = ctx_match,
	.note_client = ctx_note_client,
	.identify_client = ctx_identify_client,
	.check_lease = ctx_check_lease,
	.is_reserved = ctx_is_reserved,
	.lease_open = pxed_stores_lease_open,
	.lease_close = pxed_stores_lease_close,
	.lease_get = pxed_stores_lease_get,
	.lease_get_by_address = pxed_stores_lease_get_by_address,
	.lease_put = pxed_stores_lease_put,
	.lease_release = pxed_stores_lease_release,
	.lease_foreach = pxed_stores_lease_foreach,
};

PxedCore *
pxed_core_new(GMainContext *context, const char *const *config_dirs, const char *const *plugin_dirs)
{
	PxedCore *self = g_new0(PxedCore, 1);
	self->main_context =
		g_main_context_ref(context != NULL ? context : g_main_context_default());
	self->context = pxed_context_new(&context_vtable, self);
	self->config_dirs = g_strdupv((char **)config_dirs);
	self->plugin_dirs = g_strdupv((char **)plugin_dirs);
	self->events = pxed_events_new(self->main_context, 10000);
	self->stores = pxed_stores_new(self->main_context);
	/* a /16 of clients; a flood beyond that evicts the soonest to expire */
	self->identity = pxed_identity_new(65536, pxed_stores_list, self->stores);
	return self;
}

void
pxed_core_free(PxedCore *self)
{
	pxed_core_shutdown(self);
	/* after the instances: whatever they did not give back is written out now */
	pxed_stores_free(self->stores);
	pxed_identity_free(self->identity);
	pxed_events_free(self->events);
	pxed_context_free(self->context);
	g_strfreev(self->config_dirs);
	g_strfreev(self->plugin_dirs);
	g_main_context_unref(self->main_context);
	g_free(self);
}

PxedContext *
pxed_core_get_context(PxedCore *self)
{
	return self->context;
}

PxedEvents *
pxed_core_get_events(PxedCore *self)
{
	return self->events;
}

PxedStores *
pxed_core_get_stores(PxedCore *self)
{
	return self->stores;
}

const char *
pxed_core_get_user(PxedCore *self)
{
	return self->current != NULL ? self->current->user : NULL;
}

GLogLevelFlags
pxed_core_get_log_level(PxedCore *self)
{
	return self->current != NULL ? self->current->log_level : 0;
}

GLogLevelFlags
pxed_log_level_from_string(const char *text)
{
	static const struct {
		const char *name;
		GLogLevelFlags level;
	} levels[] = {
		{"error", G_LOG_LEVEL_CRITICAL},  {"warning", G_LOG_LEVEL_WARNING},
		{"message", G_LOG_LEVEL_MESSAGE}, {"info", G_LOG_LEVEL_INFO},
		{"debug", G_LOG_LEVEL_DEBUG},
	};
	for (guint i = 0; i < G_N_ELEMENTS(levels); i++) {
		if (g_strcmp0(text, levels[i].name) == 0)
			return levels[i].level;
	}
	return 0;
}

const char *
pxed_core_get_state_dir(PxedCore *self)
{
	return self->current != NULL ? self->current->state_dir : default_state_dir();
}

const char *const *
pxed_core_get_plugin_dirs(PxedCore *self)
{
	return self->current != NULL ? pxed_loader_get_dirs(self->current->loader) : NULL;
}

GPtrArray *
pxed_core_get_runners(PxedCore *self)
{
	return self->current != NULL ? self->current->runners : NULL;
}

guint
pxed_core_get_fragment_count(PxedCore *self)
{
	return self->current != NULL ? pxed_config_get_files(self->current->config)->len : 0;
}

/* ---- preparing a generation ---- */

static GStrv
build_plugin_dirs(PxedCore *self, PxedConfig *config)
{
	g_autoptr(GStrvBuilder) builder = g_strv_builder_new();
	g_autofree char *raw = NULL;

	for (guint i = 0; self->plugin_dirs != NULL && self->plugin_dirs[i] != NULL; i++)
		g_strv_builder_add(builder, self->plugin_dirs[i]);
	raw = g_key_file_get_value(pxed_config_get_keyfile(config), PXED_GROUP_CORE, "plugin-path",
				   NULL);
	if (raw != NULL) {
		g_auto(GStrv) parts = g_strsplit(raw, ";", -1);
		for (guint i = 0; parts[i] != NULL; i++) {
			g_strstrip(parts[i]);
			if (parts[i][0] != '\0')
				g_strv_builder_add(builder, parts[i]);
		}
	}
	g_strv_builder_add(builder, pxed_core_default_plugin_dir());
	return g_strv_builder_end(builder);
}

static gboolean
is_core_group(const char *group)
{
	return g_str_equal(group, PXED_GROUP_CORE) || g_str_equal(group, PXED_GROUP_PIPELINE) ||
	       pxed_inventory_owns_group(group);
}

/* "static:images" -> "static"; %NULL for a malformed name */
static char *
plugin_name_of(const char *group)
{
	const char *colon = strchr(group, ':');
	char *name = colon != NULL ? g_strndup(group, colon - group) : g_strdup(group);
	if (name[0] == '\0' || (colon != NULL && colon[1] == '\0')) {
		g_free(name);
		return NULL;
	}
	return name;
}

static PxedRunner *
find_runner(GPtrArray *runners, const char *name)
{
	for (guint i = 0; runners != NULL && i < runners->len; i++) {
		PxedRunner *runner = g_ptr_array_index(runners, i);
		if (g_str_equal(runner->name, name))
			return runner;
	}
	return NULL;
}

/* A [core] integer as set, or the key table's default. Validated before. */
static gint64
core_int(GKeyFile *kf, const char *name)
{
	g_autofree char *value = g_key_file_get_value(kf, PXED_GROUP_CORE, name, NULL);

	if (value == NULL) {
		for (const PxedKey *k = core_keys; k->name != NULL; k++) {
			if (g_str_equal(k->name, name))
				value = g_strdup(k->default_value);
		}
	}
	return value != NULL ? g_ascii_strtoll(g_strstrip(value), NULL, 10) : 0;
}

static void
prepare_core_group(PxedGeneration *gen, GPtrArray *problems)
{
	GKeyFile *kf = pxed_config_get_keyfile(gen->config);
	g_autofree char *level = NULL;
	g_autofree char *state_dir = NULL;

	if (g_key_file_has_group(kf, PXED_GROUP_CORE)) {
		g_autoptr(GKeyFile) values =
			pxed_config_instance_values(gen->config, PXED_GROUP_CORE, core_keys);
		pxed_config_validate_group(gen->config, PXED_GROUP_CORE, core_keys, problems);
		level = g_key_file_get_string(kf, PXED_GROUP_CORE, "log-level", NULL);
		if (level != NULL &&
		    pxed_log_level_from_string(g_strstrip(level)) == (GLogLevelFlags)0)
			pxed_config_problem(gen->config, problems, PXED_GROUP_CORE, "log-level",
					    "'%s' is not one of error, warning, message, info, "
					    "debug",
					    level);
		gen->user = g_key_file_get_string(kf, PXED_GROUP_CORE, "user", NULL);
		if (gen->user != NULL)
			g_strstrip(gen->user);
		state_dir = g_key_file_get_string(values, PXED_INSTANCE_GROUP, "state-dir", NULL);
		gen->log_level = level != NULL ? pxed_log_level_from_string(level) : 0;
	}
	gen->identity_by_address =
		pxed_config_get_boolean(gen->config, PXED_GROUP_CORE, "identity-by-address", TRUE);
	gen->event_limits = (PxedEventsLimits){
		.max_size = (guint64)core_int(kf, "event-log-max-size") * 1024 * 1024,
		.keep = (guint)core_int(kf, "event-log-keep"),
		.min_free = (guint64)core_int(kf, "event-log-min-free") * 1024 * 1024,
		.min_free_percent = (guint)core_int(kf, "event-log-min-free-percent"),
	};
	gen->state_dir =
		state_dir != NULL ? g_steal_pointer(&state_dir) : g_strdup(default_state_dir());
	/* The state folder is created at start; its parent must be there. */
	if (!g_file_test(gen->state_dir, G_FILE_TEST_IS_DIR)) {
		g_autofree char *parent = g_path_get_dirname(gen->state_dir);
		if (!g_file_test(parent, G_FILE_TEST_IS_DIR))
			pxed_config_problem(gen->config, problems, PXED_GROUP_CORE, "state-dir",
					    "neither '%s' nor its parent folder exists",
					    gen->state_dir);
	}
}

static gboolean
check_enabled(PxedConfig *config, const char *group, GPtrArray *problems)
{
	static const PxedKey enabled[] = {
		{.name = "enabled", .type = PXED_KEY_BOOLEAN, .default_value = "true"},
		{.name = NULL},
	};
	g_autofree char *value =
		g_key_file_get_value(pxed_config_get_keyfile(config), group, "enabled", NULL);
	g_autoptr(GError) error = NULL;

	if (value == NULL)
		return TRUE;
	if (!pxed_key_check_value(&enabled[0], value, NULL, &error)) {
		pxed_config_problem(config, problems, group, "enabled", "%s", error->message);
		return FALSE;
	}
	return pxed_config_get_boolean(config, group, "enabled", TRUE);
}

static void
prepare_plugin_groups(PxedGeneration *gen, GPtrArray *problems)
{
	g_auto(GStrv) groups = pxed_config_get_groups(gen->config);

	for (guint i = 0; groups[i] != NULL; i++) {
		g_autofree char *name = NULL;
		g_autoptr(GError) error = NULL;
		const PxedPlugin *plugin;

		if (is_core_group(groups[i]))
			continue;
		/* A disabled group is not loaded, so that a plugin that is not
		 * installed can be switched off; only the switch itself is checked. */
		if (!check_enabled(gen->config, groups[i], problems))
			continue;
		name = plugin_name_of(groups[i]);
		if (name == NULL) {
			pxed_config_problem(gen->config, problems, groups[i], NULL,
					    "not a group name: use [PLUGIN] or [PLUGIN:LABEL]");
			continue;
		}
		plugin = pxed_loader_load(gen->loader, name, &error);
		if (plugin == NULL) {
			pxed_config_problem(gen->config, problems, groups[i], NULL,
					    "names no loadable plugin: %s", error->message);
			continue;
		}
		pxed_config_validate_group(gen->config, groups[i], plugin->keys, problems);
	}
}

static void
prepare_pipelines(PxedGeneration *gen, GPtrArray *problems)
{
	GKeyFile *kf = pxed_config_get_keyfile(gen->config);

	if (g_key_file_has_group(kf, PXED_GROUP_PIPELINE))
		pxed_config_validate_group(gen->config, PXED_GROUP_PIPELINE, pipeline_keys,
					   problems);
	for (PxedPipelineKind kind = PXED_PIPELINE_BOOT; kind <= PXED_PIPELINE_HTTP; kind++) {
		const char *key = pxed_pipeline_kind_to_string(kind);
		g_autofree char *raw = g_key_file_get_value(kf, PXED_GROUP_PIPELINE, key, NULL);
		g_auto(GStrv) names = g_strsplit(raw != NULL ? raw : "", ";", -1);
		g_autoptr(GHashTable) seen = g_hash_table_new(g_str_hash, g_str_equal);

		gen->pipelines[kind] = pxed_pipeline_new(kind);
		for (guint i = 0; names[i] != NULL; i++) {
			const char *name = g_strstrip(names[i]);
			PxedRunner *runner;

			if (name[0] == '\0')
				continue;
			if (!g_hash_table_add(seen, (gpointer)name)) {
				pxed_config_problem(gen->config, problems, PXED_GROUP_PIPELINE, key,
						    "'%s' is listed twice", name);
				continue;
			}
			runner = find_runner(gen->runners, name);
			if (runner == NULL) {
				pxed_config_problem(
					gen->config, problems, PXED_GROUP_PIPELINE, key,
					"'%s' is not a configured and enabled backend (%s [%s])",
					name,
					g_key_file_has_group(kf, name) ? "enabled=false in"
								       : "no group",
					name);
				continue;
			}
			if (runner->plugin->kind != PXED_PLUGIN_KIND_BACKEND) {
				pxed_config_problem(gen->config, problems, PXED_GROUP_PIPELINE, key,
						    "'%s' is a protocol, not a backend", name);
				continue;
			}
			if ((kind == PXED_PIPELINE_BOOT && runner->plugin->boot == NULL) ||
			    (kind != PXED_PIPELINE_BOOT && runner->plugin->open_file == NULL)) {
				pxed_config_problem(gen->config, problems, PXED_GROUP_PIPELINE, key,
						    "backend '%s' cannot serve the %s pipeline",
						    name, key);
				continue;
			}
			pxed_pipeline_append(gen->pipelines[kind], runner);
		}
	}
}

/* Creates the instances of every enabled plugin group. Protocol instances
 * whose configuration did not change are taken over from @running. */
static void
create_instances(PxedCore *self, PxedGeneration *gen, PxedGeneration *running, GPtrArray *problems)
{
	g_auto(GStrv) groups = pxed_config_get_groups(gen->config);

	gen->runners = g_ptr_array_new_with_free_func((GDestroyNotify)pxed_runner_unref);
	for (guint i = 0; groups[i] != NULL; i++) {
		g_autofree char *name = NULL;
		g_autofree char *digest = NULL;
		g_autoptr(GError) error = NULL;
		const PxedPlugin *plugin;
		PxedRunner *old;
		PxedRunner *runner;
		PxedInstance *instance;

		if (is_core_group(groups[i]) ||
		    !pxed_config_get_boolean(gen->config, groups[i], "enabled", TRUE))
			continue;
		name = plugin_name_of(groups[i]);
		plugin = pxed_loader_load(gen->loader, name, NULL);
		g_assert(plugin != NULL); /* validated before */
		digest = pxed_config_group_digest(gen->config, groups[i]);
		old = running != NULL ? find_runner(running->runners, groups[i]) : NULL;
		if (old != NULL && old->plugin == plugin &&
		    plugin->kind == PXED_PLUGIN_KIND_PROTOCOL && g_str_equal(old->digest, digest)) {
			g_ptr_array_add(gen->runners, pxed_runner_ref(old));
			continue;
		}
		instance = pxed_instance_new(
			groups[i], self->context, gen->number, gen->state_dir,
			pxed_config_instance_values(gen->config, groups[i], plugin->keys),
			plugin->keys);
		runner = pxed_runner_new(plugin, instance, digest, &error);
		if (runner == NULL) {
			pxed_config_problem(gen->config, problems, groups[i], NULL,
					    "plugin failed to initialise: %s", error->message);
			continue;
		}
		g_ptr_array_add(gen->runners, runner);
	}
}

static PxedGeneration *
prepare(PxedCore *self, GPtrArray *problems)
{
	g_autoptr(PxedGeneration) gen = g_new0(PxedGeneration, 1);
	g_auto(GStrv) plugin_dirs = NULL;
	guint before = problems->len;

	gen->number = ++self->generations;
	gen->config = pxed_config_new();
	if (!pxed_config_load_dirs(gen->config, (const char *const *)self->config_dirs, problems))
		return NULL;
	plugin_dirs = build_plugin_dirs(self, gen->config);
	gen->loader = pxed_loader_new((const char *const *)plugin_dirs);
	prepare_core_group(gen, problems);
	gen->inventory = pxed_inventory_new();
	pxed_inventory_load(gen->inventory, gen->config, problems);
	prepare_plugin_groups(gen, problems);
	if (problems->len > before)
		return NULL;
	/* Only a sound configuration reaches plugin code. */
	create_instances(self, gen, self->current, problems);
	if (problems->len > before)
		return NULL;
	prepare_pipelines(gen, problems);
	if (problems->len > before)
		return NULL;
	return g_steal_pointer(&gen);
}

/* ---- activation ---- */

static gboolean
contains(GPtrArray *runners, PxedRunner *runner)
{
	for (guint i = 0; runners != NULL && i < runners->len; i++) {
		if (g_ptr_array_index(runners, i) == runner)
			return TRUE;
	}
	return FALSE;
}

static gboolean
activate(PxedCore *self, PxedGeneration *gen, GError **error)
{
	PxedGeneration *old = self->current;
	g_autoptr(GPtrArray) stopped = g_ptr_array_new();
	g_autoptr(GPtrArray) started = g_ptr_array_new();

	if (g_mkdir_with_parents(gen->state_dir, 0750) != 0) {
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errno),
			    "cannot create state folder %s: %s", gen->state_dir, g_strerror(errno));
		return FALSE;
	}
	/* Old listeners go first: a changed instance may rebind the same port. */
	for (guint i = 0; old != NULL && i < old->runners->len; i++) {
		PxedRunner *runner = g_ptr_array_index(old->runners, i);
		if (runner->started && !contains(gen->runners, runner)) {
			pxed_runner_stop(runner);
			g_ptr_array_add(stopped, runner);
		}
	}
	for (guint i = 0; i < gen->runners->len; i++) {
		PxedRunner *runner = g_ptr_array_index(gen->runners, i);
		if (runner->plugin->kind != PXED_PLUGIN_KIND_PROTOCOL || runner->started)
			continue;
		if (!pxed_runner_start(runner, error)) {
			/* Put things back as they were. */
			for (guint j = 0; j < started->len; j++)
				pxed_runner_stop(g_ptr_array_index(started, j));
			for (guint j = 0; j < stopped->len; j++) {
				g_autoptr(GError) again = NULL;
				if (!pxed_runner_start(g_ptr_array_index(stopped, j), &again))
					g_warning(
						"could not restart %s: %s",
						((PxedRunner *)g_ptr_array_index(stopped, j))->name,
						again->message);
			}
			return FALSE;
		}
		g_ptr_array_add(started, runner);
	}
	{
		g_autofree char *path = g_build_filename(gen->state_dir, "events.jsonl", NULL);
		g_autoptr(GError) local = NULL;
		pxed_events_set_limits(self->events, &gen->event_limits);
		if (!pxed_events_set_file(self->events, path, &local))
			g_warning("%s", local->message);
	}
	self->current = gen;
	generation_free(old);
	return TRUE;
}

gboolean
pxed_core_load(PxedCore *self, gboolean start, GPtrArray *problems)
{
	g_autoptr(PxedGeneration) gen = prepare(self, problems);
	g_autoptr(GError) error = NULL;

	if (gen == NULL)
		return FALSE;
	if (!start) {
		generation_free(self->current);
		self->current = g_steal_pointer(&gen);
		return TRUE;
	}
	if (!activate(self, gen, &error)) {
		g_ptr_array_add(problems, g_strdup(error->message));
		return FALSE;
	}
	gen = NULL; /* now self->current */
	return TRUE;
}

void
pxed_core_shutdown(PxedCore *self)
{
	PxedGeneration *gen = g_steal_pointer(&self->current);

	if (gen == NULL)
		return;
	for (guint i = gen->runners->len; i > 0; i--)
		pxed_runner_stop(g_ptr_array_index(gen->runners, i - 1));
	generation_free(gen);
	pxed_events_flush(self->events);
}

/* ---- pipelines and the inventory ---- */

PxedMachine *
pxed_core_match(PxedCore *self, PxedClient *client)
{
	if (self->current == NULL || self->current->inventory == NULL)
		return NULL;
	return pxed_inventory_match(self->current->inventory, client);
}

PxedBootReply *
pxed_core_boot(PxedCore *self, PxedClient *client, GError **error)
{
	if (self->current == NULL) {
		g_set_error_literal(error, PXED_ERROR, PXED_ERROR_FAILED, "no configuration");
		return NULL;
	}
	return pxed_pipeline_boot(self->current->pipelines[PXED_PIPELINE_BOOT], client, error);
}

PxedFile *
pxed_core_open_file(PxedCore *self, PxedVia via, PxedClient *client, const char *path,
		    GHashTable *query, GError **error)
{
	PxedPipelineKind kind;

	if (self->current == NULL) {
		g_set_error_literal(error, PXED_ERROR, PXED_ERROR_FAILED, "no configuration");
		return NULL;
	}
	switch (via) {
	case PXED_VIA_TFTP:
		kind = PXED_PIPELINE_TFTP;
		break;
	case PXED_VIA_HTTP:
		kind = PXED_PIPELINE_HTTP;
		break;
	default:
		g_set_error(error, PXED_ERROR, PXED_ERROR_INVALID,
			    "no file pipeline for requests via %s", pxed_via_to_string(via));
		return NULL;
	}
	return pxed_pipeline_open_file(self->current->pipelines[kind], via, client, path, query,
				       error);
}

const PxedKey *
pxed_core_get_keys(const char *group)
{
	if (g_str_equal(group, PXED_GROUP_CORE))
		return core_keys;
	if (g_str_equal(group, PXED_GROUP_PIPELINE))
		return pipeline_keys;
	return NULL;
}

gboolean
pxed_core_identify_client(PxedCore *self, PxedClient *client)
{
	if (!identity_by_address(self))
		return FALSE;
	return pxed_identity_identify(self->identity, client);
}

PxedLeaseCheck
pxed_core_check_lease(PxedCore *self, PxedClient *client)
{
	return pxed_identity_check_lease(self->identity, client);
}
