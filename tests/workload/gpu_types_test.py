#!/usr/bin/python3
"""Compute efficiencies per GPU type in a run (issue 14 item 5).

The default job (workloads/small.yaml) on the H100 slice (colossus1-mini) and
on the DGX A100 cluster (dgx-a100-4k):
  - every GEMM kernel takes 2 us + max(FLOPs / (peak x GEMM share), bytes /
    (HBM x 0.85)) with the GPU type's own figures: 989 TF x 0.61 on H100,
    312 TF x 0.65 on A100 (the catalog's override), so the job's GEMM time
    without launch overheads is in the ratio (989 x 0.61) / (312 x 0.65);
  - the A100 run gives the same digest at 1, 2 and 4 ranks;
  - the H100 run is untouched by A100 overrides (a catalog whose A100 GEMM
    share is halved gives the H100 job the same digest, and the A100 job a
    longer iteration), and an H100 override equal to the defaults changes
    nothing;
  - a bad override (gemm_bf16: 1.5) stops `colossim run` before any work
    with one FILE:LINE: 'field' message and no trace.
usage: gpu_types_test.py MPIEXEC COLOSSIM SOURCE_DIR WORK_DIR"""
import os, re, shutil, sys

import h5py
import numpy

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import cxtest
from cxtest import check

MPIEXEC, COLOSSIM, SRC, WORK = sys.argv[1:5]
os.makedirs(WORK, exist_ok=True)


def catalog_dir(tag, edit=None):
    """A copy of topologies/ (hardware.yaml edited by `edit`) under WORK/tag."""
    d = os.path.join(WORK, tag)
    os.makedirs(d, exist_ok=True)
    for f in ("colossus1-mini.yaml", "dgx-a100-4k.yaml"):
        shutil.copy(os.path.join(SRC, "topologies", f), d)
    text = open(os.path.join(SRC, "topologies", "hardware.yaml")).read()
    if edit is not None:
        new = edit(text)
        assert new != text, tag
        text = new
    with open(os.path.join(d, "hardware.yaml"), "w") as fh:
        fh.write(text)
    return d


def run(topo_dir, topo, tag, np=1, ops=False):
    out = os.path.join(WORK, tag + ".h5") if ops else ""
    cxtest.remove(out)
    s, _ = cxtest.colossim_summary(COLOSSIM, ["--topology", os.path.join(topo_dir, topo), "--out", out, "--progress", "0"]
                                   + (["--trace-level", "ops"] if ops else []), os.path.join(WORK, tag + ".json"),
                                   np, MPIEXEC)
    return s, out


def gemm_check(h5, peak, share, hbm, what):
    """Every GEMM op's duration against the roofline; the summed FLOP term."""
    with h5py.File(h5, "r") as f:
        d = f["/ops/gpu_ops"][...]
    g = d[(d["kind"] == 0) & (d["cls"] == 0) & (d["stream"] == 0)]
    dur = (g["end_ps"] - g["start_ps"]).astype(float)
    want = 2e6 + numpy.maximum(g["flops"] / (peak * share), g["bytes"] / (hbm * 0.85)) * 1e12
    worst = max(abs(dur - want)) if len(g) else -1
    check(len(g) > 1000 and worst <= 1.0,
          "%s: %d GEMM kernels, each 2 us + max(FLOPs / (%.0f TF x %.2f), bytes / HBM) (worst %.1f ps off)"
          % (what, len(g), peak * 1e-12, share, worst))
    return float(sum(dur - 2e6)), float(sum(g["flops"]))


ship = catalog_dir("shipped")
h100, h100_h5 = run(ship, "colossus1-mini.yaml", "h100", ops=True)
a100, a100_h5 = run(ship, "dgx-a100-4k.yaml", "a100", ops=True)
check(h100["gpu_type"] == "H100-SXM" and a100["gpu_type"] == "A100-SXM4-80GB",
      "GPU types %s and %s" % (h100["gpu_type"], a100["gpu_type"]))
th, fh = gemm_check(h100_h5, 989e12, 0.61, 3.35e12, "H100")
ta, fa = gemm_check(a100_h5, 312e12, 0.65, 2.039e12, "A100")
want = (989 * 0.61) / (312 * 0.65)
check(fh == fa and abs(ta / th / want - 1) < 1e-6,
      "the same GEMMs take %.4f x as long on A100 as on H100 (expected (989 x 0.61) / (312 x 0.65) = %.4f)"
      % (ta / th, want))
