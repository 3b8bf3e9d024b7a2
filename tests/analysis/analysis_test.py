#!/usr/bin/python3
"""colossim-analyze end to end (ctest, tests/analysis/CMakeLists.txt).

    analysis_test.py MPIEXEC COLOSSIM ANALYZE WORKDIR CASE

CASE:
  traces      (fixture) default job, --trace-level ops, 2 iterations, at
              1 rank and under mpirun at 2 and 4 ranks, with --summary-json
  digest      `digest` equal across 1, 2, 4 ranks
  summary     `summary --format json` equals the run's --summary-json
              (relative 1e-9) at every rank count; table and csv work
  readable    every dataset opens and reads in h5py; `h5dump -H` exits 0
  perfetto    export parses as JSON and holds one op event per row of the
              selected GPUs (+ one per collective instance on the group tracks)
  plot        plot writes non-empty PNGs
  truncated   summary of a cut file / a non-HDF5 file / a missing file
              fails with one clear message naming the file
  sigterm     a run stopped with SIGTERM (exit 3) is read by summary and
              labelled incomplete
  commands    collectives, stragglers, diff, links behave
  csv         export-csv of /ops/gpu_ops (all, and --gpus 0-3) holds the
              table's rows and values; over --max-mb, into a missing
              directory or of an absent table: exit 2, one message, no file
  diff        diff of the default job against --routing ecmp --algo ring lists
              both options (A and B values) before the figures, in table,
              JSON and CSV, with collective time per class and phase; 1 vs 4
              ranks differ only in ranks; a trace against itself: the same
"""
import json
import os
import signal
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from cxtest import empty_dir, fail, main, run

MPIEXEC, COLOSSIM, ANALYZE, WORK, CASE = sys.argv[1:6]
NPS = (1, 2, 4)
SUMMARY_KEYS = ("iteration_seconds", "tokens_per_second", "tflops_per_gpu", "mfu",
                "compute_share", "exposed_comm_share", "bubble_share",
                "tokens_per_iteration", "model_flops_per_iteration", "first_iteration_seconds")


def trace(np_):
    return os.path.join(WORK, "run_np%d.h5" % np_)


def sjson(np_):
    return os.path.join(WORK, "run_np%d.json" % np_)


def need_traces():
    for n in NPS:
        if not os.path.exists(trace(n)):
            fail("fixture trace %s missing (run the an.traces test first)" % trace(n))


def case_traces():
    os.makedirs(WORK, exist_ok=True)
    for n in NPS:
        for p in (trace(n), trace(n) + ".partial", sjson(n)):
            if os.path.exists(p):
                os.remove(p)
        cmd = [COLOSSIM, "run", "--out", trace(n), "--trace-level", "ops", "--iterations", "2",
               "--summary-json", sjson(n), "--progress", "0"]
        if n > 1:
            cmd = [MPIEXEC, "--oversubscribe", "-np", str(n)] + cmd
        run(cmd)
        if not os.path.exists(trace(n)):
            fail("no trace written at np %d" % n)
    print("traces at np 1, 2, 4 written")


def case_digest():
    need_traces()
    digests = {}
    for n in NPS:
        out = run([ANALYZE, "digest", trace(n)]).stdout.strip().splitlines()
        last = out[-1].split()
        if last[0] != "digest" or len(last[1]) != 16:
            fail("unexpected digest output: %r" % out)
        digests[n] = last[1]
        j = json.loads(run([ANALYZE, "digest", trace(n), "--format", "json"]).stdout)
        if j["digest"] != last[1]:
            fail("json digest %s != table digest %s" % (j["digest"], last[1]))
        for t in ("/summary/iterations", "/summary/collectives", "/ops/gpu_ops"):
            if t not in j["tables"] or j["tables"][t]["rows"] <= 0:
                fail("digest misses table %s: %r" % (t, j["tables"].keys()))
    print("digests:", digests)
    if len(set(digests.values())) != 1:
        fail("digests differ across rank counts: %r" % digests)


def close(a, b):
    return a == b or abs(a - b) <= 1e-9 * max(abs(a), abs(b))


