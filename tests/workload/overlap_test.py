#!/usr/bin/python3
"""parallelism.tp_comm_overlap: a TP collective and its GEMM cut into k pieces
and pipelined (Megatron's tp-comm-overlap).  On the default job (TP 8 with
sequence parallelism, PP 2, DP 4): the same model FLOPs and the same ops'
work, less exposed communication and a shorter iteration than without;
identical digests at 1 and 2 ranks; k pieces add 3(k-1) ops per pipelined
GEMM; 0 gives the job without the key; bad values are refused naming the
file, line and field.
usage: tp_overlap_test.py MPIEXEC COLOSSIM SOURCE_DIR WORK_DIR"""
import json, os, re, subprocess, sys

MPIEXEC, COLOSSIM, SRC, WORK = sys.argv[1:5]
os.makedirs(WORK, exist_ok=True)
failed = 0


def check(ok, what):
    global failed
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        failed += 1


def workload(k):
    text = open(os.path.join(SRC, "workloads", "small.yaml")).read()
    if k is not None:
        text = text.replace("  zero_stage: 1\n", "  zero_stage: 1\n  tp_comm_overlap: %s\n" % k)
        assert "tp_comm_overlap" in text
    path = os.path.join(WORK, "small_k%s.yaml" % k)
    with open(path, "w") as fh:
        fh.write(text)
    return path


def run(k, np=1):
    js = os.path.join(WORK, "k%s_np%d.json" % (k, np))
    out = os.path.join(WORK, "k%s_np%d.h5" % (k, np))
    for p in (js, out):
        if os.path.exists(p):
            os.remove(p)
    p = subprocess.run([MPIEXEC, "--oversubscribe", "-np", str(np), COLOSSIM, "run", "--workload", workload(k),
                        "--out", out, "--summary-json", js, "--progress", "0"],
                       capture_output=True, text=True, timeout=600)
    if p.returncode != 0:
        print(p.stdout, p.stderr)
        sys.exit("run with tp_comm_overlap %s at %d rank(s) failed" % (k, np))
    return json.load(open(js))


def ops_per_gpu(k):
    p = subprocess.run([COLOSSIM, "run", "--workload", workload(k), "--dry-run"], capture_output=True, text=True,
                       timeout=120)
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
    p = subprocess.run([COLOSSIM, "run", "--workload", workload(bad), "--dry-run"], capture_output=True, text=True,
                       timeout=60)
    msg = (p.stdout + p.stderr).strip()
    check(p.returncode != 0 and re.search(r"small_k%s\.yaml:\d+: 'parallelism\.tp_comm_overlap'" % re.escape(bad), msg)
          is not None, "tp_comm_overlap %s refused: %s" % (bad, msg.splitlines()[-1] if msg else "(nothing)"))

print("PASS" if failed == 0 else "%d check(s) failed" % failed)
sys.exit(1 if failed else 0)
