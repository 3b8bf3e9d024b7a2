/*
 * MPI integration test of the trace writer: several tables written by all
 * ranks (one where rank 1 has no rows, one flushed twice, one empty, one
 * never written), /meta attributes and text, close; then rank 0 reopens the
 * file with serial HDF5 and checks every row and attribute.  Also: a bad
 * directory fails cleanly on all ranks, abort leaves no file, complete=0
 * still produces the final file with /meta/complete = 0.
 *
 * usage: trace_mpi_test OUTDIR
 */
#include "cx_trace.h"

#include <hdf5.h>
#include <mpi.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define CHECK(_c, ...)                                                                 \
    do {                                                                               \
        if (!(_c)) {                                                                   \
            fprintf(stderr, "[rank %d] %s:%d: CHECK(%s) failed: ", g_rank, __FILE__,   \
                    __LINE__, #_c);                                                    \
            fprintf(stderr, __VA_ARGS__);                                              \
            fprintf(stderr, "\n");                                                     \
            MPI_Abort(MPI_COMM_WORLD, 1);                                              \
        }                                                                              \
    } while (0)

#define CHECK_OK(_st, _err) CHECK((_st) == CX_OK, "%s: %s", cx_status_string(_st), (_err).msg)

static int g_rank, g_size;

/* A row with padding (after flag and name) and a string: the repacking path. */
typedef struct {
    int64_t  t_start;
    uint32_t gpu;
    uint16_t kind;
    uint8_t  flag;
    double   dur;
    char     name[12];
} op_row_t;

/* A packed row: the single-memcpy path. */
typedef struct {
    uint64_t bin;
    uint32_t link;
    float    util;
} bin_row_t;

static const cx_trace_field_t op_fields[] = {
    CX_TRACE_FIELD(op_row_t, t_start, CX_TRACE_I64, "ps", "op start time"),
    CX_TRACE_FIELD(op_row_t, gpu, CX_TRACE_U32, "", "global GPU id"),
    CX_TRACE_FIELD(op_row_t, kind, CX_TRACE_U16, "", "op kind"),
    CX_TRACE_FIELD(op_row_t, flag, CX_TRACE_U8, "", "1 if on the critical path"),
    CX_TRACE_FIELD(op_row_t, dur, CX_TRACE_F64, "ps", "duration"),
    CX_TRACE_FIELD(op_row_t, name, CX_TRACE_STR, "", "op name"),
};

static const cx_trace_field_t bin_fields[] = {
    CX_TRACE_FIELD(bin_row_t, bin, CX_TRACE_U64, "", "time bin index"),
    CX_TRACE_FIELD(bin_row_t, link, CX_TRACE_U32, "", "link id"),
    CX_TRACE_FIELD(bin_row_t, util, CX_TRACE_F32, "1", "utilisation in the bin"),
};

#define NF(_a) (sizeof(_a) / sizeof((_a)[0]))

static size_t op_rows(int rank)
{
    return rank == 1 ? 0 : (size_t)(100 + 37 * rank);
}

static size_t bin_rows(int chunk, int rank)
{
    if (chunk == 0) {
        return (size_t)(1000 * (rank + 1));
    }
    return rank == 0 ? 50000 : (size_t)(3 * rank);
}

static void op_make(op_row_t *r, int rank, size_t i)
{
    memset(r, 0xA5, sizeof(*r)); /* garbage padding must not reach the file */
    r->t_start = (int64_t)rank * 1000000000 + (int64_t)i * 1000;
    r->gpu     = (uint32_t)(rank * 8) + (uint32_t)(i % 8);
    r->kind    = (uint16_t)((i * 7) % 65535);
    r->flag    = (uint8_t)(i & 1);
    r->dur     = 0.5 * (double)i + rank;
    snprintf(r->name, sizeof(r->name), "op-%d-%zu", rank, i);
}

static void bin_make(bin_row_t *r, int chunk, int rank, size_t i)
{
    r->bin  = (uint64_t)chunk * 1000000 + (uint64_t)rank * 100000 + i;
    r->link = (uint32_t)rank;
    r->util = (float)i * 0.25f;
}

static int file_exists(const char *p)
{
    struct stat sb;
    return stat(p, &sb) == 0;
}

static const char *config_text(void)
{
    static char buf[100000];
    size_t      n = 0;
    int         i;

    /* > 64 KiB so it cannot be an attribute. */
    for (i = 0; n + 64 < sizeof(buf) && i < 3000; i++) {
        n += (size_t)snprintf(buf + n, sizeof(buf) - n, "key_%04d: value %d\n", i, i * i);
    }
    return buf;
}

/* Define a table of bin rows (must succeed). */
static cx_trace_table_t *define_bins(cx_trace_t *tr, const char *path, const char *doc)
{
    cx_trace_table_t *t = NULL;
    cx_err_t          err;
    cx_status_t       st = cx_trace_table_define(tr, path, bin_fields, NF(bin_fields), sizeof(bin_row_t), doc, &t, &err);
    CHECK_OK(st, err);
    return t;
}

/* Open OUTDIR/NAME (must succeed): the trace; its path into p, and the
 * path of its .partial into pp. */
static cx_trace_t *open_in(const char *outdir, const char *name, char *p, size_t np, char *pp, size_t npp)
{
    cx_err_t    err;
    cx_trace_t *tr = NULL;
    cx_status_t st;
    snprintf(p, np, "%s/%s", outdir, name);
    snprintf(pp, npp, "%s.partial", p);
    st = cx_trace_open(&tr, MPI_COMM_WORLD, p, &err);
    CHECK_OK(st, err);
    return tr;
}

static void write_main(const char *path)
{
    cx_err_t          err;
    cx_trace_t       *tr = NULL;
    cx_trace_table_t *ops, *bins, *never, *zero;
    cx_status_t       st;
    size_t            i;
    int               c;

    memset(&err, 0, sizeof(err));
    st = cx_trace_open(&tr, MPI_COMM_WORLD, path, &err);
    CHECK_OK(st, err);
    st = cx_trace_table_define(tr, "/ops/gpu_ops", op_fields, NF(op_fields), sizeof(op_row_t),
                               "one row per GPU op", &ops, &err);
    CHECK_OK(st, err);
    bins  = define_bins(tr, "/links/bins", "time-binned link utilisation");
    never = define_bins(tr, "/empty/never", "defined, never written");
    zero  = define_bins(tr, "/empty/zero", "written with zero rows");
    CHECK(cx_trace_table_packed_row_size(ops) == 8 + 4 + 2 + 1 + 8 + 12, "packed size %zu",
          cx_trace_table_packed_row_size(ops));

    /* Bad definitions are rejected locally. */
    st = cx_trace_table_define(tr, "/ops/gpu_ops", op_fields, NF(op_fields), sizeof(op_row_t),
                               "dup", &never, &err);
    CHECK(st == CX_ERR_INVALID, "duplicate table accepted");
    st = cx_trace_table_define(tr, "/x", op_fields, NF(op_fields), sizeof(op_row_t) - 8, "short",
                               &never, &err);
    CHECK(st == CX_ERR_RANGE, "field outside row accepted: %s", err.msg);

    for (i = 0; i < op_rows(g_rank); i++) {
        op_row_t r;
        op_make(&r, g_rank, i);
        CHECK(cx_trace_table_append(ops, &r, 1) == CX_OK, "append");
    }
    st = cx_trace_table_write(ops, &err);
    CHECK_OK(st, err);

    st = cx_trace_table_write(zero, &err);
    CHECK_OK(st, err);

    for (c = 0; c < 2; c++) {
        size_t     n = bin_rows(c, g_rank);
        bin_row_t *rows = malloc(n * sizeof(*rows) + 1);
        CHECK(rows != NULL, "malloc");
        for (i = 0; i < n; i++) {
            bin_make(&rows[i], c, g_rank, i);
        }
        CHECK(cx_trace_table_append(bins, rows, n) == CX_OK, "append");
        free(rows);
        if (c == 0) {
            st = cx_trace_table_write(bins, &err);
        } else {
            /* Periodic flush helper: rank 0 holds 50000 > 10 rows. */
            st = cx_trace_table_write_if_over(bins, 10, &err);
        }
        CHECK_OK(st, err);
        CHECK(cx_trace_table_rows_buffered(bins) == 0, "buffer not emptied");
    }

    /* Rank-local values differ: rank 0's must win. */
    st = cx_trace_meta_set_string(tr, "run_name", g_rank == 0 ? "unit-test" : "WRONG", &err);
    CHECK_OK(st, err);
    st = cx_trace_meta_set_int64(tr, "seed", g_rank == 0 ? 42 : -1, &err);
    CHECK_OK(st, err);
    st = cx_trace_meta_set_double(tr, "wall_seconds", g_rank == 0 ? 1.25 : -1.0, &err);
    CHECK_OK(st, err);
    st = cx_trace_meta_set_int64(tr, "seed", 43, &err); /* replace */
    CHECK_OK(st, err);
    st = cx_trace_meta_set_text(tr, "config", config_text(), "application/yaml", &err);
    CHECK_OK(st, err);
    st = cx_trace_meta_set_text(tr, "config", "again", NULL, &err);
    CHECK(st == CX_ERR_INVALID, "text written twice");
    /* That error was local and identical everywhere; the trace is still fine. */

    CHECK(cx_trace_table_independent_writes(ops) == 0 &&
              cx_trace_table_independent_writes(bins) == 0,
          "HDF5 fell back to independent I/O");
    CHECK(file_exists(cx_trace_partial_path(tr)), "no .partial while writing");
    st = cx_trace_close(tr, 1, &err);
    CHECK_OK(st, err);
}

/* --- serial read-back on rank 0 ------------------------------------------ */

/* A numeric attribute, converted to the native `type`, into *v (must read). */
static void read_attr(hid_t obj, const char *name, hid_t type, void *v)
{
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
    CHECK(a >= 0 && H5Aread(a, type, v) >= 0, "attr %s", name);
    H5Aclose(a);
}

static int64_t read_attr_i64(hid_t obj, const char *name)
{
    int64_t v = 0;
    read_attr(obj, name, H5T_NATIVE_INT64, &v);
    return v;
}

static double read_attr_f64(hid_t obj, const char *name)
{
    double v = 0;
    read_attr(obj, name, H5T_NATIVE_DOUBLE, &v);
    return v;
}

static void read_attr_str(hid_t obj, const char *name, char *buf, size_t len)
{
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
    hid_t t = H5Aget_type(a);
    CHECK(a >= 0 && H5Tget_size(t) <= len, "attr %s", name);
    memset(buf, 0, len);
    CHECK(H5Aread(a, t, buf) >= 0, "attr %s", name);
    H5Tclose(t);
    H5Aclose(a);
}

static hsize_t dset_rows(hid_t f, const char *path, hid_t *dset_p)
{
    hsize_t n = 0;
    hid_t   d = H5Dopen2(f, path, H5P_DEFAULT);
    hid_t   s = H5Dget_space(d);
    CHECK(d >= 0 && s >= 0 && H5Sget_simple_extent_ndims(s) == 1, "%s", path);
    H5Sget_simple_extent_dims(s, &n, NULL);
    H5Sclose(s);
    *dset_p = d;
    return n;
}

static void verify_main(const char *path)
{
    hid_t     f, meta, d, t, st;
    hsize_t   n;
    size_t    expect, k, i;
    int       r, c;
    char      s[256];
    op_row_t *ops;
    bin_row_t *bins;

    f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    CHECK(f >= 0, "open %s", path);
    meta = H5Gopen2(f, "/meta", H5P_DEFAULT);
    CHECK(meta >= 0, "/meta");
    CHECK(read_attr_i64(meta, "schema_version") == CX_TRACE_SCHEMA_VERSION, "schema_version");
    CHECK(read_attr_i64(meta, "complete") == 1, "complete");
    CHECK(read_attr_i64(meta, "ranks") == g_size, "ranks");
    CHECK(read_attr_i64(meta, "seed") == 43, "seed");
    CHECK(read_attr_f64(meta, "wall_seconds") == 1.25, "wall_seconds");
    read_attr_str(meta, "run_name", s, sizeof(s));
    CHECK(strcmp(s, "unit-test") == 0, "run_name '%s'", s);
    read_attr_str(meta, "hdf5_version", s, sizeof(s));
    CHECK(s[0] != '\0', "hdf5_version");
    {
        /* The config text, byte for byte. */
        const char *want = config_text();
        char       *got;
        hid_t       cd = H5Dopen2(meta, "config", H5P_DEFAULT);
        hid_t       ct = H5Dget_type(cd);
        size_t      sz = H5Tget_size(ct);
        CHECK(cd >= 0 && sz == strlen(want) + 1, "config size %zu vs %zu", sz, strlen(want) + 1);
        got = calloc(1, sz);
        CHECK(H5Dread(cd, ct, H5S_ALL, H5S_ALL, H5P_DEFAULT, got) >= 0, "read config");
        CHECK(strcmp(got, want) == 0, "config text differs");
        read_attr_str(cd, "content_type", s, sizeof(s));
        CHECK(strcmp(s, "application/yaml") == 0, "content_type");
        free(got);
        H5Tclose(ct);
        H5Dclose(cd);
    }

    /* /ops/gpu_ops: rank-major order; rank 1 wrote nothing. */
    for (expect = 0, r = 0; r < g_size; r++) {
        expect += op_rows(r);
    }
    n = dset_rows(f, "/ops/gpu_ops", &d);
    CHECK(n == expect, "/ops/gpu_ops rows %llu, want %zu", (unsigned long long)n, expect);
    read_attr_str(d, "doc", s, sizeof(s));
    CHECK(strcmp(s, "one row per GPU op") == 0, "doc '%s'", s);
    {
        /* field_units[0] == "ps" */
        hid_t  a  = H5Aopen(d, "field_units", H5P_DEFAULT);
        hid_t  at = H5Aget_type(a);
        size_t w  = H5Tget_size(at);
        char  *u  = calloc(NF(op_fields), w);
        CHECK(H5Aread(a, at, u) >= 0 && strcmp(u, "ps") == 0, "field_units");
        free(u);
        H5Tclose(at);
        H5Aclose(a);
    }
    /* Read into the caller's padded struct: HDF5 converts by member name. */
    t = H5Tcreate(H5T_COMPOUND, sizeof(op_row_t));
    H5Tinsert(t, "t_start", offsetof(op_row_t, t_start), H5T_NATIVE_INT64);
    H5Tinsert(t, "gpu", offsetof(op_row_t, gpu), H5T_NATIVE_UINT32);
    H5Tinsert(t, "kind", offsetof(op_row_t, kind), H5T_NATIVE_UINT16);
    H5Tinsert(t, "flag", offsetof(op_row_t, flag), H5T_NATIVE_UINT8);
    H5Tinsert(t, "dur", offsetof(op_row_t, dur), H5T_NATIVE_DOUBLE);
    st = H5Tcopy(H5T_C_S1);
    H5Tset_size(st, 12);
    H5Tset_strpad(st, H5T_STR_NULLPAD);
    H5Tinsert(t, "name", offsetof(op_row_t, name), st);
    ops = calloc(expect + 1, sizeof(*ops));
    CHECK(H5Dread(d, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, ops) >= 0, "read ops");
    for (k = 0, r = 0; r < g_size; r++) {
        for (i = 0; i < op_rows(r); i++, k++) {
            op_row_t w;
            op_make(&w, r, i);
            CHECK(ops[k].t_start == w.t_start && ops[k].gpu == w.gpu && ops[k].kind == w.kind &&
                      ops[k].flag == w.flag && ops[k].dur == w.dur &&
                      strncmp(ops[k].name, w.name, 12) == 0,
                  "ops row %zu (rank %d #%zu)", k, r, i);
        }
    }
    free(ops);
    H5Tclose(st);
    H5Tclose(t);
    H5Dclose(d);

    /* /links/bins: flush 0 from all ranks, then flush 1 from all ranks. */
    for (expect = 0, c = 0; c < 2; c++) {
        for (r = 0; r < g_size; r++) {
            expect += bin_rows(c, r);
        }
    }
    n = dset_rows(f, "/links/bins", &d);
    CHECK(n == expect, "/links/bins rows %llu, want %zu", (unsigned long long)n, expect);
    t = H5Tcreate(H5T_COMPOUND, sizeof(bin_row_t));
    H5Tinsert(t, "bin", offsetof(bin_row_t, bin), H5T_NATIVE_UINT64);
    H5Tinsert(t, "link", offsetof(bin_row_t, link), H5T_NATIVE_UINT32);
    H5Tinsert(t, "util", offsetof(bin_row_t, util), H5T_NATIVE_FLOAT);
    bins = calloc(expect + 1, sizeof(*bins));
    CHECK(H5Dread(d, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, bins) >= 0, "read bins");
    for (k = 0, c = 0; c < 2; c++) {
        for (r = 0; r < g_size; r++) {
            for (i = 0; i < bin_rows(c, r); i++, k++) {
                bin_row_t w;
                bin_make(&w, c, r, i);
                CHECK(bins[k].bin == w.bin && bins[k].link == w.link && bins[k].util == w.util,
                      "bins row %zu", k);
            }
        }
    }
    free(bins);
    H5Tclose(t);
    H5Dclose(d);

    CHECK(dset_rows(f, "/empty/never", &d) == 0, "/empty/never not empty");
    H5Dclose(d);
    CHECK(dset_rows(f, "/empty/zero", &d) == 0, "/empty/zero not empty");
    H5Dclose(d);
    H5Gclose(meta);
    CHECK(H5Fclose(f) >= 0, "close");
}

/* --- failure paths ------------------------------------------------------- */

static void test_bad_dir(const char *outdir)
{
    cx_err_t    err;
    cx_trace_t *tr = NULL;
    char        p[4096];
    cx_status_t st;

    snprintf(p, sizeof(p), "%s/no/such/dir/t.h5", outdir);
    memset(&err, 0, sizeof(err));
    st = cx_trace_open(&tr, MPI_COMM_WORLD, p, &err);
    CHECK(st == CX_ERR_IO && tr == NULL, "bad dir accepted");
    CHECK(strstr(err.msg, "does not exist") != NULL, "message: %s", err.msg);
    if (g_rank == 0) {
        printf("bad dir message: %s\n", err.msg);
    }
}

static void test_abort(const char *outdir)
{
    cx_err_t          err;
    char              p[4096], pp[4200];
    cx_trace_t       *tr   = open_in(outdir, "aborted.h5", p, sizeof(p), pp, sizeof(pp));
    cx_trace_table_t *bins = define_bins(tr, "/links/bins", "x");
    bin_row_t         row;
    cx_status_t       st;

    bin_make(&row, 0, g_rank, 0);
    cx_trace_table_append(bins, &row, 1);
    st = cx_trace_table_write(bins, &err);
    CHECK_OK(st, err);
    cx_trace_abort(tr);
    CHECK(!file_exists(p) && !file_exists(pp), "abort left a file");
}

static void test_stopped(const char *outdir)
{
    cx_err_t    err;
    char        p[4096], pp[4200];
    cx_trace_t *tr = open_in(outdir, "stopped.h5", p, sizeof(p), pp, sizeof(pp));
    cx_status_t st;

    st = cx_trace_close(tr, 0, &err);
    CHECK_OK(st, err);
    if (g_rank == 0) {
        hid_t f = H5Fopen(p, H5F_ACC_RDONLY, H5P_DEFAULT);
        hid_t m = H5Gopen2(f, "/meta", H5P_DEFAULT);
        CHECK(f >= 0 && m >= 0, "open stopped");
        CHECK(read_attr_i64(m, "complete") == 0, "complete should be 0");
        H5Gclose(m);
        H5Fclose(f);
        CHECK(!file_exists(pp), ".partial left");
    }
}

/* Ranks disagree on a table definition: every rank gets the error from the
 * collective write, close fails on all ranks and neither file remains. */
static void test_mismatch(const char *outdir)
{
    cx_err_t          err;
    char              p[4096], pp[4200];
    cx_trace_t       *tr   = open_in(outdir, "mismatch.h5", p, sizeof(p), pp, sizeof(pp));
    cx_trace_table_t *bins = define_bins(tr, "/links/bins", g_rank == 0 ? "doc A" : "doc B");
    cx_status_t       st;

    st = cx_trace_table_write(bins, &err);
    CHECK(st == CX_ERR_INTERNAL, "mismatch not detected: %s", cx_status_string(st));
    st = cx_trace_meta_set_int64(tr, "x", 1, &err);
    CHECK(st == CX_ERR_IO, "poisoned trace accepted a write");
    st = cx_trace_close(tr, 1, &err);
    CHECK(st != CX_OK, "close of a failed trace succeeded");
    CHECK(!file_exists(p) && !file_exists(pp), "failed close left a file");
}

int main(int argc, char **argv)
{
    char path[4096], partial[4200];

    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &g_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &g_size);
    CHECK(argc == 2, "usage: %s OUTDIR", argv[0]);
    snprintf(path, sizeof(path), "%s/trace_test.h5", argv[1]);
    snprintf(partial, sizeof(partial), "%s.partial", path);
    if (g_rank == 0) {
        remove(path);
    }
    MPI_Barrier(MPI_COMM_WORLD);

    write_main(path);
    if (g_rank == 0) {
        CHECK(file_exists(path), "final file missing");
        CHECK(!file_exists(partial), ".partial left after success");
        verify_main(path);
    }
    MPI_Barrier(MPI_COMM_WORLD);
    test_bad_dir(argv[1]);
    test_abort(argv[1]);
    test_stopped(argv[1]);
    test_mismatch(argv[1]);
    MPI_Barrier(MPI_COMM_WORLD);
    if (g_rank == 0) {
        printf("trace_mpi_test: OK (%d ranks)\n", g_size);
    }
    MPI_Finalize();
    return 0;
}
