#!/usr/bin/python3
"""slurm/grid.py and slurm/collect.py without Slurm (ctest slurm.grid_collect).

    grid_collect_test.py SOURCE_DIR WORKDIR

grid.py writes the cartesian product of its --vary values after --base, one
run per line, and prints the sbatch line with the right --array range (and
%N); bad grids are refused (exit 2, no file).  collect.py, on a sweep
directory laid out as sweep.sbatch leaves it (task-<i>/args.txt, exit_code,
summary.json), writes one param.NAME column per swept option right after
args, with each task's value, and the summary keys after; a failed task is
listed and makes it exit 1.
"""
import csv
import json
import os
import shlex
import shutil
import subprocess
import sys

SRC, WORK = sys.argv[1:3]
GRID = os.path.join(SRC, "slurm", "grid.py")
COLLECT = os.path.join(SRC, "slurm", "collect.py")


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def run(args, expect=0):
    p = subprocess.run(["/usr/bin/python3"] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       universal_newlines=True, cwd=WORK)
    if p.returncode != expect:
        fail("%s: exit %d (expected %d)\n%s\n%s" % (" ".join(args), p.returncode, expect, p.stdout, p.stderr))
    return p


if os.path.isdir(WORK):
    shutil.rmtree(WORK)
os.makedirs(WORK)
base = "--topology topologies/colossus1-mini.yaml --workload workloads/llama3-8b.yaml"
p = run([GRID, "--base", base, "--vary", "routing=ecmp,adaptive,spray", "--vary", "seed=1,2",
         "-o", "sweep.txt", "--max-concurrent", "4"])
if p.stdout.strip() != "sbatch --array=0-5%4 slurm/sweep.sbatch sweep.txt":
    fail("grid printed %r" % p.stdout)
lines = [l for l in open(os.path.join(WORK, "sweep.txt")).read().splitlines() if l and not l.startswith("#")]
want = ["%s --routing %s --seed %s" % (base, r, s) for r in ("ecmp", "adaptive", "spray") for s in ("1", "2")]
if lines != want:
    fail("sweep.txt:\n%s\nexpected\n%s" % ("\n".join(lines), "\n".join(want)))
for bad in (["--vary", "routing"], ["--vary", "seed=1,2", "--vary", "seed=3"], ["--vary", "seed=1,,2"],
            ["--base", "--seed 1", "--vary", "seed=1,2"], []):
    q = run([GRID] + bad + ["-o", "bad.txt"], expect=2)
    if "grid: error:" not in q.stderr or os.path.exists(os.path.join(WORK, "bad.txt")):
        fail("grid %r: %s" % (bad, q.stderr))
q = run([GRID, "--vary", "seed=1,2", "-o", os.path.join(WORK, "no-such-dir", "s.txt")], expect=2)
if "no-such-dir" not in q.stderr:
    fail("grid into a missing directory: " + q.stderr)

# A sweep directory as sweep.sbatch leaves it; task 4 failed (exit 3, no summary).
sweep = os.path.join(WORK, "runs", "sweep-77")
for i, line in enumerate(lines):
    d = os.path.join(sweep, "task-%d" % i)
    os.makedirs(d)
    open(os.path.join(d, "args.txt"), "w").write(line + "\n")
    open(os.path.join(d, "exit_code"), "w").write("3\n" if i == 4 else "0\n")
    if i != 4:
        json.dump({"mfu": 0.3 + i / 100, "power": {"mean_it_mw": 1.0 + i}}, open(os.path.join(d, "summary.json"), "w"))
p = run([COLLECT, sweep], expect=1)
rows = list(csv.DictReader(open(os.path.join(sweep, "summary.csv"))))
header = open(os.path.join(sweep, "summary.csv")).readline().strip().split(",")
if header[:6] != ["task", "args", "param.routing", "param.seed", "status", "exit_code"]:
    fail("collect header %r" % header)
for i, (r, line) in enumerate(zip(rows, lines)):
    words = shlex.split(line)
    if r["param.routing"] != words[words.index("--routing") + 1] or r["param.seed"] != words[words.index("--seed") + 1]:
        fail("task %d: params %r from %r" % (i, (r["param.routing"], r["param.seed"]), line))
    if i == 4 and (r["status"] != "exit 3" or r["mfu"] != ""):
        fail("failed task row %r" % r)
    if i != 4 and (r["status"] != "ok" or abs(float(r["mfu"]) - (0.3 + i / 100)) > 1e-12 or
                   float(r["power.mean_it_mw"]) != 1.0 + i):
        fail("task %d row %r" % (i, r))
if "task 4: exit 3" not in p.stderr or "2 swept: routing, seed" not in p.stderr:
    fail("collect stderr: " + p.stderr)
print(open(os.path.join(sweep, "summary.csv")).read())
print("PASS")
