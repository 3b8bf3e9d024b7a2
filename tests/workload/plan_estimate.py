#!/usr/bin/python3
"""The plan's event estimate against the engine's count.

usage: plan_estimate.py MPIEXEC COLOSSIM SRCDIR
For each job, `colossim run --dry-run` (the estimator: cx_plan.c walks one
GPU's program per pipeline stage and prices each op on the topology) and
the real run (the engine counts every event it commits) must agree within
+-30%; the printed ratio shows how close they are.  Jobs: the embedded
default (rings inside NVLink domains, DP rings on one leaf), small-1024
(DP rings over leaves, spines and cores), plan-moe.yaml (EP all-to-all with
PXN across domains and rails, DP all-reduce), and the default with NVLS
reduce-scatter / all-gather (--algo nvls).  The last one also runs at 2
ranks: the plan's per-rank range must bracket an even split.
"""
import os
import re
import subprocess
import sys
import tempfile

mpiexec, colossim, src = sys.argv[1], sys.argv[2], sys.argv[3]
tmp = tempfile.mkdtemp(prefix="cx-plan-")
ok = True
TOL = 0.30


def check(cond, what):
    global ok
    print(("ok   " if cond else "FAIL ") + what)
    ok &= bool(cond)


def run(np, *args):
    cmd = [mpiexec, "--oversubscribe", "-np", str(np), colossim, "run", "--out", "", "--progress", "0", *args]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=tmp)
    if p.returncode != 0:
        print(" ".join(cmd), p.stdout, p.stderr)
    return p


def number(pattern, text):
    m = re.search(pattern, text)
    return float(m.group(1)) if m else None


jobs = [
    ("embedded default", []),
    ("small-1024", ["--workload", os.path.join(src, "tests/analysis/small-1024.yaml")]),
    ("plan-moe (all-to-all, PXN)", ["--workload", os.path.join(src, "tests/workload/plan-moe.yaml")]),
    ("default, NVLS", ["--algo", "nvls"]),
]
for name, args in jobs:
    plan = run(1, "--dry-run", *args)
    real = run(1, *args)
    est = number(r"estimated events ([0-9.e+]+)", plan.stdout)
    got = number(r"engine: ranks \d+, events (\d+)", real.stdout)
    check(est is not None and got is not None and got > 0, f"{name}: plan and run print their event counts")
    if est is not None and got:
        check(abs(est / got - 1) <= TOL, f"{name}: estimated {est:.4g} events, counted {got:.0f} "
                                         f"(ratio {est / got:.3f})")

# Two ranks: the total is the same, and the plan splits it over the ranks.
plan = run(2, "--dry-run", "--algo", "nvls")
m = re.search(r"estimated events ([0-9.e+]+) \(per rank ([0-9.e+]+) \.\. ([0-9.e+]+)\)", plan.stdout)
real = run(2, "--algo", "nvls")
got = number(r"engine: ranks 2, events (\d+)", real.stdout)
check(m is not None and got is not None, "2 ranks: the plan prints a per-rank range, the run its count")
if m and got:
    total, lo, hi = (float(m.group(i)) for i in (1, 2, 3))
    check(abs(total / got - 1) <= TOL, f"2 ranks: estimated {total:.4g} events, counted {got:.0f}")
    check(lo <= total / 2 <= hi and abs((lo + hi) / total - 1) <= 0.01,
          f"2 ranks: per-rank {lo:.4g} .. {hi:.4g} splits the total")
sys.exit(0 if ok else 1)
