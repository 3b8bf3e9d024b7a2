/*
 * Input and output files checked before any work starts, so a bad path gets
 * one message naming it instead of a hang, a crash or a clobbered file.
 *
 * Inputs: only regular files are opened.  A FIFO would block the reader
 * forever (opened here with O_NONBLOCK, then checked), a directory reads
 * as garbage or "out of memory", a device may never end.
 *
 * Outputs: a name that is new or an existing regular file, not one of the
 * run's inputs (same device and inode), short enough for MPI-IO, in a
 * directory where a file can be created (probed by creating one, which is
 * what root's access() cannot tell on a read-only mount).
 */
#ifndef CX_FILE_H
#define CX_FILE_H

#include <stddef.h>
#include <stdio.h>

#include "cx_status.h"

/* Longest output path accepted, as given (MPI-IO sees it as given).  Open
 * MPI 4.1's shared-file-pointer component builds "PATH_cid-N-PID.sm" names:
 * a 240-character trace name aborted in __sprintf_chk (exit 134), 230 failed
 * in open (over NAME_MAX with ".partial_cid-..."), a 300-character path of
 * short components aborted too.  200 leaves room for ".partial" and those
 * suffixes. */
#define CX_FILE_OUT_PATH_MAX 200

/* Open `path` for reading if it is a regular file of at most max_bytes
 * (0 = no limit); *size_p = its size.  `what` names it in messages
 * ("topology file").  Errors: CX_ERR_IO naming the path. */
cx_status_t cx_file_open_input(const char *path, const char *what, size_t max_bytes, FILE **f_p,
                               size_t *size_p, cx_err_t *err);

/* Read a whole regular file into a NUL-terminated buffer the caller frees. */
cx_status_t cx_file_read_all(const char *path, const char *what, size_t max_bytes, char **buf_p,
                             size_t *len_p, cx_err_t *err);

/* Write text to path through path.partial, renamed when complete (a
 * failure leaves neither).  Errors: CX_ERR_IO naming the path. */
cx_status_t cx_file_write_text(const char *path, const char *text, cx_err_t *err);

/* Is `path` the same file as `other` (both exist; same device and inode)? */
int cx_file_same(const char *path, const char *other);

/* What print writes to a FILE, as a malloc'd string (NULL: out of memory):
 * a text printed for the terminal kept for a trace's /meta too. */
char *cx_file_capture(void (*print)(FILE *out, const void *ctx), const void *ctx);

/* Flags of cx_file_check_output. */
#define CX_FILE_PROBE 0x1 /* create and remove "PATH.probe-PID" to prove the directory takes a file */
#define CX_FILE_MPIIO 0x2 /* written through MPI-IO: at most CX_FILE_OUT_PATH_MAX characters */

/* Check that `path` can be written as an output before the work starts:
 * `field` names the option in messages ("out").  inputs[0..n_inputs) are
 * files the run reads (NULL entries skipped); the output may not be one of
 * them.  An existing regular file is allowed (it will be replaced); a
 * directory, device, FIFO or socket is not.  The directory must exist. */
cx_status_t cx_file_check_output(const char *path, const char *field, const char *const *inputs,
                                 size_t n_inputs, int flags, cx_err_t *err);

#endif
