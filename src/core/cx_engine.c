/*
 * The conservative window scheduler (see cx_core.h for the contract).
 *
 * One window: pop and handle every local event with time < T + L; events for
 * other ranks go to per-neighbour outboxes (they are timed >= T + L by the
 * lookahead guarantee, checked here); exchange outboxes with neighbours only
 * (MPI_Isend + MPI_Mprobe/MPI_Mrecv: exactly one message per neighbour per
 * window, possibly empty) while an MPI_Iallreduce carries the next pending
 * time (min), a stop request (max), the committed event count (sum, for
 * progress), the work done and the hook's backlog.  The reduction of window
 * k is used at the end of window k + lag - 1 (lag 1: at once); the next
 * window ends at max(this end, that minimum) + L, so idle time is skipped.
 * Two variants of the exchange give the same windows: where every rank
 * neighbours every other, the reduction values ride the messages and no
 * collective runs (piggy); with many neighbours, only non-empty messages go
 * out and the reduction is the window's barrier (nbx, the sparse exchange).
 */
#define _POSIX_C_SOURCE 200809L
#include "cx_core.h"
#include "cx_bq_inl.h"

#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CX_EXCHANGE_TAG 7301

/* Reduction over {next time: min, stop: max, events: sum, work: sum,
 * hook backlog: max}. */
#define CX_RED_N 5

typedef struct cx_outbox {
    cx_event_t *buf;
    size_t      n;
    size_t      cap;
} cx_outbox_t;

struct cx_engine {
    /* Must match struct cx_engine_pub (used by inline helpers). */
    cx_eid_t     local_first;
    cx_entity_t *entities;
    uint64_t     local_count;
    uint64_t     n_entities;
    cx_eid_t    *local_ids;
    uint32_t    *lidx;

    int         *owner_of;    /* segments: id -> rank (else NULL: range_first) */
    MPI_Comm   comm;
    int        rank;
    int        nranks;
    uint64_t  *range_first;   /* nranks + 1 */
    cx_time_t  lookahead;
    cx_time_t  end_time;
    uint64_t   seed;
    cx_engine_config_t cfg;   /* as given (progress, window hook); progress_label set */

    cx_pool_t  pool;
    cx_bq_t    q;          /* event queue (pops in (time, prio|src, seq) order) */
    cx_time_t  now;
    cx_time_t  window_end;
    int        running;

    /* Neighbour exchange. */
    int         *send_slot;   /* rank -> index into send_ranks, or -1 */
    int         *send_ranks;
    int          n_send;
    int         *recv_ranks;
    int          n_recv;
    cx_outbox_t *out;
    cx_event_t  *inbuf;
    size_t       in_cap;
    MPI_Request *reqs;
    cx_time_t    out_min;     /* earliest event in the outboxes */
    MPI_Datatype red_type;
    MPI_Op       red_op;
    /* Reductions in flight: number n uses slot n % lag. */
    int          lag;
    int          lag_explicit; /* set by the config or $COLOSSIM_SYNC_LAG */
    int          lag_picked;   /* the lag without piggy-backing */
    uint64_t     red_started;  /* reductions started */
    uint64_t     red_used;     /* reductions waited for (the oldest first) */
    int64_t      red_loc[CX_ENGINE_SYNC_LAG_MAX][CX_RED_N];
    int64_t      red_glob[CX_ENGINE_SYNC_LAG_MAX][CX_RED_N];
    cx_time_t    red_wend[CX_ENGINE_SYNC_LAG_MAX];  /* window end when started */
    int          sparse;       /* the last reduction used showed idle time */
    /* Full mesh with lag 1: each window's message to every other rank
     * starts with this rank's reduction values (slot 0 of its outbox), so
     * every rank reduces what it receives and no collective runs. */
    int          piggy;
    /* Sparse exchange (NBX, Hoefler et al. 2010): each window sends only
     * the non-empty outboxes (MPI_Issend), receives whatever comes, and a
     * reduction entered once this rank's sends are matched serves as the
     * barrier: when it completes every message of the window has been
     * received.  One collective per window instead of one message per
     * neighbour: for hundreds of ranks, whose neighbours number hundreds. */
    int          nbx;
    size_t       ob_base;      /* 1 when slot 0 of each outbox is that header */
    MPI_Request  red_req[CX_ENGINE_SYNC_LAG_MAX];

    /* Window probes (one rank). */
    int       n_probes;
    cx_time_t probe_la[CX_ENGINE_MAX_PROBES];
    cx_time_t probe_end[CX_ENGINE_MAX_PROBES];
    uint64_t  probe_win[CX_ENGINE_MAX_PROBES];

    /* Local statistics. */
    uint64_t  n_events;
    uint64_t  n_remote;
    uint64_t  digest;
    uint64_t  windows;
    cx_time_t last_time;
    double    sync_seconds;

    volatile sig_atomic_t stop_req;
    cx_engine_stats_t     stats;
};

static volatile sig_atomic_t cx_stop_signal = 0;

static void cx_engine_on_signal(int sig)
{
    (void)sig;
    cx_stop_signal = 1;
}

void cx_engine_install_signal_handlers(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = cx_engine_on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
}

void cx_engine_request_stop(cx_engine_t *eng) { eng->stop_req = 1; }

static void cx_engine_reduce_fn(void *in, void *inout, int *len, MPI_Datatype *dt)
{
    const int64_t *a = in;
    int64_t       *b = inout;
    int            i;
    (void)dt;
    for (i = 0; i < *len; i++, a += CX_RED_N, b += CX_RED_N) {
        if (a[0] < b[0]) b[0] = a[0];
        if (a[1] > b[1]) b[1] = a[1];
        b[2] += a[2];
        b[3] += a[3];
        if (a[4] > b[4]) b[4] = a[4];
    }
}

int       cx_engine_rank(const cx_engine_t *eng) { return eng->rank; }
int       cx_engine_nranks(const cx_engine_t *eng) { return eng->nranks; }
MPI_Comm  cx_engine_comm(const cx_engine_t *eng) { return eng->comm; }
uint64_t  cx_engine_seed(const cx_engine_t *eng) { return eng->seed; }
uint64_t  cx_engine_local_count(const cx_engine_t *eng) { return eng->local_count; }
cx_time_t cx_engine_now(const cx_engine_t *eng) { return eng->now; }
const cx_engine_stats_t *cx_engine_stats(const cx_engine_t *eng) { return &eng->stats; }

