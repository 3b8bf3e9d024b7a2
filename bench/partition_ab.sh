#!/bin/sh
# The partition's effect at 2 ranks: one binary, COLOSSIM_PARTITION=contiguous
# and cyclic interleaved, REPS runs each; prints each run's wall time, sync
# share, windows and digest (the digests must match), then the medians.
#
# usage: bench/partition_ab.sh COLOSSIM TOPOLOGY WORKLOAD [REPS]
#   e.g. bench/partition_ab.sh build/src/cli/colossim topologies/llama3-24k.yaml \
#        workloads/llama3-405b-16k.yaml 3          (about 10 min on 2 cores)
# As root under MPI set OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1.
set -eu
B=$1 T=$2 W=$3 REPS=${4:-3}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
i=1
while [ "$i" -le "$REPS" ]; do
    for m in contiguous cyclic; do
        COLOSSIM_PARTITION=$m mpirun --oversubscribe -np 2 -x COLOSSIM_PARTITION "$B" run --topology "$T" \
            --workload "$W" --out "" --progress 0 > "$TMP/out" 2>&1 || { cat "$TMP/out"; exit 1; }
        line=$(grep -E "^engine: ranks" "$TMP/out")
        wall=$(echo "$line" | sed -E 's/.*wall ([0-9.]+) s.*/\1/')
        sync=$(echo "$line" | sed -E 's/.*sync ([0-9.]+)% of wall.*/\1/')
        win=$(echo "$line" | sed -E 's/.*windows ([0-9]+) .*/\1/')
        dig=$(sed -n 's/.*digest \([0-9a-f]*\).*/\1/p' "$TMP/out" | tail -1)
        echo "$m run $i: wall $wall s, sync $sync%, windows $win, digest $dig"
        echo "$wall" >> "$TMP/$m"
        echo "$dig" >> "$TMP/digests"
    done
    i=$((i + 1))
done
for m in contiguous cyclic; do
    sort -n "$TMP/$m" | awk -v m="$m" '{ w[NR] = $1 } END { printf "%-10s median %.3f s (min %.3f, max %.3f)\n", m, w[int((NR + 1) / 2)], w[1], w[NR] }'
done
[ "$(sort -u "$TMP/digests" | wc -l)" -eq 1 ] || { echo "digests differ"; exit 1; }
echo "digests identical"
