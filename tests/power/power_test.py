#!/usr/bin/env python3
"""Power end-to-end tests.
usage: power_test.py MPIEXEC COLOSSIM ANALYZE POWER SRCDIR WORKDIR CASE
  ranks    default job at 1 and 2 ranks: /power tables and the summary's power
           object are identical (exact integer reduction)
  analyze  colossim-analyze power: table + json, --size-battery, no /power -> exit 2
  cli      colossim power site colossus2: full load vs 200 MW chillers printed
  parse    bad site: keys -> file:line error, exit 1
"""
import json, os, subprocess, sys

mpiexec, colossim, analyze, _colossim, src, work, case = sys.argv[1:8]
power = [colossim, "power"]
os.makedirs(work, exist_ok=True)


def run(cmd, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    return r


def traces():
    out = {}
    for np in (1, 2):
        h5 = os.path.join(work, f"p{np}.h5")
        js = os.path.join(work, f"p{np}.json")
        stale = not (os.path.exists(h5) and os.path.exists(js)) or \
            min(os.path.getmtime(h5), os.path.getmtime(js)) < os.path.getmtime(colossim)
        if stale:
            r = run([mpiexec, "--oversubscribe", "-np", str(np), colossim, "run", "--out", h5, "--summary-json", js,
                     "--power-bin", "2ms", "--progress", "0"])
            assert r.returncode == 0, r.stderr + r.stdout
            assert "power (job, 64 GPUs)" in r.stdout, r.stdout
        out[np] = (h5, js)
    return out


def case_ranks():
    import h5py
    import numpy as np
    t = traces()
    p1 = json.load(open(t[1][1]))["power"]
    p2 = json.load(open(t[2][1]))["power"]
    assert p1 == p2, (p1, p2)
    for k in ("mean_it_mw", "peak_it_mw", "energy_j_per_token", "swing_mw"):
        assert p1[k] > 0, k
    assert p1["extrapolated"] is True and p1["site_scale"] == 16.0
    f1, f2 = h5py.File(t[1][0], "r"), h5py.File(t[2][0], "r")
    for tab in ("racks", "site", "iterations"):
        a, b = f1["/power/" + tab][:], f2["/power/" + tab][:]
        assert len(a) > 0 and a.tobytes() == b.tobytes(), tab
    s = f1["/power/site"][:]
    assert (s["facility_mw"] > s["site_it_mw"]).all() and (s["extrapolated"] == 1).all()
    # Site = job x scale.
    assert np.allclose(s["site_it_mw"], s["job_it_mw"] * 16.0)
    r = f1["/power/racks"][:]
    shares = r["compute_share"] + r["memory_share"] + r["comm_share"] + r["idle_share"]
    assert np.allclose(shares, 1.0, atol=1e-5), shares
    assert "GPU compute-bound" in f1["/meta/power_params"][()].decode()
    # Same figures without the trace.
    js = os.path.join(work, "notrace.json")
    r = run([colossim, "run", "--out", "", "--summary-json", js, "--power-bin", "2ms", "--progress", "0"])
    assert r.returncode == 0, r.stderr
    assert json.load(open(js))["power"] == p1
    # The run's other summary keys are unchanged by the power model.
    js0 = os.path.join(work, "nopower.json")
    r = run([colossim, "run", "--out", "", "--summary-json", js0, "--power-bin", "0", "--progress", "0"])
    assert r.returncode == 0, r.stderr
    a, b = json.load(open(js0)), json.load(open(js))
    assert "power" not in a
    for k in ("iteration_seconds", "tokens_per_second", "mfu", "digest", "events"):
        assert a[k] == b[k], k


def case_analyze():
    t = traces()
    r = run([analyze, "power", t[1][0], "--size-battery"])
    assert r.returncode == 0, r.stderr
    assert "EXTRAPOLATED" in r.stdout and "size-battery" in r.stdout, r.stdout
    r = run([analyze, "power", t[1][0], "--format", "json", "--size-battery", "--ramp", "0.5"])
    assert r.returncode == 0, r.stderr
    j = json.loads(r.stdout)
    p = json.load(open(t[1][1]))["power"]
    for k in ("swing_mw", "energy_j_per_token", "it_energy_j_per_token"):
        assert abs(j[k] - p[k]) <= 1e-9 * abs(p[k]), (k, j[k], p[k])
    assert j["size_battery"]["ramp_mw_per_s"] == 0.5 and j["size_battery"]["mw"] > 0
    assert j["extrapolated"] is True and len(j["iterations"]) >= 1
    # The same file through 2 ranks gives the same analysis.
    r2 = run([analyze, "power", t[2][0], "--format", "json"])
    j2 = json.loads(r2.stdout)
    j1 = json.loads(run([analyze, "power", t[1][0], "--format", "json"]).stdout)
    j1.pop("file"); j2.pop("file")
    assert j1 == j2
    # A trace without /power.
    h5 = os.path.join(work, "nopower.h5")
    r = run([colossim, "run", "--out", h5, "--power-bin", "0", "--progress", "0"])
    assert r.returncode == 0, r.stderr
    r = run([analyze, "power", h5])
    assert r.returncode == 2 and "no /power" in r.stderr, r.stderr


def case_cli():
    r = run([*power, "site", os.path.join(src, "topologies/colossus2.yaml")])
    assert r.returncode == 0, r.stderr
    assert "110592 GPUs" in r.stdout and "vs chillers" in r.stdout and "200.00 MW" in r.stdout, r.stdout
    assert "[U]" in r.stdout and "COP 3.50" in r.stdout, r.stdout
    r = run([*power, "site", os.path.join(src, "topologies/colossus2.yaml"), "--format", "json"])
    j = json.loads(r.stdout)
    assert 0.7 < j["heat_over_chillers"] < 1.5 and j["chillers_mw"] == 200, j
    r = run([*power, "params", os.path.join(src, "topologies/colossus1.yaml")])
    assert r.returncode == 0 and "150 MW" in r.stdout and "811 MWh" in r.stdout, r.stdout
    r = run([*power, "site"])
    assert r.returncode == 2 and "missing TOPOLOGY" in r.stderr, r.stderr
    # --help / -h on the command and both subcommands, anywhere: usage on stdout, exit 0.
    for args in (["--help"], ["-h"], ["site", "--help"], ["site", "-h"], ["params", "-h"],
                 ["site", os.path.join(src, "topologies/colossus2.yaml"), "--help"]):
        r = run([*power, *args])
        assert r.returncode == 0 and r.stdout.startswith("usage: colossim power site"), (args, r.returncode, r.stderr)
    # --format text|json like every other command; table is the old name of text.
    topo2 = os.path.join(src, "topologies/colossus2.yaml")
    text = run([*power, "site", topo2, "--format", "text"])
    old = run([*power, "site", topo2, "--format", "table"])
    assert text.returncode == 0 and old.returncode == 0 and text.stdout == old.stdout, old.stderr
    assert "--format text" in old.stderr, old.stderr
    r = run([*power, "site", topo2, "--format", "yaml"])
    assert r.returncode == 2 and "expected text or json" in r.stderr, r.stderr
    # Sources: no reference to a file that is not in the repository, and the tags explained.
    assert "REFERENCE.md" not in text.stdout and "[P; GB300 S]" not in text.stdout, text.stdout
    assert "sources: [P] primary" in text.stdout and "[S] press figures for Grace Blackwell" in text.stdout, text.stdout


def case_parse():
    base = open(os.path.join(src, "topologies/colossus1-mini.yaml")).read()
    for bad, what in (("site:\n  grid: {mw: 10, rampp: 3}\n", "rampp"),
                      ("site:\n  cooling: {cop: 3, pue: 1.2}\n", "either cop or pue"),
                      ("site:\n  battery: {soc_min: 0.9, soc_max: 0.1}\n", "soc_min"),
                      ("site:\n  gpu_power: {compute: -1}\n", "compute")):
        p = os.path.join(work, "bad.yaml")
        open(p, "w").write(base + bad)
        r = run([*power, "params", p])
        assert r.returncode == 1 and what in r.stderr and "bad.yaml:" in r.stderr, (bad, r.stderr)
    p = os.path.join(work, "good.yaml")
    open(p, "w").write(base + "site:\n  gpus: 2048\n  gpu_power: {floor: 0.5}\n  dispatch: {smoothing: 5s}\n")
    r = run([*power, "params", p])
    assert r.returncode == 0 and "2048" in r.stdout and "smoothing 5 s" in r.stdout, r.stdout


{"ranks": case_ranks, "analyze": case_analyze, "cli": case_cli, "parse": case_parse}[case]()
print("ok", case)
