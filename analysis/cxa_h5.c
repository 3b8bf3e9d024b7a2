/* Reading colossim traces with serial HDF5: files, tables, columns, /meta. */
#define _POSIX_C_SOURCE 200809L
#include "cx_op.h"
#include "cxa.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* "colossim-analyze: WHAT: FILE: message" on stderr. */
static void cxa_vmessage(const char *what, const char *file, const char *fmt, va_list ap)
{
    fprintf(stderr, "colossim-analyze: %s: ", what);
    if (file != NULL) fprintf(stderr, "%s: ", file);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

void cxa_error(const char *file, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    cxa_vmessage("error", file, fmt, ap);
    va_end(ap);
}

void cxa_warn(const char *file, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    cxa_vmessage("warning", file, fmt, ap);
    va_end(ap);
}

int cxa_open(cxa_file_t *f, const char *path)
{
    struct stat st;
    htri_t      is;
    size_t      plen = strlen(path);

    f->fid  = H5I_INVALID_HID;
    f->path = path;
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL); /* our messages, not HDF5's stack */
    if (stat(path, &st) != 0) {
        char partial[4096];
        snprintf(partial, sizeof(partial), "%s.partial", path);
        if (stat(partial, &st) == 0)
            cxa_error(path, "no such file, but %s exists: the writer was killed before closing "
                            "(the .partial file may be structurally incomplete)", partial);
        else
            cxa_error(path, "cannot open: %s", strerror(errno));
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        cxa_error(path, "not a regular file");
        return -1;
    }
    is = H5Fis_hdf5(path);
    if (is <= 0) {
        cxa_error(path, "not an HDF5 file (no HDF5 signature; %lld bytes): not a colossim trace",
                  (long long)st.st_size);
        return -1;
    }
    f->fid = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f->fid < 0) {
        cxa_error(path, "HDF5 file cannot be opened: truncated or damaged (%lld bytes on disk; "
                        "a trace cut short loses its end-of-file and object headers)",
                  (long long)st.st_size);
        return -1;
    }
    if (plen > 8 && strcmp(path + plen - 8, ".partial") == 0)
        cxa_warn(path, "a .partial file: the writer did not close it; structure may be incomplete");
    if (H5Lexists(f->fid, "meta", H5P_DEFAULT) <= 0) {
        cxa_error(path, "no /meta group: not a colossim trace (SCHEMA.md)");
        H5Fclose(f->fid);
        f->fid = H5I_INVALID_HID;
        return -1;
    }
    {
        int64_t v;
        if (cxa_meta_i64(f, "schema_version", &v) != 0) {
            cxa_error(path, "/meta has no schema_version attribute: not a colossim trace");
            H5Fclose(f->fid);
            f->fid = H5I_INVALID_HID;
            return -1;
        }
        if (v != 1) cxa_warn(path, "schema_version %lld (this analyzer knows 1); reading anyway", (long long)v);
    }
    return 0;
}

void cxa_close(cxa_file_t *f)
{
    if (f->fid >= 0) H5Fclose(f->fid);
    f->fid = H5I_INVALID_HID;
}

int cxa_exists(const cxa_file_t *f, const char *path)
{
    char   buf[512];
    size_t i, n = strlen(path);
    if (n >= sizeof(buf)) return 0;
    memcpy(buf, path, n + 1);
    for (i = 1; i <= n; i++) {
        if (buf[i] == '/' || buf[i] == '\0') {
            char c = buf[i];
            buf[i] = '\0';
            if (H5Lexists(f->fid, buf, H5P_DEFAULT) <= 0) return 0;
            buf[i] = c;
        }
    }
    return 1;
}

int cxa_require(cxa_file_t *f, const char *path, const char *fmt, ...)
{
    va_list ap;
    if (cxa_exists(f, path)) return 0;
    va_start(ap, fmt);
    cxa_vmessage("error", f->path, fmt, ap);
    va_end(ap);
    cxa_close(f);
    return -1;
}

