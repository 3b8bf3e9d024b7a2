#!/bin/sh
# Routing on every seed: `bench traffic` permutations (each GPU sends one
# flow to a seeded random other GPU) over seeds 1..N for ecmp, adaptive and
# spray, with both metrics:
#   throughput_fraction  all bytes / the LAST flow's completion / injection
#                        (the job-level figure: a collective waits for its
#                        slowest flow);
#   mean_flow_fraction   mean over flows of the flow's own rate / injection
#                        (what per-flow bandwidth tests average).
# Prints min / median / max of each over the seeds.
# usage: bench/routing_seeds.sh [COLOSSIM] [SEEDS] [BYTES] [extra bench traffic options...]
set -eu
bin=${1:-build/src/cli/colossim}; seeds=${2:-20}; bytes=${3:-256M}
[ $# -ge 3 ] && shift 3 || shift $#
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
for r in ecmp adaptive spray; do
    s=1
    while [ "$s" -le "$seeds" ]; do
        "$bin" bench traffic --pattern permutation --bytes "$bytes" --routing "$r" --seed "$s" \
            --format json --progress 0 "$@" > "$tmp/$r.$s.json"
        s=$((s + 1))
    done
done
/usr/bin/python3 - "$tmp" "$seeds" "$bytes" <<'PY'
import json, statistics, sys
d, n, nbytes = sys.argv[1], int(sys.argv[2]), sys.argv[3]
print(f"permutation of {nbytes} flows, seeds 1..{n}")
print(f"{'routing':9} {'metric':20} {'min':>6} {'median':>7} {'max':>6}   per seed")
for r in ("ecmp", "adaptive", "spray"):
    runs = [json.load(open(f"{d}/{r}.{s}.json")) for s in range(1, n + 1)]
    for m in ("throughput_fraction", "mean_flow_fraction"):
        v = [x[m] for x in runs]
        print(f"{r:9} {m:20} {min(v):6.3f} {statistics.median(v):7.3f} {max(v):6.3f}   "
              + " ".join(f"{x:.3f}" for x in v))
print(f"gpus {runs[0]['gpus']}, topology {runs[0]['topology']}")
PY
