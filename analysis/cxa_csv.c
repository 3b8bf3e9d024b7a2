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

int cxa_cmd_csv(int argc, char **argv)
{
    cxa_args_t       a;
    cxa_file_t       f;
    cxa_table_t      t;
    const cxa_col_t *c_gpu;
    unsigned char   *mask = NULL;
    void            *buf  = NULL;
    FILE            *fp   = NULL;
    char             tmp[4096];
    uint64_t         block, start, written = 0, sample = 0, sel_sample = 0;
    int64_t          gpus = 0;
    double           max_mb = CXA_CSV_DEFAULT_MAX_MB, bytes_sample = 0, est_mb;
    int              rc = CXA_EXIT_OK, k;

    if (cxa_parse_args("export-csv", argc, argv, &a, "out table gpus max-mb force") != 0) return CXA_EXIT_USAGE;
    if (a.help || a.npos != 1 || a.out == NULL || a.table == NULL) {
        cxa_usage_error("export-csv", &a, 1, "X.csv (where to write)");
        if (!a.help && a.npos == 1 && a.out != NULL && a.table == NULL)
            cxa_error(NULL, "export-csv: missing --table PATH (e.g. /ops/gpu_ops, /links/bins)");
        fprintf(a.help ? stdout : stderr,
                "usage: colossim-analyze export-csv FILE --table PATH --out X.csv [--gpus 0-7,16|all]\n"
                "                                   [--max-mb N] [--force]\n"
                "  one table of the trace as CSV: a header of its column names, one line per row,\n"
                "  every column (integers, %%.17g floats, quoted strings).  PATH: /ops/gpu_ops,\n"
                "  /links/bins, /links/ports, /summary/iterations, /summary/collectives, /power/...\n"
                "  --gpus keeps the rows of those GPUs (tables with a gpu column).  The size is\n"
                "  estimated first; above --max-mb (default %.0f; 0 = no limit) nothing is written\n"
                "  unless --force.\n", CXA_CSV_DEFAULT_MAX_MB);
        return a.help ? CXA_EXIT_OK : CXA_EXIT_USAGE;
    }
    if (a.max_mb != NULL) {
        char *end;
        max_mb = strtod(a.max_mb, &end);
        if (end == a.max_mb || *end != '\0' || max_mb < 0) {
            cxa_error(NULL, "export-csv: --max-mb '%s': expected a size in MB >= 0 (0 = no limit)", a.max_mb);
            return CXA_EXIT_USAGE;
        }
    }
    if (cxa_open(&f, a.pos[0]) != 0) return CXA_EXIT_FILE;
    if (!cxa_exists(&f, a.table)) {
        cxa_error(f.path, "no table %s (tables: /summary/iterations, /summary/collectives; /ops/gpu_ops with "
                          "--trace-level ops; /links/bins, /links/ports with links; /power/* with a power model)",
                  a.table);
        cxa_close(&f);
        return CXA_EXIT_USAGE;
    }
    if (cxa_table_open(&f, a.table, 1, &t) != 0) {
        cxa_close(&f);
        return CXA_EXIT_FILE;
    }
    t.raw = 1; /* a copy of the values as they are, absurd ones too */
    c_gpu = cxa_col(&t, "gpu");
    if (a.gpus != NULL) {
        if (c_gpu == NULL) {
            cxa_error(f.path, "export-csv: --gpus: %s has no gpu column", a.table);
            rc = CXA_EXIT_USAGE;
            goto out;
        }
        rc = cxa_gpu_mask(&f, a.gpus, &gpus, &mask);
        if (rc != CXA_EXIT_OK) goto out;
    }
    block = t.row_size > 0 ? (uint64_t)(32u << 20) / t.row_size : 1;
    if (block > t.rows) block = t.rows > 0 ? t.rows : 1;
    buf = malloc((size_t)block * t.row_size + 1);
    if (buf == NULL) {
        cxa_error(f.path, "out of memory");
        rc = CXA_EXIT_FILE;
        goto out;
    }
    /* Estimate: bytes per row as CSV and the share of rows the GPU
     * selection keeps, from 8 runs of rows spread over the table (the
     * first rows are iteration markers, shorter than the rest). */
    for (k = 0; k < 8 && t.rows > 0; k++) {
        int      all = t.rows <= CXA_CSV_SAMPLE_ROWS;
        uint64_t at = all ? 0 : t.rows * (uint64_t)k / 8, n = all ? t.rows : CXA_CSV_SAMPLE_ROWS / 8, r;
        if (n > block) n = block;
        if (cxa_table_read(&t, at, n, buf) != 0) {
            rc = CXA_EXIT_FILE;
            goto out;
        }
        for (r = 0; r < n; r++) {
            const void *row = cxa_row(&t, buf, r);
            int         w   = cxa_csv_row(NULL, &t, row);
            uint64_t    g;
            bytes_sample += w > 0 ? w : 0;
            sample++;
            if (mask == NULL) {
                sel_sample++;
            } else {
                g = cxa_get_u64(c_gpu, row);
                sel_sample += g < (uint64_t)gpus && mask[g];
            }
        }
        if (all) break;
    }
    est_mb = sample > 0 ? (double)t.rows * (bytes_sample / (double)sample) *
                              (mask != NULL ? (double)sel_sample / (double)sample : 1.0) * 1e-6
                        : 0.0;
    printf("export-csv: %s: %llu rows x %d columns%s, about %.1f MB (estimated from %llu rows)\n",
           a.table, (unsigned long long)t.rows, t.ncols, mask != NULL ? ", rows of the GPUs asked for" : "", est_mb,
           (unsigned long long)sample);
    if (max_mb > 0 && est_mb > max_mb && !a.force) {
        cxa_error(a.out, "not written: the CSV would be about %.0f MB, above --max-mb %.0f.  Select GPUs with "
                  "--gpus, raise --max-mb (0 = no limit) or add --force", est_mb, max_mb);
        rc = CXA_EXIT_USAGE;
        goto out;
    }
    fflush(stdout);
    snprintf(tmp, sizeof(tmp), "%s.partial", a.out);
    fp = fopen(tmp, "w");
    if (fp == NULL) {
        cxa_error(a.out, "cannot write this file (%s)", strerror(errno));
        rc = CXA_EXIT_USAGE;
        goto out;
    }
    for (k = 0; k < t.ncols; k++) fprintf(fp, "%s%s", k ? "," : "", t.cols[k].name);
    fputc('\n', fp);
    for (start = 0; rc == CXA_EXIT_OK && start < t.rows; start += block) {
        uint64_t n = t.rows - start < block ? t.rows - start : block, r;
        if (cxa_table_read(&t, start, n, buf) != 0) {
            rc = CXA_EXIT_FILE;
            break;
        }
        for (r = 0; r < n; r++) {
            const void *row = cxa_row(&t, buf, r);
            if (mask != NULL) {
                uint64_t g = cxa_get_u64(c_gpu, row);
                if (g >= (uint64_t)gpus || !mask[g]) continue;
            }
            if (cxa_csv_row(fp, &t, row) < 0) {
                cxa_error(a.out, "write failed (%s)", strerror(errno));
                rc = CXA_EXIT_USAGE;
                break;
            }
            written++;
        }
    }
    if (fclose(fp) != 0 && rc == CXA_EXIT_OK) {
        cxa_error(a.out, "write failed (%s)", strerror(errno));
        rc = CXA_EXIT_USAGE;
    }
    fp = NULL;
    if (rc == CXA_EXIT_OK && rename(tmp, a.out) != 0) {
        cxa_error(a.out, "cannot rename %s to this name (%s)", tmp, strerror(errno));
        rc = CXA_EXIT_USAGE;
    }
    if (rc != CXA_EXIT_OK) {
        remove(tmp);
    } else {
        struct stat st;
        printf("wrote %llu rows to %s (%.1f MB)\n", (unsigned long long)written, a.out,
               stat(a.out, &st) == 0 ? (double)st.st_size * 1e-6 : 0.0);
    }
out:
    free(buf);
    free(mask);
    cxa_table_close(&t);
    cxa_close(&f);
    return rc;
}
