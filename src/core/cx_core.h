/*
 * core: the parallel discrete-event kernel.
 *
 * Conservative, window-synchronous (YAWNS): with lookahead L, every rank
 * processes all its events with time < T + L, then ranks exchange the events
 * that crossed (always timed >= T + L) with their neighbours, and an
 * MPI_Iallreduce finds the global minimum pending time, so idle stretches
 * are skipped.  The reduction's result is used a few windows later
 * (cx_engine_config_t.sync_lag), so a window waits only for its neighbours.
 *
 * Determinism: events are ordered by (time, priority, source entity, source
 * sequence), a total order that does not depend on the number of ranks,
 * message arrival order or partition.  Each entity counts the events it sends
 * (src_seq) and its random draws (cx_entity_rand), so a run gives the same
 * result on 1, 2 or 4 ranks.
 *
 * Entities are identified by a global id 0..n-1.  Each rank owns one
 * contiguous range of ids (the partition is a list of nranks+1 boundaries
 * from the model), holds only those entities and never sees the others.
 * The kernel knows nothing of GPUs or links: an entity is a small vtable of
 * handlers (one per event kind) plus a pointer to model state.
 */
#ifndef CX_CORE_H
#define CX_CORE_H

#include <mpi.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "cx_util.h"

/* Simulated time: integer picoseconds.  2^63 ps ~ 106 days. */
typedef int64_t cx_time_t;
#define CX_TIME_MAX   INT64_MAX
#define CX_PS_PER_NS  INT64_C(1000)
#define CX_PS_PER_US  INT64_C(1000000)
#define CX_PS_PER_MS  INT64_C(1000000000)
#define CX_PS_PER_S   INT64_C(1000000000000)

static inline double cx_time_to_s(cx_time_t t) { return (double)t * 1e-12; }

/* Window length on a single rank, where no event crosses ranks: the
 * simulated time between progress and stop checks. */
#define CX_ENGINE_SOLO_WINDOW (100 * CX_PS_PER_US)

/* Windows between starting a window's reduction and using its result (see
 * cx_engine_config_t.sync_lag).  1 = classic YAWNS. */
#define CX_ENGINE_SYNC_LAG     4
#define CX_ENGINE_SYNC_LAG_MAX 64
/* The sparse exchange pays off (when the reduction is not riding the
 * messages anyway) once a rank has more than this many neighbours per round
 * of the reduction (log2 R): with a reduction round of ~3 us and a further
 * message of ~0.5 us on InfiniBand or RoCE [U: typical figures], N - 1
 * messages cost what the (then unhidden) reduction does at N ~ 6 log2 R. */
#define CX_ENGINE_SPARSE_FACTOR 6
/* Lookaheads whose windows a one-rank run can count. */
#define CX_ENGINE_MAX_PROBES   32

/* Global entity id.  Must be < 2^48 (it shares a heap key word with priority). */
typedef uint64_t cx_eid_t;
#define CX_EID_NONE UINT64_MAX

/* An event: fixed size, pointer-free (sent between ranks as bytes), taken from
 * the rank's free list.  The model's data lives in `payload`. */
#define CX_EVENT_SIZE    128
#define CX_EVENT_HEADER  40
#define CX_EVENT_PAYLOAD (CX_EVENT_SIZE - CX_EVENT_HEADER)

typedef struct cx_event {
    cx_time_t time;     /* receive time */
    uint64_t  seq;      /* sender's per-entity send counter */
    cx_eid_t  src;      /* sending entity */
    cx_eid_t  dst;      /* receiving entity */
    uint16_t  kind;     /* index into the receiver type's handler table */
    uint16_t  prio;     /* lower first among equal times */
    uint32_t  pad;
    _Alignas(8) unsigned char payload[CX_EVENT_PAYLOAD];
} cx_event_t;

_Static_assert(sizeof(cx_event_t) == CX_EVENT_SIZE, "event size");
_Static_assert(offsetof(cx_event_t, payload) == CX_EVENT_HEADER, "event header");

/* Typed access to the payload: CX_EVENT_DATA(ev, my_msg_t) (checked size). */
#define CX_EVENT_DATA(_ev, _type) \
    ((void)sizeof(char[sizeof(_type) <= CX_EVENT_PAYLOAD ? 1 : -1]), (_type *)(void *)(_ev)->payload)
#define CX_EVENT_CDATA(_ev, _type) \
    ((void)sizeof(char[sizeof(_type) <= CX_EVENT_PAYLOAD ? 1 : -1]), (const _type *)(const void *)(_ev)->payload)

typedef struct cx_engine cx_engine_t;
typedef struct cx_entity cx_entity_t;

/* A handler: processes one event for `self`.  The event is owned by the
 * kernel and released after the handler returns.  Handlers never allocate. */
typedef void (*cx_handler_fn)(cx_engine_t *eng, cx_entity_t *self, const cx_event_t *ev);

typedef struct cx_entity_type {
    const char          *name;
    const cx_handler_fn *handlers;   /* indexed by event kind */
    uint16_t             n_handlers;
} cx_entity_type_t;

