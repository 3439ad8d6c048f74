/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "pxed-loader.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <stdio.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <sys/stat.h>
#include <unistd.h>

/* G_DEFINE_QUARK makes its first argument the quark's string: no spaces */
/* clang-format off */
G_DEFINE_QUARK(pxed-loader-error-quark, pxed_loader_error)
/* clang-format on */

struct _PxedLoader {
	GStrv dirs;
	GHashTable *loaded;  /* name -> path (plugin descriptors are resident) */
	GHashTable *plugins; /* name -> const PxedPlugin* */
};

/* Where a descriptor field ends: a plugin's descriptor holds @field when its
 * struct_size reaches that far. */
#define PLUGIN_FIELD_END(field)                                                                    \
	(G_STRUCT_OFFSET(PxedPlugin, field) + sizeof(((PxedPlugin *)0)->field))

/* The last field of the current minor: the assertion fails the build of a
 * field appended to PxedPlugin without an update here. */
#define PLUGIN_LAST_FIELD open_file
G_STATIC_ASSERT(PLUGIN_FIELD_END(PLUGIN_LAST_FIELD) == sizeof(PxedPlugin));

/* The size of the descriptor at each minor of this major (one entry per
 * minor, also for minors that added only functions): a plugin that says it
 * is 1.N must hold at least the fields of 1.N. */
static const guint32 descriptor_size[PXED_ABI_MINOR + 1] = {
	[0] = PLUGIN_FIELD_END(open_file),
};

PxedLoader *
pxed_loader_new(const char *const *dirs)
{
	PxedLoader *self = g_new0(PxedLoader, 1);
	self->dirs = g_strdupv((char **)dirs);
	if (self->dirs == NULL)
		self->dirs = g_new0(char *, 1);
	self->loaded = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	self->plugins = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	return self;
}

void
pxed_loader_free(PxedLoader *self)
{
	g_strfreev(self->dirs);
	g_hash_table_unref(self->loaded);
	g_hash_table_unref(self->plugins);
	g_free(self);
}

const char *const *
pxed_loader_get_dirs(PxedLoader *self)
{
	return (const char *const *)self->dirs;
}

/* Who may have written what the daemon runs: root, and the user it runs as
 * (the same when it runs as root). Writable by group is allowed only for the
 * root group, or — not running as root — the running user's group; writable
 * by others never (sshd's StrictModes) — except a root-owned folder with the
 * sticky bit, like /tmp: there only an entry's owner may rename or remove it,
 * so the next folder down, itself checked to be root's (or the running
 * user's) and closed to others, cannot be swapped, and a name others create
 * there is refused by that same owner check. Build trees and CI checkouts
 * live below /tmp; refusing it bought nothing.
 * %NULL when @st passes, else what is wrong with it. */
static char *
unsafe_reason(const struct stat *st)
{
	uid_t uid = geteuid();
	gid_t gid = getegid();

	if (st->st_uid != 0 && st->st_uid != uid) {
		if (uid == 0)
			return g_strdup_printf("is owned by uid %u, not root", (guint)st->st_uid);
		return g_strdup_printf("is owned by uid %u, neither root nor the running user "
				       "(uid %u)",
				       (guint)st->st_uid, (guint)uid);
	}
	if (S_ISDIR(st->st_mode) && (st->st_mode & S_ISVTX) && st->st_uid == 0)
		return NULL;
	if (st->st_mode & S_IWOTH)
		return g_strdup("is writable by others");
	if ((st->st_mode & S_IWGRP) && st->st_gid != 0 && (uid == 0 || st->st_gid != gid))
		return g_strdup_printf("is writable by its group (gid %u)", (guint)st->st_gid);
	return NULL;
}