def case_summary():
    need_traces()
    for n in NPS:
        ref = json.load(open(sjson(n)))
        got = json.loads(run([ANALYZE, "summary", trace(n), "--format", "json"]).stdout)
        for k in SUMMARY_KEYS + ("gpus", "iterations", "complete"):
            if k not in got:
                fail("summary json lacks key %s" % k)
            if isinstance(ref[k], bool) or isinstance(ref[k], int):
                if got[k] != ref[k]:
                    fail("np %d: %s = %r, run said %r" % (n, k, got[k], ref[k]))
            elif not close(got[k], ref[k]):
                fail("np %d: %s = %.17g, run said %.17g" % (n, k, got[k], ref[k]))
        print("np %d: summary equals --summary-json (%s)" % (n, ", ".join("%s=%.6g" % (k, got[k]) for k in SUMMARY_KEYS[:4])))
    t = run([ANALYZE, "summary", trace(1)]).stdout
    if "MFU" not in t or "INCOMPLETE" in t:
        fail("table output unexpected:\n" + t)
    c = run([ANALYZE, "summary", trace(1), "--format", "csv"]).stdout.splitlines()
    if len(c) != 2 or "mfu" not in c[0].split(","):
        fail("csv output unexpected: %r" % c)
    run([ANALYZE, "summary", trace(1), "--format", "xml"], expect=2)


def case_readable():
    import h5py
    need_traces()
    for n in NPS:
        count = 0
        with h5py.File(trace(n), "r") as f:
            def visit(name, obj):
                nonlocal count
                if isinstance(obj, h5py.Dataset):
                    obj[()]
                    for a in obj.attrs:
                        obj.attrs[a]
                    count += 1
            f.visititems(visit)
            for a in f["meta"].attrs:
                f["meta"].attrs[a]
            if int(f["meta"].attrs["ranks"]) != n:
                fail("/meta/ranks = %r at np %d" % (f["meta"].attrs["ranks"], n))
        if count < 6:
            fail("only %d datasets in %s" % (count, trace(n)))
        run(["h5dump", "-H", trace(n)])
        print("np %d: %d datasets read by h5py, h5dump -H ok" % (n, count))


def case_perfetto():
    import h5py
    import numpy as np
    need_traces()
    out = os.path.join(WORK, "perfetto.json")
    for spec, gpus in (("0-63", list(range(64))), ("0-3,40", [0, 1, 2, 3, 40])):
        p = run([ANALYZE, "export-perfetto", trace(2), "--gpus", spec, "--out", out])
        with h5py.File(trace(2), "r") as f:
            ops = f["ops/gpu_ops"][:]
            coll = f["summary/collectives"][:]
        sel = np.isin(ops["gpu"], np.array(gpus, dtype=ops["gpu"].dtype))
        want_ops = int(sel.sum())
        want_coll = 0
        for r in coll:
            members = {int(r["group_base"]) + i * int(r["group_stride"]) for i in range(int(r["group_size"]))}
            if members & set(gpus):
                want_coll += 1
        d = json.load(open(out))
        ev = d["traceEvents"]
        xs = [e for e in ev if e["ph"] == "X"]
        op_ev = [e for e in xs if e["pid"] < 64]
        if len(op_ev) != want_ops:
            fail("--gpus %s: %d op events, expected %d (rows of the selected GPUs)" % (spec, len(op_ev), want_ops))
        if len(xs) - len(op_ev) != want_coll:
            fail("--gpus %s: %d collective-track events, expected %d" % (spec, len(xs) - len(op_ev), want_coll))
        if "wrote %d events" % len(xs) not in p.stdout:
            fail("printed count differs: %s" % p.stdout)
        if {e["pid"] for e in op_ev} != set(gpus):
            fail("processes %r != GPUs %r" % (sorted({e["pid"] for e in op_ev}), gpus))
        for e in xs[:1000]:
            if e["dur"] < 0 or "name" not in e or "ts" not in e:
                fail("bad event %r" % e)
        print("--gpus %s: %d op events + %d collective-track events, JSON parses" % (spec, len(op_ev), want_coll))
    run([ANALYZE, "export-perfetto", trace(1), "--gpus", "0-64", "--out", out], expect=2)


def case_plot():
    need_traces()
    out = os.path.join(WORK, "plots")
    empty_dir(out)
    run([ANALYZE, "plot", trace(1), "--out", out])
    for name in ("timeline.png", "breakdown.png", "coll_busbw.png"):
        p = os.path.join(out, name)
        if not os.path.exists(p) or os.path.getsize(p) < 1000:
            fail("%s missing or empty" % p)
        with open(p, "rb") as fh:
            if fh.read(8) != b"\x89PNG\r\n\x1a\n":
                fail("%s is not a PNG" % p)
    print("plots:", sorted(os.listdir(out)))


