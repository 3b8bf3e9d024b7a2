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

int cxa_cmd_perfetto(int argc, char **argv)
{
    static const char *const need[] = {"gpu", "stream", "kind", "cls", "start_ps", "end_ps", NULL};
    cxa_args_t       a;
    cxa_file_t       f;
    cxa_table_t      t;
    cxa_jw_t         w;
    unsigned char   *mask = NULL, *buf = NULL;
    int64_t          gpus = 0, complete = 1, layout[4];
    double           max_mb = CXA_PF_DEFAULT_MAX_MB, est_mb, est_ops, est_all_mb;
    uint64_t         est_coll = 0, coll_rows = 0;
    char             sel_what[256];
    uint64_t         g, start, block, n_ops = 0, n_coll = 0, n_meta = 0, n_sel = 0;
    char             tmp[4096];
    int              rc = CXA_EXIT_OK;
    const cxa_col_t *c_gpu, *c_st, *c_k, *c_cls, *c_s, *c_e, *c_blk, *c_lay, *c_ph, *c_mb, *c_it, *c_by,
                    *c_fl, *c_tag, *c_peer, *c_al, *c_gs, *c_gst;

    if (cxa_parse_args("export-perfetto", argc, argv, &a, "out gpus no-collective-tracks max-mb force") != 0)
        return CXA_EXIT_USAGE;
    if (a.help || a.npos != 1 || a.out == NULL) {
        cxa_usage_error("export-perfetto", &a, 1, "X.json (where to write)");
        fprintf(a.help ? stdout : stderr,
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
        return a.help ? CXA_EXIT_OK : CXA_EXIT_USAGE;
    }
    if (a.max_mb != NULL) {
        char *end;
        max_mb = strtod(a.max_mb, &end);
        if (end == a.max_mb || *end != '\0' || max_mb < 0) {
            cxa_error(NULL, "export-perfetto: --max-mb '%s': expected a size in MB >= 0 (0 = no limit)", a.max_mb);
            return CXA_EXIT_USAGE;
        }
    }
    if (cxa_open(&f, a.pos[0]) != 0) return CXA_EXIT_FILE;
    cxa_meta_i64(&f, "complete", &complete);
    if (!complete) fprintf(stderr, "colossim-analyze: %s: INCOMPLETE: run stopped early\n", f.path);
    if (!cxa_exists(&f, CXA_T_OPS)) {
        cxa_error(f.path, "no %s table: the run was traced at level summary (use colossim run "
                          "--trace-level ops)", CXA_T_OPS);
        cxa_close(&f);
        return CXA_EXIT_USAGE;
    }
    if (cxa_table_open(&f, CXA_T_OPS, 1, &t) != 0) {
        cxa_close(&f);
        return CXA_EXIT_FILE;
    }
    if (cxa_need_cols(&t, need) != 0) {
        rc = CXA_EXIT_FILE;
        goto out;
    }
    rc = cxa_gpu_mask(&f, a.gpus, &gpus, &mask);
    if (rc != CXA_EXIT_OK) goto out;
    if (a.gpus != NULL) {
        snprintf(sel_what, sizeof(sel_what), "GPUs %s", a.gpus);
    } else if (gpus <= CXA_PF_ALL_GPUS) {
        snprintf(sel_what, sizeof(sel_what), "all %lld GPUs", (long long)gpus);
    } else if (cxa_pf_layout(&f, gpus, layout) && layout[2] > 1) {
        int64_t per = layout[0] * layout[1] * layout[3], st;
        int     len;
        memset(mask, 0, (size_t)gpus);
        len = snprintf(sel_what, sizeof(sel_what), "one pipeline: the first GPU of each of the %lld pipeline "
                       "stages (GPUs", (long long)layout[2]);
        for (st = 0; st < layout[2]; st++) {
            mask[st * per] = 1;
            if (st < 3 || st == layout[2] - 1)
                len += snprintf(sel_what + len, sizeof(sel_what) - (size_t)len, "%s %lld",
                                st == 0 ? "" : st == 3 && layout[2] > 4 ? ", ...," : ",", (long long)(st * per));
        }
        snprintf(sel_what + len, sizeof(sel_what) - (size_t)len, ")");
    } else {
        memset(mask, 0, (size_t)gpus);
        memset(mask, 1, 8);
        snprintf(sel_what, sizeof(sel_what), "GPUs 0-7 (of %lld)", (long long)gpus);
    }
    for (g = 0; g < (uint64_t)gpus; g++) n_sel += mask[g];

    /* Estimate before writing: op rows in proportion to the GPUs, and the
     * collective-track events exactly (the same test as when writing). */
    if (!a.no_coll_tracks && cxa_exists(&f, CXA_T_COLL)) {
        cxa_table_t ct;
        if (cxa_table_open(&f, CXA_T_COLL, 0, &ct) == 0) {
            const cxa_col_t *k_b = cxa_col(&ct, "group_base"), *k_n = cxa_col(&ct, "group_size"),
                            *k_st = cxa_col(&ct, "group_stride");
            uint64_t         cblock = ct.row_size > 0 ? (uint64_t)(32u << 20) / ct.row_size : 1, cs;
            void            *cb = k_b && k_n && k_st ? malloc((size_t)cblock * ct.row_size + 1) : NULL;
            coll_rows = ct.rows;
            for (cs = 0; cb != NULL && cs < ct.rows; cs += cblock) {
                uint64_t n = ct.rows - cs < cblock ? ct.rows - cs : cblock, r;
                if (cxa_table_read(&ct, cs, n, cb) != 0) break;
                for (r = 0; r < n; r++) {
                    const void *row  = cxa_row(&ct, cb, r);
                    uint64_t    base = cxa_get_u64(k_b, row), size = cxa_get_u64(k_n, row),
                                stride = cxa_get_u64(k_st, row), i;
                    for (i = 0; i < size && i < (uint64_t)gpus; i++) { /* a corrupt size of 2^32 hung */
                        uint64_t m = base + i * stride;
                        if (m < (uint64_t)gpus && mask[m]) {
                            est_coll++;
                            break;
                        }
                    }
                }
            }
            free(cb);
            cxa_table_close(&ct);
        }
    }
    est_ops    = (double)t.rows * (double)n_sel / (double)gpus;
    est_mb     = (est_ops * CXA_PF_BYTES_PER_OP + (double)est_coll * CXA_PF_BYTES_PER_COLL) * 1e-6;
    est_all_mb = ((double)t.rows * CXA_PF_BYTES_PER_OP + (double)coll_rows * CXA_PF_BYTES_PER_COLL) * 1e-6;
    printf("export-perfetto: %s: about %.0f op events and %llu collective-track events, about %.1f MB "
           "(estimated; every GPU: about %.0f MB)\n",
           sel_what, est_ops, (unsigned long long)est_coll, est_mb, est_all_mb);
    if (max_mb > 0 && est_mb > max_mb && !a.force) {
        cxa_error(a.out, "not written: the export would be about %.0f MB, above --max-mb %.0f (%s).  Select "
                  "fewer GPUs with --gpus, raise --max-mb (0 = no limit) or add --force",
                  est_mb, max_mb, sel_what);
        rc = CXA_EXIT_USAGE;
        goto out;
    }
    fflush(stdout);
    c_gpu  = cxa_col(&t, "gpu");
    c_st   = cxa_col(&t, "stream");
    c_k    = cxa_col(&t, "kind");
    c_cls  = cxa_col(&t, "cls");
    c_s    = cxa_col(&t, "start_ps");
    c_e    = cxa_col(&t, "end_ps");
    c_blk  = cxa_col(&t, "block");
    c_lay  = cxa_col(&t, "layer");
    c_ph   = cxa_col(&t, "phase");
    c_mb   = cxa_col(&t, "microbatch");
    c_it   = cxa_col(&t, "iteration");
    c_by   = cxa_col(&t, "bytes");
    c_fl   = cxa_col(&t, "flops");
    c_tag  = cxa_col(&t, "tag");
    c_peer = cxa_col(&t, "peer");
    c_al   = cxa_col(&t, "algo");
    c_gs   = cxa_col(&t, "group_size");
    c_gst  = cxa_col(&t, "group_stride");

    snprintf(tmp, sizeof(tmp), "%s.partial", a.out);
    w.fp = fopen(tmp, "w");
    w.n  = 0;
    if (w.fp == NULL) {
        cxa_error(a.out, "cannot write this file");
        rc = CXA_EXIT_USAGE;
        goto out;
    }
    fputs("{\"displayTimeUnit\":\"ns\",\"traceEvents\":[", w.fp);

    /* Process and thread names. */
    for (g = 0; g < (uint64_t)gpus; g++) {
        unsigned s;
        char     nm[64];
        if (!mask[g]) continue;
        snprintf(nm, sizeof(nm), "GPU %llu", (unsigned long long)g);
        cxa_jw_meta(&w, "process_name", (int64_t)g, 0, "name", json_object_new_string(nm));
        cxa_jw_meta(&w, "process_sort_index", (int64_t)g, 0, "sort_index", json_object_new_int64((int64_t)g));
        for (s = 0; s < 4; s++) {
            snprintf(nm, sizeof(nm), "s%u %s", s, cxa_stream_name(s));
            cxa_jw_meta(&w, "thread_name", (int64_t)g, s, "name", json_object_new_string(nm));
        }
    }

    /* One event per op row of a selected GPU. */
    block = t.row_size > 0 ? (uint64_t)(32u << 20) / t.row_size : 1;
    if (block > t.rows) block = t.rows > 0 ? t.rows : 1;
    buf = malloc((size_t)block * t.row_size + 1);
    if (buf == NULL) {
        cxa_error(f.path, "out of memory");
        rc = CXA_EXIT_FILE;
    }
    for (start = 0; rc == CXA_EXIT_OK && start < t.rows; start += block) {
        uint64_t n = t.rows - start < block ? t.rows - start : block, r;
        if (cxa_table_read(&t, start, n, buf) != 0) {
            rc = CXA_EXIT_FILE;
            break;
        }
        for (r = 0; r < n; r++) {
            const void  *row = cxa_row(&t, buf, r);
            uint64_t     gpu = cxa_get_u64(c_gpu, row);
            unsigned     kind, cls, blk = 0, lay = 0xFFFF;
            int64_t      ts, te;
            json_object *o, *args;
            char         name[96], lab[32];
            const char  *what;
            if (gpu >= (uint64_t)gpus || !mask[gpu]) continue;
            kind = (unsigned)cxa_get_u64(c_k, row);
            cls  = (unsigned)cxa_get_u64(c_cls, row);
            ts   = cxa_get_i64(c_s, row);
            te   = cxa_get_i64(c_e, row);
            if (c_blk != NULL) blk = (unsigned)cxa_get_u64(c_blk, row);
            if (c_lay != NULL) lay = (unsigned)cxa_get_u64(c_lay, row);
            switch (kind) {
            case 0: what = cxa_class_name(cls); break;
            case 3: what = cxa_coll_name(cls); break;
            case 4: snprintf(lab, sizeof(lab), "wait %s", cxa_stream_name(cls)); what = lab; break;
            default: what = cxa_kind_name(kind); break;
            }
            if (lay != 0xFFFF && blk != 0)
                snprintf(name, sizeof(name), "%s %s L%u", what, cxa_block_name(blk), lay);
            else if (blk != 0)
                snprintf(name, sizeof(name), "%s %s", what, cxa_block_name(blk));
            else
                snprintf(name, sizeof(name), "%s", what);
            o    = json_object_new_object();
            args = json_object_new_object();
            json_object_object_add(o, "ph", json_object_new_string("X"));
            json_object_object_add(o, "name", json_object_new_string(name));
            json_object_object_add(o, "cat", json_object_new_string(cxa_kind_name(kind)));
            json_object_object_add(o, "pid", json_object_new_int64((int64_t)gpu));
            json_object_object_add(o, "tid", json_object_new_int64((int64_t)cxa_get_u64(c_st, row)));
            json_object_object_add(o, "ts", json_object_new_double((double)ts * 1e-6));
            json_object_object_add(o, "dur", json_object_new_double((double)(te - ts) * 1e-6));
            if (c_it != NULL) json_object_object_add(args, "iteration", json_object_new_int64((int64_t)cxa_get_u64(c_it, row)));
            if (c_mb != NULL && cxa_get_u64(c_mb, row) != 0xFFFFFFFFu)
                json_object_object_add(args, "microbatch", json_object_new_int64((int64_t)cxa_get_u64(c_mb, row)));
            if (c_ph != NULL) json_object_object_add(args, "phase", json_object_new_string(cxa_phase_name((unsigned)cxa_get_u64(c_ph, row))));
            if (c_by != NULL && kind <= 3) json_object_object_add(args, "bytes", json_object_new_uint64(cxa_get_u64(c_by, row)));
            if (c_fl != NULL && kind == 0) json_object_object_add(args, "flops", json_object_new_double(cxa_get_f64(c_fl, row)));
            if (c_peer != NULL && (kind == 1 || kind == 2)) json_object_object_add(args, "peer", json_object_new_uint64(cxa_get_u64(c_peer, row)));
            if (kind == 3) {
                char grp[64];
                snprintf(grp, sizeof(grp), "%llu+%llux%llu",
                         (unsigned long long)(c_peer ? cxa_get_u64(c_peer, row) : 0),
                         (unsigned long long)(c_gst ? cxa_get_u64(c_gst, row) : 0),
                         (unsigned long long)(c_gs ? cxa_get_u64(c_gs, row) : 0));
                json_object_object_add(args, "group", json_object_new_string(grp));
                if (c_al != NULL) json_object_object_add(args, "algo", json_object_new_string(cxa_algo_name((unsigned)cxa_get_u64(c_al, row))));
            }
            if (c_tag != NULL && kind >= 1 && kind <= 3) {
                char tg[24];
                snprintf(tg, sizeof(tg), "%016llx", (unsigned long long)cxa_get_u64(c_tag, row));
                json_object_object_add(args, "tag", json_object_new_string(tg));
            }
            json_object_object_add(o, "args", args);
            cxa_jw_put(&w, o);
            n_ops++;
        }
    }
    free(buf);
    buf = NULL;

    /* Per-collective tracks. */
    if (rc == CXA_EXIT_OK && !a.no_coll_tracks) {
        static const char *const cneed[] = {"group_base", "group_size", "group_stride", "kind", "start_ps", "end_ps", NULL};
        cxa_table_t ct;
        if (cxa_table_open(&f, CXA_T_COLL, 0, &ct) == 0) {
            void      *cb = NULL;
            cxa_grp_t *grp = NULL;
            size_t     ngrp = 0, capg = 0;
            if (cxa_need_cols(&ct, cneed) == 0 && (cb = cxa_table_read_all(&ct)) != NULL) {
                const cxa_col_t *k_b = cxa_col(&ct, "group_base"), *k_n = cxa_col(&ct, "group_size"),
                                *k_st = cxa_col(&ct, "group_stride"), *k_k = cxa_col(&ct, "kind"),
                                *k_s = cxa_col(&ct, "start_ps"), *k_e = cxa_col(&ct, "end_ps"),
                                *k_a = cxa_col(&ct, "algo"), *k_by = cxa_col(&ct, "bytes"),
                                *k_blk = cxa_col(&ct, "block"), *k_lay = cxa_col(&ct, "layer"),
                                *k_it = cxa_col(&ct, "iteration"), *k_bw = cxa_col(&ct, "busbw_gbps");
                int64_t          cpid = gpus;
                uint64_t         r;
                cxa_jw_meta(&w, "process_name", cpid, 0, "name", json_object_new_string("collectives"));
                cxa_jw_meta(&w, "process_sort_index", cpid, 0, "sort_index", json_object_new_int64(cpid));
                n_meta += 2;
                for (r = 0; r < ct.rows; r++) {
                    const void  *row  = cxa_row(&ct, cb, r);
                    uint64_t     base = cxa_get_u64(k_b, row), i;
                    uint32_t     size = (uint32_t)cxa_get_u64(k_n, row), stride = (uint32_t)cxa_get_u64(k_st, row);
                    int          hit = 0;
                    size_t       gi;
                    unsigned     kind = (unsigned)cxa_get_u64(k_k, row);
                    int64_t      ts = cxa_get_i64(k_s, row), te = cxa_get_i64(k_e, row);
                    json_object *o, *args;
                    char         name[96];
                    for (i = 0; i < size && i < (uint64_t)gpus && !hit; i++) {
                        uint64_t m = base + i * stride;
                        if (m < (uint64_t)gpus && mask[m]) hit = 1;
                    }
                    if (!hit) continue;
                    for (gi = 0; gi < ngrp; gi++)
                        if (grp[gi].base == base && grp[gi].stride == stride && grp[gi].size == size) break;
                    if (gi == ngrp) {
                        char nm[96];
                        if (ngrp == capg) {
                            size_t     c2 = capg ? capg * 2 : 64;
                            cxa_grp_t *g2 = realloc(grp, c2 * sizeof(*g2));
                            if (g2 == NULL) break;
                            grp  = g2;
                            capg = c2;
                        }
                        grp[ngrp].base   = base;
                        grp[ngrp].stride = stride;
                        grp[ngrp].size   = size;
                        ngrp++;
                        snprintf(nm, sizeof(nm), "group %llu+%ux%u", (unsigned long long)base, stride, size);
                        cxa_jw_meta(&w, "thread_name", cpid, (int64_t)gi, "name", json_object_new_string(nm));
                        n_meta++;
                    }
                    if (k_blk != NULL && k_lay != NULL && cxa_get_u64(k_lay, row) != 0xFFFF)
                        snprintf(name, sizeof(name), "%s %s L%llu", cxa_coll_name(kind),
                                 cxa_block_name((unsigned)cxa_get_u64(k_blk, row)),
                                 (unsigned long long)cxa_get_u64(k_lay, row));
                    else
                        snprintf(name, sizeof(name), "%s", cxa_coll_name(kind));
                    o    = json_object_new_object();
                    args = json_object_new_object();
                    json_object_object_add(o, "ph", json_object_new_string("X"));
                    json_object_object_add(o, "name", json_object_new_string(name));
                    json_object_object_add(o, "cat", json_object_new_string("collective_instance"));
                    json_object_object_add(o, "pid", json_object_new_int64(cpid));
                    json_object_object_add(o, "tid", json_object_new_int64((int64_t)gi));
                    json_object_object_add(o, "ts", json_object_new_double((double)ts * 1e-6));
                    json_object_object_add(o, "dur", json_object_new_double((double)(te - ts) * 1e-6));
                    if (k_a != NULL) json_object_object_add(args, "algo", json_object_new_string(cxa_algo_name((unsigned)cxa_get_u64(k_a, row))));
                    if (k_by != NULL) json_object_object_add(args, "bytes", json_object_new_uint64(cxa_get_u64(k_by, row)));
                    if (k_bw != NULL) json_object_object_add(args, "busbw_gbps", json_object_new_double(cxa_get_f64(k_bw, row)));
                    if (k_it != NULL) json_object_object_add(args, "iteration", json_object_new_int64((int64_t)cxa_get_u64(k_it, row)));
                    json_object_object_add(o, "args", args);
                    cxa_jw_put(&w, o);
                    n_coll++;
                }
            } else {
                rc = CXA_EXIT_FILE;
            }
            free(grp);
            free(cb);
            cxa_table_close(&ct);
        }
    }
    n_meta += n_sel * 6;
    fputs("\n],\"otherData\":{", w.fp);
    {
        json_object *s = json_object_new_string(f.path);
        fprintf(w.fp, "\"source\":%s,\"complete\":%s,\"op_events\":%llu,\"collective_track_events\":%llu}}\n",
                json_object_to_json_string(s), complete ? "true" : "false", (unsigned long long)n_ops,
                (unsigned long long)n_coll);
        json_object_put(s);
    }
    if (fclose(w.fp) != 0 && rc == CXA_EXIT_OK) {
        cxa_error(a.out, "write failed");
        rc = CXA_EXIT_USAGE;
    }
    if (rc == CXA_EXIT_OK && rename(tmp, a.out) != 0) {
        cxa_error(a.out, "cannot rename %s to this name", tmp);
        rc = CXA_EXIT_USAGE;
    }
    if (rc != CXA_EXIT_OK)
        remove(tmp);
    else {
        struct stat st;
        printf("wrote %llu events to %s: %llu op events from %llu GPU(s), %llu collective-track events, "
               "%llu metadata events; %.1f MB\n",
               (unsigned long long)(n_ops + n_coll), a.out, (unsigned long long)n_ops,
               (unsigned long long)n_sel, (unsigned long long)n_coll, (unsigned long long)n_meta,
               stat(a.out, &st) == 0 ? (double)st.st_size * 1e-6 : 0.0);
        if (a.gpus == NULL && n_sel < (uint64_t)gpus)
            printf("  %s of %lld GPUs; more with --gpus LIST (e.g. --gpus 0-%lld) or --gpus all "
                   "(about %.0f MB)\n",
                   sel_what, (long long)gpus, (long long)(gpus < 64 ? gpus - 1 : 63), est_all_mb);
    }
out:
    free(buf);
    free(mask);
    cxa_table_close(&t);
    cxa_close(&f);
    return rc;
}
