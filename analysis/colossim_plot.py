#!/usr/bin/python3
"""Plots of a colossim trace (analysis/SCHEMA.md), run by `colossim-analyze plot`.

    colossim_plot.py FILE --out DIR [--gpus 0-7] [--iteration I]

Writes into DIR:
  timeline.png    ops of the selected GPUs over one iteration, one row per
                  (GPU, stream), coloured by kind (needs /ops/gpu_ops).
                  Default GPUs: the first GPU of each pipeline stage (up to
                  8); at most 16 GPUs are drawn: a longer --gpus list is
                  sampled evenly, and the figure says so.
  breakdown.png   compute / exposed comm / pipeline wait / other share of
                  the finished iterations (/summary/iterations): one bar per
                  GPU up to 128 GPUs; above, one bar per pipeline stage
                  (or per group of consecutive GPUs when the layout is not
                  in the trace), the mean of its GPUs with the min-max of
                  their compute share, and the title says so.
  coll_busbw.png  collective bus bandwidth vs size, per kind and algorithm
                  (/summary/collectives): every instance up to 50,000;
                  above, the median per (kind, algorithm, size) with
                  p5-p95 bars, said in the title.
  links_heatmap.png  only when the trace has /links (--trace-level links):
                  one panel per link class, ports (grouped when more than
                  256) x time bins (merged when more than 2,000), colour =
                  bytes / (bandwidth x bin) as written (saturates at 1; a
                  bin can exceed 1 by up to one chunk)
  site_power.png  only when the trace has /power (--power-bin > 0): job IT
                  and facility power over time with iteration boundaries;
                  site facility, cooling and the supply stack (grid,
                  turbines, battery) with unserved load; battery state of
                  charge.  Titled EXTRAPOLATED when scaled from the job.
Needs only h5py, numpy and matplotlib (Agg backend, no display).  Tables
are read in blocks of rows (BLOCK), so memory stays bounded on traces of
16k GPUs and more; every figure has a bounded size in pixels.
"""
import argparse
import os
import sys

import matplotlib

matplotlib.use("Agg")
import h5py  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

# Labels of enumerated columns (op_kind, coll_kind, coll_algo, stream, link_class ...): the schema's
# (src/trace/cx_schema.h), read from the trace by schema_labels(); no copies here.
LABELS = {}
KIND_COLOURS = {0: "#4c72b0", 1: "#dd8452", 2: "#c44e52", 3: "#55a868", 4: "#bbbbbb"}


BLOCK = 1 << 20          # rows per read: 80 MiB of /ops/gpu_ops at most
MAX_BAR_GPUS = 128       # breakdown.png: one bar per GPU up to this many
MAX_GROUPS = 64          # ... else at most this many bars of consecutive GPUs
MAX_TIMELINE_GPUS = 16   # timeline.png rows = 4 x this at most
MAX_SCATTER = 50000      # coll_busbw.png: every instance up to this many
MAX_PORT_ROWS = 256      # links_heatmap.png rows per class
MAX_TIME_COLS = 2000     # links_heatmap.png columns


def fail(path, msg):
    sys.stderr.write("colossim-analyze: error: %s: %s\n" % (path, msg))
    sys.exit(1)


def schema_labels(f):
    """The label lists of the trace's /meta/schema; for a trace written before colossim wrote it, those of
    the colossim-analyze that runs this script (it passes its schema in COLOSSIM_SCHEMA)."""
    if "meta/schema" in f:
        text = f["meta/schema"][()]
        text = text.decode() if isinstance(text, bytes) else str(text)
    else:
        text = os.environ.get("COLOSSIM_SCHEMA", "")
    labels = {}
    for line in text.splitlines():
        p = line.split("\t")
        if p[0] == "labels" and len(p) >= 2:
            labels[p[1]] = p[2:]
    for need in ("op_kind", "coll_kind", "coll_algo", "stream", "link_class"):
        if need not in labels:
            fail(f.filename, "no labels '%s' in /meta/schema or COLOSSIM_SCHEMA (run it as 'colossim-analyze plot')"
                 % need)
    return labels


def name_of(kind, v):
    """The label of value v of an enumerated column, or the number when out of range."""
    names = LABELS[kind]
    return names[v] if 0 <= v < len(names) else str(v)


