/* Status strings and the file:line:field error record. */
#include "cx_status.h"

#include <stdio.h>
#include <string.h>

const char *cx_status_string(cx_status_t st)
{
    switch (st) {
    case CX_OK:              return "ok";
    case CX_ERR_INVALID:     return "invalid input";
    case CX_ERR_PARSE:       return "parse error";
    case CX_ERR_RANGE:       return "out of range";
    case CX_ERR_NOMEM:       return "out of memory";
    case CX_ERR_IO:          return "I/O error";
    case CX_ERR_UNSUPPORTED: return "unsupported";
    case CX_ERR_NOT_FOUND:   return "not found";
    case CX_ERR_INTERNAL:    return "internal error";
    }
    return "unknown status";
}

void cx_err_clear(cx_err_t *err)
{
    if (err != NULL) {
        memset(err, 0, sizeof(*err));
    }
}

cx_status_t cx_err_vset(cx_err_t *err, cx_status_t st, const char *file, int line,
                        const char *field, const char *fmt, va_list ap)
{
    if (err == NULL) {
        return st;
    }
    err->status = st;
    err->line   = line;
    err->column = 0;
    snprintf(err->file, sizeof(err->file), "%s", file != NULL ? file : "");
    snprintf(err->field, sizeof(err->field), "%s", field != NULL ? field : "");
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    return st;
}

cx_status_t cx_err_set(cx_err_t *err, cx_status_t st, const char *file, int line,
                       const char *field, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    cx_err_vset(err, st, file, line, field, fmt, ap);
    va_end(ap);
    return st;
}

void cx_err_format(const cx_err_t *err, char *buf, unsigned long len)
{
    size_t n = 0;
    int    w;

    if (len == 0) {
        return;
    }
    buf[0] = '\0';
    if (err->file[0] != '\0') {
        if (err->line > 0) {
            w = snprintf(buf, len, "%s:%d: ", err->file, err->line);
        } else {
            w = snprintf(buf, len, "%s: ", err->file);
        }
        n = (w > 0 && (size_t)w < len) ? (size_t)w : len - 1;
    }
    if (err->field[0] != '\0' && n < len - 1) {
        w = snprintf(buf + n, len - n, "'%s': ", err->field);
        n += (w > 0 && (size_t)w < len - n) ? (size_t)w : len - 1 - n;
    }
    if (n < len - 1) {
        snprintf(buf + n, len - n, "%s", err->msg[0] != '\0' ? err->msg
                                                      : cx_status_string(err->status));
    }
}

void cx_err_print(const cx_err_t *err)
{
    char buf[CX_ERR_FILE_MAX + CX_ERR_FIELD_MAX + CX_ERR_MSG_MAX + 64];
    cx_err_format(err, buf, sizeof(buf));
    fprintf(stderr, "colossim: error: %s\n", buf);
}
