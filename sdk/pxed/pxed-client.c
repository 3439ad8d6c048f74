/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "pxed.h"

struct _PxedClient {
	guint8 mac[16];
	gsize mac_len;
	char *mac_string;
	guint8 uuid[16];
	gboolean has_uuid;
	char *uuid_string;
	gint arch;
	char *user_class;
	char *vendor_class;
	char *hostname;
	GInetAddress *address;
	char *address_string;
	PxedVia via;
	GHashTable *attributes;
};

static const char *const via_names[] = {
	[PXED_VIA_NONE] = "none", [PXED_VIA_DHCP] = "dhcp", [PXED_VIA_PROXYDHCP] = "proxydhcp",
	[PXED_VIA_TFTP] = "tftp", [PXED_VIA_HTTP] = "http",
};

const char *
pxed_via_to_string(PxedVia via)
{
	if ((guint)via < G_N_ELEMENTS(via_names))
		return via_names[via];
	return "none";
}

PxedVia
pxed_via_from_string(const char *text)
{
	for (guint i = 0; i < G_N_ELEMENTS(via_names); i++) {
		if (g_strcmp0(text, via_names[i]) == 0)
			return (PxedVia)i;
	}
	return PXED_VIA_NONE;
}

PxedClient *
pxed_client_new(void)
{
	PxedClient *self = g_atomic_rc_box_new0(PxedClient);
	self->arch = PXED_ARCH_UNKNOWN;
	self->attributes = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	return self;
}

PxedClient *
pxed_client_ref(PxedClient *self)
{
	return g_atomic_rc_box_acquire(self);
}

PxedClient *
pxed_client_copy(PxedClient *self)
{
	PxedClient *copy = pxed_client_new();
	GHashTableIter iter;
	gpointer key, value;

	if (self->mac_len > 0)
		pxed_client_set_mac(copy, self->mac, self->mac_len);
	if (self->has_uuid)
		pxed_client_set_uuid(copy, self->uuid);
	copy->arch = self->arch;
	copy->user_class = g_strdup(self->user_class);
	copy->vendor_class = g_strdup(self->vendor_class);
	copy->hostname = g_strdup(self->hostname);
	if (self->address != NULL)
		pxed_client_set_address(copy, self->address);
	copy->via = self->via;
	g_hash_table_iter_init(&iter, self->attributes);
	while (g_hash_table_iter_next(&iter, &key, &value))
		g_hash_table_insert(copy->attributes, g_strdup(key), g_strdup(value));
	return copy;
}

/* Frees what @data holds; the reference count's box frees @data. */
static void
client_clear(gpointer data)
{
	PxedClient *self = data;

	g_free(self->mac_string);
	g_free(self->uuid_string);
	g_free(self->user_class);
	g_free(self->vendor_class);
	g_free(self->hostname);
	g_clear_object(&self->address);
	g_free(self->address_string);
	g_hash_table_unref(self->attributes);
}

void
pxed_client_unref(PxedClient *self)
{
	g_atomic_rc_box_release_full(self, client_clear);
}

void
pxed_client_set_mac(PxedClient *self, const guint8 *hwaddr, gsize len)
{
	static const char hex[] = "0123456789abcdef";
	char *text;

	g_return_if_fail(len <= sizeof(self->mac));
	g_clear_pointer(&self->mac_string, g_free);
	self->mac_len = len;
	if (len == 0)
		return;
	memcpy(self->mac, hwaddr, len);
	/* by hand: every DHCP packet makes a client, printf per byte showed */
	text = g_malloc(len * 3);
	for (gsize i = 0; i < len; i++) {
		text[3 * i] = hex[hwaddr[i] >> 4];
		text[3 * i + 1] = hex[hwaddr[i] & 0xf];
		text[3 * i + 2] = i + 1 < len ? ':' : '\0';
	}
	self->mac_string = text;
}

const guint8 *
pxed_client_get_mac(PxedClient *self, gsize *len)
{
	if (len != NULL)
		*len = self->mac_len;
	return self->mac_len ? self->mac : NULL;
}

const char *
pxed_client_get_mac_string(PxedClient *self)
{
	return self->mac_string;
}

