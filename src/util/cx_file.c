/* Input and output paths checked up front (see cx_file.h). */
#define _POSIX_C_SOURCE 200809L
#include "cx_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *cx_file_kind(mode_t m)
{
    if (S_ISDIR(m)) return "a directory";
    if (S_ISFIFO(m)) return "a FIFO";
    if (S_ISCHR(m)) return "a character device";
    if (S_ISBLK(m)) return "a block device";
    if (S_ISSOCK(m)) return "a socket";
    return "not a regular file";
}

cx_status_t cx_file_open_input(const char *path, const char *what, size_t max_bytes, FILE **f_p,
                               size_t *size_p, cx_err_t *err)
{
    struct stat sb;
    FILE       *f;
    int         fd, fl;

    if (path == NULL || path[0] == '\0') {
        return cx_err_set(err, CX_ERR_IO, NULL, 0, NULL, "empty %s name", what);
    }
    /* O_NONBLOCK: opening a FIFO with no writer would block here forever. */
    fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        return cx_err_set(err, CX_ERR_IO, path, 0, NULL, "cannot open %s: %s", what, strerror(errno));
    }
    if (fstat(fd, &sb) != 0) {
        int e = errno;
        close(fd);
        return cx_err_set(err, CX_ERR_IO, path, 0, NULL, "cannot read %s: %s", what, strerror(e));
    }
    if (!S_ISREG(sb.st_mode)) {
        close(fd);
        return cx_err_set(err, CX_ERR_IO, path, 0, NULL, "the %s is %s, not a regular file", what,
                          cx_file_kind(sb.st_mode));
    }
    if (max_bytes > 0 && (uint64_t)sb.st_size > (uint64_t)max_bytes) {
        close(fd);
        return cx_err_set(err, CX_ERR_RANGE, path, 0, NULL, "the %s is %lld bytes, over the limit of %zu",
                          what, (long long)sb.st_size, max_bytes);
    }
    fl = fcntl(fd, F_GETFL);
    if (fl >= 0) (void)fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
    f = fdopen(fd, "rb");
    if (f == NULL) {
        int e = errno;
        close(fd);
        return cx_err_set(err, CX_ERR_IO, path, 0, NULL, "cannot open %s: %s", what, strerror(e));
    }
    *f_p    = f;
    *size_p = (size_t)sb.st_size;
    return CX_OK;
}

cx_status_t cx_file_read_all(const char *path, const char *what, size_t max_bytes, char **buf_p,
                             size_t *len_p, cx_err_t *err)
{
    FILE       *f;
    size_t      sz, got;
    char       *buf;
    cx_status_t st = cx_file_open_input(path, what, max_bytes, &f, &sz, err);
    if (st != CX_OK) return st;
    buf = malloc(sz + 1);
    if (buf == NULL) {
        fclose(f);
        return cx_err_set(err, CX_ERR_NOMEM, path, 0, NULL, "out of memory reading the %s (%zu bytes)",
                          what, sz);
    }
    got = fread(buf, 1, sz, f);
    if (got != sz || ferror(f)) {
        int e = errno;
        fclose(f);
        free(buf);
        return cx_err_set(err, CX_ERR_IO, path, 0, NULL, "cannot read %s: %s", what,
                          got != sz && e == 0 ? "short read" : strerror(e));
    }
    fclose(f);
    buf[got] = '\0';
    *buf_p   = buf;
    *len_p   = got;
    return CX_OK;
}

int cx_file_same(const char *path, const char *other)
{
    struct stat a, b;
    if (path == NULL || other == NULL || path[0] == '\0' || other[0] == '\0') return 0;
    if (stat(path, &a) != 0 || stat(other, &b) != 0) return 0;
    return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

cx_status_t cx_file_check_output(const char *path, const char *field, const char *const *inputs,
                                 size_t n_inputs, int flags, cx_err_t *err)
{
    struct stat sb;
    const char *base = strrchr(path, '/');
    size_t      i, plen = strlen(path);
    char        dir[4096];

    base = base != NULL ? base + 1 : path;
    if ((flags & CX_FILE_MPIIO) && plen > CX_FILE_OUT_PATH_MAX) {
        return cx_err_set(err, CX_ERR_INVALID, NULL, 0, field,
                          "the output path is %zu characters long; at most %d (Open MPI's MPI-IO "
                          "aborts on longer names): use a shorter name or run from its directory",
                          plen, CX_FILE_OUT_PATH_MAX);
    }
    if (plen > sizeof(dir) - 64) {
        return cx_err_set(err, CX_ERR_INVALID, NULL, 0, field, "the output path is %zu characters long; "
                          "at most %zu", plen, sizeof(dir) - 64);
    }
    if (base[0] == '\0' || strcmp(base, ".") == 0 || strcmp(base, "..") == 0) {
        return cx_err_set(err, CX_ERR_INVALID, path, 0, field, "names a directory, not a file");
    }
    if (stat(path, &sb) == 0) {
        if (!S_ISREG(sb.st_mode)) {
            return cx_err_set(err, CX_ERR_INVALID, path, 0, field,
                              "the output exists and is %s; give a new name or a regular file",
                              cx_file_kind(sb.st_mode));
        }
        for (i = 0; i < n_inputs; i++) {
            if (inputs[i] != NULL && cx_file_same(path, inputs[i])) {
                return cx_err_set(err, CX_ERR_INVALID, path, 0, field,
                                  "the output is an input of this run (%s); it would be overwritten",
                                  inputs[i]);
            }
        }
    }
    /* The directory must exist and take a new file. */
    if (base == path) {
        snprintf(dir, sizeof(dir), ".");
    } else {
        snprintf(dir, sizeof(dir), "%.*s", (int)(base - path), path);
    }
    if (stat(dir, &sb) != 0) {
        return cx_err_set(err, CX_ERR_IO, path, 0, field, "the output directory %s does not exist", dir);
    }
    if (!S_ISDIR(sb.st_mode)) {
        return cx_err_set(err, CX_ERR_IO, path, 0, field, "%s is not a directory", dir);
    }
    if (flags & CX_FILE_PROBE) {
        char probe_name[sizeof(dir) + 64];
        int  fd;
        snprintf(probe_name, sizeof(probe_name), "%s.probe-%ld", path, (long)getpid());
        fd = open(probe_name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd < 0) {
            return cx_err_set(err, CX_ERR_IO, path, 0, field, "cannot create a file in %s: %s", dir,
                              strerror(errno));
        }
        close(fd);
        unlink(probe_name);
    }
    return CX_OK;
}

cx_status_t cx_file_write_text(const char *path, const char *text, cx_err_t *err)
{
    char  tmp[4200];
    FILE *f;
    int   ok;
    snprintf(tmp, sizeof(tmp), "%s.partial", path);
    f = fopen(tmp, "w");
    if (f == NULL) return cx_err_set(err, CX_ERR_IO, path, 0, NULL, "cannot write: %s", strerror(errno));
    ok = fputs(text, f) >= 0;
    ok = (fclose(f) == 0) && ok;
    if (!ok || rename(tmp, path) != 0) {
        remove(tmp);
        return cx_err_set(err, CX_ERR_IO, path, 0, NULL, "cannot write: %s", strerror(errno));
    }
    return CX_OK;
}

char *cx_file_capture(void (*print)(FILE *out, const void *ctx), const void *ctx)
{
    char  *buf = NULL;
    size_t len = 0;
    FILE  *f   = open_memstream(&buf, &len);
    if (f == NULL) return NULL;
    print(f, ctx);
    fclose(f);
    return buf;
}
