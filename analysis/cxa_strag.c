/*
 * stragglers: per iteration, the GPUs that finished last (from
 * /summary/iterations), and, when /ops/gpu_ops is present, where the slowest
 * and the fastest GPU of the iteration spent their time: busy time per
 * stream, the compute stream's waits by the stream waited for, and the
 * compute blocks that took longest.  The ops pass is one read of the table,
 * reduced with OpenMP.
 */
#define _POSIX_C_SOURCE 200809L
#include "cxa.h"
#include "cxa_cpath.h"

#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#define CXA_NSTREAM 4
#define CXA_NBLOCK  64
/* Most iterations a run has (colossim run --iterations and replay.yaml). */
#define CXA_STRAG_MAX_ITER 1000000
/* Latest time in a sane trace: sums of a few such times stay in int64. */
#define CXA_STRAG_MAX_PS   (INT64_C(1) << 62)

typedef struct cxa_irow {
    uint64_t gpu;
    int64_t  begin, end, compute, exposed, pp;
} cxa_irow_t;

/* Where one GPU's iteration went. */
typedef struct cxa_prof {
    int64_t  busy[CXA_NSTREAM];              /* non-wait op time per stream */
    int64_t  wait[CXA_NSTREAM][CXA_NSTREAM]; /* [stream waiting][stream waited for] */
    int64_t  block[CXA_NBLOCK];              /* compute-stream kernel time per block */
    uint64_t ops;
} cxa_prof_t;

static int cxa_irow_cmp(const void *a, const void *b)
{
    const cxa_irow_t *x = a, *y = b;
    if (x->end != y->end) return x->end > y->end ? -1 : 1; /* latest first */
    return x->gpu < y->gpu ? -1 : x->gpu > y->gpu;
}


static void cxa_prof_add(cxa_prof_t *d, const cxa_prof_t *s)
{
    int i, j;
    for (i = 0; i < CXA_NSTREAM; i++) {
        cxa_sat_add(&d->busy[i], s->busy[i]);
        for (j = 0; j < CXA_NSTREAM; j++) cxa_sat_add(&d->wait[i][j], s->wait[i][j]);
    }
    for (i = 0; i < CXA_NBLOCK; i++) cxa_sat_add(&d->block[i], s->block[i]);
    d->ops += s->ops;
}

/* Profile GPU slow[it] and fast[it] for every iteration it < k: prof[2*it], prof[2*it+1]. */
static int cxa_profile(const cxa_file_t *f, uint32_t k, const uint64_t *slow, const uint64_t *fast, cxa_prof_t *prof)
{
    static const char *const need[] = {"gpu", "stream", "kind", "cls", "iteration", "start_ps", "end_ps", NULL};
    cxa_table_t      t;
    cxa_blocks_t     bl;
    int              rc;
    const cxa_col_t *c_g, *c_s, *c_k, *c_c, *c_i, *c_b, *c_e, *c_blk;
    /* raw: a corrupt row's times are skipped below, not refused */
    if (cxa_table_open_need(f, CXA_T_OPS, CXA_LOAD_REQUIRED | CXA_LOAD_RAW, need, &t) != 0) return -1;
    c_g   = cxa_col(&t, "gpu");
    c_s   = cxa_col(&t, "stream");
    c_k   = cxa_col(&t, "kind");
    c_c   = cxa_col(&t, "cls");
    c_i   = cxa_col(&t, "iteration");
    c_b   = cxa_col(&t, "start_ps");
    c_e   = cxa_col(&t, "end_ps");
    c_blk = cxa_col(&t, "block");
    if (cxa_blocks_init(&bl, &t, 64u << 20) != 0) {
        cxa_error(f->path, "out of memory");
        cxa_table_close(&t);
        return -1;
    }
    while ((rc = cxa_blocks_next(&bl)) > 0) {
        const unsigned char *buf = bl.buf;
        long                 nr  = (long)bl.n;
#pragma omp parallel
        {
            cxa_prof_t *loc = calloc((size_t)k * 2, sizeof(cxa_prof_t));
            long        r;
            if (loc != NULL) {
#pragma omp for schedule(static)
                for (r = 0; r < nr; r++) {
                    const void *row = cxa_row(&t, buf, (uint64_t)r);
                    uint64_t    it  = cxa_get_u64(c_i, row), g;
                    unsigned    st, kind, cls;
                    int64_t     dt;
                    int         w;
                    if (it >= k) continue;
                    g = cxa_get_u64(c_g, row);
                    if (g == slow[it]) w = 0;
                    else if (g == fast[it]) w = 1;
                    else continue;
                    st   = (unsigned)cxa_get_u64(c_s, row) % CXA_NSTREAM;
                    kind = (unsigned)cxa_get_u64(c_k, row);
                    cls  = (unsigned)cxa_get_u64(c_c, row) % CXA_NSTREAM;
                    {
                        int64_t b = cxa_get_i64(c_b, row), e = cxa_get_i64(c_e, row);
                        if (b < 0 || e < b || e > CXA_STRAG_MAX_PS) continue; /* corrupt row: no overflow */
                        dt = e - b;
                    }
                    {
                        cxa_prof_t *p = &loc[2 * it + (uint64_t)w];
                        p->ops++;
                        if (kind == 4)
                            cxa_sat_add(&p->wait[st][cls], dt);
                        else if (kind <= 3)
                            cxa_sat_add(&p->busy[st], dt);
                        if (kind == 0 && st == 0 && c_blk != NULL)
                            cxa_sat_add(&p->block[cxa_get_u64(c_blk, row) % CXA_NBLOCK], dt);
                    }
                }
#pragma omp critical
                {
                    uint64_t i;
                    for (i = 0; i < (uint64_t)k * 2; i++) cxa_prof_add(&prof[i], &loc[i]);
                }
                free(loc);
            }
        }
    }
    cxa_blocks_free(&bl);
    cxa_table_close(&t);
    return rc < 0 ? -1 : 0;
}

