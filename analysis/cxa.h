/*
 * colossim-analyze: reads a colossim HDF5 trace (analysis/SCHEMA.md) with
 * plain serial HDF5 and reduces it.  Tables are read generically: each is a
 * 1-D dataset of a packed compound type; rows are read in the file type
 * (no conversion) and columns are looked up by name, so a table that gains
 * columns at the end still reads.
 *
 * Exit status of every command: 0 success, 1 the file is missing, truncated
 * or not a colossim trace (one message names the file and what is missing),
 * 2 usage error or the data the command needs is not in the trace.
 */
#ifndef CXA_H
#define CXA_H

#include <hdf5.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define CXA_EXIT_OK    0
#define CXA_EXIT_FILE  1
#define CXA_EXIT_USAGE 2

#include "cx_schema.h" /* the tables' paths, columns and labels (src/trace/cx_schema.h) */

#define CXA_T_ITER     CX_SCHEMA_T_ITER
#define CXA_T_COLL     CX_SCHEMA_T_COLL
#define CXA_T_OPS      CX_SCHEMA_T_OPS
#define CXA_T_BINS     CX_SCHEMA_T_BINS
#define CXA_T_PORTS    CX_SCHEMA_T_PORTS
#define CXA_T_FAULTS   CX_SCHEMA_T_FAULTS
#define CXA_T_PW_RACKS CX_SCHEMA_T_PW_RACKS
#define CXA_T_PW_SITE  CX_SCHEMA_T_PW_SITE
#define CXA_T_PW_ITER  CX_SCHEMA_T_PW_ITER

typedef enum { CXA_FMT_TABLE = 0, CXA_FMT_JSON, CXA_FMT_CSV } cxa_format_t;

typedef struct cxa_file {
    hid_t       fid;
    const char *path;
} cxa_file_t;

typedef struct cxa_col {
    char   name[64];
    size_t off, size;
    char   cls; /* 'u' unsigned int, 'i' signed int, 'f' float, 's' string, '?' other */
} cxa_col_t;

typedef struct cxa_table {
    const cxa_file_t *file;
    char              path[256];
    hid_t             dset, ftype;
    uint64_t          rows;
    size_t            row_size;
    int               ncols;
    cxa_col_t        *cols;
    int               raw; /* 1: no time check on reads (digest, export-csv copy values as they are) */
} cxa_table_t;

/* The latest time a trace may hold: every signed "*_ps" column of a table is
 * refused outside [0, CXA_PS_MAX] when read (cxa_table_read names the table,
 * row and column), so a difference of two times cannot overflow; sums of
 * times saturate (cxa_sat_add).  2^62 ps is 53 days of simulated time. */
#define CXA_PS_MAX (INT64_C(1) << 62)
static inline void cxa_sat_add(int64_t *acc, int64_t d)
{
    if (d > 0 && *acc > INT64_MAX - d)
        *acc = INT64_MAX;
    else if (d < 0 && *acc < INT64_MIN - d)
        *acc = INT64_MIN;
    else
        *acc += d;
}
/* A /meta bin width (link_bin_ps, power_bin_ps) in (0, CXA_PS_MAX), else 0:
 * a time plus a bin then fits in int64. */
static inline int64_t cxa_bin_ps_ok(int64_t v) { return v > 0 && v < CXA_PS_MAX ? v : 0; }

