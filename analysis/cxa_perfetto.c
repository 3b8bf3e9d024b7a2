/*
 * export-perfetto: Chrome trace-event JSON (opens in ui.perfetto.dev and
 * chrome://tracing) from /ops/gpu_ops.
 *   - one process per selected GPU (pid = GPU index), one thread per stream
 *     (tid = stream: 0 compute, 1 tp, 2 dp, 3 pp);
 *   - one complete event ("ph":"X", ts/dur in microseconds) per op row of a
 *     selected GPU, named "<class or kind> <block> L<layer>";
 *   - unless --no-collective-tracks: a process "collectives" (pid = gpus)
 *     with one thread per communicator group (base, stride, size) touching a
 *     selected GPU, one X event per collective instance (from
 *     /summary/collectives, member 0's view);
 *   - metadata events ("ph":"M") naming processes and threads.
 * Events are written one by one (json-c serialises each), so memory stays
 * bounded for large traces.  The file is written as OUT.partial and renamed.
 *
 * Size: an op event is about CXA_PF_BYTES_PER_OP bytes of JSON, so every GPU
 * of a 16k-GPU job is tens of GB, more than ui.perfetto.dev opens.  Without
 * --gpus the export is bounded: every GPU up to CXA_PF_ALL_GPUS, else one
 * pipeline (the first GPU of each stage: DP replica 0, TP/CP rank 0, read
 * from /meta/workload_yaml), else GPUs 0-7.  Before writing, the size is
 * estimated (op rows x selected / all GPUs, plus the collective-track events
 * counted exactly) and an export above --max-mb (default 1024) is refused
 * unless --force.
 */
#define _POSIX_C_SOURCE 200809L
#include "cxa.h"

#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct cxa_jw {
    FILE    *fp;
    uint64_t n;
} cxa_jw_t;

static void cxa_jw_put(cxa_jw_t *w, json_object *o)
{
    fputs(w->n > 0 ? ",\n" : "\n", w->fp);
    fputs(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE), w->fp);
    json_object_put(o);
    w->n++;
}

static void cxa_jw_meta(cxa_jw_t *w, const char *what, int64_t pid, int64_t tid, const char *key,
                        json_object *val)
{
    json_object *o = json_object_new_object(), *args = json_object_new_object();
    json_object_object_add(o, "ph", json_object_new_string("M"));
    json_object_object_add(o, "name", json_object_new_string(what));
    json_object_object_add(o, "pid", json_object_new_int64(pid));
    json_object_object_add(o, "tid", json_object_new_int64(tid));
    json_object_object_add(args, key, val);
    json_object_object_add(o, "args", args);
    cxa_jw_put(w, o);
}

#define CXA_PF_BYTES_PER_OP   205.0 /* measured: 202 (64-GPU default job), 204 (4,096 GPUs) */
#define CXA_PF_BYTES_PER_COLL 230.0 /* measured: 225, 227 */
#define CXA_PF_DEFAULT_MAX_MB 1024.0
#define CXA_PF_ALL_GPUS       16

/* tp, cp, pp, dp from the workload YAML's parallelism block; 0 when the
 * trace has none (replay jobs) or the product is not the job's GPUs. */
