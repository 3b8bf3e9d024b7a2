/*
 * The HDF5 trace writer (see cx_trace.h for the contract, analysis/SCHEMA.md
 * for the file layout).
 *
 * Why this shape: parallel HDF5 1.10 is reliable for exactly one pattern
 * (DESIGN.md §7): chunked, compressed compound datasets written with
 * H5FD_MPIO_COLLECTIVE, offsets from MPI_Exscan, collective metadata, every
 * rank in every call.  So rows are buffered per rank with no HDF5 or MPI in
 * the hot path, repacked at append time to the file's packed layout (no
 * datatype conversion in H5Dwrite, which would break collective I/O on a
 * filtered dataset, and no padding garbage in the file), and every collective
 * step is followed by an agreement (cx_agree) so that one rank's failure
 * makes all ranks take the same branch instead of hanging in the next
 * collective.
 */
#define _GNU_SOURCE /* fallocate (FALLOC_FL_KEEP_SIZE); strnlen, access, stat, truncate */

#include "cx_trace.h"

#include "cx_agree.h"
#include "cx_log.h"
#include "cx_schema.h"
#include "cx_version.h"

#include <hdf5.h>

#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

/* Attributes live in the object header: keep the per-field doc arrays well
 * below HDF5's 64 KiB compact-attribute limit. */
#define TRACE_ATTR_MAX_BYTES (60u * 1024u)
#define TRACE_CHUNK_MAX_ROWS ((size_t)65536)
#define TRACE_CHUNK_MIN_ROWS ((size_t)1024)
#define TRACE_CHUNK_MAX_BYTES ((size_t)4 << 20)
#define TRACE_DEFLATE_LEVEL 1u   /* speed over ratio: shuffle does most of the work */
/* Room reserved past the file's end of allocation before every write, for
 * the metadata HDF5 writes with it or at close (object headers, chunk index,
 * free-space info); also the least free space cx_trace_open asks for. */
#define TRACE_RESERVE_MARGIN ((uint64_t)256 << 10)
/* A write is cut in slices of whole chunks of about this many bytes of rows:
 * the points where progress is reported and a stop signal is heard. */
#define TRACE_SLICE_BYTES ((uint64_t)4 << 20)
/* After a stop signal, seconds of writing before the rest is dropped;
 * writes of at most this many bytes of rows (the summary tables) are kept. */
#define TRACE_STOP_GRACE_S 1.0
#define TRACE_STOP_KEEP_BYTES ((uint64_t)256 << 10)

/* Set by cx_trace_watch_stop_signals' handler (SIGTERM, SIGUSR1). */
static volatile sig_atomic_t trace_stop_seen = 0;
static struct sigaction      trace_prev_term, trace_prev_usr1;

struct cx_trace_table {
    cx_trace_t       *tr;
    cx_trace_table_t *next;
    char             *path;
    char             *doc;
    size_t            n_fields;
    cx_trace_field_t *fields;      /* deep copies of the caller's descriptions */
    size_t           *packed_off;  /* offset of each field in the packed row */
    size_t            row_size;    /* caller's struct size */
    size_t            packed_size; /* file row size */
    int               identity;    /* caller layout == packed layout: one memcpy */
    uint64_t          hash;        /* of the definition; must match on all ranks */
    hid_t             mem_type;    /* packed compound; also the file type */
    hid_t             dset;        /* H5I_INVALID_HID until the first write */
    size_t            chunk_rows;  /* 0: automatic at the first write */
    uint64_t          written;     /* rows in the file (all ranks) */
    unsigned char    *buf;         /* packed rows of this rank */
    size_t            n_buf;
    size_t            cap_buf;
    int               failed;      /* local: append ran out of memory */
    unsigned          broken;      /* writes where HDF5 fell back from collective I/O */
    unsigned          writes;      /* successful cx_trace_table_write calls with rows */
    uint64_t          dropped;     /* rows not written: a stop signal came during a slow write */
};

struct cx_trace {
    MPI_Comm          comm;
    int               rank;
    int               size;
    int               failed;      /* agreed: a collective step failed */
    int               closing;     /* in cx_trace_close: failures are "at the end of the run" */
    unsigned          table_write; /* in a table write: that table's write number (1 = first) */
    uint64_t          reserved;    /* rank 0: bytes [0, reserved) of the file are allocated on disk */
    double            progress_s;  /* rank 0: progress line period while writing (0 = none) */
    double            progress_last;
    double            stop_t0;     /* MPI_Wtime when a stop signal was first agreed on (0 = none) */
    int               dropping;    /* agreed: past the grace after a stop, rows are dropped */
    char             *path;
    char             *partial;
    hid_t             file;
    hid_t             meta;
    cx_trace_table_t *tables;
    cx_trace_table_t *tail;
};

/* --- small helpers ------------------------------------------------------ */

static char *trace_strdup(const char *s)
{
    size_t n;
    char  *d;

    if (s == NULL) {
        s = "";
    }
    n = strlen(s) + 1;
    d = malloc(n);
    if (d != NULL) {
        memcpy(d, s, n);
    }
    return d;
}

/* HDF5 prints its error stack on every failure by default; the trace turns
 * that off inside its own calls and turns the innermost message into one
 * cx_err_t line instead. */
typedef struct {
    H5E_auto2_t func;
    void       *data;
} trace_quiet_t;

static void trace_quiet_begin(trace_quiet_t *q)
{
    H5Eget_auto2(H5E_DEFAULT, &q->func, &q->data);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

static void trace_quiet_end(const trace_quiet_t *q)
{
    H5Eset_auto2(H5E_DEFAULT, q->func, q->data);
}

typedef struct {
    char outer[128];
    char inner[384];
    int  write_failed; /* some frame is a write or flush failure */
} trace_h5msg_t;

static herr_t trace_h5_walk(unsigned n, const H5E_error2_t *e, void *data)
{
    trace_h5msg_t *m = data;

    if (n == 0) {
        snprintf(m->outer, sizeof(m->outer), "%s", e->func_name != NULL ? e->func_name : "?");
    }
    snprintf(m->inner, sizeof(m->inner), "%s", e->desc != NULL ? e->desc : "");
    if (e->min_num == H5E_WRITEERROR || e->min_num == H5E_CANTFLUSH) {
        m->write_failed = 1;
    }
    return 0;
}

/* Why a write failed.  HDF5 reports a short MPI-IO write only as "file write
 * failed" (Open MPI's ompio returns MPI_SUCCESS with fewer bytes written):
 * the errno of the failing pwrite, when still set as HDF5 returns, names the
 * cause; failing that, a file system with less than 1 MiB left is the cause
 * (buf gets "; N KiB free").  NULL when neither says anything. */
static const char *trace_write_reason(const char *partial, int saved_errno, char *buf, size_t len)
{
    char           dir[4096];
    const char    *slash = strrchr(partial, '/');
    struct statvfs vfs;

    if (saved_errno == ENOSPC || saved_errno == EDQUOT || saved_errno == EFBIG ||
        saved_errno == EIO || saved_errno == EROFS) {
        return strerror(saved_errno);
    }
    if (slash == NULL) {
        snprintf(dir, sizeof(dir), ".");
    } else {
        snprintf(dir, sizeof(dir), "%.*s", slash == partial ? 1 : (int)(slash - partial), partial);
    }
    if (statvfs(dir, &vfs) == 0 && (unsigned long long)vfs.f_bavail * vfs.f_frsize < (1ull << 20)) {
        snprintf(buf, len, "; %llu KiB free", (unsigned long long)vfs.f_bavail * vfs.f_frsize / 1024);
        return strerror(ENOSPC);
    }
    return NULL;
}

/* Where in the run a write failed: a table's first write, a flush during
 * the run, or the end of the run. */
static void trace_when(const cx_trace_t *tr, char *buf, size_t len)
{
    buf[0] = '\0';
    if (tr->closing) {
        snprintf(buf, len, ", at the end of the run");
    } else if (tr->table_write > 0) {
        snprintf(buf, len, ", write %u of that table during the run", tr->table_write);
    }
}

static cx_status_t trace_h5_fail(cx_err_t *err, const cx_trace_t *tr, const char *what)
{
    int           saved_errno = errno; /* first: the MPI-IO write's cause */
    const char   *file = tr != NULL ? tr->partial : NULL;
    const char   *reason;
    char          rbuf[64], when[64];
    trace_h5msg_t m;

    memset(&m, 0, sizeof(m));
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, trace_h5_walk, &m);
    H5Eclear2(H5E_DEFAULT);
    if (m.write_failed && file != NULL) {
        /* One line a user can act on: the reason, then where it happened
         * (which write of which table tells a first write from a flush). */
        rbuf[0] = '\0';
        reason  = trace_write_reason(file, saved_errno, rbuf, sizeof(rbuf));
        trace_when(tr, when, sizeof(when));
        return cx_err_set(err, CX_ERR_IO, file, 0, NULL, "cannot write the trace: %s (%s%s%s)",
                          reason != NULL ? reason : m.inner, what, when, rbuf);
    }
    if (m.outer[0] != '\0') {
        return cx_err_set(err, CX_ERR_IO, file, 0, NULL, "%s: %s failed: %s", what, m.outer,
                          m.inner);
    }
    return cx_err_set(err, CX_ERR_IO, file, 0, NULL, "%s failed", what);
}