int
pxed_loader_open_checked(const char *path, GError **error)
{
	g_autofree char *real = realpath(path, NULL);
	g_auto(GStrv) parts = NULL;
	g_autoptr(GString) walked = g_string_new("/");
	int dir, fd = -1;
	guint last;
	struct stat st;

	if (real == NULL) {
		g_set_error(error, PXED_LOADER_ERROR, PXED_LOADER_ERROR_OPEN, "%s: %s", path,
			    g_strerror(errno));
		return -1;
	}
	/* Down from / one folder at a time, each opened below the one checked
	 * before, without following links: what is checked is what is opened.
	 * Links in @path were resolved by realpath() above; the folders they
	 * lead to are the ones checked. */
	parts = g_strsplit(real, "/", -1);
	last = g_strv_length(parts) - 1;
	dir = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	for (guint i = 0; dir >= 0; i++) {
		g_autofree char *why = NULL;

		if (fstat(dir, &st) != 0) {
			g_set_error(error, PXED_LOADER_ERROR, PXED_LOADER_ERROR_OPEN,
				    "%s: folder %s: %s", path, walked->str, g_strerror(errno));
			break;
		}
		why = unsafe_reason(&st);
		if (why != NULL) {
			g_set_error(error, PXED_LOADER_ERROR, PXED_LOADER_ERROR_INSECURE,
				    "%s: refused: folder %s %s", path, walked->str, why);
			break;
		}
		while (i < last && parts[i][0] == '\0')
			i++;
		if (i == last) {
			/* O_NONBLOCK: a FIFO planted here must not hang the daemon */
			fd = openat(dir, parts[i],
				    O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK);
			if (fd < 0)
				g_set_error(error, PXED_LOADER_ERROR, PXED_LOADER_ERROR_OPEN,
					    "%s: %s", path, g_strerror(errno));
			break;
		}
		{
			int next = openat(dir, parts[i],
					  O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			int err = errno;
			if (walked->str[walked->len - 1] != '/')
				g_string_append_c(walked, '/');
			g_string_append(walked, parts[i]);
			close(dir);
			dir = next;
			if (dir < 0)
				g_set_error(error, PXED_LOADER_ERROR, PXED_LOADER_ERROR_OPEN,
					    "%s: folder %s: %s", path, walked->str,
					    g_strerror(err));
		}
	}
	if (dir >= 0)
		close(dir);
	if (fd < 0) {
		if (error != NULL && *error == NULL)
			g_set_error(error, PXED_LOADER_ERROR, PXED_LOADER_ERROR_OPEN, "%s: %s",
				    path, g_strerror(errno));
		return -1;
	}
	{
		g_autofree char *why = NULL;
		if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
			g_set_error(error, PXED_LOADER_ERROR, PXED_LOADER_ERROR_INSECURE,
				    "%s: not a regular file", path);
			close(fd);
			return -1;
		}
		why = unsafe_reason(&st);
		if (why != NULL) {
			g_set_error(error, PXED_LOADER_ERROR, PXED_LOADER_ERROR_INSECURE,
				    "%s: refused: the file %s", path, why);
			close(fd);
			return -1;
		}
	}
	return fd;
}

static gboolean
field_empty(const char *s)
{
	return s == NULL || s[0] == '\0';
}

/* The object already loaded from the file @st describes, or %NULL. The
 * dynamic linker would find it itself, by device and inode, but would then
 * also file the new /proc/self/fd name under it; once that descriptor is
 * closed and its number used again for another plugin, dlopen() of the same
 * name would hand out this object instead (it matches names before it opens
 * anything). So an object is looked up here, among the mappings of the
 * process, before dlopen() ever sees a second name for it. */
