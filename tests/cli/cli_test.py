#!/usr/bin/python3
"""The colossim command line as users of other tools expect it (ctest, tests/cli).

    cli_test.py COLOSSIM ANALYZE CASE

CASE:
  bench_nccl  `bench collective` takes nccl-tests' flags (-b -e -f -g -n -w -c,
              "-b 1M" and "-b1M") with the same result as the long options;
              its text has nccl-tests' parameter line, the out-of-place /
              in-place column pairs (equal), #wrong 0 and both footers; an
              unknown short flag is refused in one line (exit 2)
  bench_csv   `bench collective --format csv` and `bench traffic --format csv`
              hold the figures of --format json
  help        colossim: --help on every command and subcommand, and -h on
              bench (all three) and power (both): usage on stdout, exit 0;
              bench or power without what they need: one error line, exit 2
  analyze_usage  every colossim-analyze command: -h and --help print its usage
              on stdout (exit 0); without FILE, or plot / export-perfetto
              without --out, one error line names what is missing (exit 2);
              a mistyped option gets "did you mean"
"""
import csv
import io
import json
import os
import subprocess
import sys
import tempfile

COLOSSIM, ANALYZE, CASE = sys.argv[1:4]


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def run(args, expect=0, exe=None):
    p = subprocess.run([exe or COLOSSIM] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       universal_newlines=True)
    if expect is not None and p.returncode != expect:
        fail("%s: exit %d (expected %d)\nstdout:\n%s\nstderr:\n%s" %
             (" ".join(args), p.returncode, expect, p.stdout[-2000:], p.stderr[-2000:]))
    return p


def case_bench_nccl():
    long_ = json.loads(run(["bench", "collective", "--min-bytes", "1M", "--max-bytes", "16M", "--step-factor", "4",
                            "--gpus", "16", "--iters", "2", "--format", "json"]).stdout)
    for short in (["-b", "1M", "-e", "16M", "-f", "4", "-g", "16", "-n", "2", "-w", "5", "-c", "1"],
                  ["-b1M", "-e16M", "-f4", "-g16", "-n2", "-w5", "-c1"]):
        j = json.loads(run(["bench", "collective"] + short + ["--format", "json"]).stdout)
        if [(r["bytes"], r["busbw_gbps"], r["digest"]) for r in j["rows"]] != \
           [(r["bytes"], r["busbw_gbps"], r["digest"]) for r in long_["rows"]]:
            fail("%s differs from the long options" % " ".join(short))
    text = run(["bench", "collective", "-b", "1M", "-e", "16M", "-f", "4", "-g", "16", "-n", "2", "-w", "5",
                "-c", "1"]).stdout
    lines = text.splitlines()
    want = "# nThread 1 nGpus 16 minBytes 1048576 maxBytes 16777216 step: 4(factor) warmup iters: 5 iters: 2 " \
           "agg iters: 1 validation: 1 graph: 0"
    if lines[0] != want:
        fail("parameter line:\n  %r\nexpected\n  %r" % (lines[0], want))
    if not any("out-of-place" in l and "in-place" in l for l in lines):
        fail("no out-of-place / in-place header:\n" + text)
    head = [l for l in lines if l.startswith("#") and "size" in l and "#wrong" in l]
    if not head or head[0].split()[1:10] != ["size", "count", "type", "redop", "root", "time", "algbw", "busbw",
                                             "#wrong"]:
        fail("column header:\n" + text)
    rows = [l.split() for l in lines if l.strip() and not l.startswith("#")]
    if len(rows) != 3:
        fail("%d rows, expected 3 (1M, 4M, 16M)" % len(rows))
    for r in rows:
        if r[5:9] != r[9:13] or r[8] != "0":
            fail("out-of-place and in-place columns differ, or #wrong != 0: %r" % r)
    if [int(r[0]) for r in rows] != [r["bytes"] for r in long_["rows"]] or \
       any(abs(float(r[7]) - x["busbw_gbps"]) > 0.006 for r, x in zip(rows, long_["rows"])):
        fail("table rows differ from JSON")
    if "# Out of bounds values : 0 OK" not in lines or not any(l.startswith("# Avg bus bandwidth    : ") for l in lines):
        fail("footers missing:\n" + text)
    if "not applicable" not in text or "in-place = out-of-place" not in text:
        fail("the table does not say why in-place equals out-of-place and #wrong is 0")
    p = run(["bench", "collective", "-x", "3"], expect=2)
    if "unknown option '-x'" not in p.stderr or len(p.stderr.strip().splitlines()) != 1:
        fail("unknown short flag:\n" + p.stderr)
    p = run(["bench", "collective", "-b"], expect=2)
    if "needs a value" not in p.stderr:
        fail("-b without a value:\n" + p.stderr)
    print(text)
    print("PASS")


