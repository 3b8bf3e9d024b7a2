#!/usr/bin/python3
"""The run plan (--dry-run) follows the collective engine's choices.

usage: plan_coll.py COLOSSIM SRCDIR
cx_plan.c prices each collective with the algorithm and protocol the
engine's tuner picks (cx_coll_pick), the hierarchical all-reduce in its
pipelined chunks (cx_coll_hier_chunks) and the protocol's wire bytes.  On a
job whose DP all-reduces span 8 NVLink domains (tests/gpu/plan-dp64.yaml)
and on the embedded default, the estimated events must be within 3% of the
engine's count for every algorithm and protocol (before this, --algo hier
was estimated at 0.38 of its events, the tree at 0.80, LL at 0.955).
"""
import os
import re
import subprocess
import sys

colossim, src = sys.argv[1], sys.argv[2]
ok = True
TOL = 0.03


def run(*args):
    p = subprocess.run([colossim, "run", "--out", "", "--progress", "0", *args], capture_output=True, text=True,
                       timeout=600)
    if p.returncode != 0:
        print(p.stdout, p.stderr)
    return p.stdout


dp64 = ["--workload", os.path.join(src, "tests/gpu/plan-dp64.yaml")]
jobs = [dp64 + ["--algo", "hier"], dp64 + ["--algo", "tree"], dp64 + ["--algo", "ring", "--proto", "ll"],
        dp64 + ["--algo", "ring", "--proto", "ll128"], dp64, ["--proto", "ll"], ["--algo", "nvls"]]
for args in jobs:
    est = re.search(r"estimated events ([0-9.e+]+)", run("--dry-run", *args))
    got = re.search(r"engine: ranks \d+, events (\d+)", run(*args))
    name = " ".join(a if not a.endswith(".yaml") else os.path.basename(a) for a in args) or "default"
    if not est or not got:
        print("FAIL " + name + ": no event counts")
        ok = False
        continue
    r = float(est.group(1)) / float(got.group(1))
    good = abs(r - 1) <= TOL
    print(("ok   " if good else "FAIL ") + f"{name}: estimated {est.group(1)}, counted {got.group(1)} (ratio {r:.3f})")
    ok &= good
sys.exit(0 if ok else 1)
