#!/bin/sh
# One setting's effect at 2 ranks: one binary, environment variable VAR at
# value A and at value B interleaved, REPS runs each; prints each run's wall
# time, sync share, windows and digest (the digests must match: the setting
# must not change results), then the medians.
#
# usage: bench/env_ab.sh VAR A B COLOSSIM TOPOLOGY WORKLOAD [REPS]
#   e.g. bench/env_ab.sh COLOSSIM_PIPELINE 0 1 build/src/cli/colossim \
#        topologies/llama3-24k.yaml workloads/llama3-405b-16k.yaml 3   (about 10 min on 2 cores)
# As root under MPI set OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1.
set -eu
V=$1 VA=$2 VB=$3 B=$4 T=$5 W=$6 REPS=${7:-3}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
i=1
while [ "$i" -le "$REPS" ]; do
    for m in "$VA" "$VB"; do
        env "$V=$m" mpirun --oversubscribe -np 2 -x "$V" "$B" run --topology "$T" \
            --workload "$W" --out "" --progress 0 > "$TMP/out" 2>&1 || { cat "$TMP/out"; exit 1; }
        line=$(grep -E "^engine: ranks" "$TMP/out")
        wall=$(echo "$line" | sed -E 's/.*wall ([0-9.]+) s.*/\1/')
        sync=$(echo "$line" | sed -E 's/.*sync ([0-9.]+)% of wall.*/\1/')
        win=$(echo "$line" | sed -E 's/.*windows ([0-9]+) .*/\1/')
        dig=$(sed -n 's/.*digest \([0-9a-f]*\).*/\1/p' "$TMP/out" | tail -1)
        echo "$V=$m run $i: wall $wall s, sync $sync%, windows $win, digest $dig"
        echo "$wall" >> "$TMP/v_$m"
        echo "$dig" >> "$TMP/digests"
    done
    i=$((i + 1))
done
for m in "$VA" "$VB"; do
    sort -n "$TMP/v_$m" | awk -v m="$V=$m" '{ w[NR] = $1 } END { printf "%-24s median %.3f s (min %.3f, max %.3f)\n", m, w[int((NR + 1) / 2)], w[1], w[NR] }'
done
[ "$(sort -u "$TMP/digests" | wc -l)" -eq 1 ] || { echo "digests differ"; exit 1; }
echo "digests identical"
