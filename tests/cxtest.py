"""What the Python tests of colossim share: running a command and checking
its exit status, stopping at the first failure (fail) or listing ok / FAIL
checks and exiting with their verdict (check, done), the test cases of a
script (main), writing an input file, and running `colossim run` (under
mpiexec, for its summary JSON).

A test script imports it by path, from tests/<dir>/x_test.py:

    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    import cxtest
    from cxtest import check
"""
import json
import os
import subprocess
import sys
import time

failures = []


def fail(msg):
    """Stop the test here: 'FAIL: MSG', exit 1."""
    print("FAIL: " + msg)
    sys.exit(1)


def check(cond, what):
    """One checked property: 'ok   WHAT' or 'FAIL WHAT'; a failure is kept for done()."""
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


def done():
    """End of the test: PASS and exit 0, or the count of failed checks and exit 1."""
    print("PASS" if not failures else "%d check(s) FAILED" % len(failures))
    sys.exit(1 if failures else 0)


def main(cases, case, work):
    """Run test case `case` of the dict cases in directory work; PASS when it returns."""
    if case not in cases:
        fail("unknown case " + case)
    os.makedirs(work, exist_ok=True)
    cases[case]()
    print("PASS")


def run(cmd, expect=0, merge=False, **kw):
    """Run cmd (a list; keywords to subprocess.run: timeout, cwd ...): the
    finished process with text stdout and stderr (merge: stderr into stdout)
    and p.seconds, its wall time.  Unless it exits with expect (None: any),
    the test fails naming the command and showing its output."""
    t0 = time.time()
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT if merge else subprocess.PIPE,
                       universal_newlines=True, **kw)
    p.seconds = time.time() - t0
    if expect is not None and p.returncode != expect:
        fail("%s: exit %d (expected %d)\nstdout:\n%s\nstderr:\n%s" %
             (" ".join(cmd), p.returncode, expect, p.stdout[-3000:], (p.stderr or "")[-3000:]))
    return p


def empty_dir(path):
    """Remove the files of directory path, if it exists (a previous run's PNGs)."""
    if os.path.isdir(path):
        for x in os.listdir(path):
            os.remove(os.path.join(path, x))


def write(path, text):
    """Write text to path (a new input file); returns path."""
    with open(path, "w") as fh:
        fh.write(text)
    return path


def remove(*paths):
    """Remove what a previous run of the test left at these paths ("" and absent ones skipped)."""
    for p in paths:
        if p and os.path.exists(p):
            os.remove(p)


def colossim_run(colossim, args, ranks=1, mpiexec=None, **kw):
    """`colossim run ARGS`, under `MPIEXEC --oversubscribe -np RANKS` when
    mpiexec is given (else as a singleton); run()'s keywords."""
    pre = [mpiexec, "--oversubscribe", "-np", str(ranks)] if mpiexec else []
    return run(pre + [colossim, "run"] + list(args), **kw)


def colossim_summary(colossim, args, js, ranks=1, mpiexec=None, **kw):
    """colossim_run with --summary-json JS (a stale JS removed first): the
    summary as a dict (None when the run failed and expect=None), and the process."""
    remove(js)
    p = colossim_run(colossim, list(args) + ["--summary-json", js], ranks, mpiexec, **kw)
    if p.returncode != 0:
        return None, p
    with open(js) as fh:
        return json.load(fh), p
