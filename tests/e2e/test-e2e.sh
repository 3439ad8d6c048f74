#!/bin/bash
# One end-to-end scenario: real firmware under QEMU boots through pxed, in
# network namespaces made for the test. TAP output; the boot time is printed.
#   test-e2e.sh BUILD SOURCE SCENARIO
set -u
build=$1 src=$2 scenario=$3
. "$src/tests/e2e/lab.sh"

why=$(lab_why_skip)
if [ -n "$why" ]; then
	echo "1..0 # SKIP $why"
	exit 0
fi
tmp=$(mktemp -d /tmp/pxed-e2e-XXXXXX)
artifacts=$build/e2e-artifacts/scenario-$scenario
rm -rf "$artifacts" && mkdir -p "$artifacts"
keep_artifacts() { cp "$tmp"/*.log "$tmp"/*.qemu "$artifacts"/ 2>/dev/null; true; }
trap 'lab_cleanup; keep_artifacts; rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM

MAC1=52:54:00:e2:e0:01
MAC2=52:54:00:e2:e0:02
MAC_UNKNOWN=52:54:00:e2:e0:99
root=$tmp/root
confd=$tmp/conf.d
mkdir -p "$confd" "$tmp/state"

fail() {
	echo "not ok 1 - scenario $scenario: $*"
	for f in "$tmp"/pxed.log "$tmp"/*.serial.log "$tmp"/*.qemu "$tmp"/dnsmasq.log; do
		[ -s "$f" ] || continue
		echo "# ---- $(basename "$f") (last 40 lines)"
		tail -n 40 "$f" | sed 's/^/# /'
	done
	exit 1
}

write_conf() { # BOOT-PIPELINE DHCP-GROUP
	cat >"$confd/50-e2e.conf" <<CONF
[core]
state-dir=$tmp/state
log-level=debug
[tftp]
listen=$LAB_SRV_IP:69
[http]
listen=$LAB_SRV_IP:8080
base-url=http://$LAB_SRV_IP:8080
[static]
root=$root
[ipxe]
base-url=http://$LAB_SRV_IP:8080
no-match=exit
[pxelinux]
[pipeline]
boot=$1
tftp=pxelinux;static
http=ipxe;static
[profile:a]
kernel=/assets/vmlinuz
initrd=/assets/initrd.img
args=console=ttyS0 panic=-1 pxed.e2e=profile-a
[profile:b]
kernel=/assets/vmlinuz
initrd=/assets/initrd.img
args=console=ttyS0 panic=-1 pxed.e2e=profile-b
[group:guest1]
profile=a
selector.mac=$MAC1
[group:guest2]
profile=b
selector.mac=$MAC2
$2
CONF
}

PXED_DHCP="[dhcp]
interface=eth0
range=$LAB_NET.100;$LAB_NET.150
lease-time=600"

start_dnsmasq() { # NAMESPACE EXTRA-ARGS...
	local ns=$1
	shift
	ip netns exec "$ns" dnsmasq --no-daemon --conf-file=/dev/null --port=0 \
		--interface=eth0 --bind-interfaces --dhcp-range="$LAB_NET.50,$LAB_NET.99,1h" \
		--dhcp-leasefile="$tmp/dnsmasq.leases" --pid-file= --log-dhcp "$@" \
		>"$tmp/dnsmasq.log" 2>&1 &
	lab_pids+=($!)
}

# Boots one guest and waits for its marker; prints the boot time.
# Starts a guest; sets guest_log, guest_t0 and guest_limit. Not in a subshell:
# the guest's PID must reach lab_pids, or lab_cleanup cannot stop it (a guest
# that never powers off would outlive the test).
boot_and_check() { # KIND(bios|uefi|http) TAP MAC [SECONDS]
	local kind=$1 tap=$2 mac=$3
	guest_limit=${4:-240}
	guest_log=$tmp/$2.serial.log
	lab_tap "$tap"
	guest_t0=$SECONDS
	case $kind in
	bios) lab_guest_bios "$tap" "$mac" "$guest_log" ;;
	uefi) lab_guest_uefi "$tap" "$mac" "$guest_log" "$tmp/$tap.vars" ;;
	http) lab_guest_uefi "$tap" "$mac" "$guest_log" "$tmp/$tap.vars" http ;;
	esac
}

wait_guest() { # LOG T0 EXPECT LIMIT
	lab_wait_for "$1" "$3" "$4" || return 1
	lab_log "$(basename "$1" .serial.log): '$3' after $((SECONDS - $2)) s from QEMU start"
}

lab_up || fail "could not build the lab network"
lab_assets "$build/e2e-cache" "$root" || fail "could not prepare the guest OS and boot files"
echo "1..1"

case $scenario in
0) # another DHCP server hands out pxelinux.0; pxed serves TFTP and PXELINUX
	lab_add_dhcp_ns
	write_conf "pxelinux" ""
	lab_pxed "$build" "$confd" "$tmp/pxed.log" || fail "pxed did not start"
	start_dnsmasq "$NS_DHCP" --dhcp-boot="pxelinux.0,,$LAB_SRV_IP"
	boot_and_check bios tap0 "$MAC1"
	log=$guest_log t0=$guest_t0 limit=$guest_limit
	wait_guest "$log" "$t0" "PXED-E2E-MARKER: " "$limit" || fail "no marker"
	grep -q "PXED-E2E-MARKER: .*pxed.e2e=profile-a" "$log" || fail "wrong profile booted"
	what="dnsmasq DHCP -> pxed TFTP pxelinux.0 -> pxelinux.cfg/01-mac rendered -> kernel"
	;;
1) # BIOS PXE -> pxed DHCP -> pxelinux.0 -> pxelinux.cfg/01-MAC -> kernel over TFTP
	write_conf "pxelinux" "$PXED_DHCP"
	lab_pxed "$build" "$confd" "$tmp/pxed.log" || fail "pxed did not start"
	boot_and_check bios tap0 "$MAC1"
	log=$guest_log t0=$guest_t0 limit=$guest_limit
	wait_guest "$log" "$t0" "PXED-E2E-MARKER: " "$limit" || fail "no marker"
	grep -q "PXED-E2E-MARKER: .*pxed.e2e=profile-a" "$log" || fail "wrong profile booted"
	grep -q "pxelinux.cfg/01-52-54-00-e2-e0-01" "$tmp/pxed.log" || fail "no pxelinux.cfg/01-MAC lookup"
	what="BIOS -> pxed DHCP -> TFTP pxelinux.0 -> pxelinux.cfg/01-mac -> kernel+initrd over TFTP"
	;;
2) # BIOS -> pxed DHCP -> iPXE asks again -> boot.ipxe -> machine script -> HTTP
	write_conf "ipxe" "$PXED_DHCP"
	lab_pxed "$build" "$confd" "$tmp/pxed.log" || fail "pxed did not start"
	boot_and_check bios tap0 "$MAC1"
	log=$guest_log t0=$guest_t0 limit=$guest_limit
	wait_guest "$log" "$t0" "PXED-E2E-MARKER: " "$limit" || fail "no marker"
	grep -q "PXED-E2E-MARKER: .*pxed.e2e=profile-a" "$log" || fail "wrong profile booted"
	grep -q "GET /boot.ipxe" "$tmp/pxed.log" || fail "boot.ipxe was not fetched"
	what="BIOS -> pxed DHCP -> iPXE -> boot.ipxe -> per-machine script -> kernel+initrd over HTTP"
	;;
3) # scenario 2 with dnsmasq as the plain DHCP server and pxed as proxyDHCP only
	lab_add_dhcp_ns
	write_conf "ipxe" "[proxydhcp]
interface=eth0"
	lab_pxed "$build" "$confd" "$tmp/pxed.log" || fail "pxed did not start"
	start_dnsmasq "$NS_DHCP"
	boot_and_check bios tap0 "$MAC1"
	log=$guest_log t0=$guest_t0 limit=$guest_limit
	wait_guest "$log" "$t0" "PXED-E2E-MARKER: " "$limit" || fail "no marker"
	grep -q "PXED-E2E-MARKER: .*pxed.e2e=profile-a" "$log" || fail "wrong profile booted"
	grep -q "DHCPACK.*$MAC1" "$tmp/dnsmasq.log" || fail "the address did not come from dnsmasq"
	what="BIOS -> dnsmasq DHCP + pxed proxyDHCP -> iPXE -> boot.ipxe -> HTTP"
	;;
4) # UEFI PXE (OVMF, arch 7) -> ipxe.efi over TFTP -> as in 2
	write_conf "ipxe" "$PXED_DHCP"
	lab_pxed "$build" "$confd" "$tmp/pxed.log" || fail "pxed did not start"
	boot_and_check uefi tap0 "$MAC1" 280
	log=$guest_log t0=$guest_t0 limit=$guest_limit
	wait_guest "$log" "$t0" "PXED-E2E-MARKER: " "$limit" || fail "no marker"
	grep -q "PXED-E2E-MARKER: .*pxed.e2e=profile-a" "$log" || fail "wrong profile booted"
	grep -q "source=dhcp event=offer client=$MAC1 .*file=ipxe.efi" "$tmp/pxed.log" ||
		fail "DHCP did not offer ipxe.efi by architecture"
	grep -q "source=tftp event=transfer-complete .*ipxe.efi" "$tmp/pxed.log" ||
		fail "ipxe.efi did not come over TFTP"
	what="UEFI PXE -> pxed DHCP by arch -> TFTP ipxe.efi -> boot.ipxe -> HTTP"
	;;
5) # UEFI HTTP Boot -> HTTPClient URL -> ipxe.efi over HTTP -> as in 2
	write_conf "ipxe" "$PXED_DHCP"
	lab_pxed "$build" "$confd" "$tmp/pxed.log" || fail "pxed did not start"
	boot_and_check http tap0 "$MAC1" 280
	log=$guest_log t0=$guest_t0 limit=$guest_limit
	wait_guest "$log" "$t0" "PXED-E2E-MARKER: " "$limit" || fail "no marker"
	grep -q "PXED-E2E-MARKER: .*pxed.e2e=profile-a" "$log" || fail "wrong profile booted"
	grep -q "GET /ipxe.efi" "$tmp/pxed.log" || fail "ipxe.efi was not fetched over HTTP"
	what="UEFI HTTP Boot -> pxed DHCP HTTPClient URL -> ipxe.efi over HTTP -> boot.ipxe -> HTTP"
	;;
6) # two guests at once, different MACs, different profiles
	write_conf "ipxe" "$PXED_DHCP"
	lab_pxed "$build" "$confd" "$tmp/pxed.log" || fail "pxed did not start"
	boot_and_check bios tap1 "$MAC1"
	log1=$guest_log t1=$guest_t0 limit=$guest_limit
	boot_and_check bios tap2 "$MAC2"
	log2=$guest_log t2=$guest_t0
	wait_guest "$log1" "$t1" "PXED-E2E-MARKER: " "$limit" || fail "no marker from guest 1"
	wait_guest "$log2" "$t2" "PXED-E2E-MARKER: " "$limit" || fail "no marker from guest 2"
	grep -q "PXED-E2E-MARKER: .*pxed.e2e=profile-a" "$log1" || fail "guest 1 booted the wrong profile"
	grep -q "PXED-E2E-MARKER: .*pxed.e2e=profile-b" "$log2" || fail "guest 2 booted the wrong profile"
	what="two guests at once get their own profiles"
	;;
7) # a MAC no group matches: the console says why
	write_conf "ipxe" "$PXED_DHCP"
	lab_pxed "$build" "$confd" "$tmp/pxed.log" || fail "pxed did not start"
	boot_and_check bios tap0 "$MAC_UNKNOWN"
	log=$guest_log t0=$guest_t0 limit=$guest_limit
	wait_guest "$log" "$t0" "pxed: this machine is not in the inventory" "$limit" ||
		fail "the console did not say why"
	lab_wait_for "$log" "selector.mac=$MAC_UNKNOWN" 10 || fail "the console did not name the MAC"
	grep -q "PXED-E2E-MARKER" "$log" && fail "an unknown machine booted a profile"
	what="an unknown MAC gets the no-match script, which says why on the console"
	;;
*)
	fail "no scenario $scenario"
	;;
esac
echo "ok 1 - scenario $scenario: $what"
