"""What the Python tests of colossim share: the list of ok / FAIL checks and
the exit status it gives, writing an input file, and running `colossim run`
(under mpiexec, for its summary JSON).

A test script imports it by path, from tests/<dir>/x_test.py:

    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    import cxtest
    from cxtest import check
"""
import json
import os
import subprocess
import sys

failures = []


def check(cond, what):
    """One checked property: 'ok   WHAT' or 'FAIL WHAT'; a failure is kept for done()."""
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


def done():
    """End of the test: PASS and exit 0, or the count of failed checks and exit 1."""
    print("PASS" if not failures else "%d check(s) FAILED" % len(failures))
    sys.exit(1 if failures else 0)


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


def run(cmd, ok=True, merge=False, timeout=None, cwd=None):
    """Run cmd (a list); the finished process with text stdout and stderr
    (merge: stderr into stdout).  ok: a non-zero exit ends the test, naming
    the command and showing its output."""
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT if merge else subprocess.PIPE,
                       text=True, timeout=timeout, cwd=cwd)
    if ok and p.returncode != 0:
        print(p.stdout + (p.stderr or ""))
        raise SystemExit("FAIL %s exited %d" % (" ".join(cmd), p.returncode))
    return p


def colossim_run(colossim, args, ranks=1, mpiexec=None, **kw):
    """`colossim run ARGS`, under `MPIEXEC --oversubscribe -np RANKS` when
    mpiexec is given (else as a singleton); run()'s keywords."""
    pre = [mpiexec, "--oversubscribe", "-np", str(ranks)] if mpiexec else []
    return run(pre + [colossim, "run"] + list(args), **kw)


def colossim_summary(colossim, args, js, ranks=1, mpiexec=None, **kw):
    """colossim_run with --summary-json JS (a stale JS removed first): the
    summary as a dict (None when the run failed and ok=False), and the process."""
    remove(js)
    p = colossim_run(colossim, list(args) + ["--summary-json", js], ranks, mpiexec, **kw)
    if p.returncode != 0:
        return None, p
    with open(js) as fh:
        return json.load(fh), p