int cx_engine_owner(const cx_engine_t *eng, cx_eid_t id)
{
    int lo = 0, hi = eng->nranks - 1;
    if (eng->owner_of != NULL) return eng->owner_of[id];
    /* Largest r with range_first[r] <= id. */
    while (lo < hi) {
        int mid = (lo + hi + 1) / 2;
        if (eng->range_first[mid] <= id) lo = mid;
        else hi = mid - 1;
    }
    return lo;
}

static cx_status_t cx_engine_set_all_neighbors(cx_engine_t *eng, cx_err_t *err)
{
    int *all = malloc((size_t)eng->nranks * sizeof(int));
    int  i, n = 0;
    cx_status_t st;
    if (all == NULL) return cx_err_set(err, CX_ERR_NOMEM, NULL, 0, NULL, "out of memory");
    for (i = 0; i < eng->nranks; i++) {
        if (i != eng->rank) all[n++] = i;
    }
    st = cx_engine_set_neighbors(eng, all, n, err);
    free(all);
    return st;
}

/* The reduction lag: the config's, else $COLOSSIM_SYNC_LAG, else 1 when
 * every rank shares one node (a reduction there costs about what the
 * neighbour exchange does) and CX_ENGINE_SYNC_LAG across nodes, where it
 * costs tens of microseconds.  Alone, nothing crosses: 1.  Collective. */
static cx_status_t cx_engine_pick_lag(cx_engine_t *eng, int cfg_lag, cx_err_t *err)
{
    const char *env = getenv("COLOSSIM_SYNC_LAG");
    MPI_Comm    node;
    int         node_size = 0;
    MPI_Comm_split_type(eng->comm, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node);
    MPI_Comm_size(node, &node_size);
    MPI_Comm_free(&node);
    eng->lag = node_size == eng->nranks ? 1 : CX_ENGINE_SYNC_LAG;
    cx_status_t st = CX_OK;
    int         agree[3];
    if (cfg_lag != 0) {
        if (cfg_lag < 1 || cfg_lag > CX_ENGINE_SYNC_LAG_MAX) {
            st = cx_err_set(err, CX_ERR_RANGE, NULL, 0, "sync-lag",
                            "the reduction lag must be 1..%d windows, not %d", CX_ENGINE_SYNC_LAG_MAX, cfg_lag);
        }
        eng->lag          = cfg_lag;
        eng->lag_explicit = 1;
    } else if (env != NULL && env[0] != '\0') {
        char *end;
        long  v = strtol(env, &end, 10);
        if (*end != '\0' || v < 1 || v > CX_ENGINE_SYNC_LAG_MAX) {
            st = cx_err_set(err, CX_ERR_RANGE, NULL, 0, "COLOSSIM_SYNC_LAG",
                            "must be a whole number of windows in 1..%d, not '%s'", CX_ENGINE_SYNC_LAG_MAX, env);
        }
        eng->lag          = (int)v;
        eng->lag_explicit = 1;
    }
    if (eng->nranks == 1) eng->lag = 1;
    eng->lag_picked = eng->lag;
    /* Every rank must run the same windows: agree on failure and lag. */
    agree[0] = st != CX_OK;
    agree[1] = eng->lag;
    agree[2] = -eng->lag;
    MPI_Allreduce(MPI_IN_PLACE, agree, 3, MPI_INT, MPI_MAX, eng->comm);
    if (st == CX_OK && agree[0]) {
        st = cx_err_set(err, CX_ERR_RANGE, NULL, 0, "COLOSSIM_SYNC_LAG", "rejected on another rank");
    } else if (st == CX_OK && agree[1] != -agree[2]) {
        st = cx_err_set(err, CX_ERR_INVALID, NULL, 0, "COLOSSIM_SYNC_LAG",
                        "ranks disagree on the reduction lag (%d .. %d): set it the same everywhere",
                        -agree[2], agree[1]);
    }
    return st;
}

/* A partition in segments: the owner of every id, and this rank's ids with
 * their local indices.  A table of 8 bytes per entity on every rank (the
 * fabric's devices: 5.6 MB for 700k), so that finding a local entity or a
 * remote owner stays one load. */
static cx_status_t cx_engine_set_segments(cx_engine_t *eng, const cx_engine_config_t *cfg, cx_err_t *err)
{
    uint64_t k, id, n = 0;
    if (cfg->seg_first == NULL || cfg->seg_rank == NULL || cfg->seg_first[0] != 0 ||
        cfg->seg_first[cfg->n_seg] != cfg->n_entities) {
        return cx_err_set(err, CX_ERR_INVALID, NULL, 0, "partition",
                          "segments must start at 0 and end at the entity count");
    }
    for (k = 0; k < cfg->n_seg; k++) {
        if (cfg->seg_first[k] > cfg->seg_first[k + 1] || cfg->seg_rank[k] < 0 || cfg->seg_rank[k] >= eng->nranks) {
            return cx_err_set(err, CX_ERR_INVALID, NULL, 0, "partition",
                              "segment %llu: decreasing bounds or a rank outside 0..%d",
                              (unsigned long long)k, eng->nranks - 1);
        }
        if (cfg->seg_rank[k] == eng->rank) n += cfg->seg_first[k + 1] - cfg->seg_first[k];
    }
    eng->stats.segments = cfg->n_seg;
    if (n >= UINT32_MAX) {
        return cx_err_set(err, CX_ERR_INVALID, NULL, 0, "partition", "%llu entities on one rank: at most 2^32 - 2",
                          (unsigned long long)n);
    }
    eng->owner_of  = malloc((size_t)cfg->n_entities * sizeof(int));
    eng->lidx      = malloc((size_t)cfg->n_entities * sizeof(uint32_t));
    eng->local_ids = malloc((size_t)(n > 0 ? n : 1) * sizeof(cx_eid_t));
    if (eng->owner_of == NULL || eng->lidx == NULL || eng->local_ids == NULL) {
        return cx_err_set(err, CX_ERR_NOMEM, NULL, 0, NULL, "out of memory for the partition's tables");
    }
    eng->local_count = 0;
    for (k = 0; k < cfg->n_seg; k++) {
        int mine = cfg->seg_rank[k] == eng->rank;
        for (id = cfg->seg_first[k]; id < cfg->seg_first[k + 1]; id++) {
            eng->owner_of[id] = cfg->seg_rank[k];
            eng->lidx[id]     = mine ? (uint32_t)eng->local_count : UINT32_MAX;
            if (mine) eng->local_ids[eng->local_count++] = id;
        }
    }
    eng->local_first = eng->local_count > 0 ? eng->local_ids[0] : 0;
    return CX_OK;
}

