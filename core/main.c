/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * pxed — the network boot daemon: arguments, signals, main loop (the log writer
 * is pxed-log.c).
 */
#include "pxed-core.h"
#include "pxed-log.h"
#include "pxed-notify.h"
#include "pxed-pipeline.h"
#include "pxed-privileges.h"

#include <glib-unix.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct {
	PxedLogState log;
	PxedCore *core;
	GMainLoop *loop;
	int exit_code;
} PxedDaemon;

static void
apply_log_level(PxedDaemon *daemon)
{
	GLogLevelFlags level = pxed_core_get_log_level(daemon->core);
	if (!daemon->log.forced)
		daemon->log.max_level = level != 0 ? level : G_LOG_LEVEL_INFO;
	/* GLib's levels grow more verbose as their bit grows */
	pxed_events_set_echo(pxed_core_get_events(daemon->core),
			     daemon->log.max_level >= G_LOG_LEVEL_INFO);
}

static void
print_problems(GPtrArray *problems)
{
	for (guint i = 0; i < problems->len; i++)
		fprintf(stderr, "%s\n", (const char *)g_ptr_array_index(problems, i));
}

static gboolean
on_quit(gpointer user_data)
{
	PxedDaemon *daemon = user_data;
	g_message("stopping");
	g_main_loop_quit(daemon->loop);
	return G_SOURCE_CONTINUE;
}

static gboolean
on_reload(gpointer user_data)
{
	PxedDaemon *daemon = user_data;
	g_autoptr(GPtrArray) problems = g_ptr_array_new_with_free_func(g_free);

	g_message("SIGHUP: reading the configuration again");
	pxed_notify("RELOADING=1");
	if (!pxed_core_load(daemon->core, TRUE, problems)) {
		for (guint i = 0; i < problems->len; i++)
			g_warning("reload refused: %s",
				  (const char *)g_ptr_array_index(problems, i));
		{
			g_autofree char *msg = g_strdup_printf(
				"problems=%u; the running configuration stays", problems->len);
			pxed_events_add(pxed_core_get_events(daemon->core), "core",
					"reload-refused", NULL, msg);
		}
		pxed_notify("READY=1");
		return G_SOURCE_CONTINUE;
	}
	apply_log_level(daemon);
	pxed_events_add(pxed_core_get_events(daemon->core), "core", "reloaded", NULL,
			"configuration applied");
	pxed_notify("READY=1");
	return G_SOURCE_CONTINUE;
}

/* A TFTP transfer holds three descriptors and an HTTP connection one or two:
 * the usual soft limit of 1024 is below what max-sessions=1024 needs, and
 * libsoup 3.2 stops accepting for good after one EMFILE. Take the hard limit. */
static void
raise_file_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= rl.rlim_max)
		return;
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
		g_warning("cannot raise the open file limit: %s", g_strerror(errno));
}

/* After the sockets are bound: root is dropped, keeping what the enabled
 * plugins need to bind again on reload (pxed-privileges.c). */
static gboolean
drop_privileges(PxedCore *core, GError **error)
{
	GPtrArray *runners = pxed_core_get_runners(core);
	g_autoptr(GPtrArray) names = g_ptr_array_new();

	for (guint i = 0; i < runners->len; i++) {
		PxedRunner *runner = g_ptr_array_index(runners, i);
		g_ptr_array_add(names, (gpointer)runner->plugin->name);
	}
	g_ptr_array_add(names, NULL);
	return pxed_privileges_drop(pxed_core_get_user(core), pxed_core_get_state_dir(core),
				    pxed_privileges_needed((const char *const *)names->pdata),
				    error);
}

