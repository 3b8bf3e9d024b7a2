#!/usr/bin/python3
"""Inference and RL workload kinds (issue 13 item 2).

decode   (bf16 and fp8) one GPU (TP 1), static batch of B requests with a fixed prompt and
         output: the mean decode step (TPOT) is the weights plus the KV cache
         the step reads over HBM bandwidth x the GEMM / attention memory
         share, plus the kernel overhead per op, all taken from
         topologies/hardware.yaml here (not from colossim's output), within 3%.
ttft     TTFT grows with the prompt (prefill is compute-bound: 4x the prompt,
         > 3x the TTFT); continuous batching serves mixed output lengths
         faster than static batches.
ranks    an MoE inference job whose EP all-to-all crosses servers, and an RL
         job (sync and async): the same digest and figures at 1, 2 and 4 ranks.
rl       sync: the RL step's split adds up to the step (other within 1% of
         it); async with staleness 1: a shorter step than sync.
training a training file with `kind: training` runs as the same file without
         the key (same digest).
errors   bad inputs: one FILE:LINE: 'field' message, exit 1, no summary written.
usage: infer_test.py MPIEXEC COLOSSIM SOURCE_DIR WORK_DIR CASE"""
import json, os, re, sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import cxtest
from cxtest import check

MPIEXEC, COLOSSIM, SRC, WORK, CASE = sys.argv[1:6]
os.makedirs(WORK, exist_ok=True)

MODEL = """model:
  name: llama3-8b-4layer
  layers: 4
  hidden: 4096
  ffn_hidden: 14336
  heads: 32
  kv_heads: 8
  vocab: 128256
"""
MOE = """model:
  name: moe-small
  layers: 4
  hidden: 2048
  ffn_hidden: 8192
  heads: 16
  kv_heads: 8
  vocab: 32000
  moe: {experts: 8, top_k: 2, ffn_hidden: 1408, dense_layers: 1}
"""


def write(name, text):
    return cxtest.write(os.path.join(WORK, name), text)


def infer_yaml(prompt, output, batch, count, mode="static", tp=1, dp=1, ep=1, model=MODEL):
    return ("kind: inference\nname: t\ngpus: %d\n%sparallelism: {tp: %d, dp: %d, ep: %d}\n"
            "requests:\n  count: %d\n  prompt_tokens: %s\n  output_tokens: %s\n  seed: 3\n"
            "batching: {mode: %s, max_batch: %d}\nprecision: bf16\n"
            % (tp * dp, model, tp, dp, ep, count, prompt, output, mode, batch))


def run(path, np=1, extra=(), tag=None):
    tag = tag or os.path.basename(path) + "_np%d" % np
    j, p = cxtest.colossim_summary(COLOSSIM, ["--workload", path, "--out", "", "--progress", "0", "--power-bin", "0"]
                                   + list(extra), os.path.join(WORK, tag + ".json"), np, MPIEXEC, expect=None, merge=True,
                                   timeout=900)
    if j is None:
        print(p.stdout[-3000:])
    return j, p


def hardware():
    """H100-SXM HBM bandwidth and the memory shares / kernel overhead, from hardware.yaml."""
    text = open(os.path.join(SRC, "topologies", "hardware.yaml")).read()
    eff = text[text.index("\ncompute_efficiency:"):]
    gm = float(re.search(r"\n  gemm_memory: ([0-9.]+)", eff).group(1))
    am = float(re.search(r"\n  attention_memory: ([0-9.]+)", eff).group(1))
    ov = float(re.search(r"\n  kernel_overhead: ([0-9.]+)us", eff).group(1)) * 1e-6
    bw = float(re.search(r"name: H100-SXM,.*?hbm_bandwidth: ([0-9.]+)TB/s", text, re.S).group(1)) * 1e12
    return bw, gm, am, ov


def case_decode():
    for prec in ("bf16", "fp8"):
        decode_one(prec)


def decode_one(prec):
    B, P, O = 32, 1024, 64
    path = write("decode_%s.yaml" % prec, infer_yaml("{dist: fixed, mean: %d}" % P, "{dist: fixed, mean: %d}" % O, B, B)
                 .replace("precision: bf16", "precision: " + prec))
    j, _ = run(path)
    check(j is not None, "the %s decode job runs" % prec)
    if j is None:
        return
    bw, gm, am, ov = hardware()
    L, h, ffn, H, kv, hd, V = 4, 4096, 14336, 32, 8, 128, 128256
    e = 2.0 if prec == "bf16" else 1.0                # bytes per weight and KV element
    w_layer = (h * H * hd + 2 * h * kv * hd + H * hd * h + 3 * h * ffn) * e
    w_head = V * h * e
    kv_tok = 2 * kv * hd * e * L                      # KV bytes per token, all layers
    ctx_mean = P + O / 2.0                            # decode step j reads P + j entries, j = 1..O-1
    ops = L * 5 + 1                                   # QKV, attention, projection, MLP up, down; LM head
    t_gemm = (L * w_layer + w_head) / (bw * gm)
    t_kv = B * ctx_mean * kv_tok / (bw * am)
    expect = t_gemm + t_kv + ops * ov
    got = j["inference"]["tpot_mean_seconds"]
    print("     %s decode step: expected %.6f ms (weights %.6f + KV %.6f + overhead %.6f), got %.6f ms"
          % (prec, expect * 1e3, t_gemm * 1e3, t_kv * 1e3, ops * ov * 1e3, got * 1e3))
    check(abs(got - expect) / expect < 0.03, "%s decode step within 3%% of (weights + KV) / HBM bandwidth "
          "(%.4f vs %.4f ms)" % (prec, got * 1e3, expect * 1e3))
    check(j["inference"]["tpot_p50_seconds"] <= j["inference"]["tpot_p99_seconds"], "TPOT p50 <= p99")
    check(j["inference"]["output_tokens"] == B * O, "output tokens = %d x %d" % (B, O))


