#!/usr/bin/python3
"""colossim campaign against the Llama 3 paper and against itself.

- Llama 3 405B on 16,384 H100 (llama3-24k): about 419 / 54 = 7.76
  unexpected interruptions per day and an effective training time above
  90% (arXiv 2407.21783, section 3.3.4), with the default parameters.
- The rate comes from component counts, not from that one figure: half the
  job has half the GPU-class failures and fewer switches; a GB200 NVL72 job
  on colossus2 has 8 HBM stacks per GPU and 4 GPUs per host.
- The Monte-Carlo agrees with the first-order model of a checkpointed job
  (a renewal argument: whole cycles kept per up period) where that model holds, and the
  best interval of the sweep is near Daly's.
- Deterministic per seed; async checkpoints cost less than sync ones; bad
  rates are refused with the option named; 1,000 seeds take seconds.
usage: campaign_test.py COLOSSIM SOURCE_DIR [ANALYZE]
"""
import json
import math
import subprocess
import sys
import time

BIN, SRC = sys.argv[1], sys.argv[2]
ANA = sys.argv[3] if len(sys.argv) > 3 else None
TOPO = SRC + "/topologies/llama3-24k.yaml"
WL16 = SRC + "/workloads/llama3-405b-16k.yaml"
fails = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        fails.append(what)


