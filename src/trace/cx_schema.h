/*
 * The trace schema, defined once: every table's path, trace level, meaning
 * and columns (name, type, unit, enumeration labels, doc), in file order.
 * The writers build their HDF5 field tables from these lists
 * (CX_SCHEMA_FIELDS below: a column missing from a row struct does not
 * compile), colossim-analyze takes paths, columns and labels from here
 * (cx_schema.c, compiled into both), every trace carries the whole schema
 * as /meta/schema (cx_schema_text), colossim_plot.py reads its labels from
 * there, and tests/docs/schema_doc_test.py checks analysis/SCHEMA.md
 * against `colossim-analyze schema`.
 *
 * A column: X(S, name, TYPE, "unit", LABELS, "doc") with TYPE one of U8 U16
 * U32 U64 I32 I64 F32 F64 and LABELS the enumeration its values name (NONE,
 * or one of CX_SCHEMA_LABELS).  S is passed through (the writer's row type).
 * A table: T(ID, "path", "level", "one row is") with its columns in
 * CX_SCHEMA_COLS_ID.
 */
#ifndef CX_SCHEMA_H
#define CX_SCHEMA_H

#include <stddef.h>
#include <stdint.h>

#define CX_SCHEMA_T_ITER     "/summary/iterations"
#define CX_SCHEMA_T_COLL     "/summary/collectives"
#define CX_SCHEMA_T_OPS      "/ops/gpu_ops"
#define CX_SCHEMA_T_BINS     "/links/bins"
#define CX_SCHEMA_T_PORTS    "/links/ports"
#define CX_SCHEMA_T_HOPS     "/chunks/hops"
#define CX_SCHEMA_T_FAULTS   "/faults"
#define CX_SCHEMA_T_JOBS     "/scenario/jobs"
#define CX_SCHEMA_T_JGPUS    "/scenario/gpus"
#define CX_SCHEMA_T_PW_RACKS "/power/racks"
#define CX_SCHEMA_T_PW_SITE  "/power/site"
#define CX_SCHEMA_T_PW_ITER  "/power/iterations"

/* What one row of each table is (the table's "doc" attribute). */
#define CX_SCHEMA_W_ITER      "one row per GPU and iteration"
#define CX_SCHEMA_W_COLL      "one row per collective instance, as seen by its member 0"
#define CX_SCHEMA_W_OPS       "every op of every GPU"
#define CX_SCHEMA_W_BINS      "bytes per port per time bin (bins with traffic)"
#define CX_SCHEMA_W_PORTS     "every Ethernet switch port, and every other port that carried traffic"
#define CX_SCHEMA_W_HOPS      "every chunk on every port (debug level)"
#define CX_SCHEMA_W_FAULTS    "every injected fault: what it hit, when, and what the job did"
#define CX_SCHEMA_W_JOBS      "one row per job of the scenario"
#define CX_SCHEMA_W_JGPUS     "one row per GPU of a job: the job it ran"
#define CX_SCHEMA_W_PW_RACKS  "IT power per job rack per time bin"
#define CX_SCHEMA_W_PW_SITE   "job and site power, cooling and supply per time bin"
#define CX_SCHEMA_W_PW_ITER   "power figures per training iteration"

#define CX_SCHEMA_TABLES(T)                                 \
    T(ITER, CX_SCHEMA_T_ITER, "summary", CX_SCHEMA_W_ITER) \
    T(COLL, CX_SCHEMA_T_COLL, "summary", CX_SCHEMA_W_COLL) \
    T(OPS, CX_SCHEMA_T_OPS, "ops", CX_SCHEMA_W_OPS) \
    T(BINS, CX_SCHEMA_T_BINS, "links", CX_SCHEMA_W_BINS) \
    T(PORTS, CX_SCHEMA_T_PORTS, "links", CX_SCHEMA_W_PORTS) \
    T(HOPS, CX_SCHEMA_T_HOPS, "chunks", CX_SCHEMA_W_HOPS) \
    T(FAULTS, CX_SCHEMA_T_FAULTS, "summary", CX_SCHEMA_W_FAULTS) \
    T(JOBS, CX_SCHEMA_T_JOBS, "summary", CX_SCHEMA_W_JOBS) \
    T(JGPUS, CX_SCHEMA_T_JGPUS, "summary", CX_SCHEMA_W_JGPUS) \
    T(PW_RACKS, CX_SCHEMA_T_PW_RACKS, "summary", CX_SCHEMA_W_PW_RACKS) \
    T(PW_SITE, CX_SCHEMA_T_PW_SITE, "summary", CX_SCHEMA_W_PW_SITE) \
    T(PW_ITER, CX_SCHEMA_T_PW_ITER, "summary", CX_SCHEMA_W_PW_ITER)