/* The 4 blocks with the most time (of n), " NAME X.XX ms" each. */
static void cxa_print_top_blocks(FILE *out, const int64_t *block, int n)
{
    int64_t blk[CXA_NBLOCK > CXA_CP_NBLOCK ? CXA_NBLOCK : CXA_CP_NBLOCK];
    int     i, shown;
    memcpy(blk, block, (size_t)n * sizeof(blk[0]));
    for (shown = 0; shown < 4; shown++) {
        int best = -1;
        for (i = 0; i < n; i++)
            if (blk[i] > 0 && (best < 0 || blk[i] > blk[best])) best = i;
        if (best < 0) break;
        fprintf(out, " %s %.2f ms", cxa_block_name((unsigned)best), (double)blk[best] * 1e-9);
        blk[best] = 0;
    }
}

static void cxa_prof_print(const char *label, uint64_t gpu, const cxa_prof_t *p, FILE *out)
{
    unsigned s, c;
    fprintf(out, "    %s GPU %llu (%llu ops): busy", label, (unsigned long long)gpu, (unsigned long long)p->ops);
    for (s = 0; s < CXA_NSTREAM; s++) fprintf(out, " %s %.2f ms%s", cxa_stream_name(s), (double)p->busy[s] * 1e-9, s + 1 < CXA_NSTREAM ? "," : "");
    fprintf(out, "\n      compute stream waits:");
    for (c = 0; c < CXA_NSTREAM; c++)
        if (p->wait[0][c] > 0) fprintf(out, " on %s %.2f ms", cxa_stream_name(c), (double)p->wait[0][c] * 1e-9);
    fprintf(out, "\n      top compute blocks:");
    cxa_print_top_blocks(out, p->block, CXA_NBLOCK);
    fprintf(out, "\n");
}

