/*
 * The inference and RL kinds inside a run (cx_run_kind.h).  Each rank builds
 * the step tables of the instances its GPUs serve (RL: of every step), and
 * the per-stream op sources walk their GPU's whole program a unit at a time
 * (a layer, a section), counting every stream's ops for the WAITs and
 * keeping their own stream's.  The observer wraps cx_run_observe: it also
 * keeps each instance's step end times (on the instance's first GPU) and the
 * RL phases' first start / last end per step; the reduction turns them into
 * TTFT / TPOT percentiles and the RL step split, the same at any rank count
 * (integer picoseconds; percentiles of the gathered, sorted values).
 */
#include "cx_run_kind.h"

#include <json-c/json.h>
#include <stddef.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cx_infer.h"

enum { RL_ROLL_B = 0, RL_REW_B, RL_TR_B, RL_NMIN };              /* minimum of starts */
enum { RL_ROLL_E = 0, RL_REW_E, RL_SMP_E, RL_TR_E, RL_SY_E, RL_NMAX }; /* maximum of ends */

typedef struct kind_table {
    cx_infer_step_t *steps;
    uint64_t         n;
    cx_time_t       *end;    /* inference: step end times (instance's first GPU) */
    int              seen;   /* that GPU is on this rank */
} kind_table_t;

struct cx_kind_run {
    cx_run_ctx_t        *c;
    const cx_workload_t *w;
    const cx_wl_infer_t *x;       /* the inference part (the rollout of RL) */
    cx_time_t            start;
    uint32_t             inst_lo, n_inst, n_steps; /* tables: [step][inst - inst_lo] */
    kind_table_t        *t;
    cx_time_t           *rl_min, *rl_max;          /* [step][RL_N*] */
};

/* ---- tables ------------------------------------------------------------------ */

static const cx_infer_step_t *kind_steps(const void *ctx, uint32_t step, uint32_t inst, uint64_t *n_p)
{
    const cx_kind_run_t *k = ctx;
    const kind_table_t  *t;
    if (inst < k->inst_lo || inst - k->inst_lo >= k->n_inst || step >= k->n_steps)
        cx_fatal("no step table for instance %u step %u on this rank", inst, step);
    t    = &k->t[(uint64_t)step * k->n_inst + (inst - k->inst_lo)];
    *n_p = t->n;
    return t->steps;
}

cx_status_t cx_kind_run_create(cx_kind_run_t **k_p, cx_run_ctx_t *c, cx_time_t start, cx_err_t *err)
{
    const cx_workload_t *w   = c->w;
    cx_kind_run_t       *k   = calloc(1, sizeof(*k));
    uint64_t             off = w->kind == CX_WL_RL ? w->rl->n_train : 0, lo = c->gpu_lo, hi = c->gpu_lo + c->gpu_n;
    uint32_t             s, i;
    cx_status_t          st  = CX_OK;
    if (k == NULL) return cx_err_set(err, CX_ERR_NOMEM, NULL, 0, NULL, "out of memory");
    k->c       = c;
    k->w       = w;
    k->x       = w->kind == CX_WL_RL ? &w->rl->rollout : w->infer;
    k->start   = start;
    k->n_steps = w->kind == CX_WL_RL ? w->iterations : 1;
    if (lo < off) lo = off;
    if (hi > w->gpus) hi = w->gpus;
    if (hi > lo) {
        k->inst_lo = (uint32_t)((lo - off) / k->x->tp / k->x->ep);
        k->n_inst  = (uint32_t)((hi - 1 - off) / k->x->tp / k->x->ep) - k->inst_lo + 1;
    }
    k->t = calloc((uint64_t)k->n_steps * k->n_inst + 1, sizeof(*k->t));
    k->rl_min = malloc((uint64_t)k->n_steps * RL_NMIN * sizeof(cx_time_t));
    k->rl_max = calloc((uint64_t)k->n_steps * RL_NMAX, sizeof(cx_time_t));
    if (k->t == NULL || k->rl_min == NULL || k->rl_max == NULL) st = cx_err_set(err, CX_ERR_NOMEM, NULL, 0, NULL, "out of memory");
    for (i = 0; st == CX_OK && i < k->n_steps * RL_NMIN; i++) k->rl_min[i] = CX_TIME_MAX;
    for (s = 0; st == CX_OK && s < k->n_steps; s++) {
        uint64_t seed = w->kind == CX_WL_RL ? cx_rl_step_seed(w->rl, s) : k->x->seed;
        for (i = 0; st == CX_OK && i < k->n_inst; i++) {
            kind_table_t *t = &k->t[(uint64_t)s * k->n_inst + i];
            st = cx_infer_schedule(k->x, seed, k->inst_lo + i, &t->steps, &t->n, NULL, NULL, err);
            if (st == CX_OK && w->kind == CX_WL_INFERENCE && (t->end = calloc(t->n + 1, sizeof(cx_time_t))) == NULL)
                st = cx_err_set(err, CX_ERR_NOMEM, NULL, 0, NULL, "out of memory");
        }
    }
    if (st != CX_OK && err->file[0] == '\0') snprintf(err->file, sizeof(err->file), "%s", w->file);
    *k_p = k; /* destroyed by the caller either way */
    return st;
}

