#!/usr/bin/python3
"""Write a sweep's parameter file from a grid, and say how to submit it.

usage: slurm/grid.py [--base "ARGS"] --vary NAME=V1,V2,... [--vary ...]
                     [-o sweep.txt] [--max-concurrent N]

Every combination of the --vary values (the last --vary changes fastest)
becomes one line of the parameter file slurm/sweep.sbatch reads: the --base
arguments, then `--NAME VALUE` for each varied option.  NAME is a `colossim
run` option without its dashes (routing, seed, chunk-bytes, topology,
workload ...).  A value may not contain a comma or whitespace; a NAME given
twice, an empty value list, or a NAME also in --base is refused.  The file
is written as OUT.partial and renamed; then the sbatch command line with
its --array range is printed, e.g.

    slurm/grid.py --base "--topology topologies/colossus1-mini.yaml --workload workloads/llama3-8b.yaml" \\
                  --vary routing=ecmp,adaptive,spray --vary seed=1,2,3 -o sweep.txt
    sbatch --array=0-8 slurm/sweep.sbatch sweep.txt

slurm/collect.py then writes one column per varied option (param.routing,
param.seed) beside each run's summary.
"""
import argparse
import itertools
import os
import shlex
import sys


def fail(msg):
    print("grid: error: " + msg, file=sys.stderr)
    sys.exit(2)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 epilog="see the module docstring (slurm/grid.py) for an example")
    ap.add_argument("--base", default="", help="arguments common to every run")
    ap.add_argument("--vary", action="append", default=[], metavar="NAME=V1,V2",
                    help="an option and its values (repeat for more dimensions)")
    ap.add_argument("-o", "--output", default="sweep.txt", help="parameter file to write [sweep.txt]")
    ap.add_argument("--max-concurrent", type=int, default=0, metavar="N",
                    help="at most N tasks at once (sbatch --array=0-M%%N)")
    a = ap.parse_args()
    if not a.vary:
        fail("nothing to vary: give at least one --vary NAME=V1,V2")
    try:
        base = shlex.split(a.base)
    except ValueError as e:
        fail("--base: %s" % e)
    base_names = {w[2:].split("=", 1)[0] for w in base if w.startswith("--")}
    names, values = [], []
    for v in a.vary:
        if "=" not in v:
            fail("--vary %r: expected NAME=V1,V2,..." % v)
        name, vals = v.split("=", 1)
        name = name.lstrip("-")
        if not name or any(c.isspace() for c in name):
            fail("--vary %r: bad option name" % v)
        if name in names:
            fail("--vary: %s given twice" % name)
        if name in base_names:
            fail("--vary: %s is also in --base" % name)
        vs = vals.split(",")
        if any(x == "" or any(c.isspace() for c in x) for x in vs):
            fail("--vary %s: empty value or whitespace in %r" % (name, vals))
        names.append(name)
        values.append(vs)
    lines = []
    for combo in itertools.product(*values):
        words = list(base)
        for n, v in zip(names, combo):
            words += ["--" + n, v]
        lines.append(" ".join(shlex.quote(w) for w in words))
    tmp = a.output + ".partial"
    try:
        with open(tmp, "w") as f:
            f.write("# %s\n" % " x ".join("%s (%d)" % (n, len(v)) for n, v in zip(names, values)))
            f.write("# written by slurm/grid.py: one run per line, arguments to colossim run\n")
            for line in lines:
                f.write(line + "\n")
        os.replace(tmp, a.output)
    except OSError as e:
        try:
            os.remove(tmp)
        except OSError:
            pass
        fail("%s: %s" % (a.output, e.strerror or e))
    rng = "0-%d" % (len(lines) - 1)
    if a.max_concurrent > 0:
        rng += "%%%d" % a.max_concurrent
    print("grid: %d runs (%s) -> %s" % (len(lines), " x ".join(str(len(v)) for v in values), a.output),
          file=sys.stderr)
    print("sbatch --array=%s slurm/sweep.sbatch %s" % (rng, a.output))
    return 0


if __name__ == "__main__":
    sys.exit(main())