/* Close an HDF5 id a step opened, whatever its kind (< 0: never opened). */
static void trace_h5_close(hid_t id)
{
    if (id < 0) {
        return;
    }
    switch (H5Iget_type(id)) {
    case H5I_DATASET:
        H5Dclose(id);
        break;
    case H5I_DATASPACE:
        H5Sclose(id);
        break;
    case H5I_DATATYPE:
        H5Tclose(id);
        break;
    case H5I_GENPROP_LST:
        H5Pclose(id);
        break;
    default:
        H5Idec_ref(id);
        break;
    }
}

/*
 * The agreement after every collective step (cx_agree): if any rank failed,
 * every rank returns the status and message of the lowest failing rank, and
 * the trace is poisoned.  err must be non-NULL.
 */
static cx_status_t trace_agree(cx_trace_t *tr, cx_status_t st, cx_err_t *err)
{
    st = cx_agree(tr->comm, st, err);
    if (st != CX_OK) {
        tr->failed = 1;
    }
    return st;
}

/*
 * Rank 0: allocate bytes [0, file size + need) of PATH.partial on disk
 * (fallocate with FALLOC_FL_KEEP_SIZE: the file's size and content do not
 * change).  Where the file system cannot, the free space is compared instead.
 */
static cx_status_t trace_reserve_local(cx_trace_t *tr, uint64_t need, const char *what, cx_err_t *err)
{
    struct statvfs vfs;
    struct stat    sb;
    char           when[64], dir[4096];
    const char    *slash = strrchr(tr->partial, '/');
    uint64_t       avail = UINT64_MAX, upto;
    int            fd, rc, e = 0;

    if (getenv("CX_TRACE_TEST_NO_RESERVE") != NULL) {
        return CX_OK; /* test hook: let HDF5 meet the full disk (hostile.full_disk_unreserved) */
    }
    fd = open(tr->partial, O_WRONLY);
    if (fd < 0 || fstat(fd, &sb) != 0) {
        if (fd >= 0) {
            close(fd);
        }
        return CX_OK; /* HDF5 will say what is wrong */
    }
    upto = (uint64_t)sb.st_size + need;
    if (upto <= tr->reserved) {
        close(fd);
        return CX_OK;
    }
    rc = fallocate(fd, FALLOC_FL_KEEP_SIZE, (off_t)tr->reserved, (off_t)(upto - tr->reserved));
    e  = rc != 0 ? errno : 0;
    close(fd);
    if (rc == 0) {
        tr->reserved = upto;
        return CX_OK;
    }
    if (slash == NULL) {
        snprintf(dir, sizeof(dir), ".");
    } else {
        snprintf(dir, sizeof(dir), "%.*s", slash == tr->partial ? 1 : (int)(slash - tr->partial), tr->partial);
    }
    if (statvfs(dir, &vfs) == 0) {
        avail = (uint64_t)vfs.f_bavail * vfs.f_frsize;
    }
    if (e != ENOSPC && e != EDQUOT && e != EFBIG) {
        /* No fallocate here (EOPNOTSUPP ...): at least the free space. */
        if (avail >= upto - tr->reserved) {
            return CX_OK;
        }
        e = ENOSPC;
    }
    trace_when(tr, when, sizeof(when));
    return cx_err_set(err, CX_ERR_IO, tr->partial, 0, NULL,
                      "cannot write the trace: %s (%s%s; up to %llu KiB more to write, %llu KiB free)",
                      strerror(e), what, when, (unsigned long long)((upto - tr->reserved + 1023) / 1024),
                      avail == UINT64_MAX ? 0ull : (unsigned long long)(avail / 1024));
}

/*
 * Collective: make room on disk for `need` more bytes past the file's end
 * before writing them, and agree.  Parallel HDF5 cannot survive a failed
 * write: on a full disk the aggregator's H5Dwrite fails after its MPI-IO
 * write while the other ranks go on into the file view reset, a collective
 * the failed rank skipped, and every rank hangs.  So a full disk must be
 * found before HDF5 writes.  Rows are compressed, so their uncompressed size
 * bounds the data a write adds; the margin covers the metadata HDF5 has
 * allocated past the file's end and not written yet (H5Fget_eoa would say
 * where that ends, but wants a SWMR driver, not MPI-IO).  The reserved
 * blocks past the end are freed at close.
 */
static cx_status_t trace_reserve(cx_trace_t *tr, uint64_t need, const char *what, cx_err_t *err)
{
    cx_status_t st = CX_OK;

    if (tr->rank == 0) {
        st = trace_reserve_local(tr, (need > UINT64_MAX / 4 ? UINT64_MAX / 4 : need) + TRACE_RESERVE_MARGIN,
                                 what, err);
    }
    return trace_agree(tr, st, err);
}

static uint64_t trace_fnv_str(uint64_t h, const char *s)
{
    return cx_schema_fnv1a(h, s, strlen(s) + 1);
}

static hid_t trace_native_type(cx_trace_type_t t, size_t *size_p)
{
    switch (t) {
    case CX_TRACE_U8:  *size_p = 1; return H5T_NATIVE_UINT8;
    case CX_TRACE_U16: *size_p = 2; return H5T_NATIVE_UINT16;
    case CX_TRACE_U32: *size_p = 4; return H5T_NATIVE_UINT32;
    case CX_TRACE_U64: *size_p = 8; return H5T_NATIVE_UINT64;
    case CX_TRACE_I8:  *size_p = 1; return H5T_NATIVE_INT8;
    case CX_TRACE_I16: *size_p = 2; return H5T_NATIVE_INT16;
    case CX_TRACE_I32: *size_p = 4; return H5T_NATIVE_INT32;
    case CX_TRACE_I64: *size_p = 8; return H5T_NATIVE_INT64;
    case CX_TRACE_F32: *size_p = 4; return H5T_NATIVE_FLOAT;
    case CX_TRACE_F64: *size_p = 8; return H5T_NATIVE_DOUBLE;
    case CX_TRACE_STR: *size_p = 0; return H5T_C_S1;
    }
    *size_p = 0;
    return H5I_INVALID_HID;
}

/* A fixed-length string type of `size` bytes (size >= 1). */
static hid_t trace_str_type(size_t size, H5T_str_t pad)
{
    hid_t t = H5Tcopy(H5T_C_S1);

    if (t < 0) {
        return t;
    }
    if (H5Tset_size(t, size) < 0 || H5Tset_strpad(t, pad) < 0) {
        H5Tclose(t);
        return H5I_INVALID_HID;
    }
    return t;
}

/* Collective: create (or replace) attribute `name` on obj; buf identical on
 * all ranks.  Local status; the caller agrees. */
