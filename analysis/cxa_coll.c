/*
 * collectives: /summary/collectives (one row per collective instance, member
 * 0's view) grouped by (kind, algorithm, protocol): count, bytes, and percentiles of
 * time and bus bandwidth.  Percentiles are nearest-rank: the value at sorted
 * index ceil(q * n) - 1.
 */
#define _POSIX_C_SOURCE 200809L
#include "cxa.h"

#include <json-c/json.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define CXA_NKIND 8
#define CXA_NALGO 8
#define CXA_NPROTO 4   /* cx_coll_proto_t; 0 (-): a trace without the proto column */

typedef struct cxa_cgroup {
    unsigned kind, algo, proto;
    uint64_t n, cap, bytes, min_size, max_size;
    double  *t_us, *bw;   /* per instance */
    double  *size;
    double   q[3][5];     /* [time, busbw, size][p50 p90 p99 max mean] */
} cxa_cgroup_t;

static void cxa_stats(double *v, uint64_t n, double *out)
{
    double   s = 0;
    uint64_t i;
    qsort(v, (size_t)n, sizeof(double), cxa_dcmp);
    for (i = 0; i < n; i++) s += v[i];
    out[0] = cxa_pct(v, n, 0.50);
    out[1] = cxa_pct(v, n, 0.90);
    out[2] = cxa_pct(v, n, 0.99);
    out[3] = n > 0 ? v[n - 1] : 0.0;
    out[4] = n > 0 ? s / (double)n : 0.0;
}

/* A group's protocol: its label, "-" where the trace has none. */
static const char *cxa_coll_proto(unsigned pr) { return pr == 0 ? "-" : cx_schema_label(CX_SCHEMA_L_COLL_PROTO, pr); }

/* One instance into its (kind, algorithm, protocol) group; -1 when out of
 * memory. */
static int cxa_coll_add(cxa_cgroup_t **g, cxa_cgroup_t **list, int *ng, unsigned k, unsigned al, unsigned pr,
                        uint64_t by, double t_us, double bw)
{
    cxa_cgroup_t *x;
    if (k >= CXA_NKIND) k = CXA_NKIND - 1;
    if (al >= CXA_NALGO) al = CXA_NALGO - 1;
    if (pr >= CXA_NPROTO) pr = 0;
    al = al * CXA_NPROTO + pr;   /* the group's slot: algorithm and protocol */
    x  = g[k * CXA_NALGO * CXA_NPROTO + al];
    if (x == NULL) {
        x = calloc(1, sizeof(*x));
        if (x == NULL) return -1;
        x->kind               = k;
        x->algo               = al / CXA_NPROTO;
        x->proto              = pr;
        x->min_size           = UINT64_MAX;
        g[k * CXA_NALGO * CXA_NPROTO + al] = x;
        list[(*ng)++]         = x;
    }
    if (x->n == x->cap) {
        uint64_t cap = x->cap ? x->cap * 2 : 256;
        double  *t1  = realloc(x->t_us, (size_t)cap * sizeof(double));
        double  *t2  = t1 != NULL ? realloc(x->bw, (size_t)cap * sizeof(double)) : NULL;
        double  *t3  = t2 != NULL ? realloc(x->size, (size_t)cap * sizeof(double)) : NULL;
        if (t1 != NULL) x->t_us = t1;
        if (t2 != NULL) x->bw = t2;
        if (t3 == NULL) return -1;
        x->size = t3;
        x->cap  = cap;
    }
    x->t_us[x->n] = t_us;
    x->bw[x->n]   = bw;
    x->size[x->n] = (double)by;
    x->n++;
    x->bytes += by;
    if (by < x->min_size) x->min_size = by;
    if (by > x->max_size) x->max_size = by;
    return 0;
}

/* Order by kind then algorithm; the statistics of each group. */
static void cxa_coll_finish(cxa_cgroup_t **list, int ng)
{
    int i;
    for (i = 1; i < ng; i++) {
        cxa_cgroup_t *x = list[i];
        int           j = i - 1;
        while (j >= 0 && ((list[j]->kind * CXA_NALGO + list[j]->algo) * CXA_NPROTO + list[j]->proto) >
                             ((x->kind * CXA_NALGO + x->algo) * CXA_NPROTO + x->proto)) {
            list[j + 1] = list[j];
            j--;
        }
        list[j + 1] = x;
    }
#pragma omp parallel for schedule(dynamic, 1)
    for (i = 0; i < ng; i++) {
        cxa_stats(list[i]->t_us, list[i]->n, list[i]->q[0]);
        cxa_stats(list[i]->bw, list[i]->n, list[i]->q[1]);
        cxa_stats(list[i]->size, list[i]->n, list[i]->q[2]);
    }
}

