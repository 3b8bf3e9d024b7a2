/*
 * The collective tuner: which algorithm and protocol a collective runs with,
 * and the alpha-beta estimate of its time that the choice rests on.  The
 * engine (cx_coll.c) and the run's plan (src/workload/cx_plan.c) both ask
 * it, from the op and its member 0's links, so every member of a group and
 * the plan find the same answer.
 *
 * auto, as NCCL's tuner (ncclTopoTuneModel / ncclTopoGetAlgoTime): for every
 * algorithm that covers the collective (ring, tree, nvls, hier; pairwise for
 * all-to-all) its protocol is picked (cx_coll_tune_proto) and its time
 * estimated (cx_coll_predict: steps x (step latency + path latency) + bytes /
 * bandwidth, as this model's simulation charges them); the least wins, ties
 * to the earlier row.  `direct` is only run when asked.
 */
#ifndef CX_COLL_TUNE_H
#define CX_COLL_TUNE_H

#include "cx_gpu.h"

/* NVLS's latency per collective: NCCL's hwLat for NVLS over NVLink, Simple,
 * 23 us (NVIDIA/nccl src/graph/tuning.cc @b647562, the hwLat table's
 * "NVLS { 0, 0, 23 }"; baseLat 0; ncclTopoTuneModel: latency = intraLat for
 * NVLS, baseLat + intraLat + 2 log2(nodes) interLat for NVLS tree).  The
 * model charges it as the step latency of a standalone NVLS collective and
 * once (the first chunk's reduce-scatter) in a hierarchical one. */
#define CX_COLL_NVLS_LATENCY ((cx_time_t)23000000)

/* Broadcast / reduce chains run in pieces of this (at most 1024 per
 * channel, cx_coll_ring.c). */
#define CX_COLL_CHAIN_PIECE_BYTES (UINT64_C(64) << 10)

/* What the tuner knows of a group's links: member 0's. */
typedef struct cx_coll_links {
    double    nvlink_bw;   /* bytes/s of member 0's NVLink port (0: none) */
    double    net_bw;      /* of its first NIC (0: none) */
    cx_time_t nvlink_hop;  /* path latency member 0 -> member 1 (same domain) */
    cx_time_t net_hop;     /* member 0 -> the first member of the next domain */
    int       nvs;         /* member 0's domain has an NVSwitch with NVLS */
} cx_coll_links_t;

/* Share of Simple's bandwidth and of its step latency ([0] network, [1]
 * NVLink) of each protocol, indexed by cx_coll_proto_t. */
extern const double cx_coll_proto_bw[CX_PROTO_COUNT];
extern const double cx_coll_proto_lat[2][CX_PROTO_COUNT];

/* The links of a group of n members, g per domain, from the devices of its
 * member 0, member 1 and member g (UINT64_MAX where there is none: d1 when
 * g = 1, dg when g = n). */
void cx_coll_links_of(const cx_topo_t *t, uint64_t d0, uint64_t d1, uint64_t dg, cx_coll_links_t *l_p);

/* The algorithm op runs with (algo as asked, CX_ALGO_AUTO: the tuner),
 * narrowed to what covers it, and its protocol in *proto_p (may be NULL);
 * g = members per NVLink domain (cx_coll_per_domain). */
uint32_t cx_coll_pick(const cx_coll_params_t *p, const cx_coll_links_t *l, uint32_t algo, const cx_op_t *op,
                      uint32_t g, uint32_t *proto_p);
/* The protocol algorithm algo runs op with (p->proto unless auto). */
uint32_t cx_coll_tune_proto(const cx_coll_params_t *p, const cx_coll_links_t *l, const cx_op_t *op, uint32_t algo,
                            uint32_t g);
/* Estimated time (seconds) of op run by algo in protocol proto. */
double   cx_coll_predict(const cx_coll_params_t *p, const cx_coll_links_t *l, uint32_t algo, uint32_t proto,
                         const cx_op_t *op, uint32_t g);
/* Chunks of a pipelined hierarchical all-reduce of `bytes` over n members,
 * g per domain (nvls_in: NVLS inside the domains): 1 = not pipelined. */
uint32_t cx_coll_hier_chunks(const cx_coll_params_t *p, const cx_coll_links_t *l, uint64_t bytes, uint32_t n,
                             uint32_t g, int nvls_in);
/* 1 if the group shape (n members, g per domain) has NVLS (the whole group
 * one domain of more than 2 with an NVLS switch). */
static inline int cx_coll_nvls_ok(const cx_coll_links_t *l, uint32_t n, uint32_t g) { return g == n && n > 2 && l->nvs; }

#endif
