#!/usr/bin/python3
"""Overlap options of the generator, on the default job (TP 8 with sequence
parallelism, PP 2, DP 4, ZeRO-1).

parallelism.tp_comm_overlap: a TP collective and its GEMM cut into k pieces
and pipelined (Megatron's tp-comm-overlap): the same model FLOPs, less
exposed communication and a shorter iteration than without; identical
digests at 1 and 2 ranks; k pieces add 3(k-1) ops per pipelined GEMM; 0
gives the job without the key; bad values are refused naming the file, line
and field.

parallelism.overlap_param_gather: ZeRO-1's parameter all-gather at the start
of the iteration in buckets, each waited for by the forward's first use: the
same all-gathered bytes, a shorter (never longer) iteration, one iteration
as long as the steady state of three, identical at 1 and 2 ranks.

parallelism.zero_bubble: each backward GEMM split into its input-gradient and
weight-gradient halves, the weight gradients after the stage's PP send: the
same FLOPs in the ops (each GEMM's backward now two ops), a smaller pipeline
bubble and a shorter iteration, identical at 1 and 2 ranks.
usage: overlap_test.py MPIEXEC COLOSSIM SOURCE_DIR WORK_DIR"""
import os, re, sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import cxtest
from cxtest import check

MPIEXEC, COLOSSIM, SRC, WORK = sys.argv[1:5]
os.makedirs(WORK, exist_ok=True)


def prefix(key):
    return {"tp_comm_overlap": "k", "overlap_param_gather": "ag_", "zero_bubble": "zb_"}[key]


def workload(k, key="tp_comm_overlap"):
    text = open(os.path.join(SRC, "workloads", "small.yaml")).read()
    if k is not None:
        text = text.replace("  zero_stage: 1\n", "  zero_stage: 1\n  %s: %s\n" % (key, k))
        assert key in text
    path = os.path.join(WORK, "small_%s%s.yaml" % (prefix(key), k))
    with open(path, "w") as fh:
        fh.write(text)
    return path


def run(k, np=1, key="tp_comm_overlap", iters=1, ops=False):
    tag = "%s%s_np%d_it%d" % (prefix(key), k, np, iters)
    out = os.path.join(WORK, tag + ".h5")
    cxtest.remove(out)
    r, _ = cxtest.colossim_summary(COLOSSIM, ["--workload", workload(k, key), "--iterations", str(iters), "--out", out,
                                              "--progress", "0"] + (["--trace-level", "ops"] if ops else []),
                                   os.path.join(WORK, tag + ".json"), np, MPIEXEC, timeout=600)
    r["trace"] = out
    return r


def ops_per_gpu(k):
    p = cxtest.colossim_run(COLOSSIM, ["--workload", workload(k), "--dry-run"], expect=None, timeout=120)
    m = re.search(r"ops per GPU (\d+)", p.stdout)
    if p.returncode != 0 or m is None:
        sys.exit("dry run failed: " + p.stdout + p.stderr)
    return int(m.group(1))


base, off, k4, k4b = run(None), run(0), run(4), run(4, 2)
check(off["digest"] == base["digest"], "tp_comm_overlap 0 is the job without it (digest %s)" % base["digest"])
check(k4["model_flops_per_iteration"] == base["model_flops_per_iteration"],
      "same model FLOPs per iteration (%.4g)" % base["model_flops_per_iteration"])
check(k4["exposed_comm_share"] < 0.8 * base["exposed_comm_share"],
      "exposed communication %.1f%% -> %.1f%% of the iteration" %
      (100 * base["exposed_comm_share"], 100 * k4["exposed_comm_share"]))
check(k4["iteration_seconds"] < base["iteration_seconds"],
      "iteration %.4f s -> %.4f s, MFU %.1f%% -> %.1f%%" %
      (base["iteration_seconds"], k4["iteration_seconds"], 100 * base["mfu"], 100 * k4["mfu"]))
# Overlap hides communication; it cannot make the GEMMs faster than their
# own time: the iteration stays above its compute (and bubble) share.
check(k4["iteration_seconds"] * (1.0 - k4["exposed_comm_share"]) >=
      0.95 * base["iteration_seconds"] * (1.0 - base["exposed_comm_share"]),
      "compute and bubble time not shortened by more than the extra kernels' tails")
