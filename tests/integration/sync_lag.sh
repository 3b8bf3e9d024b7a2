#!/bin/sh
# The window reduction used late (COLOSSIM_SYNC_LAG) changes no result: the
# default job with ops-level tracing and a small trace buffer (so the
# end-of-window flush hook runs, on the lagged reduction) gives the same
# engine digest and the same trace digest at 1 rank, and at 2 and 4 ranks
# with lags 1, 4 and 16; and with the reduction riding the exchange (the
# default when every rank neighbours every other) or not
# (COLOSSIM_SYNC_PIGGYBACK=0); and with the sparse exchange
# (COLOSSIM_SYNC_EXCHANGE=sparse: only non-empty messages, the reduction as
# the window's barrier).  A bad lag or exchange is refused before anything
# is written.
# usage: sync_lag.sh MPIEXEC COLOSSIM COLOSSIM_ANALYZE
set -eu
mpiexec=$1; colossim=$2; analyze=$3
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
run() {  # name np lag [piggyback [exchange]]
    COLOSSIM_SYNC_LAG=$3 COLOSSIM_SYNC_PIGGYBACK=${4:-} COLOSSIM_SYNC_EXCHANGE=${5:-} timeout 300 "$mpiexec" \
        --oversubscribe -x COLOSSIM_SYNC_LAG -x COLOSSIM_SYNC_PIGGYBACK -x COLOSSIM_SYNC_EXCHANGE -np "$2" "$colossim" run \
        --iterations 2 --trace-level ops --trace-buffer 64K --progress 0 --out "$tmp/$1.h5" > "$tmp/$1.log" 2>&1
    eng=$(sed -n 's/.*digest \([0-9a-f]*\).*/\1/p' "$tmp/$1.log" | tail -1)
    flushes=$(h5dump -a /meta/trace_flushes "$tmp/$1.h5" | sed -n "s/^ *(0): \([0-9]*\).*/\1/p")
    tr=$("$analyze" digest "$tmp/$1.h5" | sed -n 's/^digest //p')
    echo "$1: engine $eng trace $tr flushes $flushes"
    echo "$eng $tr" > "$tmp/$1.dig"
    [ "$flushes" -gt 0 ] || { echo "$1: the flush hook never ran"; exit 1; }
}
run np1 1 ""
for np in 2 4; do
    for lag in 1 4 16; do
        run "np${np}_lag$lag" $np $lag
        cmp -s "$tmp/np1.dig" "$tmp/np${np}_lag$lag.dig" || { echo "np $np lag $lag differs from 1 rank"; exit 1; }
    done
    run "np${np}_default" $np ""
    run "np${np}_nopiggy" $np "" 0
    run "np${np}_sparse" $np "" "" sparse
    for v in default nopiggy sparse; do
        cmp -s "$tmp/np1.dig" "$tmp/np${np}_$v.dig" || { echo "np $np $v differs from 1 rank"; exit 1; }
    done
done
# Refused up front: non-zero exit, the variable named, no trace left.
if COLOSSIM_SYNC_LAG=0 "$mpiexec" --oversubscribe -x COLOSSIM_SYNC_LAG -np 2 "$colossim" run --out "$tmp/bad.h5" \
        > "$tmp/bad.log" 2>&1; then
    echo "COLOSSIM_SYNC_LAG=0 was accepted"; exit 1
fi
grep -q "COLOSSIM_SYNC_LAG.*1\.\.64" "$tmp/bad.log" || { cat "$tmp/bad.log"; echo "no clear message"; exit 1; }
[ ! -e "$tmp/bad.h5" ] || { echo "a refused run left bad.h5"; exit 1; }
for bad in "bogus 1" "sparse 4"; do
    set -- $bad
    if COLOSSIM_SYNC_EXCHANGE=$1 COLOSSIM_SYNC_LAG=$2 "$mpiexec" --oversubscribe -x COLOSSIM_SYNC_EXCHANGE \
            -x COLOSSIM_SYNC_LAG -np 2 "$colossim" run --out "$tmp/bad.h5" > "$tmp/bad.log" 2>&1; then
        echo "COLOSSIM_SYNC_EXCHANGE=$1 with lag $2 was accepted"; exit 1
    fi
    grep -q "COLOSSIM_SYNC_EXCHANGE" "$tmp/bad.log" || { cat "$tmp/bad.log"; echo "no clear message"; exit 1; }
    [ "$(grep -c "error:" "$tmp/bad.log")" -eq 1 ] || { cat "$tmp/bad.log"; echo "not exactly one error line"; exit 1; }
    [ ! -e "$tmp/bad.h5" ] || { echo "a refused run left bad.h5"; exit 1; }
done
echo "identical with lagged reductions and both exchanges; bad lag and exchange refused"
