#!/usr/bin/python3
"""Collect the summaries of a finished sweep into one CSV.

usage: slurm/collect.py SWEEP_DIR [-o OUT.csv]

SWEEP_DIR is runs/sweep-<array job id>/ as written by slurm/sweep.sbatch.
One row per task-<i>/ directory, in task order: task, args (its parameter
line), one column param.NAME per option of the parameter lines that differs
between tasks (the swept parameters: --routing ecmp -> param.routing = ecmp;
a flag without a value -> true; absent -> empty), status (ok | running |
exit N | no summary | bad summary), exit_code, then every key of its
summary.json (nested objects as dotted keys, lists as JSON). The header is
the union of the keys of all tasks, in first-seen order. Writes
SWEEP_DIR/summary.csv unless -o is given (-o - for stdout). Exits 1 when
some task has no usable summary (the CSV is still written).
"""
import argparse
import csv
import json
import os
import re
import shlex
import sys


def params(args):
    """--name value / --name=value / --flag pairs of a parameter line, in order."""
    try:
        words = shlex.split(args)
    except ValueError:
        return {}
    out = {}
    i = 0
    while i < len(words):
        w = words[i]
        if w.startswith("--") and len(w) > 2:
            if "=" in w:
                k, v = w[2:].split("=", 1)
            elif i + 1 < len(words) and not words[i + 1].startswith("--"):
                k, v = w[2:], words[i + 1]
                i += 1
            else:
                k, v = w[2:], "true"
            out[k] = v
        i += 1
    return out


def flatten(prefix, value, out):
    """Nested objects become dotted keys; lists stay JSON text."""
    if isinstance(value, dict):
        for k, v in value.items():
            flatten(f"{prefix}.{k}" if prefix else str(k), v, out)
    elif isinstance(value, list):
        out[prefix] = json.dumps(value, separators=(",", ":"))
    else:
        out[prefix] = value


def read_task(path):
    row = {}
    try:
        with open(os.path.join(path, "args.txt")) as f:
            row["args"] = f.read().strip()
    except OSError:
        row["args"] = ""
    code = None
    try:
        with open(os.path.join(path, "exit_code")) as f:
            code = int(f.read().strip())
    except (OSError, ValueError):
        pass
    row["exit_code"] = "" if code is None else code
    summary = os.path.join(path, "summary.json")
    if code is None:
        row["status"] = "running"
    elif code != 0:
        row["status"] = f"exit {code}"
    else:
        row["status"] = "ok"
    try:
        with open(summary) as f:
            data = json.load(f)
    except FileNotFoundError:
        if row["status"] == "ok":
            row["status"] = "no summary"
        return row, False
    except (OSError, ValueError):
        if row["status"] == "ok":
            row["status"] = "bad summary"
        return row, False
    fields = {}
    if isinstance(data, dict):
        flatten("", data, fields)
    else:
        fields["summary"] = json.dumps(data)
    for k, v in fields.items():
        if k in ("task", "args", "status", "exit_code"):
            k = "summary." + k
        row[k] = v
    return row, row["status"] == "ok"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("sweep_dir")
    ap.add_argument("-o", "--output", help="CSV to write [SWEEP_DIR/summary.csv]; - for stdout")
    a = ap.parse_args()

    tasks = []
    for name in os.listdir(a.sweep_dir):
        m = re.fullmatch(r"task-(\d+)", name)
        if m and os.path.isdir(os.path.join(a.sweep_dir, name)):
            tasks.append((int(m.group(1)), os.path.join(a.sweep_dir, name)))
    if not tasks:
        print(f"collect: no task-<i> directories in {a.sweep_dir}", file=sys.stderr)
        return 2
    tasks.sort()

    rows, bad = [], []
    for i, path in tasks:
        row, ok = read_task(path)
        row["task"] = i
        rows.append(row)
        if not ok:
            bad.append(f"task {i}: {row['status']}")
    # The swept parameters: options whose value is not the same in every task.
    per_task = [params(r["args"]) for r in rows]
    names = []
    for p in per_task:
        for k in p:
            if k not in names:
                names.append(k)
    swept = [k for k in names if len({p.get(k) for p in per_task}) > 1]
    header = ["task", "args"] + ["param." + k for k in swept] + ["status", "exit_code"]
    for row, p in zip(rows, per_task):
        for k in swept:
            row["param." + k] = p.get(k, "")
        for k in row:
            if k not in header:
                header.append(k)

    out_path = a.output or os.path.join(a.sweep_dir, "summary.csv")
    f = sys.stdout if out_path == "-" else open(out_path, "w", newline="")
    w = csv.DictWriter(f, fieldnames=header, restval="")
    w.writeheader()
    w.writerows(rows)
    if f is not sys.stdout:
        f.close()
        print(f"collect: {len(rows)} tasks, {len(header)} columns ({len(swept)} swept: "
              f"{', '.join(swept) or 'none'}) -> {out_path}", file=sys.stderr)
    for b in bad:
        print(f"collect: {b}", file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
