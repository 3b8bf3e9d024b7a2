/* Synthetic traffic patterns over the fabric model (see cx_traffic.h). */
#include "cx_traffic.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The partition is the one $COLOSSIM_PARTITION asks for
 * (cx_topo_part_make_env), the same plan and model use. */
cx_status_t cx_net_engine_create(cx_engine_t **eng_p, const cx_topo_t *topo, uint64_t job_gpus,
                                 MPI_Comm comm, const cx_engine_config_t *tmpl, int64_t *lookahead_ps_p,
                                 cx_err_t *err)
{
    cx_engine_config_t ecfg = *tmpl;
    cx_engine_t       *eng  = NULL;
    cx_topo_part_t     part;
    int64_t            la = 0;
    int                nranks, rank, i, n_nb = 0;
    int               *nb_flag = NULL, *nb = NULL;
    cx_status_t        st;

    MPI_Comm_size(comm, &nranks);
    MPI_Comm_rank(comm, &rank);
    memset(&part, 0, sizeof(part));
    st = cx_topo_part_make_env(topo, nranks, job_gpus, &part, err);
    if (st != CX_OK) goto out;
    la = part.lookahead_ps;
    /* One rank: no cut link; the window length then only paces progress. */
    if (la == INT64_MAX || la <= 0) la = CX_PS_PER_US;
    ecfg.comm             = comm;
    ecfg.n_entities       = cx_topo_num_devices(topo);
    ecfg.range_first      = NULL;
    ecfg.n_seg            = part.nseg;
    ecfg.seg_first        = part.seg_first;
    ecfg.seg_rank         = part.seg_rank;
    if (!part.cyclic) {
        /* Contiguous: one segment per rank, the engine's plain ranges. */
        ecfg.range_first = part.seg_first;
        ecfg.n_seg       = 0;
    }
    ecfg.lookahead        = la;
    if (ecfg.end_time <= 0) ecfg.end_time = CX_TIME_MAX;
    if (rank != 0) ecfg.progress_seconds = 0.0;
    st = cx_engine_create(&eng, &ecfg, err);
    if (st != CX_OK) goto out;

    /* Neighbours: ranks owning the far end of any local link. */
    nb_flag = calloc((size_t)nranks, sizeof(int));
    nb      = malloc((size_t)nranks * sizeof(int));
    if (nb_flag == NULL || nb == NULL) {
        st = cx_err_set(err, CX_ERR_NOMEM, NULL, 0, NULL, "out of memory");
        goto out;
    }
    cx_topo_part_neighbours(topo, &part, rank, nb_flag);
    for (i = 0; i < nranks; i++) {
        if (nb_flag[i] && i != rank) nb[n_nb++] = i;
    }
    st = cx_engine_set_neighbors(eng, nb, n_nb, err);
out:
    free(nb_flag);
    free(nb);
    cx_topo_part_free(&part);
    if (st != CX_OK) {
        cx_engine_destroy(eng);
        return st;
    }
    *lookahead_ps_p = la;
    *eng_p          = eng;
    return CX_OK;
}

typedef struct cx_traffic_gpu {
    uint64_t  expected;   /* bytes this GPU will receive */
    uint64_t  received;
    cx_time_t done;       /* when the last expected byte arrived */
} cx_traffic_gpu_t;

static void cx_traffic_on_recv(cx_engine_t *eng, cx_net_dev_t *gpu, const cx_net_chunk_t *c)
{
    cx_traffic_gpu_t *g = gpu->upper;
    g->received += c->bytes;
    if (g->received == g->expected) g->done = cx_engine_now(eng);
}

static void cx_traffic_on_txdone(cx_engine_t *eng, cx_net_dev_t *gpu, const cx_net_txdone_t *d)
{
    (void)eng; (void)gpu; (void)d;
}

static const cx_handler_fn    cx_traffic_gpu_handlers[] = {cx_net_handle_chunk, cx_net_handle_txdone};
static const cx_entity_type_t cx_traffic_gpu_type       = {"gpu", cx_traffic_gpu_handlers, 2};

