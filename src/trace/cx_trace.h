/*
 * trace: the HDF5 trace writer.  One file per run, written by all ranks
 * together with parallel HDF5 (MPI-IO).  It knows nothing about what the
 * rows mean: every module (engine stats, GPU ops, collectives, link bins,
 * power) describes its row struct once as a table of fields and appends rows;
 * the writer turns each table into one 1-D, chunked, shuffle+deflate
 * compressed compound dataset, extendible so a long run can flush
 * periodically with bounded memory.  analysis/SCHEMA.md documents the layout.
 *
 * Lifecycle:
 *     cx_trace_open           collective   creates PATH.partial, /meta
 *     cx_trace_table_define   local        describe a table (all ranks, same order, same args)
 *     cx_trace_table_append   local        copy rows into this rank's buffer (no HDF5, no MPI)
 *     cx_trace_table_write    collective   append every rank's buffered rows to the dataset
 *     cx_trace_meta_set_*     collective   attributes / text datasets under /meta
 *     cx_trace_close          collective   flush, /meta/complete, rename PATH.partial -> PATH
 *     cx_trace_abort          collective   close and delete PATH.partial; PATH never appears
 *
 * COLLECTIVE RULE.  Every rank of the communicator must make every collective
 * call above, in the same order, with the same table handles and the same
 * meta names/values (values are taken from rank 0 and broadcast, so they are
 * identical in the file even if a caller slips).  A rank with no rows still
 * calls cx_trace_table_write.  Tables must be defined on all ranks in the
 * same order with identical fields (checked at the first write).  Violating
 * this hangs MPI; there is no way to detect it cheaply.
 *
 * Errors.  Collective functions agree on the outcome: they return the same
 * status on every rank (the message is most specific on the rank that saw
 * the cause).  After a collective failure the trace is poisoned: later calls
 * return CX_ERR_IO without touching HDF5 and cx_trace_close removes
 * PATH.partial.  A run killed by cx_fatal/MPI_Abort leaves PATH.partial and
 * never PATH, so a file named PATH is always complete in structure; its
 * /meta/complete says whether the run itself finished (graceful stop => 0).
 *
 * A full disk.  Parallel HDF5 cannot recover from a failed write (the failed
 * rank skips a collective inside H5Dwrite and every rank hangs, or H5Fclose
 * fails and HDF5 segfaults at MPI_Finalize), so before every write rank 0
 * reserves room on disk for it (fallocate FALLOC_FL_KEEP_SIZE: the
 * uncompressed size of the rows plus 256 KiB, past the file's end; freed at
 * close) and the ranks agree.  No room: CX_ERR_IO "PATH.partial: cannot write
 * the trace: No space left on device (TABLE, write N of that table during the
 * run | at the end of the run | creating the trace file; ...)", the trace is
 * poisoned and PATH.partial removed.  So a write needs free space for one
 * slice (about 4 MB, at least one chunk) of uncompressed rows + 256 KiB, even
 * though deflate leaves far less of it.
 */
#ifndef CX_TRACE_H
#define CX_TRACE_H

#include "cx_status.h"

#include <mpi.h>
#include <stddef.h>
#include <stdint.h>

/* Bumped when the generic layout (not a module's table) changes. */
#define CX_TRACE_SCHEMA_VERSION 1

typedef struct cx_trace       cx_trace_t;
typedef struct cx_trace_table cx_trace_table_t;

typedef enum {
    CX_TRACE_U8 = 1,
    CX_TRACE_U16,
    CX_TRACE_U32,
    CX_TRACE_U64,
    CX_TRACE_I8,
    CX_TRACE_I16,
    CX_TRACE_I32,
    CX_TRACE_I64,
    CX_TRACE_F32,
    CX_TRACE_F64,
    CX_TRACE_STR            /* fixed-length char[size], NUL-padded in the file */
} cx_trace_type_t;

