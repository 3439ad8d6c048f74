/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The SDK's value types: client descriptions, request paths, listen addresses, files. */
#include <pxed/pxed.h>

#include <fcntl.h>
#include <unistd.h>

static void
test_client_parse(void)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(PxedClient) c = pxed_client_new_from_string(
		"mac=52-54-00-AB-cd-01, uuid=8a6c3b52-1a2b-4c5d-9e0f-001122334455,arch=7,"
		"user-class=iPXE,ip=192.0.2.5,hostname=node1,platform=efi",
		&error);
	g_autofree char *text = NULL;

	g_assert_no_error(error);
	g_assert_cmpstr(pxed_client_get_mac_string(c), ==, "52:54:00:ab:cd:01");
	g_assert_cmpstr(pxed_client_get_uuid_string(c), ==, "8a6c3b52-1a2b-4c5d-9e0f-001122334455");
	g_assert_cmpint(pxed_client_get_arch(c), ==, 7);
	g_assert_cmpstr(pxed_client_get_user_class(c), ==, "iPXE");
	g_assert_cmpstr(pxed_client_get_hostname(c), ==, "node1");
	g_assert_cmpstr(pxed_client_get_attribute(c, "platform"), ==, "efi");
	g_assert_cmpstr(pxed_client_get_key(c), ==, "52:54:00:ab:cd:01");
	text = pxed_client_to_string(c);
	g_assert_cmpstr(text, ==,
			"mac=52:54:00:ab:cd:01,uuid=8a6c3b52-1a2b-4c5d-9e0f-001122334455,arch=7,"
			"user-class=iPXE,hostname=node1,ip=192.0.2.5,platform=efi");
}

static void
test_client_parse_errors(void)
{
	const char *bad[] = {
		"mac=52:54:00:zz:00:01",
		"mac=",
		"mac=5254:",
		"mac=52:54:00:00:00:01:",
		"uuid=1234",
		"uuid=8a6c3b52-1a2b-4c5d-9e0f-00112233445566",
		"arch=x86",
		"arch=-1",
		"arch=70000",
		"ip=300.1.1.1",
		"noequals",
		"=value",
		"via=carrier-pigeon",
	};
	for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
		g_autoptr(GError) error = NULL;
		g_autoptr(PxedClient) c = pxed_client_new_from_string(bad[i], &error);
		g_assert_null(c);
		g_assert_error(error, PXED_ERROR, PXED_ERROR_INVALID);
	}
}

static void
test_client_key_fallback(void)
{
	g_autoptr(PxedClient) c = pxed_client_new();
	g_autoptr(GInetAddress) a = g_inet_address_new_from_string("192.0.2.9");
	g_assert_cmpstr(pxed_client_get_key(c), ==, "unknown");
	pxed_client_set_address(c, a);
	g_assert_cmpstr(pxed_client_get_key(c), ==, "192.0.2.9");
	g_assert_true(pxed_client_set_uuid_string(c, "00112233445566778899aabbccddeeff", NULL));
	g_assert_cmpstr(pxed_client_get_key(c), ==, "00112233-4455-6677-8899-aabbccddeeff");
}

static void
test_path_normalize(void)
{
	const struct {
		const char *in;
		gssize len;
		const char *out; /* NULL: refused */
		int code;
	} cases[] = {
		{"pxelinux.0", -1, "pxelinux.0", 0},
		{"/pxelinux.cfg/default", -1, "pxelinux.cfg/default", 0},
		{"\\pxelinux.cfg\\01-52-54-00-00-00-01", -1, "pxelinux.cfg/01-52-54-00-00-00-01",
		 0},
		{"//a///b/./c/", -1, "a/b/c", 0},
		{"./a", -1, "a", 0},
		{"a/..b/c..", -1, "a/..b/c..", 0},
		{"...", -1, "...", 0},
		{"../etc/passwd", -1, NULL, PXED_ERROR_DENIED},
		{"a/../../b", -1, NULL, PXED_ERROR_DENIED},
		{"a\\..\\b", -1, NULL, PXED_ERROR_DENIED},
		{"..", -1, NULL, PXED_ERROR_DENIED},
		{"a/..", -1, NULL, PXED_ERROR_DENIED},
		{"a\0b", 3, NULL, PXED_ERROR_DENIED},
		{"a\nb", -1, NULL, PXED_ERROR_DENIED},
		{"a\x7f", -1, NULL, PXED_ERROR_DENIED},
		{"\xff\xfe", -1, NULL, PXED_ERROR_DENIED},
		{"", -1, NULL, PXED_ERROR_NOT_FOUND},
		{"/", -1, NULL, PXED_ERROR_NOT_FOUND},
		{"./.", -1, NULL, PXED_ERROR_NOT_FOUND},
	};
	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(GError) error = NULL;
		g_autofree char *out = pxed_path_normalize(cases[i].in, cases[i].len, &error);
		if (cases[i].out != NULL) {
			g_assert_no_error(error);
			g_assert_cmpstr(out, ==, cases[i].out);
		} else {
			g_assert_null(out);
			g_assert_error(error, PXED_ERROR, cases[i].code);
		}
	}
}