static int cxa_pf_layout(const cxa_file_t *f, int64_t gpus, int64_t lay[4])
{
    static const char *const keys[4] = {"tp", "cp", "pp", "dp"};
    char *text = cxa_meta_text(f, "workload_yaml"), *line, *save = NULL;
    int   inside = 0, k;
    lay[0] = lay[1] = lay[2] = lay[3] = 1;
    if (text == NULL) return 0;
    for (line = strtok_r(text, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
        char *p = line, *hash = strchr(line, '#');
        if (hash != NULL) *hash = '\0';
        if (*p != ' ' && *p != '\t') {
            while (*p == ' ') p++;
            if (*p != '\0') inside = strncmp(p, "parallelism:", 12) == 0;
            continue;
        }
        if (!inside) continue;
        while (*p == ' ' || *p == '\t') p++;
        for (k = 0; k < 4; k++) {
            size_t l = strlen(keys[k]);
            if (strncmp(p, keys[k], l) == 0 && p[l] == ':') lay[k] = strtoll(p + l + 1, NULL, 10);
        }
    }
    free(text);
    for (k = 0; k < 4; k++)
        if (lay[k] < 1) return 0;
    return lay[0] * lay[1] * lay[2] * lay[3] == gpus;
}

typedef struct cxa_grp {
    uint64_t base;
    uint32_t stride, size;
} cxa_grp_t;

/* One export: the selection, the writer and the counts. */
typedef struct cxa_pf {
    cxa_file_t       *f;
    const cxa_args_t *a;
    cxa_jw_t          w;
    unsigned char    *mask;
    int64_t           gpus, complete;
    uint64_t          n_sel, n_ops, n_coll, n_meta, est_coll, coll_rows;
    double            est_all_mb;
    char              sel_what[256];
} cxa_pf_t;

static int cxa_pf_usage(const cxa_args_t *a)
{
    cxa_usage_error("export-perfetto", a, 1, "X.json (where to write)");
    return cxa_usage_print(a,
            "usage: colossim-analyze export-perfetto FILE --out X.json [--gpus 0-7,16|all]\n"
            "                                        [--max-mb N] [--force] [--no-collective-tracks]\n"
            "  Chrome trace-event JSON from /ops/gpu_ops (run with --trace-level ops):\n"
            "  one process per GPU, one track per stream, one event per op; collectives\n"
            "  also on one track per communicator group.\n"
            "  Default GPUs: all up to %d GPUs, else one pipeline (the first GPU of each\n"
            "  stage), else GPUs 0-7.  The size is estimated first (about %.0f bytes per\n"
            "  op event); above --max-mb (default %.0f; 0 = no limit) nothing is written\n"
            "  unless --force.\n",
            CXA_PF_ALL_GPUS, CXA_PF_BYTES_PER_OP, CXA_PF_DEFAULT_MAX_MB);
}

/* The GPUs exported without --gpus: all up to CXA_PF_ALL_GPUS, else one
 * pipeline, else GPUs 0-7 (the mask holds every GPU on entry). */
static void cxa_pf_select(cxa_pf_t *p)
{
    int64_t layout[4], gpus = p->gpus;
    uint64_t g;
    if (p->a->gpus != NULL) {
        snprintf(p->sel_what, sizeof(p->sel_what), "GPUs %s", p->a->gpus);
    } else if (gpus <= CXA_PF_ALL_GPUS) {
        snprintf(p->sel_what, sizeof(p->sel_what), "all %lld GPUs", (long long)gpus);
    } else if (cxa_pf_layout(p->f, gpus, layout) && layout[2] > 1) {
        int64_t per = layout[0] * layout[1] * layout[3], st;
        int     len;
        memset(p->mask, 0, (size_t)gpus);
        len = snprintf(p->sel_what, sizeof(p->sel_what), "one pipeline: the first GPU of each of the %lld "
                       "pipeline stages (GPUs", (long long)layout[2]);
        for (st = 0; st < layout[2]; st++) {
            p->mask[st * per] = 1;
            if (st < 3 || st == layout[2] - 1)
                len += snprintf(p->sel_what + len, sizeof(p->sel_what) - (size_t)len, "%s %lld",
                                st == 0 ? "" : st == 3 && layout[2] > 4 ? ", ...," : ",", (long long)(st * per));
        }
        snprintf(p->sel_what + len, sizeof(p->sel_what) - (size_t)len, ")");
    } else {
        memset(p->mask, 0, (size_t)gpus);
        memset(p->mask, 1, 8);
        snprintf(p->sel_what, sizeof(p->sel_what), "GPUs 0-7 (of %lld)", (long long)gpus);
    }
    for (g = 0; g < (uint64_t)gpus; g++) p->n_sel += p->mask[g];
}

/* Does the group base + i * stride (i < size) hold a selected GPU?  Bounded
 * by the GPU count (a corrupt size of 2^32 hung). */
static int cxa_pf_group_hit(const cxa_pf_t *p, uint64_t base, uint64_t size, uint64_t stride)
{
    uint64_t i;
    for (i = 0; i < size && i < (uint64_t)p->gpus; i++) {
        uint64_t m = base + i * stride;
        if (m < (uint64_t)p->gpus && p->mask[m]) return 1;
    }
    return 0;
}

/* The collective-track events, counted exactly (the same test as when writing). */
static void cxa_pf_count_coll(cxa_pf_t *p)
{
    cxa_table_t ct;
    if (p->a->no_coll_tracks || !cxa_exists(p->f, CXA_T_COLL) || cxa_table_open(p->f, CXA_T_COLL, 0, &ct) != 0)
        return;
    {
        const cxa_col_t *k_b = cxa_col(&ct, "group_base"), *k_n = cxa_col(&ct, "group_size"),
                        *k_st = cxa_col(&ct, "group_stride");
        cxa_blocks_t     b = {0};
        p->coll_rows = ct.rows;
        if (k_b && k_n && k_st) cxa_blocks_init(&b, &ct, 32u << 20); /* else (or out of memory): no count */
        while (cxa_blocks_next(&b) > 0) {
            uint64_t r;
            for (r = 0; r < b.n; r++) {
                const void *row = cxa_row(&ct, b.buf, r);
                if (cxa_pf_group_hit(p, cxa_get_u64(k_b, row), cxa_get_u64(k_n, row), cxa_get_u64(k_st, row)))
                    p->est_coll++;
            }
        }
        cxa_blocks_free(&b);
    }
    cxa_table_close(&ct);
}

/* Estimate, print it and refuse above --max-mb: CXA_EXIT_OK or the exit code. */
static int cxa_pf_estimate(cxa_pf_t *p, uint64_t op_rows, double max_mb)
{
    double est_ops, est_mb;
    cxa_pf_count_coll(p);
    est_ops       = (double)op_rows * (double)p->n_sel / (double)p->gpus;
    est_mb        = (est_ops * CXA_PF_BYTES_PER_OP + (double)p->est_coll * CXA_PF_BYTES_PER_COLL) * 1e-6;
    p->est_all_mb = ((double)op_rows * CXA_PF_BYTES_PER_OP + (double)p->coll_rows * CXA_PF_BYTES_PER_COLL) * 1e-6;
    printf("export-perfetto: %s: about %.0f op events and %llu collective-track events, about %.1f MB "
           "(estimated; every GPU: about %.0f MB)\n",
           p->sel_what, est_ops, (unsigned long long)p->est_coll, est_mb, p->est_all_mb);
    if (max_mb > 0 && est_mb > max_mb && !p->a->force) {
        cxa_error(p->a->out, "not written: the export would be about %.0f MB, above --max-mb %.0f (%s).  Select "
                  "fewer GPUs with --gpus, raise --max-mb (0 = no limit) or add --force",
                  est_mb, max_mb, p->sel_what);
        return CXA_EXIT_USAGE;
    }
    fflush(stdout);
    return CXA_EXIT_OK;
}

/* Process and thread names of the selected GPUs. */
static void cxa_pf_names(cxa_pf_t *p)
{
    uint64_t g;
    for (g = 0; g < (uint64_t)p->gpus; g++) {
        unsigned s;
        char     nm[64];
        if (!p->mask[g]) continue;
        snprintf(nm, sizeof(nm), "GPU %llu", (unsigned long long)g);
        cxa_jw_meta(&p->w, "process_name", (int64_t)g, 0, "name", json_object_new_string(nm));
        cxa_jw_meta(&p->w, "process_sort_index", (int64_t)g, 0, "sort_index", json_object_new_int64((int64_t)g));
        for (s = 0; s < 4; s++) {
            snprintf(nm, sizeof(nm), "s%u %s", s, cxa_stream_name(s));
            cxa_jw_meta(&p->w, "thread_name", (int64_t)g, s, "name", json_object_new_string(nm));
        }
    }
}

/* The columns of /ops/gpu_ops an op event shows (NULL: absent). */
enum { OP_GPU, OP_ST, OP_K, OP_CLS, OP_S, OP_E, OP_BLK, OP_LAY, OP_PH, OP_MB, OP_IT, OP_BY, OP_FL, OP_TAG, OP_PEER,
       OP_AL, OP_GS, OP_GST, OP_NCOL };
static const char *const cxa_pf_op_cols[OP_NCOL] = {"gpu", "stream", "kind", "cls", "start_ps", "end_ps",
    "block", "layer", "phase", "microbatch", "iteration", "bytes", "flops", "tag", "peer", "algo", "group_size",
    "group_stride"};

/* "<class or kind> <block> L<layer>" */
static void cxa_pf_op_name(const cxa_col_t *const *c, const void *row, char *name, size_t len)
{
    unsigned    kind = (unsigned)cxa_get_u64(c[OP_K], row), cls = (unsigned)cxa_get_u64(c[OP_CLS], row);
    unsigned    blk = c[OP_BLK] != NULL ? (unsigned)cxa_get_u64(c[OP_BLK], row) : 0;
    unsigned    lay = c[OP_LAY] != NULL ? (unsigned)cxa_get_u64(c[OP_LAY], row) : 0xFFFF;
    char        lab[32];
    const char *what;
    switch (kind) {
    case 0: what = cxa_class_name(cls); break;
    case 3: what = cxa_coll_name(cls); break;
    case 4: snprintf(lab, sizeof(lab), "wait %s", cxa_stream_name(cls)); what = lab; break;
    default: what = cxa_kind_name(kind); break;
    }
    if (lay != 0xFFFF && blk != 0)
        snprintf(name, len, "%s %s L%u", what, cxa_block_name(blk), lay);
    else if (blk != 0)
        snprintf(name, len, "%s %s", what, cxa_block_name(blk));
    else
        snprintf(name, len, "%s", what);
}

/* The args of an op event: what the op's kind has. */
static json_object *cxa_pf_op_args(const cxa_col_t *const *c, const void *row, unsigned kind)
{
    json_object *args = json_object_new_object();
    if (c[OP_IT] != NULL) json_object_object_add(args, "iteration", json_object_new_int64((int64_t)cxa_get_u64(c[OP_IT], row)));
    if (c[OP_MB] != NULL && cxa_get_u64(c[OP_MB], row) != 0xFFFFFFFFu)
        json_object_object_add(args, "microbatch", json_object_new_int64((int64_t)cxa_get_u64(c[OP_MB], row)));
    if (c[OP_PH] != NULL) json_object_object_add(args, "phase", json_object_new_string(cxa_phase_name((unsigned)cxa_get_u64(c[OP_PH], row))));
    if (c[OP_BY] != NULL && kind <= 3) json_object_object_add(args, "bytes", json_object_new_uint64(cxa_get_u64(c[OP_BY], row)));
    if (c[OP_FL] != NULL && kind == 0) json_object_object_add(args, "flops", json_object_new_double(cxa_get_f64(c[OP_FL], row)));
    if (c[OP_PEER] != NULL && (kind == 1 || kind == 2)) json_object_object_add(args, "peer", json_object_new_uint64(cxa_get_u64(c[OP_PEER], row)));
    if (kind == 3) {
        char grp[64];
        snprintf(grp, sizeof(grp), "%llu+%llux%llu",
                 (unsigned long long)(c[OP_PEER] ? cxa_get_u64(c[OP_PEER], row) : 0),
                 (unsigned long long)(c[OP_GST] ? cxa_get_u64(c[OP_GST], row) : 0),
                 (unsigned long long)(c[OP_GS] ? cxa_get_u64(c[OP_GS], row) : 0));
        json_object_object_add(args, "group", json_object_new_string(grp));
        if (c[OP_AL] != NULL) json_object_object_add(args, "algo", json_object_new_string(cxa_algo_name((unsigned)cxa_get_u64(c[OP_AL], row))));
    }
    if (c[OP_TAG] != NULL && kind >= 1 && kind <= 3) {
        char tg[24];
        snprintf(tg, sizeof(tg), "%016llx", (unsigned long long)cxa_get_u64(c[OP_TAG], row));
        json_object_object_add(args, "tag", json_object_new_string(tg));
    }
    return args;
}

/* A complete ("X") event; ts and te in ps. */
static json_object *cxa_pf_event(const char *name, const char *cat, int64_t pid, int64_t tid, int64_t ts, int64_t te)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "ph", json_object_new_string("X"));
    json_object_object_add(o, "name", json_object_new_string(name));
    json_object_object_add(o, "cat", json_object_new_string(cat));
    json_object_object_add(o, "pid", json_object_new_int64(pid));
    json_object_object_add(o, "tid", json_object_new_int64(tid));
    json_object_object_add(o, "ts", json_object_new_double((double)ts * 1e-6));
    json_object_object_add(o, "dur", json_object_new_double((double)(te - ts) * 1e-6));
    return o;
}