void cx_kind_run_destroy(cx_kind_run_t *k)
{
    uint64_t i;
    if (k == NULL) return;
    for (i = 0; k->t != NULL && i < (uint64_t)k->n_steps * k->n_inst; i++) {
        free(k->t[i].steps);
        free(k->t[i].end);
    }
    free(k->t);
    free(k->rl_min);
    free(k->rl_max);
    free(k);
}

/* ---- op sources ----------------------------------------------------------------- */

/* One stream's source: ~1.6 KB (the RL trainer's training generator and
 * 16 buffered ops), four per GPU.  A unit puts at most 16 ops on one
 * stream: 8 broadcasts or messages (RL pairs, at most 8 per GPU) take 16
 * on theirs, a layer 10 on the compute stream. */
#define KIND_BUF 16

typedef struct kind_src {
    const cx_kind_run_t *k;
    int                  stream, active, stage;
    uint64_t             counts[CX_NUM_STREAMS];
    uint32_t             buf_n, buf_i;
    cx_op_t              buf[KIND_BUF];
    union {
        cx_infer_pass_t pass;  /* inference */
        cx_rl_cursor_t  rl;    /* RL (its own pass inside) */
    } u;
} kind_src_t;

static cx_status_t kind_src_init(void *state, const void *ctx, uint64_t gpu, int stream, cx_err_t *err)
{
    kind_src_t          *s = state;
    const cx_kind_run_t *k = ctx;
    uint64_t             n;
    const cx_infer_step_t *st;
    (void)err;
    memset(s, 0, offsetof(kind_src_t, buf));
    s->k      = k;
    s->stream = stream;
    s->active = gpu < k->w->gpus;
    if (!s->active) return CX_OK;
    if (k->w->kind == CX_WL_RL) {
        cx_rl_cursor_init(&s->u.rl, k->w, gpu, kind_steps, k);
        return CX_OK;
    }
    st = kind_steps(k, 0, (uint32_t)(gpu / k->x->tp / k->x->ep), &n);
    cx_infer_pass_init(&s->u.pass, k->w, k->x, gpu, 0, st, n, 0);
    return CX_OK;
}

/* Inference: ITER_BEGIN, the pass, ITER_END. */
static int infer_unit(kind_src_t *s, cx_op_t *ops, uint32_t *n)
{
    cx_op_t op;
    if (s->stage == 1 && cx_infer_pass_unit(&s->u.pass, ops, n, s->counts)) return 1;
    if (s->stage >= 2) return 0;
    memset(&op, 0, sizeof(op));
    op.kind       = s->stage == 0 ? CX_OP_ITER_BEGIN : CX_OP_ITER_END;
    op.stream     = CX_STREAM_COMPUTE;
    op.layer      = CX_OP_NO_LAYER;
    op.microbatch = CX_OP_NO_MB;
    ops[(*n)++]   = op;
    s->counts[CX_STREAM_COMPUTE]++;
    s->stage++;
    return 1;
}