/* Enumerations a column's values name: L(ID, "name"). */
#define CX_SCHEMA_LABELS(L)          \
    L(NONE, "")                      \
    L(STREAM, "stream")              \
    L(OP_KIND, "op_kind")            \
    L(OP_CLASS, "op_class")          \
    L(COLL_KIND, "coll_kind")        \
    L(COLL_ALGO, "coll_algo")        \
    L(COLL_PROTO, "coll_proto")      \
    L(PHASE, "phase")                \
    L(BLOCK, "block")                \
    L(LINK_CLASS, "link_class")      \
    L(FAULT_KIND, "fault_kind")      \
    L(FAULT_ACTION, "fault_action")

#define CX_SCHEMA_COLS_ITER(X, S) \
    X(S, gpu, U64, "", NONE, "global GPU index") \
    X(S, iteration, U32, "", NONE, "training iteration") \
    X(S, begin_ps, I64, "ps", NONE, "iteration begin marker on this GPU") \
    X(S, end_ps, I64, "ps", NONE, "iteration end marker on this GPU (after all its streams drained)") \
    X(S, compute_ps, I64, "ps", NONE, "compute-stream kernel time in this iteration") \
    X(S, exposed_comm_ps, I64, "ps", NONE, "compute stream blocked on TP/CP/EP or DP communication") \
    X(S, pp_wait_ps, I64, "ps", NONE, "compute stream blocked on pipeline send/recv")

#define CX_SCHEMA_COLS_COLL(X, S) \
    X(S, gpu, U64, "", NONE, "the group's member 0 (whose view this row is)") \
    X(S, kind, U8, "", COLL_KIND, "0 allreduce 1 reducescatter 2 allgather 3 alltoall 4 broadcast 5 reduce") \
    X(S, algo, U8, "", COLL_ALGO, "1 ring 2 tree 3 nvls 4 pairwise 5 hier 6 direct") \
    X(S, proto, U8, "", COLL_PROTO, "protocol used: 1 ll 2 ll128 3 simple") \
    X(S, channels, U8, "", NONE, "rings used") \
    X(S, stream, U8, "", STREAM, "stream of the collective") \
    X(S, phase, U8, "", PHASE, "0 none 1 fwd 2 bwd 3 recompute 4 optimizer") \
    X(S, block, U8, "", BLOCK, "model block (cx_op_block_t)") \
    X(S, layer, U16, "", NONE, "layer or DP bucket") \
    X(S, iteration, U32, "", NONE, "training iteration") \
    X(S, microbatch, U32, "", NONE, "microbatch") \
    X(S, group_base, U64, "", NONE, "first member GPU") \
    X(S, group_size, U32, "", NONE, "members") \
    X(S, group_stride, U32, "", NONE, "stride between members") \
    X(S, bytes, U64, "bytes", NONE, "size (nccl-tests convention)") \
    X(S, tag, U64, "", NONE, "collective tag") \
    X(S, start_ps, I64, "ps", NONE, "start on member 0") \
    X(S, end_ps, I64, "ps", NONE, "end on member 0") \
    X(S, busbw_gbps, F64, "GB/s", NONE, "bus bandwidth seen by member 0 (nccl-tests definition)")

#define CX_SCHEMA_COLS_OPS(X, S) \
    X(S, gpu, U64, "", NONE, "global GPU index") \
    X(S, stream, U8, "", STREAM, "0 compute, 1 TP/CP/EP comm, 2 DP comm, 3 PP send/recv") \
    X(S, kind, U8, "", OP_KIND, "0 compute 1 send 2 recv 3 collective 4 wait 5 iter_begin 6 iter_end") \
    X(S, cls, U8, "", NONE, "compute: 0 gemm 1 attention 2 elementwise 3 optimizer 4 checkpoint; collective: 0 allreduce 1 reducescatter 2 allgather 3 alltoall 4 broadcast 5 reduce; wait: stream waited for") \
    X(S, algo, U8, "", COLL_ALGO, "collective algorithm used: 1 ring 2 tree 3 nvls 4 pairwise 5 hier 6 direct") \
    X(S, phase, U8, "", PHASE, "0 none 1 fwd 2 bwd 3 recompute 4 optimizer") \
    X(S, block, U8, "", BLOCK, "model block (cx_op_block_t, see SCHEMA.md)") \
    X(S, layer, U16, "", NONE, "layer, PP boundary or DP bucket; 65535 = none") \
    X(S, microbatch, U32, "", NONE, "microbatch; 4294967295 = none") \
    X(S, iteration, U32, "", NONE, "training iteration") \
    X(S, start_ps, I64, "ps", NONE, "op start (simulated time)") \
    X(S, end_ps, I64, "ps", NONE, "op end (simulated time)") \
    X(S, bytes, U64, "bytes", NONE, "payload (comm) or HBM traffic (compute)") \
    X(S, flops, F64, "FLOP", NONE, "floating point operations (compute); a collective: the SM share it holds (0..0.9)") \
    X(S, tag, U64, "", NONE, "matching tag of send/recv/collective") \
    X(S, peer, U64, "", NONE, "send/recv: peer GPU; collective: group base GPU; wait: op count waited for") \
    X(S, group_size, U32, "", NONE, "collective group size") \
    X(S, group_stride, U32, "", NONE, "collective group stride (members base + i*stride)")