/* One event per op row of a selected GPU, in blocks of rows. */
static int cxa_pf_ops(cxa_pf_t *p, cxa_table_t *t)
{
    const cxa_col_t *c[OP_NCOL];
    cxa_blocks_t     b;
    int              i, more;
    for (i = 0; i < OP_NCOL; i++) c[i] = cxa_col(t, cxa_pf_op_cols[i]);
    if (cxa_blocks_init(&b, t, 32u << 20) != 0) {
        cxa_error(p->f->path, "out of memory");
        return CXA_EXIT_FILE;
    }
    while ((more = cxa_blocks_next(&b)) > 0) {
        uint64_t r;
        for (r = 0; r < b.n; r++) {
            const void  *row = cxa_row(t, b.buf, r);
            uint64_t     gpu = cxa_get_u64(c[OP_GPU], row);
            unsigned     kind;
            json_object *o;
            char         name[96];
            if (gpu >= (uint64_t)p->gpus || !p->mask[gpu]) continue;
            kind = (unsigned)cxa_get_u64(c[OP_K], row);
            cxa_pf_op_name(c, row, name, sizeof(name));
            o = cxa_pf_event(name, cxa_kind_name(kind), (int64_t)gpu, (int64_t)cxa_get_u64(c[OP_ST], row),
                             cxa_get_i64(c[OP_S], row), cxa_get_i64(c[OP_E], row));
            json_object_object_add(o, "args", cxa_pf_op_args(c, row, kind));
            cxa_jw_put(&p->w, o);
            p->n_ops++;
        }
    }
    cxa_blocks_free(&b);
    return more < 0 ? CXA_EXIT_FILE : CXA_EXIT_OK;
}

