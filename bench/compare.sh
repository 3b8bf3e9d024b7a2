#!/bin/sh
# Before/after speed comparison of two colossim binaries, run interleaved in
# one script (this kind of machine varies up to 2x between runs): for each
# case, 3 runs of each binary, the median wall time and the spread, events,
# events/s and peak RSS.  Results (MFU, busbw) must match where the change
# should not move them; the script prints them side by side.
#
# usage: bench/compare.sh BEFORE_BIN AFTER_BIN [REPS]
# As root under MPI set OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1.
set -eu
A=$1 B=$2 REPS=${3:-3}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
# Llama 3 405B per-GPU shape (TP8 PP16 v4, 16 microbatches) on 1,024 GPUs.
sed -e 's/^name: llama3-405b-8k/name: llama3-405b-1k/' -e 's/^gpus: 8192/gpus: 1024/' -e 's/dp: 64/dp: 8/' \
    -e 's/global_batch_tokens: 16777216/global_batch_tokens: 1048576/' \
    "$ROOT/workloads/llama3-405b-8k.yaml" > "$TMP/l405-1k.yaml"

run_case() {  # name, then the colossim arguments
    name=$1; shift
    for bin in "$A" "$B"; do : > "$TMP/$(basename "$bin").times"; done
    i=0
    while [ $i -lt "$REPS" ]; do
        for bin in "$A" "$B"; do
            tag=$(basename "$bin")
            /usr/bin/time -f "%e %M" -o "$TMP/t" "$bin" "$@" > "$TMP/out" 2>&1 || { cat "$TMP/out"; exit 1; }
            echo "$(cat "$TMP/t") $(grep -oE '(events |"events_committed":|"events":)[0-9]+' "$TMP/out" | head -1 | grep -oE '[0-9]+$') \
$(grep -oE '(MFU +[0-9.]+%|"busbw_gbps":[0-9.]+|"digest":"[0-9a-f]+")' "$TMP/out" | head -1 | tr -d ' "')" >> "$TMP/$tag.times"
        done
        i=$((i + 1))
    done
    for bin in "$A" "$B"; do
        tag=$(basename "$bin")
        sort -n "$TMP/$tag.times" | awk -v name="$name" -v tag="$tag" '
            { w[NR] = $1; m = ($2 > m ? $2 : m); ev = $3; res = $4 }
            END { med = w[int((NR + 1) / 2)];
                  printf "%-26s %-18s wall median %8.2f s (min %.2f, max %.2f)  events %12s  %7.3g ev/s  peak %6.1f MB  %s\n",
                         name, tag, med, w[1], w[NR], ev, (ev > 0 ? ev / med : 0), m / 1024, res }'
    done
}

run_case "default run" run --out "" --progress 0 --iterations 2
run_case "Llama 405B shape, 1k GPUs" run --topology "$ROOT/topologies/llama3-24k.yaml" --workload "$TMP/l405-1k.yaml" \
         --out "" --progress 0
run_case "phold 64k LPs" bench phold --lps 65536 --end 20 --mean 1 --lookahead 0.1 --remote 0.5 --start-events 4 \
         --format json
run_case "collective 64 GPUs 1G" bench collective --gpus 64 --min-bytes 1G --max-bytes 1G --format json
