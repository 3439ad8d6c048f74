#!/bin/bash
# TFTP benchmark: pxed against tftpd-hpa, atftpd and dnsmasq, in one run, on
# loopback, serving the same files to the same load client (tftp-bench.c).
#
#   tests/bench/tftp/run.sh [BUILD_DIR]        (default: ./build)
#
# Environment:
#   REPS=3              runs per cell; the best is kept (the machine is shared
#                       and noisy: the best run is the one least disturbed)
#   TFTPD_HPA, ATFTPD, DNSMASQ   server binaries (found or fetched if unset)
#   PEERS_DIR           where tftpd-hpa/atftpd are unpacked when not installed
#                       (their Debian packages conflict: both cannot be
#                       installed, so they are fetched with apt-get download
#                       and unpacked; default /var/cache/pxed-bench)
#   CELLS="512:1 1468:16"   only these blksize:windowsize cells
#   PXED_BASE_BUILD     a second pxed build (e.g. an older commit's) run as one
#                       more server in the same interleaved run, labelled
#                       "pxed (<its git short hash>)", with a ratio column
#                       pxed / that build; it gets a configuration without the
#                       keys an older pxed may not know (max-sessions-per-client)
#
# Needs root (tftpd-hpa chroots, dnsmasq's TFTP port is 69, on 127.0.0.1).
# Prints a Markdown report; also written to $WORK/report.md.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../../.." && pwd)
build=$(cd "${1:-$src/build}" && pwd)
reps=${REPS:-3}
peers_dir=${PEERS_DIR:-/var/cache/pxed-bench}
cells=${CELLS:-"512:1 512:4 512:16 512:64 1468:1 1468:4 1468:16 1468:64 8192:1 8192:4 8192:16 8192:64"}
storm_clients=200
storm_size=71680 # 70 KiB, the size of undionly.kpxe
big_size=$((64 * 1024 * 1024))

[ "$(id -u)" = 0 ] || { echo "run as root" >&2; exit 1; }
[ -x "$build/core/pxed" ] || { echo "no pxed in $build (build it first)" >&2; exit 1; }
base_build=${PXED_BASE_BUILD:+$(cd "$PXED_BASE_BUILD" && pwd)}
if [ -n "$base_build" ]; then
	[ -x "$base_build/core/pxed" ] || { echo "no pxed in $base_build (build it first)" >&2; exit 1; }
	base_rev=$(git -C "$base_build" rev-parse --short HEAD 2>/dev/null || echo base)
fi

work=$(mktemp -d /tmp/pxed-bench-XXXXXX)
chmod 755 "$work"
pids=()
cleanup() {
	for pid in "${pids[@]}"; do
		kill "$pid" 2>/dev/null || true
	done
	for pid in "${pids[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
	rm -rf "$work/root"
}
trap cleanup EXIT

log() { echo "# $*" >&2; }

# ---- servers' binaries ----

fetch_peer() { # package, binary path inside it
	local pkg=$1 path=$2 dir="$peers_dir/$1"
	if [ ! -x "$dir/$path" ]; then
		log "fetching $pkg (apt-get download) into $dir"
		mkdir -p "$peers_dir"
		(cd "$peers_dir" && apt-get download "$pkg" >/dev/null 2>&1) || return 1
		dpkg-deb -x "$peers_dir"/"${pkg}"_*.deb "$dir" || return 1
	fi
	echo "$dir/$path"
}

if [ -z "${TFTPD_HPA:-}" ]; then
	if /usr/sbin/in.tftpd -V 2>&1 | grep -q tftp-hpa; then
		TFTPD_HPA=/usr/sbin/in.tftpd
	else
		TFTPD_HPA=$(fetch_peer tftpd-hpa usr/sbin/in.tftpd || true)
	fi
fi
if [ -z "${ATFTPD:-}" ]; then
	if [ -x /usr/sbin/atftpd ]; then ATFTPD=/usr/sbin/atftpd; else ATFTPD=$(fetch_peer atftpd usr/sbin/atftpd || true); fi
fi
DNSMASQ=${DNSMASQ:-$(command -v dnsmasq || true)}
# Unpacked rather than installed, the peers bring no dependencies: both link
# libwrap (tcp-wrappers), which a fresh Debian 12 lacks.
. "$src/tools/deps.sh"
for bin in "${TFTPD_HPA:-}" "${ATFTPD:-}"; do
	[ -n "$bin" ] && ldd "$bin" 2>/dev/null | grep -q "libwrap.so.0 => not found" &&
		{ pxed_ensure_packages libwrap0 || exit 2; }