static uint64_t cx_traffic_domain(const cx_topo_t *topo, uint64_t gpu)
{
    cx_gpu_info_t gi;
    cx_topo_gpu_info(topo, cx_topo_gpu_device(topo, gpu), &gi);
    return gi.domain;
}

/* Destination permutation: a seeded shuffle in which no GPU sends to its own
 * NVLink domain (so every flow crosses the scale-out fabric), when the set
 * spans more than one domain; otherwise just no fixed points. */
static uint64_t *cx_traffic_permutation(const cx_topo_t *topo, uint64_t n, uint64_t seed)
{
    uint64_t *perm = malloc(n * sizeof(uint64_t));
    cx_rng_t  r;
    uint64_t  i, tries;
    int       cross = cx_traffic_domain(topo, 0) != cx_traffic_domain(topo, n - 1);
    if (perm == NULL) return NULL;
    cx_rng_init(&r, seed, UINT64_C(0xfeedbeef));
    for (i = 0; i < n; i++) perm[i] = i;
    for (i = n - 1; i > 0; i--) {
        uint64_t j = cx_rng_below(&r, i + 1), t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
    for (i = 0; i < n; i++) {
        for (tries = 0; tries < 64 * n; tries++) {
            uint64_t j, t;
            int bad_i = cross ? cx_traffic_domain(topo, i) == cx_traffic_domain(topo, perm[i]) : perm[i] == i;
            if (!bad_i) break;
            /* Swap with a random slot if that fixes i and keeps j valid. */
            j = cx_rng_below(&r, n);
            if (cross ? (cx_traffic_domain(topo, i) != cx_traffic_domain(topo, perm[j]) &&
                         cx_traffic_domain(topo, j) != cx_traffic_domain(topo, perm[i]))
                      : (perm[j] != i && perm[i] != j)) {
                t       = perm[i];
                perm[i] = perm[j];
                perm[j] = t;
            }
        }
    }
    return perm;
}

static int cx_cmp_time(const void *a, const void *b)
{
    cx_time_t x = *(const cx_time_t *)a, y = *(const cx_time_t *)b;
    return (x > y) - (x < y);
}

/* One traffic run: the engine, the fabric and the GPUs this rank holds. */
typedef struct cx_traffic_run_state {
    const cx_topo_t           *topo;
    const cx_traffic_config_t *cfg;
    MPI_Comm                   comm;
    cx_engine_t               *eng;
    cx_net_t                  *net;
    cx_traffic_gpu_t          *gs;
    uint64_t                  *perm;
    cx_topo_summary_t          sum;
    uint64_t                   n, count, n_local_recv;
    int                        rank, nranks;
} cx_traffic_run_state_t;

/* Expected bytes per receiver and the sends at t = 0. */
static void cx_traffic_start(cx_traffic_run_state_t *S)
{
    const cx_traffic_config_t *cfg = S->cfg;
    const cx_topo_t           *topo = S->topo;
    uint64_t                   i, n = S->n, ring_step;
    for (i = 0; i < n; i++) {
        uint64_t          dev = cx_topo_gpu_device(topo, i);
        cx_net_dev_t     *d   = cx_net_local_dev(S->net, dev);
        cx_traffic_gpu_t *gs;
        if (d == NULL) continue;
        gs       = &S->gs[cx_engine_local_index(S->eng, dev)];
        d->upper = gs;
        switch (cfg->pattern) {
        case CX_PAT_PERMUTATION: case CX_PAT_RING: gs->expected = cfg->bytes; break;
        case CX_PAT_ALLTOALL: gs->expected = cfg->bytes * (n - 1); break;
        case CX_PAT_INCAST: gs->expected = i == 0 ? cfg->bytes * (n - 1) : 0; break;
        }
        if (gs->expected > 0) S->n_local_recv++;
    }
    /* Ring: to the same local GPU of the next NVLink domain (rail-aligned),
     * or the next GPU when the set is one domain. */
    ring_step = (S->sum.nvlink_domains > 0 && n > S->sum.gpus / S->sum.nvlink_domains)
                    ? S->sum.gpus / S->sum.nvlink_domains : 1;
    for (i = 0; i < n; i++) {
        uint64_t     dev = cx_topo_gpu_device(topo, i);
        cx_entity_t *e   = cx_engine_entity(S->eng, dev);
        uint64_t     k;
        if (e == NULL) continue;
        switch (cfg->pattern) {
        case CX_PAT_PERMUTATION:
            cx_net_send(S->eng, e, cx_topo_gpu_device(topo, S->perm[i]), cfg->bytes, i, 0, 0);
            break;
        case CX_PAT_RING:
            cx_net_send(S->eng, e, cx_topo_gpu_device(topo, (i + ring_step) % n), cfg->bytes, i, 0, 0);
            break;
        case CX_PAT_ALLTOALL:
            /* Pairwise order (i+k) spreads destinations as NCCL's alltoall does. */
            for (k = 1; k < n; k++) {
                cx_net_send(S->eng, e, cx_topo_gpu_device(topo, (i + k) % n), cfg->bytes, i, (uint32_t)k, 0);
            }
            break;
        case CX_PAT_INCAST:
            if (i != 0) cx_net_send(S->eng, e, cx_topo_gpu_device(topo, 0), cfg->bytes, i, 0, 0);
            break;
        }
    }
}

/* Receiver completion times -> rank 0 for percentiles, then to every rank. */
static cx_status_t cx_traffic_completions(cx_traffic_run_state_t *S, cx_traffic_result_t *res, cx_err_t *err)
{
    cx_time_t  *done_local = malloc((S->n_local_recv > 0 ? S->n_local_recv : 1) * sizeof(cx_time_t));
    cx_time_t  *done_all   = NULL;
    int        *counts     = malloc((size_t)S->nranks * sizeof(int));
    int        *displs     = malloc((size_t)S->nranks * sizeof(int));
    uint64_t    i, k = 0;
    int         c, my = 0, total = 0;
    cx_status_t st = CX_OK;
    if (done_local == NULL || counts == NULL || displs == NULL) {
        st = cx_err_set(err, CX_ERR_NOMEM, NULL, 0, NULL, "out of memory");
        goto out;
    }
    for (i = 0; i < S->count; i++) {
        if (S->gs[i].expected == 0) continue;
        if (S->gs[i].received != S->gs[i].expected) {
            cx_fatal("GPU device %llu received %llu of %llu bytes", (unsigned long long)cx_engine_local_id(S->eng, i),
                     (unsigned long long)S->gs[i].received, (unsigned long long)S->gs[i].expected);
        }
        done_local[k++] = S->gs[i].done;
    }
    my = (int)k;
    MPI_Gather(&my, 1, MPI_INT, counts, 1, MPI_INT, 0, S->comm);
    if (S->rank == 0) {
        for (c = 0; c < S->nranks; c++) {
            displs[c] = total;
            total += counts[c];
        }
        done_all = malloc((size_t)(total > 0 ? total : 1) * sizeof(cx_time_t));
        if (done_all == NULL) cx_fatal("out of memory gathering completion times");
    }
    MPI_Gatherv(done_local, my, MPI_INT64_T, done_all, counts, displs, MPI_INT64_T, 0, S->comm);
    if (S->rank == 0 && total > 0) {
        qsort(done_all, (size_t)total, sizeof(cx_time_t), cx_cmp_time);
        res->makespan = done_all[total - 1];
        res->p50_us   = (double)done_all[(size_t)(0.50 * (total - 1))] * 1e-6;
        res->p90_us   = (double)done_all[(size_t)(0.90 * (total - 1))] * 1e-6;
        res->p99_us   = (double)done_all[(size_t)(0.99 * (total - 1))] * 1e-6;
        res->max_us   = (double)res->makespan * 1e-6;
    }
    MPI_Bcast(&res->makespan, 1, MPI_INT64_T, 0, S->comm);
    MPI_Bcast(&res->p50_us, 4, MPI_DOUBLE, 0, S->comm);
out:
    free(done_all);
    free(done_local);
    free(counts);
    free(displs);
    return st;
}

/* Flows, bytes, throughput and the mean over receivers of ideal / actual
 * (ideal = expected / injection_bw). */
static void cx_traffic_throughput(const cx_traffic_run_state_t *S, cx_traffic_result_t *res)
{
    const cx_traffic_config_t *cfg = S->cfg;
    uint64_t                   i, n = S->n;
    double                     loc[2] = {0, 0}, glob[2];
    res->gpus         = n;
    res->injection_bw = S->sum.injection_bw;
    switch (cfg->pattern) {
    case CX_PAT_PERMUTATION: case CX_PAT_RING: res->flows = n; break;
    case CX_PAT_ALLTOALL: res->flows = n * (n - 1); break;
    case CX_PAT_INCAST: res->flows = n - 1; break;
    }
    res->bytes_total = res->flows * cfg->bytes;
    if (res->makespan > 0) {
        /* Senders inject at most injection_bw each; incast is bound by one receiver. */
        double senders = cfg->pattern == CX_PAT_INCAST ? 1.0 : (double)n;
        res->throughput_fraction = (double)res->bytes_total / cx_time_to_s(res->makespan) /
                                   (senders * res->injection_bw);
    }
    for (i = 0; i < S->count; i++) {
        if (S->gs[i].expected == 0 || S->gs[i].done <= 0) continue;
        double ideal = (double)S->gs[i].expected / res->injection_bw;
        loc[0] += ideal / cx_time_to_s(S->gs[i].done);
        loc[1] += 1.0;
    }
    MPI_Allreduce(loc, glob, 2, MPI_DOUBLE, MPI_SUM, S->comm);
    res->mean_flow_fraction = glob[1] > 0 ? glob[0] / glob[1] : 0.0;
}

/* Link utilization per class over ports that carried traffic. */
static void cx_traffic_link_use(const cx_traffic_run_state_t *S, cx_traffic_result_t *res)
{
    double   loc_sum[CX_NET_CLASSES * 3], glob_sum[CX_NET_CLASSES * 3];
    double   loc_max[CX_NET_CLASSES], glob_max[CX_NET_CLASSES];
    double   span = cx_time_to_s(res->makespan);
    uint64_t i;
    int      c;
    memset(loc_sum, 0, sizeof(loc_sum));
    memset(loc_max, 0, sizeof(loc_max));
    for (i = 0; i < S->count; i++) {
        cx_net_dev_t *d = cx_net_local_dev_at(S->net, i);
        uint32_t      p;
        for (p = 0; p < d->n_ports; p++) {
            cx_net_port_t *pp = &d->ports[p];
            int            cl;
            double         u;
            if (pp->bytes_tx == 0) continue;
            cl = cx_net_port_class(d, pp);
            u  = span > 0 ? (double)pp->bytes_tx * pp->ps_per_byte * 1e-12 / span : 0.0;
            loc_sum[cl * 3 + 0] += 1.0;
            loc_sum[cl * 3 + 1] += (double)pp->bytes_tx;
            loc_sum[cl * 3 + 2] += u;
            if (u > loc_max[cl]) loc_max[cl] = u;
        }
    }
    MPI_Allreduce(loc_sum, glob_sum, CX_NET_CLASSES * 3, MPI_DOUBLE, MPI_SUM, S->comm);
    MPI_Allreduce(loc_max, glob_max, CX_NET_CLASSES, MPI_DOUBLE, MPI_MAX, S->comm);
    for (c = 0; c < CX_NET_CLASSES; c++) {
        res->cls[c].ports     = (uint64_t)glob_sum[c * 3 + 0];
        res->cls[c].bytes     = (uint64_t)glob_sum[c * 3 + 1];
        res->cls[c].util_mean = glob_sum[c * 3 + 0] > 0 ? glob_sum[c * 3 + 2] / glob_sum[c * 3 + 0] : 0;
        res->cls[c].util_max  = glob_max[c];
    }
}

/* On the engine: the fabric, the GPUs' state and (permutation) the pairing. */
static cx_status_t cx_traffic_build(cx_traffic_run_state_t *S, cx_err_t *err)
{
    const cx_traffic_config_t *cfg = S->cfg;
    CX_TRY(cx_net_create(&S->net, S->eng, S->topo, &cfg->net, &cx_traffic_gpu_type, cx_traffic_on_recv,
                         cx_traffic_on_txdone, err));
    S->count = cx_net_local_count(S->net);
    S->gs    = calloc(S->count > 0 ? S->count : 1, sizeof(*S->gs));
    if (S->gs == NULL) return cx_err_set(err, CX_ERR_NOMEM, NULL, 0, NULL, "out of memory");
    if (cfg->pattern == CX_PAT_PERMUTATION) {
        S->perm = cx_traffic_permutation(S->topo, S->n, cfg->seed);
        if (S->perm == NULL) return cx_err_set(err, CX_ERR_NOMEM, NULL, 0, NULL, "out of memory");
    }
    return CX_OK;
}

cx_status_t cx_traffic_run(const cx_topo_t *topo, const cx_traffic_config_t *cfg, MPI_Comm comm,
                           cx_traffic_result_t *res, cx_err_t *err)
{
    cx_traffic_run_state_t S;
    uint64_t               n;
    cx_status_t            st;

    memset(res, 0, sizeof(*res));
    memset(&S, 0, sizeof(S));
    S.topo = topo;
    S.cfg  = cfg;
    S.comm = comm;
    MPI_Comm_rank(comm, &S.rank);
    MPI_Comm_size(comm, &S.nranks);
    cx_topo_summary(topo, &S.sum);
    n = S.n = cfg->gpus > 0 ? cfg->gpus : cx_topo_num_gpus(topo);
    if (n < 2 || n > cx_topo_num_gpus(topo)) {
        return cx_err_set(err, CX_ERR_RANGE, NULL, 0, "gpus",
                          "need 2 .. %llu GPUs (the topology has %llu)",
                          (unsigned long long)cx_topo_num_gpus(topo),
                          (unsigned long long)cx_topo_num_gpus(topo));
    }
    if (cfg->bytes == 0) return cx_err_set(err, CX_ERR_RANGE, NULL, 0, "bytes", "must be > 0");
    /* All GPUs in the set must share one fabric. */
    if (!cx_topo_gpus_one_fabric(topo, n)) {
        return cx_err_set(err, CX_ERR_INVALID, NULL, 0, "gpus",
                          "the first %llu GPUs span two fabrics; pick at most the first fabric's GPUs",
                          (unsigned long long)n);
    }
    {
        cx_engine_config_t tmpl = {0};
        tmpl.seed             = cfg->seed;
        tmpl.progress_seconds = cfg->progress_seconds;
        tmpl.progress_label   = "traffic";
        st = cx_net_engine_create(&S.eng, topo, n, comm, &tmpl, &res->lookahead_ps, err);
    }
    if (st != CX_OK) return st;
    st = cx_traffic_build(&S, err);
    if (st == CX_OK) {
        cx_traffic_start(&S);
        st = cx_engine_run(S.eng, err);
    }
    if (st == CX_OK) {
        res->engine = *cx_engine_stats(S.eng);
        st          = cx_traffic_completions(&S, res, err);
    }
    if (st == CX_OK) {
        cx_traffic_throughput(&S, res);
        cx_traffic_link_use(&S, res);
    }
    free(S.perm);
    free(S.gs);
    cx_net_destroy(S.net);
    cx_engine_destroy(S.eng);
    return st;
}
