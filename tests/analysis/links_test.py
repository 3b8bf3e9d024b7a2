#!/usr/bin/python3
"""colossim-analyze on a 1,024-GPU job (ctest, tests/analysis/CMakeLists.txt).

    links_test.py MPIEXEC COLOSSIM ANALYZE WORKDIR TOPOLOGY WORKLOAD CASE

The job is tests/analysis/small-1024.yaml on topologies/colossus1-mini.yaml
(1,024 GPUs, TP 8 / PP 2 / DP 64: DP rings cross leaves, spines and cores),
2 iterations, --trace-level links, 1 ms link bins.

CASE:
  traces    (fixture) the job under mpirun at 4 ranks with --routing ecmp and
            --summary-json (run stdout kept), and at 1 rank with --routing spray
  summary   `summary --format json` of the 4-rank trace equals the run's own
            --summary-json (relative 1e-9), and the table output repeats the
            run's printed end-of-run summary lines
  links     `links` (table, json) runs; every utilisation is in [0, 1.0001];
            per-class bytes of /links/bins equal those of /links/ports
            exactly (h5py) and the json says so; run utilisation and raw bin
            maxima match a numpy recomputation; traffic reaches switch tiers 1-3
  ecmp      ECMP imbalance (up ports, per tier: mean, p99, max) under
            --routing ecmp >= under --routing spray, and > 1.05 for ecmp
  plot      `plot` writes links_heatmap.png for a links trace, and not for a
            trace without /links
  errors    bad --format / --top, a missing file, a trace without /links
  synthetic (no fixture) a hand-made trace with known answers: the spill of
            over-full bins, percentiles, span, top links, imbalance; a bin
            row without its port fails with one clear error
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from cxtest import empty_dir, fail, main, run

MPIEXEC, COLOSSIM, ANALYZE, WORK, TOPO, WORKLOAD, CASE = sys.argv[1:8]
ITERS = "2"
SUMMARY_KEYS = ("iteration_seconds", "tokens_per_second", "tflops_per_gpu", "mfu",
                "compute_share", "exposed_comm_share", "bubble_share",
                "tokens_per_iteration", "model_flops_per_iteration", "first_iteration_seconds")
RUN_LINES = ("  iteration time", "  tokens/s", "  TFLOPs/GPU", "  MFU", "  time breakdown")
TOL = 1.0001


def path(name):
    return os.path.join(WORK, name)


ECMP, SPRAY = path("k1024_ecmp_np4.h5"), path("k1024_spray_np1.h5")
SJSON, SOUT = path("k1024_ecmp_np4.json"), path("k1024_ecmp_np4.stdout")


def need(*files):
    for p in files:
        if not os.path.exists(p):
            fail("fixture file %s missing (run the an.k1024.traces test first)" % p)


def close(a, b, rel=1e-9):
    return a == b or abs(a - b) <= rel * max(abs(a), abs(b))


def job(out, routing):
    return [COLOSSIM, "run", "--topology", TOPO, "--workload", WORKLOAD, "--iterations", ITERS,
            "--trace-level", "links", "--link-bin", "1ms", "--routing", routing, "--out", out, "--progress", "0"]


def case_traces():
    os.makedirs(WORK, exist_ok=True)
    for p in (ECMP, SPRAY, SJSON, SOUT, ECMP + ".partial", SPRAY + ".partial"):
        if os.path.exists(p):
            os.remove(p)
    p = run([MPIEXEC, "--oversubscribe", "-np", "4"] + job(ECMP, "ecmp") + ["--summary-json", SJSON])
    with open(SOUT, "w") as fh:
        fh.write(p.stdout)
    print("1,024 GPUs, ecmp, 4 ranks: %.1f s" % p.seconds)
    p = run(job(SPRAY, "spray"))
    print("1,024 GPUs, spray, 1 rank: %.1f s" % p.seconds)
    need(ECMP, SPRAY, SJSON)


def case_summary():
    need(ECMP, SJSON, SOUT)
    ref = json.load(open(SJSON))
    p = run([ANALYZE, "summary", ECMP, "--format", "json"])
    got = json.loads(p.stdout)
    if got["gpus"] != 1024 or got["ranks"] != 4 or ref["ranks"] != 4:
        fail("expected 1024 GPUs at 4 ranks: %r / %r" % ((got["gpus"], got["ranks"]), ref["ranks"]))
    for k in SUMMARY_KEYS + ("gpus", "iterations", "complete"):
        if k not in got:
            fail("summary json lacks key %s" % k)
        if isinstance(ref[k], (bool, int)):
            if got[k] != ref[k]:
                fail("%s = %r, run said %r" % (k, got[k], ref[k]))
        elif not close(got[k], ref[k]):
            fail("%s = %.17g, run said %.17g" % (k, got[k], ref[k]))
    table = run([ANALYZE, "summary", ECMP]).stdout.splitlines()
    printed = [l for l in open(SOUT).read().splitlines() if l.startswith(RUN_LINES)]
    if len(printed) != len(RUN_LINES):
        fail("run stdout lacks its summary lines:\n" + open(SOUT).read())
    for l in printed:
        if l not in table:
            fail("run printed %r, analyzer table lacks it:\n%s" % (l, "\n".join(table)))
    print("1,024 GPUs at 4 ranks: summary json equals --summary-json (%s); %d printed lines repeated (%.2f s)" %
          (", ".join("%s=%.6g" % (k, got[k]) for k in SUMMARY_KEYS[:4]), len(printed), p.seconds))


def in_range(what, v):
    if not (0.0 <= v <= TOL):
        fail("%s = %r outside [0, %g]" % (what, v, TOL))


def case_links():
    import h5py
    import numpy as np
    need(ECMP, SPRAY)
    for tr in (ECMP, SPRAY):
        tab = run([ANALYZE, "links", tr, "--top", "5"])
        if "ECMP imbalance" not in tab.stdout or "top 5 links" not in tab.stdout:
            fail("table output unexpected:\n" + tab.stdout)
        p = run([ANALYZE, "links", tr, "--format", "json", "--top", "20"])
        j = json.loads(p.stdout)
        for k in ("file", "complete", "link_bin_seconds", "span_seconds", "ports", "bin_rows", "bytes_match",
                  "classes", "top", "ecmp_imbalance"):
            if k not in j:
                fail("links json lacks %s" % k)
        if not j["bytes_match"]:
            fail("analyzer says bytes of bins and ports differ")
        with h5py.File(tr, "r") as f:
            bins = f["links/bins"][:]
            ports = f["links/ports"][:]
            bin_ps = int(f["meta"].attrs["link_bin_ps"])
        if bin_ps != 10 ** 9 or not close(j["link_bin_seconds"], 1e-3):
            fail("link_bin_ps %d, json %r" % (bin_ps, j["link_bin_seconds"]))
        # Per class: bytes of /links/bins == bytes of /links/ports, exactly (integers).
        for c in range(6):
            bb = int(bins["bytes"][bins["cls"] == c].sum(dtype=np.uint64))
            pb = int(ports["bytes"][ports["cls"] == c].sum(dtype=np.uint64))
            if bb != pb:
                fail("class %d: %d bytes in /links/bins, %d in /links/ports" % (c, bb, pb))
            jb = sum(g["bytes"] for g in j["classes"] if g["cls"] == c)
            jbb = sum(g["bin_bytes"] for g in j["classes"] if g["cls"] == c)
            if jb != pb or jbb != bb:
                fail("class %d: json bytes %d / bin_bytes %d, h5py %d" % (c, jb, jbb, pb))
        tiers = {(g["cls"], g["tier"]) for g in j["classes"]}
        for want in ((4, 1), (4, 2), (5, 2), (5, 3)):
            if want not in tiers:
                fail("no traffic on class %d tier %d: %r" % (want + (sorted(tiers),)))
        if j["ports"] != len(ports) or j["bin_rows"] != len(bins):
            fail("ports %d / bin rows %d, tables have %d / %d" % (j["ports"], j["bin_rows"], len(ports), len(bins)))
        span = j["span_seconds"]
        for g in j["classes"]:
            name = "%s tier %d" % (g["class"], g["tier"])
            bu, ru = g["bin_utilization"], g["run_utilization"]
            for k in ("p50", "p90", "p99", "max", "mean"):
                in_range("%s bin %s" % (name, k), bu[k])
                in_range("%s run %s" % (name, k), ru[k])
            if not (bu["p50"] <= bu["p90"] <= bu["p99"] <= bu["max"]) or not (ru["p50"] <= ru["p90"] <= ru["p99"] <= ru["max"]):
                fail("%s: percentiles out of order: %r" % (name, g))
            if g["bins"] < g["bin_rows"] or g["bins"] == 0:
                fail("%s: %d spilled bins < %d rows" % (name, g["bins"], g["bin_rows"]))
            # numpy: run utilisation per port and the raw (as written) bin maximum.
            pm = (ports["cls"] == g["cls"]) & (ports["tier"] == g["tier"])
            run_u = ports["bytes"][pm] / (ports["bandwidth"][pm] * span)
            if int(pm.sum()) != g["ports"] or not close(float(run_u.max()), ru["max"], 1e-9):
                fail("%s: run max %r, numpy %r" % (name, ru["max"], float(run_u.max())))
            bw = {(int(d), int(p)): b for d, p, b in zip(ports["dev"][pm], ports["port"][pm], ports["bandwidth"][pm])}
            bm = (bins["cls"] == g["cls"]) & (bins["tier"] == g["tier"])
            raw = max(int(x) / (bw[(int(d), int(p))] * 1e-3) for d, p, x in
                      zip(bins["dev"][bm], bins["port"][bm], bins["bytes"][bm]))
            if not close(raw, bu["raw_max"], 1e-9):
                fail("%s: raw_max %r, numpy %r" % (name, bu["raw_max"], raw))
        if len(j["top"]) != 20:
            fail("--top 20 gave %d links" % len(j["top"]))
        prev = None
        for t in j["top"]:
            in_range("top mean", t["mean_utilization"])
            in_range("top peak", t["peak_utilization"])
            if t["peak_utilization"] + 1e-12 < t["mean_utilization"] * span / (span + 1e-3):
                fail("peak below mean: %r" % t)
            if prev is not None and t["mean_utilization"] > prev + 1e-15:
                fail("top not sorted by mean utilisation")
            prev = t["mean_utilization"]
        print("%s: %d ports, %d bin rows, %d (class, tier) groups in [0, %g], bytes of bins == ports per class; "
              "links json %.2f s, table %.2f s" % (os.path.basename(tr), j["ports"], j["bin_rows"], len(j["classes"]),
                                                   TOL, p.seconds, tab.seconds))


def imbalance(tr):
    j = json.loads(run([ANALYZE, "links", tr, "--format", "json"]).stdout)
    return {u["tier"]: u for u in j["ecmp_imbalance"]["up"]}, j["ecmp_imbalance"]["down_parallel"]


def case_ecmp():
    need(ECMP, SPRAY)
    e, ed = imbalance(ECMP)
    s, sd = imbalance(SPRAY)
    if not e or set(e) != set(s):
        fail("up-port imbalance tiers: ecmp %r, spray %r" % (sorted(e), sorted(s)))
    for tier in sorted(e):
        for k in ("mean", "p99", "max"):
            if e[tier][k] < s[tier][k]:
                fail("tier %d %s: ecmp %.4f < spray %.4f" % (tier, k, e[tier][k], s[tier][k]))
        if e[tier]["mean"] < 1.05:
            fail("tier %d: ecmp imbalance %.4f, expected > 1.05" % (tier, e[tier]["mean"]))
        print("up ports tier %d: max/mean bytes ecmp mean %.3f p99 %.3f max %.3f | spray mean %.3f p99 %.3f max %.3f"
              % (tier, e[tier]["mean"], e[tier]["p99"], e[tier]["max"], s[tier]["mean"], s[tier]["p99"], s[tier]["max"]))
    for name, d in (("ecmp", ed), ("spray", sd)):
        for g in d:
            print("%s parallel down links tier %d: %d groups of %.2f, mean %.3f max %.3f" %
                  (name, g["tier"], g["groups"], g["links_mean"], g["mean"], g["max"]))


def case_plot():
    need(SPRAY)
    out = path("k1024_plots")
    empty_dir(out)
    p = run([ANALYZE, "plot", SPRAY, "--out", out])
    png = os.path.join(out, "links_heatmap.png")
    if not os.path.exists(png) or os.path.getsize(png) < 1000:
        fail("%s missing or empty:\n%s" % (png, p.stdout))
    with open(png, "rb") as fh:
        if fh.read(8) != b"\x89PNG\r\n\x1a\n":
            fail("%s is not a PNG" % png)
    print("links_heatmap.png: %d bytes (plot %.1f s)" % (os.path.getsize(png), p.seconds))
    # Without /links: no heatmap, and the plot still succeeds.
    plain, out2 = path("k64_summary.h5"), path("k64_plots")
    run([COLOSSIM, "run", "--out", plain, "--progress", "0"])
    if os.path.isdir(out2):
        for x in os.listdir(out2):
            os.remove(os.path.join(out2, x))
    p = run([ANALYZE, "plot", plain, "--out", out2])
    if os.path.exists(os.path.join(out2, "links_heatmap.png")) or "links_heatmap.png skipped" not in p.stdout:
        fail("heatmap for a trace without /links:\n" + p.stdout)
    print("no /links: heatmap skipped")


def case_errors():
    need(SPRAY)
    run([ANALYZE, "links", SPRAY, "--format", "yaml"], expect=2)
    csv_rows = run([ANALYZE, "links", SPRAY, "--format", "csv"]).stdout.strip().splitlines()
    if len(csv_rows) < 3 or not csv_rows[0].startswith("class,cls,tier,ports,bytes"):
        fail("links --format csv: %r" % csv_rows[:2])
    run([ANALYZE, "links", SPRAY, "--format", "xml"], expect=2)
    run([ANALYZE, "links", SPRAY, "--top", "0"], expect=2)
    run([ANALYZE, "links", SPRAY, "--bogus", "1"], expect=2)
    run([ANALYZE, "links"], expect=2)
    run([ANALYZE, "links", "--help"])
    r = run([ANALYZE, "links", path("nope.h5")], expect=1)
    if "nope.h5" not in r.stderr:
        fail("missing file: " + r.stderr)
    plain = path("k64_nolinks.h5")
    run([COLOSSIM, "run", "--out", plain, "--progress", "0"])
    r = run([ANALYZE, "links", plain], expect=2)
    if "trace has no /links data" not in r.stderr:
        fail("no /links: " + r.stderr)
    print("links: usage errors exit 2, missing file exit 1, no /links exit 2")


def case_synthetic():
    """A hand-made trace with known answers: spill, percentiles, span, imbalance."""
    import h5py
    import numpy as np
    p = path("links_synthetic.h5")
    bt = np.dtype([("dev", "<u8"), ("port", "<u4"), ("cls", "u1"), ("tier", "u1"), ("start_ps", "<i8"), ("bytes", "<u8")])
    pt = np.dtype([("dev", "<u8"), ("port", "<u4"), ("peer_dev", "<u8"), ("peer_port", "<u4"), ("cls", "u1"),
                   ("tier", "u1"), ("bandwidth", "<f8"), ("latency_ps", "<i8"), ("bytes", "<u8"), ("chunks", "<u8")])
    it = np.dtype([("gpu", "<u8"), ("iteration", "<u4"), ("begin_ps", "<i8"), ("end_ps", "<i8")])
    ms = 10 ** 9
    # port (dev 1, 0): 1e9 B/s, 1 ms bins -> 1e6 bytes per bin.  Written: bin 0 0.5e6, bin 2 1.5e6,
    # bin 3 1.8e6 (raw max 1.8).  Spilled latest first: bin 3 1.0 (carry 0.8), bin 2 1.0 (carry 1.3),
    # bin 1 1.0 (carry 0.3), bin 0 0.8.  Run: 3.8e6 / (1e9 x 4 ms) = 0.95.
    bins = [(1, 0, 2, 0, 0, 500000), (1, 0, 2, 0, 3 * ms + 7, 1800000), (1, 0, 2, 0, 2 * ms, 1500000),
            # switch 100, tier 1: up ports 0 (3e6 bytes) and 1 (1e6): max/mean 1.5
            (100, 0, 4, 1, 0, 1000000), (100, 0, 4, 1, ms, 1000000), (100, 0, 4, 1, 2 * ms, 1000000),
            (100, 1, 4, 1, 0, 1000000),
            # switch 200, tier 2: two parallel down links to 100 (1e6, 3e6: ratio 1.5), one to 101
            (200, 0, 5, 2, 0, 1000000), (200, 1, 5, 2, 0, 1000000), (200, 1, 5, 2, ms, 1000000),
            (200, 1, 5, 2, 2 * ms, 1000000),
            (200, 2, 5, 2, 0, 5)]
    ports = [(1, 0, 100, 5, 2, 0, 1e9, 1000, 3800000, 4),
             (100, 0, 200, 0, 4, 1, 1e9, 1000, 3000000, 3), (100, 1, 201, 0, 4, 1, 1e9, 1000, 1000000, 1),
             (200, 0, 100, 0, 5, 2, 1e9, 1000, 1000000, 1), (200, 1, 100, 1, 5, 2, 1e9, 1000, 3000000, 3),
             (200, 2, 101, 0, 5, 2, 1e9, 1000, 5, 1)]
    with h5py.File(p, "w") as f:
        m = f.create_group("meta")
        m.attrs["schema_version"] = np.int64(1)
        m.attrs["complete"] = np.int64(1)
        m.attrs["link_bin_ps"] = np.int64(ms)
        f.create_dataset("summary/iterations", data=np.array([(0, 0, 0, 4 * ms)], dtype=it))
        f.create_dataset("links/bins", data=np.array(bins, dtype=bt))
        f.create_dataset("links/ports", data=np.array(ports, dtype=pt))
    j = json.loads(run([ANALYZE, "links", p, "--format", "json", "--top", "2"]).stdout)
    cl = {(g["cls"], g["tier"]): g for g in j["classes"]}
    a = cl[(2, 0)]
    want = {"p50": 1.0, "p90": 1.0, "p99": 1.0, "max": 1.0, "mean": 0.95, "raw_max": 1.8}
    for k, v in want.items():
        if not close(a["bin_utilization"][k], v, 1e-12):
            fail("synthetic nic->leaf bin %s = %r, expected %r" % (k, a["bin_utilization"][k], v))
    if a["bins"] != 4 or a["bin_rows"] != 3 or not close(a["run_utilization"]["max"], 0.95, 1e-12):
        fail("synthetic nic->leaf: %r" % a)
    if not close(j["span_seconds"], 4e-3, 1e-12) or not j["bytes_match"]:
        fail("synthetic span / bytes: %r" % j)
    up = j["ecmp_imbalance"]["up"]
    if len(up) != 1 or up[0]["tier"] != 1 or up[0]["switches"] != 1 or not close(up[0]["max"], 1.5, 1e-12):
        fail("synthetic up imbalance: %r" % up)
    dn = j["ecmp_imbalance"]["down_parallel"]
    if len(dn) != 1 or dn[0]["tier"] != 2 or dn[0]["groups"] != 1 or not close(dn[0]["max"], 1.5, 1e-12) \
            or dn[0]["links_mean"] != 2:
        fail("synthetic down imbalance: %r" % dn)
    top = j["top"]
    if [(t["dev"], t["port"]) for t in top] != [(1, 0), (100, 0)] or not close(top[0]["peak_utilization"], 1.0, 1e-12):
        fail("synthetic top: %r" % top)
    # A bins row for a port missing from /links/ports: clear error, exit 1.
    with h5py.File(p, "a") as f:
        del f["links/ports"]
        f.create_dataset("links/ports", data=np.array(ports[1:], dtype=pt))
    r = run([ANALYZE, "links", p], expect=1)
    if "no such port" not in r.stderr or len(r.stderr.strip().splitlines()) != 1:
        fail("orphan bin row: " + r.stderr)
    print("synthetic trace: spill, percentiles, run span, top, up and parallel-down imbalance as computed by hand")


CASES = {"synthetic": case_synthetic, "traces": case_traces, "summary": case_summary, "links": case_links, "ecmp": case_ecmp,
         "plot": case_plot, "errors": case_errors}

if __name__ == "__main__":
    main(CASES, CASE, WORK)
