#!/usr/bin/python3
"""A mutation fuzzer for colossim-analyze's trace reader (issue 17).

usage: analyze_mutate.py ANALYZE TRACE [--mutants N | --seconds S] [--seed K] [--keep DIR]

Each mutant is TRACE with 1-4 fields of its tables set to extreme values (0,
-1, the type's min and max, 2^(bits-1), NaN, +-inf, +-1e300) in one row or a
whole column; every colossim-analyze command then reads it.  A command may
refuse the file (exit 1 or 2 with a message) but must not crash, hang (30 s),
print a Python traceback or a sanitizer report.  Failing mutants are kept in
DIR (default: the current directory) as crash-N-COMMAND.h5; exit 1 if any.
HDF5's own parser is not the target: the file structure stays intact, the
values are hostile, as a corrupt or crafted trace's would be.
"""
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time

import h5py
import numpy as np


def main():
    args = sys.argv[1:]
    if len(args) < 2:
        print(__doc__)
        return 2
    analyze, trace = args[0], os.path.abspath(args[1])
    opt = {"--mutants": "20", "--seconds": "0", "--seed": "1", "--keep": os.getcwd()}
    for i in range(2, len(args) - 1, 2):
        opt[args[i]] = args[i + 1]
    n, secs, rng = int(opt["--mutants"]), float(opt["--seconds"]), random.Random(int(opt["--seed"]))
    keep = os.path.abspath(opt["--keep"])
    work = tempfile.mkdtemp(prefix="cx-amut-")
    tables = []
    with h5py.File(trace, "r") as f:
        def visit(name, o):
            if isinstance(o, h5py.Dataset) and o.dtype.names and o.shape and o.shape[0] > 0:
                tables.append((name, o.dtype.names, o.shape[0]))
        f.visititems(visit)
    cmds = [["summary"], ["collectives"], ["digest"], ["stragglers"], ["links"], ["power"], ["faults"],
            ["export-perfetto", "--out", "p.json"], ["export-csv", "--table", "/ops/gpu_ops", "--out", "o.csv"]]
    bad, done, t0 = 0, 0, time.time()
    np.seterr(all="ignore")
    while (secs > 0 and time.time() - t0 < secs) or (secs <= 0 and done < n):
        m = os.path.join(work, "m.h5")
        shutil.copy(trace, m)
        what = []
        with h5py.File(m, "r+") as f:
            for _ in range(rng.randint(1, 4)):
                t, names, rows = rng.choice(tables)
                fld = rng.choice(names)
                d = f[t]
                a = d[...]
                dt = a.dtype[fld]
                if dt.kind == "f":
                    val = rng.choice([float("nan"), float("inf"), -float("inf"), -1e300, 1e300, 0.0, -1.0])
                elif dt.kind in "ui":
                    ii = np.iinfo(dt)
                    val = rng.choice([0, ii.max, ii.max - 1, ii.min, (1 << (dt.itemsize * 8 - 1)) - 1,
                                      -1 if dt.kind == "i" else 1])
                else:
                    continue
                r = rng.randrange(rows) if rng.random() < 0.7 else slice(None)
                a[fld][r] = np.array(val).astype(dt)
                d[...] = a
                what.append(f"{t}.{fld}[{r if isinstance(r, int) else ':'}]={val}")
        for c in cmds:
            try:
                p = subprocess.run([analyze, c[0], m, *c[1:]], capture_output=True, text=True, timeout=30, cwd=work)
                fail = (p.returncode < 0 or p.returncode >= 64 or "runtime error" in p.stderr or
                        "Sanitizer" in p.stderr or "Traceback" in p.stderr)
                why = f"exit {p.returncode}: {p.stderr.strip()[-300:]}"
            except subprocess.TimeoutExpired:
                fail, why = True, "hang (30 s)"
            if fail:
                bad += 1
                dst = os.path.join(keep, f"crash-{done}-{c[0]}.h5")
                shutil.copy(m, dst)
                print(f"FAIL mutant {done} ({'; '.join(what)}): {c[0]}: {why}\n  kept as {dst}")
        done += 1
    shutil.rmtree(work, ignore_errors=True)
    print(f"{done} mutants x {len(cmds)} commands in {time.time() - t0:.0f} s: {bad} failures")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
