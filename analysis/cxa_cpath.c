/*
 * Critical path of one iteration, walked backwards through /ops/gpu_ops from
 * the GPU that finished last.  The executor's rules (src/gpu/cx_op.h) give
 * each op one cause for its end time:
 *   - an op starts when the previous op of its stream ends (in-order
 *     streams), so the default step is to that predecessor;
 *   - a WAIT ends when the waited-for stream completes an op: step to the
 *     op of that stream that ended last at or before the cursor;
 *   - a RECV that ended after its matching SEND started (peer, tag) was
 *     waiting for the sender: the time since the SEND started is transfer,
 *     and the walk continues on the sender;
 *   - a COLLECTIVE whose last member joined after this member started waited
 *     for that member: the time since it joined is the collective, and the
 *     walk continues on the late member.
 * The cursor time moves backwards; every interval is charged to one
 * category, so the categories add up to the path length (end of the
 * iteration on the last GPU - the iteration's earliest begin).
 */
#define _POSIX_C_SOURCE 200809L
#include "cxa_cpath.h"

#include <stdlib.h>
#include <string.h>

typedef struct cxa_op {
    int64_t  start, end;
    uint64_t tag, peer;
    uint32_t gpu, iteration;
    uint8_t  stream, kind, cls, block;
} cxa_op_t;

struct cxa_ops {
    cxa_op_t *op;        /* sorted by (gpu, stream, end, start) */
    uint64_t  n;
    uint64_t *seg;       /* [gpu * 4 + stream] .. [+1]: range in op */
    uint32_t  gpus;
    uint64_t *by_tag;    /* send/collective op indices sorted by (kind, tag, gpu) */
    uint64_t  ntag;
};

static int cxa_op_cmp(const void *a, const void *b)
{
    const cxa_op_t *x = a, *y = b;
    if (x->gpu != y->gpu) return x->gpu < y->gpu ? -1 : 1;
    if (x->stream != y->stream) return x->stream < y->stream ? -1 : 1;
    if (x->end != y->end) return x->end < y->end ? -1 : 1;
    if (x->start != y->start) return x->start < y->start ? -1 : 1;
    return (y->kind == 5) - (x->kind == 5); /* iter_begin first */
}

static const cxa_op_t *cxa_sort_base;
static int cxa_tag_cmp(const void *a, const void *b)
{
    const cxa_op_t *x = &cxa_sort_base[*(const uint64_t *)a], *y = &cxa_sort_base[*(const uint64_t *)b];
    if (x->kind != y->kind) return x->kind < y->kind ? -1 : 1;
    if (x->tag != y->tag) return x->tag < y->tag ? -1 : 1;
    if (x->gpu != y->gpu) return x->gpu < y->gpu ? -1 : 1;
    return 0;
}

void cxa_ops_free(cxa_ops_t *o)
{
    if (o == NULL) return;
    free(o->op);
    free(o->seg);
    free(o->by_tag);
    free(o);
}