static void cxa_coll_print_json(const char *path, int64_t complete, uint64_t rows, cxa_cgroup_t *const *list, int ng)
{
    json_object *j = json_object_new_object(), *arr = json_object_new_array();
    static const char *const qn[5] = {"p50", "p90", "p99", "max", "mean"};
    int          i;
    json_object_object_add(j, "file", json_object_new_string(path));
    json_object_object_add(j, "complete", json_object_new_boolean(complete != 0));
    json_object_object_add(j, "instances", json_object_new_uint64(rows));
    for (i = 0; i < ng; i++) {
        json_object *o = json_object_new_object(), *tq = json_object_new_object(), *bq = json_object_new_object(),
                    *sq = json_object_new_object();
        int          q;
        json_object_object_add(o, "kind", json_object_new_string(cxa_coll_name(list[i]->kind)));
        json_object_object_add(o, "algo", json_object_new_string(cxa_algo_name(list[i]->algo)));
        json_object_object_add(o, "proto", json_object_new_string(cxa_coll_proto(list[i]->proto)));
        json_object_object_add(o, "count", json_object_new_uint64(list[i]->n));
        json_object_object_add(o, "bytes", json_object_new_uint64(list[i]->bytes));
        json_object_object_add(o, "min_size_bytes", json_object_new_uint64(list[i]->min_size));
        json_object_object_add(o, "max_size_bytes", json_object_new_uint64(list[i]->max_size));
        for (q = 0; q < 5; q++) {
            json_object_object_add(tq, qn[q], json_object_new_double(list[i]->q[0][q]));
            json_object_object_add(bq, qn[q], json_object_new_double(list[i]->q[1][q]));
            json_object_object_add(sq, qn[q], json_object_new_double(list[i]->q[2][q]));
        }
        json_object_object_add(o, "time_us", tq);
        json_object_object_add(o, "busbw_gbps", bq);
        json_object_object_add(o, "size_bytes", sq);
        json_object_array_add(arr, o);
    }
    json_object_object_add(j, "groups", arr);
    printf("%s\n", json_object_to_json_string_ext(j, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(j);
}

static void cxa_coll_print_csv(cxa_cgroup_t *const *list, int ng)
{
    int i;
    printf("kind,algo,proto,count,bytes,size_p50,time_us_p50,time_us_p90,time_us_p99,time_us_max,"
           "busbw_gbps_p50,busbw_gbps_p90,busbw_gbps_p99,busbw_gbps_max\n");
    for (i = 0; i < ng; i++) {
        const cxa_cgroup_t *x = list[i];
        printf("%s,%s,%s,%llu,%llu,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g\n", cxa_coll_name(x->kind),
               cxa_algo_name(x->algo), cxa_coll_proto(x->proto), (unsigned long long)x->n, (unsigned long long)x->bytes, x->q[2][0],
               x->q[0][0], x->q[0][1], x->q[0][2], x->q[0][3], x->q[1][0], x->q[1][1], x->q[1][2], x->q[1][3]);
    }
}

static void cxa_coll_print_table(const char *path, int64_t complete, uint64_t rows, cxa_cgroup_t *const *list, int ng)
{
    int i;
    if (!complete) printf("INCOMPLETE: run stopped early (/meta/complete = 0)\n");
    printf("collectives in %s: %llu instances (member 0's view)\n", path, (unsigned long long)rows);
    printf("%-14s %-9s %-6s %8s %11s %10s | %9s %9s %9s %9s | %8s %8s %8s %8s\n", "kind", "algo", "proto", "count",
           "GB total",
           "size p50", "t p50 us", "p90", "p99", "max", "busbw p50", "p90", "p99", "max");
    for (i = 0; i < ng; i++) {
        const cxa_cgroup_t *x = list[i];
        char                sz[32];
        double              s = x->q[2][0];
        if (s >= 1048576.0) snprintf(sz, sizeof(sz), "%.1fM", s / 1048576.0);
        else if (s >= 1024.0) snprintf(sz, sizeof(sz), "%.1fK", s / 1024.0);
        else snprintf(sz, sizeof(sz), "%.0f", s);
        printf("%-14s %-9s %-6s %8llu %11.3f %10s | %9.1f %9.1f %9.1f %9.1f | %9.1f %8.1f %8.1f %8.1f\n",
               cxa_coll_name(x->kind), cxa_algo_name(x->algo), cxa_coll_proto(x->proto), (unsigned long long)x->n, (double)x->bytes * 1e-9, sz,
               x->q[0][0], x->q[0][1], x->q[0][2], x->q[0][3], x->q[1][0], x->q[1][1], x->q[1][2], x->q[1][3]);
    }
    printf("(time in us, bus bandwidth in GB/s, nearest-rank percentiles)\n");
}

int cxa_cmd_collectives(int argc, char **argv)
{
    static const char *const need[] = {"kind", "algo", "bytes", "start_ps", "end_ps", "busbw_gbps", NULL};
    cxa_args_t       a;
    cxa_format_t     fmt;
    cxa_file_t       f;
    cxa_table_t      t;
    void            *buf;
    cxa_cgroup_t    *g[CXA_NKIND * CXA_NALGO * CXA_NPROTO];
    cxa_cgroup_t    *list[CXA_NKIND * CXA_NALGO * CXA_NPROTO];
    const cxa_col_t *c_k, *c_a, *c_p, *c_b, *c_s, *c_e, *c_bw;
    int              ng = 0, i, rc = CXA_EXIT_OK;
    int64_t          complete = 1;
    uint64_t         r;

    rc = cxa_cmd_start("collectives", argc, argv, "format",
                       "usage: colossim-analyze collectives FILE [--format table|json|csv]\n"
                       "  per collective kind, algorithm and protocol: count, bytes, time (us) and bus bandwidth\n"
                       "  (GB/s, nccl-tests definition) percentiles p50/p90/p99/max (nearest rank).\n",
                       &a, &fmt);
    if (rc >= 0) return rc;
    rc = CXA_EXIT_OK;
    if (cxa_open_run(&f, a.pos[0], &complete) != CXA_EXIT_OK) return CXA_EXIT_FILE;
    if ((buf = cxa_table_load(&f, CXA_T_COLL, CXA_LOAD_REQUIRED, need, &t)) == NULL) {
        cxa_close(&f);
        return CXA_EXIT_FILE;
    }
    c_k  = cxa_col(&t, "kind");
    c_a  = cxa_col(&t, "algo");
    c_p  = cxa_col(&t, "proto");   /* NULL in a trace written before it */
    c_b  = cxa_col(&t, "bytes");
    c_s  = cxa_col(&t, "start_ps");
    c_e  = cxa_col(&t, "end_ps");
    c_bw = cxa_col(&t, "busbw_gbps");
    memset(g, 0, sizeof(g));
    for (r = 0; r < t.rows && rc == CXA_EXIT_OK; r++) {
        const void *row = cxa_row(&t, buf, r);
        if (cxa_coll_add(g, list, &ng, (unsigned)cxa_get_u64(c_k, row), (unsigned)cxa_get_u64(c_a, row),
                         c_p != NULL ? (unsigned)cxa_get_u64(c_p, row) : 0, cxa_get_u64(c_b, row), (double)(cxa_get_i64(c_e, row) - cxa_get_i64(c_s, row)) * 1e-6,
                         cxa_get_f64(c_bw, row)) != 0)
            rc = CXA_EXIT_FILE;
    }
    if (rc != CXA_EXIT_OK) cxa_error(f.path, "out of memory");
    cxa_coll_finish(list, ng);
    if (rc == CXA_EXIT_OK) {
        if (fmt == CXA_FMT_JSON)
            cxa_coll_print_json(f.path, complete, t.rows, list, ng);
        else if (fmt == CXA_FMT_CSV)
            cxa_coll_print_csv(list, ng);
        else
            cxa_coll_print_table(f.path, complete, t.rows, list, ng);
    }
    for (i = 0; i < ng; i++) {
        free(list[i]->t_us);
        free(list[i]->bw);
        free(list[i]->size);
        free(list[i]);
    }
    free(buf);
    cxa_table_close(&t);
    cxa_close(&f);
    return rc;
}