static int kind_src_next(void *state, cx_op_t *op)
{
    kind_src_t *s = state;
    cx_op_t     ops[CX_INFER_UNIT_MAX];
    uint32_t    n, i;
    while (s->active) {
        if (s->buf_i < s->buf_n) {
            *op = s->buf[s->buf_i++];
            return 1;
        }
        n = 0;
        if (!(s->k->w->kind == CX_WL_RL ? cx_rl_cursor_unit(&s->u.rl, ops, &n, s->counts) : infer_unit(s, ops, &n))) {
            s->active = 0;
            break;
        }
        if (n > CX_INFER_UNIT_MAX) cx_fatal("inference unit of %u ops (max %d)", n, CX_INFER_UNIT_MAX);
        s->buf_n = s->buf_i = 0;
        for (i = 0; i < n; i++) {
            if (ops[i].stream != s->stream) continue;
            if (s->buf_n == KIND_BUF) cx_fatal("more than %d ops of a unit on stream %d", KIND_BUF, s->stream);
            s->buf[s->buf_n++] = ops[i];
        }
    }
    return 0;
}

/* ---- observer ------------------------------------------------------------------- */

static void tmin(cx_time_t *a, cx_time_t v) { if (v < *a) *a = v; }
static void tmax(cx_time_t *a, cx_time_t v) { if (v > *a) *a = v; }

static void kind_observe_rl(cx_kind_run_t *k, const cx_op_record_t *rec)
{
    const cx_op_t *op = &rec->op;
    uint32_t       it = op->iteration;
    int            roll = rec->gpu >= k->w->rl->n_train;
    cx_time_t     *mn, *mx;
    if (it >= k->n_steps) return;
    mn = &k->rl_min[(uint64_t)it * RL_NMIN];
    mx = &k->rl_max[(uint64_t)it * RL_NMAX];
    if (!roll && op->kind == CX_OP_COLLECTIVE && op->cls == CX_COLL_BROADCAST && op->layer >= CX_RL_LAYER) {
        /* The root's side: done when its weights have reached the rollout
         * GPUs (a receiver that joins late finishes at once, not later). */
        tmax(&mx[RL_SY_E], rec->end);
    } else if (roll && op->kind == CX_OP_COMPUTE && op->phase == CX_PHASE_FWD) {
        tmin(&mn[RL_ROLL_B], rec->start);
        tmax(&mx[RL_ROLL_E], rec->end);
    } else if (roll && op->kind == CX_OP_COMPUTE && op->block == CX_BLK_LOSS) {
        tmin(&mn[RL_REW_B], rec->start);
        tmax(&mx[RL_REW_E], rec->end);
    } else if (!roll && op->kind == CX_OP_RECV && op->block == CX_BLK_SYNC) {
        tmax(&mx[RL_SMP_E], rec->end);
    } else if (!roll && op->kind == CX_OP_ITER_BEGIN) {
        tmin(&mn[RL_TR_B], rec->start);
    } else if (!roll && op->kind == CX_OP_ITER_END) {
        tmax(&mx[RL_TR_E], rec->end);
    }
}

static void kind_observe(void *vctx, const cx_op_record_t *rec)
{
    cx_kind_run_t *k = vctx;
    cx_run_observe(k->c, rec);
    if (k->w->kind == CX_WL_RL) {
        kind_observe_rl(k, rec);
    } else if (rec->op.kind == CX_OP_COMPUTE && rec->op.block == CX_BLK_LM_HEAD &&
               rec->gpu % ((uint64_t)k->x->tp * k->x->ep) == 0) {
        uint32_t      inst = (uint32_t)(rec->gpu / k->x->tp / k->x->ep);
        kind_table_t *t;
        if (inst < k->inst_lo || inst - k->inst_lo >= k->n_inst) return;
        t = &k->t[inst - k->inst_lo];
        t->seen = 1;
        if (rec->op.microbatch < t->n) t->end[rec->op.microbatch] = rec->end;
    }
}

void cx_kind_run_hook(cx_kind_run_t *k, cx_gpu_config_t *gcfg)
{
    gcfg->source.state_size = sizeof(kind_src_t);
    gcfg->source.init       = kind_src_init;
    gcfg->source.next       = kind_src_next;
    gcfg->source.ctx        = k;
    gcfg->observer          = kind_observe;
    gcfg->observer_ctx      = k;
}