static json_object *cxa_prof_json(uint64_t gpu, const cxa_prof_t *p)
{
    json_object *o = json_object_new_object(), *busy = json_object_new_object(), *wait = json_object_new_object(),
                *blk = json_object_new_object();
    unsigned     s, c;
    json_object_object_add(o, "gpu", json_object_new_uint64(gpu));
    json_object_object_add(o, "ops", json_object_new_uint64(p->ops));
    for (s = 0; s < CXA_NSTREAM; s++) {
        json_object *ws = json_object_new_object();
        json_object_object_add(busy, cxa_stream_name(s), json_object_new_double((double)p->busy[s] * 1e-12));
        for (c = 0; c < CXA_NSTREAM; c++)
            if (p->wait[s][c] > 0)
                json_object_object_add(ws, cxa_stream_name(c), json_object_new_double((double)p->wait[s][c] * 1e-12));
        json_object_object_add(wait, cxa_stream_name(s), ws);
    }
    for (s = 0; s < CXA_NBLOCK; s++)
        if (p->block[s] > 0) json_object_object_add(blk, cxa_block_name(s), json_object_new_double((double)p->block[s] * 1e-12));
    json_object_object_add(o, "busy_seconds", busy);
    json_object_object_add(o, "wait_seconds", wait);
    json_object_object_add(o, "compute_block_seconds", blk);
    return o;
}

static const char *const cxa_cp_names[CXA_CP_NCAT] = {"compute", "collective", "p2p", "wait", "idle"};

static void cxa_cpath_print(const cxa_cpath_t *cp, FILE *out)
{
    int64_t len = cp->end_ps - cp->start_ps;
    int     c;
    fprintf(out, "    critical path %.3f ms, ends on GPU %u, starts on GPU %u, %llu GPU hop(s):", (double)len * 1e-9,
            cp->end_gpu, cp->start_gpu, (unsigned long long)cp->gpu_hops);
    for (c = 0; c < CXA_CP_NCAT; c++)
        if (cp->cat[c] > 0)
            fprintf(out, " %s %.1f%%", cxa_cp_names[c], len > 0 ? 100.0 * (double)cp->cat[c] / (double)len : 0.0);
    fprintf(out, "\n      compute on the path:");
    cxa_print_top_blocks(out, cp->block, CXA_CP_NBLOCK);
    fprintf(out, "\n");
}

static json_object *cxa_cpath_json(const cxa_cpath_t *cp)
{
    json_object *o = json_object_new_object(), *cat = json_object_new_object(), *blk = json_object_new_object();
    int          c;
    json_object_object_add(o, "seconds", json_object_new_double((double)(cp->end_ps - cp->start_ps) * 1e-12));
    json_object_object_add(o, "end_gpu", json_object_new_int64(cp->end_gpu));
    json_object_object_add(o, "start_gpu", json_object_new_int64(cp->start_gpu));
    json_object_object_add(o, "gpu_hops", json_object_new_uint64(cp->gpu_hops));
    for (c = 0; c < CXA_CP_NCAT; c++)
        json_object_object_add(cat, cxa_cp_names[c], json_object_new_double((double)cp->cat[c] * 1e-12));
    for (c = 0; c < CXA_CP_NBLOCK; c++)
        if (cp->block[c] > 0) json_object_object_add(blk, cxa_block_name((unsigned)c), json_object_new_double((double)cp->block[c] * 1e-12));
    json_object_object_add(o, "category_seconds", cat);
    json_object_object_add(o, "compute_block_seconds", blk);
    return o;
}

/* One stragglers report: the iteration rows bucketed by iteration, latest end first. */
typedef struct cxa_sg {
    cxa_file_t *f;
    cxa_table_t t;
    void       *buf;
    cxa_irow_t *rows;
    uint64_t   *cnt, *off, *slow, *fast;
    cxa_prof_t *prof;
    cxa_ops_t  *ops;
    uint32_t    k;
    long        top;
    int64_t     complete;
    int         have_ops;
} cxa_sg_t;

/* Rows index per-iteration arrays: a hostile or corrupt iteration (2^32 - 1
 * wrapped k to 0 and overflowed the heap) or time is refused first.  The
 * highest iteration, or -1 after one error. */
