/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The iPXE backend.
 *
 * Boot decisions: PXE firmware that is not iPXE yet gets an iPXE build for
 * its architecture (DHCP option 93, RFC 4578 §2.1) over TFTP; iPXE itself
 * (user class "iPXE", RFC 3004, or iPXE's option 175) gets the URL of
 * boot.ipxe, which breaks the chain loop; UEFI HTTP Boot firmware (vendor
 * class "HTTPClient", UEFI spec §24.7) gets an iPXE build as a URL.
 *
 * Files (http pipeline): boot.ipxe chains to /ipxe with the machine's identity
 * in the query, and /ipxe renders that machine's script from the inventory —
 * or, for a machine the inventory does not know, a script that says so on its
 * console and then exits, retries or offers a menu. /generic, /cloud and
 * /ignition render the profile's other templates; as these may carry secrets
 * (tokens, keys, passwords), they go only to the address pxed's DHCP server
 * leased to the machine they are for (bind-secrets-to-lease).
 */
#include <pxed/pxed.h>

/* When /generic, /cloud and /ignition need the asking address to be the one
 * leased to the machine's MAC. */
typedef enum {
	BIND_AUTO,   /* when pxed keeps leases (a [dhcp] instance runs) */
	BIND_ALWAYS, /* without leases nothing is bound: every such request is refused */
	BIND_NEVER,
} PxedIpxeBindSecrets;

typedef enum {
	NO_MATCH_EXIT,
	NO_MATCH_RETRY,
	NO_MATCH_MENU,
} PxedIpxeNoMatch;

typedef struct {
	char *name;
	PxedInstance *instance;
	char *base_url; /* no trailing '/' */
	char *bios_file;
	char *efi_ia32_file;
	char *efi_x64_file;
	char *efi_arm64_file;
	PxedIpxeNoMatch no_match;
	gint64 retry_seconds;
	PxedTemplate *machine_script; /* built-in, for profiles without ipxe-template */
	PxedTemplate *no_match_script;
	PxedFile *chain_file; /* boot.ipxe: the same for every client, rendered once */
	PxedIpxeBindSecrets bind_secrets;
	guint64 secrets_refused;  /* requests refused by bind-secrets-to-lease */
	guint64 secrets_reported; /* ... as many as the last log line counted */
	gint64 secrets_logged;	  /* monotonic µs of that line */
} PxedIpxe;

static const PxedKey ipxe_keys[] = {
	{.name = "base-url",
	 .type = PXED_KEY_STRING,
	 .flags = PXED_KEY_FLAG_REQUIRED,
	 .description = "how clients reach this server's HTTP: http://192.0.2.10:8080"},
	{.name = "bios-file",
	 .type = PXED_KEY_STRING,
	 .default_value = "undionly.kpxe",
	 .description = "iPXE for BIOS PXE (arch 0)"},
	{.name = "efi-ia32-file",
	 .type = PXED_KEY_STRING,
	 .description = "iPXE for 32-bit UEFI (arch 6)"},
	{.name = "efi-x64-file",
	 .type = PXED_KEY_STRING,
	 .default_value = "ipxe.efi",
	 .description = "iPXE for x86-64 UEFI (arch 7, 9; HTTP boot 16); snponly.efi also fits"},
	{.name = "efi-arm64-file",
	 .type = PXED_KEY_STRING,
	 .default_value = "ipxe-arm64.efi",
	 .description = "iPXE for ARM64 UEFI (arch 11; HTTP boot 19)"},
	{.name = "no-match",
	 .type = PXED_KEY_STRING,
	 .default_value = "exit",
	 .description = "for machines no group matches: exit (next boot device), retry or menu"},
	{.name = "retry-seconds",
	 .type = PXED_KEY_INT,
	 .default_value = "30",
	 .min = 1,
	 .max = 3600,
	 .description = "wait before retrying (no-match=retry)"},
	{.name = "bind-secrets-to-lease",
	 .type = PXED_KEY_STRING,
	 .default_value = "auto",
	 .description = "render /generic, /cloud and /ignition only for the address pxed's DHCP "
			"server leased to the machine's MAC: auto (when pxed keeps leases), true, "
			"false"},
	{.name = NULL},
};

/* iPXE fills in the ${…} settings; pxed's own {{…}} are rendered here. */
static const char chain_text[] =
	"#!ipxe\n"
	"# pxed: ask for this machine's own script\n"
	"chain --autofree {{base_url}}/ipxe?mac=${mac:hexhyp}&uuid=${uuid}&platform=${platform}"
	"&buildarch=${buildarch}&hostname=${hostname}&serial=${serial}&asset=${asset} || "
	"goto failed\n"
	"exit\n"
	":failed\n"
	"echo pxed: {{base_url}}/ipxe did not boot this machine: ${errno}\n"
	"exit 1\n";

static const char machine_text[] =
	"#!ipxe\n"
	"echo pxed: {{if mac}}{{mac}}{{else}}this machine{{end}} is group {{group}}, "
	"profile {{profile}}\n"
	"{{# Under EFI, iPXE hands the kernel only the initrds its command line names }}"
	"kernel {{kernel}}{{if efi}}{{each initrd}} initrd={{. | basename}}{{end}}{{end}}"
	"{{if args}} {{args | words}}{{end}} || goto failed\n"
	"{{each initrd}}initrd {{.}} || goto failed\n{{end}}"
	"boot || goto failed\n"
	":failed\n"
	"echo pxed: booting profile {{profile}} failed: ${errno}\n"
	"exit 1\n";

static const char no_match_text[] =
	"#!ipxe\n"
	"echo pxed: this machine is not in the inventory: no group matches\n"
	"echo pxed: {{client}}\n"
	"echo pxed: add a [group:NAME] with selector.mac={{if mac}}{{mac}}{{else}}...{{end}}"
	" (or a group without selectors as the default)\n"
	"{{if mode == \"retry\"}}"
	"echo pxed: asking again in {{retry}} seconds\n"
	"sleep {{retry}}\n"
	"chain --autofree {{base_url}}/boot.ipxe\n"
	"{{end}}"
	"{{if mode == \"menu\"}}"
	":menu\n"
	"menu pxed: this machine is not in the inventory\n"
	"item retry Ask pxed again\n"
	"item shell iPXE shell\n"
	"item exit Boot from the next device\n"
	"choose --default exit --timeout 60000 target && goto ${target} || goto exit\n"
	":retry\n"
	"chain --autofree {{base_url}}/boot.ipxe || goto menu\n"
	":shell\n"
	"shell\n"
	"goto menu\n"
	":exit\n"
	"{{end}}"
	"echo pxed: trying the next boot device\n"
	"{{# not an error: iPXE goes back to the firmware, which tries the next device }}"
	"exit 0\n";

static const char failure_text[] = "#!ipxe\n"
				   "echo pxed: cannot make the boot script for this machine:\n"
				   "echo pxed: {{error | words}}\n"
				   "echo pxed: trying the next boot device\n"
				   "exit 1\n";

static void
ipxe_free(gpointer data)
{
	PxedIpxe *self = data;
	g_free(self->name);
	pxed_instance_unref(self->instance);
	g_free(self->base_url);
	g_free(self->bios_file);
	g_free(self->efi_ia32_file);
	g_free(self->efi_x64_file);
	g_free(self->efi_arm64_file);
	g_clear_pointer(&self->machine_script, pxed_template_unref);
	g_clear_pointer(&self->no_match_script, pxed_template_unref);
	g_clear_pointer(&self->chain_file, pxed_file_unref);
	g_free(self);
}

static PxedFile *script_file(const char *text);

static gpointer
ipxe_new(PxedInstance *instance, GError **error)
{
	PxedIpxe *self = g_new0(PxedIpxe, 1);
	g_autofree char *base = pxed_instance_get_string(instance, "base-url");
	g_autofree char *no_match = pxed_instance_get_string(instance, "no-match");
	g_autofree char *bind = pxed_instance_get_string(instance, "bind-secrets-to-lease");
	g_autoptr(GUri) uri = g_uri_parse(base, G_URI_FLAGS_NONE, NULL);

	self->name = g_strdup(pxed_instance_get_name(instance));
	self->instance = pxed_instance_ref(instance);
	self->bios_file = pxed_instance_get_string(instance, "bios-file");
	self->efi_ia32_file = pxed_instance_get_string(instance, "efi-ia32-file");
	self->efi_x64_file = pxed_instance_get_string(instance, "efi-x64-file");
	self->efi_arm64_file = pxed_instance_get_string(instance, "efi-arm64-file");
	self->retry_seconds = pxed_instance_get_int(instance, "retry-seconds");
	if (uri == NULL || (g_strcmp0(g_uri_get_scheme(uri), "http") != 0 &&
			    g_strcmp0(g_uri_get_scheme(uri), "https") != 0)) {
		g_set_error(error, PXED_ERROR, PXED_ERROR_INVALID,
			    "base-url '%s' is not an http:// or https:// URL", base);
		ipxe_free(self);
		return NULL;
	}
	while (g_str_has_suffix(base, "/"))
		base[strlen(base) - 1] = '\0';
	self->base_url = g_steal_pointer(&base);
	if (g_str_equal(no_match, "exit"))
		self->no_match = NO_MATCH_EXIT;
	else if (g_str_equal(no_match, "retry"))
		self->no_match = NO_MATCH_RETRY;
	else if (g_str_equal(no_match, "menu"))
		self->no_match = NO_MATCH_MENU;
	else {
		g_set_error(error, PXED_ERROR, PXED_ERROR_INVALID,
			    "no-match '%s' is not exit, retry or menu", no_match);
		ipxe_free(self);
		return NULL;
	}
	if (g_str_equal(bind, "auto"))
		self->bind_secrets = BIND_AUTO;
	else if (g_str_equal(bind, "true"))
		self->bind_secrets = BIND_ALWAYS;
	else if (g_str_equal(bind, "false"))
		self->bind_secrets = BIND_NEVER;
	else {
		g_set_error(error, PXED_ERROR, PXED_ERROR_INVALID,
			    "bind-secrets-to-lease '%s' is not auto, true or false", bind);
		ipxe_free(self);
		return NULL;
	}
	self->machine_script = pxed_template_new("machine script (built in)", machine_text,
						 PXED_TEMPLATE_ESCAPE_IPXE, NULL);
	self->no_match_script = pxed_template_new("no-match script (built in)", no_match_text,
						  PXED_TEMPLATE_ESCAPE_IPXE, NULL);
	g_assert(self->machine_script && self->no_match_script);
	/* boot.ipxe names no machine ({{base_url}} is all it uses; iPXE fills
	 * in the ${…}): one rendering serves everyone, and its Last-Modified
	 * stays put until the configuration changes */
	{
		g_autoptr(PxedTemplate) chain = pxed_template_new(
			"boot.ipxe (built in)", chain_text, PXED_TEMPLATE_ESCAPE_IPXE, NULL);
		g_autoptr(PxedTemplateVars) vars = pxed_template_vars_new();
		g_autofree char *text = NULL;

		g_assert(chain != NULL);
		pxed_template_vars_set(vars, "base_url", self->base_url);
		text = pxed_template_render(chain, vars, error);
		if (text == NULL) {
			ipxe_free(self);
			return NULL;
		}
		self->chain_file = script_file(text);
	}
	return self;
}

/* ---- boot decisions ---- */

static const char *
ipxe_for_arch(PxedIpxe *self, gint arch)
{
	switch (arch) {
	case PXED_ARCH_UNKNOWN: /* old BIOS PXE sends no option 93 */
	case PXED_ARCH_BIOS:
		return self->bios_file;
	case PXED_ARCH_EFI_IA32:
		return self->efi_ia32_file;
	case PXED_ARCH_EFI_X64:
	case PXED_ARCH_EFI_BC:
	case PXED_ARCH_EFI_X64_HTTP:
		return self->efi_x64_file;
	case PXED_ARCH_EFI_ARM64:
	case PXED_ARCH_EFI_ARM64_HTTP:
		return self->efi_arm64_file;
	default:
		return NULL;
	}
}

static gboolean
is_ipxe(PxedClient *client)
{
	/* user class "iPXE" (RFC 3004, option 77), or iPXE's own option 175 */
	return g_strcmp0(pxed_client_get_user_class(client), "iPXE") == 0 ||
	       pxed_client_get_attribute(client, "ipxe-options") != NULL;
}

static PxedResult
ipxe_boot(gpointer data, PxedClient *client, PxedBootReply *reply, GError **error)
{
	PxedIpxe *self = data;
	const char *vendor = pxed_client_get_vendor_class(client);
	const char *file;

	if (is_ipxe(client)) {
		g_autofree char *url = g_strconcat(self->base_url, "/boot.ipxe", NULL);
		pxed_boot_reply_set_filename(reply, url);
		return PXED_RESULT_ANSWER;
	}
	file = ipxe_for_arch(self, pxed_client_get_arch(client));
	if (file == NULL)
		return PXED_RESULT_DECLINE; /* an architecture we have no iPXE for */
	if (vendor != NULL && g_str_has_prefix(vendor, "HTTPClient")) {
		/* UEFI HTTP Boot: a URL, and option 60 "HTTPClient" in the answer */
		g_autofree char *url = g_strconcat(self->base_url, "/", file, NULL);
		pxed_boot_reply_set_filename(reply, url);
		pxed_boot_reply_set_vendor_class(reply, "HTTPClient");
		return PXED_RESULT_ANSWER;
	}
	pxed_boot_reply_set_filename(reply, file);
	return PXED_RESULT_ANSWER;
}

/* ---- scripts ---- */

static PxedTemplateVars *
vars_for(PxedIpxe *self, PxedMachine *machine, PxedClient *client)
{
	PxedTemplateVars *vars = pxed_machine_build_vars(machine, client);
	const char *platform = pxed_client_get_attribute(client, "platform");
	const char *described = pxed_template_vars_get(vars, "client");
	char retry[24];

	g_snprintf(retry, sizeof(retry), "%" G_GINT64_FORMAT, self->retry_seconds);

	pxed_template_vars_set(vars, "base_url", self->base_url);
	pxed_template_vars_set(vars, "retry", retry);
	pxed_template_vars_set(vars, "mode",
			       self->no_match == NO_MATCH_RETRY	 ? "retry"
			       : self->no_match == NO_MATCH_MENU ? "menu"
								 : "exit");
	if (described == NULL || described[0] == '\0')
		pxed_template_vars_set(vars, "client", "nothing is known");
	/* iPXE's ${platform} says EFI even when no arch number came along */
	if (g_strcmp0(platform, "efi") == 0)
		pxed_template_vars_set(vars, "efi", "true");
	else if (g_strcmp0(platform, "pcbios") == 0)
		pxed_template_vars_set(vars, "efi", "");
	if (pxed_template_vars_get(vars, "efi") == NULL)
		pxed_template_vars_set(vars, "efi", "");
	return vars;
}

static PxedFile *
script_file(const char *text)
{
	PxedFile *file = pxed_file_new_for_data(text, strlen(text));
	pxed_file_set_content_type(file, "text/plain");
	return file;
}

/* A script that tells the console why this machine cannot boot. */
static PxedFile *
failure_script(PxedIpxe *self, PxedClient *client, const char *why)
{
	g_autoptr(PxedTemplate) tmpl =
		pxed_template_new("failure", failure_text, PXED_TEMPLATE_ESCAPE_IPXE, NULL);
	g_autoptr(PxedTemplateVars) vars = pxed_template_vars_new();
	g_autofree char *text = NULL;

	pxed_template_vars_set(vars, "error", why);
	text = pxed_template_render(tmpl, vars, NULL);
	pxed_instance_event(self->instance, client, "render-failed", "%s", why);
	return script_file(text);
}

static PxedResult
machine_script(PxedIpxe *self, PxedClient *client, PxedFile **file, GError **error)
{
	g_autoptr(PxedMachine) machine = pxed_instance_match(self->instance, client);
	g_autoptr(PxedTemplateVars) vars = vars_for(self, machine, client);
	g_autoptr(GError) local = NULL;
	g_autofree char *text = NULL;
	PxedTemplate *tmpl;

	if (machine == NULL) {
		text = pxed_template_render(self->no_match_script, vars, &local);
		if (text == NULL) {
			g_propagate_error(error, g_steal_pointer(&local));
			return PXED_RESULT_FAIL;
		}
		pxed_instance_event(self->instance, client, "no-match",
				    "no inventory group; answered with no-match=%s",
				    pxed_template_vars_get(vars, "mode"));
		*file = script_file(text);
		return PXED_RESULT_ANSWER;
	}
	tmpl = pxed_machine_get_template(machine, "ipxe");
	if (tmpl == NULL && pxed_machine_get_kernel(machine) == NULL) {
		g_autofree char *why =
			g_strdup_printf("profile %s has no kernel and no ipxe-template",
					pxed_machine_get_profile(machine));
		*file = failure_script(self, client, why);
		return PXED_RESULT_ANSWER;
	}
	text = pxed_template_render(tmpl != NULL ? tmpl : self->machine_script, vars, &local);
	if (text == NULL) {
		/* e.g. "ipxe/worker.ipxe:7: unknown variable 'metadata.disk'" */
		*file = failure_script(self, client, local->message);
		return PXED_RESULT_ANSWER;
	}
	pxed_instance_event(self->instance, client, "script", "group %s, profile %s",
			    pxed_machine_get_group(machine), pxed_machine_get_profile(machine));
	*file = script_file(text);
	return PXED_RESULT_ANSWER;
}

/* A query names whatever MAC it likes, and an address names whoever was
 * last noted there; the lease names the one machine pxed gave the address. */
static gboolean
may_have_secrets(PxedIpxe *self, const char *kind, PxedClient *client, GError **error)
{
	PxedLeaseCheck check;
	gint64 now;

	if (self->bind_secrets == BIND_NEVER)
		return TRUE;
	check = pxed_instance_check_lease(self->instance, client);
	if (check == PXED_LEASE_CHECK_BOUND ||
	    (check == PXED_LEASE_CHECK_NO_LEASES && self->bind_secrets == BIND_AUTO))
		return TRUE;
	self->secrets_refused++;
	pxed_instance_event(self->instance, client, "secrets-refused",
			    "/%s from %s: not the address leased to %s", kind,
			    pxed_client_get_address_string(client) ?: "-",
			    pxed_client_get_mac_string(client) ?: "an unnamed machine");
	now = g_get_monotonic_time();
	if (self->secrets_logged == 0 || now - self->secrets_logged >= 60 * G_USEC_PER_SEC) {
		g_message("%s: %" G_GUINT64_FORMAT " requests for /generic, /cloud or /ignition "
			  "refused since the last report (%" G_GUINT64_FORMAT
			  " in all): not from the address leased to the machine",
			  self->name, self->secrets_refused - self->secrets_reported,
			  self->secrets_refused);
		self->secrets_reported = self->secrets_refused;
		self->secrets_logged = now;
	}
	g_set_error(error, PXED_ERROR, PXED_ERROR_DENIED,
		    "/%s: %s is not the address pxed leased to %s", kind,
		    pxed_client_get_address_string(client) ?: "(no address)",
		    pxed_client_get_mac_string(client) ?: "(no MAC)");
	return FALSE;
}

static PxedResult
other_template(PxedIpxe *self, const char *kind, PxedClient *client, PxedFile **file,
	       GError **error)
{
	g_autoptr(PxedMachine) machine = NULL;
	g_autoptr(PxedTemplateVars) vars = NULL;
	g_autofree char *text = NULL;
	PxedTemplate *tmpl;

	/* before the inventory is asked: a refusal says nothing of who is in it */
	if (!may_have_secrets(self, kind, client, error))
		return PXED_RESULT_FAIL;
	machine = pxed_instance_match(self->instance, client);
	if (machine == NULL) {
		g_set_error(error, PXED_ERROR, PXED_ERROR_NOT_FOUND,
			    "/%s: no inventory group matches %s", kind,
			    pxed_client_get_key(client));
		return PXED_RESULT_FAIL;
	}
	tmpl = pxed_machine_get_template(machine, kind);
	if (tmpl == NULL) {
		g_set_error(error, PXED_ERROR, PXED_ERROR_NOT_FOUND,
			    "/%s: profile %s has no %s template", kind,
			    pxed_machine_get_profile(machine), kind);
		return PXED_RESULT_FAIL;
	}
	vars = vars_for(self, machine, client);
	text = pxed_template_render(tmpl, vars, error);
	if (text == NULL)
		return PXED_RESULT_FAIL;
	*file = pxed_file_new_for_data(text, strlen(text));
	pxed_file_set_content_type(*file, g_str_equal(kind, "ignition") ? "application/json"
									: "text/plain");
	return PXED_RESULT_ANSWER;
}

static PxedResult
ipxe_open_file(gpointer data, PxedFileRequest *request, PxedFile **file, GError **error)
{
	PxedIpxe *self = data;
	const char *path = pxed_file_request_get_path(request);
	PxedClient *client = pxed_file_request_get_client(request);

	if (g_str_equal(path, "boot.ipxe")) {
		*file = pxed_file_ref(self->chain_file);
		return PXED_RESULT_ANSWER;
	}
	if (g_str_equal(path, "ipxe"))
		return machine_script(self, client, file, error);
	if (g_str_equal(path, "generic") || g_str_equal(path, "cloud") ||
	    g_str_equal(path, "ignition"))
		return other_template(self, path, client, file, error);
	return PXED_RESULT_DECLINE;
}

PXED_PLUGIN_DEFINE(.kind = PXED_PLUGIN_KIND_BACKEND, .name = "ipxe",
		   .description = "iPXE: boot decisions by firmware, per-machine scripts",
		   .version = PXED_VERSION, .license = "LGPL-2.1-or-later", .keys = ipxe_keys,
		   .instance_new = ipxe_new, .instance_free = ipxe_free, .boot = ipxe_boot,
		   .open_file = ipxe_open_file);
