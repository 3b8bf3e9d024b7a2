#!/usr/bin/python3
"""The README against what the binary prints today (ctest, tests/docs).

    docs_test.py COLOSSIM SOURCE_DIR WORKDIR CASE

CASE:
  run_block      README.md's "What a run prints" block: `colossim run` (the
                 embedded default job) in an empty directory prints every
                 line of the block as written; a line "  ..." stands for
                 lines left out, and "..." inside a line for what varies
                 from run to run (wall time, memory)
  bench_figures  README.md's "Checked against published figures" rows run
                 with `bench collective`: the busbw the command prints today,
                 rounded as the table writes it, is the colossim figure (for
                 "A / B GB/s ... [--pxn off]", the run without and with the
                 option); the 64-GPU row's per-NIC figure is busbw / 8
"""
import os
import re
import shutil
import subprocess
import sys

COLOSSIM, SRC, WORK, CASE = sys.argv[1:5]
README = os.path.join(SRC, "README.md")


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def section(title):
    text = open(README).read()
    start = text.find("\n## " + title)
    if start < 0:
        fail("README.md has no section '## %s'" % title)
    end = text.find("\n## ", start + 4)
    return text[start:end if end > 0 else len(text)]


def case_run_block():
    sec = section("What a run prints")
    m = re.search(r"```\n(.*?)```", sec, re.S)
    if m is None:
        fail("no code block in 'What a run prints'")
    want = m.group(1).rstrip("\n").split("\n")
    if os.path.isdir(WORK):
        shutil.rmtree(WORK)
    os.makedirs(WORK)
    p = subprocess.run([COLOSSIM, "run"], cwd=WORK, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       universal_newlines=True)
    if p.returncode != 0:
        fail("colossim run: exit %d\n%s" % (p.returncode, p.stderr))
    got = p.stdout.rstrip("\n").split("\n")
    i = 0
    skipping = False
    for w in want:
        if w.strip() == "...":
            skipping = True
            continue
        pattern = re.compile(".*".join(re.escape(part) for part in w.split("...")) + "$")
        while i < len(got):
            g = got[i]
            if pattern.match(g):
                break
            if not skipping:
                fail("README line:\n  %r\nthe run prints:\n  %r\nfull output:\n%s" % (w, g, p.stdout))
            i += 1
        if i == len(got):
            fail("README line %r not in the run's output:\n%s" % (w, p.stdout))
        skipping = False
        i += 1
    print("%d README lines match the output of `colossim run`" % len(want))
    print("PASS")


def busbw(args):
    p = subprocess.run([COLOSSIM] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
    if p.returncode != 0:
        fail("colossim %s: exit %d\n%s" % (" ".join(args), p.returncode, p.stderr))
    rows = [l.split() for l in p.stdout.splitlines() if l.strip() and not l.startswith("#")]
    if not rows:
        fail("colossim %s printed no rows:\n%s" % (" ".join(args), p.stdout))
    return float(rows[-1][7])   # nccl-tests columns: size count type redop root time algbw busbw


def rounded(x, like):
    """x rounded to as many decimals as the string `like` has."""
    dec = len(like.split(".")[1]) if "." in like else 0
    return "%.*f" % (dec, x)


def case_bench_figures():
    sec = section("Checked against published figures")
    checked = 0
    for line in sec.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 4 or not cells[3].startswith("`bench collective"):
            continue
        cmd = cells[3].strip("`").replace("\\|", "|")
        variants = [cmd]
        if "[--pxn off]" in cmd:
            base = cmd.replace("[--pxn off]", "").strip()
            variants = [base, base + " --pxn off"]
        nums = re.findall(r"(\d+(?:\.\d+)?) (?:/|GB/s)", cells[2])
        if not nums:
            fail("no figure in %r" % cells[2])
        for k, v in enumerate(variants):
            args = v.split()
            mb = args[args.index("--min-bytes") + 1]
            got = busbw(args + ["--max-bytes", mb])
            want = nums[k] if len(variants) > 1 else nums[0]
            if rounded(got, want) != want:
                fail("README row %r: the table says %s GB/s, `colossim %s` prints %.2f" % (cells[0], want, v, got))
            print("ok  %-60s %s GB/s (prints %.2f)" % (v, want, got))
            checked += 1
            if "per NIC" in cells[2]:
                per_nic = re.search(r"= (\d+\.\d+) GB/s per NIC \(busbw / 8", cells[2])
                if per_nic is None or rounded(got / 8, per_nic.group(1)) != per_nic.group(1):
                    fail("README row %r: per-NIC figure is not busbw / 8 = %.2f" % (cells[0], got / 8))
    if checked < 4:
        fail("only %d bench collective figures found" % checked)
    print("PASS")


{"run_block": case_run_block, "bench_figures": case_bench_figures}[CASE]()
