#!/bin/sh
# pxed's HTTP plugin beside nginx (sendfile on), same files, loopback, wrk.
#   tests/bench/http/run.sh [BUILD_DIR] [SECONDS]
# Needs: wrk, nginx (Debian: apt-get install wrk nginx-light), a built tree.
# Prints one table: throughput for a 256 MiB file with 1 and 8 connections,
# requests/s for a 2 KiB file with 64 connections, and for boot.ipxe (rendered
# by the ipxe backend in pxed, a static copy of the same bytes in nginx), with
# the ratio pxed / nginx, and pxed's peak RSS. Servers listen on 127.0.0.1 only.
# PXED_BASE_BUILD=DIR: a second pxed build (e.g. an older commit's), measured in
# the same run right after pxed in each row, as a column "pxed (<its git short
# hash>)" with the ratio pxed / that build; it gets the same configuration
# without the keys an older pxed may not know (max-connections-per-client).
set -eu

BUILD=${1:-build}
SECS=${2:-5}
PXED=$BUILD/core/pxed
PLUGINS=$BUILD/plugins
for tool in wrk nginx curl python3; do
	command -v $tool >/dev/null 2>&1 || { echo "bench: $tool is missing" >&2; exit 2; }
done
[ -x "$PXED" ] || { echo "bench: no $PXED (build first)" >&2; exit 2; }

BASE=${PXED_BASE_BUILD:-}
if [ -n "$BASE" ]; then
	[ -x "$BASE/core/pxed" ] || { echo "bench: no $BASE/core/pxed (build first)" >&2; exit 2; }
	BASE_REV=$(git -C "$BASE" rev-parse --short HEAD 2>/dev/null || echo base)
fi