def save(fig, out, name):
    """Write the PNG out/name under a temporary name, then rename: a full disk
    or an unwritable directory leaves no partial PNG and says why.  Closes
    the figure; returns the path."""
    path = os.path.join(out, name)
    tmp = path[:-4] + ".partial.png"
    try:
        fig.savefig(tmp, dpi=110)
        os.replace(tmp, path)
    except OSError as e:
        try:
            os.remove(tmp)
        except OSError:
            pass
        fail(path, "cannot write (%s)" % (e.strerror or e))
    finally:
        plt.close(fig)
    return path


def scan(ds, fields):
    """The rows of a table, BLOCK at a time, only the named columns."""
    n = ds.shape[0]
    view = ds.fields(list(fields))
    for a in range(0, n, BLOCK):
        yield view[a:min(n, a + BLOCK)]


def layout(f, ngpus):
    """(tp, cp, pp, dp) from /meta/workload_yaml, or None (replay jobs, old traces)."""
    if "meta/workload_yaml" not in f:
        return None
    text = f["meta/workload_yaml"][()]
    text = text.decode(errors="replace") if isinstance(text, bytes) else str(text)
    par, inside = {}, False
    for line in text.splitlines():
        body = line.split("#", 1)[0].rstrip()
        if not body.strip():
            continue
        if not body.startswith((" ", "\t")):
            inside = body.strip() == "parallelism:"
            continue
        if inside and ":" in body:
            k, v = body.split(":", 1)
            if k.strip() in ("tp", "cp", "pp", "dp"):
                try:
                    par[k.strip()] = int(v.strip())
                except ValueError:
                    return None
    tp, cp, pp, dp = (par.get(k, 1) for k in ("tp", "cp", "pp", "dp"))
    if tp * cp * pp * dp != ngpus or min(tp, cp, pp, dp) < 1:
        return None
    return tp, cp, pp, dp


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


def sample(items, k):
    """k items spread evenly over a sorted list (all when it has k or fewer)."""
    if len(items) <= k:
        return list(items)
    return [items[int(i * len(items) / k)] for i in range(k)]