/* Reads hex digit pairs separated by ':' or '-' (or nothing). */
gboolean
pxed_client_set_mac_string(PxedClient *self, const char *text, GError **error)
{
	guint8 buf[16];
	gsize n = 0;
	const char *p = text;
	gboolean trailing = FALSE;

	while (*p != '\0') {
		int hi, lo;
		if (n == sizeof(buf))
			break;
		hi = g_ascii_xdigit_value(p[0]);
		lo = hi >= 0 ? g_ascii_xdigit_value(p[1]) : -1;
		if (hi < 0 || lo < 0)
			break;
		buf[n++] = (guint8)(hi << 4 | lo);
		p += 2;
		trailing = FALSE;
		if (*p == ':' || *p == '-') {
			p++;
			trailing = TRUE;
		}
	}
	if (*p != '\0' || n == 0 || trailing) {
		g_set_error(error, PXED_ERROR, PXED_ERROR_INVALID,
			    "'%s' is not a hardware address (hex pairs separated by ':')", text);
		return FALSE;
	}
	pxed_client_set_mac(self, buf, n);
	return TRUE;
}

void
pxed_client_set_uuid(PxedClient *self, const guint8 uuid[16])
{
	g_clear_pointer(&self->uuid_string, g_free);
	self->has_uuid = uuid != NULL;
	if (uuid == NULL)
		return;
	memcpy(self->uuid, uuid, 16);
	self->uuid_string = g_strdup_printf(
		"%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", uuid[0],
		uuid[1], uuid[2], uuid[3], uuid[4], uuid[5], uuid[6], uuid[7], uuid[8], uuid[9],
		uuid[10], uuid[11], uuid[12], uuid[13], uuid[14], uuid[15]);
}

const guint8 *
pxed_client_get_uuid(PxedClient *self)
{
	return self->has_uuid ? self->uuid : NULL;
}

const char *
pxed_client_get_uuid_string(PxedClient *self)
{
	return self->uuid_string;
}

gboolean
pxed_client_set_uuid_string(PxedClient *self, const char *text, GError **error)
{
	guint8 buf[16];
	gsize n = 0;

	for (const char *p = text; *p != '\0';) {
		int hi, lo;
		if (*p == '-') {
			p++;
			continue;
		}
		hi = g_ascii_xdigit_value(p[0]);
		lo = hi >= 0 ? g_ascii_xdigit_value(p[1]) : -1;
		if (hi < 0 || lo < 0 || n == sizeof(buf)) {
			n = 0;
			break;
		}
		buf[n++] = (guint8)(hi << 4 | lo);
		p += 2;
	}
	if (n != sizeof(buf)) {
		g_set_error(error, PXED_ERROR, PXED_ERROR_INVALID,
			    "'%s' is not a UUID (32 hex digits, dashes optional)", text);
		return FALSE;
	}
	pxed_client_set_uuid(self, buf);
	return TRUE;
}

void
pxed_client_set_arch(PxedClient *self, gint arch)
{
	self->arch = arch;
}

gint
pxed_client_get_arch(PxedClient *self)
{
	return self->arch;
}

#define STRING_PROPERTY(field)                                                                     \
	void pxed_client_set_##field(PxedClient *self, const char *value)                          \
	{                                                                                          \
		g_free(self->field);                                                               \
		self->field = g_strdup(value);                                                     \
	}                                                                                          \
	const char *pxed_client_get_##field(PxedClient *self)                                      \
	{                                                                                          \
		return self->field;                                                                \
	}

STRING_PROPERTY(user_class)
STRING_PROPERTY(vendor_class)
STRING_PROPERTY(hostname)

void
pxed_client_set_address(PxedClient *self, GInetAddress *address)
{
	g_clear_object(&self->address);
	g_clear_pointer(&self->address_string, g_free);
	if (address != NULL) {
		self->address = g_object_ref(address);
		self->address_string = g_inet_address_to_string(address);
	}
}

GInetAddress *
pxed_client_get_address(PxedClient *self)
{
	return self->address;
}

const char *
pxed_client_get_address_string(PxedClient *self)
{
	return self->address_string;
}

void
pxed_client_set_via(PxedClient *self, PxedVia via)
{
	self->via = via;
}

PxedVia
pxed_client_get_via(PxedClient *self)
{
	return self->via;
}

void
pxed_client_set_attribute(PxedClient *self, const char *key, const char *value)
{
	if (value == NULL)
		g_hash_table_remove(self->attributes, key);
	else
		g_hash_table_replace(self->attributes, g_ascii_strdown(key, -1), g_strdup(value));
}

const char *
pxed_client_get_attribute(PxedClient *self, const char *key)
{
	return g_hash_table_lookup(self->attributes, key);
}

void
pxed_client_foreach_attribute(PxedClient *self, GHFunc func, gpointer user_data)
{
	g_hash_table_foreach(self->attributes, func, user_data);
}

