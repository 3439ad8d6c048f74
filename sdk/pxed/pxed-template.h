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
 *                             JSON string), basename, upper, lower, words
 *                             (iPXE, PXELINUX: several arguments, split at
 *                             blanks, each escaped), raw (no escaping: only
 *                             for values the operator wrote, never a client's)
 *   {{ if name }}…{{ else }}…{{ end }}
 *                             name set and not empty; also `if not name`,
 *                             `if name == "text"`, `if name != "text"`
 *   {{ each list }}…{{ . }}…{{ end }}   once per item (`range` works too)
 *   {{# a comment }}
 *
 * Names may start with a dot and `request.query.X` means `query.X`, so the
 * simple Go templates of a matchbox data folder render unchanged.
 *
 * Values are escaped for the output they land in, so that neither inventory
 * data nor what a client sends can change a script's meaning: see
 * PxedTemplateEscape.
 */
typedef struct _PxedTemplate PxedTemplate;

typedef enum {
	PXED_TEMPLATE_ESCAPE_NONE,
	/* iPXE script: a value is one token. Bytes that iPXE's tokenizer
	 * (src/core/exec.c) or its script reader (src/image/script.c) give a
	 * meaning — blanks and line breaks, `;`, `|`, `&`, `#`, `$`, `{`, `}`,
	 * `\` — and `"`, `%`, controls and non-ASCII become %XX, as do a
	 * leading `-` or `:`; a %XX already there stays. */
	PXED_TEMPLATE_ESCAPE_IPXE,
	/* PXELINUX config: the same one-token rule (a blank would add a kernel
	 * argument, a `"` would join the ones after it). */
	PXED_TEMPLATE_ESCAPE_LINE,
	/* JSON (ignition): a whole quoted string where a value stands alone,
	 * the escaped inside of one within "…"; invalid UTF-8 becomes U+FFFD. */
	PXED_TEMPLATE_ESCAPE_JSON,
	/* YAML (cloud-config): a whole "…" scalar where a scalar starts, the
	 * escaped inside within "…", '' doubling within '…', a run of safe
	 * characters within a plain scalar; never a line break. */
	PXED_TEMPLATE_ESCAPE_YAML,
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

/* Escapes @value as pxed_template_render() would for @escape; for JSON and
 * YAML, the inside of a "…" string. */
char *pxed_template_escape(const char *value, PxedTemplateEscape escape);
/* As the words filter: for IPXE and LINE, each blank-separated word of
 * @value escaped as one token, joined by single spaces. */
char *pxed_template_escape_words(const char *value, PxedTemplateEscape escape);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(PxedTemplate, pxed_template_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(PxedTemplateVars, pxed_template_vars_free)

G_END_DECLS
