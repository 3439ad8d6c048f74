/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The PXELINUX backend: answers the `pxelinux.cfg/` lookups PXELINUX makes,
 * with a hand-written file when one exists, else a config rendered from the
 * inventory; and, in the boot pipeline, sends BIOS PXE clients pxelinux.0.
 *
 * PXELINUX asks, in order (syslinux doc/pxelinux.txt): the SMBIOS UUID,
 * "01-" + the MAC with dashes (ARP type 1), the IPv4 address as 8 upper-case
 * hex digits, then that string shortened one digit at a time, then "default".
 * It takes the first file it gets. So a name must be answered only when it
 * really is this machine's: a UUID or MAC name whose match is no better than
 * an anonymous client's is declined, and PXELINUX goes on to the next name.
 */
#include <pxed/pxed.h>

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct {
	char *name;
	PxedInstance *instance;
	char *config_dir; /* hand-written files, or NULL */
	int config_fd;
	char *folder; /* "pxelinux.cfg/" */
	char *boot_file;
	gboolean render;
} PxedPxelinux;

static const PxedKey pxelinux_keys[] = {
	{.name = "config-dir",
	 .type = PXED_KEY_DIRECTORY,
	 .description =
		 "hand-written configs, named as PXELINUX asks (they win over rendered ones)"},
	{.name = "folder",
	 .type = PXED_KEY_STRING,
	 .default_value = "pxelinux.cfg",
	 .description = "the folder PXELINUX asks in, relative to the TFTP root"},
	{.name = "boot-file",
	 .type = PXED_KEY_STRING,
	 .default_value = "pxelinux.0",
	 .description = "what BIOS clients are told to boot (boot pipeline)"},
	{.name = "render",
	 .type = PXED_KEY_BOOLEAN,
	 .default_value = "true",
	 .description = "render configs from the inventory"},
	{.name = NULL},
};

static void
pxelinux_free(gpointer data)
{
	PxedPxelinux *self = data;
	if (self->config_fd >= 0)
		close(self->config_fd);
	g_free(self->name);
	pxed_instance_unref(self->instance);
	g_free(self->config_dir);
	g_free(self->folder);
	g_free(self->boot_file);
	g_free(self);
}

