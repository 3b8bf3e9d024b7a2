#!/usr/bin/python3
"""colossim run --scenario: bad files, determinism over ranks, a one-job
scenario against the plain run, and colossim-analyze summary --job.

usage: scenario_test.py MPIEXEC COLOSSIM ANALYZE SOURCE_DIR WORKDIR CASE
CASE: errors | ranks | single | analyze | power | kinds (inference and RL
jobs next to a training job: 1 and 2 ranks, their own figures, an RL job
alone at GPU 0 = its plain run, an inference job with 2 iterations refused)
Jobs are the 64-GPU default (workloads/small.yaml) and the shipped RL
stand-in on colossus1-mini (well under a second a run).
"""
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import cxtest
from cxtest import check, write

MPI, BIN, ANA, SRC, WORK, CASE = sys.argv[1:7]
TOPO = SRC + "/topologies/colossus1-mini.yaml"
SMALL = SRC + "/workloads/small.yaml"
RL = SRC + "/scenarios/rl-standin-64.yaml"
BASE = ["--topology", TOPO, "--progress", "0", "--power-bin", "0"]
os.makedirs(WORK, exist_ok=True)
os.chdir(WORK)
def run(args, ranks=1, ok=True):
    return cxtest.colossim_run(BIN, BASE + args, ranks, MPI if ranks > 1 else None, expect=0 if ok else None)


def analyze(*args):
    return cxtest.run([ANA] + list(args), expect=None)


def digest(p):
    m = re.search(r"digest ([0-9a-f]{16})", p.stdout)
    return m.group(1) if m else None


def jobs(p):
    """Per-job rows of the scenario summary: name -> iteration seconds."""
    out = {}
    for line in p.stdout.splitlines():
        m = re.match(r"\s+(\d+)\s+(\S+)\s+(\d+)\s+([\d.]+)\s+(\d+)\s+([\d.]+)", line)
        if m:
            out[m.group(2)] = float(m.group(6))
    return out


TWO = """scenario:
  name: two
  jobs:
    - {name: pre, workload: %s, placement: {domains: [0, 16, 32, 48, 1, 17, 33, 49]}, iterations: 2}
    - {name: rl, workload: %s, placement: {first_gpu: 512}, start: 1ms}
""" % (SMALL, RL)