/* The thread (track) of a communicator group, named on first sight; -1 when out of memory. */
static long cxa_pf_group(cxa_pf_t *p, cxa_grp_t **grp, size_t *ngrp, size_t *capg, uint64_t base, uint32_t stride,
                         uint32_t size, int64_t cpid)
{
    size_t gi;
    char   nm[96];
    for (gi = 0; gi < *ngrp; gi++)
        if ((*grp)[gi].base == base && (*grp)[gi].stride == stride && (*grp)[gi].size == size) return (long)gi;
    if (*ngrp == *capg) {
        size_t     c2 = *capg ? *capg * 2 : 64;
        cxa_grp_t *g2 = realloc(*grp, c2 * sizeof(*g2));
        if (g2 == NULL) return -1;
        *grp  = g2;
        *capg = c2;
    }
    (*grp)[gi].base   = base;
    (*grp)[gi].stride = stride;
    (*grp)[gi].size   = size;
    (*ngrp)++;
    snprintf(nm, sizeof(nm), "group %llu+%ux%u", (unsigned long long)base, stride, size);
    cxa_jw_meta(&p->w, "thread_name", cpid, (int64_t)gi, "name", json_object_new_string(nm));
    p->n_meta++;
    return (long)gi;
}

enum { CT_B, CT_N, CT_ST, CT_K, CT_S, CT_E, CT_A, CT_BY, CT_BLK, CT_LAY, CT_IT, CT_BW, CT_NCOL };
static const char *const cxa_pf_coll_cols[CT_NCOL] = {"group_base", "group_size", "group_stride", "kind",
    "start_ps", "end_ps", "algo", "bytes", "block", "layer", "iteration", "busbw_gbps"};