check(k4b["digest"] == k4["digest"] and k4b["iteration_seconds"] == k4["iteration_seconds"],
      "identical at 1 and 2 ranks (digest %s)" % k4["digest"])

# Ops: per layer and microbatch, forward and backward, 4 TP collectives each
# with its GEMM: 1 GEMM + 3 collective ops -> 3k + 1 ops, so 3(k - 1) more.
n0, n2, n4 = ops_per_gpu(None), ops_per_gpu(2), ops_per_gpu(4)
check(n4 > n2 > n0 and (n4 - n0) == 3 * (n2 - n0),
      "ops per GPU %d -> %d (k 2) -> %d (k 4): 3(k - 1) more per pipelined GEMM" % (n0, n2, n4))

for bad, field in (("17", "outside"), ("-1", "outside"), ("yes", "")):
    p = cxtest.colossim_run(COLOSSIM, ["--workload", workload(bad), "--dry-run"], expect=None, timeout=60)
    msg = (p.stdout + p.stderr).strip()
    check(p.returncode != 0 and re.search(r"small_k%s\.yaml:\d+: 'parallelism\.tp_comm_overlap'" % re.escape(bad), msg)
          is not None, "tp_comm_overlap %s refused: %s" % (bad, msg.splitlines()[-1] if msg else "(nothing)"))


# overlap_param_gather
def param_ag_bytes(path):
    import h5py
    with h5py.File(path, "r") as f:
        t = f["/ops/gpu_ops"][...]
    blocks = open(os.path.join(SRC, "src", "gpu", "cx_op.c")).read()
    names = re.search(r"block_names\[\] = \{(.*?)\};", blocks, re.S).group(1)
    names = re.findall(r'"([^"]*)"', names)
    sel = (t["kind"] == 3) & (t["block"] == names.index("dp_param"))
    return int(t["bytes"][sel].sum()), int(sel.sum())


a0, a1 = run(None, ops=True), run("true", key="overlap_param_gather", ops=True)
a1b = run("true", np=2, key="overlap_param_gather")
a3 = run("true", key="overlap_param_gather", iters=3)
b0, n0 = param_ag_bytes(a0["trace"])
b1, n1 = param_ag_bytes(a1["trace"])
check(b1 == b0 and n1 > n0, "overlap_param_gather: the same %d all-gathered bytes in %d collectives instead of %d"
      % (b0, n1, n0))
check(a1["model_flops_per_iteration"] == a0["model_flops_per_iteration"], "overlap_param_gather: same model FLOPs")
check(a1["iteration_seconds"] <= a0["iteration_seconds"],
      "overlap_param_gather: iteration %.4f s -> %.4f s" % (a0["iteration_seconds"], a1["iteration_seconds"]))
check(a1b["digest"] == a1["digest"], "overlap_param_gather: identical at 1 and 2 ranks (digest %s)" % a1["digest"])
check(abs(a3["iteration_seconds"] - a1["iteration_seconds"]) <= 1e-3 * a1["iteration_seconds"],
      "overlap_param_gather: one iteration %.5f s = steady state of three %.5f s (the gather opens each iteration)"
      % (a1["iteration_seconds"], a3["iteration_seconds"]))

# zero_bubble
def gemm_ops(path):
    import h5py
    with h5py.File(path, "r") as f:
        t = f["/ops/gpu_ops"][...]
    sel = (t["kind"] == 0) & (t["cls"] == 0)
    return float(t["flops"][sel].sum()), int(sel.sum())


z1, z1b = run("true", key="zero_bubble", ops=True), run("true", np=2, key="zero_bubble")
f0, g0 = gemm_ops(a0["trace"])
f1, g1 = gemm_ops(z1["trace"])
check(abs(f1 - f0) <= 1e-9 * f0 and g1 > g0,
      "zero_bubble: the same %.4g GEMM FLOPs in %d GEMM ops instead of %d" % (f0, g1, g0))
check(z1["bubble_share"] < a0["bubble_share"] and z1["iteration_seconds"] < a0["iteration_seconds"],
      "zero_bubble: bubble %.1f%% -> %.1f%%, iteration %.4f s -> %.4f s" %
      (100 * a0["bubble_share"], 100 * z1["bubble_share"], a0["iteration_seconds"], z1["iteration_seconds"]))
check(z1b["digest"] == z1["digest"], "zero_bubble: identical at 1 and 2 ranks (digest %s)" % z1["digest"])

cxtest.done()
