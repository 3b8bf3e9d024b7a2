#!/usr/bin/python3
"""Plots of a colossim trace (analysis/SCHEMA.md), run by `colossim-analyze plot`.

    colossim_plot.py FILE --out DIR [--gpus 0-7] [--iteration I]

Writes into DIR:
  timeline.png    ops of the selected GPUs over one iteration, one row per
                  (GPU, stream), coloured by kind (needs /ops/gpu_ops)
  breakdown.png   per GPU: compute / exposed comm / pipeline wait / other
                  share of the steady-state iterations (/summary/iterations)
  coll_busbw.png  collective bus bandwidth vs size, per kind and algorithm
                  (/summary/collectives)
  links_heatmap.png  only when the trace has /links (--trace-level links):
                  one panel per link class, ports (grouped when many) x time
                  bins, colour = bytes / (bandwidth x bin) as written
                  (saturates at 1; a bin can exceed 1 by up to one chunk)
  site_power.png  only when the trace has /power (--power-bin > 0): job IT
                  and facility power over time with iteration boundaries;
                  site facility, cooling and the supply stack (grid,
                  turbines, battery) with unserved load; battery state of
                  charge.  Titled EXTRAPOLATED when scaled from the job.
Needs only h5py, numpy and matplotlib (Agg backend, no display).
"""
import argparse
import os
import sys

import matplotlib

matplotlib.use("Agg")
import h5py  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

KINDS = ["compute", "send", "recv", "collective", "wait", "iter_begin", "iter_end"]
COLLS = ["allreduce", "reducescatter", "allgather", "alltoall", "broadcast", "reduce"]
ALGOS = ["auto", "ring", "tree", "nvls", "pairwise"]
STREAMS = ["compute", "tp", "dp", "pp"]
KIND_COLOURS = {0: "#4c72b0", 1: "#dd8452", 2: "#c44e52", 3: "#55a868", 4: "#bbbbbb"}


def fail(path, msg):
    sys.stderr.write("colossim-analyze: error: %s: %s\n" % (path, msg))
    sys.exit(1)


def parse_gpus(spec, n):
    sel = set()
    for part in spec.split(","):
        if "-" in part:
            lo, hi = part.split("-", 1)
            sel.update(range(int(lo), int(hi) + 1))
        elif part:
            sel.add(int(part))
    bad = [g for g in sel if g < 0 or g >= n]
    if bad:
        raise ValueError("GPU %d outside 0-%d" % (bad[0], n - 1))
    return sorted(sel)


