/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "pxed-http-util.h"

#include <libsoup/soup.h>

char *
pxed_http_decode_path(const char *raw, GError **error)
{
	g_autoptr(GString) out = NULL;

	g_return_val_if_fail(raw != NULL, NULL);

	out = g_string_sized_new(strlen(raw));
	for (const char *p = raw; *p != '\0'; p++) {
		int hi, lo;
		char c;

		if (*p != '%') {
			g_string_append_c(out, *p);
			continue;
		}
		/* RFC 3986 §2.1: pct-encoded = "%" HEXDIG HEXDIG. Decoded once only:
		 * "%252e" is the three characters "%2e", never ".". */
		hi = g_ascii_xdigit_value(p[1]);
		lo = hi >= 0 ? g_ascii_xdigit_value(p[2]) : -1;
		if (hi < 0 || lo < 0) {
			g_set_error_literal(error, PXED_ERROR, PXED_ERROR_INVALID,
					    "malformed percent-encoding in the path");
			return NULL;
		}
		c = (char)(hi << 4 | lo);
		if (c == '\0') {
			g_set_error_literal(error, PXED_ERROR, PXED_ERROR_DENIED,
					    "the path contains an encoded NUL");
			return NULL;
		}
		/* RFC 3986 §2.2: an encoded '/' is data, not a separator; a file
		 * name cannot hold it, and decoding it would turn data into
		 * structure. */
		if (c == '/') {
			g_set_error_literal(error, PXED_ERROR, PXED_ERROR_DENIED,
					    "the path contains an encoded '/'");
			return NULL;
		}
		g_string_append_c(out, c);
		p += 2;
	}
	return g_string_free(g_steal_pointer(&out), FALSE);
}

