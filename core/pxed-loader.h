/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <pxed/pxed.h>

G_BEGIN_DECLS

#define PXED_LOADER_ERROR (pxed_loader_error_quark())
typedef enum {
	PXED_LOADER_ERROR_NOT_FOUND,
	PXED_LOADER_ERROR_OPEN,	    /* dlopen failed (unresolved symbol, not ELF, …) */
	PXED_LOADER_ERROR_SYMBOL,   /* no pxed_plugin descriptor */
	PXED_LOADER_ERROR_ABI,	    /* another ABI major, a newer minor, a short struct */
	PXED_LOADER_ERROR_INVALID,  /* empty fields, wrong kind, name not the file's */
	PXED_LOADER_ERROR_INSECURE, /* the file or a folder above it is not safe to run */
} PxedLoaderError;
GQuark pxed_loader_error_quark(void);

/**
 * PxedLoader:
 *
 * Finds plugins by name in an ordered list of folders (as NAME.so, or
 * NAME/NAME.so as the build tree lays them out), opens them with
 * RTLD_NOW | RTLD_LOCAL so that a missing symbol fails at load rather than at
 * the first packet, and checks the descriptor before touching anything else.
 * A plugin is code run with the daemon's rights: the file and every folder
 * above it must be safe from other users (pxed_loader_open_checked()), and
 * the object loaded is the inode checked, through its file descriptor.
 * Code is never unloaded: sources of a stopped instance may still be pending.
 */
typedef struct _PxedLoader PxedLoader;

typedef struct {
	char *name;
	char *path;
	const PxedPlugin *plugin; /* %NULL when refused */
	char *problem;		  /* why it was refused */
	char *shadowed_by;	  /* a same-named plugin earlier in the search order */
} PxedPluginInfo;

PxedLoader *pxed_loader_new(const char *const *dirs);
void pxed_loader_free(PxedLoader *self);
const char *const *pxed_loader_get_dirs(PxedLoader *self);

/* The plugin @name, opened and checked; the error names the file and the reason. */
const PxedPlugin *pxed_loader_load(PxedLoader *self, const char *name, GError **error);
const char *pxed_loader_get_path(PxedLoader *self, const char *name);

/* Every plugin file in the folders, opened and checked. (element-type PxedPluginInfo) */
GPtrArray *pxed_loader_list(PxedLoader *self);

/*
 * Opens @path (read-only, close-on-exec) after checking every folder from /
 * down to it, each opened below the last one checked without following links
 * (links in @path are resolved first, and their targets' folders checked),
 * then checks the file by its descriptor: a regular file; it and every folder
 * owned by root or the running user, writable by nobody else (group write
 * only for the root group, or the running user's group when not root; write
 * by others never, sticky or not). Returns the descriptor, or -1 with
 * PXED_LOADER_ERROR_INSECURE naming the folder or file and the reason.
 */
int pxed_loader_open_checked(const char *path, GError **error);

/* Opens and checks one file; exposed for tests and --list-plugins. The object
 * is loaded from the file descriptor pxed_loader_open_checked() checked. */
const PxedPlugin *pxed_loader_open_file(const char *path, const char *expected_name,
					GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(PxedLoader, pxed_loader_free)

G_END_DECLS