def timeline(f, out, gpus, iteration):
    if "ops/gpu_ops" not in f:
        print("timeline.png skipped: no /ops/gpu_ops (run with --trace-level ops)")
        return None
    ops = f["ops/gpu_ops"][:]
    sel = np.isin(ops["gpu"], np.array(gpus, dtype=ops["gpu"].dtype)) & (ops["iteration"] == iteration)
    ops = ops[sel]
    if len(ops) == 0:
        print("timeline.png skipped: no ops for GPUs %s in iteration %d" % (gpus, iteration))
        return None
    t0 = ops["start_ps"].min()
    rows = []
    for g in gpus:
        for s in range(4):
            if np.any((ops["gpu"] == g) & (ops["stream"] == s)):
                rows.append((g, s))
    fig, ax = plt.subplots(figsize=(14, max(3.0, 0.28 * len(rows) + 1.5)))
    for y, (g, s) in enumerate(rows):
        m = (ops["gpu"] == g) & (ops["stream"] == s) & (ops["kind"] <= 4)
        sub = ops[m]
        for k, colour in KIND_COLOURS.items():
            kk = sub[sub["kind"] == k]
            if len(kk) == 0:
                continue
            starts = (kk["start_ps"] - t0) * 1e-9
            widths = np.maximum((kk["end_ps"] - kk["start_ps"]) * 1e-9, 1e-6)
            ax.broken_barh(list(zip(starts, widths)), (y - 0.4, 0.8), facecolors=colour,
                           edgecolor="none")
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels(["GPU %d %s" % (g, STREAMS[s] if s < 4 else s) for g, s in rows], fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("time in iteration %d (ms)" % iteration)
    handles = [plt.Rectangle((0, 0), 1, 1, color=c) for c in KIND_COLOURS.values()]
    ax.legend(handles, [KINDS[k] for k in KIND_COLOURS], loc="upper right", fontsize=7, ncol=5)
    ax.set_title("ops timeline")
    fig.tight_layout()
    path = os.path.join(out, "timeline.png")
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def breakdown(f, out):
    it = f["summary/iterations"][:]
    if len(it) == 0:
        print("breakdown.png skipped: no iteration finished")
        return None
    gpus = np.unique(it["gpu"])
    comp = np.zeros(len(gpus))
    exp = np.zeros(len(gpus))
    pp = np.zeros(len(gpus))
    tot = np.zeros(len(gpus))
    idx = {g: i for i, g in enumerate(gpus)}
    for r in it:
        i = idx[r["gpu"]]
        comp[i] += r["compute_ps"]
        exp[i] += r["exposed_comm_ps"]
        pp[i] += r["pp_wait_ps"]
        tot[i] += r["end_ps"] - r["begin_ps"]
    tot[tot == 0] = 1
    other = np.maximum(tot - comp - exp - pp, 0)
    fig, ax = plt.subplots(figsize=(max(6.0, 0.15 * len(gpus) + 2), 4))
    x = np.arange(len(gpus))
    bottom = np.zeros(len(gpus))
    for vals, label, colour in ((comp, "compute", "#4c72b0"), (exp, "exposed comm", "#55a868"),
                                (pp, "pipeline wait", "#c44e52"), (other, "other idle", "#bbbbbb")):
        ax.bar(x, vals / tot, bottom=bottom, label=label, color=colour, width=0.85)
        bottom += vals / tot
    ax.set_xlabel("GPU")
    ax.set_ylabel("share of its iteration time")
    ax.set_ylim(0, 1)
    step = max(1, len(gpus) // 16)
    ax.set_xticks(x[::step])
    ax.set_xticklabels([str(g) for g in gpus[::step]], fontsize=7)
    ax.legend(fontsize=7, loc="lower right")
    ax.set_title("time breakdown per GPU (all finished iterations)")
    fig.tight_layout()
    path = os.path.join(out, "breakdown.png")
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def coll_busbw(f, out):
    c = f["summary/collectives"][:]
    fig, ax = plt.subplots(figsize=(7, 4.5))
    if len(c) == 0:
        ax.text(0.5, 0.5, "no collectives", ha="center", va="center", transform=ax.transAxes)
    for k in np.unique(c["kind"]) if len(c) else []:
        for a in np.unique(c["algo"][c["kind"] == k]):
            m = (c["kind"] == k) & (c["algo"] == a)
            label = "%s/%s" % (COLLS[k] if k < len(COLLS) else k, ALGOS[a] if a < len(ALGOS) else a)
            ax.scatter(c["bytes"][m], c["busbw_gbps"][m], s=8, alpha=0.5, label=label)
    if len(c):
        ax.set_xscale("log", base=2)
        ax.legend(fontsize=7)
    ax.set_xlabel("size (bytes, nccl-tests convention)")
    ax.set_ylabel("bus bandwidth (GB/s)")
    ax.set_title("collective bus bandwidth vs size")
    fig.tight_layout()
    path = os.path.join(out, "coll_busbw.png")
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


LINK_CLASSES = ["gpu->nvswitch", "nvswitch->gpu", "nic->leaf", "leaf->nic", "switch-up", "switch-down"]


def links_heatmap(f, out, max_rows=256):
    if "links/bins" not in f or "links/ports" not in f:
        print("links_heatmap.png skipped: no /links (run with --trace-level links)")
        return None
    bin_ps = int(f["meta"].attrs.get("link_bin_ps", 0))
    ports = f["links/ports"][:]
    bins = f["links/bins"][:]
    if len(ports) == 0 or len(bins) == 0 or bin_ps <= 0:
        print("links_heatmap.png skipped: no link traffic")
        return None
    ports = ports[np.lexsort((ports["port"], ports["dev"], ports["tier"], ports["cls"]))]
    shift = np.uint64(1 << 32)
    key = ports["dev"].astype(np.uint64) * shift + ports["port"].astype(np.uint64)
    bkey = bins["dev"].astype(np.uint64) * shift + bins["port"].astype(np.uint64)
    sorter = np.argsort(key, kind="stable")
    pos = np.searchsorted(key, bkey, sorter=sorter)
    pos[pos >= len(key)] = 0
    idx = sorter[pos]
    if np.any(key[idx] != bkey):
        fail(f.filename, "/links/bins has rows for ports missing from /links/ports")
    tb = (bins["start_ps"] // bin_ps).astype(np.int64)
    nb = int(tb.max()) + 1
    util = bins["bytes"] / (ports["bandwidth"][idx] * (bin_ps * 1e-12))
    classes = [c for c in range(len(LINK_CLASSES)) if np.any(ports["cls"] == c)]
    fig, axes = plt.subplots(len(classes), 1, figsize=(12, 1.9 * len(classes) + 1.2), squeeze=False, sharex=True)
    im = None
    for ax, c in zip(axes[:, 0], classes):
        sel = np.nonzero(ports["cls"] == c)[0]  # contiguous: ports sorted by class first
        lo, n = int(sel[0]), len(sel)
        group = -(-n // max_rows)
        rows = -(-n // group)
        m = (idx >= lo) & (idx < lo + n)
        grid = np.zeros((rows, nb))
        np.add.at(grid, ((idx[m] - lo) // group, tb[m]), util[m])
        per_row = np.full(rows, float(group))
        per_row[-1] = n - group * (rows - 1)
        grid /= per_row[:, None]
        im = ax.imshow(grid, aspect="auto", interpolation="nearest", vmin=0.0, vmax=1.0, cmap="viridis",
                       extent=[0, nb * bin_ps * 1e-9, rows, 0])
        tiers = sorted(set(int(t) for t in ports["tier"][sel]))
        ax.set_ylabel("%s\ntier %s\n%d ports%s" % (LINK_CLASSES[c], ",".join(map(str, tiers)), n,
                                                   "" if group == 1 else " (/%d)" % group), fontsize=7)
        ax.set_yticks([])
    axes[-1, 0].set_xlabel("simulated time (ms), bins of %.3g ms" % (bin_ps * 1e-9))
    fig.colorbar(im, ax=axes[:, 0].tolist(), label="utilisation (bytes / bandwidth x bin)", fraction=0.03)
    fig.suptitle("link utilisation per class over time")
    path = os.path.join(out, "links_heatmap.png")
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def site_power(f, out):
    """Site-power picture from /power/site and /power/iterations."""
    if "power/site" not in f:
        print("site_power.png skipped: no /power (run with --power-bin > 0)")
        return None
    s = f["power/site"][:]
    if len(s) == 0:
        print("site_power.png skipped: no power bins")
        return None
    s = s[np.argsort(s["start_ps"], kind="stable")]
    meta = f["meta"].attrs
    extrap = int(meta.get("power_extrapolated", 0))
    scale = float(meta.get("power_site_scale", 1.0))
    site = meta.get("power_site", b"")
    site = site.decode() if isinstance(site, bytes) else str(site)
    t = (s["start_ps"] + s["width_ps"] / 2) * 1e-12
    fig, axes = plt.subplots(3, 1, figsize=(11, 8.5), sharex=True,
                             gridspec_kw={"height_ratios": [1.1, 1.6, 0.8]})
    ax = axes[0]
    ax.plot(t, s["job_it_mw"], lw=1.0, label="job IT")
    ax.plot(t, s["job_facility_mw"], lw=1.0, label="job facility (IT + losses + cooling)")
    if "power/iterations" in f:
        for r in f["power/iterations"][:]:
            ax.axvline(r["begin_ps"] * 1e-12, color="#999999", lw=0.6, ls="--")
            ax.axvline(r["end_ps"] * 1e-12, color="#999999", lw=0.6, ls=":")
    ax.set_ylabel("MW")
    ax.set_title("job power (%d GPUs); dashed/dotted: iteration begin/end" % int(meta.get("power_job_gpus", 0)))
    ax.legend(fontsize=7, loc="lower right")
    ax = axes[1]
    grid, turb, bat = s["grid_mw"], s["turbines_mw"], s["battery_mw"]
    dis = np.clip(bat, 0, None)
    ax.stackplot(t, grid, turb, dis, labels=["grid", "gas turbines", "battery discharge"],
                 colors=["#8172b2", "#dd8452", "#55a868"], alpha=0.6)
    ax.plot(t, s["facility_mw"], color="k", lw=1.0, label="site facility load")
    ax.plot(t, s["site_it_mw"], color="#4c72b0", lw=0.8, label="site IT")
    ax.plot(t, s["cooling_mw"], color="#64b5cd", lw=0.8, label="cooling")
    if np.any(bat < 0):
        ax.plot(t, -np.clip(bat, None, 0), color="#2ca02c", lw=0.8, ls="--", label="battery charge")
    if np.any(s["unserved_mw"] > 0):
        ax.plot(t, s["unserved_mw"], color="#c44e52", lw=1.0, label="unserved (violation)")
    if np.any(s["excess_mw"] > 0):
        ax.plot(t, s["excess_mw"], color="#e377c2", lw=1.0, label="excess (violation)")
    ax.set_ylabel("MW")
    ax.set_title("site %s%s" % (site, ("  EXTRAPOLATED: job x %.4g, every site GPU in lockstep" % scale)
                                 if extrap else ""), color="#c44e52" if extrap else "k")
    ax.legend(fontsize=7, loc="lower right", ncol=2)
    ax = axes[2]
    ax.plot(t, s["battery_soc"], color="#55a868")
    ax.set_ylim(0, 1)
    ax.set_ylabel("battery SoC")
    ax.set_xlabel("simulated time (s), bins of %.3g ms" % (int(meta.get("power_bin_ps", 0)) * 1e-9))
    fig.tight_layout()
    path = os.path.join(out, "site_power.png")
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("file")
    ap.add_argument("--out", required=True)
    ap.add_argument("--gpus", default=None, help="GPUs on the timeline (default: up to 8, first of each stage)")
    ap.add_argument("--iteration", type=int, default=None, help="iteration on the timeline (default: last)")
    a = ap.parse_args()
    try:
        f = h5py.File(a.file, "r")
    except OSError as e:
        fail(a.file, "cannot open as HDF5 (%s)" % e)
    for t in ("meta", "summary/iterations", "summary/collectives"):
        if t not in f:
            fail(a.file, "missing /%s: not a complete colossim trace" % t)
    os.makedirs(a.out, exist_ok=True)
    meta = f["meta"].attrs
    if int(meta.get("complete", 1)) == 0:
        print("INCOMPLETE: run stopped early")
    ngpus = int(meta.get("gpus", 0)) or int(f["summary/iterations"]["gpu"].max()) + 1
    if a.gpus:
        try:
            gpus = parse_gpus(a.gpus, ngpus)
        except ValueError as e:
            fail(a.file, "--gpus %s: %s" % (a.gpus, e))
    else:
        step = max(1, ngpus // 8)
        gpus = list(range(0, ngpus, step))[:8]
    its = f["summary/iterations"]["iteration"]
    iteration = a.iteration if a.iteration is not None else (int(its.max()) if len(its) else 0)
    written = [p for p in (timeline(f, a.out, gpus, iteration), breakdown(f, a.out), coll_busbw(f, a.out),
                           links_heatmap(f, a.out), site_power(f, a.out)) if p]
    for p in written:
        print("wrote %s (%d bytes)" % (p, os.path.getsize(p)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