/* One collective instance on its group's track. */
static void cxa_pf_coll_event(cxa_pf_t *p, const cxa_col_t *const *k, const void *row, int64_t cpid, long gi)
{
    unsigned     kind = (unsigned)cxa_get_u64(k[CT_K], row);
    json_object *o, *args = json_object_new_object();
    char         name[96];
    if (k[CT_BLK] != NULL && k[CT_LAY] != NULL && cxa_get_u64(k[CT_LAY], row) != 0xFFFF)
        snprintf(name, sizeof(name), "%s %s L%llu", cxa_coll_name(kind),
                 cxa_block_name((unsigned)cxa_get_u64(k[CT_BLK], row)), (unsigned long long)cxa_get_u64(k[CT_LAY], row));
    else
        snprintf(name, sizeof(name), "%s", cxa_coll_name(kind));
    o = cxa_pf_event(name, "collective_instance", cpid, (int64_t)gi, cxa_get_i64(k[CT_S], row), cxa_get_i64(k[CT_E], row));
    if (k[CT_A] != NULL) json_object_object_add(args, "algo", json_object_new_string(cxa_algo_name((unsigned)cxa_get_u64(k[CT_A], row))));
    if (k[CT_BY] != NULL) json_object_object_add(args, "bytes", json_object_new_uint64(cxa_get_u64(k[CT_BY], row)));
    if (k[CT_BW] != NULL) json_object_object_add(args, "busbw_gbps", json_object_new_double(cxa_get_f64(k[CT_BW], row)));
    if (k[CT_IT] != NULL) json_object_object_add(args, "iteration", json_object_new_int64((int64_t)cxa_get_u64(k[CT_IT], row)));
    json_object_object_add(o, "args", args);
    cxa_jw_put(&p->w, o);
    p->n_coll++;
}

