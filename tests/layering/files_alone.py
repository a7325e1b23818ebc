#!/usr/bin/env python3
"""Unity builds (AUDIT_UNITY) compile each libaudit area as one translation unit, where a file can
use a name only another file of its area defines (a real case: pe_files.cpp read macho_files.cpp's
kDirs after a rename, and the unity build compiled it). This check parses every .cpp file a unity
translation unit includes on its own, with that unit's flags (-fsyntax-only): a file that does not
compile alone fails it, named. Usage: files_alone.py BUILD_DIR"""
import json
import os
import re
import shlex
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

build = sys.argv[1]
db = json.load(open(os.path.join(build, "compile_commands.json")))
jobs = []
for e in db:
    if "/Unity/unity_" not in e["file"] or "/libaudit/" not in e["file"]:
        continue
    args = [a for a in shlex.split(e["command"]) if not a.endswith("ccache")]
    i = args.index("-o")
    del args[i:i + 2]
    c = args.index("-c")
    for inc in re.findall(r'#include "([^"]+\.cpp)"', open(e["file"]).read()):
        a = list(args)
        a[c + 1] = inc
        jobs.append((inc, a + ["-fsyntax-only"], e["directory"]))
if not jobs:
    print("FAIL: no unity translation units in " + build + " (configure with AUDIT_UNITY=ON)",
          file=sys.stderr)
    sys.exit(1)


def run(job):
    name, args, cwd = job
    r = subprocess.run(args, cwd=cwd, capture_output=True, text=True)
    return name, r.returncode, r.stderr


bad = 0
with ThreadPoolExecutor(os.cpu_count() or 2) as ex:
    for name, rc, err in ex.map(run, jobs):
        if rc != 0:
            bad += 1
            print(f"FAIL: {name} does not compile alone:\n{err[:2000]}", file=sys.stderr)
if bad:
    sys.exit(1)
print(f"{len(jobs)} libaudit files each compile alone")