def case_ttft():
    res = []
    for P in (512, 2048):
        path = write("ttft%d.yaml" % P, infer_yaml("{dist: fixed, mean: %d}" % P, "{dist: fixed, mean: 16}", 16, 16))
        j, _ = run(path)
        check(j is not None, "prompt %d runs" % P)
        if j is None:
            return
        res.append(j["inference"]["ttft_p50_seconds"])
    print("     TTFT p50: prompt 512 %.3f ms, 2048 %.3f ms" % (res[0] * 1e3, res[1] * 1e3))
    check(res[1] > 3.0 * res[0], "TTFT grows with the prompt (4x prompt: %.2fx TTFT)" % (res[1] / res[0]))
    # Mixed output lengths: continuous batching refills the slots of finished
    # sequences, static batching waits for a batch's longest one.
    tps = {}
    for mode in ("static", "continuous"):
        path = write("batch_%s.yaml" % mode, infer_yaml("{dist: fixed, mean: 256}",
                                                        "{dist: lognormal, mean: 32, sigma: 1.0, min: 2, max: 256}",
                                                        16, 64, mode=mode))
        j, _ = run(path)
        check(j is not None, "%s batching runs" % mode)
        if j is None:
            return
        tps[mode] = j["inference"]["output_tokens_per_second"]
    print("     output tokens/s: static %.0f, continuous %.0f" % (tps["static"], tps["continuous"]))
    check(tps["continuous"] > 1.2 * tps["static"], "continuous batching beats static on mixed output lengths")


def rl_yaml(mode="sync", steps=3):
    text = open(os.path.join(SRC, "workloads", "rl-llama3-8b.yaml")).read()
    text = text.replace("iterations: 3", "iterations: %d" % steps)
    text = text.replace("count: 64", "count: 32").replace("max: 512}", "max: 128}").replace("mean: 128,", "mean: 48,")
    if mode == "async":
        text = text.replace("mode: sync", "mode: async\nstaleness: 1")
    return write("rl_%s_%d.yaml" % (mode, steps), text)


def case_ranks():
    moe = write("moe.yaml", infer_yaml("{dist: uniform, min: 64, max: 512}",
                                       "{dist: lognormal, mean: 24, sigma: 0.5, min: 4, max: 64}", 16, 48,
                                       mode="continuous", tp=8, dp=4, ep=2, model=MOE))
    for path in (moe, rl_yaml("sync"), rl_yaml("async")):
        res = {}
        for np in (1, 2, 4):
            j, _ = run(path, np)
            check(j is not None, "%s at %d rank(s)" % (os.path.basename(path), np))
            if j is None:
                return
            key = "inference" if "inference" in j else "rl"
            res[np] = (j["digest"], json.dumps(j[key], sort_keys=True), j["iteration_seconds"])
        print("     %s: digest %s, %s" % (os.path.basename(path), res[1][0], res[1][1][:160]))
        check(res[1] == res[2] == res[4], "%s: same digest and figures at 1, 2 and 4 ranks" % os.path.basename(path))


def case_rl():
    js, _ = run(rl_yaml("sync", 4))
    ja, _ = run(rl_yaml("async", 4))
    check(js is not None and ja is not None, "sync and async RL jobs run")
    if js is None or ja is None:
        return
    r = js["rl"]
    parts = r["rollout_seconds"] + r["reward_seconds"] + r["samples_seconds"] + r["train_seconds"] + \
        r["weight_sync_seconds"]
    print("     sync: step %.6f = rollout %.6f + reward %.6f + samples %.6f + train %.6f + sync %.6f + other %.6f"
          % (r["step_seconds"], r["rollout_seconds"], r["reward_seconds"], r["samples_seconds"], r["train_seconds"],
             r["weight_sync_seconds"], r["other_seconds"]))
    check(abs(parts + r["other_seconds"] - r["step_seconds"]) < 1e-9, "the split adds up to the step")
    check(abs(r["other_seconds"]) < 0.01 * r["step_seconds"], "sync: the phases cover the step (other < 1%)")
    check(r["rollout_seconds"] > 0 and r["train_seconds"] > 0 and r["weight_sync_seconds"] > 0,
          "rollout, train and weight sync all take time")
    # reward: 2 ms per sample, 32 samples over 16 rollout GPUs.
    check(abs(r["reward_seconds"] - 0.002 * 32 / 16) < 1e-6, "reward = seconds_per_sample x samples per GPU")
    print("     async: step %.6f s against sync %.6f s" % (ja["rl"]["step_seconds"], r["step_seconds"]))
    check(ja["rl"]["step_seconds"] <= r["step_seconds"], "async step <= sync step")
    check(js["iteration_seconds"] == r["step_seconds"], "the run's iteration time is the RL step")