/* A local entity.  32 bytes of kernel state; the model owns *state. */
struct cx_entity {
    const cx_entity_type_t *type;
    void                   *state;
    uint64_t                send_seq;  /* events sent so far (the src_seq of the next one) */
    uint64_t                rand_next; /* random draws taken so far */
};

typedef struct cx_engine_config {
    MPI_Comm  comm;
    uint64_t  n_entities;        /* global count */
    /* Partition: rank r owns ids [range_first[r], range_first[r+1]).  nranks+1
     * entries, range_first[0] = 0, last = n_entities.  NULL = even blocks. */
    const uint64_t *range_first;
    /* Or any partition in segments (n_seg > 0; range_first is then unused):
     * segment k is ids [seg_first[k], seg_first[k+1]), owned by seg_rank[k];
     * seg_first[0] = 0, seg_first[n_seg] = n_entities.  A rank's entities
     * are numbered 0..local_count-1 in id order (cx_engine_local_index). */
    uint64_t        n_seg;
    const uint64_t *seg_first;
    const int      *seg_rank;
    cx_time_t lookahead;         /* > 0: minimum delay of any cross-rank event */
    cx_time_t end_time;          /* process events with time < end_time */
    uint64_t  seed;
    double    progress_seconds;  /* rank 0 progress line period; 0 = off */
    const char *progress_label;  /* e.g. "phold" */
    /* Optional: this rank's units of work done so far (e.g. ops completed),
     * summed over ranks in the window reduction and shown against
     * progress_work_total as "done %" with an ETA.  With progress_work NULL
     * and a total, the work is the events committed (the total then being
     * an estimate of the run's events). */
    int64_t  (*progress_work)(void *ctx);
    void      *progress_ctx;
    int64_t    progress_work_total;
    /* Optional end-of-window hook, e.g. to flush trace buffers as the run
     * goes.  window_pending reports this rank's backlog (e.g. bytes
     * buffered); it travels in the window reduction (max), and when it has
     * reached window_threshold on some rank, window_hook runs on every rank
     * at the same window boundary, so it may make collective calls.  A
     * non-zero return from the hook on any rank stops the run there (as a
     * stop request does, agreed at the next reduction). */
    uint64_t (*window_pending)(void *ctx);
    int      (*window_hook)(void *ctx);
    void      *window_ctx;
    uint64_t   window_threshold;
    /* Windows of reduction lag, 1..CX_ENGINE_SYNC_LAG_MAX; 0 = from the
     * environment (COLOSSIM_SYNC_LAG), else 1 on one node and
     * CX_ENGINE_SYNC_LAG across nodes.
     * With lag 1 a window waits for its own reduction (the global minimum
     * pending time) before the next starts.  With lag D the reduction of
     * window k is used at the end of window k + D - 1 and the next window
     * ends at max(this window's end, that minimum) + L: a global minimum
     * is a lower bound on every event pending later, so this is as safe,
     * and a window then costs only the neighbour exchange while D - 1
     * reductions are in flight.  Busy stretches (events just past every
     * window's end) give the same windows; an idle stretch is skipped
     * D - 1 windows later.  Stop requests, the hook and progress act on
     * the lagged reduction, at the same window on every rank, so results
     * and traces do not depend on the lag or on MPI timing. */
    int        sync_lag;
    /* Optional, one rank only: count the windows that lookaheads
     * probe_lookahead[0..n_probes-1] would take (cx_engine_stats_t
     * .probe_windows).  A window starts at the earliest pending event and
     * spans the lookahead, so on one rank, whose events are committed in
     * time order, the count is exactly what a run whose partition has that
     * lookahead does with reductions used at once. */
    const cx_time_t *probe_lookahead;
    int        n_probes;
} cx_engine_config_t;

/* Global statistics, identical on every rank after cx_engine_run. */
typedef struct cx_engine_stats {
    int       ranks;
    uint64_t  events;            /* committed events, all ranks */
    uint64_t  windows;
    uint64_t  remote_events;     /* events that crossed ranks */
    uint64_t  events_rank_min;   /* least events one rank committed */
    uint64_t  events_rank_max;   /* most events one rank committed: max x ranks / events is the imbalance */
    uint64_t  segments;          /* partition segments (cyclic); 0 = one range per rank */
    uint64_t  digest;            /* order-independent hash of every committed (time, dst, src, seq) */
    cx_time_t last_event_time;   /* time of the last committed event */
    double    wall_seconds;      /* max over ranks of run wall time */
    double    sync_share;        /* mean over ranks of (exchange + reduction) / wall */
    double    sync_share_min, sync_share_max; /* the least and most of one rank */
    uint64_t  peak_rss_min, peak_rss_max, peak_rss_sum;  /* bytes */
    uint64_t  peak_pending_max;  /* max over ranks of events pending at once */
    int       stopped;           /* 1 if a stop request ended the run early */
    uint64_t  probe_windows[CX_ENGINE_MAX_PROBES]; /* see cx_engine_config_t.probe_lookahead */
} cx_engine_stats_t;

/* Collective over cfg->comm.  Validates the config (partition monotone,
 * lookahead > 0 with more than one rank). */
