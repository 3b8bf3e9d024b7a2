#!/bin/sh
# Fails if "mpirun -np 2" silently started two 1-rank worlds (e.g. a binary
# linked against a different MPI than the launcher): exactly one JSON report
# must come out, and it must say 2 ranks.
set -eu
mpiexec=$1; colossim=$2
out=$(timeout 120 "$mpiexec" --oversubscribe -np 2 "$colossim" bench phold --lps 64 --end 1 --format json)
n=$(printf '%s\n' "$out" | grep -c '"benchmark"' || true)
ranks=$(printf '%s\n' "$out" | sed -n 's/.*"ranks":\([0-9]*\).*/\1/p' | head -n 1)
echo "reports: $n, ranks: $ranks"
[ "$n" = 1 ] || { echo "expected one report from one 2-rank world, got $n"; exit 1; }
[ "$ranks" = 2 ] || { echo "expected ranks 2, got $ranks"; exit 1; }
