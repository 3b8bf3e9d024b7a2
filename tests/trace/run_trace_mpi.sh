#!/bin/sh
# One ctest entry: run the MPI trace test under a given MPI-IO backend, then
# check the file with h5dump and h5py (no project code).  `timeout` turns a
# hang (the classic parallel-HDF5 failure mode) into a test failure.
# usage: run_trace_mpi.sh MPIEXEC NP IO TEST_BIN OUTDIR PYTHON H5DUMP CHECK_PY
set -eu
mpiexec=$1 np=$2 io=$3 bin=$4 out=$5 py=$6 h5dump=$7 check=$8
rm -rf "$out"
mkdir -p "$out"
timeout 120 "$mpiexec" --oversubscribe --mca io "$io" -np "$np" "$bin" "$out"
test ! -e "$out/trace_test.h5.partial"
test ! -e "$out/aborted.h5"
test ! -e "$out/aborted.h5.partial"
"$h5dump" -H "$out/trace_test.h5" > "$out/h5dump.txt"
"$py" "$check" "$out/trace_test.h5" --ranks "$np"
