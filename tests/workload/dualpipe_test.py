#!/usr/bin/python3
"""parallelism.dualpipe (issue 14 item 2): DeepSeek-V3's bidirectional
pipeline schedule, on the default job (small.yaml: TP 8, PP 2, DP 4) and on
the same job at PP 4 (TP 8, PP 4, DP 2, 16 microbatches).

  - the same FLOPs as 1F1B, every microbatch's forward and backward once,
    and twice the optimizer's (each rank holds two stages);
  - PP rank r runs microbatches 0..M/2-1 on stage r (they enter at rank 0)
    and M/2..M-1 on stage pp-1-r (they enter at the last rank);
  - a smaller pipeline bubble and a shorter iteration than 1F1B;
  - the same digest at 1, 2 and 4 ranks;
  - bad combinations refused naming FILE:LINE: 'field'.
usage: dualpipe_test.py MPIEXEC COLOSSIM SOURCE_DIR WORK_DIR"""
import json, os, re, subprocess, sys

import h5py
import numpy

MPIEXEC, COLOSSIM, SRC, WORK = sys.argv[1:5]
os.makedirs(WORK, exist_ok=True)
failed = 0


def check(ok, what):
    global failed
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        failed += 1


def workload(tag, edits):
    text = open(os.path.join(SRC, "workloads", "small.yaml")).read()
    for old, new in edits:
        assert old in text, old
        text = text.replace(old, new)
    path = os.path.join(WORK, tag + ".yaml")
    with open(path, "w") as fh:
        fh.write(text)
    return path


def run(path, tag, np=1, ops=False):
    js = os.path.join(WORK, tag + ".json")
    out = os.path.join(WORK, tag + ".h5") if ops else ""
    for p in (js, out):
        if p and os.path.exists(p):
            os.remove(p)
    p = subprocess.run([MPIEXEC, "--oversubscribe", "-np", str(np), COLOSSIM, "run", "--workload", path,
                        "--iterations", "2", "--out", out, "--summary-json", js, "--progress", "0"]
                       + (["--trace-level", "ops"] if ops else []),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if p.returncode != 0:
        print(p.stdout + p.stderr)
        raise SystemExit("FAIL colossim run %s exited %d" % (tag, p.returncode))
    return json.load(open(js)), out


DP = ("  zero_stage: 1\n", "  zero_stage: 1\n  dualpipe: true\n")
PP4 = [("  pp: 2\n", "  pp: 4\n"), ("  dp: 4\n", "  dp: 2\n")]
for name, edits in (("pp2", []), ("pp4", PP4)):
    off, off_h5 = run(workload(name + "_off", edits), name + "_off", ops=True)
    on, on_h5 = run(workload(name + "_on", edits + [DP]), name + "_on", ops=True)
    with h5py.File(off_h5, "r") as f:
        a = f["/ops/gpu_ops"][...]
    with h5py.File(on_h5, "r") as f:
        b = f["/ops/gpu_ops"][...]
    def flops(d, classes):
        return d[(d["kind"] == 0) & numpy.isin(d["cls"], classes)]["flops"].sum()
    fa, fb = flops(a, [0, 1, 2]), flops(b, [0, 1, 2])
    check(abs(fa - fb) <= 1e-9 * fa, "%s: the same GEMM, attention and elementwise FLOPs (%.6e with DualPipe, %.6e with 1F1B)"
          % (name, fb, fa))
    # Each rank holds two stages: twice the parameters its optimizer steps.
    oa, ob = flops(a, [3]), flops(b, [3])
    check(abs(ob - 2 * oa) <= 1e-9 * ob, "%s: optimizer FLOPs x %.4f (two copies of the stages)" % (name, ob / oa))
    check(on["bubble_share"] < off["bubble_share"] and on["iteration_seconds"] < off["iteration_seconds"],
          "%s: bubble %.1f%% -> %.1f%%, iteration %.4f -> %.4f s, MFU %.1f%% -> %.1f%%"
          % (name, 100 * off["bubble_share"], 100 * on["bubble_share"], off["iteration_seconds"],
             on["iteration_seconds"], 100 * off["mfu"], 100 * on["mfu"]))
    # Placement: forward GEMMs of each microbatch on GPU 0 (PP rank 0) and on the last PP rank.
    pp = 4 if name == "pp4" else 2
    stride = 64 // pp
    g = b[(b["kind"] == 0) & (b["cls"] == 0) & (b["phase"] == 1) & (b["iteration"] == 0)]
    layers_per_stage = 8 // pp
    m = 16 if pp == 4 else 8   # microbatches: 32 sequences over DP 2 / DP 4
    ok = True
    for rank in (0, pp - 1):
        mine = g[g["gpu"] == rank * stride]
        for mb in numpy.unique(mine["microbatch"]):
            lay = set(int(x) for x in mine[mine["microbatch"] == mb]["layer"]) - {65535}  # not the head
            stage = rank if mb < m // 2 else pp - 1 - rank
            want = set(range(stage * layers_per_stage, (stage + 1) * layers_per_stage))
            if lay != want:
                ok = False
                print("  rank %d microbatch %d: layers %s, want %s" % (rank, mb, sorted(lay), sorted(want)))
        if sorted(numpy.unique(mine["microbatch"])) != list(range(m)):
            ok = False
    check(ok, "%s: rank r runs microbatches 0..M/2-1 on stage r and M/2..M-1 on stage pp-1-r" % name)
    if name == "pp4":
        d = {r: run(workload(name + "_on", edits + [DP]), "%s_on_np%d" % (name, r), np=r)[0]["digest"] for r in (1, 2, 4)}
        check(d[1] == d[2] == d[4] == on["digest"], "%s: digest %s at 1, %s at 2, %s at 4 ranks" % (name, d[1], d[2], d[4]))

# Refused: odd pp, with virtual stages / zero_bubble, too few microbatches.
for tag, edits, field in (
        ("bad_pp", [("  pp: 2\n", "  pp: 1\n"), ("  dp: 4\n", "  dp: 8\n"), DP], "dualpipe"),
        ("bad_zb", [DP, ("  dualpipe: true\n", "  dualpipe: true\n  zero_bubble: true\n")], "dualpipe"),
        ("bad_mb", PP4 + [DP, ("global_batch_sequences: 32", "global_batch_sequences: 8")], "global_batch_sequences")):
    try:
        path = workload(tag, edits)
    except AssertionError:
        check(False, "%s: could not build the workload" % tag)
        continue
    line = [i + 1 for i, l in enumerate(open(path)) if (field + ":") in l][0]
    p = subprocess.run([COLOSSIM, "run", "--workload", path, "--out", "", "--progress", "0"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    err = p.stderr.strip()
    check(p.returncode != 0 and re.search(r"%s\.yaml:%d: '[^']*%s': " % (tag, line, field), err) is not None,
          "%s refused: %s" % (tag, err))

print("PASS" if failed == 0 else "%d check(s) FAILED" % failed)
sys.exit(1 if failed else 0)