cx_status_t cx_engine_create(cx_engine_t **eng_p, const cx_engine_config_t *cfg, cx_err_t *err)
{
    cx_engine_t *eng;
    int          r;
    cx_status_t  st;

    if (cfg->n_entities == 0 || cfg->n_entities >= (UINT64_C(1) << 48)) {
        return cx_err_set(err, CX_ERR_INVALID, NULL, 0, "entities",
                          "entity count must be in [1, 2^48)");
    }
    if (cfg->lookahead <= 0) {
        return cx_err_set(err, CX_ERR_INVALID, NULL, 0, "lookahead",
                          "lookahead must be > 0 ps");
    }
    eng = calloc(1, sizeof(*eng));
    if (eng == NULL) return cx_err_set(err, CX_ERR_NOMEM, NULL, 0, NULL, "out of memory");
    eng->comm = cfg->comm;
    MPI_Comm_rank(eng->comm, &eng->rank);
    MPI_Comm_size(eng->comm, &eng->nranks);
    eng->n_entities       = cfg->n_entities;
    eng->lookahead        = cfg->lookahead;
    /* Alone, no event crosses ranks: the window only paces the progress
     * line and the stop check. */
    if (eng->nranks == 1 && eng->lookahead < CX_ENGINE_SOLO_WINDOW) eng->lookahead = CX_ENGINE_SOLO_WINDOW;
    eng->end_time         = cfg->end_time > 0 ? cfg->end_time : CX_TIME_MAX;
    eng->seed             = cfg->seed;
    eng->cfg              = *cfg;
    if (eng->cfg.progress_label == NULL) eng->cfg.progress_label = "sim";
    eng->red_type         = MPI_DATATYPE_NULL;
    eng->red_op           = MPI_OP_NULL;
    eng->out_min          = CX_TIME_MAX;
    if (cfg->n_probes < 0 || cfg->n_probes > CX_ENGINE_MAX_PROBES || (cfg->n_probes > 0 && eng->nranks > 1)) {
        free(eng);
        return cx_err_set(err, CX_ERR_INVALID, NULL, 0, "probes",
                          "window probes: 0..%d lookaheads, on one rank only", CX_ENGINE_MAX_PROBES);
    }
    for (r = 0; r < cfg->n_probes; r++) {
        eng->probe_la[r]  = cfg->probe_lookahead[r] > 0 ? cfg->probe_lookahead[r] : 1;
        eng->probe_end[r] = INT64_MIN;
    }
    eng->n_probes = cfg->n_probes;
    st = cx_engine_pick_lag(eng, cfg->sync_lag, err);
    if (st != CX_OK) {
        free(eng);
        return st;
    }

    eng->range_first = malloc((size_t)(eng->nranks + 1) * sizeof(uint64_t));
    if (eng->range_first == NULL) goto err_nomem;
    if (cfg->n_seg > 0) {
        st = cx_engine_set_segments(eng, cfg, err);
        if (st != CX_OK) goto err_free;
    } else if (cfg->range_first != NULL) {
        memcpy(eng->range_first, cfg->range_first, (size_t)(eng->nranks + 1) * sizeof(uint64_t));
        if (eng->range_first[0] != 0 || eng->range_first[eng->nranks] != cfg->n_entities) {
            st = cx_err_set(err, CX_ERR_INVALID, NULL, 0, "partition",
                            "partition must start at 0 and end at the entity count");
            goto err_free;
        }
        for (r = 0; r < eng->nranks; r++) {
            if (eng->range_first[r] > eng->range_first[r + 1]) {
                st = cx_err_set(err, CX_ERR_INVALID, NULL, 0, "partition",
                                "partition boundaries must not decrease (rank %d)", r);
                goto err_free;
            }
        }
    } else {
        for (r = 0; r <= eng->nranks; r++) {
            eng->range_first[r] = (uint64_t)(((unsigned __int128)cfg->n_entities * (unsigned)r) /
                                             (unsigned)eng->nranks);
        }
    }
    if (eng->lidx == NULL) {
        eng->local_first = eng->range_first[eng->rank];
        eng->local_count = eng->range_first[eng->rank + 1] - eng->local_first;
    }
    eng->entities    = calloc(eng->local_count > 0 ? eng->local_count : 1, sizeof(cx_entity_t));
    if (eng->entities == NULL) goto err_nomem;
    cx_mem_advise_huge(eng->entities, (eng->local_count > 0 ? eng->local_count : 1) * sizeof(cx_entity_t));

    cx_pool_init(&eng->pool, sizeof(cx_event_t), 4096);
    if (cx_bq_init(&eng->q, CX_BQ_WIDTH_PS, CX_BQ_BUCKETS) != CX_OK) goto err_nomem;
    eng->send_slot = malloc((size_t)eng->nranks * sizeof(int));
    eng->reqs      = malloc((size_t)eng->nranks * sizeof(MPI_Request));
    if (eng->send_slot == NULL || eng->reqs == NULL) goto err_nomem;

    MPI_Type_contiguous(CX_RED_N, MPI_INT64_T, &eng->red_type);
    MPI_Type_commit(&eng->red_type);
    MPI_Op_create(cx_engine_reduce_fn, 1, &eng->red_op);

    st = cx_engine_set_all_neighbors(eng, err);
    if (st != CX_OK) goto err_free;
    *eng_p = eng;
    return CX_OK;

err_nomem:
    st = cx_err_set(err, CX_ERR_NOMEM, NULL, 0, NULL, "out of memory creating the engine");
err_free:
    cx_engine_destroy(eng);
    return st;
}

static void cx_engine_free_neighbors(cx_engine_t *eng)
{
    int i;
    if (eng->out != NULL) {
        for (i = 0; i < eng->n_send; i++) free(eng->out[i].buf);
    }
    free(eng->out);
    free(eng->send_ranks);
    free(eng->recv_ranks);
    eng->out        = NULL;
    eng->send_ranks = NULL;
    eng->recv_ranks = NULL;
    eng->n_send = eng->n_recv = 0;
}