/* ---- figures -------------------------------------------------------------------- */

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* All ranks' values on rank 0, sorted; NULL elsewhere (*n_p: the total). */
static int64_t *gather_sorted(const int64_t *v, int n, int *n_p, MPI_Comm comm)
{
    int      rank, size, i, tot = 0;
    int     *cnt, *dsp;
    int64_t *all = NULL;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &size);
    cnt = calloc((size_t)size, sizeof(int));
    dsp = calloc((size_t)size, sizeof(int));
    if (cnt == NULL || dsp == NULL) cx_fatal("out of memory");
    MPI_Allgather(&n, 1, MPI_INT, cnt, 1, MPI_INT, comm);
    for (i = 0; i < size; i++) {
        dsp[i] = tot;
        tot += cnt[i];
    }
    if (rank == 0 && (all = malloc(((size_t)tot + 1) * sizeof(int64_t))) == NULL) cx_fatal("out of memory");
    MPI_Gatherv(v, n, MPI_INT64_T, all, cnt, dsp, MPI_INT64_T, 0, comm);
    if (rank == 0) qsort(all, (size_t)tot, sizeof(int64_t), cmp_i64);
    free(cnt);
    free(dsp);
    *n_p = tot;
    return all;
}

/* Nearest-rank percentile (seconds) and the mean of sorted ps values. */
static void pct(const int64_t *v, int n, double *p50, double *p99, double *mean)
{
    double sum = 0;
    int    i;
    *p50 = *p99 = *mean = 0;
    if (v == NULL || n == 0) return;
    for (i = 0; i < n; i++) sum += (double)v[i];
    *p50  = (double)v[(int)ceil(0.50 * n) - 1] * 1e-12;
    *p99  = (double)v[(int)ceil(0.99 * n) - 1] * 1e-12;
    *mean = sum / n * 1e-12;
}

/* Per request of this rank's instances: TTFT and TPOT (ps). */
static void infer_local(const cx_kind_run_t *k, int64_t **ttft_p, int64_t **tpot_p, int *n_p, cx_time_t *end_p)
{
    const cx_wl_infer_t *x = k->x;
    int64_t             *ttft = NULL, *tpot = NULL;
    int                  n = 0, m = 0;
    uint32_t             i;
    *end_p = 0;
    for (i = 0; i < k->n_inst; i++) m += k->t[i].seen ? (int)cx_infer_inst_requests(x, k->inst_lo + i) : 0;
    ttft = malloc(((size_t)m + 1) * sizeof(int64_t));
    tpot = malloc(((size_t)m + 1) * sizeof(int64_t));
    if (ttft == NULL || tpot == NULL) cx_fatal("out of memory");
    for (i = 0; i < k->n_inst; i++) {
        const kind_table_t *t  = &k->t[i];
        uint64_t            nr = cx_infer_inst_requests(x, k->inst_lo + i), q, p, o, ns;
        uint64_t           *first, *last;
        cx_infer_step_t    *st;
        cx_err_t            err;
        if (!t->seen) continue;
        first = malloc((nr + 1) * sizeof(uint64_t));
        last  = malloc((nr + 1) * sizeof(uint64_t));
        if (first == NULL || last == NULL ||
            cx_infer_schedule(x, x->seed, k->inst_lo + i, &st, &ns, first, last, &err) != CX_OK)
            cx_fatal("inference schedule failed after the run");
        free(st);
        if (t->n > 0 && t->end[t->n - 1] > *end_p) *end_p = t->end[t->n - 1];
        for (q = 0; q < nr; q++) {
            cx_infer_request(x, x->seed, k->inst_lo + i + q * x->instances, &p, &o);
            ttft[n] = t->end[first[q]] - k->start;
            tpot[n] = o > 1 ? (t->end[last[q]] - t->end[first[q]]) / (int64_t)(o - 1) : -1;
            n++;
        }
        free(first);
        free(last);
    }
    *ttft_p = ttft;
    *tpot_p = tpot;
    *n_p    = n;
}

