#!/usr/bin/python3
"""colossim run --faults: bad files, determinism, what faults do, and finding
them again with colossim-analyze.

usage: faults_test.py MPIEXEC COLOSSIM ANALYZE SOURCE_DIR WORKDIR CASE
CASE: errors | ranks | stragglers | stop | reroute | random
The 1,024-GPU job is tests/analysis/small-1024.yaml on colossus1-mini
(about 1-2 s a run on one rank).
"""
import json
import os
import random
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import cxtest
from cxtest import check, write

MPI, BIN, ANA, SRC, WORK, CASE = sys.argv[1:7]
TOPO = SRC + "/topologies/colossus1-mini.yaml"
JOB = SRC + "/tests/analysis/small-1024.yaml"
BASE = ["--topology", TOPO, "--workload", JOB, "--progress", "0", "--power-bin", "0"]
os.makedirs(WORK, exist_ok=True)
os.chdir(WORK)
def run(args, ranks=1, ok=True):
    return cxtest.colossim_run(BIN, args, ranks, MPI if ranks > 1 else None, expect=0 if ok else None)


def summary(name):
    with open(name) as f:
        return json.load(f)


def analyze(*args):
    return cxtest.run([ANA] + list(args), expect=None)


def case_errors():
    bad = [
        ("faults:\n  - {kind: gpu_melt, gpu: 3}\n", 2, "kind"),
        ("faults:\n  - {kind: gpu_fail, gpu: 3, at: 50s}\n", 2, "at"),
        ("faults:\n  - {kind: gpu_fail, gpu: 5000}\n", 2, "gpu"),
        ("faults:\n  - {kind: switch_down, device: 99999}\n", 2, "device"),
        ("faults:\n  - {kind: link_down, device: 1100, port: 999}\n", 2, "port"),
        ("faults:\n  - {kind: switch_down, tier: 2, index: 64}\n", 2, "index"),
        ("faults:\n  - {kind: switch_down, device: 0}\n", 2, "device"),
        ("faults:\n  - {kind: gpu_slow, gpu: 1, factor: -2}\n", 2, "factor"),
        ("faults:\n  - {kind: link_degraded, gpu: 1, factor: .nan}\n", 2, "factor"),
        ("faults:\n  - {kind: gpu_fail, gpu: 1, colour: red}\n", 2, "colour"),
        ("random:\n  seed: 3\n  gpu_fail: -1\n", 3, "gpu_fail"),
        ("random:\n  seed: 3\n  link_down: .nan\n", 3, "link_down"),
        ("random:\n  over: 100s\n  gpu_slow: 1\n", 2, "over"),
        ("random:\n  gpu_slow: 1e12\n", 2, "gpu_slow"),
    ]
    for i, (text, line, field) in enumerate(bad):
        name = write("bad%d.yaml" % i, text)
        p = run(BASE + ["--faults", name, "--out", "bad%d.h5" % i], ok=False)
        msg = p.stderr.strip().splitlines()[-1] if p.stderr.strip() else ""
        check(p.returncode == 2 and ("%s:%d:" % (name, line)) in msg and field in msg
              and not os.path.exists("bad%d.h5" % i) and not os.path.exists("bad%d.h5.partial" % i),
              "%r -> %s" % (text.strip().replace("\n", " | "), msg))


def case_ranks():
    f = write("mix.yaml", "faults:\n"
              "  - {kind: gpu_slow, gpu: 517, factor: 1.3}\n"
              "  - {kind: link_degraded, gpu: 20, factor: 0.5}\n"
              "  - {kind: link_down, tier: 2, index: 3, port: 20, at: 1ms}\n"
              "  - {kind: link_down, tier: 1, index: 9, port: 17}\n"
              "  - {kind: switch_down, tier: 3, index: 5, at: 20ms}\n"
              "random:\n  seed: 11\n  over: 100ms\n  link_degraded: 2\n  gpu_slow: 2\n")
    run(BASE + ["--out", "", "--summary-json", "r0.json"])
    d = {}
    for r in (1, 2, 4):
        run(BASE + ["--faults", f, "--out", "", "--summary-json", "r%d.json" % r], ranks=r)
        d[r] = summary("r%d.json" % r)
    check(d[1]["digest"] == d[2]["digest"] == d[4]["digest"],
          "faults injected: digest %s at 1, %s at 2, %s at 4 ranks" % (d[1]["digest"], d[2]["digest"], d[4]["digest"]))
    for routing in ("ecmp", "spray"):
        dd = []
        for r in (1, 2):
            run(BASE + ["--faults", f, "--out", "", "--routing", routing, "--summary-json", "q%d.json" % r], ranks=r)
            dd.append(summary("q%d.json" % r)["digest"])
        check(dd[0] == dd[1], "%s with faults: digest %s at 1 and 2 ranks" % (routing, dd))
    h = summary("r0.json")
    check(d[1]["digest"] != h["digest"] and d[1]["iteration_seconds"] > h["iteration_seconds"],
          "the faults change the run: %.4f s -> %.4f s per iteration" % (h["iteration_seconds"],
                                                                        d[1]["iteration_seconds"]))
    check(d[1]["events"] <= 1.10 * h["events"],
          "events with faults %d vs %d without (+%.2f%%); wall %.2f s vs %.2f s" % (
              d[1]["events"], h["events"], 100.0 * (d[1]["events"] / h["events"] - 1), d[1]["wall_seconds"],
              h["wall_seconds"]))