def case_errors():
    job = "    - {name: a, workload: %s, placement: {first_gpu: 0}}\n" % SMALL
    # BIG: 1,008 of colossus1-mini's 1,024 GPUs (the small job with more replicas)
    global BIG
    BIG = write("big.yaml", open(SMALL).read().replace("gpus: 64", "gpus: 1008").replace("dp: 4", "dp: 63").replace("global_batch_sequences: 32", "global_batch_sequences: 504"))
    bad = [
        # overlapping placements: the second job's line and field
        ("scenario:\n  jobs:\n" + job + "    - {name: b, workload: %s, placement: {domains: [7, 8, 9, 10, 11, 12, 13, 14]}}\n" % SMALL,
         4, "placement.domains", "already job 'a'"),
        # a block not on a domain boundary
        ("scenario:\n  jobs:\n    - {workload: %s, placement: {first_gpu: 4}}\n" % SMALL, 3, "first_gpu", "NVLink domain"),
        # bigger than the fabric
        ("scenario:\n  jobs:\n    - {workload: %s, placement: {first_gpu: 1000}}\n" % SMALL, 3, "first_gpu", "do not fit"),
        # a domain that does not exist
        ("scenario:\n  jobs:\n    - {workload: %s, placement: {domains: [0, 1, 2, 3, 4, 5, 6, 900]}}\n" % SMALL, 3,
         "domains[7]", "does not exist"),
        # the wrong number of domains
        ("scenario:\n  jobs:\n    - {workload: %s, placement: {domains: [0, 1]}}\n" % SMALL, 3, "domains", "take 8"),
        # unknown key, missing placement, bad start
        ("scenario:\n  jobs:\n    - {workload: %s, placement: {first_gpu: 0}, kind: rl}\n" % SMALL, 3, "kind", "unknown key"),
        ("scenario:\n  jobs:\n    - {workload: %s}\n" % SMALL, 3, "jobs[0]", "placement"),
        ("scenario:\n  jobs:\n    - {workload: %s, placement: {first_gpu: 0}, start: 3days}\n" % SMALL, 3, "start", ""),
        # racks: the wrong count, a rack that does not exist, a rack another job holds
        ("scenario:\n  jobs:\n    - {workload: %s, placement: {racks: [0, 1]}}\n" % SMALL, 3, "racks", "take 1 rack"),
        ("scenario:\n  jobs:\n    - {workload: %s, placement: {racks: [99]}}\n" % SMALL, 3, "racks[0]", "does not exist"),
        ("scenario:\n  jobs:\n" + job + "    - {name: b, workload: %s, placement: {racks: [0]}}\n" % SMALL,
         4, "racks[0]", "already job 'a'"),
        # scattered: unknown key; no room left; two placements at once
        ("scenario:\n  jobs:\n    - {workload: %s, placement: {scattered: {seed: 1, spread: 2}}}\n" % SMALL, 3, "spread",
         "unknown key"),
        ("scenario:\n  jobs:\n    - {workload: %s, placement: {first_gpu: 0}}\n" % BIG +
         "    - {name: b, workload: %s, placement: {scattered: {seed: 1}}}\n" % SMALL, 4, "scattered", "are free"),
        ("scenario:\n  jobs:\n    - {workload: %s, placement: {first_gpu: 0, racks: [0]}}\n" % SMALL, 3, "placement",
         "give one of"),
        # a workload that is not there: named with the scenario's line
        ("scenario:\n  jobs:\n    - {workload: nowhere.yaml, placement: {first_gpu: 0}}\n", 0, "", "scenario.yaml:3"),
    ]
    for i, (text, line, field, words) in enumerate(bad):
        path = write("scenario.yaml", text)
        p = run(["--scenario", path, "--out", "bad%d.h5" % i], ok=False)
        msg = p.stderr.strip()
        where = "scenario.yaml:%d" % line if line else ""
        check(p.returncode != 0 and where in msg and field in msg and words in msg and msg.count("\n") == 0,
              "bad scenario %d refused with one message naming %s %s: %s" % (i, where, field, msg))
        check(not os.path.exists("bad%d.h5" % i) and not os.path.exists("bad%d.h5.partial" % i),
              "bad scenario %d wrote no trace" % i)
    p = run(["--scenario", write("ok.yaml", TWO), "--workload", SMALL, "--out", ""], ok=False)
    check(p.returncode != 0 and "workload" in p.stderr, "--workload with --scenario refused")
    # options first: --iterations is per job, even when the file is bad too
    p = run(["--scenario", write("bad.yaml", "scenario:\n  jobs: []\n"), "--iterations", "3", "--out", ""], ok=False)
    check(p.returncode != 0 and "'iterations'" in p.stderr and "per job" in p.stderr,
          "--iterations with --scenario refused first: %s" % p.stderr.strip())


def case_ranks():
    path = write("two.yaml", TWO)
    ref = None
    for ranks in (1, 2, 4):
        p = run(["--scenario", path, "--out", "", "--routing", "ecmp"], ranks=ranks)
        d, j = digest(p), jobs(p)
        check(d is not None and len(j) == 2, "%d rank(s): digest %s, jobs %s" % (ranks, d, j))
        if ref is None:
            ref = (d, j)
        else:
            check((d, j) == ref, "%d ranks: same digest and per-job figures as 1 rank" % ranks)


