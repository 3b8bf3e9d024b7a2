#!/bin/sh
# The partition's effect at 2 ranks: COLOSSIM_PARTITION=contiguous and
# cyclic interleaved with one binary (bench/env_ab.sh).
#
# usage: bench/partition_ab.sh COLOSSIM TOPOLOGY WORKLOAD [REPS]
#   e.g. bench/partition_ab.sh build/src/cli/colossim topologies/llama3-24k.yaml \
#        workloads/llama3-405b-16k.yaml 3          (about 10 min on 2 cores)
# As root under MPI set OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1.
set -eu
exec "$(dirname "$0")/env_ab.sh" COLOSSIM_PARTITION contiguous cyclic "$@"
