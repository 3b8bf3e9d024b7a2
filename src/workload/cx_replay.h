/*
 * Replay traces: one GPU's op program in a file, so a workload recorded from
 * a real job (or produced by `colossim gen`) can be replayed instead of
 * generated.  Format (little-endian, workloads/README.md):
 *   header, 64 bytes: magic "CXOPS\0\0\1" (8) | version u32 = 1 |
 *     record_size u32 = 64 | gpu u64 | n_ops u64 | 32 zero bytes
 *   n_ops records, each exactly a cx_op_t (cx_op.h field order and widths,
 *     no padding), in program order.
 * The reader streams (O(1) memory); opening checks that it is a regular
 * file, magic, version, record size and that the file holds exactly n_ops
 * records; cx_replay_check validates every op.
 * A directory of them, one per GPU, is a whole job (cx_replay_dir_load).
 */
#ifndef CX_REPLAY_H
#define CX_REPLAY_H

#include <stddef.h>
#include <stdint.h>

#include "cx_gen.h"
#include "cx_op.h"
#include "cx_status.h"

#define CX_REPLAY_VERSION 1u

/* Largest payload or HBM traffic of one op, and FLOPs of one kernel, from a
 * replay file or the generator (cx_plan.c checks the generator's).  With the
 * topology's bounds (cx_topo_load.c: links >= 1 Gb/s, HBM >= 1 GB/s and
 * >= 1 TFLOP/s, efficiencies >= 1%) one op then lasts < 1e18 ps, inside
 * int64 picoseconds (9.2e18), whatever the hardware.  The largest kernel of
 * a real job is ~1e13 FLOPs (Llama 3 405B), of a 10T-parameter model at 128k
 * sequence without TP ~5e15. */
#define CX_OP_MAX_BYTES (UINT64_C(1) << 40)
#define CX_OP_MAX_FLOPS 1e16

/* Write ops[0..n) as GPU `gpu`'s program.  Written to PATH.partial and
 * renamed on success, so no half-written file is left behind. */
cx_status_t cx_replay_write_ops(const char *path, uint64_t gpu, const cx_op_t *ops, size_t n,
                                cx_err_t *err);
/* Write everything a generator produces (streamed, O(1) memory). */
cx_status_t cx_replay_write_gen(const char *path, cx_gen_t *g, cx_err_t *err);

typedef struct cx_replay cx_replay_t;

cx_status_t cx_replay_open(cx_replay_t **r_p, const char *path, cx_err_t *err);
/* Read the whole program once and check every op against the job, so a bad
 * file is refused before the run: the file is GPU `gpu`'s; kinds, streams,
 * classes, algorithms and labels are in range; peers and every collective's
 * group lie in the job's job_gpus GPUs and hold this GPU at group_index;
 * a WAIT waits only for ops issued before it; iteration markers are below
 * `iterations`; bytes <= CX_OP_MAX_BYTES and FLOPs <= CX_OP_MAX_FLOPS per op.  Errors name the
 * record ("records[12].peer").  Leaves the read position where it was. */
cx_status_t cx_replay_check(cx_replay_t *r, uint64_t gpu, uint64_t job_gpus, uint32_t iterations,
                            cx_err_t *err);
/* 1: *op filled; 0: end of program; -1: error (err filled: truncated file). */
int         cx_replay_next(cx_replay_t *r, cx_op_t *op, cx_err_t *err);
uint64_t    cx_replay_gpu(const cx_replay_t *r);
uint64_t    cx_replay_num_ops(const cx_replay_t *r);
void        cx_replay_close(cx_replay_t *r);

/* A replay directory (`colossim gen`, cx_run.h): DIR/gpu-NNNNNN.ops per GPU,
 * DIR/workload.yaml (the job) and DIR/replay.yaml (format, iterations, GPUs;
 * written last, so it marks a complete directory). */

/* buf = the path of GPU gpu's program in dir. */
void        cx_replay_file_path(char *buf, size_t len, const char *dir, uint64_t gpu);
/* Read dir's replay.yaml and load its workload.yaml into *w_p (the caller
 * destroys it); *iterations_p = the iterations the files hold.  The format
 * must be colossim-ops-v1 and both files must agree on the GPUs. */
cx_status_t cx_replay_dir_load(const char *dir, cx_workload_t **w_p, uint32_t *iterations_p,
                               cx_err_t *err);

#endif