def timeline(f, out, gpus, iteration, note=""):
    if "ops/gpu_ops" not in f:
        print("timeline.png skipped: no /ops/gpu_ops (run with --trace-level ops)")
        return None
    want = np.array(gpus, dtype=np.uint64)
    parts = []
    for b in scan(f["ops/gpu_ops"], ("gpu", "stream", "kind", "iteration", "start_ps", "end_ps")):
        m = (b["iteration"] == iteration) & np.isin(b["gpu"].astype(np.uint64), want) & (b["kind"] <= 4)
        if np.any(m):
            parts.append(b[m])
    if not parts:
        print("timeline.png skipped: no ops for GPUs %s in iteration %d" % (gpus, iteration))
        return None
    ops = np.concatenate(parts)
    t0 = ops["start_ps"].min()
    rows = []
    for g in gpus:
        for s in range(4):
            if np.any((ops["gpu"] == g) & (ops["stream"] == s)):
                rows.append((g, s))
    fig, ax = plt.subplots(figsize=(14, max(3.0, 0.28 * len(rows) + 1.5)))
    for y, (g, s) in enumerate(rows):
        sub = ops[(ops["gpu"] == g) & (ops["stream"] == s)]
        for k, colour in KIND_COLOURS.items():
            kk = sub[sub["kind"] == k]
            if len(kk) == 0:
                continue
            starts = (kk["start_ps"] - t0) * 1e-9
            widths = np.maximum((kk["end_ps"] - kk["start_ps"]) * 1e-9, 1e-6)
            ax.broken_barh(list(zip(starts, widths)), (y - 0.4, 0.8), facecolors=colour,
                           edgecolor="none")
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels(["GPU %d %s" % (g, name_of("stream", s)) for g, s in rows], fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("time in iteration %d (ms)" % iteration)
    handles = [plt.Rectangle((0, 0), 1, 1, color=c) for c in KIND_COLOURS.values()]
    ax.legend(handles, [name_of("op_kind", k) for k in KIND_COLOURS], loc="upper right", fontsize=7, ncol=5)
    ax.set_title("ops timeline" + (" (%s)" % note if note else ""), fontsize=9)
    fig.tight_layout()
    return save(fig, out, "timeline.png")


def breakdown(f, out, lay):
    ds = f["summary/iterations"]
    if ds.shape[0] == 0:
        print("breakdown.png skipped: no iteration finished")
        return None
    ngpus = int(f["meta"].attrs.get("gpus", 0))
    if ngpus <= 0:
        for b in scan(ds, ("gpu",)):
            ngpus = max(ngpus, int(b["gpu"].max()) + 1)
    comp = np.zeros(ngpus)
    exp = np.zeros(ngpus)
    pp = np.zeros(ngpus)
    tot = np.zeros(ngpus)
    seen = np.zeros(ngpus, dtype=bool)
    for b in scan(ds, ("gpu", "begin_ps", "end_ps", "compute_ps", "exposed_comm_ps", "pp_wait_ps")):
        g = b["gpu"].astype(np.int64)
        b = b[g < ngpus]
        g = g[g < ngpus]
        np.add.at(comp, g, b["compute_ps"].astype(np.float64))
        np.add.at(exp, g, b["exposed_comm_ps"].astype(np.float64))
        np.add.at(pp, g, b["pp_wait_ps"].astype(np.float64))
        np.add.at(tot, g, (b["end_ps"] - b["begin_ps"]).astype(np.float64))
        seen[g] = True
    gpus = np.nonzero(seen)[0]
    comp, exp, pp, tot = comp[gpus], exp[gpus], pp[gpus], tot[gpus]
    tot[tot == 0] = 1
    shares = [comp / tot, exp / tot, pp / tot, np.maximum(tot - comp - exp - pp, 0) / tot]
    if len(gpus) <= MAX_BAR_GPUS:
        labels = [str(g) for g in gpus]
        group = None
        xlabel, title = "GPU", "time breakdown per GPU (all finished iterations)"
        lo = hi = None
    else:
        if lay is not None and 1 < lay[2] <= MAX_GROUPS:
            per = lay[0] * lay[1] * lay[3]
            group = gpus // per
            labels = ["%d" % s for s in range(lay[2])]
            xlabel = "pipeline stage (%d GPUs each)" % per
            title = ("time breakdown per pipeline stage: mean of its GPUs, bar = min-max compute share\n"
                     "(%d GPUs, more than %d: aggregated)" % (len(gpus), MAX_BAR_GPUS))
            ngroups = lay[2]
        else:
            ngroups = min(MAX_GROUPS, len(gpus))
            per = -(-ngpus // ngroups)
            ngroups = -(-ngpus // per)
            group = gpus // per
            labels = ["%d-%d" % (i * per, min(ngpus, (i + 1) * per) - 1) for i in range(ngroups)]
            xlabel = "GPUs (groups of %d consecutive)" % per
            title = ("time breakdown per group of %d GPUs: mean, bar = min-max compute share\n"
                     "(%d GPUs, more than %d: aggregated)" % (per, len(gpus), MAX_BAR_GPUS))
        cnt = np.bincount(group, minlength=ngroups).astype(np.float64)
        keep = np.nonzero(cnt)[0]
        c = cnt[keep]
        lo = np.full(ngroups, np.inf)
        hi = np.full(ngroups, -np.inf)
        np.minimum.at(lo, group, shares[0])
        np.maximum.at(hi, group, shares[0])
        lo, hi = lo[keep], hi[keep]
        shares = [np.bincount(group, weights=s, minlength=ngroups)[keep] / c for s in shares]
        labels = [labels[i] for i in keep]
        print("breakdown.png: %d GPUs, more than %d: aggregated by %s" % (len(gpus), MAX_BAR_GPUS, xlabel))
    n = len(labels)
    fig, ax = plt.subplots(figsize=(min(20.0, max(6.0, 0.15 * n + 2)), 4.4))
    x = np.arange(n)
    bottom = np.zeros(n)
    for vals, label, colour in zip(shares, ("compute", "exposed comm", "pipeline wait", "other idle"),
                                   ("#4c72b0", "#55a868", "#c44e52", "#bbbbbb")):
        ax.bar(x, vals, bottom=bottom, label=label, color=colour, width=0.85)
        bottom += vals
    if lo is not None:
        mid = shares[0]
        ax.errorbar(x, mid, yerr=[mid - lo, hi - mid], fmt="none", ecolor="k", elinewidth=0.8, capsize=2)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("share of its iteration time")
    ax.set_ylim(0, 1)
    step = max(1, n // 16)
    ax.set_xticks(x[::step])
    ax.set_xticklabels(labels[::step], fontsize=7)
    ax.legend(fontsize=7, loc="lower right")
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    return save(fig, out, "breakdown.png")


def coll_busbw(f, out):
    ds = f["summary/collectives"]
    rows = ds.shape[0]
    kind, algo, size, bw = [], [], [], []
    for b in scan(ds, ("kind", "algo", "bytes", "busbw_gbps")):
        kind.append(b["kind"].astype(np.uint8))
        algo.append(b["algo"].astype(np.uint8))
        size.append(b["bytes"].astype(np.uint64))
        bw.append(b["busbw_gbps"].astype(np.float32))
    fig, ax = plt.subplots(figsize=(7, 4.5))
    title = "collective bus bandwidth vs size"
    if rows == 0:
        ax.text(0.5, 0.5, "no collectives", ha="center", va="center", transform=ax.transAxes)
    else:
        kind, algo, size, bw = (np.concatenate(v) for v in (kind, algo, size, bw))
        for k in np.unique(kind):
            for a in np.unique(algo[kind == k]):
                m = (kind == k) & (algo == a)
                label = "%s/%s" % (name_of("coll_kind", int(k)), name_of("coll_algo", int(a)))
                if rows <= MAX_SCATTER:
                    ax.scatter(size[m], bw[m], s=8, alpha=0.5, label=label)
                    continue
                xs, med, p5, p95 = [], [], [], []
                for s in np.unique(size[m]):
                    v = bw[m & (size == s)]
                    xs.append(s)
                    q = np.percentile(v, [5, 50, 95])
                    p5.append(q[0])
                    med.append(q[1])
                    p95.append(q[2])
                med, p5, p95 = np.array(med), np.array(p5), np.array(p95)
                ax.errorbar(xs, med, yerr=[med - p5, p95 - med], fmt="o", ms=3, capsize=2, label=label)
        if rows > MAX_SCATTER:
            print("coll_busbw.png: %d collective instances, more than %d: median per size" % (rows, MAX_SCATTER))
            title += "\n(%d instances, more than %d: median per size, bars p5-p95)" % (rows, MAX_SCATTER)
        ax.set_xscale("log", base=2)
        ax.legend(fontsize=7)
    ax.set_xlabel("size (bytes, nccl-tests convention)")
    ax.set_ylabel("bus bandwidth (GB/s)")
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    return save(fig, out, "coll_busbw.png")




def links_heatmap(f, out, max_rows=MAX_PORT_ROWS, max_cols=MAX_TIME_COLS):
    if "links/bins" not in f or "links/ports" not in f:
        print("links_heatmap.png skipped: no /links (run with --trace-level links)")
        return None
    bin_ps = int(f["meta"].attrs.get("link_bin_ps", 0))
    ports = f["links/ports"][:]
    dbins = f["links/bins"]
    if len(ports) == 0 or dbins.shape[0] == 0 or bin_ps <= 0:
        print("links_heatmap.png skipped: no link traffic")
        return None
    ports = ports[np.lexsort((ports["port"], ports["dev"], ports["tier"], ports["cls"]))]
    shift = np.uint64(1 << 32)
    key = ports["dev"].astype(np.uint64) * shift + ports["port"].astype(np.uint64)
    sorter = np.argsort(key, kind="stable")
    nb = 0
    for b in scan(dbins, ("start_ps",)):
        nb = max(nb, int((b["start_ps"] // bin_ps).max()) + 1)
    merge = -(-nb // max_cols)          # time bins per column
    ncols = -(-nb // merge)
    classes = [c for c in range(len(LABELS["link_class"])) if np.any(ports["cls"] == c)]
    panels = {}
    for c in classes:
        sel = np.nonzero(ports["cls"] == c)[0]  # contiguous: ports sorted by class first
        lo, n = int(sel[0]), len(sel)
        group = -(-n // max_rows)
        rows = -(-n // group)
        panels[c] = (lo, n, group, rows, np.zeros((rows, ncols)))
    for b in scan(dbins, ("dev", "port", "start_ps", "bytes")):
        bkey = b["dev"].astype(np.uint64) * shift + b["port"].astype(np.uint64)
        pos = np.searchsorted(key, bkey, sorter=sorter)
        pos[pos >= len(key)] = 0
        idx = sorter[pos]
        if np.any(key[idx] != bkey):
            fail(f.filename, "/links/bins has rows for ports missing from /links/ports")
        col = (b["start_ps"] // bin_ps).astype(np.int64) // merge
        util = b["bytes"] / (ports["bandwidth"][idx] * (bin_ps * 1e-12))
        for c in classes:
            lo, n, group, rows, grid = panels[c]
            m = (idx >= lo) & (idx < lo + n)
            np.add.at(grid, ((idx[m] - lo) // group, col[m]), util[m])
    if merge > 1 or any(p[2] > 1 for p in panels.values()):
        print("links_heatmap.png: %d time bins in %d columns, up to %d ports per row" %
              (nb, ncols, max(p[2] for p in panels.values())))
    per_col = np.full(ncols, float(merge))
    per_col[-1] = nb - merge * (ncols - 1)
    fig, axes = plt.subplots(len(classes), 1, figsize=(12, 1.9 * len(classes) + 1.2), squeeze=False, sharex=True)
    im = None
    for ax, c in zip(axes[:, 0], classes):
        lo, n, group, rows, grid = panels[c]
        per_row = np.full(rows, float(group))
        per_row[-1] = n - group * (rows - 1)
        grid /= per_row[:, None]
        grid /= per_col[None, :]
        im = ax.imshow(grid, aspect="auto", interpolation="nearest", vmin=0.0, vmax=1.0, cmap="viridis",
                       extent=[0, nb * bin_ps * 1e-9, rows, 0])
        tiers = sorted(set(int(t) for t in ports["tier"][lo:lo + n]))
        ax.set_ylabel("%s\ntier %s\n%d ports%s" % (name_of("link_class", c), ",".join(map(str, tiers)), n,
                                                   "" if group == 1 else " (/%d)" % group), fontsize=7)
        ax.set_yticks([])
    axes[-1, 0].set_xlabel("simulated time (ms), bins of %.3g ms%s" % (
        bin_ps * 1e-9, "" if merge == 1 else " (%d bins per column, averaged)" % merge))
    fig.colorbar(im, ax=axes[:, 0].tolist(), label="utilisation (bytes / bandwidth x bin)", fraction=0.03)
    fig.suptitle("link utilisation per class over time")
    return save(fig, out, "links_heatmap.png")


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
    return save(fig, out, "site_power.png")


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
    try:
        os.makedirs(a.out, exist_ok=True)
    except OSError as e:
        fail(a.out, "cannot create the output directory (%s)" % (e.strerror or e))
    LABELS.update(schema_labels(f))
    meta = f["meta"].attrs
    if int(meta.get("complete", 1)) == 0:
        print("INCOMPLETE: run stopped early")
    ngpus = int(meta.get("gpus", 0))
    if ngpus <= 0:
        for b in scan(f["summary/iterations"], ("gpu",)):
            ngpus = max(ngpus, int(b["gpu"].max()) + 1)
    lay = layout(f, ngpus)
    note = ""
    if a.gpus:
        try:
            gpus = parse_gpus(a.gpus, ngpus)
        except ValueError as e:
            fail(a.file, "--gpus %s: %s" % (a.gpus, e))
        if len(gpus) > MAX_TIMELINE_GPUS:
            note = "%d of the %d GPUs asked for, evenly spaced" % (MAX_TIMELINE_GPUS, len(gpus))
            gpus = sample(gpus, MAX_TIMELINE_GPUS)
            print("timeline.png: %s (at most %d GPUs are drawn)" % (note, MAX_TIMELINE_GPUS))
    elif lay is not None and lay[2] > 1:
        # Up to 8 GPUs: the first GPU of some TP groups of every (sampled) stage.
        per = lay[0] * lay[1] * lay[3]
        stages = sample(list(range(lay[2])), 8)
        k = max(1, 8 // len(stages))
        gpus = [g for s in stages for g in sample(list(range(s * per, (s + 1) * per, lay[0])), k)]
        note = "%s of %s; choose with --gpus" % (
            "first GPU" if k == 1 else "first GPUs of %d TP groups" % k,
            "each pipeline stage" if len(stages) == lay[2] else
            "%d of the %d pipeline stages" % (len(stages), lay[2]))
    else:
        gpus = sample(list(range(ngpus)), 8)
        if ngpus > 8:
            note = "8 of %d GPUs, evenly spaced; choose with --gpus" % ngpus
    if a.iteration is not None:
        iteration = a.iteration
    else:
        iteration = 0
        for b in scan(f["summary/iterations"], ("iteration",)):
            if len(b):
                iteration = max(iteration, int(b["iteration"].max()))
    written = [p for p in (timeline(f, a.out, gpus, iteration, note), breakdown(f, a.out, lay),
                           coll_busbw(f, a.out), links_heatmap(f, a.out), site_power(f, a.out)) if p]
    for p in written:
        print("wrote %s (%d bytes)" % (p, os.path.getsize(p)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
