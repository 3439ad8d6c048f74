#!/bin/bash
# Builds the Debian packages (dpkg-buildpackage -us -uc -b) from a copy of
# the source tree, checks them with lintian, installs them with apt-get,
# starts the installed unit (systemctl where systemd runs; else the unit's own
# ExecStartPre/ExecStart lines, as its User= with its AmbientCapabilities=),
# inside a network namespace this script makes: serves a file from /srv/pxed
# over TFTP and HTTP, leases an address over DHCP to a client in a second
# namespace. Then upgrades to a rebuild with a higher version and checks that
# the local conf.d edits and the leases survived, and that purge, only purge,
# removes the state. Runs as root; purges the packages at the end. TAP.
set -u
build=${1:?build folder}
src=${2:?source folder}
echo "1..13"
skip_all() { echo "ok 1 # SKIP $1"; for i in $(seq 2 13); do echo "ok $i # SKIP $1"; done; exit 0; }
[ "$(id -u)" = 0 ] || skip_all "needs root (installs packages)"
for t in dpkg-buildpackage dh lintian apt-get ip setpriv curl tftp udhcpc python3 systemd-analyze; do
	command -v $t >/dev/null || skip_all "$t is not installed (tools/deps.sh PXED_PACKAGE_PACKAGES)"
done
if dpkg-query -W -f='${Status}' pxed 2>/dev/null | grep -q 'ok installed'; then
	skip_all "pxed is installed on this machine: not replacing it"
fi
# In the build folder, not /tmp: pxed-mangen runs there, and the folder is
# not shared with other users.
tmp=$(mktemp -d "$build/pxed-package-XXXXXX")
sockdir=$(mktemp -d /run/pxed-pkgtest-XXXXXX) && chmod 755 "$sockdir"
ns=pxpkg$$ cns=pxpkgc$$
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	if [ -d /run/systemd/system ]; then systemctl stop pxed 2>/dev/null; fi
	ip netns pids "$ns" 2>/dev/null | xargs -r kill 2>/dev/null
	ip netns pids "$cns" 2>/dev/null | xargs -r kill 2>/dev/null
	ip netns del "$ns" 2>/dev/null
	ip netns del "$cns" 2>/dev/null
	dpkg --purge pxed pxed-dev libpxed1 >/dev/null 2>&1
	rm -f /srv/pxed/pkgtest.txt
	rmdir /srv/pxed 2>/dev/null
	rm -rf "$tmp" "$sockdir"
}
trap cleanup EXIT
n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); failed=1; echo "not ok $n - $1"; shift; for l in "$@"; do printf '%s\n' "$l" | sed 's/^/# /'; done; }
check() { local what=$1; shift; if out=$("$@" 2>&1); then ok "$what"; else not_ok "$what" "$out"; fi; }
export DEBIAN_FRONTEND=noninteractive

# ---- 1: build version 1 from a copy of the tree (tracked and new files)
mkdir -p "$tmp/v1/pxed"
(cd "$src" && git ls-files -co --exclude-standard 2>/dev/null || find . -path ./build\* -prune -o -type f -print) |
	grep -v '^\(\./\)\?build' | (cd "$src" && tar -cf - -T -) | tar -xf - -C "$tmp/v1/pxed"
cp -a "$tmp/v1/pxed" "$tmp/v2"
if out=$(cd "$tmp/v1/pxed" && dpkg-buildpackage -us -uc -b 2>&1); then
	ok "dpkg-buildpackage -us -uc -b (0.1.0-1)"
else
	not_ok "dpkg-buildpackage" "$(tail -n 30 <<<"$out")"; echo "Bail out! no packages"; exit 1
fi
v1=$(cd "$tmp/v1/pxed" && dpkg-parsechangelog -S Version)

# ---- 2: lintian: no error, no warning without an override
lint=$(lintian "$tmp/v1/"pxed_*.changes 2>&1 | grep -v 'running with root privileges')
if ! grep -q '^[EW]:' <<<"$lint"; then ok "lintian: no errors, no warnings"; else not_ok "lintian" "$lint"; fi