static void infer_reduce(const cx_kind_run_t *k, cx_run_summary_t *s, MPI_Comm comm)
{
    cx_run_infer_summary_t *f = &s->infer;
    int64_t                *ttft, *tpot, *all;
    int                     n, tot, i, m = 0, rank;
    cx_time_t               end, end_all;
    double                  r[6];
    MPI_Comm_rank(comm, &rank);
    infer_local(k, &ttft, &tpot, &n, &end);
    MPI_Allreduce(&end, &end_all, 1, MPI_INT64_T, MPI_MAX, comm);
    all = gather_sorted(ttft, n, &tot, comm);
    pct(all, tot, &r[0], &r[1], &r[2]);
    free(all);
    for (i = 0; i < n; i++)
        if (tpot[i] >= 0) tpot[m++] = tpot[i];
    all = gather_sorted(tpot, m, &tot, comm);
    pct(all, tot, &r[3], &r[4], &r[5]);
    free(all);
    MPI_Bcast(r, 6, MPI_DOUBLE, 0, comm);
    free(ttft);
    free(tpot);
    f->ttft_p50 = r[0];
    f->ttft_p99 = r[1];
    f->ttft_mean = r[2];
    f->tpot_p50 = r[3];
    f->tpot_p99 = r[4];
    f->tpot_mean = r[5];
    f->makespan_seconds = (double)(end_all - k->start) * 1e-12;
    if (f->makespan_seconds > 0) {
        f->output_tokens_per_second = (double)f->output_tokens / f->makespan_seconds;
        f->total_tokens_per_second  = (double)(f->output_tokens + f->prompt_tokens) / f->makespan_seconds;
    }
    {
        uint64_t steps = 0, all_steps = 0;
        uint32_t i2;
        for (i2 = 0; i2 < k->n_inst; i2++) steps += k->t[i2].seen ? k->t[i2].n : 0;
        MPI_Allreduce(&steps, &all_steps, 1, MPI_UINT64_T, MPI_SUM, comm);
        f->steps = all_steps;
    }
}

/* The phases of one RL step (seconds x 1e12 added to acc[0..4]).  sync:
 * consecutive boundaries of the step's critical path -- first generation
 * op, last generation end, last reward end, the trainer holding every
 * sample, training end, broadcast end -- so with the gap before the first
 * generation op they add up to the step.  async: each phase's own extent
 * (they overlap), samples = how long the trainer waited for them after
 * its previous step. */
static void rl_split(const cx_time_t *a, const cx_time_t *b, cx_time_t prev, int async, double *acc)
{
    cx_time_t rew = b[RL_REW_E] > b[RL_ROLL_E] ? b[RL_REW_E] : b[RL_ROLL_E];
    cx_time_t sy  = b[RL_SY_E] > b[RL_TR_E] ? b[RL_SY_E] - b[RL_TR_E] : 0;
    if (!async) {
        acc[0] += (double)(b[RL_ROLL_E] - a[RL_ROLL_B]);
        acc[1] += (double)(rew - b[RL_ROLL_E]);
        acc[2] += (double)(b[RL_SMP_E] - rew);
        acc[3] += (double)(b[RL_TR_E] - b[RL_SMP_E]);
        acc[4] += (double)sy;
        return;
    }
    acc[0] += (double)(b[RL_ROLL_E] - a[RL_ROLL_B]);
    acc[1] += (double)(b[RL_REW_E] - a[RL_REW_B]);
    acc[2] += (double)(b[RL_SMP_E] > (rew > prev ? rew : prev) ? b[RL_SMP_E] - (rew > prev ? rew : prev) : 0);
    acc[3] += (double)(b[RL_TR_E] - a[RL_TR_B]);
    acc[4] += (double)sy;
}