cx_status_t cx_engine_create(cx_engine_t **eng_p, const cx_engine_config_t *cfg, cx_err_t *err);
void        cx_engine_destroy(cx_engine_t *eng);

int       cx_engine_rank(const cx_engine_t *eng);
int       cx_engine_nranks(const cx_engine_t *eng);
MPI_Comm  cx_engine_comm(const cx_engine_t *eng);
uint64_t  cx_engine_seed(const cx_engine_t *eng);
uint64_t  cx_engine_local_count(const cx_engine_t *eng);
/* The i-th local entity's id (ids ascending), and the local index of an id
 * (UINT64_MAX when another rank owns it): inline below. */
static inline cx_eid_t cx_engine_local_id(const cx_engine_t *eng, uint64_t i);
static inline uint64_t cx_engine_local_index(const cx_engine_t *eng, cx_eid_t id);
/* Rank owning id (O(log ranks)). */
int       cx_engine_owner(const cx_engine_t *eng, cx_eid_t id);
/* Current simulated time: the time of the event being handled. */
cx_time_t cx_engine_now(const cx_engine_t *eng);

/* Attach type and state to a local entity (before run). */
void         cx_engine_set_entity(cx_engine_t *eng, cx_eid_t id, const cx_entity_type_t *type,
                                  void *state);
/* Local entity, or NULL if not owned here. */
cx_entity_t *cx_engine_entity(cx_engine_t *eng, cx_eid_t id);
static inline cx_eid_t cx_engine_entity_id(const cx_engine_t *eng, const cx_entity_t *e);

/* Restrict the ranks this rank may send to (the ranks sharing cut links);
 * the receive side is derived collectively.  Default: every rank.
 * Collective; call before run. */
cx_status_t cx_engine_set_neighbors(cx_engine_t *eng, const int *ranks, int n, cx_err_t *err);

/* Allocate an event from `src` to `dst` at absolute time `time` (>= now).
 * Fill its payload, then cx_event_send.  Never returns NULL (aborts on OOM). */
cx_event_t *cx_event_new(cx_engine_t *eng, cx_entity_t *src, cx_eid_t dst, cx_time_t time,
                         uint16_t kind, uint16_t prio);
void        cx_event_send(cx_engine_t *eng, cx_event_t *ev);

/* Shorthand: new + copy payload + send. */
void cx_engine_send(cx_engine_t *eng, cx_entity_t *src, cx_eid_t dst, cx_time_t time,
                    uint16_t kind, uint16_t prio, const void *payload, size_t len);

/* The entity's next random draw: a pure function of (seed, id, draw index). */
uint64_t cx_entity_rand(cx_engine_t *eng, cx_entity_t *e);
static inline double cx_entity_uniform(cx_engine_t *eng, cx_entity_t *e)
{
    return (double)(cx_entity_rand(eng, e) >> 11) * 0x1.0p-53;
}

/* Run until no event is left below end_time or a stop is requested.
 * Collective. */
cx_status_t cx_engine_run(cx_engine_t *eng, cx_err_t *err);

/* Ask for a graceful stop at the end of the current window.  Async-signal-safe
 * (sets a sig_atomic_t); all ranks agree through the window reduction. */
void cx_engine_request_stop(cx_engine_t *eng);
/* Process-wide flag set by the SIGTERM/SIGUSR1 handler installed here. */
void cx_engine_install_signal_handlers(void);

const cx_engine_stats_t *cx_engine_stats(const cx_engine_t *eng);
/* Print the end-of-run engine statistics (call on rank 0). */
void cx_engine_stats_print(const cx_engine_stats_t *s, FILE *out);

/* ---- inline ---- */
struct cx_engine_pub {  /* the leading part of cx_engine visible to inlines */
    cx_eid_t        local_first;  /* contiguous partition: ids local_first + i */
    cx_entity_t    *entities;
    uint64_t        local_count;
    uint64_t        n_entities;
    const cx_eid_t *local_ids;    /* segments: the local ids, ascending (else NULL) */
    const uint32_t *lidx;         /* segments: id -> local index or UINT32_MAX (else NULL) */
};
static inline cx_eid_t cx_engine_local_id(const cx_engine_t *eng, uint64_t i)
{
    const struct cx_engine_pub *p = (const struct cx_engine_pub *)(const void *)eng;
    return p->local_ids != NULL ? p->local_ids[i] : p->local_first + i;
}
static inline uint64_t cx_engine_local_index(const cx_engine_t *eng, cx_eid_t id)
{
    const struct cx_engine_pub *p = (const struct cx_engine_pub *)(const void *)eng;
    if (p->lidx == NULL) return id - p->local_first < p->local_count ? id - p->local_first : UINT64_MAX;
    return id < p->n_entities && p->lidx[id] != UINT32_MAX ? p->lidx[id] : UINT64_MAX;
}
static inline cx_eid_t cx_engine_entity_id(const cx_engine_t *eng, const cx_entity_t *e)
{
    const struct cx_engine_pub *p = (const struct cx_engine_pub *)(const void *)eng;
    return cx_engine_local_id(eng, (uint64_t)(e - p->entities));
}

#endif
