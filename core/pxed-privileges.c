/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Dropping root after the sockets are bound, keeping only the capabilities
 * the enabled protocols need to bind again.
 *
 * A reload restarts the protocol instances whose group changed: a TFTP
 * instance on port 69 must bind port 69 again, a DHCP instance must open its
 * packet socket again. A plain setuid() leaves the process with no
 * capability, so such a reload fails — and so does the roll-back to the old
 * instances — and from then on nothing listens. So the process keeps its
 * permitted set across setuid() (PR_SET_KEEPCAPS) and then narrows it to the
 * capabilities below; the bounding set loses every other one, so not even an
 * exec could get them back. The raw capset() system call is used: libcap
 * would be a dependency for two structures.
 */
#include "pxed-privileges.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static gboolean
set_capabilities(guint64 caps)
{
	struct __user_cap_header_struct header = {
		.version = _LINUX_CAPABILITY_VERSION_3,
		.pid = 0,
	};
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {{0}};

	data[0].effective = data[0].permitted = (guint32)caps;
	data[1].effective = data[1].permitted = (guint32)(caps >> 32);
	return syscall(SYS_capset, &header, data) == 0;
}

/* Every capability not in @keep leaves the bounding set (needs CAP_SETPCAP,
 * so before setuid()). */
static gboolean
narrow_bounding_set(guint64 keep)
{
	for (int cap = 0; cap <= CAP_LAST_CAP; cap++) {
		if (keep & PXED_CAP(cap))
			continue;
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL)
			return FALSE;
	}
	return TRUE;
}

/* The state folder and what root made in it before the drop (the lease
 * journal, the event log) become the user's: a reload opens them again, and
 * the journal's compaction writes beside them. Links are not followed, and
 * only what root owns changes hands. */
static void
hand_over_state(const char *state_dir, uid_t uid, gid_t gid)
{
	g_autoptr(GDir) dir = NULL;
	const char *name;
	int fd;

	if (chown(state_dir, uid, gid) != 0) {
		g_warning("cannot hand %s to uid %u: %s", state_dir, (guint)uid, g_strerror(errno));
		return;
	}
	fd = open(state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	dir = g_dir_open(state_dir, 0, NULL);
	while (fd >= 0 && dir != NULL && (name = g_dir_read_name(dir)) != NULL) {
		struct stat st;
		if (fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) != 0 || st.st_uid != 0 ||
		    !(S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)))
			continue;
		if (fchownat(fd, name, uid, gid, AT_SYMLINK_NOFOLLOW) != 0)
			g_warning("cannot hand %s/%s to uid %u: %s", state_dir, name, (guint)uid,
				  g_strerror(errno));
	}
	if (fd >= 0)
		close(fd);
}

gboolean
pxed_privileges_drop(const char *user, const char *state_dir, guint64 keep, GError **error)
{
	struct passwd *pw;
	int saved;

	if (user == NULL || user[0] == '\0' || geteuid() != 0)
		return TRUE;
	pw = getpwnam(user);
	if (pw == NULL) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
			    "[core] user: no user named '%s'", user);
		return FALSE;
	}
	hand_over_state(state_dir, pw->pw_uid, pw->pw_gid);
	if (!narrow_bounding_set(keep) || prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0)
		goto failed;
	if (initgroups(user, pw->pw_gid) != 0 || setgid(pw->pw_gid) != 0 || setuid(pw->pw_uid) != 0)
		goto failed;
	/* Nothing gained by keeping them across a later setuid() */
	if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) != 0 || !set_capabilities(keep))
		goto failed;
	g_message("running as user %s, capabilities kept: %s%s%s", user,
		  keep & PXED_CAP(CAP_NET_BIND_SERVICE) ? "net_bind_service " : "",
		  keep & PXED_CAP(CAP_NET_RAW) ? "net_raw " : "", keep == 0 ? "none" : "");
	return TRUE;

failed:
	saved = errno;
	g_set_error(error, G_IO_ERROR, g_io_error_from_errno(saved), "cannot become user '%s': %s",
		    user, g_strerror(saved));
	return FALSE;
}

guint64
pxed_privileges_needed(const char *const *plugins)
{
	/* Any protocol may be moved to a port below 1024 by a reload. */
	guint64 caps = PXED_CAP(CAP_NET_BIND_SERVICE);

	/* The DHCP family answers clients without an address through a packet
	 * socket and binds its sockets to the interface (plugins/dhcp-common). */
	for (guint i = 0; plugins != NULL && plugins[i] != NULL; i++) {
		if (g_str_equal(plugins[i], "dhcp") || g_str_equal(plugins[i], "proxydhcp"))
			caps |= PXED_CAP(CAP_NET_RAW);
	}
	return caps;
}
