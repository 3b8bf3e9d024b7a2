#!/usr/bin/python3
"""Draw a campaign's timeline (colossim campaign --timeline FILE.csv).

usage: campaign_timeline.py TIMELINE.csv --out PNG [--zoom HOURS]

Top: training kept (durable, after checkpoints) and done against wall time,
beside the ideal (every hour trains); failures as red ticks, planned stops
as orange ones.  Bottom: the first --zoom hours (default 24): progress
falling back to the last checkpoint at each failure, the time down
(detection, restart, reload) shaded, checkpoints as grey ticks.
"""
import argparse
import csv
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("timeline")
    ap.add_argument("--out", required=True)
    ap.add_argument("--zoom", type=float, default=24.0, help="hours shown in the lower panel (default 24)")
    a = ap.parse_args()
    try:
        with open(a.timeline) as f:
            rows = list(csv.DictReader(f))
        ev = [(float(r["t_hours"]), r["event"], r["cause"], float(r["kept_hours"]), float(r["done_hours"]))
              for r in rows]
    except (OSError, KeyError, ValueError) as e:
        sys.stderr.write("campaign_timeline: %s: not a colossim campaign --timeline CSV (%s)\n" % (a.timeline, e))
        return 1
    if not ev:
        sys.stderr.write("campaign_timeline: %s: no events\n" % a.timeline)
        return 1
    end = ev[-1][0]
    fig, (top, bot) = plt.subplots(2, 1, figsize=(11, 7.5))
    # Progress: done rises while training, drops to kept at a failure.
    t, done, kept = [0.0], [0.0], [0.0]
    for (h, e, _c, k, d) in ev:
        t.append(h)
        done.append(d)
        kept.append(k)
        if e == "failure":
            t.append(h)
            done.append(k)
            kept.append(k)
    fails = [h for (h, e, _c, _k, _d) in ev if e == "failure"]
    planned = [h for (h, e, _c, _k, _d) in ev if e == "planned"]
    for ax, lim in ((top, end), (bot, min(a.zoom, end))):
        ax.plot([0, lim], [0, lim], color="0.75", lw=1, ls="--", label="ideal (every hour trains)")
        ax.plot(t, done, color="tab:blue", lw=1, label="trained (incl. not yet checkpointed)")
        ax.step(t, kept, where="post", color="tab:green", lw=1, label="kept (durable)")
        ymax = max(d for (h, d) in zip(t, done) if h <= lim) if lim < end else max(done)
        dense = ax is top and len(fails) > 50
        for h in fails:
            if h <= lim:
                ax.axvline(h, color="tab:red", lw=0.3 if dense else 0.6, alpha=0.25 if dense else 0.6)
        for h in planned:
            if h <= lim:
                ax.axvline(h, color="tab:orange", lw=0.6, alpha=0.6)
        ax.set_xlim(0, lim)
        ax.set_ylim(0, max(ymax, 1e-9) * 1.05)
        ax.set_xlabel("wall time (hours)")
        ax.set_ylabel("training time (hours)")
    # Down time shaded in the zoom: from a failure or planned stop to "up".
    start = None
    for (h, e, _c, _k, _d) in ev:
        if e in ("failure", "planned") and start is None:
            start = h
        elif e == "up" and start is not None:
            if start <= a.zoom:
                bot.axvspan(start, h, color="tab:red", alpha=0.15, lw=0)
            start = None
    for (h, e, _c, _k, _d) in ev:
        if e == "checkpoint" and h <= a.zoom:
            bot.axvline(h, ymin=0, ymax=0.03, color="0.4", lw=0.5)
    kept_end = ev[-1][3]
    top.set_title("campaign: %.1f days, %d failures, %d planned stops; %.1f%% of the wall time kept (ETTR)" %
                  (end / 24.0, len(fails), len(planned), 100.0 * kept_end / end))
    bot.set_title("first %.0f hours: failures (red), down time (shaded), checkpoints (grey ticks)" % min(a.zoom, end))
    top.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    fig.savefig(a.out, dpi=110)
    print("campaign_timeline: wrote %s" % a.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
