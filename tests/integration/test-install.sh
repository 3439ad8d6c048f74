#!/bin/bash
# Installs pxed into a temporary folder, builds the out-of-tree example plugin
# against the installed SDK with nothing but pkg-config, and has the installed
# pxed load it and serve through it. TAP output.
set -u
build=${1:?build folder}
src=${2:?source folder}
# In the build folder, not /tmp: the plugins are loaded from here, and a
# folder anyone may write to above a plugin is refused.
tmp=$(mktemp -d "$build/pxed-install-XXXXXX")
chmod 755 "$tmp"
trap 'rm -rf "$tmp"' EXIT
n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); failed=1; echo "not ok $n - $1"; shift; for l in "$@"; do echo "# $l"; done; }
echo "1..7"

dest=$tmp/dest
if out=$(meson install -C "$build" --destdir "$dest" --no-rebuild 2>&1); then
	ok "meson install --destdir"
else
	not_ok "meson install --destdir" "$out"; echo "Bail out! install failed"; exit 1
fi

pc=$(find "$dest" -name pxed-plugin-1.pc | head -n1)
pxed=$(find "$dest" -type f -name pxed -perm -u+x | head -n1)
header=$(find "$dest" -path '*/include/pxed-1/pxed/pxed.h' | head -n1)
plugins=$(find "$dest" -type d -path '*/pxed-1/plugins' | head -n1)
confd=$(find "$dest" -type d -path '*/etc/pxed/conf.d' | head -n1)
if [ -n "$pc" ] && [ -n "$pxed" ] && [ -n "$header" ] && [ -f "$plugins/static.so" ] && [ -n "$confd" ]; then
	ok "installed: daemon, SDK headers, pkg-config file, plugins, conf.d"
else
	not_ok "installed layout" "pc=$pc pxed=$pxed header=$header plugins=$plugins confd=$confd"
fi

# The SDK installs its public headers only: the private ones (the core's
# context, instance construction) are not an interface a plugin may use.
private=$(find "$dest" -name '*-private.h')
if [ -n "$header" ] && [ -z "$private" ]; then
	ok "no *-private.h installed"
else
	not_ok "no *-private.h installed" $private
fi

# The example is built outside the source tree, from a copy, with the
# installed SDK only. The .pc names the real prefix; point it at the staging
# folder, as installing to that prefix would have.
libdir=$(dirname "$(find "$dest" -name 'libpxed.so.1' | head -n1)")
mkdir -p "$tmp/example" "$tmp/pc" && cp "$src/sdk/examples/hello-backend/hello.c" "$tmp/example/"
prefix=$(sed -n 's/^prefix=//p' "$pc")
sed "s|^prefix=.*|prefix=$dest$prefix|" "$pc" >"$tmp/pc/pxed-plugin-1.pc"
export PKG_CONFIG_PATH=$tmp/pc
if out=$(cd "$tmp/example" && cc -O2 -Wall -Wextra -Werror -Wno-unused-parameter -shared -fPIC \
	-fvisibility=hidden -o hello.so hello.c \
	$(pkg-config --cflags --libs pxed-plugin-1) 2>&1); then
	ok "example built with cc \$(pkg-config --cflags --libs pxed-plugin-1)"
else
	not_ok "example build" "$out"
fi

export LD_LIBRARY_PATH=$libdir
if out=$("$pxed" --list-plugins --config-dir "$tmp/none" --plugin-dir "$tmp/example" 2>&1) &&
	grep -q '^hello .*backend .*ABI 1\.' <<<"$out"; then
	ok "installed pxed lists the example plugin"
else
	not_ok "--list-plugins shows hello" "$out"
fi

mkdir -p "$tmp/conf.d" "$tmp/root" "$tmp/state"
echo "from the static store" >"$tmp/root/other.txt"
cat >"$tmp/conf.d/10-example.conf" <<CONF
[core]
state-dir=$tmp/state
[hello]
greeting=Howdy
[static]
root=$tmp/root
[pipeline]
http=hello;static
CONF
if out=$("$pxed" --config-dir "$tmp/conf.d" --plugin-dir "$tmp/example" --plugin-dir "$plugins" \
	--explain mac=52:54:00:00:00:2a --path hello.txt --via http 2>"$tmp/err") &&
	[ "$out" = "Howdy, 52:54:00:00:00:2a, from an out-of-tree plugin!" ] &&
	grep -q 'served by hello' "$tmp/err"; then
	ok "installed pxed serves hello.txt through the example plugin"
else
	not_ok "--explain through hello" "$out" "$(cat "$tmp/err")"
fi
if out=$("$pxed" --config-dir "$tmp/conf.d" --plugin-dir "$tmp/example" --plugin-dir "$plugins" \
	--explain mac=52:54:00:00:00:2a --path other.txt --via http 2>"$tmp/err") &&
	[ "$out" = "from the static store" ] && grep -q 'served by static' "$tmp/err"; then
	ok "the example declines other paths; the next backend serves them"
else
	not_ok "decline to static" "$out" "$(cat "$tmp/err")"
fi
exit $failed
