#!/usr/bin/python3
"""Open a colossim trace with plain h5py (no project code) and read every
dataset; check /meta and, with --ranks N, the row counts the MPI test wrote.

usage: check_trace.py FILE [--ranks N]
"""
import sys

import h5py
import numpy as np


def main(argv):
    path = argv[1]
    ranks = int(argv[argv.index("--ranks") + 1]) if "--ranks" in argv else None
    seen = {}
    with h5py.File(path, "r") as f:
        meta = f["/meta"]
        assert int(meta.attrs["schema_version"]) == 1, "schema_version"
        assert int(meta.attrs["complete"]) in (0, 1), "complete"

        def visit(name, obj):
            if isinstance(obj, h5py.Dataset):
                data = obj[()]  # read it all
                seen["/" + name] = data
                for k in obj.attrs:
                    obj.attrs[k]
        f.visititems(visit)
        print("meta:", {k: meta.attrs[k] for k in meta.attrs})
    for name, data in sorted(seen.items()):
        shape = getattr(data, "shape", ())
        print(f"{name}: shape={shape} dtype={getattr(data, 'dtype', type(data))}")
    if ranks is not None:
        ops = sum(0 if r == 1 else 100 + 37 * r for r in range(ranks))
        bins = sum(1000 * (r + 1) for r in range(ranks)) + 50000 + sum(3 * r for r in range(1, ranks))
        assert seen["/ops/gpu_ops"].shape == (ops,), seen["/ops/gpu_ops"].shape
        assert seen["/links/bins"].shape == (bins,), seen["/links/bins"].shape
        assert seen["/empty/never"].shape == (0,)
        assert seen["/empty/zero"].shape == (0,)
        o = seen["/ops/gpu_ops"]
        assert list(o.dtype.names) == ["t_start", "gpu", "kind", "flag", "dur", "name"]
        assert o["name"][0] == b"op-0-0", o["name"][0]
        b = seen["/links/bins"]
        assert np.all(b["bin"][:1000] == np.arange(1000)), "bins chunk 0 rank 0"
        assert seen["/meta/config"].startswith(b"key_0000:")
    print("check_trace.py: OK")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
