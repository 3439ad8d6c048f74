#!/usr/bin/env python3
# Every key of every key table (the core's, the inventory's, each plugin's,
# as pxed-mangen --list-keys reads them from the built plugins) is in
# pxed.conf(5), under its group, with a description. Fails on a key without
# one, or one the page does not show. TAP output.
import subprocess
import sys

mangen, plugin_dir, page_path = sys.argv[1:4]
listing = subprocess.run([mangen, '--plugin-dir', plugin_dir, '--list-keys'],
                         check=True, capture_output=True, text=True).stdout
page = open(page_path, encoding='utf-8').read().split('\n')


def roff(text):
    return text.replace('\\', '\\e').replace('-', '\\-')


# group -> {key line -> the entry's text lines}
sections, group, key = {}, None, None
for line in page:
    if line.startswith('.SS "[') and line.endswith(']"'):
        group, key = line[len('.SS "['):-2], None
        sections[group] = {}
    elif group is None or line == '.TP':
        key = None
    elif line.startswith('.SH'):
        group = key = None
    elif key is None and (line.startswith('.B ') or line.startswith('.BI ')):
        key = line
        sections[group][key] = []
    elif key is not None:
        sections[group][key].append(line)

keys = [line.split('\t', 2) for line in listing.splitlines()]
print('1..%d' % (len(keys) + 1))
n = 1
groups = {g for g, _, _ in keys}
if len(keys) > 0 and {'core', 'tftp', 'dhcp'} <= groups:
    print('ok 1 - %d keys in %d groups, the core and the plugins among them'
          % (len(keys), len(groups)))
else:
    print('not ok 1 - the key listing misses groups: %s' % sorted(groups))
failed = 0
for g, k, description in keys:
    n += 1
    entries = sections.get(g, {})
    entry = entries.get('.B ' + roff(k), entries.get('.BI ' + roff(k) + ' KEY'))
    problem = None
    if not description.strip():
        problem = 'has no description in its key table'
    elif entry is None:
        problem = 'is not in pxed.conf(5) under [%s]' % g
    elif not any(roff(description) in line for line in entry):
        problem = "is in pxed.conf(5) without its description"
    if problem:
        failed = 1
        print('not ok %d - [%s] %s %s' % (n, g, k, problem))
    else:
        print('ok %d - [%s] %s documented' % (n, g, k))
sys.exit(failed)
