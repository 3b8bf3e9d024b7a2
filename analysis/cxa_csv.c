/*
 * export-csv: any table of a trace (/ops/gpu_ops, /links/bins, /links/ports,
 * /summary/iterations, ...) as CSV, for spreadsheets, pandas and tools that
 * do not read HDF5.  Columns are read generically (SCHEMA.md: a 1-D
 * compound dataset, columns looked up by name), so every table and every
 * column that a later schema adds comes out without code here.
 *
 * Big tables are big: /ops/gpu_ops of the 16k-GPU job is 94 M rows.  The
 * size is estimated before writing (rows sampled over the table formatted,
 * times the rows selected) and an export above --max-mb (default 1024) is refused
 * unless --force; --gpus keeps the rows of some GPUs (tables with a `gpu`
 * column).  Rows are streamed in blocks; the file is written as OUT.partial
 * and renamed, so a failed export leaves nothing behind.
 */
#define _POSIX_C_SOURCE 200809L
#include "cxa.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define CXA_CSV_DEFAULT_MAX_MB 1024.0
#define CXA_CSV_SAMPLE_ROWS    1000

/* One cell; returns characters written (snprintf-style, may exceed len). */
static int cxa_csv_cell(char *buf, size_t len, const cxa_col_t *c, const void *row)
{
    switch (c->cls) {
    case 'u': return snprintf(buf, len, "%llu", (unsigned long long)cxa_get_u64(c, row));
    case 'i': return snprintf(buf, len, "%lld", (long long)cxa_get_i64(c, row));
    case 'f': return snprintf(buf, len, "%.17g", cxa_get_f64(c, row));
    case 's': {
        /* Fixed-length, NUL-padded: quote, doubling quotes. */
        const char *s = (const char *)row + c->off;
        size_t      i, n = 0;
        int         w = 0;
        while (n < c->size && s[n] != '\0') n++;
        if (len > 0) buf[w] = '"';
        w++;
        for (i = 0; i < n; i++) {
            if (s[i] == '"') {
                if ((size_t)w < len) buf[w] = '"';
                w++;
            }
            if ((size_t)w < len) buf[w] = s[i];
            w++;
        }
        if ((size_t)w < len) buf[w] = '"';
        w++;
        if ((size_t)w < len) buf[w] = '\0';
        return w;
    }
    default: return snprintf(buf, len, "?");
    }
}

static int cxa_csv_row(FILE *fp, const cxa_table_t *t, const void *row)
{
    char line[8192];
    int  k, n = 0;
    for (k = 0; k < t->ncols; k++) {
        if (k > 0 && (size_t)n < sizeof(line)) line[n++] = ',';
        n += cxa_csv_cell(line + ((size_t)n < sizeof(line) ? n : (int)sizeof(line)),
                          (size_t)n < sizeof(line) ? sizeof(line) - (size_t)n : 0, &t->cols[k], row);
    }
    if ((size_t)n + 1 >= sizeof(line)) return -1;
    line[n++] = '\n';
    return fp != NULL ? (fwrite(line, 1, (size_t)n, fp) == (size_t)n ? n : -1) : n;
}

/* One export: the table, a block buffer and the GPU selection. */
typedef struct cxa_cx {
    const cxa_args_t *a;
    cxa_file_t       *f;
    cxa_table_t       t;
    const cxa_col_t  *c_gpu;
    unsigned char    *mask;
    cxa_blocks_t      b;
    int64_t           gpus;
} cxa_cx_t;