static gpointer
pxelinux_new(PxedInstance *instance, GError **error)
{
	PxedPxelinux *self = g_new0(PxedPxelinux, 1);
	g_autofree char *folder = pxed_instance_get_string(instance, "folder");
	g_autofree char *clean = pxed_path_normalize(folder, -1, NULL);

	self->name = g_strdup(pxed_instance_get_name(instance));
	self->instance = pxed_instance_ref(instance);
	self->config_dir = pxed_instance_get_path(instance, "config-dir");
	self->config_fd = -1;
	self->boot_file = pxed_instance_get_string(instance, "boot-file");
	self->render = pxed_instance_get_boolean(instance, "render");
	if (clean == NULL) {
		g_set_error(error, PXED_ERROR, PXED_ERROR_INVALID,
			    "folder '%s' is not a relative folder name", folder);
		pxelinux_free(self);
		return NULL;
	}
	self->folder = g_strconcat(clean, "/", NULL);
	if (self->config_dir != NULL) {
		self->config_fd = open(self->config_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (self->config_fd < 0) {
			g_set_error(error, PXED_ERROR, PXED_ERROR_FAILED, "config-dir %s: %s",
				    self->config_dir, g_strerror(errno));
			pxelinux_free(self);
			return NULL;
		}
	}
	return self;
}

/* A hand-written file: one name in one folder, no symlinks, regular only. */
static PxedFile *
open_hand_written(PxedPxelinux *self, const char *name, GError **error)
{
	struct stat st;
	int fd = openat(self->config_fd, name,
			O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);

	if (fd < 0) {
		if (errno == ENOENT)
			return NULL;
		g_set_error(error, PXED_ERROR, PXED_ERROR_DENIED, "%s/%s: %s", self->config_dir,
			    name, g_strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		g_set_error(error, PXED_ERROR, PXED_ERROR_DENIED, "%s/%s: not a regular file",
			    self->config_dir, name);
		return NULL;
	}
	return pxed_file_new_for_fd(fd, error);
}

typedef enum {
	NAME_OTHER,
	NAME_UUID,
	NAME_MAC,
	NAME_HEX_IP,
	NAME_DEFAULT,
} PxedPxelinuxNameKind;

/* What a pxelinux.cfg name says about the machine asking. */
static PxedPxelinuxNameKind
classify(const char *name, PxedClient *client)
{
	gsize len = strlen(name);
	gboolean hex = len >= 1 && len <= 8;

	if (g_str_equal(name, "default"))
		return NAME_DEFAULT;
	if (len == 36 && pxed_client_set_uuid_string(client, name, NULL))
		return NAME_UUID;
	/* "01-" is ARP hardware type 1 (Ethernet) */
	if (g_str_has_prefix(name, "01-") && len == 3 + 17 &&
	    pxed_client_set_mac_string(client, name + 3, NULL))
		return NAME_MAC;
	for (gsize i = 0; hex && i < len; i++)
		hex = g_ascii_isxdigit(name[i]) && !g_ascii_islower(name[i]);
	return hex ? NAME_HEX_IP : NAME_OTHER;
}

static PxedFile *
render_config(PxedPxelinux *self, PxedMachine *machine, PxedClient *client, GError **error)
{
	PxedTemplate *tmpl = pxed_machine_get_template(machine, "pxelinux");
	const char *const *initrds = pxed_machine_get_initrds(machine);
	g_autoptr(GString) out = NULL;
	g_autofree char *text = NULL;

	if (tmpl != NULL) {
		g_autoptr(PxedTemplateVars) vars = pxed_machine_build_vars(machine, client);
		text = pxed_template_render(tmpl, vars, error);
		if (text == NULL)
			return NULL;
		return pxed_file_new_for_data(text, strlen(text));
	}
	if (pxed_machine_get_kernel(machine) == NULL) {
		g_set_error(error, PXED_ERROR, PXED_ERROR_FAILED,
			    "profile '%s' has no kernel and no pxelinux-template",
			    pxed_machine_get_profile(machine));
		return NULL;
	}
	out = g_string_new(NULL);
	g_string_append_printf(out, "# pxed: group %s, profile %s\n",
			       pxed_machine_get_group(machine), pxed_machine_get_profile(machine));
	g_string_append(out, "DEFAULT pxed\nPROMPT 0\nTIMEOUT 0\nLABEL pxed\n");
	{
		/* each value one kernel argument (a blank or a `"` in one would add
		 * or join arguments), the profile's args one per word */
		g_autofree char *kernel = pxed_template_escape(pxed_machine_get_kernel(machine),
							       PXED_TEMPLATE_ESCAPE_LINE);
		g_autoptr(GString) append = g_string_new(NULL);

		g_string_append_printf(out, "  KERNEL %s\n", kernel);
		/* APPEND initrd=a,b …: understood by every PXELINUX version */
		for (guint i = 0; initrds[i] != NULL; i++) {
			g_autofree char *one =
				pxed_template_escape(initrds[i], PXED_TEMPLATE_ESCAPE_LINE);
			g_string_append_printf(append, "%s%s", i == 0 ? "initrd=" : ",", one);
		}
		if (pxed_machine_get_args(machine) != NULL && pxed_machine_get_args(machine)[0]) {
			g_autofree char *args = pxed_template_escape_words(
				pxed_machine_get_args(machine), PXED_TEMPLATE_ESCAPE_LINE);
			if (append->len > 0 && args[0] != '\0')
				g_string_append_c(append, ' ');
			g_string_append(append, args);
		}
		if (append->len > 0)
			g_string_append_printf(out, "  APPEND %s\n", append->str);
	}
	return pxed_file_new_for_data(out->str, out->len);
}

static gboolean
same_machine(PxedMachine *a, PxedMachine *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return g_str_equal(pxed_machine_get_group(a), pxed_machine_get_group(b));
}

static PxedResult
pxelinux_open_file(gpointer data, PxedFileRequest *request, PxedFile **file, GError **error)
{
	PxedPxelinux *self = data;
	const char *path = pxed_file_request_get_path(request);
	PxedClient *asking = pxed_file_request_get_client(request);
	g_autoptr(PxedClient) named = NULL;
	g_autoptr(PxedClient) anonymous = NULL;
	g_autoptr(PxedMachine) machine = NULL;
	g_autoptr(PxedMachine) fallback = NULL;
	g_autoptr(GError) local = NULL;
	const char *name;
	PxedPxelinuxNameKind kind;

	if (!g_str_has_prefix(path, self->folder))
		return PXED_RESULT_DECLINE;
	name = path + strlen(self->folder);
	if (name[0] == '\0' || strchr(name, '/') != NULL)
		return PXED_RESULT_DECLINE;

	if (self->config_fd >= 0) {
		*file = open_hand_written(self, name, &local);
		if (*file != NULL) {
			pxed_file_set_content_type(*file, "text/plain");
			return PXED_RESULT_ANSWER;
		}
		if (local != NULL) {
			g_propagate_error(error, g_steal_pointer(&local));
			return PXED_RESULT_FAIL;
		}
	}
	if (!self->render)
		return PXED_RESULT_DECLINE;

	/* The asking client as the TFTP plugin knows it (its address, and what
	 * DHCP said about that address), with what the name says over it. The
	 * anonymous one is what any machine of the same architecture there
	 * would be: a UUID or MAC name must identify more than that. */
	anonymous = pxed_client_new();
	pxed_client_set_address(anonymous, pxed_client_get_address(asking));
	pxed_client_set_arch(anonymous, pxed_client_get_arch(asking));
	named = pxed_client_copy(asking);
	kind = classify(name, named);
	switch (kind) {
	case NAME_UUID:
	case NAME_MAC:
		machine = pxed_instance_match(self->instance, named);
		fallback = pxed_instance_match(self->instance, anonymous);
		/* nothing more specific than what anyone gets: not this name's */
		if (machine == NULL || same_machine(machine, fallback))
			return PXED_RESULT_DECLINE;
		break;
	case NAME_DEFAULT:
		machine = pxed_instance_match(self->instance, asking);
		if (machine == NULL)
			return PXED_RESULT_DECLINE;
		break;
	case NAME_HEX_IP:
	case NAME_OTHER:
	default:
		/* the inventory has no address selectors: only hand-written files */
		return PXED_RESULT_DECLINE;
	}
	*file = render_config(self, machine, named, error);
	if (*file == NULL)
		return PXED_RESULT_FAIL;
	pxed_file_set_content_type(*file, "text/plain");
	return PXED_RESULT_ANSWER;
}

static PxedResult
pxelinux_boot(gpointer data, PxedClient *client, PxedBootReply *reply, GError **error)
{
	PxedPxelinux *self = data;
	gint arch = pxed_client_get_arch(client);

	/* pxelinux.0 is a BIOS program (RFC 4578 §2.1: type 0); firmware that
	 * sends no option 93 is old BIOS PXE. BIOS iPXE (QEMU's ROMs are iPXE)
	 * runs pxelinux.0 through its PXE API as well; with `boot=ipxe;pxelinux`
	 * the ipxe backend answers iPXE before this one is asked. */
	if (arch != PXED_ARCH_BIOS && arch != PXED_ARCH_UNKNOWN)
		return PXED_RESULT_DECLINE;
	pxed_boot_reply_set_filename(reply, self->boot_file);
	return PXED_RESULT_ANSWER;
}

PXED_PLUGIN_DEFINE(.kind = PXED_PLUGIN_KIND_BACKEND, .name = "pxelinux",
		   .description = "PXELINUX: pxelinux.cfg/ lookups, rendered or hand-written",
		   .version = PXED_VERSION, .license = "LGPL-2.1-or-later", .keys = pxelinux_keys,
		   .instance_new = pxelinux_new, .instance_free = pxelinux_free,
		   .boot = pxelinux_boot, .open_file = pxelinux_open_file);