/* Errors: "colossim-analyze: error: FILE: message" on stderr. */
void cxa_error(const char *file, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void cxa_warn(const char *file, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Open a trace read-only; checks it is HDF5 and has /meta.  Prints the
 * error and returns -1 on failure. */
int  cxa_open(cxa_file_t *f, const char *path);
void cxa_close(cxa_file_t *f);
/* cxa_open, then /meta/complete (1 when absent) and a warning line on
 * stderr when the run stopped early.  CXA_EXIT_OK or CXA_EXIT_FILE. */
int  cxa_open_run(cxa_file_t *f, const char *path, int64_t *complete);
int  cxa_exists(const cxa_file_t *f, const char *path); /* link exists (intermediate groups too) */
/* What a command cannot run without: 0 when path exists in f, else one
 * error "FILE: message" (printf format: why it is absent), f closed, -1
 * (the command exits with CXA_EXIT_USAGE: the data it needs is not there). */
int  cxa_require(cxa_file_t *f, const char *path, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Open a table.  required: print "FILE: missing table PATH (...)" when
 * absent.  Returns 0 ok, -1 absent or unreadable (error printed if required
 * or the table is damaged). */
int  cxa_table_open(const cxa_file_t *f, const char *path, int required, cxa_table_t *t);
void cxa_table_close(cxa_table_t *t);
/* Read rows [start, start+n) into buf (n * row_size bytes). 0 ok, -1 error
 * printed (also a time outside [0, CXA_PS_MAX] unless t->raw). */
int  cxa_table_read(cxa_table_t *t, uint64_t start, uint64_t n, void *buf);
/* Whole table into a malloc'd buffer (NULL + error on failure; non-NULL for 0 rows). */
void *cxa_table_read_all(cxa_table_t *t);
/* Open a table, check its columns need (NULL-terminated; NULL: none) and read
 * every row: the malloc'd rows with t open, or NULL after one error with t
 * closed (no error when the table is absent and not CXA_LOAD_REQUIRED).
 * CXA_LOAD_RAW: no time check (t->raw). */
#define CXA_LOAD_REQUIRED 1
#define CXA_LOAD_RAW      2
void *cxa_table_load(const cxa_file_t *f, const char *path, int flags, const char *const *need, cxa_table_t *t);
/* The same without reading rows (a table read in blocks): 0 with t open,
 * -1 with t closed. */
int cxa_table_open_need(const cxa_file_t *f, const char *path, int flags, const char *const *need, cxa_table_t *t);
/* A table read in blocks of rows, for tables too large to hold whole:
 *     cxa_blocks_t b;
 *     if (cxa_blocks_init(&b, &t, 32u << 20) != 0) ...out of memory...
 *     while ((rc = cxa_blocks_next(&b)) > 0)
 *         for (r = 0; r < b.n; r++) ...cxa_row(&t, b.buf, r) is row b.start + r...
 *     cxa_blocks_free(&b);  (rc < 0: a read error, printed) */
typedef struct cxa_blocks {
    cxa_table_t   *t;
    unsigned char *buf;      /* one block of rows */
    uint64_t       block;    /* rows per block: bytes / row size, at least 1, at most the table's rows */
    uint64_t       start, n; /* after cxa_blocks_next: rows [start, start + n) are in buf */
} cxa_blocks_t;
/* Blocks of about `bytes` of t: 0 ok, -1 out of memory (no message: the
 * caller says what it was loading; cxa_blocks_free is still safe). */
int  cxa_blocks_init(cxa_blocks_t *b, cxa_table_t *t, size_t bytes);
/* The next block into b->buf: 1 read, 0 no rows left, -1 read error
 * (printed) or no buffer (cxa_blocks_init failed; nothing printed). */
int  cxa_blocks_next(cxa_blocks_t *b);
void cxa_blocks_free(cxa_blocks_t *b);
const cxa_col_t *cxa_col(const cxa_table_t *t, const char *name);
/* Check the named columns exist (NULL-terminated list); prints the first missing. */
int  cxa_need_cols(const cxa_table_t *t, const char *const *names);

int64_t  cxa_get_i64(const cxa_col_t *c, const void *row);
uint64_t cxa_get_u64(const cxa_col_t *c, const void *row);
double   cxa_get_f64(const cxa_col_t *c, const void *row);
/* qsort comparison of doubles; nearest-rank percentile q of sorted v (0 when n = 0). */
int    cxa_dcmp(const void *a, const void *b);
double cxa_pct(const double *v, uint64_t n, double q);
static inline const void *cxa_row(const cxa_table_t *t, const void *buf, uint64_t i)
{
    return (const char *)buf + (size_t)i * t->row_size;
}

/* /meta attributes.  0 ok, -1 absent (no message). */
int cxa_meta_i64(const cxa_file_t *f, const char *name, int64_t *v);
int cxa_meta_f64(const cxa_file_t *f, const char *name, double *v);
int cxa_meta_str(const cxa_file_t *f, const char *name, char *buf, size_t len);
/* A text dataset of /meta (topology_yaml, workload_yaml, options): malloc'd,
 * NUL-terminated; NULL when absent or not a fixed-length string. */
char *cxa_meta_text(const cxa_file_t *f, const char *name);

/* Command-line helpers. */
typedef struct cxa_args {
    const char *pos[4];
    int         npos;
    const char *format, *out, *gpus, *top, *iteration, *max_mb, *table, *job;
    int         help;
    int         no_coll_tracks, force;
} cxa_args_t;
int cxa_parse_args(const char *cmd, int argc, char **argv, cxa_args_t *a, const char *allowed);
/* Usage error of a command taking one FILE (and --out when need_out): one
 * line on stderr naming what is missing or extra.  Nothing when --help. */
void cxa_usage_error(const char *cmd, const cxa_args_t *a, int need_out, const char *out_what);
/* A command's usage (printf format): on stdout for --help, else (a usage
 * error) on stderr.  Returns the exit status: CXA_EXIT_OK or CXA_EXIT_USAGE. */
int cxa_usage_print(const cxa_args_t *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int cxa_parse_format(const char *s, cxa_format_t *fmt);
/* The start of a command taking one FILE: its options (allowed), the usage
 * (on stdout for --help, else after the usage error on stderr) and
 * --format.  -1: go on; else the exit status. */
int cxa_cmd_start(const char *cmd, int argc, char **argv, const char *allowed, const char *usage, cxa_args_t *a,
                  cxa_format_t *fmt);
/* --top N (N >= 1) and --max-mb M (M >= 0) when given (s != NULL): 0 ok,
 * -1 after one error line. */
int cxa_parse_top(const char *s, long *top);
int cxa_parse_max_mb(const char *cmd, const char *s, double *mb);

/* Names of op fields: src/gpu/cx_op.c's tables, compiled into the analyzer
 * (the one simulator source it takes; it links no other simulator code). */
const char *cxa_kind_name(unsigned kind);
const char *cxa_class_name(unsigned cls);
const char *cxa_coll_name(unsigned kind);
const char *cxa_algo_name(unsigned algo);
const char *cxa_phase_name(unsigned phase);
const char *cxa_block_name(unsigned block);
const char *cxa_stream_name(unsigned stream);

/* Run figures recomputed from /summary/iterations + /meta. */
typedef struct cxa_summary {
    char     workload[64], topology[64], gpu_type[32];
    uint64_t gpus;
    uint32_t iterations;          /* contiguous iterations from 0 with rows */
    uint32_t iterations_meta;     /* /meta/iterations (-1 if absent -> 0) */
    uint32_t iterations_requested; /* /meta/iterations_requested (0 if absent) */
    int      complete;            /* /meta/complete */
    int64_t  ranks, trace_level;
    double   iteration_seconds, first_iteration_seconds;
    double   tokens_per_iteration, tokens_per_second;
    double   model_flops_per_iteration, tflops_per_gpu, mfu, peak_flops_per_gpu;
    double   model_flops_noncausal_per_iteration, mfu_noncausal; /* 0 if the trace predates it */
    double   compute_share, exposed_comm_share, bubble_share, pp_wait_share;
    double   span_seconds;        /* max end of last - min begin of first */
    double   straggler_seconds;   /* mean over iterations of (max end - min end) */
    uint64_t rows;
} cxa_summary_t;

int cxa_summary_compute(const cxa_file_t *f, cxa_summary_t *s); /* 0 ok, else exit code */
/* The same for job `job` of a scenario trace (/scenario/jobs, /scenario/gpus;
 * -1: the whole trace, refused when it holds a scenario). */
int cxa_summary_compute_job(const cxa_file_t *f, cxa_summary_t *s, long job);

int cxa_cmd_summary(int argc, char **argv);
int cxa_cmd_diff(int argc, char **argv);
int cxa_cmd_collectives(int argc, char **argv);
int cxa_cmd_digest(int argc, char **argv);
int cxa_cmd_perfetto(int argc, char **argv);
int cxa_cmd_stragglers(int argc, char **argv);
int cxa_cmd_links(int argc, char **argv);        /* cxa_links.c */
int cxa_cmd_csv(int argc, char **argv);          /* cxa_csv.c: export-csv */
int cxa_cmd_faults(int argc, char **argv);       /* cxa_faults.c */
/* stragglers: GPUs and links slower than their peers (cxa_faults.c); text
 * to out, or a "suspects" array into the JSON object j. */
struct json_object;
void cxa_strag_suspects(const cxa_file_t *f, FILE *out, struct json_object *j);
/* plot of a campaign timeline CSV (colossim campaign --timeline): 1 if path
 * is one; the plot runs analysis/campaign_timeline.py into DIR. */
int  cxa_is_campaign_csv(const char *path);
int  cxa_plot_campaign(const char *csv, const char *outdir);
/* Link class names of /links tables (src/net/cx_net.c, mirrored). */
const char *cxa_link_class_name(unsigned cls);

/* diff: configuration differences of two traces (cxa_diff.c). */
typedef struct cxa_cfgitem {
    char  key[64];
    char *a, *b; /* values, "(absent)" when one side lacks the key */
} cxa_cfgitem_t;
typedef struct cxa_strlist {
    char  *s[12];
    size_t n, total; /* n kept, total counted */
} cxa_strlist_t;
typedef struct cxa_yamldiff {
    char          what[32];
    int           present;
    cxa_strlist_t a_only, b_only;
} cxa_yamldiff_t;
typedef struct cxa_cfgdiff {
    cxa_cfgitem_t *items;
    size_t         n, cap;
    int            have_options;
    cxa_yamldiff_t yaml[2]; /* topology, workload */
} cxa_cfgdiff_t;
int  cxa_config_diff(const cxa_file_t *fa, const cxa_file_t *fb, cxa_cfgdiff_t *d);
int  cxa_config_diff_count(const cxa_cfgdiff_t *d);
void cxa_config_diff_print(const cxa_cfgdiff_t *d, FILE *out);
void cxa_config_diff_free(cxa_cfgdiff_t *d);
struct json_object;
struct json_object *cxa_config_diff_json(const cxa_cfgdiff_t *d);
/* Collective time per class (stream x kind) and per phase, A vs B: a table
 * on out, or arrays added to j when j != NULL.  -1 if a trace lacks it. */
int cxa_coll_diff(const cxa_file_t *fa, const cxa_file_t *fb, FILE *out, struct json_object *j);

/* "0-7,16,32-35" -> sorted unique GPU mask of size n (all when spec NULL). */
int cxa_parse_gpu_set(const char *spec, uint64_t n, unsigned char *mask);
/* The trace's GPU count (/meta/gpus) and a malloc'd mask of spec (NULL =
 * all) over it; CXA_EXIT_OK, or the exit code after one error line. */
int cxa_gpu_mask(cxa_file_t *f, const char *spec, int64_t *gpus, unsigned char **mask);

#endif