def case_bench_csv():
    j = json.loads(run(["bench", "collective", "-b", "1M", "-e", "64M", "-f", "8", "-g", "16", "--format", "json"]).stdout)
    c = list(csv.DictReader(io.StringIO(run(["bench", "collective", "-b", "1M", "-e", "64M", "-f", "8", "-g", "16",
                                              "--format", "csv"]).stdout)))
    if len(c) != len(j["rows"]) or len(c) != 3:
        fail("collective csv rows %d, json %d" % (len(c), len(j["rows"])))
    for r, x in zip(c, j["rows"]):
        if int(r["size_bytes"]) != x["bytes"] or float(r["busbw_gbps"]) != x["busbw_gbps"] or r["algo"] != x["algo"] \
           or r["op"] != "allreduce" or r["wrong"] != "0":
            fail("collective csv %r != json %r" % (r, x))
    args = ["bench", "traffic", "--bytes", "16M", "--routing", "ecmp"]
    tj = json.loads(run(args + ["--format", "json"]).stdout)
    tc = list(csv.DictReader(io.StringIO(run(args + ["--format", "csv"]).stdout)))
    if [r["link_class"] for r in tc] != [x["class"] for x in tj["links"]]:
        fail("traffic csv classes %r != json %r" % ([r["link_class"] for r in tc], tj["links"]))
    for r, x in zip(tc, tj["links"]):
        if float(r["throughput_fraction"]) != tj["throughput_fraction"] or r["routing"] != "ecmp" or \
           int(r["bytes"]) != x["bytes"] or float(r["utilization_max"]) != x["utilization_max"]:
            fail("traffic csv %r != json" % r)
    print("collective csv: %d rows; traffic csv: %d link classes, throughput %.4f" %
          (len(c), len(tc), tj["throughput_fraction"]))
    print("PASS")


def case_analyze_usage():
    cmds = ("summary", "collectives", "digest", "export-perfetto", "diff", "plot", "links", "power", "stragglers")
    with tempfile.TemporaryDirectory() as d:
        trace = os.path.join(d, "run.h5")
        run(["run", "--out", trace, "--progress", "0"])
        for c in cmds:
            for h in ("-h", "--help"):
                p = run([c, h], exe=ANALYZE)
                if not p.stdout.startswith("usage: colossim-analyze " + c):
                    fail("%s %s: usage not on stdout:\n%s%s" % (c, h, p.stdout, p.stderr))
            p = run([c], expect=2, exe=ANALYZE)
            err = [l for l in p.stderr.splitlines() if "error" in l]
            want = "needs two traces" if c == "diff" else "missing FILE"
            if len(err) != 1 or want not in err[0]:
                fail("%s without FILE: expected one error line with %r:\n%s" % (c, want, p.stderr))
        for c in ("plot", "export-perfetto"):
            p = run([c, trace], expect=2, exe=ANALYZE)
            err = [l for l in p.stderr.splitlines() if "error" in l]
            if len(err) != 1 or "missing --out" not in err[0]:
                fail("%s without --out:\n%s" % (c, p.stderr))
            print(err[0])
        for typo, near in (("--fromat", "--format"), ("--gpu", "--gpus")):
            c = "summary" if typo == "--fromat" else "plot"
            p = run([c, trace, typo, "x"], expect=2, exe=ANALYZE)
            if "did you mean %s?" % near not in p.stderr:
                fail("%s %s: no 'did you mean %s':\n%s" % (c, typo, near, p.stderr))
            print(p.stderr.strip())
    print("PASS")


def case_help():
    owned = (["bench"], ["bench", "phold"], ["bench", "traffic"], ["bench", "collective"], ["power"], ["chakra"],
             ["power", "site"], ["power", "params"])
    for cmd in [["run"], ["gen"], ["topo"], ["campaign"]] + list(owned):
        for h in ("--help",) + (("-h",) if cmd in owned else ()):
            p = run(cmd + [h])
            if not p.stdout.startswith("usage: ") or "colossim " + cmd[0] not in p.stdout.splitlines()[0] \
                    or p.stderr.strip():
                fail("%s %s: usage not on stdout, or stderr not empty:\n%s%s" % (" ".join(cmd), h, p.stdout[:300],
                                                                                p.stderr))
    for cmd, want in ((["bench"], "missing benchmark"), (["bench", "bogus"], "unknown benchmark 'bogus'"),
                      (["power"], "missing subcommand"), (["power", "site"], "missing TOPOLOGY"),
                      (["power", "params"], "missing TOPOLOGY")):
        p = run(cmd, expect=2)
        first = p.stderr.splitlines()[0] if p.stderr else ""
        if want not in first:
            fail("%s: first stderr line %r does not say %r" % (" ".join(cmd), first, want))
        print("%-14s -> %s" % (" ".join(cmd), first))
    print("PASS")


{"help": case_help, "bench_nccl": case_bench_nccl, "bench_csv": case_bench_csv, "analyze_usage": case_analyze_usage}[CASE]()
