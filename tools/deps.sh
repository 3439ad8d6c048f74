# Sourced by tools/run-pxed and tools/run-tests: installs the Debian 12
# packages the build and the tests need, if any is missing.

PXED_BUILD_PACKAGES="meson ninja-build pkg-config gcc libc6-dev libglib2.0-dev libsoup-3.0-dev
libjson-glib-dev glib-networking libyaml-dev"
# The fuzz targets (tests/fuzz, tools/run-fuzz): libFuzzer ships with clang's
# runtime libraries.
PXED_FUZZ_PACKAGES="clang libclang-rt-14-dev"
# Real clients and tools the integration tests drive. None of them may start a
# system service: dnsmasq-base (the binary only), never dnsmasq (its service
# would answer DHCP on the host).
PXED_TEST_PACKAGES="curl tftp-hpa atftp openssl iproute2 python3
isc-dhcp-client udhcpc dnsmasq-base"
# The end-to-end lab: QEMU with real firmware (SeaBIOS + Debian's iPXE ROMs,
# OVMF), boot programs from Debian, busybox for the guests' initramfs. The
# guest kernel is unpacked from linux-image-amd64's package, not installed.
PXED_E2E_PACKAGES="qemu-system-x86 ipxe-qemu ovmf ipxe pxelinux syslinux-common busybox-static
cpio"
# The Debian packages and their install/upgrade test (tests/package):
# debhelper builds them, lintian checks them; systemd-analyze (in systemd)
# verifies the unit, setpriv (util-linux) runs its command line as its User=
# where systemd does not run.
PXED_PACKAGE_PACKAGES="debhelper dpkg-dev fakeroot lintian make systemd util-linux"

pxed_ensure_packages() {
	local missing=()
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
			missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	if [ "$(id -u)" != 0 ]; then
		echo "missing Debian packages: ${missing[*]} (run as root to install them)" >&2
		return 1
	fi
	echo "installing: ${missing[*]}" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >&2 &&
		apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
}

# The e2e guests' kernel: Debian's vmlinuz, unpacked from the linux-image
# package into a cache that outlives build folders (not installed: no
# initramfs run, nothing in /boot). Fetched here, with retries, so that a
# passing network hiccup does not fail a test.
PXED_E2E_CACHE=${PXED_E2E_CACHE:-/var/cache/pxed-e2e}
pxed_fetch_e2e_kernel() {
	local pkg try
	ls /boot/vmlinuz-* "$PXED_E2E_CACHE"/boot/vmlinuz-* >/dev/null 2>&1 && return 0
	[ "$(id -u)" = 0 ] || return 0 # the e2e tests skip without root anyway
	mkdir -p "$PXED_E2E_CACHE"
	pkg=$(apt-cache depends linux-image-amd64 2>/dev/null |
		awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
	[ -n "$pkg" ] || { apt-get update -qq >&2; pkg=$(apt-cache depends linux-image-amd64 |
		awk '/Depends: linux-image-[0-9]/ {print $2; exit}'); }
	for try in 1 2 3 4 5; do
		if (cd "$PXED_E2E_CACHE" && apt-get download -q "$pkg" >&2 2>/dev/null); then
			dpkg-deb --fsys-tarfile "$PXED_E2E_CACHE"/"$pkg"_*.deb |
				tar -x -C "$PXED_E2E_CACHE" ./boot/ &&
				rm -f "$PXED_E2E_CACHE"/"$pkg"_*.deb && return 0
		fi
		echo "fetching $pkg failed (try $try of 5)" >&2
		sleep $((try * 3))
	done
	return 1
}
