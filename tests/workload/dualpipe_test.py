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
And the two DeepSeek-V3 features on top (issue 14 item 2), on the default
job and on a small DeepSeek-shaped MoE job (TP 1, PP 2, DP = EP 32 over 4
nodes, 64 experts, top-8):
  - dualpipe_overlap (default on): each forward/backward pair's chunks run
    at once: a shorter iteration than dualpipe_overlap: false, which gives
    the schedule's old results; the all-to-all's SM share slows kernels
    (comm_sm_share: 0 is faster still);
  - moe.max_nodes: each token to at most that many nodes, sent across once
    per node: the all-to-all's cross-node bytes are T*E*hidden*2 with E the
    expected number of nodes a token reaches, the bytes the NICs send
    shrink, the iteration shortens;
  - both at 1, 2 and 4 ranks: the same digest.
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

# The overlap inside a pair on the default job: on (the default) is faster
# than off, and off is the schedule without it (the digest the 1F1B-order
# pair gave before the option existed is pinned in the MoE checks below).
OFF = ("  dualpipe: true\n", "  dualpipe: true\n  dualpipe_overlap: false\n")
d_off = run(workload("pp2_pairs_off", [DP, OFF]), "pp2_pairs_off")[0]
d_on = run(workload("pp2_on", [DP]), "pp2_on_again")[0]
check(d_on["iteration_seconds"] < 0.95 * d_off["iteration_seconds"],
      "default job: overlap inside DualPipe pairs %.4f s -> %.4f s per iteration (exposed comm %.1f%% -> %.1f%%)"
      % (d_off["iteration_seconds"], d_on["iteration_seconds"], 100 * d_off["exposed_comm_share"],
         100 * d_on["exposed_comm_share"]))

MOE = """name: dsv3-tiny
gpus: 64
model:
  name: dsv3-tiny
  layers: 4
  hidden: 2048
  ffn_hidden: 8192
  heads: 16
  kv_heads: 16
  vocab: 32000
  moe:
    experts: 64
    top_k: 8
    shared_experts: 1
    ffn_hidden: 1024
    dense_layers: 1
parallelism:
  tp: 1
  pp: 2
  dp: 32
  ep: 32
  zero_stage: 1
  dualpipe: true
training:
  seq_len: 4096
  global_batch_sequences: 128
  micro_batch_size: 1
  precision: fp8
  recompute: selective
"""


def moe(tag, overlap=True, nodes=0, extra=""):
    text = MOE.replace("  dualpipe: true\n", "  dualpipe: true\n" + ("" if overlap else "  dualpipe_overlap: false\n")
                       + extra)
    if nodes:
        text = text.replace("    dense_layers: 1\n", "    dense_layers: 1\n    max_nodes: %d\n" % nodes)
    path = os.path.join(WORK, tag + ".yaml")
    with open(path, "w") as fh:
        fh.write(text)
    return path


def nic_bytes(h5):
    with h5py.File(h5, "r") as f:
        p = f["/links/ports"][...]
    return int(p[p["cls"] == 2]["bytes"].sum())   # nic -> leaf: what crosses nodes