void cx_engine_destroy(cx_engine_t *eng)
{
    if (eng == NULL) return;
    cx_engine_free_neighbors(eng);
    if (eng->red_op != MPI_OP_NULL) MPI_Op_free(&eng->red_op);
    if (eng->red_type != MPI_DATATYPE_NULL) MPI_Type_free(&eng->red_type);
    free(eng->inbuf);
    free(eng->reqs);
    free(eng->send_slot);
    cx_bq_destroy(&eng->q);
    cx_pool_destroy(&eng->pool);
    free(eng->entities);
    free(eng->range_first);
    free(eng->owner_of);
    free(eng->lidx);
    free(eng->local_ids);
    free(eng);
}

/* Piggy-backed reductions when every rank sends to and hears from every
 * other one, unless a lag above 1 was asked for ($COLOSSIM_SYNC_PIGGYBACK=0
 * turns it off).
 * The same windows as with the collective: the same values are reduced by
 * min, max and integer sums, exact in any order.  Collective. */
static cx_status_t cx_engine_pick_piggy(cx_engine_t *eng, int want, cx_err_t *err)
{
    int i;
    eng->piggy   = want;
    /* The exchange itself waits for every neighbour: nothing to hide. */
    eng->lag = want || eng->nbx ? 1 : eng->lag_picked;
    eng->ob_base = want ? 1 : 0;
    for (i = 0; i < eng->n_send && want; i++) {
        eng->out[i].buf = malloc(256 * sizeof(cx_event_t));
        if (eng->out[i].buf == NULL) return cx_err_set(err, CX_ERR_NOMEM, NULL, 0, NULL, "out of memory");
        eng->out[i].cap = 256;
        eng->out[i].n   = 1;
    }
    return CX_OK;
}

/* Dense (one message per neighbour per window) or sparse (NBX) exchange:
 * $COLOSSIM_SYNC_EXCHANGE = dense | sparse | auto (default).  auto is
 * sparse when some rank has more than CX_ENGINE_SPARSE_FACTOR x log2 R
 * neighbours, the neighbours do not form a full mesh (where the reduction
 * rides the messages) and no lag was asked for; sparse reduces every
 * window, so it cannot lag.  Either way the windows and results are the
 * same: the choice is speed only.  Agrees *want (piggy-back) and the mode
 * over all ranks.  Collective, also when st is an error. */
static cx_status_t cx_engine_pick_exchange(cx_engine_t *eng, cx_status_t st, int nbrs, int *want, cx_err_t *err)
{
    const char *env = getenv("COLOSSIM_SYNC_EXCHANGE");
    int         mode = 0, a[5], rounds = 0;
    if (env != NULL && env[0] != '\0' && strcmp(env, "auto") != 0) {
        mode = strcmp(env, "dense") == 0 ? 1 : strcmp(env, "sparse") == 0 ? 2 : -1;
        if (mode < 0 && st == CX_OK) {
            st = cx_err_set(err, CX_ERR_RANGE, NULL, 0, "COLOSSIM_SYNC_EXCHANGE",
                            "must be dense, sparse or auto, not '%s'", env);
        } else if (mode == 2 && eng->lag_explicit && eng->lag_picked > 1 && st == CX_OK) {
            st = cx_err_set(err, CX_ERR_INVALID, NULL, 0, "COLOSSIM_SYNC_EXCHANGE",
                            "the sparse exchange reduces every window: it cannot lag (COLOSSIM_SYNC_LAG %d)",
                            eng->lag_picked);
        }
    }
    a[0] = -*want;
    a[1] = nbrs;
    a[2] = mode;
    a[3] = -mode;
    a[4] = st != CX_OK;
    MPI_Allreduce(MPI_IN_PLACE, a, 5, MPI_INT, MPI_MAX, eng->comm);
    if (st != CX_OK) return st;
    if (a[4]) return cx_err_set(err, CX_ERR_RANGE, NULL, 0, "COLOSSIM_SYNC_EXCHANGE", "rejected on another rank");
    if (a[2] != -a[3]) {
        return cx_err_set(err, CX_ERR_INVALID, NULL, 0, "COLOSSIM_SYNC_EXCHANGE",
                          "ranks disagree on the exchange: set it the same everywhere");
    }
    *want = -a[0];
    while ((1 << rounds) < eng->nranks) rounds++;
    eng->nbx = eng->nranks > 1 &&
               (mode == 2 || (mode == 0 && !*want && !eng->lag_explicit && a[1] > CX_ENGINE_SPARSE_FACTOR * rounds));
    if (eng->nbx) *want = 0;
    return CX_OK;
}

cx_status_t cx_engine_set_neighbors(cx_engine_t *eng, const int *ranks, int n, cx_err_t *err)
{
    int *sflag = calloc((size_t)eng->nranks, sizeof(int));
    int *rflag = calloc((size_t)eng->nranks, sizeof(int));
    int  i, want;
    cx_status_t st = CX_OK;

    if (sflag == NULL || rflag == NULL) {
        st = cx_err_set(err, CX_ERR_NOMEM, NULL, 0, NULL, "out of memory");
        goto out;
    }
    for (i = 0; i < n; i++) {
        if (ranks[i] < 0 || ranks[i] >= eng->nranks) {
            st = cx_err_set(err, CX_ERR_INVALID, NULL, 0, "neighbors", "rank %d out of range",
                            ranks[i]);
            break;
        }
        if (ranks[i] != eng->rank) sflag[ranks[i]] = 1;
    }
    /* Collective even on error, so no rank is left waiting. */
    MPI_Alltoall(sflag, 1, MPI_INT, rflag, 1, MPI_INT, eng->comm);
    {
        const char *env = getenv("COLOSSIM_SYNC_PIGGYBACK");
        int         ns = 0, nr = 0;
        for (i = 0; i < eng->nranks; i++) {
            ns += sflag[i];
            nr += rflag[i];
        }
        want = st == CX_OK && eng->nranks > 1 && (eng->lag_picked == 1 || !eng->lag_explicit) && ns == eng->nranks - 1 &&
               nr == eng->nranks - 1 && !(env != NULL && strcmp(env, "0") == 0);
        st = cx_engine_pick_exchange(eng, st, ns > nr ? ns : nr, &want, err);
    }
    if (st != CX_OK) goto out;

    cx_engine_free_neighbors(eng);
    for (i = 0; i < eng->nranks; i++) {
        eng->send_slot[i] = -1;
        eng->n_send += sflag[i];
        eng->n_recv += rflag[i];
    }
    eng->send_ranks = malloc((size_t)(eng->n_send + 1) * sizeof(int));
    eng->recv_ranks = malloc((size_t)(eng->n_recv + 1) * sizeof(int));
    eng->out        = calloc((size_t)(eng->n_send + 1), sizeof(cx_outbox_t));
    if (eng->send_ranks == NULL || eng->recv_ranks == NULL || eng->out == NULL) {
        st = cx_err_set(err, CX_ERR_NOMEM, NULL, 0, NULL, "out of memory");
        goto out;
    }
    eng->n_send = eng->n_recv = 0;
    for (i = 0; i < eng->nranks; i++) {
        if (sflag[i]) {
            eng->send_slot[i]             = eng->n_send;
            eng->send_ranks[eng->n_send++] = i;
        }
        if (rflag[i]) eng->recv_ranks[eng->n_recv++] = i;
    }
    st = cx_engine_pick_piggy(eng, want, err);
out:
    free(sflag);
    free(rflag);
    return st;
}

