#!/usr/bin/python3
"""analysis/SCHEMA.md against the schema's one definition (issue 15 item 2).

    schema_doc_test.py ANALYZE SCHEMA_MD [TRACE]

`colossim-analyze schema --format json` prints src/trace/cx_schema.h as
compiled.  Every row `| `PATH` | level | one row is | `name type, ...` | key |`
of SCHEMA.md must be one of its tables with the same level and the same
columns (names and types, in order), and every table of the schema must
have such a row: a column added to one and not the other fails.  With
TRACE (a colossim run's trace), its /meta/schema must be the same schema
and its tables' columns the schema's.
"""
import json
import re
import subprocess
import sys

ROW = re.compile(r"^\| `(/[a-z_/]+)` \| (\w+) \| [^|]+ \| `([^`]+)`[^|]* \| [^|]+ \|$")


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def doc_tables(path):
    """PATH -> (level, [(name, type)]) from the table rows of SCHEMA.md."""
    out = {}
    for n, line in enumerate(open(path), 1):
        m = ROW.match(line.rstrip("\n"))
        if not m:
            continue
        cols = []
        for item in re.sub(r"\(.*?\)", "", m.group(3)).split(","):
            words = item.split()
            if len(words) != 2:
                fail("%s:%d: %s: column '%s' is not 'name type'" % (path, n, m.group(1), item.strip()))
            cols.append((words[0], words[1]))
        if m.group(1) in out:
            fail("%s:%d: %s: a second row for the table" % (path, n, m.group(1)))
        out[m.group(1)] = (m.group(2), cols)
    return out


def main():
    analyze, doc = sys.argv[1], sys.argv[2]
    p = subprocess.run([analyze, "schema", "--format", "json"], stdout=subprocess.PIPE, universal_newlines=True)
    if p.returncode != 0:
        fail("colossim-analyze schema: exit %d" % p.returncode)
    schema = json.loads(p.stdout)
    code = {t["path"]: (t["level"], [(c["name"], c["type"]) for c in t["columns"]]) for t in schema["tables"]}
    docs = doc_tables(doc)
    for path, (level, cols) in code.items():
        if path not in docs:
            fail("%s: table %s of src/trace/cx_schema.h has no row" % (doc, path))
        dl, dc = docs[path]
        if dl != level:
            fail("%s: %s: level %s, the schema says %s" % (doc, path, dl, level))
        if dc != cols:
            only_c = [c for c in cols if c not in dc]
            only_d = [c for c in dc if c not in cols]
            fail("%s: %s: columns differ from src/trace/cx_schema.h: only in the schema %s, only in the doc %s%s"
                 % (doc, path, only_c, only_d, "" if only_c or only_d else " (order)"))
    for path in docs:
        if path not in code:
            fail("%s: table %s is not in src/trace/cx_schema.h" % (doc, path))
    for name, labels in schema["labels"].items():
        if not labels:
            fail("labels %s: empty" % name)
    print("SCHEMA.md: %d tables, %d columns, as src/trace/cx_schema.h" % (len(code), sum(len(c) for _, c in
                                                                                     code.values())))
    if len(sys.argv) > 3:
        check_trace(sys.argv[3], analyze, code)
    print("PASS")


def check_trace(trace, analyze, code):
    import h5py
    text = subprocess.run([analyze, "schema"], stdout=subprocess.PIPE, universal_newlines=True).stdout
    with h5py.File(trace, "r") as f:
        meta = f["meta/schema"][()]
        meta = meta.decode() if isinstance(meta, bytes) else str(meta)
        if meta != text:
            fail("%s: /meta/schema differs from colossim-analyze schema" % trace)
        n = 0
        for path, (_, cols) in code.items():
            if path.lstrip("/") not in f:
                continue
            names = list(f[path].dtype.names)
            if names != [c for c, _ in cols]:
                fail("%s: %s has columns %s, the schema %s" % (trace, path, names, [c for c, _ in cols]))
            n += 1
    print("%s: /meta/schema and the columns of its %d tables are the schema's" % (trace, n))


if __name__ == "__main__":
    main()