static const char *
skip_ows(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

/* 1*DIGIT into @value; %FALSE on no digit or overflow. */
static gboolean
parse_digits(const char **p, guint64 *value)
{
	const char *s = *p;
	guint64 v = 0;

	if (!g_ascii_isdigit(*s))
		return FALSE;
	while (g_ascii_isdigit(*s)) {
		guint d = (guint)(*s - '0');
		if (v > (G_MAXUINT64 - d) / 10)
			return FALSE;
		v = v * 10 + d;
		s++;
	}
	*p = s;
	*value = v;
	return TRUE;
}

PxedHttpRange
pxed_http_parse_range(const char *header, guint64 size, guint64 *start, guint64 *end)
{
	const char *p;
	guint n_specs = 0;
	guint n_satisfiable = 0;
	guint64 first_start = 0, first_end = 0;

	if (header == NULL)
		return PXED_HTTP_RANGE_NONE;
	/* RFC 9110 §14.1.1: ranges-specifier = range-unit "=" range-set; range
	 * units are case-insensitive. Any other unit is ignored (§14.2). */
	p = skip_ows(header);
	if (g_ascii_strncasecmp(p, "bytes", 5) != 0)
		return PXED_HTTP_RANGE_NONE;
	p = skip_ows(p + 5);
	if (*p != '=')
		return PXED_HTTP_RANGE_NONE;
	p++;

	for (;;) {
		guint64 first = 0, last = G_MAXUINT64, suffix = 0;
		gboolean is_suffix = FALSE;

		p = skip_ows(p);
		if (*p == ',') { /* §5.6.1: empty list elements are allowed */
			p++;
			continue;
		}
		if (*p == '\0')
			break;
		if (*p == '-') {
			/* §14.1.2: suffix-range = "-" suffix-length */
			p++;
			if (!parse_digits(&p, &suffix))
				return PXED_HTTP_RANGE_NONE;
			is_suffix = TRUE;
		} else {
			/* §14.1.2: int-range = first-pos "-" [ last-pos ] */
			if (!parse_digits(&p, &first) || *p != '-')
				return PXED_HTTP_RANGE_NONE;
			p++;
			if (g_ascii_isdigit(*p)) {
				if (!parse_digits(&p, &last))
					return PXED_HTTP_RANGE_NONE;
				/* "invalid if the last-pos value is present and
				 * less than the first-pos" */
				if (last < first)
					return PXED_HTTP_RANGE_NONE;
			}
		}
		p = skip_ows(p);
		if (*p != ',' && *p != '\0')
			return PXED_HTTP_RANGE_NONE;
		n_specs++;

		/* §14.1.3: an int-range is satisfiable if its first-pos is below
		 * the length; a suffix-range if its suffix-length is not zero.
		 * Both are clipped to the representation. */
		if (is_suffix) {
			if (suffix > 0 && size > 0) {
				if (n_satisfiable == 0) {
					first_start = size - MIN(suffix, size);
					first_end = size - 1;
				}
				n_satisfiable++;
			}
		} else if (first < size) {
			if (n_satisfiable == 0) {
				first_start = first;
				first_end = MIN(last, size - 1);
			}
			n_satisfiable++;
		}
	}

	if (n_specs == 0)
		return PXED_HTTP_RANGE_NONE;
	/* §15.5.17: 416 when none of the ranges overlaps the representation. */
	if (n_satisfiable == 0)
		return PXED_HTTP_RANGE_UNSATISFIABLE;
	/* §14.2: "A server MAY ignore the Range header field". Boot clients ask
	 * for one range; several would need multipart/byteranges, so the
	 * whole representation is sent instead. */
	if (n_specs > 1)
		return PXED_HTTP_RANGE_NONE;
	*start = first_start;
	*end = first_end;
	return PXED_HTTP_RANGE_SATISFIABLE;
}

/* The opaque-tag of an entity-tag at @p ("W/" optional), advancing @p past it. */
static gboolean
next_etag(const char **p, const char **tag, gsize *tag_len, gboolean *is_weak)
{
	const char *s = *p;
	const char *close;

	*is_weak = FALSE;
	if (s[0] == 'W' && s[1] == '/') {
		*is_weak = TRUE;
		s += 2;
	}
	if (*s != '"')
		return FALSE;
	close = strchr(s + 1, '"');
	if (close == NULL)
		return FALSE;
	*tag = s;
	*tag_len = (gsize)(close - s) + 1;
	*p = close + 1;
	return TRUE;
}

gboolean
pxed_http_etag_equal(const char *a, const char *b, gboolean weak)
{
	const char *ta, *tb;
	gsize la, lb;
	gboolean wa, wb;

	if (!next_etag(&a, &ta, &la, &wa) || !next_etag(&b, &tb, &lb, &wb))
		return FALSE;
	/* §8.8.3.2: strong comparison needs both strong; weak ignores W/. */
	if (!weak && (wa || wb))
		return FALSE;
	return la == lb && memcmp(ta, tb, la) == 0;
}

/* Does the list (`*` or 1#entity-tag) hold a tag matching @etag? */
static gboolean
etag_list_matches(const char *list, const char *etag, gboolean weak)
{
	const char *p = skip_ows(list);

	if (p[0] == '*' && *skip_ows(p + 1) == '\0')
		return TRUE;
	while (*p != '\0') {
		const char *tag;
		gsize len;
		gboolean is_weak;
		const char *here;

		p = skip_ows(p);
		if (*p == ',') {
			p++;
			continue;
		}
		if (*p == '\0')
			break;
		here = p;
		if (!next_etag(&p, &tag, &len, &is_weak))
			return FALSE; /* malformed: matches nothing */
		{
			g_autofree char *one = g_strndup(here, (gsize)(p - here));
			if (pxed_http_etag_equal(one, etag, weak))
				return TRUE;
		}
		p = skip_ows(p);
		if (*p != ',' && *p != '\0')
			return FALSE;
	}
	return FALSE;
}

gint64
pxed_http_parse_date(const char *text)
{
	g_autoptr(GDateTime) dt = NULL;

	if (text == NULL)
		return -1;
	dt = soup_date_time_new_from_http_string(text);
	if (dt == NULL)
		return -1;
	return g_date_time_to_unix(dt);
}

char *
pxed_http_format_date(gint64 seconds)
{
	g_autoptr(GDateTime) dt = g_date_time_new_from_unix_utc(seconds);

	if (dt == NULL)
		dt = g_date_time_new_from_unix_utc(0);
	return soup_date_time_to_string(dt, SOUP_DATE_HTTP);
}

PxedHttpCondition
pxed_http_evaluate_conditions(const PxedHttpPreconditions *pre, const char *etag, gint64 mtime)
{
	/* RFC 9110 §13.2.2, steps 1–4 (step 5, If-Range, belongs to the range
	 * decision). */
	if (pre->if_match != NULL) {
		/* §13.1.1: strong comparison; "*" matches a current representation. */
		if (!etag_list_matches(pre->if_match, etag, FALSE))
			return PXED_HTTP_CONDITION_PRECONDITION_FAILED;
	} else if (pre->if_unmodified_since != NULL) {
		/* §13.1.4: ignored unless a valid HTTP-date. */
		gint64 date = pxed_http_parse_date(pre->if_unmodified_since);
		if (date >= 0 && mtime > date)
			return PXED_HTTP_CONDITION_PRECONDITION_FAILED;
	}
	if (pre->if_none_match != NULL) {
		/* §13.1.2: weak comparison; for GET and HEAD a match is a 304. */
		if (etag_list_matches(pre->if_none_match, etag, TRUE))
			return PXED_HTTP_CONDITION_NOT_MODIFIED;
	} else if (pre->if_modified_since != NULL) {
		/* §13.1.3: only without If-None-Match; ignored unless valid. */
		gint64 date = pxed_http_parse_date(pre->if_modified_since);
		if (date >= 0 && mtime <= date)
			return PXED_HTTP_CONDITION_NOT_MODIFIED;
	}
	return PXED_HTTP_CONDITION_PROCEED;
}

gboolean
pxed_http_if_range_matches(const char *if_range, const char *etag, gint64 mtime)
{
	const char *p;
	gint64 date;

	if (if_range == NULL)
		return TRUE;
	p = skip_ows(if_range);
	/* §13.1.5: an entity-tag is compared strongly (a weak one never matches)… */
	if (*p == '"' || (p[0] == 'W' && p[1] == '/'))
		return pxed_http_etag_equal(p, etag, FALSE);
	/* …a date must be an exact match of the Last-Modified. */
	date = pxed_http_parse_date(p);
	return date >= 0 && date == mtime;
}

/* A value from a client's own description: short, printable, or nothing. */
static const char *
query_value(GHashTable *query, const char *key)
{
	const char *value = query != NULL ? g_hash_table_lookup(query, key) : NULL;

	if (value == NULL || *value == '\0')
		return NULL;
	if (strlen(value) > 255 || !g_utf8_validate(value, -1, NULL)) {
		g_debug("ignoring query parameter '%s': too long or not UTF-8", key);
		return NULL;
	}
	for (const char *p = value; *p != '\0'; p++) {
		if ((guchar)*p < 0x20 || *p == 0x7f) {
			g_debug("ignoring query parameter '%s': control character", key);
			return NULL;
		}
	}
	return value;
}

/* RFC 4578 §2.1 / IANA processor architecture types for iPXE's platform and
 * build architecture (`${platform}`, `${buildarch}`). */
static gint
arch_from_ipxe(const char *platform, const char *buildarch)
{
	static const struct {
		const char *buildarch;
		gint efi;
	} efi_arches[] = {
		{"i386", PXED_ARCH_EFI_IA32},
		{"x86_64", PXED_ARCH_EFI_X64},
		{"arm32", PXED_ARCH_EFI_ARM32},
		{"arm64", PXED_ARCH_EFI_ARM64},
		{"riscv32", 25},
		{"riscv64", 27},
	};

	if (platform == NULL)
		return PXED_ARCH_UNKNOWN;
	if (g_ascii_strcasecmp(platform, "pcbios") == 0)
		return PXED_ARCH_BIOS;
	if (g_ascii_strcasecmp(platform, "efi") != 0 || buildarch == NULL)
		return PXED_ARCH_UNKNOWN;
	for (guint i = 0; i < G_N_ELEMENTS(efi_arches); i++) {
		if (g_ascii_strcasecmp(buildarch, efi_arches[i].buildarch) == 0)
			return efi_arches[i].efi;
	}
	return PXED_ARCH_UNKNOWN;
}

PxedClient *
pxed_http_client_from_query(GHashTable *query, GInetAddress *peer)
{
	PxedClient *client = pxed_client_new();
	static const char *const attributes[] = {"arch",     "buildarch", "platform",
						 "hostname", "serial",	  "asset"};
	const char *value;
	guint64 arch = 0;

	pxed_client_set_via(client, PXED_VIA_HTTP);
	if (peer != NULL)
		pxed_client_set_address(client, peer);

	value = query_value(query, "mac");
	if (value != NULL) {
		g_autoptr(GError) error = NULL;
		if (!pxed_client_set_mac_string(client, value, &error))
			g_debug("ignoring mac=: %s", error->message);
	}
	value = query_value(query, "uuid");
	if (value != NULL) {
		g_autoptr(GError) error = NULL;
		if (!pxed_client_set_uuid_string(client, value, &error))
			g_debug("ignoring uuid=: %s", error->message);
	}
	value = query_value(query, "hostname");
	if (value != NULL)
		pxed_client_set_hostname(client, value);
	for (guint i = 0; i < G_N_ELEMENTS(attributes); i++) {
		value = query_value(query, attributes[i]);
		if (value != NULL)
			pxed_client_set_attribute(client, attributes[i], value);
	}

	/* `arch` is the DHCP option 93 number when iPXE sends `${arch}` from
	 * its DHCP settings; otherwise derive it from platform and buildarch
	 * (an `arch` name stands in for a missing buildarch). */
	value = query_value(query, "arch");
	if (value != NULL && g_ascii_string_to_unsigned(value, 10, 0, 65535, &arch, NULL)) {
		pxed_client_set_arch(client, (gint)arch);
	} else {
		const char *buildarch = query_value(query, "buildarch");
		gint derived = arch_from_ipxe(query_value(query, "platform"),
					      buildarch != NULL ? buildarch : value);
		if (derived != PXED_ARCH_UNKNOWN)
			pxed_client_set_arch(client, derived);
	}
	return client;
}

guint
pxed_http_status_for_error(const GError *error)
{
	if (error == NULL)
		return SOUP_STATUS_INTERNAL_SERVER_ERROR;
	if (error->domain == PXED_ERROR) {
		switch (error->code) {
		case PXED_ERROR_NOT_FOUND:
			return SOUP_STATUS_NOT_FOUND;
		case PXED_ERROR_DENIED:
			return SOUP_STATUS_FORBIDDEN;
		case PXED_ERROR_INVALID:
			return SOUP_STATUS_BAD_REQUEST;
		default:
			return SOUP_STATUS_INTERNAL_SERVER_ERROR;
		}
	}
	if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND))
		return SOUP_STATUS_NOT_FOUND;
	if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED))
		return SOUP_STATUS_FORBIDDEN;
	return SOUP_STATUS_INTERNAL_SERVER_ERROR;
}

gboolean
pxed_http_rate_limit_pass(PxedHttpRateLimit *limit, gint64 now_us, gint64 interval_us,
			  guint64 *held_back)
{
	if (limit->next_us != 0 && now_us < limit->next_us) {
		limit->held_back++;
		return FALSE;
	}
	*held_back = limit->held_back;
	limit->held_back = 0;
	limit->next_us = now_us + interval_us;
	return TRUE;
}