void cx_engine_set_entity(cx_engine_t *eng, cx_eid_t id, const cx_entity_type_t *type, void *state)
{
    cx_entity_t *e = cx_engine_entity(eng, id);
    if (e == NULL) cx_fatal("entity %llu is not owned by rank %d", (unsigned long long)id, eng->rank);
    e->type  = type;
    e->state = state;
}

cx_entity_t *cx_engine_entity(cx_engine_t *eng, cx_eid_t id)
{
    uint64_t i = cx_engine_local_index(eng, id);
    return i != UINT64_MAX ? &eng->entities[i] : NULL;
}

uint64_t cx_entity_rand(cx_engine_t *eng, cx_entity_t *e)
{
    return cx_rng_u64(eng->seed, cx_engine_entity_id(eng, e), e->rand_next++);
}

cx_event_t *cx_event_new(cx_engine_t *eng, cx_entity_t *src, cx_eid_t dst, cx_time_t time,
                         uint16_t kind, uint16_t prio)
{
    cx_event_t *ev = cx_pool_get(&eng->pool);
    if (ev == NULL) cx_fatal("out of memory for events (%zu pending)", eng->pool.in_use);
    if (time < eng->now) {
        cx_fatal("event scheduled in the past: time %lld < now %lld (src %llu -> dst %llu)",
                 (long long)time, (long long)eng->now,
                 (unsigned long long)cx_engine_entity_id(eng, src), (unsigned long long)dst);
    }
    ev->time = time;
    ev->seq  = src->send_seq++;
    ev->src  = cx_engine_entity_id(eng, src);
    ev->dst  = dst;
    ev->kind = kind;
    ev->prio = prio;
    ev->pad  = 0;
    return ev;
}

static inline void cx_engine_push(cx_engine_t *eng, cx_event_t *ev)
{
    cx_heap_item_t it;
    it.k0  = ev->time;
    it.k1  = ((uint64_t)ev->prio << 48) | ev->src;
    it.k2  = ev->seq;
    it.ptr = ev;
    if (cx_bq_push(&eng->q, &it) != CX_OK) cx_fatal("out of memory growing the event queue");
}

void cx_event_send(cx_engine_t *eng, cx_event_t *ev)
{
    cx_outbox_t *ob;
    int          owner, slot;

    if (cx_engine_local_index(eng, ev->dst) != UINT64_MAX) {
        cx_engine_push(eng, ev);
        return;
    }
    if (ev->dst >= eng->n_entities) {
        cx_fatal("event to unknown entity %llu (of %llu)", (unsigned long long)ev->dst,
                 (unsigned long long)eng->n_entities);
    }
    if (eng->running && ev->time < eng->window_end) {
        cx_fatal("lookahead violated: event from entity %llu to %llu at %lld ps crosses ranks "
                 "inside the window ending at %lld ps (lookahead %lld ps)",
                 (unsigned long long)ev->src, (unsigned long long)ev->dst, (long long)ev->time,
                 (long long)eng->window_end, (long long)eng->lookahead);
    }
    owner = cx_engine_owner(eng, ev->dst);
    slot  = eng->send_slot[owner];
    if (slot < 0) {
        cx_fatal("event from entity %llu to rank %d, which is not a declared neighbour of rank %d",
                 (unsigned long long)ev->src, owner, eng->rank);
    }
    ob = &eng->out[slot];
    if (ob->n == ob->cap) {
        size_t      ncap = ob->cap ? ob->cap * 2 : 256;
        cx_event_t *nb   = realloc(ob->buf, ncap * sizeof(*nb));
        if (nb == NULL) cx_fatal("out of memory growing an outbox");
        ob->buf = nb;
        ob->cap = ncap;
    }
    ob->buf[ob->n++] = *ev;
    if (ev->time < eng->out_min) eng->out_min = ev->time;
    eng->n_remote++;
    cx_pool_put(&eng->pool, ev);
}

void cx_engine_send(cx_engine_t *eng, cx_entity_t *src, cx_eid_t dst, cx_time_t time,
                    uint16_t kind, uint16_t prio, const void *payload, size_t len)
{
    cx_event_t *ev = cx_event_new(eng, src, dst, time, kind, prio);
    if (len > CX_EVENT_PAYLOAD) cx_fatal("payload of %zu bytes exceeds %d", len, CX_EVENT_PAYLOAD);
    if (len > 0) memcpy(ev->payload, payload, len);
    cx_event_send(eng, ev);
}

/* Hash of one committed event; summed, so the total is independent of order. */
static inline uint64_t cx_event_hash(const cx_event_t *ev)
{
    uint64_t h = cx_mix64((uint64_t)ev->time + 0x9E3779B97F4A7C15ULL);
    h          = cx_mix64(h ^ (ev->dst * 0xD1B54A32D192ED03ULL));
    h          = cx_mix64(h ^ (ev->src * 0xAEF17502108EF2D9ULL) ^ (ev->seq << 1));
    return h;
}

