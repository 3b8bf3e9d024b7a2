/* Internal state shared by the GPU executor (cx_gpu.c) and the collective
 * engine (cx_coll.c).  Per-GPU state is a few KB: 4 streams with their
 * current op and collective progress, and a fixed mailbox. */
#ifndef CX_GPU_INTERNAL_H
#define CX_GPU_INTERNAL_H

#include "cx_gpu.h"

#define CX_MAILBOX_CAP  64
/* Channels of one collective: the size of the per-channel arrays below.  A
 * ring runs one channel per rail up to cx_coll_params_t.max_channels
 * (default and at most this, checked by cx_coll_params_check). */
#define CX_COLL_MAX_CH  8
#define CX_SRC_ANY      UINT64_MAX

/* Cookie bits on net messages: collective step messages carry
 * COLL | channel << 24 | step (the mailbox keys them by channel only);
 * SEND ops carry the stream number. */
#define CX_COOKIE_COLL     0x80000000u
#define CX_COOKIE_RELAY    0x40000000u  /* PXN: forward to GPU chunk.aux over the NIC */
#define CX_COOKIE_FWD      0x20000000u  /* PXN: the forwarded copy (its TX_DONE is not ours) */
#define CX_COOKIE_CH_SHIFT 24
#define CX_COOKIE_CH_MASK  0x1Fu
#define CX_COOKIE_STEP     0x00FFFFFFu
#define CX_COOKIE_KEY(_c)  ((_c) & ~(CX_COOKIE_STEP | CX_COOKIE_RELAY | CX_COOKIE_FWD))

typedef struct cx_mail {
    uint64_t tag;
    uint64_t src;      /* sending GPU device (p2p) or CX_SRC_ANY (collectives) */
    uint64_t bytes;
    uint32_t cookie;
    uint32_t used;
} cx_mail_t;

struct cx_coll_algo_def;  /* cx_coll_impl.h */

/* One collective in progress on one stream.  A hierarchical one runs as
 * phases, each a collective of its own (cur) on a sub-group. */
typedef struct cx_coll_run {
    const cx_op_t *op;     /* the whole collective (the stream's op) */
    cx_op_t   cur;         /* the collective (phase) being run */
    const struct cx_coll_algo_def *def;  /* the algorithm (its table row) */
    const struct cx_coll_algo_def *ph;   /* the algorithm running the current phase */
    uint8_t   phase, n_phases;
    uint8_t   inner;       /* algorithm of the cross-domain phase */
    uint8_t   nvls_in;     /* hierarchical: NVLS inside the domain */
    uint16_t  nvls_mode;   /* CX_NET_FLAG_NVLS, _RS or _MC */
    uint32_t  g;           /* members per domain (hierarchical) */
    uint8_t   chunks;      /* pipelined hierarchical: chunks (lanes != NULL) */
    struct cx_coll_run *lanes;  /* pipelined hierarchical: one run per phase (malloc'd) */
    /* Double binary tree: per tree, parent and children (member indices,
     * -1 = none), and the payload of one piece. */
    int64_t   tree_parent[2];
    int64_t   tree_child[2][2];
    uint8_t   tree_nchild[2];
    uint64_t  tree_piece;
    uint8_t   active;
    uint8_t   algo;        /* cx_coll_algo_t actually used */
    uint8_t   proto;       /* cx_coll_proto_t used (not AUTO) */
    uint8_t   n_ch;
    uint32_t  n_send;      /* send steps per channel */
    uint32_t  n_recv;      /* receive steps per channel */
    uint32_t  dep;         /* 1: send step s needs receive step s-1 (ring); 2: chain */
    uint64_t  send_bytes;  /* NVLS: wire bytes sent */
    uint64_t  recv_bytes;  /* NVLS, PAIRWISE: wire bytes expected in all */
    cx_time_t send_delay;  /* NVLS: software latency */
    /* Ring / chain, per channel: */
    uint32_t  n_send_ch[CX_COLL_MAX_CH];
    uint32_t  n_recv_ch[CX_COLL_MAX_CH];
    uint64_t  send_bytes_ch[CX_COLL_MAX_CH];
    uint64_t  recv_bytes_ch[CX_COLL_MAX_CH];
    cx_time_t delay_ch[CX_COLL_MAX_CH];
    uint32_t  sent[CX_COLL_MAX_CH];
    uint32_t  rcvd[CX_COLL_MAX_CH];
    uint64_t  next_dev[CX_COLL_MAX_CH];  /* ring/chain: where sends go */
    cx_time_t tx_ch[CX_COLL_MAX_CH];     /* chain head: when its last piece's last byte leaves */
    cx_time_t head_wake;   /* chain head: a wake-up is scheduled then (if in the future) */
    cx_time_t tx_until;    /* when the last byte of the phase's sends so far leaves */
    cx_time_t kick_at;     /* a wake-up is scheduled at this time */
} cx_coll_run_t;

