/*
 * The collective engine's algorithm interface: every algorithm of
 * cx_coll_algos.h is one cx_coll_algo_def_t (a small vtable) in its own
 * file, cx_coll_<name>.c; cx_coll.c holds the table, the tuner (auto) and
 * the driver, which picks a row, sets the collective up through it and
 * polls it phase by phase.
 */
#ifndef CX_COLL_IMPL_H
#define CX_COLL_IMPL_H

#include "cx_coll_tune.h"
#include "cx_gpu_internal.h"

/* Pipelined hierarchical all-reduce: at most this many chunks (3 x 16 + 3
 * tags < 2^7, cx_op_tag's spare bits). */
#define CX_COLL_HIER_MAX_CHUNKS 16
/* Point-to-point pieces run LL up to this (NCCL_P2P_LL_THRESHOLD's default). */
#define CX_COLL_P2P_LL_BYTES 16384u

/* Group shapes an algorithm may cover (one bit each; exactly one holds for
 * a group of more than one member; g = members per NVLink domain). */
#define CX_GROUP_NVLS   0x1u  /* one NVLink domain of > 2 members with an NVLS switch */
#define CX_GROUP_DOMAIN 0x2u  /* one NVLink domain otherwise */
#define CX_GROUP_RAILS  0x4u  /* several domains, g > 1 members each, domain by domain */
#define CX_GROUP_SPREAD 0x8u  /* one member per domain, or not laid out evenly (g = 1) */
#define CX_GROUP_ANY    0xFu

#define CX_KIND(_k)     (1u << (_k))   /* cx_coll_kind_t bit */

/* What a poll or a set-up works on. */
typedef struct cx_coll_ctx {
    cx_engine_t   *eng;   /* NULL in set-up */
    cx_entity_t   *ent;   /* NULL in set-up */
    cx_gpu_t      *gpu;
    cx_coll_run_t *run;
} cx_coll_ctx_t;

typedef struct cx_coll_algo_def {
    uint32_t id;      /* cx_coll_algo_t: its row in cx_coll_algos.h */
    uint32_t kinds;   /* CX_KIND() of every collective it runs */
    uint32_t groups;  /* CX_GROUP_* it runs on */
    /* Set run->cur up as one phase run by this algorithm (run->cur has more
     * than one member; run is reset).  NULL: only as a whole (start). */
    void (*setup)(cx_coll_ctx_t *x);
    /* Set the whole collective up (x->run->cur): phases and the first one.
     * NULL: one phase, setup. */
    void (*start)(cx_coll_ctx_t *x, uint32_t g);
    /* Multi-phase: set up phase run->phase (> 0). */
    void (*next)(cx_coll_ctx_t *x);
    /* Advance the current phase (run->ph is this row); 1 when complete. */
    int (*poll)(cx_coll_ctx_t *x);
} cx_coll_algo_def_t;

#define CX_COLL_ALGO_DECL(_id, _n, _cli, _h) extern const cx_coll_algo_def_t cx_coll_algo_##_n;
CX_COLL_ALGO_LIST(CX_COLL_ALGO_DECL)

/* The row of algorithm id (CX_ALGO_COUNT > id). */
const cx_coll_algo_def_t *cx_coll_algo(uint32_t id);

/* Reset the per-phase progress of run and set run->cur's phase up with def
 * (run->ph = def). */
void cx_coll_phase_setup(cx_coll_ctx_t *x, const cx_coll_algo_def_t *def);

/* Shared by the algorithms (cx_coll.c). */
static inline uint64_t cx_ceil_div(uint64_t a, uint64_t b) { return b == 0 ? 0 : (a + b - 1) / b; }
/* Wire bytes and step latency (lat_p may be NULL) of a hop from job GPU a
 * to b carrying payload bytes, in the run's protocol. */
void     cx_coll_link(const cx_coll_ctx_t *x, uint64_t a, uint64_t b, uint64_t payload, uint64_t *wire_p,
                      cx_time_t *lat_p);
/* Ring channels over n members, g per domain: one per rail across domains,
 * two flows per NIC with one member per domain (as NCCL), at most
 * max_channels (0: CX_COLL_MAX_CH, the per-channel state's size;
 * cx_coll_params_check refuses more). */
uint32_t cx_coll_ring_channels(const cx_coll_params_t *p, uint32_t n, uint32_t g);
/* The tuner's view of op's links (member 0's; g members per domain). */
void     cx_coll_links(const cx_gpus_t *gs, const cx_op_t *op, uint32_t g, cx_coll_links_t *l_p);
/* Members per NVLink domain of op's group (1 when not laid out evenly). */
uint32_t cx_coll_per_domain(const cx_gpus_t *gs, const cx_op_t *op);
/* A send whose last byte leaves at tx_end. */
void     cx_coll_sent(cx_coll_run_t *run, cx_time_t tx_end);
/* 1 if every send has left; else wake this GPU when the last one has. */
int      cx_coll_tx_clear(cx_coll_ctx_t *x);
/* Hierarchical (cx_coll_hier.c): phases over domains of g with inner
 * running the cross-domain all-reduce. */
void     cx_coll_hier_begin(cx_coll_ctx_t *x, uint32_t g, const cx_coll_algo_def_t *inner);
void     cx_coll_hier_next(cx_coll_ctx_t *x);

#endif
