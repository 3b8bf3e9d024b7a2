#!/usr/bin/python3
"""colossim-analyze on a trace of a big job, in seconds (ctest, tests/analysis/CMakeLists.txt).

    scale_test.py ANALYZE WORKDIR CASE

The trace is synthetic (h5py, the schema of analysis/SCHEMA.md): a
4,096-GPU job, TP 8 PP 4 DP 128, two iterations, 120,000 collective
instances, a few ops for every GPU and a /links section of 600 ports x
5,000 time bins.  Running the real job would take minutes on this machine;
what is tested here is what the analyzer does with its size.

CASE:
  plot      `plot` succeeds, every PNG is at most 2,400 x 2,400 pixels, and
            stdout says what was aggregated or sampled (breakdown per
            pipeline stage, busbw medians, heatmap columns, timeline GPUs)
  perfetto  `export-perfetto` without --gpus exports a bounded default (one
            pipeline: the first GPU of each stage) and says how to get more;
            --gpus all is refused above --max-mb with the estimate; --force
            writes it
  links_csv `links --format csv` has one row per (class, tier) whose bytes add
            up to /links/ports; export-csv of /links/bins is refused above
            --max-mb and written whole with --force
"""
import json
import os
import struct
import sys

import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from cxtest import empty_dir, fail, run

ANALYZE, WORK, CASE = sys.argv[1:4]
TP, PP, DP = 8, 4, 128
GPUS = TP * PP * DP
TRACE = os.path.join(WORK, "synthetic-4096.h5")

ITER = np.dtype([("gpu", "<u8"), ("iteration", "<u4"), ("begin_ps", "<i8"), ("end_ps", "<i8"),
                 ("compute_ps", "<i8"), ("exposed_comm_ps", "<i8"), ("pp_wait_ps", "<i8")])
COLL = np.dtype([("gpu", "<u8"), ("kind", "u1"), ("algo", "u1"), ("channels", "u1"), ("stream", "u1"),
                 ("phase", "u1"), ("block", "u1"), ("layer", "<u2"), ("iteration", "<u4"),
                 ("microbatch", "<u4"), ("group_base", "<u8"), ("group_size", "<u4"),
                 ("group_stride", "<u4"), ("bytes", "<u8"), ("tag", "<u8"), ("start_ps", "<i8"),
                 ("end_ps", "<i8"), ("busbw_gbps", "<f8")])
OPS = np.dtype([("gpu", "<u8"), ("stream", "u1"), ("kind", "u1"), ("cls", "u1"), ("algo", "u1"),
                ("phase", "u1"), ("block", "u1"), ("layer", "<u2"), ("microbatch", "<u4"),
                ("iteration", "<u4"), ("start_ps", "<i8"), ("end_ps", "<i8"), ("bytes", "<u8"),
                ("flops", "<f8"), ("tag", "<u8"), ("peer", "<u8"), ("group_size", "<u4"),
                ("group_stride", "<u4")])
PORTS = np.dtype([("dev", "<u8"), ("port", "<u4"), ("peer_dev", "<u8"), ("peer_port", "<u4"), ("cls", "u1"),
                  ("tier", "u1"), ("bandwidth", "<f8"), ("latency_ps", "<i8"), ("bytes", "<u8"),
                  ("chunks", "<u8")])
BINS = np.dtype([("dev", "<u8"), ("port", "<u4"), ("cls", "u1"), ("tier", "u1"), ("start_ps", "<i8"),
                 ("bytes", "<u8")])
OPS_PER_GPU = 24