#define CX_SCHEMA_COLS_BINS(X, S) \
    X(S, dev, U64, "", NONE, "transmitting device (topology device id)") \
    X(S, port, U32, "", NONE, "port of that device") \
    X(S, cls, U8, "", LINK_CLASS, "link class: 0 gpu->nvswitch 1 nvswitch->gpu 2 nic->leaf 3 leaf->nic 4 switch-up 5 switch-down") \
    X(S, tier, U8, "", NONE, "tier of the transmitting switch (0 for GPUs and NVSwitches)") \
    X(S, start_ps, I64, "ps", NONE, "bin start (bins are /meta/link_bin_ps wide)") \
    X(S, bytes, U64, "bytes", NONE, "bytes sent in this bin (a chunk's bytes are split over the bins its transmission overlaps)")

#define CX_SCHEMA_COLS_PORTS(X, S) \
    X(S, dev, U64, "", NONE, "transmitting device") \
    X(S, port, U32, "", NONE, "port") \
    X(S, peer_dev, U64, "", NONE, "device at the other end") \
    X(S, peer_port, U32, "", NONE, "its port") \
    X(S, cls, U8, "", LINK_CLASS, "link class (as /links/bins)") \
    X(S, tier, U8, "", NONE, "tier of the transmitting switch") \
    X(S, bandwidth, F64, "bytes/s", NONE, "per direction") \
    X(S, latency_ps, I64, "ps", NONE, "port latency") \
    X(S, bytes, U64, "bytes", NONE, "bytes sent over the run") \
    X(S, chunks, U64, "", NONE, "chunks sent over the run")

#define CX_SCHEMA_COLS_HOPS(X, S) \
    X(S, dev, U64, "", NONE, "transmitting device") \
    X(S, port, U32, "", NONE, "port it leaves on") \
    X(S, src_dev, U64, "", NONE, "message source (GPU device)") \
    X(S, dst_dev, U64, "", NONE, "message destination (GPU device, or the NVSwitch for NVLS)") \
    X(S, tag, U64, "", NONE, "message tag (op tag)") \
    X(S, cookie, U32, "", NONE, "collective channel/step bits or stream") \
    X(S, index, U32, "", NONE, "chunk number in its message") \
    X(S, bytes, U32, "bytes", NONE, "chunk size") \
    X(S, start_ps, I64, "ps", NONE, "first byte starts leaving the port") \
    X(S, end_ps, I64, "ps", NONE, "last byte leaves the port") \
    X(S, arrive_ps, I64, "ps", NONE, "last byte arrives at the next device")

#define CX_SCHEMA_COLS_FAULTS(X, S) \
    X(S, at_ps, I64, "ps", NONE, "when the fault starts") \
    X(S, kind, U8, "", FAULT_KIND, "0 gpu_slow 1 gpu_fail 2 link_degraded 3 link_down 4 nic_down 5 switch_down") \
    X(S, action, U8, "", FAULT_ACTION, "what the job did: 0 slowed 1 degraded 2 rerouted 3 job stopped 4 none (not on the job) 5 after the job stopped") \
    X(S, gpu, U64, "", NONE, "GPU hit (GPU faults, a GPU's NIC link); 2^64-1 = none") \
    X(S, dev, U64, "", NONE, "device hit: the GPU, the switch, or the link's first end (topology device id)") \
    X(S, port, U32, "", NONE, "links: port at dev; 2^32-1 = none") \
    X(S, peer_dev, U64, "", NONE, "links: the other end; 2^64-1 = none") \
    X(S, peer_port, U32, "", NONE, "links: port at peer_dev") \
    X(S, tier, U8, "", NONE, "switch_down: the switch's tier; links: tier of peer_dev (0 GPU/NVSwitch)") \
    X(S, factor, F64, "", NONE, "gpu_slow: kernel time factor; link_degraded: bandwidth share; else 1") \
    X(S, random, U8, "", NONE, "1: drawn from the file's random: rates") \
    X(S, line, I32, "", NONE, "line of the faults file that gave it")