cxa_ops_t *cxa_ops_load(const cxa_file_t *f, uint32_t gpus)
{
    static const char *const need[] = {"gpu", "stream", "kind", "cls", "iteration", "start_ps", "end_ps",
                                       "tag", "peer", NULL};
    cxa_table_t      t;
    cxa_ops_t       *o;
    cxa_blocks_t     b;
    uint64_t         i, k;
    int              rc;
    const cxa_col_t *c[10];
    /* raw: corrupt rows are left out below */
    if (cxa_table_open_need(f, CXA_T_OPS, CXA_LOAD_REQUIRED | CXA_LOAD_RAW, need, &t) != 0) return NULL;
    for (i = 0; need[i] != NULL; i++) c[i] = cxa_col(&t, need[i]);
    c[9] = cxa_col(&t, "block");
    o    = calloc(1, sizeof(*o));
    rc   = cxa_blocks_init(&b, &t, 32u << 20);
    if (o == NULL || rc != 0 || (o->op = malloc((size_t)(t.rows ? t.rows : 1) * sizeof(cxa_op_t))) == NULL ||
        (o->seg = calloc((size_t)gpus * 4 + 1, sizeof(uint64_t))) == NULL) {
        cxa_error(f->path, "out of memory loading %s for the critical path", CXA_T_OPS);
        cxa_blocks_free(&b);
        cxa_ops_free(o);
        cxa_table_close(&t);
        return NULL;
    }
    o->n    = t.rows;
    o->gpus = gpus;
    while ((rc = cxa_blocks_next(&b)) > 0) {
        long r, nr = (long)b.n;
#pragma omp parallel for schedule(static)
        for (r = 0; r < nr; r++) {
            const void *row = cxa_row(&t, b.buf, (uint64_t)r);
            cxa_op_t   *x   = &o->op[b.start + (uint64_t)r];
            x->gpu       = (uint32_t)cxa_get_u64(c[0], row);
            x->stream    = (uint8_t)(cxa_get_u64(c[1], row) & 3u);
            x->kind      = (uint8_t)cxa_get_u64(c[2], row);
            x->cls       = (uint8_t)cxa_get_u64(c[3], row);
            x->iteration = (uint32_t)cxa_get_u64(c[4], row);
            x->start     = cxa_get_i64(c[5], row);
            x->end       = cxa_get_i64(c[6], row);
            x->tag       = cxa_get_u64(c[7], row);
            x->peer      = cxa_get_u64(c[8], row);
            x->block     = c[9] != NULL ? (uint8_t)cxa_get_u64(c[9], row) : 0;
            if (x->start < 0 || x->end < x->start || x->end > CXA_PS_MAX) {
                /* A corrupt row (absurd times): left out of the path, as stragglers' profile does. */
                x->gpu   = UINT32_MAX;
                x->kind  = UINT8_MAX;
                x->start = x->end = 0;
            }
        }
    }
    cxa_blocks_free(&b);
    cxa_table_close(&t);
    if (rc < 0) {
        cxa_ops_free(o);
        return NULL;
    }
    qsort(o->op, (size_t)o->n, sizeof(cxa_op_t), cxa_op_cmp);
    /* Segments per (gpu, stream). */
    for (i = 0; i < o->n; i++) {
        uint64_t s = (uint64_t)o->op[i].gpu * 4 + o->op[i].stream;
        if (o->op[i].gpu >= gpus) continue;
        o->seg[s + 1]++;
    }
    for (k = 0; k < (uint64_t)gpus * 4; k++) o->seg[k + 1] += o->seg[k];
    /* Sends and collectives by tag. */
    for (i = 0, k = 0; i < o->n; i++) k += o->op[i].kind == 1 || o->op[i].kind == 3;
    o->by_tag = malloc((size_t)(k ? k : 1) * sizeof(uint64_t));
    if (o->by_tag == NULL) {
        cxa_ops_free(o);
        return NULL;
    }
    for (i = 0, k = 0; i < o->n; i++)
        if (o->op[i].kind == 1 || o->op[i].kind == 3) o->by_tag[k++] = i;
    o->ntag       = k;
    cxa_sort_base = o->op;
    qsort(o->by_tag, (size_t)k, sizeof(uint64_t), cxa_tag_cmp);
    return o;
}

/* Last op of (gpu, stream) with end <= t; UINT64_MAX if none. */
static uint64_t cxa_last_before(const cxa_ops_t *o, uint32_t gpu, unsigned stream, int64_t t)
{
    uint64_t lo, hi;
    if (gpu >= o->gpus) return UINT64_MAX;
    lo = o->seg[(uint64_t)gpu * 4 + stream];
    hi = o->seg[(uint64_t)gpu * 4 + stream + 1];
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo) / 2;
        if (o->op[mid].end <= t) lo = mid + 1;
        else hi = mid;
    }
    return lo == o->seg[(uint64_t)gpu * 4 + stream] ? UINT64_MAX : lo - 1;
}