# ---- 3: install with apt-get, as a user would
if out=$(apt-get install -y -qq "$tmp/v1/"{pxed,libpxed1,pxed-dev}_"$v1"_*.deb 2>&1); then
	ok "apt-get install ./pxed_*.deb ./libpxed1_*.deb ./pxed-dev_*.deb"
else
	not_ok "apt-get install" "$out"; echo "Bail out! not installed"; exit 1
fi

# ---- 4: the user, the state folder, the unit installed disabled and valid
unit=$(dpkg -L pxed | grep '/pxed\.service$')
problems=
id pxed >/dev/null 2>&1 || problems+="no user pxed; "
[ "$(stat -c '%a %U %G' /var/lib/pxed 2>/dev/null)" = "750 pxed pxed" ] ||
	problems+="/var/lib/pxed is $(stat -c '%a %U %G' /var/lib/pxed 2>&1); "
ls /etc/systemd/system/*.wants/pxed.service >/dev/null 2>&1 && problems+="the unit is enabled; "
[ -d /run/systemd/system ] && systemctl is-active -q pxed && problems+="the unit was started; "
verify=$(systemd-analyze verify "$unit" 2>&1) || problems+="systemd-analyze verify: $verify"
if [ -z "$problems" ]; then ok "user pxed, /var/lib/pxed 0750, unit disabled, not started, verified"
else not_ok "installed state" "$problems"; fi
echo "# $(systemd-analyze security --offline=true "$unit" 2>/dev/null | tail -n 1)"

# ---- 5: the example plugin builds from pxed-dev, as its Makefile says
cp -r /usr/share/doc/pxed-dev/examples/hello-backend "$tmp/example"
check "pxed-dev's example plugin builds with its Makefile" make -C "$tmp/example"

# ---- the daemon, in a network namespace of its own: nothing it serves,
# DHCP included, reaches a real network. The client is in a second one.
ip netns add "$ns" && ip netns add "$cns" || { echo "Bail out! no network namespaces"; exit 1; }
ip -n "$ns" link set lo up
ip -n "$ns" link add srv0 type veth peer name cli0 netns "$cns"
ip -n "$ns" addr add 10.250.0.1/24 dev srv0
ip -n "$ns" link set srv0 up
ip -n "$cns" link set cli0 up
ip -n "$cns" link set lo up
# The site's edits: a local fragment, and a line added to a shipped conffile.
cat >/etc/pxed/conf.d/50-pkgtest.conf <<CONF
[tftp]
listen=127.0.0.1:69
[http]
listen=127.0.0.1:80
base-url=http://127.0.0.1
[ipxe]
base-url=http://127.0.0.1
[dhcp]
enabled=true
interface=srv0
range=10.250.0.100-10.250.0.110
router=10.250.0.1
lease-time=600
CONF
echo "# a local edit that an upgrade keeps" >>/etc/pxed/conf.d/00-core.conf
echo "served from /srv/pxed" >/srv/pxed/pkgtest.txt

unit_value() { sed -n "s/^$1=//p" "$unit"; }
caps=$(unit_value AmbientCapabilities | tr 'A-Z ' 'a-z\n' | sed 's/^cap_/+/' | paste -sd,)
# the unit's User=, capabilities and NoNewPrivileges=, in $ns; an array, so
# that a command run with it in the background has its own PID (kill, HUP)
unit_cmd() {
	as_unit=(ip netns exec "$ns" setpriv --reuid="$(unit_value User)" --regid="$(unit_value Group)"
		--init-groups --no-new-privs --inh-caps="$caps" --ambient-caps="$caps")
}
start_unit() { # starts the unit; true once it said READY=1
	if [ -d /run/systemd/system ]; then
		mkdir -p /run/systemd/system/pxed.service.d
		printf '[Service]\nNetworkNamespacePath=/run/netns/%s\n' "$ns" \
			>/run/systemd/system/pxed.service.d/pkgtest.conf
		systemctl daemon-reload && systemctl start pxed # Type=notify: waits for READY=1
		return
	fi
	local listener
	# a path, not an abstract name: those are per network namespace
	sock=$sockdir/notify
	rm -f "$sock"
	unit_cmd
	# shellcheck disable=SC2046
	"${as_unit[@]}" $(unit_value ExecStartPre) | sed "s/^/# /"
	[ "${PIPESTATUS[0]}" -eq 0 ] || return 1
	python3 - "$sock" >"$tmp/notify" 2>&1 <<'PY' &
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
os.chmod(sys.argv[1], 0o666)  # pxed runs as the unit's User=
s.settimeout(30)
while True:
    msg = s.recv(4096).decode()
    print(msg, flush=True)
    if "READY=1" in msg.split("\n"):
        break
PY
	listener=$!
	for _ in $(seq 1 100); do [ -S "$sock" ] && break; sleep 0.1; done
	# shellcheck disable=SC2046
	NOTIFY_SOCKET=$sock "${as_unit[@]}" $(unit_value ExecStart) >>"$tmp/pxed.log" 2>&1 &
	pid=$!
	wait "$listener" && grep -qx 'READY=1' "$tmp/notify"
}
stop_unit() {
	if [ -d /run/systemd/system ]; then systemctl stop pxed; return; fi
	[ -n "$pid" ] && kill "$pid" && wait "$pid"
	pid=
}
reload_unit() {
	if [ -d /run/systemd/system ]; then systemctl reload pxed; return; fi
	# the unit's ExecReload=: --check, then SIGHUP
	unit_cmd
	"${as_unit[@]}" /usr/sbin/pxed --check >/dev/null && kill -HUP "$pid"
}
fetch_both() { # TFTP and HTTP, from inside the namespace
	local got
	got=$(ip netns exec "$ns" curl -sf --max-time 10 http://127.0.0.1/pkgtest.txt) &&
		[ "$got" = "served from /srv/pxed" ] || { echo "http: '$got'"; return 1; }
	rm -f "$tmp/tftp.out"
	(cd "$tmp" && ip netns exec "$ns" timeout 20 tftp -m binary 127.0.0.1 69 -c get pkgtest.txt tftp.out) &&
		[ "$(cat "$tmp/tftp.out")" = "served from /srv/pxed" ] || { echo "tftp failed"; return 1; }
}
lease() { # the address udhcpc gets in the client namespace
	ip netns exec "$cns" timeout 30 udhcpc -f -q -n -t 5 -T 2 -i cli0 \
		-s "$tmp/udhcpc-script" 2>/dev/null | sed -n 's/^bound ip=//p'
}
printf '#!/bin/sh\n[ "$1" = bound ] && echo "bound ip=$ip"\nexit 0\n' >"$tmp/udhcpc-script"
chmod 755 "$tmp/udhcpc-script"
mac=$(ip -n "$cns" -br link show cli0 | awk '{print $3}')
no_systemd=
[ -d /run/systemd/system ] || no_systemd=" (no running systemd on this machine: the unit's ExecStartPre/ExecStart as its User= with its AmbientCapabilities=)"

# ---- 6
if start_unit; then ok "the installed unit starts and says READY=1$no_systemd"
else not_ok "start" "$(cat "$tmp/notify" "$tmp/pxed.log" 2>&1)"; echo "Bail out! not started"; exit 1; fi
# ---- 7
check "a file from /srv/pxed over TFTP (port 69) and HTTP (port 80)" fetch_both
# ---- 8
ip1=$(lease)
if [ -n "$ip1" ] && grep -aqi "$mac" /var/lib/pxed/leases 2>/dev/null; then
	ok "DHCP leases $ip1 to $mac; written to /var/lib/pxed/leases"
else
	not_ok "DHCP lease" "ip='$ip1'" "$(ls -l /var/lib/pxed 2>&1)" "$(tail -n 20 "$tmp/pxed.log" 2>&1)"
fi
# ---- 9: a plugin another package installs is found on reload
plugdir=$(dirname "$(dpkg -L pxed | grep '/plugins/static\.so$')")
install -m 0644 "$tmp/example/hello.so" "$plugdir/hello.so"
printf '[hello]\ngreeting=Howdy\n[pipeline]\nhttp=hello;ipxe;static\n' >/etc/pxed/conf.d/55-hello.conf
got=
if reload_unit; then
	for _ in $(seq 1 50); do
		got=$(ip netns exec "$ns" curl -sf --max-time 5 http://127.0.0.1/hello.txt) && break
		sleep 0.2
	done
fi
case "$got" in
Howdy*) ok "a third-party plugin in the plugin folder is used after reload" ;;
*) not_ok "third-party plugin on reload" "got '$got'" "$(tail -n 20 "$tmp/pxed.log" 2>&1)" ;;
esac
rm -f "$plugdir/hello.so" /etc/pxed/conf.d/55-hello.conf

# ---- 10: upgrade to a rebuild with a higher version
v2=$v1.1
{ printf 'pxed (%s) unstable; urgency=medium\n\n  * Rebuild for the upgrade test.\n\n' "$v2"
  printf ' -- pxed maintainers <maintainers@pxed.invalid>  %s\n\n' "$(date -R)"
  cat "$tmp/v2/debian/changelog"; } >"$tmp/changelog" && mv "$tmp/changelog" "$tmp/v2/debian/changelog"
mkdir "$tmp/v2b" && mv "$tmp/v2" "$tmp/v2b/pxed"
if out=$(cd "$tmp/v2b/pxed" && dpkg-buildpackage -us -uc -b 2>&1) &&
	out=$(apt-get install -y -qq "$tmp/v2b/"{pxed,libpxed1,pxed-dev}_"$v2"_*.deb 2>&1) &&
	[ "$(dpkg-query -W -f='${Version}' pxed)" = "$v2" ]; then
	ok "upgraded from $v1 to $v2 with apt-get install"
else
	not_ok "upgrade" "$(tail -n 30 <<<"$out")"
fi
# ---- 11: the site's edits and the leases survived; the new daemon knows the lease
stop_unit
problems=
[ -f /etc/pxed/conf.d/50-pkgtest.conf ] || problems+="50-pkgtest.conf is gone; "
grep -q 'a local edit that an upgrade keeps' /etc/pxed/conf.d/00-core.conf || problems+="00-core.conf lost its edit; "
grep -aqi "$mac" /var/lib/pxed/leases 2>/dev/null || problems+="the lease is gone; "
[ "$(stat -c '%a %U' /var/lib/pxed)" = "750 pxed" ] || problems+="/var/lib/pxed changed; "
if [ -z "$problems" ] && start_unit; then
	ip2=$(lease)
	[ "$ip2" = "$ip1" ] || problems+="after the upgrade the client got '$ip2', not its lease $ip1; "
	fetch_both >/dev/null || problems+="not serving after the upgrade; "
else
	problems+="not restarted after the upgrade"
fi
if [ -z "$problems" ]; then ok "conf.d edits and leases survived the upgrade; the same address again"
else not_ok "after the upgrade" "$problems" "$(tail -n 20 "$tmp/pxed.log" 2>&1)"; fi
stop_unit
rm -f /run/systemd/system/pxed.service.d/pkgtest.conf
# ---- 12: remove keeps the state and the configuration
apt-get remove -y -qq pxed pxed-dev >/dev/null 2>&1
if [ -f /var/lib/pxed/leases ] && [ -f /etc/pxed/conf.d/50-pkgtest.conf ]; then
	ok "apt-get remove keeps /var/lib/pxed and /etc/pxed"
else
	not_ok "remove" "$(ls -la /var/lib/pxed /etc/pxed/conf.d 2>&1)"
fi
# ---- 13: purge removes them
rm -f /etc/pxed/conf.d/50-pkgtest.conf /srv/pxed/pkgtest.txt
# dpkg: apt-get knows packages installed from files only while installed
purge_out=$(dpkg --purge pxed pxed-dev libpxed1 2>&1)
if [ ! -e /var/lib/pxed ] && [ ! -e /etc/pxed ]; then
	ok "purge removes /var/lib/pxed and /etc/pxed"
else
	not_ok "purge" "$purge_out" "$(ls -laR /var/lib/pxed /etc/pxed 2>&1)"
fi
exit $failed