static int64_t cxa_sg_check(cxa_sg_t *S)
{
    const cxa_col_t *c_i = cxa_col(&S->t, "iteration"), *c_b = cxa_col(&S->t, "begin_ps"),
                    *c_e = cxa_col(&S->t, "end_ps");
    int64_t          lim = CXA_STRAG_MAX_ITER, max_it = 0;
    uint64_t         r;
    if (cxa_meta_i64(S->f, "iterations_requested", &lim) != 0 || lim < 1 || lim > CXA_STRAG_MAX_ITER)
        lim = CXA_STRAG_MAX_ITER;
    for (r = 0; r < S->t.rows; r++) {
        const void *row = cxa_row(&S->t, S->buf, r);
        uint64_t    i   = cxa_get_u64(c_i, row);
        int64_t     b = cxa_get_i64(c_b, row), e = cxa_get_i64(c_e, row);
        if (i >= (uint64_t)lim) {
            cxa_error(S->f->path, "/summary/iterations row %llu: iteration %llu is outside [0, %lld) (the run's "
                      "iterations): a corrupt trace", (unsigned long long)r, (unsigned long long)i, (long long)lim);
            return -1;
        }
        if (b < 0 || e < b || e > CXA_STRAG_MAX_PS) {
            cxa_error(S->f->path, "/summary/iterations row %llu: begin %lld ps, end %lld ps are not times of a run "
                      "(0 <= begin <= end <= 2^62): a corrupt trace", (unsigned long long)r, (long long)b,
                      (long long)e);
            return -1;
        }
        if ((int64_t)i > max_it) max_it = (int64_t)i;
    }
    return max_it;
}

/* Bucket rows by iteration, then sort each bucket latest end first; the
 * slowest and fastest GPU of each.  -1 when out of memory. */
static int cxa_sg_bucket(cxa_sg_t *S)
{
    const cxa_col_t *c_g = cxa_col(&S->t, "gpu"), *c_i = cxa_col(&S->t, "iteration"),
                    *c_b = cxa_col(&S->t, "begin_ps"), *c_e = cxa_col(&S->t, "end_ps"),
                    *c_c = cxa_col(&S->t, "compute_ps"), *c_x = cxa_col(&S->t, "exposed_comm_ps"),
                    *c_p = cxa_col(&S->t, "pp_wait_ps");
    uint32_t         k = S->k, it;
    uint64_t         r;
    S->cnt  = calloc(k, sizeof(uint64_t));
    S->off  = calloc((size_t)k + 1, sizeof(uint64_t));
    S->slow = calloc(k, sizeof(uint64_t));
    S->fast = calloc(k, sizeof(uint64_t));
    S->rows = malloc((size_t)S->t.rows * sizeof(cxa_irow_t));
    S->prof = calloc((size_t)k * 2, sizeof(cxa_prof_t));
    if (S->cnt == NULL || S->off == NULL || S->slow == NULL || S->fast == NULL || S->rows == NULL || S->prof == NULL)
        return -1;
    for (r = 0; r < S->t.rows; r++) S->cnt[cxa_get_u64(c_i, cxa_row(&S->t, S->buf, r))]++;
    for (it = 0; it < k; it++) S->off[it + 1] = S->off[it] + S->cnt[it];
    memset(S->cnt, 0, k * sizeof(uint64_t));
    for (r = 0; r < S->t.rows; r++) {
        const void *row = cxa_row(&S->t, S->buf, r);
        uint64_t    i   = cxa_get_u64(c_i, row);
        cxa_irow_t *x   = &S->rows[S->off[i] + S->cnt[i]++];
        x->gpu     = cxa_get_u64(c_g, row);
        x->begin   = cxa_get_i64(c_b, row);
        x->end     = cxa_get_i64(c_e, row);
        x->compute = c_c ? cxa_get_i64(c_c, row) : 0;
        x->exposed = c_x ? cxa_get_i64(c_x, row) : 0;
        x->pp      = c_p ? cxa_get_i64(c_p, row) : 0;
    }
    for (it = 0; it < k; it++) {
        if (S->cnt[it] == 0) continue;
        qsort(S->rows + S->off[it], (size_t)S->cnt[it], sizeof(cxa_irow_t), cxa_irow_cmp);
        S->slow[it] = S->rows[S->off[it]].gpu;
        S->fast[it] = S->rows[S->off[it] + S->cnt[it] - 1].gpu;
    }
    return 0;
}

/* With /ops/gpu_ops: the profiles of the slowest and fastest GPUs and the ops for the critical path. */
static int cxa_sg_ops(cxa_sg_t *S)
{
    int64_t  ng = 0;
    uint64_t maxg = 0, r;
    S->have_ops = cxa_exists(S->f, CXA_T_OPS);
    if (!S->have_ops) return 0;
    if (cxa_profile(S->f, S->k, S->slow, S->fast, S->prof) != 0) return -1;
    for (r = 0; r < S->t.rows; r++)
        if (S->rows[r].gpu > maxg) maxg = S->rows[r].gpu;
    if (cxa_meta_i64(S->f, "gpus", &ng) != 0 || ng <= 0) ng = (int64_t)maxg + 1;
    S->ops = cxa_ops_load(S->f, (uint32_t)ng);
    return S->ops == NULL ? -1 : 0;
}