static void *
find_loaded(const struct stat *st)
{
	g_autofree char *maps = NULL;
	g_auto(GStrv) lines = NULL;

	if (!g_file_get_contents("/proc/self/maps", &maps, NULL, NULL))
		return NULL;
	lines = g_strsplit(maps, "\n", -1);
	for (guint i = 0; lines[i] != NULL; i++) {
		unsigned long start, end, inode;
		unsigned int maj, min;
		Dl_info info;
		void *handle;

		if (sscanf(lines[i], "%lx-%lx %*s %*s %x:%x %lu", &start, &end, &maj, &min,
			   &inode) != 5 ||
		    inode != (unsigned long)st->st_ino || maj != major(st->st_dev) ||
		    min != minor(st->st_dev))
			continue;
		if (dladdr((void *)start, &info) == 0 || info.dli_fname == NULL)
			continue; /* mapped, but not by the dynamic linker */
		handle =
			dlopen(info.dli_fname, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE | RTLD_NOLOAD);
		if (handle != NULL)
			return handle;
	}
	return NULL;
}

/* dlopen() of the checked file descriptor, through its /proc/self/fd name: the
 * inode checked is the one mapped, whatever happens to @path meanwhile. Takes
 * @fd. */
static void *
open_descriptor(const char *path, int fd, GError **error)
{
	g_autofree char *fd_path = g_strdup_printf("/proc/self/fd/%d", fd);
	struct link_map *map = NULL;
	struct stat st;
	void *handle;

	if (fstat(fd, &st) == 0 && (handle = find_loaded(&st)) != NULL) {
		close(fd);
		return handle;
	}
	/* RTLD_NODELETE: the code stays mapped even if a handle is closed, because
	 * a stopped instance may still have sources pending on the main loop. */
	handle = dlopen(fd_path, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
	if (handle == NULL) {
		const char *why = dlerror();
		/* dlerror() usually starts with the name given: say the file's */
		if (why != NULL && g_str_has_prefix(why, fd_path))
			why += strlen(fd_path);
		if (why != NULL && g_str_has_prefix(why, ": "))
			why += 2;
		if (access("/proc/self/fd", X_OK) != 0)
			why = "cannot load by descriptor: /proc is not mounted";
		g_set_error(error, PXED_LOADER_ERROR, PXED_LOADER_ERROR_OPEN, "%s: %s", path,
			    why != NULL ? why : "dlopen failed");
		close(fd);
		return NULL;
	}
	/* A new object, known by this descriptor's name: the descriptor stays
	 * open for as long as the code stays mapped (for good: RTLD_NODELETE),
	 * so that no other file is ever opened under that name. Any other name
	 * means the linker handed out an object it knew already by that name,
	 * which is not the file checked. */
	if (dlinfo(handle, RTLD_DI_LINKMAP, &map) != 0 || map == NULL ||
	    g_strcmp0(map->l_name, fd_path) != 0) {
		g_set_error(error, PXED_LOADER_ERROR, PXED_LOADER_ERROR_OPEN,
			    "%s: the dynamic linker returned %s, not the file checked", path,
			    map != NULL ? map->l_name : "another object");
		dlclose(handle);
		close(fd);
		return NULL;
	}
	return handle;
}

const PxedPlugin *
pxed_loader_open_file(const char *path, const char *expected_name, GError **error)
{
	void *handle;
	const PxedPlugin *plugin;
	int fd = pxed_loader_open_checked(path, error);

	if (fd < 0)
		return NULL;
	handle = open_descriptor(path, fd, error);
	if (handle == NULL)
		return NULL;
	plugin = dlsym(handle, PXED_PLUGIN_SYMBOL);
	if (plugin == NULL) {
		g_set_error(error, PXED_LOADER_ERROR, PXED_LOADER_ERROR_SYMBOL,
			    "%s: no '%s' descriptor: not a pxed plugin (use PXED_PLUGIN_DEFINE)",
			    path, PXED_PLUGIN_SYMBOL);
		return NULL;
	}
	/* The version gate comes before any other field is read: a plugin of
	 * another ABI may lay the rest out differently. */
	if (plugin->abi_major != PXED_ABI_MAJOR) {
		g_set_error(error, PXED_LOADER_ERROR, PXED_LOADER_ERROR_ABI,
			    "%s: plugin ABI %u.%u, this pxed speaks ABI %d.%d", path,
			    plugin->abi_major, plugin->abi_minor, PXED_ABI_MAJOR, PXED_ABI_MINOR);
		return NULL;
	}
	if (plugin->abi_minor > PXED_ABI_MINOR) {
		g_set_error(error, PXED_LOADER_ERROR, PXED_LOADER_ERROR_ABI,
			    "%s: plugin built for ABI %u.%u, newer than this pxed's %d.%d", path,
			    plugin->abi_major, plugin->abi_minor, PXED_ABI_MAJOR, PXED_ABI_MINOR);
		return NULL;
	}
	/* Past this point only fields within struct_size are read: a plugin
	 * built for an older minor has a shorter descriptor, and the fields
	 * after its end are not its (they may be another object's memory). */
	if (plugin->struct_size < descriptor_size[plugin->abi_minor]) {
		g_set_error(error, PXED_LOADER_ERROR, PXED_LOADER_ERROR_ABI,
			    "%s: descriptor of %u bytes is smaller than ABI %u.%u's (%u)", path,
			    plugin->struct_size, plugin->abi_major, plugin->abi_minor,
			    descriptor_size[plugin->abi_minor]);
		return NULL;
	}
	if (field_empty(plugin->name) || field_empty(plugin->description) ||
	    plugin->instance_new == NULL || plugin->instance_free == NULL) {
		g_set_error(error, PXED_LOADER_ERROR, PXED_LOADER_ERROR_INVALID,
			    "%s: descriptor lacks a name, description, instance_new or "
			    "instance_free",
			    path);
		return NULL;
	}
	switch (plugin->kind) {
	case PXED_PLUGIN_KIND_PROTOCOL:
		if (plugin->start == NULL || plugin->stop == NULL) {
			g_set_error(error, PXED_LOADER_ERROR, PXED_LOADER_ERROR_INVALID,
				    "%s: protocol plugin without start/stop", path);
			return NULL;
		}
		break;
	case PXED_PLUGIN_KIND_BACKEND:
		if (plugin->boot == NULL && plugin->open_file == NULL) {
			g_set_error(error, PXED_LOADER_ERROR, PXED_LOADER_ERROR_INVALID,
				    "%s: backend plugin with neither boot nor open_file", path);
			return NULL;
		}
		break;
	default:
		g_set_error(error, PXED_LOADER_ERROR, PXED_LOADER_ERROR_INVALID,
			    "%s: unknown plugin kind %d", path, plugin->kind);
		return NULL;
	}
	if (expected_name != NULL && g_strcmp0(plugin->name, expected_name) != 0) {
		g_set_error(error, PXED_LOADER_ERROR, PXED_LOADER_ERROR_INVALID,
			    "%s: declares plugin name '%s', but the file is named for '%s'", path,
			    plugin->name, expected_name);
		return NULL;
	}
	return plugin;
}

static char *
find_file(PxedLoader *self, const char *name)
{
	g_autofree char *file = g_strconcat(name, ".so", NULL);

	for (guint i = 0; self->dirs[i] != NULL; i++) {
		g_autofree char *flat = g_build_filename(self->dirs[i], file, NULL);
		g_autofree char *nested = g_build_filename(self->dirs[i], name, file, NULL);
		if (g_file_test(flat, G_FILE_TEST_EXISTS))
			return g_steal_pointer(&flat);
		if (g_file_test(nested, G_FILE_TEST_EXISTS))
			return g_steal_pointer(&nested);
	}
	return NULL;
}

const PxedPlugin *
pxed_loader_load(PxedLoader *self, const char *name, GError **error)
{
	const PxedPlugin *plugin = g_hash_table_lookup(self->plugins, name);
	g_autofree char *path = NULL;

	if (plugin != NULL)
		return plugin;
	/* a name is a single word: never a path */
	if (name[0] == '\0' || strchr(name, '/') != NULL || name[0] == '.') {
		g_set_error(error, PXED_LOADER_ERROR, PXED_LOADER_ERROR_NOT_FOUND,
			    "'%s' is not a plugin name", name);
		return NULL;
	}
	path = find_file(self, name);
	if (path == NULL) {
		g_autofree char *dirs = g_strjoinv(", ", self->dirs);
		g_set_error(error, PXED_LOADER_ERROR, PXED_LOADER_ERROR_NOT_FOUND,
			    "no plugin '%s' (%s.so) in %s", name, name,
			    dirs[0] != '\0' ? dirs : "(no plugin folders)");
		return NULL;
	}
	plugin = pxed_loader_open_file(path, name, error);
	if (plugin == NULL)
		return NULL;
	g_hash_table_insert(self->plugins, g_strdup(name), (gpointer)plugin);
	g_hash_table_insert(self->loaded, g_strdup(name), g_steal_pointer(&path));
	return plugin;
}

const char *
pxed_loader_get_path(PxedLoader *self, const char *name)
{
	return g_hash_table_lookup(self->loaded, name);
}

static void
plugin_info_free(PxedPluginInfo *info)
{
	g_free(info->name);
	g_free(info->path);
	g_free(info->problem);
	g_free(info->shadowed_by);
	g_free(info);
}

/* g_ptr_array_sort() hands the comparison pointers to the elements. */
static gint
compare_strings(gconstpointer a, gconstpointer b)
{
	return g_strcmp0(*(const char *const *)a, *(const char *const *)b);
}

static void
list_candidates(const char *dir, GPtrArray *paths)
{
	g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
	g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
	const char *name;

	if (d == NULL)
		return;
	while ((name = g_dir_read_name(d)) != NULL)
		g_ptr_array_add(names, g_strdup(name));
	g_ptr_array_sort(names, compare_strings);
	for (guint i = 0; i < names->len; i++) {
		const char *n = g_ptr_array_index(names, i);
		g_autofree char *full = g_build_filename(dir, n, NULL);
		if (g_str_has_suffix(n, ".so")) {
			g_ptr_array_add(paths, g_steal_pointer(&full));
		} else if (g_file_test(full, G_FILE_TEST_IS_DIR)) {
			g_autofree char *file = g_strconcat(n, ".so", NULL);
			g_autofree char *nested = g_build_filename(full, file, NULL);
			if (g_file_test(nested, G_FILE_TEST_EXISTS))
				g_ptr_array_add(paths, g_steal_pointer(&nested));
		}
	}
}

GPtrArray *
pxed_loader_list(PxedLoader *self)
{
	GPtrArray *result = g_ptr_array_new_with_free_func((GDestroyNotify)plugin_info_free);
	g_autoptr(GHashTable) seen = g_hash_table_new(g_str_hash, g_str_equal);

	for (guint i = 0; self->dirs[i] != NULL; i++) {
		g_autoptr(GPtrArray) paths = g_ptr_array_new_with_free_func(g_free);
		list_candidates(self->dirs[i], paths);
		for (guint j = 0; j < paths->len; j++) {
			const char *path = g_ptr_array_index(paths, j);
			g_autofree char *base = g_path_get_basename(path);
			PxedPluginInfo *info = g_new0(PxedPluginInfo, 1);
			g_autoptr(GError) error = NULL;
			PxedPluginInfo *earlier;

			info->name = g_strndup(base, strlen(base) - 3);
			info->path = g_strdup(path);
			info->plugin = pxed_loader_open_file(path, info->name, &error);
			if (info->plugin == NULL)
				info->problem = g_strdup(error->message);
			earlier = g_hash_table_lookup(seen, info->name);
			if (earlier != NULL)
				info->shadowed_by = g_strdup(earlier->path);
			else
				g_hash_table_insert(seen, info->name, info);
			g_ptr_array_add(result, info);
		}
	}
	return result;
}