done
for bin in "${TFTPD_HPA:-}" "${ATFTPD:-}"; do
	if [ -n "$bin" ] && ldd "$bin" 2>/dev/null | grep -q "not found"; then
		log "$bin cannot run here: $(ldd "$bin" | grep "not found" | tr -s ' \t' ' ')"
		exit 2
	fi
done

# ---- the load client and the files ----

log "building the load client"
cc -O2 -D_GNU_SOURCE -o "$work/tftp-bench" "$here/tftp-bench.c" "$src/plugins/tftp/tftp-packet.c" \
	-I"$src/plugins/tftp" $(pkg-config --cflags --libs glib-2.0)
mkdir -p "$work/root"
head -c "$big_size" /dev/urandom >"$work/root/big.bin"
head -c "$storm_size" /dev/urandom >"$work/root/undionly.kpxe"
chmod 755 "$work/root"
chmod 644 "$work/root"/*

free_port() {
	python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

declare -A port spid label

start_pxed() { # server (pxed or pxed-base), name of the instance log
	local s=$1 b=$build conf
	[ "$s" = pxed-base ] && b=$base_build
	conf=$(cat <<-EOF
	[core]
	state-dir=$work/state-$s
	[tftp]
	listen=127.0.0.1:0
	max-sessions-per-client=1024
	[static]
	root=$work/root
	[pipeline]
	tftp=static
	EOF
	)
	mkdir -p "$work/state-$s" "$work/conf-$s"
	if [ "$s" = pxed-base ]; then
		echo "$conf" | grep -v '^max-sessions-per-client=' >"$work/conf-$s/50-bench.conf"
	else
		echo "$conf" >"$work/conf-$s/50-bench.conf"
	fi
	"$b/core/pxed" -c "$work/conf-$s" -p "$b/plugins" >"$work/$2.log" 2>&1 &
	spid[$s]=$!
	pids+=("${spid[$s]}")
	for _ in $(seq 100); do
		grep -q "event=ready" "$work/$2.log" && break
		sleep 0.1
	done
	port[$s]=$(grep -o 'source=tftp event=listening client=- 127.0.0.1:[0-9]*' "$work/$2.log" | sed 's/.*://')
	[ -n "${port[$s]}" ] || { cat "$work/$2.log" >&2; exit 1; }
}

servers=(pxed)
label[pxed]=pxed
log "starting pxed ($build)"
start_pxed pxed pxed
pxed_pid=${spid[pxed]}
if [ -n "$base_build" ]; then
	servers+=(pxed-base)
	label[pxed-base]="pxed ($base_rev)"
	log "starting pxed $base_rev ($base_build)"
	start_pxed pxed-base pxed-base
fi

if [ -n "$TFTPD_HPA" ] && [ -x "$TFTPD_HPA" ]; then
	port[tftpd-hpa]=$(free_port)
	"$TFTPD_HPA" -L -a "127.0.0.1:${port[tftpd-hpa]}" -s "$work/root" >"$work/tftpd-hpa.log" 2>&1 &
	pids+=($!)
	spid[tftpd-hpa]=$!
	servers+=(tftpd-hpa)
else
	log "tftpd-hpa not available: skipped"
fi
if [ -n "$ATFTPD" ] && [ -x "$ATFTPD" ]; then
	port[atftpd]=$(free_port)
	# --maxthread: its default of 100 would refuse half of the 200 clients.
	"$ATFTPD" --daemon --no-fork --port "${port[atftpd]}" --bind-address 127.0.0.1 \
		--logfile /dev/null --maxthread 1000 "$work/root" >"$work/atftpd.log" 2>&1 &
	pids+=($!)
	spid[atftpd]=$!
	servers+=(atftpd)
else
	log "atftpd not available: skipped"
fi
if [ -n "$DNSMASQ" ]; then
	if python3 -c 'import socket; socket.socket(socket.AF_INET, socket.SOCK_DGRAM).bind(("127.0.0.1", 69))' 2>/dev/null; then
		port[dnsmasq]=69 # dnsmasq's TFTP port cannot be changed
		# --tftp-max: its default of 50 transfers would stall the storm.
		"$DNSMASQ" --keep-in-foreground --conf-file=/dev/null --port=0 \
			--listen-address=127.0.0.1 --bind-interfaces --enable-tftp \
			--tftp-root="$work/root" --tftp-max=1000 --pid-file= \
			--log-facility="$work/dnsmasq.log" >"$work/dnsmasq.out" 2>&1 &
		pids+=($!)
		spid[dnsmasq]=$!
		servers+=(dnsmasq)
	else
		log "127.0.0.1:69 is taken: dnsmasq skipped"
	fi
else
	log "dnsmasq not available (Debian package dnsmasq-base): skipped"
fi
sleep 1

# The servers, rotated by one per repetition: none always runs first.
rotated() { # repetition number
	local n=${#servers[@]} k=$(($1 % ${#servers[@]}))
	echo "${servers[@]:k:n} ${servers[@]:0:k}"
}

# value KEY from the client's key=value line
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p; s/^$1=\([^ ]*\).*/\1/p" | head -1; }