/* Per-collective tracks: a process "collectives" (pid = gpus), one thread per group. */
static int cxa_pf_coll_tracks(cxa_pf_t *p)
{
    static const char *const cneed[] = {"group_base", "group_size", "group_stride", "kind", "start_ps", "end_ps", NULL};
    cxa_table_t      ct;
    void            *cb;
    cxa_grp_t       *grp = NULL;
    size_t           ngrp = 0, capg = 0;
    const cxa_col_t *k[CT_NCOL];
    int64_t          cpid = p->gpus;
    uint64_t         r;
    int              i;
    if (p->a->no_coll_tracks || cxa_table_open(p->f, CXA_T_COLL, 0, &ct) != 0) return CXA_EXIT_OK;
    if (cxa_need_cols(&ct, cneed) != 0 || (cb = cxa_table_read_all(&ct)) == NULL) {
        cxa_table_close(&ct);
        return CXA_EXIT_FILE;
    }
    for (i = 0; i < CT_NCOL; i++) k[i] = cxa_col(&ct, cxa_pf_coll_cols[i]);
    cxa_jw_meta(&p->w, "process_name", cpid, 0, "name", json_object_new_string("collectives"));
    cxa_jw_meta(&p->w, "process_sort_index", cpid, 0, "sort_index", json_object_new_int64(cpid));
    p->n_meta += 2;
    for (r = 0; r < ct.rows; r++) {
        const void *row  = cxa_row(&ct, cb, r);
        uint64_t    base = cxa_get_u64(k[CT_B], row);
        uint32_t    size = (uint32_t)cxa_get_u64(k[CT_N], row), stride = (uint32_t)cxa_get_u64(k[CT_ST], row);
        long        gi;
        if (!cxa_pf_group_hit(p, base, size, stride)) continue;
        gi = cxa_pf_group(p, &grp, &ngrp, &capg, base, stride, size, cpid);
        if (gi < 0) break;
        cxa_pf_coll_event(p, k, row, cpid, gi);
    }
    free(grp);
    free(cb);
    cxa_table_close(&ct);
    return CXA_EXIT_OK;
}