int cxa_table_open(const cxa_file_t *f, const char *path, int required, cxa_table_t *t)
{
    hid_t    space;
    hsize_t  dims[1];
    int      i, n;

    memset(t, 0, sizeof(*t));
    t->file  = f;
    t->dset  = H5I_INVALID_HID;
    t->ftype = H5I_INVALID_HID;
    snprintf(t->path, sizeof(t->path), "%s", path);
    if (!cxa_exists(f, path)) {
        if (required) cxa_error(f->path, "missing table %s (truncated trace, or not written by colossim run)", path);
        return -1;
    }
    t->dset = H5Dopen2(f->fid, path, H5P_DEFAULT);
    if (t->dset < 0) {
        cxa_error(f->path, "table %s cannot be opened (damaged object header)", path);
        return -1;
    }
    t->ftype = H5Dget_type(t->dset);
    space    = H5Dget_space(t->dset);
    if (t->ftype < 0 || space < 0 || H5Tget_class(t->ftype) != H5T_COMPOUND ||
        H5Sget_simple_extent_ndims(space) != 1) {
        cxa_error(f->path, "%s is not a 1-D compound table", path);
        if (space >= 0) H5Sclose(space);
        cxa_table_close(t);
        return -1;
    }
    H5Sget_simple_extent_dims(space, dims, NULL);
    H5Sclose(space);
    t->rows     = dims[0];
    t->row_size = H5Tget_size(t->ftype);
    n           = H5Tget_nmembers(t->ftype);
    t->cols     = calloc((size_t)(n > 0 ? n : 1), sizeof(cxa_col_t));
    if (t->cols == NULL) {
        cxa_error(f->path, "out of memory");
        cxa_table_close(t);
        return -1;
    }
    t->ncols = n;
    for (i = 0; i < n; i++) {
        char       *name = H5Tget_member_name(t->ftype, (unsigned)i);
        hid_t       mt   = H5Tget_member_type(t->ftype, (unsigned)i);
        H5T_class_t cl   = H5Tget_class(mt);
        cxa_col_t  *c    = &t->cols[i];
        snprintf(c->name, sizeof(c->name), "%s", name != NULL ? name : "?");
        c->off  = H5Tget_member_offset(t->ftype, (unsigned)i);
        c->size = H5Tget_size(mt);
        if (cl == H5T_INTEGER)
            c->cls = H5Tget_sign(mt) == H5T_SGN_NONE ? 'u' : 'i';
        else if (cl == H5T_FLOAT)
            c->cls = 'f';
        else if (cl == H5T_STRING)
            c->cls = 's';
        else
            c->cls = '?';
        if (H5Tget_order(mt) == H5T_ORDER_BE && (c->cls == 'u' || c->cls == 'i' || c->cls == 'f'))
            c->cls = '?'; /* big-endian: not written by colossim */
        H5Tclose(mt);
        H5free_memory(name);
    }
    return 0;
}

void cxa_table_close(cxa_table_t *t)
{
    if (t->ftype >= 0) H5Tclose(t->ftype);
    if (t->dset >= 0) H5Dclose(t->dset);
    free(t->cols);
    t->cols  = NULL;
    t->ftype = H5I_INVALID_HID;
    t->dset  = H5I_INVALID_HID;
}

/* Signed "*_ps" columns of rows [start, start+n) in buf: times of a run,
 * [0, CXA_PS_MAX].  0 ok, -1 after one error naming table, row and column. */
static int cxa_check_times(const cxa_table_t *t, uint64_t start, uint64_t n, const void *buf)
{
    int i;
    for (i = 0; i < t->ncols; i++) {
        const cxa_col_t *c   = &t->cols[i];
        size_t           len = strlen(c->name);
        uint64_t         r;
        if (c->cls != 'i' || len < 3 || strcmp(c->name + len - 3, "_ps") != 0) continue;
        for (r = 0; r < n; r++) {
            int64_t v = cxa_get_i64(c, cxa_row(t, buf, r));
            if (v < 0 || v > CXA_PS_MAX) {
                cxa_error(t->file->path, "%s row %llu: %s %lld is not a time of a run (0 to 2^62 ps): a corrupt "
                          "trace", t->path, (unsigned long long)(start + r), c->name, (long long)v);
                return -1;
            }
        }
    }
    return 0;
}