static void cx_engine_process_window(cx_engine_t *eng)
{
    cx_heap_item_t        it = {0, 0, 0, NULL};
    const cx_heap_item_t *top;
    while ((top = cx_bq_top(&eng->q)) != NULL && top->k0 < eng->window_end) {
        cx_event_t  *ev;
        cx_entity_t *ent;
        cx_bq_pop(&eng->q, &it);
        /* The next event is most likely cold: start loading it now. */
        if (eng->q.near.size > 0) {
            __builtin_prefetch(eng->q.near.items[0].ptr);
            __builtin_prefetch((const char *)eng->q.near.items[0].ptr + 64);
        }
        ev       = it.ptr;
        eng->now = it.k0;
        ent      = &eng->entities[cx_engine_local_index(eng, ev->dst)];
        if (ent->type == NULL || ev->kind >= ent->type->n_handlers) {
            cx_fatal("entity %llu has no handler for event kind %u", (unsigned long long)ev->dst,
                     (unsigned)ev->kind);
        }
        ent->type->handlers[ev->kind](eng, ent, ev);
        if (eng->n_probes > 0) {
            int i;
            for (i = 0; i < eng->n_probes; i++) {
                if (ev->time >= eng->probe_end[i]) {
                    eng->probe_win[i]++;
                    eng->probe_end[i] = ev->time + eng->probe_la[i];
                }
            }
        }
        eng->digest += cx_event_hash(ev);
        eng->n_events++;
        eng->last_time = ev->time;
        cx_pool_put(&eng->pool, ev);
    }
}

/* Receive one matched window message; with piggy-backed reductions fold
 * its header (slot 0) into glob. */
static void cx_engine_recv_msg(cx_engine_t *eng, MPI_Message *msg, MPI_Status *status, int64_t *glob)
{
    int    bytes;
    size_t n, k;
    MPI_Get_count(status, MPI_BYTE, &bytes);
    n = (size_t)bytes / sizeof(cx_event_t);
    if (n > eng->in_cap) {
        cx_event_t *nb = realloc(eng->inbuf, n * sizeof(*nb));
        if (nb == NULL) cx_fatal("out of memory receiving %zu events", n);
        eng->inbuf  = nb;
        eng->in_cap = n;
    }
    MPI_Mrecv(eng->inbuf, bytes, MPI_BYTE, msg, MPI_STATUS_IGNORE);
    if (eng->piggy) {
        int64_t hdr[CX_RED_N];
        int     one = 1;
        if (n < 1) cx_fatal("window message from rank %d has no reduction header", status->MPI_SOURCE);
        memcpy(hdr, &eng->inbuf[0], sizeof(hdr));
        cx_engine_reduce_fn(hdr, glob, &one, NULL);
    }
    for (k = eng->ob_base; k < n; k++) {
        cx_event_t *ev = cx_pool_get(&eng->pool);
        if (ev == NULL) cx_fatal("out of memory for received events");
        *ev = eng->inbuf[k];
        cx_engine_push(eng, ev);
    }
}

static void cx_engine_send_outbox(cx_engine_t *eng, int i, int sync, MPI_Request *req)
{
    size_t bytes = eng->out[i].n * sizeof(cx_event_t);
    if (bytes > (size_t)INT_MAX) cx_fatal("window outbox of %zu bytes exceeds one MPI message", bytes);
    (sync ? MPI_Issend : MPI_Isend)(eng->out[i].buf, (int)bytes, MPI_BYTE, eng->send_ranks[i], CX_EXCHANGE_TAG,
                                    eng->comm, req);
}

/* Exchange the outboxes: one message to and from every neighbour; with
 * piggy-backed reductions, fold each neighbour's header into glob. */
static void cx_engine_exchange(cx_engine_t *eng, int64_t *glob)
{
    int i;
    for (i = 0; i < eng->n_send; i++) cx_engine_send_outbox(eng, i, 0, &eng->reqs[i]);
    for (i = 0; i < eng->n_recv; i++) {
        MPI_Message msg;
        MPI_Status  status;
        MPI_Mprobe(eng->recv_ranks[i], CX_EXCHANGE_TAG, eng->comm, &msg, &status);
        cx_engine_recv_msg(eng, &msg, &status, glob);
    }
    MPI_Waitall(eng->n_send, eng->reqs, MPI_STATUSES_IGNORE);
    for (i = 0; i < eng->n_send; i++) eng->out[i].n = eng->ob_base;
}

/* Receive every window message that has come in so far (any sender). */
static void cx_engine_recv_any(cx_engine_t *eng)
{
    for (;;) {
        MPI_Message msg;
        MPI_Status  status;
        int         flag = 0;
        MPI_Improbe(MPI_ANY_SOURCE, CX_EXCHANGE_TAG, eng->comm, &flag, &msg, &status);
        if (!flag) return;
        cx_engine_recv_msg(eng, &msg, &status, NULL);
    }
}

/* The sparse exchange (see nbx): send the non-empty outboxes, receive
 * until they are matched, then reduce loc into glob while receiving; when
 * the reduction completes every rank's sends were matched, so every message
 * of this window is in.  A neighbour that is already past the reduction may
 * send its next window's events meanwhile: they are later than this
 * window's end and simply wait in the queue. */
static void cx_engine_exchange_sparse(cx_engine_t *eng, const int64_t *loc, int64_t *glob)
{
    MPI_Request red;
    int         i, n = 0, done = 0;
    for (i = 0; i < eng->n_send; i++) {
        if (eng->out[i].n > 0) cx_engine_send_outbox(eng, i, 1, &eng->reqs[n++]);
    }
    while (!done) {
        cx_engine_recv_any(eng);
        MPI_Testall(n, eng->reqs, &done, MPI_STATUSES_IGNORE);
    }
    MPI_Iallreduce(loc, glob, 1, eng->red_type, eng->red_op, eng->comm, &red);
    done = 0;
    while (!done) {
        cx_engine_recv_any(eng);
        MPI_Test(&red, &done, MPI_STATUS_IGNORE);
    }
    for (i = 0; i < eng->n_send; i++) eng->out[i].n = 0;
}