static int
list_plugins(PxedCore *core, const char *const *dirs)
{
	g_autoptr(PxedLoader) loader = pxed_loader_new(dirs);
	g_autoptr(GPtrArray) infos = pxed_loader_list(loader);
	int bad = 0;

	(void)core;
	for (guint i = 0; i < infos->len; i++) {
		PxedPluginInfo *info = g_ptr_array_index(infos, i);
		if (info->plugin == NULL) {
			printf("%-12s refused  %s\n", info->name, info->problem);
			bad++;
			continue;
		}
		printf("%-12s %-8s ABI %u.%u  %s\n             %s\n", info->plugin->name,
		       pxed_plugin_kind_to_string(info->plugin->kind), info->plugin->abi_major,
		       info->plugin->abi_minor, info->plugin->description, info->path);
		if (info->shadowed_by != NULL)
			printf("             (not used: %s comes first)\n", info->shadowed_by);
	}
	if (infos->len == 0) {
		g_autofree char *joined = g_strjoinv(", ", (char **)dirs);
		printf("no plugins in %s\n", joined);
	}
	return bad > 0 ? 1 : 0;
}

static int
explain(PxedCore *core, const char *client_text, const char *path, const char *via_text)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(PxedClient) client = pxed_client_new_from_string(client_text, &error);
	g_autoptr(PxedBootReply) reply = NULL;
	g_autoptr(PxedFile) file = NULL;
	FILE *report = path != NULL ? stderr : stdout;
	g_autofree char *described = NULL;
	PxedVia via;
	guint64 offset = 0;
	guint8 buf[65536];

	if (client == NULL) {
		fprintf(stderr, "--explain: %s\n", error->message);
		return 2;
	}
	via = pxed_via_from_string(via_text != NULL ? via_text : "tftp");
	if (via != PXED_VIA_TFTP && via != PXED_VIA_HTTP) {
		fprintf(stderr, "--via: '%s' is not tftp or http\n", via_text);
		return 2;
	}
	described = pxed_client_to_string(client);
	fprintf(report, "client: %s\n", described);
	{
		g_autoptr(PxedMachine) machine = pxed_core_match(core, client);
		if (machine != NULL)
			fprintf(report, "inventory: group %s, profile %s\n",
				pxed_machine_get_group(machine), pxed_machine_get_profile(machine));
		else
			fprintf(report, "inventory: no group matches\n");
	}
	reply = pxed_core_boot(core, client, &error);
	if (reply != NULL) {
		fprintf(report,
			"boot: answered by %s: filename=%s next-server=%s vendor-class=%s\n",
			pxed_boot_reply_get_origin(reply), pxed_boot_reply_get_filename(reply),
			pxed_boot_reply_get_next_server(reply) != NULL
				? pxed_boot_reply_get_next_server(reply)
				: "(this server)",
			pxed_boot_reply_get_vendor_class(reply));
	} else if (g_error_matches(error, PXED_ERROR, PXED_ERROR_NOT_FOUND)) {
		fprintf(report, "boot: no answer: %s\n", error->message);
	} else {
		fprintf(report, "boot: fails: %s\n", error->message);
	}
	g_clear_error(&error);
	if (path == NULL)
		return 0;

	pxed_client_set_via(client, via);
	file = pxed_core_open_file(core, via, client, path, NULL, &error);
	if (file == NULL) {
		const char *kind = "fails";
		if (g_error_matches(error, PXED_ERROR, PXED_ERROR_NOT_FOUND))
			kind = "not found";
		else if (g_error_matches(error, PXED_ERROR, PXED_ERROR_DENIED))
			kind = "refused";
		fprintf(stderr, "%s %s: %s: %s\n", via_text ? via_text : "tftp", path, kind,
			error->message);
		return 1;
	}
	fprintf(stderr, "%s %s: served by %s: %" G_GUINT64_FORMAT " bytes, %s\n",
		via_text ? via_text : "tftp", path, pxed_file_get_origin(file),
		pxed_file_get_size(file), pxed_file_get_content_type(file));
	for (;;) {
		gssize n = pxed_file_read_at(file, offset, buf, sizeof(buf), &error);
		if (n < 0) {
			fprintf(stderr, "%s: %s\n", path, error->message);
			return 1;
		}
		if (n == 0)
			break;
		if (fwrite(buf, 1, (size_t)n, stdout) != (size_t)n) {
			fprintf(stderr, "writing to stdout: %s\n", g_strerror(errno));
			return 1;
		}
		offset += (guint64)n;
	}
	fflush(stdout);
	return 0;
}