static json_object *cxa_sg_iter_json(const cxa_sg_t *S, uint32_t it, int64_t bmin, int64_t emin)
{
    const cxa_irow_t *b = S->rows + S->off[it];
    uint64_t          n = S->cnt[it], i, show = (uint64_t)S->top < n ? (uint64_t)S->top : n;
    json_object      *o = json_object_new_object(), *sl = json_object_new_array();
    json_object_object_add(o, "iteration", json_object_new_int64(it));
    json_object_object_add(o, "gpus", json_object_new_uint64(n));
    json_object_object_add(o, "spread_seconds", json_object_new_double((double)(b[0].end - emin) * 1e-12));
    for (i = 0; i < show; i++) {
        json_object *g = json_object_new_object();
        json_object_object_add(g, "gpu", json_object_new_uint64(b[i].gpu));
        json_object_object_add(g, "end_seconds", json_object_new_double((double)(b[i].end - bmin) * 1e-12));
        json_object_object_add(g, "lag_seconds", json_object_new_double((double)(b[i].end - emin) * 1e-12));
        json_object_object_add(g, "compute_seconds", json_object_new_double((double)b[i].compute * 1e-12));
        json_object_object_add(g, "exposed_comm_seconds", json_object_new_double((double)b[i].exposed * 1e-12));
        json_object_object_add(g, "pp_wait_seconds", json_object_new_double((double)b[i].pp * 1e-12));
        json_object_array_add(sl, g);
    }
    json_object_object_add(o, "slowest", sl);
    if (S->have_ops) {
        cxa_cpath_t cp;
        json_object_object_add(o, "slowest_profile", cxa_prof_json(S->slow[it], &S->prof[2 * it]));
        json_object_object_add(o, "fastest_profile", cxa_prof_json(S->fast[it], &S->prof[2 * it + 1]));
        if (cxa_cpath_walk(S->ops, (uint32_t)S->slow[it], it, bmin, &cp) == 0)
            json_object_object_add(o, "critical_path", cxa_cpath_json(&cp));
    }
    return o;
}

static void cxa_sg_iter_print(const cxa_sg_t *S, uint32_t it, int64_t bmin, int64_t emin)
{
    const cxa_irow_t *b = S->rows + S->off[it];
    uint64_t          n = S->cnt[it], i, show = (uint64_t)S->top < n ? (uint64_t)S->top : n;
    printf("iteration %u: %llu GPUs, first end %.3f, last end %.3f, spread %.3f\n", it, (unsigned long long)n,
           (double)(emin - bmin) * 1e-9, (double)(b[0].end - bmin) * 1e-9, (double)(b[0].end - emin) * 1e-9);
    printf("    %6s %10s %9s %10s %10s %10s\n", "gpu", "end", "lag", "compute", "exp.comm", "pp wait");
    for (i = 0; i < show; i++)
        printf("    %6llu %10.3f %9.3f %10.3f %10.3f %10.3f\n", (unsigned long long)b[i].gpu,
               (double)(b[i].end - bmin) * 1e-9, (double)(b[i].end - emin) * 1e-9, (double)b[i].compute * 1e-9,
               (double)b[i].exposed * 1e-9, (double)b[i].pp * 1e-9);
    if (S->have_ops) {
        cxa_cpath_t cp;
        cxa_prof_print("slowest", S->slow[it], &S->prof[2 * it], stdout);
        cxa_prof_print("fastest", S->fast[it], &S->prof[2 * it + 1], stdout);
        if (cxa_cpath_walk(S->ops, (uint32_t)S->slow[it], it, bmin, &cp) == 0) cxa_cpath_print(&cp, stdout);
    }
}