int cxa_table_read(cxa_table_t *t, uint64_t start, uint64_t n, void *buf)
{
    hid_t   fs, ms;
    hsize_t off[1] = {start}, cnt[1] = {n};
    herr_t  rc;
    if (n == 0) return 0;
    fs = H5Dget_space(t->dset);
    ms = H5Screate_simple(1, cnt, NULL);
    rc = H5Sselect_hyperslab(fs, H5S_SELECT_SET, off, NULL, cnt, NULL);
    if (rc >= 0) rc = H5Dread(t->dset, t->ftype, ms, fs, H5P_DEFAULT, buf);
    H5Sclose(ms);
    H5Sclose(fs);
    if (rc < 0) {
        cxa_error(t->file->path, "cannot read rows %llu..%llu of %s: truncated or damaged data",
                  (unsigned long long)start, (unsigned long long)(start + n), t->path);
        return -1;
    }
    return t->raw ? 0 : cxa_check_times(t, start, n, buf);
}

void *cxa_table_read_all(cxa_table_t *t)
{
    size_t bytes = (size_t)t->rows * t->row_size;
    void  *buf   = malloc(bytes > 0 ? bytes : 1);
    if (buf == NULL) {
        cxa_error(t->file->path, "out of memory reading %s (%zu bytes)", t->path, bytes);
        return NULL;
    }
    if (cxa_table_read(t, 0, t->rows, buf) != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}

int cxa_table_open_need(const cxa_file_t *f, const char *path, int flags, const char *const *need, cxa_table_t *t)
{
    if (cxa_table_open(f, path, flags & CXA_LOAD_REQUIRED, t) != 0) return -1;
    t->raw = (flags & CXA_LOAD_RAW) != 0;
    if (need != NULL && cxa_need_cols(t, need) != 0) {
        cxa_table_close(t);
        return -1;
    }
    return 0;
}

void *cxa_table_load(const cxa_file_t *f, const char *path, int flags, const char *const *need, cxa_table_t *t)
{
    void *buf;
    if (cxa_table_open_need(f, path, flags, need, t) != 0) return NULL;
    if ((buf = cxa_table_read_all(t)) == NULL) cxa_table_close(t);
    return buf;
}

int cxa_blocks_init(cxa_blocks_t *b, cxa_table_t *t, size_t bytes)
{
    memset(b, 0, sizeof(*b));
    b->t     = t;
    b->block = t->row_size > 0 ? (uint64_t)bytes / t->row_size : 1;
    if (b->block < 1) b->block = 1;
    if (b->block > t->rows) b->block = t->rows > 0 ? t->rows : 1;
    b->buf = malloc((size_t)b->block * t->row_size + 1);
    return b->buf != NULL ? 0 : -1;
}

int cxa_blocks_next(cxa_blocks_t *b)
{
    if (b->buf == NULL) return -1;
    b->start += b->n;
    b->n = 0;
    if (b->start >= b->t->rows) return 0;
    b->n = b->t->rows - b->start < b->block ? b->t->rows - b->start : b->block;
    return cxa_table_read(b->t, b->start, b->n, b->buf) != 0 ? -1 : 1;
}

void cxa_blocks_free(cxa_blocks_t *b)
{
    free(b->buf);
    b->buf = NULL;
}

/* A column the analyzer needs (cxa_need_cols) must be one of the schema's
 * (src/trace/cx_schema.h): a name it does not know is a bug here, not a
 * trace problem. */
static void cxa_schema_check(const cxa_table_t *t, const char *name)
{
    const cx_schema_table_t *st = cx_schema_table(t->path);
    if (st != NULL && cx_schema_col(st, name) == NULL) {
        fprintf(stderr, "colossim-analyze: internal error: column '%s' is not in the schema of %s "
                "(src/trace/cx_schema.h)\n", name, t->path);
        abort();
    }
}

const cxa_col_t *cxa_col(const cxa_table_t *t, const char *name)
{
    int i;
    for (i = 0; i < t->ncols; i++)
        if (strcmp(t->cols[i].name, name) == 0) return &t->cols[i];
    return NULL; /* optional columns may be asked of any table (export-csv's "gpu") */
}

int cxa_need_cols(const cxa_table_t *t, const char *const *names)
{
    for (; *names != NULL; names++) {
        cxa_schema_check(t, *names);
        const cxa_col_t *c = cxa_col(t, *names);
        if (c == NULL || c->cls == 's' || c->cls == '?') {
            cxa_error(t->file->path, "table %s has no numeric column '%s' (not written by this colossim?)",
                      t->path, *names);
            return -1;
        }
    }
    return 0;
}

/* The integer of an integer column as 64 bits, sign-extended when signed. */
static uint64_t cxa_get_bits(const cxa_col_t *c, const void *row)
{
    const unsigned char *p = (const unsigned char *)row + c->off;
    int                  s = c->cls == 'i';
    switch (c->size) {
    case 1: { uint8_t v; memcpy(&v, p, 1); return s ? (uint64_t)(int64_t)(int8_t)v : v; }
    case 2: { uint16_t v; memcpy(&v, p, 2); return s ? (uint64_t)(int64_t)(int16_t)v : v; }
    case 4: { uint32_t v; memcpy(&v, p, 4); return s ? (uint64_t)(int64_t)(int32_t)v : v; }
    case 8: { uint64_t v; memcpy(&v, p, 8); return v; }
    default: return 0;
    }
}

int64_t cxa_get_i64(const cxa_col_t *c, const void *row)
{
    return c->cls == 'f' ? (int64_t)cxa_get_f64(c, row) : (int64_t)cxa_get_bits(c, row);
}

uint64_t cxa_get_u64(const cxa_col_t *c, const void *row)
{
    return c->cls == 'f' ? (uint64_t)cxa_get_f64(c, row) : cxa_get_bits(c, row);
}

int cxa_dcmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

double cxa_pct(const double *v, uint64_t n, double q)
{
    uint64_t i;
    if (n == 0) return 0.0;
    i = (uint64_t)ceil(q * (double)n);
    if (i < 1) i = 1;
    if (i > n) i = n;
    return v[i - 1];
}

double cxa_get_f64(const cxa_col_t *c, const void *row)
{
    const unsigned char *p = (const unsigned char *)row + c->off;
    if (c->cls == 'f') {
        if (c->size == 4) { float v; memcpy(&v, p, 4); return (double)v; }
        if (c->size == 8) { double v; memcpy(&v, p, 8); return v; }
        return 0.0;
    }
    if (c->cls == 'i') return (double)cxa_get_i64(c, row);
    return (double)cxa_get_u64(c, row);
}

/* ---- /meta ---------------------------------------------------------------- */

static hid_t cxa_meta_attr(const cxa_file_t *f, const char *name)
{
    if (H5Aexists_by_name(f->fid, "meta", name, H5P_DEFAULT) <= 0) return H5I_INVALID_HID;
    return H5Aopen_by_name(f->fid, "meta", name, H5P_DEFAULT, H5P_DEFAULT);
}

/* A numeric /meta attribute converted to the native type `type` into *v. */
static int cxa_meta_num(const cxa_file_t *f, const char *name, hid_t type, void *v)
{
    hid_t  a = cxa_meta_attr(f, name);
    herr_t rc;
    if (a < 0) return -1;
    rc = H5Aread(a, type, v);
    H5Aclose(a);
    return rc < 0 ? -1 : 0;
}

int cxa_meta_i64(const cxa_file_t *f, const char *name, int64_t *v)
{
    return cxa_meta_num(f, name, H5T_NATIVE_INT64, v);
}

int cxa_meta_f64(const cxa_file_t *f, const char *name, double *v)
{
    return cxa_meta_num(f, name, H5T_NATIVE_DOUBLE, v);
}

int cxa_meta_str(const cxa_file_t *f, const char *name, char *buf, size_t len)
{
    hid_t  a = cxa_meta_attr(f, name), t;
    size_t sz;
    char  *tmp;
    herr_t rc;
    if (len > 0) buf[0] = '\0';
    if (a < 0) return -1;
    t = H5Aget_type(a);
    if (H5Tget_class(t) != H5T_STRING || H5Tis_variable_str(t) > 0) {
        H5Tclose(t);
        H5Aclose(a);
        return -1;
    }
    sz  = H5Tget_size(t);
    tmp = calloc(sz + 1, 1);
    rc  = tmp != NULL ? H5Aread(a, t, tmp) : -1;
    if (rc >= 0 && len > 0) snprintf(buf, len, "%s", tmp);
    free(tmp);
    H5Tclose(t);
    H5Aclose(a);
    return rc < 0 ? -1 : 0;
}

char *cxa_meta_text(const cxa_file_t *f, const char *name)
{
    char   path[256];
    hid_t  d, t;
    size_t sz;
    char  *buf = NULL;
    snprintf(path, sizeof(path), "/meta/%s", name);
    if (!cxa_exists(f, path)) return NULL;
    d = H5Dopen2(f->fid, path, H5P_DEFAULT);
    if (d < 0) return NULL;
    t = H5Dget_type(d);
    if (t >= 0 && H5Tget_class(t) == H5T_STRING && H5Tis_variable_str(t) <= 0) {
        sz  = H5Tget_size(t);
        buf = calloc(sz + 1, 1);
        if (buf != NULL && H5Dread(d, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0) {
            free(buf);
            buf = NULL;
        }
    }
    if (t >= 0) H5Tclose(t);
    H5Dclose(d);
    return buf;
}

/* ---- opening a run's trace; numeric options -------------------------- */

int cxa_open_run(cxa_file_t *f, const char *path, int64_t *complete)
{
    *complete = 1;
    if (cxa_open(f, path) != 0) return CXA_EXIT_FILE;
    cxa_meta_i64(f, "complete", complete);
    if (!*complete) fprintf(stderr, "colossim-analyze: %s: INCOMPLETE: run stopped early\n", f->path);
    return CXA_EXIT_OK;
}

int cxa_cmd_start(const char *cmd, int argc, char **argv, const char *allowed, const char *usage, cxa_args_t *a,
                  cxa_format_t *fmt)
{
    if (cxa_parse_args(cmd, argc, argv, a, allowed) != 0) return CXA_EXIT_USAGE;
    if (a->help || a->npos != 1) {
        cxa_usage_error(cmd, a, 0, NULL);
        return cxa_usage_print(a, "%s", usage);
    }
    if (cxa_parse_format(a->format, fmt) != 0) return CXA_EXIT_USAGE;
    return -1;
}

int cxa_parse_top(const char *s, long *top)
{
    char *end;
    if (s == NULL) return 0;
    *top = strtol(s, &end, 10);
    if (*end != '\0' || *top < 1) {
        cxa_error(NULL, "--top '%s': expected a positive integer", s);
        return -1;
    }
    return 0;
}

int cxa_parse_max_mb(const char *cmd, const char *s, double *mb)
{
    char *end;
    if (s == NULL) return 0;
    *mb = strtod(s, &end);
    if (end == s || *end != '\0' || *mb < 0) {
        cxa_error(NULL, "%s: --max-mb '%s': expected a size in MB >= 0 (0 = no limit)", cmd, s);
        return -1;
    }
    return 0;
}

/* ---- names: the schema's labels (src/trace/cx_schema.c, compiled in) ---- */

const char *cxa_kind_name(unsigned kind) { return cx_schema_label(CX_SCHEMA_L_OP_KIND, kind); }
const char *cxa_class_name(unsigned cls) { return cx_schema_label(CX_SCHEMA_L_OP_CLASS, cls); }
const char *cxa_coll_name(unsigned kind) { return cx_schema_label(CX_SCHEMA_L_COLL_KIND, kind); }
const char *cxa_algo_name(unsigned algo) { return cx_schema_label(CX_SCHEMA_L_COLL_ALGO, algo); }
const char *cxa_phase_name(unsigned phase) { return cx_schema_label(CX_SCHEMA_L_PHASE, phase); }
const char *cxa_block_name(unsigned block) { return cx_schema_label(CX_SCHEMA_L_BLOCK, block); }
const char *cxa_stream_name(unsigned stream) { return cx_schema_label(CX_SCHEMA_L_STREAM, stream); }

/* ---- arguments ---------------------------------------------------------------- */

/* allowed: space-separated option names this command takes ("format out"). */
/* Edit distance of two short option names (for "did you mean"). */
static size_t cxa_edit_distance(const char *x, size_t nx, const char *y, size_t ny)
{
    size_t row[65], i, j;
    if (nx > 64 || ny > 64) return 99;
    for (j = 0; j <= ny; j++) row[j] = j;
    for (i = 1; i <= nx; i++) {
        size_t diag = row[0];
        row[0]      = i;
        for (j = 1; j <= ny; j++) {
            size_t up = row[j], best = diag + (x[i - 1] != y[j - 1]);
            if (row[j] + 1 < best) best = row[j] + 1;
            if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
            row[j] = best;
            diag   = up;
        }
    }
    return row[ny];
}

/* The allowed option closest to name (at most 2 edits, or name a prefix of
 * it), into buf; "" when none is close. */
static void cxa_did_you_mean(const char *name, const char *allowed, char *buf, size_t len)
{
    const char *p = allowed;
    size_t      best = 3, nl = strlen(name);
    buf[0] = '\0';
    while (*p != '\0') {
        size_t l = strcspn(p, " "), d;
        if (l > 0) {
            d = cxa_edit_distance(name, nl, p, l);
            if (nl >= 3 && l > nl && strncmp(p, name, nl) == 0) d = 1;
            if (d < best) {
                best = d;
                snprintf(buf, len, "%.*s", (int)l, p);
            }
        }
        p += l;
        while (*p == ' ') p++;
    }
}

int cxa_parse_args(const char *cmd, int argc, char **argv, cxa_args_t *a, const char *allowed)
{
    int i;
    memset(a, 0, sizeof(*a));
    for (i = 0; i < argc; i++) {
        const char *s = argv[i], *val = NULL, *eq;
        char        name[64];
        size_t      nlen;
        if (strcmp(s, "-h") == 0) {
            a->help = 1;
            continue;
        }
        if (strncmp(s, "--", 2) != 0 || s[2] == '\0') {
            if (a->npos >= 4) {
                cxa_error(NULL, "%s: too many arguments ('%s')", cmd, s);
                return -1;
            }
            a->pos[a->npos++] = s;
            continue;
        }
        s += 2;
        eq   = strchr(s, '=');
        nlen = eq != NULL ? (size_t)(eq - s) : strlen(s);
        if (nlen >= sizeof(name)) nlen = sizeof(name) - 1;
        memcpy(name, s, nlen);
        name[nlen] = '\0';
        if (strcmp(name, "help") == 0) {
            a->help = 1;
            continue;
        }
        {
            /* Is it allowed? */
            const char *p = strstr(allowed, name);
            size_t      l = strlen(name);
            int         ok = 0;
            while (p != NULL) {
                if ((p == allowed || p[-1] == ' ') && (p[l] == '\0' || p[l] == ' ')) {
                    ok = 1;
                    break;
                }
                p = strstr(p + 1, name);
            }
            if (!ok) {
                char near[64];
                cxa_did_you_mean(name, allowed, near, sizeof(near));
                if (near[0] != '\0')
                    cxa_error(NULL, "%s: unknown option --%s: did you mean --%s? (see colossim-analyze %s --help)",
                              cmd, name, near, cmd);
                else
                    cxa_error(NULL, "%s: unknown option --%s (see colossim-analyze %s --help)", cmd, name, cmd);
                return -1;
            }
        }
        if (strcmp(name, "no-collective-tracks") == 0) {
            a->no_coll_tracks = 1;
            continue;
        }
        if (strcmp(name, "force") == 0) {
            a->force = 1;
            continue;
        }
        if (eq != NULL)
            val = eq + 1;
        else if (i + 1 < argc)
            val = argv[++i];
        else {
            cxa_error(NULL, "%s: option --%s needs a value", cmd, name);
            return -1;
        }
        if (strcmp(name, "format") == 0) a->format = val;
        else if (strcmp(name, "out") == 0) a->out = val;
        else if (strcmp(name, "gpus") == 0) a->gpus = val;
        else if (strcmp(name, "top") == 0) a->top = val;
        else if (strcmp(name, "iteration") == 0) a->iteration = val;
        else if (strcmp(name, "max-mb") == 0) a->max_mb = val;
        else if (strcmp(name, "table") == 0) a->table = val;
        else if (strcmp(name, "job") == 0) a->job = val;
    }
    return 0;
}

void cxa_usage_error(const char *cmd, const cxa_args_t *a, int need_out, const char *out_what)
{
    if (a->help) return;
    if (a->npos == 0)
        cxa_error(NULL, "%s: missing FILE (a colossim trace, .h5)", cmd);
    else if (a->npos > 1)
        cxa_error(NULL, "%s: one FILE only (got '%s' and '%s')", cmd, a->pos[0], a->pos[1]);
    else if (need_out && a->out == NULL)
        cxa_error(NULL, "%s: missing --out %s", cmd, out_what != NULL ? out_what : "PATH");
}

int cxa_usage_print(const cxa_args_t *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfprintf(a->help ? stdout : stderr, fmt, ap);
    va_end(ap);
    return a->help ? CXA_EXIT_OK : CXA_EXIT_USAGE;
}

int cxa_parse_format(const char *s, cxa_format_t *fmt)
{
    /* "text" as colossim's own commands call it. */
    if (s == NULL || strcmp(s, "table") == 0 || strcmp(s, "text") == 0) *fmt = CXA_FMT_TABLE;
    else if (strcmp(s, "json") == 0) *fmt = CXA_FMT_JSON;
    else if (strcmp(s, "csv") == 0) *fmt = CXA_FMT_CSV;
    else {
        cxa_error(NULL, "--format '%s': expected table (or text), json or csv", s);
        return -1;
    }
    return 0;
}

int cxa_gpu_mask(cxa_file_t *f, const char *spec, int64_t *gpus, unsigned char **mask)
{
    *mask = NULL;
    if (cxa_meta_i64(f, "gpus", gpus) != 0 || *gpus <= 0) {
        cxa_error(f->path, "/meta has no 'gpus' attribute: not a trace of 'colossim run'");
        return CXA_EXIT_FILE;
    }
    *mask = malloc((size_t)*gpus);
    if (*mask == NULL || cxa_parse_gpu_set(spec, (uint64_t)*gpus, *mask) != 0) return CXA_EXIT_USAGE;
    return CXA_EXIT_OK;
}

int cxa_parse_gpu_set(const char *spec, uint64_t n, unsigned char *mask)
{
    const char *p = spec;
    if (spec == NULL || strcmp(spec, "all") == 0) {
        memset(mask, 1, (size_t)n);
        return 0;
    }
    memset(mask, 0, (size_t)n);
    while (*p != '\0') {
        char              *end;
        unsigned long long lo = strtoull(p, &end, 10), hi, g;
        if (end == p) goto bad;
        hi = lo;
        p  = end;
        if (*p == '-') {
            hi = strtoull(p + 1, &end, 10);
            if (end == p + 1) goto bad;
            p = end;
        }
        if (hi < lo || hi >= n) {
            cxa_error(NULL, "--gpus %s: range %llu-%llu outside the job's GPUs 0-%llu", spec, lo, hi,
                      (unsigned long long)(n > 0 ? n - 1 : 0));
            return -1;
        }
        for (g = lo; g <= hi; g++) mask[g] = 1;
        if (*p == ',') p++;
        else if (*p != '\0') goto bad;
    }
    return 0;
bad:
    cxa_error(NULL, "--gpus '%s': expected a list like 0-7,16,32-35", spec);
    return -1;
}
