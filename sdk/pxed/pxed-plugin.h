/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined(__PXED_H_INSIDE__) && !defined(PXED_COMPILATION)
#error "Only <pxed/pxed.h> can be included directly."
#endif

#include <pxed/pxed-instance.h>
#include <pxed/pxed-version.h>

G_BEGIN_DECLS

typedef enum {
	PXED_PLUGIN_KIND_PROTOCOL = 1, /* speaks a wire protocol, decides nothing */
	PXED_PLUGIN_KIND_BACKEND = 2,  /* decides and produces content, knows no wire */
} PxedPluginKind;

const char *pxed_plugin_kind_to_string(PxedPluginKind kind);

/* What a backend did with a request. */
typedef enum {
	PXED_RESULT_ANSWER = 0,	 /* answered; later backends are not asked */
	PXED_RESULT_DECLINE = 1, /* not mine; the next backend is asked */
	PXED_RESULT_FAIL = 2,	 /* the request fails with the error set */
} PxedResult;

typedef enum {
	PXED_KEY_STRING = 1,
	PXED_KEY_INT,	      /* decimal, within [min, max] */
	PXED_KEY_BOOLEAN,     /* true/false */
	PXED_KEY_STRING_LIST, /* ';'-separated */
	PXED_KEY_LISTEN,      /* ';'-separated ADDRESS:PORT list, [IPV6]:PORT */
	PXED_KEY_DIRECTORY,   /* an existing folder */
	PXED_KEY_FILE,	      /* an existing regular file */
	PXED_KEY_PATH,	      /* a path that need not exist yet */
	PXED_KEY_IPV4,	      /* a dotted-quad IPv4 address */
} PxedKeyType;

typedef enum {
	PXED_KEY_FLAG_NONE = 0,
	PXED_KEY_FLAG_REQUIRED = 1 << 0, /* the group must set it */
	PXED_KEY_FLAG_PREFIX = 1 << 1,	 /* @name is a prefix: "option." matches "option.x" */
} PxedKeyFlags;

/**
 * PxedKey:
 *
 * One entry of a plugin's key table: the core validates every key of the
 * plugin's groups against it before the plugin sees anything, and refuses
 * unknown keys with the file, line, group and key. `enabled` is implicit.
 *
 * A table is an array, so its stride is compiled into every plugin: the
 * layout is fixed for the whole of ABI 1. A key attribute added later comes
 * as a new table type behind a new descriptor field (see PxedPlugin).
 */
typedef struct {
	const char *name;
	PxedKeyType type;
	const char *default_value; /* in the conf.d syntax; %NULL: no default */
	gint64 min;		   /* PXED_KEY_INT bounds (both 0: any value) */
	gint64 max;
	PxedKeyFlags flags;
	const char *description;
} PxedKey;

/**
 * PxedPlugin:
 *
 * The descriptor every plugin exports as the symbol `pxed_plugin`, emitted by
 * PXED_PLUGIN_DEFINE(). The loader checks abi_major, abi_minor and struct_size
 * before it touches anything else.
 *
 * How it grows (the one mechanism; sdk/README.md): a field is only ever
 * appended, and every field appended bumps PXED_ABI_MINOR. struct_size is
 * sizeof(PxedPlugin) of the SDK the plugin was built with; the loader reads
 * no field that does not lie within it, so a plugin built for 1.0 runs on a
 * 1.N daemon with the fields of 1.N left unset, and a plugin built for a
 * newer minor than the daemon's is refused.
 *
 * Lifecycle, for each conf.d group of the plugin: instance_new() (validate
 * and prepare; must not open sockets: `pxed --check` calls it too), then for
 * protocols start() (bind, attach sources), stop() (close listeners; transfers
 * in flight may finish), and instance_free() — which runs even when start()
 * failed, and must leave files handed out intact.
 */
typedef struct _PxedPlugin {
	guint32 abi_major;
	guint32 abi_minor;
	guint32 struct_size;
	PxedPluginKind kind;
	const char *name; /* must match the file name: NAME.so */
	const char *description;
	const char *version;
	const char *license;
	const PxedKey *keys; /* terminated by an entry with a %NULL name; may be %NULL */

	gpointer (*instance_new)(PxedInstance *instance, GError **error);
	void (*instance_free)(gpointer self);

	/* Protocols. */
	gboolean (*start)(gpointer self, GError **error);
	void (*stop)(gpointer self);

	/* Backends: either or both. On PXED_RESULT_ANSWER the output is set. */
	PxedResult (*boot)(gpointer self, PxedClient *client, PxedBootReply *reply, GError **error);
	PxedResult (*open_file)(gpointer self, PxedFileRequest *request, PxedFile **file,
				GError **error);
	/* ABI 1.0 ends here. Fields of later minors go below, each with the
	 * minor that added it. */
} PxedPlugin;

#define PXED_PLUGIN_SYMBOL "pxed_plugin"

/*
 * The ABI (PXED_ABI_MAJOR / PXED_ABI_MINOR, pxed-version.h) covers this
 * descriptor, PxedKey, and every function of the SDK headers (exported by
 * libpxed.so under the symbol version PXED_1.0). Major 1 is frozen from the
 * first packaged release on: from then, a change that breaks a built plugin
 * (a member moved, removed or retyped, a function removed or changed) takes
 * a new major; additions (functions, appended descriptor fields) take a new
 * minor. sdk/README.md has the whole promise.
 */

/**
 * PXED_PLUGIN_DEFINE:
 *
 * Emits the plugin's descriptor with the ABI of the SDK it is compiled
 * against. The only symbol a plugin needs to export:
 *
 *     PXED_PLUGIN_DEFINE(.kind = PXED_PLUGIN_KIND_BACKEND, .name = "hello", …);
 */
#define PXED_PLUGIN_DEFINE(...)                                                                    \
	G_BEGIN_DECLS                                                                              \
	__attribute__((visibility("default"))) extern const PxedPlugin pxed_plugin;                \
	G_END_DECLS                                                                                \
	const PxedPlugin pxed_plugin = {.abi_major = PXED_ABI_MAJOR,                               \
					.abi_minor = PXED_ABI_MINOR,                               \
					.struct_size = sizeof(PxedPlugin),                         \
					__VA_ARGS__}

G_END_DECLS