enum { CX_S_FETCH = 0, CX_S_READY, CX_S_RUN, CX_S_END };

typedef struct cx_gpu_stream {
    cx_op_t       op;
    cx_time_t     start;
    uint64_t      completed;
    /* A COMPUTE op under an SM-sharing collective (cx_gpu.h): its work left
     * in full-speed ps as of work_at; gen numbers its OP_DONE event (one
     * superseded by a change of rate is ignored). */
    cx_time_t     work_left, work_at;
    uint32_t      gen;
    uint8_t       state;
    void         *src;
    cx_coll_run_t coll;
} cx_gpu_stream_t;

typedef struct cx_gpu {
    cx_gpus_t           *g;
    cx_net_dev_t        *dev;
    uint64_t             gpu;       /* the job's GPU index (global without a placement) */
    uint64_t             domain;
    const cx_gpu_type_t *type;
    /* Streams a kick need not look at (their step would return 0 and change
     * nothing), kept in this first cache line so that a kick touches only
     * the streams that may move: bit k, stream k runs a kernel or a send
     * (its own event ends it) or has ended; bit 4 + k, stream k waits for
     * another stream's completion count (any completion clears these). */
    uint8_t              parked;
    uint32_t             n_spill;   /* mailbox entries beyond the table (cx_mail.c) */
    cx_gpu_stream_t      s[CX_NUM_STREAMS];
    cx_mail_t            mail[CX_MAILBOX_CAP];
    cx_mail_t           *spill;
    uint32_t             cap_spill;
    cx_time_t            busy_compute;
    cx_time_t            last_end;
    uint64_t             ops;
    double               comm_share;  /* SM share held by running collectives (cx_gpu.h) */
} cx_gpu_t;

struct cx_gpus {
    cx_engine_t     *eng;
    cx_net_t        *net;
    const cx_topo_t *topo;
    cx_gpu_config_t  cfg;
    cx_gpu_t        *gpus;      /* local GPUs */
    uint64_t         gpd;       /* GPUs per NVLink domain when domain = gpu / gpd
                                 * holds for GPUs < gpd_gpus; 0: ask topo */
    uint64_t         gpd_gpus;
    uint64_t         n;
    unsigned char   *src_arena; /* per GPU per stream source states */
};

/* Mailbox (cx_mail.c). */
void     cx_mail_add(cx_gpu_t *gpu, uint64_t tag, uint32_t cookie, uint64_t src, uint64_t bytes);
/* Take `bytes` out of the entry; 1 on success (entry had at least that much). */
int      cx_mail_take(cx_gpu_t *gpu, uint64_t tag, uint32_t cookie, uint64_t src, uint64_t bytes);
/* Free the spilled entries (cx_gpus_destroy). */
void     cx_mail_release(cx_gpu_t *gpu);

/* Collective engine (cx_coll.c): start collective op on this GPU with its
 * progress in run (a stream's); advance it, 1 when it has completed. */
void cx_coll_start(cx_engine_t *eng, cx_entity_t *ent, cx_gpu_t *gpu, const cx_op_t *op, cx_coll_run_t *run);
int  cx_coll_poll(cx_engine_t *eng, cx_entity_t *ent, cx_gpu_t *gpu, cx_coll_run_t *run);
/* Free what an unfinished collective holds (a pipelined one's lanes). */
void cx_coll_release(cx_coll_run_t *run);
/* 0, or an error naming the bad field of p (before any work). */
cx_status_t cx_coll_params_check(const cx_coll_params_t *p, cx_err_t *err);

/* NVLink domain of a job GPU. */
uint64_t cx_gpus_domain(const cx_gpus_t *g, uint64_t gpu);

/* Global GPU index of the job's GPU j (cx_gpu_config_t.place). */
static inline uint64_t cx_gpus_global(const cx_gpus_t *g, uint64_t j)
{
    if (g->cfg.place == NULL) return j;
    return g->cfg.place[j / g->cfg.place_block] + j % g->cfg.place_block;
}

/* Device of the job's GPU j. */
static inline uint64_t cx_gpus_device(const cx_gpus_t *g, uint64_t j)
{
    return cx_topo_gpu_device(g->topo, cx_gpus_global(g, j));
}

/* Global GPU index of member i of an op's group. */
static inline uint64_t cx_coll_member(const cx_op_t *op, uint64_t i)
{
    return op->u.group_base + i * (uint64_t)op->group_stride;
}

#endif
