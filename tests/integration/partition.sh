#!/bin/sh
# The partition (COLOSSIM_PARTITION) changes no result.  A 128-GPU job on the
# Llama 3 fabric (8 leaf blocks of 16 GPUs) with ops-level tracing gives the
# same engine digest and trace digest at 1 rank; at 2 and 4 ranks with the
# default (auto: cyclic, the leaf blocks dealt round robin); with contiguous
# ranges; and cyclic with the sparse exchange.  Cyclic must deal the job's
# work evenly (imbalance <= 1.05, where contiguous ranges put this small job
# on one rank) and cross ranks (remote events).  A bad value is refused before
# anything is written.
# usage: partition.sh MPIEXEC COLOSSIM COLOSSIM_ANALYZE SOURCE_DIR
set -eu
mpiexec=$1; colossim=$2; analyze=$3; src=$4
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
sed -e 's/^gpus: 64/gpus: 128/' -e 's/^  dp: 4/  dp: 8/' -e 's/^name: small/name: small-128/' \
    "$src/workloads/small.yaml" > "$tmp/w.yaml"
grep -q "^gpus: 128" "$tmp/w.yaml" && grep -q "^  dp: 8" "$tmp/w.yaml" || { echo "workload edit failed"; exit 1; }
run() {  # name np partition [exchange]
    COLOSSIM_PARTITION=$3 COLOSSIM_SYNC_EXCHANGE=${4:-} timeout 300 "$mpiexec" --oversubscribe \
        -x COLOSSIM_PARTITION -x COLOSSIM_SYNC_EXCHANGE -np "$2" "$colossim" run \
        --topology "$src/topologies/llama3-24k.yaml" --workload "$tmp/w.yaml" \
        --trace-level ops --progress 0 --out "$tmp/$1.h5" > "$tmp/$1.log" 2>&1 || { cat "$tmp/$1.log"; exit 1; }
    eng=$(sed -n 's/.*digest \([0-9a-f]*\).*/\1/p' "$tmp/$1.log" | tail -1)
    tr=$("$analyze" digest "$tmp/$1.h5" | sed -n 's/^digest //p')
    part=$(sed -n 's/.*engine: partition \([a-z]*\).*/\1/p' "$tmp/$1.log")
    imb=$(sed -n 's/.*imbalance: max \([0-9.]*\) x.*/\1/p' "$tmp/$1.log")
    remote=$(sed -n 's/.*remote \([0-9.]*\)%.*/\1/p' "$tmp/$1.log")
    echo "$1: partition ${part:-none} imbalance ${imb:-1} remote $remote% engine $eng trace $tr"
    [ -n "$eng" ] && [ -n "$tr" ] || { cat "$tmp/$1.log"; echo "$1: no digest"; exit 1; }
    echo "$eng $tr" > "$tmp/$1.dig"
    if [ "$2" -gt 1 ]; then
        want=$3; [ "$want" = auto ] && want=cyclic
        [ "$part" = "$want" ] || { echo "$1: partition '$part', expected $want"; exit 1; }
        if [ "$want" = cyclic ]; then
            awk -v r="$remote" 'BEGIN { exit !(r > 0) }' || { echo "$1: no event crossed ranks"; exit 1; }
            awk -v i="$imb" 'BEGIN { exit !(i <= 1.05) }' || { echo "$1: cyclic left imbalance $imb"; exit 1; }
        fi
    fi
}
run np1 1 auto
for np in 2 4; do
    run "np${np}_auto" $np auto
    run "np${np}_contiguous" $np contiguous
    run "np${np}_cyclic_sparse" $np cyclic sparse
    for v in auto contiguous cyclic_sparse; do
        cmp -s "$tmp/np1.dig" "$tmp/np${np}_$v.dig" || { echo "np $np $v differs from 1 rank"; exit 1; }
    done
done
# Refused up front: non-zero exit, one error naming the variable, no trace.
if COLOSSIM_PARTITION=stripes "$mpiexec" --oversubscribe -x COLOSSIM_PARTITION -np 2 "$colossim" run \
        --out "$tmp/bad.h5" > "$tmp/bad.log" 2>&1; then
    echo "COLOSSIM_PARTITION=stripes was accepted"; exit 1
fi
grep -q "COLOSSIM_PARTITION.*contiguous, cyclic or auto" "$tmp/bad.log" || { cat "$tmp/bad.log"; echo "no clear message"; exit 1; }
[ "$(grep -c "error:" "$tmp/bad.log")" -eq 1 ] || { cat "$tmp/bad.log"; echo "not exactly one error line"; exit 1; }
[ ! -e "$tmp/bad.h5" ] || { echo "a refused run left bad.h5"; exit 1; }
echo "identical under contiguous and cyclic partitions at 1, 2 and 4 ranks; a bad partition refused"