static int cxa_cx_usage(const cxa_args_t *a)
{
    cxa_usage_error("export-csv", a, 1, "X.csv (where to write)");
    if (!a->help && a->npos == 1 && a->out != NULL && a->table == NULL)
        cxa_error(NULL, "export-csv: missing --table PATH (e.g. /ops/gpu_ops, /links/bins)");
    return cxa_usage_print(a,
            "usage: colossim-analyze export-csv FILE --table PATH --out X.csv [--gpus 0-7,16|all]\n"
            "                                   [--max-mb N] [--force]\n"
            "  one table of the trace as CSV: a header of its column names, one line per row,\n"
            "  every column (integers, %%.17g floats, quoted strings).  PATH: /ops/gpu_ops,\n"
            "  /links/bins, /links/ports, /summary/iterations, /summary/collectives, /power/...\n"
            "  --gpus keeps the rows of those GPUs (tables with a gpu column).  The size is\n"
            "  estimated first; above --max-mb (default %.0f; 0 = no limit) nothing is written\n"
            "  unless --force.\n", CXA_CSV_DEFAULT_MAX_MB);
}

static int cxa_cx_keep(const cxa_cx_t *X, const void *row)
{
    uint64_t g;
    if (X->mask == NULL) return 1;
    g = cxa_get_u64(X->c_gpu, row);
    return g < (uint64_t)X->gpus && X->mask[g];
}

/* Estimate: bytes per row as CSV and the share of rows the GPU selection
 * keeps, from 8 runs of rows spread over the table (the first rows are
 * iteration markers, shorter than the rest).  Prints it; CXA_EXIT_OK or
 * the exit code (refused above --max-mb). */
static int cxa_cx_estimate(cxa_cx_t *X, double max_mb)
{
    uint64_t sample = 0, sel_sample = 0;
    double   bytes_sample = 0, est_mb;
    int      k;
    for (k = 0; k < 8 && X->t.rows > 0; k++) {
        int      all = X->t.rows <= CXA_CSV_SAMPLE_ROWS;
        uint64_t at = all ? 0 : X->t.rows * (uint64_t)k / 8, n = all ? X->t.rows : CXA_CSV_SAMPLE_ROWS / 8, r;
        if (n > X->b.block) n = X->b.block;
        if (cxa_table_read(&X->t, at, n, X->b.buf) != 0) return CXA_EXIT_FILE;
        for (r = 0; r < n; r++) {
            const void *row = cxa_row(&X->t, X->b.buf, r);
            int         w   = cxa_csv_row(NULL, &X->t, row);
            bytes_sample += w > 0 ? w : 0;
            sample++;
            sel_sample += (uint64_t)cxa_cx_keep(X, row);
        }
        if (all) break;
    }
    est_mb = sample > 0 ? (double)X->t.rows * (bytes_sample / (double)sample) *
                              (X->mask != NULL ? (double)sel_sample / (double)sample : 1.0) * 1e-6
                        : 0.0;
    printf("export-csv: %s: %llu rows x %d columns%s, about %.1f MB (estimated from %llu rows)\n", X->a->table,
           (unsigned long long)X->t.rows, X->t.ncols, X->mask != NULL ? ", rows of the GPUs asked for" : "", est_mb,
           (unsigned long long)sample);
    if (max_mb > 0 && est_mb > max_mb && !X->a->force) {
        cxa_error(X->a->out, "not written: the CSV would be about %.0f MB, above --max-mb %.0f.  Select GPUs with "
                  "--gpus, raise --max-mb (0 = no limit) or add --force", est_mb, max_mb);
        return CXA_EXIT_USAGE;
    }
    fflush(stdout);
    return CXA_EXIT_OK;
}

/* The header and the rows kept into fp: CXA_EXIT_OK or the exit code after one error. */
static int cxa_cx_rows(cxa_cx_t *X, FILE *fp, uint64_t *written)
{
    int k, more;
    for (k = 0; k < X->t.ncols; k++) fprintf(fp, "%s%s", k ? "," : "", X->t.cols[k].name);
    fputc('\n', fp);
    while ((more = cxa_blocks_next(&X->b)) > 0) {
        uint64_t r;
        for (r = 0; r < X->b.n; r++) {
            const void *row = cxa_row(&X->t, X->b.buf, r);
            if (!cxa_cx_keep(X, row)) continue;
            if (cxa_csv_row(fp, &X->t, row) < 0) {
                cxa_error(X->a->out, "write failed (%s)", strerror(errno));
                return CXA_EXIT_USAGE;
            }
            (*written)++;
        }
    }
    return more < 0 ? CXA_EXIT_FILE : CXA_EXIT_OK;
}