static void cx_engine_progress(cx_engine_t *eng, cx_time_t T, uint64_t global_events,
                               int64_t work, double elapsed, int final)
{
    int    tty  = isatty(STDERR_FILENO);
    double rate = elapsed > 0 ? (double)global_events / elapsed : 0.0;
    char   eta[64];
    if (eng->cfg.progress_work_total > 0 && !final) {
        /* The total is an estimate: past it, say "finishing" rather than
         * a share above 100%. */
        double frac = (double)work / (double)eng->cfg.progress_work_total;
        if (frac > 0 && frac < 0.995) {
            snprintf(eta, sizeof(eta), "%5.1f%% done  ETA %.0f s", 100.0 * frac,
                     elapsed * (1.0 - frac) / frac);
        } else if (frac >= 0.995) {
            snprintf(eta, sizeof(eta), "finishing");
        } else {
            snprintf(eta, sizeof(eta), "%5.1f%% done", 100.0 * frac);
        }
    } else if (eng->end_time != CX_TIME_MAX && T > 0 && T < eng->end_time) {
        double frac = (double)T / (double)eng->end_time;
        snprintf(eta, sizeof(eta), "%5.1f%%  ETA %.0f s", 100.0 * frac, elapsed * (1.0 - frac) / frac);
    } else {
        snprintf(eta, sizeof(eta), "%s", final ? (eng->stats.stopped ? "stopped" : "done") : "");
    }
    fprintf(stderr, "%s[%s] sim %.6f s  events %llu  %.3g ev/s  wall %.1f s  %s%s",
            tty ? "\r" : "", eng->cfg.progress_label, cx_time_to_s(T > eng->end_time ? eng->end_time : T),
            (unsigned long long)global_events, rate, elapsed, eta, tty ? "   " : "\n");
    if (tty && final) fputc('\n', stderr);
    fflush(stderr);
}

/* End a window: start its reduction and exchange the outboxes with the
 * neighbours meanwhile.  Every event pending after the exchange was in some
 * rank's queue or outbox before it, so the minimum over (queue, outbox) of
 * every rank is the global next time, and the reduction need not wait for
 * the exchange. */
static void cx_engine_sync_start(cx_engine_t *eng)
{
    int64_t              *loc = eng->red_loc[eng->red_started % (uint64_t)eng->lag];
    double                ts  = MPI_Wtime();
    const cx_heap_item_t *top = cx_bq_top(&eng->q);
    loc[0] = top != NULL ? top->k0 : CX_TIME_MAX;
    if (eng->out_min < loc[0]) loc[0] = eng->out_min;
    eng->out_min = CX_TIME_MAX;
    loc[1] = (eng->stop_req || cx_stop_signal) ? 1 : 0;
    loc[2] = (int64_t)eng->n_events;
    loc[3] = eng->cfg.progress_work != NULL ? eng->cfg.progress_work(eng->cfg.progress_ctx)
                                            : (int64_t)eng->n_events;
    loc[4] = eng->cfg.window_pending != NULL ? (int64_t)(eng->cfg.window_pending(eng->cfg.window_ctx) >> 1)
                                             : 0;
    eng->red_wend[eng->red_started % (uint64_t)eng->lag] = eng->window_end;
    if (eng->nbx) {
        eng->red_req[eng->red_started % (uint64_t)eng->lag] = MPI_REQUEST_NULL;
        cx_engine_exchange_sparse(eng, loc, eng->red_glob[eng->red_started % (uint64_t)eng->lag]);
        eng->red_started++;
    } else if (eng->piggy) {
        int64_t *glob = eng->red_glob[eng->red_started % (uint64_t)eng->lag];
        int      i;
        memcpy(glob, loc, CX_RED_N * sizeof(*loc));
        for (i = 0; i < eng->n_send; i++) memcpy(&eng->out[i].buf[0], loc, CX_RED_N * sizeof(*loc));
        eng->red_req[eng->red_started % (uint64_t)eng->lag] = MPI_REQUEST_NULL;
        eng->red_started++;
        cx_engine_exchange(eng, glob);
    } else {
        MPI_Iallreduce(loc, eng->red_glob[eng->red_started % (uint64_t)eng->lag], 1, eng->red_type,
                       eng->red_op, eng->comm, &eng->red_req[eng->red_started % (uint64_t)eng->lag]);
        eng->red_started++;
        cx_engine_exchange(eng, NULL);
    }
    eng->sync_seconds += MPI_Wtime() - ts;
}

/* The reduction to act on now, or NULL while none is due.  In a busy
 * stretch (the last minimum seen was within one lookahead of its window's
 * end), the oldest in flight once `lag` have been started since it was; in
 * an idle stretch, or when draining, the newest after waiting for all, so
 * idle time is skipped at once.  The choice depends only on reduced values,
 * so every rank makes the same one. */
static const int64_t *cx_engine_sync_result(cx_engine_t *eng, int drain)
{
    const int64_t *glob = NULL;
    uint64_t       n;
    double         ts;
    if (eng->red_used >= eng->red_started) return NULL;
    if (!drain && !eng->sparse && eng->red_started - eng->red_used < (uint64_t)eng->lag) return NULL;
    ts = MPI_Wtime();
    do {
        n = eng->red_used++;
        MPI_Wait(&eng->red_req[n % (uint64_t)eng->lag], MPI_STATUS_IGNORE);
        glob = eng->red_glob[n % (uint64_t)eng->lag];
    } while ((drain || eng->sparse) && eng->red_used < eng->red_started);
    eng->sparse = glob[0] == CX_TIME_MAX || glob[0] - eng->red_wend[n % (uint64_t)eng->lag] >= eng->lookahead;
    eng->sync_seconds += MPI_Wtime() - ts;
    return glob;
}

