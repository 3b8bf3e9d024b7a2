/*
 * Write-rate measurement of the trace writer: TOTAL rows of 32 bytes split
 * evenly across ranks, appended then written in FLUSHES collective writes.
 * Prints rows/s and MB/s (uncompressed payload) for the writes alone and for
 * open..close, and the file size.
 *
 * usage: trace_bench OUTDIR [TOTAL_ROWS=1000000] [FLUSHES=1]
 */
#include "cx_mem.h"
#include "cx_trace.h"

#include <mpi.h>

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

typedef struct {
    int64_t  t_start;
    uint64_t bytes;
    uint32_t src;
    uint32_t dst;
    double   dur;
} row_t;

static const cx_trace_field_t fields[] = {
    CX_TRACE_FIELD(row_t, t_start, CX_TRACE_I64, "ps", "start"),
    CX_TRACE_FIELD(row_t, bytes, CX_TRACE_U64, "bytes", "payload"),
    CX_TRACE_FIELD(row_t, src, CX_TRACE_U32, "", "source"),
    CX_TRACE_FIELD(row_t, dst, CX_TRACE_U32, "", "destination"),
    CX_TRACE_FIELD(row_t, dur, CX_TRACE_F64, "ps", "duration"),
};

/* Realistic entropy: sizes and durations from a hash, not a ramp (a ramp
 * compresses 100x and flatters the rate). */
static uint64_t mix(uint64_t x)
{
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

int main(int argc, char **argv)
{
    int               rank, size, f, flushes;
    unsigned long     total, mine, i, per;
    char              path[4096];
    cx_err_t          err;
    cx_trace_t       *tr;
    cx_trace_table_t *tbl;
    row_t            *rows;
    double            t0, t1, tw = 0, ta;
    struct stat       sb;

    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    if (argc < 2) {
        fprintf(stderr, "usage: %s OUTDIR [TOTAL_ROWS] [FLUSHES]\n", argv[0]);
        MPI_Abort(MPI_COMM_WORLD, 2);
    }
    total   = argc > 2 ? strtoul(argv[2], NULL, 10) : 1000000ul;
    flushes = argc > 3 ? atoi(argv[3]) : 1;
    flushes = flushes < 1 ? 1 : flushes;
    mine    = total / (unsigned long)size + ((unsigned long)rank < total % (unsigned long)size);
    per     = (mine + (unsigned long)flushes - 1) / (unsigned long)flushes;
    snprintf(path, sizeof(path), "%s/bench.h5", argv[1]);
    rows = malloc((per + 1) * sizeof(*rows));

    MPI_Barrier(MPI_COMM_WORLD);
    t0 = cx_wtime();
    if (cx_trace_open(&tr, MPI_COMM_WORLD, path, &err) != CX_OK ||
        cx_trace_table_define(tr, "/bench/rows", fields, sizeof(fields) / sizeof(fields[0]),
                              sizeof(row_t), "benchmark rows", &tbl, &err) != CX_OK) {
        fprintf(stderr, "rank %d: %s\n", rank, err.msg);
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    for (f = 0; f < flushes; f++) {
        unsigned long lo = (unsigned long)f * per, n = 0;
        for (i = lo; i < mine && i < lo + per; i++, n++) {
            rows[n].t_start = (int64_t)(i * 1000u + (unsigned long)rank);
            uint64_t h      = mix((uint64_t)i * 4096u + (uint64_t)rank);
            rows[n].bytes   = h % (16u << 20);
            rows[n].src     = (uint32_t)rank;
            rows[n].dst     = (uint32_t)(h >> 40) % 100000u;
            rows[n].dur     = 1.0e6 + (double)(h % 1000000007u);
        }
        cx_trace_table_append(tbl, rows, n);
        MPI_Barrier(MPI_COMM_WORLD);
        ta = cx_wtime();
        if (cx_trace_table_write(tbl, &err) != CX_OK) {
            fprintf(stderr, "rank %d: %s\n", rank, err.msg);
            MPI_Abort(MPI_COMM_WORLD, 1);
        }
        MPI_Barrier(MPI_COMM_WORLD);
        tw += cx_wtime() - ta;
    }
    if (cx_trace_close(tr, 1, &err) != CX_OK) {
        fprintf(stderr, "rank %d: %s\n", rank, err.msg);
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    MPI_Barrier(MPI_COMM_WORLD);
    t1 = cx_wtime() - t0;
    if (rank == 0) {
        double mb = (double)total * (double)sizeof(row_t) / 1e6;
        stat(path, &sb);
        printf("ranks=%d rows=%lu row_bytes=%zu flushes=%d | write %.3f s = %.2f Mrows/s = %.1f MB/s"
               " | open..close %.3f s = %.1f MB/s | file %.2f MB (estimate %.2f MB)\n",
               size, total, sizeof(row_t), flushes, tw, (double)total / tw / 1e6, mb / tw, t1,
               mb / t1, (double)sb.st_size / 1e6,
               (double)cx_trace_estimate_bytes(sizeof(row_t), total) / 1e6);
    }
    free(rows);
    MPI_Finalize();
    return 0;
}
