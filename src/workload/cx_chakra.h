/*
 * Chakra execution traces (ASTRA-sim, PyTorch's execution-trace observer)
 * as colossim workloads: `colossim chakra import ET_DIR --workload MODEL
 * --out JOB` turns a directory of Chakra ET files, one per rank, into a
 * replay directory (cx_replay.h) that `colossim run --workload JOB`
 * replays.  What is and is not read is in workloads/README.md (Chakra).
 *
 * Per rank, the dependency graph (data and control dependencies) is put in
 * a topological order (ties: start time, then node id) and each node
 * becomes an op on the stream of its kind: compute on stream 0, collectives
 * on stream 1 (over the process group its pg_name names in the comm groups
 * file, else all ranks), send/recv on stream 3; a dependency on a node of another
 * stream becomes a WAIT for that stream's op count.  Nodes that are not
 * GPU work (metadata, memory load/store, CPU ops) carry their dependencies
 * through.  The graph is one iteration.
 */
#ifndef CX_CHAKRA_H
#define CX_CHAKRA_H

#include <stddef.h>
#include <stdint.h>

#include "cx_op.h"
#include "cx_status.h"

typedef enum {
    CX_CHAKRA_DUR_MEASURED = 0, /* a node's duration_micros wins over its FLOPs (default) */
    CX_CHAKRA_DUR_ROOFLINE      /* FLOPs and bytes through the roofline; durations only when nothing else */
} cx_chakra_durations_t;

typedef struct cx_chakra_opts {
    /* A measured kernel becomes a COMPUTE op with CX_OP_F_MEASURED and its
     * duration (cx_op.h), replayed as measured on any GPU type. */
    cx_chakra_durations_t durations;
    /* Process groups: JSON {"PG_NAME": [ranks], ...} (ASTRA-sim's comm group
     * file); a collective whose pg_name attribute names one runs over it.
     * NULL: every collective spans all ranks. */
    const char *comm_groups_path;
} cx_chakra_opts_t;

/* Defaults: measured durations win, all-ranks collectives. */
void cx_chakra_opts_init(cx_chakra_opts_t *o);

typedef struct cx_chakra_stats {
    uint64_t ranks, nodes, compute, measured, collectives, sends, recvs, skipped, waits;
} cx_chakra_stats_t;

/* Read ET_DIR's files (NAME.RANK.et, ranks 0..N-1, or one rank per *.et in
 * name order when none carry a rank), convert them, check that every rank
 * issues the same collectives in the same order and that sends and
 * receives pair up, and write OUT_DIR as a replay directory for the job of
 * workload_path (whose gpus must be N; it supplies tokens and model FLOPs
 * for the run's MFU).  Errors name the file, the node id and the field;
 * OUT_DIR/replay.yaml, written last, is absent after any error. */
cx_status_t cx_chakra_import(const char *et_dir, const char *workload_path, const char *out_dir,
                             const cx_chakra_opts_t *o, cx_chakra_stats_t *stats, cx_err_t *err);

/* 1 when colossim was built with protobuf-c (the importer works). */
int cx_chakra_available(void);

#endif