def case_stragglers():
    rng = random.Random()
    seed = rng.randrange(1 << 30)
    rng = random.Random(seed)
    gpu = rng.randrange(1024)
    factor = round(rng.uniform(1.15, 1.6), 3)
    f = write("slow.yaml", "faults:\n  - {kind: gpu_slow, gpu: %d, factor: %s}\n" % (gpu, factor))
    run(BASE + ["--faults", f, "--out", "slow.h5"])
    p = analyze("stragglers", "slow.h5", "--format", "json")
    sus = json.loads(p.stdout).get("suspects", []) if p.returncode == 0 else []
    gpus = [s["gpu"] for s in sus if s["component"] == "gpu"]
    check(gpus == [gpu], "test seed %d: slow GPU %d (x%s) named: %s" % (seed, gpu, factor, gpus))
    if gpus == [gpu]:
        s = sus[0]
        check(abs(s["kernel_ratio"] - factor) < 0.01 and 0 < s["share_of_iteration"] < 1,
              "its kernels x%.3f, %.1f%% of the iteration" % (s["kernel_ratio"], 100 * s["share_of_iteration"]))
    t = analyze("stragglers", "slow.h5")
    check(("GPU %d " % gpu) in t.stdout, "the table names it too")
    # A degraded NIC link of another random GPU, found from link rates.
    g2 = (gpu + 1 + rng.randrange(1023)) % 1024
    f = write("deg.yaml", "faults:\n  - {kind: link_degraded, gpu: %d, factor: 0.4}\n" % g2)
    run(BASE + ["--faults", f, "--out", "deg.h5", "--trace-level", "links"])
    truth = json.loads(analyze("faults", "deg.h5", "--format", "json").stdout)["faults"][0]
    p = analyze("stragglers", "deg.h5", "--format", "json")
    sus = json.loads(p.stdout).get("suspects", []) if p.returncode == 0 else []
    links = sorted((s["device"], s["port"]) for s in sus if s["component"] == "link")
    want = sorted([(truth["device"], truth["port"]), (truth["peer_device"], truth["peer_port"])])
    check(links == want and not [s for s in sus if s["component"] == "gpu"],
          "GPU %d's degraded link %s named: %s" % (g2, want, links))


def case_stop():
    f = write("fail.yaml", "faults:\n  - {kind: gpu_slow, gpu: 40, factor: 1.2}\n"
              "  - {kind: gpu_fail, gpu: 700, at: 50ms}\n  - {kind: nic_down, gpu: 3, at: 80ms}\n")
    p = run(BASE + ["--faults", f, "--out", "fail.h5", "--summary-json", "fail.json"])
    check("STOPPED at 0.050000 s: gpu_fail of GPU 700" in p.stdout, "the run says the job stopped at 50 ms")
    s = summary("fail.json")
    check(s["iterations"] == 0, "no iteration finished before the failure")
    rows = json.loads(analyze("faults", "fail.h5", "--format", "json").stdout)["faults"]
    acts = [(r["kind"], r["action"]) for r in rows]
    check(acts == [("gpu_slow", "slowed"), ("gpu_fail", "job stopped"), ("nic_down", "after the job stopped")],
          "/faults: %s" % acts)
    # A leaf switch with job GPUs on it stops the job; a spine does not.
    f = write("leaf.yaml", "faults:\n  - {kind: switch_down, tier: 1, index: 0, at: 10ms}\n")
    p = run(BASE + ["--faults", f, "--out", ""])
    check("STOPPED at 0.010000 s: switch_down" in p.stdout, "a leaf going down stops the job")


