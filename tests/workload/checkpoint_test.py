#!/usr/bin/python3
"""Checkpoint ops in the workload (checkpoint: section): what a checkpoint
costs the iteration in the detailed run, sync and async, and bad sections.

usage: checkpoint_test.py COLOSSIM SOURCE_DIR WORKDIR
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import cxtest
from cxtest import check

BIN, SRC, WORK = sys.argv[1:4]
os.makedirs(WORK, exist_ok=True)
os.chdir(WORK)

small = open(SRC + "/workloads/small.yaml").read()


def job(name, extra):
    return cxtest.write(name, small + extra)


def run(wl, tag):
    return cxtest.colossim_summary(BIN, ["--workload", wl, "--iterations", "3", "--out", "", "--progress", "0",
                                         "--power-bin", "0"], tag + ".json")[0]


base = run(SRC + "/workloads/small.yaml", "base")
# Sync every iteration at a storage bandwidth low enough to be the limit:
# each of the 64 GPUs writes params x 14 / 64 at 640 GB/s / 64 = 10 GB/s.
s = run(job("sync.yaml", "checkpoint:\n  every: 1\n  mode: sync\n  storage_bandwidth: 640GB/s\n"), "sync")
a = run(job("async.yaml", "checkpoint:\n  every: 1\n  mode: async\n  storage_bandwidth: 640GB/s\n"
            "  host_copy_bandwidth: 40GB/s\n"), "async")
e = run(job("every3.yaml", "checkpoint:\n  every: 3\n  mode: sync\n  storage_bandwidth: 640GB/s\n"), "every3")
# The model's parameters, from the campaign's reading of the same workload.
c = cxtest.run([BIN, "campaign", "--workload", "sync.yaml", "--iteration-seconds", "1", "--seeds", "1",
                "--sweep", "none", "--format", "json"], expect=None)
ckpt_bytes = json.loads(c.stdout)["checkpoint_bytes"]
want_sync = ckpt_bytes / 640e9          # every GPU at its 1/64 share, in parallel
want_async = ckpt_bytes / 64 / 40e9     # the copy to host memory only
ds = s["iteration_seconds"] - base["iteration_seconds"]
da = a["iteration_seconds"] - base["iteration_seconds"]
check(abs(ds - want_sync) < 1e-5 + 0.01 * want_sync,
      "sync checkpoint every iteration: +%.4f s per iteration (%.3g B at 640 GB/s = %.4f s)" % (ds, ckpt_bytes,
                                                                                               want_sync))
check(abs(da - want_async) < 1e-5 + 0.01 * want_async and da < ds,
      "async: +%.4f s (the host copy, %.4f s)" % (da, want_async))
# Every 3rd iteration: only the last of 3 pays; steady state = (it2 + it3) / 2 over the base.
de = e["iteration_seconds"] - base["iteration_seconds"]
check(abs(de - want_sync / 2) < 1e-5 + 0.01 * want_sync, "every 3: +%.4f s averaged over iterations 2-3" % de)
for bad, field in (("checkpoint:\n  every: 0\n", "every"), ("checkpoint:\n  mode: lazy\n", "mode"),
                   ("checkpoint:\n  storage_bandwidth: -1GB/s\n", "storage_bandwidth"),
                   ("checkpoint:\n  often: 2\n", "often")):
    name = job("bad.yaml", bad)
    p = cxtest.colossim_run(BIN, ["--workload", name, "--out", "", "--progress", "0"], expect=None)
    check(p.returncode == 2 and "bad.yaml:" in p.stderr and field in p.stderr, "%r refused: %s" % (
        bad.strip(), p.stderr.strip()))
cxtest.done()