/* Close the JSON, rename OUT.partial to OUT and say what was written. */
static int cxa_pf_finish(cxa_pf_t *p, const char *tmp, int rc)
{
    json_object *s = json_object_new_string(p->f->path);
    p->n_meta += p->n_sel * 6;
    fputs("\n],\"otherData\":{", p->w.fp);
    fprintf(p->w.fp, "\"source\":%s,\"complete\":%s,\"op_events\":%llu,\"collective_track_events\":%llu}}\n",
            json_object_to_json_string(s), p->complete ? "true" : "false", (unsigned long long)p->n_ops,
            (unsigned long long)p->n_coll);
    json_object_put(s);
    if (fclose(p->w.fp) != 0 && rc == CXA_EXIT_OK) {
        cxa_error(p->a->out, "write failed");
        rc = CXA_EXIT_USAGE;
    }
    if (rc == CXA_EXIT_OK && rename(tmp, p->a->out) != 0) {
        cxa_error(p->a->out, "cannot rename %s to this name", tmp);
        rc = CXA_EXIT_USAGE;
    }
    if (rc != CXA_EXIT_OK) {
        remove(tmp);
        return rc;
    }
    {
        struct stat st;
        printf("wrote %llu events to %s: %llu op events from %llu GPU(s), %llu collective-track events, "
               "%llu metadata events; %.1f MB\n",
               (unsigned long long)(p->n_ops + p->n_coll), p->a->out, (unsigned long long)p->n_ops,
               (unsigned long long)p->n_sel, (unsigned long long)p->n_coll, (unsigned long long)p->n_meta,
               stat(p->a->out, &st) == 0 ? (double)st.st_size * 1e-6 : 0.0);
    }
    if (p->a->gpus == NULL && p->n_sel < (uint64_t)p->gpus)
        printf("  %s of %lld GPUs; more with --gpus LIST (e.g. --gpus 0-%lld) or --gpus all "
               "(about %.0f MB)\n",
               p->sel_what, (long long)p->gpus, (long long)(p->gpus < 64 ? p->gpus - 1 : 63), p->est_all_mb);
    return rc;
}

/* The export itself, once the table is open and its columns checked. */
static int cxa_pf_write(cxa_pf_t *p, cxa_table_t *t, double max_mb)
{
    char tmp[4096];
    int  rc = cxa_gpu_mask(p->f, p->a->gpus, &p->gpus, &p->mask);
    if (rc != CXA_EXIT_OK) return rc;
    cxa_pf_select(p);
    rc = cxa_pf_estimate(p, t->rows, max_mb);
    if (rc != CXA_EXIT_OK) return rc;
    snprintf(tmp, sizeof(tmp), "%s.partial", p->a->out);
    p->w.fp = fopen(tmp, "w");
    p->w.n  = 0;
    if (p->w.fp == NULL) {
        cxa_error(p->a->out, "cannot write this file");
        return CXA_EXIT_USAGE;
    }
    fputs("{\"displayTimeUnit\":\"ns\",\"traceEvents\":[", p->w.fp);
    cxa_pf_names(p);
    rc = cxa_pf_ops(p, t);
    if (rc == CXA_EXIT_OK) rc = cxa_pf_coll_tracks(p);
    return cxa_pf_finish(p, tmp, rc);
}

int cxa_cmd_perfetto(int argc, char **argv)
{
    static const char *const need[] = {"gpu", "stream", "kind", "cls", "start_ps", "end_ps", NULL};
    cxa_args_t  a;
    cxa_file_t  f;
    cxa_table_t t;
    cxa_pf_t    p;
    double      max_mb = CXA_PF_DEFAULT_MAX_MB;
    int         rc;

    if (cxa_parse_args("export-perfetto", argc, argv, &a, "out gpus no-collective-tracks max-mb force") != 0)
        return CXA_EXIT_USAGE;
    if (a.help || a.npos != 1 || a.out == NULL) return cxa_pf_usage(&a);
    if (cxa_parse_max_mb("export-perfetto", a.max_mb, &max_mb) != 0) return CXA_EXIT_USAGE;
    memset(&p, 0, sizeof(p));
    p.f = &f;
    p.a = &a;
    if (cxa_open_run(&f, a.pos[0], &p.complete) != CXA_EXIT_OK) return CXA_EXIT_FILE;
    if (cxa_require(&f, CXA_T_OPS, "no %s table: the run was traced at level summary (use colossim run "
                    "--trace-level ops)", CXA_T_OPS) != 0)
        return CXA_EXIT_USAGE;
    if (cxa_table_open_need(&f, CXA_T_OPS, CXA_LOAD_REQUIRED, need, &t) != 0) {
        cxa_close(&f);
        return CXA_EXIT_FILE;
    }
    rc = cxa_pf_write(&p, &t, max_mb);
    free(p.mask);
    cxa_table_close(&t);
    cxa_close(&f);
    return rc;
}