def case_single():
    # One job at GPU 0 is the plain run: the same events, the same digest.
    path = write("one.yaml", "scenario:\n  jobs:\n    - {workload: %s, placement: {first_gpu: 0}, iterations: 2}\n" % SMALL)
    plain = run(["--workload", SMALL, "--iterations", "2", "--out", ""], ranks=2)
    scen = run(["--scenario", path, "--out", ""], ranks=2)
    check(digest(plain) is not None and digest(plain) == digest(scen),
          "one-job scenario at GPU 0: digest %s, plain run %s" % (digest(scen), digest(plain)))
    # Rack 0 of colossus1-mini (8 servers of 8 GPUs) is GPUs 0..63: the same run again.
    path = write("rack.yaml", "scenario:\n  jobs:\n    - {workload: %s, placement: {racks: [0]}, iterations: 2}\n" % SMALL)
    rack = run(["--scenario", path, "--out", ""], ranks=2)
    check(digest(rack) == digest(plain), "one-job scenario on rack 0: digest %s" % digest(rack))
    # Scattered: the same seed gives the same domains (and digest) at 1 and 2 ranks, another seed others.
    sc = "scenario:\n  jobs:\n    - {workload: %s, placement: {scattered: {seed: %d}}}\n"
    d1 = digest(run(["--scenario", write("s1.yaml", sc % (SMALL, 1)), "--out", ""]))
    d1b = digest(run(["--scenario", write("s1.yaml", sc % (SMALL, 1)), "--out", ""], ranks=2))
    d2 = digest(run(["--scenario", write("s2.yaml", sc % (SMALL, 2)), "--out", ""]))
    check(d1 is not None and d1 == d1b and d2 != d1 and d1 != digest(plain),
          "scattered placement: seed 1 %s at 1 and %s at 2 ranks, seed 2 %s" % (d1, d1b, d2))
    m = re.search(r"iteration time\s+([\d.]+)", plain.stdout)
    check(m is not None and abs(float(m.group(1)) - list(jobs(scen).values())[0]) < 1e-9,
          "one-job scenario: the plain run's iteration time")
    # The same job placed elsewhere, alone: it runs, and its program starts late by `start`.
    path = write("moved.yaml", "scenario:\n  jobs:\n    - {workload: %s, placement: {domains: [5, 21, 37, 53, 6, 22, 38, 54]},"
                 " start: 20ms}\n" % SMALL)
    p = run(["--scenario", path, "--out", "moved.h5"])
    j = jobs(p)
    check(len(j) == 1 and 0.15 < list(j.values())[0] < 0.3, "a job on scattered domains runs: %s" % j)
    a = analyze("export-csv", "moved.h5", "--table", "/summary/iterations", "--out", "it.csv")
    rows = open("it.csv").read().splitlines() if a.returncode == 0 else []
    hdr = rows[0].split(",") if rows else []
    if rows:
        gi, bi = hdr.index("gpu"), hdr.index("begin_ps")
        gpus = {int(r.split(",")[gi]) for r in rows[1:]}
        begin = min(int(r.split(",")[bi]) for r in rows[1:])
        want = set()
        for d in (5, 21, 37, 53, 6, 22, 38, 54):
            want |= set(range(8 * d, 8 * d + 8))
        check(gpus == want, "/summary/iterations rows name the job's global GPUs")
        check(begin >= 20 * 10**9, "the job starts at 20 ms (first begin %d ps)" % begin)
    else:
        check(False, "export-csv of the scenario trace: %s" % a.stderr)


def case_analyze():
    path = write("two.yaml", TWO)
    p = run(["--scenario", path, "--out", "two.h5", "--summary-json", "two.json"], ranks=2)
    j = jobs(p)
    sj = json.load(open("two.json"))
    check(len(sj.get("jobs", [])) == 2 and sj["gpus"] == 128, "--summary-json: 2 jobs, 128 GPUs in all")
    for k, name in enumerate(("pre", "rl")):
        a = analyze("summary", "two.h5", "--job", str(k), "--format", "json")
        s = json.loads(a.stdout) if a.returncode == 0 else {}
        check(abs(s.get("iteration_seconds", -1) - j[name]) < 6e-5,
              "summary --job %d: %s s, the run printed %s s" % (k, s.get("iteration_seconds"), j[name]))
        check(s.get("gpus") == 64, "summary --job %d: 64 GPUs" % k)
        rj = sj["jobs"][k] if len(sj.get("jobs", [])) == 2 else {}
        for key in ("iteration_seconds", "mfu", "compute_share", "exposed_comm_share"):
            check(rj.get(key) == s.get(key), "summary --job %d %s = --summary-json's to the last bit (%r, %r)"
                  % (k, key, s.get(key), rj.get(key)))
    a = analyze("summary", "two.h5")
    check(a.returncode != 0 and "--job" in a.stderr, "summary of a scenario trace asks for --job")
    a = analyze("summary", "two.h5", "--job", "2")
    check(a.returncode != 0 and "0..1" in a.stderr, "--job out of range refused")