static void rl_reduce(const cx_kind_run_t *k, cx_run_summary_t *s, double peak_flops, MPI_Comm comm)
{
    cx_run_rl_summary_t *f = &s->rl;
    uint32_t             n = k->n_steps, i, from = n >= 2 ? 1 : 0;
    cx_time_t           *mn = malloc((uint64_t)n * RL_NMIN * sizeof(cx_time_t));
    cx_time_t           *mx = malloc((uint64_t)n * RL_NMAX * sizeof(cx_time_t));
    double               acc[7] = {0, 0, 0, 0, 0, 0, 0};
    if (mn == NULL || mx == NULL) cx_fatal("out of memory");
    MPI_Allreduce(k->rl_min, mn, (int)(n * RL_NMIN), MPI_INT64_T, MPI_MIN, comm);
    MPI_Allreduce(k->rl_max, mx, (int)(n * RL_NMAX), MPI_INT64_T, MPI_MAX, comm);
    for (i = from; i < n && s->complete; i++) {
        const cx_time_t *a = &mn[(uint64_t)i * RL_NMIN], *b = &mx[(uint64_t)i * RL_NMAX];
        cx_time_t end = b[RL_TR_E] > b[RL_SY_E] ? b[RL_TR_E] : b[RL_SY_E];
        cx_time_t prev = k->start;
        if (i > 0) {
            const cx_time_t *pb = &mx[(uint64_t)(i - 1) * RL_NMAX];
            prev = pb[RL_TR_E] > pb[RL_SY_E] ? pb[RL_TR_E] : pb[RL_SY_E];
        }
        acc[0] += (double)(end - prev);
        rl_split(a, b, prev, k->w->rl->async, acc + 1);
    }
    free(mn);
    free(mx);
    if (!s->complete || n == from) return;
    for (i = 0; i < 6; i++) acc[i] /= (double)(n - from) * 1e12;
    f->step_seconds    = acc[0];
    f->rollout_seconds = acc[1];
    f->reward_seconds  = acc[2];
    f->samples_seconds = acc[3];
    f->train_seconds   = acc[4];
    f->sync_seconds    = acc[5];
    f->other_seconds   = acc[0] - acc[1] - acc[2] - acc[3] - acc[4] - acc[5];
    /* The run's iteration is the RL step (training tokens and FLOPs of one
     * trainer iteration per step). */
    s->iteration_seconds = f->step_seconds;
    if (f->step_seconds > 0) {
        s->tokens_per_second = s->tokens_per_iteration / f->step_seconds;
        s->tflops_per_gpu = s->model_flops_per_iteration / f->step_seconds / (double)s->gpus * 1e-12;
        s->mfu = s->model_flops_per_iteration / (f->step_seconds * (double)s->gpus * peak_flops);
        s->mfu_noncausal = s->model_flops_noncausal_per_iteration / (f->step_seconds * (double)s->gpus * peak_flops);
    }
}

void cx_kind_run_reduce(cx_kind_run_t *k, cx_run_summary_t *s, double peak_flops, MPI_Comm comm)
{
    if (k->w->kind == CX_WL_RL) {
        rl_reduce(k, s, peak_flops, comm);
        return;
    }
    infer_reduce(k, s, comm);
    if (s->complete && s->infer.makespan_seconds > 0) {
        s->iteration_seconds = s->infer.makespan_seconds;
        s->tokens_per_second = s->infer.output_tokens_per_second;
        s->tflops_per_gpu = s->model_flops_per_iteration / s->iteration_seconds / (double)s->gpus * 1e-12;
        s->mfu = s->model_flops_per_iteration / (s->iteration_seconds * (double)s->gpus * peak_flops);
        s->mfu_noncausal = s->mfu;
    }
}

void cx_kind_describe(cx_run_summary_t *s, const cx_workload_t *w)
{
    double active = 0;
    s->kind = w->kind;
    if (w->kind == CX_WL_RL) {
        const cx_wl_rl_t *r = w->rl;
        s->tokens_per_iteration = cx_workload_tokens_per_iteration(r->trainer);
        s->model_flops_per_iteration = cx_workload_model_flops_causal_per_iteration(r->trainer);
        s->model_flops_noncausal_per_iteration = cx_workload_model_flops_per_iteration(r->trainer);
        s->rl.steps     = w->iterations;
        s->rl.async     = r->async;
        s->rl.staleness = r->staleness;
        s->rl.weights_bytes = r->weights_bytes;
        return;
    }
    {
        const cx_wl_infer_t *x = w->infer;
        uint64_t             i, p, o;
        s->infer.requests = x->requests;
        s->infer.prompt_tokens = s->infer.output_tokens = 0;
        for (i = 0; i < x->requests; i++) {
            cx_infer_request(x, x->seed, i, &p, &o);
            s->infer.prompt_tokens += p;
            s->infer.output_tokens += o;
        }
        /* Forward FLOPs of the matmuls, 2 x active parameters per token. */
        cx_workload_params(w, NULL, &active);
        s->tokens_per_iteration = (double)s->infer.output_tokens;
        s->model_flops_per_iteration = s->model_flops_noncausal_per_iteration =
            2.0 * active * (double)(s->infer.prompt_tokens + s->infer.output_tokens);
    }
}

/* Rough cost of one pass of x's instance-0 schedule on one GPU: seconds
 * (roofline of the step's bytes and FLOPs) and ops. */