/* One column of a table: where it sits in the caller's row struct. */
typedef struct {
    const char     *name;   /* column name, unique within the table */
    cx_trace_type_t type;
    size_t          offset; /* byte offset in the caller's row struct */
    size_t          size;   /* bytes; must equal the type's size, or the
                             * char array length for CX_TRACE_STR */
    const char     *units;  /* "ps", "bytes", "W", "" ... (NULL = "") */
    const char     *doc;    /* one line: what the value means (NULL = "") */
} cx_trace_field_t;

/* Describe a struct member:  CX_TRACE_FIELD(my_row_t, t_start, CX_TRACE_I64, "ps", "op start") */
#define CX_TRACE_FIELD(_struct, _member, _type, _units, _doc) \
    { #_member, (_type), offsetof(_struct, _member), sizeof(((_struct *)0)->_member), (_units), (_doc) }

/*
 * Collective.  Create PATH.partial (truncating a stale one) with the MPI-IO
 * driver and collective metadata reads and writes; write /meta with
 * schema_version, ranks, colossim_version, git_revision, hdf5_version,
 * mpi_library.  comm is duplicated; the caller keeps ownership of its own.
 * Fails with CX_ERR_IO and a message naming the directory when it does not
 * exist or is not writable.  *tr_p is set only on success.
 */
cx_status_t cx_trace_open(cx_trace_t **tr_p, MPI_Comm comm, const char *path, cx_err_t *err);

/*
 * Local (no MPI, no HDF5), but must be called on every rank in the same
 * order with identical arguments.  Describes the table at dset_path
 * ("/ops/gpu_ops"; missing groups are created at the first write).  fields
 * may be in any order and the row struct may contain padding: rows are
 * repacked (fields in the given order, no padding) when appended, so padding
 * bytes never reach the file.  Strings are copied; fields and doc need not
 * outlive the call.  The table belongs to tr (freed by close/abort).
 * *tbl_p is set only on success.
 */
cx_status_t cx_trace_table_define(cx_trace_t *tr, const char *dset_path,
                                  const cx_trace_field_t *fields, size_t n_fields,
                                  size_t row_size, const char *doc,
                                  cx_trace_table_t **tbl_p, cx_err_t *err);

/* Optional, local, before the first write: rows per HDF5 chunk (default:
 * first write's total clamped to [1024, min(64Ki, 4 MiB / packed row)]). */
cx_status_t cx_trace_table_set_chunk_rows(cx_trace_table_t *tbl, size_t chunk_rows, cx_err_t *err);

/*
 * Local: copy n rows (n * row_size bytes laid out as the caller's struct)
 * into this rank's buffer.  No HDF5 or MPI calls.  On allocation failure
 * returns CX_ERR_NOMEM and the table is marked failed; the next collective
 * write then fails on every rank.
 */
cx_status_t cx_trace_table_append(cx_trace_table_t *tbl, const void *rows, size_t n);

/*
 * Collective.  Append every rank's buffered rows to the dataset, rank 0's
 * first, then rank 1's, ... (row order across ranks carries no meaning; sort
 * by key columns when analysing).  MPI_Exscan gives each rank its offset,
 * MPI_Allreduce the total; the dataset is created on the first call (also
 * when the total is 0: a valid empty dataset) and extended with H5Dset_extent
 * on later ones; each rank writes its hyperslab with H5FD_MPIO_COLLECTIVE
 * (a rank with no rows selects none).  More than ~4 MB of rows go in slices
 * of whole chunks (extend + collective H5Dwrite each, room reserved on disk
 * for each): the points of the progress lines and of the stop check (see
 * cx_trace_watch_stop_signals).  Empties the buffer on success.
 */
cx_status_t cx_trace_table_write(cx_trace_table_t *tbl, cx_err_t *err);

/* Collective: cx_trace_table_write only if some rank buffers more than
 * max_rows (one MPI_Allreduce to decide).  For periodic bounded flushing. */
cx_status_t cx_trace_table_write_if_over(cx_trace_table_t *tbl, size_t max_rows, cx_err_t *err);

/* Local queries. */
size_t   cx_trace_table_rows_buffered(const cx_trace_table_t *tbl); /* this rank */
uint64_t cx_trace_table_rows_written(const cx_trace_table_t *tbl);  /* all ranks, in the file */
size_t   cx_trace_table_packed_row_size(const cx_trace_table_t *tbl);
/* Writes in which HDF5 fell back from collective to independent I/O
 * (H5Pget_mpio_no_collective_cause); 0 on the known-good path.  A warning
 * is logged on rank 0 the first time. */
unsigned cx_trace_table_independent_writes(const cx_trace_table_t *tbl);

/*
 * Collective: scalar attributes on /meta (created, or replaced when the name
 * exists).  The value of rank 0 is broadcast and written by all ranks, the
 * pattern parallel HDF5 requires for attributes.  Strings are stored as
 * fixed-length NUL-terminated strings.
 */
cx_status_t cx_trace_meta_set_string(cx_trace_t *tr, const char *name, const char *value, cx_err_t *err);
cx_status_t cx_trace_meta_set_int64(cx_trace_t *tr, const char *name, int64_t value, cx_err_t *err);
cx_status_t cx_trace_meta_set_double(cx_trace_t *tr, const char *name, double value, cx_err_t *err);

/*
 * Collective: a long text (effective config as YAML/JSON, command line ...)
 * as the scalar fixed-length string dataset /meta/<name> (attributes are
 * limited to 64 KiB), with attribute `content_type` ("application/yaml" ...,
 * may be NULL).  Rank 0's text is broadcast; rank 0 writes the data.
 * Written once per name.
 */
cx_status_t cx_trace_meta_set_text(cx_trace_t *tr, const char *name, const char *text,
                                   const char *content_type, cx_err_t *err);

/*
 * Collective.  Write every table's buffered rows (tables defined but never
 * written become empty datasets), set /meta/complete = complete (1 finished,
 * 0 graceful stop), close the file, agree on success across ranks and only
 * then let rank 0 rename PATH.partial -> PATH.  On any failure PATH.partial
 * is removed, PATH is left untouched, and the same error is returned on all
 * ranks.  tr and its tables are freed in every case.
 */
cx_status_t cx_trace_close(cx_trace_t *tr, int complete, cx_err_t *err);

/* Collective: drop buffers, close the file, rank 0 deletes PATH.partial.
 * PATH is never created.  tr is freed.  NULL is a no-op. */
void cx_trace_abort(cx_trace_t *tr);

/*
 * Local: progress lines on rank 0 (stderr, "[trace] writing TABLE: X of Y MB
 * of rows ...") every `seconds` while one write lasts longer than that
 * (a slow disk); 0 (the default) = none.
 */
void cx_trace_set_progress(cx_trace_t *tr, double seconds);

/*
 * Once per process, after the run's own SIGTERM/SIGUSR1 handlers are in
 * place: chain a handler in front of them that lets every trace hear a stop
 * signal between the slices (about 4 MB of rows) of a write.  After a stop
 * signal, writing goes on for 1 s, then the rows left are dropped: the close
 * counts them in /meta/trace_rows_dropped and warns, so a stopped run ends
 * within about a second of writing even on a slow disk.  A signal with no
 * handler (default action) is left alone.
 */
void cx_trace_watch_stop_signals(void);

/* Path of the final file ("run.h5"), and the file being written ("run.h5.partial"). */
const char *cx_trace_path(const cx_trace_t *tr);
const char *cx_trace_partial_path(const cx_trace_t *tr);

/*
 * Upper bound of the file size for `rows` rows of `row_size` bytes
 * (uncompressed data + chunk index + fixed overhead), for pre-run checks
 * against free disk space.  Compression usually shrinks the data 2-10x.
 */
uint64_t cx_trace_estimate_bytes(size_t row_size, uint64_t rows);

#endif