def run_links(path, tag):
    js = os.path.join(WORK, tag + ".json")
    out = os.path.join(WORK, tag + ".h5")
    p = subprocess.run([COLOSSIM, "run", "--workload", path, "--out", out, "--summary-json", js, "--progress", "0",
                        "--trace-level", "links"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if p.returncode != 0:
        print(p.stdout + p.stderr)
        raise SystemExit("FAIL colossim run %s exited %d" % (tag, p.returncode))
    return json.load(open(js)), out


res = {}
for ov in (False, True):
    for nodes in (0, 2):
        tag = "moe_%s_%d" % ("on" if ov else "off", nodes)
        res[(ov, nodes)] = run_links(moe(tag, ov, nodes), tag)
for nodes in (0, 2):
    off, on = res[(False, nodes)][0], res[(True, nodes)][0]
    check(on["iteration_seconds"] < 0.97 * off["iteration_seconds"],
          "MoE, max_nodes %d: overlap inside pairs %.4f s -> %.4f s (exposed comm %.1f%% -> %.1f%%)"
          % (nodes, off["iteration_seconds"], on["iteration_seconds"], 100 * off["exposed_comm_share"],
             100 * on["exposed_comm_share"]))
# dualpipe_overlap: false runs each chunk's kernels in one piece (DualPipe
# as before the option: 5d1aeffb3e9da9bc on this job when it came); on, the
# kernels of a pair's two chunks alternate on the compute stream, each
# all-to-all of one overlapping kernels of the other.
def chunk_runs(h5):
    with h5py.File(h5, "r") as f:
        o = f["/ops/gpu_ops"][...]
    k = o[(o["kind"] == 0) & (o["gpu"] == 0) & (o["iteration"] == 0) & (o["block"] != 20)]   # not the optimizer
    k = k[numpy.argsort(k["start_ps"], kind="stable")]
    ids = [(int(m), int(p) == 1) for m, p in zip(k["microbatch"], k["phase"])]   # (microbatch, forward)
    runs = 1 + sum(1 for a, b in zip(ids, ids[1:]) if a != b)
    a2a = o[(o["kind"] == 3) & (o["cls"] == 3) & (o["gpu"] == 0) & (o["iteration"] == 0)]
    hidden = 0
    for c in a2a:
        other = k[(k["start_ps"] < c["end_ps"]) & (k["end_ps"] > c["start_ps"]) &
                  ((k["microbatch"] != c["microbatch"]) | (k["phase"] != c["phase"]))]
        hidden += 1 if len(other) else 0
    return runs, len(set(ids)), hidden, len(a2a)


r_off = chunk_runs(run(moe("moe_seq_off", False, 2), "moe_seq_off", ops=True)[1])
r_on = chunk_runs(run(moe("moe_seq_on", True, 2), "moe_seq_on", ops=True)[1])
check(r_off[0] == r_off[1] and r_off[2] == 0,
      "dualpipe_overlap false: GPU 0's kernels in %d runs for %d chunks, %d of %d all-to-alls beside another chunk's kernels"
      % (r_off[0], r_off[1], r_off[2], r_off[3]))
check(r_on[0] > r_on[1] and r_on[2] > 0,
      "dualpipe_overlap true: GPU 0's kernels in %d runs for %d chunks, %d of %d all-to-alls beside another chunk's kernels"
      % (r_on[0], r_on[1], r_on[2], r_on[3]))
for ov in (False, True):
    a, b = res[(ov, 0)], res[(ov, 2)]
    na, nb = nic_bytes(a[1]), nic_bytes(b[1])
    check(nb < 0.5 * na and b[0]["iteration_seconds"] < a[0]["iteration_seconds"],
          "overlap %s: max_nodes 2 cuts the bytes NICs send %.3e -> %.3e (x %.3f), iteration %.4f -> %.4f s"
          % (ov, na, nb, nb / na, a[0]["iteration_seconds"], b[0]["iteration_seconds"]))
# The cross-node all-to-all's size: E = M (1 - C((M-1)x, k) / C(Mx, k)) nodes per token (M = 2 of 4 nodes,
# x = 16 experts per node, k = 8), T = 4096 tokens of hidden 2048 in bf16; the NVLink one moves all k copies.
e = 1.0
for i in range(8):
    e *= (16 - i) / (32 - i)
e = 2 * (1 - e)
ops_h5 = run(moe("moe_ops", True, 2), "moe_ops", ops=True)[1]
with h5py.File(ops_h5, "r") as f:
    o = f["/ops/gpu_ops"][...]
a2a = o[(o["kind"] == 3) & (o["cls"] == 3) & (o["gpu"] == 0)]
cross, inner = a2a[a2a["group_size"] == 4], a2a[a2a["group_size"] == 8]
want_cross, want_inner = round(4096 * e * 2048 * 2), 4096 * 8 * 2048 * 2
check(len(cross) > 0 and len(cross) == len(inner) and set(int(x) for x in cross["bytes"]) == {want_cross}
      and set(int(x) for x in inner["bytes"]) == {want_inner},
      "max_nodes 2: %d cross-node all-to-alls of %s bytes (want %d: %.4f nodes per token), %d NVLink ones of %s (want %d)"
      % (len(cross), sorted(set(int(x) for x in cross["bytes"])), want_cross, e, len(inner),
         sorted(set(int(x) for x in inner["bytes"])), want_inner))
# The all-to-all's SM share slows the kernels beside it: without it the iteration is shorter.
sm0 = run(moe("moe_sm0", True, 2, "  comm_sm_share: 0\n"), "moe_sm0")[0]
check(sm0["iteration_seconds"] < res[(True, 2)][0]["iteration_seconds"],
      "comm_sm_share 0: %.5f s, %.4f (20 of 132 SMs) %.5f s" % (sm0["iteration_seconds"], 20 / 132,
                                                                res[(True, 2)][0]["iteration_seconds"]))
for nodes in (0, 2):
    d = {r: run(moe("moe_on_%d" % nodes, True, nodes), "moe_on_%d_np%d" % (nodes, r), np=r)[0]["digest"]
         for r in (1, 2, 4)}
    check(d[1] == d[2] == d[4], "MoE, overlap, max_nodes %d (2 iterations): digest %s at 1, %s at 2, %s at 4 ranks"
          % (nodes, d[1], d[2], d[4]))

def check_refused(tag, path, field):
    """colossim run on workload path exits non-zero with one 'TAG.yaml:LINE: 'FIELD': ' message."""
    line = [i + 1 for i, l in enumerate(open(path)) if (field + ":") in l][0]
    p = subprocess.run([COLOSSIM, "run", "--workload", path, "--out", "", "--progress", "0"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    err = p.stderr.strip()
    check(p.returncode != 0 and re.search(r"%s\.yaml:%d: '[^']*%s': " % (tag, line, field), err) is not None,
          "%s refused: %s" % (tag, err))


# Refused: odd pp, with virtual stages / zero_bubble, too few microbatches.
for tag, edits, field in (
        ("bad_overlap", [("  zero_stage: 1\n", "  zero_stage: 1\n  dualpipe_overlap: true\n")], "dualpipe_overlap"),
        ("bad_share", [DP, ("  dualpipe: true\n", "  dualpipe: true\n  comm_sm_share: 1.5\n")], "comm_sm_share"),
        ("bad_share_off", [DP, OFF, ("  dualpipe_overlap: false\n", "  dualpipe_overlap: false\n  comm_sm_share: 0.2\n")],
         "comm_sm_share"),
        ("bad_pp", [("  pp: 2\n", "  pp: 1\n"), ("  dp: 4\n", "  dp: 8\n"), DP], "dualpipe"),
        ("bad_zb", [DP, ("  dualpipe: true\n", "  dualpipe: true\n  zero_bubble: true\n")], "dualpipe"),
        ("bad_mb", PP4 + [DP, ("global_batch_sequences: 32", "global_batch_sequences: 8")], "global_batch_sequences")):
    try:
        path = workload(tag, edits)
    except AssertionError:
        check(False, "%s: could not build the workload" % tag)
        continue
    check_refused(tag, path, field)
# moe.max_nodes: more nodes than the EP group spans, nodes that do not tile
# it, too few experts in max_nodes nodes, no EP.
for tag, old, new, field in (
        ("bad_nodes", "    dense_layers: 1\n", "    dense_layers: 1\n    max_nodes: 5\n", "max_nodes"),
        ("bad_node_gpus", "    dense_layers: 1\n", "    dense_layers: 1\n    max_nodes: 2\n    node_gpus: 3\n",
         "node_gpus"),
        ("bad_topk", "    top_k: 8\n", "    top_k: 20\n    max_nodes: 1\n", "max_nodes"),
        ("bad_ep", "  ep: 32\n", "  ep: 1\n", "max_nodes")):
    text = moe(tag, True, 2 if tag == "bad_ep" else 0)
    t = open(text).read()
    assert old in t, old
    open(text, "w").write(t.replace(old, new))
    check_refused(tag, text, field)

print("PASS" if failed == 0 else "%d check(s) FAILED" % failed)
sys.exit(1 if failed else 0)