static cx_status_t pass_cost(const cx_workload_t *w, const cx_wl_infer_t *x, uint64_t seed, const cx_gpu_type_t *gt,
                             double *sec_p, double *ops_p, cx_err_t *err)
{
    cx_infer_step_t *st;
    uint64_t         n, i;
    double           colls = (x->tp > 1 ? 2.0 : 0.0) + (x->ep > 1 ? 2.0 : 0.0), sec = 0;
    cx_status_t      rc = cx_infer_schedule(x, seed, 0, &st, &n, NULL, NULL, err);
    if (rc != CX_OK) {
        if (err->file[0] == '\0') snprintf(err->file, sizeof(err->file), "%s", w->file);
        return rc;
    }
    for (i = 0; i < n; i++) {
        double t  = (st[i].prefill_tokens + st[i].decode_seqs) / x->ep;
        double fl = 2.0 * t * x->weights_gpu / x->bpe + st[i].prefill_sq / x->ep * w->model.hidden * 2.0 / x->tp;
        double by = x->weights_gpu + x->kv_token_layer * w->model.layers * st[i].kv_tokens / x->ep;
        double tf = fl / (gt->bf16_flops * 0.6), tm = by / (gt->hbm_bw * 0.85);
        sec += (tf > tm ? tf : tm) + (double)w->model.layers * (6.0 + colls) * 2e-6;
    }
    free(st);
    *sec_p = sec;
    *ops_p = (double)n * w->model.layers * (5.0 + 3.0 * colls);
    return CX_OK;
}

cx_status_t cx_kind_estimate(const cx_workload_t *w, uint32_t iters, const cx_run_config_t *cfg,
                             const cx_gpu_type_t *gt, cx_run_estimate_t *e, cx_err_t *err)
{
    const cx_wl_infer_t *x = w->kind == CX_WL_RL ? &w->rl->rollout : w->infer;
    double               sec = 0, ops = 0, ngpu = (double)x->gpus;
    cx_status_t          rc;
    memset(e, 0, sizeof(*e));
    rc = pass_cost(w, x, w->kind == CX_WL_RL ? cx_rl_step_seed(w->rl, 0) : x->seed, gt, &sec, &ops, err);
    if (rc != CX_OK) return rc;
    if (w->kind == CX_WL_RL) {
        cx_run_estimate_t te;
        rc = cx_plan_estimate(w->rl->trainer, iters, cfg, gt->bf16_flops, &te, err);
        if (rc != CX_OK) return rc;
        sec = sec * iters + te.seconds;
        ops = ops * iters * ngpu + (double)te.ops_total;
        e->events = te.events + 3.0 * ops;
        e->coll_rows = te.coll_rows;
    } else {
        ops *= ngpu;
        e->events = 3.0 * ops;
    }
    e->seconds     = sec;
    e->ops_total   = (uint64_t)ops;
    e->ops_per_gpu = (uint64_t)(ops / (double)w->gpus);
    e->trace_rows  = cfg->trace_level >= CX_TRACE_LEVEL_OPS ? e->ops_total : e->ops_total / 8;
    e->trace_bytes = e->trace_rows * (uint64_t)sizeof(cx_row_op_t);
    e->trace_run_bytes = e->trace_bytes;
    e->trace_file_bytes = e->trace_bytes / 4;
    e->cfg = cfg;
    return CX_OK;
}

cx_status_t cx_kind_check_fit(const cx_workload_t *w, uint32_t gpus_per_domain, cx_err_t *err)
{
    const cx_wl_infer_t *x = w->kind == CX_WL_RL ? &w->rl->rollout : w->infer;
    if (w->kind == CX_WL_TRAINING) return CX_OK;
    if (gpus_per_domain == 0 || gpus_per_domain % x->tp != 0)
        return cx_err_set(err, CX_ERR_INVALID, w->file, x->line_tp,
                          w->kind == CX_WL_RL ? "rollout.parallelism.tp" : "parallelism.tp",
                          "TP group of %u GPUs does not fit evenly in NVLink domains of %u GPUs", x->tp,
                          gpus_per_domain);
    return CX_OK;
}