cx_status_t cx_engine_run(cx_engine_t *eng, cx_err_t *err)
{
    double         t0 = MPI_Wtime(), last_print = t0;
    const int64_t *glob;
    int            printed = 0;
    cx_time_t      T;
    (void)err;

    /* Deliver events scheduled across ranks during set-up, and wait for
     * the first minimum. */
    cx_engine_sync_start(eng);
    glob = cx_engine_sync_result(eng, 1);
    T    = glob[0];
    eng->window_end = T;
    eng->running    = 1;
    for (;;) {
        if (glob != NULL) {
            /* A reduction came in: the same one on every rank. */
            if (eng->rank == 0 && eng->cfg.progress_seconds > 0) {
                double now = MPI_Wtime();
                if (now - last_print >= eng->cfg.progress_seconds) {
                    cx_engine_progress(eng, eng->window_end, (uint64_t)glob[2], glob[3], now - t0, 0);
                    last_print = now;
                    printed    = 1;
                }
            }
            if (glob[1] != 0) {
                eng->stats.stopped = 1;
                break;
            }
            /* Halved so the backlog fits the signed reduction. */
            if (eng->cfg.window_hook != NULL && (uint64_t)glob[4] >= eng->cfg.window_threshold / 2 &&
                eng->cfg.window_hook(eng->cfg.window_ctx) != 0) {
                eng->stop_req = 1;
            }
            /* Every event pending now is at or after both the last window's
             * end and this (possibly older) minimum. */
            T = glob[0];
        }
        if (T < eng->window_end) T = eng->window_end;
        if (T >= eng->end_time || T == CX_TIME_MAX) break;
        eng->window_end = (T > CX_TIME_MAX - eng->lookahead) ? CX_TIME_MAX : T + eng->lookahead;
        if (eng->window_end > eng->end_time) eng->window_end = eng->end_time;
        cx_engine_process_window(eng);
        eng->windows++;
        cx_engine_sync_start(eng);
        glob = cx_engine_sync_result(eng, 0);
    }
    /* Reductions still in flight: the same number on every rank. */
    while (cx_engine_sync_result(eng, 1) != NULL) {
    }
    eng->running = 0;

    {
        double   wall = MPI_Wtime() - t0;
        uint64_t u_sum[3], u_in[3];
        int64_t  i_in[2], i_max[2];
        double   d_in[2], d_out[2];
        uint64_t rss = cx_mem_peak_rss();
        cx_engine_stats_t *s = &eng->stats;

        u_in[0] = eng->n_events;
        u_in[1] = eng->n_remote;
        u_in[2] = eng->digest;
        MPI_Allreduce(u_in, u_sum, 3, MPI_UINT64_T, MPI_SUM, eng->comm);
        i_in[0] = eng->last_time;
        i_in[1] = (int64_t)eng->pool.peak_in_use;
        MPI_Allreduce(i_in, i_max, 2, MPI_INT64_T, MPI_MAX, eng->comm);
        d_in[0] = wall;
        d_in[1] = wall > 0 ? eng->sync_seconds / wall : 0.0;
        MPI_Allreduce(d_in, d_out, 1, MPI_DOUBLE, MPI_MAX, eng->comm);
        MPI_Allreduce(&d_in[1], &d_out[1], 1, MPI_DOUBLE, MPI_SUM, eng->comm);
        MPI_Allreduce(&rss, &s->peak_rss_min, 1, MPI_UINT64_T, MPI_MIN, eng->comm);
        MPI_Allreduce(&rss, &s->peak_rss_max, 1, MPI_UINT64_T, MPI_MAX, eng->comm);
        MPI_Allreduce(&rss, &s->peak_rss_sum, 1, MPI_UINT64_T, MPI_SUM, eng->comm);
        MPI_Allreduce(&d_in[1], &s->sync_share_min, 1, MPI_DOUBLE, MPI_MIN, eng->comm);
        MPI_Allreduce(&d_in[1], &s->sync_share_max, 1, MPI_DOUBLE, MPI_MAX, eng->comm);
        MPI_Allreduce(&eng->n_events, &s->events_rank_min, 1, MPI_UINT64_T, MPI_MIN, eng->comm);
        MPI_Allreduce(&eng->n_events, &s->events_rank_max, 1, MPI_UINT64_T, MPI_MAX, eng->comm);
        s->ranks            = eng->nranks;
        s->events           = u_sum[0];
        s->remote_events    = u_sum[1];
        s->digest           = u_sum[2];
        s->windows          = eng->windows;
        memcpy(s->probe_windows, eng->probe_win, sizeof(s->probe_windows));
        s->last_event_time  = i_max[0];
        s->peak_pending_max = (uint64_t)i_max[1];
        s->wall_seconds     = d_out[0];
        s->sync_share       = d_out[1] / eng->nranks;
        if (eng->rank == 0 && printed) {
            cx_engine_progress(eng, s->last_event_time, s->events, 0, s->wall_seconds, 1);
        }
    }
    return CX_OK;
}

void cx_engine_stats_print(const cx_engine_stats_t *s, FILE *out)
{
    double mib = 1024.0 * 1024.0;
    fprintf(out, "engine: ranks %d, events %llu, windows %llu (%.1f events/window), "
                 "remote %.2f%%, sync %.1f%% of wall, wall %.3f s, %.3g events/s\n",
            s->ranks, (unsigned long long)s->events, (unsigned long long)s->windows,
            s->windows ? (double)s->events / (double)s->windows : 0.0,
            s->events ? 100.0 * (double)s->remote_events / (double)s->events : 0.0,
            100.0 * s->sync_share, s->wall_seconds,
            s->wall_seconds > 0 ? (double)s->events / s->wall_seconds : 0.0);
    fprintf(out, "engine: peak memory per rank min %.1f / mean %.1f / max %.1f MiB, "
                 "peak pending events %llu, digest %016llx%s\n",
            (double)s->peak_rss_min / mib, (double)s->peak_rss_sum / mib / s->ranks,
            (double)s->peak_rss_max / mib, (unsigned long long)s->peak_pending_max,
            (unsigned long long)s->digest, s->stopped ? " (stopped early)" : "");
    if (s->ranks > 1) {
        /* The busiest rank sets the pace: the others wait for it at every
         * window's end, which the sync share above counts. */
        char part[64];
        if (s->segments > 0) snprintf(part, sizeof(part), "cyclic (%llu segments)", (unsigned long long)s->segments);
        else snprintf(part, sizeof(part), "contiguous");
        fprintf(out, "engine: partition %s, events per rank min %llu / max %llu (imbalance: max %.3f x the mean), "
                     "sync per rank min %.1f%% / max %.1f%%\n", part,
                (unsigned long long)s->events_rank_min, (unsigned long long)s->events_rank_max,
                s->events ? (double)s->events_rank_max * s->ranks / (double)s->events : 0.0,
                100.0 * s->sync_share_min, 100.0 * s->sync_share_max);
    }
}