declare -A best granted
run_get() { # server blksize windowsize -> sets best/granted
	local s=$1 b=$2 w=$3 out mbps key="$1:$2:$3"
	out=$("$work/tftp-bench" get --port "${port[$s]}" --file big.bin \
		--verify "$work/root/big.bin" --blksize "$b" --windowsize "$w" 2>>"$work/client.err") || {
		log "$s blksize $b windowsize $w: FAILED"
		return 0
	}
	mbps=$(echo "$out" | field mbps)
	granted[$key]="$(echo "$out" | field blksize)/$(echo "$out" | field windowsize)"
	if [ -z "${best[$key]:-}" ] || awk "BEGIN{exit !($mbps > ${best[$key]})}"; then
		best[$key]=$mbps
	fi
}

log "one 64 MiB file, best of $reps; servers in turn within each repetition"
for cell in $cells; do
	b=${cell%%:*} w=${cell##*:}
	for rep in $(seq "$reps"); do
		for s in $(rotated "$rep"); do
			# A server that did not take the window serves lock-step: that
			# cell is its window-1 cell, already measured.
			if [ "$w" != 1 ] && [ -n "${granted[$s:$b:$w]:-}" ] &&
				[ "${granted[$s:$b:$w]#*/}" = 1 ] && [ -n "${best[$s:$b:1]:-}" ]; then
				best[$s:$b:$w]=${best[$s:$b:1]}
				continue
			fi
			run_get "$s" "$b" "$w"
		done
	done
	log "blksize $b windowsize $w: $(for s in "${servers[@]}"; do echo -n "$s=${best[$s:$b:$w]:-?} "; done)"
done
matrix_hwm=$(awk '/VmHWM/ {print $2}' "/proc/$pxed_pid/status")
[ -n "$base_build" ] && base_matrix_hwm=$(awk '/VmHWM/ {print $2}' "/proc/${spid[pxed-base]}/status")

# Lock-step round trips on loopback cost mostly the wakeups, and whether the
# scheduler puts server and client on one CPU (cheap) or two (a cross-CPU
# wakeup per block) varies from run to run. Pinned to one CPU, the cells
# compare the servers' own cost per block. (Forking and threaded servers
# pass the affinity of their listener on to their workers.)
declare -A pinned
all_cpus="0-$(($(nproc) - 1))"
lockstep_sizes="512 1468 8192"
for b in $lockstep_sizes; do
	for rep in $(seq "$reps"); do
		for s in $(rotated "$rep"); do
			taskset -a -p -c 0 "${spid[$s]}" >/dev/null
			out=$(taskset -c 0 "$work/tftp-bench" get --port "${port[$s]}" --file big.bin \
				--verify "$work/root/big.bin" --blksize "$b" --windowsize 1 \
				2>>"$work/client.err") || out=""
			taskset -a -p -c "$all_cpus" "${spid[$s]}" >/dev/null
			mbps=$(echo "$out" | field mbps)
			[ -n "$mbps" ] || continue
			if [ -z "${pinned[$s:$b]:-}" ] || awk "BEGIN{exit !($mbps > ${pinned[$s:$b]})}"; then
				pinned[$s:$b]=$mbps
			fi
		done
	done
	log "lock-step on one CPU, blksize $b: $(for s in "${servers[@]}"; do echo -n "$s=${pinned[$s:$b]:-?} "; done)"
done

# ---- the storm: a fresh pxed, its memory watched ----
kill "$pxed_pid"
wait "$pxed_pid" 2>/dev/null || true
start_pxed pxed pxed-storm
pxed_pid=${spid[pxed]}
storm_rss0=$(awk '/VmRSS/ {print $2}' "/proc/$pxed_pid/status")
if [ -n "$base_build" ]; then
	kill "${spid[pxed-base]}"
	wait "${spid[pxed-base]}" 2>/dev/null || true
	start_pxed pxed-base pxed-base-storm
	base_storm_rss0=$(awk '/VmRSS/ {print $2}' "/proc/${spid[pxed-base]}/status")
fi

declare -A storm_total storm_slowest storm_mbps storm_granted
storm_rows="1468:1 1468:16"
# One storm each, not measured: the fresh pxed and the peers start even.
for s in "${servers[@]}"; do
	"$work/tftp-bench" storm --port "${port[$s]}" --file undionly.kpxe \
		--verify "$work/root/undionly.kpxe" --clients "$storm_clients" --blksize 1468 \
		>/dev/null 2>>"$work/client.err" || true
done
for row in $storm_rows; do
	b=${row%%:*} w=${row##*:}
	for rep in $(seq "$reps"); do
		for s in $(rotated "$rep"); do
			key="$s:$b:$w"
			out=$("$work/tftp-bench" storm --port "${port[$s]}" --file undionly.kpxe \
				--verify "$work/root/undionly.kpxe" --clients "$storm_clients" \
				--blksize "$b" --windowsize "$w" 2>>"$work/client.err") || {
				log "$s storm blksize $b windowsize $w: some clients failed: $out"
				continue
			}
			total=$(echo "$out" | field seconds)
			if [ -z "${storm_total[$key]:-}" ] || awk "BEGIN{exit !($total < ${storm_total[$key]})}"; then
				storm_total[$key]=$total
				storm_slowest[$key]=$(echo "$out" | field slowest)
				storm_mbps[$key]=$(echo "$out" | field mbps)
				storm_granted[$key]=$(echo "$out" | field windowsize)
			fi
		done
	done
	log "storm blksize $b windowsize $w: $(for s in "${servers[@]}"; do echo -n "$s=${storm_total[$s:$b:$w]:-?}s "; done)"
done
storm_hwm=$(awk '/VmHWM/ {print $2}' "/proc/$pxed_pid/status")
[ -n "$base_build" ] && base_storm_hwm=$(awk '/VmHWM/ {print $2}' "/proc/${spid[pxed-base]}/status")

is_peer() { [ "$1" != pxed ] && [ "$1" != pxed-base ]; }
# the extra column's header and its ratio (pxed / the base build), from two values
base_hdr() { [ -n "$base_build" ] && printf " pxed / %s |" "${label[pxed-base]}"; true; }
base_sep() { [ -n "$base_build" ] && printf -- "---|"; true; }
base_ratio() { # pxed's value, the base build's value
	[ -n "$base_build" ] || return 0
	if [ -n "$1" ] && [ -n "$2" ] && awk "BEGIN{exit !($2 > 0)}"; then
		printf " %.2f |" "$(awk "BEGIN{print $1 / $2}")"
	else
		printf " - |"
	fi
}

# ---- report ----
{
	echo "TFTP on loopback, $(nproc) CPUs ($(uname -r)), best of $reps, $(date -u +%Y-%m-%d)."
	echo "Client: tests/bench/tftp/tftp-bench.c (recvmmsg, 8 MiB receive buffer, RFC 7440 acks)."
	echo
	echo "One 64 MiB file, MB/s (a peer that does not take an option is measured at what it"
	echo "grants, shown as blksize/window):"
	echo
	printf "| blksize | window |"
	for s in "${servers[@]}"; do printf " %s |" "${label[$s]:-$s}"; done
	printf " pxed / best peer |"; base_hdr; printf "\n|---|---|"
	for _ in "${servers[@]}"; do printf -- "---|"; done
	printf -- "---|"; base_sep; echo
	for cell in $cells; do
		b=${cell%%:*} w=${cell##*:}
		printf "| %s | %s |" "$b" "$w"
		bestpeer=0
		for s in "${servers[@]}"; do
			v=${best[$s:$b:$w]:-}
			g=${granted[$s:$b:$w]:-}
			note=""
			[ -n "$g" ] && [ "$g" != "$b/$w" ] && note=" ($g)"
			printf " %s%s |" "${v:-failed}" "$note"
			if is_peer "$s" && [ -n "$v" ] && awk "BEGIN{exit !($v > $bestpeer)}"; then bestpeer=$v; fi
		done
		if [ -n "${best[pxed:$b:$w]:-}" ] && awk "BEGIN{exit !($bestpeer > 0)}"; then
			printf " %.2f |" "$(awk "BEGIN{print ${best[pxed:$b:$w]} / $bestpeer}")"
		else
			printf " - |"
		fi
		base_ratio "${best[pxed:$b:$w]:-}" "${best[pxed-base:$b:$w]:-}"; echo
	done
	echo
	echo "Lock-step (window 1) with server and client pinned to one CPU, MB/s — the servers'"
	echo "own cost per block, without the scheduler's placement:"
	echo
	printf "| blksize |"
	for s in "${servers[@]}"; do printf " %s |" "${label[$s]:-$s}"; done
	printf " pxed / best peer |"; base_hdr; printf "\n|---|"
	for _ in "${servers[@]}"; do printf -- "---|"; done
	printf -- "---|"; base_sep; echo
	for b in $lockstep_sizes; do
		printf "| %s |" "$b"
		bestpeer=0
		for s in "${servers[@]}"; do
			v=${pinned[$s:$b]:-}
			printf " %s |" "${v:-failed}"
			if is_peer "$s" && [ -n "$v" ] && awk "BEGIN{exit !($v > $bestpeer)}"; then bestpeer=$v; fi
		done
		if [ -n "${pinned[pxed:$b]:-}" ] && awk "BEGIN{exit !($bestpeer > 0)}"; then
			printf " %.2f |" "$(awk "BEGIN{print ${pinned[pxed:$b]} / $bestpeer}")"
		else
			printf " - |"
		fi
		base_ratio "${pinned[pxed:$b]:-}" "${pinned[pxed-base:$b]:-}"; echo
	done
	echo
	echo "$storm_clients clients at once, each fetching a 70 KiB file (total time, slowest"
	echo "client, aggregate MB/s):"
	echo
	printf "| blksize | window |"
	for s in "${servers[@]}"; do printf " %s |" "${label[$s]:-$s}"; done
	printf " pxed / best peer (MB/s) |"; base_hdr; printf "\n|---|---|"
	for _ in "${servers[@]}"; do printf -- "---|"; done
	printf -- "---|"; base_sep; echo
	for row in $storm_rows; do
		b=${row%%:*} w=${row##*:}
		printf "| %s | %s |" "$b" "$w"
		bestpeer=0
		for s in "${servers[@]}"; do
			key="$s:$b:$w"
			if [ -z "${storm_total[$key]:-}" ]; then
				printf " failed |"
				continue
			fi
			note=""
			[ "${storm_granted[$key]}" != "$w" ] && note=", w${storm_granted[$key]}"
			printf " %ss, %ss, %s MB/s%s |" "${storm_total[$key]}" "${storm_slowest[$key]}" "${storm_mbps[$key]}" "$note"
			if is_peer "$s" && awk "BEGIN{exit !(${storm_mbps[$key]} > $bestpeer)}"; then bestpeer=${storm_mbps[$key]}; fi
		done
		if [ -n "${storm_mbps[pxed:$b:$w]:-}" ] && awk "BEGIN{exit !($bestpeer > 0)}"; then
			printf " %.2f |" "$(awk "BEGIN{print ${storm_mbps[pxed:$b:$w]} / $bestpeer}")"
		else
			printf " - |"
		fi
		base_ratio "${storm_mbps[pxed:$b:$w]:-}" "${storm_mbps[pxed-base:$b:$w]:-}"; echo
	done
	echo
	echo "pxed memory (peak resident set, VmHWM): $((storm_hwm / 1024)) MiB during the"
	echo "$storm_clients-client runs (resident at start: $((storm_rss0 / 1024)) MiB);" \
		"$((matrix_hwm / 1024)) MiB over all the 64 MiB transfers above."
	if [ -n "$base_build" ]; then
		echo "${label[pxed-base]}: $((base_storm_hwm / 1024)) MiB during the $storm_clients-client runs" \
			"(at start: $((base_storm_rss0 / 1024)) MiB); $((base_matrix_hwm / 1024)) MiB over the 64 MiB transfers."
	fi
} | tee "$work/report.md"
log "report: $work/report.md"
