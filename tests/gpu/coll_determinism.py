#!/usr/bin/python3
"""bench collective: every algorithm of the table (the --algo choices, read
from --help) on the collectives it covers gives the same per-size digests,
times and algorithm at 1, 2 and 4 MPI ranks; the algorithm asked is the one
that ran where it covers the collective.
usage: coll_determinism.py MPIEXEC COLOSSIM"""
import json
import re
import subprocess
import sys

mpiexec, colossim = sys.argv[1], sys.argv[2]

helptext = subprocess.run([colossim, "bench", "collective", "--help"], check=True, capture_output=True,
                          text=True).stdout
algos = re.search(r"--algo ([a-z|]+)", helptext).group(1).split("|")
assert algos[0] == "auto" and "ring" in algos, algos

# Which collectives each algorithm runs (the rest fall back to rings).
COVERS = {"auto": ["allreduce", "alltoall"], "ring": ["allreduce", "reducescatter", "allgather", "broadcast", "reduce"],
          "tree": ["allreduce"], "nvls": ["allreduce", "reducescatter", "allgather"], "hier": ["allreduce"],
          "direct": ["allgather", "broadcast"]}


def run(np, *args, sizes=("--min-bytes", "64K", "--max-bytes", "4M", "--step-factor", "8")):
    cmd = [mpiexec, "--oversubscribe", "-np", str(np), colossim, "bench", "collective", "--format", "json",
           *sizes, *args]
    return json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=600).stdout)


ok = True
for algo in algos:
    if algo not in COVERS:
        print(f"{algo}: not in this test's COVERS table: add it")
        ok = False
        continue
    for op in COVERS[algo]:
        gpus = "8" if algo == "nvls" else "64"
        runs = [run(np, "--op", op, "--algo", algo, "--gpus", gpus) for np in (1, 2, 4)]
        rows = [[(r["bytes"], r["digest"], r["time_us"], r["algo"], r["events"]) for r in x["rows"]] for x in runs]
        same = rows[0] == rows[1] == rows[2] and [x["ranks"] for x in runs] == [1, 2, 4]
        used = {r[3] for r in rows[0]}
        asked = algo == "auto" or used == {algo}
        print(f"{algo:7} {op:14} {gpus:>3} GPUs: ran {sorted(used)} digests {[r[1] for r in rows[0]]} "
              f"{'same' if same else 'DIFFER'} at 1/2/4 ranks")
        ok &= same and asked
# The pipelined hierarchical all-reduce (lanes over chunks) and each
# protocol forced.
for args, sizes in ((("--algo", "hier"), ("--min-bytes", "64M", "--max-bytes", "256M", "--step-factor", "4")),
                    (("--algo", "tree"), ("--min-bytes", "64M", "--max-bytes", "256M", "--step-factor", "4")),
                    (("--proto", "ll"), ("--min-bytes", "1K", "--max-bytes", "1M", "--step-factor", "32")),
                    (("--proto", "ll128"), ("--min-bytes", "1K", "--max-bytes", "1M", "--step-factor", "32")),
                    (("--proto", "simple"), ("--min-bytes", "1K", "--max-bytes", "1M", "--step-factor", "32"))):
    runs = [run(np, "--gpus", "64", *args, sizes=sizes) for np in (1, 2, 4)]
    rows = [[(r["bytes"], r["digest"], r["time_us"], r["algo"], r["proto"]) for r in x["rows"]] for x in runs]
    same = rows[0] == rows[1] == rows[2]
    print(f"{' '.join(args):15} 64 GPUs: {[(r[3], r[4]) for r in rows[0]]} digests {[r[1] for r in rows[0]]} "
          f"{'same' if same else 'DIFFER'} at 1/2/4 ranks")
    ok &= same
# auto's picks by the model's estimate (src/gpu/cx_coll_tune.c): the same at
# 1, 2 and 4 ranks, and the algorithm the estimate names: hier at 64 GPUs
# from 1 GiB, the ring then NVLS (its 23 us latency paid off) in one domain.
for gpus, sizes, want in (("64", ("--min-bytes", "1G", "--max-bytes", "2G"), ["hier", "hier"]),
                          ("8", ("--min-bytes", "4M", "--max-bytes", "16M", "--step-factor", "4"), ["ring", "nvls"])):
    runs = [run(np, "--gpus", gpus, sizes=sizes) for np in (1, 2, 4)]
    rows = [[(r["bytes"], r["digest"], r["time_us"], r["algo"], r["proto"]) for r in x["rows"]] for x in runs]
    same = rows[0] == rows[1] == rows[2]
    picked = [r[3] for r in rows[0]]
    print(f"auto {gpus:>2} GPUs: {picked} (want {want}) digests {[r[1] for r in rows[0]]} "
          f"{'same' if same else 'DIFFER'} at 1/2/4 ranks")
    ok &= same and picked == want
sys.exit(0 if ok else 1)