def case_reroute():
    # An up link of a leaf under the job's traffic, down from the start.
    f = write("down.yaml", "faults:\n  - {kind: link_down, tier: 1, index: 2, port: 20}\n"
              "  - {kind: switch_down, tier: 2, index: 6}\n")
    for routing in ("healthy", "ecmp", "adaptive", "spray"):
        out = "down-%s.h5" % routing
        if routing == "healthy":
            # Where the faults will be, without them (their rows come from the next run's /faults).
            p = run(BASE + ["--out", out, "--trace-level", "links", "--summary-json", "down-%s.json" % routing])
            healthy = out
            continue
        p = run(BASE + ["--faults", f, "--out", out, "--trace-level", "links", "--routing", routing,
                        "--summary-json", "down-%s.json" % routing])
        rows = json.loads(analyze("faults", out, "--format", "json").stdout)["faults"]
        dead = {(rows[0]["device"], rows[0]["port"]), (rows[0]["peer_device"], rows[0]["peer_port"])}
        sw = rows[1]["device"]
        cmd = ("import h5py,sys\nf=h5py.File(sys.argv[1],'r')\np=f['/links/ports'][:]\n"
               "for r in p:\n  print(int(r['dev']),int(r['port']),int(r['peer_dev']),int(r['bytes']))\n")
        ports = [tuple(map(int, l.split())) for l in
                 subprocess.run(["/usr/bin/python3", "-c", cmd, out], capture_output=True, text=True).stdout.split("\n")
                 if l.strip()]
        on_dead = sum(b for d, pt, pd, b in ports if (d, pt) in dead)
        on_sw = sum(b for d, pt, pd, b in ports if d == sw or pd == sw)
        if routing == "ecmp":
            hp = [tuple(map(int, l.split())) for l in
                  subprocess.run(["/usr/bin/python3", "-c", cmd, healthy], capture_output=True,
                                 text=True).stdout.split("\n") if l.strip()]
            h_dead = sum(b for d, pt, pd, b in hp if (d, pt) in dead)
            h_sw = sum(b for d, pt, pd, b in hp if d == sw or pd == sw)
            check(h_dead > 0 and h_sw > 0, "healthy: %d B on that link, %d B through that spine" % (h_dead, h_sw))
        total_up = sum(b for d, pt, pd, b in ports)
        s = summary("down-%s.json" % routing)
        check(on_dead == 0 and on_sw == 0 and total_up > 0 and s["iterations"] == 1,
              "%s: no byte on the down link or through the down spine (%d B elsewhere), iteration %.4f s" % (
                  routing, total_up, s["iteration_seconds"]))


def case_random():
    f = write("rnd.yaml", "random:\n  seed: 5\n  over: 150ms\n  gpu_slow: 100\n  link_degraded: 20\n"
              "  slow_factor: 1.25\n")
    a = run(BASE + ["--faults", f, "--out", "rnd1.h5", "--summary-json", "rnd1.json"])
    b = run(BASE + ["--faults", f, "--out", "rnd2.h5", "--summary-json", "rnd2.json"], ranks=2)
    fa = analyze("faults", "rnd1.h5", "--format", "json").stdout
    fb = analyze("faults", "rnd2.h5", "--format", "json").stdout
    ra = json.loads(fa)["faults"]
    check(len(ra) > 0 and all(r["random"] for r in ra), "%d faults drawn" % len(ra))
    check(json.loads(fa)["faults"] == json.loads(fb)["faults"] and
          summary("rnd1.json")["digest"] == summary("rnd2.json")["digest"],
          "the same faults and the same digest at 1 and 2 ranks")
    f2 = write("rnd-b.yaml", "random:\n  seed: 6\n  over: 150ms\n  gpu_slow: 100\n  link_degraded: 20\n"
               "  slow_factor: 1.25\n")
    run(BASE + ["--faults", f2, "--out", "rnd3.h5"])
    check(json.loads(analyze("faults", "rnd3.h5", "--format", "json").stdout)["faults"] != ra,
          "another seed, other faults")


{"errors": case_errors, "ranks": case_ranks, "stragglers": case_stragglers, "stop": case_stop,
 "reroute": case_reroute, "random": case_random}[CASE]()
cxtest.done()
