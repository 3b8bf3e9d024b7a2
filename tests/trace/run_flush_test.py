#!/usr/bin/python3
"""Trace tables flushed while the run goes (the engine's end-of-window hook).

usage: run_flush_test.py MPIEXEC COLOSSIM COLOSSIM_ANALYZE WORKDIR
At 2 and 4 ranks, under both Open MPI MPI-IO back ends: a links-level run with
a small --trace-buffer (256K) appends to its tables many times during the run, and
its trace has the same digest as the same run written once at the end (and
as the 1-rank run).  Writes of more than ~4 MB of rows go in slices of whole
chunks: an ops-level run's 64 MB writes at 1, 2 and 4 ranks give the digest
of its 256K writes.
"""
import os
import subprocess
import sys

import h5py

mpiexec, colossim, analyze, work = sys.argv[1:5]
os.makedirs(work, exist_ok=True)
ok = True


def check(cond, what):
    global ok
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    ok &= bool(cond)


def run(np, io, buf, name, level=("links", "2")):
    out = os.path.join(work, name)
    cmd = [mpiexec, "--oversubscribe", "--mca", "io", io, "-np", str(np), colossim, "run",
           "--trace-level", level[0], "--iterations", level[1], "--progress", "0", "--out", out]
    if buf:
        cmd += ["--trace-buffer", buf]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    if p.returncode != 0:
        print(p.stdout, p.stderr)
    check(p.returncode == 0, f"np {np} {io} buffer {buf or 'default'} runs")
    d = subprocess.run([analyze, "digest", out], capture_output=True, text=True, timeout=120)
    with h5py.File(out, "r") as f:
        flushes = int(f["meta"].attrs["trace_flushes"])
    return d.stdout.split()[-1] if d.returncode == 0 else None, flushes


ref, ref_flushes = run(1, "ompio", None, "ref.h5")
check(ref is not None and ref_flushes == 0, f"1 rank, default buffer: written once at the end (digest {ref})")
for np in (2, 4):
    for io in ("ompio", "romio321"):
        dig, flushes = run(np, io, "256K", f"f{np}_{io}.h5")
        check(flushes > 5, f"np {np} {io}: 256K buffer appended {flushes} times during the run")
        check(dig == ref, f"np {np} {io}: digest {dig} equals the single-write run's {ref}")

# A write of more than ~4 MB of rows goes in slices of whole chunks (progress and stop
# points for a slow disk, issue 17): ops level, 10 iterations, the default 64 MB buffer
# (72 MB of rows: 17+ slices, ranks writing parts of their rows or none in each) against
# 256K writes (one slice each).
ops = ("ops", "10")
ref, _ = run(1, "ompio", "256K", "ops_ref.h5", ops)
check(ref is not None, f"ops, 1 rank, 256K writes: digest {ref}")
for np in (1, 2, 4):
    for io in (("ompio", "romio321") if np > 1 else ("ompio",)):
        dig, _ = run(np, io, None, f"ops{np}_{io}.h5", ops)
        check(dig == ref, f"ops, np {np} {io}, sliced 64 MB writes: digest {dig} equals {ref}")
sys.exit(0 if ok else 1)
