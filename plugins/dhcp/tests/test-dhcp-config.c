/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* `pxed --check` on dhcp and proxydhcp groups: every mistake named, no root needed. */
#include "pxed-test.h"

typedef struct {
	const char *conf;
	const char *expect; /* in the output; NULL: the configuration is sound */
} Case;

static const Case cases[] = {
	{"[dhcp]\nrange=10.0.0.10;10.0.0.20\n", "interface"},
	{"[dhcp]\ninterface=eth1\nrange=10.0.0.10;nonsense\n", "'nonsense' is not an IPv4 address"},
	{"[dhcp]\ninterface=eth1\nrange=10.0.0.20-10.0.0.10\n", "range ends before it starts"},
	{"[dhcp]\ninterface=eth1\nrange=10.0.0.10\n", "a range needs a first and a last address"},
	{"[dhcp]\ninterface=eth1\nrange=10.0.0.10;10.0.0.20\nsubnet=10.9.0.0/24\n",
	 "is not inside the subnet 10.9.0.0/24"},
	{"[dhcp]\ninterface=eth1\nsubnet=10.0.0.0/33\nrange=10.0.0.10;10.0.0.20\n",
	 "'10.0.0.0/33' is not a subnet"},
	{"[dhcp]\ninterface=eth1\nrouter=10.0.0.1;x\nrange=10.0.0.10;10.0.0.20\n",
	 "'x' is not an IPv4 address"},
	{"[dhcp]\ninterface=eth1\npool.lab.range=10.1.0.10-10.1.0.20\n",
	 "pool.lab.subnet: a relayed pool needs its subnet"},
	{"[dhcp]\ninterface=eth1\npool.lab.subnet=10.1.0.0/24\n",
	 "pool.lab.range: a relayed pool needs a range"},
	{"[dhcp]\ninterface=eth1\npool.lab.subnet=10.1.0.0/24\npool.lab.range=10.2.0.1-10.2.0.9\n",
	 "pool.lab.range: range starting at 10.2.0.1 is not inside the subnet 10.1.0.0/24"},
	{"[dhcp]\ninterface=eth1\npool.lab.subnet=10.1.0.0/24\npool.lab.gateway=10.1.0.1\n",
	 "pool.lab.gateway: unknown pool key"},
	{"[dhcp]\ninterface=eth1\npool.lab=10.1.0.0/24\n", "pool.lab: write pool.NAME.KEY"},
	{"[dhcp]\ninterface=eth1\n", "nothing to hand out"},
	{"[dhcp]\ninterface=eth1\nrange=10.0.0.10;10.0.0.20\nlease-time=5\n", "lease-time"},
	{"[dhcp]\ninterface=eth1\nrange=10.0.0.10;10.0.0.20\nserver-address=10.0.0\n",
	 "server-address"},
	{"[dhcp]\ninterface=eth1\nrange=10.0.0.10;10.0.0.20\nbogus=1\n", "bogus"},
	{"[proxydhcp]\nserver-address=10.0.0.1\n", "interface"},
	{"[proxydhcp]\ninterface=eth1\nrange=10.0.0.10;10.0.0.20\n", "range"},
	/* sound ones: the interface itself is only looked up when it starts */
	{"[dhcp]\ninterface=eth1\nrange=10.0.0.10;10.0.0.20\nrouter=10.0.0.1\ndns=10.0.0.1;10.0.0."
	 "2\n"
	 "domain=example.org\nlease-time=600\nauthoritative=false\n"
	 "pool.lab.subnet=10.1.0.0/24\npool.lab.range=10.1.0.10-10.1.0.20;10.1.0.30-10.1.0.40\n"
	 "pool.lab.router=10.1.0.1\n",
	 NULL},
	{"[dhcp]\ninterface=eth1\npool.lab.subnet=10.1.0.0/"
	 "24\npool.lab.range=10.1.0.10-10.1.0.20\n",
	 NULL},
	{"[proxydhcp]\ninterface=eth1\n", NULL},
};

static void
test_check(gconstpointer data)
{
	const Case *c = data;
	g_autofree char *dir = pxed_test_tmpdir_new();
	g_autofree char *confdir = g_build_filename(dir, "conf.d", NULL);
	g_autofree char *state = g_build_filename(dir, "state", NULL);
	g_autofree char *core = g_strdup_printf("[core]\nstate-dir=%s\n", state);
	const char *argv[] = {"--config-dir",	      confdir,	 "--plugin-dir",
			      pxed_test_plugin_dir(), "--check", NULL};
	g_autoptr(GBytes) out = NULL;
	g_autofree char *err = NULL;
	g_autoptr(GError) error = NULL;
	int status = -1;
	g_autofree char *all = NULL;

	pxed_test_write_file(confdir, "00-state.conf", core);
	pxed_test_write_file(confdir, "50-dhcp.conf", c->conf);
	g_assert_true(pxed_test_run_pxed(argv, &out, &err, &status, &error));
	g_assert_no_error(error);
	all = g_strdup_printf("%.*s%s", (int)g_bytes_get_size(out),
			      (const char *)g_bytes_get_data(out, NULL), err);
	g_test_message("%s", all);
	if (c->expect == NULL) {
		g_assert_cmpint(status, ==, 0);
	} else {
		g_assert_cmpint(status, ==, 1);
		g_assert_nonnull(strstr(all, c->expect));
		/* FILE:LINE: [GROUP] …: each problem says where */
		g_assert_nonnull(strstr(all, "50-dhcp.conf"));
	}
	pxed_test_tmpdir_free(g_steal_pointer(&dir));
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autofree char *name = g_strdup_printf("/dhcp/check/%02u", i);
		g_test_add_data_func(name, &cases[i], test_check);
	}
	return g_test_run();
}
