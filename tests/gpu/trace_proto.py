#!/usr/bin/python3
"""The collectives table's proto column (issue 14 item 3).

usage: trace_proto.py MPIEXEC COLOSSIM ANALYZE
The embedded default job with --proto ll128 writes 2 (ll128) in every row
but NVLS ones (3, simple: NVLS runs Simple only); with auto (the default),
values of 1..3 only, the same rows at 1 and 2 ranks, and colossim-analyze
collectives shows each group's protocol by its label.
"""
import json
import os
import subprocess
import sys
import tempfile

import h5py
import numpy

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import cxtest  # noqa: E402
from cxtest import check  # noqa: E402

mpiexec, colossim, analyze = sys.argv[1], sys.argv[2], sys.argv[3]
tmp = tempfile.mkdtemp(prefix="cx-proto-")


def run(np, name, *args):
    out = os.path.join(tmp, name)
    subprocess.run([mpiexec, "--oversubscribe", "-np", str(np), colossim, "run", "--progress", "0", "--out", out,
                    *args], check=True, capture_output=True, timeout=600)
    with h5py.File(out, "r") as f:
        t = f["/summary/collectives"][:]
    return out, t[numpy.lexsort((t["group_base"], t["tag"]))]


_, ll128 = run(1, "ll128.h5", "--proto", "ll128")
want = numpy.where(ll128["algo"] == 3, 3, 2)
check("proto" in ll128.dtype.names and (ll128["proto"] == want).all(),
      "--proto ll128: every row 2 (ll128), NVLS rows 3 (simple)")
_, ll = run(1, "ll.h5", "--proto", "ll")
check((ll["proto"] == numpy.where(ll["algo"] == 3, 3, 1)).all(), "--proto ll: every row 1 (ll), NVLS rows 3")
path, a1 = run(1, "auto1.h5")
_, a2 = run(2, "auto2.h5")
check(len(a1) > 0 and set(numpy.unique(a1["proto"])) <= {1, 2, 3}, "auto: protocols 1..3 only")
check(len(a1) == len(a2) and (a1["proto"] == a2["proto"]).all() and (a1["end_ps"] == a2["end_ps"]).all(),
      "auto: the same rows at 1 and 2 ranks")
j = json.loads(subprocess.run([analyze, "collectives", path, "--format", "json"], check=True, capture_output=True,
                              text=True).stdout)
labels = {1: "ll", 2: "ll128", 3: "simple"}
got = sorted((g["kind"], g["algo"], g["proto"], g["count"]) for g in j["groups"])
names = {0: "allreduce", 1: "reducescatter", 2: "allgather", 3: "alltoall", 4: "broadcast", 5: "reduce"}
algos = {1: "ring", 2: "tree", 3: "nvls", 4: "pairwise", 5: "hier", 6: "direct"}
want = {}
for r in a1:
    k = (names[int(r["kind"])], algos[int(r["algo"])], labels[int(r["proto"])])
    want[k] = want.get(k, 0) + 1
check(got == sorted(k + (n,) for k, n in want.items()), f"analyze collectives groups by protocol: {got}")
cxtest.done()