#define CX_SCHEMA_COLS_JOBS(X, S) \
    X(S, job, U32, "", NONE, "job index, in the scenario file's order") \
    X(S, gpus, U64, "", NONE, "GPUs of the job") \
    X(S, iterations, U32, "", NONE, "iterations the job runs") \
    X(S, start_ps, I64, "ps", NONE, "when its programs start") \
    X(S, tokens_per_iteration, F64, "", NONE, "tokens per iteration") \
    X(S, model_flops_per_iteration, F64, "FLOP", NONE, "causal attention as half") \
    X(S, model_flops_noncausal_per_iteration, F64, "FLOP", NONE, "attention in full") \
    X(S, peak_flops_per_gpu, F64, "FLOP/s", NONE, "dense BF16 of its GPU type")

#define CX_SCHEMA_COLS_JGPUS(X, S) \
    X(S, gpu, U64, "", NONE, "global GPU index (the gpu column of every table)") \
    X(S, job, U32, "", NONE, "the job it runs") \
    X(S, job_gpu, U64, "", NONE, "its index in the job (what peer and group_base name)")

#define CX_SCHEMA_COLS_PW_RACKS(X, S) \
    X(S, rack, U32, "", NONE, "job rack (0 = the rack of job GPU 0)") \
    X(S, gpus, U32, "", NONE, "job GPUs in the rack") \
    X(S, start_ps, I64, "ps", NONE, "bin start (bins are /meta/power_bin_ps wide)") \
    X(S, it_w, F64, "W", NONE, "rack IT power (GPUs, NICs, NVSwitch, CPUs, other, rack)") \
    X(S, gpu_w, F64, "W", NONE, "GPU power of the rack") \
    X(S, compute_share, F32, "", NONE, "share of GPU time compute-bound") \
    X(S, memory_share, F32, "", NONE, "share of GPU time memory-bound") \
    X(S, comm_share, F32, "", NONE, "share of GPU time communicating only") \
    X(S, idle_share, F32, "", NONE, "share of GPU time idle")

#define CX_SCHEMA_COLS_PW_SITE(X, S) \
    X(S, start_ps, I64, "ps", NONE, "bin start") \
    X(S, width_ps, I64, "ps", NONE, "bin width (the last bin ends at the run's end)") \
    X(S, job_it_mw, F64, "MW", NONE, "IT power of the job's racks and its share of switches") \
    X(S, job_facility_mw, F64, "MW", NONE, "job IT + losses + cooling") \
    X(S, site_it_mw, F64, "MW", NONE, "site IT power (job x site_scale when extrapolated)") \
    X(S, cooling_mw, F64, "MW", NONE, "site cooling power") \
    X(S, facility_mw, F64, "MW", NONE, "site facility power (IT + losses + cooling)") \
    X(S, grid_mw, F64, "MW", NONE, "supplied by the grid") \
    X(S, turbines_mw, F64, "MW", NONE, "supplied by gas turbines") \
    X(S, battery_mw, F64, "MW", NONE, "battery: > 0 discharging, < 0 charging") \
    X(S, battery_soc, F64, "", NONE, "battery state of charge at the bin's end (0..1)") \
    X(S, unserved_mw, F64, "MW", NONE, "load no source could supply (violation)") \
    X(S, excess_mw, F64, "MW", NONE, "supply no sink could take (ramp-down violation)") \
    X(S, extrapolated, U8, "", NONE, "1: site columns scaled from the job (/meta/power_site_scale)")

#define CX_SCHEMA_COLS_PW_ITER(X, S) \
    X(S, iteration, U32, "", NONE, "training iteration") \
    X(S, begin_ps, I64, "ps", NONE, "first GPU's begin marker") \
    X(S, end_ps, I64, "ps", NONE, "last GPU's end marker") \
    X(S, peak_it_mw, F64, "MW", NONE, "job IT, highest bin inside the iteration") \
    X(S, trough_it_mw, F64, "MW", NONE, "job IT, lowest bin inside the iteration") \
    X(S, swing_mw, F64, "MW", NONE, "peak - trough (job IT)") \
    X(S, max_ramp_mw_per_s, F64, "MW/s", NONE, "largest bin-to-bin change of job IT / bin width") \
    X(S, it_energy_j, F64, "J", NONE, "job IT energy from begin to end") \
    X(S, facility_energy_j, F64, "J", NONE, "job facility energy from begin to end") \
    X(S, site_swing_mw, F64, "MW", NONE, "site facility swing (extrapolated when site_scale != 1)")
