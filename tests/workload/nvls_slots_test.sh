#!/bin/sh
# Nine TP 8 groups of one NVL72 domain all-reducing with NVLS at once run to
# the end (NVLS slots are sized from the domain), the same at 1 and 2 ranks.
# usage: nvls_slots_test.sh MPIEXEC COLOSSIM SOURCE_DIR
set -eu
mpiexec=$1; colossim=$2; src=$3
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
for np in 1 2; do
    timeout 600 "$mpiexec" --oversubscribe -np $np "$colossim" run --topology "$src/topologies/colossus2-mini.yaml" \
        --workload "$src/tests/workload/nvl72-tp8-nosp.yaml" --out "" --progress 0 --algo nvls > "$tmp/np$np.log" 2>&1 \
        || { cat "$tmp/np$np.log"; echo "FAIL: np $np"; exit 1; }
    sed -n 's/.*digest \([0-9a-f]*\).*/\1/p' "$tmp/np$np.log" | tail -1 > "$tmp/np$np.dig"
done
grep -q "MFU" "$tmp/np1.log" || { echo "FAIL: no summary"; exit 1; }
cmp -s "$tmp/np1.dig" "$tmp/np2.dig" || { echo "FAIL: digests differ"; exit 1; }
echo "PASS: 9 NVLS groups per NVL72 switch, digest $(cat "$tmp/np1.dig") at 1 and 2 ranks"