/* Write OUT.partial, then rename it to OUT. */
static int cxa_cx_write(cxa_cx_t *X)
{
    char     tmp[4096];
    FILE    *fp;
    uint64_t written = 0;
    int      rc;
    snprintf(tmp, sizeof(tmp), "%s.partial", X->a->out);
    fp = fopen(tmp, "w");
    if (fp == NULL) {
        cxa_error(X->a->out, "cannot write this file (%s)", strerror(errno));
        return CXA_EXIT_USAGE;
    }
    rc = cxa_cx_rows(X, fp, &written);
    if (fclose(fp) != 0 && rc == CXA_EXIT_OK) {
        cxa_error(X->a->out, "write failed (%s)", strerror(errno));
        rc = CXA_EXIT_USAGE;
    }
    if (rc == CXA_EXIT_OK && rename(tmp, X->a->out) != 0) {
        cxa_error(X->a->out, "cannot rename %s to this name (%s)", tmp, strerror(errno));
        rc = CXA_EXIT_USAGE;
    }
    if (rc != CXA_EXIT_OK) {
        remove(tmp);
    } else {
        struct stat st;
        printf("wrote %llu rows to %s (%.1f MB)\n", (unsigned long long)written, X->a->out,
               stat(X->a->out, &st) == 0 ? (double)st.st_size * 1e-6 : 0.0);
    }
    return rc;
}

/* The export once the table is open: GPU selection, block buffer, estimate, write. */
static int cxa_cx_run(cxa_cx_t *X, double max_mb)
{
    int rc;
    X->c_gpu = cxa_col(&X->t, "gpu");
    if (X->a->gpus != NULL) {
        if (X->c_gpu == NULL) {
            cxa_error(X->f->path, "export-csv: --gpus: %s has no gpu column", X->a->table);
            return CXA_EXIT_USAGE;
        }
        rc = cxa_gpu_mask(X->f, X->a->gpus, &X->gpus, &X->mask);
        if (rc != CXA_EXIT_OK) return rc;
    }
    if (cxa_blocks_init(&X->b, &X->t, 32u << 20) != 0) {
        cxa_error(X->f->path, "out of memory");
        return CXA_EXIT_FILE;
    }
    rc = cxa_cx_estimate(X, max_mb);
    return rc != CXA_EXIT_OK ? rc : cxa_cx_write(X);
}

int cxa_cmd_csv(int argc, char **argv)
{
    cxa_args_t a;
    cxa_file_t f;
    cxa_cx_t   X;
    double     max_mb = CXA_CSV_DEFAULT_MAX_MB;
    int        rc;

    if (cxa_parse_args("export-csv", argc, argv, &a, "out table gpus max-mb force") != 0) return CXA_EXIT_USAGE;
    if (a.help || a.npos != 1 || a.out == NULL || a.table == NULL) return cxa_cx_usage(&a);
    if (cxa_parse_max_mb("export-csv", a.max_mb, &max_mb) != 0) return CXA_EXIT_USAGE;
    if (cxa_open(&f, a.pos[0]) != 0) return CXA_EXIT_FILE;
    if (cxa_require(&f, a.table, "no table %s (tables: /summary/iterations, /summary/collectives; /ops/gpu_ops "
                    "with --trace-level ops; /links/bins, /links/ports with links; /power/* with a power model)",
                    a.table) != 0)
        return CXA_EXIT_USAGE;
    memset(&X, 0, sizeof(X));
    X.a = &a;
    X.f = &f;
    if (cxa_table_open(&f, a.table, 1, &X.t) != 0) {
        cxa_close(&f);
        return CXA_EXIT_FILE;
    }
    X.t.raw = 1; /* a copy of the values as they are, absurd ones too */
    rc      = cxa_cx_run(&X, max_mb);
    cxa_blocks_free(&X.b);
    free(X.mask);
    cxa_table_close(&X.t);
    cxa_close(&f);
    return rc;
}