def case_truncated():
    need_traces()
    data = open(trace(1), "rb").read()
    cuts = {"head": len(data) // 2, "tail": len(data) - 4096, "tiny": 100}
    for what, n in cuts.items():
        p = os.path.join(WORK, "cut_%s.h5" % what)
        with open(p, "wb") as fh:
            fh.write(data[:n])
        r = run([ANALYZE, "summary", p], expect=None)
        if r.returncode == 0:
            fail("summary of a file cut to %d bytes succeeded:\n%s" % (n, r.stdout))
        lines = [l for l in r.stderr.splitlines() if l.strip()]
        if len(lines) != 1 or p not in lines[0] or "error" not in lines[0]:
            fail("expected one clear error naming %s, got:\n%s" % (p, r.stderr))
        if "HDF5-DIAG" in r.stderr:
            fail("HDF5 error stack leaked:\n" + r.stderr)
        print("cut to %d bytes: exit %d: %s" % (n, r.returncode, lines[0]))
    p = os.path.join(WORK, "not_hdf5.h5")
    with open(p, "w") as fh:
        fh.write("hello\n" * 100)
    r = run([ANALYZE, "summary", p], expect=1)
    if "not an HDF5 file" not in r.stderr:
        fail("non-HDF5: " + r.stderr)
    r = run([ANALYZE, "summary", os.path.join(WORK, "nope.h5")], expect=1)
    if "nope.h5" not in r.stderr:
        fail("missing file: " + r.stderr)
    # An HDF5 file that is not a colossim trace.
    import h5py
    p = os.path.join(WORK, "other.h5")
    with h5py.File(p, "w") as f:
        f["x"] = [1, 2, 3]
    r = run([ANALYZE, "summary", p], expect=1)
    if "not a colossim trace" not in r.stderr:
        fail("foreign HDF5: " + r.stderr)
    # A colossim-looking file missing its iterations table.
    p = os.path.join(WORK, "noiter.h5")
    with h5py.File(trace(1), "r") as src, h5py.File(p, "w") as f:
        src.copy("meta", f)
        src.copy("summary/collectives", f, name="summary/collectives")
    r = run([ANALYZE, "summary", p], expect=1)
    if "/summary/iterations" not in r.stderr:
        fail("missing table: " + r.stderr)
    print("non-HDF5, missing, foreign HDF5 and table-less files: clear errors")


def case_sigterm():
    out = os.path.join(WORK, "sigterm.h5")
    for p in (out, out + ".partial"):
        if os.path.exists(p):
            os.remove(p)
    cmd = [COLOSSIM, "run", "--iterations", "200", "--out", out, "--progress", "0.2"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
    # Progress: the trace's .partial file exists and some simulated time passed.
    t0 = time.time()
    while time.time() - t0 < 60 and not os.path.exists(out + ".partial"):
        time.sleep(0.05)
    time.sleep(1.5)
    if proc.poll() is not None:
        fail("run finished before SIGTERM (exit %d): make the job bigger" % proc.returncode)
    proc.send_signal(signal.SIGTERM)
    so, se = proc.communicate(timeout=300)
    if proc.returncode != 3:
        fail("SIGTERM'd run exit %d (expected 3)\n%s\n%s" % (proc.returncode, so, se))
    r = run([ANALYZE, "summary", out])
    if "INCOMPLETE: run stopped early" not in r.stdout or "INCOMPLETE" not in r.stderr:
        fail("not labelled incomplete:\n" + r.stdout + r.stderr)
    j = json.loads(run([ANALYZE, "summary", out, "--format", "json"]).stdout)
    if j["complete"] is not False or not (0 < j["iterations"] < 200) or j["iteration_seconds"] <= 0:
        fail("incomplete summary: %r" % j)
    print("SIGTERM after %d iterations: exit 3, summary labelled INCOMPLETE, iteration %.4f s" %
          (j["iterations"], j["iteration_seconds"]))


def case_commands():
    need_traces()
    c = json.loads(run([ANALYZE, "collectives", trace(1), "--format", "json"]).stdout)
    total = sum(g["count"] for g in c["groups"])
    if total != c["instances"] or total == 0:
        fail("collectives: groups count %d != instances %d" % (total, c["instances"]))
    for g in c["groups"]:
        t = g["time_us"]
        if not (t["p50"] <= t["p90"] <= t["p99"] <= t["max"]):
            fail("percentiles out of order: %r" % g)
    run([ANALYZE, "collectives", trace(1)])
    s = json.loads(run([ANALYZE, "stragglers", trace(1), "--top", "3", "--format", "json"]).stdout)
    if len(s["iterations"]) != 2 or len(s["iterations"][0]["slowest"]) != 3 or "slowest_profile" not in s["iterations"][0]:
        fail("stragglers: %r" % s)
    for it in s["iterations"]:
        cp = it["critical_path"]
        if not close(sum(cp["category_seconds"].values()), cp["seconds"]) or cp["seconds"] <= 0:
            fail("critical path categories do not add up: %r" % cp)
        if cp["seconds"] < cp["category_seconds"]["compute"]:
            fail("critical path shorter than its compute: %r" % cp)
    run([ANALYZE, "stragglers", trace(1)])
    d = json.loads(run([ANALYZE, "diff", trace(1), trace(4), "--format", "json"]).stdout)
    if not close(d["ratio_b_over_a"]["mfu"], 1.0):
        fail("diff of equal runs: mfu ratio %r" % d["ratio_b_over_a"]["mfu"])
    run([ANALYZE, "diff", trace(1), trace(4)])
    r = run([ANALYZE, "links", trace(1)], expect=2)
    if "trace has no /links data" not in r.stderr:
        fail("links: " + r.stderr)
    run([ANALYZE, "bogus"], expect=2)
    run([ANALYZE, "--help"])
    print("collectives, stragglers, diff, links ok")


def case_diff():
    """diff names what differs in the configuration before the figures."""
    need_traces()
    b = os.path.join(WORK, "diff_ecmp_ring.h5")
    run([COLOSSIM, "run", "--out", b, "--routing", "ecmp", "--algo", "ring", "--iterations", "2",
         "--trace-level", "ops", "--progress", "0"])
    r = run([ANALYZE, "diff", trace(1), b])
    lines = r.stdout.splitlines()
    cfg = lines.index("configuration differs:") if "configuration differs:" in lines else -1
    fig = lines.index("summary figures:") if "summary figures:" in lines else -1
    if cfg < 0 or fig < cfg:
        fail("diff does not list configuration differences before the figures:\n" + r.stdout)
    want = {"--routing": ("adaptive", "ecmp"), "--algo": ("auto", "ring")}
    for key, (va, vb) in want.items():
        row = [l.split() for l in lines[cfg:fig] if l.split()[:1] == [key]]
        if not row or row[0][1:3] != [va, vb]:
            fail("diff: no '%s %s %s' row:\n%s" % (key, va, vb, r.stdout))
    if "collective time" not in r.stdout or "dp reducescatter" not in r.stdout or "bwd" not in r.stdout:
        fail("diff: no per-class / per-phase collective time:\n" + r.stdout)
    j = json.loads(run([ANALYZE, "diff", trace(1), b, "--format", "json"]).stdout)
    keys = {d["key"]: (d["a"], d["b"]) for d in j["config"]["differences"]}
    if keys.get("--routing") != ("adaptive", "ecmp") or j["config"]["same"] is not False:
        fail("diff JSON config: %r" % j["config"])
    if not j["collective_classes"] or "time_ratio_b_over_a" not in j["collective_classes"][0]:
        fail("diff JSON collective_classes: %r" % j.get("collective_classes"))
    csv = run([ANALYZE, "diff", trace(1), b, "--format", "csv"]).stdout.splitlines()
    if '"config:--routing","adaptive","ecmp",' not in csv:
        fail("diff CSV: no config row:\n" + "\n".join(csv[:6]))
    # Runs at 1 and 4 ranks: same configuration but the rank count, which is said not to matter.
    r = run([ANALYZE, "diff", trace(1), trace(4)])
    if "ranks (results do not depend on it)" not in r.stdout or "--routing" in r.stdout:
        fail("diff of 1 vs 4 ranks:\n" + r.stdout)
    r = run([ANALYZE, "diff", trace(1), trace(1)])
    if "configuration: the same" not in r.stdout:
        fail("diff of a trace with itself:\n" + r.stdout)
    print("\n".join(lines[:cfg + 4]))
    print("PASS")


def case_csv():
    import csv as csvmod
    import h5py
    need_traces()
    with h5py.File(trace(1), "r") as f:
        ops = f["ops/gpu_ops"][:]
    for spec, sel in ((None, ops), ("0-3", ops[ops["gpu"] < 4])):
        out = os.path.join(WORK, "ops_%s.csv" % (spec or "all"))
        args = [ANALYZE, "export-csv", trace(1), "--table", "/ops/gpu_ops", "--out", out]
        r = run(args + (["--gpus", spec] if spec else []))
        rows = list(csvmod.DictReader(open(out)))
        if len(rows) != len(sel) or list(rows[0].keys()) != list(ops.dtype.names):
            fail("export-csv %s: %d rows / columns %r, expected %d / %r" %
                 (spec, len(rows), list(rows[0].keys()), len(sel), ops.dtype.names))
        if sum(int(x["end_ps"]) for x in rows) != int(sel["end_ps"].sum()) or \
           abs(sum(float(x["flops"]) for x in rows) - float(sel["flops"].sum())) > 1e-6 * float(sel["flops"].sum()):
            fail("export-csv %s: column sums differ from the table" % spec)
        print(r.stdout.strip())
    out = os.path.join(WORK, "ops_refused.csv")
    r = run([ANALYZE, "export-csv", trace(1), "--table", "/ops/gpu_ops", "--out", out, "--max-mb", "1"], expect=2)
    if "--force" not in r.stderr or os.path.exists(out) or os.path.exists(out + ".partial"):
        fail("export-csv over --max-mb: " + r.stderr)
    r = run([ANALYZE, "export-csv", trace(1), "--table", "/summary/iterations", "--out",
             os.path.join(WORK, "no-such-dir", "x.csv")], expect=2)
    if "cannot write" not in r.stderr or len(r.stderr.strip().splitlines()) != 1:
        fail("export-csv into a missing directory: " + r.stderr)
    r = run([ANALYZE, "export-csv", trace(1), "--table", "/links/bins", "--out", out], expect=2)
    if "no table /links/bins" not in r.stderr or os.path.exists(out):
        fail("export-csv of an absent table: " + r.stderr)
    c = list(csvmod.DictReader(io_lines(run([ANALYZE, "collectives", trace(1), "--format", "csv"]).stdout)))
    if not c or "busbw_gbps_p50" not in c[0]:
        fail("collectives --format csv: %r" % c[:1])
    print("PASS")


def case_absurd_times():
    """Issue 17: a time outside [0, 2^62] ps in a table (a corrupt or crafted trace) is refused with one
    line naming the table, row and column (UBSan reported signed overflow in summary, links, faults);
    digest and export-csv copy it as it is."""
    need_traces()
    import h5py
    import numpy as np
    for table, col, row, val in (("summary/iterations", "end_ps", 3, 2**63 - 1),
                                 ("summary/iterations", "exposed_comm_ps", 0, -2**63),
                                 ("summary/collectives", "start_ps", 5, -1),
                                 ("ops/gpu_ops", "end_ps", 7, 2**62 + 1)):
        p = os.path.join(WORK, "absurd.h5")
        shutil.copy(trace(1), p)
        with h5py.File(p, "r+") as f:
            a = f[table][...]
            a[col][row] = np.int64(val)
            f[table][...] = a
        cmd = {"summary/iterations": "summary", "summary/collectives": "collectives",
               "ops/gpu_ops": "export-perfetto"}[table]
        extra = ["--out", os.path.join(WORK, "absurd.json")] if cmd == "export-perfetto" else []
        r = run([ANALYZE, cmd, p] + extra, expect=1)
        want = "%s: /%s row %d: %s %d is not a time of a run" % (p, table, row, col, val)
        lines = [l for l in r.stderr.splitlines() if l.strip() and "INCOMPLETE" not in l]
        if len(lines) != 1 or want not in lines[0] or "runtime error" in r.stderr:
            fail("%s with %s[%d].%s = %d: expected one line with '%s', got:\n%s" % (cmd, table, row, col, val,
                                                                                 want, r.stderr))
        print("%s: %s" % (cmd, lines[0]))
        run([ANALYZE, "digest", p])
        run([ANALYZE, "export-csv", p, "--table", "/" + table, "--out", os.path.join(WORK, "absurd.csv")])
    print("absurd times refused with table, row and column; digest and export-csv copy them")


def io_lines(text):
    import io
    return io.StringIO(text)


CASES = {"csv": case_csv, "diff": case_diff, "traces": case_traces, "digest": case_digest, "summary": case_summary,
         "readable": case_readable, "perfetto": case_perfetto, "plot": case_plot,
         "truncated": case_truncated, "sigterm": case_sigterm, "commands": case_commands,
         "absurd_times": case_absurd_times}

if __name__ == "__main__":
    main(CASES, CASE, WORK)