const char *
pxed_client_get_key(PxedClient *self)
{
	if (self->mac_string != NULL)
		return self->mac_string;
	if (self->uuid_string != NULL)
		return self->uuid_string;
	if (self->address_string != NULL)
		return self->address_string;
	return "unknown";
}

static gboolean
client_set(PxedClient *self, const char *key, const char *value, GError **error)
{
	if (g_str_equal(key, "mac"))
		return pxed_client_set_mac_string(self, value, error);
	if (g_str_equal(key, "uuid"))
		return pxed_client_set_uuid_string(self, value, error);
	if (g_str_equal(key, "arch")) {
		guint64 arch = 0;
		if (!g_ascii_string_to_unsigned(value, 10, 0, 65535, &arch, NULL)) {
			g_set_error(error, PXED_ERROR, PXED_ERROR_INVALID,
				    "arch '%s' is not a number (DHCP option 93: 0-65535)", value);
			return FALSE;
		}
		self->arch = (gint)arch;
		return TRUE;
	}
	if (g_str_equal(key, "ip")) {
		g_autoptr(GInetAddress) address = g_inet_address_new_from_string(value);
		if (address == NULL) {
			g_set_error(error, PXED_ERROR, PXED_ERROR_INVALID,
				    "ip '%s' is not an IP address", value);
			return FALSE;
		}
		pxed_client_set_address(self, address);
		return TRUE;
	}
	if (g_str_equal(key, "user-class")) {
		pxed_client_set_user_class(self, value);
		return TRUE;
	}
	if (g_str_equal(key, "vendor-class")) {
		pxed_client_set_vendor_class(self, value);
		return TRUE;
	}
	if (g_str_equal(key, "hostname")) {
		pxed_client_set_hostname(self, value);
		return TRUE;
	}
	if (g_str_equal(key, "via")) {
		self->via = pxed_via_from_string(value);
		if (self->via == PXED_VIA_NONE && !g_str_equal(value, "none")) {
			g_set_error(error, PXED_ERROR, PXED_ERROR_INVALID,
				    "via '%s' is not one of dhcp, proxydhcp, tftp, http", value);
			return FALSE;
		}
		return TRUE;
	}
	pxed_client_set_attribute(self, key, value);
	return TRUE;
}

PxedClient *
pxed_client_new_from_string(const char *text, GError **error)
{
	g_autoptr(PxedClient) self = pxed_client_new();
	g_auto(GStrv) parts = g_strsplit(text, ",", -1);

	for (guint i = 0; parts[i] != NULL; i++) {
		char *eq;
		g_strstrip(parts[i]);
		if (parts[i][0] == '\0')
			continue;
		eq = strchr(parts[i], '=');
		if (eq == NULL || eq == parts[i]) {
			g_set_error(error, PXED_ERROR, PXED_ERROR_INVALID, "'%s' is not KEY=VALUE",
				    parts[i]);
			return NULL;
		}
		*eq = '\0';
		if (!client_set(self, g_strstrip(parts[i]), g_strstrip(eq + 1), error))
			return NULL;
	}
	return g_steal_pointer(&self);
}

char *
pxed_client_to_string(PxedClient *self)
{
	GString *out = g_string_new(NULL);
	g_autoptr(GList) keys = NULL;

	/* no printf: one line per rendered script and per logged request */
#define APPEND(k, v)                                                                               \
	do {                                                                                       \
		if ((v) != NULL) {                                                                 \
			if (out->len > 0)                                                          \
				g_string_append_c(out, ',');                                       \
			g_string_append(out, k);                                                   \
			g_string_append_c(out, '=');                                               \
			g_string_append(out, v);                                                   \
		}                                                                                  \
	} while (0)
	APPEND("mac", self->mac_string);
	APPEND("uuid", self->uuid_string);
	if (self->arch != PXED_ARCH_UNKNOWN) {
		char arch[16];
		g_snprintf(arch, sizeof(arch), "%d", self->arch);
		APPEND("arch", arch);
	}
	APPEND("user-class", self->user_class);
	APPEND("vendor-class", self->vendor_class);
	APPEND("hostname", self->hostname);
	APPEND("ip", self->address_string);
	if (g_hash_table_size(self->attributes) > 0)
		keys = g_list_sort(g_hash_table_get_keys(self->attributes),
				   (GCompareFunc)g_strcmp0);
	for (GList *l = keys; l != NULL; l = l->next)
		APPEND((const char *)l->data,
		       (const char *)g_hash_table_lookup(self->attributes, l->data));
#undef APPEND
	return g_string_free(out, FALSE);
}