def campaign(*args):
    out = subprocess.run([BIN, "campaign", "--format", "json"] + list(args), capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit("colossim campaign %s failed: %s" % (" ".join(args), out.stderr))
    return json.loads(out.stdout)


# 1. The paper's job.
t0 = time.time()
j = campaign("--topology", TOPO, "--workload", WL16, "--iteration-seconds", "6", "--seeds", "1000")
wall = time.time() - t0
ipd = j["interruptions_per_day"]["mean"]
check(abs(ipd - 419 / 54) < 0.1, "16k GPUs: %.3f unexpected interruptions/day (paper 419/54 = 7.76)" % ipd)
check(j["ettr"]["mean"] > 0.90, "16k GPUs: ETTR %.2f%% > 90%% (paper: > 90%%)" % (100 * j["ettr"]["mean"]))
check(j["ettr"]["sd"] > 0 and j["ettr"]["p5"] < j["ettr"]["p95"], "spread over seeds is reported")
# A speed figure, not a pass/fail: this machine varies 2x between runs and
# shares its cores (bench/ compares speeds; the issue asks for seconds).
print("info 1,000 seeds of 54 days + a 9-point sweep in %.1f s" % wall)
comp = j["components"]
check(comp["gpu"]["count"] == 16384 and comp["host"]["count"] == 2048 and comp["hbm"]["count"] == 5 * 16384,
      "16k job: 16,384 GPUs, 2,048 hosts, 5 HBM stacks per H100")

# 2. Scaling with component counts.
h = campaign("--topology", TOPO, "--gpus", "8192", "--checkpoint-bytes", "5T", "--iteration-seconds", "6",
             "--seeds", "200")
r = h["expected_interruptions_per_day"] / j["expected_interruptions_per_day"]
check(abs(h["components"]["gpu"]["expected_per_day"] * 2 - comp["gpu"]["expected_per_day"]) < 1e-9,
      "8k GPUs: GPU-class interruptions exactly half")
check(h["components"]["switch"]["count"] < comp["switch"]["count"] and 0.45 < r < 0.55,
      "8k GPUs: %d switches (16k: %d), interruptions x %.3f" % (h["components"]["switch"]["count"],
                                                               comp["switch"]["count"], r))
check(h["ettr"]["mean"] > j["ettr"]["mean"], "8k GPUs lose less (ETTR %.2f%%)" % (100 * h["ettr"]["mean"]))
big = campaign("--topology", SRC + "/topologies/colossus1.yaml", "--gpus", "98304", "--checkpoint-bytes", "5T",
               "--iteration-seconds", "6", "--seeds", "100")
check(big["interruptions_per_day"]["mean"] > 5 * ipd and big["ettr"]["mean"] < j["ettr"]["mean"],
      "98k GPUs on colossus1: %.1f interruptions/day, ETTR %.1f%%" % (big["interruptions_per_day"]["mean"],
                                                                    100 * big["ettr"]["mean"]))
gb = campaign("--topology", SRC + "/topologies/colossus2-mini.yaml", "--gpus", "288", "--checkpoint-bytes", "1T",
              "--iteration-seconds", "6", "--seeds", "100")
check(gb["components"]["hbm"]["count"] == 8 * 288 and gb["components"]["host"]["count"] == 288 / 4,
      "GB200 NVL72: 8 HBM stacks per GPU, 4 GPUs per host")

# 3. Against the first-order model, without planned stops or restart storms:
#    sync checkpoints of C every tau, down time D per interruption.
C, D, tau = 30.0, 600.0, 1800.0
a = campaign("--topology", TOPO, "--gpus", "16384", "--checkpoint-time", "30s", "--checkpoint-bytes", "1T",
             "--reload", "0.001s", "--detect", "0.001s", "--restart", "600s", "--planned-per-day", "0",
             "--interval", "1800s", "--iteration-seconds", "6", "--seeds", "400", "--sweep", "none")
M = a["mtbf_seconds"]
# Renewal argument: up periods ~ Exp(M) hold floor(X / (tau + C)) whole
# cycles of tau kept; a down period is D, started over by any interruption
# during it: E = M (exp(D / M) - 1).
q = math.exp(-(tau + C) / M)
renewal = tau * q / (1 - q) / (M + M * (math.exp(D / M) - 1))
check(abs(a["ettr"]["mean"] - renewal) < 0.003,
      "Monte-Carlo ETTR %.4f vs renewal model %.4f" % (a["ettr"]["mean"], renewal))
sw = j["sweep"]
best = max(sw, key=lambda s: s["ettr"])
check(0.5 < best["interval_seconds"] / j["daly_seconds"] < 2.0,
      "sweep's best interval %.0f s near Daly's %.0f s" % (best["interval_seconds"], j["daly_seconds"]))
check(sw[0]["ettr"] < best["ettr"] and sw[-1]["ettr"] < best["ettr"], "too short and too long intervals both lose")

# 4. Determinism, async, slowdowns, bad input.
b1 = campaign("--topology", TOPO, "--workload", WL16, "--iteration-seconds", "6", "--seeds", "50", "--seed", "7")
b2 = campaign("--topology", TOPO, "--workload", WL16, "--iteration-seconds", "6", "--seeds", "50", "--seed", "7")
b3 = campaign("--topology", TOPO, "--workload", WL16, "--iteration-seconds", "6", "--seeds", "50", "--seed", "8")
check(b1["ettr"] == b2["ettr"] and b1["lost_gpu_hours"] == b2["lost_gpu_hours"], "same seed, same result")
check(b1["ettr"] != b3["ettr"], "another seed, another result")
s1 = campaign("--topology", TOPO, "--gpus", "16384", "--checkpoint-bytes", "60T", "--iteration-seconds", "6",
              "--seeds", "200", "--interval", "1800s", "--sweep", "none")
s2 = campaign("--topology", TOPO, "--gpus", "16384", "--checkpoint-bytes", "60T", "--iteration-seconds", "6",
              "--seeds", "200", "--interval", "1800s", "--sweep", "none", "--checkpoint", "async")
check(s2["checkpoint_stall_seconds"] < s1["checkpoint_stall_seconds"] and s2["ettr"]["mean"] > s1["ettr"]["mean"],
      "async checkpoints (stall %.2f s) beat sync (%.1f s): ETTR %.2f%% vs %.2f%%" % (
          s2["checkpoint_stall_seconds"], s1["checkpoint_stall_seconds"], 100 * s2["ettr"]["mean"],
          100 * s1["ettr"]["mean"]))
with open("campaign_slow.json", "w") as f:
    json.dump({"iteration_seconds": 6.6, "gpus": 16384}, f)
with open("campaign_fast.json", "w") as f:
    json.dump({"iteration_seconds": 6.0, "gpus": 16384, "tokens_per_iteration": 16777216}, f)
sl = campaign("--topology", TOPO, "--summary", "campaign_fast.json", "--slow-summary", "campaign_slow.json",
              "--checkpoint-bytes", "5T", "--seeds", "100", "--sweep", "none")
check(abs(sl["goodput"]["mean"] - sl["ettr"]["mean"] / 1.1) < 1e-9,
      "a 10%% slower iteration: goodput %.2f%% = ETTR / 1.1" % (100 * sl["goodput"]["mean"]))
with open("campaign_ckpt.json", "w") as f:
    json.dump({"iteration_seconds": 6.75, "gpus": 16384}, f)
ck = campaign("--topology", TOPO, "--summary", "campaign_fast.json", "--checkpoint-summary", "campaign_ckpt.json",
              "--checkpoint-bytes", "5T", "--seeds", "10", "--sweep", "none")
check(abs(ck["checkpoint_stall_seconds"] - 0.75) < 1e-9, "stall from a detailed run with a checkpoint every iteration: "
      "%.2f s" % ck["checkpoint_stall_seconds"])
for bad, opt in (("-1", "rate-gpu"), ("nan", "rate-gpu"), ("x", "rate-link"), ("1e9", "rate-gpu")):
    out = subprocess.run([BIN, "campaign", "--iteration-seconds", "6", "--gpus", "64", "--checkpoint-bytes", "1G",
                          "--" + opt, bad], capture_output=True, text=True)
    check(out.returncode != 0 and (opt in out.stderr or "rate" in out.stderr),
          "--%s %s refused: %s" % (opt, bad, out.stderr.strip()))

# 5. The timeline of the first seed, and its picture.
subprocess.run([BIN, "campaign", "--topology", TOPO, "--workload", WL16, "--iteration-seconds", "6", "--seeds", "1",
                "--sweep", "none", "--timeline", "campaign_tl.csv"], check=True, capture_output=True)
with open("campaign_tl.csv") as f:
    rows = [l.split(",") for l in f.read().splitlines()[1:]]
nf = sum(1 for r in rows if r[1] == "failure")
one = campaign("--topology", TOPO, "--workload", WL16, "--iteration-seconds", "6", "--seeds", "1", "--sweep", "none")
check(rows[-1][1] == "end" and abs(float(rows[-1][0]) - 54 * 24) < 1e-6 and
      abs(nf / 54.0 - one["interruptions_per_day"]["mean"]) < 1e-9 and
      abs(float(rows[-1][3]) / (54 * 24) - one["ettr"]["mean"]) < 1e-6,
      "timeline: %d failures, ends at 1,296 h with the seed's ETTR" % nf)
# Whole checkpoint cycles are taken at once except when a timeline is kept:
# both ways must agree (sync above; async with drains longer and shorter
# than the interval here).
for extra in (["--checkpoint", "async"], ["--checkpoint", "async", "--interval", "1s"]):
    subprocess.run([BIN, "campaign", "--topology", TOPO, "--workload", WL16, "--iteration-seconds", "6", "--seeds",
                    "1", "--sweep", "none", "--timeline", "campaign_tl2.csv"] + extra, check=True, capture_output=True)
    with open("campaign_tl2.csv") as f:
        last = f.read().splitlines()[-1].split(",")
    one2 = campaign("--topology", TOPO, "--workload", WL16, "--iteration-seconds", "6", "--seeds", "1", "--sweep",
                    "none", *extra)
    check(abs(float(last[3]) / (54 * 24) - one2["ettr"]["mean"]) < 1e-6,
          "%s: cycles taken at once agree with one by one (ETTR %.4f)" % (" ".join(extra), one2["ettr"]["mean"]))
p = subprocess.run(["/usr/bin/python3", SRC + "/analysis/campaign_timeline.py", "campaign_tl.csv", "--out",
                    "campaign_tl.png"], capture_output=True, text=True)
check(p.returncode == 0 and open("campaign_tl.png", "rb").read(8) == b"\x89PNG\r\n\x1a\n", "timeline drawn")
if ANA is not None:
    p = subprocess.run([ANA, "plot", "campaign_tl.csv", "--out", "campaign_plot"], capture_output=True, text=True)
    check(p.returncode == 0 and open("campaign_plot/campaign_timeline.png", "rb").read(4) == b"\x89PNG",
          "colossim-analyze plot draws a campaign timeline")

if fails:
    print("%d check(s) failed" % len(fails))
    sys.exit(1)
print("all campaign checks passed")