/* For a writer (after cx_trace.h): the field table of row struct S for table ID,
 *   static const cx_trace_field_t f[] = CX_SCHEMA_FIELDS(ITER, cx_row_iter_t); */
#define CX_SCHEMA_FIELD(S, n, t, u, l, d) CX_TRACE_FIELD(S, n, CX_TRACE_##t, u, d),
#define CX_SCHEMA_FIELDS(ID, S) {CX_SCHEMA_COLS_##ID(CX_SCHEMA_FIELD, S)}

/* ---- the schema at run time (cx_schema.c) ------------------------------ */

#define CX_SCHEMA_LABEL_ENUM(id, name) CX_SCHEMA_L_##id,
typedef enum { CX_SCHEMA_LABELS(CX_SCHEMA_LABEL_ENUM) CX_SCHEMA_NLABELS } cx_schema_labels_t;

typedef struct cx_schema_col {
    const char *name, *type, *unit; /* type: "U8" ... "F64" (the text says "u8" ...) */
    int         labels;             /* cx_schema_labels_t */
    const char *doc;
} cx_schema_col_t;

typedef struct cx_schema_table {
    const char            *path, *level, *what;
    const cx_schema_col_t *cols;
    size_t                 ncols;
} cx_schema_table_t;

const cx_schema_table_t *cx_schema_tables(size_t *n);
const cx_schema_table_t *cx_schema_table(const char *path); /* NULL: not a schema table */
const cx_schema_col_t   *cx_schema_col(const cx_schema_table_t *t, const char *name); /* NULL: none */
const char *cx_schema_labels_name(int labels);              /* "op_kind"; "" for NONE */
unsigned    cx_schema_label_count(int labels);
const char *cx_schema_label(int labels, unsigned value);     /* "?" out of range */
/* The whole schema as tab-separated text (what /meta/schema holds):
 *   table<TAB>path<TAB>level<TAB>one row is
 *   column<TAB>path<TAB>name<TAB>type<TAB>unit<TAB>labels<TAB>doc
 *   labels<TAB>name<TAB>label of 0<TAB>label of 1 ...
 * malloc'd, NULL when out of memory. */
char *cx_schema_text(void);

/* ---- label lists the schema owns ----------------------------------------
 * The op enumerations' names are src/gpu/cx_op.c's.  These are lists, not
 * arrays, so that a module which cannot link cx_schema.c builds its own
 * name table from the same text: the network's link classes (cx_net.c, a
 * layer below the trace writer) and the faults file's kinds (cx_faults.c,
 * where they are also the YAML keys):
 *   static const char *const names[] = {CX_SCHEMA_LINK_CLASS_LABELS(CX_SCHEMA_LABEL_STR)};
 * Each list is in the enumeration's order (value 0 first). */
#define CX_SCHEMA_LABEL_STR(s) s,
#define CX_SCHEMA_STREAM_LABELS(L) L("compute") L("tp") L("dp") L("pp")
#define CX_SCHEMA_LINK_CLASS_LABELS(L) \
    L("gpu->nvswitch") L("nvswitch->gpu") L("nic->leaf") L("leaf->nic") L("switch-up") L("switch-down")
#define CX_SCHEMA_FAULT_KIND_LABELS(L) \
    L("gpu_slow") L("gpu_fail") L("link_degraded") L("link_down") L("nic_down") L("switch_down")
#define CX_SCHEMA_FAULT_ACTION_LABELS(L) \
    L("slowed") L("degraded") L("rerouted") L("job stopped") L("none (not on the job)") L("after the job stopped")

/* FNV-1a (64-bit) over n bytes from h: the hash the writer agrees table
 * definitions with across ranks and colossim-analyze digests tables'
 * layouts with (start from CX_SCHEMA_FNV_BASIS). */
#define CX_SCHEMA_FNV_BASIS 0xcbf29ce484222325ULL
static inline uint64_t cx_schema_fnv1a(uint64_t h, const void *data, size_t n)
{
    const unsigned char *p = (const unsigned char *)data;
    size_t               i;
    for (i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

#endif
