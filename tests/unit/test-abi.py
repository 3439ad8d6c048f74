#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""libpxed.so exports the public API and nothing else (TAP).

Usage: test-abi.py NM LIBPXED SYMBOLS_FILE PRIVATE_HEADER_DIR HEADER...

HEADER... is the installed header set (sdk_headers in sdk/meson.build). The
test reads the library's dynamic symbol table with `nm -D --defined-only`
and checks it against the functions those headers declare, against the
private headers' functions and a list of names only the daemon may call,
and against debian/libpxed1.symbols, so that a function exported by
accident, a public one left out of sdk/libpxed.map, or a symbols file that
no longer matches fails here rather than in a plugin or a package build.
"""

import os
import re
import subprocess
import sys

# Made or used only by the daemon and the tests' fake cores (pxed-private).
KNOWN_PRIVATE = {
    "pxed_context_new",
    "pxed_context_free",
    "pxed_instance_new",
    "pxed_key_lookup",
}

results = []


def check(ok, name, detail=""):
    results.append((ok, name, detail))


def declared_functions(path):
    """The pxed_* functions a header declares: names followed by '(' once
    comments and #define bodies (which call, not declare) are gone."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    text = re.sub(r"//[^\n]*", " ", text)
    text = re.sub(r"^[ \t]*#[ \t]*define(?:[^\n]*\\\n)*[^\n]*", " ", text, flags=re.M)
    return set(re.findall(r"\b(pxed_\w+)\s*\(", text))


def included(path):
    with open(path, encoding="utf-8") as f:
        return re.findall(r'^\s*#\s*include\s*[<"]([^>"]+)[>"]', f.read(), flags=re.M)


def main():
    nm, lib, symbols_file, private_dir = sys.argv[1:5]
    headers = sys.argv[5:]

    # 1. The installed set holds no private header, and includes none.
    private_installed = [h for h in headers if h.endswith("-private.h")]
    check(not private_installed, "no *-private.h among the installed headers",
          " ".join(private_installed))
    bad_includes = [f"{os.path.basename(h)} includes {i}" for h in headers
                    for i in included(h) if i.endswith("-private.h")]
    check(not bad_includes, "no installed header includes a private one",
          "; ".join(bad_includes))

    public = set()
    for h in headers:
        public |= declared_functions(h)
    private = set(KNOWN_PRIVATE)
    for name in os.listdir(private_dir):
        if name.endswith("-private.h"):
            private |= declared_functions(os.path.join(private_dir, name))
    private -= public
    check(len(public) > 50, f"the installed headers declare the API ({len(public)} functions)")

    # 2. The dynamic symbol table: NAME@@NODE for each defined symbol; the
    # version nodes themselves show as absolute symbols.
    out = subprocess.run([nm, "-D", "--defined-only", lib], check=True,
                         capture_output=True, text=True).stdout
    exported = {}
    nodes = set()
    for line in out.splitlines():
        fields = line.split()
        if len(fields) < 3:
            continue
        kind, sym = fields[1], fields[2]
        name, _, node = sym.partition("@@")
        if kind == "A" and not node:
            nodes.add(name)
            continue
        exported[name] = (kind, node or sym.partition("@")[2])

    undeclared = sorted(n for n in exported if n not in public)
    check(not undeclared, "every exported symbol is declared in an installed header",
          " ".join(undeclared))
    leaked = sorted(n for n in exported if n in private)
    check(not leaked, f"no private function is exported ({len(private)} known)",
          " ".join(leaked))
    missing = sorted(public - set(exported))
    check(not missing, "every function of the installed headers is exported "
          "(listed in sdk/libpxed.map)", " ".join(missing))
    unversioned = sorted(n for n, (_, node) in exported.items()
                         if not re.fullmatch(r"PXED_1\.\d+", node))
    check(not unversioned and nodes, "every export carries a PXED_1.N version",
          " ".join(unversioned))
    not_code = sorted(f"{n} ({k})" for n, (k, _) in exported.items() if k not in "TtWi")
    check(not not_code, "only functions are exported (no variables: their size is ABI)",
          " ".join(not_code))

    # 3. debian/libpxed1.symbols lists exactly these, with their nodes.
    listed = set()
    with open(symbols_file, encoding="utf-8") as f:
        for line in f:
            m = re.match(r"^ (\S+)@(\S+) ", line)
            if m and m.group(1) != m.group(2):
                listed.add((m.group(1), m.group(2)))
    actual = {(n, node) for n, (_, node) in exported.items()}
    diff = [f"+{n}@{v}" for n, v in sorted(actual - listed)] + \
           [f"-{n}@{v}" for n, v in sorted(listed - actual)]
    check(not diff, "debian/libpxed1.symbols matches the exports", " ".join(diff))

    print(f"1..{len(results)}")
    failed = 0
    for i, (ok, name, detail) in enumerate(results, 1):
        print(f"{'ok' if ok else 'not ok'} {i} - {name}")
        if not ok:
            failed += 1
            print(f"# {detail}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
