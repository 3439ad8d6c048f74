/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined(__PXED_H_INSIDE__) && !defined(PXED_COMPILATION)
#error "Only <pxed/pxed.h> can be included directly."
#endif

#include <glib.h>

G_BEGIN_DECLS

/**
 * PxedTemplate:
 *
 * pxed's template language, for iPXE scripts, PXELINUX configs, cloud-config
 * and ignition. Text is copied as it is, except between `{{` and `}}`:
 *
 *   {{ name }}                a variable; an unknown one is an error naming
 *                             the template, the line and the variable
 *   {{ name | url }}          filters: url (percent-encode), json (a quoted
 *                             JSON string), basename, upper, lower
 *   {{ if name }}…{{ else }}…{{ end }}
 *                             name set and not empty; also `if not name`,
 *                             `if name == "text"`, `if name != "text"`
 *   {{ each list }}…{{ . }}…{{ end }}   once per item (`range` works too)
 *   {{# a comment }}
 *
 * Names may start with a dot and `request.query.X` means `query.X`, so the
 * simple Go templates of a matchbox data folder render unchanged.
 *
 * Values are escaped for the output they land in, so that inventory data can
 * never change a script's meaning: see PxedTemplateEscape.
 */
typedef struct _PxedTemplate PxedTemplate;

typedef enum {
	PXED_TEMPLATE_ESCAPE_NONE,
	/* iPXE: line breaks become spaces (no new commands), `${` becomes `$ {`
	 * (iPXE would expand it as a setting, again and again), `||` and `&&`
	 * become `| |` and `& &` (no command chaining). */
	PXED_TEMPLATE_ESCAPE_IPXE,
	/* PXELINUX config: line breaks become spaces. */
	PXED_TEMPLATE_ESCAPE_LINE,
	/* JSON / YAML double-quoted strings: ", \ and control characters escaped. */
	PXED_TEMPLATE_ESCAPE_JSON,
} PxedTemplateEscape;

/* Parses @text; @name (a file name) is used in error messages. */
PxedTemplate *pxed_template_new(const char *name, const char *text, PxedTemplateEscape escape,
				GError **error);
PxedTemplate *pxed_template_new_from_file(const char *path, PxedTemplateEscape escape,
					  GError **error);
PxedTemplate *pxed_template_ref(PxedTemplate *self);
void pxed_template_unref(PxedTemplate *self);
const char *pxed_template_get_name(PxedTemplate *self);

/**
 * PxedTemplateVars:
 *
 * The values a template sees: names to strings or to lists of strings.
 */
typedef struct _PxedTemplateVars PxedTemplateVars;

PxedTemplateVars *pxed_template_vars_new(void);
void pxed_template_vars_free(PxedTemplateVars *self);
/* A %NULL value removes the name. */
void pxed_template_vars_set(PxedTemplateVars *self, const char *name, const char *value);
void pxed_template_vars_set_list(PxedTemplateVars *self, const char *name,
				 const char *const *values);
/* The value (first item of a list), or %NULL. */
const char *pxed_template_vars_get(PxedTemplateVars *self, const char *name);

/* Returns: (transfer full): the rendered text, or %NULL with PXED_ERROR_INVALID */
char *pxed_template_render(PxedTemplate *self, PxedTemplateVars *vars, GError **error);

/* Escapes @value as pxed_template_render() would for @escape. */
char *pxed_template_escape(const char *value, PxedTemplateEscape escape);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(PxedTemplate, pxed_template_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(PxedTemplateVars, pxed_template_vars_free)

G_END_DECLS
