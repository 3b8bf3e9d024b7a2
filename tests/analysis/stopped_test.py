#!/usr/bin/python3
"""A run stopped by SIGTERM reports only the iterations that finished (ctest).

    stopped_test.py MPIEXEC COLOSSIM ANALYZE WORKDIR TOPOLOGY WORKLOAD CASE

The job is small-1024 on colossus1-mini, 3 iterations of about 0.2 s of
simulated time each (about 1 s of wall time each here); the test reads the
progress lines and sends SIGTERM at a chosen simulated time.

CASE:
  before1   stopped before iteration 1 finished (1 rank): exit 3; the
            summary says "stopped before iteration 1 finished" and prints no
            iteration time, tokens/s or MFU (no zeros); --summary-json has
            "stopped": true, "iterations": 0 and null figures; the trace's
            /meta/complete is 0 and colossim-analyze summary says the same
            (null in JSON, empty in CSV)
  after1    stopped (SIGUSR1 through mpirun) after iteration 1 finished, at 2 ranks: "1 of 3
            iteration(s) finished"; the run's figures (shares included) are
            those of the finished iteration, equal to what colossim-analyze
            recomputes from the trace
"""
import json
import os
import re
import signal
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from cxtest import fail, run

MPIEXEC, COLOSSIM, ANALYZE, WORK, TOPO, WL, CASE = sys.argv[1:8]
FIGS = ("iteration_seconds", "tokens_per_second", "tflops_per_gpu", "mfu", "compute_share",
        "exposed_comm_share", "bubble_share", "first_iteration_seconds")


def stopped_run(name, np_, stop_after_sim_s):
    """Run the job, SIGTERM it once a progress line shows stop_after_sim_s of simulated time."""
    os.makedirs(WORK, exist_ok=True)
    out, js = os.path.join(WORK, name + ".h5"), os.path.join(WORK, name + ".json")
    for p in (out, out + ".partial", js):
        if os.path.exists(p):
            os.remove(p)
    cmd = [COLOSSIM, "run", "--topology", TOPO, "--workload", WL, "--iterations", "3", "--out", out,
           "--summary-json", js, "--progress", "0.05"]
    if np_ > 1:
        cmd = [MPIEXEC, "--oversubscribe", "-np", str(np_)] + cmd
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
    err = []
    for line in proc.stderr:
        err.append(line)
        m = re.search(r"sim ([0-9.]+) s", line)
        if m and float(m.group(1)) >= stop_after_sim_s:
            # mpirun forwards SIGUSR1 to every rank (a SIGTERM would make
            # mpirun itself exit 1); colossim stops the same way on both.
            proc.send_signal(signal.SIGTERM if np_ == 1 else signal.SIGUSR1)
            break
    so, se = proc.communicate(timeout=300)
    err.append(se)
    if proc.returncode != 3:
        fail("%s: exit %d (expected 3: stopped)\n%s\n%s" % (name, proc.returncode, so, "".join(err)))
    return out, js, so, "".join(err)


def case_before1():
    out, js, so, se = stopped_run("stopped-before1", 1, 0.01)
    head = so.splitlines()[0]
    if "stopped before iteration 1 finished (of 3)" not in head:
        fail("header does not say no iteration finished:\n" + so + se)
    # The figures only: the engine's lines carry wall-time shares ("sync 0.0% of wall").
    figs = "\n".join(l for l in so.splitlines() if not l.startswith("engine:"))
    for bad in ("iteration time", "tokens/s", "MFU", "TFLOPs/GPU", "0.0%"):
        if bad in figs:
            fail("a run stopped before iteration 1 printed %r:\n%s" % (bad, so))
    j = json.load(open(js))
    if j["stopped"] is not True or j["complete"] is not False or j["iterations"] != 0 or j["iterations_requested"] != 3:
        fail("summary JSON not marked stopped: %r" % j)
    for k in FIGS:
        if j[k] is not None:
            fail("summary JSON %s = %r, expected null" % (k, j[k]))
    import h5py
    with h5py.File(out, "r") as f:
        if int(f["meta"].attrs["complete"]) != 0 or int(f["meta"].attrs["iterations"]) != 0:
            fail("trace /meta not marked stopped")
    r = run([ANALYZE, "summary", out])
    if "stopped before iteration 1 finished" not in r.stdout or "MFU" in r.stdout:
        fail("colossim-analyze summary:\n" + r.stdout)
    a = json.loads(run([ANALYZE, "summary", out, "--format", "json"]).stdout)
    if a["iterations"] != 0 or a["mfu"] is not None:
        fail("colossim-analyze summary JSON: %r" % a)
    csv = run([ANALYZE, "summary", out, "--format", "csv"]).stdout.splitlines()
    row = dict(zip(csv[0].split(","), csv[1].split(",")))
    if row["mfu"] != "" or row["iterations"] != "0":
        fail("CSV: %r" % row)
    print(head)
    print("progress:", [l for l in se.splitlines() if l.startswith("[")][-1:])
    print("PASS")


def case_after1():
    # Iterations of small-1024 end at 0.210, 0.420 and 0.630 s simulated:
    # stop half-way through the second (0.21 was within 0.2 ms of the
    # first's end, so a quiet machine could stop just before it).
    out, js, so, se = stopped_run("stopped-after1", 2, 0.31)
    head = so.splitlines()[0]
    if "1 of 3 iteration(s) finished" not in head or "INCOMPLETE" not in head:
        fail("header does not say 1 of 3 iterations finished:\n" + so + se)
    j = json.load(open(js))
    a = json.loads(run([ANALYZE, "summary", out, "--format", "json"]).stdout)
    if j["iterations"] != 1 or a["iterations"] != 1 or j["stopped"] is not True:
        fail("iterations: run %r, analyze %r" % (j["iterations"], a["iterations"]))
    for k in FIGS:
        if abs(j[k] - a[k]) > 1e-9 * max(1.0, abs(a[k])):
            fail("%s: run %r != recomputed %r (the run must report the finished iteration only)" % (k, j[k], a[k]))
    print(head)
    print("run and trace agree: MFU %.4f, compute share %.4f" % (j["mfu"], j["compute_share"]))
    print("PASS")


{"before1": case_before1, "after1": case_after1}[CASE]()