static void cxa_sg_report(const cxa_sg_t *S, cxa_format_t fmt)
{
    json_object *jarr = NULL;
    uint32_t     it;
    if (fmt == CXA_FMT_JSON)
        jarr = json_object_new_array();
    else {
        if (!S->complete) printf("INCOMPLETE: run stopped early (/meta/complete = 0)\n");
        printf("stragglers in %s (times in ms; lag = end - first GPU's end)%s\n", S->f->path,
               S->have_ops ? "" : "\n  (no /ops/gpu_ops: run with --trace-level ops for the breakdown)");
    }
    for (it = 0; it < S->k; it++) {
        const cxa_irow_t *b = S->rows + S->off[it];
        uint64_t          n = S->cnt[it], i;
        int64_t           bmin = INT64_MAX, emin = b[n > 0 ? n - 1 : 0].end;
        if (n == 0) continue;
        for (i = 0; i < n; i++)
            if (b[i].begin < bmin) bmin = b[i].begin;
        if (jarr != NULL)
            json_object_array_add(jarr, cxa_sg_iter_json(S, it, bmin, emin));
        else
            cxa_sg_iter_print(S, it, bmin, emin);
    }
    if (jarr == NULL) {
        cxa_strag_suspects(S->f, stdout, NULL); /* cxa_faults.c */
    } else {
        json_object *j = json_object_new_object();
        cxa_strag_suspects(S->f, NULL, j);
        json_object_object_add(j, "file", json_object_new_string(S->f->path));
        json_object_object_add(j, "complete", json_object_new_boolean(S->complete != 0));
        json_object_object_add(j, "iterations", jarr);
        printf("%s\n", json_object_to_json_string_ext(j, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
        json_object_put(j);
    }
}

/* The report once the iterations table is loaded: CXA_EXIT_OK or an exit code after one error. */
static int cxa_sg_run(cxa_sg_t *S, cxa_format_t fmt)
{
    int64_t max_it = cxa_sg_check(S);
    if (max_it < 0) return CXA_EXIT_FILE;
    if (S->t.rows == 0) {
        printf("%s: no iteration finished%s\n", S->f->path, S->complete ? "" : " (INCOMPLETE: run stopped early)");
        return CXA_EXIT_OK;
    }
    S->k = (uint32_t)max_it + 1;
    if (cxa_sg_bucket(S) != 0) {
        cxa_error(S->f->path, "out of memory");
        return CXA_EXIT_FILE;
    }
    if (cxa_sg_ops(S) != 0) return CXA_EXIT_FILE;
    cxa_sg_report(S, fmt);
    return CXA_EXIT_OK;
}

int cxa_cmd_stragglers(int argc, char **argv)
{
    static const char *const need[] = {"gpu", "iteration", "begin_ps", "end_ps", NULL};
    cxa_args_t   a;
    cxa_format_t fmt;
    cxa_file_t   f;
    cxa_sg_t     S;
    int          rc = CXA_EXIT_FILE;

    rc = cxa_cmd_start("stragglers", argc, argv, "top format",
                       "usage: colossim-analyze stragglers FILE [--top N] [--format table|json]\n"
                       "  per iteration the N GPUs that finished last, and (with /ops/gpu_ops) where the\n"
                       "  slowest and the fastest GPU spent their time.\n",
                       &a, &fmt);
    if (rc >= 0) return rc;
    rc = CXA_EXIT_FILE;
    memset(&S, 0, sizeof(S));
    S.top      = 5;
    S.complete = 1;
    S.f        = &f;
    if (cxa_parse_top(a.top, &S.top) != 0) return CXA_EXIT_USAGE;
    if (cxa_open_run(&f, a.pos[0], &S.complete) != CXA_EXIT_OK) return CXA_EXIT_FILE;
    /* raw: iterations and times are checked by cxa_sg_check, with both times in the message */
    S.buf = cxa_table_load(&f, CXA_T_ITER, CXA_LOAD_REQUIRED | CXA_LOAD_RAW, need, &S.t);
    if (S.buf != NULL) {
        rc = cxa_sg_run(&S, fmt);
        cxa_table_close(&S.t);
    }
    cxa_ops_free(S.ops);
    free(S.buf);
    free(S.rows);
    free(S.cnt);
    free(S.off);
    free(S.slow);
    free(S.fast);
    free(S.prof);
    cxa_close(&f);
    return rc;
}
