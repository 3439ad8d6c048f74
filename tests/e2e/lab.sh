# The end-to-end lab, sourced by test-e2e.sh.
#
# Network namespaces made here and removed on exit, even on failure:
#   LAB   a bridge br0, one tap per QEMU guest (QEMU runs in this namespace)
#   SRV   pxed, 10.250.77.1/24, joined to br0 by a veth pair
#   DHCP  (proxyDHCP scenario) dnsmasq as the site's DHCP server, 10.250.77.2/24
# Nothing touches the host's own interfaces; every process is stopped by PID.

LAB_NET=10.250.77
LAB_SRV_IP=$LAB_NET.1
LAB_DHCP_IP=$LAB_NET.2
lab_id=pxe2e$$
NS_LAB=$lab_id-lab
NS_SRV=$lab_id-srv
NS_DHCP=$lab_id-dhcp
lab_pids=()
lab_namespaces=()

lab_log() { echo "# $*"; }

lab_cleanup() {
	local pid ns
	for pid in "${lab_pids[@]}"; do
		kill "$pid" 2>/dev/null
	done
	for pid in "${lab_pids[@]}"; do
		# bounded: SIGKILL whatever is still there after 5 s
		for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	for ns in "${lab_namespaces[@]}"; do
		ip netns del "$ns" 2>/dev/null
	done
}

# Why this machine cannot run the lab, or nothing.
lab_why_skip() {
	[ "$(id -u)" = 0 ] || { echo "needs root (network namespaces, tap devices)"; return; }
	command -v ip >/dev/null || { echo "needs iproute2"; return; }
	command -v qemu-system-x86_64 >/dev/null || { echo "needs qemu-system-x86 (apt)"; return; }
	[ -c /dev/net/tun ] || { echo "needs /dev/net/tun"; return; }
	ip netns add "$lab_id-probe" 2>/dev/null || { echo "cannot create network namespaces here"; return; }
	ip netns del "$lab_id-probe"
}

lab_ns_add() {
	ip netns add "$1"
	lab_namespaces+=("$1")
	ip -n "$1" link set lo up
	# bridge netfilter is per namespace: keep it out of this one only
	ip netns exec "$1" sysctl -qw net.bridge.bridge-nf-call-iptables=0 2>/dev/null || true
	ip netns exec "$1" sysctl -qw net.bridge.bridge-nf-call-ip6tables=0 2>/dev/null || true
}

lab_up() {
	lab_ns_add "$NS_LAB"
	lab_ns_add "$NS_SRV"
	ip -n "$NS_LAB" link add br0 type bridge
	ip -n "$NS_LAB" link set br0 up
	# the veth pair is made inside the namespaces, never in the host's
	ip -n "$NS_LAB" link add vsrv type veth peer name eth0 netns "$NS_SRV"
	ip -n "$NS_LAB" link set vsrv master br0 up
	ip -n "$NS_SRV" addr add "$LAB_SRV_IP/24" dev eth0
	ip -n "$NS_SRV" link set eth0 up
}

lab_add_dhcp_ns() {
	lab_ns_add "$NS_DHCP"
	ip -n "$NS_LAB" link add vdhcp type veth peer name eth0 netns "$NS_DHCP"
	ip -n "$NS_LAB" link set vdhcp master br0 up
	ip -n "$NS_DHCP" addr add "$LAB_DHCP_IP/24" dev eth0
	ip -n "$NS_DHCP" link set eth0 up
}

lab_tap() { # NAME
	ip -n "$NS_LAB" tuntap add dev "$1" mode tap
	ip -n "$NS_LAB" link set "$1" master br0 up
}

# Waits (bounded) until FILE contains TEXT. Returns 1 on time-out.
lab_wait_for() { # FILE TEXT SECONDS
	local deadline=$((SECONDS + $3))
	while [ $SECONDS -lt $deadline ]; do
		grep -qF -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.2
	done
	return 1
}