int
main(int argc, char **argv)
{
	g_autoptr(GOptionContext) options = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) problems = g_ptr_array_new_with_free_func(g_free);
	g_auto(GStrv) config_dirs = NULL;
	g_auto(GStrv) plugin_dirs = NULL;
	g_autofree char *explain_client = NULL;
	g_autofree char *explain_path = NULL;
	g_autofree char *explain_via = NULL;
	gboolean check = FALSE, list = FALSE, version = FALSE, verbose = FALSE;
	PxedDaemon daemon = {.log = {.max_level = G_LOG_LEVEL_INFO}};
	GSource *flush_source = NULL;
	const GOptionEntry entries[] = {
		{"config-dir", 'c', 0, G_OPTION_ARG_FILENAME_ARRAY, &config_dirs,
		 "Folder of conf.d fragments (repeatable; later folders override same-named "
		 "files)",
		 "DIR"},
		{"plugin-dir", 'p', 0, G_OPTION_ARG_FILENAME_ARRAY, &plugin_dirs,
		 "Folder searched for plugins before [core] plugin-path and the installed one "
		 "(repeatable)",
		 "DIR"},
		{"check", 0, 0, G_OPTION_ARG_NONE, &check,
		 "Validate the configuration and plugins, then exit", NULL},
		{"list-plugins", 0, 0, G_OPTION_ARG_NONE, &list,
		 "List the plugins found in the plugin folders", NULL},
		{"explain", 0, 0, G_OPTION_ARG_STRING, &explain_client,
		 "Show what a client would be told, without opening a socket", "CLIENT"},
		{"path", 0, 0, G_OPTION_ARG_STRING, &explain_path,
		 "With --explain: serve this file through the pipeline to stdout", "PATH"},
		{"via", 0, 0, G_OPTION_ARG_STRING, &explain_via,
		 "With --path: the file pipeline to use (tftp or http)", "tftp|http"},
		{"verbose", 'v', 0, G_OPTION_ARG_NONE, &verbose, "Log at debug level", NULL},
		{"version", 0, 0, G_OPTION_ARG_NONE, &version, "Print the version and exit", NULL},
		{NULL, 0, 0, 0, NULL, NULL, NULL},
	};

	pxed_log_init(&daemon.log);

	options = g_option_context_new("- network boot server");
	g_option_context_set_summary(
		options, "Serves PXE, iPXE and UEFI HTTP boot over DHCP, proxyDHCP, TFTP and "
			 "HTTP,\nas configured by conf.d fragments.\n\n"
			 "CLIENT for --explain: mac=52:54:00:12:34:56,uuid=...,arch=7,"
			 "user-class=iPXE,ip=192.0.2.5");
	g_option_context_add_main_entries(options, entries, NULL);
	if (!g_option_context_parse(options, &argc, &argv, &error)) {
		fprintf(stderr, "pxed: %s (try --help)\n", error->message);
		return 2;
	}
	if (argc > 1) {
		fprintf(stderr, "pxed: unexpected argument '%s' (try --help)\n", argv[1]);
		return 2;
	}
	if ((explain_path != NULL || explain_via != NULL) && explain_client == NULL) {
		fprintf(stderr, "pxed: --path and --via go with --explain\n");
		return 2;
	}
	if (explain_client != NULL) {
		/* bad words on the command line are found before any configuration */
		g_autoptr(PxedClient) probe = pxed_client_new_from_string(explain_client, &error);
		if (probe == NULL) {
			fprintf(stderr, "pxed: --explain: %s\n", error->message);
			return 2;
		}
		if (explain_via != NULL && !g_str_equal(explain_via, "tftp") &&
		    !g_str_equal(explain_via, "http")) {
			fprintf(stderr, "pxed: --via: '%s' is not tftp or http\n", explain_via);
			return 2;
		}
	}
	if (version) {
		printf("pxed %s (plugin ABI %d.%d)\n", PXED_VERSION, PXED_ABI_MAJOR,
		       PXED_ABI_MINOR);
		return 0;
	}
	if (verbose) {
		daemon.log.max_level = G_LOG_LEVEL_DEBUG;
		daemon.log.forced = TRUE;
	}
	if (config_dirs == NULL) {
		config_dirs = g_new0(char *, 2);
		config_dirs[0] = g_strdup(pxed_core_default_config_dir());
	}

	daemon.core = pxed_core_new(NULL, (const char *const *)config_dirs,
				    (const char *const *)plugin_dirs);
	if (list) {
		g_autoptr(GPtrArray) dirs = g_ptr_array_new();
		int rc;
		/* With a readable configuration, its plugin-path counts too. */
		if (pxed_core_load(daemon.core, FALSE, problems)) {
			for (const char *const *d = pxed_core_get_plugin_dirs(daemon.core); *d; d++)
				g_ptr_array_add(dirs, (gpointer)*d);
		} else {
			for (guint i = 0; plugin_dirs != NULL && plugin_dirs[i] != NULL; i++)
				g_ptr_array_add(dirs, plugin_dirs[i]);
			g_ptr_array_add(dirs, (gpointer)pxed_core_default_plugin_dir());
		}
		g_ptr_array_add(dirs, NULL);
		rc = list_plugins(daemon.core, (const char *const *)dirs->pdata);
		pxed_core_free(daemon.core);
		return rc;
	}
	if (check || explain_client != NULL) {
		int rc;
		if (!pxed_core_load(daemon.core, FALSE, problems)) {
			print_problems(problems);
			fprintf(stderr, "pxed: configuration has %u problem%s\n", problems->len,
				problems->len == 1 ? "" : "s");
			pxed_core_free(daemon.core);
			return 1;
		}
		if (check) {
			printf("configuration OK: %u fragment%s, %u plugin instance%s\n",
			       pxed_core_get_fragment_count(daemon.core),
			       pxed_core_get_fragment_count(daemon.core) == 1 ? "" : "s",
			       pxed_core_get_runners(daemon.core)->len,
			       pxed_core_get_runners(daemon.core)->len == 1 ? "" : "s");
			rc = 0;
		} else {
			rc = explain(daemon.core, explain_client, explain_path, explain_via);
		}
		pxed_core_free(daemon.core);
		return rc;
	}

	/* The daemon. */
	signal(SIGPIPE, SIG_IGN);
	raise_file_limit();
	if (!pxed_core_load(daemon.core, TRUE, problems)) {
		print_problems(problems);
		fprintf(stderr, "pxed: not started: %u problem%s\n", problems->len,
			problems->len == 1 ? "" : "s");
		pxed_core_free(daemon.core);
		return 1;
	}
	apply_log_level(&daemon);
	if (!drop_privileges(daemon.core, &error)) {
		fprintf(stderr, "pxed: %s\n", error->message);
		pxed_core_free(daemon.core);
		return 1;
	}
	daemon.loop = g_main_loop_new(NULL, FALSE);
	g_unix_signal_add(SIGTERM, on_quit, &daemon);
	g_unix_signal_add(SIGINT, on_quit, &daemon);
	g_unix_signal_add(SIGHUP, on_reload, &daemon);
	{
		g_autofree char *msg = g_strdup_printf(
			"pid=%d version=%s fragments=%u instances=%u", (int)getpid(), PXED_VERSION,
			pxed_core_get_fragment_count(daemon.core),
			pxed_core_get_runners(daemon.core)->len);
		pxed_events_add(pxed_core_get_events(daemon.core), "core", "ready", NULL, msg);
	}
	pxed_notify("READY=1");
	flush_source = pxed_log_batch_start(&daemon.log);
	g_main_loop_run(daemon.loop);
	pxed_log_batch_stop(&daemon.log, flush_source);
	pxed_core_shutdown(daemon.core);
	pxed_core_free(daemon.core);
	g_main_loop_unref(daemon.loop);
	return daemon.exit_code;
}