def case_training():
    text = open(os.path.join(SRC, "workloads", "small.yaml")).read()
    plain = write("small.yaml", text)
    kinded = write("small_kind.yaml", "kind: training\n" + text)
    a, _ = run(plain)
    b, _ = run(kinded)
    check(a is not None and b is not None and a["digest"] == b["digest"],
          "kind: training runs as the file without it (digest %s)" % (a or {}).get("digest"))


BAD = [
    ("kind: serving\n" + MODEL, "'kind'", "not one of"),
    (infer_yaml("{dist: uniform, min: 900, max: 100}", "{dist: fixed, mean: 8}", 4, 4), "prompt_tokens.min", "max"),
    (infer_yaml("{dist: fixed, mean: 8}", "{dist: fixed, mean: 8}", 4, 4).replace("  seed: 3\n", "  seed: 3\n  rate: 2\n"),
     "requests.rate", "unknown key"),
    (infer_yaml("{dist: fixed, mean: 8}", "{dist: fixed, mean: 8}", 4, 4, tp=8, dp=2, ep=2), "parallelism.ep", "MoE"),
    (infer_yaml("{dist: fixed, mean: 8}", "{dist: fixed, mean: 8}", 4, 4).replace("gpus: 1", "gpus: 2"), "gpus", "tp*dp"),
    (infer_yaml("{dist: lognormal, mean: 8}", "{dist: fixed, mean: 8}", 4, 4), "sigma", "missing"),
    (infer_yaml("{dist: fixed, mean: 8}", "{dist: fixed, mean: 0}", 4, 4), "output_tokens.mean", ""),
    (infer_yaml("{dist: fixed, mean: 8}", "{dist: fixed, mean: 8}", 0, 4), "batching.max_batch", ""),
]


def case_errors():
    rl = open(os.path.join(SRC, "workloads", "rl-llama3-8b.yaml")).read()
    bad = BAD + [
        (rl.replace("gpus: 32", "gpus: 40"), "'gpus'", "trainer.gpus + rollout.gpus"),
        (rl.replace("mode: sync", "mode: sync\nstaleness: 2"), "'staleness'", "only with mode: async"),
        (rl.replace("reward: {seconds_per_sample: 0.002}", "reward: {seconds_per_sample: 0.002, flops_per_sample: 1e9}"),
         "'reward'", "one of them"),
        (rl.replace("mode: sync", "mode: later"), "'mode'", ""),
        (rl.replace("weights_sync: broadcast", "weights_sync: carrier-pigeon"), "weights_sync", ""),
        (rl.replace("  gpus: 16\n  parallelism: {tp: 8, dp: 2}", "  gpus: 24\n  parallelism: {tp: 8, dp: 3}")
           .replace("gpus: 32", "gpus: 40"), "rollout", "divide"),
    ]
    for i, (text, field, words) in enumerate(bad):
        path = write("bad%d.yaml" % i, text)
        js = os.path.join(WORK, "bad%d.json" % i)
        cxtest.remove(js)
        p = cxtest.colossim_run(COLOSSIM, ["--workload", path, "--out", "", "--summary-json", js], expect=None, merge=True,
                                timeout=120)
        msg = p.stdout.strip().splitlines()[-1] if p.stdout.strip() else ""
        ok = p.returncode != 0 and re.search(re.escape(path) + r":\d+:", msg) and field in msg and words in msg \
            and not os.path.exists(js)
        check(bool(ok), "bad%d refused: %s" % (i, msg[:200]))
    # colossim gen writes training programs only, and says so before it
    # creates anything.
    gdir = os.path.join(WORK, "gen-infer")
    p = cxtest.run([COLOSSIM, "gen", "--workload", os.path.join(SRC, "workloads", "infer-llama3-8b.yaml"),
                    "--out", gdir], expect=None, merge=True, timeout=120)
    check(p.returncode != 0 and "'kind'" in p.stdout and not os.path.exists(gdir),
          "colossim gen refuses an inference workload before writing anything (%s)" % p.stdout.strip()[-160:])


{"decode": case_decode, "ttft": case_ttft, "ranks": case_ranks, "rl": case_rl, "training": case_training,
 "errors": case_errors}[CASE]()
cxtest.done()