/* First index in by_tag with (kind, tag) >= the key. */
static uint64_t cxa_tag_lower(const cxa_ops_t *o, uint8_t kind, uint64_t tag)
{
    uint64_t lo = 0, hi = o->ntag;
    while (lo < hi) {
        uint64_t        mid = lo + (hi - lo) / 2;
        const cxa_op_t *x   = &o->op[o->by_tag[mid]];
        if (x->kind < kind || (x->kind == kind && x->tag < tag)) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

static void cxa_charge(cxa_cpath_t *p, const cxa_op_t *x, int cat, int64_t dt)
{
    if (dt <= 0) return;
    cxa_sat_add(&p->cat[cat], dt);
    if (cat == CXA_CP_COMPUTE && x != NULL) cxa_sat_add(&p->block[x->block % CXA_CP_NBLOCK], dt);
}

int cxa_cpath_walk(const cxa_ops_t *o, uint32_t gpu, uint32_t iteration, int64_t t_stop, cxa_cpath_t *p)
{
    uint64_t i = UINT64_MAX, steps = 0, j;
    int64_t  t;
    uint32_t last_gpu = gpu;
    memset(p, 0, sizeof(*p));
    /* The iteration's end marker on this GPU (compute stream). */
    if (gpu < o->gpus)
        for (j = o->seg[(uint64_t)gpu * 4]; j < o->seg[(uint64_t)gpu * 4 + 1]; j++)
            if (o->op[j].kind == 6 && o->op[j].iteration == iteration) i = j;
    if (i == UINT64_MAX) return -1;
    t          = o->op[i].end;
    p->end_gpu = gpu;
    p->end_ps  = t;
    while (i != UINT64_MAX && t > t_stop && steps++ < 100000000ULL) {
        const cxa_op_t *x = &o->op[i];
        uint64_t        next;
        if (x->gpu != last_gpu) {
            p->gpu_hops++;
            last_gpu = x->gpu;
        }
        if (x->end < t) { /* nothing ran on the path in between */
            cxa_charge(p, x, CXA_CP_IDLE, t - x->end);
            t = x->end;
        }
        if (x->kind == 4 && x->end > x->start) { /* WAIT: the waited stream's op */
            next = cxa_last_before(o, x->gpu, x->cls & 3u, t);
            if (next != UINT64_MAX && o->op[next].end == t && next != i) {
                i = next;
                continue;
            }
        }
        if (x->kind == 2 && x->end > x->start) { /* RECV: from the matching SEND */
            uint64_t k = cxa_tag_lower(o, 1, x->tag);
            for (; k < o->ntag; k++) {
                const cxa_op_t *s = &o->op[o->by_tag[k]];
                if (s->kind != 1 || s->tag != x->tag) break;
                if (s->gpu == x->peer && s->peer == x->gpu) break;
            }
            if (k < o->ntag) {
                const cxa_op_t *s = &o->op[o->by_tag[k]];
                if (s->kind == 1 && s->tag == x->tag && s->gpu == x->peer && s->peer == x->gpu && s->start < t) {
                    cxa_charge(p, x, CXA_CP_P2P, t - s->start);
                    t    = s->start;
                    next = cxa_last_before(o, s->gpu, s->stream, t);
                    i    = next;
                    continue;
                }
            }
        }
        if (x->kind == 3) { /* COLLECTIVE: the member that joined last */
            uint64_t k = cxa_tag_lower(o, 3, x->tag), late = UINT64_MAX;
            int64_t  ls = x->start;
            for (; k < o->ntag; k++) {
                const cxa_op_t *m = &o->op[o->by_tag[k]];
                if (m->kind != 3 || m->tag != x->tag) break;
                if (m->peer != x->peer) continue; /* same group base */
                if (m->start > ls) {
                    ls   = m->start;
                    late = o->by_tag[k];
                }
            }
            if (late != UINT64_MAX && ls < t) {
                const cxa_op_t *m = &o->op[late];
                cxa_charge(p, x, CXA_CP_COLL, t - ls);
                t = ls;
                i = cxa_last_before(o, m->gpu, m->stream, t);
                continue;
            }
        }
        /* Default: the op itself, then its predecessor on the stream. */
        {
            int     cat = x->kind == 0 ? CXA_CP_COMPUTE : x->kind == 3 ? CXA_CP_COLL
                        : (x->kind == 1 || x->kind == 2) ? CXA_CP_P2P : x->kind == 4 ? CXA_CP_WAIT : CXA_CP_IDLE;
            int64_t s   = x->start > t_stop ? x->start : t_stop;
            cxa_charge(p, x, cat, t - s);
            t = s;
            if (x->kind == 5 && x->iteration == iteration) break; /* reached the begin marker */
            next = i > o->seg[(uint64_t)x->gpu * 4 + x->stream] ? i - 1 : UINT64_MAX;
            i    = next;
        }
    }
    if (t > t_stop) cxa_charge(p, NULL, CXA_CP_IDLE, t - t_stop);
    p->start_ps = t_stop < t ? t_stop : t;
    p->start_gpu = last_gpu;
    return 0;
}