static void
test_listen_parse(void)
{
	const struct {
		const char *in;
		const char *out;
	} good[] = {
		{"127.0.0.1:69", "127.0.0.1:69"},
		{"0.0.0.0:6969", "0.0.0.0:6969"},
		{"[::1]:8080", "[::1]:8080"},
		{"[::]:69", "[::]:69"},
	};
	const char *bad[] = {"127.0.0.1",
			     "127.0.0.1:",
			     "127.0.0.1:0x45",
			     "127.0.0.1:65536",
			     "localhost:69",
			     "[::1",
			     "[::1]69",
			     "1.2.3:69",
			     ":69",
			     ""};

	for (guint i = 0; i < G_N_ELEMENTS(good); i++) {
		g_autoptr(GError) error = NULL;
		g_autoptr(GInetSocketAddress) a = pxed_listen_address_parse(good[i].in, 0, &error);
		g_autofree char *text = NULL;
		g_assert_no_error(error);
		text = g_socket_connectable_to_string(G_SOCKET_CONNECTABLE(a));
		g_assert_cmpstr(text, ==, good[i].out);
	}
	for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
		g_autoptr(GError) error = NULL;
		g_autoptr(GInetSocketAddress) a = pxed_listen_address_parse(bad[i], 0, &error);
		g_assert_null(a);
		g_assert_error(error, PXED_ERROR, PXED_ERROR_INVALID);
	}
	{
		g_autoptr(GError) error = NULL;
		g_autoptr(GPtrArray) list =
			pxed_listen_list_parse("127.0.0.1:1; [::1]:2 ;", 0, &error);
		g_assert_no_error(error);
		g_assert_cmpuint(list->len, ==, 2);
	}
	{
		g_autoptr(GError) error = NULL;
		g_autoptr(GInetSocketAddress) a = pxed_listen_address_parse("10.0.0.1", 69, &error);
		g_assert_no_error(error);
		g_assert_cmpuint(g_inet_socket_address_get_port(a), ==, 69);
	}
}

static void
test_file_read_at(void)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *path = NULL;
	g_autoptr(PxedFile) mem = pxed_file_new_for_data("0123456789", 10);
	g_autoptr(PxedFile) disk = NULL;
	char buf[16];
	int fd = g_file_open_tmp("pxed-sdk-XXXXXX", &path, &error);

	g_assert_no_error(error);
	g_assert_cmpint(write(fd, "abcdefghij", 10), ==, 10);
	close(fd);
	fd = open(path, O_RDONLY);
	disk = pxed_file_new_for_fd(fd, &error);
	g_assert_no_error(error);
	unlink(path);

	for (guint k = 0; k < 2; k++) {
		PxedFile *f = k == 0 ? mem : disk;
		const char *expect = k == 0 ? "0123456789" : "abcdefghij";
		g_assert_cmpuint(pxed_file_get_size(f), ==, 10);
		g_assert_cmpint(pxed_file_read_at(f, 0, buf, 4, NULL), ==, 4);
		g_assert_cmpmem(buf, 4, expect, 4);
		g_assert_cmpint(pxed_file_read_at(f, 8, buf, 16, NULL), ==, 2);
		g_assert_cmpmem(buf, 2, expect + 8, 2);
		g_assert_cmpint(pxed_file_read_at(f, 10, buf, 16, NULL), ==, 0);
		g_assert_cmpint(pxed_file_read_at(f, 1000, buf, 16, NULL), ==, 0);
		g_assert_nonnull(pxed_file_get_etag(f));
		g_assert_true(pxed_file_get_etag(f)[0] == '"');
	}
	g_assert_cmpint(pxed_file_get_fd(mem), ==, -1);
	g_assert_cmpint(pxed_file_get_fd(disk), >=, 0);
	g_assert_null(pxed_file_get_bytes(disk));
	/* rendered content: the same bytes give the same tag (a 304 after a
	 * reload), other bytes or another length another one */
	{
		g_autoptr(PxedFile) same = pxed_file_new_for_data("0123456789", 10);
		g_autoptr(PxedFile) other = pxed_file_new_for_data("0123456788", 10);
		g_autoptr(PxedFile) shorter = pxed_file_new_for_data("012345678", 9);
		g_autoptr(PxedFile) empty = pxed_file_new_for_data("", 0);
		g_assert_cmpstr(pxed_file_get_etag(same), ==, pxed_file_get_etag(mem));
		g_assert_cmpstr(pxed_file_get_etag(other), !=, pxed_file_get_etag(mem));
		g_assert_cmpstr(pxed_file_get_etag(shorter), !=, pxed_file_get_etag(mem));
		g_assert_cmpstr(pxed_file_get_etag(empty), !=, pxed_file_get_etag(shorter));
	}
}

static void
test_file_refuses_folder(void)
{
	g_autoptr(GError) error = NULL;
	int fd = open("/", O_RDONLY | O_DIRECTORY);
	g_autoptr(PxedFile) f = pxed_file_new_for_fd(fd, &error);
	g_assert_null(f);
	g_assert_error(error, PXED_ERROR, PXED_ERROR_DENIED);
}

static void
test_content_type(void)
{
	g_assert_cmpstr(pxed_content_type_for_path("boot.ipxe"), ==, "text/plain");
	g_assert_cmpstr(pxed_content_type_for_path("a/b/ipxe.EFI"), ==, "application/efi");
	g_assert_cmpstr(pxed_content_type_for_path("vmlinuz"), ==, "application/octet-stream");
	g_assert_cmpstr(pxed_content_type_for_path("dir.json/file"), ==,
			"application/octet-stream");
	g_assert_cmpstr(pxed_content_type_for_path("x.json"), ==, "application/json");
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/sdk/client/parse", test_client_parse);
	g_test_add_func("/sdk/client/parse-errors", test_client_parse_errors);
	g_test_add_func("/sdk/client/key-fallback", test_client_key_fallback);
	g_test_add_func("/sdk/path/normalize", test_path_normalize);
	g_test_add_func("/sdk/listen/parse", test_listen_parse);
	g_test_add_func("/sdk/file/read-at", test_file_read_at);
	g_test_add_func("/sdk/file/refuses-folder", test_file_refuses_folder);
	g_test_add_func("/sdk/file/content-type", test_content_type);
	return g_test_run();
}
