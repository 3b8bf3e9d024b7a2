#!/usr/bin/python3
"""colossim run as users run it.

usage: run_cli.py MPIEXEC COLOSSIM SRCDIR
- the embedded default runs, writes run.h5 (no .partial left), prints the summary
- identical summary figures and engine digest at 1, 2 and 4 ranks
- --summary-json has the documented keys
- bad input: one error line naming file:line:field, non-zero exit, no trace written
- --trace-max-gb refuses a run that would exceed it, before writing anything
- --dry-run prints the plan and writes nothing
"""
import json
import os
import subprocess
import sys
import tempfile

mpiexec, colossim, src = sys.argv[1], sys.argv[2], sys.argv[3]
tmp = tempfile.mkdtemp(prefix="cx-run-")
ok = True


def check(cond, what):
    global ok
    print(("ok   " if cond else "FAIL ") + what)
    ok &= bool(cond)


def run(np, *args, cwd=tmp, expect=0):
    cmd = [mpiexec, "--oversubscribe", "-np", str(np), colossim, "run", *args]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=cwd)
    if p.returncode != expect and expect is not None:
        print(p.stdout, p.stderr)
    return p


# Embedded default, as the README runs it.
p = run(2)
check(p.returncode == 0, "embedded default runs on 2 ranks")
check(os.path.exists(os.path.join(tmp, "run.h5")) and not os.path.exists(os.path.join(tmp, "run.h5.partial")),
      "run.h5 written, no .partial left")
check("MFU" in p.stdout and "colossim-analyze summary run.h5" in p.stdout, "summary printed with the next command")

# Determinism across rank counts.
keys = ["iteration_seconds", "tokens_per_second", "tflops_per_gpu", "mfu", "compute_share",
        "exposed_comm_share", "bubble_share"]
res = {}
for np in (1, 2, 4):
    js = os.path.join(tmp, f"s{np}.json")
    p = run(np, "--out", os.path.join(tmp, f"d{np}.h5"), "--summary-json", js, "--iterations", "2")
    check(p.returncode == 0, f"run at {np} ranks")
    res[np] = json.load(open(js))
for k in keys:
    check(k in res[1], f"summary JSON has {k}")
for np in (2, 4):
    check(res[np]["ranks"] == np, f"np {np} reports {res[np]['ranks']} ranks")
    check(all(res[np][k] == res[1][k] for k in keys + ["digest", "events"]),
          f"np {np}: figures, events and digest identical to np 1 ({res[np]['digest']} vs {res[1]['digest']})")
check(0.05 < res[1]["mfu"] < 0.7, f"plausible MFU {res[1]['mfu']:.3f}")
check(abs(res[1]["compute_share"] + res[1]["exposed_comm_share"] + res[1]["bubble_share"] - 1) < 1e-9,
      "shares add up to 1")

# Bad input: one clear message, non-zero exit, nothing written.
bad = os.path.join(tmp, "bad.yaml")
lines = open(os.path.join(src, "workloads", "small.yaml")).read().splitlines()
at = next(i for i, l in enumerate(lines) if l.strip().startswith("layers:"))
lines.insert(at + 1, "  colour: blue")
with open(bad, "w") as f:
    f.write("\n".join(lines) + "\n")
out = os.path.join(tmp, "bad.h5")
p = run(2, "--workload", bad, "--out", out, expect=None)
err = p.stderr.strip().splitlines()
check(p.returncode != 0, "unknown key: non-zero exit")
check(len([l for l in err if "error" in l]) == 1 and f"bad.yaml:{at + 2}" in p.stderr and "colour" in p.stderr,
      f"unknown key: one message with file:line:field ({err[:1]})")
check(not os.path.exists(out) and not os.path.exists(out + ".partial"), "unknown key: no trace written")

with open(bad, "w") as f:
    f.write("name: x\ngpus: [64\n")
p = run(1, "--workload", bad, "--out", out, expect=None)
check(p.returncode != 0 and "bad.yaml:" in p.stderr, f"malformed YAML names file:line ({p.stderr.strip()[:120]})")

# Experts that do not split over the expert-parallel group.
g6 = os.path.join(tmp, "grok-6-experts.yaml")
with open(g6, "w") as f:
    f.write(open(os.path.join(src, "workloads", "grok-1.yaml")).read().replace("    experts: 8", "    experts: 6"))
p = run(1, "--workload", g6, "--out", out, expect=None)
check(p.returncode != 0 and "grok-6-experts.yaml:" in p.stderr and "parallelism.ep" in p.stderr
      and "not divisible" in p.stderr, f"experts not divisible by EP ({p.stderr.strip()[:140]})")

big = os.path.join(src, "workloads", "llama3-405b-8k.yaml")
p = run(1, "--workload", big, "--out", out, expect=None)
check(p.returncode != 0 and "gpus" in p.stderr and not os.path.exists(out),
      f"a job larger than the fabric is refused ({p.stderr.strip()[:140]})")

p = run(1, "--trace-level", "ops", "--trace-max-gb", "0.0001", "--out", out, expect=None)
check(p.returncode != 0 and "trace-max-gb" in p.stderr and not os.path.exists(out),
      "--trace-max-gb refuses an oversized trace")

