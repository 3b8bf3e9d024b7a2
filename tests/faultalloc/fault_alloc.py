#!/usr/bin/python3
"""Every allocation site of a run fails once (issue 17; after Lua's ltests.c).

usage: fault_alloc.py COLOSSIM [colossim run options...]
COLOSSIM must be built with -DCX_FAULT_ALLOC=ON (src/util/cx_fault_alloc.c).
A reference run counts the allocation sites colossim reaches; then one run per
site makes that site's first allocation return NULL.  A run must then either
succeed (the code had a fallback) or exit non-zero with ONE error line and no
trace left behind ("ok"); an abort of every rank with "fatal: ... out of
memory" naming the file and line (exit 70: the engine cannot return an error
from inside an event handler) is counted apart ("abort"); anything else -- a
signal, a sanitizer report, a trace left -- fails ("FAIL").  Prints a line per
site with its function and line (addr2line); exits 1 if any site failed, or
if any aborted with --strict.
"""
import os
import re
import subprocess
import sys
import tempfile

strict = "--strict" in sys.argv
argv = [a for a in sys.argv[1:] if a != "--strict"]
colossim, args = argv[0], argv[1:] or ["--iterations", "1"]
tmp = tempfile.mkdtemp(prefix="cx-fault-alloc-")
env = dict(os.environ, CX_ALLOC_REPORT="1")


def run(site):
    e = dict(env)
    if site:
        e["CX_ALLOC_FAIL_SITE"] = str(site)
    for f in os.listdir(tmp):
        os.remove(os.path.join(tmp, f))
    p = subprocess.run([colossim, "run", "--out", "t.h5", "--progress", "0", *args], cwd=tmp, env=e,
                       capture_output=True, text=True, timeout=120)
    return p


ref = run(0)
m = re.search(r"cx_alloc: (\d+) sites", ref.stderr)
if ref.returncode != 0 or not m:
    print("reference run failed or colossim is not a -DCX_FAULT_ALLOC=ON build\n" + ref.stderr[-2000:])
    sys.exit(2)
n = int(m.group(1))
bad, aborted = [], []
for k in range(1, n + 1):
    p = run(k)
    at = re.search(r"cx_alloc: failed site \d+ at (0x[0-9a-f]+)", p.stderr)
    where = "?"
    if at:
        a2l = subprocess.run(["addr2line", "-f", "-C", "-s", "-e", colossim, at.group(1)], capture_output=True, text=True)
        where = " ".join(a2l.stdout.split())
    errs = len(re.findall(r"error:", p.stderr))
    left = sorted(os.listdir(tmp))
    clean = "t.h5" not in left and "t.h5.partial" not in left and "Sanitizer" not in p.stderr
    ok = p.returncode == 0 or (0 < p.returncode < 64 and errs == 1 and clean)
    # An abort leaves NAME.partial (no rank runs clean-up), never the final name.
    abort = (p.returncode == 70 and re.search(r"fatal: \[rank \d+\] \S+:\d+: .*out of memory", p.stderr)
             and "t.h5" not in left and "Sanitizer" not in p.stderr)
    verdict = "ok   " if ok else ("abort" if abort else "FAIL ")
    last = (p.stderr.strip().splitlines() or [""])
    msg = next((l for l in last if "error:" in l or "fatal" in l or "Segmentation" in l), last[-1])[:110]
    print(f"{verdict} site {k:3d} {where:50s} exit {p.returncode:4d}  {msg}")
    if not ok and not abort:
        bad.append(k)
    elif abort:
        aborted.append(k)
print(f"{n} allocation sites: {n - len(bad) - len(aborted)} end with a message, {len(aborted)} abort every "
      f"rank with 'out of memory' and file:line, {len(bad)} fail")
sys.exit(1 if bad or (strict and aborted) else 0)
