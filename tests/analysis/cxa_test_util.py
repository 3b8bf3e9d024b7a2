"""Helpers shared by the colossim-analyze tests (tests/analysis/*_test.py)."""
import os
import subprocess
import sys
import time


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def run(cmd, expect=0, **kw):
    """Run cmd; fail unless it exits with expect (None: any).  p.seconds = its wall time."""
    t0 = time.time()
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, **kw)
    p.seconds = time.time() - t0
    if expect is not None and p.returncode != expect:
        fail("%s: exit %d (expected %d)\nstdout:\n%s\nstderr:\n%s" %
             (" ".join(cmd), p.returncode, expect, p.stdout[-3000:], p.stderr[-3000:]))
    return p


def empty_dir(path):
    """Remove the files of directory path, if it exists (a previous run's PNGs)."""
    if os.path.isdir(path):
        for x in os.listdir(path):
            os.remove(os.path.join(path, x))


def main(cases, case, work):
    """Run test case `case` of the dict cases in directory work; PASS when it returns."""
    if case not in cases:
        fail("unknown case " + case)
    os.makedirs(work, exist_ok=True)
    cases[case]()
    print("PASS")