def case_power():
    # One power model over every job's GPUs: the same figures at 1 and 2
    # ranks; extrapolated to the site only by site GPUs / the jobs' span.
    path = write("two.yaml", TWO)
    pw = []
    for ranks in (1, 2):
        p = run(["--scenario", path, "--out", "", "--power-bin", "10ms"], ranks=ranks)
        lines = [l for l in p.stdout.splitlines() if l.strip().startswith(("power", "site power", "energy", "supply"))
                 or "EXTRAPOLATED" in l]
        pw.append(lines)
    check(len(pw[0]) >= 4 and pw[0] == pw[1], "power lines identical at 1 and 2 ranks: %s" % pw[0][:2])
    check(any("576 GPUs" in l for l in pw[0]) and any("1024 site GPUs / 576 job GPUs" in l for l in pw[0]),
          "power covers the jobs' span (GPUs 0..575, idle ones between) and says the site is extrapolated x 1024/576")
    p = run(["--scenario", SRC + "/scenarios/site-lockstep.yaml", "--out", "", "--power-bin", "10ms"])
    check(any("the job is the whole site" in l for l in p.stdout.splitlines()) and "EXTRAPOLATED" not in p.stdout,
          "four jobs filling the site: site power from what runs, not extrapolated")


INFER = """kind: inference
name: serve
gpus: 16
model: {name: m, layers: 4, hidden: 4096, ffn_hidden: 14336, heads: 32, kv_heads: 8, vocab: 128256}
parallelism: {tp: 8, dp: 2}
requests:
  count: 32
  prompt_tokens: {dist: uniform, min: 128, max: 1024}
  output_tokens: {dist: lognormal, mean: 24, sigma: 0.5, min: 4, max: 64}
  seed: 5
batching: {mode: continuous, max_batch: 8}
"""


def rl_small():
    text = open(SRC + "/workloads/rl-llama3-8b.yaml").read()
    return text.replace("count: 64", "count: 32").replace("max: 512}", "max: 96}").replace("mean: 128,", "mean: 32,")


def case_kinds():
    write("serve.yaml", INFER)
    write("rl.yaml", rl_small())
    path = write("kinds.yaml", "scenario:\n  jobs:\n"
                 "    - {name: pre, workload: %s, placement: {first_gpu: 0}}\n"
                 "    - {name: serve, workload: serve.yaml, placement: {first_gpu: 64}}\n"
                 "    - {name: rl, workload: rl.yaml, placement: {first_gpu: 128}, iterations: 2}\n" % SMALL)
    ref = None
    for ranks in (1, 2):
        p = run(["--scenario", path, "--out", "", "--routing", "ecmp", "--summary-json", "k%d.json" % ranks], ranks=ranks)
        sj = json.load(open("k%d.json" % ranks))
        figs = [sj["jobs"][1].get("inference"), sj["jobs"][2].get("rl")]
        check(digest(p) is not None and len(jobs(p)) == 3 and None not in figs,
              "%d rank(s): 3 jobs, digest %s, inference and rl figures in the JSON" % (ranks, digest(p)))
        check("TTFT" in p.stdout and "RL step split" in p.stdout, "%d rank(s): the jobs' TTFT and RL lines" % ranks)
        if ref is None:
            ref = (digest(p), jobs(p), figs)
        else:
            check((digest(p), jobs(p), figs) == ref, "2 ranks: same digest and figures as 1 rank")
    one = write("rl-one.yaml", "scenario:\n  jobs:\n    - {workload: rl.yaml, placement: {first_gpu: 0}, iterations: 2}\n")
    plain = run(["--workload", "rl.yaml", "--iterations", "2", "--out", ""])
    scen = run(["--scenario", one, "--out", ""])
    check(digest(plain) is not None and digest(plain) == digest(scen),
          "an RL job alone at GPU 0: the plain run's digest (%s, %s)" % (digest(scen), digest(plain)))
    bad = write("bad-kind.yaml", "scenario:\n  jobs:\n    - {workload: serve.yaml, placement: {first_gpu: 0}, iterations: 2}\n")
    p = run(["--scenario", bad, "--out", ""], ok=False)
    check(p.returncode != 0 and re.search(r"bad-kind.yaml:3: .*iterations", p.stderr) is not None,
          "an inference job with 2 iterations refused: %s" % p.stderr.strip())


{"errors": case_errors, "ranks": case_ranks, "single": case_single, "analyze": case_analyze,
 "power": case_power, "kinds": case_kinds}[CASE]()
cxtest.done()