check(a100["iteration_seconds"] > 2 * h100["iteration_seconds"],
      "iteration %.4f s on A100 against %.4f s on H100" % (a100["iteration_seconds"], h100["iteration_seconds"]))

d = {r: run(ship, "dgx-a100-4k.yaml", "a100_np%d" % r, np=r)[0]["digest"] for r in (1, 2, 4)}
check(d[1] == d[2] == d[4] == a100["digest"], "A100 job: digest %s at 1, %s at 2, %s at 4 ranks" % (d[1], d[2], d[4]))

# Overrides stay with their GPU type.
half = catalog_dir("a100_half", lambda t: t.replace("compute_efficiency: {gemm_bf16: 0.65, gemm_fp8: 0.65,",
                                                    "compute_efficiency: {gemm_bf16: 0.325, gemm_fp8: 0.65,"))
h100b, _ = run(half, "colossus1-mini.yaml", "h100_half")
a100b, _ = run(half, "dgx-a100-4k.yaml", "a100_half")
check(h100b["digest"] == h100["digest"], "H100 job unchanged when an A100 override changes (digest %s)" % h100b["digest"])
check(a100b["iteration_seconds"] > a100["iteration_seconds"] * 1.3,
      "A100 job: %.4f s with its GEMM share halved against %.4f s" % (a100b["iteration_seconds"], a100["iteration_seconds"]))
same = catalog_dir("h100_same", lambda t: t.replace(
    "nvlink_bandwidth: 450GB/s, nvlink_latency: 250ns, tdp_w: 700}\n  - {name: H200-SXM",
    "nvlink_bandwidth: 450GB/s, nvlink_latency: 250ns, tdp_w: 700,\n"
    "     compute_efficiency: {gemm_bf16: 0.61, attention: 0.55, kernel_overhead: 2us, source: test}}\n"
    "  - {name: H200-SXM"))
h100c, _ = run(same, "colossus1-mini.yaml", "h100_same")
check(h100c["digest"] == h100["digest"], "an H100 override equal to the defaults changes nothing (digest %s)" % h100c["digest"])

# A bad override: one message naming the catalog, the line and the field; no trace.
bad = catalog_dir("bad", lambda t: t.replace("compute_efficiency: {gemm_bf16: 0.65, gemm_fp8: 0.65,",
                                             "compute_efficiency: {gemm_bf16: 1.5, gemm_fp8: 0.65,", 1))
line = [i + 1 for i, l in enumerate(open(os.path.join(bad, "hardware.yaml"))) if "gemm_bf16: 1.5" in l][0]
out = os.path.join(WORK, "bad.h5")
p = cxtest.colossim_run(COLOSSIM, ["--topology", os.path.join(bad, "dgx-a100-4k.yaml"), "--out", out, "--progress", "0"],
                        2, MPIEXEC, expect=None)
errs = [l for l in p.stderr.splitlines() if "error" in l]
check(p.returncode != 0 and len(errs) == 1 and
      re.search(r"hardware\.yaml:%d: 'gpus\[\d+\]\.compute_efficiency\.gemm_bf16': .*outside" % line, errs[0]) is not None
      and not os.path.exists(out) and not os.path.exists(out + ".partial"),
      "bad override refused: %s" % (errs[0] if errs else p.stderr.strip()))

# A100's NVSwitch (gen2, `nvls: false`) has no in-switch reduction: auto
# picks the ring there, NVLS on H100's.
def algo_of(topo):
    p = cxtest.run([COLOSSIM, "bench", "collective", "--topology", topo, "--gpus", "8", "--min-bytes", "1G",
                    "--max-bytes", "1G", "--format", "csv"], expect=None, timeout=120)
    rows = [l.split(",") for l in p.stdout.splitlines() if l and not l.startswith("#")]
    return rows[1][rows[0].index("algo")] if len(rows) > 1 and "algo" in rows[0] else p.stdout + p.stderr


check(algo_of(os.path.join(SRC, "topologies", "dgx-a100-4k.yaml")) == "ring" and
      algo_of(os.path.join(SRC, "topologies", "colossus1-mini.yaml")) == "nvls",
      "auto all-reduce: ring on A100's NVSwitch (no NVLS), nvls on H100's")
cxtest.done()
