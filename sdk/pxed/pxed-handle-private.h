/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Not installed, and seen only by the SDK's own sources: the layout of the
 * handles. Two objects share it — libpxed.so, whose public functions read
 * the handles, and the static library pxed-private, linked into the daemon
 * and the tests, which makes them (pxed-context.c). Keeping it in one header
 * is what keeps the two halves agreeing; plugins only ever hold pointers.
 */

#include "pxed-instance-private.h"

G_BEGIN_DECLS

struct _PxedContext {
	const PxedContextVTable *vtable;
	gpointer core;
};

struct _PxedInstance {
	gint refcount;
	char *name;
	guint generation;
	char *state_dir;
	PxedContext *context;
	GKeyFile *values;
	const PxedKey *keys;
};

G_END_DECLS