static cx_status_t trace_attr_write(cx_trace_t *tr, hid_t obj, const char *name, hid_t type,
                                    hid_t space, const void *buf, cx_err_t *err)
{
    hid_t       a;
    htri_t      ex;
    cx_status_t st = CX_OK;

    ex = H5Aexists(obj, name);
    if (ex < 0 || (ex > 0 && H5Adelete(obj, name) < 0)) {
        return trace_h5_fail(err, tr, name);
    }
    a = H5Acreate2(obj, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
    if (a < 0) {
        return trace_h5_fail(err, tr, name);
    }
    if (H5Awrite(a, type, buf) < 0) {
        st = trace_h5_fail(err, tr, name);
    }
    if (H5Aclose(a) < 0 && st == CX_OK) {
        st = trace_h5_fail(err, tr, name);
    }
    return st;
}

static cx_status_t trace_attr_scalar(cx_trace_t *tr, hid_t obj, const char *name, hid_t type,
                                     const void *buf, cx_err_t *err)
{
    hid_t       space = H5Screate(H5S_SCALAR);
    cx_status_t st;

    if (space < 0) {
        return trace_h5_fail(err, tr, name);
    }
    st = trace_attr_write(tr, obj, name, type, space, buf, err);
    H5Sclose(space);
    return st;
}

static cx_status_t trace_attr_string(cx_trace_t *tr, hid_t obj, const char *name,
                                     const char *value, cx_err_t *err)
{
    hid_t       type = trace_str_type(strlen(value) + 1, H5T_STR_NULLTERM);
    cx_status_t st;

    if (type < 0) {
        return trace_h5_fail(err, tr, name);
    }
    st = trace_attr_scalar(tr, obj, name, type, value, err);
    H5Tclose(type);
    return st;
}

/* Collective: an array-of-strings attribute (one entry per field). */
static cx_status_t trace_attr_strings(cx_trace_t *tr, hid_t obj, const char *name,
                                      const char *const *values, size_t n, cx_err_t *err)
{
    size_t      i, w = 1;
    hsize_t     dims = n;
    char       *buf;
    hid_t       type, space;
    cx_status_t st;

    for (i = 0; i < n; i++) {
        size_t l = strlen(values[i]) + 1;
        w = l > w ? l : w;
    }
    buf = calloc(n, w);
    if (buf == NULL) {
        return cx_err_set(err, CX_ERR_NOMEM, tr->partial, 0, name, "out of memory");
    }
    for (i = 0; i < n; i++) {
        memcpy(buf + i * w, values[i], strlen(values[i]));
    }
    type  = trace_str_type(w, H5T_STR_NULLTERM);
    space = H5Screate_simple(1, &dims, NULL);
    if (type < 0 || space < 0) {
        st = trace_h5_fail(err, tr, name);
    } else {
        st = trace_attr_write(tr, obj, name, type, space, buf, err);
    }
    trace_h5_close(space);
    trace_h5_close(type);
    free(buf);
    return st;
}

/* Collective: rank 0's string on every rank (caller frees *out_p). */
static cx_status_t trace_bcast_string(cx_trace_t *tr, const char *s, char **out_p, cx_err_t *err)
{
    unsigned long long len = 0;
    char              *copy;
    cx_status_t        st = CX_OK;

    if (tr->rank == 0) {
        len = s != NULL ? strlen(s) : 0;
    }
    MPI_Bcast(&len, 1, MPI_UNSIGNED_LONG_LONG, 0, tr->comm);
    copy = malloc((size_t)len + 1);
    if (copy == NULL) {
        st = cx_err_set(err, CX_ERR_NOMEM, tr->partial, 0, NULL, "out of memory for a %llu-byte meta string", len);
    }
    st = cx_agree(tr->comm, st, err);
    if (st != CX_OK) {
        free(copy);
        return st;
    }
    if (tr->rank == 0 && len > 0) {
        memcpy(copy, s, (size_t)len);
    }
    /* In pieces: MPI counts are int. */
    {
        unsigned long long done = 0;
        while (done < len) {
            unsigned long long piece = len - done;
            if (piece > (1ull << 30)) {
                piece = 1ull << 30;
            }
            MPI_Bcast(copy + done, (int)piece, MPI_CHAR, 0, tr->comm);
            done += piece;
        }
    }
    copy[len] = '\0';
    *out_p    = copy;
    return CX_OK;
}

static cx_status_t trace_check_usable(const cx_trace_t *tr, const char *what, cx_err_t *err)
{
    if (tr == NULL) {
        return cx_err_set(err, CX_ERR_INVALID, NULL, 0, NULL, "%s: trace is NULL", what);
    }
    if (tr->failed) {
        return cx_err_set(err, CX_ERR_IO, tr->partial, 0, NULL,
                          "%s: the trace failed earlier and can only be closed", what);
    }
    return CX_OK;
}

static void trace_table_free(cx_trace_table_t *tbl)
{
    size_t i;

    if (tbl->fields != NULL) {
        for (i = 0; i < tbl->n_fields; i++) {
            free((char *)tbl->fields[i].name);
            free((char *)tbl->fields[i].units);
            free((char *)tbl->fields[i].doc);
        }
    }
    if (tbl->mem_type >= 0) {
        H5Tclose(tbl->mem_type);
    }
    free(tbl->fields);
    free(tbl->packed_off);
    free(tbl->path);
    free(tbl->doc);
    free(tbl->buf);
    free(tbl);
}

/*
 * Collective: close every HDF5 handle, the file last (H5Fclose of the MPI-IO
 * driver refuses while objects are open).  The file's dirty metadata is
 * flushed first with H5Fflush, whose failure leaves the file intact, and the
 * ranks agree on it.  A trace that failed (a full disk) is then truncated to
 * zero bytes by rank 0 before H5Fclose: its content is going anyway, and
 * H5Fclose then has room for the metadata it still writes.  An H5Fclose that
 * fails leaves a half-destroyed file in HDF5's ID table, and HDF5 crashes
 * closing it again at MPI_Finalize (H5F__close_cb, from the MPI_COMM_SELF
 * attribute callback).  Every rank must call this, file open or not; the
 * status is CX_ERR_IO (message in err) when the flush or a close failed.
 */
static cx_status_t trace_close_handles(cx_trace_t *tr, cx_err_t *err)
{
    cx_trace_table_t *tbl;
    cx_status_t       st = CX_OK;

    for (tbl = tr->tables; tbl != NULL; tbl = tbl->next) {
        if (tbl->dset >= 0) {
            if (H5Dclose(tbl->dset) < 0 && st == CX_OK) {
                st = trace_h5_fail(err, tr, tbl->path);
            }
            tbl->dset = H5I_INVALID_HID;
        }
    }
    if (tr->meta >= 0) {
        if (H5Gclose(tr->meta) < 0 && st == CX_OK) {
            st = trace_h5_fail(err, tr, "/meta");
        }
        tr->meta = H5I_INVALID_HID;
    }
    if (tr->file >= 0 && !tr->failed) {
        cx_err_t    scratch;
        cx_status_t rs = trace_reserve(tr, 0, "closing the trace file", st == CX_OK ? err : &scratch);
        st = st == CX_OK ? rs : st;
    }
    if (tr->file >= 0 && !tr->failed && H5Fflush(tr->file, H5F_SCOPE_GLOBAL) < 0 && st == CX_OK) {
        st = trace_h5_fail(err, tr, "flushing the trace file");
    }
    if (cx_agree_any(tr->comm, st != CX_OK || tr->failed)) {
        if (tr->rank == 0) {
            (void)truncate(tr->partial, 0); /* room for H5Fclose's metadata */
        }
        MPI_Barrier(tr->comm);
    }
    if (tr->file >= 0) {
        if (H5Fclose(tr->file) < 0 && st == CX_OK) {
            st = trace_h5_fail(err, tr, "closing the trace file");
        }
        tr->file = H5I_INVALID_HID;
    }
    return st;
}

static void trace_free(cx_trace_t *tr)
{
    cx_trace_table_t *tbl, *next;

    for (tbl = tr->tables; tbl != NULL; tbl = next) {
        next = tbl->next;
        trace_table_free(tbl);
    }
    if (tr->comm != MPI_COMM_NULL) {
        MPI_Comm_free(&tr->comm);
    }
    free(tr->path);
    free(tr->partial);
    free(tr);
}

/* --- open ---------------------------------------------------------------- */

/* Rank 0: is the directory of path there and writable?  A clear message
 * beats HDF5's "unable to open file" five frames down. */
static cx_status_t trace_check_dir(const char *path, const char *partial, cx_err_t *err)
{
    char        dir[4096];
    const char *slash = strrchr(path, '/');
    struct stat sb;

    if (slash == NULL) {
        snprintf(dir, sizeof(dir), ".");
    } else if (slash == path) {
        snprintf(dir, sizeof(dir), "/");
    } else {
        snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
    }
    if (stat(dir, &sb) != 0) {
        return cx_err_set(err, CX_ERR_IO, partial, 0, NULL,
                          "cannot create the trace: directory '%s' does not exist (%s)", dir,
                          strerror(errno));
    }
    if (!S_ISDIR(sb.st_mode)) {
        return cx_err_set(err, CX_ERR_IO, partial, 0, NULL,
                          "cannot create the trace: '%s' is not a directory", dir);
    }
    if (access(dir, W_OK | X_OK) != 0) {
        return cx_err_set(err, CX_ERR_IO, partial, 0, NULL,
                          "cannot create the trace: directory '%s' is not writable (%s)", dir,
                          strerror(errno));
    }
    return CX_OK;
}

static cx_status_t trace_write_auto_meta(cx_trace_t *tr, cx_err_t *err)
{
    char        buf[MPI_MAX_LIBRARY_VERSION_STRING + 1];
    int         len = 0;
    unsigned    maj = 0, min = 0, rel = 0;
    int64_t     v;
    char       *cut;
    cx_status_t st;

    v  = CX_TRACE_SCHEMA_VERSION;
    st = cx_trace_meta_set_int64(tr, "schema_version", v, err);
    if (st == CX_OK) {
        st = cx_trace_meta_set_int64(tr, "complete", 0, err);
    }
    if (st == CX_OK) {
        st = cx_trace_meta_set_int64(tr, "ranks", tr->size, err);
    }
    if (st == CX_OK) {
        st = cx_trace_meta_set_string(tr, "colossim_version", CX_VERSION_STRING, err);
    }
    if (st == CX_OK) {
        st = cx_trace_meta_set_string(tr, "git_revision", CX_GIT_REVISION, err);
    }
    if (st == CX_OK) {
        H5get_libversion(&maj, &min, &rel);
        snprintf(buf, sizeof(buf), "%u.%u.%u", maj, min, rel);
        st = cx_trace_meta_set_string(tr, "hdf5_version", buf, err);
    }
    if (st == CX_OK) {
        memset(buf, 0, sizeof(buf));
        MPI_Get_library_version(buf, &len);
        cut = strpbrk(buf, ",\n");
        if (cut != NULL) {
            *cut = '\0';
        }
        st = cx_trace_meta_set_string(tr, "mpi_library", buf, err);
    }
    return st;
}

cx_status_t cx_trace_open(cx_trace_t **tr_p, MPI_Comm comm, const char *path, cx_err_t *err)
{
    cx_err_t      local_err, scratch;
    cx_trace_t   *tr;
    hid_t         fapl = H5I_INVALID_HID;
    trace_quiet_t q;
    cx_status_t   st = CX_OK;
    size_t        n;

    if (err == NULL) {
        err = &local_err;
    }
    if (path == NULL || path[0] == '\0') {
        return cx_err_set(err, CX_ERR_INVALID, NULL, 0, "out", "empty trace path");
    }
    tr = calloc(1, sizeof(*tr));
    if (tr == NULL) {
        return cx_err_set(err, CX_ERR_NOMEM, path, 0, NULL, "out of memory");
    }
    tr->comm = MPI_COMM_NULL;
    tr->file = H5I_INVALID_HID;
    tr->meta = H5I_INVALID_HID;
    n        = strlen(path);
    tr->path    = trace_strdup(path);
    tr->partial = malloc(n + sizeof(".partial"));
    if (tr->path == NULL || tr->partial == NULL) {
        /* No communicator yet: this is local, and every rank fails alike. */
        trace_free(tr);
        return cx_err_set(err, CX_ERR_NOMEM, path, 0, NULL, "out of memory");
    }
    memcpy(tr->partial, path, n);
    memcpy(tr->partial + n, ".partial", sizeof(".partial"));
    MPI_Comm_dup(comm, &tr->comm);
    MPI_Comm_rank(tr->comm, &tr->rank);
    MPI_Comm_size(tr->comm, &tr->size);

    trace_quiet_begin(&q);
    if (tr->rank == 0) {
        st = trace_check_dir(path, tr->partial, err);
    }
    st = trace_agree(tr, st, err);
    if (st != CX_OK) {
        goto err_free;
    }

    fapl = H5Pcreate(H5P_FILE_ACCESS);
    if (fapl < 0 || H5Pset_fapl_mpio(fapl, tr->comm, MPI_INFO_NULL) < 0 ||
        H5Pset_all_coll_metadata_ops(fapl, 1) < 0 || H5Pset_coll_metadata_write(fapl, 1) < 0) {
        st = trace_h5_fail(err, tr, "file access properties");
    }
    st = trace_agree(tr, st, err);
    if (st != CX_OK) {
        goto err_fapl;
    }
    tr->file = H5Fcreate(tr->partial, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    if (tr->file < 0) {
        st = trace_h5_fail(err, tr, "creating the trace file");
    }
    st = trace_agree(tr, st, err);
    if (st != CX_OK) {
        goto err_close;
    }
    tr->meta = H5Gcreate2(tr->file, "/meta", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (tr->meta < 0) {
        st = trace_h5_fail(err, tr, "/meta");
    }
    st = trace_agree(tr, st, err);
    if (st != CX_OK) {
        goto err_close;
    }
    H5Pclose(fapl);
    st = trace_reserve(tr, 0, "creating the trace file", err); /* room for /meta */
    trace_quiet_end(&q);
    if (st != CX_OK) {
        cx_trace_abort(tr);
        return st;
    }

    st = trace_write_auto_meta(tr, err);
    if (st != CX_OK) {
        cx_trace_abort(tr);
        return st;
    }
    *tr_p = tr;
    return CX_OK;

err_close:
    trace_close_handles(tr, &scratch);
    if (tr->rank == 0) {
        unlink(tr->partial);
    }
    MPI_Barrier(tr->comm);
err_fapl:
    trace_h5_close(fapl);
err_free:
    trace_quiet_end(&q);
    trace_free(tr);
    return st;
}

const char *cx_trace_path(const cx_trace_t *tr)
{
    return tr->path;
}

const char *cx_trace_partial_path(const cx_trace_t *tr)
{
    return tr->partial;
}

/* --- tables -------------------------------------------------------------- */

static cx_status_t trace_check_dset_path(const cx_trace_t *tr, const char *p, cx_err_t *err)
{
    const cx_trace_table_t *t;
    size_t                  n;

    if (p == NULL || p[0] != '/' || p[1] == '\0') {
        return cx_err_set(err, CX_ERR_INVALID, NULL, 0, p,
                          "table path must be absolute, like \"/ops/gpu_ops\"");
    }
    n = strlen(p);
    if (p[n - 1] == '/' || strstr(p, "//") != NULL || strncmp(p, "/meta/", 6) == 0 ||
        strcmp(p, "/meta") == 0) {
        return cx_err_set(err, CX_ERR_INVALID, NULL, 0, p,
                          "bad table path (empty component, trailing '/', or under /meta)");
    }
    for (t = tr->tables; t != NULL; t = t->next) {
        size_t m = strlen(t->path);
        if (strcmp(t->path, p) == 0) {
            return cx_err_set(err, CX_ERR_INVALID, NULL, 0, p, "table defined twice");
        }
        /* A table cannot also be a group of another table. */
        if ((m < n && strncmp(t->path, p, m) == 0 && p[m] == '/') ||
            (n < m && strncmp(t->path, p, n) == 0 && t->path[n] == '/')) {
            return cx_err_set(err, CX_ERR_INVALID, NULL, 0, p, "table path collides with '%s'",
                              t->path);
        }
    }
    return CX_OK;
}

static cx_status_t trace_check_fields(const char *dpath, const cx_trace_field_t *fields,
                                      size_t n_fields, size_t row_size, cx_err_t *err)
{
    size_t i, j, tsize, units_w = 1, doc_w = 1;

    if (fields == NULL || n_fields == 0) {
        return cx_err_set(err, CX_ERR_INVALID, NULL, 0, dpath, "a table needs at least one field");
    }
    if (row_size == 0) {
        return cx_err_set(err, CX_ERR_INVALID, NULL, 0, dpath, "row_size must be > 0");
    }
    for (i = 0; i < n_fields; i++) {
        const cx_trace_field_t *f = &fields[i];
        if (f->name == NULL || f->name[0] == '\0') {
            return cx_err_set(err, CX_ERR_INVALID, NULL, 0, dpath, "field %zu has no name", i);
        }
        for (j = 0; j < i; j++) {
            if (strcmp(fields[j].name, f->name) == 0) {
                return cx_err_set(err, CX_ERR_INVALID, NULL, 0, dpath, "field '%s' appears twice",
                                  f->name);
            }
        }
        if (trace_native_type(f->type, &tsize) < 0) {
            return cx_err_set(err, CX_ERR_INVALID, NULL, 0, dpath, "field '%s': unknown type %d",
                              f->name, (int)f->type);
        }
        if (f->type == CX_TRACE_STR ? f->size == 0 : f->size != tsize) {
            return cx_err_set(err, CX_ERR_INVALID, NULL, 0, dpath,
                              "field '%s': size %zu does not fit its type", f->name, f->size);
        }
        if (f->offset > row_size || f->size > row_size - f->offset) {
            return cx_err_set(err, CX_ERR_RANGE, NULL, 0, dpath,
                              "field '%s': bytes [%zu, %zu) outside the %zu-byte row", f->name,
                              f->offset, f->offset + f->size, row_size);
        }
        if (f->units != NULL && strlen(f->units) + 1 > units_w) {
            units_w = strlen(f->units) + 1;
        }
        if (f->doc != NULL && strlen(f->doc) + 1 > doc_w) {
            doc_w = strlen(f->doc) + 1;
        }
    }
    if (n_fields * (units_w + doc_w) > TRACE_ATTR_MAX_BYTES) {
        return cx_err_set(err, CX_ERR_RANGE, NULL, 0, dpath,
                          "field docs too long for HDF5 attributes (%zu fields x %zu bytes)",
                          n_fields, units_w + doc_w);
    }
    return CX_OK;
}

cx_status_t cx_trace_table_define(cx_trace_t *tr, const char *dset_path,
                                  const cx_trace_field_t *fields, size_t n_fields,
                                  size_t row_size, const char *doc,
                                  cx_trace_table_t **tbl_p, cx_err_t *err)
{
    cx_err_t          local_err;
    cx_trace_table_t *tbl;
    trace_quiet_t     q;
    size_t            i, off = 0, tsize;
    uint64_t          h = 1469598103934665603ull;
    cx_status_t       st;

    if (err == NULL) {
        err = &local_err;
    }
    st = trace_check_usable(tr, "cx_trace_table_define", err);
    if (st != CX_OK) {
        return st;
    }
    st = trace_check_dset_path(tr, dset_path, err);
    if (st == CX_OK) {
        st = trace_check_fields(dset_path, fields, n_fields, row_size, err);
    }
    if (st != CX_OK) {
        return st;
    }
    tbl = calloc(1, sizeof(*tbl));
    if (tbl == NULL) {
        return cx_err_set(err, CX_ERR_NOMEM, NULL, 0, dset_path, "out of memory");
    }
    tbl->tr       = tr;
    tbl->mem_type = H5I_INVALID_HID;
    tbl->dset     = H5I_INVALID_HID;
    tbl->row_size = row_size;
    tbl->n_fields = n_fields;
    tbl->path       = trace_strdup(dset_path);
    tbl->doc        = trace_strdup(doc);
    tbl->fields     = calloc(n_fields, sizeof(*tbl->fields));
    tbl->packed_off = calloc(n_fields, sizeof(*tbl->packed_off));
    if (tbl->path == NULL || tbl->doc == NULL || tbl->fields == NULL || tbl->packed_off == NULL) {
        goto err_nomem;
    }
    h = trace_fnv_str(h, dset_path);
    h = cx_schema_fnv1a(h, &row_size, sizeof(row_size));
    tbl->identity = 1;
    for (i = 0; i < n_fields; i++) {
        cx_trace_field_t *f = &tbl->fields[i];
        *f       = fields[i];
        f->name  = trace_strdup(fields[i].name);
        f->units = trace_strdup(fields[i].units);
        f->doc   = trace_strdup(fields[i].doc);
        if (f->name == NULL || f->units == NULL || f->doc == NULL) {
            goto err_nomem;
        }
        tbl->packed_off[i] = off;
        if (f->offset != off || f->type == CX_TRACE_STR) {
            tbl->identity = 0;
        }
        off += f->size;
        h = trace_fnv_str(h, f->name);
        h = cx_schema_fnv1a(h, &f->type, sizeof(f->type));
        h = cx_schema_fnv1a(h, &f->offset, sizeof(f->offset));
        h = cx_schema_fnv1a(h, &f->size, sizeof(f->size));
        h = trace_fnv_str(h, f->units);
        h = trace_fnv_str(h, f->doc);
    }
    tbl->packed_size = off;
    if (off != row_size) {
        tbl->identity = 0;
    }
    tbl->hash = trace_fnv_str(h, tbl->doc);

    trace_quiet_begin(&q);
    tbl->mem_type = H5Tcreate(H5T_COMPOUND, tbl->packed_size);
    st            = tbl->mem_type < 0 ? CX_ERR_IO : CX_OK;
    for (i = 0; st == CX_OK && i < n_fields; i++) {
        const cx_trace_field_t *f = &tbl->fields[i];
        hid_t                   ft;
        herr_t                  rc;
        if (f->type == CX_TRACE_STR) {
            ft = trace_str_type(f->size, H5T_STR_NULLPAD);
            rc = ft < 0 ? -1 : H5Tinsert(tbl->mem_type, f->name, tbl->packed_off[i], ft);
            if (ft >= 0) {
                H5Tclose(ft);
            }
        } else {
            rc = H5Tinsert(tbl->mem_type, f->name, tbl->packed_off[i],
                           trace_native_type(f->type, &tsize));
        }
        if (rc < 0) {
            st = CX_ERR_IO;
        }
    }
    if (st != CX_OK) {
        st = trace_h5_fail(err, NULL, dset_path);
    }
    trace_quiet_end(&q);
    if (st != CX_OK) {
        trace_table_free(tbl);
        return st;
    }
    if (tr->tail != NULL) {
        tr->tail->next = tbl;
    } else {
        tr->tables = tbl;
    }
    tr->tail = tbl;
    *tbl_p   = tbl;
    return CX_OK;

err_nomem:
    trace_table_free(tbl);
    return cx_err_set(err, CX_ERR_NOMEM, NULL, 0, dset_path, "out of memory");
}

cx_status_t cx_trace_table_set_chunk_rows(cx_trace_table_t *tbl, size_t chunk_rows, cx_err_t *err)
{
    if (tbl->dset >= 0) {
        return cx_err_set(err, CX_ERR_INVALID, NULL, 0, tbl->path,
                          "chunk size must be set before the first write");
    }
    if (chunk_rows == 0 || chunk_rows > ((size_t)1 << 32) / tbl->packed_size) {
        return cx_err_set(err, CX_ERR_RANGE, NULL, 0, tbl->path,
                          "chunk of %zu rows x %zu bytes is outside (0, 4 GiB)", chunk_rows,
                          tbl->packed_size);
    }
    tbl->chunk_rows = chunk_rows;
    return CX_OK;
}

cx_status_t cx_trace_table_append(cx_trace_table_t *tbl, const void *rows, size_t n)
{
    const unsigned char *src = rows;
    unsigned char       *dst;
    size_t               r, i;

    if (tbl->failed) {
        return CX_ERR_NOMEM;
    }
    if (n == 0) {
        return CX_OK;
    }
    if (n > tbl->cap_buf - tbl->n_buf) {
        size_t need = tbl->n_buf + n;
        size_t cap  = tbl->cap_buf < 1024 ? 1024 : tbl->cap_buf;
        void  *p;
        while (cap < need) {
            cap = cap > SIZE_MAX / 2 ? need : cap * 2;
        }
        p = (cap > SIZE_MAX / tbl->packed_size) ? NULL : realloc(tbl->buf, cap * tbl->packed_size);
        if (p == NULL) {
            tbl->failed = 1;
            return CX_ERR_NOMEM;
        }
        tbl->buf     = p;
        tbl->cap_buf = cap;
    }
    dst = tbl->buf + tbl->n_buf * tbl->packed_size;
    if (tbl->identity) {
        memcpy(dst, src, n * tbl->row_size);
    } else {
        for (r = 0; r < n; r++, src += tbl->row_size, dst += tbl->packed_size) {
            for (i = 0; i < tbl->n_fields; i++) {
                const cx_trace_field_t *f = &tbl->fields[i];
                if (f->type == CX_TRACE_STR) {
                    /* Zero after the NUL: no stale bytes in the file. */
                    size_t l = strnlen((const char *)src + f->offset, f->size);
                    memcpy(dst + tbl->packed_off[i], src + f->offset, l);
                    memset(dst + tbl->packed_off[i] + l, 0, f->size - l);
                } else {
                    memcpy(dst + tbl->packed_off[i], src + f->offset, f->size);
                }
            }
        }
    }
    tbl->n_buf += n;
    return CX_OK;
}

size_t cx_trace_table_rows_buffered(const cx_trace_table_t *tbl)
{
    return tbl->n_buf;
}

uint64_t cx_trace_table_rows_written(const cx_trace_table_t *tbl)
{
    return tbl->written;
}

unsigned cx_trace_table_independent_writes(const cx_trace_table_t *tbl)
{
    return tbl->broken;
}

size_t cx_trace_table_packed_row_size(const cx_trace_table_t *tbl)
{
    return tbl->packed_size;
}

/* Collective, first write: the dataset with its doc attributes. */
static cx_status_t trace_table_create(cx_trace_table_t *tbl, uint64_t total, cx_err_t *err)
{
    cx_trace_t  *tr = tbl->tr;
    hsize_t      dims = 0, maxdims = H5S_UNLIMITED, chunk;
    size_t       cap, rows, i;
    hid_t        space = H5I_INVALID_HID, dcpl = H5I_INVALID_HID, lcpl = H5I_INVALID_HID;
    const char **strs;
    cx_status_t  st = CX_OK;

    rows = tbl->chunk_rows;
    if (rows == 0) {
        cap = TRACE_CHUNK_MAX_BYTES / tbl->packed_size;
        cap = cap < 1 ? 1 : (cap > TRACE_CHUNK_MAX_ROWS ? TRACE_CHUNK_MAX_ROWS : cap);
        rows = total > cap ? cap : (size_t)total;
        if (rows < TRACE_CHUNK_MIN_ROWS) {
            rows = TRACE_CHUNK_MIN_ROWS < cap ? TRACE_CHUNK_MIN_ROWS : cap;
        }
    }
    chunk           = rows;
    tbl->chunk_rows = rows; /* the slices of a write are whole chunks */
    space = H5Screate_simple(1, &dims, &maxdims);
    dcpl  = H5Pcreate(H5P_DATASET_CREATE);
    lcpl  = H5Pcreate(H5P_LINK_CREATE);
    if (space < 0 || dcpl < 0 || lcpl < 0 || H5Pset_chunk(dcpl, 1, &chunk) < 0 ||
        H5Pset_shuffle(dcpl) < 0 || H5Pset_deflate(dcpl, TRACE_DEFLATE_LEVEL) < 0 ||
        H5Pset_create_intermediate_group(lcpl, 1) < 0) {
        st = trace_h5_fail(err, tr, tbl->path);
        goto out;
    }
    tbl->dset = H5Dcreate2(tr->file, tbl->path, tbl->mem_type, space, lcpl, dcpl, H5P_DEFAULT);
    if (tbl->dset < 0) {
        st = trace_h5_fail(err, tr, tbl->path);
        goto out;
    }
    st = trace_attr_string(tr, tbl->dset, "doc", tbl->doc, err);
    strs = malloc(tbl->n_fields * sizeof(*strs));
    if (strs == NULL) {
        st = st == CX_OK ? cx_err_set(err, CX_ERR_NOMEM, tr->partial, 0, tbl->path, "out of memory") : st;
        goto out;
    }
    /* Attributes are collective: create them even if one failed locally so
     * every rank makes the same calls. */
    for (i = 0; i < tbl->n_fields; i++) {
        strs[i] = tbl->fields[i].units;
    }
    if (trace_attr_strings(tr, tbl->dset, "field_units", strs, tbl->n_fields, err) != CX_OK) {
        st = CX_ERR_IO;
    }
    for (i = 0; i < tbl->n_fields; i++) {
        strs[i] = tbl->fields[i].doc;
    }
    if (trace_attr_strings(tr, tbl->dset, "field_doc", strs, tbl->n_fields, err) != CX_OK) {
        st = CX_ERR_IO;
    }
    free(strs);
out:
    trace_h5_close(lcpl);
    trace_h5_close(dcpl);
    trace_h5_close(space);
    return st;
}

/* Collective: the extend to new_size + this rank's hyperslab write of count
 * rows from src at row `start` (count 0: none).  Local status of the write;
 * extension is agreed inside so no rank skips H5Dwrite alone. */
static cx_status_t trace_table_put(cx_trace_table_t *tbl, hsize_t new_size, hsize_t start, hsize_t count,
                                   const unsigned char *src, cx_err_t *err)
{
    cx_trace_t         *tr = tbl->tr;
    static const char   dummy[16];
    hsize_t             one = 1;
    hid_t               fspace = H5I_INVALID_HID, mspace = H5I_INVALID_HID, dxpl;
    cx_status_t         st = CX_OK;

    if (H5Dset_extent(tbl->dset, &new_size) < 0) {
        st = trace_h5_fail(err, tr, tbl->path);
    }
    st = trace_agree(tr, st, err);
    if (st != CX_OK) {
        return st;
    }
    dxpl   = H5Pcreate(H5P_DATASET_XFER);
    fspace = H5Dget_space(tbl->dset);
    if (count > 0) {
        mspace = H5Screate_simple(1, &count, NULL);
        if (fspace < 0 || mspace < 0 ||
            H5Sselect_hyperslab(fspace, H5S_SELECT_SET, &start, NULL, &count, NULL) < 0) {
            st = CX_ERR_IO;
        }
    } else {
        /* Nothing to write here, but H5Dwrite is collective: select none. */
        mspace = H5Screate_simple(1, &one, NULL);
        if (fspace < 0 || mspace < 0 || H5Sselect_none(fspace) < 0 || H5Sselect_none(mspace) < 0) {
            st = CX_ERR_IO;
        }
    }
    if (dxpl < 0 || H5Pset_dxpl_mpio(dxpl, H5FD_MPIO_COLLECTIVE) < 0) {
        st = CX_ERR_IO;
    }
    if (st != CX_OK) {
        st = trace_h5_fail(err, tr, tbl->path);
    }
    st = trace_agree(tr, st, err);
    if (st == CX_OK) {
        if (H5Dwrite(tbl->dset, tbl->mem_type, mspace, fspace, dxpl,
                     count > 0 ? (const void *)src : (const void *)dummy) < 0) {
            st = trace_h5_fail(err, tr, tbl->path);
        } else {
            /* The known-good path is collective; say so when HDF5 left it. */
            uint32_t local_cause = 0, global_cause = 0;
            if (H5Pget_mpio_no_collective_cause(dxpl, &local_cause, &global_cause) >= 0 &&
                global_cause != 0) {
                if (tbl->broken++ == 0 && tr->rank == 0) {
                    cx_warn("trace %s: HDF5 broke collective I/O (cause 0x%x)", tbl->path,
                            (unsigned)global_cause);
                }
            }
        }
    }
    trace_h5_close(mspace);
    trace_h5_close(fspace);
    trace_h5_close(dxpl);
    return st;
}

/* Collective, between two slices of a write: has a stop signal reached some
 * rank, and has rank 0 spent TRACE_STOP_GRACE_S writing since?  Then every
 * rank drops what is left (tr->dropping), the same on all ranks. */
static void trace_stop_check(cx_trace_t *tr)
{
    int mine[2], all[2];

    mine[0] = trace_stop_seen != 0;
    mine[1] = tr->rank == 0 && tr->stop_t0 > 0 && MPI_Wtime() - tr->stop_t0 >= TRACE_STOP_GRACE_S;
    MPI_Allreduce(mine, all, 2, MPI_INT, MPI_MAX, tr->comm);
    if (all[0] && tr->stop_t0 == 0) {
        tr->stop_t0 = MPI_Wtime();
    }
    tr->dropping = all[1];
}

/* Rank 0, after a slice: a progress line when a write has lasted a period. */
static void trace_progress(cx_trace_t *tr, const cx_trace_table_t *tbl, uint64_t done, uint64_t total,
                           double t0)
{
    double now = MPI_Wtime();

    if (tr->rank != 0 || tr->progress_s <= 0 || now - t0 < tr->progress_s ||
        now - tr->progress_last < tr->progress_s) {
        return;
    }
    tr->progress_last = now;
    fprintf(stderr, "[trace] writing %s: %.1f of %.1f MB of rows (write %u of that table), %.0f s%s\n",
            tbl->path, (double)(done * tbl->packed_size) / 1e6, (double)(total * tbl->packed_size) / 1e6,
            tr->table_write, now - t0, tr->stop_t0 > 0 ? ", stopping" : "");
}

/*
 * Collective: the rows of every rank, [W, W + total) in the file (this
 * rank's at W + off), in slices of whole chunks (about TRACE_SLICE_BYTES of
 * rows; a chunk is never split, so none is compressed twice), each with its
 * room reserved on disk.  Between slices: a progress line, and the stop
 * check: after a stop signal, writing goes on for TRACE_STOP_GRACE_S, then
 * the rest of a write of more than TRACE_STOP_KEEP_BYTES is dropped (counted
 * in tbl->dropped) so the run ends promptly on a slow disk.  Returns the
 * agreed status; tbl->written is advanced.
 */
static cx_status_t trace_table_put_slices(cx_trace_table_t *tbl, uint64_t off, uint64_t total, cx_err_t *err)
{
    cx_trace_t *tr = tbl->tr;
    uint64_t    w = tbl->written, pos = w, end, lo, hi, slice;
    uint64_t    mine_lo = w + off, mine_hi = w + off + tbl->n_buf;
    double      t0 = MPI_Wtime();
    cx_status_t st = CX_OK;

    slice = TRACE_SLICE_BYTES / ((uint64_t)tbl->chunk_rows * tbl->packed_size);
    slice = (slice < 1 ? 1 : slice) * tbl->chunk_rows;
    while (st == CX_OK && pos < w + total) {
        trace_stop_check(tr);
        if (tr->dropping && total * tbl->packed_size > TRACE_STOP_KEEP_BYTES) {
            break;
        }
        end = (pos / slice + 1) * slice;
        end = end < w + total ? end : w + total;
        st  = trace_reserve(tr, (end - pos) * tbl->packed_size + ((end - pos) / tbl->chunk_rows + 1) * 128u,
                            tbl->path, err);
        if (st != CX_OK) {
            break;
        }
        lo = pos > mine_lo ? pos : mine_lo;
        hi = end < mine_hi ? end : mine_hi;
        st = trace_table_put(tbl, end, lo, hi > lo ? hi - lo : 0,
                             tbl->buf + (hi > lo ? (lo - mine_lo) * tbl->packed_size : 0), err);
        st = trace_agree(tr, st, err);
        if (st == CX_OK) {
            pos          = end;
            tbl->written = end;
            trace_progress(tr, tbl, pos - w, total, t0);
        }
    }
    if (st == CX_OK) {
        tbl->dropped += w + total - pos;
    }
    return st;
}

cx_status_t cx_trace_table_write(cx_trace_table_t *tbl, cx_err_t *err)
{
    cx_err_t      local_err;
    cx_trace_t   *tr;
    trace_quiet_t q;
    uint64_t      chk[2], agreed[2], n, off = 0, total = 0;
    cx_status_t   st;

    if (err == NULL) {
        err = &local_err;
    }
    if (tbl == NULL) {
        return cx_err_set(err, CX_ERR_INVALID, NULL, 0, NULL, "cx_trace_table_write: table is NULL");
    }
    tr = tbl->tr;
    st = trace_check_usable(tr, "cx_trace_table_write", err);
    if (st != CX_OK) {
        return st;
    }
    /* Same definition everywhere (max of h and of ~h differ from a rank's own
     * values iff some rank differs), and nobody ran out of memory. */
    chk[0] = tbl->hash;
    chk[1] = ~tbl->hash;
    MPI_Allreduce(chk, agreed, 2, MPI_UINT64_T, MPI_MAX, tr->comm);
    if (agreed[0] != chk[0] || agreed[1] != chk[1]) {
        tr->failed = 1;
        return cx_err_set(err, CX_ERR_INTERNAL, tr->partial, 0, tbl->path,
                          "table defined differently on different ranks");
    }
    st = tbl->failed ? cx_err_set(err, CX_ERR_NOMEM, tr->partial, 0, tbl->path,
                                  "rank %d ran out of memory buffering rows", tr->rank)
                     : CX_OK;
    st = trace_agree(tr, st, err);
    if (st != CX_OK) {
        return st;
    }
    n = tbl->n_buf;
    MPI_Exscan(&n, &off, 1, MPI_UINT64_T, MPI_SUM, tr->comm);
    if (tr->rank == 0) {
        off = 0; /* MPI_Exscan leaves rank 0's result undefined */
    }
    MPI_Allreduce(&n, &total, 1, MPI_UINT64_T, MPI_SUM, tr->comm);

    trace_quiet_begin(&q);
    st = CX_OK;
    tr->table_write = tbl->writes + 1; /* for the message of a failed write */
    if (tbl->dset < 0) {
        st = trace_reserve(tr, 0, tbl->path, err);
        if (st == CX_OK) {
            st = trace_table_create(tbl, total, err);
            st = trace_agree(tr, st, err);
        }
    }
    if (st == CX_OK && total > 0) {
        st = trace_table_put_slices(tbl, off, total, err);
    }
    tr->table_write = 0;
    trace_quiet_end(&q);
    if (st == CX_OK) {
        tbl->n_buf = 0;
        tbl->writes += total > 0;
    }
    return st;
}

cx_status_t cx_trace_table_write_if_over(cx_trace_table_t *tbl, size_t max_rows, cx_err_t *err)
{
    unsigned long long mine = tbl->n_buf, most = 0;

    if (trace_check_usable(tbl->tr, "cx_trace_table_write_if_over", err) != CX_OK) {
        return err != NULL ? err->status : CX_ERR_IO;
    }
    MPI_Allreduce(&mine, &most, 1, MPI_UNSIGNED_LONG_LONG, MPI_MAX, tbl->tr->comm);
    if (most <= max_rows) {
        return CX_OK;
    }
    return cx_trace_table_write(tbl, err);
}

/* --- meta ---------------------------------------------------------------- */

/* The start of every /meta setter: *err_p the caller's err, or local when
 * it gave none; then a usable trace and a good name. */
static cx_status_t trace_meta_begin(cx_trace_t *tr, const char *name, cx_err_t **err_p, cx_err_t *local)
{
    cx_status_t st;

    if (*err_p == NULL) {
        *err_p = local;
    }
    st = trace_check_usable(tr, "cx_trace_meta_set", *err_p);
    if (st == CX_OK && (name == NULL || name[0] == '\0' || strchr(name, '/') != NULL)) {
        st = cx_err_set(*err_p, CX_ERR_INVALID, NULL, 0, name, "bad /meta name");
    }
    return st;
}

cx_status_t cx_trace_meta_set_string(cx_trace_t *tr, const char *name, const char *value,
                                     cx_err_t *err)
{
    cx_err_t      local_err;
    trace_quiet_t q;
    char         *v = NULL;
    cx_status_t   st;

    st = trace_meta_begin(tr, name, &err, &local_err);
    if (st != CX_OK) {
        return st;
    }
    st = trace_bcast_string(tr, value, &v, err);
    if (st != CX_OK) {
        return st;
    }
    trace_quiet_begin(&q);
    st = trace_attr_string(tr, tr->meta, name, v, err);
    trace_quiet_end(&q);
    free(v);
    return trace_agree(tr, st, err);
}

/* Collective: rank 0's scalar, broadcast, written as an attribute of /meta. */
static cx_status_t trace_meta_set_scalar(cx_trace_t *tr, const char *name, MPI_Datatype mpi_type,
                                         hid_t h5_type, void *value, cx_err_t *err)
{
    cx_err_t      local_err;
    trace_quiet_t q;
    cx_status_t   st;

    st = trace_meta_begin(tr, name, &err, &local_err);
    if (st != CX_OK) {
        return st;
    }
    MPI_Bcast(value, 1, mpi_type, 0, tr->comm);
    trace_quiet_begin(&q);
    st = trace_attr_scalar(tr, tr->meta, name, h5_type, value, err);
    trace_quiet_end(&q);
    return trace_agree(tr, st, err);
}

cx_status_t cx_trace_meta_set_int64(cx_trace_t *tr, const char *name, int64_t value, cx_err_t *err)
{
    return trace_meta_set_scalar(tr, name, MPI_INT64_T, H5T_NATIVE_INT64, &value, err);
}

cx_status_t cx_trace_meta_set_double(cx_trace_t *tr, const char *name, double value, cx_err_t *err)
{
    return trace_meta_set_scalar(tr, name, MPI_DOUBLE, H5T_NATIVE_DOUBLE, &value, err);
}

cx_status_t cx_trace_meta_set_text(cx_trace_t *tr, const char *name, const char *text,
                                   const char *content_type, cx_err_t *err)
{
    cx_err_t      local_err;
    trace_quiet_t q;
    char         *v = NULL, *ct = NULL;
    size_t        len;
    hid_t         type = H5I_INVALID_HID, space = H5I_INVALID_HID, mspace = H5I_INVALID_HID;
    hid_t         dset = H5I_INVALID_HID, dxpl = H5I_INVALID_HID;
    htri_t        ex;
    cx_status_t   st;

    st = trace_meta_begin(tr, name, &err, &local_err);
    if (st != CX_OK) {
        return st;
    }
    /* Same answer on every rank (same metadata): a local refusal that does
     * not poison the trace. */
    trace_quiet_begin(&q);
    ex = H5Lexists(tr->meta, name, H5P_DEFAULT);
    trace_quiet_end(&q);
    if (ex > 0) {
        return cx_err_set(err, CX_ERR_INVALID, tr->partial, 0, name, "/meta/%s already written",
                          name);
    }
    st = trace_bcast_string(tr, text, &v, err);
    if (st != CX_OK) {
        return st;
    }
    st = trace_bcast_string(tr, content_type != NULL ? content_type : "text/plain", &ct, err);
    if (st != CX_OK) {
        free(v);
        return st;
    }
    len = strlen(v);
    trace_quiet_begin(&q);
    if (trace_reserve(tr, (uint64_t)len + 1, name, err) != CX_OK) {
        trace_quiet_end(&q);
        free(v);
        free(ct);
        return CX_ERR_IO;
    }
    if (ex < 0) {
        st = trace_h5_fail(err, tr, name);
        goto out;
    }
    type   = trace_str_type(len + 1, H5T_STR_NULLTERM);
    space  = H5Screate(H5S_SCALAR);
    mspace = H5Screate(H5S_SCALAR);
    dxpl   = H5Pcreate(H5P_DATASET_XFER);
    if (type < 0 || space < 0 || mspace < 0 || dxpl < 0 ||
        H5Pset_dxpl_mpio(dxpl, H5FD_MPIO_COLLECTIVE) < 0) {
        st = trace_h5_fail(err, tr, name);
        goto out;
    }
    dset = H5Dcreate2(tr->meta, name, type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (dset < 0) {
        st = trace_h5_fail(err, tr, name);
        goto out;
    }
    /* Rank 0 writes the bytes, the others take part selecting nothing. */
    if (tr->rank != 0 && (H5Sselect_none(space) < 0 || H5Sselect_none(mspace) < 0)) {
        st = trace_h5_fail(err, tr, name);
    }
    if (H5Dwrite(dset, type, mspace, space, dxpl, v) < 0 && st == CX_OK) {
        st = trace_h5_fail(err, tr, name);
    }
    if (trace_attr_string(tr, dset, "content_type", ct, err) != CX_OK && st == CX_OK) {
        st = CX_ERR_IO;
    }
out:
    trace_h5_close(dset);
    trace_h5_close(dxpl);
    trace_h5_close(mspace);
    trace_h5_close(space);
    trace_h5_close(type);
    trace_quiet_end(&q);
    free(v);
    free(ct);
    return trace_agree(tr, st, err);
}

/* --- close / abort ------------------------------------------------------- */

cx_status_t cx_trace_close(cx_trace_t *tr, int complete, cx_err_t *err)
{
    cx_err_t          local_err;
    cx_trace_table_t *tbl;
    uint64_t          dropped = 0;
    trace_quiet_t     q;
    cx_status_t       st = CX_OK;

    if (err == NULL) {
        err = &local_err;
    }
    if (tr == NULL) {
        return cx_err_set(err, CX_ERR_INVALID, NULL, 0, NULL, "cx_trace_close: trace is NULL");
    }
    tr->closing = 1;
    if (tr->failed) {
        st = cx_err_set(err, CX_ERR_IO, tr->partial, 0, NULL,
                        "the trace failed earlier; removed the partial file");
    }
    /* Every table on every rank (a rank without rows still takes part). */
    for (tbl = tr->tables; st == CX_OK && tbl != NULL; tbl = tbl->next) {
        st = cx_trace_table_write(tbl, err);
    }
    if (st == CX_OK) {
        st = cx_trace_meta_set_int64(tr, "complete", complete ? 1 : 0, err);
    }
    for (tbl = tr->tables; tbl != NULL; tbl = tbl->next) {
        dropped += tbl->dropped; /* the same on every rank */
    }
    if (st == CX_OK && dropped > 0) {
        if (tr->rank == 0) {
            cx_warn("stopped while writing the trace: %llu rows not written, to end within %.0f s of the "
                    "stop signal (/meta/trace_rows_dropped)", (unsigned long long)dropped, TRACE_STOP_GRACE_S);
        }
        st = cx_trace_meta_set_int64(tr, "trace_rows_dropped", (int64_t)dropped, err);
    }

    trace_quiet_begin(&q);
    if (trace_close_handles(tr, st == CX_OK ? err : &local_err) != CX_OK && st == CX_OK) {
        st = CX_ERR_IO;
    }
    trace_quiet_end(&q);
    st = trace_agree(tr, st, err);
    if (st == CX_OK) {
        struct stat sb;
        /* Truncating to its own size frees the blocks reserved past the end. */
        if (tr->rank == 0 && stat(tr->partial, &sb) == 0) {
            (void)truncate(tr->partial, sb.st_size);
        }
        if (tr->rank == 0 && rename(tr->partial, tr->path) != 0) {
            st = cx_err_set(err, CX_ERR_IO, tr->partial, 0, NULL, "cannot rename to '%s': %s",
                            tr->path, strerror(errno));
        }
        st = trace_agree(tr, st, err);
    }
    if (st != CX_OK) {
        if (tr->rank == 0) {
            unlink(tr->partial);
        }
        MPI_Barrier(tr->comm); /* gone for everyone when close returns */
    }
    trace_free(tr);
    return st;
}

void cx_trace_abort(cx_trace_t *tr)
{
    cx_err_t      local_err;
    trace_quiet_t q;

    if (tr == NULL) {
        return;
    }
    trace_quiet_begin(&q);
    trace_close_handles(tr, &local_err);
    trace_quiet_end(&q);
    if (tr->rank == 0) {
        unlink(tr->partial);
    }
    MPI_Barrier(tr->comm);
    trace_free(tr);
}

void cx_trace_set_progress(cx_trace_t *tr, double seconds)
{
    tr->progress_s = seconds > 0 ? seconds : 0;
}

/* Chained: the stop flag for the writer, then the handler that was there. */
static void trace_on_stop_signal(int sig)
{
    const struct sigaction *prev = sig == SIGTERM ? &trace_prev_term : &trace_prev_usr1;

    trace_stop_seen = 1;
    if ((prev->sa_flags & SA_SIGINFO) != 0) {
        if (prev->sa_sigaction != NULL) {
            prev->sa_sigaction(sig, NULL, NULL);
        }
    } else if (prev->sa_handler != SIG_DFL && prev->sa_handler != SIG_IGN && prev->sa_handler != NULL) {
        prev->sa_handler(sig);
    }
}

void cx_trace_watch_stop_signals(void)
{
    static int       done = 0;
    struct sigaction sa, cur;

    if (done) {
        return;
    }
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = trace_on_stop_signal;
    sigemptyset(&sa.sa_mask);
    /* Only over a handler: a signal that kills the process keeps doing so. */
    if (sigaction(SIGTERM, NULL, &cur) == 0 && (cur.sa_flags & SA_SIGINFO) == 0 && cur.sa_handler != SIG_DFL &&
        cur.sa_handler != SIG_IGN) {
        trace_prev_term = cur;
        sigaction(SIGTERM, &sa, NULL);
    }
    if (sigaction(SIGUSR1, NULL, &cur) == 0 && (cur.sa_flags & SA_SIGINFO) == 0 && cur.sa_handler != SIG_DFL &&
        cur.sa_handler != SIG_IGN) {
        trace_prev_usr1 = cur;
        sigaction(SIGUSR1, &sa, NULL);
    }
    done = 1;
}

uint64_t cx_trace_estimate_bytes(size_t row_size, uint64_t rows)
{
    uint64_t data, chunks, total;
    uint64_t fixed = 256u * 1024u; /* superblock, /meta, config text, object headers */

    if (row_size != 0 && rows > UINT64_MAX / row_size) {
        return UINT64_MAX;
    }
    data   = rows * row_size;
    /* Smallest automatic chunk: one B-tree entry (~100 B) per chunk, rounded up. */
    chunks = rows / TRACE_CHUNK_MIN_ROWS + 1;
    total  = data + chunks * 128u + fixed;
    return total < data ? UINT64_MAX : total;
}