void cx_kind_print(const cx_run_summary_t *s, FILE *out)
{
    if (s->kind == CX_WL_INFERENCE) {
        const cx_run_infer_summary_t *f = &s->infer;
        fprintf(out, "  inference          %llu requests, %llu prompt + %llu output tokens, %llu steps (all instances)\n",
                (unsigned long long)f->requests, (unsigned long long)f->prompt_tokens,
                (unsigned long long)f->output_tokens, (unsigned long long)f->steps);
        fprintf(out, "  output tokens/s    %.6g  (%.6g with prompt tokens; makespan %.6f s)\n",
                f->output_tokens_per_second, f->total_tokens_per_second, f->makespan_seconds);
        fprintf(out, "  TTFT               p50 %.3f ms, p99 %.3f ms, mean %.3f ms\n", f->ttft_p50 * 1e3,
                f->ttft_p99 * 1e3, f->ttft_mean * 1e3);
        fprintf(out, "  TPOT               p50 %.3f ms, p99 %.3f ms, mean %.3f ms\n", f->tpot_p50 * 1e3,
                f->tpot_p99 * 1e3, f->tpot_mean * 1e3);
    } else if (s->kind == CX_WL_RL) {
        const cx_run_rl_summary_t *f = &s->rl;
        char mode[48];
        if (f->async) snprintf(mode, sizeof(mode), "async, rollouts %u step(s) stale", f->staleness);
        else snprintf(mode, sizeof(mode), "sync");
        fprintf(out, "  RL step            %.6f s (%s, %u steps%s)\n", f->step_seconds, mode, f->steps,
                f->steps >= 2 ? ", steady state after the first" : "");
        fprintf(out, "  RL step split      rollout %.6f + reward %.6f + samples %.6f + train %.6f + weight sync %.6f "
                     "+ other %.6f s\n", f->rollout_seconds, f->reward_seconds, f->samples_seconds,
                f->train_seconds, f->sync_seconds, f->other_seconds);
        fprintf(out, "  weight broadcast   %.4g bytes each\n", (double)f->weights_bytes);
    }
}

struct json_object *cx_kind_json(const cx_run_summary_t *s)
{
    json_object *o;
    if (s->kind == CX_WL_INFERENCE) {
        const cx_run_infer_summary_t *f = &s->infer;
        o = json_object_new_object();
        json_object_object_add(o, "requests", json_object_new_uint64(f->requests));
        json_object_object_add(o, "steps", json_object_new_uint64(f->steps));
        json_object_object_add(o, "prompt_tokens", json_object_new_uint64(f->prompt_tokens));
        json_object_object_add(o, "output_tokens", json_object_new_uint64(f->output_tokens));
        json_object_object_add(o, "makespan_seconds", json_object_new_double(f->makespan_seconds));
        json_object_object_add(o, "output_tokens_per_second", json_object_new_double(f->output_tokens_per_second));
        json_object_object_add(o, "total_tokens_per_second", json_object_new_double(f->total_tokens_per_second));
        json_object_object_add(o, "ttft_p50_seconds", json_object_new_double(f->ttft_p50));
        json_object_object_add(o, "ttft_p99_seconds", json_object_new_double(f->ttft_p99));
        json_object_object_add(o, "ttft_mean_seconds", json_object_new_double(f->ttft_mean));
        json_object_object_add(o, "tpot_p50_seconds", json_object_new_double(f->tpot_p50));
        json_object_object_add(o, "tpot_p99_seconds", json_object_new_double(f->tpot_p99));
        json_object_object_add(o, "tpot_mean_seconds", json_object_new_double(f->tpot_mean));
        return o;
    }
    if (s->kind == CX_WL_RL) {
        const cx_run_rl_summary_t *f = &s->rl;
        o = json_object_new_object();
        json_object_object_add(o, "steps", json_object_new_int((int)f->steps));
        json_object_object_add(o, "mode", json_object_new_string(f->async ? "async" : "sync"));
        json_object_object_add(o, "staleness", json_object_new_int((int)f->staleness));
        json_object_object_add(o, "step_seconds", json_object_new_double(f->step_seconds));
        json_object_object_add(o, "rollout_seconds", json_object_new_double(f->rollout_seconds));
        json_object_object_add(o, "reward_seconds", json_object_new_double(f->reward_seconds));
        json_object_object_add(o, "samples_seconds", json_object_new_double(f->samples_seconds));
        json_object_object_add(o, "train_seconds", json_object_new_double(f->train_seconds));
        json_object_object_add(o, "weight_sync_seconds", json_object_new_double(f->sync_seconds));
        json_object_object_add(o, "other_seconds", json_object_new_double(f->other_seconds));
        json_object_object_add(o, "weights_bytes", json_object_new_uint64(f->weights_bytes));
        return o;
    }
    return NULL;
}