# The guest OS: a kernel from Debian and an initramfs whose /init prints a
# marker with the kernel command line to the serial console and powers off.
lab_assets() { # CACHE ROOT
	local cache=$1 root=$2 k
	mkdir -p "$cache" "$root/assets"
	# a kernel on the machine, or the one tools/run-tests fetched
	k=$(ls /boot/vmlinuz-* "${PXED_E2E_CACHE:-/var/cache/pxed-e2e}"/boot/vmlinuz-* \
		"$cache"/boot/vmlinuz-* 2>/dev/null | head -n1)
	if [ -z "$k" ]; then
		local pkg
		pkg=$(apt-cache depends linux-image-amd64 2>/dev/null |
			awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
		[ -n "$pkg" ] || { lab_log "no kernel package found"; return 1; }
		lab_log "fetching $pkg for its vmlinuz (cached in $cache)"
		(cd "$cache" && apt-get download "$pkg" >/dev/null 2>&1) || return 1
		dpkg-deb --fsys-tarfile "$cache"/"$pkg"_*.deb | tar -x -C "$cache" ./boot/ || return 1
		rm -f "$cache"/"$pkg"_*.deb
		k=$(ls "$cache"/boot/vmlinuz-* | head -n1)
	fi
	cp "$k" "$root/assets/vmlinuz"
	if [ ! -f "$cache/initrd.img" ]; then
		local ir=$cache/initramfs
		rm -rf "$ir" && mkdir -p "$ir/bin" "$ir/proc" "$ir/dev" "$ir/sys"
		cp /bin/busybox "$ir/bin/busybox"
		mknod -m 600 "$ir/dev/console" c 5 1
		cat >"$ir/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox mount -t proc proc /proc
read -r cmdline </proc/cmdline
echo "PXED-E2E-MARKER: $cmdline"
echo "PXED-E2E-MARKER: $cmdline" >/dev/ttyS0 2>/dev/null
/bin/busybox poweroff -f
INIT
		chmod 755 "$ir/init"
		(cd "$ir" && find . | cpio -o -H newc --quiet | gzip -1) >"$cache/initrd.img"
	fi
	cp "$cache/initrd.img" "$root/assets/initrd.img"
	# boot programs, from Debian's packages
	cp /usr/lib/PXELINUX/pxelinux.0 /usr/lib/syslinux/modules/bios/ldlinux.c32 "$root/"
	cp /usr/lib/ipxe/undionly.kpxe /usr/lib/ipxe/ipxe.efi "$root/"
}

# Starts pxed in the server namespace; waits for it to be ready.
lab_pxed() { # BUILD CONFDIR LOG
	ip netns exec "$NS_SRV" "$1/core/pxed" --config-dir "$2" --plugin-dir "$1/plugins" \
		>"$3" 2>&1 &
	lab_pids+=($!)
	lab_wait_for "$3" "event=ready" 20 || { lab_log "pxed did not start:"; sed 's/^/# /' "$3"; return 1; }
}

# A BIOS guest (SeaBIOS, the iPXE ROM of Debian's ipxe-qemu) booting from the
# network, its firmware screen mirrored to the serial log.
lab_guest_bios() { # TAP MAC SERIAL_LOG
	ip netns exec "$NS_LAB" qemu-system-x86_64 -machine pc,graphics=off \
		${E2E_ACCEL:--accel tcg} -m 256 -smp 1 -display none -no-reboot \
		-serial "file:$3" -boot n \
		-netdev "tap,id=n0,ifname=$1,script=no,downscript=no" \
		-device "e1000,netdev=n0,mac=$2" >"$3.qemu" 2>&1 &
	lab_pids+=($!)
}

# A UEFI guest (OVMF) with its own PXE / HTTP boot: the NIC's option ROM is off
# so that OVMF's network stack runs rather than the ROM's iPXE.
lab_guest_uefi() { # TAP MAC SERIAL_LOG VARS [http]
	local extra=()
	cp /usr/share/OVMF/OVMF_VARS_4M.fd "$4"
	if [ "${5:-}" = http ]; then
		# PXE off: OVMF goes straight to HTTP boot (vendor class HTTPClient)
		extra=(-fw_cfg name=opt/org.tianocore/IPv4PXESupport,string=n
			-fw_cfg name=opt/org.tianocore/IPv6PXESupport,string=n)
	fi
	ip netns exec "$NS_LAB" qemu-system-x86_64 -machine q35 \
		${E2E_ACCEL:--accel tcg} -m 512 -smp 1 -display none -no-reboot \
		-drive if=pflash,format=raw,unit=0,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd \
		-drive "if=pflash,format=raw,unit=1,file=$4" \
		-serial "file:$3" "${extra[@]}" \
		-netdev "tap,id=n0,ifname=$1,script=no,downscript=no" \
		-device "virtio-net-pci,netdev=n0,mac=$2,romfile=,bootindex=1" >"$3.qemu" 2>&1 &
	lab_pids+=($!)
}