WORK=$(mktemp -d /tmp/pxed-bench.XXXXXX)
PXED_PID=
BASE_PID=
NGINX_PID=
cleanup() {
	[ -n "$PXED_PID" ] && kill "$PXED_PID" 2>/dev/null || true
	[ -n "$BASE_PID" ] && kill "$BASE_PID" 2>/dev/null || true
	[ -n "$NGINX_PID" ] && kill "$NGINX_PID" 2>/dev/null || true
	[ -s "$WORK/nginx/error.log" ] && tail -3 "$WORK/nginx/error.log" >&2
	rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

chmod 755 "$WORK"   # nginx workers run as another user
mkdir -p "$WORK/pxed-root" "$WORK/nginx-root" "$WORK/conf.d" "$WORK/state" "$WORK/nginx"
head -c $((256 * 1024 * 1024)) /dev/urandom > "$WORK/pxed-root/big.img"
head -c 2048 /dev/urandom > "$WORK/pxed-root/small.bin"
ln "$WORK/pxed-root/big.img" "$WORK/nginx-root/big.img"
ln "$WORK/pxed-root/small.bin" "$WORK/nginx-root/small.bin"
chmod 644 "$WORK/pxed-root/big.img" "$WORK/pxed-root/small.bin"

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# ---- pxed ----
PXED_PORT=$(free_port)
PXED_URL=http://127.0.0.1:$PXED_PORT
# log-level=warning: nginx runs with access_log off; pxed still files every
# request in its event log (state-dir/events.jsonl), it only does not also
# print each one to stderr.
cat > "$WORK/conf.d/50-bench.conf" <<CONF
[core]
state-dir=$WORK/state
log-level=warning
[profile:bench]
kernel=http://127.0.0.1:8080/vmlinuz
initrd=http://127.0.0.1:8080/initrd.img
args=console=ttyS0 ip=dhcp
[group:bench]
profile=bench
selector.mac=52:54:00:12:34:56
[http]
listen=127.0.0.1:$PXED_PORT
# every benchmark connection comes from one address
max-connections-per-client=1024
[ipxe]
base-url=http://127.0.0.1:8080
[static]
root=$WORK/pxed-root
[pipeline]
http=ipxe;static
CONF
"$PXED" --config-dir "$WORK/conf.d" --plugin-dir "$PLUGINS" > "$WORK/pxed.log" 2>&1 &
PXED_PID=$!
for i in $(seq 100); do
	curl -sf -o /dev/null "$PXED_URL/boot.ipxe" && break
	kill -0 $PXED_PID 2>/dev/null || { cat "$WORK/pxed.log"; exit 1; }
	sleep 0.1
done

# ---- the second pxed build ----
if [ -n "$BASE" ]; then
	BASE_PORT=$(free_port)
	BASE_URL=http://127.0.0.1:$BASE_PORT
	mkdir -p "$WORK/base-conf.d" "$WORK/base-state"
	grep -v '^max-connections-per-client=' "$WORK/conf.d/50-bench.conf" |
		sed "s|^state-dir=.*|state-dir=$WORK/base-state|; s|^listen=.*|listen=127.0.0.1:$BASE_PORT|" \
		> "$WORK/base-conf.d/50-bench.conf"
	"$BASE/core/pxed" --config-dir "$WORK/base-conf.d" --plugin-dir "$BASE/plugins" > "$WORK/base.log" 2>&1 &
	BASE_PID=$!
	for i in $(seq 100); do
		curl -sf -o /dev/null "$BASE_URL/boot.ipxe" && break
		kill -0 $BASE_PID 2>/dev/null || { cat "$WORK/base.log"; exit 1; }
		sleep 0.1
	done
fi

# the rendered script, served by nginx as a plain file
curl -sf -o "$WORK/nginx-root/boot.ipxe" "$PXED_URL/boot.ipxe" || echo "#!ipxe" > "$WORK/nginx-root/boot.ipxe"

# one machine's own script (what iPXE asks for next), rendered per request
# from the inventory by pxed; the same bytes as a file for nginx
curl -sf -o "$WORK/nginx-root/machine.ipxe" "$PXED_URL/ipxe?mac=52-54-00-12-34-56&platform=pcbios&buildarch=i386" ||
	{ echo "bench: pxed rendered no machine script" >&2; exit 1; }
grep -q vmlinuz "$WORK/nginx-root/machine.ipxe" || { echo "bench: the machine script names no kernel" >&2; exit 1; }
chmod 644 "$WORK/nginx-root/boot.ipxe" "$WORK/nginx-root/machine.ipxe"

# ---- nginx ----
NGINX_PORT=$(free_port)
cat > "$WORK/nginx/nginx.conf" <<CONF
worker_processes 1;
daemon off;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log;
events { worker_connections 1024; }
http {
	access_log off;
	sendfile on;
	tcp_nopush on;
	keepalive_requests 1000000;
	types { }
	default_type application/octet-stream;
	client_body_temp_path $WORK/nginx;
	proxy_temp_path $WORK/nginx;
	fastcgi_temp_path $WORK/nginx;
	uwsgi_temp_path $WORK/nginx;
	scgi_temp_path $WORK/nginx;
	server {
		listen 127.0.0.1:$NGINX_PORT;
		root $WORK/nginx-root;
	}
}
CONF
nginx -c "$WORK/nginx/nginx.conf" -p "$WORK/nginx" &
NGINX_PID=$!
for i in $(seq 100); do
	curl -sf -o /dev/null "http://127.0.0.1:$NGINX_PORT/small.bin" && break
	sleep 0.1
done

# wrk prints "Requests/sec:" and "Transfer/sec:"; bytes/s and requests/s out.
run_wrk() { # CONNECTIONS URL -> "REQ_PER_SEC BYTES_PER_SEC"
	wrk -t1 -c"$1" -d"${SECS}s" --timeout 60s "$2" | awk '
		/Requests\/sec:/ { rps = $2 }
		/Transfer\/sec:/ {
			v = $2; m = 1
			if (v ~ /KB$/) m = 1024; else if (v ~ /MB$/) m = 1048576; else if (v ~ /GB$/) m = 1073741824
			sub(/[KMG]?B$/, "", v); bps = v * m
		}
		END { printf "%s %.0f\n", rps, bps }'
}

row() { # NAME CONNECTIONS PATH METRIC(bytes|rps) [NGINX_PATH, else PATH]
	p=$(run_wrk "$2" "$PXED_URL$3")
	b="0 0"
	[ -n "$BASE" ] && b=$(run_wrk "$2" "$BASE_URL$3")
	n=$(run_wrk "$2" "http://127.0.0.1:$NGINX_PORT${5:-$3}")
	echo "$1|$p|$n|$4|$b"
}

{
	row "256 MiB file, 1 connection" 1 /big.img bytes
	row "256 MiB file, 8 connections" 8 /big.img bytes
	row "2 KiB file, 64 connections" 64 /small.bin rps
	row "boot.ipxe (pxed: built once per configuration; nginx static), 64 connections" 64 /boot.ipxe rps
	row "a machine's script (pxed renders per request from the inventory; nginx static), 64 connections" \
		64 "/ipxe?mac=52-54-00-12-34-56&platform=pcbios&buildarch=i386" rps /machine.ipxe
} > "$WORK/rows"

RSS=$(awk '/VmHWM/ { print $2 " " $3 }' /proc/$PXED_PID/status)
[ -n "$BASE" ] && BASE_RSS=$(awk '/VmHWM/ { print $2 " " $3 }' /proc/$BASE_PID/status)

if [ -n "$BASE" ]; then
	echo "| test | pxed | pxed ($BASE_REV) | nginx | pxed / nginx | pxed / pxed ($BASE_REV) |"
	echo "| --- | ---: | ---: | ---: | ---: | ---: |"
else
	echo "| test | pxed | nginx | pxed / nginx |"
	echo "| --- | ---: | ---: | ---: |"
fi
awk -F'|' -v base="$BASE" '{
	split($2, p, " "); split($3, n, " "); split($5, b, " ")
	if ($4 == "bytes") { pv = p[2] / 1048576; nv = n[2] / 1048576; bv = b[2] / 1048576; unit = " MiB/s" }
	else { pv = p[1]; nv = n[1]; bv = b[1]; unit = " req/s" }
	ratio = nv > 0 ? pv / nv : 0
	if (base != "")
		printf "| %s | %.0f%s | %.0f%s | %.0f%s | %.2f | %.2f |\n", $1, pv, unit, bv, unit, nv, unit,
			ratio, (bv > 0 ? pv / bv : 0)
	else
		printf "| %s | %.0f%s | %.0f%s | %.2f |\n", $1, pv, unit, nv, unit, ratio
}' "$WORK/rows"
echo
echo "pxed peak RSS (VmHWM) after all runs: $RSS"
[ -n "$BASE" ] && echo "pxed ($BASE_REV) peak RSS: $BASE_RSS"
true