p = run(1, "--dry-run", "--out", out)
check(p.returncode == 0 and "plan:" in p.stdout and "estimated events" in p.stdout and not os.path.exists(out),
      "--dry-run prints the plan and writes nothing")

# --dry-run --ranks: the wall-time model, one row per rank count, the
# lookahead of each partition as `colossim topo --ranks R` gives it.
p = run(1, "--dry-run", "--ranks", "1,2,4")
# (A rank count marked c: the engine would use the cyclic partition.)
rows = [r for r in (l.split() for l in p.stdout.splitlines())
        if len(r) == 11 and r[0].rstrip("c").isdigit() and r[2] == "us"]
check(p.returncode == 0 and "scaling model (a model, not a measurement)" in p.stdout and
      [r[0].rstrip("c") for r in rows] == ["1", "2", "4"], "--dry-run --ranks prints one model row per rank count")
t = run(2, "--dry-run")
la2 = [l.split("lookahead")[1].split()[0] for l in t.stdout.splitlines() if "lookahead" in l and "ranks 2" in l]
check(len(rows) == 3 and la2 and abs(float(rows[1][1]) - float(la2[0])) < 1e-3,
      f"the model's 2-rank lookahead is the 2-rank plan's ({rows[1][1] if rows else '?'} vs {la2})")
check(len(rows) == 3 and float(rows[2][-1]) > 0 and float(rows[1][3]) < float(rows[0][3]),
      "fewer events per rank at 2 ranks than at 1, positive wall times")
# Neighbours: none alone; at 2 ranks each is the other's, so the reduction
# rides the exchange (marked *), as the engine does it.
check(len(rows) == 3 and rows[0][5] == "0" and rows[1][5] == "1*",
      f"the model counts each rank's neighbours and marks piggy-backed reductions ({[r[5] for r in rows]})")
for np, bad, what in ((1, ["--dry-run", "--ranks", "2,x"], "a malformed list"),
                      (2, ["--ranks", "2", "--out", ""], "--ranks on a run of 2 ranks"),
                      (1, ["--dry-run", "--ranks", "100000"], "more ranks than NVLink domains")):
    p = run(np, *bad, expect=None)
    check(p.returncode != 0 and "'ranks'" in p.stderr and "scaling model" not in p.stdout,
          f"--ranks: {what} is refused before anything is printed ({p.stderr.strip()[:100]})")

# --ranks on a one-rank run: the windows it counts for the 2-rank lookahead
# are exactly the windows a 2-rank run takes (reductions used at once, the
# default on one node).
p = run(1, "--ranks", "1,2", "--out", "", "--iterations", "2")
mrows = [r for r in (l.split() for l in p.stdout.splitlines())
         if len(r) == 11 and r[0].rstrip("c").isdigit() and r[2] == "us"]
t = run(2, "--out", "", "--iterations", "2")
w2 = [l.split("windows")[1].split()[0] for l in (t.stdout + t.stderr).splitlines() if l.startswith("engine: ranks 2")]
check(p.returncode == 0 and "scaling model from this run" in p.stdout and len(mrows) == 2 and w2 and
      mrows[1][6] == w2[0], f"a one-rank run counts the 2-rank windows exactly ({mrows[1][6] if len(mrows) > 1 else '?'} "
      f"vs {w2})")

p = run(1, "--topology", os.path.join(tmp, "missing.yaml"), expect=None)
check(p.returncode != 0 and "missing.yaml" in p.stderr, "missing topology file named")

# Replay: colossim gen writes the generator's ops; running them gives the same run.
gdir = os.path.join(tmp, "gen")
p = subprocess.run([mpiexec, "--oversubscribe", "-np", "2", colossim, "gen", "--out", gdir, "--iterations", "2"],
                   capture_output=True, text=True, timeout=600)
check(p.returncode == 0 and os.path.exists(os.path.join(gdir, "replay.yaml")) and
      len([f for f in os.listdir(gdir) if f.endswith(".ops")]) == 64, "gen writes 64 GPU programs at 2 ranks")
for np in (1, 2):
    js = os.path.join(tmp, f"r{np}.json")
    p = run(np, "--workload", gdir, "--out", "", "--summary-json", js)
    check(p.returncode == 0, f"replay runs at {np} ranks")
    r = json.load(open(js))
    check(all(r[k] == res[1][k] for k in keys + ["digest", "events"]),
          f"replay at {np} ranks equals the generated run ({r['digest']} vs {res[1]['digest']})")
victim = os.path.join(gdir, "gpu-000005.ops")
with open(victim, "r+b") as f:
    f.truncate(os.path.getsize(victim) - 100)
p = run(2, "--workload", gdir, "--out", os.path.join(tmp, "t.h5"), expect=None)
check(p.returncode != 0 and "gpu-000005.ops" in p.stderr and not os.path.exists(os.path.join(tmp, "t.h5")),
      f"a truncated replay file is named and nothing is written ({p.stderr.strip()[:160]})")

sys.exit(0 if ok else 1)