def make_trace():
    os.makedirs(WORK, exist_ok=True)
    rng = np.random.default_rng(7)
    ms = 1000 ** 3
    with h5py.File(TRACE + ".tmp", "w") as f:
        m = f.create_group("meta")
        for k, v in (("schema_version", 1), ("complete", 1), ("ranks", 1), ("gpus", GPUS), ("iterations", 2),
                     ("trace_level", 2), ("link_bin_ps", 100 * 1000 * 1000)):
            m.attrs[k] = np.int64(v)
        for k in ("workload", "topology", "gpu_type"):
            m.attrs[k] = np.bytes_("synthetic-4096")
        m["workload_yaml"] = np.bytes_("name: synthetic-4096\ngpus: %d\nparallelism:\n  tp: %d\n  pp: %d\n"
                                       "  dp: %d\ntraining:\n  seq_len: 8192\n" % (GPUS, TP, PP, DP))
        it = np.zeros(2 * GPUS, ITER)
        it["gpu"] = np.tile(np.arange(GPUS), 2)
        it["iteration"] = np.repeat([0, 1], GPUS)
        it["begin_ps"] = it["iteration"] * 300 * ms
        it["end_ps"] = it["begin_ps"] + 280 * ms + rng.integers(0, 5 * ms, 2 * GPUS)
        it["compute_ps"] = 150 * ms + (it["gpu"] // (TP * DP)) * 10 * ms
        it["exposed_comm_ps"] = 60 * ms
        it["pp_wait_ps"] = 40 * ms
        f.create_dataset("summary/iterations", data=it, chunks=(4096,), maxshape=(None,))
        n = 120000
        c = np.zeros(n, COLL)
        c["kind"] = rng.integers(0, 3, n)
        c["algo"] = 1
        c["bytes"] = 1 << rng.integers(20, 30, n)
        c["group_base"] = (rng.integers(0, GPUS // TP, n)) * TP
        c["group_size"] = TP
        c["group_stride"] = 1
        c["start_ps"] = rng.integers(0, 500 * ms, n)
        c["end_ps"] = c["start_ps"] + 1000000
        c["busbw_gbps"] = rng.uniform(20, 400, n)
        f.create_dataset("summary/collectives", data=c, chunks=(16384,), maxshape=(None,))
        o = np.zeros(GPUS * OPS_PER_GPU, OPS)
        o["gpu"] = np.repeat(np.arange(GPUS), OPS_PER_GPU)
        k = np.tile(np.arange(OPS_PER_GPU), GPUS)
        o["stream"] = k % 4
        o["kind"] = np.where(o["stream"] == 0, 0, 3)
        o["iteration"] = k // (OPS_PER_GPU // 2)
        o["start_ps"] = o["iteration"] * 300 * ms + (k % (OPS_PER_GPU // 2)) * 20 * ms
        o["end_ps"] = o["start_ps"] + 15 * ms
        o["microbatch"] = 0xFFFFFFFF
        o["layer"] = 0xFFFF
        f.create_dataset("ops/gpu_ops", data=o, chunks=(65536,), maxshape=(None,))
        p = np.zeros(600, PORTS)
        p["dev"] = np.arange(600) // 4
        p["port"] = np.arange(600) % 4
        p["cls"] = np.arange(600) % 3 + 2
        p["bandwidth"] = 50e9
        nb = 5000
        b = np.zeros(200000, BINS)
        pi = rng.integers(0, 600, len(b))
        b["dev"], b["port"], b["cls"] = p["dev"][pi], p["port"][pi], p["cls"][pi]
        b["start_ps"] = rng.integers(0, nb, len(b)) * 100 * 1000 * 1000
        b["bytes"] = rng.integers(0, 5 * 1000 * 1000, len(b))
        np.add.at(p["bytes"], pi, b["bytes"])
        f.create_dataset("links/ports", data=p, maxshape=(None,))
        f.create_dataset("links/bins", data=b, chunks=(65536,), maxshape=(None,))
    os.replace(TRACE + ".tmp", TRACE)


def png_size(path):
    with open(path, "rb") as fh:
        head = fh.read(24)
    if head[:8] != b"\x89PNG\r\n\x1a\n":
        fail("%s is not a PNG" % path)
    return struct.unpack(">II", head[16:24])


def case_plot():
    make_trace()
    out = os.path.join(WORK, "plots-4096")
    empty_dir(out)
    for extra, expect_lines in (([], ("timeline.png", "breakdown.png", "coll_busbw.png", "links_heatmap.png")),
                                (["--gpus", "0-%d" % (GPUS - 1)], ("timeline.png",))):
        r = run([ANALYZE, "plot", TRACE, "--out", out] + extra)
        if "Traceback" in r.stderr:
            fail("plot printed a traceback:\n" + r.stderr)
        for name in expect_lines:
            p = os.path.join(out, name)
            if not os.path.exists(p):
                fail("%s not written:\n%s" % (p, r.stdout))
            w, h = png_size(p)
            if w > 2400 or h > 2400 or w < 300 or h < 200:
                fail("%s is %d x %d pixels" % (name, w, h))
            print("%s %s: %d x %d pixels, %d bytes" % (" ".join(extra) or "default", name, w, h, os.path.getsize(p)))
        if not extra:
            for want in ("breakdown.png: 4096 GPUs, more than 128: aggregated by pipeline stage (1024 GPUs each)",
                         "coll_busbw.png: 120000 collective instances, more than 50000: median per size",
                         "links_heatmap.png: 5000 time bins in 1667 columns"):
                if want not in r.stdout:
                    fail("plot did not say %r:\n%s" % (want, r.stdout))
        else:
            if "timeline.png: 16 of the 4096 GPUs asked for, evenly spaced" not in r.stdout:
                fail("plot --gpus all did not say it sampled:\n" + r.stdout)
    print("PASS")


def case_perfetto():
    make_trace()
    out = os.path.join(WORK, "synthetic-4096.json")
    for p in (out, out + ".partial"):
        if os.path.exists(p):
            os.remove(p)
    r = run([ANALYZE, "export-perfetto", TRACE, "--out", out])
    if "first GPU of each of the 4 pipeline stages" not in r.stdout or "--gpus" not in r.stdout:
        fail("default export did not say what it selected and how to get more:\n" + r.stdout)
    with open(out) as fh:
        d = json.load(fh)
    pids = sorted(set(e["pid"] for e in d["traceEvents"] if e.get("ph") == "X" and e.get("cat") != "collective_instance"))
    if pids != [0, 1024, 2048, 3072]:
        fail("default export holds GPUs %s, expected the first of each stage" % pids[:20])
    print("default:", r.stdout.strip().splitlines()[0])
    # Everything: 98,304 op events, estimated above a 5 MB limit -> refused, nothing written.
    os.remove(out)
    r = run([ANALYZE, "export-perfetto", TRACE, "--out", out, "--gpus", "all", "--max-mb", "5"], expect=2)
    if "--force" not in r.stderr or "MB" not in r.stderr or os.path.exists(out) or os.path.exists(out + ".partial"):
        fail("over --max-mb: expected a refusal naming the size and --force, and no file:\n" + r.stderr)
    print("refused:", r.stderr.strip())
    r = run([ANALYZE, "export-perfetto", TRACE, "--out", out, "--gpus", "all", "--max-mb", "5", "--force"])
    size = os.path.getsize(out)
    with open(out) as fh:
        d = json.load(fh)
    n_ops = sum(1 for e in d["traceEvents"] if e.get("ph") == "X" and e.get("cat") != "collective_instance")
    if n_ops != GPUS * OPS_PER_GPU:
        fail("--force --gpus all: %d op events, expected %d" % (n_ops, GPUS * OPS_PER_GPU))
    est = [l for l in r.stdout.splitlines() if "estimated" in l]
    print("forced: %d bytes; %s" % (size, est[0] if est else r.stdout.strip()))
    print("PASS")


def case_links_csv():
    import csv
    import io
    make_trace()
    r = run([ANALYZE, "links", TRACE, "--format", "csv"])
    rows = list(csv.DictReader(io.StringIO(r.stdout)))
    with h5py.File(TRACE, "r") as f:
        ports = f["links/ports"][:]
        nbins = f["links/bins"].shape[0]
    if sum(int(x["bytes"]) for x in rows) != int(ports["bytes"].sum()) or \
       sorted(set(int(x["cls"]) for x in rows)) != sorted(set(int(c) for c in ports["cls"])):
        fail("links csv: %r" % rows)
    out = os.path.join(WORK, "bins.csv")
    for p in (out, out + ".partial"):
        if os.path.exists(p):
            os.remove(p)
    r = run([ANALYZE, "export-csv", TRACE, "--table", "/links/bins", "--out", out, "--max-mb", "1"], expect=2)
    if "--force" not in r.stderr or os.path.exists(out):
        fail("export-csv above --max-mb: " + r.stderr)
    r = run([ANALYZE, "export-csv", TRACE, "--table", "/links/bins", "--out", out, "--max-mb", "1", "--force"])
    with open(out) as fh:
        n = sum(1 for _ in fh) - 1
    if n != nbins:
        fail("export-csv --force: %d rows, expected %d" % (n, nbins))
    print("links csv: %d (class, tier) rows; /links/bins: %d rows, %d bytes" % (len(rows), n, os.path.getsize(out)))
    print("PASS")


{"plot": case_plot, "perfetto": case_perfetto, "links_csv": case_links_csv}[CASE]()
